//! Playout quality with many listeners: `playout_check LISTENERS SECONDS
//! [MUSIC.wav]` opens LISTENERS legs on the switch's media engine (its real
//! workers, one per core, on their own runtime), plays looping hold music
//! (or ringback without a file) into each toward one receiving socket, and
//! measures from a separate thread what a phone would see: the gap between
//! consecutive packets of each stream (p50/p99/max), and sequence/timestamp
//! continuity. Prints one `key=value` line.
//!
//! The gaps come from the kernel's receive timestamps (`SO_TIMESTAMPNS`), as
//! a capture would have them: on loopback a datagram is queued on the
//! receiving socket inside the switch's `sendto`, so the stamp is when the
//! switch sent it. The gaps between the receiver's own reads are printed
//! too (`read_gap_*`): they add the harness thread's scheduling (it drains
//! 50,000 packets/s on the same two cores as the workers).

// A harness is a driver: it measures on the real clock.
#![allow(clippy::disallowed_methods)]

use std::collections::HashMap;
use std::io::IoSliceMut;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use media::player::{Clip, PlaySource, Playlist, Ringback};
use media::rtp::RtpHeader;
use nix::sys::socket::{recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags, SockaddrIn};
use sdp::{AudioCodec, Direction, NegotiatedAudio};
use switchboard::rtp::{RtpConfig, RtpEngine};

struct Stream {
    last_at: Instant,
    last_stamp: Duration,
    last_seq: u16,
    last_ts: u32,
}

#[derive(Default)]
struct Measure {
    /// Between kernel receive timestamps.
    gaps_us: Vec<u32>,
    /// Between the receiver's reads.
    read_gaps_us: Vec<u32>,
    packets: u64,
    seq_breaks: u64,
    ts_jumps: u64,
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let listeners: usize = args.first().map_or(Ok(1000), |a| a.parse())?;
    let seconds: u64 = args.get(1).map_or(Ok(20), |a| a.parse())?;
    let source = match args.get(2) {
        Some(path) => PlaySource::Playlist(Playlist::looped(Clip::load_wav(Path::new(path))?)),
        None => PlaySource::Ringback(Ringback::new()),
    };

    let receiver = receiver_socket()?;
    receiver.set_read_timeout(Some(Duration::from_millis(100)))?;
    let remote = receiver.local_addr()?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let config = RtpConfig {
        bind_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        first_port: 40_000,
        last_port: 49_999,
        workers: 0,
        media_timeout: Duration::from_secs(3600),
    };
    let mut engine = runtime.block_on(async { RtpEngine::start(&config, Arc::new(|_| {})) });
    let audio = NegotiatedAudio {
        codec: AudioCodec::Pcmu,
        pt: 0,
        telephone_event_pt: Some(101),
        remote: Some(remote),
        direction: Direction::SendRecv,
        ptime: 20,
    };
    let rss_idle = rss_kib();
    let mut legs = Vec::with_capacity(listeners);
    for _ in 0..listeners {
        let (leg, _) = engine.open_leg()?;
        engine.configure(leg, &audio);
        engine.play(leg, source.clone());
        legs.push(leg);
    }

    // Let every stream start, then measure the steady window.
    let warmup = Instant::now() + Duration::from_secs(2);
    let end = warmup + Duration::from_secs(seconds);
    let measure = std::thread::spawn(move || receive(&receiver, warmup, end));
    let m = measure
        .join()
        .map_err(|_| anyhow::anyhow!("receiver panicked"))?;
    let (p50, p99, max) = percentiles(m.gaps_us);
    let (_, read_p99, read_max) = percentiles(m.read_gaps_us);
    let rss_busy = rss_kib();
    for leg in legs {
        engine.close_leg(leg);
    }
    // The engine's memory once every leg is gone (the workers keep running).
    let _ = runtime.block_on(engine.stats(switchboard::media::LegId(0)));
    std::thread::sleep(Duration::from_secs(2));
    let rss_after = rss_kib();
    drop(engine);
    runtime.shutdown_timeout(Duration::from_secs(1));

