//! Interop test harness for switchboard.
//!
//! Every peer is a real, independent program run on 127.0.0.1: the
//! `switchboard` binary itself ([`switch`]), SIPp as trunk customer, trunk
//! provider and attacker ([`sipp`]), baresip as an operator's softphone driven
//! over its `ctrl_tcp` module ([`baresip`], [`ctrl`]). [`audio`] makes the test
//! tones and checks what each side recorded; [`sipraw`] sends hand-written SIP
//! datagrams (OPTIONS pings, malformed messages).
//!
//! The harness is synchronous: processes and sockets from std, one reader
//! thread per control connection. Every wait has a deadline, every child is
//! killed on drop, and every child's log is printed when a test panics.

pub mod audio;
pub mod baresip;
pub mod ctrl;
pub mod paths;
pub mod ports;
pub mod process;
pub mod sipp;
pub mod sipraw;
pub mod siptrace;
pub mod switch;
pub mod testdir;

/// How long the harness waits for anything that should happen "promptly"
/// (a process to listen, a registration, a call to be established) before the
/// test fails. Generous: two cores are shared by several builds.
pub const PROMPT: std::time::Duration = std::time::Duration::from_secs(15);
