//! Diagnostics: what a stage found wrong with a policy, as data.
//!
//! The library only describes problems (code, spans, words); the command line
//! decides how to render them (miette, JSON or GitHub annotations).

use crate::span::{Source, Span};

/// How bad a diagnostic is. Errors stop a policy from compiling; warnings
/// do not (unless the caller asks, as `check --deny-warnings` does).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Reported, but the policy still compiles.
    Warning,
    /// Stops the policy from compiling.
    Error,
}

impl Severity {
    /// The severity as output spells it: `warning` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident => $stage:literal, $name:literal, $severity:ident; )*) => {
        /// Every diagnostic tollgate can report. The names are stable: tests,
        /// CI scripts and `docs/diagnostics.md` refer to them.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $( $(#[$doc])* $variant, )*
        }

        impl Code {
            /// All codes, in documentation order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The short name, as in `docs/diagnostics.md` (`unknown_name`).
            pub fn name(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// The full name with its stage (`tollgate::check::unknown_name`).
            pub fn qualified(self) -> &'static str {
                match self { $(Code::$variant => concat!("tollgate::", $stage, "::", $name),)* }
            }

            /// The severity this code is reported with.
            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$severity,)* }
            }
        }
    };
}

codes! {
    /// The text does not follow the grammar.
    Syntax => "parse", "syntax_error", Error;
    /// The policy file is larger than the limit.
    FileTooLarge => "parse", "file_too_large", Error;
    /// One declaration holds more tokens than the limit.
    DeclarationTooLarge => "parse", "declaration_too_large", Error;
    /// Brackets or operators nest deeper than the limit.
    TooDeep => "parse", "too_deeply_nested", Error;
    /// A number literal is out of range or too precise.
    InvalidNumber => "parse", "invalid_number", Error;
    /// A `{...}` interpolation in a message is malformed.
    InvalidTemplate => "parse", "invalid_template", Error;
    /// A required declaration (`policy`, states) is missing.
    MissingDeclaration => "check", "missing_declaration", Error;
    /// A name is used that nothing declares.
    UnknownName => "check", "unknown_name", Error;
    /// Something is declared twice.
    Duplicate => "check", "duplicate_definition", Error;
    /// A name is declared where the language reserves it.
    ReservedName => "check", "reserved_name", Error;
    /// An action is listed in two categories.
    ActionInTwoCategories => "check", "action_in_two_categories", Error;
    /// Values of incompatible types are combined.
    TypeMismatch => "check", "type_mismatch", Error;
    /// An optional snapshot field is read without a default.
    OptionalWithoutDefault => "check", "optional_without_default", Error;
    /// A `let` is used before the line that defines it.
    UsedBeforeDefinition => "check", "used_before_definition", Error;
    /// A deny or warn rule, step or lock has no message.
    MissingMessage => "check", "missing_message", Error;
    /// The states do not end with a catch-all `otherwise`.
    StatesNotExhaustive => "check", "states_not_exhaustive", Error;
    /// A debt kind is settled from locked credits that no lock rule releases for it.
    LockedSourceNotAllowed => "check", "locked_source_not_allowed", Error;
    /// Two sibling field names one letter apart: one is almost surely a typo.
    SimilarNames => "check", "similar_names", Error;
    /// A value is outside what the language can represent.
    ValueOutOfRange => "check", "value_out_of_range", Error;
    /// Something written where it does not apply: `before.` or `charge.amount`
    /// outside a ledger operation's rules, `role` inside them, a clause the
    /// block's kind cannot have.
    OutOfPlace => "check", "out_of_place", Error;
    /// Conditional `shortfall` lines without a last line that always holds.
    ShortfallNotExhaustive => "check", "shortfall_not_exhaustive", Error;
    /// More declarations of one kind than the limit allows.
    TooMany => "check", "too_many_items", Error;
    /// One decision could evaluate more than the limits allow.
    TooExpensive => "check", "too_expensive", Error;
    /// The snapshot is not valid JSON or TOML.
    InvalidDocument => "snapshot", "invalid_document", Error;
    /// The snapshot is larger than the limit, or holds too many grants or debts.
    SnapshotTooLarge => "snapshot", "snapshot_too_large", Error;
    /// A snapshot field the policy does not declare.
    UnknownField => "snapshot", "unknown_field", Error;
    /// A required snapshot field is absent.
    MissingField => "snapshot", "missing_field", Error;
    /// A snapshot value of the wrong type.
    WrongType => "snapshot", "wrong_type", Error;
    /// A snapshot value of the right type that is not allowed: a bad amount,
    /// date, kind or enum value.
    InvalidValue => "snapshot", "invalid_value", Error;
    /// A grant's `remaining` is larger than its `amount`.
    RemainingExceedsAmount => "snapshot", "remaining_exceeds_amount", Error;
    /// Two grants or two debts share an id.
    DuplicateId => "snapshot", "duplicate_id", Error;
    /// A role is permitted no action at all.
    RoleWithoutPermissions => "check", "role_without_permissions", Warning;
    /// A credit kind that nothing spends and no rule mentions.
    UnusedCreditKind => "check", "unused_credit_kind", Warning;
    /// A debt kind that nothing can settle.
    UnsettleableDebt => "check", "unsettleable_debt", Warning;
    /// A state, rule or clause that can never be reached.
    Unreachable => "check", "unreachable", Warning;
    /// A condition that is always true or always false.
    ConstantCondition => "check", "constant_condition", Warning;
    /// A `let`, step, enum or access level declared but never used.
    Unused => "check", "unused_definition", Warning;
    /// An `except` that removes an action the permit never granted.
    UselessException => "check", "useless_exception", Warning;
}

