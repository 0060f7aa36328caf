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

use crate::ast::{
    Aggregate, Audience, Expr, ExprKind, Ident, InSet, Item, ItemKind, OnTarget, Path,
    PermitTargets, Template, TemplatePart,
};
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
        item_spans(item, &by);
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

fn ident(i: &mut Ident, f: &dyn Fn(Span) -> Span) {
    i.span = f(i.span);
}

fn idents(list: &mut [Ident], f: &dyn Fn(Span) -> Span) {
    for i in list {
        ident(i, f);
    }
}

fn path(p: &mut Path, f: &dyn Fn(Span) -> Span) {
    idents(&mut p.segments, f);
}

fn template(t: &mut Template, f: &dyn Fn(Span) -> Span) {
    t.span = f(t.span);
    for part in &mut t.parts {
        if let TemplatePart::Value(v) = part {
            v.span = f(v.span);
            path(&mut v.path, f);
            if let Some(fmt) = v.format.as_mut() {
                ident(fmt, f);
            }
        }
    }
}

/// Every span of an expression, with a stack of its own rather than
/// recursion.
fn expr(e: &mut Expr, f: &dyn Fn(Span) -> Span) {
    let mut todo: Vec<&mut Expr> = vec![e];
    while let Some(e) = todo.pop() {
        e.span = f(e.span);
        match &mut e.kind {
            ExprKind::Path(p) => path(p, f),
            ExprKind::Unary(_, x) => todo.push(x),
            ExprKind::Binary(_, a, b) => {
                todo.push(a);
                todo.push(b);
            }
            ExprKind::In { value, set, .. } => {
                todo.push(value);
                match set.as_mut() {
                    InSet::List(items) => todo.extend(items.iter_mut()),
                    InSet::Names(names) => idents(names, f),
                    InSet::Named(p) => path(p, f),
                }
            }
            ExprKind::Aggregate { op, filter, .. } => {
                if let Aggregate::Sum(field) = op {
                    ident(field, f);
                }
                if let Some(x) = filter {
                    todo.push(x);
                }
            }
            ExprKind::Number(_)
            | ExprKind::Duration(_)
            | ExprKind::Months(_)
            | ExprKind::Text(_)
            | ExprKind::Bool(_)
            | ExprKind::Invalid => {}
        }
    }
}

fn item_spans(item: &mut Item, f: &dyn Fn(Span) -> Span) {
    item.span = f(item.span);
    match &mut item.kind {
        ItemKind::Policy(name) => ident(name, f),
        ItemKind::Role { name, access } => {
            ident(name, f);
            idents(access, f);
        }
        ItemKind::Actions { category, actions } => {
            ident(category, f);
            idents(actions, f);
        }
        ItemKind::Credits(kinds) | ItemKind::Debts(kinds) => idents(kinds, f),
        ItemKind::Enum { name, values } => {
            ident(name, f);
            idents(values, f);
        }
        ItemKind::Field(d) => {
            path(&mut d.path, f);
            ident(&mut d.ty, f);
            if let Some(x) = d.default.as_mut() {
                expr(x, f);
            }
        }
        ItemKind::Permit { role, to, except } => {
            ident(role, f);
            match to {
                PermitTargets::All(s) => *s = f(*s),
                PermitTargets::Names(names) => idents(names, f),
            }
            idents(except, f);
        }
        ItemKind::Lock(lock) => {
            idents(&mut lock.kinds, f);
            expr(&mut lock.when, f);
            if let Some(t) = lock.message.as_mut() {
                template(t, f);
            }
            idents(&mut lock.may_settle, f);
        }
        ItemKind::Spend { kinds, order } => {
            idents(kinds, f);
            for k in order {
                ident(&mut k.field, f);
            }
        }
        ItemKind::Settle(s) => {
            idents(&mut s.kinds, f);
            for k in &mut s.order {
                ident(&mut k.field, f);
            }
            for src in &mut s.sources {
                ident(&mut src.debt_kind, f);
                idents(&mut src.from, f);
                idents(&mut src.only, f);
            }
        }
        ItemKind::Let { name, value } => {
            ident(name, f);
            expr(value, f);
        }
        ItemKind::Step { name, message } => {
            ident(name, f);
            if let Some(t) = message.as_mut() {
                template(t, f);
            }
        }
        ItemKind::State { name, when } => {
            ident(name, f);
            if let Some(x) = when.as_mut() {
                expr(x, f);
            }
        }
        ItemKind::On(block) => {
            for t in &mut block.targets {
                match t {
                    OnTarget::Forbidden(s) | OnTarget::All(s) => *s = f(*s),
                    OnTarget::Name(n) => ident(n, f),
                }
            }
            for rule in &mut block.rules {
                rule.span = f(rule.span);
                ident(&mut rule.code, f);
                if let Some(x) = rule.when.as_mut() {
                    expr(x, f);
                }
                if let Some(t) = rule.message.as_mut() {
                    template(t, f);
                }
                for clause in &mut rule.steps {
                    clause.span = f(clause.span);
                    match &mut clause.audience {
                        Audience::Everyone => {}
                        Audience::Access(a) => ident(a, f),
                        Audience::Others(s) => *s = f(*s),
                    }
                    for step in &mut clause.steps {
                        step.span = f(step.span);
                        ident(&mut step.step, f);
                        if let Some(x) = step.when.as_mut() {
                            expr(x, f);
                        }
                    }
                }
                for p in &mut rule.params {
                    ident(&mut p.name, f);
                    expr(&mut p.value, f);
                }
            }
        }
        ItemKind::Shortfall(s) => {
            ident(&mut s.operation, f);
            ident(&mut s.becomes, f);
            if let Some(x) = s.when.as_mut() {
                expr(x, f);
            }
        }
        ItemKind::Expire { kinds, after } => {
            idents(kinds, f);
            expr(after, f);
        }
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
}
