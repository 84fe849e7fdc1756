//! The crate's error type, split by whose fault it is: the peer sent bytes we
//! cannot parse (`Parse`, `Framing`), a header value is malformed or missing
//! when a typed view asks for it (`InvalidUri`, `InvalidHeader`,
//! `MissingHeader`), or digest authentication failed (`Auth`).

use thiserror::Error;

pub use crate::framing::FramingError;
pub use crate::parse::ParseError;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SipError {
    /// A URI that does not follow RFC 3261 section 19.1 (or is not a SIP URI
    /// where one is required).
    #[error("invalid URI: {0}")]
    InvalidUri(String),
    /// A header whose value does not parse as the typed view asked for it.
    #[error("invalid {header} header: {reason}")]
    InvalidHeader { header: String, reason: String },
    /// A header the caller needs is absent.
    #[error("missing {0} header")]
    MissingHeader(String),
    /// A whole message failed to parse (carries what is needed to answer 400).
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A TCP stream could not be split into messages.
    #[error(transparent)]
    Framing(#[from] FramingError),
    /// Digest authentication: malformed header, unsupported algorithm, bad response.
    #[error("digest authentication: {0}")]
    Auth(String),
}

impl SipError {
    pub(crate) fn header(header: &str, reason: impl Into<String>) -> SipError {
        SipError::InvalidHeader {
            header: header.to_string(),
            reason: reason.into(),
        }
    }
}
