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

/// The chunk scan splits items at `ITEM_KEYWORDS`; the grammar decides what
/// an item is. A keyword missing from the list would glue an item to the
/// one before it; a word too many would split an item in two.
#[test]
fn the_item_keywords_match_the_grammar() {
    let grammar = include_str!("../../grammar/policy.pest");
    let rule = |name: &str| -> &str {
        let at = grammar
            .find(&format!("\n{name} "))
            .unwrap_or_else(|| panic!("rule {name}"));
        let body = &grammar[at + 1..];
        &body[..body.find('\n').unwrap()]
    };
    // `item = { doc* ~ ( a | b | ... ) }`, over several lines.
    let start = grammar.find("\nitem = {").unwrap();
    let item = &grammar[start..start + grammar[start..].find("\n}").unwrap()];
    let alternatives: Vec<&str> = item
        .split(['(', ')', '|', '{', '~', ' ', '\n'])
        .filter(|w| w.ends_with("_decl") || *w == "on_block")
        .collect();
    assert!(alternatives.len() > 10, "{alternatives:?}");
    let mut leading: Vec<String> = alternatives
        .iter()
        .map(|alt| {
            // Every item rule starts with its keyword: `x = { kw_word ~ ...`.
            let body = rule(alt);
            let first = body
                .split("{ ")
                .nth(1)
                .and_then(|b| b.split_whitespace().next())
                .unwrap();
            let word = first
                .strip_prefix("kw_")
                .unwrap_or_else(|| panic!("{alt}: {body}"));
            word.to_owned()
        })
        .collect();
    leading.sort();
    leading.dedup();
    let mut listed: Vec<String> = chunk::ITEM_KEYWORDS
        .iter()
        .map(|w| (*w).to_owned())
        .collect();
    listed.sort();
    assert_eq!(leading, listed);
    // And each listed word really starts an item that parses on its own.
    for w in chunk::ITEM_KEYWORDS {
        assert!(is_keyword(w), "{w}");
        let scan = chunk::scan(&format!("policy p\n{w} x\n"), MAX_NESTING);
        assert_eq!(scan.chunks.len(), 2, "{w}");
    }
}

#[test]
fn a_lone_cr_ends_a_comment_for_the_scan_as_for_the_grammar() {
    let text = "policy p\rlet x = 1 // c\r+ 2\rrole r\r";
    let parsed = parse_text(text);
    assert_eq!(parsed.diagnostics, vec![]);
    assert_eq!(parsed.comments.len(), 1);
    assert_eq!(&text[parsed.comments[0].range()], "// c");
    assert_eq!(parsed.policy.items.len(), 3);
}

/// A lone CR ends a line for the grammar, so a string cut by one is not
/// closed on its line, even when a quote follows on the next.
#[test]
fn a_string_cut_by_a_lone_cr_is_unterminated_where_it_starts() {
    for end in ["\r", "\n", "\r\n"] {
        let text = format!(
            "policy p\nrole r\nstep a \"A\"\non all {{\n  deny x when true {{\n    \
             message \"No credits.{end}    steps {{ a }} message \"x\"\n  }}\n}}\n"
        );
        let parsed = parse_text(&text);
        assert_eq!(
            parsed.diagnostics.len(),
            1,
            "{end:?}: {:#?}",
            parsed.diagnostics
        );
        let d = &parsed.diagnostics[0];
        assert_eq!(d.message, "unterminated string", "{end:?}");
        assert_eq!(&text[d.span.range()], "\"No credits.", "{end:?}");
    }
    // The same before an escape: `\` cannot escape the line end.
    let text = "policy p\nstep a \"A\\\rB\" \"C\"\n";
    let d = &parse_text(text).diagnostics;
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].message, "unterminated string");
    assert_eq!(&text[d[0].span.range()], "\"A\\");
}

/// Indentation means nothing to the grammar, so it must mean nothing to the
/// scan inside a block: a `///` doc comment for a rule at column 1 stays in
/// its `on` block instead of starting a declaration that cuts it in two.
/// (Assertions are the one exception, by design: their continuation lines
/// may start with `on`, `state` or `step`, so those start a new
/// declaration only at column 1; they are left out here.)
#[test]
fn indentation_does_not_change_what_parses() {
    for text in [
        include_str!("../../policies/ampere.policy"),
        include_str!("../../policies/api_platform.policy"),
        include_str!("../../policies/messaging.policy"),
    ] {
        let text = match text.find(" Guarantees ") {
            Some(at) => &text[..text[..at].rfind('\n').unwrap() + 1],
            None => text,
        };
        assert!(!text.contains("\nassert "));
        let flat: String = chunk::lines(text, 0)
            .map(|(_, line)| line.trim_start_matches([' ', '\t']))
            .collect();
        assert_ne!(flat, text);
        let (indented, flat) = (parse_text(text), parse_text(&flat));
        assert_eq!(flat.diagnostics, vec![]);
        assert_eq!(flat.policy.without_spans(), indented.policy.without_spans());
    }
    let text =
        "policy p\nrole r\non all {\n/// Why.\ndeny x\n/// And why.\n/// Twice.\n  warn y\n}\n";
    let parsed = parse_text(text);
    assert_eq!(parsed.diagnostics, vec![]);
    assert_eq!(parsed.policy.items.len(), 3);
}

