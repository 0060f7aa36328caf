//! Compilation: checked policy → program, flat data for fast decisions.
//!
//! Every name is resolved to a small integer, constant subexpressions are
//! folded, and expressions live in one arena addressed by `NodeId`, so
//! deciding is index arithmetic: no string lookups and no tree of boxes.

use std::collections::HashMap;

use rust_decimal::Decimal;

use crate::ast::{BinaryOp, Collection, RuleKind, UnaryOp};
use crate::check::ir::{
    self, AggregateOp, Base, Builtin, Checked, DebtKey, Format, GrantKey, ItemField, Literal,
    SourceKind, TExpr, TExprKind,
};
use crate::span::{Source, Span};
use crate::value::Value;

/// Most credit kinds or debt kinds a policy may declare: kinds are kept in
/// bit sets and fixed arrays so deciding never allocates for them.
pub const MAX_KINDS: usize = 32;

/// An expression node's index in [`Program::nodes`].
pub type NodeId = u32;

/// A compiled policy.
#[derive(Debug)]
pub struct Program {
    pub name: String,
    pub source: Source,
    pub roles: Vec<Role>,
    pub access_levels: Vec<String>,
    pub categories: Vec<String>,
    pub actions: Vec<Action>,
    /// `permitted[role * actions.len() + action]`.
    permitted: Vec<bool>,
    pub credit_kinds: Vec<String>,
    pub debt_kinds: Vec<String>,
    pub enums: Vec<ir::Enum>,
    pub fields: Vec<ir::Field>,
    pub locks: Vec<Lock>,
    /// Position of each credit kind in the spend order (`None`: never spent).
    pub spend_rank: Vec<Option<u8>>,
    pub spend_keys: Vec<(GrantKey, bool)>,
    /// Credit kinds the spend order draws, in that order.
    pub spend_kinds: Vec<u32>,
    /// Position of each debt kind in the settle order.
    pub settle_rank: Vec<Option<u8>>,
    /// Debt kinds the settle order pays, in that order.
    pub settle_kinds: Vec<u32>,
    pub settle_keys: Vec<(DebtKey, bool)>,
    /// Where each debt kind is paid from, in order.
    pub settle_sources: Vec<Vec<SourceKind>>,
    /// Every credit kind is spent, and every debt kind is settled from
    /// usable credits first: then, while nothing is locked, what settlement
    /// could pay is simply `min(debt, usable)`.
    pub simple_settlement: bool,
    pub lets: Vec<Let>,
    pub states: Vec<State>,
    pub rules: Vec<Rule>,
    pub steps: Vec<Step>,
    /// Rule ids that apply to each action, in source order.
    action_rules: Vec<Vec<u32>>,
    /// Rule ids of `on forbidden`.
    pub forbidden_rules: Vec<u32>,
    /// The debt kinds a charge's and a refund's shortfalls become.
    pub charge_shortfall: Option<u32>,
    pub refund_shortfall: Option<u32>,
    pub nodes: Vec<Node>,
    /// Items of `in [...]` lists.
    pub lists: Vec<NodeId>,
    role_index: HashMap<String, u16>,
    action_index: HashMap<String, u16>,
}

#[derive(Debug)]
pub struct Role {
    pub name: String,
    pub access: Option<u16>,
}

#[derive(Debug)]
pub struct Action {
    pub name: String,
    pub category: u16,
}

#[derive(Debug)]
pub struct Lock {
    /// Bit `k` set: credit kind `k` is locked while `when` holds.
    pub kinds: u32,
    pub when: NodeId,
    pub message: Template,
    /// Bit `d` set: locked credits may settle debt kind `d`.
    pub may_settle: u32,
    pub span: Span,
}

#[derive(Debug)]
pub struct Let {
    pub name: String,
    pub root: NodeId,
    pub ty: Base,
    pub span: Span,
}

#[derive(Debug)]
pub struct State {
    pub name: String,
    pub when: Option<NodeId>,
    pub span: Span,
}

