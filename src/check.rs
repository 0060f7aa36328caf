//! Checking: AST → checked policy, with every problem as a diagnostic.
//!
//! The checker resolves every name, types every expression, and lints the
//! policy as a whole (unused kinds, unreachable states). It reports all it
//! finds in one run; the checked policy exists only when there is no error.

mod expr;
pub mod ir;

use std::collections::{HashMap, HashSet};

use expr::{Deps, Scope, list_words};
pub use ir::Checked;
use ir::*;

use crate::ast::{self, ItemKind, OnTarget, PermitTargets, RuleKind};
use crate::diagnostic::{Code, Diagnostic, suggest};
use crate::span::{Source, Span};

/// The checked policy (when there are no errors) and every diagnostic.
#[derive(Clone, Debug)]
pub struct CheckOutput {
    pub checked: Option<Checked>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Checks a parsed policy.
pub fn check(source: &Source, policy: &ast::Policy) -> CheckOutput {
    let mut checker = Checker::new(source);
    checker.run(policy);
    let has_errors = checker.diags.iter().any(Diagnostic::is_error);
    CheckOutput {
        checked: (!has_errors).then_some(checker.out),
        diagnostics: checker.diags,
    }
}

/// Name → index, one map per namespace.
#[derive(Default)]
struct Names {
    roles: HashMap<String, usize>,
    access: HashMap<String, usize>,
    categories: HashMap<String, usize>,
    actions: HashMap<String, usize>,
    credit_kinds: HashMap<String, usize>,
    debt_kinds: HashMap<String, usize>,
    enums: HashMap<String, usize>,
    fields: HashMap<String, usize>,
    lets: HashMap<String, usize>,
    steps: HashMap<String, usize>,
    states: HashMap<String, usize>,
}

/// What the policy mentions, for the "never used" lints.
#[derive(Default)]
struct Used {
    lets: HashSet<usize>,
    steps: HashSet<usize>,
    enums: HashSet<usize>,
    categories: HashSet<usize>,
    credit_kinds: HashSet<usize>,
    debt_kinds: HashSet<usize>,
    /// `(enum, value)` pairs that some expression names.
    enum_values: HashSet<(usize, usize)>,
    fields: HashSet<usize>,
    actions: HashSet<usize>,
}

struct Checker<'s> {
    source: &'s Source,
    diags: Vec<Diagnostic>,
    names: Names,
    used: Used,
    out: Checked,
    let_spans: Vec<Span>,
    let_deps: Vec<Deps>,
    /// Fields and lets whose declaration failed: uses stay silent, since
    /// the declaration's own diagnostic says what is wrong.
    poisoned: HashSet<String>,
    /// Names that `unknown` diagnostics were reported for, by namespace, so
    /// an unused declaration close to one can point at the likely typo.
    unknown: Vec<(String, String, Span)>,
    /// Where each rule code was first defined.
    rule_codes: HashMap<(RuleKind, String), Span>,
    /// Where each enum value is declared.
    enum_value_spans: HashMap<(usize, usize), Span>,
}

/// Words for a namespace, as messages use them.
const ROLE: &str = "role";
const ACTION: &str = "action or category";
const CREDIT: &str = "credit kind";
const DEBT: &str = "debt kind";
const STEP: &str = "step";
const FIELD: &str = "field";
const NAME: &str = "name";
const TYPE: &str = "type";

