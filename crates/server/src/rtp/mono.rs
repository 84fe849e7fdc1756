//! A one-leg recording (voicemail): a mono WAV of what one leg received,
//! written by the recorder thread, with long-silence detection.
//!
//! Audio arrives as chunks stamped with their position (samples since the
//! recording started, from arrival time); a gap (lost or missing packets) is
//! written as silence and an overlap is dropped, so the file's length follows
//! the wall clock as the stereo recordings do. The header is made valid on
//! each `flush` (the recorder calls it every second).

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use media::CLOCK_RATE;

use super::silence::SilenceDetector;
use crate::media::{LegId, RecordingDone};

/// Longest gap filled with silence at once (a leg that was quiet for
/// longer, e.g. on hold, resumes without minutes of zeros).
const MAX_GAP: u64 = 60 * CLOCK_RATE as u64;

pub(super) struct MonoRecording {
    pub leg: LegId,
    path: PathBuf,
    /// `None` once the file failed.
    wav: Option<hound::WavWriter<BufWriter<File>>>,
    written: u64,
    start: Instant,
    silence: Option<SilenceDetector>,
    pub dropped: u64,
    error: Option<String>,
}

impl MonoRecording {
    pub fn open(
        path: PathBuf,
        leg: LegId,
        start: Instant,
        silence: Option<Duration>,
    ) -> MonoRecording {
        let created = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .map_err(|e| e.to_string())
            .and_then(|()| {
                let spec = hound::WavSpec {
                    channels: 1,
                    sample_rate: CLOCK_RATE,
                    bits_per_sample: 16,
                    sample_format: hound::SampleFormat::Int,
                };
                hound::WavWriter::create(&path, spec).map_err(|e| e.to_string())
            });
        let (wav, error) = match created {
            Ok(w) => (Some(w), None),
            Err(e) => {
                tracing::error!(path = %path.display(), "cannot create recording: {e}");
                (None, Some(e))
            }
        };
        MonoRecording {
            leg,
            path,
            wav,
            written: 0,
            start,
            silence: silence.map(SilenceDetector::new),
            dropped: 0,
            error,
        }
    }

    /// Writes a chunk; true once the caller has been quiet long enough.
    pub fn push(&mut self, position: u64, samples: &[i16]) -> bool {
        let quiet = self
            .silence
            .as_mut()
            .is_some_and(|d| d.audio(position, samples));
        let skip = self.written.saturating_sub(position) as usize;
        let gap = position.saturating_sub(self.written).min(MAX_GAP);
        if let Some(wav) = self.wav.as_mut() {
            let zeros = std::iter::repeat_n(0i16, gap as usize);
            let audio = samples.iter().copied().skip(skip);
            for s in zeros.chain(audio) {
                if let Err(e) = wav.write_sample(s) {
                    tracing::error!(path = %self.path.display(), "recording stopped: {e}");
                    self.error = Some(e.to_string());
                    self.wav = None;
                    break;
                }
                self.written += 1;
            }
        }
        quiet
    }

    /// The clock moved on (no audio may have come); true once the caller
    /// has been quiet long enough.
    pub fn tick(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.start);
        let position = elapsed.as_micros() as u64 * u64::from(CLOCK_RATE) / 1_000_000;
        self.silence.as_mut().is_some_and(|d| d.at(position))
    }

    pub fn flush(&mut self) {
        if let Some(wav) = self.wav.as_mut() {
            if let Err(e) = wav.flush() {
                self.error = Some(e.to_string());
            }
        }
    }

    pub fn finish(mut self) -> RecordingDone {
        if let Some(wav) = self.wav.take() {
            if let Err(e) = wav.finalize() {
                self.error = Some(e.to_string());
            }
        }
        RecordingDone {
            caller: self.leg,
            operator: self.leg,
            path: self.path,
            duration: Duration::from_micros(self.written * 1_000_000 / u64::from(CLOCK_RATE)),
            dropped_chunks: self.dropped,
            error: self.error,
        }
    }
}
