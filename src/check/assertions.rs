//! `assert` items: who and what they cover, their condition, their claim.

use std::collections::HashMap;
use std::sync::Arc;

use super::expr::Scope;
use super::ir::*;
use super::{ACCESS, ACTION, Checker, ROLE, STATE, STEP, errors};
use crate::ast::{self, ItemKind};
use crate::span::Span;

/// The code `deny CODE` may name besides the policy's own: the reason a
/// request the role is not permitted is refused.
const NOT_PERMITTED: &str = "not_permitted";

impl Checker<'_> {
    pub(super) fn assertions(&mut self, policy: &ast::Policy) {
        let mut seen: HashMap<Arc<str>, Span> = HashMap::new();
        for item in &policy.items {
            let ItemKind::Assert(a) = &item.kind else {
                continue;
            };
            // Check the whole of every assertion, so one run reports all.
            let mut ok = true;
            if let Some(&first) = seen.get(&a.name.name) {
                self.report(errors::defined_twice("assertion", &a.name, first));
                ok = false;
            } else {
                seen.insert(Arc::clone(&a.name.name), a.name.span);
            }
            let roles = self.assertion_roles(&a.roles, &mut ok);
            let actions = self.assertion_actions(&a.actions, &mut ok);
            let when = match &a.when {
                Some(e) => match self.condition(e, Scope::REQUEST) {
                    Some((t, deps)) => {
                        self.constant_condition(&t, deps, "assertion condition");
                        Some(t)
                    }
                    None => {
                        ok = false;
                        None
                    }
                },
                None => None,
            };
            let claim = self.claim(&a.claim);
            if let (true, Some(claim)) = (ok, claim) {
                self.out.assertions.push(Assertion {
                    name: String::from(&*a.name.name),
                    roles,
                    actions,
                    when,
                    claim,
                    span: item.span,
                });
            }
        }
    }

    /// The roles after `for`, in policy order; every role when none is named.
    fn assertion_roles(&mut self, who: &[ast::Who], ok: &mut bool) -> Vec<usize> {
        let count = self.out.roles.len();
        if who.is_empty() {
            return (0..count).collect();
        }
        let mut covered = vec![false; count];
        for w in who {
            match w {
                ast::Who::Role(name) => match self.resolve(ROLE, name) {
                    Some(r) => {
                        if let Some(c) = covered.get_mut(r) {
                            *c = true;
                        }
                    }
                    None => *ok = false,
                },
                ast::Who::Access(name) => match self.names.access.get(&*name.name) {
                    Some(&level) => {
                        for (r, role) in self.out.roles.iter().enumerate() {
                            if let (true, Some(c)) =
                                (role.access.contains(&level), covered.get_mut(r))
                            {
                                *c = true;
                            }
                        }
                    }
                    None => {
                        let known = self.out.access_levels.iter().map(String::as_str);
                        let guess = self.suggest(&name.name, known);
                        self.report(errors::unknown_access_level(name, guess));
                        self.note_unknown(ACCESS.to_owned(), String::from(&*name.name), name.span);
                        *ok = false;
                    }
                },
            }
        }
        indices(&covered)
    }

    /// The actions after `on`, in policy order; every action when none is
    /// named or `all` is.
    fn assertion_actions(&mut self, names: &[ast::Ident], ok: &mut bool) -> Vec<usize> {
        let count = self.out.actions.len();
        if names.is_empty() || names.iter().any(|n| &*n.name == "all") {
            // `all` is a keyword, never a category's or an action's name.
            for n in names.iter().filter(|n| &*n.name != "all") {
                *ok &= self.known_action(n);
            }
            return (0..count).collect();
        }
        let mut covered = vec![false; count];
        for n in names {
            if !self.known_action(n) {
                *ok = false;
                continue;
            }
            for a in self.action_set(n) {
                if let Some(c) = covered.get_mut(a) {
                    *c = true;
                }
            }
        }
        indices(&covered)
    }

    /// Whether `name` is a category or an action; reported when not.
    fn known_action(&mut self, name: &ast::Ident) -> bool {
        if self.names.categories.contains_key(&*name.name) {
            self.action_set(name);
            return true;
        }
        self.resolve(ACTION, name).is_some()
    }

    /// The claim with its names resolved; `None` when one is unknown (and
    /// reported). Recursion is bounded by the parser's depth limit.
    fn claim(&mut self, c: &ast::Claim) -> Option<Claim> {
        let pair = |ch: &mut Self, a: &ast::Claim, b: &ast::Claim| {
            let a = ch.claim(a);
            let b = ch.claim(b);
            Some((Box::new(a?), Box::new(b?)))
        };
        Some(match &c.kind {
            ast::ClaimKind::Invalid => return None,
            ast::ClaimKind::Fact(f) => Claim::Fact(self.fact(f)?),
            ast::ClaimKind::Not(x) => Claim::Not(Box::new(self.claim(x)?)),
            ast::ClaimKind::And(a, b) => {
                let (a, b) = pair(self, a, b)?;
                Claim::And(a, b)
            }
            ast::ClaimKind::Or(a, b) => {
                let (a, b) = pair(self, a, b)?;
                Claim::Or(a, b)
            }
            ast::ClaimKind::Implies(a, b) => {
                let (a, b) = pair(self, a, b)?;
                Claim::Implies(a, b)
            }
        })
    }

    fn fact(&mut self, f: &ast::Fact) -> Option<Fact> {
        Some(match f {
            ast::Fact::Allow => Fact::Allow,
            ast::Fact::Deny => Fact::Deny,
            ast::Fact::Permitted => Fact::Permitted,
            ast::Fact::SomeStep => Fact::SomeStep,
            ast::Fact::SomeWarning => Fact::SomeWarning,
            ast::Fact::SomeEffect => Fact::SomeEffect,
            ast::Fact::Reason(code) => Fact::Reason(self.rule_code(RuleKind::Deny, code)?),
            ast::Fact::Warning(code) => Fact::Warning(self.rule_code(RuleKind::Warn, code)?),
            ast::Fact::Effect(code) => Fact::Effect(self.rule_code(RuleKind::Effect, code)?),
            ast::Fact::State(name) => Fact::State(self.resolve(STATE, name)?),
            ast::Fact::Step(name) => Fact::Step(self.claimed_step(name)?),
            ast::Fact::StepsOnly(names) => {
                let mut steps = Vec::with_capacity(names.len());
                let mut all = true;
                for n in names {
                    match self.claimed_step(n) {
                        Some(s) => steps.push(s),
                        None => all = false,
                    }
                }
                if !all {
                    return None;
                }
                Fact::StepsOnly(steps)
            }
        })
    }

    /// A step a claim names. Naming it does not count as offering it: a
    /// step no rule offers is still reported as unused.
    fn claimed_step(&mut self, name: &ast::Ident) -> Option<usize> {
        let offered = self
            .names
            .steps
            .get(&*name.name)
            .is_some_and(|s| self.used.steps.contains(s));
        let step = self.resolve(STEP, name)?;
        if !offered {
            self.used.steps.remove(&step);
        }
        Some(step)
    }

    /// The code of some `kind` rule in the policy (`not_permitted` too,
    /// for `deny`). A code no rule has is a warning, not an error: the fact
    /// then never holds, which `tollgate verify` shows with a
    /// counterexample. A policy whose rule was removed still loads, and
    /// its assertions say what the removal broke.
    fn rule_code(&mut self, kind: RuleKind, code: &ast::Ident) -> Option<String> {
        let builtin = kind == RuleKind::Deny && &*code.name == NOT_PERMITTED;
        if builtin
            || self
                .rule_codes
                .contains_key(&(kind, Arc::clone(&code.name)))
        {
            return Some(String::from(&*code.name));
        }
        let mut known: Vec<&str> = self
            .rule_codes
            .keys()
            .filter(|(k, _)| *k == kind)
            .map(|(_, c)| &**c)
            .collect();
        if kind == RuleKind::Deny && !known.contains(&NOT_PERMITTED) {
            known.push(NOT_PERMITTED);
        }
        known.sort_unstable();
        let guess = if self.can_suggest() {
            self.suggest(&code.name, known.iter().copied())
        } else {
            None
        };
        let what = match kind {
            RuleKind::Deny => "deny",
            RuleKind::Warn => "warn",
            RuleKind::Effect => "effect",
        };
        let listed: Vec<&str> = known
            .iter()
            .copied()
            .take(errors::MAX_LISTED_NAMES + 1)
            .collect();
        let d = errors::fact_never_holds(what, code, guess, &listed, known.len());
        self.report(d);
        Some(String::from(&*code.name))
    }
}

/// The positions of the `true`s.
fn indices(covered: &[bool]) -> Vec<usize> {
    covered
        .iter()
        .enumerate()
        .filter_map(|(i, &c)| c.then_some(i))
        .collect()
}
