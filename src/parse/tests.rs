use super::*;

fn parse_text(text: &str) -> Parsed {
    parse(&Source::new("test.policy", text))
}

#[test]
fn the_reference_policy_parses_cleanly() {
    let text = include_str!("../../policies/ampere.policy");
    let parsed = parse_text(text);
    assert_eq!(parsed.diagnostics, vec![], "{:#?}", parsed.diagnostics);
    assert!(parsed.policy.items.len() > 30);
}
