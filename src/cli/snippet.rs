//! What miette is given to render one diagnostic: a few cropped lines of the
//! source around its spans, never the whole source.
//!
//! miette scans the source it is given from the start for every label, and
//! its graphical handler panics on a column past 65,535. So each diagnostic
//! gets a [`Snippet`]: the lines around each span, wide lines cut to a
//! window around the span, control characters made visible, and offsets
//! shifted to match. The line numbers and columns shown are the original
//! ones. Rendering one diagnostic costs its snippet, not its source.

use std::collections::HashMap;

use crate::diagnostic::{Diagnostic, Severity};
use crate::span::{Source, Span};
use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

use super::files::shown_name;

/// Widest source line shown whole, in bytes; a wider one is cut to a window
/// of this many bytes around the span (a terminal is 80 to 200 columns).
pub const MAX_SNIPPET_LINE_BYTES: usize = 160;

/// Most lines a span may run over and be shown whole; a longer one is
/// shown by its first line. Real multi-line spans (a rule, a block) are a
/// screen at most.
pub const MAX_SNIPPET_SPAN_LINES: usize = 30;

/// Longest message, label or help shown, in characters. They quote the
/// user's words (a field name), which a hostile input makes as long as it
/// likes.
pub const MAX_MESSAGE_CHARS: usize = 1000;

/// Bytes between the column checkpoints of a long line (see [`Locator`]).
const CHECKPOINT_BYTES: usize = 4096;

/// Lines and columns of offsets in one source, in time that does not grow
/// with the number of questions: a line index built once, and for a long
/// line, checkpoints of the character count every [`CHECKPOINT_BYTES`]
/// bytes, so a column costs at most that many bytes of counting.
pub struct Locator<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
    checkpoints: HashMap<usize, Vec<(usize, usize)>>,
}

impl<'a> Locator<'a> {
    pub fn new(text: &'a str) -> Locator<'a> {
        let line_starts = crate::span::line_starts(text).collect();
        Locator {
            text,
            line_starts,
            checkpoints: HashMap::new(),
        }
    }

    /// The 0-based line of a byte offset.
    fn line_index(&self, offset: usize) -> usize {
        self.line_starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1)
    }

    fn line_start(&self, line: usize) -> usize {
        self.line_starts
            .get(line)
            .copied()
            .unwrap_or(self.text.len())
    }

    /// Where a line's text ends, before its `\n` or lone `\r` (and a `\r`
    /// before a `\n`).
    fn line_end(&self, line: usize) -> usize {
        let next = self
            .line_starts
            .get(line + 1)
            .map_or(self.text.len(), |&s| s - 1);
        let start = self.line_start(line);
        if next > start && self.text.as_bytes().get(next - 1) == Some(&b'\r') {
            next - 1
        } else {
            next
        }
    }

    /// The offset itself if it is a character boundary in range, else the
    /// boundary before it.
    fn floor(&self, offset: usize) -> usize {
        let mut at = offset.min(self.text.len());
        while at > 0 && !self.text.is_char_boundary(at) {
            at -= 1;
        }
        at
    }

    /// 1-based line and column (in characters) of a byte offset, as
    /// [`Source::line_col`] says them.
    pub fn line_col(&mut self, offset: usize) -> (u32, u32) {
        let offset = self.floor(offset);
        let line = self.line_index(offset);
        let start = self.line_start(line);
        let (from, before) = if offset - start <= CHECKPOINT_BYTES {
            (start, 0)
        } else {
            let marks = self.checkpoints.entry(line).or_insert_with(|| {
                let end = self
                    .line_starts
                    .get(line + 1)
                    .copied()
                    .unwrap_or(self.text.len());
                let mut marks = Vec::new();
                let mut chars = 0;
                let mut last = start;
                let mut at = start + CHECKPOINT_BYTES;
                while at < end {
                    while !self.text.is_char_boundary(at) {
                        at -= 1;
                    }
                    chars += self.text.get(last..at).map_or(0, |s| s.chars().count());
                    marks.push((at, chars));
                    last = at;
                    at += CHECKPOINT_BYTES;
                }
                marks
            });
            let i = marks.partition_point(|&(at, _)| at <= offset);
            match i.checked_sub(1).and_then(|i| marks.get(i)) {
                Some(&(at, chars)) => (at, chars),
                None => (start, 0),
            }
        };
        let col = before + self.text.get(from..offset).map_or(0, |s| s.chars().count()) + 1;
        let clamp = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        (clamp(line + 1), clamp(col))
    }
}

