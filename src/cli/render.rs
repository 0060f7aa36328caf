//! Printing diagnostics: miette for people, JSON, GitHub annotations.

use std::io::{IsTerminal, Read, Write};
use std::path::Path;

use serde::Serialize;
use tollgate::diagnostic::{Diagnostic, Diagnostics, Rendered};
use tollgate::span::Source;

use super::DiagnosticFormat;

/// Bytes of a policy file, or a message saying why it cannot be read.
/// Reads one byte past the policy limit at most: enough to refuse it.
pub fn read_input(path: &Path) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| describe_io(path, &e))?;
    let mut bytes = Vec::new();
    let limit = tollgate::parse::MAX_POLICY_BYTES as u64 + 1;
    file.take(limit)
        .read_to_end(&mut bytes)
        .map_err(|e| describe_io(path, &e))?;
    Ok(bytes)
}

pub fn describe_io(path: &Path, e: &std::io::Error) -> String {
    let what = match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        std::io::ErrorKind::IsADirectory => "is a directory".to_owned(),
        _ if path.is_dir() => "is a directory".to_owned(),
        _ => e.to_string(),
    };
    format!("cannot read `{}`: {what}", path.display())
}

/// Collects diagnostics of several files and prints them in one format.
pub struct Output {
    format: DiagnosticFormat,
    files: Vec<JsonFile>,
    errors: usize,
    warnings: usize,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    errors: usize,
    warnings: usize,
    files: &'a [JsonFile],
}

#[derive(Serialize)]
struct JsonFile {
    file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    diagnostics: Vec<JsonDiagnostic>,
}

#[derive(Serialize)]
struct JsonDiagnostic {
    code: &'static str,
    severity: &'static str,
    message: String,
    line: u32,
    column: u32,
    end_line: u32,
    end_column: u32,
    label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<String>,
    related: Vec<JsonLabel>,
}

#[derive(Serialize)]
struct JsonLabel {
    line: u32,
    column: u32,
    message: String,
}

impl Output {
    pub fn new(format: DiagnosticFormat) -> Output {
        Output {
            format,
            files: Vec::new(),
            errors: 0,
            warnings: 0,
        }
    }

    /// A file that could not be read at all.
    pub fn io_error(&mut self, name: &str, message: &str) {
        self.errors += 1;
        match self.format {
            DiagnosticFormat::Human => eprintln!("error: {message}"),
            DiagnosticFormat::Github => {
                println!(
                    "::error file={}::{}",
                    escape_property(name),
                    escape_data(message)
                );
            }
            DiagnosticFormat::Json => self.files.push(JsonFile {
                file: name.to_owned(),
                error: Some(message.to_owned()),
                diagnostics: Vec::new(),
            }),
        }
    }

    pub fn file(&mut self, diagnostics: &Diagnostics) {
        self.errors += diagnostics.error_count();
        self.warnings += diagnostics.warning_count();
        let source = &diagnostics.source;
        match self.format {
            DiagnosticFormat::Human => {
                let handler = human_handler();
                let mut text = String::new();
                for d in &diagnostics.items {
                    let rendered = Rendered::new(source, d.clone());
                    // Rendering into a String cannot fail.
                    let _ = handler.render_report(&mut text, &rendered);
                    text.push('\n');
                }
                eprint!("{text}");
            }
            DiagnosticFormat::Github => {
                let mut stdout = std::io::stdout().lock();
                for d in &diagnostics.items {
                    let _ = writeln!(stdout, "{}", github_line(source, d));
                }
            }
            DiagnosticFormat::Json => self.files.push(JsonFile {
                file: source.name().to_owned(),
                error: None,
                diagnostics: diagnostics
                    .items
                    .iter()
                    .map(|d| json_diagnostic(source, d))
                    .collect(),
            }),
        }
    }

    pub fn finish(self) {
        match self.format {
            DiagnosticFormat::Human => {
                if self.errors + self.warnings > 0 {
                    eprintln!("{}", summary(self.errors, self.warnings));
                }
            }
            DiagnosticFormat::Github => {}
            DiagnosticFormat::Json => {
                let report = JsonReport {
                    version: 1,
                    errors: self.errors,
                    warnings: self.warnings,
                    files: &self.files,
                };
                if let Ok(text) = serde_json::to_string_pretty(&report) {
                    println!("{text}");
                }
            }
        }
    }
}

fn summary(errors: usize, warnings: usize) -> String {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    format!(
        "{}, {}",
        plural(errors, "error"),
        plural(warnings, "warning")
    )
}

/// miette's graphical handler; colour only on a terminal that wants it.
pub fn human_handler() -> miette::GraphicalReportHandler {
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let theme = if colour {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    miette::GraphicalReportHandler::new_themed(theme).with_width(100)
}

fn json_diagnostic(source: &Source, d: &Diagnostic) -> JsonDiagnostic {
    let start = source.line_col(d.span.start);
    let end = source.line_col(d.span.end);
    JsonDiagnostic {
        code: d.code.name(),
        severity: d.severity.as_str(),
        message: d.message.clone(),
        line: start.line,
        column: start.col,
        end_line: end.line,
        end_column: end.col,
        label: d.label.clone(),
        help: d.help.clone(),
        related: d
            .related
            .iter()
            .map(|l| {
                let at = source.line_col(l.span.start);
                JsonLabel {
                    line: at.line,
                    column: at.col,
                    message: l.text.clone(),
                }
            })
            .collect(),
    }
}

/// `::error file=p,line=3,col=5,endLine=3,endColumn=9,title=code::message`
fn github_line(source: &Source, d: &Diagnostic) -> String {
    let start = source.line_col(d.span.start);
    let end = source.line_col(d.span.end);
    let mut message = d.message.clone();
    if let Some(help) = &d.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    format!(
        "::{} file={},line={},col={},endLine={},endColumn={},title={}::{}",
        d.severity.as_str(),
        escape_property(source.name()),
        start.line,
        start.col,
        end.line,
        end.col,
        escape_property(d.code.qualified()),
        escape_data(&message)
    )
}

/// GitHub's escaping for a workflow command's message.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// GitHub's escaping for a workflow command's property value.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}
