//! INVITE server transaction (RFC 3261 17.2.1, with RFC 6026's Accepted
//! state and the UAS 2xx retransmission of 13.3.1.4).
//!
//! ```text
//!  Proceeding --TU 2xx--> Accepted --Timer L--> Terminated
//!     |  (100 Trying after 200 ms if the TU is silent)
//!     +--TU 300-699--> Completed --ACK--> Confirmed --Timer I--> Terminated
//!                         +--Timer H (no ACK)--> Terminated + Timeout
//! ```
//! Retransmitted INVITEs are answered with the last response sent (nothing
//! in Accepted, where the 2xx retransmission timer already resends it).

use std::collections::VecDeque;
use std::time::Instant;

use super::lingering::{Absorbs, Lingering};
use super::timers::{due, earliest, Retransmit, TimerConfig};
use super::{TransactionError, TxEvent, TxOutput};
use crate::message::{Message, Request, Response};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerInviteState {
    Proceeding,
    /// A non-2xx final was sent; waiting for its ACK (Timers G, H).
    Completed,
    /// The ACK arrived; absorbing ACK retransmissions (Timer I).
    Confirmed,
    /// A 2xx was sent; retransmitting it until its ACK, absorbing INVITE
    /// retransmissions until Timer L.
    Accepted,
    Terminated,
}

impl ServerInviteState {
    fn name(self) -> &'static str {
        match self {
            ServerInviteState::Proceeding => "Proceeding",
            ServerInviteState::Completed => "Completed",
            ServerInviteState::Confirmed => "Confirmed",
            ServerInviteState::Accepted => "Accepted",
            ServerInviteState::Terminated => "Terminated",
        }
    }
}

#[derive(Debug)]
pub struct ServerInvite {
    state: ServerInviteState,
    /// The INVITE, until nothing more can be sent for it: dropped with the
    /// last response once the 2xx is ACKed (Timer L keeps the transaction
    /// 32 s after that) or once the ACK for a non-2xx arrived.
    /// Boxed, as the response: the machine lives 32 s after its 2xx, so
    /// its own size counts (see `layer::Machine`).
    request: Option<Box<Request>>,
    reliable: bool,
    config: TimerConfig,
    /// Last response sent, re-sent for a retransmitted INVITE.
    last_response: Option<Box<Response>>,
    /// When to send 100 Trying if the TU has not responded yet.
    timer_trying: Option<Instant>,
    timer_g: Option<Retransmit>,
    timer_h: Option<Instant>,
    timer_i: Option<Instant>,
    timer_l: Option<Instant>,
    /// 2xx retransmission (13.3.1.4); cleared by the ACK.
    retransmit_2xx: Option<Retransmit>,
    acked: bool,
    out: VecDeque<TxOutput>,
}

impl ServerInvite {
    /// A new INVITE arrived; the layer hands it to the TU separately.
    pub fn new(request: Request, reliable: bool, config: TimerConfig, now: Instant) -> Self {
        ServerInvite {
            state: ServerInviteState::Proceeding,
            request: Some(Box::new(request)),
            reliable,
            config,
            last_response: None,
            timer_trying: Some(now + config.trying_delay),
            timer_g: None,
            timer_h: None,
            timer_i: None,
            timer_l: None,
            retransmit_2xx: None,
            acked: false,
            out: VecDeque::new(),
        }
    }

    pub fn state(&self) -> ServerInviteState {
        self.state
    }

    /// The INVITE while a response may still be sent for it (see the field).
    pub fn request(&self) -> Option<&Request> {
        self.request.as_deref()
    }

    /// True once the 2xx this transaction sent has been ACKed.
    pub fn acked(&self) -> bool {
        self.acked
    }

