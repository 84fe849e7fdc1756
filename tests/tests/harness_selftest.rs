//! The harness proving itself against real peers, without the switch:
//! baresip calling a SIPp UAS that echoes RTP, a SIPp trunk customer calling
//! baresip with speech and DTMF, two baresips talking, digest registration
//! against a SIPp registrar. If these fail, the interop tests of the switch
//! cannot be trusted either way.

use std::time::Duration;

use switchboard_tests::baresip::{Baresip, BaresipConfig};
use switchboard_tests::sipp::Sipp;
use switchboard_tests::sipraw;
use switchboard_tests::PROMPT;

const TALK: Duration = Duration::from_secs(3);

#[test]
fn baresip_hears_its_own_tone_echoed_by_the_sipp_provider() {
    let mut provider = Sipp::new("trunk_provider_uas.xml")
        .rtp_echo()
        .timeout(Duration::from_secs(30))
        .spawn()
        .expect("start SIPp provider");
    let phone = Baresip::start(BaresipConfig::standalone("alice", 440.0)).expect("start baresip");
    phone
        .dial(&format!("sip:+74951234567@{}", provider.sip_addr()))
        .expect("dial");
    phone
        .wait_event("CALL_ESTABLISHED", PROMPT)
        .expect("call established");
    std::thread::sleep(TALK);
    phone.hangup().expect("hangup");
    phone
        .wait_event("CALL_CLOSED", PROMPT)
        .expect("call closed");

    let out = provider.wait().expect("SIPp outcome");
    out.assert_success();
    assert!(
        out.logs.contains("RURI sip:+74951234567@127.0.0.1"),
        "provider log: {}",
        out.logs
    );
    assert!(out.logs.contains("FROM"), "provider log: {}", out.logs);
    assert!(out.logs.contains("alice"), "provider log: {}", out.logs);

    let heard = phone.heard().expect("recording");
    assert!(
        heard.tone_fraction(440.0) > 0.5,
        "echo of 440 Hz not heard: {}",
        heard.summary()
    );
    assert!(heard.tone_fraction(1000.0) < 0.05, "{}", heard.summary());
}

#[test]
fn sipp_customer_reaches_baresip_with_speech_and_a_digit() {
    let phone = Baresip::start(BaresipConfig::standalone("operator", 440.0)).expect("baresip");
    let out = Sipp::new("trunk_customer_uac.xml")
        .remote(phone.sip_addr())
        .service("operator")
        .timeout(Duration::from_secs(40))
        .run()
        .expect("run SIPp customer");
    out.assert_success();
    assert!(out.retransmissions() <= 2, "{}", out.report());

    let closed = phone.wait_event("CALL_CLOSED", PROMPT).expect("closed");
    assert!(
        // baresip's words for a BYE from the other side
        closed.param.contains("reset by peer"),
        "call should end by the customer's BYE, got {:?}",
        closed.param
    );
    assert!(
        phone.dtmf_received().contains('1'),
        "digit 1 not received; events: {:?}",
        phone.ctrl.events()
    );
    // The SIP trace shows what SIPp sent, each once.
    let got: Vec<String> = phone
        .sip_received()
        .iter()
        .map(|m| m.start_line().to_owned())
        .collect();
    for method in [
        "INVITE sip:operator@",
        "ACK sip:operator@",
        "BYE sip:operator@",
    ] {
        assert!(
            got.iter().any(|l| l.starts_with(method)),
            "{method}: {got:?}"
        );
    }
    // A loaded machine may delay an answer past SIPp's 500 ms retransmit.
    assert!(phone.sip_repeats_received() <= 2, "{got:?}");
    let heard = phone.heard().expect("recording");
    // g711a.pcap: ~7 s of speech with short gaps.
    assert!(
        heard.active_fraction() > 0.4,
        "operator should hear the customer's speech: {}",
        heard.summary()
    );
    assert!(heard.tone_fraction(440.0) < 0.05, "{}", heard.summary());
}

