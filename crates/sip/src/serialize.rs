//! Writing messages to wire bytes. Content-Length is always recomputed from
//! the body (any stored value is dropped), so a message we send is framed
//! correctly on TCP whatever the caller did to the body.

use std::io::Write;

use crate::message::{Headers, Message, Request, Response};

/// CR and LF inside a value would start a new header on the wire (header
/// injection from app-supplied text); fold them to spaces.
fn write_value(out: &mut Vec<u8>, v: &str) {
    if v.contains(['\r', '\n']) {
        out.extend(v.replace(['\r', '\n'], " ").as_bytes());
    } else {
        out.extend(v.as_bytes());
    }
}

fn write_rest(out: &mut Vec<u8>, headers: &Headers, body: &[u8]) {
    for h in headers.iter() {
        if h.name.eq_ignore_ascii_case("Content-Length") {
            continue;
        }
        out.extend(h.name.as_bytes());
        out.extend(b": ");
        write_value(out, &h.value);
        out.extend(b"\r\n");
    }
    // Writing into a Vec cannot fail.
    let _ = write!(out, "Content-Length: {}\r\n\r\n", body.len());
    out.extend(body);
}

impl Request {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512 + self.body.len());
        let _ = write!(out, "{} {} SIP/2.0\r\n", self.method, self.uri);
        write_rest(&mut out, &self.headers, &self.body);
        out
    }
}

impl Response {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512 + self.body.len());
        let _ = write!(out, "SIP/2.0 {:03} ", self.status);
        write_value(&mut out, &self.reason);
        out.extend(b"\r\n");
        write_rest(&mut out, &self.headers, &self.body);
        out
    }
}

impl Message {
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Message::Request(r) => r.to_bytes(),
            Message::Response(r) => r.to_bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::message::{Method, Request, Response};
    use crate::parse::parse_message;

    #[test]
    fn request_bytes_with_fresh_content_length() {
        let mut r = Request::new(Method::Options, "sip:a@b.example");
        r.headers.push("Via", "SIP/2.0/UDP h;branch=z9hG4bKx");
        r.headers.push("Content-Length", "999");
        r.headers.push("Subject", "evil\r\nInjected: yes");
        r.body = b"hello".to_vec();
        let text = String::from_utf8(r.to_bytes()).expect("utf8");
        assert_eq!(
            text,
            "OPTIONS sip:a@b.example SIP/2.0\r\n\
             Via: SIP/2.0/UDP h;branch=z9hG4bKx\r\n\
             Subject: evil  Injected: yes\r\n\
             Content-Length: 5\r\n\r\nhello"
        );
    }

    #[test]
    fn response_round_trips() {
        let mut r = Response::new(180, "Ringing");
        r.headers.push("Via", "SIP/2.0/UDP h;branch=z9hG4bKx");
        r.headers.push("From", "<sip:a@b>;tag=1");
        r.headers.push("To", "<sip:c@d>;tag=2");
        r.headers.push("Call-ID", "x");
        r.headers.push("CSeq", "1 INVITE");
        let bytes = r.to_bytes();
        let parsed = parse_message(&bytes).expect("parses");
        r.headers.push("Content-Length", "0");
        assert_eq!(parsed, crate::Message::Response(r));
    }
}
