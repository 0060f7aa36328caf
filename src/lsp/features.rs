//! What the server answers, in byte spans: hover, definition, references,
//! rename, quick fixes, the outline and folding. `src/lsp.rs` turns spans
//! into the protocol's positions.

use super::analysis::Analysis;
use super::index::{self, Kind, Target};
use crate::diagnostic::{Code, Diagnostic};
use crate::span::Span;

/// Longest declaration text a hover quotes, in lines.
const HOVER_LINES: usize = 12;

/// The Markdown a hover shows at `offset`, and the span it is about.
pub fn hover(a: &Analysis, offset: usize) -> Option<(Span, String)> {
    let (span, target) = a.index.at(offset)?;
    let text = match target {
        Target::Builtin(name) => builtin_hover(name),
        Target::Symbol(s) => symbol_hover(a, s)?,
    };
    Some((span, text))
}

fn builtin_hover(name: &str) -> String {
    let described = index::BUILTINS
        .iter()
        .chain(index::OPERATION_NAMES)
        .find(|(n, _)| *n == name);
    if let Some((n, what)) = described {
        return format!("built-in `{n}`: {what}");
    }
    let grant = index::GRANT_FIELDS.iter().find(|(n, _)| *n == name);
    let debt = index::DEBT_FIELDS.iter().find(|(n, _)| *n == name);
    match (grant, debt) {
        (Some((_, g)), Some((_, d))) if g == d => {
            format!("field `{name}` of a grant or debt: {g}")
        }
        (Some((_, g)), Some((_, d))) => {
            format!("field `{name}` of a grant ({g}) or a debt ({d})")
        }
        (Some((_, t)), None) => format!("field `{name}` of a grant: {t}"),
        (None, Some((_, t))) => format!("field `{name}` of a debt: {t}"),
        (None, None) => format!("built-in `{name}`"),
    }
}

/// A declaration's text, its lines cut to [`HOVER_LINES`].
fn quoted(a: &Analysis, span: Span) -> String {
    let text = a.slice(span);
    // Lines after the first lose the indentation the first had in the file.
    let line_start = a
        .src()
        .get(..span.start as usize)
        .and_then(|t| t.rfind(['\n', '\r']))
        .map_or(0, |i| i + 1);
    let indent = a
        .src()
        .get(line_start..span.start as usize)
        .filter(|t| t.trim().is_empty())
        .map_or(0, str::len);
    let mut lines: Vec<&str> = text
        .lines()
        .take(HOVER_LINES + 1)
        .enumerate()
        .map(|(i, l)| {
            let pad = l.len() - l.trim_start_matches([' ', '\t']).len();
            if i == 0 {
                l
            } else {
                l.get(pad.min(indent)..).unwrap_or(l)
            }
        })
        .collect();
    if lines.len() > HOVER_LINES {
        lines.truncate(HOVER_LINES);
        lines.push("…");
    }
    format!("```tollgate\n{}\n```", lines.join("\n"))
}

/// The first line of a declaration, up to its block.
fn header(a: &Analysis, span: Span) -> String {
    let text = a.slice(span);
    let line = text.lines().next().unwrap_or("");
    line.split('{').next().unwrap_or("").trim().to_owned()
}

