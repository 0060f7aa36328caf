//! The evaluator's meaning, written as SMT-LIB 2 terms.
//!
//! An account is a handful of solver variables (the [`Universe`]): `now`,
//! each field's value and presence, and per credit kind the remaining
//! credits that have not expired (`n<k>`) and that have (`e<k>`), per debt
//! kind the amount owed (`d<j>`). Nothing else about an account changes a
//! decision except through an aggregate (`count of grants where ...`),
//! which is encoded as a fresh variable: an over-approximation that keeps
//! proofs sound and marks any counterexample that leans on it for replay.
//! `docs/verification.md` gives the encoding rule by rule.

use std::collections::HashMap;
use std::fmt::Write as _;

use rust_decimal::Decimal;

use crate::compile::{
    ActionId, Audience, Const, FieldId, Node, NodeId, NumOperand, Program, RoleId, Total,
};
use crate::lang::{AggregateOp, Base, BinaryOp, Builtin, EnumRef, ItemField, RuleKind, SourceKind};

/// Millionths per credit: amounts are exact to six places.
const MICROS: i128 = 1_000_000;
/// Nanoseconds per second: times are exact to the nanosecond.
const NANOS: i128 = 1_000_000_000;
/// The first and last second a timestamp may name (years 0–9999).
const MIN_SECONDS: i128 = -62_167_219_200;
const MAX_SECONDS: i128 = 253_402_300_799;

/// Longest term written inline, in bytes; a longer one is defined once
/// and named (see [`Encoder::node`]).
const MAX_INLINE_TERM: usize = 160;

/// Why a policy could not be encoded.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// The two policies read the same snapshot differently.
    #[error("{0}")]
    Incompatible(String),
    /// The compiled policy disagrees with itself: a bug in tollgate.
    #[error("internal error: {0}")]
    Internal(String),
}

fn bug(what: &str) -> EncodeError {
    EncodeError::Internal(format!("the compiled policy is inconsistent ({what})"))
}

/// What an interned id names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ns {
    /// A value of a policy's enum, as the snapshot spells it.
    Value,
    Text,
    Role,
    Action,
    CreditKind,
    DebtKind,
    Status,
}

/// A snapshot field as the solver sees it: one for each dotted path.
#[derive(Debug)]
pub struct UField {
    pub path: String,
    pub base: Base,
    /// The field's slot in each policy, `None` where it is not declared.
    pub slots: [Option<FieldId>; 2],
    /// The snapshot may leave it out (it is optional or has a default in
    /// every policy that declares it).
    pub may_be_absent: bool,
    /// For enum fields, the ids of the values every policy accepts.
    pub values: Vec<i64>,
}

/// A kind of credit or debt: one for each name.
#[derive(Debug)]
pub struct UKind {
    pub name: String,
    /// The kind's index in each policy.
    pub index: [Option<u32>; 2],
}

/// The accounts of one policy, or the accounts two policies both accept.
#[derive(Debug)]
pub struct Universe {
    ids: HashMap<(Ns, String), i64>,
    names: Vec<(Ns, String)>,
    pub fields: Vec<UField>,
    pub credit_kinds: Vec<UKind>,
    pub debt_kinds: Vec<UKind>,
    /// The largest total a kind can hold: every grant or debt a snapshot may
    /// carry, each at the largest amount.
    total_bound: i128,
    /// Fresh variables of the request being encoded that both policies
    /// share, by what they stand for: one `count of grants where ...`
    /// written alike in both is one value, not two unrelated ones.
    shared: HashMap<String, String>,
    /// Whether the policies lock the same kinds under the same conditions,
    /// so that a grant's `status` means the same in both.
    locks_agree: bool,
    /// How many policies (one, or an old and a new).
    policies: usize,
}

impl Universe {
    /// The accounts `programs` all accept (one policy, or an old and a new).
    pub fn new(programs: &[&Program]) -> Result<Universe, EncodeError> {
        let mut u = Universe {
            ids: HashMap::new(),
            names: Vec::new(),
            fields: Vec::new(),
            credit_kinds: Vec::new(),
            debt_kinds: Vec::new(),
            total_bound: (crate::snapshot::MAX_ITEMS as i128)
                * i128::from(crate::amount::MAX_WHOLE)
                * MICROS,
            shared: HashMap::new(),
            policies: programs.len(),
            locks_agree: match programs {
                [a, b] => locks_text(a) == locks_text(b),
                _ => true,
            },
        };
        u.intern(Ns::Text, "");
        for (side, p) in programs.iter().enumerate().take(2) {
            for (k, name) in p.credit_kinds.iter().enumerate() {
                let i = kind_slot(&mut u.credit_kinds, name);
                if let Some(kind) = u.credit_kinds.get_mut(i) {
                    set(&mut kind.index, side, Some(k as u32));
                }
            }
            for (k, name) in p.debt_kinds.iter().enumerate() {
                let i = kind_slot(&mut u.debt_kinds, name);
                if let Some(kind) = u.debt_kinds.get_mut(i) {
                    set(&mut kind.index, side, Some(k as u32));
                }
            }
            for (slot, f) in p.fields.iter().enumerate() {
                let path = f.dotted();
                let values: Vec<i64> = match f.ty {
                    Base::Enum(EnumRef::User(e)) => {
                        let e = p.enums.get(e.index()).ok_or_else(|| bug("enum"))?;
                        e.values.iter().map(|v| u.intern(Ns::Value, v)).collect()
                    }
                    _ => Vec::new(),
                };
                let absent_ok = f.optional || f.default.is_some();
                let id = FieldId::from_index(slot).ok_or_else(|| bug("field slot"))?;
                match u.fields.iter_mut().find(|x| x.path == path) {
                    Some(x) => {
                        if !same_base(x.base, f.ty) {
                            return Err(EncodeError::Incompatible(format!(
                                "the field `{path}` has a different type in each policy, so no snapshot means the same to both"
                            )));
                        }
                        set(&mut x.slots, side, Some(id));
                        x.may_be_absent &= absent_ok;
                        x.values.retain(|v| values.contains(v));
                    }
                    None => {
                        let mut slots = [None, None];
                        set(&mut slots, side, Some(id));
                        u.fields.push(UField {
                            path,
                            base: f.ty,
                            slots,
                            may_be_absent: absent_ok,
                            values,
                        });
                    }
                }
            }
        }
        if programs.len() == 2 {
            for f in &u.fields {
                if f.slots.iter().any(Option::is_none) && !f.may_be_absent {
                    return Err(EncodeError::Incompatible(format!(
                        "the field `{}` is required by one policy and unknown to the other, so no snapshot is valid for both",
                        f.path
                    )));
                }
            }
        }
        Ok(u)
    }

    /// Starts a request: fresh variables are declared anew in its query.
    pub fn begin_request(&mut self) {
        self.shared.clear();
    }

    /// The id of `name` in `ns`, the same for every policy.
    pub fn intern(&mut self, ns: Ns, name: &str) -> i64 {
        if let Some(&id) = self.ids.get(&(ns, name.to_owned())) {
            return id;
        }
        let id = self.names.len() as i64;
        self.ids.insert((ns, name.to_owned()), id);
        self.names.push((ns, name.to_owned()));
        id
    }

    /// What an id names.
    pub fn name(&self, id: i64) -> Option<&(Ns, String)> {
        usize::try_from(id).ok().and_then(|i| self.names.get(i))
    }

