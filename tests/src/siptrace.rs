//! baresip's SIP trace (`-s`): every message it sent or received, framed in
//! its log as
//!
//! ```text
//! ESC[36;1m#
//! UDP 127.0.0.1:5062 -> 127.0.0.1:5060
//! <the SIP message>
//! ESC[;m
//! ```
//!
//! Used to count what the switch sent to a phone, retransmissions included.

use std::collections::HashSet;

/// One traced message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Traced {
    /// `UDP` or `TCP`.
    pub transport: String,
    pub from: String,
    pub to: String,
    pub text: String,
}

impl Traced {
    /// The start line (`INVITE sip:... SIP/2.0`, `SIP/2.0 200 OK`).
    pub fn start_line(&self) -> &str {
        self.text.lines().next().unwrap_or("").trim_end()
    }

    /// The first header `name` (case-insensitive, full names only).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.text
            .split("\r\n\r\n")
            .next()?
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    }

    fn identity(&self) -> (String, String, String, String) {
        let h = |n: &str| self.header(n).unwrap_or("").to_owned();
        (
            self.start_line().to_owned(),
            h("Call-ID"),
            h("CSeq"),
            h("Via"),
        )
    }
}

/// Every traced message in a baresip log, in order.
pub fn parse(log: &str) -> Vec<Traced> {
    let mut out = Vec::new();
    for block in log.split("\u{1b}[36;1m#").skip(1) {
        let block = block.trim_start_matches(['\r', '\n']);
        let (head, rest) = block.split_once('\n').unwrap_or((block, ""));
        let mut parts = head.split_whitespace();
        let (Some(transport), Some(from), Some("->"), Some(to)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let text = rest.split("\u{1b}[;m").next().unwrap_or("").to_owned();
        out.push(Traced {
            transport: transport.to_owned(),
            from: from.to_owned(),
            to: to.to_owned(),
            text,
        });
    }
    out
}

/// Messages sent to `local` (e.g. `127.0.0.1:5062`, the phone's address).
pub fn received_by<'a>(msgs: &'a [Traced], local: &str) -> Vec<&'a Traced> {
    msgs.iter().filter(|m| m.to == local).collect()
}

/// How many of `msgs` repeat an earlier one (same start line, Call-ID, CSeq
/// and top Via): retransmissions.
pub fn repeats(msgs: &[&Traced]) -> usize {
    let mut seen = HashSet::new();
    msgs.iter().filter(|m| !seen.insert(m.identity())).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "baresip is ready.\n\
        \u{1b}[36;1m#\nUDP 127.0.0.1:6000 -> 127.0.0.1:5062\n\
        INVITE sip:alice@127.0.0.1:5062 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:6000;branch=z9hG4bK1\r\n\
        Call-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n\u{1b}[;m\n\
        [0:00:01] audio=0/0 (bit/s)    \u{1b}[36;1m#\nUDP 127.0.0.1:5062 -> 127.0.0.1:6000\n\
        SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP 127.0.0.1:6000;branch=z9hG4bK1\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n\r\n\u{1b}[;m\n\
        \u{1b}[36;1m#\nUDP 127.0.0.1:6000 -> 127.0.0.1:5062\n\
        INVITE sip:alice@127.0.0.1:5062 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:6000;branch=z9hG4bK1\r\n\
        Call-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n\u{1b}[;m\n";

    #[test]
    fn finds_messages_directions_and_retransmissions() {
        let msgs = parse(LOG);
        assert_eq!(msgs.len(), 3);
        assert_eq!(msgs[1].start_line(), "SIP/2.0 180 Ringing");
        assert_eq!(msgs[1].header("cseq"), Some("1 INVITE"));
        let inbound = received_by(&msgs, "127.0.0.1:5062");
        assert_eq!(inbound.len(), 2);
        assert_eq!(repeats(&inbound), 1);
        assert_eq!(repeats(&received_by(&msgs, "127.0.0.1:6000")), 0);
    }
}
