//! Parsing one SIP message from bytes (a UDP datagram, or one message cut
//! out of a TCP stream by `framing.rs`).
//!
//! The parser decides what the switch accepts, so it is strict where RFC
//! 3261 and RFC 4475 say a message is broken (start-line spacing, scalar
//! overflow, unbalanced quotes, Content-Length beyond the datagram, CSeq
//! method mismatch, duplicated single-valued headers) and tolerant where the
//! grammar allows latitude (LWS and folding everywhere, compact and any-case
//! header names, unknown methods and schemes, escaped characters).
//!
//! A failure keeps the raw Via/From/To/Call-ID/CSeq text it saw so the
//! caller can still answer with a 400 (or 505/513) carrying the fault in
//! its reason phrase, as RFC 3261 8.2 and the design card require.

use thiserror::Error;

use crate::headers::{is_token, split_top_level};
use crate::message::{Header, Headers, Message, Method, Request, Response};
use crate::uri::SipUri;

/// Largest message the switch accepts (datagram or stream), 64 KiB.
pub const MAX_MESSAGE_SIZE: usize = 64 * 1024;

/// Why a message was rejected, and what is needed to tell the sender.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{status} {reason}")]
pub struct ParseError {
    /// Status to answer with: 400, 505 (version) or 513 (too large).
    pub status: u16,
    /// Reason phrase naming the fault, e.g. "Bad Request - Content-Length exceeds body".
    pub reason: String,
    /// The request method when the start line was a readable request line;
    /// `None` for responses and unreadable start lines (never answered).
    pub method: Option<Method>,
    /// Header text read before the failure (boxed: errors stay small).
    pub raw: Box<RawHeaders>,
}

/// The headers a 400 must echo, as raw text, as far as they could be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawHeaders {
    /// Via values in order.
    pub via: Vec<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub call_id: Option<String>,
    pub cseq: Option<String>,
}

impl ParseError {
    fn new(status: u16, reason: String) -> ParseError {
        ParseError {
            status,
            reason,
            method: None,
            raw: Box::default(),
        }
    }

    /// The response to send back, when one is possible: the message was a
    /// request other than ACK and at least one Via was read (the address to
    /// answer). Responses and unreadable garbage get `None`: drop them.
    pub fn bad_request_response(&self) -> Option<Response> {
        let method = self.method.as_ref()?;
        let raw = &self.raw;
        if *method == Method::Ack || raw.via.is_empty() {
            return None;
        }
        let mut r = Response::new(self.status, self.reason.clone());
        for v in &raw.via {
            r.headers.push("Via", v.clone());
        }
        let singles = [
            ("From", &raw.from),
            ("To", &raw.to),
            ("Call-ID", &raw.call_id),
            ("CSeq", &raw.cseq),
        ];
        for (name, value) in singles {
            if let Some(v) = value {
                r.headers.push(name, v.clone());
            }
        }
        Some(r)
    }
}

fn bad(why: &str) -> ParseError {
    ParseError::new(400, format!("Bad Request - {why}"))
}

