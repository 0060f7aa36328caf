//! The vocabulary every stage shares: operators, value types, sort keys,
//! snapshot fields. The parser and checker produce these; the compiler,
//! evaluator, ledger and snapshot reader consume them without reaching
//! back into the syntax tree or the checker.

use rust_decimal::Decimal;

use crate::span::Span;
use crate::time::Timestamp;
use crate::value::Value;

// ───────────── Operators and rule kinds (written in the policy) ─────────────

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RuleKind {
    Deny,
    Warn,
    Effect,
}

impl RuleKind {
    pub fn keyword(self) -> &'static str {
        match self {
            RuleKind::Deny => "deny",
            RuleKind::Warn => "warn",
            RuleKind::Effect => "effect",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    /// `a ?? b`: `a` unless it is absent.
    Default,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Default => "??",
        }
    }

    /// Binding strength, loosest first; the formatter uses it to decide
    /// where parentheses are needed.
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::Or => 1,
            BinaryOp::And => 2,
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge => 4,
            BinaryOp::Default => 5,
            BinaryOp::Add | BinaryOp::Sub => 6,
            BinaryOp::Mul => 7,
        }
    }

    pub fn is_comparison(self) -> bool {
        self.precedence() == 4
    }

    /// The comparison with its operands swapped: `a < b` is `b > a`.
    pub fn flipped(self) -> Option<BinaryOp> {
        Some(match self {
            BinaryOp::Eq | BinaryOp::Ne => self,
            BinaryOp::Lt => BinaryOp::Gt,
            BinaryOp::Le => BinaryOp::Ge,
            BinaryOp::Gt => BinaryOp::Lt,
            BinaryOp::Ge => BinaryOp::Le,
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    Not,
    Neg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Collection {
    Grants,
    Debts,
}

impl Collection {
    pub fn keyword(self) -> &'static str {
        match self {
            Collection::Grants => "grants",
            Collection::Debts => "debts",
        }
    }
}

// ───────────── Snapshot fields and orders ─────────────

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

/// Keys a grant can be ordered by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantKey {
    /// The kind's place in the order's kind list.
    Kind,
    ExpiresAt,
    GrantedAt,
    Id,
    Amount,
    Remaining,
    /// A policy-declared grant attribute, by index (`grants.priority`).
    Attr(usize),
}

/// Keys a debt can be ordered by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DebtKey {
    /// The kind's place in the order's kind list.
    Kind,
    CreatedAt,
    Id,
    Amount,
}

/// A ledger operation, as `on charge { ... }` and `shortfall of` name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    Charge,
    Settle,
    Grant,
    Refund,
}

impl Operation {
    /// Every operation, in index order.
    pub const ALL: [Operation; 4] = [
        Operation::Charge,
        Operation::Settle,
        Operation::Grant,
        Operation::Refund,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Operation::Charge => "charge",
            Operation::Settle => "settle",
            Operation::Grant => "grant",
            Operation::Refund => "refund",
        }
    }

    pub fn from_name(name: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|o| o.name() == name)
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// What a shortfall becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shortfall {
    /// A debt of this kind.
    Debt(usize),
    /// No debt: the amount is invoiced, and the ledger output says so.
    Invoiced,
    /// No debt and no invoice: the amount is forgiven, and the ledger
    /// output says so.
    Waived,
}

/// How long a new grant of a kind lasts when `grant` is given no expiry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lifetime {
    Seconds(i64),
    Months(i64),
}

/// Where a debt is paid from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SourceKind {
    Usable,
    Locked,
}

/// How an interpolated value is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Plain,
    /// A timestamp as `2026-12-01`.
    Date,
}

// ───────────── Types ─────────────

/// Enum-like types: a fixed set of names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EnumRef {
    User(EnumId),
    CreditKind,
    DebtKind,
    /// `usable`, `locked` or `expired`, inside `where` over grants.
    GrantStatus,
    Role,
    Action,
}

/// A policy's own enum: its index among the policy's enums. 32 bits, not a
/// `usize`, so that a [`Type`] is 12 bytes: every checked expression holds
/// one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EnumId(u32);

impl EnumId {
    /// The enum at `index`. No policy under the size limit declares 2^32
    /// enums; an index past that saturates, and names no enum.
    pub fn new(index: usize) -> EnumId {
        EnumId(u32::try_from(index).unwrap_or(u32::MAX))
    }

    /// The enum's position among the policy's enums.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// The grant statuses, in `GrantStatus` index order.
pub const GRANT_STATUSES: [&str; 3] = ["usable", "locked", "expired"];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Base {
    Bool,
    Decimal,
    Time,
    Duration,
    /// Calendar months (`1mo`, `1y`): written in a policy, never read from
    /// a snapshot.
    Months,
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
    Months(i64),
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
            Literal::Months(m) => Value::Months(*m),
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
            Value::Months(m) => Literal::Months(m),
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
    /// `charge.amount`, in `on charge` rules.
    ChargeAmount,
    /// `charge.shortfall`: what the usable credits did not cover.
    ChargeShortfall,
    /// `refund.dispute`: the refund records a dispute (a chargeback), not a
    /// refund asked for.
    RefundDispute,
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
    /// A policy-declared grant attribute, by index.
    Attr(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggregateOp {
    Sum(ItemField),
    Count,
}