impl<'s> Checker<'s> {
    fn new(source: &'s Source) -> Checker<'s> {
        Checker {
            source,
            diags: Vec::new(),
            names: Names::default(),
            used: Used::default(),
            out: Checked {
                source: source.clone(),
                name: String::new(),
                docs: Vec::new(),
                roles: Vec::new(),
                access_levels: Vec::new(),
                categories: Vec::new(),
                actions: Vec::new(),
                permitted: Vec::new(),
                credit_kinds: Vec::new(),
                debt_kinds: Vec::new(),
                enums: Vec::new(),
                fields: Vec::new(),
                locks: Vec::new(),
                spend: Spend::default(),
                settle: Settle::default(),
                lets: Vec::new(),
                steps: Vec::new(),
                states: Vec::new(),
                blocks: Vec::new(),
                charge_shortfall: None,
                refund_shortfall: None,
            },
            let_spans: Vec::new(),
            let_deps: Vec::new(),
            poisoned: HashSet::new(),
            unknown: Vec::new(),
            rule_codes: HashMap::new(),
            enum_value_spans: HashMap::new(),
        }
    }

    fn report(&mut self, diagnostic: Diagnostic) {
        self.diags.push(diagnostic);
    }

    fn run(&mut self, policy: &ast::Policy) {
        // Declarations first, so that uses can come in any order.
        for item in &policy.items {
            self.declare(item);
        }
        for item in &policy.items {
            self.declare_dependent(item);
        }
        self.out.permitted = vec![vec![false; self.out.actions.len()]; self.out.roles.len()];
        for item in &policy.items {
            if let ItemKind::Permit { role, to, except } = &item.kind {
                self.permit(role, to, except);
            }
        }
        self.lets(policy);
        for item in &policy.items {
            self.item(item);
        }
        self.states(policy);
        self.finish(policy);
    }

    // ───────────── Declarations ─────────────

    /// Declares a name in a namespace, reporting a duplicate.
    fn define(
        &mut self,
        namespace: fn(&mut Names) -> &mut HashMap<String, usize>,
        what: &str,
        name: &ast::Ident,
        index: usize,
        first_span: impl Fn(&Checked, usize) -> Span,
    ) -> bool {
        if let Some(&existing) = namespace(&mut self.names).get(&name.name) {
            let first = first_span(&self.out, existing);
            self.report(
                Diagnostic::new(
                    Code::Duplicate,
                    name.span,
                    format!("{what} `{}` is defined twice", name.name),
                )
                .label("defined again here")
                .related(first, "first defined here")
                .help(format!("remove one of them, or rename this {what}")),
            );
            return false;
        }
        namespace(&mut self.names).insert(name.name.clone(), index);
        true
    }

    fn declare(&mut self, item: &ast::Item) {
        match &item.kind {
            ItemKind::Policy(name) => {
                if self.out.name.is_empty() {
                    self.out.name = name.name.clone();
                    self.out.docs = item.docs.clone();
                } else {
                    self.report(
                        Diagnostic::new(Code::Duplicate, name.span, "a second `policy` name")
                            .label("second name")
                            .help("a file holds one policy; remove this line"),
                    );
                }
            }
            ItemKind::Role { name, access } => {
                let index = self.out.roles.len();
                if self.define(
                    |n| &mut n.roles,
                    ROLE,
                    name,
                    index,
                    |c, i| span_of(&c.roles, i, |r| r.span),
                ) {
                    let access = access.as_ref().map(|a| {
                        let next = self.out.access_levels.len();
                        *self.names.access.entry(a.name.clone()).or_insert_with(|| {
                            self.out.access_levels.push(a.name.clone());
                            next
                        })
                    });
                    self.out.roles.push(Role {
                        name: name.name.clone(),
                        access,
                        span: name.span,
                    });
                }
            }
            ItemKind::Actions { category, actions } => self.declare_category(category, actions),
            ItemKind::Credits(kinds) => {
                for kind in kinds {
                    let index = self.out.credit_kinds.len();
                    if self.define(
                        |n| &mut n.credit_kinds,
                        CREDIT,
                        kind,
                        index,
                        |c, i| span_of(&c.credit_kinds, i, |k| k.span),
                    ) {
                        self.out.credit_kinds.push(Named {
                            name: kind.name.clone(),
                            span: kind.span,
                        });
                    }
                }
            }
            ItemKind::Debts(kinds) => {
                for kind in kinds {
                    let index = self.out.debt_kinds.len();
                    if self.define(
                        |n| &mut n.debt_kinds,
                        DEBT,
                        kind,
                        index,
                        |c, i| span_of(&c.debt_kinds, i, |k| k.span),
                    ) {
                        self.out.debt_kinds.push(Named {
                            name: kind.name.clone(),
                            span: kind.span,
                        });
                    }
                }
            }
            ItemKind::Enum { name, values } => {
                if BASE_TYPES.iter().any(|(n, _)| *n == name.name) {
                    self.report(
                        Diagnostic::new(
                            Code::ReservedName,
                            name.span,
                            format!("`{}` is a built-in type", name.name),
                        )
                        .label("built-in type")
                        .help("give the enum another name"),
                    );
                    return;
                }
                let index = self.out.enums.len();
                if !self.define(
                    |n| &mut n.enums,
                    "enum",
                    name,
                    index,
                    |c, i| span_of(&c.enums, i, |e| e.span),
                ) {
                    return;
                }
                let mut seen: HashMap<&str, Span> = HashMap::new();
                let mut list = Vec::new();
                for v in values {
                    if let Some(&first) = seen.get(v.name.as_str()) {
                        self.report(
                            Diagnostic::new(
                                Code::Duplicate,
                                v.span,
                                format!("value `{}` is listed twice in `{}`", v.name, name.name),
                            )
                            .label("listed again")
                            .related(first, "first listed here")
                            .help("remove one of them"),
                        );
                        continue;
                    }
                    seen.insert(&v.name, v.span);
                    self.enum_value_spans.insert((index, list.len()), v.span);
                    list.push(v.name.clone());
                }
                self.out.enums.push(Enum {
                    name: name.name.clone(),
                    values: list,
                    span: name.span,
                });
            }
            _ => {}
        }
    }

    fn declare_category(&mut self, category: &ast::Ident, actions: &[ast::Ident]) {
        let index = self.out.categories.len();
        if !self.define(
            |n| &mut n.categories,
            "category",
            category,
            index,
            |c, i| span_of(&c.categories, i, |k| k.span),
        ) {
            return;
        }
        let mut members = Vec::new();
        for action in actions {
            if let Some(&existing) = self.names.actions.get(&action.name) {
                let (first, first_category) = match self.out.actions.get(existing) {
                    Some(a) => (a.span, a.category),
                    None => continue,
                };
                let d = if first_category == index {
                    Diagnostic::new(
                        Code::Duplicate,
                        action.span,
                        format!(
                            "action `{}` is listed twice in `{}`",
                            action.name, category.name
                        ),
                    )
                    .label("listed again")
                    .related(first, "first listed here")
                    .help("remove one of them")
                } else {
                    let other = self
                        .out
                        .categories
                        .get(first_category)
                        .map_or("", |c| c.name.as_str());
                    Diagnostic::new(
                        Code::ActionInTwoCategories,
                        action.span,
                        format!(
                            "action `{}` is in two categories, `{other}` and `{}`",
                            action.name, category.name
                        ),
                    )
                    .label(format!("also in `{other}`"))
                    .related(first, format!("listed in `{other}` here"))
                    .help("an action belongs to exactly one category; remove it from one of them")
                };
                self.report(d);
                continue;
            }
            if self.names.categories.contains_key(&action.name) {
                self.report(
                    Diagnostic::new(Code::Duplicate, action.span, format!("`{}` names both a category and an action", action.name))
                        .label("also a category")
                        .help("rename the action or the category: `on` and `permit` could not tell them apart"),
                );
                continue;
            }
            let a = self.out.actions.len();
            self.names.actions.insert(action.name.clone(), a);
            self.out.actions.push(Action {
                name: action.name.clone(),
                category: index,
                span: action.span,
            });
            members.push(a);
        }
        if self.names.actions.contains_key(&category.name) {
            self.report(
                Diagnostic::new(Code::Duplicate, category.span, format!("`{}` names both a category and an action", category.name))
                    .label("also an action")
                    .help("rename the action or the category: `on` and `permit` could not tell them apart"),
            );
        }
        self.out.categories.push(Category {
            name: category.name.clone(),
            actions: members,
            span: category.span,
        });
    }

    /// Declarations that need others first: fields (enum types), step and
    /// let names (messages and values are checked later).
    fn declare_dependent(&mut self, item: &ast::Item) {
        match &item.kind {
            ItemKind::Field(field) => self.field(field),
            ItemKind::Step { name, .. } => {
                let index = self.out.steps.len();
                if self.define(
                    |n| &mut n.steps,
                    STEP,
                    name,
                    index,
                    |c, i| span_of(&c.steps, i, |s| s.span),
                ) {
                    self.out.steps.push(Step {
                        name: name.name.clone(),
                        message: Template {
                            parts: Vec::new(),
                            span: name.span,
                        },
                        span: name.span,
                    });
                }
            }
            ItemKind::Let { name, .. } => {
                let reserved = expr::BUILTINS.iter().any(|(n, _)| *n == name.name)
                    || self
                        .out
                        .fields
                        .iter()
                        .any(|f| f.path.first() == Some(&name.name));
                if reserved {
                    self.report(
                        Diagnostic::new(
                            Code::ReservedName,
                            name.span,
                            format!(
                                "`{}` already names a built-in quantity or a field",
                                name.name
                            ),
                        )
                        .label("name taken")
                        .help("choose another name for this `let`"),
                    );
                    return;
                }
                let index = self.let_spans.len();
                if self.define(|n| &mut n.lets, "let", name, index, |_, _| Span::default()) {
                    self.let_spans.push(name.span);
                }
            }
            _ => {}
        }
    }

    fn field(&mut self, field: &ast::FieldDecl) {
        let dotted = field.path.dotted();
        let span = field.path.span;
        let Some(root) = field.path.segments.first() else {
            return;
        };
        if RESERVED_ROOTS.contains(&root.name.as_str())
            || expr::BUILTINS.iter().any(|(n, _)| *n == root.name)
        {
            self.report(
                Diagnostic::new(Code::ReservedName, root.span, format!("`{}` is part of the snapshot that tollgate itself reads", root.name))
                    .label("reserved")
                    .help(format!("the engine knows `now`, `account`, `grants` and `debts`; other fields live under a name of yours, such as `settings.{}`", root.name)),
            );
            return;
        }
        // `a.b` cannot be both a value and a group of values.
        let clash = self.out.fields.iter().find(|f| {
            let (short, long) = if f.path.len() <= field.path.segments.len() {
                (f.path.len(), field.path.segments.len())
            } else {
                (field.path.segments.len(), f.path.len())
            };
            short != long
                && field
                    .path
                    .segments
                    .iter()
                    .zip(&f.path)
                    .take(short)
                    .all(|(a, b)| a.name == *b)
        });
        if let Some(other) = clash {
            let other_span = other.span;
            let other_path = other.dotted();
            self.report(
                Diagnostic::new(
                    Code::Duplicate,
                    span,
                    format!("field `{dotted}` overlaps field `{other_path}`"),
                )
                .label("overlaps")
                .related(other_span, "the other field")
                .help("a path is either a value or a group of fields, not both"),
            );
            return;
        }
        self.similar_fields(field);
        let Some(ty) = self.type_by_name(&field.ty) else {
            self.poisoned.insert(dotted);
            return;
        };
        let index = self.out.fields.len();
        if !self.define(
            |n| &mut n.fields,
            "field",
            &ast::Ident { name: dotted, span },
            index,
            |c, i| span_of(&c.fields, i, |f| f.span),
        ) {
            return;
        }
        let default = match &field.default {
            Some(e) => self.field_default(e, ty),
            None => None,
        };
        self.out.fields.push(Field {
            path: field.path.segments.iter().map(|s| s.name.clone()).collect(),
            ty,
            optional: field.optional,
            default,
            span,
        });
    }

    /// `subscriptio.plan` beside `subscription.status`: sibling path
    /// segments one letter apart are a typo, not two snapshot objects.
    fn similar_fields(&mut self, field: &ast::FieldDecl) {
        let segments = &field.path.segments;
        let twin = self.out.fields.iter().find_map(|other| {
            let depth = segments
                .iter()
                .zip(&other.path)
                .take_while(|(a, b)| a.name == **b)
                .count();
            let (mine, theirs) = (segments.get(depth)?, other.path.get(depth)?);
            let close =
                mine.name.len() >= 4 && crate::diagnostic::edit_distance(&mine.name, theirs) == 1;
            close.then(|| (mine.clone(), theirs.clone(), other.span, other.dotted()))
        });
        if let Some((mine, theirs, other_span, other_path)) = twin {
            self.report(
                Diagnostic::new(Code::SimilarNames, mine.span, format!("`{}` is one letter away from `{theirs}`", mine.name))
                    .label("probably a typo")
                    .related(other_span, format!("`{other_path}` is declared here"))
                    .help(format!("did you mean `{theirs}`? If both names are intended, make them differ by more than a letter")),
            );
        }
    }

    fn type_by_name(&mut self, ty: &ast::Ident) -> Option<Base> {
        if let Some(&(_, base)) = BASE_TYPES.iter().find(|(n, _)| *n == ty.name) {
            return Some(base);
        }
        if let Some(&i) = self.names.enums.get(&ty.name) {
            self.used.enums.insert(i);
            return Some(Base::Enum(EnumRef::User(i)));
        }
        let mut known: Vec<String> = BASE_TYPES.iter().map(|(n, _)| (*n).to_owned()).collect();
        known.extend(self.out.enums.iter().map(|e| e.name.clone()));
        self.unknown
            .push((TYPE.to_owned(), ty.name.clone(), ty.span));
        let mut d = Diagnostic::new(
            Code::UnknownName,
            ty.span,
            format!("unknown type `{}`", ty.name),
        )
        .label("not a type");
        d = match suggest(&ty.name, known.iter().map(String::as_str)) {
            Some(s) => d.help(format!("did you mean `{s}`?")),
            None => d.help("a field is `decimal`, `bool`, `time`, `duration`, `text`, or an enum declared with `enum`"),
        };
        self.report(d);
        None
    }

    fn field_default(&mut self, e: &ast::Expr, ty: Base) -> Option<Literal> {
        let (t, deps) = self.value(e, Scope::ACCOUNT, Some(ty))?;
        if t.ty.base != ty {
            let (want, got) = (self.type_name(Type::of(ty)), self.type_name(t.ty));
            self.report(
                Diagnostic::new(
                    Code::TypeMismatch,
                    e.span,
                    format!("the default is {got}, but the field holds {want}"),
                )
                .label(got)
                .help(format!("give a default that is {want}")),
            );
            return None;
        }
        let value = deps
            .is_constant()
            .then(|| self.constant_value(&t))
            .flatten();
        let literal = match (&t.kind, value) {
            (TExprKind::Literal(Literal::Text(s)), _) => Some(Literal::Text(s.clone())),
            (_, Some(v)) => Literal::from_value(v),
            _ => None,
        };
        if literal.is_none() {
            self.report(
                Diagnostic::new(
                    Code::TypeMismatch,
                    e.span,
                    "a field's default must be a constant",
                )
                .label("not a constant")
                .help("write a literal value such as `0`, `false` or an enum value"),
            );
        }
        literal
    }

    // ───────────── Permissions ─────────────

    fn permit(&mut self, role: &ast::Ident, to: &PermitTargets, except: &[ast::Ident]) {
        let r = self.resolve(ROLE, role);
        let mut granted = vec![false; self.out.actions.len()];
        match to {
            PermitTargets::All(_) => granted.iter_mut().for_each(|g| *g = true),
            PermitTargets::Names(names) => {
                for name in names {
                    for a in self.action_set(name) {
                        if let Some(g) = granted.get_mut(a) {
                            *g = true;
                        }
                    }
                }
            }
        }
        for name in except {
            let removed = self.action_set(name);
            if !removed.is_empty()
                && removed
                    .iter()
                    .all(|&a| !granted.get(a).copied().unwrap_or(false))
            {
                self.report(
                    Diagnostic::new(
                        Code::UselessException,
                        name.span,
                        format!(
                            "`{}` is not granted by this permit, so excepting it changes nothing",
                            name.name
                        ),
                    )
                    .label("never granted here")
                    .help("remove it from `except`"),
                );
            }
            for a in removed {
                if let Some(g) = granted.get_mut(a) {
                    *g = false;
                }
            }
        }
        if let Some(row) = r.and_then(|r| self.out.permitted.get_mut(r)) {
            for (cell, g) in row.iter_mut().zip(granted) {
                *cell |= g;
            }
        }
    }

    /// The actions a name stands for: a category's members or one action.
    fn action_set(&mut self, name: &ast::Ident) -> Vec<usize> {
        if let Some(&c) = self.names.categories.get(&name.name) {
            self.used.categories.insert(c);
            return self
                .out
                .categories
                .get(c)
                .map(|c| c.actions.clone())
                .unwrap_or_default();
        }
        self.resolve(ACTION, name).into_iter().collect()
    }

    /// Looks a name up in a namespace, reporting it with a suggestion.
    fn resolve(&mut self, what: &'static str, name: &ast::Ident) -> Option<usize> {
        let map = match what {
            ROLE => &self.names.roles,
            ACTION => &self.names.actions,
            CREDIT => &self.names.credit_kinds,
            DEBT => &self.names.debt_kinds,
            STEP => &self.names.steps,
            _ => return None,
        };
        if let Some(&i) = map.get(&name.name) {
            match what {
                STEP => {
                    self.used.steps.insert(i);
                }
                CREDIT => {
                    self.used.credit_kinds.insert(i);
                }
                ACTION => {
                    self.used.actions.insert(i);
                }
                DEBT => {
                    self.used.debt_kinds.insert(i);
                }
                _ => {}
            }
            return Some(i);
        }
        let mut known: Vec<&str> = map.keys().map(String::as_str).collect();
        if what == ACTION {
            known.extend(self.names.categories.keys().map(String::as_str));
        }
        known.sort_unstable();
        let guess = suggest(&name.name, known.iter().copied()).map(str::to_owned);
        let mut d = Diagnostic::new(
            Code::UnknownName,
            name.span,
            format!("unknown {what} `{}`", name.name),
        )
        .label(format!("no {what} has this name"));
        d = match &guess {
            Some(s) => d.help(format!("did you mean `{s}`?")),
            None if known.is_empty() => d.help(format!("no {what} is declared yet")),
            None => d.help(format!("the known names are {}", list_words(&known))),
        };
        self.report(d);
        self.unknown
            .push((what.to_owned(), name.name.clone(), name.span));
        None
    }

    // ───────────── Quantities ─────────────

    fn lets(&mut self, policy: &ast::Policy) {
        let mut index = 0;
        for item in &policy.items {
            let ItemKind::Let { name, value } = &item.kind else {
                continue;
            };
            if self.names.lets.get(&name.name) != Some(&index) {
                continue; // a duplicate or reserved name, already reported
            }
            let scope = Scope {
                lets_before: Some(index),
                ..Scope::ACCOUNT
            };
            let (typed, deps) = match self.value(value, scope, None) {
                Some(t) => t,
                None => {
                    self.poisoned.insert(name.name.clone());
                    // Keep indices aligned; the policy will not compile anyway.
                    let placeholder = TExpr {
                        kind: TExprKind::Literal(Literal::Bool(false)),
                        ty: Type::of(Base::Bool),
                        span: value.span,
                    };
                    (placeholder, Deps::default())
                }
            };
            self.out.lets.push(Let {
                name: name.name.clone(),
                value: typed,
                span: name.span,
                docs: item.docs.clone(),
            });
            self.let_deps.push(deps);
            index += 1;
        }
    }

    // ───────────── Items that use names ─────────────

    fn item(&mut self, item: &ast::Item) {
        match &item.kind {
            ItemKind::Lock(lock) => self.lock(lock, item),
            ItemKind::Spend { kinds, order } => self.spend(kinds, order, item.span),
            ItemKind::Settle(settle) => self.settle(settle, item.span),
            ItemKind::Step { name, message } => self.step(name, message.as_ref()),
            ItemKind::On(block) => self.on_block(block, item.span),
            ItemKind::Shortfall {
                operation,
                debt_kind,
            } => self.shortfall(operation, debt_kind),
            _ => {}
        }
    }

    fn lock(&mut self, lock: &ast::LockDecl, item: &ast::Item) {
        let kinds: Vec<usize> = lock
            .kinds
            .iter()
            .filter_map(|k| self.resolve(CREDIT, k))
            .collect();
        let may_settle: Vec<usize> = lock
            .may_settle
            .iter()
            .filter_map(|k| self.resolve(DEBT, k))
            .collect();
        let when = self.condition(&lock.when, Scope::ACCOUNT);
        if let Some((t, deps)) = &when {
            if deps.balance {
                self.report(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        t.span,
                        "a lock condition cannot read the balance it decides",
                    )
                    .label(
                        "reads `usable`, `locked`, `expired`, `settleable` or a grant's `status`",
                    )
                    .help("base the lock on snapshot fields such as `subscription.status`"),
                );
            }
            self.constant_condition(t, *deps, "lock condition");
        }
        let message = match &lock.message {
            Some(m) => self.template(m, Scope::ACCOUNT),
            None => {
                self.report(
                    Diagnostic::new(
                        Code::MissingMessage,
                        item.span.to(lock.when.span),
                        "this lock has no message",
                    )
                    .label("no `message`")
                    .help("add `{ message \"...\" }` saying why the credits are locked"),
                );
                None
            }
        };
        if let (Some((when, _)), Some(message)) = (when, message) {
            self.out.locks.push(Lock {
                kinds,
                when,
                message,
                may_settle,
                span: item.span,
            });
        }
    }

