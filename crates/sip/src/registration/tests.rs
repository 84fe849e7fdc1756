//! The registration machine against a simulated provider whose registrar
//! checks credentials with the real `DigestServer`, on a simulated clock.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::SeedableRng;

use super::*;
use crate::auth::{Algorithm, AuthOutcome, Credentials, DigestServer, Secret};

const REALM: &str = "provider.example";
const UNIX0: u64 = 1_700_000_000;

fn params() -> RegistrationParams {
    RegistrationParams {
        aor: "sip:shop@provider.example".into(),
        username: "shop".into(),
        password: "s3cret".into(),
        registrar: "sip:provider.example:5060".into(),
        expires: 600,
        contact: "sip:shop@203.0.113.5:5070".into(),
        realm: None,
        transport: "UDP".into(),
        sent_by: "203.0.113.5:5070".into(),
        user_agent: Some("switchboard-test".into()),
    }
}

/// A registrar that knows the password `s3cret` and issues nonces valid
/// for `max_age` seconds.
struct Provider {
    digest: DigestServer,
    t0: Instant,
    source: IpAddr,
}

impl Provider {
    fn new(t0: Instant, max_age: u64) -> Provider {
        Provider {
            digest: DigestServer::new(b"provider key", max_age),
            t0,
            source: "203.0.113.5".parse().expect("ip"),
        }
    }

    fn unix(&self, now: Instant) -> u64 {
        UNIX0 + now.duration_since(self.t0).as_secs()
    }

    fn challenge(&self, req: &Request, now: Instant, stale: bool) -> Response {
        let c = self
            .digest
            .challenge(REALM, Algorithm::Md5, self.unix(now), self.source, stale);
        let mut r = Response::for_request(req, 401).with_to_tag("prov");
        r.headers.push("WWW-Authenticate", c.to_string());
        r
    }

    /// What a real registrar would check: credentials present and right.
    fn verify(&self, req: &Request, now: Instant) -> AuthOutcome {
        let Some(value) = req.headers.get("Authorization") else {
            return AuthOutcome::Rejected("no credentials");
        };
        let creds = Credentials::parse(value).expect("our Authorization parses");
        assert_eq!(creds.uri, req.uri, "digest uri is the Request-URI");
        self.digest.verify_credentials(
            &creds,
            &Method::Register,
            REALM,
            self.unix(now),
            self.source,
            |user, _| (user == "shop").then_some(Secret::Password("s3cret")),
        )
    }

    fn ok(&self, req: &Request, contact_expires: Option<u32>, header: Option<u32>) -> Response {
        let mut r = Response::for_request(req, 200).with_to_tag("prov");
        if let Some(e) = contact_expires {
            // Another binding of the same AOR first: ours must be found.
            r.headers
                .push("Contact", "<sip:other@198.51.100.1>;expires=3600");
            r.headers.push(
                "Contact",
                format!("<sip:shop@203.0.113.5:5070>;expires={e}"),
            );
        }
        if let Some(e) = header {
            r.headers.push("Expires", e.to_string());
        }
        r
    }
}

