//! The endpoints of server.md and the tower layers that hold the limits.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{FromRequestParts, MatchedPath, Path, Request, State as Shared};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower::ServiceBuilder;

use super::body::{self, Part};
use super::log::DecisionLog;
use super::problem::{Problem, Refused};
use super::{Served, State, catalog};
use crate::{LedgerResult, Policy};

type App = Arc<State>;

pub fn router(state: App) -> Router {
    let limits = state.limits;
    let mut v1 = Router::new();
    if limits.playground {
        v1 = v1
            .route("/v1/playground/evaluate", post(playground))
            .route("/v1/playground/examples", get(examples));
    }
    let v1 = v1
        .route("/v1/policies", get(list))
        .route("/v1/reload", post(reload))
        .route("/v1/policies/{policy}", get(describe))
        .route("/v1/policies/{policy}/decide", post(decide))
        .route("/v1/policies/{policy}/decide/batch", post(batch))
        .route("/v1/policies/{policy}/charge", post(charge))
        .route("/v1/policies/{policy}/settle", post(settle))
        .route("/v1/policies/{policy}/grant", post(grant))
        .route("/v1/policies/{policy}/refund", post(refund))
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(refused))
                // Over the in-flight limit, a request is refused at once
                // (503, `Retry-After`), never queued without bound.
                .load_shed()
                .concurrency_limit(limits.in_flight)
                .timeout(limits.request_time),
        );
    // The page's files are outside the limits too: they are constant bytes.
    let mut page = Router::new();
    if limits.playground {
        use super::page::{index, script, style};
        page = page
            .route("/", get(index))
            .route("/playground.js", get(script))
            .route("/style.css", get(style));
    }
    // Health probes are outside the limits: an overloaded server is alive,
    // and a probe refused for load would get it restarted.
    Router::new()
        .merge(v1)
        .merge(page)
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/v1/openapi.json", get(openapi))
        .fallback(|| async { Problem::not_found("no such path".to_owned()) })
        .method_not_allowed_fallback(|| async { Problem::method_not_allowed() })
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            observe,
        ))
        .with_state(state)
}

/// Every route's template, as the metrics label it.
const ROUTES: [&str; 18] = [
    "/v1/playground/evaluate",
    "/v1/playground/examples",
    "/",
    "/playground.js",
    "/style.css",
    "/v1/policies",
    "/v1/reload",
    "/v1/policies/{policy}",
    "/v1/policies/{policy}/decide",
    "/v1/policies/{policy}/decide/batch",
    "/v1/policies/{policy}/charge",
    "/v1/policies/{policy}/settle",
    "/v1/policies/{policy}/grant",
    "/v1/policies/{policy}/refund",
    "/health/live",
    "/health/ready",
    "/metrics",
    "/v1/openapi.json",
];

/// Around every request: the in-flight gauge, the duration histogram by
/// route template and status, refusals counted and told in the log, and
/// 503 for new API requests once the server is shutting down.
async fn observe(Shared(app): Shared<App>, request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .and_then(|m| ROUTES.iter().find(|r| **r == m.as_str()))
        .copied()
        .unwrap_or("unmatched");
    let _in_flight = app.metrics.start();
    let response = if route.starts_with("/v1/")
        && app.shutting_down.load(std::sync::atomic::Ordering::Relaxed)
    {
        let mut r = Problem::unavailable(
            "shutting-down",
            "The server is shutting down",
            "the server is stopping; send the request to another replica".to_owned(),
        )
        .into_response();
        r.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        r
    } else {
        next.run(request).await
    };
    let status = response.status().as_u16();
    app.metrics
        .answered(route, status, started.elapsed().as_secs_f64());
    if let Some(refused) = response.extensions().get::<Refused>() {
        app.metrics.refused(&refused.class);
        app.refusals.note(&refused.class, status, &refused.detail);
    }
    response
}

async fn metrics(Shared(app): Shared<App>) -> Response {
    let mut r = (StatusCode::OK, app.metrics.render()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(super::metrics::CONTENT_TYPE),
    );
    r
}

/// The OpenAPI 3.1 description of every route here (tests/serve.rs
/// checks that it lists each of them).
const OPENAPI: &str = include_str!("openapi.json");

async fn openapi() -> Response {
    let content_type = [(header::CONTENT_TYPE, "application/json")];
    (StatusCode::OK, content_type, OPENAPI).into_response()
}

