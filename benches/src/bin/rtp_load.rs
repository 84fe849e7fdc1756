//! RTP load for the bare forwarder runs of the load harness: `rtp_load
//! TARGET STREAMS SECONDS [PORTS]` sends STREAMS streams of 20 ms G.711
//! packets (172-byte datagrams, 50 per second each) to TARGET from one
//! socket and counts what comes back. With PORTS, stream s goes to TARGET's
//! port + s % PORTS (one port per leg, for `port_forwarder`). Prints
//! `sent=N received=M`.
//!
//! The streams are spread over the 20 ms in 1 ms slots, as calls that
//! started at different times are (SIPp's streams arrive this way at the
//! switch): one burst of every stream per 20 ms would let the forwarder read
//! a whole batch per wakeup and look cheaper than any real media path.

// A load generator is a driver: it paces on the real clock.
#![allow(clippy::disallowed_methods)]

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use media::rtp::{write_packet, OutHeader};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (target, streams, seconds, ports) = match args.as_slice() {
        [t, s, secs] => (t, s, secs, "1"),
        [t, s, secs, p] => (t, s, secs, p.as_str()),
        _ => anyhow::bail!("usage: rtp_load TARGET STREAMS SECONDS [PORTS]"),
    };
    let target: SocketAddr = target.parse()?;
    let ports: u32 = ports.parse::<u32>()?.max(1);
    let streams: u32 = streams.parse()?;
    let seconds: u64 = seconds.parse()?;
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    let rx_socket = socket.try_clone()?;
    rx_socket.set_read_timeout(Some(Duration::from_millis(200)))?;
    let received = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let counter = received.clone();
    let stop = done.clone();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while !stop.load(Ordering::Relaxed) {
            if rx_socket.recv_from(&mut buf).is_ok() {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    let start = Instant::now();
    let mut sent = 0u64;
    let mut buf = [0u8; 256];
    let payload = [0xD5u8; 160];
    const SLOTS: u32 = 20;
    for tick in 0..seconds * 50 {
        for slot in 0..SLOTS {
            let due = start + Duration::from_millis(20 * tick + u64::from(slot));
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            for s in (slot..streams).step_by(SLOTS as usize) {
                let h = OutHeader {
                    marker: tick == 0,
                    payload_type: 8,
                    sequence: tick as u16,
                    timestamp: (tick as u32).wrapping_mul(160),
                    ssrc: s,
                };
                let n = write_packet(&mut buf, &h, &payload)?;
                let port = target.port().wrapping_add((s % ports) as u16);
                let to = SocketAddr::new(target.ip(), port);
                if socket.send_to(&buf[..n], to).is_ok() {
                    sent += 1;
                }
            }
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    done.store(true, Ordering::Relaxed);
    let _ = reader.join();
    println!("sent={sent} received={}", received.load(Ordering::Relaxed));
    Ok(())
}
