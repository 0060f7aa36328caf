//! Policy test cases: TOML files that state what a policy must decide.
//!
//! ```toml
//! policy = "ampere.policy"          # relative to this file; default: the
//!                                   # file's name without `.tests.toml`
//! [[case]]
//! name = "a member is paused at zero credits"
//! account = "../examples/paused-zero-credits.json"   # a path, or an inline table
//! role = "member"
//! action = "send_message"
//! outcome = "deny"
//! state = "paused"
//! reasons = ["no_usable_credits"]
//! next_steps = ["ask_billing_admin"]
//!
//! [[case]]
//! name = "settling pays overruns from locked credits"
//! account = "../examples/ended-subscription-locked.toml"
//! operation = "settle"              # charge (amount), settle, grant (kind,
//!                                   # amount, id, expires_at), refund (grant)
//! settlements = [{ debt = "overrun-1", grant = "top-2026-03", amount = "120" }]
//! ```
//!
//! Every expectation is optional: a case checks what it states.

use std::path::{Path, PathBuf};

use rust_decimal::Decimal;

use crate::Policy;
use crate::decide::Decision;
use crate::diagnostic::{Code, Diagnostic, Diagnostics, suggest};
use crate::ledger::{GrantSpec, LedgerResult};
use crate::snapshot::doc::{DocValue, Node};
use crate::snapshot::{Account, Format};
use crate::span::{Source, Span};
use crate::time::Timestamp;

/// A parsed case file.
#[derive(Clone, Debug)]
pub struct CaseFile {
    pub path: PathBuf,
    pub source: Source,
    /// The policy the cases are written for.
    pub policy: PathBuf,
    pub cases: Vec<Case>,
}

/// One case: an account, a request or operation, and expectations.
#[derive(Clone, Debug)]
pub struct Case {
    pub name: String,
    /// The line of the case's `name`.
    pub line: u32,
    pub account: AccountSource,
    pub request: CaseRequest,
    pub expect: Expect,
}

/// Where a case's account comes from.
#[derive(Clone, Debug)]
pub enum AccountSource {
    /// A snapshot file, resolved against the case file's folder.
    File(PathBuf),
    /// A snapshot written in the case file, validated when the case runs.
    Inline(Node<'static>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum CaseRequest {
    Decide { role: String, action: String },
    Charge(Decimal),
    Settle,
    Grant(GrantSpec),
    Refund(String),
}

/// An effect's code and the parameters a case names.
pub type EffectExpect = (String, Vec<(String, String)>);

/// What a case expects; `None` is not checked.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Expect {
    pub outcome: Option<String>,
    pub state: Option<String>,
    pub reasons: Option<Vec<String>>,
    pub next_steps: Option<Vec<String>>,
    pub warnings: Option<Vec<String>>,
    /// Effect codes with the parameters the case names.
    pub effects: Option<Vec<EffectExpect>>,
    /// Totals the case names: `usable`, `locked`, `expired`, `debt`.
    pub balance: Option<Vec<(String, Decimal)>>,
    pub draws: Option<Vec<(String, Decimal)>>,
    pub voided: Option<Vec<(String, Decimal)>>,
    /// Kind and amount of each new debt.
    pub new_debts: Option<Vec<(String, Decimal)>>,
    /// Debt, grant and amount of each settlement.
    pub settlements: Option<Vec<(String, String, Decimal)>>,
}

/// A case file that cannot be read as one.
#[derive(Clone, Debug)]
pub struct CaseFileError {
    pub diagnostics: Diagnostics,
}

const CASE_KEYS: &[&str] = &[
    "name",
    "account",
    "role",
    "action",
    "operation",
    "amount",
    "kind",
    "id",
    "expires_at",
    "grant",
    "outcome",
    "state",
    "reasons",
    "next_steps",
    "warnings",
    "effects",
    "balance",
    "draws",
    "voided",
    "new_debts",
    "settlements",
];

