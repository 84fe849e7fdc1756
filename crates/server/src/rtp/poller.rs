//! A media worker's readiness loop: one level-triggered epoll set per
//! worker thread, plus an eventfd that wakes it when a command arrives and a
//! timerfd for its 20 ms tick.
//!
//! The tick is a periodic timerfd rather than the wait's timeout: epoll's
//! timeout is whole milliseconds (rounded up) plus the thread's timer slack,
//! so a tick came up to a millisecond late, by an amount that changed from
//! tick to tick with where in a millisecond the wait began. The kernel
//! re-arms a periodic timerfd at exact multiples of its period from the
//! start, with no slack.
//!
//! Level-triggered is the point. With edge-triggered readiness (tokio,
//! mio) a reader must drain a socket until `EAGAIN` before it may wait
//! again, so every wakeup pays one receive that returns nothing; at RTP
//! rates (one packet per socket per 20 ms) that is one empty `recvfrom`
//! per packet. Level-triggered, the worker reads one datagram per ready
//! socket and waits again: a socket with more queued is simply reported
//! again, and one `epoll_wait` covers every socket that became ready.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use rustix::event::epoll::{self, Event, EventData, EventFlags};
use rustix::event::{eventfd, EventfdFlags, Timespec};
use rustix::time::{
    timerfd_create, timerfd_settime, Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags,
};

use super::worker::Command;

/// The token of the command eventfd (leg tokens are `slot << 1 | rtcp` with
/// a 32-bit slot, far below it).
pub(super) const WAKE: u64 = u64::MAX;
/// The token of the tick timerfd.
pub(super) const TICK: u64 = u64::MAX - 1;

pub(super) struct Poller {
    epoll: OwnedFd,
    /// Written by command senders, read (reset) by the worker.
    wake: File,
    /// Readable once per tick period (disarmed until `start_ticks`).
    tick: File,
}

impl Poller {
    pub fn new() -> io::Result<Poller> {
        let epoll = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        let wake = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        epoll::add(&epoll, &wake, EventData::new_u64(WAKE), EventFlags::IN)?;
        let tick = timerfd_create(
            TimerfdClockId::Monotonic,
            TimerfdFlags::CLOEXEC | TimerfdFlags::NONBLOCK,
        )?;
        epoll::add(&epoll, &tick, EventData::new_u64(TICK), EventFlags::IN)?;
        Ok(Poller {
            epoll,
            wake: File::from(wake),
            tick: File::from(tick),
        })
    }

    /// Report `TICK` every `period` from now on: at now + k * period on
    /// the monotonic clock, however late each one is read.
    pub fn start_ticks(&self, period: Duration) -> io::Result<()> {
        let spec = Itimerspec {
            it_interval: timespec(period),
            it_value: timespec(period),
        };
        timerfd_settime(&self.tick, TimerfdTimerFlags::empty(), &spec)?;
        Ok(())
    }

    /// Reset the tick timerfd after it was reported. Ticks that passed
    /// unread are folded into this one (the worker skips them, it does not
    /// catch up in a burst).
    pub fn ticked(&self) {
        let mut expirations = [0u8; 8];
        let _ = (&self.tick).read(&mut expirations);
    }

    /// Watch `source` for readability (level-triggered) under `token`.
    pub fn add(&self, source: impl AsFd, token: u64) -> io::Result<()> {
        Ok(epoll::add(
            &self.epoll,
            source,
            EventData::new_u64(token),
            EventFlags::IN,
        )?)
    }

    /// Stop watching `source` (before its leg moves to another worker,
    /// whose own set takes it over).
    pub fn delete(&self, source: impl AsFd) {
        // Not registered (a failed add) is the only error: nothing to undo.
        let _ = epoll::delete(&self.epoll, source);
    }

