//! INVITE client transaction (RFC 3261 17.1.1, with RFC 6026's Accepted
//! state).
//!
//! ```text
//!   Calling --1xx--> Proceeding --2xx--> Accepted --Timer M--> Terminated
//!      |                 |
//!      +---300-699-------+--> Completed (ACK sent) --Timer D--> Terminated
//!      +---Timer B / transport error--> Terminated
//! ```
//! Timer A retransmits the INVITE over unreliable transport while Calling.

use std::collections::VecDeque;
use std::time::Instant;

use super::timers::{due, earliest, Retransmit, TimerConfig};
use super::{TxEvent, TxOutput};
use crate::headers::CSeq;
use crate::message::{Message, Method, Request, Response};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientInviteState {
    Calling,
    Proceeding,
    /// A non-2xx final arrived and was ACKed; absorbing its retransmissions.
    Completed,
    /// A 2xx arrived; further 2xx (retransmitted or forked) go to the TU.
    Accepted,
    Terminated,
}

#[derive(Debug)]
pub struct ClientInvite {
    state: ClientInviteState,
    /// The INVITE: whole while it may be re-sent or cancelled, cut down to
    /// what a dialog is built from once a 2xx arrived (Timer M keeps the
    /// transaction 32 s, and the TU may still need to build a dialog for a
    /// late fork's 2xx), dropped once a non-2xx was ACKed.
    /// Boxed, as the ACK: the machine lives 32 s after a 2xx (Timer M), so
    /// its own size counts (see `layer::Machine`).
    request: Option<Box<Request>>,
    reliable: bool,
    config: TimerConfig,
    timer_a: Option<Retransmit>,
    timer_b: Option<Instant>,
    timer_d: Option<Instant>,
    timer_m: Option<Instant>,
    /// The ACK for the non-2xx final, re-sent for each retransmission of it.
    ack: Option<Box<Request>>,
    out: VecDeque<TxOutput>,
}

impl ClientInvite {
    /// Starts the transaction: the INVITE is queued for sending at once.
    pub fn new(request: Request, reliable: bool, config: TimerConfig, now: Instant) -> Self {
        let mut out = VecDeque::new();
        out.push_back(TxOutput::Send(Message::Request(request.clone())));
        ClientInvite {
            state: ClientInviteState::Calling,
            request: Some(Box::new(request)),
            reliable,
            config,
            // Reliable transports retransmit for us: no Timer A.
            timer_a: (!reliable).then(|| Retransmit::start(now, config.t1, None)),
            timer_b: Some(now + config.t1x64()),
            timer_d: None,
            timer_m: None,
            ack: None,
            out,
        }
    }

    pub fn state(&self) -> ClientInviteState {
        self.state
    }

    /// The INVITE while the transaction may need it (see the field).
    pub fn request(&self) -> Option<&Request> {
        self.request.as_deref()
    }

    /// A response matched to this transaction by the layer.
    pub fn handle_response(&mut self, response: Response, now: Instant) {
        use ClientInviteState::*;
        let status = response.status;
        match self.state {
            Calling | Proceeding => match status {
                100..=199 => {
                    // The far end has it: stop retransmitting. Timer B only
                    // guards Calling; ringing time is the TU's policy.
                    self.state = Proceeding;
                    self.timer_a = None;
                    self.timer_b = None;
                    self.pass_up(response);
                }
                200..=299 => {
                    self.state = Accepted;
                    if let Some(invite) = &mut self.request {
                        **invite = crate::dialog::dialog_part(invite);
                    }
                    self.timer_a = None;
                    self.timer_b = None;
                    self.timer_m = Some(now + self.config.t1x64());
                    self.pass_up(response);
                }
                300..=699 => {
                    if let Some(invite) = self.request.take() {
                        let ack = build_ack(&invite, &response);
                        self.out
                            .push_back(TxOutput::Send(Message::Request(ack.clone())));
                        self.ack = Some(Box::new(ack));
                    }
                    self.timer_a = None;
                    self.timer_b = None;
                    self.pass_up(response);
                    self.state = Completed;
                    if self.reliable {
                        // Timer D is zero: no retransmissions to absorb.
                        self.terminate();
                    } else {
                        self.timer_d = Some(now + self.config.timer_d);
                    }
                }
                _ => {}
            },
            Accepted => {
                if (200..=299).contains(&status) {
                    self.pass_up(response);
                }
            }
            Completed => {
                // A retransmitted final: our ACK was lost, send it again.
                if (300..=699).contains(&status) {
                    if let Some(ack) = &self.ack {
                        self.out
                            .push_back(TxOutput::Send(Message::Request(Request::clone(ack))));
                    }
                }
            }
            Terminated => {}
        }
    }

