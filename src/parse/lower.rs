//! Lowering pest pairs into the AST, one function per construct.
//!
//! The grammar guarantees each pair's shape, but nothing here relies on it
//! with a panic: a pair that is not where the grammar puts it becomes an
//! `Invalid` node, so a grammar change can never crash the parser.

use std::collections::HashSet;
use std::str::FromStr;
use std::sync::Arc;

use pest::iterators::{Pair, Pairs};
use rust_decimal::Decimal;

use super::grammar::Rule;
use super::{MAX_EXPR_DEPTH, MAX_NAME_LEN, template};
use crate::ast::*;
use crate::diagnostic::{Code, Diagnostic};
use crate::span::Span;

/// The depth of an expression already reported as too deep: it stands as a
/// leaf, so that one excess is one diagnostic however many expressions
/// enclose it.
const REPORTED: usize = 1;

/// What the lowering keeps across a whole file. One shared copy of each
/// distinct name in a large policy: a policy names the same few things
/// over and over, and each use would otherwise hold its own allocation (a
/// list of 99,000 names held 99,000). A small policy is not worth the
/// hashing: its names are allocated one by one. And the count of the
/// file's `{…}` interpolations, which [`super::MAX_INTERPOLATIONS`] bounds.
#[derive(Debug, Default)]
pub(super) struct Names {
    shared: Option<HashSet<Arc<str>>>,
    /// Interpolations read so far in the file.
    pub(super) interpolations: usize,
}

/// Policies of this many bytes or more share their names.
const SHARED_NAMES_FROM: usize = 64 << 10;

impl Names {
    /// Names for a policy of `len` bytes.
    pub(super) fn for_policy(len: usize) -> Names {
        Names {
            shared: (len >= SHARED_NAMES_FROM).then(HashSet::new),
            interpolations: 0,
        }
    }

    /// The copy of `name` to keep.
    pub(super) fn get(&mut self, name: &str) -> Arc<str> {
        let Some(shared) = &mut self.shared else {
            return name.into();
        };
        if let Some(known) = shared.get(name) {
            return Arc::clone(known);
        }
        let new: Arc<str> = name.into();
        shared.insert(Arc::clone(&new));
        new
    }
}

/// Lowers one item's pairs; `offset` is where the item's text starts.
pub(super) struct Lower<'d> {
    offset: usize,
    diags: &'d mut Vec<Diagnostic>,
    names: &'d mut Names,
    /// A keyword was used as a name: the item is reported and dropped, as
    /// if it had not parsed.
    keyword_as_name: bool,
}

