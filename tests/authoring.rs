//! `tollgate test` and `tollgate diff`: what policy authors and CI run.

use crate::util::{code, root, stderr, stdout, tollgate};

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tollgate-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A copy of the shipped policy and its cases in `dir`, with `edit` applied
/// to the cases; account paths are made absolute.
fn copy_policy(
    dir: &std::path::Path,
    edit_cases: impl Fn(String) -> String,
    edit_policy: impl Fn(String) -> String,
) {
    let policy = std::fs::read_to_string(root().join("policies/ampere.policy")).unwrap();
    let cases = std::fs::read_to_string(root().join("policies/ampere.tests.toml")).unwrap();
    let examples = root().join("examples");
    let cases = cases.replace("\"../examples", &format!("\"{}", examples.display()));
    std::fs::write(dir.join("ampere.policy"), edit_policy(policy)).unwrap();
    std::fs::write(dir.join("ampere.tests.toml"), edit_cases(cases)).unwrap();
}

#[test]
fn the_shipped_cases_pass() {
    let out = tollgate(&["test", "policies"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let last = stdout(&out).lines().last().unwrap().to_owned();
    let passed: usize = last
        .strip_suffix(" passed, 0 failed")
        .unwrap()
        .parse()
        .unwrap();
    assert!(passed >= 40, "{last}");
}

#[test]
fn a_wrong_expectation_fails_with_its_file_and_line() {
    let dir = temp_dir("test-fail");
    copy_policy(
        &dir,
        |c| c.replacen("outcome = \"deny\"", "outcome = \"allow\"", 1),
        |p| p,
    );
    let out = tollgate(&["test", dir.to_str().unwrap()]);
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    let fail = text.lines().find(|l| l.starts_with("FAIL ")).unwrap();
    assert!(fail.contains("ampere.tests.toml:17: a member cannot send a Joule message at zero credits: outcome: expected allow, got deny"), "{fail}");
    assert!(text.trim_end().ends_with("passed, 1 failed"), "{text}");

    let json = tollgate(&["test", "--format", "json", dir.to_str().unwrap()]);
    let report: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(report["failed"], 1);
    assert_eq!(report["failures"][0]["line"], 17);
    assert_eq!(report["failures"][0]["mismatches"][0]["field"], "outcome");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_malformed_case_file_is_bad_input_with_its_line() {
    let dir = temp_dir("test-malformed");
    copy_policy(
        &dir,
        |c| {
            c.replacen(
                "next_steps = [\"ask_billing_admin\"]",
                "next_step = [\"ask_billing_admin\"]",
                1,
            )
        },
        |p| p,
    );
    let out = tollgate(&["test", dir.to_str().unwrap()]);
    assert_eq!(code(&out), 2, "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("unknown key `next_step` in a case"), "{err}");
    assert!(err.contains("did you mean `next_steps`?"), "{err}");
    assert!(err.contains("ampere.tests.toml:24:"), "{err}");

    std::fs::write(
        dir.join("ampere.tests.toml"),
        "[[case]]\nname = \"x\"\naccount = \n",
    )
    .unwrap();
    let out = tollgate(&["test", dir.to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("not valid TOML"), "{}", stderr(&out));
    assert_eq!(code(&tollgate(&["test", "no/such/path"])), 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A ledger case that stated what only a decision has (`state`) ran as
/// a ledger operation and passed, the state never compared.
#[test]
fn a_key_the_case_kind_does_not_check_is_refused() {
    let dir = temp_dir("test-key-kind");
    let cases = format!(
        "policy = \"{}\"\n\n[[case]]\nname = \"settling is never denied\"\naccount = \"{}\"\noperation = \"settle\"\nstate = \"paused\"\n",
        root().join("policies/ampere.policy").display(),
        root().join("examples/dispute-debt.json").display(),
    );
    let file = dir.join("kinds.tests.toml");
    std::fs::write(&file, &cases).unwrap();
    let out = tollgate(&["test", file.to_str().unwrap()]);
    assert_eq!(code(&out), 2, "{}{}", stdout(&out), stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("kinds.tests.toml:7:1"), "{err}");
    assert!(
        err.contains("case `settling is never denied`: `state` does not apply to a `settle` case"),
        "{err}"
    );
    assert!(
        err.contains("help: a `settle` case takes no input but its account"),
        "{err}"
    );
    assert!(!stdout(&out).contains("passed"), "{}", stdout(&out));

    // And the other way: what only a ledger operation has, on a decision.
    let cases = cases
        .replace(
            "operation = \"settle\"",
            "role = \"owner\"\naction = \"run_tool\"",
        )
        .replace("state = \"paused\"", "settlements = []");
    std::fs::write(&file, cases).unwrap();
    let out = tollgate(&["test", file.to_str().unwrap()]);
    assert_eq!(code(&out), 2, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stderr(&out).contains("`settlements` does not apply to a decision case"),
        "{}",
        stderr(&out)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn diff_against_itself_reports_nothing() {
    let out = tollgate(&[
        "diff",
        "policies/ampere.policy",
        "policies/ampere.policy",
        "--cases",
        "policies",
    ]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert_eq!(stdout(&out), "no decision changed\n");
}

#[test]
fn diff_reports_the_decisions_a_raised_threshold_changes() {
    let dir = temp_dir("diff-threshold");
    copy_policy(
        &dir,
        |c| c,
        |p| {
            p.replace(
                "settings.low_balance_threshold ?? 100",
                "settings.low_balance_threshold ?? 500",
            )
        },
    );
    let new = dir.join("ampere.policy");
    let out = tollgate(&[
        "diff",
        "policies/ampere.policy",
        new.to_str().unwrap(),
        "--cases",
        "policies",
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("a balance above the threshold is ok"),
        "{text}"
    );
    assert!(
        text.contains("state ok → low_balance; warnings [] → [low_balance]"),
        "{text}"
    );
    assert!(
        !text.contains("permissions:"),
        "a threshold changes no permission"
    );

    let json = tollgate(&[
        "diff",
        "--format",
        "json",
        "policies/ampere.policy",
        new.to_str().unwrap(),
        "--cases",
        "policies",
    ]);
    let report: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(report["changed"], true);
    let first = &report["decisions"][0];
    assert_eq!(first["request"], "owner send_message");
    assert_eq!(
        first["changes"][0],
        serde_json::json!({"field": "state", "old": "ok", "new": "low_balance"})
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn diff_shows_permission_changes_without_cases() {
    let dir = temp_dir("diff-permit");
    copy_policy(
        &dir,
        |c| c,
        |p| {
            p.replace(
                "permit member to billable, free",
                "permit member to billable, free, buy_credits",
            )
        },
    );
    let new = dir.join("ampere.policy");
    let out = tollgate(&["diff", "policies/ampere.policy", new.to_str().unwrap()]);
    assert_eq!(code(&out), 1);
    assert_eq!(
        stdout(&out),
        "permissions:\n  member → buy_credits: denied → permitted\n1 permission(s) and 0 decision(s) changed\n"
    );

    let out = tollgate(&[
        "diff",
        "policies/ampere.policy",
        "tests/corpus/check/unknown_role.policy",
    ]);
    assert_eq!(code(&out), 2, "a broken policy is bad input");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs `tollgate` with `args`, killed after `seconds`: a hang is a
/// failure, not a stuck test run.
fn tollgate_within(seconds: u64, args: &[&str]) -> (std::process::Output, f64) {
    use std::process::{Command, Stdio};
    let start = std::time::Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(args)
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed().as_secs() >= seconds {
            child.kill().unwrap();
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    (out, start.elapsed().as_secs_f64())
}

#[cfg(unix)]
#[test]
fn symlinked_folders_that_loop_are_reported_not_followed_forever() {
    // Two links to `.` made discovery walk a/b/a/b/... without end.
    let dir = temp_dir("test-loop");
    copy_policy(&dir, |c| c, |p| p);
    std::os::unix::fs::symlink(".", dir.join("a")).unwrap();
    std::os::unix::fs::symlink(".", dir.join("b")).unwrap();
    let path = dir.to_str().unwrap();
    for args in [
        vec!["test", path],
        vec![
            "diff",
            "policies/ampere.policy",
            "policies/ampere.policy",
            "--cases",
            path,
        ],
    ] {
        let (out, seconds) = tollgate_within(20, &args);
        assert!(seconds < 10.0, "{args:?} took {seconds:.1} s");
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("symlink loop"), "{err}");
        assert!(err.contains("/a`"), "names the link: {err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A run that found no cases to run printed "0 passed, 0 failed" after its
/// error, which reads as a clean run in a CI log.
#[test]
fn a_test_run_that_ran_nothing_prints_no_tally() {
    let out = tollgate(&["test", "no/such/folder"]);
    assert_eq!(code(&out), 2);
    assert!(!stdout(&out).contains("passed"), "{}", stdout(&out));
    assert!(stderr(&out).contains("no/such/folder"), "{}", stderr(&out));
}

#[cfg(unix)]
#[test]
fn a_symlinked_folder_without_a_loop_is_searched_once() {
    let dir = temp_dir("test-linked");
    let inner = dir.join("inner");
    std::fs::create_dir_all(&inner).unwrap();
    copy_policy(&inner, |c| c, |p| p);
    std::os::unix::fs::symlink(&inner, dir.join("linked")).unwrap();
    let out = tollgate(&["test", dir.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // The cases are found through the folder and through the link, and
    // run once: it is one file.
    let last = stdout(&out).lines().last().unwrap().to_owned();
    let passed: usize = last
        .strip_suffix(" passed, 0 failed")
        .unwrap()
        .parse()
        .unwrap();
    // The copy holds Ampere's cases only; `policies/` has other policies'.
    let once = stdout(&tollgate(&["test", "policies/ampere.tests.toml"]));
    let once: usize = once
        .lines()
        .last()
        .unwrap()
        .strip_suffix(" passed, 0 failed")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(passed, once);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(unix)]
#[test]
fn an_endless_case_file_is_refused_at_the_limit() {
    // Case files were read whole: a link to /dev/zero grew without bound.
    let dir = temp_dir("test-zero");
    std::os::unix::fs::symlink("/dev/zero", dir.join("x.tests.toml")).unwrap();
    for target in [dir.clone(), dir.join("x.tests.toml")] {
        let (out, seconds) = tollgate_within(20, &["test", target.to_str().unwrap()]);
        assert!(seconds < 10.0, "took {seconds:.1} s");
        assert_eq!(code(&out), 2, "{}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(&format!(
                "is larger than the limit of {} bytes",
                tollgate::limits::MAX_CASE_FILE_BYTES
            )),
            "{err}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Each level of a folder tree holding two links to the level below is no
/// loop, but discovery walked every path: 2^levels folders (20 levels took
/// over a minute), and a case file at the bottom ran once per path. Each
/// folder is searched once and each case file runs once, however many
/// paths (or paths given) reach it.
#[cfg(unix)]
#[test]
fn a_folder_reached_by_many_paths_is_searched_once() {
    let dir = temp_dir("test-dag");
    let levels = 24;
    std::fs::create_dir_all(dir.join("l0")).unwrap();
    copy_policy(
        &dir.join("l0"),
        |_| {
            let account = root().join("examples/paused-zero-credits.json");
            format!(
                "policy = \"ampere.policy\"\n\n[[case]]\nname = \"a\"\naccount = {:?}\nrole = \"member\"\naction = \"send_message\"\noutcome = \"deny\"\n",
                account.display().to_string()
            )
        },
        |p| p,
    );
    for level in 1..=levels {
        let here = dir.join(format!("l{level}"));
        std::fs::create_dir_all(&here).unwrap();
        let below = format!("../l{}", level - 1);
        std::os::unix::fs::symlink(&below, here.join("a")).unwrap();
        std::os::unix::fs::symlink(&below, here.join("b")).unwrap();
    }
    let top = dir.join(format!("l{levels}"));
    let top = top.to_str().unwrap();
    let also = dir.join(format!("l{levels}/b/a"));
    let also = also.to_str().unwrap();
    for args in [
        vec!["test", top],
        vec!["test", top, also],
        vec![
            "diff",
            "policies/ampere.policy",
            "policies/ampere.policy",
            "--cases",
            top,
        ],
    ] {
        let (out, seconds) = tollgate_within(30, &args);
        assert!(seconds < 10.0, "{args:?} took {seconds:.1} s");
        assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
        if args[0] == "test" {
            assert_eq!(stdout(&out), "1 passed, 0 failed\n", "{args:?}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The same case file in two folders (a hard link, or a link to it) is two
/// case files: each finds its policy from its own folder. Running it once
/// by what the file is hid the folder whose policy fails it: `test .`
/// passed where `test b` failed.
#[cfg(unix)]
#[test]
fn one_case_file_in_two_folders_runs_in_each() {
    let dir = temp_dir("test-hardlink");
    let account = root().join("examples/paused-zero-credits.json");
    let case = format!(
        "policy = \"ampere.policy\"\n\n[[case]]\nname = \"a\"\naccount = {:?}\nrole = \"member\"\naction = \"send_message\"\noutcome = \"deny\"\n",
        account.display().to_string()
    );
    let ampere = std::fs::read_to_string(root().join("policies/ampere.policy")).unwrap();
    // Each folder holds its own copy of the policy; the case runs against
    // each (it ran once, against the first, before).
    for folder in ["a", "b", "c"] {
        std::fs::create_dir_all(dir.join(folder)).unwrap();
        std::fs::write(dir.join(folder).join("ampere.policy"), &ampere).unwrap();
    }
    std::fs::write(dir.join("a/m.tests.toml"), &case).unwrap();
    std::fs::hard_link(dir.join("a/m.tests.toml"), dir.join("b/m.tests.toml")).unwrap();
    std::os::unix::fs::symlink("../a/m.tests.toml", dir.join("c/m.tests.toml")).unwrap();
    let top = dir.to_str().unwrap();
    let (out, _) = tollgate_within(30, &["test", top]);
    assert_eq!(stdout(&out), "3 passed, 0 failed\n", "{}", stderr(&out));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A case file's policy that could not be read, or did not compile, was
/// reported and then forgotten when the file held no cases: "0 passed, 0
/// failed", exit 0. A policy that cannot be read is bad input (2), one
/// with errors fails the run (1, as for `check`), cases or not; and a case
/// file with no cases is bad input (2): it tests nothing.
#[test]
fn a_policy_that_does_not_load_fails_the_run_with_or_without_cases() {
    let dir = temp_dir("test-noload");
    let case = format!(
        "[[case]]\nname = \"a\"\naccount = {:?}\nrole = \"member\"\naction = \"send_message\"\noutcome = \"deny\"\n",
        root()
            .join("examples/paused-zero-credits.json")
            .display()
            .to_string()
    );
    let broken =
        std::fs::read_to_string(root().join("policies/ampere.policy")).unwrap() + "let q = \n";
    let good = std::fs::read_to_string(root().join("policies/ampere.policy")).unwrap();
    let setups: [(&str, &str, Option<&str>, i32, &str); 7] = [
        (
            "missing",
            "policy = \"missing.policy\"\n",
            None,
            2,
            "missing.policy",
        ),
        (
            "missing-cases",
            &format!("policy = \"missing.policy\"\n{case}"),
            None,
            2,
            "missing.policy",
        ),
        // The default policy, `x.policy`, is missing.
        ("empty", "", None, 2, "x.policy"),
        // The policy's errors are said, and the file's lack of cases.
        (
            "broken",
            "policy = \"p.policy\"\n",
            Some(&broken),
            2,
            "syntax_error",
        ),
        (
            "broken-cases",
            &format!("policy = \"p.policy\"\n{case}"),
            Some(&broken),
            1,
            "p.policy",
        ),
        (
            "no-cases",
            "policy = \"p.policy\"\n",
            Some(&good),
            2,
            "holds no cases",
        ),
        (
            "fine",
            &format!("policy = \"p.policy\"\n{case}"),
            Some(&good),
            0,
            "",
        ),
    ];
    for (name, cases, policy, want, says) in setups {
        let here = dir.join(name);
        std::fs::create_dir_all(&here).unwrap();
        std::fs::write(here.join("x.tests.toml"), cases).unwrap();
        if let Some(policy) = policy {
            std::fs::write(here.join("p.policy"), policy).unwrap();
        }
        for format in ["human", "json"] {
            let out = tollgate(&["test", "--format", format, here.to_str().unwrap()]);
            let err = stderr(&out);
            assert_eq!(code(&out), want, "{name} {format}: {err}{}", stdout(&out));
            assert!(err.contains(says), "{name} {format}: {err}");
            if want != 0 && format == "human" {
                assert!(
                    !stdout(&out).contains("0 failed"),
                    "{name}: a tally that reads as clean: {}",
                    stdout(&out)
                );
            }
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
