//! `tollgate verify POLICY...`: prove each policy's assertions for every
//! account, or refute one with a counterexample the evaluator confirms.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::verify::{self, AssertionResult, Verdict};

use super::files::shown;
use super::load::{self, Loaded};
use super::out;
use super::{DiagnosticFormat, Exit};

#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// Policy files whose assertions to prove.
    #[arg(required = true, value_name = "POLICY")]
    policies: Vec<PathBuf>,
    /// A reading for people, JSON, or GitHub Actions annotations.
    #[arg(long, value_enum, default_value_t = DiagnosticFormat::Human)]
    format: DiagnosticFormat,
    /// Seconds the solver may take for each policy before verify gives up (exit 2).
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    timeout: u64,
}

#[derive(Serialize)]
struct Report {
    version: u32,
    files: Vec<FileReport>,
    proven: usize,
    refuted: usize,
    unknown: usize,
}

#[derive(Serialize)]
struct FileReport {
    file: String,
    assertions: Vec<AssertionReport>,
}

#[derive(Serialize)]
struct AssertionReport {
    name: String,
    source: String,
    requests: usize,
    result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    counterexample: Option<CounterexampleReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

#[derive(Serialize)]
struct CounterexampleReport {
    role: String,
    action: String,
    snapshot: serde_json::Value,
    decision: serde_json::Value,
}

pub fn run(args: &VerifyArgs) -> Exit {
    let mut exit = Exit::Ok;
    let mut report = Report {
        version: 1,
        files: Vec::new(),
        proven: 0,
        refuted: 0,
        unknown: 0,
    };
    let mut text = String::new();
    for path in &args.policies {
        let policy = match load::policy(path) {
            Loaded::Ok(p) => p,
            // Exit 1 means refuted; a policy that does not load is bad input.
            Loaded::Failed(_) => return Exit::BadInput,
        };
        let results = match verify::verify(&policy, Duration::from_secs(args.timeout)) {
            Ok(r) => r,
            Err(e) => {
                out::error(&format!("{}: {e}", shown(path)));
                return Exit::BadInput;
            }
        };
        let file = shown(path);
        if results.is_empty() && args.format == DiagnosticFormat::Human {
            text.push_str(&format!(
                "{file}: no assertions to verify (docs/language.md, \"Assertions\")\n"
            ));
        }
        let mut assertions = Vec::new();
        for r in &results {
            match &r.verdict {
                Verdict::Proven => report.proven += 1,
                Verdict::Refuted(_) => {
                    report.refuted += 1;
                    exit = exit.max(Exit::Failed);
                }
                Verdict::Unknown(_) | Verdict::Unevaluable(_) => {
                    report.unknown += 1;
                    exit = exit.max(Exit::Failed);
                }
            }
            match args.format {
                DiagnosticFormat::Human => human(&mut text, r),
                DiagnosticFormat::Github => github(&mut text, &file, r),
                DiagnosticFormat::Json => {}
            }
            assertions.push(json(r));
        }
        report.files.push(FileReport { file, assertions });
    }
    let printed = match args.format {
        DiagnosticFormat::Json => {
            let mut doc = serde_json::to_string_pretty(&report).unwrap_or_default();
            doc.push('\n');
            out::write(doc.as_bytes())
        }
        DiagnosticFormat::Human => {
            text.push_str(&format!(
                "{} proven, {} refuted, {} unknown\n",
                report.proven, report.refuted, report.unknown
            ));
            out::write(text.as_bytes())
        }
        DiagnosticFormat::Github => out::write(text.as_bytes()),
    };
    out::ended(printed, exit)
}

fn human(text: &mut String, r: &AssertionResult) {
    let requests = match r.requests {
        1 => "1 request".to_owned(),
        n => format!("{n} requests"),
    };
    match &r.verdict {
        Verdict::Proven => {
            text.push_str(&format!(
                "proven   {} ({}, {requests})\n",
                r.name, r.location
            ));
        }
        Verdict::Refuted(c) => {
            text.push_str(&format!("REFUTED  {} ({})\n", r.name, r.location));
            text.push_str(&format!(
                "  counterexample: role `{}`, action `{}`, on this snapshot:\n",
                c.role, c.action
            ));
            text.push_str(&indent(&c.snapshot, "    "));
            text.push_str("  the evaluator decides:\n");
            text.push_str(&indent(&c.decision, "    "));
        }
        Verdict::Unknown(why) => {
            text.push_str(&format!("UNKNOWN  {} ({}): {why}\n", r.name, r.location));
        }
        Verdict::Unevaluable(u) => {
            text.push_str(&format!(
                "UNKNOWN  {} ({}): {}\n",
                r.name,
                r.location,
                unevaluable(u)
            ));
            text.push_str(&format!(
                "  role `{}`, action `{}`, on this snapshot:\n",
                u.role, u.action
            ));
            text.push_str(&indent(&u.snapshot, "    "));
        }
    }
}

/// Why an assertion is neither proven nor refuted on an account the
/// evaluator refuses.
fn unevaluable(u: &verify::Unevaluable) -> String {
    format!(
        "the solver, computing exactly, finds it failing on an account the policy cannot be evaluated on, so `tollgate decide` exits 2 there: {}",
        u.error
    )
}

fn indent(block: &str, by: &str) -> String {
    block
        .lines()
        .map(|l| format!("{by}{l}\n"))
        .collect::<String>()
}

fn github(text: &mut String, file: &str, r: &AssertionResult) {
    let place = format!(
        "file={},line={},col={}",
        super::render::escape_property(file),
        r.line,
        r.column
    );
    match &r.verdict {
        Verdict::Proven => {}
        Verdict::Refuted(c) => {
            let message = format!(
                "assertion `{}` is refuted: role `{}`, action `{}` on this snapshot:\n{}",
                r.name, c.role, c.action, c.snapshot
            );
            text.push_str(&format!(
                "::error {place}::{}\n",
                super::render::escape_data(&message)
            ));
        }
        Verdict::Unknown(why) => {
            let message = format!("assertion `{}` is not proven: {why}", r.name);
            text.push_str(&format!(
                "::error {place}::{}\n",
                super::render::escape_data(&message)
            ));
        }
        Verdict::Unevaluable(u) => {
            let message = format!(
                "assertion `{}` is not proven: {}; role `{}`, action `{}` on this snapshot:\n{}",
                r.name,
                unevaluable(u),
                u.role,
                u.action,
                u.snapshot
            );
            text.push_str(&format!(
                "::error {place}::{}\n",
                super::render::escape_data(&message)
            ));
        }
    }
}

fn json(r: &AssertionResult) -> AssertionReport {
    let (result, counterexample, reason) = match &r.verdict {
        Verdict::Proven => ("proven", None, None),
        Verdict::Refuted(c) => (
            "refuted",
            Some(CounterexampleReport {
                role: c.role.clone(),
                action: c.action.clone(),
                snapshot: serde_json::from_str(&c.snapshot).unwrap_or_default(),
                decision: serde_json::from_str(&c.decision).unwrap_or_default(),
            }),
            None,
        ),
        Verdict::Unknown(why) => ("unknown", None, Some(why.clone())),
        // The account, with the evaluator's error in place of a decision.
        Verdict::Unevaluable(u) => (
            "unknown",
            Some(CounterexampleReport {
                role: u.role.clone(),
                action: u.action.clone(),
                snapshot: serde_json::from_str(&u.snapshot).unwrap_or_default(),
                decision: serde_json::json!({ "error": u.error }),
            }),
            Some(unevaluable(u)),
        ),
    };
    AssertionReport {
        name: r.name.clone(),
        source: r.location.clone(),
        requests: r.requests,
        result,
        counterexample,
        reason,
    }
}