    /// Fires every timer whose deadline is at or before `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        use ClientInviteState::*;
        if self.state == Calling {
            if due(self.timer_b, now) {
                self.out.push_back(TxOutput::Event(TxEvent::Timeout));
                self.terminate();
                return;
            }
            if let Some(a) = self.timer_a.as_mut().filter(|a| a.is_due(now)) {
                a.fire(now);
                if let Some(invite) = &self.request {
                    self.out
                        .push_back(TxOutput::Send(Message::Request(Request::clone(invite))));
                }
            }
        }
        if (self.state == Completed && due(self.timer_d, now))
            || (self.state == Accepted && due(self.timer_m, now))
        {
            self.terminate();
        }
    }

    /// The transport could not send the INVITE or ACK (RFC 3261 17.1.1.2).
    pub fn handle_transport_error(&mut self, _now: Instant) {
        if self.state != ClientInviteState::Terminated {
            self.out.push_back(TxOutput::Event(TxEvent::TransportError));
            self.terminate();
        }
    }

    pub fn poll_output(&mut self) -> Option<TxOutput> {
        super::pop_output(&mut self.out)
    }

    /// The next instant `handle_timeout` has work to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        earliest(&[
            self.timer_a.map(|a| a.deadline()),
            self.timer_b,
            self.timer_d,
            self.timer_m,
        ])
    }

    fn pass_up(&mut self, response: Response) {
        self.out
            .push_back(TxOutput::Event(TxEvent::Response(response)));
    }

    fn terminate(&mut self) {
        self.state = ClientInviteState::Terminated;
        self.timer_a = None;
        self.timer_b = None;
        self.timer_d = None;
        self.timer_m = None;
        self.out.push_back(TxOutput::Event(TxEvent::Terminated));
    }
}

/// The ACK a client transaction sends for a non-2xx final (RFC 3261
/// 17.1.1.3): same Request-URI, Call-ID, From and CSeq number as the INVITE,
/// To from the response (with its tag), only the INVITE's top Via, and the
/// INVITE's Route headers.
fn build_ack(invite: &Request, response: &Response) -> Request {
    let mut ack = Request::new(Method::Ack, invite.uri.clone());
    if let Ok(via) = invite.top_via() {
        ack.headers.push("Via", via.to_string());
    }
    for route in invite.headers.get_all("Route") {
        ack.headers.push("Route", route);
    }
    ack.headers.push("Max-Forwards", "70");
    copy(&invite.headers, &mut ack.headers, "From");
    match response.headers.get("To") {
        Some(to) => ack.headers.push("To", to),
        None => copy(&invite.headers, &mut ack.headers, "To"),
    }
    copy(&invite.headers, &mut ack.headers, "Call-ID");
    if let Ok(cseq) = invite.cseq() {
        ack.headers
            .push("CSeq", CSeq::new(cseq.seq, Method::Ack).to_string());
    }
    ack
}

/// The CANCEL for a pending INVITE (RFC 3261 9.1): same Request-URI,
/// Call-ID, From, To (no tag of ours to add) and CSeq number, method CANCEL,
/// only the INVITE's top Via (so its branch matches the INVITE's server
/// transaction), and the INVITE's Route headers.
pub fn build_cancel(invite: &Request) -> Request {
    let mut cancel = Request::new(Method::Cancel, invite.uri.clone());
    if let Ok(via) = invite.top_via() {
        cancel.headers.push("Via", via.to_string());
    }
    for route in invite.headers.get_all("Route") {
        cancel.headers.push("Route", route);
    }
    cancel.headers.push("Max-Forwards", "70");
    copy(&invite.headers, &mut cancel.headers, "From");
    copy(&invite.headers, &mut cancel.headers, "To");
    copy(&invite.headers, &mut cancel.headers, "Call-ID");
    if let Ok(cseq) = invite.cseq() {
        cancel
            .headers
            .push("CSeq", CSeq::new(cseq.seq, Method::Cancel).to_string());
    }
    cancel
}

