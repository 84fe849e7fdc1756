//! The echo-test action through the core (answered by the switch, the
//! engine asked to echo the caller's leg, no operator rung), and hold: a
//! re-INVITE or UPDATE whose offer stops the peer receiving puts its media
//! leg on hold, and sendrecv brings it back.

use sip::Response;

use crate::harness::{parse_sdp, trunk, MediaOp, Sim, CONFIG};
use crate::inbound::{answered_call, Answered};
use crate::peers::TrunkCall;

const ECHO: &str = "+74950000009";

fn echo_config() -> String {
    format!("{CONFIG}\n[[number]]\nnumber = \"{ECHO}\"\nname = \"echo test\"\necho = true\n")
}

#[test]
fn echo_number_is_answered_by_the_switch_and_echoes_the_caller() {
    let mut sim = Sim::with_config(&echo_config());
    let mut call = TrunkCall::new(trunk(), ECHO, "echo1");
    sim.deliver(trunk(), &call.invite());
    let ok = sim.expect_response(trunk(), 200);
    let answer = parse_sdp(&ok.body);
    let (_, audio) = answer.first_audio().expect("audio in our answer");
    let leg = {
        let media = sim.media();
        let open = media.open();
        assert_eq!(open.len(), 1, "one leg, the caller's: {:?}", media.ops);
        assert_eq!(media.port_of(open[0]), Some(audio.port), "our SDP names it");
        let echo = media
            .position(|o| *o == MediaOp::Echo(open[0]))
            .expect("echo asked for");
        let configured = media
            .position(|o| matches!(o, MediaOp::Configure(l, _) if *l == open[0]))
            .expect("configured");
        assert!(configured < echo, "the leg knows the caller's codec first");
        assert!(media.bridges().is_empty());
        open[0]
    };
    call.answered(&ok);
    sim.deliver(trunk(), &call.ack());
    sim.advance_s(5);
    assert_eq!(sim.core.active_calls(), 1);
    let sent: Vec<_> = sim.take();
    assert!(
        sent.iter().all(|s| s.peer == trunk()),
        "no operator is rung: {}",
        sim.dump()
    );
    sim.deliver(trunk(), &call.bye());
    sim.expect_response(trunk(), 200);
    assert_eq!(sim.core.active_calls(), 0);
    assert_eq!(sim.media().closed(), [leg]);
    let r = sim.record();
    assert_eq!(r.disposition, store::Disposition::Answered, "not abandoned");
    assert_eq!(r.operator, None);
    assert_eq!(r.number_name.as_deref(), Some("echo test"));
    assert_eq!(r.hangup_by, Some(store::HangupBy::Caller));
    let start = crate::harness::UNIX_AT_ORIGIN as i64 * 1000;
    assert_eq!(r.answered_at, Some(start), "answered at once");
}

/// A re-INVITE (or UPDATE) from the trunk in the caller's dialog.
fn reoffer(call: &mut TrunkCall, method: &str, c: &str, direction: &str) -> String {
    call.cseq += 1;
    let target = call.remote_target.clone().expect("answered");
    let to_tag = call.to_tag.clone().expect("answered");
    format!(
        "{method} {target} SIP/2.0
        Via: SIP/2.0/UDP {src};branch=z9hG4bK-{id}-re{cseq}
        From: \"{caller}\" <sip:{caller}@203.0.113.5>;tag={tag}
        To: <sip:{number}@192.0.2.1>;tag={to_tag}
        Call-ID: {call_id}
        CSeq: {cseq} {method}
        Contact: <sip:{caller}@{src}>
        Max-Forwards: 70
        Content-Type: application/sdp
        --
        v=0
        o=- 1000 {cseq} IN IP4 203.0.113.50
        s=-
        c=IN IP4 {c}
        t=0 0
        m=audio 40000 RTP/AVP 0 101
        a=rtpmap:0 PCMU/8000
        a=rtpmap:101 telephone-event/8000
        a={direction}
        ",
        src = call.peer.addr,
        id = call.from_tag,
        cseq = call.cseq,
        caller = call.caller,
        tag = call.from_tag,
        number = call.number,
        call_id = call.call_id,
    )
}

