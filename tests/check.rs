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
            .and_then(|l| l.strip_prefix("// expect:"))
            .map(str::trim)
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

/// A clean check printed nothing at all, which reads the same as a check
/// that never ran: people get one line on standard error saying so.
#[test]
fn the_reference_policy_is_clean_and_says_so() {
    let out = tollgate(&["check", "policies/ampere.policy"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    assert_eq!(stderr(&out), "policies/ampere.policy: no problems found\n");
    let strict = tollgate(&["check", "--deny-warnings", "policies/ampere.policy"]);
    assert_eq!(code(&strict), 0, "{}", stderr(&strict));
    assert_eq!(stderr(&strict), stderr(&out));

    let two = tollgate(&["check", "policies/ampere.policy", "policies/ampere.policy"]);
    assert_eq!(code(&two), 0, "{}", stderr(&two));
    assert_eq!(stdout(&two), "");
    assert_eq!(stderr(&two), "2 policies checked: no problems found\n");

    // Programs get what they always got: no line for people.
    let github = tollgate(&["check", "--format", "github", "policies/ampere.policy"]);
    assert_eq!(
        (stdout(&github), stderr(&github)),
        (String::new(), String::new())
    );
    let json = tollgate(&["check", "--format", "json", "policies/ampere.policy"]);
    assert_eq!(stderr(&json), "");
    let report: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(
        (report["errors"].as_u64(), report["warnings"].as_u64()),
        (Some(0), Some(0))
    );

    // Warnings are problems: the tally says how many, not "no problems".
    let dir = root().join("tests/corpus/check");
    let warned = tollgate_in(&dir, &["check", "unused_let.policy"]);
    assert_eq!(code(&warned), 0);
    assert!(
        !stderr(&warned).contains("no problems"),
        "{}",
        stderr(&warned)
    );
    assert!(
        stderr(&warned).ends_with("0 errors, 1 warning\n"),
        "{}",
        stderr(&warned)
    );
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
    let _ = fs::remove_dir_all(&dir);
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

/// Did-you-mean does bounded work: refunding an unknown 10 KB id among
/// thousands of long grant ids answers at once (it took minutes when every
/// id was compared in full), and a swapped pair of letters is still caught.
#[test]
fn suggestions_for_long_unknown_ids_are_bounded() {
    let policy = tollgate::Policy::from_file(root().join("policies/ampere.policy")).unwrap();
    let typical = fs::read_to_string(root().join("benches/data/typical.json")).unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(&typical).unwrap();
    let template = doc["grants"][0].clone();
    let grants: Vec<serde_json::Value> = (0..2_000)
        .map(|i| {
            let mut g = template.clone();
            g["id"] = format!("{i:04}{}", "x".repeat(1_000)).into();
            g
        })
        .collect();
    doc["grants"] = grants.into();
    let account = policy.snapshot_from_json(&doc.to_string()).unwrap();
    let started = std::time::Instant::now();
    for wrong in ["y".repeat(10_000), format!("9999{}", "x".repeat(999))] {
        let err = policy.refund(&account, &wrong).unwrap_err();
        assert!(err.to_string().contains("no grant has the id"), "{err}");
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    // Two letters swapped are one edit (Damerau), not two.
    let role = policy.request("onwer", "send_message").unwrap_err();
    assert!(role.to_string().contains("did you mean `owner`"), "{role}");
}

/// Writes `text` as `p.policy` in a scratch folder and checks it, timing
/// the run: every policy below must be judged well inside the bound.
fn check_timed(name: &str, text: &str, bound_s: u64) -> (std::process::Output, serde_json::Value) {
    let dir = scratch(name);
    fs::write(dir.join("p.policy"), text).unwrap();
    let started = std::time::Instant::now();
    let out = tollgate_in(&dir, &["check", "p.policy", "--format", "json"]);
    let took = started.elapsed();
    let _ = fs::remove_dir_all(&dir);
    assert!(
        took < std::time::Duration::from_secs(bound_s),
        "{name}: took {took:?}"
    );
    let report = serde_json::from_str(&stdout(&out)).unwrap();
    (out, report)
}

fn codes(report: &serde_json::Value) -> Vec<String> {
    report["files"][0]["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_owned())
        .collect()
}

/// The head of a policy that checks clean, for generated bodies.
const HEAD: &str = "policy p\nrole r\nactions a: act\npermit r to all\n";

/// Decisions number states in 16 bits: a policy with more is refused at the
/// first state past the limit, instead of deciding with the wrong one.
#[test]
fn more_states_than_the_limit_are_refused() {
    use std::fmt::Write;
    let mut text = HEAD.to_owned();
    for i in 0..65_536 {
        writeln!(text, "state s{i} when usable > {i}").unwrap();
    }
    text.push_str("state last otherwise\n");
    let (out, report) = check_timed("many-states", &text, 60);
    assert_eq!(code(&out), 1);
    let d = &report["files"][0]["diagnostics"][0];
    assert_eq!(d["code"], "too_many_items", "{d:#}");
    assert_eq!(d["line"], 4 + 65_536, "{d:#}");
    assert!(
        d["message"].as_str().unwrap().contains("65537 states"),
        "{d:#}"
    );
}

/// The permission table is roles × actions cells: past the limit the
/// checker says so instead of building gigabytes.
#[test]
fn a_permission_table_past_the_limit_is_refused() {
    use std::fmt::Write;
    let mut text = String::from("policy p\nstate ok otherwise\nactions a: ");
    let actions: Vec<String> = (0..2_000).map(|i| format!("act{i}")).collect();
    text.push_str(&actions.join(", "));
    text.push('\n');
    for i in 0..1_000 {
        writeln!(text, "role r{i}\npermit r{i} to all").unwrap();
    }
    let (out, report) = check_timed("big-table", &text, 30);
    assert_eq!(code(&out), 1);
    assert_eq!(codes(&report), ["too_many_items"], "{report:#}");
}

/// The similar-names lint compares a field only with siblings that could
/// be one letter away: two thousand long names check at once (it compared
/// every pair in full and took 38 s), and a real twin is still caught.
#[test]
fn many_long_field_names_check_quickly() {
    use std::fmt::Write;
    let mut text = HEAD.to_owned();
    text.push_str("state ok otherwise\n");
    for i in 0..2_000 {
        // The number twice: any two names differ in two places or more.
        let name = format!("f{i:05}{}x{i:05}", "field".repeat(23));
        writeln!(text, "field settings.{name}: optional decimal").unwrap();
    }
    let (out, report) = check_timed("long-fields", &text, 15);
    assert_eq!(code(&out), 0, "{report:#}");
    // The last digit of `f01999field...x01999` changed: one letter away
    // from it, two from every other field.
    let twin = format!("f01999{}x0199y", "field".repeat(23));
    writeln!(text, "field settings.{twin}: optional decimal").unwrap();
    let (_, report) = check_timed("long-fields-twin", &text, 15);
    assert_eq!(codes(&report), ["similar_names"], "{report:#}");
    let d = &report["files"][0]["diagnostics"][0];
    assert!(
        d["help"].as_str().unwrap().contains("`f01999field"),
        "{d:#}"
    );
}

/// Thousands of unknown names: each diagnostic lists at most a few known
/// names ("and N more"), and suggestions stop when their budget is spent,
/// so output and time stay proportional to the policy (it printed 214 MB
/// and took 19 s).
#[test]
fn many_unknown_names_give_bounded_output() {
    use std::fmt::Write;
    let mut text = String::from("policy p\nstate ok otherwise\nrole r\nactions a: ");
    let actions: Vec<String> = (0..4_000).map(|i| format!("act{i}")).collect();
    text.push_str(&actions.join(", "));
    text.push_str("\npermit r to all\n");
    for i in 0..4_000 {
        writeln!(text, "permit r to nothing{i}").unwrap();
    }
    let (out, report) = check_timed("many-unknown", &text, 30);
    assert_eq!(code(&out), 1);
    // The first thousand are listed, the rest counted.
    let diagnostics = report["files"][0]["diagnostics"].as_array().unwrap();
    assert_eq!(diagnostics.len(), tollgate::limits::MAX_CHECK_DIAGNOSTICS);
    assert_eq!(report["files"][0]["omitted"], 3_000);
    assert_eq!(report["errors"], 4_000);
    let help = diagnostics[0]["help"].as_str().unwrap();
    assert!(help.ends_with("and 3991 more"), "{help}");
    assert!(
        out.stdout.len() < 4_000 * 1_000,
        "{} bytes",
        out.stdout.len()
    );
}

/// Each did-you-mean carries the fix as the text that replaces exactly the
/// underlined span: applying it gives back the policy before the typo.
/// (The playground once replaced `refund_dispte`, underlined alone, with
/// the whole `debt.refund_dispute` the help names.)
#[test]
fn a_suggestion_replaces_exactly_what_is_underlined() {
    let typos = [
        (
            "ampere",
            "debt.refund_dispute > 0",
            "debt.refund_dispte > 0",
        ),
        ("ampere", "permit member to", "permit membr to"),
        ("ampere", "in [ended, canceled]", "in [endd, canceled]"),
        (
            "ampere",
            "usable <= auto_recharge.threshold",
            "usable <= auto_recharge.treshold",
        ),
        (
            "api_platform",
            "charge.amount > 1000",
            "charge.amout > 1000",
        ),
        (
            "api_platform",
            "sum remaining of grants",
            "sum remainng of grants",
        ),
    ];
    let dir = std::env::temp_dir().join(format!("tollgate-suggest-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    for (policy, right, wrong) in typos {
        let original =
            fs::read_to_string(root().join(format!("policies/{policy}.policy"))).unwrap();
        assert!(original.contains(right), "{policy}: no `{right}`");
        let broken = original.replacen(right, wrong, 1);
        fs::write(dir.join("p.policy"), &broken).unwrap();
        let out = tollgate_in(&dir, &["check", "p.policy", "--format", "json"]);
        assert_eq!(code(&out), 1, "{wrong}: {}", stdout(&out));
        let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        let fixes: Vec<&serde_json::Value> = report["files"][0]["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["severity"] == "error")
            .collect();
        assert_eq!(fixes.len(), 1, "{wrong}: {fixes:?}");
        let d = fixes[0];
        // Lines and columns count from 1, columns in characters (the
        // policies are ASCII).
        let offset = |line: &serde_json::Value, column: &serde_json::Value| {
            let line = line.as_u64().unwrap() as usize;
            let before: usize = broken
                .split_inclusive('\n')
                .take(line - 1)
                .map(str::len)
                .sum();
            before + column.as_u64().unwrap() as usize - 1
        };
        let (from, to) = (
            offset(&d["line"], &d["column"]),
            offset(&d["end_line"], &d["end_column"]),
        );
        let suggestion = d["suggestion"]
            .as_str()
            .unwrap_or_else(|| panic!("{wrong}: {d}"));
        let fixed = format!("{}{suggestion}{}", &broken[..from], &broken[to..]);
        assert!(
            fixed == original,
            "{wrong}: `{}` replaced by `{suggestion}`",
            &broken[from..to]
        );
    }
    fs::remove_dir_all(&dir).ok();
}
