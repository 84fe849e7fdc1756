//! The RTCP side of one leg (RFC 3550 section 6): our periodic sender or
//! receiver report, and what the peer's reports tell us (its view of our
//! stream, the round trip, BYE).
//!
//! Sans-IO: the caller passes `now` and the wall clock as an NTP timestamp
//! (`ntp_now`, 32.32 fixed point), sends what `poll_report` writes, and
//! feeds received datagrams to `on_rtcp`.

use std::time::{Duration, Instant};

use crate::quality::{estimate_mos, Quality, ReceptionStats};
use crate::rtcp::{
    write_receiver_report, write_sdes_cname, write_sender_report, Compound, Report, ReportBlock,
    SenderInfo,
};
use crate::{MediaError, CLOCK_RATE};

/// What we sent, for the sender info of an SR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderState {
    pub ssrc: u32,
    pub packets: u32,
    pub octets: u32,
    /// Our stream's RTP timestamp that corresponds to `ntp_now`.
    pub rtp_timestamp: u32,
}

/// The peer's report on the stream we send it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RemoteQuality {
    /// Loss in the peer's last report interval.
    pub loss_percent: f64,
    pub cumulative_lost: i32,
    pub jitter_ms: f64,
    /// Estimated MOS of what the peer hears.
    pub mos: f64,
}

/// RTCP state of one leg.
#[derive(Debug, Clone)]
pub struct RtcpSession {
    reception: ReceptionStats,
    epoch: Instant,
    interval: Duration,
    next_report: Instant,
    /// Middle 32 bits of the NTP time in the peer's last SR, and its arrival.
    last_sr: Option<(u32, Instant)>,
    rtt: Option<Duration>,
    remote: Option<ReportBlock>,
    reports_received: u64,
    reports_sent: u64,
    goodbye: bool,
}

impl RtcpSession {
    /// A session for a leg opened at `epoch`, reporting every `interval`;
    /// the first report goes out after `first_after` (use a random part of
    /// the interval so thousands of legs opened together do not report in
    /// the same tick).
    #[must_use]
    pub fn new(epoch: Instant, interval: Duration, first_after: Duration) -> RtcpSession {
        RtcpSession {
            reception: ReceptionStats::new(),
            epoch,
            interval,
            next_report: epoch + first_after,
            last_sr: None,
            rtt: None,
            remote: None,
            reports_received: 0,
            reports_sent: 0,
            goodbye: false,
        }
    }

    /// Account a received audio packet (the per-packet part).
    #[inline]
    pub fn on_rtp(&mut self, ssrc: u32, seq: u16, rtp_ts: u32, now: Instant) {
        self.reception.on_packet(ssrc, seq, rtp_ts, self.epoch, now);
    }

    /// Read a datagram from the peer's RTCP port. `our_ssrc` picks the
    /// report block about our stream.
    ///
    /// # Errors
    /// [`MediaError::Packet`] when it is not a valid compound packet.
    pub fn on_rtcp(
        &mut self,
        buf: &[u8],
        our_ssrc: u32,
        ntp_now: u64,
        now: Instant,
    ) -> Result<(), MediaError> {
        let compound = Compound::parse(buf)?;
        self.reports_received += 1;
        for packet in compound.packets() {
            let Some(report) = Report::parse(&packet) else {
                continue;
            };
            if let Some(sender) = report.sender {
                self.last_sr = Some((middle32(sender.ntp), now));
            }
            for block in report.blocks().filter(|b| b.ssrc == our_ssrc) {
                self.remote = Some(block);
                if block.last_sr != 0 {
                    // RFC 3550 6.4.1: A - LSR - DLSR, in 1/65536 s.
                    let rtt = middle32(ntp_now)
                        .wrapping_sub(block.last_sr)
                        .wrapping_sub(block.delay_since_last_sr);
                    // A negative result (clock trouble) wraps huge: ignore.
                    if rtt < 1 << 31 {
                        self.rtt = Some(Duration::from_micros(u64::from(rtt) * 1_000_000 / 65_536));
                    }
                }
            }
        }
        if compound.has_goodbye() {
            self.goodbye = true;
        }
        Ok(())
    }

