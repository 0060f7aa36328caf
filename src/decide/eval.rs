//! Evaluating compiled expressions against one account.

use std::cell::Cell;

use rust_decimal::Decimal;

use crate::compile::{
    ActionId, Const, FieldId, LetId, MAX_KINDS, MAX_LOCKS, Node, NodeId, NumOperand, Program,
    RoleId, Total,
};
use crate::lang::BinaryOp;
use crate::lang::Collection;
use crate::lang::{AggregateOp, Base, Builtin, EnumRef, ItemField, SourceKind};
use crate::snapshot::{Account, Debt, FieldValue, Grant};
use crate::value::{OpError, Value};

/// Why an evaluation has no value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// A computation left the range of exact decimals or timestamps.
    #[error(
        "arithmetic overflow while evaluating the policy: a value is too large for a decimal (about 7.9 × 10^28 at most) or a time left years 1 to 9999; keep the policy's constants and products within that range"
    )]
    Overflow,
    /// A sum, difference or product in range whose exact value needs more
    /// than the 28 significant digits or decimal places a decimal holds:
    /// refused, never rounded.
    #[error(
        "inexact arithmetic while evaluating the policy: the exact result of a sum, difference or product needs more than the 28 significant digits or decimal places a decimal holds, and it is refused rather than rounded; use fewer or larger factors (one `* 0.000001`, not several) or compare before multiplying"
    )]
    Inexact,
    /// The program and the data disagree: a bug in tollgate, reported
    /// instead of panicking.
    #[error("internal error: the compiled policy is inconsistent ({0:?})")]
    Internal(Inconsistency),
}

/// What disagreed, for a bug report. A plain code keeps `EvalError` one
/// byte, so evaluation results travel in registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inconsistency {
    /// A request named an action the program does not have.
    ActionId,
    /// An action value did not name one of the program's actions.
    ActionValue,
    /// A decimal field held no decimal and had no default.
    DecimalField,
    /// An enum field held no enum value and had no default, or one out of range.
    EnumField,
    /// An enum value had no name in its enum.
    EnumValue,
    /// A field slot was missing from the program or the account.
    FieldSlot,
    /// A grant or debt was asked for a field it does not have.
    ItemField,
    /// A grant or debt kind was missing from the program.
    KindIndex,
    /// A `let` was missing from the program.
    LetId,
    /// A list of nodes was missing from the program.
    ListRange,
    /// A lock's index was beyond the 64 locks a program may hold.
    LockIndex,
    /// `role` or `action` was read with no request being decided.
    NoRequest,
    /// An operation's parameter or `before.` was read outside its rules.
    NoOperation,
    /// An expression node was missing from the program.
    NodeId,
    /// An operator was given values of the wrong types.
    OperandTypes,
    /// A request named a role the program does not have.
    RoleId,
    /// A rule was missing from the program.
    RuleId,
    /// A decision could not be written as JSON.
    Serialise,
    /// A grant's standing had no total to add to.
    Standing,
    /// A next step was missing from the program.
    StepId,
}

impl From<Inconsistency> for EvalError {
    fn from(i: Inconsistency) -> EvalError {
        EvalError::Internal(i)
    }
}

impl From<OpError> for EvalError {
    fn from(e: OpError) -> EvalError {
        match e {
            OpError::Overflow => EvalError::Overflow,
            OpError::Inexact => EvalError::Inexact,
            OpError::Mismatch => EvalError::Internal(Inconsistency::OperandTypes),
        }
    }
}

/// A value read while evaluating, for `--explain`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReadKey {
    Field(FieldId),
    Builtin(Builtin),
    Let(LetId),
    /// A value of the account before a ledger operation (`before.usable`).
    Before(Prior),
}

/// What a `before.` read read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Prior {
    Field(FieldId),
    Builtin(Builtin),
    Let(LetId),
}

impl ReadKey {
    /// The same read, made on the account before the operation.
    fn prior(self) -> ReadKey {
        match self {
            ReadKey::Field(f) => ReadKey::Before(Prior::Field(f)),
            ReadKey::Builtin(b) => ReadKey::Before(Prior::Builtin(b)),
            ReadKey::Let(l) => ReadKey::Before(Prior::Let(l)),
            before @ ReadKey::Before(_) => before,
        }
    }
}

