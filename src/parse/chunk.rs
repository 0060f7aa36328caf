//! Splitting a policy into items before the grammar sees it.
//!
//! Every item starts with a keyword at the start of a line, so a cheap
//! lexical scan finds the items without parsing them. Parsing items one by
//! one lets one typo cost one diagnostic, and the same scan measures how
//! deeply the item nests, so a hostile file with 100,000 open parentheses
//! (or 100,000 `where`s) is refused before a recursive-descent parser could
//! overflow the stack.
//!
//! The scan and the grammar must agree on what is a line, a string and a
//! comment, or text the scan takes for a comment could nest in the grammar
//! unmeasured. Both end a line at LF, CRLF or a lone CR
//! (`NEWLINE` in pest); strings and comments end with the line.
//!
//! What nests in the grammar (`grammar/policy.pest`): brackets (`(expr)`,
//! `[list]`, `{ block }`) and the filter after `where`, which reaches as
//! far as its expression does, without a bracket. `not` and unary minus
//! are repetitions in the grammar (they nest only in the tree, which the
//! lowering bounds), and message templates are read without recursion.
//! So the nesting the scan measures is open brackets plus open `where`
//! filters. A filter stays open until something that cannot be inside its
//! expression: the bracket around it closes, or a `,` or `{` or `}` at its
//! level, or two operands in a row (`... where kind == x  deny y when`),
//! which no expression has. Keywords do not end a filter: the grammar reads
//! any word as a name and the lowering refuses keywords afterwards, so
//! `where deny == count of grants where ...` nests in the grammar.
//! The count errs only towards too deep, in shapes no policy writes.

use crate::span::Span;

/// Words that start a top-level item.
pub const ITEM_KEYWORDS: &[&str] = &[
    "policy",
    "role",
    "actions",
    "credits",
    "debts",
    "enum",
    "field",
    "permit",
    "lock",
    "spend",
    "settle",
    "let",
    "step",
    "state",
    "on",
    "shortfall",
    "expire",
    "assert",
];

/// One item's text: `start..end` in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    pub start: usize,
    pub end: usize,
    /// Where the item first nested deeper than the limit, if it did.
    pub too_deep_at: Option<usize>,
    /// Whether a `where` filter was among the levels at that point.
    pub too_deep_in_where: bool,
    /// Where the item passes [`crate::parse::MAX_ITEM_TOKENS`] tokens.
    pub too_large_at: Option<usize>,
}

impl Chunk {
    fn at(start: usize, end: usize) -> Chunk {
        Chunk {
            start,
            end,
            too_deep_at: None,
            too_deep_in_where: false,
            too_large_at: None,
        }
    }
}

/// What the scan found: the items, and the `//` comments with their spans
/// (kept for the formatter).
#[derive(Clone, Debug, Default)]
pub struct Scan {
    pub chunks: Vec<Chunk>,
    pub comments: Vec<Span>,
}

/// The UTF-8 byte-order mark some editors write at the start of a file.
pub const BOM: &str = "\u{feff}";

/// The lines of `text` from byte `from`, each with its line end: LF, CRLF or
/// a lone CR, as the grammar's `NEWLINE`. Yields `(start, line)`.
pub fn lines(text: &str, from: usize) -> impl Iterator<Item = (usize, &str)> {
    let bytes = text.as_bytes();
    let mut at = from.min(text.len());
    std::iter::from_fn(move || {
        if at >= text.len() {
            return None;
        }
        let start = at;
        let rest = bytes.get(start..).unwrap_or(&[]);
        let end = match rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            None => text.len(),
            Some(i) => {
                let crlf = rest.get(i) == Some(&b'\r') && rest.get(i + 1) == Some(&b'\n');
                start + i + if crlf { 2 } else { 1 }
            }
        };
        at = end;
        text.get(start..end).map(|line| (start, line))
    })
}

