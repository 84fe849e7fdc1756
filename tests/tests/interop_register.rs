//! Operators registering with the switch's registrar (digest auth), with
//! baresip and with SIPp.

use std::time::Duration;

use switchboard_tests::baresip::{Baresip, BaresipConfig};
use switchboard_tests::sipp::Sipp;
use switchboard_tests::switch::{Switch, SwitchConfig};
use switchboard_tests::PROMPT;

fn demo_switch() -> Switch {
    Switch::start(SwitchConfig::demo()).expect("switch starts and answers OPTIONS")
}

#[test]
fn baresip_registers_as_alice_with_the_right_password() {
    let sw = demo_switch();
    let alice = sw.config.operator("alice").clone();
    let phone = Baresip::start(BaresipConfig::operator(
        &alice.username,
        &alice.password,
        sw.sip,
        440.0,
    ))
    .expect("baresip");
    phone
        .wait_registered(PROMPT)
        .expect("alice registers with her password");
}

#[test]
fn baresip_with_a_wrong_password_is_never_registered() {
    let sw = demo_switch();
    let phone = Baresip::start(BaresipConfig::operator(
        "alice",
        "not-alice-secret",
        sw.sip,
        440.0,
    ))
    .expect("baresip");
    let err = phone
        .wait_registered(PROMPT)
        .expect_err("a wrong password must not register");
    assert!(
        err.to_string().contains("registration failed"),
        "expected a rejection, got: {err:#}"
    );
    assert!(phone.ctrl.events_of("REGISTER_OK").is_empty());
}

#[test]
fn sipp_register_with_the_right_password_gets_200() {
    let sw = demo_switch();
    let alice = sw.config.operator("alice").clone();
    let out = Sipp::new("register_uac.xml")
        .remote(sw.sip)
        .service(&alice.username)
        .auth(&alice.username, &alice.password)
        .timeout(Duration::from_secs(20))
        .run()
        .expect("run SIPp");
    out.assert_success();
    assert_eq!(out.retransmissions(), 0, "{}", out.report());
}

#[test]
fn sipp_register_with_a_wrong_password_gets_401_or_403_and_never_200() {
    let sw = demo_switch();
    let out = Sipp::new("register_wrong_password_uac.xml")
        .remote(sw.sip)
        .service("alice")
        .auth("alice", "not-alice-secret")
        .timeout(Duration::from_secs(20))
        .run()
        .expect("run SIPp");
    // The scenario accepts only 401/403 after each authenticated REGISTER;
    // a 200 is an unexpected message and fails the call.
    out.assert_success();
    assert!(
        !out.messages.contains("SIP/2.0 200"),
        "no 200 may ever come: {}",
        out.report()
    );
}

#[test]
fn sipp_register_as_an_unknown_user_never_gets_200() {
    let sw = demo_switch();
    let out = Sipp::new("register_wrong_password_uac.xml")
        .remote(sw.sip)
        .service("mallory")
        .auth("mallory", "anything")
        .timeout(Duration::from_secs(20))
        .run()
        .expect("run SIPp");
    out.assert_success();
    assert!(!out.messages.contains("SIP/2.0 200"), "{}", out.report());
}
