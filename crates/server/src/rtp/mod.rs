//! The media engine: an RTP port pool and a few media workers (about one per
//! core), each a tokio task owning the sockets of its share of the legs.
//!
//! The signalling core drives it through [`RtpEngine`] (which implements
//! `crate::media::MediaControl`): open a leg (binds an even RTP port and the
//! RTCP port above it, synchronously), configure it from SDP, bridge two
//! legs, play ringback or prompts, close. Workers report DTMF digits and
//! media silence through an [`EventSink`]. The per-packet work is done by the
//! sans-IO cores of the `media` crate; this module only moves bytes.
//!
//! Two legs must live on the same worker to be bridged: on `bridge`, a leg
//! on another worker is handed over (its tokio socket moves with it), and
//! commands for it that arrive first wait at the destination worker.

mod control;
mod leg;
mod ports;
mod worker;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::time::Duration;

use media::player::{PlaySource, Ringback};
use sdp::NegotiatedAudio;
use tokio::sync::{mpsc, oneshot};

pub use leg::LegStats;
pub use ports::PortPool;
pub use worker::EventSink;

use crate::media::LegId;
use worker::{Command, Worker};

/// Media engine settings (from `[server]` in the config).
#[derive(Debug, Clone)]
pub struct RtpConfig {
    /// Local address the RTP sockets bind to.
    pub bind_ip: IpAddr,
    /// Port range, inclusive; legs take even ports and the odd one above.
    pub first_port: u16,
    pub last_port: u16,
    /// Worker tasks; 0 means one per available core.
    pub workers: usize,
    /// A leg that receives no RTP for this long is reported (`MediaEvent::Timeout`).
    pub media_timeout: Duration,
}

/// Handle to the media workers. Cheap, synchronous calls: each binds a
/// socket or posts a command, never waits for a worker.
pub struct RtpEngine {
    pool: PortPool,
    workers: Vec<mpsc::UnboundedSender<Command>>,
    /// Which worker holds each leg, and the leg's port.
    legs: HashMap<LegId, (usize, u16)>,
    next_id: u64,
    next_worker: usize,
}

impl RtpEngine {
    /// Start the workers on the current tokio runtime.
    ///
    /// # Panics
    /// Outside a tokio runtime (as `tokio::spawn` does).
    pub fn start(config: &RtpConfig, events: EventSink) -> RtpEngine {
        let count = if config.workers == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            config.workers
        };
        let workers = (0..count)
            .map(|i| {
                let (tx, rx) = mpsc::unbounded_channel();
                let worker = Worker::new(i, events.clone(), config.media_timeout);
                tokio::spawn(worker.run(rx));
                tx
            })
            .collect();
        RtpEngine {
            pool: PortPool::new(config.bind_ip, config.first_port, config.last_port),
            workers,
            legs: HashMap::new(),
            next_id: 1,
            next_worker: 0,
        }
    }

    /// Bind a new leg on a free even port; returns its id and RTP port.
    ///
    /// # Errors
    /// When no port of the range can be bound.
    pub fn open_leg(&mut self) -> io::Result<(LegId, u16)> {
        let pair = self.pool.allocate()?;
        let id = LegId(self.next_id);
        self.next_id += 1;
        let worker = self.next_worker % self.workers.len().max(1);
        self.next_worker = self.next_worker.wrapping_add(1);
        let port = pair.port;
        self.legs.insert(id, (worker, port));
        self.send(
            worker,
            Command::Create {
                id,
                port,
                rtp: pair.rtp,
                rtcp: pair.rtcp,
            },
        );
        Ok((id, port))
    }

    /// What the far end of `leg` negotiated; its SDP address is the first
    /// guess for where to send until symmetric RTP learns the real one.
    pub fn configure(&mut self, leg: LegId, audio: &NegotiatedAudio) {
        self.to_leg(
            leg,
            Command::Configure {
                id: leg,
                audio: audio.clone(),
            },
        );
    }

    /// Relay media between `a` and `b` both ways (stops playouts on both).
    pub fn bridge(&mut self, a: LegId, b: LegId) {
        let (Some(&(wa, _)), Some(&(wb, port_b))) = (self.legs.get(&a), self.legs.get(&b)) else {
            return;
        };
        if wa != wb {
            // Move b to a's worker. Expect goes first so a's worker holds
            // every later command for b until b arrives.
            self.send(wa, Command::Expect { id: b });
            if let Some(to) = self.workers.get(wa).cloned() {
                self.send(wb, Command::Detach { id: b, to });
            }
            self.legs.insert(b, (wa, port_b));
        }
        self.send(wa, Command::Bridge { a, b });
    }

    /// Stop relaying between `leg` and whatever it is bridged to.
    #[allow(dead_code, reason = "engine API ahead of the core that will call it")]
    pub fn unbridge(&mut self, leg: LegId) {
        self.to_leg(leg, Command::Unbridge { id: leg });
    }

    /// Play `source` into `leg` (replaces any playout; while it plays, the
    /// bridged peer's audio into this leg is muted).
    #[allow(dead_code, reason = "engine API ahead of the core that will call it")]
    pub fn play(&mut self, leg: LegId, source: PlaySource) {
        self.to_leg(leg, Command::Play { id: leg, source });
    }

    /// Ringback into `leg` until it is bridged, stopped or closed.
    pub fn ringback(&mut self, leg: LegId) {
        self.play(leg, PlaySource::Ringback(Ringback::new()));
    }

    /// Stop the playout of `leg`.
    #[allow(dead_code, reason = "engine API ahead of the core that will call it")]
    pub fn stop(&mut self, leg: LegId) {
        self.to_leg(leg, Command::Stop { id: leg });
    }

    /// Close `leg`: its worker drops the sockets, the port returns to the pool.
    pub fn close_leg(&mut self, leg: LegId) {
        if let Some((worker, port)) = self.legs.remove(&leg) {
            self.send(worker, Command::Release { id: leg });
            self.pool.release(port);
        }
    }

    /// A snapshot of `leg` from its worker.
    #[allow(dead_code, reason = "engine API ahead of the core that will call it")]
    pub async fn stats(&self, leg: LegId) -> Option<LegStats> {
        let &(worker, _) = self.legs.get(&leg)?;
        let (reply, rx) = oneshot::channel();
        self.workers
            .get(worker)?
            .send(Command::Stats { id: leg, reply })
            .ok()?;
        rx.await.ok().flatten()
    }

    /// Legs currently open.
    #[allow(dead_code, reason = "engine API ahead of the core that will call it")]
    pub fn open_legs(&self) -> usize {
        self.legs.len()
    }

    fn to_leg(&self, leg: LegId, command: Command) {
        if let Some(&(worker, _)) = self.legs.get(&leg) {
            self.send(worker, command);
        }
    }

    fn send(&self, worker: usize, command: Command) {
        if let Some(tx) = self.workers.get(worker) {
            if tx.send(command).is_err() {
                tracing::error!(worker, "media worker is gone");
            }
        }
    }
}
