//! Declarations: names into namespaces, fields and their types, `let` values.

use std::collections::HashMap;
use std::rc::Rc;

use super::expr::{self, Deps, Scope};
use super::ir::*;
use super::{ACTION, CREDIT, Checker, DEBT, Names, ROLE, STATE, STEP, TYPE, errors, span_of};
use crate::ast::{self, ItemKind};
use crate::span::Span;

impl Checker<'_> {
    /// Declares a name in a namespace, reporting a duplicate.
    pub(super) fn define(
        &mut self,
        namespace: fn(&mut Names) -> &mut HashMap<String, usize>,
        what: &str,
        name: &ast::Ident,
        index: usize,
        first_span: impl Fn(&Checked, usize) -> Span,
    ) -> bool {
        if let Some(&existing) = namespace(&mut self.names).get(&*name.name) {
            let first = first_span(&self.out, existing);
            self.report(errors::defined_twice(what, name, first));
            return false;
        }
        namespace(&mut self.names).insert(String::from(&*name.name), index);
        self.known_names.clear();
        true
    }

    /// Declares credit or debt kinds: each in its namespace, then in its
    /// list (read by `list`, grown by `list_mut`).
    fn declare_kinds(
        &mut self,
        kinds: &[ast::Ident],
        what: &str,
        namespace: fn(&mut Names) -> &mut HashMap<String, usize>,
        list: fn(&Checked) -> &Vec<Named>,
        list_mut: fn(&mut Checked) -> &mut Vec<Named>,
    ) {
        for kind in kinds {
            // `shortfall of charge is invoiced` must not mean a debt kind.
            if what == DEBT
                && [super::ledger::INVOICED, super::ledger::WAIVED].contains(&&*kind.name)
            {
                self.report(errors::reserved_debt_kind(kind));
                continue;
            }
            let index = list(&self.out).len();
            if self.define(namespace, what, kind, index, |c, i| {
                span_of(list(c), i, |k| k.span)
            }) {
                list_mut(&mut self.out).push(Named {
                    name: String::from(&*kind.name),
                    span: kind.span,
                });
            }
        }
    }

    pub(super) fn declare(&mut self, item: &ast::Item) {
        match &item.kind {
            ItemKind::Policy(name) => {
                if self.out.name.is_empty() {
                    self.out.name = String::from(&*name.name);
                    self.out.docs = item.docs.clone();
                } else {
                    self.report(errors::second_policy_name(name));
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
                    let mut levels = Vec::with_capacity(access.len());
                    for a in access {
                        let next = self.out.access_levels.len();
                        let level = *self
                            .names
                            .access
                            .entry(String::from(&*a.name))
                            .or_insert_with(|| {
                                self.out.access_levels.push(String::from(&*a.name));
                                self.access_spans.push(a.span);
                                next
                            });
                        if !levels.contains(&level) {
                            levels.push(level);
                        }
                    }
                    let access = levels;
                    self.out.roles.push(Role {
                        name: String::from(&*name.name),
                        access,
                        span: name.span,
                    });
                }
            }
            ItemKind::Actions { category, actions } => self.declare_category(category, actions),
            ItemKind::Credits(kinds) => self.declare_kinds(
                kinds,
                CREDIT,
                |n| &mut n.credit_kinds,
                |c| &c.credit_kinds,
                |c| &mut c.credit_kinds,
            ),
            ItemKind::Debts(kinds) => self.declare_kinds(
                kinds,
                DEBT,
                |n| &mut n.debt_kinds,
                |c| &c.debt_kinds,
                |c| &mut c.debt_kinds,
            ),
            ItemKind::Enum { name, values } => {
                if BASE_TYPES.iter().any(|(n, _)| *n == &*name.name) {
                    self.report(errors::enum_named_like_a_type(name));
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
                let mut index_of: HashMap<String, usize> = HashMap::new();
                let mut list = Vec::new();
                for v in values {
                    if let Some(&first) = seen.get(&*v.name) {
                        self.report(errors::enum_value_twice(v, name, first));
                        continue;
                    }
                    seen.insert(&v.name, v.span);
                    self.enum_value_spans.insert((index, list.len()), v.span);
                    index_of.insert(String::from(&*v.name), list.len());
                    list.push(String::from(&*v.name));
                }
                self.out.enums.push(Enum {
                    name: String::from(&*name.name),
                    values: list,
                    span: name.span,
                });
                self.enum_value_index.push(index_of);
            }
            _ => {}
        }
    }

    pub(super) fn declare_category(&mut self, category: &ast::Ident, actions: &[ast::Ident]) {
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
            if let Some(&existing) = self.names.actions.get(&*action.name) {
                let (first, first_category) = match self.out.actions.get(existing) {
                    Some(a) => (a.span, a.category),
                    None => continue,
                };
                let d = if first_category == index {
                    errors::action_twice_in_category(action, category, first)
                } else {
                    let other = self
                        .out
                        .categories
                        .get(first_category)
                        .map_or("", |c| c.name.as_str());
                    errors::action_in_two_categories(action, other, category, first)
                };
                self.report(d);
                continue;
            }
            if self.names.categories.contains_key(&*action.name) {
                self.report(errors::category_and_action(action, "also a category"));
                continue;
            }
            let a = self.out.actions.len();
            self.names.actions.insert(String::from(&*action.name), a);
            self.known_names.clear();
            self.out.actions.push(Action {
                name: String::from(&*action.name),
                category: index,
                span: action.span,
            });
            members.push(a);
        }
        if self.names.actions.contains_key(&*category.name) {
            self.report(errors::category_and_action(category, "also an action"));
        }
        self.out.categories.push(Category {
            name: String::from(&*category.name),
            actions: members,
            span: category.span,
        });
    }

    /// Declarations that need others first: fields (enum types), step and
    /// let names (messages and values are checked later).
    pub(super) fn declare_dependent(&mut self, item: &ast::Item) {
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
                        name: String::from(&*name.name),
                        message: Template { parts: Vec::new() },
                        span: name.span,
                    });
                }
            }
            ItemKind::Let { name, .. } => {
                let reserved = expr::BUILTINS.iter().any(|(n, _)| *n == &*name.name)
                    || self.paths.has_root(&name.name);
                if reserved {
                    self.report(errors::let_name_taken(name));
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

    pub(super) fn field(&mut self, field: &ast::FieldDecl) {
        let dotted = field.path.dotted();
        let span = field.path.span();
        let Some(root) = field.path.segments.first() else {
            return;
        };
        if &*root.name == "grants" {
            self.grant_attr(field);
            return;
        }
        if RESERVED_ROOTS.contains(&&*root.name)
            || expr::BUILTINS.iter().any(|(n, _)| *n == &*root.name)
        {
            self.report(errors::reserved_field_root(root));
            return;
        }
        // `a.b` cannot be both a value and a group of values.
        let segments = field.path.names();
        if let Some(other) = self
            .paths
            .clash(&segments)
            .and_then(|f| self.out.fields.get(f))
        {
            let d = errors::overlapping_fields(span, &dotted, other.span, &other.dotted());
            self.report(d);
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
            &ast::Ident {
                name: dotted.into(),
                span,
            },
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
            path: field
                .path
                .segments
                .iter()
                .map(|s| String::from(&*s.name))
                .collect(),
            ty,
            optional: field.optional,
            default,
            span,
        });
        self.note_field(index);
    }

    /// `field grants.priority: decimal default 0`: an attribute every grant
    /// carries, read in `where` filters over grants, as `grant.priority` in
    /// the rules of `on grant` and `on refund`, and as a spend key.
    fn grant_attr(&mut self, field: &ast::FieldDecl) {
        let span = field.path.span();
        let [_, name] = &*field.path.segments else {
            self.report(errors::out_of_place(
                span,
                format!("`{}` is not a grant attribute", field.path.dotted()),
                "a grant attribute is one name after `grants.`, such as `field grants.priority: decimal default 0`",
            ));
            return;
        };
        if crate::parse::is_keyword(&name.name) {
            self.report(errors::keyword_grant_attr(name));
            return;
        }
        if expr::item_fields(crate::lang::Collection::Grants)
            .iter()
            .any(|(n, _)| *n == &*name.name)
        {
            self.report(errors::reserved_grant_attr(name));
            return;
        }
        let Some(ty) = self.type_by_name(&field.ty) else {
            self.poisoned.insert(field.path.dotted());
            return;
        };
        let index = self.out.grant_attrs.len();
        if !self.define(
            |n| &mut n.grant_attrs,
            "grant attribute",
            name,
            index,
            |c, i| span_of(&c.grant_attrs, i, |f| f.span),
        ) {
            return;
        }
        let default = match &field.default {
            Some(e) => self.field_default(e, ty),
            None => None,
        };
        // Ledger output writes the default into every grant that left the
        // attribute out, so it must be a value a snapshot may hold: the
        // account written must read back.
        if let (Some(value), Some(e)) = (&default, &field.default) {
            if let Some(why) = unwritable_attr_default(value) {
                self.report(errors::attr_default_out_of_range(e.span, &name.name, why));
            }
        }
        self.out.grant_attrs.push(Field {
            path: vec![String::from(&*name.name)],
            ty,
            optional: field.optional,
            default,
            span: name.span,
        });
    }

    pub(super) fn type_by_name(&mut self, ty: &ast::Ident) -> Option<Base> {
        if let Some(&(_, base)) = BASE_TYPES.iter().find(|(n, _)| *n == &*ty.name) {
            return Some(base);
        }
        if let Some(&i) = self.names.enums.get(&*ty.name) {
            self.used.enums.insert(i);
            return Some(Base::Enum(EnumRef::User(EnumId::new(i))));
        }
        self.note_unknown(TYPE.to_owned(), String::from(&*ty.name), ty.span);
        let types = BASE_TYPES.iter().map(|(n, _)| *n);
        let known = types.chain(self.out.enums.iter().map(|e| e.name.as_str()));
        let guess = self.suggest(&ty.name, known).map(str::to_owned);
        let d = errors::unknown_type(ty, guess.as_deref());
        self.report(d);
        None
    }

    pub(super) fn field_default(&mut self, e: &ast::Expr, ty: Base) -> Option<Literal> {
        let (t, deps) = self.value(e, Scope::ACCOUNT, Some(ty))?;
        if t.ty.base != ty {
            let (want, got) = (self.type_name(Type::of(ty)), self.type_name(t.ty));
            self.report(errors::default_of_wrong_type(e.span, got, &want));
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
            self.report(errors::default_not_constant(e.span));
        }
        literal
    }

    /// Checks every `let`, in order. Each value is freed from the tree
    /// once checked: nothing reads it after this.
    pub(super) fn lets(&mut self, policy: &mut ast::Policy) {
        let mut index = 0;
        for item in &mut policy.items {
            let ItemKind::Let { name, value } = &mut item.kind else {
                continue;
            };
            let value = value.take();
            if self.names.lets.get(&*name.name) != Some(&index) {
                continue; // a duplicate or reserved name, already reported
            }
            let scope = Scope {
                lets_before: Some(index),
                ..Scope::ACCOUNT
            };
            let (typed, deps) = match self.value(&value, scope, None) {
                Some(t) => t,
                None => {
                    self.poisoned.insert(String::from(&*name.name));
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
                name: String::from(&*name.name),
                value: typed,
                span: name.span,
            });
            self.let_deps.push(deps);
            index += 1;
        }
    }

    /// Looks a name up in a namespace, reporting it with a suggestion.
    pub(super) fn resolve(&mut self, what: &'static str, name: &ast::Ident) -> Option<usize> {
        let map = match what {
            ROLE => &self.names.roles,
            ACTION => &self.names.actions,
            CREDIT => &self.names.credit_kinds,
            DEBT => &self.names.debt_kinds,
            STEP => &self.names.steps,
            STATE => &self.names.states,
            _ => return None,
        };
        if let Some(&i) = map.get(&*name.name) {
            let used = match what {
                STEP => Some(&mut self.used.steps),
                CREDIT => Some(&mut self.used.credit_kinds),
                ACTION => Some(&mut self.used.actions),
                DEBT => Some(&mut self.used.debt_kinds),
                _ => None,
            };
            if let Some(used) = used {
                used.insert(i);
            }
            return Some(i);
        }
        let known = self.known_names(what);
        let guess = self
            .suggest(&name.name, known.iter().map(String::as_str))
            .map(str::to_owned);
        let listed: Vec<&str> = known
            .iter()
            .take(errors::MAX_LISTED_NAMES + 1)
            .map(String::as_str)
            .collect();
        let d = errors::unknown_name(what, name, guess.as_deref(), &listed, known.len());
        self.report(d);
        self.note_unknown(what.to_owned(), String::from(&*name.name), name.span);
        None
    }

    /// The index of `name` among an enum-like type's members, looked up
    /// rather than searched: a policy may name the values of a large enum
    /// many times.
    pub(super) fn enum_value_index(&self, e: EnumRef, name: &str) -> Option<usize> {
        match e {
            EnumRef::User(i) => self.enum_value_index.get(i.index())?.get(name).copied(),
            EnumRef::CreditKind => self.names.credit_kinds.get(name).copied(),
            EnumRef::DebtKind => self.names.debt_kinds.get(name).copied(),
            EnumRef::GrantStatus => GRANT_STATUSES.iter().position(|s| *s == name),
            EnumRef::Role => self.names.roles.get(name).copied(),
            EnumRef::Action => self.names.actions.get(name).copied(),
        }
    }

    /// An enum-like type's member names in order, without collecting them,
    /// and how many there are.
    pub(super) fn enum_members(&self, e: EnumRef) -> (usize, Box<dyn Iterator<Item = &str> + '_>) {
        fn names<'a, T>(
            items: &'a [T],
            name: fn(&T) -> &str,
        ) -> (usize, Box<dyn Iterator<Item = &'a str> + 'a>) {
            (items.len(), Box::new(items.iter().map(name)))
        }
        match e {
            EnumRef::User(i) => {
                let values = self
                    .out
                    .enums
                    .get(i.index())
                    .map_or(&[][..], |e| e.values.as_slice());
                names(values, String::as_str)
            }
            EnumRef::CreditKind => names(&self.out.credit_kinds, |k| k.name.as_str()),
            EnumRef::DebtKind => names(&self.out.debt_kinds, |k| k.name.as_str()),
            EnumRef::GrantStatus => (GRANT_STATUSES.len(), Box::new(GRANT_STATUSES.into_iter())),
            EnumRef::Role => names(&self.out.roles, |r| r.name.as_str()),
            EnumRef::Action => names(&self.out.actions, |a| a.name.as_str()),
        }
    }

    /// The names of a namespace, sorted: built once per namespace (and
    /// again only if the namespace gains a name), not once per unknown name.
    fn known_names(&mut self, what: &'static str) -> Rc<[String]> {
        if let Some(known) = self.known_names.get(what) {
            return Rc::clone(known);
        }
        let map = match what {
            ROLE => &self.names.roles,
            ACTION => &self.names.actions,
            CREDIT => &self.names.credit_kinds,
            DEBT => &self.names.debt_kinds,
            STEP => &self.names.steps,
            STATE => &self.names.states,
            _ => return Rc::from(Vec::new()),
        };
        let mut known: Vec<String> = map.keys().cloned().collect();
        if what == ACTION {
            known.extend(self.names.categories.keys().cloned());
        }
        known.sort_unstable();
        let known: Rc<[String]> = Rc::from(known);
        self.known_names.insert(what, Rc::clone(&known));
        known
    }
}

/// Top-level snapshot keys the engine reads itself.
/// Roots the engine reads itself, and those a ledger operation's rules
/// read (`before.usable`, `charge.amount`, `grant.kind`, `refund.dispute`).
const RESERVED_ROOTS: &[&str] = &[
    "now", "account", "grants", "debts", "before", "charge", "grant", "refund",
];

const BASE_TYPES: &[(&str, Base)] = &[
    ("decimal", Base::Decimal),
    ("bool", Base::Bool),
    ("time", Base::Time),
    ("duration", Base::Duration),
    ("text", Base::Text),
];

/// Why a grant attribute's default is a value no snapshot may hold, if it
/// is one: snapshots hold amounts from 0 to 10^15 with at most six digits
/// after the point, and durations from 0 to 100,000 days.
fn unwritable_attr_default(value: &Literal) -> Option<&'static str> {
    match value {
        Literal::Decimal(d) => crate::amount::parse(&d.normalize().to_string())
            .err()
            .map(crate::amount::AmountError::reason),
        Literal::Duration(s) if *s < 0 => Some("durations are never negative"),
        Literal::Duration(s) if *s > crate::time::MAX_DURATION_SECONDS => {
            Some("durations are at most 100000 days")
        }
        _ => None,
    }
}
