//! Account snapshots: JSON or TOML text → a validated [`Account`].
//!
//! A snapshot is checked against the policy it is evaluated with: the kinds,
//! enum values and extra fields it may hold are the policy's. Nothing is
//! evaluated on a snapshot with an error, and every error names the field
//! path (`grants[2].remaining`) and the place in the text.

pub(crate) mod doc;
pub(crate) mod json;
pub(crate) mod toml_doc;
pub(crate) mod validate;
pub mod write;

use rust_decimal::Decimal;

use crate::compile::Program;
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::span::{Source, Span};
use crate::time::Timestamp;

/// Largest snapshot accepted, in bytes.
pub const MAX_SNAPSHOT_BYTES: usize = 16 << 20;
/// Largest TOML snapshot accepted, in bytes. TOML is for accounts people
/// write; larger accounts are written as JSON. Reading TOML costs what the
/// same account costs in JSON (at most about 33 MB at this limit); with
/// the `toml` crate's document model it was about 100 bytes per token, and
/// this limit was what kept that bounded.
pub const MAX_TOML_SNAPSHOT_BYTES: usize = 1 << 20;
/// Most errors reported for one snapshot; the rest are counted in a last
/// diagnostic, so a snapshot of 10,000 mistakes renders in bounded time.
pub const MAX_SNAPSHOT_ERRORS: usize = 100;
/// Most grants, and most debts, a snapshot may hold.
pub const MAX_ITEMS: usize = 100_000;
/// Longest id or text value accepted, in bytes.
pub const MAX_TEXT_LEN: usize = 1024;

/// One account at one instant, validated against a policy.
#[derive(Clone, Debug, PartialEq)]
pub struct Account {
    /// The instant the snapshot describes; evaluation never reads a clock.
    pub now: Timestamp,
    /// The account's id, when the snapshot gives one.
    pub id: Option<String>,
    /// Credits granted to the account, in snapshot order.
    pub grants: Vec<Grant>,
    /// Credits the account owes, in snapshot order.
    pub debts: Vec<Debt>,
    /// The policy's declared fields, by slot; `Absent` when left out.
    pub fields: Vec<FieldValue>,
}

/// Credits granted to the account.
#[derive(Clone, Debug, PartialEq)]
pub struct Grant {
    /// The grant's id, unique in the account.
    pub id: String,
    /// Index of the policy's credit kind.
    pub kind: u32,
    /// Credits granted.
    pub amount: Decimal,
    /// Credits not yet drawn; never more than `amount`.
    pub remaining: Decimal,
    /// When the credits were granted.
    pub granted_at: Timestamp,
    /// When the credits expire; `None` for never.
    pub expires_at: Option<Timestamp>,
    /// The policy's grant attributes, by index (`field grants.priority`),
    /// with defaults filled in; `Absent` when optional and left out.
    pub attrs: Vec<FieldValue>,
}

/// Credits the account owes.
#[derive(Clone, Debug, PartialEq)]
pub struct Debt {
    /// The debt's id, unique in the account.
    pub id: String,
    /// Index of the policy's debt kind.
    pub kind: u32,
    /// Credits owed.
    pub amount: Decimal,
    /// When the debt arose.
    pub created_at: Timestamp,
}

/// The value of a policy-declared snapshot field.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldValue {
    /// The field was left out and has no default.
    Absent,
    /// A yes or no.
    Bool(bool),
    /// An exact decimal.
    Decimal(Decimal),
    /// An instant.
    Time(Timestamp),
    /// A duration in seconds.
    Duration(i64),
    /// A text value.
    Text(String),
    /// Index of the value in the field's enum.
    Enum(u32),
}

impl FieldValue {
    /// The value as expressions see it.
    pub(crate) fn value(&self) -> crate::value::Value<'_> {
        use crate::value::Value;
        match self {
            FieldValue::Absent => Value::Absent,
            FieldValue::Bool(b) => Value::Bool(*b),
            FieldValue::Decimal(d) => Value::Decimal(*d),
            FieldValue::Time(t) => Value::Time(*t),
            FieldValue::Duration(s) => Value::Duration(*s),
            FieldValue::Text(s) => Value::Text(s),
            FieldValue::Enum(i) => Value::Enum(*i),
        }
    }

    /// A policy's constant as a field value (a default).
    pub(crate) fn from_literal(l: &crate::lang::Literal) -> FieldValue {
        use crate::lang::Literal;
        match l {
            Literal::Bool(b) => FieldValue::Bool(*b),
            Literal::Decimal(d) => FieldValue::Decimal(*d),
            Literal::Time(t) => FieldValue::Time(*t),
            Literal::Duration(s) => FieldValue::Duration(*s),
            // Fields are never typed in months; a default cannot be one.
            Literal::Months(_) => FieldValue::Absent,
            Literal::Text(s) => FieldValue::Text(s.clone()),
            Literal::Enum(i) => FieldValue::Enum(*i),
        }
    }
}

