//! Reading case files: finding them, their TOML format, and what a case
//! must state.

use std::collections::HashMap;
use std::io::Read;
use std::ops::Range;
use std::path::{Path, PathBuf};

use rust_decimal::Decimal;
use serde::Deserialize;
use toml::Spanned;

use super::{AccountSource, Case, CaseFile, CaseFileError, CaseRequest, EffectExpect, Expect};
use crate::diagnostic::{Code, Diagnostic, Diagnostics, suggest};
use crate::ledger::GrantSpec;
use crate::snapshot::MAX_SNAPSHOT_ERRORS;
use crate::snapshot::doc::{DocValue, Node};
use crate::span::{Source, Span};
use crate::time::Timestamp;

/// Largest case file read, in bytes. Case files are written by hand (the
/// shipped one is 30 KB); reading stops one byte past the limit, so a
/// link to `/dev/zero` costs a megabyte, not all memory.
pub const MAX_CASE_FILE_BYTES: usize = 1 << 20;

/// Deepest folder searched for case files, counted from the path given.
/// Symlink loops are caught as loops; this bounds a deep real tree.
pub const MAX_DISCOVERY_DEPTH: usize = 32;

/// Reads at most `limit` bytes of UTF-8 from `path`; a longer file is an
/// `InvalidData` error that says so, found after reading `limit + 1` bytes.
pub(super) fn read_capped(path: &Path, limit: usize, what: &str) -> std::io::Result<String> {
    let mut bytes = Vec::new();
    crate::input::open(path)?
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("the {what} is larger than the limit of {limit} bytes"),
        ));
    }
    String::from_utf8(bytes).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("the {what} is not UTF-8 text"),
        )
    })
}

/// Why case files could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    /// A path could not be read or listed.
    #[error("cannot read `{}`: {}", path.display(), describe(source))]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A symlinked folder leads back to a folder that contains it.
    #[error(
        "`{}` leads back to `{}`, a folder it is in: a symlink loop (remove the link, or name the folders to search)",
        link.display(),
        ancestor.display()
    )]
    Loop {
        /// The link, as reached from the path given.
        link: PathBuf,
        /// The folder it leads back to.
        ancestor: PathBuf,
    },
    /// A folder deeper than [`MAX_DISCOVERY_DEPTH`].
    #[error(
        "`{}` is nested more than {MAX_DISCOVERY_DEPTH} folders deep under the path given; name a deeper folder to search it",
        path.display()
    )]
    TooDeep {
        /// The first folder past the limit.
        path: PathBuf,
    },
}

fn describe(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => e.to_string(),
    }
}

/// What a path leads to, the same for every path (links, `..`) that
/// reaches it: device and inode on Unix, the canonical path elsewhere.
#[cfg(unix)]
type FileId = (u64, u64);
#[cfg(not(unix))]
type FileId = PathBuf;

#[cfg(unix)]
fn file_id(path: &Path) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn file_id(path: &Path) -> Option<FileId> {
    std::fs::canonicalize(path).ok()
}

/// The files and folders met so far, by what they are rather than by the
/// path that reached them: a folder reached through links by many paths
/// is searched once, and a case file reached so is run once.
#[derive(Default)]
pub struct Seen(std::collections::HashSet<(Option<FileId>, FileId)>);

impl Seen {
    /// Whether `path` leads to something not met before (and remembers
    /// it). A path that cannot be looked at counts as new: reading it
    /// reports why.
    pub fn first(&mut self, path: &Path) -> bool {
        file_id(path).is_none_or(|id| self.0.insert((None, id)))
    }

    /// Like [`Seen::first`], for a case file: the same file in another
    /// folder (a hard link, or a link to it) is another case file, since
    /// its policy and accounts are found from the folder it is in. Only a
    /// file reached again through the same folder is the same case file.
    pub fn first_case_file(&mut self, path: &Path) -> bool {
        let folder = path.parent().and_then(|p| {
            if p.as_os_str().is_empty() {
                file_id(Path::new("."))
            } else {
                file_id(p)
            }
        });
        file_id(path).is_none_or(|id| self.0.insert((folder, id)))
    }
}

/// Case files under `path`: the file itself, or every `*.tests.toml` below
/// a folder, sorted. Symlinked folders are followed; one that leads back
/// to a folder it is in is an error, not an endless walk. A folder reached
/// by several paths (links to one folder, side by side) is searched once,
/// through the first path in the walk's order, and a case file reached by
/// several paths is listed once: a tree where each level links twice to
/// the one below is searched in time linear in its folders, not
/// exponential in its depth.
pub fn discover(path: &Path) -> Result<Vec<PathBuf>, DiscoverError> {
    let io = |path: &Path, source| DiscoverError::Io {
        path: path.to_path_buf(),
        source,
    };
    if !path.is_dir() {
        // Reading it reports a missing file.
        std::fs::metadata(path).map_err(|e| io(path, e))?;
        return Ok(vec![path.to_path_buf()]);
    }
    let mut found = Vec::new();
    let mut folders = Seen::default();
    let mut files = Seen::default();
    // A folder met before is not entered again. walkdir checks for a loop
    // before this filter runs, so a link back to a folder it is in is
    // still reported as a loop.
    let walk = walkdir::WalkDir::new(path)
        .follow_links(true)
        .max_depth(MAX_DISCOVERY_DEPTH)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| !e.file_type().is_dir() || folders.first(e.path()));
    for entry in walk {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let at = e.path().unwrap_or(path).to_path_buf();
                if let Some(ancestor) = e.loop_ancestor() {
                    return Err(DiscoverError::Loop {
                        link: at,
                        ancestor: ancestor.to_path_buf(),
                    });
                }
                let source = e
                    .into_io_error()
                    .unwrap_or_else(|| std::io::Error::other("cannot list the folder"));
                return Err(io(&at, source));
            }
        };
        let is_dir = entry.file_type().is_dir();
        if is_dir && entry.depth() == MAX_DISCOVERY_DEPTH {
            return Err(DiscoverError::TooDeep {
                path: entry.into_path(),
            });
        }
        if !is_dir
            && entry.file_name().to_string_lossy().ends_with(".tests.toml")
            && files.first_case_file(entry.path())
        {
            found.push(entry.into_path());
        }
    }
    found.sort();
    Ok(found)
}

