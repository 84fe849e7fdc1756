//! The trunk edge: which INVITEs the switch takes, what it answers to
//! garbage, and operators calling out through the provider.

use std::time::Duration;

use switchboard_tests::baresip::{Baresip, BaresipConfig};
use switchboard_tests::sipp::Sipp;
use switchboard_tests::sipraw;
use switchboard_tests::switch::{Switch, SwitchConfig, DEMO_NUMBER, STORE_CALLER_ID};
use switchboard_tests::PROMPT;

const ANSWER: Duration = Duration::from_secs(5);

fn alice_phone(sw: &Switch) -> Baresip {
    let alice = sw.config.operator("alice").clone();
    let phone = Baresip::start(BaresipConfig::operator(
        &alice.username,
        &alice.password,
        sw.sip,
        440.0,
    ))
    .expect("baresip for alice");
    phone.wait_registered(PROMPT).expect("alice registers");
    phone
}

#[test]
fn unknown_number_from_the_trunk_gets_404() {
    let sw = Switch::start(SwitchConfig::demo()).expect("switch");
    let reply = sipraw::invite_final_response(sw.sip, "127.0.0.1", "+74959999999", ANSWER)
        .expect("send INVITE")
        .expect("a final response");
    assert_eq!(reply.code, 404, "{}", reply.raw);
}

#[test]
fn invite_from_outside_the_trunk_allow_list_is_rejected() {
    let sw = Switch::start(SwitchConfig::demo()).expect("switch");
    let alice = alice_phone(&sw);
    // The trunk lists 127.0.0.1 only; 127.0.0.2 is loopback but not listed.
    let reply = sipraw::invite_final_response(sw.sip, "127.0.0.2", DEMO_NUMBER, ANSWER)
        .expect("send INVITE")
        .expect("a final response");
    // 403 Forbidden is the answer; a digest challenge (401/407) also keeps
    // the stranger out, as an unauthenticated "operator".
    assert!(
        matches!(reply.code, 403 | 401 | 407),
        "a stranger's INVITE must be refused, got {}",
        reply.raw
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        alice.ctrl.events_of("CALL_INCOMING").is_empty(),
        "the operator's phone must not ring for a stranger"
    );
}

/// Malformed but answerable requests (Via, From, To, Call-ID and CSeq are
/// all readable) from `local`.
fn malformed(
    local: std::net::SocketAddr,
    target: std::net::SocketAddr,
) -> Vec<(&'static str, String)> {
    let head = |method_line: &str, cseq: &str, extra: &str| {
        format!(
            "{method_line}\r\n\
             Via: SIP/2.0/UDP {local};branch=z9hG4bK{};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:tester@{local}>;tag={}\r\n\
             To: <sip:+74950000001@{target}>\r\n\
             Call-ID: {}@127.0.0.1\r\n\
             CSeq: {cseq}\r\n\
             {extra}\r\n",
            sipraw::unique("bad"),
            sipraw::unique("t"),
            sipraw::unique("bad"),
        )
    };
    vec![
        (
            "CSeq method differs from the request method (RFC 4475 mismatch01)",
            head(
                &format!("OPTIONS sip:+74950000001@{target} SIP/2.0"),
                "8 INVITE",
                "Content-Length: 0\r\n",
            ),
        ),
        (
            "negative Content-Length (RFC 4475 ncl)",
            head(
                &format!("OPTIONS sip:+74950000001@{target} SIP/2.0"),
                "1 OPTIONS",
                "Content-Length: -999\r\n",
            ),
        ),
        (
            "CSeq number beyond 2^32 (RFC 4475 scalar02)",
            head(
                &format!("OPTIONS sip:+74950000001@{target} SIP/2.0"),
                "36893488147419103232 OPTIONS",
                "Content-Length: 0\r\n",
            ),
        ),
    ]
}

