//! Deciding: may this role take this action now, what state is the balance
//! in, why, and what should this person do next.

pub mod eval;
pub(crate) mod explain;

use serde::Serialize;
use serde::ser::SerializeMap;
use smallvec::SmallVec;

use crate::compile::{
    Action, ActionId, Audience, NodeId, Program, Role, RoleId, Rule, RuleId, State, StepId,
    Template, TemplatePart,
};
use crate::lang::RuleKind;
use crate::snapshot::Account;
use crate::value::Value;
use eval::Inconsistency as Bug;
pub use eval::{Balance, EvalError, Inconsistency};
use eval::{Ctx, Item, NoTrace, ReadKey, Tracer, format_value, read_name, read_type};

/// Version of the decision and ledger JSON; bumped on breaking changes.
pub const JSON_VERSION: u32 = 1;
/// The version of the ledger JSON: 2 added `outcome`, `invoiced`,
/// `waived`, `reasons`, `next_steps`, `warnings` and `effects`.
pub const LEDGER_JSON_VERSION: u32 = 2;

/// A role and an action, resolved against a policy once and reusable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Request {
    pub(crate) role: RoleId,
    pub(crate) action: ActionId,
}

/// Whether the request may go ahead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The request may go ahead.
    Allow,
    /// The request is refused; the reasons say why.
    Deny,
}

impl Outcome {
    /// The outcome as the decision JSON spells it: `allow` or `deny`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allow => "allow",
            Outcome::Deny => "deny",
        }
    }
}

/// Why a request was denied: a rule, or the role lacking permission with
/// no `on forbidden` rule to say more.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ReasonSource<'a> {
    Rule(&'a Rule),
    NotPermitted,
}

/// The decision on one request against one account.
///
/// It borrows the policy and the account, and renders messages only when
/// asked, so deciding allocates only for the reasons and steps it finds.
/// What it found is held as references into the program, resolved (and
/// checked) while deciding, so reading a decision cannot miss.
#[derive(Clone, Debug)]
pub struct Decision<'a> {
    program: &'a Program,
    account: &'a Account,
    request: Request,
    role: &'a Role,
    action: &'a Action,
    outcome: Outcome,
    state: Option<&'a State>,
    // Held inline up to a typical decision's size, so deciding does not
    // allocate: a decision is on the hot path of every request. The whole
    // struct is kept within 256 bytes, which returning it copies cheaply.
    reasons: SmallVec<[ReasonSource<'a>; 3]>,
    warnings: SmallVec<[&'a Rule; 2]>,
    // INVARIANT: every id here was resolved against `program` by `run`
    // before it was pushed. Ids, not references, keep a decision small
    // enough to copy cheaply.
    next_steps: SmallVec<[StepId; 8]>,
    effects: SmallVec<[&'a Rule; 2]>,
    balance: Balance,
    #[expect(
        clippy::box_collection,
        reason = "one pointer, not three, keeps a decision within 256 bytes; only explaining builds a trace"
    )]
    trace: Option<Box<Vec<TraceStep>>>,
}

/// One step of an explanation: a lock, state, permission, rule or next step
/// that was evaluated.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceStep {
    /// `lock`, `state`, `permit`, `deny`, `warn`, `effect` or `step`.
    pub kind: &'static str,
    /// What was evaluated: a state's or rule's name, a step's code.
    pub name: String,
    /// Whether the lock, state, rule or step applied.
    pub fired: bool,
    /// Values read, in order: name and canonical text.
    pub reads: Vec<(String, String)>,
    /// `file:line:col`, when the step comes from a policy line.
    pub source: Option<String>,
    /// The policy line it comes from (for human rendering).
    pub(crate) line: Option<u32>,
}

/// A reason, warning or effect as the decision JSON shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The rule's code, or `not_permitted` for a built-in denial.
    pub code: String,
    /// The rendered message; empty when the rule has none.
    pub message: String,
    /// The rule's name; `None` for a built-in denial.
    pub rule: Option<String>,
    /// `file:line:col` of the rule; `None` for a built-in denial.
    pub source: Option<String>,
}