    let expected = listeners as u64 * seconds * 50;
    println!(
        "listeners={listeners} seconds={seconds} packets={} expected={expected} gap_p50_ms={:.2} gap_p99_ms={:.2} gap_max_ms={:.2} read_gap_p99_ms={:.2} read_gap_max_ms={:.2} seq_breaks={} ts_jumps={} engine_rss_kib_idle={rss_idle} busy={rss_busy} after_close={rss_after}",
        m.packets,
        p50,
        p99,
        max,
        read_p99,
        read_max,
        m.seq_breaks,
        m.ts_jumps
    );
    Ok(())
}

/// p50, p99 and max of `gaps` (microseconds), in milliseconds. Consumes
/// the samples: the measurement's own memory goes before the engine's is read.
fn percentiles(mut gaps: Vec<u32>) -> (f64, f64, f64) {
    gaps.sort_unstable();
    let pct = |p: f64| -> f64 {
        let i = ((gaps.len() as f64 - 1.0) * p).round() as usize;
        f64::from(gaps.get(i).copied().unwrap_or(0)) / 1000.0
    };
    (pct(0.5), pct(0.99), pct(1.0))
}

/// One socket takes every stream: with a large buffer, so bursts of a
/// thousand packets per tick are not lost in the receiver, and with kernel
/// receive timestamps.
fn receiver_socket() -> anyhow::Result<UdpSocket> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None)?;
    socket.set_recv_buffer_size(4 << 20)?;
    socket.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into())?;
    setsockopt(&socket, sockopt::ReceiveTimestampns, &true)?;
    Ok(socket.into())
}

/// One datagram into `buf`: its length, sender and kernel receive timestamp
/// (wall clock, as a capture has it).
fn recv_stamped(socket: &UdpSocket, buf: &mut [u8]) -> Option<(usize, SocketAddr, Duration)> {
    let mut space = nix::cmsg_space!(nix::sys::time::TimeSpec);
    let mut iov = [IoSliceMut::new(buf)];
    let msg = recvmsg::<SockaddrIn>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::empty(),
    )
    .ok()?;
    let from = SocketAddr::V4(msg.address?.into());
    let stamp = msg.cmsgs().ok()?.find_map(|c| match c {
        ControlMessageOwned::ScmTimestampns(ts) => Some(Duration::from(ts)),
        _ => None,
    })?;
    Some((msg.bytes, from, stamp))
}

/// This process's resident memory.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn receive(socket: &UdpSocket, from: Instant, until: Instant) -> Measure {
    let mut streams: HashMap<(SocketAddr, u32), Stream> = HashMap::new();
    let mut m = Measure::default();
    let mut buf = [0u8; 2048];
    loop {
        let now = Instant::now();
        if now >= until {
            break;
        }
        let Some((n, addr, stamp)) = recv_stamped(socket, &mut buf) else {
            continue;
        };
        let at = Instant::now();
        let Ok(h) = RtpHeader::parse(&buf[..n]) else {
            continue;
        };
        let key = (addr, h.ssrc);
        let measuring = at >= from;
        if let Some(s) = streams.get_mut(&key) {
            if measuring {
                m.packets += 1;
                m.gaps_us.push(micros(stamp.saturating_sub(s.last_stamp)));
                m.read_gaps_us.push(micros(at.duration_since(s.last_at)));
                if h.sequence != s.last_seq.wrapping_add(1) {
                    m.seq_breaks += 1;
                }
                if h.timestamp != s.last_ts.wrapping_add(160) {
                    m.ts_jumps += 1;
                }
            }
            s.last_at = at;
            s.last_stamp = stamp;
            s.last_seq = h.sequence;
            s.last_ts = h.timestamp;
        } else {
            streams.insert(
                key,
                Stream {
                    last_at: at,
                    last_stamp: stamp,
                    last_seq: h.sequence,
                    last_ts: h.timestamp,
                },
            );
        }
    }
    m
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}
