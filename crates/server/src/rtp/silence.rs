//! Long-silence detection for voicemail: "the caller stopped talking".
//!
//! Runs in the recorder thread, which already has each 20 ms chunk decoded;
//! the media workers' per-packet path does nothing extra. Sans-IO: positions
//! are sample counts since the recording started (8 kHz), given by the
//! caller, so a test drives it without a clock.
//!
//! A chunk is quiet when its RMS is below the threshold (about -45 dBFS by
//! default: line noise and breathing stay under it, speech does not). The
//! detector fires once, when the recording's current position is `limit`
//! past the end of the last loud chunk (or the start). The position moves
//! with audio and, when no packets come at all, with the clock (`at`), so a
//! caller whose phone stops sending (silence suppression) is caught too.

use media::CLOCK_RATE;

/// RMS level under which a chunk counts as quiet: -45 dBFS of a full-scale
/// sine's RMS reference (32768), about 184.
pub(super) const QUIET_RMS: f64 = 32768.0 * 0.005_623_413; // 10^(-45/20)

#[derive(Debug, Clone)]
pub(super) struct SilenceDetector {
    /// Samples of quiet that end the message.
    limit: u64,
    threshold: f64,
    /// Where the last loud chunk ended (0: nothing loud yet).
    loud_until: u64,
    fired: bool,
}

impl SilenceDetector {
    pub fn new(limit: std::time::Duration) -> SilenceDetector {
        SilenceDetector {
            limit: (limit.as_millis() as u64) * u64::from(CLOCK_RATE) / 1000,
            threshold: QUIET_RMS,
            loud_until: 0,
            fired: false,
        }
    }

    /// A chunk of audio at `position`. True once, when the silence is long
    /// enough.
    pub fn audio(&mut self, position: u64, samples: &[i16]) -> bool {
        let end = position + samples.len() as u64;
        if !samples.is_empty() && rms(samples) >= self.threshold {
            self.loud_until = self.loud_until.max(end);
        }
        self.at(end)
    }

    /// The recording reached `position` (by the clock, packets or not). True
    /// once, when the silence is long enough.
    pub fn at(&mut self, position: u64) -> bool {
        if self.fired || position < self.loud_until + self.limit {
            return false;
        }
        self.fired = true;
        true
    }
}

fn rms(samples: &[i16]) -> f64 {
    let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (sum / samples.len() as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const CHUNK: u64 = 160;

    fn tone(level: f64) -> Vec<i16> {
        (0..CHUNK)
            .map(|i| {
                let t = i as f64 / 8000.0;
                (level * (2.0 * std::f64::consts::PI * 400.0 * t).sin()) as i16
            })
            .collect()
    }

    /// Feeds `chunks` 20 ms chunks from `from`; the chunk index that fired.
    fn feed(d: &mut SilenceDetector, from: u64, chunks: u64, samples: &[i16]) -> Option<u64> {
        (from..from + chunks).find(|&i| d.audio(i * CHUNK, samples))
    }

    #[test]
    fn quiet_audio_fires_once_after_the_limit() {
        let mut d = SilenceDetector::new(Duration::from_secs(5));
        let quiet = tone(100.0); // about -53 dBFS RMS
                                 // 5 s = 250 chunks: fires on the chunk that ends at 5 s.
        assert_eq!(feed(&mut d, 0, 400, &quiet), Some(249));
        assert_eq!(feed(&mut d, 400, 400, &quiet), None, "fires once");
    }

    #[test]
    fn speech_restarts_the_count() {
        let mut d = SilenceDetector::new(Duration::from_secs(2));
        let quiet = vec![0i16; CHUNK as usize];
        let loud = tone(3000.0); // about -24 dBFS RMS
        assert_eq!(feed(&mut d, 0, 90, &quiet), None);
        assert_eq!(feed(&mut d, 90, 500, &loud), None, "never while talking");
        // Loud until chunk 590 (11.8 s); 2 s more of quiet ends at 13.8 s.
        assert_eq!(feed(&mut d, 590, 200, &quiet), Some(689));
    }

    #[test]
    fn the_threshold_is_about_minus_45_dbfs() {
        let just_under = tone(QUIET_RMS * std::f64::consts::SQRT_2 * 0.9);
        let just_over = tone(QUIET_RMS * std::f64::consts::SQRT_2 * 1.1);
        let mut d = SilenceDetector::new(Duration::from_secs(1));
        assert_eq!(feed(&mut d, 0, 100, &just_over), None);
        assert_eq!(feed(&mut d, 100, 100, &just_under), Some(149));
    }

    #[test]
    fn no_packets_at_all_is_silence_by_the_clock() {
        let mut d = SilenceDetector::new(Duration::from_secs(5));
        assert!(!d.audio(0, &tone(3000.0)));
        assert!(!d.at(8000 * 5), "5 s after the start, loud until 20 ms");
        assert!(d.at(8000 * 5 + CHUNK));
        assert!(!d.at(8000 * 6));
    }
}
