//! Dial-plan flows through the core: IVR menus driven by RFC 4733 and SIP
//! INFO digits, timeouts, retries and fallbacks, business hours, queues with
//! hold music, whisper before the bridge, caller ID display, transfer out,
//! voicemail, and a reload during a call.
//!
//! Prompts are real WAV files of known length written to a temporary
//! directory, so the core's prompt timing (clip length) is what is tested.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sip::{Method, Request};
use switchboard::media::{LegId, MediaEvent};

use crate::harness::{sdp_answer, trunk, MediaOp, Sim, UNIX_AT_ORIGIN};
use crate::peers::{Phone, TrunkCall};

/// The IVR number: menu "main", whisper and caller ID tag.
const IVR: &str = "+74950000010";
/// Business hours in front of the menu.
const HOURS: &str = "+74950000011";
/// A plain ring to the sales group with whisper and tag.
const PROMO: &str = "+74950000001";
/// Straight to the sales queue (hold music, fallback voicemail).
const QUEUE: &str = "+74950000012";

/// 12 h after the origin (Fri 08:00 UTC = 11:00 Moscow, open) is 23:00
/// Moscow: closed.
const CLOSED_AT: u64 = UNIX_AT_ORIGIN + 12 * 3600;

/// Prompt files and their lengths in milliseconds.
const PROMPTS: &[(&str, u64)] = &[
    ("greeting", 2000),
    ("invalid", 1000),
    ("try-again", 1000),
    ("whisper", 1500),
    ("vm-intro", 1000),
    ("beep", 200),
    ("hold", 3000),
    ("closed", 1000),
    ("transfer", 500),
];

fn prompt_ms(name: &str) -> u64 {
    PROMPTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, ms)| *ms)
        .expect("known prompt")
}

/// A fresh directory with every prompt as an 8 kHz mono WAV.
fn prompt_dir() -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "switchboard-ivr-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("prompt dir");
    for (name, ms) in PROMPTS {
        write_wav(&dir.join(format!("{name}.wav")), *ms);
    }
    dir
}

/// A 440 Hz tone, 16-bit PCM, 8 kHz mono, `ms` long.
fn write_wav(path: &std::path::Path, ms: u64) {
    let samples = (ms * 8) as u32;
    let data_len = samples * 2;
    let mut b = Vec::with_capacity(44 + data_len as usize);
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data_len).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes()); // PCM
    b.extend_from_slice(&1u16.to_le_bytes()); // mono
    b.extend_from_slice(&8000u32.to_le_bytes());
    b.extend_from_slice(&16000u32.to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_len.to_le_bytes());
    for i in 0..samples {
        let t = f64::from(i) / 8000.0;
        let v = (8000.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as i16;
        b.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, b).expect("write prompt");
}

/// The scenario config plus prompts, menus, hours, a queue, voicemail and
/// the numbers above. `option1` is what "1" does in the main menu (the
/// reload test changes it).
fn ivr_config(dir: &std::path::Path, option1: &str) -> String {
    let base = crate::harness::CONFIG.replace(
        "node_id = \"node1\"",
        &format!(
            "node_id = \"node1\"\nprompts_dir = \"{p}\"\ndata_dir = \"{p}/data\"",
            p = dir.display()
        ),
    );
    let prompts: String = PROMPTS
        .iter()
        .map(|(n, _)| format!("{n} = \"{n}.wav\"\n"))
        .collect();
    format!(
        r#"{base}
[[number]]
number = "{IVR}"
name = "ivr"
landing_page = "https://shop.example/ivr"
whisper = "whisper"
caller_id_tag = "[ivr] {{caller}}"
menu = "main"

[[number]]
number = "{HOURS}"
name = "hours-line"
landing_page = "https://shop.example/hours"
hours = "office"

[[number]]
number = "{QUEUE}"
name = "queue-line"
queue = "sales-q"

[prompts]
{prompts}
[[hours]]
name = "office"
timezone = "Europe/Moscow"
weekdays = "09:00-19:00"
open = {{ menu = "main" }}
closed = {{ play = "closed", then = {{ voicemail = "box" }} }}

[[menu]]
name = "main"
greeting = "greeting"
invalid_prompt = "invalid"
timeout_prompt = "try-again"
timeout = 5
retries = 2
fallback = {{ voicemail = "box" }}

[menu.options]
"1" = {option1}
"2" = {{ queue = "sales-q" }}
"3" = {{ voicemail = "box" }}
"9" = {{ play = "transfer", then = {{ transfer = "+74951234567" }} }}

[[queue]]
name = "sales-q"
group = "sales"
hold_music = "hold"
timeout = 10
fallback = {{ voicemail = "box" }}

[[voicemail]]
name = "box"
greeting = "vm-intro"
beep = "beep"
max_seconds = 30
"#
    )
    // The base config's promo number gets the whisper and tag too.
    .replace(
        "campaign = \"spring-sale\"\n",
        "campaign = \"spring-sale\"\nwhisper = \"whisper\"\ncaller_id_tag = \"[promo] {caller}\"\n",
    )
}

