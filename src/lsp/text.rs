//! Document text: LSP positions ↔ byte offsets, and incremental edits.
//!
//! A position is a line and a column counted in the code units the client
//! and server agreed on (`positionEncoding`): UTF-16 by default, UTF-8 when
//! the client offers it. Lines end at LF, CRLF or a lone CR, as the policy
//! grammar and [`crate::Source`] end them.

/// How position columns are counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// Bytes of UTF-8.
    Utf8,
    /// UTF-16 code units: the protocol's default.
    Utf16,
}

/// A zero-based line and column, in the negotiated encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    /// Line, from 0.
    pub line: u32,
    /// Column, in code units of the encoding, from 0.
    pub col: u32,
}

/// Where each line of a text starts, and marks for counting UTF-16
/// columns on long lines.
#[derive(Clone, Debug)]
pub struct LineIndex {
    starts: Vec<usize>,
    len: usize,
    /// Every [`MARK_EVERY`] bytes or so, a character boundary and the
    /// UTF-16 units from the start of its line to it. A column is counted
    /// from the nearest mark on its line, not from the line's start: the
    /// semantic tokens of one 48 KB line of 36,000 names counted 48 KB for
    /// each, 13 s for a 1.9 MB policy.
    marks: Vec<(usize, usize)>,
}

/// Bytes between two marks at most (plus one character): a column costs
/// at most this much counting.
const MARK_EVERY: usize = 256;

impl LineIndex {
    /// The index of `text`.
    pub fn new(text: &str) -> LineIndex {
        let starts: Vec<usize> = crate::span::line_starts(text).collect();
        let mut marks = Vec::with_capacity(text.len() / MARK_EVERY + 1);
        let mut next_line = 1;
        let (mut units, mut next_mark) = (0, MARK_EVERY);
        for (at, c) in text.char_indices() {
            while starts.get(next_line).is_some_and(|&s| s <= at) {
                next_line += 1;
                units = 0;
            }
            if at >= next_mark {
                marks.push((at, units));
                next_mark = at + MARK_EVERY;
            }
            units += c.len_utf16();
        }
        LineIndex {
            starts,
            len: text.len(),
            marks,
        }
    }

    /// UTF-16 units from `start` (a line's start) to `offset` on that line.
    fn utf16_col(&self, text: &str, start: usize, offset: usize) -> usize {
        let mark = self.marks.partition_point(|&(at, _)| at <= offset);
        let (from, base) = match mark.checked_sub(1).and_then(|i| self.marks.get(i)) {
            Some(&(at, units)) if at >= start => (at, units),
            _ => (start, 0),
        };
        let counted: usize = text
            .get(from..offset)
            .unwrap_or("")
            .chars()
            .map(char::len_utf16)
            .sum();
        base + counted
    }

    /// How many lines the text has (a text ending in a line break has an
    /// empty last line).
    pub fn lines(&self) -> usize {
        self.starts.len()
    }

    /// The byte range of line `line` without its line break, if it exists.
    fn line_range(&self, text: &str, line: usize) -> Option<(usize, usize)> {
        let start = *self.starts.get(line)?;
        let next = self.starts.get(line + 1).copied().unwrap_or(self.len);
        let mut end = next;
        let bytes = text.as_bytes();
        if end > start && bytes.get(end - 1) == Some(&b'\n') {
            end -= 1;
        }
        if end > start && bytes.get(end - 1) == Some(&b'\r') {
            end -= 1;
        }
        Some((start, end))
    }

    /// The byte offset of `pos`, or `None` when its line is past the end.
    /// A column past the end of its line means the end of the line, as the
    /// protocol says; one inside a character means that character's start.
    pub fn offset(&self, text: &str, pos: Pos, enc: Encoding) -> Option<usize> {
        let (start, end) = self.line_range(text, pos.line as usize)?;
        let line = text.get(start..end).unwrap_or("");
        let mut units = 0usize;
        let want = pos.col as usize;
        for (i, c) in line.char_indices() {
            if units >= want {
                return Some(start + i);
            }
            units += match enc {
                Encoding::Utf8 => c.len_utf8(),
                Encoding::Utf16 => c.len_utf16(),
            };
            if units > want {
                // Inside the character: its start.
                return Some(start + i);
            }
        }
        Some(end)
    }

    /// Like [`LineIndex::offset`], but `None` for a column past the end of
    /// its line too: what a request about a place means (a hover past a
    /// line's end is about nothing).
    pub fn offset_strict(&self, text: &str, pos: Pos, enc: Encoding) -> Option<usize> {
        let off = self.offset(text, pos, enc)?;
        let line_end = self.offset(
            text,
            Pos {
                col: u32::MAX,
                ..pos
            },
            enc,
        )?;
        (self.pos(text, line_end, enc).col >= pos.col).then_some(off)
    }

    /// Like [`LineIndex::offset`], with a line past the end meaning the end
    /// of the text: what an edit's range means.
    pub fn offset_clamped(&self, text: &str, pos: Pos, enc: Encoding) -> usize {
        self.offset(text, pos, enc).unwrap_or(text.len())
    }

    /// The position of byte `offset` (clamped to the text, and to the
    /// start of the character it falls in).
    pub fn pos(&self, text: &str, offset: usize, enc: Encoding) -> Pos {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self
            .starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1);
        let start = self.starts.get(line).copied().unwrap_or(0);
        let col = match enc {
            Encoding::Utf8 => offset.saturating_sub(start),
            Encoding::Utf16 => self.utf16_col(text, start, offset),
        };
        Pos {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            col: u32::try_from(col).unwrap_or(u32::MAX),
        }
    }
}

