//! Whole-policy lints: unused and unreachable declarations, likely typos.

use super::ir::*;
use super::{ACCESS, ACTION, CREDIT, Checker, DEBT, FIELD, NAME, ROLE, STEP, TYPE, errors};
use crate::ast::{self, ItemKind};
use crate::diagnostic::{Code, Diagnostic};
use crate::span::Span;

impl Checker<'_> {
    pub(super) fn finish(&mut self, policy: &ast::Policy) {
        if self.out.name.is_empty() {
            self.report(errors::no_policy_name());
        }
        for (i, (ns, _, _)) in self.unknown.iter().enumerate() {
            self.unknown_groups.entry(ns.clone()).or_default().push(i);
        }
        for r in 0..self.out.roles.len() {
            let any = self.permits.get(r).is_some_and(|p| !p.is_empty());
            if any || self.full(Code::RoleWithoutPermissions) {
                continue;
            }
            if let Some(role) = self.out.roles.get(r) {
                let d = errors::role_without_permissions(&role.name, role.span);
                let d = self.typo_hint(d, ROLE, &role.name);
                self.report(d);
            }
        }
        // An access level no `steps for` names gives its roles nothing: most
        // often a misspelling (`with billin access`), which silently takes
        // the role out of the steps for the level it meant.
        let mut found = Vec::new();
        for (i, level) in self.out.access_levels.iter().enumerate() {
            // A use misspelt (`steps for biling access`) is an error of its
            // own, which names this level.
            if self.used.access.contains(&i) || self.near_unknown(ACCESS, level).is_some() {
                continue;
            }
            let others = (self.out.access_levels.iter().enumerate())
                .filter(|&(j, _)| j != i && self.used.access.contains(&j))
                .map(|(_, name)| name.as_str());
            let guess = self.suggest(level, others);
            let span = self.access_spans.get(i).copied().unwrap_or_default();
            found.push(errors::unused_access_level(level, span, guess));
        }
        self.report_all(found);
        // Which credit kinds and debt kinds can ever move.
        let settles_from: Vec<usize> = self.out.settle.kinds.clone();
        let mut found = Vec::new();
        for (k, kind) in self.out.credit_kinds.iter().enumerate() {
            if !self.out.spend.kinds.contains(&k) && !self.used.credit_kinds.contains(&k) {
                let d = errors::unused_credit_kind(&kind.name, kind.span);
                found.push(self.typo_hint(d, CREDIT, &kind.name));
            }
        }
        for (k, kind) in self.out.debt_kinds.iter().enumerate() {
            let has_source = self
                .out
                .settle
                .sources
                .get(k)
                .is_some_and(|s| !s.is_empty());
            if !settles_from.contains(&k) || !has_source {
                let d = errors::unsettleable_debt(&kind.name, kind.span);
                found.push(self.typo_hint(d, DEBT, &kind.name));
            }
        }
        // Locked credits as a source need a lock that releases them.
        for (k, sources) in self.out.settle.sources.iter().enumerate() {
            if !sources.contains(&SourceKind::Locked) {
                continue;
            }
            let allowed = self.out.locks.iter().any(|l| l.may_settle.contains(&k));
            if !allowed && !self.out.locks.is_empty() {
                let kind = self
                    .out
                    .debt_kinds
                    .get(k)
                    .map_or("", |d| d.name.as_str())
                    .to_owned();
                let span = settle_source_span(policy, &kind)
                    .unwrap_or_else(|| self.out.settle.span.unwrap_or_default());
                found.push(errors::locked_source_not_allowed(&kind, span));
            }
        }
        for lock in &self.out.locks {
            for &k in &lock.may_settle {
                let taken = self
                    .out
                    .settle
                    .sources
                    .get(k)
                    .is_some_and(|s| s.contains(&SourceKind::Locked));
                if !taken {
                    let kind = self.out.debt_kinds.get(k).map_or("", |d| d.name.as_str());
                    found.push(errors::unused_lock_release(kind, lock.span));
                }
            }
        }
        // At most MAX_KINDS of each kind, MAX_LOCKS locks.
        self.report_all(found);
        for i in 0..self.out.lets.len() {
            if self.used.lets.contains(&i) || self.full(Code::Unused) {
                continue;
            }
            if let Some(l) = self.out.lets.get(i) {
                let d = self.typo_hint(errors::unused_let(&l.name, l.span), NAME, &l.name);
                self.report(d);
            }
        }
        for i in 0..self.out.steps.len() {
            if self.used.steps.contains(&i) || self.full(Code::Unused) {
                continue;
            }
            if let Some(s) = self.out.steps.get(i) {
                let d = self.typo_hint(errors::unused_step(&s.name, s.span), STEP, &s.name);
                self.report(d);
            }
        }
        self.unused_twins();
        for i in 0..self.out.enums.len() {
            if self.used.enums.contains(&i) || self.full(Code::Unused) {
                continue;
            }
            if let Some(e) = self.out.enums.get(i) {
                let d = self.typo_hint(errors::unused_enum(&e.name, e.span), TYPE, &e.name);
                self.report(d);
            }
        }
    }

    /// `subscriptio.plan` beside `subscription.status`: sibling path
    /// segments one letter apart are a typo, not two snapshot objects.
    /// Reports the earliest declared field that is such a twin.
    pub(super) fn similar_fields(&mut self, field: &ast::FieldDecl) {
        let segments = field.path.names();
        let twin = self.paths.twin(&segments, &self.out.fields);
        let Some((f, depth)) = twin else {
            return;
        };
        let (Some(other), Some(mine)) = (self.out.fields.get(f), field.path.segments.get(depth))
        else {
            return;
        };
        let theirs = other.path.get(depth).map_or("", String::as_str);
        let d = errors::similar_names(mine, theirs, other.span, &other.dotted());
        self.report(d);
    }

    /// Records a declared field for the clash check and the
    /// similar-names lint.
    pub(super) fn note_field(&mut self, index: usize) {
        if let Some(field) = self.out.fields.get(index) {
            self.paths.insert(index, &field.path);
        }
    }

    /// An unknown name close to `declared` in the same namespace, if any.
    /// Each unknown is looked at only from its own namespace, and the
    /// check's suggestion budget bounds the comparisons.
    pub(super) fn near_unknown(
        &self,
        namespace: &str,
        declared: &str,
    ) -> Option<&(String, String, Span)> {
        if !self.can_suggest() {
            return None;
        }
        self.unknown_groups
            .get(namespace)?
            .iter()
            .filter_map(|&i| self.unknown.get(i))
            .find(|(_, name, _)| self.suggest(declared, [name.as_str()]).is_some())
    }

    /// When an unused declaration is close to a name reported as unknown,
    /// one of the two is probably a typo: say so at the declaration too.
    pub(super) fn typo_hint(&self, d: Diagnostic, namespace: &str, declared: &str) -> Diagnostic {
        match self.near_unknown(namespace, declared) {
            Some((_, name, span)) => {
                let line = self.source.line_col(span.start).line;
                errors::misspelt_twin(d, name, *span, line, declared)
            }
            None => d,
        }
    }

    /// Declarations nothing uses are normal for enum values and fields (the
    /// snapshot may hold them); they are reported only when they look like
    /// the misspelt twin of a name that is used.
    pub(super) fn unused_twins(&mut self) {
        let mut found = Vec::new();
        for (e, decl) in self.out.enums.iter().enumerate() {
            for (v, value) in decl.values.iter().enumerate() {
                if self.used.enum_values.contains(&(e, v)) {
                    continue;
                }
                let namespace = format!("enum {e}");
                if self.near_unknown(&namespace, value).is_some() {
                    let span = self
                        .enum_value_spans
                        .get(&(e, v))
                        .copied()
                        .unwrap_or(decl.span);
                    let d = errors::unused_enum_value(value, &decl.name, span);
                    found.push(self.typo_hint(d, &namespace, value));
                }
            }
        }
        for (a, action) in self.out.actions.iter().enumerate() {
            if !self.used.actions.contains(&a) && self.near_unknown(ACTION, &action.name).is_some()
            {
                let d = errors::unused_action(&action.name, action.span);
                found.push(self.typo_hint(d, ACTION, &action.name));
            }
        }
        for (f, field) in self.out.fields.iter().enumerate() {
            let dotted = field.dotted();
            if !self.used.fields.contains(&f) && self.near_unknown(FIELD, &dotted).is_some() {
                let d = errors::unused_field(&dotted, field.span);
                found.push(self.typo_hint(d, FIELD, &dotted));
            }
        }
        self.report_all(found);
    }
}

/// The span of `kind` in the settle block's sources, for diagnostics.
fn settle_source_span(policy: &ast::Policy, kind: &str) -> Option<Span> {
    policy.items.iter().find_map(|item| match &item.kind {
        ItemKind::Settle(s) => s
            .sources
            .iter()
            .find(|src| &*src.debt_kind.name == kind)
            .map(|src| src.debt_kind.span),
        _ => None,
    })
}
