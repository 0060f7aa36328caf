//! Ledger operations: charge, settle, grant and refund, as the policy's
//! spend order, debt precedence and settlement sources say.
//!
//! Every operation takes an account and returns a new one with what moved:
//! draws, voided credits, new debts and settlements. The input is never
//! changed, nothing reads a clock (new grants and debts are stamped with the
//! snapshot's `now`), and new ids are derived from the account, so the same
//! input always gives the same output.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use rust_decimal::Decimal;
use serde::Serialize;

use crate::compile::{Becomes, Program, ShortfallLine, StepId};
use crate::decide::eval::{Ctx, EvalError, Inconsistency, OpParams, Standing, kind_bit};
use crate::decide::{Effect, Explainer, Finding, NextStep, TraceStep};
use crate::diagnostic::SuggestBudget;
use crate::lang::{Base, DebtKey, GrantKey, Lifetime, Operation, RuleKind, SourceKind};
use crate::snapshot::{Account, Debt, FieldValue, Grant};
use crate::time::Timestamp;

/// Credits drawn from a grant to pay for work.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Draw {
    /// The id of the grant the credits were drawn from.
    pub grant: String,
    /// Credits drawn.
    #[serde(serialize_with = "amount")]
    pub amount: Decimal,
}

/// Credits removed from a grant by a refund.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Voided {
    /// The id of the refunded grant.
    pub grant: String,
    /// Credits voided: what was left in the grant.
    #[serde(serialize_with = "amount")]
    pub amount: Decimal,
}

/// A debt an operation created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NewDebt {
    /// The new debt's id, derived from the account so it is deterministic.
    pub id: String,
    /// The debt kind, as the policy names it.
    pub kind: String,
    /// Credits owed.
    #[serde(serialize_with = "amount")]
    pub amount: Decimal,
}

/// Credits of a grant that paid (part of) a debt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Settlement {
    /// The id of the debt paid.
    pub debt: String,
    /// The id of the grant that paid it.
    pub grant: String,
    /// Credits paid.
    #[serde(serialize_with = "amount")]
    pub amount: Decimal,
}

fn amount<S: serde::Serializer>(value: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::amount::format(*value))
}

/// Whether the policy let an operation happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LedgerOutcome {
    /// The operation was carried out.
    Applied,
    /// A `deny` rule of the operation's `on` block refused it: nothing
    /// moved, and the reasons say why.
    Refused,
}

impl LedgerOutcome {
    /// `applied` or `refused`, as the JSON writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            LedgerOutcome::Applied => "applied",
            LedgerOutcome::Refused => "refused",
        }
    }
}

/// What an operation did, and the account after it.
#[derive(Clone, Debug, PartialEq)]
pub struct LedgerResult {
    /// `charge`, `settle`, `grant` or `refund`.
    pub operation: &'static str,
    /// Whether it was carried out or refused by the policy.
    pub outcome: LedgerOutcome,
    /// Credits drawn from grants, in order.
    pub draws: Vec<Draw>,
    /// Credits voided by a refund.
    pub voided: Vec<Voided>,
    /// Debts created by the operation.
    pub new_debts: Vec<NewDebt>,
    /// Debts paid from grants, in order.
    pub settlements: Vec<Settlement>,
    /// A shortfall the policy invoices instead of holding as debt
    /// (`shortfall of charge is invoiced`); 0 when none.
    pub invoiced: Decimal,
    /// A shortfall the policy forgives (`shortfall of refund is waived`);
    /// 0 when none.
    pub waived: Decimal,
    /// Why the policy refused the operation (empty when applied).
    pub reasons: Vec<Finding>,
    /// What to do about a refusal.
    pub next_steps: Vec<NextStep>,
    /// Warnings of the operation's rules that hold after it.
    pub warnings: Vec<Finding>,
    /// Effects of the operation's rules that hold after it.
    pub effects: Vec<Effect>,
    /// What the policy evaluated to govern the operation, in order: the
    /// `shortfall` lines tried and the operation's rules, with what each
    /// read (empty when the policy has neither for it).
    pub trace: Vec<TraceStep>,
    /// The account after the operation (unchanged when refused).
    pub account: Account,
}

