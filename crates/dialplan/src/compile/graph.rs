//! Whole-plan flow checks: every menu has a way out, and no time condition loops back to itself
//! without the caller doing anything.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use super::*;
use crate::plan::Action;
use crate::plan_flow::{Hours, Menu};

/// Where each menu's and hours' `name` was written.
pub(super) type Spans = HashMap<String, Range<usize>>;

pub(super) fn check_flows(
    menus: &HashMap<String, Menu>,
    hours: &HashMap<String, Hours>,
    menu_spans: &Spans,
    hours_spans: &Spans,
    p: &mut Problems,
) {
    let mut looping: Vec<&String> = Vec::new();
    for (name, h) in hours {
        let mut seen = HashSet::new();
        if [&h.open, &h.closed]
            .iter()
            .any(|a| reaches_hours(a, name, hours, &mut seen))
        {
            looping.push(name);
        }
    }
    looping.sort();
    for name in &looping {
        p.error_hint(
            hours_spans.get(*name).cloned().unwrap_or(0..0),
            format!("hours `{name}` lead back to themselves without the caller doing anything"),
            "one of the open/closed branches must end somewhere else, e.g. in a menu or a ring",
        );
    }
    // Menus with a way out, grown until nothing changes: a menu has one when some option, the
    // operator key or the fallback reaches a terminal action or another menu that has one.
    let mut out: HashSet<&str> = HashSet::new();
    loop {
        let before = out.len();
        for (name, m) in menus {
            if out.contains(name.as_str()) {
                continue;
            }
            let actions = m
                .options
                .values()
                .chain(m.operator.as_ref().map(|(_, a)| a))
                .chain(std::iter::once(&m.fallback));
            let mut exits = false;
            for a in actions {
                exits |= leads_out(a, &out, hours, 0);
            }
            if exits {
                out.insert(name);
            }
        }
        if out.len() == before {
            break;
        }
    }
    let mut stuck: Vec<&String> = menus.keys().filter(|m| !out.contains(m.as_str())).collect();
    stuck.sort();
    for name in stuck {
        p.error_hint(
            menu_spans.get(name).cloned().unwrap_or(0..0),
            format!("menu `{name}` has no way out: its options and fallback only lead to menus"),
            "let some option or the fallback ring, queue, record voicemail, transfer or hang up",
        );
    }
}

fn leads_out(a: &Action, out: &HashSet<&str>, hours: &HashMap<String, Hours>, depth: u32) -> bool {
    if depth > 32 {
        return false;
    }
    match a {
        Action::Menu(m) => out.contains(m.as_str()),
        Action::Back => false,
        Action::Play { then, .. } => leads_out(then, out, hours, depth + 1),
        Action::Hours(h) => hours.get(h).is_some_and(|h| {
            leads_out(&h.open, out, hours, depth + 1) || leads_out(&h.closed, out, hours, depth + 1)
        }),
        // Ring, queue, voicemail, transfer, echo and hangup all end the flow's own part of the call.
        _ => true,
    }
}

/// Whether `a` reaches hours `target` through actions that need no input (hours, play).
fn reaches_hours<'a>(
    a: &'a Action,
    target: &str,
    hours: &'a HashMap<String, Hours>,
    seen: &mut HashSet<&'a str>,
) -> bool {
    match a {
        Action::Hours(h) if h == target => true,
        Action::Hours(h) => {
            if !seen.insert(h.as_str()) {
                return false;
            }
            hours.get(h).is_some_and(|x| {
                reaches_hours(&x.open, target, hours, seen)
                    || reaches_hours(&x.closed, target, hours, seen)
            })
        }
        Action::Play { then, .. } => reaches_hours(then, target, hours, seen),
        _ => false,
    }
}
