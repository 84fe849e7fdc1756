//! TCP stream framing (RFC 3261 18.3): split a byte stream into messages by
//! Content-Length, which is mandatory on streams. CRLF keepalives between
//! messages (RFC 5626 3.5.1 "ping") are skipped and reported so the driver
//! can answer the pong.
//!
//! After any error the stream cannot be resynchronised (we no longer know
//! where the next message starts): the framer ignores further input and
//! returns `None` from then on (`pending()` still shows the bytes it held),
//! and the driver should answer if it can (`FramingError::response`) and
//! close the connection.

use thiserror::Error;

use crate::message::{Message, Response};
use crate::parse::{parse_message, MAX_MESSAGE_SIZE};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FramingError {
    /// The header section is complete but has no Content-Length.
    #[error("message on a stream has no Content-Length")]
    MissingContentLength { head: Vec<u8> },
    /// Content-Length is not a number, or appears twice with different values.
    #[error("invalid Content-Length on a stream")]
    BadContentLength { head: Vec<u8> },
    /// Headers or headers+body exceed `MAX_MESSAGE_SIZE`; `head` when the
    /// header section itself was complete.
    #[error("message exceeds the {MAX_MESSAGE_SIZE}-byte cap")]
    TooLarge { head: Option<Vec<u8>> },
}

impl FramingError {
    /// The reply to send before closing, when the head was a readable
    /// request (never for responses or ACK).
    pub fn response(&self) -> Option<Response> {
        let (head, status, reason) = match self {
            FramingError::MissingContentLength { head } => {
                (head, 400, "Bad Request - missing Content-Length on stream")
            }
            FramingError::BadContentLength { head } => {
                (head, 400, "Bad Request - malformed Content-Length")
            }
            FramingError::TooLarge { head: Some(head) } => (head, 513, "Message Too Large"),
            FramingError::TooLarge { head: None } => return None,
        };
        match parse_message(head) {
            Ok(Message::Request(req)) if req.method != crate::Method::Ack => {
                Some(Response::for_request(&req, status).with_reason(reason))
            }
            Ok(_) => None,
            Err(e) => e.bad_request_response().map(|mut r| {
                r.status = status;
                r.reason = reason.to_string();
                r
            }),
        }
    }
}

/// Accumulates stream bytes and yields whole messages.
#[derive(Debug, Default)]
pub struct StreamFramer {
    buf: Vec<u8>,
    failed: bool,
    pings: usize,
    /// Keepalive bytes skipped since the last message started.
    gap: usize,
}

/// End of the header section: index just past the blank line.
fn head_end(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(off) = buf[i..].iter().position(|&b| b == b'\n') {
        let nl = i + off;
        let rest = &buf[nl + 1..];
        if rest.starts_with(b"\r\n") {
            return Some(nl + 3);
        }
        if rest.starts_with(b"\n") {
            return Some(nl + 2);
        }
        i = nl + 1;
    }
    None
}

enum Length {
    Missing,
    Bad,
    Is(usize),
}

/// Finds Content-Length (or compact `l`) in a header section.
fn content_length(head: &[u8]) -> Length {
    let text = String::from_utf8_lossy(head);
    let mut found: Option<usize> = None;
    for line in text.split('\n').skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let name = name.trim_end();
        if !(name.eq_ignore_ascii_case("Content-Length") || name.eq_ignore_ascii_case("l")) {
            continue;
        }
        let value = value.trim();
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Length::Bad;
        }
        let Ok(n) = value.parse::<usize>() else {
            return Length::Bad;
        };
        if found.is_some_and(|f| f != n) {
            return Length::Bad;
        }
        found = Some(n);
    }
    match found {
        Some(n) => Length::Is(n),
        None => Length::Missing,
    }
}

