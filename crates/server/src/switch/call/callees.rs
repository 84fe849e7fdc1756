//! The fork of one call: the callee legs, from our INVITE to their end.
//! Adding a leg (its media port, our offer, the INVITE), its responses
//! (ringing, answered, failed, and every leg failed), the ACK of each 2xx
//! and the CANCEL of the legs that lost, bridging the winner with the
//! caller, and releasing the rest when the call ends.
//!
//! Apart from `call.rs` because this is the UAC half of the B2BUA, with its
//! own rules (the first 2xx wins; every 2xx is ACKed, even a losing fork's,
//! RFC 3261 13.2.2.4) and only at work while the call rings.

use std::time::Instant;

use sdp::{AudioCodec, SessionDescription};
use sip::transaction::TransactionId;
use sip::{Method, Request, Response};
use store::Disposition;

use super::in_dialog::Side;
use super::{Call, Direction, TxRole};
use crate::switch::leg::{Leg, LegState};
use crate::switch::{requests, Core};
use crate::transport::Peer;

/// Who a callee leg calls and how to reach it.
pub(in crate::switch) struct Callee {
    /// The operator rung, if the callee is one.
    pub operator: Option<String>,
    /// The Contact as registered, or the trunk's URI for the number.
    pub request_uri: String,
    /// Our From (display name carries the caller ID tag) and To.
    pub from: String,
    pub to: String,
    /// Where the INVITE goes (the registration's source for operators).
    pub peer: Peer,
}

