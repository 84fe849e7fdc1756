//! The media engine: an RTP port pool and a few media workers (about one per
//! core), each an OS thread owning the sockets of its share of the legs.
//!
//! The signalling core drives it through [`RtpEngine`] (which implements
//! `crate::media::MediaControl`): open a leg (binds an even RTP port and the
//! RTCP port above it, synchronously), configure it from SDP, bridge two
//! legs, play ringback or prompts, close. Workers report DTMF digits and
//! media silence through an [`EventSink`]. The per-packet work is done by the
//! sans-IO cores of the `media` crate; this module only moves bytes.
//!
//! Two legs must live on the same worker to be bridged: on `bridge`, a leg
//! on another worker is handed over (its sockets move to that worker's epoll
//! set), and
//! commands for it that arrive first wait at the destination worker.

mod control;
mod leg;
mod leg_table;
mod mono;
mod poller;
mod ports;
mod recorder;
mod silence;
mod worker;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_calls;
#[cfg(test)]
mod tests_voicemail;

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;
use std::time::{Duration, Instant};

use media::player::{Clip, PlaySource, Playlist, Ringback};
use media::recording::Channel;
use sdp::NegotiatedAudio;
use tokio::sync::oneshot;

pub use leg::LegStats;
pub use ports::PortPool;
pub use worker::{EventSink, ReportSink};

use crate::media::{LegId, MediaReport, Notice};
use poller::{Poller, WorkerTx};
use recorder::{RecMsg, RecordTap};
use worker::{Command, Worker};

/// Media engine settings (from `[server]` in the config).
#[derive(Debug, Clone)]
pub struct RtpConfig {
    /// Local address the RTP sockets bind to.
    pub bind_ip: IpAddr,
    /// Port range, inclusive; legs take even ports and the odd one above.
    pub first_port: u16,
    pub last_port: u16,
    /// Worker tasks; 0 means one per available core.
    pub workers: usize,
    /// A leg that receives no RTP for this long is reported (`MediaEvent::Timeout`).
    pub media_timeout: Duration,
}

/// Engine settings beyond `RtpConfig` (which the driver builds field by
/// field); all have defaults.
#[derive(Clone)]
pub struct EngineOptions {
    /// Where recordings go, one file per call named after its Call-ID.
    pub recording_dir: PathBuf,
    /// Media timeout of a leg on hold (`set_hold`).
    pub hold_timeout: Duration,
    /// Interval between our RTCP reports on each leg.
    pub rtcp_interval: Duration,
    /// Where `MediaReport`s go; without one they are logged.
    pub reports: Option<ReportSink>,
}

impl Default for EngineOptions {
    fn default() -> EngineOptions {
        EngineOptions {
            recording_dir: PathBuf::from("recordings"),
            hold_timeout: Duration::from_secs(600),
            rtcp_interval: Duration::from_secs(5),
            reports: None,
        }
    }
}

impl std::fmt::Debug for EngineOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineOptions")
            .field("recording_dir", &self.recording_dir)
            .field("hold_timeout", &self.hold_timeout)
            .field("rtcp_interval", &self.rtcp_interval)
            .field("reports", &self.reports.is_some())
            .finish()
    }
}

/// A recording in progress: its id and its two legs.
#[derive(Debug, Clone, Copy)]
struct Recording {
    id: u64,
    caller: LegId,
    operator: LegId,
}

/// Handle to the media workers. Cheap, synchronous calls: each binds a
/// socket or posts a command, never waits for a worker.
pub struct RtpEngine {
    pool: PortPool,
    workers: Vec<WorkerTx>,
    /// Which worker holds each leg, and the leg's port.
    legs: HashMap<LegId, (usize, u16)>,
    next_id: u64,
    /// Legs per worker: a new leg goes to the least loaded.
    load: Vec<usize>,
    recording_dir: PathBuf,
    /// To the recorder thread; `None` if it could not start.
    recorder: Option<SyncSender<RecMsg>>,
    /// Recordings in progress, by each of their legs.
    recordings: HashMap<LegId, Recording>,
    next_recording: u64,
    beep: Clip,
}

impl RtpEngine {
    /// Start the workers: one thread each (see `start_with`).
    pub fn start(config: &RtpConfig, events: EventSink) -> RtpEngine {
        RtpEngine::start_with(config, EngineOptions::default(), events)
    }

