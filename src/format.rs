//! Formatting: one canonical layout for a policy, comments kept.
//!
//! The layout keeps the author's order of declarations and their paragraph
//! breaks (one blank line where the source had any), and fixes everything
//! else: spacing, indentation, one declaration per line, long lists one item
//! per line, long conditions one `and`/`or` operand per line. `//` comments
//! stay before the element they preceded. The output parses to the same
//! tree, and formatting it again changes nothing.

use crate::ast::*;
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::span::{Source, Span};

/// Lines longer than this are broken where the layout allows.
pub const MAX_WIDTH: usize = 100;
const INDENT: &str = "  ";

/// Formats a policy; a policy with syntax errors is returned as its
/// diagnostics (formatting needs the whole tree).
///
/// The output always uses LF line ends and no byte-order mark. Before it is
/// returned it is parsed again and must give the same tree: `fmt` never
/// changes what a policy means, and a layout that would is refused.
pub fn format(source: &Source) -> Result<String, Diagnostics> {
    format_within(source, crate::parse::MAX_POLICY_BYTES)
}

/// [`format`], refusing an output longer than `max_bytes`: the canonical
/// layout can be longer than the text (`1+1` → `1 + 1`), and a policy over
/// the size limit would not load again.
fn format_within(source: &Source, max_bytes: usize) -> Result<String, Diagnostics> {
    let parsed = crate::parse::parse(source);
    if parsed.diagnostics.iter().any(|d| d.is_error()) {
        return Err(Diagnostics::new(source.clone(), parsed.diagnostics));
    }
    // The printer finds lines by LF; the grammar also ends them at a lone
    // CR. Same length, so every span stays valid.
    let lf = Source::new(source.name(), lone_cr_to_lf(source.text()));
    let mut p = Printer {
        source: &lf,
        comments: parsed.comments,
        next_comment: 0,
        out: String::new(),
        depth: 0,
        block_start: true,
    };
    for item in &parsed.policy.items {
        p.item(item);
    }
    p.flush_comments(u32::MAX);
    if !p.out.ends_with('\n') && !p.out.is_empty() {
        p.out.push('\n');
    }
    if p.out.len() > max_bytes {
        let d = Diagnostic::new(
            Code::FileTooLarge,
            Span::point(0),
            format!(
                "formatted, the policy would be {} bytes, over the limit of {max_bytes} bytes",
                p.out.len()
            ),
        )
        .help("the canonical layout spaces operators and breaks long lines; split the policy, or keep this layout");
        return Err(Diagnostics::new(source.clone(), vec![d]));
    }
    let mut again = crate::parse::parse(&Source::new(source.name(), p.out.as_str()));
    // Compared in place, with no copies: the two trees are all that is
    // held beside the texts (copies of both held 186 bytes a byte of text).
    let mut before = parsed.policy;
    before.erase_spans();
    again.policy.erase_spans();
    let changed = again.policy != before;
    drop(before);
    if changed || again.diagnostics.iter().any(|d| d.is_error()) {
        let d = Diagnostic::new(
            Code::Syntax,
            Span::point(0),
            "the formatter would change what this policy means, so it leaves it as it is",
        )
        .help("this is a bug in `tollgate fmt`: please report it with the policy");
        return Err(Diagnostics::new(source.clone(), vec![d]));
    }
    Ok(p.out)
}

/// `text` with every lone CR (one not followed by LF) turned into LF.
fn lone_cr_to_lf(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' && chars.peek() != Some(&'\n') {
            out.push('\n');
        } else {
            out.push(c);
        }
    }
    out
}

struct Printer<'s> {
    source: &'s Source,
    comments: Vec<Span>,
    next_comment: usize,
    out: String,
    depth: usize,
    /// Nothing printed yet in the current block: no blank line goes here.
    block_start: bool,
}

