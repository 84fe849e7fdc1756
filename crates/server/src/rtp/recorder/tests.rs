//! The recorder thread with real files: a finished recording, and one whose
//! process is killed (SIGKILL) while it writes.

// Real threads and processes: the tests wait on the real clock, bounded.
#![allow(clippy::disallowed_methods)]

use std::path::Path;
use std::process::Command;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use media::g711::{self, Codec};
use media::recording::{read_stereo, stereo_len, Channel};

use super::{spawn, RecMsg, RecordTap};
use crate::media::{LegId, MediaReport};

const CHILD_ENV: &str = "SWITCHBOARD_RECORDER_CHILD";

/// A directory removed at the end of the test (the server crate has no
/// tempfile dependency).
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("switchboard-rec-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tap(tx: &mpsc::SyncSender<RecMsg>, id: u64, channel: Channel, start: Instant) -> RecordTap {
    RecordTap {
        id,
        channel,
        start,
        tx: tx.clone(),
        dropped: 0,
    }
}

fn open(tx: &mpsc::SyncSender<RecMsg>, id: u64, path: &Path) {
    tx.send(RecMsg::Open {
        id,
        path: path.to_path_buf(),
        caller: LegId(1),
        operator: LegId(2),
    })
    .expect("recorder running");
}

/// One G.711 frame of a constant level.
fn frame(codec: Codec, level: i16) -> [u8; 160] {
    [g711::encode(codec, level); 160]
}

#[test]
fn a_finished_recording_is_stereo_with_caller_left_and_operator_right() {
    let dir = TempDir::new("finished");
    let path = dir.0.join("sub/call-1.wav");
    let done = Arc::new(Mutex::new(Vec::new()));
    let sink = done.clone();
    let tx = spawn(Arc::new(move |r| sink.lock().expect("lock").push(r))).expect("thread");
    open(&tx, 7, &path);
    let start = Instant::now();
    let mut left = tap(&tx, 7, Channel::Left, start);
    let mut right = tap(&tx, 7, Channel::Right, start);
    // 2 s of audio, timed as if packets came every 20 ms.
    for i in 0..100u64 {
        let at = start + Duration::from_millis(20 * i);
        left.feed(Codec::Pcmu, &frame(Codec::Pcmu, 4000), at);
        right.feed(Codec::Pcma, &frame(Codec::Pcma, -4000), at);
    }
    drop(left);
    drop(right);
    let deadline = Instant::now() + Duration::from_secs(5);
    let report = loop {
        if let Some(r) = done.lock().expect("lock").pop() {
            break r;
        }
        assert!(Instant::now() < deadline, "no RecordingDone");
        std::thread::sleep(Duration::from_millis(5));
    };
    let MediaReport::RecordingDone(rec) = report else {
        panic!("unexpected report {report:?}");
    };
    assert_eq!(rec.path, path);
    assert_eq!(rec.duration, Duration::from_secs(2));
    assert_eq!(rec.error, None);
    assert_eq!(rec.dropped_chunks, 0);
    let (rate, pairs) = read_stereo(&path).expect("valid stereo WAV");
    assert_eq!(rate, 8000);
    assert_eq!(pairs.len(), 16_000);
    // G.711 rounds: within its step at this level.
    assert!(pairs
        .iter()
        .all(|&(l, r)| (l - 4000).abs() < 200 && (r + 4000).abs() < 200));
}

/// Parent side of the crash test: a child process records (the test below,
/// run with CHILD_ENV), and is killed with SIGKILL once the file shows at
/// least a second of audio in its header.
#[test]
fn a_recording_killed_mid_call_is_still_a_playable_file() {
    let dir = TempDir::new("crash");
    let path = dir.0.join("crash.wav");
    let exe = std::env::current_exe().expect("test binary");
    let mut child = Command::new(exe)
        .args([
            "--ignored",
            "--exact",
            "rtp::recorder::tests::child_records_until_killed",
        ])
        .env(CHILD_ENV, &path)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn child");
    let deadline = Instant::now() + Duration::from_secs(20);
    let seen = loop {
        let len = stereo_len(&path).unwrap_or(0);
        if len >= 8000 {
            break len;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the child never made a second of audio valid");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("reap");
    assert!(!status.success(), "killed, not finished");

    // Every sample the header counts must be in the file.
    let (_, pairs) = read_stereo(&path).expect("playable after SIGKILL");
    assert!(pairs.len() as u64 >= seen, "header only grows");
    assert!(pairs.iter().all(|&(l, r)| l > 1000 && r < -1000));
}

/// The child: records forever (until killed). Does nothing in a normal run.
#[test]
#[ignore = "child process of a_recording_killed_mid_call_is_still_a_playable_file"]
fn child_records_until_killed() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let tx = spawn(Arc::new(|_| {})).expect("thread");
    open(&tx, 1, Path::new(&path));
    let start = Instant::now();
    let mut left = tap(&tx, 1, Channel::Left, start);
    let mut right = tap(&tx, 1, Channel::Right, start);
    for i in 0u64.. {
        let at = start + Duration::from_millis(20 * i);
        left.feed(Codec::Pcmu, &frame(Codec::Pcmu, 3000), at);
        right.feed(Codec::Pcmu, &frame(Codec::Pcmu, -3000), at);
        // Five times real time: a second of audio every 200 ms.
        if i % 50 == 49 {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}