    /// Start with options beyond `RtpConfig` (recording directory, hold
    /// timeout, RTCP interval, report sink).
    ///
    /// Each worker is an OS thread with its own level-triggered epoll set
    /// (see `poller`): a packet wakes the thread that reads it and sends
    /// the relayed copy, with no hand-off between threads, one receive per
    /// packet and one wait per batch of ready sockets. No tokio runtime is
    /// involved, so it works from inside or outside one.
    pub fn start_with(config: &RtpConfig, options: EngineOptions, events: EventSink) -> RtpEngine {
        let reports: ReportSink = options
            .reports
            .clone()
            .unwrap_or_else(|| Arc::new(log_report));
        let recorder = match recorder::spawn_with(reports.clone(), events.clone()) {
            Ok(tx) => Some(tx),
            Err(e) => {
                tracing::error!("cannot start the recorder thread: {e}");
                None
            }
        };
        let settings = worker::Settings {
            events,
            reports,
            media_timeout: config.media_timeout,
            hold_timeout: options.hold_timeout,
            rtcp_interval: options.rtcp_interval,
        };
        let count = if config.workers == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            config.workers
        };
        let workers = (0..count)
            .map(|i| {
                let poller = Arc::new(Poller::new()?);
                let (tx, rx) = std::sync::mpsc::channel();
                let worker = Worker::new(i, settings.clone(), poller.clone());
                std::thread::Builder::new()
                    .name(format!("media-{i}"))
                    .spawn(move || worker.run(rx))?;
                Ok(WorkerTx::new(tx, poller))
            })
            .filter_map(|w: io::Result<WorkerTx>| {
                w.map_err(|e| tracing::error!("cannot start a media worker: {e}"))
                    .ok()
            })
            .collect::<Vec<_>>();
        let count = workers.len();
        RtpEngine {
            pool: PortPool::new(config.bind_ip, config.first_port, config.last_port),
            workers,
            legs: HashMap::new(),
            next_id: 1,
            load: vec![0; count],
            recording_dir: options.recording_dir,
            recorder,
            recordings: HashMap::new(),
            next_recording: 1,
            beep: beep(),
        }
    }

    /// Bind a new leg on a free even port; returns its id and RTP port.
    ///
    /// # Errors
    /// When no port of the range can be bound.
    pub fn open_leg(&mut self) -> io::Result<(LegId, u16)> {
        let pair = self.pool.allocate()?;
        let id = LegId(self.next_id);
        self.next_id += 1;
        // The least loaded worker. Round robin put every caller (a call's
        // first leg) on worker 0 and moved every callee there at bridge.
        let worker = (0..self.load.len())
            .min_by_key(|w| self.load[*w])
            .unwrap_or(0);
        if let Some(n) = self.load.get_mut(worker) {
            *n += 1;
        }
        let port = pair.port;
        self.legs.insert(id, (worker, port));
        self.send(
            worker,
            Command::Create {
                id,
                port,
                rtp: pair.rtp,
                rtcp: pair.rtcp,
            },
        );
        Ok((id, port))
    }

    /// What the far end of `leg` negotiated; its SDP address is the first
    /// guess for where to send until symmetric RTP learns the real one.
    pub fn configure(&mut self, leg: LegId, audio: &NegotiatedAudio) {
        self.to_leg(
            leg,
            Command::Configure {
                id: leg,
                audio: audio.clone(),
            },
        );
    }

    /// Relay media between `a` and `b` both ways (stops playouts on both).
    pub fn bridge(&mut self, a: LegId, b: LegId) {
        let (Some(&(wa, _)), Some(&(wb, port_b))) = (self.legs.get(&a), self.legs.get(&b)) else {
            return;
        };
        if wa != wb {
            // Move b to a's worker. Expect goes first so a's worker holds
            // every later command for b until b arrives.
            self.send(wa, Command::Expect { id: b });
            if let Some(to) = self.workers.get(wa).cloned() {
                self.send(wb, Command::Detach { id: b, to });
            }
            self.legs.insert(b, (wa, port_b));
            if let Some(n) = self.load.get_mut(wb) {
                *n = n.saturating_sub(1);
            }
            if let Some(n) = self.load.get_mut(wa) {
                *n += 1;
            }
        }
        self.send(wa, Command::Bridge { a, b });
    }

    /// Echo test: send `leg`'s own audio (and DTMF) back to it, in its own
    /// outgoing stream. Ends with `unbridge`, a `bridge` or `close_leg`.
    pub fn echo(&mut self, leg: LegId) {
        self.to_leg(leg, Command::Echo { id: leg });
    }

    /// A held leg may be silent for the hold timeout (and its RTCP keeps it
    /// alive); off hold, the media timeout applies again, counted afresh.
    pub fn set_hold(&mut self, leg: LegId, on_hold: bool) {
        self.to_leg(
            leg,
            Command::Hold {
                id: leg,
                on: on_hold,
            },
        );
    }

    /// Stop relaying between `leg` and whatever it is bridged to.
    #[allow(dead_code, reason = "engine API ahead of the core that will call it")]
    pub fn unbridge(&mut self, leg: LegId) {
        self.to_leg(leg, Command::Unbridge { id: leg });
    }

    /// Play `source` into `leg` (replaces any playout; while it plays, the
    /// bridged peer's audio into this leg is muted).
    #[allow(dead_code, reason = "engine API ahead of the core that will call it")]
    pub fn play(&mut self, leg: LegId, source: PlaySource) {
        self.to_leg(leg, Command::Play { id: leg, source });
    }

    /// Ringback into `leg` until it is bridged, stopped or closed.
    pub fn ringback(&mut self, leg: LegId) {
        self.play(leg, PlaySource::Ringback(Ringback::new()));
    }

    /// Stop the playout of `leg`.
    #[allow(dead_code, reason = "engine API ahead of the core that will call it")]
    pub fn stop(&mut self, leg: LegId) {
        self.to_leg(leg, Command::Stop { id: leg });
    }

    /// Close `leg`: its worker drops the sockets, the port returns to the pool.
    pub fn close_leg(&mut self, leg: LegId) {
        // The recording ends with either leg: stop the partner's channel too.
        self.stop_recording(leg);
        if let Some((worker, port)) = self.legs.remove(&leg) {
            if let Some(n) = self.load.get_mut(worker) {
                *n = n.saturating_sub(1);
            }
            self.send(worker, Command::Release { id: leg });
            self.pool.release(port);
        }
        // Grown to the peak's legs; give it back once the calls are gone.
        crate::table::shrink_after_peak(&mut self.legs);
    }

    /// Record `caller` (left) and `operator` (right) into
    /// `<recording_dir>/<call_id>.wav` (a suffix is added if that file
    /// exists). Returns the path. The file is complete when
    /// `MediaReport::RecordingDone` arrives.
    pub fn start_recording(
        &mut self,
        caller: LegId,
        operator: LegId,
        call_id: &str,
        notice: Notice,
    ) -> Option<PathBuf> {
        if caller == operator
            || !self.legs.contains_key(&caller)
            || !self.legs.contains_key(&operator)
        {
            return None;
        }
        // One recording per leg at a time.
        self.stop_recording(caller);
        self.stop_recording(operator);
        let tx = self.recorder.clone()?;
        let path = unused_path(&self.recording_dir, call_id);
        let id = self.next_recording;
        self.next_recording += 1;
        // Open goes first on the same channel, so the recorder has the file
        // before any audio for it.
        if tx
            .try_send(RecMsg::Open {
                id,
                path: path.clone(),
                caller,
                operator,
            })
            .is_err()
        {
            tracing::warn!(call_id, "recorder is overloaded: call not recorded");
            return None;
        }
        let start = clock();
        for (leg, channel) in [(caller, Channel::Left), (operator, Channel::Right)] {
            let tap = RecordTap {
                id,
                channel,
                start,
                tx: tx.clone(),
                dropped: 0,
            };
            self.to_leg(
                leg,
                Command::Record {
                    id: leg,
                    tap: Box::new(tap),
                },
            );
            self.recordings.insert(
                leg,
                Recording {
                    id,
                    caller,
                    operator,
                },
            );
        }
        let clip = match notice {
            Notice::None => None,
            Notice::Beep => Some(self.beep.clone()),
            Notice::Prompt(clip) => Some(clip),
        };
        if let Some(clip) = clip {
            for leg in [caller, operator] {
                self.play(leg, PlaySource::Playlist(Playlist::once(clip.clone())));
            }
        }
        Some(path)
    }

    /// Record what `leg` receives into a mono WAV
    /// `<recording_dir>/<name>.wav` (voicemail); with `silence`, report
    /// `MediaEvent::Silence` once the leg was quiet that long (the recorder
    /// thread measures it). Returns the path.
    pub fn start_recording_mono(
        &mut self,
        leg: LegId,
        name: &str,
        silence: Option<Duration>,
    ) -> Option<PathBuf> {
        if !self.legs.contains_key(&leg) {
            return None;
        }
        self.stop_recording(leg);
        let tx = self.recorder.clone()?;
        let path = unused_path(&self.recording_dir, name);
        let id = self.next_recording;
        self.next_recording += 1;
        let start = clock();
        if tx
            .try_send(RecMsg::OpenMono {
                id,
                path: path.clone(),
                leg,
                start,
                silence,
            })
            .is_err()
        {
            tracing::warn!(name, "recorder is overloaded: not recorded");
            return None;
        }
        let tap = RecordTap {
            id,
            channel: Channel::Left,
            start,
            tx,
            dropped: 0,
        };
        self.to_leg(
            leg,
            Command::Record {
                id: leg,
                tap: Box::new(tap),
            },
        );
        self.recordings.insert(
            leg,
            Recording {
                id,
                caller: leg,
                operator: leg,
            },
        );
        Some(path)
    }

    /// End the recording `leg` is part of (both channels).
    pub fn stop_recording(&mut self, leg: LegId) {
        let Some(rec) = self.recordings.get(&leg).copied() else {
            return;
        };
        for l in [rec.caller, rec.operator] {
            if self.recordings.get(&l).is_some_and(|r| r.id == rec.id) {
                self.recordings.remove(&l);
                self.to_leg(l, Command::StopRecording { id: l });
            }
        }
    }

    /// A snapshot of `leg` from its worker.
    #[allow(dead_code, reason = "engine API ahead of the core that will call it")]
    pub async fn stats(&self, leg: LegId) -> Option<LegStats> {
        let &(worker, _) = self.legs.get(&leg)?;
        let (reply, rx) = oneshot::channel();
        self.workers
            .get(worker)?
            .send(Command::Stats { id: leg, reply })
            .ok()?;
        rx.await.ok().flatten()
    }

    /// Legs currently open.
    #[allow(dead_code, reason = "engine API ahead of the core that will call it")]
    pub fn open_legs(&self) -> usize {
        self.legs.len()
    }

    fn to_leg(&self, leg: LegId, command: Command) {
        if let Some(&(worker, _)) = self.legs.get(&leg) {
            self.send(worker, command);
        }
    }

    fn send(&self, worker: usize, command: Command) {
        if let Some(tx) = self.workers.get(worker) {
            if tx.send(command).is_err() {
                tracing::error!(worker, "media worker is gone");
            }
        }
    }
}