/// Splits `text` into item chunks. Text before the first item (other than
/// blank lines and comments) becomes a chunk of its own, so it is reported.
/// A leading byte-order mark is skipped; offsets stay offsets into `text`.
pub fn scan(text: &str, max_nesting: usize) -> Scan {
    let mut scan = Scan::default();
    let mut current: Option<Chunk> = None;
    let mut nest = Nesting::default();
    // A chunk that so far holds only `///` lines: the next item joins it.
    let mut only_docs = false;
    // Where the `///` lines just above this one start, inside a block.
    let mut docs_in_block: Option<usize> = None;
    // The current chunk is an `assert` item.
    let mut in_assert = false;
    let from = if text.starts_with(BOM) { BOM.len() } else { 0 };

    for (line_start, line) in lines(text, from) {
        let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
        let rest = line.get(indent..).unwrap_or("");
        let is_doc = rest.starts_with("///");
        let is_blank = rest.trim().is_empty() || (rest.starts_with("//") && !is_doc);
        let word = first_word(rest);
        // An assertion's claim may go on to an indented line that starts
        // with an item keyword (`state paused implies some step`): inside
        // one, only column 1 starts the next item.
        let starts_item = !is_doc && ITEM_KEYWORDS.contains(&word) && (!in_assert || indent == 0);
        let in_block = nest.brackets() > 0;

        // An item keyword starts an item at nesting 0, and in column 1 even
        // inside a block (a `}` is missing: the block ends there). A `///`
        // line starts one only at nesting 0: in a block, the grammar reads
        // it as a rule's doc comment, wherever its column.
        let begins_chunk =
            !only_docs && ((starts_item && (!in_block || indent == 0)) || (is_doc && !in_block));
        if begins_chunk {
            // Doc comments just above an item that cuts a block short are
            // the item's, as they would be after a `}`.
            let start = if in_block {
                docs_in_block.unwrap_or(line_start)
            } else {
                line_start
            };
            if let Some(mut done) = current.take() {
                done.end = start;
                done.too_large_at = done.too_large_at.map(|at| at.min(start));
                scan.chunks.push(done);
            }
            current = Some(Chunk::at(start, text.len()));
            nest = Nesting::default();
            in_assert = starts_item && word == "assert";
            only_docs = is_doc;
        } else if starts_item && only_docs {
            // The item below a chunk's doc comments.
            in_assert = word == "assert";
        } else if current.is_none() && !is_blank {
            // Stray text before any item: still parsed, so it is reported.
            current = Some(Chunk::at(line_start, text.len()));
            nest = Nesting::default();
        }
        if !is_doc && !is_blank {
            only_docs = false;
        }
        if is_doc && in_block && !begins_chunk {
            docs_in_block.get_or_insert(line_start);
        } else if !is_blank {
            docs_in_block = None;
        }

        let deepest = nest.line(line, line_start, &mut scan.comments, max_nesting);
        if let Some(chunk) = current.as_mut() {
            if nest.tokens > crate::parse::MAX_ITEM_TOKENS && chunk.too_large_at.is_none() {
                chunk.too_large_at = Some(line_start);
            }
        }
        if let (Some((at, in_where)), Some(chunk)) = (deepest, current.as_mut()) {
            if chunk.too_deep_at.is_none() {
                chunk.too_deep_at = Some(at);
                chunk.too_deep_in_where = in_where;
            }
        }
    }
    if let Some(mut done) = current {
        done.end = text.len();
        scan.chunks.push(done);
    }
    scan
}

/// The leading word of a line (letters, digits, `_`).
fn first_word(rest: &str) -> &str {
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    rest.get(..end).unwrap_or("")
}

/// Words that join operands (`where` opens a filter); after one, an
/// operand follows in the same expression.
const JOINING_WORDS: &[&str] = &["and", "or", "not", "in", "of", "where"];

/// Words that start an aggregate: an operand begins, but has not ended.
const AGGREGATE_WORDS: &[&str] = &["sum", "count"];

/// How deeply one item nests so far: open brackets, and the `where` filters
/// open inside each (index 0: outside any bracket).
#[derive(Debug)]
struct Nesting {
    wheres: Vec<usize>,
    /// Open brackets plus open filters.
    total: usize,
    /// The last token could end an operand (a name, number, string, `)`, `]`).
    after_operand: bool,
    /// Tokens of the item so far: names, numbers, strings and punctuation.
    tokens: usize,
}