// ───────────── The file format ─────────────

/// A case file as written. Unknown keys are refused, with a suggestion.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    policy: Option<String>,
    #[serde(default)]
    case: Vec<Spanned<CaseDoc>>,
}

/// One `[[case]]` table as written; what it must state together is
/// checked by [`Reader::case`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseDoc {
    name: Option<Spanned<String>>,
    /// A snapshot file's path, or an inline table.
    account: Option<Spanned<toml::Value>>,
    role: Option<String>,
    action: Option<String>,
    operation: Option<Spanned<String>>,
    /// An amount: a string or a number, read as written.
    amount: Option<Spanned<toml::Value>>,
    kind: Option<String>,
    id: Option<String>,
    /// A timestamp: a string or a TOML date-time, read as written.
    expires_at: Option<Spanned<toml::Value>>,
    grant: Option<String>,
    /// Whether a `refund` case records a dispute.
    dispute: Option<bool>,
    outcome: Option<String>,
    state: Option<String>,
    reasons: Option<Vec<String>>,
    next_steps: Option<Vec<String>>,
    warnings: Option<Vec<String>>,
    effects: Option<Vec<EffectDoc>>,
    balance: Option<BalanceDoc>,
    draws: Option<Vec<GrantAmount>>,
    voided: Option<Vec<GrantAmount>>,
    new_debts: Option<Vec<KindAmount>>,
    settlements: Option<Vec<SettlementDoc>>,
    /// Grant attributes of a `grant` case's new grant, by name.
    attributes: Option<toml::Table>,
    /// The amount a ledger case invoices.
    invoiced: Option<Spanned<toml::Value>>,
    /// The amount a ledger case forgives.
    waived: Option<Spanned<toml::Value>>,
    /// What a `grant` case's new grant must be.
    granted: Option<GrantedDoc>,
}

/// The new grant of a `grant` case, as far as the case states it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantedDoc {
    id: Option<String>,
    expires_at: Option<Spanned<toml::Value>>,
}

