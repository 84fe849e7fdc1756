//! SDP text to [`SessionDescription`] (RFC 4566 section 5).
//!
//! Lenient where real phones are sloppy (LF line ends, blank lines, missing
//! `t=`, unknown line types, attribute values we cannot read), strict where a
//! wrong guess would misroute media (`v=`, `o=`, `c=`, `m=` syntax).

use crate::error::SdpError;
use crate::model::{
    Attribute, Connection, Direction, MediaDescription, Origin, RtpMap, SessionDescription,
};

impl SessionDescription {
    /// Parse an SDP body.
    ///
    /// # Errors
    /// [`SdpError`] when the body is not UTF-8, misses `v=`/`o=`/`s=`, or has a
    /// malformed line the switch depends on.
    pub fn parse(body: &[u8]) -> Result<SessionDescription, SdpError> {
        let text = std::str::from_utf8(body).map_err(|_| SdpError::NotUtf8)?;
        let mut lines = text
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .enumerate()
            .map(|(i, l)| (i + 1, l))
            .filter(|(_, l)| !l.is_empty());

        let Some((n, first)) = lines.next() else {
            return Err(SdpError::Empty);
        };
        let (kind, value) = split_line(n, first)?;
        if kind != 'v' {
            return Err(SdpError::Malformed {
                line: n,
                reason: "first line must be v=",
            });
        }
        if value.trim() != "0" {
            return Err(SdpError::Malformed {
                line: n,
                reason: "unsupported SDP version",
            });
        }

        let mut origin = None;
        let mut session_name = None;
        let mut connection = None;
        let mut timing = None;
        let mut extra = Vec::new();
        let mut attributes = Vec::new();
        let mut media: Vec<MediaDescription> = Vec::new();

        for (n, line) in lines {
            let (kind, value) = split_line(n, line)?;
            if kind == 'm' {
                media.push(parse_media(n, value)?);
                continue;
            }
            if let Some(current) = media.last_mut() {
                match kind {
                    'c' => set_once(&mut current.connection, parse_connection(n, value)?, n)?,
                    'a' => current.attributes.push(parse_attribute(value)),
                    'v' | 'o' | 's' | 't' => {
                        return Err(SdpError::Malformed {
                            line: n,
                            reason: "session-level line inside a media section",
                        })
                    }
                    other => current.extra.push((other, value.to_owned())),
                }
                continue;
            }
            match kind {
                'v' => {
                    return Err(SdpError::Malformed {
                        line: n,
                        reason: "duplicate v= line",
                    });
                }
                'o' => set_once(&mut origin, parse_origin(n, value)?, n)?,
                's' => set_once(&mut session_name, value.to_owned(), n)?,
                'c' => set_once(&mut connection, parse_connection(n, value)?, n)?,
                't' => {
                    // Several t= lines are legal; the first one is what matters for a
                    // phone call, and keeping one keeps the model simple.
                    if timing.is_none() {
                        timing = Some(parse_timing(n, value)?);
                    }
                }
                'a' => attributes.push(parse_attribute(value)),
                other => extra.push((other, value.to_owned())),
            }
        }

        extra.sort_by_key(|(kind, _)| session_extra_rank(*kind));
        for m in &mut media {
            m.extra.sort_by_key(|(kind, _)| media_extra_rank(*kind));
        }

        Ok(SessionDescription {
            origin: origin.ok_or(SdpError::Missing('o'))?,
            session_name: session_name.ok_or(SdpError::Missing('s'))?,
            connection,
            timing: timing.unwrap_or_else(|| ("0".to_owned(), "0".to_owned())),
            extra,
            attributes,
            media,
        })
    }
}

/// Where an uninterpreted session-level line goes relative to c= and t=
/// (RFC 4566 order: v o s i u e p c b t r z k a m). The parser sorts kept
/// lines by this rank so that writing them back in canonical order and
/// parsing again gives the same model.
pub(crate) fn session_extra_rank(kind: char) -> u8 {
    match kind {
        'i' | 'u' | 'e' | 'p' => 0,
        'b' => 1,
        _ => 2,
    }
}

/// Same as [`session_extra_rank`] for a media section (m i c b k a).
pub(crate) fn media_extra_rank(kind: char) -> u8 {
    match kind {
        'i' => 0,
        _ => 1,
    }
}

fn set_once<T>(slot: &mut Option<T>, value: T, line: usize) -> Result<(), SdpError> {
    if slot.is_some() {
        return Err(SdpError::Malformed {
            line,
            reason: "duplicate line",
        });
    }
    *slot = Some(value);
    Ok(())
}

fn split_line(n: usize, line: &str) -> Result<(char, &str), SdpError> {
    let mut chars = line.chars();
    let kind = chars.next();
    let eq = chars.next();
    match (kind, eq) {
        (Some(kind), Some('=')) if kind.is_ascii_lowercase() => Ok((kind, &line[2..])),
        _ => Err(SdpError::Malformed {
            line: n,
            reason: "line is not <type>=<value>",
        }),
    }
}

