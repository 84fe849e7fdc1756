//! WAV loading, playlists, ringback and drift-free pacing.

mod common;

use std::path::Path;
use std::time::Duration;

use media::player::{
    frames_due, Clip, FrameSource, PlaySource, Playlist, Playout, Ringback, MAX_CATCH_UP,
};
use media::{MediaError, FRAME_SAMPLES};

fn write_wav(path: &Path, rate: u32, channels: u16, bits: u16, float: bool, frames: &[Vec<i32>]) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: if float {
            hound::SampleFormat::Float
        } else {
            hound::SampleFormat::Int
        },
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    for frame in frames {
        for s in frame {
            if float {
                w.write_sample(*s as f32 / 32768.0).expect("write");
            } else if bits == 8 {
                w.write_sample(*s as i8).expect("write");
            } else {
                w.write_sample(*s as i16).expect("write");
            }
        }
    }
    w.finalize().expect("finalize");
}

fn tone(rate: u32, freq: f64, seconds: f64) -> Vec<Vec<i32>> {
    let n = (f64::from(rate) * seconds) as usize;
    (0..n)
        .map(|i| {
            vec![
                (10_000.0 * (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin())
                    as i32,
            ]
        })
        .collect()
}

fn zero_crossings(s: &[i16]) -> usize {
    s.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count()
}

#[test]
fn native_8k_mono_loads_unchanged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("hello.wav");
    let frames: Vec<Vec<i32>> = (0..400).map(|i| vec![i * 10 - 2000]).collect();
    write_wav(&path, 8000, 1, 16, false, &frames);
    let clip = Clip::load_wav(&path).expect("loads");
    let expected: Vec<i16> = (0..400).map(|i| (i * 10 - 2000) as i16).collect();
    assert_eq!(clip.samples(), expected.as_slice());
    assert_eq!(clip.duration(), Duration::from_millis(50));
}

#[test]
fn stereo_16k_is_mixed_and_halved() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("stereo.wav");
    let frames: Vec<Vec<i32>> = (0..1600).map(|_| vec![1000, 3000]).collect();
    write_wav(&path, 16_000, 2, 16, false, &frames);
    let clip = Clip::load_wav(&path).expect("loads");
    assert_eq!(clip.samples().len(), 800);
    assert!(clip.samples().iter().all(|s| *s == 2000));
}

#[test]
fn resampling_keeps_pitch_and_length() {
    for rate in [44_100u32, 48_000, 11_025, 6000] {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tone.wav");
        write_wav(&path, rate, 1, 16, false, &tone(rate, 440.0, 1.0));
        let clip = Clip::load_wav(&path).expect("loads");
        let len = clip.samples().len() as i64;
        assert!((len - 8000).abs() <= 1, "{rate}: {len} samples");
        // 440 Hz: 880 zero crossings per second.
        let zc = zero_crossings(clip.samples()) as i64;
        assert!((zc - 880).abs() <= 4, "{rate}: {zc} crossings");
        let peak = clip
            .samples()
            .iter()
            .map(|s| s.unsigned_abs())
            .max()
            .unwrap_or(0);
        assert!(peak > 8000, "{rate}: level kept, peak {peak}");
    }
}

#[test]
fn unsupported_formats_are_rejected_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, bits, float) in [("eight.wav", 8u16, false), ("float.wav", 32, true)] {
        let path = dir.path().join(name);
        write_wav(&path, 8000, 1, bits, float, &[vec![1], vec![2]]);
        let err = Clip::load_wav(&path).expect_err("rejected");
        assert!(matches!(err, MediaError::Audio { .. }));
        assert!(err.to_string().contains(name), "{err}");
    }
    let missing = dir.path().join("missing.wav");
    let err = Clip::load_wav(&missing).expect_err("missing");
    assert!(err.to_string().contains("missing.wav"), "{err}");
    let empty = dir.path().join("empty.wav");
    write_wav(&empty, 8000, 1, 16, false, &[]);
    assert!(Clip::load_wav(&empty)
        .expect_err("empty")
        .to_string()
        .contains("no audio"));
    assert!(Clip::from_wav_bytes("junk.wav", b"RIFF....WAVEfmt ").is_err());
}

#[test]
fn playlist_plays_clips_in_order_continuously_then_ends() {
    let a = Clip::from_samples("a", vec![1; 200]);
    let m = Clip::from_samples("m", vec![2; 100]);
    let mut p = Playlist::new(vec![a.clone(), m, a], false);
    let mut all = Vec::new();
    let mut frame = [0i16; FRAME_SAMPLES];
    while p.fill_frame(&mut frame) {
        all.extend_from_slice(&frame);
    }
    assert!(p.is_finished());
    // 500 samples is 3.125 frames: four frames, the last one padded with silence.
    assert_eq!(all.len(), 640);
    let expected: Vec<i16> = [vec![1; 200], vec![2; 100], vec![1; 200], vec![0; 140]].concat();
    assert_eq!(all, expected);
    assert!(!p.fill_frame(&mut frame));
}

