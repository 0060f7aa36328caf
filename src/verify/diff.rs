//! `diff --exhaustive`: every kind of account two policies decide
//! differently, for every request both know.
//!
//! For each role and action, "the decisions differ" is one formula over the
//! account. While it is satisfiable, the model's truth values of the
//! policies' atoms (each comparison and enum test, as the policy writes
//! it) make a cube; literals are dropped while the cube still implies a
//! difference, the cube is reported as a region, and excluded from the
//! next round. When the formula is unsatisfiable, the regions cover every
//! difference: nothing is sampled.

use std::collections::HashMap;
use std::time::Duration;

use crate::compile::{ActionId, RoleId};
use crate::{Decision, Policy};

use super::encode::{Encoder, SymDecision, Universe, and_all, or_all};
use super::solver::{Sat, Solver};
use super::{MAX_REGIONS_PER_REQUEST, VerifyError, concrete};

/// A kind of account some requests are decided differently on.
#[derive(Debug)]
pub struct Region {
    /// The requests, as role and action names, in policy order.
    pub requests: Vec<(String, String)>,
    /// The accounts: conditions in policy terms that all hold.
    pub conditions: Vec<String>,
    /// Whether every account in the region is decided differently; `false`
    /// when only some are (an effect's amount that changes on part of it).
    pub exact: bool,
    /// What changes, on the witness (nothing when there is none).
    pub changes: Vec<Change>,
    /// An account in the region decided differently, confirmed by both
    /// evaluators. `None` when the solver found the region only through an
    /// over-approximation (a count or sum over grants, calendar months, a
    /// restricted settlement, a product of two quantities) and the account
    /// built from its model is decided alike: a possible difference,
    /// reported rather than dropped, so that no real one goes unsaid.
    pub witness: Option<Witness>,
    /// More regions exist for these requests than were listed.
    pub more: bool,
    /// The conditions, for [`Region::contains`].
    pub literals: Vec<Literal>,
}

