//! Test audio: tones to play (written with hound) and analysis of what a
//! peer recorded: loudness per 20 ms window and which tone dominates
//! (Goertzel), so a test can tell "heard the customer's 1 kHz tone" from
//! "heard its own 440 Hz tone echoed" from "heard silence".

use std::f32::consts::PI;
use std::path::Path;

use anyhow::{bail, Context, Result};

/// Analysis window: one G.711 packet at the usual ptime.
pub const WINDOW_MS: u32 = 20;
/// Window for telling tones apart: 100 ms gives 10 Hz bins, so a 440 Hz
/// tone is not confused with 425 Hz ringback (20 ms windows would be
/// 50 Hz wide and could not tell them apart).
pub const TONE_WINDOW_MS: u32 = 100;
/// RMS (full scale = 1.0) above which a window counts as sound: about
/// -40 dBFS. G.711 idle patterns and comfort noise stay far below it.
pub const ACTIVE_RMS: f32 = 0.01;

/// Writes a mono 16-bit PCM WAV holding a sine tone. `amplitude` is a fraction
/// of full scale. baresip's `aufile` source wants mono S16LE at the codec
/// rate (8000 Hz for G.711).
pub fn write_tone(path: &Path, hz: f32, seconds: f32, rate: u32, amplitude: f32) -> Result<()> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec)
        .with_context(|| format!("create {}", path.display()))?;
    let n = (seconds * rate as f32) as u32;
    for i in 0..n {
        let v = amplitude * (2.0 * PI * hz * i as f32 / rate as f32).sin();
        w.write_sample((v * i16::MAX as f32) as i16)?;
    }
    w.finalize()?;
    Ok(())
}

/// A recording reduced to its first channel, samples scaled to -1.0..1.0.
#[derive(Debug, Clone)]
pub struct Recording {
    pub rate: u32,
    pub samples: Vec<f32>,
}

impl Recording {
    /// Loads a 16-bit PCM WAV. Lenient about the sizes in the header: a
    /// writer killed mid-call leaves them at 0, so a `data` chunk whose size
    /// does not fit is taken to run to the end of the file.
    pub fn load(path: &Path) -> Result<Recording> {
        let bytes = std::fs::read(path).with_context(|| format!("read {}", path.display()))?;
        parse_wav(&bytes).with_context(|| format!("parse WAV {}", path.display()))
    }

    pub fn from_samples(rate: u32, samples: Vec<f32>) -> Recording {
        Recording { rate, samples }
    }

    pub fn seconds(&self) -> f32 {
        self.samples.len() as f32 / self.rate.max(1) as f32
    }

    fn window_len(&self) -> usize {
        (self.rate * WINDOW_MS / 1000).max(1) as usize
    }

    fn tone_window_len(&self) -> usize {
        (self.rate * TONE_WINDOW_MS / 1000).max(1) as usize
    }

    /// RMS of each full 20 ms window.
    pub fn window_rms(&self) -> Vec<f32> {
        self.samples
            .chunks_exact(self.window_len())
            .map(rms)
            .collect()
    }

    /// Fraction (0..=1) of 20 ms windows louder than [`ACTIVE_RMS`].
    pub fn active_fraction(&self) -> f32 {
        let w = self.window_rms();
        if w.is_empty() {
            return 0.0;
        }
        w.iter().filter(|&&r| r > ACTIVE_RMS).count() as f32 / w.len() as f32
    }

    /// Fraction (0..=1) of all 100 ms windows that are loud and whose energy
    /// is mostly (over half) a tone at `hz`.
    pub fn tone_fraction(&self, hz: f32) -> f32 {
        let n = self.tone_window_len();
        let windows: Vec<&[f32]> = self.samples.chunks_exact(n).collect();
        if windows.is_empty() {
            return 0.0;
        }
        let hits = windows
            .iter()
            .filter(|w| rms(w) > ACTIVE_RMS && tone_share(w, self.rate, hz) > 0.5)
            .count();
        hits as f32 / windows.len() as f32
    }

    /// The strongest frequency (10 Hz steps, 100..3500 Hz) over the loud
    /// 100 ms windows, or `None` if nothing is loud.
    pub fn dominant_hz(&self) -> Option<f32> {
        let n = self.tone_window_len();
        let loud: Vec<&[f32]> = self
            .samples
            .chunks_exact(n)
            .filter(|w| rms(w) > ACTIVE_RMS)
            .collect();
        if loud.is_empty() {
            return None;
        }
        let mut best = (0.0f32, 0.0f32);
        for step in 10..=350 {
            let hz = step as f32 * 10.0;
            let p: f32 = loud.iter().map(|w| goertzel_power(w, self.rate, hz)).sum();
            if p > best.1 {
                best = (hz, p);
            }
        }
        Some(best.0)
    }

    /// One line for assertion messages.
    pub fn summary(&self) -> String {
        format!(
            "{:.1} s, {:.0}% loud, dominant {:?} Hz, 440 Hz in {:.0}%, 1000 Hz in {:.0}%",
            self.seconds(),
            self.active_fraction() * 100.0,
            self.dominant_hz(),
            self.tone_fraction(440.0) * 100.0,
            self.tone_fraction(1000.0) * 100.0
        )
    }
}

fn rms(w: &[f32]) -> f32 {
    if w.is_empty() {
        return 0.0;
    }
    (w.iter().map(|x| x * x).sum::<f32>() / w.len() as f32).sqrt()
}

