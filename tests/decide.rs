//! `tollgate decide`: the reference policy's decisions, pinned.

use serde_json::Value;

use crate::util::{code, root, stderr, stdout, tollgate};

/// One request against one account, with what the reference policy must decide.
struct Row {
    account: &'static str,
    role: &'static str,
    action: &'static str,
    outcome: &'static str,
    state: &'static str,
    reasons: &'static [&'static str],
    next_steps: &'static [&'static str],
    warnings: &'static [&'static str],
    effects: &'static [&'static str],
}

const fn row(
    account: &'static str,
    role: &'static str,
    action: &'static str,
    outcome: &'static str,
    state: &'static str,
    reasons: &'static [&'static str],
    next_steps: &'static [&'static str],
) -> Row {
    Row {
        account,
        role,
        action,
        outcome,
        state,
        reasons,
        next_steps,
        warnings: &[],
        effects: &[],
    }
}

const fn warn(mut r: Row, warnings: &'static [&'static str]) -> Row {
    r.warnings = warnings;
    r
}

const fn effect(mut r: Row, effects: &'static [&'static str]) -> Row {
    r.effects = effects;
    r
}

/// Every row of `../shared/examples/README.md`, on the copies in `examples/`.
const SHARED_EXAMPLES: &[Row] = &[
    row(
        "examples/paused-zero-credits.json",
        "member",
        "send_message",
        "deny",
        "paused",
        &["no_usable_credits"],
        &["ask_billing_admin"],
    ),
    row(
        "examples/paused-zero-credits.json",
        "owner",
        "run_tool",
        "deny",
        "paused",
        &["no_usable_credits"],
        &["buy_credits", "enable_auto_recharge", "wait_for_refresh"],
    ),
    row(
        "examples/paused-zero-credits.json",
        "member",
        "view_history",
        "allow",
        "paused",
        &[],
        &[],
    ),
    row(
        "examples/ended-subscription-locked.toml",
        "member",
        "send_message",
        "deny",
        "debt",
        &["debt_outstanding", "credits_locked"],
        &["ask_billing_admin"],
    ),
    row(
        "examples/ended-subscription-locked.toml",
        "owner",
        "run_tool",
        "deny",
        "debt",
        &["debt_outstanding", "credits_locked"],
        &["wait_for_settlement", "buy_credits", "resume_subscription"],
    ),
    row(
        "examples/ended-subscription-locked.toml",
        "billing_admin",
        "buy_credits",
        "allow",
        "debt",
        &[],
        &[],
    ),
    row(
        "examples/dispute-debt.json",
        "owner",
        "run_tool",
        "deny",
        "debt",
        &["debt_outstanding"],
        &[
            "resolve_dispute",
            "wait_for_settlement",
            "buy_credits",
            "update_payment_method",
        ],
    ),
    row(
        "examples/dispute-debt.json",
        "member",
        "view_history",
        "allow",
        "debt",
        &[],
        &[],
    ),
];

const D: &str = "tests/corpus/decide/";

