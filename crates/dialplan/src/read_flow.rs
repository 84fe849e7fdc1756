//! Reads the call-flow sections: `[prompts]`, `[[menu]]`, `[[hours]]`, `[[voicemail]]`,
//! `[[queue]]`, and the actions that numbers, menu options and fallbacks name.

use serde_spanned::Spanned;

use crate::config::*;
use crate::diagnostic::Problems;
use crate::node::Node;
use crate::reader::{string_or_list, TableReader};

/// The keys that make an action, for "did you mean" hints and the "does nothing" message.
pub(crate) const ACTION_KEYS: [&str; 10] = [
    "ring",
    "menu",
    "queue",
    "hours",
    "voicemail",
    "transfer",
    "play",
    "hangup",
    "echo",
    "back",
];

/// Day keys of `[[hours]]`: one day, or a family of days.
pub(crate) const DAY_KEYS: [&str; 10] = [
    "mon", "tue", "wed", "thu", "fri", "sat", "sun", "weekdays", "weekend", "daily",
];

/// Reads the action keys present in `t` (a `[[number]]` or an action table). Checking that there
/// is exactly one is the caller's job, since numbers and nested actions word it differently.
pub(crate) fn read_actions(t: &mut TableReader, p: &mut Problems) -> Vec<ActionSection> {
    let mut out = Vec::new();
    if let Some(node) = t.get("ring") {
        if let Some(mut r) = TableReader::new(node, "`ring`".into(), p) {
            out.push(ActionSection {
                span: r.span(),
                kind: ActionKind::Ring(RingSection {
                    span: r.span(),
                    group: r.string("group", p),
                    operators: r.strings("operators", p),
                    timeout: r.integer("timeout", p),
                }),
            });
            r.finish(p);
        }
    }
    type Make = fn(Spanned<String>) -> ActionKind;
    let named: [(&'static str, Make); 5] = [
        ("menu", ActionKind::Menu),
        ("queue", ActionKind::Queue),
        ("hours", ActionKind::Hours),
        ("voicemail", ActionKind::Voicemail),
        ("transfer", ActionKind::Transfer),
    ];
    for (key, make) in named {
        if let Some(v) = t.string(key, p) {
            out.push(ActionSection {
                span: v.span(),
                kind: make(v),
            });
        }
    }
    let then = t.get("then");
    if let Some(prompt) = t.string("play", p) {
        let then = then
            .and_then(|n| read_action_node(n, "`then`", p))
            .map(Box::new);
        out.push(ActionSection {
            span: prompt.span(),
            kind: ActionKind::Play { prompt, then },
        });
    } else if let Some(then) = then {
        p.error_hint(
            then.span(),
            "`then` without `play`",
            "`then` says what to do after `play`; use the action itself instead",
        );
    }
    for (key, kind) in [
        ("hangup", ActionKind::Hangup),
        ("echo", ActionKind::Echo),
        ("back", ActionKind::Back),
    ] {
        if let Some(b) = t.boolean(key, p) {
            if *b.get_ref() {
                out.push(ActionSection {
                    span: b.span(),
                    kind,
                });
            } else {
                p.error_hint(
                    b.span(),
                    format!("`{key} = false` does nothing"),
                    format!("write `{key} = true`, or remove it"),
                );
            }
        }
    }
    out
}

/// One action written as a table (`{ menu = "orders" }`) or as the words "hangup" / "echo" /
/// "back".
pub(crate) fn read_action_node(
    node: &Spanned<Node>,
    what: &str,
    p: &mut Problems,
) -> Option<ActionSection> {
    if let Node::String(s) = node.get_ref() {
        let kind = match s.as_str() {
            "hangup" => ActionKind::Hangup,
            "echo" => ActionKind::Echo,
            "back" => ActionKind::Back,
            _ => {
                p.error_hint(
                    node.span(),
                    format!("{what} `{s}` is not an action"),
                    "write a table like { menu = \"orders\" }, or \"hangup\", \"echo\" or \"back\"",
                );
                return None;
            }
        };
        return Some(ActionSection {
            span: node.span(),
            kind,
        });
    }
    let mut t = TableReader::new(node, what.to_owned(), p)?;
    let mut actions = read_actions(&mut t, p);
    t.finish(p);
    match actions.len() {
        1 => actions.pop(),
        0 => {
            p.error_hint(
                node.span(),
                format!("{what} has no action"),
                format!("use one of: {}", ACTION_KEYS.join(", ")),
            );
            None
        }
        _ => {
            p.error_hint(
                actions[1].span.clone(),
                format!("{what} has more than one action"),
                "keep one; to play a prompt first, use play = \"...\" with then = { ... }",
            );
            None
        }
    }
}

fn action(t: &mut TableReader, key: &'static str, p: &mut Problems) -> Option<ActionSection> {
    let node = t.get(key)?;
    read_action_node(node, &format!("`{key}`"), p)
}

pub(crate) fn read_menu(t: &mut TableReader, p: &mut Problems) -> MenuSection {
    let span = t.span();
    let name = t.required_string("name", p);
    let options = match t.get("options") {
        None => Vec::new(),
        Some(node) => match node.get_ref() {
            Node::Table(entries) => entries
                .iter()
                .map(|(k, v)| {
                    let what = format!("option `{}`", k.get_ref());
                    (k.clone(), read_action_node(v, &what, p))
                })
                .collect(),
            other => {
                p.error_hint(
                    node.span(),
                    format!("`options` must be a table, found {}", other.type_name()),
                    "e.g. options = { \"1\" = { menu = \"orders\" }, \"0\" = { ring = { group = \"sales\" } } }",
                );
                Vec::new()
            }
        },
    };
    MenuSection {
        span,
        name,
        greeting: t.string("greeting", p),
        short_greeting: t.string("short_greeting", p),
        invalid_prompt: t.string("invalid_prompt", p),
        timeout_prompt: t.string("timeout_prompt", p),
        timeout: t.integer("timeout", p),
        digit_timeout: t.integer("digit_timeout", p),
        max_digits: t.integer("max_digits", p),
        terminator: t.string("terminator", p),
        retries: t.integer("retries", p),
        options,
        fallback: action(t, "fallback", p),
        operator_key: t.string("operator_key", p),
        operator: action(t, "operator", p),
    }
}

pub(crate) fn read_hours(t: &mut TableReader, p: &mut Problems) -> HoursSection {
    let span = t.span();
    let name = t.required_string("name", p);
    let timezone = t.string("timezone", p);
    let days = t
        .entries_of(&DAY_KEYS)
        .into_iter()
        .map(|(k, v)| {
            let list = string_or_list(v, k.get_ref(), p);
            (k, list)
        })
        .collect();
    let lunch = t.string_or_list("lunch", p);
    let holidays = t
        .strings("holidays", p)
        .map(Spanned::into_inner)
        .unwrap_or_default();
    let overrides = t
        .tables("overrides", p)
        .into_iter()
        .map(|mut o| {
            let section = OverrideSection {
                date: o.required_string("date", p),
                hours: o.string_or_list("hours", p),
            };
            if section.hours.is_empty() && o.get("hours").is_none() {
                o.missing("hours", p);
            }
            o.finish(p);
            section
        })
        .collect();
    HoursSection {
        span,
        name,
        timezone,
        days,
        lunch,
        holidays,
        overrides,
        open: action(t, "open", p),
        closed: action(t, "closed", p),
    }
}

pub(crate) fn read_voicemail(t: &mut TableReader, p: &mut Problems) -> VoicemailSection {
    VoicemailSection {
        name: t.required_string("name", p),
        greeting: t.string("greeting", p),
        beep: t.string("beep", p),
        max_seconds: t.integer("max_seconds", p),
        silence_seconds: t.integer("silence_seconds", p),
    }
}

pub(crate) fn read_queue(t: &mut TableReader, p: &mut Problems) -> QueueSection {
    QueueSection {
        name: t.required_string("name", p),
        group: t.required_string("group", p),
        hold_music: t.string("hold_music", p),
        timeout: t.integer("timeout", p),
        fallback: action(t, "fallback", p),
    }
}
