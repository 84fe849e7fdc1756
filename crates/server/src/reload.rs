//! Config hot reload: on a file change (mtimes polled every second), on SIGHUP and on
//! `POST /api/reload`.
//!
//! One task owns reloading, so reloads never overlap. Each one reads, validates and compiles the
//! files on a blocking thread, off the signalling task; a good plan goes to the signalling task
//! over a channel and replaces the running one there in one step (`Core::set_plan`), so calls in
//! progress keep the plan they started with. A plan with errors goes nowhere: every diagnostic is
//! logged, the outcome is kept for the API, and the old plan keeps serving.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use api::{ReloadOutcome, ReloadStatus, ReloadTrigger};
use dialplan::{Diagnostic, Plan};
use tokio::sync::{mpsc, oneshot};

/// How often the config files' modification times are compared.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// A reload asked for through the API; the outcome goes back on the oneshot.
pub type ReloadRequest = oneshot::Sender<ReloadOutcome>;

/// The last outcome and the counters, shared with the API (locked only to copy or replace).
pub type SharedStatus = Arc<Mutex<ReloadStatus>>;

/// The reload task's state.
pub struct Reloader {
    /// The main config file; `None` when the switch runs the config embedded in the binary.
    path: Option<PathBuf>,
    /// The plan the signalling task runs (the last one sent).
    running: Arc<Plan>,
    plans: mpsc::UnboundedSender<Arc<Plan>>,
    status: SharedStatus,
    /// Files and directories watched, with what they looked like at the last reload.
    watched: Vec<PathBuf>,
    seen: Fingerprint,
}

impl Reloader {
    /// `running` is the plan the switch started with; new plans are sent on `plans`.
    pub fn new(
        path: Option<PathBuf>,
        running: Arc<Plan>,
        plans: mpsc::UnboundedSender<Arc<Plan>>,
        status: SharedStatus,
    ) -> Reloader {
        let watched = watch_list(path.as_deref(), running.sources(), &[]);
        let seen = fingerprint(&watched);
        let started = ReloadOutcome {
            at_unix_ms: unix_ms(),
            trigger: ReloadTrigger::Startup,
            file: running.file().to_owned(),
            ok: true,
            diagnostics: running.warnings().to_vec(),
            restart_needed: Vec::new(),
        };
        set_last(&status, started, false);
        Reloader {
            path,
            running,
            plans,
            status,
            watched,
            seen,
        }
    }

