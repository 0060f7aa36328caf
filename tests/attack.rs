//! Problems found by attacking the second edition: each test drives the
//! binary on a small policy written for it.

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
