//! The TOML reader against the `toml` crate, which it replaced.

// The same documents read to the same tree, and the same first error, on
// the corpus, on hand-picked cases and on mutated documents (time-boxed
// like `tests/fuzz.rs`: `TOLLGATE_FUZZ_SECONDS`, 2 by default, from
// `TOLLGATE_FUZZ_SEED`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use toml::de::{DeTable, DeValue};

use super::*;
use crate::fuzz_rng::Rng;

/// The reader this one replaced: `toml`'s document model, converted.
fn oracle(text: &str) -> Result<Node<'_>, TomlError> {
    let table = DeTable::parse(text).map_err(|e| TomlError {
        message: e.message().trim().to_owned(),
        span: e.span().map(|r| Span::new(r.start, r.end)),
    })?;
    let span = table.span();
    Ok(Node {
        value: oracle_table(text, table.get_ref()),
        span: Span::new(span.start, span.end),
    })
}

fn oracle_table<'a>(text: &str, table: &DeTable<'a>) -> DocValue<'a> {
    DocValue::Object(
        table
            .iter()
            .map(|(key, value)| {
                let key_span = key.span();
                (
                    key.get_ref().clone(),
                    Span::new(key_span.start, key_span.end),
                    oracle_node(text, value.get_ref(), value.span()),
                )
            })
            .collect(),
    )
}

fn oracle_node<'a>(text: &str, value: &DeValue<'a>, span: std::ops::Range<usize>) -> Node<'a> {
    let value = match value {
        DeValue::String(s) => DocValue::String(s.clone()),
        DeValue::Integer(i) if i.radix() == 10 => {
            DocValue::Number(i.as_str().replace('_', "").into())
        }
        DeValue::Integer(i) => DocValue::Number(i.to_string().into()),
        DeValue::Float(f) => DocValue::Number(f.as_str().replace('_', "").into()),
        DeValue::Boolean(b) => DocValue::Bool(*b),
        DeValue::Datetime(d) => DocValue::Datetime(
            text.get(span.clone())
                .map_or_else(|| d.to_string(), str::to_owned),
        ),
        DeValue::Array(items) => DocValue::Array(
            items
                .iter()
                .map(|i| oracle_node(text, i.get_ref(), i.span()))
                .collect(),
        ),
        DeValue::Table(t) => oracle_table(text, t),
    };
    Node {
        value,
        span: Span::new(span.start, span.end),
    }
}

/// The tree with every table's keys sorted: `toml` moved a table defined by
/// `[a]` after `[a.b]` to the end of its parent, this reader leaves it
/// where it was made.
fn sorted(mut node: Node<'_>) -> Node<'_> {
    node.value = match node.value {
        DocValue::Array(items) => DocValue::Array(items.into_iter().map(sorted).collect()),
        DocValue::Object(mut entries) => {
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            DocValue::Object(
                entries
                    .into_iter()
                    .map(|(k, s, v)| (k, s, sorted(v)))
                    .collect(),
            )
        }
        other => other,
    };
    node
}

/// Both readers agree on `text`: the same tree, or the same first error.
/// `toml` says "recursion limit", nowhere, for a key of too many parts;
/// this reader says how many, at the key.
fn agree(text: &str) -> Result<(), String> {
    let ours = parse(text);
    let theirs = oracle(text);
    let same = match (&ours, &theirs) {
        (Ok(a), Ok(b)) => sorted(a.clone()) == sorted(b.clone()),
        (Err(a), Err(b)) if b.message == "recursion limit" => {
            a.message.contains("parts, more than the limit")
        }
        (Err(a), Err(b)) => a == b,
        _ => false,
    };
    if same {
        Ok(())
    } else {
        Err(format!(
            "{text:?}\n  ours:   {:?}\n  toml's: {:?}",
            ours.as_ref()
                .map(|_| "ok")
                .map_err(|e| (&e.message, e.span)),
            theirs
                .as_ref()
                .map(|_| "ok")
                .map_err(|e| (&e.message, e.span)),
        ))
    }
}

fn corpus() -> Vec<String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for dir in [
        "examples",
        "policies",
        "tests/corpus/snapshot",
        "tests/corpus/decide",
        "tests/corpus/ledger",
    ] {
        for entry in walkdir::WalkDir::new(root.join(dir)).sort_by_file_name() {
            let entry = entry.unwrap();
            if entry.path().extension().is_some_and(|e| e == "toml") {
                out.push(std::fs::read_to_string(entry.path()).unwrap());
            }
        }
    }
    assert!(out.len() >= 3, "{out:?}");
    out
}

