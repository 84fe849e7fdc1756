//! Reception statistics of one incoming RTP stream (RFC 3550 A.1 sequence
//! accounting, A.3 loss, A.8 interarrival jitter) and a listening-quality
//! estimate from them (a simplified ITU-T G.107 E-model).
//!
//! Sans-IO: arrival times come in as `Instant`s relative to an epoch the
//! caller fixes when the leg opens.

use std::time::{Duration, Instant};

use crate::CLOCK_RATE;

/// A sequence jump this large forward is a restart of the sender, not loss
/// (RFC 3550 A.1).
const MAX_DROPOUT: u16 = 3000;
/// Packets this far behind the newest are late or duplicates.
const MAX_MISORDER: u16 = 100;

/// Loss, jitter and delay of one direction, with the MOS they imply.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Quality {
    pub packets_received: u64,
    pub packets_expected: u64,
    /// Expected minus received (negative with duplicates).
    pub packets_lost: i64,
    pub loss_percent: f64,
    /// Interarrival jitter (RFC 3550 A.8), in milliseconds.
    pub jitter_ms: f64,
    /// Round trip from RTCP (LSR/DLSR), once the peer reported on our SR.
    pub rtt_ms: Option<f64>,
    /// Estimated MOS (1.0 to 4.5) of what we receive.
    pub mos: f64,
}

/// Sequence and jitter bookkeeping for one incoming stream.
#[derive(Debug, Clone, Default)]
pub struct ReceptionStats {
    ssrc: Option<u32>,
    base_seq: u32,
    max_seq: u16,
    /// Wraps of the sequence number, times 65536.
    cycles: u32,
    /// Sequence number that would confirm a restart (RFC 3550 A.1).
    bad_seq: Option<u16>,
    /// Packets of the current source.
    received: u64,
    /// Counts of sources before an SSRC change or restart.
    earlier_expected: u64,
    earlier_received: u64,
    /// Snapshot at the last report, for the interval's fraction lost.
    expected_prior: u64,
    received_prior: u64,
    /// Relative transit time of the last packet, in RTP units.
    transit: Option<i64>,
    /// Jitter in RTP units, scaled by 16 (RFC 3550 A.8).
    jitter_q4: u64,
}

impl ReceptionStats {
    #[must_use]
    pub fn new() -> ReceptionStats {
        ReceptionStats::default()
    }

    /// The sender's SSRC, once a packet came.
    #[must_use]
    pub fn ssrc(&self) -> Option<u32> {
        self.ssrc
    }

    /// Account one audio packet (not RFC 4733 events: their timestamps
    /// stand still and would read as jitter). `arrival` is the packet's
    /// arrival time measured from the leg's fixed `epoch`.
    pub fn on_packet(
        &mut self,
        ssrc: u32,
        seq: u16,
        rtp_ts: u32,
        epoch: Instant,
        arrival: Instant,
    ) {
        if self.ssrc != Some(ssrc) {
            self.restart(seq);
            self.ssrc = Some(ssrc);
        } else if !self.update_seq(seq) {
            return;
        }
        self.received += 1;
        let micros = arrival.saturating_duration_since(epoch).as_micros();
        let arrival_ts = (micros * u128::from(CLOCK_RATE) / 1_000_000) as i64;
        // Transit in RTP units; the timestamp is taken modulo 2^32, and only
        // differences of transit matter, so wrapping is harmless.
        let transit = arrival_ts.wrapping_sub(i64::from(rtp_ts)) as i32;
        if let Some(prev) = self.transit {
            let d = u64::from(transit.wrapping_sub(prev as i32).unsigned_abs());
            // J += (|D| - J) / 16, kept in 1/16 units (integer form of A.8).
            self.jitter_q4 = self.jitter_q4 + d - ((self.jitter_q4 + 8) >> 4);
        }
        self.transit = Some(i64::from(transit));
    }

    /// Start accounting a new source (or a restarted one) at `seq`.
    fn restart(&mut self, seq: u16) {
        if self.ssrc.is_some() {
            self.earlier_expected += self.current_expected();
            self.earlier_received += self.received;
        }
        self.base_seq = u32::from(seq);
        self.max_seq = seq;
        self.cycles = 0;
        self.bad_seq = None;
        self.received = 0;
        self.transit = None;
    }