/// Scenarios covering every state, reason, next step, warning and effect.
const SCENARIOS: &[(&str, Row)] = &[
    (
        "healthy-member-sends",
        row(
            "healthy.json",
            "member",
            "send_message",
            "allow",
            "ok",
            &[],
            &[],
        ),
    ),
    (
        "low-balance-warns",
        warn(
            row(
                "low-balance.json",
                "member",
                "send_message",
                "allow",
                "low_balance",
                &[],
                &[],
            ),
            &["low_balance"],
        ),
    ),
    (
        "custom-threshold-warns",
        warn(
            row(
                "low-balance-custom-threshold.json",
                "owner",
                "run_workflow",
                "allow",
                "low_balance",
                &[],
                &[],
            ),
            &["low_balance"],
        ),
    ),
    (
        "exactly-at-threshold",
        warn(
            row(
                "exactly-at-threshold.json",
                "member",
                "scheduled_run",
                "allow",
                "low_balance",
                &[],
                &[],
            ),
            &["low_balance"],
        ),
    ),
    (
        "auto-recharge-fires",
        effect(
            warn(
                row(
                    "auto-recharge-due.json",
                    "member",
                    "send_message",
                    "allow",
                    "low_balance",
                    &[],
                    &[],
                ),
                &["low_balance"],
            ),
            &["auto_recharge"],
        ),
    ),
    (
        "auto-recharge-past-due",
        effect(
            row(
                "auto-recharge-past-due.json",
                "owner",
                "browser_session",
                "allow",
                "ok",
                &[],
                &[],
            ),
            &["auto_recharge"],
        ),
    ),
    (
        "auto-recharge-needs-valid-payment",
        warn(
            row(
                "auto-recharge-failed-payment.json",
                "member",
                "send_message",
                "allow",
                "low_balance",
                &[],
                &[],
            ),
            &["low_balance"],
        ),
    ),
    (
        "paused-member",
        row(
            "paused-active.json",
            "member",
            "send_message",
            "deny",
            "paused",
            &["no_usable_credits"],
            &["ask_billing_admin"],
        ),
    ),
    (
        "paused-owner",
        row(
            "paused-active.json",
            "owner",
            "run_tool",
            "deny",
            "paused",
            &["no_usable_credits"],
            &["buy_credits", "enable_auto_recharge", "wait_for_refresh"],
        ),
    ),
    (
        "paused-free-action",
        row(
            "paused-active.json",
            "member",
            "view_history",
            "allow",
            "paused",
            &[],
            &[],
        ),
    ),
    (
        "paused-billing-action",
        row(
            "paused-active.json",
            "billing_admin",
            "buy_credits",
            "allow",
            "paused",
            &[],
            &[],
        ),
    ),
    (
        "paused-auto-recharge-on",
        effect(
            row(
                "paused-auto-recharge-on.json",
                "billing_admin",
                "run_tool",
                "deny",
                "paused",
                &["no_usable_credits"],
                &["buy_credits", "wait_for_refresh"],
            ),
            &["auto_recharge"],
        ),
    ),
    (
        "paused-no-subscription",
        row(
            "paused-no-subscription.json",
            "owner",
            "send_message",
            "deny",
            "paused",
            &["no_usable_credits"],
            &[
                "buy_credits",
                "enable_auto_recharge",
                "start_subscription",
                "update_payment_method",
            ],
        ),
    ),
    (
        "paused-canceled",
        row(
            "paused-canceled.json",
            "owner",
            "run_tool",
            "deny",
            "paused",
            &["no_usable_credits"],
            &["buy_credits", "enable_auto_recharge", "resume_subscription"],
        ),
    ),
    (
        "paused-past-due",
        row(
            "paused-past-due.json",
            "billing_admin",
            "run_workflow",
            "deny",
            "paused",
            &["no_usable_credits"],
            &[
                "buy_credits",
                "enable_auto_recharge",
                "update_payment_method",
            ],
        ),
    ),
    (
        "paused-no-period-end",
        row(
            "paused-no-period-end.json",
            "owner",
            "send_message",
            "deny",
            "paused",
            &["no_usable_credits"],
            &["buy_credits", "enable_auto_recharge", "wait_for_refresh"],
        ),
    ),
    (
        "expires-exactly-now",
        row(
            "expires-exactly-now.json",
            "member",
            "send_message",
            "deny",
            "paused",
            &["no_usable_credits"],
            &["ask_billing_admin"],
        ),
    ),
    (
        "locked-owner",
        row(
            "locked-ended.json",
            "owner",
            "send_message",
            "deny",
            "locked",
            &["credits_locked"],
            &["resume_subscription", "buy_credits"],
        ),
    ),
    (
        "locked-member",
        row(
            "locked-ended.json",
            "member",
            "run_tool",
            "deny",
            "locked",
            &["credits_locked"],
            &["ask_billing_admin"],
        ),
    ),
    (
        "locked-and-expired",
        row(
            "locked-purchased-expired-too.json",
            "billing_admin",
            "run_tool",
            "deny",
            "locked",
            &["credits_locked"],
            &["resume_subscription", "buy_credits"],
        ),
    ),
    (
        "debt-nothing-to-settle",
        row(
            "debt-nothing-to-settle.json",
            "owner",
            "send_message",
            "deny",
            "debt",
            &["debt_outstanding", "no_usable_credits"],
            &["buy_credits", "enable_auto_recharge", "wait_for_refresh"],
        ),
    ),
    (
        "debt-settleable",
        row(
            "debt-with-usable-credits.json",
            "owner",
            "run_tool",
            "deny",
            "debt",
            &["debt_outstanding"],
            &["wait_for_settlement", "buy_credits"],
        ),
    ),
    (
        "debt-free-action",
        row(
            "debt-with-usable-credits.json",
            "member",
            "view_usage",
            "allow",
            "debt",
            &[],
            &[],
        ),
    ),
    (
        "dispute-and-overrun",
        row(
            "dispute-and-overrun.json",
            "owner",
            "run_tool",
            "deny",
            "debt",
            &["debt_outstanding"],
            &[
                "resolve_dispute",
                "wait_for_settlement",
                "buy_credits",
                "update_payment_method",
            ],
        ),
    ),
    (
        "member-may-not-buy",
        row(
            "healthy.json",
            "member",
            "buy_credits",
            "deny",
            "ok",
            &["not_permitted"],
            &["ask_billing_admin"],
        ),
    ),
    (
        "billing-admin-may-not-grant",
        row(
            "healthy.json",
            "billing_admin",
            "grant_billing_admin",
            "deny",
            "ok",
            &["not_permitted"],
            &["ask_owner"],
        ),
    ),
    (
        "member-may-not-grant",
        row(
            "healthy.json",
            "member",
            "grant_billing_admin",
            "deny",
            "ok",
            &["not_permitted"],
            &["ask_owner"],
        ),
    ),
    (
        "owner-grants",
        row(
            "healthy.json",
            "owner",
            "grant_billing_admin",
            "allow",
            "ok",
            &[],
            &[],
        ),
    ),
];