/// Expands compact forms and normalises the case of known header names.
/// Unknown names are kept exactly as received.
pub fn canonical_name(name: &str) -> String {
    const COMPACT: &[(&str, &str)] = &[
        ("a", "Accept-Contact"),
        ("b", "Referred-By"),
        ("c", "Content-Type"),
        ("d", "Request-Disposition"),
        ("e", "Content-Encoding"),
        ("f", "From"),
        ("i", "Call-ID"),
        ("j", "Reject-Contact"),
        ("k", "Supported"),
        ("l", "Content-Length"),
        ("m", "Contact"),
        ("n", "Identity-Info"),
        ("o", "Event"),
        ("r", "Refer-To"),
        ("s", "Subject"),
        ("t", "To"),
        ("u", "Allow-Events"),
        ("v", "Via"),
        ("x", "Session-Expires"),
        ("y", "Identity"),
    ];
    const KNOWN: &[&str] = &[
        "Accept",
        "Accept-Contact",
        "Accept-Encoding",
        "Accept-Language",
        "Alert-Info",
        "Allow",
        "Allow-Events",
        "Authentication-Info",
        "Authorization",
        "Call-ID",
        "Call-Info",
        "Contact",
        "Content-Disposition",
        "Content-Encoding",
        "Content-Language",
        "Content-Length",
        "Content-Type",
        "CSeq",
        "Date",
        "Error-Info",
        "Event",
        "Expires",
        "From",
        "Identity",
        "Identity-Info",
        "In-Reply-To",
        "Max-Forwards",
        "MIME-Version",
        "Min-Expires",
        "Min-SE",
        "Organization",
        "P-Asserted-Identity",
        "P-Preferred-Identity",
        "Path",
        "Priority",
        "Privacy",
        "Proxy-Authenticate",
        "Proxy-Authorization",
        "Proxy-Require",
        "RAck",
        "Reason",
        "Record-Route",
        "Refer-To",
        "Referred-By",
        "Reject-Contact",
        "Replaces",
        "Reply-To",
        "Request-Disposition",
        "Require",
        "Retry-After",
        "Route",
        "RSeq",
        "Server",
        "Service-Route",
        "Session-Expires",
        "Subject",
        "Subscription-State",
        "Supported",
        "Timestamp",
        "To",
        "Unsupported",
        "User-Agent",
        "Via",
        "Warning",
        "WWW-Authenticate",
    ];
    if name.len() == 1 {
        if let Some((_, long)) = COMPACT.iter().find(|(c, _)| c.eq_ignore_ascii_case(name)) {
            return (*long).to_string();
        }
    }
    match KNOWN.iter().find(|k| k.eq_ignore_ascii_case(name)) {
        Some(k) => (*k).to_string(),
        None => name.to_string(),
    }
}

/// Headers that may appear at most once (RFC 3261 7.3.1: only headers whose
/// grammar is a comma list may repeat). Duplicates are a 400 (RFC 4475 3.3.8/3.3.9).
const SINGLE_VALUED: &[&str] = &[
    "From",
    "To",
    "Call-ID",
    "CSeq",
    "Max-Forwards",
    "Content-Length",
    "Content-Type",
    "Expires",
    "Date",
];

/// Splits off the header section: returns (head, body) where head excludes
/// the blank line. Accepts bare LF line ends as well as CRLF.
fn split_head(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut i = 0;
    while let Some(off) = data[i..].iter().position(|&b| b == b'\n') {
        let nl = i + off;
        let rest = &data[nl + 1..];
        if rest.starts_with(b"\r\n") {
            return Some((&data[..nl + 1], &rest[2..]));
        }
        if rest.starts_with(b"\n") {
            return Some((&data[..nl + 1], &rest[1..]));
        }
        i = nl + 1;
    }
    None
}

/// Unfolds continuation lines and splits `name: value`, recording salvage
/// information into `err` as it goes. Stops at the first malformed line.
fn read_headers(lines: &[&str], salvage: &mut RawHeaders) -> Result<Headers, ParseError> {
    // Join continuation lines (starting with SP/HT) onto their header first,
    // so salvage sees whole values.
    let mut logical: Vec<String> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            match logical.last_mut() {
                Some(prev) => {
                    prev.push(' ');
                    prev.push_str(line.trim_start());
                }
                None => return Err(bad("continuation line before any header")),
            }
        } else {
            logical.push((*line).to_string());
        }
    }
    let mut headers = Headers::new();
    let mut failure = None;
    for line in logical {
        let Some((name, value)) = line.split_once(':') else {
            failure.get_or_insert_with(|| bad("header line without ':'"));
            continue;
        };
        let name = name.trim_end_matches([' ', '\t']);
        if !is_token(name) {
            failure.get_or_insert_with(|| bad("invalid header name"));
            continue;
        }
        let name = canonical_name(name);
        let value = value.trim_matches([' ', '\t']).to_string();
        let slot = match name.as_str() {
            "Via" => {
                salvage.via.push(value.clone());
                None
            }
            "From" => Some(&mut salvage.from),
            "To" => Some(&mut salvage.to),
            "Call-ID" => Some(&mut salvage.call_id),
            "CSeq" => Some(&mut salvage.cseq),
            _ => None,
        };
        if let Some(slot @ None) = slot {
            *slot = Some(value.clone());
        }
        headers.0.push(Header { name, value });
    }
    match failure {
        Some(f) => Err(f),
        None => Ok(headers),
    }
}

