//! switchboard's server: the transports, the signalling core (`switch`), the
//! media engine and the driver that ties them to tokio. The binary in
//! `main.rs` is only the command line; tests drive `switch::Core` directly on
//! a simulated clock.

pub mod cli;
mod driver;
pub mod live;
pub mod media;
pub mod reload;
pub mod rtp;
pub mod switch;
mod table;
pub mod thread_cache;
pub mod transport;
pub mod webhook;

/// Sent in User-Agent on requests the switch originates.
pub const USER_AGENT: &str = concat!("switchboard/", env!("CARGO_PKG_VERSION"));
