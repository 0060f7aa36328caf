//! The policy's syntax tree: owned nodes with spans, no pest types.
//!
//! Items keep their source order (the formatter and diagnostics rely on it).
//! Equality includes spans; [`Policy::without_spans`] erases them, so a
//! reformatted policy compares equal to its original in shape.

use std::sync::Arc;

use rust_decimal::Decimal;

use crate::span::Span;

pub use crate::lang::{BinaryOp, Collection, RuleKind, UnaryOp};

/// A parsed policy file.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Policy {
    pub items: Vec<Item>,
}

/// A name as written, with where it was written. The parser shares one
/// copy of each distinct name among all its uses.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ident {
    pub name: Arc<str>,
    pub span: Span,
}

/// One top-level declaration with its doc comment.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub docs: Vec<String>,
    pub kind: ItemKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ItemKind {
    /// `policy ampere`
    Policy(Ident),
    /// `role owner with billing, numbers access`
    Role { name: Ident, access: Vec<Ident> },
    /// `actions billable: send_message, run_tool`
    Actions {
        category: Ident,
        actions: Vec<Ident>,
    },
    /// `credits included, purchased`
    Credits(Vec<Ident>),
    /// `debts refund_dispute, outstanding_usage`
    Debts(Vec<Ident>),
    /// `enum payment_method: valid, missing, failed`
    Enum { name: Ident, values: Vec<Ident> },
    /// `field billing.payment_method: payment_method default missing`
    Field(FieldDecl),
    /// `permit member to billable, free except x`
    Permit {
        role: Ident,
        to: PermitTargets,
        except: Vec<Ident>,
    },
    /// `lock purchased when ... { message "..." may settle outstanding_usage }`
    Lock(LockDecl),
    /// `spend included, purchased by expires_at, id`; `spend by expires_at`
    /// (no kinds: every kind).
    Spend {
        kinds: Vec<Ident>,
        order: Vec<SortKey>,
    },
    /// `settle refund_dispute, outstanding_usage by created_at { ... }`
    Settle(SettleDecl),
    /// `let name = expr`
    Let { name: Ident, value: Expr },
    /// `step buy_credits "..."`
    Step {
        name: Ident,
        message: Option<Template>,
    },
    /// `state paused when usable == 0` / `state ok otherwise`
    State { name: Ident, when: Option<Expr> },
    /// `on billable { ... }`
    On(OnBlock),
    /// `shortfall of charge is outstanding_usage [when ... | otherwise]`
    Shortfall(ShortfallDecl),
    /// `expire purchased after 1y`
    Expire { kinds: Vec<Ident>, after: Expr },
    /// `assert name for member on billable when debt > 0: deny debt_outstanding`
    Assert(AssertDecl),
}

/// `assert NAME [for WHO, ...] [on WHAT, ...] [when EXPR]: CLAIM`: a
/// property `tollgate verify` proves; deciding never reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct AssertDecl {
    pub name: Ident,
    /// Roles and access levels; empty for every role.
    pub roles: Vec<Who>,
    /// Actions and categories, `all` as a name; empty for every action.
    pub actions: Vec<Ident>,
    pub when: Option<Expr>,
    pub claim: Claim,
}

/// One entry after an assertion's `for`.
#[derive(Clone, Debug, PartialEq)]
pub enum Who {
    /// `member`
    Role(Ident),
    /// `billing access`: every role with that access level.
    Access(Ident),
}

impl Who {
    /// The name written, role or access level.
    #[cfg_attr(
        not(feature = "lsp"),
        allow(
            dead_code,
            reason = "the language server's index reads assertions with it"
        )
    )]
    pub fn name(&self) -> &Ident {
        match self {
            Who::Role(n) | Who::Access(n) => n,
        }
    }
}

/// What an assertion claims of a decision. The tree is as deep as the
/// parser's expression depth limit at most ([`crate::parse::MAX_EXPR_DEPTH`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Claim {
    pub kind: ClaimKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ClaimKind {
    Fact(Fact),
    /// `never c`
    Not(Box<Claim>),
    And(Box<Claim>, Box<Claim>),
    Or(Box<Claim>, Box<Claim>),
    /// `a implies b`
    Implies(Box<Claim>, Box<Claim>),
    /// Stands in for a claim the parser already reported.
    Invalid,
}