fn parse_origin(n: usize, value: &str) -> Result<Origin, SdpError> {
    let mut f = value.split_ascii_whitespace();
    let mut next = || {
        f.next().map(str::to_owned).ok_or(SdpError::Malformed {
            line: n,
            reason: "o= needs 6 fields",
        })
    };
    let origin = Origin {
        username: next()?,
        session_id: next()?,
        session_version: next()?,
        net_type: next()?,
        addr_type: next()?,
        address: next()?,
    };
    if f.next().is_some() {
        return Err(SdpError::Malformed {
            line: n,
            reason: "o= has more than 6 fields",
        });
    }
    Ok(origin)
}

fn parse_connection(n: usize, value: &str) -> Result<Connection, SdpError> {
    let mut f = value.split_ascii_whitespace();
    let (Some(net_type), Some(addr_type), Some(address), None) =
        (f.next(), f.next(), f.next(), f.next())
    else {
        return Err(SdpError::Malformed {
            line: n,
            reason: "c= needs 3 fields",
        });
    };
    Ok(Connection {
        net_type: net_type.to_owned(),
        addr_type: addr_type.to_owned(),
        address: address.to_owned(),
    })
}

fn parse_timing(n: usize, value: &str) -> Result<(String, String), SdpError> {
    let mut f = value.split_ascii_whitespace();
    let (Some(start), Some(stop), None) = (f.next(), f.next(), f.next()) else {
        return Err(SdpError::Malformed {
            line: n,
            reason: "t= needs 2 fields",
        });
    };
    Ok((start.to_owned(), stop.to_owned()))
}

fn parse_media(n: usize, value: &str) -> Result<MediaDescription, SdpError> {
    let mut f = value.split_ascii_whitespace();
    let (Some(media), Some(port), Some(proto)) = (f.next(), f.next(), f.next()) else {
        return Err(SdpError::Malformed {
            line: n,
            reason: "m= needs media, port and proto",
        });
    };
    let bad_port = SdpError::Malformed {
        line: n,
        reason: "m= port is not a number",
    };
    let (port, port_count) = match port.split_once('/') {
        Some((p, c)) => (
            p.parse::<u16>().map_err(|_| bad_port.clone())?,
            Some(c.parse::<u16>().map_err(|_| bad_port.clone())?),
        ),
        None => (port.parse::<u16>().map_err(|_| bad_port)?, None),
    };
    Ok(MediaDescription {
        media: media.to_owned(),
        port,
        port_count,
        proto: proto.to_owned(),
        formats: f.map(str::to_owned).collect(),
        connection: None,
        extra: Vec::new(),
        attributes: Vec::new(),
    })
}

/// Attributes never fail: one we cannot read is kept as `Other` and simply
/// not acted upon, like any attribute we do not know.
pub(crate) fn parse_attribute(value: &str) -> Attribute {
    let (name, val) = match value.split_once(':') {
        Some((name, val)) => (name, Some(val)),
        None => (value, None),
    };
    let typed = match (name, val) {
        ("rtpmap", Some(v)) => parse_rtpmap(v).map(Attribute::Rtpmap),
        ("fmtp", Some(v)) => parse_fmtp(v),
        ("ptime", Some(v)) => v.trim().parse::<u32>().ok().map(Attribute::Ptime),
        (name, None) => Direction::from_name(name).map(Attribute::Direction),
        _ => None,
    };
    typed.unwrap_or_else(|| Attribute::Other {
        name: name.to_owned(),
        value: val.map(str::to_owned),
    })
}

fn parse_rtpmap(v: &str) -> Option<RtpMap> {
    let (pt, rest) = v.trim().split_once(' ')?;
    let pt = pt.parse::<u8>().ok()?;
    let mut parts = rest.trim().split('/');
    let encoding = parts.next()?;
    if encoding.is_empty() || encoding.contains(char::is_whitespace) {
        return None;
    }
    let clock_rate = parts.next()?.parse::<u32>().ok()?;
    let channels = match parts.next() {
        Some(c) => Some(c.parse::<u16>().ok()?),
        None => None,
    };
    if parts.next().is_some() {
        return None;
    }
    Some(RtpMap {
        pt,
        encoding: encoding.to_owned(),
        clock_rate,
        channels,
    })
}

fn parse_fmtp(v: &str) -> Option<Attribute> {
    let (pt, params) = match v.split_once(' ') {
        Some((pt, params)) => (pt, params.trim()),
        None => (v, ""),
    };
    let pt = pt.parse::<u8>().ok()?;
    Some(Attribute::Fmtp {
        pt,
        params: params.to_owned(),
    })
}
