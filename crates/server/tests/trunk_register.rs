//! Outbound registration against a real peer: SIPp plays the trunk
//! provider's registrar (`tests/sipp/provider_registrar.xml`: 401 challenge,
//! digest verified by SIPp itself, 200 granting 4 s, refresh, unregister).
//!
//! The switch side is exactly what the core runs: the
//! `sip::registration` machine with its REGISTERs carried by a
//! `sip::transaction` layer, here over a real UDP socket on 127.0.0.1 (both
//! ports chosen by the OS) and the real clock.

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::SeedableRng;
use sip::registration::{Registration, RegistrationParams, RegistrationState};
use sip::transaction::{Output, Target, TimerConfig, TransactionId, TransactionLayer, TuEvent};

#[derive(Debug, Clone, Copy)]
struct Udp(SocketAddr);

impl Target for Udp {
    fn is_reliable(&self) -> bool {
        false
    }
}

/// The driver side of this test reads the clock.
#[allow(clippy::disallowed_methods)]
fn now() -> Instant {
    Instant::now()
}

fn scenario() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/sipp/provider_registrar.xml")
}

/// SIPp as a UAS on a free port; killed if the test ends first.
struct Sipp {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Sipp {
    fn start(name: &str) -> Sipp {
        let found = Command::new("sipp")
            .arg("-v")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        assert!(
            found.is_ok(),
            "sipp is not installed: run scripts/test.sh (it installs sip-tester), \
             or apt-get install sip-tester"
        );
        // The kernel picks a free port; SIPp takes it over right after.
        let port = UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .expect("free port")
            .port();
        let dir =
            std::env::temp_dir().join(format!("trunk-register-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let log = dir.join("messages.log");
        let child = Command::new("sipp")
            .current_dir(&dir)
            .arg("-sf")
            .arg(scenario())
            .args(["-i", "127.0.0.1", "-bind_local", "-p"])
            .arg(port.to_string())
            .args(["-m", "1", "-nostdin", "-timeout", "30s", "-timeout_error"])
            .args(["-trace_msg", "-message_file"])
            .arg(&log)
            .args(["-trace_err", "-error_file"])
            .arg(dir.join("errors.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sipp starts");
        Sipp {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            log,
        }
    }

    /// Waits for SIPp to finish its one call; its exit code 0 means every
    /// check of the scenario passed.
    fn finish(mut self) -> (bool, String) {
        let deadline = now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait sipp") {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                return (status.success(), log);
            }
            if now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("sipp did not finish");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The machine, a transaction layer and a socket, driven like the core does.
struct Client {
    sock: UdpSocket,
    layer: TransactionLayer<Udp>,
    reg: Registration,
    rng: StdRng,
    registrar: Udp,
    pending: Option<TransactionId>,
    sent: Vec<sip::Request>,
}

impl Client {
    fn new(registrar: SocketAddr, password: &str) -> Client {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let local = sock.local_addr().expect("addr");
        let reg = Registration::new(RegistrationParams {
            aor: "sip:shop@provider.test".into(),
            username: "shop".into(),
            password: password.into(),
            registrar: format!("sip:{registrar}"),
            expires: 600,
            contact: format!("sip:shop@{local}"),
            realm: Some("provider.test".into()),
            transport: "UDP".into(),
            sent_by: local.to_string(),
            user_agent: Some("switchboard-test".into()),
        });
        Client {
            sock,
            layer: TransactionLayer::new(TimerConfig::default()),
            reg,
            rng: StdRng::seed_from_u64(42),
            registrar: Udp(registrar),
            pending: None,
            sent: Vec::new(),
        }
    }

    /// Sends what the machine wants, moves the layer's output to the wire
    /// and its events back into the machine.
    fn pump(&mut self) {
        loop {
            let t = now();
            if let Some(req) = self.reg.poll_request(&mut self.rng) {
                self.sent.push(req.clone());
                let tx = self
                    .layer
                    .send_request(req, self.registrar, t)
                    .expect("REGISTER starts a transaction");
                self.pending = Some(tx);
                continue;
            }
            let Some(out) = self.layer.poll_output() else {
                return;
            };
            match out {
                Output::Transmit(tx) => {
                    self.sock
                        .send_to(&tx.message.to_bytes(), tx.target.0)
                        .expect("send");
                }
                Output::Event(TuEvent::Response { tx, response }) if Some(tx) == self.pending => {
                    self.reg.handle_response(&response, t)
                }
                Output::Event(TuEvent::Timeout { tx } | TuEvent::TransportError { tx })
                    if Some(tx) == self.pending =>
                {
                    self.reg.handle_failure(t)
                }
                Output::Event(_) => {}
            }
        }
    }

    /// Runs until `done` holds for the state, or `limit` passes.
    fn run_until(&mut self, limit: Duration, done: impl Fn(&RegistrationState) -> bool) {
        let give_up = now() + limit;
        let mut buf = vec![0u8; 65536];
        loop {
            self.pump();
            if done(self.reg.state()) {
                return;
            }
            let t = now();
            assert!(t < give_up, "stuck in {:?}", self.reg.state());
            let wake = [
                self.layer.poll_timeout(),
                self.reg.poll_timeout(),
                Some(give_up),
            ]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(give_up);
            let wait = wake
                .saturating_duration_since(t)
                .max(Duration::from_millis(1));
            self.sock.set_read_timeout(Some(wait)).expect("timeout");
            match self.sock.recv_from(&mut buf) {
                Ok((n, from)) => {
                    let msg = sip::parse_message(&buf[..n]).expect("SIPp sends valid SIP");
                    let _ = self.layer.handle_message(msg, Udp(from), now());
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    let t = now();
                    self.layer.handle_timeout(t);
                    self.reg.handle_timeout(t);
                }
                // ICMP port unreachable while SIPp starts: the transaction
                // retransmits.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
                Err(e) => panic!("recv: {e}"),
            }
        }
    }
}

fn registered(s: &RegistrationState) -> bool {
    matches!(s, RegistrationState::Registered { .. })
}

#[test]
fn registers_with_digest_refreshes_and_unregisters_at_sipp() {
    let sipp = Sipp::start("ok");
    let mut c = Client::new(sipp.addr, "trunk-secret");
    let started = now();
    c.reg.register(started);
    c.run_until(Duration::from_secs(10), registered);
    let RegistrationState::Registered { expires_at } = *c.reg.state() else {
        unreachable!()
    };
    // SIPp granted 4 s in our Contact (counted from the answer's sending,
    // which may follow a retransmission while SIPp starts); its Expires:
    // 3600 must not win.
    let left = expires_at.saturating_duration_since(started);
    assert!(left <= Duration::from_secs(8), "expires in {left:?}");
    assert_eq!(c.sent.len(), 2, "challenge answered once");
    assert!(c.sent[0].headers.get("Authorization").is_none());
    assert!(c.sent[1].headers.get("Authorization").is_some());

    // The refresh is due 2 s in (half of 4 s) and is granted again.
    let refresh_at = c.reg.poll_timeout().expect("refresh scheduled");
    assert!(refresh_at <= expires_at - Duration::from_secs(1));
    c.run_until(
        Duration::from_secs(8),
        |s| matches!(s, RegistrationState::Registered { expires_at: e } if *e > expires_at),
    );
    assert_eq!(
        c.sent.len(),
        3,
        "refreshed with the nonce reused, no new challenge"
    );
    let call_ids: Vec<_> = c.sent.iter().map(|r| r.call_id().ok()).collect();
    assert!(call_ids.iter().all(|id| *id == call_ids[0]), "one Call-ID");
    let cseqs: Vec<u32> = c.sent.iter().map(|r| r.cseq().expect("cseq").seq).collect();
    assert_eq!(cseqs, [1, 2, 3]);

    c.reg.unregister(now());
    c.run_until(Duration::from_secs(5), |s| {
        *s == RegistrationState::Unregistered
    });
    assert_eq!(c.sent.last().and_then(|r| r.expires()), Some(0));

    let (ok, log) = sipp.finish();
    assert!(ok, "SIPp's registrar checks failed; its messages:\n{log}");
}

#[test]
fn wrong_password_is_reported_and_not_retried_at_sipp() {
    let sipp = Sipp::start("wrong");
    let mut c = Client::new(sipp.addr, "not-the-password");
    c.reg.register(now());
    c.run_until(Duration::from_secs(10), |s| {
        matches!(s, RegistrationState::Failed { .. })
    });
    let RegistrationState::Failed { reason, retry_at } = c.reg.state().clone() else {
        unreachable!()
    };
    assert!(reason.contains("rejected the credentials"), "{reason}");
    assert!(
        retry_at >= now() + Duration::from_secs(290),
        "long wait before retrying"
    );
    // SIPp waits 2 s for a looping REGISTER; keep the client running meanwhile.
    let quiet_until = now() + Duration::from_secs(3);
    c.run_until(Duration::from_secs(4), |_| now() >= quiet_until);
    assert_eq!(c.sent.len(), 2, "no REGISTER after the refusal");
    let (ok, log) = sipp.finish();
    assert!(ok, "SIPp saw a retry loop or a bad message:\n{log}");
}