impl Default for Nesting {
    fn default() -> Nesting {
        Nesting {
            wheres: vec![0],
            total: 0,
            after_operand: false,
            tokens: 0,
        }
    }
}

impl Nesting {
    fn brackets(&self) -> usize {
        self.wheres.len().saturating_sub(1)
    }

    /// Closes the filters open at the current bracket level: their
    /// expressions cannot reach past this point.
    fn end_filters(&mut self) {
        if let Some(open) = self.wheres.last_mut() {
            self.total = self.total.saturating_sub(*open);
            *open = 0;
        }
    }

    /// An operand starts here: after another operand, a new expression
    /// begins, so the filters at this level have ended.
    fn operand_starts(&mut self) {
        if self.after_operand {
            self.end_filters();
        }
    }

    /// Whether a filter is open at any level.
    fn in_where(&self) -> bool {
        self.wheres.iter().any(|&w| w > 0)
    }

    /// Tracks one line (strings and comments end with it). Returns where
    /// the nesting first passed `max_nesting`, and whether a filter was
    /// open there.
    fn line(
        &mut self,
        line: &str,
        line_start: usize,
        comments: &mut Vec<Span>,
        max_nesting: usize,
    ) -> Option<(usize, bool)> {
        let mut too_deep = None;
        let bytes = line.as_bytes();
        let mut i = 0;
        // Every byte that matters is ASCII; the bytes of other characters
        // are never ASCII, so they are passed over one by one.
        while let Some(&b) = bytes.get(i) {
            let mut deeper = false;
            // A plain `//` comment is no token: pest passes over it without
            // a record (50,000 comment lines after a block made it too
            // large). A `///` line is a rule's doc comment and counts.
            let plain_comment =
                b == b'/' && bytes.get(i + 1) == Some(&b'/') && bytes.get(i + 2) != Some(&b'/');
            if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') && !plain_comment {
                self.tokens += 1;
            }
            match b {
                b'"' => {
                    self.operand_starts();
                    i = string_end(bytes, i + 1);
                    self.after_operand = true;
                    continue;
                }
                b'/' if bytes.get(i + 1) == Some(&b'/') => {
                    let text = line.get(i..).unwrap_or("").trim_end_matches(['\n', '\r']);
                    if !text.starts_with("///") {
                        comments.push(Span::new(line_start + i, line_start + i + text.len()));
                    }
                    break;
                }
                b'(' | b'[' | b'{' => {
                    if b == b'{' {
                        self.end_filters();
                    } else {
                        self.operand_starts();
                    }
                    self.wheres.push(0);
                    self.total += 1;
                    self.after_operand = false;
                    deeper = true;
                }
                b')' | b']' | b'}' => {
                    if self.wheres.len() > 1 {
                        let open = self.wheres.pop().unwrap_or(0);
                        self.total = self.total.saturating_sub(open + 1);
                    }
                    if b == b'}' {
                        self.end_filters();
                    }
                    self.after_operand = b != b'}';
                }
                b',' => {
                    self.end_filters();
                    self.after_operand = false;
                }
                b'a'..=b'z' | b'A'..=b'Z' | b'_' | b'0'..=b'9' => {
                    let end = bytes
                        .get(i..)
                        .and_then(|r| r.iter().position(|c| !is_word_byte(*c)))
                        .map_or(bytes.len(), |n| i + n);
                    let word = line.get(i..end).unwrap_or("");
                    let after_dot = i > 0 && bytes.get(i - 1) == Some(&b'.');
                    if after_dot {
                        // A field name, whatever the word: `settings.where`.
                        self.after_operand = true;
                    } else if word == "where" {
                        if let Some(open) = self.wheres.last_mut() {
                            *open += 1;
                        }
                        self.total += 1;
                        self.after_operand = false;
                        deeper = true;
                    } else if JOINING_WORDS.contains(&word) {
                        self.after_operand = false;
                    } else {
                        self.operand_starts();
                        self.after_operand = !AGGREGATE_WORDS.contains(&word);
                    }
                    if deeper && self.total > max_nesting && too_deep.is_none() {
                        too_deep = Some((line_start + i, self.in_where()));
                    }
                    i = end;
                    continue;
                }
                b' ' | b'\t' | b'\n' | b'\r' => {}
                _ => self.after_operand = false,
            }
            if deeper && self.total > max_nesting && too_deep.is_none() {
                too_deep = Some((line_start + i, self.in_where()));
            }
            i += 1;
        }
        too_deep
    }
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Where the string whose text starts at `from` ends: past its closing
/// quote, or at the line end (strings do not span lines in the grammar).
fn string_end(bytes: &[u8], from: usize) -> usize {
    let mut i = from;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => return i + 1,
            b'\n' | b'\r' => return i,
            b'\\' if bytes.get(i + 1).is_some_and(|&n| n != b'\n' && n != b'\r') => i += 2,
            _ => i += 1,
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str) -> Vec<&str> {
        scan(src, 32)
            .chunks
            .iter()
            .map(|c| &src[c.start..c.end])
            .collect()
    }

    #[test]
    fn splits_at_item_keywords_and_keeps_docs_with_their_item() {
        let src = "policy a\n\n/// Owners pay.\nrole owner\n  // note\nrole member\n";
        assert_eq!(
            texts(src),
            vec![
                "policy a\n\n",
                "/// Owners pay.\nrole owner\n  // note\n",
                "role member\n"
            ]
        );
    }

    #[test]
    fn keywords_inside_blocks_do_not_split() {
        let src = "lock purchased when x {\n  may settle debt\n}\nspend a\n";
        assert_eq!(
            texts(src),
            vec![
                "lock purchased when x {\n  may settle debt\n}\n",
                "spend a\n"
            ]
        );
    }

    #[test]
    fn an_unclosed_block_ends_at_the_next_item_in_column_one() {
        let src = "on billable {\n  deny x\nrole member\n";
        assert_eq!(
            texts(src),
            vec!["on billable {\n  deny x\n", "role member\n"]
        );
    }

    #[test]
    fn doc_comments_in_a_block_stay_in_it_whatever_their_column() {
        let src = "on billable {\n/// Why.\ndeny x\n  /// Also.\nwarn y\n}\n/// Next.\nrole r\n";
        assert_eq!(
            texts(src),
            vec![
                "on billable {\n/// Why.\ndeny x\n  /// Also.\nwarn y\n}\n",
                "/// Next.\nrole r\n"
            ]
        );
    }

    #[test]
    fn doc_comments_above_an_item_that_cuts_a_block_short_go_with_the_item() {
        let src = "on billable {\n  deny x\n\n/// Members.\n  // note\n/// Pay.\nrole member\n";
        assert_eq!(
            texts(src),
            vec![
                "on billable {\n  deny x\n\n",
                "/// Members.\n  // note\n/// Pay.\nrole member\n"
            ]
        );
        // Docs with a rule between them and the item stay in the block.
        let src = "on billable {\n/// Why.\n  deny x\nrole member\n";
        assert_eq!(
            texts(src),
            vec!["on billable {\n/// Why.\n  deny x\n", "role member\n"]
        );
    }

    #[test]
    fn an_assertion_goes_on_over_indented_lines_whatever_their_first_word() {
        let src = "/// Why.\nassert a\n  on billable\n  when x: state paused\n  implies\n  step buy\nstate ok\n";
        assert_eq!(
            texts(src),
            vec![
                "/// Why.\nassert a\n  on billable\n  when x: state paused\n  implies\n  step buy\n",
                "state ok\n"
            ]
        );
        // Other items still split at an indented item keyword.
        assert_eq!(texts("role a\n  role b\n").len(), 2);
    }

    #[test]
    fn brackets_in_strings_and_comments_do_not_count() {
        let src = "let a = \"(((\" // (((\nlet b = ((1))\n";
        let scan = scan(src, 1);
        assert_eq!(scan.chunks[0].too_deep_at, None);
        assert_eq!(
            scan.chunks[1].too_deep_at,
            Some(src.find("((1").unwrap_or(0) + 1)
        );
        assert_eq!(scan.comments.len(), 1);
    }
}
