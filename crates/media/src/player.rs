//! Prompts, hold music and ringback as 20 ms frames of 8 kHz linear audio.
//!
//! Audio files are decoded and converted to 8 kHz mono once, at load; the
//! samples are shared (`Arc`) by every call playing them. Playout is paced
//! from a fixed monotonic start: the number of frames due is computed from
//! `now - start`, never by counting ticks, so a late tick is caught up and
//! the stream does not drift.

use std::f64::consts::PI;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::{MediaError, CLOCK_RATE, FRAME_DURATION, FRAME_SAMPLES};

/// One frame of linear audio.
pub type Frame = [i16; FRAME_SAMPLES];

/// Most frames a playout sends at once to catch up after a stalled tick;
/// beyond that it skips ahead (the gap shows as a timestamp jump, which is
/// what the time really did).
pub const MAX_CATCH_UP: u64 = 5;

/// Decoded audio, 8 kHz mono, shared between calls.
#[derive(Debug, Clone)]
pub struct Clip {
    name: Arc<str>,
    samples: Arc<[i16]>,
}

impl Clip {
    /// Load a WAV file: 16-bit integer PCM, any sample rate, any channel
    /// count (mixed down to mono, resampled to 8 kHz).
    ///
    /// # Errors
    /// [`MediaError::Audio`] naming the file when it cannot be read, is not
    /// 16-bit PCM, or holds no audio.
    pub fn load_wav(path: &Path) -> Result<Clip, MediaError> {
        let reader = hound::WavReader::open(path).map_err(|e| audio_error(path, e.to_string()))?;
        Clip::from_wav_reader(path, reader)
    }

    /// Decode a WAV file held in memory (`name` is used in errors).
    ///
    /// # Errors
    /// As [`Clip::load_wav`].
    pub fn from_wav_bytes(name: &str, bytes: &[u8]) -> Result<Clip, MediaError> {
        let path = Path::new(name);
        let reader = hound::WavReader::new(bytes).map_err(|e| audio_error(path, e.to_string()))?;
        Clip::from_wav_reader(path, reader)
    }

    fn from_wav_reader<R: Read>(
        path: &Path,
        reader: hound::WavReader<R>,
    ) -> Result<Clip, MediaError> {
        let spec = reader.spec();
        if spec.sample_format != hound::SampleFormat::Int || spec.bits_per_sample != 16 {
            return Err(audio_error(
                path,
                format!(
                    "unsupported format {:?} {}-bit; need 16-bit PCM (e.g. `sox in.wav -b 16 -r 8000 -c 1 out.wav`)",
                    spec.sample_format, spec.bits_per_sample
                ),
            ));
        }
        if spec.channels == 0 || spec.sample_rate == 0 {
            return Err(audio_error(
                path,
                "no channels or zero sample rate".to_owned(),
            ));
        }
        let interleaved: Vec<i16> = reader
            .into_samples::<i16>()
            .collect::<Result<_, _>>()
            .map_err(|e| audio_error(path, e.to_string()))?;
        let mono = mix_down(&interleaved, usize::from(spec.channels));
        let samples = resample(&mono, spec.sample_rate, CLOCK_RATE);
        if samples.is_empty() {
            return Err(audio_error(path, "holds no audio".to_owned()));
        }
        Ok(Clip {
            name: Arc::from(path.display().to_string()),
            samples: Arc::from(samples),
        })
    }

    /// A clip from samples already at 8 kHz mono.
    #[must_use]
    pub fn from_samples(name: &str, samples: Vec<i16>) -> Clip {
        Clip {
            name: Arc::from(name),
            samples: Arc::from(samples),
        }
    }

    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    #[must_use]
    pub fn samples(&self) -> &[i16] {
        &self.samples
    }

    #[must_use]
    pub fn duration(&self) -> Duration {
        Duration::from_micros(self.samples.len() as u64 * 1_000_000 / u64::from(CLOCK_RATE))
    }
}

fn audio_error(path: &Path, reason: String) -> MediaError {
    MediaError::Audio {
        path: path.to_path_buf(),
        reason,
    }
}

