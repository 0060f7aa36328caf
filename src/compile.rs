//! Compilation: checked policy → program, flat data for fast decisions.
//!
//! Every name is resolved to a small integer, constant subexpressions are
//! folded, and expressions live in one arena addressed by `NodeId`, so
//! deciding is index arithmetic: no string lookups and no tree of boxes.
//!
//! Every index into the program is a typed id built here with a checked
//! conversion, so a table that outgrows its id is a compile error, never a
//! wrapped index; and whatever the checker hands over incomplete is refused
//! as an internal error rather than compiled into a program that decides
//! with less.

use std::collections::HashMap;

use rust_decimal::Decimal;

use crate::ast::{self, BinaryOp, Collection, RuleKind, UnaryOp};
use crate::check::ir::{
    self, AggregateOp, Base, Builtin, Checked, DebtKey, Format, GrantKey, ItemField, Lifetime,
    Literal, Operation, SourceKind, TExpr, TExprKind,
};
use crate::diagnostic::Code;
use crate::span::{Source, Span};
use crate::value::Value;

/// Most credit kinds or debt kinds a policy may declare: kinds are kept in
/// bit sets and fixed arrays so deciding never allocates for them.
pub const MAX_KINDS: usize = 32;

/// Most locks a policy may declare: which locks hold is kept in one `u64`,
/// so deciding never allocates for them, and a lock past the 64th would
/// hold without ever being seen to.
pub const MAX_LOCKS: usize = 64;

/// Deepest chain of nodes one evaluation walks, counting through the `let`s
/// it uses (a `let` reading a `let` adds its whole depth). The evaluator
/// recurses once per level, so this bounds its stack: under 250 KB in a
/// release build and 1.5 MB in a debug one, inside the 2 MB of a batch
/// worker thread. The checker refuses first, at
/// [`crate::check::MAX_EVAL_DEPTH`] (256, counted in the language's terms),
/// so no accepted policy comes near this; it is the compiler's own line of
/// defence should the checker's count ever slip.
pub const MAX_EVAL_DEPTH: usize = 512;

// Ids widen to `usize` with `as`: lossless on every target this builds for.
const _: () = assert!(usize::BITS >= 32);

macro_rules! ids {
    ($( $(#[$doc:meta])* $name:ident($int:ty) $what:literal; )*) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name($int);

        #[allow(dead_code, reason = "generated for every id type; not every type uses every accessor")]
        impl $name {
            /// The id of the entry at `index`; a table that has outgrown
            /// the id's width is a compile error, never a wrapped index.
            fn new(index: usize, span: Span) -> Result<$name, CompileError> {
                <$int>::try_from(index).map($name).map_err(|_| CompileError {
                    code: Code::ValueOutOfRange,
                    message: format!(
                        "the policy declares more than {} {}",
                        <$int>::MAX,
                        $what
                    ),
                    span,
                })
            }

            /// The id of the entry at `index`, if it fits the id's width.
            pub fn from_index(index: usize) -> Option<$name> {
                <$int>::try_from(index).ok().map($name)
            }

            /// The entry's position in its table.
            #[inline(always)]
            pub fn index(self) -> usize {
                self.0 as usize
            }

            /// The id as an enum value (`role` and `action` read as enums).
            #[inline(always)]
            pub fn value(self) -> u32 {
                u32::from(self.0)
            }
        }
    )*};
}

ids! {
    /// An expression node: an index into [`Program::nodes`].
    NodeId(u32) "expression nodes";
    /// A deny, warn or effect rule: an index into [`Program::rules`].
    RuleId(u32) "rules";
    /// A next step: an index into [`Program::steps`].
    StepId(u16) "steps";
    /// A role: an index into [`Program::roles`].
    RoleId(u16) "roles";
    /// An action: an index into [`Program::actions`].
    ActionId(u16) "actions";
    /// An action category: an index into [`Program::categories`].
    CategoryId(u16) "action categories";
    /// An access level: an index into [`Program::access_levels`].
    AccessId(u16) "access levels";
    /// A balance state: an index into [`Program::states`].
    StateId(u16) "states";
    /// A `let`: an index into [`Program::lets`].
    LetId(u16) "lets";
    /// A snapshot field: an index into [`Program::fields`] and an
    /// account's field values.
    FieldId(u16) "fields";
}

impl ActionId {
    /// The action with this enum value (`action` read as an enum).
    pub fn from_value(value: u32) -> Option<ActionId> {
        u16::try_from(value).ok().map(ActionId)
    }
}

/// A compiled policy.
#[derive(Debug)]
pub struct Program {
    pub name: String,
    pub source: Source,
    pub roles: Vec<Role>,
    pub actions: Vec<Action>,
    /// Action category names, by [`CategoryId`]: only the server shows them.
    #[cfg(feature = "serve")]
    pub categories: Vec<String>,
    permitted: Permissions,
    pub credit_kinds: Vec<String>,
    pub debt_kinds: Vec<String>,
    pub enums: Vec<ir::Enum>,
    pub fields: Vec<ir::Field>,
    /// Attributes every grant carries, by index; each path is the name alone.
    pub grant_attrs: Vec<ir::Field>,
    /// What `grant` gives each credit kind when no expiry is given.
    pub lifetimes: Vec<Option<Lifetime>>,
    pub locks: Vec<Lock>,
    /// Position of each credit kind in the spend order (`None`: never spent).
    pub spend_rank: Vec<Option<u8>>,
    pub spend_keys: Vec<(GrantKey, bool)>,
    /// Credit kinds the spend order draws, in their order for `kind`.
    pub spend_kinds: Vec<u32>,
    /// Debt kinds the settle order pays, in their order for `kind`.
    pub settle_kinds: Vec<u32>,
    /// Whether what settlement could pay is found from totals by kind (see
    /// `Ctx::settleable`): both orders take kinds first, in their listed
    /// order (not `kind desc`), and no debt kind is restricted to some
    /// credit kinds.
    pub pooled_settlement: bool,
    /// Position of each debt kind in the settle order.
    pub settle_rank: Vec<Option<u8>>,
    pub settle_keys: Vec<(DebtKey, bool)>,
    /// Where each debt kind is paid from, in order.
    pub settle_sources: Vec<Vec<SourceKind>>,
    /// Bit `k` of `settle_only[debt_kind]`: credit kind `k` may pay it.
    pub settle_only: Vec<u32>,
    /// Every credit kind is spent, and every debt kind is settled from
    /// usable credits first: then, while nothing is locked, what settlement
    /// could pay is simply `min(debt, usable)`.
    pub simple_settlement: bool,
    pub lets: Vec<Let>,
    pub states: Vec<State>,
    rules: Vec<Rule>,
    steps: Vec<Step>,
    /// Rule ids that apply to each action, in source order.
    action_rules: Vec<Vec<RuleId>>,
    /// Rule ids that apply to forbidden requests (`on forbidden`, `on all`).
    forbidden_rules: Vec<RuleId>,
    /// Rule ids of `on charge`, `on settle`, `on grant`, `on refund`, by
    /// [`Operation::index`].
    operation_rules: [Vec<RuleId>; 4],
    /// What a charge's and a refund's shortfalls become: the first line
    /// whose condition holds.
    pub charge_shortfall: Vec<ShortfallLine>,
    pub refund_shortfall: Vec<ShortfallLine>,
    /// The policy's `assert` items, for `tollgate verify`. Deciding never
    /// reads them.
    #[allow(
        dead_code,
        reason = "read by `tollgate verify`, built against this IR apart (#16)"
    )]
    pub assertions: Vec<Assertion>,
    nodes: Vec<Node>,
    /// Items of `in [...]` lists.
    lists: Vec<NodeId>,
    role_index: HashMap<String, RoleId>,
    action_index: HashMap<String, ActionId>,
}

/// Which role may take which action: one bit per pair, each role's row a
/// whole number of words, so a 30,000 × 30,000 table is 113 MB, not 900.
#[derive(Debug)]
struct Permissions {
    words: Vec<u64>,
    /// Words per role.
    stride: usize,
    actions: usize,
}

impl Permissions {
    /// Packs the checker's `permitted[role][action]` table.
    fn pack(
        table: &[Vec<bool>],
        roles: usize,
        actions: usize,
    ) -> Result<Permissions, CompileError> {
        let stride = actions.div_ceil(64);
        let missing = || {
            CompileError::internal(
                "the permission table does not match the roles and actions",
                Span::default(),
            )
        };
        if table.len() != roles {
            return Err(missing());
        }
        let mut words = vec![0u64; roles.checked_mul(stride).ok_or_else(missing)?];
        for (r, row) in table.iter().enumerate() {
            if row.len() != actions {
                return Err(missing());
            }
            for (a, _) in row.iter().enumerate().filter(|(_, p)| **p) {
                let word = words.get_mut(r * stride + a / 64).ok_or_else(missing)?;
                *word |= 1 << (a % 64);
            }
        }
        Ok(Permissions {
            words,
            stride,
            actions,
        })
    }