/// Parses `SIP/x.y`: Ok(true) for 2.0, Ok(false) for another well-formed
/// version (505), Err for anything else.
fn sip_version(s: &str) -> Result<bool, ()> {
    if !s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("SIP/")) {
        return Err(());
    }
    let (major, minor) = s[4..].split_once('.').ok_or(())?;
    let num = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    if !num(major) || !num(minor) {
        return Err(());
    }
    Ok(major.trim_start_matches('0') == "2" && minor.trim_start_matches('0').is_empty())
}

enum StartLine {
    Request { method: Method, uri: String },
    Response { status: u16, reason: String },
}

fn parse_start_line(line: &str) -> Result<StartLine, ParseError> {
    if line
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("SIP/"))
    {
        let (version, rest) = line.split_once(' ').unwrap_or((line, ""));
        match sip_version(version) {
            Ok(true) => {}
            _ => return Err(bad("unsupported SIP version in Status-Line")),
        }
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("Status-Code is not three digits"));
        }
        let status: u16 = code.parse().map_err(|_| bad("invalid Status-Code"))?;
        if !(100..=699).contains(&status) {
            return Err(bad("Status-Code out of range"));
        }
        if reason.chars().any(|c| c.is_control() && c != '\t') {
            return Err(bad("control character in Reason-Phrase"));
        }
        return Ok(StartLine::Response {
            status,
            reason: reason.to_string(),
        });
    }

    // Request-Line = Method SP Request-URI SP SIP-Version, single spaces.
    let parts: Vec<&str> = line.split(' ').collect();
    let method = parts.first().copied().unwrap_or_default();
    if !is_token(method) {
        return Err(bad("invalid method in Request-Line"));
    }
    let method = Method::from_token(method);
    let with_method = |mut e: ParseError| {
        e.method = Some(method.clone());
        e
    };
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
        return Err(with_method(bad(
            "Request-Line must be Method SP Request-URI SP SIP-Version",
        )));
    }
    match sip_version(parts[2]) {
        Ok(true) => {}
        Ok(false) => {
            let mut e = ParseError::new(505, "Version Not Supported".to_string());
            e.method = Some(method);
            return Err(e);
        }
        Err(()) => return Err(with_method(bad("malformed SIP-Version in Request-Line"))),
    }
    let uri = parts[1];
    let parsed = SipUri::parse(uri).map_err(|_| with_method(bad("malformed Request-URI")))?;
    if !parsed.headers.is_empty() {
        // RFC 3261 19.1.5: headers are not allowed in a Request-URI.
        return Err(with_method(bad("Request-URI must not contain headers")));
    }
    Ok(StartLine::Request {
        method,
        uri: uri.to_string(),
    })
}

/// Checks the headers the switch interprets, so the typed accessors on a
/// successfully parsed message cannot fail on them.
fn check_headers(headers: &Headers, request_method: Option<&Method>) -> Result<(), ParseError> {
    for name in SINGLE_VALUED {
        if headers.get_all(name).nth(1).is_some() {
            return Err(bad(&format!("multiple {name} headers")));
        }
    }
    let missing: Vec<&str> = ["Via", "From", "To", "Call-ID", "CSeq"]
        .into_iter()
        .filter(|n| headers.get(n).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(bad(&format!("missing {}", missing.join(", "))));
    }
    headers.vias().map_err(|_| bad("malformed Via"))?;
    headers.from().map_err(|_| bad("malformed From"))?;
    headers.to().map_err(|_| bad("malformed To"))?;
    headers.call_id().map_err(|_| bad("empty Call-ID"))?;
    let cseq = headers.cseq().map_err(|_| bad("malformed CSeq"))?;
    if let Some(m) = request_method {
        if cseq.method != *m {
            return Err(bad("CSeq method does not match Request-Line"));
        }
    }
    headers
        .max_forwards()
        .map_err(|_| bad("malformed Max-Forwards"))?;
    headers.contacts().map_err(|_| bad("malformed Contact"))?;
    headers.routes().map_err(|_| bad("malformed Route"))?;
    headers
        .record_routes()
        .map_err(|_| bad("malformed Record-Route"))?;
    if let Some(date) = headers.get("Date") {
        // RFC 3261 20.17: SIP-date is RFC 1123 and always GMT.
        if !date.trim_end().ends_with("GMT") {
            return Err(bad("Date must be in GMT"));
        }
    }
    Ok(())
}