fn symbol_hover(a: &Analysis, s: usize) -> Option<String> {
    let ix = &a.index;
    let sym = ix.symbols.get(s)?;
    let decl = ix.decls.get(sym.decl)?;
    let name = &*sym.name;
    let parent = |p: Option<usize>| p.and_then(|p| ix.symbols.get(p));
    let mut out = match sym.kind {
        Kind::Action => {
            let cat = parent(sym.parent).map_or("", |c| &*c.name);
            format!(
                "action `{name}` in category `{cat}`\n\n{}",
                quoted(a, decl.span)
            )
        }
        Kind::EnumValue => {
            let e = parent(sym.parent).map_or("", |e| &*e.name);
            let values: Vec<&str> = sym
                .parent
                .map_or(Vec::new(), |p| ix.values_of(p).map(|v| &*v.name).collect());
            format!(
                "value `{name}` of enum `{e}`\n\n```tollgate\nenum {e}: {}\n```",
                values.join(", ")
            )
        }
        Kind::CreditKind | Kind::DebtKind => {
            format!("{} `{name}`\n\n{}", sym.kind.words(), quoted(a, decl.span))
        }
        Kind::Access => {
            let holders: Vec<String> = ix
                .of_kind(Kind::Role)
                .filter(|(_, r)| {
                    let role_decl = ix.decls.get(r.decl).map(|d| d.span);
                    role_decl.is_some_and(|d| {
                        ix.uses_of(s)
                            .chain([sym.span])
                            .any(|u| d.start <= u.start && u.end <= d.end)
                    })
                })
                .map(|(_, r)| format!("`{}`", r.name))
                .collect();
            let held = if holders.is_empty() {
                "held by no role".to_owned()
            } else {
                format!("held by {}", holders.join(", "))
            };
            format!("access level `{name}`, {held}")
        }
        Kind::Role => {
            let permits: Vec<String> = ix
                .uses_of(s)
                .filter_map(|u| {
                    ix.decls.iter().find(|d| {
                        d.keyword == "permit" && d.span.start <= u.start && u.end <= d.span.end
                    })
                })
                .map(|d| header(a, d.span))
                .collect();
            let mut t = format!("role `{name}`\n\n{}", quoted(a, decl.span));
            if !permits.is_empty() {
                t.push_str(&format!("\n\n```tollgate\n{}\n```", permits.join("\n")));
            }
            t
        }
        Kind::Rule => {
            let on = decl
                .parent
                .and_then(|p| ix.decls.get(p))
                .map(|d| header(a, d.span))
                .unwrap_or_default();
            format!(
                "{} rule `{name}` in `{on}`\n\n{}",
                decl.keyword,
                quoted(a, decl.span)
            )
        }
        Kind::Field | Kind::GrantAttr => {
            let what = if sym.kind == Kind::GrantAttr {
                "grant attribute"
            } else {
                "field"
            };
            format!("{what} `{name}`\n\n{}", quoted(a, decl.span))
        }
        Kind::Policy
        | Kind::Category
        | Kind::Enum
        | Kind::Let
        | Kind::Step
        | Kind::State
        | Kind::Assertion => {
            format!("{} `{name}`\n\n{}", sym.kind.words(), quoted(a, decl.span))
        }
    };
    // An action's doc comment is its category's; a value's its enum's.
    if !decl.docs.is_empty() {
        out.push_str("\n\n---\n\n");
        out.push_str(&decl.docs.join("\n"));
    }
    Some(out)
}

/// Where the name at `offset` is declared.
pub fn definition(a: &Analysis, offset: usize) -> Option<Span> {
    match a.index.at(offset)? {
        (_, Target::Symbol(s)) => a.index.symbols.get(s).map(|s| s.span),
        (_, Target::Builtin(_)) => None,
    }
}

/// Every use of the name at `offset`, with its declaration first when
/// `declaration` is asked for.
pub fn references(a: &Analysis, offset: usize, declaration: bool) -> Vec<Span> {
    let Some((_, Target::Symbol(s))) = a.index.at(offset) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if declaration {
        out.extend(a.index.symbols.get(s).map(|s| s.span));
    }
    out.extend(a.index.uses_of(s));
    out
}

/// The name at `offset` if it can be renamed: its span and text.
pub fn prepare_rename(a: &Analysis, offset: usize) -> Option<(Span, String)> {
    match a.index.at(offset)? {
        // A field's uses are written whole (`subscription.status`), its
        // declaration too: the span is the path.
        (span, Target::Symbol(_)) => Some((span, a.slice(span).to_owned())),
        (_, Target::Builtin(_)) => None,
    }
}

/// Whether `name` is a name the language accepts: a letter or `_`, then
/// letters, digits and `_`, at most [`crate::parse::MAX_NAME_LEN`] bytes.
fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= crate::parse::MAX_NAME_LEN
}

