//! Ampere's billing rules written by hand in Rust, straight from
//! `reference-policy.md`, on tollgate's own account structs.
//!
//! Two uses: the differential tests compare the compiled policy against it
//! on generated accounts, and the benchmarks measure it as the native floor.
//! It shares no code with the policy engine beyond the snapshot structs.

use rust_decimal::Decimal;
use tollgate::Account;
use tollgate::{FieldValue, Grant};

// Indices of the reference policy's vocabulary, in declaration order.
#[allow(dead_code)]
pub const INCLUDED: u32 = 0;
#[allow(dead_code)]
pub const PROMOTIONAL: u32 = 1;
pub const PURCHASED: u32 = 2;
pub const REFUND_DISPUTE: u32 = 0;
pub const OUTSTANDING_USAGE: u32 = 1;

const STATUS: usize = 0;
const PAYMENT_METHOD: usize = 4;
const AUTO_ENABLED: usize = 5;
const AUTO_THRESHOLD: usize = 6;
const AUTO_AMOUNT: usize = 7;
const LOW_BALANCE_THRESHOLD: usize = 8;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Status {
    Active,
    PastDue,
    Canceled,
    Ended,
    None,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Payment {
    Valid,
    Missing,
    Failed,
}

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

pub const ROLES: [&str; 3] = ["owner", "billing_admin", "member"];

pub const ACTIONS: [(&str, Category); 22] = [
    ("send_message", Category::Billable),
    ("run_tool", Category::Billable),
    ("run_workflow", Category::Billable),
    ("scheduled_run", Category::Billable),
    ("browser_session", Category::Billable),
    ("buy_credits", Category::Billing),
    ("configure_auto_recharge", Category::Billing),
    ("change_plan", Category::Billing),
    ("manage_billing_settings", Category::Billing),
    ("update_payment_method", Category::Billing),
    ("manage_subscription", Category::Billing),
    ("resolve_dispute", Category::Billing),
    ("view_invoices", Category::Billing),
    ("grant_billing_admin", Category::OwnerOnly),
    ("view_history", Category::Free),
    ("review_runs", Category::Free),
    ("open_saved_result", Category::Free),
    ("browse_dashboard", Category::Free),
    ("view_settings", Category::Free),
    ("manage_settings", Category::Free),
    ("view_billing", Category::Free),
    ("view_usage", Category::Free),
];

pub fn role(name: &str) -> Role {
    match name {
        "owner" => Role::Owner,
        "billing_admin" => Role::BillingAdmin,
        _ => Role::Member,
    }
}

/// What the reference policy decides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    pub outcome: &'static str,
    pub state: &'static str,
    pub reasons: Vec<&'static str>,
    pub next_steps: Vec<&'static str>,
    pub warnings: Vec<&'static str>,
    /// `auto_recharge` and its amount.
    pub effects: Vec<(&'static str, Decimal)>,
    pub usable: Decimal,
    pub locked: Decimal,
    pub expired: Decimal,
    pub debt: Decimal,
}

fn status(a: &Account) -> Status {
    match a.fields.get(STATUS) {
        Some(FieldValue::Enum(0)) => Status::Active,
        Some(FieldValue::Enum(1)) => Status::PastDue,
        Some(FieldValue::Enum(2)) => Status::Canceled,
        Some(FieldValue::Enum(3)) => Status::Ended,
        _ => Status::None,
    }
}

fn payment(a: &Account) -> Payment {
    match a.fields.get(PAYMENT_METHOD) {
        Some(FieldValue::Enum(0)) => Payment::Valid,
        Some(FieldValue::Enum(2)) => Payment::Failed,
        _ => Payment::Missing,
    }
}

fn decimal(a: &Account, slot: usize, default: Decimal) -> Decimal {
    match a.fields.get(slot) {
        Some(FieldValue::Decimal(d)) => *d,
        _ => default,
    }
}

fn expired(a: &Account, g: &Grant) -> bool {
    g.expires_at.is_some_and(|e| a.now >= e)
}

fn locked(a: &Account, g: &Grant) -> bool {
    g.kind == PURCHASED && !expired(a, g) && matches!(status(a), Status::Ended | Status::Canceled)
}

/// Grants in the spend order: kind, soonest expiry (none last), oldest
/// grant, id.
fn spend_order<'a>(grants: impl Iterator<Item = &'a Grant>) -> Vec<&'a Grant> {
    let mut v: Vec<&Grant> = grants.filter(|g| g.kind <= PURCHASED).collect();
    v.sort_by(|x, y| {
        x.kind
            .cmp(&y.kind)
            .then_with(|| match (x.expires_at, y.expires_at) {
                (Some(a), Some(b)) => a.cmp(&b),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            })
            .then_with(|| x.granted_at.cmp(&y.granted_at))
            .then_with(|| x.id.cmp(&y.id))
    });
    v
}

