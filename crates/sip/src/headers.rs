//! Typed views of the headers the switch reasons about (Via, From/To/Contact/
//! Route, CSeq, ...), parsed on demand from the stored header text, plus the
//! accessors on `Request`/`Response`/`Message` and the builders that create
//! responses, branches, tags and Call-IDs.
//!
//! The grammar is RFC 3261 section 25 with its LWS rules: whitespace is
//! tolerated around `/`, `;`, `=` and `,`, which is what the RFC 4475
//! "wsinv" message exercises.

use std::fmt;

use rand::RngCore;

use crate::error::SipError;
use crate::message::{Headers, Message, Method, Request, Response};
use crate::uri::{find_param, set_param, split_host_port, write_params, SipUri};

/// A header or URI parameter list: `(name, value)`, `None` for flags.
pub type Params = Vec<(String, Option<String>)>;

pub(crate) fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c)
}

pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_token_char)
}

/// Splits `s` on `sep` where it is not inside a quoted string or `<...>`.
/// Fails on an unterminated quoted string or angle bracket.
pub(crate) fn split_top_level(s: &str, sep: char) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_quote = false;
    let mut in_angle = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if in_quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_quote = false;
            }
            continue;
        }
        match c {
            '"' => in_quote = true,
            '<' if !in_angle => in_angle = true,
            '>' if in_angle => in_angle = false,
            c if c == sep && !in_angle => {
                out.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    if in_quote {
        return Err("unterminated quoted string".into());
    }
    if in_angle {
        return Err("unterminated '<'".into());
    }
    out.push(&s[start..]);
    Ok(out)
}

/// Parses a quoted string at the start of `s` (which begins with `"`),
/// returning the unescaped content and the remainder after the closing quote.
fn parse_quoted(s: &str) -> Result<(String, &str), String> {
    let mut out = String::new();
    let mut chars = s.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                // quoted-pair excludes CR and LF (RFC 3261 25.1).
                Some((_, '\r')) | Some((_, '\n')) | None => {
                    return Err("bad escape in quoted string".into())
                }
                Some((_, e)) => out.push(e),
            },
            '"' => return Ok((out, &s[i + 1..])),
            _ => out.push(c),
        }
    }
    Err("unterminated quoted string".into())
}

fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Parses `;name[=value];...` (text starting at the first `;`, or empty).
/// Whitespace around names, `=` and values is dropped; quoted values keep
/// their quotes so they print back unchanged.
pub(crate) fn parse_params(s: &str) -> Result<Params, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(Vec::new());
    }
    let s = s
        .strip_prefix(';')
        .ok_or_else(|| format!("expected ';' before parameters, found {s:?}"))?;
    let mut out = Vec::new();
    for p in split_top_level(s, ';')? {
        let (name, value) = match p.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim())),
            None => (p.trim(), None),
        };
        if !is_token(name) {
            return Err(format!("invalid parameter name {name:?}"));
        }
        if let Some(v) = value {
            let ok = if v.starts_with('"') {
                matches!(parse_quoted(v), Ok((_, rest)) if rest.is_empty())
            } else {
                // token, host, or IPv6 reference
                !v.is_empty() && v.chars().all(|c| is_token_char(c) || "[]:".contains(c))
            };
            if !ok {
                return Err(format!("invalid value for parameter {name:?}"));
            }
        }
        out.push((name.to_string(), value.map(str::to_string)));
    }
    Ok(out)
}

// ---------------------------------------------------------------- Via

/// One Via entry (RFC 3261 20.42), always `SIP/2.0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// Upper-cased transport: `UDP`, `TCP`, `TLS`, `SCTP`, `WS`...
    pub transport: String,
    /// sent-by host; IPv6 keeps its brackets.
    pub host: String,
    pub port: Option<u16>,
    pub params: Params,
}

