//! `[[number]]`: unique numbers, landing pages, UTM tags and the number's action.

use serde_spanned::Spanned;
use std::collections::{BTreeMap, HashMap};

use super::action::{compile_action, Lookup, Place};
use super::prompts::prompt_ref;
use super::*;
use crate::config::NumberSection;
use crate::plan::Number;

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
                    "add what to do, e.g. ring = { group = \"sales\" } or menu = \"main\"",
                );
                continue;
            }
            [action] => match compile_action(action, lookup, Place::Number, p) {
                Some(a) => a,
                None => continue,
            },
            [_, second, ..] => {
                p.error_hint(
                    second.span.clone(),
                    format!("number `{}` has more than one action", written.get_ref()),
                    "keep one: a number does one thing with a call",
                );
                continue;
            }
        };
        let whisper = prompt_ref(&n.whisper, lookup.prompts, &lookup.prompt_names, p);
        if n.whisper.is_some() && whisper.is_none() {
            continue;
        }
        if let Some(tag) = &n.caller_id_tag {
            if !check_tag(tag, p) {
                continue;
            }
        }
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
            whisper,
            caller_id_tag: n.caller_id_tag.as_ref().map(|t| t.get_ref().clone()),
            record: n.record.as_ref().map(|r| *r.get_ref()),
            action,
        });
    }
    (numbers, index)
}

fn check_tag(tag: &Spanned<String>, p: &mut Problems) -> bool {
    let t = tag.get_ref();
    let mut rest = t.as_str();
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        let field = &after[..close];
        if field != "caller" && field != "name" {
            p.error_hint(
                tag.span(),
                format!("`caller_id_tag` has an unknown field `{{{field}}}`"),
                "use {caller} for the caller's number and {name} for the number's name",
            );
            return false;
        }
        rest = &after[close + 1..];
    }
    if !t.contains("{caller}") {
        p.error_hint(
            tag.span(),
            "`caller_id_tag` leaves out the caller's number",
            "put {caller} where the number goes, e.g. \"[promo] {caller}\"",
        );
        return false;
    }
    true
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
