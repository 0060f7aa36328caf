//! Proofs over every account: `tollgate verify` proves a policy's
//! assertions, `tollgate diff --exhaustive` finds every kind of account two
//! policies decide differently.
//!
//! Each question about one request (a role and an action) is a formula
//! over the account's variables ([`encode`]) handed to an SMT solver
//! ([`solver`]). An unsatisfiable formula is a proof; a model is turned
//! into a snapshot ([`concrete`]) and decided again by the real evaluator
//! before anything is printed, so a wrong counterexample is an internal
//! error, never an answer. `docs/verification.md` gives the encoding.

pub mod concrete;
pub mod describe;
pub mod diff;
pub mod encode;
pub mod lints;
pub mod solver;

use std::time::Duration;

use crate::Policy;
use crate::compile::{ActionId, Claim, Fact, Program, RoleId};
use encode::{Encoder, SymDecision, Universe, and_all, or_all};
use solver::{Sat, Solver, SolverError};

/// Most regions listed for one request by `diff --exhaustive`; past it the
/// request is marked as having more. Each region costs a few solver calls
/// per atom, and a reader needs the first few to see the change.
pub const MAX_REGIONS_PER_REQUEST: usize = 16;

/// Why verifying could not finish.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Solver(#[from] SolverError),
    #[error(transparent)]
    Encode(#[from] encode::EncodeError),
    /// A counterexample or witness that the evaluator does not confirm.
    #[error("internal error: {0}")]
    Unconfirmed(String),
}

/// What became of one assertion.
#[derive(Debug)]
pub enum Verdict {
    /// It holds on every account, for every request it covers.
    Proven,
    /// It fails on this account.
    Refuted(Box<Counterexample>),
    /// The solver found an account only through an over-approximation
    /// (an aggregate over grants, calendar months) and the evaluator does
    /// not confirm it: neither proven nor refuted.
    Unknown(String),
    /// The solver, computing exactly, found the assertion failing on an
    /// account the evaluator cannot evaluate the policy on (a result too
    /// large, or needing more digits than a decimal holds): neither proven
    /// nor refuted, and `tollgate decide` exits 2 on that account.
    Unevaluable(Box<Unevaluable>),
}

/// An account and request on which the evaluator refuses to decide, where
/// the solver found an assertion failing.
#[derive(Debug)]
pub struct Unevaluable {
    pub role: String,
    pub action: String,
    /// The snapshot, as JSON that `tollgate decide` reads.
    pub snapshot: String,
    /// The evaluator's error on it.
    pub error: String,
}

/// An account and request on which an assertion fails, confirmed by the
/// evaluator.
#[derive(Debug)]
pub struct Counterexample {
    pub role: String,
    pub action: String,
    /// The snapshot, as JSON that `tollgate decide` reads.
    pub snapshot: String,
    /// The decision the evaluator makes on it, as `decide` prints it.
    pub decision: String,
}

/// One assertion's result.
#[derive(Debug)]
pub struct AssertionResult {
    pub name: String,
    pub location: String,
    pub line: u32,
    pub column: u32,
    /// Requests (role × action) it covers.
    pub requests: usize,
    pub verdict: Verdict,
}

