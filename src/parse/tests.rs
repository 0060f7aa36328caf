//! Unit tests, compiled only under `#[cfg(test)]` (`mod tests` in `src/parse.rs`).

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

#[test]
fn the_keyword_list_matches_the_grammar() {
    use pest::Parser;
    let grammar = include_str!("../../grammar/policy.pest");
    let start = grammar.find("keyword = @{").unwrap();
    let end = start + grammar[start..].find(") ~ !ident_char").unwrap();
    let mut words: Vec<&str> = grammar[start..end].split('"').skip(1).step_by(2).collect();
    words.sort_unstable();
    assert_eq!(words, KEYWORDS);
    for w in KEYWORDS {
        assert!(
            grammar::PolicyParser::parse(grammar::Rule::keyword, w).is_ok(),
            "{w}"
        );
        assert!(is_keyword(w));
    }
    assert!(!is_keyword("roles") && !is_keyword("on_call") && !is_keyword(""));
}
