//! Hostile policy text: every input gets diagnostics, never a panic, a
//! stack overflow or a hang.

use proptest::prelude::*;

use crate::util::{code, stderr, tollgate};

const AMPERE: &str = include_str!("../policies/ampere.policy");

fn codes(text: &str) -> Vec<&'static str> {
    tollgate::check_text("p.policy", text)
        .diagnostics
        .items
        .iter()
        .map(|d| d.code.name())
        .collect()
}

#[test]
fn a_hundred_thousand_nested_parentheses() {
    let text = format!(
        "policy p\nlet x = {}1{}\n",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    assert_eq!(codes(&text)[0], "too_deeply_nested");
    let unclosed = format!("policy p\nlet x = {}\n", "(".repeat(100_000));
    assert_eq!(codes(&unclosed)[0], "too_deeply_nested");
    let lists = format!("policy p\nlet x = 1 in {}\n", "[".repeat(100_000));
    assert_eq!(codes(&lists)[0], "too_deeply_nested");
}

/// pest's own stack probe is off (Cargo.toml says why): the nesting limit
/// is what keeps the parser's recursion shallow. The deepest policy it
/// allows must parse and check on a 1 MiB stack, half of what a spawned
/// thread gets by default (release builds need under 64 KiB).
#[test]
fn the_deepest_allowed_policy_fits_a_small_stack() {
    let deep = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(|| {
            let parens = format!(
                "policy p\non a {{ deny r when {}1{} }}\n",
                "(".repeat(31),
                ")".repeat(31)
            );
            let mixed = format!(
                "policy p\nlet x = {}1{}\n",
                "(not -".repeat(32),
                ")".repeat(32)
            );
            (codes(&parens), codes(&mixed))
        })
        .unwrap()
        .join()
        .unwrap();
    assert!(!deep.0.contains(&"too_deeply_nested"), "{:?}", deep.0);
    assert!(!deep.0.contains(&"syntax_error"), "{:?}", deep.0);
    assert!(!deep.1.contains(&"too_deeply_nested"), "{:?}", deep.1);
    assert!(!deep.1.contains(&"syntax_error"), "{:?}", deep.1);
    let one_more = format!(
        "policy p\non a {{ deny r when {}1{} }}\n",
        "(".repeat(32),
        ")".repeat(32)
    );
    assert_eq!(codes(&one_more)[0], "too_deeply_nested");
}

#[test]
fn long_operator_chains_and_prefixes() {
    // 20,000 operators: within the token limit, far past the depth limit.
    let n = 20_000;
    assert!(2 * n + 10 < tollgate::limits::MAX_ITEM_TOKENS);
    let chain = format!("policy p\nlet x = 1{}\n", " + 1".repeat(n));
    assert!(codes(&chain).contains(&"too_deeply_nested"));
    let nots = format!("policy p\nlet x = {}true\n", "not ".repeat(n));
    assert!(codes(&nots).contains(&"too_deeply_nested"));
    let negs = format!("policy p\nlet x = {}1\n", "- ".repeat(n));
    assert!(codes(&negs).contains(&"too_deeply_nested"));
    let ors = format!("policy p\nlet x = {}true\n", "true or ".repeat(n));
    assert!(codes(&ors).contains(&"too_deeply_nested"));
    // Past the token limit: refused before the parser sees them.
    let n = tollgate::limits::MAX_ITEM_TOKENS / 2 + 10;
    let longer = format!("policy p\nlet x = 1{}\n", " + 1".repeat(n));
    assert_eq!(codes(&longer), ["declaration_too_large"]);
}

/// Plain comments are no tokens: pest passes over them without a record.
/// A clean policy followed by 60,000 `//` lines was refused as
/// `declaration_too_large`, pointing at the block above them; as many
/// `///` lines inside a block still count, since each is a rule's doc
/// comment to the grammar.
#[test]
fn comment_lines_are_not_tokens() {
    let n = tollgate::limits::MAX_ITEM_TOKENS + 10_000;
    let comments = format!("{AMPERE}{}", "//\n".repeat(n));
    assert_eq!(codes(&comments), Vec::<&str>::new());
    let inside = AMPERE.replacen("{\n", &format!("{{\n{}", "  // note\n".repeat(n)), 1);
    assert_ne!(inside, AMPERE);
    assert_eq!(codes(&inside), Vec::<&str>::new());
    let docs = AMPERE.replacen("{\n", &format!("{{\n{}", "  ///\n".repeat(n)), 1);
    assert_eq!(codes(&docs), ["declaration_too_large"]);
}

#[test]
fn a_long_but_shallow_chain_is_fine() {
    let text = AMPERE.replace(
        "let low_balance_threshold = settings.low_balance_threshold ?? 100",
        &format!(
            "let low_balance_threshold = settings.low_balance_threshold ?? 100{}",
            " + 0".repeat(100)
        ),
    );
    assert_eq!(codes(&text), Vec::<&str>::new());
}

#[test]
fn ten_megabytes_of_junk_through_the_binary() {
    let dir = std::env::temp_dir().join(format!("tollgate-junk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let junk: Vec<u8> = (0..10_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let path = dir.join("junk.policy");
    std::fs::write(&path, &junk).unwrap();
    let out = tollgate(&["check", path.to_str().unwrap()]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("file_too_large"), "{}", stderr(&out));

    // Under the size limit, binary junk is refused as not UTF-8 text.
    std::fs::write(&path, &junk[..100_000]).unwrap();
    let out = tollgate(&["check", path.to_str().unwrap()]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("not UTF-8"), "{}", stderr(&out));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn junk_text_under_the_limit() {
    let alphabet = b" (){}[]\"\\/=<>!&|?:.,0123456789abcdefghij\n";
    let junk: String = (0..500_000u32)
        .map(|i| {
            char::from(alphabet[(i.wrapping_mul(2_654_435_761) >> 8) as usize % alphabet.len()])
        })
        .collect();
    let found = codes(&junk);
    assert!(!found.is_empty());
}

#[test]
fn every_truncation_of_the_reference_policy() {
    // Every 3rd byte keeps the test quick in debug builds while still
    // cutting inside every token kind.
    for end in (0..AMPERE.len()).step_by(3) {
        if !AMPERE.is_char_boundary(end) {
            continue;
        }
        let analysis = tollgate::check_text("p.policy", &AMPERE[..end]);
        // A prefix may be a complete policy; it must never crash.
        let _ = analysis.diagnostics.has_errors();
    }
}

#[test]
fn the_reference_policy_in_crlf_checks_clean() {
    let crlf = AMPERE.replace('\n', "\r\n");
    assert_eq!(codes(&crlf), Vec::<&str>::new());
}

fn mutation() -> impl Strategy<Value = (usize, usize, String)> {
    let fragments = prop_oneof![
        Just(String::new()),
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("\"".to_owned()),
        Just("{x}".to_owned()),
        Just(" when ".to_owned()),
        Just(" and ".to_owned()),
        Just("==".to_owned()),
        Just("\n".to_owned()),
        Just("role".to_owned()),
        Just("///".to_owned()),
        Just("1e9".to_owned()),
        Just("999999999999999999999999999999".to_owned()),
        "[a-z_]{1,8}",
        "\\PC{1,4}",
    ];
    (0..AMPERE.len(), 0usize..40, fragments)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Random edits of the reference policy never crash the checker, and
    /// every diagnostic points inside the text.
    #[test]
    fn random_edits_never_crash(edits in proptest::collection::vec(mutation(), 1..6)) {
        let mut text = AMPERE.to_owned();
        for (at, len, insert) in edits {
            let mut start = at.min(text.len());
            while !text.is_char_boundary(start) { start -= 1; }
            let mut end = (start + len).min(text.len());
            while !text.is_char_boundary(end) { end -= 1; }
            text.replace_range(start..end, &insert);
        }
        let analysis = tollgate::check_text("p.policy", &text);
        for d in &analysis.diagnostics.items {
            prop_assert!(d.span.end as usize <= text.len(), "{d:?}");
            prop_assert!(!d.message.is_empty());
        }
    }
}

#[test]
fn a_policy_of_the_maximum_size_is_checked() {
    let big = format!("policy p\n{}", "role r\n".repeat(140_000));
    assert!(big.len() < tollgate::limits::MAX_POLICY_BYTES);
    assert!(codes(&big).contains(&"duplicate_definition"));
}

// ───────────── What nests without brackets, line ends, and let chains ─────────────

/// Runs `f` on a thread with a `kib` KiB stack: the deepest inputs the
/// limits allow must fit, so an embedder's worker threads are safe.
fn on_small_stack<T: Send + 'static>(kib: usize, f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(kib << 10)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

fn where_chain(levels: usize) -> String {
    format!(
        "policy p\non a {{ deny r when {}kind == x }}\n",
        "count of grants where ".repeat(levels)
    )
}

/// `where` nests the grammar's expressions without a bracket: 1,400 of
/// them (31 KB) overflowed the parser's stack.
#[test]
fn a_where_chain_without_brackets_is_refused() {
    let text = format!(
        "policy p\nlet x = {}1\n",
        "count of grants where ".repeat(1_400)
    );
    assert!(text.len() < 32_000);
    assert_eq!(codes(&text)[0], "too_deeply_nested");
    let long = format!(
        "policy p\nlet x = {}1\n",
        "count of grants where ".repeat(100_000)
    );
    assert_eq!(codes(&long)[0], "too_deeply_nested");
    // `where` inside brackets inside `where`: both count.
    let mixed = format!(
        "policy p\nlet x = {}1{}\n",
        "(count of grants where ".repeat(5_000),
        ")".repeat(5_000)
    );
    assert_eq!(codes(&mixed)[0], "too_deeply_nested");
}

/// The deepest `where` chains and mixes the limit allows parse on a small
/// stack, and one level more is refused with the nesting diagnostic.
#[test]
fn the_deepest_allowed_where_chains_fit_a_small_stack() {
    let (chain, mixed, list) = on_small_stack(1 << 10, || {
        // The `on` block's brace is one level: 31 `where`s make 32.
        let chain = codes(&where_chain(31));
        let mixed = codes(&format!(
            "policy p\non a {{ deny r when {}kind == x{} }}\n",
            "(count of grants where ".repeat(15),
            ")".repeat(15)
        ));
        let list = codes(&format!(
            "policy p\non a {{ deny r when {}1{} }}\n",
            "x in [count of grants where ".repeat(15),
            "]".repeat(15)
        ));
        (chain, mixed, list)
    });
    for found in [&chain, &mixed, &list] {
        assert!(!found.contains(&"too_deeply_nested"), "{found:?}");
        assert!(!found.contains(&"syntax_error"), "{found:?}");
    }
    assert_eq!(codes(&where_chain(32))[0], "too_deeply_nested");
}

/// A `where` ends where its expression ends: many filtered aggregates side
/// by side (commas, rules, steps, parameters) do not add up.
#[test]
fn where_filters_side_by_side_do_not_add_up() {
    let mut text = String::from(
        "policy p\nrole r\nactions a: go\npermit r to all\ncredits c\nstep s\n\
         let l = 1 in [count of grants where kind == c, count of grants where kind == c]\n",
    );
    text.push_str("on a {\n");
    for i in 0..40 {
        text.push_str(&format!(
            "  deny d{i} when count of grants where kind == c > {i}\n  \
             effect e{i} {{ n = count of grants where kind == c  m = count of grants where kind == c }}\n  \
             warn w{i} when count of grants where kind == c > 0 {{ steps {{ s when count of grants where kind == c > 0  s when count of grants where kind == c > 1 }} }}\n"
        ));
    }
    text.push_str("}\n");
    let found = codes(&text);
    assert!(!found.contains(&"too_deeply_nested"), "{found:?}");
    assert!(!found.contains(&"syntax_error"), "{found:?}");
}

/// A lone CR ends a `//` comment for the grammar; the scan agreed only on
/// LF, so brackets after `// c\r` escaped the nesting limit.
#[test]
fn brackets_after_a_lone_cr_in_a_comment_count() {
    let text = format!(
        "policy p\nlet x = // c\r{}1{}\n",
        "(".repeat(2_000),
        ")".repeat(2_000)
    );
    assert_eq!(codes(&text)[0], "too_deeply_nested");
    // A lone CR ends a string the same way: brackets after it count.
    let string = format!("policy p\nlet x = \"a\r{}\n", "(".repeat(2_000));
    assert!(
        codes(&string).contains(&"too_deeply_nested") || codes(&string).contains(&"syntax_error")
    );
}

/// Old Mac line ends (CR only) are line ends: the reference policy checks
/// clean, as it does with LF and CRLF.
#[test]
fn the_reference_policy_with_cr_line_ends_checks_clean() {
    let cr = AMPERE.replace('\n', "\r");
    assert_eq!(codes(&cr), Vec::<&str>::new());
    let mixed: String = AMPERE
        .split_inclusive('\n')
        .enumerate()
        .map(|(i, line)| match i % 3 {
            0 => line.replace('\n', "\r"),
            1 => line.replace('\n', "\r\n"),
            _ => line.to_owned(),
        })
        .collect();
    assert_eq!(codes(&mixed), Vec::<&str>::new());
}

/// A diagnostic in a CR-only file names the line it is on: only LF ended a
/// line when positions were computed, so every error said line 1.
#[test]
fn a_diagnostic_in_a_cr_only_file_names_its_line() {
    let line = AMPERE
        .lines()
        .position(|l| l.starts_with("spend "))
        .unwrap()
        + 1;
    let cr: String = AMPERE
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let l = if i + 1 == line {
                l.replacen("spend", "spendd", 1)
            } else {
                l.to_owned()
            };
            l + "\r"
        })
        .collect();
    let dir = std::env::temp_dir().join(format!("tollgate-cr-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("cr.policy");
    std::fs::write(&path, &cr).unwrap();
    let p = path.to_str().unwrap();
    let out = crate::util::tollgate(&["check", "--format", "github", p]);
    let text = crate::util::stdout(&out);
    assert!(text.contains(&format!("line={line},")), "{text}");
    let out = crate::util::tollgate(&["check", p]);
    let err = crate::util::stderr(&out);
    assert!(err.contains(&format!("cr.policy:{line}:")), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A byte-order mark before the first item is skipped; spans stay byte
/// offsets into the text as given.
#[test]
fn a_leading_byte_order_mark_is_skipped() {
    let text = format!("\u{feff}{AMPERE}");
    assert_eq!(codes(&text), Vec::<&str>::new());
    let broken = "\u{feff}policy p\nrole\n";
    let analysis = tollgate::check_text("p.policy", broken);
    let d = &analysis.diagnostics.items[0];
    assert_eq!(d.code.name(), "syntax_error");
    assert!(!d.message.contains('\u{feff}'), "{}", d.message);
    let at = broken.find("role").unwrap();
    assert!(d.span.start as usize >= at, "{d:?}");
    // Only a leading mark: one inside the text is still an error.
    let inside = "policy p\n\u{feff}role r\n";
    assert!(codes(inside).contains(&"syntax_error"));
}

/// pest's call limit was a process-wide setting; it is no longer set. The
/// bound on parsing work is the input's size: nesting is bounded by the
/// scan, the grammar does not backtrack over nested text, and only the
/// first 100 broken items get a detailed second parse. The worst shapes we
/// know parse at about 1 s per MB in release builds (300 KB each here),
/// each item within the token limit, so that pest reads all of it.
#[test]
fn hostile_shapes_near_the_size_limit_parse_in_bounded_time() {
    let deep = format!(
        "{}x == 1{}",
        "(count of grants where ".repeat(15),
        ")".repeat(15)
    );
    let shapes = [
        // Items as nested and as long as allowed, each failing at the end.
        format!(
            "policy p\n{}",
            format!(
                "on a {{ deny r when {} (((\n",
                format!("{deep} and ").repeat(500)
            )
            .repeat(2)
        ),
        // Many items, each failing deep inside (a detailed second parse each).
        format!("policy p\n{}", format!("let x = {deep} +\n").repeat(800)),
        // Unclosed brackets at the limit, every line.
        format!(
            "policy p\n{}",
            format!("let x = {}\n", "(".repeat(31)).repeat(8_000)
        ),
        // Operators without operands.
        format!(
            "policy p\n{}",
            format!("let x = {}\n", "1 + - not ".repeat(12_000)).repeat(3)
        ),
    ];
    for text in &shapes {
        assert!(text.len() <= tollgate::limits::MAX_POLICY_BYTES);
        let started = std::time::Instant::now();
        let found = codes(text);
        assert!(!found.is_empty());
        assert!(!found.contains(&"declaration_too_large"), "{found:?}");
        let took = started.elapsed();
        // A third of a second in release builds; debug builds are ten
        // times slower, and a busy machine gets a wide margin.
        assert!(
            took < std::time::Duration::from_secs(60),
            "{} bytes took {took:?}",
            text.len()
        );
        eprintln!("{} bytes: {took:?}", text.len());
    }
}

/// `let lK = l(K-1) + 1`, K = 1..=n, read by one rule.
fn let_chain(n: usize) -> String {
    let mut text = String::from(
        "policy p\nrole r\nactions a: go\npermit r to all\ncredits c\nspend c\nstate ok otherwise\nlet l0 = usable\n",
    );
    for k in 1..=n {
        text.push_str(&format!("let l{k} = l{} + 1\n", k - 1));
    }
    text.push_str(&format!(
        "on a {{\n  deny big when l{n} < 0 {{ message \"m\" }}\n}}\n"
    ));
    text
}

/// The depth limit counted one expression at a time, so 15,000 `let`s each
/// reading the one before passed `check` and overflowed the evaluator.
#[test]
fn a_long_let_chain_is_refused_at_the_let() {
    let text = let_chain(15_000);
    let analysis = tollgate::check_text("p.policy", &text);
    let d = analysis
        .diagnostics
        .items
        .iter()
        .find(|d| d.code.name() == "too_deeply_nested")
        .expect("the chain is refused");
    // It points into a `let`, the first one past the limit.
    let line = &text[..d.span.start as usize];
    let line = line.rsplit('\n').next().unwrap();
    assert!(line.starts_with("let l"), "{line:?}");
    assert!(tollgate::Policy::from_source("p.policy", &text).is_err());
}

/// The deepest let chain the limit allows compiles and decides on a small
/// stack: the bound on nesting bounds the evaluator's recursion. (A debug
/// build's evaluator frame is about 3 KB, so the 256 levels take about
/// 750 KB here; release frames are a fraction of that.)
#[test]
fn the_deepest_allowed_let_chain_decides_on_a_small_stack() {
    // Each link adds 2 levels (the `+` and the read of the let); the rule's
    // `<` and read add 2. 126 links are allowed, 127 are not.
    assert!(
        codes(&let_chain(127)).contains(&"too_deeply_nested"),
        "{:?}",
        codes(&let_chain(127))
    );
    let decided = on_small_stack(1 << 10, || {
        let policy = tollgate::Policy::from_source("p.policy", &let_chain(126)).unwrap();
        let account = policy
            .snapshot_from_json(
                r#"{"now": "2026-01-01T00:00:00Z", "account": "x", "grants": [], "debts": []}"#,
            )
            .unwrap();
        let request = policy.request("r", "go").unwrap();
        let decision = policy.decide_explained(&account, &request).unwrap();
        decision.to_json().unwrap()
    });
    assert!(decided.contains("\"outcome\":\"allow\""), "{decided}");
}

/// One expression past the depth limit is one diagnostic. The operator
/// chain reported itself, then the expression holding it reported the
/// same excess again at a span one newline longer (hidden while spans
/// compared equal, and so while diagnostics were merged by message).
#[test]
fn an_expression_too_deep_is_reported_once() {
    let chains = [
        "1 + ".repeat(200) + "1",
        "1 * ".repeat(200) + "1",
        "1 - ".repeat(200) + "1",
        format!("({}1)", "1 + ".repeat(200)),
        format!("{}true", "not ".repeat(300)),
        format!("{}1 > 0", "- ".repeat(300)),
        "true and ".repeat(200) + "true",
        format!("usable > 0 and ({}1 > 0)", "1 + ".repeat(200)),
    ];
    for chain in chains {
        let text = format!(
            "policy p\nrole r\nactions a: x\npermit r to all\nlet q = {chain}\nstate s when q == q\nstate ok otherwise\n"
        );
        let deep = codes(&text)
            .into_iter()
            .filter(|c| *c == "too_deeply_nested")
            .count();
        assert_eq!(deep, 1, "{}…", &chain[..40]);
    }
}

/// pest records every rule it matches while it parses a declaration: one
/// 8 MB `in [1, 1, …]` list took 1.76 GB. A declaration of more tokens than
/// the limit is refused before it is parsed; an `on` block of 1,000 rules
/// is inside it.
#[test]
fn a_declaration_past_the_token_limit_is_refused_before_it_is_parsed() {
    let items = vec!["1"; tollgate::limits::MAX_ITEM_TOKENS / 2 + 10].join(", ");
    let text = format!(
        "policy p\nrole r\nactions a: x\npermit r to all\nlet big = usable in [{items}]\nstate s when big\nstate ok otherwise\n"
    );
    let started = std::time::Instant::now();
    let found = codes(&text);
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
    assert_eq!(found, ["declaration_too_large"], "{found:?}");

    let mut block = String::from("on a {\n");
    for n in 0..1_000 {
        block.push_str(&format!(
            "  deny rule{n} when usable < {n} and usable in [1, 2, 3] or debt > {n} {{\n    message \"Rule {n}: {{usable}} left.\"\n  }}\n"
        ));
    }
    block.push_str("}\n");
    let text =
        format!("policy p\nrole r\nactions a: x\npermit r to all\nstate ok otherwise\n{block}");
    assert!(!codes(&text).contains(&"declaration_too_large"));
}