/// [`Tracer`] without its constant, so it can be a trait object.
trait DynTracer {
    fn read_dyn(&mut self, key: ReadKey, value: Value<'_>);
    fn nest_dyn(&mut self, entering: bool);
}

impl<T: Tracer> DynTracer for T {
    fn read_dyn(&mut self, key: ReadKey, value: Value<'_>) {
        self.read(key, value);
    }
    fn nest_dyn(&mut self, entering: bool) {
        self.nest(entering);
    }
}

/// Passes the reads of a `before.` expression on, marked as made before
/// the operation. One concrete type whatever the tracer it wraps, so the
/// evaluator is instantiated once for it.
struct PriorTracer<'t> {
    inner: &'t mut dyn DynTracer,
}

impl Tracer for PriorTracer<'_> {
    fn read(&mut self, key: ReadKey, value: Value<'_>) {
        self.inner.read_dyn(key.prior(), value);
    }
    fn nest(&mut self, entering: bool) {
        self.inner.nest_dyn(entering);
    }
}

/// Receives the values a rule reads. The fast path uses [`NoTrace`], which
/// compiles to nothing.
pub trait Tracer {
    /// Whether `read` records anything: values built only to be read are
    /// not built when it does not.
    const RECORDS: bool = true;
    fn read(&mut self, key: ReadKey, value: Value<'_>);
    /// Entering (`true`) or leaving (`false`) a `let`: reads inside it are
    /// summarised by the let's own value.
    fn nest(&mut self, entering: bool);
}

/// Records nothing.
pub struct NoTrace;

impl Tracer for NoTrace {
    const RECORDS: bool = false;
    #[inline(always)]
    fn read(&mut self, _: ReadKey, _: Value<'_>) {}
    #[inline(always)]
    fn nest(&mut self, _: bool) {}
}

/// The grant or debt a `where` filter is looking at.
#[derive(Clone, Copy)]
pub enum Item<'a> {
    None,
    Grant(&'a Grant),
    Debt(&'a Debt),
}

/// A grant's standing at `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    Usable = 0,
    Locked = 1,
    Expired = 2,
}

/// Totals of the account at `now`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Balance {
    /// Credits in grants that can pay for work now.
    pub usable: Decimal,
    /// Credits in grants a lock holds back from spending.
    pub locked: Decimal,
    /// Credits left in grants past their expiry.
    pub expired: Decimal,
    /// Total owed across all debts.
    pub debt: Decimal,
}

/// One account under one program: lock state and totals, computed once.
pub struct Ctx<'a> {
    pub program: &'a Program,
    pub account: &'a Account,
    /// `(role, action)` when deciding a request.
    pub request: Option<(RoleId, ActionId)>,
    /// Bit `k`: credit kind `k` is locked now.
    pub locked_kinds: u32,
    /// Which locks hold, by index, for traces.
    pub locks_active: u64,
    pub balance: Balance,
    /// A ledger operation's parameters, in its rules. A pointer, so a
    /// decision's context stays small and quick to build.
    pub op: Option<&'a OpParams<'a>>,
    /// The same totals in millionths, for fused comparisons.
    totals: Totals,
    settleable: Cell<Option<Decimal>>,
}

/// What the rules of a ledger operation read besides the account after it.
#[derive(Clone, Copy, Default)]
pub struct OpParams<'a> {
    /// `charge.amount`
    pub charge_amount: Option<Decimal>,
    /// `charge.shortfall`: what the usable credits did not cover.
    pub charge_shortfall: Option<Decimal>,
    /// `refund.dispute`: whether a refund records a dispute.
    pub refund_dispute: Option<bool>,
    /// `grant.*`: the grant being added or refunded.
    pub grant: Option<&'a Grant>,
    /// `before.*`: the account before the operation.
    pub before: Option<&'a Ctx<'a>>,
}

/// [`Balance`] in integer millionths.
#[derive(Clone, Copy, Default)]
struct Totals {
    usable: i128,
    locked: i128,
    expired: i128,
    debt: i128,
}