impl Via {
    pub fn new(transport: &str, host: &str, port: Option<u16>, branch: &str) -> Via {
        Via {
            transport: transport.to_ascii_uppercase(),
            host: host.to_string(),
            port,
            params: vec![("branch".to_string(), Some(branch.to_string()))],
        }
    }

    /// Parses a single via-parm (one element of a comma-separated Via value).
    pub fn parse(s: &str) -> Result<Via, SipError> {
        let err = |r: &str| SipError::header("Via", format!("{r}: {s:?}"));
        let mut parts = s.splitn(3, '/');
        let name = parts.next().unwrap_or_default().trim();
        let version = parts
            .next()
            .ok_or_else(|| err("missing protocol version"))?
            .trim();
        let rest = parts
            .next()
            .ok_or_else(|| err("missing transport"))?
            .trim_start();
        if !name.eq_ignore_ascii_case("SIP") || version != "2.0" {
            return Err(err("protocol is not SIP/2.0"));
        }
        let ws = rest
            .find(char::is_whitespace)
            .ok_or_else(|| err("missing sent-by"))?;
        let transport = &rest[..ws];
        if !is_token(transport) {
            return Err(err("invalid transport"));
        }
        let rest = rest[ws..].trim_start();
        let (sent_by, params) = match rest.find(';') {
            Some(i) => (rest[..i].trim(), &rest[i..]),
            None => (rest.trim(), ""),
        };
        let (host, port) = split_host_port(sent_by).map_err(|_| err("invalid sent-by"))?;
        let params = parse_params(params).map_err(|e| err(&e))?;
        Ok(Via {
            transport: transport.to_ascii_uppercase(),
            host,
            port,
            params,
        })
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        find_param(&self.params, name)
    }

    pub fn set_param(&mut self, name: &str, value: Option<&str>) {
        set_param(&mut self.params, name, value);
    }

    pub fn branch(&self) -> Option<&str> {
        self.param("branch")
    }

    /// True when the branch carries the RFC 3261 magic cookie.
    pub fn has_rfc3261_branch(&self) -> bool {
        self.branch()
            .is_some_and(|b| b.starts_with(BRANCH_MAGIC) && b.len() > BRANCH_MAGIC.len())
    }

    pub fn received(&self) -> Option<&str> {
        self.param("received")
    }

    /// RFC 3581: `None` absent, `Some(None)` requested (`;rport`),
    /// `Some(Some(p))` filled in.
    pub fn rport(&self) -> Option<Option<u16>> {
        self.param("rport").map(|v| v.parse().ok())
    }

    pub fn set_branch(&mut self, branch: &str) {
        self.set_param("branch", Some(branch));
    }

    pub fn set_received(&mut self, addr: &str) {
        self.set_param("received", Some(addr));
    }

    pub fn set_rport(&mut self, port: u16) {
        self.set_param("rport", Some(&port.to_string()));
    }

    /// `host:port` of sent-by (default port 5060 when absent).
    pub fn sent_by_port(&self) -> u16 {
        self.port.unwrap_or(5060)
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0/{} {}", self.transport, self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write_params(f, &self.params)
    }
}

// ---------------------------------------------------------------- NameAddr

/// From, To, Contact, Route, Record-Route value: optional display name, URI,
/// header parameters (`tag`, `expires`, `q`...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    /// Display name, unquoted and unescaped.
    pub display: Option<String>,
    pub uri: SipUri,
    pub params: Params,
}

impl NameAddr {
    pub fn new(uri: SipUri) -> NameAddr {
        NameAddr {
            display: None,
            uri,
            params: Vec::new(),
        }
    }

    /// Parses one name-addr or addr-spec with its header parameters.
    pub fn parse(s: &str) -> Result<NameAddr, SipError> {
        Self::parse_for("address", s)
    }

