//! Checking a parsed snapshot against the policy, field by field.
//!
//! This runs once per snapshot, often once per request, so the good path
//! allocates only what the account keeps: field paths and messages are
//! built only when something is wrong.

use std::fmt;

use rust_decimal::Decimal;
use smallvec::SmallVec;

use super::doc::{DocValue, Node};
use super::{Account, Debt, FieldValue, Grant, MAX_ITEMS, MAX_SNAPSHOT_ERRORS, MAX_TEXT_LEN};
use crate::compile::Program;
use crate::diagnostic::{Code, Diagnostic, suggest};
use crate::lang::{Base, EnumRef, Field};
use crate::span::Span;
use crate::time::Timestamp;

/// Keys the engine reads itself, at the top of every snapshot.
const ENGINE_KEYS: &[&str] = &["now", "account", "grants", "debts"];
/// The keys of a grant and of a debt, in the order `grant` and `debt` take
/// their values.
const GRANT_KEYS: [&str; 6] = [
    "id",
    "kind",
    "amount",
    "remaining",
    "granted_at",
    "expires_at",
];
const DEBT_KEYS: [&str; 4] = ["id", "kind", "amount", "created_at"];

/// Where a value sits in the snapshot: `grants[2].remaining`. Built on the
/// stack as the walk descends; turned into text only for an error.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Key(Path::Root, key) => f.write_str(key),
            Path::Key(parent, key) => write!(f, "{parent}.{key}"),
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

/// Validates a document into an account, or returns every problem.
pub(crate) fn account(
    program: &Program,
    doc: &Node,
    now: Option<Timestamp>,
) -> Result<Account, (Vec<Diagnostic>, usize)> {
    let mut v = Validator {
        program,
        errors: Vec::new(),
        omitted: 0,
        fields: vec![FieldValue::Absent; program.fields.len()],
        reported: Vec::new(),
        now_override: now,
    };
    let account = v.root(doc);
    match account {
        Some(a) if v.errors.is_empty() => Ok(a),
        _ => Err((v.errors, v.omitted)),
    }
}

struct Validator<'p> {
    program: &'p Program,
    /// At most [`MAX_SNAPSHOT_ERRORS`].
    errors: Vec<Diagnostic>,
    /// How many errors past the cap were found and not kept.
    omitted: usize,
    fields: Vec<FieldValue>,
    /// The slots of fields whose value was present but refused, with the
    /// error already reported: they are not also missing. Empty (and not
    /// allocated) on the good path.
    reported: Vec<usize>,
    now_override: Option<Timestamp>,
}

impl<'p> Validator<'p> {
    fn error(
        &mut self,
        code: Code,
        span: Span,
        path: &Path<'_>,
        message: impl fmt::Display,
        help: impl Into<String>,
    ) {
        self.error_fixed(code, span, path, message, help, None);
    }

    /// As [`Validator::error`], with the text that fixes it in place of
    /// `span` (a did-you-mean).
    fn error_fixed(
        &mut self,
        code: Code,
        span: Span,
        path: &Path<'_>,
        message: impl fmt::Display,
        help: impl Into<String>,
        fix: Option<&str>,
    ) {
        if self.full() {
            self.omitted += 1;
            return;
        }
        let message = match path {
            Path::Root => message.to_string(),
            _ => format!("`{path}`: {message}"),
        };
        let mut d = Diagnostic::new(code, span, message).help(help.into());
        d.suggestion = fix.map(str::to_owned);
        self.errors.push(d);
    }

    /// Whether the error list is full: later errors are only counted.
    fn full(&self) -> bool {
        self.errors.len() >= MAX_SNAPSHOT_ERRORS
    }

    fn wrong_type(&mut self, node: &Node, path: &Path<'_>, expected: &str, example: &str) {
        self.error(
            Code::WrongType,
            node.span,
            path,
            format!("expected {expected}, found {}", node.value.kind()),
            format!("write it like {example}"),
        );
    }

