//! A customer's call into an IVR menu with real peers: SIPp as the
//! customer choosing by RFC 4733 events (sip-tester's dtmf_2833 captures)
//! or by SIP INFO, baresip as alice the operator, and the switch's own
//! prompts, recorder and store.

use std::path::{Path, PathBuf};
use std::time::Duration;

use switchboard_tests::baresip::{Baresip, BaresipConfig};
use switchboard_tests::sipp::Sipp;
use switchboard_tests::switch::{Switch, SwitchConfig};
use switchboard_tests::PROMPT;

use store::VoicemailStore;

const IVR_NUMBER: &str = "+74950000020";
const OPERATOR_HZ: f32 = 440.0;

/// The menu: "1" rings the sales group (alice), "3" leaves a message.
/// The greeting is short so the tests stay fast; the number tags the
/// caller ID and whispers to the operator.
const IVR_TOML: &str = r#"
[prompts]
greeting = "en/one-moment-please.wav"
beep = "en/beep.wav"
whisper = "en/calling.wav"

[[menu]]
name = "ivr"
greeting = "greeting"
timeout = 10

[menu.options]
"1" = { ring = { group = "sales" } }
"3" = { voicemail = "box" }

[[voicemail]]
name = "box"
beep = "beep"
max_seconds = 30

[[number]]
number = "+74950000020"
name = "ivr"
landing_page = "https://shop.example/ivr"
whisper = "whisper"
caller_id_tag = "[ivr] {caller}"
menu = "ivr"
"#;

fn switch() -> Switch {
    let mut c = SwitchConfig::demo();
    c.operators.retain(|o| o.username == "alice");
    c.extra_toml.push_str(IVR_TOML);
    Switch::start(c).expect("switch starts with the IVR config")
}

fn alice(sw: &Switch) -> Baresip {
    let op = sw.config.operator("alice").clone();
    let cfg = BaresipConfig::operator(&op.username, &op.password, sw.sip, OPERATOR_HZ);
    let phone = Baresip::start(cfg).expect("baresip for alice");
    phone.wait_registered(PROMPT).expect("alice registers");
    phone
}

#[test]
fn rfc4733_digit_1_puts_the_caller_through_to_alice_with_tag_and_whisper() {
    let sw = switch();
    let alice = alice(&sw);
    let out = Sipp::new("ivr_rfc4733_uac.xml")
        .remote(sw.sip)
        .service(IVR_NUMBER)
        .timeout(Duration::from_secs(45))
        .run()
        .expect("run SIPp customer");
    out.assert_success();

    alice
        .wait_event("CALL_ESTABLISHED", PROMPT)
        .expect("the menu rang alice and she answered");
    alice
        .wait_event("CALL_CLOSED", PROMPT)
        .expect("alice's leg ends with the customer's BYE");
    let invite = alice
        .sip_received()
        .into_iter()
        .find(|m| m.start_line().starts_with("INVITE"))
        .expect("alice got an INVITE");
    let from = invite.header("From").unwrap_or_default().to_owned();
    assert!(
        from.contains("\"[ivr] +79161234567\""),
        "caller ID tag in the From display name: {from}"
    );
    // Whisper (calling.wav) then the customer's speech from g711a.pcap.
    let heard = alice.heard().expect("alice's recording");
    assert!(
        heard.active_fraction() > 0.3,
        "alice should hear the whisper and the customer: {}",
        heard.summary()
    );
}

#[test]
fn sip_info_digit_1_puts_the_caller_through_to_alice() {
    let sw = switch();
    let alice = alice(&sw);
    let out = Sipp::new("ivr_info_uac.xml")
        .remote(sw.sip)
        .service(IVR_NUMBER)
        .key("digit", "1")
        .timeout(Duration::from_secs(45))
        .run()
        .expect("run SIPp customer");
    out.assert_success();
    alice
        .wait_event("CALL_ESTABLISHED", PROMPT)
        .expect("the menu rang alice and she answered");
    alice
        .wait_event("CALL_CLOSED", PROMPT)
        .expect("alice's leg ends with the customer's BYE");
}

#[test]
fn sip_info_digit_3_leaves_a_voicemail_that_is_stored_with_its_wav() {
    let sw = switch();
    let out = Sipp::new("ivr_info_uac.xml")
        .remote(sw.sip)
        .service(IVR_NUMBER)
        .key("digit", "3")
        .timeout(Duration::from_secs(45))
        .run()
        .expect("run SIPp customer");
    out.assert_success();
    // The recorder closes the file and the store's writer commits (WAL: a
    // second connection sees it) within moments of the BYE.
    std::thread::sleep(Duration::from_secs(2));
    let store = store::SqliteStore::open(&sw.data_dir).expect("open the switch's store");
    let messages = store.recent_voicemails(10).expect("read voicemails");
    drop(store);
    assert_eq!(messages.len(), 1, "one message stored: {messages:?}");
    let m = &messages[0];
    assert_eq!(m.mailbox, "box");
    assert_eq!(m.caller, "+79161234567");
    assert_eq!(m.number, IVR_NUMBER);
    assert_eq!(m.landing_page.as_deref(), Some("https://shop.example/ivr"));
    assert!(
        (4_000..12_000).contains(&m.duration_ms),
        "about the 7 s the customer spoke: {m:?}"
    );

    let wav = resolve(sw.dir(), &m.path);
    let (seconds, rms) = caller_channel(&wav);
    assert!(seconds > 4.0, "{} holds {seconds:.1} s", wav.display());
    assert!(rms > 200.0, "the message is not silent: RMS {rms:.0}");
}

/// The stored path, relative to the switch's working directory if not
/// absolute.
fn resolve(cwd: &Path, path: &str) -> PathBuf {
    let p = PathBuf::from(path);
    if p.is_absolute() {
        p
    } else {
        cwd.join(p)
    }
}

/// Length and RMS of the left (caller) channel of a recording.
fn caller_channel(path: &Path) -> (f32, f32) {
    let mut reader = hound::WavReader::open(path)
        .unwrap_or_else(|e| panic!("voicemail WAV {}: {e}", path.display()));
    let spec = reader.spec();
    let channels = usize::from(spec.channels.max(1));
    let samples: Vec<f32> = reader
        .samples::<i16>()
        .step_by(channels)
        .map(|s| f32::from(s.unwrap_or(0)))
        .collect();
    let seconds = samples.len() as f32 / spec.sample_rate as f32;
    let rms = (samples.iter().map(|s| s * s).sum::<f32>() / samples.len().max(1) as f32).sqrt();
    (seconds, rms)
}