/// What the limit layers refuse: overload, and a request over its time.
async fn refused(e: tower::BoxError) -> Problem {
    if e.is::<tower::load_shed::error::Overloaded>() {
        Problem::unavailable(
            "overloaded",
            "The server is overloaded",
            "too many requests in flight; retry later".to_owned(),
        )
    } else if e.is::<tower::timeout::error::Elapsed>() {
        // server.md lists no status for the time limit; a request that
        // could not be answered in time is the server's overload, not the
        // client's mistake: 503 with `Retry-After`.
        Problem::unavailable(
            "timeout",
            "The request took too long",
            "the request was not answered within the time limit".to_owned(),
        )
    } else {
        Problem::unavailable("unavailable", "The server cannot answer", e.to_string())
    }
}

/// The `{policy}` of a path. A name that is not UTF-8 names no policy:
/// 404 as a problem, not axum's plain-text 400.
struct Name(String);

impl<S: Send + Sync> FromRequestParts<S> for Name {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Name, Problem> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(name)) => Ok(Name(name)),
            Err(e) => {
                let mut p = Problem::no_policy("");
                p.detail = format!("the path names no policy: {}", e.body_text());
                Err(p)
            }
        }
    }
}

/// The policy served under `name` now: the request is decided wholly by
/// this revision, whatever a reload swaps in meanwhile.
fn served(app: &App, name: &str) -> Result<Arc<Served>, Problem> {
    app.catalog
        .load()
        .policy(name)
        .ok_or_else(|| Problem::no_policy(name))
}

fn json(status: StatusCode, text: String) -> Response {
    let mut r = (status, text).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn respond(result: Result<String, Problem>) -> Response {
    match result {
        Ok(text) => json(StatusCode::OK, text),
        Err(p) => p.into_response(),
    }
}

async fn live() -> Response {
    json(StatusCode::OK, "{\"status\":\"live\"}\n".to_owned())
}

/// Ready once every source has loaded successfully at least once.
async fn ready(Shared(app): Shared<App>) -> Response {
    if app.shutting_down.load(std::sync::atomic::Ordering::Relaxed) {
        Problem::unavailable(
            "shutting-down",
            "The server is shutting down",
            "the server is stopping; take it out of rotation".to_owned(),
        )
        .into_response()
    } else if app.catalog.load().ready() {
        json(StatusCode::OK, "{\"status\":\"ready\"}\n".to_owned())
    } else {
        Problem::unavailable(
            "not-ready",
            "Not ready",
            "a policy source has not loaded successfully yet; see GET /v1/policies".to_owned(),
        )
        .into_response()
    }
}

fn warnings(s: &Served) -> Vec<serde_json::Value> {
    s.policy
        .warnings()
        .items
        .iter()
        .map(|d| {
            let at = s.policy.warnings().source.line_col(d.span.start);
            serde_json::json!({
                "code": d.code.qualified(),
                "message": d.message,
                "line": at.line,
                "column": at.col,
            })
        })
        .collect()
}

/// One source as `GET /v1/policies` lists it.
fn summary(path: &std::path::Path, source: &catalog::Source) -> serde_json::Value {
    let served = source.served.as_deref();
    serde_json::json!({
        "name": served.map(|s| s.policy.name()),
        "revision": served.map(|s| s.revision.as_str()),
        "source": path.display().to_string(),
        "loaded_at": served.map(|s| s.loaded_at.as_str()),
        "warnings": served.map(warnings).unwrap_or_default(),
        "last_error": source.last_error.as_ref().map(|e| e.json.clone()),
    })
}

fn listing(catalog: &catalog::Catalog) -> Response {
    let policies: Vec<_> = catalog
        .sources
        .iter()
        .map(|(path, source)| summary(path, source))
        .collect();
    let text = serde_json::to_string_pretty(&serde_json::json!({ "policies": policies }));
    json(StatusCode::OK, text.unwrap_or_default() + "\n")
}

async fn list(Shared(app): Shared<App>) -> Response {
    listing(&app.catalog.load())
}

/// Reads every source again now; answers like `GET /v1/policies`.
async fn reload(Shared(app): Shared<App>) -> Response {
    listing(&*app.reload(catalog::Look::Everything).await)
}

async fn describe(Shared(app): Shared<App>, Name(name): Name) -> Response {
    let catalog = app.catalog.load();
    respond(served(&app, &name).map(|s| {
        let p = s.policy.program();
        let path = std::path::PathBuf::from(&s.source);
        let mut doc = match catalog.sources.get(&path) {
            Some(source) => summary(&path, source),
            None => serde_json::json!({ "name": s.policy.name(), "revision": s.revision }),
        };
        if let Some(map) = doc.as_object_mut() {
            map.extend(super::describe::policy(p));
        }
        serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
    }))
}

/// The served policies and the example accounts, for the page's menu.
async fn examples(Shared(app): Shared<App>) -> Response {
    json(StatusCode::OK, super::page::examples(&app.catalog.load()))
}

/// `POST /v1/playground/evaluate` (super::playground): off the async
/// threads, at most `MAX_AT_ONCE` at a time, under the request time limit.
async fn playground(Shared(app): Shared<App>, request: Request) -> Response {
    use super::playground::{self, Compare};
    let (parts, body) = request.into_parts();
    let result = async {
        let bytes = body::read(&parts.headers, body, playground::MAX_BODY_BYTES).await?;
        let Ok(slot) = Arc::clone(&app.playground_slots).try_acquire_owned() else {
            return Err(Problem::unavailable(
                "overloaded",
                "The server is overloaded",
                format!(
                    "the playground evaluates {} requests at once; retry later",
                    playground::MAX_AT_ONCE
                ),
            ));
        };
        let app = Arc::clone(&app);
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let request: playground::Evaluate = body::parse(&bytes, body::whole(&bytes)?, "")?;
            playground::check_sizes(&request)?;
            let catalog = app.catalog.load();
            let served = request
                .compare_with
                .as_deref()
                .map(|name| (name, catalog.policy(name)));
            let compare = served.as_ref().map(|(name, s)| Compare {
                name,
                revision: s.as_ref().map_or("", |s| s.revision.as_str()),
                policy: s.as_ref().map(|s| &s.policy),
            });
            playground::evaluate(&request, compare)
        })
        .await
        .unwrap_or_else(|_| {
            Err(Problem::unavailable(
                "unavailable",
                "The server cannot answer",
                "evaluating this request failed inside the server".to_owned(),
            ))
        })
    };
    respond(result.await)
}

