//! TOML snapshots, read with spans into the same tree as JSON.

use toml::de::{DeTable, DeValue};

use super::doc::{DocValue, Node};
use crate::span::Span;

/// A syntax error with where it is, when TOML says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TomlError {
    pub message: String,
    pub span: Option<Span>,
}

pub fn parse(text: &str) -> Result<Node<'_>, TomlError> {
    let table = DeTable::parse(text).map_err(|e| TomlError {
        message: e.message().trim().to_owned(),
        span: e.span().map(|r| Span::new(r.start, r.end)),
    })?;
    let span = table.span();
    Ok(Node {
        value: table_value(table.get_ref()),
        span: Span::new(span.start, span.end),
    })
}

fn table_value<'a>(table: &DeTable<'a>) -> DocValue<'a> {
    DocValue::Object(
        table
            .iter()
            .map(|(key, value)| {
                let key_span = key.span();
                (
                    key.get_ref().clone(),
                    Span::new(key_span.start, key_span.end),
                    node(value.get_ref(), value.span()),
                )
            })
            .collect(),
    )
}

fn node<'a>(value: &DeValue<'a>, span: std::ops::Range<usize>) -> Node<'a> {
    let value = match value {
        DeValue::String(s) => DocValue::String(s.clone()),
        // TOML allows `1_000`; amounts are read the same without the `_`.
        DeValue::Integer(i) if i.radix() == 10 => {
            DocValue::Number(i.as_str().replace('_', "").into())
        }
        DeValue::Integer(i) => DocValue::Number(i.to_string().into()),
        DeValue::Float(f) => DocValue::Number(f.as_str().replace('_', "").into()),
        DeValue::Boolean(b) => DocValue::Bool(*b),
        DeValue::Datetime(d) => DocValue::Datetime(d.to_string()),
        DeValue::Array(items) => {
            DocValue::Array(items.iter().map(|i| node(i.get_ref(), i.span())).collect())
        }
        DeValue::Table(t) => table_value(t),
    };
    Node {
        value,
        span: Span::new(span.start, span.end),
    }
}
