//! A time-boxed fuzz target for the renderer: every diagnostic of mutated
//! policies and snapshots is rendered for people, as JSON and as GitHub
//! annotations, with none of them panicking and each one bounded in size.
//!
//! Like `tests/fuzz.rs`, it runs `TOLLGATE_FUZZ_SECONDS` seconds (2 by
//! default) from `TOLLGATE_FUZZ_SEED`; it lives in the crate because the
//! renderer is the command line's own.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::{github_line, human, human_handler, json_diagnostic};
use crate::cli::snippet::Locator;
use crate::diagnostic::Diagnostics;
use crate::fuzz_rng::Rng;
use crate::{Format, Policy};

/// What a rendered diagnostic may cost at most, whatever its input: the
/// snippet is a window of a few lines, the message and help are capped.
const MAX_RENDERED_BYTES: usize = 64 << 10;

/// Fragments that stress line and column arithmetic: line ends of every
/// kind, wide and zero-width characters, control bytes, tabs.
const FRAGMENTS: &[&str] = &[
    "\r",
    "\n",
    "\r\n",
    "\t",
    "\u{0}",
    "\u{1b}[31m",
    "\u{7f}",
    "é",
    "😀",
    "\u{301}",
    "\u{200b}",
    "\u{feff}",
    "字",
    "{",
    "}",
    "\"",
    "// c\r",
    "where ",
    "unknown_name ",
    "\\",
];

fn seeds() -> Vec<(String, String)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for (dir, ext) in [
        ("policies", "policy"),
        ("tests/corpus/check", "policy"),
        ("examples", "json"),
        ("tests/corpus/snapshot", "json"),
        ("tests/corpus/snapshot", "toml"),
    ] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            if p.extension().is_some_and(|e| e == ext) {
                if let Ok(text) = std::fs::read_to_string(&p) {
                    out.push((p.display().to_string(), text));
                }
            }
        }
    }
    out
}

/// One random edit: a fragment inserted, a range repeated (up to a line of
/// 70,000 characters, past miette's column limit), or the text cut.
fn mutate(rng: &mut Rng, text: &mut String) {
    let at = |rng: &mut Rng, t: &String| {
        let mut i = rng.below(t.len() + 1);
        while !t.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    match rng.below(4) {
        0 => {
            let i = at(rng, text);
            let fragment = *rng.pick(FRAGMENTS);
            text.insert_str(i, fragment);
        }
        1 => {
            let i = at(rng, text);
            let fragment = rng.pick(FRAGMENTS).trim_matches(['\r', '\n']);
            let piece = if fragment.is_empty() { "x" } else { fragment };
            let n = [10, 1_000, 70_000][rng.below(3)] / piece.len().max(1);
            text.insert_str(i, &piece.repeat(n));
        }
        2 => {
            let (a, b) = (at(rng, text), at(rng, text));
            let (a, b) = (a.min(b), a.max(b));
            let mut end = b.min(a + 4_096);
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            let copy = text[a..end].to_owned();
            text.insert_str(b, &copy);
        }
        _ => {
            let i = at(rng, text);
            text.truncate(i);
        }
    }
}

fn render_all(diagnostics: &Diagnostics) {
    let handler = human_handler();
    let mut at = Locator::new(diagnostics.source.text());
    for d in &diagnostics.items {
        let mut text = String::new();
        human(&mut text, &handler, &diagnostics.source, &mut at, d);
        assert!(
            text.len() <= MAX_RENDERED_BYTES,
            "{} bytes rendered",
            text.len()
        );
        let json = serde_json::to_string(&json_diagnostic(&mut at, d)).unwrap();
        assert!(
            json.len() <= MAX_RENDERED_BYTES,
            "{} bytes of JSON",
            json.len()
        );
        let line = github_line(&diagnostics.source, &mut at, d);
        assert!(!line.contains('\n'), "an annotation is one line: {line:?}");
    }
}

#[test]
fn fuzz_renderer() {
    let seconds = std::env::var("TOLLGATE_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let seed = std::env::var("TOLLGATE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_7011);
    let policy = Policy::from_source(
        "ampere.policy",
        include_str!("../../../policies/ampere.policy"),
    )
    .unwrap();
    let seeds = seeds();
    assert!(seeds.len() > 10, "the seed corpus is missing");
    let mut rng = Rng(seed);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut runs = 0u64;
    while Instant::now() < deadline {
        let (name, seed_text) = rng.pick(&seeds);
        let mut text = seed_text.clone();
        for _ in 0..=rng.below(4) {
            mutate(&mut rng, &mut text);
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            if name.ends_with(".policy") {
                render_all(&crate::check_text(name, &text).diagnostics);
            } else {
                let format = if name.ends_with(".toml") {
                    Format::Toml
                } else {
                    Format::Json
                };
                if let Err(e) = policy.snapshot(name, &text, format, None) {
                    render_all(&e.diagnostics);
                }
            }
        }));
        if outcome.is_err() {
            let path = std::env::temp_dir().join(format!("tollgate-render-crash-{seed}-{runs}"));
            std::fs::write(&path, &text).unwrap();
            panic!(
                "the renderer panicked on {name} mutated (seed {seed}, run {runs}); input saved to {}",
                path.display()
            );
        }
        runs += 1;
    }
    assert!(runs > 0);
    eprintln!("fuzz_renderer: {runs} inputs in {seconds} s");
}
