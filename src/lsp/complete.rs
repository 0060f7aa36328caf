//! Completion that knows where it is: the item around the cursor is read
//! back to its keyword with a small lexer, and what may come next there is
//! offered (keywords at the start of an item, roles after `permit`,
//! actions and categories after `to`, field paths after a dot, an enum's
//! values after `==` or `in [`, step names inside `steps`, credit and debt
//! kinds in `spend` and `settle`, and the names an expression may read).

use super::analysis::Analysis;
use super::index::{self, Kind};
use crate::span::Span;

/// What a completion offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum What {
    /// A keyword.
    Keyword,
    /// A declared name.
    Name(Kind),
    /// A built-in name, or a field of a grant or debt.
    Builtin,
    /// A base type.
    Type,
}

/// One completion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    /// The text to insert.
    pub label: String,
    /// What it is.
    pub what: What,
    /// A word on what it is.
    pub detail: String,
}

/// The completions at `offset`, and the span of the word they replace.
pub fn complete(a: &Analysis, offset: usize) -> (Span, Vec<Completion>) {
    let text = a.src();
    let offset = offset.min(text.len());
    let bytes = text.as_bytes();
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut word_start = offset;
    while word_start > 0 && bytes.get(word_start - 1).copied().is_some_and(is_word) {
        word_start -= 1;
    }
    let replace = Span::new(word_start, offset);
    let mut c = Collector { a, out: Vec::new() };
    let item_start = item_start(text, word_start);
    let before = text.get(item_start..word_start).unwrap_or("");
    let lexed = lex(before);
    if lexed.in_comment_or_string {
        return (replace, Vec::new());
    }
    let toks: Vec<&str> = lexed.tokens.iter().map(|t| t.text).collect();
    let breaks: Vec<bool> = lexed.tokens.iter().map(|t| t.line_break_after).collect();
    let line_empty = text
        .get(line_begin(text, word_start)..word_start)
        .is_some_and(|t| t.trim().is_empty());
    let at_column_0 = line_begin(text, word_start) == word_start;
    if toks.is_empty() || (at_column_0 && line_empty) {
        c.keywords(ITEM_KEYWORDS);
        return (replace, c.out);
    }
    let cur = current_line(&toks, &breaks, toks.len());
    c.context(&toks, &breaks, &cur);
    c.out.dedup_by(|x, y| x.label == y.label);
    (replace, c.out)
}

/// Words that start a top-level item.
const ITEM_KEYWORDS: &[&str] = &[
    "policy",
    "role",
    "actions",
    "permit",
    "credits",
    "debts",
    "enum",
    "field",
    "lock",
    "spend",
    "settle",
    "shortfall",
    "expire",
    "let",
    "state",
    "step",
    "on",
    "assert",
];

/// Where the line holding `at` begins.
fn line_begin(text: &str, at: usize) -> usize {
    text.get(..at)
        .and_then(|t| t.rfind(['\n', '\r']))
        .map_or(0, |i| i + 1)
}

/// How far back the item around the cursor is looked for, in bytes: an
/// item is at most [`crate::parse::MAX_ITEM_TOKENS`] tokens, and a block
/// that long is not edited by completion.
const LOOK_BACK: usize = 64 * 1024;

/// Where the item holding `at` starts: the nearest line above that starts
/// with an item keyword in column 1.
fn item_start(text: &str, at: usize) -> usize {
    let floor = at.saturating_sub(LOOK_BACK);
    let mut end = at;
    loop {
        let start = line_begin(text, end);
        if start < floor {
            return start.max(floor);
        }
        let line = text.get(start..end).unwrap_or("");
        let word: String = line
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if start < at && ITEM_KEYWORDS.contains(&word.as_str()) {
            return start;
        }
        if start == 0 {
            return 0;
        }
        end = start - 1;
    }
}

/// A token of the item before the cursor.
#[derive(Clone, Copy, Debug)]
struct Token<'t> {
    text: &'t str,
    /// A line break follows it before the next token.
    line_break_after: bool,
}

struct Lexed<'t> {
    tokens: Vec<Token<'t>>,
    /// The text ends inside a comment or a string.
    in_comment_or_string: bool,
}