/// A file name from a Call-ID: characters safe on any file system, bounded
/// length, never hidden; a numeric suffix if the file exists already.
fn unused_path(dir: &Path, call_id: &str) -> PathBuf {
    let mut stem: String = call_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@') {
                c
            } else {
                '_'
            }
        })
        .take(120)
        .collect();
    if stem.is_empty() || stem.starts_with('.') {
        stem.insert(0, '_');
    }
    let mut path = dir.join(format!("{stem}.wav"));
    let mut n = 1;
    while path.exists() {
        n += 1;
        path = dir.join(format!("{stem}-{n}.wav"));
    }
    path
}

/// 250 ms of 1 kHz at about -14 dBFS: the "this call is recorded" beep.
fn beep() -> Clip {
    let samples = (0..2000)
        .map(|i| {
            let t = f64::from(i) / f64::from(media::CLOCK_RATE);
            (6000.0 * (2.0 * std::f64::consts::PI * 1000.0 * t).sin()).round() as i16
        })
        .collect();
    Clip::from_samples("beep", samples)
}

fn log_report(report: MediaReport) {
    match report {
        MediaReport::RecordingDone(r) => tracing::info!(
            path = %r.path.display(),
            duration_ms = r.duration.as_millis() as u64,
            dropped = r.dropped_chunks,
            error = r.error.as_deref().unwrap_or(""),
            "recording done"
        ),
        MediaReport::LegClosed { leg, stats } => tracing::debug!(?leg, ?stats, "leg closed"),
    }
}

/// The engine is a driver: recordings share one start instant.
#[allow(clippy::disallowed_methods)]
fn clock() -> Instant {
    Instant::now()
}