/// Why an operation cannot be carried out.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// The amount given is below zero.
    #[error("the amount must not be negative (it is {0})")]
    NegativeAmount(String),
    /// The amount given is larger than 10^15.
    #[error("the amount {0} is more than the largest amount, 10^15")]
    AmountTooLarge(String),
    /// The amount given has more than six digits after the point.
    #[error("the amount {0} has more than 6 digits after the point")]
    AmountTooPrecise(String),
    /// A grant's kind is not one of the policy's credit kinds.
    #[error("unknown credit kind `{name}`{}", hint(.suggestion))]
    UnknownKind {
        /// The kind as given.
        name: String,
        /// The closest known kind, if one is near.
        suggestion: Option<String>,
    },
    /// No grant in the account has the id given to refund.
    #[error("no grant has the id `{id}`{}", hint(.suggestion))]
    UnknownGrant {
        /// The id as given.
        id: String,
        /// The closest grant id in the account, if one is near.
        suggestion: Option<String>,
    },
    /// A new grant's id is already taken by a grant in the account.
    #[error("a grant with the id `{0}` already exists")]
    DuplicateId(String),
    /// A new grant would expire at or before the snapshot's `now`.
    #[error("the grant would expire at {expires_at}, not after the snapshot's now ({now})")]
    ExpiresBeforeNow {
        /// The requested expiry, as RFC 3339.
        expires_at: String,
        /// The snapshot's `now`, as RFC 3339.
        now: String,
    },
    /// A new grant's id is empty or too long.
    #[error(
        "the grant id is empty or longer than {} bytes",
        crate::snapshot::MAX_TEXT_LEN
    )]
    BadId,
    /// The operation leaves a shortfall but the policy names no debt kind for it.
    #[error(
        "the policy `{policy}` does not say what a {operation} shortfall becomes here: add `shortfall of {operation} is <debt kind>`"
    )]
    NoShortfallKind {
        /// The policy's name.
        policy: String,
        /// `charge` or `refund`.
        operation: &'static str,
    },
    /// The operation would push the account past the limit on grants or debts.
    #[error(
        "the account would hold more than {} grants or debts",
        crate::snapshot::MAX_ITEMS
    )]
    TooManyItems,
    /// A grant attribute the policy does not declare.
    #[error("the policy declares no grant attribute `{name}`{}", hint(.suggestion))]
    UnknownAttribute {
        /// The attribute as given.
        name: String,
        /// The closest declared attribute, if one is near.
        suggestion: Option<String>,
    },
    /// A grant attribute's value is not of its declared type.
    #[error("`{value}` is not a valid value for the grant attribute `{name}`: expected {expected}")]
    BadAttribute {
        /// The attribute.
        name: String,
        /// The value as given.
        value: String,
        /// What the attribute takes.
        expected: String,
    },
    /// A required grant attribute was not given.
    #[error("the grant needs the attribute `{0}`, which has no default: give it as `{0}=VALUE`")]
    MissingAttribute(String),
    /// A grant attribute was given twice.
    #[error("the grant attribute `{0}` is given twice; give each once")]
    DuplicateAttribute(String),
    /// A new grant's expiry, from its kind's lifetime, falls past year 9999.
    #[error(
        "the `{kind}` lifetime from {now} runs past the last instant a timestamp can hold (9999-12-31T23:59:59Z)"
    )]
    LifetimeOutOfRange {
        /// The credit kind.
        kind: String,
        /// The snapshot's `now`, as RFC 3339.
        now: String,
    },
    /// Evaluating the policy against the account failed.
    #[error(transparent)]
    Eval(#[from] EvalError),
}

impl LedgerError {
    /// Whether the policy, not the request, is at fault.
    pub fn is_policy_error(&self) -> bool {
        matches!(self, LedgerError::NoShortfallKind { .. })
    }

    /// The part of the request at fault, as the command line names it
    /// (`--amount`, `--attr`, ...), when the account is not where to look.
    pub fn request_part(&self) -> Option<&'static str> {
        Some(match self {
            LedgerError::NegativeAmount(_)
            | LedgerError::AmountTooLarge(_)
            | LedgerError::AmountTooPrecise(_) => "--amount",
            LedgerError::UnknownKind { .. } | LedgerError::LifetimeOutOfRange { .. } => "--kind",
            // An unknown grant or a taken id is about the account searched:
            // the snapshot is named.
            LedgerError::BadId => "--id",
            LedgerError::ExpiresBeforeNow { .. } => "--expires-at",
            LedgerError::UnknownAttribute { .. }
            | LedgerError::BadAttribute { .. }
            | LedgerError::MissingAttribute(_)
            | LedgerError::DuplicateAttribute(_) => "--attr",
            _ => return None,
        })
    }
}

fn hint(suggestion: &Option<String>) -> String {
    suggestion
        .as_ref()
        .map_or_else(String::new, |s| format!("; did you mean `{s}`?"))
}

/// A new grant, before it is added.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct GrantSpec {
    /// The credit kind, as the policy names it.
    pub kind: String,
    /// Credits granted.
    pub amount: Decimal,
    /// The grant's id; `None` derives a fresh one from the account.
    pub id: Option<String>,
    /// When the grant expires; `None` for the kind's lifetime
    /// (`expire purchased after 1y`), or never when it has none.
    pub expires_at: Option<Timestamp>,
    /// Values of the policy's grant attributes, by name, as text
    /// (`("priority", "5")`); left out ones take their defaults.
    pub attributes: Vec<(String, String)>,
}

