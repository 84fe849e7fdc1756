//! Bad input and odd requests: answered clearly, and the core keeps serving.

use sip::Method;

use crate::harness::{trunk, udp, wire, Sim};
use crate::inbound::{answered_call, ring_both, two_operators, Answered};
use crate::peers::TrunkCall;

fn options(from: &str, branch: &str) -> String {
    format!(
        "OPTIONS sip:192.0.2.1 SIP/2.0
        Via: SIP/2.0/UDP {from};branch={branch}
        Max-Forwards: 70
        From: <sip:probe@{from}>;tag=p1
        To: <sip:192.0.2.1>
        Call-ID: {branch}@probe
        CSeq: 1 OPTIONS
        "
    )
}

#[test]
fn malformed_request_gets_400_naming_the_fault_and_service_goes_on() {
    let mut sim = Sim::new();
    let peer = udp("198.51.100.77:5060");
    let bad = b"INVITE sip:+74950000001@192.0.2.1 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 198.51.100.77:5060;branch=z9hG4bKbad1\r\n\
        From: <sip:x@198.51.100.77>;tag=1\r\n\
        To: <sip:+74950000001@192.0.2.1>\r\n\
        Call-ID: bad1\r\n\
        CSeq: one INVITE\r\n\
        Max-Forwards: 70\r\n\
        Content-Length: 0\r\n\r\n";
    sim.deliver_bytes(peer, bad);
    let resp = sim.expect_response(peer, 400);
    assert!(resp.reason.starts_with("Bad Request - "), "{}", resp.reason);
    assert!(
        resp.reason.contains("CSeq"),
        "the reason names the fault: {}",
        resp.reason
    );
    assert_eq!(
        resp.headers.get("Via"),
        Some("SIP/2.0/UDP 198.51.100.77:5060;branch=z9hG4bKbad1")
    );
    // The bad CSeq is not echoed (that made the 400 unparsable); its method
    // is kept so the sender's transaction matches the 400 and stops.
    assert_eq!(resp.headers.get("CSeq"), Some("0 INVITE"));

    // Content-Length beyond the datagram.
    let short = b"OPTIONS sip:192.0.2.1 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 198.51.100.77:5060;branch=z9hG4bKbad2\r\n\
        From: <sip:x@198.51.100.77>;tag=1\r\nTo: <sip:192.0.2.1>\r\n\
        Call-ID: bad2\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n\
        Content-Length: 500\r\n\r\nshort";
    sim.deliver_bytes(peer, short);
    let resp = sim.expect_response(peer, 400);
    assert!(resp.reason.contains("Content-Length"), "{}", resp.reason);

    // Garbage without a Via cannot be answered: dropped.
    sim.deliver_bytes(peer, b"\x00\x01\x02garbage\r\n\r\n");
    sim.deliver_bytes(peer, b"SIP/2.0 200 OK\r\nbroken\r\n\r\n");
    sim.deliver_bytes(peer, &[0xff; 3000]);
    assert!(sim.outbox.is_empty(), "{}", sim.dump());

    sim.deliver(peer, &options("198.51.100.77:5060", "z9hG4bKok1"));
    let ok = sim.expect_response(peer, 200);
    assert!(ok.headers.get("Allow").unwrap().contains("INVITE"));
}

#[test]
fn every_rfc4475_torture_message_is_survived() {
    // Whatever each does, the core answers an OPTIONS afterwards.
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata/rfc4475"
    );
    let Ok(entries) = std::fs::read_dir(dir) else {
        eprintln!("skipped: {dir} not present");
        return;
    };
    let mut sim = Sim::new();
    // A 400 to a request missing its To cannot carry one either.
    sim.allow_unparsable = true;
    let peer = udp("198.51.100.78:5060");
    let mut n = 0;
    for e in entries.flatten() {
        let data = std::fs::read(e.path()).unwrap();
        sim.deliver_bytes(peer, &data);
        sim.advance_ms(100);
        n += 1;
    }
    assert!(n >= 40);
    sim.advance_s(60);
    sim.take();
    sim.deliver(peer, &options("198.51.100.78:5060", "z9hG4bKafter"));
    sim.expect_response(peer, 200);
}

#[test]
fn unknown_method_is_501_and_unsupported_known_one_405() {
    let mut sim = Sim::new();
    let peer = udp("198.51.100.77:5060");
    let text = options("198.51.100.77:5060", "z9hG4bKfoo")
        .replace("OPTIONS sip", "FROBNICATE sip")
        .replace("1 OPTIONS", "1 FROBNICATE");
    sim.deliver(peer, &text);
    sim.expect_response(peer, 501);
    let text = options("198.51.100.77:5060", "z9hG4bKsub")
        .replace("OPTIONS sip", "SUBSCRIBE sip")
        .replace("1 OPTIONS", "1 SUBSCRIBE");
    sim.deliver(peer, &text);
    let na = sim.expect_response(peer, 405);
    assert!(na.headers.get("Allow").is_some());
}