    /// Runs until every request sender is gone and the plan receiver closed.
    pub async fn run(mut self, mut requests: mpsc::Receiver<ReloadRequest>) {
        let mut hangup = hangup_signal();
        let mut tick = tokio::time::interval(POLL_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                request = requests.recv() => {
                    let Some(reply) = request else { break };
                    let outcome = self.reload(ReloadTrigger::Api).await;
                    let _ = reply.send(outcome);
                }
                Some(()) = recv_signal(&mut hangup) => {
                    tracing::info!("SIGHUP: reloading the config");
                    self.reload(ReloadTrigger::Signal).await;
                }
                _ = tick.tick() => {
                    if self.path.is_some() && fingerprint(&self.watched) != self.seen {
                        tracing::info!("config files changed: reloading");
                        self.reload(ReloadTrigger::FileChange).await;
                    }
                }
            }
            if self.plans.is_closed() {
                break;
            }
        }
    }

    /// Loads the config and, when it has no errors, hands it to the signalling task.
    pub async fn reload(&mut self, trigger: ReloadTrigger) -> ReloadOutcome {
        let Some(path) = self.path.clone() else {
            let outcome = ReloadOutcome {
                at_unix_ms: unix_ms(),
                trigger,
                file: self.running.file().to_owned(),
                ok: false,
                diagnostics: vec![Diagnostic {
                    file: self.running.file().to_owned(),
                    line: 0,
                    column: 0,
                    severity: dialplan::Severity::Error,
                    message: "the switch runs the config built into the binary; there is no file \
                              to reload"
                        .to_owned(),
                    hint: Some("start it with `switchboard run --config FILE`".to_owned()),
                }],
                restart_needed: Vec::new(),
            };
            set_last(&self.status, outcome.clone(), true);
            return outcome;
        };
        // Taken before reading, so an edit made while the files are read sets off another reload.
        let before = fingerprint(&self.watched);
        let load_path = path.clone();
        let loaded = tokio::task::spawn_blocking(move || dialplan::load(&load_path))
            .await
            .unwrap_or_else(|e| {
                Err(vec![Diagnostic {
                    file: path.display().to_string(),
                    line: 0,
                    column: 0,
                    severity: dialplan::Severity::Error,
                    message: format!("the config loader failed: {e}"),
                    hint: None,
                }])
            });
        let outcome = match loaded {
            Ok(plan) => {
                let plan = Arc::new(plan);
                let restart_needed = restart_needed(&self.running, &plan);
                for w in plan.warnings() {
                    tracing::warn!("{w}");
                }
                for r in &restart_needed {
                    tracing::warn!("config reload: {r} changed; it applies after a restart");
                }
                self.watched = watch_list(Some(&path), plan.sources(), &[]);
                // A closed channel means the switch is shutting down; nothing left to serve.
                let _ = self.plans.send(plan.clone());
                tracing::info!(
                    "config reloaded from {} ({}): {} numbers",
                    path.display(),
                    trigger.as_str(),
                    plan.numbers().len()
                );
                let outcome = ReloadOutcome {
                    at_unix_ms: unix_ms(),
                    trigger,
                    file: plan.file().to_owned(),
                    ok: true,
                    diagnostics: plan.warnings().to_vec(),
                    restart_needed,
                };
                self.running = plan;
                outcome
            }
            Err(diagnostics) => {
                let errors = diagnostics.iter().filter(|d| d.is_error()).count();
                for d in &diagnostics {
                    if d.is_error() {
                        tracing::error!("{d}");
                    } else {
                        tracing::warn!("{d}");
                    }
                }
                tracing::error!(
                    "config reload ({}) failed with {errors} error(s); the running config stays",
                    trigger.as_str()
                );
                // Also watch the files the broken config named, so fixing any of them retries.
                self.watched = watch_list(Some(&path), self.running.sources(), &diagnostics);
                ReloadOutcome {
                    at_unix_ms: unix_ms(),
                    trigger,
                    file: path.display().to_string(),
                    ok: false,
                    diagnostics,
                    restart_needed: Vec::new(),
                }
            }
        };
        self.seen = if self.watched_changed_since(&before) {
            fingerprint(&self.watched)
        } else {
            before
        };
        set_last(&self.status, outcome.clone(), true);
        outcome
    }

    /// Whether the watch list itself changed (then `before` does not describe it).
    fn watched_changed_since(&self, before: &Fingerprint) -> bool {
        before.len() != self.watched.len()
            || before
                .iter()
                .zip(&self.watched)
                .any(|((path, _), watched)| path != watched)
    }
}

