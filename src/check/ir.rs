//! The checked policy: every name resolved to an index, every expression
//! typed. This is what the compiler consumes; nothing here can be wrong.

pub use crate::lang::{
    AggregateOp, Base, BinaryOp, Builtin, Collection, DebtKey, EnumId, EnumRef, Field, Format,
    GRANT_STATUSES, GrantKey, ItemField, Lifetime, Literal, Operation, RuleKind, Shortfall,
    SourceKind, Type, UnaryOp,
};
use crate::span::{Source, Span};

/// A policy that passed `check`.
#[derive(Clone, Debug)]
pub struct Checked {
    pub source: Source,
    pub name: String,
    pub docs: Vec<String>,
    pub roles: Vec<Role>,
    /// Access levels (`billing`), in order of first mention.
    pub access_levels: Vec<String>,
    pub categories: Vec<Category>,
    pub actions: Vec<Action>,
    /// `permitted[role][action]`.
    pub permitted: Vec<Vec<bool>>,
    pub credit_kinds: Vec<Named>,
    pub debt_kinds: Vec<Named>,
    pub enums: Vec<Enum>,
    pub fields: Vec<Field>,
    /// Attributes every grant carries (`field grants.priority: ...`); each
    /// field's path is the attribute's name alone.
    pub grant_attrs: Vec<Field>,
    /// `lifetimes[credit_kind]`: what `grant` gives when no expiry is given.
    pub lifetimes: Vec<Option<Lifetime>>,
    pub locks: Vec<Lock>,
    pub spend: Spend,
    pub settle: Settle,
    pub lets: Vec<Let>,
    pub steps: Vec<Step>,
    pub states: Vec<State>,
    pub blocks: Vec<Block>,
    /// What a charge's shortfall becomes: the first line that holds.
    pub charge_shortfall: Vec<ShortfallRule>,
    /// What a refund's used credits become: the first line that holds.
    pub refund_shortfall: Vec<ShortfallRule>,
    /// The `assert` items, in source order; deciding never reads them.
    pub assertions: Vec<Assertion>,
}

/// `assert ...`, checked: the roles and actions it covers as indices in
/// policy order (every one when it names none), its condition typed, its
/// claim's names resolved.
#[derive(Clone, Debug)]
pub struct Assertion {
    pub name: String,
    pub roles: Vec<usize>,
    pub actions: Vec<usize>,
    /// A condition in a request's scope, like a rule's.
    pub when: Option<TExpr>,
    pub claim: Claim,
    /// The item, from `assert` to the end of the claim.
    pub span: Span,
}

/// An assertion's claim; [`crate::compile::Claim`] with indices.
#[derive(Clone, Debug, PartialEq)]
pub enum Claim {
    Fact(Fact),
    Not(Box<Claim>),
    And(Box<Claim>, Box<Claim>),
    Or(Box<Claim>, Box<Claim>),
    Implies(Box<Claim>, Box<Claim>),
}

/// [`crate::compile::Fact`] with states and steps as indices.
#[derive(Clone, Debug, PartialEq)]
pub enum Fact {
    Allow,
    Deny,
    Reason(String),
    Permitted,
    State(usize),
    Step(usize),
    StepsOnly(Vec<usize>),
    SomeStep,
    Warning(String),
    SomeWarning,
    Effect(String),
    SomeEffect,
}

