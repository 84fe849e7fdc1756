//! SIP and SIPS URIs (RFC 3261 section 19.1), parsed on demand from header
//! text. Components are kept in their escaped wire form so that `Display`
//! reproduces what the peer sent; `user_unescaped()` decodes `%HH` for
//! callers that need the number or name itself (dial plan lookups).
//!
//! URIs of other schemes (`tel:`, `http:`, `isbn:`...) are accepted as
//! opaque: the text after the colon is stored in `host` and nothing else is
//! set, so they survive a parse/print round trip through From/To/Contact.

use std::fmt;
use std::net::IpAddr;

use crate::error::SipError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipUri {
    /// Lower-cased scheme: `sip`, `sips`, or an opaque one.
    pub scheme: String,
    /// User part, escaped as on the wire (may contain `;`, `?`, `/`...).
    pub user: Option<String>,
    pub password: Option<String>,
    /// Host name, IPv4 literal, or IPv6 reference *with* its brackets.
    /// For opaque schemes: everything after `scheme:`.
    pub host: String,
    pub port: Option<u16>,
    /// URI parameters in order; `None` value for flags like `lr`.
    pub params: Vec<(String, Option<String>)>,
    /// `?name=value&...` header components, escaped as on the wire.
    pub headers: Vec<(String, String)>,
}

fn bad(s: &str, why: &str) -> SipError {
    SipError::InvalidUri(format!("{why}: {s}"))
}

fn is_unreserved(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_.!~*'()".contains(c)
}

/// Checks every `%` starts a two-hex-digit escape and every other character is
/// unreserved or in `extra`.
fn valid_escaped(s: &str, extra: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i] as char;
        if c == '%' {
            if !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
            {
                return false;
            }
            i += 3;
            continue;
        }
        if !(is_unreserved(c) || extra.contains(c)) {
            return false;
        }
        i += 1;
    }
    true
}

pub(crate) fn valid_host(h: &str) -> bool {
    if let Some(inner) = h.strip_prefix('[') {
        return match inner.strip_suffix(']') {
            Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
            None => false,
        };
    }
    !h.is_empty()
        && h.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        && !h.starts_with('.')
        && !h.starts_with('-')
}

/// Splits `host[:port]` (IPv6 in brackets). Used for URIs and Via sent-by.
pub(crate) fn split_host_port(s: &str) -> Result<(String, Option<u16>), SipError> {
    let (host, port) = if s.starts_with('[') {
        let end = s
            .find(']')
            .ok_or_else(|| bad(s, "unterminated IPv6 reference"))?;
        let rest = &s[end + 1..];
        let port = match rest.strip_prefix(':') {
            Some(p) => Some(p),
            None if rest.is_empty() => None,
            None => return Err(bad(s, "junk after IPv6 reference")),
        };
        (&s[..=end], port)
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if !valid_host(host) {
        return Err(bad(s, "invalid host"));
    }
    let port = match port {
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().map_err(|_| bad(s, "port out of range"))?)
        }
        Some(_) => return Err(bad(s, "invalid port")),
        None => None,
    };
    Ok((host.to_string(), port))
}

impl SipUri {
    pub fn parse(s: &str) -> Result<SipUri, SipError> {
        if s.is_empty() {
            return Err(bad(s, "empty URI"));
        }
        if s.chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>\"".contains(c))
        {
            return Err(bad(s, "whitespace or delimiter inside URI"));
        }
        let (scheme, rest) = s.split_once(':').ok_or_else(|| bad(s, "no scheme"))?;
        let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        if !scheme_ok {
            return Err(bad(s, "invalid scheme"));
        }
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "sip" && scheme != "sips" {
            if rest.is_empty() {
                return Err(bad(s, "empty opaque URI"));
            }
            return Ok(SipUri {
                scheme,
                user: None,
                password: None,
                host: rest.to_string(),
                port: None,
                params: Vec::new(),
                headers: Vec::new(),
            });
        }

