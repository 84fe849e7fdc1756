//! `[server]` and `[registrar]`: defaults, ranges, addresses and the RTP port range.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;

use serde_spanned::Spanned;

use super::*;
use crate::config::{ApiSection, RegistrarSection, ServerSection};
use crate::net::{PortRange, ANY_V4};
use crate::plan::{
    ApiSettings, DigestAlgorithm, RecordingNotice, RegistrarSettings, ServerSettings,
};
use crate::plan_flow::Prompt;

pub(super) fn compile_server(s: &ServerSection, p: &mut Problems) -> ServerSettings {
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
        record_calls: s
            .record_calls
            .as_ref()
            .map_or(defaults::RECORD_CALLS, |r| *r.get_ref()),
        // Set by `check_recording_notice` once the prompts are known.
        recording_notice: RecordingNotice::default(),
    }
}

/// `recording_notice` naming a prompt: it must be one of `[prompts]`.
pub(super) fn check_recording_notice(
    s: &ServerSection,
    prompts: &HashMap<String, Prompt>,
    known: &[String],
    p: &mut Problems,
) -> RecordingNotice {
    let Some(written) = &s.recording_notice else {
        return RecordingNotice::Beep;
    };
    match written.get_ref().as_str() {
        "beep" => RecordingNotice::Beep,
        "none" => RecordingNotice::None,
        name if known.iter().any(|k| k == name) => {
            // Defined but its file was bad: already reported, fall back to the beep.
            if prompts.contains_key(name) {
                RecordingNotice::Prompt(name.to_owned())
            } else {
                RecordingNotice::Beep
            }
        }
        _ => {
            let near: Vec<&str> = ["none", "beep"]
                .into_iter()
                .chain(known.iter().map(String::as_str))
                .collect();
            unknown_reference(written, "prompt", near.into_iter(), p);
            RecordingNotice::Beep
        }
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

pub(super) fn compile_api(a: &ApiSection, sip: SocketAddr, p: &mut Problems) -> ApiSettings {
    let listen = match &a.listen {
        Some(l) => *l.get_ref(),
        None => defaults::API_LISTEN.parse().unwrap_or(SocketAddr::new(
            IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            8080,
        )),
    };
    let enabled = a.enabled.as_ref().map(|e| *e.get_ref()).unwrap_or(true);
    if let (true, Some(l)) = (enabled, &a.listen) {
        let addr = l.get_ref();
        if addr.port() != 0 && addr.port() == sip.port() {
            p.error_hint(
                l.span(),
                format!("`listen` port {} is the SIP port", addr.port()),
                "SIP listens on TCP too; pick another port for the API, e.g. 8080",
            );
        } else if !addr.ip().is_loopback() {
            // The API has no authentication yet: reload and call records would be open to all.
            p.warning_hint(
                l.span(),
                format!(
                    "the API on {addr} is reachable from the network and has no authentication"
                ),
                "listen on 127.0.0.1 and put a reverse proxy with authentication in front",
            );
        }
    }
    ApiSettings {
        enabled,
        listen,
        default_listen: a.listen.is_none(),
    }
}

pub(super) fn compile_registrar(r: &RegistrarSection, p: &mut Problems) -> RegistrarSettings {
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
        digest_algorithms: digest_algorithms(r.digest_algorithms.as_ref(), p),
    }
}

/// `digest_algorithms`: MD5 alone by default, because deployed softphones (baresip's libre among
/// them) fail a registration whose challenge names an algorithm they lack.
fn digest_algorithms(
    list: Option<&Spanned<Vec<Spanned<String>>>>,
    p: &mut Problems,
) -> Vec<DigestAlgorithm> {
    let Some(list) = list else {
        return vec![DigestAlgorithm::Md5];
    };
    if list.get_ref().is_empty() {
        p.error_hint(
            list.span(),
            "`digest_algorithms` is empty",
            "list at least one of \"MD5\", \"SHA-256\"",
        );
        return vec![DigestAlgorithm::Md5];
    }
    let mut out = Vec::new();
    for item in list.get_ref() {
        let algorithm = match item.get_ref().to_ascii_uppercase().as_str() {
            "MD5" => DigestAlgorithm::Md5,
            "SHA-256" => DigestAlgorithm::Sha256,
            other => {
                p.error_hint(
                    item.span(),
                    format!("unknown digest algorithm `{other}`"),
                    "use \"MD5\" or \"SHA-256\"",
                );
                continue;
            }
        };
        if out.contains(&algorithm) {
            p.error_hint(
                item.span(),
                format!("`{}` is listed twice", algorithm.as_str()),
                "list each algorithm once, in the order to offer them",
            );
            continue;
        }
        out.push(algorithm);
    }
    if out.is_empty() {
        out.push(DigestAlgorithm::Md5);
    }
    out
}
