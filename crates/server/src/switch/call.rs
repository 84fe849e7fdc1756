//! One B2BUA call: the caller's leg (we are its UAS) and one callee leg per
//! contact rung (we are their UAC), forked in parallel; the first 2xx wins,
//! the others are cancelled. Media of both sides always ends on the switch's
//! own RTP ports and is bridged by the media engine once answered.
//!
//! Events arrive through `calls.rs`; the call uses the core's transaction
//! layer, media engine and randomness, and ends by emitting its record.
//!
//! The call is split by concern. This file holds the `Call` itself: how it
//! starts, what the call table asks of it and routes to it (timers,
//! transaction failures, media events), and how it ends (hang-up, the final
//! response to an unanswered caller, the call record). For now it also
//! holds the fork (callee legs from our INVITE to the winner); `in_dialog.rs`
//! holds the requests inside an established dialog.

mod in_dialog;

use std::time::{Duration, Instant};

use sdp::{AudioCodec, SessionDescription};
use sip::transaction::TransactionId;
use sip::{Method, Request, Response};

use super::calls::CallKey;
use super::leg::{Leg, LegState};
use super::{requests, Core, Effect};
use crate::media::MediaEvent;
use crate::transport::Peer;
use in_dialog::Side;

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

/// What a transaction means to its call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxRole {
    /// The caller's INVITE (server transaction).
    CallerInvite,
    /// Our INVITE to callee leg `n`.
    CalleeInvite(usize),
    /// A BYE or other in-dialog request we sent.
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HangupBy {
    Caller,
    Callee,
    System,
}