        // The user part may hold `;` `?` `/` but never an unescaped `@`, so
        // the first `@` ends it.
        let (user, password, hostpart) = match rest.find('@') {
            Some(at) => {
                let userinfo = &rest[..at];
                let (u, p) = match userinfo.split_once(':') {
                    Some((u, p)) => (u, Some(p)),
                    None => (userinfo, None),
                };
                if u.is_empty() || !valid_escaped(u, "&=+$,;?/") {
                    return Err(bad(s, "invalid user part"));
                }
                if let Some(p) = p {
                    if !valid_escaped(p, "&=+$,") {
                        return Err(bad(s, "invalid password"));
                    }
                }
                (Some(u.to_string()), p.map(str::to_string), &rest[at + 1..])
            }
            None => (None, None, rest),
        };

        let (before_headers, headers_part) = match hostpart.split_once('?') {
            Some((a, b)) => (a, Some(b)),
            None => (hostpart, None),
        };
        // IPv6 references contain ':' but never ';', so splitting on ';' is safe.
        let mut pieces = before_headers.split(';');
        let hostport = pieces.next().unwrap_or_default();
        let (host, port) = split_host_port(hostport)?;

        let mut params = Vec::new();
        for p in pieces {
            let (name, value) = match p.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (p, None),
            };
            if name.is_empty() || !valid_escaped(name, "[]/:&+$") {
                return Err(bad(s, "invalid URI parameter"));
            }
            if let Some(v) = value {
                if v.is_empty() || !valid_escaped(v, "[]/:&+$") {
                    return Err(bad(s, "invalid URI parameter value"));
                }
            }
            params.push((name.to_string(), value.map(str::to_string)));
        }

        let mut headers = Vec::new();
        if let Some(hp) = headers_part {
            for h in hp.split('&') {
                let (n, v) = h
                    .split_once('=')
                    .ok_or_else(|| bad(s, "URI header without '='"))?;
                if n.is_empty() || !valid_escaped(n, "[]/?:+$") || !valid_escaped(v, "[]/?:+$") {
                    return Err(bad(s, "invalid URI header"));
                }
                headers.push((n.to_string(), v.to_string()));
            }
        }

        Ok(SipUri {
            scheme,
            user,
            password,
            host,
            port,
            params,
            headers,
        })
    }

    /// A plain `sip:user@host[:port]` URI.
    pub fn new(user: Option<&str>, host: &str, port: Option<u16>) -> SipUri {
        SipUri {
            scheme: "sip".to_string(),
            user: user.map(str::to_string),
            password: None,
            host: host.to_string(),
            port,
            params: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// True for `sip:` and `sips:`; false for opaque schemes.
    pub fn is_sip(&self) -> bool {
        self.scheme == "sip" || self.scheme == "sips"
    }

    /// A URI parameter by case-insensitive name: `Some("")` for a flag such
    /// as `lr`, `None` when absent. Escaped names (`%6C%72`) match too, as
    /// RFC 3261 19.1.4 compares URI components unescaped.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| {
                n.eq_ignore_ascii_case(name)
                    || (n.contains('%') && unescape(n).eq_ignore_ascii_case(name))
            })
            .map(|(_, v)| v.as_deref().unwrap_or(""))
    }

    pub fn set_param(&mut self, name: &str, value: Option<&str>) {
        set_param(&mut self.params, name, value);
    }

    pub fn remove_param(&mut self, name: &str) {
        self.params.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// The user part with `%HH` escapes decoded (invalid UTF-8 replaced).
    pub fn user_unescaped(&self) -> Option<String> {
        self.user.as_deref().map(unescape)
    }

    /// The host as an IP address when it is a literal (brackets stripped).
    pub fn host_ip(&self) -> Option<IpAddr> {
        host_ip(&self.host)
    }

    /// The `transport` parameter, lower-cased.
    pub fn transport(&self) -> Option<String> {
        self.param("transport").map(str::to_ascii_lowercase)
    }
}

pub(crate) fn host_ip(host: &str) -> Option<IpAddr> {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

pub(crate) fn find_param<'a>(
    params: &'a [(String, Option<String>)],
    name: &str,
) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_deref().unwrap_or(""))
}