impl Region {
    /// Whether an account lies in the region, by the evaluator: each
    /// literal read on the account under its own policy for `request`
    /// (names of a role and an action both policies have).
    pub fn contains(
        &self,
        old: &Policy,
        new: &Policy,
        account: &crate::Account,
        request: (&str, &str),
    ) -> Result<bool, VerifyError> {
        let Ok(json) = concrete::validated(old, account).map(|(j, _)| j) else {
            return Ok(false);
        };
        let in_new = new
            .snapshot_from_json(&json)
            .map_err(|_| internal("an account the new policy rejects"))?;
        let eval = |policy: &Policy, acc: &crate::Account, node| -> Result<String, VerifyError> {
            let p = policy.program();
            let (Some(r), Some(a)) = (p.role_by_name(request.0), p.action_by_name(request.1))
            else {
                return Err(internal("a request the policies do not share"));
            };
            let ctx = crate::decide::eval::Ctx::new(p, acc, Some((r, a)))
                .map_err(|e| VerifyError::Unconfirmed(e.to_string()))?;
            let v = ctx
                .eval(
                    node,
                    crate::decide::eval::Item::None,
                    &mut crate::decide::eval::NoTrace,
                )
                .map_err(|e| VerifyError::Unconfirmed(e.to_string()))?;
            Ok(match v {
                crate::value::Value::Decimal(d) => crate::amount::format(d),
                other => format!("{other:?}"),
            })
        };
        for literal in &self.literals {
            let ok = match *literal {
                Literal::Node { side, node, holds } => {
                    let (policy, acc) = if side == 0 {
                        (old, account)
                    } else {
                        (new, &in_new)
                    };
                    (eval(policy, acc, node)? == "Bool(true)") == holds
                }
                Literal::Differ {
                    old: a,
                    new: b,
                    holds,
                } => (eval(old, account, a)? != eval(new, &in_new, b)?) == holds,
            };
            if !ok {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// One part of a decision that changes: `state`, `outcome`, ...
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub part: &'static str,
    pub old: String,
    pub new: String,
}

/// An account in a region, and both decisions on it.
#[derive(Debug)]
pub struct Witness {
    pub role: String,
    pub action: String,
    pub snapshot: String,
    pub old: String,
    pub new: String,
}

/// Everything `diff --exhaustive` found.
#[derive(Debug, Default)]
pub struct ExhaustiveDiff {
    pub regions: Vec<Region>,
    /// Roles and actions one policy has and the other does not: their
    /// requests cannot be compared.
    pub only_old: Vec<String>,
    pub only_new: Vec<String>,
    /// Requests compared.
    pub requests: usize,
    /// Solver checks made.
    pub checks: usize,
}

/// What a decision says, as `diff` compares it: no messages.
#[derive(Debug, PartialEq)]
struct Summary {
    outcome: String,
    state: String,
    reasons: Vec<String>,
    steps: Vec<String>,
    warnings: Vec<String>,
    effects: Vec<String>,
}

fn summary(d: &Decision<'_>) -> Result<Summary, VerifyError> {
    let effects = d
        .effects()
        .map_err(|e| VerifyError::Unconfirmed(e.to_string()))?
        .into_iter()
        .map(|e| {
            let params: Vec<String> = e.params.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            if params.is_empty() {
                e.code
            } else {
                format!("{} ({})", e.code, params.join(", "))
            }
        })
        .collect();
    Ok(Summary {
        outcome: d.outcome().as_str().to_owned(),
        state: d.state().to_owned(),
        reasons: d.reason_codes().map(str::to_owned).collect(),
        steps: d.next_step_codes().map(str::to_owned).collect(),
        warnings: d.warning_codes().map(str::to_owned).collect(),
        effects,
    })
}

fn changes(old: &Summary, new: &Summary) -> Vec<Change> {
    let list = |v: &[String]| format!("[{}]", v.join(", "));
    let mut out = Vec::new();
    let mut push = |part: &'static str, a: String, b: String| {
        if a != b {
            out.push(Change {
                part,
                old: a,
                new: b,
            });
        }
    };
    push("outcome", old.outcome.clone(), new.outcome.clone());
    push("state", old.state.clone(), new.state.clone());
    push("reasons", list(&old.reasons), list(&new.reasons));
    push("next steps", list(&old.steps), list(&new.steps));
    push("warnings", list(&old.warnings), list(&new.warnings));
    push("effects", list(&old.effects), list(&new.effects));
    out
}

/// Compares two policies on every account.
pub fn diff(old: &Policy, new: &Policy, limit: Duration) -> Result<ExhaustiveDiff, VerifyError> {
    let (pa, pb) = (old.program(), new.program());
    let mut u = Universe::new(&[pa, pb])?;
    let mut solver = Solver::start(limit)?;
    solver.send(&u.declarations())?;
    let mut report = ExhaustiveDiff::default();
    for r in &pa.roles {
        if pb.role_by_name(&r.name).is_none() {
            report.only_old.push(format!("role {}", r.name));
        }
    }
    for a in &pa.actions {
        if pb.action_by_name(&a.name).is_none() {
            report.only_old.push(format!("action {}", a.name));
        }
    }
    for r in &pb.roles {
        if pa.role_by_name(&r.name).is_none() {
            report.only_new.push(format!("role {}", r.name));
        }
    }
    for a in &pb.actions {
        if pa.action_by_name(&a.name).is_none() {
            report.only_new.push(format!("action {}", a.name));
        }
    }
    // Requests whose formulas are the same text share their regions.
    let mut seen: super::Seen<(RoleId, ActionId, RoleId, ActionId)> = super::Seen::new();
    let mut shared: HashMap<(RoleId, ActionId), Vec<usize>> = HashMap::new();
    for (ri, r) in pa.roles.iter().enumerate() {
        let Some(rb) = pb.role_by_name(&r.name) else {
            continue;
        };
        let ra = RoleId::from_index(ri).ok_or_else(|| internal("role id"))?;
        for (ai, a) in pa.actions.iter().enumerate() {
            let Some(ab) = pb.action_by_name(&a.name) else {
                continue;
            };
            let aa = ActionId::from_index(ai).ok_or_else(|| internal("action id"))?;
            report.requests += 1;
            solver.in_time()?;
            let (query, da, db, param_atoms) = diff_query(&mut u, (pa, pb), (ra, aa), (rb, ab))?;
            let request = (r.name.clone(), a.name.clone());
            let again = |&(ra, aa, rb, ab): &(RoleId, ActionId, RoleId, ActionId)| {
                diff_query(&mut u, (pa, pb), (ra, aa), (rb, ab)).map(|q| q.0)
            };
            if let Some((ra0, aa0, _, _)) = seen.find(&query, again)? {
                for &i in shared.get(&(ra0, aa0)).map_or(&[][..], Vec::as_slice) {
                    if let Some(region) = report.regions.get_mut(i) {
                        if !region.requests.contains(&request) {
                            region.requests.push(request.clone());
                        }
                    }
                }
                continue;
            }
            let found = regions_of(
                &mut solver,
                &u,
                (old, new),
                &query,
                (&da, &db, param_atoms),
                ((ra, aa), (rb, ab)),
            )?;
            let mut indices = Vec::new();
            for mut region in found {
                region.requests.push(request.clone());
                indices.push(report.regions.len());
                report.regions.push(region);
            }
            seen.insert(&query, (ra, aa, rb, ab));
            shared.insert((ra, aa), indices);
        }
    }
    report.checks = solver.checks;
    merge_same(&mut report.regions);
    Ok(report)
}

/// The query "the decisions on this request differ" (as definitions and
/// `differ`), the two decisions, and the atoms of effect parameters.
fn diff_query(
    u: &mut Universe,
    (pa, pb): (&crate::compile::Program, &crate::compile::Program),
    (ra, aa): (RoleId, ActionId),
    (rb, ab): (RoleId, ActionId),
) -> Result<(String, SymDecision, SymDecision, Vec<DiffAtom>), VerifyError> {
    u.begin_request();
    let (da, _) = Encoder::new(u, pa, 0, (ra, aa))
        .with_atoms()
        .decision(&[])?;
    let (db, _) = Encoder::new(u, pb, 1, (rb, ab))
        .with_atoms()
        .decision(&[])?;
    let (differ, param_atoms) = difference((pa, pb), &da, &db);
    let query = format!(
        "{}{}(define-fun differ () Bool {differ})\n",
        da.defs, db.defs
    );
    Ok((query, da, db, param_atoms))
}

/// Regions with the same conditions and changes are one region for more
/// requests.
fn merge_same(regions: &mut Vec<Region>) {
    let sorted = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        v
    };
    let mut out: Vec<Region> = Vec::new();
    for r in regions.drain(..) {
        match out.iter_mut().find(|o| {
            sorted(&o.conditions) == sorted(&r.conditions)
                && o.changes == r.changes
                && o.exact == r.exact
        }) {
            Some(o) => {
                for q in r.requests {
                    if !o.requests.contains(&q) {
                        o.requests.push(q);
                    }
                }
                o.more |= r.more;
            }
            None => out.push(r),
        }
    }
    *regions = out;
}

fn internal(what: &str) -> VerifyError {
    VerifyError::Unconfirmed(format!("inconsistent policy ({what})"))
}

#[allow(clippy::too_many_arguments)]
fn regions_of(
    solver: &mut Solver,
    u: &Universe,
    (old, new): (&Policy, &Policy),
    query: &str,
    (da, db, param_atoms): (&SymDecision, &SymDecision, Vec<DiffAtom>),
    ((ra, aa), (rb, ab)): ((RoleId, ActionId), (RoleId, ActionId)),
) -> Result<Vec<Region>, VerifyError> {
    let mut found: Vec<super::encode::Atom> = Vec::new();
    for a in da.atoms.iter().chain(&db.atoms) {
        if !found.iter().any(|x| x.term == a.term) {
            found.push(a.clone());
        }
    }
    // One text for two different terms: a name the policies define
    // differently. Those atoms are written out in full.
    let texts: Vec<String> = found.iter().map(|a| a.text.clone()).collect();
    let mut atoms: Vec<DiffAtom> = found
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let clash = texts
                .iter()
                .enumerate()
                .any(|(j, t)| j != i && (*t == a.text || *t == a.negated));
            let (text, negated) = if clash {
                (a.text_inline.clone(), a.negated_inline.clone())
            } else {
                (a.text.clone(), a.negated.clone())
            };
            DiffAtom {
                term: a.term.clone(),
                text,
                negated,
                literal: Literal::Node {
                    side: a.side,
                    node: a.node,
                    holds: true,
                },
                enum_test: a.enum_test.clone(),
            }
        })
        .collect();
    atoms.extend(param_atoms);
    let atom_terms: Vec<String> = atoms.iter().map(|a| a.term.clone()).collect();
    let approximate = da.approximate || db.approximate;
    solver.send("(push 1)\n")?;
    solver.send(query)?;
    let mut regions: Vec<(Region, String)> = Vec::new();
    let mut blocked: Vec<String> = Vec::new();
    loop {
        solver.send("(push 1)\n(assert differ)\n")?;
        for b in &blocked {
            solver.send(&format!("(assert (not {b}))\n"))?;
        }
        if solver.check()? == Sat::Unsat {
            solver.send("(pop 1)\n")?;
            break;
        }
        if regions.len() == MAX_REGIONS_PER_REQUEST {
            solver.send("(pop 1)\n")?;
            if let Some((last, _)) = regions.last_mut() {
                last.more = true;
            }
            break;
        }
        let (values, truths) = super::small_model(solver, u, &atom_terms)?;
        solver.send("(pop 1)\n")?;
        let literal = |i: usize, holds: bool| -> String {
            let t = atom_terms.get(i).cloned().unwrap_or_default();
            if holds { t } else { format!("(not {t})") }
        };
        let mut keep: Vec<(usize, bool)> = truths
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.bool().map(|b| (i, b)))
            .collect();
        // Drop literals while the rest still implies a difference, the
        // last-read first: what remains leans on the states and early
        // rules, the conditions a reader knows best.
        let mut i = keep.len();
        while i > 0 {
            i -= 1;
            let candidate: Vec<(usize, bool)> = keep
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, l)| *l)
                .collect();
            let cube = and_all(candidate.iter().map(|&(a, b)| literal(a, b)));
            solver.send(&format!(
                "(push 1)\n(assert (not differ))\n(assert {cube})\n"
            ))?;
            let implies = solver.check()? == Sat::Unsat;
            solver.send("(pop 1)\n")?;
            if implies {
                keep = candidate;
            }
        }
        let cube = and_all(keep.iter().map(|&(a, b)| literal(a, b)));
        solver.send(&format!(
            "(push 1)\n(assert (not differ))\n(assert {cube})\n"
        ))?;
        let exact = solver.check()? == Sat::Unsat;
        solver.send("(pop 1)\n")?;
        blocked.push(cube.clone());
        let literals: Vec<Literal> = keep
            .iter()
            .filter_map(|&(a, b)| atoms.get(a).map(|x| x.literal.with(b)))
            .collect();
        let conditions = describe_cube(&atoms, &keep);
        let witness = witness(old, new, u, &values, (ra, aa), (rb, ab), approximate)?;
        let (witness, changes) = match witness {
            Some((w, c)) => (Some(w), c),
            None => (None, Vec::new()),
        };
        regions.push((
            Region {
                requests: Vec::new(),
                conditions,
                exact,
                changes,
                witness,
                more: false,
                literals,
            },
            cube,
        ));
    }
    // A region inside another with the same change says nothing new: the
    // cubes are minimal but not unique, and a later one can cover an
    // earlier one.
    let mut dropped = vec![false; regions.len()];
    for i in 0..regions.len() {
        for j in 0..regions.len() {
            if i == j || dropped.get(j) == Some(&true) {
                continue;
            }
            let (Some((ri, ci)), Some((rj, cj))) = (regions.get(i), regions.get(j)) else {
                continue;
            };
            if ri.changes != rj.changes || ri.exact != rj.exact {
                continue;
            }
            solver.send(&format!("(push 1)\n(assert {ci})\n(assert (not {cj}))\n"))?;
            let inside = solver.check()? == Sat::Unsat;
            solver.send("(pop 1)\n")?;
            if inside {
                if let Some(d) = dropped.get_mut(i) {
                    *d = true;
                }
                break;
            }
        }
    }
    solver.send("(pop 1)\n")?;
    let more = regions.last().is_some_and(|(r, _)| r.more);
    let mut kept: Vec<Region> = regions
        .into_iter()
        .zip(dropped)
        .filter(|(_, d)| !d)
        .map(|((r, _), _)| r)
        .collect();
    if let Some(last) = kept.last_mut() {
        last.more |= more;
    }
    Ok(kept)
}