/// A next step: its code and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NextStep {
    /// The step's code, such as `buy_credits`.
    pub code: String,
    /// The rendered message for the person who asked.
    pub message: String,
}

/// An effect: its code and parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Effect {
    /// The effect rule's code, naming what the service should do.
    pub code: String,
    /// Parameters as name and canonical value text, in policy order.
    pub params: Vec<(String, String)>,
    /// The name of the rule that produced the effect.
    pub rule: String,
    /// `file:line:col` of the rule.
    pub source: String,
}

/// Decides a request. Never reads a clock, never performs I/O.
pub(crate) fn decide<'a>(
    program: &'a Program,
    account: &'a Account,
    request: Request,
    explain: bool,
) -> Result<Decision<'a>, EvalError> {
    // A request resolved against another policy is refused, not decided.
    let role = program.role(request.role).ok_or(Bug::RoleId)?;
    let action = program.action(request.action).ok_or(Bug::ActionId)?;
    let ctx = Ctx::new(program, account, Some((request.role, request.action)))?;
    let mut d = Decision {
        program,
        account,
        request,
        role,
        action,
        outcome: Outcome::Allow,
        state: None,
        reasons: SmallVec::new(),
        warnings: SmallVec::new(),
        next_steps: SmallVec::new(),
        effects: SmallVec::new(),
        balance: ctx.balance,
        trace: None,
    };
    if explain {
        let mut trace = Vec::new();
        let mut explainer = Explainer {
            program,
            steps: &mut trace,
            reads: Vec::new(),
            depth: 0,
            error: None,
        };
        run(&ctx, &mut d, &mut explainer)?;
        if let Some(e) = explainer.error {
            return Err(e);
        }
        d.trace = Some(Box::new(trace));
    } else {
        run(&ctx, &mut d, &mut Quiet(NoTrace))?;
    }
    Ok(d)
}

/// What the decision procedure reports as it goes: nothing on the fast
/// path, trace steps when explaining.
trait Observer {
    type Reads: Tracer;
    fn reads(&mut self) -> &mut Self::Reads;
    /// Whether steps are recorded; evaluation done only for the record is
    /// skipped otherwise.
    fn explaining(&self) -> bool;
    fn step(
        &mut self,
        kind: &'static str,
        name: &str,
        fired: bool,
        span: Option<crate::span::Span>,
    );
}

struct Quiet(NoTrace);

impl Observer for Quiet {
    type Reads = NoTrace;
    #[inline(always)]
    fn reads(&mut self) -> &mut NoTrace {
        &mut self.0
    }
    fn explaining(&self) -> bool {
        false
    }
    #[inline(always)]
    fn step(&mut self, _: &'static str, _: &str, _: bool, _: Option<crate::span::Span>) {}
}

pub(crate) struct Explainer<'t> {
    program: &'t Program,
    steps: &'t mut Vec<TraceStep>,
    reads: Vec<(ReadKey, String)>,
    depth: u32,
    /// The first read that could not be named or formatted: a trace is
    /// not returned without it.
    error: Option<EvalError>,
}

impl<'t> Explainer<'t> {
    /// Records the steps of an evaluation into `steps`.
    pub(crate) fn new(program: &'t Program, steps: &'t mut Vec<TraceStep>) -> Explainer<'t> {
        Explainer {
            program,
            steps,
            reads: Vec::new(),
            depth: 0,
            error: None,
        }
    }

    /// Whether a condition holds, its reads kept for the next step.
    pub(crate) fn holds(&mut self, ctx: &Ctx<'_>, when: Option<NodeId>) -> Result<bool, EvalError> {
        holds(ctx, self, when)
    }

    /// Records a step: what was evaluated, whether it held, and the reads
    /// since the last step.
    pub(crate) fn record(
        &mut self,
        kind: &'static str,
        name: &str,
        fired: bool,
        span: Option<crate::span::Span>,
    ) {
        self.step(kind, name, fired, span);
    }

    /// The first read that could not be named, if any.
    pub(crate) fn finish(self) -> Result<(), EvalError> {
        self.error.map_or(Ok(()), Err)
    }
}

