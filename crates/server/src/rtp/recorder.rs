//! The recorder thread: writes calls' stereo WAV files off the media
//! workers.
//!
//! Workers hand decoded audio over a bounded channel of fixed-size chunks
//! (`RecMsg::Audio` is a plain value: the channel's slots are allocated once,
//! a send copies into one; the recorder drains it every 10 ms and never
//! sleeps inside it, so a send has no receiver to wake). A full channel drops the chunk and counts it; the worker
//! never waits. The thread aligns the two channels (`media::recording`),
//! writes with hound, and rewrites the header at least once a second so a
//! crash leaves a playable file with all but the last second.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError, TrySendError};
use std::time::{Duration, Instant};

use media::g711::{self, Codec};
use media::recording::{Channel, StereoWav};
use media::CLOCK_RATE;

use super::mono::MonoRecording;
use super::worker::{EventSink, ReportSink};
use crate::media::{LegId, MediaEvent, MediaReport, RecordingDone};

/// Samples per chunk: one 20 ms frame. Longer packets are split.
pub(super) const CHUNK: usize = 160;
/// Chunks the channel holds: 1 s of audio for 80 recorded calls (2.8 MB
/// once every slot has been used).
pub(super) const CAPACITY: usize = 8192;
/// How often the thread drains the channel (the ring holds far more).
const DRAIN_EVERY: Duration = Duration::from_millis(10);
/// How often the header is made valid.
const FLUSH_EVERY: Duration = Duration::from_secs(1);

#[allow(
    clippy::large_enum_variant,
    reason = "Audio is nearly every message; boxing it would allocate per packet"
)]
pub(super) enum RecMsg {
    Open {
        id: u64,
        path: PathBuf,
        caller: LegId,
        operator: LegId,
    },
    /// A one-leg (mono) recording; its audio comes as `Channel::Left`.
    OpenMono {
        id: u64,
        path: PathBuf,
        leg: LegId,
        start: Instant,
        /// Report `MediaEvent::Silence` once the leg was quiet this long.
        silence: Option<Duration>,
    },
    Audio {
        id: u64,
        channel: Channel,
        /// Samples since the recording started, at arrival.
        position: u64,
        len: u16,
        samples: [i16; CHUNK],
    },
    /// One channel is done (its leg closed or the recording was stopped).
    Detach {
        id: u64,
        channel: Channel,
        dropped: u64,
    },
}

/// A leg's end of a recording, held by the leg on its worker.
pub(super) struct RecordTap {
    pub id: u64,
    pub channel: Channel,
    pub start: Instant,
    pub tx: SyncSender<RecMsg>,
    pub dropped: u64,
}

impl RecordTap {
    /// Hand one packet's audio to the recorder (the hot path: copies, never
    /// blocks or allocates).
    pub fn feed(&mut self, codec: Codec, payload: &[u8], now: Instant) {
        let elapsed = now.saturating_duration_since(self.start);
        let mut position = elapsed.as_micros() as u64 * u64::from(CLOCK_RATE) / 1_000_000;
        for part in payload.chunks(CHUNK) {
            let mut samples = [0i16; CHUNK];
            let n = g711::decode_into(codec, part, &mut samples);
            let msg = RecMsg::Audio {
                id: self.id,
                channel: self.channel,
                position,
                len: n as u16,
                samples,
            };
            if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
                self.tx.try_send(msg)
            {
                self.dropped += 1;
            }
            position += n as u64;
        }
    }
}

impl Drop for RecordTap {
    /// A tap ends with its leg or its recording; the file is closed once
    /// both taps ended. This send may wait for room: it happens once per
    /// recording, and the recorder drains fast.
    fn drop(&mut self) {
        let _ = self.tx.send(RecMsg::Detach {
            id: self.id,
            channel: self.channel,
            dropped: self.dropped,
        });
    }
}

/// Start the recorder thread; it ends when every sender is gone.
#[cfg(test)]
pub(super) fn spawn(reports: ReportSink) -> std::io::Result<SyncSender<RecMsg>> {
    spawn_with(reports, std::sync::Arc::new(|_| {}))
}

/// Start the recorder thread, reporting long silences (voicemail) as events.
pub(super) fn spawn_with(
    reports: ReportSink,
    events: EventSink,
) -> std::io::Result<SyncSender<RecMsg>> {
    let (tx, rx) = mpsc::sync_channel(CAPACITY);
    std::thread::Builder::new()
        .name("recorder".into())
        .spawn(move || run(&rx, &reports, &events))?;
    Ok(tx)
}

/// The recordings the thread writes.
#[derive(Default)]
struct Recordings {
    stereo: HashMap<u64, Active>,
    mono: HashMap<u64, MonoRecording>,
}

