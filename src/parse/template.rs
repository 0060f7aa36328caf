//! Messages with `{...}` interpolations.
//!
//! Inside a message, `{path}` inserts a value, `{path:date}` formats a
//! timestamp as a date, and `{path ?? some words}` gives the words to use
//! when the value is absent. `{{` and `}}` stand for literal braces.

use super::lower::Names;
use crate::ast::{Ident, Interpolation, Path, TemplatePart};
use crate::diagnostic::{Code, Diagnostic};
use crate::span::Span;

/// Parses one string literal's raw text (between the quotes, escapes not yet
/// applied) that starts at byte `start` of the file, appending to `parts`.
pub(super) fn parse(
    raw: &str,
    start: usize,
    parts: &mut Vec<TemplatePart>,
    diags: &mut Vec<Diagnostic>,
    names: &mut Names,
) {
    let mut text = String::new();
    let mut rest = raw;
    let mut at = start;
    while let Some(i) = rest.find(['{', '}']) {
        let (before, from) = rest.split_at(i);
        text.push_str(before);
        at += i;
        if from.starts_with("{{") || from.starts_with("}}") {
            text.push_str(from.get(..1).unwrap_or(""));
            rest = from.get(2..).unwrap_or("");
            at += 2;
            continue;
        }
        if from.starts_with('}') {
            diags.push(
                Diagnostic::new(
                    Code::InvalidTemplate,
                    Span::new(at, at + 1),
                    "unmatched `}` in a message",
                )
                .label("no `{` before this")
                .help("write `}}` for a literal brace"),
            );
            rest = from.get(1..).unwrap_or("");
            at += 1;
            continue;
        }
        let Some(close) = from.find('}') else {
            diags.push(
                Diagnostic::new(
                    Code::InvalidTemplate,
                    Span::new(at, start + raw.len()),
                    "unclosed `{` in a message",
                )
                .label("this interpolation never closes")
                .help("close it with `}`, or write `{{` for a literal brace"),
            );
            rest = "";
            break;
        };
        let inner = from.get(1..close).unwrap_or("");
        let span = Span::new(at, at + close + 1);
        if !text.is_empty() {
            parts.push(TemplatePart::Text(unescape(&std::mem::take(&mut text))));
        }
        names.interpolations += 1;
        if names.interpolations > super::MAX_INTERPOLATIONS {
            // Told once; the rest are not kept, so what they cost stays
            // bounded whatever the file holds.
            if names.interpolations == super::MAX_INTERPOLATIONS + 1 {
                diags.push(
                    Diagnostic::new(
                        Code::InvalidTemplate,
                        span,
                        format!(
                            "more than {} `{{…}}` interpolations in one policy",
                            super::MAX_INTERPOLATIONS
                        ),
                    )
                    .label("one too many")
                    .help("a message names a few values; write the rest as text, or write `{{` for a literal brace"),
                );
            }
        } else {
            match interpolation(inner, at + 1, span, names) {
                Ok(value) => parts.push(TemplatePart::Value(Box::new(value))),
            Err(why) => diags.push(
                Diagnostic::new(Code::InvalidTemplate, span, format!("invalid interpolation `{{{inner}}}`"))
                    .label(why)
                    .help("write `{name}`, `{field.path}`, `{field.path:date}` or `{field.path ?? words if absent}`"),
                ),
            }
        }
        rest = from.get(close + 1..).unwrap_or("");
        at += close + 1;
    }
    text.push_str(rest);
    if !text.is_empty() {
        parts.push(TemplatePart::Text(unescape(&text)));
    }
}

/// `path[:format][ ?? fallback]`, `at` being where `inner` starts.
fn interpolation(
    inner: &str,
    at: usize,
    span: Span,
    names: &mut Names,
) -> Result<Interpolation, &'static str> {
    let (head, fallback) = match inner.split_once("??") {
        Some((head, fallback)) => (head, Some(unescape(fallback.trim()))),
        None => (inner, None),
    };
    let (path_text, format) = match head.split_once(':') {
        Some((p, f)) => (p, Some(f)),
        None => (head, None),
    };
    let lead = path_text.len() - path_text.trim_start().len();
    let path_text = path_text.trim();
    if path_text.is_empty() {
        return Err("a name is missing between the braces");
    }
    let mut segments = Vec::with_capacity(path_text.split('.').count());
    let mut offset = at + lead;
    for segment in path_text.split('.') {
        if !is_name(segment) {
            return Err("not a name or a dotted path");
        }
        segments.push(Ident {
            name: names.get(segment),
            span: Span::new(offset, offset + segment.len()),
        });
        offset += segment.len() + 1;
    }
    let format = match format {
        Some(f) => {
            let name = f.trim();
            if !is_name(name) {
                return Err("a format such as `date` must follow `:`");
            }
            let f_at = at + head.find(':').unwrap_or(0) + 1 + (f.len() - f.trim_start().len());
            Some(Ident {
                name: names.get(name),
                span: Span::new(f_at, f_at + name.len()),
            })
        }
        None => None,
    };
    Ok(Interpolation {
        path: Path {
            segments: segments.into_boxed_slice(),
        },
        format,
        fallback,
        span,
    })
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Applies `\"`, `\\`, `\n`, `\t`; any other escaped character stands for itself.
pub(crate) fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// Joins adjacent text parts (from adjacent string literals).
pub(super) fn merge_text(parts: &mut Vec<TemplatePart>) {
    let mut merged: Vec<TemplatePart> = Vec::with_capacity(parts.len());
    for part in parts.drain(..) {
        match (merged.last_mut(), part) {
            (Some(TemplatePart::Text(prev)), TemplatePart::Text(next)) => prev.push_str(&next),
            (_, part) => merged.push(part),
        }
    }
    *parts = merged;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(raw: &str) -> (Vec<TemplatePart>, Vec<Diagnostic>) {
        let mut parts = Vec::new();
        let mut diags = Vec::new();
        parse(raw, 10, &mut parts, &mut diags, &mut Names::default());
        (parts, diags)
    }

    #[test]
    fn splits_text_and_values() {
        let (p, d) =
            parts("Only {usable} left, refresh {subscription.period_end:date ?? soon}. {{ok}}");
        assert!(d.is_empty());
        assert_eq!(p.len(), 5);
        let TemplatePart::Value(v) = &p[3] else {
            panic!("{p:?}")
        };
        assert_eq!(v.path.dotted(), "subscription.period_end");
        assert_eq!(v.format.as_ref().map(|f| &*f.name), Some("date"));
        assert_eq!(v.fallback.as_deref(), Some("soon"));
        assert_eq!(p[4], TemplatePart::Text(". {ok}".into()));
        // `usable` starts one byte after the `{` at offset 5 of the raw text.
        let TemplatePart::Value(u) = &p[1] else {
            panic!("{p:?}")
        };
        assert_eq!(u.path.span().start, 16);
    }

    #[test]
    fn reports_broken_braces() {
        assert_eq!(parts("a } b").1.len(), 1);
        assert_eq!(parts("a {b").1.len(), 1);
        assert_eq!(parts("a {} b").1.len(), 1);
        assert_eq!(parts("a {x y} b").1.len(), 1);
    }
}