/// A character as it may be shown: control characters (a NUL, a lone CR)
/// become their visible pictures, so a snippet never moves the cursor or
/// rings a bell.
fn visible(c: char, next: Option<char>) -> char {
    match c {
        '\n' | '\t' => c,
        '\r' if next == Some('\n') => c,
        '\u{0}'..='\u{1f}' => char::from_u32(0x2400 + c as u32).unwrap_or('\u{fffd}'),
        '\u{7f}' => '\u{2421}',
        c if c.is_control() || is_invisible_format(c) => '\u{fffd}',
        c => c,
    }
}

/// Characters that change how the text around them is shown without being
/// seen: bidirectional overrides and isolates (a "Trojan source" reorders
/// code with them), marks, and the byte-order mark.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}'
    )
}

/// Text as it may be shown in a message: control characters other than
/// line breaks made visible, at most [`MAX_MESSAGE_CHARS`] characters.
pub fn clean_message(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_MESSAGE_CHARS * 4));
    let mut chars = text.chars().peekable();
    let mut n = 0;
    while let Some(c) = chars.next() {
        if n == MAX_MESSAGE_CHARS {
            out.push('…');
            break;
        }
        out.push(if c == '\n' {
            c
        } else {
            visible(c, chars.peek().copied())
        });
        n += 1;
    }
    out
}

/// Text for a terminal, whatever its length: control characters other
/// than line breaks and tabs made visible, so a policy's message cannot
/// move the cursor or clear the screen.
pub fn visible_text(text: &str) -> String {
    let mut chars = text.chars().peekable();
    let mut out = String::with_capacity(text.len());
    while let Some(c) = chars.next() {
        out.push(if c == '\n' {
            c
        } else {
            visible(c, chars.peek().copied())
        });
    }
    out
}

/// One stretch of the source in a snippet.
#[derive(Debug)]
struct Segment {
    /// Where it starts in the snippet's offsets.
    at: usize,
    /// The text shown: source lines, or a window of one, made visible.
    text: String,
    /// The original offset of each byte of the shown text (and one past).
    origin: Vec<usize>,
    /// The 0-based line of its first line in the source.
    first_line: usize,
    /// The original offsets where its lines start.
    line_starts: Vec<usize>,
}

/// The source text miette sees for one diagnostic.
#[derive(Debug)]
pub struct Snippet {
    name: String,
    segments: Vec<Segment>,
}

impl SourceCode for Snippet {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let end = span.offset() + span.len();
        let segment = self
            .segments
            .iter()
            .find(|s| s.at <= span.offset() && end <= s.at + s.text.len())
            .ok_or(MietteError::OutOfBounds)?;
        let local = SourceSpan::new((span.offset() - segment.at).into(), span.len());
        let contents = segment.text.as_str().read_span(&local, before, after)?;
        // The column miette prints is in bytes from the line's start: give
        // the original one.
        let origin = segment
            .origin
            .get(local.offset())
            .copied()
            .unwrap_or_default();
        let line_start = segment
            .line_starts
            .get(
                segment
                    .line_starts
                    .partition_point(|&s| s <= origin)
                    .saturating_sub(1),
            )
            .copied()
            .unwrap_or_default();
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            contents.data(),
            SourceSpan::new(
                (contents.span().offset() + segment.at).into(),
                contents.span().len(),
            ),
            contents.line() + segment.first_line,
            origin.saturating_sub(line_start),
            contents.line_count(),
        )))
    }
}

/// A diagnostic ready for miette: its words made visible and bounded, its
/// spans moved into a [`Snippet`].
#[derive(Debug)]
pub struct Rendered {
    code: &'static str,
    severity: Severity,
    message: String,
    help: Option<String>,
    labels: Vec<miette::LabeledSpan>,
    snippet: Snippet,
    /// What was left out, said after the snippet.
    pub notes: Vec<String>,
}

