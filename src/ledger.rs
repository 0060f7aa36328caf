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

use crate::compile::Program;
use crate::decide::eval::{Ctx, EvalError, Standing};
use crate::diagnostic::SuggestBudget;
use crate::lang::{DebtKey, GrantKey, SourceKind};
use crate::snapshot::{Account, Debt, Grant};
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

/// What an operation did, and the account after it.
#[derive(Clone, Debug, PartialEq)]
pub struct LedgerResult {
    /// `charge`, `settle`, `grant` or `refund`.
    pub operation: &'static str,
    /// Credits drawn from grants, in order.
    pub draws: Vec<Draw>,
    /// Credits voided by a refund.
    pub voided: Vec<Voided>,
    /// Debts created by the operation.
    pub new_debts: Vec<NewDebt>,
    /// Debts paid from grants, in order.
    pub settlements: Vec<Settlement>,
    /// The account after the operation.
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
        "the policy `{policy}` does not say what debt a {operation} shortfall becomes: add `shortfall of {operation} is <debt kind>`"
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
    /// Evaluating the policy against the account failed.
    #[error(transparent)]
    Eval(#[from] EvalError),
}

impl LedgerError {
    /// Whether the policy, not the request, is at fault.
    pub fn is_policy_error(&self) -> bool {
        matches!(self, LedgerError::NoShortfallKind { .. })
    }
}

fn hint(suggestion: &Option<String>) -> String {
    suggestion
        .as_ref()
        .map_or_else(String::new, |s| format!("; did you mean `{s}`?"))
}

/// A new grant, before it is added.
#[derive(Clone, Debug, PartialEq)]
pub struct GrantSpec {
    /// The credit kind, as the policy names it.
    pub kind: String,
    /// Credits granted.
    pub amount: Decimal,
    /// The grant's id; `None` derives a fresh one from the account.
    pub id: Option<String>,
    /// When the grant expires; `None` for never.
    pub expires_at: Option<Timestamp>,
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
/// they cannot cover becomes one debt of the policy's charge shortfall kind.
pub fn charge(
    p: &Program,
    account: &Account,
    amount: Decimal,
) -> Result<LedgerResult, LedgerError> {
    let amount = check_amount(amount)?;
    let mut out = LedgerResult::new("charge", account.clone());
    if amount.is_zero() {
        return Ok(out);
    }
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
    if !owed.is_zero() {
        let kind = p
            .charge_shortfall
            .ok_or_else(|| LedgerError::NoShortfallKind {
                policy: p.name.clone(),
                operation: "charge",
            })?;
        out.add_debt(p, kind, owed)?;
    }
    Ok(out)
}

/// Pays debts in the policy's precedence, each from its sources in order.
pub fn settle(p: &Program, account: &Account) -> Result<LedgerResult, LedgerError> {
    let mut out = LedgerResult::new("settle", account.clone());
    out.settle(p)?;
    Ok(out)
}

/// Adds a grant stamped with the snapshot's `now`, then settles: newly
/// granted credits pay debt first.
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
    if let Some(expires_at) = spec.expires_at {
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
    out.account.grants.push(Grant {
        id,
        kind: kind as u32,
        amount,
        remaining: amount,
        granted_at: account.now,
        expires_at: spec.expires_at,
    });
    out.settle(p)?;
    Ok(out)
}

/// Refunds or disputes a grant: its remaining credits are voided and the
/// grant leaves the account; its used credits become a debt of the policy's
/// refund shortfall kind; then debts are settled.
pub fn refund(p: &Program, account: &Account, grant_id: &str) -> Result<LedgerResult, LedgerError> {
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
    let used = g.amount - g.remaining;
    if used > Decimal::ZERO {
        let kind = p
            .refund_shortfall
            .ok_or_else(|| LedgerError::NoShortfallKind {
                policy: p.name.clone(),
                operation: "refund",
            })?;
        out.add_debt(p, kind, used)?;
    }
    out.settle(p)?;
    Ok(out)
}

impl LedgerResult {
    fn new(operation: &'static str, account: Account) -> LedgerResult {
        LedgerResult {
            operation,
            draws: Vec::new(),
            voided: Vec::new(),
            new_debts: Vec::new(),
            settlements: Vec::new(),
            account,
        }
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
        let usable = spend_order(p, &ctx, Standing::Usable);
        let locked = spend_order(p, &ctx, Standing::Locked);
        // Where each walk over a source resumes. Grants before a cursor are
        // empty (or, for locked credits, may not settle that debt kind), and
        // stay so: credits only leave grants here. So each grant is passed
        // once per cursor, not once per debt. Usable credits settle every
        // debt kind: one cursor. Locked ones depend on the debt kind: one
        // cursor per kind that has debts.
        let mut usable_at = 0;
        let mut locked_at: HashMap<u32, usize> = HashMap::new();
        for d in debt_order(p, &self.account.debts) {
            let Some(debt) = self.account.debts.get(d) else {
                continue;
            };
            let (debt_id, debt_kind) = (debt.id.clone(), debt.kind);
            let mut owed = debt.amount;
            let sources = p
                .settle_sources
                .get(debt_kind as usize)
                .map_or(&[][..], Vec::as_slice);
            for source in sources {
                let (grants, at) = match source {
                    SourceKind::Usable => (&usable, &mut usable_at),
                    SourceKind::Locked => (&locked, locked_at.entry(debt_kind).or_insert(0)),
                };
                while !owed.is_zero() {
                    let Some(&i) = grants.get(*at) else {
                        break;
                    };
                    let Some(g) = self.account.grants.get_mut(i) else {
                        *at += 1;
                        continue;
                    };
                    if *source == SourceKind::Locked && !ctx.locked_may_settle(g.kind, debt_kind) {
                        *at += 1;
                        continue;
                    }
                    let take = owed.min(g.remaining);
                    g.remaining -= take;
                    owed -= take;
                    if !take.is_zero() {
                        self.settlements.push(Settlement {
                            debt: debt_id.clone(),
                            grant: g.id.clone(),
                            amount: take,
                        });
                    }
                    if g.remaining.is_zero() {
                        *at += 1;
                    }
                }
            }
            if let Some(debt) = self.account.debts.get_mut(d) {
                debt.amount = owed;
            }
        }
        self.account.debts.retain(|d| !d.amount.is_zero());
        Ok(())
    }
}

/// Indices of the grants of one standing that the spend order draws, in
/// that order: by kind, then the policy's keys, then position.
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
        by_keys(&p.spend_keys, |key| match key {
            // A grant that never expires sorts after every grant that does.
            GrantKey::ExpiresAt => match (a.expires_at, b.expires_at) {
                (Some(x), Some(y)) => x.cmp(&y),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            },
            GrantKey::GrantedAt => a.granted_at.cmp(&b.granted_at),
            GrantKey::Id => a.id.cmp(&b.id),
            GrantKey::Amount => a.amount.cmp(&b.amount),
            GrantKey::Remaining => a.remaining.cmp(&b.remaining),
        })
    })
}