impl Printer<'_> {
    fn indent(&self) -> String {
        INDENT.repeat(self.depth)
    }

    fn line(&mut self, text: &str) {
        let indent = self.indent();
        self.out.push_str(&indent);
        self.out.push_str(text);
        self.out.push('\n');
        self.block_start = false;
    }

    /// Whether the source line before the one holding `pos` is blank.
    fn blank_before(&self, pos: u32) -> bool {
        let line = self.source.line_col(pos).line;
        line > 1 && self.source.line_text(line - 1).trim().is_empty()
    }

    fn blank_if_source_had(&mut self, pos: u32) {
        if !self.block_start
            && self.blank_before(pos)
            && !self.out.ends_with("\n\n")
            && !self.out.is_empty()
        {
            self.out.push('\n');
        }
    }

    /// Prints the comments that start before `pos`, each on its own line.
    fn flush_comments(&mut self, pos: u32) {
        while let Some(&c) = self.comments.get(self.next_comment) {
            if c.start >= pos {
                break;
            }
            self.next_comment += 1;
            self.blank_if_source_had(c.start);
            let text = self.source.slice(c).trim_end().to_owned();
            self.line(&text);
        }
    }

    /// Where the code of `span` ends: pest spans run on over the blank
    /// lines and comments that follow, which belong to the next element.
    fn code_end(&self, end: u32) -> u32 {
        let text = self.source.text().get(..end as usize).unwrap_or("");
        let mut cut = text.len();
        loop {
            let line_start = text
                .get(..cut)
                .and_then(|t| t.rfind('\n'))
                .map_or(0, |i| i + 1);
            let line = text.get(line_start..cut).unwrap_or("");
            let code = strip_comment(line).trim_end();
            if !code.is_empty() || line_start == 0 {
                return (line_start + code.len()) as u32;
            }
            cut = line_start.saturating_sub(1);
        }
    }

    /// Keeps a comment that trails an element on the element's line.
    fn trail(&mut self, end: u32) {
        let end = self.code_end(end);
        let Some(&c) = self.comments.get(self.next_comment) else {
            return;
        };
        if c.start < end || self.source.line_col(c.start).line != self.source.line_col(end).line {
            return;
        }
        self.next_comment += 1;
        let text = self.source.slice(c).trim_end().to_owned();
        if self.out.ends_with('\n') {
            self.out.pop();
        }
        self.out.push(' ');
        self.out.push_str(&text);
        self.out.push('\n');
    }

    /// Where an element with `docs` lines above `span` begins: its first
    /// doc line, for the comments and blank lines that come before it.
    /// Comments and blank lines may stand between the doc lines and the
    /// element; they are passed over, up to `docs` doc lines.
    fn lead(&self, span: Span, docs: usize) -> u32 {
        let mut line = self.source.line_col(span.start).line;
        let mut first = line;
        let mut seen = 0;
        while seen < docs && line > 1 {
            line -= 1;
            let text = self.source.line_text(line).trim_start();
            if text.starts_with("///") {
                seen += 1;
                first = line;
            } else if !(text.is_empty() || text.starts_with("//")) {
                break;
            }
        }
        self.source.line_start(first)
    }

    fn docs(&mut self, docs: &[String]) {
        for d in docs {
            if d.is_empty() {
                self.line("///");
            } else {
                self.line(&format!("/// {d}"));
            }
        }
    }

    /// Comments, paragraph break, and docs before an element; comments
    /// written between its docs and itself follow the docs.
    fn begin(&mut self, span: Span, docs: &[String]) {
        let lead = self.lead(span, docs.len());
        self.flush_comments(lead);
        self.blank_if_source_had(lead);
        self.docs(docs);
        if !docs.is_empty() {
            self.flush_comments_tight(span.start);
        }
    }

    /// [`Printer::flush_comments`] without the blank lines between them:
    /// comments among an element's doc lines stay with it.
    fn flush_comments_tight(&mut self, pos: u32) {
        while let Some(&c) = self.comments.get(self.next_comment) {
            if c.start >= pos {
                break;
            }
            self.next_comment += 1;
            let text = self.source.slice(c).trim_end().to_owned();
            self.line(&text);
        }
    }

    // ───────────── Items ─────────────

    fn item(&mut self, item: &Item) {
        self.begin(item.span, &item.docs);
        match &item.kind {
            ItemKind::Policy(name) => self.line(&format!("policy {}", name.name)),
            ItemKind::Role { name, access } => match access.as_slice() {
                [] => self.line(&format!("role {}", name.name)),
                levels => self.line(&format!(
                    "role {} with {} access",
                    name.name,
                    names_text(levels)
                )),
            },
            ItemKind::Actions { category, actions } => {
                self.list(&format!("actions {}:", category.name), actions)
            }
            ItemKind::Credits(kinds) => self.list("credits", kinds),
            ItemKind::Debts(kinds) => self.list("debts", kinds),
            ItemKind::Enum { name, values } => self.list(&format!("enum {}:", name.name), values),
            ItemKind::Field(f) => {
                let mut text = format!("field {}: ", f.path.dotted());
                if f.optional {
                    text.push_str("optional ");
                }
                text.push_str(&f.ty.name);
                if let Some(d) = &f.default {
                    text.push_str(" default ");
                    text.push_str(&expr(d));
                }
                self.line(&text);
            }
            ItemKind::Permit { role, to, except } => {
                let targets = match to {
                    PermitTargets::All(_) => "all".to_owned(),
                    PermitTargets::Names(names) => names_text(names),
                };
                let mut text = format!("permit {} to {targets}", role.name);
                if !except.is_empty() {
                    text.push_str(" except ");
                    text.push_str(&names_text(except));
                }
                self.line(&text);
            }
            ItemKind::Lock(lock) => self.lock(lock, item.span),
            ItemKind::Spend { kinds, order } => self.line(&ordered_text("spend", kinds, order)),
            ItemKind::Settle(s) => self.settle(s, item.span),
            ItemKind::Let { name, value } => {
                self.conditional(&format!("let {} =", name.name), value, None)
            }
            ItemKind::Step { name, message } => match message {
                Some(m) => self.message(&format!("step {}", name.name), m),
                None => self.line(&format!("step {}", name.name)),
            },
            ItemKind::State { name, when } => match when {
                Some(w) => self.conditional(&format!("state {} when", name.name), w, None),
                None => self.line(&format!("state {} otherwise", name.name)),
            },
            ItemKind::On(block) => self.on_block(block, item.span),
            ItemKind::Shortfall(sf) => {
                let head = format!("shortfall of {} is {}", sf.operation.name, sf.becomes.name);
                match (&sf.when, sf.otherwise) {
                    (Some(w), _) => self.conditional(&format!("{head} when"), w, None),
                    (None, true) => self.line(&format!("{head} otherwise")),
                    (None, false) => self.line(&head),
                }
            }
            ItemKind::Expire { kinds, after } => {
                self.line(&format!(
                    "expire {} after {}",
                    names_text(kinds),
                    expr(after)
                ));
            }
            ItemKind::Assert(a) => self.assertion(a),
        }
        self.trail(item.span.end);
    }

    /// `head a, b, c` on one line, or the items one per line below `head`.
    fn list(&mut self, head: &str, names: &[Ident]) {
        let one_line = format!("{head} {}", names_text(names));
        if self.indent().len() + one_line.len() <= MAX_WIDTH {
            self.line(&one_line);
            return;
        }
        self.line(head);
        self.depth += 1;
        for (i, n) in names.iter().enumerate() {
            self.flush_comments(n.span.start);
            let comma = if i + 1 < names.len() { "," } else { "" };
            self.line(&format!("{}{comma}", n.name));
            // Past the comma, if any, which follows the name on its line.
            self.trail(n.span.end);
        }
        self.depth -= 1;
    }

    /// `head expr [suffix]`, breaking a long top-level `and`/`or` chain one
    /// operand per line (a suffix then goes on a line of its own).
    fn conditional(&mut self, head: &str, e: &Expr, suffix: Option<&str>) {
        let flat = expr(e);
        let tail = suffix.map_or(String::new(), |s| format!(" {s}"));
        let one_line = format!("{head} {flat}{tail}");
        let chain = chain_operands(e);
        let Some((op, operands)) =
            chain.filter(|_| self.indent().len() + one_line.len() > MAX_WIDTH)
        else {
            self.line(&one_line);
            return;
        };
        let mut first = true;
        let count = operands.len();
        for (i, operand) in operands.into_iter().enumerate() {
            let text = operand_text(operand, op, !first, i + 1 == count);
            if first {
                self.line(&format!("{head} {text}"));
                self.depth += 1;
                first = false;
            } else {
                self.line(&format!("{} {text}", op.symbol()));
            }
        }
        self.depth -= 1;
        if let Some(s) = suffix {
            self.line(s);
        }
    }

    fn message(&mut self, head: &str, t: &Template) {
        match t.literals.as_slice() {
            [one] => self.line(&format!("{head} \"{one}\"")),
            many => {
                self.line(head);
                self.depth += 1;
                for l in many {
                    self.line(&format!("\"{l}\""));
                }
                self.depth -= 1;
            }
        }
    }

    fn open_block(&mut self) {
        self.depth += 1;
        self.block_start = true;
    }

    /// Closes a block whose item ends at `end` (the `}`).
    fn close_block(&mut self, end: u32) {
        self.flush_comments(end.saturating_sub(1));
        self.depth -= 1;
        self.line("}");
    }

    /// A header that takes a block: `head {` on one line, or, when the
    /// condition breaks, `{` on a line of its own.
    fn block_header(&mut self, head: &str, when: Option<&Expr>) {
        self.block_header_with(head, when, "{");
    }

    /// `head [when cond] tail`, then the block opens; `tail` ends in `{`.
    fn block_header_with(&mut self, head: &str, when: Option<&Expr>, tail: &str) {
        match when {
            Some(w) => {
                self.conditional(&format!("{head} when"), w, Some(tail));
            }
            None => self.line(&format!("{head} {tail}")),
        }
        self.open_block();
    }

    fn lock(&mut self, lock: &LockDecl, span: Span) {
        let head = format!("lock {}", names_text(&lock.kinds));
        if lock.message.is_none() && lock.may_settle.is_empty() {
            self.conditional(&format!("{head} when"), &lock.when, None);
            return;
        }
        self.block_header(&head, Some(&lock.when));
        if let Some(m) = &lock.message {
            self.flush_comments(m.span.start);
            self.message("message", m);
            self.trail(m.span.end);
        }
        if let (Some(first), Some(last)) = (lock.may_settle.first(), lock.may_settle.last()) {
            self.flush_comments(first.span.start);
            self.line(&format!("may settle {}", names_text(&lock.may_settle)));
            self.trail(last.span.end);
        }
        self.close_block(span.end);
    }

    fn settle(&mut self, s: &SettleDecl, span: Span) {
        let head = ordered_text("settle", &s.kinds, &s.order);
        if s.sources.is_empty() {
            self.line(&head);
            return;
        }
        self.line(&format!("{head} {{"));
        self.open_block();
        for source in &s.sources {
            self.begin(source.debt_kind.span, &[]);
            let mut line = format!(
                "{} from {}",
                source.debt_kind.name,
                names_text(&source.from)
            );
            if !source.only.is_empty() {
                line.push_str(" only ");
                line.push_str(&names_text(&source.only));
            }
            self.line(&line);
            if let Some(last) = source.only.last().or(source.from.last()) {
                self.trail(last.span.end);
            }
        }
        self.close_block(span.end);
    }

    /// `assert NAME for ... on ... when ...: CLAIM` on one line when it
    /// fits; otherwise `assert NAME for ...` and then, one level in, the
    /// `on` line, the `when` condition (broken as any condition is) ending
    /// in `:`, and the claim, after the `:` when it fits there.
    fn assertion(&mut self, a: &AssertDecl) {
        let mut head = format!("assert {}", a.name.name);
        if !a.roles.is_empty() {
            let who: Vec<String> = a
                .roles
                .iter()
                .map(|w| match w {
                    Who::Role(n) => String::from(&*n.name),
                    Who::Access(n) => format!("{} access", n.name),
                })
                .collect();
            head.push_str(" for ");
            head.push_str(&who.join(", "));
        }
        let on = (!a.actions.is_empty()).then(|| format!("on {}", names_text(&a.actions)));
        let claim = claim_text(&a.claim);
        let mut flat = head.clone();
        for part in on
            .iter()
            .cloned()
            .chain(a.when.as_ref().map(|w| format!("when {}", expr(w))))
        {
            flat.push(' ');
            flat.push_str(&part);
        }
        flat.push_str(": ");
        flat.push_str(&claim);
        if self.indent().len() + flat.len() <= MAX_WIDTH {
            self.line(&flat);
            return;
        }
        self.line(&head);
        self.depth += 1;
        if let Some(on) = on {
            self.line(&on);
        }
        if let Some(w) = &a.when {
            self.conditional("when", w, None);
        }
        // The `:` ends the last line; the claim follows it there when it fits.
        if self.out.ends_with('\n') {
            self.out.pop();
        }
        let last_line = self.out.rsplit('\n').next().unwrap_or("").len();
        if last_line + 2 + claim.len() <= MAX_WIDTH {
            self.out.push_str(": ");
            self.out.push_str(&claim);
            self.out.push('\n');
        } else {
            self.out.push_str(":\n");
            self.line(&claim);
        }
        self.depth -= 1;
    }

    fn on_block(&mut self, block: &OnBlock, span: Span) {
        let target = block
            .targets
            .iter()
            .map(|t| match t {
                OnTarget::Forbidden(_) => "forbidden",
                OnTarget::All(_) => "all",
                OnTarget::Name(n) => &*n.name,
            })
            .collect::<Vec<_>>()
            .join(", ");
        self.line(&format!("on {target} {{"));
        self.open_block();
        for rule in &block.rules {
            self.rule(rule);
        }
        self.close_block(span.end);
    }

    fn rule(&mut self, rule: &Rule) {
        self.begin(rule.span, &rule.docs);
        let head = format!("{} {}", rule.kind.keyword(), rule.code.name);
        let even = if rule.even_if_denied {
            "even if denied "
        } else {
            ""
        };
        let has_body = rule.message.is_some() || !rule.steps.is_empty() || !rule.params.is_empty();
        if !has_body {
            let tail = even.trim_end();
            match &rule.when {
                Some(w) => {
                    self.conditional(
                        &format!("{head} when"),
                        w,
                        Some(tail).filter(|t| !t.is_empty()),
                    );
                }
                None if tail.is_empty() => self.line(&head),
                None => self.line(&format!("{head} {tail}")),
            }
            return;
        }
        self.block_header_with(&head, rule.when.as_ref(), &format!("{even}{{"));
        if let Some(m) = &rule.message {
            self.flush_comments(m.span.start);
            self.message("message", m);
            self.trail(m.span.end);
        }
        for clause in &rule.steps {
            self.begin(clause.span, &[]);
            let head = match &clause.audience {
                Audience::Everyone => "steps".to_owned(),
                Audience::Access(a) => format!("steps for {} access", a.name),
                Audience::Others(_) => "steps for others".to_owned(),
            };
            self.line(&format!("{head} {{"));
            self.open_block();
            for s in &clause.steps {
                self.flush_comments(s.span.start);
                match &s.when {
                    Some(w) => {
                        self.conditional(&format!("{} when", s.step.name), w, None);
                    }
                    None => self.line(&s.step.name),
                }
                self.trail(s.span.end);
            }
            self.close_block(clause.span.end);
        }
        for param in &rule.params {
            self.flush_comments(param.name.span.start);
            self.line(&format!("{} = {}", param.name.name, expr(&param.value)));
            self.trail(param.value.span.end);
        }
        self.close_block(rule.span.end);
    }
}

