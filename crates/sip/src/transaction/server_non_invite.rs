//! Non-INVITE server transaction (RFC 3261 17.2.2).
//!
//! ```text
//!   Trying --TU 1xx--> Proceeding --TU final--> Completed --Timer J--> Terminated
//!     +-------------TU final-----------------^
//! ```
//! Retransmitted requests are absorbed (Trying) or answered with the last
//! response (Proceeding, Completed). No automatic 100 Trying for non-INVITE.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::lingering::{Absorbs, Lingering};
use super::timers::{due, earliest, TimerConfig};
use super::{TransactionError, TxEvent, TxOutput};
use crate::message::{Message, Request, Response};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerNonInviteState {
    Trying,
    Proceeding,
    Completed,
    Terminated,
}

impl ServerNonInviteState {
    fn name(self) -> &'static str {
        match self {
            ServerNonInviteState::Trying => "Trying",
            ServerNonInviteState::Proceeding => "Proceeding",
            ServerNonInviteState::Completed => "Completed",
            ServerNonInviteState::Terminated => "Terminated",
        }
    }
}

#[derive(Debug)]
pub struct ServerNonInvite {
    state: ServerNonInviteState,
    /// Dropped once a final is sent: only the response is re-sent after
    /// that, and Timer J keeps a completed transaction for 32 s.
    /// Boxed, like every message a machine keeps: the machine lives 32 s
    /// after its final, so its own size counts (see `layer::Machine`).
    request: Option<Box<Request>>,
    reliable: bool,
    /// Timer J's length (64*T1): all this machine needs of the timer config.
    linger: Duration,
    /// The last response, kept as the bytes it went out as: one allocation
    /// instead of a parsed message's dozens, for the 32 s Timer J keeps a
    /// completed transaction. Parsed again for a retransmitted request.
    last_response: Option<Box<[u8]>>,
    timer_j: Option<Instant>,
    out: VecDeque<TxOutput>,
}

impl ServerNonInvite {
    pub fn new(request: Request, reliable: bool, config: TimerConfig, _now: Instant) -> Self {
        ServerNonInvite {
            state: ServerNonInviteState::Trying,
            request: Some(Box::new(request)),
            reliable,
            linger: config.t1x64(),
            last_response: None,
            timer_j: None,
            out: VecDeque::new(),
        }
    }

    pub fn state(&self) -> ServerNonInviteState {
        self.state
    }

    /// The request, until a final response was sent.
    pub fn request(&self) -> Option<&Request> {
        self.request.as_deref()
    }

    pub fn respond(&mut self, response: Response, now: Instant) -> Result<(), TransactionError> {
        use ServerNonInviteState::*;
        let status = response.status;
        match (self.state, status) {
            (Trying | Proceeding, 100..=199) => {
                self.state = Proceeding;
                self.send(response);
            }
            (Trying | Proceeding, 200..=699) => {
                self.state = Completed;
                self.request = None;
                self.send(response);
                if self.reliable {
                    self.terminate();
                } else {
                    // Timer J: keep the final around for retransmitted requests.
                    self.timer_j = Some(now + self.linger);
                }
            }
            (state, _) => {
                return Err(TransactionError::ResponseNotAllowed {
                    status,
                    state: state.name(),
                })
            }
        }
        Ok(())
    }

