//! The registrar (RFC 3261 section 10): operators' softphones REGISTER with
//! digest auth; each binding remembers the contact as claimed (the Request-
//! URI we send to) and the address the REGISTER came from (where we send,
//! since operators sit behind home NAT).

use std::collections::HashMap;
use std::time::Instant;

use sip::headers::Contacts;
use sip::transaction::TransactionId;
use sip::{Request, Response};

use super::{auth, requests, Core, Effect, WallClock};
use crate::transport::{Peer, Transport};

/// One contact of one operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub contact: String,
    pub peer: Peer,
    pub expires_unix: u64,
    pub call_id: String,
    pub cseq: u32,
    pub user_agent: Option<String>,
}

#[derive(Default)]
pub(super) struct Registrar {
    bindings: HashMap<String, Vec<Binding>>,
}

impl Registrar {
    pub fn bindings(&self, username: &str) -> Vec<Binding> {
        self.bindings.get(username).cloned().unwrap_or_default()
    }

    pub fn restore(&mut self, b: store::Registration) {
        let transport = match b.transport {
            store::Transport::Udp => Transport::Udp,
            _ => Transport::Tcp,
        };
        self.bindings.entry(b.username).or_default().push(Binding {
            contact: b.contact,
            peer: Peer {
                transport,
                addr: b.received,
            },
            expires_unix: b.expires_at.max(0) as u64,
            call_id: String::new(),
            cseq: 0,
            user_agent: b.user_agent,
        });
    }

    /// When the next binding expires, as an Instant.
    pub fn next_expiry(&self, clock: WallClock) -> Option<Instant> {
        let unix = self
            .bindings
            .values()
            .flatten()
            .map(|b| b.expires_unix)
            .min()?;
        Some(clock.at + std::time::Duration::from_secs(unix.saturating_sub(clock.unix)))
    }
}

fn stored(username: &str, b: &Binding) -> store::Registration {
    store::Registration {
        username: username.to_string(),
        contact: b.contact.clone(),
        received: b.peer.addr,
        transport: match b.peer.transport {
            Transport::Udp => store::Transport::Udp,
            Transport::Tcp => store::Transport::Tcp,
        },
        expires_at: b.expires_unix as i64,
        user_agent: b.user_agent.clone(),
        instance_id: None,
        reg_id: None,
        reachable: true,
    }
}

/// Drops expired bindings.
pub(super) fn expire(core: &mut Core, now: Instant) {
    let unix = core.clock.unix(now);
    let mut gone = Vec::new();
    for (user, list) in core.registrar.bindings.iter_mut() {
        list.retain(|b| {
            let keep = b.expires_unix > unix;
            if !keep {
                gone.push((user.clone(), b.contact.clone()));
            }
            keep
        });
    }
    core.registrar.bindings.retain(|_, l| !l.is_empty());
    for (username, contact) in gone {
        tracing::info!(%username, %contact, "registration expired");
        core.keepalive.forget(&username, &contact);
        core.effects
            .push_back(Effect::RemoveBinding { username, contact });
    }
}