/// A line without its `//` comment (quotes respected).
fn strip_comment(line: &str) -> &str {
    let mut in_string = false;
    let mut escaped = false;
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if in_string => escaped = true,
            b'"' => in_string = !in_string,
            b'/' if !in_string && bytes.get(i + 1) == Some(&b'/') => {
                return line.get(..i).unwrap_or(line);
            }
            _ => {}
        }
    }
    line
}

fn names_text(names: &[Ident]) -> String {
    let v: Vec<&str> = names.iter().map(|n| &*n.name).collect();
    v.join(", ")
}

fn keys_text(keys: &[SortKey]) -> String {
    let v: Vec<String> = keys
        .iter()
        .map(|k| {
            if k.descending {
                format!("{} desc", k.field.name)
            } else {
                String::from(&*k.field.name)
            }
        })
        .collect();
    v.join(", ")
}

/// The operands of a top-level `and` or `or` chain, left to right.
fn chain_operands(e: &Expr) -> Option<(BinaryOp, Vec<&Expr>)> {
    let ExprKind::Binary(op @ (BinaryOp::And | BinaryOp::Or), _) = &e.kind else {
        return None;
    };
    let mut operands = Vec::new();
    let mut node = e;
    // The chain is left-deep: walk down the left spine.
    while let ExprKind::Binary(o, pair) = &node.kind {
        if o != op {
            break;
        }
        let [left, right] = &**pair;
        operands.push(right);
        node = left;
    }
    operands.push(node);
    operands.reverse();
    Some((*op, operands))
}