/// Settings the switch reads only at start, as "what: old -> new" lines, when `new` changes them.
pub fn restart_needed(old: &Plan, new: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    let (a, b) = (old.server(), new.server());
    let mut check = |what: &str, old: String, new: String| {
        if old != new {
            out.push(format!("{what} ({old} -> {new})"));
        }
    };
    check(
        "[server] sip_listen",
        a.sip_listen.to_string(),
        b.sip_listen.to_string(),
    );
    check(
        "[server] public_address",
        a.public_address.to_string(),
        b.public_address.to_string(),
    );
    check(
        "[server] rtp_ports",
        a.rtp_ports.to_string(),
        b.rtp_ports.to_string(),
    );
    check(
        "[server] data_dir",
        a.data_dir.display().to_string(),
        b.data_dir.display().to_string(),
    );
    check(
        "[server] media_timeout",
        format!("{}s", a.media_timeout.as_secs()),
        format!("{}s", b.media_timeout.as_secs()),
    );
    let (ra, rb) = (old.registrar(), new.registrar());
    check(
        "[registrar] keepalive_interval",
        format!("{:?}", ra.keepalive_interval),
        format!("{:?}", rb.keepalive_interval),
    );
    check(
        "[registrar] keepalive_max_missed",
        ra.keepalive_max_missed.to_string(),
        rb.keepalive_max_missed.to_string(),
    );
    check(
        "[registrar] nonce_ttl",
        format!("{}s", ra.nonce_ttl.as_secs()),
        format!("{}s", rb.nonce_ttl.as_secs()),
    );
    let (pa, pb) = (old.api(), new.api());
    check("[api] listen", pa.listen.to_string(), pb.listen.to_string());
    check(
        "[api] enabled",
        pa.enabled.to_string(),
        pb.enabled.to_string(),
    );
    let registering = |p: &Plan| -> Vec<(String, Option<dialplan::TrunkRegistration>)> {
        p.trunks()
            .iter()
            .map(|t| (t.name.clone(), t.register.clone()))
            .filter(|(_, r)| r.is_some())
            .collect()
    };
    if registering(old) != registering(new) {
        out.push("[trunk.register] (registrations at providers)".to_owned());
    }
    out
}

/// What each watched path looked like: modification time and size, `None` if missing.
type Fingerprint = Vec<(PathBuf, Option<(SystemTime, u64)>)>;

fn fingerprint(paths: &[PathBuf]) -> Fingerprint {
    paths
        .iter()
        .map(|p| {
            let meta = std::fs::metadata(p)
                .ok()
                .and_then(|m| Some((m.modified().ok()?, m.len())));
            (p.clone(), meta)
        })
        .collect()
}

/// The main file, the plan's sources and the files diagnostics name, once each.
fn watch_list(
    main: Option<&Path>,
    sources: &[PathBuf],
    diagnostics: &[Diagnostic],
) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    let named = diagnostics.iter().map(|d| PathBuf::from(&d.file));
    for p in main
        .map(Path::to_path_buf)
        .into_iter()
        .chain(sources.iter().cloned())
        .chain(named)
    {
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

fn set_last(status: &SharedStatus, outcome: ReloadOutcome, count: bool) {
    let mut s = status
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if count {
        if outcome.ok {
            s.succeeded += 1;
        } else {
            s.failed += 1;
        }
    }
    s.last = Some(outcome);
}

/// A driver reads the wall clock: when a reload happened.
#[allow(clippy::disallowed_methods)]
fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(unix)]
type Hangup = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangup = Option<()>;

/// SIGHUP's stream. Registering it also stops SIGHUP from killing the process.
fn hangup_signal() -> Hangup {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::hangup()) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!("cannot listen for SIGHUP: {e}; reload by file change or the API");
                None
            }
        }
    }
    #[cfg(not(unix))]
    {
        None
    }
}