impl<'d> Lower<'d> {
    pub(super) fn new(
        offset: usize,
        diags: &'d mut Vec<Diagnostic>,
        names: &'d mut Names,
    ) -> Lower<'d> {
        Lower {
            offset,
            diags,
            names,
            keyword_as_name: false,
        }
    }

    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        Span::new(s.start() + self.offset, s.end() + self.offset)
    }

    fn report(&mut self, diagnostic: Diagnostic) {
        self.diags.push(diagnostic);
    }

    // ───────────── Items ─────────────

    /// Lowers the `item` pair of a chunk.
    pub(super) fn item(&mut self, pair: Pair<'_, Rule>) -> Option<Item> {
        let mut docs = Vec::new();
        let mut decl = None;
        for p in pair.into_inner() {
            if p.as_rule() == Rule::doc {
                docs.push(doc_text(p.as_str()));
            } else {
                decl = Some(p);
            }
        }
        let decl = decl?;
        // The declaration itself, without its doc comment.
        let span = self.span(&decl);
        let kind = match decl.as_rule() {
            Rule::policy_decl => ItemKind::Policy(self.first_ident(decl)?),
            Rule::role_decl => self.role(decl)?,
            Rule::actions_decl => {
                let mut names = self.idents(decl.into_inner());
                let category = take_first(&mut names)?;
                ItemKind::Actions {
                    category,
                    actions: names,
                }
            }
            Rule::credits_decl => ItemKind::Credits(self.idents(decl.into_inner())),
            Rule::debts_decl => ItemKind::Debts(self.idents(decl.into_inner())),
            Rule::enum_decl => {
                let mut names = self.idents(decl.into_inner());
                let name = take_first(&mut names)?;
                ItemKind::Enum {
                    name,
                    values: names,
                }
            }
            Rule::field_decl => ItemKind::Field(self.field(decl)?),
            Rule::permit_decl => self.permit(decl)?,
            Rule::lock_decl => ItemKind::Lock(self.lock(decl)?),
            Rule::spend_decl => {
                let (kinds, order, _) = self.ordered(decl);
                ItemKind::Spend { kinds, order }
            }
            Rule::settle_decl => {
                let (kinds, order, sources) = self.ordered(decl);
                ItemKind::Settle(SettleDecl {
                    kinds,
                    order,
                    sources,
                })
            }
            Rule::let_decl => {
                let mut inner = decl.into_inner();
                let name = self.ident(find(&mut inner, Rule::ident)?);
                let value = self.expr_or_invalid(find(&mut inner, Rule::expr), span);
                ItemKind::Let { name, value }
            }
            Rule::step_decl => {
                let mut inner = decl.into_inner();
                let name = self.ident(find(&mut inner, Rule::ident)?);
                let message = find(&mut inner, Rule::text).map(|t| self.text(t));
                ItemKind::Step { name, message }
            }
            Rule::state_decl => {
                let mut inner = decl.into_inner();
                let name = self.ident(find(&mut inner, Rule::ident)?);
                let when = find(&mut inner, Rule::expr).map(|e| self.expr(e));
                ItemKind::State { name, when }
            }
            Rule::on_block => ItemKind::On(self.on_block(decl)),
            Rule::shortfall_decl => ItemKind::Shortfall(self.shortfall(decl)?),
            Rule::expire_decl => {
                let span = self.span(&decl);
                let mut kinds = Vec::new();
                let mut after = None;
                for p in decl.into_inner() {
                    match p.as_rule() {
                        Rule::names => kinds = self.idents(p.into_inner()),
                        Rule::duration => after = Some(self.duration(&p)),
                        _ => {}
                    }
                }
                ItemKind::Expire {
                    kinds,
                    after: after.unwrap_or_else(|| invalid(span)),
                }
            }
            Rule::assert_decl => ItemKind::Assert(self.assertion(decl)?),
            _ => return None,
        };
        if self.keyword_as_name {
            return None;
        }
        Some(Item {
            docs: exact(docs),
            kind,
            span,
        })
    }

    fn role(&mut self, decl: Pair<'_, Rule>) -> Option<ItemKind> {
        let mut names = self.idents(decl.into_inner());
        let name = take_first(&mut names)?;
        Some(ItemKind::Role {
            name,
            access: names,
        })
    }

    /// `shortfall of charge is outstanding_usage [when ... | otherwise]`
    fn shortfall(&mut self, decl: Pair<'_, Rule>) -> Option<ShortfallDecl> {
        let mut names = Vec::new();
        let mut when = None;
        let mut otherwise = false;
        for p in decl.into_inner() {
            match p.as_rule() {
                Rule::ident => names.push(self.ident(p)),
                // `shortfall of settle`: a name here, refused by the checker.
                Rule::kw_settle => names.push(self.word(&p)),
                Rule::expr => when = Some(self.expr(p)),
                Rule::kw_otherwise => otherwise = true,
                _ => {}
            }
        }
        let operation = take_first(&mut names)?;
        let becomes = take_first(&mut names)?;
        Some(ShortfallDecl {
            operation,
            becomes,
            when,
            otherwise,
        })
    }

    fn field(&mut self, decl: Pair<'_, Rule>) -> Option<FieldDecl> {
        let mut path = None;
        let mut optional = false;
        let mut ty = None;
        let mut default = None;
        for p in decl.into_inner() {
            match p.as_rule() {
                Rule::path => path = Some(self.field_path(p)),
                Rule::kw_optional => optional = true,
                Rule::ident => ty = Some(self.ident(p)),
                Rule::expr => default = Some(self.expr(p)),
                _ => {}
            }
        }
        Some(FieldDecl {
            path: path?,
            optional,
            ty: ty?,
            default,
        })
    }

    fn permit(&mut self, decl: Pair<'_, Rule>) -> Option<ItemKind> {
        let mut role = None;
        let mut to = None;
        let mut except = Vec::new();
        let mut after_except = false;
        for p in decl.into_inner() {
            match p.as_rule() {
                Rule::ident => role = Some(self.ident(p)),
                Rule::kw_all => to = Some(PermitTargets::All(self.span(&p))),
                Rule::kw_except => after_except = true,
                Rule::names if after_except => except = self.idents(p.into_inner()),
                Rule::names => to = Some(PermitTargets::Names(self.idents(p.into_inner()))),
                _ => {}
            }
        }
        Some(ItemKind::Permit {
            role: role?,
            to: to?,
            except,
        })
    }

    fn lock(&mut self, decl: Pair<'_, Rule>) -> Option<LockDecl> {
        let span = self.span(&decl);
        let mut kinds = Vec::new();
        let mut when = None;
        let mut message = None;
        let mut may_settle = Vec::new();
        for p in decl.into_inner() {
            match p.as_rule() {
                Rule::names => kinds = self.idents(p.into_inner()),
                Rule::expr => when = Some(self.expr(p)),
                Rule::message_clause => self.message_clause(p, &mut message),
                Rule::may_settle => may_settle.extend(self.idents(p.into_inner())),
                _ => {}
            }
        }
        Some(LockDecl {
            kinds,
            when: when.unwrap_or(Expr {
                kind: ExprKind::Invalid,
                span,
            }),
            message,
            may_settle,
        })
    }

    /// The shared shape of `spend` and `settle`: kinds, `by` keys, sources.
    fn ordered(&mut self, decl: Pair<'_, Rule>) -> (Vec<Ident>, Vec<SortKey>, Vec<SettleSource>) {
        let mut kinds = Vec::new();
        let mut order = Vec::new();
        let mut sources = Vec::new();
        for p in decl.into_inner() {
            match p.as_rule() {
                Rule::names => kinds = self.idents(p.into_inner()),
                Rule::sort_keys => {
                    for key in p.into_inner() {
                        let mut inner = key.into_inner();
                        let Some(field) = find(&mut inner, Rule::ident) else {
                            continue;
                        };
                        let field = self.ident(field);
                        let descending = inner.any(|k| k.as_rule() == Rule::kw_desc);
                        order.push(SortKey { field, descending });
                    }
                }
                Rule::settle_source => {
                    let mut names = Vec::new();
                    let mut only = Vec::new();
                    for part in p.into_inner() {
                        match part.as_rule() {
                            Rule::ident => names.push(self.ident(part)),
                            Rule::names => names.extend(self.idents(part.into_inner())),
                            Rule::only_kinds => only = self.idents(part.into_inner()),
                            _ => {}
                        }
                    }
                    if let Some(debt_kind) = take_first(&mut names) {
                        sources.push(SettleSource {
                            debt_kind,
                            from: names,
                            only,
                        });
                    }
                }
                _ => {}
            }
        }
        (kinds, order, sources)
    }

    fn on_block(&mut self, decl: Pair<'_, Rule>) -> OnBlock {
        let mut targets = Vec::new();
        let mut rules = Vec::new();
        for p in decl.into_inner() {
            match p.as_rule() {
                Rule::on_targets => {
                    for t in p.into_inner() {
                        let span = self.span(&t);
                        targets.push(match t.as_rule() {
                            Rule::kw_forbidden => OnTarget::Forbidden(span),
                            Rule::kw_all => OnTarget::All(span),
                            // `on settle`: the keyword names the operation.
                            Rule::kw_settle => OnTarget::Name(self.word(&t)),
                            _ => OnTarget::Name(self.ident(t)),
                        });
                    }
                }
                Rule::rule => rules.extend(self.rule(p)),
                _ => {}
            }
        }
        OnBlock {
            targets: exact(targets),
            rules: exact(rules),
        }
    }

    // ───────────── Assertions ─────────────

    /// `assert NAME [for WHO, ...] [on WHAT, ...] [when EXPR]: CLAIM`
    fn assertion(&mut self, decl: Pair<'_, Rule>) -> Option<AssertDecl> {
        let mut name = None;
        let mut roles = Vec::new();
        let mut actions = Vec::new();
        let mut when = None;
        let mut claim = None;
        for p in decl.into_inner() {
            match p.as_rule() {
                Rule::ident => name = Some(self.ident(p)),
                Rule::assert_roles => {
                    for who in p.into_inner() {
                        let mut inner = who.into_inner();
                        let Some(n) = find(&mut inner, Rule::ident) else {
                            continue;
                        };
                        let n = self.ident(n);
                        let access = inner.any(|w| w.as_rule() == Rule::kw_access);
                        roles.push(if access { Who::Access(n) } else { Who::Role(n) });
                    }
                }
                Rule::assert_actions => {
                    for t in p.into_inner() {
                        match t.as_rule() {
                            // `on all`: the keyword stands as the name.
                            Rule::kw_all => actions.push(self.word(&t)),
                            Rule::ident => actions.push(self.ident(t)),
                            _ => {}
                        }
                    }
                }
                Rule::expr => when = Some(self.expr(p)),
                Rule::claim => {
                    let span = self.span(&p);
                    let (c, depth) = self.claim(p);
                    claim = Some(if depth > MAX_EXPR_DEPTH {
                        self.claim_too_deep(span)
                    } else {
                        c
                    });
                }
                _ => {}
            }
        }
        Some(AssertDecl {
            name: name?,
            roles: exact(roles),
            actions: exact(actions),
            when,
            claim: claim?,
        })
    }

    /// Reports a claim past [`MAX_EXPR_DEPTH`] and stands in for it, as
    /// [`Lower::too_deep`] does for expressions.
    fn claim_too_deep(&mut self, span: Span) -> Claim {
        self.report(
            Diagnostic::new(
                Code::TooDeep,
                span,
                format!("claim nests deeper than {MAX_EXPR_DEPTH} levels"),
            )
            .help("split it into several assertions"),
        );
        Claim {
            kind: ClaimKind::Invalid,
            span,
        }
    }

    /// Returns the claim and its depth. Recursion goes only through
    /// parentheses, which the chunk scan bounds.
    fn claim(&mut self, pair: Pair<'_, Rule>) -> (Claim, usize) {
        let span = self.span(&pair);
        let invalid = |span| {
            (
                Claim {
                    kind: ClaimKind::Invalid,
                    span,
                },
                REPORTED,
            )
        };
        match pair.as_rule() {
            // `a implies b`: one implication at most.
            Rule::claim => {
                let mut sides = Vec::with_capacity(2);
                for p in pair.into_inner() {
                    if p.as_rule() == Rule::claim_or {
                        sides.push(self.claim(p));
                    }
                }
                let mut sides = sides.into_iter();
                match (sides.next(), sides.next()) {
                    (Some(lhs), Some(rhs)) => {
                        let (c, depth) = claim_binary(ClaimKind::Implies, lhs, rhs);
                        self.claim_limit((c, depth), span)
                    }
                    (Some(one), None) => one,
                    _ => invalid(span),
                }
            }
            // `a or b and c`: `and` binds tighter, both left-associative.
            Rule::claim_or => {
                let mut ors: Option<(Claim, usize)> = None;
                let mut ands: Option<(Claim, usize)> = None;
                for p in pair.into_inner() {
                    match p.as_rule() {
                        Rule::kw_or => {
                            if let Some(rhs) = ands.take() {
                                ors = Some(claim_join(ClaimKind::Or, ors.take(), rhs));
                            }
                        }
                        Rule::kw_and => {}
                        _ => {
                            let operand = self.claim(p);
                            ands = Some(claim_join(ClaimKind::And, ands.take(), operand));
                        }
                    }
                    if [&ors, &ands]
                        .iter()
                        .any(|c| c.as_ref().is_some_and(|c| c.1 > MAX_EXPR_DEPTH))
                    {
                        return (self.claim_too_deep(span), REPORTED);
                    }
                }
                let whole = match (ors, ands) {
                    (ors, Some(rhs)) => claim_join(ClaimKind::Or, ors, rhs),
                    (Some(one), None) => one,
                    (None, None) => invalid(span),
                };
                self.claim_limit(whole, span)
            }
            // `never never (a)`
            Rule::claim_clause => {
                let mut nevers = Vec::new();
                let mut acc = None;
                for p in pair.into_inner() {
                    match p.as_rule() {
                        Rule::kw_never => nevers.push(self.span(&p)),
                        _ => acc = Some(self.claim(p)),
                    }
                }
                if nevers.len() > MAX_EXPR_DEPTH {
                    return (self.claim_too_deep(span), REPORTED);
                }
                let Some(mut acc) = acc else {
                    return invalid(span);
                };
                for never in nevers.into_iter().rev() {
                    let whole = never.to(acc.0.span);
                    acc = (
                        Claim {
                            kind: ClaimKind::Not(Box::new(acc.0)),
                            span: whole,
                        },
                        acc.1 + 1,
                    );
                }
                self.claim_limit(acc, span)
            }
            Rule::fact => match self.fact(pair) {
                Some(fact) => (
                    Claim {
                        kind: ClaimKind::Fact(fact),
                        span,
                    },
                    1,
                ),
                None => invalid(span),
            },
            _ => invalid(span),
        }
    }

    /// A claim deeper than the limit becomes an error.
    fn claim_limit(&mut self, (c, depth): (Claim, usize), span: Span) -> (Claim, usize) {
        if depth > MAX_EXPR_DEPTH {
            (self.claim_too_deep(span), REPORTED)
        } else {
            (c, depth)
        }
    }

    /// `allow`, `deny CODE`, `steps only [a, b]`, `some warn`, ...
    fn fact(&mut self, pair: Pair<'_, Rule>) -> Option<Fact> {
        let all = pair.clone().into_inner();
        let mut inner = pair.into_inner();
        let first = inner.next()?;
        let second = inner.next();
        let name = |l: &mut Self| second.clone().map(|p| l.ident(p));
        Some(match first.as_rule() {
            Rule::kw_allow => Fact::Allow,
            Rule::kw_permitted => Fact::Permitted,
            Rule::kw_deny => match name(self) {
                Some(code) => Fact::Reason(code),
                None => Fact::Deny,
            },
            Rule::kw_state => Fact::State(name(self)?),
            Rule::kw_step => Fact::Step(name(self)?),
            Rule::kw_warn => Fact::Warning(name(self)?),
            Rule::kw_effect => Fact::Effect(name(self)?),
            Rule::kw_steps => Fact::StepsOnly(self.idents(all)),
            Rule::kw_some => match second.map(|p| p.as_rule()) {
                Some(Rule::kw_step) => Fact::SomeStep,
                Some(Rule::kw_warn) => Fact::SomeWarning,
                Some(Rule::kw_effect) => Fact::SomeEffect,
                _ => return None,
            },
            _ => return None,
        })
    }

    // ───────────── Rules ─────────────

    fn rule(&mut self, pair: Pair<'_, Rule>) -> Option<crate::ast::Rule> {
        let mut docs = Vec::new();
        let mut body = None;
        for p in pair.into_inner() {
            if p.as_rule() == Rule::doc {
                docs.push(doc_text(p.as_str()));
            } else {
                body = Some(p);
            }
        }
        let body = body?;
        let span = self.span(&body);
        let kind = match body.as_rule() {
            Rule::deny_rule => RuleKind::Deny,
            Rule::warn_rule => RuleKind::Warn,
            Rule::effect_rule => RuleKind::Effect,
            _ => return None,
        };
        let mut code = None;
        let mut when = None;
        let mut message = None;
        let mut steps = Vec::new();
        let mut params = Vec::new();
        let mut even_if_denied = false;
        for p in body.into_inner() {
            match p.as_rule() {
                Rule::ident => code = Some(self.ident(p)),
                Rule::even_if_denied => even_if_denied = true,
                Rule::expr => when = Some(self.expr(p)),
                Rule::message_clause => self.message_clause(p, &mut message),
                Rule::steps_clause => steps.push(self.steps_clause(p)),
                Rule::effect_param => {
                    let mut inner = p.into_inner();
                    if let Some(name) = find(&mut inner, Rule::ident) {
                        let name = self.ident(name);
                        let value = self.expr_or_invalid(find(&mut inner, Rule::expr), name.span);
                        params.push(EffectParam { name, value });
                    }
                }
                _ => {}
            }
        }
        Some(crate::ast::Rule {
            docs: exact(docs),
            kind,
            code: code?,
            when,
            message,
            steps: exact(steps),
            params: exact(params),
            even_if_denied,
            span,
        })
    }

    fn message_clause(&mut self, pair: Pair<'_, Rule>, slot: &mut Option<Template>) {
        let span = self.span(&pair);
        let Some(text) = pair.into_inner().find(|p| p.as_rule() == Rule::text) else {
            return;
        };
        let template = self.text(text);
        if let Some(first) = slot {
            let first = first.span;
            self.report(
                Diagnostic::new(
                    Code::Duplicate,
                    span,
                    "a second `message` for the same declaration",
                )
                .label("second message")
                .related(first, "first message")
                .help(
                    "keep one `message`; adjacent strings join, so a long message can span lines",
                ),
            );
        } else {
            *slot = Some(template);
        }
    }

    fn steps_clause(&mut self, pair: Pair<'_, Rule>) -> StepsClause {
        let span = self.span(&pair);
        let mut audience = Audience::Everyone;
        let mut steps = Vec::new();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::audience => {
                    let others = p
                        .clone()
                        .into_inner()
                        .find(|a| a.as_rule() == Rule::kw_others);
                    if let Some(o) = others {
                        audience = Audience::Others(self.span(&o));
                    } else if let Some(access) = p.into_inner().find(|a| a.as_rule() == Rule::ident)
                    {
                        audience = Audience::Access(self.ident(access));
                    }
                }
                Rule::step_use => {
                    let use_span = self.span(&p);
                    let mut inner = p.into_inner();
                    if let Some(step) = find(&mut inner, Rule::ident) {
                        let step = self.ident(step);
                        let when = find(&mut inner, Rule::expr).map(|e| self.expr(e));
                        steps.push(StepUse {
                            step,
                            when,
                            span: use_span,
                        });
                    }
                }
                _ => {}
            }
        }
        StepsClause {
            audience,
            steps: exact(steps),
            span,
        }
    }

    // ───────────── Names and text ─────────────

    /// A keyword standing as a name (`on settle`), unchecked.
    fn word(&mut self, pair: &Pair<'_, Rule>) -> Ident {
        Ident {
            name: self.names.get(pair.as_str()),
            span: self.span(pair),
        }
    }

    fn ident(&mut self, pair: Pair<'_, Rule>) -> Ident {
        let span = self.span(&pair);
        let name = pair.as_str();
        if pair.as_rule() == Rule::ident && super::is_keyword(name) {
            self.keyword_as_name = true;
            self.report(
                Diagnostic::new(
                    Code::Syntax,
                    span,
                    format!("`{name}` is a keyword and cannot be used as a name"),
                )
                .label("keyword used as a name")
                .help(format!("choose another name, such as `{name}_`")),
            );
        }
        if name.len() > MAX_NAME_LEN {
            self.report(
                Diagnostic::new(
                    Code::ValueOutOfRange,
                    span,
                    format!(
                        "name is {} bytes long, the limit is {MAX_NAME_LEN}",
                        name.len()
                    ),
                )
                .help("use a shorter name"),
            );
        }
        Ident {
            name: self.names.get(name),
            span,
        }
    }

    fn first_ident(&mut self, pair: Pair<'_, Rule>) -> Option<Ident> {
        let mut inner = pair.into_inner();
        find(&mut inner, Rule::ident).map(|p| self.ident(p))
    }

    /// Every name in `pairs`, looking through `names` lists.
    fn idents(&mut self, pairs: Pairs<'_, Rule>) -> Vec<Ident> {
        let mut out = Vec::new();
        for p in pairs {
            match p.as_rule() {
                Rule::ident => out.push(self.ident(p)),
                Rule::names => out.extend(self.idents(p.into_inner())),
                _ => {}
            }
        }
        exact(out)
    }

    /// A declared field's path: `grants.priority` declares an attribute of
    /// every grant, so there `grants` is a name, not the keyword.
    fn field_path(&mut self, pair: Pair<'_, Rule>) -> Path {
        let pairs = pair.into_inner();
        let mut segments = Vec::with_capacity(pairs.len());
        for (i, p) in pairs.enumerate() {
            if i == 0 && p.as_str() == "grants" {
                segments.push(self.word(&p));
            } else {
                segments.push(self.ident(p));
            }
        }
        Path {
            segments: segments.into_boxed_slice(),
        }
    }

    fn path(&mut self, pair: Pair<'_, Rule>) -> Path {
        // Sized from the pairs: `collect` starts a Vec at 4 items, and
        // trimming it to one left a hole in the heap at every name.
        let pairs = pair.into_inner();
        let mut segments = Vec::with_capacity(pairs.len());
        for p in pairs {
            segments.push(self.ident(p));
        }
        Path {
            segments: segments.into_boxed_slice(),
        }
    }

    /// A message: adjacent string literals joined, interpolations parsed.
    fn text(&mut self, pair: Pair<'_, Rule>) -> Template {
        let span = self.span(&pair);
        let mut parts = Vec::new();
        let mut literals = Vec::new();
        for string in pair.into_inner() {
            let Some(raw) = string.into_inner().next() else {
                continue;
            };
            let raw_start = self.span(&raw).start as usize;
            literals.push(raw.as_str().to_owned());
            template::parse(raw.as_str(), raw_start, &mut parts, self.diags, self.names);
        }
        template::merge_text(&mut parts);
        Template {
            parts: exact(parts),
            literals: exact(literals),
            span,
        }
    }

    // ───────────── Expressions ─────────────

    fn expr_or_invalid(&mut self, pair: Option<Pair<'_, Rule>>, span: Span) -> Expr {
        match pair {
            Some(p) => self.expr(p),
            None => invalid(span),
        }
    }

    /// Lowers an expression, refusing trees deeper than the limit: deeper
    /// trees would make every later recursive pass a stack-overflow risk.
    pub(super) fn expr(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let span = self.span(&pair);
        let (expr, depth) = self.node(pair);
        if depth > MAX_EXPR_DEPTH {
            return self.too_deep(span);
        }
        expr
    }

    /// Reports an expression past [`MAX_EXPR_DEPTH`] and stands in for it.
    /// The stand-in counts as a leaf ([`REPORTED`]), so the expressions
    /// around it do not report the same excess again.
    fn too_deep(&mut self, span: Span) -> Expr {
        self.report(
            Diagnostic::new(
                Code::TooDeep,
                span,
                format!("expression nests deeper than {MAX_EXPR_DEPTH} levels"),
            )
            .help("split it into named parts with `let`"),
        );
        invalid(span)
    }

    /// Returns the node and its depth.
    fn node(&mut self, pair: Pair<'_, Rule>) -> (Expr, usize) {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::expr => self.logic(pair),
            Rule::clause => self.clause(pair),
            Rule::arith => self.arith(pair),
            Rule::primary => match pair.into_inner().next() {
                Some(inner) => self.node(inner),
                None => (invalid(span), 1),
            },
            Rule::aggregate => self.aggregate(pair),
            Rule::number => (self.number(&pair), 1),
            Rule::duration => (self.duration(&pair), 1),
            Rule::bad_duration => {
                let text = pair.as_str();
                let unit =
                    text.trim_start_matches(|c: char| c.is_ascii_digit() || c == '_' || c == '.');
                self.report(
                    Diagnostic::new(
                        Code::InvalidNumber,
                        span,
                        format!("`{text}` is not a number or a duration: `{unit}` is not a unit"),
                    )
                    .label("unknown unit")
                    .help(
                        "a duration is a whole number and a unit: `s` seconds, `m` minutes, \
                         `h` hours, `d` days, `mo` months, `y` years (`90d`, `1y`)",
                    ),
                );
                (invalid(span), 1)
            }
            Rule::string => {
                let text = pair
                    .into_inner()
                    .next()
                    .map(|raw| template::unescape(raw.as_str()))
                    .unwrap_or_default();
                (expr(ExprKind::Text(text.into_boxed_str()), span), 1)
            }
            Rule::kw_true => (expr(ExprKind::Bool(true), span), 1),
            Rule::kw_false => (expr(ExprKind::Bool(false), span), 1),
            Rule::path => {
                let path = self.path(pair);
                match path.single() {
                    // A name standing alone: kept in the node.
                    Some(one) => (Expr::name(one), 1),
                    None => (expr(ExprKind::Path(path), span), 1),
                }
            }
            // A name standing alone as a list item (`list_item`).
            Rule::ident => (Expr::name(&self.ident(pair)), 1),
            _ => (invalid(span), 1),
        }
    }

    /// `a or b and c`: clauses joined by `or` and `and`, `and` binding
    /// tighter, both left-associative.
    fn logic(&mut self, pair: Pair<'_, Rule>) -> (Expr, usize) {
        let span = self.span(&pair);
        // The `or` chain so far, and the `and` chain being built.
        let mut ors: Option<(Expr, usize)> = None;
        let mut ands: Option<(Expr, usize)> = None;
        for p in pair.into_inner() {
            let op = match p.as_rule() {
                Rule::kw_or => BinaryOp::Or,
                Rule::kw_and => BinaryOp::And,
                Rule::bad_or => self.slip(&p, "||", "or"),
                Rule::bad_and => self.slip(&p, "&&", "and"),
                _ => {
                    let operand = self.node(p);
                    ands = Some(join(BinaryOp::And, ands.take(), operand));
                    continue;
                }
            };
            if op == BinaryOp::Or {
                if let Some(rhs) = ands.take() {
                    ors = Some(join(BinaryOp::Or, ors.take(), rhs));
                }
            }
            // Fold as we go and stop at the limit: a tree built deeper would
            // overflow the stack when dropped.
            if [&ors, &ands]
                .iter()
                .any(|e| e.as_ref().is_some_and(|e| e.1 > MAX_EXPR_DEPTH))
            {
                return (self.too_deep(span), REPORTED);
            }
        }
        let whole = match (ors, ands) {
            (ors, Some(rhs)) => join(BinaryOp::Or, ors, rhs),
            (Some(one), None) => one,
            (None, None) => (invalid(span), 1),
        };
        self.limit(whole, span)
    }

    /// `not a < b`, `a in [x, y]`: a comparison or membership test, or a
    /// plain value, under any number of `not`.
    fn clause(&mut self, pair: Pair<'_, Rule>) -> (Expr, usize) {
        let span = self.span(&pair);
        let mut nots = Vec::new();
        let mut inner = pair.into_inner().peekable();
        while let Some(p) = inner.next_if(|p| matches!(p.as_rule(), Rule::kw_not | Rule::bad_not)) {
            if p.as_rule() == Rule::bad_not {
                self.slip(&p, "!", "not");
            }
            nots.push(self.span(&p));
        }
        if nots.len() > MAX_EXPR_DEPTH {
            return (self.too_deep(span), REPORTED);
        }
        let Some(first) = inner.next() else {
            return (invalid(span), 1);
        };
        let lhs = self.node(first);
        let mut acc = match (inner.next(), inner.next()) {
            (Some(op), Some(rhs)) if op.as_rule() == Rule::in_op => {
                let negated = op.into_inner().any(|p| p.as_rule() == Rule::kw_not);
                let whole = lhs.0.span.to(self.span(&rhs));
                let (set, set_depth) = self.in_set(rhs);
                let kind = ExprKind::In {
                    value: Box::new(lhs.0),
                    set: Box::new(set),
                    negated,
                };
                (expr(kind, whole), lhs.1.max(set_depth) + 1)
            }
            (Some(op), Some(rhs)) => {
                let op = match op.as_str() {
                    "==" => BinaryOp::Eq,
                    "!=" => BinaryOp::Ne,
                    "<" => BinaryOp::Lt,
                    "<=" => BinaryOp::Le,
                    ">" => BinaryOp::Gt,
                    ">=" => BinaryOp::Ge,
                    _ => self.slip(&op, "=", "=="),
                };
                let rhs = self.node(rhs);
                binary(op, lhs, rhs)
            }
            _ => lhs,
        };
        for not in nots.into_iter().rev() {
            let whole = not.to(acc.0.span);
            acc = (
                expr(ExprKind::Unary(UnaryOp::Not, Box::new(acc.0)), whole),
                acc.1 + 1,
            );
        }
        self.limit(acc, span)
    }

    /// `-a * b + c ?? d`: operands under unary minus, joined by `??`
    /// (loosest), `+ -`, and `*` (tightest), all left-associative. Folded
    /// with an operator stack, without recursion.
    fn arith(&mut self, pair: Pair<'_, Rule>) -> (Expr, usize) {
        let span = self.span(&pair);
        let mut operands: Vec<(Expr, usize)> = Vec::new();
        let mut ops: Vec<BinaryOp> = Vec::new();
        let mut negs: Vec<Span> = Vec::new();
        for p in pair.into_inner() {
            let op = match p.as_rule() {
                Rule::neg => {
                    negs.push(self.span(&p));
                    continue;
                }
                Rule::coalesce_op => BinaryOp::Default,
                Rule::add_op if p.as_str() == "-" => BinaryOp::Sub,
                Rule::add_op => BinaryOp::Add,
                Rule::mul_op => BinaryOp::Mul,
                _ => {
                    if negs.len() > MAX_EXPR_DEPTH {
                        return (self.too_deep(span), REPORTED);
                    }
                    let mut operand = self.node(p);
                    for neg in negs.drain(..).rev() {
                        let whole = neg.to(operand.0.span);
                        operand = (
                            expr(ExprKind::Unary(UnaryOp::Neg, Box::new(operand.0)), whole),
                            operand.1 + 1,
                        );
                    }
                    operands.push(operand);
                    continue;
                }
            };
            while ops
                .last()
                .is_some_and(|&top| tightness(top) >= tightness(op))
            {
                reduce(&mut operands, &mut ops);
            }
            // Stop at the limit: a tree built deeper would overflow the
            // stack when dropped.
            if operands.last().is_some_and(|o| o.1 > MAX_EXPR_DEPTH) {
                return (self.too_deep(span), REPORTED);
            }
            ops.push(op);
        }
        while !ops.is_empty() {
            reduce(&mut operands, &mut ops);
        }
        let whole = match operands.pop() {
            Some(one) if operands.is_empty() => one,
            _ => (invalid(span), 1),
        };
        self.limit(whole, span)
    }

    /// An expression deeper than the limit becomes an error.
    fn limit(&mut self, (e, depth): (Expr, usize), span: Span) -> (Expr, usize) {
        if depth > MAX_EXPR_DEPTH {
            (self.too_deep(span), REPORTED)
        } else {
            (e, depth)
        }
    }

    fn in_set(&mut self, pair: Pair<'_, Rule>) -> (InSet, usize) {
        let Some(inner) = pair.into_inner().next() else {
            return (InSet::List(Vec::new()), 1);
        };
        if inner.as_rule() == Rule::path {
            return (InSet::Named(self.path(inner)), 1);
        }
        let pairs = inner.into_inner();
        // Names the grammar gave as names (`list_item`) are kept as names
        // at once, with no expression built for each on the way.
        if !pairs.is_empty() && pairs.clone().all(|p| p.as_rule() == Rule::ident) {
            let mut names = Vec::with_capacity(pairs.len());
            for p in pairs {
                names.push(self.ident(p));
            }
            return (InSet::Names(names.into_boxed_slice()), 2);
        }
        let mut depth = 1;
        // Sized once: a long list grown by doubling left its old copies
        // behind as holes in the heap.
        let mut items = Vec::with_capacity(pairs.len());
        for item in pairs {
            let (e, d) = self.node(item);
            depth = depth.max(d + 1);
            items.push(e);
        }
        // Items that lower to plain names all the same (`[a, (b)]`), each
        // exactly what `Expr::name` makes of it, are kept as names too.
        let plain = |e: &Expr| matches!(e.kind, ExprKind::Name(_));
        if !items.is_empty() && items.iter().all(plain) {
            let mut names = Vec::with_capacity(items.len());
            for e in items {
                if let ExprKind::Name(name) = e.kind {
                    names.push(Ident { name, span: e.span });
                }
            }
            return (InSet::Names(names.into_boxed_slice()), depth);
        }
        (InSet::List(exact(items)), depth)
    }

    fn aggregate(&mut self, pair: Pair<'_, Rule>) -> (Expr, usize) {
        let span = self.span(&pair);
        let mut op = Aggregate::Count;
        let mut of = Collection::Grants;
        let mut filter = None;
        let mut depth = 1;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::field_name => op = Aggregate::Sum(Box::new(self.ident(p))),
                Rule::collection if p.as_str() == "debts" => of = Collection::Debts,
                Rule::expr => {
                    let (e, d) = self.node(p);
                    depth = d + 1;
                    filter = Some(Box::new(e));
                }
                _ => {}
            }
        }
        (expr(ExprKind::Aggregate { op, of, filter }, span), depth)
    }

    fn number(&mut self, pair: &Pair<'_, Rule>) -> Expr {
        let span = self.span(pair);
        let digits: String = pair.as_str().chars().filter(|&c| c != '_').collect();
        match parse_amount(&digits) {
            Ok(n) => expr(ExprKind::Number(n), span),
            Err(why) => {
                self.report(
                    Diagnostic::new(
                        Code::InvalidNumber,
                        span,
                        format!("invalid number `{}`", pair.as_str()),
                    )
                    .label(why)
                    .help(format!(
                        "numbers have at most {} digits after the point and are at most 10^15",
                        crate::amount::MAX_SCALE
                    )),
                );
                invalid(span)
            }
        }
    }

    fn duration(&mut self, pair: &Pair<'_, Rule>) -> Expr {
        let span = self.span(pair);
        let text = pair.as_str();
        let unit_at = text
            .find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(text.len());
        let (digits, unit) = text.split_at(unit_at);
        let digits: String = digits.chars().filter(|&c| c != '_').collect();
        let n = i64::from_str(&digits).ok();
        let (per_unit, months): (i64, bool) = match unit {
            "y" => (12, true),
            "mo" => (1, true),
            "d" => (86_400, false),
            "h" => (3_600, false),
            "m" => (60, false),
            _ => (1, false),
        };
        let value = n.and_then(|n| n.checked_mul(per_unit));
        let kind = match value {
            Some(m) if months && m <= crate::time::MAX_DURATION_MONTHS => ExprKind::Months(m),
            Some(s) if !months && s <= crate::time::MAX_DURATION_SECONDS => ExprKind::Duration(s),
            _ => {
                self.report(
                    Diagnostic::new(
                        Code::InvalidNumber,
                        span,
                        format!("duration `{text}` is too long"),
                    )
                    .help(if months {
                        "calendar durations are at most 3000 months (250 years)"
                    } else {
                        "durations are at most 100000 days"
                    }),
                );
                return invalid(span);
            }
        };
        expr(kind, span)
    }

    /// Reports a habit from another language (`&&`, `=`) and carries on as
    /// if the right word had been written.
    fn slip(&mut self, pair: &Pair<'_, Rule>, wrote: &str, want: &str) -> BinaryOp {
        let span = self.span(pair);
        self.report(
            Diagnostic::new(
                Code::Syntax,
                span,
                format!("`{wrote}` is not an operator here"),
            )
            .label(format!("write `{want}`"))
            .help(format!(
                "policies write `{want}` where other languages write `{wrote}`"
            )),
        );
        match want {
            "or" => BinaryOp::Or,
            "and" => BinaryOp::And,
            _ => BinaryOp::Eq,
        }
    }
}

