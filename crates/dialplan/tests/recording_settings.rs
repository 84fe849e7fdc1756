//! Call recording settings: `[server] record_calls` and `recording_notice`, a number's `record`,
//! and a voicemail box's `silence_seconds`.

mod common;

use std::time::Duration;

use common::{assert_errors, BASE};
use dialplan::{load_str, RecordingNotice};

#[test]
fn calls_are_recorded_with_a_beep_by_default() {
    let plan = load_str("t.toml", BASE).unwrap();
    assert!(plan.server().record_calls);
    assert_eq!(plan.server().recording_notice, RecordingNotice::Beep);
    let number = plan.number("+74950000001").unwrap();
    assert_eq!(number.record, None);
    assert!(plan.records_calls_to(number));
}

#[test]
fn record_calls_off_and_a_number_turning_it_back_on() {
    let text = format!(
        "[server]\nrecord_calls = false\nrecording_notice = \"none\"\n{BASE}\n[[number]]\nnumber = \"+74950000002\"\nrecord = true\nring = {{ group = \"sales\" }}\n"
    );
    let plan = load_str("t.toml", &text).unwrap();
    assert!(!plan.server().record_calls);
    assert_eq!(plan.server().recording_notice, RecordingNotice::None);
    assert!(!plan.records_calls_to(plan.number("+74950000001").unwrap()));
    assert!(plan.records_calls_to(plan.number("+74950000002").unwrap()));
}

#[test]
fn a_number_may_opt_out() {
    let text = BASE.replace("ring = {", "record = false\nring = {");
    let plan = load_str("t.toml", &text).unwrap();
    assert!(plan.server().record_calls);
    assert!(!plan.records_calls_to(plan.number("+74950000001").unwrap()));
}

#[test]
fn recording_notice_may_name_a_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(dir.path().join("recorded.wav"), spec).unwrap();
    for _ in 0..800 {
        w.write_sample(0i16).unwrap();
    }
    w.finalize().unwrap();
    let text = format!(
        "[server]\nprompts_dir = \"{}\"\nrecording_notice = \"recorded\"\n{BASE}\n[prompts]\nrecorded = \"recorded.wav\"\n",
        dir.path().display()
    );
    let plan = load_str("t.toml", &text).unwrap();
    assert_eq!(
        plan.server().recording_notice,
        RecordingNotice::Prompt("recorded".into())
    );
}

#[test]
fn unknown_recording_notice_is_an_error_at_its_place() {
    assert_errors(
        &format!("[server]\nrecording_notice = \"beeep\"\n{BASE}"),
        &["t.toml:2:20: error: unknown prompt `beeep`\n  hint: did you mean `beep`?"],
    );
    assert_errors(
        &format!("[server]\nrecord_calls = \"yes\"\n{BASE}"),
        &["t.toml:2:16: error: `record_calls` must be true or false, found a string\n  hint: write true or false without quotes"],
    );
}

#[test]
fn voicemail_silence_seconds_default_and_range() {
    let vm = "\n[[voicemail]]\nname = \"box\"\n";
    let text = BASE.replace("ring = { group = \"sales\" }", "voicemail = \"box\"") + vm;
    let plan = load_str("t.toml", &text).unwrap();
    assert_eq!(
        plan.voicemail("box").unwrap().silence,
        Duration::from_secs(5)
    );
    let text2 = text.clone() + "silence_seconds = 8\n";
    let plan = load_str("t.toml", &text2).unwrap();
    assert_eq!(
        plan.voicemail("box").unwrap().silence,
        Duration::from_secs(8)
    );
    assert_errors(
        &(text + "silence_seconds = 0\n"),
        &["t.toml:15:19: error: `silence_seconds` 0 is out of range\n  hint: use a value from 1 to 60"],
    );
}
