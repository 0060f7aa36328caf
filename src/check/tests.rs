//! Unit tests, compiled only under `#[cfg(test)]` (`mod tests` in `src/check.rs`).

use super::*;
use crate::parse::parse;

fn run(text: &str) -> CheckOutput {
    let source = Source::new("test.policy", text);
    let parsed = parse(&source);
    assert_eq!(parsed.diagnostics, vec![], "parse errors");
    check(&source, parsed.policy)
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
    let mut parsed = parse(&source);
    let mut checker = Checker::new(&source);
    checker.run(&mut parsed.policy);
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

/// The help of each diagnostic `let x = <expr>` gets, with `since` an
/// optional timestamp and `started` a required one.
fn helps_for(expr: &str) -> Vec<String> {
    let text = format!(
        "policy p\nrole member\nactions billable: run\npermit member to billable\n\
         credits included\nspend included by expires_at, id\n\
         field since: optional time\nfield started: time\n\
         let x = {expr}\nstate old when x > 7d\nstate ok otherwise\n"
    );
    run(&text)
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.help.clone().unwrap_or_default())
        .collect()
}

/// `now - since ?? now` is `(now - since) ?? now`: the author meant a
/// default for `since`, and the help says how `??` binds.
#[test]
fn a_default_that_binds_looser_than_arithmetic_is_explained() {
    let loose = "`??` binds looser than `+`, `-` and `*`";
    assert_eq!(
        helps_for("now - since ?? now"),
        [format!(
            "{loose}, so `now` is the default of `now - since`, not of `since`; write `now - (since ?? now)`"
        )]
    );
    assert_eq!(
        helps_for("since + 1d - 2d ?? now"),
        [format!(
            "{loose}, so `now` is the default of `since + 1d - 2d`, not of `since`; write `(since ?? now) + 1d - 2d`"
        )]
    );
    // A type error the grouping explains: a duration defaulted to a timestamp.
    assert_eq!(
        helps_for("now - started ?? now"),
        [format!(
            "{loose}, so `now` is the default of `now - started`, not of `started`; write `now - (started ?? now)`"
        )]
    );
    // Brackets say the author meant the grouping: the usual help stands.
    assert_eq!(
        helps_for("(now - since) ?? now"),
        ["say what to use when it is absent: `since ?? <default>`"]
    );
    assert_eq!(
        helps_for("(now - started) ?? now"),
        ["a default must have the type of the value it stands in for"]
    );
    // A long left side gets the usual help: the grouping would not fit.
    let long = format!("now - since{} ?? now", " + 1d".repeat(40));
    assert_eq!(
        helps_for(&long),
        ["say what to use when it is absent: `since ?? <default>`"]
    );
    assert_eq!(
        helps_for("now - (since) ?? now")[0],
        format!(
            "{loose}, so `now` is the default of `now - since`, not of `since`; write `now - (since ?? now)`"
        )
    );
}
