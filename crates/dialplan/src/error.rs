//! The crate's error type.
//!
//! Loading a config reports problems as [`Diagnostic`](crate::Diagnostic)s (there can be many, each
//! with a position). This enum is for the value parsers that other crates call directly too, like
//! `"10.0.0.0/8".parse::<Cidr>()`; their messages become diagnostic messages while loading.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    #[error("`{0}` is not an IP address or CIDR block (like 203.0.113.7 or 203.0.113.0/24)")]
    BadCidr(String),
    #[error("prefix length /{prefix} is too long for {family} (at most /{max})")]
    CidrPrefixTooLong {
        prefix: u8,
        family: &'static str,
        max: u8,
    },
    #[error("`{0}` is not host:port (like 198.51.100.10:5060 or sip.provider.example:5060)")]
    BadHostPort(String),
    #[error("`{0}` is not a port range (like \"20000-29999\")")]
    BadPortRange(String),
    #[error("`{0}` is not an IP address")]
    BadIp(String),
    #[error("`{0}` is not an address and port (like 0.0.0.0:5060)")]
    BadSocketAddr(String),
    #[error("no [[number]] `{0}` in the plan")]
    UnknownNumber(String),
    #[error("`{0}` is not an http:// URL (like http://127.0.0.1:8081/hooks)")]
    BadWebhookUrl(String),
    #[error("`{0}`: https webhooks are not supported (the switch has no TLS client)")]
    WebhookHttps(String),
    #[error("`{0}` is not a time with an offset (like 2026-11-24T10:00:00+03:00)")]
    BadWallTime(String),
}