/// Reads a case file.
pub fn parse(path: &Path, text: &str) -> Result<CaseFile, CaseFileError> {
    let source = Source::new(path.display().to_string(), text);
    let fail = |d: Diagnostic| CaseFileError {
        diagnostics: Diagnostics::new(source.clone(), vec![d]),
    };
    let root = crate::snapshot::toml_doc::parse(text).map_err(|e| {
        fail(
            Diagnostic::new(
                Code::InvalidDocument,
                e.span.unwrap_or_default(),
                format!("the case file is not valid TOML: {}", e.message),
            )
            .help("fix the syntax at the marked place"),
        )
    })?;
    let mut r = Reader { errors: Vec::new() };
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let default_policy = {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stem = name
            .strip_suffix(".tests.toml")
            .or_else(|| name.strip_suffix(".toml"))
            .unwrap_or(&name);
        dir.join(format!("{stem}.policy"))
    };
    let mut policy = default_policy;
    let mut cases = Vec::new();
    let DocValue::Object(entries) = &root.value else {
        return Err(fail(Diagnostic::new(
            Code::WrongType,
            root.span,
            "a case file is a TOML table",
        )));
    };
    for (key, key_span, value) in entries {
        match key.as_ref() {
            "policy" => {
                if let Some(p) = r.string(value, "policy") {
                    policy = dir.join(p);
                }
            }
            "case" => {
                let DocValue::Array(items) = &value.value else {
                    r.error(
                        Code::WrongType,
                        value.span,
                        "`case` must be an array of tables: write each case under `[[case]]`",
                    );
                    continue;
                };
                for item in items {
                    if let Some(c) = r.case(item, &source, &dir) {
                        cases.push(c);
                    }
                }
            }
            other => {
                let help = match suggest(other, ["policy", "case"]) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "a case file has `policy = \"...\"` and `[[case]]` tables".to_owned(),
                };
                r.errors.push(
                    Diagnostic::new(
                        Code::UnknownField,
                        *key_span,
                        format!("unknown key `{other}`"),
                    )
                    .help(help),
                );
            }
        }
    }
    let mut names: Vec<(&str, u32)> = Vec::new();
    for c in &cases {
        if let Some((_, first)) = names.iter().find(|(n, _)| *n == c.name) {
            r.errors.push(
                Diagnostic::new(
                    Code::Duplicate,
                    Span::default(),
                    format!(
                        "two cases are named `{}` (lines {first} and {})",
                        c.name, c.line
                    ),
                )
                .help("give every case its own name, so a failure points at one case"),
            );
        }
        names.push((&c.name, c.line));
    }
    if !r.errors.is_empty() {
        return Err(CaseFileError {
            diagnostics: Diagnostics::new(source, r.errors),
        });
    }
    Ok(CaseFile {
        path: path.to_path_buf(),
        source,
        policy,
        cases,
    })
}

struct Reader {
    errors: Vec<Diagnostic>,
}

impl Reader {
    fn error(&mut self, code: Code, span: Span, message: &str) {
        self.errors
            .push(Diagnostic::new(code, span, message.to_owned()));
    }

    fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.value {
            DocValue::String(s) => Some(s.to_string()),
            other => {
                self.error(
                    Code::WrongType,
                    node.span,
                    &format!("`{what}` must be a string, found {}", other.kind()),
                );
                None
            }
        }
    }

    fn amount(&mut self, node: &Node, what: &str) -> Option<Decimal> {
        let text = match &node.value {
            DocValue::String(s) | DocValue::Number(s) => s.to_string(),
            other => {
                self.error(
                    Code::WrongType,
                    node.span,
                    &format!("`{what}` must be an amount, found {}", other.kind()),
                );
                return None;
            }
        };
        match crate::amount::parse(&text) {
            Ok(d) => Some(d),
            Err(e) => {
                self.error(
                    Code::InvalidValue,
                    node.span,
                    &format!("`{what}`: `{text}` is not a valid amount: {}", e.reason()),
                );
                None
            }
        }
    }

    fn strings(&mut self, node: &Node, what: &str) -> Option<Vec<String>> {
        let DocValue::Array(items) = &node.value else {
            self.error(
                Code::WrongType,
                node.span,
                &format!("`{what}` must be a list of codes, like [\"a\", \"b\"]"),
            );
            return None;
        };
        items.iter().map(|i| self.string(i, what)).collect()
    }

    /// A list of tables with the given keys, each read as strings.
    fn rows(&mut self, node: &Node, what: &str, keys: &[&str]) -> Option<Vec<Vec<String>>> {
        let DocValue::Array(items) = &node.value else {
            self.error(
                Code::WrongType,
                node.span,
                &format!("`{what}` must be a list of tables"),
            );
            return None;
        };
        let mut out = Vec::new();
        for item in items {
            let DocValue::Object(entries) = &item.value else {
                self.error(
                    Code::WrongType,
                    item.span,
                    &format!("each item of `{what}` is a table with {}", keys.join(", ")),
                );
                return None;
            };
            let mut row = Vec::new();
            for key in keys {
                let Some((_, _, v)) = entries.iter().find(|(k, _, _)| k == key) else {
                    self.error(
                        Code::MissingField,
                        item.span,
                        &format!("an item of `{what}` lacks `{key}`"),
                    );
                    return None;
                };
                let text = match &v.value {
                    DocValue::String(s) | DocValue::Number(s) => s.to_string(),
                    _ => {
                        self.error(
                            Code::WrongType,
                            v.span,
                            &format!("`{what}.{key}` must be a string"),
                        );
                        return None;
                    }
                };
                row.push(text);
            }
            if let Some((k, k_span, _)) =
                entries.iter().find(|(k, _, _)| !keys.contains(&k.as_ref()))
            {
                self.error(
                    Code::UnknownField,
                    *k_span,
                    &format!(
                        "unknown key `{k}` in `{what}`; expected {}",
                        keys.join(", ")
                    ),
                );
                return None;
            }
            out.push(row);
        }
        Some(out)
    }

    fn decimal_of(&mut self, text: &str, span: Span, what: &str) -> Option<Decimal> {
        match crate::amount::parse(text) {
            Ok(d) => Some(d),
            Err(e) => {
                self.error(
                    Code::InvalidValue,
                    span,
                    &format!("`{what}`: `{text}` is not a valid amount: {}", e.reason()),
                );
                None
            }
        }
    }

    fn case(&mut self, node: &Node, source: &Source, dir: &Path) -> Option<Case> {
        let DocValue::Object(entries) = &node.value else {
            self.error(Code::WrongType, node.span, "a case is a table");
            return None;
        };
        let errors_before = self.errors.len();
        let get = |key: &str| entries.iter().find(|(k, _, _)| k == key).map(|(_, _, v)| v);
        for (k, k_span, _) in entries {
            if !CASE_KEYS.contains(&k.as_ref()) {
                let help = match suggest(k, CASE_KEYS.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "see docs/ci.md for the keys a case takes".to_owned(),
                };
                self.errors.push(
                    Diagnostic::new(
                        Code::UnknownField,
                        *k_span,
                        format!("unknown key `{k}` in a case"),
                    )
                    .help(help),
                );
            }
        }
        let name_node = get("name");
        let name = match name_node {
            Some(n) => self.string(n, "name")?,
            None => {
                self.error(Code::MissingField, node.span, "a case needs a `name`");
                return None;
            }
        };
        let line = source
            .line_col(name_node.map_or(node.span, |n| n.span).start)
            .line;
        let account = match get("account") {
            Some(Node {
                value: DocValue::String(p),
                ..
            }) => AccountSource::File(dir.join(p.as_ref())),
            Some(
                n @ Node {
                    value: DocValue::Object(_),
                    ..
                },
            ) => AccountSource::Inline(n.clone().into_owned()),
            Some(n) => {
                self.error(
                    Code::WrongType,
                    n.span,
                    "`account` is a snapshot file's path or an inline table",
                );
                return None;
            }
            None => {
                self.error(
                    Code::MissingField,
                    node.span,
                    &format!("case `{name}` needs an `account`"),
                );
                return None;
            }
        };
        let operation = match get("operation") {
            Some(n) => Some((self.string(n, "operation")?, n.span)),
            None => None,
        };
        let request = match operation {
            None => {
                let role = get("role").and_then(|n| self.string(n, "role"));
                let action = get("action").and_then(|n| self.string(n, "action"));
                match (role, action) {
                    (Some(role), Some(action)) => CaseRequest::Decide { role, action },
                    _ => {
                        self.error(
                            Code::MissingField,
                            node.span,
                            &format!(
                                "case `{name}` needs a `role` and an `action`, or an `operation`"
                            ),
                        );
                        return None;
                    }
                }
            }
            Some((op, span)) => match op.as_str() {
                "charge" => match get("amount") {
                    Some(n) => CaseRequest::Charge(self.amount(n, "amount")?),
                    None => {
                        self.error(
                            Code::MissingField,
                            span,
                            "a `charge` case needs an `amount`",
                        );
                        return None;
                    }
                },
                "settle" => CaseRequest::Settle,
                "grant" => {
                    let kind = get("kind").and_then(|n| self.string(n, "kind"));
                    let amount = get("amount").and_then(|n| self.amount(n, "amount"));
                    let (Some(kind), Some(amount)) = (kind, amount) else {
                        self.error(
                            Code::MissingField,
                            span,
                            "a `grant` case needs a `kind` and an `amount`",
                        );
                        return None;
                    };
                    let id = get("id").and_then(|n| self.string(n, "id"));
                    let expires_at = match get("expires_at") {
                        Some(n) => {
                            let text = match &n.value {
                                DocValue::String(s) => s.to_string(),
                                DocValue::Datetime(s) => s.clone(),
                                _ => String::new(),
                            };
                            match Timestamp::parse(&text) {
                                Ok(t) => Some(t),
                                Err(why) => {
                                    self.error(
                                        Code::InvalidValue,
                                        n.span,
                                        &format!("`expires_at` is not a timestamp: {why}"),
                                    );
                                    return None;
                                }
                            }
                        }
                        None => None,
                    };
                    CaseRequest::Grant(GrantSpec {
                        kind,
                        amount,
                        id,
                        expires_at,
                    })
                }
                "refund" => match get("grant").and_then(|n| self.string(n, "grant")) {
                    Some(g) => CaseRequest::Refund(g),
                    None => {
                        self.error(
                            Code::MissingField,
                            span,
                            "a `refund` case needs the `grant` it refunds",
                        );
                        return None;
                    }
                },
                other => {
                    let help = suggest(other, ["charge", "settle", "grant", "refund"]).map_or(
                        "operations are `charge`, `settle`, `grant` and `refund`".to_owned(),
                        |s| format!("did you mean `{s}`?"),
                    );
                    self.errors.push(
                        Diagnostic::new(
                            Code::InvalidValue,
                            span,
                            format!("unknown operation `{other}`"),
                        )
                        .help(help),
                    );
                    return None;
                }
            },
        };
        let mut expect = Expect::default();
        let text = |r: &mut Self, key: &str| get(key).and_then(|n| r.string(n, key));
        expect.outcome = text(self, "outcome");
        expect.state = text(self, "state");
        expect.reasons = get("reasons").and_then(|n| self.strings(n, "reasons"));
        expect.next_steps = get("next_steps").and_then(|n| self.strings(n, "next_steps"));
        expect.warnings = get("warnings").and_then(|n| self.strings(n, "warnings"));
        if let Some(n) = get("effects") {
            expect.effects = self.effects(n);
        }
        if let Some(n) = get("balance") {
            expect.balance = self.balance(n);
        }
        if let Some(n) = get("draws") {
            expect.draws = self.pairs(n, "draws", &["grant", "amount"]);
        }
        if let Some(n) = get("voided") {
            expect.voided = self.pairs(n, "voided", &["grant", "amount"]);
        }
        if let Some(n) = get("new_debts") {
            expect.new_debts = self.pairs(n, "new_debts", &["kind", "amount"]);
        }
        if let Some(n) = get("settlements") {
            let span = n.span;
            expect.settlements = self
                .rows(n, "settlements", &["debt", "grant", "amount"])
                .and_then(|rows| {
                    rows.into_iter()
                        .map(|r| {
                            let amount = self.decimal_of(r.get(2)?, span, "settlements.amount")?;
                            Some((r.first()?.clone(), r.get(1)?.clone(), amount))
                        })
                        .collect()
                });
        }
        if self.errors.len() > errors_before {
            return None;
        }
        Some(Case {
            name,
            line,
            account,
            request,
            expect,
        })
    }

    fn pairs(&mut self, node: &Node, what: &str, keys: &[&str]) -> Option<Vec<(String, Decimal)>> {
        let span = node.span;
        let rows = self.rows(node, what, keys)?;
        rows.into_iter()
            .map(|r| {
                let amount = self.decimal_of(r.get(1)?, span, what)?;
                Some((r.first()?.clone(), amount))
            })
            .collect()
    }

    fn effects(&mut self, node: &Node) -> Option<Vec<EffectExpect>> {
        let DocValue::Array(items) = &node.value else {
            self.error(Code::WrongType, node.span, "`effects` must be a list of codes or tables like { code = \"...\", amount = \"...\" }");
            return None;
        };
        let mut out = Vec::new();
        for item in items {
            match &item.value {
                DocValue::String(code) => out.push((code.to_string(), Vec::new())),
                DocValue::Object(entries) => {
                    let mut code = None;
                    let mut params = Vec::new();
                    for (k, _, v) in entries {
                        let text = match &v.value {
                            DocValue::String(s) | DocValue::Number(s) => s.to_string(),
                            DocValue::Bool(b) => b.to_string(),
                            _ => {
                                self.error(
                                    Code::WrongType,
                                    v.span,
                                    "effect parameters are strings",
                                );
                                return None;
                            }
                        };
                        if k == "code" {
                            code = Some(text);
                        } else {
                            params.push((k.to_string(), text));
                        }
                    }
                    let Some(code) = code else {
                        self.error(Code::MissingField, item.span, "an effect needs its `code`");
                        return None;
                    };
                    out.push((code, params));
                }
                _ => {
                    self.error(Code::WrongType, item.span, "an effect is a code or a table");
                    return None;
                }
            }
        }
        Some(out)
    }

    fn balance(&mut self, node: &Node) -> Option<Vec<(String, Decimal)>> {
        let DocValue::Object(entries) = &node.value else {
            self.error(
                Code::WrongType,
                node.span,
                "`balance` is a table like { usable = \"0\", debt = \"120\" }",
            );
            return None;
        };
        let mut out = Vec::new();
        for (k, k_span, v) in entries {
            if !["usable", "locked", "expired", "debt"].contains(&k.as_ref()) {
                self.error(
                    Code::UnknownField,
                    *k_span,
                    &format!(
                        "unknown balance total `{k}`; expected usable, locked, expired or debt"
                    ),
                );
                return None;
            }
            out.push((k.to_string(), self.amount(v, &format!("balance.{k}"))?));
        }
        Some(out)
    }
}

