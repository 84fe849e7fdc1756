//! The transaction layer: owns every transaction of one endpoint, matches
//! incoming messages to them (RFC 3261 17.1.3, 17.2.3), starts new ones for
//! the TU, and keeps one timer queue for all of them.
//!
//! A driver feeds it `handle_message`, TU commands (`send_request`,
//! `respond`, `cancel`, `send_stateless`), `handle_transport_error` and
//! `handle_timeout`, then drains `poll_output()` and sleeps until
//! `poll_timeout()`.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::fmt;
use std::time::Instant;

use super::client_invite::{build_cancel, ClientInvite, ClientInviteState};
use super::client_non_invite::ClientNonInvite;
use super::lingering::{Absorbs, Lingering};
use super::matcher::{AckKey, ClientKey, DigestBuild, KeyDigest, KeyHasher, ServerKey};
use super::server_invite::{ServerInvite, ServerInviteState};
use super::server_non_invite::ServerNonInvite;
use super::timers::TimerConfig;
use super::{TransactionError, TxEvent, TxOutput};
use crate::message::{Message, Method, Request, Response};

/// Where a message goes or came from, opaque to the layer except for one
/// question: does its transport retransmit for us (TCP, TLS) or not (UDP)?
pub trait Target: Clone + fmt::Debug {
    fn is_reliable(&self) -> bool;
}

/// Handle of one transaction, unique for the layer's lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionId(u64);

impl fmt::Display for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tx{}", self.0)
    }
}

/// A message for the driver to put on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit<T> {
    pub target: T,
    pub message: Message,
    /// The transaction that sent it, to report a send failure back with
    /// `handle_transport_error`; `None` for `send_stateless`.
    pub transaction: Option<TransactionId>,
}

/// What the layer tells the TU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TuEvent<T> {
    /// A new request (neither ACK nor CANCEL); answer with `respond(tx, ..)`.
    Request {
        tx: TransactionId,
        request: Request,
        source: T,
    },
    /// A new CANCEL. `invite` is the INVITE server transaction it targets
    /// (same branch, RFC 3261 9.2): respond 487 there, then 200 on `tx`. If
    /// the INVITE already has its final response the 487 is refused with
    /// `ResponseNotAllowed` and the CANCEL has no effect, but still gets 200.
    /// If `invite` is `None`, respond 481 on `tx`.
    Cancel {
        tx: TransactionId,
        request: Request,
        source: T,
        invite: Option<TransactionId>,
    },
    /// An ACK no transaction absorbed: the ACK for a 2xx, which belongs to
    /// the dialog. `invite` is the INVITE server transaction whose 2xx it
    /// acknowledges (its retransmissions have now stopped), if still alive
    /// and this is the first ACK for it (a repeated ACK has `None`).
    Ack {
        request: Request,
        source: T,
        invite: Option<TransactionId>,
    },
    /// A response on one of our client transactions.
    Response {
        tx: TransactionId,
        response: Response,
    },
    /// A response that matches no client transaction, e.g. a 2xx
    /// retransmission after Timer M. The TU may ACK and BYE it.
    StrayResponse {
        response: Response,
        source: T,
    },
    /// Timer B/F (no final response) or Timer H (no ACK for our non-2xx).
    Timeout {
        tx: TransactionId,
    },
    /// Our 2xx to an INVITE never got its ACK (end the call with BYE).
    AckTimeout {
        tx: TransactionId,
    },
    TransportError {
        tx: TransactionId,
    },
    /// The transaction is gone; its id is now unknown to the layer.
    Terminated {
        tx: TransactionId,
    },
}

/// One item drained from `poll_output`, in the order it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output<T> {
    Transmit(Transmit<T>),
    Event(TuEvent<T>),
}

