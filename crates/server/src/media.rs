//! What the signalling core asks of the media engine. The core never touches
//! RTP itself: it opens a port per leg (SDP needs one), tells the engine what
//! each leg negotiated, and bridges two legs. The engine reports back through
//! `MediaEvent`s on the core's inbound channel, and through `MediaReport`s
//! (things that belong in the call record) on a report sink.

use std::path::PathBuf;
use std::time::Duration;

use media::player::Clip;
use sdp::NegotiatedAudio;

pub use crate::rtp::LegStats;

/// One leg's media (one RTP port) inside the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LegId(pub u64);

/// Something the media engine noticed on a leg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaEvent {
    /// An RFC 4733 digit finished on this leg.
    Dtmf { leg: LegId, digit: char },
    /// No RTP arrived on this leg for the configured media timeout.
    Timeout { leg: LegId },
    /// A one-leg recording with silence detection (voicemail): the leg's
    /// audio stayed quiet for the time asked. Reported once.
    Silence { leg: LegId },
}

/// What the engine hands over for the call record, once a thing is over.
/// Kept apart from `MediaEvent` so the core's event matches stay as they
/// are; the driver may route both into the core.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaReport {
    /// A recording's file is complete (header final).
    RecordingDone(RecordingDone),
    /// A leg was closed; its final reception and quality figures.
    LegClosed { leg: LegId, stats: Box<LegStats> },
}

/// A finished recording. A one-leg recording has `caller == operator`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingDone {
    pub caller: LegId,
    pub operator: LegId,
    pub path: PathBuf,
    /// Length of the audio in the file.
    pub duration: Duration,
    /// 20 ms chunks lost because the recorder fell behind (0 normally).
    pub dropped_chunks: u64,
    /// Why the file is missing or cut short, if it is.
    pub error: Option<String>,
}

/// What both legs hear when a recording starts.
#[derive(Debug, Clone, Default)]
pub enum Notice {
    #[default]
    None,
    /// A short 1 kHz beep.
    Beep,
    /// A prompt ("this call may be recorded").
    Prompt(Clip),
}

/// The engine as the core drives it. Calls must not block: the engine binds
/// a socket synchronously (fast) and hands all else to its workers.
///
/// The methods with default bodies were added after the first core; a test
/// double need not implement them.
pub trait MediaControl: Send {
    /// Binds a new leg on a free even port; returns its id and the port.
    fn open_leg(&mut self) -> std::io::Result<(LegId, u16)>;
    /// What the far end of `leg` negotiated (codec, payload types, its
    /// address from SDP as a hint until symmetric RTP learns the real one).
    fn configure(&mut self, leg: LegId, audio: &NegotiatedAudio);
    /// Relays media between two legs both ways.
    fn bridge(&mut self, a: LegId, b: LegId);
    /// Plays ringback into a leg until it is bridged or closed.
    fn ringback(&mut self, leg: LegId);
    /// Frees the leg's port; media stops at once. A recording the leg is
    /// part of ends (`MediaReport::RecordingDone`), and the leg's final
    /// figures follow as `MediaReport::LegClosed`.
    fn close_leg(&mut self, leg: LegId);

    /// Record `caller` (left channel) and `operator` (right) into a stereo
    /// WAV named after `call_id` in the recording directory. Returns the
    /// file's path, or `None` when either leg is unknown or the recorder is
    /// unavailable. Ends on `stop_recording` or when either leg closes.
    fn start_recording(
        &mut self,
        _caller: LegId,
        _operator: LegId,
        _call_id: &str,
        _notice: Notice,
    ) -> Option<PathBuf> {
        None
    }
    /// Record what `leg` receives alone into a mono WAV (8 kHz, 16-bit)
    /// named `name` in the recording directory (voicemail). With `silence`,
    /// `MediaEvent::Silence` is reported once the leg's audio stayed quiet
    /// (under about -45 dBFS, or no packets) that long. Returns the path, or
    /// `None` when the leg is unknown or the recorder unavailable. Ends on
    /// `stop_recording` or when the leg closes (`MediaReport::RecordingDone`
    /// with `caller == operator == leg`).
    fn start_recording_mono(
        &mut self,
        _leg: LegId,
        _name: &str,
        _silence: Option<Duration>,
    ) -> Option<PathBuf> {
        None
    }
    /// End the recording `leg` is part of.
    fn stop_recording(&mut self, _leg: LegId) {}
    /// Send the leg's own audio back to it (echo test).
    fn echo(&mut self, _leg: LegId) {}
    /// A leg on hold may stay silent longer before it times out.
    fn set_hold(&mut self, _leg: LegId, _on_hold: bool) {}
    /// Play `clips` one after another into `leg` (prompts; hold music with
    /// `looping`), replacing whatever it was being played. The core knows
    /// the clips' length, so no event says when they end.
    fn play(&mut self, _leg: LegId, _clips: Vec<Clip>, _looping: bool) {}
    /// Stop what `leg` is being played (a caller barged in).
    fn stop(&mut self, _leg: LegId) {}
}
