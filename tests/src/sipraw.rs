//! Hand-written SIP over UDP: OPTIONS pings (is the switch up, does it still
//! answer) and raw datagrams for malformed-message tests.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{bail, Context, Result};

/// The status line and text of a SIP response.
#[derive(Debug, Clone)]
pub struct SipReply {
    pub code: u16,
    pub reason: String,
    pub raw: String,
}

impl SipReply {
    /// Parses `SIP/2.0 <code> <reason>` from the first line; `None` if the
    /// datagram is not a SIP response.
    pub fn parse(bytes: &[u8]) -> Option<SipReply> {
        let raw = String::from_utf8_lossy(bytes).into_owned();
        let first = raw.lines().next()?;
        let rest = first.strip_prefix("SIP/2.0 ")?;
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        let code = code.trim().parse().ok()?;
        Some(SipReply {
            code,
            reason: reason.trim().to_owned(),
            raw,
        })
    }

    /// The value of the first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.raw
            .split("\r\n\r\n")
            .next()?
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(1);

/// A value unique within this test run, for branches, tags and Call-IDs.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}x{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// An OPTIONS request from `local` to `target`.
pub fn options_request(target: SocketAddr, local: SocketAddr) -> String {
    format!(
        "OPTIONS sip:{target} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bK{branch};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:harness@{local}>;tag={tag}\r\n\
         To: <sip:{target}>\r\n\
         Call-ID: {callid}@127.0.0.1\r\n\
         CSeq: 1 OPTIONS\r\n\
         Contact: <sip:harness@{local}>\r\n\
         Accept: application/sdp\r\n\
         Content-Length: 0\r\n\r\n",
        branch = unique("opt"),
        tag = unique("t"),
        callid = unique("ping"),
    )
}

/// An INVITE for `sip:<user>@<target>` from `local`, with a PCMU/PCMA SDP
/// offer whose media port nobody listens on (for calls that must be
/// refused before any media flows).
#[derive(Debug, Clone)]
pub struct RawInvite {
    pub text: String,
    pub ruri: String,
    pub via: String,
    pub from: String,
    pub call_id: String,
}

impl RawInvite {
    pub fn new(target: SocketAddr, local: SocketAddr, user: &str) -> RawInvite {
        let ruri = format!("sip:{user}@{target}");
        let via = format!("SIP/2.0/UDP {local};branch=z9hG4bK{};rport", unique("inv"));
        let from = format!("<sip:+79160000000@{local}>;tag={}", unique("f"));
        let call_id = format!("{}@{}", unique("call"), local.ip());
        let sdp = format!(
            "v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
             m=audio 9 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n\
             a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n",
            ip = local.ip()
        );
        let text = format!(
            "INVITE {ruri} SIP/2.0\r\n\
             Via: {via}\r\n\
             Max-Forwards: 70\r\n\
             From: {from}\r\n\
             To: <{ruri}>\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: 1 INVITE\r\n\
             Contact: <sip:+79160000000@{local}>\r\n\
             Content-Type: application/sdp\r\n\
             Content-Length: {}\r\n\r\n{sdp}",
            sdp.len()
        );
        RawInvite {
            text,
            ruri,
            via,
            from,
            call_id,
        }
    }

    /// The ACK for a final non-2xx response (same branch, the response's To).
    pub fn ack_for(&self, reply: &SipReply) -> String {
        let to = reply
            .header("To")
            .map(str::to_owned)
            .unwrap_or_else(|| format!("<{}>", self.ruri));
        format!(
            "ACK {ruri} SIP/2.0\r\n\
             Via: {via}\r\n\
             Max-Forwards: 70\r\n\
             From: {from}\r\n\
             To: {to}\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: 1 ACK\r\n\
             Content-Length: 0\r\n\r\n",
            ruri = self.ruri,
            via = self.via,
            from = self.from,
            call_id = self.call_id,
        )
    }
}

/// Sends an INVITE for `user` from a fresh socket bound to `local_ip`
/// (e.g. `127.0.0.2`, an address the trunk does not list), returns the final
/// response (ACKed) or `None` if none came within `timeout`.
pub fn invite_final_response(
    target: SocketAddr,
    local_ip: &str,
    user: &str,
    timeout: Duration,
) -> Result<Option<SipReply>> {
    let sock = UdpSocket::bind((local_ip, 0))?;
    let inv = RawInvite::new(target, sock.local_addr()?, user);
    let reply = send_raw_on(&sock, target, inv.text.as_bytes(), timeout)?;
    if let Some(r) = &reply {
        if r.code >= 300 {
            sock.send_to(inv.ack_for(r).as_bytes(), target)?;
        }
    }
    Ok(reply)
}

/// Sends `bytes` from a fresh socket on 127.0.0.1 and returns the first SIP
/// response within `timeout`, or `None` if none came (a dropped message).
pub fn send_raw(target: SocketAddr, bytes: &[u8], timeout: Duration) -> Result<Option<SipReply>> {
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    send_raw_on(&sock, target, bytes, timeout)
}

/// Like [`send_raw`] on a socket the caller owns (to put its address in
/// the message first: `sock.local_addr()`).
#[allow(clippy::disallowed_methods)] // a driver: deadlines need the real clock
pub fn send_raw_on(
    sock: &UdpSocket,
    target: SocketAddr,
    bytes: &[u8],
    timeout: Duration,
) -> Result<Option<SipReply>> {
    sock.send_to(bytes, target)
        .with_context(|| format!("send to {target}"))?;
    let deadline = std::time::Instant::now() + timeout;
    let mut buf = vec![0u8; 65_536];
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        sock.set_read_timeout(Some(left))?;
        match sock.recv_from(&mut buf) {
            Ok((n, from)) if from == target => {
                // Provisional responses (100 Trying) are not the answer.
                match SipReply::parse(&buf[..n]) {
                    Some(r) if r.code >= 200 => return Ok(Some(r)),
                    _ => continue,
                }
            }
            Ok(_) => continue,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return Ok(None)
            }
            // ICMP port unreachable from an earlier send: nobody listens yet.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => return Ok(None),
            Err(e) => return Err(e.into()),
        }
    }
}

/// One OPTIONS ping: the final response, or `None` within `timeout`.
pub fn options_ping(target: SocketAddr, timeout: Duration) -> Result<Option<SipReply>> {
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    let req = options_request(target, sock.local_addr()?);
    send_raw_on(&sock, target, req.as_bytes(), timeout)
}

/// Pings every 200 ms until something answers or `timeout` passes.
#[allow(clippy::disallowed_methods)] // a driver: deadlines need the real clock
pub fn wait_for_options(target: SocketAddr, timeout: Duration) -> Result<SipReply> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(r) = options_ping(target, Duration::from_millis(200))? {
            return Ok(r);
        }
        if std::time::Instant::now() >= deadline {
            bail!("no answer to OPTIONS from {target} within {timeout:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_line_and_headers() {
        let r = SipReply::parse(
            b"SIP/2.0 400 Bad Request (missing Call-ID)\r\nVia: SIP/2.0/UDP x\r\ncall-id: abc\r\n\r\nbody: no",
        )
        .unwrap();
        assert_eq!(r.code, 400);
        assert_eq!(r.reason, "Bad Request (missing Call-ID)");
        assert_eq!(r.header("Call-ID"), Some("abc"));
        assert_eq!(r.header("body"), None);
        assert!(SipReply::parse(b"INVITE sip:a@b SIP/2.0\r\n\r\n").is_none());
        assert!(SipReply::parse(b"SIP/2.0 abc\r\n").is_none());
    }
}