#[derive(Debug)]
pub struct Rule {
    pub kind: RuleKind,
    pub code: String,
    pub when: Option<NodeId>,
    pub message: Option<Template>,
    pub steps: Vec<StepsClause>,
    /// Effect parameters: name, value, and its type.
    pub params: Vec<(String, NodeId, Base)>,
    pub span: Span,
    /// `file:line:col`, as decisions cite the rule.
    pub location: String,
    pub docs: Vec<String>,
}

#[derive(Debug)]
pub struct StepsClause {
    pub audience: ir::Audience,
    /// Step index, its condition, and where the rule offers it.
    pub steps: Vec<(u16, Option<NodeId>, Span)>,
}

#[derive(Debug)]
pub struct Step {
    pub code: String,
    pub message: Template,
    pub span: Span,
}

#[derive(Debug)]
pub struct Template {
    pub parts: Vec<TemplatePart>,
}

#[derive(Debug)]
pub enum TemplatePart {
    Text(String),
    Value {
        node: NodeId,
        ty: Base,
        format: Format,
        fallback: Option<String>,
    },
}

/// One expression node. Children are ids into the same arena.
#[derive(Debug)]
#[repr(u8)]
pub enum Node {
    Const(Const),
    /// A snapshot field; `default` stands in when the snapshot leaves it out.
    Field {
        slot: u16,
        default: Option<Const>,
    },
    /// A `let`: evaluates `root`, and names it in traces.
    Let {
        index: u16,
        root: NodeId,
    },
    Builtin(Builtin),
    Item(ItemField),
    Not(NodeId),
    Neg(NodeId),
    And(NodeId, NodeId),
    Or(NodeId, NodeId),
    /// `a ?? b`
    Default(NodeId, NodeId),
    Binary(BinaryOp, NodeId, NodeId),
    /// `value in lists[start..start + len]`
    In {
        value: NodeId,
        start: u32,
        len: u32,
        negated: bool,
    },
    InCategory {
        value: NodeId,
        category: u16,
        negated: bool,
    },
    Aggregate {
        op: AggregateOp,
        of: Collection,
        filter: Option<NodeId>,
    },
    /// A comparison of two numbers (fused from `Binary`): the common
    /// `usable == 0` or `debt > limit` in one step, without building values.
    CmpNum {
        op: BinaryOp,
        a: NumOperand,
        b: NumOperand,
    },
    /// One of the account's totals compared with a constant (fused from
    /// `CmpNum`): `debt > 0`, `usable == 0`, the commonest conditions, as
    /// one integer comparison. The constant is in millionths, and on the
    /// right (`0 < usable` is stored as `usable > 0`).
    CmpTotal {
        op: BinaryOp,
        total: Total,
        micros: i64,
    },
    /// An enum field tested against constants (fused from `==`, `!=`, `in`
    /// and `not in`): bit `v` of `mask` is set for each value `v` that
    /// makes it true.
    EnumTest {
        slot: u16,
        default: Option<u32>,
        mask: u64,
    },
}

/// The account's totals, as fused comparisons read them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Total {
    Usable,
    Locked,
    Expired,
    Debt,
    /// The debt of one kind (`debt.refund_dispute`).
    DebtOf(u16),
    Settleable,
}

impl Total {
    fn of(b: Builtin) -> Option<Total> {
        Some(match b {
            Builtin::Usable => Total::Usable,
            Builtin::Locked => Total::Locked,
            Builtin::Expired => Total::Expired,
            Builtin::Debt => Total::Debt,
            Builtin::DebtOf(k) => Total::DebtOf(u16::try_from(k).ok()?),
            Builtin::Settleable => Total::Settleable,
            _ => return None,
        })
    }

    /// The built-in this total is, for traces.
    pub fn builtin(self) -> Builtin {
        match self {
            Total::Usable => Builtin::Usable,
            Total::Locked => Builtin::Locked,
            Total::Expired => Builtin::Expired,
            Total::Debt => Builtin::Debt,
            Total::DebtOf(k) => Builtin::DebtOf(usize::from(k)),
            Total::Settleable => Builtin::Settleable,
        }
    }
}

