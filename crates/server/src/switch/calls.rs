//! The table of calls in progress and the routing of SIP and media events to
//! the call they belong to. Each call is taken out of the table while it
//! handles an event (so it can use the rest of the core freely) and put back
//! unless it ended.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::time::Instant;

use sip::transaction::TransactionId;
use sip::{Request, Response};

use super::call::{Call, TxRole};
use super::{requests, Core};
use crate::media::{LegId, MediaEvent};
use crate::table::shrink_after_peak;
use crate::transport::Peer;

pub(super) type CallKey = u64;

#[derive(Default)]
pub(super) struct Calls {
    next_key: CallKey,
    calls: HashMap<CallKey, Call>,
    /// SIP Call-ID of every leg -> its call.
    by_call_id: HashMap<String, CallKey>,
    /// Every transaction a call started or answers -> (call, what it is).
    by_tx: HashMap<TransactionId, (CallKey, TxRole)>,
    by_media: HashMap<LegId, CallKey>,
    /// INVITEs of ended calls still able to bring a 2xx (it crossed our
    /// CANCEL): where they went, so that 2xx is ACKed and hung up.
    orphans: HashMap<TransactionId, Peer>,
    /// Orphaned 2xx dialogs (INVITE transaction, To tag) already sent BYE,
    /// so 2xx retransmissions get an ACK but no second BYE.
    orphan_byes: HashSet<(TransactionId, String)>,
    /// What each call is indexed under, so an ended call's entries go
    /// without scanning the index tables (thousands of live calls).
    indexed: HashMap<CallKey, IndexedUnder>,
    /// Deadlines of calls as they were put back. A call in the table is not
    /// changed, so an entry is current while its call is in the table with
    /// that deadline; other entries are dropped when they come up (and in
    /// bulk when they outnumber the calls).
    deadlines: BinaryHeap<Reverse<(Instant, CallKey)>>,
}

#[derive(Default)]
struct IndexedUnder {
    call_ids: Vec<String>,
    txs: Vec<TransactionId>,
    media: Vec<LegId>,
}

impl Calls {
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    /// Entries in the routing indexes (zero once every call ended).
    pub fn index_entries(&self) -> usize {
        self.by_call_id.len() + self.by_tx.len() + self.by_media.len() + self.indexed.len()
    }

    pub fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(Reverse((at, key))) = self.deadlines.peek().copied() {
            if self.is_current(at, key) {
                return Some(at);
            }
            self.deadlines.pop();
        }
        None
    }

    /// The calls whose deadline is at or before `now`, each once.
    fn due(&mut self, now: Instant) -> Vec<CallKey> {
        let mut due = Vec::new();
        while let Some(Reverse((at, key))) = self.deadlines.peek().copied() {
            if at > now {
                break;
            }
            self.deadlines.pop();
            if self.is_current(at, key) {
                due.push(key);
            }
        }
        due.sort_unstable();
        due.dedup();
        due
    }

    fn is_current(&self, at: Instant, key: CallKey) -> bool {
        self.calls.get(&key).and_then(Call::deadline) == Some(at)
    }

    pub fn allocate_key(&mut self) -> CallKey {
        self.next_key += 1;
        self.next_key
    }

    pub fn index_call_id(&mut self, call_id: &str, key: CallKey) {
        self.by_call_id.insert(call_id.to_string(), key);
        let under = self.indexed.entry(key).or_default();
        under.call_ids.push(call_id.to_string());
    }

    pub fn index_tx(&mut self, tx: TransactionId, key: CallKey, role: TxRole) {
        self.by_tx.insert(tx, (key, role));
        self.indexed.entry(key).or_default().txs.push(tx);
    }

    pub fn index_media(&mut self, leg: LegId, key: CallKey) {
        self.by_media.insert(leg, key);
        self.indexed.entry(key).or_default().media.push(leg);
    }

    /// Remove the index entries that still point at `key`.
    fn unindex(&mut self, key: CallKey) {
        let Some(under) = self.indexed.remove(&key) else {
            return;
        };
        for id in under.call_ids {
            if self.by_call_id.get(&id) == Some(&key) {
                self.by_call_id.remove(&id);
            }
        }
        for tx in under.txs {
            if self.by_tx.get(&tx).is_some_and(|(k, _)| *k == key) {
                self.by_tx.remove(&tx);
            }
        }
        for leg in under.media {
            if self.by_media.get(&leg) == Some(&key) {
                self.by_media.remove(&leg);
            }
        }
    }

    pub fn take(&mut self, key: CallKey) -> Option<Call> {
        self.calls.remove(&key)
    }

    /// Puts a call back, or forgets every index of it when it has ended.
    pub fn put(&mut self, call: Call) {
        if call.is_over() {
            self.orphans.extend(call.unanswered_invites());
            self.unindex(call.key);
            // After a peak of calls the tables keep their largest capacity
            // (megabytes) unless given back once mostly empty.
            shrink_after_peak(&mut self.calls);
            shrink_after_peak(&mut self.by_call_id);
            shrink_after_peak(&mut self.by_tx);
            shrink_after_peak(&mut self.by_media);
            shrink_after_peak(&mut self.orphans);
            shrink_after_peak(&mut self.indexed);
        } else {
            if let Some(at) = call.deadline() {
                self.deadlines.push(Reverse((at, call.key)));
            }
            self.calls.insert(call.key, call);
        }
        self.compact_deadlines();
    }

    /// Drop stale deadline entries once they outnumber the calls: each put
    /// of a call with a deadline adds one, and the stale ones would
    /// otherwise wait until their time comes.
    fn compact_deadlines(&mut self) {
        if self.deadlines.len() <= 2 * self.calls.len() + 64 {
            return;
        }
        let mut entries = std::mem::take(&mut self.deadlines).into_vec();
        entries.retain(|Reverse((at, key))| self.is_current(*at, *key));
        entries.sort_unstable();
        entries.dedup();
        let mut heap = BinaryHeap::from(entries);
        if heap.capacity() > 64 && heap.len() < heap.capacity() / 4 {
            heap.shrink_to(heap.len() * 2);
        }
        self.deadlines = heap;
    }

    /// Takes out the live call `leg` belongs to.
    pub fn take_by_media(&mut self, leg: LegId) -> Option<Call> {
        let key = self.by_media.get(&leg).copied()?;
        self.take(key)
    }

    fn by_tx(&self, tx: TransactionId) -> Option<(CallKey, TxRole)> {
        self.by_tx.get(&tx).copied()
    }
}

