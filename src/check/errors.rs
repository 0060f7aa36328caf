//! Every diagnostic the checker reports, built in one place: checking code
//! says *what* went wrong, these functions say *how* it reads.

use crate::ast;
use crate::diagnostic::{Code, Diagnostic};
use crate::span::Span;

/// Most names a diagnostic lists ("the known names are ..."); the rest are
/// counted ("and 12 more"), so that one diagnostic stays a line, not a
/// page, however many names a policy declares.
pub const MAX_LISTED_NAMES: usize = 10;

/// `a`, `a or b`, `a, b or c`, in backticks; past [`MAX_LISTED_NAMES`],
/// `a, b, ... and N more`.
pub(super) fn list_words(items: &[&str]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .take(MAX_LISTED_NAMES)
        .map(|s| format!("`{s}`"))
        .collect();
    let more = items.len().saturating_sub(MAX_LISTED_NAMES);
    match quoted.as_slice() {
        [] => "none".to_owned(),
        [one] if more == 0 => one.clone(),
        [init @ .., last] if more == 0 => format!("{} or {last}", init.join(", ")),
        all => format!("{} and {more} more", all.join(", ")),
    }
}

// ───────────── Names ─────────────

/// A name nothing in its namespace declares. `listed` holds the first known
/// names in order (at most one more than are shown), `known` how many there
/// are.
pub(super) fn unknown_name(
    what: &str,
    name: &ast::Ident,
    guess: Option<&str>,
    listed: &[&str],
    known: usize,
) -> Diagnostic {
    let d = Diagnostic::new(
        Code::UnknownName,
        name.span,
        format!("unknown {what} `{}`", name.name),
    )
    .label(format!("no {what} has this name"));
    match guess {
        Some(s) => d.help(format!("did you mean `{s}`?")),
        None if known == 0 => d.help(format!("no {what} is declared yet")),
        None => d.help(format!(
            "the known names are {}",
            list_some_words(listed, known)
        )),
    }
}

/// [`list_words`] when only the first names are at hand: `total` says how
/// many there are in all.
fn list_some_words(first: &[&str], total: usize) -> String {
    let shown = first
        .get(..MAX_LISTED_NAMES.min(first.len()))
        .unwrap_or(first);
    if total <= shown.len() {
        return list_words(shown);
    }
    let quoted: Vec<String> = shown.iter().map(|s| format!("`{s}`")).collect();
    format!("{} and {} more", quoted.join(", "), total - shown.len())
}

// ───────────── Limits ─────────────

pub(super) fn too_many(span: Span, what: &str, n: usize, max: usize) -> Diagnostic {
    Diagnostic::new(
        Code::TooMany,
        span,
        format!("the policy declares {n} {what}, more than the limit of {max}"),
    )
    .label("past the limit")
    .help(format!(
        "a policy holds at most {max} {what}; merge some, or split the policy"
    ))
}

pub(super) fn table_too_large(span: Span, what: &str, n: usize, actions: usize) -> Diagnostic {
    let max = super::MAX_TABLE_CELLS;
    Diagnostic::new(
        Code::TooMany,
        span,
        format!("{n} {what} × {actions} actions make a table larger than the limit of {max} cells"),
    )
    .label("past the limit")
    .help("group actions into fewer, broader actions, or split the policy")
}

// ───────────── Permissions ─────────────

pub(super) fn useless_exception(name: &ast::Ident) -> Diagnostic {
    Diagnostic::new(
        Code::UselessException,
        name.span,
        format!(
            "`{}` is not granted by this permit, so excepting it changes nothing",
            name.name
        ),
    )
    .label("never granted here")
    .help("remove it from `except`")
}

// ───────────── Lints ─────────────

pub(super) fn similar_names(
    mine: &ast::Ident,
    theirs: &str,
    other_span: Span,
    other_path: &str,
) -> Diagnostic {
    Diagnostic::new(
        Code::SimilarNames,
        mine.span,
        format!("`{}` is one letter away from `{theirs}`", mine.name),
    )
    .label("probably a typo")
    .related(other_span, format!("`{other_path}` is declared here"))
    .help(format!(
        "did you mean `{theirs}`? If both names are intended, make them differ by more than a letter"
    ))
}
