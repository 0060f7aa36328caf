//! A decision explained for a person, in one screen.

use std::fmt::Write;

use super::{Decision, EvalError};

/// Renders the decision, then every evaluated step with its policy line.
pub(super) fn render(d: &Decision<'_>) -> Result<String, EvalError> {
    let mut out = String::new();
    let b = d.balance();
    let _ = writeln!(
        out,
        "{}: {} → {}: {}",
        d.program.name,
        d.role(),
        d.action(),
        d.outcome().as_str().to_uppercase()
    );
    let _ = writeln!(out, "state: {}", d.state());
    let _ = writeln!(
        out,
        "balance: usable {}, locked {}, expired {}, debt {}",
        crate::amount::format(b.usable),
        crate::amount::format(b.locked),
        crate::amount::format(b.expired),
        crate::amount::format(b.debt)
    );
    section(
        &mut out,
        "reasons",
        d.reasons()?.into_iter().map(|f| (f.code, f.message)),
    );
    section(
        &mut out,
        "warnings",
        d.warnings()?.into_iter().map(|f| (f.code, f.message)),
    );
    section(
        &mut out,
        "next steps",
        d.next_steps()?.into_iter().map(|s| (s.code, s.message)),
    );
    let effects = d.effects()?.into_iter().map(|e| {
        let params: Vec<String> = e.params.iter().map(|(k, v)| format!("{k} = {v}")).collect();
        (e.code, params.join(", "))
    });
    section(&mut out, "effects", effects);

    let Some(trace) = d.trace() else {
        return Ok(out);
    };
    steps(&mut out, &d.program.source, trace);
    Ok(out)
}

/// Every evaluated step with its policy line and what it read.
pub(crate) fn steps(out: &mut String, source: &crate::span::Source, trace: &[super::TraceStep]) {
    let _ = writeln!(out, "\nwhy (✓ holds, · does not):");
    let width = trace
        .iter()
        .filter_map(|t| t.line)
        .max()
        .unwrap_or(0)
        .to_string()
        .len();
    for step in trace {
        let mark = if step.fired { '✓' } else { '·' };
        let _ = writeln!(out, "  {mark} {} {}", step.kind, step.name);
        if let Some(line) = step.line {
            let text = source.line_text(line).trim();
            let _ = writeln!(out, "      {line:>width$} │ {text}");
        }
        if !step.reads.is_empty() {
            let reads: Vec<String> = step
                .reads
                .iter()
                .map(|(k, v)| format!("{k} = {v}"))
                .collect();
            let pad = " ".repeat(width);
            let _ = writeln!(out, "      {pad} │   {}", reads.join(", "));
        }
    }
}

fn section(out: &mut String, title: &str, items: impl Iterator<Item = (String, String)>) {
    let items: Vec<(String, String)> = items.collect();
    if items.is_empty() {
        return;
    }
    let _ = writeln!(out, "{title}:");
    let width = items.iter().map(|(c, _)| c.len()).max().unwrap_or(0);
    for (code, text) in items {
        let _ = writeln!(out, "  {code:<width$}  {text}");
    }
}
