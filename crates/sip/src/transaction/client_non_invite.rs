//! Non-INVITE client transaction (RFC 3261 17.1.2): BYE, CANCEL, OPTIONS,
//! INFO, REGISTER, ...
//!
//! ```text
//!   Trying --1xx--> Proceeding --final--> Completed --Timer K--> Terminated
//!     +----------final-------------------^
//!     +--Timer F / transport error (Trying or Proceeding)--> Terminated
//! ```
//! Timer E retransmits over unreliable transport: T1 doubling to T2 while
//! Trying, every T2 once Proceeding.

use std::collections::VecDeque;
use std::time::Instant;

use super::timers::{due, earliest, Retransmit, TimerConfig};
use super::{TxEvent, TxOutput};
use crate::message::{Message, Request, Response};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientNonInviteState {
    Trying,
    Proceeding,
    /// A final arrived; absorbing its retransmissions for Timer K.
    Completed,
    Terminated,
}

#[derive(Debug)]
pub struct ClientNonInvite {
    state: ClientNonInviteState,
    /// Dropped once a final arrives: nothing is re-sent after that.
    /// Boxed (see `layer::Machine`).
    request: Option<Box<Request>>,
    reliable: bool,
    config: TimerConfig,
    timer_e: Option<Retransmit>,
    timer_f: Option<Instant>,
    timer_k: Option<Instant>,
    out: VecDeque<TxOutput>,
}

impl ClientNonInvite {
    /// Starts the transaction: the request is queued for sending at once.
    pub fn new(request: Request, reliable: bool, config: TimerConfig, now: Instant) -> Self {
        let mut out = VecDeque::new();
        out.push_back(TxOutput::Send(Message::Request(request.clone())));
        ClientNonInvite {
            state: ClientNonInviteState::Trying,
            request: Some(Box::new(request)),
            reliable,
            config,
            timer_e: (!reliable).then(|| Retransmit::start(now, config.t1, Some(config.t2))),
            timer_f: Some(now + config.t1x64()),
            timer_k: None,
            out,
        }
    }

    pub fn state(&self) -> ClientNonInviteState {
        self.state
    }

    /// The request, until a final response arrived.
    pub fn request(&self) -> Option<&Request> {
        self.request.as_deref()
    }

