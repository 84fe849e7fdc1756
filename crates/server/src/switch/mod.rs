//! The signalling core: every SIP decision of the switch, sans-IO.
//!
//! The driver feeds it datagrams, media events and timer expiries together
//! with `now`, and drains `Effect`s (bytes to send, records to store). It owns
//! the transaction layer, the registrar and the calls, so one task runs all
//! signalling without locks; media runs elsewhere (the media engine), reached
//! through the `MediaControl` trait.

mod auth;
mod call;
mod calls;
mod dispatch;
mod flow;
mod keepalive;
mod leg;
mod outbound;
mod prompts;
mod recording;
mod registrar;
mod requests;
mod trunk_register;

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::SeedableRng;
use sip::transaction::{Output, Target, TimerConfig, TransactionLayer, TuEvent};

use crate::media::{MediaControl, MediaEvent, MediaReport};
use crate::transport::{Peer, Transport};

impl Target for Peer {
    fn is_reliable(&self) -> bool {
        self.transport == Transport::Tcp
    }
}

/// What the core asks the driver to do.
#[derive(Debug, Clone, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "a few effects per call, drained at once; boxing the record buys nothing"
)]
pub enum Effect {
    Send {
        peer: Peer,
        data: Vec<u8>,
    },
    /// A registration changed: persist it so a restart keeps it.
    SaveBinding(store::Registration),
    /// A binding ended (unregister, expiry).
    RemoveBinding {
        username: String,
        contact: String,
    },
    /// A call finished: its record must be stored durably.
    CallRecord(store::CallRecord),
    /// A caller left a voicemail (the file is complete): store it and
    /// notify whoever listens for new messages.
    Voicemail(store::VoicemailMessage),
    /// Media figures for a call record emitted earlier (the recording's
    /// length, a leg's reception figures): update the stored record. Only
    /// the `Some` fields are new.
    CallMedia {
        node_id: String,
        id: String,
        media: store::CallMedia,
    },
}

/// Wall-clock seconds derived from the monotonic `now`, so the core reads
/// no clock: the driver gives one pair of readings at start.
#[derive(Debug, Clone, Copy)]
pub struct WallClock {
    pub at: Instant,
    pub unix: u64,
}

impl WallClock {
    pub fn unix(&self, now: Instant) -> u64 {
        self.unix + now.saturating_duration_since(self.at).as_secs()
    }

    pub fn unix_ms(&self, now: Instant) -> i64 {
        (self.unix * 1000 + now.saturating_duration_since(self.at).as_millis() as u64) as i64
    }
}

pub struct Core {
    plan: Arc<dialplan::Plan>,
    layer: TransactionLayer<Peer>,
    registrar: registrar::Registrar,
    keepalive: keepalive::Keepalive,
    /// Our registrations at trunk providers (`[trunk.register]`).
    trunk_register: trunk_register::TrunkRegistrations,
    calls: calls::Calls,
    /// Ended calls' legs whose media reports are still due.
    awaited: recording::AwaitedReports,
    media: Box<dyn MediaControl>,
    /// Prompt clips, loaded once by path.
    prompts: prompts::Prompts,
    effects: VecDeque<Effect>,
    rng: StdRng,
    clock: WallClock,
    /// host:port we put in Via, Contact and SDP (the configured public address).
    local: SocketAddr,
    /// Stateless digest nonces, keyed with a secret fresh per process.
    digest: sip::auth::DigestServer,
}

