//! The config as written: every section and key typed, each value keeping its position, defaults
//! not yet applied and cross-references not yet checked. [`crate::compile`] turns it into a
//! [`crate::Plan`].

use std::net::{IpAddr, SocketAddr};
use std::ops::Range;

use serde_spanned::Spanned;

use crate::net::{Cidr, HostPort, PortRange};

/// Values are `None` when the key is absent or its value was wrong (already reported).
#[derive(Debug, Default)]
pub(crate) struct Config {
    pub server: ServerSection,
    pub registrar: RegistrarSection,
    pub trunks: Vec<TrunkSection>,
    pub operators: Vec<OperatorSection>,
    pub groups: Vec<GroupSection>,
    pub numbers: Vec<NumberSection>,
}

#[derive(Debug, Default)]
pub(crate) struct ServerSection {
    pub sip_listen: Option<Spanned<SocketAddr>>,
    pub public_address: Option<Spanned<IpAddr>>,
    pub rtp_ports: Option<Spanned<PortRange>>,
    pub data_dir: Option<Spanned<String>>,
    pub prompts_dir: Option<Spanned<String>>,
    pub ring_timeout: Option<Spanned<i64>>,
    pub media_timeout: Option<Spanned<i64>>,
    pub node_id: Option<Spanned<String>>,
}

#[derive(Debug, Default)]
pub(crate) struct RegistrarSection {
    pub realm: Option<Spanned<String>>,
    pub min_expires: Option<Spanned<i64>>,
    pub max_expires: Option<Spanned<i64>>,
    pub default_expires: Option<Spanned<i64>>,
    pub keepalive_interval: Option<Spanned<i64>>,
    pub keepalive_max_missed: Option<Spanned<i64>>,
    pub nonce_ttl: Option<Spanned<i64>>,
}

#[derive(Debug)]
pub(crate) struct TrunkSection {
    /// The `[[trunk]]` header, where "missing key" problems point.
    pub span: Range<usize>,
    pub name: Option<Spanned<String>>,
    pub addresses: Vec<Spanned<Cidr>>,
    pub proxy: Option<Spanned<HostPort>>,
    pub caller_id: Option<Spanned<String>>,
    pub outbound: Option<OutboundSection>,
    pub register: Option<TrunkRegisterSection>,
}

#[derive(Debug)]
pub(crate) struct OutboundSection {
    pub span: Range<usize>,
    pub prefixes: Vec<Spanned<String>>,
    pub min_digits: Option<Spanned<i64>>,
    pub max_digits: Option<Spanned<i64>>,
}

#[derive(Debug)]
pub(crate) struct TrunkRegisterSection {
    pub span: Range<usize>,
    pub username: Option<Spanned<String>>,
    pub password: Option<Spanned<String>>,
    pub registrar: Option<Spanned<HostPort>>,
    pub expires: Option<Spanned<i64>>,
    pub realm: Option<Spanned<String>>,
}

#[derive(Debug)]
pub(crate) struct OperatorSection {
    pub username: Option<Spanned<String>>,
    pub password: Option<Spanned<String>>,
    pub display_name: Option<Spanned<String>>,
    pub can_call_out: Option<Spanned<bool>>,
    pub groups: Vec<Spanned<String>>,
}

#[derive(Debug)]
pub(crate) struct GroupSection {
    pub span: Range<usize>,
    pub name: Option<Spanned<String>>,
    pub description: Option<Spanned<String>>,
}

#[derive(Debug)]
pub(crate) struct NumberSection {
    pub span: Range<usize>,
    pub number: Option<Spanned<String>>,
    pub name: Option<Spanned<String>>,
    pub landing_page: Option<Spanned<String>>,
    pub campaign: Option<Spanned<String>>,
    pub utm: Vec<(Spanned<String>, Spanned<String>)>,
    /// What the number does. Exactly one action key must be present; issue 4 adds more kinds.
    pub actions: Vec<ActionSection>,
}

/// One action key of a `[[number]]`.
#[derive(Debug)]
pub(crate) enum ActionSection {
    Ring(RingSection),
}

#[derive(Debug)]
pub(crate) struct RingSection {
    pub span: Range<usize>,
    pub group: Option<Spanned<String>>,
    pub operators: Option<Spanned<Vec<Spanned<String>>>>,
    pub timeout: Option<Spanned<i64>>,
}
