//! A snapshot document as parsed, before validation: JSON and TOML both
//! become this tree, so one validator serves both and reports the same
//! field paths and lines. Text borrows from the input where it can.

use std::borrow::Cow;

use crate::span::Span;

/// A value with where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Node<'a> {
    pub value: DocValue<'a>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum DocValue<'a> {
    Null,
    Bool(bool),
    /// A number, as written (validation decides what it may be).
    Number(Cow<'a, str>),
    String(Cow<'a, str>),
    /// A TOML date-time, as written.
    Datetime(String),
    Array(Vec<Node<'a>>),
    /// Keys in document order, each with its own span.
    Object(Vec<(Cow<'a, str>, Span, Node<'a>)>),
}

impl DocValue<'_> {
    /// What a person would call this kind of value.
    pub fn kind(&self) -> &'static str {
        match self {
            DocValue::Null => "null",
            DocValue::Bool(_) => "a boolean",
            DocValue::Number(_) => "a number",
            DocValue::String(_) => "a string",
            DocValue::Datetime(_) => "a date-time",
            DocValue::Array(_) => "an array",
            DocValue::Object(_) => "an object",
        }
    }
}

impl Node<'_> {
    /// The same tree, owning its text (case files keep inline accounts).
    #[cfg(feature = "cli")]
    pub fn into_owned(self) -> Node<'static> {
        let own = |c: Cow<'_, str>| Cow::Owned(c.into_owned());
        let value = match self.value {
            DocValue::Null => DocValue::Null,
            DocValue::Bool(b) => DocValue::Bool(b),
            DocValue::Number(n) => DocValue::Number(own(n)),
            DocValue::String(s) => DocValue::String(own(s)),
            DocValue::Datetime(d) => DocValue::Datetime(d),
            DocValue::Array(items) => {
                DocValue::Array(items.into_iter().map(Node::into_owned).collect())
            }
            DocValue::Object(entries) => DocValue::Object(
                entries
                    .into_iter()
                    .map(|(k, s, v)| (own(k), s, v.into_owned()))
                    .collect(),
            ),
        };
        Node {
            value,
            span: self.span,
        }
    }
}