impl<'a> Ctx<'a> {
    /// Evaluates the locks and the totals.
    pub fn new(
        program: &'a Program,
        account: &'a Account,
        request: Option<(RoleId, ActionId)>,
    ) -> Result<Ctx<'a>, EvalError> {
        let mut ctx = Ctx {
            program,
            account,
            request,
            locked_kinds: 0,
            locks_active: 0,
            balance: Balance::default(),
            op: None,
            totals: Totals::default(),
            settleable: Cell::new(None),
        };
        for (i, lock) in program.locks.iter().enumerate() {
            // INVARIANT: the checker keeps lock conditions off the balance,
            // so evaluating them before the totals exist is sound.
            if ctx.eval_bool(lock.when, Item::None, &mut NoTrace)? {
                // INVARIANT: compiling refuses more than MAX_LOCKS (64).
                if i >= MAX_LOCKS {
                    return Err(Inconsistency::LockIndex.into());
                }
                ctx.locked_kinds |= lock.kinds;
                ctx.locks_active |= 1 << i;
            }
        }
        // Sums in integer millionths: exact, and far cheaper than decimal
        // additions. i128 holds any sum of amounts a snapshot can carry.
        let mut sums = [0i128; 3];
        for g in &account.grants {
            let slot = sums
                .get_mut(ctx.standing(g) as usize)
                .ok_or(EvalError::Internal(Inconsistency::Standing))?;
            *slot = slot
                .checked_add(micros(g.remaining)?)
                .ok_or(EvalError::Overflow)?;
        }
        let mut debt = 0i128;
        for d in &account.debts {
            debt = debt
                .checked_add(micros(d.amount)?)
                .ok_or(EvalError::Overflow)?;
        }
        let [usable, locked, expired] = sums;
        ctx.totals = Totals {
            usable,
            locked,
            expired,
            debt,
        };
        ctx.balance = Balance {
            usable: from_micros(usable)?,
            locked: from_micros(locked)?,
            expired: from_micros(expired)?,
            debt: from_micros(debt)?,
        };
        Ok(ctx)
    }

    /// The same context, in the rules of a ledger operation.
    pub fn with_op(mut self, op: &'a OpParams<'a>) -> Ctx<'a> {
        self.op = Some(op);
        self
    }

    /// Evaluates a condition. Boolean nodes are answered here without
    /// building a `Value`; the rest go through [`Ctx::eval`].
    pub fn eval_bool<T: Tracer>(
        &self,
        id: NodeId,
        item: Item<'a>,
        t: &mut T,
    ) -> Result<bool, EvalError> {
        match self.program.node(id) {
            Some(Node::And(a, b)) => {
                Ok(self.eval_bool(*a, item, t)? && self.eval_bool(*b, item, t)?)
            }
            Some(Node::Or(a, b)) => {
                Ok(self.eval_bool(*a, item, t)? || self.eval_bool(*b, item, t)?)
            }
            Some(Node::Not(a)) => Ok(!self.eval_bool(*a, item, t)?),
            Some(Node::CmpTotal { op, total, micros }) => {
                self.compare_total(*op, *total, *micros, t)
            }
            Some(Node::CmpNum { op, a, b }) => self.compare_numbers(*op, *a, *b, item, t),
            Some(Node::EnumTest {
                slot,
                default,
                mask,
            }) => self.enum_test(*slot, *default, *mask, t),
            _ => self.eval_bool_other(id, item, t),
        }
    }

    /// The rarer boolean nodes, kept out of [`Ctx::eval_bool`] so that its
    /// frame stays small: it runs for every condition and sub-condition.
    #[inline(never)]
    fn eval_bool_other<T: Tracer>(
        &self,
        id: NodeId,
        item: Item<'a>,
        t: &mut T,
    ) -> Result<bool, EvalError> {
        match self.program.node(id) {
            Some(Node::Const(Const::Bool(b))) => Ok(*b),
            Some(Node::Field { slot, default }) => {
                let v = match (self.account.fields.get(slot.index()), default) {
                    (Some(FieldValue::Bool(b)), _) => *b,
                    (Some(FieldValue::Absent), Some(Const::Bool(b))) => *b,
                    _ => return self.eval(id, item, t)?.as_bool().map_err(EvalError::from),
                };
                t.read(ReadKey::Field(*slot), Value::Bool(v));
                Ok(v)
            }
            Some(Node::Let { index, root }) => {
                t.nest(true);
                let v = self.eval_bool(*root, item, t);
                t.nest(false);
                let v = v?;
                t.read(ReadKey::Let(*index), Value::Bool(v));
                Ok(v)
            }
            _ => self.eval(id, item, t)?.as_bool().map_err(EvalError::from),
        }
    }

    /// `total op constant`, both in millionths: one integer comparison.
    #[inline]
    fn compare_total<T: Tracer>(
        &self,
        op: BinaryOp,
        total: Total,
        constant: i64,
        t: &mut T,
    ) -> Result<bool, EvalError> {
        let x = match total {
            Total::Usable => self.totals.usable,
            Total::Locked => self.totals.locked,
            Total::Expired => self.totals.expired,
            Total::Debt => self.totals.debt,
            Total::DebtOf(k) => self.debt_of(usize::from(k))?,
            Total::Settleable => self.settleable_micros()?,
        };
        if T::RECORDS {
            t.read(
                ReadKey::Builtin(total.builtin()),
                Value::Decimal(from_micros(x)?),
            );
        }
        Ok(holds(op, x.cmp(&i128::from(constant))))
    }

    #[inline]
    fn compare_numbers<T: Tracer>(
        &self,
        op: BinaryOp,
        a: NumOperand,
        b: NumOperand,
        item: Item<'a>,
        t: &mut T,
    ) -> Result<bool, EvalError> {
        let (x, y) = (self.number(a, item, t)?, self.number(b, item, t)?);
        Ok(holds(op, compare(&x, &y)))
    }

    #[inline]
    fn enum_test<T: Tracer>(
        &self,
        slot: FieldId,
        default: Option<u32>,
        mask: u64,
        t: &mut T,
    ) -> Result<bool, EvalError> {
        let v = match self.account.fields.get(slot.index()) {
            Some(FieldValue::Enum(v)) => *v,
            Some(FieldValue::Absent) => default.ok_or(Inconsistency::EnumField)?,
            _ => return Err(Inconsistency::EnumField.into()),
        };
        // INVARIANT: only enums of at most 64 values are fused into a mask.
        if v >= 64 {
            return Err(Inconsistency::EnumField.into());
        }
        t.read(ReadKey::Field(slot), Value::Enum(v));
        Ok(mask >> v & 1 == 1)
    }

    /// Expired when it has an expiry and `now` has reached it; otherwise
    /// locked when a lock on its kind holds.
    pub fn standing(&self, g: &Grant) -> Standing {
        if g.expires_at.is_some_and(|e| self.account.now >= e) {
            Standing::Expired
        } else if self.locked_kinds & kind_bit(g.kind) != 0 {
            Standing::Locked
        } else {
            Standing::Usable
        }
    }

    /// Whether a locked grant of `kind` may settle debt kind `debt_kind`.
    pub fn locked_may_settle(&self, kind: u32, debt_kind: u32) -> bool {
        // INVARIANT: compiling refuses more than MAX_LOCKS (64).
        self.program.locks.iter().enumerate().any(|(i, l)| {
            i < MAX_LOCKS
                && self.locks_active & (1 << i) != 0
                && l.kinds & kind_bit(kind) != 0
                && l.may_settle & kind_bit(debt_kind) != 0
        })
    }

    pub fn settleable(&self) -> Result<Decimal, EvalError> {
        if let Some(s) = self.settleable.get() {
            return Ok(s);
        }
        // The common case: nothing locked, and every debt may take from one
        // pool holding every usable credit.
        let s = if self.locks_active == 0 && self.program.simple_settlement {
            if compare(&self.balance.debt, &self.balance.usable).is_le() {
                self.balance.debt
            } else {
                self.balance.usable
            }
        } else {
            self.compute_settleable()?
        };
        self.settleable.set(Some(s));
        Ok(s)
    }

    /// How much debt `settle` would pay now, without building the
    /// settlement. When both orders take kinds first (ascending) and no debt kind is
    /// restricted to some credit kinds, debt kinds in precedence order draw
    /// on pooled capacities (all usable credits; locked credits per kind, in
    /// spend order): totals do not depend on which grant within a pool
    /// pays, so this agrees with `settle` while allocating nothing. Other
    /// policies run the settlement itself on copies of the amounts.
    fn compute_settleable(&self) -> Result<Decimal, EvalError> {
        if !self.program.pooled_settlement {
            return self.simulate_settlement();
        }
        let p = self.program;
        let mut usable = Decimal::ZERO;
        let mut locked = [Decimal::ZERO; MAX_KINDS];
        let missing = || EvalError::Internal(Inconsistency::KindIndex);
        for g in &self.account.grants {
            let rank = p.spend_rank.get(g.kind as usize).ok_or_else(missing)?;
            if rank.is_none() {
                continue; // never spent, so never settles either
            }
            match self.standing(g) {
                Standing::Usable => {
                    usable = usable.checked_add(g.remaining).ok_or(EvalError::Overflow)?
                }
                Standing::Locked => {
                    let slot = locked.get_mut(g.kind as usize).ok_or_else(missing)?;
                    *slot = slot.checked_add(g.remaining).ok_or(EvalError::Overflow)?;
                }
                Standing::Expired => {}
            }
        }
        // Within a debt kind every debt draws on the same sources in the same
        // order, so only the kind's total matters, not the debts' order.
        let mut owed_by_kind = [Decimal::ZERO; MAX_KINDS];
        for d in &self.account.debts {
            let slot = owed_by_kind.get_mut(d.kind as usize).ok_or_else(missing)?;
            *slot = slot.checked_add(d.amount).ok_or(EvalError::Overflow)?;
        }
        let mut paid = Decimal::ZERO;
        for &kind in &p.settle_kinds {
            let kind = kind as usize;
            let total = *owed_by_kind.get(kind).ok_or_else(missing)?;
            let mut owed = total;
            let sources = p.settle_sources.get(kind).ok_or_else(missing)?;
            for source in sources {
                match source {
                    SourceKind::Usable => {
                        let take = owed.min(usable);
                        usable -= take;
                        owed -= take;
                    }
                    SourceKind::Locked => {
                        for &k in &p.spend_kinds {
                            if !self.locked_may_settle(k, kind as u32) {
                                continue;
                            }
                            let cap = locked.get_mut(k as usize).ok_or_else(missing)?;
                            let take = owed.min(*cap);
                            *cap -= take;
                            owed -= take;
                        }
                    }
                }
            }
            paid = paid.checked_add(total - owed).ok_or(EvalError::Overflow)?;
        }
        Ok(paid)
    }

    /// The settlement itself, run on copies of the amounts (the one
    /// algorithm, so the two cannot disagree).
    fn simulate_settlement(&self) -> Result<Decimal, EvalError> {
        let mut remaining: Vec<Decimal> = self.account.grants.iter().map(|g| g.remaining).collect();
        let mut owed: Vec<Decimal> = self.account.debts.iter().map(|d| d.amount).collect();
        let mut paid = Decimal::ZERO;
        let mut overflow = false;
        crate::ledger::settle_core(
            self.program,
            self,
            &mut remaining,
            &mut owed,
            |_, _, amount| match paid.checked_add(amount) {
                Some(sum) => paid = sum,
                None => overflow = true,
            },
        );
        if overflow {
            return Err(EvalError::Overflow);
        }
        Ok(paid)
    }

    // ───────────── Expressions ─────────────

    /// Evaluates a node. Recursion is bounded by compiling: no node is
    /// more than `MAX_EVAL_DEPTH` levels above the leaves it reads.
    pub fn eval<T: Tracer>(
        &self,
        id: NodeId,
        item: Item<'a>,
        t: &mut T,
    ) -> Result<Value<'a>, EvalError> {
        let p: &'a Program = self.program;
        let node = p
            .node(id)
            .ok_or(EvalError::Internal(Inconsistency::NodeId))?;
        Ok(match node {
            Node::Const(c) => c.value(),
            Node::Field { slot, default } => {
                let v = match self.account.fields.get(slot.index()) {
                    Some(FieldValue::Absent) => {
                        default.as_ref().map_or(Value::Absent, |d| d.value())
                    }
                    None => return Err(Inconsistency::FieldSlot.into()),
                    Some(FieldValue::Bool(b)) => Value::Bool(*b),
                    Some(FieldValue::Decimal(d)) => Value::Decimal(*d),
                    Some(FieldValue::Time(x)) => Value::Time(*x),
                    Some(FieldValue::Duration(s)) => Value::Duration(*s),
                    Some(FieldValue::Text(s)) => Value::Text(s),
                    Some(FieldValue::Enum(i)) => Value::Enum(*i),
                };
                t.read(ReadKey::Field(*slot), v);
                v
            }
            Node::Let { index, root } => {
                t.nest(true);
                let v = self.eval(*root, item, t);
                t.nest(false);
                let v = v?;
                t.read(ReadKey::Let(*index), v);
                v
            }
            Node::Builtin(b) => {
                let v = self.builtin(*b)?;
                t.read(ReadKey::Builtin(*b), v);
                v
            }
            Node::Item(f) => self.item_field(*f, item)?,
            Node::OpGrant(f) => {
                let g = self
                    .op
                    .and_then(|o| o.grant)
                    .ok_or(Inconsistency::NoOperation)?;
                self.item_field(*f, Item::Grant(g))?
            }
            Node::Before(a) => {
                let before = self
                    .op
                    .and_then(|o| o.before)
                    .ok_or(Inconsistency::NoOperation)?;
                if T::RECORDS {
                    before.eval(*a, item, &mut PriorTracer { inner: t })?
                } else {
                    before.eval(*a, item, &mut NoTrace)?
                }
            }
            Node::Not(a) => self.eval(*a, item, t)?.negate()?,
            Node::Neg(a) => self.eval(*a, item, t)?.minus()?,
            Node::And(a, b) => Value::Bool(
                self.eval(*a, item, t)?.as_bool()? && self.eval(*b, item, t)?.as_bool()?,
            ),
            Node::Or(a, b) => Value::Bool(
                self.eval(*a, item, t)?.as_bool()? || self.eval(*b, item, t)?.as_bool()?,
            ),
            Node::Default(a, b) => match self.eval(*a, item, t)? {
                Value::Absent => self.eval(*b, item, t)?,
                v => v,
            },
            Node::Binary(op, a, b) => {
                Value::binary(*op, self.eval(*a, item, t)?, self.eval(*b, item, t)?)?
            }
            Node::In {
                value,
                items,
                negated,
            } => {
                let v = self.eval(*value, item, t)?;
                let items = p.list(*items).ok_or(Inconsistency::ListRange)?;
                let mut hit = false;
                for &i in items {
                    if self.eval(i, item, t)? == v {
                        hit = true;
                        break;
                    }
                }
                Value::Bool(hit != *negated)
            }
            Node::InCategory {
                value,
                category,
                negated,
            } => {
                let Value::Enum(action) = self.eval(*value, item, t)? else {
                    return Err(EvalError::Internal(Inconsistency::ActionValue));
                };
                let in_category = ActionId::from_value(action)
                    .and_then(|a| p.action(a))
                    .ok_or(Inconsistency::ActionValue)?
                    .category
                    == *category;
                Value::Bool(in_category != *negated)
            }
            Node::Aggregate { op, of, filter } => self.aggregate(*op, *of, *filter, t)?,
            Node::CmpNum { op, a, b } => Value::Bool(self.compare_numbers(*op, *a, *b, item, t)?),
            Node::CmpTotal { op, total, micros } => {
                Value::Bool(self.compare_total(*op, *total, *micros, t)?)
            }
            Node::EnumTest {
                slot,
                default,
                mask,
            } => Value::Bool(self.enum_test(*slot, *default, *mask, t)?),
        })
    }

    /// An operand of a fused comparison.
    #[inline(always)]
    fn number<T: Tracer>(
        &self,
        operand: NumOperand,
        item: Item<'a>,
        t: &mut T,
    ) -> Result<Decimal, EvalError> {
        Ok(match operand {
            NumOperand::Const(d) => d,
            NumOperand::Builtin(b) => {
                let d = match b {
                    Builtin::Usable => self.balance.usable,
                    Builtin::Locked => self.balance.locked,
                    Builtin::Expired => self.balance.expired,
                    Builtin::Debt => self.balance.debt,
                    _ => self.builtin(b)?.as_decimal()?,
                };
                t.read(ReadKey::Builtin(b), Value::Decimal(d));
                d
            }
            NumOperand::Field { slot, default } => {
                let d = match self.account.fields.get(slot.index()) {
                    Some(FieldValue::Decimal(d)) => *d,
                    Some(FieldValue::Absent) => default.ok_or(Inconsistency::DecimalField)?,
                    _ => return Err(Inconsistency::DecimalField.into()),
                };
                t.read(ReadKey::Field(slot), Value::Decimal(d));
                d
            }
            NumOperand::Node(id) => self.eval(id, item, t)?.as_decimal()?,
        })
    }

    /// [`Ctx::settleable`] in millionths. This and [`Ctx::debt_of`], the
    /// totals a context does not keep ready, are out of line so that
    /// [`Ctx::compare_total`] stays small enough to inline.
    #[inline(never)]
    fn settleable_micros(&self) -> Result<i128, EvalError> {
        micros(self.settleable()?)
    }

    /// The debt of kind `k`, in millionths.
    #[inline(never)]
    fn debt_of(&self, k: usize) -> Result<i128, EvalError> {
        let mut sum = 0i128;
        for d in self.account.debts.iter().filter(|d| d.kind as usize == k) {
            sum = sum
                .checked_add(micros(d.amount)?)
                .ok_or(EvalError::Overflow)?;
        }
        Ok(sum)
    }

    fn builtin(&self, b: Builtin) -> Result<Value<'a>, EvalError> {
        let account: &'a Account = self.account;
        Ok(match b {
            Builtin::Now => Value::Time(account.now),
            Builtin::Account => Value::Text(account.id.as_deref().unwrap_or("")),
            Builtin::Usable => Value::Decimal(self.balance.usable),
            Builtin::Locked => Value::Decimal(self.balance.locked),
            Builtin::Expired => Value::Decimal(self.balance.expired),
            Builtin::Debt => Value::Decimal(self.balance.debt),
            Builtin::DebtOf(k) => Value::Decimal(from_micros(self.debt_of(k)?)?),
            Builtin::Settleable => Value::Decimal(self.settleable()?),
            Builtin::Role => Value::Enum(self.request.ok_or(Inconsistency::NoRequest)?.0.value()),
            Builtin::Action => Value::Enum(self.request.ok_or(Inconsistency::NoRequest)?.1.value()),
            Builtin::ChargeAmount => Value::Decimal(
                self.op
                    .and_then(|o| o.charge_amount)
                    .ok_or(Inconsistency::NoOperation)?,
            ),
            Builtin::ChargeShortfall => Value::Decimal(
                self.op
                    .and_then(|o| o.charge_shortfall)
                    .ok_or(Inconsistency::NoOperation)?,
            ),
            Builtin::RefundDispute => Value::Bool(
                self.op
                    .and_then(|o| o.refund_dispute)
                    .ok_or(Inconsistency::NoOperation)?,
            ),
        })
    }

    fn item_field(&self, f: ItemField, item: Item<'a>) -> Result<Value<'a>, EvalError> {
        Ok(match (item, f) {
            (Item::Grant(g), ItemField::Id) => Value::Text(&g.id),
            (Item::Grant(g), ItemField::Kind) => Value::Enum(g.kind),
            (Item::Grant(g), ItemField::Amount) => Value::Decimal(g.amount),
            (Item::Grant(g), ItemField::Remaining) => Value::Decimal(g.remaining),
            (Item::Grant(g), ItemField::GrantedAt) => Value::Time(g.granted_at),
            (Item::Grant(g), ItemField::ExpiresAt) => {
                g.expires_at.map_or(Value::Absent, Value::Time)
            }
            (Item::Grant(g), ItemField::Status) => Value::Enum(self.standing(g) as u32),
            (Item::Grant(g), ItemField::Attr(i)) => match g.attrs.get(i) {
                Some(v) => v.value(),
                // A grant built before the policy declared the attribute.
                None => return Err(EvalError::Internal(Inconsistency::ItemField)),
            },
            (Item::Debt(d), ItemField::Id) => Value::Text(&d.id),
            (Item::Debt(d), ItemField::Kind) => Value::Enum(d.kind),
            (Item::Debt(d), ItemField::Amount) => Value::Decimal(d.amount),
            (Item::Debt(d), ItemField::CreatedAt) => Value::Time(d.created_at),
            _ => return Err(EvalError::Internal(Inconsistency::ItemField)),
        })
    }

    fn aggregate<T: Tracer>(
        &self,
        op: AggregateOp,
        of: Collection,
        filter: Option<NodeId>,
        t: &mut T,
    ) -> Result<Value<'a>, EvalError> {
        let mut total = Decimal::ZERO;
        let mut add = |item: Item<'a>, t: &mut T| -> Result<(), EvalError> {
            if let Some(f) = filter {
                if !self.eval(f, item, t)?.as_bool()? {
                    return Ok(());
                }
            }
            let v = match op {
                AggregateOp::Count => Decimal::ONE,
                AggregateOp::Sum(field) => self.item_field(field, item)?.as_decimal()?,
            };
            total = total.checked_add(v).ok_or(EvalError::Overflow)?;
            Ok(())
        };
        let account: &'a Account = self.account;
        match of {
            Collection::Grants => account
                .grants
                .iter()
                .try_for_each(|g| add(Item::Grant(g), t))?,
            Collection::Debts => account
                .debts
                .iter()
                .try_for_each(|d| add(Item::Debt(d), t))?,
        }
        Ok(Value::Decimal(total))
    }
}