#[test]
fn max_forwards_zero_is_483() {
    let mut sim = Sim::new();
    let peer = udp("198.51.100.77:5060");
    let text =
        options("198.51.100.77:5060", "z9hG4bKmf0").replace("Max-Forwards: 70", "Max-Forwards: 0");
    sim.deliver(peer, &text);
    sim.expect_response(peer, 483);
}

#[test]
fn bye_for_an_unknown_call_is_481() {
    let mut sim = Sim::new();
    let mut call = TrunkCall::new(trunk(), "+74950000001", "ghost");
    call.to_tag = Some("nosuch".into());
    sim.deliver(trunk(), &call.bye());
    sim.expect_response(trunk(), 481);
    let mut info = TrunkCall::new(trunk(), "+74950000001", "ghost2");
    info.to_tag = Some("nosuch".into());
    sim.deliver(trunk(), &info.info_dtmf('5'));
    sim.expect_response(trunk(), 481);
}

#[test]
fn retransmitted_invite_is_absorbed_not_forked_again() {
    let mut sim = Sim::new();
    let (alice, bob) = two_operators(&mut sim);
    let (call, _to_alice, _to_bob) = ring_both(&mut sim, &alice, &bob, "rexmit");
    sim.advance_ms(500);
    sim.deliver(trunk(), &call.invite());
    sim.advance_ms(1000);
    sim.deliver(trunk(), &call.invite());
    let invites_to = |sim: &Sim, p| {
        sim.outbox
            .iter()
            .filter(|s| s.peer == p && s.is_request(&Method::Invite))
            .filter_map(|s| {
                s.request()
                    .and_then(|r| r.headers.get("Call-ID"))
                    .map(str::to_string)
            })
            .collect::<std::collections::HashSet<_>>()
            .len()
    };
    // Our own INVITE retransmissions (Timer A) carry the same Call-ID: still one fork.
    assert!(invites_to(&sim, alice.peer) <= 1);
    assert!(invites_to(&sim, bob.peer) <= 1);
    assert_eq!(sim.core.active_calls(), 1);
    assert_eq!(sim.media().open().len(), 3, "no new media legs");
    assert!(
        sim.count(trunk(), |s| s.is_response(100)) >= 1,
        "the 100 is repeated"
    );
    assert_eq!(
        sim.count(trunk(), |s| s.response().is_some_and(|r| r.status >= 200)),
        0
    );
}

#[test]
fn info_with_dtmf_relay_is_200() {
    let mut sim = Sim::new();
    let Answered { mut call, .. } = answered_call(&mut sim, "dtmf");
    sim.deliver(trunk(), &call.info_dtmf('5'));
    let ok = sim.expect_response(trunk(), 200);
    assert_eq!(ok.headers.get("CSeq"), Some("2 INFO"));
    assert_eq!(sim.core.active_calls(), 1);
}

#[test]
fn reinvite_from_the_caller_is_answered_here() {
    let mut sim = Sim::new();
    let Answered {
        mut call, alice, ..
    } = answered_call(&mut sim, "hold");
    call.cseq += 1;
    let mut text = format!(
        "INVITE {target} SIP/2.0
        Via: SIP/2.0/UDP 203.0.113.5:5060;branch=z9hG4bK-hold-re
        From: \"+79161234567\" <sip:+79161234567@203.0.113.5>;tag={ft}
        To: <sip:+74950000001@192.0.2.1>;tag={tt}
        Call-ID: {cid}
        CSeq: {seq} INVITE
        Contact: <sip:+79161234567@203.0.113.5:5060>
        Max-Forwards: 70
        Content-Type: application/sdp
        --
        ",
        target = call.remote_target.clone().unwrap(),
        ft = call.from_tag,
        tt = call.to_tag.clone().unwrap(),
        cid = call.call_id,
        seq = call.cseq,
    );
    text.push_str(
        &crate::harness::sdp_offer("203.0.113.50", 40000).replace("a=sendrecv", "a=sendonly"),
    );
    sim.deliver(trunk(), &text);
    let ok = sim.expect_response(trunk(), 200);
    let answer = crate::harness::parse_sdp(&ok.body);
    assert_eq!(
        answer
            .first_audio()
            .map(|(_, m)| answer.effective_direction(m)),
        Some(sdp::Direction::RecvOnly)
    );
    assert_eq!(
        sim.count(alice.peer, |s| s.is_request(&Method::Invite)),
        0,
        "not passed on"
    );
}

#[test]
fn no_free_rtp_port_is_503() {
    let mut sim = Sim::new();
    two_operators(&mut sim);
    sim.media().exhausted = true;
    let call = TrunkCall::new(trunk(), "+74950000001", "noport");
    sim.deliver(trunk(), &call.invite());
    sim.expect_response(trunk(), 503);
    assert_eq!(sim.core.active_calls(), 0);
}

#[test]
fn bytes_helper_is_well_formed() {
    // The helper itself: CRLF lines and a correct Content-Length.
    let w = wire("OPTIONS sip:a SIP/2.0\n  Via: x\n--\nbody\n");
    assert_eq!(
        w,
        b"OPTIONS sip:a SIP/2.0\r\nVia: x\r\nContent-Length: 6\r\n\r\nbody\r\n"
    );
}
