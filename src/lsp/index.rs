//! The symbol table of one policy text: every declared name with its kind,
//! span and doc comment, and every place a name is used.
//!
//! It is built from the syntax tree (whatever parsed: an item with a
//! syntax error is missing, the rest is indexed), resolving names as the
//! checker does (`src/check/expr.rs`): a bare name compared with an enum
//! value, a role or an action is looked up among those; otherwise it is a
//! grant or debt field inside a `where`, a built-in, a `let`, then a
//! declared field's path or `debt.<kind>`. The table serves hover, go to
//! definition, references, rename, completion, the outline and semantic
//! tokens. It does no typing: a name the checker would refuse may still be
//! linked here, and the checker's diagnostics say what is wrong with it.

use std::collections::HashMap;
use std::sync::Arc;

use crate::ast::{
    self, Audience, BinaryOp, Collection, ExprKind, InSet, ItemKind, OnTarget, PermitTargets,
};
use crate::span::Span;

/// What a declared name is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `policy ampere`
    Policy,
    /// `role owner`
    Role,
    /// `with billing access`: declared where a role first names it.
    Access,
    /// `actions billable: ...`
    Category,
    /// An action listed in a category.
    Action,
    /// `credits included, ...`
    CreditKind,
    /// `debts refund_dispute, ...`
    DebtKind,
    /// `enum subscription_status: ...`
    Enum,
    /// A value of an enum.
    EnumValue,
    /// `field subscription.status: ...`
    Field,
    /// `field grants.priority: ...`: an attribute every grant may carry.
    GrantAttr,
    /// `let name = ...`
    Let,
    /// `step buy_credits "..."`
    Step,
    /// `state paused when ...`
    State,
    /// A `deny`, `warn` or `effect` rule's code.
    Rule,
    /// `assert name ...`
    Assertion,
}

impl Kind {
    /// How hover and messages name the kind.
    pub fn words(self) -> &'static str {
        match self {
            Kind::Policy => "policy",
            Kind::Role => "role",
            Kind::Access => "access level",
            Kind::Category => "action category",
            Kind::Action => "action",
            Kind::CreditKind => "credit kind",
            Kind::DebtKind => "debt kind",
            Kind::Enum => "enum",
            Kind::EnumValue => "enum value",
            Kind::Field => "field",
            Kind::GrantAttr => "grant attribute",
            Kind::Let => "let",
            Kind::Step => "step",
            Kind::State => "state",
            Kind::Rule => "rule",
            Kind::Assertion => "assertion",
        }
    }
}

/// One declared name.
#[derive(Clone, Debug)]
pub struct Symbol {
    /// What it is.
    pub kind: Kind,
    /// The name as declared: a field's whole dotted path, a grant
    /// attribute's name after `grants.`.
    pub name: Arc<str>,
    /// Where the name is written in its declaration.
    pub span: Span,
    /// The declaration it belongs to, in [`Index::decls`].
    pub decl: usize,
    /// The category of an action, the enum of a value, the enum a field
    /// or attribute has as its type.
    pub parent: Option<usize>,
}

/// A declaration: an item, or a rule inside an `on` block.
#[derive(Clone, Debug)]
pub struct Decl {
    /// The declaration's text, without its doc comment.
    pub span: Span,
    /// Its `///` lines, without the slashes.
    pub docs: Vec<String>,
    /// The item's keyword (`role`, `on`, `deny`, ...).
    pub keyword: &'static str,
    /// The item holding a rule.
    pub parent: Option<usize>,
}

/// What a used name stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A declared name, in [`Index::symbols`].
    Symbol(usize),
    /// A built-in quantity, or a field of a grant or debt, by name: a
    /// reference to its entry in a static table, 8 bytes where the name
    /// itself is 16, since a dense policy holds millions of references.
    Builtin(&'static &'static str),
}

/// A name used somewhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reference {
    /// Where it is written.
    pub span: Span,
    /// What it stands for.
    pub target: Target,
}

/// The symbol table of one policy.
#[derive(Clone, Debug, Default)]
pub struct Index {
    /// Every declared name, in declaration order.
    pub symbols: Vec<Symbol>,
    /// Every use of a name, sorted by position.
    pub refs: Vec<Reference>,
    /// Every declaration, in source order.
    pub decls: Vec<Decl>,
    /// Each namespace's names: kind and name → symbol.
    by_name: HashMap<(Kind, Arc<str>), usize>,
    /// Symbols by position of their declared name.
    defs_by_pos: Vec<usize>,
    /// Enum values by name: every enum's value of that name.
    values: HashMap<Arc<str>, Vec<usize>>,
}

/// Built-in names, always in scope, with what they mean (hover shows it).
pub const BUILTINS: &[(&str, &str)] = &[
    ("now", "time: the snapshot's `now`"),
    ("account", "text: the snapshot's account id"),
    (
        "usable",
        "decimal: remaining credits that are neither expired nor locked",
    ),
    ("locked", "decimal: remaining credits of locked grants"),
    (
        "expired",
        "decimal: remaining credits of expired grants (`expires_at <= now`)",
    ),
    (
        "debt",
        "decimal: all debts; `debt.<kind>` is the debts of one kind",
    ),
    (
        "settleable",
        "decimal: how much of the debt the settle rules could pay now",
    ),
    (
        "role",
        "the requesting role, in the rules of `on` blocks for requests and in step messages",
    ),
    (
        "action",
        "the requested action, in the rules of `on` blocks for requests and in step messages",
    ),
];