/// One thing a decision can say, as written in a claim.
#[derive(Clone, Debug, PartialEq)]
pub enum Fact {
    /// `allow`
    Allow,
    /// `deny`
    Deny,
    /// `deny CODE`
    Reason(Ident),
    /// `permitted`
    Permitted,
    /// `state NAME`
    State(Ident),
    /// `step CODE`
    Step(Ident),
    /// `steps only [A, B]`
    StepsOnly(Vec<Ident>),
    /// `some step`
    SomeStep,
    /// `warn CODE`
    Warning(Ident),
    /// `some warn`
    SomeWarning,
    /// `effect CODE`
    Effect(Ident),
    /// `some effect`
    SomeEffect,
}

impl Claim {
    /// The claims directly inside this one.
    #[cfg_attr(
        not(feature = "lsp"),
        allow(
            dead_code,
            reason = "the language server's index reads assertions with it"
        )
    )]
    pub fn children(&self) -> Vec<&Claim> {
        match &self.kind {
            ClaimKind::Not(c) => vec![c],
            ClaimKind::And(a, b) | ClaimKind::Or(a, b) | ClaimKind::Implies(a, b) => vec![a, b],
            ClaimKind::Fact(_) | ClaimKind::Invalid => Vec::new(),
        }
    }
}

impl Fact {
    /// The names the fact writes, with where.
    #[cfg_attr(
        not(feature = "lsp"),
        allow(
            dead_code,
            reason = "the language server's index reads assertions with it"
        )
    )]
    pub fn names(&self) -> &[Ident] {
        match self {
            Fact::Reason(n)
            | Fact::State(n)
            | Fact::Step(n)
            | Fact::Warning(n)
            | Fact::Effect(n) => std::slice::from_ref(n),
            Fact::StepsOnly(names) => names,
            _ => &[],
        }
    }
}

