//! tollgate: a policy engine for prepaid usage credits.
//!
//! A policy is text in the tollgate language (`docs/language.md`). It is
//! parsed, checked and compiled once into a [`Policy`]; the policy then
//! validates account snapshots and decides requests, with no I/O, no clock
//! and no panics. Inside, the pipeline runs parse → check → compile →
//! decide; only its ends are public: [`Policy`] in, [`Decision`] and
//! [`LedgerResult`] out, [`Diagnostics`] as data when a policy or snapshot
//! is wrong, and every input limit in [`limits`].
//!
//! ```
//! use tollgate::{Outcome, Policy};
//!
//! let policy = Policy::from_source("tiny.policy", r#"
//!     policy tiny
//!     role member
//!     actions billable: run_tool
//!     permit member to billable
//!     credits included
//!     spend included by expires_at, id
//!     state paused when usable == 0
//!     state ok otherwise
//!     step ask_admin "Ask an admin to add credits."
//!     on billable {
//!       deny no_credits when usable == 0 {
//!         message "No credits left."
//!         steps { ask_admin }
//!       }
//!     }
//! "#)?;
//!
//! let account = policy.snapshot_from_json(r#"{
//!     "now": "2026-11-22T10:00:00Z",
//!     "grants": [{ "id": "g1", "kind": "included", "amount": "10", "remaining": "0",
//!                  "granted_at": "2026-11-01T00:00:00Z" }]
//! }"#)?;
//! let request = policy.request("member", "run_tool")?; // resolved once, reusable
//! let decision = policy.decide(&account, &request)?;
//!
//! assert_eq!(decision.outcome(), Outcome::Deny);
//! assert_eq!(decision.state(), "paused");
//! assert_eq!(decision.reason_codes().collect::<Vec<_>>(), ["no_credits"]);
//! assert_eq!(decision.next_steps()?[0].message, "Ask an admin to add credits.");
//! assert!(decision.to_json()?.starts_with(r#"{"version":1,"policy":"tiny""#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

// pest_derive without its `std` feature names `::alloc` in the parser it
// generates (Cargo.toml says why `std` is off).
extern crate alloc;

#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod cli;

#[cfg(feature = "serve")]
#[doc(hidden)]
pub mod serve;

#[cfg(feature = "lsp")]
#[doc(hidden)]
pub mod lsp;

// `tollgate verify` and `diff --exhaustive`: they start an SMT solver
// process, so they come only with this feature (the command line's).
#[cfg(feature = "verify")]
#[doc(hidden)]
pub mod verify;

pub mod amount;
pub mod limits;

// The pipeline's stages: internal, so that the public API is only what an
// embedder needs and the stages can change shape freely.
mod ast;
// Test cases (`*.tests.toml`) are the command line's `test` and `diff`.
#[cfg(feature = "cli")]
mod cases;
mod check;
mod compile;
mod decide;
mod diagnostic;
mod format;
// Opening what a user names or a search finds: only what ends.
mod input;
mod lang;
mod ledger;
mod parse;
mod policy;
mod snapshot;
mod span;
// The usual layout of a decision request, for `decide --batch` and the
// server alike (the command line turns the server on).
mod time;
#[cfg(feature = "serve")]
mod usual;
mod value;

// The fuzz targets' generator, shared with `tests/fuzz.rs`.
#[cfg(test)]
mod fuzz_rng;

pub use decide::{
    Balance, Decision, Effect, EvalError, Finding, Inconsistency, NextStep, Outcome, Request,
    TraceStep,
};
pub use diagnostic::{Code, Diagnostic, Diagnostics, Label, Severity};
pub use ledger::{
    Draw, GrantSpec, LedgerError, LedgerOutcome, LedgerResult, NewDebt, Settlement, Voided,
};
pub use policy::{Policy, PolicyError, RequestError};
pub use rust_decimal::Decimal;
pub use snapshot::{Account, Debt, FieldValue, Format, Grant, SnapshotError};
pub use span::{LineCol, Source, Span};
pub use time::Timestamp;

/// What parsing and checking a policy found.
#[derive(Clone, Debug)]
pub struct Analysis {
    /// The compiled program, when the policy has no errors.
    pub(crate) program: Option<std::sync::Arc<compile::Program>>,
    /// Errors and warnings, sorted by position.
    pub diagnostics: Diagnostics,
}

/// Parses, checks and compiles a policy text for its diagnostics: what
/// `tollgate check` reports, the compiled form's own limits included.
/// `name` is how diagnostics cite the source, usually its path.
pub fn check_text(name: &str, text: &str) -> Analysis {
    analyze(Source::new(name, text))
}

/// Formats policy text in the canonical layout (what `tollgate fmt`
/// writes). A policy with syntax errors is returned as its diagnostics.
///
/// The output uses LF line ends and no byte-order mark, and is parsed again
/// before it is returned: formatting never changes what a policy means.
pub fn format_text(name: &str, text: &str) -> Result<String, Diagnostics> {
    format::format(&Source::new(name, text))
}

