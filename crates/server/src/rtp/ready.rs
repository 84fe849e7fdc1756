//! Which legs' sockets have something to read.
//!
//! Each leg polls its sockets with its own waker. When tokio's I/O driver
//! sees one of them readable it wakes that waker, which queues the leg id
//! here (once, however many packets wait) and wakes the worker task. The
//! worker then reads only the queued legs: the cost of a wakeup follows the
//! legs with traffic, not all the legs the worker owns.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Wake, Waker};

use crate::media::LegId;

#[derive(Default)]
struct Inner {
    ready: Vec<LegId>,
    /// The worker task, to wake when a leg becomes ready.
    task: Option<Waker>,
}

/// The queue of one worker.
#[derive(Default)]
pub(super) struct ReadyQueue {
    inner: Mutex<Inner>,
}

impl ReadyQueue {
    /// Remember the worker task's waker (called on every poll of the worker).
    pub fn register(&self, task: &Waker) {
        if let Ok(mut inner) = self.inner.lock() {
            if !inner.task.as_ref().is_some_and(|w| w.will_wake(task)) {
                inner.task = Some(task.clone());
            }
        }
    }

    /// Move the queued leg ids into `out` (kept by the worker, so no
    /// allocation once both vectors have grown to the traffic).
    pub fn take(&self, out: &mut Vec<LegId>) {
        if let Ok(mut inner) = self.inner.lock() {
            std::mem::swap(&mut inner.ready, out);
        }
    }

    fn push(&self, id: LegId) {
        let task = match self.inner.lock() {
            Ok(mut inner) => {
                inner.ready.push(id);
                inner.task.clone()
            }
            Err(_) => None,
        };
        if let Some(task) = task {
            task.wake();
        }
    }
}

/// The waker a leg polls its sockets with.
pub(super) struct LegWaker {
    id: LegId,
    queue: Arc<ReadyQueue>,
    /// Already in the queue: further wakes add nothing.
    queued: AtomicBool,
}

impl LegWaker {
    /// A waker for `id` on `queue`, queued at once so the worker polls the
    /// new leg's sockets (which registers the waker with them).
    pub fn new(id: LegId, queue: Arc<ReadyQueue>) -> (Arc<LegWaker>, Waker) {
        let leg = Arc::new(LegWaker {
            id,
            queue,
            queued: AtomicBool::new(false),
        });
        let waker = Waker::from(leg.clone());
        waker.wake_by_ref();
        (leg, waker)
    }

    /// The worker is about to read this leg: later readiness queues it again.
    pub fn clear(&self) {
        self.queued.store(false, Ordering::Release);
    }
}

impl Wake for LegWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.queued.swap(true, Ordering::AcqRel) {
            self.queue.push(self.id);
        }
    }
}