/// Splits text into names, numbers, strings (one token each) and
/// punctuation, skipping comments.
fn lex(text: &str) -> Lexed<'_> {
    let bytes = text.as_bytes();
    let mut tokens: Vec<Token<'_>> = Vec::new();
    let mut i = 0;
    let mut open = false;
    while i < bytes.len() {
        let b = bytes.get(i).copied().unwrap_or(0);
        let start = i;
        open = false;
        match b {
            b'\n' | b'\r' => {
                if let Some(t) = tokens.last_mut() {
                    t.line_break_after = true;
                }
                i += 1;
                continue;
            }
            b' ' | b'\t' => {
                i += 1;
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && !matches!(bytes.get(i), Some(b'\n' | b'\r')) {
                    i += 1;
                }
                open = i == bytes.len();
                continue;
            }
            b'"' => {
                i += 1;
                let mut closed = false;
                while let Some(&c) = bytes.get(i) {
                    match c {
                        b'\\' => i += 2,
                        b'"' => {
                            i += 1;
                            closed = true;
                            break;
                        }
                        b'\n' | b'\r' => break,
                        _ => i += 1,
                    }
                }
                open = !closed && i >= bytes.len();
            }
            _ if b.is_ascii_alphanumeric() || b == b'_' => {
                while bytes
                    .get(i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                {
                    i += 1;
                }
            }
            b'=' | b'!' | b'<' | b'>' | b'?' | b'&' | b'|' => {
                i += 1;
                if matches!(bytes.get(i), Some(b'=' | b'?' | b'&' | b'|')) {
                    i += 1;
                }
            }
            _ => {
                // One character, whatever its width.
                i += text
                    .get(i..)
                    .and_then(|t| t.chars().next())
                    .map_or(1, char::len_utf8);
            }
        }
        if let Some(t) = text.get(start..i.min(text.len())) {
            tokens.push(Token {
                text: t,
                line_break_after: false,
            });
        }
    }
    Lexed {
        tokens,
        in_comment_or_string: open,
    }
}

fn is_name(t: &str) -> bool {
    t.bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
}

/// What a brace opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Block {
    /// The rules of an `on` block.
    Rules,
    /// A deny or warn rule's clauses.
    Clauses,
    /// An effect's parameters.
    Params,
    /// A `steps` clause's steps.
    Steps,
    /// A settle block's sources.
    Sources,
    /// A lock's clauses.
    Lock,
    /// Something else (a stray brace).
    Other,
}

struct Collector<'a> {
    a: &'a Analysis,
    out: Vec<Completion>,
}

