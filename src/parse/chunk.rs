//! Splitting a policy into items before the grammar sees it.
//!
//! Every item starts with a keyword at the start of a line, so a cheap
//! lexical scan finds the items without parsing them. Parsing items one by
//! one lets one typo cost one diagnostic, and the same scan measures bracket
//! nesting, so a hostile file with 100,000 open parentheses is refused before
//! a recursive-descent parser could overflow the stack.

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
];

/// One item's text: `start..end` in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    pub start: usize,
    pub end: usize,
    /// Where brackets first nested deeper than the limit, if they did.
    pub too_deep_at: Option<usize>,
}

/// What the scan found: the items, and the `//` comments with their spans
/// (kept for the formatter).
#[derive(Clone, Debug, Default)]
pub struct Scan {
    pub chunks: Vec<Chunk>,
    pub comments: Vec<Span>,
}

/// Splits `text` into item chunks. Text before the first item (other than
/// blank lines and comments) becomes a chunk of its own, so it is reported.
pub fn scan(text: &str, max_nesting: usize) -> Scan {
    let mut scan = Scan::default();
    let mut current: Option<Chunk> = None;
    let mut depth = 0usize;
    // A chunk that so far holds only `///` lines: the next item joins it.
    let mut only_docs = false;
    let mut offset = 0;

    for line in text.split_inclusive('\n') {
        let line_start = offset;
        offset += line.len();
        let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
        let rest = line.get(indent..).unwrap_or("");
        let is_doc = rest.starts_with("///");
        let is_blank = rest.trim().is_empty() || (rest.starts_with("//") && !is_doc);
        let starts_item = !is_doc && ITEM_KEYWORDS.contains(&first_word(rest));
        let at_top = depth == 0 || indent == 0;

        let begins_chunk = at_top && !only_docs && (starts_item || is_doc);
        if begins_chunk {
            if let Some(mut done) = current.take() {
                done.end = line_start;
                scan.chunks.push(done);
            }
            current = Some(Chunk {
                start: line_start,
                end: text.len(),
                too_deep_at: None,
            });
            depth = 0;
            only_docs = is_doc;
        } else if current.is_none() && !is_blank {
            // Stray text before any item: still parsed, so it is reported.
            current = Some(Chunk {
                start: line_start,
                end: text.len(),
                too_deep_at: None,
            });
            depth = 0;
        }
        if !is_doc && !is_blank {
            only_docs = false;
        }

        let deepest = scan_line(
            line,
            line_start,
            &mut depth,
            &mut scan.comments,
            max_nesting,
        );
        if let (Some(at), Some(chunk)) = (deepest, current.as_mut()) {
            chunk.too_deep_at.get_or_insert(at);
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

/// Tracks bracket depth through one line, skipping strings and comments.
/// Returns the offset where depth first passed `max_nesting`.
fn scan_line(
    line: &str,
    line_start: usize,
    depth: &mut usize,
    comments: &mut Vec<Span>,
    max_nesting: usize,
) -> Option<usize> {
    let mut too_deep = None;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = line.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '/' if chars.peek().is_some_and(|&(_, n)| n == '/') => {
                let text = line.get(i..).unwrap_or("").trim_end_matches(['\n', '\r']);
                if !text.starts_with("///") {
                    comments.push(Span::new(line_start + i, line_start + i + text.len()));
                }
                break;
            }
            '(' | '[' | '{' => {
                *depth += 1;
                if *depth > max_nesting && too_deep.is_none() {
                    too_deep = Some(line_start + i);
                }
            }
            ')' | ']' | '}' => *depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    too_deep
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
