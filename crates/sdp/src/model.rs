//! The SDP data model. Lines the switch does not interpret are kept verbatim
//! (`extra`, [`Attribute::Other`]) so parse-then-serialise loses nothing.

use std::net::IpAddr;

/// Media direction attribute (RFC 3264 section 5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    /// Attribute name as written after `a=`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Direction> {
        match name {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }

    /// The direction the other side of an offer/answer takes: what one side
    /// sends the other receives (RFC 3264 section 6.1).
    #[must_use]
    pub const fn reversed(self) -> Direction {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            other => other,
        }
    }

    /// Does this side send media?
    #[must_use]
    pub const fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// Does this side receive media?
    #[must_use]
    pub const fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    /// Direction from the two capabilities.
    #[must_use]
    pub const fn from_flags(send: bool, recv: bool) -> Direction {
        match (send, recv) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }
}

/// `o=` line. The ids stay strings: RFC 4566 calls them numeric but peers
/// send values wider than 64 bits, and we only ever compare them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub username: String,
    pub session_id: String,
    pub session_version: String,
    pub net_type: String,
    pub addr_type: String,
    pub address: String,
}

/// `c=` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub net_type: String,
    pub addr_type: String,
    /// Address as written (may carry a multicast `/ttl` suffix or be a name).
    pub address: String,
}

impl Connection {
    /// An `IN IP4`/`IN IP6` connection for `ip`.
    #[must_use]
    pub fn for_ip(ip: IpAddr) -> Connection {
        Connection {
            net_type: "IN".to_owned(),
            addr_type: if ip.is_ipv4() { "IP4" } else { "IP6" }.to_owned(),
            address: ip.to_string(),
        }
    }

    /// The unicast IP address, if the address is a literal one.
    #[must_use]
    pub fn ip(&self) -> Option<IpAddr> {
        self.address.parse().ok()
    }

    /// RFC 2543 style hold: `c=IN IP4 0.0.0.0` means "do not send to me".
    #[must_use]
    pub fn is_hold(&self) -> bool {
        self.ip().is_some_and(|ip| ip.is_unspecified())
    }
}

/// `a=rtpmap:<pt> <encoding>/<clock>[/<channels>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    pub pt: u8,
    pub encoding: String,
    pub clock_rate: u32,
    pub channels: Option<u16>,
}

/// An `a=` line. Attributes the switch acts on are typed; the rest, and any
/// known attribute whose value does not parse, are kept as [`Attribute::Other`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attribute {
    Rtpmap(RtpMap),
    Fmtp { pt: u8, params: String },
    Ptime(u32),
    Direction(Direction),
    Other { name: String, value: Option<String> },
}

/// One `m=` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    /// `audio`, `video`, `application`, ...
    pub media: String,
    /// Port 0 means the stream is rejected or disabled (RFC 3264 section 6).
    pub port: u16,
    pub port_count: Option<u16>,
    /// `RTP/AVP`, `RTP/SAVP`, ...
    pub proto: String,
    /// Formats as written; for RTP profiles these are payload type numbers.
    pub formats: Vec<String>,
    pub connection: Option<Connection>,
    /// Lines other than c= and a= (i=, b=, k=), kept in order: (type, value).
    pub extra: Vec<(char, String)>,
    pub attributes: Vec<Attribute>,
}

impl MediaDescription {
    /// Payload types of an RTP m-line; formats that are not numbers are skipped.
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats.iter().filter_map(|f| f.parse::<u8>().ok())
    }

    /// The rtpmap for `pt`, if any.
    #[must_use]
    pub fn rtpmap(&self, pt: u8) -> Option<&RtpMap> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Rtpmap(map) if map.pt == pt => Some(map),
            _ => None,
        })
    }

    /// The fmtp parameters for `pt`, if any.
    #[must_use]
    pub fn fmtp(&self, pt: u8) -> Option<&str> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Fmtp { pt: p, params } if *p == pt => Some(params.as_str()),
            _ => None,
        })
    }

    /// `a=ptime`, if present.
    #[must_use]
    pub fn ptime(&self) -> Option<u32> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Ptime(p) => Some(*p),
            _ => None,
        })
    }

    /// The media-level direction attribute, if present.
    #[must_use]
    pub fn direction(&self) -> Option<Direction> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Direction(d) => Some(*d),
            _ => None,
        })
    }

    /// Is this an RTP/AVP audio stream we could use?
    #[must_use]
    pub fn is_avp_audio(&self) -> bool {
        self.media == "audio" && self.proto.eq_ignore_ascii_case("RTP/AVP")
    }
}

/// A whole session description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    pub origin: Origin,
    pub session_name: String,
    pub connection: Option<Connection>,
    /// `t=` start and stop, as written.
    pub timing: (String, String),
    /// Session-level lines other than v/o/s/c/t/a (i, u, e, p, b, r, z, k), in order.
    pub extra: Vec<(char, String)>,
    pub attributes: Vec<Attribute>,
    pub media: Vec<MediaDescription>,
}

impl SessionDescription {
    /// The session-level direction attribute, if present.
    #[must_use]
    pub fn direction(&self) -> Option<Direction> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Direction(d) => Some(*d),
            _ => None,
        })
    }

    /// Direction of `media`: its own attribute, else the session's, else
    /// sendrecv (RFC 3264 section 5.1).
    #[must_use]
    pub fn effective_direction(&self, media: &MediaDescription) -> Direction {
        media
            .direction()
            .or_else(|| self.direction())
            .unwrap_or(Direction::SendRecv)
    }

    /// The connection that applies to `media` (its own, else the session's).
    #[must_use]
    pub fn effective_connection<'a>(
        &'a self,
        media: &'a MediaDescription,
    ) -> Option<&'a Connection> {
        media.connection.as_ref().or(self.connection.as_ref())
    }

    /// Index and description of the first RTP/AVP audio stream that is not
    /// disabled (port 0).
    #[must_use]
    pub fn first_audio(&self) -> Option<(usize, &MediaDescription)> {
        self.media
            .iter()
            .enumerate()
            .find(|(_, m)| m.is_avp_audio() && m.port != 0)
    }
}