    /// When the next report is due.
    #[must_use]
    pub fn next_deadline(&self) -> Instant {
        self.next_report
    }

    /// If a report is due at `now`, write it into `out` (SR when `sender`
    /// is given, else RR; then SDES CNAME) and return its length.
    pub fn poll_report(
        &mut self,
        now: Instant,
        ntp_now: u64,
        our_ssrc: u32,
        sender: Option<SenderState>,
        cname: &[u8],
        out: &mut [u8],
    ) -> Option<usize> {
        if now < self.next_report {
            return None;
        }
        self.next_report += self.interval;
        if self.next_report <= now {
            self.next_report = now + self.interval;
        }
        let block = self.reception.ssrc().map(|ssrc| {
            let (last_sr, delay) = match self.last_sr {
                Some((lsr, at)) => {
                    let d = now.saturating_duration_since(at).as_micros() * 65_536 / 1_000_000;
                    (lsr, u32::try_from(d).unwrap_or(u32::MAX))
                }
                None => (0, 0),
            };
            ReportBlock {
                ssrc,
                fraction_lost: self.reception.take_fraction_lost(),
                cumulative_lost: i32::try_from(self.reception.lost()).unwrap_or(i32::MAX),
                highest_sequence: self.reception.extended_max(),
                jitter: self.reception.jitter(),
                last_sr,
                delay_since_last_sr: delay,
            }
        });
        let blocks = block.as_slice();
        let written = match sender {
            Some(s) => {
                let info = SenderInfo {
                    ssrc: s.ssrc,
                    ntp: ntp_now,
                    rtp_timestamp: s.rtp_timestamp,
                    packets: s.packets,
                    octets: s.octets,
                };
                write_sender_report(out, &info, blocks)
            }
            None => write_receiver_report(out, our_ssrc, blocks),
        };
        let n = written.ok()?;
        let m = write_sdes_cname(out.get_mut(n..)?, our_ssrc, cname).ok()?;
        self.reports_sent += 1;
        Some(n + m)
    }

    /// Our reception figures (what we hear from the peer).
    #[must_use]
    pub fn quality(&self) -> Quality {
        self.reception.quality(self.rtt)
    }

    /// The peer's last report on our stream, if any.
    #[must_use]
    pub fn remote(&self) -> Option<RemoteQuality> {
        self.remote.map(|b| {
            let loss = f64::from(b.fraction_lost) / 256.0;
            let jitter_ms = f64::from(b.jitter) * 1000.0 / f64::from(CLOCK_RATE);
            let rtt_ms = self.rtt.map(|d| d.as_secs_f64() * 1000.0);
            RemoteQuality {
                loss_percent: loss * 100.0,
                cumulative_lost: b.cumulative_lost,
                jitter_ms,
                mos: estimate_mos(loss, jitter_ms, rtt_ms),
            }
        })
    }

    #[must_use]
    pub fn reports_received(&self) -> u64 {
        self.reports_received
    }

    #[must_use]
    pub fn reports_sent(&self) -> u64 {
        self.reports_sent
    }

    /// The peer sent an RTCP BYE.
    #[must_use]
    pub fn goodbye(&self) -> bool {
        self.goodbye
    }
}

fn middle32(ntp: u64) -> u32 {
    (ntp >> 16) as u32
}

