//! Properties of the prover, on random accounts: no decision violates an
//! assertion `verify` proved, and every account two policies decide
//! differently lies in a region `diff --exhaustive` reported.
//!
//! Accounts are drawn near the policies' boundaries (amounts on both sides
//! of 0, 100 and 200 by one millionth, every enum value, absent fields), so
//! a region that missed an edge would be hit. Needs `z3`, like
//! tests/verify.rs.

use std::sync::OnceLock;
use std::time::Duration;

use proptest::prelude::*;
use tollgate::Policy;
use tollgate::verify::diff::ExhaustiveDiff;

const AMOUNTS: &[&str] = &[
    "0",
    "0.000001",
    "1",
    "10",
    "10.000001",
    "99.999999",
    "100",
    "100.000001",
    "150",
    "199.999999",
    "200",
    "200.000001",
    "250",
    "1000",
];

fn z3() -> bool {
    let present = std::process::Command::new("z3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !present {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "`z3` is missing under CI=true: .ci/z3 installs it"
        );
    }
    present
}

fn ampere_text() -> String {
    std::fs::read_to_string(crate::util::root().join("policies/ampere.policy")).unwrap()
}

fn ampere() -> &'static Policy {
    static P: OnceLock<Policy> = OnceLock::new();
    P.get_or_init(|| Policy::from_source("ampere.policy", &ampere_text()).unwrap())
}

/// Changed copies of ampere, each with its exhaustive diff against it.
fn changes() -> &'static Vec<(Policy, ExhaustiveDiff)> {
    static C: OnceLock<Vec<(Policy, ExhaustiveDiff)>> = OnceLock::new();
    C.get_or_init(|| {
        let text = ampere_text();
        let edits = [
            (
                "settings.low_balance_threshold ?? 100",
                "settings.low_balance_threshold ?? 200",
            ),
            (
                "deny debt_outstanding when debt > 0 {",
                "deny debt_outstanding when debt > 10 {",
            ),
            (
                "      buy_credits\n      enable_auto_recharge",
                "      enable_auto_recharge\n      buy_credits",
            ),
            (
                "    amount = auto_recharge.amount\n",
                "    amount = auto_recharge.amount * 2\n",
            ),
            (
                "and billing.payment_method == valid",
                "and billing.payment_method in [valid, failed]",
            ),
            (
                "lock purchased when subscription.status in [ended, canceled]",
                "lock purchased when subscription.status == ended",
            ),
        ];
        edits
            .iter()
            .map(|(from, to)| {
                assert!(text.contains(from), "{from}");
                let new = Policy::from_source("new.policy", &text.replacen(from, to, 1)).unwrap();
                let d =
                    tollgate::verify::diff::diff(ampere(), &new, Duration::from_secs(120)).unwrap();
                assert!(!d.regions.is_empty(), "{to}: no change found");
                (new, d)
            })
            .collect()
    })
}

fn proven() -> bool {
    static V: OnceLock<bool> = OnceLock::new();
    *V.get_or_init(|| {
        let results = tollgate::verify::verify(ampere(), Duration::from_secs(120)).unwrap();
        assert!(!results.is_empty());
        results
            .iter()
            .all(|r| matches!(r.verdict, tollgate::verify::Verdict::Proven))
    })
}