    /// The texts the policies compare with, which a counterexample's fresh
    /// texts must avoid.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.names
            .iter()
            .filter(|(ns, _)| *ns == Ns::Text)
            .map(|(_, s)| s.as_str())
    }

    /// The account's variables and the limits of the snapshot format.
    pub fn declarations(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "(declare-const now Int)\n(assert (and (>= now {}) (<= now {})))",
            MIN_SECONDS * NANOS,
            MAX_SECONDS * NANOS + NANOS - 1
        );
        let _ = writeln!(out, "(declare-const acct Int)\n(assert (>= acct 0))");
        for (i, f) in self.fields.iter().enumerate() {
            let sort = if f.base == Base::Bool { "Bool" } else { "Int" };
            let _ = writeln!(out, "(declare-const f{i} {sort})");
            let _ = writeln!(out, "(declare-const f{i}p Bool)");
            let domain = match f.base {
                Base::Decimal => format!(
                    "(and (>= f{i} 0) (<= f{i} {}))",
                    i128::from(crate::amount::MAX_WHOLE) * MICROS
                ),
                Base::Time => format!(
                    "(and (>= f{i} {}) (<= f{i} {}))",
                    MIN_SECONDS * NANOS,
                    MAX_SECONDS * NANOS + NANOS - 1
                ),
                Base::Duration => format!(
                    "(and (>= f{i} 0) (<= f{i} {}))",
                    crate::time::MAX_DURATION_SECONDS
                ),
                Base::Text => format!("(>= f{i} 0)"),
                Base::Enum(_) => or_all(f.values.iter().map(|v| format!("(= f{i} {v})"))),
                Base::Bool | Base::Months => "true".to_owned(),
            };
            let _ = writeln!(out, "(assert {domain})");
            let declared_by_all = f.slots.iter().all(Option::is_some) || self.single();
            if !f.may_be_absent {
                let _ = writeln!(out, "(assert f{i}p)");
            } else if !declared_by_all {
                // A field one policy does not know must stay out of the
                // snapshot, or that policy rejects it.
                let _ = writeln!(out, "(assert (not f{i}p))");
            }
        }
        for (k, kind) in self.credit_kinds.iter().enumerate() {
            let _ = writeln!(
                out,
                "(declare-const n{k} Int)\n(declare-const e{k} Int)\n(declare-const g{k} Int)\n(declare-const x{k} Int)"
            );
            // What was granted is at least what remains.
            let _ = writeln!(
                out,
                "(assert (and (>= g{k} n{k}) (<= g{k} {b}) (>= x{k} e{k}) (<= x{k} {b})))",
                b = self.total_bound
            );
            let _ = writeln!(
                out,
                "(assert (and (>= n{k} 0) (<= n{k} {b}) (>= e{k} 0) (<= e{k} {b})))",
                b = self.total_bound
            );
            if !self.single() && kind.index.iter().any(Option::is_none) {
                let _ = writeln!(out, "(assert (and (= g{k} 0) (= x{k} 0)))");
            }
        }
        for (j, kind) in self.debt_kinds.iter().enumerate() {
            let _ = writeln!(
                out,
                "(declare-const d{j} Int)\n(assert (and (>= d{j} 0) (<= d{j} {})))",
                self.total_bound
            );
            if !self.single() && kind.index.iter().any(Option::is_none) {
                let _ = writeln!(out, "(assert (= d{j} 0))");
            }
        }
        out
    }

    /// Whether these are one policy's accounts, not two policies'.
    fn single(&self) -> bool {
        self.policies < 2
    }

    /// Bounds under which a model makes a small snapshot: every total at
    /// most `whole` credits, so one grant or debt holds it.
    pub fn small(&self, whole: i128, pin_now: bool) -> String {
        let b = whole * MICROS;
        let mut terms = Vec::new();
        if pin_now {
            // 2026-01-01T00:00:00Z: a counterexample reads better at a
            // plausible instant than at the solver's favourite, year 9999.
            terms.push(format!("(= now {})", 1_767_225_600 * NANOS));
        }
        for k in 0..self.credit_kinds.len() {
            terms.push(format!("(<= g{k} {b}) (<= x{k} {b})"));
        }
        for j in 0..self.debt_kinds.len() {
            terms.push(format!("(<= d{j} {b})"));
        }
        for (i, f) in self.fields.iter().enumerate() {
            if f.base == Base::Decimal {
                terms.push(format!("(<= f{i} {b})"));
            }
        }
        format!("(and true {})", terms.join(" "))
    }

    /// The variables a model must give to build a snapshot.
    pub fn model_terms(&self) -> Vec<String> {
        let mut terms = vec!["now".to_owned(), "acct".to_owned()];
        for i in 0..self.fields.len() {
            terms.push(format!("f{i}"));
            terms.push(format!("f{i}p"));
        }
        for k in 0..self.credit_kinds.len() {
            terms.push(format!("n{k}"));
            terms.push(format!("e{k}"));
            terms.push(format!("g{k}"));
            terms.push(format!("x{k}"));
        }
        for j in 0..self.debt_kinds.len() {
            terms.push(format!("d{j}"));
        }
        terms
    }

    fn field_of(&self, side: usize, slot: FieldId) -> Option<usize> {
        self.fields
            .iter()
            .position(|f| f.slots.get(side).copied().flatten() == Some(slot))
    }

    fn credit_of(&self, side: usize, kind: u32) -> Option<usize> {
        self.credit_kinds
            .iter()
            .position(|k| k.index.get(side).copied().flatten() == Some(kind))
    }

    fn debt_of(&self, side: usize, kind: u32) -> Option<usize> {
        self.debt_kinds
            .iter()
            .position(|k| k.index.get(side).copied().flatten() == Some(kind))
    }
}

