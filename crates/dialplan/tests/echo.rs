//! The echo-test action: how it is written (`echo = true`, or "echo" where an action may be a
//! word), what wrong spellings say, and what the flow asks of the driver.

mod common;

use std::sync::Arc;
use std::time::Instant;

use common::{assert_errors, BASE};
use dialplan::flow::{FlowAction, FlowEvent, FlowRun};
use dialplan::{load_str, parse_wall_time, simulate, Action, Plan, Scenario};

fn plan(text: &str) -> Arc<Plan> {
    plan_named("t.toml", text)
}

fn plan_named(file: &str, text: &str) -> Arc<Plan> {
    match load_str(file, text) {
        Ok(p) => {
            assert!(p.warnings().is_empty(), "{:?}", p.warnings());
            Arc::new(p)
        }
        Err(d) => panic!("{d:#?}"),
    }
}

const ECHO: &str = r#"
[[number]]
number = "+74950000009"
name = "echo test"
echo = true

[[number]]
number = "+74950000010"
menu = "tests"

[[menu]]
name = "tests"
options = { "1" = "echo", "2" = { echo = true }, "3" = "hangup" }
"#;

#[allow(clippy::disallowed_methods)] // a driver: only the origin of the simulated clock
fn t0() -> Instant {
    Instant::now()
}

#[test]
fn echo_compiles_as_a_key_and_as_a_word() {
    let plan = plan(&format!("{BASE}{ECHO}"));
    let number = plan.number("+74950000009").expect("echo number");
    assert_eq!(number.name, "echo test");
    assert_eq!(number.action, Action::Echo);
    let menu = plan.menu("tests").expect("menu");
    let actions: Vec<&Action> = menu.options.values().collect();
    assert_eq!(
        actions,
        [&Action::Echo, &Action::Echo, &Action::Hangup],
        "options 1, 2 and 3"
    );
}

#[test]
fn echo_number_answers_with_echo_and_the_flow_is_over() {
    let plan = plan(&format!("{BASE}{ECHO}"));
    let t = t0();
    let wall = parse_wall_time("2026-11-24T10:00:00+03:00").unwrap();
    let mut run = FlowRun::start(plan, "74950000009", "+79161234567", wall, t).unwrap();
    assert_eq!(run.poll_action(), Some(FlowAction::Echo));
    assert_eq!(run.poll_action(), None);
    assert!(
        run.is_finished(),
        "nothing more to do until the caller hangs up"
    );
    assert_eq!(run.poll_timeout(), None);
    // Keys during the echo test do nothing.
    run.handle_digit('1', t);
    assert_eq!(run.poll_action(), None);
    run.handle_hangup(t);
    assert_eq!(run.poll_action(), None);
}

#[test]
fn echo_from_a_menu_option() {
    let plan = plan(&format!("{BASE}{ECHO}"));
    let t = t0();
    let wall = parse_wall_time("2026-11-24T10:00:00+03:00").unwrap();
    let mut run = FlowRun::start(plan, "+74950000010", "+79161234567", wall, t).unwrap();
    while run.poll_action().is_some() {}
    run.handle_digit('1', t);
    let actions: Vec<FlowAction> = std::iter::from_fn(|| run.poll_action()).collect();
    assert_eq!(
        actions,
        [
            FlowAction::Emit(FlowEvent::OptionChosen {
                menu: "tests".into(),
                digits: "1".into()
            }),
            FlowAction::Echo
        ]
    );
    assert!(run.is_finished());
}

#[test]
fn simulate_says_the_caller_hears_themselves() {
    let plan = plan(&format!("{BASE}{ECHO}"));
    let scenario = Scenario {
        to: "+74950000009".into(),
        from: "+79161234567".into(),
        at: parse_wall_time("2026-11-24T10:00:00+03:00").unwrap(),
        entries: Default::default(),
        answer: true,
    };
    assert_eq!(
        simulate(plan, &scenario, t0()).unwrap(),
        [
            "call from +79161234567 to +74950000009 (echo test) at 2026-11-24T07:00:00+00:00",
            "[   0.0s] answer; the caller hears their own voice back (echo test)",
        ]
    );
}

#[test]
fn echo_mistakes_are_reported_at_their_place() {
    let text = format!(
        r#"{BASE}
[[number]]
number = "+74950000009"
echo = false

[[number]]
number = "+74950000011"
echo = true
hangup = true

[[number]]
number = "+74950000012"
echo = "yes"

[[number]]
number = "+74950000013"
menu = "m"

[[menu]]
name = "m"
options = {{ "1" = "ecco", "2" = {{ echo = true, menu = "m" }} }}
"#
    );
    assert_errors(
        &text,
        &[
            "t.toml:13:1: error: number `+74950000009` does nothing with its calls\n  hint: add what to do, e.g. ring = { group = \"sales\" } or menu = \"main\"",
            "t.toml:15:8: error: `echo = false` does nothing\n  hint: write `echo = true`, or remove it",
            "t.toml:19:8: error: number `+74950000011` has more than one action\n  hint: keep one: a number does one thing with a call",
            "t.toml:22:1: error: number `+74950000012` does nothing with its calls\n  hint: add what to do, e.g. ring = { group = \"sales\" } or menu = \"main\"",
            "t.toml:24:8: error: `echo` must be true or false, found a string\n  hint: write true or false without quotes",
            "t.toml:32:19: error: option `1` `ecco` is not an action\n  hint: write a table like { menu = \"orders\" }, or \"hangup\", \"echo\" or \"back\"",
            "t.toml:32:42: error: option `2` has more than one action\n  hint: keep one; to play a prompt first, use play = \"...\" with then = { ... }",
        ],
    );
}

#[test]
fn default_config_has_the_echo_test_number() {
    let text = include_str!("../../../config/switchboard.toml");
    let plan = plan_named("config/switchboard.toml", text);
    let number = plan.number("+74950000009").expect("echo test number");
    assert_eq!(number.name, "echo test");
    assert_eq!(number.action, Action::Echo);
}
