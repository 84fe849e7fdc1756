//! Diagnostics for [[number]] sections and their actions, and number lookups in the plan.

mod common;

use std::time::Duration;

use common::{assert_errors, BASE};
use dialplan::{load_str, Action, RingTarget};

#[test]
fn number_problems_are_all_reported() {
    let text = format!(
        r#"{BASE}[[number]]
number = "74950000001"
ring = {{ group = "sales" }}

[[number]]
number = "+7 495 000-00-02"
name = "ads"
landing_page = "shop.example/ads"
utm = {{ source = "yandex", medum = "cpc", foo = "x" }}
ring = {{ operators = ["alice", "alcie", "zed"] }}

[[number]]
number = "call-me"
ring = {{ group = "sales" }}

[[number]]
number = "+74950000003"
ring = {{ group = "sale" }}

[[number]]
number = "+74950000004"

[[number]]
number = "+74950000005"
ring = {{ group = "sales", operators = ["alice"] }}

[[number]]
number = "+74950000006"
ring = {{ operators = [] }}
"#
    );
    assert_errors(
        &text,
        &[
            "t.toml:13:10: error: duplicate number `74950000001`\n  hint: already used by the number named `+74950000001`",
            "t.toml:19:16: error: `landing_page` `shop.example/ads` is not an http(s) URL\n  hint: write the full address, e.g. \"https://shop.example/promo\"",
            "t.toml:20:28: warning: `medum` is not a standard UTM parameter\n  hint: did you mean `medium`?",
            "t.toml:20:43: warning: `foo` is not a standard UTM parameter\n  hint: the standard ones are source, medium, campaign, term, content",
            "t.toml:21:32: error: unknown operator `alcie`\n  hint: did you mean `alice`?",
            "t.toml:21:41: error: unknown operator `zed`\n  hint: defined operators: alice",
            "t.toml:24:10: error: `number` `call-me` is not a phone number\n  hint: write digits with an optional leading +, e.g. \"+74950000001\"",
            "t.toml:29:18: error: unknown group `sale`\n  hint: did you mean `sales`?",
            "t.toml:31:1: error: number `+74950000004` does nothing with its calls\n  hint: add what to do, e.g. ring = { group = \"sales\" } or menu = \"main\"",
            "t.toml:36:39: error: `ring` has both `group` and `operators`\n  hint: keep one: ring a group, or a list of operators",
            "t.toml:40:22: error: `operators` is empty: nobody would ring\n  hint: list operator usernames",
        ],
    );
}

#[test]
fn number_missing_key_and_bad_ring_shape() {
    assert_errors(
        &format!("{BASE}[[number]]\nname = \"x\"\nring = \"sales\"\n"),
        &[
            "t.toml:12:1: error: [[number]] is missing required key `number`",
            "t.toml:14:8: error: `ring` must be a table, found a string",
        ],
    );
}

#[test]
fn ring_operators_and_timeouts_compile() {
    let text = format!(
        r#"{BASE}[[operator]]
username = "bob"
password = "bob-secret-2"

[[number]]
number = "+7 (495) 000-00-09"
name = "direct"
ring = {{ operators = ["bob", "alice", "bob"], timeout = 15 }}

[server]
ring_timeout = 20
"#
    );
    let plan = load_str("t.toml", &text).expect("loads");
    let direct = plan
        .number("+74950000009")
        .expect("normalized number found");
    assert_eq!(direct.number, "+74950000009");
    let Action::Ring(ring) = &direct.action else {
        panic!("ring action");
    };
    assert_eq!(
        ring.target,
        RingTarget::Operators(vec!["bob".into(), "alice".into()])
    );
    assert_eq!(ring.timeout, Duration::from_secs(15));
    let names: Vec<&str> = plan
        .ring_operators(ring)
        .iter()
        .map(|o| o.username.as_str())
        .collect();
    assert_eq!(names, ["bob", "alice"]);

    // The base number has no timeout of its own: the server's applies.
    let promo = plan.number("+74950000001").expect("base number");
    assert_eq!(promo.name, "+74950000001", "name defaults to the number");
    let Action::Ring(ring) = &promo.action else {
        panic!("ring action");
    };
    assert_eq!(ring.timeout, Duration::from_secs(20));
    assert_eq!(
        plan.group("sales").map(|g| g.members.clone()),
        Some(vec!["alice".to_owned()])
    );
}

#[test]
fn unreadable_file_is_one_positionless_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing.toml");
    let diags = dialplan::load(&path).expect_err("no such file");
    assert_eq!(diags.len(), 1);
    assert_eq!((diags[0].line, diags[0].column), (0, 0));
    let printed = diags[0].to_string();
    assert!(
        printed.starts_with(&format!("{}: error: cannot read config:", path.display())),
        "{printed}"
    );
}

#[test]
fn load_reads_a_file_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.toml");
    std::fs::write(
        &path,
        BASE.replace("groups = [\"sales\"]", "groups = [\"sales\"]\nnmae = 1"),
    )
    .unwrap();
    let diags = dialplan::load(&path).expect_err("unknown key");
    assert_eq!(
        diags.iter().map(ToString::to_string).collect::<Vec<_>>(),
        [format!("{}:8:1: error: unknown key `nmae` in [[operator]]\n  hint: known keys here: can_call_out, display_name, groups, password, username", path.display())]
    );
}