    fn shortfall(&mut self, operation: &ast::Ident, debt_kind: &ast::Ident) {
        let kind = self.resolve(DEBT, debt_kind);
        let slot = match operation.name.as_str() {
            "charge" => &mut self.out.charge_shortfall,
            "refund" => &mut self.out.refund_shortfall,
            other => {
                let mut d = Diagnostic::new(
                    Code::UnknownName,
                    operation.span,
                    format!("unknown ledger operation `{other}`"),
                )
                .label("not an operation");
                d = match suggest(other, ["charge", "refund"]) {
                    Some(s) => d.help(format!("did you mean `{s}`?")),
                    None => d.help("a shortfall is declared for `charge` (work that overran the balance) or `refund` (refunded credits already used)"),
                };
                self.report(d);
                return;
            }
        };
        if slot.is_some() {
            self.report(
                Diagnostic::new(
                    Code::Duplicate,
                    operation.span,
                    format!("the `{}` shortfall is declared twice", operation.name),
                )
                .label("declared again")
                .help("keep one `shortfall of ... is ...` line per operation"),
            );
            return;
        }
        *slot = kind;
    }

    fn spend(&mut self, kinds: &[ast::Ident], order: &[ast::SortKey], span: Span) {
        if let Some(first) = self.out.spend.span {
            self.report(
                Diagnostic::new(Code::Duplicate, span, "a second `spend` order")
                    .label("second order")
                    .related(first, "first order")
                    .help("a policy has one spend order; merge them"),
            );
            return;
        }
        self.out.spend.span = Some(span);
        self.out.spend.kinds = self.kind_order(CREDIT, kinds);
        self.out.spend.keys = self.sort_keys(order, GRANT_KEYS);
    }

