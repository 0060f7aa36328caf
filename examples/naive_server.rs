//! The load benchmark's two reference servers (`benches/serve-load.sh`), on
//! the stack `tollgate serve` runs on: a tokio multi-thread runtime, axum,
//! and hyper-util's connection builder with the server's settings.
//!
//! - `POST /v1/policies/{policy}/decide`: the naive handler of issue 13. The
//!   body is parsed into a `serde_json::Value`, the snapshot is written out
//!   again and read with `snapshot_from_json`, then `decide` and `to_json`.
//!   No size or type checks, no layers: what a first version would do.
//! - `POST /echo`: answers the body it was sent, nothing else. This is the
//!   HTTP ceiling of the machine for a request of that size.
//! - `POST /v1/policies/{policy}/lean`: not a reference but a sketch of the
//!   changes docs/performance.md proposes for the server's handler, to
//!   measure what they would gain: the request read the way `decide --batch`
//!   reads a line (the snapshot found without parsing it twice), the
//!   `decision_id` and `policy_revision` appended to the decision's bytes
//!   without reformatting them, a UUIDv7 that costs no system call, and the
//!   headers read in place instead of copied. It runs under the server's
//!   limit layers and answers the server's bytes; its errors are plain text.
//!
//! ```sh
//! cargo run --release --example naive_server -- policies/ampere.policy --addr 127.0.0.1:0
//! ```
//!
//! The bound address is printed on standard error as `tollgate serve` prints
//! it: `naive_server: listening on http://127.0.0.1:PORT`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tollgate::Policy;

/// Each policy with its revision (SHA-256 of its text, hex).
type Policies = Arc<HashMap<String, (Policy, String)>>;

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("naive_server: {message}");
            std::process::ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let mut addr = "127.0.0.1:0".to_owned();
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--addr" {
            addr = args.next().ok_or("`--addr` needs HOST:PORT")?;
        } else {
            paths.push(arg);
        }
    }
    if paths.is_empty() {
        return Err("usage: naive_server POLICY_FILE... [--addr HOST:PORT]".to_owned());
    }
    let mut policies = HashMap::new();
    for path in &paths {
        let text = std::fs::read(path).map_err(|e| format!("`{path}`: {e}"))?;
        let policy = Policy::from_file(path).map_err(|e| format!("`{path}`: {e}"))?;
        policies.insert(policy.name().to_owned(), (policy, revision(&text)));
    }
    // The sketch runs under the server's limit layers (src/serve/routes.rs),
    // so that it differs from the server in its handler only.
    let limited = Router::new()
        .route("/v1/policies/{policy}/lean", post(lean))
        .layer(
            tower::ServiceBuilder::new()
                .layer(HandleErrorLayer::new(|_: tower::BoxError| async {
                    StatusCode::SERVICE_UNAVAILABLE
                }))
                .load_shed()
                .concurrency_limit(1_024)
                .timeout(Duration::from_secs(5)),
        );
    let app = Router::new()
        .route("/v1/policies/{policy}/decide", post(decide))
        .route("/echo", post(echo))
        .merge(limited)
        .with_state(Arc::new(policies));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .map_err(|e| format!("cannot listen on `{addr}`: {e}"))?;
        let bound = listener.local_addr().map_err(|e| e.to_string())?;
        eprintln!("naive_server: listening on http://{bound}");
        serve(listener, app).await;
        Ok(())
    })
}

/// The accept loop of `tollgate serve` (src/serve.rs, `serve`), without its
/// signal handling: the same builder settings, `TCP_NODELAY`, one task per
/// connection and the graceful-shutdown watch, so that only the handlers
/// differ.
async fn serve(listener: tokio::net::TcpListener, app: Router) {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::service::TowerToHyperService;

    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
        let conn = graceful.watch(conn.into_owned());
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
}

async fn echo(body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn bad(message: String) -> Response {
    (StatusCode::BAD_REQUEST, message + "\n").into_response()
}

async fn decide(
    State(policies): State<Policies>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let Some((policy, _)) = policies.get(&name) else {
        return (StatusCode::NOT_FOUND, "no such policy\n").into_response();
    };
    let request: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad(e.to_string()),
    };
    let field = |key: &str| request.get(key).and_then(serde_json::Value::as_str);
    let (Some(snapshot), Some(role), Some(action)) =
        (request.get("snapshot"), field("role"), field("action"))
    else {
        return bad("`snapshot`, `role` and `action` are required".to_owned());
    };
    let text = match serde_json::to_string(snapshot) {
        Ok(t) => t,
        Err(e) => return bad(e.to_string()),
    };
    let account = match policy.snapshot_from_json(&text) {
        Ok(a) => a,
        Err(e) => return bad(e.to_string()),
    };
    let resolved = match policy.request(role, action) {
        Ok(r) => r,
        Err(e) => return bad(e.to_string()),
    };
    let json = policy.decide(&account, &resolved).and_then(|d| d.to_json());
    match json {
        Ok(mut text) => {
            text.push('\n');
            ([(header::CONTENT_TYPE, "application/json")], text).into_response()
        }
        Err(e) => bad(e.to_string()),
    }
}

