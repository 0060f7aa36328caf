//! Printing diagnostics: miette for people, JSON, GitHub annotations.
//!
//! People get at most [`MAX_HUMAN_DIAGNOSTICS`] diagnostics in full, each
//! rendered from a cropped [`snippet`](super::snippet) of its source; the
//! machine formats list every diagnostic, each located in bounded time.

use std::io::IsTerminal;
use std::path::Path;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::span::Source;
use serde::Serialize;

use super::DiagnosticFormat;
use super::files::{describe_io, shown_name};
use super::out::{self, Stop};
use super::snippet::{self, Locator, clean_message};

/// Most diagnostics rendered in full for people in one run; the rest are
/// counted. Nobody reads the fiftieth error before fixing the first, and
/// each rendering costs a snippet: this keeps a run of 20,000 warnings
/// about as fast as one of fifty. `--format json|github` list them all.
pub const MAX_HUMAN_DIAGNOSTICS: usize = 50;

/// Bytes of a policy file, or a message saying why it cannot be read.
/// Reads one byte past the policy limit at most: enough to refuse it. A
/// named pipe or a terminal is refused, not waited on.
pub fn read_input(path: &Path) -> Result<Vec<u8>, String> {
    crate::input::read_capped(path, crate::parse::MAX_POLICY_BYTES)
        .map_err(|e| describe_io(path, &e))
}

/// Collects diagnostics of several files and prints them in one format.
pub struct Output {
    format: DiagnosticFormat,
    files: Vec<JsonFile>,
    errors: usize,
    warnings: usize,
    /// Diagnostics rendered in full for people so far.
    shown: usize,
    hidden_errors: usize,
    hidden_warnings: usize,
    /// Set when standard output ended; nothing more is printed.
    stopped: Option<Stop>,
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
    /// Errors found but not listed (a capped report).
    #[serde(skip_serializing_if = "is_zero")]
    omitted: usize,
    /// Warnings found but not listed.
    #[serde(skip_serializing_if = "is_zero")]
    omitted_warnings: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
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
    /// The text that fixes it in place of the span, when one name does.
    #[serde(skip_serializing_if = "Option::is_none")]
    suggestion: Option<String>,
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
            shown: 0,
            hidden_errors: 0,
            hidden_warnings: 0,
            stopped: None,
        }
    }

    /// A file that could not be read at all.
    pub fn io_error(&mut self, name: &str, message: &str) {
        self.errors += 1;
        match self.format {
            DiagnosticFormat::Human => out::error(message),
            DiagnosticFormat::Github => {
                let line = format!(
                    "::error file={}::{}\n",
                    escape_property(&shown_name(name)),
                    escape_data(message)
                );
                self.print(&line);
            }
            DiagnosticFormat::Json => self.files.push(JsonFile {
                file: name.to_owned(),
                error: Some(message.to_owned()),
                diagnostics: Vec::new(),
                omitted: 0,
                omitted_warnings: 0,
            }),
        }
    }

    pub fn file(&mut self, diagnostics: &Diagnostics) {
        self.errors += diagnostics.error_count();
        self.warnings += diagnostics.warning_count();
        let source = &diagnostics.source;
        let mut at = Locator::new(source.text());
        match self.format {
            DiagnosticFormat::Human => {
                let handler = human_handler();
                let mut text = String::new();
                for d in &diagnostics.items {
                    if self.shown == MAX_HUMAN_DIAGNOSTICS {
                        if d.is_error() {
                            self.hidden_errors += 1;
                        } else {
                            self.hidden_warnings += 1;
                        }
                        continue;
                    }
                    self.shown += 1;
                    human(&mut text, &handler, source, &mut at, d);
                }
                self.hidden_errors += diagnostics.omitted;
                self.hidden_warnings += diagnostics.omitted_warnings;
                out::err(&text);
            }
            DiagnosticFormat::Github => {
                let mut text = String::new();
                for d in &diagnostics.items {
                    text.push_str(&github_line(source, &mut at, d));
                    text.push('\n');
                }
                if diagnostics.omitted > 0 {
                    text.push_str(&format!(
                        "::error file={}::and {} more errors, not listed\n",
                        escape_property(source.name()),
                        diagnostics.omitted
                    ));
                }
                if diagnostics.omitted_warnings > 0 {
                    text.push_str(&format!(
                        "::warning file={}::and {} more warnings, not listed\n",
                        escape_property(source.name()),
                        diagnostics.omitted_warnings
                    ));
                }
                self.print(&text);
            }
            DiagnosticFormat::Json => self.files.push(JsonFile {
                file: source.name().to_owned(),
                error: None,
                omitted: diagnostics.omitted,
                omitted_warnings: diagnostics.omitted_warnings,
                diagnostics: diagnostics
                    .items
                    .iter()
                    .map(|d| json_diagnostic(&mut at, d))
                    .collect(),
            }),
        }
    }

    /// Errors and warnings collected so far, unreadable files included.
    pub fn problems(&self) -> usize {
        self.errors + self.warnings
    }

    /// Prints to standard output unless it has ended.
    fn print(&mut self, text: &str) {
        if self.stopped.is_none() {
            if let Err(stop) = out::write(text.as_bytes()) {
                self.stopped = Some(stop);
            }
        }
    }

    /// Prints what is left: the count of what was not shown, the summary
    /// or the JSON report. An error when standard output ended early.
    pub fn finish(mut self) -> Result<(), Stop> {
        match self.format {
            DiagnosticFormat::Human => {
                let more = |n: usize, word: &str| {
                    (n > 0).then(|| format!("{n} more {word}{}", if n == 1 { "" } else { "s" }))
                };
                let hidden: Vec<String> = [
                    more(self.hidden_errors, "error"),
                    more(self.hidden_warnings, "warning"),
                ]
                .into_iter()
                .flatten()
                .collect();
                if !hidden.is_empty() {
                    out::err(&format!(
                        "… and {} not shown (the first {MAX_HUMAN_DIAGNOSTICS} are)\n",
                        hidden.join(" and ")
                    ));
                }
                if self.errors + self.warnings > 0 {
                    out::err(&format!("{}\n", summary(self.errors, self.warnings)));
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
                if let Ok(mut text) = serde_json::to_string_pretty(&report) {
                    text.push('\n');
                    self.print(&text);
                }
            }
        }
        match self.stopped {
            Some(stop) => Err(stop),
            None => Ok(()),
        }
    }
}