    fn parse_for(header: &str, s: &str) -> Result<NameAddr, SipError> {
        let err = |r: String| SipError::header(header, r);
        let s = s.trim();
        let (display, uri_text, after) = if s.starts_with('"') {
            let (d, rest) = parse_quoted(s).map_err(err)?;
            let rest = rest.trim_start();
            let inner = rest
                .strip_prefix('<')
                .ok_or_else(|| err("quoted display name not followed by '<'".into()))?;
            let end = inner
                .find('>')
                .ok_or_else(|| err("unterminated '<'".into()))?;
            (Some(d), &inner[..end], &inner[end + 1..])
        } else if let Some(lt) = s.find('<') {
            let d = s[..lt].trim();
            // An unquoted display name is a sequence of tokens (RFC 3261 25.1).
            if !d.split_whitespace().all(is_token) {
                return Err(err(format!("display name {d:?} must be quoted")));
            }
            let inner = &s[lt + 1..];
            let end = inner
                .find('>')
                .ok_or_else(|| err("unterminated '<'".into()))?;
            let d = (!d.is_empty()).then(|| d.split_whitespace().collect::<Vec<_>>().join(" "));
            (d, &inner[..end], &inner[end + 1..])
        } else {
            // addr-spec: the URI ends at the first ';' or whitespace, and may
            // not contain ',' '?' or ';' (those need the <> form).
            let end = s
                .find(|c: char| c == ';' || c.is_whitespace())
                .unwrap_or(s.len());
            let u = &s[..end];
            if u.contains('?') || u.contains(',') {
                return Err(err(format!(
                    "URI {u:?} with '?' or ',' must be enclosed in <>"
                )));
            }
            (None, u, &s[end..])
        };
        let uri = SipUri::parse(uri_text).map_err(|e| err(e.to_string()))?;
        let params = parse_params(after).map_err(err)?;
        Ok(NameAddr {
            display,
            uri,
            params,
        })
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        find_param(&self.params, name)
    }

    pub fn set_param(&mut self, name: &str, value: Option<&str>) {
        set_param(&mut self.params, name, value);
    }

    pub fn tag(&self) -> Option<&str> {
        self.param("tag")
    }

    pub fn set_tag(&mut self, tag: &str) {
        self.set_param("tag", Some(tag));
    }

    /// Contact `expires` parameter.
    pub fn expires(&self) -> Option<u32> {
        self.param("expires").map(parse_delta_seconds)
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display {
            write!(f, "{} ", quote(d))?;
        }
        write!(f, "<{}>", self.uri)?;
        write_params(f, &self.params)
    }
}

/// Parses a comma-separated list of name-addrs (Contact, Route, Record-Route).
/// A lone `*` is not a name-addr: use `Headers::contacts` for Contact.
pub fn parse_name_addr_list(s: &str) -> Result<Vec<NameAddr>, SipError> {
    parse_list_for("address", s)
}

fn parse_list_for(header: &str, s: &str) -> Result<Vec<NameAddr>, SipError> {
    split_top_level(s, ',')
        .map_err(|e| SipError::header(header, e))?
        .into_iter()
        .map(|one| NameAddr::parse_for(header, one))
        .collect()
}

/// Contact header contents: `*` (remove all bindings) or addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contacts {
    Wildcard,
    Addrs(Vec<NameAddr>),
}

// ---------------------------------------------------------------- CSeq

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    pub seq: u32,
    pub method: Method,
}

impl CSeq {
    pub fn new(seq: u32, method: Method) -> CSeq {
        CSeq { seq, method }
    }

    pub fn parse(s: &str) -> Result<CSeq, SipError> {
        let err = |r: &str| SipError::header("CSeq", format!("{r}: {s:?}"));
        let mut it = s.split_whitespace();
        let seq = it.next().ok_or_else(|| err("empty"))?;
        let method = it.next().ok_or_else(|| err("missing method"))?;
        if it.next().is_some() {
            return Err(err("trailing text"));
        }
        if !seq.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err("sequence number is not a number"));
        }
        // RFC 3261 8.1.1.5: the sequence number must fit 32 bits.
        let seq = seq
            .parse::<u32>()
            .map_err(|_| err("sequence number too large"))?;
        if !is_token(method) {
            return Err(err("invalid method"));
        }
        Ok(CSeq {
            seq,
            method: Method::from_token(method),
        })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