/// A policy's locks as text: kinds, condition, what they may settle.
fn locks_text(p: &Program) -> String {
    p.locks
        .iter()
        .map(|l| {
            let kinds: Vec<&str> = p
                .credit_kinds
                .iter()
                .enumerate()
                .filter(|(k, _)| *k < 32 && l.kinds & (1 << k) != 0)
                .map(|(_, n)| n.as_str())
                .collect();
            let settles: Vec<&str> = p
                .debt_kinds
                .iter()
                .enumerate()
                .filter(|(k, _)| *k < 32 && l.may_settle & (1 << k) != 0)
                .map(|(_, n)| n.as_str())
                .collect();
            format!(
                "{kinds:?} {} {settles:?}",
                super::describe::node(p, l.when, true)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn set<T>(slots: &mut [T; 2], side: usize, value: T) {
    if let Some(s) = slots.get_mut(side) {
        *s = value;
    }
}

fn kind_slot(kinds: &mut Vec<UKind>, name: &str) -> usize {
    match kinds.iter().position(|k| k.name == name) {
        Some(i) => i,
        None => {
            kinds.push(UKind {
                name: name.to_owned(),
                index: [None, None],
            });
            kinds.len() - 1
        }
    }
}

fn same_base(a: Base, b: Base) -> bool {
    match (a, b) {
        (Base::Enum(_), Base::Enum(_)) => true,
        _ => a == b,
    }
}

/// `(or ...)` of terms; `false` when there are none.
pub fn or_all(terms: impl IntoIterator<Item = String>) -> String {
    let terms: Vec<String> = terms.into_iter().collect();
    match terms.len() {
        0 => "false".to_owned(),
        1 => terms.into_iter().next().unwrap_or_default(),
        _ => format!("(or {})", terms.join(" ")),
    }
}

/// `(and ...)` of terms; `true` when there are none.
pub fn and_all(terms: impl IntoIterator<Item = String>) -> String {
    let terms: Vec<String> = terms.into_iter().collect();
    match terms.len() {
        0 => "true".to_owned(),
        1 => terms.into_iter().next().unwrap_or_default(),
        _ => format!("(and {})", terms.join(" ")),
    }
}

/// A sort of the encoding.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Sort {
    Bool,
    /// An exact decimal, as an SMT `Real`.
    Dec,
    /// Nanoseconds since the epoch, as an `Int`.
    Time,
    /// Whole seconds.
    Dur,
    Months,
    /// An interned text.
    Text,
    /// An interned enum value, with its enum when known.
    Enum(Option<EnumRef>),
}

/// An encoded value: the term, and when the value may be absent, the term
/// saying whether it is present.
#[derive(Clone, Debug)]
struct Term {
    sort: Sort,
    v: String,
    present: Option<String>,
}

impl Term {
    fn new(sort: Sort, v: String) -> Term {
        Term {
            sort,
            v,
            present: None,
        }
    }
}

/// One policy's decision on one request, as terms over the account.
#[derive(Debug, Default)]
pub struct SymDecision {
    /// Definitions the terms below use, to send before them.
    pub defs: String,
    pub permitted: bool,
    /// The outcome is deny.
    pub deny: String,
    /// Reasons in order: code and the condition under which it is given.
    pub reasons: Vec<(String, String)>,
    /// Each state and when it is the account's (the first that holds).
    pub states: Vec<(String, String)>,
    /// Next-step offers in order: the step's code and when it is offered.
    pub steps: Vec<(String, String)>,
    pub warnings: Vec<(String, String)>,
    pub effects: Vec<SymEffect>,
    /// Whether an aggregate or a calendar-month sum was over-approximated.
    pub approximate: bool,
    /// Each rule that applies: when its condition holds, and when it shows
    /// in the decision (a plain `warn` only on an allowed request).
    pub rules: Vec<RuleFiring>,
    /// Each step a reason offers, and its own condition.
    pub offers: Vec<Offer>,
    /// Atoms of the conditions, for describing regions.
    pub atoms: Vec<Atom>,
}

/// A comparison or test in a condition: its term, and how the policy
/// writes it and its negation.
#[derive(Debug, Clone)]
pub struct Atom {
    pub term: String,
    pub text: String,
    pub negated: String,
    /// The same with each `let` written out, for when two policies define
    /// one name differently.
    pub text_inline: String,
    pub negated_inline: String,
    /// The node, and which policy's (0: the only or old one, 1: the new).
    pub node: NodeId,
    pub side: usize,
    /// For a test of an enum field: the field, its values, and which of
    /// them make the atom true, so a region can join two tests of one field.
    pub enum_test: Option<(String, Vec<String>, Vec<bool>)>,
}

/// A rule's condition and when it shows in the decision.
#[derive(Debug)]
pub struct RuleFiring {
    pub rule: crate::compile::RuleId,
    pub holds: String,
    pub shows: String,
}

/// A step a reason offers: the rule, the step's place in the rule, when the
/// reason is given, and the step's own condition (`None`: always).
#[derive(Debug)]
pub struct Offer {
    pub rule: crate::compile::RuleId,
    pub span: crate::span::Span,
    pub reason: String,
    pub when: Option<String>,
}

/// An effect rule: its code, when it fires, and each parameter's name and
/// value (0, or `false`, when the value is absent).
#[derive(Debug)]
pub struct SymEffect {
    pub code: String,
    pub when: String,
    pub params: Vec<Param>,
}

/// An effect parameter: its name, its value's term, and its expression.
#[derive(Debug)]
pub struct Param {
    pub name: String,
    pub value: String,
    pub node: NodeId,
}

/// Encodes one program's decisions.
pub struct Encoder<'a> {
    u: &'a mut Universe,
    p: &'a Program,
    side: usize,
    prefix: &'static str,
    request: (RoleId, ActionId),
    defs: String,
    memo: HashMap<NodeId, Term>,
    fresh: usize,
    approximate: bool,
    atoms: Vec<Atom>,
    collecting_atoms: bool,
    /// The locks' definitions, and whether a restricted settlement's
    /// `settleable` is defined yet (see [`Encoder::total`]).
    lock_names: Vec<String>,
    settleable_defined: bool,
}

impl<'a> Encoder<'a> {
    /// An encoder of `p`'s decisions on `request`; `side` is 0 for the only
    /// or old policy, 1 for the new one.
    pub fn new(
        u: &'a mut Universe,
        p: &'a Program,
        side: usize,
        request: (RoleId, ActionId),
    ) -> Encoder<'a> {
        Encoder {
            u,
            p,
            side,
            prefix: if side == 0 { "a" } else { "b" },
            request,
            defs: String::new(),
            memo: HashMap::new(),
            fresh: 0,
            approximate: false,
            atoms: Vec::new(),
            collecting_atoms: false,
            lock_names: Vec::new(),
            settleable_defined: false,
        }
    }

    fn define(&mut self, name: &str, sort: &str, body: &str) -> String {
        let full = format!("{}_{name}", self.prefix);
        let _ = writeln!(self.defs, "(define-fun {full} () {sort} {body})");
        full
    }

    /// A fresh variable both policies share under `key` in this request
    /// (declared by the first to ask), or a variable of this policy alone
    /// when `key` is `None`.
    fn shared_var(&mut self, key: Option<String>, sort: &str, constraint: Option<&str>) -> String {
        let Some(key) = key else {
            return self.fresh_var(sort, constraint);
        };
        self.approximate = true;
        if let Some(name) = self.u.shared.get(&key) {
            return name.clone();
        }
        let name = format!("s{}", self.u.shared.len() + 1);
        let _ = writeln!(self.defs, "(declare-const {name} {sort})");
        if let Some(c) = constraint {
            let _ = writeln!(self.defs, "(assert {})", c.replace('@', &name));
        }
        self.u.shared.insert(key, name.clone());
        name
    }

    fn fresh_var(&mut self, sort: &str, constraint: Option<&str>) -> String {
        self.fresh += 1;
        self.approximate = true;
        let name = format!("{}_o{}", self.prefix, self.fresh);
        let _ = writeln!(self.defs, "(declare-const {name} {sort})");
        if let Some(c) = constraint {
            let _ = writeln!(self.defs, "(assert {})", c.replace('@', &name));
        }
        name
    }

    /// Collects the atoms of the conditions (each comparison and test, with
    /// its text), which only `diff --exhaustive` describes regions with.
    pub fn with_atoms(mut self) -> Encoder<'a> {
        self.collecting_atoms = true;
        self
    }

    /// The whole decision on the encoder's request, and the terms of
    /// `conditions` (an assertion's `when`), read in the same context.
    pub fn decision(
        mut self,
        conditions: &[NodeId],
    ) -> Result<(SymDecision, Vec<String>), EncodeError> {
        let p = self.p;
        let (role, action) = self.request;
        self.totals()?;
        let mut extra = Vec::new();
        for &c in conditions {
            extra.push(self.node(c, None)?.v);
        }
        let mut d = SymDecision {
            permitted: p.permission(role, action).ok_or_else(|| bug("role"))?,
            ..SymDecision::default()
        };
        let mut earlier = Vec::new();
        for state in &p.states {
            let c = self.when(state.when)?;
            let first = and_all(
                earlier
                    .iter()
                    .map(|e| format!("(not {e})"))
                    .chain(std::iter::once(c.clone())),
            );
            earlier.push(c);
            let name = self.define(&format!("state{}", d.states.len()), "Bool", &first);
            d.states.push((state.name.clone(), name));
        }
        let rules = if d.permitted {
            p.rules_for(action).ok_or_else(|| bug("action"))?
        } else {
            p.forbidden_rules()
        };
        let role_access = &p.role(role).ok_or_else(|| bug("role"))?.access;
        let mut fired_denies = Vec::new();
        let mut explains_forbidden = Vec::new();
        let mut step_offers = Vec::new();
        for &id in rules {
            let rule = p.rule(id).ok_or_else(|| bug("rule"))?;
            if rule.kind != RuleKind::Deny {
                continue;
            }
            let c = self.when(rule.when)?;
            let name = self.define(&format!("deny{}", id.index()), "Bool", &c);
            d.rules.push(RuleFiring {
                rule: id,
                holds: name.clone(),
                shows: name.clone(),
            });
            if rule.on_forbidden {
                explains_forbidden.push(name.clone());
            }
            fired_denies.push((rule.code.clone(), name.clone()));
            let clause = rule.steps.iter().find(|c| match c.audience {
                Audience::Everyone | Audience::Others => true,
                Audience::Access(a) => role_access.contains(&a),
            });
            if let Some(clause) = clause {
                for &(step, when, span) in &clause.steps {
                    let offered = self.when(when)?;
                    let code = p.step(step).ok_or_else(|| bug("step"))?.code.clone();
                    d.offers.push(Offer {
                        rule: id,
                        span,
                        reason: name.clone(),
                        when: when.is_some().then(|| offered.clone()),
                    });
                    step_offers.push((code, and_all([name.clone(), offered])));
                }
            }
        }
        if !d.permitted {
            let generic = format!("(not {})", or_all(explains_forbidden));
            d.reasons.push(("not_permitted".to_owned(), generic));
        }
        d.reasons.extend(fired_denies);
        d.deny = if d.permitted {
            or_all(d.reasons.iter().map(|(_, c)| c.clone()))
        } else {
            "true".to_owned()
        };
        d.steps = step_offers;
        let deny = d.deny.clone();
        for &id in rules {
            let rule = p.rule(id).ok_or_else(|| bug("rule"))?;
            match rule.kind {
                RuleKind::Deny => {}
                RuleKind::Warn => {
                    let c = self.when(rule.when)?;
                    let gate = if rule.even_if_denied {
                        c.clone()
                    } else {
                        and_all([format!("(not {deny})"), c.clone()])
                    };
                    d.rules.push(RuleFiring {
                        rule: id,
                        holds: c,
                        shows: gate.clone(),
                    });
                    d.warnings.push((rule.code.clone(), gate));
                }
                RuleKind::Effect => {
                    let c = self.when(rule.when)?;
                    let mut params = Vec::new();
                    for (name, node, ty) in &rule.params {
                        let was = std::mem::replace(&mut self.collecting_atoms, false);
                        let t = self.node(*node, None)?;
                        self.collecting_atoms = was;
                        let zero = match ty {
                            Base::Bool => "false",
                            Base::Decimal => "0.0",
                            _ => "0",
                        };
                        let v = match t.present {
                            Some(pr) => format!("(ite {pr} {} {zero})", t.v),
                            None => t.v,
                        };
                        params.push(Param {
                            name: name.clone(),
                            value: v,
                            node: *node,
                        });
                    }
                    d.rules.push(RuleFiring {
                        rule: id,
                        holds: c.clone(),
                        shows: c.clone(),
                    });
                    d.effects.push(SymEffect {
                        code: rule.code.clone(),
                        when: c,
                        params,
                    });
                }
            }
        }
        d.approximate = self.approximate;
        d.atoms = std::mem::take(&mut self.atoms);
        d.defs = std::mem::take(&mut self.defs);
        Ok((d, extra))
    }

    fn when(&mut self, when: Option<NodeId>) -> Result<String, EncodeError> {
        match when {
            None => Ok("true".to_owned()),
            Some(id) => Ok(self.node(id, None)?.v),
        }
    }

    /// Locks and totals, as definitions: `a_usable`, `a_locked`, ... in
    /// millionths.
    fn totals(&mut self) -> Result<(), EncodeError> {
        let p = self.p;
        let mut lock_names = Vec::new();
        for (i, lock) in p.locks.iter().enumerate() {
            let c = self.node(lock.when, None)?.v;
            lock_names.push(self.define(&format!("lock{i}"), "Bool", &c));
        }
        let bit = |k: usize| if k < 32 { 1u32 << k } else { 0 };
        let mut usable = Vec::new();
        let mut locked = Vec::new();
        let mut expired = Vec::new();
        let mut kind_locked = Vec::new();
        for k in 0..p.credit_kinds.len() {
            let u = self
                .u
                .credit_of(self.side, k as u32)
                .ok_or_else(|| bug("kind"))?;
            let holds = or_all(
                p.locks
                    .iter()
                    .zip(&lock_names)
                    .filter(|(l, _)| l.kinds & bit(k) != 0)
                    .map(|(_, n)| n.clone()),
            );
            let a = self.define(&format!("locked_kind{k}"), "Bool", &holds);
            usable.push(format!("(ite {a} 0 n{u})"));
            locked.push(format!("(ite {a} n{u} 0)"));
            expired.push(format!("e{u}"));
            kind_locked.push((a, u));
        }
        let sum = |xs: &[String]| match xs.len() {
            0 => "0".to_owned(),
            1 => xs.first().cloned().unwrap_or_default(),
            _ => format!("(+ {})", xs.join(" ")),
        };
        self.define("usable", "Int", &sum(&usable));
        self.define("locked", "Int", &sum(&locked));
        self.define("expired", "Int", &sum(&expired));
        let mut debts = Vec::new();
        for j in 0..p.debt_kinds.len() {
            let u = self
                .u
                .debt_of(self.side, j as u32)
                .ok_or_else(|| bug("debt kind"))?;
            debts.push(format!("d{u}"));
        }
        self.define("debt", "Int", &sum(&debts));
        // settleable: the pooled settlement, step by step.
        if p.pooled_settlement {
            let mut pool = sum(&kind_locked
                .iter()
                .enumerate()
                .filter(|(k, _)| p.spend_rank.get(*k).copied().flatten().is_some())
                .map(|(_, (a, u))| format!("(ite {a} 0 n{u})"))
                .collect::<Vec<_>>());
            pool = self.define("pool0", "Int", &pool);
            let mut caps: Vec<String> = Vec::new();
            for (k, (a, u)) in kind_locked.iter().enumerate() {
                let cap = if p.spend_rank.get(k).copied().flatten().is_some() {
                    format!("(ite {a} n{u} 0)")
                } else {
                    "0".to_owned()
                };
                caps.push(self.define(&format!("cap{k}_0"), "Int", &cap));
            }
            let mut paid = Vec::new();
            let mut step = 0usize;
            for &j in &p.settle_kinds {
                let total = debts
                    .get(j as usize)
                    .cloned()
                    .ok_or_else(|| bug("debt kind"))?;
                let mut owed = total.clone();
                let sources = p
                    .settle_sources
                    .get(j as usize)
                    .ok_or_else(|| bug("sources"))?;
                for source in sources {
                    match source {
                        SourceKind::Usable => {
                            step += 1;
                            let take =
                                self.define(&format!("take{step}"), "Int", &min(&owed, &pool));
                            pool = self.define(
                                &format!("pool{step}"),
                                "Int",
                                &format!("(- {pool} {take})"),
                            );
                            owed = self.define(
                                &format!("owed{step}"),
                                "Int",
                                &format!("(- {owed} {take})"),
                            );
                        }
                        SourceKind::Locked => {
                            for &k in &p.spend_kinds {
                                let may = or_all(
                                    p.locks
                                        .iter()
                                        .zip(&lock_names)
                                        .filter(|(l, _)| {
                                            l.kinds & bit(k as usize) != 0
                                                && l.may_settle & bit(j as usize) != 0
                                        })
                                        .map(|(_, n)| n.clone()),
                                );
                                let cap =
                                    caps.get(k as usize).cloned().ok_or_else(|| bug("kind"))?;
                                step += 1;
                                let take = self.define(
                                    &format!("take{step}"),
                                    "Int",
                                    &format!("(ite {may} {} 0)", min(&owed, &cap)),
                                );
                                let new_cap = self.define(
                                    &format!("cap{k}_{step}"),
                                    "Int",
                                    &format!("(- {cap} {take})"),
                                );
                                if let Some(c) = caps.get_mut(k as usize) {
                                    *c = new_cap;
                                }
                                owed = self.define(
                                    &format!("owed{step}"),
                                    "Int",
                                    &format!("(- {owed} {take})"),
                                );
                            }
                        }
                    }
                }
                paid.push(format!("(- {total} {owed})"));
            }
            self.define("settleable", "Int", &sum(&paid));
        } else {
            // Defined where it is first read (see `total`): a policy that
            // never reads it stays exact.
            self.lock_names = lock_names.clone();
        }
        for j in 0..p.debt_kinds.len() {
            let d = debts.get(j).cloned().unwrap_or_else(|| "0".to_owned());
            self.define(&format!("debt_of{j}"), "Int", &d);
        }
        Ok(())
    }

    /// `settleable` of a settlement restricted to some credit kinds: it
    /// depends on which grant pays first, so it is over-approximated by its
    /// bounds, except while no lock holds in a simple settlement, where the
    /// evaluator's fast path pays exactly min(debt, usable).
    fn restricted_settleable(&mut self) {
        let pre = self.prefix;
        let s = self.fresh_var("Int", None);
        let bound =
            format!("(and (>= {s} 0) (<= {s} {pre}_debt) (<= {s} (+ {pre}_usable {pre}_locked)))");
        let _ = writeln!(self.defs, "(assert {bound})");
        let value = if self.p.simple_settlement {
            let none_locked = format!("(not {})", or_all(self.lock_names.iter().cloned()));
            format!(
                "(ite {none_locked} {} {s})",
                min(&format!("{pre}_debt"), &format!("{pre}_usable"))
            )
        } else {
            s
        };
        self.define("settleable", "Int", &value);
        self.settleable_defined = true;
    }

    fn total(&mut self, t: Total) -> String {
        if t == Total::Settleable && !self.p.pooled_settlement && !self.settleable_defined {
            self.restricted_settleable();
        }
        let pre = self.prefix;
        match t {
            Total::Usable => format!("{pre}_usable"),
            Total::Locked => format!("{pre}_locked"),
            Total::Expired => format!("{pre}_expired"),
            Total::Debt => format!("{pre}_debt"),
            Total::DebtOf(k) => format!("{pre}_debt_of{k}"),
            Total::Settleable => format!("{pre}_settleable"),
        }
    }

    fn atom(&mut self, term: &str, id: NodeId) {
        if self.collecting_atoms && !self.atoms.iter().any(|a| a.term == term) {
            self.atoms.push(Atom {
                term: term.to_owned(),
                text: super::describe::node(self.p, id, false),
                negated: super::describe::negated(self.p, id, false),
                text_inline: super::describe::node(self.p, id, true),
                negated_inline: super::describe::negated(self.p, id, true),
                node: id,
                side: self.side,
                enum_test: self.enum_test(id),
            });
        }
    }

    /// `sum remaining` or `sum amount of grants`, when the filter reads
    /// only each grant's `kind` and `status`: then it is a sum of per-kind
    /// totals, exactly (in millionths). `None` for any other aggregate.
    fn exact_sum(
        &self,
        op: AggregateOp,
        of: crate::lang::Collection,
        filter: Option<NodeId>,
    ) -> Option<String> {
        if of != crate::lang::Collection::Grants {
            return None;
        }
        let amount = match op {
            AggregateOp::Sum(ItemField::Remaining) => false,
            AggregateOp::Sum(ItemField::Amount) => true,
            _ => return None,
        };
        let pre = self.prefix;
        let mut terms = Vec::new();
        for k in 0..self.p.credit_kinds.len() {
            let u = self.u.credit_of(self.side, k as u32)?;
            let locked = format!("{pre}_locked_kind{k}");
            let (open, expired) = if amount {
                (format!("g{u}"), format!("x{u}"))
            } else {
                (format!("n{u}"), format!("e{u}"))
            };
            // Standing: 0 usable, 1 locked, 2 expired, as the evaluator
            // numbers a grant's `status`.
            for standing in 0..3u32 {
                let holds = match filter {
                    None => true,
                    Some(f) => filter_holds(self.p, f, k as u32, standing, 0)?,
                };
                if holds {
                    terms.push(match standing {
                        0 => format!("(ite {locked} 0 {open})"),
                        1 => format!("(ite {locked} {open} 0)"),
                        _ => expired.clone(),
                    });
                }
            }
        }
        Some(match terms.len() {
            0 => "0".to_owned(),
            1 => terms.concat(),
            _ => format!("(+ {})", terms.join(" ")),
        })
    }

    fn enum_test(&self, id: NodeId) -> Option<(String, Vec<String>, Vec<bool>)> {
        let Some(Node::EnumTest { slot, mask, .. }) = self.p.node(id) else {
            return None;
        };
        let f = self.p.field(*slot)?;
        let Base::Enum(EnumRef::User(e)) = f.ty else {
            return None;
        };
        let values = self.p.enums.get(e.index())?.values.clone();
        let allowed = (0..values.len())
            .map(|i| i < 64 && mask & (1u64 << i) != 0)
            .collect();
        Some((f.dotted(), values, allowed))
    }

    fn node(&mut self, id: NodeId, hint: Option<EnumRef>) -> Result<Term, EncodeError> {
        if let Some(t) = self.memo.get(&id) {
            return Ok(t.clone());
        }
        let mut t = self.node_uncached(id, hint)?;
        // A long term is named once and referred to: a term repeated by
        // its parents (`x in [...]`, `==` on an optional value) then costs
        // its name, not its text, so the query grows linearly with the
        // policy.
        if t.v.len() > MAX_INLINE_TERM {
            t.v = self.define(&format!("n{}", id.index()), smt_sort(t.sort), &t.v);
        }
        if let Some(present) = &t.present {
            if present.len() > MAX_INLINE_TERM {
                t.present = Some(self.define(&format!("n{}p", id.index()), "Bool", present));
            }
        }
        if !matches!(t.sort, Sort::Enum(None)) {
            self.memo.insert(id, t.clone());
        }
        Ok(t)
    }

    fn node_uncached(&mut self, id: NodeId, hint: Option<EnumRef>) -> Result<Term, EncodeError> {
        let p = self.p;
        let node = p.node(id).ok_or_else(|| bug("node"))?;
        Ok(match node {
            Node::Const(c) => self.constant(c, hint),
            Node::Field { slot, default } => {
                let t = self.field(*slot)?;
                let out = match (default, &t.present) {
                    (Some(d), Some(present)) => {
                        let d = self.constant(d, enum_of(t.sort));
                        Term::new(t.sort, format!("(ite {present} {} {})", t.v, d.v))
                    }
                    _ => t,
                };
                if out.sort == Sort::Bool {
                    self.atom(&out.v, id);
                }
                out
            }
            Node::Let { index, root } => {
                let t = self.node(*root, hint)?;
                let sort = smt_sort(t.sort);
                let v = self.define(&format!("let{}", index.index()), sort, &t.v);
                let present = t
                    .present
                    .as_ref()
                    .map(|pr| self.define(&format!("let{}p", index.index()), "Bool", pr));
                let out = Term {
                    sort: t.sort,
                    v,
                    present,
                };
                if out.sort == Sort::Bool {
                    self.atom(&out.v, id);
                }
                out
            }
            Node::Builtin(b) => self.builtin(*b)?,
            Node::Item(_) | Node::OpGrant(_) | Node::Before(_) => {
                return Err(bug("a grant's or an operation's value outside its rules"));
            }
            Node::Not(a) => {
                let t = self.node(*a, None)?;
                Term::new(Sort::Bool, format!("(not {})", t.v))
            }
            Node::Neg(a) => {
                let t = self.node(*a, None)?;
                Term::new(t.sort, format!("(- {})", t.v))
            }
            Node::And(a, b) | Node::Or(a, b) => {
                let op = if matches!(node, Node::And(..)) {
                    "and"
                } else {
                    "or"
                };
                let (a, b) = (self.node(*a, None)?, self.node(*b, None)?);
                Term::new(Sort::Bool, format!("({op} {} {})", a.v, b.v))
            }
            Node::Default(a, b) => {
                let ta = self.node(*a, hint)?;
                let tb = self.node(*b, hint.or(enum_of(ta.sort)))?;
                match ta.present {
                    None => ta,
                    Some(pa) => Term {
                        sort: ta.sort,
                        v: format!("(ite {pa} {} {})", ta.v, tb.v),
                        present: tb.present.map(|pb| format!("(or {pa} {pb})")),
                    },
                }
            }
            Node::Binary(op, a, b) => {
                let (ta, tb) = self.pair(*a, *b)?;
                let t = self.binary(*op, ta, tb)?;
                if t.sort == Sort::Bool {
                    self.atom(&t.v, id);
                }
                t
            }
            Node::In {
                value,
                items,
                negated,
            } => {
                let tv = self.node(*value, None)?;
                let items = p.list(*items).ok_or_else(|| bug("list"))?;
                let mut eqs = Vec::new();
                for &i in items {
                    let ti = self.node(i, enum_of(tv.sort))?;
                    eqs.push(equal(&tv, &ti));
                }
                let any = or_all(eqs);
                let v = if *negated {
                    format!("(not {any})")
                } else {
                    any
                };
                self.atom(&v, id);
                Term::new(Sort::Bool, v)
            }
            Node::InCategory {
                value,
                category,
                negated,
            } => {
                let is_action = matches!(p.node(*value), Some(Node::Builtin(Builtin::Action)));
                if !is_action {
                    return Err(bug("a category test of something other than `action`"));
                }
                let action = p.action(self.request.1).ok_or_else(|| bug("action"))?;
                let hit = (action.category == *category) != *negated;
                Term::new(Sort::Bool, hit.to_string())
            }
            Node::Aggregate { op, of, filter } => {
                if let Some(sum) = self.exact_sum(*op, *of, *filter) {
                    return Ok(Term::new(
                        Sort::Dec,
                        format!("(/ (to_real {sum}) {MICROS}.0)"),
                    ));
                }
                let constraint = match op {
                    AggregateOp::Count => Some("(and (>= @ 0.0) (is_int @))"),
                    AggregateOp::Sum(ItemField::Amount | ItemField::Remaining) => {
                        Some("(>= @ 0.0)")
                    }
                    AggregateOp::Sum(_) => None,
                };
                // Written alike in both policies (lets written out), with
                // grant standings that mean the same, it is one value.
                let text = super::describe::node(p, id, true);
                let key =
                    (self.u.locks_agree && !text.contains('…')).then(|| format!("agg {text}"));
                let v = self.shared_var(key.clone(), "Real", constraint);
                // What remains of some grants is at most what they were
                // granted: `sum remaining` ≤ `sum amount` over one filter.
                let sibling = |k: &str, from: &str, to: &str| {
                    k.strip_prefix(from).map(|rest| format!("{to}{rest}"))
                };
                if let Some(k) = &key {
                    let (rem, amt) = ("agg (sum remaining of grants", "agg (sum amount of grants");
                    let pair = match (sibling(k, rem, amt), sibling(k, amt, rem)) {
                        (Some(a), _) => self.u.shared.get(&a).map(|a| (v.clone(), a.clone())),
                        (_, Some(r)) => self.u.shared.get(&r).map(|r| (r.clone(), v.clone())),
                        _ => None,
                    };
                    if let Some((r, a)) = pair {
                        let _ = writeln!(self.defs, "(assert (<= {r} {a}))");
                    }
                }
                Term::new(Sort::Dec, v)
            }
            Node::CmpNum { op, a, b } => {
                let ta = self.num(*a)?;
                let tb = self.num(*b)?;
                let v = compare(*op, &ta, &tb)?;
                self.atom(&v, id);
                Term::new(Sort::Bool, v)
            }
            Node::CmpTotal { op, total, micros } => {
                let t = self.total(*total);
                let v = compare_text(*op, &t, &int(i128::from(*micros)))?;
                self.atom(&v, id);
                Term::new(Sort::Bool, v)
            }
            Node::EnumTest {
                slot,
                default,
                mask,
            } => {
                let t = self.field(*slot)?;
                let ids = self.field_enum_ids(*slot)?;
                let value = match (&t.present, default) {
                    (Some(pr), Some(d)) => {
                        let d = ids
                            .get(*d as usize)
                            .copied()
                            .ok_or_else(|| bug("enum value"))?;
                        format!("(ite {pr} {} {d})", t.v)
                    }
                    _ => t.v.clone(),
                };
                let hits = ids
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i < 64 && mask & (1u64 << i) != 0)
                    .map(|(_, id)| format!("(= {value} {id})"));
                let v = or_all(hits);
                self.atom(&v, id);
                Term::new(Sort::Bool, v)
            }
        })
    }

    /// Two operands, the enum constant (if any) encoded knowing the other's enum.
    fn pair(&mut self, a: NodeId, b: NodeId) -> Result<(Term, Term), EncodeError> {
        let a_const = matches!(self.p.node(a), Some(Node::Const(Const::Enum(_))));
        if a_const {
            let tb = self.node(b, None)?;
            let ta = self.node(a, enum_of(tb.sort))?;
            Ok((ta, tb))
        } else {
            let ta = self.node(a, None)?;
            let tb = self.node(b, enum_of(ta.sort))?;
            Ok((ta, tb))
        }
    }

    fn field_enum_ids(&mut self, slot: FieldId) -> Result<Vec<i64>, EncodeError> {
        let f = self.p.field(slot).ok_or_else(|| bug("field"))?;
        let Base::Enum(EnumRef::User(e)) = f.ty else {
            return Err(bug("an enum test of a field that is not an enum"));
        };
        let e = self.p.enums.get(e.index()).ok_or_else(|| bug("enum"))?;
        Ok(e.values
            .iter()
            .map(|v| self.u.intern(Ns::Value, v))
            .collect())
    }

    fn field(&mut self, slot: FieldId) -> Result<Term, EncodeError> {
        let f = self.p.field(slot).ok_or_else(|| bug("field"))?;
        let i = self
            .u
            .field_of(self.side, slot)
            .ok_or_else(|| bug("field slot"))?;
        let var = format!("f{i}");
        let (sort, v) = match f.ty {
            Base::Bool => (Sort::Bool, var),
            Base::Decimal => (Sort::Dec, format!("(/ (to_real {var}) {MICROS}.0)")),
            Base::Time => (Sort::Time, var),
            Base::Duration => (Sort::Dur, var),
            Base::Months => (Sort::Months, var),
            Base::Text => (Sort::Text, var),
            Base::Enum(e) => (Sort::Enum(Some(e)), var),
        };
        let may_be_absent = self.u.fields.get(i).is_some_and(|uf| uf.may_be_absent);
        Ok(Term {
            sort,
            v,
            present: may_be_absent.then(|| format!("f{i}p")),
        })
    }

    fn num(&mut self, o: NumOperand) -> Result<Term, EncodeError> {
        Ok(match o {
            NumOperand::Const(d) => Term::new(Sort::Dec, real(d)),
            NumOperand::Builtin(b) => self.builtin(b)?,
            NumOperand::Field { slot, default } => {
                let t = self.field(slot)?;
                match (default, t.present) {
                    (Some(d), Some(pr)) => {
                        Term::new(Sort::Dec, format!("(ite {pr} {} {})", t.v, real(d)))
                    }
                    (_, present) => Term {
                        sort: t.sort,
                        v: t.v,
                        present,
                    },
                }
            }
            NumOperand::Node(id) => self.node(id, None)?,
        })
    }

    fn builtin(&mut self, b: Builtin) -> Result<Term, EncodeError> {
        let dec = |name: String| Term::new(Sort::Dec, format!("(/ (to_real {name}) {MICROS}.0)"));
        Ok(match b {
            Builtin::Now => Term::new(Sort::Time, "now".to_owned()),
            Builtin::Account => Term::new(Sort::Text, "acct".to_owned()),
            Builtin::Usable => dec(self.total(Total::Usable)),
            Builtin::Locked => dec(self.total(Total::Locked)),
            Builtin::Expired => dec(self.total(Total::Expired)),
            Builtin::Debt => dec(self.total(Total::Debt)),
            Builtin::DebtOf(k) => dec(self.total(Total::DebtOf(
                u16::try_from(k).map_err(|_| bug("debt kind"))?,
            ))),
            Builtin::Settleable => dec(self.total(Total::Settleable)),
            Builtin::Role => {
                let name = &self.p.role(self.request.0).ok_or_else(|| bug("role"))?.name;
                let id = self.u.intern(Ns::Role, name);
                Term::new(Sort::Enum(Some(EnumRef::Role)), id.to_string())
            }
            Builtin::Action => {
                let name = &self
                    .p
                    .action(self.request.1)
                    .ok_or_else(|| bug("action"))?
                    .name;
                let id = self.u.intern(Ns::Action, name);
                Term::new(Sort::Enum(Some(EnumRef::Action)), id.to_string())
            }
            Builtin::ChargeAmount | Builtin::ChargeShortfall | Builtin::RefundDispute => {
                return Err(bug("a ledger operation's value in a request's rules"));
            }
        })
    }

    fn constant(&mut self, c: &Const, hint: Option<EnumRef>) -> Term {
        match c {
            Const::Bool(b) => Term::new(Sort::Bool, b.to_string()),
            Const::Decimal(d) => Term::new(Sort::Dec, real(*d)),
            Const::Time(t) => Term::new(
                Sort::Time,
                int(i128::from(t.unix_seconds()) * NANOS + i128::from(t.nanos())),
            ),
            Const::Duration(s) => Term::new(Sort::Dur, int(i128::from(*s))),
            Const::Months(m) => Term::new(Sort::Months, int(i128::from(*m))),
            Const::Text(s) => Term::new(Sort::Text, self.u.intern(Ns::Text, s).to_string()),
            Const::Enum(i) => {
                let (ns, name) = match hint {
                    Some(EnumRef::User(e)) => (
                        Ns::Value,
                        self.p
                            .enums
                            .get(e.index())
                            .and_then(|e| e.values.get(*i as usize))
                            .cloned(),
                    ),
                    Some(EnumRef::Role) => (
                        Ns::Role,
                        crate::compile::RoleId::from_index(*i as usize)
                            .and_then(|r| self.p.role(r))
                            .map(|r| r.name.clone()),
                    ),
                    Some(EnumRef::Action) => (
                        Ns::Action,
                        ActionId::from_value(*i)
                            .and_then(|a| self.p.action(a))
                            .map(|a| a.name.clone()),
                    ),
                    Some(EnumRef::CreditKind) => (
                        Ns::CreditKind,
                        self.p.credit_kinds.get(*i as usize).cloned(),
                    ),
                    Some(EnumRef::DebtKind) => {
                        (Ns::DebtKind, self.p.debt_kinds.get(*i as usize).cloned())
                    }
                    Some(EnumRef::GrantStatus) => (Ns::Status, Some(i.to_string())),
                    None => (Ns::Status, None),
                };
                match name {
                    Some(name) => Term::new(Sort::Enum(hint), self.u.intern(ns, &name).to_string()),
                    // An enum constant whose enum is unknown here compares
                    // with nothing the encoding can name: a fresh value.
                    None => {
                        let v = self.fresh_var("Int", Some("(< @ 0)"));
                        Term::new(Sort::Enum(None), v)
                    }
                }
            }
        }
    }

    fn binary(&mut self, op: BinaryOp, a: Term, b: Term) -> Result<Term, EncodeError> {
        use BinaryOp as B;
        Ok(match op {
            B::Eq => Term::new(Sort::Bool, equal(&a, &b)),
            B::Ne => Term::new(Sort::Bool, format!("(not {})", equal(&a, &b))),
            B::Lt | B::Le | B::Gt | B::Ge => Term::new(Sort::Bool, compare(op, &a, &b)?),
            B::Add | B::Sub => {
                let sym = if op == B::Add { "+" } else { "-" };
                match (a.sort, b.sort) {
                    (Sort::Time, Sort::Dur) => {
                        Term::new(Sort::Time, format!("({sym} {} (* {} {NANOS}))", a.v, b.v))
                    }
                    (Sort::Dur, Sort::Time) => {
                        Term::new(Sort::Time, format!("(+ {} (* {} {NANOS}))", b.v, a.v))
                    }
                    (Sort::Time, Sort::Time) => Term::new(
                        Sort::Dur,
                        format!("(- (div {} {NANOS}) (div {} {NANOS}))", a.v, b.v),
                    ),
                    (Sort::Time, Sort::Months) | (Sort::Months, Sort::Time) => {
                        // Calendar arithmetic: some instant within the
                        // shortest and the longest months it can span.
                        let (t, m) = if a.sort == Sort::Time {
                            (&a, &b)
                        } else {
                            (&b, &a)
                        };
                        let sign = if op == B::Add { "" } else { "-" };
                        let lo = format!("(+ {} (* {sign}1 {} {} {NANOS}))", t.v, m.v, 28 * 86_400);
                        let hi = format!("(+ {} (* {sign}1 {} {} {NANOS}))", t.v, m.v, 31 * 86_400);
                        // Of the account's own variables only, it is the same
                        // instant in both policies.
                        let side_free = |t: &str| !t.contains("a_") && !t.contains("b_");
                        let key = (side_free(&t.v) && side_free(&m.v))
                            .then(|| format!("months {sign} {} {}", t.v, m.v));
                        let v = self.shared_var(
                            key,
                            "Int",
                            Some(&format!(
                                "(or (and (<= {lo} @) (<= @ {hi})) (and (<= {hi} @) (<= @ {lo})))"
                            )),
                        );
                        Term::new(Sort::Time, v)
                    }
                    _ => Term::new(a.sort, format!("({sym} {} {})", a.v, b.v)),
                }
            }
            B::Mul => {
                // The evaluator refuses a product it cannot hold exactly
                // (an error, not a decision); the encoding multiplies
                // exactly. With a constant factor nothing an account holds
                // comes near that; two quantities can.
                let constant = |t: &Term| {
                    let v =
                        t.v.strip_prefix("(- ")
                            .and_then(|v| v.strip_suffix(')'))
                            .unwrap_or(&t.v);
                    v.parse::<f64>().is_ok()
                };
                if !constant(&a) && !constant(&b) {
                    self.approximate = true;
                }
                Term::new(Sort::Dec, format!("(* {} {})", a.v, b.v))
            }
            B::And => Term::new(Sort::Bool, format!("(and {} {})", a.v, b.v)),
            B::Or => Term::new(Sort::Bool, format!("(or {} {})", a.v, b.v)),
            B::Default => match a.present {
                None => a,
                Some(pa) => Term::new(a.sort, format!("(ite {pa} {} {})", a.v, b.v)),
            },
        })
    }
}