impl Collector<'_> {
    fn push(&mut self, label: &str, what: What, detail: &str) {
        self.out.push(Completion {
            label: label.to_owned(),
            what,
            detail: detail.to_owned(),
        });
    }

    fn keywords(&mut self, words: &[&str]) {
        for w in words {
            self.push(w, What::Keyword, "keyword");
        }
    }

    fn names(&mut self, kind: Kind) {
        let ix = &self.a.index;
        let found: Vec<(String, String)> = ix
            .of_kind(kind)
            .map(|(_, s)| (s.name.to_string(), kind.words().to_owned()))
            .collect();
        for (n, d) in found {
            self.push(&n, What::Name(kind), &d);
        }
    }

    fn enum_values(&mut self, e: usize) {
        let found: Vec<String> = self
            .a
            .index
            .values_of(e)
            .map(|v| v.name.to_string())
            .collect();
        let of = self
            .a
            .index
            .symbols
            .get(e)
            .map(|e| format!("value of `{}`", e.name))
            .unwrap_or_default();
        for n in found {
            self.push(&n, What::Name(Kind::EnumValue), &of);
        }
    }

    /// What may come next, from the item's tokens before the cursor.
    fn context(&mut self, toks: &[&str], breaks: &[bool], cur: &[&str]) {
        let Some(&keyword) = toks.first() else {
            return;
        };
        let last = toks.last().copied().unwrap_or("");
        // After a dot: the rest of a path.
        if last == "." {
            let path = path_before(toks, toks.len() - 1);
            self.after_dot(&path);
            return;
        }
        // The blocks open at the cursor, and where the innermost opened.
        let mut stack: Vec<(Block, usize)> = Vec::new();
        for (i, t) in toks.iter().enumerate() {
            match *t {
                "{" => {
                    let line = current_line(toks, breaks, i);
                    let block = block_kind(keyword, &line, stack.last().map(|b| b.0));
                    stack.push((block, i));
                }
                "}" => {
                    stack.pop();
                }
                _ => {}
            }
        }
        let inner = stack.last().copied();
        // The clause: tokens since the innermost block opened, or since the
        // last line start inside a block.
        let from = inner.map_or(0, |(_, i)| i + 1);
        let clause: Vec<&str> = toks.get(from..).unwrap_or(&[]).to_vec();
        // An assertion's claim, after its `:`, is no expression.
        if let (None, "assert", Some(colon)) =
            (inner, keyword, clause.iter().position(|t| *t == ":"))
        {
            self.claim(clause.get(colon + 1..).unwrap_or(&[]));
            return;
        }
        if self.expression(toks, &clause) {
            return;
        }
        match inner.map(|b| b.0) {
            None => self.item(keyword, &clause),
            Some(Block::Rules) => match cur {
                [] => self.keywords(&["deny", "warn", "effect"]),
                ["deny" | "warn" | "effect", _] => self.keywords(&["when"]),
                ["warn", .., _] => self.keywords(&["even"]),
                _ => {}
            },
            Some(Block::Clauses) => match cur {
                [] => self.keywords(&["message", "steps"]),
                ["steps"] => self.keywords(&["for"]),
                ["steps", "for"] => {
                    self.names(Kind::Access);
                    self.keywords(&["others"]);
                }
                ["steps", "for", n] if *n != "others" => self.keywords(&["access"]),
                _ => {}
            },
            Some(Block::Steps) => match cur {
                [] | [.., ","] => self.names(Kind::Step),
                [_] => self.keywords(&["when"]),
                _ => {}
            },
            Some(Block::Sources) => match cur {
                [] => self.names(Kind::DebtKind),
                [_] => self.keywords(&["from"]),
                [.., "only"] => self.names(Kind::CreditKind),
                [_, "from", .., ","] if cur.contains(&"only") => self.names(Kind::CreditKind),
                [_, "from", ..] if cur.contains(&"only") => {}
                [_, "from", .., ","] | [_, "from"] => self.keywords(&["usable", "locked"]),
                [_, "from", ..] => self.keywords(&["only"]),
                _ => {}
            },
            Some(Block::Lock) => match cur {
                [] => self.keywords(&["message", "may"]),
                ["may"] => self.keywords(&["settle"]),
                ["may", "settle", ..] => self.names(Kind::DebtKind),
                _ => {}
            },
            Some(Block::Params | Block::Other) => {}
        }
    }
}

/// What a `{` opens, inside `outer`, after the tokens `line` on its line.
fn block_kind(keyword: &str, line: &[&str], outer: Option<Block>) -> Block {
    match (keyword, outer) {
        ("on", None) => Block::Rules,
        ("on", Some(Block::Rules)) => {
            if line.first() == Some(&"effect") {
                Block::Params
            } else {
                Block::Clauses
            }
        }
        ("on", Some(Block::Clauses)) => Block::Steps,
        ("settle", None) => Block::Sources,
        ("lock", None) => Block::Lock,
        _ => Block::Other,
    }
}

