//! Criterion benches of the per-packet and per-frame media work: relay
//! (same codec and transcoded), playout of 1,000 streams per 20 ms tick,
//! recording per 20 ms frame, DTMF detection per packet.

// A bench is a driver: it reads the clock once for a base instant.
#![allow(clippy::disallowed_methods)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use media::dtmf::{DtmfReceiver, DtmfSender};
use media::g711::{self, Codec};
use media::player::{Clip, Frame, PlaySource, Playlist, Playout, Ringback};
use media::recording::{Channel, StereoWav};
use media::relay::{LegFormat, Relay, Verdict};
use media::rtp::{write_packet, OutHeader};
use media::stream::{OutgoingStream, PacketKind, SourceId};
use media::{FRAME_DURATION, FRAME_SAMPLES};

const PCMU: LegFormat = LegFormat {
    codec: Codec::Pcmu,
    pt: 0,
    event_pt: Some(101),
};
const PCMA: LegFormat = LegFormat {
    codec: Codec::Pcma,
    pt: 8,
    event_pt: Some(101),
};

fn packet(pt: u8, seq: u16, ts: u32, payload: &[u8], out: &mut [u8]) -> usize {
    let h = OutHeader {
        marker: false,
        payload_type: pt,
        sequence: seq,
        timestamp: ts,
        ssrc: 0x1234_5678,
    };
    write_packet(out, &h, payload).unwrap_or(0)
}

fn relay(c: &mut Criterion) {
    let mut group = c.benchmark_group("relay_per_packet");
    group.throughput(Throughput::Elements(1));
    for (name, to) in [("same_codec", PCMU), ("pcmu_to_pcma", PCMA)] {
        group.bench_function(name, |b| {
            let mut relay = Relay::new(PCMU, to, 0);
            let mut stream = OutgoingStream::new(1, 0, 0);
            let payload = [0x55u8; FRAME_SAMPLES];
            let mut buf = [0u8; 2048];
            let mut now = Instant::now();
            let mut seq = 0u16;
            let mut ts = 0u32;
            b.iter(|| {
                // As received: a fresh packet each time (the relay rewrites in place).
                let len = packet(0, seq, ts, &payload, &mut buf);
                seq = seq.wrapping_add(1);
                ts = ts.wrapping_add(160);
                now += FRAME_DURATION;
                let v = relay.process(&mut buf[..len], &mut stream, now);
                debug_assert!(matches!(v, Verdict::Forward { .. }));
                black_box(v)
            });
        });
    }
    group.finish();
}

fn playout(c: &mut Criterion) {
    const STREAMS: usize = 1000;
    let music: Vec<i16> = (0..8000 * 10).map(|i| ((i * 37) % 2000) as i16).collect();
    let clip = Clip::from_samples("music", music);
    let mut group = c.benchmark_group("playout_tick");
    group.throughput(Throughput::Elements(STREAMS as u64));
    group.bench_function("1000_streams", |b| {
        let start = Instant::now();
        let mut legs: Vec<(Playout, OutgoingStream)> = (0..STREAMS)
            .map(|i| {
                let source = if i % 2 == 0 {
                    PlaySource::Playlist(Playlist::looped(clip.clone()))
                } else {
                    PlaySource::Ringback(Ringback::new())
                };
                (
                    Playout::new(source, start),
                    OutgoingStream::new(i as u32, 0, 0),
                )
            })
            .collect();
        let mut frame: Frame = [0; FRAME_SAMPLES];
        let mut payload = [0u8; FRAME_SAMPLES];
        let mut out = [0u8; 256];
        let mut now = start;
        b.iter(|| {
            // One 20 ms tick: every stream's due frame encoded and packetized.
            let mut bytes = 0usize;
            for (playout, stream) in &mut legs {
                while let Some(index) = playout.poll_frame(now, &mut frame) {
                    g711::encode_into(Codec::Pcmu, &frame, &mut payload);
                    let source = SourceId { feed: 1, ssrc: 0 };
                    let kind = PacketKind::Audio { samples: 160 };
                    let ts = Playout::frame_timestamp(index);
                    if let Some(m) = stream.map(source, ts, false, kind, now) {
                        let h = OutHeader {
                            marker: m.marker,
                            payload_type: 0,
                            sequence: m.sequence,
                            timestamp: m.timestamp,
                            ssrc: m.ssrc,
                        };
                        bytes += write_packet(&mut out, &h, &payload).unwrap_or(0);
                    }
                }
            }
            now += FRAME_DURATION;
            black_box(bytes)
        });
    });
    group.finish();
}

fn recording(c: &mut Criterion) {
    let dir = tempfile::tempdir().ok();
    let Some(path) = dir.as_ref().map(|d| d.path().join("bench.wav")) else {
        return;
    };
    let Ok(mut wav) = StereoWav::create(&path) else {
        return;
    };
    let mut group = c.benchmark_group("recording");
    group.throughput(Throughput::Elements(1));
    group.bench_function("write_per_20ms_frame", |b| {
        let left = [g711::encode(Codec::Pcmu, 3000); FRAME_SAMPLES];
        let right = [g711::encode(Codec::Pcma, -3000); FRAME_SAMPLES];
        let mut l = [0i16; FRAME_SAMPLES];
        let mut r = [0i16; FRAME_SAMPLES];
        let mut position = 0u64;
        let mut frames = 0u64;
        b.iter(|| {
            // Decode both legs' packets (the worker's share), align and write.
            g711::decode_into(Codec::Pcmu, &left, &mut l);
            g711::decode_into(Codec::Pcma, &right, &mut r);
            let _ = wav.push(Channel::Left, position, &l);
            let _ = wav.push(Channel::Right, position, &r);
            position += FRAME_SAMPLES as u64;
            frames += 1;
            // The header rewrite the recorder does once a second.
            if frames == 50 {
                frames = 0;
                let _ = wav.flush();
            }
        });
    });
    group.finish();
}

fn dtmf(c: &mut Criterion) {
    // Realistic traffic: each digit is a start packet, continuations and
    // three end packets (RFC 4733 retransmits the end).
    let mut packets = Vec::new();
    for (n, symbol) in "0123456789*#".chars().enumerate() {
        let mut sender =
            DtmfSender::for_symbol(symbol, 100).unwrap_or_else(|| DtmfSender::new(0, 800, 10));
        while let Some(p) = sender.next_packet() {
            packets.push((n as u32 * 8000, p.marker, p.payload));
        }
    }
    let mut group = c.benchmark_group("dtmf");
    group.throughput(Throughput::Elements(1));
    group.bench_function("detect_per_packet", |b| {
        let mut rx = DtmfReceiver::default();
        let mut now = Instant::now();
        let mut i = 0usize;
        let mut round = 0u32;
        b.iter(|| {
            let (ts, marker, payload) = packets[i];
            i += 1;
            if i == packets.len() {
                i = 0;
                round = round.wrapping_add(1);
            }
            now += Duration::from_millis(20);
            let ts = ts.wrapping_add(round.wrapping_mul(1_000_000));
            let _ = rx.handle_packet(ts, marker, &payload, now);
            black_box(rx.poll_digit(now))
        });
    });
    group.finish();
}

criterion_group!(benches, relay, playout, recording, dtmf);
criterion_main!(benches);
