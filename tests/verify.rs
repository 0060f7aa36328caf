//! `tollgate verify`, `diff --exhaustive` and `check --prove`: proofs over
//! every account, and counterexamples that `tollgate decide` confirms.
//!
//! These need `z3`. Without it they fail under `CI=true` (`.ci/z3`
//! installs it) and are skipped, loudly, elsewhere.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::util::{root, stderr, stdout, tollgate};

fn z3_present() -> bool {
    let present = Command::new("z3")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !present {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "`z3` is missing under CI=true: .ci/z3 installs it"
        );
        eprintln!(
            "\n!!! SKIPPED: `z3` is not installed (apt-get install z3); under CI=true this fails !!!\n"
        );
    }
    present
}

fn ampere() -> String {
    std::fs::read_to_string(root().join("policies/ampere.policy")).unwrap()
}

/// A temporary policy file holding `text`.
fn policy_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tollgate-verify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.policy"));
    std::fs::write(&path, text).unwrap();
    path
}

/// `text` with `from` replaced, which must occur.
fn mutate(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "the policy no longer has {from:?}");
    text.replacen(from, to, 1)
}

#[test]
fn verify_proves_every_ampere_assertion() {
    if !z3_present() {
        return;
    }
    let out = tollgate(&["verify", "policies/ampere.policy"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    insta::assert_snapshot!("verify_ampere", stdout(&out));
    let json = tollgate(&["verify", "policies/ampere.policy", "--format", "json"]);
    let doc: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["proven"], 14);
    assert_eq!(doc["refuted"], 0);
}

/// Each refuted assertion's counterexample, decided again by `tollgate
/// decide` on the same policy, gives exactly the decision verify printed.
fn refutations_confirmed(policy: &Path) -> Vec<(String, Value, Value)> {
    let out = tollgate(&["verify", policy.to_str().unwrap(), "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut refuted = Vec::new();
    for a in doc["files"][0]["assertions"].as_array().unwrap() {
        if a["result"] != "refuted" {
            assert_eq!(a["result"], "proven", "{a}");
            continue;
        }
        let c = &a["counterexample"];
        let snapshot = policy.with_extension(format!("{}.json", a["name"].as_str().unwrap()));
        let decision = decide(policy.to_str().unwrap(), c, &snapshot);
        assert_eq!(decision, c["decision"], "decide disagrees with verify");
        refuted.push((
            a["name"].as_str().unwrap().to_owned(),
            c["snapshot"].clone(),
            decision,
        ));
    }
    refuted
}

/// `tollgate decide` under `policy` on what a counterexample or witness
/// holds (`snapshot`, `role`, `action`), its snapshot written to `file`:
/// the decision JSON.
fn decide(policy: &str, found: &Value, file: &Path) -> Value {
    std::fs::write(file, serde_json::to_string(&found["snapshot"]).unwrap()).unwrap();
    let out = tollgate(&[
        "decide",
        policy,
        "--snapshot",
        file.to_str().unwrap(),
        "--role",
        found["role"].as_str().unwrap(),
        "--action",
        found["action"].as_str().unwrap(),
    ]);
    serde_json::from_slice(&out.stdout).unwrap()
}

fn codes(decision: &Value, part: &str) -> Vec<String> {
    decision[part]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn dropping_a_deny_is_refuted_on_an_account_decide_confirms() {
    if !z3_present() {
        return;
    }
    let text = ampere();
    let start = text
        .find("  deny debt_outstanding when debt > 0 {")
        .unwrap();
    let end = text.find("  deny credits_locked").unwrap();
    let broken = format!("{}{}", &text[..start], &text[end..]);
    let refuted = refutations_confirmed(&policy_file("drop_deny", &broken));
    let (_, snapshot, decision) = refuted
        .iter()
        .find(|(n, _, _)| n == "debt_blocks_billable_work")
        .expect("debt_blocks_billable_work refuted");
    assert!(!snapshot["debts"].as_array().unwrap().is_empty());
    assert_ne!(decision["balance"]["debt"], "0");
    assert!(!codes(decision, "reasons").contains(&"debt_outstanding".to_owned()));
}

#[test]
fn widening_a_permission_is_refuted() {
    if !z3_present() {
        return;
    }
    let broken = mutate(
        &ampere(),
        "permit member to billable, free",
        "permit member to billable, free, buy_credits",
    );
    let refuted = refutations_confirmed(&policy_file("widen", &broken));
    let names: Vec<&str> = refuted.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(names, ["members_cannot_manage_billing"]);
    let (_, _, decision) = &refuted[0];
    assert_eq!(decision["request"]["action"], "buy_credits");
    assert!(!codes(decision, "reasons").contains(&"not_permitted".to_owned()));
}

#[test]
fn changing_a_threshold_is_refuted() {
    if !z3_present() {
        return;
    }
    let broken = mutate(
        &ampere(),
        "deny no_usable_credits when usable == 0 and locked == 0",
        "deny no_usable_credits when usable < 0 and locked == 0",
    );
    let refuted = refutations_confirmed(&policy_file("threshold", &broken));
    let names: Vec<&str> = refuted.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "no_usable_credits_no_work",
            "paused_billing_users_get_a_step"
        ]
    );
    for (_, _, decision) in &refuted {
        assert_eq!(decision["balance"]["usable"], "0");
    }
    assert_eq!(refuted[0].2["outcome"], "allow");
}

#[test]
fn verify_without_the_solver_says_what_to_install() {
    let out = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(["verify", "policies/ampere.policy"])
        .current_dir(root())
        .env("TOLLGATE_Z3", "/nonexistent/z3")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("cannot start the SMT solver `/nonexistent/z3`"),
        "{err}"
    );
    assert!(err.contains("apt-get install z3"), "{err}");
}

#[test]
fn verify_of_a_policy_without_assertions_or_with_errors() {
    if !z3_present() {
        return;
    }
    let out = tollgate(&["verify", "policies/messaging.policy"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).contains("no assertions to verify"),
        "{}",
        stdout(&out)
    );
    let bad = policy_file("bad", "policy x\nrole");
    let out = tollgate(&["verify", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn verify_github_annotations_point_at_the_assertion() {
    if !z3_present() {
        return;
    }
    let broken = mutate(
        &ampere(),
        "permit member to billable, free",
        "permit member to billable, free, buy_credits",
    );
    let path = policy_file("github", &broken);
    let out = tollgate(&["verify", path.to_str().unwrap(), "--format", "github"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let line = broken
        .lines()
        .position(|l| l.starts_with("assert members_cannot_manage_billing"))
        .unwrap()
        + 1;
    assert!(text.starts_with("::error file="), "{text}");
    assert!(
        text.contains(&format!(
            ",line={line},col=1::assertion `members_cannot_manage_billing` is refuted"
        )),
        "{text}"
    );
}

fn exhaustive(old: &str, new: &Path) -> (Option<i32>, Value) {
    let out = tollgate(&[
        "diff",
        old,
        new.to_str().unwrap(),
        "--exhaustive",
        "--format",
        "json",
    ]);
    (
        out.status.code(),
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
    )
}

#[test]
fn exhaustive_diff_of_layout_only_changes_finds_nothing() {
    if !z3_present() {
        return;
    }
    let text = ampere();
    // Comments, blank lines and the order of independent declarations.
    let ask_admin = "step ask_billing_admin \"Ask an organization owner or billing admin to resolve the balance.\"\n";
    let ask_owner = "step ask_owner \"Ask an organization owner: only owners can do this.\"\n";
    let moved = mutate(
        &text,
        &format!("{ask_admin}{ask_owner}"),
        &format!("{ask_owner}\n\n{ask_admin}"),
    );
    let moved = moved.replace("// ───", "// changed comment ───");
    let moved = mutate(&moved, "enum payment_method: valid, missing, failed\n", "");
    let moved = mutate(
        &moved,
        "enum subscription_status:",
        "enum payment_method: valid, missing, failed\nenum subscription_status:",
    );
    let path = policy_file("layout", &moved);
    let (code, doc) = exhaustive("policies/ampere.policy", &path);
    assert_eq!(code, Some(0), "{doc}");
    assert_eq!(doc["changed"], false);
    assert_eq!(doc["requests_compared"], 66);
    let human = tollgate(&[
        "diff",
        "policies/ampere.policy",
        path.to_str().unwrap(),
        "--exhaustive",
    ]);
    assert!(stdout(&human).contains("no decision changes on any account"));
}

/// The low-balance threshold moves from 100 to 200: exactly the accounts
/// with no debt and usable credits above 100 and at most 200 (when no
/// setting overrides it) change, and each witness shows it.
#[test]
fn exhaustive_diff_of_a_threshold_change_finds_the_band() {
    if !z3_present() {
        return;
    }
    let new = mutate(
        &ampere(),
        "settings.low_balance_threshold ?? 100",
        "settings.low_balance_threshold ?? 200",
    );
    let path = policy_file("band", &new);
    let (code, doc) = exhaustive("policies/ampere.policy", &path);
    assert_eq!(code, Some(1), "{doc}");
    let regions = doc["regions"].as_array().unwrap();
    let summary: Vec<String> = regions
        .iter()
        .map(|r| {
            let changes: Vec<String> = r["changes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    format!(
                        "{}: {} -> {}",
                        c["part"].as_str().unwrap(),
                        c["old"].as_str().unwrap(),
                        c["new"].as_str().unwrap()
                    )
                })
                .collect();
            format!(
                "{} requests where {} | {}",
                r["requests"].as_array().unwrap().len(),
                r["accounts"].as_str().unwrap(),
                changes.join("; ")
            )
        })
        .collect();
    insta::assert_snapshot!("exhaustive_threshold", summary.join("\n"));
    // Every witness, decided under each policy, is decided differently.
    for r in regions {
        let w = &r["witness"];
        let snapshot = path.with_extension("witness.json");
        let (old, new) = (
            decide("policies/ampere.policy", w, &snapshot),
            decide(path.to_str().unwrap(), w, &snapshot),
        );
        assert_ne!(old["state"], new["state"]);
        assert_eq!(old["state"], w["old"]["state"]);
        assert_eq!(new["state"], w["new"]["state"]);
        let usable: f64 = old["balance"]["usable"].as_str().unwrap().parse().unwrap();
        assert!(usable > 100.0 && usable <= 200.0, "{usable}");
    }
}

#[test]
fn exhaustive_diff_reports_roles_only_one_policy_has() {
    if !z3_present() {
        return;
    }
    let new = mutate(&ampere(), "role member\n", "role member\nrole auditor\n");
    let new = mutate(
        &new,
        "permit member to billable, free",
        "permit member to billable, free\npermit auditor to free",
    );
    let path = policy_file("auditor", &new);
    let (code, doc) = exhaustive("policies/ampere.policy", &path);
    assert_eq!(code, Some(1));
    assert_eq!(doc["only_new"], serde_json::json!(["role auditor"]));
    assert_eq!(doc["regions"], serde_json::json!([]));
}

#[test]
fn check_prove_finds_dead_rules_states_and_constant_steps() {
    if !z3_present() {
        return;
    }
    let text = mutate(
        &ampere(),
        "state ok otherwise",
        "state never when usable < 0\nstate ok otherwise",
    );
    let text = mutate(
        &text,
        "  /// \"Treat that warning as a planning signal.\"",
        "  warn hidden when usable == 0 and locked == 0 {\n    message \"never shown\"\n  }\n\n  /// \"Treat that warning as a planning signal.\"",
    );
    let text = mutate(
        &text,
        "      wait_for_settlement when settleable > 0\n",
        "      wait_for_settlement when settleable > 0\n      ask_owner when debt <= 0\n",
    );
    let path = policy_file("lints", &text);
    let plain = tollgate(&["check", path.to_str().unwrap()]);
    assert_eq!(plain.status.code(), Some(0), "{}", stderr(&plain));
    let out = tollgate(&[
        "check",
        "--prove",
        path.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let found: Vec<String> = doc["files"][0]["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            format!(
                "{} {}",
                d["code"].as_str().unwrap(),
                d["message"].as_str().unwrap()
            )
        })
        .collect();
    insta::assert_snapshot!("check_prove", found.join("\n"));
    let strict = tollgate(&[
        "check",
        "--prove",
        "--deny-warnings",
        path.to_str().unwrap(),
    ]);
    assert_eq!(strict.status.code(), Some(1));
    let clean = tollgate(&[
        "check",
        "--prove",
        "--deny-warnings",
        "policies/ampere.policy",
    ]);
    assert_eq!(clean.status.code(), Some(0), "{}", stderr(&clean));
}

#[test]
fn exhaustive_diff_names_a_changed_effect_amount_and_a_widened_permission() {
    if !z3_present() {
        return;
    }
    let doubled = mutate(
        &ampere(),
        "    amount = auto_recharge.amount\n",
        "    amount = auto_recharge.amount * 2\n",
    );
    let (code, doc) = exhaustive("policies/ampere.policy", &policy_file("doubled", &doubled));
    assert_eq!(code, Some(1));
    for r in doc["regions"].as_array().unwrap() {
        assert_eq!(r["exact"], true, "{r}");
        let accounts = r["accounts"].as_str().unwrap();
        assert!(
            accounts.contains("auto_recharge.amount != auto_recharge.amount * 2"),
            "{accounts}"
        );
        assert!(accounts.contains("auto_recharge.enabled"), "{accounts}");
        assert_eq!(r["changes"][0]["part"], "effects");
        let (old, new) = (
            &r["witness"]["old"]["effects"][0],
            &r["witness"]["new"]["effects"][0],
        );
        let amount = |e: &Value| -> f64 { e["amount"].as_str().unwrap().parse().unwrap() };
        assert_eq!(amount(new), 2.0 * amount(old));
    }
    let widened = mutate(
        &ampere(),
        "permit member to billable, free",
        "permit member to billable, free, buy_credits",
    );
    let (code, doc) = exhaustive("policies/ampere.policy", &policy_file("widened", &widened));
    assert_eq!(code, Some(1));
    let regions = doc["regions"].as_array().unwrap();
    assert_eq!(regions.len(), 1, "{doc}");
    assert_eq!(regions[0]["accounts"], "every account");
    assert_eq!(
        regions[0]["requests"],
        serde_json::json!([{ "role": "member", "action": "buy_credits" }])
    );
    assert_eq!(regions[0]["witness"]["old"]["outcome"], "deny");
    assert_eq!(regions[0]["witness"]["new"]["outcome"], "allow");
}

/// Found by a reviewer: the evaluator rounded a product it could not hold
/// (0.000001^5 came out as 0), so a rule fired that the prover, computing
/// exactly, proved could never fire. Arithmetic is exact or refused now, and
/// the two agree.
#[test]
fn a_product_the_evaluator_cannot_hold_is_refused_not_rounded() {
    if !z3_present() {
        return;
    }
    let text = mutate(
        &ampere(),
        "on billable {\n",
        "on billable {\n  deny rounding when usable > 0 and usable * usable * usable * usable * usable == 0 {\n    message \"rounded\"\n  }\n\n",
    );
    let path = policy_file("rounding", &text);
    let snapshot = path.with_extension("json");
    std::fs::write(
        &snapshot,
        r#"{"now": "2026-01-01T00:00:00Z", "grants": [{"id": "g", "kind": "included", "amount": "0.000001", "remaining": "0.000001", "granted_at": "2026-01-01T00:00:00Z"}]}"#,
    )
    .unwrap();
    let p = path.to_str().unwrap();
    let decided = tollgate(&[
        "decide",
        p,
        "--snapshot",
        snapshot.to_str().unwrap(),
        "--role",
        "owner",
        "--action",
        "send_message",
    ]);
    assert_eq!(decided.status.code(), Some(2), "{}", stdout(&decided));
    // Too small a value to hold, said as such, not as an overflow.
    assert!(
        stderr(&decided).contains("inexact arithmetic")
            && stderr(&decided).contains("28 significant digits"),
        "{}",
        stderr(&decided)
    );
    let lints = tollgate(&["check", "--prove", p, "--format", "json"]);
    assert!(
        stdout(&lints).contains("`deny rounding` can never fire"),
        "{}",
        stdout(&lints)
    );
    let verified = tollgate(&["verify", p]);
    assert_eq!(verified.status.code(), Some(0), "{}", stdout(&verified));
}

/// Found by a reviewer: counts and sums over grants were a fresh variable
/// in each policy, so a change to messaging's allowance floor was lost.
#[test]
fn exhaustive_diff_sees_a_change_behind_a_sum_over_grants() {
    if !z3_present() {
        return;
    }
    let messaging = std::fs::read_to_string(root().join("policies/messaging.policy")).unwrap();
    let changed = mutate(&messaging, "allowance * 0.2", "allowance * 0.25");
    let path = policy_file("floor", &changed);
    let (code, doc) = exhaustive("policies/messaging.policy", &path);
    assert_eq!(code, Some(1), "{doc}");
    let confirmed: Vec<&Value> = doc["regions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["witness"].is_null())
        .collect();
    assert!(!confirmed.is_empty(), "{doc}");
    for r in confirmed {
        assert_eq!(r["witness"]["old"]["state"], "ok", "{r}");
        assert_eq!(r["witness"]["new"]["state"], "allowance_low", "{r}");
    }
    let same = tollgate(&[
        "diff",
        "policies/messaging.policy",
        "policies/messaging.policy",
        "--exhaustive",
    ]);
    assert_eq!(same.status.code(), Some(0), "{}", stdout(&same));
}

/// A sum of what remains (or was granted) of grants picked by kind and
/// status is exact: a false assertion about messaging's allowance is
/// refuted on an account `decide` confirms, where it used to be unknown.
#[test]
fn an_assertion_about_a_sum_over_grants_is_refuted() {
    if !z3_present() {
        return;
    }
    let messaging = std::fs::read_to_string(root().join("policies/messaging.policy")).unwrap();
    let text = format!(
        "{messaging}\nassert allowance_never_low for agent on send_sms: never state allowance_low\n"
    );
    let refuted = refutations_confirmed(&policy_file("allowance", &text));
    assert_eq!(refuted.len(), 1);
    let (_, snapshot, decision) = &refuted[0];
    assert_eq!(decision["state"], "allowance_low");
    let grant = &snapshot["grants"][0];
    assert_ne!(grant["amount"], grant["remaining"], "{snapshot}");
}

/// A small policy with a decimal field `a`, plus `extra` lines.
fn with_field_a(extra: &str) -> String {
    format!(
        "policy p\nrole owner\nactions billable: run\npermit owner to all\n\
         credits purchased\ndebts usage\nspend purchased by expires_at\n\
         settle by created_at {{\n  usage from usable\n}}\n\
         field a: decimal default 0\n{extra}state ok otherwise\n"
    )
}

/// Found by a security tester: the solver, computing exactly, found the
/// assertion failing on `a = 1`, where `a * 0.000001⁵` needs 30 decimal
/// places and the evaluator refuses the account; `verify` and `diff
/// --exhaustive` then stopped with "internal error … please report this"
/// (exit 2). An account the policy cannot be evaluated on is a finding:
/// `verify` reports the assertion unknown with the account and the
/// evaluator's error, `diff` a region where one policy cannot be
/// evaluated.
#[test]
fn an_account_the_evaluator_refuses_is_a_finding_not_an_internal_error() {
    if !z3_present() {
        return;
    }
    let tiny = "state tiny when a * 0.000001 * 0.000001 * 0.000001 * 0.000001 * 0.000001 > 0\n";
    let path = policy_file(
        "inexact",
        &with_field_a(&format!("{tiny}assert never_tiny: never state tiny\n")),
    );
    let p = path.to_str().unwrap();
    let out = tollgate(&["verify", p, "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let a = &doc["files"][0]["assertions"][0];
    assert_eq!(a["result"], "unknown", "{doc}");
    assert!(
        a["reason"]
            .as_str()
            .unwrap()
            .contains("cannot be evaluated"),
        "{doc}"
    );
    let error = a["counterexample"]["decision"]["error"].as_str().unwrap();
    assert!(error.contains("inexact arithmetic"), "{doc}");
    // `decide` refuses that very snapshot, with that error.
    let snapshot = path.with_extension("json");
    std::fs::write(&snapshot, a["counterexample"]["snapshot"].to_string()).unwrap();
    let decided = tollgate(&[
        "decide",
        p,
        "--snapshot",
        snapshot.to_str().unwrap(),
        "--role",
        "owner",
        "--action",
        "run",
    ]);
    assert_eq!(decided.status.code(), Some(2));
    assert!(stderr(&decided).contains(error), "{}", stderr(&decided));
    let human = tollgate(&["verify", p]);
    assert!(
        stdout(&human).contains("UNKNOWN  never_tiny") && !stderr(&human).contains("internal"),
        "{}{}",
        stdout(&human),
        stderr(&human)
    );

    let old = policy_file("inexact-old", &with_field_a(""));
    let new = policy_file("inexact-new", &with_field_a(tiny));
    let (code, doc) = exhaustive(old.to_str().unwrap(), &new);
    assert_eq!(code, Some(1), "{doc}");
    let region = &doc["regions"][0];
    assert_eq!(region["changes"][0]["part"], "evaluation", "{doc}");
    assert_eq!(region["changes"][0]["old"], "decides", "{doc}");
    assert_eq!(region["witness"]["old"]["state"], "ok", "{doc}");
    assert!(
        (region["witness"]["new"]["error"].as_str().unwrap()).contains("inexact arithmetic"),
        "{doc}"
    );
}

/// With the same finding: `0.000001 * 10^15 * 10^15` is 10^24, which a
/// decimal holds, but the evaluator refused it for the trailing zeros an
/// amount and a constant carry. It is decided now, so the assertion is
/// refuted outright.
#[test]
fn a_product_held_exactly_is_not_refused_for_trailing_zeros() {
    if !z3_present() {
        return;
    }
    let path = policy_file(
        "zeros",
        &with_field_a(
            "state big when a * 1000000000000000 * 1000000000000000 > 1\n\
             assert never_big: never state big\n",
        ),
    );
    let out = tollgate(&["verify", path.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let a = &doc["files"][0]["assertions"][0];
    assert_eq!(a["result"], "refuted", "{doc}");
    assert_eq!(a["counterexample"]["decision"]["state"], "big", "{doc}");
}
