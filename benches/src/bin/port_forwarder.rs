//! The floor for a media path that gives every leg its own port, as RTP
//! needs (the SDP names one port per stream): `port_forwarder ADDRESS
//! COUNT` binds COUNT consecutive UDP ports from ADDRESS and sends every
//! datagram back to its sender from the port it arrived on. No logic: one
//! level-triggered epoll set over the sockets (as the switch's media
//! workers use), one receive and one send per packet (direct system calls,
//! as the switch makes them), one thread.
//!
//! Against `udp_forwarder` (one socket, blocking) it shows what the kernel
//! charges for many sockets: every socket in an epoll set has a wait-queue
//! entry that each of its sent datagrams wakes when the receiver frees it,
//! and each socket's state is one more set of cache lines.

use std::net::{SocketAddr, UdpSocket};

use rustix::event::epoll::{self, Event, EventData, EventFlags};
use rustix::net::{recvfrom, sendto, RecvFlags, SendFlags};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = || anyhow::anyhow!("usage: port_forwarder ADDRESS COUNT");
    let first: SocketAddr = args.next().ok_or_else(usage)?.parse()?;
    let count: u16 = args.next().ok_or_else(usage)?.parse()?;
    let sockets = (0..count)
        .map(|i| {
            let socket = UdpSocket::bind(SocketAddr::new(first.ip(), first.port() + i))?;
            socket.set_nonblocking(true)?;
            Ok(socket)
        })
        .collect::<std::io::Result<Vec<UdpSocket>>>()?;
    let set = epoll::create(epoll::CreateFlags::CLOEXEC)?;
    for (i, socket) in sockets.iter().enumerate() {
        epoll::add(&set, socket, EventData::new_u64(i as u64), EventFlags::IN)?;
    }
    println!("{count} ports from {first}");
    let mut events: Vec<Event> = Vec::with_capacity(256);
    let mut buf = [0u8; 2048];
    loop {
        events.clear();
        match epoll::wait(&set, rustix::buffer::spare_capacity(&mut events), None) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
        for event in &events {
            let Some(socket) = sockets.get(event.data.u64() as usize) else {
                continue;
            };
            // Direct system calls (no libc wrapper), as the switch makes them.
            if let Ok((len, _, Some(from))) = recvfrom(socket, &mut buf, RecvFlags::empty()) {
                // A failed send loses one packet, as in the switch.
                let _ = sendto(socket, &buf[..len], SendFlags::empty(), &from);
            }
        }
    }
}
