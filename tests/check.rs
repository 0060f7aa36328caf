//! `tollgate check`: the diagnostics corpus and the command's contract.

use std::fs;

use crate::util::{code, root, stderr, stdout, tollgate, tollgate_in};

/// Every broken policy in `tests/corpus/check/` states the codes it must
/// produce on its second line (`// expect: a, b`), and its rendering is
/// pinned by a snapshot.
#[test]
fn corpus_diagnostics() {
    let dir = root().join("tests/corpus/check");
    let mut count = 0;
    insta::glob!("corpus/check/*.policy", |path| {
        count += 1;
        let name = path.file_name().unwrap().to_str().unwrap();
        let text = fs::read_to_string(path).unwrap();
        let expected = text
            .lines()
            .nth(1)
            .and_then(|l| l.strip_prefix("// expect: "))
            .unwrap_or_else(|| panic!("{name}: second line must be `// expect: <codes>`"));

        let json = tollgate_in(&dir, &["check", name, "--format", "json"]);
        let report: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
        let codes: Vec<&str> = report["files"][0]["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["code"].as_str().unwrap())
            .collect();
        assert_eq!(codes.join(", "), expected, "{name}: codes");
        let has_error = report["errors"].as_u64().unwrap() > 0;
        assert_eq!(
            code(&json),
            if has_error { 1 } else { 0 },
            "{name}: exit code"
        );

        let human = tollgate_in(&dir, &["check", name]);
        assert_eq!(
            code(&human),
            code(&json),
            "{name}: same exit code in both formats"
        );
        assert!(
            stdout(&human).is_empty(),
            "{name}: human diagnostics go to stderr"
        );
        insta::assert_snapshot!(stderr(&human));
    });
    assert!(count >= 30, "the corpus has {count} policies");
}

#[test]
fn the_reference_policy_is_clean_and_silent() {
    let out = tollgate(&["check", "policies/ampere.policy"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    assert_eq!(stderr(&out), "");
    let strict = tollgate(&["check", "--deny-warnings", "policies/ampere.policy"]);
    assert_eq!(code(&strict), 0, "{}", stderr(&strict));
}

#[test]
fn github_format_prints_one_annotation_per_diagnostic() {
    let dir = root().join("tests/corpus/check");
    let out = tollgate_in(
        &dir,
        &["check", "--format", "github", "several_problems.policy"],
    );
    assert_eq!(code(&out), 1);
    insta::assert_snapshot!(stdout(&out));
    for line in stdout(&out).lines() {
        assert!(
            line.starts_with("::error file=several_problems.policy,line="),
            "{line}"
        );
    }
}

#[test]
fn warnings_pass_unless_denied() {
    let dir = root().join("tests/corpus/check");
    let out = tollgate_in(&dir, &["check", "unused_let.policy"]);
    assert_eq!(code(&out), 0);
    assert!(stderr(&out).contains("unused_definition"));
    let strict = tollgate_in(&dir, &["check", "--deny-warnings", "unused_let.policy"]);
    assert_eq!(code(&strict), 1);
    let github = tollgate_in(&dir, &["check", "--format", "github", "unused_let.policy"]);
    assert!(stdout(&github).starts_with("::warning file=unused_let.policy,line="));
}

#[test]
fn unreadable_files_are_bad_input() {
    let out = tollgate(&["check", "policies/no-such.policy"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("cannot read `policies/no-such.policy`: no such file"));
    // A readable broken policy beside it does not lower the exit code.
    let both = tollgate(&[
        "check",
        "policies/no-such.policy",
        "tests/corpus/check/unknown_role.policy",
    ]);
    assert_eq!(code(&both), 2);
    let dir = tollgate(&["check", "policies"]);
    assert_eq!(code(&dir), 2);
    assert!(stderr(&dir).contains("is a directory"), "{}", stderr(&dir));
}

#[test]
fn bad_arguments_are_bad_input() {
    assert_eq!(code(&tollgate(&["check"])), 2);
    assert_eq!(
        code(&tollgate(&[
            "check",
            "--format",
            "xml",
            "policies/ampere.policy"
        ])),
        2
    );
    assert_eq!(code(&tollgate(&["frobnicate"])), 2);
    assert_eq!(code(&tollgate(&["--help"])), 0);
}

#[test]
fn json_format_reports_every_file() {
    let out = tollgate(&[
        "check",
        "--format",
        "json",
        "policies/ampere.policy",
        "tests/corpus/check/duplicate_role.policy",
    ]);
    assert_eq!(code(&out), 1);
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["version"], 1);
    assert_eq!(report["files"][0]["file"], "policies/ampere.policy");
    assert_eq!(
        report["files"][0]["diagnostics"].as_array().unwrap().len(),
        0
    );
    let d = &report["files"][1]["diagnostics"][0];
    assert_eq!(d["code"], "duplicate_definition");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["line"], 7);
    assert_eq!(d["related"][0]["line"], 6);
}

/// Names of the reference policy's vocabulary, as a product team would
/// misspell them.
const VOCABULARY: &[&str] = &[
    "owner",
    "billing_admin",
    "member",
    "send_message",
    "run_tool",
    "run_workflow",
    "scheduled_run",
    "browser_session",
    "buy_credits",
    "configure_auto_recharge",
    "change_plan",
    "manage_billing_settings",
    "update_payment_method",
    "manage_subscription",
    "resolve_dispute",
    "view_invoices",
    "grant_billing_admin",
    "view_history",
    "review_runs",
    "open_saved_result",
    "browse_dashboard",
    "view_settings",
    "manage_settings",
    "view_billing",
    "view_usage",
    "included",
    "promotional",
    "purchased",
    "refund_dispute",
    "outstanding_usage",
    "active",
    "past_due",
    "canceled",
    "ended",
    "none",
    "valid",
    "missing",
    "failed",
    "subscription",
    "status",
    "payment_method",
    "auto_recharge",
    "low_balance_threshold",
    "period_end",
    "enabled",
    "threshold",
    "amount",
];

/// Every occurrence of a vocabulary name outside comments, misspelt one at a
/// time, makes `check` fail with a diagnostic on that line naming the right
/// spelling.
#[test]
fn every_misspelt_name_in_the_reference_policy_is_caught_on_its_line() {
    let text = fs::read_to_string(root().join("policies/ampere.policy")).unwrap();
    let code_text: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    let occurrences = |name: &str| {
        code_text
            .match_indices(name)
            .filter(|(at, _)| {
                let before = code_text[..*at].chars().last();
                let after = code_text[at + name.len()..].chars().next();
                !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                    && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
            })
            .count()
    };
    // A name declared once and never mentioned again has nothing to be
    // checked against; in the reference policy only actions are like that
    // (`decide` and `test` refuse an unknown action with a suggestion).
    let declared_once: Vec<&str> = VOCABULARY
        .iter()
        .copied()
        .filter(|n| occurrences(n) == 1)
        .collect();
    let actions = [
        "send_message",
        "run_tool",
        "run_workflow",
        "scheduled_run",
        "browser_session",
        "buy_credits",
        "configure_auto_recharge",
        "change_plan",
        "manage_billing_settings",
        "update_payment_method",
        "manage_subscription",
        "resolve_dispute",
        "view_invoices",
        "view_history",
        "review_runs",
        "open_saved_result",
        "browse_dashboard",
        "view_settings",
        "manage_settings",
        "view_billing",
        "view_usage",
    ];
    for name in &declared_once {
        assert!(
            actions.contains(name),
            "`{name}` is declared and never used again"
        );
    }
    let mut missed = Vec::new();
    let mut tried = 0;
    let mut in_actions = false;
    for (line_no, line) in text.lines().enumerate() {
        let code_part = line.split("//").next().unwrap();
        if !line.starts_with(' ') && !line.trim().is_empty() && !line.starts_with("//") {
            in_actions = line.starts_with("actions ");
        }
        let checkable =
            |n: &&&str| !(declared_once.contains(n) || in_actions && actions.contains(n));
        for name in VOCABULARY.iter().filter(checkable) {
            for (at, _) in code_part.match_indices(name) {
                let before = code_part[..at].chars().last();
                let after = code_part[at + name.len()..].chars().next();
                let word_char =
                    |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
                if word_char(before) || word_char(after) {
                    continue;
                }
                // Rule codes and effect parameters are free names, not vocabulary.
                let before_text = code_part[..at].trim();
                let rest = code_part[at + name.len()..].trim_start();
                let is_param = rest.starts_with('=')
                    && !rest.starts_with("==")
                    && !before_text.starts_with("let");
                if before_text.ends_with("effect") || is_param {
                    continue;
                }
                let quoted = code_part[..at].matches('"').count() % 2 == 1;
                let interpolated = code_part[..at].rfind('{') > code_part[..at].rfind('}');
                if quoted && !interpolated {
                    continue; // message text, not a name
                }
                tried += 1;
                let typo = format!("{}{}", &name[..name.len() - 1], "");
                let offset: usize = text
                    .lines()
                    .take(line_no)
                    .map(|l| l.len() + 1)
                    .sum::<usize>()
                    + at;
                let mutated = format!(
                    "{}{}{}",
                    &text[..offset],
                    typo,
                    &text[offset + name.len()..]
                );
                let analysis = tollgate::check_text("ampere.policy", &mutated);
                let source = &analysis.diagnostics.source;
                let hit = analysis.diagnostics.has_errors()
                    && analysis.diagnostics.items.iter().any(|d| {
                        source.line_col(d.span.start).line as usize == line_no + 1
                            && d.help.as_deref().is_some_and(|h| h.contains(name))
                    });
                if !hit {
                    missed.push(format!("line {}: `{name}` → `{typo}`", line_no + 1));
                }
            }
        }
    }
    assert!(tried > 100, "only {tried} occurrences tried");
    assert!(
        missed.is_empty(),
        "{} of {tried} misspellings not caught:\n{}",
        missed.len(),
        missed.join("\n")
    );
}

/// A scratch folder for one test, emptied first.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tollgate-check-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// The same typo in two places is two errors: diagnostics that differ only
/// in where they are must not be merged.
#[test]
fn the_same_typo_twice_is_two_errors() {
    let text = fs::read_to_string(root().join("policies/ampere.policy")).unwrap();
    let lock = "lock purchased when subscription.status in [ended, canceled]";
    let over = "let subscription_over = subscription.status in [ended, canceled]";
    assert!(text.contains(lock) && text.contains(over));
    let text = text
        .replace(lock, &lock.replace("ended", "endd"))
        .replace(over, &over.replace("ended", "endd"));
    let dir = scratch("two-typos");
    fs::write(dir.join("p.policy"), text).unwrap();
    let out = tollgate_in(&dir, &["check", "p.policy", "--format", "json"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let lines: Vec<u64> = report["files"][0]["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        .map(|d| d["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{report:#}");
    assert_ne!(lines[0], lines[1]);
}