impl Tracer for Explainer<'_> {
    fn read(&mut self, key: ReadKey, value: Value<'_>) {
        if self.depth == 0 && !self.reads.iter().any(|(k, _)| *k == key) {
            let text =
                read_type(self.program, key).and_then(|ty| format_value(self.program, ty, value));
            match text {
                Ok(text) => self.reads.push((key, text)),
                Err(e) => {
                    self.error.get_or_insert(e);
                }
            }
        }
    }

    fn nest(&mut self, entering: bool) {
        if entering {
            self.depth += 1;
        } else {
            self.depth = self.depth.saturating_sub(1);
        }
    }
}

impl Observer for Explainer<'_> {
    type Reads = Self;
    fn reads(&mut self) -> &mut Self {
        self
    }
    fn explaining(&self) -> bool {
        true
    }
    fn step(
        &mut self,
        kind: &'static str,
        name: &str,
        fired: bool,
        span: Option<crate::span::Span>,
    ) {
        let mut reads = Vec::with_capacity(self.reads.len());
        for (k, v) in std::mem::take(&mut self.reads) {
            match read_name(self.program, k) {
                Ok(name) => reads.push((name, v)),
                Err(e) => {
                    self.error.get_or_insert(e);
                }
            }
        }
        let source = &self.program.source;
        self.steps.push(TraceStep {
            kind,
            name: name.to_owned(),
            fired,
            reads,
            source: span.map(|s| source.location(s)),
            line: span.map(|s| source.line_col(s.start).line),
        });
    }
}

fn holds<O: Observer>(ctx: &Ctx<'_>, o: &mut O, when: Option<NodeId>) -> Result<bool, EvalError> {
    match when {
        Some(node) => ctx.eval_bool(node, Item::None, o.reads()),
        None => Ok(true),
    }
}

fn run<'a, O: Observer>(ctx: &Ctx<'a>, d: &mut Decision<'a>, o: &mut O) -> Result<(), EvalError> {
    let p = ctx.program;
    if o.explaining() {
        // The context already knows which locks hold; this evaluates them
        // again only to record what they read.
        for lock in &p.locks {
            let fired = holds(ctx, o, Some(lock.when))?;
            let kinds: Vec<&str> = p
                .credit_kinds
                .iter()
                .enumerate()
                .filter(|(k, _)| lock.kinds & eval::kind_bit(*k as u32) != 0)
                .map(|(_, n)| n.as_str())
                .collect();
            o.step("lock", &kinds.join(", "), fired, Some(lock.span));
        }
    }
    for state in &p.states {
        let matched = holds(ctx, o, state.when)?;
        o.step("state", &state.name, matched, Some(state.span));
        if matched {
            d.state = Some(state);
            break;
        }
    }

    let Request { role, action } = d.request;
    let permitted = p.permission(role, action).ok_or(Bug::RoleId)?;
    if o.explaining() {
        o.step(
            "permit",
            &format!("{} → {}", d.role.name, d.action.name),
            permitted,
            None,
        );
    }

    let rules = if permitted {
        p.rules_for(action).ok_or(Bug::ActionId)?
    } else {
        p.forbidden_rules()
    };
    let mut pending_warnings = false;
    // A forbidden request says why it is forbidden: a deny of a block that
    // names `forbidden`, or else the generic reason, first.
    let mut forbidden_explained = false;
    for &id in rules {
        let rule = rule(p, id)?;
        match rule.kind {
            RuleKind::Deny => {
                let fired = holds(ctx, o, rule.when)?;
                o.step("deny", &rule.code, fired, Some(rule.span));
                if fired {
                    forbidden_explained |= rule.on_forbidden;
                    d.reasons.push(ReasonSource::Rule(rule));
                }
            }
            RuleKind::Warn => pending_warnings = true,
            RuleKind::Effect => {}
        }
    }
    if !permitted && !forbidden_explained {
        d.reasons.insert(0, ReasonSource::NotPermitted);
    }
    d.outcome = if d.reasons.is_empty() {
        Outcome::Allow
    } else {
        Outcome::Deny
    };

    // Warnings accompany an allowed request (and a denied one, when they
    // say `even if denied`); effects apply either way.
    for &id in rules {
        let rule = rule(p, id)?;
        let evaluate = match rule.kind {
            RuleKind::Warn => {
                pending_warnings && (d.outcome == Outcome::Allow || rule.even_if_denied)
            }
            RuleKind::Effect => true,
            RuleKind::Deny => false,
        };
        if !evaluate {
            continue;
        }
        let fired = holds(ctx, o, rule.when)?;
        o.step(rule.kind.keyword(), &rule.code, fired, Some(rule.span));
        if fired {
            match rule.kind {
                RuleKind::Warn => d.warnings.push(rule),
                _ => d.effects.push(rule),
            }
        }
    }

    // Next steps: for each reason, the first clause whose audience fits.
    let access = &d.role.access;
    for r in 0..d.reasons.len() {
        let Some(&ReasonSource::Rule(rule)) = d.reasons.get(r) else {
            continue;
        };
        let clause = rule.steps.iter().find(|c| match c.audience {
            Audience::Everyone | Audience::Others => true,
            Audience::Access(a) => access.contains(&a),
        });
        let Some(clause) = clause else {
            continue;
        };
        for &(id, when, span) in &clause.steps {
            let offered = holds(ctx, o, when)?;
            let step = p.step(id).ok_or(Bug::StepId)?;
            o.step("step", &step.code, offered, Some(span));
            if offered && !d.next_steps.contains(&id) {
                d.next_steps.push(id);
            }
        }
    }
    Ok(())
}

