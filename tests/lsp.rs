//! `tollgate lsp`: the real binary, spoken to in JSON-RPC with
//! `Content-Length` framing over its standard input and output, as an
//! editor speaks to it (docs/editors.md).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::util::root;

/// How long any one answer may take before the test fails: the server
/// must never hang.
const PATIENCE: Duration = Duration::from_secs(20);

/// A running `tollgate lsp`, killed when dropped.
struct Lsp {
    child: Child,
    stdin: Option<ChildStdin>,
    messages: Receiver<Value>,
    /// Notifications read while waiting for an answer.
    pending: Vec<Value>,
    next_id: i64,
    /// The answer to `initialize`.
    init: Value,
}

impl Drop for Lsp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads one framed message; `None` at the end of the stream.
fn read_message(r: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.strip_prefix("Content-Length: ") {
            length = v.parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    r.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

impl Lsp {
    fn start() -> Lsp {
        Lsp::start_with(json!({}))
    }

    /// Starts the server and initializes it with `capabilities`.
    fn start_with(capabilities: Value) -> Lsp {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tollgate"))
            .arg("lsp")
            .current_dir(root())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tollgate lsp");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            while let Some(m) = read_message(&mut r) {
                if tx.send(m).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        let mut lsp = Lsp {
            child,
            stdin,
            messages: rx,
            pending: Vec::new(),
            next_id: 1,
            init: Value::Null,
        };
        let init = lsp.request(
            "initialize",
            json!({ "processId": null, "rootUri": null, "capabilities": capabilities }),
        );
        assert!(init.get("result").is_some(), "{init}");
        lsp.init = init["result"].clone();
        lsp.notify("initialized", json!({}));
        lsp
    }

    fn send(&mut self, message: &Value) {
        let body = message.to_string();
        let stdin = self.stdin.as_mut().expect("stdin open");
        write!(stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write");
        stdin.flush().expect("flush");
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    fn next(&mut self, deadline: Instant) -> Value {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.messages.recv_timeout(left) {
            Ok(m) => m,
            Err(RecvTimeoutError::Timeout) => panic!("no message from the server in {PATIENCE:?}"),
            Err(RecvTimeoutError::Disconnected) => panic!("the server closed its output"),
        }
    }

    /// Sends a request and returns the whole response (`result` or `error`).
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        let deadline = Instant::now() + PATIENCE;
        loop {
            let m = self.next(deadline);
            if m.get("id") == Some(&json!(id)) && m.get("method").is_none() {
                return m;
            }
            self.pending.push(m);
        }
    }

    /// A request's `result`, failing on an error.
    fn call(&mut self, method: &str, params: Value) -> Value {
        let m = self.request(method, params);
        assert!(m.get("error").is_none(), "{method}: {m}");
        m.get("result").cloned().unwrap_or(Value::Null)
    }

    /// The next diagnostics published for `uri` at `version`.
    fn diagnostics(&mut self, uri: &str, version: i64) -> Vec<Value> {
        let deadline = Instant::now() + PATIENCE;
        let matches = |m: &Value| {
            m.get("method") == Some(&json!("textDocument/publishDiagnostics"))
                && m.pointer("/params/uri") == Some(&json!(uri))
                && m.pointer("/params/version") == Some(&json!(version))
        };
        if let Some(i) = self.pending.iter().position(matches) {
            let m = self.pending.remove(i);
            return diags_of(&m);
        }
        loop {
            let m = self.next(deadline);
            if matches(&m) {
                return diags_of(&m);
            }
            self.pending.push(m);
        }
    }

    fn open(&mut self, uri: &str, text: &str) -> Vec<Value> {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "tollgate", "version": 1, "text": text } }),
        );
        self.diagnostics(uri, 1)
    }

    /// Sends incremental changes and returns the diagnostics of `version`.
    fn change(&mut self, uri: &str, version: i64, changes: Value) -> Vec<Value> {
        self.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": changes }),
        );
        self.diagnostics(uri, version)
    }

    fn at(&mut self, method: &str, uri: &str, pos: (u32, u32), extra: Value) -> Value {
        let mut params = json!({
            "textDocument": { "uri": uri },
            "position": { "line": pos.0, "character": pos.1 },
        });
        if let (Some(p), Some(e)) = (params.as_object_mut(), extra.as_object()) {
            p.extend(e.clone());
        }
        self.call(method, params)
    }

    fn shutdown(mut self) -> i32 {
        let r = self.request("shutdown", Value::Null);
        assert!(r.get("error").is_none(), "{r}");
        self.notify("exit", Value::Null);
        drop(self.stdin.take());
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code().unwrap_or(-1);
            }
            assert!(Instant::now() < deadline, "the server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn diags_of(m: &Value) -> Vec<Value> {
    m.pointer("/params/diagnostics")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// The UTF-16 position of the `n`th occurrence of `needle` in `text`,
/// plus `shift` characters.
fn pos(text: &str, needle: &str, n: usize, shift: u32) -> (u32, u32) {
    let at = text
        .match_indices(needle)
        .nth(n)
        .unwrap_or_else(|| panic!("`{needle}` #{n} not in the text"))
        .0;
    let before = &text[..at];
    let line = before.matches('\n').count() as u32;
    let col = before
        .rsplit('\n')
        .next()
        .unwrap_or("")
        .encode_utf16()
        .count() as u32;
    (line, col + shift)
}

fn range_json(a: (u32, u32), b: (u32, u32)) -> Value {
    json!({ "start": { "line": a.0, "character": a.1 }, "end": { "line": b.0, "character": b.1 } })
}

/// Applies LSP text edits to a text (UTF-16 positions).
fn apply(text: &str, edits: &[Value]) -> String {
    let offset = |p: &Value| -> usize {
        let line = p["line"].as_u64().unwrap() as usize;
        let ch = p["character"].as_u64().unwrap() as usize;
        let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
        let rest = &text[start..];
        let mut units = 0;
        for (i, c) in rest.char_indices() {
            if units >= ch || c == '\n' {
                return start + i;
            }
            units += c.len_utf16();
        }
        text.len()
    };
    let mut spans: Vec<(usize, usize, String)> = edits
        .iter()
        .map(|e| {
            (
                offset(&e["range"]["start"]),
                offset(&e["range"]["end"]),
                e["newText"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    spans.sort_by_key(|s| std::cmp::Reverse(s.0));
    let mut out = text.to_owned();
    for (s, e, t) in spans {
        out.replace_range(s..e, &t);
    }
    out
}

fn ampere() -> String {
    std::fs::read_to_string(root().join("policies/ampere.policy")).unwrap()
}

const URI: &str = "file:///work/ampere.policy";

/// A compact form of diagnostics for snapshots.
fn brief(diags: &[Value]) -> Vec<String> {
    diags
        .iter()
        .map(|d| {
            format!(
                "{}:{}-{}:{} {} [{}] {}",
                d["range"]["start"]["line"],
                d["range"]["start"]["character"],
                d["range"]["end"]["line"],
                d["range"]["end"]["character"],
                d["severity"],
                d["code"].as_str().unwrap_or(""),
                d["message"].as_str().unwrap_or("").replace('\n', " | ")
            )
        })
        .collect()
}

#[test]
fn lsp_initialize_announces_what_it_serves() {
    let lsp = Lsp::start();
    insta::assert_json_snapshot!("lsp_initialize", lsp.init);
    assert_eq!(
        lsp.init["capabilities"]["positionEncoding"],
        json!("utf-16")
    );
    assert_eq!(lsp.shutdown(), 0);
    // A client that offers UTF-8 gets it.
    let lsp = Lsp::start_with(json!({ "general": { "positionEncodings": ["utf-16", "utf-8"] } }));
    assert_eq!(lsp.init["capabilities"]["positionEncoding"], json!("utf-8"));
    assert_eq!(lsp.shutdown(), 0);
}

#[test]
fn lsp_the_reference_policy_opens_clean() {
    let mut lsp = Lsp::start();
    let diags = lsp.open(URI, &ampere());
    assert!(diags.is_empty(), "{diags:#?}");
    assert_eq!(lsp.shutdown(), 0);
}

/// Every error and warning `check` reports, with its code, span, message,
/// help and related places, pushed on open; the same after an
/// incremental edit fixes one of them.
#[test]
fn lsp_diagnostics_are_checks_and_follow_incremental_edits() {
    let text = "policy p\nrole owner\nrole owner\ncredits included\n\
                spend included by expires_at\nlet unused = 1\n\
                state paused when usable == 0\nstate ok otherwise\n\
                permit owner to all\nactions paid: run\n\
                on paid {\n  deny broke when usabel == 0 {\n    message \"No credits.\"\n  }\n}\n";
    let mut lsp = Lsp::start();
    let diags = lsp.open(URI, text);
    insta::assert_json_snapshot!("lsp_diagnostics_on_open", diags);
    // `check` reports the same codes.
    let dir = std::env::temp_dir().join(format!("tollgate-lsp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("p.policy");
    std::fs::write(&file, text).unwrap();
    let out = crate::util::tollgate(&["check", "--format", "json", file.to_str().unwrap()]);
    let check: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let mut codes: Vec<String> = Vec::new();
    let mut find = |v: &Value| {
        fn walk(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    if let Some(Value::String(c)) = m.get("code") {
                        out.push(c.rsplit("::").next().unwrap_or(c).to_owned());
                    }
                    m.values().for_each(|x| walk(x, out));
                }
                Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
                _ => {}
            }
        }
        walk(v, &mut codes);
    };
    find(&check);
    let mut ours: Vec<String> = diags
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_owned())
        .collect();
    codes.sort();
    ours.sort();
    assert_eq!(ours, codes, "check said {check}");
    // Remove the second `role owner` line: an incremental delete.
    let diags = lsp.change(
        URI,
        2,
        json!([{ "range": range_json((2, 0), (3, 0)), "text": "" }]),
    );
    assert!(
        diags.iter().all(|d| d["code"] != "duplicate_definition"),
        "{diags:#?}"
    );
    // Two edits in one change, the second on the text the first made.
    let diags = lsp.change(
        URI,
        3,
        json!([
            { "range": range_json((4, 4), (4, 10)), "text": "kept" },
            { "range": range_json((4, 0), (4, 0)), "text": "/// Kept.\n" },
        ]),
    );
    insta::assert_json_snapshot!("lsp_diagnostics_after_edits", brief(&diags));
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(lsp.shutdown(), 0);
}

/// A typo gets a diagnostic with a quick fix; applying the fix's edit
/// clears it.
#[test]
fn lsp_a_quick_fix_repairs_a_typo() {
    let text = ampere().replace(
        "state paused when usable == 0",
        "state paused when usabel == 0",
    );
    let mut lsp = Lsp::start();
    let diags = lsp.open(URI, &text);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    let d = &diags[0];
    assert_eq!(d["code"], "unknown_name");
    assert!(
        d["message"]
            .as_str()
            .unwrap()
            .contains("did you mean `usable`?")
    );
    let actions = lsp.call(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": URI }, "range": d["range"], "context": { "diagnostics": [d] } }),
    );
    insta::assert_json_snapshot!("lsp_quick_fix", actions);
    let edits = actions[0]["edit"]["changes"][URI]
        .as_array()
        .unwrap()
        .clone();
    let fixed = apply(&text, &edits);
    assert_eq!(fixed, ampere());
    // Send the fix as the editor would: the edit itself, incrementally.
    let changes: Vec<Value> = edits
        .iter()
        .map(|e| json!({ "range": e["range"], "text": e["newText"] }))
        .collect();
    let diags = lsp.change(URI, 2, Value::Array(changes));
    assert!(diags.is_empty(), "{diags:#?}");
    assert_eq!(lsp.shutdown(), 0);
}

#[test]
fn lsp_unused_declarations_can_be_removed() {
    let text = ampere()
        .replace(
            "step buy_credits",
            "/// Never offered.\nstep never_offered \"No.\"\nstep buy_credits",
        )
        .replace(
            "credits included, promotional, purchased",
            "credits included, promotional, purchased, spare",
        );
    let mut lsp = Lsp::start();
    let diags = lsp.open(URI, &text);
    assert_eq!(brief(&diags).len(), 2, "{:#?}", brief(&diags));
    let mut fixed = text.clone();
    for d in &diags {
        let actions = lsp.call(
            "textDocument/codeAction",
            json!({ "textDocument": { "uri": URI }, "range": d["range"], "context": { "diagnostics": [d] } }),
        );
        let titles: Vec<&str> = actions
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["title"].as_str().unwrap())
            .collect();
        assert_eq!(titles.len(), 1, "{titles:?}");
        assert!(titles[0].starts_with("Remove unused"), "{titles:?}");
        let edits = actions[0]["edit"]["changes"][URI].as_array().unwrap();
        // Both removals are on the original text: apply the later first.
        fixed = apply(&fixed, edits);
    }
    assert_eq!(fixed, ampere());
    assert_eq!(lsp.shutdown(), 0);
}

/// Hover on each kind of declared name, at its use or its declaration.
#[test]
fn lsp_hover_says_what_a_name_is() {
    let text = ampere();
    let mut lsp = Lsp::start();
    lsp.open(URI, &text);
    let mut hovers = Vec::new();
    for (needle, n) in [
        ("permit owner", 0),
        ("with billing access", 0),
        ("to billable", 0),
        ("run_tool", 0),
        ("purchased when", 0),
        ("outstanding_usage from", 0),
        ("subscription_status default", 0),
        ("past_due", 1),
        ("subscription.status in", 1),
        ("low_balance_threshold\n", 0),
        ("ask_owner when", 0),
        ("deny not_permitted", 0),
        ("usable == 0", 0),
    ] {
        // On the name itself (skip a leading keyword).
        let shift = match needle.split_once(' ') {
            Some((kw, _)) if ["permit", "to", "deny", "with"].contains(&kw) => kw.len() as u32 + 1,
            _ => 0,
        };
        let p = pos(&text, needle, n, shift + 1);
        let h = lsp.at("textDocument/hover", URI, p, json!({}));
        hovers.push(json!({ "at": needle, "hover": h }));
    }
    insta::assert_json_snapshot!("lsp_hover", hovers);
    // A declaration's hover stops at its last token, before the comments
    // that follow it.
    let member = pos(&text, "permit member", 0, "permit ".len() as u32 + 1);
    let h = lsp.at("textDocument/hover", URI, member, json!({}));
    let h = h["contents"]["value"].as_str().unwrap();
    assert!(h.contains("```tollgate\nrole member\n```"), "{h}");
    assert!(!h.contains("What people do"), "{h}");
    // Nothing at a keyword, a blank, or past the end.
    let kw = pos(&text, "permit owner", 0, 1);
    assert_eq!(
        lsp.at("textDocument/hover", URI, kw, json!({})),
        Value::Null
    );
    assert_eq!(
        lsp.at("textDocument/hover", URI, (9999, 0), json!({})),
        Value::Null
    );
    assert_eq!(lsp.shutdown(), 0);
}

#[test]
fn lsp_definition_references_and_rename() {
    let text = ampere();
    let mut lsp = Lsp::start();
    lsp.open(URI, &text);
    let use_at = pos(&text, "ask_owner when", 0, 2);
    let def = lsp.at("textDocument/definition", URI, use_at, json!({}));
    assert_eq!(
        def["range"]["start"],
        json!({ "line": pos(&text, "step ask_owner", 0, 5).0, "character": 5 })
    );
    let refs = lsp.at(
        "textDocument/references",
        URI,
        pos(&text, "enum payment_method", 0, 6),
        json!({ "context": { "includeDeclaration": true } }),
    );
    insta::assert_json_snapshot!("lsp_references_payment_method", refs);
    let prep = lsp.at("textDocument/prepareRename", URI, use_at, json!({}));
    assert_eq!(prep["placeholder"], "ask_owner");
    let edit = lsp.at(
        "textDocument/rename",
        URI,
        use_at,
        json!({ "newName": "ask_an_owner" }),
    );
    let edits = edit["changes"][URI].as_array().unwrap();
    let renamed = apply(&text, edits);
    assert_eq!(renamed, text.replace("ask_owner", "ask_an_owner"));
    // The renamed policy still checks clean.
    let v = lsp.change(URI, 2, json!([{ "text": renamed }]));
    assert!(v.is_empty(), "{v:#?}");
    // A field renamed everywhere it is read, messages included.
    let field_at = pos(&renamed, "subscription.period_end", 0, 3);
    let edit = lsp.at(
        "textDocument/rename",
        URI,
        field_at,
        json!({ "newName": "plan.renews_at" }),
    );
    let again = apply(&renamed, edit["changes"][URI].as_array().unwrap());
    assert_eq!(
        again,
        renamed.replace("subscription.period_end", "plan.renews_at")
    );
    // Refused: a name taken, a keyword, not a name.
    for (new, why) in [
        ("buy_credits", "already a step"),
        ("when", "keyword"),
        ("9lives", "not a name"),
    ] {
        let r = lsp.request(
            "textDocument/rename",
            json!({ "textDocument": { "uri": URI }, "position": { "line": use_at.0, "character": use_at.1 }, "newName": new }),
        );
        let message = r["error"]["message"].as_str().unwrap_or("");
        assert!(message.contains(why), "{new}: {r}");
    }
    // A role cannot take another role's name; an action not a category's.
    let r = lsp.request(
        "textDocument/rename",
        json!({ "textDocument": { "uri": URI }, "position": { "line": pos(&text, "run_tool", 0, 1).0, "character": pos(&text, "run_tool", 0, 1).1 }, "newName": "billing" }),
    );
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("category"),
        "{r}"
    );
    assert_eq!(lsp.shutdown(), 0);
}

#[test]
fn lsp_completion_knows_where_it_is() {
    let text = ampere();
    let mut lsp = Lsp::start();
    lsp.open(URI, &text);
    let mut version = 1;
    let mut results = Vec::new();
    for (name, typed) in [
        ("item start", "\n"),
        ("after permit", "\npermit "),
        ("after to", "\npermit member to "),
        ("after a dot", "\nlet x = subscription."),
        ("after ==", "\nlet x = subscription.status == "),
        ("in a list", "\nlet x = billing.payment_method in [valid, "),
        ("role ==", "\non billable {\n  deny x when role == "),
        ("steps", "\non billable {\n  deny x {\n    steps {\n      "),
        ("spend", "\nspend "),
        (
            "settle",
            "\nsettle refund_dispute by created_at {\n  outstanding_usage from ",
        ),
        ("debt dot", "\nstate s when debt."),
        ("field type", "\nfield x.y: "),
    ] {
        version += 1;
        // Type at the end of the file, then ask at the end.
        let end_line = ampere().matches('\n').count() as u32;
        lsp.change(
            URI,
            version,
            json!([{ "range": range_json((end_line, 0), (end_line, 0)), "text": typed }]),
        );
        let now = format!("{}{typed}", ampere());
        let line = now.matches('\n').count() as u32;
        let col = now.rsplit('\n').next().unwrap().encode_utf16().count() as u32;
        let items = lsp.at("textDocument/completion", URI, (line, col), json!({}));
        let labels: Vec<&str> = items
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["label"].as_str().unwrap())
            .collect();
        results.push(json!({ "context": name, "labels": labels }));
        // Take it out again.
        version += 1;
        lsp.change(URI, version, json!([{ "text": ampere() }]));
    }
    insta::assert_json_snapshot!("lsp_completion", results);
    assert_eq!(lsp.shutdown(), 0);
}

#[test]
fn lsp_outline_folding_and_formatting() {
    let text = ampere();
    let mut lsp = Lsp::start();
    lsp.open(URI, &text);
    let symbols = lsp.call(
        "textDocument/documentSymbol",
        json!({ "textDocument": { "uri": URI } }),
    );
    let names: Vec<String> = symbols
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let kids: Vec<&str> = s["children"]
                .as_array()
                .map(|c| c.iter().map(|c| c["name"].as_str().unwrap()).collect())
                .unwrap_or_default();
            format!(
                "{} ({}) [{}]",
                s["name"].as_str().unwrap(),
                s["kind"],
                kids.join(", ")
            )
        })
        .collect();
    insta::assert_json_snapshot!("lsp_outline", names);
    let folds = lsp.call(
        "textDocument/foldingRange",
        json!({ "textDocument": { "uri": URI } }),
    );
    let folds: Vec<String> = folds
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}-{} {}",
                f["startLine"],
                f["endLine"],
                f["kind"].as_str().unwrap()
            )
        })
        .collect();
    insta::assert_json_snapshot!("lsp_folding", folds);
    // The reference policy is formatted already: no edit.
    let none = lsp.call(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": URI }, "options": { "tabSize": 2, "insertSpaces": true } }),
    );
    assert_eq!(none, json!([]));
    // A messy one comes back as `tollgate fmt` writes it.
    let messy = "policy   p\nrole owner\n  permit owner to all\nactions a:x,y\n";
    lsp.change(URI, 2, json!([{ "text": messy }]));
    let edits = lsp.call(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": URI }, "options": { "tabSize": 2, "insertSpaces": true } }),
    );
    let formatted = apply(messy, edits.as_array().unwrap());
    let dir = std::env::temp_dir().join(format!("tollgate-lsp-fmt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("m.policy");
    std::fs::write(&file, messy).unwrap();
    crate::util::tollgate(&["fmt", file.to_str().unwrap()]);
    assert_eq!(formatted, std::fs::read_to_string(&file).unwrap());
    std::fs::remove_dir_all(&dir).ok();
    // Syntax errors: nothing to format, no error.
    lsp.change(URI, 3, json!([{ "text": "policy\nrole {" }]));
    let none = lsp.call(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": URI }, "options": { "tabSize": 2, "insertSpaces": true } }),
    );
    assert_eq!(none, Value::Null);
    assert_eq!(lsp.shutdown(), 0);
}

/// Positions count UTF-16 units by default and bytes when UTF-8 was
/// agreed: a name after non-ASCII text is found either way.
#[test]
fn lsp_positions_follow_the_negotiated_encoding() {
    let text = ampere().replace(
        "step ask_owner \"Ask",
        "step ask_owner \"Ask 😀 ä — \" \"Ask",
    );
    let line_text = text
        .lines()
        .find(|l| l.starts_with("step ask_owner"))
        .unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("step ask_owner"))
        .unwrap() as u32;
    // Rename from a use; the edit's range on the declaration line is
    // checked in each encoding.
    for (caps, unit) in [
        (json!({}), "utf-16"),
        (
            json!({ "general": { "positionEncodings": ["utf-8"] } }),
            "utf-8",
        ),
    ] {
        let mut lsp = Lsp::start_with(caps);
        // A diagnostic after the non-ASCII text on the same line.
        let broken = text.replace(
            "step ask_owner \"Ask 😀 ä — \" \"Ask",
            "step ask_owner \"Ask 😀 ä — \" \"Ask {usabel}",
        );
        let diags = lsp.open(URI, &broken);
        assert_eq!(diags.len(), 1, "{diags:#?}");
        let bline = broken.lines().nth(line as usize).unwrap();
        let at = bline.find("usabel").unwrap();
        let want = if unit == "utf-8" {
            at
        } else {
            bline[..at].encode_utf16().count()
        } as u64;
        assert_eq!(diags[0]["range"]["start"]["line"], json!(line));
        assert_eq!(
            diags[0]["range"]["start"]["character"],
            json!(want),
            "{unit}"
        );
        let _ = line_text;
        assert_eq!(lsp.shutdown(), 0);
    }
}