/// NTP timestamp (32.32, seconds since 1900) of a Unix time.
#[must_use]
pub fn ntp_from_unix(since_epoch: Duration) -> u64 {
    const UNIX_TO_NTP: u64 = 2_208_988_800;
    let secs = since_epoch.as_secs() + UNIX_TO_NTP;
    let frac = (u64::from(since_epoch.subsec_nanos()) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtcp::{Compound, RECEIVER_REPORT, SENDER_REPORT, SOURCE_DESCRIPTION};

    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn reports_are_paced_and_carry_our_reception() {
        let t0 = crate::test_epoch();
        let ntp0 = ntp_from_unix(Duration::from_secs(1_700_000_000));
        let mut s = RtcpSession::new(t0, 5 * SEC, 2 * SEC);
        for seq in 0..100u16 {
            if seq != 50 {
                s.on_rtp(
                    0xFEED,
                    seq,
                    u32::from(seq) * 160,
                    t0 + Duration::from_millis(20) * u32::from(seq),
                );
            }
        }
        let mut out = [0u8; 256];
        assert_eq!(
            s.poll_report(t0 + SEC, ntp0, 1, None, b"sw", &mut out),
            None
        );
        let n = s
            .poll_report(t0 + 2 * SEC, ntp0, 1, None, b"sw", &mut out)
            .expect("due");
        let first = out[..n].to_vec();
        let c = Compound::parse(&first).expect("valid compound");
        let mut packets = c.packets();
        let rr = packets.next().expect("rr");
        assert_eq!(rr.packet_type, RECEIVER_REPORT);
        assert_eq!(
            packets.next().map(|p| p.packet_type),
            Some(SOURCE_DESCRIPTION)
        );
        let report = Report::parse(&rr).expect("rr");
        let block = report.blocks().next().expect("a block about the peer");
        assert_eq!(block.ssrc, 0xFEED);
        assert_eq!(block.cumulative_lost, 1);
        assert_eq!(block.highest_sequence, 99);
        assert_eq!(block.fraction_lost, 2, "1 of 100 is 2.56/256");
        // Next one 5 s later, not before.
        assert_eq!(
            s.poll_report(t0 + 6 * SEC, ntp0, 1, None, b"sw", &mut out),
            None
        );
        let sender = SenderState {
            ssrc: 1,
            packets: 10,
            octets: 1720,
            rtp_timestamp: 99,
        };
        let n = s
            .poll_report(t0 + 7 * SEC, ntp0, 1, Some(sender), b"sw", &mut out)
            .expect("due");
        let c = Compound::parse(&out[..n]).expect("valid");
        let sr = c.packets().next().expect("sr");
        assert_eq!(sr.packet_type, SENDER_REPORT);
        let info = Report::parse(&sr)
            .and_then(|r| r.sender)
            .expect("sender info");
        assert_eq!((info.packets, info.octets, info.ntp), (10, 1720, ntp0));
        assert_eq!(s.reports_sent(), 2);
    }

    #[test]
    fn round_trip_from_the_peers_lsr_and_dlsr() {
        let t0 = crate::test_epoch();
        let ntp0 = ntp_from_unix(Duration::from_secs(1_700_000_000));
        let mut ours = RtcpSession::new(t0, 5 * SEC, Duration::ZERO);
        let mut out = [0u8; 256];
        let sender = SenderState {
            ssrc: 1,
            packets: 1,
            octets: 160,
            rtp_timestamp: 0,
        };
        let n = ours
            .poll_report(t0, ntp0, 1, Some(sender), b"a", &mut out)
            .expect("due");
        // The peer reads our SR, holds it 1 s, answers; 100 ms of network
        // both ways: it arrives 1.2 s after we sent.
        let mut peer = RtcpSession::new(t0, 5 * SEC, Duration::ZERO);
        peer.on_rtp(1, 0, 0, t0);
        peer.on_rtcp(&out[..n], 2, ntp0, t0 + Duration::from_millis(100))
            .expect("valid SR");
        let mut back = [0u8; 256];
        let m = peer
            .poll_report(
                t0 + Duration::from_millis(1100),
                ntp0,
                2,
                None,
                b"b",
                &mut back,
            )
            .expect("due");
        let arrival_ntp = ntp0 + (((12u64 << 32) / 10) & !0xFFFF);
        ours.on_rtcp(&back[..m], 1, arrival_ntp, t0 + Duration::from_millis(1200))
            .expect("valid RR");
        let rtt = ours.quality().rtt_ms.expect("rtt");
        assert!((rtt - 200.0).abs() < 1.0, "rtt {rtt}");
        let remote = ours.remote().expect("peer's report on us");
        assert_eq!(remote.cumulative_lost, 0);
        assert!(remote.mos > 4.0);
        assert!(ours.on_rtcp(&[0x80, 200, 0, 0, 1], 1, ntp0, t0).is_err());
    }
}