/// Every assertion of a policy, in policy order.
pub fn verify(policy: &Policy, limit: Duration) -> Result<Vec<AssertionResult>, VerifyError> {
    let p = policy.program();
    let mut out = Vec::new();
    if p.assertions.is_empty() {
        return Ok(out);
    }
    let mut universe = Universe::new(&[p])?;
    let mut solver = Solver::start(limit)?;
    solver.send(&universe.declarations())?;
    // The same query text has the same answer: most requests share rules.
    let mut proven: Seen<(usize, RoleId, ActionId)> = Seen::new();
    for (index, a) in p.assertions.iter().enumerate() {
        let at = p.source.line_col(a.span.start);
        let (line, column) = (at.line, at.col);
        let mut verdict = Verdict::Proven;
        'requests: for &role in &a.roles {
            for &action in &a.actions {
                solver.in_time()?;
                let (query, approximate) = assertion_query(&mut universe, p, a, role, action)?;
                let again =
                    |&(i, r, x): &(usize, RoleId, ActionId)| -> Result<String, VerifyError> {
                        let a = p
                            .assertions
                            .get(i)
                            .ok_or(VerifyError::Unconfirmed("an assertion".into()))?;
                        Ok(assertion_query(&mut universe, p, a, r, x)?.0)
                    };
                if proven.find(&query, again)?.is_some() {
                    continue;
                }
                solver.send("(push 1)\n")?;
                solver.send(&query)?;
                let answer = solver.check()?;
                if answer == Sat::Unsat {
                    solver.send("(pop 1)\n")?;
                    proven.insert(&query, (index, role, action));
                    continue;
                }
                let (values, _) = small_model(&mut solver, &universe, &[])?;
                solver.send("(pop 1)\n")?;
                let confirmed =
                    concrete::counterexample(policy, &universe, &values, role, action, a)?;
                match confirmed {
                    concrete::Replayed::Confirmed(c) => {
                        verdict = Verdict::Refuted(Box::new(c));
                        break 'requests;
                    }
                    // An account the policy cannot be evaluated on is a
                    // finding, not a bug; another request may still refute
                    // the assertion outright.
                    concrete::Replayed::Refused(u) => {
                        if !matches!(verdict, Verdict::Unevaluable(_)) {
                            verdict = Verdict::Unevaluable(Box::new(u));
                        }
                    }
                    concrete::Replayed::NotConfirmed if approximate => {
                        if matches!(verdict, Verdict::Proven) {
                            verdict = Verdict::Unknown(format!(
                                "the solver's counterexample for `{}` → `{}` relies on an approximation (a count or sum over grants, calendar months, a restricted settlement or a product of two quantities), and the evaluator does not confirm it",
                                role_name(p, role),
                                action_name(p, action)
                            ));
                        }
                    }
                    concrete::Replayed::NotConfirmed => {
                        return Err(VerifyError::Unconfirmed(format!(
                            "the counterexample to `{}` for `{}` → `{}` does not reproduce in the evaluator; please report this",
                            a.name,
                            role_name(p, role),
                            action_name(p, action)
                        )));
                    }
                }
            }
        }
        out.push(AssertionResult {
            name: a.name.clone(),
            location: a.location.clone(),
            line,
            column,
            requests: a.roles.len() * a.actions.len(),
            verdict,
        });
    }
    Ok(out)
}

/// The query "the assertion fails for this request": its text, and whether
/// the encoding over-approximates.
fn assertion_query(
    universe: &mut Universe,
    p: &Program,
    a: &crate::compile::Assertion,
    role: RoleId,
    action: ActionId,
) -> Result<(String, bool), VerifyError> {
    let conditions: Vec<_> = a.when.into_iter().collect();
    universe.begin_request();
    let (d, when) = Encoder::new(universe, p, 0, (role, action)).decision(&conditions)?;
    let when = when.into_iter().next().unwrap_or_else(|| "true".to_owned());
    let query = format!(
        "{}(assert {})\n(assert (not {}))\n",
        d.defs,
        when,
        claim_term(&a.claim, &d, p)
    );
    Ok((query, d.approximate))
}

/// The model of the last satisfiable check, made small where it can be:
/// totals and decimal fields of at most a million credits, else of one
/// amount's limit, else as the solver found them. Call right after a
/// `sat`, inside the query's scope.
pub(crate) fn small_model(
    solver: &mut Solver,
    u: &Universe,
    extra: &[String],
) -> Result<(Vec<solver::Sexp>, Vec<solver::Sexp>), VerifyError> {
    let bounds = [
        (1_000_000, true),
        (1_000_000, false),
        (i128::from(crate::amount::MAX_WHOLE), false),
    ];
    for (whole, pin_now) in bounds {
        solver.send(&format!("(push 1)\n(assert {})\n", u.small(whole, pin_now)))?;
        if solver.check()? == Sat::Sat {
            let values = solver.values(&u.model_terms())?;
            let extra = solver.values(extra)?;
            solver.send("(pop 1)\n")?;
            return Ok((values, extra));
        }
        solver.send("(pop 1)\n")?;
    }
    solver.check()?;
    Ok((solver.values(&u.model_terms())?, solver.values(extra)?))
}