/// Lets the call's dial plan act on what just happened, then puts the call
/// back in the table.
fn settle(core: &mut Core, mut call: Call, now: Instant) {
    call.drive_flow(core, now);
    core.calls.put(call);
}

pub(super) fn handle_invite(
    core: &mut Core,
    tx: TransactionId,
    req: Request,
    source: Peer,
    now: Instant,
) {
    let has_to_tag = req.to().map(|t| t.tag().is_some()).unwrap_or(false);
    if has_to_tag {
        return with_dialog(core, tx, req, source, now);
    }
    super::call::start(core, tx, req, source, now);
}

/// BYE, INFO, UPDATE and re-INVITE: find the dialog or answer 481.
pub(super) fn handle_in_dialog(
    core: &mut Core,
    tx: TransactionId,
    req: Request,
    source: Peer,
    now: Instant,
) {
    with_dialog(core, tx, req, source, now)
}

fn with_dialog(core: &mut Core, tx: TransactionId, req: Request, source: Peer, now: Instant) {
    let key = req
        .call_id()
        .ok()
        .and_then(|id| core.calls.by_call_id.get(id).copied());
    let Some(mut call) = key.and_then(|k| core.calls.take(k)) else {
        requests::respond(core, tx, &req, 481, now);
        return;
    };
    call.handle_in_dialog(core, tx, req, source, now);
    settle(core, call, now);
}

pub(super) fn handle_cancel(
    core: &mut Core,
    tx: TransactionId,
    req: &Request,
    invite: Option<TransactionId>,
    now: Instant,
) {
    let key = invite.and_then(|i| core.calls.by_tx(i)).map(|(k, _)| k);
    let Some(mut call) = key.and_then(|k| core.calls.take(k)) else {
        requests::respond(core, tx, req, 481, now);
        return;
    };
    requests::respond(core, tx, req, 200, now);
    call.handle_caller_cancel(core, now);
    settle(core, call, now);
}

pub(super) fn handle_ack(core: &mut Core, req: &Request, now: Instant) {
    let key = req
        .call_id()
        .ok()
        .and_then(|id| core.calls.by_call_id.get(id).copied());
    if let Some(mut call) = key.and_then(|k| core.calls.take(k)) {
        call.handle_ack(core, req, now);
        settle(core, call, now);
    }
}

