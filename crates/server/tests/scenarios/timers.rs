//! Retransmission and quiet: the 2xx to the caller is repeated until the
//! ACK, never after, and a finished call leaves no traffic behind.

use sip::Method;

use crate::harness::{reply, sdp_answer, trunk, Sim};
use crate::inbound::{ring_both, two_operators};

#[test]
fn answer_to_the_caller_is_retransmitted_until_ack() {
    let mut sim = Sim::new();
    let (alice, bob) = two_operators(&mut sim);
    let (mut call, to_alice, to_bob) = ring_both(&mut sim, &alice, &bob, "rexmit200");
    alice.respond(
        &mut sim,
        &to_alice,
        200,
        &sdp_answer("198.51.100.10", 41000),
    );
    let ok = sim.expect_response(trunk(), 200);
    let cancel = sim.expect_request(bob.peer, Method::Cancel);
    bob.respond(&mut sim, &cancel, 200, "");
    bob.respond(&mut sim, &to_bob, 487, "");
    sim.take();
    // T1 = 500 ms doubling to T2 = 4 s: at 0.5, 1.5, 3.5, 7.5 s.
    let mut times = Vec::new();
    for _ in 0..80 {
        sim.advance_ms(100);
        for s in sim.take_to(trunk()) {
            assert!(s.is_response(200), "only the 200 is repeated");
            assert_eq!(s.response().unwrap().body, ok.body);
            times.push((s.at - sim.origin).as_millis());
        }
    }
    let first = times.first().copied().expect("retransmitted");
    let gaps: Vec<u128> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(
        gaps,
        [1000, 2000, 4000],
        "T1 doubling capped at T2 (first at +{first} ms)"
    );

    call.answered(&ok);
    sim.deliver(trunk(), &call.ack());
    sim.advance_s(60);
    alice.answer_keepalives(&mut sim);
    bob.answer_keepalives(&mut sim);
    assert!(sim.outbox.is_empty(), "{}", sim.dump());
    assert_eq!(sim.core.active_calls(), 1, "the call is up");
}

#[test]
fn no_ack_for_our_answer_ends_the_call() {
    let mut sim = Sim::new();
    let (alice, bob) = two_operators(&mut sim);
    let (_call, to_alice, to_bob) = ring_both(&mut sim, &alice, &bob, "noack");
    alice.respond(
        &mut sim,
        &to_alice,
        200,
        &sdp_answer("198.51.100.10", 41000),
    );
    let cancel = sim.expect_request(bob.peer, Method::Cancel);
    bob.respond(&mut sim, &cancel, 200, "");
    bob.respond(&mut sim, &to_bob, 487, "");
    // 64*T1 = 32 s without ACK.
    sim.advance_s(33);
    let bye = sim.expect_request(alice.peer, Method::Bye);
    sim.deliver(alice.peer, &reply(&bye, 200, None, "", ""));
    assert_eq!(sim.core.active_calls(), 0);
    let r = sim.record();
    assert_eq!(r.hangup_by, Some(store::HangupBy::Switch));
    assert!(sim.media().live().is_empty());
}

#[test]
fn a_finished_call_leaves_no_traffic() {
    let mut sim = Sim::new();
    let crate::inbound::Answered {
        alice,
        bob,
        mut call,
        ..
    } = crate::inbound::answered_call(&mut sim, "quiet");
    sim.deliver(trunk(), &call.bye());
    sim.expect_response(trunk(), 200);
    let bye = sim.expect_request(alice.peer, Method::Bye);
    sim.deliver(alice.peer, &reply(&bye, 200, None, "", ""));
    assert!(sim.outbox.is_empty(), "{}", sim.dump());
    assert_eq!(sim.core.active_calls(), 0);

    // A simulated minute: only the keepalives (answered), nothing else.
    let mut options = 0;
    for _ in 0..60 {
        sim.advance_s(1);
        options += alice.answer_keepalives(&mut sim);
        options += bob.answer_keepalives(&mut sim);
        let other = sim.take();
        assert!(other.is_empty(), "traffic after the call: {other:?}");
    }
    assert_eq!(options, 4, "two pings per contact per minute");
    // The next wake-up is a keepalive, not a busy timer.
    let next = sim.core.poll_timeout().expect("keepalives are scheduled");
    assert!(next > sim.now, "no overdue timer");
}
