//! Registration of the switch to trunk providers that want it
//! (`[trunk.register]`): one `sip::registration` machine per such trunk.
//! This file only moves things between the machines and the transaction
//! layer: requests out through `core.layer`, responses and failures back by
//! `TransactionId`, refresh and retry deadlines into the core's timer.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use sip::registration::{Registration, RegistrationParams, RegistrationState};
use sip::transaction::TransactionId;
use sip::Response;

use super::Core;
use crate::transport::{Peer, Transport};

struct TrunkReg {
    trunk: String,
    /// The provider's registrar (a literal IP: the core resolves no names).
    peer: Peer,
    machine: Registration,
    /// The REGISTER transaction in flight.
    pending: Option<TransactionId>,
}

#[derive(Default)]
pub(super) struct TrunkRegistrations {
    regs: Vec<TrunkReg>,
    by_tx: HashMap<TransactionId, usize>,
}

impl TrunkRegistrations {
    /// One machine per trunk with a `register` section. `local` is our
    /// public address (Via, Contact).
    pub fn new(plan: &dialplan::Plan, local: SocketAddr) -> TrunkRegistrations {
        let mut regs = Vec::new();
        for trunk in plan.trunks() {
            let Some(r) = &trunk.register else {
                continue;
            };
            let Some(addr) = r.registrar.socket_addr() else {
                tracing::warn!(
                    trunk = %trunk.name,
                    registrar = %r.registrar.host,
                    "not registering: the registrar must be an IP address (no DNS yet)"
                );
                continue;
            };
            let host = uri_host(&r.registrar.host);
            let params = RegistrationParams {
                aor: format!("sip:{}@{host}", r.username),
                username: r.username.clone(),
                password: r.password.clone(),
                registrar: format!("sip:{host}:{}", r.registrar.port),
                expires: r.expires,
                contact: format!("sip:{}@{local}", r.username),
                realm: r.realm.clone(),
                transport: Transport::Udp.as_via().to_string(),
                sent_by: local.to_string(),
                user_agent: Some(crate::USER_AGENT.to_string()),
            };
            regs.push(TrunkReg {
                trunk: trunk.name.clone(),
                peer: Peer {
                    transport: Transport::Udp,
                    addr,
                },
                machine: Registration::new(params),
                pending: None,
            });
        }
        TrunkRegistrations {
            regs,
            by_tx: HashMap::new(),
        }
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.regs
            .iter()
            .filter_map(|r| r.machine.poll_timeout())
            .min()
    }

    /// Whether a shutdown unregistration still awaits its answer.
    pub fn unregistering(&self) -> bool {
        self.regs
            .iter()
            .any(|r| *r.machine.state() == RegistrationState::Unregistering)
    }

    /// Each trunk's name and registration state (status pages, tests).
    pub fn states(&self) -> Vec<(String, RegistrationState)> {
        self.regs
            .iter()
            .map(|r| (r.trunk.clone(), r.machine.state().clone()))
            .collect()
    }
}

/// `[host]` for IPv6 literals in URIs.
fn uri_host(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// At startup: every trunk sends its first REGISTER.
pub(super) fn start(core: &mut Core, now: Instant) {
    for i in 0..core.trunk_register.regs.len() {
        apply(core, i, now, |m| m.register(now));
    }
}

/// At shutdown: remove our bindings at the providers (REGISTER, expires 0).
/// The driver must keep pumping effects (and responses) briefly afterwards.
pub(super) fn unregister_all(core: &mut Core, now: Instant) {
    for i in 0..core.trunk_register.regs.len() {
        apply(core, i, now, |m| m.unregister(now));
    }
}

/// Refreshes and retries that are due.
pub(super) fn handle_timeout(core: &mut Core, now: Instant) {
    for i in 0..core.trunk_register.regs.len() {
        let due = core.trunk_register.regs[i]
            .machine
            .poll_timeout()
            .is_some_and(|t| t <= now);
        if due {
            apply(core, i, now, |m| m.handle_timeout(now));
        }
    }
}

/// A response on one of our REGISTER transactions; `false` when not ours.
pub(super) fn handle_response(
    core: &mut Core,
    tx: TransactionId,
    resp: &Response,
    now: Instant,
) -> bool {
    let Some(&i) = core.trunk_register.by_tx.get(&tx) else {
        return false;
    };
    if resp.status >= 200 {
        core.trunk_register.by_tx.remove(&tx);
        core.trunk_register.regs[i].pending = None;
    }
    apply(core, i, now, |m| m.handle_response(resp, now));
    true
}

/// Timer F or a transport error on a REGISTER; `false` when not ours.
pub(super) fn handle_failure(core: &mut Core, tx: TransactionId, now: Instant) -> bool {
    let Some(i) = core.trunk_register.by_tx.remove(&tx) else {
        return false;
    };
    core.trunk_register.regs[i].pending = None;
    apply(core, i, now, |m| m.handle_failure(now));
    true
}

/// Feeds one input to trunk `i`'s machine, sends what it asks for and logs
/// state changes.
fn apply(core: &mut Core, i: usize, now: Instant, input: impl FnOnce(&mut Registration)) {
    let before = core.trunk_register.regs[i].machine.state().clone();
    input(&mut core.trunk_register.regs[i].machine);
    flush(core, i, now);
    let reg = &core.trunk_register.regs[i];
    log_change(&reg.trunk, &before, reg.machine.state(), now);
}

fn flush(core: &mut Core, i: usize, now: Instant) {
    loop {
        let reg = &mut core.trunk_register.regs[i];
        let Some(req) = reg.machine.poll_request(&mut core.rng) else {
            return;
        };
        let peer = reg.peer;
        // A newer REGISTER supersedes the old transaction's outcome.
        if let Some(old) = reg.pending.take() {
            core.trunk_register.by_tx.remove(&old);
        }
        match core.layer.send_request(req, peer, now) {
            Ok(tx) => {
                core.trunk_register.regs[i].pending = Some(tx);
                core.trunk_register.by_tx.insert(tx, i);
            }
            Err(e) => {
                tracing::debug!(trunk = %core.trunk_register.regs[i].trunk, "REGISTER not sent: {e}");
                core.trunk_register.regs[i].machine.handle_failure(now);
            }
        }
    }
}

fn log_change(trunk: &str, before: &RegistrationState, after: &RegistrationState, now: Instant) {
    use RegistrationState as S;
    match (before, after) {
        (S::Registered { .. }, S::Registered { expires_at }) => {
            let left = expires_at.saturating_duration_since(now).as_secs();
            tracing::debug!(%trunk, "registration refreshed, {left}s left");
        }
        (_, S::Registered { expires_at }) => {
            let left = expires_at.saturating_duration_since(now).as_secs();
            tracing::info!(%trunk, "registered to the provider for {left}s");
        }
        (_, S::Failed { reason, retry_at }) if before != after => {
            let wait = retry_at.saturating_duration_since(now).as_secs();
            tracing::warn!(%trunk, "registration to the provider failed: {reason}; next try in {wait}s");
        }
        (S::Unregistering, S::Unregistered) => {
            tracing::info!(%trunk, "unregistered from the provider");
        }
        _ => {}
    }
}
