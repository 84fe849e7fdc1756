//! RFC 3261 timer values (section 17, table 4) and the doubling retransmission
//! timer shared by Timers A, E, G and the UAS 2xx retransmission.

use std::time::{Duration, Instant};

/// Timer base values. Everything else derives from these, so tests can shrink
/// or stretch them and production can tune them per trunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// RTT estimate: first retransmission interval (default 500 ms).
    pub t1: Duration,
    /// Cap on the retransmission interval for non-INVITE requests and INVITE
    /// responses (default 4 s).
    pub t2: Duration,
    /// How long a message may linger in the network (default 5 s): Timers I, K.
    pub t4: Duration,
    /// Timer D: how long an INVITE client transaction absorbs retransmitted
    /// final responses over unreliable transport (RFC: at least 32 s).
    pub timer_d: Duration,
    /// How long an INVITE server transaction waits for the TU before it sends
    /// `100 Trying` itself (RFC 3261 17.2.1: 200 ms).
    pub trying_delay: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        TimerConfig {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            timer_d: Duration::from_secs(32),
            trying_delay: Duration::from_millis(200),
        }
    }
}

impl TimerConfig {
    /// 64*T1: Timers B, F, H, J (unreliable), L and M.
    pub fn t1x64(&self) -> Duration {
        self.t1 * 64
    }
}

/// A retransmission timer whose interval doubles on every firing, optionally
/// capped (T2 for everything except Timer A, which RFC 3261 leaves uncapped and
/// bounds only by Timer B).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Retransmit {
    deadline: Instant,
    interval: Duration,
    cap: Option<Duration>,
}

impl Retransmit {
    pub(crate) fn start(now: Instant, first: Duration, cap: Option<Duration>) -> Self {
        Retransmit {
            deadline: now + first,
            interval: first,
            cap,
        }
    }

    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }

    pub(crate) fn is_due(&self, now: Instant) -> bool {
        self.deadline <= now
    }

    /// Called when the timer fired: the next interval doubles (up to the cap)
    /// and is counted from `now`, so a late `handle_timeout` never causes a
    /// burst of catch-up retransmissions.
    pub(crate) fn fire(&mut self, now: Instant) {
        let doubled = self.interval * 2;
        self.interval = match self.cap {
            Some(cap) => doubled.min(cap),
            None => doubled,
        };
        self.deadline = now + self.interval;
    }

    /// From now on retransmit every `interval` (non-INVITE client in
    /// Proceeding: Timer E resets to T2). The pending deadline is kept.
    pub(crate) fn fix_interval(&mut self, interval: Duration) {
        self.interval = interval;
        self.cap = Some(interval);
    }
}

/// Earliest of a set of optional deadlines.
pub(crate) fn earliest(deadlines: &[Option<Instant>]) -> Option<Instant> {
    deadlines.iter().flatten().min().copied()
}

/// True when an optional deadline has passed.
pub(crate) fn due(deadline: Option<Instant>, now: Instant) -> bool {
    deadline.is_some_and(|d| d <= now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::test_clock::t0;

    #[test]
    fn doubling_is_capped_when_a_cap_is_given() {
        let now = t0();
        let ms = Duration::from_millis;
        let mut r = Retransmit::start(now, ms(500), Some(ms(4000)));
        let mut at = now;
        let mut gaps = Vec::new();
        for _ in 0..6 {
            let next = r.deadline();
            gaps.push(next - at);
            at = next;
            r.fire(at);
        }
        assert_eq!(gaps, [500, 1000, 2000, 4000, 4000, 4000].map(ms));
    }

    #[test]
    fn doubling_is_unbounded_without_cap() {
        let now = t0();
        let ms = Duration::from_millis;
        let mut r = Retransmit::start(now, ms(500), None);
        for _ in 0..5 {
            let d = r.deadline();
            r.fire(d);
        }
        // 500 + 1000 + 2000 + 4000 + 8000 elapsed, next gap 16000.
        assert_eq!(
            r.deadline() - now,
            ms(500 + 1000 + 2000 + 4000 + 8000 + 16000)
        );
    }
}
