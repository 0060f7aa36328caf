//! The checked policy: every name resolved to an index, every expression
//! typed. This is what the compiler consumes; nothing here can be wrong.

use rust_decimal::Decimal;

use crate::ast::{BinaryOp, Collection, RuleKind, UnaryOp};
use crate::span::{Source, Span};
use crate::time::Timestamp;
use crate::value::Value;

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

/// A snapshot field the policy declares.
#[derive(Clone, Debug)]
pub struct Field {
    /// `["subscription", "status"]`
    pub path: Vec<String>,
    pub ty: Base,
    pub optional: bool,
    /// The value when the snapshot leaves the field out.
    pub default: Option<Literal>,
    pub span: Span,
}

impl Field {
    pub fn dotted(&self) -> String {
        self.path.join(".")
    }
}

#[derive(Clone, Debug)]
pub struct Lock {
    pub kinds: Vec<usize>,
    pub when: TExpr,
    /// Debt kinds the locked credits may still settle.
    pub may_settle: Vec<usize>,
    pub span: Span,
}

/// Keys a grant can be ordered by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantKey {
    ExpiresAt,
    GrantedAt,
    Id,
    Amount,
    Remaining,
}

/// Keys a debt can be ordered by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DebtKey {
    CreatedAt,
    Id,
    Amount,
}

#[derive(Clone, Debug, Default)]
pub struct Spend {
    /// Credit kinds in the order they pay.
    pub kinds: Vec<usize>,
    /// Tie-breakers within a kind; `true` means descending.
    pub keys: Vec<(GrantKey, bool)>,
    pub span: Option<Span>,
}

/// Where a debt is paid from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceKind {
    Usable,
    Locked,
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

/// How an interpolated value is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Plain,
    /// A timestamp as `2026-12-01`.
    Date,
}

// ───────────── Types and expressions ─────────────

/// Enum-like types: a fixed set of names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EnumRef {
    User(usize),
    CreditKind,
    DebtKind,
    /// `usable`, `locked` or `expired`, inside `where` over grants.
    GrantStatus,
    Role,
    Action,
}

/// The grant statuses, in `GrantStatus` index order.
pub const GRANT_STATUSES: [&str; 3] = ["usable", "locked", "expired"];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Base {
    Bool,
    Decimal,
    Time,
    Duration,
    Text,
    Enum(EnumRef),
}

/// A type: a base, possibly absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Type {
    pub base: Base,
    pub optional: bool,
}

impl Type {
    pub fn of(base: Base) -> Type {
        Type {
            base,
            optional: false,
        }
    }
}

/// A constant written in the policy.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    Bool(bool),
    Decimal(Decimal),
    Time(Timestamp),
    Duration(i64),
    Text(String),
    Enum(u32),
}

impl Literal {
    pub fn value(&self) -> Value<'_> {
        match self {
            Literal::Bool(b) => Value::Bool(*b),
            Literal::Decimal(d) => Value::Decimal(*d),
            Literal::Time(t) => Value::Time(*t),
            Literal::Duration(s) => Value::Duration(*s),
            Literal::Text(s) => Value::Text(s),
            Literal::Enum(i) => Value::Enum(*i),
        }
    }

    pub fn from_value(value: Value<'_>) -> Option<Literal> {
        Some(match value {
            Value::Absent => return None,
            Value::Bool(b) => Literal::Bool(b),
            Value::Decimal(d) => Literal::Decimal(d),
            Value::Time(t) => Literal::Time(t),
            Value::Duration(s) => Literal::Duration(s),
            Value::Text(s) => Literal::Text(s.to_owned()),
            Value::Enum(i) => Literal::Enum(i),
        })
    }
}

/// Quantities the engine computes from the ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Builtin {
    Now,
    Account,
    Usable,
    Locked,
    Expired,
    Debt,
    /// The debt of one kind.
    DebtOf(usize),
    Settleable,
    Role,
    Action,
}

/// A field of the grant or debt a `where` filter looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ItemField {
    Id,
    Kind,
    Amount,
    Remaining,
    GrantedAt,
    ExpiresAt,
    Status,
    CreatedAt,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggregateOp {
    Sum(ItemField),
    Count,
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
