//! Ledger operations: laws, agreement with the hand-written reference, and
//! pinned results.

use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::Value;
use tollgate::{Account, Policy};
use tollgate::{GrantSpec, LedgerResult};

use crate::differential::{account, amount, instant, policy};
use crate::native::ampere::{self, Moves};
use crate::util::{code, root, stderr, stdout, tollgate};

/// The engine's result as the reference model's plain data; new debts are
/// called `new`, as the model calls them.
fn moves(r: &LedgerResult) -> Moves {
    let new_ids: Vec<&str> = r.new_debts.iter().map(|d| d.id.as_str()).collect();
    let name = |id: &str| {
        if new_ids.contains(&id) {
            "new".to_owned()
        } else {
            id.to_owned()
        }
    };
    Moves {
        draws: r
            .draws
            .iter()
            .map(|d| (d.grant.clone(), d.amount))
            .collect(),
        voided: r
            .voided
            .iter()
            .map(|v| (v.grant.clone(), v.amount))
            .collect(),
        new_debts: r
            .new_debts
            .iter()
            .map(|d| {
                (
                    if d.kind == "refund_dispute" {
                        ampere::REFUND_DISPUTE
                    } else {
                        ampere::OUTSTANDING_USAGE
                    },
                    d.amount,
                )
            })
            .collect(),
        settlements: r
            .settlements
            .iter()
            .map(|s| (name(&s.debt), s.grant.clone(), s.amount))
            .collect(),
        grants: r
            .account
            .grants
            .iter()
            .map(|g| (g.id.clone(), g.remaining))
            .collect(),
        debts: r
            .account
            .debts
            .iter()
            .map(|d| (name(&d.id), d.kind, d.amount))
            .collect(),
    }
}

fn parse(policy: &Policy, doc: &Value) -> Account {
    policy.snapshot_from_json(&doc.to_string()).unwrap()
}

fn total_remaining(a: &Account) -> Decimal {
    a.grants.iter().map(|g| g.remaining).sum()
}

fn total_debt(a: &Account) -> Decimal {
    a.debts.iter().map(|d| d.amount).sum()
}