/// Documents `toml` reads, each exercising a rule.
const VALID: &[&str] = &[
    "",
    "\u{feff}a = 1\n",
    "a = 1\r\nb = 2\r\n",
    "# only a comment",
    "a = 'lit'\nb = \"esc\\t\\u00e9\"\nc = '''\nml\n'''\nd = \"\"\"\\\n  x\"\"\"\n",
    "a = +1_000\nb = 0xdead_beef\nc = 0o17\nd = 0b101\ne = -0.5e-3\nf = inf\ng = -nan\nh = 1_0.0_1\n",
    "a = 2026-11-22T10:00:00Z\nb = 2026-11-22 10:00:00.5+01:00\nc = 2026-11-22\nd = 10:00:00\ne = 2026-11-22T10:00\n",
    "a = true\nb = false\n",
    "a.b.c = 1\na.b.d = 2\na.e = 3\n",
    "[a.b]\nx = 1\n[a]\ny = 2\n[c]\n",
    "[a]\nb.c = 1\n[a.b.d]\ne = 1\n",
    "[[g]]\nid = 1\n[[g]]\nid = 2\n[g.sub]\nx = 1\n[[g.list]]\ny = 1\n",
    "x = [1, 2, 3,]\ny = [[1], ['a'], [{ z = 1 }], []]\nz = [\n  1, # one\n  2\n]\n",
    "t = { a = 1, b.c = 2, b.d = 3, e = { f = [1] } }\n",
    "t = {\n  a = 1, # trailing comma and comments inside\n  b = 2,\n}\n",
    "\"quoted key\" = 1\n'lit key' = 2\n\"a.b\".c = 3\n[\"q\".'r']\ns = 4\n",
    "a . b . c = 1\n[ x . y ]\n[[ z . w ]]\n",
    "1 = 1\n2.3 = 4\n- = 5\n_ = 6\n",
    "a = \"\"\"\"quotes\"\" inside\"\"\"\"\n",
    "[a]\n[b]\n[a.c]\n",
    "k0 = 0\nk1 = 1\nk2 = 2\nk3 = 3\nk4 = 4\nk5 = 5\nk6 = 6\nk7 = 7\nk8 = 8\nk9 = 9\nk10 = 0\nk11 = 1\nk12 = 2\nk13 = 3\nk14 = 4\nk15 = 5\nk16 = 6\nk17 = 7\nk18 = 8\nk0b = 1\n",
];

