//! Whole-call scenarios through the flow interpreter on a simulated clock: every menu branch,
//! timeouts, retries, fallbacks, "back", multi-digit entry, barge-in, voicemail, ring fallbacks.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dialplan::chrono::{DateTime, Utc};
use dialplan::flow::{FlowAction, FlowEvent, FlowRun, HangupReason};
use dialplan::{load_str, Plan};

const PROMPTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../prompts");

fn plan(flows: &str) -> Arc<Plan> {
    let text = format!(
        r#"[server]
prompts_dir = "{PROMPTS}"

[prompts]
main = "en/basic-pbx-ivr-main.wav"
short = "en/please-try-again.wav"
invalid = "en/invalid.wav"
timeout = "en/one-moment-please.wav"
sub = "en/calling.wav"
vm = "en/vm-intro.wav"
beep = "en/beep.wav"
hold = "moh/macroform-cold_day-30s.wav"
whisper = "en/calling.wav"
bye = "en/goodbye.wav"

[[trunk]]
name = "t"
addresses = ["127.0.0.1"]
proxy = "127.0.0.1:5070"
caller_id = "+74950000000"
outbound = {{ prefixes = ["+7"], min_digits = 11, max_digits = 11 }}

[[group]]
name = "sales"

[[operator]]
username = "alice"
password = "correct-horse-1"
groups = ["sales"]

[[voicemail]]
name = "box"
greeting = "vm"
beep = "beep"
max_seconds = 60

[[queue]]
name = "q"
group = "sales"
hold_music = "hold"
timeout = 20
fallback = {{ voicemail = "box" }}

{flows}
"#
    );
    match load_str("t.toml", &text) {
        Ok(p) => Arc::new(p),
        Err(d) => panic!(
            "{}",
            d.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}

const MENUS: &str = r##"
[[number]]
number = "+74950000001"
name = "promo"
whisper = "whisper"
caller_id_tag = "[promo] {caller}"
menu = "main"

[[menu]]
name = "main"
greeting = "main"
short_greeting = "short"
invalid_prompt = "invalid"
timeout_prompt = "timeout"
timeout = 5
retries = 1
operator_key = "0"
operator = { ring = { group = "sales" } }
fallback = { queue = "q" }
options = { "1" = { ring = { operators = ["alice"], timeout = 15 } }, "2" = { menu = "sub" }, "3" = "hangup", "9" = { transfer = "+74951234567" } }

[[menu]]
name = "sub"
greeting = "sub"
terminator = "#"
digit_timeout = 3
max_digits = 2
options = { "1" = { voicemail = "box" }, "12" = { play = "bye" }, "*" = "back" }
"##;

fn at() -> DateTime<Utc> {
    dialplan::parse_wall_time("2026-11-24T10:00:00+03:00").unwrap()
}

#[allow(clippy::disallowed_methods)] // a driver: only the origin of the simulated clock
fn t0() -> Instant {
    Instant::now()
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn drain(run: &mut FlowRun) -> Vec<FlowAction> {
    std::iter::from_fn(|| run.poll_action()).collect()
}

fn p(name: &str) -> PathBuf {
    PathBuf::from(PROMPTS).join(name)
}

fn start(plan: &Arc<Plan>, t: Instant) -> FlowRun {
    FlowRun::start(plan.clone(), "+7 495 000-00-01", "+79161234567", at(), t).unwrap()
}

fn entered(menu: &str, repeat: bool) -> FlowAction {
    FlowAction::Emit(FlowEvent::MenuEntered {
        menu: menu.into(),
        repeat,
    })
}

fn chosen(menu: &str, digits: &str) -> FlowAction {
    FlowAction::Emit(FlowEvent::OptionChosen {
        menu: menu.into(),
        digits: digits.into(),
    })
}

fn collect(menu: &str, max: usize, term: Option<char>, timeout: u64, gap: u64) -> FlowAction {
    FlowAction::CollectDigits {
        menu: menu.into(),
        max_digits: max,
        terminator: term,
        timeout: secs(timeout),
        digit_timeout: secs(gap),
    }
}

fn play(names: &[&str], barge_in: bool) -> FlowAction {
    FlowAction::Play {
        prompts: names.iter().map(|n| p(n)).collect(),
        barge_in,
    }
}

/// Greeting played to the end, then the caller's menu is waiting.
fn to_waiting(run: &mut FlowRun, t: Instant) {
    run.handle_prompt_done(t);
    assert_eq!(drain(run), [collect("main", 1, None, 5, 3)]);
}

#[test]
fn option_rings_operator_with_whisper_and_tag_then_bridges() {
    let plan = plan(MENUS);
    let t = t0();
    let mut run = start(&plan, t);
    assert_eq!(
        drain(&mut run),
        [
            entered("main", false),
            play(&["en/basic-pbx-ivr-main.wav"], true)
        ]
    );
    assert_eq!(
        run.poll_timeout(),
        None,
        "no timer while the greeting plays"
    );
    to_waiting(&mut run, t + secs(25));
    assert_eq!(run.poll_timeout(), Some(t + secs(30)));
    run.handle_digit('1', t + secs(27));
    assert_eq!(
        drain(&mut run),
        [
            chosen("main", "1"),
            FlowAction::Ring {
                operators: vec!["alice".into()],
                timeout: secs(15),
                hold_music: None,
                queue: None,
                whisper: Some(p("en/calling.wav")),
                caller_display: "[promo] +79161234567".into(),
            }
        ]
    );
    assert_eq!(run.poll_timeout(), Some(t + secs(42)));
    run.handle_answered("alice", t + secs(30));
    assert_eq!(
        drain(&mut run),
        [FlowAction::Emit(FlowEvent::Answered { by: "alice".into() })]
    );
    assert!(run.is_finished());
    assert_eq!(run.poll_timeout(), None);
}

#[test]
fn barge_in_stops_the_greeting_and_acts_at_once() {
    let plan = plan(MENUS);
    let t = t0();
    let mut run = start(&plan, t);
    drain(&mut run);
    run.handle_digit('3', t + secs(2));
    assert_eq!(
        drain(&mut run),
        [
            FlowAction::StopPlayback,
            chosen("main", "3"),
            FlowAction::Hangup {
                reason: HangupReason::Normal
            }
        ]
    );
    assert!(run.is_finished());
}

#[test]
fn timeout_then_invalid_then_fallback_to_queue_then_voicemail() {
    let plan = plan(MENUS);
    let t = t0();
    let mut run = start(&plan, t);
    drain(&mut run);
    to_waiting(&mut run, t + secs(25));
    // Early timeouts do nothing.
    run.handle_timeout(t + secs(29));
    assert_eq!(drain(&mut run), []);
    run.handle_timeout(t + secs(30));
    assert_eq!(
        drain(&mut run),
        [
            FlowAction::Emit(FlowEvent::NoInput {
                menu: "main".into()
            }),
            play(
                &["en/one-moment-please.wav", "en/please-try-again.wav"],
                true
            ),
        ]
    );
    to_waiting(&mut run, t + secs(33));
    run.handle_digit('7', t + secs(34));
    // retries = 1: the second failure takes the fallback, a queue with hold music.
    assert_eq!(
        drain(&mut run),
        [
            FlowAction::Emit(FlowEvent::InvalidEntry {
                menu: "main".into(),
                digits: "7".into()
            }),
            FlowAction::Emit(FlowEvent::MenuFallback {
                menu: "main".into()
            }),
            FlowAction::Ring {
                operators: vec!["alice".into()],
                timeout: secs(20),
                hold_music: Some(p("moh/macroform-cold_day-30s.wav")),
                queue: Some("q".into()),
                whisper: Some(p("en/calling.wav")),
                caller_display: "[promo] +79161234567".into(),
            }
        ]
    );
    run.handle_timeout(t + secs(54));
    let actions = drain(&mut run);
    assert_eq!(
        actions,
        [
            FlowAction::StopRinging,
            FlowAction::Emit(FlowEvent::RingTimeout),
            play(&["en/vm-intro.wav", "en/beep.wav"], false),
        ]
    );
}

#[test]
fn invalid_entry_replays_invalid_prompt_and_short_greeting() {
    let plan = plan(MENUS);
    let t = t0();
    let mut run = start(&plan, t);
    drain(&mut run);
    to_waiting(&mut run, t);
    run.handle_digit('5', t + secs(1));
    assert_eq!(
        drain(&mut run),
        [
            FlowAction::Emit(FlowEvent::InvalidEntry {
                menu: "main".into(),
                digits: "5".into()
            }),
            play(&["en/invalid.wav", "en/please-try-again.wav"], true),
        ]
    );
}

#[test]
fn multi_digit_entry_terminator_max_length_and_inter_digit_timeout() {
    let plan = plan(MENUS);
    let t = t0();
    let into_sub = |run: &mut FlowRun| {
        drain(run);
        run.handle_digit('2', t + secs(1));
        assert_eq!(
            drain(run),
            [
                FlowAction::StopPlayback,
                chosen("main", "2"),
                entered("sub", false),
                play(&["en/calling.wav"], true)
            ]
        );
        run.handle_prompt_done(t + secs(2));
        assert_eq!(drain(run), [collect("sub", 2, Some('#'), 5, 3)]);
    };
    // "1" then "#": option 1 at once.
    let mut run = start(&plan, t);
    into_sub(&mut run);
    run.handle_digit('1', t + secs(3));
    assert_eq!(drain(&mut run), []);
    assert_eq!(run.poll_timeout(), Some(t + secs(6)), "inter-digit timeout");
    run.handle_digit('#', t + secs(4));
    assert_eq!(drain(&mut run)[0], chosen("sub", "1"));
    // "1", "2": max length reached, option 12 without a terminator.
    let mut run = start(&plan, t);
    into_sub(&mut run);
    run.handle_digit('1', t + secs(3));
    run.handle_digit('2', t + secs(4));
    assert_eq!(
        drain(&mut run),
        [chosen("sub", "12"), play(&["en/goodbye.wav"], false)]
    );
    run.handle_prompt_done(t + secs(5));
    assert_eq!(
        drain(&mut run),
        [FlowAction::Hangup {
            reason: HangupReason::Normal
        }]
    );
    // "1" and silence: the inter-digit timeout completes the entry as 1.
    let mut run = start(&plan, t);
    into_sub(&mut run);
    run.handle_digit('1', t + secs(3));
    run.handle_timeout(t + secs(6));
    assert_eq!(drain(&mut run)[0], chosen("sub", "1"));
}

#[test]
fn back_returns_to_previous_menu_with_short_greeting() {
    let plan = plan(MENUS);
    let t = t0();
    let mut run = start(&plan, t);
    drain(&mut run);
    run.handle_digit('2', t + secs(1));
    drain(&mut run);
    run.handle_digit('*', t + secs(2));
    assert_eq!(
        drain(&mut run),
        [
            FlowAction::StopPlayback,
            chosen("sub", "*"),
            FlowAction::Emit(FlowEvent::Back {
                from: "sub".into(),
                to: "main".into()
            }),
            entered("main", true),
            play(&["en/please-try-again.wav"], true),
        ]
    );
}

#[test]
fn operator_key_acts_mid_entry() {
    let plan = plan(MENUS);
    let t = t0();
    let mut run = start(&plan, t);
    drain(&mut run);
    to_waiting(&mut run, t);
    run.handle_digit('0', t + secs(1));
    let actions = drain(&mut run);
    assert_eq!(
        actions[0],
        FlowAction::Emit(FlowEvent::OperatorKey {
            menu: "main".into()
        })
    );
    assert!(
        matches!(&actions[1], FlowAction::Ring { operators, queue: None, .. } if operators == &["alice"])
    );
}

#[test]
fn transfer_and_its_failure() {
    let plan = plan(MENUS);
    let t = t0();
    let mut run = start(&plan, t);
    drain(&mut run);
    run.handle_digit('9', t + secs(1));
    assert_eq!(
        drain(&mut run)[2],
        FlowAction::Transfer {
            number: "+74951234567".into()
        }
    );
    run.handle_failed(t + secs(20));
    assert_eq!(
        drain(&mut run),
        [FlowAction::Hangup {
            reason: HangupReason::TransferFailed
        }]
    );
}

#[test]
fn voicemail_records_until_hash_and_reports_the_message() {
    let plan = plan(MENUS);
    let t = t0();
    let mut run = start(&plan, t);
    drain(&mut run);
    run.handle_digit('2', t + secs(1));
    drain(&mut run);
    run.handle_digit('1', t + secs(2));
    run.handle_digit('#', t + secs(3));
    assert_eq!(
        drain(&mut run),
        [
            FlowAction::StopPlayback, // the sub menu's greeting was still playing
            chosen("sub", "1"),
            play(&["en/vm-intro.wav", "en/beep.wav"], false)
        ]
    );
    // '#' during the greeting does not end anything.
    run.handle_digit('#', t + secs(4));
    assert_eq!(drain(&mut run), []);
    run.handle_prompt_done(t + secs(9));
    let path = PathBuf::from("voicemail/box/20261124T070009Z-+79161234567.wav");
    assert_eq!(
        drain(&mut run),
        [
            FlowAction::Emit(FlowEvent::VoicemailStarted {
                mailbox: "box".into()
            }),
            FlowAction::RecordVoicemail {
                mailbox: "box".into(),
                max_duration: secs(60),
                silence: secs(5),
                path_hint: path.clone(),
            }
        ]
    );
    assert_eq!(run.poll_timeout(), Some(t + secs(69)));
    run.handle_digit('#', t + secs(21));
    let started_at = dialplan::parse_wall_time("2026-11-24T07:00:09Z").unwrap();
    assert_eq!(
        drain(&mut run),
        [
            FlowAction::StopRecording,
            FlowAction::Emit(FlowEvent::VoicemailRecorded {
                mailbox: "box".into(),
                path_hint: path,
                caller: "+79161234567".into(),
                number: "+74950000001".into(),
                landing_page: None,
                started_at,
                duration: secs(12),
            }),
            FlowAction::Hangup {
                reason: HangupReason::VoicemailDone
            }
        ]
    );
    assert!(run.is_finished());
}

#[test]
fn voicemail_ends_at_max_length_and_on_caller_hangup() {
    let plan = plan(
        r#"[[number]]
number = "+74950000001"
voicemail = "box"
"#,
    );
    let t = t0();
    let mut run = start(&plan, t);
    drain(&mut run);
    run.handle_prompt_done(t + secs(6));
    drain(&mut run);
    run.handle_timeout(t + secs(66));
    let actions = drain(&mut run);
    assert_eq!(actions[0], FlowAction::StopRecording);
    assert!(
        matches!(&actions[1], FlowAction::Emit(FlowEvent::VoicemailRecorded { duration, .. }) if *duration == secs(60))
    );
    // Caller hangs up mid-recording: the message is kept, nothing more is asked for.
    let mut run = start(&plan, t);
    drain(&mut run);
    run.handle_prompt_done(t + secs(6));
    drain(&mut run);
    run.handle_hangup(t + secs(16));
    let actions = drain(&mut run);
    assert_eq!(actions.len(), 1);
    assert!(
        matches!(&actions[0], FlowAction::Emit(FlowEvent::VoicemailRecorded { duration, .. }) if *duration == secs(10))
    );
    assert!(run.is_finished());
}

#[test]
fn ring_failure_takes_queue_fallback_at_once() {
    let plan = plan(
        r#"[[number]]
number = "+74950000001"
queue = "q"
"#,
    );
    let t = t0();
    let mut run = start(&plan, t);
    assert!(matches!(&drain(&mut run)[0], FlowAction::Ring { .. }));
    run.handle_failed(t + secs(1));
    assert_eq!(
        drain(&mut run),
        [
            FlowAction::Emit(FlowEvent::RingFailed),
            play(&["en/vm-intro.wav", "en/beep.wav"], false)
        ]
    );
}

#[test]
fn a_call_keeps_the_plan_it_started_with() {
    let old = plan(MENUS);
    let t = t0();
    let mut run = start(&old, t);
    // A reload swaps in a plan where the menu's option 3 no longer hangs up.
    let new = plan(&MENUS.replace(r#""3" = "hangup""#, r#""3" = { queue = "q" }"#));
    assert!(!Arc::ptr_eq(&old, &new));
    drain(&mut run);
    run.handle_digit('3', t + secs(1));
    assert_eq!(
        drain(&mut run).last(),
        Some(&FlowAction::Hangup {
            reason: HangupReason::Normal
        })
    );
    assert!(Arc::ptr_eq(run.plan(), &old));
    let mut fresh = start(&new, t);
    drain(&mut fresh);
    fresh.handle_digit('3', t + secs(1));
    assert!(matches!(
        drain(&mut fresh).last(),
        Some(FlowAction::Ring { .. })
    ));
}

#[test]
fn unknown_number_is_an_error() {
    let plan = plan(MENUS);
    let err = FlowRun::start(plan, "+70000000000", "x", at(), t0()).unwrap_err();
    assert_eq!(err, dialplan::Error::UnknownNumber("+70000000000".into()));
}