    fn settle(&mut self, settle: &ast::SettleDecl, span: Span) {
        if let Some(first) = self.out.settle.span {
            self.report(
                Diagnostic::new(Code::Duplicate, span, "a second `settle` order")
                    .label("second order")
                    .related(first, "first order")
                    .help("a policy has one settle order; merge them"),
            );
            return;
        }
        self.out.settle.span = Some(span);
        self.out.settle.kinds = self.kind_order(DEBT, &settle.kinds);
        self.out.settle.keys = self.sort_keys(&settle.order, DEBT_KEYS);
        self.out.settle.sources = vec![Vec::new(); self.out.debt_kinds.len()];
        let mut seen: HashMap<usize, Span> = HashMap::new();
        for source in &settle.sources {
            let Some(kind) = self.resolve(DEBT, &source.debt_kind) else {
                continue;
            };
            if let Some(&first) = seen.get(&kind) {
                self.report(
                    Diagnostic::new(
                        Code::Duplicate,
                        source.debt_kind.span,
                        format!("sources for `{}` are given twice", source.debt_kind.name),
                    )
                    .label("again")
                    .related(first, "first given here")
                    .help("list every source on one line: `from usable, locked`"),
                );
                continue;
            }
            seen.insert(kind, source.debt_kind.span);
            if !self.out.settle.kinds.contains(&kind) {
                self.report(
                    Diagnostic::new(
                        Code::MissingDeclaration,
                        source.debt_kind.span,
                        format!(
                            "`{}` has sources but no place in the settle order",
                            source.debt_kind.name
                        ),
                    )
                    .label("not in the order")
                    .help(format!(
                        "add `{}` to the kinds after `settle`",
                        source.debt_kind.name
                    )),
                );
            }
            let mut list = Vec::new();
            for from in &source.from {
                let kind_of = match from.name.as_str() {
                    "usable" => SourceKind::Usable,
                    "locked" => SourceKind::Locked,
                    other => {
                        let mut d = Diagnostic::new(
                            Code::UnknownName,
                            from.span,
                            format!("unknown settlement source `{other}`"),
                        )
                        .label("not a source");
                        d = match suggest(other, ["usable", "locked"]) {
                            Some(s) => d.help(format!("did you mean `{s}`?")),
                            None => d.help("debts are paid `from usable` credits, `locked` credits, or both in order"),
                        };
                        self.report(d);
                        continue;
                    }
                };
                if list.contains(&kind_of) {
                    self.report(
                        Diagnostic::new(
                            Code::Duplicate,
                            from.span,
                            format!("`{}` is listed twice", from.name),
                        )
                        .label("listed again")
                        .help("remove one of them"),
                    );
                    continue;
                }
                list.push(kind_of);
            }
            if let Some(slot) = self.out.settle.sources.get_mut(kind) {
                *slot = list;
            }
        }
    }