    /// RFC 3550 A.1 `update_seq`: false when the packet must not count.
    fn update_seq(&mut self, seq: u16) -> bool {
        let delta = seq.wrapping_sub(self.max_seq);
        if delta < MAX_DROPOUT {
            if seq < self.max_seq {
                self.cycles = self.cycles.wrapping_add(1 << 16);
            }
            self.max_seq = seq;
            self.bad_seq = None;
            true
        } else if delta <= u16::MAX - MAX_MISORDER {
            // A big jump: believe it only when the next packet follows it.
            if self.bad_seq == Some(seq) {
                self.restart(seq);
                true
            } else {
                self.bad_seq = Some(seq.wrapping_add(1));
                false
            }
        } else {
            // Late or duplicate: counts as received (A.3 allows negative loss).
            true
        }
    }

    fn current_expected(&self) -> u64 {
        if self.ssrc.is_none() {
            return 0;
        }
        let extended = u64::from(self.cycles) + u64::from(self.max_seq);
        (extended + 1).saturating_sub(u64::from(self.base_seq))
    }

    /// Packets expected over the whole leg.
    #[must_use]
    pub fn expected(&self) -> u64 {
        self.earlier_expected + self.current_expected()
    }

    /// Packets received (accepted as part of a stream) over the whole leg.
    #[must_use]
    pub fn received(&self) -> u64 {
        self.earlier_received + self.received
    }

    /// Extended highest sequence number of the current source.
    #[must_use]
    pub fn extended_max(&self) -> u32 {
        self.cycles.wrapping_add(u32::from(self.max_seq))
    }

    /// Jitter in RTP units, as an RR carries it.
    #[must_use]
    pub fn jitter(&self) -> u32 {
        u32::try_from(self.jitter_q4 >> 4).unwrap_or(u32::MAX)
    }

    #[must_use]
    pub fn jitter_ms(&self) -> f64 {
        f64::from(self.jitter()) * 1000.0 / f64::from(CLOCK_RATE)
    }

    /// Cumulative loss (may be negative with duplicates).
    #[must_use]
    pub fn lost(&self) -> i64 {
        self.expected() as i64 - self.received() as i64
    }

    /// Fraction lost since the previous call, in 1/256 (the RR field), and
    /// start a new interval.
    pub fn take_fraction_lost(&mut self) -> u8 {
        let expected = self.expected();
        let received = self.received();
        let expected_interval = expected.saturating_sub(self.expected_prior);
        let received_interval = received.saturating_sub(self.received_prior);
        self.expected_prior = expected;
        self.received_prior = received;
        let lost = expected_interval.saturating_sub(received_interval);
        if expected_interval == 0 || lost == 0 {
            0
        } else {
            u8::try_from((lost << 8) / expected_interval).unwrap_or(u8::MAX)
        }
    }

    /// The figures so far, with `rtt` if known.
    #[must_use]
    pub fn quality(&self, rtt: Option<Duration>) -> Quality {
        let expected = self.expected();
        let lost = self.lost();
        let loss = if expected == 0 {
            0.0
        } else {
            (lost.max(0) as f64 / expected as f64).min(1.0)
        };
        let jitter_ms = self.jitter_ms();
        let rtt_ms = rtt.map(|d| d.as_secs_f64() * 1000.0);
        Quality {
            packets_received: self.received(),
            packets_expected: expected,
            packets_lost: lost,
            loss_percent: loss * 100.0,
            jitter_ms,
            rtt_ms,
            mos: estimate_mos(loss, jitter_ms, rtt_ms),
        }
    }
}

/// Packet-loss robustness of G.711 with packet loss concealment (ITU-T
/// G.113 Appendix I); phones conceal losses.
const BPL_G711_PLC: f64 = 25.1;