    /// Whether `role` may take `action`; `None` when either is not in the table.
    #[inline]
    fn get(&self, role: RoleId, action: ActionId) -> Option<bool> {
        let a = action.index();
        if a >= self.actions {
            return None;
        }
        let word = self.words.get(role.index() * self.stride + a / 64)?;
        Some(word >> (a % 64) & 1 == 1)
    }
}

#[derive(Debug)]
pub struct Role {
    pub name: String,
    /// The role's access levels, each once.
    pub access: Vec<AccessId>,
}

#[derive(Debug)]
pub struct Action {
    pub name: String,
    pub category: CategoryId,
}

/// What a shortfall becomes, compiled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Becomes {
    /// A new debt of this kind.
    Debt(u32),
    /// An invoiced amount.
    Invoiced,
    /// Nothing: forgiven.
    Waived,
}

/// `shortfall of charge is outstanding_usage when ...`, compiled.
#[derive(Debug)]
pub struct ShortfallLine {
    /// What the shortfall becomes.
    pub becomes: Becomes,
    /// `None`: always.
    pub when: Option<NodeId>,
    /// The line, for traces.
    pub span: Span,
}

#[derive(Debug)]
pub struct Lock {
    /// Bit `k` set: credit kind `k` is locked while `when` holds.
    pub kinds: u32,
    pub when: NodeId,
    /// Bit `d` set: locked credits may settle debt kind `d`.
    pub may_settle: u32,
    pub span: Span,
}

#[derive(Debug)]
pub struct Let {
    pub name: String,
    pub ty: Base,
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
    /// `warn ... even if denied`
    pub even_if_denied: bool,
    /// The rule's block names `forbidden`: a deny here says why a forbidden
    /// request is refused, in place of the generic `not_permitted`.
    pub on_forbidden: bool,
    pub span: Span,
    /// `file:line:col`, as decisions cite the rule.
    pub location: String,
}

/// A property the policy claims for every account (`assert`): for every
/// request of `roles` × `actions`, on every account where `when` holds, the
/// decision satisfies `claim`.
#[derive(Debug)]
#[allow(
    dead_code,
    reason = "read by `tollgate verify`, built against this IR apart (#16)"
)]
pub struct Assertion {
    pub name: String,
    /// The roles it covers, in policy order: all of them when it names none.
    pub roles: Vec<RoleId>,
    /// The actions it covers, in policy order: all of them when it names none.
    pub actions: Vec<ActionId>,
    /// Where the claim must hold (`when`); everywhere when `None`. Read in
    /// a request's context, like a rule's condition.
    pub when: Option<NodeId>,
    pub claim: Claim,
    pub span: Span,
    /// `file:line:col`, as reports cite the assertion.
    pub location: String,
}

/// What an assertion claims of a decision. Nesting is bounded by the
/// parser's expression depth limit.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    Fact(Fact),
    /// `never c`
    Not(Box<Claim>),
    And(Box<Claim>, Box<Claim>),
    Or(Box<Claim>, Box<Claim>),
    /// `a implies b`
    Implies(Box<Claim>, Box<Claim>),
}

/// One thing a decision can say.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    /// `allow`: the outcome is allow.
    Allow,
    /// `deny`: the outcome is deny.
    Deny,
    /// `deny CODE`: a reason has this code (a deny rule's code, or
    /// `not_permitted`).
    Reason(String),
    /// `permitted`: the role is permitted the action.
    Permitted,
    /// `state NAME`: the balance is in this state.
    State(StateId),
    /// `step CODE`: the next steps include this one.
    Step(StepId),
    /// `steps only [A, B]`: every next step is one of these (or there are none).
    StepsOnly(Vec<StepId>),
    /// `some step`: there is at least one next step.
    SomeStep,
    /// `warn CODE`: a warning has this code.
    Warning(String),
    /// `some warn`
    SomeWarning,
    /// `effect CODE`: an effect has this code.
    Effect(String),
    /// `some effect`
    SomeEffect,
}

/// Who a `steps` clause speaks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    Everyone,
    Access(AccessId),
    Others,
}

#[derive(Debug)]
pub struct StepsClause {
    pub audience: Audience,
    /// The step, its condition, and where the rule offers it.
    pub steps: Vec<(StepId, Option<NodeId>, Span)>,
}

#[derive(Debug)]
pub struct Step {
    pub code: String,
    pub message: Template,
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

/// Items `start..start + len` of [`Program::lists`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListRange {
    start: u32,
    len: u32,
}

/// One expression node. Children are ids into the same arena.
#[derive(Debug)]
#[repr(u8)]
pub enum Node {
    Const(Const),
    /// A snapshot field; `default` stands in when the snapshot leaves it out.
    Field {
        slot: FieldId,
        default: Option<Const>,
    },
    /// A `let`: evaluates `root`, and names it in traces.
    Let {
        index: LetId,
        root: NodeId,
    },
    Builtin(Builtin),
    Item(ItemField),
    /// A field of the grant a ledger operation adds or refunds.
    OpGrant(ItemField),
    /// Evaluates its child on the account before the operation.
    Before(NodeId),
    Not(NodeId),
    Neg(NodeId),
    And(NodeId, NodeId),
    Or(NodeId, NodeId),
    /// `a ?? b`
    Default(NodeId, NodeId),
    Binary(BinaryOp, NodeId, NodeId),
    /// `value in [items]`
    In {
        value: NodeId,
        items: ListRange,
        negated: bool,
    },
    InCategory {
        value: NodeId,
        category: CategoryId,
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
        slot: FieldId,
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
        slot: FieldId,
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
    Months(i64),
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
            Const::Months(m) => Value::Months(*m),
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
            Literal::Months(m) => Const::Months(*m),
            Literal::Text(s) => Const::Text(s.as_str().into()),
            Literal::Enum(i) => Const::Enum(*i),
        }
    }
}

/// Why a checked policy cannot be compiled: a limit of the compiled form,
/// or an internal error (the checker handed over something incomplete).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileError {
    pub code: Code,
    pub message: String,
    pub span: Span,
}

impl CompileError {
    /// A bug in tollgate, reported instead of compiling a program that
    /// would decide with less than the policy says.
    fn internal(what: &str, span: Span) -> CompileError {
        CompileError {
            code: Code::ValueOutOfRange,
            message: format!(
                "internal error: {what}; the policy was not compiled, please report this"
            ),
            span,
        }
    }

    fn limit(code: Code, message: String, span: Span) -> CompileError {
        CompileError {
            code,
            message,
            span,
        }
    }
}

impl Program {
    /// Whether `role` may take `action`. Ids come from this program's
    /// [`Program::role_by_name`] and [`Program::action_by_name`]; an id
    /// from elsewhere is never permitted (deciding reports it instead).
    #[cfg(feature = "cli")]
    pub fn permitted(&self, role: RoleId, action: ActionId) -> bool {
        self.permission(role, action).unwrap_or(false)
    }

    /// Whether `role` may take `action`; `None` when either id is not this
    /// program's.
    #[inline]
    pub fn permission(&self, role: RoleId, action: ActionId) -> Option<bool> {
        if role.index() >= self.roles.len() {
            return None;
        }
        self.permitted.get(role, action)
    }

    /// The rules that apply to an action, in order.
    #[inline]
    pub fn rules_for(&self, action: ActionId) -> Option<&[RuleId]> {
        self.action_rules.get(action.index()).map(Vec::as_slice)
    }

    /// The rules that apply to forbidden requests, in order.
    pub fn forbidden_rules(&self) -> &[RuleId] {
        &self.forbidden_rules
    }

    /// The rules of a ledger operation, in order.
    pub fn operation_rules(&self, op: Operation) -> &[RuleId] {
        self.operation_rules
            .get(op.index())
            .map_or(&[], Vec::as_slice)
    }

    pub fn role_by_name(&self, name: &str) -> Option<RoleId> {
        self.role_index.get(name).copied()
    }

    pub fn action_by_name(&self, name: &str) -> Option<ActionId> {
        self.action_index.get(name).copied()
    }

