//! An operator calls a customer through the trunk: proxy authentication,
//! the store's caller ID, and the permission to call out.

use sip::auth::{authorization_for, Challenge};
use sip::{Method, Request, Response};

use crate::harness::{param, reply, sdp_answer, sdp_offer, to_tag, trunk, Sim};
use crate::peers::{contact_uri, Phone};

/// The operator's INVITE to `number` (CSeq `cseq`), with credentials if given.
fn operator_invite(phone: &mut Phone, number: &str, cseq: u32, auth: Option<&str>) -> String {
    let branch = phone.branch();
    let mut s = format!(
        "INVITE sip:{number}@192.0.2.1 SIP/2.0
        Via: SIP/2.0/UDP {via};rport;branch={branch}
        Max-Forwards: 70
        From: \"Alice\" <sip:{user}@192.0.2.1>;tag=out-{user}
        To: <sip:{number}@192.0.2.1>
        Call-ID: out-{user}-{number}@{via}
        CSeq: {cseq} INVITE
        Contact: <{contact}>
        User-Agent: baresip v3.10.1
        ",
        via = phone.via,
        user = phone.user,
        contact = phone.contact,
    );
    if let Some(a) = auth {
        s.push_str(&format!("Proxy-Authorization: {a}\n"));
    }
    s.push_str("Content-Type: application/sdp\n--\n");
    s.push_str(&sdp_offer("198.51.100.10", 43000));
    s
}

/// INVITE, 407, ACK, INVITE with Proxy-Authorization: the phone's side of
/// proxy auth. Returns the authorized INVITE's text.
fn authorized_invite(sim: &mut Sim, phone: &mut Phone, number: &str) -> String {
    let first = operator_invite(phone, number, 1, None);
    sim.deliver(phone.peer, &first);
    let challenge = sim.expect_response(phone.peer, 407);
    assert!(
        sim.count(trunk(), |_| true) == 0,
        "nothing leaves before auth"
    );
    let first_req = match sip::parse_message(&crate::harness::wire(&first)).unwrap() {
        sip::Message::Request(r) => r,
        _ => unreachable!(),
    };
    sim.deliver(phone.peer, &ack_for(&first_req, &challenge));
    let ch = Challenge::best(challenge.headers.get_all("Proxy-Authenticate"))
        .expect("a Proxy-Authenticate challenge");
    let auth = authorization_for(
        &ch,
        &Method::Invite,
        &format!("sip:{number}@192.0.2.1"),
        &phone.user,
        &phone.password,
        "feed01",
        1,
    )
    .unwrap();
    operator_invite(phone, number, 2, Some(&auth))
}

/// The ACK for a non-2xx final response (same branch as the INVITE).
fn ack_for(invite: &Request, resp: &Response) -> String {
    format!(
        "ACK {uri} SIP/2.0
        Via: {via}
        Max-Forwards: 70
        From: {from}
        To: {to}
        Call-ID: {call_id}
        CSeq: {seq} ACK
        ",
        uri = invite.uri,
        via = invite.headers.get("Via").unwrap(),
        from = invite.headers.get("From").unwrap(),
        to = resp.headers.get("To").unwrap(),
        call_id = invite.headers.get("Call-ID").unwrap(),
        seq = invite.cseq().unwrap().seq,
    )
}