impl Core {
    pub fn new(
        plan: Arc<dialplan::Plan>,
        media: Box<dyn MediaControl>,
        listen: SocketAddr,
        clock: WallClock,
        seed: u64,
    ) -> Core {
        let public: IpAddr = plan.server().public_address;
        let mut rng = StdRng::seed_from_u64(seed);
        let nonce_ttl = plan.registrar().nonce_ttl.as_secs();
        let mut nonce_secret = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rng, &mut nonce_secret);
        Core {
            keepalive: keepalive::Keepalive::new(plan.registrar()),
            trunk_register: trunk_register::TrunkRegistrations::new(
                &plan,
                SocketAddr::new(public, listen.port()),
            ),
            plan,
            layer: TransactionLayer::new(TimerConfig::default()),
            registrar: registrar::Registrar::default(),
            calls: calls::Calls::default(),
            awaited: recording::AwaitedReports::default(),
            media,
            prompts: prompts::Prompts::default(),
            effects: VecDeque::new(),
            rng,
            clock,
            local: SocketAddr::new(public, listen.port()),
            digest: sip::auth::DigestServer::new(&nonce_secret, nonce_ttl),
        }
    }

    /// Restores registrations saved by an earlier run (expired ones are skipped).
    pub fn restore_bindings(&mut self, bindings: Vec<store::Registration>, now: Instant) {
        let unix = self.clock.unix(now);
        for b in bindings {
            if b.expires_at > unix as i64 {
                self.keepalive.watch(&b.username, &b.contact, now);
                self.registrar.restore(b);
            }
        }
    }

    /// Sends the first REGISTER to every trunk with a `[trunk.register]`.
    pub fn start_trunk_registrations(&mut self, now: Instant) {
        trunk_register::start(self, now);
        self.pump(now);
    }

    /// Shutdown: REGISTER with expiry 0 to every provider we registered at.
    pub fn unregister_trunks(&mut self, now: Instant) {
        trunk_register::unregister_all(self, now);
        self.pump(now);
    }

    /// Whether a shutdown unregistration still awaits the provider's answer.
    pub fn trunks_unregistering(&self) -> bool {
        self.trunk_register.unregistering()
    }

    /// Each registering trunk's name and registration state.
    pub fn trunk_registrations(&self) -> Vec<(String, sip::registration::RegistrationState)> {
        self.trunk_register.states()
    }

    /// Swaps in a new plan; calls in progress keep what they captured (each
    /// call's dial-plan run holds the plan it started with).
    pub fn set_plan(&mut self, plan: Arc<dialplan::Plan>) {
        self.plan = plan;
    }

    /// A datagram or framed stream message arrived.
    pub fn handle_message(&mut self, peer: Peer, data: &[u8], now: Instant) {
        dispatch::handle_bytes(self, peer, data, now);
        self.pump(now);
    }

    pub fn handle_media_event(&mut self, event: MediaEvent, now: Instant) {
        calls::handle_media_event(self, event, now);
        self.pump(now);
    }

    /// A recording finished or a leg closed: the figures go into the call's
    /// record (`Effect::CallMedia` when the record was already emitted).
    pub fn handle_media_report(&mut self, report: MediaReport, now: Instant) {
        recording::handle_media_report(self, report, now);
    }

    /// Ended calls' legs whose media reports are still awaited.
    pub fn awaited_media_reports(&self) -> usize {
        self.awaited.len()
    }

    /// Timers of the layer, the calls, the registrar and the keepalives.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.layer.handle_timeout(now);
        self.pump(now);
        calls::handle_timeout(self, now);
        registrar::expire(self, now);
        keepalive::handle_timeout(self, now);
        trunk_register::handle_timeout(self, now);
        self.pump(now);
    }

    /// The earliest moment `handle_timeout` has work.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        [
            self.layer.poll_timeout(),
            self.calls.next_deadline(),
            self.keepalive.next_deadline(),
            self.trunk_register.next_deadline(),
            self.registrar.next_expiry(self.clock),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    pub fn poll_effect(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    /// Number of calls in progress (for logs and tests).
    pub fn active_calls(&self) -> usize {
        self.calls.len()
    }

    /// Entries left in the call routing indexes (Call-ID, transaction,
    /// media leg): zero when no call is in progress, or they leak.
    pub fn call_index_entries(&self) -> usize {
        self.calls.index_entries()
    }

    /// Moves the layer's output to effects and hands TU events to their owners.
    fn pump(&mut self, now: Instant) {
        while let Some(out) = self.layer.poll_output() {
            match out {
                Output::Transmit(t) => {
                    let data = t.message.to_bytes();
                    self.effects.push_back(Effect::Send {
                        peer: t.target,
                        data,
                    });
                }
                Output::Event(ev) => self.handle_tu_event(ev, now),
            }
        }
    }

    fn handle_tu_event(&mut self, ev: TuEvent<Peer>, now: Instant) {
        match ev {
            TuEvent::Request {
                tx,
                request,
                source,
            } => requests::handle_request(self, tx, request, source, now),
            TuEvent::Cancel {
                tx,
                request,
                invite,
                ..
            } => calls::handle_cancel(self, tx, &request, invite, now),
            TuEvent::Ack { request, .. } => calls::handle_ack(self, &request, now),
            TuEvent::Response { tx, response } => {
                if !keepalive::handle_response(self, tx, &response, now)
                    && !trunk_register::handle_response(self, tx, &response, now)
                {
                    calls::handle_response(self, tx, response, now);
                }
            }
            TuEvent::StrayResponse { response, source } => {
                calls::handle_stray_response(self, response, source, now)
            }
            TuEvent::Timeout { tx } | TuEvent::TransportError { tx } => {
                if !keepalive::handle_failure(self, tx, now)
                    && !trunk_register::handle_failure(self, tx, now)
                {
                    calls::handle_failure(self, tx, now);
                }
            }
            TuEvent::AckTimeout { tx } => calls::handle_ack_timeout(self, tx, now),
            TuEvent::Terminated { tx } => calls::transaction_ended(self, tx),
        }
    }

    /// The host:port string for Via sent-by and Contact.
    fn local_hostport(&self) -> String {
        self.local.to_string()
    }

    fn send_bytes(&mut self, peer: Peer, data: Vec<u8>) {
        self.effects.push_back(Effect::Send { peer, data });
    }
}
