//! Lints the solver proves (`tollgate check --prove`): a rule that can never
//! fire or never shows, a state never reached, a step condition that is
//! always true or always false when its reason is given.
//!
//! Each is a question over every account and every request the rule or
//! state applies to; "never" is an unsatisfiable formula, so the warnings
//! are proofs, not guesses. The encoding over-approximates only by making
//! more accounts possible, which can hide a lint but never invent one.

use std::collections::HashMap;
use std::time::Duration;

use crate::compile::{ActionId, Program, RoleId, RuleId};
use crate::diagnostic::{Code, Diagnostic};
use crate::lang::RuleKind;
use crate::span::Span;

use super::VerifyError;
use super::encode::{Encoder, Universe};
use super::solver::{Sat, Solver};

#[derive(Default)]
struct Seen {
    /// The rule applies to some request.
    applies: bool,
    holds: bool,
    shows: bool,
}

#[derive(Default)]
struct OfferSeen {
    given: bool,
    can_hold: bool,
    can_fail: bool,
    conditional: bool,
}

/// The proven lints of a policy, as warnings.
pub fn lints(p: &Program, limit: Duration) -> Result<Vec<Diagnostic>, VerifyError> {
    let mut u = Universe::new(&[p])?;
    let mut solver = Solver::start(limit)?;
    solver.send(&u.declarations())?;
    let mut reached = vec![false; p.states.len()];
    let mut rules: HashMap<RuleId, Seen> = HashMap::new();
    let mut offers: HashMap<(RuleId, Span), OfferSeen> = HashMap::new();
    let mut done: super::Seen<(RoleId, ActionId)> = super::Seen::new();
    let sat = |solver: &mut Solver, term: &str| -> Result<bool, VerifyError> {
        solver.send(&format!("(push 1)\n(assert {term})\n"))?;
        let answer = solver.check()?;
        solver.send("(pop 1)\n")?;
        Ok(answer == Sat::Sat)
    };
    for ri in 0..p.roles.len() {
        let role = RoleId::from_index(ri).ok_or_else(|| internal("role"))?;
        for ai in 0..p.actions.len() {
            let action = ActionId::from_index(ai).ok_or_else(|| internal("action"))?;
            solver.in_time()?;
            u.begin_request();
            let (d, _) = Encoder::new(&mut u, p, 0, (role, action)).decision(&[])?;
            // Requests whose formulas are the same text have the same answers.
            let key = lint_key(&d);
            let again = |&(r, a): &(RoleId, ActionId)| -> Result<String, VerifyError> {
                u.begin_request();
                let (d, _) = Encoder::new(&mut u, p, 0, (r, a)).decision(&[])?;
                Ok(lint_key(&d))
            };
            if done.find(&key, again)?.is_some() {
                continue;
            }
            done.insert(&key, (role, action));
            solver.send("(push 1)\n")?;
            solver.send(&d.defs)?;
            for (i, (_, term)) in d.states.iter().enumerate() {
                if reached.get(i) == Some(&false) && sat(&mut solver, term)? {
                    if let Some(r) = reached.get_mut(i) {
                        *r = true;
                    }
                }
            }
            for f in &d.rules {
                let seen = rules.entry(f.rule).or_default();
                seen.applies = true;
                if !seen.holds {
                    seen.holds = sat(&mut solver, &f.holds)?;
                }
                if seen.holds && !seen.shows {
                    seen.shows = sat(&mut solver, &f.shows)?;
                }
            }
            for o in &d.offers {
                let seen = offers.entry((o.rule, o.span)).or_default();
                if !sat(&mut solver, &o.reason)? {
                    continue;
                }
                seen.given = true;
                let Some(when) = &o.when else {
                    continue;
                };
                seen.conditional = true;
                if !seen.can_hold {
                    seen.can_hold = sat(&mut solver, &format!("(and {} {when})", o.reason))?;
                }
                if !seen.can_fail {
                    seen.can_fail = sat(&mut solver, &format!("(and {} (not {when}))", o.reason))?;
                }
            }
            solver.send("(pop 1)\n")?;
        }
    }
    let mut out = Vec::new();
    for (state, reached) in p.states.iter().zip(&reached) {
        if !reached {
            out.push(
                Diagnostic::new(
                    Code::Unreachable,
                    state.span,
                    format!("state `{}` is never reached", state.name),
                )
                .label("no account gets here")
                .help("the states above it cover every account where its condition holds; remove it, or move it up"),
            );
        }
    }
    let mut ids: Vec<&RuleId> = rules.keys().collect();
    ids.sort();
    for id in ids {
        let (Some(seen), Some(rule)) = (rules.get(id), p.rule(*id)) else {
            continue;
        };
        if !seen.applies {
            continue;
        }
        let what = format!("{} {}", rule.kind.keyword(), rule.code);
        if !seen.holds {
            out.push(
                Diagnostic::new(
                    Code::Unreachable,
                    rule.span,
                    format!("`{what}` can never fire: its condition holds on no account"),
                )
                .label("never holds")
                .help("the condition contradicts itself, or what the snapshot format allows; fix it or remove the rule"),
            );
        } else if !seen.shows && rule.kind == RuleKind::Warn {
            out.push(
                Diagnostic::new(
                    Code::Unreachable,
                    rule.span,
                    format!("`{what}` never shows: whenever it holds, a deny refuses the request"),
                )
                .label("always pre-empted by a deny")
                .help("a plain `warn` accompanies allowed requests only; add `even if denied`, or remove it"),
            );
        }
    }
    let mut places: Vec<&(RuleId, Span)> = offers.keys().collect();
    places.sort_by_key(|(r, s)| (*r, s.start));
    for key in places {
        let Some(seen) = offers.get(key) else {
            continue;
        };
        if !seen.given || !seen.conditional {
            continue;
        }
        let rule = p.rule(key.0).map_or("", |r| r.code.as_str());
        let span = trimmed(p, key.1);
        if !seen.can_fail {
            out.push(
                Diagnostic::new(
                    Code::ConstantCondition,
                    span,
                    format!("this step's condition is always true when `{rule}` is the reason"),
                )
                .label("always true here")
                .help("drop the `when`: the step is offered every time"),
            );
        } else if !seen.can_hold {
            out.push(
                Diagnostic::new(
                    Code::ConstantCondition,
                    span,
                    format!("this step's condition is never true when `{rule}` is the reason"),
                )
                .label("never true here")
                .help("the step is never offered; fix the condition or remove the step"),
            );
        }
    }
    Ok(out)
}

/// Everything a request's lints read, as text: equal texts, equal answers.
fn lint_key(d: &super::encode::SymDecision) -> String {
    format!(
        "{}{:?}{:?}{:?}",
        d.defs,
        d.states,
        d.rules
            .iter()
            .map(|r| (r.rule, &r.holds, &r.shows))
            .collect::<Vec<_>>(),
        d.offers
            .iter()
            .map(|o| (o.rule, o.span, &o.reason, &o.when))
            .collect::<Vec<_>>()
    )
}

/// A span without the line breaks and blanks that end it.
fn trimmed(p: &Program, span: Span) -> Span {
    let text = p.source.text();
    let end = text
        .get(span.start as usize..span.end as usize)
        .map_or(span.end as usize, |t| {
            span.start as usize + t.trim_end().len()
        });
    Span::new(span.start as usize, end)
}

fn internal(what: &str) -> VerifyError {
    VerifyError::Unconfirmed(format!("inconsistent policy ({what})"))
}
