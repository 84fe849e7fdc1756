//! Compiles the named flow sections (menus, hours, voicemail boxes, queues) in one pass, after
//! every name is known so they can refer to each other in any order.

use std::collections::HashMap;
use std::ops::Range;

use serde_spanned::Spanned;

use super::action::Lookup;
use super::boxes::{compile_queue, compile_voicemail};
use super::graph::{check_flows, Spans};
use super::hours::compile_hours;
use super::menu::compile_menu;
use super::*;
use crate::config::Config;
use crate::plan_flow::{Hours, Menu, Queue, VoicemailBox};

pub(super) struct Flows {
    pub menus: HashMap<String, Menu>,
    pub hours: HashMap<String, Hours>,
    pub voicemails: HashMap<String, VoicemailBox>,
    pub queues: HashMap<String, Queue>,
}

/// The valid, unique names of one kind of section, reporting bad and duplicate ones.
pub(super) fn names<'a>(
    list: impl Iterator<Item = Option<&'a Spanned<String>>>,
    what: &str,
    p: &mut Problems,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in list.flatten() {
        if !is_name(name.get_ref()) {
            name_error(name, &format!("{what} name"), p);
        } else if out.contains(name.get_ref()) {
            p.error_hint(
                name.span(),
                format!("duplicate {what} `{}`", name.get_ref()),
                format!("each [[{what}]] needs its own name"),
            );
        } else {
            out.push(name.get_ref().clone());
        }
    }
    out
}

pub(super) fn compile_flows(config: &Config, lookup: &Lookup, p: &mut Problems) -> Flows {
    let mut menu_spans: Spans = HashMap::new();
    let mut menus = HashMap::new();
    for m in &config.menus {
        if let Some(menu) = first(&m.name, &menu_spans)
            .then(|| compile_menu(m, lookup, p))
            .flatten()
        {
            record(&m.name, &mut menu_spans);
            menus.insert(menu.name.clone(), menu);
        }
    }
    let mut hours_spans: Spans = HashMap::new();
    let mut hours = HashMap::new();
    for h in &config.hours {
        if let Some(x) = first(&h.name, &hours_spans)
            .then(|| compile_hours(h, lookup, p))
            .flatten()
        {
            record(&h.name, &mut hours_spans);
            hours.insert(x.name.clone(), x);
        }
    }
    let mut seen: Spans = HashMap::new();
    let mut voicemails = HashMap::new();
    for v in &config.voicemails {
        if let Some(x) = first(&v.name, &seen)
            .then(|| compile_voicemail(v, lookup, p))
            .flatten()
        {
            record(&v.name, &mut seen);
            voicemails.insert(x.name.clone(), x);
        }
    }
    seen.clear();
    let mut queues = HashMap::new();
    for q in &config.queues {
        if let Some(x) = first(&q.name, &seen)
            .then(|| compile_queue(q, lookup, p))
            .flatten()
        {
            record(&q.name, &mut seen);
            queues.insert(x.name.clone(), x);
        }
    }
    if !p.has_errors() {
        check_flows(&menus, &hours, &menu_spans, &hours_spans, p);
    }
    Flows {
        menus,
        hours,
        voicemails,
        queues,
    }
}

/// Whether this is the first section with the name (duplicates were reported by `names`).
fn first(name: &Option<Spanned<String>>, seen: &Spans) -> bool {
    name.as_ref()
        .is_some_and(|n| is_name(n.get_ref()) && !seen.contains_key(n.get_ref()))
}

fn record(name: &Option<Spanned<String>>, seen: &mut HashMap<String, Range<usize>>) {
    if let Some(n) = name {
        seen.insert(n.get_ref().clone(), n.span());
    }
}
