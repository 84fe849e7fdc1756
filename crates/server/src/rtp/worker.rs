//! A media worker: one OS thread owning the sockets of its share of the
//! legs. It relays bridged legs, plays sources into legs on one shared 20 ms
//! tick, and reports DTMF and media silence. Commands arrive on a channel
//! that wakes its poller; the hot path (receive, check, rewrite, send)
//! allocates nothing, takes no lock and makes two syscalls per packet (one
//! receive, one send) plus its share of one `epoll_wait` per batch of ready
//! sockets (see `poller`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use media::player::{Frame, PlaySource, Playout};
use media::relay::{Relay, Verdict};
use media::rtp::RtpHeader;
use media::source::SourceVerdict;
use media::{FRAME_DURATION, FRAME_SAMPLES};
use rustix::event::epoll::Event;
use sdp::NegotiatedAudio;
use tokio::sync::oneshot;

use super::leg::{Leg, LegStats, FEED_RELAY};
use super::leg_table::LegTable;
use super::poller::{Poller, WorkerTx, TICK, WAKE};
use super::recorder::RecordTap;
use crate::media::{LegId, MediaEvent, MediaReport};

/// Where workers report events; the driver maps them into its own queue.
pub type EventSink = Arc<dyn Fn(MediaEvent) + Send + Sync>;
/// Where the engine hands over what belongs in call records.
pub type ReportSink = Arc<dyn Fn(MediaReport) + Send + Sync>;

/// Largest datagram we read; RTP for G.711 20 ms is 172 bytes.
const RECV_BUF: usize = 2048;
/// Ready sockets taken per `epoll_wait`. One datagram is read from each per
/// round, so a flood on one port cannot starve the others.
const EVENTS: usize = 256;

pub(super) enum Command {
    Create {
        id: LegId,
        port: u16,
        rtp: std::net::UdpSocket,
        rtcp: std::net::UdpSocket,
    },
    Configure {
        id: LegId,
        audio: NegotiatedAudio,
    },
    Bridge {
        a: LegId,
        b: LegId,
    },
    Unbridge {
        id: LegId,
    },
    /// Relay the leg into itself (echo test).
    Echo {
        id: LegId,
    },
    Play {
        id: LegId,
        source: PlaySource,
    },
    Stop {
        id: LegId,
    },
    /// Feed the leg's received audio to a recording.
    Record {
        id: LegId,
        tap: Box<RecordTap>,
    },
    StopRecording {
        id: LegId,
    },
    Hold {
        id: LegId,
        on: bool,
    },
    Release {
        id: LegId,
    },
    Stats {
        id: LegId,
        reply: oneshot::Sender<Option<LegStats>>,
    },
    /// A leg is moving here from another worker: hold its commands until it arrives.
    Expect {
        id: LegId,
    },
    /// Hand a leg over to another worker (to join the leg it is bridged to).
    Detach {
        id: LegId,
        to: WorkerTx,
    },
    Adopt {
        leg: Box<Leg>,
    },
}

impl Command {
    /// The legs a command needs; it waits while any of them is still moving here.
    fn legs(&self) -> [Option<LegId>; 2] {
        match self {
            Command::Bridge { a, b } => [Some(*a), Some(*b)],
            Command::Configure { id, .. }
            | Command::Unbridge { id }
            | Command::Echo { id }
            | Command::Play { id, .. }
            | Command::Stop { id }
            | Command::Record { id, .. }
            | Command::StopRecording { id }
            | Command::Hold { id, .. }
            | Command::Release { id }
            | Command::Stats { id, .. }
            | Command::Detach { id, .. } => [Some(*id), None],
            Command::Create { .. } | Command::Expect { .. } | Command::Adopt { .. } => [None, None],
        }
    }
}

/// What every worker of an engine shares.
#[derive(Clone)]
pub(super) struct Settings {
    pub events: EventSink,
    pub reports: ReportSink,
    pub media_timeout: Duration,
    pub hold_timeout: Duration,
    pub rtcp_interval: Duration,
}

