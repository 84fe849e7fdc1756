//! A customer's call from the trunk to the operators: fork, ring, answer,
//! bridge, and hang-up from either side.

use sip::{Method, Request, Response};

use crate::harness::{audio_target, param, parse_sdp, sdp_answer, to_tag, trunk, MediaOp, Sim};
use crate::peers::{Phone, TrunkCall};

/// Alice and Bob (group "sales") registered; the registrations' effects
/// are cleared.
pub fn two_operators(sim: &mut Sim) -> (Phone, Phone) {
    let mut alice = Phone::alice();
    alice.register(sim, 600);
    let mut bob = Phone::bob();
    bob.register(sim, 600);
    sim.saved.clear();
    assert!(sim.outbox.is_empty(), "{}", sim.dump());
    (alice, bob)
}

/// A call to the promo number that rings both: (call, INVITE to alice,
/// INVITE to bob), both phones having answered 100 Trying. Our 100 Trying,
/// if already sent, stays in the outbox.
pub fn ring_both(
    sim: &mut Sim,
    alice: &Phone,
    bob: &Phone,
    id: &str,
) -> (TrunkCall, Request, Request) {
    let call = TrunkCall::new(trunk(), "+74950000001", id);
    sim.deliver(trunk(), &call.invite());
    let to_alice = sim.expect_request(alice.peer, Method::Invite);
    let to_bob = sim.expect_request(bob.peer, Method::Invite);
    // Phones say 100 Trying at once (and so may be cancelled: RFC 3261 9.1).
    alice.respond(sim, &to_alice, 100, "");
    bob.respond(sim, &to_bob, 100, "");
    (call, to_alice, to_bob)
}

/// A call alice answered and the caller ACKed; everything sent so far taken.
pub struct Answered {
    pub alice: Phone,
    pub bob: Phone,
    pub call: TrunkCall,
    pub to_alice: Request,
    pub ok: Response,
}

pub fn answered_call(sim: &mut Sim, id: &str) -> Answered {
    let (alice, bob) = two_operators(sim);
    let (mut call, to_alice, to_bob) = ring_both(sim, &alice, &bob, id);
    alice.respond(sim, &to_alice, 180, "");
    alice.respond(sim, &to_alice, 200, &sdp_answer("198.51.100.10", 41000));
    let cancel = sim.expect_request(bob.peer, Method::Cancel);
    bob.respond(sim, &cancel, 200, "");
    bob.respond(sim, &to_bob, 487, "");
    let ok = sim.expect_response(trunk(), 200);
    call.answered(&ok);
    sim.deliver(trunk(), &call.ack());
    sim.take();
    Answered {
        alice,
        bob,
        call,
        to_alice,
        ok,
    }
}

