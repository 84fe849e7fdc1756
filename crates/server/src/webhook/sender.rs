//! The sender thread: takes due deliveries from the shared [`Outbox`], POSTs them one at a time
//! and reports the outcome back. The signalling task only ever locks the outbox for a push, so a
//! slow or dead endpoint can never hold up calls.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::http;
use super::outbox::{Attempt, Delivery, Outbox, Verdict};
use super::sign::signature;

pub struct Shared {
    outbox: Mutex<State>,
    wake: Condvar,
}

pub(super) struct State {
    outbox: Outbox,
    /// The switch is stopping: send what is due until then, then end (waiting retries are
    /// abandoned).
    closing: Option<Instant>,
    /// The thread has ended.
    pub(super) finished: bool,
}

impl Shared {
    pub fn new(capacity: usize) -> Arc<Shared> {
        Arc::new(Shared {
            outbox: Mutex::new(State {
                outbox: Outbox::new(capacity),
                closing: None,
                finished: false,
            }),
            wake: Condvar::new(),
        })
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves a consistent outbox (every operation
        // on it is a few Vec edits); go on with it.
        self.outbox.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn push(&self, delivery: Delivery) {
        let mut state = self.lock();
        if let Some(old) = state.outbox.push(delivery, now()) {
            tracing::warn!(event = %old.event, id = %old.event_id, url = %old.url, "webhook queue full: dropped the oldest event");
        }
        drop(state);
        self.wake.notify_one();
    }

    /// Lets the thread send the events already due for at most `within`, and waits for it
    /// that long. The events still queued then are lost (and logged).
    pub fn close(&self, within: Duration) {
        let deadline = now() + within;
        let mut state = self.lock();
        state.closing = Some(deadline);
        self.wake.notify_all();
        while !state.finished {
            let left = deadline.saturating_duration_since(now());
            if left.is_zero() {
                break;
            }
            state = self
                .wake
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        if !state.outbox.is_empty() {
            tracing::warn!(
                "stopping with {} webhook deliveries not made",
                state.outbox.len()
            );
        }
    }
}

/// Runs until [`Shared::close`].
pub fn run(shared: Arc<Shared>) {
    deliver(&shared);
    shared.lock().finished = true;
    shared.wake.notify_all();
}

fn deliver(shared: &Shared) {
    while let Some(delivery) = next(shared) {
        let attempt = attempt(&delivery);
        let (event, id, url) = (
            delivery.event,
            delivery.event_id.clone(),
            delivery.url.clone(),
        );
        let tries = delivery.attempts + 1;
        let verdict = shared.lock().outbox.finish(delivery, &attempt, now());
        match (verdict, &attempt) {
            (Verdict::Delivered, _) => {
                tracing::debug!(%event, %id, %url, "webhook delivered")
            }
            (Verdict::Retry { at }, _) => {
                let wait = at.saturating_duration_since(now());
                tracing::info!(%event, %id, %url, ?attempt, "webhook attempt {tries} failed; retrying in {wait:?}")
            }
            (Verdict::GaveUp, _) => {
                tracing::warn!(%event, %id, %url, ?attempt, "webhook not delivered after {tries} attempts")
            }
        }
    }
}

/// Waits for a delivery that is due; `None` once closed.
fn next(shared: &Shared) -> Option<Delivery> {
    let mut state = shared.lock();
    loop {
        let now = now();
        if let Some(deadline) = state.closing {
            // Stopping: what is due now goes out while there is time; retries due later do not.
            return match now < deadline {
                true => state.outbox.take_due(now),
                false => None,
            };
        }
        if let Some(d) = state.outbox.take_due(now) {
            return Some(d);
        }
        state = match state.outbox.next_due() {
            Some(due) => {
                shared
                    .wake
                    .wait_timeout(state, due.saturating_duration_since(now))
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
            None => shared
                .wake
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner),
        };
    }
}

fn attempt(d: &Delivery) -> Attempt {
    let sig = d.secret.as_ref().map(|s| signature(s.as_bytes(), &d.body));
    let mut headers = vec![
        ("Content-Type", "application/json"),
        ("User-Agent", crate::USER_AGENT),
        ("X-Switchboard-Event", d.event.as_str()),
        ("X-Switchboard-Delivery", d.event_id.as_str()),
    ];
    if let Some(sig) = &sig {
        headers.push(("X-Switchboard-Signature", sig.as_str()));
    }
    match http::post(&d.url, &headers, &d.body, d.timeout) {
        Ok(code) => Attempt::Status(code),
        Err(e) => Attempt::Failed(e.to_string()),
    }
}

/// The sender is a driver: it reads the clock for due times.
#[allow(clippy::disallowed_methods)]
fn now() -> Instant {
    Instant::now()
}
