//! Semantic tokens: every word, string, number, comment and operator of a
//! policy with what it is, names classified by the symbol table (a role, a
//! step, an enum value ...), for highlighting that knows the policy.

use super::analysis::Analysis;
use super::index::{Kind, Target};
use crate::span::Span;

/// The token types, in the order of the legend the server announces.
pub const TYPES: &[&str] = &[
    "keyword",
    "comment",
    "string",
    "number",
    "operator",
    "namespace",
    "class",
    "enum",
    "enumMember",
    "property",
    "variable",
    "function",
    "event",
    "type",
    "method",
    "typeParameter",
];

/// The token modifiers, in the order of the legend.
pub const MODIFIERS: &[&str] = &["declaration", "documentation", "defaultLibrary"];

const KEYWORD: u32 = 0;
const COMMENT: u32 = 1;
const STRING: u32 = 2;
const NUMBER: u32 = 3;
const OPERATOR: u32 = 4;
const TYPE: u32 = 13;
const DECLARATION: u32 = 1;
const DOCUMENTATION: u32 = 2;
const DEFAULT_LIBRARY: u32 = 4;

/// The type of a declared name of `kind`.
fn name_type(kind: Kind) -> u32 {
    match kind {
        Kind::Policy | Kind::Category => 5,
        Kind::Role => 6,
        Kind::Enum => 7,
        Kind::EnumValue | Kind::CreditKind | Kind::DebtKind => 8,
        Kind::Field | Kind::GrantAttr => 9,
        Kind::Let => 10,
        Kind::Step => 11,
        Kind::Action => 12,
        Kind::State => 13,
        Kind::Rule => 14,
        Kind::Access => 15,
        Kind::Assertion => 14,
    }
}

/// One token: where, its type and modifiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    /// Where it is; never across a line break.
    pub span: Span,
    /// Index into [`TYPES`].
    pub ty: u32,
    /// Bits of [`MODIFIERS`].
    pub modifiers: u32,
}

/// Words that are keywords only where the language uses them.
const CONTEXTUAL: &[&str] = &[
    "after",
    "only",
    "even",
    "if",
    "denied",
    "never",
    "implies",
    "some",
    "allow",
    "permitted",
];

/// The most tokens one answer holds (`MAX_SEMANTIC_TOKENS`): each costs
/// about 200 bytes on its way out (the protocol library builds the whole
/// answer as a JSON document before writing it), so an 8 MB policy of
/// `a<b,` items, six million tokens, held 2.7 GB. An answer stops at the
/// limit; editors that ask for ranges (VS Code asks for what is on
/// screen) get every token of a range however far down it lies.
pub const MAX_SEMANTIC_TOKENS: usize = 100_000;

/// The tokens of the whole document, in order: the first
/// [`MAX_SEMANTIC_TOKENS`].
pub fn tokens(a: &Analysis) -> Vec<Token> {
    tokens_in(a, Span::new(0, a.src().len()))
}

/// The tokens that start within `within`, in order, at most
/// [`MAX_SEMANTIC_TOKENS`]. The scan starts at the line `within` starts
/// on: no token (a comment and a string included) goes past a line's end,
/// so a line's start is always between tokens.
pub fn tokens_in(a: &Analysis, within: Span) -> Vec<Token> {
    let text = a.src();
    let bytes = text.as_bytes();
    let end = (within.end as usize).min(bytes.len());
    let mut out = Vec::new();
    let mut i = line_start(bytes, within.start as usize);
    let push = |out: &mut Vec<Token>, s: usize, e: usize, ty: u32, modifiers: u32| {
        if e > s {
            out.push(Token {
                span: Span::new(s, e),
                ty,
                modifiers,
            });
        }
    };
    while i < end && out.len() < MAX_SEMANTIC_TOKENS {
        let b = bytes.get(i).copied().unwrap_or(0);
        let start = i;
        match b {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && !matches!(bytes.get(i), Some(b'\n' | b'\r')) {
                    i += 1;
                }
                let doc = bytes.get(start + 2) == Some(&b'/');
                push(
                    &mut out,
                    start,
                    i,
                    COMMENT,
                    if doc { DOCUMENTATION } else { 0 },
                );
            }
            b'"' => {
                i += 1;
                while let Some(&c) = bytes.get(i) {
                    match c {
                        b'\\' if !matches!(bytes.get(i + 1), Some(b'\n' | b'\r') | None) => i += 2,
                        b'"' => {
                            i += 1;
                            break;
                        }
                        b'\n' | b'\r' => break,
                        _ => i += 1,
                    }
                }
                i = i.min(bytes.len());
                // Names inside `{...}` are tokens of their own.
                let mut at = start;
                let first = a
                    .index
                    .refs
                    .partition_point(|r| (r.span.start as usize) < start);
                for r in a.index.refs.get(first..).unwrap_or(&[]) {
                    let (s, e) = (r.span.start as usize, r.span.end as usize);
                    if s >= i {
                        break;
                    }
                    push(&mut out, at, s, STRING, 0);
                    out.push(reference(a, r.span, r.target));
                    at = e;
                }
                push(&mut out, at, i, STRING, 0);
            }
            _ if b.is_ascii_digit() => {
                while bytes
                    .get(i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'.')
                {
                    i += 1;
                }
                push(&mut out, start, i, NUMBER, 0);
            }
            _ if b.is_ascii_alphabetic() || b == b'_' => {
                while bytes
                    .get(i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                {
                    i += 1;
                }
                let word = text.get(start..i).unwrap_or("");
                match a.index.at(start) {
                    Some((span, target)) if span.start as usize == start => {
                        let t = reference(a, span, target);
                        i = i.max(t.span.end as usize).min(bytes.len());
                        // A path is one name: `subscription.status`.
                        out.push(t);
                    }
                    _ if crate::parse::is_keyword(word) || CONTEXTUAL.contains(&word) => {
                        push(&mut out, start, i, KEYWORD, 0);
                    }
                    _ if super::index::BASE_TYPES.contains(&word) => {
                        push(&mut out, start, i, TYPE, DEFAULT_LIBRARY);
                    }
                    _ => {}
                }
            }
            b'=' | b'!' | b'<' | b'>' | b'?' | b'+' | b'-' | b'*' => {
                i += 1;
                if matches!(bytes.get(i), Some(b'=' | b'?')) {
                    i += 1;
                }
                push(&mut out, start, i, OPERATOR, 0);
            }
            _ => {
                i += text
                    .get(i..)
                    .and_then(|t| t.chars().next())
                    .map_or(1, char::len_utf8);
            }
        }
    }
    // The scan began at a line's start and a token may end past `within`
    // (or, at the limit, one string's pieces past it): keep those that
    // start inside.
    out.retain(|t| t.span.start >= within.start && (t.span.start as usize) < end);
    out.truncate(MAX_SEMANTIC_TOKENS);
    out
}