/// Parses one complete message (one datagram): the body is whatever follows
/// the blank line, cut to Content-Length when that is smaller; a larger
/// Content-Length is an error (the message was truncated).
pub fn parse_message(data: &[u8]) -> Result<Message, ParseError> {
    let too_large = data.len() > MAX_MESSAGE_SIZE;
    // RFC 3261 7.5: ignore CRLFs before the start line.
    let start = data
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(data.len());
    let data = &data[start..];
    let (head, body, no_blank) = match split_head(data) {
        Some((h, b)) => (h, b, false),
        None => (data, &[][..], true),
    };
    let head_text = String::from_utf8_lossy(head);
    let mut lines: Vec<&str> = head_text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let Some((start_line, header_lines)) = lines.split_first() else {
        return Err(bad("empty message"));
    };

    let start = parse_start_line(start_line);
    let method = match &start {
        Ok(StartLine::Request { method, .. }) => Some(method.clone()),
        _ => None,
    };
    let mut raw = RawHeaders::default();
    let headers = read_headers(header_lines, &mut raw);
    let with_salvage = |mut e: ParseError| {
        if e.method.is_none() {
            e.method = method.clone();
        }
        e.raw = Box::new(raw.clone());
        e
    };
    if too_large {
        return Err(with_salvage(ParseError::new(
            513,
            "Message Too Large".to_string(),
        )));
    }
    let start = start.map_err(&with_salvage)?;
    let headers = headers.map_err(&with_salvage)?;
    if std::str::from_utf8(head).is_err() {
        return Err(with_salvage(bad("header section is not UTF-8")));
    }
    if no_blank {
        return Err(with_salvage(bad("no blank line after headers")));
    }
    let request_method = match &start {
        StartLine::Request { method, .. } => Some(method),
        StartLine::Response { .. } => None,
    };
    check_headers(&headers, request_method).map_err(&with_salvage)?;

    let body = match headers.content_length() {
        Err(_) => return Err(with_salvage(bad("malformed Content-Length"))),
        Ok(Some(n)) if n > body.len() => {
            return Err(with_salvage(bad("Content-Length exceeds body")))
        }
        Ok(Some(n)) => body[..n].to_vec(),
        Ok(None) => body.to_vec(),
    };

    Ok(match start {
        StartLine::Request { method, uri } => Message::Request(Request {
            method,
            uri,
            headers,
            body,
        }),
        StartLine::Response { status, reason } => Message::Response(Response {
            status,
            reason,
            headers,
            body,
        }),
    })
}

