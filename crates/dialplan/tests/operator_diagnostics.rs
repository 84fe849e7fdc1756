//! Diagnostics for [[operator]] and [[group]] sections.

mod common;

use common::{assert_errors, BASE};

#[test]
fn operator_problems_and_weak_passwords() {
    let text = format!(
        r#"{BASE}[[operator]]
username = "alice"
password = "another-pass-9"

[[operator]]
username = "Bob"
password = "Bob"
groups = ["sale", "marketing"]

[[operator]]
username = "carol"
password = "12345678901"

[[operator]]
username = "dave"
password = "short1"

[[operator]]
username = "eve;x"
password = "correct-horse-2"

[[operator]]
username = "ALICE"
password = "correct-horse-3"

[[operator]]
username = "frank"
"#
    );
    assert_errors(
        &text,
        &[
            "t.toml:13:12: error: duplicate operator `alice`\n  hint: each [[operator]] needs its own username",
            "t.toml:18:12: warning: operator `Bob`'s password is the same as the username\n  hint: SIP scanners guess weak passwords within minutes; use 12+ characters mixing words and digits",
            "t.toml:19:11: error: unknown group `sale`\n  hint: did you mean `sales`?",
            "t.toml:19:19: error: unknown group `marketing`\n  hint: defined groups: sales",
            "t.toml:23:12: warning: operator `carol`'s password is only digits\n  hint: SIP scanners guess weak passwords within minutes; use 12+ characters mixing words and digits",
            "t.toml:27:12: warning: operator `dave`'s password is shorter than 8 characters\n  hint: SIP scanners guess weak passwords within minutes; use 12+ characters mixing words and digits",
            "t.toml:30:12: error: operator username `eve;x` is not a valid SIP user name\n  hint: use letters, digits, '.', '_', '-' or '~'; it is what the softphone registers as",
            "t.toml:34:12: error: operator `ALICE` differs from `alice` only in letter case\n  hint: each [[operator]] needs its own username",
            "t.toml:37:1: error: [[operator]] is missing required key `password`",
        ],
    );
}

#[test]
fn operator_wrong_types() {
    let text = BASE.replace(
        "groups = [\"sales\"]",
        "groups = [\"sales\", 5]\ncan_call_out = \"yes\"",
    );
    assert_errors(
        &text,
        &[
            "t.toml:7:20: error: `groups` must be a string, found an integer\n  hint: put the value in double quotes",
            "t.toml:8:16: error: `can_call_out` must be true or false, found a string\n  hint: write true or false without quotes",
        ],
    );
}

#[test]
fn empty_password_is_an_error() {
    let text = BASE.replace("\"correct-horse-1\"", "\"\"");
    assert_errors(
        &text,
        &["t.toml:6:12: error: operator `alice` has an empty password"],
    );
}

#[test]
fn group_problems() {
    let text = format!(
        r#"{BASE}[[group]]
name = "sales"

[[group]]
name = "support"

[[group]]
name = "night shift"

[[group]]
description = "x"
"#
    );
    assert_errors(
        &text,
        &[
            "t.toml:13:8: error: duplicate group `sales`\n  hint: each [[group]] needs its own name",
            "t.toml:15:1: warning: group `support` has no operators\n  hint: add the group to some operator's `groups`, or remove it",
            "t.toml:19:8: error: group name `night shift` is not a valid name\n  hint: use 1 to 64 letters, digits, '_', '-' or '.'",
            "t.toml:21:1: error: [[group]] is missing required key `name`",
        ],
    );
}
