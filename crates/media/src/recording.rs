//! Aligning two mono streams (caller, operator) into one stereo recording.
//!
//! The two legs' packets arrive independently: each with its own jitter,
//! and either may fall silent (hold, mute, a phone that stops sending during
//! silence). Each chunk of decoded audio comes with its position on the
//! recording's timeline (samples since the recording started, from the
//! worker's clock at arrival). A channel's audio is appended where its
//! previous audio ended, so jitter never chops words; only a gap longer than
//! [`REALIGN_SAMPLES`] (real silence: no packets) is filled with silence up
//! to the new position. Frames are released once both channels have them,
//! or once one channel is more than [`MAX_LAG_SAMPLES`] behind the other (it
//! is silent, so it is padded).
//!
//! The mixer is sans-IO: the caller supplies positions and takes the
//! interleaved output. [`StereoWav`] puts a mixer in front of a WAV file
//! (the recorder thread of the server owns it; never a media worker).

use std::collections::VecDeque;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use crate::{MediaError, CLOCK_RATE};

/// A gap in a channel's packets longer than this (200 ms) is silence on the
/// timeline; shorter ones are jitter and the audio is kept back to back.
pub const REALIGN_SAMPLES: u64 = CLOCK_RATE as u64 / 5;
/// A channel this far (400 ms) behind the other is padded with silence so
/// the recording keeps moving.
pub const MAX_LAG_SAMPLES: u64 = 2 * REALIGN_SAMPLES;
/// Most audio (10 s) one channel may hold ahead of what was written; more
/// means positions went wrong (a clock jump) and the excess is dropped.
pub const MAX_BUFFERED_SAMPLES: usize = 10 * CLOCK_RATE as usize;

/// Which side of the stereo file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// The caller (customer).
    Left,
    /// The operator.
    Right,
}

impl Channel {
    fn index(self) -> usize {
        match self {
            Channel::Left => 0,
            Channel::Right => 1,
        }
    }
}

/// Aligns the two channels of one recording.
#[derive(Debug, Clone, Default)]
pub struct StereoMixer {
    /// Audio not yet written, per channel; starts at `written`.
    pending: [VecDeque<i16>; 2],
    /// Stereo frames (sample pairs) written so far.
    written: u64,
    /// Samples dropped because a channel ran too far ahead.
    overflow: u64,
}

impl StereoMixer {
    #[must_use]
    pub fn new() -> StereoMixer {
        StereoMixer::default()
    }

    /// Sample pairs written so far (the recording's length in samples).
    #[must_use]
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Samples dropped because a channel held more than
    /// [`MAX_BUFFERED_SAMPLES`].
    #[must_use]
    pub fn overflow(&self) -> u64 {
        self.overflow
    }

    /// Where the channel's audio currently ends on the timeline.
    fn end(&self, ch: usize) -> u64 {
        self.written + self.pending[ch].len() as u64
    }

    /// Add `samples` of `channel` that arrived at timeline `position`.
    pub fn push(&mut self, channel: Channel, position: u64, samples: &[i16]) {
        let ch = channel.index();
        let end = self.end(ch);
        if position > end + REALIGN_SAMPLES {
            let gap = usize::try_from(position - end).unwrap_or(usize::MAX);
            let room = MAX_BUFFERED_SAMPLES.saturating_sub(self.pending[ch].len());
            let pad = gap.min(room);
            let len = self.pending[ch].len() + pad;
            self.pending[ch].resize(len, 0);
        }
        let room = MAX_BUFFERED_SAMPLES.saturating_sub(self.pending[ch].len());
        let take = samples.len().min(room);
        self.pending[ch].extend(samples.iter().take(take).copied());
        self.overflow += (samples.len() - take) as u64;
    }

    /// Release the frames that are ready to `out` as (left, right) pairs.
    /// With `finish`, release everything, padding the shorter channel.
    pub fn drain(&mut self, finish: bool, mut out: impl FnMut(i16, i16)) {
        let (l, r) = (self.pending[0].len(), self.pending[1].len());
        let target = if finish {
            l.max(r)
        } else {
            let lag = MAX_LAG_SAMPLES as usize;
            l.min(r).max(l.max(r).saturating_sub(lag))
        };
        for _ in 0..target {
            let left = self.pending[0].pop_front().unwrap_or(0);
            let right = self.pending[1].pop_front().unwrap_or(0);
            out(left, right);
        }
        self.written += target as u64;
    }
}