/// Documents `toml` refuses, each with a different first error.
const INVALID: &[&str] = &[
    "a = 1\na = 2\n",
    "a = 1\na.b = 2\n",
    "a.b = 1\n[a]\n",
    "[a]\n[a]\n",
    "[a]\nb = 1\n[a.b]\n",
    "a = [1]\n[[a]]\n",
    "[[a]]\n[a]\n",
    "a = { b = 1 }\n[a.c]\n",
    "a = { b = 1 }\na.c = 2\n",
    "t = { a = 1, a = 2 }\n",
    "t = { a = { b = 1 }, a.c = 2 }\n",
    "t = { a = [1], a.c = 2 }\n",
    "t = { a = 1, a.c = 2 }\n",
    "a = 1\n[a.b]\n",
    "a = \"x\"\nb = \"\\q\"\n[[a.b]]\nc = 1\n",
    "plan = team\n",
    "a =\n",
    "a = # c\n",
    "= 1\n",
    ". = 1\n",
    "a. = 1\n",
    "a..b = 1\n",
    "a\n",
    ".a\n",
    "a = 1 b = 2\n",
    "a = = 1\n",
    "a = [1 2]\n",
    "a = [1,,2]\n",
    "a = [=]\n",
    "a = [1\n",
    "a = [}\n",
    "a = ]\n",
    "a = }\n",
    "a = {\n",
    "a = { b }\n",
    "a = { b = }\n",
    "a = { , }\n",
    "a = { b = 1 c = 2 }\n",
    "a = { b c }\n",
    "a = { = 1 }\n",
    "a = { b == 1 }\n",
    "a = { b = 1, [ }\n",
    "a = { b [ }\n",
    "a = { ] }\n",
    "a = { b = ] }\n",
    "a = { { } }\n",
    "]\n",
    ",\n",
    "{\n",
    "[a\n",
    "[[a]\n",
    "[[a\n",
    "[]\n",
    "[.]\n",
    "[ = ]\nb = 1\n",
    "[a] b = 1\n",
    "a = 1 # c\u{1}\n",
    "a = 1\rb = 2\n",
    "a = 1\n# \u{7f}\n",
    "a = 2026-13-45T00:00:00Z\n",
    "a = 2026-11-22T25:00:00Z\n",
    "a = 01\n",
    "a = 1__0\n",
    "a = 0X10\n",
    "a = +0x10\n",
    "a = 1.\n",
    "a = .5\n",
    "a = 1e\n",
    "a = tru\n",
    "a = \"unterminated\n",
    "a = 'unterminated\n",
    "a = \"\"\"never\n",
    "\"\"\"ml\"\"\" = 1\n",
    "a = \"\\uD800\"\n",
    "a = 1\n[b]\nc = 2\nc = 3\n[[d]]\n",
    "a = true false\n",
    "[a.b]\n[a]\nb = 1\n",
    "x = [1]\n[x.y]\n",
    "[[t]]\n[t.a]\n[t.a]\n",
    // A syntax error after another error is still the one reported.
    "a = 1\na = 2\n]\n",
    "a = \"\\q\"\nb = { c = 1 d = 2 }\n",
];

#[test]
fn the_corpus_reads_as_toml_read_it_in_order() {
    for text in corpus() {
        assert_eq!(parse(&text), oracle(&text), "{text}");
    }
}

#[test]
fn valid_documents_read_as_toml_read_them() {
    for text in VALID {
        assert!(oracle(text).is_ok(), "{text:?}: {:?}", oracle(text).err());
        agree(text).unwrap();
    }
}

#[test]
fn invalid_documents_fail_as_toml_failed_them() {
    for text in INVALID {
        assert!(oracle(text).is_err(), "{text:?} is valid TOML");
        agree(text).unwrap();
    }
}

#[test]
fn nesting_past_the_limit_is_refused_at_the_bracket() {
    for (open, close) in [("[", "]"), ("{a=", "}")] {
        for depth in [MAX_DEPTH, MAX_DEPTH + 1] {
            let text = format!("x = {}1{}\n", open.repeat(depth), close.repeat(depth));
            agree(&text).unwrap();
            assert_eq!(parse(&text).is_ok(), depth == MAX_DEPTH, "{depth}");
        }
    }
}

#[test]
fn a_key_too_deep_is_found_where_it_is() {
    let deep = format!("{}a", "a . ".repeat(MAX_KEY_PARTS));
    for (text, at) in [
        (format!("x = 1.5 # a.b.c\n[s]\n{deep} = 1\n"), 20),
        (
            format!("s = \"\"\"\n{deep}\"\"\"\n[{deep}]\n"),
            8 + deep.len() + 5,
        ),
        (
            format!("y = {{ {} = 1 }}", "'a'.".repeat(90) + "\"b\\\"\""),
            6,
        ),
    ] {
        let e = parse(&text).unwrap_err();
        let span = e.span.unwrap();
        assert_eq!(span.start as usize, at, "{text}: {e:?}");
        assert!(e.message.contains("parts, more than the limit"), "{e:?}");
        agree(&text).unwrap();
    }
    // At the limit, TOML reads it.
    let ok = format!("{}a = 1\n", "a.".repeat(MAX_KEY_PARTS - 1));
    assert!(parse(&ok).is_ok());
    agree(&ok).unwrap();
}