#[test]
fn looping_playlist_wraps_without_gaps() {
    let mut p = Playlist::looped(Clip::from_samples("music", (0..100).collect()));
    let mut frame = [0i16; FRAME_SAMPLES];
    let mut all = Vec::new();
    for _ in 0..5 {
        assert!(p.fill_frame(&mut frame));
        all.extend_from_slice(&frame);
    }
    for (i, s) in all.iter().enumerate() {
        assert_eq!(*s, (i % 100) as i16);
    }
    let mut empty = Playlist::looped(Clip::from_samples("none", vec![]));
    assert!(
        !empty.fill_frame(&mut frame),
        "an empty loop ends instead of spinning"
    );
}

#[test]
fn ringback_is_425hz_one_second_on_four_off() {
    let mut r = Ringback::new();
    let mut frame = [0i16; FRAME_SAMPLES];
    let mut cycle = Vec::new();
    for _ in 0..500 {
        assert!(r.fill_frame(&mut frame));
        cycle.extend_from_slice(&frame);
    }
    let (on, off) = cycle.split_at(8000);
    assert_eq!(zero_crossings(&on[..8000]), 850 - 1);
    assert!(off[..32_000].iter().all(|s| *s == 0));
    assert!(on.iter().any(|s| *s > 7000));
    // Second cycle starts like the first.
    assert_eq!(&cycle[40_000..40_160], &cycle[..160]);
    // Sample for sample the sine it is meant to be (the table is exact).
    for (n, s) in on.iter().enumerate() {
        let t = n as f64 / 8000.0;
        let want = (Ringback::AMPLITUDE * (2.0 * std::f64::consts::PI * 425.0 * t).sin()).round();
        assert_eq!(f64::from(*s), want, "sample {n}");
    }
}

#[test]
fn frames_due_counts_from_a_fixed_start() {
    let t0 = common::epoch();
    assert_eq!(frames_due(t0, t0), 1);
    assert_eq!(frames_due(t0, t0 + Duration::from_millis(19)), 1);
    assert_eq!(frames_due(t0, t0 + Duration::from_millis(20)), 2);
    assert_eq!(frames_due(t0, t0 + Duration::from_secs(60)), 3001);
    assert_eq!(frames_due(t0 + Duration::from_secs(1), t0), 0);
}

#[test]
fn playout_does_not_drift_with_jittery_ticks_and_caps_catch_up() {
    let t0 = common::epoch();
    let mut p = Playout::new(PlaySource::Ringback(Ringback::new()), t0);
    let mut frame = [0i16; FRAME_SAMPLES];
    let mut indices = Vec::new();
    // Ticks every 20 ms with up to +/-7 ms of jitter, for 10 s.
    for k in 0..500u64 {
        let jitter = (k * 7919 % 15) as i64 - 7;
        let at =
            t0 + Duration::from_millis(k * 20 + 10) + Duration::from_millis(jitter.max(0) as u64)
                - Duration::from_millis((-jitter).max(0) as u64);
        while let Some(i) = p.poll_frame(at, &mut frame) {
            indices.push(i);
        }
    }
    assert_eq!(indices, (0..indices.len() as u64).collect::<Vec<_>>());
    // The last tick falls in frame 499's slot whatever its jitter: exactly 500 frames.
    assert_eq!(indices.len(), 500);
    // A 1 s stall: only MAX_CATCH_UP frames come out, then it skips ahead.
    let last = *indices.last().expect("frames");
    let after_stall = t0 + Duration::from_secs(11);
    let mut burst = Vec::new();
    while let Some(i) = p.poll_frame(after_stall, &mut frame) {
        burst.push(i);
    }
    assert_eq!(burst.len() as u64, MAX_CATCH_UP);
    assert_eq!(
        *burst.last().expect("burst"),
        frames_due(t0, after_stall) - 1
    );
    assert!(burst[0] > last + 1);
    assert_eq!(Playout::frame_timestamp(burst[0]), (burst[0] * 160) as u32);
}

#[test]
fn playout_of_a_prompt_finishes() {
    let t0 = common::epoch();
    let clip = Clip::from_samples("p", vec![5; 320]);
    let mut p = Playout::new(PlaySource::Playlist(Playlist::once(clip)), t0);
    let mut frame = [0i16; FRAME_SAMPLES];
    assert_eq!(p.poll_frame(t0, &mut frame), Some(0));
    assert_eq!(frame, [5; FRAME_SAMPLES]);
    assert_eq!(p.poll_frame(t0, &mut frame), None, "frame 1 not due yet");
    assert_eq!(p.next_deadline(), Some(t0 + Duration::from_millis(20)));
    let later = t0 + Duration::from_millis(40);
    assert_eq!(p.poll_frame(later, &mut frame), Some(1));
    assert_eq!(p.poll_frame(later, &mut frame), None, "prompt over");
    assert!(p.is_finished());
    assert_eq!(p.next_deadline(), None);
}