/// The fields of a grant, with their types.
pub const GRANT_FIELDS: &[(&str, &str)] = &[
    ("id", "text"),
    ("kind", "credit kind"),
    ("amount", "decimal"),
    ("remaining", "decimal"),
    ("granted_at", "time"),
    ("expires_at", "optional time"),
    ("status", "grant status"),
];

/// The fields of a debt, with their types.
pub const DEBT_FIELDS: &[(&str, &str)] = &[
    ("id", "text"),
    ("kind", "debt kind"),
    ("amount", "decimal"),
    ("created_at", "time"),
];

/// The names a ledger operation's rules add, with what they mean.
pub const OPERATION_NAMES: &[(&str, &str)] = &[
    (
        "charge.amount",
        "decimal: the amount charged, in `on charge` and `shortfall of charge`",
    ),
    (
        "charge.shortfall",
        "decimal: what the usable credits did not cover, in `on charge` and `shortfall of charge`",
    ),
    (
        "refund.dispute",
        "bool: whether the refund records a dispute, in `on refund` and `shortfall of refund`",
    ),
];

/// The base types of a field.
pub const BASE_TYPES: &[&str] = &["decimal", "bool", "time", "duration", "text"];

/// A set of values a bare name can be one of, by what it is compared with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Domain {
    Enum(usize),
    Roles,
    Actions,
    Credits,
    Debts,
}

/// Where an expression is: inside a `where` over grants or debts, or not.
#[derive(Clone, Copy, Debug, Default)]
struct Scope {
    item: Option<Collection>,
}

impl Index {
    /// Indexes a parsed policy.
    pub fn build(policy: &ast::Policy) -> Index {
        let mut b = Builder {
            index: Index::default(),
            let_domains: HashMap::new(),
            field_domains: HashMap::new(),
        };
        for item in &policy.items {
            b.declare(item);
        }
        for item in &policy.items {
            b.declare_dependent(item);
        }
        for item in &policy.items {
            b.uses(item);
        }
        let mut index = b.index;
        // The walk visits names in source order nearly always; sorting a
        // sorted list still allocated half its size (an 8 MB policy's
        // four million references: 47 MB).
        if !index.refs.is_sorted_by_key(|r| (r.span.start, r.span.end)) {
            index.refs.sort_by_key(|r| (r.span.start, r.span.end));
        }
        index.refs.dedup();
        index.refs.shrink_to_fit();
        let mut defs: Vec<usize> = (0..index.symbols.len()).collect();
        defs.sort_by_key(|&i| index.symbols.get(i).map(|s| s.span.start));
        index.defs_by_pos = defs;
        index
    }

    /// The symbol of `kind` named `name`.
    pub fn lookup(&self, kind: Kind, name: &str) -> Option<usize> {
        self.by_name.get(&(kind, Arc::from(name))).copied()
    }

    /// The symbol declared at, or the name used at, byte `offset` (a name
    /// ending at the offset counts, so a cursor just after a word finds it).
    pub fn at(&self, offset: usize) -> Option<(Span, Target)> {
        let off = u32::try_from(offset).ok()?;
        let hit = |s: Span| s.start <= off && off <= s.end;
        let i = self.refs.partition_point(|r| r.span.end < off);
        let r = self.refs.get(i).filter(|r| hit(r.span));
        if let Some(r) = r {
            return Some((r.span, r.target));
        }
        let i = self
            .defs_by_pos
            .partition_point(|&s| self.symbols.get(s).is_some_and(|s| s.span.end < off));
        let mut best = None;
        for &s in self.defs_by_pos.get(i..).unwrap_or(&[]).iter().take(4) {
            if let Some(sym) = self.symbols.get(s) {
                if sym.span.start > off {
                    break;
                }
                if hit(sym.span) {
                    best = Some((sym.span, Target::Symbol(s)));
                }
            }
        }
        best
    }