/// `shortfall of charge is invoiced when billing.plan == monthly`
#[derive(Clone, Debug, PartialEq)]
pub struct ShortfallDecl {
    /// `charge` or `refund`.
    pub operation: Ident,
    /// A debt kind, or `invoiced`.
    pub becomes: Ident,
    /// The condition; `None` with `otherwise` or nothing written.
    pub when: Option<Expr>,
    /// Whether `otherwise` was written.
    pub otherwise: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FieldDecl {
    pub path: Path,
    pub optional: bool,
    pub ty: Ident,
    pub default: Option<Expr>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum PermitTargets {
    /// `all`, with the keyword's span.
    All(Span),
    /// Categories or single actions.
    Names(Vec<Ident>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct LockDecl {
    pub kinds: Vec<Ident>,
    pub when: Expr,
    pub message: Option<Template>,
    /// Debt kinds the locked credits may still settle.
    pub may_settle: Vec<Ident>,
}

/// One key of a spend or settle order.
#[derive(Clone, Debug, PartialEq)]
pub struct SortKey {
    pub field: Ident,
    pub descending: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SettleDecl {
    /// Debt kinds, first settled first.
    pub kinds: Vec<Ident>,
    pub order: Vec<SortKey>,
    pub sources: Vec<SettleSource>,
}

/// `outstanding_usage from usable, locked [only purchased]`
#[derive(Clone, Debug, PartialEq)]
pub struct SettleSource {
    pub debt_kind: Ident,
    pub from: Vec<Ident>,
    /// The credit kinds that may pay; empty for every kind.
    pub only: Vec<Ident>,
}

/// One target of an `on` block.
#[derive(Clone, Debug, PartialEq)]
pub enum OnTarget {
    /// Requests the role is not permitted to make.
    Forbidden(Span),
    /// Every request.
    All(Span),
    /// An action category, a single action, or a ledger operation.
    Name(Ident),
}

#[derive(Clone, Debug, PartialEq)]
pub struct OnBlock {
    pub targets: Vec<OnTarget>,
    pub rules: Vec<Rule>,
}

/// A deny, warn or effect rule inside an `on` block.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub docs: Vec<String>,
    pub kind: RuleKind,
    pub code: Ident,
    pub when: Option<Expr>,
    pub message: Option<Template>,
    pub steps: Vec<StepsClause>,
    pub params: Vec<EffectParam>,
    /// `warn ... even if denied`: shown with a denial too.
    pub even_if_denied: bool,
    pub span: Span,
}

/// Who a `steps` clause speaks to.
#[derive(Clone, Debug, PartialEq)]
pub enum Audience {
    /// `steps { ... }`: everyone.
    Everyone,
    /// `steps for billing access { ... }`
    Access(Ident),
    /// `steps for others { ... }`
    Others(Span),
}

#[derive(Clone, Debug, PartialEq)]
pub struct StepsClause {
    pub audience: Audience,
    pub steps: Vec<StepUse>,
    pub span: Span,
}

/// `buy_credits` or `wait_for_refresh when subscription.status == active`
#[derive(Clone, Debug, PartialEq)]
pub struct StepUse {
    pub step: Ident,
    pub when: Option<Expr>,
    pub span: Span,
}

/// `amount = auto_recharge.amount`
#[derive(Clone, Debug, PartialEq)]
pub struct EffectParam {
    pub name: Ident,
    pub value: Expr,
}

/// A message with `{...}` interpolations.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    pub parts: Vec<TemplatePart>,
    /// The string literals as written, for the formatter.
    pub literals: Vec<String>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TemplatePart {
    Text(String),
    /// Boxed: a message is mostly text.
    Value(Box<Interpolation>),
}

/// `{subscription.period_end:date ?? "the next billing period"}`
#[derive(Clone, Debug, PartialEq)]
pub struct Interpolation {
    pub path: Path,
    pub format: Option<Ident>,
    pub fallback: Option<String>,
    pub span: Span,
}

/// `subscription.status`: segments, the first a name, the rest fields.
/// Nothing separates them but dots, so the path spans its first segment
/// to its last. A name standing alone is [`ExprKind::Name`] in an
/// expression; [`Segments`] reads both alike.
#[derive(Clone, Debug, PartialEq)]
pub struct Path {
    pub segments: Box<[Ident]>,
}

impl std::ops::Deref for Path {
    type Target = [Ident];

    fn deref(&self) -> &[Ident] {
        &self.segments
    }
}

impl Path {
    /// Where the path was written.
    pub fn span(&self) -> Span {
        self.segments.span()
    }

    /// The names of its segments, in order.
    pub fn names(&self) -> Vec<&str> {
        self.segments.names()
    }

    /// The path as written, dots and all.
    pub fn dotted(&self) -> String {
        self.segments.dotted()
    }

    /// The name when the path has a single segment.
    pub fn single(&self) -> Option<&Ident> {
        self.segments.single()
    }
}

/// What a path is read as: its segments, one or more.
pub trait Segments {
    /// Where the path was written.
    fn span(&self) -> Span;
    /// The names of its segments, in order.
    fn names(&self) -> Vec<&str>;
    /// The path as written, dots and all.
    fn dotted(&self) -> String;
    /// The name when the path has a single segment.
    fn single(&self) -> Option<&Ident>;
}

impl Segments for [Ident] {
    fn span(&self) -> Span {
        match (self.first(), self.last()) {
            (Some(first), Some(last)) => first.span.to(last.span),
            _ => Span::default(),
        }
    }

    fn names(&self) -> Vec<&str> {
        self.iter().map(|s| &*s.name).collect()
    }

    fn dotted(&self) -> String {
        self.names().join(".")
    }

    fn single(&self) -> Option<&Ident> {
        match self {
            [only] => Some(only),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

/// `sum <field>` or `count`.
#[derive(Clone, Debug, PartialEq)]
pub enum Aggregate {
    /// Boxed, like the set of `in`: rare variants stay out of the size of
    /// every node.
    Sum(Box<Ident>),
    Count,
}

/// An expression node. Its size is the size of every node, list items
/// included, so large or rare payloads are boxed: 24 bytes, 32 with the
/// span (a test holds it there).
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Number(Decimal),
    /// Whole seconds.
    Duration(i64),
    /// Calendar months (`3mo`; `1y` is 12).
    Months(i64),
    Text(Box<str>),
    Bool(bool),
    /// A name standing alone (`credits_ok`, `x` in `[x, y]`): a path of
    /// one segment whose span is the expression's. The commonest leaf, so
    /// it is kept in the node: as a [`Path`] its segment was an
    /// allocation of its own, 32 bytes of heap for each name written.
    Name(Arc<str>),
    /// A path of two or more segments (`subscription.status`).
    Path(Path),
    Unary(UnaryOp, Box<Expr>),
    /// The two operands in one allocation: two boxes of 32 bytes cost 96
    /// of the heap, one of 64 costs 80.
    Binary(BinaryOp, Box<[Expr; 2]>),
    /// `x in [a, b]`, `x not in [a]`, `action in billing`.
    In {
        value: Box<Expr>,
        set: Box<InSet>,
        negated: bool,
    },
    Aggregate {
        op: Aggregate,
        of: Collection,
        filter: Option<Box<Expr>>,
    },
    /// Stands in for an expression the parser already reported.
    Invalid,
}

#[derive(Clone, Debug, PartialEq)]
pub enum InSet {
    List(Vec<Expr>),
    /// A list whose items are all plain names (`[pro, enterprise]`): each
    /// item is the name alone, 24 bytes in one allocation, where an
    /// expression is 32 and a path's segments an allocation of their own.
    /// It means what a `List` of the same paths means.
    Names(Box<[Ident]>),
    /// A named set, such as an action category.
    Named(Path),
}

impl Expr {
    /// The name `name` standing alone, as a list item of
    /// [`InSet::Names`] reads when written out.
    pub fn name(name: &Ident) -> Expr {
        Expr {
            kind: ExprKind::Name(name.name.clone()),
            span: name.span,
        }
    }

    /// The segments of a name or a path, handed to `f`: a name's one
    /// segment is made on the stack (its text is shared, not copied).
    pub fn with_path<R>(&self, f: impl FnOnce(&[Ident]) -> R) -> Option<R> {
        match &self.kind {
            ExprKind::Name(name) => {
                let one = Ident {
                    name: name.clone(),
                    span: self.span,
                };
                Some(f(std::slice::from_ref(&one)))
            }
            ExprKind::Path(p) => Some(f(&p.segments)),
            _ => None,
        }
    }

    /// Takes the expression out, leaving an `Invalid` one with its span.
    pub fn take(&mut self) -> Expr {
        let span = self.span;
        std::mem::replace(
            self,
            Expr {
                kind: ExprKind::Invalid,
                span,
            },
        )
    }

    /// Children, for walks that do not care about the node kind.
    pub fn children(&self) -> Vec<&Expr> {
        match &self.kind {
            ExprKind::Unary(_, e) => vec![e],
            ExprKind::Binary(_, ab) => ab.iter().collect(),
            ExprKind::In { value, set, .. } => {
                let mut out = vec![value.as_ref()];
                if let InSet::List(items) = set.as_ref() {
                    out.extend(items);
                }
                out
            }
            ExprKind::Aggregate { filter, .. } => filter.iter().map(|f| f.as_ref()).collect(),
            _ => Vec::new(),
        }
    }
}

impl Policy {
    /// A copy with every span set to the empty default: two trees that
    /// differ only in where things were written compare equal (Cedar's
    /// `Node` leaves `loc` out of equality; the formatter's soundness
    /// checks compare `a.without_spans() == b.without_spans()`).
    ///
    /// Erasing a copy rather than leaving spans out of `PartialEq` keeps
    /// real equality for spans (diagnostics at two places stay two) and
    /// fails loudly, not silently, if a new span field is forgotten here.
    /// The formatter erases its own trees in place ([`Policy::erase_spans`]);
    /// tests compare copies.
    #[cfg(test)]
    pub fn without_spans(&self) -> Policy {
        let mut p = self.clone();
        p.erase_spans();
        p
    }

    /// Sets every span to the empty default in place, as
    /// [`Policy::without_spans`] does to a copy: for a tree that is not
    /// needed with its spans again, with no copy held beside it.
    pub fn erase_spans(&mut self) {
        for item in &mut self.items {
            item.map_spans(&|_| Span::default());
        }
    }
}

/// Nodes whose every span can be rewritten: [`Policy::without_spans`]
/// erases them, and the language server moves a reused item's spans to
/// where the item now starts. One walk, so a new span field is either
/// covered for both or fails both.
pub(crate) trait MapSpans {
    /// Replaces each span `s` in the node with `f(s)`.
    fn map_spans(&mut self, f: &dyn Fn(Span) -> Span);
}

impl<T: MapSpans> MapSpans for Vec<T> {
    fn map_spans(&mut self, f: &dyn Fn(Span) -> Span) {
        self.iter_mut().for_each(|x| x.map_spans(f));
    }
}

impl<T: MapSpans> MapSpans for Option<T> {
    fn map_spans(&mut self, f: &dyn Fn(Span) -> Span) {
        if let Some(x) = self {
            x.map_spans(f);
        }
    }
}

impl MapSpans for Span {
    fn map_spans(&mut self, f: &dyn Fn(Span) -> Span) {
        *self = f(*self);
    }
}

impl MapSpans for Ident {
    fn map_spans(&mut self, f: &dyn Fn(Span) -> Span) {
        self.span.map_spans(f);
    }
}

impl MapSpans for Item {
    fn map_spans(&mut self, f: &dyn Fn(Span) -> Span) {
        self.span.map_spans(f);
        match &mut self.kind {
            ItemKind::Policy(name) => name.map_spans(f),
            ItemKind::Role { name, access } => {
                name.map_spans(f);
                access.map_spans(f);
            }
            ItemKind::Actions { category, actions } => {
                category.map_spans(f);
                actions.map_spans(f);
            }
            ItemKind::Credits(kinds) | ItemKind::Debts(kinds) => kinds.map_spans(f),
            ItemKind::Enum { name, values } => {
                name.map_spans(f);
                values.map_spans(f);
            }
            ItemKind::Field(field) => {
                field.path.map_spans(f);
                field.ty.map_spans(f);
                field.default.map_spans(f);
            }
            ItemKind::Permit { role, to, except } => {
                role.map_spans(f);
                match to {
                    PermitTargets::All(span) => span.map_spans(f),
                    PermitTargets::Names(names) => names.map_spans(f),
                }
                except.map_spans(f);
            }
            ItemKind::Lock(lock) => {
                lock.kinds.map_spans(f);
                lock.when.map_spans(f);
                lock.message.map_spans(f);
                lock.may_settle.map_spans(f);
            }
            ItemKind::Spend { kinds, order } => {
                kinds.map_spans(f);
                order.map_spans(f);
            }
            ItemKind::Settle(settle) => {
                settle.kinds.map_spans(f);
                settle.order.map_spans(f);
                for source in &mut settle.sources {
                    source.debt_kind.map_spans(f);
                    source.from.map_spans(f);
                    source.only.map_spans(f);
                }
            }
            ItemKind::Let { name, value } => {
                name.map_spans(f);
                value.map_spans(f);
            }
            ItemKind::Step { name, message } => {
                name.map_spans(f);
                message.map_spans(f);
            }
            ItemKind::State { name, when } => {
                name.map_spans(f);
                when.map_spans(f);
            }
            ItemKind::On(block) => {
                for target in &mut block.targets {
                    match target {
                        OnTarget::Forbidden(span) | OnTarget::All(span) => span.map_spans(f),
                        OnTarget::Name(name) => name.map_spans(f),
                    }
                }
                block.rules.map_spans(f);
            }
            ItemKind::Shortfall(s) => {
                s.operation.map_spans(f);
                s.becomes.map_spans(f);
                s.when.map_spans(f);
            }
            ItemKind::Expire { kinds, after } => {
                kinds.map_spans(f);
                after.map_spans(f);
            }
            ItemKind::Assert(a) => {
                a.name.map_spans(f);
                for who in &mut a.roles {
                    match who {
                        Who::Role(n) | Who::Access(n) => n.map_spans(f),
                    }
                }
                a.actions.map_spans(f);
                a.when.map_spans(f);
                a.claim.map_spans(f);
            }
        }
    }
}

impl MapSpans for Claim {
    /// With a stack of its own, like [`Expr`]'s walk.
    fn map_spans(&mut self, f: &dyn Fn(Span) -> Span) {
        let mut todo: Vec<&mut Claim> = vec![self];
        while let Some(c) = todo.pop() {
            c.span.map_spans(f);
            match &mut c.kind {
                ClaimKind::Not(x) => todo.push(x),
                ClaimKind::And(a, b) | ClaimKind::Or(a, b) | ClaimKind::Implies(a, b) => {
                    todo.push(a);
                    todo.push(b);
                }
                ClaimKind::Fact(fact) => match fact {
                    Fact::Reason(n)
                    | Fact::State(n)
                    | Fact::Step(n)
                    | Fact::Warning(n)
                    | Fact::Effect(n) => n.map_spans(f),
                    Fact::StepsOnly(names) => names.map_spans(f),
                    Fact::Allow
                    | Fact::Deny
                    | Fact::Permitted
                    | Fact::SomeStep
                    | Fact::SomeWarning
                    | Fact::SomeEffect => {}
                },
                ClaimKind::Invalid => {}
            }
        }
    }
}

impl MapSpans for SortKey {
    fn map_spans(&mut self, f: &dyn Fn(Span) -> Span) {
        self.field.map_spans(f);
    }
}

impl MapSpans for Rule {
    fn map_spans(&mut self, f: &dyn Fn(Span) -> Span) {
        self.span.map_spans(f);
        self.code.map_spans(f);
        self.when.map_spans(f);
        self.message.map_spans(f);
        for clause in &mut self.steps {
            clause.span.map_spans(f);
            match &mut clause.audience {
                Audience::Everyone => {}
                Audience::Access(name) => name.map_spans(f),
                Audience::Others(span) => span.map_spans(f),
            }
            for step in &mut clause.steps {
                step.span.map_spans(f);
                step.step.map_spans(f);
                step.when.map_spans(f);
            }
        }
        for param in &mut self.params {
            param.name.map_spans(f);
            param.value.map_spans(f);
        }
    }
}

impl MapSpans for Template {
    fn map_spans(&mut self, f: &dyn Fn(Span) -> Span) {
        self.span.map_spans(f);
        for part in &mut self.parts {
            if let TemplatePart::Value(v) = part {
                v.span.map_spans(f);
                v.path.map_spans(f);
                v.format.map_spans(f);
            }
        }
    }
}

impl MapSpans for Path {
    fn map_spans(&mut self, f: &dyn Fn(Span) -> Span) {
        self.segments.iter_mut().for_each(|x| x.map_spans(f));
    }
}

impl MapSpans for Expr {
    /// With a stack of its own rather than recursion: the walk needs no
    /// depth bound beyond the tree's size.
    fn map_spans(&mut self, f: &dyn Fn(Span) -> Span) {
        let mut todo: Vec<&mut Expr> = vec![self];
        while let Some(e) = todo.pop() {
            e.span.map_spans(f);
            match &mut e.kind {
                ExprKind::Path(p) => p.map_spans(f),
                ExprKind::Unary(_, x) => todo.push(x),
                ExprKind::Binary(_, ab) => todo.extend(ab.iter_mut()),
                ExprKind::In { value, set, .. } => {
                    todo.push(value);
                    match set.as_mut() {
                        InSet::List(items) => todo.extend(items.iter_mut()),
                        InSet::Names(names) => names.iter_mut().for_each(|x| x.map_spans(f)),
                        InSet::Named(p) => p.map_spans(f),
                    }
                }
                ExprKind::Aggregate { op, filter, .. } => {
                    if let Aggregate::Sum(field) = op {
                        field.map_spans(f);
                    }
                    if let Some(x) = filter {
                        todo.push(x);
                    }
                }
                ExprKind::Number(_)
                | ExprKind::Name(_)
                | ExprKind::Duration(_)
                | ExprKind::Months(_)
                | ExprKind::Text(_)
                | ExprKind::Bool(_)
                | ExprKind::Invalid => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ident(name: &str, at: usize) -> Ident {
        Ident {
            name: name.into(),
            span: Span::new(at, at + name.len()),
        }
    }

    /// Every expression node, list items included, is this size: a list of
    /// 99,000 numbers is 3 MB of nodes at 32 bytes, 5.5 MB at 56.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn nodes_stay_small() {
        assert_eq!(std::mem::size_of::<Expr>(), 32);
        assert_eq!(std::mem::size_of::<Ident>(), 24);
        assert_eq!(std::mem::size_of::<Path>(), 16);
    }

    #[test]
    fn spans_count_in_equality_but_not_in_shape() {
        let at = |offset: usize| Policy {
            items: vec![Item {
                docs: Vec::new(),
                kind: ItemKind::Let {
                    name: ident("x", offset),
                    value: Expr {
                        kind: ExprKind::Unary(
                            UnaryOp::Not,
                            Box::new(Expr {
                                kind: ExprKind::Bool(true),
                                span: Span::new(offset + 5, offset + 9),
                            }),
                        ),
                        span: Span::new(offset + 4, offset + 9),
                    },
                },
                span: Span::new(offset, offset + 9),
            }],
        };
        assert_ne!(at(0), at(3));
        assert_eq!(at(0).without_spans(), at(3).without_spans());
        let mut other = at(0);
        if let Some(ItemKind::Let { name, .. }) = other.items.first_mut().map(|i| &mut i.kind) {
            name.name = "y".into();
        }
        assert_ne!(at(0).without_spans(), other.without_spans());
    }
}