/// Requests about places that do not exist get empty answers, and the
/// session goes on.
#[test]
fn lsp_positions_past_the_end_and_unknown_documents_answer_empty() {
    let mut lsp = Lsp::start();
    lsp.open(URI, "policy p\n");
    for method in [
        "textDocument/hover",
        "textDocument/definition",
        "textDocument/completion",
        "textDocument/prepareRename",
    ] {
        for (uri, p) in [
            (URI, (50, 0)),
            (URI, (0, 999)),
            ("file:///nowhere.policy", (0, 0)),
        ] {
            let r = lsp.at(method, uri, p, json!({}));
            assert!(
                r.is_null() || r == json!([]),
                "{method} at {p:?} of {uri}: {r}"
            );
        }
    }
    let r = lsp.at(
        "textDocument/references",
        URI,
        (50, 0),
        json!({ "context": { "includeDeclaration": true } }),
    );
    assert!(r.is_null(), "{r}");
    let r = lsp.call(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": URI }, "range": range_json((90, 0), (99, 0)), "context": { "diagnostics": [] } }),
    );
    assert_eq!(r, json!([]));
    // Whole-document requests about a document never opened: nothing.
    for method in [
        "textDocument/documentSymbol",
        "textDocument/foldingRange",
        "textDocument/semanticTokens/full",
        "textDocument/codeLens",
        "textDocument/formatting",
    ] {
        let r = lsp.call(
            method,
            json!({ "textDocument": { "uri": "file:///nowhere.policy" }, "options": { "tabSize": 2, "insertSpaces": true } }),
        );
        assert!(r.is_null(), "{method}: {r}");
    }
    // An edit past the end appends, as the protocol says.
    let d = lsp.change(
        URI,
        2,
        json!([{ "range": range_json((40, 0), (40, 0)), "text": "role r\n" }]),
    );
    assert!(
        d.iter().any(|d| d["code"] == "role_without_permissions"),
        "{d:#?}"
    );
    assert_eq!(lsp.shutdown(), 0);
}