/// The assertions the evaluator sees fail on `account`, as `name role
/// action`: for testing what `verify` proved against decisions.
pub fn violations(policy: &Policy, account: &crate::Account) -> Result<Vec<String>, VerifyError> {
    let p = policy.program();
    let mut out = Vec::new();
    for a in &p.assertions {
        for &role in &a.roles {
            for &action in &a.actions {
                if concrete::fails(policy, account, role, action, a)? {
                    out.push(format!(
                        "{} {} {}",
                        a.name,
                        role_name(p, role),
                        action_name(p, action)
                    ));
                }
            }
        }
    }
    Ok(out)
}

/// Queries already answered, held as a hash and the key that built each:
/// a policy of many requests would hold gigabytes of query text, and most
/// requests share one. A hit is confirmed by building the key's text again
/// and comparing, so a hash collision costs time, never a wrong answer.
pub(crate) struct Seen<K> {
    buckets: std::collections::HashMap<u64, Vec<K>>,
}

impl<K: Clone> Seen<K> {
    pub(crate) fn new() -> Seen<K> {
        Seen {
            buckets: std::collections::HashMap::new(),
        }
    }

    fn hash(text: &str) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        text.hash(&mut h);
        h.finish()
    }

    /// The key of an earlier query with this text, if any.
    pub(crate) fn find<E>(
        &self,
        text: &str,
        mut rebuild: impl FnMut(&K) -> Result<String, E>,
    ) -> Result<Option<K>, E> {
        if let Some(keys) = self.buckets.get(&Self::hash(text)) {
            for k in keys {
                if rebuild(k)? == text {
                    return Ok(Some(k.clone()));
                }
            }
        }
        Ok(None)
    }

    pub(crate) fn insert(&mut self, text: &str, key: K) {
        self.buckets.entry(Self::hash(text)).or_default().push(key);
    }
}

pub(crate) fn role_name(p: &Program, r: RoleId) -> &str {
    p.role(r).map_or("?", |r| r.name.as_str())
}

pub(crate) fn action_name(p: &Program, a: ActionId) -> &str {
    p.action(a).map_or("?", |a| a.name.as_str())
}

/// The claim as a term over the decision's terms.
fn claim_term(c: &Claim, d: &SymDecision, p: &Program) -> String {
    match c {
        Claim::Fact(f) => fact_term(f, d, p),
        Claim::Not(a) => format!("(not {})", claim_term(a, d, p)),
        Claim::And(a, b) => format!("(and {} {})", claim_term(a, d, p), claim_term(b, d, p)),
        Claim::Or(a, b) => format!("(or {} {})", claim_term(a, d, p), claim_term(b, d, p)),
        Claim::Implies(a, b) => format!("(=> {} {})", claim_term(a, d, p), claim_term(b, d, p)),
    }
}

fn with_code<'a>(
    slots: &'a [(String, String)],
    code: &'a str,
) -> impl Iterator<Item = String> + 'a {
    slots
        .iter()
        .filter(move |(c, _)| c == code)
        .map(|(_, t)| t.clone())
}

fn step_code(p: &Program, id: crate::compile::StepId) -> &str {
    p.step(id).map_or("", |s| s.code.as_str())
}

