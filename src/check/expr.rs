//! Resolving and typing expressions and message templates.

use super::errors::{MAX_LISTED_NAMES, list_some_words, list_words};
use super::ir::*;
use super::{Checker, errors};
use crate::ast::{self, BinaryOp, Collection, ExprKind, InSet, Segments, UnaryOp};
use crate::diagnostic::{Code, Diagnostic};
use crate::span::Span;
use crate::value::Value;

/// Longest left side of `??`, in bytes of source, whose grouping the help
/// of [`Checker::explain_loose_default`] shows. The slip is a short
/// expression (`now - since ?? now`); this bounds the work of writing the
/// help, and a long expression would not fit it.
const MAX_LOOSE_DEFAULT_TEXT: usize = 160;

/// Where an expression is written, which decides what it may read.
#[derive(Clone, Copy, Debug)]
pub(super) struct Scope {
    /// Inside an `on` block or a step: `role` and `action` are known.
    pub request: bool,
    /// Inside `where`: the grant or debt being looked at.
    pub item: Option<Collection>,
    /// Only `let`s defined before this index may be read (`None`: all).
    pub lets_before: Option<usize>,
    /// In the rules of `on charge` and the like, and in `shortfall`
    /// conditions: the operation's parameters are known.
    pub operation: Option<Operation>,
    /// Whether `before.` reads the account before the operation (in the
    /// rules of a ledger operation, which see the account after it).
    pub before: bool,
}

impl Scope {
    pub const ACCOUNT: Scope = Scope {
        request: false,
        item: None,
        lets_before: None,
        operation: None,
        before: false,
    };
    pub const REQUEST: Scope = Scope {
        request: true,
        ..Scope::ACCOUNT
    };

    /// A ledger operation's rules (`before`: they may read `before.`) or
    /// its `shortfall` conditions.
    pub fn operation(operation: Operation, before: bool) -> Scope {
        Scope {
            operation: Some(operation),
            before,
            ..Scope::ACCOUNT
        }
    }
}

/// Deepest an expression may nest counting through the `let`s it reads:
/// reading a `let` is one level plus the depth of the let's own
/// expression. The evaluator (`src/decide/eval.rs`) and the checker's
/// constant folding recurse through lets, so this bounds their recursion;
/// tests/robustness.rs decides the deepest chain allowed on a 1 MiB stack.
/// Twice [`crate::parse::MAX_EXPR_DEPTH`], so any one expression fits, and a
/// chain of 60 `let`s each adding an operator to the one before fits too;
/// real policies chain 3 or 4.
pub const MAX_EVAL_DEPTH: usize = 2 * crate::parse::MAX_EXPR_DEPTH;

/// What an expression depends on, to refuse reads that make no sense where
/// it is written (a lock condition that reads the balance it decides), and
/// how deeply evaluating it recurses and how much work it does (see
/// `src/check/cost.rs`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Deps {
    pub request: bool,
    pub balance: bool,
    pub snapshot: bool,
    /// Levels below this node, counting through the `let`s read (see
    /// [`MAX_EVAL_DEPTH`]); `expr` adds one per node.
    pub depth: usize,
    /// Nodes evaluating it visits, counting each read of a `let` as the
    /// let's own count (see [`super::cost::MAX_EVAL_NODES`]); `expr` adds
    /// one per node.
    pub nodes: usize,
    /// Aggregates evaluating it walks, counting through the `let`s read.
    pub walks: usize,
    /// Nodes it evaluates for each grant or debt: 1 per aggregate walked
    /// plus the nodes of its `where` filter (see
    /// [`super::cost::MAX_AGGREGATE_WORK`]).
    pub item_nodes: usize,
}

impl Deps {
    fn or(self, other: Deps) -> Deps {
        Deps {
            request: self.request || other.request,
            balance: self.balance || other.balance,
            snapshot: self.snapshot || other.snapshot,
            depth: self.depth.max(other.depth),
            nodes: self.nodes.saturating_add(other.nodes),
            walks: self.walks.saturating_add(other.walks),
            item_nodes: self.item_nodes.saturating_add(other.item_nodes),
        }
    }

    pub fn is_constant(self) -> bool {
        !(self.request || self.balance || self.snapshot)
    }
}

const GRANT_FIELDS: &[(&str, ItemField)] = &[
    ("id", ItemField::Id),
    ("kind", ItemField::Kind),
    ("amount", ItemField::Amount),
    ("remaining", ItemField::Remaining),
    ("granted_at", ItemField::GrantedAt),
    ("expires_at", ItemField::ExpiresAt),
    ("status", ItemField::Status),
];

const DEBT_FIELDS: &[(&str, ItemField)] = &[
    ("id", ItemField::Id),
    ("kind", ItemField::Kind),
    ("amount", ItemField::Amount),
    ("created_at", ItemField::CreatedAt),
];

/// Built-in names, always in scope (`role` and `action` only for requests).
pub(super) const BUILTINS: &[(&str, Builtin)] = &[
    ("now", Builtin::Now),
    ("account", Builtin::Account),
    ("usable", Builtin::Usable),
    ("locked", Builtin::Locked),
    ("expired", Builtin::Expired),
    ("debt", Builtin::Debt),
    ("settleable", Builtin::Settleable),
    ("role", Builtin::Role),
    ("action", Builtin::Action),
];

pub(super) fn item_fields(of: Collection) -> &'static [(&'static str, ItemField)] {
    match of {
        Collection::Grants => GRANT_FIELDS,
        Collection::Debts => DEBT_FIELDS,
    }
}

fn item_field_type(field: ItemField, of: Collection) -> Type {
    let base = match field {
        ItemField::Id => Base::Text,
        ItemField::Kind if of == Collection::Grants => Base::Enum(EnumRef::CreditKind),
        ItemField::Kind => Base::Enum(EnumRef::DebtKind),
        ItemField::Amount | ItemField::Remaining => Base::Decimal,
        ItemField::GrantedAt | ItemField::ExpiresAt | ItemField::CreatedAt => Base::Time,
        ItemField::Status => Base::Enum(EnumRef::GrantStatus),
        // Attributes are typed by the checker, which knows them.
        ItemField::Attr(_) => Base::Text,
    };
    Type {
        base,
        optional: field == ItemField::ExpiresAt,
    }
}

fn builtin_type(builtin: Builtin) -> Base {
    match builtin {
        Builtin::Now => Base::Time,
        Builtin::Account => Base::Text,
        Builtin::Role => Base::Enum(EnumRef::Role),
        Builtin::Action => Base::Enum(EnumRef::Action),
        _ => Base::Decimal,
    }
}

