//! Hot reload, end to end: the real `switchboard` binary on a temporary config with free ports,
//! driven by editing its file, SIGHUP and the HTTP API, and probed with raw SIP INVITEs from
//! 127.0.0.1 (the trunk's address) and HTTP requests over a plain TCP stream.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::http::http;

const OLD: &str = "+74950000001";
const NEW: &str = "+74950000002";

/// The test reads the clock to bound its waits.
#[allow(clippy::disallowed_methods)]
fn now() -> Instant {
    Instant::now()
}

fn free_port() -> u16 {
    // The kernel picks a port free for both TCP and UDP (SIP listens on both); the switch takes
    // it over right after.
    loop {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

struct Switch {
    child: Child,
    dir: tempfile::TempDir,
    sip: SocketAddr,
    api: SocketAddr,
}

impl Drop for Switch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Switch {
    /// Starts the switch on a fresh directory with the config `make` writes (given the
    /// directory, where `header.toml` holds the `[server]` and `[api]` sections).
    fn start_with(make: impl Fn(&Path) -> String) -> Switch {
        Switch::start_on(SocketAddr::from(([127, 0, 0, 1], free_port())), make)
    }

    fn start_on(api: SocketAddr, make: impl Fn(&Path) -> String) -> Switch {
        let dir = tempfile::tempdir().unwrap();
        let sip = SocketAddr::from(([127, 0, 0, 1], free_port()));
        // Each switch of this process gets its own RTP range (the tests run in parallel).
        static STARTED: AtomicU16 = AtomicU16::new(0);
        let nth = STARTED.fetch_add(1, Ordering::SeqCst) % 4;
        let rtp_first = 40000 + ((std::process::id() % 250) as u16 * 4 + nth) * 20;
        let header = format!(
            "[server]\nsip_listen = \"{sip}\"\npublic_address = \"127.0.0.1\"\nrtp_ports = \"{}-{}\"\ndata_dir = \"{}\"\nprompts_dir = \"{}\"\n\n[api]\nlisten = \"{api}\"\n\n",
            rtp_first,
            rtp_first + 19,
            dir.path().join("data").display(),
            workspace().join("prompts").display(),
        );
        std::fs::write(dir.path().join("header.toml"), header).unwrap();
        std::fs::write(dir.path().join("switchboard.toml"), make(dir.path())).unwrap();
        let log = |name: &str| Stdio::from(std::fs::File::create(dir.path().join(name)).unwrap());
        let child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .arg("run")
            .arg("--config")
            .arg(dir.path().join("switchboard.toml"))
            .current_dir(dir.path())
            .env("SWITCHBOARD_LOG", "info")
            .stdout(log("switch.log"))
            .stderr(log("switch.err"))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start switchboard: {e}"));
        Switch {
            child,
            dir,
            sip,
            api,
        }
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("switchboard.toml")
    }

    fn log(&self) -> String {
        let out = std::fs::read_to_string(self.dir.path().join("switch.log")).unwrap_or_default();
        let err = std::fs::read_to_string(self.dir.path().join("switch.err")).unwrap_or_default();
        format!("{out}{err}")
    }

    fn wait_for_api(&mut self) {
        let deadline = now() + Duration::from_secs(20);
        while now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("switchboard exited early ({status}):\n{}", self.log());
            }
            if let Ok((200, _)) = http(self.api, "GET", "/health") {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the API never came up:\n{}", self.log());
    }

    /// Waits until `GET /api/reload` satisfies `done`; returns that answer.
    fn wait_reload(&self, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = now() + Duration::from_secs(15);
        let mut last = Value::Null;
        while now() < deadline {
            if let Ok((200, body)) = http(self.api, "GET", "/api/reload") {
                last = serde_json::from_str(&body).unwrap();
                if done(&last) {
                    return last;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "timed out waiting for {what}; last /api/reload: {last:#}\n{}",
            self.log()
        );
    }
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A config: the `[server]`/`[api]` header, one operator group and `numbers` ringing it.
fn config(dir: &Path, numbers: &[&str], extra: &str) -> String {
    let mut t = std::fs::read_to_string(dir.join("header.toml")).unwrap();
    t.push_str("[[trunk]]\nname = \"provider\"\naddresses = [\"127.0.0.1\"]\n\n");
    t.push_str("[[group]]\nname = \"sales\"\n\n");
    t.push_str("[[operator]]\nusername = \"alice\"\npassword = \"alice-secret-1\"\ngroups = [\"sales\"]\n\n");
    for n in numbers {
        t.push_str(&format!(
            "[[number]]\nnumber = \"{n}\"\nlanding_page = \"https://shop.example/promo\"\ncampaign = \"winter\"\nring = {{ group = \"sales\" }}\n\n"
        ));
    }
    t.push_str(extra);
    t
}

/// Sends an INVITE for `number` from the trunk's address and returns the final response's code
/// (after ACKing it).
fn invite(sip: SocketAddr, number: &str, n: u32) -> u16 {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let local = sock.local_addr().unwrap();
    let branch = format!("z9hG4bKreload{}x{n}", std::process::id());
    let call_id = format!("reload-{}-{n}@127.0.0.1", std::process::id());
    let sdp = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {} RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n",
        local.port() + 2
    );
    let via = format!("SIP/2.0/UDP {local};branch={branch};rport");
    let from = format!("<sip:+79150000000@127.0.0.1>;tag=from{n}");
    let invite = format!(
        "INVITE sip:{number}@{sip} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\nFrom: {from}\r\nTo: <sip:{number}@{sip}>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContact: <sip:+79150000000@{local}>\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    );
    sock.send_to(invite.as_bytes(), sip).unwrap();
    let mut buf = [0u8; 65536];
    let deadline = now() + Duration::from_secs(40);
    while now() < deadline {
        let Ok((len, _)) = sock.recv_from(&mut buf) else {
            break;
        };
        let text = String::from_utf8_lossy(&buf[..len]).into_owned();
        let Some(code) = text
            .strip_prefix("SIP/2.0 ")
            .and_then(|r| r.get(..3))
            .and_then(|c| c.parse::<u16>().ok())
        else {
            continue;
        };
        if code < 200 {
            // Still ringing: give up on it with a CANCEL, whose 487 is the final answer.
            if code == 180 || code == 183 {
                let cancel = format!(
                    "CANCEL sip:{number}@{sip} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\nFrom: {from}\r\nTo: <sip:{number}@{sip}>\r\nCall-ID: {call_id}\r\nCSeq: 1 CANCEL\r\nContent-Length: 0\r\n\r\n"
                );
                sock.send_to(cancel.as_bytes(), sip).unwrap();
            }
            continue;
        }
        if !text.contains("CSeq: 1 INVITE") {
            continue;
        }
        let to = text
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("to:"))
            .unwrap_or("To: <sip:x@127.0.0.1>")
            .to_owned();
        let ack = format!(
            "ACK sip:{number}@{sip} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\nFrom: {from}\r\n{to}\r\nCall-ID: {call_id}\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
        );
        sock.send_to(ack.as_bytes(), sip).unwrap();
        return code;
    }
    panic!("no final response to the INVITE for {number}");
}

#[test]
fn reload_by_file_change_signal_and_api_and_a_broken_file_keeps_the_old_plan() {
    let mut sw = Switch::start_with(|dir| config(dir, &[OLD], ""));
    sw.wait_for_api();
    let sip = sw.sip;

    // The startup load is the first outcome.
    let v = sw.wait_reload("the startup outcome", |v| v["last"]["trigger"] == "startup");
    assert_eq!(v["last"]["ok"], true);

    let old_answer = invite(sip, OLD, 1);
    assert_ne!(old_answer, 404, "the configured number is served");
    eprintln!("the configured number answers {old_answer}");
    assert_eq!(invite(sip, NEW, 2), 404, "not configured yet");

    // 1. An edit to the file: the new number answers.
    std::fs::write(sw.config_path(), config(sw.dir.path(), &[OLD, NEW], "")).unwrap();
    let v = sw.wait_reload("a reload on file change", |v| v["succeeded"] == 1);
    assert_eq!(v["last"]["ok"], true);
    assert_eq!(v["last"]["trigger"], "file change");
    assert_eq!(
        invite(sip, NEW, 3),
        old_answer,
        "the new number is served like the old one"
    );

    // 2. A broken file: reported with file:line:column, the running plan stays.
    let broken = config(
        sw.dir.path(),
        &[OLD, NEW],
        "[[number]]\nnumber = \"+74950000003\"\nring = { group = \"nobody\" }\n",
    );
    let line = broken.lines().count();
    std::fs::write(sw.config_path(), &broken).unwrap();
    let v = sw.wait_reload("a failed reload", |v| v["failed"] == 1);
    assert_eq!(v["last"]["ok"], false);
    let err = &v["last"]["errors"][0];
    let at = format!("{}:{line}:18:", sw.config_path().display());
    assert!(
        err["text"].as_str().unwrap().starts_with(&at),
        "expected {at} in {err:#}"
    );
    assert!(
        err["message"].as_str().unwrap().contains("nobody"),
        "{err:#}"
    );
    assert_eq!(invite(sip, OLD, 4), old_answer, "the old plan still serves");
    assert_eq!(invite(sip, NEW, 5), old_answer, "the old plan still serves");
    assert!(
        sw.log().contains(&at),
        "the error is logged with its position:\n{}",
        sw.log()
    );
    let (status, metrics) = http(sw.api, "GET", "/metrics").unwrap();
    assert_eq!(status, 200);
    assert!(
        metrics.contains("switchboard_config_reloads_total{result=\"error\"} 1\n")
            && metrics.contains("switchboard_config_last_reload_ok 0\n"),
        "{metrics}"
    );

    // 3. POST /api/reload on the broken file: 422 with the diagnostics.
    let (status, body) = http(sw.api, "POST", "/api/reload").unwrap();
    assert_eq!(status, 422, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["trigger"], "api");
    assert!(
        v["errors"][0]["text"].as_str().unwrap().starts_with(&at),
        "{v:#}"
    );

    // 4. Fixed, then reloaded by SIGHUP alone: the file is left as it is after the watcher has
    // seen it, so only the signal can set off the next reload.
    std::fs::write(sw.config_path(), config(sw.dir.path(), &[OLD], "")).unwrap();
    let v = sw.wait_reload("the fix picked up", |v| v["succeeded"] == 2);
    assert_eq!(v["last"]["trigger"], "file change");
    assert_eq!(
        invite(sip, NEW, 6),
        404,
        "the number removed from the file is gone"
    );
    let pid = sw.child.id().to_string();
    let killed = Command::new("kill").args(["-HUP", &pid]).status().unwrap();
    assert!(killed.success());
    let v = sw.wait_reload("a reload on SIGHUP", |v| v["succeeded"] == 3);
    assert_eq!(v["last"]["trigger"], "SIGHUP");
    assert_eq!(v["last"]["ok"], true);
    assert!(
        sw.child.try_wait().unwrap().is_none(),
        "SIGHUP must not stop the switch"
    );

    // 5. POST /api/reload on the good file: 200.
    let (status, body) = http(sw.api, "POST", "/api/reload").unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(invite(sip, OLD, 7), old_answer);
    // The API over the real store: the refused calls above have records.
    let (status, body) = http(sw.api, "GET", "/health").unwrap();
    assert_eq!(
        (status, body.starts_with("ok switchboard ")),
        (200, true),
        "{body}"
    );
    let deadline = now() + Duration::from_secs(10);
    let calls = loop {
        let (status, body) = http(sw.api, "GET", "/api/calls?limit=100").unwrap();
        assert_eq!(status, 200, "{body}");
        let calls: Value = serde_json::from_str(&body).unwrap();
        let to_old = calls
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["callee"] == OLD)
            .count();
        if to_old >= 3 || now() > deadline {
            break calls;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let to_old: Vec<&Value> = calls
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["callee"] == OLD)
        .collect();
    assert_eq!(to_old.len(), 3, "INVITEs 1, 4 and 7: {calls:#}");
    assert_eq!(to_old[0]["caller"], "+79150000000");
    assert_eq!(to_old[0]["direction"], "inbound");
    assert_eq!(to_old[0]["landing_page"], "https://shop.example/promo");
    assert_eq!(to_old[0]["campaign"], "winter");
    let (status, body) = http(sw.api, "GET", "/api/registrations").unwrap();
    assert_eq!((status, body.as_str()), (200, "[]"));

    let log = sw.log();
    assert!(log.contains("config reloaded from"), "{log}");
    assert!(log.contains("SIGHUP: reloading the config"), "{log}");
}

#[test]
fn a_taken_api_port_stops_the_start_with_a_clear_error() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let api = taken.local_addr().unwrap();
    let mut sw = Switch::start_on(api, |dir| config(dir, &[OLD], ""));
    let deadline = now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = sw.child.try_wait().unwrap() {
            break status;
        }
        assert!(now() < deadline, "the switch did not stop:\n{}", sw.log());
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!status.success());
    let log = sw.log();
    assert!(
        log.contains(&format!("cannot listen for the HTTP API on {api}")),
        "{log}"
    );
}

/// An answered call from the trunk's side: what a BYE needs.
struct Dialog {
    sock: UdpSocket,
    sip: SocketAddr,
    target: String,
    from: String,
    to: String,
    call_id: String,
}

fn header(text: &str, name: &str) -> Option<String> {
    text.lines()
        .find(|l| {
            l.split_once(':')
                .is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case(name))
        })
        .map(|l| l.split_once(':').map_or("", |(_, v)| v.trim()).to_owned())
}

/// INVITEs `number` and waits for a 200, which it ACKs.
fn answered_call(sip: SocketAddr, number: &str, n: u32) -> Dialog {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let local = sock.local_addr().unwrap();
    let call_id = format!("reload-call-{}-{n}@127.0.0.1", std::process::id());
    let from = format!("<sip:+79150000000@127.0.0.1>;tag=from{n}");
    let sdp = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n",
        local.port() + 2
    );
    let invite = format!(
        "INVITE sip:{number}@{sip} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKcall{n}x{pid};rport\r\nMax-Forwards: 70\r\nFrom: {from}\r\nTo: <sip:{number}@{sip}>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContact: <sip:+79150000000@{local}>\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len(),
        pid = std::process::id(),
    );
    sock.send_to(invite.as_bytes(), sip).unwrap();
    let mut buf = [0u8; 65536];
    loop {
        let (len, _) = sock
            .recv_from(&mut buf)
            .unwrap_or_else(|e| panic!("no 200 for {number}: {e}"));
        let text = String::from_utf8_lossy(&buf[..len]).into_owned();
        if text.starts_with("SIP/2.0 1") {
            continue;
        }
        assert!(text.starts_with("SIP/2.0 200"), "{number}: {text}");
        let to = header(&text, "To").unwrap();
        let contact = header(&text, "Contact").unwrap();
        let target = contact
            .trim_start_matches('<')
            .split('>')
            .next()
            .unwrap()
            .to_owned();
        let d = Dialog {
            sock,
            sip,
            target,
            from,
            to,
            call_id,
        };
        d.send_request("ACK", 1, n);
        return d;
    }
}