/// A cube's literals as conditions, tests of one enum field joined into
/// one (`status in [active, past_due]`, not two overlapping lists).
fn describe_cube(atoms: &[DiffAtom], keep: &[(usize, bool)]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut fields: Vec<(usize, String, Vec<String>, Vec<bool>)> = Vec::new();
    for &(a, holds) in keep {
        let Some(atom) = atoms.get(a) else {
            continue;
        };
        match &atom.enum_test {
            Some((field, values, allowed)) => {
                let allowed: Vec<bool> = allowed.iter().map(|&x| x == holds).collect();
                match fields
                    .iter_mut()
                    .find(|(_, f, v, _)| f == field && v == values)
                {
                    Some((_, _, _, now)) => {
                        for (n, x) in now.iter_mut().zip(&allowed) {
                            *n &= *x;
                        }
                    }
                    None => {
                        fields.push((out.len(), field.clone(), values.clone(), allowed));
                        out.push(String::new());
                    }
                }
            }
            None => out.push(if holds {
                atom.text.clone()
            } else {
                atom.negated.clone()
            }),
        }
    }
    for (at, field, values, allowed) in fields {
        let names: Vec<&str> = values
            .iter()
            .zip(&allowed)
            .filter(|(_, a)| **a)
            .map(|(v, _)| v.as_str())
            .collect();
        let text = match names.as_slice() {
            [one] => format!("{field} == {one}"),
            _ => format!("{field} in [{}]", names.join(", ")),
        };
        if let Some(slot) = out.get_mut(at) {
            *slot = text;
        }
    }
    dedup(out)
}