impl Checker<'_> {
    /// Words for a type, as messages use them.
    pub(super) fn type_name(&self, ty: Type) -> String {
        let base = match ty.base {
            Base::Bool => "a true/false value".to_owned(),
            Base::Decimal => "a number".to_owned(),
            Base::Time => "a timestamp".to_owned(),
            Base::Duration => "a duration".to_owned(),
            Base::Months => "a calendar duration (months or years)".to_owned(),
            Base::Text => "text".to_owned(),
            Base::Enum(e) => match e {
                EnumRef::User(i) => format!(
                    "a `{}`",
                    self.out
                        .enums
                        .get(i.index())
                        .map_or("?", |e| e.name.as_str())
                ),
                EnumRef::CreditKind => "a credit kind".to_owned(),
                EnumRef::DebtKind => "a debt kind".to_owned(),
                EnumRef::GrantStatus => "a grant status".to_owned(),
                EnumRef::Role => "a role".to_owned(),
                EnumRef::Action => "an action".to_owned(),
            },
        };
        if ty.optional {
            format!("{base} that may be absent")
        } else {
            base
        }
    }

    /// A condition: a true/false expression that is never absent.
    pub(super) fn condition(&mut self, e: &ast::Expr, scope: Scope) -> Option<(TExpr, Deps)> {
        let (t, deps) = self.value(e, scope, None)?;
        self.expect_base(&t, Base::Bool, "a condition must be true or false")?;
        Some((t, deps))
    }

    /// An expression used as a value: it must never be absent.
    pub(super) fn value(
        &mut self,
        e: &ast::Expr,
        scope: Scope,
        expect: Option<Base>,
    ) -> Option<(TExpr, Deps)> {
        let (t, deps) = self.expr(e, scope, expect)?;
        self.present(&t)?;
        Some((t, deps))
    }

    /// Refuses an expression that may be absent, saying how to give a default.
    fn present(&mut self, t: &TExpr) -> Option<()> {
        if !t.ty.optional {
            return Some(());
        }
        let what = self.source.slice(t.span).to_owned();
        self.report(
            Diagnostic::new(
                Code::OptionalWithoutDefault,
                t.span,
                format!("`{what}` may be absent from the snapshot"),
            )
            .label("may be absent")
            .help(format!(
                "say what to use when it is absent: `{what} ?? <default>`"
            )),
        );
        None
    }

    fn expect_base(&mut self, t: &TExpr, want: Base, why: &str) -> Option<()> {
        if t.ty.base == want {
            return Some(());
        }
        let got = self.type_name(Type::of(t.ty.base));
        let wanted = self.type_name(Type::of(want));
        let what = self.source.slice(t.span).to_owned();
        self.report(
            Diagnostic::new(
                Code::TypeMismatch,
                t.span,
                format!("expected {wanted}, found {got}"),
            )
            .label(format!("`{what}` is {got}"))
            .help(why.to_owned()),
        );
        None
    }

    /// Types an expression. `expect` lets a bare name resolve as a member of
    /// the enum on the other side of `==` or `in` (`status == active`).
    ///
    /// Refuses an expression that nests deeper than [`MAX_EVAL_DEPTH`]
    /// counting through the lets it reads; within one expression the
    /// lowering's smaller limit applies first, so this fires only where a
    /// let is read, and points at that read. Refuses one past the size and
    /// aggregate limits of `src/check/cost.rs` too, at its first node past.
    pub(super) fn expr(
        &mut self,
        e: &ast::Expr,
        scope: Scope,
        expect: Option<Base>,
    ) -> Option<(TExpr, Deps)> {
        let (t, mut deps) = self.expr_node(e, scope, expect)?;
        deps.depth = deps.depth.saturating_add(1);
        deps.nodes = deps.nodes.saturating_add(1);
        self.within_limits(&t, deps)?;
        Some((t, deps))
    }

    fn expr_node(
        &mut self,
        e: &ast::Expr,
        scope: Scope,
        expect: Option<Base>,
    ) -> Option<(TExpr, Deps)> {
        let span = e.span;
        let typed = |kind, base: Base| TExpr {
            kind,
            ty: Type::of(base),
            span,
        };
        match &e.kind {
            ExprKind::Invalid => None,
            ExprKind::Number(n) => Some((
                typed(TExprKind::Literal(Literal::Decimal(*n)), Base::Decimal),
                Deps::default(),
            )),
            ExprKind::Duration(s) => Some((
                typed(TExprKind::Literal(Literal::Duration(*s)), Base::Duration),
                Deps::default(),
            )),
            ExprKind::Months(m) => Some((
                typed(TExprKind::Literal(Literal::Months(*m)), Base::Months),
                Deps::default(),
            )),
            ExprKind::Text(s) => Some((
                typed(TExprKind::Literal(Literal::Text(s.to_string())), Base::Text),
                Deps::default(),
            )),
            ExprKind::Bool(b) => Some((
                typed(TExprKind::Literal(Literal::Bool(*b)), Base::Bool),
                Deps::default(),
            )),
            ExprKind::Name(_) | ExprKind::Path(_) => {
                e.with_path(|path| self.path(path, scope, expect)).flatten()
            }
            ExprKind::Unary(op, inner) => {
                let (t, deps) = self.value(inner, scope, None)?;
                let base = match op {
                    UnaryOp::Not => {
                        self.expect_base(&t, Base::Bool, "`not` applies to true/false values")?;
                        Base::Bool
                    }
                    UnaryOp::Neg => {
                        if !matches!(t.ty.base, Base::Decimal | Base::Duration | Base::Months) {
                            self.expect_base(
                                &t,
                                Base::Decimal,
                                "`-` applies to numbers and durations",
                            )?;
                        }
                        t.ty.base
                    }
                };
                Some((typed(TExprKind::Unary(*op, Box::new(t)), base), deps))
            }
            ExprKind::Binary(op, ab) => {
                let [a, b] = &**ab;
                self.binary(*op, a, b, span, scope)
            }
            ExprKind::In {
                value,
                set,
                negated,
            } => self.membership(value, set, *negated, span, scope),
            ExprKind::Aggregate { op, of, filter } => {
                self.aggregate(op, *of, filter.as_deref(), span, scope)
            }
        }
    }

    fn binary(
        &mut self,
        op: BinaryOp,
        a: &ast::Expr,
        b: &ast::Expr,
        span: Span,
        scope: Scope,
    ) -> Option<(TExpr, Deps)> {
        let make = |kind, ty: Type| TExpr { kind, ty, span };
        match op {
            BinaryOp::And | BinaryOp::Or => {
                let l = self.condition(a, scope);
                let r = self.condition(b, scope);
                let ((l, ld), (r, rd)) = (l?, r?);
                Some((
                    make(
                        TExprKind::Binary(op, Box::new(l), Box::new(r)),
                        Type::of(Base::Bool),
                    ),
                    ld.or(rd),
                ))
            }
            BinaryOp::Default => {
                let before = self.diags.len();
                let Some((l, ld)) = self.expr(a, scope, None) else {
                    self.explain_loose_default(a, b, before);
                    return None;
                };
                if !l.ty.optional {
                    let what = self.source.slice(l.span).to_owned();
                    self.report(
                        Diagnostic::new(
                            Code::Unreachable,
                            span,
                            format!("`{what}` is never absent, so its default is never used"),
                        )
                        .label("this default is never used")
                        .help("remove the `??` and its default"),
                    );
                }
                let (r, rd) = self.value(b, scope, Some(l.ty.base))?;
                let before = self.diags.len();
                if self
                    .same_type(
                        &l,
                        &r,
                        "a default must have the type of the value it stands in for",
                    )
                    .is_none()
                {
                    self.explain_loose_default(a, b, before);
                    return None;
                }
                let ty = Type::of(l.ty.base);
                Some((
                    make(TExprKind::Binary(op, Box::new(l), Box::new(r)), ty),
                    ld.or(rd),
                ))
            }
            BinaryOp::Eq | BinaryOp::Ne => {
                // Type the side that is not a bare name first, so the bare
                // name can be read as a member of the other side's enum.
                let ((l, ld), (r, rd)) = if is_bare_name(a) && !is_bare_name(b) {
                    let r = self.value(b, scope, None)?;
                    let l = self.value(a, scope, Some(r.0.ty.base))?;
                    (l, r)
                } else {
                    let l = self.value(a, scope, None)?;
                    let r = self.value(b, scope, Some(l.0.ty.base))?;
                    (l, r)
                };
                self.same_type(&l, &r, "only values of the same type can be compared")?;
                Some((
                    make(
                        TExprKind::Binary(op, Box::new(l), Box::new(r)),
                        Type::of(Base::Bool),
                    ),
                    ld.or(rd),
                ))
            }
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                let l = self.value(a, scope, None);
                let r = self.value(b, scope, None);
                let ((l, ld), (r, rd)) = (l?, r?);
                if !matches!(
                    l.ty.base,
                    Base::Decimal | Base::Time | Base::Duration | Base::Months
                ) {
                    let got = self.type_name(l.ty);
                    self.report(
                        Diagnostic::new(Code::TypeMismatch, l.span, format!("`{}` cannot be ordered: it is {got}", op.symbol()))
                            .label(got)
                            .help("`<`, `<=`, `>` and `>=` compare numbers, timestamps and durations; use `==` or `in` for the rest"),
                    );
                    return None;
                }
                let why = if matches!(
                    (l.ty.base, r.ty.base),
                    (Base::Months, Base::Duration) | (Base::Duration, Base::Months)
                ) {
                    "a month or a year has no fixed number of seconds, so it cannot be compared with days, hours, minutes or seconds; compare timestamps instead (`granted_at + 1mo < now`)"
                } else {
                    "only values of the same type can be compared"
                };
                self.same_type(&l, &r, why)?;
                Some((
                    make(
                        TExprKind::Binary(op, Box::new(l), Box::new(r)),
                        Type::of(Base::Bool),
                    ),
                    ld.or(rd),
                ))
            }
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul => {
                let l = self.value(a, scope, None);
                let r = self.value(b, scope, None);
                let ((l, ld), (r, rd)) = (l?, r?);
                let result = arithmetic_type(op, l.ty.base, r.ty.base);
                let Some(base) = result else {
                    let (lt, rt) = (self.type_name(l.ty), self.type_name(r.ty));
                    self.report(
                        Diagnostic::new(Code::TypeMismatch, span, format!("cannot apply `{}` to {lt} and {rt}", op.symbol()))
                            .label(format!("{lt} {} {rt}", op.symbol()))
                            .help("arithmetic works on numbers; a timestamp plus or minus a duration (or months, years) is a timestamp; two timestamps subtract to a duration"),
                    );
                    return None;
                };
                Some((
                    make(
                        TExprKind::Binary(op, Box::new(l), Box::new(r)),
                        Type::of(base),
                    ),
                    ld.or(rd),
                ))
            }
        }
    }

    /// `now - since ?? now` is `(now - since) ?? now`. When the author did
    /// not write those brackets and the diagnostics from `from` on are about
    /// an operand of the arithmetic (`since` may be absent) or about the
    /// default's type, their help shows the grouping likely meant:
    /// `now - (since ?? now)`.
    fn explain_loose_default(&mut self, a: &ast::Expr, b: &ast::Expr, from: usize) {
        if a.span.len() > MAX_LOOSE_DEFAULT_TEXT || !is_arithmetic(a) || self.bracketed(a, b) {
            return;
        }
        let mut operands = Vec::new();
        arithmetic_operands(a, &mut operands);
        let left = crate::format::expr(a);
        let default = crate::format::expr(b);
        let Some(diags) = self.diags.get_mut(from..) else {
            return;
        };
        for d in diags {
            let operand = match d.code {
                Code::OptionalWithoutDefault => operands.iter().find(|o| o.span == d.span),
                // The default's type is wrong for the whole: it was likely
                // meant for the operand next to it.
                Code::TypeMismatch if d.span == b.span => operands.last(),
                _ => None,
            };
            let Some(&operand) = operand else {
                continue;
            };
            let meant = crate::format::expr(&with_default(a, operand, b));
            *d = super::errors::default_binds_loosely(
                d.clone(),
                &default,
                &left,
                &crate::format::expr(operand),
                &meant,
            );
        }
    }

    /// Whether `a`, the left side of `a ?? b`, was written in brackets: a
    /// bracket opened before `a` closes before the `??`. Spans leave an
    /// operand's own brackets out, so the text tells. A bracket in a string
    /// or comment inside `a` can only make this say yes, which keeps the
    /// usual help.
    fn bracketed(&self, a: &ast::Expr, b: &ast::Expr) -> bool {
        let text = self.source.text();
        let (start, end) = (a.span.start as usize, a.span.end as usize);
        let gap = text.get(end..b.span.start as usize).unwrap_or_default();
        let Some(op) = gap.find("??") else {
            return false;
        };
        let mut depth = 0i64;
        for c in text.get(start..end + op).unwrap_or_default().chars() {
            match c {
                '(' => depth += 1,
                ')' if depth == 0 => return true,
                ')' => depth -= 1,
                _ => {}
            }
        }
        false
    }

    fn same_type(&mut self, l: &TExpr, r: &TExpr, why: &str) -> Option<()> {
        if l.ty.base == r.ty.base {
            return Some(());
        }
        let (lt, rt) = (
            self.type_name(Type::of(l.ty.base)),
            self.type_name(Type::of(r.ty.base)),
        );
        let what = self.source.slice(r.span).to_owned();
        self.report(
            Diagnostic::new(
                Code::TypeMismatch,
                r.span,
                format!("expected {lt}, found {rt}"),
            )
            .label(format!("`{what}` is {rt}"))
            .related(l.span, format!("this is {lt}"))
            .help(why.to_owned()),
        );
        None
    }

    fn membership(
        &mut self,
        value: &ast::Expr,
        set: &InSet,
        negated: bool,
        span: Span,
        scope: Scope,
    ) -> Option<(TExpr, Deps)> {
        let (v, vd) = self.value(value, scope, None)?;
        let bool_ty = Type::of(Base::Bool);
        // A list of names is checked as the list of paths it stands for.
        let written;
        let set = match set {
            InSet::Names(names) => {
                written = InSet::List(names.iter().map(ast::Expr::name).collect());
                &written
            }
            other => other,
        };
        match set {
            InSet::Names(_) => None,
            InSet::List(items) => {
                let mut typed = Vec::with_capacity(items.len());
                let mut deps = vd;
                let mut ok = true;
                for item in items {
                    match self.value(item, scope, Some(v.ty.base)) {
                        Some((t, d)) => {
                            deps = deps.or(d);
                            if self
                                .same_type(
                                    &v,
                                    &t,
                                    "every item of the list must have the type of the value",
                                )
                                .is_none()
                            {
                                ok = false;
                            }
                            typed.push(t);
                        }
                        None => ok = false,
                    }
                }
                if !ok {
                    return None;
                }
                let ty = typed.first().map(|t| t.ty);
                let literals = typed
                    .iter()
                    .all(|t| matches!(t.kind, TExprKind::Literal(_)) && Some(t.ty) == ty);
                let kind = match ty {
                    Some(ty) if literals => TExprKind::InLiterals(Box::new(InLiterals {
                        value: v,
                        ty,
                        items: typed
                            .into_iter()
                            .filter_map(|t| match t.kind {
                                TExprKind::Literal(l) => Some((l, t.span)),
                                _ => None,
                            })
                            .collect(),
                        negated,
                    })),
                    _ => TExprKind::In {
                        value: Box::new(v),
                        set: typed.into_boxed_slice(),
                        negated,
                    },
                };
                Some((
                    TExpr {
                        kind,
                        ty: bool_ty,
                        span,
                    },
                    deps,
                ))
            }
            InSet::Named(path) => {
                let name = path.dotted();
                if v.ty.base != Base::Enum(EnumRef::Action) {
                    let got = self.type_name(v.ty);
                    self.report(
                        Diagnostic::new(Code::TypeMismatch, path.span(), format!("`in {name}` needs a list"))
                            .label("not a list")
                            .related(v.span, format!("this is {got}"))
                            .help(format!("write the values as a list: `in [{name}]`; only `action in <category>` takes a name")),
                    );
                    return None;
                }
                match self.names.categories.get(name.as_str()) {
                    Some(&category) => {
                        self.used.categories.insert(category);
                        Some((
                            TExpr {
                                kind: TExprKind::InCategory {
                                    value: Box::new(v),
                                    category,
                                    negated,
                                },
                                ty: bool_ty,
                                span,
                            },
                            vd,
                        ))
                    }
                    None => {
                        let known = self.out.categories.iter().map(|c| c.name.as_str());
                        let mut d = Diagnostic::new(
                            Code::UnknownName,
                            path.span(),
                            format!("unknown action category `{name}`"),
                        )
                        .label("no category has this name");
                        d = match (
                            self.suggest(&name, known),
                            self.names.actions.contains_key(name.as_str()),
                        ) {
                            (_, true) => d.help(format!(
                                "`{name}` is an action, not a category: write `in [{name}]`"
                            )),
                            (Some(s), _) => d.did_you_mean(s),
                            (None, _) => {
                                d.help("categories are declared with `actions <category>: ...`")
                            }
                        };
                        self.report(d);
                        None
                    }
                }
            }
        }
    }

    fn aggregate(
        &mut self,
        op: &ast::Aggregate,
        of: Collection,
        filter: Option<&ast::Expr>,
        span: Span,
        scope: Scope,
    ) -> Option<(TExpr, Deps)> {
        if scope.item.is_some() {
            self.report(
                Diagnostic::new(Code::TypeMismatch, span, "aggregates cannot be nested")
                    .label("inside another `where`")
                    .help("a `where` filter is evaluated for every grant or debt, so an aggregate inside it would walk them all again for each one; filter on the item's own fields and on values that do not sum or count"),
            );
            return None;
        }
        let mut deps = Deps {
            snapshot: true,
            ..Deps::default()
        };
        let op = match op {
            ast::Aggregate::Count => AggregateOp::Count,
            ast::Aggregate::Sum(field) => {
                let fields = item_fields(of);
                match fields.iter().find(|(n, _)| *n == &*field.name) {
                    Some(&(_, f)) if item_field_type(f, of).base == Base::Decimal => {
                        AggregateOp::Sum(f)
                    }
                    found => {
                        let numeric: Vec<&str> = fields
                            .iter()
                            .filter(|(_, f)| item_field_type(*f, of).base == Base::Decimal)
                            .map(|(n, _)| *n)
                            .collect();
                        let message = if found.is_some() {
                            format!(
                                "`{}` of {} is not a number, so it cannot be summed",
                                field.name,
                                of.keyword()
                            )
                        } else {
                            format!("{} have no field `{}`", of.keyword(), field.name)
                        };
                        let d = Diagnostic::new(Code::UnknownName, field.span, message)
                            .label("not a summable field");
                        let d = match self.suggest(&field.name, numeric.iter().copied()) {
                            Some(s) if found.is_none() => d.did_you_mean(s),
                            _ => {
                                d.help(format!("{} can sum {}", of.keyword(), list_words(&numeric)))
                            }
                        };
                        self.report(d);
                        return None;
                    }
                }
            }
        };
        let filter = match filter {
            Some(f) => {
                let inner = Scope {
                    item: Some(of),
                    ..scope
                };
                let (t, d) = self.condition(f, inner)?;
                deps = deps.or(d);
                Some(Box::new(t))
            }
            None => None,
        };
        // Filters hold no aggregates (nested ones are refused), so this
        // walk is the only one, evaluating the filter for every item.
        deps.walks = deps.walks.saturating_add(1);
        deps.item_nodes = deps.item_nodes.saturating_add(deps.nodes).saturating_add(1);
        Some((
            TExpr {
                kind: TExprKind::Aggregate { op, of, filter },
                ty: Type::of(Base::Decimal),
                span,
            },
            deps,
        ))
    }

    fn path(
        &mut self,
        path: &[ast::Ident],
        scope: Scope,
        expect: Option<Base>,
    ) -> Option<(TExpr, Deps)> {
        let span = path.span();
        let found = |kind, ty: Type, deps: Deps| Some((TExpr { kind, ty, span }, deps));
        let snapshot = Deps {
            snapshot: true,
            ..Deps::default()
        };
        if let Some(resolved) = self.operation_path(path, scope, expect) {
            return resolved;
        }
        if let Some(single) = path.single() {
            let name = &*single.name;
            if let Some(Base::Enum(e)) = expect {
                if let Some(i) = self.enum_value_index(e, name) {
                    self.note_enum_use(e, i);
                    return found(
                        TExprKind::Literal(Literal::Enum(i as u32)),
                        Type::of(Base::Enum(e)),
                        Deps::default(),
                    );
                }
            }
            if let Some(of) = scope.item {
                if let Some(&(_, f)) = item_fields(of).iter().find(|(n, _)| *n == name) {
                    let deps = Deps {
                        balance: f == ItemField::Status,
                        ..snapshot
                    };
                    return found(TExprKind::Item(f), item_field_type(f, of), deps);
                }
                if of == Collection::Grants {
                    if let Some(&i) = self.names.grant_attrs.get(name) {
                        let ty = self.grant_attr_type(i)?;
                        return found(TExprKind::Item(ItemField::Attr(i)), ty, snapshot);
                    }
                }
            }
            if let Some(&(_, b)) = BUILTINS.iter().find(|(n, _)| *n == name) {
                if matches!(b, Builtin::Role | Builtin::Action) && scope.operation.is_some() {
                    self.report(errors::out_of_place(
                        span,
                        format!("`{name}` is not known in a ledger operation's rules"),
                        "ledger operations are not requests: no role or action makes them; decide who may buy or refund with `permit` and an `on` block for the action that leads to the operation",
                    ));
                    return None;
                }
                if matches!(b, Builtin::Role | Builtin::Action) && !scope.request {
                    self.report(
                        Diagnostic::new(Code::UnknownName, span, format!("`{name}` is only known when deciding a request"))
                            .label("no request here")
                            .help("read `role` and `action` in the rules and steps of an `on` block, not in `let`, `state` or `lock`"),
                    );
                    return None;
                }
                let deps = match b {
                    Builtin::Role | Builtin::Action => Deps {
                        request: true,
                        ..Deps::default()
                    },
                    Builtin::Usable | Builtin::Locked | Builtin::Expired | Builtin::Settleable => {
                        Deps {
                            balance: true,
                            ..snapshot
                        }
                    }
                    _ => snapshot,
                };
                return found(TExprKind::Builtin(b), Type::of(builtin_type(b)), deps);
            }
            if let Some(&i) = self.names.lets.get(name) {
                if self.poisoned.contains(name) {
                    self.used.lets.insert(i);
                    return None;
                }
                if let Some(limit) = scope.lets_before {
                    if i >= limit {
                        self.used.lets.insert(i);
                        let at = self.let_spans.get(i).copied().unwrap_or(span);
                        let line = self.source.line_col(at.start).line;
                        self.report(
                            Diagnostic::new(Code::UsedBeforeDefinition, span, format!("`{name}` is used before it is defined"))
                                .label("used here")
                                .related(at, "defined here")
                                .help(format!("a `let` can only read the `let`s above it; move `{name}` above this line (it is on line {line})")),
                        );
                        return None;
                    }
                }
                self.used.lets.insert(i);
                let l = self.out.lets.get(i)?;
                let deps = self.let_deps.get(i).copied().unwrap_or_default();
                if scope.item.is_some() && deps.walks > 0 {
                    self.report(
                        Diagnostic::new(Code::TypeMismatch, span, "aggregates cannot be nested")
                            .label(format!("`{name}` sums or counts, inside a `where`"))
                            .help(format!("a `where` filter is evaluated for every grant or debt, and would walk them all again to compute `{name}` each time; filter on the item's own fields and on values that do not sum or count")),
                    );
                    return None;
                }
                return found(TExprKind::Let(i), l.value.ty, deps);
            }
        }
        let dotted = path.dotted();
        if self.poisoned.contains(&dotted) {
            return None;
        }
        if let Some(&i) = self.names.fields.get(dotted.as_str()) {
            self.used.fields.insert(i);
            let f = self.out.fields.get(i)?;
            let ty = Type {
                base: f.ty,
                optional: f.optional,
            };
            return found(TExprKind::Field(i), ty, snapshot);
        }
        if let [first, kind] = path {
            if &*first.name == "debt" {
                if let Some(&k) = self.names.debt_kinds.get(&*kind.name) {
                    self.used.debt_kinds.insert(k);
                    return found(
                        TExprKind::Builtin(Builtin::DebtOf(k)),
                        Type::of(Base::Decimal),
                        snapshot,
                    );
                }
                let known: Vec<&str> = self
                    .out
                    .debt_kinds
                    .iter()
                    .map(|k| k.name.as_str())
                    .collect();
                let mut d = Diagnostic::new(
                    Code::UnknownName,
                    kind.span,
                    format!("unknown debt kind `{}`", kind.name),
                )
                .label("not a debt kind");
                d = match self.suggest(&kind.name, known.iter().copied()) {
                    Some(s) => d.did_you_mean_as(&format!("debt.{s}"), s),
                    None => d.help(format!("the debt kinds are {}", list_words(&known))),
                };
                self.report(d);
                return None;
            }
        }
        self.unknown_path(path, scope, expect);
        None
    }

    /// A grant attribute's type as read: absent only when it is optional
    /// and has no default.
    fn grant_attr_type(&self, i: usize) -> Option<Type> {
        let a = self.out.grant_attrs.get(i)?;
        Some(Type {
            base: a.ty,
            optional: a.optional && a.default.is_none(),
        })
    }

    /// The names a ledger operation's rules add: `before.<path>`,
    /// `charge.amount`, `grant.<field>`. `None` when the path is none of
    /// them, or is a declared field of the same name outside an operation.
    fn operation_path(
        &mut self,
        path: &[ast::Ident],
        scope: Scope,
        expect: Option<Base>,
    ) -> Option<Option<(TExpr, Deps)>> {
        let [first, rest @ ..] = path else {
            return None;
        };
        if rest.is_empty() || !["before", "charge", "grant", "refund"].contains(&&*first.name) {
            return None;
        }
        if scope.operation.is_none() && self.names.fields.contains_key(&path.dotted()) {
            return None;
        }
        let span = path.span();
        let snapshot = Deps {
            snapshot: true,
            ..Deps::default()
        };
        let where_ = "in the rules of `on charge`, `on settle`, `on grant` and `on refund`";
        match &*first.name {
            "before" => {
                if !scope.before {
                    self.report(errors::out_of_place(
                        span,
                        "`before.` is only known in the rules of a ledger operation".to_owned(),
                        &format!("`before.usable` reads the account as it was before the operation, {where_}"),
                    ));
                    return Some(None);
                }
                let inner = ast::Path {
                    segments: rest.into(),
                };
                // `before.before.usable`, `before.charge.amount`: what
                // follows `before.` is not part of the account.
                let inner_dotted = inner.dotted();
                if rest.len() > 1
                    && rest.first().is_some_and(|r| {
                        ["before", "charge", "grant", "refund"].contains(&&*r.name)
                    })
                    && !self.names.fields.contains_key(inner_dotted.as_str())
                {
                    self.report(errors::out_of_place(
                        span,
                        format!("`{}` is not part of the account, so `before.` cannot read it", inner_dotted),
                        &format!("`before.` reads a quantity, `let` or field of the account as it was before the operation; write `{inner_dotted}`"),
                    ));
                    return Some(None);
                }
                let inner_scope = Scope {
                    before: false,
                    operation: None,
                    ..scope
                };
                // An error inside is reported there: the path is still
                // `before.`'s, not a field to look up by its whole name.
                let Some((t, deps)) = self.path(&inner, inner_scope, expect) else {
                    return Some(None);
                };
                let ty = t.ty;
                Some(Some((
                    TExpr {
                        kind: TExprKind::Before(Box::new(t)),
                        ty,
                        span,
                    },
                    deps,
                )))
            }
            "charge" => {
                let [field] = rest else {
                    return None;
                };
                if scope.operation != Some(Operation::Charge) {
                    self.report(errors::out_of_place(
                        span,
                        format!("`{}` is only known in the rules of `on charge`", path.dotted()),
                        "`charge.amount` is the amount charged and `charge.shortfall` what the credits did not cover, in the rules and `shortfall of charge` lines of a charge",
                    ));
                    return Some(None);
                }
                let builtin = match &*field.name {
                    "amount" => Builtin::ChargeAmount,
                    "shortfall" => Builtin::ChargeShortfall,
                    other => {
                        let guess = self.suggest(other, ["amount", "shortfall"]);
                        let d = Diagnostic::new(
                            Code::UnknownName,
                            field.span,
                            format!("a charge has no `{other}`"),
                        )
                        .label("not a charge field");
                        self.report(match guess {
                            Some(g) => d.did_you_mean_as(&format!("charge.{g}"), g),
                            None => d.help("a charge has `amount` (what was charged) and `shortfall` (what the credits did not cover)"),
                        });
                        return Some(None);
                    }
                };
                Some(Some((
                    TExpr {
                        kind: TExprKind::Builtin(builtin),
                        ty: Type::of(Base::Decimal),
                        span,
                    },
                    snapshot,
                )))
            }
            "refund" => {
                let [field] = rest else {
                    return None;
                };
                if scope.operation != Some(Operation::Refund) || &*field.name != "dispute" {
                    self.report(errors::out_of_place(
                        span,
                        format!("`{}` is not known here", path.dotted()),
                        "`refund.dispute` (true when the refund records a dispute, `tollgate refund --dispute`) is known in the rules and `shortfall of refund` lines of a refund",
                    ));
                    return Some(None);
                }
                Some(Some((
                    TExpr {
                        kind: TExprKind::Builtin(Builtin::RefundDispute),
                        ty: Type::of(Base::Bool),
                        span,
                    },
                    snapshot,
                )))
            }
            _ => {
                let [field] = rest else {
                    return None;
                };
                if !matches!(scope.operation, Some(Operation::Grant | Operation::Refund)) {
                    self.report(errors::out_of_place(
                        span,
                        format!("`{}` is only known in the rules of `on grant` and `on refund`", path.dotted()),
                        "`grant.kind`, `grant.amount` and the like are the grant being added or refunded",
                    ));
                    return Some(None);
                }
                let resolved =
                    if let Some(&(_, f)) = GRANT_FIELDS.iter().find(|(n, _)| *n == &*field.name) {
                        Some((f, item_field_type(f, Collection::Grants)))
                    } else if let Some(&i) = self.names.grant_attrs.get(&*field.name) {
                        self.grant_attr_type(i).map(|ty| (ItemField::Attr(i), ty))
                    } else {
                        None
                    };
                let Some((f, ty)) = resolved else {
                    let mut known: Vec<&str> = GRANT_FIELDS.iter().map(|(n, _)| *n).collect();
                    known.extend(
                        self.out
                            .grant_attrs
                            .iter()
                            .filter_map(|a| a.path.first().map(String::as_str)),
                    );
                    let guess = self.suggest(&field.name, known.iter().copied());
                    let d = Diagnostic::new(
                        Code::UnknownName,
                        field.span,
                        format!("grants have no field `{}`", field.name),
                    )
                    .label("not a grant field");
                    self.report(match guess {
                        Some(g) => d.did_you_mean_as(&format!("grant.{g}"), g),
                        None => d.help(format!("a grant has {}", list_words(&known))),
                    });
                    return Some(None);
                };
                let deps = Deps {
                    balance: f == ItemField::Status,
                    ..snapshot
                };
                Some(Some((
                    TExpr {
                        kind: TExprKind::OpGrant(f),
                        ty,
                        span,
                    },
                    deps,
                )))
            }
        }
    }

    fn note_enum_use(&mut self, e: EnumRef, i: usize) {
        match e {
            EnumRef::CreditKind => {
                self.used.credit_kinds.insert(i);
            }
            EnumRef::DebtKind => {
                self.used.debt_kinds.insert(i);
            }
            EnumRef::User(e) => {
                self.used.enum_values.insert((e.index(), i));
            }
            EnumRef::Action => {
                self.used.actions.insert(i);
            }
            _ => {}
        }
    }

    /// The namespace an unknown member of `e` is recorded under, matching
    /// the one its declaration is looked up in.
    fn enum_namespace(e: EnumRef) -> String {
        match e {
            EnumRef::User(i) => format!("enum {}", i.index()),
            EnumRef::CreditKind => "credit kind".to_owned(),
            EnumRef::DebtKind => "debt kind".to_owned(),
            EnumRef::Role => "role".to_owned(),
            EnumRef::Action => "action or category".to_owned(),
            EnumRef::GrantStatus => "grant status".to_owned(),
        }
    }

    /// Reports a name nothing declares, with the nearest known name.
    fn unknown_path(&mut self, path: &[ast::Ident], scope: Scope, expect: Option<Base>) {
        // Asked first: the candidates for a suggestion cost every declared
        // name, for each unknown one.
        if self.full(Code::UnknownName) {
            return;
        }
        let dotted = path.dotted();
        if let Some(Base::Enum(e)) = expect {
            if path.single().is_some() {
                self.note_unknown(Self::enum_namespace(e), dotted.clone(), path.span());
                let (count, members) = self.enum_members(e);
                let guess = self.suggest(&dotted, members).map(str::to_owned);
                let listed: Vec<&str> = self.enum_members(e).1.take(MAX_LISTED_NAMES + 1).collect();
                let type_name = self.type_name(Type::of(Base::Enum(e)));
                let mut d = Diagnostic::new(
                    Code::UnknownName,
                    path.span(),
                    format!("`{dotted}` is not {type_name}"),
                )
                .label(format!("not {type_name}"));
                d = match guess {
                    Some(s) => d.did_you_mean(&s),
                    None => d.help(format!(
                        "expected one of {}",
                        list_some_words(&listed, count)
                    )),
                };
                self.report(d);
                return;
            }
        }
        let mut known: Vec<String> = Vec::new();
        // Gathering costs a string per field: skip it once the check's
        // suggestion budget is spent.
        if self.can_suggest() {
            if let Some(of) = scope.item {
                known.extend(item_fields(of).iter().map(|(n, _)| (*n).to_owned()));
            }
            known.extend(
                BUILTINS
                    .iter()
                    .filter(|(_, b)| scope.request || !matches!(b, Builtin::Role | Builtin::Action))
                    .map(|(n, _)| (*n).to_owned()),
            );
            known.extend(self.out.lets.iter().map(|l| l.name.clone()));
            known.extend(self.out.fields.iter().map(Field::dotted));
            known.extend(
                self.out
                    .debt_kinds
                    .iter()
                    .map(|k| format!("debt.{}", k.name)),
            );
        }
        let namespace = if path.len() > 1 { "field" } else { "name" };
        self.note_unknown(namespace.to_owned(), dotted.clone(), path.span());
        let (message, label) = if path.len() > 1 {
            (
                format!("unknown field `{dotted}`"),
                "no field has this path",
            )
        } else {
            (format!("unknown name `{dotted}`"), "not defined")
        };
        let mut d = Diagnostic::new(Code::UnknownName, path.span(), message).label(label);
        d = match self.suggest(&dotted, known.iter().map(String::as_str)) {
            Some(s) => d.did_you_mean(s),
            None if path.len() > 1 => {
                d.help("snapshot fields are declared with `field <path>: <type>`")
            }
            None => {
                d.help("names are built-in quantities (`usable`, `debt`, ...), `let`s, or fields")
            }
        };
        self.report(d);
    }

    // ───────────── Templates ─────────────

    pub(super) fn template(&mut self, t: &ast::Template, scope: Scope) -> Option<Template> {
        let mut parts = Vec::with_capacity(t.parts.len());
        let mut ok = true;
        for part in &t.parts {
            match part {
                ast::TemplatePart::Text(s) => parts.push(TemplatePart::Text(s.clone())),
                ast::TemplatePart::Value(v) => match self.interpolation(v, scope) {
                    Some(p) => parts.push(p),
                    None => ok = false,
                },
            }
        }
        ok.then_some(Template { parts })
    }

    fn interpolation(&mut self, v: &ast::Interpolation, scope: Scope) -> Option<TemplatePart> {
        let (expr, mut deps) = self.path(&v.path, scope, None)?;
        deps.depth = deps.depth.saturating_add(1);
        deps.nodes = deps.nodes.saturating_add(1);
        self.within_limits(&expr, deps)?;
        self.evaluated(expr.span, deps);
        let format = match &v.format {
            None => Format::Plain,
            Some(f) if &*f.name == "date" => {
                if expr.ty.base != Base::Time {
                    let got = self.type_name(Type::of(expr.ty.base));
                    self.report(
                        Diagnostic::new(
                            Code::TypeMismatch,
                            f.span,
                            format!(
                                "`:date` formats timestamps, and `{}` is {got}",
                                v.path.dotted()
                            ),
                        )
                        .label("not a timestamp")
                        .help("remove `:date`"),
                    );
                    return None;
                }
                Format::Date
            }
            Some(f) => {
                let mut d = Diagnostic::new(
                    Code::UnknownName,
                    f.span,
                    format!("unknown format `{}`", f.name),
                )
                .label("not a format");
                d = match self.suggest(&f.name, ["date"]) {
                    Some(s) => d.did_you_mean(s),
                    None => d.help("the only format is `date`, for timestamps"),
                };
                self.report(d);
                return None;
            }
        };
        match (&v.fallback, expr.ty.optional) {
            (None, true) => {
                let path = v.path.dotted();
                self.report(
                    Diagnostic::new(
                        Code::OptionalWithoutDefault,
                        v.span,
                        format!("`{path}` may be absent from the snapshot"),
                    )
                    .label("may be absent")
                    .help(format!(
                        "give words for when it is absent: `{{{path} ?? the next billing period}}`"
                    )),
                );
                return None;
            }
            (Some(_), false) => {
                self.report(
                    Diagnostic::new(
                        Code::Unreachable,
                        v.span,
                        format!(
                            "`{}` is never absent, so the words after `??` are never used",
                            v.path.dotted()
                        ),
                    )
                    .label("never used")
                    .help("remove `?? ...` from the interpolation"),
                );
            }
            _ => {}
        }
        Some(TemplatePart::Value {
            expr,
            format,
            fallback: v.fallback.clone(),
        })
    }

    // ───────────── Constants ─────────────

    /// The value of a constant expression (one with no dependencies).
    pub(super) fn constant_value(&self, t: &TExpr) -> Option<Value<'static>> {
        let v = match &t.kind {
            TExprKind::Literal(l) => literal_value(l)?,
            TExprKind::Let(i) => {
                let l = self.out.lets.get(*i)?;
                self.constant_value(&l.value)?
            }
            TExprKind::Unary(UnaryOp::Not, a) => self.constant_value(a)?.negate().ok()?,
            TExprKind::Unary(UnaryOp::Neg, a) => self.constant_value(a)?.minus().ok()?,
            TExprKind::Binary(BinaryOp::And, a, b) => Value::Bool(
                self.constant_value(a)?.as_bool().ok()?
                    && self.constant_value(b)?.as_bool().ok()?,
            ),
            TExprKind::Binary(BinaryOp::Or, a, b) => Value::Bool(
                self.constant_value(a)?.as_bool().ok()?
                    || self.constant_value(b)?.as_bool().ok()?,
            ),
            TExprKind::Binary(BinaryOp::Default, a, b) => match self.constant_value(a)? {
                Value::Absent => self.constant_value(b)?,
                v => v,
            },
            TExprKind::Binary(op, a, b) => {
                Value::binary(*op, self.constant_value(a)?, self.constant_value(b)?).ok()?
            }
            TExprKind::In {
                value,
                set,
                negated,
            } => {
                let v = self.constant_value(value)?;
                let mut hit = false;
                for item in set {
                    hit |= self.constant_value(item)? == v;
                }
                Value::Bool(hit != *negated)
            }
            TExprKind::InLiterals(list) => {
                let v = self.constant_value(&list.value)?;
                let mut hit = false;
                for (item, _) in &list.items {
                    hit |= literal_value(item)? == v;
                }
                Value::Bool(hit != list.negated)
            }
            _ => return None,
        };
        Some(v)
    }

    /// Warns about a condition that does not depend on anything. Folds it
    /// only while the policy's totals are within
    /// [`super::cost::MAX_DECISION_NODES`] (its caller counts it first), so
    /// all folding together is bounded like one decision: `t` itself is
    /// within [`super::cost::MAX_EVAL_NODES`], as `expr` returns nothing
    /// larger, and [`Checker::constant_value`] visits exactly the nodes
    /// counted there.
    pub(super) fn constant_condition(&mut self, t: &TExpr, deps: Deps, what: &str) -> Option<bool> {
        if !deps.is_constant() || !self.within_budget() {
            return None;
        }
        let value = self.constant_value(t).and_then(|v| v.as_bool().ok());
        let always = match value {
            Some(true) => "always true",
            Some(false) => "always false",
            None => "always the same",
        };
        self.report(
            Diagnostic::new(Code::ConstantCondition, t.span, format!("this {what} is {always}"))
                .label(always)
                .help("a condition should read the account or the request; remove the condition or fix it"),
        );
        value
    }
}

