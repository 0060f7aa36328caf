//! From a solver's model to a snapshot, decided again by the evaluator.
//!
//! A model gives the account's variables; the snapshot built from them has
//! one grant per credit kind and standing (more when a total exceeds the
//! largest amount), one debt per debt kind, and the fields the model says
//! are present. It is written as JSON and read back through the snapshot
//! validator, so what is printed is exactly what `tollgate decide` reads.
//! Then it is made smaller, one change at a time, while the evaluator still
//! confirms it.

use rust_decimal::Decimal;

use crate::Policy;
use crate::compile::{ActionId, Assertion, FieldId, Program, RoleId};
use crate::decide::eval::{Ctx, Item, NoTrace};
use crate::lang::{Base, EnumRef};
use crate::snapshot::{Account, Debt, FieldValue, Grant};
use crate::time::Timestamp;

use super::encode::{Ns, Universe};
use super::solver::Sexp;
use super::{Counterexample, VerifyError};

/// Most single changes tried while making a counterexample smaller: each is
/// one snapshot validated and decided.
const MAX_SHRINK_STEPS: usize = 200;

const MICROS: i128 = 1_000_000;
const NANOS: i128 = 1_000_000_000;

fn unconfirmed(what: impl Into<String>) -> VerifyError {
    VerifyError::Unconfirmed(what.into())
}

/// The account a model describes, for the policy of `side`.
pub fn account(
    p: &Program,
    side: usize,
    u: &Universe,
    values: &[Sexp],
) -> Result<Account, VerifyError> {
    let get = |i: usize| values.get(i).ok_or_else(|| unconfirmed("a short model"));
    let int = |i: usize| -> Result<i128, VerifyError> {
        get(i)?
            .int()
            .ok_or_else(|| unconfirmed("a model value that is not an integer"))
    };
    let boolean = |i: usize| -> Result<bool, VerifyError> {
        get(i)?
            .bool()
            .ok_or_else(|| unconfirmed("a model value that is not a boolean"))
    };
    let now = time(int(0)?)?;
    let acct = int(1)?;
    let id = match text(u, acct) {
        t if t.is_empty() => None,
        t => Some(t),
    };
    let mut fields = vec![FieldValue::Absent; p.fields.len()];
    for (i, f) in u.fields.iter().enumerate() {
        let Some(slot) = f.slots.get(side).copied().flatten() else {
            continue;
        };
        let (v, present) = (2 + 2 * i, 3 + 2 * i);
        let present = boolean(present)? || !f.may_be_absent;
        if !present {
            continue;
        }
        let value = match f.base {
            Base::Bool => FieldValue::Bool(boolean(v)?),
            Base::Decimal => FieldValue::Decimal(decimal(int(v)?)?),
            Base::Time => FieldValue::Time(time(int(v)?)?),
            Base::Duration => FieldValue::Duration(
                i64::try_from(int(v)?).map_err(|_| unconfirmed("a duration out of range"))?,
            ),
            Base::Text => FieldValue::Text(text(u, int(v)?)),
            Base::Enum(_) => {
                let name = match u.name(i64::try_from(int(v)?).unwrap_or(-1)) {
                    Some((Ns::Value, name)) => name.clone(),
                    _ => return Err(unconfirmed("an enum field outside its values")),
                };
                FieldValue::Enum(local_enum_index(p, slot, &name)?)
            }
            Base::Months => continue,
        };
        if let Some(slot) = fields.get_mut(slot.index()) {
            *slot = value;
        }
    }
    let base = 2 + 2 * u.fields.len();
    let mut grants = Vec::new();
    for (k, kind) in u.credit_kinds.iter().enumerate() {
        let Some(local) = kind.index.get(side).copied().flatten() else {
            continue;
        };
        for (offset, expired) in [(0, false), (1, true)] {
            // Per kind and standing: what remains, and what was granted.
            let left = int(base + 4 * k + offset)?;
            let granted = int(base + 4 * k + 2 + offset)?.max(left);
            let suffix = if expired { "expired" } else { "open" };
            let mut to_place = left;
            for (n, chunk) in chunks(granted).into_iter().enumerate() {
                let remaining = to_place.min(chunk);
                to_place -= remaining;
                grants.push(Grant {
                    id: format!("{}-{suffix}-{}", kind.name, n + 1),
                    kind: local,
                    amount: decimal(chunk)?,
                    remaining: decimal(remaining)?,
                    granted_at: now,
                    expires_at: expired.then_some(now),
                    attrs: grant_attrs(p, now),
                });
            }
        }
    }
    let base = base + 4 * u.credit_kinds.len();
    let mut debts = Vec::new();
    for (j, kind) in u.debt_kinds.iter().enumerate() {
        let Some(local) = kind.index.get(side).copied().flatten() else {
            continue;
        };
        for (n, chunk) in chunks(int(base + j)?).into_iter().enumerate() {
            debts.push(Debt {
                id: format!("{}-{}", kind.name, n + 1),
                kind: local,
                amount: decimal(chunk)?,
                created_at: now,
            });
        }
    }
    Ok(Account {
        now,
        id,
        grants,
        debts,
        fields,
    })
}

