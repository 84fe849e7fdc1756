//! jemalloc's per-thread caches: on only for the signalling core, and
//! emptied when it goes quiet.
//!
//! A thread cache keeps objects its thread freed for its next allocations.
//! After a load peak such a cache still holds hundreds of the peak's objects,
//! and each one pins the slab it sits in (jemalloc gives a slab back
//! only once every object in it is free); a thread that has gone quiet never
//! trims its cache. So the switch is built with thread caches off
//! (`tcache:false` in `.cargo/config.toml`), and the one thread that allocates
//! per SIP message, the signalling core's, turns its own on and empties it
//! after a quiet second. The media workers do not allocate per packet, so
//! they lose nothing. Measured in `benches/RESULTS.md` ("Third session").

use tikv_jemalloc_ctl::{Access, AsName};

/// jemalloc's switch for the calling thread's cache. (Its `flush` control
/// takes no value, which the safe interface cannot pass; turning the cache
/// off flushes it just the same.)
const ENABLED: &[u8] = b"thread.tcache.enabled\0";

/// Turns the calling thread's cache on, whatever the build's default.
pub fn enable() {
    if let Err(e) = ENABLED.name().write(true) {
        tracing::debug!("thread cache not enabled: {e}");
    }
}

/// Gives everything the calling thread's cache holds back to the arena, and
/// leaves the cache on (empty).
pub fn flush() {
    let name = ENABLED.name();
    if matches!(name.read(), Ok(true)) && name.write(false).is_ok() {
        let _ = name.write(true);
    }
}

/// Whether the calling thread has a cache (for tests and diagnostics).
pub fn enabled() -> bool {
    matches!(ENABLED.name().read(), Ok(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enable_and_flush_leave_the_cache_on() {
        std::thread::spawn(|| {
            enable();
            assert!(enabled());
            let held: Vec<Vec<u8>> = (0..1000).map(|i| vec![0u8; 16 + i % 64]).collect();
            drop(held);
            flush();
            assert!(enabled(), "flushing must not leave the cache off");
        })
        .join()
        .unwrap();
    }
}
