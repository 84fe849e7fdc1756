//! `simulate` over the example configs in config/: the whole printed path of a call.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use dialplan::{load_in, parse_entries, parse_wall_time, simulate, Plan, Scenario};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn shop() -> Arc<Plan> {
    let path = Path::new(ROOT).join("config/examples/shop.toml");
    match load_in(&path, Path::new(ROOT)) {
        Ok(plan) => {
            assert!(plan.warnings().is_empty(), "{:?}", plan.warnings());
            Arc::new(plan)
        }
        Err(d) => panic!("{d:#?}"),
    }
}

#[allow(clippy::disallowed_methods)] // a driver: only the origin of the simulated clock
fn run(to: &str, at: &str, digits: &str, answer: bool) -> Vec<String> {
    let scenario = Scenario {
        to: to.into(),
        from: "+79161234567".into(),
        at: parse_wall_time(at).unwrap(),
        entries: parse_entries(digits),
        answer,
    };
    simulate(shop(), &scenario, Instant::now()).unwrap()
}

#[test]
fn open_hours_menu_submenu_terminator_and_queue_answered() {
    assert_eq!(
        run("+74950000002", "2026-11-24T10:00:00+03:00", "2,1#", true),
        [
            "call from +79161234567 to +74950000002 (promo) at 2026-11-24T07:00:00+00:00",
            "[   0.0s] hours office: open (2026-11-24 10:00 Tue Europe/Moscow)",
            "[   0.0s] menu main",
            "[   0.0s] play main (25.4s, keys interrupt it)",
            "[  25.4s] menu main waits for keys (up to 1, 5s); caller types 2",
            "[  26.4s] caller presses 2",
            "[  26.4s] menu main: option 2",
            "[  26.4s] menu support",
            "[  26.4s] play one-moment (1.6s, keys interrupt it)",
            "[  28.0s] menu support waits for keys (up to 2, 5s); caller types 1#",
            "[  29.0s] caller presses 1",
            "[  29.5s] caller presses #",
            "[  29.5s] menu support: option 1",
            "[  29.5s] queue support: ring bob, carol for up to 60s; caller hears hold; operator hears promo-whisper first; phone shows \"[promo] +79161234567\"",
            "[  33.5s] answered by bob",
        ]
    );
}

#[test]
fn lunch_break_goes_to_after_hours_voicemail() {
    assert_eq!(
        run("+74950000002", "2026-11-24T13:30:00+03:00", "#", true),
        [
            "call from +79161234567 to +74950000002 (promo) at 2026-11-24T10:30:00+00:00",
            "[   0.0s] hours office: closed (2026-11-24 13:30 Tue Europe/Moscow)",
            "[   0.0s] play closed (2.2s)",
            "[   2.2s] play vm-intro + beep (6.1s)",
            "[   8.2s] record voicemail in after-hours (up to 60s) to voicemail/after-hours/20261124T103008Z-+79161234567.wav",
            "[  18.2s] caller presses #",
            "[  18.2s] stop recording",
            "[  18.2s] voicemail saved in after-hours (10s)",
            "[  18.2s] hang up (VoicemailDone)",
        ]
    );
}

#[test]
fn silence_and_wrong_key_use_up_retries_then_queue_times_out_to_voicemail() {
    let lines = run("+74950000002", "2026-11-24T10:00:00+03:00", ",7", false);
    let tail: Vec<&str> = lines.iter().skip(5).map(String::as_str).collect();
    assert_eq!(
        tail,
        [
            "[  30.4s] menu main: no input",
            "[  30.4s] play try-again + main (26.6s, keys interrupt it)",
            "[  57.0s] menu main waits for keys (up to 1, 5s); caller types 7",
            "[  58.0s] caller presses 7",
            "[  58.0s] menu main: invalid entry \"7\"",
            "[  58.0s] play invalid + main (29.5s, keys interrupt it)",
            "[  87.5s] menu main waits for keys (up to 1, 5s); no more entries",
            "[  92.5s] menu main: no input",
            "[  92.5s] menu main: retries used up, fallback",
            "[  92.5s] queue sales: ring alice, bob for up to 30s; caller hears hold; operator hears promo-whisper first; phone shows \"[promo] +79161234567\"",
            "[ 122.5s] stop ringing",
            "[ 122.5s] nobody answered in time",
            "[ 122.5s] play vm-intro + beep (6.1s)",
            "[ 128.6s] record voicemail in sales (up to 120s) to voicemail/sales/20261124T070208Z-+79161234567.wav",
            "[ 248.6s] stop recording",
            "[ 248.6s] voicemail saved in sales (120s)",
            "[ 248.6s] hang up (VoicemailDone)",
        ]
    );
}

#[test]
fn transfer_and_russian_menu() {
    let lines = run("+74950000002", "2026-11-24T10:00:00+03:00", "9", true);
    assert_eq!(
        &lines[7..],
        [
            "[  26.4s] play transfer (0.9s)",
            "[  27.3s] transfer to +74951234567",
            "[  31.3s] answered by +74951234567",
        ]
    );
    let lines = run("+74950000004", "2026-11-29T03:00:00+03:00", "2", true);
    assert_eq!(lines[1], "[   0.0s] menu main-ru");
    assert_eq!(lines[5], "[  27.6s] menu main-ru: option 2");
}

#[test]
fn unknown_number_is_an_error() {
    let scenario = Scenario {
        to: "+70000000000".into(),
        from: "x".into(),
        at: parse_wall_time("2026-11-24T10:00:00Z").unwrap(),
        entries: Vec::new(),
        answer: true,
    };
    #[allow(clippy::disallowed_methods)] // only the origin of the simulated clock
    let err = simulate(shop(), &scenario, Instant::now()).unwrap_err();
    assert_eq!(err.to_string(), "no [[number]] `+70000000000` in the plan");
}