pub(crate) fn set_param(
    params: &mut Vec<(String, Option<String>)>,
    name: &str,
    value: Option<&str>,
) {
    let value = value.map(str::to_string);
    match params
        .iter_mut()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
    {
        Some(p) => p.1 = value,
        None => params.push((name.to_string(), value)),
    }
}

pub(crate) fn write_params(
    f: &mut fmt::Formatter<'_>,
    params: &[(String, Option<String>)],
) -> fmt::Result {
    for (n, v) in params {
        match v {
            Some(v) => write!(f, ";{n}={v}")?,
            None => write!(f, ";{n}")?,
        }
    }
    Ok(())
}

/// Decodes `%HH` escapes; malformed escapes are kept literally.
pub fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl fmt::Display for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.scheme)?;
        if !self.is_sip() {
            return f.write_str(&self.host);
        }
        if let Some(u) = &self.user {
            f.write_str(u)?;
            if let Some(p) = &self.password {
                write!(f, ":{p}")?;
            }
            f.write_str("@")?;
        }
        f.write_str(&self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write_params(f, &self.params)?;
        for (i, (n, v)) in self.headers.iter().enumerate() {
            let sep = if i == 0 { '?' } else { '&' };
            write!(f, "{sep}{n}={v}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for SipUri {
    type Err = SipError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SipUri::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_full_uri() {
        let u = SipUri::parse("sips:alice:pw@example.com:5061;transport=tcp;lr?subject=hi&x=y")
            .expect("valid");
        assert_eq!(u.scheme, "sips");
        assert_eq!(u.user.as_deref(), Some("alice"));
        assert_eq!(u.password.as_deref(), Some("pw"));
        assert_eq!(u.host, "example.com");
        assert_eq!(u.port, Some(5061));
        assert_eq!(u.param("transport"), Some("tcp"));
        assert_eq!(u.param("LR"), Some(""));
        assert_eq!(u.param("maddr"), None);
        assert_eq!(u.headers.len(), 2);
        assert_eq!(
            u.to_string(),
            "sips:alice:pw@example.com:5061;transport=tcp;lr?subject=hi&x=y"
        );
    }

    #[test]
    fn user_with_semicolon_and_escapes() {
        let u = SipUri::parse("sip:user;par=u%40example.net@example.com").expect("valid");
        assert_eq!(u.user.as_deref(), Some("user;par=u%40example.net"));
        assert_eq!(
            u.user_unescaped().as_deref(),
            Some("user;par=u@example.net")
        );
        assert_eq!(u.host, "example.com");
        assert!(u.params.is_empty());
    }

    #[test]
    fn ipv6_host_and_port() {
        let u = SipUri::parse("sip:[2001:db8::10]:5070;maddr=[2001:db8::1]").expect("valid");
        assert_eq!(u.host, "[2001:db8::10]");
        assert_eq!(u.port, Some(5070));
        assert_eq!(u.host_ip(), "2001:db8::10".parse().ok());
        assert_eq!(u.param("maddr"), Some("[2001:db8::1]"));
        assert!(SipUri::parse("sip:[2001:db8::10").is_err());
        assert!(SipUri::parse("sip:[not-v6]").is_err());
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "",
            "sip:",
            "sip:user@",
            "sip:a b@example.com",
            "sip:host:99999",
            "sip:host:",
            "sip:host;;lr",
            "sip:%zz@host",
            "sip:user@host?novalue",
            "<sip:x@y>",
            "1sip:x",
        ] {
            assert!(SipUri::parse(s).is_err(), "{s:?} should be rejected");
        }
    }

    #[test]
    fn opaque_schemes_round_trip() {
        for s in [
            "tel:+15551234567",
            "isbn:2983792873",
            "http://www.example.com",
        ] {
            let u = SipUri::parse(s).expect("opaque ok");
            assert!(!u.is_sip());
            assert_eq!(u.to_string(), s);
        }
    }
}