/// Bodies larger than this are decided off the async threads.
const INLINE_BODY_BYTES: usize = 64 << 10;

/// Runs `work` on the blocking pool when the body is large, inline otherwise.
async fn off_thread(
    size: usize,
    work: impl FnOnce() -> Result<String, Problem> + Send + 'static,
) -> Result<String, Problem> {
    if size <= INLINE_BODY_BYTES {
        return work();
    }
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|_| {
        // The library does not panic; should it, the client hears why.
        Err(Problem::unavailable(
            "unavailable",
            "The server cannot answer",
            "deciding this request failed inside the server".to_owned(),
        ))
    })
}

async fn decide(Shared(app): Shared<App>, Name(name): Name, request: Request) -> Response {
    // The headers are moved out of the request, not cloned (as axum's
    // `HeaderMap` extractor would).
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    let result = async {
        let served = served(&app, &name)?;
        let bytes = body::read(&headers, body, app.limits.body_bytes).await?;
        off_thread(bytes.len(), move || {
            let usual = std::str::from_utf8(&bytes)
                .ok()
                .and_then(|text| decide_usual(&served, &app, text, true));
            if let Some(mut text) = usual {
                text.push('\n');
                return Ok(text);
            }
            let part = body::whole(&bytes)?;
            let request: body::Decide<'_> = body::parse(&bytes, part, "")?;
            let mut text = decide_one(
                &served,
                &app.metrics,
                app.log.as_ref(),
                &bytes,
                &request,
                "",
            )?;
            text.push('\n');
            Ok(text)
        })
        .await
    };
    respond(result.await)
}

/// A request in the usual layout, `{"snapshot": S, "role": "r",
/// "action": "a"}`, decided without reading S twice (`crate::usual`), as
/// `decide_one` would decide it. `None` for anything else, and for any
/// error, which the careful way then reports with its place.
fn decide_usual(served: &Served, app: &State, text: &str, pretty: bool) -> Option<String> {
    if text.starts_with('\u{feff}') {
        return None;
    }
    let (snapshot, role, action) = crate::usual::layout(text)?;
    let started = std::time::Instant::now();
    let policy = &served.policy;
    let resolved = policy.request(role, action).ok()?;
    let account = policy
        .snapshot("snapshot", snapshot, crate::Format::Json, None)
        .ok()?;
    let decision = policy.decide(&account, &resolved).ok()?;
    let decided = Decided {
        served,
        decision: &decision,
        account: &account,
        snapshot,
        started,
    };
    answer(&decided, &app.metrics, app.log.as_ref(), pretty).ok()
}