    fn root(&mut self, doc: &Node) -> Option<Account> {
        let DocValue::Object(entries) = &doc.value else {
            self.wrong_type(
                doc,
                &Path::Root,
                "an object with `now`, `grants` and `debts`",
                "{\"now\": \"2026-11-22T10:00:00Z\", ...}",
            );
            return None;
        };
        let mut now = None;
        let mut id = None;
        let mut grants = Vec::new();
        let mut debts = Vec::new();
        let root = Path::Root;
        for (key, key_span, value) in entries {
            let path = Path::Key(&root, key);
            match key.as_ref() {
                "now" => now = self.time(value, &path),
                "account" => id = self.text(value, &path),
                "grants" => grants = self.items(value, &path, Self::grant),
                "debts" => debts = self.items(value, &path, Self::debt),
                _ => self.field_or_group(key, *key_span, value, &[], &root),
            }
        }
        if self.now_override.is_some() {
            now = self.now_override;
        } else if now.is_none() && !entries.iter().any(|(k, _, _)| k == "now") {
            self.error(
                Code::MissingField,
                Span::point(doc.span.start as usize),
                &Path::Key(&root, "now"),
                "is required",
                "give the instant the snapshot describes, like \"now\": \"2026-11-22T10:00:00Z\"; evaluation never reads a clock",
            );
        }
        self.required_fields(doc.span);
        self.unique_ids(&grants, "grants", |g: &(Grant, Span)| (&g.0.id, g.1));
        self.unique_ids(&debts, "debts", |d: &(Debt, Span)| (&d.0.id, d.1));
        Some(Account {
            now: now?,
            id,
            grants: grants.into_iter().map(|(g, _)| g).collect(),
            debts: debts.into_iter().map(|(d, _)| d).collect(),
            fields: std::mem::take(&mut self.fields),
        })
    }