pub(super) struct Worker {
    index: usize,
    legs: LegTable,
    /// This worker's epoll set (its legs' sockets, the command eventfd and
    /// the tick timerfd).
    poller: Arc<Poller>,
    /// Legs on their way here, with the commands that arrived before them.
    incoming: HashMap<LegId, Vec<Command>>,
    events: EventSink,
    reports: ReportSink,
    media_timeout: Duration,
    hold_timeout: Duration,
    rtcp_interval: Duration,
    buf: Box<[u8; RECV_BUF]>,
    frame: Box<Frame>,
    /// When the 20 ms tick started: ticks fire at origin + k * 20 ms.
    tick_origin: Instant,
}

impl Worker {
    pub fn new(index: usize, settings: Settings, poller: Arc<Poller>) -> Worker {
        Worker {
            index,
            legs: LegTable::default(),
            poller,
            incoming: HashMap::new(),
            events: settings.events,
            reports: settings.reports,
            media_timeout: settings.media_timeout,
            hold_timeout: settings.hold_timeout,
            rtcp_interval: settings.rtcp_interval,
            buf: Box::new([0; RECV_BUF]),
            frame: Box::new([0; FRAME_SAMPLES]),
            tick_origin: clock(),
        }
    }

    /// The worker thread's loop, until every sender of `commands` is gone.
    /// The 20 ms tick (playout, RTCP, DTMF ends, media timeouts) is the
    /// poller's timerfd: ticks fire at origin + k * 20 ms, missed ones skipped.
    pub fn run(mut self, commands: mpsc::Receiver<Command>) {
        self.tick_origin = clock();
        if let Err(e) = self.poller.start_ticks(FRAME_DURATION) {
            tracing::error!(
                worker = self.index,
                "media worker cannot start its tick: {e}"
            );
            return;
        }
        // What one `epoll_wait` returned (made here: epoll events are not Send).
        let mut events: Vec<Event> = Vec::with_capacity(EVENTS);
        loop {
            if let Err(e) = self.poller.wait(&mut events, None) {
                tracing::error!(worker = self.index, "media worker cannot poll: {e}");
                break;
            }
            let now = clock();
            for event in &events {
                match event.data.u64() {
                    WAKE => {
                        if !self.drain_commands(&commands, now) {
                            tracing::debug!(worker = self.index, "media worker stopped");
                            return;
                        }
                    }
                    TICK => {
                        self.poller.ticked();
                        self.on_tick(now);
                    }
                    token => self.on_readable(token, now),
                }
            }
        }
    }

    /// Handle every queued command; false once the engine is gone.
    fn drain_commands(&mut self, commands: &mpsc::Receiver<Command>, now: Instant) -> bool {
        // Reset the eventfd first: a command queued after this wakes us again.
        self.poller.drained();
        loop {
            match commands.try_recv() {
                Ok(command) => self.handle_command(command, now),
                Err(mpsc::TryRecvError::Empty) => return true,
                Err(mpsc::TryRecvError::Disconnected) => return false,
            }
        }
    }

