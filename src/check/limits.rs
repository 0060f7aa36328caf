//! How many of each declaration a policy may hold, checked before anything
//! is built from the counts.
//!
//! The compiled program numbers roles, actions, fields, lets, steps, states
//! and rules in 16 bits and credit and debt kinds in 32-bit sets; the
//! checker enforces these limits so that the compiler may rely on them.

use super::{Checker, errors};
use crate::ast::{self, ItemKind};
use crate::span::Span;

/// Most declarations of one kind a policy may hold: roles, actions,
/// categories, enums, values of one enum, fields, lets, steps, states, `on`
/// blocks and rules. Decisions and the compiled program store these
/// indices in 16 bits (`u16::MAX`); one more would name the wrong one.
pub const MAX_DECLARATIONS: usize = u16::MAX as usize;

/// Most credit kinds, and most debt kinds: the compiled program keeps a
/// set of kinds in one 32-bit word.
pub const MAX_KINDS: usize = 32;

/// Most attributes a grant may carry (`field grants.priority`): every
/// grant of every snapshot holds a value for each, so a snapshot of
/// 100,000 grants holds at most 6.4 million of them.
pub const MAX_GRANT_ATTRS: usize = 64;

/// Most cells in the roles × actions table of permissions and in the
/// `on` blocks × actions table of where rules apply (2^20: a thousand roles
/// by a thousand actions). Both are tables of bools in the checked policy
/// and the compiled program; a policy past this would need gigabytes.
pub const MAX_TABLE_CELLS: usize = 1 << 20;

impl Checker<'_> {
    /// Reports every count past its limit, at the first declaration past
    /// it, and notes whether the tables may be built.
    pub(super) fn limits(&mut self, policy: &ast::Policy) {
        let declared = |n: usize, span: Option<Span>| (n, span.unwrap_or_default());
        let out = &self.out;
        // How many there are, and where the first past `max` is.
        fn past<T>(items: &[T], max: usize, span: impl Fn(&T) -> Span) -> (usize, Span) {
            (items.len(), items.get(max).map(span).unwrap_or_default())
        }
        let most = MAX_DECLARATIONS;
        let mut counts = vec![
            ("roles", most, past(&out.roles, most, |r| r.span)),
            ("actions", most, past(&out.actions, most, |a| a.span)),
            (
                "action categories",
                most,
                past(&out.categories, most, |c| c.span),
            ),
            ("enums", most, past(&out.enums, most, |e| e.span)),
            ("fields", most, past(&out.fields, most, |f| f.span)),
            (
                "grant attributes",
                MAX_GRANT_ATTRS,
                past(&out.grant_attrs, MAX_GRANT_ATTRS, |f| f.span),
            ),
            ("steps", most, past(&out.steps, most, |s| s.span)),
            ("lets", most, past(&self.let_spans, most, |s| *s)),
            (
                "credit kinds",
                MAX_KINDS,
                past(&out.credit_kinds, MAX_KINDS, |k| k.span),
            ),
            (
                "debt kinds",
                MAX_KINDS,
                past(&out.debt_kinds, MAX_KINDS, |k| k.span),
            ),
        ];
        for (e, decl) in out.enums.iter().enumerate() {
            if decl.values.len() > MAX_DECLARATIONS {
                let span = self.enum_value_spans.get(&(e, MAX_DECLARATIONS)).copied();
                counts.push((
                    "values in one enum",
                    MAX_DECLARATIONS,
                    declared(decl.values.len(), span),
                ));
            }
        }
        // States, blocks and rules are counted from the tree: their checks
        // come later, and build per-block tables.
        let (mut states, mut blocks, mut rules) = ((0, None), (0, None), (0, None));
        let count = |c: &mut (usize, Option<Span>), span: Span| {
            c.0 += 1;
            if c.0 == MAX_DECLARATIONS + 1 {
                c.1 = Some(span);
            }
        };
        for item in &policy.items {
            match &item.kind {
                ItemKind::State { name, .. } => count(&mut states, name.span),
                ItemKind::On(block) => {
                    count(&mut blocks, item.span);
                    for rule in &block.rules {
                        count(&mut rules, rule.code.span);
                    }
                }
                _ => {}
            }
        }
        counts.push(("states", MAX_DECLARATIONS, declared(states.0, states.1)));
        counts.push((
            "`on` blocks",
            MAX_DECLARATIONS,
            declared(blocks.0, blocks.1),
        ));
        counts.push(("rules", MAX_DECLARATIONS, declared(rules.0, rules.1)));
        let over: Vec<_> = counts
            .into_iter()
            .filter(|(_, max, (n, _))| n > max)
            .map(|(what, max, (n, span))| errors::too_many(span, what, n, max))
            .collect();
        self.report_all(over);

        let actions = self.out.actions.len();
        let roles = self.out.roles.len();
        if roles.saturating_mul(actions) > MAX_TABLE_CELLS {
            let crossing = MAX_TABLE_CELLS / actions.max(1);
            let span = self
                .out
                .roles
                .get(crossing)
                .map(|r| r.span)
                .unwrap_or_default();
            self.report(errors::table_too_large(span, "roles", roles, actions));
            self.tables_fit = false;
        }
        if blocks.0.saturating_mul(actions) > MAX_TABLE_CELLS {
            let crossing = MAX_TABLE_CELLS / actions.max(1);
            let span = policy
                .items
                .iter()
                .filter(|i| matches!(i.kind, ItemKind::On(_)))
                .nth(crossing)
                .map(|i| i.span)
                .unwrap_or_default();
            self.report(errors::table_too_large(
                span,
                "`on` blocks",
                blocks.0,
                actions,
            ));
            self.tables_fit = false;
        }
    }
}
