//! One leg inside a media worker: its sockets and the sans-IO media cores
//! that act on its packets.

use std::net::SocketAddr;
use std::time::Instant;

use media::dtmf::DtmfReceiver;
use media::g711::{self, Codec};
use media::player::{Frame, Playout};
use media::quality::Quality;
use media::relay::{LegFormat, Relay, RelayCounters};
use media::rtcp_session::{RemoteQuality, RtcpSession, SenderState};
use media::rtp::{write_packet, OutHeader};
use media::source::SourceLock;
use media::stream::{OutgoingStream, PacketKind, SourceId};
use media::FRAME_SAMPLES;
use sdp::{AudioCodec, Direction, NegotiatedAudio};

use super::recorder::RecordTap;
use crate::media::LegId;

/// Our RTCP canonical name.
const CNAME: &[u8] = b"switchboard";
/// Fixed RTP header length (we send no CSRC or extensions).
const RTP_HEADER: usize = 12;

/// Feed ids of a leg's outgoing stream (see `media::stream::SourceId`).
pub(super) const FEED_RELAY: u32 = 0;
pub(super) const FEED_PLAYER: u32 = 1;

/// Snapshot of a leg for tests, logs, the dashboard and the call record.
#[derive(Debug, Clone, PartialEq)]
pub struct LegStats {
    pub port: u16,
    /// The peer address learned by symmetric RTP (locked), if any.
    pub locked: Option<SocketAddr>,
    /// Where we send.
    pub send_to: Option<SocketAddr>,
    pub bridged_with: Option<LegId>,
    pub playing: bool,
    pub received: u64,
    pub malformed: u64,
    pub dropped_by_lock: u64,
    pub sent: u64,
    pub send_errors: u64,
    /// Relay from the bridged leg into this one.
    pub relay_in: Option<RelayCounters>,
    /// Whether the leg's audio goes to a recording.
    pub recording: bool,
    pub on_hold: bool,
    /// What we receive from the peer: packets, loss, jitter, RTT, MOS.
    pub quality: Quality,
    /// What the peer reported (RTCP) about the stream we send it.
    pub remote: Option<RemoteQuality>,
    pub rtcp_sent: u64,
    pub rtcp_received: u64,
    /// The peer said RTCP BYE.
    pub rtcp_goodbye: bool,
}

pub(super) struct Leg {
    pub id: LegId,
    pub port: u16,
    /// Non-blocking; watched by the epoll set of the worker holding the leg.
    pub socket: std::net::UdpSocket,
    pub rtcp: std::net::UdpSocket,
    pub rtcp_session: RtcpSession,
    /// Where the peer's RTCP comes from (symmetric RTCP), once it came.
    pub rtcp_from: Option<SocketAddr>,
    pub on_hold: bool,
    pub format: Option<LegFormat>,
    pub direction: Direction,
    pub lock: SourceLock,
    pub stream: OutgoingStream,
    pub dtmf: DtmfReceiver,
    pub peer: Option<LegId>,
    /// The peer's slot in the worker's leg table (see `leg_table`), kept
    /// with `peer` so the hot path reaches the peer without a lookup.
    pub peer_slot: Option<u32>,
    /// Relay from the peer into this leg (built when both are configured).
    pub relay_in: Option<Relay>,
    pub playout: Option<Playout>,
    /// Incremented per play command: a new prompt is a new source (marker bit).
    pub play_generation: u32,
    pub last_rtp: Instant,
    pub timed_out: bool,
    pub received: u64,
    pub malformed: u64,
    pub sent: u64,
    /// Payload octets sent (for the SR).
    pub sent_octets: u64,
    pub send_errors: u64,
    /// This leg's channel of a recording, if it is recorded.
    pub record: Option<RecordTap>,
}

impl Leg {
    pub fn new(
        id: LegId,
        port: u16,
        socket: std::net::UdpSocket,
        rtcp: std::net::UdpSocket,
        rtcp_interval: std::time::Duration,
        now: Instant,
    ) -> Leg {
        // Spread the legs' reports over the interval.
        let interval_ms = rtcp_interval.as_millis().max(1) as u64;
        let first = std::time::Duration::from_millis(rand::random::<u64>() % interval_ms);
        Leg {
            id,
            port,
            socket,
            rtcp,
            rtcp_session: RtcpSession::new(now, rtcp_interval, first),
            rtcp_from: None,
            on_hold: false,
            format: None,
            direction: Direction::SendRecv,
            lock: SourceLock::new(None),
            // RFC 3550 wants SSRC, first sequence number and timestamp random.
            stream: OutgoingStream::new(rand::random(), rand::random(), rand::random()),
            dtmf: DtmfReceiver::default(),
            peer: None,
            peer_slot: None,
            relay_in: None,
            playout: None,
            play_generation: 0,
            last_rtp: now,
            timed_out: false,
            received: 0,
            malformed: 0,
            sent: 0,
            sent_octets: 0,
            send_errors: 0,
            record: None,
        }
    }

    /// Apply what the far end negotiated. A changed SDP address (re-INVITE)
    /// restarts source learning.
    pub fn configure(&mut self, audio: &NegotiatedAudio, now: Instant) {
        let first = self.format.is_none();
        self.format = Some(leg_format(audio));
        self.direction = audio.direction;
        if first {
            self.lock = SourceLock::new(audio.remote);
        } else if audio.remote.is_some() && audio.remote != self.lock.send_to() {
            self.lock.relearn(audio.remote);
        }
        // Silence counts from when the far end could start sending.
        self.last_rtp = now;
        self.timed_out = false;
    }

