//! baresip as an operator's softphone (or a customer's phone), driven over
//! `ctrl_tcp`.
//!
//! Each instance gets its own config directory: SIP on a free 127.0.0.1 port,
//! its own RTP range, G.711 only, audio from a generated tone WAV through
//! `aufile`, and what it hears recorded by the `sndfile` filter
//! (`<dir>/rec/dump-<time>-dec.wav`; `-enc.wav` holds what it sent). The
//! player is ALSA's `null` device: a player must exist for the receive path
//! to run, and `null` needs no sound card.
//!
//! `aufile` ends the source at the end of the file, so the tone is made
//! longer than any test call.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::audio::{self, Recording};
use crate::ctrl::{Ctrl, Event};
use crate::ports;
use crate::process::ChildGuard;
use crate::siptrace;
use crate::testdir::TestDir;
use crate::PROMPT;

/// How one baresip instance is set up.
#[derive(Debug, Clone)]
pub struct BaresipConfig {
    /// Name in logs and the temp dir.
    pub name: String,
    /// SIP user (the account's user part; the operator's username).
    pub user: String,
    /// Where the account lives: the switch (registrar) for an operator.
    /// `None`: a local account at baresip's own address, no registration.
    pub registrar: Option<SocketAddr>,
    /// Digest password (`auth_pass`).
    pub password: Option<String>,
    /// Answer incoming calls at once (`answermode=auto`).
    pub auto_answer: bool,
    /// The tone this phone plays into every call.
    pub tone_hz: f32,
    /// Length of the tone WAV; calls must be shorter (aufile stops at EOF).
    pub tone_seconds: f32,
    /// `audio_codecs` for the account, in preference order.
    pub codecs: String,
    /// Registration interval in seconds (baresip's `regint`).
    pub regint: u32,
    /// SIP transport to the registrar: `udp` (default) or `tcp`.
    pub transport: String,
}

impl BaresipConfig {
    /// An operator registering at `switch` with digest credentials and
    /// answering automatically.
    pub fn operator(user: &str, password: &str, switch: SocketAddr, tone_hz: f32) -> Self {
        BaresipConfig {
            name: format!("baresip-{user}"),
            user: user.to_owned(),
            registrar: Some(switch),
            password: Some(password.to_owned()),
            auto_answer: true,
            tone_hz,
            tone_seconds: 120.0,
            codecs: "PCMU,PCMA".to_owned(),
            regint: 600,
            transport: "udp".to_owned(),
        }
    }

    /// A phone with no registrar: it dials SIP URIs directly (a customer
    /// coming from the trunk address, or one end of a direct call).
    pub fn standalone(user: &str, tone_hz: f32) -> Self {
        BaresipConfig {
            name: format!("baresip-{user}"),
            user: user.to_owned(),
            registrar: None,
            password: None,
            auto_answer: true,
            tone_hz,
            tone_seconds: 120.0,
            codecs: "PCMU,PCMA".to_owned(),
            regint: 0,
            transport: "udp".to_owned(),
        }
    }
}

/// A running baresip. Field order is drop order: control connection, then
/// the process (SIGTERM, so the recordings are closed), then the files.
pub struct Baresip {
    pub ctrl: Ctrl,
    child: ChildGuard,
    pub sip_port: u16,
    pub config: BaresipConfig,
    rec_dir: PathBuf,
    dir: TestDir,
}