impl Collector<'_> {
    /// Offers what an expression may read when the cursor is in one;
    /// whether it was.
    fn expression(&mut self, toks: &[&str], clause: &[&str]) -> bool {
        let last = clause.last().copied().unwrap_or("");
        // `==`, `!=`: the values of what is compared.
        if matches!(last, "==" | "!=") {
            let path = path_before(toks, toks.len() - 1);
            if !self.values_of_path(&path, toks) {
                self.expression_names(toks);
            }
            return true;
        }
        // Inside `in [ ... ]`.
        if let Some(open) = unclosed_bracket(clause) {
            if matches!(last, "[" | ",") {
                let base = clause.len() - (clause.len() - open);
                let before_in = clause.get(..base).unwrap_or(&[]);
                if before_in.last() == Some(&"in") {
                    let mut end = before_in.len() - 1;
                    if before_in.get(end.wrapping_sub(1)) == Some(&"not") {
                        end -= 1;
                    }
                    let offset = toks.len() - clause.len();
                    let path = path_before(toks, offset + end);
                    if !self.values_of_path(&path, toks) {
                        self.expression_names(toks);
                    }
                    return true;
                }
                self.expression_names(toks);
                return true;
            }
        }
        if last == "in" {
            let path = path_before(toks, toks.len() - 1);
            if path == ["action"] {
                self.names(Kind::Category);
                return true;
            }
            return false;
        }
        let starts_expression = matches!(
            last,
            "when"
                | "and"
                | "or"
                | "not"
                | "("
                | "??"
                | "+"
                | "-"
                | "*"
                | "<"
                | "<="
                | ">"
                | ">="
                | "where"
        ) || (last == "=" && !clause.contains(&"{"))
            || (last == "default" && toks.first() == Some(&"field"));
        if !starts_expression {
            return false;
        }
        if last == "default" {
            // A field's default: one of its type's values.
            if let Some(ty) = toks.iter().position(|t| *t == ":").and_then(|i| {
                toks.get(i + 1..)?
                    .iter()
                    .find(|t| **t != "optional")
                    .copied()
            }) {
                if let Some(e) = self.a.index.lookup(Kind::Enum, ty) {
                    self.enum_values(e);
                    return true;
                }
            }
        }
        self.expression_names(toks);
        true
    }

    /// The names an expression may read, with a `where` filter's fields
    /// when the cursor is inside one.
    fn expression_names(&mut self, toks: &[&str]) {
        if let Some(w) = toks.iter().rposition(|t| *t == "where") {
            let of = toks.get(w.wrapping_sub(1)).copied();
            let fields = match of {
                Some("grants") => Some(index::GRANT_FIELDS),
                Some("debts") => Some(index::DEBT_FIELDS),
                _ => None,
            };
            if let Some(fields) = fields {
                for (n, t) in fields {
                    self.push(n, What::Builtin, t);
                }
                if of == Some("grants") {
                    self.names(Kind::GrantAttr);
                }
            }
        }
        for (n, what) in index::BUILTINS {
            self.push(n, What::Builtin, what.split(':').next().unwrap_or(""));
        }
        self.names(Kind::Let);
        self.names(Kind::Field);
        self.keywords(&["sum", "count", "not", "true", "false"]);
    }

    /// The values of the enum (or roles, actions, kinds) that `path`
    /// holds; whether it holds such values.
    fn values_of_path(&mut self, path: &[String], toks: &[&str]) -> bool {
        let ix = &self.a.index;
        let dotted = path.join(".");
        let in_where = |of: &str| {
            toks.iter()
                .rposition(|t| *t == "where")
                .is_some_and(|w| toks.get(w.wrapping_sub(1)) == Some(&of))
        };
        let field = ix
            .lookup(Kind::Field, &dotted)
            .or_else(|| match path {
                [g, attr] if g == "grant" => ix.lookup(Kind::GrantAttr, attr),
                [attr] if in_where("grants") => ix.lookup(Kind::GrantAttr, attr),
                _ => None,
            })
            .or_else(|| match path {
                [b, rest @ ..] if b == "before" => ix.lookup(Kind::Field, &rest.join(".")),
                _ => None,
            });
        if let Some(e) = field.and_then(|f| ix.symbols.get(f)).and_then(|f| f.parent) {
            self.enum_values(e);
            return true;
        }
        match dotted.as_str() {
            "role" => self.names(Kind::Role),
            "action" => self.names(Kind::Action),
            "grant.kind" => self.names(Kind::CreditKind),
            "kind" if in_where("grants") => self.names(Kind::CreditKind),
            "kind" if in_where("debts") => self.names(Kind::DebtKind),
            _ => {
                // A `let` holding a field's value.
                let Some(l) = ix.lookup(Kind::Let, &dotted) else {
                    return false;
                };
                let Some(decl) = ix.symbols.get(l).and_then(|l| ix.decls.get(l.decl)) else {
                    return false;
                };
                let value = self.a.slice(decl.span);
                let rhs = value.split_once('=').map_or("", |(_, r)| r).trim();
                let inner: Vec<String> = rhs
                    .split(|c: char| c.is_whitespace())
                    .next()
                    .unwrap_or("")
                    .split('.')
                    .map(str::to_owned)
                    .collect();
                if inner.join(".") == dotted || inner.iter().any(|s| !is_name(s)) {
                    return false;
                }
                return self.values_of_path(&inner, toks);
            }
        }
        true
    }

    /// After `<path>.`: what comes next in a path.
    fn after_dot(&mut self, path: &[String]) {
        let ix = &self.a.index;
        match path {
            [one] if one == "debt" => self.names(Kind::DebtKind),
            [one] if one == "grant" => {
                for (n, t) in index::GRANT_FIELDS {
                    self.push(n, What::Builtin, t);
                }
                self.names(Kind::GrantAttr);
            }
            [one] if one == "charge" => {
                self.push("amount", What::Builtin, "decimal");
                self.push("shortfall", What::Builtin, "decimal");
            }
            [one] if one == "refund" => self.push("dispute", What::Builtin, "bool"),
            [one] if one == "before" => {
                for (n, what) in index::BUILTINS.iter().take(7) {
                    self.push(n, What::Builtin, what.split(':').next().unwrap_or(""));
                }
                self.names(Kind::Let);
                self.next_segments(&[]);
            }
            _ => {
                let prefix: Vec<String> = match path {
                    [b, rest @ ..] if b == "before" => rest.to_vec(),
                    _ => path.to_vec(),
                };
                let _ = ix;
                self.next_segments(&prefix);
            }
        }
    }

    /// The next segment of every declared field path under `prefix`.
    fn next_segments(&mut self, prefix: &[String]) {
        let mut found: Vec<(String, String)> = Vec::new();
        for (_, f) in self.a.index.of_kind(Kind::Field) {
            let segs: Vec<&str> = f.name.split('.').collect();
            if segs.len() > prefix.len() && segs.iter().zip(prefix).all(|(a, b)| *a == b.as_str()) {
                let Some(next) = segs.get(prefix.len()) else {
                    continue;
                };
                let detail = if segs.len() == prefix.len() + 1 {
                    format!("field `{}`", f.name)
                } else {
                    "path".to_owned()
                };
                if !found.iter().any(|(n, _)| n == next) {
                    found.push(((*next).to_owned(), detail));
                }
            }
        }
        for (n, d) in found {
            self.push(&n, What::Name(Kind::Field), &d);
        }
    }

    /// Outside any block, in the item that starts with `keyword`.
    fn item(&mut self, keyword: &str, toks: &[&str]) {
        let rest = toks.get(1..).unwrap_or(&[]);
        let last = toks.last().copied().unwrap_or("");
        match keyword {
            "permit" => match rest {
                [] => self.names(Kind::Role),
                [_] => self.keywords(&["to"]),
                [_, "to"] => {
                    self.keywords(&["all"]);
                    self.actions();
                }
                _ if matches!(last, "," | "except") => self.actions(),
                [_, "to", ..] if !rest.contains(&"except") => self.keywords(&["except"]),
                _ => {}
            },
            "on" => {
                if matches!(last, "on" | ",") {
                    self.keywords(&["forbidden", "all", "charge", "settle", "grant", "refund"]);
                    self.actions();
                }
            }
            "spend" | "settle" => {
                let kinds = if keyword == "spend" {
                    Kind::CreditKind
                } else {
                    Kind::DebtKind
                };
                if rest.contains(&"by") {
                    if matches!(last, "by" | ",") {
                        let keys: &[&str] = if keyword == "spend" {
                            &[
                                "kind",
                                "expires_at",
                                "granted_at",
                                "id",
                                "amount",
                                "remaining",
                            ]
                        } else {
                            &["kind", "created_at", "id", "amount"]
                        };
                        for k in keys {
                            self.push(k, What::Builtin, "sort key");
                        }
                        if keyword == "spend" {
                            self.names(Kind::GrantAttr);
                        }
                    } else {
                        self.keywords(&["asc", "desc"]);
                    }
                } else if matches!(last, "spend" | "settle" | ",") {
                    self.names(kinds);
                    if last != "," {
                        self.keywords(&["by"]);
                    }
                } else {
                    self.keywords(&["by"]);
                }
            }
            "lock" => {
                if rest.contains(&"when") {
                    return;
                }
                if matches!(last, "lock" | ",") {
                    self.names(Kind::CreditKind);
                } else {
                    self.keywords(&["when"]);
                }
            }
            "expire" => {
                if rest.contains(&"after") {
                    return;
                }
                if matches!(last, "expire" | ",") {
                    self.names(Kind::CreditKind);
                } else {
                    self.keywords(&["after"]);
                }
            }
            "shortfall" => match rest {
                [] => self.keywords(&["of"]),
                ["of"] => self.keywords(&["charge", "refund"]),
                ["of", _] => self.keywords(&["is"]),
                ["of", _, "is"] => {
                    self.names(Kind::DebtKind);
                    self.keywords(&["invoiced", "waived"]);
                }
                ["of", _, "is", _] => self.keywords(&["when", "otherwise"]),
                _ => {}
            },
            "field" => {
                if last == ":" || last == "optional" {
                    for t in index::BASE_TYPES {
                        self.push(t, What::Type, "type");
                    }
                    self.names(Kind::Enum);
                    if last == ":" {
                        self.keywords(&["optional"]);
                    }
                } else if rest.contains(&":") && last != "default" {
                    self.keywords(&["default"]);
                }
            }
            "role" => match rest {
                [_] => self.keywords(&["with"]),
                [_, "with", ..] if matches!(last, "with" | ",") => self.names(Kind::Access),
                [_, "with", ..] if last != "access" => self.keywords(&["access"]),
                _ => {}
            },
            "state" if rest.len() == 1 => self.keywords(&["when", "otherwise"]),
            "assert" => {
                // The part of `for ... on ... when` the cursor is in.
                let part = rest
                    .iter()
                    .rev()
                    .find(|t| matches!(**t, "for" | "on" | "when"))
                    .copied();
                match (part, last) {
                    (None, _) if rest.len() == 1 => self.keywords(&["for", "on", "when"]),
                    (Some("for"), "for" | ",") => {
                        self.names(Kind::Role);
                        self.names(Kind::Access);
                    }
                    (Some("for"), "access") => self.keywords(&["on", "when"]),
                    (Some("for"), _) => self.keywords(&["access", "on", "when"]),
                    (Some("on"), "on" | ",") => {
                        self.keywords(&["all"]);
                        self.actions();
                    }
                    (Some("on"), _) => self.keywords(&["when"]),
                    _ => {}
                }
            }
            _ => {}
        }
    }

    /// In an assertion's claim, `after` its `:`.
    fn claim(&mut self, after: &[&str]) {
        let last = after.last().copied().unwrap_or(":");
        let before = after
            .len()
            .checked_sub(2)
            .and_then(|i| after.get(i))
            .copied();
        if let Some(open) = unclosed_bracket(after) {
            if after.get(open.wrapping_sub(1)) == Some(&"only") && matches!(last, "[" | ",") {
                self.names(Kind::Step);
            }
            return;
        }
        match (before, last) {
            (_, ":" | "and" | "or" | "implies" | "never" | "(") => self.keywords(&[
                "allow",
                "deny",
                "permitted",
                "state",
                "step",
                "steps",
                "some",
                "warn",
                "effect",
                "never",
            ]),
            (_, "some") => self.keywords(&["step", "warn", "effect"]),
            (_, "steps") => self.keywords(&["only"]),
            (_, "state") => self.names(Kind::State),
            (Some("some"), "step" | "warn" | "effect") => self.keywords(&["and", "or", "implies"]),
            (_, "step") => self.names(Kind::Step),
            (_, "deny") => {
                self.rule_codes("deny");
                self.push("not_permitted", What::Builtin, "deny code");
                self.keywords(&["and", "or", "implies"]);
            }
            (_, "warn" | "effect") => self.rule_codes(last),
            _ => self.keywords(&["and", "or", "implies"]),
        }
    }

    /// The codes of the `keyword` rules (`deny`, `warn`, `effect`), each once.
    fn rule_codes(&mut self, keyword: &str) {
        let ix = &self.a.index;
        let mut found: Vec<String> = ix
            .of_kind(Kind::Rule)
            .filter(|(_, s)| ix.decls.get(s.decl).map(|d| d.keyword) == Some(keyword))
            .map(|(_, s)| s.name.to_string())
            .collect();
        found.sort_unstable();
        found.dedup();
        let detail = format!("{keyword} rule");
        for n in found {
            self.push(&n, What::Name(Kind::Rule), &detail);
        }
    }

    fn actions(&mut self) {
        self.names(Kind::Category);
        self.names(Kind::Action);
    }
}

