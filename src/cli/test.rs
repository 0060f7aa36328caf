//! `tollgate test PATH...`: run policy test cases.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Serialize;
use tollgate::Policy;
use tollgate::cases::{self, Verdict};

use super::render::{self, describe_io};
use super::{DiagnosticFormat, Exit, OutputFormat};

#[derive(clap::Args, Debug)]
pub struct TestArgs {
    /// Case files (`*.tests.toml`), or folders to search for them.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// One line per failure for people (the default), or JSON.
    #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
    format: OutputFormat,
}

#[derive(Serialize)]
struct Report {
    version: u32,
    passed: usize,
    failed: usize,
    failures: Vec<Failure>,
}

#[derive(Serialize)]
struct Failure {
    file: String,
    line: u32,
    case: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    mismatches: Vec<JsonMismatch>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Serialize)]
struct JsonMismatch {
    field: String,
    expected: String,
    got: String,
}

pub fn run(args: &TestArgs) -> Exit {
    let mut exit = Exit::Ok;
    let mut files = Vec::new();
    for path in &args.paths {
        match cases::discover(path) {
            Ok(found) if found.is_empty() => {
                eprintln!("error: no `*.tests.toml` files under `{}`", path.display());
                exit = Exit::BadInput;
            }
            Ok(found) => files.extend(found),
            Err(e) => {
                eprintln!("error: {e}");
                exit = Exit::BadInput;
            }
        }
    }
    let mut policies: HashMap<PathBuf, Option<Policy>> = HashMap::new();
    let mut report = Report {
        version: 1,
        passed: 0,
        failed: 0,
        failures: Vec::new(),
    };
    for path in files {
        let text = match cases::read_file(&path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {}", describe_io(&path, &e));
                exit = Exit::BadInput;
                continue;
            }
        };
        let file = match cases::parse(&path, &text) {
            Ok(f) => f,
            Err(e) => {
                let mut out = render::Output::new(DiagnosticFormat::Human);
                out.file(&e.diagnostics);
                out.finish();
                exit = Exit::BadInput;
                continue;
            }
        };
        let policy =
            policies.entry(file.policy.clone()).or_insert_with(|| {
                match Policy::from_file(&file.policy) {
                    Ok(p) => Some(p),
                    Err(tollgate::PolicyError::Invalid(d)) => {
                        let mut out = render::Output::new(DiagnosticFormat::Human);
                        out.file(&d);
                        out.finish();
                        None
                    }
                    Err(e) => {
                        eprintln!("error: {e} (the policy of `{}`)", file.path.display());
                        None
                    }
                }
            });
        for case in &file.cases {
            let verdict = match policy {
                Some(p) => cases::run(p, &file, case),
                None => Verdict::Error(format!(
                    "the policy `{}` did not load",
                    file.policy.display()
                )),
            };
            let (mismatches, error) = match verdict {
                Verdict::Pass => {
                    report.passed += 1;
                    continue;
                }
                Verdict::Fail(m) => (m, None),
                Verdict::Error(e) => (Vec::new(), Some(e)),
            };
            report.failed += 1;
            let failure = Failure {
                file: file.path.display().to_string(),
                line: case.line,
                case: case.name.clone(),
                mismatches: mismatches
                    .into_iter()
                    .map(|m| JsonMismatch {
                        field: m.field,
                        expected: m.expected,
                        got: m.got,
                    })
                    .collect(),
                error,
            };
            if args.format == OutputFormat::Human {
                println!("{}", failure_line(&failure));
            }
            report.failures.push(failure);
        }
    }
    match args.format {
        OutputFormat::Human => println!("{} passed, {} failed", report.passed, report.failed),
        OutputFormat::Json => {
            if let Ok(text) = serde_json::to_string_pretty(&report) {
                println!("{text}");
            }
        }
    }
    if report.failed > 0 {
        exit = exit.max(Exit::Failed);
    }
    exit
}

/// `FAIL file:line: name: field: expected X, got Y; field: ...`
fn failure_line(f: &Failure) -> String {
    let what = match &f.error {
        Some(e) => format!("cannot run: {e}"),
        None => {
            let parts: Vec<String> = f
                .mismatches
                .iter()
                .map(|m| format!("{}: expected {}, got {}", m.field, m.expected, m.got))
                .collect();
            parts.join("; ")
        }
    };
    format!("FAIL {}:{}: {}: {what}", f.file, f.line, f.case)
}
