//! A TOML document as a tree of values that remember where they were written.
//!
//! `toml::Value` forgets positions, and a typed serde struct stops at the first error. This tree
//! keeps a byte span on every key and value, so the config reader can report every problem in the
//! file at once, each at the exact place it was written.
//!
//! toml hands out spans through serde_spanned's private struct protocol, but not for everything:
//! tables made implicitly by dotted keys (`server.node_id = "x"`) have none. So values are first
//! read into [`Raw`] with optional spans, then [`Raw::into_node`] fills the gaps from the nearest
//! key or parent that has one.

use std::fmt;
use std::ops::Range;

use serde::de::{Deserialize, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde_spanned::__unstable::{END_FIELD, NAME, START_FIELD, VALUE_FIELD};
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

/// The marker toml uses for datetimes, which switchboard config never needs.
pub(crate) const DATETIME_FIELD: &str = "$__toml_private_datetime";

/// Parses a whole document. The error carries the byte span toml gives for syntax errors.
/// Every span is shifted by `base`: several files share one offset space (see
/// [`crate::source::SourceMap`]), so a span alone says which file it is in.
pub(crate) fn parse_document(
    text: &str,
    base: usize,
) -> Result<Spanned<Node>, (Option<Range<usize>>, String)> {
    match toml::from_str::<Raw>(text) {
        Ok(raw) => Ok(raw.into_node(base..base, base)),
        Err(e) => Err((
            e.span().map(|s| s.start + base..s.end + base),
            e.message().to_owned(),
        )),
    }
}

/// A value as toml delivered it: with a span when toml had one.
#[derive(Debug)]
struct Raw {
    span: Option<Range<usize>>,
    value: RawValue,
}

#[derive(Debug)]
enum RawValue {
    String(String),
    Integer(i64),
    Float,
    Boolean(bool),
    Array(Vec<Raw>),
    Table(Vec<(RawKey, Raw)>),
}

#[derive(Debug)]
struct RawKey {
    span: Option<Range<usize>>,
    name: String,
}

impl Raw {
    /// Fills missing spans: a value without one takes `fallback` (its key's span, or its
    /// parent's), a key without one takes its value's.
    fn into_node(self, fallback: Range<usize>, base: usize) -> Spanned<Node> {
        let span = self.span.map_or(fallback, |s| s.start + base..s.end + base);
        let node = match self.value {
            RawValue::String(s) => Node::String(s),
            RawValue::Integer(i) => Node::Integer(i),
            RawValue::Float => Node::Float,
            RawValue::Boolean(b) => Node::Boolean(b),
            RawValue::Array(items) => Node::Array(
                items
                    .into_iter()
                    .map(|i| i.into_node(span.clone(), base))
                    .collect(),
            ),
            RawValue::Table(entries) => Node::Table(
                entries
                    .into_iter()
                    .map(|(key, value)| {
                        let key_span = key
                            .span
                            .or_else(|| value.span.clone())
                            .map_or_else(|| span.clone(), |s| s.start + base..s.end + base);
                        let value = value.into_node(key_span.clone(), base);
                        (Spanned::new(key_span, key.name), value)
                    })
                    .collect(),
            ),
        };
        Spanned::new(span, node)
    }
}

const SPANNED_FIELDS: &[&str] = &[START_FIELD, END_FIELD, VALUE_FIELD];

impl<'de> Deserialize<'de> for Raw {
    /// Asks for the spanned form; toml answers with it when it has a span, and with the plain
    /// value otherwise.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_struct(NAME, SPANNED_FIELDS, RawVisitor)
    }
}

/// The value inside a spanned wrapper. Read with `deserialize_any`, because asking for the
/// spanned form again would make toml wrap it again, forever.
struct Inner(Raw);

impl<'de> Deserialize<'de> for Inner {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawVisitor).map(Inner)
    }
}

struct RawVisitor;

fn plain(value: RawValue) -> Raw {
    Raw { span: None, value }
}

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a TOML value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Raw, E> {
        Ok(plain(RawValue::Boolean(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Raw, E> {
        Ok(plain(RawValue::Integer(v)))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Raw, E> {
        i64::try_from(v)
            .map(|v| plain(RawValue::Integer(v)))
            .map_err(|_| E::custom("integer out of range"))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Raw, E> {
        Ok(plain(RawValue::Float))
    }

    fn visit_str<E>(self, v: &str) -> Result<Raw, E> {
        Ok(plain(RawValue::String(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Raw, E> {
        Ok(plain(RawValue::String(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Raw>()? {
            items.push(item);
        }
        Ok(plain(RawValue::Array(items)))
    }

    /// Either the spanned wrapper (start, end, value) or a plain table.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let mut start: Option<usize> = None;
        let mut end: Option<usize> = None;
        let mut inner: Option<Raw> = None;
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<RawKey>()? {
            // The wrapper's field names come without spans; real keys from toml carry one or
            // are ordinary names.
            let wrapper = key.span.is_none() && entries.is_empty();
            match key.name.as_str() {
                START_FIELD if wrapper => start = Some(map.next_value()?),
                END_FIELD if wrapper => end = Some(map.next_value()?),
                VALUE_FIELD if wrapper => inner = Some(map.next_value::<Inner>()?.0),
                DATETIME_FIELD => return Err(A::Error::custom(DATETIME_FIELD)),
                _ => {
                    let value = map.next_value::<Raw>()?;
                    entries.push((key, value));
                }
            }
        }
        match (start, end, inner) {
            (Some(start), Some(end), Some(inner)) => Ok(Raw {
                span: Some(start..end),
                value: inner.value,
            }),
            _ => Ok(plain(RawValue::Table(entries))),
        }
    }
}

impl<'de> Deserialize<'de> for RawKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_struct(NAME, SPANNED_FIELDS, KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = RawKey;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a TOML key")
    }

    fn visit_str<E>(self, v: &str) -> Result<RawKey, E> {
        Ok(RawKey {
            span: None,
            name: v.to_owned(),
        })
    }

    fn visit_string<E>(self, v: String) -> Result<RawKey, E> {
        Ok(RawKey {
            span: None,
            name: v,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawKey, A::Error> {
        let mut start: Option<usize> = None;
        let mut end: Option<usize> = None;
        let mut name: Option<String> = None;
        while let Some(field) = map.next_key::<String>()? {
            match field.as_str() {
                START_FIELD => start = Some(map.next_value()?),
                END_FIELD => end = Some(map.next_value()?),
                VALUE_FIELD => name = Some(map.next_value()?),
                other => return Err(A::Error::unknown_field(other, SPANNED_FIELDS)),
            }
        }
        let name = name.ok_or_else(|| A::Error::missing_field(VALUE_FIELD))?;
        Ok(RawKey {
            span: start.zip(end).map(|(s, e)| s..e),
            name,
        })
    }
}