#[test]
fn trunk_call_forks_rings_answers_bridges_and_caller_hangs_up() {
    let mut sim = Sim::new();
    let (alice, bob) = two_operators(&mut sim);
    let mut call = TrunkCall::new(trunk(), "+74950000001", "full");
    sim.deliver(trunk(), &call.invite());

    // Both operators' phones get our INVITE at once.
    let to_alice = sim.expect_request(alice.peer, Method::Invite);
    let to_bob = sim.expect_request(bob.peer, Method::Invite);
    alice.respond(&mut sim, &to_alice, 100, "");
    bob.respond(&mut sim, &to_bob, 100, "");
    // 100 Trying now or within 200 ms (RFC 3261 17.2.1).
    if sim.count(trunk(), |s| s.is_response(100)) == 0 {
        sim.advance_ms(200);
    }
    let trying = sim.expect_response(trunk(), 100);
    assert_eq!(trying.headers.get("Call-ID"), Some("full@203.0.113.5"));
    assert!(sim.outbox.is_empty(), "{}", sim.dump());

    let legs = sim.media().open();
    assert_eq!(legs.len(), 3, "one RTP leg for the caller and one per fork");
    let caller_leg = legs[0];
    let leg_of = |sim: &Sim, inv: &Request| {
        let (addr, port) = audio_target(&parse_sdp(&inv.body));
        assert_eq!(addr, "192.0.2.1", "our public address in c=");
        let leg = legs
            .iter()
            .copied()
            .find(|l| sim.media().port_of(*l) == Some(port))
            .expect("the offer names one of our legs' ports");
        assert_ne!(leg, caller_leg);
        leg
    };
    let alice_leg = leg_of(&sim, &to_alice);
    let bob_leg = leg_of(&sim, &to_bob);
    assert_ne!(alice_leg, bob_leg);
    assert_eq!(to_alice.uri, "sip:alice@198.51.100.10:5062");
    assert_eq!(to_bob.uri, "sip:bob@198.51.100.20:5060");
    for inv in [&to_alice, &to_bob] {
        assert_eq!(inv.headers.get("Content-Type"), Some("application/sdp"));
        assert!(inv
            .headers
            .get("Via")
            .unwrap()
            .starts_with("SIP/2.0/UDP 192.0.2.1:5060"));
        let from = inv.headers.get("From").unwrap();
        assert!(
            from.contains("+79161234567"),
            "the customer's number shows: {from}"
        );
        assert!(param(from, "tag").is_some());
        assert!(inv
            .headers
            .get("Contact")
            .unwrap()
            .contains("192.0.2.1:5060"));
        assert_ne!(
            inv.headers.get("Call-ID"),
            Some("full@203.0.113.5"),
            "B2BUA: own Call-ID"
        );
    }
    assert_ne!(
        to_alice.headers.get("Call-ID"),
        to_bob.headers.get("Call-ID")
    );
    // The caller's leg is told where the customer's RTP goes.
    let caller_cfg = sim.media().ops.iter().find_map(|o| match o {
        MediaOp::Configure(l, a) if *l == caller_leg => Some(a.clone()),
        _ => None,
    });
    assert_eq!(
        caller_cfg.expect("caller leg configured").remote,
        Some("203.0.113.50:40000".parse().unwrap())
    );

    // Ringing is relayed once, whoever rings.
    alice.respond(&mut sim, &to_alice, 180, "");
    let ringing = sim.expect_response(trunk(), 180);
    let our_tag = to_tag(&ringing);
    bob.respond(&mut sim, &to_bob, 180, "");
    assert_eq!(
        sim.count(trunk(), |s| s.is_response(180)),
        0,
        "{}",
        sim.dump()
    );

    // Alice answers: we ACK her, cancel Bob, answer the caller with our SDP.
    let answered_ms = sim.elapsed().as_millis() as i64;
    alice.respond(
        &mut sim,
        &to_alice,
        200,
        &sdp_answer("198.51.100.10", 41000),
    );
    let ack = sim.expect_request(alice.peer, Method::Ack);
    assert_eq!(
        ack.uri, "sip:alice@198.51.100.10:5062",
        "ACK goes to her Contact"
    );
    assert_eq!(ack.headers.get("CSeq"), Some("1 ACK"));
    assert_eq!(to_tag(&ack), "alice-dlg");
    assert_eq!(ack.headers.get("Call-ID"), to_alice.headers.get("Call-ID"));
    let cancel = sim.expect_request(bob.peer, Method::Cancel);
    assert_eq!(cancel.uri, to_bob.uri);
    assert_eq!(
        cancel.headers.get("Via"),
        to_bob.headers.get("Via"),
        "CANCEL shares the INVITE's branch"
    );
    assert_eq!(cancel.headers.get("CSeq"), Some("1 CANCEL"));
    let ok = sim.expect_response(trunk(), 200);
    assert_eq!(to_tag(&ok), our_tag, "one dialog with the caller");
    assert_eq!(ok.headers.get("Content-Type"), Some("application/sdp"));
    let answer = parse_sdp(&ok.body);
    assert_eq!(
        audio_target(&answer),
        (
            "192.0.2.1".to_string(),
            sim.media().port_of(caller_leg).unwrap()
        )
    );
    assert!(ok.headers.get("Contact").is_some());
    {
        let media = sim.media();
        assert_eq!(media.bridges(), [(caller_leg, alice_leg)]);
        assert!(media.closed().contains(&bob_leg), "Bob's port is freed");
        let alice_cfg = media.ops.iter().find_map(|o| match o {
            MediaOp::Configure(l, a) if *l == alice_leg => Some(a.clone()),
            _ => None,
        });
        let alice_cfg = alice_cfg.expect("alice's leg configured from her answer");
        assert_eq!(
            alice_cfg.remote,
            Some("198.51.100.10:41000".parse().unwrap())
        );
        assert_eq!(alice_cfg.codec, sdp::AudioCodec::Pcmu);
    }
    bob.respond(&mut sim, &cancel, 200, "");
    bob.respond(&mut sim, &to_bob, 487, "");
    let ack487 = sim.expect_request(bob.peer, Method::Ack);
    assert_eq!(ack487.headers.get("Via"), to_bob.headers.get("Via"));
    call.answered(&ok);
    sim.deliver(trunk(), &call.ack());
    sim.advance_ms(5000);
    assert!(sim.outbox.is_empty(), "a quiet call: {}", sim.dump());
    assert_eq!(sim.core.active_calls(), 1);
    assert!(sim.records.is_empty());

    // The customer hangs up.
    sim.advance_ms(60_000 - 5000);
    alice.answer_keepalives(&mut sim);
    bob.answer_keepalives(&mut sim);
    sim.deliver(trunk(), &call.bye());
    let bye_ok = sim.expect_response(trunk(), 200);
    assert_eq!(bye_ok.headers.get("CSeq"), Some("2 BYE"));
    let bye = sim.expect_request(alice.peer, Method::Bye);
    assert_eq!(bye.uri, "sip:alice@198.51.100.10:5062");
    assert_eq!(bye.headers.get("Call-ID"), to_alice.headers.get("Call-ID"));
    assert_eq!(to_tag(&bye), "alice-dlg");
    assert_eq!(
        param(bye.headers.get("From").unwrap(), "tag"),
        param(to_alice.headers.get("From").unwrap(), "tag")
    );
    assert_eq!(bye.headers.get("CSeq"), Some("2 BYE"));
    sim.deliver(alice.peer, &crate::harness::reply(&bye, 200, None, "", ""));
    assert_eq!(sim.core.active_calls(), 0);
    assert!(sim.media().live().is_empty(), "every RTP port freed");

    let r = sim.record();
    assert_eq!(r.disposition, store::Disposition::Answered);
    assert_eq!(r.direction, store::Direction::Inbound);
    assert_eq!(r.operator.as_deref(), Some("alice"));
    assert_eq!(
        r.landing_page.as_deref(),
        Some("https://shop.example/promo")
    );
    assert_eq!(r.campaign.as_deref(), Some("spring-sale"));
    assert_eq!(r.number_name.as_deref(), Some("promo"));
    assert_eq!(r.caller, "+79161234567");
    assert_eq!(r.callee, "+74950000001");
    assert_eq!(r.trunk.as_deref(), Some("demo"));
    assert_eq!(r.hangup_by, Some(store::HangupBy::Caller));
    assert_eq!(r.node_id, "node1");
    let start = crate::harness::UNIX_AT_ORIGIN as i64 * 1000;
    assert_eq!(r.started_at, start);
    assert_eq!(r.answered_at, Some(start + answered_ms));
    assert_eq!(r.ended_at, start + sim.elapsed().as_millis() as i64);
}

