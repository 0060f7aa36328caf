//! `tollgate decide --batch`: one decision per line, in order; bad lines
//! become errors in place.

use crate::util::{code, root, stderr, stdout, tollgate};

fn line(snapshot_file: &str, role: &str, action: &str) -> String {
    let text = std::fs::read_to_string(root().join(snapshot_file)).unwrap();
    let snapshot: serde_json::Value = serde_json::from_str(&text).unwrap();
    serde_json::json!({ "snapshot": snapshot, "role": role, "action": action }).to_string()
}

/// Runs `decide --batch` on `input` written to a file in `dir`: the exit
/// code, the output lines as JSON, and standard error.
fn run_batch(dir: &std::path::Path, input: &[u8]) -> (i32, Vec<serde_json::Value>, String) {
    let path = dir.join("batch.jsonl");
    std::fs::write(&path, input).unwrap();
    let out = tollgate(&[
        "decide",
        "policies/ampere.policy",
        "--batch",
        path.to_str().unwrap(),
    ]);
    let results = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (code(&out), results, stderr(&out))
}

#[test]
fn decides_every_line_in_order_and_reports_bad_lines_in_place() {
    let dir = std::env::temp_dir().join(format!("tollgate-batch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good_a = line("examples/paused-zero-credits.json", "owner", "run_tool");
    let good_b = line("examples/dispute-debt.json", "member", "view_history");
    let bad_role = line("examples/dispute-debt.json", "membr", "run_tool");
    let bad_snapshot = good_a.replace("\"remaining\":\"250\"", "\"remaining\":\"9999\"");
    assert_ne!(bad_snapshot, good_a);
    let lines = [
        good_a.as_str(),
        "{not json",
        &bad_role,
        "",
        &good_b,
        &bad_snapshot,
    ];
    let (code, results, err) = run_batch(&dir, lines.join("\n").as_bytes());
    assert_eq!(code, 2, "{err}");
    assert_eq!(results.len(), 5, "the blank line is skipped");
    assert_eq!(results[0]["request"]["action"], "run_tool");
    assert_eq!(results[0]["outcome"], "deny");
    assert_eq!(results[1]["line"], 2);
    assert!(
        results[1]["error"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );
    assert_eq!(results[2]["line"], 3);
    assert_eq!(
        results[2]["error"],
        "unknown role `membr`; did you mean `member`?"
    );
    assert_eq!(results[3]["request"]["role"], "member");
    assert_eq!(results[3]["outcome"], "allow");
    assert_eq!(results[4]["line"], 6);
    assert!(
        results[4]["error"]
            .as_str()
            .unwrap()
            .contains("grants[1].remaining"),
        "{}",
        results[4]
    );

    // Each good line matches the single decision.
    let single = tollgate(&[
        "decide",
        "policies/ampere.policy",
        "--snapshot",
        "examples/paused-zero-credits.json",
        "--role",
        "owner",
        "--action",
        "run_tool",
    ]);
    let single: serde_json::Value = serde_json::from_str(&stdout(&single)).unwrap();
    assert_eq!(results[0], single);

    // All good: exit 0.
    let (code, results, err) = run_batch(&dir, [good_a.as_str(), &good_b].join("\n").as_bytes());
    assert_eq!(code, 0, "{err}");
    assert_eq!(results.len(), 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Thousands of lines cross the reader's chunks (1,024 lines) and are
/// decided by several workers: the output is still in input order, line
/// numbers count blank lines, and CRLF endings are accepted.
#[test]
fn order_and_line_numbers_hold_across_chunks() {
    let dir = std::env::temp_dir().join(format!("tollgate-batch-order-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let actions = ["run_tool", "buy_credits", "view_history"];
    let good: Vec<String> = actions
        .iter()
        .map(|a| line("examples/dispute-debt.json", "owner", a))
        .collect();
    let mut text = String::new();
    // What each output line must be: `Ok(action)` or `Err(line number)`.
    let mut expected = Vec::new();
    for i in 0..3_000usize {
        let number = i + 1;
        if i == 1_023 || i == 1_024 || i == 2_047 {
            text.push_str("\r\n");
        } else if i % 500 == 7 {
            text.push_str("{not json\r\n");
            expected.push(Err(number));
        } else {
            text.push_str(&good[i % 3]);
            text.push_str("\r\n");
            expected.push(Ok(actions[i % 3]));
        }
    }
    let (code, results, err) = run_batch(&dir, text.as_bytes());
    assert_eq!(code, 2, "{err}");
    assert_eq!(results.len(), expected.len());
    for (i, (result, want)) in results.iter().zip(&expected).enumerate() {
        match want {
            Ok(action) => assert_eq!(result["request"]["action"], *action, "output {i}"),
            Err(number) => assert_eq!(result["line"], *number, "output {i}"),
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A line that is not UTF-8 is one bad line, reported in place; the lines
/// around it are decided.
#[test]
fn a_line_that_is_not_utf8_is_an_error_in_place() {
    let dir = std::env::temp_dir().join(format!("tollgate-batch-utf8-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = line("examples/dispute-debt.json", "owner", "view_history");
    let mut bytes = Vec::new();
    bytes.extend_from_slice(good.as_bytes());
    bytes.extend_from_slice(b"\n{\"role\": \"own\xff\xfeer\"}\n");
    bytes.extend_from_slice(good.as_bytes());
    let (code, results, err) = run_batch(&dir, &bytes);
    assert_eq!(code, 2, "{err}");
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["outcome"], "allow");
    assert_eq!(results[1]["line"], 2);
    assert_eq!(results[1]["error"], "the line is not UTF-8 text");
    assert_eq!(results[2]["outcome"], "allow");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn batch_and_single_arguments_do_not_mix() {
    let out = tollgate(&[
        "decide",
        "policies/ampere.policy",
        "--batch",
        "x.jsonl",
        "--role",
        "owner",
    ]);
    assert_eq!(code(&out), 2);
    let out = tollgate(&["decide", "policies/ampere.policy"]);
    assert_eq!(code(&out), 2);
    let out = tollgate(&[
        "decide",
        "policies/ampere.policy",
        "--snapshot",
        "examples/dispute-debt.json",
    ]);
    assert_eq!(code(&out), 2);
}

#[test]
fn a_line_with_more_errors_than_are_listed_says_how_many_more() {
    // The line listed the first 100 and dropped the count of the rest.
    let dir = std::env::temp_dir().join(format!("tollgate-batch-more-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = line(
        "examples/paused-zero-credits.json",
        "member",
        "send_message",
    );
    let keys: String = (0..150).map(|i| format!("\"k{i}\":1,")).collect();
    let bad = good.replacen("{\"snapshot\":{", &format!("{{\"snapshot\":{{{keys}"), 1);
    assert_ne!(bad, good);
    let (code, results, err) = run_batch(&dir, bad.as_bytes());
    assert_eq!(code, 2, "{err}");
    let error = results[0]["error"].as_str().unwrap();
    assert_eq!(error.matches("is not a field").count(), 100, "{error}");
    assert!(error.ends_with("and 50 more errors, not listed"), "{error}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_byte_order_mark_starts_a_batch_line() {
    let dir = std::env::temp_dir().join(format!("tollgate-batch-bom-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = line(
        "examples/paused-zero-credits.json",
        "member",
        "send_message",
    );
    // In the usual layout, and in another order (the careful way).
    let reordered = format!(
        "{{\"role\":\"member\",{}",
        good.replacen(",\"role\":\"member\"", "", 1)
            .trim_start_matches('{')
    );
    assert_ne!(reordered, good);
    let bad = r#"{"snapshot":{"now":},"role":"r","action":"a"}"#;
    let input = format!("\u{feff}{good}\n\u{feff}{reordered}\n\u{feff}{bad}\n");
    let (code, results, err) = run_batch(&dir, input.as_bytes());
    assert_eq!(code, 2, "{err}");
    assert_eq!(
        results[0]["request"]["action"], "send_message",
        "{:?}",
        results[0]
    );
    assert_eq!(
        results[1]["request"]["action"], "send_message",
        "{:?}",
        results[1]
    );
    // Columns count the mark's three bytes, as they count every byte
    // (column 20 without it).
    let error = results[2]["error"].as_str().unwrap();
    assert!(error.starts_with("not valid JSON at column 23"), "{error}");
    std::fs::remove_dir_all(&dir).unwrap();
}