const RING_ALICE: &str = r#"{ ring = { operators = ["alice"], timeout = 20 } }"#;

fn sim_at(unix: u64) -> Sim {
    let dir = prompt_dir();
    Sim::with_config_at(&ivr_config(&dir, RING_ALICE), unix)
}

fn sim() -> Sim {
    sim_at(UNIX_AT_ORIGIN)
}

/// A caller in the menu: answered (prompts need media), ACKed, greeting
/// playing on their leg.
fn enter_menu(sim: &mut Sim, number: &str, id: &str) -> (TrunkCall, LegId) {
    let mut call = TrunkCall::new(trunk(), number, id);
    let before = sim.media().open().len();
    sim.deliver(trunk(), &call.invite());
    let ok = sim.expect_response(trunk(), 200);
    call.answered(&ok);
    sim.deliver(trunk(), &call.ack());
    let caller = sim.media().open()[before];
    assert_eq!(
        sim.media().plays(caller),
        vec![(vec!["greeting.wav".to_string()], false)],
        "the greeting plays on the caller's leg"
    );
    sim.take();
    (call, caller)
}

fn registered(sim: &mut Sim, mut phone: Phone) -> Phone {
    phone.register(sim, 600);
    sim.saved.clear();
    sim.take();
    phone
}

fn dtmf(sim: &mut Sim, leg: LegId, digit: char) {
    sim.media_event(MediaEvent::Dtmf { leg, digit });
}

/// The (only) callee leg opened after the caller's.
fn callee_leg(sim: &Sim) -> LegId {
    *sim.media().open().last().expect("a callee leg")
}

fn display_name(invite: &Request) -> String {
    let from = invite.headers.get("From").expect("From");
    from.split('"').nth(1).unwrap_or_default().to_string()
}

#[test]
fn rfc4733_digit_barges_in_and_rings_the_operator_with_caller_id_and_whisper() {
    let mut sim = sim();
    let alice = registered(&mut sim, Phone::alice());
    let (mut call, caller) = enter_menu(&mut sim, IVR, "dig");
    sim.advance_ms(500);
    dtmf(&mut sim, caller, '1');

    // Barge-in: the greeting stops at once, alice's phone rings with the tag.
    assert!(sim.media().ops.contains(&MediaOp::Stop(caller)));
    let invite = sim.expect_request(alice.peer, Method::Invite);
    assert_eq!(display_name(&invite), "[ivr] +79161234567");
    alice.respond(&mut sim, &invite, 180, "");
    assert!(
        sim.media().ops.contains(&MediaOp::Ringback(caller)),
        "the answered caller hears ringback while alice rings"
    );
    alice.respond(&mut sim, &invite, 200, &sdp_answer("198.51.100.10", 41000));
    sim.expect_request(alice.peer, Method::Ack);
    let op = callee_leg(&sim);

    // Alice hears the whisper first; the bridge waits for it.
    assert_eq!(
        sim.media().plays(op),
        vec![(vec!["whisper.wav".to_string()], false)]
    );
    assert!(sim.media().bridges().is_empty(), "no bridge during whisper");
    sim.advance_ms(prompt_ms("whisper") - 10);
    assert!(sim.media().bridges().is_empty());
    sim.advance_ms(20);
    assert_eq!(sim.media().bridges(), vec![(caller, op)]);

    sim.deliver(trunk(), &call.bye());
    sim.expect_response(trunk(), 200);
    let bye = sim.expect_request(alice.peer, Method::Bye);
    alice.respond(&mut sim, &bye, 200, "");
    let r = sim.record();
    assert_eq!(r.operator.as_deref(), Some("alice"));
    assert_eq!(r.disposition, store::Disposition::Answered);
    assert_eq!(r.landing_page.as_deref(), Some("https://shop.example/ivr"));
}

