//! Unit tests, compiled only under `#[cfg(test)]` (`mod tests` in `src/check.rs`).

use super::*;
use crate::parse::parse;

fn run(text: &str) -> CheckOutput {
    let source = Source::new("test.policy", text);
    let parsed = parse(&source);
    assert_eq!(parsed.diagnostics, vec![], "parse errors");
    check(&source, &parsed.policy)
}

#[test]
fn the_reference_policy_checks_clean() {
    let out = run(include_str!("../../policies/ampere.policy"));
    assert_eq!(out.diagnostics, vec![], "{:#?}", out.diagnostics);
    let checked = out.checked.expect("checked");
    assert_eq!(checked.name, "ampere");
    assert_eq!(checked.roles.len(), 3);
    assert_eq!(checked.actions.len(), 22);
    assert_eq!(checked.states.len(), 5);
}

/// What one decision on the reference policy can cost, as the limits of
/// `src/check/cost.rs` count it: their doc comments quote these figures.
#[test]
fn the_reference_policy_costs_far_less_than_the_limits() {
    let text = include_str!("../../policies/ampere.policy");
    let source = Source::new("ampere.policy", text);
    let parsed = parse(&source);
    let mut checker = Checker::new(&source);
    checker.run(&parsed.policy);
    assert_eq!(checker.diags, vec![]);
    let w = &checker.work;
    eprintln!(
        "largest {} nodes, {} in all, {} walks, {} nodes per item",
        w.largest, w.nodes, w.walks, w.item_nodes
    );
    assert!(w.largest * 100 < MAX_EVAL_NODES, "{}", w.largest);
    assert!(w.nodes * 1000 < MAX_DECISION_NODES, "{}", w.nodes);
    assert_eq!((w.walks, w.item_nodes), (0, 0));
}
