//! A snapshot document as parsed, before validation: JSON and TOML both
//! become this tree, so one validator serves both and reports the same
//! field paths and lines.

use crate::span::Span;

/// A value with where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: DocValue,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum DocValue {
    Null,
    Bool(bool),
    /// A number, as written (validation decides what it may be).
    Number(String),
    String(String),
    /// A TOML date-time, as written.
    Datetime(String),
    Array(Vec<Node>),
    /// Keys in document order, each with its own span.
    Object(Vec<(String, Span, Node)>),
}

impl DocValue {
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
