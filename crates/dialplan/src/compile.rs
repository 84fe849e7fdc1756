//! Validates a [`Config`] and compiles it into a [`Plan`]: applies defaults, checks ranges and
//! cross-references (groups, operators, duplicate names and numbers), and flags risky settings.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::ops::{Range, RangeInclusive};
use std::path::PathBuf;
use std::time::Duration;

use serde_spanned::Spanned;

use crate::config::*;
use crate::diagnostic::Problems;
use crate::net::{PortRange, ANY_V4};
use crate::plan::*;
use crate::suggest::closest;

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

pub(crate) fn compile(config: Config, file: &str, p: &mut Problems) -> Option<Plan> {
    let server = compile_server(&config.server, p);
    let registrar = compile_registrar(&config.registrar, p);
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
    let lookup = Lookup {
        groups: &group_index,
        operators: &operator_index,
        default_ring_timeout: server.ring_timeout,
    };
    let (numbers, number_index) = compile_numbers(&config.numbers, &lookup, p);
    if p.has_errors() {
        return None;
    }
    Some(Plan {
        file: file.to_owned(),
        server,
        registrar,
        trunks,
        operators,
        operator_index,
        groups,
        group_index,
        numbers,
        number_index,
        warnings: Vec::new(),
    })
}

fn compile_server(s: &ServerSection, p: &mut Problems) -> ServerSettings {
    let sip_listen = s.sip_listen.as_ref().map_or(
        SocketAddr::new(IpAddr::V4(ANY_V4), defaults::SIP_PORT),
        |a| *a.get_ref(),
    );
    if let Some(a) = &s.sip_listen {
        if a.get_ref().port() == 0 {
            p.error_hint(
                a.span(),
                "`sip_listen` needs a port",
                "SIP's usual port is 5060",
            );
        }
    }
    let public_address = match &s.public_address {
        Some(a) if a.get_ref().is_unspecified() => {
            p.error_hint(
                a.span(),
                format!("`public_address` {} is not an address peers can reach", a.get_ref()),
                "write the IP address softphones and the trunk send to, e.g. 127.0.0.1 on one machine",
            );
            *a.get_ref()
        }
        Some(a) => *a.get_ref(),
        None => IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
    };
    let rtp_ports = match &s.rtp_ports {
        Some(r) => {
            let range = *r.get_ref();
            check_rtp_ports(range, r.span(), sip_listen, p);
            range
        }
        None => PortRange {
            first: defaults::RTP_FIRST,
            last: defaults::RTP_LAST,
        },
    };
    ServerSettings {
        sip_listen,
        public_address,
        rtp_ports,
        data_dir: dir(&s.data_dir, "data_dir", defaults::DATA_DIR, p),
        prompts_dir: dir(&s.prompts_dir, "prompts_dir", defaults::PROMPTS_DIR, p),
        ring_timeout: secs(ranged(
            &s.ring_timeout,
            "ring_timeout",
            RING_TIMEOUT_RANGE,
            defaults::RING_TIMEOUT,
            p,
        )),
        media_timeout: secs(ranged(
            &s.media_timeout,
            "media_timeout",
            MEDIA_TIMEOUT_RANGE,
            defaults::MEDIA_TIMEOUT,
            p,
        )),
        node_id: match &s.node_id {
            Some(id) => {
                if !is_name(id.get_ref()) {
                    name_error(id, "node_id", p);
                }
                id.get_ref().clone()
            }
            None => defaults::NODE_ID.to_owned(),
        },
    }
}

fn check_rtp_ports(range: PortRange, span: Range<usize>, sip: SocketAddr, p: &mut Problems) {
    if range.first > range.last {
        p.error_hint(
            span,
            format!("`rtp_ports` {range} is backwards"),
            format!(
                "write the lower port first: \"{}-{}\"",
                range.last, range.first
            ),
        );
    } else if range.first % 2 == 1 {
        p.error_hint(
            span,
            format!(
                "`rtp_ports` must start on an even port, not {}",
                range.first
            ),
            format!(
                "RTP uses even ports (RTCP the odd one above): try \"{}-{}\"",
                range.first + 1,
                range.last
            ),
        );
    } else if range.first < 1024 {
        p.error_hint(
            span,
            format!("`rtp_ports` starts at {}, a privileged port", range.first),
            "use ports from 1024 up, e.g. \"20000-29999\"",
        );
    } else if range.pairs() == 0 {
        p.error_hint(
            span,
            format!("`rtp_ports` {range} has no room for an RTP/RTCP port pair"),
            "each call leg needs two ports; a range like \"20000-29999\" serves 2500 calls",
        );
    } else if range.contains(sip.port()) {
        p.error_hint(
            span,
            format!("`rtp_ports` {range} includes the SIP port {}", sip.port()),
            "pick a range that leaves out `sip_listen`'s port",
        );
    }
}