    /// Kinds in an order, each once.
    fn kind_order(&mut self, what: &'static str, kinds: &[ast::Ident]) -> Vec<usize> {
        let mut order = Vec::new();
        for k in kinds {
            let Some(i) = self.resolve(what, k) else {
                continue;
            };
            if order.contains(&i) {
                self.report(
                    Diagnostic::new(
                        Code::Duplicate,
                        k.span,
                        format!("{what} `{}` is listed twice", k.name),
                    )
                    .label("listed again")
                    .help("each kind has one place in the order"),
                );
                continue;
            }
            order.push(i);
        }
        order
    }

    fn sort_keys<K: Copy + PartialEq>(
        &mut self,
        keys: &[ast::SortKey],
        known: &[(&str, K)],
    ) -> Vec<(K, bool)> {
        let mut out: Vec<(K, bool)> = Vec::new();
        for key in keys {
            let Some(&(_, k)) = known.iter().find(|(n, _)| *n == key.field.name) else {
                let names: Vec<&str> = known.iter().map(|(n, _)| *n).collect();
                let mut d = Diagnostic::new(
                    Code::UnknownName,
                    key.field.span,
                    format!("cannot order by `{}`", key.field.name),
                )
                .label("not a sort key");
                d = match suggest(&key.field.name, names.iter().copied()) {
                    Some(s) => d.help(format!("did you mean `{s}`?")),
                    None => d.help(format!("order by {}", list_words(&names))),
                };
                self.report(d);
                continue;
            };
            if out.iter().any(|(o, _)| *o == k) {
                self.report(
                    Diagnostic::new(
                        Code::Duplicate,
                        key.field.span,
                        format!("`{}` is already a sort key", key.field.name),
                    )
                    .label("listed again")
                    .help("a later key only breaks ties of earlier ones; remove this one"),
                );
                continue;
            }
            out.push((k, key.descending));
        }
        out
    }

