//! Helpers shared by the diagnostics tests.
#![allow(dead_code)] // each test file uses a different subset

use dialplan::{load_str, Severity};

/// A small valid config; tests append to it or swap parts of it.
pub const BASE: &str = r#"[[group]]
name = "sales"

[[operator]]
username = "alice"
password = "correct-horse-1"
groups = ["sales"]

[[number]]
number = "+74950000001"
ring = { group = "sales" }
"#;

/// Every diagnostic as printed, errors and warnings, whether or not the config loaded.
pub fn diags(text: &str) -> Vec<String> {
    match load_str("t.toml", text) {
        Ok(plan) => plan.warnings().iter().map(ToString::to_string).collect(),
        Err(list) => list.iter().map(ToString::to_string).collect(),
    }
}

/// Asserts the config fails and yields exactly `expected`.
pub fn assert_errors(text: &str, expected: &[&str]) {
    let result = load_str("t.toml", text);
    assert!(result.is_err(), "config should fail:\n{text}");
    assert_eq!(diags(text), expected, "config:\n{text}");
}

/// Asserts the config loads and yields exactly the warnings `expected`.
pub fn assert_warnings(text: &str, expected: &[&str]) {
    match load_str("t.toml", text) {
        Ok(plan) => {
            assert!(plan
                .warnings()
                .iter()
                .all(|d| d.severity == Severity::Warning));
            assert_eq!(diags(text), expected, "config:\n{text}");
        }
        Err(list) => panic!("config should load: {list:#?}"),
    }
}
