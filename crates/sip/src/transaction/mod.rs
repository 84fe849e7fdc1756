//! RFC 3261 section 17 transactions, one state machine per file, and the
//! layer that matches messages to them.
//!
//! Every state machine has the same sans-IO shape: feed it an input together
//! with `now` (`handle_response`, `handle_request`, `respond`,
//! `handle_timeout`, `handle_transport_error`), then drain `poll_output()`
//! until it returns `None` and ask `poll_timeout()` for the next deadline.
//! Nothing here reads the clock, owns a socket or spawns a thread.
//!
//! A driver owns one [`TransactionLayer`] per endpoint and loops:
//!
//! ```
//! use std::time::Instant;
//! use sip::transaction::{Output, Target, TimerConfig, TransactionLayer, TuEvent};
//! use sip::{parse_message, Response};
//!
//! #[derive(Clone, Debug)]
//! struct Udp(std::net::SocketAddr);
//! impl Target for Udp {
//!     fn is_reliable(&self) -> bool {
//!         false // UDP: the layer retransmits
//!     }
//! }
//!
//! let mut layer = TransactionLayer::new(TimerConfig::default());
//! let now = Instant::now(); // only the driver reads the clock
//! let datagram = b"OPTIONS sip:switch.example SIP/2.0\r\n\
//!     Via: SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bKdoc\r\n\
//!     From: <sip:a@example.com>;tag=1\r\nTo: <sip:switch.example>\r\n\
//!     Call-ID: doc@192.0.2.7\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n\
//!     Content-Length: 0\r\n\r\n";
//! let from = Udp("192.0.2.7:5060".parse().unwrap());
//! // 1. Feed what arrived (and TU commands: send_request, respond, cancel).
//! layer.handle_message(parse_message(datagram).unwrap(), from, now).unwrap();
//! // 2. Drain: transmits go to the socket, events to the TU.
//! let mut sent = Vec::new();
//! while let Some(out) = layer.poll_output() {
//!     match out {
//!         Output::Event(TuEvent::Request { tx, request, .. }) => {
//!             layer.respond(tx, Response::for_request(&request, 200), now).unwrap();
//!         }
//!         Output::Transmit(t) => sent.push((t.target.0, t.message.to_bytes())),
//!         Output::Event(_) => {}
//!     }
//! }
//! assert!(sent[0].1.starts_with(b"SIP/2.0 200 OK"));
//! // 3. Sleep until the deadline, then fire timers and drain again.
//! if let Some(deadline) = layer.poll_timeout() {
//!     layer.handle_timeout(deadline);
//! }
//! ```
//!
//! Two deliberate choices beyond the letter of RFC 3261:
//! - RFC 6026 is applied: INVITE client and server transactions have an
//!   `Accepted` state after a 2xx (Timers M and L) so 2xx retransmissions
//!   and forked 2xx still reach the TU, and INVITE retransmissions after a 2xx
//!   are absorbed instead of looking like new calls.
//! - The UAS core's 2xx retransmission (RFC 3261 13.3.1.4: T1 doubling to T2
//!   until the ACK arrives, give up after 64*T1) is done by the INVITE server
//!   transaction in `Accepted`, so every TU gets it for free. The layer stops
//!   it when the ACK for the 2xx arrives and still hands that ACK to the TU.

mod client_invite;
mod client_non_invite;
mod layer;
mod lingering;
mod matcher;
mod server_invite;
mod server_non_invite;
mod timers;

pub use client_invite::{build_cancel, ClientInvite, ClientInviteState};
pub use client_non_invite::{ClientNonInvite, ClientNonInviteState};
pub use layer::{Output, Target, TransactionId, TransactionLayer, Transmit, TuEvent};
pub use matcher::{ClientKey, ServerKey};
pub use server_invite::{ServerInvite, ServerInviteState};
pub use server_non_invite::{ServerNonInvite, ServerNonInviteState};
pub use timers::TimerConfig;

use crate::error::SipError;
use crate::message::{Message, Response};

/// What a transaction tells its TU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxEvent {
    /// Client transactions: a response the TU must see (provisional, final,
    /// and in `Accepted` every further 2xx, which the TU ACKs).
    Response(Response),
    /// Timer B or F (no final response), or Timer H (no ACK for our non-2xx).
    Timeout,
    /// INVITE server: our 2xx was retransmitted for 64*T1 without an ACK;
    /// RFC 3261 13.3.1.4 says the TU should now end the session with BYE.
    AckTimeout,
    /// The transport reported a failure sending this transaction's message.
    TransportError,
    /// The transaction is over; the layer forgets it after this event.
    Terminated,
}