/// An operand of a broken chain, parenthesised exactly as it would be
/// inline; all but the first stand to the right of their operator, and
/// only the last ends the expression.
fn operand_text(e: &Expr, op: BinaryOp, right: bool, last: bool) -> String {
    if needs_parens(e, op.precedence(), right, last) {
        format!("({})", text(e, true))
    } else {
        text(e, last)
    }
}

// ───────────── Expressions ─────────────
//
// Printing recurses once per level of the tree, which the lowering bounds
// (`MAX_EXPR_DEPTH` in `src/parse.rs`); `let`s are printed where they are
// declared, never through the names that read them. Brackets are written
// only where the tree needs them, and the source then had them too, so the
// output never nests deeper than the input did (the scan's limit,
// `MAX_NESTING`, holds for it).

/// Strength of what an expression is, for parenthesising: a binary
/// operator's precedence, 3 for `not`, 8 for unary minus and atoms.
fn strength(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Binary(op, _) => op.precedence(),
        ExprKind::In { .. } => 4,
        ExprKind::Unary(UnaryOp::Not, _) => 3,
        ExprKind::Aggregate {
            filter: Some(_), ..
        } => 0,
        _ => 8,
    }
}

/// Whether `child`, an operand of an operator of precedence `parent`, needs
/// parentheses to parse back the same. `right` is true for the right
/// operand of a left-associative operator; `last` when nothing follows the
/// child up to the end of its expression or bracket.
fn needs_parens(child: &Expr, parent: u8, right: bool, last: bool) -> bool {
    let s = strength(child);
    if s == 0 {
        // `where` swallows what follows: group a filtered aggregate unless
        // nothing follows.
        return !last;
    }
    if parent == 4 {
        // Comparisons do not chain, and their operands sit below `not`.
        return s <= 4;
    }
    s < parent || (right && s == parent)
}