#[inline]
fn rule(p: &Program, id: RuleId) -> Result<&Rule, EvalError> {
    p.rule(id).ok_or(EvalError::Internal(Bug::RuleId))
}

impl<'a> Decision<'a> {
    /// Whether the request is allowed or denied.
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// The balance state's name. Every policy's states end with a
    /// catch-all, so one always matches.
    pub fn state(&self) -> &'a str {
        self.state.map_or("", |s| s.name.as_str())
    }

    /// The account's balance at the snapshot's `now`.
    pub fn balance(&self) -> Balance {
        self.balance
    }

    /// The name of the role that asked.
    pub fn role(&self) -> &'a str {
        &self.role.name
    }

    /// The name of the action asked for.
    pub fn action(&self) -> &'a str {
        &self.action.name
    }

    /// Codes of the reasons, in order, without rendering messages.
    pub fn reason_codes(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.reasons.iter().map(|r| match r {
            ReasonSource::Rule(rule) => rule.code.as_str(),
            ReasonSource::NotPermitted => "not_permitted",
        })
    }

    /// Codes of the next steps, in order.
    pub fn next_step_codes(&self) -> impl Iterator<Item = &'a str> + '_ {
        let program: &'a Program = self.program;
        // The invariant on `next_steps` makes the lookup total.
        self.next_steps
            .iter()
            .filter_map(move |&id| program.step(id))
            .map(|s| s.code.as_str())
    }

    /// Codes of the warnings, in order.
    pub fn warning_codes(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.warnings.iter().map(|r| r.code.as_str())
    }

    /// Codes of the effects, in order.
    pub fn effect_codes(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.effects.iter().map(|r| r.code.as_str())
    }

    fn ctx(&self) -> Result<Ctx<'a>, EvalError> {
        Ctx::new(
            self.program,
            self.account,
            Some((self.request.role, self.request.action)),
        )
    }

    fn finding(&self, ctx: &Ctx<'a>, rule: &Rule) -> Result<Finding, EvalError> {
        finding(ctx, rule)
    }

    /// The reasons, with messages.
    pub fn reasons(&self) -> Result<Vec<Finding>, EvalError> {
        self.reasons_in(&self.ctx()?)
    }

    fn reasons_in(&self, ctx: &Ctx<'a>) -> Result<Vec<Finding>, EvalError> {
        self.reasons
            .iter()
            .map(|r| match r {
                ReasonSource::Rule(rule) => self.finding(ctx, rule),
                ReasonSource::NotPermitted => Ok(Finding {
                    code: "not_permitted".to_owned(),
                    message: format!(
                        "The role `{}` may not take the action `{}`.",
                        self.role(),
                        self.action()
                    ),
                    rule: None,
                    source: None,
                }),
            })
            .collect()
    }

    /// The warnings, with messages.
    pub fn warnings(&self) -> Result<Vec<Finding>, EvalError> {
        self.warnings_in(&self.ctx()?)
    }

    fn warnings_in(&self, ctx: &Ctx<'a>) -> Result<Vec<Finding>, EvalError> {
        self.warnings
            .iter()
            .map(|rule| self.finding(ctx, rule))
            .collect()
    }

    /// The next steps, with messages.
    pub fn next_steps(&self) -> Result<Vec<NextStep>, EvalError> {
        self.next_steps_in(&self.ctx()?)
    }

    fn next_steps_in(&self, ctx: &Ctx<'a>) -> Result<Vec<NextStep>, EvalError> {
        self.next_steps
            .iter()
            .map(|&id| next_step(ctx, id))
            .collect()
    }

    /// The effects, with their parameters.
    pub fn effects(&self) -> Result<Vec<Effect>, EvalError> {
        self.effects_in(&self.ctx()?)
    }

    fn effects_in(&self, ctx: &Ctx<'a>) -> Result<Vec<Effect>, EvalError> {
        self.effects.iter().map(|rule| effect(ctx, rule)).collect()
    }

    /// The trace, when the decision was made with `explain`.
    pub fn trace(&self) -> Option<&[TraceStep]> {
        self.trace.as_deref().map(Vec::as_slice)
    }

    /// The decision JSON of the contract, on one line.
    pub fn to_json(&self) -> Result<String, EvalError> {
        // A decision with messages is most of a kilobyte: one allocation.
        let mut out = Vec::with_capacity(1024);
        self.write_json(&mut out)?;
        String::from_utf8(out).map_err(|_| EvalError::Internal(Inconsistency::Serialise))
    }

    /// Appends the decision JSON of the contract, on one line, to `out`:
    /// for writing many decisions into one buffer.
    pub fn write_json(&self, out: &mut Vec<u8>) -> Result<(), EvalError> {
        let json = self.json()?;
        serde_json::to_writer(out, &json).map_err(|_| EvalError::Internal(Inconsistency::Serialise))
    }

    /// The decision JSON of the contract, indented for people.
    pub fn to_json_pretty(&self) -> Result<String, EvalError> {
        let json = self.json()?;
        serde_json::to_string_pretty(&json)
            .map_err(|_| EvalError::Internal(Inconsistency::Serialise))
    }

    /// The explanation for a person: the decision, then every evaluated
    /// step with the policy line it comes from.
    pub fn explain(&self) -> Result<String, EvalError> {
        explain::render(self)
    }

    fn json(&self) -> Result<DecisionJson<'_>, EvalError> {
        // One context renders every message; building it per list would
        // evaluate the locks and totals four times.
        let ctx = self.ctx()?;
        Ok(DecisionJson {
            version: JSON_VERSION,
            policy: &self.program.name,
            request: RequestJson {
                role: self.role(),
                action: self.action(),
            },
            outcome: self.outcome,
            state: self.state(),
            reasons: self
                .reasons_in(&ctx)?
                .into_iter()
                .map(FindingJson::from)
                .collect(),
            warnings: self
                .warnings_in(&ctx)?
                .into_iter()
                .map(FindingJson::from)
                .collect(),
            next_steps: self
                .next_steps_in(&ctx)?
                .into_iter()
                .map(|s| StepJson {
                    code: s.code,
                    message: s.message,
                })
                .collect(),
            effects: self.effects_in(&ctx)?,
            balance: BalanceJson::from(self.balance),
            trace: self
                .trace
                .as_ref()
                .map(|t| t.iter().map(TraceJson).collect()),
        })
    }
}

