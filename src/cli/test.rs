//! `tollgate test PATH...`: run policy test cases.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::Policy;
use crate::cases::{self, Verdict};
use serde::Serialize;

use super::files::{self, describe_io, shown};
use super::load::print_diagnostics;
use super::out::{self, Stop};
use super::{Exit, OutputFormat};

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
    // A case file reached through several of the paths given runs once.
    let mut seen = cases::Seen::default();
    for path in &args.paths {
        match cases::discover(path) {
            Ok(found) if found.is_empty() => {
                out::error(&format!("no `*.tests.toml` files under `{}`", shown(path)));
                exit = Exit::BadInput;
            }
            Ok(found) => files.extend(found.into_iter().filter(|p| seen.first_case_file(p))),
            Err(e) => {
                out::error(&e.to_string());
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
        let text = match files::read_text_capped(&path, cases::MAX_CASE_FILE_BYTES) {
            Ok(t) => t,
            Err(message) => {
                out::error(&message);
                exit = Exit::BadInput;
                continue;
            }
        };
        let file = match cases::parse(&path, &text) {
            Ok(f) => f,
            Err(e) => {
                print_diagnostics(&e.diagnostics);
                exit = Exit::BadInput;
                continue;
            }
        };
        // A policy that does not load fails the run whether or not the
        // file holds cases: one that cannot be read is bad input (2), one
        // with errors fails as `check` does (1). It is said once, for the
        // first case file that names it.
        let policy =
            policies.entry(file.policy.clone()).or_insert_with(|| {
                match Policy::from_file(&file.policy) {
                    Ok(p) => Some(p),
                    Err(crate::PolicyError::Invalid(d)) => {
                        print_diagnostics(&d);
                        exit = exit.max(Exit::Failed);
                        None
                    }
                    Err(crate::PolicyError::Io { source, .. }) => {
                        out::error(&format!(
                            "{} (the policy of `{}`)",
                            describe_io(&file.policy, &source),
                            shown(&file.path)
                        ));
                        exit = exit.max(Exit::BadInput);
                        None
                    }
                }
            });
        if file.cases.is_empty() {
            // A file that states no case tests nothing: a run of such files
            // alone would pass having checked nothing.
            out::error(&format!(
                "`{}` holds no cases; add a `[[case]]` table, or delete the file",
                shown(&file.path)
            ));
            exit = exit.max(Exit::BadInput);
        }
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
                if let Err(stop) = out::line(&failure_line(&failure)) {
                    return stopped(stop, exit);
                }
            }
            report.failures.push(failure);
        }
    }
    if report.failed > 0 {
        exit = exit.max(Exit::Failed);
    }
    let printed = match args.format {
        // Nothing ran because the cases could not be found or read, or
        // their policy did not load: the errors say so, and "0 passed, 0
        // failed" would read as a clean run.
        OutputFormat::Human if exit != Exit::Ok && report.passed + report.failed == 0 => Ok(()),
        OutputFormat::Human => out::line(&format!(
            "{} passed, {} failed",
            report.passed, report.failed
        )),
        OutputFormat::Json => match serde_json::to_string_pretty(&report) {
            Ok(text) => out::line(&text),
            Err(_) => Ok(()),
        },
    };
    out::ended(printed, exit)
}

/// The exit code of a run whose output ended before its cases did: a
/// failure was being printed, so the run failed.
fn stopped(stop: Stop, exit: Exit) -> Exit {
    stop.exit(exit.max(Exit::Failed))
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
