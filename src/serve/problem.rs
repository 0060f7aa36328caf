//! Errors as `application/problem+json` (RFC 9457), with server.md's statuses.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::SnapshotError;

/// One problem a request has, as the client reads it.
#[derive(Clone, Debug, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<Item>,
    #[serde(skip)]
    pub retry_after: Option<u32>,
}

/// One error inside a problem: where it is in the request body.
#[derive(Clone, Debug, Serialize)]
pub struct Item {
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

impl Problem {
    pub fn new(status: StatusCode, kind: &str, title: &'static str, detail: String) -> Problem {
        Problem {
            kind: format!("urn:tollgate:problem:{kind}"),
            title,
            status: status.as_u16(),
            detail,
            errors: Vec::new(),
            retry_after: None,
        }
    }

    /// The same problem with one error at `path` (and its place in the body).
    pub fn at(mut self, code: &str, path: &str, place: Option<(usize, usize)>) -> Problem {
        self.errors.push(Item {
            code: code.to_owned(),
            message: self.detail.clone(),
            path: Some(path.to_owned()),
            line: place.map(|p| p.0),
            column: place.map(|p| p.1),
        });
        self
    }

    pub fn bad_request(kind: &str, title: &'static str, detail: String) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, kind, title, detail)
    }

    pub fn not_found(detail: String) -> Problem {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Nothing is here",
            detail,
        )
    }

    pub fn no_policy(name: &str) -> Problem {
        let mut p = Problem::not_found(format!("no policy is named `{name}`"));
        p.kind = "urn:tollgate:problem:unknown-policy".to_owned();
        p.title = "No policy of that name";
        p
    }

    pub fn method_not_allowed() -> Problem {
        Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "The method is not allowed here",
            "this path does not take this method".to_owned(),
        )
    }

    pub fn too_large(detail: String) -> Problem {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            "The request is over a limit",
            detail,
        )
    }

    pub fn unsupported_media_type() -> Problem {
        Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "The body is not JSON",
            "send the body as `Content-Type: application/json`".to_owned(),
        )
    }

    pub fn unavailable(kind: &str, title: &'static str, detail: String) -> Problem {
        let mut p = Problem::new(StatusCode::SERVICE_UNAVAILABLE, kind, title, detail);
        p.retry_after = Some(1);
        p
    }

    /// A bad snapshot: one error per diagnostic, each path prefixed by
    /// the snapshot's place in the request (`requests[3].snapshot`), each
    /// line and column counted in the whole body (the snapshot starts at
    /// byte `offset` of `body`).
    pub fn bad_snapshot(e: &SnapshotError, place: &str, body: &[u8], offset: usize) -> Problem {
        let d = &e.diagnostics;
        let errors: Vec<Item> = d
            .items
            .iter()
            .map(|item| {
                let (path, message) = split_path(&item.message);
                let path = match path {
                    Some(p) => format!("{place}.{p}"),
                    None => place.to_owned(),
                };
                let (line, column) = line_col(body, offset + item.span.start as usize);
                Item {
                    code: item.code.qualified().to_owned(),
                    message: message.to_owned(),
                    path: Some(path),
                    line: Some(line),
                    column: Some(column),
                }
            })
            .collect();
        let mut detail = errors.first().map_or_else(String::new, |first| {
            format!(
                "{}: {}",
                first.path.as_deref().unwrap_or(place),
                first.message
            )
        });
        let more = errors.len().saturating_sub(1) + d.omitted;
        if more > 0 {
            detail.push_str(&format!(" (and {more} more)"));
        }
        let mut p = Problem::bad_request("bad-snapshot", "The snapshot is not valid", detail);
        p.errors = errors;
        p
    }

    /// The problem as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The problem as a JSON value, for a batch item.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// What a problem response carries for the metrics and the log: its
/// class (the type's last part) and detail.
#[derive(Clone, Debug)]
pub struct Refused {
    pub class: String,
    pub detail: String,
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let mut response = (status, self.to_json()).into_response();
        let class = self.kind.rsplit(':').next().unwrap_or_default().to_owned();
        response.extensions_mut().insert(Refused {
            class,
            detail: self.detail,
        });
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// A snapshot message's field path and the rest: the validator writes
/// "`grants[2].remaining`: 1200 is more than ..." for every error below the
/// root, and the root's own errors without a path.
fn split_path(message: &str) -> (Option<&str>, &str) {
    message
        .strip_prefix('`')
        .and_then(|rest| rest.split_once("`: "))
        .filter(|(path, _)| !path.is_empty() && !path.contains(char::is_whitespace))
        .map_or((None, message), |(path, rest)| (Some(path), rest))
}

/// The 1-based line and column (in characters) of byte `at` of `body`.
pub fn line_col(body: &[u8], at: usize) -> (usize, usize) {
    let before = body.get(..at.min(body.len())).unwrap_or_default();
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let column = 1 + before
        .get(line_start..)
        .unwrap_or_default()
        .iter()
        .filter(|&&b| b & 0xC0 != 0x80)
        .count();
    (line, column)
}

/// The byte offset of 1-based `line` and byte `column` in `text`, as
/// serde_json reports a position.
pub fn offset_of(text: &[u8], line: usize, column: usize) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match text
            .get(start..)
            .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
        {
            Some(i) => start += i + 1,
            None => return text.len(),
        }
    }
    (start + column.saturating_sub(1)).min(text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_split_from_messages() {
        assert_eq!(
            split_path("`grants[2].remaining`: 1200 is more than amount 1000"),
            (Some("grants[2].remaining"), "1200 is more than amount 1000")
        );
        assert_eq!(
            split_path("expected an object"),
            (None, "expected an object")
        );
    }

    #[test]
    fn lines_and_columns_count_characters() {
        let body = "{\n  \"é\": 1,\n  \"x\": 2}".as_bytes();
        let at = body.iter().position(|&b| b == b'x').unwrap();
        assert_eq!(line_col(body, at), (3, 4));
        assert_eq!(offset_of(body, 3, 4), at);
    }
}