/// Checks an amount given to an operation: exact, non-negative, in range.
pub fn check_amount(value: Decimal) -> Result<Decimal, LedgerError> {
    let text = crate::amount::format(value);
    if value.is_sign_negative() && !value.is_zero() {
        return Err(LedgerError::NegativeAmount(text));
    }
    if value > crate::amount::max() {
        return Err(LedgerError::AmountTooLarge(text));
    }
    if value.normalize().scale() > crate::amount::MAX_SCALE {
        return Err(LedgerError::AmountTooPrecise(text));
    }
    Ok(value)
}

/// Draws `amount` for admitted work from usable grants in spend order; what
/// they cannot cover becomes what the policy's `shortfall of charge` lines
/// say: a debt, or an invoiced amount. The `on charge` rules may refuse it.
pub fn charge(
    p: &Program,
    account: &Account,
    amount: Decimal,
) -> Result<LedgerResult, LedgerError> {
    let amount = check_amount(amount)?;
    let mut out = LedgerResult::new("charge", account.clone());
    let mut params = OpParams {
        charge_amount: Some(amount),
        charge_shortfall: Some(Decimal::ZERO),
        ..OpParams::default()
    };
    if !amount.is_zero() {
        let ctx = Ctx::new(p, account, None)?;
        let mut owed = amount;
        for i in spend_order(p, &ctx, Standing::Usable) {
            if owed.is_zero() {
                break;
            }
            let Some(g) = out.account.grants.get_mut(i) else {
                continue;
            };
            let take = owed.min(g.remaining);
            if take.is_zero() {
                continue;
            }
            g.remaining -= take;
            owed -= take;
            out.draws.push(Draw {
                grant: g.id.clone(),
                amount: take,
            });
        }
        params.charge_shortfall = Some(owed);
        if !owed.is_zero() {
            let ctx = ctx.with_op(&params);
            let lines = &p.charge_shortfall;
            let becomes = match shortfall(p, lines, &ctx, "charge", &mut out.trace) {
                Ok(becomes) => becomes,
                Err(e) => return refused_or(e, p, Operation::Charge, account, out, params),
            };
            out.owe(p, becomes, owed)?;
        }
    }
    govern(p, Operation::Charge, account, out, params)
}

/// When no `shortfall` line says what a shortfall becomes, the operation
/// cannot be carried out; but if the policy's rules refuse it anyway (on
/// the account as far as it got), the refusal is the answer, not the
/// policy's gap.
fn refused_or(
    e: LedgerError,
    p: &Program,
    op: Operation,
    before: &Account,
    partial: LedgerResult,
    params: OpParams<'_>,
) -> Result<LedgerResult, LedgerError> {
    if !matches!(e, LedgerError::NoShortfallKind { .. }) {
        return Err(e);
    }
    let r = govern(p, op, before, partial, params)?;
    if r.outcome == LedgerOutcome::Refused {
        Ok(r)
    } else {
        Err(e)
    }
}

/// Pays debts in the policy's precedence, each from its sources in order.
pub fn settle(p: &Program, account: &Account) -> Result<LedgerResult, LedgerError> {
    let mut out = LedgerResult::new("settle", account.clone());
    out.settle(p)?;
    govern(p, Operation::Settle, account, out, OpParams::default())
}

/// Adds a grant stamped with the snapshot's `now` (expiring after its
/// kind's lifetime when no expiry is given), then settles: newly granted
/// credits pay debt first. The `on grant` rules may refuse it.
pub fn grant(
    p: &Program,
    account: &Account,
    spec: &GrantSpec,
) -> Result<LedgerResult, LedgerError> {
    let amount = check_amount(spec.amount)?;
    let kind = p
        .credit_kinds
        .iter()
        .position(|k| *k == spec.kind)
        .ok_or_else(|| LedgerError::UnknownKind {
            name: spec.kind.clone(),
            suggestion: suggest_id(&spec.kind, p.credit_kinds.iter().map(String::as_str)),
        })?;
    let expires_at = match (spec.expires_at, p.lifetimes.get(kind).copied().flatten()) {
        (Some(at), _) => Some(at),
        (None, Some(lifetime)) => {
            let at = match lifetime {
                Lifetime::Seconds(s) => account.now.add_seconds(s),
                Lifetime::Months(m) => account.now.add_months(m),
            };
            Some(at.ok_or_else(|| LedgerError::LifetimeOutOfRange {
                kind: spec.kind.clone(),
                now: account.now.to_string(),
            })?)
        }
        (None, None) => None,
    };
    if let Some(expires_at) = expires_at {
        if expires_at <= account.now {
            return Err(LedgerError::ExpiresBeforeNow {
                expires_at: expires_at.to_string(),
                now: account.now.to_string(),
            });
        }
    }
    if account.grants.len() >= crate::snapshot::MAX_ITEMS {
        return Err(LedgerError::TooManyItems);
    }
    let attrs = grant_attributes(p, &spec.attributes)?;
    let id = match &spec.id {
        Some(id) if id.is_empty() || id.len() > crate::snapshot::MAX_TEXT_LEN => {
            return Err(LedgerError::BadId);
        }
        Some(id) if account.grants.iter().any(|g| g.id == *id) => {
            return Err(LedgerError::DuplicateId(id.clone()));
        }
        Some(id) => id.clone(),
        None => fresh_id(
            &spec.kind,
            account.now,
            account.grants.iter().map(|g| g.id.as_str()),
        ),
    };
    let mut out = LedgerResult::new("grant", account.clone());
    let new_grant = Grant {
        id,
        kind: kind as u32,
        amount,
        remaining: amount,
        granted_at: account.now,
        expires_at,
        attrs,
    };
    out.account.grants.push(new_grant.clone());
    out.settle(p)?;
    let params = OpParams {
        grant: Some(&new_grant),
        ..OpParams::default()
    };
    govern(p, Operation::Grant, account, out, params)
}

