//! `[[menu]]`: prompts, timers, and options that callers can actually enter.

use std::collections::BTreeMap;

use serde_spanned::Spanned;

use super::action::{compile_action, Lookup, Place};
use super::prompts::prompt_ref;
use super::*;
use crate::config::MenuSection;
use crate::plan::Action;
use crate::plan_flow::Menu;

const MENU_TIMEOUT_RANGE: RangeInclusive<i64> = 1..=60;
const DIGIT_TIMEOUT_RANGE: RangeInclusive<i64> = 1..=30;
const RETRIES_RANGE: RangeInclusive<i64> = 0..=10;
const MAX_DIGITS_RANGE: RangeInclusive<i64> = 1..=20;
pub(crate) const MENU_TIMEOUT: i64 = 5;
pub(crate) const DIGIT_TIMEOUT: i64 = 3;
pub(crate) const RETRIES: i64 = 2;

pub(super) fn compile_menu(m: &MenuSection, lookup: &Lookup, p: &mut Problems) -> Option<Menu> {
    let name = m.name.as_ref()?;
    let mut ok = true;
    let mut prompt = |v: &Option<Spanned<String>>, p: &mut Problems| {
        let r = prompt_ref(v, lookup.prompts, &lookup.prompt_names, p);
        ok &= v.is_none() || r.is_some();
        r
    };
    let greeting = prompt(&m.greeting, p);
    let short_greeting = prompt(&m.short_greeting, p);
    let invalid_prompt = prompt(&m.invalid_prompt, p);
    let timeout_prompt = prompt(&m.timeout_prompt, p);
    let terminator = m.terminator.as_ref().and_then(|t| {
        let c = single_key(t, "terminator", "#*", p);
        ok &= c.is_some();
        c
    });
    let longest = m
        .options
        .iter()
        .map(|(k, _)| k.get_ref().chars().count())
        .max()
        .unwrap_or(1)
        .max(1);
    let max_digits = match &m.max_digits {
        Some(_) => ranged(&m.max_digits, "max_digits", MAX_DIGITS_RANGE, 1, p) as usize,
        None => longest,
    };
    let operator_key = m.operator_key.as_ref().and_then(|k| {
        let c = single_key(k, "operator_key", "0123456789*#", p);
        ok &= c.is_some();
        c
    });
    if let (Some(k), Some(t)) = (operator_key, terminator) {
        if k == t {
            p.error_hint(
                m.operator_key.as_ref().map_or(m.span.clone(), |s| s.span()),
                format!("`operator_key` `{k}` is also the terminator"),
                "pick another key for one of them",
            );
            ok = false;
        }
    }
    let mut options = BTreeMap::new();
    for (key, action) in &m.options {
        ok &= check_option_key(key, &m.options, terminator, operator_key, max_digits, p);
        match action
            .as_ref()
            .map(|a| compile_action(a, lookup, Place::Menu, p))
        {
            Some(Some(a)) => {
                options.insert(key.get_ref().clone(), a);
            }
            _ => ok = false,
        }
    }
    let operator = match (operator_key, &m.operator) {
        (Some(k), Some(a)) => compile_action(a, lookup, Place::Menu, p).map(|a| (k, a)),
        (None, None) => None,
        (Some(_), None) => {
            p.error_hint(
                m.operator_key.as_ref().map_or(m.span.clone(), |s| s.span()),
                "`operator_key` without `operator`",
                "say what the key does, e.g. operator = { ring = { group = \"sales\" } }",
            );
            ok = false;
            None
        }
        (None, Some(a)) => {
            p.error_hint(
                a.span.clone(),
                "`operator` without `operator_key`",
                "add operator_key = \"0\"",
            );
            ok = false;
            None
        }
    };
    if m.options.is_empty() && m.operator.is_none() {
        p.error_hint(
            name.span(),
            format!("menu `{}` has no options", name.get_ref()),
            "add options = { \"1\" = { ... } }",
        );
        ok = false;
    }
    let fallback = match &m.fallback {
        Some(a) => compile_action(a, lookup, Place::Menu, p),
        None => Some(Action::Hangup),
    };
    let menu = Menu {
        name: name.get_ref().clone(),
        short_greeting: short_greeting.or_else(|| greeting.clone()),
        greeting,
        invalid_prompt,
        timeout_prompt,
        timeout: secs(ranged(
            &m.timeout,
            "timeout",
            MENU_TIMEOUT_RANGE,
            MENU_TIMEOUT,
            p,
        )),
        digit_timeout: secs(ranged(
            &m.digit_timeout,
            "digit_timeout",
            DIGIT_TIMEOUT_RANGE,
            DIGIT_TIMEOUT,
            p,
        )),
        max_digits,
        terminator,
        retries: as_u32(ranged(&m.retries, "retries", RETRIES_RANGE, RETRIES, p)),
        options,
        fallback: fallback?,
        operator,
    };
    ok.then_some(menu)
}

fn single_key(v: &Spanned<String>, key: &str, allowed: &str, p: &mut Problems) -> Option<char> {
    let mut chars = v.get_ref().chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if allowed.contains(c) => Some(c),
        _ => {
            p.error_hint(
                v.span(),
                format!("`{key}` `{}` is not a single phone key", v.get_ref()),
                format!(
                    "use one of {}",
                    allowed
                        .chars()
                        .map(String::from)
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
            );
            None
        }
    }
}

/// An option's digits must be typeable, fit `max_digits`, and be told apart from every other
/// option and the special keys.
fn check_option_key(
    key: &Spanned<String>,
    all: &[(Spanned<String>, Option<crate::config::ActionSection>)],
    terminator: Option<char>,
    operator_key: Option<char>,
    max_digits: usize,
    p: &mut Problems,
) -> bool {
    let k = key.get_ref();
    if k.is_empty()
        || !k
            .chars()
            .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
    {
        p.error_hint(
            key.span(),
            format!("option `{k}` is not phone keys"),
            "use digits and *, e.g. \"1\" or \"12\"",
        );
        return false;
    }
    if let Some(t) = terminator.filter(|t| k.contains(*t)) {
        p.error_hint(
            key.span(),
            format!("option `{k}` contains the terminator `{t}`"),
            "the terminator ends an entry, so it cannot be part of one",
        );
        return false;
    }
    if let Some(o) = operator_key.filter(|o| k.starts_with(*o)) {
        p.error_hint(
            key.span(),
            format!("option `{k}` can never be entered: `{o}` is the operator key"),
            "the operator key acts as soon as it is pressed; renumber the option",
        );
        return false;
    }
    if k.chars().count() > max_digits {
        p.error_hint(
            key.span(),
            format!("option `{k}` is longer than max_digits {max_digits}"),
            "entry stops at max_digits, so this option can never be entered",
        );
        return false;
    }
    if terminator.is_none() {
        if let Some((longer, _)) = all
            .iter()
            .find(|(o, _)| o.get_ref().len() > k.len() && o.get_ref().starts_with(k.as_str()))
        {
            p.error_hint(
                key.span(),
                format!("option `{k}` overlaps `{}`", longer.get_ref()),
                format!(
                    "a caller typing `{k}` cannot end the entry; set terminator = \"#\" or renumber"
                ),
            );
            return false;
        }
    }
    true
}