/// The formats a snapshot can be written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// JSON, the default.
    Json,
    /// TOML, from a `.toml` file.
    Toml,
}

impl Format {
    /// The format a file name's extension says (`.toml` is TOML; everything
    /// else, standard input included, is JSON).
    pub fn from_name(name: &str) -> Format {
        if name.to_ascii_lowercase().ends_with(".toml") {
            Format::Toml
        } else {
            Format::Json
        }
    }

    /// The largest snapshot of this format, in bytes: a reader holds at
    /// most one byte more.
    pub(crate) fn max_bytes(self) -> usize {
        match self {
            Format::Json => MAX_SNAPSHOT_BYTES,
            Format::Toml => MAX_TOML_SNAPSHOT_BYTES,
        }
    }

    /// What a snapshot of this format past [`Format::max_bytes`] is told:
    /// the message, which names the limit, and the help.
    pub(crate) fn too_large(self) -> (String, &'static str) {
        match self {
            Format::Json => (
                format!("the snapshot is larger than the limit of {MAX_SNAPSHOT_BYTES} bytes"),
                "a snapshot holds one account; check that this is the right file",
            ),
            Format::Toml => (
                format!(
                    "the TOML snapshot is larger than the limit of {MAX_TOML_SNAPSHOT_BYTES} bytes for TOML"
                ),
                "write large accounts as JSON (up to the snapshot limit)",
            ),
        }
    }
}

/// Why a snapshot was refused: every problem, with the snapshot's text.
#[derive(Clone, Debug)]
pub struct SnapshotError {
    /// Every problem found, with the snapshot's text.
    pub diagnostics: Diagnostics,
}

impl SnapshotError {
    fn single(
        source: Source,
        code: Code,
        span: Span,
        message: String,
        help: &str,
    ) -> SnapshotError {
        let d = Diagnostic::new(code, span, message).help(help.to_owned());
        SnapshotError {
            diagnostics: Diagnostics::new(source, vec![d]),
        }
    }

    /// One line per problem: `file:line:col: message`, for logs and batch
    /// output.
    pub fn summary(&self) -> String {
        let source = &self.diagnostics.source;
        let mut lines: Vec<String> = self
            .diagnostics
            .items
            .iter()
            .map(|d| format!("{}: {}", source.location(d.span), d.message))
            .collect();
        let omitted = self.diagnostics.omitted;
        if omitted > 0 {
            let s = if omitted == 1 { "" } else { "s" };
            lines.push(format!("and {omitted} more error{s}, not listed"));
        }
        lines.join("; ")
    }
}

impl std::fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.summary())
    }
}

impl std::error::Error for SnapshotError {}

/// Parses and validates a snapshot. `name` is how errors cite it; `now`,
/// when given, replaces the snapshot's own (which may then be absent).
pub fn parse(
    program: &Program,
    name: &str,
    text: &str,
    format: Format,
    now: Option<Timestamp>,
) -> Result<Account, SnapshotError> {
    // The source (a copy of the text, with its line index) is built only
    // for an error: the good path is every request's path.
    let source = || Source::new(name, text);
    if text.len() > format.max_bytes() {
        let (message, help) = format.too_large();
        return Err(SnapshotError::single(
            source(),
            Code::SnapshotTooLarge,
            Span::point(0),
            message,
            help,
        ));
    }
    let document = match format {
        Format::Json => json::parse(text).map_err(|e| match e.too_large {
            Some(help) => Err(SnapshotError::single(
                source(),
                Code::SnapshotTooLarge,
                e.span,
                e.message,
                help,
            )),
            None => Ok((e.message, Some(e.span))),
        }),
        Format::Toml => toml_doc::parse(text).map_err(|e| Ok((e.message, e.span))),
    };
    let document = match document {
        Ok(d) => d,
        Err(Err(too_large)) => return Err(too_large),
        Err(Ok((message, span))) => {
            let what = match format {
                Format::Json => "JSON",
                Format::Toml => "TOML",
            };
            return Err(SnapshotError::single(
                source(),
                Code::InvalidDocument,
                span.unwrap_or_default(),
                format!("the snapshot is not valid {what}: {message}"),
                "fix the syntax at the marked place",
            ));
        }
    };
    validate::account(program, &document, now).map_err(|(items, omitted)| SnapshotError {
        diagnostics: Diagnostics::new(source(), items).with_omitted(omitted),
    })
}