fn copy(from: &crate::message::Headers, to: &mut crate::message::Headers, name: &str) {
    if let Some(v) = from.get(name) {
        to.push(name, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::test_clock::t0;
    use crate::transaction::test_support::{expect_send, invite, response};
    use std::time::Duration;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn drain(tx: &mut ClientInvite) -> Vec<TxOutput> {
        std::iter::from_fn(|| tx.poll_output()).collect()
    }

    fn sends(outs: &[TxOutput]) -> usize {
        outs.iter()
            .filter(|o| matches!(o, TxOutput::Send(_)))
            .count()
    }

    #[test]
    fn timer_a_doubles_without_cap_until_timer_b_times_out() {
        let now = t0();
        let mut tx = ClientInvite::new(invite("z9hG4bKa"), false, TimerConfig::default(), now);
        assert!(
            matches!(expect_send(tx.poll_output()), Message::Request(r) if r.method == Method::Invite)
        );
        assert_eq!(tx.poll_output(), None);

        // Retransmissions at 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s: gaps 0.5, 1,
        // 2, 4, 8, 16 s (A is not capped at T2), then Timer B at 32 s.
        let mut at = now;
        let mut gaps = Vec::new();
        loop {
            let next = tx.poll_timeout().expect("a timer is pending");
            tx.handle_timeout(next);
            let outs = drain(&mut tx);
            if outs.contains(&TxOutput::Event(TxEvent::Timeout)) {
                assert_eq!(next - now, ms(32_000), "Timer B is 64*T1");
                assert_eq!(outs.last(), Some(&TxOutput::Event(TxEvent::Terminated)));
                break;
            }
            assert_eq!(sends(&outs), 1);
            gaps.push(next - at);
            at = next;
        }
        assert_eq!(gaps, [500, 1000, 2000, 4000, 8000, 16000].map(ms));
        assert_eq!(tx.state(), ClientInviteState::Terminated);
        assert_eq!(tx.poll_timeout(), None);
    }

    #[test]
    fn timer_a_does_not_fire_early() {
        let now = t0();
        let mut tx = ClientInvite::new(invite("z9hG4bKa"), false, TimerConfig::default(), now);
        drain(&mut tx);
        tx.handle_timeout(now + ms(499));
        assert!(drain(&mut tx).is_empty());
        tx.handle_timeout(now + ms(500));
        assert_eq!(sends(&drain(&mut tx)), 1);
    }

    #[test]
    fn reliable_transport_has_no_timer_a_but_keeps_timer_b() {
        let now = t0();
        let mut tx = ClientInvite::new(invite("z9hG4bKa"), true, TimerConfig::default(), now);
        drain(&mut tx);
        assert_eq!(tx.poll_timeout(), Some(now + ms(32_000)));
        tx.handle_timeout(now + ms(31_999));
        assert!(drain(&mut tx).is_empty());
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
    fn provisional_stops_retransmission_and_timer_b() {
        let now = t0();
        let req = invite("z9hG4bKa");
        let mut tx = ClientInvite::new(req.clone(), false, TimerConfig::default(), now);
        drain(&mut tx);
        let ringing = response(&req, 180);
        tx.handle_response(ringing.clone(), now + ms(100));
        assert_eq!(
            drain(&mut tx),
            [TxOutput::Event(TxEvent::Response(ringing))]
        );
        assert_eq!(tx.state(), ClientInviteState::Proceeding);
        assert_eq!(tx.poll_timeout(), None);
        tx.handle_timeout(now + ms(60_000));
        assert!(drain(&mut tx).is_empty());
    }

    #[test]
    fn non_2xx_is_acked_and_timer_d_absorbs_retransmissions() {
        let now = t0();
        let req = invite("z9hG4bKa");
        let mut tx = ClientInvite::new(req.clone(), false, TimerConfig::default(), now);
        drain(&mut tx);
        let busy = response(&req, 486);
        tx.handle_response(busy.clone(), now + ms(200));
        let outs = drain(&mut tx);
        assert_eq!(outs.len(), 2);
        let Message::Request(ack) = expect_send(Some(outs[0].clone())) else {
            panic!("ACK is a request")
        };
        assert_eq!(ack.method, Method::Ack);
        assert_eq!(ack.uri, req.uri);
        assert_eq!(ack.headers.get("CSeq"), Some("1 ACK"));
        assert_eq!(
            ack.headers.get("To"),
            busy.headers.get("To"),
            "To carries the tag"
        );
        assert_eq!(ack.headers.get_all("Via").count(), 1);
        assert_eq!(ack.top_via().unwrap().branch(), Some("z9hG4bKa"));
        assert_eq!(ack.headers.get("Route"), Some("<sip:proxy.example;lr>"));
        assert_eq!(outs[1], TxOutput::Event(TxEvent::Response(busy.clone())));
        assert_eq!(tx.state(), ClientInviteState::Completed);

        // A retransmitted 486 gets the same ACK again and is not passed up.
        tx.handle_response(busy.clone(), now + ms(1000));
        assert_eq!(drain(&mut tx), [TxOutput::Send(Message::Request(ack))]);

        // Timer D: 32 s after the final response.
        assert_eq!(tx.poll_timeout(), Some(now + ms(32_200)));
        tx.handle_timeout(now + ms(32_199));
        assert!(drain(&mut tx).is_empty());
        tx.handle_timeout(now + ms(32_200));
        assert_eq!(drain(&mut tx), [TxOutput::Event(TxEvent::Terminated)]);
    }

    #[test]
    fn non_2xx_over_reliable_transport_terminates_at_once() {
        let now = t0();
        let req = invite("z9hG4bKa");
        let mut tx = ClientInvite::new(req.clone(), true, TimerConfig::default(), now);
        drain(&mut tx);
        tx.handle_response(response(&req, 603), now);
        let outs = drain(&mut tx);
        assert_eq!(sends(&outs), 1, "ACK still sent");
        assert_eq!(outs.last(), Some(&TxOutput::Event(TxEvent::Terminated)));
        assert_eq!(tx.state(), ClientInviteState::Terminated);
    }

    #[test]
    fn two_xx_goes_to_tu_without_ack_and_timer_m_passes_retransmissions() {
        let now = t0();
        let req = invite("z9hG4bKa");
        let mut tx = ClientInvite::new(req.clone(), false, TimerConfig::default(), now);
        drain(&mut tx);
        let ok = response(&req, 200);
        tx.handle_response(ok.clone(), now + ms(300));
        assert_eq!(
            drain(&mut tx),
            [TxOutput::Event(TxEvent::Response(ok.clone()))]
        );
        assert_eq!(tx.state(), ClientInviteState::Accepted);
        // A retransmitted 2xx reaches the TU again (it re-sends its ACK).
        tx.handle_response(ok.clone(), now + ms(800));
        assert_eq!(drain(&mut tx), [TxOutput::Event(TxEvent::Response(ok))]);
        assert_eq!(tx.poll_timeout(), Some(now + ms(32_300)));
        tx.handle_timeout(now + ms(32_300));
        assert_eq!(drain(&mut tx), [TxOutput::Event(TxEvent::Terminated)]);
    }

    #[test]
    fn transport_error_terminates_with_event() {
        let now = t0();
        let mut tx = ClientInvite::new(invite("z9hG4bKa"), false, TimerConfig::default(), now);
        drain(&mut tx);
        tx.handle_transport_error(now);
        assert_eq!(
            drain(&mut tx),
            [
                TxOutput::Event(TxEvent::TransportError),
                TxOutput::Event(TxEvent::Terminated)
            ]
        );
        tx.handle_transport_error(now);
        assert!(drain(&mut tx).is_empty(), "only once");
    }

    #[test]
    fn cancel_copies_invite_identity() {
        let req = invite("z9hG4bKc");
        let cancel = build_cancel(&req);
        assert_eq!(cancel.method, Method::Cancel);
        assert_eq!(cancel.uri, req.uri);
        assert_eq!(cancel.headers.get("CSeq"), Some("1 CANCEL"));
        assert_eq!(cancel.top_via(), req.top_via());
        assert_eq!(cancel.headers.get_all("Via").count(), 1);
        assert_eq!(cancel.headers.get("To"), req.headers.get("To"));
        assert_eq!(cancel.headers.get("From"), req.headers.get("From"));
        assert_eq!(cancel.headers.get("Call-ID"), req.headers.get("Call-ID"));
    }

    #[test]
    fn accepted_keeps_only_the_dialog_part_of_the_invite() {
        let now = t0();
        let mut req = invite("z9hG4bKa");
        req.headers.push("Contact", "<sip:us@192.0.2.1:5060>");
        req.headers.push("Content-Type", "application/sdp");
        req.body = b"v=0\r\n".to_vec();
        let mut tx = ClientInvite::new(req.clone(), false, TimerConfig::default(), now);
        assert_eq!(tx.request(), Some(&req), "whole while it may be re-sent");
        drain(&mut tx);
        tx.handle_response(response(&req, 200), now + ms(300));
        drain(&mut tx);
        let kept = tx
            .request()
            .expect("a late fork's 2xx still needs a dialog");
        assert!(kept.body.is_empty());
        assert_eq!(kept.headers.get("Via"), None);
        assert_eq!(kept.headers.get("Content-Type"), None);
        for name in ["Call-ID", "From", "To", "CSeq", "Contact"] {
            assert_eq!(kept.headers.get(name), req.headers.get(name), "{name}");
        }
        assert_eq!(kept.uri, req.uri);
        let mut ok = response(&req, 200);
        ok.headers.push("Contact", "<sip:them@192.0.2.9:5060>");
        let dialog = crate::dialog::Dialog::uac(kept, &ok);
        assert!(dialog.is_ok(), "{dialog:?}");
        assert_eq!(tx.out.capacity(), 0);
    }

    #[test]
    fn completed_keeps_the_ack_not_the_invite() {
        let now = t0();
        let req = invite("z9hG4bKa");
        let mut tx = ClientInvite::new(req.clone(), false, TimerConfig::default(), now);
        drain(&mut tx);
        tx.handle_response(response(&req, 486), now + ms(300));
        assert_eq!(sends(&drain(&mut tx)), 1, "the ACK");
        assert_eq!(tx.request(), None);
        tx.handle_response(response(&req, 486), now + ms(400));
        assert_eq!(sends(&drain(&mut tx)), 1, "the ACK again");
    }
}