/// A document's text with its line index, kept in step.
#[derive(Clone, Debug)]
pub struct Text {
    text: String,
    index: LineIndex,
}

impl Text {
    /// A document holding `text`.
    pub fn new(text: String) -> Text {
        let index = LineIndex::new(&text);
        Text { text, index }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The line index.
    pub fn index(&self) -> &LineIndex {
        &self.index
    }

    /// Replaces the range `start..end` (positions, clamped to the text)
    /// with `new`; `None` replaces the whole text.
    pub fn edit(&mut self, range: Option<(Pos, Pos)>, new: &str, enc: Encoding) {
        match range {
            None => self.text = new.to_owned(),
            Some((a, b)) => {
                let a = self.index.offset_clamped(&self.text, a, enc);
                let b = self.index.offset_clamped(&self.text, b, enc);
                let (a, b) = (a.min(b), a.max(b));
                self.text.replace_range(a..b, new);
            }
        }
        self.index = LineIndex::new(&self.text);
    }

    /// The byte offset of `pos`, `None` past the last line.
    pub fn offset(&self, pos: Pos, enc: Encoding) -> Option<usize> {
        self.index.offset(&self.text, pos, enc)
    }

    /// The byte offset of `pos`, `None` past the end of its line or of
    /// the text.
    pub fn offset_strict(&self, pos: Pos, enc: Encoding) -> Option<usize> {
        self.index.offset_strict(&self.text, pos, enc)
    }

    /// The position of a byte offset.
    pub fn pos(&self, offset: usize, enc: Encoding) -> Pos {
        self.index.pos(&self.text, offset, enc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(line: u32, col: u32) -> Pos {
        Pos { line, col }
    }

    #[test]
    fn columns_count_utf16_units_or_bytes() {
        // `é` is 2 bytes and 1 unit; `😀` is 4 bytes and 2 units.
        let t = Text::new("ab\n\"é😀\" x\n".to_owned());
        let x = t.as_str().find('x').unwrap_or(0);
        assert_eq!(t.pos(x, Encoding::Utf16), p(1, 6));
        assert_eq!(t.pos(x, Encoding::Utf8), p(1, 9));
        assert_eq!(t.offset(p(1, 6), Encoding::Utf16), Some(x));
        assert_eq!(t.offset(p(1, 9), Encoding::Utf8), Some(x));
        // Inside the surrogate pair: the character's start.
        let smile = t.as_str().find('😀').unwrap_or(0);
        assert_eq!(t.offset(p(1, 3), Encoding::Utf16), Some(smile));
        // Past the line's end: the end of the line, before its break.
        assert_eq!(t.offset(p(0, 99), Encoding::Utf16), Some(2));
        // The empty last line exists; the one after it does not.
        assert_eq!(t.offset(p(2, 0), Encoding::Utf16), Some(t.as_str().len()));
        assert_eq!(t.offset(p(3, 0), Encoding::Utf16), None);
        assert_eq!(t.offset_strict(p(0, 2), Encoding::Utf16), Some(2));
        assert_eq!(t.offset_strict(p(0, 3), Encoding::Utf16), None);
        // Inside the surrogate pair: the character, not past the line.
        assert_eq!(t.offset_strict(p(1, 3), Encoding::Utf16), Some(smile));
    }

    /// Columns counted from the marks are the columns counted from each
    /// line's start, on long lines of mixed widths and every kind of line
    /// end, at every character.
    #[test]
    fn utf16_columns_from_marks_are_columns_from_the_line_start() {
        let mut text = String::new();
        for i in 0..3_000 {
            text.push_str(match i % 7 {
                0 => "é",
                1 => "😀",
                2 => "abc",
                3 if i % 500 == 3 => "\n",
                4 if i % 700 == 4 => "\r\n",
                5 if i % 900 == 5 => "\r",
                _ => "x",
            });
        }
        let t = Text::new(text.clone());
        let starts: Vec<usize> = crate::span::line_starts(&text).collect();
        for (at, _) in text.char_indices() {
            let line = starts.partition_point(|&s| s <= at) - 1;
            let naive: usize = text[starts[line]..at].chars().map(char::len_utf16).sum();
            assert_eq!(
                t.pos(at, Encoding::Utf16),
                p(line as u32, naive as u32),
                "at {at}"
            );
        }
    }

    #[test]
    fn crlf_and_lone_cr_end_lines() {
        let t = Text::new("a\r\nb\rc".to_owned());
        assert_eq!(t.index().lines(), 3);
        assert_eq!(t.offset(p(0, 5), Encoding::Utf16), Some(1));
        assert_eq!(t.offset(p(1, 0), Encoding::Utf16), Some(3));
        assert_eq!(t.offset(p(2, 0), Encoding::Utf16), Some(5));
        assert_eq!(t.pos(4, Encoding::Utf16), p(1, 1));
    }

    #[test]
    fn edits_apply_in_order() {
        let mut t = Text::new("role owner\nrole member\n".to_owned());
        t.edit(Some((p(0, 5), p(0, 10))), "admin", Encoding::Utf16);
        t.edit(Some((p(1, 0), p(1, 0))), "// é\n", Encoding::Utf16);
        t.edit(Some((p(1, 3), p(1, 4))), "e", Encoding::Utf16);
        assert_eq!(t.as_str(), "role admin\n// e\nrole member\n");
        // A range past the end appends.
        t.edit(Some((p(9, 0), p(9, 0))), "x", Encoding::Utf16);
        assert_eq!(t.as_str(), "role admin\n// e\nrole member\nx");
        t.edit(None, "new", Encoding::Utf16);
        assert_eq!(t.as_str(), "new");
        assert_eq!(t.index().lines(), 1);
    }
}