impl HangupBy {
    fn stored(self) -> store::HangupBy {
        match self {
            HangupBy::Caller => store::HangupBy::Caller,
            HangupBy::Callee => store::HangupBy::Callee,
            HangupBy::System => store::HangupBy::Switch,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// A customer through the trunk to the operators.
    Inbound,
    /// An operator through the trunk to an external number.
    Outbound,
}

pub(super) use store::CallRecord;
use store::Disposition;

pub(crate) struct Call {
    pub key: CallKey,
    pub(super) id: String,
    direction: Direction,
    pub(super) caller_leg: Leg,
    /// Our To tag on the caller's leg (every response we send it carries it).
    caller_tag: String,
    pub(super) callees: Vec<Leg>,
    /// The callee that won (answered first); bridged unless it still hears
    /// the whisper.
    pub(super) answered: Option<usize>,
    /// Our SDP answer for the caller, sent with the 2xx.
    caller_answer: SessionDescription,
    caller_ringing_sent: bool,
    ring_deadline: Option<Instant>,
    over: bool,
    pub(super) record: CallRecord,
    /// Inbound calls: the dial plan's run (`flow.rs`).
    pub(super) flow: Option<super::flow::Flow>,
    /// The status for the caller if the call ends unanswered.
    pub(super) fail_status: Option<u16>,
}

/// A new INVITE outside any dialog: decide whose call it is.
pub(super) fn start(core: &mut Core, tx: TransactionId, req: Request, source: Peer, now: Instant) {
    let target_user = req
        .request_uri()
        .ok()
        .and_then(|u| u.user.clone())
        .unwrap_or_default();
    let from_user = req
        .from()
        .ok()
        .and_then(|f| f.uri.user.clone())
        .unwrap_or_default();
    let plan = core.plan.clone();
    let from_trunk = plan.trunk_for_source(source.addr.ip()).is_some();
    if from_trunk && plan.number(&target_user).is_some() {
        return start_inbound(core, tx, req, source, &target_user, now);
    }
    if plan.operator(&from_user).is_some() {
        return super::outbound::start_outbound(
            core,
            tx,
            req,
            source,
            &from_user,
            &target_user,
            now,
        );
    }
    if from_trunk {
        tracing::info!(number = %target_user, "trunk call to an unknown number");
        requests::respond(core, tx, &req, 404, now);
    } else {
        tracing::info!(from = %source.addr, "INVITE from an address that is neither a trunk nor an operator");
        requests::respond(core, tx, &req, 403, now);
    }
}

pub(super) fn start_inbound(
    core: &mut Core,
    tx: TransactionId,
    req: Request,
    source: Peer,
    number: &str,
    now: Instant,
) {
    let plan = core.plan.clone();
    let caller = req
        .from()
        .ok()
        .and_then(|f| f.uri.user.clone())
        .unwrap_or_else(|| "anonymous".into());
    let wall = dialplan::chrono::DateTime::from_timestamp_millis(core.clock.unix_ms(now))
        .unwrap_or_default();
    let run = match dialplan::flow::FlowRun::start(plan.clone(), number, &caller, wall, now) {
        Ok(run) => run,
        Err(e) => {
            tracing::info!(number, "no flow for the number: {e}");
            return requests::respond(core, tx, &req, 404, now);
        }
    };
    let Some(num) = plan.number(number) else {
        return requests::respond(core, tx, &req, 404, now);
    };
    let trunk = plan
        .trunk_for_source(source.addr.ip())
        .map(|t| t.name.clone());
    let record = CallRecord {
        id: String::new(),
        node_id: plan.server().node_id.clone(),
        started_at: core.clock.unix_ms(now),
        answered_at: None,
        ended_at: 0,
        direction: store::Direction::Inbound,
        caller,
        callee: num.number.clone(),
        trunk,
        number_name: Some(num.name.clone()),
        landing_page: num.landing_page.clone(),
        campaign: num.campaign.clone(),
        operator: None,
        disposition: Disposition::Missed,
        hangup_by: None,
        hangup_reason: None,
        recording_path: None,
        media: store::CallMedia::default(),
    };
    let Some(mut call) =
        Call::accept_caller(core, tx, &req, source, record, Direction::Inbound, now)
    else {
        return;
    };
    call.flow = Some(super::flow::Flow::new(run));
    call.drive_flow(core, now);
    core.calls.put(call);
}

impl Call {
    /// Takes the caller's INVITE: reads its offer, opens its media leg and
    /// prepares our answer. Answers the INVITE itself on failure (`None`).
    pub(super) fn accept_caller(
        core: &mut Core,
        tx: TransactionId,
        req: &Request,
        source: Peer,
        mut record: CallRecord,
        direction: Direction,
        now: Instant,
    ) -> Option<Call> {
        let offer = match SessionDescription::parse(&req.body) {
            Ok(o) if !req.body.is_empty() => o,
            _ => {
                // Offerless INVITE (offer in the ACK) is not supported yet.
                let resp = Response::for_request(req, 488)
                    .with_reason("Not Acceptable Here - SDP offer required");
                requests::send(core, tx, resp, now);
                return None;
            }
        };
        let (media, port) = match core.media.open_leg() {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!("no RTP port for a new call: {e}");
                let resp = Response::for_request(req, 503)
                    .with_reason("Service Unavailable - no RTP ports");
                requests::send(core, tx, resp, now);
                return None;
            }
        };
        let session_id = rand::Rng::gen::<u32>(&mut core.rng) as u64;
        let params = sdp::AnswerParams::new(core.local.ip(), port, session_id, 1);
        let (answer, audio) = match sdp::answer(&offer, &params) {
            Ok(x) => x,
            Err(e) => {
                core.media.close_leg(media);
                let resp = Response::for_request(req, 488)
                    .with_reason(format!("Not Acceptable Here - {e}"));
                requests::send(core, tx, resp, now);
                return None;
            }
        };
        core.media.configure(media, &audio);
        let key = core.calls.allocate_key();
        let local_tag = sip::headers::new_tag(&mut core.rng);
        record.id = format!(
            "{}-{}",
            core.plan.server().node_id,
            sip::headers::new_tag(&mut core.rng)
        );
        let caller_leg = Leg {
            state: LegState::Calling,
            call_id: req.call_id().ok()?.to_string(),
            invite: req.clone(),
            dialog: None,
            peer: source,
            invite_tx: Some(tx),
            media,
            rtp_port: port,
            offer: Some(offer),
            operator: None,
            final_status: None,
            on_hold: false,
        };
        core.calls.index_call_id(&caller_leg.call_id, key);
        core.calls.index_tx(tx, key, TxRole::CallerInvite);
        core.calls.index_media(media, key);
        tracing::info!(call = %record.id, caller = %record.caller, callee = %record.callee, "new {:?} call", direction);
        Some(Call {
            key,
            id: record.id.clone(),
            direction,
            caller_leg,
            caller_tag: local_tag,
            callees: Vec::new(),
            answered: None,
            caller_answer: answer,
            caller_ringing_sent: false,
            ring_deadline: None,
            over: false,
            record,
            flow: None,
            fail_status: None,
        })
    }

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
            invite: invite.clone(),
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

    pub(super) fn is_over(&self) -> bool {
        self.over
    }

    pub(super) fn deadline(&self) -> Option<Instant> {
        let flow = self.flow.as_ref().and_then(|f| f.deadline());
        [self.ring_deadline, flow].into_iter().flatten().min()
    }

    pub(super) fn set_ring_timeout(&mut self, now: Instant, timeout: Duration) {
        self.ring_deadline = Some(now + timeout);
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

    /// Sends our 2xx to the caller, once.
    pub(super) fn answer_caller(&mut self, core: &mut Core, now: Instant) {
        if self.caller_leg.state == LegState::Answered || self.caller_leg.invite_tx.is_none() {
            return;
        }
        let body = self.caller_answer.to_bytes();
        self.respond_caller(core, 200, Some(body), now);
        self.caller_leg.state = LegState::Answered;
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

    /// Ends the call before answer with `status` to the caller.
    pub(super) fn fail_caller(&mut self, core: &mut Core, status: u16, why: &str, now: Instant) {
        for j in 0..self.callees.len() {
            self.cancel_callee(core, j, now);
        }
        self.respond_caller(core, status, None, now);
        self.finish(core, HangupBy::System, why, now);
    }

    fn respond_caller(
        &mut self,
        core: &mut Core,
        status: u16,
        body: Option<Vec<u8>>,
        now: Instant,
    ) {
        let Some(tx) = self.caller_leg.invite_tx else {
            return;
        };
        let Some(req) = core.layer.request(tx).cloned() else {
            return;
        };
        let mut resp = Response::for_request(&req, status).with_to_tag(&self.caller_tag);
        if status > 100 && status < 300 {
            resp.headers.push(
                "Contact",
                format!("<sip:switchboard@{}>", core.local_hostport()),
            );
            resp.headers.push("Allow", requests::ALLOW);
        }
        if let Some(body) = body {
            resp.headers.push("Content-Type", "application/sdp");
            resp.body = body;
        }
        if status >= 200 {
            self.caller_leg.invite_tx = None;
        }
        if (101..300).contains(&status) {
            self.caller_leg.answered_with(&resp);
        }
        requests::send(core, tx, resp, now);
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

    /// The caller's CANCEL (the layer already answered it 200).
    pub(super) fn handle_caller_cancel(&mut self, core: &mut Core, now: Instant) {
        if self.caller_leg.state == LegState::Answered || self.over {
            return;
        }
        self.record.disposition = Disposition::Abandoned;
        self.flow_caller_gone(core, now);
        self.release_callees(core, now);
        self.respond_caller(core, 487, None, now);
        self.finish(core, HangupBy::Caller, "caller cancelled", now);
    }

    pub(super) fn handle_tx_failure(&mut self, core: &mut Core, role: TxRole, now: Instant) {
        match role {
            TxRole::CalleeInvite(i) => self.callee_failed(core, i, 408, now),
            TxRole::CallerInvite => self.hang_up(core, "caller unreachable", HangupBy::System, now),
            TxRole::Other => {}
        }
    }

    pub(super) fn handle_media_event(&mut self, core: &mut Core, event: MediaEvent, now: Instant) {
        match event {
            MediaEvent::Dtmf { leg, digit } => {
                tracing::info!(call = %self.id, digit = %digit, "DTMF");
                if leg == self.caller_leg.media {
                    self.flow_digit(digit, now);
                }
            }
            MediaEvent::Silence { leg } => {
                if leg == self.caller_leg.media && self.flow_media_timeout(now) {
                    tracing::info!(call = %self.id, "caller quiet: voicemail ends");
                }
            }
            MediaEvent::Timeout { leg } => {
                if leg == self.caller_leg.media && self.flow_media_timeout(now) {
                    tracing::info!(call = %self.id, "caller silent: voicemail ends");
                    return;
                }
                tracing::info!(call = %self.id, "no RTP: ending the call");
                self.hang_up(core, "media-timeout", HangupBy::System, now);
            }
        }
    }

    pub(super) fn handle_timeout(&mut self, core: &mut Core, now: Instant) {
        if let Some(d) = self.ring_deadline {
            if d <= now && self.answered.is_none() {
                self.ring_deadline = None;
                tracing::info!(call = %self.id, "ring timeout");
                if self.flow.is_some() {
                    // A transfer nobody answered: the plan decides.
                    self.release_callees(core, now);
                    self.flow_failed(480, now);
                } else {
                    self.fail_caller(core, 480, "ring timeout", now);
                }
            }
        }
        self.flow_timeout(core, now);
    }

    /// Ends the call from the switch's side, whatever its state.
    pub(super) fn hang_up(&mut self, core: &mut Core, why: &str, by: HangupBy, now: Instant) {
        if self.over {
            return;
        }
        if self.caller_leg.state != LegState::Answered {
            let status = self.fail_status.unwrap_or(480);
            self.fail_caller(core, status, why, now);
            return;
        }
        if self.flow.as_ref().is_some_and(|f| f.is_recording()) {
            self.flow_caller_gone(core, now);
        }
        self.bye_leg(core, Side::Caller, now);
        self.release_callees(core, now);
        self.finish(core, by, why, now);
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

    fn voicemail_left_or_recording(&self) -> bool {
        self.flow
            .as_ref()
            .is_some_and(|f| f.voicemail_left() || f.is_recording())
    }

    /// Frees media and emits the record; the table drops the call after.
    fn finish(&mut self, core: &mut Core, by: HangupBy, why: &str, now: Instant) {
        if self.over {
            return;
        }
        self.over = true;
        self.ring_deadline = None;
        self.stop_voicemail(core);
        core.media.close_leg(self.caller_leg.media);
        for leg in &self.callees {
            core.media.close_leg(leg.media);
        }
        self.record.ended_at = core.clock.unix_ms(now);
        self.record.hangup_by = Some(by.stored());
        self.record.hangup_reason = Some(why.to_string());
        self.await_media_reports(core, now);
        tracing::info!(call = %self.id, disposition = %self.record.disposition, ?by, why, "call ended");
        core.effects
            .push_back(Effect::CallRecord(self.record.clone()));
    }
}