    /// Every place symbol `s` is used, in source order.
    pub fn uses_of(&self, s: usize) -> impl Iterator<Item = Span> + '_ {
        self.refs
            .iter()
            .filter(move |r| r.target == Target::Symbol(s))
            .map(|r| r.span)
    }

    /// Symbols of `kind`, in declaration order.
    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = (usize, &Symbol)> + '_ {
        self.symbols
            .iter()
            .enumerate()
            .filter(move |(_, s)| s.kind == kind)
    }

    /// The values of enum symbol `e`.
    pub fn values_of(&self, e: usize) -> impl Iterator<Item = &Symbol> + '_ {
        self.symbols
            .iter()
            .filter(move |s| s.kind == Kind::EnumValue && s.parent == Some(e))
    }

    /// The symbols whose names a new name for `s` must not take: those of
    /// its namespace, as the checker keeps them (a category and an action
    /// share one; a `let` must not take a built-in's name).
    pub fn clashes(&self, s: usize, new: &str) -> Option<String> {
        let sym = self.symbols.get(s)?;
        let kinds: &[Kind] = match sym.kind {
            Kind::Category | Kind::Action => &[Kind::Category, Kind::Action],
            Kind::Field | Kind::GrantAttr => &[Kind::Field, Kind::GrantAttr],
            k => std::slice::from_ref(match k {
                Kind::Policy => &Kind::Policy,
                Kind::Role => &Kind::Role,
                Kind::Access => &Kind::Access,
                Kind::CreditKind => &Kind::CreditKind,
                Kind::DebtKind => &Kind::DebtKind,
                Kind::Enum => &Kind::Enum,
                Kind::EnumValue => &Kind::EnumValue,
                Kind::Let => &Kind::Let,
                Kind::Step => &Kind::Step,
                Kind::State => &Kind::State,
                Kind::Assertion => &Kind::Assertion,
                _ => &Kind::Rule,
            }),
        };
        if sym.kind == Kind::EnumValue {
            let taken = self
                .symbols
                .iter()
                .any(|v| v.kind == Kind::EnumValue && v.parent == sym.parent && &*v.name == new);
            return taken.then(|| format!("the enum already has a value `{new}`"));
        }
        if sym.kind == Kind::Let && BUILTINS.iter().any(|(n, _)| *n == new) {
            return Some(format!("`{new}` is a built-in name"));
        }
        if sym.kind == Kind::Enum && BASE_TYPES.contains(&new) {
            return Some(format!("`{new}` is a base type"));
        }
        if sym.kind == Kind::Rule {
            // Rule codes are unique per kind of rule (deny, warn, effect).
            let keyword = self.decls.get(sym.decl).map(|d| d.keyword);
            let taken = self.symbols.iter().any(|r| {
                r.kind == Kind::Rule
                    && &*r.name == new
                    && self.decls.get(r.decl).map(|d| d.keyword) == keyword
            });
            return taken.then(|| format!("a {} rule `{new}` exists", keyword.unwrap_or("")));
        }
        for &k in kinds {
            if let Some(other) = self.lookup(k, new) {
                if other != s {
                    return Some(format!("`{new}` is already a {}", k.words()));
                }
            }
        }
        None
    }
}

struct Builder {
    index: Index,
    /// The domain each `let`'s value has, when it is a set of names.
    let_domains: HashMap<Arc<str>, Domain>,
    /// The domain of each field or grant attribute with an enum type.
    field_domains: HashMap<usize, Domain>,
}

impl Builder {
    fn decl(&mut self, span: Span, docs: &[String], keyword: &'static str) -> usize {
        self.index.decls.push(Decl {
            span,
            docs: docs.to_vec(),
            keyword,
            parent: None,
        });
        self.index.decls.len() - 1
    }

    /// Declares a name; a second declaration of it is a use of the first
    /// (the checker reports it as a duplicate).
    fn define(
        &mut self,
        kind: Kind,
        name: Arc<str>,
        span: Span,
        decl: usize,
        parent: Option<usize>,
    ) -> usize {
        let key = (kind, Arc::clone(&name));
        if let Some(&first) = self.index.by_name.get(&key) {
            // An enum value is per enum: the same word in two enums is two values.
            let same_parent = self.index.symbols.get(first).map(|s| s.parent) == Some(parent);
            if kind != Kind::EnumValue || same_parent {
                self.refer(span, first);
                return first;
            }
        }
        self.index.symbols.push(Symbol {
            kind,
            name,
            span,
            decl,
            parent,
        });
        let s = self.index.symbols.len() - 1;
        self.index.by_name.entry(key).or_insert(s);
        if kind == Kind::EnumValue {
            let name = self.index.symbols.get(s).map(|v| Arc::clone(&v.name));
            if let Some(name) = name {
                self.index.values.entry(name).or_default().push(s);
            }
        }
        s
    }

    fn refer(&mut self, span: Span, s: usize) {
        self.index.refs.push(Reference {
            span,
            target: Target::Symbol(s),
        });
    }

    fn builtin(&mut self, span: Span, name: &'static &'static str) {
        self.index.refs.push(Reference {
            span,
            target: Target::Builtin(name),
        });
    }

    fn lookup(&self, kind: Kind, name: &str) -> Option<usize> {
        self.index.lookup(kind, name)
    }

    /// Uses of `ident` as a name of `kind`; unknown names are left alone.
    fn refer_name(&mut self, kind: Kind, ident: &ast::Ident) {
        if let Some(s) = self.lookup(kind, &ident.name) {
            self.refer(ident.span, s);
        }
    }

    /// An action or a category, as `permit` and `on` name them.
    fn refer_action(&mut self, ident: &ast::Ident) {
        let s = self
            .lookup(Kind::Category, &ident.name)
            .or_else(|| self.lookup(Kind::Action, &ident.name));
        if let Some(s) = s {
            self.refer(ident.span, s);
        }
    }

    // ───────────── Declarations ─────────────

