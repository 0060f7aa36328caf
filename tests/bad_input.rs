//! The bad input catalogue: every kind of bad input, through the real
//! binary. Each exits 2, prints no result, and says where the problem is.

use crate::util::{code, stderr, stdout, tollgate};

const P: &str = "policies/ampere.policy";
const S: &str = "tests/corpus/snapshot/";

#[test]
fn every_bad_input_exits_2_and_says_where() {
    let decide = |snapshot: &str| -> Vec<String> {
        own(vec![
            "decide",
            P,
            "--snapshot",
            snapshot,
            "--role",
            "owner",
            "--action",
            "run_tool",
        ])
    };
    let cases: Vec<(&str, Vec<String>, &[&str])> = vec![
        (
            "malformed JSON",
            decide(&format!("{S}malformed.json")),
            &["malformed.json:", "invalid_document"],
        ),
        (
            "malformed TOML",
            decide(&format!("{S}malformed.toml")),
            &["malformed.toml:", "invalid_document"],
        ),
        (
            "a wrong type",
            decide(&format!("{S}amount-is-an-object.json")),
            &["`grants[0].amount`", "wrong_type"],
        ),
        (
            "an unknown field",
            decide(&format!("{S}unknown-grant-field.json")),
            &["`grants[0].expires`", "unknown_field"],
        ),
        (
            "an unknown kind",
            decide(&format!("{S}unknown-credit-kind.json")),
            &["`grants[0].kind`", "is not a credit kind of this policy"],
        ),
        (
            "a negative amount",
            decide(&format!("{S}negative-amount.json")),
            &["`debts[0].amount`", "never negative"],
        ),
        (
            "an over-precise amount",
            decide(&format!("{S}over-precise-amount.json")),
            &["`grants[0].remaining`", "6 digits"],
        ),
        (
            "remaining > amount",
            decide(&format!("{S}remaining-exceeds-amount.json")),
            &["`grants[0].remaining`", "remaining_exceeds_amount"],
        ),
        (
            "a duplicate id",
            decide(&format!("{S}duplicate-grant-id.json")),
            &["`grants[1].id`", "duplicate_id"],
        ),
        (
            "an impossible date",
            decide(&format!("{S}impossible-date.json")),
            &["`debts[0].created_at`", "is not a valid timestamp"],
        ),
        (
            "a missing now",
            decide(&format!("{S}missing-now.json")),
            &["`now`", "is required"],
        ),
        (
            "an unknown role",
            own(vec![
                "decide",
                P,
                "--snapshot",
                "examples/dispute-debt.json",
                "--role",
                "admin",
                "--action",
                "run_tool",
            ]),
            &["unknown role `admin`"],
        ),
        (
            "an unknown action",
            own(vec![
                "decide",
                P,
                "--snapshot",
                "examples/dispute-debt.json",
                "--role",
                "owner",
                "--action",
                "fly",
            ]),
            &["unknown action `fly`"],
        ),
        (
            "an unknown grant to refund",
            own(vec![
                "refund",
                P,
                "--snapshot",
                "examples/dispute-debt.json",
                "--grant",
                "inc-dec",
            ]),
            &[
                "examples/dispute-debt.json",
                "no grant has the id `inc-dec`",
            ],
        ),
        (
            "a negative --amount",
            own(vec![
                "charge",
                P,
                "--snapshot",
                "examples/dispute-debt.json",
                "--amount",
                "-5",
            ]),
            &["--amount", "never negative"],
        ),
        (
            "an absurd --amount",
            own(vec![
                "charge",
                P,
                "--snapshot",
                "examples/dispute-debt.json",
                "--amount",
                "1e30",
            ]),
            &["--amount", "larger than 10^15"],
        ),
        (
            "a missing snapshot file",
            (decide("no-such-snapshot.json")),
            &["cannot read `no-such-snapshot.json`: no such file"],
        ),
        (
            "a missing policy file",
            own(vec![
                "decide",
                "no-such.policy",
                "--snapshot",
                "examples/dispute-debt.json",
                "--role",
                "owner",
                "--action",
                "run_tool",
            ]),
            &["cannot read `no-such.policy`"],
        ),
        (
            "a missing batch file",
            own(vec!["decide", P, "--batch", "no-such.jsonl"]),
            &["cannot read `no-such.jsonl`"],
        ),
    ];
    for (what, args, needles) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = tollgate(&args);
        assert_eq!(code(&out), 2, "{what}: {}", stderr(&out));
        assert!(
            stdout(&out).is_empty(),
            "{what}: printed a result: {}",
            stdout(&out)
        );
        for needle in *needles {
            assert!(
                stderr(&out).contains(needle),
                "{what}: lacks {needle:?}:\n{}",
                stderr(&out)
            );
        }
    }
}

fn own(args: Vec<&str>) -> Vec<String> {
    args.into_iter().map(str::to_owned).collect()
}

#[test]
fn a_huge_batch_line_is_refused_in_place() {
    let dir = std::env::temp_dir().join(format!("tollgate-hugeline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("huge.jsonl");
    let huge = format!(
        "{{\"role\":\"owner\",\"action\":\"run_tool\",\"snapshot\":{{\"now\":\"{}\"}}}}",
        "x".repeat(17 << 20)
    );
    std::fs::write(&path, format!("{huge}\n")).unwrap();
    let out = tollgate(&["decide", P, "--batch", path.to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    let line: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(line["line"], 1);
    assert!(
        line["error"]
            .as_str()
            .unwrap()
            .contains("larger than the limit")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A refused option value was echoed as given, twice: escape codes reached
/// the terminal (clearing the screen), and a 120 KB value gave 240 KB of
/// error. Every value is shown escaped and cut, as names are.
#[test]
fn refused_option_values_are_escaped_and_cut() {
    let hostile = "2026\u{1b}[2J\u{1b}[31mX\u{7}\u{8}\r";
    let long = "9".repeat(120_000);
    let decide = |option: &str, value: &str| {
        tollgate(&[
            "decide",
            "policies/ampere.policy",
            "--snapshot",
            "examples/paused-zero-credits.json",
            "--role",
            "member",
            "--action",
            "send_message",
            option,
            value,
        ])
    };
    let charge = |value: &str| {
        tollgate(&[
            "charge",
            "policies/ampere.policy",
            "--snapshot",
            "examples/paused-zero-credits.json",
            "--amount",
            value,
        ])
    };
    for out in [
        decide("--now", hostile),
        decide("--format", hostile),
        charge(hostile),
        decide("--now", &long),
        charge(&long),
    ] {
        assert_eq!(code(&out), 2);
        let err = stderr(&out);
        assert!(
            !err.chars().any(|c| c.is_control() && c != '\n'),
            "raw control characters: {err:?}"
        );
        assert!(err.len() < 2_000, "{} bytes of error", err.len());
    }
}