    fn handle_command(&mut self, command: Command, now: Instant) {
        let waiting = command
            .legs()
            .into_iter()
            .flatten()
            .find(|id| self.incoming.contains_key(id));
        if let Some(queue) = waiting.and_then(|id| self.incoming.get_mut(&id)) {
            queue.push(command);
            return;
        }
        match command {
            Command::Create {
                id,
                port,
                rtp,
                rtcp,
            } => match (rtp.set_nonblocking(true), rtcp.set_nonblocking(true)) {
                (Ok(()), Ok(())) => {
                    self.insert(Leg::new(id, port, rtp, rtcp, self.rtcp_interval, now));
                }
                (Err(e), _) | (_, Err(e)) => {
                    tracing::warn!(?id, port, "cannot make RTP/RTCP socket non-blocking: {e}");
                }
            },
            Command::Configure { id, audio } => {
                if let Some(leg) = self.legs.get_mut(id) {
                    leg.configure(&audio, now);
                    if let Some(peer) = leg.peer {
                        self.rebuild_relays(id, peer);
                    }
                }
            }
            Command::Bridge { a, b } => self.bridge(a, b),
            Command::Unbridge { id } => self.unbridge(id),
            Command::Echo { id } => self.echo(id),
            Command::Play { id, source } => {
                if let Some(leg) = self.legs.get_mut(id) {
                    leg.play_generation = leg.play_generation.wrapping_add(1);
                    let start = playout_start(self.tick_origin, now);
                    leg.playout = Some(Playout::new(source, start));
                }
            }
            Command::Stop { id } => {
                if let Some(leg) = self.legs.get_mut(id) {
                    leg.playout = None;
                }
            }
            Command::Record { id, tap } => {
                if let Some(leg) = self.legs.get_mut(id) {
                    leg.record = Some(*tap);
                }
            }
            Command::StopRecording { id } => {
                if let Some(leg) = self.legs.get_mut(id) {
                    // Dropping the tap tells the recorder this channel ended.
                    leg.record = None;
                }
            }
            Command::Hold { id, on } => {
                if let Some(leg) = self.legs.get_mut(id) {
                    leg.on_hold = on;
                    // Silence counts afresh under the new limit.
                    leg.last_rtp = now;
                    leg.timed_out = false;
                }
            }
            Command::Release { id } => {
                self.unbridge(id);
                if let Some(leg) = self.remove(id) {
                    (self.reports)(MediaReport::LegClosed {
                        leg: id,
                        stats: Box::new(leg.stats()),
                    });
                }
            }
            Command::Stats { id, reply } => {
                let _ = reply.send(self.legs.get(id).map(Leg::stats));
            }
            Command::Expect { id } => {
                self.incoming.entry(id).or_default();
            }
            Command::Detach { id, to } => {
                self.unbridge(id);
                if let Some(leg) = self.remove(id) {
                    // Out of this worker's epoll set; the receiving worker
                    // adds the same sockets to its own.
                    let _ = to.send(Command::Adopt { leg: Box::new(leg) });
                }
            }
            Command::Adopt { leg } => {
                let id = leg.id;
                self.insert(*leg);
                for queued in self.incoming.remove(&id).unwrap_or_default() {
                    self.handle_command(queued, now);
                }
            }
        }
    }

    fn insert(&mut self, leg: Leg) {
        let id = leg.id;
        let slot = self.legs.insert(leg);
        let Some(leg) = self.legs.at_mut(slot) else {
            return;
        };
        let added = self
            .poller
            .add(&leg.socket, token(slot, false))
            .and_then(|()| self.poller.add(&leg.rtcp, token(slot, true)));
        if let Err(e) = added {
            tracing::warn!(
                worker = self.index,
                ?id,
                "cannot watch a leg's sockets: {e}"
            );
        }
    }

    fn remove(&mut self, id: LegId) -> Option<Leg> {
        let leg = self.legs.remove(id);
        if let Some(leg) = leg.as_ref() {
            self.poller.delete(&leg.socket);
            self.poller.delete(&leg.rtcp);
        }
        leg
    }

    fn bridge(&mut self, a: LegId, b: LegId) {
        if a == b || !self.legs.contains(a) || !self.legs.contains(b) {
            tracing::warn!(
                worker = self.index,
                ?a,
                ?b,
                "bridge of legs not on this worker"
            );
            return;
        }
        self.unbridge(a);
        self.unbridge(b);
        for (x, y) in [(a, b), (b, a)] {
            let y_slot = self.legs.slot_of(y);
            if let Some(leg) = self.legs.get_mut(x) {
                leg.peer = Some(y);
                leg.peer_slot = y_slot;
                // A bridged leg hears its peer, not ringback.
                leg.playout = None;
            }
        }
        self.rebuild_relays(a, b);
    }

    /// The leg becomes its own peer: its packets go through a relay into
    /// its own outgoing stream (own SSRC, continuous sequence) and back to
    /// the locked source. Playout stops, as on a bridge.
    fn echo(&mut self, id: LegId) {
        if !self.legs.contains(id) {
            return;
        }
        self.unbridge(id);
        let slot = self.legs.slot_of(id);
        if let Some(leg) = self.legs.get_mut(id) {
            leg.peer = Some(id);
            leg.peer_slot = slot;
            leg.playout = None;
        }
        self.rebuild_relays(id, id);
    }

    fn unbridge(&mut self, id: LegId) {
        let Some(peer) = self.legs.get_mut(id).and_then(|l| l.peer.take()) else {
            return;
        };
        if let Some(leg) = self.legs.get_mut(id) {
            leg.peer_slot = None;
            leg.relay_in = None;
            leg.stream.detach();
        }
        if let Some(p) = self.legs.get_mut(peer) {
            if p.peer == Some(id) {
                p.peer = None;
                p.peer_slot = None;
                p.relay_in = None;
                p.stream.detach();
            }
        }
    }

