//! One-leg (voicemail) recordings over real UDP on 127.0.0.1: the mono
//! file's content, and the long-silence event (quiet RTP, no RTP, and none
//! while the caller talks).

// Real sockets in real time, like tests.rs.
#![allow(clippy::disallowed_methods)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use media::g711::{self, Codec};
use sdp::AudioCodec;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::tests::{audio, phone, port_range, rtp, to_port, LOCALHOST};
use super::{EngineOptions, RtpConfig, RtpEngine};
use crate::media::{LegId, MediaEvent, MediaReport, RecordingDone};

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

fn rig(slot: u16) -> Rig {
    let (etx, events) = mpsc::unbounded_channel();
    let (rtx, reports) = mpsc::unbounded_channel();
    let (first_port, last_port) = port_range(slot);
    let config = RtpConfig {
        bind_ip: LOCALHOST,
        first_port,
        last_port,
        workers: 1,
        media_timeout: Duration::from_secs(60),
    };
    let dir = std::env::temp_dir().join(format!("switchboard-vm-{slot}-{}", std::process::id()));
    let options = EngineOptions {
        recording_dir: dir.clone(),
        reports: Some(Arc::new(move |r| {
            let _ = rtx.send(r);
        })),
        ..EngineOptions::default()
    };
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

/// A caller's leg, configured for PCMU from `addr`.
fn caller_leg(rig: &mut Rig, addr: std::net::SocketAddr) -> (LegId, u16) {
    let (leg, port) = rig.engine.open_leg().expect("leg");
    rig.engine.configure(leg, &audio(AudioCodec::Pcmu, addr));
    (leg, port)
}

/// A 400 Hz tone frame at `amplitude` (0: digital silence).
fn frame(k: u16, amplitude: f64) -> [u8; 160] {
    let mut out = [0u8; 160];
    for (i, b) in out.iter_mut().enumerate() {
        let t = (f64::from(k) * 160.0 + i as f64) / 8000.0;
        let s = amplitude * (2.0 * std::f64::consts::PI * 400.0 * t).sin();
        *b = g711::encode(Codec::Pcmu, s as i16);
    }
    out
}

/// Sends `frames` frames from `from`, paced at 20 ms.
async fn send(sock: &UdpSocket, port: u16, from: u16, frames: u16, amplitude: f64) {
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    for k in from..from + frames {
        tick.tick().await;
        let p = rtp(
            0,
            k,
            u32::from(k) * 160,
            0xF00D,
            k == 0,
            &frame(k, amplitude),
        );
        sock.send_to(&p, to_port(port)).await.expect("send");
    }
}

async fn recording_done(rig: &mut Rig) -> RecordingDone {
    loop {
        let report = tokio::time::timeout(Duration::from_secs(3), rig.reports.recv())
            .await
            .expect("report within the wait")
            .expect("channel open");
        if let MediaReport::RecordingDone(done) = report {
            return done;
        }
    }
}

async fn silence(rig: &mut Rig, within: Duration) -> Option<MediaEvent> {
    tokio::time::timeout(within, rig.events.recv())
        .await
        .ok()
        .flatten()
}

#[tokio::test]
async fn a_one_leg_recording_is_mono_with_that_legs_audio() {
    let mut rig = rig(40);
    let (sock, addr) = phone().await;
    let (leg, port) = caller_leg(&mut rig, addr);
    let path = rig
        .engine
        .start_recording_mono(leg, "voicemail-box-1", None)
        .expect("recording starts");
    assert_eq!(path, rig.dir.join("voicemail-box-1.wav"));
    send(&sock, port, 0, 50, 8000.0).await;
    let _ = rig.engine.stats(leg).await; // the worker has had every packet
    rig.engine.close_leg(leg);
    let done = recording_done(&mut rig).await;
    assert_eq!((done.caller, done.operator), (leg, leg));
    assert_eq!(done.path, path);
    assert_eq!(done.error, None);
    let secs = done.duration.as_secs_f64();
    assert!((0.9..1.3).contains(&secs), "about a second: {secs}");

    let mut reader = hound::WavReader::open(&path).expect("a valid WAV");
    let spec = reader.spec();
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.bits_per_sample),
        (1, 8000, 16)
    );
    let samples: Vec<i16> = reader
        .samples::<i16>()
        .map(|s| s.expect("sample"))
        .collect();
    assert_eq!(
        samples.len() as u64,
        done.duration.as_micros() as u64 * 8 / 1000
    );
    // The tone as sent: peaks near 8000, and it crosses zero 800 times a second.
    let peak = samples.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
    assert!((7000..=8500).contains(&peak), "peak {peak}");
    let crossings = samples
        .windows(2)
        .filter(|w| (w[0] < 0) != (w[1] < 0))
        .count() as f64
        / secs;
    assert!(
        (700.0..900.0).contains(&crossings),
        "{crossings} zero crossings/s"
    );
}

#[tokio::test]
async fn quiet_rtp_after_speech_is_reported_as_silence_but_speech_is_not() {
    let mut rig = rig(41);
    let (sock, addr) = phone().await;
    let (leg, port) = caller_leg(&mut rig, addr);
    rig.engine
        .start_recording_mono(leg, "vm-quiet", Some(Duration::from_secs(1)))
        .expect("recording starts");
    // 2 s of talk (a -12 dBFS tone): twice the limit, no event.
    send(&sock, port, 0, 100, 8000.0).await;
    assert_eq!(silence(&mut rig, Duration::from_millis(10)).await, None);
    // Then near-silence (about -60 dBFS, comfort-noise level).
    let quiet_from = Instant::now();
    let quiet = tokio::spawn(async move {
        send(&sock, port, 100, 150, 30.0).await;
        sock
    });
    let event = silence(&mut rig, Duration::from_secs(3)).await;
    let after = quiet_from.elapsed();
    assert_eq!(event, Some(MediaEvent::Silence { leg }));
    assert!(
        after >= Duration::from_millis(900) && after < Duration::from_millis(1600),
        "reported {after:?} into the quiet"
    );
    let _ = quiet.await;
    assert_eq!(
        silence(&mut rig, Duration::from_millis(300)).await,
        None,
        "once"
    );
}

#[tokio::test]
async fn no_rtp_at_all_is_silence_too() {
    let mut rig = rig(42);
    let (_sock, addr) = phone().await;
    let (leg, _) = caller_leg(&mut rig, addr);
    let started = Instant::now();
    rig.engine
        .start_recording_mono(leg, "vm-none", Some(Duration::from_secs(1)))
        .expect("recording starts");
    let event = silence(&mut rig, Duration::from_secs(4)).await;
    assert_eq!(event, Some(MediaEvent::Silence { leg }));
    // Noticed on the recorder's once-a-second tick.
    let after = started.elapsed();
    assert!(after >= Duration::from_secs(1), "{after:?}");
    rig.engine.close_leg(leg);
    let done = recording_done(&mut rig).await;
    assert_eq!(done.duration, Duration::ZERO, "nothing was received");
}