/// An effect: its code alone, or a table with `code` and parameters.
#[derive(Deserialize)]
#[serde(untagged)]
enum EffectDoc {
    Code(String),
    Table(toml::Table),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BalanceDoc {
    usable: Option<Spanned<toml::Value>>,
    locked: Option<Spanned<toml::Value>>,
    expired: Option<Spanned<toml::Value>>,
    debt: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantAmount {
    grant: String,
    amount: Spanned<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KindAmount {
    kind: String,
    amount: Spanned<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettlementDoc {
    debt: String,
    grant: String,
    amount: Spanned<toml::Value>,
}

// ───────────── Keys, checked before serde reads the file ─────────────

/// The top-level keys of a case file.
const FILE_KEYS: &[&str] = &["policy", "case"];
/// The keys of a `[[case]]` table: the fields of `CaseDoc`, in order.
const CASE_KEYS: &[&str] = &[
    "name",
    "account",
    "role",
    "action",
    "operation",
    "amount",
    "kind",
    "id",
    "expires_at",
    "grant",
    "dispute",
    "outcome",
    "state",
    "reasons",
    "next_steps",
    "warnings",
    "effects",
    "balance",
    "draws",
    "voided",
    "new_debts",
    "settlements",
    "attributes",
    "invoiced",
    "waived",
    "granted",
];
/// The keys of a case's `balance`, `granted`, and of a row of `draws` or
/// `voided`, `new_debts` and `settlements`: the fields of their structs.
const BALANCE_KEYS: &[&str] = &["usable", "locked", "expired", "debt"];
const GRANTED_KEYS: &[&str] = &["id", "expires_at"];
const GRANT_AMOUNT_KEYS: &[&str] = &["grant", "amount"];
const KIND_AMOUNT_KEYS: &[&str] = &["kind", "amount"];
const SETTLEMENT_KEYS: &[&str] = &["debt", "grant", "amount"];

/// Every unknown key of the file, its cases and the tables they hold, in
/// the order written: serde reports only the first. At most
/// [`MAX_SNAPSHOT_ERRORS`] are kept; the second number counts the rest.
/// An inline `account` is a snapshot, checked as one; `attributes` and an
/// effect's table take any key.
fn unknown_keys(tree: &Node<'_>) -> (Vec<Diagnostic>, usize) {
    let mut found = Vec::new();
    let mut omitted = 0;
    let mut check = |table: &Node<'_>, known: &[&str], place: &str| {
        let DocValue::Object(entries) = &table.value else {
            return;
        };
        for (key, span, _) in entries {
            if known.contains(&key.as_ref()) {
                continue;
            }
            if found.len() < MAX_SNAPSHOT_ERRORS {
                found.push(unknown_key(key, *span, place, known));
            } else {
                omitted += 1;
            }
        }
    };
    check(tree, FILE_KEYS, "");
    for case in case_tables(tree).into_iter().flatten() {
        check(case, CASE_KEYS, " in a case");
        let DocValue::Object(entries) = &case.value else {
            continue;
        };
        for (key, _, value) in entries {
            let (known, place) = match key.as_ref() {
                "balance" => (BALANCE_KEYS, " in `balance`"),
                "granted" => (GRANTED_KEYS, " in `granted`"),
                "draws" => (GRANT_AMOUNT_KEYS, " in a row of `draws`"),
                "voided" => (GRANT_AMOUNT_KEYS, " in a row of `voided`"),
                "new_debts" => (KIND_AMOUNT_KEYS, " in a row of `new_debts`"),
                "settlements" => (SETTLEMENT_KEYS, " in a row of `settlements`"),
                _ => continue,
            };
            match &value.value {
                DocValue::Array(rows) => rows.iter().for_each(|row| check(row, known, place)),
                _ => check(value, known, place),
            }
        }
    }
    (found, omitted)
}

/// An unknown key, with the table it is in (`place`, such as ` in a
/// case`) and a suggestion from the keys that table takes.
fn unknown_key(key: &str, span: Span, place: &str, known: &[&str]) -> Diagnostic {
    let d = Diagnostic::new(
        Code::UnknownField,
        span,
        format!("unknown key `{key}`{place}"),
    );
    match suggest(key, known.iter().copied()) {
        Some(s) => d.did_you_mean(s),
        None if known.contains(&"outcome") => d.help("see docs/ci.md for the keys a case takes"),
        None if known.contains(&"case") => {
            d.help("a case file has `policy = \"...\"` and `[[case]]` tables")
        }
        None => d.help(format!("expected {}", quoted(known))),
    }
}

/// Reads a case file.
pub fn parse(path: &Path, text: &str) -> Result<CaseFile, CaseFileError> {
    let source = Source::new(path.display().to_string(), text);
    let fail = |d: Diagnostic| CaseFileError {
        diagnostics: Diagnostics::new(source.clone(), vec![d]),
    };
    if text.len() > MAX_CASE_FILE_BYTES {
        return Err(fail(Diagnostic::new(
            Code::SnapshotTooLarge,
            Span::point(0),
            format!("the case file is larger than the limit of {MAX_CASE_FILE_BYTES} bytes"),
        )));
    }
    // The tree with spans holds inline accounts as snapshots are read;
    // serde reads the rest. Syntax errors come from the first.
    let tree = crate::snapshot::toml_doc::parse(text).map_err(|e| {
        fail(
            Diagnostic::new(
                Code::InvalidDocument,
                e.span.unwrap_or_default(),
                format!("the case file is not valid TOML: {}", e.message),
            )
            .help("fix the syntax at the marked place"),
        )
    })?;
    let (unknown, omitted) = unknown_keys(&tree);
    if !unknown.is_empty() {
        return Err(CaseFileError {
            diagnostics: Diagnostics::new(source, unknown).with_omitted(omitted),
        });
    }
    let doc: FileDoc = toml::from_str(text).map_err(|e| fail(serde_diagnostic(text, &e)))?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let policy = match &doc.policy {
        Some(p) => dir.join(p),
        None => {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let stem = name
                .strip_suffix(".tests.toml")
                .or_else(|| name.strip_suffix(".toml"))
                .unwrap_or(&name);
            dir.join(format!("{stem}.policy"))
        }
    };
    let tables = case_tables(&tree);
    let mut r = Reader {
        text,
        source: &source,
        dir: &dir,
        errors: Vec::new(),
    };
    let mut cases = Vec::new();
    for (i, c) in doc.case.iter().enumerate() {
        if let Some(c) = r.case(c, tables.get(i).copied().flatten()) {
            cases.push(c);
        }
    }
    // The first line of each name, to report a repeat with both lines.
    let mut first: HashMap<&str, u32> = HashMap::new();
    for c in &cases {
        match first.get(c.name.as_str()) {
            Some(line) => r.errors.push(
                Diagnostic::new(
                    Code::Duplicate,
                    r.line_span(c.line),
                    format!(
                        "two cases are named `{}` (lines {line} and {})",
                        c.name, c.line
                    ),
                )
                .help("give every case its own name, so a failure points at one case"),
            ),
            None => {
                first.insert(&c.name, c.line);
            }
        }
    }
    let errors = r.errors;
    if !errors.is_empty() {
        return Err(CaseFileError {
            diagnostics: Diagnostics::new(source, errors),
        });
    }
    Ok(CaseFile {
        path: path.to_path_buf(),
        source,
        policy,
        cases,
    })
}

/// The table of each `[[case]]`, by position: its inline account, and
/// where each of its keys is written.
fn case_tables<'t>(tree: &'t Node<'t>) -> Vec<Option<&'t Node<'t>>> {
    let DocValue::Object(entries) = &tree.value else {
        return Vec::new();
    };
    let Some((_, _, cases)) = entries.iter().find(|(k, _, _)| k == "case") else {
        return Vec::new();
    };
    let DocValue::Array(items) = &cases.value else {
        return Vec::new();
    };
    items
        .iter()
        .map(|item| matches!(item.value, DocValue::Object(_)).then_some(item))
        .collect()
}

/// The span of `key` in a table and its value.
fn entry<'t>(table: Option<&'t Node<'t>>, key: &str) -> Option<(Span, &'t Node<'t>)> {
    let DocValue::Object(entries) = &table?.value else {
        return None;
    };
    entries
        .iter()
        .find(|(k, _, _)| k == key)
        .map(|(_, span, v)| (*span, v))
}

/// serde's first error as a diagnostic: an unknown key with a suggestion,
/// a missing or mistyped one with what was expected.
fn serde_diagnostic(text: &str, e: &toml::de::Error) -> Diagnostic {
    let span = e
        .span()
        .map_or_else(Span::default, |r| Span::new(r.start, r.end));
    let message = e.message().trim();
    // serde says `unknown field `x`, expected one of `a`, `b``.
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (key, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        let place = match known.as_slice() {
            k if k.contains(&"outcome") => " in a case",
            k if k.contains(&"case") => "",
            ["usable", ..] => " in `balance`",
            ["debt", "grant", "amount"] => " in a row of `settlements`",
            ["grant", "amount"] => " in a row of `draws` or `voided`",
            ["kind", "amount"] => " in a row of `new_debts`",
            _ => " in this table",
        };
        return unknown_key(key, span, place, &known);
    }
    let code = if message.starts_with("missing field") {
        Code::MissingField
    } else if message.starts_with("invalid type") || message.starts_with("data did not match") {
        Code::WrongType
    } else {
        Code::InvalidValue
    };
    let help = if code == Code::WrongType {
        "see docs/ci.md for what each key of a case file holds"
    } else {
        "fix the marked place"
    };
    let message = match key_before(text, span.start as usize) {
        Some(key) => format!("`{key}`: {message}"),
        None => format!("in the case file: {message}"),
    };
    Diagnostic::new(code, span, message).help(help)
}

/// The key written just before `at` on its line (`role` in `role = 5`),
/// to name what a serde error is about.
fn key_before(text: &str, at: usize) -> Option<&str> {
    let before = text.get(..at)?;
    let line = before.rsplit('\n').next()?;
    let key = line.trim_end().strip_suffix('=')?.trim_end();
    let start = key
        .rfind(|c: char| c.is_whitespace() || c == '{' || c == ',')
        .map_or(0, |i| i + 1);
    key.get(start..).filter(|k| !k.is_empty())
}

fn quoted(items: &[&str]) -> String {
    let q: Vec<String> = items.iter().map(|s| format!("`{s}`")).collect();
    q.join(", ")
}

/// Checks what serde cannot: which keys a case needs together, and the
/// values (amounts, timestamps, operations) it reads as text.
struct Reader<'a> {
    text: &'a str,
    source: &'a Source,
    dir: &'a Path,
    errors: Vec<Diagnostic>,
}

