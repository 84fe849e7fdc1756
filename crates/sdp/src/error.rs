use thiserror::Error;

/// Everything that can go wrong with an SDP body, split by whose fault it is:
/// the peer sent garbage ([`SdpError::Malformed`] and friends), or the peer's
/// offer is well formed but has nothing we can accept ([`SdpError::NoAudio`],
/// [`SdpError::NoCommonCodec`]; SIP answers those with 488).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SdpError {
    #[error("SDP body is not UTF-8")]
    NotUtf8,
    #[error("SDP body is empty")]
    Empty,
    #[error("SDP line {line}: {reason}")]
    Malformed { line: usize, reason: &'static str },
    #[error("SDP is missing its {0}= line")]
    Missing(char),
    #[error("SDP offers no usable RTP/AVP audio stream")]
    NoAudio,
    #[error("SDP offers no audio codec we support")]
    NoCommonCodec,
}

impl SdpError {
    /// True when the peer's SDP parsed but cannot be accepted (SIP 488),
    /// false when it is malformed (SIP 400).
    #[must_use]
    pub fn is_not_acceptable(&self) -> bool {
        matches!(self, SdpError::NoAudio | SdpError::NoCommonCodec)
    }
}
