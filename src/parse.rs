//! Parsing: policy text → AST, with every syntax problem as a diagnostic.

mod chunk;
mod expected;
mod lower;
mod template;

use std::sync::{Mutex, Once, PoisonError};

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
/// Deepest expression tree accepted (operators applied to operators).
pub const MAX_EXPR_DEPTH: usize = 128;
/// Longest name accepted, in bytes.
pub const MAX_NAME_LEN: usize = 128;

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
#[derive(Clone, Debug)]
pub struct Parsed {
    pub policy: ast::Policy,
    pub comments: Vec<Span>,
    pub diagnostics: Vec<Diagnostic>,
    /// Whether some item could not be parsed and is missing from the tree.
    pub incomplete: bool,
}

/// Parses a policy source. Never fails: problems come back as diagnostics.
pub fn parse(source: &Source) -> Parsed {
    configure_pest();
    let text = source.text();
    let mut parsed = Parsed {
        policy: ast::Policy::default(),
        comments: Vec::new(),
        diagnostics: Vec::new(),
        incomplete: false,
    };
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

    let scan = chunk::scan(text, MAX_NESTING);
    parsed.comments = scan.comments;
    for one in parse_chunks(text, &scan.chunks) {
        parsed.diagnostics.extend(one.diagnostics);
        match one.item {
            Some(item) => parsed.policy.items.push(item),
            None => parsed.incomplete = true,
        }
    }
    parsed
}

/// Below this size a policy is parsed on the calling thread: starting a
/// thread costs more than parsing a page of rules (the reference policy
/// is 8 KB and compiles in under 0.5 ms).
const PARALLEL_MIN_BYTES: usize = 256 << 10;

/// One item parsed: the item, or `None` if it had errors.
#[derive(Debug)]
struct ChunkParse {
    item: Option<ast::Item>,
    diagnostics: Vec<Diagnostic>,
}

/// Parses every chunk, in order. Items are independent once the scan has
/// split them, so a large policy is split into one run of chunks per core,
/// each parsed on its own thread; the result is the same as one thread's.
fn parse_chunks(text: &str, chunks: &[chunk::Chunk]) -> Vec<ChunkParse> {
    let threads = if text.len() < PARALLEL_MIN_BYTES {
        1
    } else {
        std::thread::available_parallelism().map_or(1, usize::from)
    };
    parse_chunks_on(text, chunks, threads)
}

/// [`parse_chunks`] on at most `threads` threads.
fn parse_chunks_on(text: &str, chunks: &[chunk::Chunk], threads: usize) -> Vec<ChunkParse> {
    if threads < 2 || chunks.len() < 2 {
        return chunks.iter().map(|c| parse_chunk(text, c)).collect();
    }
    let runs = split_by_bytes(chunks, threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = runs
            .iter()
            .map(|&run| {
                std::thread::Builder::new()
                    .name("tollgate-parse".into())
                    .spawn_scoped(scope, move || {
                        run.iter().map(|c| parse_chunk(text, c)).collect::<Vec<_>>()
                    })
                    .map_err(|_| run)
            })
            .collect();
        let mut all = Vec::with_capacity(chunks.len());
        for handle in handles {
            match handle {
                Ok(thread) => match thread.join() {
                    Ok(parsed) => all.extend(parsed),
                    // Parsing does not panic; if it ever does, the panic
                    // reaches the caller as it would on one thread.
                    Err(panic) => std::panic::resume_unwind(panic),
                },
                // No thread to be had: parse the run here.
                Err(run) => all.extend(run.iter().map(|c| parse_chunk(text, c))),
            }
        }
        all
    })
}

/// Splits `chunks` into at most `parts` consecutive runs of about equal
/// bytes.
fn split_by_bytes(chunks: &[chunk::Chunk], parts: usize) -> Vec<&[chunk::Chunk]> {
    let total: usize = chunks.iter().map(|c| c.end - c.start).sum();
    let per_part = total.div_ceil(parts.max(1)).max(1);
    let mut runs = Vec::with_capacity(parts);
    let mut rest = chunks;
    while !rest.is_empty() {
        let mut bytes = 0;
        let mut take = 0;
        while take < rest.len() && (take == 0 || bytes < per_part) {
            bytes += rest.get(take).map_or(0, |c| c.end - c.start);
            take += 1;
        }
        let (run, after) = rest.split_at(take);
        runs.push(run);
        rest = after;
    }
    runs
}

/// Parses and lowers one item.
fn parse_chunk(text: &str, c: &chunk::Chunk) -> ChunkParse {
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
            let mut lower = lower::Lower::new(c.start, &mut diagnostics);
            item.and_then(|item| lower.item(item))
        }
        Err(_) => {
            // Parse again, recording every attempt, to say precisely what
            // was expected: too costly to do for every item.
            let detailed = with_error_detail(|| PolicyParser::parse(Rule::chunk, chunk_text));
            if let Err(err) = detailed {
                diagnostics.push(expected::syntax_error(&err, chunk_text, c.start));
            }
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

/// pest settings are global: set them once. The call limit turns a
/// pathological input into an error instead of a hang.
fn configure_pest() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        pest::set_call_limit(std::num::NonZeroUsize::new(50_000_000));
    });
}

/// Runs `f` with pest's detailed error tracking on. The flag is global, so
/// a count of the threads that want it keeps it on while any of them runs.
fn with_error_detail<T>(f: impl FnOnce() -> T) -> T {
    static WANTED: Mutex<usize> = Mutex::new(0);
    let set = |delta: isize| {
        let mut wanted = WANTED.lock().unwrap_or_else(PoisonError::into_inner);
        *wanted = wanted.saturating_add_signed(delta);
        pest::set_error_detail(*wanted > 0);
    };
    set(1);
    let result = f();
    set(-1);
    result
}

#[cfg(test)]
mod tests;