#[test]
fn malformed_requests_get_400_and_the_switch_keeps_answering() {
    let mut sw = Switch::start(SwitchConfig::demo()).expect("switch");
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let local = sock.local_addr().unwrap();
    for (what, msg) in malformed(local, sw.sip) {
        let reply = sipraw::send_raw_on(&sock, sw.sip, msg.as_bytes(), ANSWER)
            .expect("send")
            .unwrap_or_else(|| panic!("no answer to a request with {what}"));
        assert_eq!(reply.code, 400, "{what}: {}", reply.raw);
    }
    // Bytes that are not SIP at all: dropped or answered, never a crash.
    for junk in [
        &b"\x00\x01\x02garbage"[..],
        b"SIP/2.0\r\n\r\n",
        &[0xffu8; 2000][..],
        b"\r\n\r\n",
    ] {
        let _ = sipraw::send_raw(sw.sip, junk, Duration::from_millis(200)).expect("send junk");
    }
    let pong = sipraw::options_ping(sw.sip, ANSWER)
        .expect("ping")
        .expect("the switch still answers OPTIONS after garbage");
    assert_eq!(pong.code, 200, "{}", pong.raw);
    assert!(sw.exited().is_none(), "the switch died");
}

#[test]
fn alice_calls_a_customer_out_through_the_trunk_with_the_store_caller_id() {
    let mut provider = Sipp::new("trunk_provider_uas.xml")
        .rtp_echo()
        .timeout(Duration::from_secs(40))
        .spawn()
        .expect("SIPp provider");
    let mut config = SwitchConfig::demo();
    config.trunk_proxy = Some(provider.sip_addr());
    let sw = Switch::start(config).expect("switch");
    let alice = alice_phone(&sw);

    alice
        .dial(&sw.uri("+74951234567"))
        .expect("alice dials out");
    alice
        .wait_event("CALL_ESTABLISHED", PROMPT)
        .expect("the provider answered through the switch");
    std::thread::sleep(Duration::from_secs(3));
    alice.hangup().expect("alice hangs up");
    alice.wait_event("CALL_CLOSED", PROMPT).expect("closed");

    let out = provider.wait().expect("provider outcome");
    out.assert_success(); // INVITE answered, ACK, BYE from the switch answered
    assert!(
        out.logs.contains("RURI sip:+74951234567@"),
        "the provider should be asked for the dialled number: {}",
        out.logs
    );
    let from = out
        .logs
        .lines()
        .find(|l| l.contains("FROM"))
        .unwrap_or_default()
        .to_owned();
    assert!(
        from.contains(STORE_CALLER_ID),
        "From should carry the store's caller ID {STORE_CALLER_ID}: {from}"
    );
    // Audio both ways: alice's tone went out to the provider, which echoed it
    // back through the switch to her.
    let heard = alice.heard().expect("alice's recording");
    assert!(
        heard.tone_fraction(440.0) > 0.5,
        "alice should hear her tone echoed by the provider: {}",
        heard.summary()
    );
}

#[test]
fn operator_without_call_out_rights_cannot_use_the_trunk() {
    let mut provider = Sipp::new("trunk_provider_uas.xml")
        .rtp_echo()
        .timeout(Duration::from_secs(10))
        .spawn()
        .expect("SIPp provider");
    let mut config = SwitchConfig::demo();
    config.trunk_proxy = Some(provider.sip_addr());
    let sw = Switch::start(config).expect("switch");
    let bob = sw.config.operator("bob").clone();
    assert!(!bob.can_call_out);
    let phone = Baresip::start(BaresipConfig::operator(
        &bob.username,
        &bob.password,
        sw.sip,
        440.0,
    ))
    .expect("baresip for bob");
    phone.wait_registered(PROMPT).expect("bob registers");
    phone.dial(&sw.uri("+74951234567")).expect("bob dials out");
    let closed = phone
        .wait_event("CALL_CLOSED", PROMPT)
        .expect("bob's call is refused");
    assert!(
        phone.ctrl.events_of("CALL_ESTABLISHED").is_empty(),
        "{:?}",
        closed
    );
    let out = provider.wait().expect("provider outcome");
    assert!(
        !out.messages.contains("INVITE sip:"),
        "nothing may reach the provider: {}",
        out.report()
    );
}
