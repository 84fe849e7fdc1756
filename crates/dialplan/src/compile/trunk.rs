//! `[[trunk]]`: names, source allow-lists, outbound rules and provider registration.

use std::collections::HashMap;

use serde_spanned::Spanned;

use super::*;
use crate::config::{OutboundSection, TrunkSection};
use crate::plan::{OutboundRule, Trunk, TrunkRegistration};

pub(super) fn compile_trunks(sections: &[TrunkSection], p: &mut Problems) -> Vec<Trunk> {
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