/// Seeded pseudo-random numbers, so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Every policy of the robustness corpus and the reference policies,
/// opened, edited at random (deletions, insertions of junk, of other
/// policies' pieces, of non-ASCII text) and asked every question at
/// random places: each gets an answer, and the server never dies.
#[test]
fn lsp_never_crashes_or_hangs_on_broken_text() {
    let mut files: Vec<String> = Vec::new();
    for dir in ["policies", "tests/corpus/check"] {
        let mut entries: Vec<_> = std::fs::read_dir(root().join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "policy"))
            .collect();
        entries.sort();
        for p in entries {
            files.push(std::fs::read_to_string(p).unwrap());
        }
    }
    assert!(files.len() > 20, "{} files", files.len());
    let junk = [
        "{",
        "}",
        "[",
        "]",
        "\"",
        "é😀",
        "\n",
        "\r",
        " when ",
        " == ",
        ".",
        "on ",
        "///",
        "//",
        "deny ",
        "steps {",
        "\u{feff}",
        "((((",
        "let x = ",
        "field a.b: ",
        "\0",
    ];
    let mut rng = Rng(0x05ee_d1e5_50dd_ba11);
    let mut lsp = Lsp::start();
    for (f, original) in files.iter().enumerate() {
        let uri = format!("file:///corpus/{f}.policy");
        lsp.open(&uri, original);
        let mut text = original.clone();
        for version in 2..8 {
            // An edit at a random place, in UTF-16 positions of the text.
            let lines: Vec<&str> = text.split('\n').collect();
            let l = rng.below(lines.len() + 2) as u32;
            let c = rng.below(40) as u32;
            let l2 = l + rng.below(3) as u32;
            let c2 = rng.below(40) as u32;
            let insert = match rng.below(3) {
                0 => String::new(),
                1 => junk[rng.below(junk.len())].to_owned(),
                _ => {
                    let other = &files[rng.below(files.len())];
                    let s = rng.below(other.len());
                    let e = (s + rng.below(200)).min(other.len());
                    other.get(s..e).unwrap_or("x").to_owned()
                }
            };
            let (a, b) = if (l, c) <= (l2, c2) {
                ((l, c), (l2, c2))
            } else {
                ((l2, c2), (l, c))
            };
            let edit = json!({ "range": range_json(a, b), "text": insert });
            text = apply_clamped(&text, a, b, &insert);
            lsp.change(&uri, version, json!([edit]));
            for _ in 0..3 {
                let lines: Vec<&str> = text.split('\n').collect();
                let l = rng.below(lines.len() + 1) as u32;
                let c = rng.below(60) as u32;
                for method in [
                    "textDocument/hover",
                    "textDocument/definition",
                    "textDocument/completion",
                    "textDocument/prepareRename",
                ] {
                    lsp.at(method, &uri, (l, c), json!({}));
                }
                lsp.at(
                    "textDocument/references",
                    &uri,
                    (l, c),
                    json!({ "context": { "includeDeclaration": true } }),
                );
                let r = lsp.request(
                    "textDocument/rename",
                    json!({ "textDocument": { "uri": uri }, "position": { "line": l, "character": c }, "newName": "renamed_x" }),
                );
                assert!(r.get("result").is_some() || r.get("error").is_some(), "{r}");
            }
            for method in ["textDocument/documentSymbol", "textDocument/foldingRange"] {
                lsp.call(method, json!({ "textDocument": { "uri": uri } }));
            }
            lsp.call(
                "textDocument/formatting",
                json!({ "textDocument": { "uri": uri }, "options": { "tabSize": 2, "insertSpaces": true } }),
            );
            lsp.call(
                "textDocument/codeAction",
                json!({ "textDocument": { "uri": uri }, "range": range_json((0, 0), (9999, 0)), "context": { "diagnostics": [] } }),
            );
        }
        // The server's text is the text we think it has: the full text
        // sent again gives the same diagnostics as the edits did.
        let edited = lsp.change(&uri, 8, json!([{ "text": text }]));
        lsp.notify(
            "textDocument/didClose",
            json!({ "textDocument": { "uri": uri } }),
        );
        let reopened = {
            let uri2 = format!("{uri}.copy");
            lsp.open(&uri2, &text)
        };
        assert_eq!(edited, strip_uri(reopened, &uri), "file {f}");
    }
    assert_eq!(lsp.shutdown(), 0);
}