impl Dialog {
    fn send_request(&self, method: &str, cseq: u32, n: u32) {
        let local = self.sock.local_addr().unwrap();
        let req = format!(
            "{method} {target} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{method}{n}x{pid};rport\r\nMax-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n",
            target = self.target,
            from = self.from,
            to = self.to,
            call_id = self.call_id,
            pid = std::process::id(),
        );
        self.sock.send_to(req.as_bytes(), self.sip).unwrap();
    }

    /// Hangs up; the code of the BYE's response.
    fn bye(&self, n: u32) -> u16 {
        self.send_request("BYE", 2, n);
        let mut buf = [0u8; 65536];
        loop {
            let Ok((len, _)) = self.sock.recv_from(&mut buf) else {
                return 0;
            };
            let text = String::from_utf8_lossy(&buf[..len]).into_owned();
            if let Some(code) = text.strip_prefix("SIP/2.0 ") {
                if text.contains(" BYE\r\n") {
                    return code.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
                }
            }
        }
    }
}

fn active_calls(api: SocketAddr) -> u64 {
    let (_, metrics) = http(api, "GET", "/metrics").unwrap();
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("switchboard_active_calls "))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no active calls gauge in\n{metrics}"))
}

#[test]
fn a_call_in_progress_keeps_its_plan_across_a_reload() {
    const IVR: &str = "+74950000009";
    let ivr = "[prompts]\nmain = \"en/basic-pbx-ivr-main.wav\"\n\n[[menu]]\nname = \"main\"\ngreeting = \"main\"\n\n[menu.options]\n\"1\" = \"hangup\"\n\n[[number]]\nnumber = \"+74950000009\"\nmenu = \"main\"\n";
    let mut sw = Switch::start_with(|dir| config(dir, &[OLD], ivr));
    sw.wait_for_api();
    let call = answered_call(sw.sip, IVR, 1);
    sw.wait_active_calls(1);

    // The number and its menu leave the config while the caller listens to the greeting.
    std::fs::write(sw.config_path(), config(sw.dir.path(), &[OLD], "")).unwrap();
    let v = sw.wait_reload("the reload", |v| v["succeeded"] == 1);
    assert_eq!(v["last"]["ok"], true);
    assert_eq!(invite(sw.sip, IVR, 2), 404, "new calls get the new plan");
    assert_eq!(
        active_calls(sw.api),
        1,
        "the call in progress goes on:\n{}",
        sw.log()
    );
    assert_eq!(call.bye(3), 200);
    sw.wait_active_calls(0);
}

impl Switch {
    /// The snapshot is published right after the switch's answer goes out, so the test may
    /// ask a moment before it lands.
    fn wait_active_calls(&self, n: u64) {
        let deadline = now() + Duration::from_secs(5);
        while active_calls(self.api) != n {
            assert!(
                now() < deadline,
                "active calls never became {n}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