fn compile_registrar(r: &RegistrarSection, p: &mut Problems) -> RegistrarSettings {
    let min = ranged(
        &r.min_expires,
        "min_expires",
        EXPIRES_RANGE,
        defaults::MIN_EXPIRES,
        p,
    );
    let max = ranged(
        &r.max_expires,
        "max_expires",
        EXPIRES_RANGE,
        defaults::MAX_EXPIRES,
        p,
    );
    if min > max {
        let span = r
            .max_expires
            .as_ref()
            .or(r.min_expires.as_ref())
            .map(Spanned::span)
            .unwrap_or_default();
        p.error_hint(
            span,
            format!("`max_expires` ({max}) is below `min_expires` ({min})"),
            "max_expires must be at least min_expires",
        );
    }
    let default = match &r.default_expires {
        Some(d) => {
            let v = *d.get_ref();
            if min <= max && !(min..=max).contains(&v) {
                p.error_hint(
                    d.span(),
                    format!(
                        "`default_expires` {v} is outside min_expires..max_expires ({min}..{max})"
                    ),
                    format!("pick a value from {min} to {max}"),
                );
            }
            v
        }
        // The default follows the bounds when they are set and 600 s would fall outside them.
        None => defaults::DEFAULT_EXPIRES.clamp(min, max.max(min)),
    };
    let keepalive = match &r.keepalive_interval {
        Some(k) if *k.get_ref() == 0 => None,
        _ => Some(secs(ranged(
            &r.keepalive_interval,
            "keepalive_interval",
            KEEPALIVE_RANGE,
            defaults::KEEPALIVE_INTERVAL,
            p,
        ))),
    };
    let realm = match &r.realm {
        Some(realm) => {
            let v = realm.get_ref();
            if v.is_empty() || v.contains(['"', '\\']) || v.chars().any(char::is_control) {
                p.error_hint(
                    realm.span(),
                    "`realm` must be non-empty and free of quotes, backslashes and control characters",
                    "it is sent inside a quoted digest parameter; a plain name like \"switchboard\" works",
                );
            }
            v.clone()
        }
        None => defaults::REALM.to_owned(),
    };
    RegistrarSettings {
        realm,
        min_expires: as_u32(min),
        max_expires: as_u32(max),
        default_expires: as_u32(default),
        keepalive_interval: keepalive,
        keepalive_max_missed: as_u32(ranged(
            &r.keepalive_max_missed,
            "keepalive_max_missed",
            MAX_MISSED_RANGE,
            defaults::KEEPALIVE_MAX_MISSED,
            p,
        )),
        nonce_ttl: secs(ranged(
            &r.nonce_ttl,
            "nonce_ttl",
            NONCE_TTL_RANGE,
            defaults::NONCE_TTL,
            p,
        )),
    }
}

