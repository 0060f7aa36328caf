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

/// Room a list starts with once it has an item: a grant has six fields, so
/// most lists of a snapshot never grow. Allocated with `with_capacity`, a
/// direct call to the allocator: `reserve_exact` on an empty list goes
/// through the growth path, 1% of a batch's instructions.
pub(super) const LIST_START: usize = 8;

/// Values a document may hold before its lists give back their spare room
/// as they close. An account's snapshot holds a few hundred values and
/// pays nothing for this; a document of a million one-item lists
/// (`[0],[0],…`) would otherwise hold eight slots for each.
pub(super) const FIT_AFTER_VALUES: usize = 10_000;

/// A closed list; in a large document, its spare room given back when it
/// is mostly empty. An empty list never allocates.
pub(super) fn fitted<T>(mut items: Vec<T>, large: bool) -> Vec<T> {
    if large && items.capacity() > 2 * items.len() {
        items.shrink_to_fit();
    }
    items
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
