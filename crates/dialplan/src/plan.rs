//! The compiled, validated, immutable config the switch runs on.
//!
//! A `Plan` is built once per load (or reload) and then only read; the server shares it behind an
//! `Arc` and swaps in a new one atomically, so calls in progress keep the plan they started with.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::net::{Cidr, HostPort, PortRange};
use crate::plan_flow::{Hours, Menu, Prompt, Queue, VoicemailBox};
use crate::plan_webhook::Webhook;
use crate::Diagnostic;

/// `[server]`: sockets, media ports, directories and call timers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSettings {
    /// SIP over UDP and TCP, both on this address.
    pub sip_listen: SocketAddr,
    /// The address peers reach the switch on: SDP `c=`, Contact and Via.
    pub public_address: IpAddr,
    /// RTP ports; each leg takes an even port (RTP) and the odd one above it (RTCP).
    pub rtp_ports: PortRange,
    /// SQLite database and recordings. Relative paths are relative to the working directory.
    pub data_dir: PathBuf,
    pub prompts_dir: PathBuf,
    /// How long operators ring before the caller gets 480, unless a number's `ring` says otherwise.
    pub ring_timeout: Duration,
    /// No RTP from a leg for this long hangs the call up.
    pub media_timeout: Duration,
    /// Written into every call record, so records from several nodes can share one database.
    pub node_id: String,
    /// Record answered calls (stereo WAV under `data_dir`/recordings); a number's `record`
    /// overrides it.
    pub record_calls: bool,
    /// What both sides hear when a recording starts.
    pub recording_notice: RecordingNotice,
}

/// `[server] recording_notice`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RecordingNotice {
    None,
    /// A short 1 kHz beep.
    #[default]
    Beep,
    /// A prompt from `[prompts]`, by name.
    Prompt(String),
}

/// `[api]`: the HTTP API (health, metrics, call records, reload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiSettings {
    pub enabled: bool,
    /// Port 0 lets the system pick a free port (the server logs it).
    pub listen: SocketAddr,
    /// `listen` was not written: the default applies. The server then treats a taken port as
    /// "run without the API" instead of refusing to start.
    pub default_listen: bool,
}

/// `[registrar]`: how operators' softphones register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrarSettings {
    /// Digest realm in challenges.
    pub realm: String,
    /// Shorter requested expiry gets 423 Interval Too Brief with this Min-Expires.
    pub min_expires: u32,
    /// Longer requested expiry is cut down to this.
    pub max_expires: u32,
    /// Expiry granted when the REGISTER asks for none.
    pub default_expires: u32,
    /// OPTIONS keepalive period per registered contact; `None` disables keepalives.
    pub keepalive_interval: Option<Duration>,
    /// Unanswered keepalives in a row before a contact is marked unreachable.
    pub keepalive_max_missed: u32,
    /// How long a digest nonce stays valid.
    pub nonce_ttl: Duration,
    /// Algorithms offered in challenges, one challenge header each, in this order. Credentials
    /// in either algorithm are accepted whatever is offered.
    pub digest_algorithms: Vec<DigestAlgorithm>,
}

/// A digest algorithm the registrar can offer (RFC 8760).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestAlgorithm {
    Md5,
    Sha256,
}

impl DigestAlgorithm {
    /// The name as written in the config and in the `algorithm=` parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            DigestAlgorithm::Md5 => "MD5",
            DigestAlgorithm::Sha256 => "SHA-256",
        }
    }
}

/// `[[trunk]]`: a SIP provider connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trunk {
    pub name: String,
    /// INVITEs from these sources are accepted as coming from this trunk.
    pub addresses: Vec<Cidr>,
    /// Where outbound calls (and nothing else) are sent.
    pub proxy: Option<HostPort>,
    /// The store's number, sent as the caller on outbound calls.
    pub caller_id: Option<String>,
    /// Which external numbers may be dialled out through this trunk; `None`: inbound only.
    pub outbound: Option<OutboundRule>,
    /// Register to the provider, when it wants that.
    pub register: Option<TrunkRegistration>,
}

impl Trunk {
    /// Whether this trunk accepts INVITEs from `ip`.
    pub fn allows_source(&self, ip: IpAddr) -> bool {
        self.addresses.iter().any(|net| net.contains(ip))
    }
}

/// `[trunk.outbound]`: the shape of numbers allowed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRule {
    /// The number (after [`normalize_number`]) must start with one of these.
    pub prefixes: Vec<String>,
    /// Digit count bounds (the `+` is not a digit).
    pub min_digits: usize,
    pub max_digits: usize,
}

impl OutboundRule {
    /// `number` must already be normalized.
    pub fn matches(&self, number: &str) -> bool {
        let digits = number.trim_start_matches('+').len();
        (self.min_digits..=self.max_digits).contains(&digits)
            && self.prefixes.iter().any(|p| number.starts_with(p.as_str()))
    }
}

