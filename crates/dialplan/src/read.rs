//! Reads the spanned TOML tree into [`Config`]: checks every key's type, parses addresses and
//! ranges, and reports unknown keys. Defaults and cross-references are [`crate::compile`]'s job.

use std::str::FromStr;

use serde_spanned::Spanned;

use crate::config::*;
use crate::diagnostic::Problems;
use crate::node::Node;
use crate::read_flow;
use crate::reader::TableReader;

pub(crate) fn read_config(root: &Spanned<Node>, problems: &mut Problems) -> Config {
    let mut config = Config::default();
    let Some(mut top) = TableReader::new(root, "the top level".into(), problems) else {
        return config;
    };
    if let Some(mut t) = top.table("server", "[server]".into(), problems) {
        config.server = read_server(&mut t, problems);
        t.finish(problems);
    }
    if let Some(mut t) = top.table("registrar", "[registrar]".into(), problems) {
        config.registrar = read_registrar(&mut t, problems);
        t.finish(problems);
    }
    if let Some(mut t) = top.table("api", "[api]".into(), problems) {
        config.api = ApiSection {
            enabled: t.boolean("enabled", problems),
            listen: parsed(t.string("listen", problems), problems, |s| {
                std::net::SocketAddr::from_str(s)
                    .map_err(|_| crate::Error::BadSocketAddr(s.to_owned()).to_string())
            }),
        };
        t.finish(problems);
    }
    for mut t in top.tables("trunk", problems) {
        config.trunks.push(read_trunk(&mut t, problems));
        t.finish(problems);
    }
    for mut t in top.tables("operator", problems) {
        config.operators.push(read_operator(&mut t, problems));
        t.finish(problems);
    }
    for mut t in top.tables("group", problems) {
        config.groups.push(GroupSection {
            span: t.span(),
            name: t.required_string("name", problems),
            description: t.string("description", problems),
        });
        t.finish(problems);
    }
    config.prompts = top.string_map("prompts", problems);
    for mut t in top.tables("menu", problems) {
        config.menus.push(read_flow::read_menu(&mut t, problems));
        t.finish(problems);
    }
    for mut t in top.tables("hours", problems) {
        config.hours.push(read_flow::read_hours(&mut t, problems));
        t.finish(problems);
    }
    for mut t in top.tables("voicemail", problems) {
        config
            .voicemails
            .push(read_flow::read_voicemail(&mut t, problems));
        t.finish(problems);
    }
    for mut t in top.tables("queue", problems) {
        config.queues.push(read_flow::read_queue(&mut t, problems));
        t.finish(problems);
    }
    for mut t in top.tables("number", problems) {
        config.numbers.push(read_number(&mut t, problems));
        t.finish(problems);
    }
    for mut t in top.tables("webhook", problems) {
        config.webhooks.push(WebhookSection {
            url: t.required_string("url", problems),
            events: t.strings("events", problems),
            secret: t.string("secret", problems),
            timeout: t.integer("timeout", problems),
        });
        t.finish(problems);
    }
    top.finish(problems);
    config
}

fn read_server(t: &mut TableReader, p: &mut Problems) -> ServerSection {
    ServerSection {
        sip_listen: parsed(t.string("sip_listen", p), p, |s| {
            std::net::SocketAddr::from_str(s)
                .map_err(|_| crate::Error::BadSocketAddr(s.to_owned()).to_string())
        }),
        public_address: parsed(t.string("public_address", p), p, |s| {
            std::net::IpAddr::from_str(s).map_err(|_| crate::Error::BadIp(s.to_owned()).to_string())
        }),
        rtp_ports: parsed(t.string("rtp_ports", p), p, from_str),
        data_dir: t.string("data_dir", p),
        prompts_dir: t.string("prompts_dir", p),
        ring_timeout: t.integer("ring_timeout", p),
        media_timeout: t.integer("media_timeout", p),
        node_id: t.string("node_id", p),
        record_calls: t.boolean("record_calls", p),
        recording_notice: t.string("recording_notice", p),
    }
}