/// Diagnostics of a copy, with its related places pointed back at `uri`.
fn strip_uri(mut diags: Vec<Value>, uri: &str) -> Vec<Value> {
    for d in &mut diags {
        if let Some(rel) = d
            .get_mut("relatedInformation")
            .and_then(Value::as_array_mut)
        {
            for r in rel {
                r["location"]["uri"] = json!(uri);
            }
        }
    }
    diags
}

/// Applies one edit as the protocol defines it: positions in UTF-16 units,
/// a line past the end meaning the end, a column past a line's end
/// meaning that end, a column inside a character meaning its start.
fn apply_clamped(text: &str, a: (u32, u32), b: (u32, u32), new: &str) -> String {
    let offset = |(line, ch): (u32, u32)| -> usize {
        let mut start = 0;
        let mut l = 0;
        let bytes = text.as_bytes();
        while l < line {
            match text[start..].find(['\n', '\r']) {
                Some(i) => {
                    let i = start + i;
                    start = if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
                        i + 2
                    } else {
                        i + 1
                    };
                    l += 1;
                }
                None => return text.len(),
            }
        }
        let rest = &text[start..];
        let end = rest.find(['\n', '\r']).unwrap_or(rest.len());
        let mut units = 0;
        for (i, c) in rest[..end].char_indices() {
            if units >= ch as usize {
                return start + i;
            }
            units += c.len_utf16();
            if units > ch as usize {
                return start + i;
            }
        }
        start + end
    };
    let (s, e) = (offset(a), offset(b));
    let (s, e) = (s.min(e), s.max(e));
    let mut out = text.to_owned();
    out.replace_range(s..e, new);
    out
}

