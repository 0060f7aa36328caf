//! Reading and writing at the edges: a closed pipe, a full disk, inputs
//! with no end, wide lines, many diagnostics, and `--output` through links
//! and onto devices. None of them may panic, hang or grow without bound.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{code, root, stderr, stdout, tollgate};

const P: &str = "policies/ampere.policy";
const S: &str = "examples/dispute-debt.json";

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tollgate-io-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn tollgate_command(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tollgate"));
    c.args(args).current_dir(root()).env_remove("NO_COLOR");
    c
}

/// Every command that prints to standard output, with arguments that make
/// it print.
fn printing_commands(batch: &str) -> Vec<Vec<String>> {
    let own = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    vec![
        own(&["check", "--format", "json", P]),
        own(&[
            "check",
            "--format",
            "github",
            "tests/corpus/check/unknown_role.policy",
        ]),
        own(&[
            "decide",
            P,
            "--snapshot",
            S,
            "--role",
            "owner",
            "--action",
            "run_tool",
        ]),
        own(&["decide", P, "--batch", batch]),
        own(&["charge", P, "--snapshot", S, "--amount", "5"]),
        own(&["settle", P, "--snapshot", S]),
        own(&[
            "grant",
            P,
            "--snapshot",
            S,
            "--kind",
            "purchased",
            "--amount",
            "10",
        ]),
        own(&["refund", P, "--snapshot", S, "--grant", "inc-nov"]),
        own(&["test", "policies"]),
        own(&["test", "--format", "json", "policies"]),
        own(&["diff", P, "tests/corpus/check/useless_exception.policy"]),
        own(&["diff", "--format", "json", P, P, "--cases", "policies"]),
    ]
}

fn batch_file(dir: &std::path::Path) -> String {
    let snapshot: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join(S)).unwrap()).unwrap();
    let line = serde_json::json!({"snapshot": snapshot, "role": "owner", "action": "run_tool"});
    let path = dir.join("batch.jsonl");
    std::fs::write(&path, format!("{line}\n").repeat(5000)).unwrap();
    path.to_str().unwrap().to_owned()
}

fn assert_no_panic(what: &str, status: Option<i32>, err: &str) {
    assert_ne!(status, Some(101), "{what}: {err}");
    assert!(!err.contains("panicked"), "{what}: {err}");
}