/// `shortfall of charge is invoiced when ...`
#[derive(Clone, Debug)]
pub struct ShortfallRule {
    pub becomes: Shortfall,
    /// `None`: always.
    pub when: Option<TExpr>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Named {
    pub name: String,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Role {
    pub name: String,
    /// Access levels, each once.
    pub access: Vec<usize>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Category {
    pub name: String,
    pub actions: Vec<usize>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Action {
    pub name: String,
    pub category: usize,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Enum {
    pub name: String,
    pub values: Vec<String>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Lock {
    pub kinds: Vec<usize>,
    pub when: TExpr,
    /// Debt kinds the locked credits may still settle.
    pub may_settle: Vec<usize>,
    pub span: Span,
}

#[derive(Clone, Debug, Default)]
pub struct Spend {
    /// Credit kinds that pay, in their order for the `kind` key.
    pub kinds: Vec<usize>,
    /// The order; `true` means descending. `GrantKey::Kind` is among them
    /// where the kind counts (first, when kinds are listed and `kind` is
    /// not a key).
    pub keys: Vec<(GrantKey, bool)>,
    pub span: Option<Span>,
}

#[derive(Clone, Debug, Default)]
pub struct Settle {
    /// Debt kinds, first settled first.
    pub kinds: Vec<usize>,
    pub keys: Vec<(DebtKey, bool)>,
    /// `sources[debt_kind]`: where that kind is paid from, in order.
    pub sources: Vec<Vec<SourceKind>>,
    /// `only[debt_kind]`: the credit kinds that may pay it; empty for all.
    pub only: Vec<Vec<usize>>,
    pub span: Option<Span>,
}

#[derive(Clone, Debug)]
pub struct Let {
    pub name: String,
    pub value: TExpr,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Step {
    pub name: String,
    pub message: Template,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct State {
    pub name: String,
    /// `None` for `otherwise`.
    pub when: Option<TExpr>,
    pub span: Span,
}

/// An `on` block.
#[derive(Clone, Debug)]
pub struct Block {
    /// `on forbidden`: applies to requests the role may not make.
    pub forbidden: bool,
    /// `on all`: applies to every request.
    pub all: bool,
    /// `on charge` and the like: applies to that ledger operation only.
    pub operation: Option<Operation>,
    /// `actions[action]`: whether the block applies to that action.
    pub actions: Vec<bool>,
    pub rules: Vec<Rule>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Rule {
    pub kind: RuleKind,
    pub code: String,
    pub when: Option<TExpr>,
    pub message: Option<Template>,
    pub steps: Vec<StepsClause>,
    pub params: Vec<(String, TExpr)>,
    /// `warn ... even if denied`
    pub even_if_denied: bool,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    Everyone,
    Access(usize),
    Others,
}

#[derive(Clone, Debug)]
pub struct StepsClause {
    pub audience: Audience,
    /// Step index, its condition, and where the rule offers it.
    pub steps: Vec<(usize, Option<TExpr>, Span)>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Template {
    pub parts: Vec<TemplatePart>,
}

#[derive(Clone, Debug)]
pub enum TemplatePart {
    Text(String),
    Value {
        expr: TExpr,
        format: Format,
        /// Words to use when the value is absent.
        fallback: Option<String>,
    },
}

// ───────────── Types and expressions ─────────────

/// A list of literals, each item its value and span: 32 bytes, where a
/// whole expression is 56 and long lists are written two bytes an item.
#[derive(Clone, Debug)]
pub struct InLiterals {
    pub value: TExpr,
    /// The type of every item.
    pub ty: Type,
    pub items: Box<[(Literal, Span)]>,
    pub negated: bool,
}

#[derive(Clone, Debug)]
pub struct TExpr {
    pub kind: TExprKind,
    pub ty: Type,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum TExprKind {
    Literal(Literal),
    Field(usize),
    Let(usize),
    Builtin(Builtin),
    Item(ItemField),
    /// A field of the grant a ledger operation adds or refunds (`grant.kind`).
    OpGrant(ItemField),
    /// `before.usable`: the value on the account before the operation.
    Before(Box<TExpr>),
    Unary(UnaryOp, Box<TExpr>),
    Binary(BinaryOp, Box<TExpr>, Box<TExpr>),
    In {
        value: Box<TExpr>,
        set: Box<[TExpr]>,
        negated: bool,
    },
    /// `x in [a, b, …]` whose items are all literals of one type.
    InLiterals(Box<InLiterals>),
    /// `action in billing`
    InCategory {
        value: Box<TExpr>,
        category: usize,
        negated: bool,
    },
    Aggregate {
        op: AggregateOp,
        of: Collection,
        filter: Option<Box<TExpr>>,
    },
}