/// The edits that rename the name at `offset` to `new`, or why not.
pub fn rename(a: &Analysis, offset: usize, new: &str) -> Result<Vec<(Span, String)>, String> {
    let Some((_, target)) = a.index.at(offset) else {
        return Err("there is no declared name here to rename".to_owned());
    };
    let Target::Symbol(s) = target else {
        return Err("a built-in name cannot be renamed".to_owned());
    };
    let sym = a
        .index
        .symbols
        .get(s)
        .ok_or_else(|| "there is no declared name here to rename".to_owned())?;
    let valid = if sym.kind == Kind::Field {
        new.split('.').count() > 1 && new.split('.').all(is_name)
    } else {
        is_name(new)
    };
    if !valid {
        return Err(if sym.kind == Kind::Field {
            format!("`{new}` is not a field path: names joined by dots, such as `billing.plan`")
        } else {
            format!("`{new}` is not a name: a letter or `_`, then letters, digits and `_`")
        });
    }
    let keyword = |w: &str| crate::parse::is_keyword(w);
    if sym.kind == Kind::Field {
        if let Some(root) = new.split('.').next() {
            if [
                "now", "account", "grants", "debts", "before", "charge", "grant", "refund",
            ]
            .contains(&root)
            {
                return Err(format!("`{root}.` is reserved: the engine reads it itself"));
            }
        }
    } else if keyword(new) {
        return Err(format!("`{new}` is a keyword"));
    }
    if let Some(why) = a.index.clashes(s, new) {
        return Err(why);
    }
    let mut edits: Vec<(Span, String)> = Vec::new();
    edits.push((sym.span, new.to_owned()));
    for u in a.index.uses_of(s) {
        edits.push((u, new.to_owned()));
    }
    if sym.kind == Kind::GrantAttr {
        // Declared as `grants.<name>`, used as `<name>`: only the name moves.
        edits.dedup();
    }
    Ok(edits)
}

/// A fix for a diagnostic: a title and the edits that make it.
#[derive(Clone, Debug)]
pub struct Fix {
    /// What the editor shows.
    pub title: String,
    /// Replacements, by span.
    pub edits: Vec<(Span, String)>,
    /// Whether it is the fix to apply when one is asked for.
    pub preferred: bool,
}

/// The fixes for one diagnostic: its suggestion, and removing an unused
/// declaration.
pub fn fixes(a: &Analysis, d: &Diagnostic) -> Vec<Fix> {
    let mut out = Vec::new();
    if let Some(s) = &d.suggestion {
        out.push(Fix {
            title: format!("Replace with `{s}`"),
            edits: vec![(d.span, s.clone())],
            preferred: true,
        });
    }
    if matches!(d.code, Code::Unused | Code::UnusedCreditKind) {
        if let Some(fix) = removal(a, d.span) {
            out.push(fix);
        }
    }
    out
}

/// Removes the declaration whose name is at `span`: a whole item with its
/// doc comment, or one name from a list.
fn removal(a: &Analysis, span: Span) -> Option<Fix> {
    let (at, target) = a.index.at(span.start as usize)?;
    let Target::Symbol(s) = target else {
        return None;
    };
    let sym = a.index.symbols.get(s)?;
    if sym.span != at || at != span {
        return None;
    }
    let decl = a.index.decls.get(sym.decl)?;
    let siblings = a
        .index
        .symbols
        .iter()
        .filter(|o| o.decl == sym.decl && o.kind == sym.kind)
        .count();
    let edit = match sym.kind {
        Kind::Let | Kind::Step | Kind::Enum | Kind::Field | Kind::GrantAttr | Kind::State => {
            whole_item(a, decl.span)
        }
        Kind::CreditKind | Kind::DebtKind if siblings == 1 => whole_item(a, decl.span),
        Kind::CreditKind | Kind::DebtKind | Kind::EnumValue | Kind::Action if siblings > 1 => {
            list_member(a, sym.span)
        }
        _ => return None,
    };
    Some(Fix {
        title: format!("Remove unused {} `{}`", sym.kind.words(), sym.name),
        edits: vec![(edit, String::new())],
        preferred: false,
    })
}

/// The lines of an item, its doc comment and line break included.
fn whole_item(a: &Analysis, item: Span) -> Span {
    let text = a.src();
    let bytes = text.as_bytes();
    let line_start = |at: usize| {
        text.get(..at)
            .and_then(|t| t.rfind(['\n', '\r']))
            .map_or(0, |i| i + 1)
    };
    let mut start = line_start(item.start as usize);
    // `///` lines directly above belong to it.
    while start > 0 {
        let prev = line_start(start - 1);
        let line = text.get(prev..start).unwrap_or("");
        if line.trim_start().starts_with("///") {
            start = prev;
        } else {
            break;
        }
    }
    let mut end = item.end as usize;
    while end < bytes.len() && !matches!(bytes.get(end), Some(b'\n' | b'\r')) {
        end += 1;
    }
    if bytes.get(end) == Some(&b'\r') {
        end += 1;
    }
    if bytes.get(end) == Some(&b'\n') {
        end += 1;
    }
    Span::new(start, end)
}

