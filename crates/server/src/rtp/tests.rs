//! The engine with real UDP sockets on 127.0.0.1: phones are plain sockets
//! sending and receiving RTP. Waits are bounded by timeouts, never fixed
//! sleeps; a `stats` round trip serves as a barrier after commands.

// These drive real sockets in real time, like the worker itself: reading the
// clock is what they measure (pacing, media timeout).
#![allow(clippy::disallowed_methods)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use media::dtmf::DtmfSender;
use media::g711;
use media::player::{Clip, PlaySource, Playlist};
use media::rtp::{write_packet, OutHeader, RtpHeader};
use sdp::{AudioCodec, Direction, NegotiatedAudio};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::{LegStats, PortPool, RtpConfig, RtpEngine};
use crate::media::{LegId, MediaEvent};

pub(super) const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
pub(super) const WAIT: Duration = Duration::from_secs(3);

/// A port range per test, away from the usual ephemeral range, so tests
/// running in parallel rarely meet (the pool skips busy ports anyway).
pub(super) fn port_range(slot: u16) -> (u16, u16) {
    let first = 20_000 + slot * 200;
    (first, first + 199)
}

pub(super) fn engine(
    slot: u16,
    workers: usize,
    media_timeout: Duration,
) -> (RtpEngine, mpsc::UnboundedReceiver<MediaEvent>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let (first_port, last_port) = port_range(slot);
    let config = RtpConfig {
        bind_ip: LOCALHOST,
        first_port,
        last_port,
        workers,
        media_timeout,
    };
    let engine = RtpEngine::start(
        &config,
        Arc::new(move |e| {
            let _ = tx.send(e);
        }),
    );
    (engine, rx)
}

pub(super) fn audio(codec: AudioCodec, remote: SocketAddr) -> NegotiatedAudio {
    let pt = match codec {
        AudioCodec::Pcmu => 0,
        AudioCodec::Pcma => 8,
    };
    NegotiatedAudio {
        codec,
        pt,
        telephone_event_pt: Some(101),
        remote: Some(remote),
        direction: Direction::SendRecv,
        ptime: 20,
    }
}

pub(super) async fn phone() -> (UdpSocket, SocketAddr) {
    let s = UdpSocket::bind((LOCALHOST, 0)).await.expect("bind phone");
    let a = s.local_addr().expect("addr");
    (s, a)
}

pub(super) fn rtp(pt: u8, seq: u16, ts: u32, ssrc: u32, marker: bool, payload: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; 12 + payload.len()];
    let h = OutHeader {
        marker,
        payload_type: pt,
        sequence: seq,
        timestamp: ts,
        ssrc,
    };
    write_packet(&mut buf, &h, payload).expect("fits");
    buf
}

pub(super) async fn recv(sock: &UdpSocket) -> (RtpHeader, Vec<u8>) {
    let mut buf = [0u8; 2048];
    let (n, _) = tokio::time::timeout(WAIT, sock.recv_from(&mut buf))
        .await
        .expect("packet within the wait")
        .expect("recv");
    let h = RtpHeader::parse(&buf[..n]).expect("engine sends valid RTP");
    let payload = h.payload(&buf[..n]).to_vec();
    (h, payload)
}

pub(super) async fn next_event(rx: &mut mpsc::UnboundedReceiver<MediaEvent>) -> MediaEvent {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("event within the wait")
        .expect("channel open")
}

