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
        value: table_value(text, table.get_ref()),
        span: Span::new(span.start, span.end),
    })
}

fn table_value<'a>(text: &str, table: &DeTable<'a>) -> DocValue<'a> {
    DocValue::Object(
        table
            .iter()
            .map(|(key, value)| {
                let key_span = key.span();
                (
                    key.get_ref().clone(),
                    Span::new(key_span.start, key_span.end),
                    node(text, value.get_ref(), value.span()),
                )
            })
            .collect(),
    )
}

fn node<'a>(text: &str, value: &DeValue<'a>, span: std::ops::Range<usize>) -> Node<'a> {
    let value = match value {
        DeValue::String(s) => DocValue::String(s.clone()),
        // TOML allows `1_000`; amounts are read the same without the `_`.
        DeValue::Integer(i) if i.radix() == 10 => {
            DocValue::Number(i.as_str().replace('_', "").into())
        }
        DeValue::Integer(i) => DocValue::Number(i.to_string().into()),
        DeValue::Float(f) => DocValue::Number(f.as_str().replace('_', "").into()),
        DeValue::Boolean(b) => DocValue::Bool(*b),
        // As written, not as `toml` reads it: `toml` keeps any number of
        // fractional digits (dropping those past 9), so its text would pass
        // what the JSON form refuses. One rule, `Timestamp::parse`, for both.
        DeValue::Datetime(d) => DocValue::Datetime(
            text.get(span.clone())
                .map_or_else(|| d.to_string(), str::to_owned),
        ),
        DeValue::Array(items) => DocValue::Array(
            items
                .iter()
                .map(|i| node(text, i.get_ref(), i.span()))
                .collect(),
        ),
        DeValue::Table(t) => table_value(text, t),
    };
    Node {
        value,
        span: Span::new(span.start, span.end),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_times_keep_their_text() {
        let text = "now = 2026-11-22T10:00:00.1234567890123Z\nt = 2026-11-22 10:00:00+01:00\n";
        let doc = parse(text).unwrap();
        let DocValue::Object(entries) = doc.value else {
            panic!()
        };
        let values: Vec<DocValue> = entries.into_iter().map(|(_, _, n)| n.value).collect();
        assert_eq!(
            values,
            [
                DocValue::Datetime("2026-11-22T10:00:00.1234567890123Z".to_owned()),
                DocValue::Datetime("2026-11-22 10:00:00+01:00".to_owned()),
            ]
        );
    }
}