fn read_registrar(t: &mut TableReader, p: &mut Problems) -> RegistrarSection {
    RegistrarSection {
        realm: t.string("realm", p),
        min_expires: t.integer("min_expires", p),
        max_expires: t.integer("max_expires", p),
        default_expires: t.integer("default_expires", p),
        keepalive_interval: t.integer("keepalive_interval", p),
        keepalive_max_missed: t.integer("keepalive_max_missed", p),
        nonce_ttl: t.integer("nonce_ttl", p),
        digest_algorithms: t.strings("digest_algorithms", p),
    }
}

fn read_trunk(t: &mut TableReader, p: &mut Problems) -> TrunkSection {
    let span = t.span();
    let name = t.required_string("name", p);
    // Optional: a trunk used only for outbound calls needs no inbound allow-list. compile checks
    // that a trunk has addresses or an outbound rule.
    let addresses = t
        .strings("addresses", p)
        .map(Spanned::into_inner)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|s| parsed(Some(s), p, from_str))
        .collect();
    let proxy = parsed(t.string("proxy", p), p, from_str);
    let caller_id = t.string("caller_id", p);
    let outbound = t
        .table("outbound", "[trunk.outbound]".into(), p)
        .map(|mut o| {
            let section = OutboundSection {
                span: o.span(),
                prefixes: match o.strings("prefixes", p) {
                    Some(list) => list.into_inner(),
                    None => {
                        o.missing("prefixes", p);
                        Vec::new()
                    }
                },
                min_digits: o.integer("min_digits", p),
                max_digits: o.integer("max_digits", p),
            };
            o.finish(p);
            section
        });
    let register = t
        .table("register", "[trunk.register]".into(), p)
        .map(|mut r| {
            let section = TrunkRegisterSection {
                span: r.span(),
                username: r.required_string("username", p),
                password: r.required_string("password", p),
                registrar: parsed(r.string("registrar", p), p, from_str),
                expires: r.integer("expires", p),
                realm: r.string("realm", p),
            };
            r.finish(p);
            section
        });
    TrunkSection {
        span,
        name,
        addresses,
        proxy,
        caller_id,
        outbound,
        register,
    }
}

fn read_operator(t: &mut TableReader, p: &mut Problems) -> OperatorSection {
    OperatorSection {
        username: t.required_string("username", p),
        password: t.required_string("password", p),
        display_name: t.string("display_name", p),
        can_call_out: t.boolean("can_call_out", p),
        groups: t
            .strings("groups", p)
            .map(Spanned::into_inner)
            .unwrap_or_default(),
    }
}

fn read_number(t: &mut TableReader, p: &mut Problems) -> NumberSection {
    let span = t.span();
    let number = t.required_string("number", p);
    let name = t.string("name", p);
    let landing_page = t.string("landing_page", p);
    let campaign = t.string("campaign", p);
    let utm = t.string_map("utm", p);
    let whisper = t.string("whisper", p);
    let caller_id_tag = t.string("caller_id_tag", p);
    let record = t.boolean("record", p);
    // Action keys sit right in the number's table; compile checks that exactly one is present.
    let actions = read_flow::read_actions(t, p);
    NumberSection {
        span,
        number,
        name,
        landing_page,
        campaign,
        utm,
        whisper,
        caller_id_tag,
        record,
        actions,
    }
}

fn from_str<T: FromStr<Err = crate::Error>>(s: &str) -> Result<T, String> {
    T::from_str(s).map_err(|e| e.to_string())
}

/// Parses a string value into `T`, reporting a failure at the value.
fn parsed<T>(
    value: Option<Spanned<String>>,
    problems: &mut Problems,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Option<Spanned<T>> {
    let value = value?;
    match parse(value.get_ref()) {
        Ok(v) => Some(Spanned::new(value.span(), v)),
        Err(message) => {
            problems.error(value.span(), message);
            None
        }
    }
}
