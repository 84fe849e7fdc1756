//! Shared helpers for the media integration tests.

use std::time::Instant;

/// Base of the simulated clock; tests only add durations to it.
#[allow(clippy::disallowed_methods, dead_code)]
pub fn epoch() -> Instant {
    Instant::now()
}
