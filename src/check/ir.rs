//! The checked policy: every name resolved to an index, every expression
//! typed. This is what the compiler consumes; nothing here can be wrong.

pub use crate::lang::{
    AggregateOp, Base, BinaryOp, Builtin, Collection, DebtKey, EnumRef, Field, Format,
    GRANT_STATUSES, GrantKey, ItemField, Literal, RuleKind, SourceKind, Type, UnaryOp,
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
    pub locks: Vec<Lock>,
    pub spend: Spend,
    pub settle: Settle,
    pub lets: Vec<Let>,
    pub steps: Vec<Step>,
    pub states: Vec<State>,
    pub blocks: Vec<Block>,
    /// The debt kind a charge shortfall becomes.
    pub charge_shortfall: Option<usize>,
    /// The debt kind a refund's used credits become.
    pub refund_shortfall: Option<usize>,
}

#[derive(Clone, Debug)]
pub struct Named {
    pub name: String,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Role {
    pub name: String,
    pub access: Option<usize>,
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
    /// Credit kinds in the order they pay.
    pub kinds: Vec<usize>,
    /// Tie-breakers within a kind; `true` means descending.
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
    Unary(UnaryOp, Box<TExpr>),
    Binary(BinaryOp, Box<TExpr>, Box<TExpr>),
    In {
        value: Box<TExpr>,
        set: Vec<TExpr>,
        negated: bool,
    },
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