fn compile_trunks(sections: &[TrunkSection], p: &mut Problems) -> Vec<Trunk> {
    let mut trunks: Vec<Trunk> = Vec::new();
    let mut seen_names: HashMap<String, ()> = HashMap::new();
    // Which trunk (its label) first listed each network, to flag repeats: the first trunk in file
    // order gets the calls.
    let mut seen_nets: Vec<(crate::Cidr, String)> = Vec::new();
    for (i, t) in sections.iter().enumerate() {
        let name = match &t.name {
            Some(n) => {
                if !is_name(n.get_ref()) {
                    name_error(n, "trunk name", p);
                } else if seen_names.insert(n.get_ref().clone(), ()).is_some() {
                    p.error_hint(
                        n.span(),
                        format!("duplicate trunk name `{}`", n.get_ref()),
                        "each [[trunk]] needs its own name",
                    );
                }
                n.get_ref().clone()
            }
            None => String::new(),
        };
        // How messages name the trunk; the position says which one when the name is missing.
        let label = match &t.name {
            Some(_) => format!("trunk `{name}`"),
            None => format!("trunk #{}", i + 1),
        };
        for net in &t.addresses {
            let cidr = *net.get_ref();
            if cidr.prefix() == 0 {
                p.warning_hint(
                    net.span(),
                    format!("{label} accepts INVITEs from any address ({cidr})"),
                    "list the provider's signalling addresses, so strangers cannot place calls as the trunk",
                );
            } else if cidr.has_host_bits() {
                p.warning_hint(
                    net.span(),
                    format!(
                        "`{cidr}` has host bits set beyond the /{} prefix",
                        cidr.prefix()
                    ),
                    "did you mean the network address? the host bits are ignored",
                );
            }
            if let Some((_, other)) = seen_nets.iter().find(|(n, _)| *n == cidr) {
                let message = if *other == label {
                    format!("address {cidr} is listed twice")
                } else {
                    format!("address {cidr} is also listed by {other}")
                };
                p.warning_hint(
                    net.span(),
                    message,
                    "the first trunk in the file that lists it gets its calls",
                );
            } else {
                seen_nets.push((cidr, label.clone()));
            }
        }
        if t.addresses.is_empty() && t.outbound.is_none() {
            p.error_hint(
                t.span.clone(),
                format!(
                    "{label} has no `addresses` and no [trunk.outbound]: it can carry no calls"
                ),
                "list the provider's IP addresses in `addresses`",
            );
        }
        let caller_id = t
            .caller_id
            .as_ref()
            .and_then(|c| number_value(c, "caller_id", p));
        let outbound = t.outbound.as_ref().map(|o| compile_outbound(o, p));
        if let Some(o) = &t.outbound {
            if t.proxy.is_none() {
                p.error_hint(
                    o.span.clone(),
                    format!("{label} sends calls out but has no `proxy`"),
                    "add `proxy = \"host:port\"`: where the provider takes outbound INVITEs",
                );
            }
            if t.caller_id.is_none() {
                p.error_hint(
                    o.span.clone(),
                    format!("{label} sends calls out but has no `caller_id`"),
                    "add `caller_id = \"+7...\"`: the store's number customers see",
                );
            }
        }
        let proxy = t.proxy.as_ref().map(|h| h.get_ref().clone());
        let register = t.register.as_ref().and_then(|r| {
            let registrar = match (&r.registrar, &proxy) {
                (Some(h), _) => h.get_ref().clone(),
                (None, Some(proxy)) => proxy.clone(),
                (None, None) => {
                    p.error_hint(
                        r.span.clone(),
                        "[trunk.register] has no `registrar` and the trunk has no `proxy` to use instead",
                        "add `registrar = \"host:port\"`",
                    );
                    return None;
                }
            };
            Some(TrunkRegistration {
                username: r.username.as_ref()?.get_ref().clone(),
                password: r.password.as_ref()?.get_ref().clone(),
                registrar,
                expires: as_u32(ranged(
                    &r.expires,
                    "expires",
                    TRUNK_EXPIRES_RANGE,
                    defaults::TRUNK_REGISTER_EXPIRES,
                    p,
                )),
                realm: r.realm.as_ref().map(|s| s.get_ref().clone()),
            })
        });
        trunks.push(Trunk {
            name,
            addresses: t.addresses.iter().map(|a| *a.get_ref()).collect(),
            proxy,
            caller_id,
            outbound,
            register,
        });
    }
    trunks
}

fn compile_outbound(o: &OutboundSection, p: &mut Problems) -> OutboundRule {
    let mut prefixes = Vec::new();
    for prefix in &o.prefixes {
        let v = prefix.get_ref();
        // An empty prefix would let every number out; "+" alone is fine (any E.164 number).
        let valid = v == "+" || normalize_number(v).is_some_and(|n| n == *v);
        if valid {
            prefixes.push(v.clone());
        } else {
            p.error_hint(
                prefix.span(),
                format!("outbound prefix `{v}` is not a number prefix"),
                "use digits with an optional leading +, e.g. \"+7\" or \"8\"",
            );
        }
    }
    if o.prefixes.is_empty() {
        p.error_hint(
            o.span.clone(),
            "[trunk.outbound] `prefixes` is empty: no number could go out",
            "list the starts of numbers allowed out, e.g. prefixes = [\"+7\", \"8\"]",
        );
    }
    let min = ranged(
        &o.min_digits,
        "min_digits",
        DIGITS_RANGE,
        defaults::OUTBOUND_MIN_DIGITS,
        p,
    );
    let max = ranged(
        &o.max_digits,
        "max_digits",
        DIGITS_RANGE,
        defaults::OUTBOUND_MAX_DIGITS,
        p,
    );
    if min > max {
        let span = o
            .max_digits
            .as_ref()
            .or(o.min_digits.as_ref())
            .map(Spanned::span)
            .unwrap_or_default();
        p.error_hint(
            span,
            format!("`max_digits` ({max}) is below `min_digits` ({min})"),
            "max_digits must be at least min_digits",
        );
    }
    OutboundRule {
        prefixes,
        min_digits: usize::try_from(min).unwrap_or(0),
        max_digits: usize::try_from(max).unwrap_or(0),
    }
}

