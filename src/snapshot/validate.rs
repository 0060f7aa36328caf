//! Checking a parsed snapshot against the policy, field by field.

use std::collections::HashMap;

use rust_decimal::Decimal;

use super::doc::{DocValue, Node};
use super::{Account, Debt, FieldValue, Grant, MAX_ITEMS, MAX_TEXT_LEN};
use crate::check::ir::{Base, EnumRef};
use crate::compile::Program;
use crate::diagnostic::{Code, Diagnostic, suggest};
use crate::span::Span;
use crate::time::Timestamp;

/// Keys the engine reads itself, at the top of every snapshot.
const ENGINE_KEYS: &[&str] = &["now", "account", "grants", "debts"];
const GRANT_KEYS: &[&str] = &[
    "id",
    "kind",
    "amount",
    "remaining",
    "granted_at",
    "expires_at",
];
const DEBT_KEYS: &[&str] = &["id", "kind", "amount", "created_at"];

/// Validates a document into an account, or returns every problem.
pub(crate) fn account(
    program: &Program,
    doc: &Node,
    now: Option<Timestamp>,
) -> Result<Account, Vec<Diagnostic>> {
    let mut v = Validator {
        program,
        errors: Vec::new(),
        fields: vec![FieldValue::Absent; program.fields.len()],
        now_override: now,
    };
    let account = v.root(doc);
    match account {
        Some(a) if v.errors.is_empty() => Ok(a),
        _ => Err(v.errors),
    }
}

struct Validator<'p> {
    program: &'p Program,
    errors: Vec<Diagnostic>,
    fields: Vec<FieldValue>,
    now_override: Option<Timestamp>,
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