/// An operand of a fused numeric comparison.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NumOperand {
    Const(Decimal),
    Builtin(Builtin),
    Field {
        slot: u16,
        default: Option<Decimal>,
    },
    /// Anything else, evaluated as usual.
    Node(NodeId),
}

/// `total op constant` (either way round) as a [`Node::CmpTotal`], when the
/// constant fits in millionths.
fn total_vs_constant(op: BinaryOp, a: NumOperand, b: NumOperand) -> Option<Node> {
    let (total, constant, op) = match (a, b) {
        (NumOperand::Builtin(t), NumOperand::Const(c)) => (t, c, op),
        (NumOperand::Const(c), NumOperand::Builtin(t)) => (t, c, op.flipped()?),
        _ => return None,
    };
    let micros = i64::try_from(crate::amount::micros(constant)?).ok()?;
    Some(Node::CmpTotal {
        op,
        total: Total::of(total)?,
        micros,
    })
}

/// A constant, owning its text.
#[derive(Clone, Debug, PartialEq)]
pub enum Const {
    Bool(bool),
    Decimal(Decimal),
    Time(crate::time::Timestamp),
    Duration(i64),
    Text(Box<str>),
    Enum(u32),
}

impl Const {
    pub fn value(&self) -> Value<'_> {
        match self {
            Const::Bool(b) => Value::Bool(*b),
            Const::Decimal(d) => Value::Decimal(*d),
            Const::Time(t) => Value::Time(*t),
            Const::Duration(s) => Value::Duration(*s),
            Const::Text(s) => Value::Text(s),
            Const::Enum(i) => Value::Enum(*i),
        }
    }

    fn from_literal(l: &Literal) -> Const {
        match l {
            Literal::Bool(b) => Const::Bool(*b),
            Literal::Decimal(d) => Const::Decimal(*d),
            Literal::Time(t) => Const::Time(*t),
            Literal::Duration(s) => Const::Duration(*s),
            Literal::Text(s) => Const::Text(s.as_str().into()),
            Literal::Enum(i) => Const::Enum(*i),
        }
    }
}

/// Why a checked policy cannot be compiled: limits of the compiled form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileError {
    pub message: String,
    pub span: Span,
}

impl Program {
    /// Whether `role` may take `action`.
    pub fn permitted(&self, role: u16, action: u16) -> bool {
        let index = usize::from(role) * self.actions.len() + usize::from(action);
        self.permitted.get(index).copied().unwrap_or(false)
    }

    /// The rules that apply to an action, in order.
    pub fn rules_for(&self, action: u16) -> &[u32] {
        self.action_rules
            .get(usize::from(action))
            .map_or(&[], Vec::as_slice)
    }

    pub fn role_by_name(&self, name: &str) -> Option<u16> {
        self.role_index.get(name).copied()
    }

    pub fn action_by_name(&self, name: &str) -> Option<u16> {
        self.action_index.get(name).copied()
    }

    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id as usize)
    }

    /// The name of an enum-like value, for messages and JSON.
    pub fn enum_value_name(&self, ty: ir::EnumRef, index: u32) -> &str {
        let i = index as usize;
        let name = match ty {
            ir::EnumRef::User(e) => self.enums.get(e).and_then(|e| e.values.get(i)),
            ir::EnumRef::CreditKind => self.credit_kinds.get(i),
            ir::EnumRef::DebtKind => self.debt_kinds.get(i),
            ir::EnumRef::Role => self.roles.get(i).map(|r| &r.name),
            ir::EnumRef::Action => self.actions.get(i).map(|a| &a.name),
            ir::EnumRef::GrantStatus => return ir::GRANT_STATUSES.get(i).copied().unwrap_or("?"),
        };
        name.map_or("?", String::as_str)
    }
}

