//! RTP source locking (the "RTP bleed" defence) and symmetric RTP.
//!
//! Until a leg's peer is known, any packet arriving on its port could be an
//! attacker probing the port range. The lock learns the peer from a short
//! run of valid, sequence-consecutive packets from one address (or at once
//! from the address the peer's SDP named), then drops everything else. The
//! learned address is also where we send (symmetric RTP, RFC 4961): phones
//! behind NAT put a private address in their SDP, but their packets arrive
//! from the NAT's public mapping, which is the one that reaches them.

use std::net::SocketAddr;

/// Packets in a row from one address, with consecutive sequence numbers,
/// that lock the source when it is not the SDP address.
pub const LEARN_PACKETS: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Learning {
        candidate: Option<(SocketAddr, u16, u32)>,
    },
    Locked(SocketAddr),
}

/// Verdict on one received packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceVerdict {
    Accept,
    /// From another address than the locked one, or while still learning.
    Drop,
}

/// Source lock of one leg.
#[derive(Debug, Clone)]
pub struct SourceLock {
    state: State,
    /// Address from the peer's SDP.
    hint: Option<SocketAddr>,
    /// Last locked address; we keep sending there while relearning.
    previous: Option<SocketAddr>,
    dropped: u64,
}

impl SourceLock {
    /// A lock that starts learning; `hint` is the SDP address, if any.
    #[must_use]
    pub fn new(hint: Option<SocketAddr>) -> SourceLock {
        SourceLock {
            state: State::Learning { candidate: None },
            hint,
            previous: None,
            dropped: 0,
        }
    }

    /// Check a valid RTP packet with sequence number `seq` from `from`.
    /// Call only for packets that parsed as RTP, so garbage cannot lock.
    #[must_use]
    pub fn check(&mut self, from: SocketAddr, seq: u16) -> SourceVerdict {
        let verdict = match self.state {
            State::Locked(addr) if addr == from => SourceVerdict::Accept,
            State::Locked(_) => SourceVerdict::Drop,
            State::Learning { .. } if Some(from) == self.hint => {
                self.state = State::Locked(from);
                SourceVerdict::Accept
            }
            State::Learning { candidate } => {
                let count = match candidate {
                    Some((addr, last, n)) if addr == from && seq == last.wrapping_add(1) => n + 1,
                    _ => 1,
                };
                if count >= LEARN_PACKETS {
                    self.state = State::Locked(from);
                    SourceVerdict::Accept
                } else {
                    self.state = State::Learning {
                        candidate: Some((from, seq, count)),
                    };
                    SourceVerdict::Drop
                }
            }
        };
        if verdict == SourceVerdict::Drop {
            self.dropped += 1;
        }
        verdict
    }

    /// Start learning again (re-INVITE moved the peer's media). `hint` is the
    /// address in the new SDP. Until a new lock we keep sending to the old
    /// address.
    pub fn relearn(&mut self, hint: Option<SocketAddr>) {
        if let State::Locked(addr) = self.state {
            self.previous = Some(addr);
        }
        self.hint = hint;
        self.state = State::Learning { candidate: None };
    }

    /// The locked address, if locked.
    #[must_use]
    pub fn locked(&self) -> Option<SocketAddr> {
        match self.state {
            State::Locked(addr) => Some(addr),
            State::Learning { .. } => None,
        }
    }

    /// Where to send this leg's RTP: the learned address, else the one we
    /// learned before a relearn, else the SDP address.
    #[must_use]
    pub fn send_to(&self) -> Option<SocketAddr> {
        self.locked().or(self.previous).or(self.hint)
    }

    /// Packets dropped by the lock.
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("test address")
    }

    #[test]
    fn sdp_address_locks_at_once() {
        let mut lock = SourceLock::new(Some(addr("10.0.0.1:4000")));
        assert_eq!(lock.send_to(), Some(addr("10.0.0.1:4000")));
        assert_eq!(lock.check(addr("10.0.0.1:4000"), 5), SourceVerdict::Accept);
        assert_eq!(lock.check(addr("6.6.6.6:4000"), 6), SourceVerdict::Drop);
        assert_eq!(lock.dropped(), 1);
    }

    #[test]
    fn nat_address_is_learned_from_consecutive_packets_and_used_for_sending() {
        let mut lock = SourceLock::new(Some(addr("192.168.1.20:10000")));
        let nat = addr("203.0.113.9:61000");
        assert_eq!(lock.check(nat, 10), SourceVerdict::Drop);
        assert_eq!(lock.check(nat, 11), SourceVerdict::Drop);
        assert_eq!(lock.check(nat, 12), SourceVerdict::Accept);
        assert_eq!(lock.locked(), Some(nat));
        assert_eq!(lock.send_to(), Some(nat));
        // Later packets from the SDP address itself are now foreign.
        assert_eq!(
            lock.check(addr("192.168.1.20:10000"), 13),
            SourceVerdict::Drop
        );
    }

    #[test]
    fn interleaved_attacker_never_locks_and_resets_learning() {
        let mut lock = SourceLock::new(None);
        let peer = addr("203.0.113.9:61000");
        let evil = addr("198.51.100.66:5000");
        for seq in 0..20u16 {
            let from = if seq % 2 == 0 { peer } else { evil };
            assert_eq!(lock.check(from, seq), SourceVerdict::Drop);
        }
        assert_eq!(lock.locked(), None);
        assert_eq!(lock.send_to(), None);
        // Non-consecutive sequence numbers from one address do not lock either.
        for seq in [100u16, 300, 500, 700] {
            assert_eq!(lock.check(peer, seq), SourceVerdict::Drop);
        }
    }

    #[test]
    fn relearn_keeps_sending_to_the_old_address_until_a_new_lock() {
        let a = addr("10.0.0.1:4000");
        let b = addr("10.0.0.2:4002");
        let mut lock = SourceLock::new(Some(a));
        assert_eq!(lock.check(a, 1), SourceVerdict::Accept);
        lock.relearn(Some(b));
        assert_eq!(lock.locked(), None);
        assert_eq!(lock.send_to(), Some(a));
        assert_eq!(lock.check(b, 9), SourceVerdict::Accept);
        assert_eq!(lock.send_to(), Some(b));
        assert_eq!(lock.check(a, 2), SourceVerdict::Drop);
    }
}
