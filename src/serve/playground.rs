//! `POST /v1/playground/evaluate`: a policy and a snapshot sent as text,
//! checked and decided without being served. What the browser playground
//! asks on every edit: every diagnostic of the policy and of the snapshot
//! with its place, the permission table, the decision with its trace when
//! both are valid, and what a served policy decides on the same account.
//!
//! The text comes from anyone who can reach the page, so the limits are
//! the strictest in the server: a policy of at most [`MAX_POLICY_BYTES`],
//! a snapshot of at most [`MAX_SNAPSHOT_BYTES`], at most [`MAX_AT_ONCE`]
//! evaluations at once (more are refused with 503, never queued), each off
//! the async threads and under the request time limit. Nothing is stored.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::problem::Problem;
use crate::{Diagnostic, Diagnostics, Format, Policy, PolicyError};

/// The largest policy text evaluated.
pub const MAX_POLICY_BYTES: usize = 256 << 10;
/// The largest snapshot text evaluated.
pub const MAX_SNAPSHOT_BYTES: usize = 1 << 20;
/// The largest body: both texts, escaped as JSON strings (a newline or a
/// quote takes two bytes), and the rest of the request.
pub const MAX_BODY_BYTES: usize = 3 << 20;
/// Evaluations at once: each compiles a policy of up to 256 KiB, which
/// holds tens of megabytes at its peak (docs/robustness.md).
pub const MAX_AT_ONCE: usize = 4;
/// Diagnostics listed per text; the rest are counted.
const MAX_DIAGNOSTICS: usize = 200;

/// The request.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evaluate {
    pub policy: String,
    pub snapshot: String,
    #[serde(default)]
    pub snapshot_format: SnapshotFormat,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub now: Option<String>,
    #[serde(default)]
    pub compare_with: Option<String>,
}

/// How the snapshot text is written.
#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotFormat {
    #[default]
    Json,
    Toml,
}

impl SnapshotFormat {
    fn format(self) -> Format {
        match self {
            SnapshotFormat::Json => Format::Json,
            SnapshotFormat::Toml => Format::Toml,
        }
    }
}

/// A served policy to compare with: its name and revision, and the policy.
pub struct Compare<'a> {
    pub name: &'a str,
    pub revision: &'a str,
    pub policy: Option<&'a Policy>,
}

/// Checks the request's sizes before any work.
pub fn check_sizes(request: &Evaluate) -> Result<(), Problem> {
    let over = |what: &str, len: usize, max: usize| {
        Problem::too_large(format!(
            "the {what} is {len} bytes; the playground evaluates at most {max}"
        ))
    };
    if request.policy.len() > MAX_POLICY_BYTES {
        return Err(over("policy", request.policy.len(), MAX_POLICY_BYTES));
    }
    if request.snapshot.len() > MAX_SNAPSHOT_BYTES {
        return Err(over("snapshot", request.snapshot.len(), MAX_SNAPSHOT_BYTES));
    }
    Ok(())
}