impl std::fmt::Display for Rendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Rendered {}

impl miette::Diagnostic for Rendered {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.snippet)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }
}

/// One label of a diagnostic, in original offsets.
struct Mark {
    start: usize,
    end: usize,
    text: Option<String>,
    primary: bool,
    /// Outside the part of a wide line that is shown.
    dropped: bool,
}

/// What a snippet shows of the source.
enum Piece {
    /// Whole lines, `first..=last` (0-based), each narrow enough.
    Lines { first: usize, last: usize },
    /// A window `from..to` of one wide line.
    Window { line: usize, from: usize, to: usize },
}

impl Piece {
    fn start(&self, at: &Locator<'_>) -> usize {
        match *self {
            Piece::Lines { first, .. } => at.line_start(first),
            Piece::Window { from, .. } => from,
        }
    }
}

/// Prepares a diagnostic for miette, or `None` when one of its spans is not
/// a place in the source (then it is printed as `file:line:col: message`).
pub fn rendered(source: &Source, at: &Locator<'_>, d: &Diagnostic) -> Option<Rendered> {
    let text = source.text();
    let valid = |s: Span| {
        let (start, end) = (s.start as usize, s.end as usize);
        start <= end
            && end <= text.len()
            && text.is_char_boundary(start)
            && text.is_char_boundary(end)
    };
    if !valid(d.span) || d.related.iter().any(|l| !valid(l.span)) {
        return None;
    }
    let label_text = |t: &str| (!t.is_empty()).then(|| clean_message(t));
    let mut marks: Vec<Mark> = std::iter::once(Mark {
        start: d.span.start as usize,
        end: d.span.end as usize,
        text: label_text(&d.label),
        primary: true,
        dropped: false,
    })
    .chain(d.related.iter().map(|l| Mark {
        start: l.span.start as usize,
        end: l.span.end as usize,
        text: label_text(&l.text),
        primary: false,
        dropped: false,
    }))
    .collect();

    let wide = |line: usize| at.line_end(line) - at.line_start(line) > MAX_SNIPPET_LINE_BYTES;
    let mut notes = Vec::new();
    let mut pieces: Vec<Piece> = Vec::new();
    let mut windows: Vec<(usize, Vec<usize>)> = Vec::new();
    for (i, mark) in marks.iter_mut().enumerate() {
        let first = at.line_index(mark.start);
        let mut last = at.line_index(mark.end.saturating_sub(1).max(mark.start));
        if last - first >= MAX_SNIPPET_SPAN_LINES {
            notes.push(format!(
                "the span runs over {} lines; its first line is shown",
                last - first + 1
            ));
            mark.end = mark.end.min(at.line_end(first)).max(mark.start);
            last = first;
        }
        if (first..=last).any(wide) {
            mark.end = mark.end.min(at.line_end(first)).max(mark.start);
            match windows.iter_mut().find(|(line, _)| *line == first) {
                Some((_, on_line)) => on_line.push(i),
                None => windows.push((first, vec![i])),
            }
            continue;
        }
        let before = first.checked_sub(1).filter(|&l| !wide(l));
        let after = Some(last + 1).filter(|&l| l < at.line_starts.len() && !wide(l));
        pieces.push(Piece::Lines {
            first: before.unwrap_or(first),
            last: after.unwrap_or(last),
        });
    }

    // A window of each wide line: around all its marks if they fit, else
    // around the primary one (or the first), the others cut to it.
    for (line, on_line) in &windows {
        let (start, end) = (at.line_start(*line), at.line_end(*line));
        let lo = on_line
            .iter()
            .filter_map(|&i| marks.get(i))
            .map(|m| m.start)
            .min()
            .unwrap_or(start);
        let hi = on_line
            .iter()
            .filter_map(|&i| marks.get(i))
            .map(|m| m.end)
            .max()
            .unwrap_or(start);
        let anchor = on_line
            .iter()
            .filter_map(|&i| marks.get(i))
            .find(|m| m.primary)
            .map_or(lo, |m| m.start);
        let from = if hi - lo <= MAX_SNIPPET_LINE_BYTES {
            lo.saturating_sub((MAX_SNIPPET_LINE_BYTES - (hi - lo)) / 2)
        } else {
            anchor.saturating_sub(MAX_SNIPPET_LINE_BYTES / 4)
        }
        .max(start);
        let to = (from + MAX_SNIPPET_LINE_BYTES).min(end);
        let from = at.floor(
            to.saturating_sub(MAX_SNIPPET_LINE_BYTES)
                .max(start)
                .min(from),
        );
        let to = ceil(text, to);
        for &i in on_line {
            if let Some(m) = marks.get_mut(i) {
                if m.end < from || m.start > to {
                    m.dropped = true;
                    notes.push("a label outside the part shown is left out".to_owned());
                }
                m.start = m.start.clamp(from, to);
                m.end = m.end.clamp(m.start, to);
            }
        }
        if end - start > MAX_SNIPPET_LINE_BYTES {
            notes.push(format!(
                "line {} is {} bytes wide; it is cut to the part around the problem",
                line + 1,
                end - start
            ));
        }
        pieces.push(Piece::Window {
            line: *line,
            from,
            to,
        });
    }

    // Lines pieces that touch become one, as miette would join them.
    pieces.sort_by_key(|p| p.start(at));
    let mut merged: Vec<Piece> = Vec::with_capacity(pieces.len());
    for piece in pieces {
        if let (
            Some(Piece::Lines { last, .. }),
            Piece::Lines {
                first: f2,
                last: l2,
            },
        ) = (merged.last_mut(), &piece)
        {
            if *f2 <= *last + 1 {
                *last = (*last).max(*l2);
                continue;
            }
        }
        merged.push(piece);
    }

    let mut segments = Vec::with_capacity(merged.len());
    let mut next = 0;
    for piece in &merged {
        let (from, to, first_line, prefix, suffix) = match *piece {
            Piece::Lines { first, last } => {
                let to = at.line_starts.get(last + 1).copied().unwrap_or(text.len());
                (at.line_start(first), to, first, false, false)
            }
            Piece::Window { line, from, to } => (
                from,
                to,
                line,
                from > at.line_start(line),
                to < at.line_end(line),
            ),
        };
        let segment = segment(text, from, to, first_line, prefix, suffix, next, at);
        next = segment.at + segment.text.len() + 1;
        segments.push(segment);
    }

    // Each mark, moved into the snippet's offsets.
    let mut labels = Vec::with_capacity(marks.len());
    for mark in marks.into_iter().filter(|m| !m.dropped) {
        let Some(segment) = segments.iter().find(|s| {
            s.origin.first().is_some_and(|&o| o <= mark.start)
                && s.origin.last().is_some_and(|&o| mark.end <= o)
        }) else {
            continue;
        };
        let place = |offset: usize| segment.at + segment.origin.partition_point(|&o| o < offset);
        let (start, end) = (place(mark.start), place(mark.end));
        let span = (start, end - start);
        labels.push(if mark.primary {
            miette::LabeledSpan::new_primary_with_span(mark.text, span)
        } else {
            miette::LabeledSpan::new_with_span(mark.text, span)
        });
    }

    Some(Rendered {
        code: d.code.qualified(),
        severity: d.severity,
        message: clean_message(&d.message),
        help: d.help.as_deref().map(clean_message),
        labels,
        snippet: Snippet {
            name: shown_name(source.name()),
            segments,
        },
        notes,
    })
}