/// `[trunk.register]`: outbound registration to the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrunkRegistration {
    pub username: String,
    pub password: String,
    /// The provider's registrar; the trunk's proxy when not written.
    pub registrar: HostPort,
    pub expires: u32,
    /// Expected digest realm; `None` accepts whatever the provider challenges with.
    pub realm: Option<String>,
}

/// `[[operator]]`: a person answering calls from a softphone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    pub username: String,
    pub password: String,
    /// The username when not written.
    pub display_name: String,
    /// May dial external numbers through a trunk.
    pub can_call_out: bool,
    pub groups: Vec<String>,
}

/// `[[group]]`: operators rung together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub description: Option<String>,
    /// Usernames of the operators in the group, in config order.
    pub members: Vec<String>,
}

/// `[[number]]`: a virtual number and what a call to it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Number {
    /// As written in the config, normalized (see [`normalize_number`]).
    pub number: String,
    /// Display name, e.g. "promo"; the number itself when not written.
    pub name: String,
    pub landing_page: Option<String>,
    pub campaign: Option<String>,
    /// UTM parameters of the landing page, for call records and reports.
    pub utm: BTreeMap<String, String>,
    /// Prompt name the answering operator hears before the bridge.
    pub whisper: Option<String>,
    /// Display name format for the operator's softphone; `{caller}` is the caller's number and
    /// `{name}` the number's name.
    pub caller_id_tag: Option<String>,
    /// `record`: overrides `[server] record_calls` for calls to this number.
    pub record: Option<bool>,
    pub action: Action,
}

impl Number {
    /// The From display name an operator's softphone shows for a call from `caller`: the
    /// `caller_id_tag` filled in, or the caller alone.
    pub fn caller_display(&self, caller: &str) -> String {
        match &self.caller_id_tag {
            Some(tag) => tag
                .replace("{caller}", caller)
                .replace("{name}", &self.name),
            None => caller.to_owned(),
        }
    }
}

