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

/// Most parts a dotted key or a table header may have. The `toml` crate
/// refuses a key of more (its recursion limit) and says neither which key
/// nor where; [`deep_key`] finds it.
pub const MAX_KEY_PARTS: usize = 80;

pub fn parse(text: &str) -> Result<Node<'_>, TomlError> {
    let table = DeTable::parse(text).map_err(|e| {
        let message = e.message().trim();
        match e.span() {
            Some(r) => TomlError {
                message: message.to_owned(),
                span: Some(Span::new(r.start, r.end)),
            },
            None => match deep_key(text).filter(|_| message.contains("recursion limit")) {
                Some((span, parts)) => TomlError {
                    message: format!(
                        "this key has {parts} parts, more than the limit of {MAX_KEY_PARTS}"
                    ),
                    span: Some(span),
                },
                None => TomlError {
                    message: message.to_owned(),
                    span: None,
                },
            },
        }
    })?;
    let span = table.span();
    Ok(Node {
        value: table_value(text, table.get_ref()),
        span: Span::new(span.start, span.end),
    })
}

/// The first dotted key or table header of more than [`MAX_KEY_PARTS`]
/// parts, and how many it has. Read only once `toml` has refused the text,
/// so it need not be exact TOML: a part is a bare word or a quoted string,
/// parts are joined by dots (spaces around them allowed), comments are
/// skipped. One pass over the text, each byte looked at once.
fn deep_key(text: &str) -> Option<(Span, usize)> {
    let b = text.as_bytes();
    let mut i = 0;
    // The key being read: where it starts, where its last part ends, how
    // many parts it has, and whether a dot waits for the next part.
    let mut start = 0;
    let mut end = 0;
    let mut parts = 0usize;
    let mut after_dot = false;
    let done = |start: usize, end: usize, parts: usize| {
        (parts > MAX_KEY_PARTS).then(|| (Span::new(start, end), parts))
    };
    while let Some(&c) = b.get(i) {
        let token_end = match c {
            b'"' | b'\'' => {
                let triple = if c == b'"' {
                    &b"\"\"\""[..]
                } else {
                    &b"'''"[..]
                };
                if b.get(i..i + 3) == Some(triple) {
                    let rest = b.get(i + 3..).unwrap_or(&[]);
                    rest.windows(3)
                        .position(|w| w == triple)
                        .map_or(b.len(), |p| i + 3 + p + 3)
                } else {
                    let mut j = i + 1;
                    while let Some(&d) = b.get(j) {
                        if d == c || d == b'\n' {
                            break;
                        }
                        j += if c == b'"' && d == b'\\' { 2 } else { 1 };
                    }
                    (j + 1).min(b.len())
                }
            }
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' => {
                let rest = b.get(i..).unwrap_or(&[]);
                i + rest
                    .iter()
                    .position(|&d| !(d.is_ascii_alphanumeric() || d == b'_' || d == b'-'))
                    .unwrap_or(rest.len())
            }
            b' ' | b'\t' => {
                i += 1;
                continue;
            }
            b'.' if parts > 0 && !after_dot => {
                after_dot = true;
                i += 1;
                continue;
            }
            _ => {
                if let Some(found) = done(start, end, parts) {
                    return Some(found);
                }
                parts = 0;
                after_dot = false;
                if c == b'#' {
                    let rest = b.get(i..).unwrap_or(&[]);
                    i += rest.iter().position(|&d| d == b'\n').unwrap_or(rest.len());
                } else {
                    i += 1;
                }
                continue;
            }
        };
        // A part: the next of this key after a dot, or the first of another.
        if parts > 0 && after_dot {
            parts += 1;
        } else {
            if let Some(found) = done(start, end, parts) {
                return Some(found);
            }
            start = i;
            parts = 1;
        }
        after_dot = false;
        end = token_end;
        i = token_end.max(i + 1);
    }
    done(start, end, parts)
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
    fn a_key_too_deep_is_found_where_it_is() {
        let deep = format!("{}a", "a . ".repeat(MAX_KEY_PARTS));
        for (text, at) in [
            (format!("x = 1.5 # a.b.c\n[s]\n{deep} = 1\n"), 20),
            (
                format!("s = \"\"\"\n{deep}\"\"\"\n[{deep}]\n"),
                8 + deep.len() + 5,
            ),
            (
                format!("y = {{ {} = 1 }}", "'a'.".repeat(90) + "\"b\\\"\""),
                6,
            ),
        ] {
            let e = parse(&text).unwrap_err();
            let span = e.span.unwrap();
            assert_eq!(span.start as usize, at, "{text}: {e:?}");
            assert!(e.message.contains("parts, more than the limit"), "{e:?}");
        }
        // At the limit, TOML reads it.
        let ok = format!("{}a = 1\n", "a.".repeat(MAX_KEY_PARTS - 1));
        assert!(parse(&ok).is_ok());
        assert_eq!(deep_key(&ok), None);
    }

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
