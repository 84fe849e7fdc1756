//! A customer's call from the trunk rings the operator's softphone, they
//! talk, either side hangs up. Customers are SIPp (real RTP from a capture,
//! RFC 4733 DTMF) or baresip (a 1 kHz tone, recording what it hears); the
//! operator is baresip registered as alice (a 440 Hz tone, recording).

use std::time::Duration;

use switchboard_tests::audio::Recording;
use switchboard_tests::baresip::{Baresip, BaresipConfig};
use switchboard_tests::sipp::Sipp;
use switchboard_tests::switch::{Switch, SwitchConfig, DEMO_NUMBER};
use switchboard_tests::PROMPT;

const OPERATOR_HZ: f32 = 440.0;
const CUSTOMER_HZ: f32 = 1000.0;
const TALK: Duration = Duration::from_secs(3);
/// SIP retransmissions tolerated per SIPp run: a loaded 2-core machine may
/// delay one answer past T1 (500 ms), a storm is many more.
const MAX_RETRANSMISSIONS: u64 = 2;

/// Only alice in the sales group, so every call rings exactly her phone.
fn alice_only() -> SwitchConfig {
    let mut c = SwitchConfig::demo();
    c.operators.retain(|o| o.username == "alice");
    c
}

fn start(config: SwitchConfig, auto_answer: bool) -> (Switch, Baresip) {
    let sw = Switch::start(config).expect("switch starts and answers OPTIONS");
    let alice = sw.config.operator("alice").clone();
    let mut cfg = BaresipConfig::operator(&alice.username, &alice.password, sw.sip, OPERATOR_HZ);
    cfg.auto_answer = auto_answer;
    let phone = Baresip::start(cfg).expect("baresip for alice");
    phone.wait_registered(PROMPT).expect("alice registers");
    (sw, phone)
}

fn customer() -> Baresip {
    Baresip::start(BaresipConfig::standalone("customer", CUSTOMER_HZ)).expect("customer baresip")
}

#[test]
fn sipp_trunk_call_reaches_alice_with_speech_and_dtmf_and_ends_on_bye() {
    let (sw, alice) = start(alice_only(), true);
    let out = Sipp::new("trunk_customer_uac.xml")
        .remote(sw.sip)
        .service(DEMO_NUMBER)
        .timeout(Duration::from_secs(45))
        .run()
        .expect("run SIPp customer");

    // Customer side: INVITE answered, ACK, media, BYE answered with 200.
    out.assert_success();
    assert!(
        out.retransmissions() <= MAX_RETRANSMISSIONS,
        "retransmission storm: {}",
        out.report()
    );
    // Operator side: the call was answered and ended by the switch's BYE.
    alice
        .wait_event("CALL_ESTABLISHED", PROMPT)
        .expect("alice's leg was established");
    let closed = alice
        .wait_event("CALL_CLOSED", PROMPT)
        .expect("alice's leg closed");
    assert!(
        closed.param.contains("reset by peer"),
        "alice's leg should end by a BYE from the switch, got {:?}",
        closed.param
    );
    // Nor did the switch keep repeating itself to the operator's phone.
    assert!(
        alice.sip_repeats_received() as u64 <= MAX_RETRANSMISSIONS,
        "the switch retransmitted to alice: {:?}",
        alice
            .sip_received()
            .iter()
            .map(|m| m.start_line().to_owned())
            .collect::<Vec<_>>()
    );
    // The digit the customer sent as RFC 4733 events reached the operator.
    assert!(
        alice.dtmf_received().contains('1'),
        "digit 1 did not reach alice; her events: {:?}",
        alice.ctrl.events()
    );
    // The operator heard the customer's speech (g711a.pcap: ~7 s of speech).
    let heard = alice.heard().expect("alice's recording");
    assert!(
        heard.active_fraction() > 0.4,
        "alice should hear the customer: {}",
        heard.summary()
    );
    assert!(
        heard.tone_fraction(OPERATOR_HZ) < 0.05,
        "alice hears her own tone: media looped back? {}",
        heard.summary()
    );
}