/// The policy's grant attributes for a new grant, in declaration order:
/// each given one parsed by its type, the rest their defaults.
fn grant_attributes(
    p: &Program,
    given: &[(String, String)],
) -> Result<Vec<FieldValue>, LedgerError> {
    let mut values: Vec<Option<FieldValue>> = vec![None; p.grant_attrs.len()];
    for (i, (name, text)) in given.iter().enumerate() {
        if given.iter().take(i).any(|(n, _)| n == name) {
            return Err(LedgerError::DuplicateAttribute(name.clone()));
        }
        let Some(i) = p
            .grant_attrs
            .iter()
            .position(|a| a.path.first() == Some(name))
        else {
            return Err(LedgerError::UnknownAttribute {
                name: name.clone(),
                suggestion: suggest_id(
                    name,
                    p.grant_attrs
                        .iter()
                        .filter_map(|a| a.path.first().map(String::as_str)),
                ),
            });
        };
        let attr = p.grant_attrs.get(i).ok_or(EvalError::Internal(
            crate::decide::eval::Inconsistency::ItemField,
        ))?;
        let bad = |expected: &str| LedgerError::BadAttribute {
            name: name.clone(),
            value: text.clone(),
            expected: expected.to_owned(),
        };
        let value = match attr.ty {
            Base::Bool => match text.as_str() {
                "true" => FieldValue::Bool(true),
                "false" => FieldValue::Bool(false),
                _ => return Err(bad("`true` or `false`")),
            },
            Base::Decimal => FieldValue::Decimal(
                crate::amount::parse(text).map_err(|_| bad("an amount, like `12.5`"))?,
            ),
            Base::Time => FieldValue::Time(
                Timestamp::parse(text)
                    .map_err(|_| bad("a timestamp, like `2026-11-22T10:00:00Z`"))?,
            ),
            Base::Duration => FieldValue::Duration(
                crate::time::parse_duration(text).ok_or_else(|| bad("a duration, like `7d`"))?,
            ),
            Base::Text if text.len() <= crate::snapshot::MAX_TEXT_LEN => {
                FieldValue::Text(text.clone())
            }
            Base::Enum(crate::lang::EnumRef::User(e)) => {
                let values = p
                    .enums
                    .get(e.index())
                    .map_or(&[][..], |e| e.values.as_slice());
                match values.iter().position(|v| v == text) {
                    Some(v) => FieldValue::Enum(v as u32),
                    None => {
                        let words: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
                        return Err(bad(&format!("one of {}", words.join(", "))));
                    }
                }
            }
            _ => return Err(bad("a shorter text")),
        };
        if let Some(slot) = values.get_mut(i) {
            *slot = Some(value);
        }
    }
    p.grant_attrs
        .iter()
        .zip(values)
        .map(|(a, v)| match (v, &a.default) {
            (Some(v), _) => Ok(v),
            (None, Some(d)) => Ok(FieldValue::from_literal(d)),
            (None, None) if a.optional => Ok(FieldValue::Absent),
            (None, None) => Err(LedgerError::MissingAttribute(a.dotted())),
        })
        .collect()
}