/// Like [`check_text`], for bytes read from a file: a file over the size
/// limit or one that is not UTF-8 is reported as a diagnostic.
pub fn check_bytes(name: &str, bytes: &[u8]) -> Analysis {
    if bytes.len() > parse::MAX_POLICY_BYTES {
        // Parsing refuses it by size; do not decode megabytes to say so.
        let d = Diagnostic::new(
            Code::FileTooLarge,
            Span::point(0),
            format!(
                "policy is larger than the limit of {} bytes",
                parse::MAX_POLICY_BYTES
            ),
        )
        .help("a policy is a page of rules; check that this is the right file");
        return Analysis {
            program: None,
            diagnostics: Diagnostics::new(Source::new(name, ""), vec![d]),
        };
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => check_text(name, text),
        Err(e) => {
            let text = String::from_utf8_lossy(bytes);
            let at = e.valid_up_to();
            let d = Diagnostic::new(
                Code::Syntax,
                Span::new(at, at + 1),
                "the policy is not UTF-8 text",
            )
            .label("invalid byte")
            .help("save the file as UTF-8; is this the right file?");
            Analysis {
                program: None,
                diagnostics: Diagnostics::new(Source::new(name, text.as_ref()), vec![d]),
            }
        }
    }
}

/// [`check_bytes`] for bytes the caller is done with: they are freed as
/// soon as the text is copied into its [`Source`], before parsing starts,
/// so a large policy is not held twice while it is checked.
pub(crate) fn check_owned(name: &str, bytes: Vec<u8>) -> Analysis {
    match String::from_utf8(bytes) {
        Ok(text) if text.len() <= parse::MAX_POLICY_BYTES => analyze(Source::new(name, text)),
        Ok(text) => check_bytes(name, text.as_bytes()),
        Err(e) => check_bytes(name, e.as_bytes()),
    }
}

/// Codes the checker reports when a declaration is missing, which is what
/// a syntax error elsewhere looks like to it: dropped after syntax errors so
/// that one typo gives one diagnostic.
fn caused_by_missing_items(code: Code) -> bool {
    matches!(
        code,
        Code::UnknownName
            | Code::MissingDeclaration
            | Code::StatesNotExhaustive
            | Code::UsedBeforeDefinition
            | Code::LockedSourceNotAllowed
            | Code::RoleWithoutPermissions
            | Code::UnusedCreditKind
            | Code::UnsettleableDebt
            | Code::Unused
            | Code::Unreachable
    )
}

/// A compiled policy is shared across threads.
const _: () = {
    const fn shared<T: Send + Sync + Clone>() {}
    shared::<Policy>();
};

fn analyze(source: Source) -> Analysis {
    let parsed = parse::parse(&source);
    analyze_parsed(source, parsed)
}

pub(crate) fn analyze_parsed(source: Source, parsed: parse::Parsed) -> Analysis {
    if parsed
        .diagnostics
        .iter()
        .any(|d| d.code == Code::FileTooLarge)
    {
        return Analysis {
            program: None,
            diagnostics: Diagnostics::new(source, parsed.diagnostics),
        };
    }
    let syntax_errors = parsed.diagnostics.iter().any(Diagnostic::is_error);
    let incomplete = parsed.incomplete;
    // Fail closed: an expression the parser could not lower, yet did not
    // report, would otherwise drop the rule holding it without a word.
    // Looked for first: checking uses the tree up.
    let unlowered = compile::refuse_unlowered(&parsed.policy);
    let checked = check::check(&source, parsed.policy);
    let omitted = (checked.omitted_errors, checked.omitted_warnings);
    let mut diagnostics = parsed.diagnostics;
    diagnostics.extend(
        checked
            .diagnostics
            .into_iter()
            .filter(|d| !(incomplete && caused_by_missing_items(d.code))),
    );
    let mut checked = if syntax_errors { None } else { checked.checked };
    if let (Some(_), Err(e)) = (&checked, unlowered) {
        diagnostics.push(Diagnostic::new(e.code, e.span, e.message));
        checked = None;
    }
    // Compiling is part of checking: the compiled form has limits of its own
    // (`MAX_EVAL_DEPTH`, index widths), and `check` must refuse what
    // `decide` would refuse.
    let program = match checked.map(compile::compile) {
        Some(Ok(program)) => Some(std::sync::Arc::new(program)),
        Some(Err(e)) => {
            diagnostics.push(Diagnostic::new(e.code, e.span, e.message));
            None
        }
        None => None,
    };
    Analysis {
        program,
        diagnostics: Diagnostics::new(source, diagnostics)
            .with_omitted(omitted.0)
            .with_omitted_warnings(omitted.1),
    }
}