// ───────────── Running ─────────────

/// One difference between what a case expects and what the policy did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    pub field: String,
    pub expected: String,
    pub got: String,
}

/// A case's outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail(Vec<Mismatch>),
    /// The case could not run: a bad account, unknown role, a failed operation.
    Error(String),
}

/// Loads a case's account for a policy.
pub fn load_account(policy: &Policy, file: &CaseFile, case: &Case) -> Result<Account, String> {
    match &case.account {
        AccountSource::File(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
            let name = path.display().to_string();
            policy
                .snapshot(&name, &text, Format::from_name(&name), None)
                .map_err(|e| e.summary())
        }
        AccountSource::Inline(node) => {
            crate::snapshot::validate::account(policy.program(), node, None).map_err(|errors| {
                let parts: Vec<String> = errors
                    .iter()
                    .map(|d| format!("{}: {}", file.source.location(d.span), d.message))
                    .collect();
                parts.join("; ")
            })
        }
    }
}

/// What running a case produced, for comparing policies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observed {
    Decision(Box<DecisionSummary>),
    Ledger(LedgerSummary),
    Error(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecisionSummary {
    pub outcome: String,
    pub state: String,
    pub reasons: Vec<String>,
    pub next_steps: Vec<String>,
    pub warnings: Vec<String>,
    pub effects: Vec<EffectExpect>,
    pub balance: [(String, Decimal); 4],
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerSummary {
    pub draws: Vec<(String, Decimal)>,
    pub voided: Vec<(String, Decimal)>,
    pub new_debts: Vec<(String, Decimal)>,
    pub settlements: Vec<(String, String, Decimal)>,
}

/// Summarises a decision as plain data.
pub fn summarize(d: &Decision<'_>) -> Result<DecisionSummary, String> {
    let b = d.balance();
    Ok(DecisionSummary {
        outcome: d.outcome().as_str().to_owned(),
        state: d.state().to_owned(),
        reasons: d.reason_codes().map(str::to_owned).collect(),
        next_steps: d.next_step_codes().map(str::to_owned).collect(),
        warnings: d.warning_codes().map(str::to_owned).collect(),
        effects: d
            .effects()
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|e| (e.code, e.params))
            .collect(),
        balance: [
            ("usable".to_owned(), b.usable),
            ("locked".to_owned(), b.locked),
            ("expired".to_owned(), b.expired),
            ("debt".to_owned(), b.debt),
        ],
    })
}

fn ledger_summary(r: &LedgerResult) -> LedgerSummary {
    LedgerSummary {
        draws: r
            .draws
            .iter()
            .map(|d| (d.grant.clone(), d.amount))
            .collect(),
        voided: r
            .voided
            .iter()
            .map(|v| (v.grant.clone(), v.amount))
            .collect(),
        new_debts: r
            .new_debts
            .iter()
            .map(|d| (d.kind.clone(), d.amount))
            .collect(),
        settlements: r
            .settlements
            .iter()
            .map(|s| (s.debt.clone(), s.grant.clone(), s.amount))
            .collect(),
    }
}

/// Runs a request or operation on an account.
pub fn observe(policy: &Policy, account: &Account, request: &CaseRequest) -> Observed {
    let result = match request {
        CaseRequest::Decide { role, action } => {
            let r = match policy.request(role, action) {
                Ok(r) => r,
                Err(e) => return Observed::Error(e.to_string()),
            };
            return match policy
                .decide(account, &r)
                .map_err(|e| e.to_string())
                .and_then(|d| summarize(&d))
            {
                Ok(s) => Observed::Decision(Box::new(s)),
                Err(e) => Observed::Error(e),
            };
        }
        CaseRequest::Charge(amount) => policy.charge(account, *amount),
        CaseRequest::Settle => policy.settle(account),
        CaseRequest::Grant(spec) => policy.grant(account, spec),
        CaseRequest::Refund(grant) => policy.refund(account, grant),
    };
    match result {
        Ok(r) => Observed::Ledger(ledger_summary(&r)),
        Err(e) => Observed::Error(e.to_string()),
    }
}

/// Runs one case against a policy.
pub fn run(policy: &Policy, file: &CaseFile, case: &Case) -> Verdict {
    let account = match load_account(policy, file, case) {
        Ok(a) => a,
        Err(e) => return Verdict::Error(e),
    };
    let mut m = Vec::new();
    match observe(policy, &account, &case.request) {
        Observed::Error(e) => return Verdict::Error(e),
        Observed::Decision(s) => {
            let e = &case.expect;
            compare(&mut m, "outcome", &e.outcome, &s.outcome);
            compare(&mut m, "state", &e.state, &s.state);
            compare_list(&mut m, "reasons", &e.reasons, &s.reasons);
            compare_list(&mut m, "next_steps", &e.next_steps, &s.next_steps);
            compare_list(&mut m, "warnings", &e.warnings, &s.warnings);
            if let Some(want) = &e.effects {
                let got_codes: Vec<String> = s.effects.iter().map(|(c, _)| c.clone()).collect();
                let want_codes: Vec<String> = want.iter().map(|(c, _)| c.clone()).collect();
                compare_list(&mut m, "effects", &Some(want_codes), &got_codes);
                for (code, params) in want {
                    let got = s.effects.iter().find(|(c, _)| c == code);
                    for (k, v) in params {
                        let got_v = got
                            .and_then(|(_, ps)| ps.iter().find(|(pk, _)| pk == k))
                            .map(|(_, pv)| pv.clone());
                        let same = match (
                            crate::amount::parse(v),
                            got_v.as_deref().map(crate::amount::parse),
                        ) {
                            (Ok(a), Some(Ok(b))) => a == b,
                            _ => got_v.as_deref() == Some(v.as_str()),
                        };
                        if !same {
                            m.push(Mismatch {
                                field: format!("effects.{code}.{k}"),
                                expected: v.clone(),
                                got: got_v.unwrap_or_else(|| "nothing".to_owned()),
                            });
                        }
                    }
                }
            }
            if let Some(want) = &e.balance {
                for (k, v) in want {
                    let got = s
                        .balance
                        .iter()
                        .find(|(n, _)| n == k)
                        .map(|(_, d)| *d)
                        .unwrap_or_default();
                    if got != *v {
                        m.push(Mismatch {
                            field: format!("balance.{k}"),
                            expected: crate::amount::format(*v),
                            got: crate::amount::format(got),
                        });
                    }
                }
            }
            if let Some(field) = ledger_expectation(&case.expect) {
                m.push(Mismatch {
                    field: field.to_owned(),
                    expected: "a ledger operation".to_owned(),
                    got: "a decision (the case has no `operation`)".to_owned(),
                });
            }
        }
        Observed::Ledger(l) => {
            let e = &case.expect;
            compare_rows(&mut m, "draws", &e.draws, &l.draws, |(g, a)| {
                format!("{g} {}", crate::amount::format(*a))
            });
            compare_rows(&mut m, "voided", &e.voided, &l.voided, |(g, a)| {
                format!("{g} {}", crate::amount::format(*a))
            });
            compare_rows(&mut m, "new_debts", &e.new_debts, &l.new_debts, |(k, a)| {
                format!("{k} {}", crate::amount::format(*a))
            });
            compare_rows(
                &mut m,
                "settlements",
                &e.settlements,
                &l.settlements,
                |(d, g, a)| format!("{d} from {g} {}", crate::amount::format(*a)),
            );
        }
    }
    if m.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Fail(m)
    }
}