/// The laws every operation keeps, whatever the account.
fn laws(before: &Account, r: &LedgerResult) -> Result<(), TestCaseError> {
    let after = &r.account;
    for g in &after.grants {
        prop_assert!(
            g.remaining >= Decimal::ZERO && g.remaining <= g.amount,
            "grant {} out of bounds",
            g.id
        );
    }
    let usable_before: Vec<&str> = before
        .grants
        .iter()
        .filter(|g| g.expires_at.is_none_or(|e| before.now < e))
        .filter(|g| {
            // usable = not expired and not locked (purchased under an ended or canceled subscription)
            let ended = matches!(
                before.fields.first(),
                Some(tollgate::FieldValue::Enum(2 | 3))
            );
            !(g.kind == ampere::PURCHASED && ended)
        })
        .map(|g| g.id.as_str())
        .collect();
    for d in &r.draws {
        prop_assert!(
            usable_before.contains(&d.grant.as_str()),
            "drew from {} which is locked or expired",
            d.grant
        );
    }
    for s in &r.settlements {
        let g = before.grants.iter().find(|g| g.id == s.grant);
        if let Some(g) = g {
            prop_assert!(
                g.expires_at.is_none_or(|e| before.now < e),
                "expired grant {} settled debt",
                g.id
            );
        }
    }
    // Each debt is settled at most its amount.
    let debts: Vec<(&str, Decimal)> = before
        .debts
        .iter()
        .map(|d| (d.id.as_str(), d.amount))
        .chain(r.new_debts.iter().map(|d| (d.id.as_str(), d.amount)))
        .collect();
    for (id, owed) in &debts {
        let paid: Decimal = r
            .settlements
            .iter()
            .filter(|s| s.debt == *id)
            .map(|s| s.amount)
            .sum();
        prop_assert!(paid <= *owed, "debt {id} overpaid");
    }
    // Conservation: credits leave grants only as draws, voids and settlements;
    // debts change only by new debts and settlements.
    let drawn: Decimal = r.draws.iter().map(|d| d.amount).sum();
    let voided: Decimal = r.voided.iter().map(|v| v.amount).sum();
    let settled: Decimal = r.settlements.iter().map(|s| s.amount).sum();
    let new_debt: Decimal = r.new_debts.iter().map(|d| d.amount).sum();
    let granted: Decimal = after
        .grants
        .iter()
        .filter(|g| !before.grants.iter().any(|b| b.id == g.id))
        .map(|g| g.amount)
        .sum();
    prop_assert_eq!(
        total_remaining(before) + granted - drawn - voided - settled,
        total_remaining(after)
    );
    prop_assert_eq!(total_debt(before) + new_debt - settled, total_debt(after));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("TOLLGATE_LEDGER_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(10_000),
        ..ProptestConfig::default()
    })]

    /// Charge, settle, grant and refund keep the ledger's laws on 10,000
    /// generated accounts, and agree with the hand-written reference.
    #[test]
    fn operations_keep_the_laws_and_agree_with_the_reference(
        doc in account(),
        charge in amount(),
        grant_kind in 0usize..3,
        grant_amount in amount(),
        grant_expiry in proptest::option::of(instant()),
        refund_pick in any::<prop::sample::Index>(),
    ) {
        let policy = policy();
        let a = parse(&policy, &doc);

        let charged = policy.charge(&a, charge).unwrap();
        laws(&a, &charged)?;
        let drawn: Decimal = charged.draws.iter().map(|d| d.amount).sum();
        let new_debt: Decimal = charged.new_debts.iter().map(|d| d.amount).sum();
        prop_assert_eq!(drawn + new_debt, charge, "draws plus new debt equal the charge");
        prop_assert!(charged.settlements.is_empty() && charged.voided.is_empty());
        prop_assert_eq!(moves(&charged), ampere::charge(&a, charge));

        let settled = policy.settle(&a).unwrap();
        laws(&a, &settled)?;
        prop_assert_eq!(moves(&settled), ampere::settle(&a, ampere::settle_start(&a)));

        let kinds = ["included", "promotional", "purchased"];
        let expiry = grant_expiry.map(|t| tollgate::Timestamp::parse(&t).unwrap()).filter(|t| *t > a.now);
        let spec = GrantSpec { kind: kinds[grant_kind].to_owned(), amount: grant_amount, id: None, expires_at: expiry, attributes: Vec::new() };
        let granted = policy.grant(&a, &spec).unwrap();
        laws(&a, &granted)?;
        let mut with_grant = a.clone();
        with_grant.grants.push(granted.account.grants.last().unwrap().clone());
        with_grant.grants.last_mut().unwrap().remaining = grant_amount;
        let reference = ampere::settle(&with_grant, ampere::settle_start(&with_grant));
        prop_assert_eq!(moves(&granted), reference);

        if !a.grants.is_empty() {
            let i = refund_pick.index(a.grants.len());
            let refunded = policy.refund(&a, &a.grants[i].id).unwrap();
            laws(&a, &refunded)?;
            prop_assert!(!refunded.account.grants.iter().any(|g| g.id == a.grants[i].id));
            prop_assert_eq!(moves(&refunded), ampere::refund(&a, i));
        }

        // Determinism: the same input gives the same bytes.
        let again = policy.charge(&a, charge).unwrap();
        prop_assert_eq!(policy.ledger_json(&again), policy.ledger_json(&charged));
    }
}

fn run(args: &[&str]) -> (Value, std::process::Output) {
    let out = tollgate(args);
    (
        serde_json::from_str(&stdout(&out)).unwrap_or(Value::Null),
        out,
    )
}

