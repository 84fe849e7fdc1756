//! TCP stream framing (RFC 3261 18.3): split a byte stream into messages by
//! Content-Length.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FramingError {
    #[error("message on a stream has no Content-Length")]
    MissingContentLength,
    #[error("invalid Content-Length on a stream")]
    BadContentLength,
    #[error("message exceeds the {0}-byte cap")]
    TooLarge(usize),
}