/// A decision made, with what its answer and its log event are built from.
struct Decided<'a, 'p> {
    served: &'a Served,
    decision: &'a crate::Decision<'p>,
    account: &'a crate::Account,
    /// The snapshot's text, as sent.
    snapshot: &'a str,
    started: std::time::Instant,
}

/// A decision's answer: its JSON (indented as `tollgate decide` prints
/// it, or on one line as `--batch` does) with `decision_id` and
/// `policy_revision` added. Only a decision that is answered is counted
/// and logged.
fn answer(
    d: &Decided<'_, '_>,
    metrics: &super::metrics::Metrics,
    log: Option<&DecisionLog>,
    pretty: bool,
) -> Result<String, crate::EvalError> {
    let mut out = if pretty {
        d.decision.to_json_pretty()
    } else {
        d.decision.to_json()
    }?;
    d.served.outcomes(metrics).count(d.decision.outcome());
    let id = decision_id();
    if let Some(log) = log {
        log.record(event(d, &id, log.snapshots));
    }
    add_keys(&mut out, &id, &d.served.revision, pretty);
    Ok(out)
}

/// One decision: the command line's JSON (indented as `tollgate decide`
/// prints it, or on one line as `--batch` does), then `decision_id` and
/// `policy_revision`. `place` prefixes field paths (`requests[3]`).
fn decide_one(
    served: &Served,
    metrics: &super::metrics::Metrics,
    log: Option<&DecisionLog>,
    body: &[u8],
    request: &body::Decide<'_>,
    place: &str,
) -> Result<String, Problem> {
    let started = std::time::Instant::now();
    let policy = &served.policy;
    let under = |field: &str| {
        if place.is_empty() {
            field.to_owned()
        } else {
            format!("{place}.{field}")
        }
    };
    let now = body::time(request.now.as_deref(), &under("now"))?;
    let resolved = policy
        .request(&request.role, &request.action)
        .map_err(|e| {
            let (kind, title, field) = match e {
                crate::RequestError::UnknownRole { .. } => ("unknown-role", "Unknown role", "role"),
                crate::RequestError::UnknownAction { .. } => {
                    ("unknown-action", "Unknown action", "action")
                }
            };
            Problem::bad_request(kind, title, e.to_string()).at(kind, &under(field), None)
        })?;
    let account = account(
        policy,
        body,
        Part::of(body, request.snapshot),
        &under("snapshot"),
        now,
    )?;
    let decision = if request.explain {
        policy.decide_explained(&account, &resolved)
    } else {
        policy.decide(&account, &resolved)
    };
    let evaluation = |e: crate::EvalError| {
        Problem::bad_request(
            "evaluation-failed",
            "The policy could not evaluate this account",
            e.to_string(),
        )
    };
    let decision = decision.map_err(evaluation)?;
    let decided = Decided {
        served,
        decision: &decision,
        account: &account,
        snapshot: request.snapshot.get(),
        started,
    };
    answer(&decided, metrics, log, place.is_empty()).map_err(evaluation)
}

/// A decision's key: a UUIDv7 (time-ordered, so log keys sort by time)
/// whose 74 random bits come from a per-thread SipHash of a counter under
/// keys the operating system seeds once per thread, not from a system call
/// per decision. Unique, not secret: nothing is authorised by knowing one.
fn decision_id() -> uuid::Uuid {
    use std::cell::Cell;
    use std::hash::{BuildHasher, Hasher};
    thread_local! {
        static KEYS: std::collections::hash_map::RandomState =
            std::collections::hash_map::RandomState::new();
        static COUNTER: Cell<u64> = const { Cell::new(0) };
    }
    let n = COUNTER.with(|c| {
        let n = c.get().wrapping_add(1);
        c.set(n);
        n
    });
    let random = KEYS.with(|keys| {
        let half = |salt: u64| {
            let mut h = keys.build_hasher();
            h.write_u64(n);
            h.write_u64(salt);
            h.finish().to_le_bytes()
        };
        let (a, b) = (half(0), half(1));
        let mut bytes = [0u8; 10];
        for (to, from) in bytes.iter_mut().zip(a.iter().chain(b.iter())) {
            *to = *from;
        }
        bytes
    });
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
}