    fn declare(&mut self, item: &ast::Item) {
        let d = |b: &mut Builder, keyword| b.decl(item.span, &item.docs, keyword);
        match &item.kind {
            ItemKind::Policy(name) => {
                let decl = d(self, "policy");
                self.define(Kind::Policy, name.name.clone(), name.span, decl, None);
            }
            ItemKind::Role { name, access } => {
                let decl = d(self, "role");
                self.define(Kind::Role, name.name.clone(), name.span, decl, None);
                for a in access {
                    self.define(Kind::Access, a.name.clone(), a.span, decl, None);
                }
            }
            ItemKind::Actions { category, actions } => {
                let decl = d(self, "actions");
                let c = self.define(
                    Kind::Category,
                    category.name.clone(),
                    category.span,
                    decl,
                    None,
                );
                for a in actions {
                    self.define(Kind::Action, a.name.clone(), a.span, decl, Some(c));
                }
            }
            ItemKind::Credits(kinds) => {
                let decl = d(self, "credits");
                for k in kinds {
                    self.define(Kind::CreditKind, k.name.clone(), k.span, decl, None);
                }
            }
            ItemKind::Debts(kinds) => {
                let decl = d(self, "debts");
                for k in kinds {
                    self.define(Kind::DebtKind, k.name.clone(), k.span, decl, None);
                }
            }
            ItemKind::Enum { name, values } => {
                let decl = d(self, "enum");
                let e = self.define(Kind::Enum, name.name.clone(), name.span, decl, None);
                for v in values {
                    self.define(Kind::EnumValue, v.name.clone(), v.span, decl, Some(e));
                }
            }
            ItemKind::Let { name, .. } => {
                let decl = d(self, "let");
                self.define(Kind::Let, name.name.clone(), name.span, decl, None);
            }
            ItemKind::Step { name, .. } => {
                let decl = d(self, "step");
                self.define(Kind::Step, name.name.clone(), name.span, decl, None);
            }
            ItemKind::State { name, .. } => {
                let decl = d(self, "state");
                self.define(Kind::State, name.name.clone(), name.span, decl, None);
            }
            ItemKind::Field(f) => {
                let decl = d(self, "field");
                let (kind, name, span) = match &*f.path.segments {
                    [first, attr] if &*first.name == "grants" => {
                        (Kind::GrantAttr, attr.name.clone(), attr.span)
                    }
                    _ => (Kind::Field, Arc::from(f.path.dotted()), f.path.span()),
                };
                self.define(kind, name, span, decl, None);
            }
            ItemKind::On(block) => {
                let decl = d(self, "on");
                for rule in &block.rules {
                    let r = self.decl(rule.span, &rule.docs, rule.kind.keyword());
                    if let Some(x) = self.index.decls.get_mut(r) {
                        x.parent = Some(decl);
                    }
                    // Rule codes are unique per kind of rule, not across kinds.
                    self.index.symbols.push(Symbol {
                        kind: Kind::Rule,
                        name: rule.code.name.clone(),
                        span: rule.code.span,
                        decl: r,
                        parent: None,
                    });
                }
            }
            ItemKind::Permit { .. } => {
                d(self, "permit");
            }
            ItemKind::Lock(_) => {
                d(self, "lock");
            }
            ItemKind::Spend { .. } => {
                d(self, "spend");
            }
            ItemKind::Settle(_) => {
                d(self, "settle");
            }
            ItemKind::Shortfall(_) => {
                d(self, "shortfall");
            }
            ItemKind::Expire { .. } => {
                d(self, "expire");
            }
            ItemKind::Assert(a) => {
                let decl = d(self, "assert");
                self.define(
                    Kind::Assertion,
                    a.name.name.clone(),
                    a.name.span,
                    decl,
                    None,
                );
            }
        }
    }

    /// What needs every name declared: field types, `let` domains.
    fn declare_dependent(&mut self, item: &ast::Item) {
        match &item.kind {
            ItemKind::Field(f) => {
                let field = match &*f.path.segments {
                    [first, attr] if &*first.name == "grants" => {
                        self.lookup(Kind::GrantAttr, &attr.name)
                    }
                    _ => self.lookup(Kind::Field, &f.path.dotted()),
                };
                if let (Some(field), Some(e)) = (field, self.lookup(Kind::Enum, &f.ty.name)) {
                    // Only the field's own declaration, not a duplicate's.
                    if self.index.symbols.get(field).map(|s| s.span)
                        == Some(match &*f.path.segments {
                            [first, attr] if &*first.name == "grants" => attr.span,
                            _ => f.path.span(),
                        })
                    {
                        if let Some(s) = self.index.symbols.get_mut(field) {
                            s.parent = Some(e);
                        }
                        self.field_domains.insert(field, Domain::Enum(e));
                    }
                }
            }
            ItemKind::Let { name, value } => {
                if let Some(d) = self.domain(value, Scope::default(), 0) {
                    self.let_domains.entry(name.name.clone()).or_insert(d);
                }
            }
            _ => {}
        }
    }

    // ───────────── Uses ─────────────