    pub fn handle_response(&mut self, response: Response, now: Instant) {
        use ClientNonInviteState::*;
        match (self.state, response.status) {
            (Trying | Proceeding, 100..=199) => {
                if self.state == Trying {
                    // Someone is working on it: keep retransmitting (UDP may
                    // still lose the final) but only every T2.
                    if let Some(e) = self.timer_e.as_mut() {
                        e.fix_interval(self.config.t2);
                    }
                }
                self.state = Proceeding;
                self.out
                    .push_back(TxOutput::Event(TxEvent::Response(response)));
            }
            (Trying | Proceeding, 200..=699) => {
                self.timer_e = None;
                self.timer_f = None;
                self.out
                    .push_back(TxOutput::Event(TxEvent::Response(response)));
                self.state = Completed;
                self.request = None;
                if self.reliable {
                    self.terminate();
                } else {
                    self.timer_k = Some(now + self.config.t4);
                }
            }
            // Completed: retransmitted finals are absorbed.
            _ => {}
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        use ClientNonInviteState::*;
        match self.state {
            Trying | Proceeding => {
                if due(self.timer_f, now) {
                    self.out.push_back(TxOutput::Event(TxEvent::Timeout));
                    self.terminate();
                    return;
                }
                if let Some(e) = self.timer_e.as_mut().filter(|e| e.is_due(now)) {
                    e.fire(now);
                    if let Some(request) = &self.request {
                        self.out
                            .push_back(TxOutput::Send(Message::Request(Request::clone(request))));
                    }
                }
            }
            Completed => {
                if due(self.timer_k, now) {
                    self.terminate();
                }
            }
            Terminated => {}
        }
    }

    pub fn handle_transport_error(&mut self, _now: Instant) {
        if matches!(
            self.state,
            ClientNonInviteState::Trying | ClientNonInviteState::Proceeding
        ) {
            self.out.push_back(TxOutput::Event(TxEvent::TransportError));
            self.terminate();
        }
    }

    pub fn poll_output(&mut self) -> Option<TxOutput> {
        super::pop_output(&mut self.out)
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        earliest(&[
            self.timer_e.map(|e| e.deadline()),
            self.timer_f,
            self.timer_k,
        ])
    }

    fn terminate(&mut self) {
        self.state = ClientNonInviteState::Terminated;
        self.timer_e = None;
        self.timer_f = None;
        self.timer_k = None;
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

    fn drain(tx: &mut ClientNonInvite) -> Vec<TxOutput> {
        std::iter::from_fn(|| tx.poll_output()).collect()
    }

    fn is_send(outs: &[TxOutput]) -> bool {
        outs.len() == 1 && matches!(outs[0], TxOutput::Send(Message::Request(_)))
    }

    /// Runs the transaction's timers until nothing is pending; returns the
    /// instants of retransmissions (relative to `start`) and of the Timeout.
    fn run_timers(tx: &mut ClientNonInvite, start: Instant) -> (Vec<Duration>, Option<Duration>) {
        let mut retransmits = Vec::new();
        while let Some(at) = tx.poll_timeout() {
            tx.handle_timeout(at);
            let outs = drain(tx);
            if outs.contains(&TxOutput::Event(TxEvent::Timeout)) {
                return (retransmits, Some(at - start));
            }
            if is_send(&outs) {
                retransmits.push(at - start);
            }
        }
        (retransmits, None)
    }

    #[test]
    fn timer_e_doubles_capped_at_t2_then_timer_f_times_out() {
        let now = t0();
        let mut tx = ClientNonInvite::new(
            request(Method::Bye, "z9hG4bKb"),
            false,
            TimerConfig::default(),
            now,
        );
        assert!(is_send(&drain(&mut tx)));
        let (retransmits, timeout) = run_timers(&mut tx, now);
        // Gaps 0.5, 1, 2, 4, 4, 4, ... s until F at 32 s.
        let mut expected = vec![ms(500), ms(1500), ms(3500), ms(7500)];
        let mut t = 7500;
        while t + 4000 < 32_000 {
            t += 4000;
            expected.push(ms(t));
        }
        assert_eq!(retransmits, expected);
        assert_eq!(timeout, Some(ms(32_000)));
        assert_eq!(tx.state(), ClientNonInviteState::Terminated);
    }

    #[test]
    fn provisional_switches_timer_e_to_t2() {
        let now = t0();
        let req = request(Method::Options, "z9hG4bKb");
        let mut tx = ClientNonInvite::new(req.clone(), false, TimerConfig::default(), now);
        drain(&mut tx);
        tx.handle_timeout(now + ms(500)); // first retransmission, next in 1 s
        drain(&mut tx);
        let trying = response(&req, 100);
        tx.handle_response(trying.clone(), now + ms(600));
        assert_eq!(drain(&mut tx), [TxOutput::Event(TxEvent::Response(trying))]);
        assert_eq!(tx.state(), ClientNonInviteState::Proceeding);
        // The already-armed E still fires at 1.5 s, then every T2 (4 s).
        assert_eq!(tx.poll_timeout(), Some(now + ms(1500)));
        tx.handle_timeout(now + ms(1500));
        assert!(is_send(&drain(&mut tx)));
        assert_eq!(tx.poll_timeout(), Some(now + ms(5500)));
        tx.handle_timeout(now + ms(5500));
        assert!(is_send(&drain(&mut tx)));
        assert_eq!(tx.poll_timeout(), Some(now + ms(9500)));
        // Timer F still bounds Proceeding.
        let (_, timeout) = run_timers(&mut tx, now);
        assert_eq!(timeout, Some(ms(32_000)));
    }

    #[test]
    fn final_response_then_timer_k_absorbs_retransmissions() {
        let now = t0();
        let req = request(Method::Bye, "z9hG4bKb");
        let mut tx = ClientNonInvite::new(req.clone(), false, TimerConfig::default(), now);
        drain(&mut tx);
        let ok = response(&req, 200);
        tx.handle_response(ok.clone(), now + ms(50));
        assert_eq!(
            drain(&mut tx),
            [TxOutput::Event(TxEvent::Response(ok.clone()))]
        );
        assert_eq!(tx.state(), ClientNonInviteState::Completed);
        tx.handle_response(ok, now + ms(600));
        assert!(drain(&mut tx).is_empty(), "retransmitted final absorbed");
        // Timer K = T4 = 5 s; no retransmissions of the request meanwhile.
        assert_eq!(tx.poll_timeout(), Some(now + ms(5050)));
        tx.handle_timeout(now + ms(5049));
        assert!(drain(&mut tx).is_empty());
        tx.handle_timeout(now + ms(5050));
        assert_eq!(drain(&mut tx), [TxOutput::Event(TxEvent::Terminated)]);
    }

    #[test]
    fn reliable_transport_no_timer_e_and_k_is_zero() {
        let now = t0();
        let req = request(Method::Info, "z9hG4bKb");
        let mut tx = ClientNonInvite::new(req.clone(), true, TimerConfig::default(), now);
        drain(&mut tx);
        assert_eq!(tx.poll_timeout(), Some(now + ms(32_000)), "only Timer F");
        let ok = response(&req, 200);
        tx.handle_response(ok.clone(), now + ms(10));
        assert_eq!(
            drain(&mut tx),
            [
                TxOutput::Event(TxEvent::Response(ok)),
                TxOutput::Event(TxEvent::Terminated)
            ]
        );
        assert_eq!(tx.poll_timeout(), None);
    }

    #[test]
    fn reliable_transport_timer_f_still_fires() {
        let now = t0();
        let mut tx = ClientNonInvite::new(
            request(Method::Options, "z9hG4bKb"),
            true,
            TimerConfig::default(),
            now,
        );
        drain(&mut tx);
        let (retransmits, timeout) = run_timers(&mut tx, now);
        assert!(retransmits.is_empty());
        assert_eq!(timeout, Some(ms(32_000)));
    }

    #[test]
    fn t1_t2_are_configurable() {
        let now = t0();
        let config = TimerConfig {
            t1: ms(100),
            t2: ms(300),
            ..TimerConfig::default()
        };
        let mut tx = ClientNonInvite::new(request(Method::Options, "z9hG4bKb"), false, config, now);
        drain(&mut tx);
        let (retransmits, timeout) = run_timers(&mut tx, now);
        assert_eq!(&retransmits[..4], &[ms(100), ms(300), ms(600), ms(900)]);
        assert_eq!(timeout, Some(ms(6400)));
    }

    #[test]
    fn transport_error_terminates() {
        let now = t0();
        let mut tx = ClientNonInvite::new(
            request(Method::Bye, "z9hG4bKb"),
            false,
            TimerConfig::default(),
            now,
        );
        drain(&mut tx);
        tx.handle_transport_error(now);
        assert_eq!(
            drain(&mut tx),
            [
                TxOutput::Event(TxEvent::TransportError),
                TxOutput::Event(TxEvent::Terminated)
            ]
        );
        assert_eq!(tx.poll_timeout(), None);
    }

    #[test]
    fn completed_drops_the_request_and_the_queue() {
        let now = t0();
        let req = request(Method::Bye, "z9hG4bKc");
        let mut tx = ClientNonInvite::new(req.clone(), false, TimerConfig::default(), now);
        assert_eq!(tx.request(), Some(&req));
        drain(&mut tx);
        tx.handle_response(response(&req, 200), now + ms(10));
        drain(&mut tx);
        assert_eq!(tx.state(), ClientNonInviteState::Completed);
        assert_eq!(tx.request(), None, "Timer K must not hold the request");
        assert_eq!(tx.out.capacity(), 0);
        // Nothing is re-sent while Timer K runs.
        tx.handle_timeout(now + ms(1000));
        assert!(drain(&mut tx).is_empty());
    }
}