/// How much of the debt settlement could pay now, by simulating it grant
/// by grant.
pub fn settleable(a: &Account) -> Decimal {
    let usable: Vec<&Grant> =
        spend_order(a.grants.iter().filter(|g| !expired(a, g) && !locked(a, g)));
    let locked_purchased: Vec<&Grant> = spend_order(a.grants.iter().filter(|g| locked(a, g)));
    let mut left: Vec<Decimal> = a.grants.iter().map(|g| g.remaining).collect();
    let index = |g: &Grant| {
        a.grants
            .iter()
            .position(|x| std::ptr::eq(x, g))
            .unwrap_or(0)
    };
    let mut debts: Vec<_> = a.debts.iter().collect();
    debts.sort_by(|x, y| {
        let rank = |k: u32| if k == REFUND_DISPUTE { 0 } else { 1 };
        rank(x.kind)
            .cmp(&rank(y.kind))
            .then(x.created_at.cmp(&y.created_at))
            .then(x.id.cmp(&y.id))
    });
    let mut paid = Decimal::ZERO;
    for d in debts {
        let mut owed = d.amount;
        let mut sources: Vec<&Grant> = usable.clone();
        if d.kind == OUTSTANDING_USAGE {
            sources.extend(&locked_purchased);
        }
        for g in sources {
            let i = index(g);
            let take = owed.min(left[i]);
            left[i] -= take;
            owed -= take;
            paid += take;
        }
    }
    paid
}

