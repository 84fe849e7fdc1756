//! One direction of a bridge: packets received on leg A rewritten in place
//! into packets for leg B.
//!
//! The header is remapped into B's outgoing stream (SSRC/sequence/timestamp
//! continuity, see [`crate::stream`]), the audio payload is transcoded by
//! table when the legs negotiated different G.711 laws, RFC 4733 events pass
//! through unchanged apart from their payload type, and anything else
//! (comfort noise, codecs nobody negotiated, RTCP on the RTP port) is
//! dropped. No allocation: the datagram buffer is the output buffer.

use std::time::Instant;

use crate::g711::{self, Codec};
use crate::rtp::{looks_like_rtcp, RtpHeader, RtpPacketMut};
use crate::stream::{OutgoingStream, PacketKind, SourceId};

/// What one leg negotiated in SDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegFormat {
    pub codec: Codec,
    /// Payload type negotiated for `codec`.
    pub pt: u8,
    /// Payload type of telephone-event, if negotiated.
    pub event_pt: Option<u8>,
}

impl LegFormat {
    /// The codec of an incoming payload type. Besides the negotiated type we
    /// accept the other static G.711 type: it cannot mean anything else, and
    /// some phones switch laws when both were in the SDP.
    #[must_use]
    pub fn codec_of(&self, pt: u8) -> Option<Codec> {
        if pt == self.pt {
            Some(self.codec)
        } else if pt == Codec::Pcmu.static_pt() {
            Some(Codec::Pcmu)
        } else if pt == Codec::Pcma.static_pt() {
            Some(Codec::Pcma)
        } else {
            None
        }
    }
}

/// Why a packet was not forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Not well-formed RTP (or RTCP on the RTP port).
    Malformed,
    /// Payload type not negotiated on the incoming leg.
    UnknownPayloadType,
    /// A telephone-event, but the outgoing leg did not negotiate events.
    EventsNotNegotiated,
    /// Older than audio already sent (reordered); would run time backwards.
    Late,
}

/// Outcome of [`Relay::process`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Send the first `len` bytes of the buffer to leg B. `original` is the
    /// header as received (for DTMF detection, statistics).
    Forward {
        len: usize,
        original: RtpHeader,
        event: bool,
    },
    Drop(DropReason),
}

/// Per-direction counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayCounters {
    pub received: u64,
    pub received_bytes: u64,
    pub forwarded: u64,
    pub forwarded_bytes: u64,
    pub dropped_malformed: u64,
    pub dropped_unknown_pt: u64,
    pub dropped_no_events: u64,
    pub dropped_late: u64,
}

/// Relay from leg A (`from`) to leg B (`to`).
#[derive(Debug, Clone)]
pub struct Relay {
    from: LegFormat,
    to: LegFormat,
    feed: u32,
    counters: RelayCounters,
}

impl Relay {
    /// `feed` identifies this relay as a source of B's outgoing stream
    /// (distinct from the ids used for players on the same stream).
    #[must_use]
    pub fn new(from: LegFormat, to: LegFormat, feed: u32) -> Relay {
        Relay {
            from,
            to,
            feed,
            counters: RelayCounters::default(),
        }
    }

    #[must_use]
    pub fn counters(&self) -> RelayCounters {
        self.counters
    }

    /// Update formats after a re-INVITE.
    pub fn set_formats(&mut self, from: LegFormat, to: LegFormat) {
        self.from = from;
        self.to = to;
    }

    /// Rewrite `packet` (exactly the received datagram) in place into a
    /// packet of `out`, B's outgoing stream.
    #[must_use]
    pub fn process(
        &mut self,
        packet: &mut [u8],
        out: &mut OutgoingStream,
        now: Instant,
    ) -> Verdict {
        self.counters.received += 1;
        self.counters.received_bytes += packet.len() as u64;
        let verdict = self.rewrite(packet, out, now);
        match verdict {
            Verdict::Forward { len, .. } => {
                self.counters.forwarded += 1;
                self.counters.forwarded_bytes += len as u64;
            }
            Verdict::Drop(DropReason::Malformed) => self.counters.dropped_malformed += 1,
            Verdict::Drop(DropReason::UnknownPayloadType) => self.counters.dropped_unknown_pt += 1,
            Verdict::Drop(DropReason::EventsNotNegotiated) => self.counters.dropped_no_events += 1,
            Verdict::Drop(DropReason::Late) => self.counters.dropped_late += 1,
        }
        verdict
    }

    fn rewrite(&self, packet: &mut [u8], out: &mut OutgoingStream, now: Instant) -> Verdict {
        if looks_like_rtcp(packet) {
            return Verdict::Drop(DropReason::Malformed);
        }
        let len = packet.len();
        let Ok(mut rtp) = RtpPacketMut::new(packet) else {
            return Verdict::Drop(DropReason::Malformed);
        };
        let original = *rtp.header();
        let pt = original.payload_type;
        let source = SourceId {
            feed: self.feed,
            ssrc: original.ssrc,
        };

        let (kind, out_pt, transcode) = if Some(pt) == self.from.event_pt {
            let Some(event_pt) = self.to.event_pt else {
                return Verdict::Drop(DropReason::EventsNotNegotiated);
            };
            (PacketKind::Event, event_pt, None)
        } else if let Some(codec) = self.from.codec_of(pt) {
            let samples = u32::try_from(original.payload_len).unwrap_or(u32::MAX);
            (PacketKind::Audio { samples }, self.to.pt, Some(codec))
        } else {
            return Verdict::Drop(DropReason::UnknownPayloadType);
        };

        let Some(mapped) = out.map(source, original.timestamp, original.marker, kind, now) else {
            return Verdict::Drop(DropReason::Late);
        };
        if let Some(codec) = transcode {
            g711::transcode_in_place(codec, self.to.codec, rtp.payload_mut());
        }
        rtp.set_payload_type(out_pt);
        rtp.set_marker(mapped.marker);
        rtp.set_sequence(mapped.sequence);
        rtp.set_timestamp(mapped.timestamp);
        rtp.set_ssrc(mapped.ssrc);
        Verdict::Forward {
            len,
            original,
            event: kind == PacketKind::Event,
        }
    }
}