#[test]
fn two_baresips_hear_each_others_tones() {
    let a = Baresip::start(BaresipConfig::standalone("a", 440.0)).expect("baresip a");
    let b = Baresip::start(BaresipConfig::standalone("b", 1000.0)).expect("baresip b");
    a.dial(&b.direct_uri()).expect("dial");
    a.wait_event("CALL_ESTABLISHED", PROMPT)
        .expect("a established");
    b.wait_event("CALL_ESTABLISHED", PROMPT)
        .expect("b established");
    std::thread::sleep(TALK);
    b.hangup().expect("b hangs up");
    a.wait_event("CALL_CLOSED", PROMPT).expect("a sees BYE");
    b.wait_event("CALL_CLOSED", PROMPT).expect("b closed");

    let heard_a = a.heard().expect("a recording");
    let heard_b = b.heard().expect("b recording");
    assert!(
        heard_a.tone_fraction(1000.0) > 0.5,
        "a: {}",
        heard_a.summary()
    );
    assert!(
        heard_a.tone_fraction(440.0) < 0.05,
        "a: {}",
        heard_a.summary()
    );
    assert!(
        heard_b.tone_fraction(440.0) > 0.5,
        "b: {}",
        heard_b.summary()
    );
    assert!(
        heard_b.tone_fraction(1000.0) < 0.05,
        "b: {}",
        heard_b.summary()
    );
    // And the sent side is what each played.
    assert!(a.sent().expect("a sent").tone_fraction(440.0) > 0.5);
}

#[test]
fn baresip_registers_with_digest_and_fails_with_a_wrong_password() {
    let mut registrar = Sipp::new("registrar_uas.xml")
        .timeout(Duration::from_secs(20))
        .spawn()
        .expect("registrar");
    let good = Baresip::start(BaresipConfig::operator(
        "alice",
        "selftest-secret",
        registrar.sip_addr(),
        440.0,
    ))
    .expect("baresip");
    good.wait_registered(PROMPT).expect("registered");
    registrar
        .wait()
        .expect("registrar outcome")
        .assert_success();

    let registrar = Sipp::new("registrar_uas.xml")
        .timeout(Duration::from_secs(20))
        .spawn()
        .expect("registrar");
    let bad = Baresip::start(BaresipConfig::operator(
        "alice",
        "wrong",
        registrar.sip_addr(),
        440.0,
    ))
    .expect("baresip");
    let err = bad.wait_registered(PROMPT).expect_err("must not register");
    assert!(err.to_string().contains("registration failed"), "{err:#}");
    assert!(bad.ctrl.events_of("REGISTER_OK").is_empty());
    drop(registrar);
}

#[test]
fn sipp_register_scenarios_tell_right_from_wrong_passwords() {
    let mut registrar = Sipp::new("registrar_uas.xml").spawn().expect("registrar");
    let ok = Sipp::new("register_uac.xml")
        .remote(registrar.sip_addr())
        .service("alice")
        .auth("alice", "selftest-secret")
        .run()
        .expect("register");
    ok.assert_success();
    registrar.wait().expect("registrar").assert_success();

    let mut registrar = Sipp::new("registrar_uas.xml").spawn().expect("registrar");
    let wrong = Sipp::new("register_wrong_password_uac.xml")
        .remote(registrar.sip_addr())
        .service("alice")
        .auth("alice", "not-the-password")
        .run()
        .expect("register");
    wrong.assert_success();
    assert!(wrong.logs.contains("403"), "{}", wrong.logs);
    drop(registrar.wait());

    // And the wrong-password scenario fails when the registrar says 200:
    // here the "wrong" password is the right one.
    let mut registrar = Sipp::new("registrar_uas.xml").spawn().expect("registrar");
    let accepted = Sipp::new("register_wrong_password_uac.xml")
        .remote(registrar.sip_addr())
        .service("alice")
        .auth("alice", "selftest-secret")
        .run()
        .expect("register");
    assert!(!accepted.all_succeeded(), "{}", accepted.report());
    drop(registrar.wait());
}

#[test]
fn options_ping_reaches_a_live_peer_and_times_out_on_a_dead_one() {
    let phone = Baresip::start(BaresipConfig::standalone("pinged", 440.0)).expect("baresip");
    let reply = sipraw::wait_for_options(phone.sip_addr(), PROMPT).expect("OPTIONS answered");
    // baresip answers a user-less OPTIONS with 404: any final answer will do.
    assert!(reply.code >= 200, "{}", reply.raw);
    let dead = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let r = sipraw::options_ping(dead.local_addr().unwrap(), Duration::from_millis(300)).unwrap();
    assert!(r.is_none());
}

#[test]
fn raw_invite_gets_a_final_answer_from_another_loopback_address() {
    let phone = Baresip::start(BaresipConfig::standalone("known", 440.0)).expect("baresip");
    // From 127.0.0.2: the interop tests use it as "not the trunk".
    let reply = sipraw::invite_final_response(phone.sip_addr(), "127.0.0.2", "nobody", PROMPT)
        .expect("send INVITE")
        .expect("a final response");
    assert_eq!(reply.code, 404, "{}", reply.raw);
    assert!(phone.ctrl.events_of("CALL_INCOMING").is_empty());
}
