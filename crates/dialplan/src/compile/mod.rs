//! Validates a [`Config`] and compiles it into a [`Plan`]: applies defaults, checks ranges and
//! cross-references (groups, operators, duplicate names and numbers), and flags risky settings.

mod action;
mod boxes;
mod flows;
mod graph;
mod hours;
pub(crate) mod menu;
mod number;
mod people;
mod prompts;
mod server;
mod trunk;
mod webhook;

use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

use serde_spanned::Spanned;

use crate::config::Config;
use crate::diagnostic::Problems;
use crate::plan::{normalize_number, Plan};
use crate::suggest::closest;

use action::Lookup;
use flows::{compile_flows, names};
use number::compile_numbers;
use people::{compile_groups, compile_operators};
use prompts::compile_prompts;
use server::{check_recording_notice, compile_api, compile_registrar, compile_server};
use trunk::compile_trunks;
use webhook::compile_webhooks;

/// Defaults, also quoted by docs/config.md.
pub(crate) mod defaults {
    pub const SIP_PORT: u16 = 5060;
    pub const RTP_FIRST: u16 = 20000;
    pub const RTP_LAST: u16 = 29999;
    pub const DATA_DIR: &str = "var";
    pub const PROMPTS_DIR: &str = "prompts";
    pub const RING_TIMEOUT: i64 = 30;
    pub const MEDIA_TIMEOUT: i64 = 60;
    pub const NODE_ID: &str = "node1";
    pub const RECORD_CALLS: bool = true;
    pub const VOICEMAIL_SILENCE: i64 = 5;
    pub const API_LISTEN: &str = "127.0.0.1:8080";
    pub const REALM: &str = "switchboard";
    pub const MIN_EXPIRES: i64 = 60;
    pub const MAX_EXPIRES: i64 = 3600;
    pub const DEFAULT_EXPIRES: i64 = 600;
    pub const KEEPALIVE_INTERVAL: i64 = 30;
    pub const KEEPALIVE_MAX_MISSED: i64 = 2;
    pub const NONCE_TTL: i64 = 300;
    pub const TRUNK_REGISTER_EXPIRES: i64 = 3600;
    pub const OUTBOUND_MIN_DIGITS: i64 = 7;
    pub const OUTBOUND_MAX_DIGITS: i64 = 15;
    pub const WEBHOOK_TIMEOUT: i64 = 5;
}

/// Allowed ranges, in seconds unless said otherwise.
const RING_TIMEOUT_RANGE: RangeInclusive<i64> = 5..=300;
const MEDIA_TIMEOUT_RANGE: RangeInclusive<i64> = 5..=3600;
const EXPIRES_RANGE: RangeInclusive<i64> = 10..=86400;
const KEEPALIVE_RANGE: RangeInclusive<i64> = 5..=3600;
const MAX_MISSED_RANGE: RangeInclusive<i64> = 1..=100;
const NONCE_TTL_RANGE: RangeInclusive<i64> = 10..=86400;
const TRUNK_EXPIRES_RANGE: RangeInclusive<i64> = 60..=86400;
/// E.164 numbers have at most 15 digits.
const DIGITS_RANGE: RangeInclusive<i64> = 1..=15;
/// Shorter operator passwords are flagged as weak.
const MIN_PASSWORD_LEN: usize = 8;
const UTM_KEYS: [&str; 5] = ["source", "medium", "campaign", "term", "content"];