/// delta-seconds saturating at 2^32-1 as RFC 3261 asks for Expires; a
/// malformed value counts as 3600 (RFC 3261 10.2.1.1 default).
fn parse_delta_seconds(s: &str) -> u32 {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return 3600;
    }
    s.parse::<u32>().unwrap_or(u32::MAX)
}

// ---------------------------------------------------------------- accessors

impl Headers {
    fn required(&self, name: &str) -> Result<&str, SipError> {
        self.get(name)
            .ok_or_else(|| SipError::MissingHeader(name.to_string()))
    }

    /// The first Via entry (the first element of the first Via line).
    pub fn top_via(&self) -> Result<Via, SipError> {
        let v = self.required("Via")?;
        let first = split_top_level(v, ',')
            .map_err(|e| SipError::header("Via", e))?
            .into_iter()
            .next()
            .unwrap_or_default();
        Via::parse(first)
    }

    /// Every Via entry in order (lines and comma-separated elements).
    pub fn vias(&self) -> Result<Vec<Via>, SipError> {
        let mut out = Vec::new();
        for line in self.get_all("Via") {
            for v in split_top_level(line, ',').map_err(|e| SipError::header("Via", e))? {
                out.push(Via::parse(v)?);
            }
        }
        Ok(out)
    }

    /// Replaces the first Via entry (e.g. after adding `received`/`rport`),
    /// keeping any further entries that share its line.
    pub fn replace_top_via(&mut self, via: &Via) -> Result<(), SipError> {
        let line = self
            .0
            .iter_mut()
            .find(|h| h.name.eq_ignore_ascii_case("Via"))
            .ok_or_else(|| SipError::MissingHeader("Via".into()))?;
        let rest: Vec<String> = split_top_level(&line.value, ',')
            .map_err(|e| SipError::header("Via", e))?
            .into_iter()
            .skip(1)
            .map(|s| s.trim().to_string())
            .collect();
        line.value = std::iter::once(via.to_string())
            .chain(rest)
            .collect::<Vec<_>>()
            .join(", ");
        Ok(())
    }

    /// Removes the first Via entry (a response travelling upstream).
    pub fn pop_top_via(&mut self) -> Result<Via, SipError> {
        let top = self.top_via()?;
        let i = self
            .0
            .iter()
            .position(|h| h.name.eq_ignore_ascii_case("Via"))
            .ok_or_else(|| SipError::MissingHeader("Via".into()))?;
        let rest: Vec<String> = split_top_level(&self.0[i].value, ',')
            .map_err(|e| SipError::header("Via", e))?
            .into_iter()
            .skip(1)
            .map(|s| s.trim().to_string())
            .collect();
        if rest.is_empty() {
            self.0.remove(i);
        } else {
            self.0[i].value = rest.join(", ");
        }
        Ok(top)
    }

    pub fn call_id(&self) -> Result<&str, SipError> {
        let v = self.required("Call-ID")?.trim();
        if v.is_empty() {
            return Err(SipError::header("Call-ID", "empty"));
        }
        Ok(v)
    }

    pub fn cseq(&self) -> Result<CSeq, SipError> {
        CSeq::parse(self.required("CSeq")?)
    }

    pub fn from(&self) -> Result<NameAddr, SipError> {
        NameAddr::parse_for("From", self.required("From")?)
    }

    pub fn to(&self) -> Result<NameAddr, SipError> {
        NameAddr::parse_for("To", self.required("To")?)
    }

    /// All Contact values; `Contacts::Wildcard` for `Contact: *`.
    pub fn contacts(&self) -> Result<Contacts, SipError> {
        let mut addrs = Vec::new();
        let mut star = false;
        for line in self.get_all("Contact") {
            if line.trim() == "*" {
                star = true;
            } else {
                addrs.extend(parse_list_for("Contact", line)?);
            }
        }
        match (star, addrs.is_empty()) {
            (true, true) => Ok(Contacts::Wildcard),
            (true, false) => Err(SipError::header("Contact", "'*' mixed with addresses")),
            (false, _) => Ok(Contacts::Addrs(addrs)),
        }
    }

