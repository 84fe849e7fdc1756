//! The registrar: digest challenge and verification, interval limits,
//! unregistering, several contacts, persistence and NAT.

use sip::auth::{authorization_for, Algorithm, Challenge};
use sip::Method;

use crate::harness::{param, trunk, udp, Sim, UNIX_AT_ORIGIN};
use crate::peers::{Phone, TrunkCall};

#[test]
fn challenge_then_right_digest_registers_with_contact_and_expires() {
    let mut sim = Sim::new();
    let mut alice = Phone::alice();
    let first = alice.register_text("<sip:alice@198.51.100.10:5062>", Some(300), None);
    sim.deliver(alice.peer, &first);
    let challenge = sim.expect_response(alice.peer, 401);
    let offered: Vec<Challenge> = challenge
        .headers
        .get_all("WWW-Authenticate")
        .map(|v| Challenge::parse(v).expect("a well-formed challenge"))
        .collect();
    let algorithms: Vec<Algorithm> = offered.iter().map(|c| c.algorithm).collect();
    // MD5 only: baresip fails on algorithms it lacks, SIPp takes the first.
    assert_eq!(algorithms, [Algorithm::Md5]);
    assert!(offered.iter().all(|c| c.realm == "switchboard" && !c.stale));
    assert!(sim.saved.is_empty(), "nothing is bound before the digest");

    let auth = alice.authorization(&challenge, None);
    let second = alice.register_text("<sip:alice@198.51.100.10:5062>", Some(300), Some(&auth));
    sim.deliver(alice.peer, &second);
    let ok = sim.expect_response(alice.peer, 200);
    let contacts: Vec<&str> = ok.headers.get_all("Contact").collect();
    assert_eq!(contacts, ["<sip:alice@198.51.100.10:5062>;expires=300"]);
    assert!(param(ok.headers.get("To").unwrap(), "tag").is_some());
    assert_eq!(ok.headers.get("CSeq"), Some("2 REGISTER"));

    assert_eq!(sim.saved.len(), 1);
    let saved = &sim.saved[0];
    assert_eq!(saved.username, "alice");
    assert_eq!(saved.contact, "sip:alice@198.51.100.10:5062");
    assert_eq!(saved.received, alice.peer.addr);
    assert_eq!(saved.expires_at, UNIX_AT_ORIGIN as i64 + 300);
    assert_eq!(
        saved.user_agent.as_deref(),
        Some("baresip v3.10.1 (x86_64/linux)")
    );
    assert!(sim.outbox.is_empty(), "unexpected: {}", sim.dump());
}

#[test]
fn md5_digest_is_accepted_too() {
    let mut sim = Sim::new();
    let mut bob = Phone::bob();
    let first = bob.register_text("<sip:bob@198.51.100.20:5060>", Some(600), None);
    sim.deliver(bob.peer, &first);
    let challenge = sim.expect_response(bob.peer, 401);
    let md5 = challenge
        .headers
        .get_all("WWW-Authenticate")
        .filter_map(|v| Challenge::parse(v).ok())
        .find(|c| c.algorithm == Algorithm::Md5)
        .expect("an MD5 challenge for older phones");
    let auth = authorization_for(
        &md5,
        &Method::Register,
        "sip:192.0.2.1",
        "bob",
        "bob-secret-2",
        "c0ffee",
        1,
    )
    .unwrap();
    let second = bob.register_text("<sip:bob@198.51.100.20:5060>", Some(600), Some(&auth));
    sim.deliver(bob.peer, &second);
    sim.expect_response(bob.peer, 200);
}

#[test]
fn sha256_credentials_on_our_nonce_are_accepted() {
    let mut sim = Sim::new();
    let mut alice = Phone::alice();
    let first = alice.register_text("<sip:alice@198.51.100.10:5062>", Some(600), None);
    sim.deliver(alice.peer, &first);
    let challenge = sim.expect_response(alice.peer, 401);
    let mut ch = Challenge::best(challenge.headers.get_all("WWW-Authenticate")).unwrap();
    ch.algorithm = Algorithm::Sha256;
    let auth = authorization_for(
        &ch,
        &Method::Register,
        "sip:192.0.2.1",
        "alice",
        "alice-secret-1",
        "c0ffee",
        1,
    )
    .unwrap();
    assert!(auth.contains("SHA-256"));
    let second = alice.register_text("<sip:alice@198.51.100.10:5062>", Some(600), Some(&auth));
    sim.deliver(alice.peer, &second);
    sim.expect_response(alice.peer, 200);
}