pub(super) fn handle_response(core: &mut Core, tx: TransactionId, resp: Response, now: Instant) {
    let Some((key, role)) = core.calls.by_tx(tx) else {
        return end_orphan_answer(core, tx, &resp, now);
    };
    if let Some(mut call) = core.calls.take(key) {
        call.handle_response(core, role, resp, now);
        settle(core, call, now);
    }
}

/// A 2xx to an INVITE of a call that already ended (the phone answered as
/// our CANCEL was on its way): ACK it, as every 2xx must be, and BYE it,
/// or the phone retransmits for 32 s and believes it is in a call.
fn end_orphan_answer(core: &mut Core, tx: TransactionId, resp: &Response, now: Instant) {
    if !(200..300).contains(&resp.status) {
        return;
    }
    let Some(peer) = core.calls.orphans.get(&tx).copied() else {
        return;
    };
    let Some(invite) = core.layer.request(tx).cloned() else {
        return;
    };
    let mut dialog = match sip::dialog::Dialog::uac(&invite, resp) {
        Ok(d) => d,
        Err(e) => return tracing::debug!("late 2xx without a usable dialog: {e}"),
    };
    let branch = sip::headers::new_branch(&mut core.rng);
    match dialog.ack(resp, super::leg::our_via(peer, core.local, &branch)) {
        Ok(ack) => core.layer.send_stateless(sip::Message::Request(ack), peer),
        Err(e) => return tracing::debug!("cannot ACK a late 2xx: {e}"),
    }
    let tag = resp
        .to()
        .ok()
        .and_then(|t| t.tag().map(str::to_string))
        .unwrap_or_default();
    if !core.calls.orphan_byes.insert((tx, tag)) {
        return; // a retransmission: ACKed again, BYE already sent
    }
    tracing::info!(to = %peer.addr, "answer after the call ended: hanging it up");
    let branch = sip::headers::new_branch(&mut core.rng);
    let mut bye = dialog.request(
        sip::Method::Bye,
        super::leg::our_via(peer, core.local, &branch),
    );
    bye.headers.push("User-Agent", crate::USER_AGENT);
    if let Err(e) = core.layer.send_request(bye, peer, now) {
        tracing::debug!("BYE for a late 2xx: {e}");
    }
}

/// A transaction ended: nothing can arrive on it any more.
pub(super) fn transaction_ended(core: &mut Core, tx: TransactionId) {
    if core.calls.orphans.remove(&tx).is_some() {
        core.calls.orphan_byes.retain(|(t, _)| *t != tx);
    }
}

/// A 2xx retransmission after its transaction ended: ACK it again so the far
/// end stops; if no call knows it, ACK and BYE it (RFC 3261 13.2.2.4 forks).
pub(super) fn handle_stray_response(core: &mut Core, resp: Response, source: Peer, now: Instant) {
    if !(200..300).contains(&resp.status) {
        return;
    }
    let key = resp
        .call_id()
        .ok()
        .and_then(|id| core.calls.by_call_id.get(id).copied());
    if let Some(mut call) = key.and_then(|k| core.calls.take(k)) {
        call.handle_stray_2xx(core, &resp, source, now);
        settle(core, call, now);
    }
}

pub(super) fn handle_failure(core: &mut Core, tx: TransactionId, now: Instant) {
    let Some((key, role)) = core.calls.by_tx(tx) else {
        return;
    };
    if let Some(mut call) = core.calls.take(key) {
        call.handle_tx_failure(core, role, now);
        settle(core, call, now);
    }
}

pub(super) fn handle_ack_timeout(core: &mut Core, tx: TransactionId, now: Instant) {
    let Some((key, _)) = core.calls.by_tx(tx) else {
        return;
    };
    if let Some(mut call) = core.calls.take(key) {
        call.hang_up(
            core,
            "no ACK for our 2xx",
            super::call::HangupBy::System,
            now,
        );
        settle(core, call, now);
    }
}

pub(super) fn handle_media_event(core: &mut Core, event: MediaEvent, now: Instant) {
    let leg = match &event {
        MediaEvent::Dtmf { leg, .. }
        | MediaEvent::Timeout { leg }
        | MediaEvent::Silence { leg } => *leg,
    };
    let Some(key) = core.calls.by_media.get(&leg).copied() else {
        return;
    };
    if let Some(mut call) = core.calls.take(key) {
        call.handle_media_event(core, event, now);
        settle(core, call, now);
    }
}

pub(super) fn handle_timeout(core: &mut Core, now: Instant) {
    for key in core.calls.due(now) {
        if let Some(mut call) = core.calls.take(key) {
            call.handle_timeout(core, now);
            settle(core, call, now);
        }
    }
}