impl Reader<'_> {
    fn error(&mut self, code: Code, span: Span, message: impl Into<String>) {
        self.errors.push(Diagnostic::new(code, span, message));
    }

    fn line_span(&self, line: u32) -> Span {
        // The start of `line`: found again from the text, for the report.
        let at = self
            .text
            .split_inclusive('\n')
            .take(line.saturating_sub(1) as usize)
            .map(str::len)
            .sum();
        Span::point(at)
    }

    /// A scalar as written: a string's value, a number's text without `_`,
    /// a date-time's text.
    fn scalar(&self, value: &Spanned<toml::Value>) -> Option<String> {
        match value.get_ref() {
            toml::Value::String(s) => Some(s.clone()),
            toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Datetime(_) => self
                .text
                .get(value.span())
                .map(|t| t.trim().replace('_', "")),
            toml::Value::Boolean(b) => Some(b.to_string()),
            _ => None,
        }
    }

    fn amount(&mut self, value: &Spanned<toml::Value>, what: &str) -> Option<Decimal> {
        let span = span_of(value.span());
        let text = match value.get_ref() {
            toml::Value::String(_) | toml::Value::Integer(_) | toml::Value::Float(_) => {
                self.scalar(value)?
            }
            other => {
                self.error(
                    Code::WrongType,
                    span,
                    format!("`{what}` must be an amount, found {}", other.type_str()),
                );
                return None;
            }
        };
        match crate::amount::parse(&text) {
            Ok(d) => Some(d),
            Err(e) => {
                self.error(
                    Code::InvalidValue,
                    span,
                    format!("`{what}`: `{text}` is not a valid amount: {}", e.reason()),
                );
                None
            }
        }
    }

    fn case(&mut self, doc: &Spanned<CaseDoc>, table: Option<&Node<'_>>) -> Option<Case> {
        let span = span_of(doc.span());
        let c = doc.get_ref();
        let errors_before = self.errors.len();
        let Some(name_node) = &c.name else {
            self.error(Code::MissingField, span, "a case needs a `name`");
            return None;
        };
        let name = name_node.get_ref().clone();
        let line = self.source.line_col(span_of(name_node.span()).start).line;
        let account = match (&c.account, entry(table, "account")) {
            (Some(a), _) if a.get_ref().is_str() => {
                AccountSource::File(self.dir.join(a.get_ref().as_str().unwrap_or_default()))
            }
            (Some(a), Some((_, node))) if a.get_ref().is_table() => {
                AccountSource::Inline(node.clone().into_owned())
            }
            (Some(a), _) => {
                self.error(
                    Code::WrongType,
                    span_of(a.span()),
                    "`account` is a snapshot file's path or an inline table",
                );
                return None;
            }
            (None, _) => {
                self.error(
                    Code::MissingField,
                    span,
                    format!("case `{name}` needs an `account`"),
                );
                return None;
            }
        };
        let request = self.request(c, &name, span)?;
        self.keys_apply(c, &request, &name, table, span);
        let mut expect = Expect {
            outcome: c.outcome.clone(),
            state: c.state.clone(),
            reasons: c.reasons.clone(),
            next_steps: c.next_steps.clone(),
            warnings: c.warnings.clone(),
            ..Expect::default()
        };
        if let Some(effects) = &c.effects {
            expect.effects = self.effects(effects, span);
        }
        if let Some(outcome) = &c.outcome {
            let allowed: &[&str] = match request {
                CaseRequest::Decide { .. } => &["allow", "deny"],
                _ => &["applied", "refused"],
            };
            if !allowed.contains(&outcome.as_str()) {
                let at = entry(table, "outcome").map_or(span, |(at, _)| at);
                self.errors.push(
                    Diagnostic::new(
                        Code::InvalidValue,
                        at,
                        format!("case `{name}`: the outcome `{outcome}` never happens here"),
                    )
                    .label("not an outcome of this case")
                    .help(format!(
                        "a decision is `allow` or `deny`; a ledger operation is `applied` or `refused` (this case's outcome is {})",
                        and_list(allowed).replace(" and ", " or ")
                    )),
                );
            }
        }
        if let Some(v) = &c.invoiced {
            expect.invoiced = self.amount(v, "invoiced");
        }
        if let Some(v) = &c.waived {
            expect.waived = self.amount(v, "waived");
        }
        if let Some(g) = &c.granted {
            expect.granted_id = g.id.clone();
            if let Some(at) = &g.expires_at {
                expect.granted_expires_at = self.timestamp(at, "granted.expires_at");
            }
        }
        if let Some(b) = &c.balance {
            let totals = [
                ("usable", &b.usable),
                ("locked", &b.locked),
                ("expired", &b.expired),
                ("debt", &b.debt),
            ];
            let mut out = Vec::new();
            for (key, value) in totals {
                if let Some(v) = value {
                    out.push((key.to_owned(), self.amount(v, &format!("balance.{key}"))?));
                }
            }
            expect.balance = Some(out);
        }
        let mut pairs = |rows: &Option<Vec<(String, &Spanned<toml::Value>)>>, what: &str| {
            rows.as_ref().map(|rows| {
                rows.iter()
                    .filter_map(|(k, a)| Some((k.clone(), self.amount(a, what)?)))
                    .collect::<Vec<_>>()
            })
        };
        let draws = c
            .draws
            .as_ref()
            .map(|r| r.iter().map(|d| (d.grant.clone(), &d.amount)).collect());
        expect.draws = pairs(&draws, "draws.amount");
        let voided = c
            .voided
            .as_ref()
            .map(|r| r.iter().map(|d| (d.grant.clone(), &d.amount)).collect());
        expect.voided = pairs(&voided, "voided.amount");
        let new_debts = c
            .new_debts
            .as_ref()
            .map(|r| r.iter().map(|d| (d.kind.clone(), &d.amount)).collect());
        expect.new_debts = pairs(&new_debts, "new_debts.amount");
        if let Some(rows) = &c.settlements {
            let mut out = Vec::new();
            for s in rows {
                if let Some(a) = self.amount(&s.amount, "settlements.amount") {
                    out.push((s.debt.clone(), s.grant.clone(), a));
                }
            }
            expect.settlements = Some(out);
        }
        if self.errors.len() > errors_before {
            return None;
        }
        Some(Case {
            name,
            line,
            account,
            request,
            expect,
        })
    }

    /// Refuses keys that the case's kind neither takes nor checks: a
    /// ledger case's `outcome` would never be compared, so the case would
    /// pass whatever the policy did.
    fn keys_apply(
        &mut self,
        c: &CaseDoc,
        request: &CaseRequest,
        name: &str,
        table: Option<&Node<'_>>,
        case_span: Span,
    ) {
        let (kind, takes, checks) = applies(request);
        for (key, _) in stated(c).into_iter().filter(|(_, stated)| *stated) {
            if takes.contains(&key) || checks.contains(&key) {
                continue;
            }
            let takes = match takes {
                [] => "no input but its account".to_owned(),
                keys => and_list(keys),
            };
            let span = entry(table, key).map_or(case_span, |(span, _)| span);
            self.errors.push(
                Diagnostic::new(
                    Code::UnknownField,
                    span,
                    format!("case `{name}`: `{key}` does not apply to {kind}"),
                )
                .label("does not apply here")
                .help(format!(
                    "{kind} takes {takes}, and checks {}; `{key}` is for {}",
                    and_list(checks),
                    kind_of_key(key)
                )),
            );
        }
    }

    fn request(&mut self, c: &CaseDoc, name: &str, case_span: Span) -> Option<CaseRequest> {
        let Some(op) = &c.operation else {
            return match (&c.role, &c.action) {
                (Some(role), Some(action)) => Some(CaseRequest::Decide {
                    role: role.clone(),
                    action: action.clone(),
                }),
                _ => {
                    self.error(
                        Code::MissingField,
                        case_span,
                        format!("case `{name}` needs a `role` and an `action`, or an `operation`"),
                    );
                    None
                }
            };
        };
        let span = span_of(op.span());
        Some(match op.get_ref().as_str() {
            "charge" => match &c.amount {
                Some(a) => CaseRequest::Charge(self.amount(a, "amount")?),
                None => {
                    self.error(
                        Code::MissingField,
                        span,
                        "a `charge` case needs an `amount`",
                    );
                    return None;
                }
            },
            "settle" => CaseRequest::Settle,
            "grant" => {
                let amount = c.amount.as_ref().and_then(|a| self.amount(a, "amount"));
                let (Some(kind), Some(amount)) = (&c.kind, amount) else {
                    self.error(
                        Code::MissingField,
                        span,
                        "a `grant` case needs a `kind` and an `amount`",
                    );
                    return None;
                };
                let expires_at = match &c.expires_at {
                    Some(v) => Some(self.timestamp(v, "expires_at")?),
                    None => None,
                };
                let mut attributes = Vec::new();
                for (k, v) in c.attributes.iter().flatten() {
                    let text = match v {
                        toml::Value::String(s) => s.clone(),
                        toml::Value::Integer(i) => i.to_string(),
                        toml::Value::Boolean(b) => b.to_string(),
                        other => {
                            self.error(
                                Code::WrongType,
                                span,
                                format!(
                                    "grant attribute `{k}` must be a string, a whole number or true/false, found {}",
                                    other.type_str()
                                ),
                            );
                            return None;
                        }
                    };
                    attributes.push((k.clone(), text));
                }
                CaseRequest::Grant(GrantSpec {
                    kind: kind.clone(),
                    amount,
                    id: c.id.clone(),
                    expires_at,
                    attributes,
                })
            }
            "refund" => match &c.grant {
                Some(g) => CaseRequest::Refund(g.clone(), c.dispute.unwrap_or(false)),
                None => {
                    self.error(
                        Code::MissingField,
                        span,
                        "a `refund` case needs the `grant` it refunds",
                    );
                    return None;
                }
            },
            other => {
                let d = Diagnostic::new(
                    Code::InvalidValue,
                    span,
                    format!("unknown operation `{other}`"),
                );
                self.errors.push(
                    match suggest(other, ["charge", "settle", "grant", "refund"]) {
                        Some(s) => d.did_you_mean(s),
                        None => d.help("operations are `charge`, `settle`, `grant` and `refund`"),
                    },
                );
                return None;
            }
        })
    }

    /// A timestamp as written, by the rule snapshots follow: a TOML
    /// date-time is read from its text, not from what `toml` made of it.
    fn timestamp(&mut self, value: &Spanned<toml::Value>, what: &str) -> Option<Timestamp> {
        let span = span_of(value.span());
        let text = match value.get_ref() {
            toml::Value::String(_) | toml::Value::Datetime(_) => self.scalar(value),
            _ => None,
        };
        let Some(text) = text else {
            self.error(
                Code::WrongType,
                span,
                format!("`{what}` must be a timestamp like \"2026-11-22T10:00:00Z\""),
            );
            return None;
        };
        match Timestamp::parse(&text) {
            Ok(t) => Some(t),
            Err(why) => {
                self.error(
                    Code::InvalidValue,
                    span,
                    format!("`{what}` is not a timestamp: {why}"),
                );
                None
            }
        }
    }

    fn effects(&mut self, effects: &[EffectDoc], case_span: Span) -> Option<Vec<EffectExpect>> {
        let mut out = Vec::new();
        for effect in effects {
            match effect {
                EffectDoc::Code(code) => out.push((code.clone(), Vec::new())),
                EffectDoc::Table(table) => {
                    let mut code = None;
                    let mut params = Vec::new();
                    for (k, v) in table {
                        let text = match v {
                            toml::Value::String(s) => s.clone(),
                            toml::Value::Integer(i) => i.to_string(),
                            toml::Value::Float(f) => f.to_string(),
                            toml::Value::Boolean(b) => b.to_string(),
                            other => {
                                self.error(
                                    Code::WrongType,
                                    case_span,
                                    format!(
                                        "effect parameter `{k}` must be a string, found {}",
                                        other.type_str()
                                    ),
                                );
                                return None;
                            }
                        };
                        if k == "code" {
                            code = Some(text);
                        } else {
                            params.push((k.clone(), text));
                        }
                    }
                    let Some(code) = code else {
                        self.error(Code::MissingField, case_span, "an effect needs its `code`");
                        return None;
                    };
                    out.push((code, params));
                }
            }
        }
        Some(out)
    }
}