#[test]
fn configured_sha256_is_offered_first_and_answered() {
    let config = crate::harness::CONFIG.replace(
        "[registrar]",
        "[registrar]\ndigest_algorithms = [\"SHA-256\", \"MD5\"]",
    );
    assert_ne!(
        config,
        crate::harness::CONFIG,
        "the test config has a [registrar] table"
    );
    let mut sim = Sim::with_config(&config);
    let mut alice = Phone::alice();
    let first = alice.register_text("<sip:alice@198.51.100.10:5062>", Some(600), None);
    sim.deliver(alice.peer, &first);
    let challenge = sim.expect_response(alice.peer, 401);
    let offered: Vec<Challenge> = challenge
        .headers
        .get_all("WWW-Authenticate")
        .map(|v| Challenge::parse(v).expect("a well-formed challenge"))
        .collect();
    let algorithms: Vec<Algorithm> = offered.iter().map(|c| c.algorithm).collect();
    assert_eq!(algorithms, [Algorithm::Sha256, Algorithm::Md5]);
    let auth = authorization_for(
        &offered[0],
        &Method::Register,
        "sip:192.0.2.1",
        "alice",
        "alice-secret-1",
        "c0ffee",
        1,
    )
    .unwrap();
    let second = alice.register_text("<sip:alice@198.51.100.10:5062>", Some(600), Some(&auth));
    sim.deliver(alice.peer, &second);
    sim.expect_response(alice.peer, 200);
}

#[test]
fn wrong_password_is_403_never_200() {
    let mut sim = Sim::new();
    let mut alice = Phone::alice();
    for attempt in 0..3 {
        let first = alice.register_text("<sip:alice@198.51.100.10:5062>", Some(300), None);
        sim.deliver(alice.peer, &first);
        let challenge = sim.expect_response(alice.peer, 401);
        let auth = alice.authorization(&challenge, Some(&format!("guess-{attempt}")));
        let second = alice.register_text("<sip:alice@198.51.100.10:5062>", Some(300), Some(&auth));
        sim.deliver(alice.peer, &second);
        sim.expect_response(alice.peer, 403);
        assert_eq!(sim.count(alice.peer, |s| s.is_response(200)), 0);
    }
    // An unknown user gets the same treatment (challenge, then 403).
    let mut mallory = Phone::new("mallory", "x", "198.51.100.66:5060", "198.51.100.66:5060");
    let first = mallory.register_text("<sip:mallory@198.51.100.66:5060>", Some(300), None);
    sim.deliver(mallory.peer, &first);
    let challenge = sim.expect_response(mallory.peer, 401);
    let auth = mallory.authorization(&challenge, None);
    let second = mallory.register_text("<sip:mallory@198.51.100.66:5060>", Some(300), Some(&auth));
    sim.deliver(mallory.peer, &second);
    sim.expect_response(mallory.peer, 403);
    assert!(sim.saved.is_empty());
    assert!(sim.outbox.is_empty(), "unexpected: {}", sim.dump());
}

#[test]
fn expired_nonce_gets_stale_challenge_then_registers() {
    let mut sim = Sim::new();
    let mut alice = Phone::alice();
    let first = alice.register_text("<sip:alice@198.51.100.10:5062>", Some(300), None);
    sim.deliver(alice.peer, &first);
    let old = sim.expect_response(alice.peer, 401);
    // nonce_ttl is 300 s.
    sim.advance_s(301);
    let auth = alice.authorization(&old, None);
    let late = alice.register_text("<sip:alice@198.51.100.10:5062>", Some(300), Some(&auth));
    sim.deliver(alice.peer, &late);
    let stale = sim.expect_response(alice.peer, 401);
    let challenges: Vec<Challenge> = stale
        .headers
        .get_all("WWW-Authenticate")
        .map(|v| Challenge::parse(v).unwrap())
        .collect();
    assert!(!challenges.is_empty());
    assert!(
        challenges.iter().all(|c| c.stale),
        "stale=true on {challenges:?}"
    );
    assert!(sim.saved.is_empty());
    // The phone retries with the fresh nonce without asking the user.
    let auth = alice.authorization(&stale, None);
    let retry = alice.register_text("<sip:alice@198.51.100.10:5062>", Some(300), Some(&auth));
    sim.deliver(alice.peer, &retry);
    sim.expect_response(alice.peer, 200);
    assert_eq!(sim.saved.len(), 1);
}