/// What a call does next: a number's action, a menu option, a fallback, a branch of hours.
///
/// Names (menus, queues, ...) were checked at load time, so [`Plan`]'s lookups find them.
/// Match with a wildcard arm so new variants do not break callers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Ring operators at once; the first to answer gets the call.
    Ring(Ring),
    /// Enter an IVR menu.
    Menu(String),
    /// Ring a queue's group with hold music (see [`Queue`]).
    Queue(String),
    /// Branch on business hours.
    Hours(String),
    /// Record a message in a voicemail box.
    Voicemail(String),
    /// Send the call to an external number (normalized).
    Transfer(String),
    /// Play a prompt (no barge-in), then go on.
    Play {
        prompt: String,
        then: Box<Action>,
    },
    Hangup,
    /// Answer and send the caller's own audio back until they hang up (echo test: an operator
    /// checks a headset and line; the benchmarks' pure media target).
    Echo,
    /// Return to the menu the caller came from (repeat the current one at the top).
    Back,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ring {
    pub target: RingTarget,
    /// The number's `ring.timeout`, else `[server] ring_timeout`.
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RingTarget {
    Group(String),
    Operators(Vec<String>),
}

/// The whole compiled config. Immutable; cheap lookups for the call path.
#[derive(Debug, Clone)]
pub struct Plan {
    pub(crate) file: String,
    pub(crate) server: ServerSettings,
    pub(crate) registrar: RegistrarSettings,
    pub(crate) api: ApiSettings,
    /// The files and included directories read, main file first: what a watcher must watch.
    pub(crate) sources: Vec<PathBuf>,
    pub(crate) trunks: Vec<Trunk>,
    pub(crate) operators: Vec<Operator>,
    pub(crate) operator_index: HashMap<String, usize>,
    pub(crate) groups: Vec<Group>,
    pub(crate) group_index: HashMap<String, usize>,
    pub(crate) numbers: Vec<Number>,
    /// Keyed by the number's digits without `+`, so "+7495..." and "7495..." both find it.
    pub(crate) number_index: HashMap<String, usize>,
    pub(crate) prompts: HashMap<String, Prompt>,
    pub(crate) menus: HashMap<String, Menu>,
    pub(crate) hours: HashMap<String, Hours>,
    pub(crate) voicemails: HashMap<String, VoicemailBox>,
    pub(crate) queues: HashMap<String, Queue>,
    pub(crate) webhooks: Vec<Webhook>,
    pub(crate) warnings: Vec<Diagnostic>,
}

impl Plan {
    /// The file name the plan was loaded from (as given to `load`/`load_str`).
    pub fn file(&self) -> &str {
        &self.file
    }

    pub fn server(&self) -> &ServerSettings {
        &self.server
    }

    pub fn registrar(&self) -> &RegistrarSettings {
        &self.registrar
    }

    pub fn api(&self) -> &ApiSettings {
        &self.api
    }

    /// What the config was read from: the main file (its name as given to `load`), each included
    /// file, and each included directory (a file added there changes the directory). For a
    /// reload watcher.
    pub fn sources(&self) -> &[PathBuf] {
        &self.sources
    }

    /// Warnings found while loading (weak passwords, empty groups, ...). The plan is usable.
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }

    pub fn trunks(&self) -> &[Trunk] {
        &self.trunks
    }

    pub fn trunk(&self, name: &str) -> Option<&Trunk> {
        self.trunks.iter().find(|t| t.name == name)
    }

    /// The trunk whose `addresses` include `ip` (the first in config order), or `None`: then an
    /// INVITE from `ip` is not from a trunk.
    pub fn trunk_for_source(&self, ip: IpAddr) -> Option<&Trunk> {
        self.trunks.iter().find(|t| t.allows_source(ip))
    }

    pub fn operators(&self) -> &[Operator] {
        &self.operators
    }

    /// Exact (case-sensitive) username, as digest authentication compares it.
    pub fn operator(&self, username: &str) -> Option<&Operator> {
        self.operator_index
            .get(username)
            .map(|&i| &self.operators[i])
    }

    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    pub fn group(&self, name: &str) -> Option<&Group> {
        self.group_index.get(name).map(|&i| &self.groups[i])
    }

    pub fn numbers(&self) -> &[Number] {
        &self.numbers
    }

    /// The virtual number a trunk delivered, by Request-URI user part. Visual separators are
    /// ignored and a leading `+` is optional, since trunks differ in how they send it.
    pub fn number(&self, user: &str) -> Option<&Number> {
        let normalized = normalize_number(user)?;
        self.number_index
            .get(normalized.trim_start_matches('+'))
            .map(|&i| &self.numbers[i])
    }

    /// Whether calls to `number` are recorded: its `record`, else `[server] record_calls`.
    pub fn records_calls_to(&self, number: &Number) -> bool {
        number.record.unwrap_or(self.server.record_calls)
    }

    pub fn prompt(&self, name: &str) -> Option<&Prompt> {
        self.prompts.get(name)
    }

    pub fn menu(&self, name: &str) -> Option<&Menu> {
        self.menus.get(name)
    }

    pub fn hours(&self, name: &str) -> Option<&Hours> {
        self.hours.get(name)
    }

    pub fn voicemail(&self, name: &str) -> Option<&VoicemailBox> {
        self.voicemails.get(name)
    }

    pub fn queue(&self, name: &str) -> Option<&Queue> {
        self.queues.get(name)
    }

    /// `[[webhook]]`s, in config order.
    pub fn webhooks(&self) -> &[Webhook] {
        &self.webhooks
    }

    /// The operators a ring action reaches, in config order. Every name was checked at load time.
    pub fn ring_operators(&self, ring: &Ring) -> Vec<&Operator> {
        match &ring.target {
            RingTarget::Group(g) => self
                .group(g)
                .map(|g| g.members.iter().filter_map(|u| self.operator(u)).collect())
                .unwrap_or_default(),
            RingTarget::Operators(names) => names.iter().filter_map(|u| self.operator(u)).collect(),
        }
    }

    /// The trunk an operator's call to `number` leaves through: the first trunk whose outbound
    /// rule matches. `None` for internal targets (operators, our own virtual numbers) and for
    /// numbers no trunk may carry.
    pub fn outbound_trunk(&self, number: &str) -> Option<&Trunk> {
        if self.operator(number).is_some() || self.number(number).is_some() {
            return None;
        }
        let normalized = normalize_number(number)?;
        self.trunks
            .iter()
            .find(|t| t.outbound.as_ref().is_some_and(|o| o.matches(&normalized)))
    }

    /// Whether `number` is a customer's number that may be dialled out through some trunk.
    pub fn is_external_number(&self, number: &str) -> bool {
        self.outbound_trunk(number).is_some()
    }
}

/// A phone number without visual separators: optional leading `+`, then digits only. Spaces,
/// dashes, dots and parentheses (RFC 3966 visual separators) are dropped. `None` if anything else
/// is in it or there are no digits.
pub fn normalize_number(s: &str) -> Option<String> {
    let s = s.trim();
    let (plus, rest) = match s.strip_prefix('+') {
        Some(rest) => ("+", rest),
        None => ("", s),
    };
    let mut out = String::with_capacity(s.len());
    out.push_str(plus);
    for c in rest.chars() {
        match c {
            '0'..='9' => out.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => return None,
        }
    }
    (out.len() > plus.len()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_numbers() {
        assert_eq!(
            normalize_number("+7 (495) 000-00-01").as_deref(),
            Some("+74950000001")
        );
        assert_eq!(
            normalize_number("84950000001").as_deref(),
            Some("84950000001")
        );
        assert_eq!(normalize_number("+"), None);
        assert_eq!(normalize_number("alice"), None);
        assert_eq!(normalize_number("12+3"), None);
    }

    #[test]
    fn outbound_rule_checks_prefix_and_length() {
        let rule = OutboundRule {
            prefixes: vec!["+7".into(), "8".into()],
            min_digits: 11,
            max_digits: 11,
        };
        assert!(rule.matches("+79161234567"));
        assert!(rule.matches("89161234567"));
        assert!(!rule.matches("+19161234567"));
        assert!(!rule.matches("+7916123456"));
        assert!(!rule.matches("+791612345678"));
    }
}