#[test]
fn operator_calls_out_through_the_trunk_with_the_stores_caller_id() {
    let mut sim = Sim::new();
    let mut alice = Phone::alice();
    alice.register(&mut sim, 600);
    let invite = authorized_invite(&mut sim, &mut alice, "+79031234567");
    sim.deliver(alice.peer, &invite);

    let out = sim.expect_request(trunk(), Method::Invite);
    assert_eq!(out.uri, "sip:+79031234567@203.0.113.5:5060");
    let from = out.headers.get("From").unwrap();
    assert!(
        from.contains("sip:+74950000000@"),
        "the store's caller ID: {from}"
    );
    assert!(
        !from.contains("alice"),
        "the operator's name does not leak: {from}"
    );
    assert!(out.headers.get("To").unwrap().contains("+79031234567"));
    assert_eq!(
        out.headers.get("Proxy-Authorization"),
        None,
        "our credentials stay here"
    );
    assert_ne!(
        out.headers.get("Call-ID"),
        Some("out-alice-+79031234567@198.51.100.10:5062")
    );
    let offer = crate::harness::parse_sdp(&out.body);
    assert_eq!(crate::harness::audio_target(&offer).0, "192.0.2.1");

    // The trunk rings and answers.
    sim.deliver(
        trunk(),
        &reply(
            &out,
            183,
            Some("far"),
            "Contact: <sip:+79031234567@203.0.113.5:5060>",
            "",
        ),
    );
    sim.deliver(
        trunk(),
        &reply(
            &out,
            180,
            Some("far"),
            "Contact: <sip:+79031234567@203.0.113.5:5060>",
            "",
        ),
    );
    sim.expect_response(alice.peer, 180);
    sim.deliver(
        trunk(),
        &reply(
            &out,
            200,
            Some("far"),
            "Contact: <sip:+79031234567@203.0.113.5:5060>",
            &sdp_answer("203.0.113.60", 30000),
        ),
    );
    let ack = sim.expect_request(trunk(), Method::Ack);
    assert_eq!(ack.uri, "sip:+79031234567@203.0.113.5:5060");
    assert_eq!(to_tag(&ack), "far");
    let ok = sim.expect_response(alice.peer, 200);
    assert_eq!(ok.headers.get("CSeq"), Some("2 INVITE"));
    assert!(!ok.body.is_empty());
    assert_eq!(sim.media().bridges().len(), 1);

    // Alice ACKs and later hangs up.
    let target = contact_uri(ok.headers.get("Contact").unwrap());
    let our_tag = to_tag(&ok);
    let in_dialog = |method: &str, seq: u32, branch: &str| {
        format!(
            "{method} {target} SIP/2.0
            Via: SIP/2.0/UDP 198.51.100.10:5062;rport;branch={branch}
            Max-Forwards: 70
            From: \"Alice\" <sip:alice@192.0.2.1>;tag=out-alice
            To: <sip:+79031234567@192.0.2.1>;tag={our_tag}
            Call-ID: out-alice-+79031234567@198.51.100.10:5062
            CSeq: {seq} {method}
            "
        )
    };
    sim.deliver(alice.peer, &in_dialog("ACK", 2, "z9hG4bK-oa-ack"));
    sim.advance_s(10);
    alice.answer_keepalives(&mut sim);
    assert!(sim.outbox.is_empty(), "{}", sim.dump());
    sim.deliver(alice.peer, &in_dialog("BYE", 3, "z9hG4bK-oa-bye"));
    sim.expect_response(alice.peer, 200);
    let bye = sim.expect_request(trunk(), Method::Bye);
    assert_eq!(bye.uri, "sip:+79031234567@203.0.113.5:5060");
    sim.deliver(trunk(), &reply(&bye, 200, None, "", ""));
    assert_eq!(sim.core.active_calls(), 0);
    let r = sim.record();
    assert_eq!(r.direction, store::Direction::Outbound);
    assert_eq!(r.operator.as_deref(), Some("alice"));
    assert_eq!(r.caller, "+74950000000");
    assert_eq!(r.callee, "+79031234567");
    assert_eq!(r.disposition, store::Disposition::Answered);
    assert_eq!(r.hangup_by, Some(store::HangupBy::Caller));
    assert!(sim.media().live().is_empty());
}

#[test]
fn operator_without_can_call_out_is_403() {
    let mut sim = Sim::new();
    let mut bob = Phone::bob();
    bob.register(&mut sim, 600);
    let invite = authorized_invite(&mut sim, &mut bob, "+79031234567");
    sim.deliver(bob.peer, &invite);
    let forbidden = sim.expect_response(bob.peer, 403);
    assert!(
        forbidden.reason.contains("may not call out"),
        "{}",
        forbidden.reason
    );
    assert_eq!(sim.count(trunk(), |_| true), 0);
    assert!(sim.media().open().is_empty());
}

#[test]
fn wrong_proxy_password_is_403() {
    let mut sim = Sim::new();
    let mut alice = Phone::alice();
    alice.register(&mut sim, 600);
    alice.password = "not-her-password".into();
    let invite = authorized_invite(&mut sim, &mut alice, "+79031234567");
    sim.deliver(alice.peer, &invite);
    sim.expect_response(alice.peer, 403);
    assert_eq!(sim.count(trunk(), |_| true), 0);
}

#[test]
fn number_no_trunk_takes_is_404() {
    let mut sim = Sim::new();
    let mut alice = Phone::alice();
    alice.register(&mut sim, 600);
    let invite = authorized_invite(&mut sim, &mut alice, "+4930123456");
    sim.deliver(alice.peer, &invite);
    sim.expect_response(alice.peer, 404);
    assert_eq!(sim.count(trunk(), |_| true), 0);
}

#[test]
fn trunk_rejection_reaches_the_operator() {
    let mut sim = Sim::new();
    let mut alice = Phone::alice();
    alice.register(&mut sim, 600);
    let invite = authorized_invite(&mut sim, &mut alice, "+79031234567");
    sim.deliver(alice.peer, &invite);
    let out = sim.expect_request(trunk(), Method::Invite);
    sim.deliver(trunk(), &reply(&out, 486, Some("far"), "", ""));
    sim.expect_request(trunk(), Method::Ack);
    let busy = sim.expect_response(alice.peer, 486);
    assert!(param(busy.headers.get("To").unwrap(), "tag").is_some());
    assert_eq!(sim.core.active_calls(), 0);
}