impl Validator<'_> {
    fn error(
        &mut self,
        code: Code,
        span: Span,
        path: &str,
        message: impl std::fmt::Display,
        help: impl Into<String>,
    ) {
        let message = if path.is_empty() {
            message.to_string()
        } else {
            format!("`{path}`: {message}")
        };
        self.errors
            .push(Diagnostic::new(code, span, message).help(help.into()));
    }

    fn wrong_type(&mut self, node: &Node, path: &str, expected: &str, example: &str) {
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
                "",
                "an object with `now`, `grants` and `debts`",
                "{\"now\": \"2026-11-22T10:00:00Z\", ...}",
            );
            return None;
        };
        let mut now = None;
        let mut id = None;
        let mut grants = Vec::new();
        let mut debts = Vec::new();
        let mut known: Vec<&str> = ENGINE_KEYS.to_vec();
        let roots = self.children(&[]);
        known.extend(roots.iter().map(String::as_str));
        for (key, key_span, value) in entries {
            match key.as_str() {
                "now" => now = self.time(value, "now"),
                "account" => id = self.text(value, "account"),
                "grants" => grants = self.items(value, "grants", |v, n, p| v.grant(n, p)),
                "debts" => debts = self.items(value, "debts", |v, n, p| v.debt(n, p)),
                _ => self.field_or_group(key, *key_span, value, &[], &known),
            }
        }
        if self.now_override.is_some() {
            now = self.now_override;
        } else if now.is_none() && !entries.iter().any(|(k, _, _)| k == "now") {
            self.error(
                Code::MissingField,
                Span::point(doc.span.start as usize),
                "now",
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

    /// The names under `prefix` in the policy's declared field paths.
    fn children(&self, prefix: &[&str]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for f in &self.program.fields {
            let matches =
                f.path.len() > prefix.len() && f.path.iter().zip(prefix).all(|(a, b)| a == b);
            if let (true, Some(next)) = (matches, f.path.get(prefix.len())) {
                if !out.contains(next) {
                    out.push(next.clone());
                }
            }
        }
        out
    }

    fn field_or_group(
        &mut self,
        key: &str,
        key_span: Span,
        value: &Node,
        prefix: &[&str],
        siblings: &[&str],
    ) {
        let path: Vec<&str> = prefix.iter().copied().chain(std::iter::once(key)).collect();
        let dotted = path.join(".");
        let leaf = self
            .program
            .fields
            .iter()
            .position(|f| f.path.iter().map(String::as_str).eq(path.iter().copied()));
        if let Some(slot) = leaf {
            if let Some(v) = self.field_value(slot, value, &dotted) {
                if let Some(cell) = self.fields.get_mut(slot) {
                    *cell = v;
                }
            }
            return;
        }
        let below = self.children(&path);
        if below.is_empty() {
            let help = match suggest(key, siblings.iter().copied()) {
                Some(s) => format!("did you mean `{}`?", join(&prefix.join("."), s)),
                None => format!(
                    "the policy `{}` declares no such field; expected {}",
                    self.program.name,
                    list(siblings)
                ),
            };
            self.error(
                Code::UnknownField,
                key_span,
                &dotted,
                "is not a field this policy knows",
                help,
            );
            return;
        }
        match &value.value {
            DocValue::Object(entries) => {
                let names: Vec<&str> = below.iter().map(String::as_str).collect();
                for (k, k_span, v) in entries {
                    self.field_or_group(k, *k_span, v, &path, &names);
                }
            }
            // A group left out explicitly: its fields are absent.
            DocValue::Null => {}
            _ => self.wrong_type(
                value,
                &dotted,
                "an object",
                &format!("{{\"{}\": ...}}", below.first().map_or("", String::as_str)),
            ),
        }
    }

    fn field_value(&mut self, slot: usize, node: &Node, path: &str) -> Option<FieldValue> {
        let field = self.program.fields.get(slot)?;
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
                let values: Vec<String> = self.program.enums.get(e)?.values.clone();
                let name = self.program.enums.get(e)?.name.clone();
                FieldValue::Enum(self.member(node, path, &values, &name)?)
            }
            Base::Enum(_) => return None,
        })
    }

    /// Fields that are neither optional nor defaulted must be present.
    fn required_fields(&mut self, root: Span) {
        let missing: Vec<String> = self
            .program
            .fields
            .iter()
            .zip(&self.fields)
            .filter(|(f, v)| !f.optional && f.default.is_none() && **v == FieldValue::Absent)
            .map(|(f, _)| f.dotted())
            .collect();
        for path in missing {
            self.error(
                Code::MissingField,
                Span::point(root.start as usize),
                &path,
                "is required by the policy",
                "add it to the snapshot, or give the field a `default` in the policy",
            );
        }
    }

    fn items<T>(
        &mut self,
        node: &Node,
        path: &str,
        mut item: impl FnMut(&mut Self, &Node, &str) -> Option<T>,
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
        list.iter()
            .enumerate()
            .filter_map(|(i, n)| item(self, n, &format!("{path}[{i}]")).map(|t| (t, n.span)))
            .collect()
    }

    /// The entries of an item object, with unknown keys reported.
    fn entries<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        keys: &[&str],
    ) -> Option<HashMap<&'n str, &'n Node>> {
        let DocValue::Object(entries) = &node.value else {
            self.wrong_type(node, path, "an object", "{\"id\": \"...\", ...}");
            return None;
        };
        let mut map = HashMap::new();
        for (k, k_span, v) in entries {
            if keys.contains(&k.as_str()) {
                map.insert(k.as_str(), v);
            } else {
                let help = match suggest(k, keys.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("expected {}", list(keys)),
                };
                self.error(
                    Code::UnknownField,
                    *k_span,
                    &format!("{path}.{k}"),
                    "is not a field of this item",
                    help,
                );
            }
        }
        Some(map)
    }

    fn required<'n>(
        &mut self,
        map: &HashMap<&str, &'n Node>,
        node: &Node,
        path: &str,
        key: &str,
        example: &str,
    ) -> Option<&'n Node> {
        match map.get(key) {
            Some(n) if n.value != DocValue::Null => Some(*n),
            _ => {
                self.error(
                    Code::MissingField,
                    node.span,
                    &format!("{path}.{key}"),
                    "is required",
                    format!("add `\"{key}\": {example}`"),
                );
                None
            }
        }
    }

    fn grant(&mut self, node: &Node, path: &str) -> Option<Grant> {
        let map = self.entries(node, path, GRANT_KEYS)?;
        let id = self
            .required(&map, node, path, "id", "\"top-1\"")
            .and_then(|n| self.id(n, &format!("{path}.id")));
        let kinds = self.program.credit_kinds.clone();
        let kind = self
            .required(&map, node, path, "kind", "\"purchased\"")
            .and_then(|n| self.member(n, &format!("{path}.kind"), &kinds, "credit kind"));
        let amount = self
            .required(&map, node, path, "amount", "\"2000\"")
            .and_then(|n| self.amount(n, &format!("{path}.amount")));
        let remaining_node = self.required(&map, node, path, "remaining", "\"1200\"");
        let remaining = remaining_node.and_then(|n| self.amount(n, &format!("{path}.remaining")));
        let granted_at = self
            .required(&map, node, path, "granted_at", "\"2026-11-01T00:00:00Z\"")
            .and_then(|n| self.time(n, &format!("{path}.granted_at")));
        let expires_at = match map.get("expires_at") {
            Some(n) if n.value != DocValue::Null => {
                Some(self.time(n, &format!("{path}.expires_at"))?)
            }
            _ => None,
        };
        let (amount, remaining) = (amount?, remaining?);
        if remaining > amount {
            let span = remaining_node.map_or(node.span, |n| n.span);
            self.error(
                Code::RemainingExceedsAmount,
                span,
                &format!("{path}.remaining"),
                format!(
                    "is {}, more than the grant's amount of {}",
                    crate::amount::format(remaining),
                    crate::amount::format(amount)
                ),
                "a grant cannot have more credits left than it was granted",
            );
            return None;
        }
        Some(Grant {
            id: id?,
            kind: kind?,
            amount,
            remaining,
            granted_at: granted_at?,
            expires_at,
        })
    }

    fn debt(&mut self, node: &Node, path: &str) -> Option<Debt> {
        let map = self.entries(node, path, DEBT_KEYS)?;
        let id = self
            .required(&map, node, path, "id", "\"d-1\"")
            .and_then(|n| self.id(n, &format!("{path}.id")));
        let kinds = self.program.debt_kinds.clone();
        let kind = self
            .required(&map, node, path, "kind", "\"outstanding_usage\"")
            .and_then(|n| self.member(n, &format!("{path}.kind"), &kinds, "debt kind"));
        let amount = self
            .required(&map, node, path, "amount", "\"300\"")
            .and_then(|n| self.amount(n, &format!("{path}.amount")));
        let created_at = self
            .required(&map, node, path, "created_at", "\"2026-11-20T08:00:00Z\"")
            .and_then(|n| self.time(n, &format!("{path}.created_at")));
        Some(Debt {
            id: id?,
            kind: kind?,
            amount: amount?,
            created_at: created_at?,
        })
    }

    fn unique_ids<T>(&mut self, items: &[T], what: &str, id: impl Fn(&T) -> (&String, Span)) {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, item) in items.iter().enumerate() {
            let (name, span) = id(item);
            if let Some(first) = seen.get(name.as_str()) {
                self.error(
                    Code::DuplicateId,
                    span,
                    &format!("{what}[{i}].id"),
                    format!("`{name}` is also the id of {what}[{first}]"),
                    "ids name one grant or debt each; give this one another id",
                );
            } else {
                seen.insert(name, i);
            }
        }
    }

    // ───────────── Scalars ─────────────

    fn text(&mut self, node: &Node, path: &str) -> Option<String> {
        match &node.value {
            DocValue::String(s) if s.len() <= MAX_TEXT_LEN => Some(s.clone()),
            DocValue::String(s) => {
                self.error(
                    Code::InvalidValue,
                    node.span,
                    path,
                    format!(
                        "is {} bytes long, more than the limit of {MAX_TEXT_LEN}",
                        s.len()
                    ),
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

    fn id(&mut self, node: &Node, path: &str) -> Option<String> {
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

    fn amount(&mut self, node: &Node, path: &str) -> Option<Decimal> {
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

    fn time(&mut self, node: &Node, path: &str) -> Option<Timestamp> {
        let text = match &node.value {
            DocValue::String(s) | DocValue::Datetime(s) => s,
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

    fn duration(&mut self, node: &Node, path: &str) -> Option<i64> {
        let DocValue::String(text) = &node.value else {
            self.wrong_type(node, path, "a duration", "\"7d\"");
            return None;
        };
        let (digits, unit) = text.split_at(text.len().saturating_sub(1));
        let per_unit = match unit {
            "d" => 86_400,
            "h" => 3_600,
            "m" => 60,
            "s" => 1,
            _ => 0,
        };
        let seconds = digits
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0 && per_unit > 0)
            .and_then(|n| n.checked_mul(per_unit))
            .filter(|s| *s <= crate::time::MAX_DURATION_SECONDS);
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
    fn member(&mut self, node: &Node, path: &str, values: &[String], what: &str) -> Option<u32> {
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
        let names: Vec<&str> = values.iter().map(String::as_str).collect();
        let help = match suggest(text, names.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("the policy `{}` allows {}", self.program.name, list(&names)),
        };
        self.error(
            Code::InvalidValue,
            node.span,
            path,
            format!("`{text}` is not a {what} of this policy"),
            help,
        );
        None
    }
}

fn list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("`{s}`")).collect();
    quoted.join(", ")
}