/// Compiles a checked policy.
pub fn compile(checked: &Checked) -> Result<Program, CompileError> {
    let too_many = |what: &str, n: usize, span: Span| CompileError {
        message: format!("the policy declares {n} {what}; at most {MAX_KINDS} are supported"),
        span,
    };
    if checked.credit_kinds.len() > MAX_KINDS {
        let span = checked
            .credit_kinds
            .get(MAX_KINDS)
            .map(|k| k.span)
            .unwrap_or_default();
        return Err(too_many("credit kinds", checked.credit_kinds.len(), span));
    }
    if checked.debt_kinds.len() > MAX_KINDS {
        let span = checked
            .debt_kinds
            .get(MAX_KINDS)
            .map(|k| k.span)
            .unwrap_or_default();
        return Err(too_many("debt kinds", checked.debt_kinds.len(), span));
    }
    let small = |n: usize, what: &str| -> Result<(), CompileError> {
        if n > usize::from(u16::MAX) {
            return Err(CompileError {
                message: format!("the policy declares more than {} {what}", u16::MAX),
                span: Span::default(),
            });
        }
        Ok(())
    };
    small(checked.roles.len(), "roles")?;
    small(checked.actions.len(), "actions")?;
    small(checked.fields.len(), "fields")?;
    small(checked.lets.len(), "lets")?;
    small(checked.steps.len(), "steps")?;

    let mut c = Compiler {
        checked,
        nodes: Vec::new(),
        types: Vec::new(),
        lists: Vec::new(),
        let_roots: Vec::new(),
    };
    for l in &checked.lets {
        let root = c.expr(&l.value);
        c.let_roots.push(root);
    }
    let lets = checked
        .lets
        .iter()
        .zip(&c.let_roots)
        .map(|(l, &root)| Let {
            name: l.name.clone(),
            root,
            ty: l.value.ty.base,
            span: l.span,
        })
        .collect();

    let locks = checked
        .locks
        .iter()
        .map(|l| Lock {
            kinds: bits(&l.kinds),
            when: c.expr(&l.when),
            message: c.template(&l.message),
            may_settle: bits(&l.may_settle),
            span: l.span,
        })
        .collect();
    let states = checked
        .states
        .iter()
        .map(|s| State {
            name: s.name.clone(),
            when: s.when.as_ref().map(|w| c.expr(w)),
            span: s.span,
        })
        .collect();
    let steps = checked
        .steps
        .iter()
        .map(|s| Step {
            code: s.name.clone(),
            message: c.template(&s.message),
            span: s.span,
        })
        .collect();

    let mut rules = Vec::new();
    let mut action_rules = vec![Vec::new(); checked.actions.len()];
    let mut forbidden_rules = Vec::new();
    for block in &checked.blocks {
        for rule in &block.rules {
            let id = rules.len() as u32;
            rules.push(c.rule(rule));
            if block.forbidden {
                forbidden_rules.push(id);
            } else {
                for (action, applies) in block.actions.iter().enumerate() {
                    if let (true, Some(list)) = (*applies, action_rules.get_mut(action)) {
                        list.push(id);
                    }
                }
            }
        }
    }

    let rank = |order: &[usize], n: usize| -> Vec<Option<u8>> {
        (0..n)
            .map(|k| order.iter().position(|&o| o == k).map(|p| p as u8))
            .collect()
    };
    let permitted = checked
        .permitted
        .iter()
        .flat_map(|row| row.iter().copied())
        .collect();

    Ok(Program {
        name: checked.name.clone(),
        source: checked.source.clone(),
        roles: checked
            .roles
            .iter()
            .map(|r| Role {
                name: r.name.clone(),
                access: r.access.map(|a| a as u16),
            })
            .collect(),
        access_levels: checked.access_levels.clone(),
        categories: checked.categories.iter().map(|c| c.name.clone()).collect(),
        actions: checked
            .actions
            .iter()
            .map(|a| Action {
                name: a.name.clone(),
                category: a.category as u16,
            })
            .collect(),
        permitted,
        credit_kinds: checked
            .credit_kinds
            .iter()
            .map(|k| k.name.clone())
            .collect(),
        debt_kinds: checked.debt_kinds.iter().map(|k| k.name.clone()).collect(),
        enums: checked.enums.clone(),
        fields: checked.fields.clone(),
        locks,
        spend_rank: rank(&checked.spend.kinds, checked.credit_kinds.len()),
        spend_kinds: checked.spend.kinds.iter().map(|&k| k as u32).collect(),
        settle_kinds: checked.settle.kinds.iter().map(|&k| k as u32).collect(),
        spend_keys: checked.spend.keys.clone(),
        settle_rank: rank(&checked.settle.kinds, checked.debt_kinds.len()),
        settle_keys: checked.settle.keys.clone(),
        settle_sources: (0..checked.debt_kinds.len())
            .map(|k| checked.settle.sources.get(k).cloned().unwrap_or_default())
            .collect(),
        simple_settlement: checked.spend.kinds.len() == checked.credit_kinds.len()
            && checked.settle.kinds.len() == checked.debt_kinds.len()
            && checked
                .settle
                .sources
                .iter()
                .all(|s| s.first() == Some(&SourceKind::Usable)),
        lets,
        states,
        rules,
        steps,
        action_rules,
        forbidden_rules,
        charge_shortfall: checked.charge_shortfall.map(|k| k as u32),
        refund_shortfall: checked.refund_shortfall.map(|k| k as u32),
        nodes: c.nodes,
        lists: c.lists,
        role_index: checked
            .roles
            .iter()
            .enumerate()
            .map(|(i, r)| (r.name.clone(), i as u16))
            .collect(),
        action_index: checked
            .actions
            .iter()
            .enumerate()
            .map(|(i, a)| (a.name.clone(), i as u16))
            .collect(),
    })
}

