//! What one decision may cost, bounded when the policy is checked.
//!
//! The evaluator (`src/decide/eval.rs`) evaluates a `let` again at every
//! read, and an aggregate walks every grant or debt, evaluating its `where`
//! filter for each. So the checker counts every expression as if the
//! `let`s it reads were written out in full ([`Deps::nodes`]), counts the
//! aggregate work it does for each grant or debt ([`Deps::item_nodes`]),
//! and adds up both over everything one decision can evaluate. Past the
//! limits below the policy is refused (`too_expensive`), so for every
//! accepted policy one decision evaluates at most
//! [`MAX_DECISION_NODES`] nodes plus [`MAX_AGGREGATE_WORK`] nodes for each
//! grant or debt the snapshot holds.

use super::expr::{Deps, MAX_EVAL_DEPTH};
use super::ir::TExpr;
use super::{Checker, errors};
use crate::span::Span;

/// Most nodes one expression may evaluate, counting every read of a `let`
/// as the let's own count (the evaluator evaluates a `let` again at every
/// read). A chain of `let`s each reading the one before twice doubles at
/// every link; this refuses it at the 13th link instead of letting 30
/// links (652 bytes) cost 2^30 nodes, 44 s per decision. The checker's
/// constant folding (the `constant_condition` lint) walks the same
/// expanded tree, so this bounds it too. The largest expression in
/// `policies/ampere.policy`, the condition of its `auto_recharge` effect,
/// counts 14 nodes; 10,000 is 700 times that, and evaluates in a fraction
/// of a millisecond.
pub const MAX_EVAL_NODES: usize = 10_000;

/// Most nodes one decision may evaluate: the sum of [`Deps::nodes`] over
/// every lock condition, state condition, rule condition, step condition,
/// effect parameter and message value of the policy (a decision evaluates
/// at most all of them). At the evaluator's 10 to 50 ns a node in release
/// builds this is at most about 50 ms: 127 states reading an 8,189-node
/// `let` (1,040,000 nodes) decide in 0.02 s. `policies/ampere.policy` counts
/// 116; every node of a policy is written with at least one byte of its
/// own, so a policy without `let`s past this would be over 1 MiB of
/// conditions alone.
pub const MAX_DECISION_NODES: usize = 1 << 20;

/// Most nodes one decision may evaluate for each grant or debt: every
/// aggregate (`sum … of`, `count of`) that the expressions of
/// [`MAX_DECISION_NODES`] read, counting each read of a `let` that holds
/// one, walks all the grants or all the debts and costs 1 per item plus
/// its `where` filter's nodes. A snapshot holds at most
/// [`crate::snapshot::MAX_ITEMS`] (100,000) of each, and a filter node
/// costs 20 to 35 ns on one item in release builds (decimal arithmetic the
/// most), so the aggregates of one decision cost at most about 0.4 s: the
/// costliest filter we found, 31 terms of `remaining * 3 +` (126 nodes),
/// decides on 100,000 grants in 0.42 s, 0.1 s of it reading the snapshot
/// (63 terms, allowed by a limit of 256, took 0.9 s). `policies/ampere.policy`
/// has no aggregates; 128 allows, say, 12 reads of a sum filtered on two
/// conditions, or 32 of one filtered on its kind. Before this bound, 5,000
/// aggregate `let`s read by 5,000 states made one decision on 100,000
/// grants take 33 s.
pub const MAX_AGGREGATE_WORK: usize = 128;

/// What everything one decision can evaluate costs together.
#[derive(Default)]
pub(super) struct Work {
    pub nodes: usize,
    pub walks: usize,
    pub item_nodes: usize,
    /// The most nodes of one expression counted.
    pub largest: usize,
    /// The expression that took `nodes` past [`MAX_DECISION_NODES`].
    nodes_over: Option<Span>,
    /// The expression that took `item_nodes` past [`MAX_AGGREGATE_WORK`].
    items_over: Option<Span>,
}

impl Checker<'_> {
    /// Refuses an expression past [`MAX_EVAL_DEPTH`], [`MAX_EVAL_NODES`]
    /// or [`MAX_AGGREGATE_WORK`] on its own. Called for every node as it is
    /// typed, so the first node past a limit is the one refused, and no
    /// expression larger than the limits is ever returned to be folded or
    /// read by a `let`.
    pub(super) fn within_limits(&mut self, t: &TExpr, deps: Deps) -> Option<()> {
        let what = || self.excerpt(t.span);
        let excess = if deps.depth > MAX_EVAL_DEPTH {
            errors::deep_through_lets(t.span, &what(), deps.depth)
        } else if deps.nodes > MAX_EVAL_NODES {
            errors::expression_too_large(t.span, &what(), deps.nodes)
        } else if deps.item_nodes > MAX_AGGREGATE_WORK {
            errors::expression_aggregates_too_much(t.span, &what(), deps.item_nodes, deps.walks)
        } else {
            return Some(());
        };
        self.report(excess);
        None
    }

    /// Adds an expression one decision may evaluate (a condition, an
    /// effect parameter, a message value) to the policy's totals.
    pub(super) fn evaluated(&mut self, span: Span, deps: Deps) {
        let w = &mut self.work;
        w.nodes = w.nodes.saturating_add(deps.nodes);
        w.walks = w.walks.saturating_add(deps.walks);
        w.item_nodes = w.item_nodes.saturating_add(deps.item_nodes);
        w.largest = w.largest.max(deps.nodes);
        if w.nodes > MAX_DECISION_NODES {
            w.nodes_over.get_or_insert(span);
        }
        if w.item_nodes > MAX_AGGREGATE_WORK {
            w.items_over.get_or_insert(span);
        }
    }

    /// Whether the totals so far are within the limits. The constant
    /// folding of conditions runs only then, so all of it together
    /// evaluates at most [`MAX_DECISION_NODES`] nodes.
    pub(super) fn within_budget(&self) -> bool {
        self.work.nodes_over.is_none()
    }

    /// Reports the totals past their limits, at the expression that took
    /// each past.
    pub(super) fn report_work(&mut self) {
        let w = &self.work;
        let (nodes, walks, item_nodes) = (w.nodes, w.walks, w.item_nodes);
        let (nodes_over, items_over) = (w.nodes_over, w.items_over);
        if let Some(span) = nodes_over {
            self.report(errors::decision_too_large(span, nodes));
        }
        if let Some(span) = items_over {
            self.report(errors::decision_aggregates_too_much(
                span, item_nodes, walks,
            ));
        }
    }

    /// The start of an expression's text, for a message.
    fn excerpt(&self, span: Span) -> String {
        let what = self.source.slice(span);
        match what.char_indices().nth(40) {
            Some((cut, _)) => format!("{}...", what.get(..cut).unwrap_or("")),
            None => what.to_owned(),
        }
    }
}
