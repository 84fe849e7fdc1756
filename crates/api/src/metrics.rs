//! `/metrics` in the Prometheus text exposition format (version 0.0.4).

use std::fmt::Write as _;

use crate::state::{Live, ReloadStatus};

pub(crate) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Every disposition, so each counter line is there from the start (at 0): a series that appears
/// only after its first call confuses `rate()`.
const DISPOSITIONS: [store::Disposition; 5] = [
    store::Disposition::Answered,
    store::Disposition::Missed,
    store::Disposition::Abandoned,
    store::Disposition::Failed,
    store::Disposition::Busy,
];

pub(crate) fn render(live: &Live, reload: &ReloadStatus) -> String {
    let mut out = String::new();
    metric(
        &mut out,
        "switchboard_active_calls",
        "gauge",
        "Calls in progress.",
    );
    let _ = writeln!(out, "switchboard_active_calls {}", live.active_calls);
    metric(
        &mut out,
        "switchboard_registered_contacts",
        "gauge",
        "Operator softphone contacts registered now.",
    );
    let _ = writeln!(
        out,
        "switchboard_registered_contacts {}",
        live.registrations.len()
    );
    metric(
        &mut out,
        "switchboard_calls_total",
        "counter",
        "Calls finished since the switch started, by disposition.",
    );
    for d in DISPOSITIONS {
        let n = live.calls_finished.get(&d).copied().unwrap_or(0);
        let _ = writeln!(
            out,
            "switchboard_calls_total{{disposition=\"{}\"}} {n}",
            d.as_str()
        );
    }
    metric(
        &mut out,
        "switchboard_config_reloads_total",
        "counter",
        "Config reloads since the switch started, by result.",
    );
    let _ = writeln!(
        out,
        "switchboard_config_reloads_total{{result=\"ok\"}} {}",
        reload.succeeded
    );
    let _ = writeln!(
        out,
        "switchboard_config_reloads_total{{result=\"error\"}} {}",
        reload.failed
    );
    metric(
        &mut out,
        "switchboard_config_last_reload_ok",
        "gauge",
        "1 if the last config load or reload succeeded, 0 if the running plan is older than the files.",
    );
    let ok = !matches!(&reload.last, Some(l) if !l.ok);
    let _ = writeln!(out, "switchboard_config_last_reload_ok {}", u8::from(ok));
    metric(
        &mut out,
        "switchboard_start_time_seconds",
        "gauge",
        "When the switch started, Unix seconds.",
    );
    let _ = writeln!(
        out,
        "switchboard_start_time_seconds {}",
        live.started_at_unix_ms / 1000
    );
    out
}

fn metric(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}