#[test]
fn lsp_semantic_tokens_classify_names() {
    let text = "/// Doc.\npolicy p\nrole owner\nfield a.b: decimal default 1\n\
                step s \"Only {a.b} left ä.\"\nstate ok when a.b >= 2\n";
    let mut lsp = Lsp::start();
    lsp.open(URI, text);
    let legend = lsp.init["capabilities"]["semanticTokensProvider"]["legend"]["tokenTypes"].clone();
    let r = lsp.call(
        "textDocument/semanticTokens/full",
        json!({ "textDocument": { "uri": URI } }),
    );
    let data: Vec<u64> = r["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    // Decode back to text: each token's words and type.
    let lines: Vec<Vec<u16>> = text.lines().map(|l| l.encode_utf16().collect()).collect();
    let (mut line, mut col) = (0usize, 0usize);
    let mut shown = Vec::new();
    for t in data.chunks(5) {
        if t[0] > 0 {
            line += t[0] as usize;
            col = 0;
        }
        col += t[1] as usize;
        let word = String::from_utf16(&lines[line][col..col + t[2] as usize]).unwrap();
        shown.push(format!(
            "{word} {}",
            legend[t[3] as usize].as_str().unwrap()
        ));
    }
    insta::assert_json_snapshot!("lsp_semantic_tokens", shown);
    assert_eq!(lsp.shutdown(), 0);
}

/// Semantic tokens on one long line: each column is counted from a mark
/// near it, not from the line's start (36,000 names on one 48 KB line
/// took 13 s in a release build). The answer is checked too: the last
/// name's column, in UTF-16 units past a wide character.
#[test]
fn lsp_semantic_tokens_of_a_long_line_come_quickly() {
    let names = vec!["a"; 20_000].join(", ");
    let line = format!("let big = \"😀\" in [{names}]");
    let text = format!(
        "policy p\nrole r\nactions a: x\npermit r to all\nenum e: a, b\n{line}\nstate ok otherwise\n"
    );
    let mut lsp = Lsp::start();
    let uri = "file:///long.policy";
    lsp.open(uri, &text);
    let started = Instant::now();
    let tokens = lsp.call(
        "textDocument/semanticTokens/full",
        json!({ "textDocument": { "uri": uri } }),
    );
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let data: Vec<u64> = tokens["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_u64().unwrap())
        .collect();
    // Decode to absolute (line, column) and find the last token on line 5.
    let (mut l, mut c, mut last) = (0, 0, None);
    for t in data.chunks(5) {
        l += t[0];
        c = if t[0] == 0 { c + t[1] } else { t[1] };
        if l == 5 {
            last = Some(c);
        }
    }
    // In UTF-16 units the emoji is 2 wide, not its 4 bytes.
    let expected = line.rfind('a').unwrap() - "😀".len() + 2;
    assert_eq!(last, Some(expected as u64));
    assert_eq!(lsp.shutdown(), 0);
}

/// A document of more tokens than one answer holds: the whole-document
/// answer stops at the limit (six million tokens of an 8 MB policy held
/// 2.7 GB on their way out), and a range far down gets every token in it,
/// placed where they are.
#[test]
fn lsp_semantic_tokens_are_capped_and_ranges_reach_past_the_cap() {
    let names = vec!["a"; 20_000].join(", ");
    let mut text = String::from(
        "policy p\nrole r\nactions a: x\npermit r to all\nenum e: a, b\nfield f.x: e default a\n",
    );
    for k in 0..8 {
        text.push_str(&format!("let big{k} = f.x in [{names}]\n"));
    }
    text.push_str("state ok otherwise\n");
    let mut lsp = Lsp::start();
    let uri = "file:///many.policy";
    lsp.open(uri, &text);
    assert_eq!(
        lsp.init["capabilities"]["semanticTokensProvider"]["range"],
        json!(true)
    );
    let numbers = |v: &Value| -> Vec<u64> {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_u64().unwrap())
            .collect()
    };
    let full = numbers(&lsp.call(
        "textDocument/semanticTokens/full",
        json!({ "textDocument": { "uri": uri } }),
    ));
    assert_eq!(full.len(), 5 * 100_000, "the first 100,000 tokens");

    // The last list, line 13: `let`, its name, `=`, `f.x`, `in` and
    // 20,000 names, the first at line 13, column 0.
    let last = numbers(&lsp.call(
        "textDocument/semanticTokens/range",
        json!({ "textDocument": { "uri": uri }, "range": range_json((13, 0), (14, 0)) }),
    ));
    assert_eq!(last.len(), 5 * 20_005);
    assert_eq!(last[..3], [13, 0, 3]);
    let (mut line, mut col) = (0, 0);
    for t in last.chunks(5) {
        line += t[0];
        col = if t[0] == 0 { col + t[1] } else { t[1] };
    }
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!((line, col), (13, lines[13].rfind('a').unwrap() as u64));

    // A range inside a line: the tokens that start in it, nothing before.
    let middle = numbers(&lsp.call(
        "textDocument/semanticTokens/range",
        json!({ "textDocument": { "uri": uri }, "range": range_json((13, 9), (13, 20)) }),
    ));
    // Columns 9 to 20 are `= f.x in [a`: four tokens.
    assert_eq!(middle[..3], [13, 9, 1], "`=` first");
    assert_eq!(middle.len(), 5 * 4);
    assert_eq!(lsp.shutdown(), 0);
}

/// The lens titles of a document, with the line each stands on.
fn lens_titles(lsp: &mut Lsp, uri: &str) -> Vec<String> {
    let lenses = lsp.call(
        "textDocument/codeLens",
        json!({ "textDocument": { "uri": uri } }),
    );
    lenses
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            format!(
                "{}:{}-{} {}",
                l["range"]["start"]["line"],
                l["range"]["start"]["character"],
                l["range"]["end"]["character"],
                l["command"]["title"].as_str().unwrap()
            )
        })
        .collect()
}