/// An amount in integer millionths; one with more than six decimals (which
/// a validated snapshot never has) is rounded to six.
#[inline]
fn micros(d: Decimal) -> Result<i128, EvalError> {
    if let Some(m) = crate::amount::micros(d) {
        return Ok(m);
    }
    let mut x = d;
    x.rescale(crate::amount::MAX_SCALE);
    if x.scale() == crate::amount::MAX_SCALE {
        Ok(x.mantissa())
    } else {
        Err(EvalError::Overflow)
    }
}

fn from_micros(m: i128) -> Result<Decimal, EvalError> {
    Decimal::try_from_i128_with_scale(m, crate::amount::MAX_SCALE).map_err(|_| EvalError::Overflow)
}

/// Orders two decimals; amounts share one scale, so this is usually a
/// comparison of their integer mantissas.
#[inline]
pub fn compare(a: &Decimal, b: &Decimal) -> std::cmp::Ordering {
    if a.scale() == b.scale() {
        a.mantissa().cmp(&b.mantissa())
    } else {
        a.cmp(b)
    }
}

/// Whether `op` holds between two values ordered `o`.
#[inline]
fn holds(op: BinaryOp, o: std::cmp::Ordering) -> bool {
    match op {
        BinaryOp::Eq => o.is_eq(),
        BinaryOp::Ne => o.is_ne(),
        BinaryOp::Lt => o.is_lt(),
        BinaryOp::Le => o.is_le(),
        BinaryOp::Gt => o.is_gt(),
        _ => o.is_ge(),
    }
}