#[test]
fn operator_hangs_up_and_the_caller_gets_bye() {
    let mut sim = Sim::new();
    let Answered {
        mut alice,
        call,
        to_alice,
        ok,
        ..
    } = answered_call(&mut sim, "opbye");
    sim.advance_s(20);
    alice.answer_keepalives(&mut sim);
    sim.take();
    let bye = alice.bye_text(&to_alice);
    sim.deliver(alice.peer, &bye);
    sim.expect_response(alice.peer, 200);
    let to_caller = sim.expect_request(trunk(), Method::Bye);
    assert_eq!(
        to_caller.uri, "sip:+79161234567@203.0.113.5:5060",
        "the caller's Contact"
    );
    assert_eq!(to_caller.headers.get("Call-ID"), Some("opbye@203.0.113.5"));
    assert_eq!(to_tag(&to_caller), "opbye-ft", "To is the caller's From");
    assert_eq!(
        param(to_caller.headers.get("From").unwrap(), "tag").map(str::to_string),
        Some(to_tag(&ok)),
        "From carries our tag"
    );
    sim.deliver(trunk(), &call.ok_to(&to_caller));
    assert_eq!(sim.core.active_calls(), 0);
    assert!(sim.media().live().is_empty());
    let r = sim.record();
    assert_eq!(r.disposition, store::Disposition::Answered);
    assert_eq!(r.hangup_by, Some(store::HangupBy::Callee));
    assert_eq!(r.operator.as_deref(), Some("alice"));
    // Nothing more: the BYE transaction ended with the 200.
    sim.advance_s(20);
    assert_eq!(sim.count(trunk(), |_| true), 0, "{}", sim.dump());
}