/// The start of the line `at` is on: just past the `\n` or `\r` before it.
fn line_start(bytes: &[u8], at: usize) -> usize {
    let at = at.min(bytes.len());
    bytes
        .get(..at)
        .and_then(|b| b.iter().rposition(|c| matches!(c, b'\n' | b'\r')))
        .map_or(0, |p| p + 1)
}

/// The token of a name the index knows.
fn reference(a: &Analysis, span: Span, target: Target) -> Token {
    match target {
        Target::Builtin(_) => Token {
            span,
            ty: 10,
            modifiers: DEFAULT_LIBRARY,
        },
        Target::Symbol(s) => {
            let sym = a.index.symbols.get(s);
            Token {
                span,
                ty: sym.map_or(10, |s| name_type(s.kind)),
                modifiers: if sym.is_some_and(|s| s.span == span) {
                    DECLARATION
                } else {
                    0
                },
            }
        }
    }
}

/// The tokens in the protocol's relative encoding: five numbers a token
/// (line delta, start delta, length, type, modifiers), columns and
/// lengths in the agreed encoding. A token over a line break (a path
/// written across lines) is left out.
pub fn encode(a: &Analysis, tokens: &[Token], enc: super::text::Encoding) -> Vec<u32> {
    let mut out = Vec::with_capacity(tokens.len() * 5);
    let (mut line, mut col) = (0u32, 0u32);
    for t in tokens {
        let (s, e) = a.range(t.span, enc);
        if s.line != e.line || e.col <= s.col {
            continue;
        }
        let dl = s.line - line;
        let dc = if dl == 0 { s.col - col } else { s.col };
        out.extend([dl, dc, e.col - s.col, t.ty, t.modifiers]);
        line = s.line;
        col = s.col;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lsp::text::{Encoding, Text};
    use std::sync::Arc;

    #[test]
    fn names_are_classified_and_strings_split_around_them() {
        let text = "/// Doc.\npolicy p\nrole owner\nfield a.b: decimal default 1\n\
                    step s \"Only {a.b} left ä.\"\nstate ok when a.b >= 2 and role == owner\n";
        let a = Analysis::new("t", Arc::new(Text::new(text.to_owned())));
        let shown: Vec<String> = tokens(&a)
            .iter()
            .map(|t| {
                format!(
                    "{}:{}{}",
                    a.slice(t.span),
                    TYPES.get(t.ty as usize).unwrap_or(&"?"),
                    if t.modifiers & DECLARATION != 0 {
                        "+decl"
                    } else {
                        ""
                    }
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                "/// Doc.:comment",
                "policy:keyword",
                "p:namespace+decl",
                "role:keyword",
                "owner:class+decl",
                "field:keyword",
                "a.b:property+decl",
                "decimal:type",
                "default:keyword",
                "1:number",
                "step:keyword",
                "s:function+decl",
                "\"Only {:string",
                "a.b:property",
                "} left ä.\":string",
                "state:keyword",
                "ok:type+decl",
                "when:keyword",
                "a.b:property",
                ">=:operator",
                "2:number",
                "and:keyword",
                "role:variable",
                "==:operator",
                "owner:class",
            ]
        );
        // Relative encoding: the first token at 0:0, lengths in UTF-16.
        let data = encode(&a, &tokens(&a), Encoding::Utf16);
        assert_eq!(data.get(..5), Some(&[0, 0, 8, COMMENT, DOCUMENTATION][..]));
        assert_eq!(data.len() % 5, 0);
    }
}