/// Deepest filter [`filter_holds`] reads; deeper ones stay approximated.
const MAX_FILTER_DEPTH: usize = 32;

/// Whether a `where` filter holds for a grant of credit kind `kind` and
/// standing `standing`, when it reads nothing else (`None` otherwise).
fn filter_holds(p: &Program, id: NodeId, kind: u32, standing: u32, depth: usize) -> Option<bool> {
    if depth > MAX_FILTER_DEPTH {
        return None;
    }
    let sub = |x: NodeId| filter_holds(p, x, kind, standing, depth + 1);
    // The value of an operand: the grant's kind or status, or a constant.
    let value = |x: NodeId| -> Option<u32> {
        match p.node(x)? {
            Node::Item(ItemField::Kind) => Some(kind),
            Node::Item(ItemField::Status) => Some(standing),
            Node::Const(Const::Enum(v)) => Some(*v),
            _ => None,
        }
    };
    let reads_item = |x: NodeId| matches!(p.node(x), Some(Node::Item(_)));
    match p.node(id)? {
        Node::Const(Const::Bool(b)) => Some(*b),
        Node::Not(a) => sub(*a).map(|b| !b),
        Node::And(a, b) => Some(sub(*a)? && sub(*b)?),
        Node::Or(a, b) => Some(sub(*a)? || sub(*b)?),
        Node::Binary(op @ (BinaryOp::Eq | BinaryOp::Ne), a, b) => {
            // Kind compares with kinds, status with statuses: one side
            // is the grant's, the other a constant of that enum.
            if !(reads_item(*a) || reads_item(*b)) {
                return None;
            }
            let equal = value(*a)? == value(*b)?;
            Some(if *op == BinaryOp::Eq { equal } else { !equal })
        }
        Node::In {
            value: v,
            items,
            negated,
        } => {
            if !reads_item(*v) {
                return None;
            }
            let x = value(*v)?;
            let mut hit = false;
            for &i in p.list(*items)? {
                hit |= value(i)? == x;
            }
            Some(hit != *negated)
        }
        _ => None,
    }
}

