//! Steps, balance states, `on` blocks and their rules.

use std::collections::{HashMap, HashSet};

use super::expr::Scope;
use super::ir::*;
use super::permit::ActionRanges;
use super::{ACCESS, Checker, STEP, errors, span_of};
use crate::ast::{self, ItemKind, OnTarget, RuleKind};
use crate::span::Span;

impl Checker<'_> {
    pub(super) fn step(&mut self, name: &ast::Ident, message: Option<&ast::Template>) {
        let Some(&index) = self.names.steps.get(&*name.name) else {
            return;
        };
        if self.out.steps.get(index).map(|s| s.span) != Some(name.span) {
            return; // the duplicate, already reported
        }
        let Some(message) = message else {
            self.report(errors::step_without_message(name));
            return;
        };
        if let Some(t) = self.template(message, Scope::REQUEST) {
            if let Some(step) = self.out.steps.get_mut(index) {
                step.message = t;
            }
        }
    }

    pub(super) fn states(&mut self, policy: &ast::Policy) {
        let mut catch_all: Option<Span> = None;
        let mut last: Option<Span> = None;
        for item in &policy.items {
            let ItemKind::State { name, when } = &item.kind else {
                continue;
            };
            let index = self.out.states.len();
            if !self.define(
                |n| &mut n.states,
                "state",
                name,
                index,
                |c, i| span_of(&c.states, i, |s| s.span),
            ) {
                continue;
            }
            if let Some(all) = catch_all {
                self.report(errors::unreachable_state(name, all));
            }
            last = Some(item.span);
            let typed = match when {
                Some(e) => {
                    let Some((t, deps)) = self.condition(e, Scope::ACCOUNT) else {
                        continue;
                    };
                    self.evaluated(t.span, deps);
                    if self.constant_condition(&t, deps, "state condition") == Some(true) {
                        catch_all.get_or_insert(item.span);
                    }
                    Some(t)
                }
                None => {
                    catch_all.get_or_insert(item.span);
                    None
                }
            };
            self.out.states.push(State {
                name: String::from(&*name.name),
                when: typed,
                span: name.span,
            });
        }
        match (last, catch_all) {
            (None, _) => self.report(errors::no_states()),
            (Some(last), None) => self.report(errors::states_not_exhaustive(last)),
            _ => {}
        }
    }

    pub(super) fn on_block(&mut self, block: &ast::OnBlock, span: Span) {
        let mut targets = ActionRanges::default();
        let mut forbidden = false;
        let mut all: Option<Span> = None;
        let mut operation: Option<(Operation, Span)> = None;
        let mut requests: Option<Span> = None;
        for target in &block.targets {
            match target {
                OnTarget::Forbidden(at) => {
                    forbidden = true;
                    requests.get_or_insert(*at);
                }
                OnTarget::All(at) => {
                    all = Some(*at);
                    requests.get_or_insert(*at);
                }
                OnTarget::Name(name) => match Operation::from_name(&name.name) {
                    Some(op) => {
                        if self.names.actions.contains_key(&*name.name)
                            || self.names.categories.contains_key(&*name.name)
                        {
                            self.report(errors::operation_named_like_action(name));
                        }
                        if let Some((first, at)) = operation {
                            if first != op {
                                self.report(errors::out_of_place(
                                    name.span,
                                    "one `on` block governs one ledger operation".to_owned(),
                                    &format!(
                                        "write `on {}` and `on {}` as two blocks",
                                        first.name(),
                                        op.name()
                                    ),
                                ));
                                let _ = at;
                            }
                        }
                        operation.get_or_insert((op, name.span));
                    }
                    None => {
                        let set = self.action_set(name);
                        targets.insert(set);
                        requests.get_or_insert(name.span);
                    }
                },
            }
        }
        if let (Some((op, _)), Some(at)) = (operation, requests) {
            self.report(errors::out_of_place(
                at,
                format!("`on {}` cannot also apply to requests", op.name()),
                "ledger operations and requests are decided apart: give each its own `on` block",
            ));
        }
        if let Some(at) = all {
            if block.targets.len() > 1 {
                self.report(errors::out_of_place(
                    at,
                    "`all` already covers every request".to_owned(),
                    "write `on all` alone: it applies to every request, forbidden ones included",
                ));
            }
        }
        // A block that also names requests was reported above; its rules
        // are checked as request rules, so the mistake is told once.
        let operation = operation.map(|(op, _)| op).filter(|_| requests.is_none());
        let kind = BlockKind {
            forbidden_only: forbidden && block.targets.len() == 1,
            operation,
        };
        // Blocks × actions fits MAX_TABLE_CELLS, or the policy has an
        // error and the table is never read.
        let actions = if self.tables_fit {
            targets.to_table(self.out.actions.len())
        } else {
            Vec::new()
        };
        let mut rules = Vec::with_capacity(block.rules.len());
        for rule in &block.rules {
            if let Some(r) = self.rule(rule, kind) {
                rules.push(r);
            }
        }
        self.out.blocks.push(Block {
            forbidden,
            all: all.is_some(),
            operation,
            actions,
            rules,
            span,
        });
    }

    pub(super) fn rule(&mut self, rule: &ast::Rule, block: BlockKind) -> Option<Rule> {
        let scope = match block.operation {
            Some(op) => Scope::operation(op, true),
            None => Scope::REQUEST,
        };
        let code = &rule.code;
        let key = (rule.kind, code.name.clone());
        if let Some(&first) = self.rule_codes.get(&key) {
            self.report(errors::rule_twice(rule.kind, code, first));
        } else {
            self.rule_codes.insert(key, code.span);
        }
        if block.forbidden_only && rule.kind == RuleKind::Warn && !rule.even_if_denied {
            self.report(errors::forbidden_warning(code));
        }
        if let (Some(op), true) = (block.operation, rule.even_if_denied) {
            self.report(errors::out_of_place(
                code.span,
                format!("`even if denied` has no meaning in `on {}`", op.name()),
                "a refused operation reports its reasons only; remove `even if denied`",
            ));
        }
        let when = match &rule.when {
            Some(e) => self.condition(e, scope).map(|(t, deps)| {
                self.evaluated(t.span, deps);
                self.constant_condition(&t, deps, "rule condition");
                t
            }),
            None => None,
        };
        // Check everything, even after a problem, so that one run reports all.
        let mut ok = when.is_some() || rule.when.is_none();
        let message = match (&rule.message, rule.kind) {
            (Some(m), _) => {
                let t = self.template(m, scope);
                ok &= t.is_some();
                t
            }
            (None, RuleKind::Effect) => None,
            (None, kind) => {
                self.report(errors::rule_without_message(kind, code));
                ok = false;
                None
            }
        };
        let mut steps = Vec::with_capacity(rule.steps.len());
        let mut everyone_from: Option<Span> = None;
        let mut seen_access: HashMap<usize, Span> = HashMap::new();
        for clause in &rule.steps {
            if rule.kind != RuleKind::Deny {
                self.report(errors::steps_not_on_deny(rule.kind, clause.span));
                continue;
            }
            if let Some(all) = everyone_from {
                self.report(errors::steps_after_everyone(clause.span, all));
            }
            if let (Some(op), false) = (
                block.operation,
                matches!(clause.audience, ast::Audience::Everyone),
            ) {
                self.report(errors::out_of_place(
                    clause.span,
                    format!("`on {}` has no role to give steps by access", op.name()),
                    "ledger operations are not made by a role: write `steps { ... }` for everyone",
                ));
            }
            let audience = match &clause.audience {
                ast::Audience::Everyone => {
                    everyone_from.get_or_insert(clause.span);
                    Audience::Everyone
                }
                ast::Audience::Others(_) => {
                    everyone_from.get_or_insert(clause.span);
                    Audience::Others
                }
                ast::Audience::Access(name) => {
                    match self.names.access.get(&*name.name) {
                        Some(&i) => {
                            self.used.access.insert(i);
                            if let Some(&first) = seen_access.get(&i) {
                                self.report(errors::second_access_steps(clause.span, name, first));
                            }
                            seen_access.insert(i, clause.span);
                            Audience::Access(i)
                        }
                        None => {
                            let known = self.out.access_levels.iter().map(String::as_str);
                            let guess = self.suggest(&name.name, known);
                            self.report(errors::unknown_access_level(name, guess));
                            self.note_unknown(
                                ACCESS.to_owned(),
                                String::from(&*name.name),
                                name.span,
                            );
                            // Still check the steps below; the policy fails anyway.
                            Audience::Others
                        }
                    }
                }
            };
            let mut list = Vec::with_capacity(clause.steps.len());
            for use_ in &clause.steps {
                let step = self.resolve(STEP, &use_.step);
                let when = match &use_.when {
                    Some(e) => match self.condition(e, scope) {
                        Some((t, deps)) => {
                            self.evaluated(t.span, deps);
                            self.constant_condition(&t, deps, "step condition");
                            Some(t)
                        }
                        None => continue,
                    },
                    None => None,
                };
                if let Some(step) = step {
                    if let Some(op) = block.operation {
                        self.operation_steps.push((step, use_.span, op));
                    }
                    list.push((step, when, use_.span));
                }
            }
            steps.push(StepsClause {
                audience,
                steps: list,
                span: clause.span,
            });
        }
        let mut params: Vec<(String, TExpr)> = Vec::with_capacity(rule.params.len());
        let mut param_names: HashSet<&str> = HashSet::new();
        for param in &rule.params {
            if ["code", "rule", "source", "message"].contains(&&*param.name.name) {
                self.report(errors::reserved_parameter(&param.name));
                continue;
            }
            if param_names.contains(&*param.name.name) {
                self.report(errors::parameter_twice(&param.name));
                continue;
            }
            if let Some((t, deps)) = self.value(&param.value, scope, None) {
                self.evaluated(t.span, deps);
                param_names.insert(&*param.name.name);
                params.push((String::from(&*param.name.name), t));
            }
        }
        if !ok {
            return None;
        }
        Some(Rule {
            kind: rule.kind,
            code: String::from(&*code.name),
            when,
            message,
            steps,
            params,
            even_if_denied: rule.even_if_denied,
            span: rule.span,
        })
    }
}