fn bits(kinds: &[usize]) -> u32 {
    kinds
        .iter()
        .filter(|&&k| k < MAX_KINDS)
        .fold(0, |acc, &k| acc | 1 << k)
}

struct Compiler<'c> {
    checked: &'c Checked,
    nodes: Vec<Node>,
    /// The type of each node (`None` when it may be absent).
    types: Vec<Option<Base>>,
    lists: Vec<NodeId>,
    let_roots: Vec<NodeId>,
}

impl Compiler<'_> {
    fn push(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        (self.nodes.len() - 1) as NodeId
    }

    fn constant(&self, id: NodeId) -> Option<&Const> {
        match self.nodes.get(id as usize) {
            Some(Node::Const(c)) => Some(c),
            _ => None,
        }
    }

    /// Lowers a typed expression, folding constant subtrees.
    fn expr(&mut self, e: &TExpr) -> NodeId {
        let node = match &e.kind {
            TExprKind::Literal(l) => Node::Const(Const::from_literal(l)),
            TExprKind::Field(slot) => {
                let default = self
                    .checked
                    .fields
                    .get(*slot)
                    .and_then(|f| f.default.as_ref())
                    .map(Const::from_literal);
                Node::Field {
                    slot: *slot as u16,
                    default,
                }
            }
            TExprKind::Let(i) => {
                let root = self.let_roots.get(*i).copied().unwrap_or(0);
                if let Some(c) = self.constant(root).cloned() {
                    Node::Const(c)
                } else {
                    Node::Let {
                        index: *i as u16,
                        root,
                    }
                }
            }
            TExprKind::Builtin(b) => Node::Builtin(*b),
            TExprKind::Item(f) => Node::Item(*f),
            TExprKind::Unary(op, a) => {
                let a = self.expr(a);
                match op {
                    UnaryOp::Not => Node::Not(a),
                    UnaryOp::Neg => Node::Neg(a),
                }
            }
            TExprKind::Binary(op, a, b) => {
                let (a, b) = (self.expr(a), self.expr(b));
                match op {
                    BinaryOp::And => Node::And(a, b),
                    BinaryOp::Or => Node::Or(a, b),
                    BinaryOp::Default => Node::Default(a, b),
                    _ => Node::Binary(*op, a, b),
                }
            }
            TExprKind::In {
                value,
                set,
                negated,
            } => {
                let value = self.expr(value);
                let items: Vec<NodeId> = set.iter().map(|i| self.expr(i)).collect();
                let start = self.lists.len() as u32;
                self.lists.extend(&items);
                Node::In {
                    value,
                    start,
                    len: items.len() as u32,
                    negated: *negated,
                }
            }
            TExprKind::InCategory {
                value,
                category,
                negated,
            } => Node::InCategory {
                value: self.expr(value),
                category: *category as u16,
                negated: *negated,
            },
            TExprKind::Aggregate { op, of, filter } => Node::Aggregate {
                op: *op,
                of: *of,
                filter: filter.as_ref().map(|f| self.expr(f)),
            },
        };
        let folded = self.fold(&node).map(Node::Const).unwrap_or(node);
        let fused = self.fuse(folded);
        self.types.push((!e.ty.optional).then_some(e.ty.base));
        self.push(fused)
    }

    /// Replaces the commonest shapes by single nodes that evaluate without
    /// building intermediate values.
    fn fuse(&self, node: Node) -> Node {
        match node {
            Node::Binary(op, a, b) if op.is_comparison() => {
                if let (Some(x), Some(y)) = (self.num_operand(a), self.num_operand(b)) {
                    return total_vs_constant(op, x, y).unwrap_or(Node::CmpNum { op, a: x, b: y });
                }
                let test = match (
                    op,
                    self.enum_field(a),
                    self.enum_const(b),
                    self.enum_const(a),
                    self.enum_field(b),
                ) {
                    (BinaryOp::Eq | BinaryOp::Ne, Some(f), Some(v), _, _)
                    | (BinaryOp::Eq | BinaryOp::Ne, _, _, Some(v), Some(f)) => {
                        Some((f, 1u64 << v, op == BinaryOp::Ne))
                    }
                    _ => None,
                };
                match test {
                    Some(((slot, default), bit, negated)) => Node::EnumTest {
                        slot,
                        default,
                        mask: if negated { !bit } else { bit },
                    },
                    None => Node::Binary(op, a, b),
                }
            }
            Node::In {
                value,
                start,
                len,
                negated,
            } => {
                let items = self
                    .lists
                    .get(start as usize..(start + len) as usize)
                    .unwrap_or(&[]);
                let consts: Option<Vec<u32>> = items.iter().map(|&i| self.enum_const(i)).collect();
                match (self.enum_field(value), consts) {
                    (Some((slot, default)), Some(values)) => {
                        let bits = values.iter().fold(0u64, |m, v| m | 1 << v);
                        Node::EnumTest {
                            slot,
                            default,
                            mask: if negated { !bits } else { bits },
                        }
                    }
                    _ => Node::In {
                        value,
                        start,
                        len,
                        negated,
                    },
                }
            }
            other => other,
        }
    }

    /// A node usable as a fused numeric operand, when its type is a number.
    fn num_operand(&self, id: NodeId) -> Option<NumOperand> {
        Some(match self.nodes.get(id as usize)? {
            Node::Const(Const::Decimal(d)) => NumOperand::Const(*d),
            Node::Builtin(b) => match b {
                Builtin::Usable
                | Builtin::Locked
                | Builtin::Expired
                | Builtin::Debt
                | Builtin::DebtOf(_)
                | Builtin::Settleable => NumOperand::Builtin(*b),
                _ => return None,
            },
            Node::Field { slot, default } => {
                let field = self.checked.fields.get(usize::from(*slot))?;
                if field.ty != Base::Decimal {
                    return None;
                }
                let default = match default {
                    Some(Const::Decimal(d)) => Some(*d),
                    None => None,
                    Some(_) => return None,
                };
                NumOperand::Field {
                    slot: *slot,
                    default,
                }
            }
            Node::Binary(op, ..)
                if !op.is_comparison() && !matches!(op, BinaryOp::And | BinaryOp::Or) =>
            {
                self.decimal_node(id)?
            }
            Node::Let { .. } | Node::Default(..) | Node::Neg(_) | Node::Aggregate { .. } => {
                self.decimal_node(id)?
            }
            _ => return None,
        })
    }

    /// Any node whose value is a number, as a general operand.
    fn decimal_node(&self, id: NodeId) -> Option<NumOperand> {
        self.types
            .get(id as usize)
            .copied()
            .flatten()
            .filter(|b| *b == Base::Decimal)?;
        Some(NumOperand::Node(id))
    }

    /// A user enum field with at most 64 values: its slot and default.
    fn enum_field(&self, id: NodeId) -> Option<(u16, Option<u32>)> {
        let Node::Field { slot, default } = self.nodes.get(id as usize)? else {
            return None;
        };
        let field = self.checked.fields.get(usize::from(*slot))?;
        let Base::Enum(crate::check::ir::EnumRef::User(e)) = field.ty else {
            return None;
        };
        if self.checked.enums.get(e)?.values.len() > 64 || field.optional {
            return None;
        }
        let default = match default {
            Some(Const::Enum(v)) => Some(*v),
            None => None,
            Some(_) => return None,
        };
        Some((*slot, default))
    }

    fn enum_const(&self, id: NodeId) -> Option<u32> {
        match self.nodes.get(id as usize)? {
            Node::Const(Const::Enum(v)) if *v < 64 => Some(*v),
            _ => None,
        }
    }

    /// The value of a node whose children are all constants.
    fn fold(&self, node: &Node) -> Option<Const> {
        let c = |id: NodeId| self.constant(id).map(Const::value);
        let value = match node {
            Node::Not(a) => c(*a)?.negate().ok()?,
            Node::Neg(a) => c(*a)?.minus().ok()?,
            Node::And(a, b) => Value::Bool(c(*a)?.as_bool().ok()? && c(*b)?.as_bool().ok()?),
            Node::Or(a, b) => Value::Bool(c(*a)?.as_bool().ok()? || c(*b)?.as_bool().ok()?),
            Node::Binary(op, a, b) => Value::binary(*op, c(*a)?, c(*b)?).ok()?,
            _ => return None,
        };
        Some(match value {
            Value::Bool(b) => Const::Bool(b),
            Value::Decimal(d) => Const::Decimal(d),
            Value::Time(t) => Const::Time(t),
            Value::Duration(s) => Const::Duration(s),
            Value::Enum(i) => Const::Enum(i),
            Value::Text(_) | Value::Absent => return None,
        })
    }

    fn template(&mut self, t: &ir::Template) -> Template {
        let parts = t
            .parts
            .iter()
            .map(|p| match p {
                ir::TemplatePart::Text(s) => TemplatePart::Text(s.clone()),
                ir::TemplatePart::Value {
                    expr,
                    format,
                    fallback,
                } => TemplatePart::Value {
                    node: self.expr(expr),
                    ty: expr.ty.base,
                    format: *format,
                    fallback: fallback.clone(),
                },
            })
            .collect();
        Template { parts }
    }

    fn rule(&mut self, r: &ir::Rule) -> Rule {
        Rule {
            kind: r.kind,
            code: r.code.clone(),
            when: r.when.as_ref().map(|w| self.expr(w)),
            message: r.message.as_ref().map(|m| self.template(m)),
            steps: r
                .steps
                .iter()
                .map(|clause| StepsClause {
                    audience: clause.audience,
                    steps: clause
                        .steps
                        .iter()
                        .map(|(s, w, span)| (*s as u16, w.as_ref().map(|w| self.expr(w)), *span))
                        .collect(),
                })
                .collect(),
            params: r
                .params
                .iter()
                .map(|(n, e)| (n.clone(), self.expr(e), e.ty.base))
                .collect(),
            span: r.span,
            location: self.checked.source.location(r.span),
            docs: r.docs.clone(),
        }
    }
}
