//! What the signalling core asks of the media engine. The core never touches
//! RTP itself: it opens a port per leg (SDP needs one), tells the engine what
//! each leg negotiated, and bridges two legs. The engine reports back through
//! `MediaEvent`s on the core's inbound channel.

use sdp::NegotiatedAudio;

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
}

/// The engine as the core drives it. Calls must not block: the engine binds
/// a socket synchronously (fast) and hands all else to its workers.
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
    /// Frees the leg's port; media stops at once.
    fn close_leg(&mut self, leg: LegId);
}