#[test]
fn customer_and_operator_hear_each_other_and_customer_hangs_up() {
    let (sw, alice) = start(alice_only(), true);
    let cust = customer();
    cust.dial(&sw.uri(DEMO_NUMBER)).expect("customer dials");
    cust.wait_event("CALL_ESTABLISHED", PROMPT)
        .expect("customer's call answered");
    alice
        .wait_event("CALL_ESTABLISHED", PROMPT)
        .expect("alice answered");
    std::thread::sleep(TALK);
    cust.hangup().expect("customer hangs up");
    cust.wait_event("CALL_CLOSED", PROMPT)
        .expect("customer closed");
    let closed = alice
        .wait_event("CALL_CLOSED", PROMPT)
        .expect("alice's leg ends too");
    assert!(closed.param.contains("reset by peer"), "{:?}", closed.param);

    let alice_heard = alice.heard().expect("alice's recording");
    let cust_heard = cust.heard().expect("customer's recording");
    assert!(
        alice_heard.tone_fraction(CUSTOMER_HZ) > 0.5,
        "alice should hear the customer's 1 kHz tone: {}",
        alice_heard.summary()
    );
    assert!(
        cust_heard.tone_fraction(OPERATOR_HZ) > 0.5,
        "the customer should hear alice's 440 Hz tone: {}",
        cust_heard.summary()
    );
    assert!(
        alice_heard.tone_fraction(OPERATOR_HZ) < 0.05,
        "{}",
        alice_heard.summary()
    );
    // The switch's 250 ms "this call is recorded" beep is 1 kHz too, played to
    // both legs at the bridge: up to ~10 % of a 3 s call. Media looped back
    // would be most of it.
    assert!(
        cust_heard.tone_fraction(CUSTOMER_HZ) < 0.15,
        "the customer hears its own tone beyond the recording beep: {}",
        cust_heard.summary()
    );
}

#[test]
fn operator_hangs_up_and_the_customer_gets_bye() {
    let (sw, alice) = start(alice_only(), true);
    let cust = customer();
    cust.dial(&sw.uri(DEMO_NUMBER)).expect("customer dials");
    alice
        .wait_event("CALL_ESTABLISHED", PROMPT)
        .expect("alice answered");
    cust.wait_event("CALL_ESTABLISHED", PROMPT)
        .expect("customer's call answered");
    std::thread::sleep(Duration::from_secs(1));
    alice.hangup().expect("alice hangs up");
    let closed = cust
        .wait_event("CALL_CLOSED", PROMPT)
        .expect("customer's leg ends");
    assert!(closed.param.contains("reset by peer"), "{:?}", closed.param);
    alice
        .wait_event("CALL_CLOSED", PROMPT)
        .expect("alice closed");
}

#[test]
fn customer_hanging_up_while_ringing_cancels_the_operator_leg() {
    let (sw, alice) = start(alice_only(), false);
    let cust = customer();
    cust.dial(&sw.uri(DEMO_NUMBER)).expect("customer dials");
    alice
        .wait_event("CALL_INCOMING", PROMPT)
        .expect("alice's phone rings");
    // Ringback as 180 or as early media in a 183: either tells the caller
    // the phone is ringing.
    cust.ctrl
        .wait_event_where("CALL_RINGING or CALL_PROGRESS", PROMPT, |e| {
            e.kind == "CALL_RINGING" || e.kind == "CALL_PROGRESS"
        })
        .expect("the customer hears that the operator's phone rings");
    cust.hangup().expect("customer gives up");
    alice
        .wait_event("CALL_CLOSED", PROMPT)
        .expect("alice's ringing stops (CANCEL)");
    assert!(alice.ctrl.events_of("CALL_ESTABLISHED").is_empty());
}

#[test]
fn unanswered_call_gives_the_customer_a_failure_after_the_ring_timeout() {
    const RING_TIMEOUT: u64 = 5; // the shortest the config allows
    let mut config = alice_only();
    config.ring_timeout_secs = RING_TIMEOUT as u32;
    let (sw, alice) = start(config, false);
    let cust = customer();
    #[allow(clippy::disallowed_methods)] // measuring the switch's timer from outside
    let dialled = std::time::Instant::now();
    cust.dial(&sw.uri(DEMO_NUMBER)).expect("customer dials");
    alice
        .wait_event("CALL_INCOMING", PROMPT)
        .expect("alice's phone rings");
    // The timeout runs from when the operator's phone starts ringing; allow
    // 4 s for call setup and a loaded machine.
    let closed = cust
        .wait_event("CALL_CLOSED", Duration::from_secs(RING_TIMEOUT + 4))
        .unwrap_or_else(|e| {
            panic!("the customer's call should fail {RING_TIMEOUT} s after ringing starts: {e:#}")
        });
    let took = dialled.elapsed();
    assert!(
        took >= Duration::from_secs(RING_TIMEOUT - 1),
        "the call failed after {took:?}, before the {RING_TIMEOUT} s ring timeout"
    );
    // baresip puts the final response in the reason, e.g. "480 Temporarily Unavailable".
    assert!(
        closed.param.contains("480")
            || closed.param.contains("486")
            || closed.param.contains("408"),
        "expected 480/486 (or 408) for no answer, got {:?}",
        closed.param
    );
    alice
        .wait_event("CALL_CLOSED", PROMPT)
        .expect("alice's ringing stops");
    assert!(alice.ctrl.events_of("CALL_ESTABLISHED").is_empty());
}