    #[inline(always)]
    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id.index())
    }

    /// The items of an `in [...]` list.
    #[inline]
    pub fn list(&self, range: ListRange) -> Option<&[NodeId]> {
        let start = range.start as usize;
        self.lists
            .get(start..start.checked_add(range.len as usize)?)
    }

    #[inline]
    pub fn rule(&self, id: RuleId) -> Option<&Rule> {
        self.rules.get(id.index())
    }

    pub fn step(&self, id: StepId) -> Option<&Step> {
        self.steps.get(id.index())
    }

    pub fn role(&self, id: RoleId) -> Option<&Role> {
        self.roles.get(id.index())
    }

    pub fn action(&self, id: ActionId) -> Option<&Action> {
        self.actions.get(id.index())
    }

    pub fn field(&self, id: FieldId) -> Option<&ir::Field> {
        self.fields.get(id.index())
    }

    pub fn let_(&self, id: LetId) -> Option<&Let> {
        self.lets.get(id.index())
    }

    /// The name of an enum-like value; `None` when `index` is not one of
    /// the type's values.
    pub fn enum_value(&self, ty: ir::EnumRef, index: u32) -> Option<&str> {
        let i = index as usize;
        let name = match ty {
            ir::EnumRef::User(e) => self.enums.get(e.index()).and_then(|e| e.values.get(i)),
            ir::EnumRef::CreditKind => self.credit_kinds.get(i),
            ir::EnumRef::DebtKind => self.debt_kinds.get(i),
            ir::EnumRef::Role => self.roles.get(i).map(|r| &r.name),
            ir::EnumRef::Action => self.actions.get(i).map(|a| &a.name),
            ir::EnumRef::GrantStatus => return ir::GRANT_STATUSES.get(i).copied(),
        };
        name.map(String::as_str)
    }

    /// The name of an enum-like value, for writing snapshots, whose values
    /// were validated against this program (`?` for one that was not).
    pub fn enum_value_name(&self, ty: ir::EnumRef, index: u32) -> &str {
        self.enum_value(ty, index).unwrap_or("?")
    }
}

/// Compiles a checked policy, using it up: each `let` and rule is freed
/// once compiled, so the program grows into the memory they gave back.
pub fn compile(checked: Checked) -> Result<Program, CompileError> {
    compile_within(checked, MAX_EVAL_DEPTH)
}

/// [`compile`] with another evaluation depth bound: the checker keeps every
/// policy it accepts well inside [`MAX_EVAL_DEPTH`], so tests reach this
/// second line of defence only by lowering it.
pub(crate) fn compile_within(
    mut checked: Checked,
    max_depth: usize,
) -> Result<Program, CompileError> {
    let too_many = |what: &str, n: usize, max: usize, span: Span| {
        CompileError::limit(
            Code::ValueOutOfRange,
            format!("the policy declares {n} {what}; at most {max} are supported"),
            span,
        )
    };
    if let Some(k) = checked.credit_kinds.get(MAX_KINDS) {
        return Err(too_many(
            "credit kinds",
            checked.credit_kinds.len(),
            MAX_KINDS,
            k.span,
        ));
    }
    if let Some(k) = checked.debt_kinds.get(MAX_KINDS) {
        return Err(too_many(
            "debt kinds",
            checked.debt_kinds.len(),
            MAX_KINDS,
            k.span,
        ));
    }
    if let Some(l) = checked.locks.get(MAX_LOCKS) {
        return Err(too_many("locks", checked.locks.len(), MAX_LOCKS, l.span));
    }

    // Tables addressed by a narrow id: each id is built with a checked
    // conversion, so an oversized table is refused at its first entry past
    // the limit.
    let mut role_index = HashMap::with_capacity(checked.roles.len());
    let mut roles = Vec::with_capacity(checked.roles.len());
    for (i, r) in checked.roles.iter().enumerate() {
        role_index.insert(r.name.clone(), RoleId::new(i, r.span)?);
        let mut access = Vec::with_capacity(r.access.len());
        for &a in &r.access {
            if a >= checked.access_levels.len() {
                return Err(CompileError::internal(
                    "a role's access level is missing",
                    r.span,
                ));
            }
            access.push(AccessId::new(a, r.span)?);
        }
        roles.push(Role {
            name: r.name.clone(),
            access,
        });
    }
    let mut action_index = HashMap::with_capacity(checked.actions.len());
    let mut actions = Vec::with_capacity(checked.actions.len());
    for (i, a) in checked.actions.iter().enumerate() {
        action_index.insert(a.name.clone(), ActionId::new(i, a.span)?);
        if a.category >= checked.categories.len() {
            return Err(CompileError::internal(
                "an action's category is missing",
                a.span,
            ));
        }
        actions.push(Action {
            name: a.name.clone(),
            category: CategoryId::new(a.category, a.span)?,
        });
    }
    for (i, f) in checked.fields.iter().enumerate() {
        FieldId::new(i, f.span)?;
    }
    for (i, s) in checked.steps.iter().enumerate() {
        StepId::new(i, s.span)?;
    }
    for (i, s) in checked.states.iter().enumerate() {
        StateId::new(i, s.span)?;
    }
    let permitted = Permissions::pack(&checked.permitted, roles.len(), actions.len())?;

    // The arena is sized once: grown by doubling, a large policy's copies
    // stayed behind in the heap as holes as large as the arena itself.
    let (most_nodes, most_items) = bounds(&checked);
    // The compiler reads the declarations; the `let`s and blocks it
    // consumes.
    let checked_lets = std::mem::take(&mut checked.lets);
    let blocks = std::mem::take(&mut checked.blocks);
    let checked = &checked;
    let mut c = Compiler {
        checked,
        nodes: Vec::with_capacity(most_nodes),
        types: Vec::with_capacity(most_nodes),
        heights: Vec::with_capacity(most_nodes),
        lists: Vec::with_capacity(most_items),
        let_roots: Vec::new(),
        leaves: Leaves::default(),
        share_consts: false,
        leaf_order: Vec::new(),
        depth: 0,
        max_depth,
    };
    let mut lets = Vec::with_capacity(checked_lets.len());
    for (i, l) in checked_lets.into_iter().enumerate() {
        LetId::new(i, l.span)?;
        let root = c.expr(&l.value)?;
        c.let_roots.push(root);
        lets.push(Let {
            name: l.name,
            ty: l.value.ty.base,
        });
    }

    let mut locks = Vec::with_capacity(checked.locks.len());
    for l in &checked.locks {
        locks.push(Lock {
            kinds: bits(&l.kinds, checked.credit_kinds.len(), l.span)?,
            when: c.expr(&l.when)?,
            may_settle: bits(&l.may_settle, checked.debt_kinds.len(), l.span)?,
            span: l.span,
        });
    }
    let mut states = Vec::with_capacity(checked.states.len());
    for s in &checked.states {
        states.push(State {
            name: s.name.clone(),
            when: s.when.as_ref().map(|w| c.expr(w)).transpose()?,
            span: s.span,
        });
    }
    let mut steps = Vec::with_capacity(checked.steps.len());
    for s in &checked.steps {
        steps.push(Step {
            code: s.name.clone(),
            message: c.template(&s.message)?,
        });
    }

    let mut rules = Vec::new();
    let mut action_rules = vec![Vec::new(); checked.actions.len()];
    let mut forbidden_rules = Vec::new();
    let mut operation_rules: [Vec<RuleId>; 4] = Default::default();
    for mut block in blocks {
        let names_actions = !block.all && block.operation.is_none();
        if names_actions
            && !block.actions.is_empty()
            && block.actions.len() != checked.actions.len()
        {
            return Err(CompileError::internal(
                "an `on` block's actions do not match the policy's",
                block.span,
            ));
        }
        for rule in std::mem::take(&mut block.rules) {
            let id = RuleId::new(rules.len(), rule.span)?;
            let mut compiled = c.rule(&rule)?;
            compiled.on_forbidden = block.forbidden;
            rules.push(compiled);
            if let Some(op) = block.operation {
                if let Some(list) = operation_rules.get_mut(op.index()) {
                    list.push(id);
                }
                continue;
            }
            if block.forbidden || block.all {
                forbidden_rules.push(id);
            }
            for (a, list) in action_rules.iter_mut().enumerate() {
                if block.all || block.actions.get(a).copied().unwrap_or(false) {
                    list.push(id);
                }
            }
        }
    }

    let credit_count = checked.credit_kinds.len();
    let debt_count = checked.debt_kinds.len();
    let mut shortfall = |lines: &[ir::ShortfallRule]| -> Result<Vec<ShortfallLine>, CompileError> {
        lines
            .iter()
            .map(|l| {
                Ok(ShortfallLine {
                    becomes: match l.becomes {
                        ir::Shortfall::Debt(k) => Becomes::Debt(kind(k, debt_count)?),
                        ir::Shortfall::Invoiced => Becomes::Invoiced,
                        ir::Shortfall::Waived => Becomes::Waived,
                    },
                    when: l.when.as_ref().map(|w| c.expr(w)).transpose()?,
                    span: l.span,
                })
            })
            .collect()
    };
    let charge_shortfall = shortfall(&checked.charge_shortfall)?;
    let refund_shortfall = shortfall(&checked.refund_shortfall)?;

    // Compiled for `tollgate verify`; no decision reads them.
    let mut assertions = Vec::with_capacity(checked.assertions.len());
    for a in &checked.assertions {
        let missing = |what: &str| {
            CompileError::internal(&format!("an assertion's {what} is missing"), a.span)
        };
        let mut covered_roles = Vec::with_capacity(a.roles.len());
        for &r in &a.roles {
            if r >= roles.len() {
                return Err(missing("role"));
            }
            covered_roles.push(RoleId::new(r, a.span)?);
        }
        let mut covered_actions = Vec::with_capacity(a.actions.len());
        for &x in &a.actions {
            if x >= actions.len() {
                return Err(missing("action"));
            }
            covered_actions.push(ActionId::new(x, a.span)?);
        }
        assertions.push(Assertion {
            name: a.name.clone(),
            roles: covered_roles,
            actions: covered_actions,
            when: a.when.as_ref().map(|w| c.expr(w)).transpose()?,
            claim: claim(&a.claim, checked, a.span)?,
            span: a.span,
            location: checked.source.location(a.span),
        });
    }
    let mut settle_only = Vec::with_capacity(debt_count);
    for d in 0..debt_count {
        let only = checked.settle.only.get(d).map_or(&[][..], Vec::as_slice);
        settle_only.push(if only.is_empty() {
            u32::MAX
        } else {
            bits(only, credit_count, checked.settle.span.unwrap_or_default())?
        });
    }
    for (i, a) in checked.grant_attrs.iter().enumerate() {
        if i > u16::MAX as usize {
            return Err(CompileError::limit(
                Code::ValueOutOfRange,
                "the policy declares more than 65,535 grant attributes".to_owned(),
                a.span,
            ));
        }
    }
    let settle_sources = if checked.settle.sources.is_empty() {
        // No settle order: nothing is settled, from anywhere.
        vec![Vec::new(); debt_count]
    } else if checked.settle.sources.len() == debt_count {
        checked.settle.sources.clone()
    } else {
        return Err(CompileError::internal(
            "the settlement sources do not match the debt kinds",
            checked.settle.span.unwrap_or_default(),
        ));
    };

    // Sized for the most the policy could need; shared constants and
    // dropped operands usually leave room over.
    c.nodes.shrink_to_fit();
    c.lists.shrink_to_fit();
    Ok(Program {
        name: checked.name.clone(),
        source: checked.source.clone(),
        roles,
        actions,
        #[cfg(feature = "serve")]
        categories: checked.categories.iter().map(|c| c.name.clone()).collect(),
        permitted,
        credit_kinds: checked
            .credit_kinds
            .iter()
            .map(|k| k.name.clone())
            .collect(),
        debt_kinds: checked.debt_kinds.iter().map(|k| k.name.clone()).collect(),
        enums: checked.enums.clone(),
        fields: checked.fields.clone(),
        grant_attrs: checked.grant_attrs.clone(),
        lifetimes: if checked.lifetimes.is_empty() {
            vec![None; credit_count]
        } else {
            checked.lifetimes.clone()
        },
        locks,
        spend_rank: rank(&checked.spend.kinds, credit_count)?,
        spend_kinds: checked
            .spend
            .kinds
            .iter()
            .map(|&k| kind(k, credit_count))
            .collect::<Result<_, _>>()?,
        settle_kinds: checked
            .settle
            .kinds
            .iter()
            .map(|&k| kind(k, debt_count))
            .collect::<Result<_, _>>()?,
        // Totals by kind take the kinds in their listed order: `kind desc`
        // walks them the other way, which matters when a lock lets one
        // credit kind settle what another cannot, or a debt kind has
        // sources another lacks; those policies run the settlement itself.
        pooled_settlement: (credit_count <= 1
            || checked.spend.keys.first() == Some(&(GrantKey::Kind, false)))
            && (debt_count <= 1 || checked.settle.keys.first() == Some(&(DebtKey::Kind, false)))
            && settle_only.iter().all(|&m| m == u32::MAX),
        spend_keys: checked.spend.keys.clone(),
        settle_rank: rank(&checked.settle.kinds, debt_count)?,
        settle_keys: checked.settle.keys.clone(),
        simple_settlement: checked.spend.kinds.len() == credit_count
            && checked.settle.kinds.len() == debt_count
            && settle_only.iter().all(|&m| m == u32::MAX)
            && settle_sources
                .iter()
                .all(|s| s.first() == Some(&SourceKind::Usable)),
        settle_sources,
        settle_only,
        lets,
        states,
        rules,
        steps,
        action_rules,
        forbidden_rules,
        assertions,
        operation_rules,
        charge_shortfall,
        refund_shortfall,
        nodes: c.nodes,
        lists: c.lists,
        role_index,
        action_index,
    })
}