#[test]
fn bob_answers_first_and_alice_is_cancelled() {
    let mut sim = Sim::new();
    let (alice, bob) = two_operators(&mut sim);
    let (_call, to_alice, to_bob) = ring_both(&mut sim, &alice, &bob, "bobwins");
    alice.respond(&mut sim, &to_alice, 180, "");
    bob.respond(&mut sim, &to_bob, 180, "");
    bob.respond(&mut sim, &to_bob, 200, &sdp_answer("198.51.100.20", 42000));
    sim.expect_request(bob.peer, Method::Ack);
    let cancel = sim.expect_request(alice.peer, Method::Cancel);
    assert_eq!(cancel.headers.get("Via"), to_alice.headers.get("Via"));
    sim.expect_response(trunk(), 200);
    assert_eq!(sim.count(bob.peer, |s| s.is_request(&Method::Cancel)), 0);
    // Alice's phone answered at the same moment: the late 2xx is ACKed
    // and hung up at once.
    alice.respond(
        &mut sim,
        &to_alice,
        200,
        &sdp_answer("198.51.100.10", 41000),
    );
    let ack = sim.expect_request(alice.peer, Method::Ack);
    assert_eq!(to_tag(&ack), "alice-dlg");
    let bye = sim.expect_request(alice.peer, Method::Bye);
    assert_eq!(bye.headers.get("Call-ID"), to_alice.headers.get("Call-ID"));
    assert_eq!(
        sim.count(trunk(), |s| s.is_response(200)),
        0,
        "the caller gets one answer"
    );
    assert_eq!(sim.core.active_calls(), 1);
}

#[test]
fn a_silent_phone_is_cancelled_once_it_answers_provisionally() {
    let mut sim = Sim::new();
    let (alice, bob) = two_operators(&mut sim);
    let call = TrunkCall::new(trunk(), "+74950000001", "silent");
    sim.deliver(trunk(), &call.invite());
    let to_alice = sim.expect_request(alice.peer, Method::Invite);
    let to_bob = sim.expect_request(bob.peer, Method::Invite);
    alice.respond(
        &mut sim,
        &to_alice,
        200,
        &sdp_answer("198.51.100.10", 41000),
    );
    sim.expect_response(trunk(), 200);
    // Bob's phone has said nothing yet: no CANCEL may be sent (RFC 3261 9.1)...
    assert_eq!(sim.count(bob.peer, |s| s.is_request(&Method::Cancel)), 0);
    // ...until its 180 arrives.
    sim.advance_ms(300);
    bob.respond(&mut sim, &to_bob, 180, "");
    let cancel = sim.expect_request(bob.peer, Method::Cancel);
    assert_eq!(cancel.headers.get("Via"), to_bob.headers.get("Via"));
    assert_eq!(
        sim.count(trunk(), |s| s.is_response(180)),
        0,
        "no ringing after the answer"
    );
}

#[test]
fn caller_hears_ringback_from_our_port_while_operators_ring() {
    let mut sim = Sim::new();
    let (alice, bob) = two_operators(&mut sim);
    let (_call, to_alice, _to_bob) = ring_both(&mut sim, &alice, &bob, "ringback");
    let caller_leg = sim.media().open()[0];
    assert!(
        !sim.media().ops.contains(&MediaOp::Ringback(caller_leg)),
        "no ringback before anyone rings"
    );
    alice.respond(&mut sim, &to_alice, 180, "");
    let ringing = sim.expect_response(trunk(), 180);
    // Early media (RFC 3960): our answer in the 180, ringback played into it.
    assert_eq!(ringing.headers.get("Content-Type"), Some("application/sdp"));
    let early = parse_sdp(&ringing.body);
    assert_eq!(
        audio_target(&early),
        (
            "192.0.2.1".to_string(),
            sim.media().port_of(caller_leg).unwrap()
        )
    );
    assert!(sim.media().ops.contains(&MediaOp::Ringback(caller_leg)));
    alice.respond(
        &mut sim,
        &to_alice,
        200,
        &sdp_answer("198.51.100.10", 41000),
    );
    let ok = sim.expect_response(trunk(), 200);
    assert_eq!(
        ok.body, ringing.body,
        "the 2xx repeats the early answer unchanged"
    );
}

#[test]
fn operators_own_retransmitted_200_is_acked_again_and_bridged_once() {
    let mut sim = Sim::new();
    let Answered {
        alice, to_alice, ..
    } = answered_call(&mut sim, "re200");
    alice.respond(
        &mut sim,
        &to_alice,
        200,
        &sdp_answer("198.51.100.10", 41000),
    );
    let ack = sim.expect_request(alice.peer, Method::Ack);
    assert_eq!(to_tag(&ack), "alice-dlg");
    assert_eq!(sim.media().bridges().len(), 1);
    assert_eq!(sim.count(trunk(), |_| true), 0, "{}", sim.dump());
    // Also after the INVITE transaction is long gone (stray 2xx).
    sim.advance_s(40);
    alice.answer_keepalives(&mut sim);
    sim.take();
    alice.respond(
        &mut sim,
        &to_alice,
        200,
        &sdp_answer("198.51.100.10", 41000),
    );
    sim.expect_request(alice.peer, Method::Ack);
    assert_eq!(sim.count(alice.peer, |s| s.is_request(&Method::Bye)), 0);
    assert_eq!(sim.core.active_calls(), 1);
}