impl Value<'_> {
    /// The value without borrowed text, when it has none.
    fn to_static(self) -> Option<Value<'static>> {
        Some(match self {
            Value::Absent => Value::Absent,
            Value::Bool(b) => Value::Bool(b),
            Value::Decimal(d) => Value::Decimal(d),
            Value::Time(t) => Value::Time(t),
            Value::Duration(s) => Value::Duration(s),
            Value::Months(m) => Value::Months(m),
            Value::Enum(i) => Value::Enum(i),
            Value::Text(_) => return None,
        })
    }
}

fn is_arithmetic(e: &ast::Expr) -> bool {
    matches!(
        e.kind,
        ExprKind::Binary(BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul, _)
    )
}

/// The operands of `+ - *` arithmetic, left to right. Recursion is bounded
/// by the lowering's depth limit.
fn arithmetic_operands<'e>(e: &'e ast::Expr, out: &mut Vec<&'e ast::Expr>) {
    match &e.kind {
        ExprKind::Binary(BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul, xy) => {
            let [x, y] = &**xy;
            arithmetic_operands(x, out);
            arithmetic_operands(y, out);
        }
        _ => out.push(e),
    }
}

/// `e` with `operand`, one of its [`arithmetic_operands`], replaced by
/// `operand ?? default`.
fn with_default(e: &ast::Expr, operand: &ast::Expr, default: &ast::Expr) -> ast::Expr {
    let kind = if std::ptr::eq(e, operand) {
        ExprKind::Binary(BinaryOp::Default, Box::new([e.clone(), default.clone()]))
    } else {
        match &e.kind {
            ExprKind::Binary(op @ (BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul), xy) => {
                let [x, y] = &**xy;
                ExprKind::Binary(
                    *op,
                    Box::new([
                        with_default(x, operand, default),
                        with_default(y, operand, default),
                    ]),
                )
            }
            _ => e.kind.clone(),
        }
    };
    ast::Expr { kind, span: e.span }
}