/// Renders a message template against the account.
/// A fired deny or warn rule, its message rendered.
pub(crate) fn finding(ctx: &Ctx<'_>, rule: &Rule) -> Result<Finding, EvalError> {
    let message = match &rule.message {
        Some(t) => render(ctx, t)?,
        None => String::new(),
    };
    Ok(Finding {
        code: rule.code.clone(),
        message,
        rule: Some(rule.code.clone()),
        source: Some(rule.location.clone()),
    })
}

/// A next step, its message rendered.
pub(crate) fn next_step(ctx: &Ctx<'_>, id: StepId) -> Result<NextStep, EvalError> {
    let step = ctx.program.step(id).ok_or(Bug::StepId)?;
    Ok(NextStep {
        code: step.code.clone(),
        message: render(ctx, &step.message)?,
    })
}

/// A fired effect rule, its parameters evaluated.
pub(crate) fn effect(ctx: &Ctx<'_>, rule: &Rule) -> Result<Effect, EvalError> {
    let params = rule
        .params
        .iter()
        .map(|(name, node, ty)| {
            let v = ctx.eval(*node, Item::None, &mut NoTrace)?;
            Ok((name.clone(), format_value(ctx.program, *ty, v)?))
        })
        .collect::<Result<_, EvalError>>()?;
    Ok(Effect {
        code: rule.code.clone(),
        params,
        rule: rule.code.clone(),
        source: rule.location.clone(),
    })
}

