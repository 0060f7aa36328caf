//! Request bodies: read within the size limit, parsed as JSON, the
//! snapshot kept as the text it was sent as, at its place in the body.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, header};
use http_body_util::BodyExt;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::problem::{Problem, line_col, offset_of};

/// Reads a JSON body of at most `limit` bytes: 415 when it is not
/// `application/json`, 413 when it is too large.
pub async fn read(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, Problem> {
    if !is_json(headers) {
        return Err(Problem::unsupported_media_type());
    }
    let too_large = || Problem::too_large(format!("the body is larger than {limit} bytes"));
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    match http_body_util::Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(e) => Err(Problem::bad_request(
            "unreadable-body",
            "The body could not be read",
            format!("reading the body failed: {e}"),
        )),
    }
}

/// `application/json`, with or without parameters (`; charset=utf-8`).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

/// A JSON value sent as part of a request, with where it starts in the body.
#[derive(Clone, Copy)]
pub struct Part<'a> {
    pub text: &'a str,
    pub offset: usize,
}

impl<'a> Part<'a> {
    pub fn of(body: &'a [u8], raw: &'a RawValue) -> Part<'a> {
        let text = raw.get();
        // The raw value borrows from the body: its address gives its place.
        let offset = (text.as_ptr() as usize).wrapping_sub(body.as_ptr() as usize);
        let offset = if offset <= body.len() { offset } else { 0 };
        Part { text, offset }
    }
}

/// `POST .../decide`, and each item of a batch.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decide<'a> {
    #[serde(borrow)]
    pub snapshot: &'a RawValue,
    pub role: String,
    pub action: String,
    #[serde(default)]
    pub explain: bool,
    #[serde(default)]
    pub now: Option<String>,
}

/// `POST .../decide/batch`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch<'a> {
    #[serde(borrow)]
    pub requests: Vec<&'a RawValue>,
}

/// `POST .../charge`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Charge<'a> {
    #[serde(borrow)]
    pub snapshot: &'a RawValue,
    #[serde(borrow)]
    pub amount: &'a RawValue,
    #[serde(default)]
    pub now: Option<String>,
    #[serde(default)]
    pub explain: bool,
}

/// `POST .../settle`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settle<'a> {
    #[serde(borrow)]
    pub snapshot: &'a RawValue,
    #[serde(default)]
    pub now: Option<String>,
    #[serde(default)]
    pub explain: bool,
}

/// `POST .../grant`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant<'a> {
    #[serde(borrow)]
    pub snapshot: &'a RawValue,
    #[serde(borrow)]
    pub grant: NewGrant<'a>,
    #[serde(default)]
    pub now: Option<String>,
    #[serde(default)]
    pub explain: bool,
}

/// The grant added by `POST .../grant`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewGrant<'a> {
    pub kind: String,
    #[serde(borrow)]
    pub amount: &'a RawValue,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub granted_at: Option<String>,
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub attributes: std::collections::BTreeMap<String, String>,
}

/// `POST .../refund`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Refund<'a> {
    #[serde(borrow)]
    pub snapshot: &'a RawValue,
    pub grant_id: String,
    #[serde(default)]
    pub dispute: bool,
    #[serde(default)]
    pub now: Option<String>,
    #[serde(default)]
    pub explain: bool,
}

/// Parses `part` of `body` as `T`; a failure is a 400 that says where, in
/// the whole body, and under `place` (`requests[3]`, or `""` for the body).
pub fn parse<'a, T: Deserialize<'a>>(
    body: &'a [u8],
    part: Part<'a>,
    place: &str,
) -> Result<T, Problem> {
    serde_json::from_str(part.text).map_err(|e| {
        let at = part.offset + offset_of(part.text.as_bytes(), e.line(), e.column());
        let (kind, title) = if e.is_data() {
            ("bad-request", "The request is not valid")
        } else {
            ("malformed-json", "The body is not valid JSON")
        };
        let detail = if place.is_empty() {
            e.to_string()
        } else {
            format!("{place}: {e}")
        };
        let path = if place.is_empty() { "$" } else { place };
        Problem::bad_request(kind, title, detail).at(kind, path, Some(line_col(body, at)))
    })
}

/// The whole body as a part (it must be UTF-8 to be JSON).
pub fn whole(body: &[u8]) -> Result<Part<'_>, Problem> {
    std::str::from_utf8(body)
        .map(|text| Part { text, offset: 0 })
        .map_err(|e| {
            Problem::bad_request(
                "malformed-json",
                "The body is not valid JSON",
                "the body is not UTF-8 text".to_owned(),
            )
            .at("malformed-json", "$", Some(line_col(body, e.valid_up_to())))
        })
}

/// An amount given as a JSON string or number, read without binary floating point.
pub fn amount(raw: &RawValue, path: &str) -> Result<rust_decimal::Decimal, Problem> {
    let text = raw.get();
    let bad = |why: String| {
        Problem::bad_request(
            "bad-amount",
            "The amount is not valid",
            format!("`{path}`: {why}"),
        )
        .at("bad-amount", path, None)
    };
    let text: String = if text.starts_with('"') {
        serde_json::from_str::<String>(text).map_err(|e| bad(e.to_string()))?
    } else if text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        text.to_owned()
    } else {
        return Err(bad(
            "write the amount as a string, such as \"12.5\"".to_owned()
        ));
    };
    crate::amount::parse(&text)
        .map_err(|e| bad(format!("`{text}` is not a valid amount: {}", e.reason())))
}

/// A timestamp field (`now`, `expires_at`), when given.
pub fn time(text: Option<&str>, path: &str) -> Result<Option<crate::Timestamp>, Problem> {
    text.map(|t| {
        crate::Timestamp::parse(t).map_err(|why| {
            Problem::bad_request(
                "bad-request",
                "The request is not valid",
                format!("`{path}`: `{t}` is not a timestamp: {why}"),
            )
            .at("bad-timestamp", path, None)
        })
    })
    .transpose()
}