fn fact_term(f: &Fact, d: &SymDecision, p: &Program) -> String {
    match f {
        Fact::Allow => format!("(not {})", d.deny),
        Fact::Deny => d.deny.clone(),
        Fact::Reason(code) => or_all(with_code(&d.reasons, code)),
        Fact::Permitted => d.permitted.to_string(),
        Fact::State(id) => d
            .states
            .get(id.index())
            .map_or_else(|| "false".to_owned(), |(_, t)| t.clone()),
        Fact::Step(id) => or_all(with_code(&d.steps, step_code(p, *id))),
        Fact::StepsOnly(ids) => {
            let allowed: Vec<&str> = ids.iter().map(|&i| step_code(p, i)).collect();
            and_all(
                d.steps
                    .iter()
                    .filter(|(c, _)| !allowed.contains(&c.as_str()))
                    .map(|(_, t)| format!("(not {t})")),
            )
        }
        Fact::SomeStep => or_all(d.steps.iter().map(|(_, t)| t.clone())),
        Fact::Warning(code) => or_all(with_code(&d.warnings, code)),
        Fact::SomeWarning => or_all(d.warnings.iter().map(|(_, t)| t.clone())),
        Fact::Effect(code) => or_all(
            d.effects
                .iter()
                .filter(|e| &e.code == code)
                .map(|e| e.when.clone()),
        ),
        Fact::SomeEffect => or_all(d.effects.iter().map(|e| e.when.clone())),
    }
}

/// Whether a decision the evaluator made satisfies a claim.
pub(crate) fn claim_holds(
    c: &Claim,
    d: &crate::Decision<'_>,
    p: &Program,
    permitted: bool,
) -> bool {
    match c {
        Claim::Fact(f) => fact_holds(f, d, p, permitted),
        Claim::Not(a) => !claim_holds(a, d, p, permitted),
        Claim::And(a, b) => claim_holds(a, d, p, permitted) && claim_holds(b, d, p, permitted),
        Claim::Or(a, b) => claim_holds(a, d, p, permitted) || claim_holds(b, d, p, permitted),
        Claim::Implies(a, b) => !claim_holds(a, d, p, permitted) || claim_holds(b, d, p, permitted),
    }
}

