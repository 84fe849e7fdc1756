//! Deliveries waiting to go out, sans-IO: a bounded queue that drops the oldest when full, and the
//! retry schedule. The sender thread (`sender.rs`) asks it what is due at `now` and reports each
//! attempt's outcome back.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dialplan::{WebhookEvent, WebhookUrl};

/// Waits before the 2nd, 3rd and 4th attempts; after the 4th fails the event is given up.
pub const BACKOFF: [Duration; 3] = [
    Duration::from_secs(1),
    Duration::from_secs(5),
    Duration::from_secs(25),
];

/// Deliveries held at most (waiting for their first attempt or for a retry).
pub const CAPACITY: usize = 1000;

/// One event for one endpoint.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub url: WebhookUrl,
    pub secret: Option<String>,
    pub timeout: Duration,
    pub event: WebhookEvent,
    /// Unique per event; the same on every retry, so a receiver can ignore repeats.
    pub event_id: String,
    /// Shared by the event's endpoints.
    pub body: Arc<Vec<u8>>,
    /// Attempts made so far.
    pub attempts: u32,
    /// Queueing order, kept across retries: the smallest is the oldest event, dropped first
    /// when the outbox is full.
    seq: u64,
}

impl Delivery {
    pub fn new(
        hook: &dialplan::Webhook,
        event: WebhookEvent,
        event_id: String,
        body: Arc<Vec<u8>>,
    ) -> Delivery {
        Delivery {
            url: hook.url.clone(),
            secret: hook.secret.clone(),
            timeout: hook.timeout,
            event,
            event_id,
            body,
            attempts: 0,
            seq: 0,
        }
    }
}

/// How one attempt went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The endpoint answered with this status.
    Status(u16),
    /// No status: could not resolve, connect, send or read in time.
    Failed(String),
}

impl Attempt {
    fn done(&self) -> bool {
        matches!(self, Attempt::Status(200..=299))
    }

    /// Worth trying again: the endpoint may be down or overloaded for a while. Other 4xx mean
    /// the request itself is refused and would be refused again.
    fn transient(&self) -> bool {
        match self {
            Attempt::Failed(_) => true,
            Attempt::Status(code) => *code >= 500 || *code == 408 || *code == 429,
        }
    }
}

/// What became of a delivery after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    /// Queued again, for `at`.
    Retry {
        at: Instant,
    },
    /// Not tried again: a permanent refusal, or the last retry failed.
    GaveUp,
}

struct Pending {
    delivery: Delivery,
    due: Instant,
}

#[derive(Default)]
pub struct Outbox {
    pending: Vec<Pending>,
    next_seq: u64,
    capacity: usize,
}

impl Outbox {
    pub fn new(capacity: usize) -> Outbox {
        Outbox {
            pending: Vec::new(),
            next_seq: 0,
            capacity: capacity.max(1),
        }
    }

    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Queues `delivery` for `now`. When full, the oldest queued delivery makes room and is
    /// returned (the caller logs it): fresh events matter more than stale ones.
    pub fn push(&mut self, mut delivery: Delivery, now: Instant) -> Option<Delivery> {
        delivery.seq = self.next_seq;
        self.next_seq += 1;
        self.insert(delivery, now)
    }

    /// Queues `delivery` for `due`; over capacity, the oldest goes (possibly `delivery`).
    fn insert(&mut self, delivery: Delivery, due: Instant) -> Option<Delivery> {
        self.pending.push(Pending { delivery, due });
        if self.pending.len() <= self.capacity {
            return None;
        }
        let oldest = (0..self.pending.len()).min_by_key(|&i| self.pending[i].delivery.seq)?;
        Some(self.pending.swap_remove(oldest).delivery)
    }

    /// When the earliest delivery falls due.
    pub fn next_due(&self) -> Option<Instant> {
        self.pending.iter().map(|p| p.due).min()
    }

    /// The delivery due at `now` that fell due first (ties: queued first), taken out for an
    /// attempt.
    pub fn take_due(&mut self, now: Instant) -> Option<Delivery> {
        let i = (0..self.pending.len())
            .filter(|&i| self.pending[i].due <= now)
            .min_by_key(|&i| (self.pending[i].due, self.pending[i].delivery.seq))?;
        Some(self.pending.swap_remove(i).delivery)
    }

