//! SIPp runs: trunk customers, the trunk provider, registration checks.
//!
//! Each run gets its own directory for SIPp's trace files: the statistics CSV
//! (`-trace_stat`, dumped every second and at the end), unexpected messages
//! (`-trace_err`), every SIP message (`-trace_msg`) and `<log>` actions
//! (`-trace_logs`). A run has two timeouts: SIPp's own `-timeout` (which
//! makes it fail, with `-timeout_error`) and a harder one on the Rust side
//! that kills it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::Duration;

use anyhow::{bail, Result};

use crate::paths;
use crate::ports;
use crate::process::ChildGuard;
use crate::testdir::TestDir;

/// A SIPp invocation being set up.
#[derive(Debug, Clone)]
pub struct Sipp {
    scenario: PathBuf,
    remote: Option<SocketAddr>,
    calls: u32,
    rate: f32,
    service: Option<String>,
    auth: Option<(String, String)>,
    keys: Vec<(String, String)>,
    rtp_echo: bool,
    timeout: Duration,
    extra: Vec<String>,
}

impl Sipp {
    /// `scenario`: a file name in `tests/sipp/` or a path.
    pub fn new(scenario: &str) -> Sipp {
        let p = Path::new(scenario);
        let scenario = if p.components().count() > 1 {
            p.to_path_buf()
        } else {
            paths::scenario(scenario)
        };
        Sipp {
            scenario,
            remote: None,
            calls: 1,
            rate: 1.0,
            service: None,
            auth: None,
            keys: Vec::new(),
            rtp_echo: false,
            timeout: Duration::from_secs(30),
            extra: Vec::new(),
        }
    }

    /// Where requests go (UAC scenarios). UAS scenarios leave it unset.
    pub fn remote(mut self, addr: SocketAddr) -> Self {
        self.remote = Some(addr);
        self
    }

    /// `-m`: stop after this many calls.
    pub fn calls(mut self, n: u32) -> Self {
        self.calls = n;
        self
    }

    /// `-r`: new calls per second.
    pub fn rate(mut self, per_second: f32) -> Self {
        self.rate = per_second;
        self
    }

    /// `-s`: the user part of the Request-URI (`[service]`), e.g. the number.
    pub fn service(mut self, s: &str) -> Self {
        self.service = Some(s.to_owned());
        self
    }

    /// `-au`/`-ap`: digest credentials for `[authentication]`.
    pub fn auth(mut self, user: &str, password: &str) -> Self {
        self.auth = Some((user.to_owned(), password.to_owned()));
        self
    }

    /// `-key name value`: `[name]` in the scenario.
    pub fn key(mut self, name: &str, value: &str) -> Self {
        self.keys.push((name.to_owned(), value.to_owned()));
        self
    }

    /// `-rtp_echo`: send every RTP packet received on the media port back.
    pub fn rtp_echo(mut self) -> Self {
        self.rtp_echo = true;
        self
    }

    /// SIPp's global `-timeout` (the Rust side allows 15 s more).
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// Any other SIPp arguments.
    pub fn arg(mut self, a: &str) -> Self {
        self.extra.push(a.to_owned());
        self
    }

    /// Starts SIPp and returns at once (a UAS waiting for calls, or a UAC
    /// the test wants to watch).
    pub fn spawn(self) -> Result<SippProcess> {
        if !self.scenario.is_file() {
            bail!("no SIPp scenario at {}", self.scenario.display());
        }
        let name = self
            .scenario
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "sipp".to_owned());
        let dir = TestDir::new(&format!("sipp-{name}"))?;
        let sip_port = ports::free_port()?;
        // The media port, +1 (RTCP), +2 and +3 (SIPp's echo of a second stream).
        let media = ports::free_udp_range(4)?;
        let media_port = *media.start();
        let files = SippFiles::in_dir(dir.path());