#[test]
fn sip_info_digit_picks_the_queue_with_hold_music() {
    let mut sim = sim();
    let alice = registered(&mut sim, Phone::alice());
    let bob = registered(&mut sim, Phone::bob());
    let (mut call, caller) = enter_menu(&mut sim, IVR, "info");
    // The greeting plays out; the menu waits for input.
    sim.advance_ms(prompt_ms("greeting") + 100);
    sim.deliver(trunk(), &call.info_dtmf('2'));
    sim.expect_response(trunk(), 200);

    let to_alice = sim.expect_request(alice.peer, Method::Invite);
    let to_bob = sim.expect_request(bob.peer, Method::Invite);
    assert_eq!(display_name(&to_bob), "[ivr] +79161234567");
    alice.respond(&mut sim, &to_alice, 100, "");
    let plays = sim.media().plays(caller);
    assert_eq!(
        plays.last(),
        Some(&(vec!["hold.wav".to_string()], true)),
        "the queue's hold music loops for the caller: {plays:?}"
    );
    bob.respond(&mut sim, &to_bob, 200, &sdp_answer("198.51.100.20", 42000));
    let cancel = sim.expect_request(alice.peer, Method::Cancel);
    alice.respond(&mut sim, &cancel, 200, "");
    alice.respond(&mut sim, &to_alice, 487, "");
    sim.advance_ms(prompt_ms("whisper") + 10);
    assert_eq!(sim.media().bridges().len(), 1);
    assert_eq!(sim.media().bridges()[0].0, caller);
}

#[test]
fn no_input_retries_with_the_timeout_prompt_then_falls_back_to_voicemail() {
    let mut sim = sim();
    let (mut call, caller) = enter_menu(&mut sim, IVR, "tmo");
    // Greeting, 5 s of silence, "try again" + greeting, twice; then the
    // fallback: voicemail greeting and beep, then recording.
    sim.advance_s(60);
    let plays: Vec<Vec<String>> = sim
        .media()
        .plays(caller)
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    let flat: Vec<String> = plays.concat();
    assert_eq!(
        flat.iter().filter(|p| *p == "try-again.wav").count(),
        2,
        "{plays:?}"
    );
    let vm = flat
        .iter()
        .position(|p| p == "vm-intro.wav")
        .expect("voicemail greeting");
    assert_eq!(flat.get(vm + 1).map(String::as_str), Some("beep.wav"));
    let recording = sim
        .media()
        .ops
        .iter()
        .find_map(|o| match o {
            MediaOp::RecordMono(leg, name, silence) => Some((*leg, name.clone(), *silence)),
            _ => None,
        })
        .expect("recording started");
    assert_eq!(recording.0, caller, "the caller alone, in a mono file");
    assert_eq!(recording.2, Some(Duration::from_secs(5)), "silence_seconds");
    assert!(
        !sim.media()
            .ops
            .iter()
            .any(|o| matches!(o, MediaOp::Record(..))),
        "no stereo recording, no stand-in leg"
    );
    // max_seconds = 30: the recording ends by itself and the call hangs up.
    sim.advance_s(30);
    assert!(sim.media().ops.contains(&MediaOp::StopRecording(caller)));
    let bye = sim.expect_request(trunk(), Method::Bye);
    sim.deliver(trunk(), &call.ok_to(&bye));
    assert_eq!(sim.voicemails.len(), 1);
    let m = &sim.voicemails[0];
    assert_eq!(m.mailbox, "box");
    assert_eq!(m.caller, "+79161234567");
    assert_eq!(m.number, IVR);
    assert_eq!(m.landing_page.as_deref(), Some("https://shop.example/ivr"));
    assert_eq!(m.duration_ms, 30_000);
    assert_eq!(m.path, format!("/rec/{}.wav", recording.1));
    let _ = call.bye();
}