fn holds(sim: &Sim) -> Vec<MediaOp> {
    sim.media()
        .ops
        .iter()
        .filter(|o| matches!(o, MediaOp::Hold(..)))
        .cloned()
        .collect()
}

fn our_direction(ok: &Response) -> String {
    let sdp = parse_sdp(&ok.body);
    let (_, audio) = sdp.first_audio().expect("audio");
    sdp.effective_direction(audio).as_str().to_string()
}

#[test]
fn reinvite_hold_and_resume_set_the_legs_hold() {
    let mut sim = Sim::new();
    let Answered { mut call, .. } = answered_call(&mut sim, "hold1");
    let caller_leg = sim.media().open()[0];
    assert!(holds(&sim).is_empty());

    // RFC 3264 hold: sendonly.
    sim.deliver(
        trunk(),
        &reoffer(&mut call, "INVITE", "203.0.113.50", "sendonly"),
    );
    let ok = sim.expect_response(trunk(), 200);
    assert_eq!(our_direction(&ok), "recvonly");
    assert_eq!(holds(&sim), [MediaOp::Hold(caller_leg, true)]);
    sim.deliver(trunk(), &call.ack());

    // Still on hold (now inactive): no second hold.
    sim.deliver(
        trunk(),
        &reoffer(&mut call, "INVITE", "203.0.113.50", "inactive"),
    );
    let ok = sim.expect_response(trunk(), 200);
    assert_eq!(our_direction(&ok), "inactive");
    assert_eq!(holds(&sim).len(), 1, "no change, no call");
    sim.deliver(trunk(), &call.ack());

    // Resume.
    sim.deliver(
        trunk(),
        &reoffer(&mut call, "INVITE", "203.0.113.50", "sendrecv"),
    );
    let ok = sim.expect_response(trunk(), 200);
    assert_eq!(our_direction(&ok), "sendrecv");
    assert_eq!(
        holds(&sim),
        [
            MediaOp::Hold(caller_leg, true),
            MediaOp::Hold(caller_leg, false)
        ]
    );
    sim.deliver(trunk(), &call.ack());
    assert_eq!(sim.core.active_calls(), 1);
}

#[test]
fn old_style_hold_by_update_and_resume() {
    let mut sim = Sim::new();
    let Answered { mut call, .. } = answered_call(&mut sim, "hold2");
    let caller_leg = sim.media().open()[0];

    // RFC 2543 hold: c=0.0.0.0 with sendrecv, sent as UPDATE.
    sim.deliver(
        trunk(),
        &reoffer(&mut call, "UPDATE", "0.0.0.0", "sendrecv"),
    );
    let ok = sim.expect_response(trunk(), 200);
    assert!(!ok.body.is_empty(), "UPDATE with an offer gets an answer");
    assert_eq!(holds(&sim), [MediaOp::Hold(caller_leg, true)]);

    sim.deliver(
        trunk(),
        &reoffer(&mut call, "UPDATE", "203.0.113.50", "sendrecv"),
    );
    sim.expect_response(trunk(), 200);
    assert_eq!(
        holds(&sim),
        [
            MediaOp::Hold(caller_leg, true),
            MediaOp::Hold(caller_leg, false)
        ]
    );
    // The leg was told where the caller is again.
    let last_configure = sim
        .media()
        .ops
        .iter()
        .rev()
        .find_map(|o| match o {
            MediaOp::Configure(l, a) if *l == caller_leg => Some(a.remote),
            _ => None,
        })
        .flatten();
    assert_eq!(last_configure, Some("203.0.113.50:40000".parse().unwrap()));
}