fn is_bare_name(e: &ast::Expr) -> bool {
    match &e.kind {
        ExprKind::Name(_) => true,
        ExprKind::Path(p) => p.single().is_some(),
        _ => false,
    }
}

fn arithmetic_type(op: BinaryOp, l: Base, r: Base) -> Option<Base> {
    use Base::*;
    match (op, l, r) {
        (_, Decimal, Decimal) => Some(Decimal),
        (BinaryOp::Add | BinaryOp::Sub, Duration, Duration) => Some(Duration),
        (BinaryOp::Add, Time, Duration) | (BinaryOp::Add, Duration, Time) => Some(Time),
        (BinaryOp::Sub, Time, Duration) => Some(Time),
        (BinaryOp::Sub, Time, Time) => Some(Duration),
        (BinaryOp::Add | BinaryOp::Sub, Months, Months) => Some(Months),
        (BinaryOp::Add, Time, Months) | (BinaryOp::Add, Months, Time) => Some(Time),
        (BinaryOp::Sub, Time, Months) => Some(Time),
        _ => None,
    }
}

/// A literal's value, as constant folding sees it: text is never folded.
fn literal_value(l: &Literal) -> Option<Value<'static>> {
    match l {
        Literal::Text(_) => None,
        other => other.value().to_static(),
    }
}
