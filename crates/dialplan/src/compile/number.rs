//! `[[number]]`: unique numbers, landing pages, UTM tags and the number's action.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::time::Duration;

use serde_spanned::Spanned;

use super::*;
use crate::config::{ActionSection, NumberSection, RingSection};
use crate::plan::{Action, Number, Ring, RingTarget};

pub(super) struct Lookup<'a> {
    pub(super) groups: &'a HashMap<String, usize>,
    pub(super) operators: &'a HashMap<String, usize>,
    pub(super) default_ring_timeout: Duration,
}

pub(super) fn compile_numbers(
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