fn decide(
    account: &str,
    role: &str,
    action: &str,
    extra: &[&str],
) -> (Value, std::process::Output) {
    let mut args = vec![
        "decide",
        "policies/ampere.policy",
        "--snapshot",
        account,
        "--role",
        role,
        "--action",
        action,
    ];
    args.extend(extra);
    let out = tollgate(&args);
    let json = serde_json::from_str(&stdout(&out)).unwrap_or(Value::Null);
    (json, out)
}

fn codes(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|x| x["code"].as_str().unwrap().to_owned())
        .collect()
}

fn assert_row(r: &Row, account: &str, json: &Value, steps_in_any_order: bool) {
    let what = format!("{account} {} {}", r.role, r.action);
    assert_eq!(json["version"], 1);
    assert_eq!(json["policy"], "ampere");
    assert_eq!(json["request"]["role"], r.role);
    assert_eq!(json["request"]["action"], r.action);
    assert_eq!(json["outcome"], r.outcome, "{what}: outcome");
    assert_eq!(json["state"], r.state, "{what}: state");
    assert_eq!(codes(&json["reasons"]), r.reasons, "{what}: reasons");
    let mut steps = codes(&json["next_steps"]);
    let mut want: Vec<String> = r.next_steps.iter().map(|s| s.to_string()).collect();
    if steps_in_any_order {
        steps.sort();
        want.sort();
    }
    assert_eq!(steps, want, "{what}: next steps");
    assert_eq!(codes(&json["warnings"]), r.warnings, "{what}: warnings");
    assert_eq!(codes(&json["effects"]), r.effects, "{what}: effects");
}