pub(super) fn handle_register(
    core: &mut Core,
    tx: TransactionId,
    req: Request,
    source: Peer,
    now: Instant,
) {
    let Some(username) = req.to().ok().and_then(|t| t.uri.user.clone()) else {
        let resp = Response::for_request(&req, 400).with_reason("Bad Request - To has no user");
        return requests::send(core, tx, resp, now);
    };
    let Some(operator) = core.plan.operator(&username).cloned() else {
        tracing::info!(%username, from = %source.addr, "REGISTER for an unknown user");
        // Same answer as a bad password would get after the challenge, so
        // user names cannot be probed; but first challenge like for anyone.
        if auth::verify(core, &req, source, "Authorization", None, now) == auth::Verdict::Missing {
            return auth::challenge(core, tx, &req, source, 401, false, now);
        }
        return requests::respond(core, tx, &req, 403, now);
    };
    match auth::verify(
        core,
        &req,
        source,
        "Authorization",
        Some((&operator.username, &operator.password)),
        now,
    ) {
        auth::Verdict::Ok => {}
        auth::Verdict::Missing => return auth::challenge(core, tx, &req, source, 401, false, now),
        auth::Verdict::Stale => return auth::challenge(core, tx, &req, source, 401, true, now),
        auth::Verdict::Wrong(why) => {
            tracing::info!(%username, from = %source.addr, "REGISTER auth failed: {why}");
            return requests::respond(core, tx, &req, 403, now);
        }
    }
    let settings = core.plan.registrar().clone();
    let contacts = match req.contacts() {
        Ok(c) => c,
        Err(e) => {
            let resp =
                Response::for_request(&req, 400).with_reason(format!("Bad Request - Contact: {e}"));
            return requests::send(core, tx, resp, now);
        }
    };
    let header_expires = req.expires();
    let unix = core.clock.unix(now);
    let call_id = req.call_id().unwrap_or_default().to_string();
    let cseq = req.cseq().map(|c| c.seq).unwrap_or(0);
    let user_agent = req.headers.get("User-Agent").map(str::to_string);
    match contacts {
        Contacts::Wildcard => {
            if header_expires != Some(0) {
                let resp = Response::for_request(&req, 400)
                    .with_reason("Bad Request - Contact * needs Expires: 0");
                return requests::send(core, tx, resp, now);
            }
            let gone = core
                .registrar
                .bindings
                .remove(&username)
                .unwrap_or_default();
            for b in gone {
                core.keepalive.forget(&username, &b.contact);
                core.effects.push_back(Effect::RemoveBinding {
                    username: username.clone(),
                    contact: b.contact,
                });
            }
            tracing::info!(%username, "unregistered all contacts");
        }
        Contacts::Addrs(addrs) => {
            // Check every contact's interval before changing anything.
            for c in &addrs {
                let e = c
                    .expires()
                    .or(header_expires)
                    .unwrap_or(settings.default_expires);
                if e != 0 && e < settings.min_expires {
                    let mut resp = Response::for_request(&req, 423);
                    resp.headers
                        .push("Min-Expires", settings.min_expires.to_string());
                    return requests::send(core, tx, resp, now);
                }
            }
            for c in addrs {
                let e = c
                    .expires()
                    .or(header_expires)
                    .unwrap_or(settings.default_expires)
                    .min(settings.max_expires);
                let contact = c.uri.to_string();
                let list = core.registrar.bindings.entry(username.clone()).or_default();
                list.retain(|b| b.contact != contact);
                if e == 0 {
                    core.keepalive.forget(&username, &contact);
                    core.effects.push_back(Effect::RemoveBinding {
                        username: username.clone(),
                        contact: contact.clone(),
                    });
                    tracing::info!(%username, %contact, "unregistered");
                    continue;
                }
                let b = Binding {
                    contact: contact.clone(),
                    peer: source,
                    expires_unix: unix + u64::from(e),
                    call_id: call_id.clone(),
                    cseq,
                    user_agent: user_agent.clone(),
                };
                core.effects
                    .push_back(Effect::SaveBinding(stored(&username, &b)));
                list.push(b);
                core.keepalive.watch(&username, &contact, now);
                tracing::info!(%username, %contact, source = %source.addr, expires = e, "registered");
            }
            core.registrar.bindings.retain(|_, l| !l.is_empty());
        }
    }
    let mut resp = Response::for_request(&req, 200);
    for b in core.registrar.bindings(&username) {
        let left = b.expires_unix.saturating_sub(unix);
        resp.headers
            .push("Contact", format!("<{}>;expires={left}", b.contact));
    }
    let tag = sip::headers::new_tag(&mut core.rng);
    requests::send(core, tx, resp.with_to_tag(&tag), now);
}
