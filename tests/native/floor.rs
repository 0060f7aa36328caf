//! The native floor: Ampere's decision written by hand as a service team
//! would, for speed, on tollgate's account structs. No allocation; the
//! benchmarks run it beside the compiled policy, and `tests/differential.rs`
//! checks it decides what the policy does.

use rust_decimal::Decimal;
use tollgate::Account;
use tollgate::FieldValue;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Role {
    Owner,
    BillingAdmin,
    Member,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Category {
    Billable,
    Billing,
    OwnerOnly,
    Free,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum State {
    Debt,
    Locked,
    Paused,
    LowBalance,
    Ok,
}

pub const DEBT_OUTSTANDING: u8 = 1;
pub const CREDITS_LOCKED: u8 = 2;
pub const NO_USABLE_CREDITS: u8 = 4;
pub const NOT_PERMITTED: u8 = 8;

/// Next steps in the order the reference offers them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Step {
    AskBillingAdmin,
    AskOwner,
    ResolveDispute,
    WaitForSettlement,
    BuyCredits,
    ResumeSubscription,
    StartSubscription,
    UpdatePaymentMethod,
    EnableAutoRecharge,
    WaitForRefresh,
}

/// The decision, in plain values.
#[derive(Clone, Copy, Debug)]
pub struct Floor {
    pub allow: bool,
    pub state: State,
    pub reasons: u8,
    pub steps: [Option<Step>; 8],
    pub low_balance_warning: bool,
    pub auto_recharge: Option<Decimal>,
    pub usable: Decimal,
    pub locked: Decimal,
    pub expired: Decimal,
    pub debt: Decimal,
}

fn push(steps: &mut [Option<Step>; 8], step: Step) {
    if steps.contains(&Some(step)) {
        return;
    }
    if let Some(slot) = steps.iter_mut().find(|s| s.is_none()) {
        *slot = Some(step);
    }
}

pub fn decide(a: &Account, role: Role, category: Category) -> Floor {
    let status = match a.fields.first() {
        Some(FieldValue::Enum(s)) => *s,
        _ => 4,
    };
    let ended = status == 2 || status == 3;
    let (mut usable, mut locked, mut expired) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    for g in &a.grants {
        if g.expires_at.is_some_and(|e| a.now >= e) {
            expired += g.remaining;
        } else if g.kind == 2 && ended {
            locked += g.remaining;
        } else {
            usable += g.remaining;
        }
    }
    let mut debt = Decimal::ZERO;
    let mut refund = Decimal::ZERO;
    for d in &a.debts {
        debt += d.amount;
        if d.kind == 0 {
            refund += d.amount;
        }
    }
    let threshold = match a.fields.get(8) {
        Some(FieldValue::Decimal(t)) => *t,
        _ => Decimal::ONE_HUNDRED,
    };
    let state = if debt > Decimal::ZERO {
        State::Debt
    } else if usable.is_zero() && locked > Decimal::ZERO {
        State::Locked
    } else if usable.is_zero() {
        State::Paused
    } else if usable <= threshold {
        State::LowBalance
    } else {
        State::Ok
    };
    let mut f = Floor {
        allow: true,
        state,
        reasons: 0,
        steps: [None; 8],
        low_balance_warning: false,
        auto_recharge: None,
        usable,
        locked,
        expired,
        debt,
    };
    let permitted = match role {
        Role::Owner => true,
        Role::BillingAdmin => category != Category::OwnerOnly,
        Role::Member => matches!(category, Category::Billable | Category::Free),
    };
    if !permitted {
        f.allow = false;
        f.reasons = NOT_PERMITTED;
        match category {
            Category::Billing => push(&mut f.steps, Step::AskBillingAdmin),
            Category::OwnerOnly => push(&mut f.steps, Step::AskOwner),
            _ => {}
        }
        return f;
    }
    if category != Category::Billable {
        return f;
    }
    if debt > Decimal::ZERO {
        f.reasons |= DEBT_OUTSTANDING;
    }
    if usable.is_zero() {
        f.reasons |= if locked > Decimal::ZERO {
            CREDITS_LOCKED
        } else {
            NO_USABLE_CREDITS
        };
    }
    let payment = match a.fields.get(4) {
        Some(FieldValue::Enum(p)) => *p,
        _ => 1,
    };
    let auto_on = matches!(a.fields.get(5), Some(FieldValue::Bool(true)));
    if f.reasons == 0 {
        f.low_balance_warning = usable <= threshold;
    } else {
        f.allow = false;
        if role == Role::Member {
            push(&mut f.steps, Step::AskBillingAdmin);
        } else {
            let fix_payment = payment != 0 || status == 1;
            if f.reasons & DEBT_OUTSTANDING != 0 {
                if refund > Decimal::ZERO {
                    push(&mut f.steps, Step::ResolveDispute);
                }
                if settleable(a, usable, ended) {
                    push(&mut f.steps, Step::WaitForSettlement);
                }
                push(&mut f.steps, Step::BuyCredits);
                if ended {
                    push(&mut f.steps, Step::ResumeSubscription);
                }
                if status == 4 {
                    push(&mut f.steps, Step::StartSubscription);
                }
                if fix_payment {
                    push(&mut f.steps, Step::UpdatePaymentMethod);
                }
            }
            if f.reasons & CREDITS_LOCKED != 0 {
                push(&mut f.steps, Step::ResumeSubscription);
                push(&mut f.steps, Step::BuyCredits);
            }
            if f.reasons & NO_USABLE_CREDITS != 0 {
                push(&mut f.steps, Step::BuyCredits);
                if !auto_on {
                    push(&mut f.steps, Step::EnableAutoRecharge);
                }
                if status == 0 {
                    push(&mut f.steps, Step::WaitForRefresh);
                }
                if ended {
                    push(&mut f.steps, Step::ResumeSubscription);
                }
                if status == 4 {
                    push(&mut f.steps, Step::StartSubscription);
                }
                if fix_payment {
                    push(&mut f.steps, Step::UpdatePaymentMethod);
                }
            }
        }
    }
    let auto_threshold = match a.fields.get(6) {
        Some(FieldValue::Decimal(t)) => *t,
        _ => Decimal::ZERO,
    };
    if auto_on && payment == 0 && (status == 0 || status == 1) && usable <= auto_threshold {
        f.auto_recharge = Some(match a.fields.get(7) {
            Some(FieldValue::Decimal(x)) => *x,
            _ => Decimal::ZERO,
        });
    }
    f
}

/// Whether any debt could be settled now: some usable credit, or a locked
/// purchased credit when outstanding usage is owed.
fn settleable(a: &Account, usable: Decimal, ended: bool) -> bool {
    if usable > Decimal::ZERO {
        return true;
    }
    let owes_usage = a
        .debts
        .iter()
        .any(|d| d.kind == 1 && d.amount > Decimal::ZERO);
    owes_usage
        && ended
        && a.grants.iter().any(|g| {
            g.kind == 2 && g.remaining > Decimal::ZERO && g.expires_at.is_none_or(|e| a.now < e)
        })
}
