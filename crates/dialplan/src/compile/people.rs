//! `[[group]]` and `[[operator]]`: unique names, group membership, weak passwords.

use std::collections::HashMap;
use std::ops::Range;

use serde_spanned::Spanned;

use super::*;
use crate::config::{GroupSection, OperatorSection};
use crate::plan::{Group, Operator};

/// The groups, the span of each one's `[[group]]` header, and a name index.
pub(super) fn compile_groups(
    sections: &[GroupSection],
    p: &mut Problems,
) -> (Vec<Group>, Vec<Range<usize>>, HashMap<String, usize>) {
    let mut groups = Vec::new();
    let mut spans = Vec::new();
    let mut index = HashMap::new();
    for g in sections {
        let Some(name) = &g.name else { continue };
        if !is_name(name.get_ref()) {
            name_error(name, "group name", p);
            continue;
        } else if index.contains_key(name.get_ref()) {
            p.error_hint(
                name.span(),
                format!("duplicate group `{}`", name.get_ref()),
                "each [[group]] needs its own name",
            );
            continue;
        }
        index.insert(name.get_ref().clone(), groups.len());
        spans.push(g.span.clone());
        groups.push(Group {
            name: name.get_ref().clone(),
            description: g.description.as_ref().map(|d| d.get_ref().clone()),
            members: Vec::new(),
        });
    }
    (groups, spans, index)
}

pub(super) fn compile_operators(
    sections: &[OperatorSection],
    groups: &[Group],
    p: &mut Problems,
) -> (Vec<Operator>, HashMap<String, usize>) {
    let mut operators = Vec::new();
    let mut index = HashMap::new();
    // Lower-cased usernames: "Alice" and "alice" are different to digest auth but the same to a
    // person reading a report, so they are not allowed together.
    let mut folded: HashMap<String, String> = HashMap::new();
    for o in sections {
        let (Some(username), Some(password)) = (&o.username, &o.password) else {
            continue;
        };
        let user = username.get_ref();
        if !is_sip_user(user) {
            p.error_hint(
                username.span(),
                format!("operator username `{user}` is not a valid SIP user name"),
                "use letters, digits, '.', '_', '-' or '~'; it is what the softphone registers as",
            );
            continue;
        }
        if let Some(first) = folded.get(&user.to_lowercase()) {
            let message = if first == user {
                format!("duplicate operator `{user}`")
            } else {
                format!("operator `{user}` differs from `{first}` only in letter case")
            };
            p.error_hint(
                username.span(),
                message,
                "each [[operator]] needs its own username",
            );
            continue;
        }
        folded.insert(user.to_lowercase(), user.clone());
        check_password(user, password, p);
        let mut op_groups = Vec::new();
        for g in &o.groups {
            if groups.iter().any(|known| known.name == *g.get_ref()) {
                if !op_groups.contains(g.get_ref()) {
                    op_groups.push(g.get_ref().clone());
                }
            } else {
                unknown_reference(g, "group", groups.iter().map(|g| g.name.as_str()), p);
            }
        }
        index.insert(user.clone(), operators.len());
        operators.push(Operator {
            username: user.clone(),
            password: password.get_ref().clone(),
            display_name: o
                .display_name
                .as_ref()
                .map_or_else(|| user.clone(), |d| d.get_ref().clone()),
            can_call_out: o.can_call_out.as_ref().is_some_and(|b| *b.get_ref()),
            groups: op_groups,
        });
    }
    (operators, index)
}

fn check_password(user: &str, password: &Spanned<String>, p: &mut Problems) {
    let pw = password.get_ref();
    if pw.is_empty() {
        p.error(
            password.span(),
            format!("operator `{user}` has an empty password"),
        );
        return;
    }
    let reason = if pw.eq_ignore_ascii_case(user) {
        Some("is the same as the username".to_owned())
    } else if pw.chars().all(|c| c.is_ascii_digit()) {
        Some("is only digits".to_owned())
    } else if pw.chars().count() < MIN_PASSWORD_LEN {
        Some(format!("is shorter than {MIN_PASSWORD_LEN} characters"))
    } else {
        None
    };
    if let Some(reason) = reason {
        p.warning_hint(
            password.span(),
            format!("operator `{user}`'s password {reason}"),
            "SIP scanners guess weak passwords within minutes; use 12+ characters mixing words and digits",
        );
    }
}
