//! Parsing: policy text → AST, with every syntax problem as a diagnostic.

mod chunk;
mod expected;
mod lower;
mod template;

use std::sync::{Mutex, PoisonError};

use pest::Parser;

use crate::ast;
use crate::diagnostic::{Code, Diagnostic};
use crate::span::{Source, Span};

/// Largest policy file accepted, in bytes.
pub const MAX_POLICY_BYTES: usize = 8 << 20;
/// Deepest nesting accepted in one item: open brackets (`(`, `[`, `{`)
/// plus open `where` filters, the two things that nest in the grammar. The
/// chunk scan (`src/parse/chunk.rs`) counts them before pest runs, so pest's
/// recursion is bounded by this; tests/robustness.rs parses the deepest
/// item allowed on a 1 MiB stack. Real policies nest 3 or 4 levels.
pub const MAX_NESTING: usize = 32;
/// Deepest expression tree accepted (operators applied to operators), as
/// written in one expression: `not`, unary minus and operator chains
/// nest in the tree without nesting in the grammar, so the lowering counts
/// them. Every later pass over one expression (checking, compiling,
/// formatting) recurses at most this deep; through `let`s, the checker's
/// own limit applies (`MAX_EVAL_DEPTH` in `src/check/expr.rs`).
pub const MAX_EXPR_DEPTH: usize = 128;
/// Longest name accepted, in bytes.
pub const MAX_NAME_LEN: usize = 128;
/// Most tokens (names, numbers, strings, operators, brackets) one
/// declaration may hold. pest keeps two entries of 40 bytes for every rule
/// it matches while it parses a declaration, up to 220 bytes a token
/// (`[a < b, …]`: eleven rules for four tokens); one 8 MB `in [1, 1, …]`
/// list took 1.76 GB. The chunk scan counts tokens before pest runs, so a
/// declaration's parse holds at most about 11 MB. An `on` block of 1,000
/// rules fits, and a list of 20,000 items, twice what one expression may
/// evaluate; the reference policy's largest declaration holds a few
/// hundred.
pub const MAX_ITEM_TOKENS: usize = 50_000;

/// The most `{…}` interpolations one policy's messages hold together. A
/// message is one token whatever it holds, so the token limit never saw
/// them, and each costs about 136 bytes in the syntax tree for three bytes
/// of text, and as much again checked: 2.7 million `{x}` in an 8 MB policy
/// took 615 MB to check, 1.5 GB to format. The reference policy holds 6;
/// the three shipped policies 21 together.
pub const MAX_INTERPOLATIONS: usize = 100_000;

mod grammar {
    #![allow(missing_docs, clippy::all)]
    #[derive(pest_derive::Parser)]
    #[grammar = "../grammar/policy.pest"]
    pub(crate) struct PolicyParser;
}

use grammar::{PolicyParser, Rule};

/// A parsed policy: the tree, the comments (for the formatter), and every
/// syntax problem found. The tree holds whatever parsed; items with errors
/// are left out.
#[derive(Clone, Debug, Default)]
pub struct Parsed {
    pub policy: ast::Policy,
    pub comments: Vec<Span>,
    pub diagnostics: Vec<Diagnostic>,
    /// Whether some item could not be parsed and is missing from the tree.
    pub incomplete: bool,
}

/// Parses a policy source. Never fails: problems come back as diagnostics.
pub fn parse(source: &Source) -> Parsed {
    let text = source.text();
    let mut parsed = Parsed::default();
    if text.len() > MAX_POLICY_BYTES {
        parsed.diagnostics.push(
            Diagnostic::new(
                Code::FileTooLarge,
                Span::new(0, 0),
                format!(
                    "policy is {} bytes, larger than the limit of {MAX_POLICY_BYTES} bytes",
                    text.len()
                ),
            )
            .help("a policy is a page of rules; check that this is the right file"),
        );
        parsed.incomplete = true;
        return parsed;
    }

    parse_items(text, parsed, &mut |_, _| None, &mut |_, _, _| {})
}

/// What parsing one item gave: the item (`None` if it had errors), its
/// diagnostics, spans relative to the file, and how many `{…}`
/// interpolations its messages hold towards [`MAX_INTERPOLATIONS`]
/// (`usize::MAX` if the file passed the limit in it: such an item is
/// never reused, its interpolations past the limit were not kept).
pub(crate) type ItemParse = (Option<ast::Item>, Vec<Diagnostic>, usize);

