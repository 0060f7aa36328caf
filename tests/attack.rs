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
