//! Typed reading of the spanned TOML tree, collecting every problem instead of stopping at one.
//!
//! Each section reader asks a [`TableReader`] for the keys it knows; whatever it never asked for is
//! an unknown key (the hand-rolled equivalent of serde's `deny_unknown_fields`, but reporting all of
//! them, each with a "did you mean" hint drawn from the keys that were asked for).

use std::ops::Range;

use serde_spanned::Spanned;

use crate::diagnostic::Problems;
use crate::node::Node;
use crate::suggest::closest;

pub(crate) struct TableReader<'n> {
    /// Where the table starts: its `[header]`, or the `{` of an inline table.
    span: Range<usize>,
    /// How the table is named in messages, e.g. "[server]" or "[[trunk]]".
    name: String,
    entries: &'n [(Spanned<String>, Spanned<Node>)],
    used: Vec<bool>,
    known: Vec<&'static str>,
}

impl<'n> TableReader<'n> {
    /// Reads `node` as a table; reports and returns `None` when it is some other type.
    pub fn new(node: &'n Spanned<Node>, name: String, problems: &mut Problems) -> Option<Self> {
        match node.get_ref() {
            Node::Table(entries) => Some(TableReader {
                span: node.span(),
                name,
                entries,
                used: vec![false; entries.len()],
                known: Vec::new(),
            }),
            other => {
                problems.error(
                    node.span(),
                    format!("{name} must be a table, found {}", other.type_name()),
                );
                None
            }
        }
    }

    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    /// The value under `key`, marking the key as known whether or not it is present.
    pub fn get(&mut self, key: &'static str) -> Option<&'n Spanned<Node>> {
        self.known.push(key);
        let i = self.entries.iter().position(|(k, _)| k.get_ref() == key)?;
        self.used[i] = true;
        Some(&self.entries[i].1)
    }

    /// Reports a required key that is absent, at the start of its table.
    pub fn missing(&self, key: &str, problems: &mut Problems) {
        problems.error(
            self.span(),
            format!("{} is missing required key `{key}`", self.name),
        );
    }

    pub fn string(
        &mut self,
        key: &'static str,
        problems: &mut Problems,
    ) -> Option<Spanned<String>> {
        let node = self.get(key)?;
        as_string(node, key, problems)
    }

    pub fn required_string(
        &mut self,
        key: &'static str,
        problems: &mut Problems,
    ) -> Option<Spanned<String>> {
        if self.entries.iter().all(|(k, _)| k.get_ref() != key) {
            self.known.push(key);
            self.missing(key, problems);
            return None;
        }
        self.string(key, problems)
    }

    pub fn integer(&mut self, key: &'static str, problems: &mut Problems) -> Option<Spanned<i64>> {
        let node = self.get(key)?;
        match node.get_ref() {
            Node::Integer(v) => Some(Spanned::new(node.span(), *v)),
            other => {
                type_error(node, key, "an integer", other, problems);
                None
            }
        }
    }

    pub fn boolean(&mut self, key: &'static str, problems: &mut Problems) -> Option<Spanned<bool>> {
        let node = self.get(key)?;
        match node.get_ref() {
            Node::Boolean(v) => Some(Spanned::new(node.span(), *v)),
            other => {
                type_error(node, key, "true or false", other, problems);
                None
            }
        }
    }

    /// An array of strings. Items of the wrong type are reported and skipped.
    pub fn strings(
        &mut self,
        key: &'static str,
        problems: &mut Problems,
    ) -> Option<Spanned<Vec<Spanned<String>>>> {
        let node = self.get(key)?;
        match node.get_ref() {
            Node::Array(items) => {
                let list = items
                    .iter()
                    .filter_map(|item| as_string(item, key, problems))
                    .collect();
                Some(Spanned::new(node.span(), list))
            }
            other => {
                type_error(node, key, "an array of strings", other, problems);
                None
            }
        }
    }

    /// One string or an array of strings (`lunch = "13:00-14:00"` or `mon = ["09:00-13:00",
    /// "14:00-18:00"]`); absent is an empty list.
    pub fn string_or_list(
        &mut self,
        key: &'static str,
        problems: &mut Problems,
    ) -> Vec<Spanned<String>> {
        let Some(node) = self.get(key) else {
            return Vec::new();
        };
        string_or_list(node, key, problems)
    }

    /// Every entry whose key is in `keys`, marking them all as known: for families of keys like
    /// the days of the week, kept in file order.
    pub fn entries_of(
        &mut self,
        keys: &[&'static str],
    ) -> Vec<(Spanned<String>, &'n Spanned<Node>)> {
        self.known.extend_from_slice(keys);
        let mut out = Vec::new();
        for (i, (k, v)) in self.entries.iter().enumerate() {
            if keys.contains(&k.get_ref().as_str()) {
                self.used[i] = true;
                out.push((k.clone(), v));
            }
        }
        out
    }

    /// A sub-table, inline (`key = { ... }`) or as its own `[parent.key]` section.
    pub fn table(
        &mut self,
        key: &'static str,
        name: String,
        problems: &mut Problems,
    ) -> Option<TableReader<'n>> {
        let node = self.get(key)?;
        TableReader::new(node, name, problems)
    }

    /// An array of tables (`[[key]]`); a missing key is an empty list.
    pub fn tables(&mut self, key: &'static str, problems: &mut Problems) -> Vec<TableReader<'n>> {
        let Some(node) = self.get(key) else {
            return Vec::new();
        };
        match node.get_ref() {
            Node::Array(items) => items
                .iter()
                .filter_map(|item| TableReader::new(item, format!("[[{key}]]"), problems))
                .collect(),
            other => {
                problems.error_hint(
                    node.span(),
                    format!(
                        "`{key}` must be an array of tables, found {}",
                        other.type_name()
                    ),
                    format!("write each entry as its own `[[{key}]]` section"),
                );
                Vec::new()
            }
        }
    }

    /// A table whose keys are free-form (e.g. `utm`): every entry, values read as strings.
    pub fn string_map(
        &mut self,
        key: &'static str,
        problems: &mut Problems,
    ) -> Vec<(Spanned<String>, Spanned<String>)> {
        let Some(node) = self.get(key) else {
            return Vec::new();
        };
        match node.get_ref() {
            Node::Table(entries) => entries
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), as_string(v, k.get_ref(), problems)?)))
                .collect(),
            other => {
                type_error(node, key, "a table of strings", other, problems);
                Vec::new()
            }
        }
    }

    /// Reports every key no reader asked for. Call once all keys have been read.
    pub fn finish(self, problems: &mut Problems) {
        for ((key, _), used) in self.entries.iter().zip(&self.used) {
            if *used {
                continue;
            }
            let message = format!("unknown key `{}` in {}", key.get_ref(), self.name);
            match closest(key.get_ref(), self.known.iter().copied()) {
                Some(near) => {
                    problems.error_hint(key.span(), message, format!("did you mean `{near}`?"))
                }
                None => {
                    let mut known = self.known.clone();
                    known.sort_unstable();
                    known.dedup();
                    problems.error_hint(
                        key.span(),
                        message,
                        format!("known keys here: {}", known.join(", ")),
                    );
                }
            }
        }
    }
}