        let mut cmd = Command::new("sipp");
        cmd.current_dir(dir.path());
        if let Some(r) = self.remote {
            cmd.arg(r.to_string());
        }
        cmd.arg("-sf").arg(&self.scenario);
        cmd.args(["-i", "127.0.0.1", "-mi", "127.0.0.1", "-bind_local"]);
        cmd.arg("-p").arg(sip_port.to_string());
        cmd.arg("-mp").arg(media_port.to_string());
        cmd.arg("-m").arg(self.calls.to_string());
        cmd.arg("-r").arg(self.rate.to_string());
        cmd.arg("-nostdin");
        cmd.arg("-timeout")
            .arg(format!("{}s", self.timeout.as_secs().max(1)))
            .arg("-timeout_error");
        cmd.args(["-trace_stat", "-fd", "1"])
            .arg("-stf")
            .arg(&files.stat);
        cmd.arg("-trace_err").arg("-error_file").arg(&files.errors);
        cmd.arg("-trace_msg")
            .arg("-message_file")
            .arg(&files.messages);
        cmd.arg("-trace_logs").arg("-log_file").arg(&files.logs);
        cmd.arg("-trace_screen")
            .arg("-screen_file")
            .arg(&files.screen);
        if let Some(s) = &self.service {
            cmd.arg("-s").arg(s);
        }
        if let Some((u, p)) = &self.auth {
            cmd.arg("-au").arg(u).arg("-ap").arg(p);
        }
        for (k, v) in &self.keys {
            cmd.arg("-key").arg(k).arg(v);
        }
        if self.rtp_echo {
            cmd.arg("-rtp_echo");
        }
        cmd.args(&self.extra);
        let child = ChildGuard::spawn(&format!("sipp {name}"), cmd, &dir.path().join("sipp.log"))?;
        Ok(SippProcess {
            child,
            sip_port,
            media_port,
            hard_timeout: self.timeout + Duration::from_secs(15),
            files,
            dir,
        })
    }

    /// Runs SIPp to the end and returns what happened.
    pub fn run(self) -> Result<SippOutcome> {
        let mut p = self.spawn()?;
        p.wait()
    }
}

#[derive(Debug, Clone)]
struct SippFiles {
    stat: PathBuf,
    errors: PathBuf,
    messages: PathBuf,
    logs: PathBuf,
    screen: PathBuf,
}

impl SippFiles {
    fn in_dir(d: &Path) -> SippFiles {
        SippFiles {
            stat: d.join("stat.csv"),
            errors: d.join("errors.log"),
            messages: d.join("messages.log"),
            logs: d.join("logs.log"),
            screen: d.join("screen.log"),
        }
    }
}

/// A SIPp process started by [`Sipp::spawn`]; killed on drop.
pub struct SippProcess {
    child: ChildGuard,
    /// SIPp's SIP port on 127.0.0.1.
    pub sip_port: u16,
    /// SIPp's media (RTP) port on 127.0.0.1.
    pub media_port: u16,
    hard_timeout: Duration,
    files: SippFiles,
    dir: TestDir,
}

impl SippProcess {
    pub fn sip_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.sip_port))
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Every SIP message sent and received so far.
    pub fn messages(&self) -> String {
        read_lossy(&self.files.messages)
    }

    /// Waits for SIPp to finish (killing it after SIPp's own timeout plus
    /// 15 s) and collects the outcome.
    pub fn wait(&mut self) -> Result<SippOutcome> {
        let status = match self.child.wait_timeout(self.hard_timeout) {
            Some(s) => Some(s),
            None => {
                self.child.stop();
                None
            }
        };
        Ok(self.outcome(status))
    }

    fn outcome(&self, status: Option<ExitStatus>) -> SippOutcome {
        let stat_text = read_lossy(&self.files.stat);
        let stats = last_stat_row(&stat_text);
        SippOutcome {
            exit_code: status.and_then(|s| s.code()),
            killed: status.is_none(),
            stats,
            errors: read_lossy(&self.files.errors),
            messages: read_lossy(&self.files.messages),
            logs: read_lossy(&self.files.logs),
            screen: read_lossy(&self.files.screen),
            output: self.child.log(),
        }
    }
}