/// One name of a comma list, with the comma that joins it to the others.
fn list_member(a: &Analysis, name: Span) -> Span {
    let text = a.src();
    let bytes = text.as_bytes();
    let (s, e) = (name.start as usize, name.end as usize);
    let mut after = e;
    while matches!(bytes.get(after), Some(b' ' | b'\t')) {
        after += 1;
    }
    if bytes.get(after) == Some(&b',') {
        after += 1;
        let mut end = after;
        while matches!(bytes.get(end), Some(b' ' | b'\t')) {
            end += 1;
        }
        // Alone on its line: the line goes.
        let line_start = text
            .get(..s)
            .and_then(|t| t.rfind('\n'))
            .map_or(0, |i| i + 1);
        let alone_before = text.get(line_start..s).is_some_and(|t| t.trim().is_empty());
        if alone_before && matches!(bytes.get(end), Some(b'\n' | b'\r')) {
            if bytes.get(end) == Some(&b'\r') {
                end += 1;
            }
            if bytes.get(end) == Some(&b'\n') {
                end += 1;
            }
            return Span::new(line_start, end);
        }
        return Span::new(s, end);
    }
    // The last of the list: the comma before it goes.
    let mut before = s;
    while before > 0 && matches!(bytes.get(before - 1), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        before -= 1;
    }
    if before > 0 && bytes.get(before - 1) == Some(&b',') {
        return Span::new(before - 1, e);
    }
    name
}

/// One entry of the outline.
#[derive(Clone, Debug)]
pub struct Outline {
    /// Its name.
    pub name: String,
    /// What it is.
    pub detail: String,
    /// The kind of its name, when it is a declared name.
    pub kind: Option<Kind>,
    /// The whole declaration.
    pub span: Span,
    /// The part to select: its name.
    pub name_span: Span,
    /// Entries inside it.
    pub children: Vec<Outline>,
}

/// The outline: every declaration, with the names it declares inside.
pub fn outline(a: &Analysis) -> Vec<Outline> {
    let ix = &a.index;
    let mut by_decl: Vec<Vec<usize>> = vec![Vec::new(); ix.decls.len()];
    for (i, s) in ix.symbols.iter().enumerate() {
        if let Some(v) = by_decl.get_mut(s.decl) {
            v.push(i);
        }
    }
    let entry = |s: usize| -> Option<Outline> {
        let sym = ix.symbols.get(s)?;
        let decl = ix.decls.get(sym.decl)?;
        Some(Outline {
            name: sym.name.to_string(),
            detail: sym.kind.words().to_owned(),
            kind: Some(sym.kind),
            span: if matches!(
                sym.kind,
                Kind::Action | Kind::EnumValue | Kind::CreditKind | Kind::DebtKind | Kind::Access
            ) {
                sym.span
            } else {
                decl.span
            },
            name_span: sym.span,
            children: Vec::new(),
        })
    };
    let mut out: Vec<Outline> = Vec::new();
    for (d, decl) in ix.decls.iter().enumerate() {
        if decl.parent.is_some() {
            continue;
        }
        let syms = by_decl.get(d).cloned().unwrap_or_default();
        let owner = syms.first().copied().filter(|&s| {
            ix.symbols.get(s).is_some_and(|s| {
                !matches!(s.kind, Kind::CreditKind | Kind::DebtKind) && s.decl == d
            })
        });
        let mut o = match owner.and_then(entry) {
            Some(mut o) => {
                o.span = decl.span;
                o.children = syms
                    .iter()
                    .skip(1)
                    .filter(|&&c| ix.symbols.get(c).is_some_and(|c| c.kind != Kind::Access))
                    .filter_map(|&c| entry(c))
                    .collect();
                o
            }
            None => Outline {
                name: header(a, decl.span),
                detail: decl.keyword.to_owned(),
                kind: None,
                span: decl.span,
                name_span: Span::new(
                    decl.span.start as usize,
                    decl.span.start as usize + decl.keyword.len(),
                ),
                children: syms.iter().filter_map(|&c| entry(c)).collect(),
            },
        };
        if decl.keyword == "on" {
            o.children = ix
                .decls
                .iter()
                .enumerate()
                .filter(|(_, r)| r.parent == Some(d))
                .filter_map(|(r, rd)| {
                    let s = *by_decl.get(r)?.first()?;
                    let sym = ix.symbols.get(s)?;
                    Some(Outline {
                        name: format!("{} {}", rd.keyword, sym.name),
                        detail: "rule".to_owned(),
                        kind: Some(Kind::Rule),
                        span: rd.span,
                        name_span: sym.span,
                        children: Vec::new(),
                    })
                })
                .collect();
        }
        out.push(o);
    }
    out
}