    fn uses(&mut self, item: &ast::Item) {
        let scope = Scope::default();
        match &item.kind {
            ItemKind::Role { .. }
            | ItemKind::Policy(_)
            | ItemKind::Actions { .. }
            | ItemKind::Credits(_)
            | ItemKind::Debts(_)
            | ItemKind::Enum { .. } => {}
            ItemKind::Field(f) => {
                self.refer_name(Kind::Enum, &f.ty);
                if let Some(default) = &f.default {
                    let e = self.lookup(Kind::Enum, &f.ty.name).map(Domain::Enum);
                    self.expr(default, scope, e);
                }
            }
            ItemKind::Permit { role, to, except } => {
                self.refer_name(Kind::Role, role);
                if let PermitTargets::Names(names) = to {
                    for n in names {
                        self.refer_action(n);
                    }
                }
                for n in except {
                    self.refer_action(n);
                }
            }
            ItemKind::Lock(lock) => {
                for k in &lock.kinds {
                    self.refer_name(Kind::CreditKind, k);
                }
                self.expr(&lock.when, scope, None);
                if let Some(m) = &lock.message {
                    self.template(m, scope);
                }
                for k in &lock.may_settle {
                    self.refer_name(Kind::DebtKind, k);
                }
            }
            ItemKind::Spend { kinds, order } => {
                for k in kinds {
                    self.refer_name(Kind::CreditKind, k);
                }
                for key in order {
                    if GRANT_FIELDS.iter().all(|(n, _)| *n != &*key.field.name) {
                        self.refer_name(Kind::GrantAttr, &key.field);
                    }
                }
            }
            ItemKind::Settle(settle) => {
                for k in &settle.kinds {
                    self.refer_name(Kind::DebtKind, k);
                }
                for source in &settle.sources {
                    self.refer_name(Kind::DebtKind, &source.debt_kind);
                    for from in &source.from {
                        if let Some((n, _)) = BUILTINS.iter().find(|(n, _)| *n == &*from.name) {
                            self.builtin(from.span, n);
                        }
                    }
                    for k in &source.only {
                        self.refer_name(Kind::CreditKind, k);
                    }
                }
            }
            ItemKind::Let { value, .. } => self.expr(value, scope, None),
            ItemKind::Step { message, .. } => {
                if let Some(m) = message {
                    self.template(m, scope);
                }
            }
            ItemKind::State { when, .. } => {
                if let Some(w) = when {
                    self.expr(w, scope, None);
                }
            }
            ItemKind::On(block) => {
                for t in &block.targets {
                    if let OnTarget::Name(n) = t {
                        self.refer_action(n);
                    }
                }
                for rule in &block.rules {
                    if let Some(w) = &rule.when {
                        self.expr(w, scope, None);
                    }
                    if let Some(m) = &rule.message {
                        self.template(m, scope);
                    }
                    for clause in &rule.steps {
                        if let Audience::Access(a) = &clause.audience {
                            self.refer_name(Kind::Access, a);
                        }
                        for s in &clause.steps {
                            self.refer_name(Kind::Step, &s.step);
                            if let Some(w) = &s.when {
                                self.expr(w, scope, None);
                            }
                        }
                    }
                    for p in &rule.params {
                        self.expr(&p.value, scope, None);
                    }
                }
            }
            ItemKind::Shortfall(s) => {
                self.refer_name(Kind::DebtKind, &s.becomes);
                if let Some(w) = &s.when {
                    self.expr(w, scope, None);
                }
            }
            ItemKind::Expire { kinds, after } => {
                for k in kinds {
                    self.refer_name(Kind::CreditKind, k);
                }
                self.expr(after, scope, None);
            }
            ItemKind::Assert(a) => {
                for who in &a.roles {
                    match who {
                        ast::Who::Role(n) => self.refer_name(Kind::Role, n),
                        ast::Who::Access(n) => self.refer_name(Kind::Access, n),
                    }
                }
                for n in &a.actions {
                    self.refer_action(n);
                }
                if let Some(w) = &a.when {
                    self.expr(w, scope, None);
                }
                self.claim(&a.claim);
            }
        }
    }

    /// The names an assertion's claim uses: states, steps, rule codes.
    fn claim(&mut self, claim: &ast::Claim) {
        let mut todo = vec![claim];
        while let Some(c) = todo.pop() {
            todo.extend(c.children());
            let ast::ClaimKind::Fact(fact) = &c.kind else {
                continue;
            };
            match fact {
                ast::Fact::State(n) => self.refer_name(Kind::State, n),
                ast::Fact::Step(n) => self.refer_name(Kind::Step, n),
                ast::Fact::StepsOnly(names) => {
                    for n in names {
                        self.refer_name(Kind::Step, n);
                    }
                }
                ast::Fact::Reason(n) => self.refer_rule("deny", n),
                ast::Fact::Warning(n) => self.refer_rule("warn", n),
                ast::Fact::Effect(n) => self.refer_rule("effect", n),
                _ => {}
            }
        }
    }

    /// A use of the code of a `keyword` rule (`deny`, `warn`, `effect`):
    /// the first rule of that kind with the code.
    fn refer_rule(&mut self, keyword: &str, ident: &ast::Ident) {
        let ix = &self.index;
        let s = ix.symbols.iter().position(|s| {
            s.kind == Kind::Rule
                && s.name == ident.name
                && ix.decls.get(s.decl).map(|d| d.keyword) == Some(keyword)
        });
        if let Some(s) = s {
            self.refer(ident.span, s);
        }
    }

    fn template(&mut self, t: &ast::Template, scope: Scope) {
        for part in &t.parts {
            if let ast::TemplatePart::Value(v) = part {
                self.path(&v.path.segments, scope, None);
            }
        }
    }

