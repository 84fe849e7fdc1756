//! Operators' phones beyond the basic call: ringing a whole group, a phone
//! on SIP over TCP, registrations surviving a restart of the switch.

use std::time::Duration;

use switchboard_tests::baresip::{Baresip, BaresipConfig};
use switchboard_tests::switch::{Switch, SwitchConfig, DEMO_NUMBER};
use switchboard_tests::PROMPT;

const CUSTOMER_HZ: f32 = 1000.0;

fn phone(sw: &Switch, user: &str, hz: f32, auto_answer: bool, transport: &str) -> Baresip {
    let op = sw.config.operator(user).clone();
    let mut cfg = BaresipConfig::operator(&op.username, &op.password, sw.sip, hz);
    cfg.auto_answer = auto_answer;
    cfg.transport = transport.to_owned();
    let p = Baresip::start(cfg).expect("operator's baresip");
    p.wait_registered(PROMPT)
        .unwrap_or_else(|e| panic!("{user} registers over {transport}: {e:#}"));
    p
}

fn customer() -> Baresip {
    Baresip::start(BaresipConfig::standalone("customer", CUSTOMER_HZ)).expect("customer baresip")
}

#[test]
fn group_call_rings_alice_and_bob_and_the_first_to_answer_gets_it() {
    let sw = Switch::start(SwitchConfig::demo()).expect("switch");
    let alice = phone(&sw, "alice", 440.0, false, "udp");
    let bob = phone(&sw, "bob", 600.0, false, "udp");
    let cust = customer();
    cust.dial(&sw.uri(DEMO_NUMBER)).expect("customer dials");
    alice
        .wait_event("CALL_INCOMING", PROMPT)
        .expect("alice's phone rings");
    bob.wait_event("CALL_INCOMING", PROMPT)
        .expect("bob's phone rings too");
    bob.accept().expect("bob answers");
    cust.wait_event("CALL_ESTABLISHED", PROMPT)
        .expect("the customer is connected to bob");
    let alice_closed = alice
        .wait_event("CALL_CLOSED", PROMPT)
        .expect("alice's phone stops ringing once bob answered");
    assert!(
        alice.ctrl.events_of("CALL_ESTABLISHED").is_empty(),
        "{alice_closed:?}"
    );
    std::thread::sleep(Duration::from_secs(2));
    cust.hangup().expect("customer hangs up");
    bob.wait_event("CALL_CLOSED", PROMPT)
        .expect("bob's leg ends");
    let bob_heard = bob.heard().expect("bob's recording");
    assert!(
        bob_heard.tone_fraction(CUSTOMER_HZ) > 0.4,
        "bob should hear the customer: {}",
        bob_heard.summary()
    );
    let cust_heard = cust.heard().expect("customer's recording");
    assert!(
        cust_heard.tone_fraction(600.0) > 0.4,
        "the customer should hear bob (600 Hz), not alice: {}",
        cust_heard.summary()
    );
    assert!(
        cust_heard.tone_fraction(440.0) < 0.05,
        "{}",
        cust_heard.summary()
    );
}

#[test]
fn operator_on_sip_over_tcp_registers_and_takes_a_call() {
    let mut config = SwitchConfig::demo();
    config.operators.retain(|o| o.username == "alice");
    let sw = Switch::start(config).expect("switch");
    let alice = phone(&sw, "alice", 440.0, true, "tcp");
    let cust = customer();
    cust.dial(&sw.uri(DEMO_NUMBER)).expect("customer dials");
    alice
        .wait_event("CALL_ESTABLISHED", PROMPT)
        .expect("alice answers over TCP");
    cust.wait_event("CALL_ESTABLISHED", PROMPT)
        .expect("customer connected");
    std::thread::sleep(Duration::from_secs(2));
    alice.hangup().expect("alice hangs up");
    cust.wait_event("CALL_CLOSED", PROMPT)
        .expect("the customer gets BYE");
    let heard = cust.heard().expect("customer's recording");
    assert!(heard.tone_fraction(440.0) > 0.4, "{}", heard.summary());
    assert!(
        alice.log().contains("SIP/2.0/TCP"),
        "alice's signalling should be over TCP"
    );
}

#[test]
fn registration_survives_a_restart_of_the_switch() {
    let mut config = SwitchConfig::demo();
    config.operators.retain(|o| o.username == "alice");
    let mut sw = Switch::start(config).expect("switch");
    let alice = phone(&sw, "alice", 440.0, true, "udp");
    sw.restart().expect("switch restarts cleanly");
    // alice does not re-register (regint 600 s): the switch must remember her.
    let cust = customer();
    cust.dial(&sw.uri(DEMO_NUMBER)).expect("customer dials");
    alice
        .wait_event("CALL_ESTABLISHED", PROMPT)
        .expect("the restarted switch still knows where alice is");
    cust.wait_event("CALL_ESTABLISHED", PROMPT)
        .expect("customer connected");
    cust.hangup().expect("hang up");
    alice.wait_event("CALL_CLOSED", PROMPT).expect("closed");
}