    /// The first Contact address (INVITE, 2xx: the remote target).
    pub fn contact(&self) -> Result<Option<NameAddr>, SipError> {
        match self.contacts()? {
            Contacts::Wildcard => Err(SipError::header(
                "Contact",
                "'*' where an address is needed",
            )),
            Contacts::Addrs(a) => Ok(a.into_iter().next()),
        }
    }

    pub fn routes(&self) -> Result<Vec<NameAddr>, SipError> {
        self.name_addr_lines("Route")
    }

    pub fn record_routes(&self) -> Result<Vec<NameAddr>, SipError> {
        self.name_addr_lines("Record-Route")
    }

    fn name_addr_lines(&self, name: &str) -> Result<Vec<NameAddr>, SipError> {
        let mut out = Vec::new();
        for line in self.get_all(name) {
            out.extend(parse_list_for(name, line)?);
        }
        Ok(out)
    }

    /// Expires header in seconds (saturating; malformed counts as 3600).
    pub fn expires(&self) -> Option<u32> {
        self.get("Expires").map(parse_delta_seconds)
    }

    /// Max-Forwards (0..=255); an error when present but malformed.
    pub fn max_forwards(&self) -> Result<Option<u8>, SipError> {
        match self.get("Max-Forwards") {
            None => Ok(None),
            Some(v) => {
                let v = v.trim();
                if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(SipError::header("Max-Forwards", "not a number"));
                }
                v.parse::<u8>()
                    .map(Some)
                    .map_err(|_| SipError::header("Max-Forwards", "larger than 255"))
            }
        }
    }

    /// Content-Type media type, trimmed, parameters included.
    pub fn content_type(&self) -> Option<&str> {
        self.get("Content-Type").map(str::trim)
    }

    /// Content-Length when present; an error when malformed.
    pub fn content_length(&self) -> Result<Option<usize>, SipError> {
        match self.get("Content-Length") {
            None => Ok(None),
            Some(v) => {
                let v = v.trim();
                if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(SipError::header("Content-Length", "not a number"));
                }
                v.parse::<usize>()
                    .map(Some)
                    .map_err(|_| SipError::header("Content-Length", "too large"))
            }
        }
    }
}

/// The same accessors directly on `Request`, `Response` and `Message`.
macro_rules! forward_accessors {
    ($t:ty, $h:ident) => {
        impl $t {
            pub fn top_via(&self) -> Result<Via, SipError> {
                self.$h().top_via()
            }
            pub fn vias(&self) -> Result<Vec<Via>, SipError> {
                self.$h().vias()
            }
            pub fn call_id(&self) -> Result<&str, SipError> {
                self.$h().call_id()
            }
            pub fn cseq(&self) -> Result<CSeq, SipError> {
                self.$h().cseq()
            }
            pub fn from(&self) -> Result<NameAddr, SipError> {
                self.$h().from()
            }
            pub fn to(&self) -> Result<NameAddr, SipError> {
                self.$h().to()
            }
            pub fn contacts(&self) -> Result<Contacts, SipError> {
                self.$h().contacts()
            }
            pub fn contact(&self) -> Result<Option<NameAddr>, SipError> {
                self.$h().contact()
            }
            pub fn routes(&self) -> Result<Vec<NameAddr>, SipError> {
                self.$h().routes()
            }
            pub fn record_routes(&self) -> Result<Vec<NameAddr>, SipError> {
                self.$h().record_routes()
            }
            pub fn expires(&self) -> Option<u32> {
                self.$h().expires()
            }
            pub fn max_forwards(&self) -> Result<Option<u8>, SipError> {
                self.$h().max_forwards()
            }
            pub fn content_type(&self) -> Option<&str> {
                self.$h().content_type()
            }
        }
    };
}