/// What a SIPp run did.
#[derive(Debug, Clone)]
pub struct SippOutcome {
    /// SIPp's exit code: 0 every call succeeded, 1 some failed, 97 stopped by
    /// command, 99 no call processed, 255/254 fatal error.
    pub exit_code: Option<i32>,
    /// The harness had to kill it.
    pub killed: bool,
    /// The last row of the statistics CSV: column name to value.
    pub stats: HashMap<String, String>,
    pub errors: String,
    pub messages: String,
    /// Output of the scenario's `<log>` actions.
    pub logs: String,
    pub screen: String,
    /// SIPp's stdout/stderr.
    pub output: String,
}

impl SippOutcome {
    /// A cumulative counter from the statistics, e.g. `SuccessfulCall`,
    /// `FailedCall`, `Retransmissions` (the `(C)` column).
    pub fn counter(&self, name: &str) -> Option<u64> {
        self.stats
            .get(&format!("{name}(C)"))
            .and_then(|v| v.trim().parse().ok())
    }

    pub fn successful_calls(&self) -> u64 {
        self.counter("SuccessfulCall").unwrap_or(0)
    }

    pub fn failed_calls(&self) -> u64 {
        self.counter("FailedCall").unwrap_or(0)
    }

    pub fn retransmissions(&self) -> u64 {
        self.counter("Retransmissions").unwrap_or(0)
    }

    /// True when SIPp exited 0 and every call succeeded.
    pub fn all_succeeded(&self) -> bool {
        self.exit_code == Some(0) && self.failed_calls() == 0 && self.successful_calls() > 0
    }

    /// Everything useful for a failure message.
    pub fn report(&self) -> String {
        format!(
            "sipp exit {:?}{}; successful {}, failed {}, retransmissions {}\n\
             --- errors ---\n{}\n--- screen ---\n{}\n--- messages (tail) ---\n{}",
            self.exit_code,
            if self.killed {
                " (killed by harness)"
            } else {
                ""
            },
            self.successful_calls(),
            self.failed_calls(),
            self.retransmissions(),
            self.errors,
            self.screen,
            tail(&self.messages, 12_000),
        )
    }

    /// Panics with the report unless every call succeeded.
    #[track_caller]
    pub fn assert_success(&self) {
        assert!(self.all_succeeded(), "SIPp calls failed: {}", self.report());
    }
}

fn read_lossy(p: &Path) -> String {
    std::fs::read(p)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

fn tail(s: &str, max: usize) -> &str {
    let mut start = s.len().saturating_sub(max);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

/// SIPp's statistics CSV: a header row then one row per dump, `;`-separated.
pub fn last_stat_row(csv: &str) -> HashMap<String, String> {
    let mut lines = csv.lines().filter(|l| !l.trim().is_empty());
    let Some(header) = lines.next() else {
        return HashMap::new();
    };
    let Some(last) = lines.next_back() else {
        return HashMap::new();
    };
    header
        .split(';')
        .zip(last.split(';'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_counters_from_the_last_stat_row() {
        let csv =
            "StartTime;SuccessfulCall(P);SuccessfulCall(C);FailedCall(C);Retransmissions(C);\n\
                   a;0;0;0;0;\n\
                   b;1;3;1;2;\n";
        let o = SippOutcome {
            exit_code: Some(1),
            killed: false,
            stats: last_stat_row(csv),
            errors: String::new(),
            messages: String::new(),
            logs: String::new(),
            screen: String::new(),
            output: String::new(),
        };
        assert_eq!(o.successful_calls(), 3);
        assert_eq!(o.failed_calls(), 1);
        assert_eq!(o.retransmissions(), 2);
        assert!(!o.all_succeeded());
        assert!(last_stat_row("only;a;header\n").is_empty());
    }
}