/// A secondary place that explains a diagnostic ("first defined here").
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Label {
    /// Where the place is.
    pub span: Span,
    /// What to say about it.
    pub text: String,
}

/// One problem found in one policy source.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    /// Which problem this is, by stable name.
    pub code: Code,
    /// Whether it stops the policy from compiling.
    pub severity: Severity,
    /// One terse lowercase sentence, the user's words in backticks.
    pub message: String,
    /// Where the problem is.
    pub span: Span,
    /// What to say under the underlined span.
    pub label: String,
    /// Other places worth showing.
    pub related: Vec<Label>,
    /// How to fix it, when we can tell.
    pub help: Option<String>,
    /// The text that fixes it in place of `span`, when one name is the
    /// likely fix: what an editor's quick fix writes. A replacement for a
    /// quoted key or string keeps its quotes (see [`Diagnostics::new`]).
    pub suggestion: Option<String>,
}

impl Diagnostic {
    /// A diagnostic with the code's own severity.
    pub fn new(code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.severity(),
            message: bounded(message.into()),
            span,
            label: String::new(),
            related: Vec::new(),
            help: None,
            suggestion: None,
        }
    }

    /// The same diagnostic, with `text` under the underlined span.
    pub fn label(mut self, text: impl Into<String>) -> Diagnostic {
        self.label = bounded(text.into());
        self
    }

    /// The same diagnostic, with advice on how to fix it.
    pub fn help(mut self, text: impl Into<String>) -> Diagnostic {
        self.help = Some(bounded(text.into()));
        self
    }

    /// The same diagnostic, fixed by writing `name` in place of its span:
    /// help "did you mean `name`?" and `name` as the suggestion.
    pub fn did_you_mean(self, name: &str) -> Diagnostic {
        self.did_you_mean_as(name, name)
    }

    /// As [`Diagnostic::did_you_mean`], where the help names the fix in
    /// full (`debt.refund_dispute`) but the span holds only its last part
    /// (`refund_dispte`), which `replacement` replaces.
    pub fn did_you_mean_as(mut self, shown: &str, replacement: &str) -> Diagnostic {
        self = self.help(format!("did you mean `{shown}`?"));
        self.suggestion = Some(bounded(replacement.to_owned()));
        self
    }

    /// The same diagnostic, with another place worth showing.
    pub fn related(mut self, span: Span, text: impl Into<String>) -> Diagnostic {
        self.related.push(Label {
            span,
            text: bounded(text.into()),
        });
        self
    }

    /// Whether it stops the policy from compiling.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Longest message, label or help a diagnostic keeps, in bytes. They quote
