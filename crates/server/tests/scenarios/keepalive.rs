//! OPTIONS keepalives to registered contacts and what unanswered ones do
//! to ringing.

use std::time::Duration;

use sip::Method;

use crate::harness::{reply, trunk, udp, Sim};
use crate::peers::{Phone, TrunkCall};

fn natted_alice(sim: &mut Sim) -> Phone {
    let mut alice = Phone::new(
        "alice",
        "alice-secret-1",
        "127.0.0.1:40000",
        "192.168.1.10:5060",
    );
    alice.register(sim, 3600);
    alice
}

#[test]
fn options_every_interval_to_the_contacts_source() {
    let mut sim = Sim::new();
    let alice = natted_alice(&mut sim);
    sim.advance_ms(29_999);
    assert!(sim.outbox.is_empty(), "{}", sim.dump());
    sim.advance_ms(1);
    let ping = sim.expect_request(udp("127.0.0.1:40000"), Method::Options);
    assert_eq!(ping.uri, "sip:alice@192.168.1.10:5060");
    assert!(ping
        .headers
        .get("Via")
        .unwrap()
        .starts_with("SIP/2.0/UDP 192.0.2.1:5060"));
    sim.deliver(alice.peer, &reply(&ping, 200, Some("ka"), "", ""));
    // Answered at once: exactly one ping per 30 s, no retransmissions.
    let mut pings = 1;
    for _ in 0..9 {
        sim.advance_s(30);
        let n = alice.answer_keepalives(&mut sim);
        assert_eq!(n, 1, "one ping per interval");
        pings += n;
    }
    assert_eq!(pings, 10);
    assert!(sim.outbox.is_empty(), "{}", sim.dump());
}

#[test]
fn two_missed_pings_make_the_contact_unreachable_and_a_reply_revives_it() {
    let mut sim = Sim::new();
    let alice = natted_alice(&mut sim);
    // First ping at 30 s goes unanswered (it is retransmitted, then times out).
    sim.advance_s(30);
    assert!(sim.count(alice.peer, |s| s.is_request(&Method::Options)) >= 1);
    sim.advance_s(33);
    sim.take();
    // Timer F gave up on it at 62 s: one miss is not enough: she still rings.
    let first = TrunkCall::new(trunk(), "+74950000001", "onemiss");
    sim.deliver(trunk(), &first.invite());
    let invite = sim.expect_request(alice.peer, Method::Invite);
    alice.respond(&mut sim, &invite, 180, "");
    sim.deliver(trunk(), &first.cancel());
    sim.expect_response(trunk(), 487);
    sim.expect_request(alice.peer, Method::Cancel);
    sim.take();

    // The second ping (60 s) goes unanswered too: unreachable by 92 s.
    sim.advance(Duration::from_secs(30));
    assert!(sim.count(alice.peer, |s| s.is_request(&Method::Options)) >= 1);
    sim.take();
    let second = TrunkCall::new(trunk(), "+74950000001", "twomiss");
    sim.deliver(trunk(), &second.invite());
    sim.expect_response(trunk(), 480);
    assert_eq!(
        sim.count(alice.peer, |s| s.is_request(&Method::Invite)),
        0,
        "{}",
        sim.dump()
    );
    sim.take();

    // Pings go on; one answer makes her reachable again.
    sim.advance_s(30);
    let n = alice.answer_keepalives(&mut sim);
    assert!(n >= 1, "still pinged while unreachable");
    let third = TrunkCall::new(trunk(), "+74950000001", "revived");
    sim.deliver(trunk(), &third.invite());
    sim.expect_request(alice.peer, Method::Invite);
}

#[test]
fn a_new_register_makes_an_unreachable_contact_reachable() {
    let mut sim = Sim::new();
    let mut alice = natted_alice(&mut sim);
    sim.advance_s(100);
    sim.take();
    let call = TrunkCall::new(trunk(), "+74950000001", "gone");
    sim.deliver(trunk(), &call.invite());
    sim.expect_response(trunk(), 480);
    alice.register(&mut sim, 3600);
    let call = TrunkCall::new(trunk(), "+74950000001", "back");
    sim.deliver(trunk(), &call.invite());
    sim.expect_request(alice.peer, Method::Invite);
}