/// A stereo recording being written: 8 kHz, 16-bit, caller left.
pub struct StereoWav {
    path: PathBuf,
    writer: Option<hound::WavWriter<BufWriter<File>>>,
    mixer: StereoMixer,
    dirty: bool,
}

impl std::fmt::Debug for StereoWav {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StereoWav")
            .field("path", &self.path)
            .field("written", &self.mixer.written())
            .finish_non_exhaustive()
    }
}

fn file_error(path: &Path, e: &dyn std::fmt::Display) -> MediaError {
    MediaError::Audio {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

impl StereoWav {
    /// Create the file (and its directory).
    ///
    /// # Errors
    /// [`MediaError::Audio`] naming the file when it cannot be created.
    pub fn create(path: &Path) -> Result<StereoWav, MediaError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| file_error(path, &e))?;
        }
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: CLOCK_RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let writer = hound::WavWriter::create(path, spec).map_err(|e| file_error(path, &e))?;
        Ok(StereoWav {
            path: path.to_path_buf(),
            writer: Some(writer),
            mixer: StereoMixer::new(),
            dirty: false,
        })
    }

    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sample pairs in the file so far.
    #[must_use]
    pub fn written(&self) -> u64 {
        self.mixer.written()
    }

    /// Add audio of one channel (see [`StereoMixer::push`]) and write what
    /// became ready.
    ///
    /// # Errors
    /// [`MediaError::Audio`] when the write fails (a full disk); the file
    /// keeps what it has and later writes are ignored.
    pub fn push(
        &mut self,
        channel: Channel,
        position: u64,
        samples: &[i16],
    ) -> Result<(), MediaError> {
        self.mixer.push(channel, position, samples);
        self.write(false)
    }

    /// Make the header describe everything written so far and push the
    /// bytes to the OS, so a crash from here on leaves a playable file.
    ///
    /// # Errors
    /// [`MediaError::Audio`] when the file cannot be written.
    pub fn flush(&mut self) -> Result<(), MediaError> {
        if !self.dirty {
            return Ok(());
        }
        self.dirty = false;
        match self.writer.as_mut() {
            Some(w) => w.flush().map_err(|e| file_error(&self.path, &e)),
            None => Ok(()),
        }
    }

    /// Write the rest (padding the shorter channel) and finalize the
    /// header. Returns the length in sample pairs.
    ///
    /// # Errors
    /// [`MediaError::Audio`] when the last writes fail.
    pub fn finish(mut self) -> Result<u64, MediaError> {
        self.write(true)?;
        if let Some(w) = self.writer.take() {
            w.finalize().map_err(|e| file_error(&self.path, &e))?;
        }
        Ok(self.mixer.written())
    }

    fn write(&mut self, finish: bool) -> Result<(), MediaError> {
        let StereoWav { writer, mixer, .. } = self;
        let mut failed = None;
        mixer.drain(finish, |l, r| {
            if let (Some(w), None) = (writer.as_mut(), failed.as_ref()) {
                if let Err(e) = w.write_sample(l).and_then(|()| w.write_sample(r)) {
                    failed = Some(e);
                }
            }
        });
        self.dirty = true;
        match failed {
            None => Ok(()),
            Some(e) => {
                if let Some(w) = self.writer.take() {
                    let _ = w.finalize();
                }
                Err(file_error(&self.path, &e))
            }
        }
    }
}

/// Read a stereo 16-bit WAV back as (left, right) pairs: for tests, the
/// dashboard, and checking a file after a crash.
///
/// # Errors
/// [`MediaError::Audio`] when the file is unreadable, not 16-bit PCM
/// stereo, or its header promises samples it does not hold.
pub fn read_stereo(path: &Path) -> Result<(u32, Vec<(i16, i16)>), MediaError> {
    let mut reader = hound::WavReader::open(path).map_err(|e| file_error(path, &e))?;
    let spec = reader.spec();
    if spec.channels != 2
        || spec.bits_per_sample != 16
        || spec.sample_format != hound::SampleFormat::Int
    {
        return Err(file_error(path, &"not 16-bit PCM stereo"));
    }
    let samples: Vec<i16> = reader
        .samples::<i16>()
        .collect::<Result<_, _>>()
        .map_err(|e| file_error(path, &e))?;
    let pairs = samples.chunks_exact(2).map(|p| (p[0], p[1])).collect();
    Ok((spec.sample_rate, pairs))
}