/// What a decision case checks.
const DECISION_CHECKS: &[&str] = &[
    "outcome",
    "state",
    "reasons",
    "next_steps",
    "warnings",
    "effects",
    "balance",
];

/// What a ledger case checks, whatever its operation.
const LEDGER_CHECKS: &[&str] = &[
    "outcome",
    "reasons",
    "next_steps",
    "warnings",
    "effects",
    "draws",
    "voided",
    "new_debts",
    "settlements",
    "invoiced",
    "waived",
];

/// What a `grant` case checks: a ledger case's keys and the new grant.
const GRANT_CHECKS: &[&str] = &[
    "outcome",
    "reasons",
    "next_steps",
    "warnings",
    "effects",
    "draws",
    "voided",
    "new_debts",
    "settlements",
    "invoiced",
    "waived",
    "granted",
];

/// Each key a case may state besides `name`, `account` and `operation`,
/// and whether `c` states it.
fn stated(c: &CaseDoc) -> [(&'static str, bool); 23] {
    [
        ("role", c.role.is_some()),
        ("action", c.action.is_some()),
        ("amount", c.amount.is_some()),
        ("kind", c.kind.is_some()),
        ("id", c.id.is_some()),
        ("expires_at", c.expires_at.is_some()),
        ("grant", c.grant.is_some()),
        ("dispute", c.dispute.is_some()),
        ("outcome", c.outcome.is_some()),
        ("state", c.state.is_some()),
        ("reasons", c.reasons.is_some()),
        ("next_steps", c.next_steps.is_some()),
        ("warnings", c.warnings.is_some()),
        ("effects", c.effects.is_some()),
        ("balance", c.balance.is_some()),
        ("draws", c.draws.is_some()),
        ("voided", c.voided.is_some()),
        ("new_debts", c.new_debts.is_some()),
        ("settlements", c.settlements.is_some()),
        ("attributes", c.attributes.is_some()),
        ("invoiced", c.invoiced.is_some()),
        ("waived", c.waived.is_some()),
        ("granted", c.granted.is_some()),
    ]
}

/// A kind of case in words, the keys it takes as input, and the ones it
/// checks. Every case takes `name` and `account`; a ledger case, `operation`.
fn applies(
    request: &CaseRequest,
) -> (
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
) {
    match request {
        CaseRequest::Decide { .. } => ("a decision case", &["role", "action"], DECISION_CHECKS),
        CaseRequest::Charge(_) => ("a `charge` case", &["amount"], LEDGER_CHECKS),
        CaseRequest::Settle => ("a `settle` case", &[], LEDGER_CHECKS),
        CaseRequest::Grant(_) => (
            "a `grant` case",
            &["kind", "amount", "id", "expires_at", "attributes"],
            GRANT_CHECKS,
        ),
        CaseRequest::Refund(..) => ("a `refund` case", &["grant", "dispute"], LEDGER_CHECKS),
    }
}

/// The kind of case a key belongs to, in words.
fn kind_of_key(key: &str) -> &'static str {
    match key {
        "amount" => "a `charge` or `grant` case",
        "kind" | "id" | "expires_at" | "attributes" | "granted" => "a `grant` case",
        "grant" | "dispute" => "a `refund` case",
        k if LEDGER_CHECKS.contains(&k) => "a ledger case (one with an `operation`)",
        _ => "a decision case (`role` and `action`, no `operation`)",
    }
}