/// A list of plain names is kept as names, and reads as the list of
/// paths it stands for; any other item keeps the list a list.
#[test]
fn a_list_of_plain_names_is_kept_as_names() {
    let set = |text: &str| {
        let parsed = parse_text(text);
        let Some(ast::ItemKind::Let { value, .. }) = parsed.policy.items.first().map(|i| &i.kind)
        else {
            panic!("{parsed:?}")
        };
        let ast::ExprKind::In { set, .. } = &value.kind else {
            panic!("{value:?}")
        };
        (**set).clone()
    };
    let ast::InSet::Names(names) = set("let x = plan in [pro, enterprise]\n") else {
        panic!("not names")
    };
    let list: Vec<ast::Expr> = names.iter().map(ast::Expr::name).collect();
    let ast::InSet::List(written) = set("let x = plan in [pro, enterprise, 1]\n") else {
        panic!("not a list")
    };
    assert_eq!(list[..], written[..2]);
    assert!(matches!(
        set("let x = plan in [pro, a.b]\n"),
        ast::InSet::List(_)
    ));
}

/// A list item that is one name or literal is one pair of pest's record,
/// not the five of an expression (`list_item` in the grammar), whatever
/// blanks and comments stand around its comma; the tree is the one the
/// full expression gives.
#[test]
fn a_plain_list_item_is_one_pair() {
    use pest::Parser;
    let pairs = |text: &str| {
        grammar::PolicyParser::parse(grammar::Rule::list, text)
            .unwrap()
            .flatten()
            .count()
    };
    // The list, then one pair an item (a string holds its text).
    assert_eq!(pairs("[1, a, \"s\", true, false, 7d, 2.5]"), 1 + 7 + 1);
    assert_eq!(pairs("[ 1 // c\n , a\t,\r\n b // d\n ,\n ]"), 1 + 3);
    // Anything else is an expression.
    assert!(pairs("[-1, a.b, role, a + 1, not a, 1q]") > 1 + 6 * 5);

    let tree = |text: &str| {
        let parsed = parse_text(text);
        assert_eq!(parsed.diagnostics, vec![], "{text}");
        parsed.policy.without_spans()
    };
    for (fast, full) in [
        (
            "let x = v in [1, a, \"s\", true, false, 7d, 2.5, 1mo]\n",
            "let x = v in [(1), (a), (\"s\"), (true), (false), (7d), (2.5), (1mo)]\n",
        ),
        (
            "let x = v in [a, b // c\n, c,]\n",
            "let x = v in [(a), (b), (c)]\n",
        ),
        ("let x = v in [role, a]\n", "let x = v in [(role), (a)]\n"),
    ] {
        assert_eq!(tree(fast), tree(full), "{fast}");
    }
    // A keyword alone is a name, as `[and]` always was.
    let d = &parse_text("let x = v in [not]\n").diagnostics;
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(
        d[0].message,
        "`not` is a keyword and cannot be used as a name"
    );
}

use crate::ast::{ClaimKind, Fact, MapSpans, Who};
use crate::diagnostic::Code;

/// The claim of the one `assert` in `text`, without its spans.
fn claim_of(text: &str) -> crate::ast::Claim {
    let parsed = parse_text(text);
    assert_eq!(parsed.diagnostics, vec![], "{text}");
    let Some(crate::ast::ItemKind::Assert(a)) = parsed.policy.items.last().map(|i| &i.kind) else {
        panic!("no assertion in {text}");
    };
    let mut claim = a.claim.clone();
    claim.map_spans(&|_| Span::default());
    claim
}

