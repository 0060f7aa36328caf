//! The compiled reference policy against the hand-written one
//! (`tests/native/ampere.rs`) on generated accounts, for every role and
//! action.

use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::native::ampere;
use crate::util::root;

/// The reference policy, compiled once for all cases (clones share it).
pub(crate) fn policy() -> tollgate::Policy {
    static POLICY: std::sync::OnceLock<tollgate::Policy> = std::sync::OnceLock::new();
    POLICY
        .get_or_init(|| tollgate::Policy::from_file(root().join("policies/ampere.policy")).unwrap())
        .clone()
}

const NOW: &str = "2026-11-22T10:00:00Z";

/// Instants around `now`, including `now` itself, so expiry at the exact
/// instant is exercised often.
pub(crate) fn instant() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(NOW.to_owned()),
        Just("2026-11-22T09:59:59.999Z".to_owned()),
        Just("2026-11-22T10:00:00.001Z".to_owned()),
        Just("2026-11-22T11:00:00+01:00".to_owned()),
        Just("2026-11-01T00:00:00Z".to_owned()),
        Just("2026-12-01T00:00:00Z".to_owned()),
        Just("2025-01-01T00:00:00Z".to_owned()),
        Just("2027-10-03T09:30:00Z".to_owned()),
    ]
}

/// Amounts with up to six decimals, small and large, zero included.
pub(crate) fn amount() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        Just(Decimal::ZERO),
        (0i64..500).prop_map(Decimal::from),
        (0i64..5_000_000_000).prop_map(|n| Decimal::new(n, 6)),
        (0i64..1_000_000).prop_map(|n| Decimal::new(n, 2)),
        Just(Decimal::from(100)),
        Just(Decimal::from(1_000_000_000_000_000i64)),
    ]
}

fn text(d: Decimal) -> Value {
    Value::String(d.normalize().to_string())
}

prop_compose! {
    fn grant(i: usize)(kind in 0usize..3, amount in amount(), fraction in 0u32..=100,
                      granted in instant(), expires in proptest::option::of(instant()),
                      as_number in any::<bool>()) -> Value {
        let remaining = (amount * Decimal::from(fraction) / Decimal::from(100)).round_dp(6).min(amount);
        let kinds = ["included", "promotional", "purchased"];
        let mut g = json!({
            "id": format!("g-{i}"),
            "kind": kinds[kind],
            "amount": text(amount),
            "remaining": if as_number { serde_json::from_str::<Value>(&remaining.normalize().to_string()).unwrap() } else { text(remaining) },
            "granted_at": granted,
        });
        if let Some(e) = expires { g["expires_at"] = json!(e); }
        g
    }
}

prop_compose! {
    fn debt(i: usize)(kind in 0usize..2, amount in amount(), created in instant()) -> Value {
        let kinds = ["refund_dispute", "outstanding_usage"];
        json!({
            "id": format!("d-{i}"),
            "kind": kinds[kind],
            "amount": text(amount),
            "created_at": created,
        })
    }
}

prop_compose! {
    pub(crate) fn account()(
        grants in (0usize..9).prop_flat_map(|n| (0..n).map(grant).collect::<Vec<_>>()),
        debts in (0usize..4).prop_flat_map(|n| (0..n).map(debt).collect::<Vec<_>>()),
        status in proptest::option::of(prop_oneof![Just("active"), Just("past_due"), Just("canceled"), Just("ended"), Just("none")]),
        payment in proptest::option::of(prop_oneof![Just("valid"), Just("missing"), Just("failed")]),
        auto in proptest::option::of((any::<bool>(), amount(), amount())),
        threshold in proptest::option::of(amount()),
        period_end in proptest::option::of(instant()),
    ) -> Value {
        let mut a = json!({ "now": NOW, "account": "org", "grants": grants, "debts": debts });
        if let Some(s) = status {
            a["subscription"] = json!({ "status": s, "plan": "team" });
            if let Some(p) = period_end { a["subscription"]["period_end"] = json!(p); }
        }
        if let Some(p) = payment { a["billing"] = json!({ "payment_method": p }); }
        if let Some((enabled, t, amt)) = auto {
            a["auto_recharge"] = json!({ "enabled": enabled, "threshold": text(t), "amount": text(amt) });
        }
        if let Some(t) = threshold { a["settings"] = json!({ "low_balance_threshold": text(t) }); }
        a
    }
}