pub(crate) fn string_or_list(
    node: &Spanned<Node>,
    key: &str,
    problems: &mut Problems,
) -> Vec<Spanned<String>> {
    match node.get_ref() {
        Node::String(s) => vec![Spanned::new(node.span(), s.clone())],
        Node::Array(items) => items
            .iter()
            .filter_map(|item| as_string(item, key, problems))
            .collect(),
        other => {
            type_error(
                node,
                key,
                "a string or an array of strings",
                other,
                problems,
            );
            Vec::new()
        }
    }
}

pub(crate) fn as_string(
    node: &Spanned<Node>,
    key: &str,
    problems: &mut Problems,
) -> Option<Spanned<String>> {
    match node.get_ref() {
        Node::String(s) => Some(Spanned::new(node.span(), s.clone())),
        other => {
            type_error(node, key, "a string", other, problems);
            None
        }
    }
}

fn type_error(
    node: &Spanned<Node>,
    key: &str,
    expected: &str,
    found: &Node,
    problems: &mut Problems,
) {
    let hint = match (expected, found) {
        ("a string", Node::Integer(_) | Node::Float) => Some("put the value in double quotes"),
        ("an integer", Node::String(_)) => Some("write the number without quotes"),
        ("true or false", Node::String(_)) => Some("write true or false without quotes"),
        _ => None,
    };
    let message = format!("`{key}` must be {expected}, found {}", found.type_name());
    match hint {
        Some(hint) => problems.error_hint(node.span(), message, hint),
        None => problems.error(node.span(), message),
    }
}