fn enum_of(s: Sort) -> Option<EnumRef> {
    match s {
        Sort::Enum(e) => e,
        _ => None,
    }
}

fn smt_sort(s: Sort) -> &'static str {
    match s {
        Sort::Bool => "Bool",
        Sort::Dec => "Real",
        _ => "Int",
    }
}

fn min(a: &str, b: &str) -> String {
    format!("(ite (<= {a} {b}) {a} {b})")
}

/// `a == b` as the evaluator compares values: absent equals only absent.
fn equal(a: &Term, b: &Term) -> String {
    let eq = format!("(= {} {})", a.v, b.v);
    match (&a.present, &b.present) {
        (None, None) => eq,
        (Some(pa), None) => format!("(and {pa} {eq})"),
        (None, Some(pb)) => format!("(and {pb} {eq})"),
        (Some(pa), Some(pb)) => format!("(and (= {pa} {pb}) (=> {pa} {eq}))"),
    }
}

fn compare(op: BinaryOp, a: &Term, b: &Term) -> Result<String, EncodeError> {
    match op {
        BinaryOp::Eq => Ok(equal(a, b)),
        BinaryOp::Ne => Ok(format!("(not {})", equal(a, b))),
        _ => compare_text(op, &a.v, &b.v),
    }
}

fn compare_text(op: BinaryOp, a: &str, b: &str) -> Result<String, EncodeError> {
    Ok(match op {
        BinaryOp::Eq => format!("(= {a} {b})"),
        BinaryOp::Ne => format!("(not (= {a} {b}))"),
        BinaryOp::Lt => format!("(< {a} {b})"),
        BinaryOp::Le => format!("(<= {a} {b})"),
        BinaryOp::Gt => format!("(> {a} {b})"),
        BinaryOp::Ge => format!("(>= {a} {b})"),
        _ => return Err(bug("a comparison with an operator that does not compare")),
    })
}

/// An integer literal.
fn int(i: i128) -> String {
    if i < 0 {
        format!("(- {})", i.unsigned_abs())
    } else {
        i.to_string()
    }
}

/// An exact decimal as an SMT real literal.
fn real(d: Decimal) -> String {
    let text = d.abs().normalize().to_string();
    let text = if text.contains('.') {
        text
    } else {
        format!("{text}.0")
    };
    if d.is_sign_negative() && !d.is_zero() {
        format!("(- {text})")
    } else {
        text
    }
}
