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
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tollgate::Policy;

type Policies = Arc<HashMap<String, Policy>>;

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
        let policy = Policy::from_file(path).map_err(|e| format!("`{path}`: {e}"))?;
        policies.insert(policy.name().to_owned(), policy);
    }
    let app = Router::new()
        .route("/v1/policies/{policy}/decide", post(decide))
        .route("/echo", post(echo))
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
    let Some(policy) = policies.get(&name) else {
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