    /// Records how an attempt at `delivery` went (at `now`, when it finished); a transient
    /// failure with retries left queues it again after its backoff.
    pub fn finish(&mut self, mut delivery: Delivery, attempt: &Attempt, now: Instant) -> Verdict {
        delivery.attempts += 1;
        if attempt.done() {
            return Verdict::Delivered;
        }
        let retry = attempt
            .transient()
            .then(|| BACKOFF.get(delivery.attempts as usize - 1))
            .flatten();
        match retry {
            Some(wait) => {
                let at = now + *wait;
                let seq = delivery.seq;
                // A retry counts against the capacity like a new event and keeps its age: when
                // events queued during this attempt filled the outbox, the oldest goes, which
                // may be this one.
                if let Some(old) = self.insert(delivery, at) {
                    tracing::warn!(event = %old.event, id = %old.event_id, url = %old.url, "webhook queue full: dropped the oldest event");
                    if old.seq == seq {
                        return Verdict::GaveUp;
                    }
                }
                Verdict::Retry { at }
            }
            None => Verdict::GaveUp,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(id: &str) -> Delivery {
        Delivery {
            url: "http://127.0.0.1:9/x".parse().unwrap(),
            secret: None,
            timeout: Duration::from_secs(5),
            event: WebhookEvent::CallEnded,
            event_id: id.to_owned(),
            body: Arc::new(b"{}".to_vec()),
            attempts: 0,
            seq: 0,
        }
    }

    /// The simulated clock's epoch.
    #[allow(clippy::disallowed_methods)]
    fn t0() -> Instant {
        Instant::now()
    }

    #[test]
    fn retries_transient_failures_after_1_5_and_25_seconds_then_gives_up() {
        let t0 = t0();
        let mut ob = Outbox::new(10);
        ob.push(delivery("a"), t0);
        let mut now = t0;
        let mut waits = Vec::new();
        for attempt in [
            Attempt::Failed("connection refused".into()),
            Attempt::Status(500),
            Attempt::Status(503),
        ] {
            let d = ob.take_due(now).expect("due");
            match ob.finish(d, &attempt, now) {
                Verdict::Retry { at } => {
                    waits.push(at - now);
                    assert!(ob.take_due(at - Duration::from_millis(1)).is_none());
                    now = at;
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(waits, BACKOFF);
        let d = ob.take_due(now).unwrap();
        assert_eq!(d.attempts, 3);
        assert_eq!(ob.finish(d, &Attempt::Status(502), now), Verdict::GaveUp);
        assert_eq!(ob.len(), 0);
        assert_eq!(ob.next_due(), None);
    }

    #[test]
    fn success_and_permanent_refusals_end_a_delivery() {
        let t0 = t0();
        let mut ob = Outbox::new(10);
        ob.push(delivery("a"), t0);
        ob.push(delivery("b"), t0);
        let d = ob.take_due(t0).unwrap();
        assert_eq!(d.event_id, "a", "first queued goes first");
        assert_eq!(ob.finish(d, &Attempt::Status(204), t0), Verdict::Delivered);
        let d = ob.take_due(t0).unwrap();
        assert_eq!(ob.finish(d, &Attempt::Status(404), t0), Verdict::GaveUp);
        // 429 and 408 are worth another try.
        ob.push(delivery("c"), t0);
        let d = ob.take_due(t0).unwrap();
        assert!(matches!(
            ob.finish(d, &Attempt::Status(429), t0),
            Verdict::Retry { .. }
        ));
    }

    #[test]
    fn a_full_queue_drops_the_oldest() {
        let t0 = t0();
        let mut ob = Outbox::new(2);
        assert!(ob.push(delivery("a"), t0).is_none());
        assert!(ob.push(delivery("b"), t0).is_none());
        let dropped = ob.push(delivery("c"), t0).unwrap();
        assert_eq!(dropped.event_id, "a");
        assert_eq!(ob.len(), 2);
        let ids: Vec<String> = std::iter::from_fn(|| ob.take_due(t0))
            .map(|d| d.event_id)
            .collect();
        assert_eq!(ids, ["b", "c"]);
    }

    #[test]
    fn a_retry_into_a_full_outbox_keeps_its_age() {
        let t0 = t0();
        let mut ob = Outbox::new(1);
        ob.push(delivery("a"), t0);
        let a = ob.take_due(t0).unwrap();
        // While "a" was being tried, "b" filled the outbox; "a" is the older event.
        ob.push(delivery("b"), t0);
        assert_eq!(ob.finish(a, &Attempt::Status(503), t0), Verdict::GaveUp);
        assert_eq!(ob.len(), 1);
        assert_eq!(ob.take_due(t0).unwrap().event_id, "b");
        // With room, the retry is queued.
        ob.push(delivery("c"), t0);
        let c = ob.take_due(t0).unwrap();
        assert!(matches!(
            ob.finish(c, &Attempt::Status(503), t0),
            Verdict::Retry { .. }
        ));
    }

    #[test]
    fn a_waiting_retry_does_not_hold_up_fresh_events() {
        let t0 = t0();
        let mut ob = Outbox::new(10);
        ob.push(delivery("a"), t0);
        let d = ob.take_due(t0).unwrap();
        let Verdict::Retry { at } = ob.finish(d, &Attempt::Status(500), t0) else {
            panic!("no retry");
        };
        ob.push(delivery("b"), t0);
        assert_eq!(ob.take_due(t0).unwrap().event_id, "b");
        assert!(ob.take_due(t0).is_none());
        assert_eq!(ob.next_due(), Some(at));
        assert_eq!(ob.take_due(at).unwrap().event_id, "a");
    }
}
