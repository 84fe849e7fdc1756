//! The floor for the switch's per-packet cost: a bare UDP forwarder with no
//! logic. `udp_forwarder LISTEN [TO]` receives datagrams on LISTEN and sends
//! each to TO, or back to its sender when TO is absent (echo). One socket,
//! blocking: one receive and one send system call per packet, made directly
//! (no libc wrapper), as the switch makes them per relayed packet.

use std::net::{SocketAddr, UdpSocket};

use rustix::net::{recvfrom, sendto, RecvFlags, SendFlags};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let listen: SocketAddr = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: udp_forwarder LISTEN [TO]"))?
        .parse()?;
    let to: Option<SocketAddr> = args.next().map(|a| a.parse()).transpose()?;
    let socket = UdpSocket::bind(listen)?;
    println!("{}", socket.local_addr()?);
    let mut buf = [0u8; 2048];
    loop {
        let (n, _, from) = match recvfrom(&socket, &mut buf, RecvFlags::empty()) {
            Ok(got) => got,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        };
        let Some(dest) = to.or_else(|| from.and_then(|f| SocketAddr::try_from(f).ok())) else {
            continue;
        };
        // A failed send loses one packet, as in the switch.
        let _ = sendto(&socket, &buf[..n], SendFlags::empty(), &dest);
    }
}
