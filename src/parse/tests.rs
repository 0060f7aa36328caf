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

#[test]
fn parsing_on_several_threads_gives_what_one_thread_gives() {
    let reference = include_str!("../../policies/ampere.policy");
    // Items with and without errors, spread over the file.
    let mut text = String::new();
    for i in 0..40 {
        text.push_str(reference);
        text.push_str(match i % 4 {
            0 => "state broken when usable < < 1\n",
            1 => "let x = (1 + \n",
            2 => "on billable { deny d when && }\n",
            _ => "role\n",
        });
    }
    let scan = chunk::scan(&text, MAX_NESTING);
    let one = format!("{:?}", parse_chunks_on(&text, &scan.chunks, 1));
    for threads in [2, 3, 7] {
        let many = format!("{:?}", parse_chunks_on(&text, &scan.chunks, threads));
        assert!(one == many, "{threads} threads differ from one");
    }
    assert!(one.contains("Syntax"), "the errors are reported");
}

#[test]
fn runs_split_by_bytes_cover_every_chunk_in_order() {
    let chunks: Vec<chunk::Chunk> = [5, 1, 1, 1, 9, 2, 3]
        .iter()
        .scan(0, |at, &len| {
            let c = chunk::Chunk {
                start: *at,
                end: *at + len,
                too_deep_at: None,
                too_deep_in_where: false,
            };
            *at += len;
            Some(c)
        })
        .collect();
    for parts in 1..10 {
        let runs = split_by_bytes(&chunks, parts);
        assert!(runs.len() <= parts && runs.iter().all(|r| !r.is_empty()));
        assert_eq!(runs.concat(), chunks);
    }
    assert!(split_by_bytes(&[], 2).is_empty());
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
