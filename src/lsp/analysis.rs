//! One version of a document, analysed: its text, what `check` reports
//! about it, and its symbol table.

use std::sync::Arc;

use super::index::Index;
use super::reuse::Reuse;
use super::text::{Encoding, Pos, Text};
use crate::diagnostic::Diagnostics;
use crate::span::{Source, Span};

/// A document's text at one version with everything known about it.
#[derive(Clone, Debug)]
pub struct Analysis {
    /// The text analysed.
    pub text: Arc<Text>,
    /// Every error and warning `tollgate check` reports for it.
    pub diagnostics: Diagnostics,
    /// Declared names and their uses.
    pub index: Index,
}

impl Analysis {
    /// Parses, checks and indexes `text`, named `name` in diagnostics.
    /// What it costs is bounded by the policy limits (`crate::limits`): a
    /// text over the size limit is refused before it is parsed.
    pub fn new(name: &str, text: Arc<Text>) -> Analysis {
        Analysis::reusing(name, text, &mut Reuse::default())
    }

    /// [`Analysis::new`] for a new version of a document: the items whose
    /// text the last version had are not parsed again ([`Reuse`]).
    pub fn reusing(name: &str, text: Arc<Text>, reuse: &mut Reuse) -> Analysis {
        let source = Source::new(name, text.as_str());
        let parsed = reuse.parse(&source);
        let mut index = Index::build(&parsed.policy);
        // A declaration's span can end past the whitespace and comments
        // after it (the grammar reads them between tokens): end it at its
        // last token.
        for d in &mut index.decls {
            let end = trim_end(text.as_str(), d.span.start as usize, d.span.end as usize);
            d.span = Span::new(d.span.start as usize, end);
        }
        let diagnostics = crate::analyze_parsed(source, parsed).diagnostics;
        Analysis {
            text,
            diagnostics,
            index,
        }
    }

    /// The text.
    pub fn src(&self) -> &str {
        self.text.as_str()
    }

    /// The position of a byte offset.
    pub fn pos(&self, offset: usize, enc: Encoding) -> Pos {
        self.text.pos(offset, enc)
    }

    /// The start and end positions of a span.
    pub fn range(&self, span: Span, enc: Encoding) -> (Pos, Pos) {
        (
            self.pos(span.start as usize, enc),
            self.pos(span.end as usize, enc),
        )
    }

    /// The byte offset of a position, `None` past the last line.
    pub fn offset(&self, pos: Pos, enc: Encoding) -> Option<usize> {
        self.text.offset(pos, enc)
    }

    /// The byte offset of a position, `None` past the end of its line.
    pub fn offset_strict(&self, pos: Pos, enc: Encoding) -> Option<usize> {
        self.text.offset_strict(pos, enc)
    }

    /// The text a span covers.
    pub fn slice(&self, span: Span) -> &str {
        self.src().get(span.range()).unwrap_or("")
    }
}

/// The end of `src[start..end]` without trailing whitespace and without
/// trailing lines that hold only a `//` comment (never the first line,
/// which holds the declaration's keyword).
fn trim_end(src: &str, start: usize, end: usize) -> usize {
    let bytes = src.as_bytes();
    let mut end = end.min(src.len());
    loop {
        while end > start && bytes.get(end - 1).is_some_and(u8::is_ascii_whitespace) {
            end -= 1;
        }
        let Some(last) = src.get(start..end) else {
            return end;
        };
        let Some(nl) = last.rfind('\n') else {
            return end;
        };
        let line_start = start + nl + 1;
        if src
            .get(line_start..end)
            .is_some_and(|l| l.trim_start().starts_with("//"))
        {
            end = line_start;
        } else {
            return end;
        }
    }
}