#[test]
fn settle_on_the_shared_examples() {
    let (json, out) = run(&[
        "settle",
        "policies/ampere.policy",
        "--snapshot",
        "examples/ended-subscription-locked.toml",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        json["settlements"],
        serde_json::json!([{"debt": "overrun-1", "grant": "top-2026-03", "amount": "120"}])
    );
    assert_eq!(json["snapshot"]["debts"], serde_json::json!([]));
    let (json, _) = run(&[
        "settle",
        "policies/ampere.policy",
        "--snapshot",
        "examples/dispute-debt.json",
    ]);
    assert_eq!(
        json["settlements"],
        serde_json::json!([{"debt": "chargeback-7", "grant": "inc-nov", "amount": "180"}])
    );
    assert_eq!(json["snapshot"]["debts"][0]["amount"], "720");
}

/// `grant --format human` said "nothing moved" for a grant that was added
/// and settled nothing: the grant itself is the first thing it did.
#[test]
fn the_human_summary_of_a_grant_names_the_grant_added() {
    let human = |snapshot: &str, extra: &[&str]| {
        let mut args = vec![
            "grant",
            "policies/ampere.policy",
            "--snapshot",
            snapshot,
            "--kind",
            "purchased",
            "--amount",
            "1000",
            "--format",
            "human",
        ];
        args.extend(extra);
        let out = tollgate(&args);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        stdout(&out)
    };
    assert_eq!(
        human(
            "examples/paused-zero-credits.json",
            &["--id", "top-up", "--expires-at", "2027-11-22T10:00:00Z"]
        ),
        "grant:\n  added grant top-up (purchased) of 1000, expires 2027-11-22T10:00:00Z\n"
    );
    assert_eq!(
        human("examples/dispute-debt.json", &[]),
        "grant:\n\
         \x20 added grant purchased-20261122T100000Z (purchased) of 1000\n\
         \x20 settled 180 of chargeback-7 from inc-nov\n\
         \x20 settled 720 of chargeback-7 from purchased-20261122T100000Z\n"
    );
}

/// Each operation on each shared example and on edge cases, pinned.
#[test]
fn pinned_operations() {
    let e = "tests/corpus/ledger/";
    let cases: &[(&str, &[&str])] = &[
        (
            "settle-locked-pays-overrun",
            &[
                "settle",
                "--snapshot",
                "examples/ended-subscription-locked.toml",
            ],
        ),
        (
            "settle-dispute-partly",
            &["settle", "--snapshot", "examples/dispute-debt.json"],
        ),
        (
            "settle-paused-nothing",
            &["settle", "--snapshot", "examples/paused-zero-credits.json"],
        ),
        (
            "charge-paused-becomes-debt",
            &[
                "charge",
                "--snapshot",
                "examples/paused-zero-credits.json",
                "--amount",
                "35",
            ],
        ),
        (
            "charge-locked-never-pays",
            &[
                "charge",
                "--snapshot",
                "examples/ended-subscription-locked.toml",
                "--amount",
                "10",
            ],
        ),
        (
            "charge-dispute-draws-then-owes",
            &[
                "charge",
                "--snapshot",
                "examples/dispute-debt.json",
                "--amount",
                "200.5",
            ],
        ),
        (
            "charge-zero-changes-nothing",
            &[
                "charge",
                "--snapshot",
                "examples/dispute-debt.json",
                "--amount",
                "0",
            ],
        ),
        (
            "grant-settles-first",
            &[
                "grant",
                "--snapshot",
                "examples/dispute-debt.json",
                "--kind",
                "purchased",
                "--amount",
                "1000",
            ],
        ),
        (
            "grant-into-locked",
            &[
                "grant",
                "--snapshot",
                "examples/ended-subscription-locked.toml",
                "--kind",
                "purchased",
                "--amount",
                "50",
                "--id",
                "top-new",
                "--expires-at",
                "2027-11-22T10:00:00Z",
            ],
        ),
        (
            "grant-paused-no-debt",
            &[
                "grant",
                "--snapshot",
                "examples/paused-zero-credits.json",
                "--kind",
                "promotional",
                "--amount",
                "0.5",
            ],
        ),
        (
            "refund-used-grant",
            &[
                "refund",
                "--snapshot",
                "examples/dispute-debt.json",
                "--grant",
                "inc-nov",
            ],
        ),
        (
            "refund-unused-grant",
            &[
                "refund",
                "--snapshot",
                "examples/paused-zero-credits.json",
                "--grant",
                "promo-launch",
            ],
        ),
        (
            "refund-locked-grant",
            &[
                "refund",
                "--snapshot",
                "examples/ended-subscription-locked.toml",
                "--grant",
                "top-2026-03",
            ],
        ),
        (
            "edge-expiry-at-now-and-ties",
            &[
                "charge",
                "--snapshot",
                &format!("{e}ties.json"),
                "--amount",
                "7.000001",
            ],
        ),
        (
            "edge-settle-ties",
            &["settle", "--snapshot", &format!("{e}ties.json")],
        ),
        (
            "edge-debt-larger-than-every-source",
            &["settle", "--snapshot", &format!("{e}huge-debt.json")],
        ),
        (
            "edge-charge-more-than-everything",
            &[
                "charge",
                "--snapshot",
                &format!("{e}huge-debt.json"),
                "--amount",
                "1000000000000000",
            ],
        ),
    ];
    for (name, args) in cases {
        let mut full = vec![args[0], "policies/ampere.policy"];
        full.extend(&args[1..]);
        let out = tollgate(&full);
        assert_eq!(code(&out), 0, "{name}: {}", stderr(&out));
        insta::assert_snapshot!(format!("ledger-{name}"), stdout(&out));
    }
}

#[test]
fn bad_ledger_input_is_refused() {
    let p = "policies/ampere.policy";
    let s = "examples/dispute-debt.json";
    for (args, needle) in [
        (
            vec!["charge", p, "--snapshot", s, "--amount", "-5"],
            "amounts are never negative",
        ),
        (
            vec!["charge", p, "--snapshot", s, "--amount", "1e16"],
            "larger than 10^15",
        ),
        (
            vec!["charge", p, "--snapshot", s, "--amount", "0.0000001"],
            "more than 6 digits",
        ),
        (
            vec!["charge", p, "--snapshot", s, "--amount", "lots"],
            "not a decimal number",
        ),
        (
            vec!["refund", p, "--snapshot", s, "--grant", "inc-no"],
            "no grant has the id `inc-no`; did you mean `inc-nov`?",
        ),
        (
            vec![
                "grant",
                p,
                "--snapshot",
                s,
                "--kind",
                "gift",
                "--amount",
                "5",
            ],
            "unknown credit kind `gift`",
        ),
        (
            vec![
                "grant",
                p,
                "--snapshot",
                s,
                "--kind",
                "purchased",
                "--amount",
                "5",
                "--id",
                "inc-nov",
            ],
            "already exists",
        ),
        (
            vec![
                "grant",
                p,
                "--snapshot",
                s,
                "--kind",
                "purchased",
                "--amount",
                "5",
                "--expires-at",
                "2026-11-22T10:00:00Z",
            ],
            "not after the snapshot's now",
        ),
        (
            vec![
                "grant",
                p,
                "--snapshot",
                s,
                "--kind",
                "purchased",
                "--amount",
                "5",
                "--expires-at",
                "2026-13-01T00:00:00Z",
            ],
            "not a timestamp",
        ),
    ] {
        let out = tollgate(&args);
        assert_eq!(code(&out), 2, "{args:?}");
        assert!(stdout(&out).is_empty(), "{args:?}");
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn output_writes_the_account_atomically_and_reads_back() {
    let dir = std::env::temp_dir().join(format!("tollgate-ledger-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for ext in ["json", "toml"] {
        let out_path = dir.join(format!("after.{ext}"));
        let out = tollgate(&[
            "settle",
            "policies/ampere.policy",
            "--snapshot",
            "examples/dispute-debt.json",
            "--output",
            out_path.to_str().unwrap(),
        ]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let (json, _) = (serde_json::from_str::<Value>(&stdout(&out)).unwrap(), ());
        // The written file reads back to the same account.
        let again = tollgate(&[
            "settle",
            "policies/ampere.policy",
            "--snapshot",
            out_path.to_str().unwrap(),
        ]);
        let again: Value = serde_json::from_str(&stdout(&again)).unwrap();
        assert_eq!(again["snapshot"], json["snapshot"], "{ext}");
        assert_eq!(
            again["settlements"],
            serde_json::json!([]),
            "{ext}: a settled account has nothing left to settle"
        );
    }

    // A failed run leaves the old file as it was.
    let keep = dir.join("keep.json");
    std::fs::write(&keep, "old contents").unwrap();
    let out = tollgate(&[
        "refund",
        "policies/ampere.policy",
        "--snapshot",
        "examples/dispute-debt.json",
        "--grant",
        "nope",
        "--output",
        keep.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 2);
    assert_eq!(std::fs::read_to_string(&keep).unwrap(), "old contents");

    // A destination that cannot be replaced fails cleanly, leaving no temporary file.
    let blocked = dir.join("blocked.json");
    std::fs::create_dir_all(&blocked).unwrap();
    let out = tollgate(&[
        "settle",
        "policies/ampere.policy",
        "--snapshot",
        "examples/dispute-debt.json",
        "--output",
        blocked.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("cannot write"), "{}", stderr(&out));
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--output` writes JSON or TOML by the extension; any other name is
/// refused before anything is read or written, with the names accepted.
/// It used to write JSON to `after.txt`, and to `after.jsn`, silently.
#[test]
fn output_with_another_extension_is_refused_before_anything_is_done() {
    let dir = std::env::temp_dir().join(format!("tollgate-ledger-ext-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = "policies/ampere.policy";
    let s = "examples/dispute-debt.json";
    for name in [
        "after.txt",
        "after.jsn",
        "after",
        "after.json.bak",
        "after.json/",
    ] {
        let out_path = dir.join(name);
        let output = out_path.to_str().unwrap();
        for args in [
            vec![
                "charge",
                p,
                "--snapshot",
                s,
                "--amount",
                "5",
                "--output",
                output,
            ],
            vec!["settle", p, "--snapshot", s, "--output", output],
            vec![
                "grant",
                p,
                "--snapshot",
                s,
                "--kind",
                "purchased",
                "--amount",
                "5",
                "--output",
                output,
            ],
            vec![
                "refund",
                p,
                "--snapshot",
                s,
                "--grant",
                "nope",
                "--output",
                output,
            ],
            // Before the policy is read: a missing one is not the error.
            vec![
                "settle",
                "missing.policy",
                "--snapshot",
                s,
                "--output",
                output,
            ],
        ] {
            let out = tollgate(&args);
            let err = stderr(&out);
            assert_eq!(code(&out), 2, "{args:?}: {err}");
            assert!(stdout(&out).is_empty(), "{args:?}");
            assert!(
                err.contains(".json") && err.contains(".toml"),
                "{args:?}: {err}"
            );
            assert!(!err.contains("missing.policy"), "{args:?}: {err}");
            assert!(!out_path.exists(), "{args:?}");
        }
    }
    // The extension is read without regard to case.
    for name in ["after.JSON", "after.Toml"] {
        let out_path = dir.join(name);
        let out = tollgate(&[
            "settle",
            p,
            "--snapshot",
            s,
            "--output",
            out_path.to_str().unwrap(),
        ]);
        assert_eq!(code(&out), 0, "{name}: {}", stderr(&out));
        let again = tollgate(&["settle", p, "--snapshot", out_path.to_str().unwrap()]);
        assert_eq!(code(&again), 0, "{name}: {}", stderr(&again));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn new_ids_are_deterministic_and_unique() {
    let p = policy();
    let text = std::fs::read_to_string(root().join("examples/paused-zero-credits.json")).unwrap();
    let a = p.snapshot_from_json(&text).unwrap();
    let first = p.charge(&a, Decimal::from(5)).unwrap();
    let second = p.charge(&first.account, Decimal::from(5)).unwrap();
    assert_eq!(first.new_debts[0].id, "outstanding_usage-20261122T100000Z");
    assert_eq!(
        second.new_debts[0].id,
        "outstanding_usage-20261122T100000Z-2"
    );
    let spec = GrantSpec {
        kind: "purchased".into(),
        amount: Decimal::ONE,
        id: None,
        expires_at: None,
        attributes: Vec::new(),
    };
    let g1 = p.grant(&a, &spec).unwrap();
    let g2 = p.grant(&g1.account, &spec).unwrap();
    assert_eq!(
        g1.account.grants.last().unwrap().id,
        "purchased-20261122T100000Z"
    );
    assert_eq!(
        g2.account.grants.last().unwrap().id,
        "purchased-20261122T100000Z-2"
    );
}

// ───────────── Big accounts: every operation near-linear ─────────────

/// A snapshot of an active account with `grants` usable grants (ids from
/// `grant_id`, one credit left each) and `debts` debts of one credit each.
fn big_snapshot(grants: usize, debts: usize, grant_id: impl Fn(usize) -> String) -> String {
    let mut s = String::from(
        r#"{"now": "2026-11-22T10:00:00Z", "account": "org_big",
  "subscription": {"status": "active", "plan": "team",
    "period_start": "2026-11-01T00:00:00Z", "period_end": "2026-12-01T00:00:00Z"},
  "billing": {"payment_method": "valid"},
  "grants": ["#,
    );
    for i in 0..grants {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!(
            r#"{{"id": "{}", "kind": "included", "amount": "1", "remaining": "1", "granted_at": "2026-11-01T00:00:00Z"}}"#,
            grant_id(i)
        ));
    }
    s.push_str("], \"debts\": [");
    for i in 0..debts {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!(
            r#"{{"id": "d{i}", "kind": "outstanding_usage", "amount": "1", "created_at": "2026-11-20T08:00:00Z"}}"#
        ));
    }
    s.push_str("]}");
    s
}

/// Runs a ledger command on `snapshot` written to a temporary file; the
/// exit code, standard output and how long it took.
fn timed_on(name: &str, snapshot: &str, args: &[&str]) -> (i32, String, String, f64) {
    let path = std::env::temp_dir().join(format!("tollgate-{name}-{}.json", std::process::id()));
    std::fs::write(&path, snapshot).unwrap();
    let path_text = path.to_str().unwrap().to_owned();
    let mut all: Vec<&str> = vec![args[0], "policies/ampere.policy", "--snapshot", &path_text];
    all.extend(&args[1..]);
    let start = std::time::Instant::now();
    let out = tollgate(&all);
    let seconds = start.elapsed().as_secs_f64();
    std::fs::remove_file(&path).unwrap();
    (code(&out), stdout(&out), stderr(&out), seconds)
}

#[test]
fn settling_many_debts_against_many_grants_is_near_linear() {
    // Every debt takes one grant: a settle that rescans the spend order
    // from its start for each debt does n²/2 steps (15.6 s at 52,000).
    let n = 40_000;
    let snapshot = big_snapshot(n, n, |i| format!("g{i:06}"));
    let (code, out, err, seconds) = timed_on("settle-big", &snapshot, &["settle"]);
    assert_eq!(code, 0, "{err}");
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["settlements"].as_array().unwrap().len(), n);
    assert_eq!(
        json["settlements"][n - 1]["grant"],
        format!("g{:06}", n - 1)
    );
    assert_eq!(json["snapshot"]["debts"], serde_json::json!([]));
    assert!(seconds < 20.0, "settle took {seconds:.1} s");
}

#[test]
fn a_fresh_grant_id_among_many_taken_is_found_fast() {
    // The ids `grant` would try first are all taken: finding a free one
    // must not compare every candidate with every id (13.4 s at 99,999).
    let n = tollgate::limits::MAX_ITEMS - 1;
    let snapshot = big_snapshot(n, 0, |i| match i {
        0 => "purchased-20261122T100000Z".to_owned(),
        i => format!("purchased-20261122T100000Z-{}", i + 1),
    });
    let (code, out, err, seconds) = timed_on(
        "fresh-id",
        &snapshot,
        &["grant", "--kind", "purchased", "--amount", "1"],
    );
    assert_eq!(code, 0, "{err}");
    let json: Value = serde_json::from_str(&out).unwrap();
    let grants = json["snapshot"]["grants"].as_array().unwrap();
    assert_eq!(
        grants.last().unwrap()["id"],
        format!("purchased-20261122T100000Z-{}", n + 1)
    );
    assert!(seconds < 20.0, "grant took {seconds:.1} s");
}

#[test]
fn refunding_an_unknown_long_id_does_not_search_for_long() {
    // Did-you-mean over 50,000 ids for a 10 KB id took 19 s.
    let n = 50_000;
    let snapshot = big_snapshot(n, 0, |i| format!("grant-{i:06}-{}", "x".repeat(100)));
    let long = "y".repeat(10_000);
    let (code, out, err, seconds) =
        timed_on("refund-long", &snapshot, &["refund", "--grant", &long]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("no grant has the id"),
        "{}",
        &err[..err.len().min(500)]
    );
    assert!(seconds < 20.0, "refund took {seconds:.1} s");

    // A near miss among many still gets its suggestion.
    let near = format!("grant-000123-{}", "x".repeat(99));
    let (code, _, err, _) = timed_on("refund-near", &snapshot, &["refund", "--grant", &near]);
    assert_eq!(code, 2);
    assert!(
        err.contains(&format!("did you mean `grant-000123-{}`", "x".repeat(100))),
        "{}",
        &err[..err.len().min(500)]
    );
}