fn fact_holds(f: &Fact, d: &crate::Decision<'_>, p: &Program, permitted: bool) -> bool {
    use crate::Outcome;
    match f {
        Fact::Allow => d.outcome() == Outcome::Allow,
        Fact::Deny => d.outcome() == Outcome::Deny,
        Fact::Reason(code) => d.reason_codes().any(|c| c == code),
        Fact::Permitted => permitted,
        Fact::State(id) => p
            .states
            .get(id.index())
            .is_some_and(|s| s.name == d.state()),
        Fact::Step(id) => d.next_step_codes().any(|c| c == step_code(p, *id)),
        Fact::StepsOnly(ids) => d
            .next_step_codes()
            .all(|c| ids.iter().any(|&i| step_code(p, i) == c)),
        Fact::SomeStep => d.next_step_codes().next().is_some(),
        Fact::Warning(code) => d.warning_codes().any(|c| c == code),
        Fact::SomeWarning => d.warning_codes().next().is_some(),
        Fact::Effect(code) => d.effect_codes().any(|c| c == code),
        Fact::SomeEffect => d.effect_codes().next().is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::{Assertion, StepId};

    fn ampere_with(claims: Vec<(&str, Vec<&str>, Vec<&str>, Claim)>) -> Policy {
        let text = include_str!("../policies/ampere.policy");
        let mut policy = Policy::from_source("ampere.policy", text).unwrap();
        let p = policy.program_mut().unwrap();
        p.assertions.clear();
        for (name, roles, actions, claim) in claims {
            let roles = if roles.is_empty() {
                (0..p.roles.len())
                    .map(|i| RoleId::from_index(i).unwrap())
                    .collect()
            } else {
                roles.iter().map(|r| p.role_by_name(r).unwrap()).collect()
            };
            let actions = if actions.is_empty() {
                (0..p.actions.len())
                    .map(|i| ActionId::from_index(i).unwrap())
                    .collect()
            } else {
                actions
                    .iter()
                    .map(|a| p.action_by_name(a).unwrap())
                    .collect()
            };
            p.assertions.push(Assertion {
                name: name.to_owned(),
                roles,
                actions,
                when: None,
                claim,
                span: crate::span::Span::new(0, 0),
                location: "ampere.policy:1:1".to_owned(),
            });
        }
        policy
    }

    fn step(p: &Policy, code: &str) -> StepId {
        let i = (0..200)
            .find(|&i| {
                p.program()
                    .step(StepId::from_index(i).unwrap())
                    .is_some_and(|s| s.code == code)
            })
            .unwrap();
        StepId::from_index(i).unwrap()
    }

    #[test]
    fn proves_and_refutes_on_ampere() {
        let probe = ampere_with(vec![]);
        let ask = step(&probe, "ask_billing_admin");
        let ask_owner = step(&probe, "ask_owner");
        let buy = step(&probe, "buy_credits");
        let policy = ampere_with(vec![
            (
                "members_only_ask",
                vec!["member"],
                vec![],
                Claim::Fact(Fact::StepsOnly(vec![ask, ask_owner])),
            ),
            (
                "free_is_free",
                vec![],
                vec!["view_history", "browse_dashboard"],
                Claim::Fact(Fact::Allow),
            ),
            (
                "owners_never_buy",
                vec!["owner"],
                vec!["send_message"],
                Claim::Not(Box::new(Claim::Fact(Fact::Step(buy)))),
            ),
        ]);
        let results = verify(&policy, Duration::from_secs(30)).unwrap();
        assert!(
            matches!(results[0].verdict, Verdict::Proven),
            "{:?}",
            results[0]
        );
        assert!(
            matches!(results[1].verdict, Verdict::Proven),
            "{:?}",
            results[1]
        );
        let Verdict::Refuted(c) = &results[2].verdict else {
            panic!("{:?}", results[2]);
        };
        assert!(c.decision.contains("buy_credits"), "{}", c.decision);
        eprintln!("{}\n{}", c.snapshot, c.decision);
    }

    /// A code and when it is given.
    type Slot = (String, String);

    /// The account's values as the encoding's variables.
    fn pin(u: &mut Universe, p: &Program, a: &crate::Account) -> String {
        use crate::snapshot::FieldValue;
        let nanos = |t: crate::Timestamp| {
            i128::from(t.unix_seconds()) * 1_000_000_000 + i128::from(t.nanos())
        };
        let micros = |d: rust_decimal::Decimal| crate::amount::micros(d).unwrap();
        let mut out = vec![format!("(= now {})", nanos(a.now))];
        let id = u.intern(encode::Ns::Text, a.id.as_deref().unwrap_or(""));
        out.push(format!("(= acct {id})"));
        for i in 0..u.fields.len() {
            let (slot, base) = (u.fields[i].slots[0].unwrap(), u.fields[i].base);
            let value = match &a.fields[slot.index()] {
                FieldValue::Absent => {
                    out.push(format!("(not f{i}p)"));
                    continue;
                }
                FieldValue::Bool(b) => b.to_string(),
                FieldValue::Decimal(d) => micros(*d).to_string(),
                FieldValue::Time(t) => nanos(*t).to_string(),
                FieldValue::Duration(s) => s.to_string(),
                FieldValue::Text(t) => u.intern(encode::Ns::Text, t).to_string(),
                FieldValue::Enum(e) => {
                    let crate::lang::Base::Enum(r) = base else {
                        panic!()
                    };
                    let name = p.enum_value(r, *e).unwrap().to_owned();
                    u.intern(encode::Ns::Value, &name).to_string()
                }
            };
            out.push(format!("f{i}p (= f{i} {value})"));
        }
        for (k, kind) in u.credit_kinds.iter().enumerate() {
            let local = kind.index[0].unwrap();
            let (mut open, mut expired, mut granted, mut granted_expired) =
                (0i128, 0i128, 0i128, 0i128);
            for g in a.grants.iter().filter(|g| g.kind == local) {
                if g.expires_at.is_some_and(|e| e <= a.now) {
                    expired += micros(g.remaining);
                    granted_expired += micros(g.amount);
                } else {
                    open += micros(g.remaining);
                    granted += micros(g.amount);
                }
            }
            out.push(format!(
                "(= n{k} {open}) (= e{k} {expired}) (= g{k} {granted}) (= x{k} {granted_expired})"
            ));
        }
        for (j, kind) in u.debt_kinds.iter().enumerate() {
            let local = kind.index[0].unwrap();
            let owed: i128 = a
                .debts
                .iter()
                .filter(|d| d.kind == local)
                .map(|d| micros(d.amount))
                .sum();
            out.push(format!("(= d{j} {owed})"));
        }
        format!("(and {})", out.join(" "))
    }

    /// A random snapshot for `p`, with values near the policies' edges.
    fn random_account(p: &Program, rng: &mut crate::fuzz_rng::Rng) -> String {
        use crate::lang::Base;
        const AMOUNTS: &[&str] = &[
            "0",
            "0.000001",
            "1",
            "5",
            "10",
            "20",
            "25",
            "99.999999",
            "100",
            "100.000001",
            "200",
            "500",
            "1000",
        ];
        const TIMES: &[&str] = &[
            "2026-05-01T00:00:00Z",
            "2026-06-01T00:00:00Z",
            "2026-06-01T00:00:00.5Z",
            "2026-07-01T00:00:00Z",
        ];
        let mut doc = serde_json::json!({ "now": "2026-06-01T00:00:00Z" });
        if rng.below(2) == 0 {
            doc["account"] = (*rng.pick(&["org_1", "acme"])).into();
        }
        let mut open_sum = rust_decimal::Decimal::ZERO;
        let grants: Vec<serde_json::Value> = (0..rng.below(4))
            .map(|i| {
                let a = *rng.pick(AMOUNTS);
                // Sometimes more was granted than remains.
                let granted = if rng.below(2) == 0 { a.to_owned() } else {
                    (a.parse::<rust_decimal::Decimal>().unwrap() * rust_decimal::Decimal::from(5)).normalize().to_string()
                };
                let mut g = serde_json::json!({
                    "id": format!("g{i}"), "kind": rng.pick(&p.credit_kinds).clone(), "amount": granted,
                    "remaining": a, "granted_at": "2026-01-01T00:00:00Z",
                });
                if rng.below(3) == 0 {
                    g["expires_at"] = (*rng.pick(TIMES)).into();
                }
                let open = g["expires_at"]
                    .as_str()
                    .is_none_or(|e| e > "2026-06-01T00:00:00Z");
                if open {
                    open_sum += a.parse::<rust_decimal::Decimal>().unwrap();
                }
                g
            })
            .collect();
        doc["grants"] = grants.into();
        for f in &p.fields {
            if (f.optional || f.default.is_some()) && rng.below(4) == 0 {
                continue;
            }
            let v: serde_json::Value = match f.ty {
                Base::Bool => (rng.below(2) == 0).into(),
                // Often exactly the open credits: `usable <= x` on its edge.
                Base::Decimal if rng.below(3) == 0 => open_sum.normalize().to_string().into(),
                Base::Decimal => (*rng.pick(AMOUNTS)).into(),
                Base::Time => (*rng.pick(TIMES)).into(),
                Base::Duration => (*rng.pick(&["0s", "1h", "7d", "30d"])).into(),
                Base::Text => (*rng.pick(&["team", "pro", "free", ""])).into(),
                Base::Enum(r) => {
                    let crate::lang::EnumRef::User(e) = r else {
                        continue;
                    };
                    rng.pick(&p.enums[e.index()].values).clone().into()
                }
                Base::Months => continue,
            };
            let mut node = &mut doc;
            for (i, part) in f.path.iter().enumerate() {
                if i + 1 == f.path.len() {
                    node[part.as_str()] = v.clone();
                } else {
                    if node.get(part.as_str()).is_none() {
                        node[part.as_str()] = serde_json::json!({});
                    }
                    node = &mut node[part.as_str()];
                }
            }
        }
        let debts: Vec<serde_json::Value> = (0..rng.below(3))
            .map(|i| {
                serde_json::json!({
                    "id": format!("d{i}"), "kind": rng.pick(&p.debt_kinds).clone(),
                    "amount": *rng.pick(&AMOUNTS[1..]), "created_at": "2026-05-01T00:00:00Z",
                })
            })
            .collect();
        doc["debts"] = debts.into();
        doc.to_string()
    }

    /// The encoding and the evaluator agree: on random accounts of every
    /// shipped policy, for every request, the solver finds the encoded
    /// decision equal, part by part, to the one the evaluator makes.
    #[test]
    fn the_encoding_decides_as_the_evaluator_does() {
        let mut rng = crate::fuzz_rng::Rng(0x5eed_0016);
        for name in ["ampere", "api_platform", "messaging"] {
            let mut compared = 0;
            let path = format!("{}/policies/{name}.policy", env!("CARGO_MANIFEST_DIR"));
            let policy = Policy::from_file(&path).unwrap();
            let p = policy.program();
            let mut u = Universe::new(&[p]).unwrap();
            let mut solver = Solver::start(Duration::from_secs(120)).unwrap();
            solver.send(&u.declarations()).unwrap();
            for _ in 0..40 {
                let json = random_account(p, &mut rng);
                let account = policy.snapshot_from_json(&json).unwrap();
                let pinned = pin(&mut u, p, &account);
                for ri in 0..p.roles.len() {
                    for ai in 0..p.actions.len() {
                        let (role, action) = (
                            RoleId::from_index(ri).unwrap(),
                            ActionId::from_index(ai).unwrap(),
                        );
                        u.begin_request();
                        let (d, _) = Encoder::new(&mut u, p, 0, (role, action))
                            .decision(&[])
                            .unwrap();
                        let real = policy
                            .decide(&account, &crate::decide::Request { role, action })
                            .unwrap();
                        let mut facts = vec![format!(
                            "(= {} {})",
                            d.deny,
                            real.outcome() == crate::Outcome::Deny
                        )];
                        for (state, t) in &d.states {
                            facts.push(format!("(= {t} {})", real.state() == state));
                        }
                        let lists: [(&[Slot], Vec<&str>); 3] = [
                            (&d.reasons, real.reason_codes().collect()),
                            (&d.steps, real.next_step_codes().collect()),
                            (&d.warnings, real.warning_codes().collect()),
                        ];
                        for (slots, codes) in lists {
                            for (code, _) in slots {
                                facts.push(format!(
                                    "(= {} {})",
                                    or_all(with_code(slots, code)),
                                    codes.contains(&code.as_str())
                                ));
                            }
                        }
                        let effects: Vec<&str> = real.effect_codes().collect();
                        for e in &d.effects {
                            let any = or_all(
                                d.effects
                                    .iter()
                                    .filter(|x| x.code == e.code)
                                    .map(|x| x.when.clone()),
                            );
                            facts.push(format!("(= {any} {})", effects.contains(&e.code.as_str())));
                        }
                        let facts = format!("(and {})", facts.join(" "));
                        let mut ask = |claim: &str| {
                            solver
                                .send(&format!(
                                    "(push 1)\n{}(assert {pinned})\n(assert {claim})\n",
                                    d.defs
                                ))
                                .unwrap();
                            let answer = solver.check().unwrap();
                            solver.send("(pop 1)\n").unwrap();
                            answer
                        };
                        let request = format!(
                            "{name}: {} → {}",
                            role_name(p, role),
                            action_name(p, action)
                        );
                        // Sound: the evaluator's decision is one the
                        // encoding allows on this account.
                        assert_eq!(
                            ask(&facts),
                            Sat::Sat,
                            "{request}: the encoding excludes the evaluator's decision on {json}"
                        );
                        // Exact, where nothing is over-approximated: the only one.
                        if !d.approximate {
                            let other = format!("(not {facts})");
                            assert_eq!(
                                ask(&other),
                                Sat::Unsat,
                                "{request}: the encoding allows another decision on {json}"
                            );
                            compared += 1;
                        }
                    }
                }
            }
            // ampere has no count, sum, calendar month or restricted
            // settlement: every request of it is encoded exactly.
            if name == "ampere" {
                assert_eq!(compared, 40 * p.roles.len() * p.actions.len());
            }
        }
    }
}