/// An assertion's claim with its states and steps as ids. Recursion is
/// bounded by the parser's depth limit on claims.
fn claim(c: &ir::Claim, checked: &Checked, span: Span) -> Result<Claim, CompileError> {
    let step = |s: usize| {
        if s >= checked.steps.len() {
            return Err(CompileError::internal(
                "an assertion's step is missing",
                span,
            ));
        }
        StepId::new(s, span)
    };
    let both = |a: &ir::Claim, b: &ir::Claim| -> Result<(Box<Claim>, Box<Claim>), CompileError> {
        Ok((
            Box::new(claim(a, checked, span)?),
            Box::new(claim(b, checked, span)?),
        ))
    };
    Ok(match c {
        ir::Claim::Not(x) => Claim::Not(Box::new(claim(x, checked, span)?)),
        ir::Claim::And(a, b) => {
            let (a, b) = both(a, b)?;
            Claim::And(a, b)
        }
        ir::Claim::Or(a, b) => {
            let (a, b) = both(a, b)?;
            Claim::Or(a, b)
        }
        ir::Claim::Implies(a, b) => {
            let (a, b) = both(a, b)?;
            Claim::Implies(a, b)
        }
        ir::Claim::Fact(f) => Claim::Fact(match f {
            ir::Fact::Allow => Fact::Allow,
            ir::Fact::Deny => Fact::Deny,
            ir::Fact::Reason(code) => Fact::Reason(code.clone()),
            ir::Fact::Permitted => Fact::Permitted,
            ir::Fact::State(s) => {
                if *s >= checked.states.len() {
                    return Err(CompileError::internal(
                        "an assertion's state is missing",
                        span,
                    ));
                }
                Fact::State(StateId::new(*s, span)?)
            }
            ir::Fact::Step(s) => Fact::Step(step(*s)?),
            ir::Fact::StepsOnly(steps) => {
                Fact::StepsOnly(steps.iter().map(|&s| step(s)).collect::<Result<_, _>>()?)
            }
            ir::Fact::SomeStep => Fact::SomeStep,
            ir::Fact::Warning(code) => Fact::Warning(code.clone()),
            ir::Fact::SomeWarning => Fact::SomeWarning,
            ir::Fact::Effect(code) => Fact::Effect(code.clone()),
            ir::Fact::SomeEffect => Fact::SomeEffect,
        }),
    })
}

/// A credit or debt kind's index, which must be one of the `count` declared.
fn kind(k: usize, count: usize) -> Result<u32, CompileError> {
    match u32::try_from(k) {
        Ok(k32) if k < count => Ok(k32),
        _ => Err(CompileError::internal(
            "a credit or debt kind is missing",
            Span::default(),
        )),
    }
}

/// Each kind's position in `order`, for the `count` kinds declared.
fn rank(order: &[usize], count: usize) -> Result<Vec<Option<u8>>, CompileError> {
    for &k in order {
        kind(k, count)?;
    }
    (0..count)
        .map(|k| {
            order
                .iter()
                .position(|&o| o == k)
                .map(|p| {
                    u8::try_from(p).map_err(|_| {
                        CompileError::internal("a kind order is too long", Span::default())
                    })
                })
                .transpose()
        })
        .collect()
}

/// The kinds as a bit set; each must be one of the `count` declared (at
/// most [`MAX_KINDS`]).
fn bits(kinds: &[usize], count: usize, span: Span) -> Result<u32, CompileError> {
    kinds.iter().try_fold(0u32, |acc, &k| {
        if k < count && k < MAX_KINDS {
            Ok(acc | 1 << k)
        } else {
            Err(CompileError::internal("a lock names a missing kind", span))
        }
    })
}

/// Lists this long or shorter are counted item by item in [`bounds`]:
/// hashing their constants to count each once costs more than the room
/// it saves.
const SHORT_LIST: usize = 16;