/// Other accounts with the same totals, for a model that leaned on an
/// approximation: the snapshot built from a model has grants whose amount
/// is what remains, but a sum of `amount` over grants may need them apart.
/// Each variant grants a multiple of what remains.
fn variants(account: &Account) -> Vec<Account> {
    [2, 3, 4, 5, 10, 100]
        .iter()
        .filter_map(|&k| {
            let mut a = account.clone();
            for g in &mut a.grants {
                g.amount = g.remaining.checked_mul(Decimal::from(k))?;
            }
            Some(a)
        })
        .collect()
}

/// The first of the account and its [`variants`] that reads back valid and
/// on which `keeps` holds (the evaluator confirms it), validated.
pub fn confirmed(
    policy: &Policy,
    account: &Account,
    mut keeps: impl FnMut(&Account) -> Result<bool, VerifyError>,
) -> Result<Option<Account>, VerifyError> {
    for candidate in std::iter::once(account.clone()).chain(variants(account)) {
        let Ok((_, candidate)) = validated(policy, &candidate) else {
            continue;
        };
        if keeps(&candidate)? {
            return Ok(Some(candidate));
        }
    }
    Ok(None)
}

/// Values for grant attributes: left out where the policy has a default or
/// allows it, else the type's simplest value.
fn grant_attrs(p: &Program, now: Timestamp) -> Vec<FieldValue> {
    p.grant_attrs
        .iter()
        .map(|a| {
            if a.optional || a.default.is_some() {
                return FieldValue::Absent;
            }
            match a.ty {
                Base::Bool => FieldValue::Bool(false),
                Base::Decimal => FieldValue::Decimal(Decimal::ZERO),
                Base::Time => FieldValue::Time(now),
                Base::Duration | Base::Months => FieldValue::Duration(0),
                Base::Text => FieldValue::Text("x".to_owned()),
                Base::Enum(_) => FieldValue::Enum(0),
            }
        })
        .collect()
}

/// A total in millionths as amounts a snapshot may hold, each at most the
/// largest amount.
fn chunks(total: i128) -> Vec<i128> {
    let max = i128::from(crate::amount::MAX_WHOLE) * MICROS;
    let mut out = Vec::new();
    let mut left = total.max(0);
    while left > 0 && out.len() < crate::snapshot::MAX_ITEMS {
        let c = left.min(max);
        out.push(c);
        left -= c;
    }
    out
}

fn decimal(micros: i128) -> Result<Decimal, VerifyError> {
    Decimal::try_from_i128_with_scale(micros, 6)
        .map(|d| d.normalize())
        .map_err(|_| unconfirmed("an amount out of range"))
}

fn time(nanos: i128) -> Result<Timestamp, VerifyError> {
    let seconds =
        i64::try_from(nanos.div_euclid(NANOS)).map_err(|_| unconfirmed("a time out of range"))?;
    let sub =
        u32::try_from(nanos.rem_euclid(NANOS)).map_err(|_| unconfirmed("a time out of range"))?;
    Timestamp::from_unix(seconds, sub).ok_or_else(|| unconfirmed("a time out of range"))
}