/// A decision log event (server.md's fields), on one line.
fn event(d: &Decided<'_, '_>, id: &uuid::Uuid, with_snapshot: bool) -> String {
    let Decided {
        served,
        decision,
        account,
        snapshot,
        started,
    } = d;
    let mut event = serde_json::json!({
        "decision_id": id.to_string(),
        "time": super::clock(true),
        "policy": served.policy.name(),
        "revision": served.revision,
        "role": decision.role(),
        "action": decision.action(),
        "account": account.id,
        "outcome": decision.outcome().as_str(),
        "state": decision.state(),
        "reasons": decision.reason_codes().collect::<Vec<_>>(),
        "next_steps": decision.next_step_codes().collect::<Vec<_>>(),
        "warnings": decision.warning_codes().collect::<Vec<_>>(),
        "effects": decision.effect_codes().collect::<Vec<_>>(),
        "duration_us": u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
    });
    if with_snapshot {
        // Parsed again so that a snapshot sent across lines is one line.
        let value: serde_json::Value = serde_json::from_str(snapshot).unwrap_or_default();
        if let Some(map) = event.as_object_mut() {
            map.insert("snapshot".to_owned(), value);
        }
    }
    event.to_string()
}

/// `decision_id` and `policy_revision` added at the end of a decision's
/// JSON object, in its layout (indented as `tollgate decide` prints it, or
/// on one line as `--batch` does): the command line's bytes stay as they
/// are before them. Both values are plain ASCII (hex and hyphens).
fn add_keys(json: &mut String, id: &uuid::Uuid, revision: &str, pretty: bool) {
    let Some(end) = json.rfind('}') else {
        return;
    };
    json.truncate(json.get(..end).map_or(end, |head| head.trim_end().len()));
    let mut buffer = uuid::Uuid::encode_buffer();
    let id = id.hyphenated().encode_lower(&mut buffer);
    if pretty {
        json.push_str(",\n  \"decision_id\": \"");
        json.push_str(id);
        json.push_str("\",\n  \"policy_revision\": \"");
        json.push_str(revision);
        json.push_str("\"\n}");
    } else {
        json.push_str(",\"decision_id\":\"");
        json.push_str(id);
        json.push_str("\",\"policy_revision\":\"");
        json.push_str(revision);
        json.push_str("\"}");
    }
}

fn account(
    policy: &Policy,
    body: &[u8],
    snapshot: Part<'_>,
    place: &str,
    now: Option<crate::Timestamp>,
) -> Result<crate::Account, Problem> {
    policy
        .snapshot(place, snapshot.text, crate::Format::Json, now)
        .map_err(|e| Problem::bad_snapshot(&e, place, body, snapshot.offset))
}

async fn batch(Shared(app): Shared<App>, Name(name): Name, request: Request) -> Response {
    // The headers are moved out of the request, not cloned (as axum's
    // `HeaderMap` extractor would).
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    let limit = app.limits.batch_items;
    let result = async {
        let served = served(&app, &name)?;
        // A slot first, then the body: a batch waiting for its turn holds
        // no memory, so batches in flight hold at most `batch_slots` bodies
        // and answers however many clients send them. The wait is bounded
        // by the request time limit (503 `timeout`).
        let slot = Arc::clone(&app.batch_slots)
            .acquire_owned()
            .await
            .map_err(|_| {
                Problem::unavailable(
                    "unavailable",
                    "The server cannot answer",
                    "the server is stopping".to_owned(),
                )
            })?;
        let bytes = body::read(&headers, body, app.limits.body_bytes).await?;
        // A batch is up to a thousand decisions: always off the async threads.
        let app = Arc::clone(&app);
        tokio::task::spawn_blocking(move || {
            decide_batch(&served, &app, &bytes, limit).map(|text| (text, slot))
        })
        .await
        .unwrap_or_else(|_| {
            Err(Problem::unavailable(
                "unavailable",
                "The server cannot answer",
                "deciding this batch failed inside the server".to_owned(),
            ))
        })
    };
    match result.await {
        Ok((text, slot)) => {
            let body = Body::new(SlotBody {
                text: text.into(),
                slot: Some(slot),
            });
            let mut r = (StatusCode::OK, body).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            r
        }
        Err(p) => p.into_response(),
    }
}