/// The code lens above each `on` block counts the cases of
/// `ampere.tests.toml` that touch it, run against the text being edited.
#[test]
fn lsp_code_lens_runs_the_cases_of_each_block() {
    let path = root().join("policies/ampere.policy");
    let uri = format!("file://{}", path.display());
    let text = ampere();
    let mut lsp = Lsp::start();
    assert_eq!(
        lsp.init["capabilities"]["codeLensProvider"],
        json!({ "resolveProvider": false })
    );
    lsp.open(&uri, &text);
    let clean = lens_titles(&mut lsp, &uri);
    insta::assert_json_snapshot!("lsp_code_lens", clean);
    // Asked again for the same version: the same answer (from the cache).
    assert_eq!(lens_titles(&mut lsp, &uri), clean);
    // An edit that changes what `billable` decides fails cases there.
    let at = pos(&text, "deny debt_outstanding when debt > 0", 0, 0);
    let end = (
        at.0,
        at.1 + "deny debt_outstanding when debt > 0".len() as u32,
    );
    lsp.change(
        &uri,
        2,
        json!([{ "range": range_json(at, end), "text": "deny debt_outstanding when debt >= 0" }]),
    );
    let edited = lens_titles(&mut lsp, &uri);
    assert_ne!(edited, clean);
    insta::assert_json_snapshot!("lsp_code_lens_after_edit", edited);
    // A policy with errors runs nothing and says so.
    let broken = text.replace("permit member to", "permit membr to");
    lsp.change(&uri, 3, json!([{ "text": broken }]));
    let titles = lens_titles(&mut lsp, &uri);
    assert!(
        titles
            .iter()
            .all(|t| t.contains("not run: the policy has errors")),
        "{titles:?}"
    );
    // A policy with no case files beside it has no cases.
    let elsewhere = "file:///nowhere/ampere.policy";
    lsp.open(elsewhere, &text);
    let titles = lens_titles(&mut lsp, elsewhere);
    assert_eq!(titles.len(), clean.len());
    assert!(
        titles.iter().all(|t| t.ends_with(" no cases")),
        "{titles:?}"
    );
    assert_eq!(lsp.shutdown(), 0);
}

/// `tollgate.decide` decides an example snapshot against the policy as it
/// stands in the editor: the same JSON `tollgate decide` prints for the
/// saved file, and a different one once the text changes.
#[test]
fn lsp_decide_command_evaluates_a_snapshot() {
    let path = root().join("policies/ampere.policy");
    let uri = format!("file://{}", path.display());
    let text = ampere();
    let mut lsp = Lsp::start();
    assert_eq!(
        lsp.init["capabilities"]["executeCommandProvider"]["commands"],
        json!(["tollgate.decide"])
    );
    lsp.open(&uri, &text);
    let decide = |lsp: &mut Lsp, args: Value| {
        lsp.request(
            "workspace/executeCommand",
            json!({ "command": "tollgate.decide", "arguments": [args] }),
        )
    };
    for (snapshot, role, action) in [
        (
            "../examples/paused-zero-credits.json",
            "member",
            "send_message",
        ),
        (
            "../examples/ended-subscription-locked.toml",
            "owner",
            "buy_credits",
        ),
        ("../examples/dispute-debt.json", "member", "view_usage"),
    ] {
        let answer = decide(
            &mut lsp,
            json!({ "uri": uri, "snapshot": snapshot, "role": role, "action": action }),
        );
        let cli = crate::util::tollgate(&[
            "decide",
            &path.display().to_string(),
            "--snapshot",
            &snapshot.replace("../", ""),
            "--role",
            role,
            "--action",
            action,
        ]);
        let want: Value = serde_json::from_slice(&cli.stdout).unwrap();
        assert_eq!(answer["result"], want, "{snapshot} {role} {action}");
    }
    let zero = json!({
        "uri": uri,
        "snapshot": "../examples/paused-zero-credits.json",
        "role": "member",
        "action": "send_message",
    });
    let before = decide(&mut lsp, zero.clone());
    assert_eq!(before["result"]["outcome"], "deny", "{before}");
    // The rule's source names the file by its path: the crate root is cut
    // for the snapshot.
    let shown = before["result"]
        .to_string()
        .replace(&format!("{}/", root().display()), "");
    let shown: Value = serde_json::from_str(&shown).unwrap();
    insta::assert_json_snapshot!("lsp_decide_command", shown);
    // The unsaved text is what decides: without the rule, the request is
    // no longer denied for having no credits.
    let at = pos(&text, "state paused when usable == 0", 0, 0);
    let end = (at.0, at.1 + "state paused when usable == 0".len() as u32);
    lsp.change(
        &uri,
        2,
        json!([{ "range": range_json(at, end), "text": "state paused when usable < 0" }]),
    );
    let after = decide(&mut lsp, zero.clone());
    assert_ne!(after["result"], before["result"], "{after}");
    assert_ne!(after["result"]["state"], "paused", "{after}");
    // Every failure is an error answer that says why; the session goes on.
    let mut bad_role = zero.clone();
    bad_role["role"] = json!("membr");
    let mut missing = zero.clone();
    missing["snapshot"] = json!("no/such.json");
    let mut not_open = zero.clone();
    not_open["uri"] = json!("file:///nowhere.policy");
    for (args, says) in [
        (bad_role, "membr"),
        (missing, "cannot read"),
        (not_open, "is not open"),
        (json!({ "uri": uri }), "missing field"),
    ] {
        let r = decide(&mut lsp, args);
        let message = r["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{says}: {r}");
    }
    let r = lsp.request(
        "workspace/executeCommand",
        json!({ "command": "tollgate.other", "arguments": [] }),
    );
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown command")
    );
    lsp.change(
        &uri,
        3,
        json!([{ "text": text.replace("permit member to", "permit membr to") }]),
    );
    let r = decide(&mut lsp, zero);
    let message = r["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("1 error(s)"), "{r}");
    assert_eq!(lsp.shutdown(), 0);
}

