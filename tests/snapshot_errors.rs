//! Bad snapshots: exit 2, nothing on standard output, and an error naming
//! the file, the field path and the line.

use crate::util::{code, stderr, stdout, tollgate};

/// File, expected code, and text the error must contain (the field path).
const CASES: &[(&str, &str, &str)] = &[
    ("malformed.json", "invalid_document", "expected `,` or `}`"),
    ("malformed.toml", "invalid_document", "not valid TOML"),
    (
        "amount-is-an-object.json",
        "wrong_type",
        "`grants[0].amount`",
    ),
    (
        "unknown-top-level-field.json",
        "unknown_field",
        "`subscripton`",
    ),
    (
        "unknown-grant-field.json",
        "unknown_field",
        "`grants[0].expires`",
    ),
    (
        "unknown-credit-kind.json",
        "invalid_value",
        "`grants[0].kind`",
    ),
    ("negative-amount.json", "invalid_value", "`debts[0].amount`"),
    (
        "over-precise-amount.json",
        "invalid_value",
        "`grants[0].remaining`",
    ),
    (
        "remaining-exceeds-amount.json",
        "remaining_exceeds_amount",
        "`grants[0].remaining`",
    ),
    (
        "impossible-date.json",
        "invalid_value",
        "`debts[0].created_at`",
    ),
    ("missing-now.json", "missing_field", "`now`"),
    (
        "unknown-status.json",
        "invalid_value",
        "`subscription.status`",
    ),
    (
        "missing-remaining.json",
        "missing_field",
        "`grants[0].remaining`",
    ),
    (
        "duplicate-key.json",
        "invalid_document",
        "`account` appears twice",
    ),
    ("duplicate-grant-id.json", "duplicate_id", "`grants[1].id`"),
    ("local-datetime.toml", "invalid_value", "`now`"),
    ("several-problems.toml", "unknown_field", "`billing.card`"),
];

#[test]
fn every_bad_snapshot_is_refused_with_its_path_and_line() {
    for (file, error_code, needle) in CASES {
        let path = format!("tests/corpus/snapshot/{file}");
        let out = tollgate(&[
            "decide",
            "policies/ampere.policy",
            "--snapshot",
            &path,
            "--role",
            "owner",
            "--action",
            "run_tool",
        ]);
        assert_eq!(code(&out), 2, "{file}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{file}: printed a result");
        let err = stderr(&out);
        assert!(
            err.contains(&format!("tollgate::snapshot::{error_code}")),
            "{file}: {err}"
        );
        assert!(err.contains(needle), "{file}: lacks {needle}: {err}");
        assert!(
            err.contains(&format!("[{path}:")),
            "{file}: no file:line: {err}"
        );
        insta::assert_snapshot!(format!("snapshot-error-{file}"), err);
    }
}

#[test]
fn several_problems_are_reported_together() {
    let out = tollgate(&[
        "decide",
        "policies/ampere.policy",
        "--snapshot",
        "tests/corpus/snapshot/several-problems.toml",
        "--role",
        "owner",
        "--action",
        "run_tool",
    ]);
    let err = stderr(&out);
    assert!(err.contains("`billing.card`"));
    assert!(err.contains("`grants[0].remaining`"));
    assert!(err.contains("`debts[0].kind`"));
    assert!(err.contains("3 errors"), "{err}");
}

#[test]
fn a_missing_snapshot_file_is_bad_input() {
    let out = tollgate(&[
        "decide",
        "policies/ampere.policy",
        "--snapshot",
        "nope.json",
        "--role",
        "owner",
        "--action",
        "run_tool",
    ]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("cannot read `nope.json`: no such file"));
}

#[test]
fn a_broken_policy_fails_decide_with_exit_1() {
    let out = tollgate(&[
        "decide",
        "tests/corpus/check/unknown_role.policy",
        "--snapshot",
        "examples/dispute-debt.json",
        "--role",
        "owner",
        "--action",
        "run_tool",
    ]);
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).is_empty());
    assert!(stderr(&out).contains("unknown role `membr`"));
}
