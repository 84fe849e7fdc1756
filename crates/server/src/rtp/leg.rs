//! One leg inside a media worker: its sockets and the sans-IO media cores
//! that act on its packets.

use std::net::SocketAddr;
use std::time::Instant;

use media::dtmf::DtmfReceiver;
use media::g711::{self, Codec};
use media::player::{Frame, Playout};
use media::relay::{LegFormat, Relay, RelayCounters};
use media::rtp::{write_packet, OutHeader};
use media::source::SourceLock;
use media::stream::{OutgoingStream, PacketKind, SourceId};
use media::FRAME_SAMPLES;
use sdp::{AudioCodec, Direction, NegotiatedAudio};

use super::recorder::RecordTap;
use crate::media::LegId;

/// Feed ids of a leg's outgoing stream (see `media::stream::SourceId`).
pub(super) const FEED_RELAY: u32 = 0;
pub(super) const FEED_PLAYER: u32 = 1;

/// Snapshot of a leg for tests, logs and the dashboard.
#[derive(Debug, Clone, PartialEq, Eq)]
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
}

pub(super) struct Leg {
    pub id: LegId,
    pub port: u16,
    pub socket: tokio::net::UdpSocket,
    /// Held so the RTCP port stays ours; we neither read nor send RTCP yet.
    pub _rtcp: std::net::UdpSocket,
    pub format: Option<LegFormat>,
    pub direction: Direction,
    pub lock: SourceLock,
    pub stream: OutgoingStream,
    pub dtmf: DtmfReceiver,
    pub peer: Option<LegId>,
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
    pub send_errors: u64,
    /// This leg's channel of a recording, if it is recorded.
    pub record: Option<RecordTap>,
}

impl Leg {
    pub fn new(
        id: LegId,
        port: u16,
        socket: tokio::net::UdpSocket,
        rtcp: std::net::UdpSocket,
        now: Instant,
    ) -> Leg {
        Leg {
            id,
            port,
            socket,
            _rtcp: rtcp,
            format: None,
            direction: Direction::SendRecv,
            lock: SourceLock::new(None),
            // RFC 3550 wants SSRC, first sequence number and timestamp random.
            stream: OutgoingStream::new(rand::random(), rand::random(), rand::random()),
            dtmf: DtmfReceiver::default(),
            peer: None,
            relay_in: None,
            playout: None,
            play_generation: 0,
            last_rtp: now,
            timed_out: false,
            received: 0,
            malformed: 0,
            sent: 0,
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
        match self.socket.try_send_to(packet, to) {
            Ok(_) => self.sent += 1,
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
                match self.socket.try_send_to(&out[..len], dest) {
                    Ok(_) => self.sent += 1,
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