/// The tokens before `toks[end]` on its line, after any brace.
fn current_line<'t>(toks: &[&'t str], breaks: &[bool], end: usize) -> Vec<&'t str> {
    let before = toks.get(..end).unwrap_or(&[]);
    let from = (0..before.len())
        .rev()
        .find(|&i| {
            breaks.get(i).copied().unwrap_or(false) || matches!(before.get(i), Some(&"{" | &"}"))
        })
        .map_or(0, |i| i + 1);
    before.get(from..).unwrap_or(&[]).to_vec()
}

/// Where the last `[` not yet closed is in `toks`.
fn unclosed_bracket(toks: &[&str]) -> Option<usize> {
    let mut depth = 0usize;
    for (i, t) in toks.iter().enumerate().rev() {
        match *t {
            "]" => depth += 1,
            "[" if depth == 0 => return Some(i),
            "[" => depth -= 1,
            _ => {}
        }
    }
    None
}

/// The dotted path that ends just before `toks[end]`.
fn path_before(toks: &[&str], end: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = end;
    while i > 0 {
        let Some(t) = toks.get(i - 1) else {
            break;
        };
        if !is_name(t) {
            break;
        }
        out.push((*t).to_owned());
        if i >= 2 && toks.get(i - 2) == Some(&".") {
            i -= 2;
        } else {
            break;
        }
    }
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lsp::text::Text;
    use std::sync::Arc;

    fn labels(text: &str) -> Vec<String> {
        let at = text.find('|').unwrap_or(0);
        let clean = text.replacen('|', "", 1);
        let a = Analysis::new("t", Arc::new(Text::new(clean)));
        let (_, items) = complete(&a, at);
        items.into_iter().map(|c| c.label).collect()
    }

    const BASE: &str = "policy p\nrole owner with billing access\nrole member\n\
        actions paid: run\nactions free: look\ncredits included, bonus\ndebts overrun\n\
        enum tier: basic, pro\nfield plan.tier: tier default basic\nfield plan.seats: decimal default 1\n\
        let t = plan.tier\nstep ask \"Ask.\"\nstep buy \"Buy.\"\n";

    #[test]
    fn each_context_offers_its_names() {
        let l = |tail: &str| labels(&format!("{BASE}{tail}"));
        assert!(l("|").contains(&"permit".to_owned()));
        assert!(l("per|").contains(&"permit".to_owned()));
        assert_eq!(l("permit |"), ["owner", "member"]);
        assert!(l("permit owner to |").contains(&"paid".to_owned()));
        assert!(l("permit owner to |").contains(&"look".to_owned()));
        assert!(l("permit owner to paid except |").contains(&"run".to_owned()));
        assert_eq!(l("state s when plan.|"), ["tier", "seats"]);
        assert_eq!(l("state s when plan.tier == |"), ["basic", "pro"]);
        assert_eq!(l("state s when t != |"), ["basic", "pro"]);
        assert_eq!(l("state s when plan.tier in [basic, |"), ["basic", "pro"]);
        assert_eq!(l("state s when role == |"), ["owner", "member"]);
        assert_eq!(l("state s when debt.|"), ["overrun"]);
        assert_eq!(l("spend |"), ["included", "bonus", "by"]);
        assert_eq!(l("settle |"), ["overrun", "by"]);
        assert_eq!(l("settle overrun {\n  |"), ["overrun"]);
        assert_eq!(
            l("settle overrun {\n  overrun from |"),
            ["usable", "locked"]
        );
        assert_eq!(l("field x.y: tier default |"), ["basic", "pro"]);
        let expr = l("let u = |");
        assert!(expr.contains(&"usable".to_owned()) && expr.contains(&"plan.tier".to_owned()));
        assert!(expr.contains(&"t".to_owned()));
        let rules =
            "on paid {\n  deny d when usable == 0 {\n    message \"m\"\n    steps {\n      |";
        assert_eq!(l(rules), ["ask", "buy"]);
        assert_eq!(l("on paid {\n  |"), ["deny", "warn", "effect"]);
        assert_eq!(l("on paid {\n  deny d {\n    |"), ["message", "steps"]);
        assert_eq!(
            l("on paid {\n  deny d {\n    steps for |"),
            ["billing", "others"]
        );
        assert!(l("on |").contains(&"forbidden".to_owned()));
        let filter = l("let n = count of grants where |");
        assert!(filter.contains(&"kind".to_owned()) && filter.contains(&"remaining".to_owned()));
        assert_eq!(
            l("let n = count of grants where kind == |"),
            ["included", "bonus"]
        );
        // In a comment or a string: nothing.
        assert!(l("// permit |").is_empty());
        assert!(l("step z \"per|").is_empty());
    }
}
