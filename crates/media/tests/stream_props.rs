//! Property: however sources are switched, an outgoing stream's sequence
//! numbers go up by exactly one and its timestamps follow media time.

use std::time::{Duration, Instant};

use media::stream::{OutgoingStream, PacketKind, SourceId};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Segment {
    source: usize,
    packets: u32,
    gap_ms: u64,
}

#[derive(Debug, Clone)]
struct Source {
    id: SourceId,
    base_ts: u32,
    /// A real-time source's clock runs while it is not selected (another leg);
    /// a prompt's clock only advances with the frames it plays.
    realtime: bool,
}

fn sources() -> impl Strategy<Value = Vec<Source>> {
    proptest::collection::vec(
        (0u32..3, any::<u32>(), any::<u32>(), any::<bool>()).prop_map(
            |(feed, ssrc, base_ts, realtime)| Source {
                id: SourceId { feed, ssrc },
                base_ts,
                realtime,
            },
        ),
        1..4,
    )
}

fn segments() -> impl Strategy<Value = Vec<Segment>> {
    proptest::collection::vec(
        (
            0usize..4,
            1u32..15,
            prop_oneof![Just(0u64), 0u64..100, 0u64..5000],
        )
            .prop_map(|(source, packets, gap_ms)| Segment {
                source,
                packets,
                gap_ms,
            }),
        1..25,
    )
}

/// Base of the simulated clock; the test only adds durations to it.
#[allow(clippy::disallowed_methods)]
fn epoch() -> Instant {
    Instant::now()
}

proptest! {
    #[test]
    fn seq_plus_one_and_timestamps_follow_elapsed_time(
        srcs in sources(),
        segs in segments(),
        ssrc in any::<u32>(),
        seq0 in any::<u16>(),
        ts0 in any::<u32>(),
    ) {
        let t0 = epoch();
        let mut stream = OutgoingStream::new(ssrc, seq0, ts0);
        let mut own_ts: Vec<u32> = srcs.iter().map(|s| s.base_ts).collect();
        let mut elapsed_ms = 0u64;
        let mut last: Option<(u16, u32, u64, SourceId)> = None;

        for seg in &segs {
            let i = seg.source % srcs.len();
            let source = &srcs[i];
            elapsed_ms += seg.gap_ms;
            for _ in 0..seg.packets {
                elapsed_ms += 20;
                let in_ts = if source.realtime {
                    source.base_ts.wrapping_add((elapsed_ms * 8) as u32)
                } else {
                    own_ts[i] = own_ts[i].wrapping_add(160);
                    own_ts[i]
                };
                let now = t0 + Duration::from_millis(elapsed_ms);
                let out = stream
                    .map(source.id, in_ts, false, PacketKind::Audio { samples: 160 }, now)
                    .expect("in-order audio is never dropped");
                prop_assert_eq!(out.ssrc, ssrc);
                match last {
                    None => {
                        prop_assert_eq!(out.sequence, seq0);
                        prop_assert_eq!(out.timestamp, ts0);
                        prop_assert!(out.marker);
                    }
                    Some((seq, ts, at_ms, prev_source)) => {
                        prop_assert_eq!(out.sequence, seq.wrapping_add(1));
                        let delta = i64::from(out.timestamp.wrapping_sub(ts) as i32);
                        let wall = ((elapsed_ms - at_ms) * 8) as i64;
                        prop_assert!(delta >= 160, "timestamp must advance: {}", delta);
                        if prev_source != source.id {
                            // Source switch: continue exactly by elapsed media time.
                            prop_assert_eq!(delta, wall.max(160));
                            prop_assert!(out.marker, "switch sets the marker");
                        } else {
                            // Same source: its own timeline, never far from wall time.
                            prop_assert!((delta - wall).abs() <= 8000, "delta {} wall {}", delta, wall);
                            if wall == 160 {
                                prop_assert_eq!(delta, 160);
                                prop_assert!(!out.marker);
                            }
                        }
                    }
                }
                last = Some((out.sequence, out.timestamp, elapsed_ms, source.id));
            }
        }
    }
}