pub(crate) fn render(ctx: &Ctx<'_>, t: &Template) -> Result<String, EvalError> {
    let mut out = String::new();
    for part in &t.parts {
        match part {
            TemplatePart::Text(s) => out.push_str(s),
            TemplatePart::Value {
                node,
                ty,
                format,
                fallback,
            } => {
                let v = ctx.eval(*node, Item::None, &mut NoTrace)?;
                match (v, fallback) {
                    (Value::Absent, Some(words)) => out.push_str(words),
                    (Value::Time(t), _) if *format == crate::lang::Format::Date => {
                        out.push_str(&t.date())
                    }
                    (v, _) => out.push_str(&format_value(ctx.program, *ty, v)?),
                }
            }
        }
    }
    Ok(out)
}

// ───────────── JSON ─────────────

#[derive(Serialize)]
struct DecisionJson<'a> {
    version: u32,
    policy: &'a str,
    request: RequestJson<'a>,
    outcome: Outcome,
    state: &'a str,
    reasons: Vec<FindingJson>,
    warnings: Vec<FindingJson>,
    next_steps: Vec<StepJson>,
    effects: Vec<Effect>,
    balance: BalanceJson,
    #[serde(skip_serializing_if = "Option::is_none")]
    trace: Option<Vec<TraceJson<'a>>>,
}

#[derive(Serialize)]
struct RequestJson<'a> {
    role: &'a str,
    action: &'a str,
}

#[derive(Serialize)]
pub(crate) struct FindingJson {
    code: String,
    message: String,
    rule: Option<String>,
    source: Option<String>,
}

impl From<Finding> for FindingJson {
    fn from(f: Finding) -> FindingJson {
        FindingJson {
            code: f.code,
            message: f.message,
            rule: f.rule,
            source: f.source,
        }
    }
}

#[derive(Serialize)]
pub(crate) struct StepJson {
    code: String,
    message: String,
}

/// Balance totals as canonical amount strings.
#[derive(Serialize)]
pub(crate) struct BalanceJson {
    usable: String,
    locked: String,
    expired: String,
    debt: String,
}

impl From<Balance> for BalanceJson {
    fn from(b: Balance) -> BalanceJson {
        BalanceJson {
            usable: crate::amount::format(b.usable),
            locked: crate::amount::format(b.locked),
            expired: crate::amount::format(b.expired),
            debt: crate::amount::format(b.debt),
        }
    }
}

