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
    pub api: ApiSection,
    pub trunks: Vec<TrunkSection>,
    pub operators: Vec<OperatorSection>,
    pub groups: Vec<GroupSection>,
    pub numbers: Vec<NumberSection>,
    /// `[prompts]`: prompt name to file, relative to `prompts_dir`.
    pub prompts: Vec<(Spanned<String>, Spanned<String>)>,
    pub menus: Vec<MenuSection>,
    pub hours: Vec<HoursSection>,
    pub voicemails: Vec<VoicemailSection>,
    pub queues: Vec<QueueSection>,
    pub webhooks: Vec<WebhookSection>,
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
    pub record_calls: Option<Spanned<bool>>,
    /// "none", "beep" or a prompt name.
    pub recording_notice: Option<Spanned<String>>,
}

/// `[api]`: the HTTP API's socket.
#[derive(Debug, Default)]
pub(crate) struct ApiSection {
    pub enabled: Option<Spanned<bool>>,
    pub listen: Option<Spanned<SocketAddr>>,
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
    pub digest_algorithms: Option<Spanned<Vec<Spanned<String>>>>,
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
    /// Prompt the answering operator hears before the bridge.
    pub whisper: Option<Spanned<String>>,
    /// Display name format for the operator's softphone, e.g. "[promo] {caller}".
    pub caller_id_tag: Option<Spanned<String>>,
    /// Overrides `[server] record_calls` for this number.
    pub record: Option<Spanned<bool>>,
    /// What the number does. Exactly one action key must be present.
    pub actions: Vec<ActionSection>,
}

/// One action: a key of a `[[number]]`, or a whole action table (menu option, fallback, ...).
#[derive(Debug)]
pub(crate) struct ActionSection {
    /// The action's key (or its table, for nested actions), where problems with it point.
    pub span: Range<usize>,
    pub kind: ActionKind,
}

#[derive(Debug)]
pub(crate) enum ActionKind {
    Ring(RingSection),
    Menu(Spanned<String>),
    Queue(Spanned<String>),
    Hours(Spanned<String>),
    Voicemail(Spanned<String>),
    Transfer(Spanned<String>),
    /// Play a prompt, then do `then` (hang up when absent).
    Play {
        prompt: Spanned<String>,
        then: Option<Box<ActionSection>>,
    },
    Hangup,
    /// Answer and send the caller's audio back (echo test), until they hang up.
    Echo,
    /// Return to the previous menu.
    Back,
}

#[derive(Debug)]
pub(crate) struct MenuSection {
    pub span: Range<usize>,
    pub name: Option<Spanned<String>>,
    pub greeting: Option<Spanned<String>>,
    pub short_greeting: Option<Spanned<String>>,
    pub invalid_prompt: Option<Spanned<String>>,
    pub timeout_prompt: Option<Spanned<String>>,
    pub timeout: Option<Spanned<i64>>,
    pub digit_timeout: Option<Spanned<i64>>,
    pub max_digits: Option<Spanned<i64>>,
    pub terminator: Option<Spanned<String>>,
    pub retries: Option<Spanned<i64>>,
    /// Digits as written, and the action (`None`: it was malformed, already reported).
    pub options: Vec<(Spanned<String>, Option<ActionSection>)>,
    pub fallback: Option<ActionSection>,
    pub operator_key: Option<Spanned<String>>,
    pub operator: Option<ActionSection>,
}

#[derive(Debug)]
pub(crate) struct HoursSection {
    pub span: Range<usize>,
    pub name: Option<Spanned<String>>,
    pub timezone: Option<Spanned<String>>,
    /// Day keys (`mon`..`sun`, `weekdays`, `weekend`, `daily`) with their ranges as written.
    pub days: Vec<(Spanned<String>, Vec<Spanned<String>>)>,
    pub lunch: Vec<Spanned<String>>,
    pub holidays: Vec<Spanned<String>>,
    pub overrides: Vec<OverrideSection>,
    pub open: Option<ActionSection>,
    pub closed: Option<ActionSection>,
}

#[derive(Debug)]
pub(crate) struct OverrideSection {
    pub date: Option<Spanned<String>>,
    /// Ranges open that day; "closed" (or an empty list) closes it all day.
    pub hours: Vec<Spanned<String>>,
}

#[derive(Debug)]
pub(crate) struct VoicemailSection {
    pub name: Option<Spanned<String>>,
    pub greeting: Option<Spanned<String>>,
    pub beep: Option<Spanned<String>>,
    pub max_seconds: Option<Spanned<i64>>,
    pub silence_seconds: Option<Spanned<i64>>,
}

#[derive(Debug)]
pub(crate) struct QueueSection {
    pub name: Option<Spanned<String>>,
    pub group: Option<Spanned<String>>,
    pub hold_music: Option<Spanned<String>>,
    pub timeout: Option<Spanned<i64>>,
    pub fallback: Option<ActionSection>,
}

#[derive(Debug)]
pub(crate) struct RingSection {
    pub span: Range<usize>,
    pub group: Option<Spanned<String>>,
    pub operators: Option<Spanned<Vec<Spanned<String>>>>,
    pub timeout: Option<Spanned<i64>>,
}

/// `[[webhook]]`.
#[derive(Debug)]
pub(crate) struct WebhookSection {
    pub url: Option<Spanned<String>>,
    pub events: Option<Spanned<Vec<Spanned<String>>>>,
    pub secret: Option<Spanned<String>>,
    pub timeout: Option<Spanned<i64>>,
}