impl Checker<'_> {
    /// A step offered by a ledger operation's rule cannot say who asked or
    /// what for: its message must not read `role` or `action`.
    pub(super) fn operation_step_messages(&mut self) {
        for (step, at, op) in std::mem::take(&mut self.operation_steps) {
            let Some(s) = self.out.steps.get(step) else {
                continue;
            };
            let reads_request = s.message.parts.iter().any(|p| match p {
                TemplatePart::Value { expr, .. } => reads_request(expr),
                TemplatePart::Text(_) => false,
            });
            if reads_request {
                let name = s.name.clone();
                self.report(
                    errors::out_of_place(
                        at,
                        format!("step `{name}` reads `role` or `action`, which `on {}` does not have", op.name()),
                        "a ledger operation is not a request: offer a step whose message names no role or action, or write one for the operation",
                    )
                    .related(s.span, "the step"),
                );
            }
        }
    }
}

/// Whether an expression reads the request (`role`, `action`).
fn reads_request(e: &TExpr) -> bool {
    let mut todo = vec![e];
    while let Some(e) = todo.pop() {
        match &e.kind {
            TExprKind::Builtin(Builtin::Role | Builtin::Action) => return true,
            TExprKind::Unary(_, a) | TExprKind::Before(a) => todo.push(a),
            TExprKind::Binary(_, a, b) => {
                todo.push(a);
                todo.push(b);
            }
            TExprKind::In { value, set, .. } => {
                todo.push(value);
                todo.extend(set.iter());
            }
            TExprKind::InLiterals(list) => todo.push(&list.value),
            TExprKind::InCategory { value, .. } => todo.push(value),
            TExprKind::Aggregate { filter, .. } => todo.extend(filter.as_deref()),
            _ => {}
        }
    }
    false
}

/// What the block a rule sits in applies to.
#[derive(Clone, Copy)]
pub(super) struct BlockKind {
    /// `on forbidden` alone: warnings there show only `even if denied`.
    forbidden_only: bool,
    operation: Option<Operation>,
}