impl Call {
    /// Starts one callee leg: a media port, our offer (the caller's codec
    /// first, so the bridge needs no transcoding when the callee agrees),
    /// and the INVITE.
    pub(in crate::switch) fn add_callee(&mut self, core: &mut Core, callee: Callee, now: Instant) {
        let Callee {
            operator,
            request_uri,
            from,
            to,
            peer,
        } = callee;
        let (media, port) = match core.media.open_leg() {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!("no RTP port for a callee leg: {e}");
                return;
            }
        };
        let caller_codec = self.caller_codec();
        let codecs: &[AudioCodec] = if caller_codec == Some(AudioCodec::Pcma) {
            &[AudioCodec::Pcma, AudioCodec::Pcmu]
        } else {
            &[AudioCodec::Pcmu, AudioCodec::Pcma]
        };
        let session_id = rand::Rng::gen::<u32>(&mut core.rng) as u64;
        let mut params = sdp::OfferParams::new(core.local.ip(), port, session_id, 1);
        params.codecs = codecs;
        let offer = sdp::offer(&params);
        let call_id = sip::headers::new_call_id(&mut core.rng, Some(&core.local.ip().to_string()));
        let branch = sip::headers::new_branch(&mut core.rng);
        let tag = sip::headers::new_tag(&mut core.rng);
        let mut invite = Request::new(Method::Invite, request_uri.as_str());
        let via = crate::switch::leg::our_via(peer, core.local, &branch);
        invite.headers.push("Via", via.to_string());
        invite.headers.push("Max-Forwards", "70");
        invite.headers.push("From", format!("{from};tag={tag}"));
        invite.headers.push("To", to);
        invite.headers.push("Call-ID", call_id.clone());
        invite.headers.push("CSeq", "1 INVITE");
        invite.headers.push(
            "Contact",
            format!("<sip:switchboard@{}>", core.local_hostport()),
        );
        invite.headers.push("Allow", requests::ALLOW);
        invite.headers.push("User-Agent", crate::USER_AGENT);
        invite.headers.push("Content-Type", "application/sdp");
        invite.body = offer.to_bytes();
        let mut leg = Leg {
            state: LegState::Calling,
            call_id,
            invite: sip::dialog::dialog_part(&invite),
            dialog: None,
            peer,
            invite_tx: None,
            media,
            rtp_port: port,
            offer: Some(offer.clone()),
            operator,
            final_status: None,
            on_hold: false,
        };
        let index = self.callees.len();
        match core.layer.send_request(invite, peer, now) {
            Ok(tx) => {
                leg.invite_tx = Some(tx);
                core.calls
                    .index_tx(tx, self.key, TxRole::CalleeInvite(index));
            }
            Err(e) => {
                tracing::warn!("cannot send INVITE: {e}");
                leg.state = LegState::Ended;
                leg.final_status = Some(500);
                core.media.close_leg(media);
            }
        }
        core.calls.index_call_id(&leg.call_id, self.key);
        core.calls.index_media(media, self.key);
        self.callees.push(leg);
    }

    fn caller_codec(&self) -> Option<AudioCodec> {
        let offer = self.caller_leg.offer.as_ref()?;
        let params = sdp::AnswerParams::new(std::net::Ipv4Addr::UNSPECIFIED.into(), 9, 0, 0);
        sdp::answer(offer, &params).ok().map(|(_, a)| a.codec)
    }

    /// Our INVITEs that may still be answered with a 2xx nobody wants
    /// (cancelled or outraced forks), with where they went.
    pub(in crate::switch) fn unanswered_invites(&self) -> Vec<(TransactionId, Peer)> {
        self.callees
            .iter()
            .enumerate()
            .filter(|(i, _)| self.answered != Some(*i))
            .filter_map(|(_, l)| l.invite_tx.map(|tx| (tx, l.peer)))
            .collect()
    }

    /// A callee answered, failed or rang.
    pub(in crate::switch) fn handle_response(
        &mut self,
        core: &mut Core,
        role: TxRole,
        resp: Response,
        now: Instant,
    ) {
        let TxRole::CalleeInvite(i) = role else {
            return;
        };
        let status = resp.status;
        if let Some(leg) = self.callees.get_mut(i) {
            if status > 100 {
                leg.learn_from_response(&resp);
            }
        }
        match status {
            101..=199 => self.callee_ringing(core, i, now),
            200..=299 => self.callee_answered(core, i, &resp, now),
            300.. => self.callee_failed(core, i, status, now),
            _ => {}
        }
    }

    fn callee_ringing(&mut self, core: &mut Core, i: usize, now: Instant) {
        if let Some(leg) = self.callees.get_mut(i) {
            if leg.state == LegState::Calling {
                leg.state = LegState::Ringing;
            }
        }
        if !self.caller_ringing_sent && self.answered.is_none() {
            self.caller_ringing_sent = true;
            // Early media (RFC 3960): the 180 carries our answer and the
            // engine plays ringback on the caller's port, so the caller
            // hears it whatever their side does with a bare 180. The 2xx
            // later repeats the same answer.
            if self.caller_leg.state != LegState::Answered {
                let body = self.caller_answer.to_bytes();
                self.respond_caller(core, 180, Some(body), now);
                self.start_ring_tone(core);
            }
        }
    }

    fn callee_answered(&mut self, core: &mut Core, i: usize, resp: &Response, now: Instant) {
        // ACK every 2xx we get (RFC 3261 13.2.2.4), even for a losing fork.
        self.ack_callee(core, i, resp);
        if self.answered.is_some_and(|a| a != i) || self.over {
            // A second fork answered late: end it at once.
            self.bye_leg(core, Side::Callee(i), now);
            return;
        }
        if self.answered == Some(i) {
            return; // a retransmitted 2xx
        }
        let audio = {
            let leg = &self.callees[i];
            let offer = leg.offer.as_ref();
            SessionDescription::parse(&resp.body)
                .ok()
                .and_then(|ans| offer.and_then(|o| sdp::negotiated_from_answer(o, &ans).ok()))
        };
        let Some(audio) = audio else {
            tracing::warn!(call = %self.id, "callee answered without usable SDP; ending that leg");
            self.bye_leg(core, Side::Callee(i), now);
            self.callees[i].final_status = Some(488);
            self.maybe_all_failed(core, now);
            return;
        };
        self.answered = Some(i);
        self.ring_deadline = None;
        self.callees[i].state = LegState::Answered;
        self.callees[i].invite_tx = None;
        core.media.configure(self.callees[i].media, &audio);
        if let Some(op) = self.callees[i].operator.clone() {
            self.record.operator = Some(op);
        }
        for j in 0..self.callees.len() {
            if j != i {
                self.cancel_callee(core, j, now);
            }
        }
        // The operator hears where the call comes from first; the caller
        // keeps hearing ringback or hold music meanwhile.
        if !self.flow_whisper(core, i, now) {
            self.connect(core, i, now);
        }
    }

    /// Bridges the caller with the callee `i` that answered, answering the
    /// caller if the dial plan has not already.
    pub(in crate::switch) fn connect(&mut self, core: &mut Core, i: usize, now: Instant) {
        core.media
            .bridge(self.caller_leg.media, self.callees[i].media);
        self.start_call_recording(core, i);
        self.record.answered_at = Some(core.clock.unix_ms(now));
        self.record.disposition = Disposition::Answered;
        tracing::info!(call = %self.id, operator = ?self.record.operator, "answered");
        self.answer_caller(core, now);
        self.flow_answered(i, now);
    }

    pub(super) fn callee_failed(&mut self, core: &mut Core, i: usize, status: u16, now: Instant) {
        let leg = &mut self.callees[i];
        if leg.state == LegState::Ended {
            return;
        }
        leg.state = LegState::Ended;
        leg.final_status = Some(status);
        leg.invite_tx = None;
        core.media.close_leg(leg.media);
        self.maybe_all_failed(core, now);
    }

    /// Every callee leg failed before anyone answered: tell the caller.
    pub(in crate::switch) fn maybe_all_failed(&mut self, core: &mut Core, now: Instant) {
        if self.answered.is_some() || self.over {
            return;
        }
        if !self.attempt_over() {
            return;
        }
        let busy = self
            .callees
            .iter()
            .any(|l| matches!(l.final_status, Some(486) | Some(600)));
        if self.flow.is_some() {
            // The dial plan decides what follows (voicemail, another queue).
            if busy {
                self.record.disposition = Disposition::Busy;
            }
            let status = if busy { 486 } else { 480 };
            self.flow_failed(status, now);
            return;
        }
        if busy {
            self.record.disposition = Disposition::Busy;
            self.fail_caller(core, 486, "operators busy", now);
        } else {
            let status = match (
                self.direction,
                self.callees.first().and_then(|l| l.final_status),
            ) {
                (Direction::Outbound, Some(s)) if (400..700).contains(&s) => s,
                _ => 480,
            };
            self.fail_caller(core, status, "no answer", now);
        }
    }

    pub(super) fn ack_callee(&mut self, core: &mut Core, i: usize, resp: &Response) {
        let branch = sip::headers::new_branch(&mut core.rng);
        let leg = &self.callees[i];
        match leg.ack(resp, core.local, &branch) {
            Some(ack) => core
                .layer
                .send_stateless(sip::Message::Request(ack), leg.peer),
            None => tracing::warn!(call = %self.id, "cannot build the ACK for a 2xx"),
        }
    }

    pub(in crate::switch) fn cancel_callee(&mut self, core: &mut Core, j: usize, now: Instant) {
        let leg = &mut self.callees[j];
        if matches!(leg.state, LegState::Calling | LegState::Ringing) {
            // `invite_tx` stays: a 2xx racing our CANCEL must still be
            // ACKed and BYEd, even after the call ended (`unanswered_invites`).
            if let Some(tx) = leg.invite_tx {
                if let Err(e) = core.layer.cancel(tx, now) {
                    tracing::debug!("cancel: {e}");
                }
            }
            leg.state = LegState::Ended;
            leg.final_status.get_or_insert(487);
            core.media.close_leg(leg.media);
        }
    }

    /// BYE to the answered callee, CANCEL to the ones still ringing.
    pub(super) fn release_callees(&mut self, core: &mut Core, now: Instant) {
        for j in 0..self.callees.len() {
            if self.answered == Some(j) {
                if self.callees[j].state != LegState::Ended {
                    self.bye_leg(core, Side::Callee(j), now);
                }
            } else {
                self.cancel_callee(core, j, now);
            }
        }
    }
}
