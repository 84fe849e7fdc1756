//! Flow validation: every problem at once, each at its exact file:line:column.

use std::path::Path;

mod common;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

/// A temp dir with prompts: good.wav (8 kHz mono 16-bit), stereo.wav (16 kHz stereo, accepted),
/// eight.wav (8-bit, rejected), text.wav (not a WAV).
fn prompts_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let wav = |name: &str, channels: u16, rate: u32, bits: u16| {
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: bits,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(dir.path().join(name), spec).unwrap();
        for _ in 0..rate / 10 * u32::from(channels) {
            if bits == 8 {
                w.write_sample(0i8).unwrap();
            } else {
                w.write_sample(0i16).unwrap();
            }
        }
        w.finalize().unwrap();
    };
    wav("good.wav", 1, 8000, 16);
    wav("stereo.wav", 2, 16000, 16);
    wav("eight.wav", 1, 8000, 8);
    write(dir.path(), "text.wav", "not audio");
    dir
}

fn config(dir: &Path, flows: &str) -> String {
    format!(
        "[server]\nprompts_dir = \"{}\"\n{}{flows}",
        dir.display(),
        common::BASE
    )
}

#[test]
fn prompt_files_are_checked() {
    let dir = prompts_dir();
    let text = config(
        dir.path(),
        r#"
[prompts]
good = "good.wav"
stereo = "stereo.wav"
eight = "eight.wav"
text = "text.wav"
gone = "gone.wav"
"#,
    );
    let d = dir.path().display();
    common::assert_errors(
        &text,
        &[
            &format!("t.toml:18:9: error: prompt file {d}/eight.wav is 8-bit integer PCM; prompts must be 16-bit PCM\n  hint: convert it: sox in.wav -r 8000 -c 1 -b 16 out.wav"),
            &format!("t.toml:19:8: error: prompt file {d}/text.wav is not a playable WAV: Ill-formed WAVE file: no RIFF tag found\n  hint: convert it: sox in.mp3 -r 8000 -c 1 -b 16 out.wav"),
            &format!("t.toml:20:8: error: prompt file {d}/gone.wav not found\n  hint: prompt files are relative to `prompts_dir` in [server]"),
        ],
    );
}

#[test]
fn flow_problems_are_all_reported_at_their_place() {
    let dir = prompts_dir();
    let text = config(
        dir.path(),
        r##"
[prompts]
hi = "good.wav"

[[menu]]
name = "main"
greeting = "hello"
options = { "1" = { menu = "mian" }, "12" = { queue = "nope" }, "123" = "hangup", "2" = { voicemail = "box" } }
max_digits = 2

[[menu]]
name = "a"
options = { "1" = { menu = "b" } }
fallback = { menu = "b" }

[[menu]]
name = "b"
terminator = "#"
options = { "1" = { menu = "a" }, "#1" = "hangup", "2" = "back" }

[[hours]]
name = "office"
timezone = "Europe/Moskow"
mon = "18:00-09:00"
tue = ["09:00-13:00", "12:00-18:00"]
wed = "9-18"
holidays = ["2026-1-7", "2026-02-30"]
open = { menu = "main" }

[[number]]
number = "+74950000009"
back = true
"##,
    );
    common::assert_errors(
        &text,
        &[
            "t.toml:20:12: error: unknown prompt `hello`\n  hint: defined prompts: hi",
            "t.toml:21:13: error: option `1` overlaps `12`\n  hint: a caller typing `1` cannot end the entry; set terminator = \"#\" or renumber",
            "t.toml:21:28: error: unknown menu `mian`\n  hint: did you mean `main`?",
            "t.toml:21:38: error: option `12` overlaps `123`\n  hint: a caller typing `12` cannot end the entry; set terminator = \"#\" or renumber",
            "t.toml:21:55: error: unknown queue `nope`\n  hint: no queues are defined; add a [[queue]] section",
            "t.toml:21:65: error: option `123` is longer than max_digits 2\n  hint: entry stops at max_digits, so this option can never be entered",
            "t.toml:21:103: error: unknown voicemail `box`\n  hint: no voicemails are defined; add a [[voicemail]] section",
            "t.toml:32:35: error: option `#1` contains the terminator `#`\n  hint: the terminator ends an entry, so it cannot be part of one",
            "t.toml:34:1: error: [[hours]] is missing required key `closed`\n  hint: say what calls do when closed, e.g. closed = { menu = \"main\" }",
            "t.toml:36:12: error: unknown time zone `Europe/Moskow`\n  hint: did you mean `Europe/Moscow`?",
            "t.toml:37:7: error: range 18:00-09:00 ends before it starts\n  hint: a range cannot cross midnight: split it, e.g. \"22:00-24:00\" and \"00:00-02:00\" on the next day",
            "t.toml:38:23: error: range 12:00-18:00 overlaps 09:00-13:00\n  hint: merge them into one range",
            "t.toml:39:7: error: `9-18` is not a time range\n  hint: write \"HH:MM-HH:MM\", e.g. \"09:00-18:00\", or \"closed\"",
            "t.toml:40:13: error: `2026-1-7` is not a date\n  hint: write YYYY-MM-DD, e.g. \"2026-01-07\"",
            "t.toml:40:25: error: `2026-02-30` is not a date\n  hint: write YYYY-MM-DD, e.g. \"2026-01-07\"",
            "t.toml:45:8: error: `back` only works inside a menu\n  hint: use it in a menu's options, operator or fallback",
        ],
    );
}