/// Stats of `leg` once `done` holds (packets and commands reach a worker
/// independently, so a single snapshot can be early).
pub(super) async fn stats_until(
    engine: &RtpEngine,
    leg: LegId,
    done: impl Fn(&LegStats) -> bool,
) -> LegStats {
    let deadline = Instant::now() + WAIT;
    loop {
        let s = engine.stats(leg).await.expect("leg exists");
        if done(&s) || Instant::now() > deadline {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

pub(super) fn to_port(port: u16) -> SocketAddr {
    SocketAddr::new(LOCALHOST, port)
}

#[test]
fn pool_allocates_even_pairs_skips_busy_ports_and_reuses_late() {
    let (first, _) = port_range(0);
    // Odd first port is rounded up; the range holds 3 pairs.
    let mut pool = PortPool::new(LOCALHOST, first - 1, first + 5);
    assert_eq!(pool.available(), 3);
    let busy = std::net::UdpSocket::bind((LOCALHOST, first)).expect("hold first port");
    let a = pool.allocate().expect("pair");
    assert_eq!(a.port, first + 2, "busy port skipped");
    assert_eq!(a.rtp.local_addr().expect("addr").port(), first + 2);
    assert_eq!(a.rtcp.local_addr().expect("addr").port(), first + 3);
    let b = pool.allocate().expect("pair");
    assert_eq!(b.port, first + 4);
    assert!(pool.allocate().is_err(), "only the busy pair is left");
    drop(busy);
    let c = pool.allocate().expect("the formerly busy pair");
    assert_eq!(c.port, first);
    assert!(pool.allocate().is_err(), "exhausted");
    let port_a = a.port;
    drop(a);
    pool.release(port_a);
    pool.release(port_a); // double release is ignored
    assert_eq!(pool.available(), 1);
    assert_eq!(pool.allocate().expect("reused").port, port_a);
}

#[test]
fn media_sockets_are_marked_expedited_and_dont_fragment() {
    use rustix::net::sockopt;
    let (first, _) = port_range(0);
    let mut pool = PortPool::new(LOCALHOST, first, first + 1);
    let pair = pool.allocate().expect("pair");
    for socket in [&pair.rtp, &pair.rtcp] {
        assert_eq!(
            sockopt::ip_tos(socket).expect("tos"),
            super::ports::DSCP_EF_TOS
        );
        assert_eq!(
            sockopt::ip_mtu_discover(socket).expect("pmtu"),
            sockopt::Ipv4PathMtuDiscovery::DO
        );
    }
}

#[tokio::test]
async fn bridge_relays_both_ways_with_transcoding_across_workers() {
    let (mut engine, _events) = engine(1, 2, Duration::from_secs(60));
    let (phone_a, addr_a) = phone().await;
    let (phone_b, addr_b) = phone().await;
    // Round robin puts the legs on different workers: bridging moves one.
    let (leg_a, port_a) = engine.open_leg().expect("leg a");
    let (leg_b, port_b) = engine.open_leg().expect("leg b");
    assert_ne!(port_a, port_b);
    assert_eq!(port_a % 2, 0);
    engine.configure(leg_a, &audio(AudioCodec::Pcmu, addr_a));
    engine.configure(leg_b, &audio(AudioCodec::Pcma, addr_b));
    engine.bridge(leg_a, leg_b);
    // Leg b's commands wait at a's worker until b arrives there, so asking
    // about b first is the barrier for the whole bridge.
    let sb = engine.stats(leg_b).await.expect("leg b moved and exists");
    let sa = engine.stats(leg_a).await.expect("leg a exists");
    assert_eq!(sa.bridged_with, Some(leg_b));
    assert_eq!(sb.bridged_with, Some(leg_a));

    let payload: Vec<u8> = (0..160u32).map(|i| (i * 7 % 256) as u8).collect();
    let mut seen = Vec::new();
    for k in 0..5u16 {
        let p = rtp(
            0,
            1000 + k,
            50_000 + u32::from(k) * 160,
            0xAAAA,
            k == 0,
            &payload,
        );
        phone_a.send_to(&p, to_port(port_a)).await.expect("send");
        let (h, body) = recv(&phone_b).await;
        assert_eq!(h.payload_type, 8, "PCMA on leg b");
        let expected: Vec<u8> = payload
            .iter()
            .map(|b| g711::ULAW_TO_ALAW[usize::from(*b)])
            .collect();
        assert_eq!(body, expected, "transcoded by table");
        assert_ne!(h.ssrc, 0xAAAA, "leg b has its own SSRC");
        seen.push(h);
    }
    for w in seen.windows(2) {
        assert_eq!(w[1].sequence, w[0].sequence.wrapping_add(1));
        assert_eq!(w[1].timestamp, w[0].timestamp.wrapping_add(160));
        assert_eq!(w[1].ssrc, w[0].ssrc);
    }
    assert!(seen[0].marker);

    // And back: PCMA from b arrives as PCMU at a.
    let p = rtp(8, 7, 123, 0xBBBB, false, &[0xD5; 160]);
    phone_b.send_to(&p, to_port(port_b)).await.expect("send");
    let (h, body) = recv(&phone_a).await;
    assert_eq!(h.payload_type, 0);
    assert_eq!(body, vec![g711::ALAW_TO_ULAW[0xD5]; 160]);

    let sb = engine.stats(leg_b).await.expect("leg b");
    assert_eq!(sb.locked, Some(addr_b));
    assert_eq!(sb.relay_in.map(|c| c.forwarded), Some(5));
    assert_eq!(sb.sent, 5);
}

#[tokio::test]
async fn ringback_is_paced_then_bridge_continues_the_same_stream() {
    let (mut engine, _events) = engine(2, 1, Duration::from_secs(60));
    let (caller, caller_addr) = phone().await;
    let (operator, operator_addr) = phone().await;
    let (leg_c, _) = engine.open_leg().expect("caller leg");
    let (leg_o, port_o) = engine.open_leg().expect("operator leg");
    engine.configure(leg_c, &audio(AudioCodec::Pcmu, caller_addr));
    engine.configure(leg_o, &audio(AudioCodec::Pcmu, operator_addr));
    engine.ringback(leg_c);

    let started = Instant::now();
    let mut headers = Vec::new();
    let mut energy = 0i64;
    for _ in 0..15 {
        let (h, body) = recv(&caller).await;
        energy += body
            .iter()
            .map(|b| i64::from(g711::decode(g711::Codec::Pcmu, *b)).abs())
            .sum::<i64>();
        headers.push(h);
    }
    let took = started.elapsed();
    assert!(headers[0].marker);
    for w in headers.windows(2) {
        assert_eq!(w[1].sequence, w[0].sequence.wrapping_add(1));
        assert_eq!(w[1].timestamp, w[0].timestamp.wrapping_add(160));
    }
    // 15 frames of real-time audio take about 280 ms (the first is due at once).
    assert!(took >= Duration::from_millis(240), "paced, took {took:?}");
    assert!(energy / (15 * 160) > 1000, "ringback is audible");

    // The operator answers: the bridge replaces ringback in the same stream.
    engine.bridge(leg_c, leg_o);
    let _ = engine.stats(leg_c).await;
    let last = headers.last().copied().expect("frames");
    let voice = rtp(0, 1, 1, 0xC0FFEE, false, &[0x10; 160]);
    operator
        .send_to(&voice, to_port(port_o))
        .await
        .expect("send");
    let (h, body) = loop {
        let (h, body) = recv(&caller).await;
        // Skip a ringback frame that was already on its way.
        if body != vec![0x10; 160] {
            continue;
        }
        break (h, body);
    };
    assert_eq!(body, vec![0x10; 160]);
    assert_eq!(h.ssrc, last.ssrc, "same outgoing stream");
    assert!(h.marker, "source change starts a talkspurt");
    let advanced = h.timestamp.wrapping_sub(last.timestamp);
    assert!(
        (160..8000 * 5).contains(&advanced),
        "timestamp moved on by elapsed time: {advanced}"
    );
    assert!(engine.stats(leg_c).await.is_some_and(|s| !s.playing));
}

#[tokio::test]
async fn a_prompt_plays_once_and_stops() {
    let (mut engine, _events) = engine(3, 1, Duration::from_secs(60));
    let (caller, caller_addr) = phone().await;
    let (leg, _) = engine.open_leg().expect("leg");
    engine.configure(leg, &audio(AudioCodec::Pcma, caller_addr));
    let clip = Clip::from_samples("beep", vec![1000; 480]);
    engine.play(leg, PlaySource::Playlist(Playlist::once(clip)));
    for _ in 0..3 {
        let (h, body) = recv(&caller).await;
        assert_eq!(h.payload_type, 8);
        assert_eq!(body, vec![g711::linear_to_alaw(1000); 160]);
    }
    let mut buf = [0u8; 256];
    let extra = tokio::time::timeout(Duration::from_millis(200), caller.recv_from(&mut buf)).await;
    assert!(extra.is_err(), "nothing after the prompt");
    assert!(engine
        .stats(leg)
        .await
        .is_some_and(|s| !s.playing && s.sent == 3));
}

#[tokio::test]
async fn dtmf_digits_are_reported_and_relayed() {
    let (mut engine, mut events) = engine(4, 1, Duration::from_secs(60));
    let (caller, caller_addr) = phone().await;
    let (operator, operator_addr) = phone().await;
    let (leg_c, port_c) = engine.open_leg().expect("leg");
    let (leg_o, _) = engine.open_leg().expect("leg");
    engine.configure(leg_c, &audio(AudioCodec::Pcmu, caller_addr));
    let mut op = audio(AudioCodec::Pcmu, operator_addr);
    op.telephone_event_pt = Some(96);
    engine.configure(leg_o, &op);
    engine.bridge(leg_c, leg_o);
    let _ = engine.stats(leg_c).await;

    let mut tx = DtmfSender::for_symbol('7', 80).expect("digit");
    let mut seq = 10u16;
    while let Some(p) = tx.next_packet() {
        let pkt = rtp(101, seq, 8000, 0x1234, p.marker, &p.payload);
        caller.send_to(&pkt, to_port(port_c)).await.expect("send");
        seq += 1;
    }
    assert_eq!(
        next_event(&mut events).await,
        MediaEvent::Dtmf {
            leg: leg_c,
            digit: '7'
        }
    );
    let (h, body) = recv(&operator).await;
    assert_eq!(h.payload_type, 96, "event PT mapped for the operator leg");
    assert_eq!(body[0], 7);
}

#[tokio::test]
async fn silence_is_reported_after_the_media_timeout() {
    let (mut engine, mut events) = engine(5, 1, Duration::from_millis(300));
    let (_caller, caller_addr) = phone().await;
    let (leg, _) = engine.open_leg().expect("leg");
    let started = Instant::now();
    engine.configure(leg, &audio(AudioCodec::Pcmu, caller_addr));
    assert_eq!(next_event(&mut events).await, MediaEvent::Timeout { leg });
    assert!(started.elapsed() >= Duration::from_millis(300));
    // Reported once, not on every tick.
    let again = tokio::time::timeout(Duration::from_millis(200), events.recv()).await;
    assert!(again.is_err());
}

#[tokio::test]
async fn nat_address_is_learned_and_foreign_packets_are_dropped() {
    let (mut engine, _events) = engine(6, 1, Duration::from_secs(60));
    let (caller, caller_addr) = phone().await;
    let (operator, _) = phone().await;
    let (attacker, _) = phone().await;
    let (leg_c, port_c) = engine.open_leg().expect("leg");
    let (leg_o, port_o) = engine.open_leg().expect("leg");
    engine.configure(leg_c, &audio(AudioCodec::Pcmu, caller_addr));
    // The operator's SDP names a private address; its packets come from elsewhere.
    let private: SocketAddr = "192.0.2.10:4000".parse().expect("addr");
    engine.configure(leg_o, &audio(AudioCodec::Pcmu, private));
    engine.bridge(leg_c, leg_o);
    let _ = engine.stats(leg_c).await;

    for seq in 0..3u16 {
        let p = rtp(0, seq, u32::from(seq) * 160, 9, false, &[0x55; 160]);
        operator.send_to(&p, to_port(port_o)).await.expect("send");
    }
    // The third consecutive packet locks and is relayed.
    let (_, body) = recv(&caller).await;
    assert_eq!(body, vec![0x55; 160]);
    let s = engine.stats(leg_o).await.expect("leg");
    assert_eq!(s.locked, Some(operator.local_addr().expect("addr")));
    assert_eq!(
        s.send_to, s.locked,
        "symmetric RTP: send where it comes from"
    );

    // Audio from the caller now reaches the operator's real address.
    caller
        .send_to(&rtp(0, 1, 1, 5, false, &[0x66; 160]), to_port(port_c))
        .await
        .expect("send");
    let (_, body) = recv(&operator).await;
    assert_eq!(body, vec![0x66; 160]);

    // An attacker spraying the operator's port is dropped, never relayed.
    for seq in 0..5u16 {
        attacker
            .send_to(&rtp(0, seq, 0, 666, false, &[0x77; 160]), to_port(port_o))
            .await
            .expect("send");
    }
    let s = stats_until(&engine, leg_o, |s| s.dropped_by_lock >= 7).await;
    assert_eq!(
        s.dropped_by_lock,
        5 + 2,
        "two learning packets plus the attack"
    );
    assert_eq!(
        s.received, 1,
        "only the operator's locking packet was accepted"
    );
    let mut buf = [0u8; 256];
    let leaked = tokio::time::timeout(Duration::from_millis(150), caller.recv_from(&mut buf)).await;
    assert!(leaked.is_err(), "attacker audio never reaches the caller");
}

#[tokio::test]
async fn closing_a_leg_frees_its_port() {
    let (mut engine, _events) = engine(7, 1, Duration::from_secs(60));
    let (leg, port) = engine.open_leg().expect("leg");
    let _ = engine.stats(leg).await;
    engine.close_leg(leg);
    assert_eq!(engine.open_legs(), 0);
    assert!(engine.stats(leg).await.is_none());
    // The worker drops the sockets asynchronously; a bounded retry waits for it.
    let mut freed = false;
    for _ in 0..100 {
        if std::net::UdpSocket::bind((LOCALHOST, port)).is_ok() {
            freed = true;
            break;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(freed, "port {port} released");
}
