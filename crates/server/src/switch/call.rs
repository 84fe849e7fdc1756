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
//! response to an unanswered caller, the call record). `callees.rs` holds the
//! fork (callee legs from our INVITE to the winner and the release of the
//! rest), `in_dialog.rs` the requests inside an established dialog.

mod callees;
mod in_dialog;

use std::time::{Duration, Instant};

use sdp::SessionDescription;
use sip::transaction::TransactionId;
use sip::{Request, Response};

use super::calls::CallKey;
use super::leg::{Leg, LegState};
use super::{requests, Core, Effect};
use crate::media::MediaEvent;
use crate::transport::Peer;
pub(super) use callees::Callee;
use in_dialog::Side;

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
            invite: sip::dialog::dialog_part(req),
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

    /// Sends our 2xx to the caller, once.
    pub(super) fn answer_caller(&mut self, core: &mut Core, now: Instant) {
        if self.caller_leg.state == LegState::Answered || self.caller_leg.invite_tx.is_none() {
            return;
        }
        let body = self.caller_answer.to_bytes();
        self.respond_caller(core, 200, Some(body), now);
        self.caller_leg.state = LegState::Answered;
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
