//! A TOML document as a tree of values that remember where they were written.
//!
//! `toml::Value` forgets positions, and a typed serde struct stops at the first error. This tree
//! keeps a byte span on every key and value, so the config reader can report every problem in the
//! file at once, each at the exact place it was written.

use std::fmt;
use std::ops::Range;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_spanned::Spanned;

/// One TOML value with its children, every one of them spanned.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    String(String),
    Integer(i64),
    /// No setting takes a float; the value only matters for "found a float" messages.
    Float,
    Boolean(bool),
    Array(Vec<Spanned<Node>>),
    /// Entries in file order; TOML itself rejects duplicate keys, so they are unique.
    Table(Vec<(Spanned<String>, Spanned<Node>)>),
}

impl Node {
    /// What the value is, in TOML's words, for "expected X, found Y" messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Node::String(_) => "a string",
            Node::Integer(_) => "an integer",
            Node::Float => "a float",
            Node::Boolean(_) => "a boolean",
            Node::Array(_) => "an array",
            Node::Table(_) => "a table",
        }
    }
}

/// Parses a whole document. The error carries the byte span toml gives for syntax errors.
pub(crate) fn parse_document(text: &str) -> Result<Spanned<Node>, (Option<Range<usize>>, String)> {
    match toml::from_str::<Spanned<Node>>(text) {
        Ok(node) => Ok(node),
        Err(e) => Err((e.span(), e.message().to_owned())),
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a TOML value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Boolean(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Integer(v))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Node, E> {
        i64::try_from(v)
            .map(Node::Integer)
            .map_err(|_| E::custom("integer out of range"))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Float)
    }

    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            let value = map.next_value::<Spanned<Node>>()?;
            entries.push((key, value));
        }
        Ok(Node::Table(entries))
    }
}