/// The groups, the span of each one's `[[group]]` header, and a name index.
fn compile_groups(
    sections: &[GroupSection],
    p: &mut Problems,
) -> (Vec<Group>, Vec<Range<usize>>, HashMap<String, usize>) {
    let mut groups = Vec::new();
    let mut spans = Vec::new();
    let mut index = HashMap::new();
    for g in sections {
        let Some(name) = &g.name else { continue };
        if !is_name(name.get_ref()) {
            name_error(name, "group name", p);
            continue;
        } else if index.contains_key(name.get_ref()) {
            p.error_hint(
                name.span(),
                format!("duplicate group `{}`", name.get_ref()),
                "each [[group]] needs its own name",
            );
            continue;
        }
        index.insert(name.get_ref().clone(), groups.len());
        spans.push(g.span.clone());
        groups.push(Group {
            name: name.get_ref().clone(),
            description: g.description.as_ref().map(|d| d.get_ref().clone()),
            members: Vec::new(),
        });
    }
    (groups, spans, index)
}

fn compile_operators(
    sections: &[OperatorSection],
    groups: &[Group],
    p: &mut Problems,
) -> (Vec<Operator>, HashMap<String, usize>) {
    let mut operators = Vec::new();
    let mut index = HashMap::new();
    // Lower-cased usernames: "Alice" and "alice" are different to digest auth but the same to a
    // person reading a report, so they are not allowed together.
    let mut folded: HashMap<String, String> = HashMap::new();
    for o in sections {
        let (Some(username), Some(password)) = (&o.username, &o.password) else {
            continue;
        };
        let user = username.get_ref();
        if !is_sip_user(user) {
            p.error_hint(
                username.span(),
                format!("operator username `{user}` is not a valid SIP user name"),
                "use letters, digits, '.', '_', '-' or '~'; it is what the softphone registers as",
            );
            continue;
        }
        if let Some(first) = folded.get(&user.to_lowercase()) {
            let message = if first == user {
                format!("duplicate operator `{user}`")
            } else {
                format!("operator `{user}` differs from `{first}` only in letter case")
            };
            p.error_hint(
                username.span(),
                message,
                "each [[operator]] needs its own username",
            );
            continue;
        }
        folded.insert(user.to_lowercase(), user.clone());
        check_password(user, password, p);
        let mut op_groups = Vec::new();
        for g in &o.groups {
            if groups.iter().any(|known| known.name == *g.get_ref()) {
                if !op_groups.contains(g.get_ref()) {
                    op_groups.push(g.get_ref().clone());
                }
            } else {
                unknown_reference(g, "group", groups.iter().map(|g| g.name.as_str()), p);
            }
        }
        index.insert(user.clone(), operators.len());
        operators.push(Operator {
            username: user.clone(),
            password: password.get_ref().clone(),
            display_name: o
                .display_name
                .as_ref()
                .map_or_else(|| user.clone(), |d| d.get_ref().clone()),
            can_call_out: o.can_call_out.as_ref().is_some_and(|b| *b.get_ref()),
            groups: op_groups,
        });
    }
    (operators, index)
}

fn check_password(user: &str, password: &Spanned<String>, p: &mut Problems) {
    let pw = password.get_ref();
    if pw.is_empty() {
        p.error(
            password.span(),
            format!("operator `{user}` has an empty password"),
        );
        return;
    }
    let reason = if pw.eq_ignore_ascii_case(user) {
        Some("is the same as the username".to_owned())
    } else if pw.chars().all(|c| c.is_ascii_digit()) {
        Some("is only digits".to_owned())
    } else if pw.chars().count() < MIN_PASSWORD_LEN {
        Some(format!("is shorter than {MIN_PASSWORD_LEN} characters"))
    } else {
        None
    };
    if let Some(reason) = reason {
        p.warning_hint(
            password.span(),
            format!("operator `{user}`'s password {reason}"),
            "SIP scanners guess weak passwords within minutes; use 12+ characters mixing words and digits",
        );
    }
}

struct Lookup<'a> {
    groups: &'a HashMap<String, usize>,
    operators: &'a HashMap<String, usize>,
    default_ring_timeout: Duration,
}