/// `spend a, b by k, l`, `settle by k`: the head of an ordered item.
fn ordered_text(keyword: &str, kinds: &[Ident], order: &[SortKey]) -> String {
    let mut text = keyword.to_owned();
    if !kinds.is_empty() {
        text.push(' ');
        text.push_str(&names_text(kinds));
    }
    if !order.is_empty() {
        text.push_str(" by ");
        text.push_str(&keys_text(order));
    }
    text
}

/// An expression as canonical text.
pub fn expr(e: &Expr) -> String {
    text(e, true)
}

/// `e` as text; `last` when nothing follows it up to the end of its
/// expression or bracket.
fn text(e: &Expr, last: bool) -> String {
    let grouped = |x: &Expr, parens: bool, last: bool| {
        if parens {
            format!("({})", text(x, true))
        } else {
            text(x, last)
        }
    };
    match &e.kind {
        ExprKind::Number(n) => crate::amount::format(*n),
        ExprKind::Duration(s) => crate::decide::eval::format_duration(*s),
        ExprKind::Months(m) => crate::decide::eval::format_months(*m),
        ExprKind::Text(s) => format!("\"{}\"", escape(s)),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Name(n) => n.to_string(),
        ExprKind::Path(p) => p.dotted(),
        ExprKind::Invalid => String::new(),
        ExprKind::Unary(UnaryOp::Not, inner) => {
            let s = strength(inner);
            let parens = if s == 0 { !last } else { s < 3 };
            format!("not {}", grouped(inner, parens, last))
        }
        ExprKind::Unary(UnaryOp::Neg, inner) => {
            let s = strength(inner);
            let parens = if s == 0 { !last } else { s < 8 };
            format!("-{}", grouped(inner, parens, last))
        }
        ExprKind::Binary(op, ab) => {
            let [a, b] = &**ab;
            let p = op.precedence();
            format!(
                "{} {} {}",
                grouped(a, needs_parens(a, p, false, false), false),
                op.symbol(),
                grouped(b, needs_parens(b, p, true, last), last)
            )
        }
        ExprKind::In {
            value,
            set,
            negated,
        } => {
            let v = grouped(value, needs_parens(value, 4, false, false), false);
            let op = if *negated { "not in" } else { "in" };
            let set = match set.as_ref() {
                InSet::List(items) => {
                    let v: Vec<String> = items.iter().map(expr).collect();
                    format!("[{}]", v.join(", "))
                }
                InSet::Names(names) => {
                    let v: Vec<&str> = names.iter().map(|n| &*n.name).collect();
                    format!("[{}]", v.join(", "))
                }
                InSet::Named(p) => p.dotted(),
            };
            format!("{v} {op} {set}")
        }
        ExprKind::Aggregate { op, of, filter } => {
            let head = match op {
                Aggregate::Sum(f) => format!("sum {}", f.name),
                Aggregate::Count => "count".to_owned(),
            };
            match filter {
                Some(f) => format!("{head} of {} where {}", of.keyword(), text(f, last)),
                None => format!("{head} of {}", of.keyword()),
            }
        }
    }
}