/// The native floor (the benchmarks' hand-written baseline) must decide
/// what the policy does, or the speed comparison means nothing.
fn check_floor(
    account: &tollgate::Account,
    role: &str,
    action: &str,
    want: &ampere::Expected,
) -> Result<(), TestCaseError> {
    use crate::native::floor::{self, Category, Role, State, Step};
    let r = match role {
        "owner" => Role::Owner,
        "billing_admin" => Role::BillingAdmin,
        _ => Role::Member,
    };
    let c = match ampere::ACTIONS
        .iter()
        .find(|(n, _)| *n == action)
        .map(|(_, c)| *c)
    {
        Some(ampere::Category::Billable) => Category::Billable,
        Some(ampere::Category::Billing) => Category::Billing,
        Some(ampere::Category::OwnerOnly) => Category::OwnerOnly,
        _ => Category::Free,
    };
    let f = floor::decide(account, r, c);
    let state = match f.state {
        State::Debt => "debt",
        State::Locked => "locked",
        State::Paused => "paused",
        State::LowBalance => "low_balance",
        State::Ok => "ok",
    };
    let mut reasons = Vec::new();
    for (bit, code) in [
        (floor::DEBT_OUTSTANDING, "debt_outstanding"),
        (floor::CREDITS_LOCKED, "credits_locked"),
        (floor::NO_USABLE_CREDITS, "no_usable_credits"),
        (floor::NOT_PERMITTED, "not_permitted"),
    ] {
        if f.reasons & bit != 0 {
            reasons.push(code);
        }
    }
    let steps: Vec<&str> = f
        .steps
        .iter()
        .flatten()
        .map(|s| match s {
            Step::AskBillingAdmin => "ask_billing_admin",
            Step::AskOwner => "ask_owner",
            Step::ResolveDispute => "resolve_dispute",
            Step::WaitForSettlement => "wait_for_settlement",
            Step::BuyCredits => "buy_credits",
            Step::ResumeSubscription => "resume_subscription",
            Step::StartSubscription => "start_subscription",
            Step::UpdatePaymentMethod => "update_payment_method",
            Step::EnableAutoRecharge => "enable_auto_recharge",
            Step::WaitForRefresh => "wait_for_refresh",
        })
        .collect();
    let what = format!("floor: {role} {action}");
    prop_assert_eq!(
        if f.allow { "allow" } else { "deny" },
        want.outcome,
        "{}",
        what
    );
    prop_assert_eq!(state, want.state, "{}", what);
    prop_assert_eq!(reasons, want.reasons.clone(), "{}", what);
    prop_assert_eq!(steps, want.next_steps.clone(), "{}", what);
    prop_assert_eq!(f.low_balance_warning, !want.warnings.is_empty(), "{}", what);
    prop_assert_eq!(
        f.auto_recharge,
        want.effects.first().map(|(_, a)| *a),
        "{}",
        what
    );
    prop_assert_eq!(
        (f.usable, f.locked, f.expired, f.debt),
        (want.usable, want.locked, want.expired, want.debt),
        "{}",
        what
    );
    Ok(())
}

fn check_all_requests(policy: &tollgate::Policy, doc: &Value) -> Result<(), TestCaseError> {
    let account = policy
        .snapshot_from_json(&doc.to_string())
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    for role in ampere::ROLES {
        for (action, _) in ampere::ACTIONS {
            let want = ampere::decide(&account, role, action);
            check_floor(&account, role, action, &want)?;
            let request = policy.request(role, action).unwrap();
            let got = policy.decide(&account, &request).unwrap();
            let what = format!("{role} {action} on {doc}");
            prop_assert_eq!(got.outcome().as_str(), want.outcome, "{}", what);
            prop_assert_eq!(got.state(), want.state, "{}", what);
            prop_assert_eq!(
                got.reason_codes().collect::<Vec<_>>(),
                want.reasons,
                "{}",
                what
            );
            prop_assert_eq!(
                got.next_step_codes().collect::<Vec<_>>(),
                want.next_steps,
                "{}",
                what
            );
            prop_assert_eq!(
                got.warning_codes().collect::<Vec<_>>(),
                want.warnings,
                "{}",
                what
            );
            let effects: Vec<(String, String)> = got
                .effects()
                .unwrap()
                .into_iter()
                .map(|e| {
                    (
                        e.code,
                        e.params
                            .iter()
                            .find(|(k, _)| k == "amount")
                            .map(|(_, v)| v.clone())
                            .unwrap_or_default(),
                    )
                })
                .collect();
            let want_effects: Vec<(String, String)> = want
                .effects
                .iter()
                .map(|(c, a)| ((*c).to_owned(), tollgate::amount::format(*a)))
                .collect();
            prop_assert_eq!(effects, want_effects, "{}", what);
            let b = got.balance();
            prop_assert_eq!(
                (b.usable, b.locked, b.expired, b.debt),
                (want.usable, want.locked, want.expired, want.debt),
                "{}",
                what
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn compiled_policy_agrees_with_the_hand_written_one(mut doc in account(), pin in 0u8..4) {
        let policy = policy();
        // Thresholds equal to the usable balance are where `<` and `<=`
        // differ: pin them there often.
        let account = policy.snapshot_from_json(&doc.to_string()).unwrap();
        let usable = ampere::decide(&account, "owner", "view_usage").usable;
        if pin > 0 && usable <= tollgate::amount::max() {
            let usable = text(usable);
            if pin & 1 != 0 {
                doc["settings"] = json!({ "low_balance_threshold": usable });
            }
            if pin & 2 != 0 {
                doc["auto_recharge"] = json!({ "enabled": true, "threshold": usable, "amount": "1000" });
                doc["billing"] = json!({ "payment_method": "valid" });
            }
        }
        check_all_requests(&policy, &doc)?;
    }
}

#[test]
fn settleable_agrees_with_simulated_settlement_on_the_examples() {
    let policy = policy();
    for file in [
        "examples/ended-subscription-locked.toml",
        "examples/dispute-debt.json",
        "tests/corpus/decide/dispute-and-overrun.json",
    ] {
        let text = std::fs::read_to_string(root().join(file)).unwrap();
        let format = tollgate::Format::from_name(file);
        let account = policy.snapshot(file, &text, format, None).unwrap();
        let (json, _) = (
            policy
                .decide_explained(&account, &policy.request("owner", "run_tool").unwrap())
                .unwrap(),
            (),
        );
        let traced: Option<String> = json
            .trace()
            .unwrap()
            .iter()
            .flat_map(|s| s.reads.iter())
            .find(|(k, _)| k == "settleable")
            .map(|(_, v)| v.clone());
        assert_eq!(
            traced,
            Some(tollgate::amount::format(ampere::settleable(&account))),
            "{file}"
        );
    }
}
