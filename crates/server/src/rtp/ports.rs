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
        for socket in [&rtp, &rtcp] {
            // Marking is a refinement, not a condition for carrying audio:
            // a system that refuses an option still gets its calls.
            if let Err(e) = mark_media_socket(socket, self.ip) {
                tracing::debug!(port, "media socket left unmarked: {e}");
            }
        }
        Ok(PortPair { port, rtp, rtcp })
    }
}

/// DSCP EF (46), the class routers and home gateways give voice: the TOS
/// byte (IPv4) or traffic class (IPv6) is the DSCP shifted past the 2 ECN bits.
pub const DSCP_EF_TOS: u8 = 46 << 2;

/// Socket options every media socket gets.
/// - Expedited forwarding, so a congested uplink queues voice last.
/// - Don't-fragment (path MTU discovery "do"): RTP datagrams are far below
///   any path MTU, and a datagram with DF set takes IP ID 0 (RFC 6864)
///   instead of the kernel's shared hashed ID generator, which costs a hash
///   and an atomic on a cache line all cores share, once per packet sent.
///   The kernel keeps a floor under path MTU (552 bytes), so a forged
///   "fragmentation needed" cannot make 172-byte packets fail.
fn mark_media_socket(socket: &UdpSocket, ip: IpAddr) -> io::Result<()> {
    use rustix::net::sockopt;
    match ip {
        IpAddr::V4(_) => {
            sockopt::set_ip_tos(socket, DSCP_EF_TOS)?;
            sockopt::set_ip_mtu_discover(socket, sockopt::Ipv4PathMtuDiscovery::DO)?;
        }
        IpAddr::V6(_) => {
            sockopt::set_ipv6_tclass(socket, u32::from(DSCP_EF_TOS))?;
            sockopt::set_ipv6_mtu_discover(socket, sockopt::Ipv6PathMtuDiscovery::DO)?;
        }
    }
    Ok(())
}