fn revision(text: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn lean(
    State(policies): State<Policies>,
    Path(name): Path<String>,
    request: axum::extract::Request,
) -> Response {
    let Some((policy, revision)) = policies.get(&name) else {
        return (StatusCode::NOT_FOUND, "no such policy\n").into_response();
    };
    // The server's checks, reading the headers in place (the `HeaderMap`
    // extractor copies them).
    let (parts, body) = request.into_parts();
    if !is_json(&parts.headers) {
        return (StatusCode::UNSUPPORTED_MEDIA_TYPE, "not JSON\n").into_response();
    }
    let Ok(body) = axum::body::to_bytes(body, 1 << 20).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "too large\n").into_response();
    };
    let Some((snapshot, role, action)) = std::str::from_utf8(&body).ok().and_then(usual_layout)
    else {
        return bad("not the usual layout: the server would read it with serde".to_owned());
    };
    let account = match policy.snapshot_from_json(snapshot) {
        Ok(a) => a,
        Err(e) => return bad(e.to_string()),
    };
    let resolved = match policy.request(role, action) {
        Ok(r) => r,
        Err(e) => return bad(e.to_string()),
    };
    let json = policy
        .decide(&account, &resolved)
        .and_then(|d| d.to_json_pretty());
    let mut text = match json {
        Ok(t) => t,
        Err(e) => return bad(e.to_string()),
    };
    // The server's bytes: the keys after the last member, in its layout.
    let end = text.trim_end().trim_end_matches('}').trim_end().len();
    text.truncate(end);
    let mut id = [0u8; 36];
    text.push_str(",\n  \"decision_id\": \"");
    text.push_str(uuid_v7().hyphenated().encode_lower(&mut id));
    text.push_str("\",\n  \"policy_revision\": \"");
    text.push_str(revision);
    text.push_str("\"\n}\n");
    ([(header::CONTENT_TYPE, "application/json")], text).into_response()
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

/// `{"snapshot": S, "role": "R", "action": "A"}` with plain strings: the
/// snapshot's text, the role and the action, found from the ends of the
/// body without reading the snapshot (what `decide --batch` does per line).
fn usual_layout(body: &str) -> Option<(&str, &str, &str)> {
    let rest = body.trim().strip_prefix('{')?.trim_start();
    let rest = rest.strip_prefix("\"snapshot\"")?.trim_start();
    let rest = rest.strip_prefix(':')?;
    let rest = rest.strip_suffix('}')?;
    let (rest, action) = last_member(rest, "action")?;
    let (snapshot, role) = last_member(rest, "role")?;
    Some((snapshot.trim(), role, action))
}

/// `text` ending in `, "key": "value"`: the text before it and the value.
fn last_member<'a>(text: &'a str, key: &str) -> Option<(&'a str, &'a str)> {
    let text = text.trim_end().strip_suffix('"')?;
    let open = text.rfind('"')?;
    let value = text.get(open + 1..)?;
    if value.contains('\\') {
        return None;
    }
    let rest = text.get(..open)?.trim_end().strip_suffix(':')?.trim_end();
    let rest = rest
        .strip_suffix('"')?
        .strip_suffix(key)?
        .strip_suffix('"')?;
    let rest = rest.trim_end().strip_suffix(',')?;
    Some((rest, value))
}

/// A UUIDv7 from the clock and a per-thread xorshift generator, seeded
/// once: no `getrandom` system call per decision.
fn uuid_v7() -> uuid::Uuid {
    use std::cell::Cell;
    use std::hash::{BuildHasher, Hasher};
    thread_local! {
        static STATE: Cell<u64> = Cell::new(
            std::collections::hash_map::RandomState::new().build_hasher().finish() | 1,
        );
    }
    let mut random = [0u8; 10];
    STATE.with(|state| {
        let mut x = state.get();
        for chunk in random.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let bytes = x.to_le_bytes();
            for (to, from) in chunk.iter_mut().zip(bytes) {
                *to = from;
            }
        }
        state.set(x);
    });
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
}