fn dedup(v: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in v {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// A policy's decision on an account, or the evaluator's error.
type Decided<'a> = Result<Decision<'a>, String>;

/// Whether a pair of decisions (old, new) is what a witness must show.
type Keep = fn(&Decided<'_>, &Decided<'_>) -> Result<bool, VerifyError>;

/// A policy's decision on an account, or the error with which the
/// evaluator refuses the account (an overflow or an inexact result); any
/// other error is a bug, reported.
fn decided<'a>(
    policy: &'a Policy,
    account: &'a crate::Account,
    (role, action): (RoleId, ActionId),
) -> Result<Decided<'a>, VerifyError> {
    use crate::decide::EvalError;
    match policy.decide(account, &crate::decide::Request { role, action }) {
        Ok(d) => Ok(Ok(d)),
        Err(e @ (EvalError::Overflow | EvalError::Inexact)) => Ok(Err(e.to_string())),
        Err(e) => Err(VerifyError::Unconfirmed(e.to_string())),
    }
}

/// The model as a snapshot both policies accept, with both decisions,
/// which must differ, or on which one or both policies cannot be evaluated
/// (an overflow or an inexact result: the solver computes exactly, the
/// evaluator refuses; a finding, reported with the evaluator's error).
/// `None` for a model that exists only through an over-approximation and
/// that the evaluator does not confirm.
#[allow(clippy::too_many_arguments)]
fn witness(
    old: &Policy,
    new: &Policy,
    u: &Universe,
    values: &[super::solver::Sexp],
    (ra, aa): (RoleId, ActionId),
    (rb, ab): (RoleId, ActionId),
    approximate: bool,
) -> Result<Option<(Witness, Vec<Change>)>, VerifyError> {
    let pa = old.program();
    let account = concrete::account(pa, 0, u, values)?;
    let (_, account) = concrete::validated(old, &account)?;
    // Both decisions on `acc`, when the new policy reads it too.
    let both = |acc: &crate::Account, keep: Keep| -> Result<bool, VerifyError> {
        let (json, _) = concrete::validated(old, acc)?;
        let Ok(in_new) = new.snapshot_from_json(&json) else {
            return Ok(false);
        };
        keep(
            &decided(old, acc, (ra, aa))?,
            &decided(new, &in_new, (rb, ab))?,
        )
    };
    let differs = |acc: &crate::Account| {
        both(acc, |x, y| match (x, y) {
            (Ok(x), Ok(y)) => Ok(summary(x)? != summary(y)?),
            _ => Ok(false),
        })
    };
    let refused = |acc: &crate::Account| both(acc, |x, y| Ok(x.is_err() || y.is_err()));
    let account = match concrete::confirmed(old, &account, &differs)? {
        Some(a) => concrete::shrink(old, a, &differs)?,
        None => match concrete::confirmed(old, &account, &refused)? {
            Some(a) => concrete::shrink(old, a, &refused)?,
            None if approximate => return Ok(None),
            None => {
                return Err(VerifyError::Unconfirmed(format!(
                    "a witness for `{}` → `{}` is decided alike by both policies; please report this",
                    super::role_name(pa, ra),
                    super::action_name(pa, aa)
                )));
            }
        },
    };
    let (snapshot, small) = concrete::validated(old, &account)?;
    let in_new = new
        .snapshot_from_json(&snapshot)
        .map_err(|_| internal("a witness the new policy rejects"))?;
    let x = decided(old, &small, (ra, aa))?;
    let y = decided(new, &in_new, (rb, ab))?;
    let changes = match (&x, &y) {
        (Ok(x), Ok(y)) => changes(&summary(x)?, &summary(y)?),
        _ => {
            let said = |d: &Decided<'_>| match d {
                Ok(_) => "decides".to_owned(),
                Err(e) => format!("cannot be evaluated: {e}"),
            };
            vec![Change {
                part: "evaluation",
                old: said(&x),
                new: said(&y),
            }]
        }
    };
    // A decision as `decide` prints it, or the evaluator's error.
    let json = |d: &Decided<'_>| match d {
        Ok(d) => d
            .to_json_pretty()
            .map_err(|e| VerifyError::Unconfirmed(e.to_string())),
        Err(e) => Ok(serde_json::json!({ "error": e }).to_string()),
    };
    Ok(Some((
        Witness {
            role: super::role_name(pa, ra).to_owned(),
            action: super::action_name(pa, aa).to_owned(),
            snapshot,
            old: json(&x)?,
            new: json(&y)?,
        },
        changes,
    )))
}