/// The largest piece of a batch's answer handed to the connection at once.
const ANSWER_PIECE: usize = 64 << 10;

/// A batch's answer, handed to the connection a piece at a time while it
/// holds the batch's slot. The connection takes the next piece only when
/// its write buffer has room, so the slot is given back once the answer is
/// nearly written: answers waiting for slow readers count against the
/// slots too. Without this, 2,000 connections sending batches piled up
/// decided answers (a megabyte each) faster than wrk read them, and the
/// server held 735 MB.
struct SlotBody {
    text: axum::body::Bytes,
    slot: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl axum::body::HttpBody for SlotBody {
    type Data = axum::body::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        let body = &mut *self;
        if body.text.is_empty() {
            body.slot = None;
            return std::task::Poll::Ready(None);
        }
        let piece = body.text.split_to(body.text.len().min(ANSWER_PIECE));
        if body.text.is_empty() {
            body.slot = None;
        }
        std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(piece))))
    }

    fn is_end_stream(&self) -> bool {
        self.text.is_empty()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.text.len() as u64)
    }
}

fn decide_batch(
    served: &Served,
    app: &State,
    bytes: &[u8],
    limit: usize,
) -> Result<String, Problem> {
    let part = body::whole(bytes)?;
    let batch: body::Batch<'_> = body::parse(bytes, part, "")?;
    if batch.requests.len() > limit {
        return Err(Problem::too_large(format!(
            "the batch has {} requests; at most {limit} are decided in one batch",
            batch.requests.len()
        )));
    }
    let mut out = String::with_capacity(batch.requests.len() * 1024 + 16);
    out.push_str("{\"results\":[");
    for (i, raw) in batch.requests.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if let Some(text) = decide_usual(served, app, raw.get(), false) {
            out.push_str(&text);
            continue;
        }
        let place = format!("requests[{i}]");
        let item = body::parse::<body::Decide<'_>>(bytes, Part::of(bytes, raw), &place).and_then(
            |request| {
                decide_one(
                    served,
                    &app.metrics,
                    app.log.as_ref(),
                    bytes,
                    &request,
                    &place,
                )
            },
        );
        match item {
            Ok(text) => out.push_str(&text),
            Err(p) => out.push_str(&serde_json::json!({ "error": p.to_value() }).to_string()),
        }
    }
    out.push_str("]}\n");
    Ok(out)
}

