//! From bytes to the transaction layer: parse, answer garbage with 400 (or
//! drop it when no reply is possible), and stamp `received`/`rport` on the
//! top Via so replies reach a sender behind NAT (RFC 3581).

use std::time::Instant;

use sip::{Message, Request};

use super::Core;
use crate::transport::Peer;

pub(super) fn handle_bytes(core: &mut Core, peer: Peer, data: &[u8], now: Instant) {
    let message = match sip::parse::parse_message(data) {
        Ok(m) => m,
        Err(e) => {
            tracing::info!(from = %peer.addr, "rejected malformed message: {} {}", e.status, e.reason);
            if let Some(resp) = e.bad_request_response() {
                let resp = with_readable_cseq(resp, e.method.as_ref());
                core.send_bytes(peer, resp.to_bytes());
            }
            return;
        }
    };
    let message = match message {
        Message::Request(mut req) => {
            if let Err(reason) = stamp_received(&mut req, peer) {
                reply_stateless(core, &req, 400, &reason, peer);
                return;
            }
            Message::Request(req)
        }
        resp => resp,
    };
    if let Err(e) = core.layer.handle_message(message.clone(), peer, now) {
        tracing::info!(from = %peer.addr, "message not matchable: {e}");
        if let Message::Request(req) = message {
            if req.method != sip::Method::Ack {
                reply_stateless(core, &req, 400, &format!("Bad Request - {e}"), peer);
            }
        }
    }
}

/// The 400 echoes the request's CSeq as received, but that may be the very
/// fault (`CSeq: one INVITE`), and echoing it makes our answer unparsable
/// too, so the sender never matches it and retransmits for 32 s. Client
/// transactions match responses on branch and CSeq *method* (RFC 3261
/// 17.1.3), so `0 <method from the request line>` lets the sender's
/// transaction take the 400.
fn with_readable_cseq(mut resp: sip::Response, method: Option<&sip::Method>) -> sip::Response {
    if resp.cseq().is_err() {
        match method {
            Some(m) => resp.headers.set("CSeq", format!("0 {}", m.as_str())),
            None => resp.headers.remove("CSeq"),
        }
    }
    resp
}

/// RFC 3261 18.2.1 `received` and RFC 3581 `rport`, so every reply (sent to
/// the source address by the layer's targets) also carries what we saw.
fn stamp_received(req: &mut Request, peer: Peer) -> Result<(), String> {
    let mut via = req
        .top_via()
        .map_err(|e| format!("Bad Request - unreadable Via: {e}"))?;
    let ip = peer.addr.ip().to_string();
    if via.host.trim_matches(['[', ']']) != ip {
        via.set_received(&ip);
    }
    if via.rport().is_some() {
        via.set_received(&ip);
        via.set_rport(peer.addr.port());
    }
    replace_top_via(req, &via.to_string());
    Ok(())
}

/// The first Via line may hold several comma-separated values; replace only
/// the first value.
fn replace_top_via(req: &mut Request, value: &str) {
    if let Some(h) = req
        .headers
        .0
        .iter_mut()
        .find(|h| h.name.eq_ignore_ascii_case("Via"))
    {
        let rest: Vec<String> = sip::parse::split_list(&h.value)
            .into_iter()
            .skip(1)
            .collect();
        h.value = std::iter::once(value.to_string())
            .chain(rest)
            .collect::<Vec<_>>()
            .join(", ");
    }
}

/// A reply outside any transaction (the request could not start one).
pub(super) fn reply_stateless(
    core: &mut Core,
    req: &Request,
    status: u16,
    reason: &str,
    peer: Peer,
) {
    let resp = sip::Response::for_request(req, status).with_reason(reason);
    core.send_bytes(peer, resp.to_bytes());
}
