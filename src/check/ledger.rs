//! Ledger orders: locks, the spend and settle orders, shortfalls.

use std::collections::HashMap;

use super::errors::list_words;
use super::expr::Scope;
use super::ir::*;
use super::{CREDIT, Checker, DEBT};
use crate::ast;
use crate::diagnostic::{Code, Diagnostic};
use crate::span::Span;

impl Checker<'_> {
    pub(super) fn lock(&mut self, lock: &ast::LockDecl, item: &ast::Item) {
        let kinds: Vec<usize> = lock
            .kinds
            .iter()
            .filter_map(|k| self.resolve(CREDIT, k))
            .collect();
        let may_settle: Vec<usize> = lock
            .may_settle
            .iter()
            .filter_map(|k| self.resolve(DEBT, k))
            .collect();
        let when = self.condition(&lock.when, Scope::ACCOUNT);
        if let Some((t, deps)) = &when {
            if deps.balance {
                self.report(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        t.span,
                        "a lock condition cannot read the balance it decides",
                    )
                    .label(
                        "reads `usable`, `locked`, `expired`, `settleable` or a grant's `status`",
                    )
                    .help("base the lock on snapshot fields such as `subscription.status`"),
                );
            }
            self.constant_condition(t, *deps, "lock condition");
        }
        let message = match &lock.message {
            Some(m) => self.template(m, Scope::ACCOUNT),
            None => {
                self.report(
                    Diagnostic::new(
                        Code::MissingMessage,
                        item.span.to(lock.when.span),
                        "this lock has no message",
                    )
                    .label("no `message`")
                    .help("add `{ message \"...\" }` saying why the credits are locked"),
                );
                None
            }
        };
        if let (Some((when, _)), Some(message)) = (when, message) {
            self.out.locks.push(Lock {
                kinds,
                when,
                message,
                may_settle,
                span: item.span,
            });
        }
    }

    pub(super) fn shortfall(&mut self, operation: &ast::Ident, debt_kind: &ast::Ident) {
        let kind = self.resolve(DEBT, debt_kind);
        let slot = match operation.name.as_str() {
            "charge" => &mut self.out.charge_shortfall,
            "refund" => &mut self.out.refund_shortfall,
            other => {
                let mut d = Diagnostic::new(
                    Code::UnknownName,
                    operation.span,
                    format!("unknown ledger operation `{other}`"),
                )
                .label("not an operation");
                d = match self.suggest(other, ["charge", "refund"]) {
                    Some(s) => d.help(format!("did you mean `{s}`?")),
                    None => d.help("a shortfall is declared for `charge` (work that overran the balance) or `refund` (refunded credits already used)"),
                };
                self.report(d);
                return;
            }
        };
        if slot.is_some() {
            self.report(
                Diagnostic::new(
                    Code::Duplicate,
                    operation.span,
                    format!("the `{}` shortfall is declared twice", operation.name),
                )
                .label("declared again")
                .help("keep one `shortfall of ... is ...` line per operation"),
            );
            return;
        }
        *slot = kind;
    }

    pub(super) fn spend(&mut self, kinds: &[ast::Ident], order: &[ast::SortKey], span: Span) {
        if let Some(first) = self.out.spend.span {
            self.report(
                Diagnostic::new(Code::Duplicate, span, "a second `spend` order")
                    .label("second order")
                    .related(first, "first order")
                    .help("a policy has one spend order; merge them"),
            );
            return;
        }
        self.out.spend.span = Some(span);
        self.out.spend.kinds = self.kind_order(CREDIT, kinds);
        self.out.spend.keys = self.sort_keys(order, GRANT_KEYS);
    }

    pub(super) fn settle(&mut self, settle: &ast::SettleDecl, span: Span) {
        if let Some(first) = self.out.settle.span {
            self.report(
                Diagnostic::new(Code::Duplicate, span, "a second `settle` order")
                    .label("second order")
                    .related(first, "first order")
                    .help("a policy has one settle order; merge them"),
            );
            return;
        }
        self.out.settle.span = Some(span);
        self.out.settle.kinds = self.kind_order(DEBT, &settle.kinds);
        self.out.settle.keys = self.sort_keys(&settle.order, DEBT_KEYS);
        self.out.settle.sources = vec![Vec::new(); self.out.debt_kinds.len()];
        let mut seen: HashMap<usize, Span> = HashMap::new();
        for source in &settle.sources {
            let Some(kind) = self.resolve(DEBT, &source.debt_kind) else {
                continue;
            };
            if let Some(&first) = seen.get(&kind) {
                self.report(
                    Diagnostic::new(
                        Code::Duplicate,
                        source.debt_kind.span,
                        format!("sources for `{}` are given twice", source.debt_kind.name),
                    )
                    .label("again")
                    .related(first, "first given here")
                    .help("list every source on one line: `from usable, locked`"),
                );
                continue;
            }
            seen.insert(kind, source.debt_kind.span);
            if !self.out.settle.kinds.contains(&kind) {
                self.report(
                    Diagnostic::new(
                        Code::MissingDeclaration,
                        source.debt_kind.span,
                        format!(
                            "`{}` has sources but no place in the settle order",
                            source.debt_kind.name
                        ),
                    )
                    .label("not in the order")
                    .help(format!(
                        "add `{}` to the kinds after `settle`",
                        source.debt_kind.name
                    )),
                );
            }
            let mut list = Vec::new();
            for from in &source.from {
                let kind_of = match from.name.as_str() {
                    "usable" => SourceKind::Usable,
                    "locked" => SourceKind::Locked,
                    other => {
                        let mut d = Diagnostic::new(
                            Code::UnknownName,
                            from.span,
                            format!("unknown settlement source `{other}`"),
                        )
                        .label("not a source");
                        d = match self.suggest(other, ["usable", "locked"]) {
                            Some(s) => d.help(format!("did you mean `{s}`?")),
                            None => d.help("debts are paid `from usable` credits, `locked` credits, or both in order"),
                        };
                        self.report(d);
                        continue;
                    }
                };
                if list.contains(&kind_of) {
                    self.report(
                        Diagnostic::new(
                            Code::Duplicate,
                            from.span,
                            format!("`{}` is listed twice", from.name),
                        )
                        .label("listed again")
                        .help("remove one of them"),
                    );
                    continue;
                }
                list.push(kind_of);
            }
            if let Some(slot) = self.out.settle.sources.get_mut(kind) {
                *slot = list;
            }
        }
    }

    /// Kinds in an order, each once.
    pub(super) fn kind_order(&mut self, what: &'static str, kinds: &[ast::Ident]) -> Vec<usize> {
        let mut order = Vec::new();
        for k in kinds {
            let Some(i) = self.resolve(what, k) else {
                continue;
            };
            if order.contains(&i) {
                self.report(
                    Diagnostic::new(
                        Code::Duplicate,
                        k.span,
                        format!("{what} `{}` is listed twice", k.name),
                    )
                    .label("listed again")
                    .help("each kind has one place in the order"),
                );
                continue;
            }
            order.push(i);
        }
        order
    }

    pub(super) fn sort_keys<K: Copy + PartialEq>(
        &mut self,
        keys: &[ast::SortKey],
        known: &[(&str, K)],
    ) -> Vec<(K, bool)> {
        let mut out: Vec<(K, bool)> = Vec::new();
        for key in keys {
            let Some(&(_, k)) = known.iter().find(|(n, _)| *n == key.field.name) else {
                let names: Vec<&str> = known.iter().map(|(n, _)| *n).collect();
                let mut d = Diagnostic::new(
                    Code::UnknownName,
                    key.field.span,
                    format!("cannot order by `{}`", key.field.name),
                )
                .label("not a sort key");
                d = match self.suggest(&key.field.name, names.iter().copied()) {
                    Some(s) => d.help(format!("did you mean `{s}`?")),
                    None => d.help(format!("order by {}", list_words(&names))),
                };
                self.report(d);
                continue;
            };
            if out.iter().any(|(o, _)| *o == k) {
                self.report(
                    Diagnostic::new(
                        Code::Duplicate,
                        key.field.span,
                        format!("`{}` is already a sort key", key.field.name),
                    )
                    .label("listed again")
                    .help("a later key only breaks ties of earlier ones; remove this one"),
                );
                continue;
            }
            out.push((k, key.descending));
        }
        out
    }
}

const GRANT_KEYS: &[(&str, GrantKey)] = &[
    ("expires_at", GrantKey::ExpiresAt),
    ("granted_at", GrantKey::GrantedAt),
    ("id", GrantKey::Id),
    ("amount", GrantKey::Amount),
    ("remaining", GrantKey::Remaining),
];

const DEBT_KEYS: &[(&str, DebtKey)] = &[
    ("created_at", DebtKey::CreatedAt),
    ("id", DebtKey::Id),
    ("amount", DebtKey::Amount),
];
