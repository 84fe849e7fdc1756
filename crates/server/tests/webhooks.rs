//! Webhooks end to end: the real `switchboard` binary with `[[webhook]]`s pointing at HTTP
//! receivers in this test (std TcpListener on 127.0.0.1), probed with raw SIP from the trunk's
//! address. A call nobody can answer ends 480 and must be POSTed as `call.ended` with the
//! number's source; a receiver failing once gets the event again; the signature verifies; a
//! reload moves the events to the new URL; a voicemail is POSTed as `voicemail.new`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::http::http;

const NUMBER: &str = "+74950000001";
const VOICEMAIL_NUMBER: &str = "+74950000005";
const SECRET: &str = "webhook-test-secret-0123";

/// The test reads the clock to bound its waits and time the retry.
#[allow(clippy::disallowed_methods)]
fn now() -> Instant {
    Instant::now()
}

/// One POST a receiver got.
#[derive(Debug)]
struct Received {
    at: Instant,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// What the receiver answered.
    status: u16,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

/// An HTTP receiver: answers the n-th request with `statuses[n]` (the last one from then on) and
/// hands every request to the test.
struct Receiver {
    addr: SocketAddr,
    rx: mpsc::Receiver<Received>,
}

impl Receiver {
    fn start(statuses: &'static [u16]) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for (n, stream) in listener.incoming().enumerate() {
                let Ok(stream) = stream else { continue };
                let status = statuses[n.min(statuses.len() - 1)];
                if let Some(r) = serve(stream, status) {
                    if tx.send(r).is_err() {
                        return;
                    }
                }
            }
        });
        Receiver { addr, rx }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn next(&self, what: &str, log: impl Fn() -> String) -> Received {
        self.rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("no POST for {what}:\n{}", log()))
    }

    fn nothing_for(&self, wait: Duration) -> Option<Received> {
        self.rx.recv_timeout(wait).ok()
    }
}