/// The offset itself if it is a character boundary, else the next one.
fn ceil(text: &str, offset: usize) -> usize {
    let mut at = offset.min(text.len());
    while at < text.len() && !text.is_char_boundary(at) {
        at += 1;
    }
    at
}

/// The shown text of `from..to`, made visible, with `…` where a wide
/// line was cut, and the original offset of each shown byte.
#[allow(clippy::too_many_arguments)]
fn segment(
    text: &str,
    from: usize,
    to: usize,
    first_line: usize,
    prefix: bool,
    suffix: bool,
    at_offset: usize,
    at: &Locator<'_>,
) -> Segment {
    let mut shown = String::with_capacity(to - from + 8);
    let mut origin = Vec::with_capacity(to - from + 8);
    if prefix {
        // Before `from`, so that a mark starting at `from` starts after it.
        shown.push('…');
        origin.resize(shown.len(), from.saturating_sub(1));
    }
    let part = text.get(from..to).unwrap_or("");
    let mut chars = part.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let next = chars.peek().map(|&(_, c)| c).or_else(|| {
            text.get(from + i + c.len_utf8()..)
                .and_then(|s| s.chars().next())
        });
        // A lone CR ends a line (as the grammar and `Source` say); miette
        // breaks lines only at LF, so it is shown one.
        let c = if c == '\r' && next != Some('\n') {
            '\n'
        } else {
            visible(c, next)
        };
        shown.push(c);
        origin.resize(shown.len(), from + i);
    }
    if suffix {
        shown.push('…');
        origin.resize(shown.len(), to);
    }
    origin.push(to);
    let last_line = at.line_index(to.saturating_sub(1).max(from));
    let line_starts = (first_line..=last_line).map(|l| at.line_start(l)).collect();
    Segment {
        at: at_offset,
        text: shown,
        origin,
        first_line,
        line_starts,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::diagnostic::Code;

    #[test]
    fn the_locator_agrees_with_the_source() {
        let text = format!("ab\r\ncé\n{}\n\nend", "xé".repeat(5000));
        let source = Source::new("t", text.as_str());
        let mut at = Locator::new(&text);
        for offset in (0..=text.len()).filter(|&o| text.is_char_boundary(o)) {
            let lc = source.line_col(u32::try_from(offset).unwrap());
            assert_eq!(at.line_col(offset), (lc.line, lc.col), "offset {offset}");
        }
    }

    #[test]
    fn a_span_outside_the_source_is_not_rendered() {
        let source = Source::new("t", "policy p\n");
        let at = Locator::new(source.text());
        let d = |span| Diagnostic::new(Code::Syntax, span, "m");
        assert!(rendered(&source, &at, &d(Span::new(0, 6))).is_some());
        assert!(rendered(&source, &at, &d(Span::new(4, 100))).is_none());
        let d = d(Span::new(0, 1)).related(Span::new(50, 51), "far");
        assert!(rendered(&source, &at, &d).is_none());
    }

    #[test]
    fn a_wide_line_is_cut_around_the_span_with_its_column() {
        let text = format!("{}BAD{}\n", "a".repeat(100_000), "z".repeat(100_000));
        let source = Source::new("t", text.as_str());
        let at = Locator::new(&text);
        let d = Diagnostic::new(Code::Syntax, Span::new(100_000, 100_003), "bad").label("here");
        let r = rendered(&source, &at, &d).unwrap();
        let mut out = String::new();
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .render_report(&mut out, &r)
            .unwrap();
        assert!(out.contains("[t:1:100001]"), "{out}");
        assert!(out.contains("…aaa") && out.contains("BADzzz"), "{out}");
        assert!(out.len() < 2_000, "{out}");
        assert_eq!(r.notes.len(), 1);
    }

    /// Bidirectional overrides in a comment reorder what a reader sees
    /// ("Trojan source"); they were shown raw. A snippet shows them as
    /// replacement characters, lone CRs as line breaks, NULs as pictures.
    #[test]
    fn invisible_and_control_characters_are_shown_not_obeyed() {
        let text = "policy p // \u{202e}evil\u{2066}\nrole\u{0} r\n";
        let source = Source::new("t", text);
        let at = Locator::new(text);
        let start = text.find("role").unwrap();
        let d = Diagnostic::new(Code::Syntax, Span::new(start, start + 4), "bad");
        let r = rendered(&source, &at, &d).unwrap();
        let mut out = String::new();
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .render_report(&mut out, &r)
            .unwrap();
        assert!(
            !out.contains('\u{202e}') && !out.contains('\u{2066}'),
            "{out}"
        );
        assert!(out.contains("\u{fffd}evil\u{fffd}"), "{out}");
        assert!(out.contains("role\u{2400} r"), "{out}");
    }
}