/// Renders one diagnostic for people: through miette with a cropped
/// snippet, or as `file:line:col: message` when its spans are unusable.
fn human(
    text: &mut String,
    handler: &miette::GraphicalReportHandler,
    source: &Source,
    at: &mut Locator<'_>,
    d: &Diagnostic,
) {
    if let Some(rendered) = snippet::rendered(source, at, d) {
        let before = text.len();
        // Rendering into a String cannot fail but by miette's own error.
        if handler.render_report(text, &rendered).is_ok() {
            for note in &rendered.notes {
                text.push_str("  note: ");
                text.push_str(note);
                text.push('\n');
            }
            text.push('\n');
            return;
        }
        text.truncate(before);
    }
    let (line, col) = at.line_col(d.span.start as usize);
    text.push_str(&format!(
        "{}:{line}:{col}: {}[{}]: {}\n",
        shown_name(source.name()),
        d.severity.as_str(),
        d.code.qualified(),
        clean_message(&d.message)
    ));
    if let Some(help) = &d.help {
        text.push_str(&format!("  help: {}\n", clean_message(help)));
    }
    text.push('\n');
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

fn json_diagnostic(at: &mut Locator<'_>, d: &Diagnostic) -> JsonDiagnostic {
    let (line, column) = at.line_col(d.span.start as usize);
    let (end_line, end_column) = at.line_col(d.span.end as usize);
    JsonDiagnostic {
        code: d.code.name(),
        severity: d.severity.as_str(),
        message: d.message.clone(),
        line,
        column,
        end_line,
        end_column,
        label: d.label.clone(),
        help: d.help.clone(),
        suggestion: d.suggestion.clone(),
        related: d
            .related
            .iter()
            .map(|l| {
                let (line, column) = at.line_col(l.span.start as usize);
                JsonLabel {
                    line,
                    column,
                    message: l.text.clone(),
                }
            })
            .collect(),
    }
}

/// `::error file=p,line=3,col=5,endLine=3,endColumn=9,title=code::message`
fn github_line(source: &Source, at: &mut Locator<'_>, d: &Diagnostic) -> String {
    let (line, col) = at.line_col(d.span.start as usize);
    let (end_line, end_col) = at.line_col(d.span.end as usize);
    let mut message = d.message.clone();
    if let Some(help) = &d.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    format!(
        "::{} file={},line={},col={},endLine={},endColumn={},title={}::{}",
        d.severity.as_str(),
        escape_property(&shown_name(source.name())),
        line,
        col,
        end_line,
        end_col,
        escape_property(d.code.qualified()),
        escape_data(&message)
    )
}

/// GitHub's escaping for a workflow command's message.
pub(super) fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// GitHub's escaping for a workflow command's property value.
pub(super) fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod fuzz;