fn compile_numbers(
    sections: &[NumberSection],
    lookup: &Lookup,
    p: &mut Problems,
) -> (Vec<Number>, HashMap<String, usize>) {
    let mut numbers = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for n in sections {
        let Some(written) = &n.number else { continue };
        let Some(number) = number_value(written, "number", p) else {
            continue;
        };
        let key = number.trim_start_matches('+').to_owned();
        if let Some(&first) = index.get(&key) {
            let first: &Number = &numbers[first];
            p.error_hint(
                written.span(),
                format!("duplicate number `{}`", written.get_ref()),
                format!("already used by the number named `{}`", first.name),
            );
            continue;
        }
        if let Some(url) = &n.landing_page {
            check_url(url, p);
        }
        let mut utm = BTreeMap::new();
        for (k, v) in &n.utm {
            if !UTM_KEYS.contains(&k.get_ref().as_str()) {
                let hint = match closest(k.get_ref(), UTM_KEYS) {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => format!("the standard ones are {}", UTM_KEYS.join(", ")),
                };
                p.warning_hint(
                    k.span(),
                    format!("`{}` is not a standard UTM parameter", k.get_ref()),
                    hint,
                );
            }
            utm.insert(k.get_ref().clone(), v.get_ref().clone());
        }
        let action = match n.actions.as_slice() {
            [] => {
                p.error_hint(
                    n.span.clone(),
                    format!("number `{}` does nothing with its calls", written.get_ref()),
                    "add what to do, e.g. ring = { group = \"sales\" }",
                );
                continue;
            }
            [action] => match compile_action(action, lookup, p) {
                Some(a) => a,
                None => continue,
            },
            // Unreachable while `ring` is the only action kind; kept so issue 4's kinds are checked.
            [_, second, ..] => {
                p.error_hint(
                    action_span(second),
                    format!("number `{}` has more than one action", written.get_ref()),
                    "keep one: a number does one thing with a call",
                );
                continue;
            }
        };
        index.insert(key, numbers.len());
        numbers.push(Number {
            name: n
                .name
                .as_ref()
                .map_or_else(|| number.clone(), |s| s.get_ref().clone()),
            number,
            landing_page: n.landing_page.as_ref().map(|s| s.get_ref().clone()),
            campaign: n.campaign.as_ref().map(|s| s.get_ref().clone()),
            utm,
            action,
        });
    }
    (numbers, index)
}

fn action_span(action: &ActionSection) -> Range<usize> {
    match action {
        ActionSection::Ring(r) => r.span.clone(),
    }
}

fn compile_action(action: &ActionSection, lookup: &Lookup, p: &mut Problems) -> Option<Action> {
    match action {
        ActionSection::Ring(r) => compile_ring(r, lookup, p).map(Action::Ring),
    }
}

fn compile_ring(r: &RingSection, lookup: &Lookup, p: &mut Problems) -> Option<Ring> {
    let timeout = match &r.timeout {
        Some(_) => secs(ranged(
            &r.timeout,
            "timeout",
            RING_TIMEOUT_RANGE,
            defaults::RING_TIMEOUT,
            p,
        )),
        None => lookup.default_ring_timeout,
    };
    let target = match (&r.group, &r.operators) {
        (Some(g), None) => {
            if !lookup.groups.contains_key(g.get_ref()) {
                unknown_reference(g, "group", lookup.groups.keys().map(String::as_str), p);
                return None;
            }
            RingTarget::Group(g.get_ref().clone())
        }
        (None, Some(list)) => {
            if list.get_ref().is_empty() {
                p.error_hint(
                    list.span(),
                    "`operators` is empty: nobody would ring",
                    "list operator usernames",
                );
                return None;
            }
            let mut names: Vec<String> = Vec::new();
            let mut ok = true;
            for u in list.get_ref() {
                if !lookup.operators.contains_key(u.get_ref()) {
                    unknown_reference(
                        u,
                        "operator",
                        lookup.operators.keys().map(String::as_str),
                        p,
                    );
                    ok = false;
                } else if !names.contains(u.get_ref()) {
                    names.push(u.get_ref().clone());
                }
            }
            if !ok {
                return None;
            }
            RingTarget::Operators(names)
        }
        (Some(_), Some(list)) => {
            p.error_hint(
                list.span(),
                "`ring` has both `group` and `operators`",
                "keep one: ring a group, or a list of operators",
            );
            return None;
        }
        (None, None) => {
            p.error_hint(
                r.span.clone(),
                "`ring` says nobody to ring",
                "add `group = \"sales\"` or `operators = [\"alice\"]`",
            );
            return None;
        }
    };
    Some(Ring { target, timeout })
}

fn check_url(url: &Spanned<String>, p: &mut Problems) {
    let v = url.get_ref();
    let rest = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or(""));
    if !host.is_some_and(|h| !h.is_empty() && !h.contains(char::is_whitespace))
        || v.contains(char::is_whitespace)
    {
        p.error_hint(
            url.span(),
            format!("`landing_page` `{v}` is not an http(s) URL"),
            "write the full address, e.g. \"https://shop.example/promo\"",
        );
    }
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