/// Refunds or disputes a grant: its remaining credits are voided and the
/// grant leaves the account; its used credits become what the policy's
/// `shortfall of refund` lines say; then debts are settled. The `on refund`
/// rules may refuse it.
pub fn refund(
    p: &Program,
    account: &Account,
    grant_id: &str,
    dispute: bool,
) -> Result<LedgerResult, LedgerError> {
    let index = account
        .grants
        .iter()
        .position(|g| g.id == grant_id)
        .ok_or_else(|| LedgerError::UnknownGrant {
            id: grant_id.to_owned(),
            suggestion: suggest_id(grant_id, account.grants.iter().map(|g| g.id.as_str())),
        })?;
    let mut out = LedgerResult::new("refund", account.clone());
    let g = out.account.grants.remove(index);
    if !g.remaining.is_zero() {
        out.voided.push(Voided {
            grant: g.id.clone(),
            amount: g.remaining,
        });
    }
    let params = OpParams {
        grant: Some(&g),
        refund_dispute: Some(dispute),
        ..OpParams::default()
    };
    let used = g.amount - g.remaining;
    if used > Decimal::ZERO {
        let ctx = Ctx::new(p, account, None)?.with_op(&params);
        let becomes = match shortfall(p, &p.refund_shortfall, &ctx, "refund", &mut out.trace) {
            Ok(becomes) => becomes,
            Err(e) => return refused_or(e, p, Operation::Refund, account, out, params),
        };
        out.owe(p, becomes, used)?;
    }
    out.settle(p)?;
    govern(p, Operation::Refund, account, out, params)
}

/// What a shortfall becomes: the first line whose condition holds on the
/// account before the operation.
fn shortfall(
    p: &Program,
    lines: &[ShortfallLine],
    ctx: &Ctx<'_>,
    operation: &'static str,
    trace: &mut Vec<TraceStep>,
) -> Result<Becomes, LedgerError> {
    let mut found = None;
    let mut explainer = Explainer::new(p, trace);
    for line in lines {
        let holds = explainer.holds(ctx, line.when)?;
        let becomes = match line.becomes {
            Becomes::Debt(k) => p.debt_kinds.get(k as usize).map_or("?", String::as_str),
            Becomes::Invoiced => "invoiced",
            Becomes::Waived => "waived",
        };
        explainer.record(
            "shortfall",
            &format!("{operation} is {becomes}"),
            holds,
            Some(line.span),
        );
        if holds {
            found = Some(line.becomes);
            break;
        }
    }
    explainer.finish()?;
    if let Some(becomes) = found {
        return Ok(becomes);
    }
    Err(LedgerError::NoShortfallKind {
        policy: p.name.clone(),
        operation,
    })
}

/// Applies the rules of the operation's `on` block to its result: the
/// rules see the account after it, `before.` the account before it, and
/// the operation's parameters. A `deny` that holds refuses the operation:
/// nothing moves and the reasons and next steps say why. Otherwise the
/// warnings and effects that hold are reported.
fn govern(
    p: &Program,
    op: Operation,
    before: &Account,
    mut out: LedgerResult,
    params: OpParams<'_>,
) -> Result<LedgerResult, LedgerError> {
    let rules = p.operation_rules(op);
    if rules.is_empty() {
        return Ok(out);
    }
    let before_ctx = Ctx::new(p, before, None)?;
    let mut trace = std::mem::take(&mut out.trace);
    let (reasons, next_steps, warnings, effects) = {
        let op = OpParams {
            before: Some(&before_ctx),
            ..params
        };
        let ctx = Ctx::new(p, &out.account, None)?.with_op(&op);
        let mut explainer = Explainer::new(p, &mut trace);
        let rule = |id| p.rule(id).ok_or(EvalError::Internal(Inconsistency::RuleId));
        let mut denied = Vec::new();
        for &id in rules {
            let r = rule(id)?;
            if r.kind == RuleKind::Deny {
                let fired = explainer.holds(&ctx, r.when)?;
                explainer.record("deny", &r.code, fired, Some(r.span));
                if fired {
                    denied.push(r);
                }
            }
        }
        let mut reasons = Vec::new();
        let mut steps: Vec<StepId> = Vec::new();
        let mut warnings = Vec::new();
        let mut effects = Vec::new();
        if denied.is_empty() {
            for &id in rules {
                let r = rule(id)?;
                if r.kind == RuleKind::Deny {
                    continue;
                }
                let fired = explainer.holds(&ctx, r.when)?;
                explainer.record(r.kind.keyword(), &r.code, fired, Some(r.span));
                if !fired {
                    continue;
                }
                match r.kind {
                    RuleKind::Warn => warnings.push(crate::decide::finding(&ctx, r)?),
                    _ => effects.push(crate::decide::effect(&ctx, r)?),
                }
            }
        } else {
            for r in denied {
                reasons.push(crate::decide::finding(&ctx, r)?);
                // Operations have no role: only `steps { ... }` applies.
                let Some(clause) = r.steps.first() else {
                    continue;
                };
                for &(id, when, span) in &clause.steps {
                    let offered = explainer.holds(&ctx, when)?;
                    let code = p.step(id).map_or("?", |s| s.code.as_str());
                    explainer.record("step", code, offered, Some(span));
                    if offered && !steps.contains(&id) {
                        steps.push(id);
                    }
                }
            }
        }
        explainer.finish()?;
        let next_steps = steps
            .into_iter()
            .map(|id| crate::decide::next_step(&ctx, id))
            .collect::<Result<Vec<_>, EvalError>>()?;
        (reasons, next_steps, warnings, effects)
    };
    if !reasons.is_empty() {
        let mut refused = LedgerResult::new(out.operation, before.clone());
        refused.outcome = LedgerOutcome::Refused;
        refused.reasons = reasons;
        refused.next_steps = next_steps;
        refused.trace = trace;
        return Ok(refused);
    }
    out.trace = trace;
    out.warnings = warnings;
    out.effects = effects;
    Ok(out)
}