/// The call is recorded from the bridge: the stored record names a stereo
/// 8 kHz WAV with the customer's 1 kHz tone on the left and the operator's
/// 440 Hz on the right, and its length (filled in after the call) matches
/// the talk time.
#[test]
fn a_bridged_call_is_recorded_in_stereo_and_its_record_has_path_and_duration() {
    use store::CallStore;

    let (sw, alice) = start(alice_only(), true);
    let cust = customer();
    cust.dial(&sw.uri(DEMO_NUMBER)).expect("customer dials");
    cust.wait_event("CALL_ESTABLISHED", PROMPT)
        .expect("customer's call answered");
    alice
        .wait_event("CALL_ESTABLISHED", PROMPT)
        .expect("alice answered");
    std::thread::sleep(Duration::from_secs(4));
    cust.hangup().expect("customer hangs up");
    alice
        .wait_event("CALL_CLOSED", PROMPT)
        .expect("alice's leg ends too");

    // The record is stored at the end of the call; the recording's length
    // and the legs' figures follow moments later.
    let mut record = None;
    for _ in 0..50 {
        let store = store::SqliteStore::open(&sw.data_dir).expect("open the switch's store");
        let calls = store.recent_calls(10).expect("read call records");
        drop(store);
        if let Some(r) = calls.into_iter().next() {
            if r.media.recording_duration_ms.is_some() && r.media.operator.is_some() {
                record = Some(r);
                break;
            }
            record = Some(r);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let r = record.expect("a call record was stored");
    assert_eq!(r.disposition, store::Disposition::Answered, "{r:?}");
    let path = std::path::PathBuf::from(r.recording_path.as_deref().expect("recording_path"));
    let duration = r.media.recording_duration_ms.expect("recording duration");
    let talk = r.talk_millis();
    assert!(
        (duration - talk).abs() <= 1000,
        "recorded {duration} ms of a {talk} ms talk"
    );
    for (side, q) in [("caller", r.media.caller), ("operator", r.media.operator)] {
        let q = q.unwrap_or_else(|| panic!("{side} leg figures: {r:?}"));
        assert!(q.packets > 100, "{side} sent RTP for seconds: {q:?}");
        assert!((1.0..=4.5).contains(&q.mos), "{side} MOS: {q:?}");
    }

    let mut reader = hound::WavReader::open(&path)
        .unwrap_or_else(|e| panic!("recording {}: {e}", path.display()));
    let spec = reader.spec();
    assert_eq!((spec.channels, spec.sample_rate), (2, 8000), "stereo 8 kHz");
    let samples: Vec<f32> = reader
        .samples::<i16>()
        .map(|s| f32::from(s.unwrap_or(0)) / 32768.0)
        .collect();
    let file_ms = (samples.len() / 2) as i64 * 1000 / 8000;
    assert!(
        (file_ms - duration).abs() <= 40,
        "file {file_ms} ms, record {duration} ms"
    );
    let left = Recording::from_samples(8000, samples.iter().step_by(2).copied().collect());
    let right = Recording::from_samples(8000, samples.iter().skip(1).step_by(2).copied().collect());
    assert!(
        left.tone_fraction(CUSTOMER_HZ) > 0.5 && left.tone_fraction(OPERATOR_HZ) < 0.05,
        "the customer on the left: {}",
        left.summary()
    );
    assert!(
        right.tone_fraction(OPERATOR_HZ) > 0.5 && right.tone_fraction(CUSTOMER_HZ) < 0.05,
        "the operator on the right: {}",
        right.summary()
    );
}
