//! Calls an operator places from the softphone to an external number (order
//! confirmation calls): the operator authenticates (407 challenge), must be
//! allowed to call out, and the call leaves through the trunk's proxy with
//! the store's caller ID.

use std::time::Instant;

use sip::transaction::TransactionId;
use sip::{Request, Response};

use super::call::{Call, CallRecord, Callee, Direction};
use super::{auth, requests, Core};
use crate::transport::{Peer, Transport};

pub(super) fn start_outbound(
    core: &mut Core,
    tx: TransactionId,
    req: Request,
    source: Peer,
    username: &str,
    target: &str,
    now: Instant,
) {
    let plan = core.plan.clone();
    let Some(operator) = plan.operator(username) else {
        return requests::respond(core, tx, &req, 403, now);
    };
    match auth::verify(
        core,
        &req,
        source,
        "Proxy-Authorization",
        Some((&operator.username, &operator.password)),
        now,
    ) {
        auth::Verdict::Ok => {}
        auth::Verdict::Missing => return auth::challenge(core, tx, &req, source, 407, false, now),
        auth::Verdict::Stale => return auth::challenge(core, tx, &req, source, 407, true, now),
        auth::Verdict::Wrong(why) => {
            tracing::info!(%username, "INVITE auth failed: {why}");
            return requests::respond(core, tx, &req, 403, now);
        }
    }
    if plan.number(target).is_some() {
        // One of our own numbers (the echo test, a menu to try out): it runs
        // its dial plan as a customer's call would, and never leaves through
        // the trunk, so no permission to call out is needed.
        return super::call::start_inbound(core, tx, req, source, target, now);
    }
    if !operator.can_call_out {
        let resp =
            Response::for_request(&req, 403).with_reason("Forbidden - operator may not call out");
        return requests::send(core, tx, resp, now);
    }
    let Some(number) = dialplan::normalize_number(target) else {
        return requests::respond(core, tx, &req, 404, now);
    };
    let Some(trunk) = plan.outbound_trunk(&number) else {
        let resp =
            Response::for_request(&req, 404).with_reason("Not Found - no trunk takes this number");
        return requests::send(core, tx, resp, now);
    };
    let Some(proxy) = trunk.proxy.as_ref().and_then(|p| p.socket_addr()) else {
        let resp = Response::for_request(&req, 503)
            .with_reason("Service Unavailable - trunk has no proxy address");
        return requests::send(core, tx, resp, now);
    };
    let caller_id = trunk
        .caller_id
        .clone()
        .unwrap_or_else(|| username.to_string());
    let record = CallRecord {
        id: String::new(),
        node_id: plan.server().node_id.clone(),
        started_at: core.clock.unix_ms(now),
        answered_at: None,
        ended_at: 0,
        direction: store::Direction::Outbound,
        caller: caller_id.clone(),
        callee: number.clone(),
        trunk: Some(trunk.name.clone()),
        number_name: None,
        landing_page: None,
        campaign: None,
        operator: Some(username.to_string()),
        disposition: store::Disposition::Missed,
        hangup_by: None,
        hangup_reason: None,
        recording_path: None,
        media: store::CallMedia::default(),
    };
    let Some(mut call) =
        Call::accept_caller(core, tx, &req, source, record, Direction::Outbound, now)
    else {
        return;
    };
    let host = proxy.ip();
    let request_uri = format!("sip:{number}@{proxy}");
    let from = format!("<sip:{caller_id}@{}>", core.local.ip());
    let to = format!("<sip:{number}@{host}>");
    let peer = Peer {
        transport: Transport::Udp,
        addr: proxy,
    };
    let callee = Callee {
        operator: None,
        request_uri,
        from,
        to,
        peer,
    };
    call.add_callee(core, callee, now);
    call.set_ring_timeout(now, plan.server().ring_timeout);
    core.calls.put(call);
}