pub fn kind_bit(kind: u32) -> u32 {
    if (kind as usize) < MAX_KINDS {
        1 << kind
    } else {
        0
    }
}

/// The canonical text of a value of type `ty`, for messages, traces and
/// JSON; an enum value the program does not name is an internal error.
pub fn format_value(program: &Program, ty: Base, value: Value<'_>) -> Result<String, EvalError> {
    Ok(match value {
        Value::Absent => "absent".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Decimal(d) => crate::amount::format(d),
        Value::Time(t) => t.to_string(),
        Value::Duration(s) => format_duration(s),
        Value::Months(m) => format_months(m),
        Value::Text(s) => s.to_owned(),
        Value::Enum(i) => match ty {
            Base::Enum(e) => program
                .enum_value(e, i)
                .ok_or(Inconsistency::EnumValue)?
                .to_owned(),
            _ => i.to_string(),
        },
    })
}

/// `7d`, `12h`, `90m`, `45s`: the largest unit that divides it.
pub fn format_duration(seconds: i64) -> String {
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if seconds != 0 && seconds % size == 0 {
            return format!("{}{unit}", seconds / size);
        }
    }
    format!("{seconds}s")
}

/// Calendar months as a policy writes them: `1y`, `18mo`.
pub fn format_months(months: i64) -> String {
    if months != 0 && months % 12 == 0 {
        format!("{}y", months / 12)
    } else {
        format!("{months}mo")
    }
}