/// The text an id stands for: a text the policy names, or a fresh one that
/// differs from all of them.
fn text(u: &Universe, id: i128) -> String {
    if let Ok(id) = i64::try_from(id) {
        if let Some((Ns::Text, s)) = u.name(id) {
            return s.clone();
        }
    }
    let mut n = id.unsigned_abs();
    loop {
        let candidate = format!("text-{n}");
        if !u.texts().any(|t| t == candidate) {
            return candidate;
        }
        n += 1;
    }
}

fn local_enum_index(p: &Program, slot: FieldId, name: &str) -> Result<u32, VerifyError> {
    let f = p.field(slot).ok_or_else(|| unconfirmed("a field slot"))?;
    let Base::Enum(EnumRef::User(e)) = f.ty else {
        return Err(unconfirmed("an enum value for a field that is not an enum"));
    };
    p.enums
        .get(e.index())
        .and_then(|e| e.values.iter().position(|v| v == name))
        .and_then(|i| u32::try_from(i).ok())
        .ok_or_else(|| unconfirmed("an enum value the policy does not have"))
}

/// The account as snapshot JSON, read back through the validator.
pub fn validated(policy: &Policy, account: &Account) -> Result<(String, Account), VerifyError> {
    let json = crate::snapshot::write::json(policy.program(), account);
    let back = policy.snapshot_from_json(&json).map_err(|e| {
        unconfirmed(format!(
            "a snapshot built from the solver's model is not valid: {}",
            e.diagnostics
                .items
                .first()
                .map_or_else(String::new, |d| d.message.clone())
        ))
    })?;
    Ok((json, back))
}

/// What the evaluator makes of an assertion on one account.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Replay {
    /// The assertion's condition is false, or the claim holds.
    Holds,
    /// The evaluator decides the request and the claim fails.
    Fails,
    /// The evaluator refuses the account (an arithmetic overflow or an
    /// inexact result) in the assertion's condition or in the decision:
    /// its error. No decision, so nothing is refuted; but the solver,
    /// computing exactly, found the assertion failing here.
    Refused(String),
}

/// The evaluator's verdict on the assertion for `account`.
pub(crate) fn replay(
    policy: &Policy,
    account: &Account,
    role: RoleId,
    action: ActionId,
    a: &Assertion,
) -> Result<Replay, VerifyError> {
    use crate::decide::EvalError;
    let p = policy.program();
    let request = crate::decide::Request { role, action };
    // Arithmetic the evaluator refuses decides nothing; anything else is a
    // bug, reported.
    let refused = |e: EvalError| match e {
        EvalError::Overflow | EvalError::Inexact => Ok(Replay::Refused(e.to_string())),
        EvalError::Internal(_) => Err(unconfirmed(e.to_string())),
    };
    let when = match a.when {
        None => true,
        Some(w) => match Ctx::new(p, account, Some((role, action)))
            .and_then(|ctx| ctx.eval_bool(w, Item::None, &mut NoTrace))
        {
            Ok(b) => b,
            Err(e) => return refused(e),
        },
    };
    if !when {
        return Ok(Replay::Holds);
    }
    let d = match policy.decide(account, &request) {
        Ok(d) => d,
        Err(e) => return refused(e),
    };
    if super::claim_holds(&a.claim, &d, p, p.permitted(role, action)) {
        Ok(Replay::Holds)
    } else {
        Ok(Replay::Fails)
    }
}

/// Whether the evaluator sees the assertion fail on `account`.
pub(crate) fn fails(
    policy: &Policy,
    account: &Account,
    role: RoleId,
    action: ActionId,
    a: &Assertion,
) -> Result<bool, VerifyError> {
    Ok(replay(policy, account, role, action, a)? == Replay::Fails)
}

/// Whether the evaluator refuses `account` for the assertion.
fn refused(
    policy: &Policy,
    account: &Account,
    role: RoleId,
    action: ActionId,
    a: &Assertion,
) -> Result<bool, VerifyError> {
    Ok(matches!(
        replay(policy, account, role, action, a)?,
        Replay::Refused(_)
    ))
}

/// What the evaluator makes of a model.
#[derive(Debug)]
pub enum Replayed {
    /// It confirms the assertion fails: a counterexample, made small.
    Confirmed(Counterexample),
    /// It cannot evaluate the policy on the account (made small): the
    /// account, and its error.
    Refused(super::Unevaluable),
    /// It decides the account and the assertion holds.
    NotConfirmed,
}