    /// The names under `prefix` in the policy's declared field paths (and
    /// the engine's own keys at the top), for suggestions.
    fn children(&self, prefix: &[&str]) -> Vec<&'p str> {
        let mut out: Vec<&'p str> = if prefix.is_empty() {
            ENGINE_KEYS.to_vec()
        } else {
            Vec::new()
        };
        for f in &self.program.fields {
            let under =
                f.path.len() > prefix.len() && f.path.iter().zip(prefix).all(|(a, b)| a == b);
            if let (true, Some(next)) = (under, f.path.get(prefix.len())) {
                if !out.contains(&next.as_str()) {
                    out.push(next);
                }
            }
        }
        out
    }

    /// A key outside the engine's own: a field the policy declares, or a
    /// group of them (`subscription` in `subscription.status`). `parent` is
    /// where the group sits, for messages.
    fn field_or_group(
        &mut self,
        key: &str,
        key_span: Span,
        value: &Node,
        prefix: &[&str],
        parent: &Path<'_>,
    ) {
        let here = Path::Key(parent, key);
        // Whether a declared field lies at or under `prefix.key`; the path
        // itself is built only for a group, not for every leaf.
        let depth = prefix.len();
        let under = |f: &crate::lang::Field| {
            f.path.get(depth).is_some_and(|s| s == key)
                && f.path.iter().zip(prefix).all(|(a, b)| a == b)
        };
        let leaf = (self.program.fields.iter()).position(|f| f.path.len() == depth + 1 && under(f));
        if let Some(slot) = leaf {
            let before = self.errors.len() + self.omitted;
            match self.field_value(slot, value, &here) {
                Some(v) => {
                    if let Some(cell) = self.fields.get_mut(slot) {
                        *cell = v;
                    }
                }
                // Refused with an error of its own: not missing as well.
                None if self.errors.len() + self.omitted > before => self.reported.push(slot),
                None => {}
            }
            return;
        }
        let is_group = (self.program.fields.iter()).any(|f| f.path.len() > depth + 1 && under(f));
        if !is_group {
            let siblings = if self.full() {
                Vec::new()
            } else {
                self.children(prefix)
            };
            let guess = suggest(key, siblings.iter().copied());
            let help = match guess {
                Some(s) if prefix.is_empty() => format!("did you mean `{s}`?"),
                Some(s) => format!("did you mean `{}.{s}`?", prefix.join(".")),
                None => format!(
                    "the policy `{}` declares no such field; expected {}",
                    self.program.name,
                    list(&siblings)
                ),
            };
            self.error_fixed(
                Code::UnknownField,
                key_span,
                &here,
                "is not a field this policy knows",
                help,
                guess,
            );
            return;
        }
        let mut path: SmallVec<[&str; 4]> = prefix.iter().copied().collect();
        path.push(key);
        match &value.value {
            DocValue::Object(entries) => {
                for (k, k_span, v) in entries {
                    self.field_or_group(k, *k_span, v, &path, &here);
                }
            }
            // A group left out explicitly: its fields are absent.
            DocValue::Null => {}
            _ => {
                let first = self.children(&path).first().copied().unwrap_or("");
                self.wrong_type(value, &here, "an object", &format!("{{\"{first}\": ...}}"));
                // The group's fields are not also missing: this error says
                // what is wrong with all of them.
                let group = (self.program.fields.iter().enumerate())
                    .filter(|(_, f)| f.path.len() > depth + 1 && under(f))
                    .map(|(slot, _)| slot);
                self.reported.extend(group);
            }
        }
    }

    fn field_value(&mut self, slot: usize, node: &Node, path: &Path<'_>) -> Option<FieldValue> {
        let program = self.program;
        let field = program.fields.get(slot)?;
        self.typed_value(field, node, path)
    }

    /// A value of a declared field's type.
    fn typed_value(&mut self, field: &Field, node: &Node, path: &Path<'_>) -> Option<FieldValue> {
        let program = self.program;
        if node.value == DocValue::Null {
            return Some(FieldValue::Absent);
        }
        Some(match field.ty {
            Base::Bool => match node.value {
                DocValue::Bool(b) => FieldValue::Bool(b),
                _ => {
                    self.wrong_type(node, path, "true or false", "true");
                    return None;
                }
            },
            Base::Decimal => FieldValue::Decimal(self.amount(node, path)?),
            Base::Time => FieldValue::Time(self.time(node, path)?),
            Base::Text => FieldValue::Text(self.text(node, path)?),
            Base::Duration => FieldValue::Duration(self.duration(node, path)?),
            Base::Enum(EnumRef::User(e)) => {
                let e = program.enums.get(e.index())?;
                FieldValue::Enum(self.member(node, path, &e.values, &e.name)?)
            }
            Base::Enum(_) | Base::Months => return None,
        })
    }

    /// Fields that are neither optional nor defaulted must be present; one
    /// present with a value refused is reported once, for its value.
    fn required_fields(&mut self, root: Span) {
        // Sorted, so a policy of many fields is not searched quadratically.
        self.reported.sort_unstable();
        let missing: Vec<String> = self
            .program
            .fields
            .iter()
            .zip(&self.fields)
            .enumerate()
            .filter(|(slot, (f, v))| {
                !f.optional
                    && f.default.is_none()
                    && **v == FieldValue::Absent
                    && self.reported.binary_search(slot).is_err()
            })
            .map(|(_, (f, _))| f.dotted())
            .collect();
        for path in missing {
            self.error(
                Code::MissingField,
                Span::point(root.start as usize),
                &Path::Key(&Path::Root, &path),
                "is required by the policy",
                "add it to the snapshot, or give the field a `default` in the policy",
            );
        }
    }

    fn items<T>(
        &mut self,
        node: &Node,
        path: &Path<'_>,
        item: fn(&mut Self, &Node, &Path<'_>) -> Option<T>,
    ) -> Vec<(T, Span)> {
        let DocValue::Array(list) = &node.value else {
            if node.value != DocValue::Null {
                self.wrong_type(node, path, "an array", "[{...}, {...}]");
            }
            return Vec::new();
        };
        if list.len() > MAX_ITEMS {
            self.error(
                Code::SnapshotTooLarge,
                node.span,
                path,
                format!(
                    "holds {} items, more than the limit of {MAX_ITEMS}",
                    list.len()
                ),
                "an account this large should be split or compacted before it is decided",
            );
            return Vec::new();
        }
        let mut out = Vec::with_capacity(list.len());
        for (i, n) in list.iter().enumerate() {
            if let Some(t) = item(self, n, &Path::Index(path, i)) {
                out.push((t, n.span));
            }
        }
        out
    }

    /// The values of an item's keys, in `keys` order; unknown keys reported.
    fn entries<'n, 'd, const N: usize>(
        &mut self,
        node: &'n Node<'d>,
        path: &Path<'_>,
        keys: &[&'static str; N],
    ) -> Option<[Option<&'n Node<'d>>; N]> {
        self.entries_with(node, path, keys, &[], &mut Vec::new())
    }

    /// [`Validator::entries`], with the policy's `attrs` also allowed: their
    /// values go to `attr_values`, by index (filled only when `attrs` is not
    /// empty).
    fn entries_with<'n, 'd, const N: usize>(
        &mut self,
        node: &'n Node<'d>,
        path: &Path<'_>,
        keys: &[&'static str; N],
        attrs: &[Field],
        attr_values: &mut Vec<Option<&'n Node<'d>>>,
    ) -> Option<[Option<&'n Node<'d>>; N]> {
        let DocValue::Object(entries) = &node.value else {
            self.wrong_type(node, path, "an object", "{\"id\": \"...\", ...}");
            return None;
        };
        let mut found = [None; N];
        if !attrs.is_empty() {
            *attr_values = vec![None; attrs.len()];
        }
        for (k, k_span, v) in entries {
            match keys.iter().position(|key| key == k) {
                Some(i) => {
                    if let Some(slot) = found.get_mut(i) {
                        *slot = Some(v);
                    }
                }
                None if attrs.iter().any(|a| a.path.first().is_some_and(|n| n == k)) => {
                    if let Some(i) = attrs
                        .iter()
                        .position(|a| a.path.first().is_some_and(|n| n == k))
                    {
                        if let Some(slot) = attr_values.get_mut(i) {
                            *slot = Some(v);
                        }
                    }
                }
                None => {
                    let mut names: Vec<&str> = keys.to_vec();
                    names.extend(
                        attrs
                            .iter()
                            .filter_map(|a| a.path.first().map(String::as_str)),
                    );
                    let known = if self.full() { &[][..] } else { &names[..] };
                    let guess = suggest(k, known.iter().copied());
                    let help = match guess {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!("expected {}", list(&names)),
                    };
                    self.error_fixed(
                        Code::UnknownField,
                        *k_span,
                        &Path::Key(path, k),
                        "is not a field of this item",
                        help,
                        guess,
                    );
                }
            }
        }
        Some(found)
    }

    fn required<'n, 'd>(
        &mut self,
        found: Option<&'n Node<'d>>,
        node: &Node<'_>,
        path: &Path<'_>,
        key: &str,
        example: &str,
    ) -> Option<&'n Node<'d>> {
        match found {
            Some(n) if n.value != DocValue::Null => Some(n),
            _ => {
                self.error(
                    Code::MissingField,
                    node.span,
                    &Path::Key(path, key),
                    "is required",
                    format!("add `\"{key}\": {example}`"),
                );
                None
            }
        }
    }

    fn grant(&mut self, node: &Node, path: &Path<'_>) -> Option<Grant> {
        let program = self.program;
        let mut attr_nodes = Vec::new();
        let [id, kind, amount, remaining, granted_at, expires_at] = self.entries_with(
            node,
            path,
            &GRANT_KEYS,
            &program.grant_attrs,
            &mut attr_nodes,
        )?;
        let mut attrs = Vec::with_capacity(program.grant_attrs.len());
        let mut attrs_ok = true;
        for (a, found) in program.grant_attrs.iter().zip(attr_nodes) {
            let name = a.path.first().map_or("", String::as_str);
            let value = match found {
                Some(n) if n.value != DocValue::Null => {
                    self.typed_value(a, n, &Path::Key(path, name))
                }
                _ => match &a.default {
                    Some(d) => Some(FieldValue::from_literal(d)),
                    None if a.optional => Some(FieldValue::Absent),
                    None => {
                        self.error(
                            Code::MissingField,
                            node.span,
                            &Path::Key(path, name),
                            "is required by the policy",
                            "add it to the grant, or give the attribute a `default` in the policy",
                        );
                        None
                    }
                },
            };
            match value {
                Some(v) => attrs.push(v),
                None => attrs_ok = false,
            }
        }
        let id = self
            .required(id, node, path, "id", "\"top-1\"")
            .and_then(|n| self.id(n, &Path::Key(path, "id")));
        let kind = self
            .required(kind, node, path, "kind", "\"purchased\"")
            .and_then(|n| {
                self.member(
                    n,
                    &Path::Key(path, "kind"),
                    &program.credit_kinds,
                    "credit kind",
                )
            });
        let amount = self
            .required(amount, node, path, "amount", "\"2000\"")
            .and_then(|n| self.amount(n, &Path::Key(path, "amount")));
        let remaining_node = self.required(remaining, node, path, "remaining", "\"1200\"");
        let remaining = remaining_node.and_then(|n| self.amount(n, &Path::Key(path, "remaining")));
        let granted_at = self
            .required(
                granted_at,
                node,
                path,
                "granted_at",
                "\"2026-11-01T00:00:00Z\"",
            )
            .and_then(|n| self.time(n, &Path::Key(path, "granted_at")));
        let expires_at = match expires_at {
            Some(n) if n.value != DocValue::Null => {
                Some(self.time(n, &Path::Key(path, "expires_at"))?)
            }
            _ => None,
        };
        let (amount, remaining) = (amount?, remaining?);
        if remaining > amount {
            let span = remaining_node.map_or(node.span, |n| n.span);
            self.error(
                Code::RemainingExceedsAmount,
                span,
                &Path::Key(path, "remaining"),
                format!(
                    "is {}, more than the grant's amount of {}",
                    crate::amount::format(remaining),
                    crate::amount::format(amount)
                ),
                "a grant cannot have more credits left than it was granted",
            );
            return None;
        }
        if !attrs_ok {
            return None;
        }
        Some(Grant {
            id: id?,
            kind: kind?,
            amount,
            remaining,
            granted_at: granted_at?,
            expires_at,
            attrs,
        })
    }

    fn debt(&mut self, node: &Node, path: &Path<'_>) -> Option<Debt> {
        let [id, kind, amount, created_at] = self.entries(node, path, &DEBT_KEYS)?;
        let program = self.program;
        let id = self
            .required(id, node, path, "id", "\"d-1\"")
            .and_then(|n| self.id(n, &Path::Key(path, "id")));
        let kind = self
            .required(kind, node, path, "kind", "\"outstanding_usage\"")
            .and_then(|n| {
                self.member(
                    n,
                    &Path::Key(path, "kind"),
                    &program.debt_kinds,
                    "debt kind",
                )
            });
        let amount = self
            .required(amount, node, path, "amount", "\"300\"")
            .and_then(|n| self.amount(n, &Path::Key(path, "amount")));
        let created_at = self
            .required(
                created_at,
                node,
                path,
                "created_at",
                "\"2026-11-20T08:00:00Z\"",
            )
            .and_then(|n| self.time(n, &Path::Key(path, "created_at")));
        Some(Debt {
            id: id?,
            kind: kind?,
            amount: amount?,
            created_at: created_at?,
        })
    }

    fn unique_ids<T>(&mut self, items: &[T], what: &str, id: impl Fn(&T) -> (&String, Span)) {
        // Sorting copies of the ids finds repeats in n log n without a hash
        // map; the common case (few items) stays cheap.
        let mut ids: Vec<(&str, usize)> = items
            .iter()
            .enumerate()
            .map(|(i, t)| (id(t).0.as_str(), i))
            .collect();
        ids.sort_unstable();
        let mut repeats: Vec<(usize, usize)> = Vec::new();
        let mut run: Option<(&str, usize)> = None;
        for &(name, i) in &ids {
            match run {
                // Sorted by (id, position): the run's first is the earliest.
                Some((current, first)) if current == name => repeats.push((first, i)),
                _ => run = Some((name, i)),
            }
        }
        repeats.sort_unstable_by_key(|&(_, again)| again);
        for (first, again) in repeats {
            let Some(item) = items.get(again) else {
                continue;
            };
            let (name, span) = id(item);
            let name = name.clone();
            let root = Path::Key(&Path::Root, what);
            let item_path = Path::Index(&root, again);
            self.error(
                Code::DuplicateId,
                span,
                &Path::Key(&item_path, "id"),
                format!("`{name}` is also the id of {what}[{first}]"),
                "ids name one grant or debt each; give this one another id",
            );
        }
    }

    // ───────────── Scalars ─────────────

    fn text(&mut self, node: &Node, path: &Path<'_>) -> Option<String> {
        match &node.value {
            DocValue::String(s) if s.len() <= MAX_TEXT_LEN => Some(s.to_string()),
            DocValue::String(s) => {
                let len = s.len();
                self.error(
                    Code::InvalidValue,
                    node.span,
                    path,
                    format!("is {len} bytes long, more than the limit of {MAX_TEXT_LEN}"),
                    "shorten it",
                );
                None
            }
            _ => {
                self.wrong_type(node, path, "a string", "\"org_123\"");
                None
            }
        }
    }

    fn id(&mut self, node: &Node, path: &Path<'_>) -> Option<String> {
        let id = self.text(node, path)?;
        if id.is_empty() {
            self.error(
                Code::InvalidValue,
                node.span,
                path,
                "is empty",
                "give every grant and debt a non-empty id",
            );
            return None;
        }
        Some(id)
    }

    fn amount(&mut self, node: &Node, path: &Path<'_>) -> Option<Decimal> {
        let text = match &node.value {
            DocValue::String(s) | DocValue::Number(s) => s,
            _ => {
                self.wrong_type(node, path, "an amount", "\"12.5\"");
                return None;
            }
        };
        match crate::amount::parse(text) {
            Ok(d) => Some(d),
            Err(e) => {
                self.error(
                    Code::InvalidValue,
                    node.span,
                    path,
                    format!("`{text}` is not a valid amount: {}", e.reason()),
                    "amounts are exact decimals from 0 to 10^15 with at most 6 digits after the point, like \"12.5\"",
                );
                None
            }
        }
    }

    fn time(&mut self, node: &Node, path: &Path<'_>) -> Option<Timestamp> {
        let text: &str = match &node.value {
            DocValue::String(s) => s,
            DocValue::Datetime(s) => s,
            _ => {
                self.wrong_type(node, path, "a timestamp", "\"2026-11-22T10:00:00Z\"");
                return None;
            }
        };
        match Timestamp::parse(text) {
            Ok(t) => Some(t),
            Err(why) => {
                self.error(
                    Code::InvalidValue,
                    node.span,
                    path,
                    format!("`{text}` is not a valid timestamp: {why}"),
                    "timestamps are RFC 3339 with a UTC offset, like \"2026-11-22T10:00:00Z\"",
                );
                None
            }
        }
    }

    fn duration(&mut self, node: &Node, path: &Path<'_>) -> Option<i64> {
        let DocValue::String(text) = &node.value else {
            self.wrong_type(node, path, "a duration", "\"7d\"");
            return None;
        };
        let seconds = crate::time::parse_duration(text);
        if seconds.is_none() {
            self.error(
                Code::InvalidValue,
                node.span,
                path,
                format!("`{text}` is not a valid duration"),
                "durations are whole days, hours, minutes or seconds, like \"7d\" or \"12h\", at most 100000 days",
            );
        }
        seconds
    }

    /// A string naming one of `values`; its index.
    fn member(
        &mut self,
        node: &Node,
        path: &Path<'_>,
        values: &[String],
        what: &str,
    ) -> Option<u32> {
        let DocValue::String(text) = &node.value else {
            self.wrong_type(
                node,
                path,
                &format!("a {what} name"),
                &format!("\"{}\"", values.first().map_or("", String::as_str)),
            );
            return None;
        };
        if let Some(i) = values.iter().position(|v| v == text) {
            return Some(i as u32);
        }
        let names: Vec<&str> = if self.full() {
            Vec::new()
        } else {
            values.iter().map(String::as_str).collect()
        };
        let guess = suggest(text, names.iter().copied());
        let help = match guess {
            Some(s) => format!("did you mean `{s}`?"),
            None if values.is_empty() => format!(
                "the policy `{}` declares no {what}: remove this entry, or declare one",
                self.program.name
            ),
            None => format!("the policy `{}` allows {}", self.program.name, list(&names)),
        };
        self.error_fixed(
            Code::InvalidValue,
            node.span,
            path,
            format!("`{text}` is not a {what} of this policy"),
            help,
            guess,
        );
        None
    }
}

fn list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("`{s}`")).collect();
    quoted.join(", ")
}
