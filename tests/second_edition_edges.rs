//! Problems found by attacking the second edition: each test drives the
//! binary on a small policy written for it.

use rust_decimal::Decimal;

use crate::util::{code, stderr, stdout, tollgate_in};

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tollgate-attack-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A small policy with one credit and one debt kind; `extra` is appended.
fn policy(extra: &str) -> String {
    format!(
        "policy p\nrole owner\nactions billable: run_tool\npermit owner to all\n\
         credits included\ndebts usage\nspend included\n\
         shortfall of charge is usage\nshortfall of refund is usage\n\
         settle by created_at {{ usage from usable }}\nstate ok otherwise\n{extra}\n"
    )
}

const ONE_GRANT: &str = r#"{"now":"2026-01-01T00:00:00Z","grants":[{"id":"a","kind":"included","amount":"5","remaining":"5","granted_at":"2025-01-01T00:00:00Z"}],"debts":[]}"#;

/// The ledger writes grant attributes back with their defaults filled in,
/// so a default no snapshot may hold (a negative amount or duration, an
/// amount above 10^15, a duration above 100,000 days) made an account the
/// next operation refused to read. The checker refuses such a default.
#[test]
fn grant_attribute_defaults_are_values_a_snapshot_can_hold() {
    let dir = temp_dir("attr-default");
    for (i, decl) in [
        "field grants.x: decimal default -1",
        "field grants.x: decimal default 1000000000000000 + 1",
        "field grants.x: duration default 0s - 1d",
        "field grants.x: duration default 100000d + 1d",
    ]
    .into_iter()
    .enumerate()
    {
        let p = dir.join(format!("p{i}.policy"));
        std::fs::write(&p, policy(decl)).unwrap();
        let out = tollgate_in(&dir, &["check", p.to_str().unwrap()]);
        assert_eq!(code(&out), 1, "{decl}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("value_out_of_range"),
            "{decl}: {}",
            stderr(&out)
        );
    }
    // Defaults a snapshot can hold still check, and what the ledger writes
    // reads back.
    let p = dir.join("ok.policy");
    std::fs::write(
        &p,
        policy("field grants.x: decimal default 1000000000000000\nfield grants.w: duration default 100000d"),
    )
    .unwrap();
    std::fs::write(dir.join("s.json"), ONE_GRANT).unwrap();
    let p = p.to_str().unwrap();
    let out = tollgate_in(
        &dir,
        &[
            "charge",
            p,
            "--snapshot",
            "s.json",
            "--amount",
            "1",
            "--output",
            "o.json",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = tollgate_in(
        &dir,
        &["charge", p, "--snapshot", "o.json", "--amount", "1"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains(r#""x": "1000000000000000""#));
}

/// `before.X` where X is unknown was reported twice, the second time as an
/// unknown field `before.X`; `before.before.usable` and
/// `before.charge.amount` in `on charge` also said "`before.` is only
/// known in the rules of a ledger operation", inside one. One error each,
/// saying what to write.
#[test]
fn a_wrong_before_path_is_one_error_that_says_what_to_write() {
    let dir = temp_dir("before-path");
    for (cond, want) in [
        ("before.nosuch > 0", "unknown name `nosuch`"),
        ("before.before.usable > 0", "write `before.usable`"),
        ("before.charge.amount > 0", "write `charge.amount`"),
        ("before.role == owner", "`role`"),
    ] {
        let p = dir.join("p.policy");
        std::fs::write(
            &p,
            policy(&format!(
                "on charge {{\n  warn w when {cond} {{\n    message \"m\"\n  }}\n}}"
            )),
        )
        .unwrap();
        let out = tollgate_in(&dir, &["check", p.to_str().unwrap()]);
        let err = stderr(&out);
        assert_eq!(code(&out), 1, "{cond}: {err}");
        assert!(err.contains("1 error"), "{cond}: {err}");
        assert!(err.contains(want), "{cond}: {err}");
        assert!(!err.contains("only known in the rules of"), "{cond}: {err}");
    }
}

/// Two kinds of credit and two of debt, both kinds of credit locked or
/// not as the test says, and a message that shows `settleable`.
fn settle_policy(spend: &str, settle: &str, y_locked_when: &str) -> String {
    format!(
        "policy kd\nrole owner\nactions billable: run_tool\npermit owner to all\n\
         credits x, y\ndebts a, b\nenum status: active, ended\n\
         field sub.status: status default active\n\
         lock x when sub.status == ended {{\n  message \"x locked\"\n  may settle a, b\n}}\n\
         lock y when sub.status == {y_locked_when} {{\n  message \"y locked\"\n  may settle a\n}}\n\
         {spend}\nshortfall of charge is a\n{settle}\nstate ok otherwise\n\
         on billable {{\n  warn s {{\n    message \"{{settleable}}\"\n  }}\n}}\n"
    )
}

/// `settleable` (in decisions) and what `settle` pays, for one account.
fn settleable_and_settled(dir: &std::path::Path, policy_text: &str) -> (String, Decimal) {
    let account = r#"{"now":"2026-11-22T10:00:00Z","sub":{"status":"ended"},"grants":[
 {"id":"gx","kind":"x","amount":"10","remaining":"10","granted_at":"2026-01-01T00:00:00Z"},
 {"id":"gy","kind":"y","amount":"10","remaining":"10","granted_at":"2026-01-01T00:00:00Z"}],
 "debts":[{"id":"da","kind":"a","amount":"10","created_at":"2026-01-01T00:00:00Z"},
 {"id":"db","kind":"b","amount":"10","created_at":"2026-01-02T00:00:00Z"}]}"#;
    std::fs::write(dir.join("p.policy"), policy_text).unwrap();
    std::fs::write(dir.join("s.json"), account).unwrap();
    let out = tollgate_in(
        dir,
        &[
            "decide",
            "p.policy",
            "--snapshot",
            "s.json",
            "--role",
            "owner",
            "--action",
            "run_tool",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let decision: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let settleable = decision["warnings"][0]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = tollgate_in(dir, &["settle", "p.policy", "--snapshot", "s.json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let ledger: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let paid = ledger["settlements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["amount"].as_str().unwrap().parse::<Decimal>().unwrap())
        .sum();
    (settleable, paid)
}

/// `settleable` worked from totals by kind whenever `kind` was the first
/// key of both orders, taking the kinds in ascending order even when the
/// key said `kind desc`. When the order of kinds matters (a lock lets one
/// kind settle what another cannot; one debt kind has more sources), it
/// disagreed with what `settle` pays: here 10 against 20.
#[test]
fn settleable_agrees_with_settle_when_kind_is_descending() {
    let dir = temp_dir("kind-desc");
    // Locked credits taken `kind desc`: y pays a, leaving x for b.
    let (settleable, paid) = settleable_and_settled(
        &dir,
        &settle_policy(
            "spend by kind desc, id",
            "settle a, b {\n  a from locked\n  b from locked\n}",
            "ended",
        ),
    );
    assert_eq!(paid, Decimal::from(20));
    assert_eq!(settleable, "20");
    // Debts taken `kind desc`: b takes the usable y, a the locked x.
    let (settleable, paid) = settleable_and_settled(
        &dir,
        &settle_policy(
            "spend by kind, id",
            "settle by kind desc {\n  a from usable, locked\n  b from usable\n}",
            "active",
        ),
    );
    assert_eq!(paid, Decimal::from(20));
    assert_eq!(settleable, "20");
}