/// The counterexample a model describes, made small, if the evaluator
/// confirms it; else the account, made small, if the evaluator refuses it.
pub fn counterexample(
    policy: &Policy,
    u: &Universe,
    values: &[Sexp],
    role: RoleId,
    action: ActionId,
    a: &Assertion,
) -> Result<Replayed, VerifyError> {
    let p = policy.program();
    let built = self::account(p, 0, u, values)?;
    let (_, built) = validated(policy, &built)?;
    let Some(account) = confirmed(policy, &built, |acc| fails(policy, acc, role, action, a))?
    else {
        let refusing = |acc: &Account| refused(policy, acc, role, action, a);
        let Some(account) = confirmed(policy, &built, refusing)? else {
            return Ok(Replayed::NotConfirmed);
        };
        let small = shrink(policy, account, refusing)?;
        let (snapshot, small) = validated(policy, &small)?;
        let Replay::Refused(error) = replay(policy, &small, role, action, a)? else {
            return Err(unconfirmed(
                "an account the evaluator refused, then decided",
            ));
        };
        return Ok(Replayed::Refused(super::Unevaluable {
            role: super::role_name(p, role).to_owned(),
            action: super::action_name(p, action).to_owned(),
            snapshot,
            error,
        }));
    };
    let small = shrink(policy, account, |acc| fails(policy, acc, role, action, a))?;
    let (snapshot, small) = validated(policy, &small)?;
    let request = crate::decide::Request { role, action };
    let decision = policy
        .decide(&small, &request)
        .and_then(|d| d.to_json_pretty())
        .map_err(|e| unconfirmed(e.to_string()))?;
    Ok(Replayed::Confirmed(Counterexample {
        role: super::role_name(p, role).to_owned(),
        action: super::action_name(p, action).to_owned(),
        snapshot,
        decision,
    }))
}

/// Makes an account smaller while `keeps` holds: leaves fields out, drops
/// grants and debts, the account id, and rounds amounts to whole credits.
pub fn shrink(
    policy: &Policy,
    mut account: Account,
    mut keeps: impl FnMut(&Account) -> Result<bool, VerifyError>,
) -> Result<Account, VerifyError> {
    let mut steps = 0usize;
    let mut attempt = |candidate: Account, account: &mut Account| -> Result<(), VerifyError> {
        steps += 1;
        if steps > MAX_SHRINK_STEPS {
            return Ok(());
        }
        let Ok((_, candidate)) = validated(policy, &candidate) else {
            return Ok(());
        };
        if keeps(&candidate)? {
            *account = candidate;
        }
        Ok(())
    };
    // Passes until one changes nothing: dropping a grant can make a field
    // droppable that was not before.
    loop {
        // Past MAX_SHRINK_STEPS an attempt changes nothing, so this ends.
        let before = account.clone();
        if account.id.is_some() {
            let mut c = account.clone();
            c.id = None;
            attempt(c, &mut account)?;
        }
        for i in 0..account.fields.len() {
            if matches!(account.fields.get(i), Some(FieldValue::Absent) | None) {
                continue;
            }
            let mut c = account.clone();
            if let Some(f) = c.fields.get_mut(i) {
                *f = FieldValue::Absent;
            }
            attempt(c, &mut account)?;
        }
        let mut i = 0;
        while i < account.grants.len() {
            let mut c = account.clone();
            c.grants.remove(i);
            let count = account.grants.len();
            attempt(c, &mut account)?;
            if account.grants.len() == count {
                i += 1;
            }
        }
        let mut i = 0;
        while i < account.debts.len() {
            let mut c = account.clone();
            c.debts.remove(i);
            let count = account.debts.len();
            attempt(c, &mut account)?;
            if account.debts.len() == count {
                i += 1;
            }
        }
        for i in 0..account.grants.len() {
            let mut c = account.clone();
            if let Some(g) = c.grants.get_mut(i) {
                let whole = g.remaining.round_dp(0);
                if whole == g.remaining || whole.is_zero() {
                    continue;
                }
                g.remaining = whole;
                g.amount = g.amount.max(whole);
            }
            attempt(c, &mut account)?;
        }
        if account == before {
            break;
        }
    }
    Ok(account)
}