    /// Where this leg's packets go, if we may send on it at all.
    pub fn destination(&self) -> Option<SocketAddr> {
        if self.format.is_some() && self.direction.sends() {
            self.lock.send_to()
        } else {
            None
        }
    }

    pub fn send(&mut self, packet: &[u8], to: SocketAddr) {
        // A direct system call, not libc's cancellable wrapper (see
        // `worker::recv_from`).
        match rustix::net::sendto(&self.socket, packet, rustix::net::SendFlags::empty(), &to) {
            Ok(_) => {
                self.sent += 1;
                self.sent_octets += packet.len().saturating_sub(RTP_HEADER) as u64;
            }
            // A full socket buffer or an unreachable peer loses one packet;
            // RTP is built for that.
            Err(_) => self.send_errors += 1,
        }
    }

    /// Send every frame of the playout due at `now`.
    pub fn play_due_frames(&mut self, now: Instant, frame: &mut Frame, out: &mut [u8]) {
        let (Some(format), Some(dest)) = (self.format, self.destination()) else {
            return;
        };
        let Some(playout) = self.playout.as_mut() else {
            return;
        };
        let source = SourceId {
            feed: FEED_PLAYER,
            ssrc: self.play_generation,
        };
        let mut payload = [0u8; FRAME_SAMPLES];
        while let Some(index) = playout.poll_frame(now, frame) {
            g711::encode_into(format.codec, frame, &mut payload);
            let ts = Playout::frame_timestamp(index);
            let kind = PacketKind::Audio {
                samples: FRAME_SAMPLES as u32,
            };
            let Some(m) = self.stream.map(source, ts, false, kind, now) else {
                continue;
            };
            let header = OutHeader {
                marker: m.marker,
                payload_type: format.pt,
                sequence: m.sequence,
                timestamp: m.timestamp,
                ssrc: m.ssrc,
            };
            if let Ok(len) = write_packet(out, &header, &payload) {
                match self.socket.send_to(&out[..len], dest) {
                    Ok(_) => {
                        self.sent += 1;
                        self.sent_octets += FRAME_SAMPLES as u64;
                    }
                    Err(_) => self.send_errors += 1,
                }
            }
        }
        if playout.is_finished() {
            self.playout = None;
        }
    }

    pub fn stats(&self) -> LegStats {
        LegStats {
            port: self.port,
            locked: self.lock.locked(),
            send_to: self.lock.send_to(),
            bridged_with: self.peer,
            playing: self.playout.is_some(),
            received: self.received,
            malformed: self.malformed,
            dropped_by_lock: self.lock.dropped(),
            sent: self.sent,
            send_errors: self.send_errors,
            relay_in: self.relay_in.as_ref().map(Relay::counters),
            recording: self.record.is_some(),
            on_hold: self.on_hold,
            quality: self.rtcp_session.quality(),
            remote: self.rtcp_session.remote(),
            rtcp_sent: self.rtcp_session.reports_sent(),
            rtcp_received: self.rtcp_session.reports_received(),
            rtcp_goodbye: self.rtcp_session.goodbye(),
        }
    }

    /// Send our RTCP report if it is due. It goes where the peer's RTCP
    /// comes from, else to the port above its RTP.
    pub fn send_rtcp_if_due(&mut self, now: Instant, ntp_now: u64, out: &mut [u8]) {
        if now < self.rtcp_session.next_deadline() || self.format.is_none() {
            return;
        }
        let Some(dest) = self.rtcp_from.or_else(|| {
            self.lock
                .send_to()
                .map(|a| SocketAddr::new(a.ip(), a.port().wrapping_add(1)))
        }) else {
            return;
        };
        let ssrc = self.stream.ssrc();
        let sender = (self.stream.packets() > 0).then(|| SenderState {
            ssrc,
            packets: self.sent as u32,
            octets: self.sent_octets as u32,
            rtp_timestamp: self.stream.timestamp_at(now),
        });
        if let Some(len) = self
            .rtcp_session
            .poll_report(now, ntp_now, ssrc, sender, CNAME, out)
        {
            if let Some(packet) = out.get(..len) {
                // A lost report is harmless; the next one follows.
                let _ = self.rtcp.send_to(packet, dest);
            }
        }
    }

    /// A datagram arrived on the RTCP port. Only the peer's host may
    /// report (RTCP bleed): its RTP source, else its SDP address.
    pub fn on_rtcp(&mut self, from: SocketAddr, packet: &[u8], ntp_now: u64, now: Instant) {
        let Some(peer) = self.lock.send_to() else {
            return;
        };
        if from.ip() != peer.ip() {
            return;
        }
        let ssrc = self.stream.ssrc();
        if self
            .rtcp_session
            .on_rtcp(packet, ssrc, ntp_now, now)
            .is_ok()
        {
            self.rtcp_from = Some(from);
            if self.on_hold {
                // A held phone may send no RTP at all; its reports show it is alive.
                self.last_rtp = now;
                self.timed_out = false;
            }
        }
    }
}

pub(super) fn leg_format(audio: &NegotiatedAudio) -> LegFormat {
    LegFormat {
        codec: match audio.codec {
            AudioCodec::Pcmu => Codec::Pcmu,
            AudioCodec::Pcma => Codec::Pcma,
        },
        pt: audio.pt,
        event_pt: audio.telephone_event_pt,
    }
}