impl Request {
    fn hdrs(&self) -> &Headers {
        &self.headers
    }

    /// The Request-URI parsed (opaque for non-SIP schemes: check `is_sip()`).
    pub fn request_uri(&self) -> Result<SipUri, SipError> {
        SipUri::parse(&self.uri)
    }
}

impl Response {
    fn hdrs(&self) -> &Headers {
        &self.headers
    }
}

forward_accessors!(Request, hdrs);
forward_accessors!(Response, hdrs);
forward_accessors!(Message, headers);

// ---------------------------------------------------------------- builders

/// RFC 3261 magic cookie that starts every branch we generate.
pub const BRANCH_MAGIC: &str = "z9hG4bK";

fn random_token(rng: &mut impl RngCore, len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..len)
        .map(|_| ALPHABET[(rng.next_u32() % ALPHABET.len() as u32) as usize] as char)
        .collect()
}

/// A new Via branch: `z9hG4bK` + 22 random characters (~113 bits).
pub fn new_branch(rng: &mut impl RngCore) -> String {
    format!("{BRANCH_MAGIC}{}", random_token(rng, 22))
}

/// A new From/To tag (16 random characters).
pub fn new_tag(rng: &mut impl RngCore) -> String {
    random_token(rng, 16)
}

/// A new Call-ID: 24 random characters, `@host` appended when given.
pub fn new_call_id(rng: &mut impl RngCore, host: Option<&str>) -> String {
    let id = random_token(rng, 24);
    match host {
        Some(h) => format!("{id}@{h}"),
        None => id,
    }
}

impl Response {
    /// A response to `req` per RFC 3261 8.2.6: same Via lines in order,
    /// From, To, Call-ID and CSeq copied as text; the reason phrase is the
    /// standard one. 100 Trying also copies Timestamp (8.2.6.1).
    pub fn for_request(req: &Request, status: u16) -> Response {
        let mut r = Response::new(status, Response::default_reason(status));
        for h in req.headers.iter() {
            let copy = matches!(h.name.as_str(), "Via" | "From" | "To" | "Call-ID" | "CSeq")
                || (status == 100 && h.name == "Timestamp");
            if copy {
                r.headers.push(h.name.clone(), h.value.clone());
            }
        }
        r
    }

    /// Adds `;tag=` to To unless it already has one (the UAS's dialog tag).
    pub fn with_to_tag(mut self, tag: &str) -> Response {
        if let Some(to) = self.headers.0.iter_mut().find(|h| h.name == "To") {
            let has_tag = NameAddr::parse(&to.value)
                .map(|n| n.tag().is_some())
                .unwrap_or(false);
            if !has_tag {
                to.value = format!("{};tag={tag}", to.value.trim_end());
            }
        }
        self
    }

    /// Replaces the reason phrase.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Response {
        self.reason = reason.into();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn via_with_lws_and_params() {
        let v = Via::parse("SIP  /    2.0   / UDP  192.168.255.111   ; branch= z9hG4bK30239")
            .expect("valid");
        assert_eq!(v.transport, "UDP");
        assert_eq!(v.host, "192.168.255.111");
        assert_eq!(v.port, None);
        assert_eq!(v.branch(), Some("z9hG4bK30239"));
        assert_eq!(
            v.to_string(),
            "SIP/2.0/UDP 192.168.255.111;branch=z9hG4bK30239"
        );
    }

