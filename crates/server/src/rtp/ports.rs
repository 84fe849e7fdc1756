//! The RTP port pool: even ports of the configured range, each bound
//! together with the odd port above it (RTCP).
//!
//! Released ports go to the back of the queue, so a port is reused as late
//! as possible: stray packets of an ended call then rarely reach a new one.
//! A port another program holds is skipped and retried later.

use std::collections::{HashSet, VecDeque};
use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};

/// A bound RTP/RTCP socket pair, non-blocking, ready for tokio.
#[derive(Debug)]
pub struct PortPair {
    pub port: u16,
    pub rtp: UdpSocket,
    pub rtcp: UdpSocket,
}

#[derive(Debug)]
pub struct PortPool {
    ip: IpAddr,
    free: VecDeque<u16>,
    in_use: HashSet<u16>,
}

impl PortPool {
    /// Pairs (p, p+1) for every even p with `first <= p` and `p + 1 <= last`.
    pub fn new(ip: IpAddr, first: u16, last: u16) -> PortPool {
        let start = first.saturating_add(first % 2);
        let free = (start..last).step_by(2).filter(|p| *p > 0).collect();
        PortPool {
            ip,
            free,
            in_use: HashSet::new(),
        }
    }

    /// Ports free to allocate.
    #[allow(dead_code, reason = "for metrics; tests use it now")]
    pub fn available(&self) -> usize {
        self.free.len()
    }

    /// Bind the next free pair. Each free port is tried at most once; ports
    /// that fail to bind go to the back of the queue.
    pub fn allocate(&mut self) -> io::Result<PortPair> {
        let mut last_error = None;
        for _ in 0..self.free.len() {
            let Some(port) = self.free.pop_front() else {
                break;
            };
            match self.bind_pair(port) {
                Ok(pair) => {
                    self.in_use.insert(port);
                    return Ok(pair);
                }
                Err(e) => {
                    self.free.push_back(port);
                    last_error = Some(e);
                }
            }
        }
        Err(last_error.unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::AddrInUse, "RTP port range exhausted")
        }))
    }

    /// Return a port to the pool. Unknown or already released ports are ignored.
    pub fn release(&mut self, port: u16) {
        if self.in_use.remove(&port) {
            self.free.push_back(port);
        }
    }

    fn bind_pair(&self, port: u16) -> io::Result<PortPair> {
        let rtp = UdpSocket::bind(SocketAddr::new(self.ip, port))?;
        let rtcp = UdpSocket::bind(SocketAddr::new(self.ip, port + 1))?;
        rtp.set_nonblocking(true)?;
        rtcp.set_nonblocking(true)?;
        Ok(PortPair { port, rtp, rtcp })
    }
}
