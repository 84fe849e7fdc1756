//! switchboard's configuration: the TOML model, its validation, and the compiled [`Plan`].
//!
//! ```text
//! text --toml--> spanned tree --read--> Config (typed, positioned) --compile--> Plan (immutable)
//! ```
//!
//! Every stage collects problems instead of stopping at the first, so [`load`] reports every error
//! in a file at once, each as `file:line:column` with a hint. A TOML syntax error is the exception:
//! the parser cannot go on past it, so it is reported alone.
//!
//! Keys are documented in `docs/config.md`. Issue 4 grows the `[[number]]` actions (IVR, queues,
//! time conditions) through [`Action`]; the reading and compiling of each action kind lives in
//! `read.rs`/`compile.rs` next to `ring`.

mod compile;
mod config;
mod diagnostic;
mod error;
mod net;
mod node;
mod plan;
mod read;
mod reader;
mod suggest;

use std::path::Path;

pub use diagnostic::{Diagnostic, Severity};
pub use error::Error;
pub use net::{Cidr, HostPort, PortRange};
pub use plan::{
    normalize_number, Action, Group, Number, Operator, OutboundRule, Plan, RegistrarSettings, Ring,
    RingTarget, ServerSettings, Trunk, TrunkRegistration,
};

use diagnostic::Problems;

/// Loads and compiles the config file at `path`.
///
/// `Err` holds every problem found, errors and warnings, in file order; it holds at least one
/// error. On `Ok`, warnings are in [`Plan::warnings`]. Diagnostics name the file as `path` is
/// written.
pub fn load(path: impl AsRef<Path>) -> Result<Plan, Vec<Diagnostic>> {
    let path = path.as_ref();
    let file = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => load_str(&file, &text),
        Err(e) => Err(vec![Diagnostic {
            file,
            line: 0,
            column: 0,
            severity: Severity::Error,
            message: format!("cannot read config: {e}"),
            hint: None,
        }]),
    }
}

/// Compiles config `text`, naming it `file` in diagnostics. For the binary's embedded default
/// config, and for tests.
pub fn load_str(file: &str, text: &str) -> Result<Plan, Vec<Diagnostic>> {
    let mut problems = Problems::default();
    let root = match node::parse_document(text) {
        Ok(root) => root,
        Err((span, message)) => {
            let (message, hint) = syntax_message(&message);
            problems.push(span.unwrap_or(0..0), Severity::Error, message, hint);
            return Err(problems.into_diagnostics(file, text));
        }
    };
    let config = read::read_config(&root, &mut problems);
    let plan = compile::compile(config, file, &mut problems);
    let failed = problems.has_errors();
    let diagnostics = problems.into_diagnostics(file, text);
    match plan {
        Some(mut plan) if !failed => {
            plan.warnings = diagnostics;
            Ok(plan)
        }
        _ => Err(diagnostics),
    }
}

/// toml's messages are multi-line ("invalid string\nexpected ..."); the first line is the message,
/// the rest becomes the hint, so the output keeps the one-line `file:line:column: error:` shape.
fn syntax_message(raw: &str) -> (String, Option<String>) {
    if raw.contains(node::DATETIME_FIELD) {
        return (
            "dates and times are not used in switchboard config".to_owned(),
            Some("put the value in double quotes if it is meant as text".to_owned()),
        );
    }
    let mut lines = raw.lines().map(str::trim).filter(|l| !l.is_empty());
    let message = lines.next().unwrap_or("invalid TOML").to_owned();
    let rest: Vec<&str> = lines.collect();
    let hint = (!rest.is_empty()).then(|| rest.join("; "));
    (format!("TOML syntax: {message}"), hint)
}
