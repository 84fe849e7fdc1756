//! Calls that end before anyone talks: the caller gives up, nobody
//! answers, everybody is busy, or there is nobody to ring at all.

use sip::Method;

use crate::harness::{trunk, udp, Sim};
use crate::inbound::{ring_both, two_operators};
use crate::peers::{Phone, TrunkCall};

#[test]
fn caller_cancel_while_ringing_cancels_every_fork() {
    let mut sim = Sim::new();
    let (alice, bob) = two_operators(&mut sim);
    let (call, to_alice, to_bob) = ring_both(&mut sim, &alice, &bob, "cancel");
    alice.respond(&mut sim, &to_alice, 180, "");
    sim.expect_response(trunk(), 180);
    sim.advance_s(3);
    sim.take();

    sim.deliver(trunk(), &call.cancel());
    let cancel_ok = sim.expect_response(trunk(), 200);
    assert_eq!(cancel_ok.headers.get("CSeq"), Some("1 CANCEL"));
    let terminated = sim.expect_response(trunk(), 487);
    assert_eq!(terminated.headers.get("CSeq"), Some("1 INVITE"));
    let ca = sim.expect_request(alice.peer, Method::Cancel);
    let cb = sim.expect_request(bob.peer, Method::Cancel);
    assert_eq!(ca.headers.get("Via"), to_alice.headers.get("Via"));
    assert_eq!(cb.headers.get("Via"), to_bob.headers.get("Via"));
    assert!(sim.media().live().is_empty(), "every RTP port freed");
    assert_eq!(sim.core.active_calls(), 0);

    let r = sim.record();
    assert_eq!(r.disposition, store::Disposition::Abandoned);
    assert_eq!(r.hangup_by, Some(store::HangupBy::Caller));
    assert_eq!(r.operator, None);
    assert_eq!(r.answered_at, None);

    // The phones confirm; the caller ACKs the 487; all quiet afterwards.
    for (phone, cancel, invite) in [(&alice, &ca, &to_alice), (&bob, &cb, &to_bob)] {
        phone.respond(&mut sim, cancel, 200, "");
        phone.respond(&mut sim, invite, 487, "");
        sim.expect_request(phone.peer, Method::Ack);
    }
    sim.deliver(trunk(), &call.ack_failure(&terminated));
    assert!(sim.outbox.is_empty(), "{}", sim.dump());
    sim.advance_s(40);
    assert_eq!(sim.count(trunk(), |_| true), 0, "{}", sim.dump());
    assert_eq!(sim.records.len(), 1);
}

#[test]
fn nobody_answers_within_ring_timeout_gives_480_and_cancels() {
    let mut sim = Sim::new();
    let (alice, bob) = two_operators(&mut sim);
    let (call, to_alice, to_bob) = ring_both(&mut sim, &alice, &bob, "noanswer");
    alice.respond(&mut sim, &to_alice, 180, "");
    bob.respond(&mut sim, &to_bob, 180, "");
    sim.expect_response(trunk(), 180);
    // ring_timeout = 30 s: still ringing just before.
    sim.advance_ms(29_900);
    alice.answer_keepalives(&mut sim);
    bob.answer_keepalives(&mut sim);
    sim.take_to(trunk());
    assert_eq!(sim.count(alice.peer, |s| s.is_request(&Method::Cancel)), 0);
    sim.advance_ms(100);
    let unavailable = sim.expect_response(trunk(), 480);
    sim.expect_request(alice.peer, Method::Cancel);
    sim.expect_request(bob.peer, Method::Cancel);
    sim.deliver(trunk(), &call.ack_failure(&unavailable));
    let r = sim.record();
    assert_eq!(r.disposition, store::Disposition::Missed);
    assert_eq!(r.hangup_by, Some(store::HangupBy::Switch));
    assert!(sim.media().live().is_empty());
    assert_eq!(sim.core.active_calls(), 0);
}

/// Carol, the only operator of the night number (+74950000002, whose own
/// ring timeout is 20 s), registered.
fn night_operator(sim: &mut Sim) -> Phone {
    let mut carol = Phone::new(
        "carol",
        "carol-secret-3",
        "198.51.100.30:5060",
        "198.51.100.30:5060",
    );
    carol.register(sim, 600);
    carol
}

#[test]
fn a_numbers_own_ring_timeout_wins() {
    let mut sim = Sim::new();
    let carol = night_operator(&mut sim);
    let call = TrunkCall::new(trunk(), "+74950000002", "night");
    sim.deliver(trunk(), &call.invite());
    let invite = sim.expect_request(carol.peer, Method::Invite);
    carol.respond(&mut sim, &invite, 180, "");
    sim.advance_ms(19_999);
    assert_eq!(sim.count(trunk(), |s| s.is_response(480)), 0);
    sim.advance_ms(1);
    sim.expect_response(trunk(), 480);
    sim.expect_request(carol.peer, Method::Cancel);
}