#[test]
fn a_full_disk_on_standard_output_is_exit_2_with_a_message() {
    let dir = temp_dir("full");
    let batch = batch_file(&dir);
    for args in printing_commands(&batch) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = tollgate_command(&args)
            .stdout(Stdio::from(full))
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_no_panic(&args.join(" "), out.status.code(), &err);
        assert_eq!(code(&out), 2, "{}: {err}", args.join(" "));
        assert!(
            err.contains("cannot write to standard output"),
            "{}: {err}",
            args.join(" ")
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_closed_pipe_on_standard_output_ends_the_run_quietly() {
    let dir = temp_dir("pipe");
    let batch = batch_file(&dir);
    for args in printing_commands(&batch) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut child = tollgate_command(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Close the read end before anything is written.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = stderr(&out);
        assert_no_panic(&args.join(" "), out.status.code(), &err);
        assert!(
            matches!(out.status.code(), Some(0..=2)),
            "{}: {:?} {err}",
            args.join(" "),
            out.status
        );
        assert!(
            !err.contains("cannot write"),
            "{}: a closed pipe is no error: {err}",
            args.join(" ")
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A 70 KB one-line snapshot with an unknown field at its end: miette's
/// graphical handler panics past column 65,535 unless the line is cut.
#[test]
fn a_diagnostic_past_column_65535_renders_cut() {
    let dir = temp_dir("wide");
    let text = std::fs::read_to_string(root().join(S)).unwrap();
    let mut snapshot: serde_json::Value = serde_json::from_str(&text).unwrap();
    snapshot["account"] = serde_json::json!("a".repeat(70_000));
    snapshot["bogus\u{0}field"] = serde_json::json!(1);
    let path = dir.join("wide.json");
    std::fs::write(&path, snapshot.to_string()).unwrap();
    let out = tollgate(&[
        "decide",
        P,
        "--snapshot",
        path.to_str().unwrap(),
        "--role",
        "owner",
        "--action",
        "run_tool",
    ]);
    let err = stderr(&out);
    assert_no_panic("wide", out.status.code(), &err);
    assert_eq!(code(&out), 2, "{err}");
    assert!(err.contains("unknown_field"), "{err}");
    assert!(err.contains("bytes wide; it is cut"), "{err}");
    assert!(!err.contains('\u{0}'), "a NUL byte is shown visibly");
    assert!(err.len() < 10_000, "{} bytes of stderr", err.len());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// 10,000 snapshot errors: people see the first ones and a count, in
/// linear time; JSON is not involved (snapshots print for people).
#[test]
fn ten_thousand_snapshot_errors_render_quickly_and_capped() {
    let dir = temp_dir("many");
    let grants: Vec<String> = (0..10_000)
        .map(|i| {
            format!(
                r#"{{"id":"g{i}","kind":"purchased","amount":"1","remaining":"1","granted_at":"2026-11-01T00:00:00Z","bad":1}}"#
            )
        })
        .collect();
    let text = format!(
        r#"{{"now":"2026-11-22T10:00:00Z","grants":[{}]}}"#,
        grants.join(",")
    );
    let path = dir.join("many.json");
    std::fs::write(&path, text).unwrap();
    let start = Instant::now();
    let out = tollgate(&[
        "decide",
        P,
        "--snapshot",
        path.to_str().unwrap(),
        "--role",
        "owner",
        "--action",
        "run_tool",
    ]);
    let took = start.elapsed();
    let err = stderr(&out);
    assert_no_panic("many", out.status.code(), &err);
    assert_eq!(code(&out), 2);
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(
        err.contains("and 9950 more errors"),
        "{}",
        &err[err.len() - 400..]
    );
    assert!(err.contains("10000 errors"), "{}", &err[err.len() - 400..]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `check --format json` lists every diagnostic, located in bounded time
/// even on one very long line.
#[test]
fn json_diagnostics_stay_complete_on_a_long_line() {
    let dir = temp_dir("jsonlong");
    // One line of 20,000 unknown actions, each a diagnostic far along it.
    let names: Vec<String> = (0..20_000).map(|i| format!("u{i}")).collect();
    let text = format!(
        "policy p\nrole r\nactions a: x\npermit r to a, {}\n",
        names.join(", ")
    );
    let path = dir.join("long.policy");
    std::fs::write(&path, text).unwrap();
    let start = Instant::now();
    let out = tollgate(&["check", "--format", "json", path.to_str().unwrap()]);
    let took = start.elapsed();
    assert_no_panic("json", out.status.code(), &stderr(&out));
    assert!(took < Duration::from_secs(20), "took {took:?}");
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    // Every one counted; the first thousand listed.
    let file = &report["files"][0];
    let count = file["diagnostics"].as_array().unwrap().len();
    assert_eq!(count, tollgate::limits::MAX_CHECK_DIAGNOSTICS);
    let omitted =
        file["omitted"].as_u64().unwrap_or(0) + file["omitted_warnings"].as_u64().unwrap_or(0);
    assert_eq!(
        report["errors"].as_u64().unwrap() + report["warnings"].as_u64().unwrap(),
        count as u64 + omitted
    );
    assert_eq!(
        report["errors"].as_u64().unwrap() + report["warnings"].as_u64().unwrap(),
        20_001
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The arguments of `decide POLICY --snapshot SNAPSHOT` for an owner
/// running a tool.
fn decide(policy: &str, snapshot: &str) -> Vec<String> {
    own(&[
        "decide",
        policy,
        "--snapshot",
        snapshot,
        "--role",
        "owner",
        "--action",
        "run_tool",
    ])
}

/// Owned arguments.
fn own(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_owned()).collect()
}

/// `/dev/zero` as every input: a clear refusal, quickly, without holding
/// gigabytes.
#[test]
fn endless_inputs_are_refused_at_their_limit() {
    let cases: Vec<(Vec<String>, i32, &str)> = vec![
        (decide("/dev/zero", S), 1, "file_too_large"),
        (decide(P, "/dev/zero"), 2, "snapshot_too_large"),
        (own(&["check", "/dev/zero"]), 1, "file_too_large"),
        (own(&["fmt", "--check", "/dev/zero"]), 1, "file_too_large"),
        (own(&["test", "/dev/zero"]), 2, "larger than the limit"),
        (
            own(&["diff", P, P, "--cases", "/dev/zero"]),
            2,
            "larger than the limit",
        ),
        (
            own(&["decide", P, "--batch", "/dev/zero"]),
            2,
            "has no end within",
        ),
    ];
    for (args, want, needle) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let start = Instant::now();
        let out = tollgate(&args);
        let took = start.elapsed();
        let err = stderr(&out);
        assert_no_panic(&args.join(" "), out.status.code(), &err);
        assert_eq!(code(&out), want, "{}: {err}", args.join(" "));
        assert!(err.contains(needle), "{}: {err}", args.join(" "));
        assert!(
            err.len() < 10_000,
            "{}: {} bytes of stderr",
            args.join(" "),
            err.len()
        );
        assert!(
            took < Duration::from_secs(30),
            "{}: took {took:?}",
            args.join(" ")
        );
    }

    // A snapshot on standard input.
    let mut child = tollgate_command(
        &decide(P, "-")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let zeros = vec![0u8; 1 << 20];
        // Stops when tollgate closes its end.
        for _ in 0..64 {
            if stdin.write_all(&zeros).is_err() {
                return;
            }
        }
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("snapshot_too_large"),
        "{}",
        stderr(&out)
    );
}

/// A batch line longer than its limit is an error in its place; the lines
/// after it are decided.
#[test]
fn a_too_long_batch_line_is_skipped_without_being_held() {
    let dir = temp_dir("longline");
    let good = {
        let snapshot: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(root().join(S)).unwrap()).unwrap();
        serde_json::json!({"snapshot": snapshot, "role": "owner", "action": "run_tool"}).to_string()
    };
    let mut text = Vec::new();
    text.extend_from_slice(b"{\"pad\": \"");
    text.resize(text.len() + (17 << 20), b'x');
    text.extend_from_slice(b"\"}\n");
    text.extend_from_slice(good.as_bytes());
    text.push(b'\n');
    let path = dir.join("long.jsonl");
    std::fs::write(&path, text).unwrap();
    let out = tollgate(&["decide", P, "--batch", path.to_str().unwrap()]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["line"], 1);
    assert!(
        lines[0]["error"]
            .as_str()
            .unwrap()
            .contains("larger than the limit")
    );
    assert_eq!(lines[1]["request"]["action"], "run_tool");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_folder_as_the_policy_says_it_is_a_folder() {
    let out = tollgate(&[
        "decide",
        "/tmp",
        "--snapshot",
        S,
        "--role",
        "owner",
        "--action",
        "run_tool",
    ]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("cannot read `/tmp`: is a directory"),
        "{}",
        stderr(&out)
    );
}

/// `fmt --check` of a binary file: a clear error, no bytes of it echoed.
#[test]
fn fmt_of_a_binary_file_echoes_nothing_of_it() {
    let dir = temp_dir("fmtbin");
    let path = dir.join("bin.policy");
    let mut bytes = b"policy p\n".to_vec();
    bytes.extend_from_slice(&[0u8; 100_000]);
    std::fs::write(&path, &bytes).unwrap();
    let out = tollgate(&["fmt", "--check", path.to_str().unwrap()]);
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    assert!(err.contains("NUL byte on line 2"), "{err}");
    assert!(!out.stderr.contains(&0) && !out.stdout.contains(&0));
    assert!(err.len() < 1_000);
    // A name with control characters is shown escaped.
    let odd = dir.join("a\u{1b}[31mred.policy");
    std::fs::write(&odd, "policy p\nrole r\n").unwrap();
    let out = tollgate(&["fmt", "--check", odd.to_str().unwrap()]);
    assert!(!stdout(&out).contains('\u{1b}') && !stderr(&out).contains('\u{1b}'));
    std::fs::remove_dir_all(&dir).unwrap();
}

fn settle_to(output: &std::path::Path) -> std::process::Output {
    tollgate(&[
        "settle",
        P,
        "--snapshot",
        S,
        "--output",
        output.to_str().unwrap(),
    ])
}

#[test]
fn output_writes_through_a_symlink() {
    let dir = temp_dir("link");
    let target = dir.join("account.json");
    std::fs::write(&target, "old").unwrap();
    let link = dir.join("link.json");
    std::os::unix::fs::symlink("account.json", &link).unwrap();
    let out = settle_to(&link);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let written = std::fs::read_to_string(&target).unwrap();
    assert!(written.contains("\"now\""), "{written}");
    // fmt through a link, too.
    let policy = dir.join("p.policy");
    std::fs::write(&policy, "policy   p\nrole r\nactions a: x\npermit r to a\n").unwrap();
    let plink = dir.join("plink.policy");
    std::os::unix::fs::symlink(&policy, &plink).unwrap();
    let out = tollgate(&["fmt", plink.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        std::fs::symlink_metadata(&plink)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(
        std::fs::read_to_string(&policy)
            .unwrap()
            .starts_with("policy p\n")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A device (through a link, so that a binary that replaces it replaces
/// only the link), a named pipe and a folder are refused.
#[test]
fn output_refuses_a_device_and_a_folder() {
    let dir = temp_dir("device");
    let link = dir.join("null.json");
    std::os::unix::fs::symlink("/dev/null", &link).unwrap();
    let fifo = dir.join("fifo.json");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let folder = dir.join("folder.json");
    std::fs::create_dir(&folder).unwrap();
    for path in [&link, &fifo, &folder] {
        let out = settle_to(path);
        assert_eq!(code(&out), 2, "{}", stderr(&out));
        assert!(
            stderr(&out).contains("only regular files are replaced"),
            "{}",
            stderr(&out)
        );
    }
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A write that fails half way (the file size limit is 0) leaves the old
/// file as it was and no temporary file behind.
#[test]
fn a_failed_output_write_leaves_nothing_behind() {
    let dir = temp_dir("fail");
    let target = dir.join("account.json");
    std::fs::write(&target, "old").unwrap();
    let out = Command::new("sh")
        .arg("-c")
        // SIGXFSZ ignored, so that the write fails instead of killing.
        .arg(format!(
            "trap '' XFSZ; ulimit -f 0; exec '{}' settle {P} --snapshot {S} --output '{}'",
            env!("CARGO_BIN_EXE_tollgate"),
            target.display()
        ))
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot write"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "old");
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `diff` of a policy with 600 roles × 600 actions and a case: the sweep is
/// streamed, so it fits in 120 MB of address space (it held every request
/// and took 360 MB at 1,000 × 1,000).
#[test]
fn diff_of_many_roles_and_actions_streams() {
    let dir = temp_dir("diffbig");
    let policy = |extra: &str| {
        let mut lines = vec!["policy big".to_owned()];
        lines.extend((0..600).map(|i| format!("role r{i}")));
        let actions: Vec<String> = (0..600).map(|j| format!("a{j}")).collect();
        lines.push(format!("actions billable: {}", actions.join(", ")));
        lines.extend(
            (0..600).map(|i| format!("permit r{i} to billable{}", if i == 0 { extra } else { "" })),
        );
        lines.extend(
            [
                "credits included",
                "spend included by expires_at, id",
                "state paused when usable == 0",
                "state ok otherwise",
                "step ask_admin \"Ask an admin.\"",
                "on billable {",
                "  deny no_credits when usable == 0 {",
                "    message \"No credits left.\"",
                "    steps { ask_admin }",
                "  }",
                "}",
            ]
            .map(str::to_owned),
        );
        lines.join("\n") + "\n"
    };
    std::fs::write(dir.join("old.policy"), policy("")).unwrap();
    std::fs::write(dir.join("new.policy"), policy(" except a5")).unwrap();
    std::fs::write(
        dir.join("snap.json"),
        r#"{"now": "2026-11-22T10:00:00Z", "grants": [{ "id": "g1", "kind": "included", "amount": "10", "remaining": "0", "granted_at": "2026-11-01T00:00:00Z" }]}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("c.tests.toml"),
        "policy = \"old.policy\"\n\n[[case]]\nname = \"one\"\naccount = \"snap.json\"\nrole = \"r1\"\naction = \"a1\"\noutcome = \"deny\"\n",
    )
    .unwrap();
    let start = Instant::now();
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v 120000; exec '{}' diff old.policy new.policy --cases c.tests.toml",
            env!("CARGO_BIN_EXE_tollgate")
        ))
        .current_dir(&dir)
        .output()
        .unwrap();
    let took = start.elapsed();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(took < Duration::from_secs(120), "took {took:?}");
    let text = stdout(&out);
    assert!(text.contains("r0 → a5: permitted → denied"), "{text}");
    assert!(
        text.ends_with("1 permission(s) and 1 decision(s) changed\n"),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--output` naming the policy replaced the rules with the account's JSON
/// (exit 0). It is refused, and the policy is left as it was.
#[test]
fn output_over_the_policy_is_refused() {
    let dir = temp_dir("output-policy");
    let policy = dir.join("p.policy");
    let text = std::fs::read_to_string(root().join("policies/ampere.policy")).unwrap();
    std::fs::write(&policy, &text).unwrap();
    let link = dir.join("link.json");
    std::os::unix::fs::symlink(&policy, &link).unwrap();
    let snapshot = root().join("examples/paused-zero-credits.json");
    for output in [&policy, &link] {
        let out = tollgate(&[
            "settle",
            policy.to_str().unwrap(),
            "--snapshot",
            snapshot.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
        ]);
        assert_eq!(code(&out), 2, "{}", stderr(&out));
        assert!(
            stderr(&out).contains("is the policy file"),
            "{}",
            stderr(&out)
        );
        assert_eq!(std::fs::read_to_string(&policy).unwrap(), text);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A `.toml` snapshot that never ends is read up to the TOML limit, and
/// the refusal names that limit, not the larger one for JSON: from the
/// command line and from a case file.
#[test]
fn an_endless_toml_snapshot_is_refused_at_the_toml_limit() {
    let dir = temp_dir("endlesstoml");
    let link = dir.join("zero.toml");
    std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
    let toml_limit = tollgate::limits::MAX_TOML_SNAPSHOT_BYTES.to_string();
    let json_limit = tollgate::limits::MAX_SNAPSHOT_BYTES.to_string();

    let out = tollgate(&[
        "decide",
        P,
        "--snapshot",
        link.to_str().unwrap(),
        "--role",
        "owner",
        "--action",
        "run_tool",
    ]);
    let err = stderr(&out);
    assert_eq!(code(&out), 2, "{err}");
    assert!(err.contains("snapshot_too_large"), "{err}");
    assert!(
        err.contains(&format!(
            "TOML snapshot is larger than the limit of {toml_limit} bytes"
        )),
        "{err}"
    );
    assert!(!err.contains(&json_limit), "{err}");

    let cases = dir.join("zero.tests.toml");
    std::fs::write(
        &cases,
        format!(
            "policy = {:?}\n\n[[case]]\nname = \"endless\"\naccount = \"zero.toml\"\n\
             role = \"owner\"\naction = \"run_tool\"\noutcome = \"allow\"\n",
            root().join(P).to_str().unwrap()
        ),
    )
    .unwrap();
    let out = tollgate(&["test", cases.to_str().unwrap()]);
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert_ne!(code(&out), 0, "{all}");
    assert!(
        all.contains(&format!("larger than the limit of {toml_limit} bytes")),
        "{all}"
    );
    assert!(all.contains("TOML"), "{all}");
    assert!(!all.contains(&json_limit), "{all}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs `tollgate` in the crate root with `args` and `input` on standard
/// input, killed after 20 s: a hang is a failure, not a stuck test run.
fn tollgate_timed(args: &[&str], input: &[u8]) -> (std::process::Output, Duration) {
    let start = Instant::now();
    let mut child = tollgate_command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input);
    }
    while child.try_wait().unwrap().is_none() && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    (child.wait_with_output().unwrap(), start.elapsed())
}

/// A named pipe as any file tollgate reads (a case file found in a folder,
/// a case's account, a policy, a snapshot) blocked the run forever: even
/// opening a pipe waits for a writer. Each is refused at once now, saying
/// what it is; `-` still reads standard input.
#[test]
fn named_pipes_are_refused_not_waited_on() {
    let dir = temp_dir("fifo");
    let mkfifo = |path: &std::path::Path| {
        assert!(Command::new("mkfifo").arg(path).status().unwrap().success());
    };
    let policy = root().join(P);
    let account = root().join("examples/paused-zero-credits.json");
    let case = |account: &std::path::Path| {
        format!(
            "policy = {:?}\n\n[[case]]\nname = \"a\"\naccount = {:?}\nrole = \"member\"\naction = \"send_message\"\noutcome = \"deny\"\n",
            policy.display().to_string(),
            account.display().to_string()
        )
    };
    let cases = dir.join("cases");
    std::fs::create_dir_all(&cases).unwrap();
    std::fs::write(cases.join("ok.tests.toml"), case(&account)).unwrap();
    mkfifo(&cases.join("evil.tests.toml"));
    let fifo_account = dir.join("account.json");
    mkfifo(&fifo_account);
    let account_cases = dir.join("account.tests.toml");
    std::fs::write(&account_cases, case(&fifo_account)).unwrap();
    let fifo_policy = dir.join("pipe.policy");
    mkfifo(&fifo_policy);
    let (cases, account_cases, fifo_account, fifo_policy) = (
        cases.to_str().unwrap(),
        account_cases.to_str().unwrap(),
        fifo_account.to_str().unwrap(),
        fifo_policy.to_str().unwrap(),
    );
    let runs: Vec<(Vec<String>, i32)> = vec![
        (own(&["test", cases]), 2),
        (own(&["diff", P, P, "--cases", cases]), 2),
        // A case that cannot run is a failed case, as a missing account is.
        (own(&["test", account_cases]), 1),
        (own(&["fmt", fifo_policy]), 2),
        (own(&["fmt", "--check", fifo_policy]), 2),
        (own(&["check", fifo_policy]), 2),
        (decide(fifo_policy, S), 2),
        (decide(P, fifo_account), 2),
        (own(&["diff", fifo_policy, P]), 2),
    ];
    for (args, want) in runs {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (out, took) = tollgate_timed(&args, b"");
        let err = stderr(&out);
        assert!(took < Duration::from_secs(10), "{args:?} took {took:?}");
        assert_no_panic(&args.join(" "), out.status.code(), &err);
        assert_eq!(code(&out), want, "{args:?}: {err}{}", stdout(&out));
        let said = format!("{err}{}", stdout(&out));
        assert!(said.contains("is a named pipe"), "{args:?}: {said}");
    }
    // The readable case file next to the pipe still ran.
    let (out, _) = tollgate_timed(&["test", cases], b"");
    assert!(
        stdout(&out).contains("1 passed, 0 failed"),
        "{}",
        stdout(&out)
    );
    // `-` is standard input, as before.
    let snapshot = std::fs::read(root().join(S)).unwrap();
    let args = decide(P, "-");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (out, _) = tollgate_timed(&args, &snapshot);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    std::fs::remove_dir_all(&dir).unwrap();
}
