//! The playground page at `/`: the bundle built from `web/` (committed in
//! `web/dist`, embedded here, so the binary needs no Node and the page no
//! network), and `GET /v1/playground/examples`, what its examples menu
//! offers: every served policy's text and the example accounts shipped in
//! `examples/`.

use std::sync::OnceLock;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::catalog::Catalog;
use super::playground::MAX_POLICY_BYTES;

/// One file of the page.
struct Asset {
    content_type: &'static str,
    bytes: &'static [u8],
}

/// The page's files, as `web/` builds them.
const INDEX: Asset = Asset {
    content_type: "text/html; charset=utf-8",
    bytes: include_bytes!("../../web/dist/index.html"),
};
const SCRIPT: Asset = Asset {
    content_type: "text/javascript; charset=utf-8",
    bytes: include_bytes!("../../web/dist/playground.js"),
};
const STYLE: Asset = Asset {
    content_type: "text/css; charset=utf-8",
    bytes: include_bytes!("../../web/dist/style.css"),
};

/// `GET /`: the page.
pub async fn index(headers: HeaderMap) -> Response {
    static TAG: OnceLock<String> = OnceLock::new();
    INDEX.respond(&headers, &TAG)
}

/// `GET /playground.js`: the bundled script.
pub async fn script(headers: HeaderMap) -> Response {
    static TAG: OnceLock<String> = OnceLock::new();
    SCRIPT.respond(&headers, &TAG)
}

/// `GET /style.css`: the page's style sheet.
pub async fn style(headers: HeaderMap) -> Response {
    static TAG: OnceLock<String> = OnceLock::new();
    STYLE.respond(&headers, &TAG)
}

/// What the page may load and send: its own files and requests to its own
/// origin, nothing else. CodeMirror sets styles on elements, hence
/// `'unsafe-inline'` for styles (never for scripts).
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   connect-src 'self'; img-src 'self' data:; base-uri 'none'; \
                   form-action 'none'; frame-ancestors 'none'";

impl Asset {
    /// The file, revalidated by its hash (`tag` holds it once computed): a
    /// new binary's page is never mixed with a cached old one.
    fn respond(&self, headers: &HeaderMap, tag: &OnceLock<String>) -> Response {
        let tag = tag.get_or_init(|| format!("\"{}\"", &super::revision(self.bytes)[..16]));
        let unchanged = headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
        let mut r = if unchanged {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            let mut r = (StatusCode::OK, self.bytes).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(self.content_type),
            );
            r
        };
        let h = r.headers_mut();
        if let Ok(v) = HeaderValue::from_str(tag) {
            h.insert(header::ETAG, v);
        }
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
        r
    }
}

/// An example account shipped in `examples/`, with the policy and request
/// it shows best (examples/README.md's first row for it).
struct Account {
    file: &'static str,
    policy: &'static str,
    role: &'static str,
    action: &'static str,
    text: &'static str,
}

macro_rules! account {
    ($file:literal, $policy:literal, $role:literal, $action:literal) => {
        Account {
            file: $file,
            policy: $policy,
            role: $role,
            action: $action,
            text: include_str!(concat!("../../examples/", $file)),
        }
    };
}

/// Every account in `examples/` (a test checks none is missing).
const ACCOUNTS: [Account; 7] = [
    account!(
        "paused-zero-credits.json",
        "ampere",
        "member",
        "send_message"
    ),
    account!(
        "ended-subscription-locked.toml",
        "ampere",
        "owner",
        "run_tool"
    ),
    account!("dispute-debt.json", "ampere", "owner", "run_tool"),
    account!(
        "api_platform-negative-balance.json",
        "api_platform",
        "developer",
        "api_request"
    ),
    account!(
        "api_platform-expiring-soon.json",
        "api_platform",
        "developer",
        "api_request"
    ),
    account!(
        "messaging-monthly-overage.json",
        "messaging",
        "agent",
        "send_sms"
    ),
    account!(
        "messaging-prepaid-negative.toml",
        "messaging",
        "agent",
        "send_sms"
    ),
];

/// `{"policies": [{name, revision, text}], "accounts": [{name, format,
/// policy, role, action, text}]}`. A served policy larger than the
/// playground evaluates is listed with `text: null`.
pub fn examples(catalog: &Catalog) -> String {
    let policies: Vec<Value> = catalog
        .served()
        .map(|s| {
            let text = s.policy.warnings().source.text();
            json!({
                "name": s.policy.name(),
                "revision": s.revision,
                "text": (text.len() <= MAX_POLICY_BYTES).then_some(text),
            })
        })
        .collect();
    let accounts: Vec<Value> = ACCOUNTS
        .iter()
        .map(|a| {
            let format = if a.file.ends_with(".toml") {
                "toml"
            } else {
                "json"
            };
            json!({
                "name": a.file,
                "format": format,
                "policy": a.policy,
                "role": a.role,
                "action": a.action,
                "text": a.text,
            })
        })
        .collect();
    serde_json::to_string(&json!({ "policies": policies, "accounts": accounts }))
        .unwrap_or_default()
        + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_account_is_offered() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
        let mut shipped: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".json") || n.ends_with(".toml"))
            .collect();
        shipped.sort();
        let mut offered: Vec<String> = ACCOUNTS.iter().map(|a| a.file.to_owned()).collect();
        offered.sort();
        assert_eq!(shipped, offered);
    }

    #[test]
    fn each_example_account_decides_under_its_policy() {
        for a in &ACCOUNTS {
            let path = format!(
                "{}/policies/{}.policy",
                env!("CARGO_MANIFEST_DIR"),
                a.policy
            );
            let policy = crate::Policy::from_file(&path).unwrap();
            let format = if a.file.ends_with(".toml") {
                crate::Format::Toml
            } else {
                crate::Format::Json
            };
            let account = policy.snapshot(a.file, a.text, format, None).unwrap();
            let request = policy.request(a.role, a.action).unwrap();
            policy.decide(&account, &request).unwrap();
        }
    }

    #[test]
    fn an_unchanged_asset_is_not_sent_again() {
        let tag = OnceLock::new();
        let first = INDEX.respond(&HeaderMap::new(), &tag);
        assert_eq!(first.status(), StatusCode::OK);
        let mut again = HeaderMap::new();
        again.insert(header::IF_NONE_MATCH, first.headers()[header::ETAG].clone());
        assert_eq!(
            INDEX.respond(&again, &tag).status(),
            StatusCode::NOT_MODIFIED
        );
    }
}