#[test]
fn too_short_interval_is_423_with_min_expires() {
    let mut sim = Sim::new();
    let mut alice = Phone::alice();
    let first = alice.register_text("<sip:alice@198.51.100.10:5062>", Some(30), None);
    sim.deliver(alice.peer, &first);
    let challenge = sim.expect_response(alice.peer, 401);
    let auth = alice.authorization(&challenge, None);
    let second = alice.register_text("<sip:alice@198.51.100.10:5062>", Some(30), Some(&auth));
    sim.deliver(alice.peer, &second);
    let brief = sim.expect_response(alice.peer, 423);
    assert_eq!(brief.headers.get("Min-Expires"), Some("60"));
    assert!(sim.saved.is_empty());

    // The same as a Contact parameter (which wins over the header).
    let contact = "<sip:alice@198.51.100.10:5062>;expires=59";
    let first = alice.register_text(contact, Some(600), None);
    sim.deliver(alice.peer, &first);
    let challenge = sim.expect_response(alice.peer, 401);
    let auth = alice.authorization(&challenge, None);
    let second = alice.register_text(contact, Some(600), Some(&auth));
    sim.deliver(alice.peer, &second);
    let brief = sim.expect_response(alice.peer, 423);
    assert_eq!(brief.headers.get("Min-Expires"), Some("60"));
    assert!(sim.saved.is_empty());
}

#[test]
fn long_interval_is_capped_at_max_expires() {
    let mut sim = Sim::new();
    let mut alice = Phone::alice();
    let ok = alice.register(&mut sim, 86400);
    assert_eq!(
        ok.headers.get("Contact"),
        Some("<sip:alice@198.51.100.10:5062>;expires=3600")
    );
    assert_eq!(sim.saved[0].expires_at, UNIX_AT_ORIGIN as i64 + 3600);
}

#[test]
fn unregister_with_expires_zero_removes_the_binding() {
    let mut sim = Sim::new();
    let mut alice = Phone::alice();
    alice.register(&mut sim, 600);
    let ok = alice.register(&mut sim, 0);
    assert_eq!(ok.headers.get("Contact"), None, "no bindings left");
    assert_eq!(
        sim.removed,
        [(
            "alice".to_string(),
            "sip:alice@198.51.100.10:5062".to_string()
        )]
    );
    // Nobody left to ring.
    let call = TrunkCall::new(trunk(), "+74950000001", "unreg");
    sim.deliver(trunk(), &call.invite());
    sim.expect_response(trunk(), 480);
    assert_eq!(sim.count(alice.peer, |s| s.is_request(&Method::Invite)), 0);
}

#[test]
fn wildcard_unregisters_every_contact_and_needs_expires_zero() {
    let mut sim = Sim::new();
    let mut desk = Phone::alice();
    desk.register(&mut sim, 600);
    let mut mobile = Phone::new(
        "alice",
        "alice-secret-1",
        "198.51.100.11:5060",
        "198.51.100.11:5060",
    );
    mobile.call_id = "reg-alice-mobile@198.51.100.11".into();
    mobile.register(&mut sim, 600);

    // `*` without Expires: 0 is malformed (RFC 3261 10.2.2).
    let first = desk.register_text("*", Some(600), None);
    sim.deliver(desk.peer, &first);
    let challenge = sim.expect_response(desk.peer, 401);
    let auth = desk.authorization(&challenge, None);
    let bad = desk.register_text("*", Some(600), Some(&auth));
    sim.deliver(desk.peer, &bad);
    sim.expect_response(desk.peer, 400);
    assert!(sim.removed.is_empty());

    let ok = desk.register_with(&mut sim, "*", Some(0));
    assert_eq!(ok.headers.get("Contact"), None);
    let mut removed = sim.removed.clone();
    removed.sort();
    assert_eq!(
        removed,
        [
            (
                "alice".to_string(),
                "sip:alice@198.51.100.10:5062".to_string()
            ),
            (
                "alice".to_string(),
                "sip:alice@198.51.100.11:5060".to_string()
            ),
        ]
    );
}

#[test]
fn two_devices_of_one_operator_both_ring() {
    let mut sim = Sim::new();
    let mut desk = Phone::alice();
    desk.register(&mut sim, 600);
    let mut mobile = Phone::new(
        "alice",
        "alice-secret-1",
        "198.51.100.11:5060",
        "198.51.100.11:5060",
    );
    mobile.call_id = "reg-alice-mobile@198.51.100.11".into();
    let ok = mobile.register(&mut sim, 300);
    let mut contacts: Vec<&str> = ok.headers.get_all("Contact").collect();
    contacts.sort();
    assert_eq!(
        contacts,
        [
            "<sip:alice@198.51.100.10:5062>;expires=600",
            "<sip:alice@198.51.100.11:5060>;expires=300",
        ]
    );
    let call = TrunkCall::new(trunk(), "+74950000001", "two-dev");
    sim.deliver(trunk(), &call.invite());
    let a = sim.expect_request(desk.peer, Method::Invite);
    let b = sim.expect_request(mobile.peer, Method::Invite);
    assert_eq!(a.uri, "sip:alice@198.51.100.10:5062");
    assert_eq!(b.uri, "sip:alice@198.51.100.11:5060");
}