fn account() -> impl Strategy<Value = String> {
    let amount = || proptest::sample::select(AMOUNTS);
    let maybe =
        |values: &'static [&'static str]| proptest::option::of(proptest::sample::select(values));
    let grant = (0..3usize, amount(), any::<bool>());
    let debt = (0..2usize, proptest::sample::select(&AMOUNTS[1..]));
    (
        maybe(&["active", "past_due", "canceled", "ended", "none"]),
        maybe(&["valid", "missing", "failed"]),
        proptest::option::of(any::<bool>()),
        (
            proptest::option::of(amount()),
            proptest::option::of(amount()),
        ),
        proptest::option::of(amount()),
        proptest::collection::vec(grant, 0..4),
        proptest::collection::vec(debt, 0..3),
    )
        .prop_map(
            |(status, method, enabled, (threshold, top_up), low, grants, debts)| {
                let mut doc = serde_json::json!({ "now": "2026-06-01T00:00:00Z" });
                if let Some(s) = status {
                    doc["subscription"] = serde_json::json!({ "status": s });
                }
                if let Some(m) = method {
                    doc["billing"] = serde_json::json!({ "payment_method": m });
                }
                let mut recharge = serde_json::Map::new();
                if let Some(e) = enabled {
                    recharge.insert("enabled".into(), e.into());
                }
                if let Some(t) = threshold {
                    recharge.insert("threshold".into(), t.into());
                }
                if let Some(a) = top_up {
                    recharge.insert("amount".into(), a.into());
                }
                if !recharge.is_empty() {
                    doc["auto_recharge"] = recharge.into();
                }
                if let Some(l) = low {
                    doc["settings"] = serde_json::json!({ "low_balance_threshold": l });
                }
                let kinds = ["included", "promotional", "purchased"];
                doc["grants"] = grants
                    .iter()
                    .enumerate()
                    .map(|(i, (k, a, expired))| {
                        let mut g = serde_json::json!({
                            "id": format!("g{i}"), "kind": kinds[*k], "amount": a, "remaining": a,
                            "granted_at": "2026-01-01T00:00:00Z",
                        });
                        if *expired {
                            g["expires_at"] = "2026-05-01T00:00:00Z".into();
                        }
                        g
                    })
                    .collect();
                let debt_kinds = ["refund_dispute", "outstanding_usage"];
                doc["debts"] = debts
                    .iter()
                    .enumerate()
                    .map(|(i, (k, a))| {
                        serde_json::json!({
                            "id": format!("d{i}"), "kind": debt_kinds[*k], "amount": a,
                            "created_at": "2026-05-01T00:00:00Z",
                        })
                    })
                    .collect();
                doc.to_string()
            },
        )
}

/// What a decision says, messages aside.
fn said(d: &tollgate::Decision<'_>) -> String {
    format!(
        "{:?} {} {:?} {:?} {:?} {:?}",
        d.outcome(),
        d.state(),
        d.reason_codes().collect::<Vec<_>>(),
        d.next_step_codes().collect::<Vec<_>>(),
        d.warning_codes().collect::<Vec<_>>(),
        d.effects()
            .unwrap()
            .iter()
            .map(|e| (e.code.clone(), e.params.clone()))
            .collect::<Vec<_>>()
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn no_decision_violates_a_proven_assertion(json in account()) {
        if !z3() {
            return Ok(());
        }
        prop_assert!(proven());
        let account = ampere().snapshot_from_json(&json).unwrap();
        let violated = tollgate::verify::violations(ampere(), &account).unwrap();
        prop_assert!(violated.is_empty(), "{violated:?} on {json}");
    }

    #[test]
    fn every_difference_lies_in_a_reported_region(json in account()) {
        if !z3() {
            return Ok(());
        }
        let old = ampere();
        let account = old.snapshot_from_json(&json).unwrap();
        for (new, diff) in changes() {
            let in_new = new.snapshot_from_json(&json).unwrap();
            for role in old.roles() {
                for action in old.actions() {
                    let (a, b) = (old.request(role, action).unwrap(), new.request(role, action).unwrap());
                    let x = said(&old.decide(&account, &a).unwrap());
                    let y = said(&new.decide(&in_new, &b).unwrap());
                    if x == y {
                        continue;
                    }
                    let covered = diff.regions.iter().any(|r| {
                        r.requests.iter().any(|(ro, ac)| ro == role && ac == action)
                            && r.contains(old, new, &account, (role, action)).unwrap()
                    });
                    prop_assert!(covered, "{role} {action}: {x} / {y} on {json}, outside every region");
                }
            }
        }
    }
}