impl LedgerResult {
    fn new(operation: &'static str, account: Account) -> LedgerResult {
        LedgerResult {
            operation,
            outcome: LedgerOutcome::Applied,
            draws: Vec::new(),
            voided: Vec::new(),
            new_debts: Vec::new(),
            settlements: Vec::new(),
            invoiced: Decimal::ZERO,
            waived: Decimal::ZERO,
            reasons: Vec::new(),
            next_steps: Vec::new(),
            warnings: Vec::new(),
            effects: Vec::new(),
            trace: Vec::new(),
            account,
        }
    }

    /// Records a shortfall: a new debt, an invoice, or a waiver.
    fn owe(&mut self, p: &Program, becomes: Becomes, amount: Decimal) -> Result<(), LedgerError> {
        let total = match becomes {
            Becomes::Debt(kind) => return self.add_debt(p, kind, amount),
            Becomes::Invoiced => &mut self.invoiced,
            Becomes::Waived => &mut self.waived,
        };
        *total = total.checked_add(amount).ok_or(EvalError::Overflow)?;
        Ok(())
    }

    fn add_debt(&mut self, p: &Program, kind: u32, amount: Decimal) -> Result<(), LedgerError> {
        if self.account.debts.len() >= crate::snapshot::MAX_ITEMS {
            return Err(LedgerError::TooManyItems);
        }
        let kind_name = p.debt_kinds.get(kind as usize).cloned().unwrap_or_default();
        let id = fresh_id(
            &kind_name,
            self.account.now,
            self.account.debts.iter().map(|d| d.id.as_str()),
        );
        self.new_debts.push(NewDebt {
            id: id.clone(),
            kind: kind_name,
            amount,
        });
        self.account.debts.push(Debt {
            id,
            kind,
            amount,
            created_at: self.account.now,
        });
        Ok(())
    }

    /// Pays each debt in precedence order from its sources, in spend order;
    /// paid debts leave the account, partly paid ones keep the rest.
    fn settle(&mut self, p: &Program) -> Result<(), LedgerError> {
        // Standings depend on the account's fields, not on the amounts that
        // move here, so one context serves the whole settlement.
        let snapshot = self.account.clone();
        let ctx = Ctx::new(p, &snapshot, None)?;
        let mut remaining: Vec<Decimal> = snapshot.grants.iter().map(|g| g.remaining).collect();
        let mut owed: Vec<Decimal> = snapshot.debts.iter().map(|d| d.amount).collect();
        let mut moves = Vec::new();
        settle_core(p, &ctx, &mut remaining, &mut owed, |debt, grant, amount| {
            moves.push((debt, grant, amount));
        });
        for (d, g, amount) in moves {
            if let (Some(debt), Some(grant)) = (snapshot.debts.get(d), snapshot.grants.get(g)) {
                self.settlements.push(Settlement {
                    debt: debt.id.clone(),
                    grant: grant.id.clone(),
                    amount,
                });
            }
        }
        for (g, left) in self.account.grants.iter_mut().zip(remaining) {
            g.remaining = left;
        }
        for (d, left) in self.account.debts.iter_mut().zip(owed) {
            d.amount = left;
        }
        self.account.debts.retain(|d| !d.amount.is_zero());
        Ok(())
    }
}