#[test]
fn invalid_digit_plays_the_invalid_prompt_and_the_menu_again() {
    let mut sim = sim();
    let alice = registered(&mut sim, Phone::alice());
    let (_call, caller) = enter_menu(&mut sim, IVR, "inv");
    sim.advance_ms(prompt_ms("greeting") + 100);
    dtmf(&mut sim, caller, '7');
    let plays = sim.media().plays(caller);
    assert_eq!(plays.len(), 2, "{plays:?}");
    assert_eq!(plays[1].0[0], "invalid.wav");
    assert!(sim.take_to(alice.peer).is_empty());
    // After the invalid prompt the menu takes a good digit.
    sim.advance_ms(prompt_ms("invalid") + 100);
    dtmf(&mut sim, caller, '1');
    sim.expect_request(alice.peer, Method::Invite);
}

#[test]
fn digit_3_records_voicemail_until_hash_and_stores_the_message() {
    let mut sim = sim();
    let (call, caller) = enter_menu(&mut sim, IVR, "vm");
    dtmf(&mut sim, caller, '3');
    sim.advance_ms(prompt_ms("vm-intro") + prompt_ms("beep") + 50);
    assert!(sim
        .media()
        .ops
        .iter()
        .any(|o| matches!(o, MediaOp::RecordMono(c, _, _) if *c == caller)));
    sim.advance_s(7);
    dtmf(&mut sim, caller, '#');
    assert!(sim.media().ops.contains(&MediaOp::StopRecording(caller)));
    let bye = sim.expect_request(trunk(), Method::Bye);
    sim.deliver(trunk(), &call.ok_to(&bye));
    assert_eq!(sim.voicemails.len(), 1);
    let m = &sim.voicemails[0];
    assert!(
        (7000..7100).contains(&m.duration_ms),
        "duration {}",
        m.duration_ms
    );
    // Recording starts as the beep ends (digit at 0 barged into the greeting).
    assert_eq!(m.started_at, (UNIX_AT_ORIGIN * 1000) as i64 + 1200);
    assert_eq!(sim.record().disposition, store::Disposition::Missed);
    // Only the caller's leg was opened, and it is closed with the call.
    assert_eq!(sim.media().open(), vec![caller]);
    assert!(sim.media().live().is_empty(), "{:?}", sim.media().live());
}

#[test]
fn caller_hanging_up_during_voicemail_keeps_the_message() {
    let mut sim = sim();
    let (mut call, caller) = enter_menu(&mut sim, IVR, "vmbye");
    dtmf(&mut sim, caller, '3');
    sim.advance_ms(prompt_ms("vm-intro") + prompt_ms("beep") + 4000);
    sim.deliver(trunk(), &call.bye());
    sim.expect_response(trunk(), 200);
    assert!(sim.media().ops.contains(&MediaOp::StopRecording(caller)));
    assert_eq!(sim.voicemails.len(), 1, "the message is kept on hangup");
    assert_eq!(sim.record().hangup_by, Some(store::HangupBy::Caller));
    assert_eq!(sim.core.active_calls(), 0);
}

#[test]
fn caller_going_silent_ends_the_recording() {
    let mut sim = sim();
    let (mut call, caller) = enter_menu(&mut sim, IVR, "vmquiet");
    dtmf(&mut sim, caller, '3');
    sim.advance_ms(prompt_ms("vm-intro") + prompt_ms("beep") + 3000);
    sim.media_event(MediaEvent::Timeout { leg: caller });
    assert_eq!(sim.voicemails.len(), 1);
    let bye = sim.expect_request(trunk(), Method::Bye);
    sim.deliver(trunk(), &call.ok_to(&bye));
    assert_eq!(sim.core.active_calls(), 0);
    let _ = call.bye();
}

#[test]
fn long_silence_heard_by_the_engine_ends_the_recording() {
    let mut sim = sim();
    let (mut call, caller) = enter_menu(&mut sim, IVR, "vmhush");
    dtmf(&mut sim, caller, '3');
    sim.advance_ms(prompt_ms("vm-intro") + prompt_ms("beep") + 50);
    sim.advance_s(9);
    // Silence on another leg means nothing to this call.
    sim.media_event(MediaEvent::Silence { leg: LegId(999) });
    assert!(sim.voicemails.is_empty());
    // The engine heard 5 s of quiet (after 4 s of speech).
    sim.media_event(MediaEvent::Silence { leg: caller });
    assert!(sim.media().ops.contains(&MediaOp::StopRecording(caller)));
    assert_eq!(sim.voicemails.len(), 1, "the message is stored");
    let m = &sim.voicemails[0];
    // Recording started as the beep ended, 50 ms before the 9 s above.
    assert_eq!(m.duration_ms, 9050);
    let bye = sim.expect_request(trunk(), Method::Bye);
    sim.deliver(trunk(), &call.ok_to(&bye));
    assert_eq!(sim.core.active_calls(), 0);
    assert_eq!(
        sim.record().hangup_reason.as_deref(),
        Some("voicemail left")
    );
    // A late second report changes nothing.
    sim.media_event(MediaEvent::Silence { leg: caller });
    assert_eq!(sim.voicemails.len(), 1);
    let _ = call.bye();
}

