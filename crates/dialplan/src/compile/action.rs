//! Actions wherever they are written: numbers, menu options, fallbacks, hours branches, `then`.

use std::collections::HashMap;
use std::time::Duration;

use serde_spanned::Spanned;

use super::prompts::prompt_ref;
use super::*;
use crate::config::{ActionKind, ActionSection, RingSection};
use crate::plan::{Action, Ring, RingTarget, Trunk};
use crate::plan_flow::Prompt;

/// Everything an action may refer to, by name. Flow sections are listed by name before any is
/// compiled, so they can refer to each other in any order.
pub(super) struct Lookup<'a> {
    pub(super) groups: &'a HashMap<String, usize>,
    pub(super) operators: &'a HashMap<String, usize>,
    pub(super) default_ring_timeout: Duration,
    pub(super) trunks: &'a [Trunk],
    pub(super) prompts: &'a HashMap<String, Prompt>,
    /// Every name in `[prompts]`, including ones whose files were bad.
    pub(super) prompt_names: Vec<String>,
    pub(super) menus: Vec<String>,
    pub(super) hours: Vec<String>,
    pub(super) voicemails: Vec<String>,
    pub(super) queues: Vec<String>,
}

/// Where an action is written, for the rules that depend on it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    Number,
    /// In a menu: `back` is allowed.
    Menu,
    Other,
}

pub(super) fn compile_action(
    action: &ActionSection,
    lookup: &Lookup,
    place: Place,
    p: &mut Problems,
) -> Option<Action> {
    let named = |name: &Spanned<String>, what: &str, known: &[String], p: &mut Problems| {
        if known.contains(name.get_ref()) {
            Some(name.get_ref().clone())
        } else {
            unknown_reference(name, what, known.iter().map(String::as_str), p);
            None
        }
    };
    match &action.kind {
        ActionKind::Ring(r) => compile_ring(r, lookup, p).map(Action::Ring),
        ActionKind::Menu(m) => named(m, "menu", &lookup.menus, p).map(Action::Menu),
        ActionKind::Queue(q) => named(q, "queue", &lookup.queues, p).map(Action::Queue),
        ActionKind::Hours(h) => named(h, "hours", &lookup.hours, p).map(Action::Hours),
        ActionKind::Voicemail(v) => {
            named(v, "voicemail", &lookup.voicemails, p).map(Action::Voicemail)
        }
        ActionKind::Transfer(n) => compile_transfer(n, lookup, p).map(Action::Transfer),
        ActionKind::Play { prompt, then } => {
            let prompt = prompt_ref(
                &Some(prompt.clone()),
                lookup.prompts,
                &lookup.prompt_names,
                p,
            );
            let then = match then {
                Some(t) => compile_action(t, lookup, place, p),
                None => Some(Action::Hangup),
            };
            Some(Action::Play {
                prompt: prompt?,
                then: Box::new(then?),
            })
        }
        ActionKind::Hangup => Some(Action::Hangup),
        ActionKind::Echo => Some(Action::Echo),
        ActionKind::Back if place == Place::Menu => Some(Action::Back),
        ActionKind::Back => {
            p.error_hint(
                action.span.clone(),
                "`back` only works inside a menu",
                "use it in a menu's options, operator or fallback",
            );
            None
        }
    }
}

fn compile_transfer(n: &Spanned<String>, lookup: &Lookup, p: &mut Problems) -> Option<String> {
    let number = number_value(n, "transfer", p)?;
    let allowed = lookup
        .trunks
        .iter()
        .any(|t| t.outbound.as_ref().is_some_and(|o| o.matches(&number)));
    if !allowed {
        p.error_hint(
            n.span(),
            format!("no trunk may carry the transfer to `{}`", n.get_ref()),
            "add a [trunk.outbound] rule whose prefixes and digit counts match it",
        );
        return None;
    }
    Some(number)
}

pub(super) fn compile_ring(r: &RingSection, lookup: &Lookup, p: &mut Problems) -> Option<Ring> {
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
