//! The formatter proves itself on every policy we have: the same tree,
//! the same comments, the same diagnostics, and a fixed point.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use crate::parse::parse;
use crate::span::Source;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every policy of the project that parses: the shipped ones and the
/// diagnostics corpus.
fn all_policies() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["policies", "tests/corpus/check"] {
        for entry in std::fs::read_dir(root().join(dir)).unwrap() {
            let p = entry.unwrap().path();
            if p.extension().is_some_and(|e| e == "policy") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

fn comments(text: &str) -> Vec<String> {
    let source = Source::new("p", text);
    let parsed = parse(&source);
    let mut c: Vec<String> = parsed
        .comments
        .iter()
        .map(|s| source.slice(*s).trim_end().to_owned())
        .collect();
    c.sort();
    c
}

/// Formatting keeps the meaning (the same tree, spans aside), keeps every
/// comment, and is idempotent.
#[test]
fn formatting_is_sound_on_every_policy() {
    let mut formatted_count = 0;
    for path in all_policies() {
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.display().to_string();
        let source = Source::new(name.as_str(), text.as_str());
        let Ok(once) = super::format(&source) else {
            continue; // a corpus file with syntax errors: nothing to format
        };
        formatted_count += 1;
        let before = parse(&source).policy;
        let after_source = Source::new(name.as_str(), once.as_str());
        let after = parse(&after_source);
        assert!(
            after.diagnostics.is_empty(),
            "{name}: formatted text does not parse:\n{once}\n{:?}",
            after.diagnostics
        );
        assert_eq!(
            after.policy.without_spans(),
            before.without_spans(),
            "{name}: formatting changed the meaning:\n{once}"
        );
        assert_eq!(comments(&once), comments(&text), "{name}: comments changed");
        let twice = super::format(&after_source).unwrap();
        assert_eq!(twice, once, "{name}: not idempotent");
        // The checker sees the same policy too.
        let d1: Vec<_> = crate::check_text(&name, &text)
            .diagnostics
            .items
            .iter()
            .map(|d| d.code)
            .collect();
        let d2: Vec<_> = crate::check_text(&name, &once)
            .diagnostics
            .items
            .iter()
            .map(|d| d.code)
            .collect();
        assert_eq!(d1, d2, "{name}: diagnostics changed");
    }
    assert!(
        formatted_count > 40,
        "only {formatted_count} policies formatted"
    );
}

#[test]
fn long_conditions_and_lists_break_one_item_per_line() {
    let text = "policy p\nrole r\nactions a: one_very_long_action_name, another_very_long_action_name, yet_another_very_long_action_name\npermit r to all\nlet x = now > now and now > now or now > now and now < now and now == now and now != now and now >= now\nstate ok otherwise\n";
    let out = super::format(&Source::new("p", text)).unwrap();
    insta::assert_snapshot!(out);
}

/// Formats `text` and proves the result: it parses to the same tree,
/// formatting it again changes nothing, and it checks the same.
fn format_soundly(text: &str) -> String {
    let source = Source::new("p.policy", text);
    let once = super::format(&source)
        .unwrap_or_else(|d| panic!("does not format: {:?}\n{text:?}", d.items));
    let again = Source::new("p.policy", once.as_str());
    let after = parse(&again);
    assert!(
        after.diagnostics.is_empty(),
        "formatted text does not parse: {:?}\n{once}",
        after.diagnostics
    );
    assert_eq!(
        after.policy.without_spans(),
        parse(&source).policy.without_spans(),
        "formatting changed the meaning:\n{once}"
    );
    assert_eq!(super::format(&again).unwrap(), once, "not idempotent");
    once
}

/// A lone CR ends a `//` comment for the grammar; the formatter took what
/// followed it for part of the comment, so `fmt` moved `+ 2` into the
/// comment and `fmt --check` never settled.
#[test]
fn a_comment_ended_by_a_lone_cr_keeps_the_code_after_it() {
    let text = "policy p\nlet x = 1 // c\r+ 2\nlet y = // d\r3\n";
    let once = format_soundly(text);
    assert!(once.contains("let x = 1 + 2"), "{once}");
    assert!(once.contains("let y = 3"), "{once}");
    assert!(once.contains("// c\n") && once.contains("// d\n"), "{once}");
    assert!(!once.contains('\r'), "{once:?}");
}

/// CR-only and mixed line ends, and a leading byte-order mark, format to
/// exactly what LF does.
#[test]
fn line_ends_and_a_byte_order_mark_format_as_lf_does() {
    let ampere = std::fs::read_to_string(root().join("policies/ampere.policy")).unwrap();
    let cr = ampere.replace('\n', "\r");
    assert_eq!(format_soundly(&cr), ampere);
    let crlf = ampere.replace('\n', "\r\n");
    assert_eq!(format_soundly(&crlf), ampere);
    let bom = format!("\u{feff}{ampere}");
    assert_eq!(format_soundly(&bom), ampere);
}

/// A filtered aggregate reaches to the end of its expression; the formatter
/// bracketed it even where nothing followed, so each `where` became a
/// bracket and a `where`, and a policy near the nesting limit formatted
/// into one past it.
#[test]
fn where_chains_near_the_limit_format_within_it() {
    let text = format!(
        "policy p\non a {{\n  deny r when 1 < {}1\n}}\n",
        "1 + count of grants where kind == 1 + ".repeat(30)
    );
    let once = format_soundly(&text);
    assert!(!once.contains('('), "no bracket was written:\n{once}");
    // Brackets the meaning needs stay.
    let grouped = "policy p\nlet x = (count of grants where kind == c) + 1\n";
    assert_eq!(format_soundly(grouped), grouped);
    let not = "policy p\nlet x = not count of grants where kind == c\nlet y = -count of grants\n";
    assert_eq!(format_soundly(not), not);
}

/// A long chain of `let`s formats in one pass without recursing through it.
#[test]
fn a_long_let_chain_formats() {
    let mut text = String::from("policy p\nlet l0 = usable\n");
    for k in 1..5_000 {
        text.push_str(&format!("let l{k} = l{} + 1\n", k - 1));
    }
    assert_eq!(format_soundly(&text), text);
}

/// A valid policy whose canonical layout is longer than the size limit was
/// refused as "the formatter would change what this policy means … a bug":
/// the re-parse hit the limit. It is refused for its size, saying so.
#[test]
fn a_layout_past_the_size_limit_is_refused_for_its_size() {
    let text = "policy p\nrole r\nactions a: x\npermit r to all\nlet v = 1+1+1+1+1+1+1+1\nstate ok otherwise\n";
    let source = Source::new("p.policy", text);
    let limit = text.len() + 4;
    let error = super::format_within(&source, limit).unwrap_err();
    let d = &error.items[0];
    assert_eq!(d.code, crate::diagnostic::Code::FileTooLarge);
    assert!(d.message.contains("over the limit"), "{}", d.message);
    assert!(!d.message.contains("change what this policy means"));
    assert!(super::format_within(&source, 1 << 20).is_ok());
}

/// Comments written between a declaration's doc lines and the declaration
/// were moved: the first above the docs, the last below the declaration
/// (into a block's body, for a rule).
#[test]
fn comments_between_docs_and_their_declaration_stay_there() {
    let text = "policy f\n\n/// Doc.\n// one\n// two\nlet x = 1\n\nrole r\nactions a: b\npermit r to all\nstate ok otherwise\n\non a {\n  /// Rule doc.\n  // inner one\n  // inner two\n  warn w when x > 0 {\n    message \"m\"\n  }\n}\n";
    let out = crate::format::format(&Source::new("p", text)).unwrap();
    assert_eq!(out, text);
}

#[test]
fn assertions_fit_one_line_or_break_before_on_and_when() {
    let head = "policy p\nrole member\nactions billable: run\nstate ok otherwise\n";
    let short = format!(
        "{head}assert a   for member  on billable when usable>0 :  ( allow ) and never( deny )\n"
    );
    let out = format_soundly(&short);
    assert!(
        out.ends_with("assert a for member on billable when usable > 0: allow and never deny\n"),
        "{out}"
    );
    let long = format!(
        "{head}assert a_rather_long_assertion_name for member on billable when usable > 0 and debt == 0 and locked == 0: state ok implies never some warn\n"
    );
    let out = format_soundly(&long);
    assert!(
        out.ends_with("assert a_rather_long_assertion_name for member\n  on billable\n  when usable > 0 and debt == 0 and locked == 0: state ok implies never some warn\n"),
        "{out}"
    );
    // A claim too long for the line of the `:` goes below it.
    let claim = (0..12)
        .map(|i| format!("warn w{i}"))
        .collect::<Vec<_>>()
        .join(" or ");
    let out = format_soundly(&format!("{head}assert a when usable > 0: {claim}\n"));
    assert!(
        out.ends_with(&format!("assert a\n  when usable > 0:\n  {claim}\n")),
        "{out}"
    );
    // A long condition breaks as any condition does, the `:` after it.
    let cond = (0..8)
        .map(|i| format!("usable > {i}00"))
        .collect::<Vec<_>>()
        .join(" and ");
    let out = format_soundly(&format!(
        "{head}assert a: allow\nassert b when {cond}: allow\n"
    ));
    assert!(
        out.contains("assert b\n  when usable > 0\n    and usable > 100\n"),
        "{out}"
    );
    assert!(out.ends_with("\n    and usable > 700: allow\n"), "{out}");
}