fn ledger_expectation(e: &Expect) -> Option<&'static str> {
    if e.draws.is_some() {
        Some("draws")
    } else if e.settlements.is_some() {
        Some("settlements")
    } else if e.new_debts.is_some() {
        Some("new_debts")
    } else if e.voided.is_some() {
        Some("voided")
    } else {
        None
    }
}

fn compare(m: &mut Vec<Mismatch>, field: &str, want: &Option<String>, got: &str) {
    if let Some(w) = want {
        if w != got {
            m.push(Mismatch {
                field: field.to_owned(),
                expected: w.clone(),
                got: got.to_owned(),
            });
        }
    }
}

fn compare_list(m: &mut Vec<Mismatch>, field: &str, want: &Option<Vec<String>>, got: &[String]) {
    if let Some(w) = want {
        if w.as_slice() != got {
            m.push(Mismatch {
                field: field.to_owned(),
                expected: format!("[{}]", w.join(", ")),
                got: format!("[{}]", got.join(", ")),
            });
        }
    }
}

fn compare_rows<T: PartialEq>(
    m: &mut Vec<Mismatch>,
    field: &str,
    want: &Option<Vec<T>>,
    got: &[T],
    show: impl Fn(&T) -> String,
) {
    if let Some(w) = want {
        if w.as_slice() != got {
            let list = |items: &[T]| {
                format!(
                    "[{}]",
                    items.iter().map(&show).collect::<Vec<_>>().join(", ")
                )
            };
            m.push(Mismatch {
                field: field.to_owned(),
                expected: list(w),
                got: list(got),
            });
        }
    }
}

/// Case files under `path`: the file itself, or every `*.tests.toml` below
/// a folder, sorted.
pub fn discover(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    if !path.is_dir() {
        // Reading it reports a missing file.
        std::fs::metadata(path)?;
        return Ok(vec![path.to_path_buf()]);
    }
    let mut found = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let p = entry?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(".tests.toml") {
                found.push(p);
            }
        }
    }
    found.sort();
    Ok(found)
}
