//! Steps, balance states, `on` blocks and their rules.

use std::collections::HashMap;

use super::expr::Scope;
use super::ir::*;
use super::permit::ActionRanges;
use super::{Checker, STEP, span_of};
use crate::ast::{self, ItemKind, OnTarget, RuleKind};
use crate::diagnostic::{Code, Diagnostic};
use crate::span::Span;

impl Checker<'_> {
    pub(super) fn step(&mut self, name: &ast::Ident, message: Option<&ast::Template>) {
        let Some(&index) = self.names.steps.get(&name.name) else {
            return;
        };
        if self.out.steps.get(index).map(|s| s.span) != Some(name.span) {
            return; // the duplicate, already reported
        }
        let Some(message) = message else {
            self.report(
                Diagnostic::new(
                    Code::MissingMessage,
                    name.span,
                    format!("step `{}` has no message", name.name),
                )
                .label("no message")
                .help(format!("say what to do: `step {} \"...\"`", name.name)),
            );
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
                self.report(
                    Diagnostic::new(Code::Unreachable, name.span, format!("state `{}` can never be reached", name.name))
                        .label("unreachable")
                        .related(all, "every account stops at this state")
                        .help("states are tried in order and the first that holds wins; move this state above the catch-all"),
                );
            }
            last = Some(item.span);
            let typed = match when {
                Some(e) => {
                    let Some((t, deps)) = self.condition(e, Scope::ACCOUNT) else {
                        continue;
                    };
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
                name: name.name.clone(),
                when: typed,
                span: name.span,
            });
        }
        match (last, catch_all) {
            (None, _) => self.report(
                Diagnostic::new(
                    Code::MissingDeclaration,
                    Span::point(0),
                    "the policy declares no balance states",
                )
                .label("no `state`")
                .help("declare states in order, ending with a catch-all: `state ok otherwise`"),
            ),
            (Some(last), None) => self.report(
                Diagnostic::new(
                    Code::StatesNotExhaustive,
                    last,
                    "the states do not cover every account",
                )
                .label("the last state has a condition")
                .help("end with a state that always matches, such as `state ok otherwise`"),
            ),
            _ => {}
        }
    }

    pub(super) fn on_block(&mut self, block: &ast::OnBlock, span: Span) {
        let mut targets = ActionRanges::default();
        let forbidden = match &block.target {
            OnTarget::Forbidden(_) => true,
            OnTarget::Actions(names) => {
                for name in names {
                    let set = self.action_set(name);
                    targets.insert(set);
                }
                false
            }
        };
        // Blocks × actions fits MAX_TABLE_CELLS, or the policy has an
        // error and the table is never read.
        let actions = if self.tables_fit {
            targets.to_table(self.out.actions.len())
        } else {
            Vec::new()
        };
        let mut rules = Vec::new();
        for rule in &block.rules {
            if let Some(r) = self.rule(rule, forbidden) {
                rules.push(r);
            }
        }
        self.out.blocks.push(Block {
            forbidden,
            actions,
            rules,
            span,
        });
    }

    pub(super) fn rule(&mut self, rule: &ast::Rule, forbidden: bool) -> Option<Rule> {
        let code = &rule.code;
        let key = (rule.kind, code.name.clone());
        if let Some(&first) = self.rule_codes.get(&key) {
            self.report(
                Diagnostic::new(
                    Code::Duplicate,
                    code.span,
                    format!(
                        "{} rule `{}` is defined twice",
                        rule.kind.keyword(),
                        code.name
                    ),
                )
                .label("defined again")
                .related(first, "first defined here")
                .help(
                    "a code names one rule; to apply a rule to more actions, list them after `on`",
                ),
            );
        } else {
            self.rule_codes.insert(key, code.span);
        }
        if forbidden && rule.kind == RuleKind::Warn {
            self.report(
                Diagnostic::new(Code::Unreachable, code.span, "a warning in `on forbidden` is never shown")
                    .label("never shown")
                    .help("warnings accompany an allowed request, and forbidden requests are always denied"),
            );
        }
        let when = match &rule.when {
            Some(e) => self.condition(e, Scope::REQUEST).map(|(t, deps)| {
                self.constant_condition(&t, deps, "rule condition");
                t
            }),
            None => None,
        };
        // Check everything, even after a problem, so that one run reports all.
        let mut ok = when.is_some() || rule.when.is_none();
        let message = match (&rule.message, rule.kind) {
            (Some(m), _) => {
                let t = self.template(m, Scope::REQUEST);
                ok &= t.is_some();
                t
            }
            (None, RuleKind::Effect) => None,
            (None, kind) => {
                self.report(
                    Diagnostic::new(
                        Code::MissingMessage,
                        code.span,
                        format!("{} rule `{}` has no message", kind.keyword(), code.name),
                    )
                    .label("no message")
                    .help("add `{ message \"...\" }`: it is what the person sees"),
                );
                ok = false;
                None
            }
        };
        let mut steps = Vec::new();
        let mut everyone_from: Option<Span> = None;
        let mut seen_access: HashMap<usize, Span> = HashMap::new();
        for clause in &rule.steps {
            if rule.kind != RuleKind::Deny {
                self.report(
                    Diagnostic::new(
                        Code::Unreachable,
                        clause.span,
                        format!(
                            "next steps on a `{}` rule are never shown",
                            rule.kind.keyword()
                        ),
                    )
                    .label("never shown")
                    .help("next steps come with a denial; move them to a `deny` rule"),
                );
                continue;
            }
            if let Some(all) = everyone_from {
                self.report(
                    Diagnostic::new(Code::Unreachable, clause.span, "these steps are never used")
                        .label("unreachable")
                        .related(all, "this clause already covers every role")
                        .help(
                            "the first `steps` clause that fits the role applies; move this one up",
                        ),
                );
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
                    match self.names.access.get(&name.name) {
                        Some(&i) => {
                            if let Some(&first) = seen_access.get(&i) {
                                self.report(
                                    Diagnostic::new(
                                        Code::Unreachable,
                                        clause.span,
                                        format!("a second `steps for {} access`", name.name),
                                    )
                                    .label("never used")
                                    .related(first, "this clause comes first")
                                    .help("merge the two clauses"),
                                );
                            }
                            seen_access.insert(i, clause.span);
                            Audience::Access(i)
                        }
                        None => {
                            let known: Vec<&str> =
                                self.out.access_levels.iter().map(String::as_str).collect();
                            let mut d = Diagnostic::new(
                                Code::UnknownName,
                                name.span,
                                format!("unknown access level `{}`", name.name),
                            )
                            .label("no role has this access");
                            d = match self.suggest(&name.name, known.iter().copied()) {
                            Some(s) => d.help(format!("did you mean `{s}`?")),
                            None => d.help("access levels come from roles: `role owner with billing access`"),
                        };
                            self.report(d);
                            // Still check the steps below; the policy fails anyway.
                            Audience::Others
                        }
                    }
                }
            };
            let mut list = Vec::new();
            for use_ in &clause.steps {
                let step = self.resolve(STEP, &use_.step);
                let when = match &use_.when {
                    Some(e) => match self.condition(e, Scope::REQUEST) {
                        Some((t, deps)) => {
                            self.constant_condition(&t, deps, "step condition");
                            Some(t)
                        }
                        None => continue,
                    },
                    None => None,
                };
                if let Some(step) = step {
                    list.push((step, when, use_.span));
                }
            }
            steps.push(StepsClause {
                audience,
                steps: list,
                span: clause.span,
            });
        }
        let mut params: Vec<(String, TExpr)> = Vec::new();
        for param in &rule.params {
            if ["code", "rule", "source", "message"].contains(&param.name.name.as_str()) {
                self.report(
                    Diagnostic::new(Code::ReservedName, param.name.span, format!("`{}` is reserved in an effect", param.name.name))
                        .label("reserved")
                        .help("effects already report `code`, `rule`, `source` and `message`; choose another name"),
                );
                continue;
            }
            if params.iter().any(|(n, _)| *n == param.name.name) {
                self.report(
                    Diagnostic::new(
                        Code::Duplicate,
                        param.name.span,
                        format!("parameter `{}` is given twice", param.name.name),
                    )
                    .label("again")
                    .help("remove one of them"),
                );
                continue;
            }
            if let Some((t, _)) = self.value(&param.value, Scope::REQUEST, None) {
                params.push((param.name.name.clone(), t));
            }
        }
        if !ok {
            return None;
        }
        Some(Rule {
            kind: rule.kind,
            code: code.name.clone(),
            when,
            message,
            steps,
            params,
            span: rule.span,
            docs: rule.docs.clone(),
        })
    }
}
