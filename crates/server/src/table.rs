//! Giving a table's memory back once a load peak is over.

use std::collections::HashMap;
use std::hash::Hash;

/// Tables that hold less than this are left alone: not worth a rehash.
const SHRINK_ABOVE_BYTES: usize = 4096;

/// Shrink `map` to twice its length once it is under a quarter full and
/// holds more than a few KiB. A HashMap keeps its largest capacity, and
/// after a burst of calls that is hundreds of KiB per table; the limit is
/// in bytes, not entries, because entries such as a call or a media leg
/// are hundreds of bytes each. A shrink halves the capacity at most once
/// per halving of the contents, so the rehash cost stays amortised; an
/// emptied table keeps at most a few KiB.
pub(crate) fn shrink_after_peak<K: Hash + Eq, V>(map: &mut HashMap<K, V>) {
    let bytes = map.capacity() * std::mem::size_of::<(K, V)>();
    if bytes > SHRINK_ABOVE_BYTES && map.len() < map.capacity() / 4 {
        map.shrink_to(map.len() * 2);
    }
}

/// The same rule for a vector that grows and empties with the load.
pub(crate) fn shrink_vec_after_peak<T>(vec: &mut Vec<T>) {
    let bytes = vec.capacity() * std::mem::size_of::<T>();
    if bytes > SHRINK_ABOVE_BYTES && vec.len() < vec.capacity() / 4 {
        vec.shrink_to(vec.len() * 2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_table_is_given_back_once_mostly_empty() {
        let mut map: HashMap<u64, [u8; 512]> = HashMap::new();
        for i in 0..1000 {
            map.insert(i, [0; 512]);
        }
        let peak = map.capacity();
        for i in 0..1000 {
            map.remove(&i);
            shrink_after_peak(&mut map);
        }
        assert!(peak >= 1000);
        let kept = map.capacity() * std::mem::size_of::<(u64, [u8; 512])>();
        assert!(
            kept <= SHRINK_ABOVE_BYTES,
            "an emptied table keeps {kept} bytes"
        );
    }

    #[test]
    fn a_vector_of_large_items_is_given_back_once_mostly_empty() {
        let mut vec: Vec<[u8; 512]> = (0..1000).map(|_| [0; 512]).collect();
        while vec.pop().is_some() {
            shrink_vec_after_peak(&mut vec);
        }
        assert!(
            vec.capacity() * 512 <= SHRINK_ABOVE_BYTES,
            "{}",
            vec.capacity()
        );
    }

    #[test]
    fn a_small_table_is_left_alone() {
        let mut map: HashMap<u8, u8> = HashMap::new();
        for i in 0..100 {
            map.insert(i, i);
        }
        for i in 0..100 {
            map.remove(&i);
        }
        let before = map.capacity();
        shrink_after_peak(&mut map);
        assert_eq!(map.capacity(), before);
    }

    #[test]
    fn a_table_still_in_use_keeps_room_for_twice_its_length() {
        let mut map: HashMap<u64, [u8; 256]> = HashMap::new();
        for i in 0..1000 {
            map.insert(i, [0; 256]);
        }
        for i in 0..900 {
            map.remove(&i);
            shrink_after_peak(&mut map);
        }
        assert_eq!(map.len(), 100);
        assert!(map.capacity() >= 100 && map.capacity() < 1000 / 2);
    }
}