    #[test]
    fn via_rport_received() {
        let mut v = Via::parse("SIP/2.0/UDP [2001:db8::1]:5070;rport;branch=z9hG4bKx").expect("ok");
        assert_eq!(v.host, "[2001:db8::1]");
        assert_eq!(v.port, Some(5070));
        assert_eq!(v.rport(), Some(None));
        assert_eq!(v.received(), None);
        v.set_received("192.0.2.7");
        v.set_rport(40000);
        assert_eq!(v.rport(), Some(Some(40000)));
        assert_eq!(
            v.to_string(),
            "SIP/2.0/UDP [2001:db8::1]:5070;rport=40000;branch=z9hG4bKx;received=192.0.2.7"
        );
        assert!(v.has_rfc3261_branch());
        let plain = Via::parse("SIP/2.0/TCP h.example.com").expect("ok");
        assert_eq!(plain.rport(), None);
        assert!(!plain.has_rfc3261_branch());
    }

    #[test]
    fn via_rejects_bad() {
        for s in [
            "SIP/7.0/UDP host",
            "SIP/2.0/UDP",
            "SIP/2.0/UDP host;;",
            "SIP/2.0/UDP host:abc",
            "SIP/2.0 host",
            "",
        ] {
            assert!(Via::parse(s).is_err(), "{s:?}");
        }
    }