#[test]
fn media_timeout_hangs_up_both_legs() {
    let mut sim = Sim::new();
    let Answered { call, alice, .. } = answered_call(&mut sim, "rtpgone");
    let caller_leg = sim.media().open()[0];
    sim.media_event(switchboard::media::MediaEvent::Timeout { leg: caller_leg });
    let bye = sim.expect_request(trunk(), Method::Bye);
    sim.deliver(trunk(), &call.ok_to(&bye));
    let bye = sim.expect_request(alice.peer, Method::Bye);
    sim.deliver(alice.peer, &crate::harness::reply(&bye, 200, None, "", ""));
    assert_eq!(sim.core.active_calls(), 0);
    let r = sim.record();
    assert_eq!(r.hangup_by, Some(store::HangupBy::Switch));
    assert_eq!(r.disposition, store::Disposition::Answered);
    assert!(sim.media().live().is_empty());
}

#[test]
fn number_without_plus_rings_the_same() {
    let mut sim = Sim::new();
    let (alice, _bob) = two_operators(&mut sim);
    let call = TrunkCall::new(trunk(), "74950000001", "noplus");
    sim.deliver(trunk(), &call.invite());
    sim.expect_request(alice.peer, Method::Invite);
}

#[test]
fn offer_without_a_common_codec_is_488_and_frees_the_port() {
    let mut sim = Sim::new();
    two_operators(&mut sim);
    let call = TrunkCall::new(trunk(), "+74950000001", "g729");
    let text = call
        .invite()
        .replace("RTP/AVP 0 8 101", "RTP/AVP 18")
        .replace("a=rtpmap:0 PCMU/8000", "a=rtpmap:18 G729/8000")
        .replace("a=rtpmap:8 PCMA/8000\n", "");
    sim.deliver(trunk(), &text);
    let na = sim.expect_response(trunk(), 488);
    assert!(
        na.reason.starts_with("Not Acceptable Here"),
        "{}",
        na.reason
    );
    assert!(sim.media().live().is_empty());
    assert_eq!(sim.core.active_calls(), 0);
}

#[test]
fn two_calls_at_once_stay_apart() {
    let mut sim = Sim::new();
    let (alice, bob) = two_operators(&mut sim);
    let (mut one, a1, b1) = ring_both(&mut sim, &alice, &bob, "one");
    alice.respond(&mut sim, &a1, 200, &sdp_answer("198.51.100.10", 41000));
    let ok1 = sim.expect_response(trunk(), 200);
    let cancel = sim.expect_request(bob.peer, Method::Cancel);
    bob.respond(&mut sim, &cancel, 200, "");
    bob.respond(&mut sim, &b1, 487, "");
    one.answered(&ok1);
    sim.deliver(trunk(), &one.ack());
    sim.take();

    // Alice's phone refuses the second call (she is talking); Bob takes it.
    let mut two = TrunkCall::new(trunk(), "+74950000001", "two");
    two.caller = "+79160000002".into();
    sim.deliver(trunk(), &two.invite());
    let a2 = sim.expect_request(alice.peer, Method::Invite);
    let b2 = sim.expect_request(bob.peer, Method::Invite);
    alice.respond(&mut sim, &a2, 486, "");
    bob.respond(&mut sim, &b2, 200, &sdp_answer("198.51.100.20", 42000));
    let ok2 = sim.expect_response(trunk(), 200);
    assert_eq!(ok2.headers.get("Call-ID"), Some("two@203.0.113.5"));
    two.answered(&ok2);
    sim.deliver(trunk(), &two.ack());
    assert_eq!(sim.core.active_calls(), 2);
    sim.take();

    sim.deliver(trunk(), &one.bye());
    sim.expect_response(trunk(), 200);
    let bye = sim.expect_request(alice.peer, Method::Bye);
    assert_eq!(bye.headers.get("Call-ID"), a1.headers.get("Call-ID"));
    assert_eq!(
        sim.count(bob.peer, |_| true),
        0,
        "the other call is untouched"
    );
    assert_eq!(sim.core.active_calls(), 1);
    let legs = sim.media().live();
    assert_eq!(legs.len(), 2, "the second call keeps its two legs");
}
