//! Port selection for peers on 127.0.0.1.
//!
//! Single ports come from the kernel (bind :0, read the port, release it), so
//! they fall in the ephemeral range. RTP ranges must be contiguous, so they
//! come from a band below the ephemeral range (20000..32000) where nothing else
//! on a test machine asks the kernel for ports; each test process starts at an
//! offset derived from its pid so concurrent test binaries rarely probe the
//! same blocks, and every port of a block is checked bindable before use.

use std::net::{TcpListener, UdpSocket};
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{bail, Result};

const BAND_START: u32 = 20_000;
const BAND_END: u32 = 32_000;

/// A port free for both UDP and TCP on 127.0.0.1 (SIP listens on both).
pub fn free_port() -> Result<u16> {
    for _ in 0..50 {
        let udp = UdpSocket::bind("127.0.0.1:0")?;
        let port = udp.local_addr()?.port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    bail!("no port free for both UDP and TCP after 50 tries")
}

/// A port free for UDP and TCP whose next port is free for TCP too: baresip
/// listens for TLS on its SIP port plus one, and exits if that is taken.
pub fn free_port_and_next() -> Result<u16> {
    for _ in 0..50 {
        let port = free_port()?;
        let Some(next) = port.checked_add(1) else {
            continue;
        };
        if TcpListener::bind(("127.0.0.1", next)).is_ok() {
            return Ok(port);
        }
    }
    bail!("no port free with its next one after 50 tries")
}

/// A free UDP port on 127.0.0.1 (RTP sinks, ctrl ports are TCP: see `free_tcp_port`).
pub fn free_udp_port() -> Result<u16> {
    Ok(UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A free TCP port on 127.0.0.1.
pub fn free_tcp_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

static NEXT_BLOCK: AtomicU32 = AtomicU32::new(0);

/// `len` contiguous UDP ports, all bindable right now, starting at an even
/// port (RTP on even, RTCP on odd).
pub fn free_udp_range(len: u16) -> Result<RangeInclusive<u16>> {
    let len = u32::from(len.max(2));
    let block = len.div_ceil(2) * 2;
    let blocks = (BAND_END - BAND_START) / block;
    // The first call seeds the sequence from the pid so that two test
    // processes running at once start far apart.
    let _ = NEXT_BLOCK.compare_exchange(
        0,
        std::process::id() % blocks + 1,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    for _ in 0..blocks {
        let n = NEXT_BLOCK.fetch_add(1, Ordering::SeqCst) % blocks;
        let start = BAND_START + n * block;
        let end = start + len - 1;
        let all_free = (start..=end).all(|p| UdpSocket::bind(("127.0.0.1", p as u16)).is_ok());
        if all_free {
            return Ok(start as u16..=end as u16);
        }
    }
    bail!("no free block of {len} UDP ports in {BAND_START}..{BAND_END}")
}