/// Like [`parse`], for a text parsed again after an edit (the language
/// server): for each item, `reuse(item_text, start)` may give what parsing
/// that same text gave before, moved to `start`; otherwise the item is
/// parsed and `parsed(item_text, start, &result)` is told, so the caller
/// can keep it. Items are found by the same scan, so the result is what
/// [`parse`] gives, with one exception: an item with a syntax error given
/// back by `reuse` keeps the detail its first parse had (only the first
/// [`MAX_DETAILED_ERRORS`] broken items of a file are explained in detail).
#[cfg(feature = "lsp")]
pub(crate) fn parse_reusing(
    source: &Source,
    reuse: &mut dyn FnMut(&str, usize) -> Option<ItemParse>,
    parsed_one: &mut dyn FnMut(&str, usize, &ItemParse),
) -> Parsed {
    let text = source.text();
    if text.len() > MAX_POLICY_BYTES {
        return parse(source);
    }
    parse_items(text, Parsed::default(), reuse, parsed_one)
}

/// Scans `text` into items and parses each into `parsed` (see
/// [`parse_reusing`] for `reuse` and `parsed_one`). Each item goes
/// straight into the tree: collecting the parses first held every item
/// twice at the peak (192 bytes a chunk, 16 bytes per byte of a file of
/// short `let`s). All on the calling thread: large policies were once
/// split across threads, but no real policy gains (they are a few KB), and
/// the threads needed pest's process-wide settings changed under an
/// embedder's feet.
fn parse_items(
    text: &str,
    mut parsed: Parsed,
    reuse: &mut dyn FnMut(&str, usize) -> Option<ItemParse>,
    parsed_one: &mut dyn FnMut(&str, usize, &ItemParse),
) -> Parsed {
    let scan = chunk::scan(text, MAX_NESTING);
    parsed.comments = scan.comments;
    parsed.policy.items.reserve_exact(scan.chunks.len());
    let mut detailed = 0;
    let mut names = lower::Names::for_policy(text.len());
    for c in &scan.chunks {
        let chunk_text = text.get(c.start..c.end).unwrap_or("");
        // An item is reused only while the file's interpolations stay
        // within the limit with it: otherwise it is parsed again, so the
        // limit is told where a fresh parse tells it.
        let offered = reuse(chunk_text, c.start)
            .filter(|done| names.interpolations.saturating_add(done.2) <= MAX_INTERPOLATIONS);
        let (item, diagnostics, _) = match offered {
            Some(done) => {
                names.interpolations += done.2;
                done
            }
            None => {
                let before = names.interpolations;
                let one = parse_chunk(text, c, detailed < MAX_DETAILED_ERRORS, &mut names);
                let held = if names.interpolations > MAX_INTERPOLATIONS {
                    usize::MAX
                } else {
                    names.interpolations - before
                };
                let done = (one.item, one.diagnostics, held);
                parsed_one(chunk_text, c.start, &done);
                done
            }
        };
        parsed.diagnostics.extend(diagnostics);
        match item {
            Some(item) => parsed.policy.items.push(item),
            None => {
                detailed += 1;
                parsed.incomplete = true;
            }
        }
    }
    parsed
}

/// One item parsed: the item, or `None` if it had errors.
#[derive(Debug)]
struct ChunkParse {
    item: Option<ast::Item>,
    diagnostics: Vec<Diagnostic>,
}

/// Items whose syntax error is explained in detail (a second parse that
/// records every attempt, about three times the cost of the first); past
/// this many, the first parse's error is reported as it is. A person fixes
/// the first few errors first; a file of 40,000 broken items is junk, and
/// explaining each in detail took twice as long as parsing it.
const MAX_DETAILED_ERRORS: usize = 100;