#[test]
fn business_hours_open_goes_to_the_menu() {
    let mut sim = sim();
    enter_menu(&mut sim, HOURS, "open");
}

#[test]
fn business_hours_closed_plays_closed_then_voicemail() {
    let mut sim = sim_at(CLOSED_AT);
    let mut call = TrunkCall::new(trunk(), HOURS, "closed");
    sim.deliver(trunk(), &call.invite());
    let ok = sim.expect_response(trunk(), 200);
    call.answered(&ok);
    let caller = sim.media().open()[0];
    sim.advance_ms(prompt_ms("closed") + 10);
    let plays = sim.media().plays(caller);
    assert_eq!(plays[0].0, vec!["closed.wav".to_string()]);
    assert_eq!(
        plays[1].0,
        vec!["vm-intro.wav".to_string(), "beep.wav".to_string()]
    );
}

#[test]
fn plain_ring_shows_the_tag_whispers_and_keeps_early_media_ringback() {
    let mut sim = sim();
    let alice = registered(&mut sim, Phone::alice());
    let mut call = TrunkCall::new(trunk(), PROMO, "promo");
    sim.deliver(trunk(), &call.invite());
    let invite = sim.expect_request(alice.peer, Method::Invite);
    assert_eq!(display_name(&invite), "[promo] +79161234567");
    alice.respond(&mut sim, &invite, 180, "");
    sim.expect_response(trunk(), 180);
    let caller = sim.media().open()[0];
    assert!(sim.media().ops.contains(&MediaOp::Ringback(caller)));
    alice.respond(&mut sim, &invite, 200, &sdp_answer("198.51.100.10", 41000));
    // The caller is answered only when the bridge is up, after the whisper.
    assert!(sim.take_to(trunk()).iter().all(|s| !s.is_response(200)));
    let op = callee_leg(&sim);
    assert_eq!(sim.media().plays(op)[0].0, vec!["whisper.wav".to_string()]);
    sim.advance_ms(prompt_ms("whisper") + 1);
    let ok = sim.expect_response(trunk(), 200);
    call.answered(&ok);
    let bridge_at = sim
        .media()
        .position(|o| matches!(o, MediaOp::Bridge(..)))
        .expect("bridged");
    let whisper_at = sim
        .media()
        .position(|o| matches!(o, MediaOp::Play(l, ..) if *l == op))
        .expect("whispered");
    assert!(whisper_at < bridge_at);
}

#[test]
fn caller_cancelling_during_the_whisper_hangs_up_the_operator() {
    let mut sim = sim();
    let alice = registered(&mut sim, Phone::alice());
    let call = TrunkCall::new(trunk(), PROMO, "wcancel");
    sim.deliver(trunk(), &call.invite());
    let invite = sim.expect_request(alice.peer, Method::Invite);
    alice.respond(&mut sim, &invite, 200, &sdp_answer("198.51.100.10", 41000));
    sim.advance_ms(500);
    sim.deliver(trunk(), &call.cancel());
    sim.expect_response(trunk(), 487);
    let bye = sim.expect_request(alice.peer, Method::Bye);
    alice.respond(&mut sim, &bye, 200, "");
    assert!(sim.media().bridges().is_empty());
    assert_eq!(sim.record().disposition, store::Disposition::Abandoned);
}

