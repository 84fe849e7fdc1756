//! A server transaction that has said everything it will say and only waits
//! out its last timer: Timer L after the ACK for our 2xx (RFC 6026), Timer I
//! after the ACK for our non-2xx, Timer J after a non-INVITE final.
//!
//! ```text
//!  Lingering --retransmitted request--> re-send the final (non-INVITE only)
//!     |      --ACK--> absorbed (INVITE after a non-2xx only)
//!     +--deadline--> Terminated
//! ```
//! Why a machine of its own: a switch keeps one of these per finished
//! transaction for 32 s, tens of thousands after a burst of calls, and the
//! full INVITE machine is four times this size for timers and settings it
//! will never use again. The layer swaps a machine for this form as soon as
//! the machine reports it is only lingering (`ServerInvite::lingering`,
//! `ServerNonInvite::lingering`).

use std::collections::VecDeque;
use std::time::Instant;

use super::{TransactionError, TxEvent, TxOutput};

/// What a lingering transaction still answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Absorbs {
    /// INVITE server after the ACK for its 2xx (RFC 6026 Accepted):
    /// retransmitted INVITEs get nothing (the 2xx was acknowledged).
    InviteRetransmissions,
    /// INVITE server after the ACK for its non-2xx (Confirmed): ACK
    /// retransmissions are absorbed.
    Acks,
    /// Non-INVITE server after its final (Completed): retransmitted requests
    /// get the final again.
    RequestsWithFinal,
}

impl Absorbs {
    /// The RFC state the full machine would be in.
    fn state_name(self) -> &'static str {
        match self {
            Absorbs::InviteRetransmissions => "Accepted",
            Absorbs::Acks => "Confirmed",
            Absorbs::RequestsWithFinal => "Completed",
        }
    }
}

#[derive(Debug)]
pub struct Lingering {
    absorbs: Absorbs,
    until: Instant,
    /// The final as it went out (non-INVITE only), parsed again for a
    /// retransmitted request.
    final_response: Option<Box<[u8]>>,
    done: bool,
    out: VecDeque<TxOutput>,
}

impl Lingering {
    pub fn new(absorbs: Absorbs, until: Instant, final_response: Option<Box<[u8]>>) -> Self {
        Lingering {
            absorbs,
            until,
            final_response,
            done: false,
            out: VecDeque::new(),
        }
    }

    pub fn absorbs(&self) -> Absorbs {
        self.absorbs
    }

    /// A retransmission of the request (matched by the layer).
    pub fn handle_retransmission(&mut self, _now: Instant) {
        if self.done || self.absorbs != Absorbs::RequestsWithFinal {
            return;
        }
        self.out
            .extend(super::resend_from_bytes(self.final_response.as_deref()));
    }

    /// The TU may not respond any more: its final already went out.
    pub fn respond(&self, status: u16) -> TransactionError {
        TransactionError::ResponseNotAllowed {
            status,
            state: self.absorbs.state_name(),
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if !self.done && self.until <= now {
            self.terminate();
        }
    }

    pub fn handle_transport_error(&mut self, _now: Instant) {
        if !self.done {
            self.out.push_back(TxOutput::Event(TxEvent::TransportError));
            self.terminate();
        }
    }

    pub fn poll_output(&mut self) -> Option<TxOutput> {
        super::pop_output(&mut self.out)
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        (!self.done).then_some(self.until)
    }

    fn terminate(&mut self) {
        self.done = true;
        self.out.push_back(TxOutput::Event(TxEvent::Terminated));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Message, Method};
    use crate::transaction::test_clock::t0;
    use crate::transaction::test_support::{request, response};
    use std::time::Duration;

    fn drain(tx: &mut Lingering) -> Vec<TxOutput> {
        std::iter::from_fn(|| tx.poll_output()).collect()
    }

    #[test]
    fn non_invite_final_is_resent_until_the_deadline() {
        let now = t0();
        let bye = request(Method::Bye, "z9hG4bKl1");
        let ok = response(&bye, 200);
        let until = now + Duration::from_secs(32);
        let mut tx = Lingering::new(
            Absorbs::RequestsWithFinal,
            until,
            Some(ok.to_bytes().into_boxed_slice()),
        );
        tx.handle_retransmission(now);
        let outs = drain(&mut tx);
        let [TxOutput::Send(Message::Response(again))] = &outs[..] else {
            panic!("expected the final again, got {outs:?}");
        };
        assert_eq!(again.to_bytes(), ok.to_bytes(), "the same bytes go out");
        assert_eq!(tx.poll_timeout(), Some(until));
        tx.handle_timeout(until - Duration::from_millis(1));
        assert!(drain(&mut tx).is_empty());
        tx.handle_timeout(until);
        assert_eq!(drain(&mut tx), [TxOutput::Event(TxEvent::Terminated)]);
        assert_eq!(tx.poll_timeout(), None);
        tx.handle_retransmission(until);
        tx.handle_timeout(until);
        assert!(drain(&mut tx).is_empty(), "nothing after Terminated");
    }

    #[test]
    fn acked_invite_answers_nothing_and_refuses_responses() {
        let now = t0();
        let mut tx = Lingering::new(Absorbs::InviteRetransmissions, now, None);
        tx.handle_retransmission(now);
        assert!(drain(&mut tx).is_empty());
        assert_eq!(
            tx.respond(200),
            TransactionError::ResponseNotAllowed {
                status: 200,
                state: "Accepted"
            }
        );
    }

    #[test]
    fn transport_error_ends_it_once() {
        let now = t0();
        let mut tx = Lingering::new(Absorbs::Acks, now + Duration::from_secs(5), None);
        tx.handle_transport_error(now);
        tx.handle_transport_error(now);
        assert_eq!(
            drain(&mut tx),
            [
                TxOutput::Event(TxEvent::TransportError),
                TxOutput::Event(TxEvent::Terminated)
            ]
        );
    }
}