#[test]
fn assertions_parse_with_who_what_and_when() {
    let text =
        "policy p\nassert a for member, billing access on billable, all when debt > 0: deny x\n";
    let parsed = parse_text(text);
    assert_eq!(parsed.diagnostics, vec![]);
    let Some(crate::ast::ItemKind::Assert(a)) = parsed.policy.items.get(1).map(|i| &i.kind) else {
        panic!("{:?}", parsed.policy);
    };
    assert_eq!(&*a.name.name, "a");
    assert!(
        matches!(&a.roles[..], [Who::Role(m), Who::Access(b)] if &*m.name == "member" && &*b.name == "billing")
    );
    let actions: Vec<&str> = a.actions.iter().map(|n| &*n.name).collect();
    assert_eq!(actions, ["billable", "all"]);
    assert!(a.when.is_some());
    assert!(matches!(&a.claim.kind, ClaimKind::Fact(Fact::Reason(x)) if &*x.name == "x"));
    // Every name keeps where it was written.
    assert_eq!(&text[a.roles[1].name().span.range()], "billing");
}

#[test]
fn claims_bind_never_then_and_then_or_then_implies() {
    use crate::format::claim_text;
    let c = |claim: &str| claim_text(&claim_of(&format!("assert a: {claim}\n")));
    // Printed with only the brackets the tree needs: the same tree.
    assert_eq!(
        c("never allow and deny or permitted implies some step"),
        "never allow and deny or permitted implies some step"
    );
    let tree = claim_of("assert a: never allow and deny or permitted implies some step\n");
    let ClaimKind::Implies(lhs, _) = &tree.kind else {
        panic!("{tree:?}")
    };
    let ClaimKind::Or(and, _) = &lhs.kind else {
        panic!("{lhs:?}")
    };
    assert!(matches!(&and.kind, ClaimKind::And(not, _) if matches!(not.kind, ClaimKind::Not(_))));
    assert_eq!(c("never (allow and deny)"), "never (allow and deny)");
    assert_eq!(
        c("allow and (deny or permitted)"),
        "allow and (deny or permitted)"
    );
    assert_eq!(
        c("(allow implies deny) implies allow"),
        "(allow implies deny) implies allow"
    );
    assert_eq!(c("((allow))"), "allow");
    // `deny` is the outcome when a claim word follows it, a reason otherwise.
    assert_eq!(c("deny and allow"), "deny and allow");
    assert_eq!(c("deny implies deny x"), "deny implies deny x");
    assert_eq!(
        c(
            "steps only [a, b] or some warn or some effect or warn w or effect e or state s or step t"
        ),
        "steps only [a, b] or some warn or some effect or warn w or effect e or state s or step t"
    );
    assert_eq!(c("steps only []"), "steps only []");
}

#[test]
fn implies_does_not_chain() {
    let parsed = parse_text("policy p\nassert a: allow implies deny implies allow\n");
    assert!(
        parsed.diagnostics.iter().any(|d| d.code == Code::Syntax),
        "{:?}",
        parsed.diagnostics
    );
}

/// The claim words are keywords only in a claim: policies keep them as names.
#[test]
fn claim_words_stay_free_as_names() {
    let text = "policy p\nrole some\nactions never: implies, allow, permitted\nstep only \"x\"\nlet a = some\nassert never_ok for some on never: never step only\n";
    let parsed = parse_text(text);
    assert_eq!(parsed.diagnostics, vec![]);
    // `assert` itself is reserved.
    let parsed = parse_text("policy p\nrole assert\n");
    assert!(
        parsed
            .diagnostics
            .iter()
            .any(|d| d.message.contains("keyword"))
    );
}

#[test]
fn an_assertion_spans_indented_lines() {
    let text = "policy p\nassert a\n  for member\n  on billable\n  when debt > 0:\n  state paused\n  implies\n  step buy\nstate ok otherwise\n";
    let parsed = parse_text(text);
    assert_eq!(parsed.diagnostics, vec![]);
    assert_eq!(parsed.policy.items.len(), 3);
}

#[test]
fn claims_deeper_than_the_limit_are_refused_once() {
    let text = format!(
        "policy p\nassert a: {}allow\n",
        "never ".repeat(MAX_EXPR_DEPTH + 1)
    );
    let parsed = parse_text(&text);
    let deep: Vec<_> = parsed
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::TooDeep)
        .collect();
    assert_eq!(deep.len(), 1, "{:?}", parsed.diagnostics);
    let text = format!(
        "policy p\nassert a: allow{}\n",
        " and allow".repeat(MAX_EXPR_DEPTH + 1)
    );
    let parsed = parse_text(&text);
    assert_eq!(
        parsed
            .diagnostics
            .iter()
            .filter(|d| d.code == Code::TooDeep)
            .count(),
        1
    );
    let text = format!(
        "policy p\nassert a: {}allow\n",
        "never ".repeat(MAX_EXPR_DEPTH - 1)
    );
    assert_eq!(parse_text(&text).diagnostics, vec![]);
}