/// The reference policy's decision for a role and an action.
pub fn decide(a: &Account, role_name: &str, action: &str) -> Expected {
    let role = role(role_name);
    let category = ACTIONS
        .iter()
        .find(|(n, _)| *n == action)
        .map(|(_, c)| *c)
        .unwrap_or(Category::Free);
    let mut usable = Decimal::ZERO;
    let mut locked_total = Decimal::ZERO;
    let mut expired_total = Decimal::ZERO;
    for g in &a.grants {
        if expired(a, g) {
            expired_total += g.remaining;
        } else if locked(a, g) {
            locked_total += g.remaining;
        } else {
            usable += g.remaining;
        }
    }
    let debt: Decimal = a.debts.iter().map(|d| d.amount).sum();
    let refund: Decimal = a
        .debts
        .iter()
        .filter(|d| d.kind == REFUND_DISPUTE)
        .map(|d| d.amount)
        .sum();
    let threshold = decimal(a, LOW_BALANCE_THRESHOLD, Decimal::from(100));
    let state = if debt > Decimal::ZERO {
        "debt"
    } else if usable.is_zero() && locked_total > Decimal::ZERO {
        "locked"
    } else if usable.is_zero() {
        "paused"
    } else if usable <= threshold {
        "low_balance"
    } else {
        "ok"
    };
    let mut e = Expected {
        outcome: "allow",
        state,
        reasons: vec![],
        next_steps: vec![],
        warnings: vec![],
        effects: vec![],
        usable,
        locked: locked_total,
        expired: expired_total,
        debt,
    };
    let permitted = match role {
        Role::Owner => true,
        Role::BillingAdmin => category != Category::OwnerOnly,
        Role::Member => matches!(category, Category::Billable | Category::Free),
    };
    if !permitted {
        e.outcome = "deny";
        e.reasons.push("not_permitted");
        match category {
            Category::Billing => e.next_steps.push("ask_billing_admin"),
            Category::OwnerOnly => e.next_steps.push("ask_owner"),
            _ => {}
        }
        return e;
    }
    if category != Category::Billable {
        return e;
    }
    if debt > Decimal::ZERO {
        e.reasons.push("debt_outstanding");
    }
    if usable.is_zero() && locked_total > Decimal::ZERO {
        e.reasons.push("credits_locked");
    }
    if usable.is_zero() && locked_total.is_zero() {
        e.reasons.push("no_usable_credits");
    }
    let status = status(a);
    let payment = payment(a);
    let auto_enabled = matches!(a.fields.get(AUTO_ENABLED), Some(FieldValue::Bool(true)));
    if e.reasons.is_empty() {
        if usable <= threshold {
            e.warnings.push("low_balance");
        }
    } else {
        e.outcome = "deny";
        let billing = matches!(role, Role::Owner | Role::BillingAdmin);
        let add = |steps: &mut Vec<&'static str>, step: &'static str, when: bool| {
            if when && !steps.contains(&step) {
                steps.push(step);
            }
        };
        let over = matches!(status, Status::Ended | Status::Canceled);
        let pay = payment != Payment::Valid || status == Status::PastDue;
        let mut steps = vec![];
        for reason in &e.reasons {
            if !billing {
                add(&mut steps, "ask_billing_admin", true);
                continue;
            }
            match *reason {
                "debt_outstanding" => {
                    add(&mut steps, "resolve_dispute", refund > Decimal::ZERO);
                    add(
                        &mut steps,
                        "wait_for_settlement",
                        settleable(a) > Decimal::ZERO,
                    );
                    add(&mut steps, "buy_credits", true);
                    add(&mut steps, "resume_subscription", over);
                    add(&mut steps, "start_subscription", status == Status::None);
                    add(&mut steps, "update_payment_method", pay);
                }
                "credits_locked" => {
                    add(&mut steps, "resume_subscription", true);
                    add(&mut steps, "buy_credits", true);
                }
                _ => {
                    add(&mut steps, "buy_credits", true);
                    add(&mut steps, "enable_auto_recharge", !auto_enabled);
                    add(&mut steps, "wait_for_refresh", status == Status::Active);
                    add(&mut steps, "resume_subscription", over);
                    add(&mut steps, "start_subscription", status == Status::None);
                    add(&mut steps, "update_payment_method", pay);
                }
            }
        }
        e.next_steps = steps;
    }
    let auto_threshold = decimal(a, AUTO_THRESHOLD, Decimal::ZERO);
    if auto_enabled
        && payment == Payment::Valid
        && matches!(status, Status::Active | Status::PastDue)
        && usable <= auto_threshold
    {
        e.effects
            .push(("auto_recharge", decimal(a, AUTO_AMOUNT, Decimal::ZERO)));
    }
    e
}

// ───────────── Ledger, by hand ─────────────

/// What a ledger operation did, as plain data to compare.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Moves {
    pub draws: Vec<(String, Decimal)>,
    pub voided: Vec<(String, Decimal)>,
    /// Kind and amount of each new debt.
    pub new_debts: Vec<(u32, Decimal)>,
    pub settlements: Vec<(String, String, Decimal)>,
    /// `(id, remaining)` of every grant left, in account order.
    pub grants: Vec<(String, Decimal)>,
    /// `(id, kind, amount)` of every debt left, in account order; new debts
    /// have the id `new`.
    pub debts: Vec<(String, u32, Decimal)>,
}

fn moves_from(a: &Account) -> Moves {
    Moves {
        grants: a
            .grants
            .iter()
            .map(|g| (g.id.clone(), g.remaining))
            .collect(),
        debts: a
            .debts
            .iter()
            .map(|d| (d.id.clone(), d.kind, d.amount))
            .collect(),
        ..Moves::default()
    }
}

