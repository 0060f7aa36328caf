//! One end-to-end test with a real editor as the client: headless Neovim
//! (Debian's `neovim`, 0.7 or later) runs `tests/lsp_neovim.lua`, which
//! opens a copy of `policies/ampere.policy` with a typo, starts the real
//! `tollgate lsp`, applies the quick fix for the diagnostic it receives,
//! asks hover, definition, completion and formatting, and writes the buffer
//! and a report of the answers. This test checks both.
//!
//! Without `nvim` the test fails under `CI=true` (`.ci/neovim` installs it)
//! and is skipped, loudly, elsewhere.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::root;

/// Neovim's whole session, every wait in the script included.
const PATIENCE: Duration = Duration::from_secs(90);

fn nvim_present() -> bool {
    Command::new("nvim")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn lsp_neovim_fixes_a_typo_and_answers() {
    if !nvim_present() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "`nvim` is missing under CI=true: .ci/neovim installs it"
        );
        eprintln!(
            "\n!!! SKIPPED lsp_neovim_fixes_a_typo_and_answers: `nvim` is not installed \
             (apt-get install neovim, or run .ci/neovim); under CI=true this fails !!!\n"
        );
        return;
    }
    let dir = std::env::temp_dir().join(format!("tollgate-nvim-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let original = std::fs::read_to_string(root().join("policies/ampere.policy")).unwrap();
    let typo = original.replace("permit member to", "permit membr to");
    assert_ne!(typo, original);
    let policy = dir.join("ampere.policy");
    let report = dir.join("report.json");
    std::fs::write(&policy, &typo).unwrap();

    let mut child = Command::new("nvim")
        .args(["--headless", "--clean", "-n", "-i", "NONE", "-c"])
        .arg(format!(
            "luafile {}",
            root().join("tests/lsp_neovim.lua").display()
        ))
        .env("TOLLGATE_BIN", env!("CARGO_BIN_EXE_tollgate"))
        .env("TOLLGATE_POLICY", &policy)
        .env("TOLLGATE_REPORT", &report)
        // Neovim's logs and state stay in the temporary directory.
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start nvim");
    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("Neovim did not finish in {PATIENCE:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let report_text = std::fs::read_to_string(&report)
        .unwrap_or_else(|e| panic!("no report from Neovim ({status}): {e}"));
    let r: Value = serde_json::from_str(&report_text).unwrap();
    assert!(r.get("error").is_none(), "Neovim reported: {r:#}");
    assert!(status.success(), "{status}");

    // The diagnostic: the unknown role, with its suggestion.
    assert_eq!(r["diagnostic"]["code"], "unknown_name", "{r:#}");
    let line = original
        .lines()
        .position(|l| l.starts_with("permit member to"))
        .unwrap();
    assert_eq!(r["diagnostic"]["line"], line, "{r:#}");
    assert_eq!(r["diagnostic"]["col"], "permit ".len(), "{r:#}");
    let message = r["diagnostic"]["message"].as_str().unwrap();
    assert!(message.contains("unknown role `membr`"), "{message}");
    assert!(message.contains("did you mean `member`?"), "{message}");
    assert!(
        r["actions"][0].as_str().unwrap().contains("member"),
        "{r:#}"
    );
    assert_eq!(r["errors_after_fix"], 0);

    // Hover on a role says it is one.
    let hover = r["hover"].as_str().unwrap_or_default();
    assert!(hover.contains("```tollgate\nrole member\n```"), "{hover}");
    assert!(hover.contains("permit member to billable, free"), "{hover}");

    // Definition of `billable` in `on billable` is its `actions` line.
    let decl = original
        .lines()
        .position(|l| l.starts_with("actions billable:"))
        .unwrap();
    assert_eq!(r["definition"]["uri"], true, "{r:#}");
    assert_eq!(r["definition"]["range"]["start"]["line"], decl, "{r:#}");
    assert_eq!(
        r["definition"]["range"]["start"]["character"],
        "actions ".len()
    );

    // Completion after `to` offers categories and actions, not roles.
    let labels: Vec<&str> = r["completion"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for want in ["billable", "free", "send_message", "all"] {
        assert!(labels.contains(&want), "{want} not in {labels:?}");
    }
    assert!(!labels.contains(&"member"), "{labels:?}");

    // Formatting undid the spoiled line.
    assert!(r["formatting_edits"].as_u64().unwrap() >= 1, "{r:#}");

    // The buffer Neovim wrote is the original policy again.
    let written = std::fs::read_to_string(&policy).unwrap();
    assert_eq!(written, original);
    assert_eq!(r["stopped"], true, "{r:#}");
    let _ = std::fs::remove_dir_all(&dir);
}