/// A foldable run of lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fold {
    /// First line, from 0.
    pub start: u32,
    /// Last line.
    pub end: u32,
    /// Whether it is a run of comment lines.
    pub comment: bool,
}

/// Declarations and blocks over several lines, and runs of comment lines.
pub fn folds(a: &Analysis) -> Vec<Fold> {
    use super::text::Encoding::Utf8;
    let mut out = Vec::new();
    for d in &a.index.decls {
        let (s, e) = a.range(d.span, Utf8);
        if e.line > s.line {
            out.push(Fold {
                start: s.line,
                end: e.line,
                comment: false,
            });
        }
    }
    let mut run: Option<(u32, u32)> = None;
    let text = a.src();
    let starts: Vec<usize> = crate::span::line_starts(text).collect();
    for (i, &start) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(text.len());
        let line = text.get(start..end).unwrap_or("");
        let i = u32::try_from(i).unwrap_or(u32::MAX);
        if line.trim_start().starts_with("//") {
            run = Some(run.map_or((i, i), |(s, _)| (s, i)));
        } else if let Some((s, e)) = run.take() {
            if e > s {
                out.push(Fold {
                    start: s,
                    end: e,
                    comment: true,
                });
            }
        }
    }
    if let Some((s, e)) = run {
        if e > s {
            out.push(Fold {
                start: s,
                end: e,
                comment: true,
            });
        }
    }
    out.sort_by_key(|f| (f.start, f.end));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lsp::text::Text;
    use std::sync::Arc;

    fn analysis(text: &str) -> Analysis {
        Analysis::new("t", Arc::new(Text::new(text.to_owned())))
    }

    /// Applies every fix of every diagnostic, last place first.
    fn fixed(text: &str) -> String {
        let a = analysis(text);
        let mut edits: Vec<(Span, String)> = a
            .diagnostics
            .items
            .iter()
            .flat_map(|d| fixes(&a, d))
            .flat_map(|f| f.edits)
            .collect();
        edits.sort_by_key(|(s, _)| std::cmp::Reverse(s.start));
        let mut out = text.to_owned();
        for (s, t) in edits {
            out.replace_range(s.range(), &t);
        }
        out
    }

    #[test]
    fn unused_declarations_are_removed_whole_or_from_their_list() {
        let text = "policy p\nrole r\npermit r to all\nactions a: x\ncredits c, spare\n\
            spend c by id\nstate ok otherwise\n/// Never offered.\n/// At all.\nstep never_offered \"No.\"\n\
            step buy \"b\"\nlet unused = 1\non a {\n  deny d {\n    message \"m\"\n    steps { buy }\n  }\n}\n";
        let want = "policy p\nrole r\npermit r to all\nactions a: x\ncredits c\n\
            spend c by id\nstate ok otherwise\n\
            step buy \"b\"\non a {\n  deny d {\n    message \"m\"\n    steps { buy }\n  }\n}\n";
        assert_eq!(fixed(text), want);
        assert!(analysis(want).diagnostics.items.is_empty());
    }

    #[test]
    fn a_name_alone_on_its_line_goes_with_its_line() {
        let text = "policy p\nrole r\npermit r to all\nactions a: x\ncredits\n  spare,\n  c\n\
            spend c by id\nstate ok otherwise\n";
        assert_eq!(
            fixed(text),
            "policy p\nrole r\npermit r to all\nactions a: x\ncredits\n  c\n\
            spend c by id\nstate ok otherwise\n"
        );
    }
}