/// MOS from loss (0..1), jitter and round trip by a simplified E-model
/// (G.107 with default values): R = 93.2 - Id - Ie,eff. The one-way delay
/// is half the round trip (0 when unknown) plus a jitter buffer of twice
/// the jitter plus 40 ms of packetization and buffering.
#[must_use]
pub fn estimate_mos(loss: f64, jitter_ms: f64, rtt_ms: Option<f64>) -> f64 {
    let delay = rtt_ms.unwrap_or(0.0) / 2.0 + 2.0 * jitter_ms + 40.0;
    let mut id = 0.024 * delay;
    if delay > 177.3 {
        id += 0.11 * (delay - 177.3);
    }
    let ppl = (loss * 100.0).clamp(0.0, 100.0);
    let ie_eff = 95.0 * ppl / (ppl + BPL_G711_PLC);
    let r = 93.2 - id - ie_eff;
    if r <= 0.0 {
        1.0
    } else if r >= 100.0 {
        4.5
    } else {
        (1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r)).clamp(1.0, 4.5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEP: Duration = Duration::from_millis(20);

    /// Feed packets `seqs`, each arriving at its nominal time (20 ms per
    /// sequence number, counting across the wrap), timestamps to match.
    fn feed(stats: &mut ReceptionStats, seqs: &[u16], t0: Instant) {
        let first = u32::from(seqs[0]);
        let mut wraps = 0u32;
        let mut prev = seqs[0];
        for &seq in seqs {
            if seq < prev {
                wraps += 1 << 16;
            }
            prev = seq;
            let n = wraps + u32::from(seq) - first;
            stats.on_packet(1, seq, 1000 + n * 160, t0, t0 + STEP * n);
        }
    }

    #[test]
    fn a_clean_stream_has_no_loss_no_jitter_and_a_high_mos() {
        let t0 = crate::test_epoch();
        let mut s = ReceptionStats::new();
        let seqs: Vec<u16> = (65_500..65_535).chain(0..100).collect();
        // seq 65535 left out: one loss across the wrap.
        feed(&mut s, &seqs, t0);
        assert_eq!(s.expected(), 136);
        assert_eq!(s.received(), 135);
        assert_eq!(s.lost(), 1);
        assert_eq!(s.extended_max(), 65_536 + 99);
        let q = s.quality(None);
        assert!(q.jitter_ms < 0.01, "jitter {}", q.jitter_ms);
        assert!(q.mos > 4.2, "mos {}", q.mos);
    }

    #[test]
    fn fraction_lost_is_per_interval() {
        let t0 = crate::test_epoch();
        let mut s = ReceptionStats::new();
        // 100 expected, 75 received: every fourth missing.
        let seqs: Vec<u16> = (0..100).filter(|n| n % 4 != 1).collect();
        feed(&mut s, &seqs, t0);
        assert_eq!(s.take_fraction_lost(), 64, "25% of 256");
        feed(&mut s, &(100..150).collect::<Vec<_>>(), t0);
        assert_eq!(s.take_fraction_lost(), 0);
        assert_eq!(s.lost(), 25);
    }

    #[test]
    fn jitter_follows_rfc3550_a8() {
        let t0 = crate::test_epoch();
        let mut s = ReceptionStats::new();
        // Alternate 10 ms and 30 ms gaps: |D| = 80 units after the first.
        let mut at = t0;
        for seq in 0..400u16 {
            s.on_packet(9, seq, u32::from(seq) * 160, t0, at);
            at += if seq % 2 == 0 {
                Duration::from_millis(10)
            } else {
                Duration::from_millis(30)
            };
        }
        // Converges to 80 units = 10 ms.
        assert!((s.jitter() as i64 - 80).abs() <= 1, "jitter {}", s.jitter());
    }

    #[test]
    fn a_restart_is_believed_after_two_packets_and_a_new_ssrc_starts_over() {
        let t0 = crate::test_epoch();
        let mut s = ReceptionStats::new();
        feed(&mut s, &[10, 11, 12], t0);
        // Jump by 20000: the first is held back, the second confirms.
        s.on_packet(1, 20_000, 0, t0, t0);
        assert_eq!(s.received(), 3);
        s.on_packet(1, 20_001, 160, t0, t0 + STEP);
        assert_eq!(s.received(), 4);
        assert_eq!(s.lost(), 0);
        s.on_packet(2, 7, 0, t0, t0 + STEP * 2);
        assert_eq!(s.ssrc(), Some(2));
        assert_eq!(s.received(), 5);
        assert_eq!(s.lost(), 0);
    }

    #[test]
    fn mos_falls_with_loss_and_delay() {
        let clean = estimate_mos(0.0, 0.0, Some(20.0));
        let lossy = estimate_mos(0.05, 0.0, Some(20.0));
        let far = estimate_mos(0.0, 30.0, Some(600.0));
        assert!(clean > 4.3 && clean <= 4.5, "{clean}");
        assert!(lossy < clean - 0.5, "{lossy}");
        assert!(far < 3.8, "{far}");
        assert!((1.0..=4.5).contains(&estimate_mos(1.0, 500.0, Some(5000.0))));
    }
}