/// the user's words, and a name can be as long as a line: a 74 KB credit
/// kind (refused for its length) was quoted whole by every later
/// diagnostic that named it, in message and help alike.
pub const MAX_DIAGNOSTIC_TEXT: usize = 1_024;

/// `text` cut to [`MAX_DIAGNOSTIC_TEXT`] bytes at a character boundary,
/// with `…` where it was cut.
fn bounded(mut text: String) -> String {
    if text.len() > MAX_DIAGNOSTIC_TEXT {
        let mut end = MAX_DIAGNOSTIC_TEXT;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

/// Diagnostics of one source, sorted by position, ready to render.
#[derive(Clone, Debug)]
pub struct Diagnostics {
    /// The text the diagnostics point into.
    pub source: Source,
    /// What was found, sorted by position.
    pub items: Vec<Diagnostic>,
    /// Errors found but not kept: a stage that caps what it collects
    /// (snapshot validation keeps the first
    /// [`crate::limits::MAX_SNAPSHOT_ERRORS`]) counts the rest here, so a
    /// report can say how many there were. A policy's check keeps the
    /// first [`crate::limits::MAX_CHECK_DIAGNOSTICS`].
    pub omitted: usize,
    /// Warnings found but not kept, likewise.
    pub omitted_warnings: usize,
}

impl Diagnostics {
    /// Sorts by position (stable, so one place keeps its report order)
    /// and drops exact duplicates, wherever they are: two reports that differ
    /// in anything, their place included, are both kept. A suggestion for
    /// a span that starts with a quote (a JSON key, a TOML string) is
    /// quoted the same way, so applying it keeps the document valid.
    pub fn new(source: Source, mut items: Vec<Diagnostic>) -> Diagnostics {
        for d in &mut items {
            let quote = source.text().as_bytes().get(d.span.start as usize);
            if let (Some(fix), Some(&q @ (b'"' | b'\''))) = (&mut d.suggestion, quote) {
                if !fix.starts_with(char::from(q)) {
                    *fix = if q == b'"' {
                        serde_json::Value::from(fix.as_str()).to_string()
                    } else {
                        format!("'{fix}'")
                    };
                }
            }
        }
        items.sort_by_key(|d| (d.span.start, d.span.end, d.code));
        let mut seen = std::collections::HashSet::with_capacity(items.len());
        let keep: Vec<bool> = items.iter().map(|d| seen.insert(d)).collect();
        drop(seen);
        let mut keep = keep.into_iter();
        items.retain(|_| keep.next().unwrap_or(true));
        Diagnostics {
            source,
            items,
            omitted: 0,
            omitted_warnings: 0,
        }
    }

    /// The same diagnostics, with `omitted` more errors counted but not kept.
    pub fn with_omitted(mut self, omitted: usize) -> Diagnostics {
        self.omitted = omitted;
        self
    }

    /// Whether any error was found, those omitted included.
    pub fn has_errors(&self) -> bool {
        self.omitted > 0 || self.items.iter().any(Diagnostic::is_error)
    }

    /// Errors found, those omitted included.
    pub fn error_count(&self) -> usize {
        self.omitted + self.items.iter().filter(|d| d.is_error()).count()
    }

    /// The same diagnostics, with `omitted` more warnings counted but not
    /// kept.
    pub fn with_omitted_warnings(mut self, omitted: usize) -> Diagnostics {
        self.omitted_warnings = omitted;
        self
    }

    /// Warnings found, those omitted included.
    pub fn warning_count(&self) -> usize {
        self.omitted_warnings + self.items.iter().filter(|d| !d.is_error()).count()
    }
}

/// The longest name, in characters, that gets a "did you mean": anything
/// longer is not a typo of a name (policy names are at most
/// [`crate::parse::MAX_NAME_LEN`] bytes), and comparing it would cost its
/// length times every candidate's.
pub const MAX_SUGGEST_NAME_CHARS: usize = 128;

/// The work one suggestion may do, in units of one candidate looked at or
/// one cell of the distance table (`wrong` × candidate characters): about
/// 10 ms in a release build (measured: 2^20 units took about 40 ms). When
/// it runs out the best name found so far is offered. It bounds a
/// request's role and action look-up among thousands of names; 2^18 cells
/// compare a 20-letter name with over 600 others.
pub const SUGGEST_CALL_WORK: u64 = 1 << 18;

/// A work allowance shared by many suggestions, so that a policy with
/// thousands of unknown names does bounded work in total (see
/// [`suggest_within`]). Interior mutability lets a checker spend it while
/// its own tables are borrowed.
#[derive(Debug)]
pub struct SuggestBudget {
    left: std::cell::Cell<u64>,
    /// The most one call may spend.
    per_call: u64,
}

impl SuggestBudget {
    pub fn new(units: u64) -> SuggestBudget {
        SuggestBudget {
            left: std::cell::Cell::new(units),
            per_call: SUGGEST_CALL_WORK,
        }
    }

    /// An allowance for one search that may spend all of `units`: the
    /// ledger's look-up of one grant id among thousands, made once per
    /// command.
    pub fn single(units: u64) -> SuggestBudget {
        SuggestBudget {
            left: std::cell::Cell::new(units),
            per_call: units,
        }
    }

    /// Whether any work is left: callers skip gathering candidates when not.
    pub fn is_spent(&self) -> bool {
        self.left.get() == 0
    }
}

/// The known name closest to `wrong`, if one is close enough to be a typo.
///
/// Distance is Damerau's (optimal string alignment: two swapped letters
/// are one edit); close enough is a third of the name's length, at least
/// one, or `wrong` being a prefix of at least three letters.
pub fn suggest<'a>(wrong: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    suggest_within(&SuggestBudget::new(SUGGEST_CALL_WORK), wrong, known)
}

/// [`suggest`], spending at most [`SUGGEST_CALL_WORK`] from `budget`.
pub fn suggest_within<'a>(
    budget: &SuggestBudget,
    wrong: &str,
    known: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let wrong_chars = wrong.chars().count();
    if wrong_chars > MAX_SUGGEST_NAME_CHARS || budget.is_spent() {
        return None;
    }
    let allowance = budget.left.get().min(budget.per_call);
    let mut left = allowance;
    let limit = (wrong_chars / 3).max(1);
    let prefix_ok = wrong.len() >= 3;
    let mut best: Option<(usize, &'a str)> = None;
    for name in known {
        // Looking costs one unit, even when the length rules it out.
        let Some(after_look) = left.checked_sub(1) else {
            break;
        };
        left = after_look;
        let name_chars = name.chars().count();
        let distance = if prefix_ok && name.starts_with(wrong) {
            // Only insertions separate a name from its prefix.
            name_chars - wrong_chars
        } else if name_chars.abs_diff(wrong_chars) > limit {
            continue; // at least that many edits apart
        } else {
            let cells = ((wrong_chars + 1) * (name_chars + 1)) as u64;
            let Some(after) = left.checked_sub(cells) else {
                break;
            };
            left = after;
            let d = strsim::osa_distance(wrong, name);
            if d > limit {
                continue;
            }
            d
        };
        if best.is_none_or(|b| (distance, name) < b) {
            best = Some((distance, name));
        }
    }
    budget.left.set(budget.left.get() - (allowance - left));
    best.map(|(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 74 KB name, refused for its length, was quoted whole by every
    /// later diagnostic naming it (found by the renderer's fuzz target).
    #[test]
    fn messages_labels_and_help_are_bounded() {
        let name = "x".repeat(74_000);
        let d = Diagnostic::new(Code::UnknownName, Span::point(0), format!("`{name}`"))
            .label(format!("`{name}`"))
            .help(format!("did you mean `é{name}`?"))
            .related(Span::point(0), name.clone());
        assert!(d.message.len() <= MAX_DIAGNOSTIC_TEXT + '…'.len_utf8());
        assert!(d.message.ends_with('…'));
        assert!(d.label.len() <= MAX_DIAGNOSTIC_TEXT + 3);
        assert!(
            d.help
                .as_ref()
                .is_some_and(|h| h.len() <= MAX_DIAGNOSTIC_TEXT + 3)
        );
        assert!(
            d.related
                .iter()
                .all(|l| l.text.len() <= MAX_DIAGNOSTIC_TEXT + 3)
        );
        let short = Diagnostic::new(Code::UnknownName, Span::point(0), "short");
        assert_eq!(short.message, "short");
    }

    #[test]
    fn suggests_the_nearest_name() {
        let known = ["subscription", "settings", "billing"];
        assert_eq!(suggest("subscripton", known), Some("subscription"));
        assert_eq!(suggest("biling", known), Some("billing"));
        assert_eq!(suggest("xyz", known), None);
    }

    #[test]
    fn only_exact_duplicates_are_dropped() {
        let at = |start: usize, message: &str| {
            Diagnostic::new(Code::UnknownName, Span::new(start, start + 4), message)
        };
        let items = vec![at(9, "b"), at(0, "a"), at(0, "b"), at(9, "b"), at(0, "a")];
        let kept: Vec<(u32, String)> = Diagnostics::new(Source::new("p", ""), items)
            .items
            .into_iter()
            .map(|d| (d.span.start, d.message))
            .collect();
        let expected = [(0, "a"), (0, "b"), (9, "b")].map(|(s, m)| (s, m.to_owned()));
        assert_eq!(kept, expected);
    }

    #[test]
    fn swapped_letters_are_one_edit() {
        assert_eq!(suggest("actvie", ["active", "canceled"]), Some("active"));
        assert_eq!(suggest("onwer", ["owner", "member"]), Some("owner"));
    }

    #[test]
    fn prefixes_suggest_the_nearest_longer_name() {
        assert_eq!(suggest("sub", ["subscription", "su"]), Some("su"));
        assert_eq!(suggest("subs", ["subscription"]), Some("subscription"));
    }

    #[test]
    fn long_names_get_no_suggestion() {
        let long = "a".repeat(MAX_SUGGEST_NAME_CHARS + 1);
        let near = "a".repeat(MAX_SUGGEST_NAME_CHARS);
        assert_eq!(suggest(&long, [near.as_str()]), None);
        let fits = &long[1..];
        assert_eq!(suggest(fits, [near.as_str()]), Some(near.as_str()));
    }

    #[test]
    fn a_spent_budget_stops_suggesting() {
        let budget = SuggestBudget::new(10);
        // `abcdef` × `abcdeg` is 49 cells: more than is left.
        assert_eq!(suggest_within(&budget, "abcdef", ["abcdeg"]), None);
        assert!(!budget.is_spent(), "only the look was paid for");
        let many: Vec<String> = (0..100).map(|i| format!("zz{i}")).collect();
        assert_eq!(
            suggest_within(&budget, "abcdef", many.iter().map(String::as_str)),
            None
        );
        assert!(budget.is_spent());
        assert_eq!(suggest_within(&budget, "abcdef", ["abcdef"]), None);
    }
}

#[cfg(test)]
mod docs_tests {
    use super::Code;

    #[test]
    fn every_code_is_documented() {
        let docs = include_str!("../docs/diagnostics.md");
        for code in Code::ALL {
            let heading = format!("### `{}`", code.name());
            assert!(
                docs.contains(&heading),
                "docs/diagnostics.md lacks {heading}"
            );
            let severity = match code.severity() {
                super::Severity::Error => "**Error.**",
                super::Severity::Warning => "**Warning.**",
            };
            let entry = docs.split(&heading).nth(1).unwrap_or("");
            assert!(
                entry.trim_start().starts_with(severity),
                "{heading} should start with {severity}"
            );
        }
    }
}