/// One output of a transaction state machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxOutput {
    /// A message to hand to the transport (requests and ACKs from client
    /// transactions, responses from server transactions).
    Send(Message),
    Event(TxEvent),
}

/// Takes a machine's next output. A drained queue gives its buffer back:
/// a transaction lives on for up to 32 s after its last output (Timers J, L,
/// M), and tens of thousands of idle queues each holding a few messages'
/// worth of capacity were a large part of the switch's peak memory.
fn pop_output(out: &mut std::collections::VecDeque<TxOutput>) -> Option<TxOutput> {
    let next = out.pop_front();
    if next.is_none() && out.capacity() > 0 {
        *out = std::collections::VecDeque::new();
    }
    next
}

/// A final kept as the bytes it went out as, parsed again to be re-sent for
/// a retransmitted request. What the serializer wrote always parses back
/// (the sip crate's round-trip tests); if it ever did not, the far end
/// retransmits again and the transaction's last timer ends it.
fn resend_from_bytes(bytes: Option<&[u8]>) -> Option<TxOutput> {
    match bytes.map(crate::parse::parse_message) {
        Some(Ok(again @ Message::Response(_))) => Some(TxOutput::Send(again)),
        _ => None,
    }
}

/// Errors of the transaction layer: a caller asked for something the state
/// machine does not allow, or a message lacks what transactions need.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransactionError {
    /// The transaction id is unknown (never existed or already terminated).
    #[error("no such transaction: {0}")]
    UnknownTransaction(TransactionId),
    /// The TU tried to respond where RFC 3261 allows no response (a second
    /// final response, a response on a client transaction, ...).
    #[error("cannot send a {status} response in state {state}")]
    ResponseNotAllowed { status: u16, state: &'static str },
    /// A request the TU asked to send is not one a client transaction can
    /// carry (ACK goes through `send_stateless`).
    #[error("a client transaction cannot carry {0}")]
    NotTransactional(String),
    /// The TU reused the branch of a live client transaction.
    #[error("branch {0} is already in use by a client transaction")]
    BranchInUse(String),
    /// CANCEL asked for something other than an INVITE client transaction
    /// still waiting for its final response.
    #[error("{0} cannot be cancelled")]
    NotCancellable(TransactionId),
    /// The message lacks the Via branch, CSeq or similar header that keys
    /// a transaction.
    #[error(transparent)]
    Message(#[from] SipError),
}

#[cfg(test)]
pub(crate) mod test_clock {
    use std::time::Instant;

    /// The one clock read of the unit tests: an arbitrary origin that the
    /// tests then advance by adding Durations (a simulated clock).
    #[allow(clippy::disallowed_methods)] // tests are drivers: they own the clock origin
    pub(crate) fn t0() -> Instant {
        Instant::now()
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use crate::message::{Method, Request};

    /// A request as a UAC would send it, with a unique branch.
    pub(crate) fn request(method: Method, branch: &str) -> Request {
        let mut r = Request::new(method.clone(), "sip:op1@192.0.2.10:5060");
        r.headers.push(
            "Via",
            format!("SIP/2.0/UDP 192.0.2.1:5060;branch={branch};rport"),
        );
        r.headers.push("Max-Forwards", "70");
        r.headers.push("Route", "<sip:proxy.example;lr>");
        r.headers
            .push("From", "\"Shop\" <sip:shop@192.0.2.1>;tag=from1");
        r.headers.push("To", "<sip:op1@192.0.2.10>");
        r.headers.push("Call-ID", "call-1@192.0.2.1");
        r.headers.push("CSeq", format!("1 {}", method.as_str()));
        r.headers.push("Contact", "<sip:shop@192.0.2.1:5060>");
        r
    }

    pub(crate) fn invite(branch: &str) -> Request {
        request(Method::Invite, branch)
    }

    /// A response to `req` as the far end would send it, To-tagged unless 100.
    pub(crate) fn response(req: &Request, status: u16) -> crate::message::Response {
        let r = crate::message::Response::for_request(req, status);
        if status > 100 {
            r.with_to_tag("to1")
        } else {
            r
        }
    }

    pub(crate) fn expect_send(out: Option<super::TxOutput>) -> crate::message::Message {
        match out {
            Some(super::TxOutput::Send(m)) => m,
            other => panic!("expected a send, got {other:?}"),
        }
    }
}
