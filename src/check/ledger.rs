//! Ledger orders: locks, the spend and settle orders, shortfalls.

use std::collections::HashMap;

use super::expr::Scope;
use super::ir::*;
use super::{CREDIT, Checker, DEBT, errors};
use crate::ast;
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
                self.report(errors::lock_reads_balance(t.span));
            }
            self.evaluated(t.span, *deps);
            self.constant_condition(t, *deps, "lock condition");
        }
        let message = match &lock.message {
            Some(m) => self.template(m, Scope::ACCOUNT),
            None => {
                self.report(errors::lock_without_message(item.span.to(lock.when.span)));
                None
            }
        };
        if let (Some((when, _)), Some(_)) = (when, message) {
            self.out.locks.push(Lock {
                kinds,
                when,
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
                let guess = self.suggest(other, ["charge", "refund"]);
                self.report(errors::unknown_operation(operation, guess));
                return;
            }
        };
        if slot.is_some() {
            self.report(errors::shortfall_twice(operation));
            return;
        }
        *slot = kind;
    }

    pub(super) fn spend(&mut self, kinds: &[ast::Ident], order: &[ast::SortKey], span: Span) {
        if let Some(first) = self.out.spend.span {
            self.report(errors::second_order("spend", span, first));
            return;
        }
        self.out.spend.span = Some(span);
        self.out.spend.kinds = self.kind_order(CREDIT, kinds);
        self.out.spend.keys = self.sort_keys(order, GRANT_KEYS);
    }

    pub(super) fn settle(&mut self, settle: &ast::SettleDecl, span: Span) {
        if let Some(first) = self.out.settle.span {
            self.report(errors::second_order("settle", span, first));
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
                self.report(errors::sources_twice(&source.debt_kind, first));
                continue;
            }
            seen.insert(kind, source.debt_kind.span);
            if !self.out.settle.kinds.contains(&kind) {
                self.report(errors::sources_outside_order(&source.debt_kind));
            }
            let mut list = Vec::new();
            for from in &source.from {
                let kind_of = match from.name.as_str() {
                    "usable" => SourceKind::Usable,
                    "locked" => SourceKind::Locked,
                    other => {
                        let guess = self.suggest(other, ["usable", "locked"]);
                        self.report(errors::unknown_source(from, guess));
                        continue;
                    }
                };
                if list.contains(&kind_of) {
                    self.report(errors::source_twice(from));
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
                self.report(errors::kind_twice_in_order(what, k));
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
                let guess = self.suggest(&key.field.name, names.iter().copied());
                self.report(errors::unknown_sort_key(&key.field, guess, &names));
                continue;
            };
            if out.iter().any(|(o, _)| *o == k) {
                self.report(errors::sort_key_twice(&key.field));
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