    /// (Re)build both relays of a bridge from the legs' current formats.
    fn rebuild_relays(&mut self, a: LegId, b: LegId) {
        let fa = self.legs.get(a).and_then(|l| l.format);
        let fb = self.legs.get(b).and_then(|l| l.format);
        let (Some(fa), Some(fb)) = (fa, fb) else {
            return;
        };
        for (into, from_format, into_format) in [(a, fb, fa), (b, fa, fb)] {
            if let Some(leg) = self.legs.get_mut(into) {
                match leg.relay_in.as_mut() {
                    Some(relay) => relay.set_formats(from_format, into_format),
                    None => leg.relay_in = Some(Relay::new(from_format, into_format, FEED_RELAY)),
                }
            }
        }
    }

    fn on_tick(&mut self, now: Instant) {
        let Worker {
            legs,
            events,
            frame,
            buf,
            media_timeout,
            hold_timeout,
            ..
        } = self;
        let ntp = ntp_now();
        for leg in legs.values_mut() {
            if leg.playout.is_some() {
                leg.play_due_frames(now, frame, &mut buf[..]);
            }
            leg.send_rtcp_if_due(now, ntp, &mut buf[..]);
            let limit = if leg.on_hold {
                *hold_timeout
            } else {
                *media_timeout
            };
            while let Some(digit) = leg.dtmf.poll_digit(now) {
                events(MediaEvent::Dtmf {
                    leg: leg.id,
                    digit: digit.symbol,
                });
            }
            if leg.format.is_some()
                && leg.direction.receives()
                && !leg.timed_out
                && now.saturating_duration_since(leg.last_rtp) >= limit
            {
                leg.timed_out = true;
                events(MediaEvent::Timeout { leg: leg.id });
            }
        }
    }

    /// One of a leg's sockets is readable: read one datagram (level-
    /// triggered, so a socket with more waiting is reported again by the
    /// next wait, after the other ready sockets had their turn).
    fn on_readable(&mut self, token: u64, now: Instant) {
        let Ok(slot) = u32::try_from(token >> 1) else {
            return;
        };
        let rtcp = token & 1 == 1;
        let Worker { legs, buf, .. } = self;
        // Vacant: released or moved earlier in this batch. (A slot reused in
        // the same batch names the new leg, whose socket is read: at worst
        // a read that finds nothing.)
        let Some(leg) = legs.at_mut(slot) else { return };
        if rtcp {
            if let Ok((len, from)) = leg.rtcp.recv_from(&mut buf[..]) {
                if let Some(packet) = buf.get(..len) {
                    leg.on_rtcp(from, packet, ntp_now(), now);
                }
            }
            return;
        }
        // An error is WouldBlock (nothing after all) or an ICMP port
        // unreachable from an earlier send, now consumed: the socket is fine.
        if let Some((len, from)) = recv_from(&leg.socket, &mut buf[..]) {
            self.on_packet(slot, from, len, now);
        }
    }

