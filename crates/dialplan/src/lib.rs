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
//! Keys are documented in `docs/config.md`; call flows (menus, hours, voicemail, queues) in
//! `docs/dialplan.md`. [`flow::FlowRun`] walks a [`Plan`] for one call, sans-IO.

mod compile;
mod config;
mod diagnostic;
mod error;
pub mod flow;
mod load;
mod net;
mod node;
mod plan;
mod plan_flow;
mod plan_webhook;
mod read;
mod read_flow;
mod reader;
mod simulate;
mod source;
mod suggest;

use std::path::Path;

/// The time types in [`flow`] and [`Scenario`], for drivers that do not depend on chrono.
pub use chrono;
pub use diagnostic::{Diagnostic, Severity};
pub use error::Error;
pub use net::{Cidr, HostPort, PortRange};
pub use plan::{
    normalize_number, Action, ApiSettings, DigestAlgorithm, Group, Number, Operator, OutboundRule,
    Plan, RecordingNotice, RegistrarSettings, Ring, RingTarget, ServerSettings, Trunk,
    TrunkRegistration,
};
pub use plan_flow::{Hours, Menu, MinuteRange, Prompt, Queue, VoicemailBox};
pub use plan_webhook::{Webhook, WebhookEvent, WebhookUrl};
pub use simulate::{parse_entries, parse_wall_time, simulate, Scenario};

/// Loads and compiles the config file at `path`, with the files its `include` names.
///
/// `Err` holds every problem found, errors and warnings, in file order; it holds at least one
/// error. On `Ok`, warnings are in [`Plan::warnings`]. Diagnostics name each file as its path
/// was written (included files: joined to the main file's directory). Prompt files are looked
/// up relative to the working directory, where the server opens them.
pub fn load(path: impl AsRef<Path>) -> Result<Plan, Vec<Diagnostic>> {
    load_in(path, Path::new(""))
}

/// [`load`], with a relative `prompts_dir` looked up under `base_dir` instead of the working
/// directory (for tools and tests that run elsewhere).
pub fn load_in(path: impl AsRef<Path>, base_dir: &Path) -> Result<Plan, Vec<Diagnostic>> {
    let path = path.as_ref();
    let file = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => load::load_text(&file, text, base_dir),
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
/// config, and for tests. Includes and prompts are looked up as [`load`] does.
pub fn load_str(file: &str, text: &str) -> Result<Plan, Vec<Diagnostic>> {
    load::load_text(file, text.to_owned(), Path::new(""))
}