/// Upper bounds on the nodes and list items that compiling `checked`
/// pushes: a node for each checked expression at most (sharing constants
/// and fusing comparisons make fewer), counting the constants of lists
/// once each, as they are shared; and each item of each list.
fn bounds(checked: &Checked) -> (usize, usize) {
    fn template(t: &ir::Template) -> impl Iterator<Item = &TExpr> {
        t.parts.iter().filter_map(|p| match p {
            ir::TemplatePart::Value { expr, .. } => Some(expr),
            ir::TemplatePart::Text(_) => None,
        })
    }
    let mut roots: Vec<&TExpr> = Vec::new();
    roots.extend(checked.lets.iter().map(|l| &l.value));
    roots.extend(checked.locks.iter().map(|l| &l.when));
    roots.extend(checked.states.iter().filter_map(|s| s.when.as_ref()));
    for s in &checked.steps {
        roots.extend(template(&s.message));
    }
    for rule in checked.blocks.iter().flat_map(|b| &b.rules) {
        roots.extend(&rule.when);
        if let Some(m) = &rule.message {
            roots.extend(template(m));
        }
        for clause in &rule.steps {
            roots.extend(clause.steps.iter().filter_map(|(_, w, _)| w.as_ref()));
        }
        roots.extend(rule.params.iter().map(|(_, e)| e));
    }
    let shortfalls = checked
        .charge_shortfall
        .iter()
        .chain(&checked.refund_shortfall);
    roots.extend(shortfalls.filter_map(|s| s.when.as_ref()));
    roots.extend(checked.assertions.iter().filter_map(|a| a.when.as_ref()));
    let (mut nodes, mut items) = (0usize, 0usize);
    let mut listed = std::collections::HashSet::new();
    while let Some(e) = roots.pop() {
        nodes = nodes.saturating_add(1);
        match &e.kind {
            TExprKind::Literal(_)
            | TExprKind::Field(_)
            | TExprKind::Let(_)
            | TExprKind::Builtin(_)
            | TExprKind::Item(_)
            | TExprKind::OpGrant(_) => {}
            TExprKind::Before(a)
            | TExprKind::Unary(_, a)
            | TExprKind::InCategory { value: a, .. } => roots.push(a),
            TExprKind::Binary(_, a, b) => roots.extend([a.as_ref(), b.as_ref()]),
            TExprKind::In { value, set, .. } => {
                items = items.saturating_add(set.len());
                roots.push(value);
                for item in set.iter() {
                    match &item.kind {
                        TExprKind::Literal(l) if set.len() > SHORT_LIST => {
                            let key = (LeafKey::of_const(&Const::from_literal(l)), item.ty);
                            if listed.insert(key) {
                                nodes = nodes.saturating_add(1);
                            }
                        }
                        _ => roots.push(item),
                    }
                }
            }
            TExprKind::InLiterals(list) => {
                items = items.saturating_add(list.items.len());
                roots.push(&list.value);
                if list.items.len() <= SHORT_LIST {
                    nodes = nodes.saturating_add(list.items.len());
                    continue;
                }
                for (l, _) in &list.items {
                    let key = (LeafKey::of_const(&Const::from_literal(l)), list.ty);
                    if listed.insert(key) {
                        nodes = nodes.saturating_add(1);
                    }
                }
            }
            TExprKind::Aggregate { filter, .. } => roots.extend(filter.as_deref()),
        }
    }
    (nodes, items)
}

/// What a leaf node is, for sharing one node among its uses: a constant
/// by its exact value, scale included (`Decimal`'s own equality takes
/// `1.0` and `1.00` for one value, and they print differently); a field,
/// `let` or built-in by what it reads.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum LeafKey {
    Bool(bool),
    Decimal([u8; 16]),
    Time(crate::time::Timestamp),
    Duration(i64),
    Months(i64),
    Text(Box<str>),
    Enum(u32),
    /// A field's default is the field's, so the slot says it all.
    Field(FieldId),
    /// A `let`'s root is compiled once.
    Let(LetId),
    Builtin(Builtin),
    Item(ItemField),
    OpGrant(ItemField),
}

impl LeafKey {
    fn of_const(c: &Const) -> LeafKey {
        match c {
            Const::Bool(b) => LeafKey::Bool(*b),
            Const::Decimal(d) => LeafKey::Decimal(d.serialize()),
            Const::Time(t) => LeafKey::Time(*t),
            Const::Duration(s) => LeafKey::Duration(*s),
            Const::Months(m) => LeafKey::Months(*m),
            Const::Text(s) => LeafKey::Text(s.clone()),
            Const::Enum(v) => LeafKey::Enum(*v),
        }
    }

    /// The key of a node that reads no other node; `None` for the rest.
    fn of(node: &Node) -> Option<LeafKey> {
        Some(match node {
            Node::Const(c) => LeafKey::of_const(c),
            Node::Field { slot, .. } => LeafKey::Field(*slot),
            Node::Let { index, .. } => LeafKey::Let(*index),
            Node::Builtin(b) => LeafKey::Builtin(*b),
            Node::Item(f) => LeafKey::Item(*f),
            Node::OpGrant(f) => LeafKey::OpGrant(*f),
            _ => return None,
        })
    }
}

/// The shared node of each leaf, by what it reads and its type. Constants
/// are many and written freely, so they are hashed; the rest are found by
/// index (fields, `let`s) or among a few (built-ins, grant fields), which
/// costs less than hashing every read of `usable`.
#[derive(Default)]
struct Leaves {
    consts: HashMap<(LeafKey, Option<Base>), NodeId>,
    fields: Vec<Option<(Option<Base>, NodeId)>>,
    lets: Vec<Option<(Option<Base>, NodeId)>>,
    others: Vec<(LeafKey, Option<Base>, NodeId)>,
}

impl Leaves {
    /// The slot of a field or `let` leaf, grown to hold it.
    fn slot(&mut self, key: &LeafKey) -> Option<&mut Option<(Option<Base>, NodeId)>> {
        let (table, i) = match key {
            LeafKey::Field(f) => (&mut self.fields, f.index()),
            LeafKey::Let(l) => (&mut self.lets, l.index()),
            _ => return None,
        };
        if table.len() <= i {
            table.resize(i + 1, None);
        }
        table.get_mut(i)
    }

    fn get(&mut self, key: &LeafKey, ty: Option<Base>) -> Option<NodeId> {
        match key {
            LeafKey::Field(_) | LeafKey::Let(_) => match self.slot(key) {
                Some(Some((t, id))) if *t == ty => Some(*id),
                _ => None,
            },
            LeafKey::Builtin(_) | LeafKey::Item(_) | LeafKey::OpGrant(_) => self
                .others
                .iter()
                .find(|(k, t, _)| k == key && *t == ty)
                .map(|(_, _, id)| *id),
            _ => self.consts.get(&(key.clone(), ty)).copied(),
        }
    }

    fn insert(&mut self, key: LeafKey, ty: Option<Base>, id: NodeId) {
        match key {
            LeafKey::Field(_) | LeafKey::Let(_) => {
                if let Some(slot) = self.slot(&key) {
                    *slot = Some((ty, id));
                }
            }
            LeafKey::Builtin(_) | LeafKey::Item(_) | LeafKey::OpGrant(_) => {
                self.others.push((key, ty, id));
            }
            _ => {
                self.consts.insert((key, ty), id);
            }
        }
    }

    /// Forgets the leaf `key` of type `ty`, whose node is going.
    fn remove(&mut self, key: LeafKey, ty: Option<Base>) {
        match key {
            LeafKey::Field(_) | LeafKey::Let(_) => {
                if let Some(slot) = self.slot(&key) {
                    if slot.is_some_and(|(t, _)| t == ty) {
                        *slot = None;
                    }
                }
            }
            LeafKey::Builtin(_) | LeafKey::Item(_) | LeafKey::OpGrant(_) => {
                self.others.retain(|(k, t, _)| !(*k == key && *t == ty));
            }
            _ => {
                self.consts.remove(&(key, ty));
            }
        }
    }
}

struct Compiler<'c> {
    checked: &'c Checked,
    nodes: Vec<Node>,
    /// The type of each node (`None` when it may be absent).
    types: Vec<Option<Base>>,
    /// How deep evaluating each node recurses: 1 for a leaf, one more than
    /// its deepest child otherwise, a `let` counting its whole root.
    heights: Vec<u32>,
    lists: Vec<NodeId>,
    let_roots: Vec<NodeId>,
    /// The node of each field, `let` and built-in, and of each constant
    /// of an `in` list, by what it is and its type: a leaf written many
    /// times (`usable` in every rule, `in [1, 1, …]`) is one node, read
    /// from many places.
    leaves: Leaves,
    /// Whether constants are shared: while the items of a list are
    /// compiled. Elsewhere a constant is mostly fused into a comparison,
    /// and looking it up would cost more than it saves.
    share_consts: bool,
    /// The leaves' nodes in the order they were pushed, so that dropping
    /// nodes drops their entries in `leaves`.
    leaf_order: Vec<NodeId>,
    /// How deep [`Compiler::expr`] is nested now.
    depth: usize,
    /// [`MAX_EVAL_DEPTH`], except in tests.
    max_depth: usize,
}

