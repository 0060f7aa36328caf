//! Bounds on the work one decision does: the checker counts every
//! expression as if the `let`s it reads were written out in full, and the
//! aggregates one decision can walk, and refuses a policy past the limits
//! (`too_expensive`), so that no accepted policy decides in unbounded time.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::util::{code, root, stderr};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "tollgate-eval-bounds-{name}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `tollgate` in `dir`, killing it and failing the test past `limit`:
/// before the bounds these commands ran for minutes or hours.
fn run_within(dir: &Path, args: &[&str], limit: Duration) -> (Output, Duration) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("`tollgate {}` ran past {limit:?}", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = started.elapsed();
    (child.wait_with_output().unwrap(), took)
}

/// Generous for a busy 2-core machine and a debug build: each of these
/// takes milliseconds in release once refused.
const QUICKLY: Duration = Duration::from_secs(10);

const SNAPSHOT: &str = r#"{"now": "2026-01-01T00:00:00Z", "account": "a"}"#;

/// `let l0 = <first>`, then `let lK = l(K-1) + l(K-1)`: 652 bytes for 30
/// lets, and 2^30 nodes when every read is evaluated again.
fn doubling_chain(first: &str, n: usize) -> String {
    let mut s = format!("policy p\nrole r\nactions a: x\npermit r to all\nlet l0 = {first}\n");
    for i in 1..n {
        s.push_str(&format!("let l{i} = l{} + l{}\n", i - 1, i - 1));
    }
    s.push_str(&format!(
        "state s when l{} > 0\nstate ok otherwise\n",
        n - 1
    ));
    s
}

fn check_refuses(dir: &Path, file: &str, text: &str, code_name: &str) -> String {
    std::fs::write(dir.join(file), text).unwrap();
    let (out, took) = run_within(dir, &["check", file], QUICKLY);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(code_name), "{err}");
    eprintln!("check {file}: {took:?}");
    err
}

/// 30 lets each reading the one before twice: `decide` took 44 s (and 4
/// times longer per 2 more lets); `check` passed it.
#[test]
fn an_exponential_let_chain_is_refused_and_decide_does_not_hang() {
    let dir = temp_dir("exp");
    let text = doubling_chain("usable", 30);
    assert!(text.len() < 700);
    let err = check_refuses(&dir, "exp.policy", &text, "too_expensive");
    assert!(err.contains("10000"), "names the limit: {err}");
    std::fs::write(dir.join("s.json"), SNAPSHOT).unwrap();
    let (out, took) = run_within(
        &dir,
        &[
            "decide",
            "exp.policy",
            "--snapshot",
            "s.json",
            "--role",
            "r",
            "--action",
            "x",
        ],
        QUICKLY,
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("too_expensive"), "{}", stderr(&out));
    eprintln!("decide exp.policy: {took:?}");
}

/// The same chain of constants: the constant-condition lint evaluated it,
/// so `check` itself was exponential.
#[test]
fn a_constant_let_chain_is_refused_without_evaluating_it() {
    let dir = temp_dir("const");
    check_refuses(
        &dir,
        "const.policy",
        &doubling_chain("1", 30),
        "too_expensive",
    );
    // Far longer chains cost no more: the lets past the limit are not
    // expanded, let alone evaluated.
    check_refuses(
        &dir,
        "const-long.policy",
        &doubling_chain("1", 2_000),
        "too_expensive",
    );
}