fn serve(mut s: TcpStream, status: u16) -> Option<Received> {
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = s.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = raw[head_end + 4..].to_vec();
    while body.len() < len {
        let n = s.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    let at = now();
    let _ = write!(
        s,
        "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    let mut parts = request_line.split(' ');
    assert_eq!(parts.next(), Some("POST"), "{request_line}");
    Some(Received {
        at,
        path: parts.next().unwrap_or("").to_owned(),
        headers,
        body,
        status,
    })
}

fn free_port() -> u16 {
    // Free for both TCP and UDP (SIP listens on both); the switch takes it over right after.
    loop {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
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
    /// Starts the switch on `body` (everything after `[server]` and `[api]`).
    fn start(body: &str) -> Switch {
        let dir = tempfile::tempdir().unwrap();
        let sip = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let api = SocketAddr::from(([127, 0, 0, 1], free_port()));
        static STARTED: AtomicU16 = AtomicU16::new(0);
        let nth = STARTED.fetch_add(1, Ordering::SeqCst) % 4;
        // Away from reload.rs's ranges (40000 + ...): those tests may run at the same time.
        let rtp_first = 30000 + ((std::process::id() % 250) as u16 * 4 + nth) * 20;
        let header = format!(
            "[server]\nsip_listen = \"{sip}\"\npublic_address = \"127.0.0.1\"\nrtp_ports = \"{}-{}\"\ndata_dir = \"{}\"\nprompts_dir = \"{}\"\nrecord_calls = false\n\n[api]\nlisten = \"{api}\"\n\n",
            rtp_first,
            rtp_first + 19,
            dir.path().join("data").display(),
            workspace().join("prompts").display(),
        );
        std::fs::write(dir.path().join("header.toml"), header).unwrap();
        write_config(dir.path(), body);
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
        let mut sw = Switch {
            child,
            dir,
            sip,
            api,
        };
        sw.wait_for_api();
        sw
    }

    fn write_config(&self, body: &str) {
        write_config(self.dir.path(), body);
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

    /// The stored record with `id`, from `GET /api/calls`.
    fn stored_call(&self, id: &str) -> Value {
        let deadline = now() + Duration::from_secs(10);
        loop {
            let (status, body) = http(self.api, "GET", "/api/calls?limit=100").unwrap();
            assert_eq!(status, 200, "{body}");
            let calls: Value = serde_json::from_str(&body).unwrap();
            if let Some(c) = calls.as_array().unwrap().iter().find(|c| c["id"] == id) {
                return c.clone();
            }
            assert!(now() < deadline, "no stored call {id} in {calls:#}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait_reloads(&self, n: u64) {
        let deadline = now() + Duration::from_secs(15);
        while now() < deadline {
            if let Ok((200, body)) = http(self.api, "GET", "/api/reload") {
                let v: Value = serde_json::from_str(&body).unwrap();
                if v["succeeded"] == n {
                    return;
                }
                assert_ne!(v["failed"], 1, "the reload failed: {v:#}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("no reload:\n{}", self.log());
    }
}

/// `header.toml` (the `[server]` and `[api]` sections) followed by `body`.
fn write_config(dir: &Path, body: &str) {
    let mut text = std::fs::read_to_string(dir.join("header.toml")).unwrap();
    text.push_str(body);
    std::fs::write(dir.join("switchboard.toml"), text).unwrap();
}

/// The trunk's side of a call, from 127.0.0.1.
struct Call {
    sock: UdpSocket,
    sip: SocketAddr,
    number: String,
    call_id: String,
    from: String,
    via: String,
}

impl Call {
    fn invite(sip: SocketAddr, number: &str, tag: &str) -> Call {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let local = sock.local_addr().unwrap();
        let call = Call {
            via: format!(
                "SIP/2.0/UDP {local};branch=z9hG4bKhook{tag}x{};rport",
                std::process::id()
            ),
            call_id: format!("hook-{tag}-{}@127.0.0.1", std::process::id()),
            from: format!("<sip:+79150000000@127.0.0.1>;tag=from{tag}"),
            number: number.to_owned(),
            sock,
            sip,
        };
        let sdp = format!(
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n",
            local.port() + 2
        );
        let invite = format!(
            "INVITE sip:{number}@{sip} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\nFrom: {from}\r\nTo: <sip:{number}@{sip}>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContact: <sip:+79150000000@{local}>\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
            sdp.len(),
            via = call.via,
            from = call.from,
            call_id = call.call_id,
        );
        call.sock.send_to(invite.as_bytes(), sip).unwrap();
        call
    }

    /// Waits for the INVITE's final response, ACKs it if it is an error, and returns its code
    /// and text.
    fn final_response(&self) -> (u16, String) {
        let mut buf = [0u8; 65536];
        loop {
            let (len, _) = self
                .sock
                .recv_from(&mut buf)
                .expect("a final response to the INVITE");
            let text = String::from_utf8_lossy(&buf[..len]).into_owned();
            let Some(code) = text
                .strip_prefix("SIP/2.0 ")
                .and_then(|r| r.get(..3))
                .and_then(|c| c.parse::<u16>().ok())
            else {
                continue;
            };
            if code < 200 || !text.contains("CSeq: 1 INVITE") {
                continue;
            }
            if code >= 300 {
                let to = header(&text, "To");
                self.send(&format!(
                    "ACK sip:{n}@{sip} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {cid}\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
                    n = self.number,
                    sip = self.sip,
                    via = self.via,
                    from = self.from,
                    cid = self.call_id,
                ));
            }
            return (code, text);
        }
    }

    /// ACKs a 200 and later hangs up with BYE.
    fn answered_then_bye(&self, ok: &str, talk: Duration) {
        let to = header(ok, "To");
        let target = header(ok, "Contact")
            .trim_start_matches('<')
            .split('>')
            .next()
            .unwrap()
            .to_owned();
        let local = self.sock.local_addr().unwrap();
        let request = |method: &str, cseq: u32| {
            format!(
                "{method} {target} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{method}{}x{};rport\r\nMax-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {cid}\r\nCSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n",
                self.call_id.len(),
                std::process::id(),
                from = self.from,
                cid = self.call_id,
            )
        };
        self.send(&request("ACK", 1));
        std::thread::sleep(talk);
        self.send(&request("BYE", 2));
    }

    fn send(&self, text: &str) {
        self.sock.send_to(text.as_bytes(), self.sip).unwrap();
    }
}

fn header(text: &str, name: &str) -> String {
    text.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
}

/// A trunk, a group nobody is registered in, and the promo number ringing it.
fn base() -> String {
    format!(
        "[[trunk]]\nname = \"provider\"\naddresses = [\"127.0.0.1\"]\n\n[[group]]\nname = \"sales\"\n\n[[operator]]\nusername = \"alice\"\npassword = \"alice-secret-1\"\ngroups = [\"sales\"]\n\n[[number]]\nnumber = \"{NUMBER}\"\nname = \"promo\"\nlanding_page = \"https://shop.example/promo\"\ncampaign = \"winter\"\nutm = {{ source = \"yandex\", medium = \"cpc\", campaign = \"winter-sale\" }}\nring = {{ group = \"sales\" }}\n\n"
    )
}

fn webhook(url: &str, events: &str) -> String {
    format!(
        "[[webhook]]\nurl = \"{url}\"\nevents = [{events}]\nsecret = \"{SECRET}\"\ntimeout = 2\n\n"
    )
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn call_ended_is_posted_with_the_numbers_source_signed_retried_and_follows_a_reload() {
    // The first POST fails with 500; the retry a second later gets 200.
    let first = Receiver::start(&[500, 200]);
    let mut sw =
        Switch::start(&(base() + &webhook(&first.url("/hooks/calls?k=1"), "\"call.ended\"")));

    let call = Call::invite(sw.sip, NUMBER, "a");
    let (code, _) = call.final_response();
    assert_eq!(code, 480, "nobody is registered:\n{}", sw.log());

    let failed = first.next("call.ended", || sw.log());
    assert_eq!(failed.status, 500);
    let retried = first.next("the retry of call.ended", || sw.log());
    assert_eq!(retried.status, 200);
    let gap = retried.at - failed.at;
    assert!(
        gap >= Duration::from_millis(900) && gap < Duration::from_secs(4),
        "retry after {gap:?}, expected about 1 s"
    );
    assert_eq!(failed.body, retried.body, "the same event again");
    assert!(
        first.nothing_for(Duration::from_millis(1500)).is_none(),
        "delivered once 200 came"
    );

    let r = &retried;
    assert_eq!(r.path, "/hooks/calls?k=1");
    assert_eq!(r.header("Content-Type"), Some("application/json"));
    assert_eq!(r.header("X-Switchboard-Event"), Some("call.ended"));
    let v = r.json();
    assert_eq!(v["event"], "call.ended");
    assert_eq!(r.header("X-Switchboard-Delivery"), v["event_id"].as_str());
    // The call's id is the switch's, the one its stored record has.
    let stored = sw.stored_call(v["call_id"].as_str().unwrap());
    assert_eq!(stored["landing_page"], v["landing_page"]);
    assert_eq!(stored["disposition"], v["disposition"]);
    assert_eq!(v["node_id"], "node1");
    assert_eq!(v["direction"], "inbound");
    assert_eq!(v["caller"], "+79150000000");
    assert_eq!(v["number"], NUMBER);
    assert_eq!(v["number_name"], "promo");
    assert_eq!(v["landing_page"], "https://shop.example/promo");
    assert_eq!(v["campaign"], "winter");
    assert_eq!(
        v["utm"],
        serde_json::json!({"source": "yandex", "medium": "cpc", "campaign": "winter-sale"})
    );
    assert_eq!(v["trunk"], "provider");
    assert_eq!(v["operator"], Value::Null);
    assert_eq!(v["disposition"], "missed", "nobody could answer");
    assert_eq!(v["answered_at"], Value::Null);
    assert_eq!(v["talk_ms"], 0);
    assert!(v["duration_ms"].as_i64().unwrap() >= 0);
    assert!(v["time"].as_str().unwrap().ends_with('Z'), "{v}");

    // The signature: HMAC-SHA256 of the exact body under the secret, checked against a MAC
    // computed here and against a tampered body.
    let sig = r.header("X-Switchboard-Signature").expect("signed");
    let mac = switchboard::webhook::sign::hmac_sha256(SECRET.as_bytes(), &r.body);
    assert_eq!(sig, format!("sha256={}", hex(&mac)));
    let mut tampered = r.body.clone();
    tampered[0] ^= 1;
    assert_ne!(
        sig,
        format!(
            "sha256={}",
            hex(&switchboard::webhook::sign::hmac_sha256(
                SECRET.as_bytes(),
                &tampered
            ))
        )
    );

    // A reload points the webhook elsewhere: the next call's event goes there alone.
    let second = Receiver::start(&[204]);
    sw.write_config(&(base() + &webhook(&second.url("/v2"), "\"call.ended\", \"voicemail.new\"")));
    sw.wait_reloads(1);
    let call_b = Call::invite(sw.sip, NUMBER, "b");
    assert_eq!(Call::final_response(&call_b).0, 480);
    let r = second.next("call.ended after the reload", || sw.log());
    assert_eq!(r.path, "/v2");
    let second_id = r.json()["call_id"].as_str().unwrap().to_owned();
    assert_ne!(Value::from(second_id.as_str()), v["call_id"]);
    sw.stored_call(&second_id);
    assert!(first.nothing_for(Duration::from_millis(500)).is_none());
    assert!(sw.child.try_wait().unwrap().is_none());
}

#[test]
fn a_voicemail_is_posted_as_voicemail_new() {
    let hooks = Receiver::start(&[200]);
    let body = base()
        + &format!(
            "[[voicemail]]\nname = \"main\"\n\n[[number]]\nnumber = \"{VOICEMAIL_NUMBER}\"\nname = \"vm\"\ncampaign = \"autumn\"\nlanding_page = \"https://shop.example/vm\"\nutm = {{ source = \"mail\" }}\nvoicemail = \"main\"\n\n"
        )
        + &webhook(&hooks.url("/vm"), "\"voicemail.new\"");
    let sw = Switch::start(&body);
    let call = Call::invite(sw.sip, VOICEMAIL_NUMBER, "vm");
    let (code, ok) = call.final_response();
    assert_eq!(code, 200, "the voicemail box answers:\n{}", sw.log());
    // No greeting and no beep: recording starts at the answer; the caller hangs up.
    call.answered_then_bye(&ok, Duration::from_millis(300));

    let r = hooks.next("voicemail.new", || sw.log());
    assert_eq!(r.header("X-Switchboard-Event"), Some("voicemail.new"));
    let v = r.json();
    assert_eq!(v["event"], "voicemail.new");
    sw.stored_call(v["call_id"].as_str().unwrap());
    assert_eq!(v["mailbox"], "main");
    assert_eq!(v["caller"], "+79150000000");
    assert_eq!(v["number"], VOICEMAIL_NUMBER);
    assert_eq!(v["number_name"], "vm");
    assert_eq!(v["landing_page"], "https://shop.example/vm");
    assert_eq!(v["campaign"], "autumn");
    assert_eq!(v["utm"], serde_json::json!({"source": "mail"}));
    let path = v["voicemail_path"].as_str().unwrap();
    assert!(path.ends_with(".wav"), "{path}");
    assert!(Path::new(path).exists(), "the file is there: {path}");
    assert!(v["duration_ms"].as_i64().unwrap() >= 0);
    // Only the events asked for: no call.ended here.
    assert!(hooks.nothing_for(Duration::from_millis(800)).is_none());
}