fn mix_down(interleaved: &[i16], channels: usize) -> Vec<i16> {
    if channels == 1 {
        return interleaved.to_vec();
    }
    interleaved
        .chunks_exact(channels)
        .map(|frame| {
            let sum: i32 = frame.iter().map(|s| i32::from(*s)).sum();
            clamp16(sum / channels as i32)
        })
        .collect()
}

/// Rate conversion, done once at load. Downsampling averages the input
/// samples that fall into each output period (a box filter: crude, but it
/// removes most of what would alias into the telephone band); upsampling
/// interpolates linearly.
fn resample(input: &[i16], from: u32, to: u32) -> Vec<i16> {
    if from == to || input.is_empty() {
        return input.to_vec();
    }
    let out_len = (input.len() as u64 * u64::from(to) / u64::from(from)) as usize;
    let ratio = f64::from(from) / f64::from(to);
    (0..out_len)
        .map(|i| {
            let pos = i as f64 * ratio;
            if ratio > 1.0 {
                let start = pos as usize;
                let end = (((i + 1) as f64 * ratio) as usize).clamp(start + 1, input.len());
                let window = input.get(start..end).unwrap_or(&[]);
                let sum: i64 = window.iter().map(|s| i64::from(*s)).sum();
                clamp16((sum / window.len().max(1) as i64) as i32)
            } else {
                let idx = pos as usize;
                let frac = pos - idx as f64;
                let a = f64::from(input.get(idx).copied().unwrap_or(0));
                let b = f64::from(
                    input
                        .get(idx + 1)
                        .copied()
                        .unwrap_or(input.get(idx).copied().unwrap_or(0)),
                );
                clamp16((a + (b - a) * frac).round() as i32)
            }
        })
        .collect()
}

fn clamp16(v: i32) -> i16 {
    v.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16
}

/// Something that produces 20 ms frames.
pub trait FrameSource {
    /// Fill `out` with the next frame. Returns false when the source has
    /// ended (then `out` is silence).
    fn fill_frame(&mut self, out: &mut Frame) -> bool;
}

/// Clips played one after another (announcement, music, announcement),
/// optionally looping back to the first.
#[derive(Debug, Clone)]
pub struct Playlist {
    clips: Vec<Clip>,
    looping: bool,
    clip: usize,
    pos: usize,
    finished: bool,
}

impl Playlist {
    #[must_use]
    pub fn new(clips: Vec<Clip>, looping: bool) -> Playlist {
        let finished = clips.iter().all(|c| c.samples.is_empty());
        Playlist {
            clips,
            looping,
            clip: 0,
            pos: 0,
            finished,
        }
    }

    /// Play `clip` once.
    #[must_use]
    pub fn once(clip: Clip) -> Playlist {
        Playlist::new(vec![clip], false)
    }

    /// Play `clip` over and over (hold music).
    #[must_use]
    pub fn looped(clip: Clip) -> Playlist {
        Playlist::new(vec![clip], true)
    }

    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.finished
    }
}

impl FrameSource for Playlist {
    fn fill_frame(&mut self, out: &mut Frame) -> bool {
        out.fill(0);
        if self.finished {
            return false;
        }
        let mut filled = 0;
        while filled < FRAME_SAMPLES {
            let Some(clip) = self.clips.get(self.clip) else {
                if self.looping {
                    self.clip = 0;
                    self.pos = 0;
                    continue;
                }
                self.finished = true;
                break;
            };
            let rest = clip.samples.get(self.pos..).unwrap_or(&[]);
            let n = rest.len().min(FRAME_SAMPLES - filled);
            out[filled..filled + n].copy_from_slice(&rest[..n]);
            filled += n;
            self.pos += n;
            if self.pos >= clip.samples.len() {
                self.clip += 1;
                self.pos = 0;
            }
        }
        // A frame with any audio in it counts; the tail is padded silence.
        filled > 0
    }
}

/// Ringback tone: 425 Hz, 1 s on, 4 s off (the Russian and most European
/// cadence).
#[derive(Debug, Clone, Default)]
pub struct Ringback {
    sample: u32,
}

impl Ringback {
    pub const FREQUENCY: f64 = 425.0;
    pub const ON_SAMPLES: u32 = CLOCK_RATE;
    pub const CYCLE_SAMPLES: u32 = 5 * CLOCK_RATE;
    /// About -12 dBFS: clearly audible, never clipping after G.711.
    pub const AMPLITUDE: f64 = 8000.0;