impl Compiler<'_> {
    /// Appends a node, refusing one whose evaluation would recurse deeper
    /// than [`MAX_EVAL_DEPTH`].
    fn push(&mut self, node: Node, ty: Option<Base>, span: Span) -> Result<NodeId, CompileError> {
        let key = match node {
            Node::Const(_) if !self.share_consts => None,
            _ => LeafKey::of(&node).map(|k| (k, ty)),
        };
        if let Some(id) = key.as_ref().and_then(|(k, ty)| self.leaves.get(k, *ty)) {
            return Ok(id);
        }
        let height = self.height(&node, span)?;
        if height as usize > self.max_depth {
            return Err(too_deep(span, self.max_depth));
        }
        let id = NodeId::new(self.nodes.len(), span)?;
        self.nodes.push(node);
        self.types.push(ty);
        self.heights.push(height);
        if let Some(key) = key {
            self.leaves.insert(key.0, key.1, id);
            self.leaf_order.push(id);
        }
        Ok(id)
    }

    /// Drops the nodes from `nodes` on, and the list items from `items` on.
    fn truncate(&mut self, nodes: usize, items: usize) {
        while let Some(&id) = self.leaf_order.last() {
            if id.index() < nodes {
                break;
            }
            let node = self.nodes.get(id.index());
            if let (Some(key), Some(&ty)) = (node.and_then(LeafKey::of), self.types.get(id.index()))
            {
                self.leaves.remove(key, ty);
            }
            self.leaf_order.pop();
        }
        self.nodes.truncate(nodes);
        self.types.truncate(nodes);
        self.heights.truncate(nodes);
        self.lists.truncate(items);
    }

    /// One more than the deepest child of `node`.
    fn height(&self, node: &Node, span: Span) -> Result<u32, CompileError> {
        let of = |id: NodeId| {
            self.heights
                .get(id.index())
                .copied()
                .ok_or_else(|| CompileError::internal("a node's child is missing", span))
        };
        let operand = |o: &NumOperand| match o {
            NumOperand::Node(id) => of(*id),
            _ => Ok(0),
        };
        let deepest = match node {
            Node::Const(_)
            | Node::Field { .. }
            | Node::Builtin(_)
            | Node::Item(_)
            | Node::OpGrant(_)
            | Node::CmpTotal { .. }
            | Node::EnumTest { .. } => 0,
            Node::Let { root: a, .. }
            | Node::Before(a)
            | Node::Not(a)
            | Node::Neg(a)
            | Node::InCategory { value: a, .. } => of(*a)?,
            Node::And(a, b) | Node::Or(a, b) | Node::Default(a, b) | Node::Binary(_, a, b) => {
                of(*a)?.max(of(*b)?)
            }
            Node::In { value, items, .. } => {
                let items = self.list(*items, span)?;
                items
                    .iter()
                    .try_fold(of(*value)?, |m, &i| Ok(m.max(of(i)?)))?
            }
            Node::Aggregate { filter, .. } => filter.map_or(Ok(0), of)?,
            Node::CmpNum { a, b, .. } => operand(a)?.max(operand(b)?),
        };
        Ok(deepest.saturating_add(1))
    }

    fn list(&self, range: ListRange, span: Span) -> Result<&[NodeId], CompileError> {
        let start = range.start as usize;
        start
            .checked_add(range.len as usize)
            .and_then(|end| self.lists.get(start..end))
            .ok_or_else(|| CompileError::internal("an `in` list is missing", span))
    }

    fn constant(&self, id: NodeId) -> Option<&Const> {
        match self.nodes.get(id.index()) {
            Some(Node::Const(c)) => Some(c),
            _ => None,
        }
    }

    /// Lowers a typed expression, folding constant subtrees.
    fn expr(&mut self, e: &TExpr) -> Result<NodeId, CompileError> {
        // The recursion below follows the expression's own nesting, which
        // the parser bounds; this bound holds even if that one slips.
        if self.depth >= self.max_depth {
            return Err(too_deep(e.span, self.max_depth));
        }
        let (nodes, lists) = (self.nodes.len(), self.lists.len());
        self.depth += 1;
        let node = self.lower(e);
        self.depth -= 1;
        let node = node?;
        let folded = self.fold(&node).map(Node::Const).unwrap_or(node);
        let fused = self.fuse(folded)?;
        // The children were pushed just now, and only this node reads
        // them: when folding or fusing left it reading none (`usable < 5`
        // is one `CmpTotal`), they go, and so does the list of an `in`
        // that became an `EnumTest`.
        if !self.reads_from(&fused, nodes) {
            self.truncate(nodes, lists);
        }
        self.push(fused, (!e.ty.optional).then_some(e.ty.base), e.span)
    }

    /// Whether `node` reads a node numbered `from` or later.
    fn reads_from(&self, node: &Node, from: usize) -> bool {
        let late = |id: &NodeId| id.index() >= from;
        match node {
            Node::Const(_)
            | Node::Field { .. }
            | Node::Builtin(_)
            | Node::Item(_)
            | Node::OpGrant(_)
            | Node::CmpTotal { .. }
            | Node::EnumTest { .. } => false,
            Node::Let { root: a, .. }
            | Node::Before(a)
            | Node::Not(a)
            | Node::Neg(a)
            | Node::InCategory { value: a, .. } => late(a),
            Node::And(a, b) | Node::Or(a, b) | Node::Default(a, b) | Node::Binary(_, a, b) => {
                late(a) || late(b)
            }
            // Its list's entries were pushed just now, whatever its items.
            Node::In { .. } => true,
            Node::Aggregate { filter, .. } => filter.as_ref().is_some_and(late),
            Node::CmpNum { a, b, .. } => [a, b]
                .iter()
                .any(|o| matches!(o, NumOperand::Node(id) if late(id))),
        }
    }

    /// One node for `e`, its children lowered first.
    fn lower(&mut self, e: &TExpr) -> Result<Node, CompileError> {
        let missing = |what: &str| CompileError::internal(what, e.span);
        Ok(match &e.kind {
            TExprKind::Literal(l) => Node::Const(Const::from_literal(l)),
            TExprKind::Field(slot) => {
                let field = self
                    .checked
                    .fields
                    .get(*slot)
                    .ok_or_else(|| missing("a field is missing"))?;
                Node::Field {
                    slot: FieldId::new(*slot, e.span)?,
                    default: field.default.as_ref().map(Const::from_literal),
                }
            }
            TExprKind::Let(i) => {
                let root = *self
                    .let_roots
                    .get(*i)
                    .ok_or_else(|| missing("a `let` is used before it is compiled"))?;
                match self.constant(root).cloned() {
                    Some(c) => Node::Const(c),
                    None => Node::Let {
                        index: LetId::new(*i, e.span)?,
                        root,
                    },
                }
            }
            TExprKind::Builtin(b) => {
                if let Builtin::DebtOf(k) = b {
                    kind(*k, self.checked.debt_kinds.len())
                        .map_err(|_| missing("a debt kind is missing"))?;
                }
                Node::Builtin(*b)
            }
            TExprKind::Item(f) => {
                self.check_item_field(*f, e.span)?;
                Node::Item(*f)
            }
            TExprKind::OpGrant(f) => {
                self.check_item_field(*f, e.span)?;
                Node::OpGrant(*f)
            }
            TExprKind::Before(inner) => Node::Before(self.expr(inner)?),
            TExprKind::Unary(op, a) => {
                let a = self.expr(a)?;
                match op {
                    UnaryOp::Not => Node::Not(a),
                    UnaryOp::Neg => Node::Neg(a),
                }
            }
            TExprKind::Binary(op, a, b) => {
                let (a, b) = (self.expr(a)?, self.expr(b)?);
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
                let value = self.expr(value)?;
                self.share_consts = true;
                let items = set
                    .iter()
                    .map(|i| self.expr(i))
                    .collect::<Result<Vec<NodeId>, _>>();
                self.share_consts = false;
                self.in_list(value, &items?, *negated, e.span)?
            }
            TExprKind::InLiterals(list) => {
                let value = self.expr(&list.value)?;
                // What `expr` does for each item written as a literal.
                let ty = (!list.ty.optional).then_some(list.ty.base);
                let mut items = Vec::with_capacity(list.items.len());
                self.share_consts = true;
                for (l, span) in &list.items {
                    if self.depth >= self.max_depth {
                        self.share_consts = false;
                        return Err(too_deep(*span, self.max_depth));
                    }
                    let item = self.push(Node::Const(Const::from_literal(l)), ty, *span);
                    items.push(item);
                }
                self.share_consts = false;
                let items = items.into_iter().collect::<Result<Vec<NodeId>, _>>()?;
                self.in_list(value, &items, list.negated, e.span)?
            }
            TExprKind::InCategory {
                value,
                category,
                negated,
            } => {
                if *category >= self.checked.categories.len() {
                    return Err(missing("an action category is missing"));
                }
                Node::InCategory {
                    value: self.expr(value)?,
                    category: CategoryId::new(*category, e.span)?,
                    negated: *negated,
                }
            }
            TExprKind::Aggregate { op, of, filter } => Node::Aggregate {
                op: *op,
                of: *of,
                filter: filter.as_ref().map(|f| self.expr(f)).transpose()?,
            },
        })
    }

    /// `value in [items]`, its items appended to the lists.
    fn in_list(
        &mut self,
        value: NodeId,
        items: &[NodeId],
        negated: bool,
        span: Span,
    ) -> Result<Node, CompileError> {
        let too_long = || CompileError::internal("an `in` list is too long", span);
        let start = u32::try_from(self.lists.len()).map_err(|_| too_long())?;
        let len = u32::try_from(items.len()).map_err(|_| too_long())?;
        start.checked_add(len).ok_or_else(too_long)?;
        self.lists.extend(items);
        Ok(Node::In {
            value,
            items: ListRange { start, len },
            negated,
        })
    }

    /// A grant attribute read must name a declared attribute.
    fn check_item_field(&self, f: ItemField, span: Span) -> Result<(), CompileError> {
        match f {
            ItemField::Attr(i) if i >= self.checked.grant_attrs.len() => {
                Err(CompileError::internal("a grant attribute is missing", span))
            }
            _ => Ok(()),
        }
    }

    /// Replaces the commonest shapes by single nodes that evaluate without
    /// building intermediate values.
    fn fuse(&self, node: Node) -> Result<Node, CompileError> {
        Ok(match node {
            Node::Binary(op, a, b) if op.is_comparison() => {
                if let (Some(x), Some(y)) = (self.num_operand(a), self.num_operand(b)) {
                    return Ok(total_vs_constant(op, x, y).unwrap_or(Node::CmpNum {
                        op,
                        a: x,
                        b: y,
                    }));
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
                items,
                negated,
            } => {
                let consts: Option<Vec<u32>> = self
                    .list(items, Span::default())?
                    .iter()
                    .map(|&i| self.enum_const(i))
                    .collect();
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
                        items,
                        negated,
                    },
                }
            }
            other => other,
        })
    }

    /// A node usable as a fused numeric operand, when its type is a number.
    fn num_operand(&self, id: NodeId) -> Option<NumOperand> {
        Some(match self.nodes.get(id.index())? {
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
                let field = self.checked.fields.get(slot.index())?;
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
            .get(id.index())
            .copied()
            .flatten()
            .filter(|b| *b == Base::Decimal)?;
        Some(NumOperand::Node(id))
    }

    /// A user enum field with at most 64 values: its slot and default.
    fn enum_field(&self, id: NodeId) -> Option<(FieldId, Option<u32>)> {
        let Node::Field { slot, default } = self.nodes.get(id.index())? else {
            return None;
        };
        let field = self.checked.fields.get(slot.index())?;
        let Base::Enum(crate::check::ir::EnumRef::User(e)) = field.ty else {
            return None;
        };
        if self.checked.enums.get(e.index())?.values.len() > 64 || field.optional {
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
        match self.nodes.get(id.index())? {
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
            Value::Months(m) => Const::Months(m),
            Value::Enum(i) => Const::Enum(i),
            Value::Text(_) | Value::Absent => return None,
        })
    }

    fn template(&mut self, t: &ir::Template) -> Result<Template, CompileError> {
        let mut parts = Vec::with_capacity(t.parts.len());
        for p in &t.parts {
            parts.push(match p {
                ir::TemplatePart::Text(s) => TemplatePart::Text(s.clone()),
                ir::TemplatePart::Value {
                    expr,
                    format,
                    fallback,
                } => TemplatePart::Value {
                    node: self.expr(expr)?,
                    ty: expr.ty.base,
                    format: *format,
                    fallback: fallback.clone(),
                },
            });
        }
        Ok(Template { parts })
    }

    fn rule(&mut self, r: &ir::Rule) -> Result<Rule, CompileError> {
        let mut steps = Vec::with_capacity(r.steps.len());
        for clause in &r.steps {
            let audience = match clause.audience {
                ir::Audience::Everyone => Audience::Everyone,
                ir::Audience::Others => Audience::Others,
                ir::Audience::Access(a) if a < self.checked.access_levels.len() => {
                    Audience::Access(AccessId::new(a, clause.span)?)
                }
                ir::Audience::Access(_) => {
                    return Err(CompileError::internal(
                        "a steps clause's access level is missing",
                        clause.span,
                    ));
                }
            };
            let mut offered = Vec::with_capacity(clause.steps.len());
            for (s, w, span) in &clause.steps {
                if *s >= self.checked.steps.len() {
                    return Err(CompileError::internal("a next step is missing", *span));
                }
                let when = w.as_ref().map(|w| self.expr(w)).transpose()?;
                offered.push((StepId::new(*s, *span)?, when, *span));
            }
            steps.push(StepsClause {
                audience,
                steps: offered,
            });
        }
        let mut params = Vec::with_capacity(r.params.len());
        for (n, e) in &r.params {
            params.push((n.clone(), self.expr(e)?, e.ty.base));
        }
        Ok(Rule {
            kind: r.kind,
            code: r.code.clone(),
            when: r.when.as_ref().map(|w| self.expr(w)).transpose()?,
            message: r.message.as_ref().map(|m| self.template(m)).transpose()?,
            steps,
            params,
            even_if_denied: r.even_if_denied,
            on_forbidden: false,
            span: r.span,
            location: self.checked.source.location(r.span),
        })
    }
}

fn too_deep(span: Span, max_depth: usize) -> CompileError {
    CompileError::limit(
        Code::TooDeep,
        format!(
            "this expression nests more than {max_depth} levels deep, counting the `let`s it uses"
        ),
        span,
    )
}

/// Refuses a parsed policy that still holds an expression the parser could
/// not lower. The parser reports every such place as a syntax error; one it
/// did not report means the grammar and the lowering disagree, and the
/// checker would drop the rule holding it, silently deleting a `deny`.
pub(crate) fn refuse_unlowered(policy: &ast::Policy) -> Result<(), CompileError> {
    let mut pending: Vec<&ast::Expr> = Vec::new();
    for item in &policy.items {
        match &item.kind {
            ast::ItemKind::Field(f) => pending.extend(&f.default),
            ast::ItemKind::Lock(l) => pending.push(&l.when),
            ast::ItemKind::Let { value, .. } => pending.push(value),
            ast::ItemKind::State { when, .. } => pending.extend(when),
            ast::ItemKind::On(block) => {
                for rule in &block.rules {
                    pending.extend(&rule.when);
                    pending.extend(rule.params.iter().map(|p| &p.value));
                    for clause in &rule.steps {
                        pending.extend(clause.steps.iter().filter_map(|s| s.when.as_ref()));
                    }
                }
            }
            _ => {}
        }
        // An explicit stack, not recursion: this walk is bounded by the
        // policy's size, whatever its depth.
        while let Some(e) = pending.pop() {
            if matches!(e.kind, ast::ExprKind::Invalid) {
                return Err(CompileError::internal(
                    "this expression could not be read, yet no syntax error was reported",
                    e.span,
                ));
            }
            pending.extend(e.children());
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
pub(crate) mod tests {
    use super::*;
    use crate::span::Source;

    pub(crate) const POLICY: &str = "policy p

role member
actions billable: run
permit member to billable

credits included
spend included by id

state paused when usable == 0
state ok otherwise

on billable {
  deny broke when usable == 0 {
    message \"No credits.\"
  }
}
";

    fn checked(text: &str) -> Checked {
        let source = Source::new("p.policy", text);
        let parsed = crate::parse::parse(&source);
        crate::check::check(&source, parsed.policy)
            .checked
            .expect("the policy checks")
    }

    /// Assertions reach the program with their names resolved to ids in
    /// policy order, and deciding has nothing more to read.
    #[test]
    fn assertions_compile_to_ids_in_policy_order() {
        let text = format!(
            "{POLICY}role owner with billing access\nactions free: view, browse\npermit owner to all\n\
             step buy \"Buy.\"\n\
             assert a for owner, member on free, billable when usable > 0: state ok implies never deny broke\n\
             assert b for billing access: never permitted implies deny not_permitted and steps only [buy]\n\
             assert c: allow\n"
        );
        let program = compile(checked(&text)).expect("compiles");
        let [a, b, c] = &program.assertions[..] else {
            panic!("{:?}", program.assertions);
        };
        let names = |ids: &[RoleId]| {
            ids.iter()
                .map(|r| program.roles[r.index()].name.as_str())
                .collect::<Vec<_>>()
        };
        let actions = |ids: &[ActionId]| {
            ids.iter()
                .map(|r| program.actions[r.index()].name.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&a.roles), ["member", "owner"]);
        assert_eq!(actions(&a.actions), ["run", "view", "browse"]);
        assert!(a.when.is_some());
        assert_eq!(a.location, "p.policy:22:1");
        let ok = StateId::new(1, Span::default()).unwrap();
        assert_eq!(
            a.claim,
            Claim::Implies(
                Box::new(Claim::Fact(Fact::State(ok))),
                Box::new(Claim::Not(Box::new(Claim::Fact(Fact::Reason(
                    "broke".into()
                )))))
            )
        );
        assert_eq!(names(&b.roles), ["owner"]);
        assert_eq!(b.actions.len(), 3);
        let Claim::Implies(_, rhs) = &b.claim else {
            panic!("{:?}", b.claim)
        };
        assert!(
            matches!(&**rhs, Claim::And(_, s) if **s == Claim::Fact(Fact::StepsOnly(vec![StepId::new(0, Span::default()).unwrap()])))
        );
        assert_eq!((c.roles.len(), c.actions.len(), c.when), (2, 3, None));
        // Nothing else changed: the same rules and nodes as without them.
        let without = compile(checked(&text.replace("assert ", "// assert "))).expect("compiles");
        assert_eq!(program.rules.len(), without.rules.len());
        assert_eq!(program.action_rules, without.action_rules);
    }

    /// Operands that a fused node does not read are dropped: each
    /// `usable == 0` of the policy is one `CmpTotal`, not three nodes.
    #[test]
    fn a_fused_comparison_keeps_no_operands() {
        let program = compile(checked(POLICY)).expect("compiles");
        assert_eq!(program.nodes.len(), 2, "{:?}", program.nodes);
    }

    /// A constant written many times is one node.
    #[test]
    fn a_constant_is_one_node_however_often_written() {
        let text = POLICY.replace(
            "deny broke when usable == 0",
            "deny broke when usable in [1, 1, 2, 1.0, 1, 2]",
        );
        let program = compile(checked(&text)).expect("compiles");
        let consts: Vec<String> = program
            .nodes
            .iter()
            .filter_map(|n| match n {
                Node::Const(Const::Decimal(d)) => Some(d.to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(consts, ["1.000000", "2.000000"]);
        assert_eq!(program.lists.len(), 6);
    }

    /// An `in` whose value and items are all nodes made before it still
    /// keeps its list.
    #[test]
    fn an_in_of_shared_nodes_keeps_its_list() {
        let text = POLICY.replace(
            "state ok otherwise",
            "state cheap when usable in [1, 2]\nstate ok otherwise",
        );
        let text = text.replace(
            "deny broke when usable == 0",
            "deny broke when usable in [1, 2]",
        );
        let program = compile(checked(&text)).expect("compiles");
        assert_eq!(program.lists.len(), 4);
    }

    /// A lowering that fell out of step with the grammar leaves an
    /// `Invalid` node without a syntax error; the checker drops the rule
    /// holding it. The policy must be refused, not compiled without its
    /// `deny`.
    #[test]
    fn an_unlowered_expression_is_refused_not_dropped() {
        let source = Source::new("p.policy", POLICY);
        let mut parsed = crate::parse::parse(&source);
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let mut replaced = 0;
        for item in &mut parsed.policy.items {
            if let ast::ItemKind::On(block) = &mut item.kind {
                for rule in &mut block.rules {
                    if let Some(when) = &mut rule.when {
                        when.kind = ast::ExprKind::Invalid;
                        replaced += 1;
                    }
                }
            }
        }
        assert_eq!(replaced, 1);
        let analysis = crate::analyze_parsed(source, parsed);
        assert!(
            analysis.program.is_none(),
            "a policy whose deny rule could not be read was accepted"
        );
        let errors: Vec<_> = analysis
            .diagnostics
            .items
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.message.clone())
            .collect();
        assert!(
            errors.iter().any(|m| m.starts_with("internal error")),
            "{errors:?}"
        );
    }

    /// The checker's tables and the program's ids must agree; anything
    /// missing is an internal error, never a default.
    #[test]
    fn a_dangling_index_is_an_internal_error() {
        let mut c = checked(POLICY);
        c.permitted.clear();
        let e = compile(c).expect_err("permission table without rows");
        assert!(e.message.starts_with("internal error"), "{}", e.message);

        let mut c = checked(POLICY);
        c.blocks[0].rules[0].when = Some(TExpr {
            kind: TExprKind::Let(7),
            ty: ir::Type::of(Base::Bool),
            span: Span::default(),
        });
        let e = compile(c).expect_err("a let that does not exist");
        assert!(e.message.starts_with("internal error"), "{}", e.message);

        let mut c = checked(POLICY);
        c.blocks[0].rules[0].when = Some(TExpr {
            kind: TExprKind::Field(3),
            ty: ir::Type::of(Base::Bool),
            span: Span::default(),
        });
        let e = compile(c).expect_err("a field that does not exist");
        assert!(e.message.starts_with("internal error"), "{}", e.message);

        let mut c = checked(POLICY);
        c.blocks[0].actions.push(true);
        let e = compile(c).expect_err("a block for more actions than exist");
        assert!(e.message.starts_with("internal error"), "{}", e.message);
    }

    #[test]
    fn permissions_are_one_bit_per_pair() {
        let roles = 3;
        let actions = 130;
        let table: Vec<Vec<bool>> = (0..roles)
            .map(|r| (0..actions).map(|a| (r * 7 + a) % 5 == 0).collect())
            .collect();
        let p = Permissions::pack(&table, roles, actions).unwrap();
        assert_eq!(p.words.len(), roles * 3);
        for (r, row) in table.iter().enumerate() {
            for (a, &want) in row.iter().enumerate() {
                let got = p.get(RoleId(r as u16), ActionId(a as u16));
                assert_eq!(got, Some(want), "role {r} action {a}");
            }
        }
        assert_eq!(p.get(RoleId(0), ActionId(130)), None);
        assert_eq!(p.get(RoleId(3), ActionId(0)), None);
        assert!(Permissions::pack(&table, roles, actions + 1).is_err());
    }

    /// An index that does not fit its id is refused, never wrapped: 65,536
    /// states would make the last one state 0.
    #[test]
    fn a_table_past_its_id_width_is_refused() {
        let mut c = checked(POLICY);
        let state = c.states[0].clone();
        c.states = vec![state; usize::from(u16::MAX) + 2];
        let e = compile(c).expect_err("65,537 states");
        assert_eq!(e.code, Code::ValueOutOfRange);
        assert!(
            e.message.contains("more than 65535 states"),
            "{}",
            e.message
        );
    }

    /// A policy whose deny rule reads a chain of `lets` lets, each adding
    /// `width` terms to the one before: evaluating it nests
    /// `3 + (lets - 1) * (width + 1)` levels.
    pub(crate) fn let_chain(lets: usize, width: usize) -> String {
        let mut text = POLICY.replace("on billable", "let l0 = usable\non billable");
        for i in 1..lets {
            text.push_str(&format!("let l{i} = l{}", i - 1));
            text.push_str(&" + usable".repeat(width));
            text.push('\n');
        }
        let last = lets - 1;
        text.push_str(&format!(
            "on billable {{\n  deny deep when l{last} < 0 {{\n    message \"{{l{last}}}\"\n  }}\n}}\n"
        ));
        text
    }

    /// Lets built on lets nest evaluation through each other: the program
    /// is refused past the limit instead of overflowing the evaluator's
    /// stack.
    #[test]
    fn an_evaluation_deeper_than_the_limit_is_refused() {
        // The checker refuses such chains first (`check::expr::MAX_EVAL_DEPTH`,
        // counted in the language's terms); this is the compiler's own bound
        // on compiled nodes, lowered so that a checked policy reaches it.
        // 3 + 19 * 11 = 212 levels.
        let checked = checked(&let_chain(20, 10));
        compile_within(checked.clone(), 212).expect("212 levels compile");
        let e = compile_within(checked, 211).expect_err("212 levels past 211");
        assert_eq!(e.code, Code::TooDeep);
        assert!(e.message.contains("211"), "{}", e.message);
    }
}