struct Active {
    caller: LegId,
    operator: LegId,
    path: PathBuf,
    /// `None` once the file failed.
    wav: Option<StereoWav>,
    written: u64,
    detached: [bool; 2],
    dropped: u64,
    error: Option<String>,
}

impl Active {
    fn open(path: PathBuf, caller: LegId, operator: LegId) -> Active {
        let (wav, error) = match StereoWav::create(&path) {
            Ok(w) => (Some(w), None),
            Err(e) => {
                tracing::error!("cannot create recording: {e}");
                (None, Some(e.to_string()))
            }
        };
        Active {
            caller,
            operator,
            path,
            wav,
            written: 0,
            detached: [false; 2],
            dropped: 0,
            error,
        }
    }

    fn push(&mut self, channel: Channel, position: u64, samples: &[i16]) {
        if let Some(wav) = self.wav.as_mut() {
            if let Err(e) = wav.push(channel, position, samples) {
                // A full disk: keep what is there, stop writing.
                tracing::error!("recording stopped: {e}");
                self.written = wav.written();
                self.error = Some(e.to_string());
                self.wav = None;
            }
        }
    }

    fn flush(&mut self) {
        if let Some(wav) = self.wav.as_mut() {
            if let Err(e) = wav.flush() {
                self.error = Some(e.to_string());
            }
        }
    }

    fn finish(mut self) -> RecordingDone {
        if let Some(wav) = self.wav.take() {
            match wav.finish() {
                Ok(n) => self.written = n,
                Err(e) => self.error = Some(e.to_string()),
            }
        }
        RecordingDone {
            caller: self.caller,
            operator: self.operator,
            path: self.path,
            duration: Duration::from_micros(self.written * 1_000_000 / u64::from(CLOCK_RATE)),
            dropped_chunks: self.dropped,
            error: self.error,
        }
    }
}

fn run(rx: &Receiver<RecMsg>, reports: &ReportSink, events: &EventSink) {
    let mut recs = Recordings::default();
    let mut next_flush = clock() + FLUSH_EVERY;
    'run: loop {
        // Drain, then sleep: the recorder never blocks inside the channel,
        // so a worker's send never finds a sleeping receiver to wake (no
        // futex call per packet on the media path).
        loop {
            match rx.try_recv() {
                Ok(msg) => handle(&mut recs, msg, reports, events),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => break 'run,
            }
        }
        let now = clock();
        if now >= next_flush {
            for rec in recs.stereo.values_mut() {
                rec.flush();
            }
            for rec in recs.mono.values_mut() {
                rec.flush();
                // No packets at all is silence too (the clock moves on).
                if rec.tick(now) {
                    events(MediaEvent::Silence { leg: rec.leg });
                }
            }
            next_flush = now + FLUSH_EVERY;
        }
        std::thread::sleep(DRAIN_EVERY);
    }
    for (_, rec) in recs.stereo.drain() {
        reports(MediaReport::RecordingDone(rec.finish()));
    }
    for (_, rec) in recs.mono.drain() {
        reports(MediaReport::RecordingDone(rec.finish()));
    }
}

fn handle(recs: &mut Recordings, msg: RecMsg, reports: &ReportSink, events: &EventSink) {
    let active = &mut recs.stereo;
    match msg {
        RecMsg::OpenMono {
            id,
            path,
            leg,
            start,
            silence,
        } => {
            recs.mono
                .insert(id, MonoRecording::open(path, leg, start, silence));
        }
        RecMsg::Open {
            id,
            path,
            caller,
            operator,
        } => {
            active.insert(id, Active::open(path, caller, operator));
        }
        RecMsg::Audio {
            id,
            channel,
            position,
            len,
            samples,
        } => {
            let n = usize::from(len).min(CHUNK);
            if let Some(rec) = active.get_mut(&id) {
                rec.push(channel, position, &samples[..n]);
            } else if let Some(rec) = recs.mono.get_mut(&id) {
                if rec.push(position, &samples[..n]) {
                    events(MediaEvent::Silence { leg: rec.leg });
                }
            }
        }
        RecMsg::Detach {
            id,
            channel,
            dropped,
        } => {
            if let Some(mut rec) = recs.mono.remove(&id) {
                rec.dropped += dropped;
                reports(MediaReport::RecordingDone(rec.finish()));
                return;
            }
            let done = active.get_mut(&id).is_some_and(|rec| {
                rec.dropped += dropped;
                rec.detached[usize::from(channel == Channel::Right)] = true;
                rec.detached == [true, true]
            });
            if done {
                if let Some(rec) = active.remove(&id) {
                    reports(MediaReport::RecordingDone(rec.finish()));
                }
            }
        }
    }
}

/// The recorder is a driver thread: it reads the clock to pace flushes.
#[allow(clippy::disallowed_methods)]
fn clock() -> Instant {
    Instant::now()
}

#[cfg(test)]
mod tests;
