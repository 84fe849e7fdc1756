//! The media hot core of switchboard: RTP header handling, G.711, RFC 4733
//! DTMF, outgoing stream continuity, the leg-to-leg relay, RTP source locking,
//! the prompt/hold-music player, stereo recording alignment and reception
//! quality (loss, jitter, MOS).
//!
//! Sans-IO: everything works on caller-owned byte buffers and a `now`
//! argument. Nothing on the per-packet path allocates, locks or panics on
//! peer input.

pub mod dtmf;
mod error;
pub mod g711;
pub mod player;
pub mod quality;

pub mod recording;
pub mod relay;
pub mod rtcp;
pub mod rtcp_session;
pub mod rtp;
pub mod source;
pub mod stream;

pub use error::MediaError;

/// G.711 at 8 kHz: samples per second of the RTP clock.
pub const CLOCK_RATE: u32 = 8000;
/// Samples in one 20 ms frame.
pub const FRAME_SAMPLES: usize = 160;
/// One frame's length.
pub const FRAME_DURATION: std::time::Duration = std::time::Duration::from_millis(20);

/// A base instant for simulated-clock tests. Tests only add durations to it;
/// nothing in the crate reads the clock.
#[cfg(test)]
#[allow(clippy::disallowed_methods)]
pub(crate) fn test_epoch() -> std::time::Instant {
    std::time::Instant::now()
}