#[test]
fn two_contacts_in_one_register() {
    let mut sim = Sim::new();
    let mut alice = Phone::alice();
    let ok = alice.register_with(
        &mut sim,
        "<sip:alice@198.51.100.10:5062>, <sip:alice@198.51.100.10:5064>;expires=120",
        Some(600),
    );
    let mut contacts: Vec<&str> = ok.headers.get_all("Contact").collect();
    contacts.sort();
    assert_eq!(
        contacts,
        [
            "<sip:alice@198.51.100.10:5062>;expires=600",
            "<sip:alice@198.51.100.10:5064>;expires=120",
        ]
    );
    assert_eq!(sim.saved.len(), 2);
}

#[test]
fn bindings_are_saved_and_restored_after_a_restart() {
    let mut before = Sim::new();
    let mut alice = Phone::new(
        "alice",
        "alice-secret-1",
        "127.0.0.1:40000",
        "192.168.1.10:5060",
    );
    alice.register(&mut before, 600);
    let mut bob = Phone::bob();
    bob.register(&mut before, 60);
    assert_eq!(before.saved.len(), 2);

    // A new process 100 s later: bob's binding has expired meanwhile.
    let mut after = Sim::new();
    after.advance_s(100);
    let saved = before.saved.clone();
    let now = after.now;
    after.core.restore_bindings(saved, now);
    let call = TrunkCall::new(trunk(), "+74950000001", "restored");
    after.deliver(trunk(), &call.invite());
    let invite = after.expect_request(alice.peer, Method::Invite);
    assert_eq!(invite.uri, "sip:alice@192.168.1.10:5060");
    assert_eq!(after.count(bob.peer, |s| s.is_request(&Method::Invite)), 0);
}

#[test]
fn registration_expires_and_is_removed() {
    let mut sim = Sim::new();
    let mut alice = Phone::alice();
    alice.register(&mut sim, 60);
    sim.advance_s(59);
    alice.answer_keepalives(&mut sim);
    assert!(sim.removed.is_empty());
    sim.advance_s(2);
    assert_eq!(
        sim.removed,
        [(
            "alice".to_string(),
            "sip:alice@198.51.100.10:5062".to_string()
        )]
    );
    alice.answer_keepalives(&mut sim);
    let call = TrunkCall::new(trunk(), "+74950000001", "expired");
    sim.deliver(trunk(), &call.invite());
    sim.expect_response(trunk(), 480);
}

#[test]
fn natted_phone_is_answered_and_called_at_its_source() {
    let mut sim = Sim::new();
    let nat = udp("127.0.0.1:40000");
    let mut alice = Phone::new(
        "alice",
        "alice-secret-1",
        "127.0.0.1:40000",
        "192.168.1.10:5060",
    );
    let first = alice.register_text("<sip:alice@192.168.1.10:5060>", Some(600), None);
    sim.deliver(nat, &first);
    assert!(sim.outbox.iter().all(|s| s.peer == nat), "{}", sim.dump());
    let challenge = sim.expect_response(nat, 401);
    let via = challenge.headers.get("Via").unwrap();
    assert_eq!(param(via, "received"), Some("127.0.0.1"));
    assert_eq!(param(via, "rport"), Some("40000"));
    assert!(via.starts_with("SIP/2.0/UDP 192.168.1.10:5060"));

    let auth = alice.authorization(&challenge, None);
    let second = alice.register_text("<sip:alice@192.168.1.10:5060>", Some(600), Some(&auth));
    sim.deliver(nat, &second);
    let ok = sim.expect_response(nat, 200);
    let via = ok.headers.get("Via").unwrap();
    assert_eq!(param(via, "received"), Some("127.0.0.1"));
    assert_eq!(param(via, "rport"), Some("40000"));
    assert_eq!(sim.saved[0].received, nat.addr);

    let call = TrunkCall::new(trunk(), "+74950000001", "nat");
    sim.deliver(trunk(), &call.invite());
    let invite = sim.expect_request(nat, Method::Invite);
    assert_eq!(invite.uri, "sip:alice@192.168.1.10:5060");
    assert!(sim
        .outbox
        .iter()
        .all(|s| s.peer.addr.ip().to_string() != "192.168.1.10"));
}

