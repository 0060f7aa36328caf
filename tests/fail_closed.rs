//! Limits of the compiled form: past them a policy is refused with a
//! diagnostic (exit 1), never decided wrongly or crashed on.

use std::path::{Path, PathBuf};

use crate::util::{code, stderr, stdout, tollgate};

const HEAD: &str = "policy p

role member
actions billable: run
permit member to billable

credits included
spend included by id
";

const ACCOUNT: &str = r#"{"now": "2026-01-01T00:00:00Z", "grants": [], "debts": []}"#;

/// Writes the policy and an empty account; returns their paths.
fn files(name: &str, policy: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("tollgate-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (p, a) = (dir.join("p.policy"), dir.join("account.json"));
    std::fs::write(&p, policy).unwrap();
    std::fs::write(&a, ACCOUNT).unwrap();
    (p, a)
}

fn decide(policy: &Path, account: &Path) -> std::process::Output {
    let (p, a) = (policy.to_str().unwrap(), account.to_str().unwrap());
    tollgate(&[
        "decide",
        p,
        "--snapshot",
        a,
        "--role",
        "member",
        "--action",
        "run",
    ])
}

/// A state's index was kept in 16 bits with no cap on the count: with
/// 65,537 states the catch-all `ok` was reported as `s0`.
#[test]
fn more_states_than_an_index_holds_is_an_error_not_a_wrong_state() {
    let mut text = String::from(HEAD);
    for i in 0..=usize::from(u16::MAX) {
        text.push_str(&format!("state s{i} when usable < 0\n"));
    }
    text.push_str("state ok otherwise\n");
    let (policy, account) = files("many-states", &text);
    let out = decide(&policy, &account);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(!stdout(&out).contains("\"state\""), "{}", stdout(&out));
    assert!(stderr(&out).contains("states"), "{}", stderr(&out));
    // `check` refuses what `decide` refuses: it compiles too.
    let checked = tollgate(&["check", policy.to_str().unwrap()]);
    assert_eq!(code(&checked), 1, "{}", stderr(&checked));
    assert!(stderr(&checked).contains("states"), "{}", stderr(&checked));
}

/// Each `let` reading the one before nests evaluation one level deeper:
/// 3,000 of them overflowed the evaluator's stack (exit 134).
#[test]
fn a_let_chain_past_the_depth_limit_is_refused_not_a_crash() {
    let mut text = format!("{HEAD}state ok otherwise\nlet l0 = usable\n");
    for i in 1..3_000 {
        text.push_str(&format!("let l{i} = l{} + usable\n", i - 1));
    }
    text.push_str("on billable {\n  deny deep when l2999 < 0 {\n    message \"deep\"\n  }\n}\n");
    let (policy, account) = files("let-chain", &text);
    let out = decide(&policy, &account);
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    assert!(stderr(&out).contains("deep"), "{}", stderr(&out));
    let checked = tollgate(&["check", policy.to_str().unwrap()]);
    assert_eq!(code(&checked), 1, "{}", stderr(&checked));
    assert!(stderr(&checked).contains("deep"), "{}", stderr(&checked));
}
