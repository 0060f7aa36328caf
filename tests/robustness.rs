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
    let chain = format!("policy p\nlet x = 1{}\n", " + 1".repeat(100_000));
    assert!(codes(&chain).contains(&"too_deeply_nested"));
    let nots = format!("policy p\nlet x = {}true\n", "not ".repeat(100_000));
    assert!(codes(&nots).contains(&"too_deeply_nested"));
    let negs = format!("policy p\nlet x = {}1\n", "- ".repeat(100_000));
    assert!(codes(&negs).contains(&"too_deeply_nested"));
    let ors = format!("policy p\nlet x = {}true\n", "true or ".repeat(100_000));
    assert!(codes(&ors).contains(&"too_deeply_nested"));
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
    assert!(big.len() < tollgate::parse::MAX_POLICY_BYTES);
    assert!(codes(&big).contains(&"duplicate_definition"));
}
