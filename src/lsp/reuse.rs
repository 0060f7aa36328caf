//! Parsing again only what an edit changed.
//!
//! Parsing is most of what analysing a policy costs (docs/performance.md),
//! and an edit changes one item. The parser reads a file item by item, so
//! each item's result is kept here under its text, with spans relative to
//! the item's start; after an edit, an item whose text is unchanged is
//! taken from here and moved to where it now starts, and only the others
//! are parsed ([`crate::parse::parse_reusing`]). Checking still runs on the
//! whole policy: names in one item change what others mean.

use std::collections::HashMap;

use crate::ast::MapSpans;
use crate::diagnostic::Diagnostic;
use crate::parse::{ItemParse, Parsed};
use crate::span::{Source, Span};

/// Documents larger than this are parsed whole after every edit, and
/// nothing is kept. A syntax tree can hold 50 bytes per byte of dense
/// text, and the cache is a second copy of it: an 8 MB policy of list
/// items held 1.4 GB. Real policies are a few KB; the 10,000-line
/// benchmark is 238 KB.
const MAX_REUSE_BYTES: usize = 1 << 20;

/// The items of a document's last parse, by their text.
#[derive(Debug, Default)]
pub struct Reuse {
    items: HashMap<Box<str>, ItemParse>,
}

impl Reuse {
    /// Parses `source`, reusing the items of the last parse whose text is
    /// unchanged, and keeps this parse's items for the next one. What is
    /// kept is one copy of the document's items: the cache never grows past
    /// the document.
    pub fn parse(&mut self, source: &Source) -> Parsed {
        let old = std::mem::take(&mut self.items);
        if source.text().len() > MAX_REUSE_BYTES {
            return crate::parse::parse(source);
        }
        let mut kept: HashMap<Box<str>, ItemParse> = HashMap::with_capacity(old.len());
        let mut fresh: Vec<(Box<str>, ItemParse)> = Vec::new();
        let parsed = crate::parse::parse_reusing(
            source,
            &mut |text, start| {
                let found = old.get(text).or_else(|| kept.get(text))?;
                let moved = moved(found.clone(), start, true);
                if !kept.contains_key(text) {
                    kept.insert(text.into(), found.clone());
                }
                Some(moved)
            },
            &mut |text, start, result| {
                fresh.push((text.into(), moved(result.clone(), start, false)));
            },
        );
        kept.extend(fresh);
        self.items = kept;
        parsed
    }
}

/// An item's parse moved by `start`: forward (`true`, relative to
/// absolute) or back.
fn moved(mut p: ItemParse, start: usize, forward: bool) -> ItemParse {
    let by = |s: Span| {
        if forward {
            s.shift(start)
        } else {
            Span::new(
                (s.start as usize).saturating_sub(start),
                (s.end as usize).saturating_sub(start),
            )
        }
    };
    if let Some(item) = p.0.as_mut() {
        item.map_spans(&by);
    }
    for d in &mut p.1 {
        diagnostic_spans(d, &by);
    }
    p
}

fn diagnostic_spans(d: &mut Diagnostic, f: &dyn Fn(Span) -> Span) {
    d.span = f(d.span);
    for l in &mut d.related {
        l.span = f(l.span);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parsing after an edit with what the last parse kept gives exactly
    /// what parsing from scratch gives: the same items, spans and
    /// diagnostics.
    #[test]
    fn a_reparse_equals_a_fresh_parse() {
        let mut texts = Vec::new();
        for dir in ["policies", "tests/corpus/check"] {
            let root = format!("{}/{dir}", env!("CARGO_MANIFEST_DIR"));
            let mut paths: Vec<_> = std::fs::read_dir(&root)
                .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            paths.sort();
            for p in paths {
                if p.extension().is_some_and(|e| e == "policy") {
                    texts.push(std::fs::read_to_string(&p).unwrap_or_default());
                }
            }
        }
        assert!(texts.len() > 20);
        let edits: [&dyn Fn(&str) -> String; 5] = [
            &|t| format!("// a new first line\n{t}"),
            &|t| t.replacen("when", "whenn", 1),
            &|t| t.replacen('\n', "\n\n\n", 3),
            &|t| t.get(t.len() / 3..).unwrap_or("").to_owned(),
            &|t| format!("{t}\nrole é {{\n"),
        ];
        for text in &texts {
            let mut reuse = Reuse::default();
            let first = reuse.parse(&Source::new("p", text.as_str()));
            let fresh = crate::parse::parse(&Source::new("p", text.as_str()));
            assert_eq!(first.policy, fresh.policy);
            for edit in edits {
                let new = edit(text);
                let source = Source::new("p", new.as_str());
                let again = reuse.parse(&source);
                let fresh = crate::parse::parse(&source);
                assert_eq!(again.policy, fresh.policy, "{new}");
                assert_eq!(again.diagnostics, fresh.diagnostics, "{new}");
                assert_eq!(again.comments, fresh.comments);
                assert_eq!(again.incomplete, fresh.incomplete);
            }
        }
    }

    /// The limit on a file's interpolations is told where a fresh parse
    /// tells it, whichever items are reused: an item counts what it holds,
    /// and one parsed past the limit is parsed again.
    #[test]
    fn the_interpolation_limit_holds_across_reuse() {
        let step = |k: usize, n: usize| format!("step s{k} \"{}\"\n", "{x}".repeat(n));
        let quarter = crate::parse::MAX_INTERPOLATIONS / 4;
        let mut text = String::from("policy p\n");
        for k in 0..5 {
            text.push_str(&step(k, quarter));
        }
        let edits: [&dyn Fn(&str) -> String; 3] = [
            // The first step shrinks: the file comes back within the limit.
            &|t| t.replacen(&"{x}".repeat(quarter), "{x}", 1),
            // A step past the limit is added before the others.
            &|t| t.replacen("policy p\n", &format!("policy p\n{}", step(9, quarter)), 1),
            &|t| t.to_owned(),
        ];
        for edit in edits {
            let mut reuse = Reuse::default();
            reuse.parse(&Source::new("p", text.as_str()));
            let new = edit(&text);
            let source = Source::new("p", new.as_str());
            let again = reuse.parse(&source);
            let fresh = crate::parse::parse(&source);
            assert_eq!(again.diagnostics, fresh.diagnostics);
            assert_eq!(again.policy, fresh.policy);
        }
        let fresh = crate::parse::parse(&Source::new("p", text.as_str()));
        assert_eq!(fresh.diagnostics.len(), 1);
    }
}
