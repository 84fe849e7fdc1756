//! Engine features around a call, over real UDP on 127.0.0.1: recording,
//! echo test, RTCP and quality figures, hold and media timeout.

// Real sockets in real time, like tests.rs.
#![allow(clippy::disallowed_methods)]

use std::sync::Arc;
use std::time::Duration;

use media::g711::{self, Codec};
use media::recording::read_stereo;
use media::rtcp::{write_sender_report, Compound, Report, ReportBlock, SenderInfo};
use sdp::AudioCodec;
use tokio::sync::mpsc;

use super::tests::{audio, phone, port_range, recv, rtp, to_port, LOCALHOST, WAIT};
use super::{EngineOptions, RtpConfig, RtpEngine};
use crate::media::{MediaEvent, MediaReport, Notice};

struct Rig {
    engine: RtpEngine,
    events: mpsc::UnboundedReceiver<MediaEvent>,
    reports: mpsc::UnboundedReceiver<MediaReport>,
    dir: std::path::PathBuf,
}

impl Drop for Rig {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn rig(slot: u16, media_timeout: Duration, tune: impl FnOnce(&mut EngineOptions)) -> Rig {
    let (etx, events) = mpsc::unbounded_channel();
    let (rtx, reports) = mpsc::unbounded_channel();
    let (first_port, last_port) = port_range(slot);
    let config = RtpConfig {
        bind_ip: LOCALHOST,
        first_port,
        last_port,
        workers: 1,
        media_timeout,
    };
    let dir = std::env::temp_dir().join(format!("switchboard-rtp-{slot}-{}", std::process::id()));
    let mut options = EngineOptions {
        recording_dir: dir.clone(),
        reports: Some(Arc::new(move |r| {
            let _ = rtx.send(r);
        })),
        ..EngineOptions::default()
    };
    tune(&mut options);
    let engine = RtpEngine::start_with(
        &config,
        options,
        Arc::new(move |e| {
            let _ = etx.send(e);
        }),
    );
    Rig {
        engine,
        events,
        reports,
        dir,
    }
}

async fn next_report(rx: &mut mpsc::UnboundedReceiver<MediaReport>) -> MediaReport {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("report within the wait")
        .expect("channel open")
}

#[tokio::test]
async fn a_bridged_call_is_recorded_in_stereo_named_by_call_id() {
    let mut rig = rig(21, Duration::from_secs(60), |_| {});
    let (caller, caller_addr) = phone().await;
    let (operator, operator_addr) = phone().await;
    let (leg_c, port_c) = rig.engine.open_leg().expect("caller leg");
    let (leg_o, port_o) = rig.engine.open_leg().expect("operator leg");
    rig.engine
        .configure(leg_c, &audio(AudioCodec::Pcmu, caller_addr));
    rig.engine
        .configure(leg_o, &audio(AudioCodec::Pcma, operator_addr));
    rig.engine.bridge(leg_c, leg_o);
    let path = rig
        .engine
        .start_recording(leg_c, leg_o, "abc/123@host", Notice::Beep)
        .expect("recording starts");
    assert_eq!(path, rig.dir.join("abc_123@host.wav"));

    // The beep reaches both phones before any voice.
    for phone in [&caller, &operator] {
        let (_, body) = recv(phone).await;
        assert!(body.iter().any(|b| *b != body[0]), "a tone, not silence");
    }
    // 50 frames (1 s) from each side, paced like a phone.
    let loud_u = g711::encode(Codec::Pcmu, 5000);
    let loud_a = g711::encode(Codec::Pcma, -5000);
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    for k in 0..50u16 {
        tick.tick().await;
        let ts = u32::from(k) * 160;
        let c = rtp(0, k, ts, 0xCA11, k == 0, &[loud_u; 160]);
        let o = rtp(8, k, ts, 0x0BE7, k == 0, &[loud_a; 160]);
        caller.send_to(&c, to_port(port_c)).await.expect("send");
        operator.send_to(&o, to_port(port_o)).await.expect("send");
    }
    let _ = rig.engine.stats(leg_c).await;
    rig.engine.close_leg(leg_o);
    let report = loop {
        match next_report(&mut rig.reports).await {
            MediaReport::RecordingDone(done) => break done,
            MediaReport::LegClosed { .. } => {}
        }
    };
    assert_eq!(report.path, path);
    assert_eq!((report.caller, report.operator), (leg_c, leg_o));
    assert_eq!(report.error, None);
    let secs = report.duration.as_secs_f64();
    assert!((0.9..1.6).contains(&secs), "about a second: {secs}");
    let (rate, pairs) = read_stereo(&path).expect("readable");
    assert_eq!(rate, 8000);
    assert_eq!(
        pairs.len() as u64,
        report.duration.as_micros() as u64 * 8 / 1000
    );
    let left = pairs.iter().filter(|p| (p.0 - 5000).abs() < 300).count();
    let right = pairs.iter().filter(|p| (p.1 + 5000).abs() < 300).count();
    assert!(
        left >= 7800 && right >= 7800,
        "caller left {left}, operator right {right}"
    );
    // The caller's leg is no longer recorded.
    let s = rig.engine.stats(leg_c).await.expect("caller leg");
    assert!(!s.recording);
}

#[tokio::test]
async fn recording_unknown_legs_is_refused() {
    let mut rig = rig(22, Duration::from_secs(60), |_| {});
    let (leg, _) = rig.engine.open_leg().expect("leg");
    assert_eq!(
        rig.engine
            .start_recording(leg, crate::media::LegId(999), "x", Notice::None),
        None
    );
    assert_eq!(
        rig.engine.start_recording(leg, leg, "x", Notice::None),
        None
    );
    let _ = &mut rig.events;
}

#[tokio::test]
async fn echo_returns_the_legs_own_audio_in_its_own_stream() {
    let mut rig = rig(23, Duration::from_secs(60), |_| {});
    let (handset, addr) = phone().await;
    let (stranger, _) = phone().await;
    let (leg, port) = rig.engine.open_leg().expect("leg");
    rig.engine.configure(leg, &audio(AudioCodec::Pcma, addr));
    rig.engine.ringback(leg);
    rig.engine.echo(leg);
    let s = rig.engine.stats(leg).await.expect("leg");
    assert_eq!(s.bridged_with, Some(leg));
    assert!(!s.playing, "echo replaces ringback");

    let mut headers = Vec::new();
    for k in 0..10u16 {
        let payload = [k as u8 + 1; 160];
        let p = rtp(
            8,
            500 + k,
            9000 + u32::from(k) * 160,
            0x5EED,
            false,
            &payload,
        );
        handset.send_to(&p, to_port(port)).await.expect("send");
        let (h, body) = recv(&handset).await;
        assert_eq!(body, payload.to_vec(), "the same audio back");
        assert_eq!(h.payload_type, 8);
        assert_ne!(h.ssrc, 0x5EED, "our SSRC, not the phone's");
        headers.push(h);
    }
    for w in headers.windows(2) {
        assert_eq!(w[1].sequence, w[0].sequence.wrapping_add(1));
        assert_eq!(w[1].timestamp, w[0].timestamp.wrapping_add(160));
    }
    // A packet from another address is neither echoed nor answered.
    let p = rtp(8, 510, 10_600, 0xBAD, false, &[9; 160]);
    stranger.send_to(&p, to_port(port)).await.expect("send");
    let mut buf = [0u8; 256];
    let got = tokio::time::timeout(Duration::from_millis(200), stranger.recv_from(&mut buf)).await;
    assert!(got.is_err(), "nothing to the stranger");
    let s = rig.engine.stats(leg).await.expect("leg");
    assert_eq!(s.dropped_by_lock, 1);
    assert_eq!(s.sent, 10);
    let _ = &mut rig.events;
}

#[tokio::test]
async fn rtcp_reports_are_exchanged_and_quality_is_kept_until_close() {
    let mut rig = rig(24, Duration::from_secs(60), |o| {
        o.rtcp_interval = Duration::from_millis(200);
    });
    let (handset, addr) = phone().await;
    let (handset_rtcp, _) = phone().await;
    let (leg, port) = rig.engine.open_leg().expect("leg");
    rig.engine.configure(leg, &audio(AudioCodec::Pcmu, addr));
    rig.engine.ringback(leg);
    // Learn our SSRC from the ringback, and send 20 packets with one gap.
    let (ours, _) = recv(&handset).await;
    for seq in (0..21u16).filter(|s| *s != 7) {
        let p = rtp(0, seq, u32::from(seq) * 160, 0xF0F0, false, &[0xFF; 160]);
        handset.send_to(&p, to_port(port)).await.expect("send");
    }
    // The handset's SR, with a block saying it lost nothing of ours.
    let mut sr = [0u8; 128];
    let info = SenderInfo {
        ssrc: 0xF0F0,
        ntp: 0x0000_1234_5678_0000,
        rtp_timestamp: 3200,
        packets: 20,
        octets: 3200,
    };
    let block = ReportBlock {
        ssrc: ours.ssrc,
        fraction_lost: 0,
        cumulative_lost: 0,
        highest_sequence: u32::from(ours.sequence),
        jitter: 8,
        last_sr: 0,
        delay_since_last_sr: 0,
    };
    let n = write_sender_report(&mut sr, &info, &[block]).expect("fits");
    handset_rtcp
        .send_to(&sr[..n], to_port(port + 1))
        .await
        .expect("send rtcp");

    // Our report comes back to where the handset's RTCP came from.
    let mut buf = [0u8; 512];
    let (len, from) = tokio::time::timeout(WAIT, handset_rtcp.recv_from(&mut buf))
        .await
        .expect("a report within the wait")
        .expect("recv");
    assert_eq!(from, to_port(port + 1));
    let compound = Compound::parse(&buf[..len]).expect("valid compound RTCP");
    let first = compound.packets().next().expect("a packet");
    let report = Report::parse(&first).expect("SR or RR first");
    assert!(report.sender.is_some(), "we send ringback, so an SR");
    let about = report
        .blocks()
        .next()
        .expect("a block on the handset's stream");
    assert_eq!(about.ssrc, 0xF0F0);
    assert_eq!(about.highest_sequence, 20);
    assert_eq!(about.cumulative_lost, 1);
    assert_eq!(about.last_sr, 0x1234_5678, "middle of the handset's NTP");

    let s = rig.engine.stats(leg).await.expect("leg");
    assert_eq!(s.quality.packets_received, 20);
    assert_eq!(s.quality.packets_lost, 1);
    assert!(
        s.quality.mos > 3.5 && s.quality.mos <= 4.5,
        "mos {}",
        s.quality.mos
    );
    assert_eq!(s.rtcp_received, 1);
    assert!(s.rtcp_sent >= 1);
    assert_eq!(s.remote.map(|r| r.cumulative_lost), Some(0));

    rig.engine.close_leg(leg);
    match next_report(&mut rig.reports).await {
        MediaReport::LegClosed { leg: closed, stats } => {
            assert_eq!(closed, leg);
            assert_eq!(stats.quality.packets_received, 20);
            assert_eq!(stats.rtcp_received, 1);
        }
        other => panic!("expected LegClosed, got {other:?}"),
    }
}

#[tokio::test]
async fn a_held_leg_outlives_the_media_timeout_until_taken_off_hold() {
    let mut rig = rig(25, Duration::from_millis(300), |o| {
        o.hold_timeout = Duration::from_secs(30);
    });
    let (_handset, addr) = phone().await;
    let (leg, _) = rig.engine.open_leg().expect("leg");
    rig.engine.configure(leg, &audio(AudioCodec::Pcmu, addr));
    rig.engine.set_hold(leg, true);
    assert!(rig.engine.stats(leg).await.is_some_and(|s| s.on_hold));
    let quiet = tokio::time::timeout(Duration::from_millis(700), rig.events.recv()).await;
    assert!(quiet.is_err(), "no timeout on hold: {quiet:?}");
    rig.engine.set_hold(leg, false);
    let started = std::time::Instant::now();
    let ev = tokio::time::timeout(WAIT, rig.events.recv())
        .await
        .expect("timeout event off hold")
        .expect("open");
    assert_eq!(ev, MediaEvent::Timeout { leg });
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "counted afresh"
    );
}