impl StreamFramer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes read from the connection.
    pub fn push(&mut self, data: &[u8]) {
        if !self.failed {
            self.buf.extend_from_slice(data);
        }
    }

    /// Bytes buffered but not yet returned.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The buffered bytes themselves (after an error: what was held when it
    /// happened, starting at the offending message).
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    /// Number of CRLFCRLF keepalive pings consumed since the last call;
    /// answer each with a single CRLF (RFC 5626 3.5.1).
    pub fn take_pings(&mut self) -> usize {
        std::mem::take(&mut self.pings)
    }

    /// The next complete message, `None` when more bytes are needed (or
    /// after a previous error), `Some(Err)` once when the stream is broken.
    pub fn next_message(&mut self) -> Option<Result<Vec<u8>, FramingError>> {
        if self.failed {
            return None;
        }
        // Skip keepalive CRLFs between messages.
        let skip = self
            .buf
            .iter()
            .position(|&b| b != b'\r' && b != b'\n')
            .unwrap_or(self.buf.len());
        if skip > 0 {
            // Bytes may trickle in one at a time, so count across calls:
            // every 4 keepalive bytes in a gap (CRLFCRLF) is one ping.
            let before = self.gap / 4;
            self.gap += skip;
            self.pings += self.gap / 4 - before;
            self.buf.drain(..skip);
        }
        if !self.buf.is_empty() {
            self.gap = 0;
        }
        let Some(end) = head_end(&self.buf) else {
            if self.buf.len() > MAX_MESSAGE_SIZE {
                return Some(Err(self.fail(FramingError::TooLarge { head: None })));
            }
            return None;
        };
        let head = &self.buf[..end];
        let len = match content_length(head) {
            Length::Is(n) => n,
            Length::Missing => {
                let head = head.to_vec();
                return Some(Err(self.fail(FramingError::MissingContentLength { head })));
            }
            Length::Bad => {
                let head = head.to_vec();
                return Some(Err(self.fail(FramingError::BadContentLength { head })));
            }
        };
        let total = end.saturating_add(len);
        if end > MAX_MESSAGE_SIZE || total > MAX_MESSAGE_SIZE {
            let head = Some(head.to_vec());
            return Some(Err(self.fail(FramingError::TooLarge { head })));
        }
        if self.buf.len() < total {
            return None;
        }
        let msg: Vec<u8> = self.buf.drain(..total).collect();
        Some(Ok(msg))
    }

    fn fail(&mut self, e: FramingError) -> FramingError {
        self.failed = true;
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQ: &[u8] = b"OPTIONS sip:a@b SIP/2.0\r\n\
Via: SIP/2.0/TCP h;branch=z9hG4bK1\r\n\
From: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n\
l: 5\r\n\r\nhello";

    #[test]
    fn splits_back_to_back_messages_fed_bytewise() {
        let mut stream = Vec::new();
        stream.extend_from_slice(b"\r\n\r\n");
        stream.extend_from_slice(REQ);
        stream.extend_from_slice(b"\r\n");
        stream.extend_from_slice(REQ);
        let mut f = StreamFramer::new();
        let mut out = Vec::new();
        for b in &stream {
            f.push(std::slice::from_ref(b));
            while let Some(m) = f.next_message() {
                out.push(m.expect("ok"));
            }
        }
        assert_eq!(out, vec![REQ.to_vec(), REQ.to_vec()]);
        assert_eq!(f.buffered(), 0);
        assert_eq!(f.take_pings(), 1);
        assert_eq!(f.take_pings(), 0);
    }

    #[test]
    fn waits_for_the_body() {
        let mut f = StreamFramer::new();
        f.push(&REQ[..REQ.len() - 2]);
        assert!(f.next_message().is_none());
        f.push(&REQ[REQ.len() - 2..]);
        assert_eq!(f.next_message(), Some(Ok(REQ.to_vec())));
    }

    #[test]
    fn missing_content_length_is_fatal_and_answerable() {
        let text = String::from_utf8_lossy(REQ).replace("l: 5\r\n", "");
        let mut f = StreamFramer::new();
        f.push(text.as_bytes());
        let e = f.next_message().expect("some").expect_err("error");
        assert!(matches!(e, FramingError::MissingContentLength { .. }));
        let r = e.response().expect("400");
        assert_eq!(r.status, 400);
        assert_eq!(r.reason, "Bad Request - missing Content-Length on stream");
        assert_eq!(r.headers.get("Call-ID"), Some("c1"));
        // Poisoned: no further output, pushes ignored, the bad head kept.
        f.push(REQ);
        assert_eq!(f.next_message(), None);
        assert_eq!(f.pending(), text.as_bytes());
    }

    #[test]
    fn conflicting_or_bad_lengths() {
        for bad in ["l: 5\r\nContent-Length: 6\r\n", "l: -1\r\n", "l: five\r\n"] {
            let text = String::from_utf8_lossy(REQ).replace("l: 5\r\n", bad);
            let mut f = StreamFramer::new();
            f.push(text.as_bytes());
            assert!(
                matches!(
                    f.next_message(),
                    Some(Err(FramingError::BadContentLength { .. }))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn caps_headers_and_bodies() {
        let mut f = StreamFramer::new();
        f.push(b"OPTIONS sip:a@b SIP/2.0\r\nX: ");
        f.push(&vec![b'a'; MAX_MESSAGE_SIZE]);
        assert_eq!(
            f.next_message(),
            Some(Err(FramingError::TooLarge { head: None }))
        );

        let text = String::from_utf8_lossy(REQ).replace("l: 5", "l: 70000");
        let mut f = StreamFramer::new();
        f.push(text.as_bytes());
        let e = f.next_message().expect("some").expect_err("too large");
        assert_eq!(e.response().expect("513").status, 513);
    }
}
