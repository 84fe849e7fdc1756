//! New requests from the transaction layer, routed by method: REGISTER to
//! the registrar, INVITE to the calls (new or in-dialog), BYE/INFO/UPDATE to
//! their dialog, OPTIONS answered here, everything else refused clearly.

use std::time::Instant;

use sip::transaction::TransactionId;
use sip::{Method, Request, Response};

use super::{calls, registrar, Core};
use crate::transport::Peer;

/// Methods the switch implements; sent in Allow.
pub(super) const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REGISTER";

pub(super) fn handle_request(
    core: &mut Core,
    tx: TransactionId,
    req: Request,
    source: Peer,
    now: Instant,
) {
    if let Ok(Some(0)) = req.max_forwards() {
        respond(core, tx, &req, 483, now);
        return;
    }
    match req.method {
        Method::Register => registrar::handle_register(core, tx, req, source, now),
        Method::Options => {
            let mut resp = Response::for_request(&req, 200);
            resp.headers.push("Allow", ALLOW);
            resp.headers.push("Accept", "application/sdp");
            let resp = add_to_tag(core, &req, resp);
            send(core, tx, resp, now);
        }
        Method::Invite => calls::handle_invite(core, tx, req, source, now),
        Method::Bye | Method::Info | Method::Update => {
            calls::handle_in_dialog(core, tx, req, source, now)
        }
        Method::Other(_) => respond(core, tx, &req, 501, now),
        _ => {
            let mut resp = Response::for_request(&req, 405);
            resp.headers.push("Allow", ALLOW);
            send(core, tx, resp, now);
        }
    }
}

/// A response with a To tag when it ends the transaction (out of dialog).
fn add_to_tag(core: &mut Core, req: &Request, resp: Response) -> Response {
    let tag = sip::headers::new_tag(&mut core.rng);
    let _ = req;
    resp.with_to_tag(&tag)
}

/// Answers `req` on `tx` with a bare status.
pub(super) fn respond(
    core: &mut Core,
    tx: TransactionId,
    req: &Request,
    status: u16,
    now: Instant,
) {
    let resp = Response::for_request(req, status);
    let resp = if status >= 200 {
        add_to_tag(core, req, resp)
    } else {
        resp
    };
    send(core, tx, resp, now);
}

pub(super) fn send(core: &mut Core, tx: TransactionId, resp: Response, now: Instant) {
    if let Err(e) = core.layer.respond(tx, resp, now) {
        tracing::debug!("respond on {tx}: {e}");
    }
}