    #[test]
    fn name_addr_forms() {
        let n = NameAddr::parse(r#""J Rosenberg \\\""  <sip:jdrosen@example.com> ; tag = 98asjd8"#)
            .expect("ok");
        assert_eq!(n.display.as_deref(), Some(r#"J Rosenberg \""#));
        assert_eq!(n.tag(), Some("98asjd8"));
        assert_eq!(
            n.to_string(),
            r#""J Rosenberg \\\"" <sip:jdrosen@example.com>;tag=98asjd8"#
        );

        let n =
            NameAddr::parse("sip:vivekg@chair.example.com ;   tag    = 1918181833n").expect("ok");
        assert_eq!(n.display, None);
        assert_eq!(n.uri.host, "chair.example.com");
        assert_eq!(n.tag(), Some("1918181833n"));

        let n = NameAddr::parse("caller<sip:caller@example.com>;tag=323").expect("ok");
        assert_eq!(n.display.as_deref(), Some("caller"));

        let n = NameAddr::parse("sip:+1972@gw1.example.net;unknownparam").expect("ok");
        assert_eq!(n.param("unknownparam"), Some(""));
        assert!(n.uri.params.is_empty());
        let n = NameAddr::parse("<sip:+1972@gw1.example.net;unknownparam>").expect("ok");
        assert!(n.params.is_empty());
        assert_eq!(n.uri.param("unknownparam"), Some(""));
    }

    #[test]
    fn name_addr_rejects() {
        for s in [
            r#""Mr. J. User <sip:j.user@example.com>"#,
            "Bell, Alexander <sip:a.g.bell@example.com>;tag=43",
            r#""Watson, Thomas" < sip:t.watson@example.org >"#,
            "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
            "<sip:a@b> junk",
            "<sip:a@b>;;",
        ] {
            assert!(NameAddr::parse(s).is_err(), "{s:?}");
        }
    }

    #[test]
    fn contact_lists_and_star() {
        let mut h = Headers::new();
        h.push(
            "Contact",
            "<sip:a@h1>;expires=30, \"B, b\" <sip:b@h2>;q=0.5",
        );
        h.push("Contact", "sip:c@h3");
        match h.contacts().expect("ok") {
            Contacts::Addrs(a) => {
                assert_eq!(a.len(), 3);
                assert_eq!(a[0].expires(), Some(30));
                assert_eq!(a[1].display.as_deref(), Some("B, b"));
                assert_eq!(a[2].uri.user.as_deref(), Some("c"));
            }
            other => panic!("unexpected {other:?}"),
        }
        let mut h = Headers::new();
        h.push("Contact", " * ");
        assert_eq!(h.contacts().expect("ok"), Contacts::Wildcard);
        h.push("Contact", "<sip:a@b>");
        assert!(h.contacts().is_err());
    }

    #[test]
    fn cseq_parse() {
        let c = CSeq::parse("0009\t INVITE").expect("ok");
        assert_eq!(c, CSeq::new(9, Method::Invite));
        assert_eq!(c.to_string(), "9 INVITE");
        assert!(CSeq::parse("36893488147419103232 REGISTER").is_err());
        assert!(CSeq::parse("-1 INVITE").is_err());
        assert!(CSeq::parse("1").is_err());
        assert!(CSeq::parse("1 INVITE x").is_err());
    }

    #[test]
    fn response_for_request_copies_headers() {
        let mut req = Request::new(Method::Invite, "sip:bob@example.com");
        req.headers
            .push("Via", "SIP/2.0/UDP a.example.com;branch=z9hG4bK1");
        req.headers
            .push("Via", "SIP/2.0/UDP b.example.com;branch=z9hG4bK2");
        req.headers.push("Max-Forwards", "70");
        req.headers.push("From", "<sip:alice@example.com>;tag=1");
        req.headers.push("To", "<sip:bob@example.com>");
        req.headers.push("Call-ID", "abc");
        req.headers.push("CSeq", "1 INVITE");
        req.headers.push("Contact", "<sip:alice@10.0.0.1>");
        let r = Response::for_request(&req, 180).with_to_tag("xyz");
        assert_eq!(r.status, 180);
        assert_eq!(r.reason, "Ringing");
        assert_eq!(r.vias().expect("vias").len(), 2);
        assert_eq!(r.to().expect("to").tag(), Some("xyz"));
        assert_eq!(r.from().expect("from").tag(), Some("1"));
        assert_eq!(r.call_id().expect("cid"), "abc");
        assert_eq!(r.cseq().expect("cseq"), CSeq::new(1, Method::Invite));
        assert!(r.headers.get("Contact").is_none());
        assert!(r.headers.get("Max-Forwards").is_none());
        // An existing tag is kept.
        let r2 = r.with_to_tag("other");
        assert_eq!(r2.to().expect("to").tag(), Some("xyz"));
    }

    #[test]
    fn generated_identifiers() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let b1 = new_branch(&mut rng);
        let b2 = new_branch(&mut rng);
        assert!(b1.starts_with("z9hG4bK") && b1.len() == 29);
        assert_ne!(b1, b2);
        assert_eq!(new_tag(&mut rng).len(), 16);
        assert!(new_call_id(&mut rng, Some("h.example")).ends_with("@h.example"));
    }

    #[test]
    fn replace_and_pop_top_via() {
        let mut h = Headers::new();
        h.push(
            "Via",
            "SIP/2.0/UDP a;branch=z9hG4bK1;rport, SIP/2.0/UDP b;branch=z9hG4bK2",
        );
        h.push("Via", "SIP/2.0/TCP c;branch=z9hG4bK3");
        let mut top = h.top_via().expect("top");
        top.set_received("192.0.2.1");
        top.set_rport(5062);
        h.replace_top_via(&top).expect("replace");
        assert_eq!(
            h.get("Via"),
            Some("SIP/2.0/UDP a;branch=z9hG4bK1;rport=5062;received=192.0.2.1, SIP/2.0/UDP b;branch=z9hG4bK2")
        );
        assert_eq!(h.pop_top_via().expect("pop").host, "a");
        assert_eq!(h.pop_top_via().expect("pop").host, "b");
        assert_eq!(h.vias().expect("vias").len(), 1);
        assert_eq!(h.pop_top_via().expect("pop").host, "c");
        assert!(h.pop_top_via().is_err());
        assert!(h.replace_top_via(&top).is_err());
    }

    #[test]
    fn numeric_headers() {
        let mut h = Headers::new();
        h.push("Max-Forwards", "0068");
        h.push("Expires", "10000000000000000000000");
        h.push("Content-Length", "12");
        assert_eq!(h.max_forwards().expect("ok"), Some(68));
        assert_eq!(h.expires(), Some(u32::MAX));
        assert_eq!(h.content_length().expect("ok"), Some(12));
        h.set("Max-Forwards", "300");
        assert!(h.max_forwards().is_err());
        h.set("Content-Length", "-999");
        assert!(h.content_length().is_err());
    }
}