fn parse_amount(text: &str) -> Result<Decimal, &'static str> {
    crate::amount::parse(text).map_err(|e| e.reason())
}

/// How tightly an arithmetic operator binds.
fn tightness(op: BinaryOp) -> u8 {
    match op {
        BinaryOp::Default => 0,
        BinaryOp::Add | BinaryOp::Sub => 1,
        _ => 2,
    }
}

/// Replaces the top two operands by the top operator applied to them.
fn reduce(operands: &mut Vec<(Expr, usize)>, ops: &mut Vec<BinaryOp>) {
    let (Some(op), Some(rhs), Some(lhs)) = (ops.pop(), operands.pop(), operands.pop()) else {
        return;
    };
    operands.push(binary(op, lhs, rhs));
}

/// `lhs op rhs`, or `rhs` alone when there is nothing on the left yet.
fn join(op: BinaryOp, lhs: Option<(Expr, usize)>, rhs: (Expr, usize)) -> (Expr, usize) {
    match lhs {
        Some(lhs) => binary(op, lhs, rhs),
        None => rhs,
    }
}

/// `lhs op rhs`, spanning both, one level deeper than the deeper side.
fn binary(op: BinaryOp, (lhs, l): (Expr, usize), (rhs, r): (Expr, usize)) -> (Expr, usize) {
    let whole = lhs.span.to(rhs.span);
    let kind = ExprKind::Binary(op, Box::new([lhs, rhs]));
    (expr(kind, whole), l.max(r) + 1)
}