    fn step(&mut self, name: &ast::Ident, message: Option<&ast::Template>) {
        let Some(&index) = self.names.steps.get(&name.name) else {
            return;
        };
        if self.out.steps.get(index).map(|s| s.span) != Some(name.span) {
            return; // the duplicate, already reported
        }
        let Some(message) = message else {
            self.report(
                Diagnostic::new(
                    Code::MissingMessage,
                    name.span,
                    format!("step `{}` has no message", name.name),
                )
                .label("no message")
                .help(format!("say what to do: `step {} \"...\"`", name.name)),
            );
            return;
        };
        if let Some(t) = self.template(message, Scope::REQUEST) {
            if let Some(step) = self.out.steps.get_mut(index) {
                step.message = t;
            }
        }
    }

    fn states(&mut self, policy: &ast::Policy) {
        let mut catch_all: Option<Span> = None;
        let mut last: Option<Span> = None;
        for item in &policy.items {
            let ItemKind::State { name, when } = &item.kind else {
                continue;
            };
            let index = self.out.states.len();
            if !self.define(
                |n| &mut n.states,
                "state",
                name,
                index,
                |c, i| span_of(&c.states, i, |s| s.span),
            ) {
                continue;
            }
            if let Some(all) = catch_all {
                self.report(
                    Diagnostic::new(Code::Unreachable, name.span, format!("state `{}` can never be reached", name.name))
                        .label("unreachable")
                        .related(all, "every account stops at this state")
                        .help("states are tried in order and the first that holds wins; move this state above the catch-all"),
                );
            }
            last = Some(item.span);
            let typed = match when {
                Some(e) => {
                    let Some((t, deps)) = self.condition(e, Scope::ACCOUNT) else {
                        continue;
                    };
                    if self.constant_condition(&t, deps, "state condition") == Some(true) {
                        catch_all.get_or_insert(item.span);
                    }
                    Some(t)
                }
                None => {
                    catch_all.get_or_insert(item.span);
                    None
                }
            };
            self.out.states.push(State {
                name: name.name.clone(),
                when: typed,
                span: name.span,
            });
        }
        match (last, catch_all) {
            (None, _) => self.report(
                Diagnostic::new(
                    Code::MissingDeclaration,
                    Span::point(0),
                    "the policy declares no balance states",
                )
                .label("no `state`")
                .help("declare states in order, ending with a catch-all: `state ok otherwise`"),
            ),
            (Some(last), None) => self.report(
                Diagnostic::new(
                    Code::StatesNotExhaustive,
                    last,
                    "the states do not cover every account",
                )
                .label("the last state has a condition")
                .help("end with a state that always matches, such as `state ok otherwise`"),
            ),
            _ => {}
        }
    }

    // ───────────── Rules ─────────────

    fn on_block(&mut self, block: &ast::OnBlock, span: Span) {
        let mut actions = vec![false; self.out.actions.len()];
        let forbidden = match &block.target {
            OnTarget::Forbidden(_) => true,
            OnTarget::Actions(names) => {
                for name in names {
                    for a in self.action_set(name) {
                        if let Some(slot) = actions.get_mut(a) {
                            *slot = true;
                        }
                    }
                }
                false
            }
        };
        let mut rules = Vec::new();
        for rule in &block.rules {
            if let Some(r) = self.rule(rule, forbidden) {
                rules.push(r);
            }
        }
        self.out.blocks.push(Block {
            forbidden,
            actions,
            rules,
            span,
        });
    }