impl Serialize for Effect {
    /// `{"code": …, <params>…, "rule": …, "source": …}`
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.params.len() + 3))?;
        map.serialize_entry("code", &self.code)?;
        for (k, v) in &self.params {
            map.serialize_entry(k, v)?;
        }
        map.serialize_entry("rule", &self.rule)?;
        map.serialize_entry("source", &self.source)?;
        map.end()
    }
}

pub(crate) struct TraceJson<'a>(pub(crate) &'a TraceStep);

impl Serialize for TraceJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.0;
        let mut map = s.serialize_map(Some(5))?;
        map.serialize_entry("kind", t.kind)?;
        map.serialize_entry("name", &t.name)?;
        map.serialize_entry("fired", &t.fired)?;
        map.serialize_entry("reads", &Reads(&t.reads))?;
        map.serialize_entry("source", &t.source)?;
        map.end()
    }
}

struct Reads<'a>(&'a [(String, String)]);

impl Serialize for Reads<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl From<NextStep> for StepJson {
    fn from(s: NextStep) -> StepJson {
        StepJson {
            code: s.code,
            message: s.message,
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod tests {
    use crate::Policy;
    use crate::compile::tests::let_chain;

    const EMPTY: &str = r#"{"now":"2026-01-01T00:00:00Z","grants":[],"debts":[]}"#;

    fn policy(extra: &str) -> Policy {
        let text =
            crate::compile::tests::POLICY.replace("on billable", &format!("{extra}\non billable"));
        Policy::from_source("p.policy", &text).unwrap()
    }

    /// A request names indices into the policy it was resolved against;
    /// on another policy they named nothing, and the decision was made
    /// for the role `""` as if it held no permission.
    #[test]
    fn a_request_from_another_policy_is_an_error() {
        let big =
            policy("role owner\nrole admin\npermit owner to billable\npermit admin to billable");
        let small = policy("");
        let request = big.request("admin", "run").unwrap();
        let account = small.snapshot_from_json(EMPTY).unwrap();
        let e = small
            .decide(&account, &request)
            .expect_err("a foreign request");
        assert_eq!(e, super::EvalError::Internal(super::Inconsistency::RoleId));
    }

    /// An account holds one value per field of the policy that validated
    /// it; a missing one was read as absent, and its default decided.
    #[test]
    fn an_account_from_another_policy_is_an_error() {
        let with_field = policy(
            "field blocked: bool default false\non billable {\n  deny blocked_rule when blocked {\n    message \"blocked\"\n  }\n}",
        );
        let without = policy("");
        let account = without.snapshot_from_json(EMPTY).unwrap();
        let request = with_field.request("member", "run").unwrap();
        let e = with_field
            .decide(&account, &request)
            .expect_err("an account without the field");
        assert_eq!(
            e,
            super::EvalError::Internal(super::Inconsistency::FieldSlot)
        );
    }

    /// About the deepest program the checker accepts decides, explains and
    /// renders on a 2 MB thread (a batch worker's), even in a debug build,
    /// whose frames are ten times a release build's.
    #[test]
    fn the_deepest_accepted_program_decides_on_a_worker_stack() {
        // 3 + 22 * 11 = 245 levels: the checker's limit is 256.
        let policy = Policy::from_source("p.policy", &let_chain(23, 10)).unwrap();
        let account = policy
            .snapshot_from_json(r#"{"now":"2026-01-01T00:00:00Z","grants":[],"debts":[]}"#)
            .unwrap();
        let request = policy.request("member", "run").unwrap();
        let text = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                let d = policy.decide_explained(&account, &request).unwrap();
                assert_eq!(d.outcome(), super::Outcome::Deny);
                d.to_json().unwrap() + &d.explain().unwrap()
            })
            .unwrap()
            .join()
            .unwrap();
        assert!(text.contains("\"deep\""), "{text}");
    }
}
