//! Continuity of one outgoing RTP stream across source switches.
//!
//! The switch is the RTP endpoint of every leg, so what a phone receives on
//! a leg must look like one stream: one SSRC, sequence numbers +1 per packet,
//! timestamps that advance with media time. Whatever feeds the leg (the
//! other leg, a prompt, hold music, generated DTMF) is mapped into it here.
//! A change of feed or of the feed's SSRC, or a timestamp jump that does not
//! match the time that passed, re-anchors the mapping so the output
//! timestamp advances by exactly the elapsed media time, and sets the marker
//! bit (a new talkspurt) so the receiver resyncs its jitter buffer instead of
//! treating the stream as new.

use std::time::Instant;

use crate::CLOCK_RATE;

/// Largest difference between a source's timestamp advance and the wall time
/// that passed which is still taken as the same timeline (1 s of jitter,
/// bursts or clock skew). Anything beyond is a reset of the source's clock.
const RESYNC_SAMPLES: i64 = CLOCK_RATE as i64;

/// Which feed a packet comes from. `feed` is chosen by the caller (e.g. 0 for
/// the bridged leg, 1 for the player); `ssrc` is the feed's own SSRC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SourceId {
    pub feed: u32,
    pub ssrc: u32,
}

/// What kind of packet is being mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketKind {
    /// Audio carrying `samples` samples of media time.
    Audio { samples: u32 },
    /// RFC 4733 event: its timestamp is the event's start and repeats across
    /// the event's packets, so it neither advances nor is checked for order.
    Event,
}

/// Header fields to write on an outgoing packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapped {
    pub ssrc: u32,
    pub sequence: u16,
    pub timestamp: u32,
    pub marker: bool,
}

#[derive(Debug, Clone, Copy)]
struct Anchor {
    source: SourceId,
    /// Added (wrapping) to the source's timestamp to get ours.
    offset: u32,
    /// Last audio timestamp seen from the source, to spot late packets and jumps.
    last_in_ts: u32,
}

/// Our side of one outgoing RTP stream.
#[derive(Debug, Clone)]
pub struct OutgoingStream {
    ssrc: u32,
    next_seq: u16,
    /// Timestamp of the next audio packet if it followed the last one directly.
    next_ts: u32,
    last_sent: Option<Instant>,
    /// Duration of the last audio packet, already included in `next_ts`.
    last_samples: u32,
    anchor: Option<Anchor>,
    packets: u64,
}

impl OutgoingStream {
    /// A stream with the given SSRC and random initial sequence/timestamp
    /// (RFC 3550 wants both random; the caller supplies the randomness).
    #[must_use]
    pub fn new(ssrc: u32, initial_seq: u16, initial_ts: u32) -> OutgoingStream {
        OutgoingStream {
            ssrc,
            next_seq: initial_seq,
            next_ts: initial_ts,
            last_sent: None,
            last_samples: 0,
            anchor: None,
            packets: 0,
        }
    }

    #[must_use]
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Packets mapped so far.
    #[must_use]
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Our media clock at `now`, for an RTCP SR: the end of the last
    /// packet plus the wall time beyond it.
    #[must_use]
    pub fn timestamp_at(&self, now: Instant) -> u32 {
        let gap = u32::try_from(self.elapsed_samples(now)).unwrap_or(u32::MAX);
        self.next_ts.wrapping_add(gap)
    }

    /// Forget the current source so the next packet starts a new talkspurt,
    /// e.g. when the feed is switched off.
    pub fn detach(&mut self) {
        self.anchor = None;
    }

    /// Map a packet from `source` with the source's timestamp `in_ts` into
    /// this stream. Returns `None` for a late audio packet (older than one
    /// already sent from the same source): sending it would make our
    /// timestamps run backwards.
    #[must_use]
    pub fn map(
        &mut self,
        source: SourceId,
        in_ts: u32,
        marker: bool,
        kind: PacketKind,
        now: Instant,
    ) -> Option<Mapped> {
        let elapsed = self.elapsed_samples(now);
        let mut new_talkspurt = false;
        let anchor = match self.anchor {
            Some(a) if a.source == source => {
                let delta = i64::from(in_ts.wrapping_sub(a.last_in_ts) as i32);
                if kind != PacketKind::Event && delta < 0 && delta > -RESYNC_SAMPLES {
                    return None;
                }
                // Compare the source's advance with where our timeline is
                // (the gap since the last packet counts from next_ts).
                let ours =
                    i64::from(in_ts.wrapping_add(a.offset).wrapping_sub(self.next_ts) as i32);
                if kind != PacketKind::Event && (ours - elapsed).abs() > RESYNC_SAMPLES {
                    new_talkspurt = true;
                    self.anchor_to(source, in_ts, elapsed)
                } else {
                    a
                }
            }
            _ => {
                new_talkspurt = true;
                self.anchor_to(source, in_ts, elapsed)
            }
        };
        let timestamp = in_ts.wrapping_add(anchor.offset);
        let mut anchor = anchor;
        if let PacketKind::Audio { samples } = kind {
            anchor.last_in_ts = in_ts;
            self.next_ts = timestamp.wrapping_add(samples);
            self.last_samples = samples;
        }
        self.anchor = Some(anchor);
        self.last_sent = Some(now);
        let sequence = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.packets += 1;
        Some(Mapped {
            ssrc: self.ssrc,
            sequence,
            timestamp,
            marker: marker || new_talkspurt,
        })
    }