/// Sample pairs a stereo WAV's header claims, if it can be opened.
#[must_use]
pub fn stereo_len(path: &Path) -> Option<u64> {
    hound::WavReader::open(path)
        .ok()
        .map(|r| u64::from(r.len() / 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain_all(m: &mut StereoMixer, finish: bool) -> Vec<(i16, i16)> {
        let mut v = Vec::new();
        m.drain(finish, |l, r| v.push((l, r)));
        v
    }

    #[test]
    fn both_channels_are_paired_sample_by_sample() {
        let mut m = StereoMixer::new();
        m.push(Channel::Left, 0, &[1; 160]);
        assert!(drain_all(&mut m, false).is_empty(), "waits for the right");
        m.push(Channel::Right, 5, &[2; 160]);
        let out = drain_all(&mut m, false);
        assert_eq!(out.len(), 160);
        assert!(out.iter().all(|&p| p == (1, 2)));
        assert_eq!(m.written(), 160);
    }

    #[test]
    fn jitter_keeps_audio_back_to_back() {
        let mut m = StereoMixer::new();
        // Packets arrive 30, 10, 20 ms apart: positions jitter, audio does not.
        for (i, pos) in [0u64, 240, 320, 480].into_iter().enumerate() {
            m.push(Channel::Left, pos, &[i as i16 + 1; 160]);
            m.push(Channel::Right, pos, &[-1; 160]);
        }
        let out = drain_all(&mut m, false);
        assert_eq!(out.len(), 640);
        assert_eq!(out[159].0, 1);
        assert_eq!(out[160].0, 2);
        assert_eq!(out[639].0, 4);
    }

    #[test]
    fn a_long_gap_becomes_silence_at_the_right_place() {
        let mut m = StereoMixer::new();
        m.push(Channel::Left, 0, &[7; 160]);
        // One second of nothing, then more audio.
        m.push(Channel::Left, 8160, &[9; 160]);
        m.push(Channel::Right, 0, &[1; 8320]);
        let out = drain_all(&mut m, false);
        assert_eq!(out.len(), 8320);
        assert_eq!(out[159].0, 7);
        assert_eq!(out[160].0, 0);
        assert_eq!(out[8159].0, 0);
        assert_eq!(out[8160].0, 9);
    }

    #[test]
    fn a_silent_channel_is_padded_once_the_other_is_far_ahead() {
        let mut m = StereoMixer::new();
        m.push(Channel::Left, 0, &[3; 8000]);
        let out = drain_all(&mut m, false);
        assert_eq!(out.len(), 8000 - MAX_LAG_SAMPLES as usize);
        assert!(out.iter().all(|&p| p == (3, 0)));
        let rest = drain_all(&mut m, true);
        assert_eq!(rest.len(), MAX_LAG_SAMPLES as usize);
        assert_eq!(m.written(), 8000);
    }

    #[test]
    fn runaway_positions_are_capped() {
        let mut m = StereoMixer::new();
        m.push(Channel::Left, u64::MAX / 2, &[1; 160]);
        assert!(m.pending[0].len() <= MAX_BUFFERED_SAMPLES);
        assert_eq!(m.overflow(), 160);
    }

    #[test]
    fn a_wav_is_valid_after_each_flush_and_final_after_finish() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a/b/rec.wav");
        let mut w = StereoWav::create(&path).expect("create");
        w.push(Channel::Left, 0, &[5; 800]).expect("write");
        w.push(Channel::Right, 0, &[-5; 800]).expect("write");
        w.flush().expect("flush");
        assert_eq!(stereo_len(&path), Some(800));
        let (rate, pairs) = read_stereo(&path).expect("readable mid-recording");
        assert_eq!(rate, 8000);
        assert_eq!(pairs.len(), 800);
        w.push(Channel::Left, 800, &[6; 160]).expect("write");
        assert_eq!(w.finish().expect("finish"), 960);
        let (_, pairs) = read_stereo(&path).expect("readable");
        assert_eq!(pairs.len(), 960);
        assert_eq!(pairs[959], (6, 0));
    }
}