/// Indices of the debts the settle order covers, first settled first.
fn debt_order(p: &Program, debts: &[Debt]) -> Vec<usize> {
    let rank = |d: &Debt| p.settle_rank.get(d.kind as usize).copied().flatten();
    ranked(debts, rank, |a, b| {
        by_keys(&p.settle_keys, |key| match key {
            DebtKey::CreatedAt => a.created_at.cmp(&b.created_at),
            DebtKey::Id => a.id.cmp(&b.id),
            DebtKey::Amount => a.amount.cmp(&b.amount),
        })
    })
}

/// Indices of the items that have a rank, ordered by rank, then by `keys`,
/// then by position (so the order is total and the output deterministic).
fn ranked<T>(
    items: &[T],
    rank: impl Fn(&T) -> Option<u8>,
    keys: impl Fn(&T, &T) -> Ordering,
) -> Vec<usize> {
    let mut order: Vec<(u8, usize, &T)> = items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| rank(item).map(|r| (r, i, item)))
        .collect();
    order.sort_by(|(ra, a, x), (rb, b, y)| ra.cmp(rb).then_with(|| keys(x, y)).then(a.cmp(b)));
    order.into_iter().map(|(_, i, _)| i).collect()
}

/// The first of the policy's sort keys that tells two items apart.
fn by_keys<K: Copy>(keys: &[(K, bool)], compare: impl Fn(K) -> Ordering) -> Ordering {
    for &(key, descending) in keys {
        let o = compare(key);
        let o = if descending { o.reverse() } else { o };
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