// ───────────── Claims ─────────────
//
// Printing recurses once per level, which the lowering bounds as it does
// expressions; brackets only where the tree needs them.

/// How tightly a claim binds: 0 `implies`, 1 `or`, 2 `and`, 3 `never`, 4 a
/// fact.
fn claim_strength(c: &Claim) -> u8 {
    match &c.kind {
        ClaimKind::Implies(..) => 0,
        ClaimKind::Or(..) => 1,
        ClaimKind::And(..) => 2,
        ClaimKind::Not(_) => 3,
        ClaimKind::Fact(_) | ClaimKind::Invalid => 4,
    }
}

/// A claim as canonical text.
pub fn claim_text(c: &Claim) -> String {
    // `min`: the weakest child printed bare.
    let side = |x: &Claim, min: u8| {
        if claim_strength(x) < min {
            format!("({})", claim_text(x))
        } else {
            claim_text(x)
        }
    };
    match &c.kind {
        // `implies` does not chain; `and` and `or` group to the left.
        ClaimKind::Implies(a, b) => format!("{} implies {}", side(a, 1), side(b, 1)),
        ClaimKind::Or(a, b) => format!("{} or {}", side(a, 1), side(b, 2)),
        ClaimKind::And(a, b) => format!("{} and {}", side(a, 2), side(b, 3)),
        ClaimKind::Not(x) => format!("never {}", side(x, 3)),
        ClaimKind::Invalid => String::new(),
        ClaimKind::Fact(f) => match f {
            Fact::Allow => "allow".to_owned(),
            Fact::Deny => "deny".to_owned(),
            Fact::Reason(n) => format!("deny {}", n.name),
            Fact::Permitted => "permitted".to_owned(),
            Fact::State(n) => format!("state {}", n.name),
            Fact::Step(n) => format!("step {}", n.name),
            Fact::StepsOnly(names) => format!("steps only [{}]", names_text(names)),
            Fact::SomeStep => "some step".to_owned(),
            Fact::Warning(n) => format!("warn {}", n.name),
            Fact::SomeWarning => "some warn".to_owned(),
            Fact::Effect(n) => format!("effect {}", n.name),
            Fact::SomeEffect => "some effect".to_owned(),
        },
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