/// The four state machines behind one interface (the names follow RFC 3261).
///
/// Boxed, each at its own size: the entry table holds tens of thousands of
/// finished transactions for Timers J and L (32 s) after a burst of calls,
/// and inline every slot of it, empty ones included, would be as large as
/// the largest machine (704-byte entries: ~45 MiB of table at 800 calls/s).
#[derive(Debug)]
#[allow(clippy::enum_variant_names)]
enum Machine {
    ClientInvite(Box<ClientInvite>),
    ClientNonInvite(Box<ClientNonInvite>),
    ServerInvite(Box<ServerInvite>),
    ServerNonInvite(Box<ServerNonInvite>),
    /// A server transaction past its last message (see `lingering.rs`).
    Lingering(Box<Lingering>),
}

impl Machine {
    fn poll_output(&mut self) -> Option<TxOutput> {
        match self {
            Machine::ClientInvite(m) => m.poll_output(),
            Machine::ClientNonInvite(m) => m.poll_output(),
            Machine::ServerInvite(m) => m.poll_output(),
            Machine::ServerNonInvite(m) => m.poll_output(),
            Machine::Lingering(m) => m.poll_output(),
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        match self {
            Machine::ClientInvite(m) => m.poll_timeout(),
            Machine::ClientNonInvite(m) => m.poll_timeout(),
            Machine::ServerInvite(m) => m.poll_timeout(),
            Machine::ServerNonInvite(m) => m.poll_timeout(),
            Machine::Lingering(m) => m.poll_timeout(),
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        match self {
            Machine::ClientInvite(m) => m.handle_timeout(now),
            Machine::ClientNonInvite(m) => m.handle_timeout(now),
            Machine::ServerInvite(m) => m.handle_timeout(now),
            Machine::ServerNonInvite(m) => m.handle_timeout(now),
            Machine::Lingering(m) => m.handle_timeout(now),
        }
    }

    fn handle_transport_error(&mut self, now: Instant) {
        match self {
            Machine::ClientInvite(m) => m.handle_transport_error(now),
            Machine::ClientNonInvite(m) => m.handle_transport_error(now),
            Machine::ServerInvite(m) => m.handle_transport_error(now),
            Machine::ServerNonInvite(m) => m.handle_transport_error(now),
            Machine::Lingering(m) => m.handle_transport_error(now),
        }
    }

    /// The compact form of a server transaction that only waits out its
    /// last timer, taken from the machine once it gets there.
    fn lingering(&mut self) -> Option<Lingering> {
        match self {
            Machine::ServerInvite(m) => m.lingering(),
            Machine::ServerNonInvite(m) => m.lingering(),
            _ => None,
        }
    }

    /// The request, while the machine keeps it (each one drops it, or cuts
    /// it down, once nothing more will be sent for it).
    fn request(&self) -> Option<&Request> {
        match self {
            Machine::ClientInvite(m) => m.request(),
            Machine::ClientNonInvite(m) => m.request(),
            Machine::ServerInvite(m) => m.request(),
            Machine::ServerNonInvite(m) => m.request(),
            Machine::Lingering(_) => None,
        }
    }
}

/// Which table an entry's key digest is in.
#[derive(Debug, Clone, Copy)]
enum Key {
    Client(KeyDigest),
    Server(KeyDigest),
}

type DigestMap = HashMap<KeyDigest, TransactionId, DigestBuild>;

#[derive(Debug)]
struct Entry<T> {
    machine: Machine,
    target: T,
    key: Key,
    /// INVITE server transactions that sent a 2xx: how its ACK is found.
    ack_key: Option<KeyDigest>,
    /// INVITE client transactions: a CANCEL the TU asked for before any
    /// provisional arrived (RFC 3261 9.1 says wait for one).
    pending_cancel: Option<TransactionId>,
    /// Deadline currently in the timer heap for this entry.
    scheduled: Option<Instant>,
}

/// Tables holding less than this are never shrunk (not worth the rehash).
/// In bytes, not entries: an entry holds a whole message, so 64 idle
/// entries were still tens of KiB kept after a peak.
const SHRINK_ABOVE_BYTES: usize = 4096;

/// Shrink `map` to twice its length when it is under a quarter full.
fn shrink_after_peak<K: std::hash::Hash + Eq, V, S: std::hash::BuildHasher>(
    map: &mut HashMap<K, V, S>,
) {
    let bytes = map.capacity() * std::mem::size_of::<(K, V)>();
    if bytes > SHRINK_ABOVE_BYTES && map.len() < map.capacity() / 4 {
        map.shrink_to(map.len() * 2);
    }
}

/// All transactions of one SIP endpoint.
#[derive(Debug)]
pub struct TransactionLayer<T: Target> {
    config: TimerConfig,
    next_id: u64,
    entries: HashMap<TransactionId, Entry<T>>,
    /// The key tables hold digests, not keys (see `KeyDigest`).
    hasher: KeyHasher,
    clients: DigestMap,
    servers: DigestMap,
    acks: DigestMap,
    /// Min-heap of (deadline, transaction); entries whose deadline no longer
    /// equals `Entry::scheduled` are stale and skipped.
    timers: BinaryHeap<Reverse<(Instant, TransactionId)>>,
    out: VecDeque<Output<T>>,
}

impl<T: Target> TransactionLayer<T> {
    pub fn new(config: TimerConfig) -> Self {
        TransactionLayer {
            config,
            next_id: 0,
            entries: HashMap::new(),
            hasher: KeyHasher::default(),
            clients: DigestMap::default(),
            servers: DigestMap::default(),
            acks: DigestMap::default(),
            timers: BinaryHeap::new(),
            out: VecDeque::new(),
        }
    }

    pub fn config(&self) -> TimerConfig {
        self.config
    }

    /// Number of live transactions.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The request that started a live transaction (the INVITE of a client
    /// transaction, say, to build the dialog from its 2xx), while the
    /// transaction keeps it: a server transaction drops it once nothing more
    /// can be sent for it, an INVITE client transaction keeps only its
    /// dialog headers once a 2xx arrived, a non-INVITE one drops it at its
    /// final response.
    pub fn request(&self, tx: TransactionId) -> Option<&Request> {
        self.entries.get(&tx).and_then(|e| e.machine.request())
    }

    /// A message from the network. Errors mean it cannot be matched (no Via
    /// branch, no CSeq, ...); the driver may answer 400 statelessly.
    pub fn handle_message(
        &mut self,
        message: Message,
        source: T,
        now: Instant,
    ) -> Result<(), TransactionError> {
        match message {
            Message::Request(request) => self.handle_request(request, source, now),
            Message::Response(response) => {
                self.handle_response(response, source, now);
                Ok(())
            }
        }
    }

    fn handle_response(&mut self, response: Response, source: T, now: Instant) {
        let id = ClientKey::for_response(&response)
            .ok()
            .and_then(|key| self.clients.get(&self.hasher.digest(&key)).copied());
        let Some(id) = id else {
            self.out
                .push_back(Output::Event(TuEvent::StrayResponse { response, source }));
            return;
        };
        let status = response.status;
        if let Some(entry) = self.entries.get_mut(&id) {
            match &mut entry.machine {
                Machine::ClientInvite(m) => m.handle_response(response, now),
                Machine::ClientNonInvite(m) => m.handle_response(response, now),
                _ => {}
            }
        }
        self.pump(id);
        self.settle_pending_cancel(id, status, now);
    }

    fn handle_request(
        &mut self,
        request: Request,
        source: T,
        now: Instant,
    ) -> Result<(), TransactionError> {
        let full_key = ServerKey::for_request(&request)?;
        let key = self.hasher.digest(&full_key);
        if request.method == Method::Ack {
            self.handle_ack(request, key, source, now);
            return Ok(());
        }
        if let Some(&id) = self.servers.get(&key) {
            // A retransmission: the transaction re-sends its last response.
            if let Some(entry) = self.entries.get_mut(&id) {
                match &mut entry.machine {
                    Machine::ServerInvite(m) => m.handle_retransmission(now),
                    Machine::ServerNonInvite(m) => m.handle_retransmission(now),
                    Machine::Lingering(m) => m.handle_retransmission(now),
                    _ => {}
                }
            }
            self.pump(id);
            return Ok(());
        }
        let id = self.allocate_id();
        let reliable = source.is_reliable();
        let machine = if request.method == Method::Invite {
            Machine::ServerInvite(Box::new(ServerInvite::new(
                request.clone(),
                reliable,
                self.config,
                now,
            )))
        } else {
            Machine::ServerNonInvite(Box::new(ServerNonInvite::new(
                request.clone(),
                reliable,
                self.config,
                now,
            )))
        };
        self.servers.insert(key, id);
        let event = if request.method == Method::Cancel {
            let invite_key = self.hasher.digest(&full_key.with_method(Method::Invite));
            let invite = self.servers.get(&invite_key).copied();
            TuEvent::Cancel {
                tx: id,
                request,
                source: source.clone(),
                invite,
            }
        } else {
            TuEvent::Request {
                tx: id,
                request,
                source: source.clone(),
            }
        };
        self.insert(id, machine, source, Key::Server(key));
        self.out.push_back(Output::Event(event));
        self.pump(id);
        Ok(())
    }

    fn handle_ack(&mut self, request: Request, key: KeyDigest, source: T, now: Instant) {
        // ACK for our non-2xx: same branch as the INVITE, absorbed here.
        if let Some(&id) = self.servers.get(&key) {
            let absorbed = match self.entries.get_mut(&id).map(|e| &mut e.machine) {
                Some(Machine::ServerInvite(m))
                    if matches!(
                        m.state(),
                        ServerInviteState::Completed | ServerInviteState::Confirmed
                    ) =>
                {
                    m.handle_ack(now);
                    true
                }
                // Lingering after the ACK for a non-2xx (Confirmed).
                Some(Machine::Lingering(m)) => m.absorbs() == Absorbs::Acks,
                _ => false,
            };
            if absorbed {
                self.pump(id);
                return;
            }
        }
        // ACK for a 2xx: a new transaction of its own, matched by dialog
        // identity to stop our 2xx retransmissions, then up to the TU. The
        // match is needed once: the INVITE transaction forgets its ACK key
        // for the 32 s Timer L still keeps it.
        let invite =
            AckKey::for_request(&request).and_then(|k| self.acks.remove(&self.hasher.digest(&k)));
        if let Some(id) = invite {
            if let Some(entry) = self.entries.get_mut(&id) {
                entry.ack_key = None;
                if let Machine::ServerInvite(m) = &mut entry.machine {
                    m.handle_ack(now);
                }
            }
            self.pump(id);
        }
        self.out.push_back(Output::Event(TuEvent::Ack {
            request,
            source,
            invite,
        }));
    }

    /// Starts a client transaction for `request`, whose top Via must carry
    /// a fresh branch (see `sip::new_branch`). ACK is not transactional: use
    /// `send_stateless`.
    pub fn send_request(
        &mut self,
        request: Request,
        target: T,
        now: Instant,
    ) -> Result<TransactionId, TransactionError> {
        let id = self.allocate_id();
        self.start_client(id, request, target, now)?;
        Ok(id)
    }

    fn start_client(
        &mut self,
        id: TransactionId,
        request: Request,
        target: T,
        now: Instant,
    ) -> Result<(), TransactionError> {
        if request.method == Method::Ack {
            return Err(TransactionError::NotTransactional("ACK".into()));
        }
        let full_key = ClientKey::for_request(&request)?;
        let key = self.hasher.digest(&full_key);
        if self.clients.contains_key(&key) {
            return Err(TransactionError::BranchInUse(full_key.branch));
        }
        let reliable = target.is_reliable();
        let machine = if request.method == Method::Invite {
            Machine::ClientInvite(Box::new(ClientInvite::new(
                request,
                reliable,
                self.config,
                now,
            )))
        } else {
            Machine::ClientNonInvite(Box::new(ClientNonInvite::new(
                request,
                reliable,
                self.config,
                now,
            )))
        };
        self.clients.insert(key, id);
        self.insert(id, machine, target, Key::Client(key));
        self.pump(id);
        Ok(())
    }

    /// The TU's response on a server transaction.
    pub fn respond(
        &mut self,
        tx: TransactionId,
        response: Response,
        now: Instant,
    ) -> Result<(), TransactionError> {
        let entry = self
            .entries
            .get_mut(&tx)
            .ok_or(TransactionError::UnknownTransaction(tx))?;
        let status = response.status;
        match &mut entry.machine {
            Machine::ServerInvite(m) => {
                m.respond(response, now)?;
                if (200..=299).contains(&status) && entry.ack_key.is_none() {
                    if let Some(key) = m.request().and_then(AckKey::for_request) {
                        let key = self.hasher.digest(&key);
                        self.acks.insert(key, tx);
                        entry.ack_key = Some(key);
                    }
                }
            }
            Machine::ServerNonInvite(m) => m.respond(response, now)?,
            Machine::Lingering(m) => return Err(m.respond(status)),
            _ => {
                return Err(TransactionError::ResponseNotAllowed {
                    status,
                    state: "client transaction",
                })
            }
        }
        self.pump(tx);
        Ok(())
    }

    /// Cancels a pending INVITE client transaction (RFC 3261 9.1) and returns
    /// the CANCEL's own transaction. If no provisional response has arrived
    /// yet the CANCEL waits for one; if a final arrives first it is dropped
    /// and reported `Terminated` without being sent.
    pub fn cancel(
        &mut self,
        invite_tx: TransactionId,
        now: Instant,
    ) -> Result<TransactionId, TransactionError> {
        let entry = self
            .entries
            .get(&invite_tx)
            .ok_or(TransactionError::UnknownTransaction(invite_tx))?;
        let (state, cancel, target) = match &entry.machine {
            Machine::ClientInvite(m) => match m.request() {
                Some(invite) => (m.state(), build_cancel(invite), entry.target.clone()),
                None => return Err(TransactionError::NotCancellable(invite_tx)),
            },
            _ => return Err(TransactionError::NotCancellable(invite_tx)),
        };
        if let Some(pending) = entry.pending_cancel {
            return Ok(pending);
        }
        match state {
            ClientInviteState::Calling => {
                let id = self.allocate_id();
                if let Some(e) = self.entries.get_mut(&invite_tx) {
                    e.pending_cancel = Some(id);
                }
                Ok(id)
            }
            ClientInviteState::Proceeding => {
                let id = self.allocate_id();
                self.start_client(id, cancel, target, now)?;
                Ok(id)
            }
            _ => Err(TransactionError::NotCancellable(invite_tx)),
        }
    }

    /// Sends a message outside any transaction: the ACK for a 2xx (built by
    /// the dialog), or a stateless error response.
    pub fn send_stateless(&mut self, message: Message, target: T) {
        self.out.push_back(Output::Transmit(Transmit {
            target,
            message,
            transaction: None,
        }));
    }

    /// The driver failed to send a message of `tx`.
    pub fn handle_transport_error(&mut self, tx: TransactionId, now: Instant) {
        if let Some(entry) = self.entries.get_mut(&tx) {
            entry.machine.handle_transport_error(now);
            self.pump(tx);
        }
    }

    /// Fires every transaction timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        // Collect first, so a (buggy) deadline that stays <= now cannot spin.
        let mut due = Vec::new();
        while let Some(Reverse((at, id))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            if let Some(entry) = self.entries.get_mut(&id) {
                if entry.scheduled == Some(at) {
                    entry.scheduled = None;
                    due.push(id);
                }
            }
        }
        for id in due {
            if let Some(entry) = self.entries.get_mut(&id) {
                entry.machine.handle_timeout(now);
                self.pump(id);
            }
        }
    }

    /// Next message to send or event for the TU.
    pub fn poll_output(&mut self) -> Option<Output<T>> {
        self.out.pop_front()
    }

    /// Earliest deadline of any transaction: call `handle_timeout` then.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        while let Some(Reverse((at, id))) = self.timers.peek().copied() {
            let live = self
                .entries
                .get(&id)
                .is_some_and(|e| e.scheduled == Some(at));
            if live {
                return Some(at);
            }
            self.timers.pop();
        }
        None
    }

    fn allocate_id(&mut self) -> TransactionId {
        self.next_id += 1;
        TransactionId(self.next_id)
    }

    fn insert(&mut self, id: TransactionId, machine: Machine, target: T, key: Key) {
        self.entries.insert(
            id,
            Entry {
                machine,
                target,
                key,
                ack_key: None,
                pending_cancel: None,
                scheduled: None,
            },
        );
    }

    /// Moves a transaction's outputs to the layer queue, forgets it once it
    /// terminated, and reschedules its timer otherwise.
    fn pump(&mut self, id: TransactionId) {
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        let mut terminated = false;
        while let Some(output) = entry.machine.poll_output() {
            let item = match output {
                TxOutput::Send(message) => Output::Transmit(Transmit {
                    target: entry.target.clone(),
                    message,
                    transaction: Some(id),
                }),
                TxOutput::Event(event) => Output::Event(match event {
                    TxEvent::Response(response) => TuEvent::Response { tx: id, response },
                    TxEvent::Timeout => TuEvent::Timeout { tx: id },
                    TxEvent::AckTimeout => TuEvent::AckTimeout { tx: id },
                    TxEvent::TransportError => TuEvent::TransportError { tx: id },
                    TxEvent::Terminated => {
                        terminated = true;
                        TuEvent::Terminated { tx: id }
                    }
                }),
            };
            self.out.push_back(item);
        }
        if terminated {
            self.remove(id);
            return;
        }
        if let Some(lingering) = entry.machine.lingering() {
            entry.machine = Machine::Lingering(Box::new(lingering));
        }
        let next = entry.machine.poll_timeout();
        if next != entry.scheduled {
            entry.scheduled = next;
            if let Some(at) = next {
                self.timers.push(Reverse((at, id)));
            }
        }
    }

    /// After a response on an INVITE client transaction: send a CANCEL that
    /// was waiting for a provisional, or drop it once a final arrived.
    fn settle_pending_cancel(&mut self, invite_tx: TransactionId, status: u16, now: Instant) {
        let pending = self.entries.get(&invite_tx).and_then(|e| {
            e.pending_cancel.map(|c| {
                let cancel = e.machine.request().map(build_cancel);
                (c, cancel, e.target.clone())
            })
        });
        let Some((cancel_id, cancel, target)) = pending else {
            return;
        };
        if let Some(e) = self.entries.get_mut(&invite_tx) {
            e.pending_cancel = None;
        }
        // A provisional leaves the INVITE whole; a final (after which no
        // CANCEL is sent) may have cut it down or dropped it.
        if let (100..=199, Some(cancel)) = (status, cancel) {
            if let Err(_e) = self.start_client(cancel_id, cancel, target, now) {
                self.out
                    .push_back(Output::Event(TuEvent::Terminated { tx: cancel_id }));
            }
        } else {
            self.out
                .push_back(Output::Event(TuEvent::Terminated { tx: cancel_id }));
        }
    }

    fn remove(&mut self, id: TransactionId) {
        let Some(entry) = self.entries.remove(&id) else {
            return;
        };
        // Only forget keys that still point at this transaction.
        match entry.key {
            Key::Client(k) => {
                if self.clients.get(&k) == Some(&id) {
                    self.clients.remove(&k);
                }
            }
            Key::Server(k) => {
                if self.servers.get(&k) == Some(&id) {
                    self.servers.remove(&k);
                }
            }
        }
        if let Some(k) = entry.ack_key {
            if self.acks.get(&k) == Some(&id) {
                self.acks.remove(&k);
            }
        }
        // A burst of calls grows these tables, and a HashMap keeps its
        // largest capacity: megabytes held for good after a peak. Give the
        // space back once they are mostly empty (amortised: a shrink halves
        // the capacity at most once per halving of the contents).
        shrink_after_peak(&mut self.entries);
        shrink_after_peak(&mut self.clients);
        shrink_after_peak(&mut self.servers);
        shrink_after_peak(&mut self.acks);
        let timer_bytes =
            self.timers.capacity() * std::mem::size_of::<Reverse<(Instant, TransactionId)>>();
        if timer_bytes > SHRINK_ABOVE_BYTES && self.timers.len() < self.timers.capacity() / 4 {
            self.timers.shrink_to(self.timers.len() * 2);
        }
        if let Some(cancel) = entry.pending_cancel {
            // The INVITE ended (timeout, transport error) before any
            // provisional: its CANCEL is moot.
            self.out
                .push_back(Output::Event(TuEvent::Terminated { tx: cancel }));
        }
    }
}
#[cfg(test)]
mod entry_size {
    use super::*;