    #[must_use]
    pub fn new() -> Ringback {
        Ringback::default()
    }
}

/// One second of the ringback tone. 425 whole periods fit in a second, so
/// the "on" part of every cycle is this table; computed once, shared by
/// every call ringing (a sine per sample per call was most of the playout
/// tick's cost).
fn ringback_tone() -> &'static [i16] {
    static TONE: std::sync::OnceLock<Box<[i16]>> = std::sync::OnceLock::new();
    TONE.get_or_init(|| {
        (0..Ringback::ON_SAMPLES)
            .map(|n| {
                let t = f64::from(n) / f64::from(CLOCK_RATE);
                (Ringback::AMPLITUDE * (2.0 * PI * Ringback::FREQUENCY * t).sin()).round() as i16
            })
            .collect()
    })
}

impl FrameSource for Ringback {
    fn fill_frame(&mut self, out: &mut Frame) -> bool {
        let tone = ringback_tone();
        let mut filled = 0;
        while filled < FRAME_SAMPLES {
            let n = self.sample as usize;
            let want = FRAME_SAMPLES - filled;
            let run = if n < tone.len() {
                // On: copy from the table up to the end of the second.
                let k = want.min(tone.len() - n);
                out[filled..filled + k].copy_from_slice(&tone[n..n + k]);
                k
            } else {
                let k = want.min(Self::CYCLE_SAMPLES as usize - n);
                out[filled..filled + k].fill(0);
                k
            };
            filled += run;
            self.sample = (self.sample + run as u32) % Self::CYCLE_SAMPLES;
        }
        true
    }
}

/// What a leg can be played.
#[derive(Debug, Clone)]
pub enum PlaySource {
    Playlist(Playlist),
    Ringback(Ringback),
    Silence,
}

impl FrameSource for PlaySource {
    fn fill_frame(&mut self, out: &mut Frame) -> bool {
        match self {
            PlaySource::Playlist(p) => p.fill_frame(out),
            PlaySource::Ringback(r) => r.fill_frame(out),
            PlaySource::Silence => {
                out.fill(0);
                true
            }
        }
    }
}

/// Frames whose start time has come by `now` for a playout that started at
/// `start` (frame 0 is due at `start`).
#[must_use]
pub fn frames_due(start: Instant, now: Instant) -> u64 {
    match now.checked_duration_since(start) {
        Some(elapsed) => (elapsed.as_nanos() / FRAME_DURATION.as_nanos()) as u64 + 1,
        None => 0,
    }
}

/// A source being played into a leg, paced by a fixed start instant.
#[derive(Debug, Clone)]
pub struct Playout {
    source: PlaySource,
    start: Instant,
    next_frame: u64,
    finished: bool,
}

impl Playout {
    #[must_use]
    pub fn new(source: PlaySource, start: Instant) -> Playout {
        Playout {
            source,
            start,
            next_frame: 0,
            finished: false,
        }
    }

    /// If a frame is due at `now`, fill `out` and return its index (frame
    /// `k` starts at media time `k * 160` samples: use it as the source
    /// timestamp). Call repeatedly on each tick until it returns `None`.
    #[must_use]
    pub fn poll_frame(&mut self, now: Instant, out: &mut Frame) -> Option<u64> {
        if self.finished {
            return None;
        }
        let due = frames_due(self.start, now);
        if due <= self.next_frame {
            return None;
        }
        if due - self.next_frame > MAX_CATCH_UP {
            self.next_frame = due - MAX_CATCH_UP;
        }
        if !self.source.fill_frame(out) {
            self.finished = true;
            return None;
        }
        let index = self.next_frame;
        self.next_frame += 1;
        Some(index)
    }

    /// The source timestamp of frame `index` (wraps like RTP).
    #[must_use]
    pub fn frame_timestamp(index: u64) -> u32 {
        (index.wrapping_mul(FRAME_SAMPLES as u64)) as u32
    }

    /// True once a non-looping playlist has played out.
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// When the next frame is due.
    #[must_use]
    pub fn next_deadline(&self) -> Option<Instant> {
        if self.finished {
            return None;
        }
        let nanos = u128::from(self.next_frame) * FRAME_DURATION.as_nanos();
        Some(self.start + Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX)))
    }
}