/// |X(hz)|^2 over the window by the Goertzel recurrence.
pub fn goertzel_power(w: &[f32], rate: u32, hz: f32) -> f32 {
    let coeff = 2.0 * (2.0 * PI * hz / rate as f32).cos();
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for &x in w {
        let s0 = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    s1 * s1 + s2 * s2 - coeff * s1 * s2
}

/// Share of the window's energy that sits at `hz`: about 1.0 for a pure tone
/// at `hz`, near 0 for other tones and for speech. For a sine of amplitude A
/// over N samples |X|^2 = (A N / 2)^2 and the energy is A^2 N / 2, so
/// |X|^2 / (N/2 * energy) is 1.
pub fn tone_share(w: &[f32], rate: u32, hz: f32) -> f32 {
    let energy: f32 = w.iter().map(|x| x * x).sum();
    if energy <= 0.0 {
        return 0.0;
    }
    goertzel_power(w, rate, hz) / (w.len() as f32 / 2.0 * energy)
}

fn parse_wav(b: &[u8]) -> Result<Recording> {
    if b.len() < 12 || &b[0..4] != b"RIFF" || &b[8..12] != b"WAVE" {
        bail!("not a RIFF/WAVE file");
    }
    let mut pos = 12;
    let mut fmt: Option<(u16, u16, u32, u16)> = None;
    while pos + 8 <= b.len() {
        let id = &b[pos..pos + 4];
        let size = u32::from_le_bytes([b[pos + 4], b[pos + 5], b[pos + 6], b[pos + 7]]) as usize;
        let body = pos + 8;
        if id == b"fmt " {
            if body + 16 > b.len() {
                bail!("short fmt chunk");
            }
            let f = &b[body..body + 16];
            fmt = Some((
                u16::from_le_bytes([f[0], f[1]]),
                u16::from_le_bytes([f[2], f[3]]),
                u32::from_le_bytes([f[4], f[5], f[6], f[7]]),
                u16::from_le_bytes([f[14], f[15]]),
            ));
        } else if id == b"data" {
            let Some((format, channels, rate, bits)) = fmt else {
                bail!("data chunk before fmt chunk");
            };
            // 1 = PCM, 0xFFFE = WAVE_FORMAT_EXTENSIBLE (libsndfile may write it)
            if !(format == 1 || format == 0xFFFE) || bits != 16 || channels == 0 {
                bail!("want 16-bit PCM, got format {format} with {bits} bits");
            }
            let end = if size == 0 || body + size > b.len() {
                b.len()
            } else {
                body + size
            };
            let frame = 2 * channels as usize;
            let samples = b[body..end]
                .chunks_exact(frame)
                .map(|f| i16::from_le_bytes([f[0], f[1]]) as f32 / 32768.0)
                .collect();
            return Ok(Recording { rate, samples });
        }
        pos = body + size + (size & 1);
    }
    bail!("no data chunk")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(hz: f32, secs: f32) -> Vec<f32> {
        (0..(secs * 8000.0) as usize)
            .map(|i| 0.5 * (2.0 * PI * hz * i as f32 / 8000.0).sin())
            .collect()
    }

    #[test]
    fn tells_tones_apart_and_silence_from_sound() {
        let a = Recording::from_samples(8000, tone(440.0, 1.0));
        assert!(a.tone_fraction(440.0) > 0.95, "{}", a.summary());
        assert!(a.tone_fraction(1000.0) < 0.05, "{}", a.summary());
        assert_eq!(a.dominant_hz(), Some(440.0));
        let b = Recording::from_samples(8000, tone(1000.0, 1.0));
        assert!(b.tone_fraction(1000.0) > 0.95);
        assert!(b.tone_fraction(440.0) < 0.05);
        let mut half = vec![0.0; 4000];
        half.extend(tone(1000.0, 0.5));
        let h = Recording::from_samples(8000, half);
        assert!((h.active_fraction() - 0.5).abs() < 0.05, "{}", h.summary());
        // 425 Hz ringback is not the operator's 440 Hz tone.
        let ringback = Recording::from_samples(8000, tone(425.0, 1.0));
        assert!(
            ringback.tone_fraction(440.0) < 0.05,
            "{}",
            ringback.summary()
        );
        assert!(ringback.tone_fraction(425.0) > 0.95);
        let silence = Recording::from_samples(8000, vec![0.001; 8000]);
        assert_eq!(silence.active_fraction(), 0.0);
        assert_eq!(silence.dominant_hz(), None);
    }

    #[test]
    fn round_trips_a_written_tone_and_reads_a_header_with_zero_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.wav");
        write_tone(&p, 1000.0, 0.5, 8000, 0.4).unwrap();
        let r = Recording::load(&p).unwrap();
        assert_eq!(r.rate, 8000);
        assert_eq!(r.samples.len(), 4000);
        assert!(r.tone_fraction(1000.0) > 0.95);
        // A writer killed mid-call leaves the RIFF and data sizes at 0.
        let mut bytes = std::fs::read(&p).unwrap();
        bytes[4..8].copy_from_slice(&0u32.to_le_bytes());
        bytes[40..44].copy_from_slice(&0u32.to_le_bytes());
        std::fs::write(&p, &bytes).unwrap();
        assert_eq!(Recording::load(&p).unwrap().samples.len(), 4000);
        assert!(Recording::load(&dir.path().join("missing.wav")).is_err());
        std::fs::write(&p, b"RIFF\0\0\0\0WAVEjunk").unwrap();
        assert!(Recording::load(&p).is_err());
    }
}
