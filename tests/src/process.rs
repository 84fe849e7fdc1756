//! A child process owned by a test: its output goes to a log file, it is
//! stopped when dropped, and its log is printed if the test is failing.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{Context, Result};

/// How much of a log to print on failure (the end is what matters).
const LOG_TAIL_BYTES: usize = 64 * 1024;

pub struct ChildGuard {
    name: String,
    child: Child,
    log: PathBuf,
    /// Time allowed between SIGTERM and SIGKILL on drop.
    grace: Duration,
    exited: Option<ExitStatus>,
}

impl ChildGuard {
    /// Spawns `cmd` with stdin closed and stdout+stderr appended to `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> Result<ChildGuard> {
        let out = File::create(log).with_context(|| format!("create {}", log.display()))?;
        let err = out.try_clone()?;
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = cmd
            .spawn()
            .with_context(|| format!("start {name}: {cmd:?}"))?;
        Ok(ChildGuard {
            name: name.to_owned(),
            child,
            log: log.to_path_buf(),
            grace: Duration::from_secs(3),
            exited: None,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The whole log so far (lossy UTF-8).
    pub fn log(&self) -> String {
        std::fs::read(&self.log)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// `Some(status)` once the process has exited.
    pub fn try_exited(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().ok().flatten();
        }
        self.exited
    }

    /// Waits up to `timeout` for the process to exit by itself.
    #[allow(clippy::disallowed_methods)] // a driver: deadlines need the real clock
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_exited() {
                return Some(status);
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM (so the program can flush files and say goodbye), then
    /// SIGKILL after the grace period. std has no portable SIGTERM and the
    /// workspace forbids `unsafe`, so this goes through kill(1).
    pub fn stop(&mut self) -> Option<ExitStatus> {
        if let Some(status) = self.try_exited() {
            return Some(status);
        }
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if let Some(status) = self.wait_timeout(self.grace) {
            return Some(status);
        }
        let _ = self.child.kill();
        self.exited = self.child.wait().ok();
        self.exited
    }

    /// Prints the tail of the log to stderr under a header naming the process.
    pub fn print_log(&self) {
        let text = self.log();
        let start = text.len().saturating_sub(LOG_TAIL_BYTES);
        let start = (start..text.len())
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(text.len());
        eprintln!(
            "===== {} log ({}){} =====\n{}\n===== end of {} log =====",
            self.name,
            self.log.display(),
            if start > 0 { ", tail" } else { "" },
            &text[start..],
            self.name
        );
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            self.print_log();
        }
    }
}
