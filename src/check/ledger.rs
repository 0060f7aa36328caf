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

    /// Every `shortfall` line, grouped by operation in source order: the
    /// first line that holds decides, so a line after one that always holds
    /// is unreachable, and conditional lines need a last one that always
    /// holds.
    pub(super) fn shortfalls(&mut self, policy: &ast::Policy) {
        // Per operation: the line that always holds, and the last line.
        let mut always: HashMap<Operation, Span> = HashMap::new();
        let mut last: HashMap<Operation, (Span, bool)> = HashMap::new();
        for item in &policy.items {
            let ast::ItemKind::Shortfall(sf) = &item.kind else {
                continue;
            };
            let operation = match Operation::from_name(&sf.operation.name) {
                Some(op @ (Operation::Charge | Operation::Refund)) => op,
                _ => {
                    let guess = self.suggest(&sf.operation.name, ["charge", "refund"]);
                    self.report(errors::unknown_operation(&sf.operation, guess));
                    continue;
                }
            };
            let becomes = match &*sf.becomes.name {
                INVOICED => Some(Shortfall::Invoiced),
                WAIVED => Some(Shortfall::Waived),
                _ => self.resolve(DEBT, &sf.becomes).map(Shortfall::Debt),
            };
            if let Some(&first) = always.get(&operation) {
                self.report(errors::shortfall_unreachable(&sf.operation, first));
            }
            let scope = Scope::operation(operation, false);
            let when = match &sf.when {
                Some(e) => match self.condition(e, scope) {
                    Some((t, deps)) => {
                        self.evaluated(t.span, deps);
                        if self.constant_condition(&t, deps, "shortfall condition") == Some(true) {
                            always.entry(operation).or_insert(item.span);
                        }
                        Some(t)
                    }
                    None => continue,
                },
                None => {
                    always.entry(operation).or_insert(item.span);
                    None
                }
            };
            last.insert(operation, (item.span, when.is_none()));
            let Some(becomes) = becomes else {
                continue;
            };
            let rule = ShortfallRule {
                becomes,
                when,
                span: item.span,
            };
            match operation {
                Operation::Charge => self.out.charge_shortfall.push(rule),
                _ => self.out.refund_shortfall.push(rule),
            }
        }
        for (operation, (span, _)) in last {
            if !always.contains_key(&operation) {
                self.report(errors::shortfall_not_exhaustive(operation.name(), span));
            }
        }
    }

    /// `expire purchased after 1y`
    pub(super) fn expire(&mut self, kinds: &[ast::Ident], after: &ast::Expr) {
        let lifetime = match after.kind {
            ast::ExprKind::Duration(s) if s > 0 => Some(Lifetime::Seconds(s)),
            ast::ExprKind::Months(m) if m > 0 => Some(Lifetime::Months(m)),
            ast::ExprKind::Invalid => None,
            _ => {
                self.report(errors::lifetime_not_positive(after.span));
                None
            }
        };
        if self.out.lifetimes.len() != self.out.credit_kinds.len() {
            self.out.lifetimes = vec![None; self.out.credit_kinds.len()];
        }
        for k in kinds {
            let Some(i) = self.resolve(CREDIT, k) else {
                continue;
            };
            self.used.credit_kinds.insert(i);
            let Some(slot) = self.out.lifetimes.get_mut(i) else {
                continue;
            };
            if slot.is_some() || self.lifetime_spans.contains_key(&i) {
                let first = self.lifetime_spans.get(&i).copied().unwrap_or(k.span);
                self.report(errors::lifetime_twice(k, first));
                continue;
            }
            self.lifetime_spans.insert(i, k.span);
            *slot = lifetime;
        }
    }

    pub(super) fn spend(&mut self, kinds: &[ast::Ident], order: &[ast::SortKey], span: Span) {
        if let Some(first) = self.out.spend.span {
            self.report(errors::second_order("spend", span, first));
            return;
        }
        self.out.spend.span = Some(span);
        self.out.spend.kinds = if kinds.is_empty() {
            (0..self.out.credit_kinds.len()).collect()
        } else {
            self.kind_order(CREDIT, kinds)
        };
        let mut known: Vec<(String, GrantKey)> =
            GRANT_KEYS.iter().map(|&(n, k)| (n.to_owned(), k)).collect();
        for (i, attr) in self.out.grant_attrs.iter().enumerate() {
            if attr.ty != Base::Months {
                known.push((attr.dotted(), GrantKey::Attr(i)));
            }
        }
        let known: Vec<(&str, GrantKey)> = known.iter().map(|(n, k)| (n.as_str(), *k)).collect();
        let mut keys = self.sort_keys(order, &known);
        if !kinds.is_empty() && !keys.iter().any(|(k, _)| *k == GrantKey::Kind) {
            keys.insert(0, (GrantKey::Kind, false));
        }
        self.out.spend.keys = keys;
    }

    pub(super) fn settle(&mut self, settle: &ast::SettleDecl, span: Span) {
        if let Some(first) = self.out.settle.span {
            self.report(errors::second_order("settle", span, first));
            return;
        }
        self.out.settle.span = Some(span);
        self.out.settle.kinds = if settle.kinds.is_empty() {
            (0..self.out.debt_kinds.len()).collect()
        } else {
            self.kind_order(DEBT, &settle.kinds)
        };
        let mut keys = self.sort_keys(&settle.order, DEBT_KEYS);
        if !settle.kinds.is_empty() && !keys.iter().any(|(k, _)| *k == DebtKey::Kind) {
            keys.insert(0, (DebtKey::Kind, false));
        }
        self.out.settle.keys = keys;
        self.out.settle.sources = vec![Vec::new(); self.out.debt_kinds.len()];
        self.out.settle.only = vec![Vec::new(); self.out.debt_kinds.len()];
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
                let kind_of = match &*from.name {
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
            let only = self.kind_order(CREDIT, &source.only);
            for &k in &only {
                self.used.credit_kinds.insert(k);
            }
            if let Some(slot) = self.out.settle.only.get_mut(kind) {
                *slot = only;
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
            let Some(&(_, k)) = known.iter().find(|(n, _)| *n == &*key.field.name) else {
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

/// The word that makes a shortfall an invoice rather than a debt.
pub(super) const INVOICED: &str = "invoiced";
/// The word that forgives a shortfall: no debt, no invoice.
pub(super) const WAIVED: &str = "waived";

const GRANT_KEYS: &[(&str, GrantKey)] = &[
    ("kind", GrantKey::Kind),
    ("expires_at", GrantKey::ExpiresAt),
    ("granted_at", GrantKey::GrantedAt),
    ("id", GrantKey::Id),
    ("amount", GrantKey::Amount),
    ("remaining", GrantKey::Remaining),
];

const DEBT_KEYS: &[(&str, DebtKey)] = &[
    ("kind", DebtKey::Kind),
    ("created_at", DebtKey::CreatedAt),
    ("id", DebtKey::Id),
    ("amount", DebtKey::Amount),
];