impl Baresip {
    /// Starts baresip on free ports. The ports are free when picked but
    /// another test may take one before baresip binds it (it then exits at
    /// once): such a start is retried on fresh ports, twice at most.
    pub fn start(config: BaresipConfig) -> Result<Baresip> {
        let mut attempt = 1;
        loop {
            match Baresip::start_once(config.clone()) {
                Err(e) if attempt < 3 && e.to_string().contains(EXITED_AT_START) => {
                    eprintln!("{}: {e}; retrying on fresh ports", config.name);
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    fn start_once(config: BaresipConfig) -> Result<Baresip> {
        let mut dir = TestDir::new(&config.name)?;
        let sip_port = ports::free_port_and_next()?;
        let ctrl_port = ports::free_tcp_port()?;
        let rtp = ports::free_udp_range(20)?;
        let rec_dir = dir.path().join("rec");
        std::fs::create_dir_all(&rec_dir)?;
        let tone = dir.path().join("tone.wav");
        audio::write_tone(&tone, config.tone_hz, config.tone_seconds, 8000, 0.5)?;
        let conf_dir = dir.path().join("conf");
        std::fs::create_dir_all(&conf_dir)?;
        std::fs::write(
            conf_dir.join("config"),
            config_file(sip_port, ctrl_port, &rtp, &tone, &rec_dir),
        )?;
        std::fs::write(
            conf_dir.join("accounts"),
            account_line(&config, sip_port) + "\n",
        )?;
        std::fs::write(conf_dir.join("contacts"), "")?;

        let mut cmd = Command::new("baresip");
        // -s: SIP trace in the log, for whoever reads a failing test.
        cmd.arg("-f").arg(&conf_dir).arg("-s");
        let log = dir.path().join("baresip.log");
        let mut child = ChildGuard::spawn(&config.name, cmd, &log)?;
        let ctrl = match connect_while_running(&mut child, ctrl_port) {
            Ok(c) => c,
            Err(e) => {
                child.print_log();
                dir.keep();
                return Err(e);
            }
        };
        Ok(Baresip {
            ctrl,
            child,
            sip_port,
            config,
            rec_dir,
            dir,
        })
    }

    /// Where baresip listens for SIP.
    pub fn sip_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.sip_port))
    }

    /// A URI that reaches this phone directly (no switch in between).
    pub fn direct_uri(&self) -> String {
        format!("sip:{}@127.0.0.1:{}", self.config.user, self.sip_port)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn log(&self) -> String {
        self.child.log()
    }

    pub fn print_log(&self) {
        self.child.print_log()
    }

    /// Places a call to `uri` (e.g. `sip:+74951234567@127.0.0.1:5080`).
    pub fn dial(&self, uri: &str) -> Result<()> {
        let r = self.ctrl.command("dial", uri, PROMPT)?;
        if !r.ok {
            bail!("baresip refused to dial {uri}: {}", r.data);
        }
        Ok(())
    }

    /// Answers the ringing call (for `auto_answer: false`).
    pub fn accept(&self) -> Result<()> {
        let r = self.ctrl.command("accept", "", PROMPT)?;
        if !r.ok {
            bail!("accept failed: {}", r.data);
        }
        Ok(())
    }

    /// Hangs up the current call (sends BYE, or CANCEL while ringing).
    pub fn hangup(&self) -> Result<()> {
        let r = self.ctrl.command("hangup", "", PROMPT)?;
        if !r.ok {
            bail!("hangup failed: {}", r.data);
        }
        Ok(())
    }

    /// baresip's registration summary text.
    pub fn reginfo(&self) -> Result<String> {
        Ok(self.ctrl.command("reginfo", "", PROMPT)?.data)
    }

    /// Waits for the first event of type `kind` (see [`Event::kind`]).
    pub fn wait_event(&self, kind: &str, timeout: Duration) -> Result<Event> {
        self.ctrl.wait_event(kind, timeout)
    }

    /// Waits until the account is registered; fails as soon as baresip
    /// reports the registration failed. baresip registers at startup, which
    /// can finish before the control connection is up and its events are
    /// lost, so this also polls `reginfo` (`OK` / `ERR` per account).
    #[allow(clippy::disallowed_methods)] // a driver: deadlines need the real clock
    pub fn wait_registered(&self, timeout: Duration) -> Result<()> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            for e in self.ctrl.events() {
                match e.kind.as_str() {
                    "REGISTER_OK" => return Ok(()),
                    "REGISTER_FAIL" => bail!("registration failed: {}", e.param),
                    _ => {}
                }
            }
            match registration_state(&self.reginfo()?) {
                Some(true) => return Ok(()),
                Some(false) => bail!("registration failed (reginfo says ERR)"),
                None => {}
            }
            if std::time::Instant::now() >= deadline {
                bail!(
                    "not registered within {timeout:?}; reginfo: {}",
                    self.reginfo().unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// SIP messages this phone received, from its SIP trace.
    pub fn sip_received(&self) -> Vec<siptrace::Traced> {
        let all = siptrace::parse(&self.log());
        let me = self.sip_addr().to_string();
        all.into_iter().filter(|m| m.to == me).collect()
    }

    /// How many SIP messages this phone received more than once
    /// (retransmissions by whoever talks to it).
    pub fn sip_repeats_received(&self) -> usize {
        let msgs = self.sip_received();
        siptrace::repeats(&msgs.iter().collect::<Vec<_>>())
    }

    /// Digits received as RFC 4733 events (CALL_DTMF_START), in order.
    pub fn dtmf_received(&self) -> String {
        self.ctrl
            .events_of("CALL_DTMF_START")
            .iter()
            .map(|e| e.param.as_str())
            .collect()
    }

    /// What this phone heard in its most recent call. Complete once the
    /// call has closed (CALL_CLOSED): the filter closes the file then.
    pub fn heard(&self) -> Result<Recording> {
        Recording::load(&self.newest_dump("-dec.wav")?)
    }

    /// What this phone sent in its most recent call.
    pub fn sent(&self) -> Result<Recording> {
        Recording::load(&self.newest_dump("-enc.wav")?)
    }

    fn newest_dump(&self, suffix: &str) -> Result<PathBuf> {
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&self.rec_dir)
            .with_context(|| format!("list {}", self.rec_dir.display()))?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(suffix))
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .collect();
        files.sort();
        match files.pop() {
            Some((_, p)) => Ok(p),
            None => bail!(
                "{} recorded nothing (no *{suffix} in {})",
                self.config.name,
                self.rec_dir.display()
            ),
        }
    }

    /// Asks baresip to quit and waits for it (then the drop is a no-op).
    pub fn quit(&mut self) {
        let _ = self.ctrl.command("quit", "", Duration::from_secs(2));
        self.child.wait_timeout(Duration::from_secs(3));
    }
}

const EXITED_AT_START: &str = "baresip exited at start";

/// Connects to ctrl_tcp, giving up early if baresip exits (bad config).
#[allow(clippy::disallowed_methods)] // a driver: deadlines need the real clock
fn connect_while_running(child: &mut ChildGuard, port: u16) -> Result<Ctrl> {
    let deadline = std::time::Instant::now() + PROMPT;
    loop {
        if let Some(status) = child.try_exited() {
            bail!("{EXITED_AT_START}: {status}");
        }
        match Ctrl::connect(port, Duration::from_millis(200)) {
            Ok(c) => return Ok(c),
            Err(e) if std::time::Instant::now() >= deadline => return Err(e),
            Err(_) => {}
        }
    }
}

/// From `reginfo` text: `Some(true)` registered (`OK`), `Some(false)`
/// failed (`ERR`), `None` still trying (`zzz`) or no account.
pub fn registration_state(reginfo: &str) -> Option<bool> {
    let plain = strip_ansi(reginfo);
    let words: Vec<&str> = plain.split_whitespace().collect();
    if words.contains(&"OK") {
        Some(true)
    } else if words.contains(&"ERR") {
        Some(false)
    } else {
        None
    }
}

/// Removes terminal colour sequences (`ESC [ ... m`).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn config_file(
    sip_port: u16,
    ctrl_port: u16,
    rtp: &std::ops::RangeInclusive<u16>,
    tone: &Path,
    rec_dir: &Path,
) -> String {
    format!(
        "\
# generated by switchboard-tests
poll_method\t\tepoll
# SDP and Contact on 127.0.0.1, not the machine's outward address
net_interface\t\t127.0.0.1
sip_listen\t\t127.0.0.1:{sip_port}
call_local_timeout\t120
call_max_calls\t\t4
audio_source\t\taufile,{tone}
audio_player\t\talsa,null
audio_alert\t\talsa,null
ausrc_srate\t\t8000
auplay_srate\t\t8000
ausrc_channels\t\t1
auplay_channels\t\t1
audio_level\t\tno
rtp_ports\t\t{rtp_start}-{rtp_end}
rtcp_mux\t\tno
jitter_buffer_delay\t1-10
rtp_stats\t\tno
module_path\t\t/usr/lib/baresip/modules
module\t\t\tg711.so
module\t\t\taufile.so
module\t\t\talsa.so
module\t\t\tsndfile.so
module_tmp\t\taccount.so
module_app\t\tmenu.so
module_app\t\tctrl_tcp.so
ctrl_tcp_listen\t\t127.0.0.1:{ctrl_port}
snd_path\t\t{rec}
",
        tone = tone.display(),
        rtp_start = rtp.start(),
        rtp_end = rtp.end(),
        rec = rec_dir.display(),
    )
}

/// The `accounts` line: `<sip:user@domain>;auth_pass=..;answermode=..;..`.
fn account_line(c: &BaresipConfig, own_port: u16) -> String {
    let domain = match c.registrar {
        Some(addr) => addr.to_string(),
        None => format!("127.0.0.1:{own_port}"),
    };
    let transport = match c.transport.as_str() {
        "" | "udp" => String::new(),
        t => format!(";transport={t}"),
    };
    let mut line = format!("<sip:{}@{}{}>", c.user, domain, transport);
    if let Some(p) = &c.password {
        line.push_str(&format!(";auth_pass={p}"));
    }
    line.push_str(if c.auto_answer {
        ";answermode=auto"
    } else {
        ";answermode=manual"
    });
    let regint = if c.registrar.is_some() { c.regint } else { 0 };
    line.push_str(&format!(";regint={regint}"));
    line.push_str(&format!(";audio_codecs={}", c.codecs));
    line.push_str(";ptime=20;mwi=no");
    line
}

#[cfg(test)]
mod tests {
    use super::registration_state;

    #[test]
    fn reads_registration_state_from_reginfo() {
        let ok = "\n--- User Agents (1) ---\n> sip:alice@127.0.0.1:26000  \u{1b}[32mOK \u{1b}[;m  Expires 600s\n";
        let err = "> sip:alice@127.0.0.1:26000  \u{1b}[31mERR\u{1b}[;m  Expires 0s";
        let trying = "> sip:alice@127.0.0.1:26000  \u{1b}[33mzzz\u{1b}[;m  Expires 0s";
        assert_eq!(registration_state(ok), Some(true));
        assert_eq!(registration_state(err), Some(false));
        assert_eq!(registration_state(trying), None);
    }
}