fn usable_in_spend_order(a: &Account) -> Vec<usize> {
    let order = spend_order(a.grants.iter().filter(|g| !expired(a, g) && !locked(a, g)));
    order
        .iter()
        .map(|g| a.grants.iter().position(|x| std::ptr::eq(x, *g)).unwrap())
        .collect()
}

fn locked_in_spend_order(a: &Account) -> Vec<usize> {
    let order = spend_order(a.grants.iter().filter(|g| locked(a, g)));
    order
        .iter()
        .map(|g| a.grants.iter().position(|x| std::ptr::eq(x, *g)).unwrap())
        .collect()
}

/// `charge(amount)`: draw from usable grants in spend order; the rest is one
/// outstanding-usage debt.
pub fn charge(a: &Account, amount: Decimal) -> Moves {
    let order = usable_in_spend_order(a);
    let mut m = moves_from(a);
    let mut owed = amount;
    for i in order {
        let left = m.grants[i].1;
        let take = owed.min(left);
        if take > Decimal::ZERO {
            m.grants[i].1 -= take;
            owed -= take;
            m.draws.push((m.grants[i].0.clone(), take));
        }
    }
    if owed > Decimal::ZERO {
        m.new_debts.push((OUTSTANDING_USAGE, owed));
        m.debts.push(("new".into(), OUTSTANDING_USAGE, owed));
    }
    m
}

/// `settle()`: refund disputes first, then outstanding usage, oldest first;
/// each from usable grants, outstanding usage then from locked purchased ones.
pub fn settle(a: &Account, mut m: Moves) -> Moves {
    let usable = usable_in_spend_order(a);
    let locked = locked_in_spend_order(a);
    let created = |id: &str| {
        a.debts
            .iter()
            .find(|d| d.id == id)
            .map_or(a.now, |d| d.created_at)
    };
    let mut order: Vec<usize> = (0..m.debts.len()).collect();
    order.sort_by(|&x, &y| {
        let (dx, dy) = (&m.debts[x], &m.debts[y]);
        let rank = |k: u32| if k == REFUND_DISPUTE { 0 } else { 1 };
        rank(dx.1)
            .cmp(&rank(dy.1))
            .then(created(&dx.0).cmp(&created(&dy.0)))
            .then(dx.0.cmp(&dy.0))
            .then(x.cmp(&y))
    });
    for d in order {
        let mut sources = usable.clone();
        if m.debts[d].1 == OUTSTANDING_USAGE {
            sources.extend(&locked);
        }
        for g in sources {
            let take = m.debts[d].2.min(m.grants[g].1);
            if take > Decimal::ZERO {
                m.grants[g].1 -= take;
                m.debts[d].2 -= take;
                m.settlements
                    .push((m.debts[d].0.clone(), m.grants[g].0.clone(), take));
            }
        }
    }
    m.debts.retain(|d| d.2 > Decimal::ZERO);
    m
}

/// `refund(grant)`: void what is left, owe what was used, settle.
pub fn refund(a: &Account, grant: usize) -> Moves {
    let mut rest = a.clone();
    let g = rest.grants.remove(grant);
    let mut m = moves_from(&rest);
    if g.remaining > Decimal::ZERO {
        m.voided.push((g.id.clone(), g.remaining));
    }
    let used = g.amount - g.remaining;
    if used > Decimal::ZERO {
        m.new_debts.push((REFUND_DISPUTE, used));
        m.debts.push(("new".into(), REFUND_DISPUTE, used));
    }
    let mut m2 = settle(
        &rest,
        Moves {
            voided: vec![],
            new_debts: vec![],
            ..m.clone()
        },
    );
    m2.voided = m.voided;
    m2.new_debts = m.new_debts;
    m2
}

/// The moves of a `settle` that starts from the account as it is.
pub fn settle_start(a: &Account) -> Moves {
    moves_from(a)
}