    /// The entry table's slots are all this size, empty ones included, and
    /// after a burst it holds one per finished transaction for 32 s: a
    /// machine inline would multiply it (704 bytes each with the machines
    /// inline, 208 with keys as strings instead of digests).
    #[test]
    fn a_table_entry_stays_small() {
        let entry = std::mem::size_of::<Entry<std::net::SocketAddr>>();
        assert!(entry <= 136, "Entry is {entry} bytes");
        assert_eq!(std::mem::size_of::<Machine>(), 16);
        assert_eq!(std::mem::size_of::<KeyDigest>(), 16);
    }

    #[derive(Debug, Clone, Copy)]
    struct Udp;

    impl Target for Udp {
        fn is_reliable(&self) -> bool {
            false
        }
    }

    /// Finished server transactions are kept in the compact form: after
    /// the ACK for a 2xx (Timer L), after the ACK for a non-2xx (Timer I),
    /// after a non-INVITE final (Timer J).
    #[test]
    fn finished_server_transactions_linger_compactly() {
        use crate::transaction::test_support::{invite, request, response};
        let now = crate::transaction::test_clock::t0();
        let peer = Udp;
        let mut layer = TransactionLayer::new(TimerConfig::default());
        let tx_of = |layer: &mut TransactionLayer<Udp>| loop {
            match layer.poll_output() {
                Some(Output::Event(TuEvent::Request { tx, .. })) => break tx,
                Some(_) => continue,
                None => panic!("no new transaction"),
            }
        };
        let lingers = |layer: &TransactionLayer<Udp>, tx| {
            matches!(layer.entries[&tx].machine, Machine::Lingering(_))
        };

        // An INVITE from the peer, answered with `status`.
        let answered = |layer: &mut TransactionLayer<Udp>, branch: &str, status| {
            let inv = invite(branch);
            layer
                .handle_message(Message::Request(inv.clone()), peer, now)
                .unwrap();
            let tx = tx_of(layer);
            layer.respond(tx, response(&inv, status), now).unwrap();
            tx
        };
        let ack = |layer: &mut TransactionLayer<Udp>, branch: &str| {
            let ack = request(Method::Ack, branch);
            layer
                .handle_message(Message::Request(ack), peer, now)
                .unwrap();
        };

        let accepted = answered(&mut layer, "z9hG4bKlinger1", 200);
        assert!(!lingers(&layer, accepted), "still retransmitting its 2xx");
        ack(&mut layer, "z9hG4bKlinger2"); // the ACK for a 2xx has a branch of its own
        assert!(lingers(&layer, accepted));

        let rejected = answered(&mut layer, "z9hG4bKlinger3", 486);
        assert!(!lingers(&layer, rejected), "waiting for its ACK");
        ack(&mut layer, "z9hG4bKlinger3");
        assert!(lingers(&layer, rejected));

        let bye = request(Method::Bye, "z9hG4bKlinger4");
        layer
            .handle_message(Message::Request(bye.clone()), peer, now)
            .unwrap();
        let completed = tx_of(&mut layer);
        layer.respond(completed, response(&bye, 200), now).unwrap();
        assert!(lingers(&layer, completed));
        assert!(std::mem::size_of::<Lingering>() <= 80);
    }

    /// The machines that outlive their final response by 32 s keep their
    /// messages boxed (allocated once, dropped early): their own size is
    /// paid per finished transaction.
    #[test]
    fn lingering_machines_stay_small() {
        let sizes = [
            (
                "server non-INVITE",
                std::mem::size_of::<ServerNonInvite>(),
                128,
            ),
            ("server INVITE", std::mem::size_of::<ServerInvite>(), 320),
            ("client INVITE", std::mem::size_of::<ClientInvite>(), 256),
        ];
        for (name, size, limit) in sizes {
            assert!(size <= limit, "{name} machine is {size} bytes");
        }
    }
}