#[test]
fn register_without_expires_gets_the_default_and_a_query_lists_bindings() {
    let mut sim = Sim::new();
    let mut alice = Phone::alice();
    let ok = alice.register_with(&mut sim, "<sip:alice@198.51.100.10:5062>", None);
    assert_eq!(
        ok.headers.get("Contact"),
        Some("<sip:alice@198.51.100.10:5062>;expires=600")
    );
    // A REGISTER without Contact asks what is bound (RFC 3261 10.2.3).
    sim.advance_s(100);
    alice.answer_keepalives(&mut sim);
    let first = alice
        .register_text("", None, None)
        .replace("Contact: \r\n", "");
    let first: String = first
        .lines()
        .filter(|l| l.trim() != "Contact:")
        .map(|l| format!("{l}\n"))
        .collect();
    sim.deliver(alice.peer, &first);
    let challenge = sim.expect_response(alice.peer, 401);
    let auth = alice.authorization(&challenge, None);
    let second: String = alice
        .register_text("", None, Some(&auth))
        .lines()
        .filter(|l| l.trim() != "Contact:")
        .map(|l| format!("{l}\n"))
        .collect();
    sim.deliver(alice.peer, &second);
    let ok = sim.expect_response(alice.peer, 200);
    assert_eq!(
        ok.headers.get("Contact"),
        Some("<sip:alice@198.51.100.10:5062>;expires=500")
    );
}

#[test]
fn nonce_is_bound_to_the_source_address() {
    let mut sim = Sim::new();
    let mut alice = Phone::alice();
    let first = alice.register_text("<sip:alice@198.51.100.10:5062>", Some(600), None);
    sim.deliver(alice.peer, &first);
    let challenge = sim.expect_response(alice.peer, 401);
    let auth = alice.authorization(&challenge, None);
    // The same credentials replayed from elsewhere.
    let thief = udp("198.51.100.66:5060");
    let replay = alice.register_text("<sip:alice@198.51.100.66:5060>", Some(600), Some(&auth));
    sim.deliver(thief, &replay);
    assert_eq!(
        sim.count(thief, |s| s.is_response(200)),
        0,
        "{}",
        sim.dump()
    );
    assert!(sim.saved.is_empty());
}

#[test]
fn digest_for_another_uri_is_refused() {
    let mut sim = Sim::new();
    let mut alice = Phone::alice();
    let first = alice.register_text("<sip:alice@198.51.100.10:5062>", Some(600), None);
    sim.deliver(alice.peer, &first);
    let challenge = sim.expect_response(alice.peer, 401);
    let ch = Challenge::best(challenge.headers.get_all("WWW-Authenticate")).unwrap();
    let auth = authorization_for(
        &ch,
        &Method::Register,
        "sip:elsewhere.example",
        "alice",
        "alice-secret-1",
        "c0ffee",
        1,
    )
    .unwrap();
    let second = alice.register_text("<sip:alice@198.51.100.10:5062>", Some(600), Some(&auth));
    sim.deliver(alice.peer, &second);
    sim.expect_response(alice.peer, 403);
}

#[test]
fn tcp_registration_is_called_over_its_connection_without_retransmissions() {
    let mut sim = Sim::new();
    let mut alice = Phone::alice();
    alice.peer.transport = switchboard::transport::Transport::Tcp;
    alice.via = "198.51.100.10:5062".into();
    let contact = "<sip:alice@198.51.100.10:5062;transport=tcp>";
    let first = alice
        .register_text(contact, Some(600), None)
        .replace("SIP/2.0/UDP", "SIP/2.0/TCP");
    sim.deliver(alice.peer, &first);
    let challenge = sim.expect_response(alice.peer, 401);
    let auth = alice.authorization(&challenge, None);
    let second = alice
        .register_text(contact, Some(600), Some(&auth))
        .replace("SIP/2.0/UDP", "SIP/2.0/TCP");
    sim.deliver(alice.peer, &second);
    sim.expect_response(alice.peer, 200);
    assert_eq!(sim.saved[0].transport, store::Transport::Tcp);

    let call = TrunkCall::new(trunk(), "+74950000001", "tcp");
    sim.deliver(trunk(), &call.invite());
    let invite = sim.expect_request(alice.peer, Method::Invite);
    assert!(invite
        .headers
        .get("Via")
        .unwrap()
        .starts_with("SIP/2.0/TCP "));
    alice.respond(&mut sim, &invite, 180, "");
    sim.advance_s(10);
    assert_eq!(
        sim.count(alice.peer, |s| s.is_request(&Method::Invite)),
        0,
        "no retransmission over TCP"
    );
}