/// Parses one comma-list header value into its elements (trimmed); exposed
/// for headers such as Allow, Supported, Require.
pub fn split_list(value: &str) -> Vec<String> {
    split_top_level(value, ',')
        .unwrap_or_else(|_| vec![value])
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &str = "INVITE sip:bob@example.com SIP/2.0\r\n\
v: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK776;rport\r\n\
Max-Forwards: 70\r\n\
f: \"Alice\" <sip:alice@example.com>;tag=1928\r\n\
t: <sip:bob@example.com>\r\n\
i: a84b4c76e66710\r\n\
CSeq: 314159 INVITE\r\n\
m: <sip:alice@10.0.0.1>\r\n\
c: application/sdp\r\n\
l: 4\r\n\
\r\n\
v=0\r\n";

    #[test]
    fn parses_compact_invite_and_truncates_body() {
        let m = parse_message(INVITE.as_bytes()).expect("valid");
        let Message::Request(r) = m else {
            panic!("request expected")
        };
        assert_eq!(r.method, Method::Invite);
        assert_eq!(r.uri, "sip:bob@example.com");
        assert_eq!(r.headers.get("Call-ID"), Some("a84b4c76e66710"));
        assert_eq!(r.headers.get("Content-Type"), Some("application/sdp"));
        assert_eq!(r.body, b"v=0\r");
        assert_eq!(r.top_via().expect("via").rport(), Some(None));
        assert_eq!(r.from().expect("from").display.as_deref(), Some("Alice"));
    }

    #[test]
    fn content_length_beyond_datagram_is_400() {
        let msg = INVITE.replace("l: 4", "l: 400");
        let e = parse_message(msg.as_bytes()).expect_err("truncated");
        assert_eq!(e.reason, "Bad Request - Content-Length exceeds body");
        let r = e.bad_request_response().expect("answerable");
        assert_eq!(r.status, 400);
        assert_eq!(r.headers.get("Call-ID"), Some("a84b4c76e66710"));
        assert_eq!(r.headers.get("CSeq"), Some("314159 INVITE"));
        assert!(r.top_via().expect("via").branch() == Some("z9hG4bK776"));
    }

    #[test]
    fn version_and_size() {
        let msg = INVITE.replace("SIP/2.0\r\nv:", "SIP/3.0\r\nv:");
        let e = parse_message(msg.as_bytes()).expect_err("505");
        assert_eq!(e.status, 505);
        assert_eq!(e.bad_request_response().expect("reply").status, 505);

        let mut big = INVITE.replace("l: 4", "l: 70000").into_bytes();
        big.extend(std::iter::repeat_n(b'x', 70000));
        let e = parse_message(&big).expect_err("too large");
        assert_eq!(e.status, 513);
    }

    #[test]
    fn responses_are_never_answered() {
        let e = parse_message(b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h\r\n\r\n").expect_err("bad");
        assert!(e.reason.contains("missing"));
        assert!(e.bad_request_response().is_none());
    }

    #[test]
    fn bare_lf_and_leading_crlf() {
        let msg = format!("\r\n\r\n{}", INVITE.replace("\r\n", "\n"));
        let m = parse_message(msg.as_bytes()).expect("valid");
        assert_eq!(m.body(), b"v=0\n");
    }

    #[test]
    fn folding_ipv6_and_unknown_methods() {
        let msg = "FOO sip:[2001:db8::1]:5070;transport=tcp SIP/2.0\r\n\
Via : SIP/2.0/TCP [2001:db8::2]:5071\r\n\t;branch=z9hG4bKv6;received=2001:db8::9\r\n\
From: <sip:a@[2001:db8::2]>;tag=1\r\nTo: <sip:b@example.com>\r\n\
Call-ID: v6\r\nCSeq: 2 FOO\r\nX-Folded: one\r\n  two\r\n\r\n";
        let Message::Request(r) = parse_message(msg.as_bytes()).expect("valid") else {
            panic!("request expected")
        };
        // Unknown methods parse; the server answers 501.
        assert_eq!(r.method, Method::Other("FOO".into()));
        let ruri = r.request_uri().expect("ruri");
        assert_eq!(
            (ruri.host.as_str(), ruri.port),
            ("[2001:db8::1]", Some(5070))
        );
        let via = r.top_via().expect("via");
        assert_eq!((via.host.as_str(), via.port), ("[2001:db8::2]", Some(5071)));
        assert_eq!(via.received(), Some("2001:db8::9"));
        assert_eq!(r.headers.get("X-Folded"), Some("one two"));
        assert!(r.body.is_empty());
    }

    #[test]
    fn ack_and_garbage_get_no_reply() {
        let ack = INVITE
            .replace("INVITE sip:", "ACK sip:")
            .replace("l: 4", "l: 40");
        let e = parse_message(ack.as_bytes()).expect_err("bad length");
        assert_eq!(e.method, Some(Method::Ack));
        assert!(e.bad_request_response().is_none());
        for junk in [&b""[..], b"\r\n\r\n", b"hello world", b"\xff\xfe\r\n\r\n"] {
            let e = parse_message(junk).expect_err("junk");
            assert!(e.bad_request_response().is_none(), "{junk:?}");
        }
        // A continuation line with no header before it.
        let e = parse_message(b"OPTIONS sip:a SIP/2.0\r\n folded\r\n\r\n").expect_err("bad");
        assert!(e.reason.contains("continuation"));
    }

    #[test]
    fn canonical_names() {
        assert_eq!(canonical_name("v"), "Via");
        assert_eq!(canonical_name("MaX-fOrWaRdS"), "Max-Forwards");
        assert_eq!(canonical_name("cseq"), "CSeq");
        assert_eq!(canonical_name("X-Custom"), "X-Custom");
    }
}
