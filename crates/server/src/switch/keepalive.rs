//! OPTIONS keepalive to every registered contact (every 30 s by default):
//! keeps the operator's home NAT binding open and tells us who is really
//! reachable. A contact that misses `keepalive_max_missed` replies in a row
//! is marked unreachable (not rung) until it answers or registers again.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sip::transaction::TransactionId;
use sip::{Method, Request, Response};

use super::leg::our_via;
use super::Core;

#[derive(Debug, Clone)]
struct Watch {
    next_ping: Instant,
    missed: u32,
    reachable: bool,
    pending: Option<TransactionId>,
}

pub(super) struct Keepalive {
    interval: Option<Duration>,
    max_missed: u32,
    watches: HashMap<(String, String), Watch>,
    by_tx: HashMap<TransactionId, (String, String)>,
}

impl Keepalive {
    pub fn new(settings: &dialplan::RegistrarSettings) -> Keepalive {
        Keepalive {
            interval: settings.keepalive_interval,
            max_missed: settings.keepalive_max_missed.max(1),
            watches: HashMap::new(),
            by_tx: HashMap::new(),
        }
    }

    /// Starts (or restarts, on re-REGISTER) watching a contact: reachable now.
    pub fn watch(&mut self, username: &str, contact: &str, now: Instant) {
        let Some(interval) = self.interval else {
            return;
        };
        self.watches.insert(
            (username.to_string(), contact.to_string()),
            Watch {
                next_ping: now + interval,
                missed: 0,
                reachable: true,
                pending: None,
            },
        );
    }

    pub fn forget(&mut self, username: &str, contact: &str) {
        self.watches
            .remove(&(username.to_string(), contact.to_string()));
    }

    pub fn is_reachable(&self, username: &str, contact: &str) -> bool {
        self.watches
            .get(&(username.to_string(), contact.to_string()))
            .is_none_or(|w| w.reachable)
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.watches.values().map(|w| w.next_ping).min()
    }

    fn missed(&mut self, key: &(String, String)) {
        let max = self.max_missed;
        if let Some(w) = self.watches.get_mut(key) {
            w.pending = None;
            w.missed += 1;
            if w.missed >= max && w.reachable {
                w.reachable = false;
                tracing::warn!(username = %key.0, contact = %key.1, "contact unreachable: {} keepalives unanswered", w.missed);
            }
        }
    }
}

/// Sends the pings that are due.
pub(super) fn handle_timeout(core: &mut Core, now: Instant) {
    let Some(interval) = core.keepalive.interval else {
        return;
    };
    let due: Vec<(String, String)> = core
        .keepalive
        .watches
        .iter()
        .filter(|(_, w)| w.next_ping <= now)
        .map(|(k, _)| k.clone())
        .collect();
    for key in due {
        // A ping still unanswered when the next is due counts as missed.
        let still_pending = core.keepalive.watches.get(&key).and_then(|w| w.pending);
        if let Some(tx) = still_pending {
            core.keepalive.by_tx.remove(&tx);
            core.keepalive.missed(&key);
        }
        if let Some(w) = core.keepalive.watches.get_mut(&key) {
            w.next_ping = now + interval;
        }
        let binding = core
            .registrar
            .bindings(&key.0)
            .into_iter()
            .find(|b| b.contact == key.1);
        let Some(binding) = binding else {
            core.keepalive.watches.remove(&key);
            continue;
        };
        let branch = sip::headers::new_branch(&mut core.rng);
        let tag = sip::headers::new_tag(&mut core.rng);
        let call_id = sip::headers::new_call_id(&mut core.rng, None);
        let mut req = Request::new(Method::Options, binding.contact.clone());
        req.headers.push(
            "Via",
            our_via(binding.peer, core.local, &branch).to_string(),
        );
        req.headers.push("Max-Forwards", "70");
        req.headers.push(
            "From",
            format!("<sip:switchboard@{}>;tag={tag}", core.local_hostport()),
        );
        req.headers.push("To", format!("<{}>", binding.contact));
        req.headers.push("Call-ID", call_id);
        req.headers.push("CSeq", "1 OPTIONS");
        req.headers.push("User-Agent", crate::USER_AGENT);
        match core.layer.send_request(req, binding.peer, now) {
            Ok(tx) => {
                core.keepalive.by_tx.insert(tx, key.clone());
                if let Some(w) = core.keepalive.watches.get_mut(&key) {
                    w.pending = Some(tx);
                }
            }
            Err(e) => tracing::debug!("keepalive: {e}"),
        }
    }
}

/// Any final response proves the contact is alive (even 404 or 405).
pub(super) fn handle_response(
    core: &mut Core,
    tx: TransactionId,
    resp: &Response,
    _now: Instant,
) -> bool {
    let Some(key) = core.keepalive.by_tx.get(&tx).cloned() else {
        return false;
    };
    if resp.status >= 200 {
        core.keepalive.by_tx.remove(&tx);
        if let Some(w) = core.keepalive.watches.get_mut(&key) {
            w.pending = None;
            w.missed = 0;
            if !w.reachable {
                tracing::info!(username = %key.0, contact = %key.1, "contact reachable again");
            }
            w.reachable = true;
        }
    }
    true
}

/// Timer F or a transport error on a ping: one miss.
pub(super) fn handle_failure(core: &mut Core, tx: TransactionId, _now: Instant) -> bool {
    let Some(key) = core.keepalive.by_tx.remove(&tx) else {
        return false;
    };
    core.keepalive.missed(&key);
    true
}