    fn rule(&mut self, rule: &ast::Rule, forbidden: bool) -> Option<Rule> {
        let code = &rule.code;
        let key = (rule.kind, code.name.clone());
        if let Some(&first) = self.rule_codes.get(&key) {
            self.report(
                Diagnostic::new(
                    Code::Duplicate,
                    code.span,
                    format!(
                        "{} rule `{}` is defined twice",
                        rule.kind.keyword(),
                        code.name
                    ),
                )
                .label("defined again")
                .related(first, "first defined here")
                .help(
                    "a code names one rule; to apply a rule to more actions, list them after `on`",
                ),
            );
        } else {
            self.rule_codes.insert(key, code.span);
        }
        if forbidden && rule.kind == RuleKind::Warn {
            self.report(
                Diagnostic::new(Code::Unreachable, code.span, "a warning in `on forbidden` is never shown")
                    .label("never shown")
                    .help("warnings accompany an allowed request, and forbidden requests are always denied"),
            );
        }
        let when = match &rule.when {
            Some(e) => self.condition(e, Scope::REQUEST).map(|(t, deps)| {
                self.constant_condition(&t, deps, "rule condition");
                t
            }),
            None => None,
        };
        // Check everything, even after a problem, so that one run reports all.
        let mut ok = when.is_some() || rule.when.is_none();
        let message = match (&rule.message, rule.kind) {
            (Some(m), _) => {
                let t = self.template(m, Scope::REQUEST);
                ok &= t.is_some();
                t
            }
            (None, RuleKind::Effect) => None,
            (None, kind) => {
                self.report(
                    Diagnostic::new(
                        Code::MissingMessage,
                        code.span,
                        format!("{} rule `{}` has no message", kind.keyword(), code.name),
                    )
                    .label("no message")
                    .help("add `{ message \"...\" }`: it is what the person sees"),
                );
                ok = false;
                None
            }
        };
        let mut steps = Vec::new();
        let mut everyone_from: Option<Span> = None;
        let mut seen_access: HashMap<usize, Span> = HashMap::new();
        for clause in &rule.steps {
            if rule.kind != RuleKind::Deny {
                self.report(
                    Diagnostic::new(
                        Code::Unreachable,
                        clause.span,
                        format!(
                            "next steps on a `{}` rule are never shown",
                            rule.kind.keyword()
                        ),
                    )
                    .label("never shown")
                    .help("next steps come with a denial; move them to a `deny` rule"),
                );
                continue;
            }
            if let Some(all) = everyone_from {
                self.report(
                    Diagnostic::new(Code::Unreachable, clause.span, "these steps are never used")
                        .label("unreachable")
                        .related(all, "this clause already covers every role")
                        .help(
                            "the first `steps` clause that fits the role applies; move this one up",
                        ),
                );
            }
            let audience = match &clause.audience {
                ast::Audience::Everyone => {
                    everyone_from.get_or_insert(clause.span);
                    Audience::Everyone
                }
                ast::Audience::Others(_) => {
                    everyone_from.get_or_insert(clause.span);
                    Audience::Others
                }
                ast::Audience::Access(name) => {
                    match self.names.access.get(&name.name) {
                        Some(&i) => {
                            if let Some(&first) = seen_access.get(&i) {
                                self.report(
                                    Diagnostic::new(
                                        Code::Unreachable,
                                        clause.span,
                                        format!("a second `steps for {} access`", name.name),
                                    )
                                    .label("never used")
                                    .related(first, "this clause comes first")
                                    .help("merge the two clauses"),
                                );
                            }
                            seen_access.insert(i, clause.span);
                            Audience::Access(i)
                        }
                        None => {
                            let known: Vec<&str> =
                                self.out.access_levels.iter().map(String::as_str).collect();
                            let mut d = Diagnostic::new(
                                Code::UnknownName,
                                name.span,
                                format!("unknown access level `{}`", name.name),
                            )
                            .label("no role has this access");
                            d = match suggest(&name.name, known.iter().copied()) {
                            Some(s) => d.help(format!("did you mean `{s}`?")),
                            None => d.help("access levels come from roles: `role owner with billing access`"),
                        };
                            self.report(d);
                            // Still check the steps below; the policy fails anyway.
                            Audience::Others
                        }
                    }
                }
            };
            let mut list = Vec::new();
            for use_ in &clause.steps {
                let step = self.resolve(STEP, &use_.step);
                let when = match &use_.when {
                    Some(e) => match self.condition(e, Scope::REQUEST) {
                        Some((t, deps)) => {
                            self.constant_condition(&t, deps, "step condition");
                            Some(t)
                        }
                        None => continue,
                    },
                    None => None,
                };
                if let Some(step) = step {
                    list.push((step, when, use_.span));
                }
            }
            steps.push(StepsClause {
                audience,
                steps: list,
                span: clause.span,
            });
        }
        let mut params: Vec<(String, TExpr)> = Vec::new();
        for param in &rule.params {
            if ["code", "rule", "source", "message"].contains(&param.name.name.as_str()) {
                self.report(
                    Diagnostic::new(Code::ReservedName, param.name.span, format!("`{}` is reserved in an effect", param.name.name))
                        .label("reserved")
                        .help("effects already report `code`, `rule`, `source` and `message`; choose another name"),
                );
                continue;
            }
            if params.iter().any(|(n, _)| *n == param.name.name) {
                self.report(
                    Diagnostic::new(
                        Code::Duplicate,
                        param.name.span,
                        format!("parameter `{}` is given twice", param.name.name),
                    )
                    .label("again")
                    .help("remove one of them"),
                );
                continue;
            }
            if let Some((t, _)) = self.value(&param.value, Scope::REQUEST, None) {
                params.push((param.name.name.clone(), t));
            }
        }
        if !ok {
            return None;
        }
        Some(Rule {
            kind: rule.kind,
            code: code.name.clone(),
            when,
            message,
            steps,
            params,
            span: rule.span,
            docs: rule.docs.clone(),
        })
    }

    // ───────────── Whole-policy lints ─────────────

    fn finish(&mut self, policy: &ast::Policy) {
        if self.out.name.is_empty() {
            self.report(
                Diagnostic::new(
                    Code::MissingDeclaration,
                    Span::point(0),
                    "the policy has no name",
                )
                .label("no `policy` line")
                .help("start the file with `policy <name>`, for example `policy ampere`"),
            );
        }
        for (r, role) in self.out.roles.iter().enumerate() {
            let any = self
                .out
                .permitted
                .get(r)
                .is_some_and(|row| row.iter().any(|&p| p));
            if !any {
                let d = Diagnostic::new(
                    Code::RoleWithoutPermissions,
                    role.span,
                    format!("role `{}` may not take any action", role.name),
                )
                .label("no `permit` for this role")
                .help(format!(
                    "add `permit {} to <categories>`, or remove the role",
                    role.name
                ));
                self.diags.push(self.typo_hint(d, ROLE, &role.name));
            }
        }
        // Which credit kinds and debt kinds can ever move.
        let settles_from: Vec<usize> = self.out.settle.kinds.clone();
        for (k, kind) in self.out.credit_kinds.iter().enumerate() {
            if !self.out.spend.kinds.contains(&k) && !self.used.credit_kinds.contains(&k) {
                let d = Diagnostic::new(
                    Code::UnusedCreditKind,
                    kind.span,
                    format!("credit kind `{}` is never spent", kind.name),
                )
                .label("no `spend` order draws it and no rule mentions it")
                .help(format!(
                    "add `{}` to the `spend` order, or remove it",
                    kind.name
                ));
                self.diags.push(self.typo_hint(d, CREDIT, &kind.name));
            }
        }
        for (k, kind) in self.out.debt_kinds.iter().enumerate() {
            let has_source = self
                .out
                .settle
                .sources
                .get(k)
                .is_some_and(|s| !s.is_empty());
            if !settles_from.contains(&k) || !has_source {
                let d = Diagnostic::new(
                    Code::UnsettleableDebt,
                    kind.span,
                    format!("debt kind `{}` can never be settled", kind.name),
                )
                .label("no settlement source")
                .help(format!(
                    "add `{}` to the `settle` order with `{} from usable`",
                    kind.name, kind.name
                ));
                self.diags.push(self.typo_hint(d, DEBT, &kind.name));
            }
        }
        // Locked credits as a source need a lock that releases them.
        for (k, sources) in self.out.settle.sources.iter().enumerate() {
            if !sources.contains(&SourceKind::Locked) {
                continue;
            }
            let allowed = self.out.locks.iter().any(|l| l.may_settle.contains(&k));
            if !allowed && !self.out.locks.is_empty() {
                let kind = self
                    .out
                    .debt_kinds
                    .get(k)
                    .map_or("", |d| d.name.as_str())
                    .to_owned();
                let span = settle_source_span(policy, &kind)
                    .unwrap_or_else(|| self.out.settle.span.unwrap_or_default());
                self.diags.push(
                    Diagnostic::new(
                        Code::LockedSourceNotAllowed,
                        span,
                        format!("`{kind}` is settled from locked credits, but no lock allows it"),
                    )
                    .label("locked credits may not settle this")
                    .help(format!(
                        "add `may settle {kind}` to the lock, or remove `locked` from the sources"
                    )),
                );
            }
        }
        for lock in &self.out.locks {
            for &k in &lock.may_settle {
                let taken = self
                    .out
                    .settle
                    .sources
                    .get(k)
                    .is_some_and(|s| s.contains(&SourceKind::Locked));
                if !taken {
                    let kind = self.out.debt_kinds.get(k).map_or("", |d| d.name.as_str());
                    self.diags.push(
                        Diagnostic::new(Code::Unused, lock.span, format!("the lock lets locked credits settle `{kind}`, but `settle` never takes them"))
                            .label("never used")
                            .help(format!("add `locked` to the sources of `{kind}`: `{kind} from usable, locked`")),
                    );
                }
            }
        }
        let mut unused = Vec::new();
        for (i, l) in self.out.lets.iter().enumerate() {
            if !self.used.lets.contains(&i) {
                let d =
                    Diagnostic::new(Code::Unused, l.span, format!("`{}` is never used", l.name))
                        .label("never read")
                        .help("remove it, or use it in a state, rule or message");
                unused.push(self.typo_hint(d, NAME, &l.name));
            }
        }
        self.diags.extend(unused);
        for (i, s) in self.out.steps.iter().enumerate() {
            if !self.used.steps.contains(&i) {
                let d = Diagnostic::new(
                    Code::Unused,
                    s.span,
                    format!("step `{}` is never offered", s.name),
                )
                .label("no rule names it")
                .help("name it in a rule's `steps`, or remove it");
                self.diags.push(self.typo_hint(d, STEP, &s.name));
            }
        }
        self.unused_twins();
        for (i, e) in self.out.enums.iter().enumerate() {
            if !self.used.enums.contains(&i) {
                let d = Diagnostic::new(
                    Code::Unused,
                    e.span,
                    format!("enum `{}` is never used", e.name),
                )
                .label("no field has this type")
                .help("give a field this type, or remove it");
                let d = self.typo_hint(d, TYPE, &e.name);
                self.diags.push(d);
            }
        }
    }