/// Parses and lowers one item.
fn parse_chunk(text: &str, c: &chunk::Chunk, detail: bool, names: &mut lower::Names) -> ChunkParse {
    let mut diagnostics = Vec::new();
    if let Some(at) = c.too_deep_at {
        diagnostics.push(
            Diagnostic::new(
                Code::TooDeep,
                Span::new(at, at + 1),
                if c.too_deep_in_where {
                    format!("brackets and `where` filters nest deeper than {MAX_NESTING} levels")
                } else {
                    format!("brackets nest deeper than {MAX_NESTING} levels")
                },
            )
            .label("too deep from here")
            .help("split the expression into named parts with `let`"),
        );
        return ChunkParse {
            item: None,
            diagnostics,
        };
    }
    if let Some(at) = c.too_large_at {
        diagnostics.push(
            Diagnostic::new(
                Code::DeclarationTooLarge,
                Span::new(c.start, at),
                format!("this declaration holds more than {MAX_ITEM_TOKENS} tokens"),
            )
            .label("the declaration reaches the limit by here")
            .help("split it: an `on` block into several for the same actions, a long list into a category or an enum"),
        );
        return ChunkParse {
            item: None,
            diagnostics,
        };
    }
    let Some(chunk_text) = text.get(c.start..c.end) else {
        return ChunkParse {
            item: None,
            diagnostics,
        };
    };
    let item = match PolicyParser::parse(Rule::chunk, chunk_text) {
        Ok(mut pairs) => {
            let item = pairs
                .next()
                .and_then(|chunk| chunk.into_inner().find(|p| p.as_rule() == Rule::item));
            let mut lower = lower::Lower::new(c.start, &mut diagnostics, names);
            item.and_then(|item| lower.item(item))
        }
        Err(first) => {
            // Parse again, recording every attempt, to say precisely what
            // was expected: too costly to do for every item.
            let err = if detail {
                with_error_detail(|| PolicyParser::parse(Rule::chunk, chunk_text)).err()
            } else {
                None
            };
            let err = err.unwrap_or(first);
            diagnostics.push(expected::syntax_error(&err, chunk_text, c.start));
            None
        }
    };
    ChunkParse { item, diagnostics }
}

/// The words the language reserves, as `keyword` in the grammar lists
/// them (a test keeps the two in step).
pub const KEYWORDS: &[&str] = &[
    "access",
    "actions",
    "all",
    "and",
    "asc",
    "assert",
    "by",
    "count",
    "credits",
    "debts",
    "default",
    "deny",
    "desc",
    "effect",
    "enum",
    "except",
    "expire",
    "false",
    "field",
    "for",
    "forbidden",
    "from",
    "grants",
    "in",
    "is",
    "let",
    "lock",
    "may",
    "message",
    "not",
    "of",
    "on",
    "optional",
    "or",
    "others",
    "otherwise",
    "permit",
    "policy",
    "role",
    "settle",
    "shortfall",
    "spend",
    "state",
    "step",
    "steps",
    "sum",
    "to",
    "true",
    "warn",
    "when",
    "where",
    "with",
];

/// Whether `word` is reserved by the language.
pub fn is_keyword(word: &str) -> bool {
    KEYWORDS.binary_search(&word).is_ok()
}

/// Runs `f` with pest's detailed error tracking on, to say precisely what
/// was expected after an item failed to parse.
///
/// The flag is process-wide (pest has no per-parse setting), so it is on
/// only while some thread explains a syntax error: a count of the threads
/// that want it keeps it on while any of them runs, and a guard takes the
/// count down even if `f` unwinds. Another pest parser in the same process
/// may collect error details for that long: slower errors, never different
/// results. pest's other process-wide setting, the call limit, is left
/// alone: the scan bounds how deeply an item nests, the grammar does not
/// backtrack over nested text, so parsing is linear in the item's size,
/// which [`MAX_POLICY_BYTES`] bounds (tests/robustness.rs times the worst
/// shapes we know).
fn with_error_detail<T>(f: impl FnOnce() -> T) -> T {
    static WANTED: Mutex<usize> = Mutex::new(0);
    fn set(delta: isize) {
        let mut wanted = WANTED.lock().unwrap_or_else(PoisonError::into_inner);
        *wanted = wanted.saturating_add_signed(delta);
        pest::set_error_detail(*wanted > 0);
    }
    struct Wanted;
    impl Drop for Wanted {
        fn drop(&mut self) {
            set(-1);
        }
    }
    set(1);
    let _wanted = Wanted;
    f()
}

#[cfg(test)]
mod tests;
