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