/// The type of a read, for formatting it.
pub fn read_type(program: &Program, key: ReadKey) -> Result<Base, EvalError> {
    Ok(match key {
        ReadKey::Before(Prior::Field(f)) => return read_type(program, ReadKey::Field(f)),
        ReadKey::Before(Prior::Builtin(b)) => return read_type(program, ReadKey::Builtin(b)),
        ReadKey::Before(Prior::Let(l)) => return read_type(program, ReadKey::Let(l)),
        ReadKey::Field(slot) => program.field(slot).ok_or(Inconsistency::FieldSlot)?.ty,
        ReadKey::Let(i) => program.let_(i).ok_or(Inconsistency::LetId)?.ty,
        ReadKey::Builtin(b) => match b {
            Builtin::RefundDispute => Base::Bool,
            Builtin::Now => Base::Time,
            Builtin::Account => Base::Text,
            Builtin::Role => Base::Enum(EnumRef::Role),
            Builtin::Action => Base::Enum(EnumRef::Action),
            _ => Base::Decimal,
        },
    })
}

/// The name of a read, as the policy writes it.
pub fn read_name(program: &Program, key: ReadKey) -> Result<String, EvalError> {
    Ok(match key {
        ReadKey::Before(prior) => {
            let now = match prior {
                Prior::Field(f) => ReadKey::Field(f),
                Prior::Builtin(b) => ReadKey::Builtin(b),
                Prior::Let(l) => ReadKey::Let(l),
            };
            format!("before.{}", read_name(program, now)?)
        }
        ReadKey::Field(slot) => program
            .field(slot)
            .ok_or(Inconsistency::FieldSlot)?
            .dotted(),
        ReadKey::Let(i) => program.let_(i).ok_or(Inconsistency::LetId)?.name.clone(),
        ReadKey::Builtin(b) => match b {
            Builtin::Now => "now".to_owned(),
            Builtin::Account => "account".to_owned(),
            Builtin::Usable => "usable".to_owned(),
            Builtin::Locked => "locked".to_owned(),
            Builtin::Expired => "expired".to_owned(),
            Builtin::Debt => "debt".to_owned(),
            Builtin::DebtOf(k) => format!(
                "debt.{}",
                program.debt_kinds.get(k).ok_or(Inconsistency::KindIndex)?
            ),
            Builtin::Settleable => "settleable".to_owned(),
            Builtin::Role => "role".to_owned(),
            Builtin::Action => "action".to_owned(),
            Builtin::ChargeAmount => "charge.amount".to_owned(),
            Builtin::ChargeShortfall => "charge.shortfall".to_owned(),
            Builtin::RefundDispute => "refund.dispute".to_owned(),
        },
    })
}
