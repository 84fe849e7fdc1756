//! Requests inside a dialog of the call, on either side: the caller's ACK of
//! our 2xx, BYE, INFO (DTMF), UPDATE and re-INVITE offers (answered here, as
//! media stays anchored on the switch, which is also how hold and resume
//! arrive), the BYEs we send, and 2xx retransmissions for forks the call no
//! longer wants.
//!
//! Apart from `call.rs` because these only start once a dialog exists, and
//! they are the same whichever side sent them: `Side` names the leg a
//! request came on, and most of this file works on "that leg".

use std::time::Instant;

use sdp::SessionDescription;
use sip::transaction::TransactionId;
use sip::{Method, Request, Response};
use store::Disposition;

use super::{Call, HangupBy, TxRole};
use crate::switch::leg::{Leg, LegState};
use crate::switch::{requests, Core};
use crate::transport::Peer;

impl Call {
    pub(in crate::switch) fn handle_ack(
        &mut self,
        _core: &mut Core,
        _req: &Request,
        _now: Instant,
    ) {
        if self.caller_leg.state == LegState::Answered {
            tracing::debug!(call = %self.id, "caller confirmed");
        }
    }

    /// BYE, INFO, UPDATE or re-INVITE inside one of our dialogs.
    pub(in crate::switch) fn handle_in_dialog(
        &mut self,
        core: &mut Core,
        tx: TransactionId,
        req: Request,
        _source: Peer,
        now: Instant,
    ) {
        let side = if self.caller_leg.matches(&req) {
            Some(Side::Caller)
        } else {
            self.callees
                .iter()
                .position(|l| l.matches(&req))
                .map(Side::Callee)
        };
        let Some(side) = side else {
            return requests::respond(core, tx, &req, 481, now);
        };
        if let Some(dialog) = self.leg_mut(side).dialog.as_mut() {
            if let Err(e) = dialog.receive_request(&req) {
                let resp = Response::for_request(&req, e.status()).with_reason(e.to_string());
                return requests::send(core, tx, resp, now);
            }
        }
        match req.method {
            Method::Bye => {
                requests::respond(core, tx, &req, 200, now);
                match side {
                    Side::Caller => {
                        self.caller_leg.state = LegState::Ended;
                        if self.answered.is_none()
                            && self.record.answered_at.is_none()
                            && !self.voicemail_left_or_recording()
                        {
                            self.record.disposition = Disposition::Abandoned;
                        }
                        self.flow_caller_gone(core, now);
                        self.release_callees(core, now);
                        self.finish(core, HangupBy::Caller, "normal clearing", now);
                    }
                    Side::Callee(i) if self.answered == Some(i) => {
                        self.callees[i].state = LegState::Ended;
                        self.hang_up(core, "normal clearing", HangupBy::Callee, now);
                    }
                    Side::Callee(i) => {
                        // A leg that was never bridged went away.
                        self.callees[i].state = LegState::Ended;
                        self.callees[i].final_status.get_or_insert(480);
                        self.maybe_all_failed(core, now);
                    }
                }
            }
            Method::Invite | Method::Update if !req.body.is_empty() => {
                self.answer_reoffer(core, tx, &req, side, now);
            }
            Method::Invite => {
                // No offer: ours again (the peer answers in the ACK).
                let mut resp = Response::for_request(&req, 200);
                resp.headers.push(
                    "Contact",
                    format!("<sip:switchboard@{}>", core.local_hostport()),
                );
                resp.headers.push("Content-Type", "application/sdp");
                resp.body = self.caller_answer.to_bytes();
                requests::send(core, tx, resp, now);
            }
            Method::Info => {
                requests::respond(core, tx, &req, 200, now);
                if let Some(digit) = crate::switch::flow::info_digit(&req) {
                    tracing::info!(call = %self.id, digit = %digit, "DTMF by SIP INFO");
                    if side == Side::Caller {
                        self.flow_digit(digit, now);
                    }
                }
            }
            _ => requests::respond(core, tx, &req, 200, now),
        }
    }

    /// Hold/resume or a refresh by re-INVITE or UPDATE with an offer: media
    /// stays anchored here, so we answer from our side with the same port
    /// and the mirrored direction. An offer that stops the peer receiving
    /// (sendonly, inactive, or `c=0.0.0.0`) puts its leg on hold: the engine
    /// then waits longer before calling its silence a media timeout.
    fn answer_reoffer(
        &mut self,
        core: &mut Core,
        tx: TransactionId,
        req: &Request,
        side: Side,
        now: Instant,
    ) {
        let offer = match SessionDescription::parse(&req.body) {
            Ok(offer) => offer,
            Err(e) => {
                let resp =
                    Response::for_request(req, 400).with_reason(format!("Bad Request - SDP: {e}"));
                return requests::send(core, tx, resp, now);
            }
        };
        let leg = self.leg_mut(side);
        let (port, media, was_on_hold) = (leg.rtp_port, leg.media, leg.on_hold);
        let session_id = rand::Rng::gen::<u32>(&mut core.rng) as u64;
        let params = sdp::AnswerParams::new(core.local.ip(), port, session_id, 2);
        match sdp::answer(&offer, &params) {
            Ok((answer, audio)) => {
                core.media.configure(media, &audio);
                let on_hold = !audio.direction.sends();
                if on_hold != was_on_hold {
                    tracing::info!(call = %self.id, on_hold, "leg hold changed");
                    core.media.set_hold(media, on_hold);
                    self.leg_mut(side).on_hold = on_hold;
                }
                let mut resp = Response::for_request(req, 200);
                resp.headers.push(
                    "Contact",
                    format!("<sip:switchboard@{}>", core.local_hostport()),
                );
                resp.headers.push("Content-Type", "application/sdp");
                resp.body = answer.to_bytes();
                requests::send(core, tx, resp, now);
            }
            Err(e) => {
                let resp = Response::for_request(req, 488)
                    .with_reason(format!("Not Acceptable Here - {e}"));
                requests::send(core, tx, resp, now);
            }
        }
    }

    fn leg_mut(&mut self, side: Side) -> &mut Leg {
        match side {
            Side::Caller => &mut self.caller_leg,
            Side::Callee(i) => &mut self.callees[i],
        }
    }

    /// Sends BYE on a leg whose dialog is up.
    pub(super) fn bye_leg(&mut self, core: &mut Core, side: Side, now: Instant) {
        let local = core.local;
        let branch = sip::headers::new_branch(&mut core.rng);
        let key = self.key;
        let leg = self.leg_mut(side);
        if leg.state == LegState::Ended && side == Side::Caller {
            return;
        }
        leg.state = LegState::Ended;
        let Some(bye) = leg.request(Method::Bye, local, &branch) else {
            return;
        };
        let peer = leg.peer;
        match core.layer.send_request(bye, peer, now) {
            Ok(tx) => core.calls.index_tx(tx, key, TxRole::Other),
            Err(e) => tracing::debug!("BYE: {e}"),
        }
    }

    pub(in crate::switch) fn handle_stray_2xx(
        &mut self,
        core: &mut Core,
        resp: &Response,
        _source: Peer,
        now: Instant,
    ) {
        let Ok(call_id) = resp.call_id() else { return };
        if let Some(i) = self.callees.iter().position(|l| l.call_id == call_id) {
            self.callees[i].learn_from_response(resp);
            self.ack_callee(core, i, resp);
            if self.answered != Some(i) {
                self.bye_leg(core, Side::Callee(i), now);
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    Caller,
    Callee(usize),
}