/// `lhs op rhs` of two claims, or `rhs` alone when there is nothing on the
/// left yet.
fn claim_join(
    op: fn(Box<Claim>, Box<Claim>) -> ClaimKind,
    lhs: Option<(Claim, usize)>,
    rhs: (Claim, usize),
) -> (Claim, usize) {
    match lhs {
        Some(lhs) => claim_binary(op, lhs, rhs),
        None => rhs,
    }
}

/// `lhs op rhs` of two claims, one level deeper than the deeper side.
fn claim_binary(
    op: fn(Box<Claim>, Box<Claim>) -> ClaimKind,
    (lhs, l): (Claim, usize),
    (rhs, r): (Claim, usize),
) -> (Claim, usize) {
    let span = lhs.span.to(rhs.span);
    (
        Claim {
            kind: op(Box::new(lhs), Box::new(rhs)),
            span,
        },
        l.max(r) + 1,
    )
}

fn expr(kind: ExprKind, span: Span) -> Expr {
    Expr { kind, span }
}

fn invalid(span: Span) -> Expr {
    expr(ExprKind::Invalid, span)
}

/// The first pair with `rule`, consuming the ones before it.
fn find<'i>(pairs: &mut Pairs<'i, Rule>, wanted: Rule) -> Option<Pair<'i, Rule>> {
    pairs.find(|p| p.as_rule() == wanted)
}

/// `items` without spare capacity. A `Vec` grows to 4 items at its first
/// push and doubles from there, so a rule's one `steps` clause or a
/// message's three parts would hold room for more all their life.
fn exact<T>(mut items: Vec<T>) -> Vec<T> {
    items.shrink_to_fit();
    items
}

fn take_first<T>(items: &mut Vec<T>) -> Option<T> {
    (!items.is_empty()).then(|| items.remove(0))
}

/// `/// text` → `text`
fn doc_text(raw: &str) -> String {
    let text = raw.strip_prefix("///").unwrap_or(raw);
    text.strip_prefix(' ').unwrap_or(text).trim_end().to_owned()
}
