//! A worker's legs in slots: the epoll token of a socket carries its leg's
//! slot, so the hot path finds a leg (and its bridged peer, whose slot the
//! leg keeps) by indexing a vector, with no hashing and no probing of a
//! hash table's control bytes (two cache misses per lookup at thousands of
//! legs). Commands name legs by id and go through the id index instead.
//!
//! A slot is stable while its leg is here. Vacant slots are reused lowest
//! first, so the table stays dense and its tail can be given back after a
//! peak.

use std::collections::{BTreeSet, HashMap};

use super::leg::Leg;
use crate::media::LegId;

#[derive(Default)]
pub(super) struct LegTable {
    slots: Vec<Option<Leg>>,
    /// Vacant slots below `slots.len()`.
    vacant: BTreeSet<u32>,
    index: HashMap<LegId, u32>,
}

impl LegTable {
    /// Store `leg` (replacing one with the same id) and return its slot.
    pub fn insert(&mut self, leg: Leg) -> u32 {
        if let Some(old) = self.index.get(&leg.id).copied() {
            self.slots[old as usize] = Some(leg);
            return old;
        }
        let id = leg.id;
        let slot = match self.vacant.pop_first() {
            Some(slot) => {
                self.slots[slot as usize] = Some(leg);
                slot
            }
            None => {
                self.slots.push(Some(leg));
                (self.slots.len() - 1) as u32
            }
        };
        self.index.insert(id, slot);
        slot
    }

    pub fn remove(&mut self, id: LegId) -> Option<Leg> {
        let slot = self.index.remove(&id)?;
        let leg = self.slots.get_mut(slot as usize)?.take();
        self.vacant.insert(slot);
        self.trim();
        leg
    }

    /// Drop vacant slots at the end, and give memory back once the table
    /// is mostly empty after a peak.
    fn trim(&mut self) {
        while matches!(self.slots.last(), Some(None)) {
            self.slots.pop();
        }
        let len = self.slots.len() as u32;
        // Every vacant slot at or past the new end went with the tail.
        drop(self.vacant.split_off(&len));
        // A slot holds a whole leg (hundreds of bytes): the limit is in
        // bytes, so 64 idle slots are not kept for good (see `table`).
        crate::table::shrink_vec_after_peak(&mut self.slots);
        crate::table::shrink_after_peak(&mut self.index);
    }

    pub fn contains(&self, id: LegId) -> bool {
        self.index.contains_key(&id)
    }

    pub fn slot_of(&self, id: LegId) -> Option<u32> {
        self.index.get(&id).copied()
    }

    pub fn get(&self, id: LegId) -> Option<&Leg> {
        let slot = self.slot_of(id)?;
        self.slots.get(slot as usize)?.as_ref()
    }

    pub fn get_mut(&mut self, id: LegId) -> Option<&mut Leg> {
        let slot = self.slot_of(id)?;
        self.at_mut(slot)
    }

    /// The leg in `slot`, if the slot is occupied.
    pub fn at_mut(&mut self, slot: u32) -> Option<&mut Leg> {
        self.slots.get_mut(slot as usize)?.as_mut()
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut Leg> {
        self.slots.iter_mut().flatten()
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.index.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::time::{Duration, Instant};

    /// Any instant will do: the table never looks at time.
    #[allow(clippy::disallowed_methods)]
    fn leg(id: u64) -> Leg {
        let rtp = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let rtcp = UdpSocket::bind("127.0.0.1:0").expect("bind");
        Leg::new(
            LegId(id),
            0,
            rtp,
            rtcp,
            Duration::from_secs(5),
            Instant::now(),
        )
    }

    #[test]
    fn slots_are_stable_reused_lowest_first_and_the_tail_is_trimmed() {
        let mut table = LegTable::default();
        let slots: Vec<u32> = (0..4).map(|i| table.insert(leg(10 + i))).collect();
        assert_eq!(slots, vec![0, 1, 2, 3]);
        assert!(table.remove(LegId(11)).is_some());
        assert!(table.remove(LegId(11)).is_none(), "gone already");
        assert!(table.at_mut(1).is_none(), "vacant slot");
        assert_eq!(
            table.at_mut(2).map(|l| l.id),
            Some(LegId(12)),
            "others stay"
        );
        // The lowest vacant slot is reused.
        assert_eq!(table.insert(leg(20)), 1);
        assert_eq!(table.slot_of(LegId(20)), Some(1));
        assert_eq!(table.get(LegId(20)).map(|l| l.id), Some(LegId(20)));
        // Emptying the end shortens the table; a new leg takes the next slot.
        assert!(table.remove(LegId(13)).is_some());
        assert!(table.remove(LegId(12)).is_some());
        assert_eq!(table.insert(leg(21)), 2);
        assert_eq!(table.len(), 3);
        assert_eq!(table.values_mut().count(), 3);
        assert!(table.contains(LegId(21)) && !table.contains(LegId(12)));
    }

    #[test]
    fn a_table_emptied_after_a_peak_gives_its_memory_back() {
        let mut table = LegTable::default();
        for i in 0..200 {
            table.insert(leg(i));
        }
        let peak = table.slots.capacity();
        assert!(peak >= 200);
        for i in 0..200 {
            assert!(table.remove(LegId(i)).is_some());
        }
        assert_eq!(table.len(), 0);
        assert!(table.slots.is_empty() && table.vacant.is_empty());
        assert!(
            table.slots.capacity() < peak / 4,
            "{}",
            table.slots.capacity()
        );
        // Small entries: the index may keep up to a few KiB (see `table`).
        let index_bytes = table.index.capacity() * std::mem::size_of::<(LegId, u32)>();
        assert!(index_bytes <= 4096, "{index_bytes}");
    }
}