/// `a`, `a` and `b`, `a`, `b` and `c`, in backticks.
fn and_list(items: &[&str]) -> String {
    let q: Vec<String> = items.iter().map(|s| format!("`{s}`")).collect();
    match q.split_last() {
        Some((last, init)) if !init.is_empty() => format!("{} and {last}", init.join(", ")),
        _ => q.concat(),
    }
}

fn span_of(range: Range<usize>) -> Span {
    Span::new(range.start, range.end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(text: &str) -> Vec<String> {
        let e = parse(Path::new("x.tests.toml"), text).err().unwrap();
        e.diagnostics
            .items
            .iter()
            .map(|d| format!("{} | {}", d.message, d.help.as_deref().unwrap_or("")))
            .collect()
    }

    #[test]
    fn grant_expiry_follows_the_snapshot_timestamp_rule() {
        let case = |at: &str| {
            format!(
                "[[case]]\nname = \"g\"\naccount = \"a.json\"\noperation = \"grant\"\nkind = \"purchased\"\namount = \"1\"\nexpires_at = {at}\n"
            )
        };
        for at in [
            "2027-01-01T00:00:00.1234567890123Z",
            "\"2027-01-01T00:00:00.1234567890Z\"",
        ] {
            let m = messages(&case(at));
            assert!(
                m[0].contains("fractional seconds need 1 to 9 digits"),
                "{m:?}"
            );
        }
        let ok = parse(
            Path::new("x.tests.toml"),
            &case("2027-01-01T00:00:00.123456789Z"),
        );
        let ok = ok.unwrap();
        let CaseRequest::Grant(spec) = &ok.cases[0].request else {
            panic!()
        };
        assert_eq!(
            spec.expires_at.unwrap().to_string(),
            "2027-01-01T00:00:00.123456789Z"
        );
    }

    #[test]
    fn unknown_keys_are_named_with_their_table_and_a_suggestion() {
        let base = "[[case]]\nname = \"c\"\naccount = \"a.json\"\noperation = \"settle\"\n";
        for (extra, want) in [
            (
                "outcme = \"allow\"",
                "unknown key `outcme` in a case | did you mean `outcome`?",
            ),
            (
                "settlements = [{ debt = \"d\", grnt = \"g\", amount = \"1\" }]",
                "unknown key `grnt` in a row of `settlements` | did you mean `grant`?",
            ),
            (
                "balance = { debts = \"1\" }",
                "unknown key `debts` in `balance` | did you mean `debt`?",
            ),
        ] {
            assert_eq!(messages(&format!("{base}{extra}\n")), [want]);
        }
        assert_eq!(
            messages("polcy = \"p\"\n"),
            ["unknown key `polcy` | did you mean `policy`?"]
        );
        assert_eq!(
            messages(&format!("{base}reasons = \"a\"\n"))[0],
            "`reasons`: invalid type: string \"a\", expected a sequence | see docs/ci.md for what each key of a case file holds"
        );
    }

    /// serde stops at the first unknown key; a file with a typo in every
    /// case was fixed one run at a time. Every unknown key is reported, in
    /// every case and every table a case holds, in the order written.
    #[test]
    fn every_unknown_key_of_every_case_is_reported() {
        let text = "polcy = \"p\"\n\
            [[case]]\nname = \"a\"\naccount = \"a.json\"\nrole = \"r\"\naction = \"x\"\n\
            outcme = \"allow\"\nbalance = { usable = \"1\", debts = \"0\" }\n\
            [[case]]\nname = \"b\"\naccount = \"a.json\"\noperation = \"grant\"\n\
            kind = \"k\"\namount = \"1\"\nexpires = \"2027-01-01T00:00:00Z\"\n\
            attributes = { anything = 1 }\neffects = [{ code = \"e\", free = 1 }]\n\
            granted = { idd = \"g\" }\n\
            draws = [{ grant = \"g\", amount = \"1\" }, { grnt = \"g\", amount = \"1\" }]\n\
            voided = [{ grant = \"g\", amont = \"1\" }]\nnew_debts = [{ knd = \"d\", amount = \"1\" }]\n\
            settlements = [{ debt = \"d\", grant = \"g\", amount = \"1\", extra = 1 }]\n\
            [[case]]\nname = \"c\"\naccount = { now = \"2026-01-01T00:00:00Z\", zzz = 1 }\n\
            operation = \"settle\"\nwarnigns = []\n";
        assert_eq!(
            messages(text),
            [
                "unknown key `polcy` | did you mean `policy`?",
                "unknown key `outcme` in a case | did you mean `outcome`?",
                "unknown key `debts` in `balance` | did you mean `debt`?",
                "unknown key `expires` in a case | did you mean `expires_at`?",
                "unknown key `idd` in `granted` | did you mean `id`?",
                "unknown key `grnt` in a row of `draws` | did you mean `grant`?",
                "unknown key `amont` in a row of `voided` | did you mean `amount`?",
                "unknown key `knd` in a row of `new_debts` | did you mean `kind`?",
                "unknown key `extra` in a row of `settlements` | expected `debt`, `grant`, `amount`",
                "unknown key `warnigns` in a case | did you mean `warnings`?",
            ]
        );
    }

    /// Unknown keys are capped like a snapshot's errors: the rest are
    /// counted, not listed.
    #[test]
    fn unknown_keys_are_capped_and_counted() {
        let mut text = String::new();
        for i in 0..MAX_SNAPSHOT_ERRORS + 50 {
            text.push_str(&format!(
                "[[case]]\nname = \"c{i}\"\naccount = \"a.json\"\noperation = \"settle\"\nzz = 1\n"
            ));
        }
        let e = parse(Path::new("x.tests.toml"), &text).err().unwrap();
        assert_eq!(e.diagnostics.items.len(), MAX_SNAPSHOT_ERRORS);
        assert_eq!(e.diagnostics.omitted, 50);
        assert!(
            e.diagnostics
                .items
                .iter()
                .all(|d| d.code == Code::UnknownField)
        );
    }

    #[test]
    fn discovery_stops_at_its_depth_limit() {
        let root = std::env::temp_dir().join(format!("tollgate-deep-{}", std::process::id()));
        let mut deep = root.clone();
        for i in 0..MAX_DISCOVERY_DEPTH - 1 {
            deep.push(format!("d{i}"));
        }
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(deep.join("x.tests.toml"), "").unwrap();
        assert_eq!(discover(&root).unwrap(), [deep.join("x.tests.toml")]);
        std::fs::create_dir_all(deep.join("one-more")).unwrap();
        let e = discover(&root).unwrap_err();
        assert!(matches!(e, DiscoverError::TooDeep { .. }), "{e}");
        std::fs::remove_dir_all(&root).unwrap();
    }

    /// A key that only one kind of case checks, written on another kind,
    /// was read and never compared: the case passed without checking it.
    #[test]
    fn a_key_that_does_not_apply_to_the_case_kind_is_an_error() {
        let case = |kind: &str, extra: &str| {
            format!("[[case]]\nname = \"c\"\naccount = \"a.json\"\n{kind}\n{extra}\n")
        };
        let settle = "operation = \"settle\"";
        let decide = "role = \"member\"\naction = \"run_tool\"";
        assert_eq!(
            messages(&case(settle, "state = \"paused\"")),
            [
                "case `c`: `state` does not apply to a `settle` case | a `settle` case takes no input \
              but its account, and checks `outcome`, `reasons`, `next_steps`, `warnings`, `effects`, \
              `draws`, `voided`, `new_debts`, `settlements`, `invoiced` and `waived`; \
              `state` is for a decision case (`role` and `action`, no `operation`)"
            ]
        );
        assert_eq!(
            messages(&case(decide, "draws = []")),
            [
                "case `c`: `draws` does not apply to a decision case | a decision case takes `role` \
              and `action`, and checks `outcome`, `state`, `reasons`, `next_steps`, `warnings`, \
              `effects` and `balance`; `draws` is for a ledger case (one with an `operation`)"
            ]
        );
        // Every key that does not apply is named, in the order written.
        let m = messages(&case(
            "operation = \"charge\"\namount = \"1\"",
            "state = \"ok\"\nrole = \"member\"\ngrant = \"g\"\nexpires_at = \"2027-01-01T00:00:00Z\"",
        ));
        let keys: Vec<&str> = m
            .iter()
            .map(|m| m.split('`').nth(3).unwrap_or_default())
            .collect();
        assert_eq!(keys, ["state", "role", "grant", "expires_at"], "{m:?}");
        assert!(m[2].contains("`grant` is for a `refund` case"), "{m:?}");
        assert!(m[3].contains("`expires_at` is for a `grant` case"), "{m:?}");
        // The keys each kind does take are accepted.
        for ok in [
            case(
                decide,
                "outcome = \"allow\"\nstate = \"ok\"\nreasons = []\nnext_steps = []\nwarnings = []\neffects = []\nbalance = { usable = \"1\" }",
            ),
            case(
                "operation = \"grant\"\nkind = \"purchased\"\namount = \"1\"\nid = \"g\"\nexpires_at = \"2027-01-01T00:00:00Z\"",
                "draws = []\nvoided = []\nnew_debts = []\nsettlements = []",
            ),
            case("operation = \"refund\"\ngrant = \"g\"", "voided = []"),
        ] {
            assert!(parse(Path::new("x.tests.toml"), &ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn every_case_key_is_checked_for_its_kind() {
        let doc: CaseDoc = toml::from_str("").unwrap();
        let listed: Vec<&str> = stated(&doc).iter().map(|(k, _)| *k).collect();
        let always = ["name", "account", "operation"];
        let mut all: Vec<&str> = always.iter().chain(&listed).copied().collect();
        all.sort_unstable();
        let mut keys = CASE_KEYS.to_vec();
        keys.sort_unstable();
        assert_eq!(all, keys);
    }

    #[test]
    fn case_keys_are_the_fields_serde_reads() {
        // An unknown key's message lists what serde expects; the lists
        // here check every table before serde runs, and must not drift
        // from it: a key missing here would be refused by serde alone,
        // one at a time, and a key too many would reach serde's refusal.
        let case = "[[case]]\nname = \"x\"\n";
        for (text, keys) in [
            ("zzz = 1\n".to_owned(), FILE_KEYS),
            (format!("{case}zzz = 1\n"), CASE_KEYS),
            (format!("{case}balance = {{ zzz = 1 }}\n"), BALANCE_KEYS),
            (format!("{case}granted = {{ zzz = 1 }}\n"), GRANTED_KEYS),
            (
                format!("{case}draws = [{{ zzz = 1 }}]\n"),
                GRANT_AMOUNT_KEYS,
            ),
            (
                format!("{case}voided = [{{ zzz = 1 }}]\n"),
                GRANT_AMOUNT_KEYS,
            ),
            (
                format!("{case}new_debts = [{{ zzz = 1 }}]\n"),
                KIND_AMOUNT_KEYS,
            ),
            (
                format!("{case}settlements = [{{ zzz = 1 }}]\n"),
                SETTLEMENT_KEYS,
            ),
        ] {
            let e = toml::from_str::<FileDoc>(&text).err().unwrap();
            let listed: Vec<&str> = e.message().split('`').skip(3).step_by(2).collect();
            assert_eq!(listed, keys, "{text}");
        }
    }
}
