//! `tollgate serve`: the real binary on 127.0.0.1 with an ephemeral port,
//! driven by a real HTTP client (server.md).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::util::{code, root, stdout, tollgate};

/// A running server, stopped when dropped.
struct Server {
    child: Child,
    base: String,
    addr: String,
    /// Every line the server wrote on standard error so far.
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        Server::start_with_log(args, "human")
    }

    fn start_with_log(args: &[&str], format: &str) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tollgate"))
            .arg("serve")
            .args(args)
            .args(["--addr", "127.0.0.1:0", "--log-format", format])
            .current_dir(root())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tollgate serve");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let line = lines
            .next()
            .expect("a line on stderr")
            .expect("readable stderr");
        // `... INFO listening on http://127.0.0.1:PORT policies=3`, or the
        // same message in a JSON line.
        let base = line
            .split_once("listening on ")
            .and_then(|(_, rest)| rest.split([' ', '"']).next())
            .unwrap_or_else(|| panic!("unexpected first line: {line}"))
            .to_owned();
        let log = std::sync::Arc::new(std::sync::Mutex::new(vec![line]));
        // Keep draining stderr so the server never blocks on it.
        let kept = std::sync::Arc::clone(&log);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                kept.lock().unwrap().push(line);
            }
        });
        let addr = base.trim_start_matches("http://").to_owned();
        Server {
            child,
            base,
            addr,
            log,
        }
    }

    fn ampere() -> Server {
        Server::start(&["policies/"])
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn post(&self, path: &str, body: &str) -> Answer {
        answer(
            agent()
                .post(&self.url(path))
                .header("Content-Type", "application/json")
                .send(body),
        )
    }

    fn get(&self, path: &str) -> Answer {
        answer(agent().get(&self.url(path)).call())
    }

    /// Sends the signal `name` (`TERM`, `HUP`) to the server.
    fn signal(&self, name: &str) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status()
            .unwrap();
        assert!(sent.success());
    }

    /// Sends SIGTERM and waits for the exit code.
    fn terminate(mut self) -> i32 {
        self.signal("TERM");
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().expect("an exit code, not a signal");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the server did not stop within 10 s of SIGTERM");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Answer {
    status: u16,
    content_type: String,
    retry_after: Option<String>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// A problem document with this status and type.
    fn problem(&self, status: u16, kind: &str) -> Value {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.content_type, "application/problem+json");
        let p = self.json();
        assert_eq!(p["type"], format!("urn:tollgate:problem:{kind}"), "{p}");
        assert_eq!(p["status"], status);
        p
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

fn answer(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    let mut r = r.expect("an HTTP answer");
    let header = |name: &str| {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let content_type = header("content-type").unwrap_or_default();
    let retry_after = header("retry-after");
    let status = r.status().as_u16();
    let body = r
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_string()
        .unwrap();
    Answer {
        status,
        content_type,
        retry_after,
        body,
    }
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap()
}

/// A snapshot file as JSON (TOML ones through the library, as the contract
/// says both formats read the same).
fn snapshot_json(policy: &str, path: &str) -> Value {
    let text = read(path);
    if path.ends_with(".toml") {
        let policy = tollgate::Policy::from_file(root().join(policy)).unwrap();
        let account = policy.snapshot_from_toml(&text).unwrap();
        let json = policy
            .write_snapshot(&account, tollgate::Format::Json)
            .unwrap();
        serde_json::from_str(&json).unwrap()
    } else {
        serde_json::from_str(&text).unwrap()
    }
}

/// A decision's text with the two keys the server adds taken out, checked
/// on the way: a UUIDv7 `decision_id`, and the SHA-256 of the policy text.
fn without_ids(text: &str, policy_path: &str, pretty: bool) -> String {
    let v: Value = serde_json::from_str(text).unwrap();
    let id = v["decision_id"].as_str().unwrap();
    assert_eq!(id.len(), 36, "{id}");
    assert_eq!(id.as_bytes()[14], b'7', "a UUIDv7: {id}");
    let revision = v["policy_revision"].as_str().unwrap();
    assert_eq!(
        revision,
        tollgate::serve::revision(read(policy_path).as_bytes())
    );
    let added = if pretty {
        format!(",\n  \"decision_id\": \"{id}\",\n  \"policy_revision\": \"{revision}\"")
    } else {
        format!(",\"decision_id\":\"{id}\",\"policy_revision\":\"{revision}\"")
    };
    assert!(text.contains(&added), "{text}");
    text.replacen(&added, "", 1)
}

#[test]
fn the_example_accounts_decide_over_http_as_on_the_command_line() {
    let server = Server::ampere();
    let cases = [
        (
            "examples/paused-zero-credits.json",
            "member",
            "send_message",
            false,
        ),
        (
            "examples/paused-zero-credits.json",
            "owner",
            "run_tool",
            true,
        ),
        (
            "examples/ended-subscription-locked.toml",
            "owner",
            "run_tool",
            false,
        ),
        (
            "examples/ended-subscription-locked.toml",
            "billing_admin",
            "buy_credits",
            true,
        ),
        ("examples/dispute-debt.json", "owner", "run_tool", false),
        (
            "examples/dispute-debt.json",
            "member",
            "view_history",
            false,
        ),
    ];
    for (snapshot, role, action, explain) in cases {
        let mut args = vec![
            "decide",
            "policies/ampere.policy",
            "--snapshot",
            snapshot,
            "--role",
            role,
            "--action",
            action,
        ];
        if explain {
            args.push("--explain");
        }
        let cli = tollgate(&args);
        assert_eq!(code(&cli), 0);
        let body = json!({
            "snapshot": snapshot_json("policies/ampere.policy", snapshot),
            "role": role, "action": action, "explain": explain,
        });
        let http = server.post("/v1/policies/ampere/decide", &body.to_string());
        assert_eq!(http.status, 200, "{}", http.body);
        assert_eq!(http.content_type, "application/json");
        assert_eq!(
            without_ids(&http.body, "policies/ampere.policy", true),
            stdout(&cli),
            "{snapshot} {role} {action}"
        );
    }
}

#[test]
fn now_in_a_request_overrides_the_snapshot_like_the_flag() {
    let server = Server::ampere();
    let snapshot = "examples/paused-zero-credits.json";
    let now = "2026-12-05T00:00:00Z";
    let cli = tollgate(&[
        "decide",
        "policies/ampere.policy",
        "--snapshot",
        snapshot,
        "--role",
        "owner",
        "--action",
        "run_tool",
        "--now",
        now,
    ]);
    let body = json!({"snapshot": snapshot_json("", snapshot), "role": "owner",
                      "action": "run_tool", "now": now});
    let http = server.post("/v1/policies/ampere/decide", &body.to_string());
    assert_eq!(
        without_ids(&http.body, "policies/ampere.policy", true),
        stdout(&cli)
    );
}

#[test]
fn decision_ids_are_unique() {
    let server = Server::ampere();
    let body = json!({"snapshot": snapshot_json("", "examples/dispute-debt.json"),
                      "role": "owner", "action": "run_tool"})
    .to_string();
    let ids: std::collections::HashSet<String> = (0..20)
        .map(|_| {
            server.post("/v1/policies/ampere/decide", &body).json()["decision_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 20);
}

#[test]
fn a_batch_decides_each_item_on_its_own() {
    let server = Server::ampere();
    let good = |path: &str, role: &str, action: &str| json!({"snapshot": snapshot_json("", path), "role": role, "action": action});
    let first = good(
        "examples/paused-zero-credits.json",
        "member",
        "send_message",
    );
    let last = good("examples/dispute-debt.json", "owner", "run_tool");
    let mut bad_snapshot = snapshot_json("", "examples/dispute-debt.json");
    bad_snapshot["grants"][0]["remaining"] = json!("9000");
    let body = json!({"requests": [
        first,
        "not an object",
        {"snapshot": {}, "role": "ownr", "action": "run_tool"},
        {"snapshot": bad_snapshot, "role": "owner", "action": "run_tool"},
        {"snapshot": {}, "action": "run_tool"},
        last,
    ]});
    let text = serde_json::to_string_pretty(&body).unwrap();
    let http = server.post("/v1/policies/ampere/decide/batch", &text);
    assert_eq!(http.status, 200, "{}", http.body);
    let results = http.json()["results"].as_array().unwrap().clone();
    assert_eq!(results.len(), 6);

    // The good items are the command line's `--batch` lines, in order.
    let jsonl = format!("{first}\n{last}\n");
    let dir = tempdir();
    let file = dir.join("batch.jsonl");
    std::fs::write(&file, jsonl).unwrap();
    let cli = tollgate(&[
        "decide",
        "policies/ampere.policy",
        "--batch",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code(&cli), 0);
    let lines: Vec<String> = stdout(&cli).lines().map(str::to_owned).collect();
    for (result, line) in [(&results[0], &lines[0]), (&results[5], &lines[1])] {
        assert_eq!(
            without_ids(&result.to_string(), "policies/ampere.policy", false),
            *line
        );
    }

    let problem = |i: usize| results[i]["error"].clone();
    assert_eq!(problem(1)["status"], 400);
    assert_eq!(problem(1)["errors"][0]["path"], "requests[1]");
    assert_eq!(problem(2)["type"], "urn:tollgate:problem:unknown-role");
    assert_eq!(problem(2)["errors"][0]["path"], "requests[2].role");
    assert!(
        problem(2)["detail"]
            .as_str()
            .unwrap()
            .contains("did you mean `owner`")
    );
    let snapshot = problem(3);
    assert_eq!(snapshot["type"], "urn:tollgate:problem:bad-snapshot");
    let error = &snapshot["errors"][0];
    assert_eq!(error["path"], "requests[3].snapshot.grants[0].remaining");
    // The place is counted in the whole body, as the client sent it.
    let line = error["line"].as_u64().unwrap() as usize;
    let column = error["column"].as_u64().unwrap() as usize;
    let at = text.lines().nth(line - 1).unwrap();
    assert!(at[column - 1..].starts_with("\"9000\""), "{at} {column}");
    assert!(
        problem(4)["detail"].as_str().unwrap().contains("role"),
        "{}",
        problem(4)
    );
}

#[test]
fn a_bad_snapshot_is_a_problem_with_its_field_path_line_and_column() {
    let server = Server::ampere();
    let body = "{\"role\": \"owner\", \"action\": \"run_tool\",\n \"snapshot\": {\"now\": \"2026-11-22T10:00:00Z\",\n  \"grants\": [{\"id\": \"a\", \"kind\": \"included\", \"amount\": \"5\", \"remaining\": \"7\",\n  \"granted_at\": \"2026-11-01T00:00:00Z\"}]}}";
    let p = server
        .post("/v1/policies/ampere/decide", body)
        .problem(400, "bad-snapshot");
    let e = &p["errors"][0];
    assert_eq!(e["path"], "snapshot.grants[0].remaining");
    assert_eq!(e["code"], "tollgate::snapshot::remaining_exceeds_amount");
    assert_eq!(
        (e["line"].as_u64(), e["column"].as_u64()),
        (Some(3), Some(74))
    );
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .starts_with("snapshot.grants[0].remaining: ")
    );
}

#[test]
fn every_error_status_is_a_problem_document() {
    let server = Server::ampere();
    let decide = "/v1/policies/ampere/decide";
    let snapshot = snapshot_json("", "examples/dispute-debt.json");

    // 400: malformed JSON, with its place.
    let p = server
        .post(decide, "{\"role\": \"owner\",\n  \"action\": }")
        .problem(400, "malformed-json");
    assert_eq!(p["errors"][0]["line"], 2);
    // 400: unknown role and action, with did-you-mean.
    let body = json!({"snapshot": snapshot, "role": "onwer", "action": "run_tool"});
    let p = server
        .post(decide, &body.to_string())
        .problem(400, "unknown-role");
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("did you mean `owner`"),
        "{p}"
    );
    let body = json!({"snapshot": snapshot, "role": "owner", "action": "run_tol"});
    let p = server
        .post(decide, &body.to_string())
        .problem(400, "unknown-action");
    assert_eq!(p["errors"][0]["path"], "action");
    // 400: a field the request does not have, and a bad `now`.
    let body =
        json!({"snapshot": snapshot, "role": "owner", "action": "run_tool", "explian": true});
    server
        .post(decide, &body.to_string())
        .problem(400, "bad-request");
    let body = json!({"snapshot": snapshot, "role": "owner", "action": "run_tool", "now": "soon"});
    server
        .post(decide, &body.to_string())
        .problem(400, "bad-request");
    // 400: a bad amount.
    let body = json!({"snapshot": snapshot, "amount": "-3"});
    let p = server
        .post("/v1/policies/ampere/charge", &body.to_string())
        .problem(400, "bad-amount");
    assert_eq!(p["errors"][0]["path"], "amount");
    let body = json!({"snapshot": snapshot, "amount": "1.0000001"});
    server
        .post("/v1/policies/ampere/charge", &body.to_string())
        .problem(400, "bad-amount");
    // 404: no such policy, no such path.
    server
        .post("/v1/policies/nope/decide", "{}")
        .problem(404, "unknown-policy");
    server
        .get("/v1/policies/nope")
        .problem(404, "unknown-policy");
    server.get("/v2/anything").problem(404, "not-found");
    server
        .get("/v1/policies/%FF")
        .problem(404, "unknown-policy");
    // 405: wrong method.
    server.get(decide).problem(405, "method-not-allowed");
    let a = answer(agent().delete(&server.url("/v1/policies")).call());
    a.problem(405, "method-not-allowed");
    // 415: not JSON.
    let a = answer(
        agent()
            .post(&server.url(decide))
            .header("Content-Type", "text/plain")
            .send("{}"),
    );
    a.problem(415, "unsupported-media-type");
    // Not valid UTF-8.
    let a = answer(
        agent()
            .post(&server.url(decide))
            .header("Content-Type", "application/json")
            .send(&b"{\"role\": \"\xff\"}"[..]),
    );
    assert_eq!(a.status, 400);
}

#[test]
fn the_body_and_batch_limits_are_413() {
    let server = Server::ampere();
    // A body declared over 1 MiB is refused before it is sent: the client
    // need not upload it to hear so.
    let head = |framing: &str| {
        format!(
            "POST /v1/policies/ampere/decide HTTP/1.1\r\nHost: x\r\n\
             Content-Type: application/json\r\n{framing}\r\n"
        )
    };
    let a = raw(&server.addr, head("Content-Length: 1048577\r\n").as_bytes());
    assert!(a.starts_with("HTTP/1.1 413"), "{a}");
    assert!(a.contains("application/problem+json"), "{a}");
    // A body without a length is cut at the limit as it is read.
    let mut chunked = head("Transfer-Encoding: chunked\r\n").into_bytes();
    chunked.extend_from_slice(format!("{:x}\r\n", (1 << 20) + 1).as_bytes());
    chunked.extend(std::iter::repeat_n(b' ', (1 << 20) + 1));
    let a = raw(&server.addr, &chunked);
    assert!(a.starts_with("HTTP/1.1 413"), "{a}");
    // Exactly at the limit is read (and then refused for what it says).
    let pad = (1 << 20) - "{\"pad\": \"\"}".len();
    let at_limit = format!("{{\"pad\": \"{}\"}}", "x".repeat(pad));
    assert_eq!(at_limit.len(), 1 << 20);
    server
        .post("/v1/policies/ampere/decide", &at_limit)
        .problem(400, "bad-request");
    // 1,001 items in a batch; 1,000 are decided.
    let item =
        json!({"snapshot": {"now": "2026-11-22T10:00:00Z"}, "role": "owner", "action": "run_tool"});
    let batch = |n: usize| json!({"requests": vec![item.clone(); n]}).to_string();
    let p = server
        .post("/v1/policies/ampere/decide/batch", &batch(1001))
        .problem(413, "too-large");
    assert!(p["detail"].as_str().unwrap().contains("1001"), "{p}");
    let ok = server.post("/v1/policies/ampere/decide/batch", &batch(1000));
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json()["results"].as_array().unwrap().len(), 1000);
}

#[test]
fn ledger_operations_answer_what_the_command_line_prints() {
    let server = Server::ampere();
    let path = "examples/dispute-debt.json";
    let snapshot = snapshot_json("", path);
    let cases = [
        (
            "charge",
            json!({"snapshot": snapshot, "amount": "12.5"}),
            vec!["--amount", "12.5"],
        ),
        (
            "charge",
            json!({"snapshot": snapshot, "amount": 7}),
            vec!["--amount", "7"],
        ),
        ("settle", json!({"snapshot": snapshot}), vec![]),
        (
            "grant",
            json!({"snapshot": snapshot, "grant": {"kind": "purchased", "amount": "1000", "id": "top-9"}}),
            vec!["--kind", "purchased", "--amount", "1000", "--id", "top-9"],
        ),
        (
            "refund",
            json!({"snapshot": snapshot, "grant_id": "inc-nov"}),
            vec!["--grant", "inc-nov"],
        ),
    ];
    for (op, body, flags) in cases {
        let mut args = vec![op, "policies/ampere.policy", "--snapshot", path];
        args.extend(flags);
        let cli = tollgate(&args);
        let http = server.post(&format!("/v1/policies/ampere/{op}"), &body.to_string());
        assert_eq!(http.status, 200, "{op}: {}", http.body);
        assert_eq!(http.body, stdout(&cli), "{op}");
    }
}

#[test]
fn a_refusal_by_the_policy_is_an_answer_not_an_error() {
    let server = Server::ampere();
    let path = "examples/api_platform-expiring-soon.json";
    let body = json!({"snapshot": snapshot_json("", path), "grant_id": "pur-2026-03"});
    let http = server.post("/v1/policies/api_platform/refund", &body.to_string());
    assert_eq!(http.status, 200, "{}", http.body);
    assert_eq!(http.json()["outcome"], "refused");
    let cli = tollgate(&[
        "refund",
        "policies/api_platform.policy",
        "--snapshot",
        path,
        "--grant",
        "pur-2026-03",
    ]);
    assert_eq!(code(&cli), 3);
    assert_eq!(http.body, stdout(&cli));
    // Asking for a grant the account does not hold is the request's mistake.
    let body = json!({"snapshot": snapshot_json("", path), "grant_id": "pur-2026-04"});
    let p = server
        .post("/v1/policies/api_platform/refund", &body.to_string())
        .problem(400, "bad-request");
    assert!(p["detail"].as_str().unwrap().contains("pur-2026-03"), "{p}");
}

#[test]
fn policies_are_listed_and_described_by_name() {
    let server = Server::ampere();
    let list = server.get("/v1/policies");
    assert_eq!(list.status, 200);
    let names: Vec<String> = list.json()["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["ampere", "api_platform", "messaging"]);
    let one = server.get("/v1/policies/ampere").json();
    assert_eq!(
        one["revision"],
        tollgate::serve::revision(read("policies/ampere.policy").as_bytes())
    );
    assert!(one["roles"].as_array().unwrap().contains(&json!("owner")));
    let actions = one["actions"].as_array().unwrap();
    assert!(actions.contains(&json!({"name": "run_tool", "category": "billable"})));
    // The permission table agrees with the policy's `permit` lines: a
    // member may not make a billing admin, an owner may.
    let may = |role: &str, action: &str| {
        one["permissions"][role]
            .as_array()
            .unwrap()
            .contains(&json!(action))
    };
    assert!(may("member", "send_message"));
    assert!(!may("member", "grant_billing_admin"));
    assert!(may("owner", "grant_billing_admin"));
    let status = one["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "subscription.status")
        .unwrap()
        .clone();
    assert_eq!(status["type"]["enum"], "subscription_status");
    assert_eq!(status["default"], "none");
    assert_eq!(one["credit_kinds"][0], "included");
    assert_eq!(one["debt_kinds"][0], "refund_dispute");
    assert_eq!(one["last_error"], Value::Null);
    assert_eq!(server.get("/health/live").status, 200);
    assert_eq!(server.get("/health/ready").status, 200);
}

/// Every `(METHOD, path)` the router in src/serve/routes.rs serves, read
/// from its `.route(...)` calls: a route added there is seen here.
fn router_routes() -> std::collections::BTreeSet<(String, String)> {
    let source = read("src/serve/routes.rs");
    let mut routes = std::collections::BTreeSet::new();
    for call in source.split(".route(").skip(1) {
        let (path, rest) = call
            .trim_start()
            .strip_prefix('"')
            .and_then(|c| c.split_once('"'))
            .unwrap_or_else(|| panic!("a route whose path is not a literal: {call:.80}"));
        // The method router, up to the `)` that closes `.route(`.
        let mut depth = 1;
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                depth += match c {
                    '(' => 1,
                    ')' => -1,
                    _ => 0,
                };
                depth == 0
            })
            .map(|(i, _)| i)
            .unwrap();
        let handler = &rest[..end];
        let mut found = false;
        for method in ["get", "post", "put", "patch", "delete"] {
            let called = handler
                .match_indices(&format!("{method}("))
                .any(|(i, _)| i == 0 || !handler.as_bytes()[i - 1].is_ascii_alphanumeric());
            if called {
                routes.insert((method.to_uppercase(), path.to_owned()));
                found = true;
            }
        }
        assert!(found, "no method for {path}: {handler}");
    }
    routes
}

#[test]
fn the_openapi_document_lists_every_route_the_router_serves() {
    let server = Server::ampere();
    let a = server.get("/v1/openapi.json");
    assert_eq!(a.status, 200);
    assert_eq!(a.content_type, "application/json");
    let doc = a.json();
    let version = doc["openapi"].as_str().unwrap();
    assert!(version.starts_with("3.1."), "{version}");
    let mut documented = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in [
            "get", "put", "post", "delete", "options", "head", "patch", "trace",
        ] {
            if item.get(method).is_some() {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let served = router_routes();
    assert!(served.len() >= 13, "{served:?}");
    assert_eq!(
        documented, served,
        "src/serve/openapi.json and the router disagree"
    );
    // And the server answers each documented operation itself: neither the
    // fallback's 404 nor a 405.
    for (method, path) in &documented {
        let url = server.url(&path.replace("{policy}", "ampere"));
        let request = ureq::http::Request::builder()
            .method(method.as_str())
            .uri(url)
            .header("Content-Type", "application/json");
        let a = if method == "POST" {
            answer(agent().run(request.body("{}".to_owned()).unwrap()))
        } else {
            answer(agent().run(request.body(()).unwrap()))
        };
        let fallback = a.content_type == "application/problem+json"
            && a.json()["type"] == "urn:tollgate:problem:not-found";
        assert!(
            a.status != 405 && !fallback,
            "{method} {path}: {} {}",
            a.status,
            a.body
        );
    }
}

#[test]
fn a_policy_is_addressed_by_its_declared_name_not_its_file_name() {
    let dir = tempdir();
    let file = dir.join("renamed.policy");
    std::fs::copy(root().join("policies/ampere.policy"), &file).unwrap();
    let server = Server::start(&[file.to_str().unwrap()]);
    assert_eq!(server.get("/v1/policies/ampere").status, 200);
    assert_eq!(server.get("/v1/policies/renamed").status, 404);
}

#[test]
fn a_policy_with_errors_stops_the_start_as_check_reports_it() {
    let dir = tempdir();
    let file = dir.join("broken.policy");
    std::fs::write(
        &file,
        "policy broken\nrole member\npermit membr to billable\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let serve = tollgate(&["serve", path, "--addr", "127.0.0.1:0"]);
    assert_eq!(code(&serve), 1);
    let check = tollgate(&["check", path]);
    assert_eq!(code(&check), 1);
    assert_eq!(serve.stderr, check.stderr);
}

#[test]
fn two_sources_with_one_name_stop_the_start() {
    let dir = tempdir();
    for name in ["a.policy", "b.policy"] {
        std::fs::copy(root().join("policies/ampere.policy"), dir.join(name)).unwrap();
    }
    let serve = tollgate(&["serve", dir.to_str().unwrap(), "--addr", "127.0.0.1:0"]);
    assert_eq!(code(&serve), 2);
    assert!(crate::util::stderr(&serve).contains("both declare `policy ampere`"));
}

#[cfg(unix)]
#[test]
fn sigterm_answers_the_request_in_flight_then_exits_0() {
    let server = Server::ampere();
    let body = json!({"snapshot": snapshot_json("", "examples/dispute-debt.json"),
                      "role": "owner", "action": "run_tool"})
    .to_string();
    let (head, tail) = body.split_at(body.len() / 2);
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    write!(
        stream,
        "POST /v1/policies/ampere/decide HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{head}",
        body.len()
    )
    .unwrap();
    stream.flush().unwrap();
    // The request is in flight: its headers are read, half its body sent.
    std::thread::sleep(Duration::from_millis(300));
    server.signal("TERM");
    std::thread::sleep(Duration::from_millis(300));
    stream.write_all(tail.as_bytes()).unwrap();
    let mut answer = String::new();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"decision_id\""), "{answer}");
    assert_eq!(server.terminate(), 0);
}

#[cfg(unix)]
#[test]
fn sigterm_with_idle_connections_exits_0() {
    let server = Server::ampere();
    let _idle = TcpStream::connect(&server.addr).unwrap();
    assert_eq!(server.get("/health/live").status, 200);
    assert_eq!(server.terminate(), 0);
}

/// A `--config` file serving the shipped policies with `limits`.
fn config(limits: &str) -> std::path::PathBuf {
    let dir = tempdir();
    let file = dir.join("serve.toml");
    let policies = root().join("policies");
    let text = format!(
        "paths = [{:?}]\naddr = \"not an address: the flag beats it\"\n\n[limits]\n{limits}\n",
        policies.to_str().unwrap()
    );
    std::fs::write(&file, text).unwrap();
    file
}

/// A connection holding a request in flight: its headers and the start of
/// its body sent, the rest never.
fn half_sent(addr: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .write_all(
            b"POST /v1/policies/ampere/decide HTTP/1.1\r\nHost: x\r\n\
              Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
        )
        .unwrap();
    stream
}

/// What the server sends on `stream` within `wait`.
fn read_for(stream: &mut TcpStream, wait: Duration) -> String {
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn over_the_in_flight_limit_a_request_is_refused_with_503_and_retry_after() {
    let cfg = config("in_flight = 1\nrequest_time = \"30s\"");
    let server = Server::start(&["--config", cfg.to_str().unwrap()]);
    let held = half_sent(&server.addr);
    std::thread::sleep(Duration::from_millis(300));
    let body = json!({"snapshot": snapshot_json("", "examples/dispute-debt.json"),
                      "role": "owner", "action": "run_tool"})
    .to_string();
    let a = server.post("/v1/policies/ampere/decide", &body);
    a.problem(503, "overloaded");
    assert_eq!(a.retry_after.as_deref(), Some("1"));
    // Probes are outside the limit: an overloaded server is alive.
    assert_eq!(server.get("/health/live").status, 200);
    assert_eq!(server.get("/health/ready").status, 200);
    // The slot is given back when the held request ends.
    drop(held);
    let mut status = 0;
    for _ in 0..50 {
        status = server.post("/v1/policies/ampere/decide", &body).status;
        if status == 200 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(status, 200);
}

#[test]
fn a_request_over_the_time_limit_is_503() {
    let cfg = config("request_time = \"1s\"");
    let server = Server::start(&["--config", cfg.to_str().unwrap()]);
    let mut held = half_sent(&server.addr);
    let answer = read_for(&mut held, Duration::from_secs(5));
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("urn:tollgate:problem:timeout"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: 1"),
        "{answer}"
    );
}

#[test]
fn a_client_slow_to_send_its_headers_is_cut_off() {
    let cfg = config("header_read_time = \"1s\"");
    let server = Server::start(&["--config", cfg.to_str().unwrap()]);
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    stream
        .write_all(b"GET /health/live HTTP/1.1\r\nHo")
        .unwrap();
    let start = std::time::Instant::now();
    let answer = read_for(&mut stream, Duration::from_secs(8));
    let took = start.elapsed();
    assert!(!answer.contains("200 OK"), "{answer}");
    assert!(took < Duration::from_secs(5), "cut off after {took:?}");
}

#[test]
fn a_config_file_is_checked_and_flags_beat_it() {
    let cfg = config("in_flight = 8");
    // Its `addr` is no address; the flag given by `Server::start` wins.
    let server = Server::start(&["--config", cfg.to_str().unwrap()]);
    assert_eq!(server.get("/v1/policies/ampere").status, 200);
    let bad = config("in_fligth = 8");
    let out = tollgate(&["serve", "--config", bad.to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    assert!(
        crate::util::stderr(&out).contains("in_fligth"),
        "{}",
        crate::util::stderr(&out)
    );
    let bad = config("request_time = \"0s\"");
    let out = tollgate(&["serve", "--config", bad.to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    assert!(crate::util::stderr(&out).contains("limits.request_time"));
}

/// Sends `bytes` on a new connection and reads the answer until the
/// server closes it.
fn raw(addr: &str, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(bytes).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

/// A fresh directory under the target directory, for files a test writes.
fn tempdir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "tollgate-serve-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A directory holding a copy of the Ampere policy, served with `limits`
/// (`poll_interval` and the rest) from a config file beside it.
fn served_copy(limits: &str) -> (Server, std::path::PathBuf) {
    let dir = tempdir();
    let policies = dir.join("policies");
    std::fs::create_dir(&policies).unwrap();
    std::fs::copy(
        root().join("policies/ampere.policy"),
        policies.join("ampere.policy"),
    )
    .unwrap();
    let cfg = dir.join("serve.toml");
    // A leading `watch = false` line turns change events off (a top-level
    // key); the rest are limits.
    let (watch, limits) = match limits.strip_prefix("watch = false\n") {
        Some(rest) => ("watch = false\n", rest),
        None => ("", limits),
    };
    std::fs::write(
        &cfg,
        format!("paths = [\"policies\"]\n{watch}\n[limits]\n{limits}\n"),
    )
    .unwrap();
    let server = Server::start(&["--config", cfg.to_str().unwrap()]);
    (server, policies)
}

fn ampere_text(edit: &str) -> String {
    format!("{}\n// {edit}\n", read("policies/ampere.policy"))
}

fn served_revision(server: &Server) -> Option<String> {
    let a = server.get("/v1/policies/ampere");
    (a.status == 200).then(|| a.json()["revision"].as_str().unwrap().to_owned())
}

/// Waits up to 5 s for `done`.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..100 {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("not within 5 s: {what}");
}

fn rev(text: &str) -> String {
    tollgate::serve::revision(text.as_bytes())
}

#[test]
fn an_edit_is_served_within_two_seconds_and_a_broken_one_keeps_the_old() {
    let (server, dir) = served_copy("");
    let file = dir.join("ampere.policy");
    let edited = ampere_text("first edit");
    std::fs::write(&file, &edited).unwrap();
    let start = std::time::Instant::now();
    eventually("the edit served", || {
        served_revision(&server) == Some(rev(&edited))
    });
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );

    std::fs::write(&file, "policy ampere\nthis is not a policy\n").unwrap();
    eventually("the failure reported", || {
        server.get("/v1/policies").json()["policies"][0]["last_error"] != Value::Null
    });
    let listed = server.get("/v1/policies").json();
    let entry = &listed["policies"][0];
    assert_eq!(entry["revision"], rev(&edited));
    assert!(
        !entry["last_error"]["diagnostics"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{entry}"
    );
    // Still deciding, with the old revision.
    let body = json!({"snapshot": snapshot_json("", "examples/dispute-debt.json"),
                      "role": "owner", "action": "run_tool"});
    let d = server
        .post("/v1/policies/ampere/decide", &body.to_string())
        .json();
    assert_eq!(d["policy_revision"], rev(&edited));
    assert_eq!(server.get("/health/ready").status, 200);

    // Fixed again: served, the error cleared.
    let fixed = ampere_text("fixed");
    std::fs::write(&file, &fixed).unwrap();
    eventually("the fix served", || {
        served_revision(&server) == Some(rev(&fixed))
    });
    assert_eq!(
        server.get("/v1/policies").json()["policies"][0]["last_error"],
        Value::Null
    );
}

#[test]
fn a_replace_by_rename_is_seen() {
    let (server, dir) = served_copy("");
    let text = ampere_text("renamed into place");
    let tmp = dir.join("ampere.policy.tmp");
    std::fs::write(&tmp, &text).unwrap();
    std::fs::rename(&tmp, dir.join("ampere.policy")).unwrap();
    eventually("the renamed file served", || {
        served_revision(&server) == Some(rev(&text))
    });
}

#[cfg(unix)]
#[test]
fn a_configmap_symlink_swap_is_seen() {
    use std::os::unix::fs::symlink;
    let dir = tempdir();
    let v1 = dir.join("..v1");
    std::fs::create_dir(&v1).unwrap();
    std::fs::copy(
        root().join("policies/ampere.policy"),
        v1.join("ampere.policy"),
    )
    .unwrap();
    symlink("..v1", dir.join("..data")).unwrap();
    symlink("..data/ampere.policy", dir.join("ampere.policy")).unwrap();
    let server = Server::start(&[dir.to_str().unwrap()]);
    assert_eq!(
        served_revision(&server),
        Some(rev(&read("policies/ampere.policy")))
    );
    // What the kubelet does: a new version directory, then `..data`
    // replaced by a rename of a fresh link.
    let v2 = dir.join("..v2");
    std::fs::create_dir(&v2).unwrap();
    let text = ampere_text("ConfigMap v2");
    std::fs::write(v2.join("ampere.policy"), &text).unwrap();
    symlink("..v2", dir.join("..data_tmp")).unwrap();
    std::fs::rename(dir.join("..data_tmp"), dir.join("..data")).unwrap();
    std::fs::remove_dir_all(&v1).unwrap();
    eventually("the swapped version served", || {
        served_revision(&server) == Some(rev(&text))
    });
}

#[test]
fn a_deleted_policy_stops_being_served() {
    let (server, dir) = served_copy("");
    std::fs::remove_file(dir.join("ampere.policy")).unwrap();
    eventually("a 404", || server.get("/v1/policies/ampere").status == 404);
    assert!(
        server.get("/v1/policies").json()["policies"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_new_broken_source_makes_the_server_not_ready() {
    let (server, dir) = served_copy("");
    std::fs::write(dir.join("new.policy"), "policy new\nnot a policy\n").unwrap();
    eventually("not ready", || server.get("/health/ready").status == 503);
    let listed = server.get("/v1/policies").json();
    let new = listed["policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["source"].as_str().unwrap().ends_with("new.policy"))
        .unwrap()
        .clone();
    assert_eq!(new["name"], Value::Null);
    assert_ne!(new["last_error"], Value::Null);
    // The others serve on.
    assert!(served_revision(&server).is_some());
}

#[test]
fn post_reload_reads_the_sources_at_once() {
    let (server, dir) = served_copy("watch = false\npoll_interval = \"1h\"");
    let text = ampere_text("reloaded by request");
    std::fs::write(dir.join("ampere.policy"), &text).unwrap();
    let a = server.post("/v1/reload", "");
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.json()["policies"][0]["revision"], rev(&text));
    assert_eq!(served_revision(&server), Some(rev(&text)));
}

#[cfg(unix)]
#[test]
fn sighup_reloads_at_once() {
    let (server, dir) = served_copy("watch = false\npoll_interval = \"1h\"");
    let text = ampere_text("reloaded by SIGHUP");
    std::fs::write(dir.join("ampere.policy"), &text).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert_ne!(served_revision(&server), Some(rev(&text)));
    server.signal("HUP");
    eventually("the edit served", || {
        served_revision(&server) == Some(rev(&text))
    });
}

#[test]
fn a_request_in_flight_finishes_on_the_revision_it_started_with() {
    let (server, dir) = served_copy("watch = false\npoll_interval = \"1h\"");
    let before = rev(&read("policies/ampere.policy"));
    let body = json!({"snapshot": snapshot_json("", "examples/dispute-debt.json"),
                      "role": "owner", "action": "run_tool"})
    .to_string();
    let (head, tail) = body.split_at(body.len() / 2);
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    write!(
        stream,
        "POST /v1/policies/ampere/decide HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{head}",
        body.len()
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let text = ampere_text("swapped mid-request");
    std::fs::write(dir.join("ampere.policy"), &text).unwrap();
    assert_eq!(server.post("/v1/reload", "").status, 200);
    assert_eq!(served_revision(&server), Some(rev(&text)));
    stream.write_all(tail.as_bytes()).unwrap();
    let answer = read_for(&mut stream, Duration::from_secs(10));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.contains(&format!("\"policy_revision\": \"{before}\"")),
        "{answer}"
    );
}

#[test]
fn a_second_source_declaring_a_served_name_is_refused_on_reload() {
    let (server, dir) = served_copy("");
    let original = rev(&read("policies/ampere.policy"));
    std::fs::write(dir.join("copy.policy"), ampere_text("a copy")).unwrap();
    let clash = |listed: &Value| {
        listed["policies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["source"].as_str().unwrap().ends_with("copy.policy"))
            .cloned()
    };
    eventually("the clash reported", || {
        clash(&server.get("/v1/policies").json()).is_some_and(|c| c["last_error"] != Value::Null)
    });
    let copy = clash(&server.get("/v1/policies").json()).unwrap();
    assert_eq!(copy["name"], Value::Null);
    assert!(
        copy["last_error"]["message"]
            .as_str()
            .unwrap()
            .contains("also declares `policy ampere`"),
        "{copy}"
    );
    assert_eq!(served_revision(&server), Some(original));
}

#[test]
fn odd_bodies_on_every_endpoint_are_problems_never_a_500() {
    let server = Server::ampere();
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_snapshot = format!(
        "{{\"snapshot\": {}, \"role\": \"owner\", \"action\": \"run_tool\"}}",
        "{\"a\":".repeat(5_000) + "1" + &"}".repeat(5_000)
    );
    let bodies = [
        "",
        " ",
        "null",
        "[]",
        "{}",
        "\"text\"",
        "{\"snapshot\": null}",
        "{\"snapshot\": [], \"role\": 1, \"action\": {}}",
        "{\"requests\": null}",
        "{\"requests\": [null, 1, [], {}]}",
        "{\"snapshot\": {}, \"amount\": null}",
        "{\"snapshot\": {}, \"amount\": 1e400}",
        "{\"snapshot\": {}, \"amount\": \"NaN\"}",
        "{\"snapshot\": {}, \"grant\": {\"kind\": \"\", \"amount\": true}}",
        "{\"snapshot\": {}, \"grant_id\": \"\\u0000\"}",
        "{\"snapshot\": {\"now\": \"2026-11-22T10:00:00Z\"}, \"role\": \"owner\", \"action\": \"run_tool\", \"now\": \"9999-12-31T23:59:59Z\"}",
        "{\"a\": 1, \"a\": 2}",
        &deep,
        &deep_snapshot,
    ];
    for op in [
        "decide",
        "decide/batch",
        "charge",
        "settle",
        "grant",
        "refund",
    ] {
        for body in &bodies {
            let a = server.post(&format!("/v1/policies/ampere/{op}"), body);
            assert!(a.status < 500, "{op} {body:.80}: {} {}", a.status, a.body);
            if a.status != 200 {
                assert_eq!(
                    a.content_type, "application/problem+json",
                    "{op} {body:.80}"
                );
                a.json();
            }
        }
    }
    // Other methods and paths.
    for (method, path) in [
        ("PUT", "/v1/policies"),
        ("PATCH", "/health/ready"),
        ("DELETE", "/v1/reload"),
    ] {
        let a = answer(
            agent().run(
                ureq::http::Request::builder()
                    .method(method)
                    .uri(server.url(path))
                    .body(())
                    .unwrap(),
            ),
        );
        a.problem(405, "method-not-allowed");
    }
}

fn log_lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[cfg(unix)]
#[test]
fn the_decision_log_has_one_event_per_decision_and_loses_none_on_sigterm() {
    let dir = tempdir();
    let path = dir.join("decisions.jsonl");
    let server = Server::start(&["policies/", "--decision-log", path.to_str().unwrap()]);
    let snapshot = snapshot_json("", "examples/dispute-debt.json");
    let one = server
        .post(
            "/v1/policies/ampere/decide",
            &json!({"snapshot": snapshot, "role": "owner", "action": "run_tool"}).to_string(),
        )
        .json();
    let batch = server
        .post(
            "/v1/policies/ampere/decide/batch",
            &json!({"requests": [
                {"snapshot": snapshot, "role": "member", "action": "view_history"},
                {"snapshot": snapshot, "role": "nobody", "action": "view_history"},
                {"snapshot": snapshot, "role": "owner", "action": "buy_credits"},
            ]})
            .to_string(),
        )
        .json();
    let mut decisions = vec![one];
    decisions.push(batch["results"][0].clone());
    decisions.push(batch["results"][2].clone());
    // A stream of decisions right before SIGTERM: none is lost.
    let body =
        json!({"snapshot": snapshot, "role": "member", "action": "send_message"}).to_string();
    for _ in 0..200 {
        decisions.push(server.post("/v1/policies/ampere/decide", &body).json());
    }
    assert_eq!(server.terminate(), 0);
    let events = log_lines(&path);
    assert_eq!(events.len(), decisions.len());
    for (event, decision) in events.iter().zip(&decisions) {
        assert_eq!(event["decision_id"], decision["decision_id"]);
        assert_eq!(event["revision"], decision["policy_revision"]);
        assert_eq!(event["policy"], "ampere");
        assert_eq!(event["role"], decision["request"]["role"]);
        assert_eq!(event["action"], decision["request"]["action"]);
        assert_eq!(event["outcome"], decision["outcome"]);
        assert_eq!(event["state"], decision["state"]);
        assert_eq!(event["account"], "org_dispute");
        let codes = |list: &Value| -> Vec<Value> {
            list.as_array()
                .unwrap()
                .iter()
                .map(|x| x["code"].clone())
                .collect()
        };
        assert_eq!(
            event["reasons"].as_array().unwrap(),
            &codes(&decision["reasons"])
        );
        assert_eq!(
            event["next_steps"].as_array().unwrap(),
            &codes(&decision["next_steps"])
        );
        assert_eq!(
            event["warnings"].as_array().unwrap(),
            &codes(&decision["warnings"])
        );
        assert_eq!(
            event["effects"].as_array().unwrap(),
            &codes(&decision["effects"])
        );
        assert!(event["duration_us"].is_u64());
        assert!(event["time"].as_str().unwrap().ends_with('Z'));
        assert!(event.get("snapshot").is_none());
    }
}

#[test]
fn the_decision_log_carries_snapshots_only_when_asked() {
    let dir = tempdir();
    let path = dir.join("decisions.jsonl");
    let server = Server::start(&[
        "policies/",
        "--decision-log",
        path.to_str().unwrap(),
        "--decision-log-snapshots",
    ]);
    let snapshot = snapshot_json("", "examples/dispute-debt.json");
    // Sent indented: the log line is still one line.
    let body = serde_json::to_string_pretty(
        &json!({"snapshot": snapshot, "role": "owner", "action": "run_tool"}),
    )
    .unwrap();
    assert_eq!(server.post("/v1/policies/ampere/decide", &body).status, 200);
    eventually("the event written", || log_lines(&path).len() == 1);
    assert_eq!(log_lines(&path)[0]["snapshot"], snapshot);
}

#[test]
fn change_events_reload_without_waiting_for_the_poll() {
    let (server, dir) = served_copy("poll_interval = \"1h\"");
    let text = ampere_text("seen by the watcher");
    let tmp = dir.join("ampere.policy.tmp");
    std::fs::write(&tmp, &text).unwrap();
    std::fs::rename(&tmp, dir.join("ampere.policy")).unwrap();
    let start = std::time::Instant::now();
    eventually("the edit served", || {
        served_revision(&server) == Some(rev(&text))
    });
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    std::fs::remove_file(dir.join("ampere.policy")).unwrap();
    eventually("a 404", || server.get("/v1/policies/ampere").status == 404);
}

/// The value of the sample `name` (with its labels, exactly as written)
/// in a Prometheus text exposition, if present.
fn sample(metrics: &str, name: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?.strip_prefix(' ')?;
        rest.trim().parse().ok()
    })
}

#[test]
fn metrics_count_decisions_requests_refusals_and_revisions() {
    let server = Server::ampere();
    let snapshot = snapshot_json("", "examples/dispute-debt.json");
    let decide = |role: &str, action: &str| {
        server.post(
            "/v1/policies/ampere/decide",
            &json!({"snapshot": snapshot, "role": role, "action": action}).to_string(),
        )
    };
    let denied = decide("owner", "run_tool").json();
    assert_eq!(denied["outcome"], "deny");
    let allowed = decide("owner", "view_history").json();
    assert_eq!(allowed["outcome"], "allow");
    let batch = server.post(
        "/v1/policies/ampere/decide/batch",
        &json!({"requests": [
            {"snapshot": snapshot, "role": "owner", "action": "view_history"},
            {"snapshot": snapshot, "role": "nobody", "action": "view_history"},
        ]})
        .to_string(),
    );
    assert_eq!(batch.status, 200);
    server
        .post("/v1/policies/nope/decide", "{}")
        .problem(404, "unknown-policy");
    server
        .post("/v1/policies/ampere/decide", "{")
        .problem(400, "malformed-json");
    let m = server.get("/metrics");
    assert_eq!(m.status, 200);
    assert_eq!(m.content_type, "text/plain; version=0.0.4; charset=utf-8");
    let text = &m.body;
    let at = |name: &str| sample(text, name).unwrap_or_else(|| panic!("no {name} in\n{text}"));
    // Two single decisions and one batch item decided (the other was an
    // unknown role: an error in its place, not a decision).
    assert_eq!(
        at(r#"tollgate_decisions_total{policy="ampere",outcome="deny"}"#),
        1.0
    );
    assert_eq!(
        at(r#"tollgate_decisions_total{policy="ampere",outcome="allow"}"#),
        2.0
    );
    let decide_route = r#"route="/v1/policies/{policy}/decide""#;
    assert_eq!(
        at(&format!(
            "tollgate_request_duration_seconds_count{{{decide_route},status=\"200\"}}"
        )),
        2.0
    );
    assert_eq!(
        at(&format!(
            "tollgate_request_duration_seconds_bucket{{{decide_route},status=\"200\",le=\"+Inf\"}}"
        )),
        2.0
    );
    assert_eq!(
        at(&format!(
            "tollgate_request_duration_seconds_count{{{decide_route},status=\"404\"}}"
        )),
        1.0
    );
    assert_eq!(
        at(r#"tollgate_requests_refused_total{reason="unknown-policy"}"#),
        1.0
    );
    assert_eq!(
        at(r#"tollgate_requests_refused_total{reason="malformed-json"}"#),
        1.0
    );
    // The scrape itself is in flight.
    assert_eq!(at("tollgate_requests_in_flight"), 1.0);
    for (name, path) in [
        ("ampere", "policies/ampere.policy"),
        ("messaging", "policies/messaging.policy"),
    ] {
        let revision = tollgate::serve::revision(read(path).as_bytes());
        assert_eq!(
            at(&format!(
                "tollgate_policy_info{{policy=\"{name}\",revision=\"{revision}\"}}"
            )),
            1.0
        );
    }
    assert_eq!(at("tollgate_decision_log_dropped_total"), 0.0);
    for family in [
        "tollgate_decisions_total counter",
        "tollgate_request_duration_seconds histogram",
        "tollgate_requests_in_flight gauge",
        "tollgate_policy_info gauge",
        "tollgate_decision_log_dropped_total counter",
    ] {
        assert!(text.contains(&format!("# TYPE {family}\n")), "{family}");
    }
}

#[test]
fn reloads_are_counted_and_logged_once_per_change() {
    let (server, dir) = served_copy("poll_interval = \"1s\"");
    let file = dir.join("ampere.policy");
    let old = served_revision(&server).unwrap();
    std::fs::write(
        &file,
        "policy ampere\nrole owner\npermit owner to nothing_declared\n",
    )
    .unwrap();
    let metrics = || server.get("/metrics").body;
    let source = file.display().to_string();
    let failed = format!("tollgate_policy_last_reload_failed{{source=\"{source}\"}}");
    // A reload counts its result, then swaps the catalog the gauges are
    // read from: a scrape between the two sees one without the other, so
    // each state is waited for whole.
    eventually("a failed reload counted and flagged", || {
        let m = metrics();
        sample(
            &m,
            r#"tollgate_policy_reloads_total{policy="ampere",result="failure"}"#,
        ) == Some(1.0)
            && sample(&m, &failed) == Some(1.0)
    });
    assert_eq!(served_revision(&server).as_deref(), Some(old.as_str()));
    let edited = ampere_text("an edit");
    std::fs::write(&file, &edited).unwrap();
    eventually("the edit served and counted", || {
        served_revision(&server) == Some(rev(&edited))
            && sample(
                &metrics(),
                r#"tollgate_policy_reloads_total{policy="ampere",result="success"}"#,
            )
            .is_some()
    });
    let m = metrics();
    assert_eq!(
        sample(
            &m,
            r#"tollgate_policy_reloads_total{policy="ampere",result="success"}"#
        ),
        Some(1.0)
    );
    assert_eq!(sample(&m, &failed), Some(0.0));
    assert_eq!(
        sample(
            &m,
            &format!(
                "tollgate_policy_info{{policy=\"ampere\",revision=\"{}\"}}",
                rev(&edited)
            )
        ),
        Some(1.0)
    );
    // Several polls went by; each change is one line, never one per poll.
    std::thread::sleep(Duration::from_millis(1500));
    let log = server.log.lock().unwrap().clone();
    let reloads: Vec<&String> = log.iter().filter(|l| l.contains("reload:")).collect();
    assert_eq!(reloads.len(), 2, "{log:#?}");
    assert!(
        reloads[0].contains("WARN") && reloads[0].contains("refused"),
        "{reloads:?}"
    );
    assert!(
        reloads[1].contains("INFO") && reloads[1].contains("serving `ampere`"),
        "{reloads:?}"
    );
}

#[cfg(unix)]
#[test]
fn json_logs_tell_each_class_of_refusal_once_and_never_each_decision() {
    let server = Server::start_with_log(&["policies/"], "json");
    let snapshot = snapshot_json("", "examples/dispute-debt.json");
    for _ in 0..5 {
        let a = server.post(
            "/v1/policies/ampere/decide",
            &json!({"snapshot": snapshot, "role": "owner", "action": "run_tool"}).to_string(),
        );
        assert_eq!(a.status, 200);
    }
    for _ in 0..3 {
        server
            .post("/v1/policies/nope/decide", "{}")
            .problem(404, "unknown-policy");
    }
    server
        .post("/v1/policies/ampere/decide", "[")
        .problem(400, "malformed-json");
    let log = std::sync::Arc::clone(&server.log);
    assert_eq!(server.terminate(), 0);
    std::thread::sleep(Duration::from_millis(200));
    let lines = log.lock().unwrap().clone();
    let events: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    for e in &events {
        assert!(e["timestamp"].is_string() && e["level"].is_string(), "{e}");
    }
    let messages: Vec<&str> = events
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert!(
        messages[0].starts_with("listening on http://"),
        "{messages:?}"
    );
    let of_class =
        |class: &str| -> Vec<&Value> { events.iter().filter(|e| e["class"] == class).collect() };
    // The first refusal of a class at once, with its detail; the rest
    // counted in one line when the window closes (here: at shutdown).
    let unknown = of_class("unknown-policy");
    assert_eq!(unknown.len(), 2, "{messages:#?}");
    assert_eq!(unknown[0]["status"], 404);
    assert!(unknown[0]["message"].as_str().unwrap().contains("`nope`"));
    assert!(
        unknown[1]["message"]
            .as_str()
            .unwrap()
            .contains("2 more refused")
    );
    assert_eq!(of_class("malformed-json").len(), 1);
    // No line per decision.
    assert!(
        !messages
            .iter()
            .any(|m| m.contains("run_tool") || m.contains("decision")),
        "{messages:#?}"
    );
    assert_eq!(*messages.last().unwrap(), "stopped");
}

#[cfg(unix)]
#[test]
fn a_request_arriving_while_shutting_down_is_503_and_readiness_fails() {
    let server = Server::ampere();
    // Headers not yet complete when SIGTERM arrives: the request has not
    // started, so it is told to go elsewhere.
    let mut late = TcpStream::connect(&server.addr).unwrap();
    late.write_all(b"GET /v1/policies HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let mut probe = TcpStream::connect(&server.addr).unwrap();
    probe
        .write_all(b"GET /health/ready HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    // And one in flight, holding the server open meanwhile.
    let held = half_sent(&server.addr);
    std::thread::sleep(Duration::from_millis(300));
    server.signal("TERM");
    std::thread::sleep(Duration::from_millis(300));
    late.write_all(b"\r\n").unwrap();
    let answer = read_for(&mut late, Duration::from_secs(5));
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(
        answer.contains("urn:tollgate:problem:shutting-down"),
        "{answer}"
    );
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: 1"),
        "{answer}"
    );
    probe.write_all(b"\r\n").unwrap();
    let answer = read_for(&mut probe, Duration::from_secs(5));
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    drop(held);
    assert_eq!(server.terminate(), 0);
}

#[test]
fn when_the_owner_of_a_clashing_name_goes_the_other_source_is_served() {
    let (server, dir) = served_copy("poll_interval = \"1s\"");
    let copy_text = ampere_text("a copy");
    std::fs::write(dir.join("copy.policy"), &copy_text).unwrap();
    eventually("the clash reported", || {
        server
            .get("/v1/policies")
            .body
            .contains("also declares `policy ampere`")
    });
    // Several polls with the clash unchanged: told once.
    std::thread::sleep(Duration::from_millis(2500));
    std::fs::remove_file(dir.join("ampere.policy")).unwrap();
    eventually("the copy served once the name is free", || {
        served_revision(&server) == Some(rev(&copy_text))
    });
    let listed = server.get("/v1/policies").json();
    let policies = listed["policies"].as_array().unwrap();
    assert_eq!(policies.len(), 1, "{listed}");
    assert_eq!(policies[0]["last_error"], Value::Null, "{listed}");
    let log = server.log.lock().unwrap().clone();
    let clashes = log.iter().filter(|l| l.contains("also declares")).count();
    assert_eq!(clashes, 1, "{log:#?}");
    assert!(
        log.iter()
            .any(|l| l.contains("copy.policy") && l.contains("serving `ampere`")),
        "{log:#?}"
    );
}

#[cfg(unix)]
#[test]
fn sigterm_during_a_stream_of_requests_loses_no_answer_and_no_log_event() {
    let dir = tempdir();
    let path = dir.join("decisions.jsonl");
    let server = Server::start(&["policies/", "--decision-log", path.to_str().unwrap()]);
    let snapshot = snapshot_json("", "examples/dispute-debt.json");
    let body =
        json!({"snapshot": snapshot, "role": "member", "action": "send_message"}).to_string();
    let url = server.url("/v1/policies/ampere/decide");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (url, body, stop) = (url.clone(), body.clone(), std::sync::Arc::clone(&stop));
            std::thread::spawn(move || {
                // Each client keeps one connection alive while it can.
                let agent = agent();
                let (mut ids, mut unavailable) = (Vec::new(), 0);
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let sent = agent
                        .post(&url)
                        .header("Content-Type", "application/json")
                        .send(&body);
                    match sent {
                        Ok(_) => {
                            let a = answer(sent);
                            match a.status {
                                200 => {
                                    ids.push(a.json()["decision_id"].as_str().unwrap().to_owned())
                                }
                                503 => {
                                    a.problem(503, "shutting-down");
                                    unavailable += 1;
                                }
                                other => panic!("{other}: {}", a.body),
                            }
                        }
                        // Refused or closed before the request was taken:
                        // the server is gone; nothing was decided.
                        Err(_) => break,
                    }
                }
                (ids, unavailable)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let log = std::sync::Arc::clone(&server.log);
    assert_eq!(server.terminate(), 0);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut answered: Vec<String> = Vec::new();
    for client in clients {
        let (ids, _unavailable) = client.join().unwrap();
        answered.extend(ids);
    }
    assert!(answered.len() > 20, "too few decisions to mean anything");
    // Every decision answered is in the log, and the log holds no decision
    // whose answer was lost.
    let mut logged: Vec<String> = log_lines(&path)
        .iter()
        .map(|e| e["decision_id"].as_str().unwrap().to_owned())
        .collect();
    logged.sort();
    answered.sort();
    assert_eq!(logged, answered, "{:?}", log.lock().unwrap());
}

#[test]
fn every_layout_of_a_decide_body_answers_the_same_bytes() {
    // The usual layout is decided without reading the snapshot twice; any
    // other order, spacing or escape goes the careful way. Same answer.
    let server = Server::ampere();
    let snapshot = read("examples/dispute-debt.json");
    let bodies = [
        format!(r#"{{"snapshot": {snapshot}, "role": "owner", "action": "run_tool"}}"#),
        format!(
            "{{\n  \"snapshot\": {snapshot},\n  \"action\": \"run_tool\",\n  \"role\": \"owner\"\n}}\n"
        ),
        format!(r#"{{"role": "owner", "snapshot": {snapshot}, "action": "run_tool"}}"#),
        format!(r#"{{"snapshot": {snapshot}, "role": "own\u0065r", "action": "run_tool"}}"#),
        format!(
            r#"{{"snapshot": {snapshot}, "role": "owner", "action": "run_tool", "explain": false}}"#
        ),
    ];
    let answers: Vec<String> = bodies
        .iter()
        .map(|body| {
            let a = server.post("/v1/policies/ampere/decide", body);
            assert_eq!(a.status, 200, "{}", a.body);
            without_ids(&a.body, "policies/ampere.policy", true)
        })
        .collect();
    for a in &answers[1..] {
        assert_eq!(a, &answers[0]);
    }
    // A bad snapshot in the usual layout is reported with its place.
    let bad = format!(
        r#"{{"snapshot": {}, "role": "owner", "action": "run_tool"}}"#,
        snapshot.replacen("\"now\"", "\"nwo\"", 1)
    );
    let p = server
        .post("/v1/policies/ampere/decide", &bad)
        .problem(400, "bad-snapshot");
    assert!(
        p["errors"][0]["path"]
            .as_str()
            .unwrap()
            .starts_with("snapshot"),
        "{p}"
    );
    // A bad role too, with its suggestion.
    let bad = format!(r#"{{"snapshot": {snapshot}, "role": "ownr", "action": "run_tool"}}"#);
    let p = server
        .post("/v1/policies/ampere/decide", &bad)
        .problem(400, "unknown-role");
    assert!(p["detail"].as_str().unwrap().contains("owner"), "{p}");
}

fn evaluate(server: &Server, body: Value) -> Answer {
    server.post("/v1/playground/evaluate", &body.to_string())
}

#[test]
fn the_playground_decides_policy_text_as_the_command_line_does() {
    let server = Server::ampere();
    let policy = read("policies/ampere.policy");
    let snapshot = read("examples/dispute-debt.json");
    let a = evaluate(
        &server,
        json!({"policy": policy, "snapshot": snapshot, "role": "owner", "action": "run_tool",
               "compare_with": "ampere"}),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    let v = a.json();
    assert_eq!(v["policy"]["valid"], true);
    assert_eq!(v["policy"]["name"], "ampere");
    assert_eq!(v["snapshot"]["valid"], true);
    assert_eq!(v["request_error"], Value::Null);
    // The decision with its trace, as `decide --explain --format json`
    // prints it for a file named `policy`.
    let dir = tempdir();
    let file = dir.join("policy");
    std::fs::write(&file, &policy).unwrap();
    let snapshot_path = root().join("examples/dispute-debt.json");
    let cli = tollgate(&[
        "decide",
        file.to_str().unwrap(),
        "--snapshot",
        snapshot_path.to_str().unwrap(),
        "--role",
        "owner",
        "--action",
        "run_tool",
        "--explain",
        "--format",
        "json",
    ]);
    let mut expected: Value = serde_json::from_slice(&cli.stdout).unwrap();
    let mut got = v["decision"].clone();
    // The command line names the file as given; the playground's text is
    // named `policy`.
    for d in [&mut expected, &mut got] {
        let text = d.to_string().replace(file.to_str().unwrap(), "policy");
        *d = serde_json::from_str(&text).unwrap();
    }
    assert_eq!(got, expected);
    assert!(v["decision"]["trace"].is_array());
    // The served policy decides the same account the same way.
    assert_eq!(v["compare"]["policy"], "ampere");
    assert_eq!(
        v["compare"]["revision"],
        tollgate::serve::revision(policy.as_bytes())
    );
    assert_eq!(
        v["compare"]["decision"]["outcome"],
        v["decision"]["outcome"]
    );
    // The permission table, roles × actions.
    let permitted = v["description"]["permissions"]["member"]
        .as_array()
        .unwrap();
    assert!(permitted.contains(&json!("send_message")));
    assert!(!permitted.contains(&json!("buy_credits")));
}

#[test]
fn the_playground_reports_every_diagnostic_with_its_place_and_fix() {
    let server = Server::ampere();
    let policy = read("policies/ampere.policy").replace("permit member to", "permit membr to");
    let line = policy
        .lines()
        .position(|l| l.starts_with("permit membr"))
        .unwrap()
        + 1;
    let v = evaluate(
        &server,
        json!({"policy": policy, "snapshot": "{}", "role": "owner", "action": "run_tool"}),
    )
    .json();
    assert_eq!(v["policy"]["valid"], false);
    assert_eq!(v["description"], Value::Null);
    assert_eq!(v["snapshot"], Value::Null);
    assert_eq!(v["decision"], Value::Null);
    let unknown = v["policy"]["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["severity"] == "error")
        .unwrap()
        .clone();
    assert_eq!(unknown["start"]["line"], line, "{unknown}");
    assert_eq!(unknown["start"]["column"], 8, "{unknown}");
    assert_eq!(unknown["end"]["column"], 13, "{unknown}");
    assert_eq!(unknown["suggestion"], "member", "{unknown}");
    // Underlined at the kind alone, a debt kind's fix is the kind alone.
    let policy = read("policies/ampere.policy").replace(
        "resolve_dispute when debt.refund_dispute",
        "resolve_dispute when debt.refund_dispte",
    );
    let v = evaluate(&server, json!({"policy": policy, "snapshot": "{}"})).json();
    let d = &v["policy"]["diagnostics"][0];
    assert_eq!(d["help"], "did you mean `debt.refund_dispute`?", "{d}");
    assert_eq!(d["suggestion"], "refund_dispute", "{d}");
    // A bad snapshot, in TOML: its errors at the field, the decision held.
    let v = evaluate(
        &server,
        json!({"policy": read("policies/ampere.policy"),
               "snapshot": "now = \"2026-11-22T10:00:00Z\"\naccount = \"a\"\nsubscripton = 1\n",
               "snapshot_format": "toml", "role": "ownr", "action": "run_tool"}),
    )
    .json();
    assert_eq!(v["policy"]["valid"], true);
    assert_eq!(v["snapshot"]["valid"], false);
    let first = &v["snapshot"]["diagnostics"][0];
    assert_eq!(first["start"]["line"], 3, "{first}");
    assert_eq!(first["suggestion"], "subscription", "{first}");
    // A dotted TOML key is fixed at its last part, unquoted; a quoted one
    // keeps its quotes.
    for (key, fix) in [
        ("billing.paymentmethod", "payment_method"),
        ("billing.\"paymentmethod\"", "\"payment_method\""),
        ("billing.'paymentmethod'", "'payment_method'"),
    ] {
        let snapshot =
            format!("now = \"2026-11-22T10:00:00Z\"\naccount = \"a\"\n{key} = \"valid\"\n");
        let v = evaluate(
            &server,
            json!({"policy": read("policies/ampere.policy"), "snapshot": snapshot,
                   "snapshot_format": "toml"}),
        )
        .json();
        let d = &v["snapshot"]["diagnostics"][0];
        assert_eq!(d["suggestion"], fix, "{key}: {d}");
        let (from, to) = (
            d["start"]["offset"].as_u64().unwrap() as usize,
            d["end"]["offset"].as_u64().unwrap() as usize,
        );
        assert!(key.ends_with(&snapshot[from..to]), "{key}: {d}");
    }
    assert_eq!(v["decision"], Value::Null);
    // In JSON, a key's suggestion keeps its quotes and names the key alone,
    // not the field's whole path: it replaces exactly what is underlined.
    let snapshot =
        read("examples/dispute-debt.json").replace("\"payment_method\"", "\"paymentmethod\"");
    let v = evaluate(
        &server,
        json!({"policy": read("policies/ampere.policy"), "snapshot": snapshot}),
    )
    .json();
    let d = &v["snapshot"]["diagnostics"][0];
    let (from, to) = (
        d["start"]["offset"].as_u64().unwrap(),
        d["end"]["offset"].as_u64().unwrap(),
    );
    assert_eq!(&snapshot[from as usize..to as usize], "\"paymentmethod\"");
    assert_eq!(d["suggestion"], "\"payment_method\"", "{d}");
    assert_eq!(d["help"], "did you mean `billing.payment_method`?", "{d}");
    // With a valid snapshot, an unknown role is told with its near name.
    let v = evaluate(
        &server,
        json!({"policy": read("policies/ampere.policy"),
               "snapshot": read("examples/dispute-debt.json"), "role": "ownr", "action": "run_tool"}),
    )
    .json();
    assert!(
        v["request_error"]["message"]
            .as_str()
            .unwrap()
            .contains("did you mean `owner`"),
        "{v}"
    );
}

#[test]
fn the_playground_has_its_own_limits_and_can_be_turned_off() {
    let server = Server::ampere();
    let snapshot = read("examples/dispute-debt.json");
    let big = "// x\n".repeat(60_000);
    evaluate(&server, json!({"policy": big, "snapshot": snapshot})).problem(413, "too-large");
    evaluate(
        &server,
        json!({"policy": "policy p", "snapshot": "x".repeat((1 << 20) + 1)}),
    )
    .problem(413, "too-large");
    evaluate(
        &server,
        json!({"policy": "policy p", "snapshot": "{}", "rol": "x"}),
    )
    .problem(400, "bad-request");
    let off = Server::start(&["policies/", "--no-playground"]);
    evaluate(&off, json!({"policy": "policy p", "snapshot": "{}"})).problem(404, "not-found");
    off.get("/v1/playground/examples").problem(404, "not-found");
    off.get("/").problem(404, "not-found");
    off.get("/playground.js").problem(404, "not-found");
    // The decision API is unaffected.
    assert_eq!(off.get("/v1/policies/ampere").status, 200);
}

#[test]
fn the_playground_page_comes_from_the_binary_with_its_own_origin_only() {
    let server = Server::ampere();
    for (path, content_type, committed) in [
        ("/", "text/html; charset=utf-8", "web/dist/index.html"),
        (
            "/playground.js",
            "text/javascript; charset=utf-8",
            "web/dist/playground.js",
        ),
        (
            "/style.css",
            "text/css; charset=utf-8",
            "web/dist/style.css",
        ),
    ] {
        let r = agent().get(&server.url(path)).call().unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let headers = r.headers().clone();
        assert_eq!(headers["content-type"], content_type, "{path}");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'") && csp.contains("connect-src 'self'"));
        assert_eq!(headers["x-content-type-options"], "nosniff");
        let body = answer(Ok(r)).body;
        assert_eq!(body, read(committed), "{path} is not the committed bundle");
        // Revalidated by its tag: an unchanged file is not sent again.
        let tag = headers["etag"].to_str().unwrap();
        let again = agent()
            .get(&server.url(path))
            .header("If-None-Match", tag)
            .call()
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");
    }
    // The page loads nothing from another origin.
    let page = read("web/dist/index.html");
    assert!(!page.contains("http://") && !page.contains("https://"));
}

#[test]
fn the_examples_menu_offers_every_served_policy_and_shipped_account() {
    let server = Server::start(&["policies/"]);
    let a = server.get("/v1/playground/examples");
    assert_eq!(a.status, 200);
    let doc = a.json();
    let names: Vec<&str> = doc["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ampere", "api_platform", "messaging"]);
    for p in doc["policies"].as_array().unwrap() {
        let name = p["name"].as_str().unwrap();
        assert_eq!(p["text"], read(&format!("policies/{name}.policy")));
        let described = server.get(&format!("/v1/policies/{name}")).json();
        assert_eq!(p["revision"], described["revision"]);
    }
    // Each account, evaluated in the playground with its policy's text,
    // is decided as the served policy decides it.
    let accounts = doc["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 7);
    for account in accounts {
        let policy = account["policy"].as_str().unwrap();
        let text = doc["policies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == policy)
            .unwrap()["text"]
            .clone();
        let a = evaluate(
            &server,
            json!({
                "policy": text,
                "snapshot": account["text"],
                "snapshot_format": account["format"],
                "role": account["role"],
                "action": account["action"],
                "compare_with": policy,
            }),
        );
        assert_eq!(a.status, 200, "{}", a.body);
        let answer = a.json();
        let decision = &answer["decision"];
        assert!(decision["outcome"].is_string(), "{account}: {answer}");
        // The same decision but for where its lines are: `policy:175:3`
        // in the text sent, `policies/ampere.policy:175:3` when served.
        assert_eq!(
            without_sources(decision.clone()),
            without_sources(answer["compare"]["decision"].clone()),
            "{}",
            account["name"]
        );
    }
}

/// `value` without its `source` keys, wherever they are.
fn without_sources(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(k, _)| k != "source")
                .map(|(k, v)| (k, without_sources(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_sources).collect()),
        other => other,
    }
}

/// The server's threads now (Linux: /proc).
#[cfg(target_os = "linux")]
fn threads(server: &Server) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Single decisions whose body is too large to decide inline go to the
/// blocking pool, and no slot bounds them: 48 clients sending 450 KB
/// snapshots ran 40 blocking threads (tokio allows 512). The pool is
/// capped at `blocking_threads`; the rest wait their turn.
#[cfg(target_os = "linux")]
#[test]
fn many_large_single_decisions_run_on_a_bounded_pool() {
    let server = Server::ampere();
    let mut snapshot = snapshot_json("", "examples/dispute-debt.json");
    let grant = snapshot["grants"][0].clone();
    let grants: Vec<Value> = (0..3_000)
        .map(|i| {
            let mut g = grant.clone();
            g["id"] = json!(format!("g{i}"));
            g
        })
        .collect();
    snapshot["grants"] = json!(grants);
    let body = json!({"snapshot": snapshot, "role": "owner", "action": "run_tool"}).to_string();
    assert!(body.len() > 256 << 10, "{} bytes", body.len());
    let url = server.url("/v1/policies/ampere/decide");
    let clients: Vec<_> = (0..48)
        .map(|_| {
            let (url, body) = (url.clone(), body.clone());
            std::thread::spawn(move || {
                (0..2)
                    .map(|_| {
                        let sent = agent()
                            .post(&url)
                            .header("Content-Type", "application/json")
                            .send(&body);
                        answer(sent).status
                    })
                    .collect::<Vec<u16>>()
            })
        })
        .collect();
    let mut most = 0;
    while clients.iter().any(|c| !c.is_finished()) {
        most = most.max(threads(&server));
        std::thread::sleep(Duration::from_millis(5));
    }
    let answered: Vec<u16> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    assert!(answered.iter().all(|s| *s == 200), "{answered:?}");
    // The main thread, the file watcher, the runtime's workers and the
    // capped pool.
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let bound = 2 + workers + tollgate::serve::blocking_threads();
    assert!(most <= bound, "{most} threads at once, bound {bound}");
}

#[cfg(target_os = "linux")]
#[test]
fn many_clients_sending_batches_at_once_are_decided_a_few_at_a_time() {
    // Each batch is read and decided off the async threads; without a bound,
    // 2,000 clients sending batches took a gigabyte and 500 threads.
    // The bound is on threads, not time: a request time far past the
    // default lets the debug build on a loaded machine (two cores shared
    // with other test runs) answer its batches rather than time them out.
    let cfg = config("request_time = \"60s\"");
    let server = Server::start(&["--config", cfg.to_str().unwrap()]);
    let snapshot = snapshot_json("", "examples/dispute-debt.json");
    let item = json!({"snapshot": snapshot, "role": "owner", "action": "run_tool"});
    let body = json!({"requests": vec![item; 1_000]}).to_string();
    let before = threads(&server);
    let url = server.url("/v1/policies/ampere/decide/batch");
    let clients: Vec<_> = (0..48)
        .map(|_| {
            let (url, body) = (url.clone(), body.clone());
            std::thread::spawn(move || {
                let sent = agent()
                    .post(&url)
                    .header("Content-Type", "application/json")
                    .send(&body);
                let a = answer(sent);
                assert!(
                    a.status == 200 || a.status == 503,
                    "{}: {}",
                    a.status,
                    a.body
                );
                a.status
            })
        })
        .collect();
    let mut most = 0;
    while clients.iter().any(|c| !c.is_finished()) {
        most = most.max(threads(&server));
        std::thread::sleep(Duration::from_millis(5));
    }
    let answered: Vec<u16> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    assert!(
        answered.iter().filter(|s| **s == 200).count() >= 24,
        "{answered:?}"
    );
    // The main thread, the file watcher, the runtime's workers and at
    // most `blocking_threads` in its blocking pool (tokio's default is
    // 512). The pool keeps an idle thread for a while and does not always
    // reuse one that is just finishing, so the threads alive can outnumber
    // the batch slots (7 for 4 slots were seen) while the work running
    // never does: the slots bound that.
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let bound = 2 + workers + tollgate::serve::blocking_threads();
    assert!(
        most <= bound,
        "{most} threads at once, bound {bound} (started with {before})"
    );
}

#[test]
fn limits_past_their_maximum_are_refused_at_start_not_a_panic() {
    // Each would have reached tokio, an allocation or a timer: a semaphore
    // of more than 2^61 permits panicked (exit 101); the others served,
    // with a shutdown that could wait for years. The config's `addr` is
    // no address, so a limit let through stops the start at the bind.
    let over = [
        ("in_flight", "in_flight = 2305843009213693952"),
        ("in_flight", "in_flight = 18446744073709551615"),
        ("in_flight", "in_flight = 1000001"),
        ("body_bytes", "body_bytes = 1073741825"),
        ("batch_items", "batch_items = 100001"),
        ("request_time", "request_time = \"25h\""),
        ("header_read_time", "header_read_time = \"100000d\""),
        ("poll_interval", "poll_interval = \"2d\""),
    ];
    for (key, limit) in over {
        let cfg = config(limit);
        let out = tollgate(&["serve", "--config", cfg.to_str().unwrap()]);
        let err = crate::util::stderr(&out);
        assert_eq!(code(&out), 2, "{limit}: {err}");
        assert!(err.contains(&format!("`limits.{key}`")), "{limit}: {err}");
        assert!(err.contains("at most"), "{limit}: {err}");
        assert!(!err.contains("panicked"), "{limit}: {err}");
    }
    // The maximum itself is a limit like any other: the start goes on to
    // the (bad) address.
    let at = [
        "in_flight = 1000000",
        "body_bytes = 1073741824",
        "batch_items = 100000",
        "request_time = \"24h\"",
        "header_read_time = \"1d\"",
        "poll_interval = \"1440m\"",
    ];
    for limit in at {
        let cfg = config(limit);
        let out = tollgate(&["serve", "--config", cfg.to_str().unwrap()]);
        let err = crate::util::stderr(&out);
        assert_eq!(code(&out), 2, "{limit}: {err}");
        assert!(err.contains("cannot listen"), "{limit}: {err}");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_decision_log_that_cannot_be_written_counts_what_it_loses_and_warns_once() {
    // `/dev/full` takes the open and fails every write (ENOSPC).
    let server = Server::start(&["policies/", "--decision-log", "/dev/full"]);
    let body = json!({"snapshot": snapshot_json("", "examples/dispute-debt.json"),
                      "role": "owner", "action": "run_tool"})
    .to_string();
    for _ in 0..30 {
        assert_eq!(server.post("/v1/policies/ampere/decide", &body).status, 200);
    }
    let mut lost = None;
    eventually("30 lost events counted", || {
        lost = sample(
            &server.get("/metrics").body,
            "tollgate_decision_log_dropped_total",
        );
        lost == Some(30.0)
    });
    let log = std::sync::Arc::clone(&server.log);
    assert_eq!(server.terminate(), 0);
    std::thread::sleep(Duration::from_millis(200));
    let lines = log.lock().unwrap().clone();
    let warnings: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("WARN") && l.contains("decision log"))
        .collect();
    // Once at the first failure, not once per event; at most once more,
    // at shutdown, for what was lost since.
    assert!(!warnings.is_empty() && warnings.len() <= 2, "{lines:#?}");
    assert!(warnings[0].contains("/dev/full"), "{warnings:#?}");
    assert!(warnings[0].contains("lost"), "{warnings:#?}");
}

/// Client text with a line break that would forge a log line, and
/// characters a terminal or an editor would act on.
const FORGING: &str = "x\n2026-11-27T00:00:00.000000Z  INFO FORGED: paid\r\u{0}\u{7f}\u{85}\u{202e}evil\u{2028}\u{2066}\u{200f}\u{1b}[31m";

/// What no log line may hold raw.
fn raw_controls(line: &str) -> Vec<char> {
    line.chars()
        .filter(|c| {
            c.is_control()
                || matches!(
                    c,
                    '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{061c}'
                )
                || ('\u{202a}'..='\u{202e}').contains(c)
                || ('\u{2066}'..='\u{2069}').contains(c)
        })
        .collect()
}

/// Sends client text to every place the log quotes it: a role, an action,
/// a policy name in the path.
fn send_forgeries(server: &Server) {
    let snapshot = snapshot_json("", "examples/dispute-debt.json");
    server
        .post(
            "/v1/policies/ampere/decide",
            &json!({"snapshot": snapshot, "role": FORGING, "action": "run_tool"}).to_string(),
        )
        .problem(400, "unknown-role");
    server
        .post(
            "/v1/policies/ampere/decide",
            &json!({"snapshot": snapshot, "role": "owner", "action": FORGING}).to_string(),
        )
        .problem(400, "unknown-action");
    server
        .post(
            "/v1/policies/a%0A2026-11-27T00:00:00.000000Z%20%20INFO%20FORGED%E2%80%AE/decide",
            "{}",
        )
        .problem(404, "unknown-policy");
}

#[test]
fn client_text_cannot_forge_or_hide_a_human_log_line() {
    let server = Server::ampere();
    send_forgeries(&server);
    let log = std::sync::Arc::clone(&server.log);
    assert_eq!(server.terminate(), 0);
    std::thread::sleep(Duration::from_millis(200));
    let lines = log.lock().unwrap().clone();
    for line in &lines {
        // Every line is the server's: a timestamp it wrote, then a level.
        assert!(!line.starts_with("2026-11-27T00:00:00"), "{lines:#?}");
        assert!(raw_controls(line).is_empty(), "{line:?}");
    }
    let refused: Vec<&String> = lines.iter().filter(|l| l.contains("refused")).collect();
    assert_eq!(refused.len(), 3, "{lines:#?}");
    for line in refused {
        assert!(line.contains("FORGED"), "{line}");
        assert!(
            line.contains("x\\n2026") || line.contains("a\\n2026"),
            "{line}"
        );
        assert!(line.contains("\\u{202e}"), "{line}");
    }
}

#[test]
fn client_text_reaches_a_json_log_line_escaped() {
    let server = Server::start_with_log(&["policies/"], "json");
    send_forgeries(&server);
    let log = std::sync::Arc::clone(&server.log);
    assert_eq!(server.terminate(), 0);
    std::thread::sleep(Duration::from_millis(200));
    let lines = log.lock().unwrap().clone();
    let mut refused = 0;
    for line in &lines {
        assert!(raw_controls(line).is_empty(), "{line:?}");
        let event: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let message = event["message"].as_str().unwrap();
        // Decoded, the message still holds no control: a log viewer shows
        // what the client sent, not what it meant to do.
        assert!(raw_controls(message).is_empty(), "{message:?}");
        if message.contains("FORGED") {
            refused += 1;
            assert!(message.contains("\\u{202e}"), "{message}");
        }
    }
    assert_eq!(refused, 3, "{lines:#?}");
}
