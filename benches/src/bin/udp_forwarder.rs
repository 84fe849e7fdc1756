//! The floor for the switch's per-packet cost: a bare UDP forwarder with no
//! logic. `udp_forwarder LISTEN [TO]` receives datagrams on LISTEN and sends
//! each to TO, or back to its sender when TO is absent (echo). One socket,
//! blocking recv/send: one recv and one send syscall per packet, as the
//! switch does per relayed packet.

use std::net::{SocketAddr, UdpSocket};

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
        let (n, from) = socket.recv_from(&mut buf)?;
        // A failed send loses one packet, as in the switch.
        let _ = socket.send_to(&buf[..n], to.unwrap_or(from));
    }
}