/// The settlement algorithm, on amounts only: pays each debt (`owed`, by
/// the account's debt index) in precedence order from its sources, taking
/// from grants (`remaining`, by grant index) in spend order, and reports
/// each payment as `(debt, grant, amount)`. `settle` and the `settleable`
/// quantity share it, so they cannot disagree.
pub(crate) fn settle_core(
    p: &Program,
    ctx: &Ctx<'_>,
    remaining: &mut [Decimal],
    owed: &mut [Decimal],
    mut paid: impl FnMut(usize, usize, Decimal),
) {
    let usable = spend_order(p, ctx, Standing::Usable);
    let locked = spend_order(p, ctx, Standing::Locked);
    // Where each walk over a source resumes. Grants before a cursor are
    // empty, or may not pay the debts that share the cursor, and stay so:
    // credits only leave grants here. So each grant is passed once per
    // cursor, not once per debt. A cursor is shared by the debt kinds with
    // the same source, credit kinds allowed (`only`), and, for locked
    // credits, debt kind (what a lock may settle depends on it).
    let mut cursors: HashMap<(SourceKind, u32, u32), usize> = HashMap::new();
    for d in debt_order(p, &ctx.account.debts) {
        let Some(debt) = ctx.account.debts.get(d) else {
            continue;
        };
        let debt_kind = debt.kind;
        let Some(slot) = owed.get_mut(d) else {
            continue;
        };
        let only = p
            .settle_only
            .get(debt_kind as usize)
            .copied()
            .unwrap_or(u32::MAX);
        let sources = p
            .settle_sources
            .get(debt_kind as usize)
            .map_or(&[][..], Vec::as_slice);
        for source in sources {
            let (grants, key) = match source {
                SourceKind::Usable => (&usable, (*source, only, u32::MAX)),
                SourceKind::Locked => (&locked, (*source, only, debt_kind)),
            };
            let at = cursors.entry(key).or_insert(0);
            while !slot.is_zero() {
                let Some(&i) = grants.get(*at) else {
                    break;
                };
                let (Some(g), Some(left)) = (ctx.account.grants.get(i), remaining.get_mut(i))
                else {
                    *at += 1;
                    continue;
                };
                let allowed = only & kind_bit(g.kind) != 0
                    && (*source == SourceKind::Usable || ctx.locked_may_settle(g.kind, debt_kind));
                if !allowed {
                    *at += 1;
                    continue;
                }
                let take = (*slot).min(*left);
                *left -= take;
                *slot -= take;
                if !take.is_zero() {
                    paid(d, i, take);
                }
                if left.is_zero() {
                    *at += 1;
                }
            }
        }
    }
}

/// Indices of the grants of one standing that the spend order draws, in
/// that order: by the policy's keys (the kind among them where it counts),
/// then position.
fn spend_order(p: &Program, ctx: &Ctx<'_>, standing: Standing) -> Vec<usize> {
    let rank = |g: &Grant| {
        let drawn = ctx.standing(g) == standing;
        p.spend_rank
            .get(g.kind as usize)
            .copied()
            .flatten()
            .filter(|_| drawn)
    };
    ranked(&ctx.account.grants, rank, |a, b| {
        by_keys(&p.spend_keys, |key, descending| {
            let directed = |o: Ordering| if descending { o.reverse() } else { o };
            match key {
                GrantKey::Kind => {
                    directed(rank_of(&p.spend_rank, a.kind).cmp(&rank_of(&p.spend_rank, b.kind)))
                }
                // A grant that never expires counts as expiring after every
                // grant that does: last ascending, first descending.
                GrantKey::ExpiresAt => {
                    directed(absent_last(a.expires_at, b.expires_at, |x, y| x.cmp(y)))
                }
                GrantKey::GrantedAt => directed(a.granted_at.cmp(&b.granted_at)),
                GrantKey::Id => directed(a.id.cmp(&b.id)),
                GrantKey::Amount => directed(a.amount.cmp(&b.amount)),
                GrantKey::Remaining => directed(a.remaining.cmp(&b.remaining)),
                // An attribute left out has no value to order by: it comes
                // after every grant that has one, whatever the direction.
                GrantKey::Attr(i) => compare_attr(a.attrs.get(i), b.attrs.get(i), descending),
            }
        })
    })
}

/// A kind's place in an order's kind list.
fn rank_of(ranks: &[Option<u8>], kind: u32) -> Option<u8> {
    ranks.get(kind as usize).copied().flatten()
}