/// The whole answer, as JSON text.
pub fn evaluate(request: &Evaluate, compare: Option<Compare<'_>>) -> Result<String, Problem> {
    let now = super::body::time(request.now.as_deref(), "now")?;
    let mut out = Map::new();
    let compiled = Policy::from_source("policy", &request.policy);
    let policy = match compiled {
        Ok(policy) => {
            let mut report = diagnostics(policy.warnings());
            report.insert("valid".into(), json!(true));
            report.insert("name".into(), json!(policy.name()));
            out.insert("policy".into(), Value::Object(report));
            out.insert(
                "description".into(),
                Value::Object(super::describe::policy(policy.program())),
            );
            Some(policy)
        }
        Err(PolicyError::Invalid(d)) => {
            let mut report = diagnostics(&d);
            report.insert("valid".into(), json!(false));
            report.insert("name".into(), Value::Null);
            out.insert("policy".into(), Value::Object(report));
            out.insert("description".into(), Value::Null);
            None
        }
        Err(e) => {
            return Err(Problem::bad_request(
                "bad-request",
                "The request is not valid",
                e.to_string(),
            ));
        }
    };
    let format = request.snapshot_format.format();
    // A snapshot is read against a policy's fields: without a policy that
    // compiles, there is nothing to read it against.
    let account = policy.as_ref().map(|p| {
        p.snapshot("snapshot", &request.snapshot, format, now)
            .map_err(|e| e.diagnostics)
    });
    out.insert(
        "snapshot".into(),
        match &account {
            None => Value::Null,
            Some(Ok(_)) => json!({ "valid": true, "diagnostics": [], "omitted": 0 }),
            Some(Err(d)) => {
                let mut report = diagnostics(d);
                report.insert("valid".into(), json!(false));
                Value::Object(report)
            }
        },
    );
    let asked = request.role.as_deref().zip(request.action.as_deref());
    let mut request_error = Value::Null;
    let mut decision = Value::Null;
    if let (Some(policy), Some(Ok(account)), Some((role, action))) = (&policy, &account, asked) {
        match policy.request(role, action) {
            Err(e) => request_error = json!({ "message": e.to_string() }),
            Ok(resolved) => {
                decision = match policy
                    .decide_explained(account, &resolved)
                    .and_then(|d| d.to_json())
                {
                    Ok(text) => serde_json::from_str(&text).unwrap_or(Value::Null),
                    Err(e) => {
                        request_error = json!({ "message": e.to_string() });
                        Value::Null
                    }
                };
            }
        }
    }
    out.insert("request_error".into(), request_error);
    out.insert("decision".into(), decision);
    out.insert(
        "compare".into(),
        match compare {
            None => Value::Null,
            Some(c) => compared(&c, request, format, now, asked),
        },
    );
    Ok(serde_json::to_string(&Value::Object(out)).unwrap_or_default() + "\n")
}

/// What the served policy decides on the same snapshot and request.
fn compared(
    c: &Compare<'_>,
    request: &Evaluate,
    format: Format,
    now: Option<crate::Timestamp>,
    asked: Option<(&str, &str)>,
) -> Value {
    let mut out =
        json!({ "policy": c.name, "revision": c.revision, "decision": null, "error": null });
    let error = |out: &mut Value, message: String| {
        if let Some(map) = out.as_object_mut() {
            map.insert("error".into(), json!(message));
        }
    };
    let Some(policy) = c.policy else {
        error(&mut out, format!("no policy is served as `{}`", c.name));
        return out;
    };
    let Some((role, action)) = asked else {
        return out;
    };
    let account = match policy.snapshot("snapshot", &request.snapshot, format, now) {
        Ok(a) => a,
        Err(e) => {
            error(
                &mut out,
                format!(
                    "the served policy cannot read this snapshot: {}",
                    e.summary()
                ),
            );
            return out;
        }
    };
    let resolved = match policy.request(role, action) {
        Ok(r) => r,
        Err(e) => {
            error(&mut out, e.to_string());
            return out;
        }
    };
    match policy
        .decide_explained(&account, &resolved)
        .and_then(|d| d.to_json())
    {
        Ok(text) => {
            if let Some(map) = out.as_object_mut() {
                map.insert(
                    "decision".into(),
                    serde_json::from_str(&text).unwrap_or(Value::Null),
                );
            }
        }
        Err(e) => error(&mut out, e.to_string()),
    }
    out
}

/// `{"diagnostics": [...], "omitted": n}`: each with its code, severity,
/// message, label, help, suggestion and the start and end of its span
/// (lines and columns from 1, columns in characters).
fn diagnostics(d: &Diagnostics) -> Map<String, Value> {
    let items: Vec<Value> = d
        .items
        .iter()
        .take(MAX_DIAGNOSTICS)
        .map(|item| one(d, item))
        .collect();
    let omitted = d.items.len().saturating_sub(MAX_DIAGNOSTICS) + d.omitted + d.omitted_warnings;
    let mut map = Map::new();
    map.insert("diagnostics".into(), Value::Array(items));
    map.insert("omitted".into(), json!(omitted));
    map
}

fn one(d: &Diagnostics, item: &Diagnostic) -> Value {
    let start = d.source.line_col(item.span.start);
    let end = d.source.line_col(item.span.end);
    json!({
        "code": item.code.qualified(),
        "severity": item.severity.as_str(),
        "message": item.message,
        "label": item.label,
        "help": item.help,
        "suggestion": item.suggestion,
        "start": { "line": start.line, "column": start.col, "offset": item.span.start },
        "end": { "line": end.line, "column": end.col, "offset": item.span.end },
    })
}