async fn recv_signal(hangup: &mut Hangup) -> Option<()> {
    #[cfg(unix)]
    {
        match hangup {
            Some(s) => s.recv().await,
            None => std::future::pending().await,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = hangup;
        std::future::pending().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "[server]\nsip_listen = \"127.0.0.1:5070\"\n\n[[group]]\nname = \"sales\"\n\n[[operator]]\nusername = \"alice\"\npassword = \"correct-horse-1\"\ngroups = [\"sales\"]\n\n[[number]]\nnumber = \"+74950000001\"\nring = { group = \"sales\" }\n";

    fn plan(text: &str) -> Arc<Plan> {
        Arc::new(dialplan::load_str("t.toml", text).expect("valid config"))
    }

    #[test]
    fn numbers_and_timers_reload_without_restart() {
        let old = plan(BASE);
        let new = plan(&format!(
            "{BASE}\n[[number]]\nnumber = \"+74950000002\"\nring = {{ group = \"sales\" }}\n"
        ));
        assert_eq!(restart_needed(&old, &new), Vec::<String>::new());
        let new = plan(&BASE.replace("[server]\n", "[server]\nring_timeout = 10\n"));
        assert_eq!(restart_needed(&old, &new), Vec::<String>::new());
    }

    #[test]
    fn sockets_and_directories_need_a_restart() {
        let old = plan(BASE);
        let new = plan(&BASE.replace(
            "sip_listen = \"127.0.0.1:5070\"\n",
            "sip_listen = \"127.0.0.1:5080\"\nrtp_ports = \"30000-30099\"\ndata_dir = \"elsewhere\"\n\n[api]\nlisten = \"127.0.0.1:9090\"\n",
        ));
        assert_eq!(
            restart_needed(&old, &new),
            [
                "[server] sip_listen (127.0.0.1:5070 -> 127.0.0.1:5080)",
                "[server] rtp_ports (20000-29999 -> 30000-30099)",
                "[server] data_dir (var -> elsewhere)",
                "[api] listen (127.0.0.1:8080 -> 127.0.0.1:9090)",
            ]
        );
    }

    #[tokio::test]
    async fn a_broken_file_keeps_the_running_plan_and_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("switchboard.toml");
        std::fs::write(&path, BASE).unwrap();
        let first = Arc::new(dialplan::load(&path).unwrap());
        let (tx, mut rx) = mpsc::unbounded_channel();
        let status = SharedStatus::default();
        let mut r = Reloader::new(Some(path.clone()), first, tx, status.clone());
        assert_eq!(
            status.lock().unwrap().last.as_ref().unwrap().trigger,
            ReloadTrigger::Startup
        );

        std::fs::write(
            &path,
            BASE.replace("group = \"sales\" }", "group = \"nobody\" }"),
        )
        .unwrap();
        let outcome = r.reload(ReloadTrigger::Api).await;
        assert!(!outcome.ok);
        let e = &outcome.diagnostics[0];
        assert_eq!((e.line, e.column), (14, 18), "{e}");
        assert!(rx.try_recv().is_err(), "a broken plan must not be sent");
        assert_eq!(status.lock().unwrap().failed, 1);

        std::fs::write(
            &path,
            format!(
                "{BASE}\n[[number]]\nnumber = \"+74950000002\"\nring = {{ group = \"sales\" }}\n"
            ),
        )
        .unwrap();
        let outcome = r.reload(ReloadTrigger::Signal).await;
        assert!(outcome.ok, "{:?}", outcome.diagnostics);
        let sent = rx.try_recv().expect("the good plan is sent");
        assert!(sent.number("+74950000002").is_some());
        let s = status.lock().unwrap();
        assert_eq!((s.succeeded, s.failed), (1, 1));
        assert_eq!(s.last.as_ref().unwrap().trigger, ReloadTrigger::Signal);
    }

    #[test]
    fn fingerprints_see_edits_and_new_files_in_included_directories() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("numbers")).unwrap();
        std::fs::write(d.join("main.toml"), "include = [\"numbers\"]\n").unwrap();
        std::fs::write(d.join("numbers/a.toml"), "").unwrap();
        let watched = watch_list(
            Some(&d.join("main.toml")),
            &[
                d.join("main.toml"),
                d.join("numbers"),
                d.join("numbers/a.toml"),
            ],
            &[],
        );
        assert_eq!(watched.len(), 3);
        let before = fingerprint(&watched);
        assert_eq!(before, fingerprint(&watched));
        std::fs::write(d.join("numbers/b.toml"), "").unwrap();
        let after_new = fingerprint(&watched);
        // A new file changes the directory's mtime (or at least, on coarse clocks, its size).
        assert_ne!(before, after_new, "a new file in an included directory");
        std::fs::write(d.join("numbers/a.toml"), "# edited\n").unwrap();
        assert_ne!(
            after_new,
            fingerprint(&watched),
            "an edit to an included file"
        );
    }
}