/// A chain just under the limit is accepted and decides: 2^11 doublings of
/// `usable` are 8,189 nodes, 2^12 are 16,381.
#[test]
fn a_doubling_chain_under_the_limit_is_accepted() {
    let dir = temp_dir("under");
    let text = doubling_chain("usable", 12);
    std::fs::write(dir.join("under.policy"), &text).unwrap();
    std::fs::write(dir.join("s.json"), SNAPSHOT).unwrap();
    let (out, _) = run_within(&dir, &["check", "under.policy"], QUICKLY);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let (out, _) = run_within(
        &dir,
        &[
            "decide",
            "under.policy",
            "--snapshot",
            "s.json",
            "--role",
            "r",
            "--action",
            "x",
        ],
        QUICKLY,
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    check_refuses(
        &dir,
        "over.policy",
        &doubling_chain("usable", 13),
        "too_expensive",
    );
}

/// The reference policy with `lets` appended and `states` before its first
/// state.
fn ampere_with(states: &str, lets: &str) -> String {
    let base = std::fs::read_to_string(root().join("policies/ampere.policy")).unwrap();
    assert!(base.contains("state debt when debt > 0"));
    let mut text = base.replace(
        "state debt when debt > 0",
        &format!("{states}state debt when debt > 0"),
    );
    text.push_str(lets);
    text
}

/// 5,000 lets that each sum over the grants, read by 5,000 states: against
/// 100,000 grants, one decision walked them 5,000 times (33 s).
#[test]
fn thousands_of_aggregate_walks_are_refused() {
    let dir = temp_dir("walks");
    let n = 5_000;
    let lets: String = (0..n)
        .map(|i| {
            format!(
                "let agg{i} = sum remaining of grants where amount > {i} and kind == purchased\n"
            )
        })
        .collect();
    let states: String = (0..n)
        .map(|i| format!("state st{i} when agg{i} > 1000000000\n"))
        .collect();
    let err = check_refuses(
        &dir,
        "agg.policy",
        &ampere_with(&states, &lets),
        "too_expensive",
    );
    assert!(err.contains("128"), "names the limit: {err}");
}

/// One aggregate let read in many places walks the grants at every read.
#[test]
fn one_aggregate_read_many_times_counts_every_read() {
    let dir = temp_dir("reads");
    let lets = "let purchased_left = sum remaining of grants where kind == purchased\n";
    let states: String = (0..40)
        .map(|i| format!("state st{i} when purchased_left > {i}\n"))
        .collect();
    check_refuses(
        &dir,
        "reads.policy",
        &ampere_with(&states, lets),
        "too_expensive",
    );
    // A handful of reads is fine.
    let few: String = (0..8)
        .map(|i| format!("state st{i} when purchased_left > {i}\n"))
        .collect();
    std::fs::write(dir.join("few.policy"), ampere_with(&few, lets)).unwrap();
    let (out, _) = run_within(&dir, &["check", "few.policy"], QUICKLY);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

/// A `where` filter that reads an aggregate `let` evaluates it again for
/// every grant: grants × grants work (7 s for 20,000 grants, three minutes
/// for 100,000). It is a nested aggregate, refused like a written one.
#[test]
fn an_aggregate_let_read_inside_where_is_a_nested_aggregate() {
    let dir = temp_dir("nested");
    let lets = "let total = sum remaining of grants\n\
                let quad = count of grants where remaining < total\n";
    let err = check_refuses(
        &dir,
        "nested.policy",
        &ampere_with("state q when quad > 1000000000\n", lets),
        "type_mismatch",
    );
    assert!(err.contains("aggregates cannot be nested"), "{err}");
    // A let without an aggregate may be read inside `where`.
    let lets = "let big = 1000 + 1\nlet n = count of grants where remaining < big\n";
    std::fs::write(
        dir.join("fine.policy"),
        ampere_with("state q when n > 1000000000\n", lets),
    )
    .unwrap();
    let (out, _) = run_within(&dir, &["check", "fine.policy"], QUICKLY);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

/// The most aggregate work the limit accepts, against 10,000 grants (a
/// tenth of the most a snapshot may hold), decides in bounded time.
#[test]
fn the_most_aggregate_work_accepted_decides_in_bounded_time() {
    let dir = temp_dir("most");
    // Each read costs 1 + 9 nodes of filter per grant: 12 reads make 120,
    // and one more passes the limit of 128.
    let lets =
        "let agg = sum remaining of grants where amount * 2 > remaining and kind == purchased\n";
    let states: String = (0..12)
        .map(|i| format!("state st{i} when agg > {}\n", 1_000_000_000 + i))
        .collect();
    let text = ampere_with(&states, lets);
    std::fs::write(dir.join("most.policy"), &text).unwrap();
    let (out, _) = run_within(&dir, &["check", "most.policy"], QUICKLY);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let one_more = ampere_with(&format!("{states}state one_more when agg > 0\n"), lets);
    check_refuses(&dir, "more.policy", &one_more, "too_expensive");

    let examples =
        std::fs::read_to_string(root().join("examples/paused-zero-credits.json")).unwrap();
    let mut snapshot: serde_json::Value = serde_json::from_str(&examples).unwrap();
    snapshot["grants"] = (0..10_000)
        .map(|i| {
            serde_json::json!({"id": i.to_string(), "kind": "purchased", "amount": 2,
                "remaining": 1, "granted_at": "2026-01-01T00:00:00Z"})
        })
        .collect();
    std::fs::write(dir.join("many.json"), snapshot.to_string()).unwrap();
    let (out, took) = run_within(
        &dir,
        &[
            "decide",
            "most.policy",
            "--snapshot",
            "many.json",
            "--role",
            "member",
            "--action",
            "send_message",
        ],
        QUICKLY,
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    eprintln!("decide most.policy on 10,000 grants: {took:?}");
}

/// `let l0 = <first>`, eleven doublings (8,189 nodes), read by `states`
/// states that are all false.
fn large_let_read_by_states(first: &str, states: usize) -> String {
    let mut s = format!("policy p\nrole r\nactions a: x\npermit r to all\nlet l0 = {first}\n");
    for i in 1..=11 {
        s.push_str(&format!("let l{i} = l{} + l{}\n", i - 1, i - 1));
    }
    for i in 0..states {
        s.push_str(&format!("state s{i} when l11 < -{i}\n"));
    }
    s.push_str("state ok otherwise\n");
    s
}

/// Each expression within its limit, but together more than one decision
/// may evaluate: 8,189 nodes read by 200 states are 1.6 million.
#[test]
fn a_large_let_read_by_many_states_is_refused() {
    let dir = temp_dir("many-reads");
    let err = check_refuses(
        &dir,
        "many.policy",
        &large_let_read_by_states("usable", 200),
        "too_expensive",
    );
    assert!(err.contains("one decision can evaluate"), "{err}");
    assert!(err.contains("1048576"), "names the limit: {err}");
    std::fs::write(
        dir.join("fewer.policy"),
        large_let_read_by_states("usable", 100),
    )
    .unwrap();
    let (out, _) = run_within(&dir, &["check", "fewer.policy"], QUICKLY);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

/// The constant-condition lint folds constant conditions; it stops once
/// the policy is past the total, so 20,000 constant states reading an
/// 8,189-node `let` are not folded 20,000 times (160 million nodes).
#[test]
fn constant_folding_stops_at_the_budget() {
    let dir = temp_dir("folding");
    std::fs::write(
        dir.join("folding.policy"),
        large_let_read_by_states("1", 20_000),
    )
    .unwrap();
    let (out, took) = run_within(
        &dir,
        &["check", "--format", "json", "folding.policy"],
        QUICKLY,
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&crate::util::stdout(&out)).unwrap();
    let codes: Vec<&str> = report["files"][0]["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"too_expensive"), "{codes:?}");
    // Folded (and warned about) only up to the limit: 128 states of 8,193
    // nodes pass 1,048,576.
    let folded = codes.iter().filter(|c| **c == "constant_condition").count();
    assert_eq!(folded, 127, "{codes:?}");
    eprintln!("check folding.policy: {took:?}");
}