#[test]
fn staggered_ring_timeouts_each_fire_on_time_and_leave_no_index_behind() {
    let mut sim = Sim::new();
    let carol = night_operator(&mut sim);
    // Three calls 5 s apart, each ringing carol with the number's 20 s.
    let mut calls = Vec::new();
    for tag in ["first", "second", "third"] {
        let call = TrunkCall::new(trunk(), "+74950000002", tag);
        sim.deliver(trunk(), &call.invite());
        let invite = sim.expect_request(carol.peer, Method::Invite);
        carol.respond(&mut sim, &invite, 180, "");
        sim.expect_response(trunk(), 180);
        calls.push(call);
        sim.advance_ms(5_000);
    }
    assert_eq!(sim.core.active_calls(), 3);
    // Now t = 15 s: the first call times out at 20 s, the others 5 s apart.
    for (i, call) in calls.iter().enumerate() {
        sim.advance_ms(4_999);
        assert_eq!(
            sim.count(trunk(), |s| s.is_response(480)),
            0,
            "call {i} still rings just before its timeout"
        );
        sim.advance_ms(1);
        let unavailable = sim.expect_response(trunk(), 480);
        let cancel = sim.expect_request(carol.peer, Method::Cancel);
        carol.respond(&mut sim, &cancel, 200, "");
        sim.deliver(trunk(), &call.ack_failure(&unavailable));
        assert_eq!(sim.core.active_calls(), 2 - i);
    }
    assert_eq!(sim.core.call_index_entries(), 0, "{}", sim.dump());
}

#[test]
fn every_operator_busy_gives_486() {
    let mut sim = Sim::new();
    let (alice, bob) = two_operators(&mut sim);
    let (call, to_alice, to_bob) = ring_both(&mut sim, &alice, &bob, "busy");
    alice.respond(&mut sim, &to_alice, 486, "");
    sim.expect_request(alice.peer, Method::Ack);
    assert_eq!(
        sim.count(trunk(), |s| s.response().is_some_and(|r| r.status >= 200)),
        0
    );
    bob.respond(&mut sim, &to_bob, 486, "");
    sim.expect_request(bob.peer, Method::Ack);
    let busy = sim.expect_response(trunk(), 486);
    sim.deliver(trunk(), &call.ack_failure(&busy));
    assert_eq!(sim.record().disposition, store::Disposition::Busy);
    assert_eq!(sim.count(alice.peer, |s| s.is_request(&Method::Cancel)), 0);
    assert!(sim.media().live().is_empty());
}

#[test]
fn one_busy_one_declining_is_still_busy_and_one_answering_wins() {
    let mut sim = Sim::new();
    let (alice, bob) = two_operators(&mut sim);
    let (_call, to_alice, to_bob) = ring_both(&mut sim, &alice, &bob, "mixed");
    alice.respond(&mut sim, &to_alice, 486, "");
    bob.respond(
        &mut sim,
        &to_bob,
        200,
        &crate::harness::sdp_answer("198.51.100.20", 42000),
    );
    sim.expect_response(trunk(), 200);
    assert!(sim.records.is_empty());
}

#[test]
fn unknown_number_from_the_trunk_is_404() {
    let mut sim = Sim::new();
    two_operators(&mut sim);
    let call = TrunkCall::new(trunk(), "+74959999999", "nonum");
    sim.deliver(trunk(), &call.invite());
    let nf = sim.expect_response(trunk(), 404);
    assert!(crate::harness::param(nf.headers.get("To").unwrap(), "tag").is_some());
    assert!(sim.outbox.is_empty(), "{}", sim.dump());
    assert!(sim.media().open().is_empty(), "no port for a refused call");
}

#[test]
fn invite_from_a_stranger_is_403() {
    let mut sim = Sim::new();
    two_operators(&mut sim);
    let stranger = udp("198.51.100.99:5060");
    let call = TrunkCall::new(stranger, "+74950000001", "stranger");
    sim.deliver(stranger, &call.invite());
    sim.expect_response(stranger, 403);
    assert!(sim.outbox.is_empty(), "{}", sim.dump());
    assert_eq!(sim.core.active_calls(), 0);
}

#[test]
fn no_registered_operator_is_480() {
    let mut sim = Sim::new();
    let call = TrunkCall::new(trunk(), "+74950000001", "empty");
    sim.deliver(trunk(), &call.invite());
    let unavailable = sim.expect_response(trunk(), 480);
    sim.deliver(trunk(), &call.ack_failure(&unavailable));
    assert_eq!(sim.record().disposition, store::Disposition::Missed);
    assert!(sim.media().live().is_empty());
    assert_eq!(sim.core.active_calls(), 0);
    sim.advance_s(40);
    assert_eq!(
        sim.count(trunk(), |_| true),
        0,
        "487/480 not retransmitted after ACK: {}",
        sim.dump()
    );
}

#[test]
fn caller_cancel_racing_an_answer_hangs_up_the_late_operator() {
    let mut sim = Sim::new();
    let (alice, bob) = two_operators(&mut sim);
    // Phones not yet heard from: our CANCELs must wait (RFC 3261 9.1).
    let call = TrunkCall::new(trunk(), "+74950000001", "race");
    sim.deliver(trunk(), &call.invite());
    let to_alice = sim.expect_request(alice.peer, Method::Invite);
    let to_bob = sim.expect_request(bob.peer, Method::Invite);
    sim.deliver(trunk(), &call.cancel());
    sim.expect_response(trunk(), 200);
    sim.expect_response(trunk(), 487);
    assert_eq!(sim.record().disposition, store::Disposition::Abandoned);
    // Alice's 200 crossed our (unsent) CANCEL: ACK it, then BYE it.
    alice.respond(
        &mut sim,
        &to_alice,
        200,
        &crate::harness::sdp_answer("198.51.100.10", 41000),
    );
    sim.expect_request(alice.peer, Method::Ack);
    sim.expect_request(alice.peer, Method::Bye);
    // Bob only got as far as ringing: now the CANCEL goes.
    bob.respond(&mut sim, &to_bob, 180, "");
    sim.expect_request(bob.peer, Method::Cancel);
    assert_eq!(
        sim.count(trunk(), |_| true),
        0,
        "nothing more for the caller: {}",
        sim.dump()
    );
    assert!(sim.media().bridges().is_empty());
    assert_eq!(sim.records.len(), 1);
}