pub(crate) fn compile(
    config: Config,
    file: &str,
    ctx: &crate::load::Context,
    p: &mut Problems,
) -> Option<Plan> {
    let mut server = compile_server(&config.server, p);
    let registrar = compile_registrar(&config.registrar, p);
    let api = compile_api(&config.api, server.sip_listen, p);
    let trunks = compile_trunks(&config.trunks, p);
    let (groups, group_spans, group_index) = compile_groups(&config.groups, p);
    let (operators, operator_index) = compile_operators(&config.operators, &groups, p);
    let mut groups = groups;
    for op in &operators {
        for g in &op.groups {
            if let Some(&i) = group_index.get(g) {
                groups[i].members.push(op.username.clone());
            }
        }
    }
    for (group, span) in groups.iter().zip(group_spans) {
        if group.members.is_empty() {
            p.warning_hint(
                span,
                format!("group `{}` has no operators", group.name),
                "add the group to some operator's `groups`, or remove it",
            );
        }
    }
    let prompts = compile_prompts(&config.prompts, &server.prompts_dir, ctx.base_dir, p);
    let lookup = Lookup {
        groups: &group_index,
        operators: &operator_index,
        default_ring_timeout: server.ring_timeout,
        trunks: &trunks,
        prompts: &prompts,
        prompt_names: config
            .prompts
            .iter()
            .map(|(k, _)| k.get_ref().clone())
            .collect(),
        menus: names(config.menus.iter().map(|m| m.name.as_ref()), "menu", p),
        hours: names(config.hours.iter().map(|h| h.name.as_ref()), "hours", p),
        voicemails: names(
            config.voicemails.iter().map(|v| v.name.as_ref()),
            "voicemail",
            p,
        ),
        queues: names(config.queues.iter().map(|q| q.name.as_ref()), "queue", p),
    };
    server.recording_notice =
        check_recording_notice(&config.server, &prompts, &lookup.prompt_names, p);
    let flows = compile_flows(&config, &lookup, p);
    let (numbers, number_index) = compile_numbers(&config.numbers, &lookup, p);
    let webhooks = compile_webhooks(&config.webhooks, p);
    if p.has_errors() {
        return None;
    }
    Some(Plan {
        file: file.to_owned(),
        server,
        registrar,
        api,
        sources: Vec::new(),
        trunks,
        operators,
        operator_index,
        groups,
        group_index,
        numbers,
        number_index,
        prompts,
        menus: flows.menus,
        hours: flows.hours,
        voicemails: flows.voicemails,
        queues: flows.queues,
        webhooks,
        warnings: Vec::new(),
    })
}

fn unknown_reference<'a>(
    name: &Spanned<String>,
    what: &str,
    known: impl Iterator<Item = &'a str>,
    p: &mut Problems,
) {
    let known: Vec<&str> = known.collect();
    let hint = match closest(name.get_ref(), known.iter().copied()) {
        Some(near) => format!("did you mean `{near}`?"),
        None if known.is_empty() && what == "prompt" => {
            "no prompts are defined; add them to [prompts], e.g. welcome = \"welcome.wav\""
                .to_owned()
        }
        None if known.is_empty() => format!("no {what}s are defined; add a [[{what}]] section"),
        None => {
            let mut sorted = known.clone();
            sorted.sort_unstable();
            format!("defined {what}s: {}", sorted.join(", "))
        }
    };
    p.error_hint(
        name.span(),
        format!("unknown {what} `{}`", name.get_ref()),
        hint,
    );
}

/// A phone number value, normalized; reports and returns `None` when it is not one.
fn number_value(value: &Spanned<String>, key: &str, p: &mut Problems) -> Option<String> {
    match normalize_number(value.get_ref()) {
        Some(n) if n.trim_start_matches('+').len() <= 20 => Some(n),
        _ => {
            p.error_hint(
                value.span(),
                format!("`{key}` `{}` is not a phone number", value.get_ref()),
                "write digits with an optional leading +, e.g. \"+74950000001\"",
            );
            None
        }
    }
}

/// An integer setting within `range`, or its default. Out-of-range values are reported and the
/// default used, so compilation can go on to find further problems.
fn ranged(
    value: &Option<Spanned<i64>>,
    key: &str,
    range: RangeInclusive<i64>,
    default: i64,
    p: &mut Problems,
) -> i64 {
    match value {
        Some(v) if range.contains(v.get_ref()) => *v.get_ref(),
        Some(v) => {
            p.error_hint(
                v.span(),
                format!("`{key}` {} is out of range", v.get_ref()),
                format!("use a value from {} to {}", range.start(), range.end()),
            );
            default
        }
        None => default,
    }
}

fn dir(value: &Option<Spanned<String>>, key: &str, default: &str, p: &mut Problems) -> PathBuf {
    match value {
        Some(v) if v.get_ref().trim().is_empty() => {
            p.error_hint(
                v.span(),
                format!("`{key}` is empty"),
                format!("the default is \"{default}\""),
            );
            PathBuf::from(default)
        }
        Some(v) => PathBuf::from(v.get_ref()),
        None => PathBuf::from(default),
    }
}

/// Names of trunks, groups and nodes: safe in logs, metrics labels and file names.
fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

fn name_error(value: &Spanned<String>, what: &str, p: &mut Problems) {
    p.error_hint(
        value.span(),
        format!("{what} `{}` is not a valid name", value.get_ref()),
        "use 1 to 64 letters, digits, '_', '-' or '.'",
    );
}

/// RFC 3261 user part characters that need no escaping, minus the ones that confuse digest
/// usernames and URIs (`;`, `?`, `/`, `&`, ...).
fn is_sip_user(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'~'))
}

fn secs(v: i64) -> Duration {
    Duration::from_secs(u64::try_from(v).unwrap_or(0))
}

fn as_u32(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(0)
}