    /// Records the names in an expression. Expressions nest at most
    /// [`crate::parse::MAX_EXPR_DEPTH`] deep (the parser refuses deeper
    /// ones), so the recursion is bounded.
    fn expr(&mut self, e: &ast::Expr, scope: Scope, expect: Option<Domain>) {
        match &e.kind {
            ExprKind::Name(_) | ExprKind::Path(_) => {
                e.with_path(|path| self.path(path, scope, expect));
            }
            ExprKind::Unary(_, x) => self.expr(x, scope, None),
            ExprKind::Binary(op, ab) => {
                let [a, b] = &**ab;
                let d = match op {
                    BinaryOp::Eq
                    | BinaryOp::Ne
                    | BinaryOp::Lt
                    | BinaryOp::Le
                    | BinaryOp::Gt
                    | BinaryOp::Ge => self
                        .domain(a, scope, 0)
                        .or_else(|| self.domain(b, scope, 0)),
                    BinaryOp::Default => expect.or_else(|| self.domain(a, scope, 0)),
                    _ => None,
                };
                self.expr(a, scope, d);
                self.expr(b, scope, d);
            }
            ExprKind::In { value, set, .. } => {
                let d = self.domain(value, scope, 0);
                self.expr(value, scope, None);
                match set.as_ref() {
                    InSet::List(items) => {
                        for i in items {
                            self.expr(i, scope, d);
                        }
                    }
                    InSet::Names(names) => {
                        for n in names.iter() {
                            self.path(std::slice::from_ref(n), scope, d);
                        }
                    }
                    InSet::Named(p) => {
                        if let Some(c) = self.lookup(Kind::Category, &p.dotted()) {
                            self.refer(p.span(), c);
                        }
                    }
                }
            }
            ExprKind::Aggregate { op, of, filter } => {
                if let ast::Aggregate::Sum(field) = op {
                    self.item_field(field, *of);
                }
                if let Some(f) = filter {
                    self.expr(f, Scope { item: Some(*of) }, None);
                }
            }
            ExprKind::Number(_)
            | ExprKind::Duration(_)
            | ExprKind::Months(_)
            | ExprKind::Text(_)
            | ExprKind::Bool(_)
            | ExprKind::Invalid => {}
        }
    }

    /// A field of a grant or debt, by name (`remaining`, `priority`).
    fn item_field(&mut self, ident: &ast::Ident, of: Collection) -> bool {
        let fields = match of {
            Collection::Grants => GRANT_FIELDS,
            Collection::Debts => DEBT_FIELDS,
        };
        if let Some((n, _)) = fields.iter().find(|(n, _)| *n == &*ident.name) {
            self.builtin(ident.span, n);
            return true;
        }
        if of == Collection::Grants {
            if let Some(a) = self.lookup(Kind::GrantAttr, &ident.name) {
                self.refer(ident.span, a);
                return true;
            }
        }
        false
    }

    fn domain_has(&self, d: Domain, name: &str) -> Option<usize> {
        match d {
            Domain::Enum(e) => self.index.values.get(name).and_then(|vs| {
                vs.iter().copied().find(|&v| {
                    self.index
                        .symbols
                        .get(v)
                        .is_some_and(|v| v.parent == Some(e))
                })
            }),
            Domain::Roles => self.lookup(Kind::Role, name),
            Domain::Actions => self.lookup(Kind::Action, name),
            Domain::Credits => self.lookup(Kind::CreditKind, name),
            Domain::Debts => self.lookup(Kind::DebtKind, name),
        }
    }

    fn path(&mut self, segments: &[ast::Ident], scope: Scope, expect: Option<Domain>) {
        let dotted = || {
            segments
                .iter()
                .map(|s| &*s.name)
                .collect::<Vec<_>>()
                .join(".")
        };
        let Some(first) = segments.first() else {
            return;
        };
        if let [_, rest @ ..] = segments {
            if !rest.is_empty() {
                let declared = self.lookup(Kind::Field, &dotted());
                match (&*first.name, rest, declared) {
                    (_, _, Some(f)) => {
                        let span = first.span.to(rest.last().map_or(first.span, |l| l.span));
                        self.refer(span, f);
                    }
                    ("before", _, None) => self.path(rest, scope, expect),
                    ("grant", [field], None) => {
                        self.item_field(field, Collection::Grants);
                    }
                    ("debt", [kind], None) => self.refer_name(Kind::DebtKind, kind),
                    ("charge" | "refund", [_], None) => {
                        let d = dotted();
                        if let Some((n, _)) = OPERATION_NAMES.iter().find(|(n, _)| *n == d) {
                            let span = first.span.to(rest.last().map_or(first.span, |l| l.span));
                            self.builtin(span, n);
                        }
                    }
                    _ => {}
                }
                return;
            }
        }
        let name = &*first.name;
        if let Some(d) = expect {
            if let Some(v) = self.domain_has(d, name) {
                self.refer(first.span, v);
                return;
            }
        }
        if let Some(of) = scope.item {
            if self.item_field(first, of) {
                return;
            }
        }
        if let Some((n, _)) = BUILTINS.iter().find(|(n, _)| *n == name) {
            self.builtin(first.span, n);
            return;
        }
        if let Some(l) = self.lookup(Kind::Let, name) {
            self.refer(first.span, l);
            return;
        }
        if let Some(f) = self.lookup(Kind::Field, name) {
            self.refer(first.span, f);
            return;
        }
        if expect.is_none() {
            // A value compared with nothing known: a value of exactly one
            // enum is that one.
            if let Some(&[v]) = self.index.values.get(name).map(Vec::as_slice) {
                self.refer(first.span, v);
            }
        }
    }