#[test]
fn operator_cancels_while_the_customer_rings() {
    let mut sim = Sim::new();
    let mut alice = Phone::alice();
    alice.register(&mut sim, 600);
    let invite = authorized_invite(&mut sim, &mut alice, "+79031234567");
    sim.deliver(alice.peer, &invite);
    let out = sim.expect_request(trunk(), Method::Invite);
    sim.deliver(trunk(), &reply(&out, 180, Some("far"), "", ""));
    sim.expect_response(alice.peer, 180);
    let req = match sip::parse_message(&crate::harness::wire(&invite)).unwrap() {
        sip::Message::Request(r) => r,
        _ => unreachable!(),
    };
    let cancel = format!(
        "CANCEL {uri} SIP/2.0
        Via: {via}
        Max-Forwards: 70
        From: {from}
        To: {to}
        Call-ID: {cid}
        CSeq: 2 CANCEL
        ",
        uri = req.uri,
        via = req.headers.get("Via").unwrap(),
        from = req.headers.get("From").unwrap(),
        to = req.headers.get("To").unwrap(),
        cid = req.headers.get("Call-ID").unwrap(),
    );
    sim.deliver(alice.peer, &cancel);
    sim.expect_response(alice.peer, 200);
    sim.expect_response(alice.peer, 487);
    let c = sim.expect_request(trunk(), Method::Cancel);
    assert_eq!(c.headers.get("Via"), out.headers.get("Via"));
    let r = sim.record();
    assert_eq!(r.direction, store::Direction::Outbound);
    assert_eq!(r.disposition, store::Disposition::Abandoned);
}

#[test]
fn customer_hangs_up_and_the_operator_gets_bye() {
    let mut sim = Sim::new();
    let mut alice = Phone::alice();
    alice.register(&mut sim, 600);
    let invite = authorized_invite(&mut sim, &mut alice, "+79031234567");
    sim.deliver(alice.peer, &invite);
    let out = sim.expect_request(trunk(), Method::Invite);
    let contact = "Contact: <sip:+79031234567@203.0.113.5:5060>";
    sim.deliver(
        trunk(),
        &reply(
            &out,
            200,
            Some("far"),
            contact,
            &sdp_answer("203.0.113.60", 30000),
        ),
    );
    sim.expect_request(trunk(), Method::Ack);
    let ok = sim.expect_response(alice.peer, 200);
    let our_tag_to_trunk = param(out.headers.get("From").unwrap(), "tag")
        .unwrap()
        .to_string();
    let bye = format!(
        "BYE {contact_uri} SIP/2.0
        Via: SIP/2.0/UDP 203.0.113.5:5060;branch=z9hG4bK-far-bye
        Max-Forwards: 70
        From: {to};tag=far
        To: {from}
        Call-ID: {cid}
        CSeq: 1 BYE
        ",
        contact_uri = contact_uri(out.headers.get("Contact").unwrap()),
        to = out.headers.get("To").unwrap(),
        from = out.headers.get("From").unwrap(),
        cid = out.headers.get("Call-ID").unwrap(),
    );
    assert!(bye.contains(&our_tag_to_trunk));
    sim.deliver(trunk(), &bye);
    sim.expect_response(trunk(), 200);
    let to_alice = sim.expect_request(alice.peer, Method::Bye);
    assert_eq!(to_alice.uri, "sip:alice@198.51.100.10:5062", "her Contact");
    assert_eq!(to_tag(&to_alice), "out-alice");
    assert_eq!(
        param(to_alice.headers.get("From").unwrap(), "tag").map(str::to_string),
        Some(to_tag(&ok))
    );
    let r = sim.record();
    assert_eq!(r.hangup_by, Some(store::HangupBy::Callee));
}

#[test]
fn operator_dialling_our_echo_number_gets_the_echo_test_not_the_trunk() {
    let config = format!(
        "{}\n[[number]]\nnumber = \"+74950000009\"\nname = \"echo test\"\necho = true\n",
        crate::harness::CONFIG
    );
    let mut sim = Sim::with_config(&config);
    // Bob may not call out: the echo test is not calling out.
    let mut bob = Phone::bob();
    let invite = authorized_invite(&mut sim, &mut bob, "+74950000009");
    sim.deliver(bob.peer, &invite);
    let ok = sim.expect_response(bob.peer, 200);
    assert!(!ok.body.is_empty(), "our SDP answer");
    let leg = sim.media().open()[0];
    assert!(sim
        .media()
        .position(|o| *o == crate::harness::MediaOp::Echo(leg))
        .is_some());
    assert_eq!(sim.count(trunk(), |_| true), 0, "{}", sim.dump());
}