    /// A retransmission of the request (matched by the layer).
    pub fn handle_retransmission(&mut self, _now: Instant) {
        if matches!(
            self.state,
            ServerNonInviteState::Proceeding | ServerNonInviteState::Completed
        ) {
            self.out
                .extend(super::resend_from_bytes(self.last_response.as_deref()));
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.state == ServerNonInviteState::Completed && due(self.timer_j, now) {
            self.terminate();
        }
    }

    pub fn handle_transport_error(&mut self, _now: Instant) {
        if self.state != ServerNonInviteState::Terminated {
            self.out.push_back(TxOutput::Event(TxEvent::TransportError));
            self.terminate();
        }
    }

    /// Once completed (only Timer J left) with nothing left to hand out:
    /// the compact form the layer keeps in its place, holding the final.
    pub fn lingering(&mut self) -> Option<Lingering> {
        if self.state != ServerNonInviteState::Completed || !self.out.is_empty() {
            return None;
        }
        let until = self.timer_j?;
        Some(Lingering::new(
            Absorbs::RequestsWithFinal,
            until,
            self.last_response.take(),
        ))
    }

    pub fn poll_output(&mut self) -> Option<TxOutput> {
        super::pop_output(&mut self.out)
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        earliest(&[self.timer_j])
    }

    fn send(&mut self, response: Response) {
        self.last_response = Some(response.to_bytes().into_boxed_slice());
        self.out
            .push_back(TxOutput::Send(Message::Response(response)));
    }

    fn terminate(&mut self) {
        self.state = ServerNonInviteState::Terminated;
        self.timer_j = None;
        self.out.push_back(TxOutput::Event(TxEvent::Terminated));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Method;
    use crate::transaction::test_clock::t0;
    use crate::transaction::test_support::{request, response};
    use std::time::Duration;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn drain(tx: &mut ServerNonInvite) -> Vec<TxOutput> {
        std::iter::from_fn(|| tx.poll_output()).collect()
    }

    fn sent_status(outs: &[TxOutput]) -> Vec<u16> {
        outs.iter()
            .filter_map(|o| match o {
                TxOutput::Send(Message::Response(r)) => Some(r.status),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn retransmissions_absorbed_then_answered_with_last_response() {
        let now = t0();
        let req = request(Method::Bye, "z9hG4bKn");
        let mut tx = ServerNonInvite::new(req.clone(), false, TimerConfig::default(), now);
        tx.handle_retransmission(now + ms(500));
        assert!(drain(&mut tx).is_empty(), "Trying: nothing to re-send yet");
        assert_eq!(tx.poll_timeout(), None, "no automatic 100 for non-INVITE");
        tx.respond(response(&req, 100), now + ms(600)).unwrap();
        assert_eq!(sent_status(&drain(&mut tx)), [100]);
        tx.handle_retransmission(now + ms(1500));
        assert_eq!(sent_status(&drain(&mut tx)), [100]);
        let ok = response(&req, 200);
        tx.respond(ok.clone(), now + ms(1600)).unwrap();
        assert_eq!(sent_status(&drain(&mut tx)), [200]);
        tx.handle_retransmission(now + ms(3500));
        let again = drain(&mut tx);
        let [TxOutput::Send(resent)] = again.as_slice() else {
            panic!("expected one send, got {again:?}");
        };
        assert_eq!(
            resent.to_bytes(),
            ok.to_bytes(),
            "the same response on the wire again, from the bytes kept"
        );
    }

    #[test]
    fn timer_j_is_64_t1_over_unreliable_transport() {
        let now = t0();
        let req = request(Method::Options, "z9hG4bKn");
        let mut tx = ServerNonInvite::new(req.clone(), false, TimerConfig::default(), now);
        tx.respond(response(&req, 200), now).unwrap();
        drain(&mut tx);
        assert_eq!(tx.state(), ServerNonInviteState::Completed);
        assert_eq!(tx.poll_timeout(), Some(now + ms(32_000)));
        tx.handle_timeout(now + ms(31_999));
        assert!(drain(&mut tx).is_empty());
        tx.handle_timeout(now + ms(32_000));
        assert_eq!(drain(&mut tx), [TxOutput::Event(TxEvent::Terminated)]);
    }

    #[test]
    fn timer_j_is_zero_over_reliable_transport() {
        let now = t0();
        let req = request(Method::Options, "z9hG4bKn");
        let mut tx = ServerNonInvite::new(req.clone(), true, TimerConfig::default(), now);
        tx.respond(response(&req, 200), now).unwrap();
        let outs = drain(&mut tx);
        assert_eq!(sent_status(&outs), [200]);
        assert_eq!(outs.last(), Some(&TxOutput::Event(TxEvent::Terminated)));
        assert_eq!(tx.poll_timeout(), None);
    }

    #[test]
    fn second_final_is_refused() {
        let now = t0();
        let req = request(Method::Bye, "z9hG4bKn");
        let mut tx = ServerNonInvite::new(req.clone(), false, TimerConfig::default(), now);
        tx.respond(response(&req, 200), now).unwrap();
        assert!(tx.respond(response(&req, 500), now).is_err());
        assert!(tx.respond(response(&req, 180), now).is_err());
    }

    #[test]
    fn completed_keeps_only_the_response_and_no_queue() {
        let now = t0();
        let req = request(Method::Bye, "z9hG4bKn");
        let mut tx = ServerNonInvite::new(req.clone(), false, TimerConfig::default(), now);
        assert_eq!(tx.request(), Some(&req));
        tx.respond(response(&req, 200), now).unwrap();
        assert_eq!(tx.request(), None, "Timer J must not hold the request");
        drain(&mut tx);
        assert_eq!(
            tx.out.capacity(),
            0,
            "a drained queue gives its buffer back"
        );
        // The response is still there for a retransmitted request.
        tx.handle_retransmission(now + ms(100));
        assert_eq!(sent_status(&drain(&mut tx)), [200]);
    }
}