    /// Wait for ready sources, up to `timeout` (rounded up to the next
    /// millisecond) or, with `None`, until one is; `events` is cleared and
    /// filled up to its capacity.
    pub fn wait(&self, events: &mut Vec<Event>, timeout: Option<Duration>) -> io::Result<()> {
        events.clear();
        let timeout = timeout.map(timespec);
        // Into the spare capacity (a plain `&mut Vec` would mean its length).
        let space = rustix::buffer::spare_capacity(events);
        match epoll::wait(&self.epoll, space, timeout.as_ref()) {
            Ok(_) => Ok(()),
            // A signal cut the wait short: the loop simply waits again.
            Err(rustix::io::Errno::INTR) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Wake the worker (a command is queued).
    pub fn notify(&self) {
        // The counter saturating (EAGAIN) still leaves it readable.
        let _ = (&self.wake).write(&1u64.to_ne_bytes());
    }

    /// Reset the eventfd after a wakeup, before reading the command queue.
    pub fn drained(&self) {
        let mut count = [0u8; 8];
        let _ = (&self.wake).read(&mut count);
    }
}

fn timespec(d: Duration) -> Timespec {
    Timespec {
        tv_sec: d.as_secs() as i64,
        tv_nsec: i64::from(d.subsec_nanos()),
    }
}

/// The sending side of a worker's command queue: queue, then wake it.
pub(super) struct WorkerTx {
    /// Always `Some` until drop, which closes it before waking the worker.
    tx: Option<mpsc::Sender<Command>>,
    poller: Arc<Poller>,
}

impl WorkerTx {
    pub fn new(tx: mpsc::Sender<Command>, poller: Arc<Poller>) -> WorkerTx {
        WorkerTx {
            tx: Some(tx),
            poller,
        }
    }

    /// Queue `command`; fails when the worker has stopped.
    pub fn send(&self, command: Command) -> Result<(), ()> {
        let tx = self.tx.as_ref().ok_or(())?;
        tx.send(command).map_err(|_| ())?;
        self.poller.notify();
        Ok(())
    }
}

impl Clone for WorkerTx {
    fn clone(&self) -> WorkerTx {
        WorkerTx {
            tx: self.tx.clone(),
            poller: self.poller.clone(),
        }
    }
}

impl Drop for WorkerTx {
    /// The last sender going away is how a worker learns to stop: wake it
    /// so it sees the queue closed (an extra wakeup for other clones is
    /// harmless).
    fn drop(&mut self) {
        // Close first, so the worker that wakes sees the queue closed.
        self.tx = None;
        self.poller.notify();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::LegId;
    use std::net::UdpSocket;

    fn tokens(events: &[Event]) -> Vec<u64> {
        events.iter().map(|e| e.data.u64()).collect()
    }

    #[test]
    fn a_socket_is_reported_while_datagrams_wait_one_read_each() {
        let poller = Poller::new().expect("epoll");
        let rx = UdpSocket::bind("127.0.0.1:0").expect("bind");
        rx.set_nonblocking(true).expect("non-blocking");
        let tx = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let to = rx.local_addr().expect("address");
        poller.add(&rx, 42).expect("add");
        let mut events = Vec::with_capacity(8);
        poller
            .wait(&mut events, Some(Duration::ZERO))
            .expect("wait");
        assert!(events.is_empty(), "nothing sent yet");
        // Loopback delivery is done when send_to returns.
        tx.send_to(b"a", to).expect("send");
        tx.send_to(b"b", to).expect("send");
        let mut buf = [0u8; 16];
        for expected in [b"a", b"b"] {
            // Level-triggered: reported again while anything is queued, so
            // one read per report and never a read that finds nothing.
            poller
                .wait(&mut events, Some(Duration::from_secs(1)))
                .expect("wait");
            assert_eq!(tokens(&events), vec![42]);
            let (len, _) = rx.recv_from(&mut buf).expect("a datagram");
            assert_eq!(&buf[..len], expected);
        }
        poller
            .wait(&mut events, Some(Duration::ZERO))
            .expect("wait");
        assert!(events.is_empty(), "drained: {:?}", tokens(&events));
        // Deleted from the set: no longer reported.
        tx.send_to(b"c", to).expect("send");
        poller.delete(&rx);
        poller
            .wait(&mut events, Some(Duration::ZERO))
            .expect("wait");
        assert!(events.is_empty());
    }

    #[test]
    fn the_tick_is_reported_each_period_and_reset_by_reading_it() {
        let poller = Poller::new().expect("epoll");
        let mut events = Vec::with_capacity(8);
        poller
            .wait(&mut events, Some(Duration::ZERO))
            .expect("wait");
        assert!(events.is_empty(), "disarmed until started");
        poller
            .start_ticks(Duration::from_millis(300))
            .expect("timerfd");
        for _ in 0..2 {
            poller.wait(&mut events, None).expect("wait");
            assert_eq!(tokens(&events), vec![TICK]);
            poller.ticked();
            // Read: not reported again until the next period ends.
            poller
                .wait(&mut events, Some(Duration::ZERO))
                .expect("wait");
            assert!(events.is_empty(), "{:?}", tokens(&events));
        }
    }

    #[test]
    fn a_command_wakes_the_worker_and_the_last_sender_leaving_is_seen() {
        let poller = Arc::new(Poller::new().expect("epoll"));
        let (tx, rx) = mpsc::channel();
        let sender = WorkerTx::new(tx, poller.clone());
        let mut events = Vec::with_capacity(8);
        sender
            .send(Command::Expect { id: LegId(7) })
            .expect("queued");
        poller
            .wait(&mut events, Some(Duration::from_secs(1)))
            .expect("wait");
        assert_eq!(tokens(&events), vec![WAKE]);
        poller.drained();
        assert!(matches!(
            rx.try_recv(),
            Ok(Command::Expect { id: LegId(7) })
        ));
        poller
            .wait(&mut events, Some(Duration::ZERO))
            .expect("wait");
        assert!(events.is_empty(), "the eventfd was reset");
        // A clone going away wakes the worker but the queue stays open.
        let clone = sender.clone();
        drop(clone);
        poller.drained();
        assert!(matches!(rx.try_recv(), Err(mpsc::TryRecvError::Empty)));
        // The last one: the worker wakes and finds the queue closed.
        drop(sender);
        poller
            .wait(&mut events, Some(Duration::from_secs(1)))
            .expect("wait");
        assert_eq!(tokens(&events), vec![WAKE]);
        assert!(matches!(
            rx.try_recv(),
            Err(mpsc::TryRecvError::Disconnected)
        ));
    }
}