#[test]
fn menus_without_a_way_out_and_self_looping_hours() {
    let text = format!(
        "{}{}",
        common::BASE,
        r#"
[[menu]]
name = "a"
options = { "1" = { menu = "b" } }
fallback = { menu = "b" }

[[menu]]
name = "b"
options = { "1" = { menu = "a" }, "2" = "back" }
fallback = { menu = "a" }

[[menu]]
name = "ok"
options = { "1" = { menu = "a" }, "2" = "hangup" }

[[hours]]
name = "h"
timezone = "UTC"
daily = "09:00-18:00"
open = { hours = "h" }
closed = "hangup"
"#
    );
    common::assert_errors(
        &text,
        &[
            "t.toml:14:8: error: menu `a` has no way out: its options and fallback only lead to menus\n  hint: let some option or the fallback ring, queue, record voicemail, transfer or hang up",
            "t.toml:19:8: error: menu `b` has no way out: its options and fallback only lead to menus\n  hint: let some option or the fallback ring, queue, record voicemail, transfer or hang up",
            "t.toml:28:8: error: hours `h` lead back to themselves without the caller doing anything\n  hint: one of the open/closed branches must end somewhere else, e.g. in a menu or a ring",
        ],
    );
}

#[test]
fn number_whisper_and_caller_id_tag() {
    let text = common::BASE.replace(
        "ring = { group = \"sales\" }",
        "ring = { group = \"sales\" }\nwhisper = \"promo\"\ncaller_id_tag = \"[promo]\"",
    ) + "\n[[number]]\nnumber = \"+74950000002\"\nring = { group = \"sales\" }\ncaller_id_tag = \"{who} {caller}\"\n";
    common::assert_errors(
        &text,
        &[
            "t.toml:12:11: error: unknown prompt `promo`\n  hint: no prompts are defined; add them to [prompts], e.g. welcome = \"welcome.wav\"",
            "t.toml:18:17: error: `caller_id_tag` has an unknown field `{who}`\n  hint: use {caller} for the caller's number and {name} for the number's name",
        ],
    );
    let ok = common::BASE.replace(
        "ring = { group = \"sales\" }",
        "ring = { group = \"sales\" }\nname = \"promo\"\ncaller_id_tag = \"[{name}] {caller}\"",
    );
    let plan = dialplan::load_str("t.toml", &ok).unwrap();
    assert_eq!(plan.numbers()[0].caller_display("+7916"), "[promo] +7916");
}

#[test]
fn included_files_are_named_in_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("conf.d")).unwrap();
    write(
        dir.path(),
        "main.toml",
        &format!(
            "include = [\"conf.d\", \"extra.toml\", \"missing.toml\"]\n{}",
            common::BASE
        ),
    );
    write(
        &dir.path().join("conf.d"),
        "a.toml",
        "[[number]]\nnumber = \"+74950000002\"\nmenu = \"nope\"\n",
    );
    write(
        dir.path(),
        "extra.toml",
        "[[number]]\nnumber = \"+74950000001\"\nring = { group = \"sales\" }\n",
    );
    let main = dir.path().join("main.toml");
    let d = dir.path().display();
    let diags: Vec<String> = dialplan::load(&main)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        diags,
        [
            format!("{d}/main.toml:1:36: error: cannot read included file {d}/missing.toml: No such file or directory (os error 2)\n  hint: include paths are relative to the main config file's directory"),
            format!("{d}/conf.d/a.toml:3:8: error: unknown menu `nope`\n  hint: no menus are defined; add a [[menu]] section"),
            format!("{d}/extra.toml:2:10: error: duplicate number `+74950000001`\n  hint: already used by the number named `+74950000001`"),
        ]
    );
}