    /// The hot path: one datagram arrived on leg `id`.
    fn on_packet(&mut self, slot: u32, from: SocketAddr, len: usize, now: Instant) {
        let Worker {
            legs, buf, events, ..
        } = self;
        let Some(packet) = buf.get_mut(..len) else {
            return;
        };
        let Some(leg) = legs.at_mut(slot) else { return };
        let id = leg.id;
        let Ok(header) = RtpHeader::parse(packet) else {
            leg.malformed += 1;
            return;
        };
        if leg.lock.check(from, header.sequence) == SourceVerdict::Drop {
            return;
        }
        leg.received += 1;
        leg.last_rtp = now;
        leg.timed_out = false;
        if let Some(format) = leg.format {
            if let Some(codec) = format.codec_of(header.payload_type) {
                leg.rtcp_session
                    .on_rtp(header.ssrc, header.sequence, header.timestamp, now);
                if let Some(tap) = leg.record.as_mut() {
                    tap.feed(codec, header.payload(packet), now);
                }
            }
        }
        let event_pt = leg.format.and_then(|f| f.event_pt);
        if event_pt.is_some() && event_pt == Some(header.payload_type) {
            let _ = leg.dtmf.handle_packet(
                header.timestamp,
                header.marker,
                header.payload(packet),
                now,
            );
            while let Some(digit) = leg.dtmf.poll_digit(now) {
                events(MediaEvent::Dtmf {
                    leg: id,
                    digit: digit.symbol,
                });
            }
        }
        let Some(peer_slot) = leg.peer_slot else {
            return;
        };
        let Some(peer) = legs.at_mut(peer_slot) else {
            return;
        };
        // A prompt or music playing into the peer takes precedence.
        if peer.playout.is_some() {
            return;
        }
        let Some(dest) = peer.destination() else {
            return;
        };
        let Some(relay) = peer.relay_in.as_mut() else {
            return;
        };
        if let Verdict::Forward { len, .. } = relay.process(packet, &mut peer.stream, now) {
            if let Some(out) = packet.get(..len) {
                peer.send(out, dest);
            }
        }
    }
}

/// One datagram from a non-blocking socket, as a direct system call: the
/// standard library goes through libc's cancellable wrapper (a cancellation
/// point that masks and unmasks asynchronous cancel around the call), which
/// cost about 5 % of the media thread's time at load for nothing a media
/// worker uses.
fn recv_from(socket: &std::net::UdpSocket, buf: &mut [u8]) -> Option<(usize, SocketAddr)> {
    let (len, _, from) =
        rustix::net::recvfrom(socket, buf, rustix::net::RecvFlags::empty()).ok()?;
    Some((len, SocketAddr::try_from(from?).ok()?))
}

/// The epoll token of the RTP (`rtcp` false) or RTCP socket of the leg in
/// `slot` of the worker's leg table.
fn token(slot: u32, rtcp: bool) -> u64 {
    u64::from(slot) << 1 | u64::from(rtcp)
}

/// Where a playout starting at `now` puts its frame boundaries: half-way
/// between the worker's ticks, at the middle of the tick period `now` falls
/// in (up to half a tick before or after `now`), so the next tick sends
/// frame 0. Boundaries right at the ticks would alias with the ticks'
/// jitter: one tick a hair early sends nothing, the next sends two, and the
/// phone sees 40 ms gaps. Half a tick away, each tick sends exactly one
/// frame even with 10 ms of timer jitter.
fn playout_start(origin: Instant, now: Instant) -> Instant {
    let period = FRAME_DURATION.as_nanos();
    let phase = now.saturating_duration_since(origin).as_nanos() % period;
    let half = period / 2;
    if phase >= half {
        now.checked_sub(Duration::from_nanos((phase - half) as u64))
            .unwrap_or(now)
    } else {
        now + Duration::from_nanos((half - phase) as u64)
    }
}

/// The worker is a driver: it reads the monotonic clock and passes `now`
/// into the sans-IO cores.
#[allow(clippy::disallowed_methods)]
fn clock() -> Instant {
    Instant::now()
}

/// Wall clock as NTP, for RTCP sender reports and round trips.
#[allow(clippy::disallowed_methods)]
fn ntp_now() -> u64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    media::rtcp_session::ntp_from_unix(since)
}

#[cfg(test)]
mod phase_tests {
    use super::*;

    #[test]
    fn playouts_start_half_way_between_ticks() {
        let origin = clock();
        for offset_ms in [0u64, 3, 10, 15, 19, 20, 47, 1000, 1013] {
            let now = origin + Duration::from_millis(offset_ms) + Duration::from_micros(300);
            let start = playout_start(origin, now);
            // Within the tick period `now` is in: the next tick sends frame 0.
            let last_tick =
                now - Duration::from_nanos((now - origin).as_nanos() as u64 % 20_000_000);
            assert!(
                start > last_tick && start < last_tick + FRAME_DURATION,
                "{offset_ms}"
            );
            // Measured from a tick before the origin: start may precede it.
            let phase = (start + FRAME_DURATION - origin).as_nanos() % FRAME_DURATION.as_nanos();
            assert_eq!(phase, FRAME_DURATION.as_nanos() / 2, "{offset_ms}");
        }
    }
}