#[test]
fn every_shared_example_row() {
    for r in SHARED_EXAMPLES {
        let (json, out) = decide(r.account, r.role, r.action, &[]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert_row(r, r.account, &json, true);
    }
}

#[test]
fn shared_example_balances() {
    let balance =
        |account: &str| decide(account, "member", "view_history", &[]).0["balance"].clone();
    assert_eq!(
        balance("examples/paused-zero-credits.json"),
        serde_json::json!({"usable": "0", "locked": "0", "expired": "250", "debt": "0"})
    );
    assert_eq!(
        balance("examples/ended-subscription-locked.toml"),
        serde_json::json!({"usable": "0", "locked": "640.5", "expired": "0", "debt": "120"})
    );
    assert_eq!(
        balance("examples/dispute-debt.json"),
        serde_json::json!({"usable": "180", "locked": "0", "expired": "0", "debt": "900"})
    );
}

/// Every scenario's decision is checked field by field, then its JSON (with
/// the trace) and its human explanation are pinned.
#[test]
fn scenarios() {
    assert!(SCENARIOS.len() >= 20);
    for (name, r) in SCENARIOS {
        let account = format!("{D}{}", r.account);
        let (json, out) = decide(&account, r.role, r.action, &["--explain"]);
        assert_eq!(code(&out), 0, "{name}: {}", stderr(&out));
        assert_row(r, &account, &json, false);
        insta::assert_snapshot!(format!("decide-{name}"), stdout(&out));
        let (_, human) = decide(
            &account,
            r.role,
            r.action,
            &["--explain", "--format", "human"],
        );
        assert_eq!(code(&human), 0);
        insta::assert_snapshot!(format!("explain-{name}"), stdout(&human));
    }
}

#[test]
fn scenarios_cover_the_whole_reference_policy() {
    let all = |f: fn(&Row) -> &'static [&'static str]| -> Vec<&str> {
        let mut v: Vec<&str> = SCENARIOS
            .iter()
            .flat_map(|(_, r)| f(r).iter().copied())
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let mut states: Vec<&str> = SCENARIOS.iter().map(|(_, r)| r.state).collect();
    states.sort();
    states.dedup();
    assert_eq!(states, ["debt", "locked", "low_balance", "ok", "paused"]);
    assert_eq!(
        all(|r| r.reasons),
        [
            "credits_locked",
            "debt_outstanding",
            "no_usable_credits",
            "not_permitted"
        ]
    );
    assert_eq!(
        all(|r| r.next_steps),
        [
            "ask_billing_admin",
            "ask_owner",
            "buy_credits",
            "enable_auto_recharge",
            "resolve_dispute",
            "resume_subscription",
            "start_subscription",
            "update_payment_method",
            "wait_for_refresh",
            "wait_for_settlement"
        ]
    );
    assert_eq!(all(|r| r.warnings), ["low_balance"]);
    assert_eq!(all(|r| r.effects), ["auto_recharge"]);
}

#[test]
fn auto_recharge_carries_the_configured_amount() {
    let (json, _) = decide(
        &format!("{D}auto-recharge-past-due.json"),
        "owner",
        "browser_session",
        &[],
    );
    assert_eq!(json["effects"][0]["code"], "auto_recharge");
    assert_eq!(json["effects"][0]["amount"], "2500.5");
}

#[test]
fn wait_for_refresh_names_the_period_end() {
    let (json, _) = decide(
        "examples/paused-zero-credits.json",
        "owner",
        "run_tool",
        &[],
    );
    let steps = json["next_steps"].as_array().unwrap();
    let refresh = steps
        .iter()
        .find(|s| s["code"] == "wait_for_refresh")
        .unwrap();
    assert!(
        refresh["message"].as_str().unwrap().contains("2026-12-01"),
        "{refresh}"
    );
}

#[test]
fn json_and_toml_forms_of_an_account_decide_alike() {
    let dir = std::env::temp_dir().join(format!("tollgate-forms-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for source in [
        "examples/paused-zero-credits.json",
        "examples/dispute-debt.json",
        "examples/ended-subscription-locked.toml",
    ] {
        let text = std::fs::read_to_string(root().join(source)).unwrap();
        let (json_path, toml_path) = (dir.join("a.json"), dir.join("a.toml"));
        if source.ends_with(".toml") {
            let value: toml::Value = toml::from_str(&text).unwrap();
            std::fs::write(&json_path, serde_json::to_string(&value).unwrap()).unwrap();
            std::fs::write(&toml_path, &text).unwrap();
        } else {
            let value: serde_json::Value = serde_json::from_str(&text).unwrap();
            std::fs::write(&toml_path, toml::to_string(&value).unwrap()).unwrap();
            std::fs::write(&json_path, &text).unwrap();
        }
        for (role, action) in [
            ("owner", "run_tool"),
            ("member", "send_message"),
            ("billing_admin", "buy_credits"),
        ] {
            let a = decide(json_path.to_str().unwrap(), role, action, &["--explain"]).1;
            let b = decide(toml_path.to_str().unwrap(), role, action, &["--explain"]).1;
            assert_eq!(code(&a), 0, "{}", stderr(&a));
            assert_eq!(stdout(&a), stdout(&b), "{source} {role} {action}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn standard_input_reads_json() {
    use std::io::Write;
    let text = std::fs::read_to_string(root().join("examples/dispute-debt.json")).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args([
            "decide",
            "policies/ampere.policy",
            "--snapshot",
            "-",
            "--role",
            "owner",
            "--action",
            "run_tool",
        ])
        .current_dir(root())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 0);
    let from_file = decide("examples/dispute-debt.json", "owner", "run_tool", &[]).1;
    assert_eq!(stdout(&out), stdout(&from_file));
}

#[test]
fn now_can_be_overridden() {
    // On 2026-12-01 the included grant has expired: nothing is usable.
    let (json, out) = decide(
        "examples/dispute-debt.json",
        "owner",
        "view_usage",
        &["--now", "2026-12-01T00:00:00Z"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json["balance"]["usable"], "0");
    assert_eq!(json["balance"]["expired"], "180");
    let (_, bad) = decide(
        "examples/dispute-debt.json",
        "owner",
        "view_usage",
        &["--now", "tomorrow"],
    );
    assert_eq!(code(&bad), 2);
}

#[test]
fn unknown_role_or_action_is_bad_input_with_a_suggestion() {
    let (_, out) = decide("examples/dispute-debt.json", "membr", "run_tool", &[]);
    assert_eq!(code(&out), 2);
    assert!(stdout(&out).is_empty());
    assert!(
        stderr(&out).contains("unknown role `membr`; did you mean `member`?"),
        "{}",
        stderr(&out)
    );
    let (_, out) = decide("examples/dispute-debt.json", "owner", "run_tol", &[]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("unknown action `run_tol`; did you mean `run_tool`?"));
}

/// An unknown role or action with no near name said only that it was
/// unknown, leaving the user to read the policy for the names it has.
#[test]
fn unknown_role_or_action_without_a_near_name_lists_the_policy_s_names() {
    let (_, out) = decide("examples/dispute-debt.json", "admin", "run_tool", &[]);
    assert_eq!(code(&out), 2);
    assert_eq!(
        stderr(&out),
        "error: unknown role `admin`; the policy's roles are `owner`, `billing_admin` and `member`\n"
    );
    let (_, out) = decide("examples/dispute-debt.json", "owner", "fly", &[]);
    assert_eq!(code(&out), 2);
    assert_eq!(
        stderr(&out),
        "error: unknown action `fly`; the policy's actions are `send_message`, `run_tool`, \
         `run_workflow`, `scheduled_run`, `browser_session`, `buy_credits`, `configure_auto_recharge`, \
         `change_plan`, `manage_billing_settings`, `update_payment_method` and 12 more\n"
    );

    // A policy of a thousand roles: the first ten and a count.
    let dir = std::env::temp_dir().join(format!("tollgate-many-roles-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let roles: String = (0..1000).map(|i| format!("role r{i}\n")).collect();
    let policy = format!(
        "policy many\n{roles}actions billable: run\npermit r0 to billable\n\
         credits included\nspend included by expires_at, id\nstate ok otherwise\n"
    );
    std::fs::write(dir.join("many.policy"), policy).unwrap();
    let out = crate::util::tollgate_in(
        &dir,
        &[
            "decide",
            "many.policy",
            "--snapshot",
            root().join("examples/dispute-debt.json").to_str().unwrap(),
            "--role",
            "administrator",
            "--action",
            "run",
        ],
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).ends_with(
            "the policy's roles are `r0`, `r1`, `r2`, `r3`, `r4`, `r5`, `r6`, `r7`, `r8`, `r9` and 990 more\n"
        ),
        "{}",
        stderr(&out)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn decisions_are_deterministic() {
    let a = decide(
        "examples/ended-subscription-locked.toml",
        "owner",
        "run_tool",
        &["--explain"],
    )
    .1;
    let b = decide(
        "examples/ended-subscription-locked.toml",
        "owner",
        "run_tool",
        &["--explain"],
    )
    .1;
    assert_eq!(a.stdout, b.stdout);
}

/// A total compared with a constant is compiled to one fused integer
/// comparison, with the operands swapped when the constant is on the left.
/// Every total, operator and side must decide as the general comparison
/// does (here forced by reading the constant through a field default).
#[test]
fn fused_total_comparisons_agree_with_general_ones() {
    let totals = [
        "usable",
        "locked",
        "expired",
        "debt",
        "debt.overrun",
        "settleable",
    ];
    let ops = ["==", "!=", "<", "<=", ">", ">="];
    let mut text = String::from(
        "policy fused\nrole owner\nactions work: run\npermit owner to all\n\
         credits included, purchased\ndebts overrun, other\n\
         enum status: active, ended\nfield sub.status: status default active\n\
         field settings.c: optional decimal\nlet c = settings.c ?? 250\n\
         lock purchased when sub.status == ended {\n  message \"locked\"\n  may settle overrun\n}\n\
         spend included, purchased by expires_at, granted_at, id\n\
         settle overrun, other by created_at, id {\n  overrun from usable, locked\n  other from usable\n}\n",
    );
    let mut names = Vec::new();
    for (t, total) in totals.iter().enumerate() {
        for (o, op) in ops.iter().enumerate() {
            for (side, (fused, general)) in [
                (format!("{total} {op} 250"), format!("{total} {op} c")),
                (format!("250 {op} {total}"), format!("c {op} {total}")),
            ]
            .iter()
            .enumerate()
            {
                let name = format!("t{t}_o{o}_s{side}");
                text.push_str(&format!("step {name}_f \"f\"\nstep {name}_g \"g\"\n"));
                names.push((name, fused.clone(), general.clone()));
            }
        }
    }
    text.push_str(
        "state ok otherwise\non work {\n  deny always {\n    message \"m\"\n    steps {\n",
    );
    for (name, fused, general) in &names {
        text.push_str(&format!(
            "      {name}_f when {fused}\n      {name}_g when {general}\n"
        ));
    }
    text.push_str("    }\n  }\n}\n");
    let policy =
        tollgate::Policy::from_source("fused.policy", &text).unwrap_or_else(|e| panic!("{e:?}"));

    // Totals below, at and above the constant, with and without a lock.
    for (remaining, owed, status) in [
        ("100", "0", "active"),
        ("250", "250", "active"),
        ("400", "90", "ended"),
        ("250", "600", "ended"),
    ] {
        let account = format!(
            r#"{{"now": "2026-11-22T00:00:00Z", "sub": {{"status": "{status}"}},
                "grants": [
                  {{"id": "a", "kind": "included", "amount": "{remaining}", "remaining": "{remaining}", "granted_at": "2026-11-01T00:00:00Z"}},
                  {{"id": "b", "kind": "purchased", "amount": "{remaining}", "remaining": "{remaining}", "granted_at": "2026-11-01T00:00:00Z"}},
                  {{"id": "c", "kind": "included", "amount": "250", "remaining": "250", "granted_at": "2026-10-01T00:00:00Z", "expires_at": "2026-11-01T00:00:00Z"}}
                ],
                "debts": [
                  {{"id": "d", "kind": "overrun", "amount": "{owed}", "created_at": "2026-11-02T00:00:00Z"}},
                  {{"id": "e", "kind": "other", "amount": "30", "created_at": "2026-11-03T00:00:00Z"}}
                ]}}"#
        );
        let account = policy.snapshot_from_json(&account).unwrap();
        let request = policy.request("owner", "run").unwrap();
        let json: Value = serde_json::from_str(
            &policy
                .decide(&account, &request)
                .unwrap()
                .to_json()
                .unwrap(),
        )
        .unwrap();
        let steps = codes(&json["next_steps"]);
        let mut held = 0;
        for (name, fused, general) in &names {
            let f = steps.contains(&format!("{name}_f"));
            let g = steps.contains(&format!("{name}_g"));
            assert_eq!(
                f, g,
                "`{fused}` and `{general}` differ on {remaining}/{owed}/{status}"
            );
            held += usize::from(f);
        }
        assert!(
            held > 0 && held < names.len(),
            "the cases are not all alike"
        );
    }
}

/// Messages come from the policy's text; `--format human` printed their
/// control characters as they were, so a policy could clear a terminal.
#[test]
fn human_output_shows_control_characters_instead_of_obeying_them() {
    let dir = std::env::temp_dir().join(format!("tollgate-esc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = dir.join("esc.policy");
    std::fs::write(
        &policy,
        "policy p\nrole r\nactions a: x\npermit r to all\nstep s \"hi\u{1b}[2J\u{7} there\"\nstate ok otherwise\non a {\n deny d {\n  message \"m\u{1b}[31m\"\n  steps { s }\n }\n}\n",
    )
    .unwrap();
    let snapshot = dir.join("s.json");
    std::fs::write(&snapshot, r#"{"now":"2026-01-01T00:00:00Z","account":"a"}"#).unwrap();
    let out = tollgate(&[
        "decide",
        policy.to_str().unwrap(),
        "--snapshot",
        snapshot.to_str().unwrap(),
        "--role",
        "r",
        "--action",
        "x",
        "--format",
        "human",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("hi␛[2J␇ there"), "{text}");
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "{text:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
