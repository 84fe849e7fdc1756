//! [`SessionDescription`] to SDP text, CRLF line ends, RFC 4566 line order.

use std::fmt::{self, Display, Formatter, Write};

use crate::model::{Attribute, Connection, MediaDescription, SessionDescription};
use crate::parse::{media_extra_rank, session_extra_rank};

impl SessionDescription {
    /// The body as bytes, ready for a SIP message.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

impl Display for SessionDescription {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let o = &self.origin;
        f.write_str("v=0\r\n")?;
        write!(
            f,
            "o={} {} {} {} {} {}\r\n",
            o.username, o.session_id, o.session_version, o.net_type, o.addr_type, o.address
        )?;
        write!(f, "s={}\r\n", self.session_name)?;
        write_extra(f, &self.extra, |k| session_extra_rank(k) == 0)?;
        if let Some(c) = &self.connection {
            write_connection(f, c)?;
        }
        write_extra(f, &self.extra, |k| session_extra_rank(k) == 1)?;
        write!(f, "t={} {}\r\n", self.timing.0, self.timing.1)?;
        write_extra(f, &self.extra, |k| session_extra_rank(k) == 2)?;
        for a in &self.attributes {
            write_attribute(f, a)?;
        }
        for m in &self.media {
            write_media(f, m)?;
        }
        Ok(())
    }
}

fn write_extra(
    f: &mut Formatter<'_>,
    extra: &[(char, String)],
    keep: impl Fn(char) -> bool,
) -> fmt::Result {
    for (kind, value) in extra.iter().filter(|(k, _)| keep(*k)) {
        write!(f, "{kind}={value}\r\n")?;
    }
    Ok(())
}

fn write_connection(f: &mut Formatter<'_>, c: &Connection) -> fmt::Result {
    write!(f, "c={} {} {}\r\n", c.net_type, c.addr_type, c.address)
}

fn write_media(f: &mut Formatter<'_>, m: &MediaDescription) -> fmt::Result {
    write!(f, "m={} {}", m.media, m.port)?;
    if let Some(count) = m.port_count {
        write!(f, "/{count}")?;
    }
    write!(f, " {}", m.proto)?;
    for fmt in &m.formats {
        f.write_char(' ')?;
        f.write_str(fmt)?;
    }
    f.write_str("\r\n")?;
    write_extra(f, &m.extra, |k| media_extra_rank(k) == 0)?;
    if let Some(c) = &m.connection {
        write_connection(f, c)?;
    }
    write_extra(f, &m.extra, |k| media_extra_rank(k) == 1)?;
    for a in &m.attributes {
        write_attribute(f, a)?;
    }
    Ok(())
}

fn write_attribute(f: &mut Formatter<'_>, a: &Attribute) -> fmt::Result {
    match a {
        Attribute::Rtpmap(map) => {
            write!(f, "a=rtpmap:{} {}/{}", map.pt, map.encoding, map.clock_rate)?;
            if let Some(ch) = map.channels {
                write!(f, "/{ch}")?;
            }
            f.write_str("\r\n")
        }
        Attribute::Fmtp { pt, params } if params.is_empty() => write!(f, "a=fmtp:{pt}\r\n"),
        Attribute::Fmtp { pt, params } => write!(f, "a=fmtp:{pt} {params}\r\n"),
        Attribute::Ptime(p) => write!(f, "a=ptime:{p}\r\n"),
        Attribute::Direction(d) => write!(f, "a={}\r\n", d.as_str()),
        Attribute::Other {
            name,
            value: Some(v),
        } => write!(f, "a={name}:{v}\r\n"),
        Attribute::Other { name, value: None } => write!(f, "a={name}\r\n"),
    }
}