/// "The two decisions differ", as the `diff` compares them, and the
/// comparisons of effect parameters it made, as atoms: a parameter's value
/// is not a truth value of the policies' conditions, so a region must be
/// able to say "and the amount changes".
fn difference(
    (old, new): (&crate::compile::Program, &crate::compile::Program),
    a: &SymDecision,
    b: &SymDecision,
) -> (String, Vec<DiffAtom>) {
    let mut param_atoms = Vec::new();
    let mut parts = vec![xor(&a.deny, &b.deny)];
    let mut states: Vec<&str> = a.states.iter().map(|(n, _)| n.as_str()).collect();
    for (n, _) in &b.states {
        if !states.contains(&n.as_str()) {
            states.push(n);
        }
    }
    for s in states {
        let of = |d: &SymDecision| {
            d.states
                .iter()
                .find(|(n, _)| n == s)
                .map_or_else(|| "false".to_owned(), |(_, t)| t.clone())
        };
        parts.push(xor(&of(a), &of(b)));
    }
    list_difference(&mut parts, &a.reasons, &b.reasons);
    list_difference(&mut parts, &a.steps, &b.steps);
    list_difference(&mut parts, &a.warnings, &b.warnings);
    let ea: Vec<(String, String)> = a
        .effects
        .iter()
        .map(|e| (e.code.clone(), e.when.clone()))
        .collect();
    let eb: Vec<(String, String)> = b
        .effects
        .iter()
        .map(|e| (e.code.clone(), e.when.clone()))
        .collect();
    list_difference(&mut parts, &ea, &eb);
    // An effect both give, with a parameter of another value (the first
    // rule with the code that fires gives it).
    let mut codes: Vec<&str> = a.effects.iter().map(|e| e.code.as_str()).collect();
    codes.dedup();
    for code in codes {
        let present = |d: &SymDecision| {
            or_all(
                d.effects
                    .iter()
                    .filter(|e| e.code == code)
                    .map(|e| e.when.clone()),
            )
        };
        let (pa, pb) = (present(a), present(b));
        if pb == "false" {
            continue;
        }
        let names: Vec<&str> = a
            .effects
            .iter()
            .filter(|e| e.code == code)
            .flat_map(|e| e.params.iter().map(|p| p.name.as_str()))
            .chain(
                b.effects
                    .iter()
                    .filter(|e| e.code == code)
                    .flat_map(|e| e.params.iter().map(|p| p.name.as_str())),
            )
            .collect();
        let mut done: Vec<&str> = Vec::new();
        for name in names {
            if done.contains(&name) {
                continue;
            }
            done.push(name);
            let value = |d: &SymDecision| -> Option<String> {
                let mut chain: Option<String> = None;
                let firing: Vec<(&String, Option<&String>)> = d
                    .effects
                    .iter()
                    .filter(|e| e.code == code)
                    .map(|e| {
                        (
                            &e.when,
                            e.params.iter().find(|p| p.name == name).map(|p| &p.value),
                        )
                    })
                    .collect();
                for (when, v) in firing.into_iter().rev() {
                    let v = v?.clone();
                    chain = Some(match chain {
                        None => v,
                        Some(rest) => format!("(ite {when} {v} {rest})"),
                    });
                }
                chain
            };
            let both = format!("(and {pa} {pb})");
            match (value(a), value(b)) {
                (Some(va), Some(vb)) => {
                    let differs = format!("(not (= {va} {vb}))");
                    parts.push(format!("(and {both} {differs})"));
                    let node = |d: &SymDecision| {
                        d.effects
                            .iter()
                            .filter(|e| e.code == code)
                            .find_map(|e| e.params.iter().find(|p| p.name == name))
                            .map(|p| p.node)
                    };
                    if let (Some(na), Some(nb)) = (node(a), node(b)) {
                        let (ta, tb) = (
                            super::describe::node(old, na, true),
                            super::describe::node(new, nb, true),
                        );
                        param_atoms.push(DiffAtom {
                            term: differs,
                            text: format!("{ta} != {tb}"),
                            negated: format!("{ta} == {tb}"),
                            literal: Literal::Differ {
                                old: na,
                                new: nb,
                                holds: true,
                            },
                            enum_test: None,
                        });
                    }
                }
                _ => parts.push(both),
            }
        }
    }
    (or_all(parts), param_atoms)
}

