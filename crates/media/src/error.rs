use std::path::PathBuf;

use thiserror::Error;

/// Errors of the media core, split by whose fault they are: the peer sent a
/// malformed packet (`Packet`), or our configuration names an audio file we
/// cannot use (`Audio`).
#[derive(Debug, Error)]
pub enum MediaError {
    #[error("malformed RTP packet: {0}")]
    Packet(&'static str),
    #[error("malformed telephone-event payload: {0}")]
    Event(&'static str),
    #[error("output buffer too small: need {need} bytes, have {have}")]
    BufferTooSmall { need: usize, have: usize },
    #[error("audio file {}: {reason}", path.display())]
    Audio { path: PathBuf, reason: String },
}
