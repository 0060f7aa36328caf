//! Source text and byte spans into it.

use std::sync::Arc;

/// A byte range in one source text.
///
/// Spans compare by position: two diagnostics at different places are two
/// diagnostics. (Inside the crate, syntax trees are compared for shape with
/// their spans erased, as the formatter's soundness check does.)
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// Byte offset where the span begins.
    pub start: u32,
    /// Byte offset just past the span's end.
    pub end: u32,
}

impl Span {
    /// A span from `start` to `end` (an `end` before `start` gives an empty span).
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start: clamp_u32(start),
            end: clamp_u32(end.max(start)),
        }
    }

    /// A zero-width span at `at`.
    pub fn point(at: usize) -> Span {
        Span::new(at, at)
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// Shifts the span right by `offset` bytes.
    pub fn shift(self, offset: usize) -> Span {
        Span::new(self.start as usize + offset, self.end as usize + offset)
    }

    /// The span as a byte range for slicing the source.
    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }

    /// Length of the span in bytes.
    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    /// Whether the span covers no bytes.
    pub fn is_empty(self) -> bool {
        self.start == self.end
    }
}

/// Where each line of `text` starts, the first at 0. A line ends at LF,
/// CRLF or a lone CR, as the grammar's comments and the parser's item scan
/// end them, so every tool numbers the lines of a CR-only file alike.
pub(crate) fn line_starts(text: &str) -> impl Iterator<Item = usize> + '_ {
    let bytes = text.as_bytes();
    std::iter::once(0).chain(bytes.iter().enumerate().filter_map(move |(i, &b)| {
        let ends = b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n'));
        ends.then_some(i + 1)
    }))
}

fn clamp_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A 1-based line and column (in characters) of a byte offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineCol {
    /// Line number, counted from 1.
    pub line: u32,
    /// Column in characters, counted from 1.
    pub col: u32,
}

/// A named source text, held once and shared by every span and diagnostic.
#[derive(Clone, Debug)]
pub struct Source {
    name: Arc<str>,
    text: Arc<str>,
    line_starts: Arc<[u32]>,
}

impl Source {
    /// A source text under a name, usually its path.
    pub fn new(name: impl Into<Arc<str>>, text: impl Into<Arc<str>>) -> Source {
        let text: Arc<str> = text.into();
        let line_starts = line_starts(&text).map(clamp_u32).collect();
        Source {
            name: name.into(),
            text,
            line_starts,
        }
    }

    /// The name the source was loaded under, usually its path.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The whole source text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The source text, shared without copying.
    pub fn shared_text(&self) -> Arc<str> {
        Arc::clone(&self.text)
    }

    /// The source name, shared without copying.
    pub fn shared_name(&self) -> Arc<str> {
        Arc::clone(&self.name)
    }

    /// The text a span covers (empty when the span is out of range).
    pub fn slice(&self, span: Span) -> &str {
        self.text.get(span.range()).unwrap_or("")
    }

    /// Line and column of a byte offset; offsets past the end map to the end.
    pub fn line_col(&self, offset: u32) -> LineCol {
        let offset = offset.min(clamp_u32(self.text.len()));
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        let start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        let col = self
            .text
            .get(start as usize..offset as usize)
            .map_or(1, |s| s.chars().count() + 1);
        LineCol {
            line: clamp_u32(line),
            col: clamp_u32(col),
        }
    }

    /// `name:line:col` of a span's start, as decisions cite their rules.
    pub fn location(&self, span: Span) -> String {
        let at = self.line_col(span.start);
        format!("{}:{}:{}", self.name, at.line, at.col)
    }

    /// The byte offset where the 1-based line `line` starts.
    pub fn line_start(&self, line: u32) -> u32 {
        let idx = line.saturating_sub(1) as usize;
        self.line_starts
            .get(idx)
            .copied()
            .unwrap_or_else(|| clamp_u32(self.text.len()))
    }

    /// The full text of the 1-based line `line`, without its line break.
    pub fn line_text(&self, line: u32) -> &str {
        let idx = line.saturating_sub(1) as usize;
        let Some(&start) = self.line_starts.get(idx) else {
            return "";
        };
        let end = self
            .line_starts
            .get(idx + 1)
            .map_or(self.text.len(), |&e| e as usize);
        self.text
            .get(start as usize..end)
            .unwrap_or("")
            .trim_end_matches(['\n', '\r'])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        let src = Source::new("p", "ab\ncé d\n");
        assert_eq!(src.line_col(0), LineCol { line: 1, col: 1 });
        assert_eq!(src.line_col(3), LineCol { line: 2, col: 1 });
        // `d` sits after a two-byte `é` and a space.
        assert_eq!(src.line_col(7), LineCol { line: 2, col: 4 });
        assert_eq!(src.line_text(2), "cé d");
        assert_eq!(src.line_col(999), LineCol { line: 3, col: 1 });
    }

    /// A CR-only file numbered every line 1: only LF ended a line here,
    /// while the grammar ends one at a lone CR too.
    #[test]
    fn a_lone_cr_ends_a_line_as_lf_and_crlf_do() {
        let src = Source::new("p", "a\rb\r\nc\nd\r\re");
        let lines: Vec<u32> = [0, 2, 5, 7, 10]
            .iter()
            .map(|&o| src.line_col(o).line)
            .collect();
        assert_eq!(lines, [1, 2, 3, 4, 6]);
        assert_eq!(src.line_text(2), "b");
        assert_eq!(src.line_text(5), "");
        assert_eq!(src.line_text(6), "e");
    }

    #[test]
    fn spans_compare_by_position() {
        assert_eq!(Span::new(1, 2), Span::new(1, 2));
        assert_ne!(Span::new(1, 2), Span::new(5, 9));
        assert_ne!(Span::new(1, 2), Span::new(1, 3));
    }
}