/// `tollgate.decide` given a named pipe, or a link to the server's own
/// standard input, waited forever for a writer (or read the protocol
/// stream meant for the server), and the whole session froze. Each is an
/// error answer now, and the next request is answered. (`/proc/self/fd`
/// is Linux's.)
#[cfg(target_os = "linux")]
#[test]
fn lsp_decide_command_refuses_pipes_and_its_own_input() {
    let dir = std::env::temp_dir().join(format!("tollgate-lsp-fifo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("pipe.json");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    std::os::unix::fs::symlink("/dev/stdin", dir.join("stdin.json")).unwrap();
    std::os::unix::fs::symlink("/proc/self/fd/0", dir.join("fd0.json")).unwrap();
    let path = root().join("policies/ampere.policy");
    let uri = format!("file://{}", path.display());
    let mut lsp = Lsp::start();
    lsp.open(&uri, &ampere());
    for name in ["pipe.json", "stdin.json", "fd0.json"] {
        let snapshot = dir.join(name);
        let r = lsp.request(
            "workspace/executeCommand",
            json!({ "command": "tollgate.decide", "arguments": [{
                "uri": uri, "snapshot": snapshot, "role": "member", "action": "send_message",
            }] }),
        );
        let message = r["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("is a named pipe"), "{name}: {r}");
        let ok = lsp.request(
            "workspace/executeCommand",
            json!({ "command": "tollgate.decide", "arguments": [{
                "uri": uri, "snapshot": "../examples/paused-zero-credits.json",
                "role": "member", "action": "send_message",
            }] }),
        );
        assert_eq!(ok["result"]["outcome"], "deny", "after {name}: {ok}");
    }
    assert_eq!(lsp.shutdown(), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every file of `tests/corpus/` (policies, and the JSON and TOML snapshots
/// the other suites feed the binary, which an editor may well open as a
/// policy by mistake) and a few hostile texts: opened, asked every
/// question (the code lens and the command too) at their start, middle,
/// end and past it, edited, and asked again. Every answer comes, and the
/// server lives to shut down.
#[test]
fn lsp_answers_every_corpus_file_and_hostile_text() {
    let mut texts: Vec<(String, String)> = Vec::new();
    let corpus = root().join("tests/corpus");
    let mut dirs = vec![corpus];
    while let Some(dir) = dirs.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                dirs.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                texts.push((
                    p.display().to_string(),
                    String::from_utf8_lossy(&bytes).into_owned(),
                ));
            }
        }
    }
    assert!(texts.len() >= 100, "{} corpus files", texts.len());
    let hostile = [
        String::new(),
        "\u{feff}".to_owned(),
        "\0\0\0".to_owned(),
        "policy p\r\nrole r\r\npermit r to all\r\non all {\r\n}\r\n".to_owned(),
        format!(
            "policy p\nlet x = {}1{}\n",
            "(".repeat(5_000),
            ")".repeat(5_000)
        ),
        format!("policy p\nlet x = {}\n", "not ".repeat(5_000)),
        format!("policy p\n// {}\n", "é😀".repeat(20_000)),
        format!("{}\n", "on all {".repeat(2_000)),
        "policy p\nrole r\npermit r to all\non all { deny x when ".to_owned(),
        "\"".repeat(1_000),
    ];
    for (i, h) in hostile.iter().enumerate() {
        texts.push((format!("hostile {i}"), h.clone()));
    }
    let mut lsp = Lsp::start();
    for (f, (name, text)) in texts.iter().enumerate() {
        let uri = format!("file:///corpus/{f}.policy");
        lsp.open(&uri, text);
        let lines = text.split('\n').count() as u32;
        let last = text
            .rsplit('\n')
            .next()
            .unwrap_or("")
            .encode_utf16()
            .count() as u32;
        let ask = |lsp: &mut Lsp, version: i64| {
            for p in [
                (0, 0),
                (lines / 2, 3),
                (lines - 1, last),
                (lines + 5, 0),
                (0, 100_000),
            ] {
                for method in [
                    "textDocument/hover",
                    "textDocument/definition",
                    "textDocument/completion",
                    "textDocument/prepareRename",
                ] {
                    lsp.at(method, &uri, p, json!({}));
                }
                lsp.at(
                    "textDocument/references",
                    &uri,
                    p,
                    json!({ "context": { "includeDeclaration": true } }),
                );
                let r = lsp.request(
                    "textDocument/rename",
                    json!({ "textDocument": { "uri": uri }, "position": { "line": p.0, "character": p.1 }, "newName": "renamed" }),
                );
                assert!(
                    r.get("result").is_some() || r.get("error").is_some(),
                    "{name}: {r}"
                );
            }
            for method in [
                "textDocument/documentSymbol",
                "textDocument/foldingRange",
                "textDocument/semanticTokens/full",
                "textDocument/codeLens",
            ] {
                lsp.call(method, json!({ "textDocument": { "uri": uri } }));
            }
            lsp.call(
                "textDocument/formatting",
                json!({ "textDocument": { "uri": uri }, "options": { "tabSize": 2, "insertSpaces": true } }),
            );
            lsp.call(
                "textDocument/codeAction",
                json!({ "textDocument": { "uri": uri }, "range": range_json((0, 0), (lines + 9, 0)), "context": { "diagnostics": [] } }),
            );
            let r = lsp.request(
                "workspace/executeCommand",
                json!({ "command": "tollgate.decide", "arguments": [{
                    "uri": uri, "snapshot": "examples/paused-zero-credits.json",
                    "role": "member", "action": "send_message" }] }),
            );
            assert!(
                r.get("result").is_some() || r.get("error").is_some(),
                "{name} v{version}: {r}"
            );
        };
        ask(&mut lsp, 1);
        // Edits at the middle, the end and past it.
        lsp.change(
            &uri,
            2,
            json!([{ "range": range_json((lines / 2, 0), (lines / 2, 5)), "text": "on all {\n" }]),
        );
        lsp.change(
            &uri,
            3,
            json!([{ "range": range_json((lines + 3, 0), (lines + 9, 9)), "text": "\n}" }]),
        );
        ask(&mut lsp, 3);
        lsp.notify(
            "textDocument/didClose",
            json!({ "textDocument": { "uri": uri } }),
        );
    }
    assert_eq!(lsp.shutdown(), 0);
}

/// The lens reads the case files again when they change on disk (the
/// next version of the policy shows it), and says when one does not parse.
#[test]
fn lsp_code_lens_follows_case_files_on_disk() {
    let dir = std::env::temp_dir().join(format!("tollgate-lens-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let policy = dir.join("ampere.policy");
    std::fs::write(&policy, ampere()).unwrap();
    let account = root().join("examples/paused-zero-credits.json");
    let case = |name: &str, outcome: &str| {
        format!(
            "[[case]]\nname = \"{name}\"\naccount = \"{}\"\nrole = \"member\"\naction = \"send_message\"\noutcome = \"{outcome}\"\n\n",
            account.display()
        )
    };
    let cases = dir.join("ampere.tests.toml");
    std::fs::write(
        &cases,
        format!("policy = \"ampere.policy\"\n\n{}", case("denied", "deny")),
    )
    .unwrap();
    let uri = format!("file://{}", policy.display());
    let text = ampere();
    let mut lsp = Lsp::start();
    lsp.open(&uri, &text);
    let billable = |titles: Vec<String>| titles[1].split_once(' ').unwrap().1.to_owned();
    assert_eq!(billable(lens_titles(&mut lsp, &uri)), "1 case passes");
    std::fs::write(
        &cases,
        format!(
            "policy = \"ampere.policy\"\n\n{}{}",
            case("denied", "deny"),
            case("wrongly allowed", "allow")
        ),
    )
    .unwrap();
    // Same version: the answer of that version.
    assert_eq!(billable(lens_titles(&mut lsp, &uri)), "1 case passes");
    lsp.change(&uri, 2, json!([{ "text": format!("{text}\n") }]));
    assert_eq!(billable(lens_titles(&mut lsp, &uri)), "1 of 2 cases pass");
    std::fs::write(&cases, "policy = \"ampere.policy\"\n[[case]\n").unwrap();
    lsp.change(&uri, 3, json!([{ "text": text }]));
    assert_eq!(
        lens_titles(&mut lsp, &uri),
        [
            "134:0-2 no cases · 1 case file does not parse",
            "147:0-2 no cases · 1 case file does not parse"
        ]
    );
    assert_eq!(lsp.shutdown(), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Assertions in the editor: outlined, hovered with their doc comment,
/// their names linked (definition, references, rename), their words
/// highlighted, and completion offering what fits where.
#[test]
fn lsp_assertions_are_symbols_and_their_names_link() {
    let text =
        std::fs::read_to_string(root().join("tests/corpus/check/assertions.policy")).unwrap();
    let mut lsp = Lsp::start();
    assert_eq!(lsp.open(URI, &text), Vec::<Value>::new());

    let symbols = lsp.call(
        "textDocument/documentSymbol",
        json!({ "textDocument": { "uri": URI } }),
    );
    let names: Vec<&str> = symbols
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"empty_blocks_work"), "{names:?}");
    assert!(names.contains(&"debt_blocks_billable_work"), "{names:?}");

    let h = lsp.at(
        "textDocument/hover",
        URI,
        pos(&text, "empty_blocks_work", 0, 1),
        json!({}),
    );
    let h = h["contents"]["value"].as_str().unwrap();
    assert!(h.starts_with("assertion `empty_blocks_work`"), "{h}");
    assert!(h.contains("Work stops on an empty balance."), "{h}");

    // A step named in a claim leads to its declaration.
    let in_claim = pos(
        &text,
        "never step buy_credits",
        0,
        "never step ".len() as u32 + 1,
    );
    let def = lsp.at("textDocument/definition", URI, in_claim, json!({}));
    assert_eq!(
        def["range"]["start"]["line"],
        pos(&text, "step buy_credits", 0, 0).0
    );
    // A state's references include the claims that name it.
    let refs = lsp.at(
        "textDocument/references",
        URI,
        pos(&text, "state paused when", 0, 7),
        json!({ "context": { "includeDeclaration": false } }),
    );
    let lines: Vec<u64> = refs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["range"]["start"]["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [pos(&text, "state paused implies", 0, 0).0 as u64]);
    // Renaming a deny rule's code renames it in the claims too, and renaming
    // a role renames it after `for`.
    let at = pos(&text, "deny no_credits when", 0, 6);
    let edit = lsp.at(
        "textDocument/rename",
        URI,
        at,
        json!({ "newName": "out_of_credits" }),
    );
    let renamed = apply(&text, edit["changes"][URI].as_array().unwrap());
    assert_eq!(renamed, text.replace("no_credits", "out_of_credits"));
    let at = pos(&text, "role member", 0, 6);
    let edit = lsp.at(
        "textDocument/rename",
        URI,
        at,
        json!({ "newName": "teammate" }),
    );
    let renamed = apply(&text, edit["changes"][URI].as_array().unwrap());
    assert!(
        renamed.contains("assert members_never_buy for teammate: never step"),
        "{renamed}"
    );
    assert_eq!(
        lsp.change(URI, 2, json!([{ "text": renamed }])),
        Vec::<Value>::new()
    );
    lsp.change(URI, 3, json!([{ "text": text }]));

    // The claim words are keywords where they stand.
    let r = lsp.call(
        "textDocument/semanticTokens/full",
        json!({ "textDocument": { "uri": URI } }),
    );
    let data: Vec<u64> = r["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let legend = lsp.init["capabilities"]["semanticTokensProvider"]["legend"]["tokenTypes"].clone();
    let lines: Vec<&str> = text.lines().collect();
    let (mut line, mut col) = (0usize, 0usize);
    let mut kinds = std::collections::BTreeMap::new();
    for t in data.chunks(5) {
        if t[0] > 0 {
            line += t[0] as usize;
            col = 0;
        }
        col += t[1] as usize;
        let word = &lines[line][col..col + t[2] as usize];
        kinds.insert(
            word.to_owned(),
            legend[t[3] as usize].as_str().unwrap().to_owned(),
        );
    }
    for w in [
        "assert",
        "never",
        "implies",
        "some",
        "permitted",
        "allow",
        "only",
    ] {
        assert_eq!(kinds.get(w).map(String::as_str), Some("keyword"), "{w}");
    }
    assert_eq!(kinds.get("paused").map(String::as_str), Some("type"));
    assert_eq!(
        kinds.get("members_never_buy").map(String::as_str),
        Some("method")
    );

    // Completion, typed at the end of the file.
    let mut version = 3;
    let mut offered = Vec::new();
    for (context, typed) in [
        ("after the name", "\nassert x "),
        ("after for", "\nassert x for "),
        ("after a role", "\nassert x for member "),
        ("after on", "\nassert x for member on "),
        (
            "after the colon",
            "\nassert x on billable when usable > 0: ",
        ),
        ("after state", "\nassert x: state "),
        ("after step", "\nassert x: never step "),
        ("after deny", "\nassert x: permitted implies deny "),
        ("after warn", "\nassert x: warn "),
        ("after some", "\nassert x: some "),
        (
            "in steps only",
            "\nassert x: steps only [ask_billing_admin, ",
        ),
        ("after a fact", "\nassert x: allow "),
    ] {
        version += 1;
        let now = format!("{text}{typed}");
        lsp.change(URI, version, json!([{ "text": now }]));
        let line = now.matches('\n').count() as u32;
        let col = now.rsplit('\n').next().unwrap().encode_utf16().count() as u32;
        let items = lsp.at("textDocument/completion", URI, (line, col), json!({}));
        let labels: Vec<&str> = items
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["label"].as_str().unwrap())
            .collect();
        offered.push(json!({ "context": context, "labels": labels }));
    }
    insta::assert_json_snapshot!("lsp_assertion_completion", offered);
    assert_eq!(lsp.shutdown(), 0);
}