    /// The set of names a value of `e` is one of, if it is such a value.
    fn domain(&self, e: &ast::Expr, scope: Scope, depth: usize) -> Option<Domain> {
        if depth > 8 {
            return None;
        }
        match &e.kind {
            ExprKind::Name(_) | ExprKind::Path(_) => e
                .with_path(|path| self.path_domain(path, scope, depth))
                .flatten(),
            ExprKind::Binary(BinaryOp::Default, ab) => {
                let [a, b] = &**ab;
                self.domain(a, scope, depth + 1)
                    .or_else(|| self.domain(b, scope, depth + 1))
            }
            _ => None,
        }
    }

    fn path_domain(&self, segments: &[ast::Ident], scope: Scope, depth: usize) -> Option<Domain> {
        if depth > 8 {
            return None;
        }
        let names: Vec<&str> = segments.iter().map(|s| &*s.name).collect();
        if names.len() > 1 {
            if let Some(f) = self.lookup(Kind::Field, &names.join(".")) {
                return self.field_domains.get(&f).copied();
            }
        }
        match names.as_slice() {
            ["before", ..] => self.path_domain(segments.get(1..)?, scope, depth + 1),
            ["grant", "kind"] => Some(Domain::Credits),
            ["grant", attr] => {
                let a = self.lookup(Kind::GrantAttr, attr)?;
                self.field_domains.get(&a).copied()
            }
            ["kind"] if scope.item == Some(Collection::Grants) => Some(Domain::Credits),
            ["kind"] if scope.item == Some(Collection::Debts) => Some(Domain::Debts),
            [attr]
                if scope.item == Some(Collection::Grants)
                    && self.lookup(Kind::GrantAttr, attr).is_some() =>
            {
                let a = self.lookup(Kind::GrantAttr, attr)?;
                self.field_domains.get(&a).copied()
            }
            ["role"] => Some(Domain::Roles),
            ["action"] => Some(Domain::Actions),
            [name] => self.let_domains.get(*name).copied(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::Source;

    /// A dense policy holds millions of references: four million of an
    /// 8 MB policy were 128 MB at 32 bytes each.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn references_stay_small() {
        assert_eq!(std::mem::size_of::<Reference>(), 24);
    }

    fn index(text: &str) -> (Index, String) {
        let parsed = crate::parse::parse(&Source::new("t", text));
        (Index::build(&parsed.policy), text.to_owned())
    }

    /// The symbol used or declared at the `n`th occurrence of `word`.
    fn at(ix: &Index, text: &str, word: &str, n: usize) -> Option<(Kind, String)> {
        let bytes = text.as_bytes();
        let word_char = |i: usize| {
            bytes
                .get(i)
                .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
        };
        let off = text
            .match_indices(word)
            .map(|(i, _)| i)
            .filter(|&i| i == 0 || !word_char(i - 1))
            .nth(n)?;
        match ix.at(off)? {
            (_, Target::Symbol(s)) => ix.symbols.get(s).map(|s| (s.kind, s.name.to_string())),
            (_, Target::Builtin(b)) => Some((Kind::Policy, format!("builtin {b}"))),
        }
    }

    #[test]
    fn names_resolve_by_what_they_are_compared_with() {
        let text = "policy p\nrole owner with billing access\nrole member\n\
            actions paid: run\nactions free: look\n\
            credits included\ndebts overrun\n\
            enum status: active, ended\nenum other: active, gone\n\
            field sub.status: status default active\n\
            let s = sub.status\n\
            state a when s == ended and role == owner\n\
            state b when action in [run, look] or sub.status in [active]\n\
            state c when count of grants where kind == included > 0\n\
            state d when debt.overrun > 0 and gone == gone\nstate ok otherwise\n\
            permit owner to paid, look\n\
            on paid { deny x when action in free { steps for billing access { y } } }\n\
            step y \"Y {sub.status}\"\n";
        let (ix, t) = index(text);
        let status = |n| at(&ix, &t, "status", n);
        assert_eq!(status(1), Some((Kind::Field, "sub.status".into())));
        assert_eq!(
            at(&ix, &t, "ended", 1),
            Some((Kind::EnumValue, "ended".into()))
        );
        // `default active` and `in [active]` are `status`'s value, not `other`'s.
        let active = |n| match ix.at(t.match_indices("active").nth(n).map_or(0, |m| m.0)) {
            Some((_, Target::Symbol(s))) => ix.symbols.get(s).and_then(|s| s.parent),
            _ => None,
        };
        let status_enum = ix.lookup(Kind::Enum, "status");
        assert_eq!(active(2), status_enum);
        assert_eq!(active(3), status_enum);
        assert_eq!(at(&ix, &t, "owner", 1), Some((Kind::Role, "owner".into())));
        assert_eq!(at(&ix, &t, "owner", 2), Some((Kind::Role, "owner".into())));
        assert_eq!(at(&ix, &t, "run", 1), Some((Kind::Action, "run".into())));
        assert_eq!(at(&ix, &t, "look", 1), Some((Kind::Action, "look".into())));
        assert_eq!(at(&ix, &t, "look", 2), Some((Kind::Action, "look".into())));
        assert_eq!(
            at(&ix, &t, "included", 1),
            Some((Kind::CreditKind, "included".into()))
        );
        assert_eq!(
            at(&ix, &t, "overrun", 1),
            Some((Kind::DebtKind, "overrun".into()))
        );
        assert_eq!(
            at(&ix, &t, "gone", 1),
            Some((Kind::EnumValue, "gone".into()))
        );
        assert_eq!(
            at(&ix, &t, "free", 1),
            Some((Kind::Category, "free".into()))
        );
        assert_eq!(
            at(&ix, &t, "paid", 2),
            Some((Kind::Category, "paid".into()))
        );
        assert_eq!(
            at(&ix, &t, "billing", 1),
            Some((Kind::Access, "billing".into()))
        );
        assert_eq!(at(&ix, &t, "y ", 0), Some((Kind::Step, "y".into())));
        assert_eq!(at(&ix, &t, "s ==", 0), Some((Kind::Let, "s".into())));
        assert_eq!(
            at(&ix, &t, "kind ==", 0),
            Some((Kind::Policy, "builtin kind".into()))
        );
        // The step message's interpolation.
        assert_eq!(status(4), Some((Kind::Field, "sub.status".into())));
    }

    /// Every name in the reference policies resolves: the index knows
    /// every name the checker accepts there.
    #[test]
    fn every_name_in_the_reference_policies_resolves() {
        for name in ["ampere", "api_platform", "messaging"] {
            let path = format!("{}/policies/{name}.policy", env!("CARGO_MANIFEST_DIR"));
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(!text.is_empty(), "{path}");
            let parsed = crate::parse::parse(&Source::new(name, text.as_str()));
            let ix = Index::build(&parsed.policy);
            // Every identifier-like word that is a declared name somewhere,
            // outside comments and strings, is a reference or a declaration.
            let names: std::collections::HashSet<&str> = ix
                .symbols
                .iter()
                // Nothing names a rule, a state or the policy.
                .filter(|s| !matches!(s.kind, Kind::Rule | Kind::State | Kind::Policy))
                .map(|s| &*s.name)
                .collect();
            let comments: Vec<Span> = parsed.comments.clone();
            let mut missed = Vec::new();
            let bytes = text.as_bytes();
            let mut i = 0;
            let mut in_string = false;
            while i < bytes.len() {
                let c = bytes.get(i).copied().unwrap_or(0);
                if c == b'"' {
                    in_string = !in_string;
                    i += 1;
                    continue;
                }
                if c == b'/' && bytes.get(i + 1) == Some(&b'/') {
                    while i < bytes.len() && bytes.get(i) != Some(&b'\n') {
                        i += 1;
                    }
                    continue;
                }
                if c == b'\n' {
                    in_string = false;
                }
                if (c.is_ascii_alphabetic() || c == b'_') && !in_string {
                    let start = i;
                    while bytes
                        .get(i)
                        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
                    {
                        i += 1;
                    }
                    let word = text.get(start..i).unwrap_or("");
                    let after_dot = start > 0 && bytes.get(start - 1) == Some(&b'.');
                    let before_dot = bytes.get(i) == Some(&b'.');
                    if names.contains(word)
                        && !after_dot
                        && !before_dot
                        && ix.at(start).is_none()
                        && !comments
                            .iter()
                            .any(|c| c.start as usize <= start && start < c.end as usize)
                    {
                        let line = text.get(..start).unwrap_or("").matches('\n').count() + 1;
                        missed.push(format!("{name}:{line} `{word}`"));
                    }
                    continue;
                }
                i += 1;
            }
            assert!(missed.is_empty(), "unresolved: {missed:#?}");
        }
    }

    #[test]
    fn clashes_follow_namespaces() {
        let (ix, _) = index(
            "policy p\nactions a: x, y\nlet l = 1\nlet m = l\nenum e: v, w\nenum f: v\nrole r\n",
        );
        let x = ix.lookup(Kind::Action, "x").unwrap_or(usize::MAX);
        assert!(ix.clashes(x, "y").is_some());
        assert!(ix.clashes(x, "a").is_some());
        assert!(ix.clashes(x, "r").is_none());
        let l = ix.lookup(Kind::Let, "l").unwrap_or(usize::MAX);
        assert!(ix.clashes(l, "m").is_some());
        assert!(ix.clashes(l, "usable").is_some());
        assert!(ix.clashes(l, "n").is_none());
        let v = ix
            .symbols
            .iter()
            .position(|s| &*s.name == "v")
            .unwrap_or(usize::MAX);
        assert!(ix.clashes(v, "w").is_some());
        // Another enum's values are not in the way: `f`'s `v` may become `w`.
        let fv = ix
            .symbols
            .iter()
            .rposition(|s| &*s.name == "v")
            .unwrap_or(usize::MAX);
        assert_ne!(fv, v);
        assert!(ix.clashes(fv, "w").is_none());
        let e = ix.lookup(Kind::Enum, "e").unwrap_or(usize::MAX);
        assert!(ix.clashes(e, "text").is_some());
    }
}