#[test]
fn queue_nobody_answers_then_voicemail() {
    let mut sim = sim();
    let alice = registered(&mut sim, Phone::alice());
    let call = TrunkCall::new(trunk(), QUEUE, "qto");
    sim.deliver(trunk(), &call.invite());
    let invite = sim.expect_request(alice.peer, Method::Invite);
    alice.respond(&mut sim, &invite, 180, "");
    let caller = sim.media().open()[0];
    // Unanswered caller: early media with hold music rather than ringback.
    sim.expect_response(trunk(), 180);
    assert_eq!(
        sim.media().plays(caller),
        vec![(vec!["hold.wav".to_string()], true)]
    );
    sim.advance_s(10);
    let cancel = sim.expect_request(alice.peer, Method::Cancel);
    alice.respond(&mut sim, &cancel, 200, "");
    alice.respond(&mut sim, &invite, 487, "");
    // The fallback voicemail answers the caller and plays its greeting.
    sim.expect_response(trunk(), 200);
    let plays = sim.media().plays(caller);
    assert_eq!(plays.last().map(|p| p.0[0].as_str()), Some("vm-intro.wav"));
}

#[test]
fn queue_with_nobody_registered_falls_back_at_once() {
    let mut sim = sim();
    let call = TrunkCall::new(trunk(), QUEUE, "qnone");
    sim.deliver(trunk(), &call.invite());
    sim.expect_response(trunk(), 200);
    let caller = sim.media().open()[0];
    assert_eq!(sim.media().plays(caller)[0].0[0], "vm-intro.wav");
}

#[test]
fn digit_9_transfers_out_through_the_trunk_and_bridges() {
    let mut sim = sim();
    let (_call, caller) = enter_menu(&mut sim, IVR, "xfer");
    dtmf(&mut sim, caller, '9');
    sim.advance_ms(prompt_ms("transfer") + 10);
    let out = sim.expect_request(trunk(), Method::Invite);
    assert_eq!(out.uri, "sip:+74951234567@203.0.113.5:5060");
    assert!(out
        .headers
        .get("From")
        .expect("From")
        .contains("+74950000000"));
    let text = crate::harness::reply(
        &out,
        200,
        Some("far"),
        "Contact: <sip:+74951234567@203.0.113.5:5060>",
        &sdp_answer("203.0.113.60", 43000),
    );
    sim.deliver(trunk(), &text);
    sim.expect_request(trunk(), Method::Ack);
    let far = callee_leg(&sim);
    assert_eq!(sim.media().bridges(), vec![(caller, far)]);
    // No whisper for a transfer.
    assert!(sim.media().plays(far).is_empty());
}

#[test]
fn transfer_refused_by_the_trunk_hangs_up() {
    let mut sim = sim();
    let (mut call, caller) = enter_menu(&mut sim, IVR, "xferno");
    dtmf(&mut sim, caller, '9');
    sim.advance_ms(prompt_ms("transfer") + 10);
    let out = sim.expect_request(trunk(), Method::Invite);
    let text = crate::harness::reply(&out, 486, Some("far"), "", "");
    sim.deliver(trunk(), &text);
    let bye = sim.expect_request(trunk(), Method::Bye);
    sim.deliver(trunk(), &call.ok_to(&bye));
    assert_eq!(sim.core.active_calls(), 0);
    let _ = call.bye();
}

#[test]
fn unknown_number_is_404() {
    let mut sim = sim();
    let call = TrunkCall::new(trunk(), "+74959999999", "nf");
    sim.deliver(trunk(), &call.invite());
    sim.expect_response(trunk(), 404);
}

#[test]
fn reload_during_a_call_keeps_the_plan_it_started_with() {
    let dir = prompt_dir();
    let old = dialplan::load_str("old.toml", &ivr_config(&dir, RING_ALICE)).expect("old plan");
    let mut sim = Sim::with_plan_at(Arc::new(old), UNIX_AT_ORIGIN);
    let alice = registered(&mut sim, Phone::alice());
    let (_call, caller) = enter_menu(&mut sim, IVR, "reload");
    // The new plan sends "1" to voicemail instead of alice.
    let new = dialplan::load_str("new.toml", &ivr_config(&dir, r#"{ voicemail = "box" }"#))
        .expect("new plan");
    sim.core.set_plan(Arc::new(new));
    dtmf(&mut sim, caller, '1');
    sim.expect_request(alice.peer, Method::Invite);

    // A call that starts after the reload gets the new flow.
    let (_second, caller2) = enter_menu(&mut sim, IVR, "reload2");
    dtmf(&mut sim, caller2, '1');
    sim.advance(Duration::from_millis(10));
    let plays = sim.media().plays(caller2);
    assert_eq!(plays.last().map(|p| p.0[0].as_str()), Some("vm-intro.wav"));
    assert!(sim.take_to(alice.peer).is_empty());
}