#[test]
fn date_times_keep_their_text() {
    let text = "now = 2026-11-22T10:00:00.1234567890123Z\nt = 2026-11-22 10:00:00+01:00\n";
    let doc = parse(text).unwrap();
    let DocValue::Object(entries) = doc.value else {
        panic!()
    };
    let values: Vec<DocValue> = entries.into_iter().map(|(_, _, n)| n.value).collect();
    assert_eq!(
        values,
        [
            DocValue::Datetime("2026-11-22T10:00:00.1234567890123Z".to_owned()),
            DocValue::Datetime("2026-11-22 10:00:00+01:00".to_owned()),
        ]
    );
}

#[test]
fn tables_defined_after_their_subtables_stay_in_place_in_linear_time() {
    // `toml` moved each `[k]` to the end of the root, a shift of every
    // later key: 50,000 of them took 13 s in a release build.
    let n = 50_000;
    let mut text: String = (0..n).map(|i| format!("[k{i}.x]\n")).collect();
    text.extend((0..n).map(|i| format!("[k{i}]\n")));
    let started = Instant::now();
    let doc = parse(&text).unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let DocValue::Object(entries) = doc.value else {
        panic!()
    };
    assert_eq!(entries.len(), n);
    assert_eq!(entries[1].0, "k1");
    // Where the header that defined it is.
    let at = text.find("[k1]\n").unwrap();
    assert_eq!(entries[1].2.span, Span::new(at, at + 4));
}

/// Pieces of TOML that break or make a document.
const FRAGMENTS: &[&str] = &[
    "[",
    "]",
    "[[",
    "]]",
    "{",
    "}",
    "=",
    ",",
    ".",
    " ",
    "\t",
    "\n",
    "\r\n",
    "\r",
    "#",
    "\"",
    "'",
    "\"\"\"",
    "'''",
    "\\",
    "\\u00e9",
    "a",
    "a.b",
    "1",
    "-1",
    "1.5",
    "1e3",
    "0x1f",
    "_",
    "true",
    "inf",
    "nan",
    "2026-11-22",
    "T10:00:00Z",
    " 10:00:00",
    "+01:00",
    "[a]\n",
    "[[a]]\n",
    "a = 1\n",
    "a.b = 2\n",
    "x = { y = 1 }\n",
    "[a.b]\n",
    "\u{0}",
    "\u{7f}",
    "é",
    "\u{feff}",
];

fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(4) {
            0 if !bytes.is_empty() => {
                let end = (at + 1 + rng.below(8)).min(bytes.len());
                bytes.drain(at.min(end)..end);
            }
            1 if !bytes.is_empty() => {
                let start = rng.below(bytes.len());
                let end = (start + 1 + rng.below(40)).min(bytes.len());
                let piece = bytes[start..end].to_vec();
                bytes.splice(at..at, piece);
            }
            _ => {
                let piece = rng.pick(FRAGMENTS).as_bytes();
                bytes.splice(at..at, piece.iter().copied());
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn fuzz_against_toml() {
    let seconds = std::env::var("TOLLGATE_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let seed: u64 = std::env::var("TOLLGATE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let mut seeds = corpus();
    seeds.extend(VALID.iter().map(|s| (*s).to_owned()));
    seeds.extend(INVALID.iter().map(|s| (*s).to_owned()));
    let started = Instant::now();
    let mut runs = 0u64;
    while started.elapsed() < Duration::from_secs(seconds) {
        runs += 1;
        let mut rng = Rng(seed.wrapping_add(runs).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let base = rng.pick(&seeds);
        let text = mutate(&mut rng, base);
        if let Err(e) = agree(&text) {
            panic!("run {runs} (seed {seed}): {e}");
        }
    }
    eprintln!("fuzz_against_toml: {runs} documents compared");
    assert!(runs > 0);
}