/// A ledger operation's answer: the ledger JSON the command line prints. A
/// refusal by the policy is an answer, not a request error: 200 with
/// `"outcome": "refused"` (server.md is silent; the command line exits 3,
/// which is not a failure of the request either).
fn ledger(
    policy: &Policy,
    result: Result<LedgerResult, crate::LedgerError>,
    explain: bool,
    part_field: impl Fn(&'static str) -> &'static str,
) -> Result<String, Problem> {
    let result = result.map_err(|e| {
        let path = match e.request_part() {
            Some(flag) => part_field(flag),
            None => "snapshot",
        };
        let (kind, title) = if e.is_policy_error() {
            (
                "policy-cannot-apply",
                "The policy cannot apply this operation",
            )
        } else {
            ("bad-request", "The request is not valid")
        };
        Problem::bad_request(kind, title, e.to_string()).at(kind, path, None)
    })?;
    // Applied or refused alike, the answer is the ledger JSON and a 200:
    // `result.outcome` is in it.
    let text = if explain {
        policy.ledger_json_explained(&result)
    } else {
        policy.ledger_json(&result)
    };
    Ok(text + "\n")
}

/// Runs a ledger endpoint: policy, body, then `op` off the async threads
/// when the body is large.
async fn ledger_endpoint(
    app: App,
    name: String,
    headers: HeaderMap,
    body: Body,
    op: impl FnOnce(&Served, &[u8]) -> Result<String, Problem> + Send + 'static,
) -> Response {
    let result = async {
        let served = served(&app, &name)?;
        let bytes = body::read(&headers, body, app.limits.body_bytes).await?;
        off_thread(bytes.len(), move || op(&served, &bytes)).await
    };
    respond(result.await)
}

async fn charge(Shared(app): Shared<App>, Name(name): Name, request: Request) -> Response {
    // The headers are moved out of the request, not cloned (as axum's
    // `HeaderMap` extractor would).
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    ledger_endpoint(app, name, headers, body, |served, bytes| {
        let r: body::Charge<'_> = body::parse(bytes, body::whole(bytes)?, "")?;
        let now = body::time(r.now.as_deref(), "now")?;
        let amount = body::amount(r.amount, "amount")?;
        let p = &served.policy;
        let account = account(p, bytes, Part::of(bytes, r.snapshot), "snapshot", now)?;
        ledger(p, p.charge(&account, amount), r.explain, |_| "amount")
    })
    .await
}

async fn settle(Shared(app): Shared<App>, Name(name): Name, request: Request) -> Response {
    // The headers are moved out of the request, not cloned (as axum's
    // `HeaderMap` extractor would).
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    ledger_endpoint(app, name, headers, body, |served, bytes| {
        let r: body::Settle<'_> = body::parse(bytes, body::whole(bytes)?, "")?;
        let now = body::time(r.now.as_deref(), "now")?;
        let p = &served.policy;
        let account = account(p, bytes, Part::of(bytes, r.snapshot), "snapshot", now)?;
        ledger(p, p.settle(&account), r.explain, |_| "snapshot")
    })
    .await
}

async fn grant(Shared(app): Shared<App>, Name(name): Name, request: Request) -> Response {
    // The headers are moved out of the request, not cloned (as axum's
    // `HeaderMap` extractor would).
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    ledger_endpoint(app, name, headers, body, |served, bytes| {
        let r: body::Grant<'_> = body::parse(bytes, body::whole(bytes)?, "")?;
        let now = body::time(r.now.as_deref(), "now")?;
        let amount = body::amount(r.grant.amount, "grant.amount")?;
        let expires_at = body::time(r.grant.expires_at.as_deref(), "grant.expires_at")?;
        let granted_at = body::time(r.grant.granted_at.as_deref(), "grant.granted_at")?;
        let p = &served.policy;
        let account = account(p, bytes, Part::of(bytes, r.snapshot), "snapshot", now)?;
        // A grant is made at the account's `now` (as `tollgate grant`
        // does); `granted_at`, when sent, must say the same.
        if let Some(at) = granted_at.filter(|at| *at != account.now) {
            return Err(Problem::bad_request(
                "bad-request",
                "The request is not valid",
                format!(
                    "`grant.granted_at`: a grant is made at the account's now ({}), not at {at}; leave it out or send `now`",
                    account.now
                ),
            )
            .at("bad-request", "grant.granted_at", None));
        }
        let spec = crate::GrantSpec {
            kind: r.grant.kind,
            amount,
            id: r.grant.id,
            expires_at,
            attributes: r.grant.attributes.into_iter().collect(),
        };
        ledger(p, p.grant(&account, &spec), r.explain, |flag| match flag {
            "--amount" => "grant.amount",
            "--kind" => "grant.kind",
            "--id" => "grant.id",
            "--expires-at" => "grant.expires_at",
            _ => "grant.attributes",
        })
    })
    .await
}

async fn refund(Shared(app): Shared<App>, Name(name): Name, request: Request) -> Response {
    // The headers are moved out of the request, not cloned (as axum's
    // `HeaderMap` extractor would).
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    ledger_endpoint(app, name, headers, body, |served, bytes| {
        let r: body::Refund<'_> = body::parse(bytes, body::whole(bytes)?, "")?;
        let now = body::time(r.now.as_deref(), "now")?;
        let p = &served.policy;
        let account = account(p, bytes, Part::of(bytes, r.snapshot), "snapshot", now)?;
        let result = if r.dispute {
            p.dispute(&account, &r.grant_id)
        } else {
            p.refund(&account, &r.grant_id)
        };
        ledger(p, result, r.explain, |_| "grant_id")
    })
    .await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    /// Every documented path has its own label in the metrics: a route
    /// added to the router and the document (tests/serve.rs holds those
    /// two together) but not here would be counted as `unmatched`.
    #[test]
    fn every_documented_route_has_a_metrics_label() {
        let doc: serde_json::Value = serde_json::from_str(super::OPENAPI).unwrap();
        let mut documented: Vec<&str> = doc["paths"]
            .as_object()
            .expect("paths")
            .keys()
            .map(String::as_str)
            .collect();
        let mut labelled = super::ROUTES.to_vec();
        documented.sort_unstable();
        labelled.sort_unstable();
        assert_eq!(documented, labelled);
    }
}