    /// Re-anchor so that `in_ts` lands where the media clock stands now: the
    /// end of the last packet, plus any wall time beyond it.
    fn anchor_to(&mut self, source: SourceId, in_ts: u32, elapsed: i64) -> Anchor {
        let gap = u32::try_from(elapsed.max(0)).unwrap_or(u32::MAX);
        let start = self.next_ts.wrapping_add(gap);
        Anchor {
            source,
            offset: start.wrapping_sub(in_ts),
            last_in_ts: in_ts,
        }
    }

    /// Media time since the end of the last audio packet, in samples: wall
    /// time since the last send minus that packet's own duration (which
    /// `next_ts` already covers). Zero before the first packet.
    fn elapsed_samples(&self, now: Instant) -> i64 {
        let Some(last) = self.last_sent else { return 0 };
        let micros = now.saturating_duration_since(last).as_micros();
        let samples =
            i64::try_from(micros * u128::from(CLOCK_RATE) / 1_000_000).unwrap_or(i64::MAX / 2);
        (samples - i64::from(self.last_samples)).max(0)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const AUDIO: PacketKind = PacketKind::Audio { samples: 160 };

    fn src(feed: u32, ssrc: u32) -> SourceId {
        SourceId { feed, ssrc }
    }

    #[test]
    fn first_packet_starts_at_the_initial_values_with_marker() {
        let t0 = crate::test_epoch();
        let mut s = OutgoingStream::new(7, 100, 5000);
        let m = s.map(src(0, 1), 123_456, false, AUDIO, t0).expect("sent");
        assert_eq!(
            m,
            Mapped {
                ssrc: 7,
                sequence: 100,
                timestamp: 5000,
                marker: true
            }
        );
        let m = s
            .map(
                src(0, 1),
                123_616,
                false,
                AUDIO,
                t0 + Duration::from_millis(20),
            )
            .expect("sent");
        assert_eq!(
            m,
            Mapped {
                ssrc: 7,
                sequence: 101,
                timestamp: 5160,
                marker: false
            }
        );
    }

    #[test]
    fn switching_source_continues_the_timeline_by_elapsed_time() {
        let t0 = crate::test_epoch();
        let mut s = OutgoingStream::new(7, u16::MAX, u32::MAX - 100);
        s.map(src(1, 0), 0, false, AUDIO, t0).expect("sent");
        // The other leg arrives 60 ms later with its own random ts.
        let m = s
            .map(
                src(0, 99),
                777,
                false,
                AUDIO,
                t0 + Duration::from_millis(60),
            )
            .expect("sent");
        assert_eq!(m.sequence, 0, "seq wraps by one");
        assert_eq!(m.timestamp, (u32::MAX - 100).wrapping_add(480));
        assert!(m.marker);
    }

    #[test]
    fn late_audio_is_dropped_but_event_timestamps_may_repeat() {
        let t0 = crate::test_epoch();
        let mut s = OutgoingStream::new(1, 0, 0);
        s.map(src(0, 1), 1000, false, AUDIO, t0).expect("sent");
        s.map(src(0, 1), 1160, false, AUDIO, t0).expect("sent");
        assert_eq!(s.map(src(0, 1), 1000, false, AUDIO, t0), None);
        let e1 = s
            .map(src(0, 1), 1320, true, PacketKind::Event, t0)
            .expect("sent");
        let e2 = s
            .map(src(0, 1), 1320, false, PacketKind::Event, t0)
            .expect("sent");
        assert_eq!(e1.timestamp, e2.timestamp);
        assert!(e1.marker && !e2.marker);
        assert_eq!(e2.sequence, e1.sequence.wrapping_add(1));
    }

    #[test]
    fn a_source_clock_reset_is_a_new_talkspurt() {
        let t0 = crate::test_epoch();
        let mut s = OutgoingStream::new(1, 0, 0);
        s.map(src(0, 1), 50_000, false, AUDIO, t0).expect("sent");
        // Same SSRC, timestamp jumps back by 10 s after 20 ms: a reset.
        let m = s
            .map(
                src(0, 1),
                50_000u32.wrapping_sub(80_000),
                false,
                AUDIO,
                t0 + Duration::from_millis(20),
            )
            .expect("sent");
        assert!(m.marker);
        assert_eq!(m.timestamp, 160);
    }
}