fn nc_of(req: &Request) -> Option<String> {
    let v = req
        .headers
        .get("Authorization")
        .or(req.headers.get("Proxy-Authorization"))?;
    Credentials::parse(v).ok()?.nc
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Registers through one challenge at `t0`; returns the machine, rng,
/// provider and `t0`.
fn registered(expires_granted: u32) -> (Registration, StdRng, Provider, Instant) {
    let t0 = base();
    let mut rng = StdRng::seed_from_u64(7);
    let prov = Provider::new(t0, 300);
    let mut reg = Registration::new(params());
    reg.register(t0);
    let first = reg.poll_request(&mut rng).expect("first REGISTER");
    reg.handle_response(&prov.challenge(&first, t0, false), t0);
    let second = reg.poll_request(&mut rng).expect("answer to the challenge");
    assert_eq!(prov.verify(&second, t0), AuthOutcome::Authorized);
    reg.handle_response(&prov.ok(&second, Some(expires_granted), None), t0);
    (reg, rng, prov, t0)
}

/// Any base instant will do: time then moves only by addition.
#[allow(clippy::disallowed_methods)] // the one clock reading, in a test
fn base() -> Instant {
    Instant::now()
}

#[test]
fn first_register_is_challenged_then_authorized() {
    let t0 = base();
    let mut rng = StdRng::seed_from_u64(1);
    let prov = Provider::new(t0, 300);
    let mut reg = Registration::new(params());
    assert_eq!(*reg.state(), RegistrationState::Unregistered);
    assert!(
        reg.poll_request(&mut rng).is_none(),
        "nothing before register()"
    );
    reg.register(t0);
    assert_eq!(*reg.state(), RegistrationState::Registering);

    let first = reg.poll_request(&mut rng).expect("REGISTER");
    assert!(
        reg.poll_request(&mut rng).is_none(),
        "one request at a time"
    );
    assert_eq!(first.method, Method::Register);
    assert_eq!(first.uri, "sip:provider.example:5060");
    assert_eq!(first.cseq().expect("cseq").seq, 1);
    assert_eq!(first.expires(), Some(600));
    assert!(first.headers.get("Authorization").is_none());
    let via = first.top_via().expect("via");
    assert!(via.has_rfc3261_branch());
    assert_eq!((via.host.as_str(), via.port), ("203.0.113.5", Some(5070)));
    assert_eq!(via.rport(), Some(None));
    let from = first.from().expect("from");
    assert!(from.tag().is_some());
    assert_eq!(from.uri.to_string(), "sip:shop@provider.example");
    assert!(first.to().expect("to").tag().is_none());
    assert_eq!(
        first
            .contact()
            .expect("contact")
            .expect("one")
            .uri
            .to_string(),
        "sip:shop@203.0.113.5:5070"
    );

    // A provisional changes nothing; the challenge is answered at once.
    reg.handle_response(&Response::for_request(&first, 100), t0);
    assert!(reg.poll_request(&mut rng).is_none());
    let t1 = t0 + Duration::from_millis(40);
    reg.handle_response(&prov.challenge(&first, t1, false), t1);
    let second = reg.poll_request(&mut rng).expect("authorized REGISTER");
    assert_eq!(second.call_id().ok(), first.call_id().ok());
    assert_eq!(second.cseq().expect("cseq").seq, 2);
    assert_ne!(
        second.top_via().expect("via").branch(),
        via.branch(),
        "new transaction, new branch"
    );
    assert_eq!(second.from().expect("from").tag(), from.tag());
    assert_eq!(nc_of(&second).as_deref(), Some("00000001"));
    assert_eq!(prov.verify(&second, t1), AuthOutcome::Authorized);
    assert_eq!(
        reg.poll_timeout(),
        None,
        "in flight: the transaction times it"
    );

    let t2 = t1 + Duration::from_millis(40);
    reg.handle_response(&prov.ok(&second, Some(600), Some(3600)), t2);
    // Our Contact's expires wins over the Expires header, counted from the send.
    assert_eq!(
        *reg.state(),
        RegistrationState::Registered {
            expires_at: t1 + secs(600)
        }
    );
    assert_eq!(reg.poll_timeout(), Some(t1 + secs(300)));
    assert!(reg.poll_request(&mut rng).is_none());
}

#[test]
fn refresh_at_half_the_granted_expiry_and_short_ones_ten_seconds_early() {
    let (mut reg, mut rng, prov, t0) = registered(3600);
    assert_eq!(reg.poll_timeout(), Some(t0 + secs(1800)));
    reg.handle_timeout(t0 + secs(1799));
    assert!(reg.poll_request(&mut rng).is_none(), "not yet");

    let t1 = t0 + secs(1800);
    reg.handle_timeout(t1);
    let refresh = reg.poll_request(&mut rng).expect("refresh");
    assert_eq!(refresh.cseq().expect("cseq").seq, 3);
    assert_eq!(refresh.expires(), Some(600), "asks for what is configured");
    // The old nonce is reused up front with the next nonce count; this
    // provider's nonces live 300 s so it is stale by now (tested below).
    assert_eq!(nc_of(&refresh).as_deref(), Some("00000002"));
    assert!(matches!(reg.state(), RegistrationState::Registered { .. }));
    assert_eq!(reg.poll_timeout(), None);

    // Granted via the Expires header alone, a short one: 10 s early.
    let fresh_prov = Provider::new(t1, 300);
    reg.handle_response(&fresh_prov.ok(&refresh, None, Some(60)), t1);
    assert_eq!(
        *reg.state(),
        RegistrationState::Registered {
            expires_at: t1 + secs(60)
        }
    );
    assert_eq!(reg.poll_timeout(), Some(t1 + secs(50)));
    let t2 = t1 + secs(50);
    reg.handle_timeout(t2);
    let again = reg.poll_request(&mut rng).expect("second refresh");
    // Very short: never later than half.
    reg.handle_response(&prov.ok(&again, Some(16), None), t2);
    assert_eq!(reg.poll_timeout(), Some(t2 + secs(8)));
}

#[test]
fn refresh_with_stale_nonce_is_rechallenged_and_answered() {
    let (mut reg, mut rng, prov, t0) = registered(600);
    let t1 = t0 + secs(300);
    assert_eq!(reg.poll_timeout(), Some(t1));
    reg.handle_timeout(t1);
    let refresh = reg.poll_request(&mut rng).expect("refresh");
    // The provider's nonce is 300 s old: right password, stale nonce.
    let t1 = t1 + secs(1);
    assert_eq!(prov.verify(&refresh, t1), AuthOutcome::Stale);
    reg.handle_response(&prov.challenge(&refresh, t1, true), t1);
    let answer = reg
        .poll_request(&mut rng)
        .expect("answer with the new nonce");
    assert_eq!(nc_of(&answer).as_deref(), Some("00000001"), "nc restarts");
    assert_eq!(prov.verify(&answer, t1), AuthOutcome::Authorized);
    reg.handle_response(&prov.ok(&answer, Some(600), None), t1);
    assert_eq!(
        *reg.state(),
        RegistrationState::Registered {
            expires_at: t1 + secs(600)
        }
    );

    // A provider that calls every answer stale is not followed forever.
    let t2 = t1 + secs(300);
    reg.handle_timeout(t2);
    let mut req = reg.poll_request(&mut rng).expect("refresh");
    let mut sent = 1;
    while let Some(r) = {
        reg.handle_response(&prov.challenge(&req, t2, true), t2);
        reg.poll_request(&mut rng)
    } {
        req = r;
        sent += 1;
        assert!(sent < 10, "stale loop not broken");
    }
    assert!(
        matches!(reg.state(), RegistrationState::Failed { reason, .. } if reason.contains("stale")),
        "{:?}",
        reg.state()
    );
}

#[test]
fn wrong_password_fails_without_looping() {
    let t0 = base();
    let mut rng = StdRng::seed_from_u64(3);
    let prov = Provider::new(t0, 300);
    let mut reg = Registration::new(RegistrationParams {
        password: "wrong".into(),
        ..params()
    });
    reg.register(t0);
    let first = reg.poll_request(&mut rng).expect("REGISTER");
    let challenge = prov.challenge(&first, t0, false);
    reg.handle_response(&challenge, t0);
    let second = reg.poll_request(&mut rng).expect("answer");
    assert_eq!(
        prov.verify(&second, t0),
        AuthOutcome::Rejected("wrong password")
    );
    // The registrar challenges again with the same nonce, not stale.
    let mut again = Response::for_request(&second, 401).with_to_tag("prov");
    again.headers.push(
        "WWW-Authenticate",
        challenge
            .headers
            .get("WWW-Authenticate")
            .expect("challenge"),
    );
    reg.handle_response(&again, t0);
    assert!(reg.poll_request(&mut rng).is_none(), "no loop");
    match reg.state() {
        RegistrationState::Failed { reason, retry_at } => {
            assert!(reason.contains("rejected the credentials"), "{reason}");
            assert!(reason.contains("shop"), "{reason}");
            assert_eq!(*retry_at, t0 + MAX_BACKOFF);
        }
        other => panic!("expected Failed, got {other:?}"),
    }
    assert_eq!(reg.poll_timeout(), Some(t0 + MAX_BACKOFF));
    reg.handle_timeout(t0 + MAX_BACKOFF - secs(1));
    assert!(reg.poll_request(&mut rng).is_none());

    // After the long wait it tries once more, starting without credentials;
    // a fresh nonce (as Asterisk-like registrars send) is refused the same way.
    let t1 = t0 + MAX_BACKOFF;
    reg.handle_timeout(t1);
    assert_eq!(*reg.state(), RegistrationState::Registering);
    let retry = reg.poll_request(&mut rng).expect("retry");
    assert!(retry.headers.get("Authorization").is_none());
    reg.handle_response(&prov.challenge(&retry, t1, false), t1);
    let answer = reg.poll_request(&mut rng).expect("answer");
    reg.handle_response(&prov.challenge(&answer, t1 + secs(1), false), t1);
    assert!(reg.poll_request(&mut rng).is_none());
    assert!(matches!(reg.state(), RegistrationState::Failed { .. }));
}

#[test]
fn realm_other_than_configured_is_refused() {
    let t0 = base();
    let mut rng = StdRng::seed_from_u64(4);
    let prov = Provider::new(t0, 300);
    let mut reg = Registration::new(RegistrationParams {
        realm: Some("sip.other.example".into()),
        ..params()
    });
    reg.register(t0);
    let first = reg.poll_request(&mut rng).expect("REGISTER");
    reg.handle_response(&prov.challenge(&first, t0, false), t0);
    assert!(
        reg.poll_request(&mut rng).is_none(),
        "no password hash for them"
    );
    assert!(
        matches!(reg.state(), RegistrationState::Failed { reason, .. } if reason.contains("realm")),
        "{:?}",
        reg.state()
    );
}

#[test]
fn proxy_challenge_is_answered_with_proxy_authorization() {
    let t0 = base();
    let mut rng = StdRng::seed_from_u64(5);
    let mut reg = Registration::new(params());
    reg.register(t0);
    let first = reg.poll_request(&mut rng).expect("REGISTER");
    let mut r = Response::for_request(&first, 407);
    r.headers.push(
        "Proxy-Authenticate",
        r#"Digest realm="provider.example", nonce="abc", qop="auth", algorithm=SHA-256"#,
    );
    reg.handle_response(&r, t0);
    let second = reg.poll_request(&mut rng).expect("answer");
    assert!(second.headers.get("Authorization").is_none());
    let creds = Credentials::parse(
        second
            .headers
            .get("Proxy-Authorization")
            .expect("Proxy-Authorization"),
    )
    .expect("parses");
    assert_eq!(creds.algorithm, Algorithm::Sha256);
    assert!(creds.response_matches(&Method::Register, Secret::Password("s3cret")));
}

#[test]
fn interval_too_brief_retries_with_min_expires() {
    let t0 = base();
    let mut rng = StdRng::seed_from_u64(6);
    let mut reg = Registration::new(RegistrationParams {
        expires: 60,
        ..params()
    });
    reg.register(t0);
    let first = reg.poll_request(&mut rng).expect("REGISTER");
    assert_eq!(first.expires(), Some(60));
    let mut brief = Response::for_request(&first, 423);
    brief.headers.push("Min-Expires", "900");
    reg.handle_response(&brief, t0);
    let second = reg.poll_request(&mut rng).expect("retry at once");
    assert_eq!(second.expires(), Some(900));
    assert_eq!(second.cseq().expect("cseq").seq, 2);
    let ok = Response::for_request(&second, 200);
    reg.handle_response(&ok, t0);
    // No Contact, no Expires: what we asked for was granted.
    assert_eq!(
        *reg.state(),
        RegistrationState::Registered {
            expires_at: t0 + secs(900)
        }
    );
    // Refreshes keep asking for the raised value.
    reg.handle_timeout(t0 + secs(450));
    let refresh = reg.poll_request(&mut rng).expect("refresh");
    assert_eq!(refresh.expires(), Some(900));

    // 423 without Min-Expires (or not above what we asked) fails instead.
    let mut bad = Response::for_request(&refresh, 423);
    bad.headers.push("Min-Expires", "900");
    reg.handle_response(&bad, t0 + secs(450));
    assert!(reg.poll_request(&mut rng).is_none());
    assert!(matches!(reg.state(), RegistrationState::Failed { .. }));
}

#[test]
fn timeouts_back_off_from_5_seconds_doubling_to_5_minutes() {
    let t0 = base();
    let mut rng = StdRng::seed_from_u64(8);
    let mut reg = Registration::new(params());
    reg.register(t0);
    let mut now = t0;
    let mut delays = Vec::new();
    for _ in 0..9 {
        assert!(reg.poll_request(&mut rng).is_some());
        now += secs(32); // Timer F
        reg.handle_failure(now);
        let Some(retry) = reg.poll_timeout() else {
            panic!("no retry scheduled: {:?}", reg.state());
        };
        assert!(
            matches!(reg.state(), RegistrationState::Failed { reason, .. } if reason.contains("no answer"))
        );
        delays.push(retry.duration_since(now).as_secs());
        reg.handle_timeout(retry - Duration::from_millis(1));
        assert!(reg.poll_request(&mut rng).is_none(), "early");
        now = retry;
        reg.handle_timeout(now);
    }
    assert_eq!(delays, [5, 10, 20, 40, 80, 160, 300, 300, 300]);

    // A success resets the backoff; a late failure report is ignored.
    let req = reg.poll_request(&mut rng).expect("attempt");
    reg.handle_response(&Response::for_request(&req, 200), now);
    assert!(matches!(reg.state(), RegistrationState::Registered { .. }));
    reg.handle_failure(now);
    assert!(matches!(reg.state(), RegistrationState::Registered { .. }));
    reg.handle_timeout(now + secs(300));
    assert!(reg.poll_request(&mut rng).is_some());
    reg.handle_failure(now + secs(300));
    assert_eq!(reg.poll_timeout(), Some(now + secs(305)));
}

#[test]
fn server_errors_honour_retry_after() {
    let t0 = base();
    let mut rng = StdRng::seed_from_u64(9);
    let mut reg = Registration::new(params());
    reg.register(t0);
    let req = reg.poll_request(&mut rng).expect("REGISTER");
    let mut busy = Response::for_request(&req, 503);
    busy.headers.push("Retry-After", "120 (maintenance)");
    reg.handle_response(&busy, t0);
    assert!(
        matches!(reg.state(), RegistrationState::Failed { reason, retry_at } if reason.contains("503") && *retry_at == t0 + secs(120))
    );
}

#[test]
fn responses_to_other_requests_are_ignored() {
    let t0 = base();
    let mut rng = StdRng::seed_from_u64(10);
    let mut reg = Registration::new(params());
    reg.register(t0);
    let req = reg.poll_request(&mut rng).expect("REGISTER");
    let mut other = Response::for_request(&req, 200);
    other.headers.set("CSeq", "7 REGISTER");
    reg.handle_response(&other, t0);
    let mut foreign = Response::for_request(&req, 200);
    foreign.headers.set("Call-ID", "someone-else");
    reg.handle_response(&foreign, t0);
    let mut garbage = Response::for_request(&req, 200);
    garbage.headers.remove("CSeq");
    reg.handle_response(&garbage, t0);
    assert_eq!(*reg.state(), RegistrationState::Registering);
    reg.handle_response(&Response::for_request(&req, 200), t0);
    assert!(matches!(reg.state(), RegistrationState::Registered { .. }));
}

#[test]
fn unregister_sends_expires_zero_once_registered() {
    let (mut reg, mut rng, prov, t0) = registered(600);
    let t1 = t0 + secs(10);
    reg.unregister(t1);
    assert_eq!(*reg.state(), RegistrationState::Unregistering);
    let bye = reg.poll_request(&mut rng).expect("unREGISTER");
    assert_eq!(bye.expires(), Some(0));
    assert_eq!(bye.cseq().expect("cseq").seq, 3);
    assert_eq!(prov.verify(&bye, t1), AuthOutcome::Authorized);
    reg.handle_response(&Response::for_request(&bye, 200), t1);
    assert_eq!(*reg.state(), RegistrationState::Unregistered);
    assert_eq!(reg.poll_timeout(), None);
    assert!(reg.poll_request(&mut rng).is_none());

    // Never registered: nothing to remove, nothing sent.
    let mut idle = Registration::new(params());
    idle.unregister(t1);
    assert!(idle.poll_request(&mut rng).is_none());
    assert_eq!(*idle.state(), RegistrationState::Unregistered);

    // A failing unregister does not schedule retries.
    reg.register(t1);
    let req = reg.poll_request(&mut rng).expect("REGISTER");
    reg.handle_response(&Response::for_request(&req, 200), t1);
    reg.unregister(t1);
    assert!(reg.poll_request(&mut rng).is_some());
    reg.handle_failure(t1 + secs(32));
    assert_eq!(*reg.state(), RegistrationState::Unregistered);
    assert_eq!(reg.poll_timeout(), None);
}
