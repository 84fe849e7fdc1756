//! The echo test: a customer calling the echo number hears themselves. A
//! baresip customer plays a 1 kHz tone and must hear it back; a SIPp
//! customer (real RTP from a capture) completes its call, and the switch's
//! record shows the caller's RTP arrived.

use std::time::Duration;

use store::CallStore;
use switchboard_tests::baresip::{Baresip, BaresipConfig};
use switchboard_tests::sipp::Sipp;
use switchboard_tests::switch::{Switch, SwitchConfig};
use switchboard_tests::PROMPT;

const ECHO_NUMBER: &str = "+74950000009";
const CUSTOMER_HZ: f32 = 1000.0;
/// SIP retransmissions tolerated per SIPp run (see interop_call.rs).
const MAX_RETRANSMISSIONS: u64 = 2;

/// The demo setup plus the echo test number. No operator registers: the
/// switch answers by itself.
fn echo_switch() -> Switch {
    let mut c = SwitchConfig::demo();
    c.extra_toml =
        format!("\n[[number]]\nnumber = \"{ECHO_NUMBER}\"\nname = \"echo test\"\necho = true\n");
    Switch::start(c).expect("switch starts and answers OPTIONS")
}

/// The newest call record, once the caller leg's figures are in (they follow
/// the record moments later).
fn last_record(sw: &Switch) -> store::CallRecord {
    let mut record = None;
    for _ in 0..50 {
        let store = store::SqliteStore::open(&sw.data_dir).expect("open the switch's store");
        let calls = store.recent_calls(10).expect("read call records");
        drop(store);
        if let Some(r) = calls.into_iter().next() {
            let done = r.media.caller.is_some();
            record = Some(r);
            if done {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    record.expect("a call record was stored")
}

#[test]
fn baresip_customer_hears_its_own_tone_back() {
    let sw = echo_switch();
    let cust = Baresip::start(BaresipConfig::standalone("customer", CUSTOMER_HZ))
        .expect("customer baresip");
    cust.dial(&sw.uri(ECHO_NUMBER)).expect("customer dials");
    cust.wait_event("CALL_ESTABLISHED", PROMPT)
        .expect("the switch answers the echo test");
    std::thread::sleep(Duration::from_secs(3));
    cust.hangup().expect("customer hangs up");
    cust.wait_event("CALL_CLOSED", PROMPT)
        .expect("customer closed");

    let heard = cust.heard().expect("customer's recording");
    assert!(
        heard.tone_fraction(CUSTOMER_HZ) > 0.5,
        "the customer should hear its own 1 kHz tone back: {}",
        heard.summary()
    );
    let r = last_record(&sw);
    assert_eq!(r.disposition, store::Disposition::Answered, "{r:?}");
    assert_eq!(r.number_name.as_deref(), Some("echo test"));
    assert_eq!(r.operator, None);
    let q = r.media.caller.expect("caller leg figures");
    assert!(q.packets > 100, "the customer sent RTP for seconds: {q:?}");
}

#[test]
fn sipp_customer_call_to_the_echo_test_succeeds() {
    let sw = echo_switch();
    let out = Sipp::new("trunk_customer_uac.xml")
        .remote(sw.sip)
        .service(ECHO_NUMBER)
        .timeout(Duration::from_secs(45))
        .run()
        .expect("run SIPp customer");
    out.assert_success();
    assert!(
        out.retransmissions() <= MAX_RETRANSMISSIONS,
        "retransmission storm: {}",
        out.report()
    );
    let r = last_record(&sw);
    assert_eq!(r.disposition, store::Disposition::Answered, "{r:?}");
    assert_eq!(r.hangup_by, Some(store::HangupBy::Caller), "{r:?}");
    let q = r.media.caller.expect("caller leg figures");
    assert!(q.packets > 100, "SIPp's capture reached the switch: {q:?}");
}
