//! The audio codecs the switch speaks and how SDP names them.

use crate::model::MediaDescription;

/// Event range we announce for RFC 4733 telephone-event: the 16 DTMF digits
/// plus flash (16).
pub const TELEPHONE_EVENT_FMTP: &str = "0-16";

/// Audio codecs the media core can relay and transcode between.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AudioCodec {
    /// G.711 mu-law, static payload type 0.
    Pcmu,
    /// G.711 A-law, static payload type 8.
    Pcma,
}

impl AudioCodec {
    /// The static RTP/AVP payload type (RFC 3551).
    #[must_use]
    pub const fn static_pt(self) -> u8 {
        match self {
            AudioCodec::Pcmu => 0,
            AudioCodec::Pcma => 8,
        }
    }

    /// Encoding name as written in `a=rtpmap`.
    #[must_use]
    pub const fn encoding_name(self) -> &'static str {
        match self {
            AudioCodec::Pcmu => "PCMU",
            AudioCodec::Pcma => "PCMA",
        }
    }

    /// RTP clock rate.
    #[must_use]
    pub const fn clock_rate(self) -> u32 {
        8000
    }

    fn from_static_pt(pt: u8) -> Option<AudioCodec> {
        match pt {
            0 => Some(AudioCodec::Pcmu),
            8 => Some(AudioCodec::Pcma),
            _ => None,
        }
    }

    fn from_name(name: &str, rate: u32) -> Option<AudioCodec> {
        if rate != 8000 {
            return None;
        }
        if name.eq_ignore_ascii_case("PCMU") {
            Some(AudioCodec::Pcmu)
        } else if name.eq_ignore_ascii_case("PCMA") {
            Some(AudioCodec::Pcma)
        } else {
            None
        }
    }
}

/// What a payload type in an m-line means to us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Audio(AudioCodec),
    TelephoneEvent,
    Unknown,
}

/// Resolve a payload type of `media`: an `a=rtpmap` wins, otherwise the
/// static RFC 3551 assignment (many phones omit rtpmap for 0 and 8).
pub(crate) fn resolve(media: &MediaDescription, pt: u8) -> Format {
    match media.rtpmap(pt) {
        Some(map) => {
            if map.encoding.eq_ignore_ascii_case("telephone-event") && map.clock_rate == 8000 {
                Format::TelephoneEvent
            } else if map.channels.unwrap_or(1) != 1 {
                Format::Unknown
            } else {
                AudioCodec::from_name(&map.encoding, map.clock_rate)
                    .map_or(Format::Unknown, Format::Audio)
            }
        }
        None => AudioCodec::from_static_pt(pt).map_or(Format::Unknown, Format::Audio),
    }
}