/// Compares two optional values; an absent one sorts after every present
/// one, whichever the direction of the key.
fn absent_last<T>(a: Option<T>, b: Option<T>, cmp: impl Fn(&T, &T) -> Ordering) -> Ordering {
    match (a, b) {
        (Some(x), Some(y)) => cmp(&x, &y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// Orders two values of one grant attribute: numbers, times, durations,
/// text and booleans by value, enum values in declaration order, an
/// absent value after every present one.
fn compare_attr(a: Option<&FieldValue>, b: Option<&FieldValue>, descending: bool) -> Ordering {
    fn present(v: Option<&FieldValue>) -> Option<&FieldValue> {
        v.filter(|v| **v != FieldValue::Absent)
    }
    absent_last(present(a), present(b), |x, y| {
        let o = match (x, y) {
            (FieldValue::Decimal(x), FieldValue::Decimal(y)) => x.cmp(y),
            (FieldValue::Time(x), FieldValue::Time(y)) => x.cmp(y),
            (FieldValue::Duration(x), FieldValue::Duration(y)) => x.cmp(y),
            (FieldValue::Text(x), FieldValue::Text(y)) => x.cmp(y),
            (FieldValue::Bool(x), FieldValue::Bool(y)) => x.cmp(y),
            (FieldValue::Enum(x), FieldValue::Enum(y)) => x.cmp(y),
            _ => Ordering::Equal,
        };
        if descending { o.reverse() } else { o }
    })
}

/// Indices of the debts the settle order covers, first settled first.
fn debt_order(p: &Program, debts: &[Debt]) -> Vec<usize> {
    let rank = |d: &Debt| p.settle_rank.get(d.kind as usize).copied().flatten();
    ranked(debts, rank, |a, b| {
        by_keys(&p.settle_keys, |key, descending| {
            let o = match key {
                DebtKey::Kind => {
                    rank_of(&p.settle_rank, a.kind).cmp(&rank_of(&p.settle_rank, b.kind))
                }
                DebtKey::CreatedAt => a.created_at.cmp(&b.created_at),
                DebtKey::Id => a.id.cmp(&b.id),
                DebtKey::Amount => a.amount.cmp(&b.amount),
            };
            if descending { o.reverse() } else { o }
        })
    })
}

/// Indices of the items that have a rank (that the order covers), ordered
/// by `keys`, then by position (so the order is total and the output
/// deterministic).
fn ranked<T>(
    items: &[T],
    rank: impl Fn(&T) -> Option<u8>,
    keys: impl Fn(&T, &T) -> Ordering,
) -> Vec<usize> {
    let mut order: Vec<(usize, &T)> = items
        .iter()
        .enumerate()
        .filter(|(_, item)| rank(item).is_some())
        .collect();
    order.sort_by(|(a, x), (b, y)| keys(x, y).then(a.cmp(b)));
    order.into_iter().map(|(i, _)| i).collect()
}

/// The first of the policy's sort keys that tells two items apart;
/// `compare` applies the key's direction (`true`: descending).
fn by_keys<K: Copy>(keys: &[(K, bool)], compare: impl Fn(K, bool) -> Ordering) -> Ordering {
    for &(key, descending) in keys {
        let o = compare(key, descending);
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// `purchased-20261122T100000Z`, with `-2`, `-3`, ... when taken: derived
/// from the account alone, so the same input names things the same way.
/// The taken ids are indexed once, so finding a free one is linear in them.
fn fresh_id<'a>(prefix: &str, now: Timestamp, taken: impl Iterator<Item = &'a str>) -> String {
    let stamp: String = now
        .to_string()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
        .collect();
    let base = format!("{prefix}-{stamp}");
    let taken: HashSet<&str> = taken.collect();
    if !taken.contains(base.as_str()) {
        return base;
    }
    // At most `taken.len()` suffixes are taken, so one of the first
    // `taken.len() + 1` is free: the search ends within that bound.
    (2..=taken.len() as u64 + 2)
        .map(|n| format!("{base}-{n}"))
        .find(|id| !taken.contains(id.as_str()))
        .unwrap_or(base)
}

/// Did-you-mean for an id the account does not hold. An id longer than a
/// policy name is not a typo of one (ids are short in practice), and at
/// most [`MAX_SUGGESTION_CANDIDATES`] ids of a close length are compared,
/// so the search is bounded however large the account or the id.
fn suggest_id<'a>(wrong: &str, ids: impl Iterator<Item = &'a str>) -> Option<String> {
    if wrong.len() > crate::parse::MAX_NAME_LEN {
        return None;
    }
    // `suggest` allows an edit distance of a third of the length, and a
    // distance is at least the difference in length.
    let slack = wrong.len() / 3 + 1;
    let near = ids
        .filter(|id| id.len().abs_diff(wrong.len()) <= slack || id.starts_with(wrong))
        .take(MAX_SUGGESTION_CANDIDATES);
    let budget = SuggestBudget::single(ID_SUGGEST_WORK);
    crate::diagnostic::suggest_within(&budget, wrong, near).map(str::to_owned)
}

/// Most ids compared for a did-you-mean: each comparison costs up to
/// `MAX_NAME_LEN`² steps, so this keeps the search to milliseconds.
const MAX_SUGGESTION_CANDIDATES: usize = 1_000;

/// The work of one id look-up: enough to compare every one of
/// [`MAX_SUGGESTION_CANDIDATES`] ids of the longest suggestible length, so
/// the best candidate is found rather than the best of the first few
/// (about 16 million table cells: tens of milliseconds, once per command).
const ID_SUGGEST_WORK: u64 = (MAX_SUGGESTION_CANDIDATES
    * (crate::parse::MAX_NAME_LEN + 1)
    * (crate::parse::MAX_NAME_LEN + 1)) as u64;