    /// An unknown name close to `declared` in the same namespace, if any.
    fn near_unknown(&self, namespace: &str, declared: &str) -> Option<&(String, String, Span)> {
        self.unknown
            .iter()
            .filter(|(ns, _, _)| ns == namespace)
            .find(|(_, name, _)| suggest(declared, [name.as_str()]).is_some())
    }

    /// When an unused declaration is close to a name reported as unknown,
    /// one of the two is probably a typo: say so at the declaration too.
    fn typo_hint(&self, d: Diagnostic, namespace: &str, declared: &str) -> Diagnostic {
        match self.near_unknown(namespace, declared) {
            Some((_, name, span)) => {
                let line = self.source.line_col(span.start).line;
                d.related(*span, format!("`{name}` is used here but never declared"))
                    .help(format!(
                        "`{name}` (line {line}) looks like a misspelling of `{declared}`: did you mean `{name}` here, or `{declared}` there?"
                    ))
            }
            None => d,
        }
    }

    /// Declarations nothing uses are normal for enum values and fields (the
    /// snapshot may hold them); they are reported only when they look like
    /// the misspelt twin of a name that is used.
    fn unused_twins(&mut self) {
        let mut found = Vec::new();
        for (e, decl) in self.out.enums.iter().enumerate() {
            for (v, value) in decl.values.iter().enumerate() {
                if self.used.enum_values.contains(&(e, v)) {
                    continue;
                }
                let namespace = format!("enum {e}");
                if self.near_unknown(&namespace, value).is_some() {
                    let span = self
                        .enum_value_spans
                        .get(&(e, v))
                        .copied()
                        .unwrap_or(decl.span);
                    let d = Diagnostic::new(
                        Code::Unused,
                        span,
                        format!("value `{value}` of `{}` is never used", decl.name),
                    )
                    .label("never used");
                    found.push(self.typo_hint(d, &namespace, value));
                }
            }
        }
        for (a, action) in self.out.actions.iter().enumerate() {
            if !self.used.actions.contains(&a) && self.near_unknown(ACTION, &action.name).is_some()
            {
                let d = Diagnostic::new(
                    Code::Unused,
                    action.span,
                    format!("action `{}` is never named", action.name),
                )
                .label("never named");
                found.push(self.typo_hint(d, ACTION, &action.name));
            }
        }
        for (f, field) in self.out.fields.iter().enumerate() {
            let dotted = field.dotted();
            if !self.used.fields.contains(&f) && self.near_unknown(FIELD, &dotted).is_some() {
                let d = Diagnostic::new(
                    Code::Unused,
                    field.span,
                    format!("field `{dotted}` is never read"),
                )
                .label("never read");
                found.push(self.typo_hint(d, FIELD, &dotted));
            }
        }
        self.diags.extend(found);
    }
}

fn span_of<T>(items: &[T], i: usize, f: impl Fn(&T) -> Span) -> Span {
    items.get(i).map(f).unwrap_or_default()
}

/// The span of `kind` in the settle block's sources, for diagnostics.
fn settle_source_span(policy: &ast::Policy, kind: &str) -> Option<Span> {
    policy.items.iter().find_map(|item| match &item.kind {
        ItemKind::Settle(s) => s
            .sources
            .iter()
            .find(|src| src.debt_kind.name == kind)
            .map(|src| src.debt_kind.span),
        _ => None,
    })
}

/// Top-level snapshot keys the engine reads itself.
const RESERVED_ROOTS: &[&str] = &["now", "account", "grants", "debts"];

const BASE_TYPES: &[(&str, Base)] = &[
    ("decimal", Base::Decimal),
    ("bool", Base::Bool),
    ("time", Base::Time),
    ("duration", Base::Duration),
    ("text", Base::Text),
];

const GRANT_KEYS: &[(&str, GrantKey)] = &[
    ("expires_at", GrantKey::ExpiresAt),
    ("granted_at", GrantKey::GrantedAt),
    ("id", GrantKey::Id),
    ("amount", GrantKey::Amount),
    ("remaining", GrantKey::Remaining),
];

const DEBT_KEYS: &[(&str, DebtKey)] = &[
    ("created_at", DebtKey::CreatedAt),
    ("id", DebtKey::Id),
    ("amount", DebtKey::Amount),
];

#[cfg(test)]
mod tests;