    /// The TU's response to the INVITE.
    pub fn respond(&mut self, response: Response, now: Instant) -> Result<(), TransactionError> {
        use ServerInviteState::*;
        let status = response.status;
        match (self.state, status) {
            (Proceeding, 100..=199) => {
                self.timer_trying = None;
                self.send(response);
            }
            (Proceeding, 200..=299) => {
                self.timer_trying = None;
                self.state = Accepted;
                self.timer_l = Some(now + self.config.t1x64());
                // 13.3.1.4 retransmits the 2xx whatever the transport: a
                // proxy beyond a reliable hop may still be on UDP.
                self.retransmit_2xx =
                    Some(Retransmit::start(now, self.config.t1, Some(self.config.t2)));
                self.send(response);
            }
            // The TU may re-send its 2xx in Accepted (RFC 6026 7.1).
            (Accepted, 200..=299) => self.send(response),
            (Proceeding, 300..=699) => {
                self.timer_trying = None;
                self.state = Completed;
                self.timer_h = Some(now + self.config.t1x64());
                self.timer_g = (!self.reliable)
                    .then(|| Retransmit::start(now, self.config.t1, Some(self.config.t2)));
                self.send(response);
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

    /// A retransmission of the INVITE (matched by the layer).
    pub fn handle_retransmission(&mut self, _now: Instant) {
        if matches!(
            self.state,
            ServerInviteState::Proceeding | ServerInviteState::Completed
        ) {
            if let Some(r) = &self.last_response {
                self.out
                    .push_back(TxOutput::Send(Message::Response(Response::clone(r))));
            }
        }
    }

    /// An ACK matched to this transaction: the ACK for our non-2xx (same
    /// branch) in Completed, or the ACK for our 2xx (matched by dialog) in
    /// Accepted.
    pub fn handle_ack(&mut self, now: Instant) {
        match self.state {
            ServerInviteState::Completed => {
                self.state = ServerInviteState::Confirmed;
                self.timer_g = None;
                self.timer_h = None;
                self.request = None;
                self.last_response = None;
                if self.reliable {
                    self.terminate();
                } else {
                    self.timer_i = Some(now + self.config.t4);
                }
            }
            ServerInviteState::Accepted => {
                self.acked = true;
                self.retransmit_2xx = None;
                self.request = None;
                self.last_response = None;
            }
            _ => {}
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        use ServerInviteState::*;
        match self.state {
            Proceeding => {
                if due(self.timer_trying, now) {
                    self.timer_trying = None;
                    if let Some(invite) = &self.request {
                        let trying = Response::for_request(invite, 100);
                        self.send(trying);
                    }
                }
            }
            Completed => {
                if due(self.timer_h, now) {
                    // No ACK ever came: tell the TU the transaction failed.
                    self.out.push_back(TxOutput::Event(TxEvent::Timeout));
                    self.terminate();
                    return;
                }
                if let Some(g) = self.timer_g.as_mut().filter(|g| g.is_due(now)) {
                    g.fire(now);
                    self.resend_last();
                }
            }
            Confirmed => {
                if due(self.timer_i, now) {
                    self.terminate();
                }
            }
            Accepted => {
                if due(self.timer_l, now) {
                    if !self.acked {
                        self.out.push_back(TxOutput::Event(TxEvent::AckTimeout));
                    }
                    self.terminate();
                    return;
                }
                if let Some(r) = self.retransmit_2xx.as_mut().filter(|r| r.is_due(now)) {
                    r.fire(now);
                    self.resend_last();
                }
            }
            Terminated => {}
        }
    }

    pub fn handle_transport_error(&mut self, _now: Instant) {
        if self.state != ServerInviteState::Terminated {
            self.out.push_back(TxOutput::Event(TxEvent::TransportError));
            self.terminate();
        }
    }

    /// Once the transaction only waits out Timer L (its 2xx was ACKed) or
    /// Timer I, and has nothing left to hand out: the compact form the
    /// layer keeps in its place.
    pub fn lingering(&mut self) -> Option<Lingering> {
        if !self.out.is_empty() {
            return None;
        }
        match self.state {
            ServerInviteState::Accepted if self.acked => self
                .timer_l
                .map(|l| Lingering::new(Absorbs::InviteRetransmissions, l, None)),
            ServerInviteState::Confirmed => {
                self.timer_i.map(|i| Lingering::new(Absorbs::Acks, i, None))
            }
            _ => None,
        }
    }

    pub fn poll_output(&mut self) -> Option<TxOutput> {
        super::pop_output(&mut self.out)
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        earliest(&[
            self.timer_trying,
            self.timer_g.map(|g| g.deadline()),
            self.timer_h,
            self.timer_i,
            self.timer_l,
            self.retransmit_2xx.map(|r| r.deadline()),
        ])
    }

    fn send(&mut self, response: Response) {
        self.out
            .push_back(TxOutput::Send(Message::Response(response.clone())));
        self.last_response = Some(Box::new(response));
    }

    fn resend_last(&mut self) {
        if let Some(r) = &self.last_response {
            self.out
                .push_back(TxOutput::Send(Message::Response(Response::clone(r))));
        }
    }

    fn terminate(&mut self) {
        self.state = ServerInviteState::Terminated;
        self.timer_trying = None;
        self.timer_g = None;
        self.timer_h = None;
        self.timer_i = None;
        self.timer_l = None;
        self.retransmit_2xx = None;
        self.out.push_back(TxOutput::Event(TxEvent::Terminated));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::test_clock::t0;
    use crate::transaction::test_support::{invite, response};
    use std::time::Duration;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn drain(tx: &mut ServerInvite) -> Vec<TxOutput> {
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

    fn new_tx(reliable: bool, now: Instant) -> (ServerInvite, Request) {
        let req = invite("z9hG4bKs");
        (
            ServerInvite::new(req.clone(), reliable, TimerConfig::default(), now),
            req,
        )
    }

    #[test]
    fn trying_sent_after_200ms_when_tu_is_silent() {
        let now = t0();
        let (mut tx, req) = new_tx(false, now);
        assert!(drain(&mut tx).is_empty());
        assert_eq!(tx.poll_timeout(), Some(now + ms(200)));
        tx.handle_timeout(now + ms(199));
        assert!(drain(&mut tx).is_empty());
        tx.handle_timeout(now + ms(200));
        let outs = drain(&mut tx);
        assert_eq!(sent_status(&outs), [100]);
        let TxOutput::Send(Message::Response(trying)) = &outs[0] else {
            unreachable!()
        };
        assert_eq!(trying.headers.get("Via"), req.headers.get("Via"));
        assert_eq!(trying.headers.get("CSeq"), Some("1 INVITE"));
        assert_eq!(
            trying.headers.get("To"),
            req.headers.get("To"),
            "no tag on 100"
        );
        assert_eq!(tx.poll_timeout(), None, "no timers in Proceeding after 100");
        // A retransmitted INVITE gets the 100 again.
        tx.handle_retransmission(now + ms(500));
        assert_eq!(sent_status(&drain(&mut tx)), [100]);
    }

    #[test]
    fn no_trying_when_tu_responds_first() {
        let now = t0();
        let (mut tx, req) = new_tx(false, now);
        tx.respond(response(&req, 180), now + ms(50)).unwrap();
        assert_eq!(sent_status(&drain(&mut tx)), [180]);
        tx.handle_timeout(now + ms(200));
        assert!(drain(&mut tx).is_empty());
        tx.handle_retransmission(now + ms(500));
        assert_eq!(
            sent_status(&drain(&mut tx)),
            [180],
            "last provisional re-sent"
        );
    }

    #[test]
    fn retransmission_before_any_response_is_absorbed() {
        let now = t0();
        let (mut tx, _) = new_tx(false, now);
        tx.handle_retransmission(now + ms(100));
        assert!(drain(&mut tx).is_empty());
    }

    #[test]
    fn timer_g_retransmits_final_capped_at_t2_then_timer_h_fails() {
        let now = t0();
        let (mut tx, req) = new_tx(false, now);
        tx.respond(response(&req, 486), now).unwrap();
        assert_eq!(sent_status(&drain(&mut tx)), [486]);
        assert_eq!(tx.state(), ServerInviteState::Completed);
        let mut at = now;
        let mut gaps = Vec::new();
        loop {
            let next = tx.poll_timeout().unwrap();
            tx.handle_timeout(next);
            let outs = drain(&mut tx);
            if outs.contains(&TxOutput::Event(TxEvent::Timeout)) {
                assert_eq!(next - now, ms(32_000), "Timer H is 64*T1");
                assert_eq!(outs.last(), Some(&TxOutput::Event(TxEvent::Terminated)));
                break;
            }
            assert_eq!(sent_status(&outs), [486]);
            gaps.push(next - at);
            at = next;
        }
        assert_eq!(&gaps[..5], &[500, 1000, 2000, 4000, 4000].map(ms));
        assert!(gaps[4..].iter().all(|g| *g == ms(4000)));
        assert_eq!(tx.state(), ServerInviteState::Terminated);
    }

    #[test]
    fn retransmitted_invite_in_completed_gets_final_again() {
        let now = t0();
        let (mut tx, req) = new_tx(false, now);
        tx.respond(response(&req, 480), now).unwrap();
        drain(&mut tx);
        tx.handle_retransmission(now + ms(100));
        assert_eq!(sent_status(&drain(&mut tx)), [480]);
    }

    #[test]
    fn ack_confirms_and_timer_i_absorbs_ack_retransmissions() {
        let now = t0();
        let (mut tx, req) = new_tx(false, now);
        tx.respond(response(&req, 404), now).unwrap();
        drain(&mut tx);
        tx.handle_ack(now + ms(700));
        assert_eq!(tx.state(), ServerInviteState::Confirmed);
        assert!(drain(&mut tx).is_empty());
        // G no longer fires; only Timer I (T4 = 5 s) is pending.
        assert_eq!(tx.poll_timeout(), Some(now + ms(5700)));
        tx.handle_ack(now + ms(1000));
        tx.handle_retransmission(now + ms(1000));
        assert!(
            drain(&mut tx).is_empty(),
            "ACK and INVITE retransmissions absorbed"
        );
        tx.handle_timeout(now + ms(5700));
        assert_eq!(drain(&mut tx), [TxOutput::Event(TxEvent::Terminated)]);
    }

    #[test]
    fn reliable_transport_no_timer_g_and_i_is_zero() {
        let now = t0();
        let (mut tx, req) = new_tx(true, now);
        tx.respond(response(&req, 486), now).unwrap();
        drain(&mut tx);
        assert_eq!(tx.poll_timeout(), Some(now + ms(32_000)), "only Timer H");
        tx.handle_ack(now + ms(10));
        assert_eq!(drain(&mut tx), [TxOutput::Event(TxEvent::Terminated)]);
        assert_eq!(tx.state(), ServerInviteState::Terminated);
    }

    #[test]
    fn reliable_transport_timer_h_still_fires() {
        let now = t0();
        let (mut tx, req) = new_tx(true, now);
        tx.respond(response(&req, 486), now).unwrap();
        drain(&mut tx);
        tx.handle_timeout(now + ms(32_000));
        assert_eq!(
            drain(&mut tx),
            [
                TxOutput::Event(TxEvent::Timeout),
                TxOutput::Event(TxEvent::Terminated)
            ]
        );
    }

    #[test]
    fn two_xx_retransmitted_until_ack_then_timer_l_terminates_quietly() {
        let now = t0();
        let (mut tx, req) = new_tx(false, now);
        tx.respond(response(&req, 200), now).unwrap();
        assert_eq!(sent_status(&drain(&mut tx)), [200]);
        assert_eq!(tx.state(), ServerInviteState::Accepted);
        tx.handle_timeout(now + ms(500));
        assert_eq!(sent_status(&drain(&mut tx)), [200]);
        tx.handle_timeout(now + ms(1500));
        assert_eq!(sent_status(&drain(&mut tx)), [200]);
        tx.handle_ack(now + ms(1600));
        assert!(tx.acked());
        // INVITE retransmissions are absorbed, no more 2xx retransmissions.
        tx.handle_retransmission(now + ms(1700));
        assert!(drain(&mut tx).is_empty());
        assert_eq!(
            tx.poll_timeout(),
            Some(now + ms(32_000)),
            "only Timer L left"
        );
        tx.handle_timeout(now + ms(32_000));
        assert_eq!(drain(&mut tx), [TxOutput::Event(TxEvent::Terminated)]);
    }

    #[test]
    fn two_xx_without_ack_reports_ack_timeout() {
        let now = t0();
        let (mut tx, req) = new_tx(true, now);
        tx.respond(response(&req, 200), now).unwrap();
        drain(&mut tx);
        let mut resent = Vec::new();
        let mut timed_out_at = None;
        while let Some(at) = tx.poll_timeout() {
            tx.handle_timeout(at);
            let outs = drain(&mut tx);
            if !sent_status(&outs).is_empty() {
                resent.push(at - now);
            }
            if outs.contains(&TxOutput::Event(TxEvent::AckTimeout)) {
                timed_out_at = Some(at - now);
                assert_eq!(outs.last(), Some(&TxOutput::Event(TxEvent::Terminated)));
            }
        }
        // Even over TCP (13.3.1.4): 0.5, 1.5, 3.5, 7.5, then every T2.
        let expected: Vec<Duration> = [
            500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500,
        ]
        .into_iter()
        .map(ms)
        .collect();
        assert_eq!(resent, expected);
        assert_eq!(timed_out_at, Some(ms(32_000)), "Timer L is 64*T1");
        assert_eq!(tx.state(), ServerInviteState::Terminated);
    }

    #[test]
    fn second_final_response_is_refused() {
        let now = t0();
        let (mut tx, req) = new_tx(false, now);
        tx.respond(response(&req, 486), now).unwrap();
        let err = tx.respond(response(&req, 200), now).unwrap_err();
        assert_eq!(
            err,
            TransactionError::ResponseNotAllowed {
                status: 200,
                state: "Completed"
            }
        );
    }

    #[test]
    fn acked_2xx_drops_the_invite_and_the_response() {
        let now = t0();
        let (mut tx, req) = new_tx(false, now);
        tx.respond(response(&req, 200), now).unwrap();
        drain(&mut tx);
        assert_eq!(
            tx.request(),
            Some(&req),
            "kept while the 2xx may be re-sent"
        );
        tx.handle_ack(now + ms(100));
        assert_eq!(tx.request(), None, "Timer L must not hold the INVITE");
        assert!(tx.last_response.is_none());
        assert_eq!(tx.out.capacity(), 0);
        tx.handle_retransmission(now + ms(200));
        tx.handle_timeout(now + ms(600));
        assert!(drain(&mut tx).is_empty());
    }

    #[test]
    fn confirmed_drops_the_invite_and_the_response() {
        let now = t0();
        let (mut tx, req) = new_tx(false, now);
        tx.respond(response(&req, 486), now).unwrap();
        drain(&mut tx);
        tx.handle_retransmission(now + ms(100));
        assert_eq!(sent_status(&drain(&mut tx)), [486], "re-sent until the ACK");
        tx.handle_ack(now + ms(200));
        assert_eq!(tx.request(), None);
        assert!(tx.last_response.is_none());
    }
}