/// An atom of a region's description.
#[derive(Debug, Clone)]
struct DiffAtom {
    term: String,
    text: String,
    negated: String,
    /// What it reads, with `holds: true`.
    literal: Literal,
    /// A test of an enum field: field, values, which make it true.
    enum_test: Option<(String, Vec<String>, Vec<bool>)>,
}

/// One condition of a region, as the evaluator checks it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Literal {
    /// A condition of one policy (0: old, 1: new) holds, or not.
    Node {
        side: usize,
        node: crate::compile::NodeId,
        holds: bool,
    },
    /// An effect parameter's expressions in the old and the new policy
    /// differ (or not).
    Differ {
        old: crate::compile::NodeId,
        new: crate::compile::NodeId,
        holds: bool,
    },
}

impl Literal {
    fn with(self, holds: bool) -> Literal {
        match self {
            Literal::Node { side, node, .. } => Literal::Node { side, node, holds },
            Literal::Differ { old, new, .. } => Literal::Differ { old, new, holds },
        }
    }
}

fn xor(a: &str, b: &str) -> String {
    if a == b {
        "false".to_owned()
    } else {
        format!("(xor {a} {b})")
    }
}

/// Differences between two ordered lists of codes, each slot present under
/// a condition: a code in one and not the other, a code given a different
/// number of times, or two codes in another order.
fn list_difference(parts: &mut Vec<String>, a: &[(String, String)], b: &[(String, String)]) {
    let mut codes: Vec<&str> = Vec::new();
    for (c, _) in a.iter().chain(b) {
        if !codes.contains(&c.as_str()) {
            codes.push(c);
        }
    }
    let present = |l: &[(String, String)], code: &str| {
        or_all(l.iter().filter(|(c, _)| c == code).map(|(_, t)| t.clone()))
    };
    let count = |l: &[(String, String)], code: &str| {
        let terms: Vec<String> = l
            .iter()
            .filter(|(c, _)| c == code)
            .map(|(_, t)| format!("(ite {t} 1 0)"))
            .collect();
        match terms.len() {
            0 => "0".to_owned(),
            1 => terms.concat(),
            _ => format!("(+ {})", terms.join(" ")),
        }
    };
    let first = |l: &[(String, String)], code: &str| {
        let mut chain = "-1".to_owned();
        for (i, (c, t)) in l.iter().enumerate().rev() {
            if c == code {
                chain = format!("(ite {t} {i} {chain})");
            }
        }
        chain
    };
    for &c in &codes {
        parts.push(xor(&present(a, c), &present(b, c)));
        let (ca, cb) = (count(a, c), count(b, c));
        if ca != cb {
            parts.push(format!("(not (= {ca} {cb}))"));
        }
    }
    for (i, &x) in codes.iter().enumerate() {
        for &y in codes.iter().skip(i + 1) {
            let before = |l: &[(String, String)]| {
                format!(
                    "(and {} {} (< {} {}))",
                    present(l, x),
                    present(l, y),
                    first(l, x),
                    first(l, y)
                )
            };
            parts.push(xor(&before(a), &before(b)));
        }
    }
}
