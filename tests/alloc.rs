//! Deciding allocates nothing on the embedding path, and reading a snapshot
//! or a policy costs a small multiple of its text: counted with an
//! instrumented allocator (stats_alloc), in its own test binary so no other
//! test's allocations are counted.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::alloc::System;
use std::fmt::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Allocations (and reallocations) made while `f` runs. This binary has one
/// test, so no other thread allocates meanwhile.
fn allocations_during(f: impl FnOnce()) -> usize {
    let region = Region::new(GLOBAL);
    f();
    let stats = region.change();
    stats.allocations + stats.reallocations
}

/// Bytes allocated while `f` runs, each allocation and each growth counted
/// once, whether or not it was freed since: at least the peak.
fn bytes_during(f: impl FnOnce()) -> usize {
    let region = Region::new(GLOBAL);
    f();
    let stats = region.change();
    stats.bytes_allocated + stats.bytes_reallocated.max(0).unsigned_abs()
}

/// Bytes allocated and not yet freed (stats_alloc counts a reallocation's
/// growth as allocated and its shrinking as freed).
fn live() -> i128 {
    let s = GLOBAL.stats();
    s.bytes_allocated as i128 - s.bytes_deallocated as i128
}

/// The most bytes held at once while `f` runs, beyond those held before:
/// a second thread samples the count every 50 µs, so a peak shorter than
/// that may be missed, never overstated. The sampler allocates nothing
/// while it samples.
fn peak_bytes_during(f: impl FnOnce()) -> usize {
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let sampler = scope.spawn(|| {
            let mut peak = live();
            while !done.load(Ordering::Relaxed) {
                peak = peak.max(live());
                std::thread::sleep(std::time::Duration::from_micros(50));
            }
            peak.max(live())
        });
        // Started: its own allocations are in the count from here on.
        std::thread::sleep(std::time::Duration::from_millis(10));
        let before = live();
        f();
        done.store(true, Ordering::Relaxed);
        let peak = sampler.join().unwrap();
        usize::try_from(peak - before).unwrap_or(0)
    })
}

/// The one test of this binary: no other test allocates while it counts.
#[test]
fn allocations() {
    let root = env!("CARGO_MANIFEST_DIR");
    let policy = tollgate::Policy::from_file(format!("{root}/policies/ampere.policy")).unwrap();
    deciding_allocates_nothing(&policy);
    a_toml_snapshot_costs_what_its_json_costs(&policy);
    reading_a_policy_holds_a_small_multiple_of_its_text();
}

fn deciding_allocates_nothing(policy: &tollgate::Policy) {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut accounts = Vec::new();
    for file in [
        "benches/data/typical.json",
        "examples/paused-zero-credits.json",
        "examples/dispute-debt.json",
    ] {
        let text = std::fs::read_to_string(format!("{root}/{file}")).unwrap();
        accounts.push(policy.snapshot_from_json(&text).unwrap());
    }
    let text =
        std::fs::read_to_string(format!("{root}/examples/ended-subscription-locked.toml")).unwrap();
    accounts.push(policy.snapshot_from_toml(&text).unwrap());
    let requests: Vec<_> = [
        ("owner", "run_tool"),
        ("member", "send_message"),
        ("billing_admin", "buy_credits"),
        ("member", "view_history"),
        ("member", "grant_billing_admin"),
    ]
    .iter()
    .map(|(r, a)| policy.request(r, a).unwrap())
    .collect();
    for account in &accounts {
        for request in &requests {
            let mut outcome = None;
            let count = allocations_during(|| {
                let d = policy.decide(account, request).unwrap();
                outcome = Some((
                    d.outcome(),
                    d.state().len(),
                    d.reason_codes().count(),
                    d.next_step_codes().count(),
                ));
            });
            assert!(outcome.is_some());
            assert_eq!(count, 0, "deciding allocated {count} times");
        }
    }

    // Reading a snapshot allocates what the account keeps (its ids, its
    // lists) and the document tree's lists, nothing per value: 36 for the
    // typical account, pinned so that a change that allocates per value
    // shows up here.
    let typical = std::fs::read_to_string(format!("{root}/benches/data/typical.json")).unwrap();
    let count = allocations_during(|| {
        assert!(policy.snapshot_from_json(&typical).is_ok());
    });
    assert!(
        count <= 40,
        "reading the typical snapshot allocated {count} times"
    );
}

/// The same two accounts of almost 1 MiB, as TOML and as JSON: many small
/// grants, and a declared field holding a long list of small numbers
/// (refused, but read first). Counted in bytes allocated, freed or not, so
/// a reader that builds a tree and copies it pays for both.
fn a_toml_snapshot_costs_what_its_json_costs(policy: &tollgate::Policy) {
    let grant = |i: usize| {
        (
            format!(
                "\n[[grants]]\nid = \"g{i}\"\nkind = \"purchased\"\namount = \"2\"\nremaining = \"1\"\ngranted_at = \"2026-03-14T12:00:00Z\"\n"
            ),
            format!(
                r#"{{"id": "g{i}", "kind": "purchased", "amount": "2", "remaining": "1", "granted_at": "2026-03-14T12:00:00Z"}}"#
            ),
        )
    };
    let (toml_grants, json_grants): (Vec<String>, Vec<String>) = (0..9_000).map(grant).unzip();
    let numbers = vec!["1"; 500_000].join(",");
    let now = "2026-11-22T10:00:00Z";
    for (toml, json) in [
        (
            format!("now = \"{now}\"\n{}", toml_grants.concat()),
            format!(
                r#"{{"now": "{now}", "grants": [{}]}}"#,
                json_grants.join(", ")
            ),
        ),
        (
            format!("now = \"{now}\"\n[auto_recharge]\nthreshold = [{numbers}]\n"),
            format!(r#"{{"now": "{now}", "auto_recharge": {{"threshold": [{numbers}]}}}}"#),
        ),
    ] {
        assert!(toml.len() <= tollgate::limits::MAX_TOML_SNAPSHOT_BYTES);
        let toml_bytes = bytes_during(|| {
            let _ = policy.snapshot_from_toml(&toml);
        });
        let json_bytes = bytes_during(|| {
            let _ = policy.snapshot_from_json(&json);
        });
        // 2.2 and 1.0 times JSON's now; 6.7 and 4.6 times with `toml`'s
        // document model.
        assert!(
            toml_bytes <= 3 * json_bytes,
            "reading {} bytes of TOML allocated {toml_bytes} bytes, JSON {json_bytes}",
            toml.len()
        );
    }
}

/// The compile benchmark's policies, from the same code.
#[path = "../benches/common/generated.rs"]
mod generated;
use generated::generated;

/// Reading a policy, from text to program, holds a small multiple of the
/// text at any one time: the syntax tree, the checked policy and the
/// program are each freed as the next is built. Three shapes: many rules
/// (the compile benchmark's), and 40 `let`s of 9,900-item lists of
/// numbers or of names, the densest texts that compile (a tree node and a
/// checked item for every 2 bytes of `1,` or `a,`). The first two held 37
/// and 137 bytes per byte of text when the three forms lived side by side;
/// the three hold 13, 20 and 20 now (13, 24 and 20 while each list item
/// was five pairs of pest's record).
///
/// And one declaration alone, a list at the token limit, where pest's
/// record of the declaration is most of what is held: 69 bytes per byte
/// of `1,` and 81 of `a,` (226 and 471 while each item was five pairs of
/// the record and, for a name, a path too). docs/robustness.md gives the
/// figures for whole files.
fn reading_a_policy_holds_a_small_multiple_of_its_text() {
    let lists = {
        let items = vec!["1"; 9_900].join(",");
        let mut p = String::from("policy p\nrole r\nactions a: x\npermit r to all\n");
        for k in 0..40 {
            let _ = writeln!(p, "let big{k} = usable in [{items}]");
        }
        p.push_str("state ok otherwise\n");
        p
    };
    let names = {
        let items = vec!["a"; 9_900].join(",");
        let mut p = String::from(
            "policy p\nrole r\nactions a: x\npermit r to all\nenum e: a, b\nfield f.x: e default a\n",
        );
        for k in 0..40 {
            let _ = writeln!(p, "let big{k} = f.x in [{items}]");
        }
        p.push_str("state ok otherwise\n");
        p
    };
    for (shape, text, most) in [
        ("rules", generated(3_000), 16),
        ("lists", lists, 25),
        ("names", names, 25),
    ] {
        let mut compiled = false;
        let peak = peak_bytes_during(|| {
            compiled = tollgate::Policy::from_source("big.policy", &text).is_ok();
        });
        assert!(compiled, "{shape}");
        within(shape, &text, peak, most);
    }

    // As many items as one declaration may hold: more than one expression
    // may evaluate, so it is refused, but only once it is read.
    let items = (tollgate::limits::MAX_ITEM_TOKENS - 20) / 2;
    for (shape, value, item, most) in [
        ("one list", "usable", "1", 80),
        ("one list of names", "f.x", "a", 95),
    ] {
        let text = format!(
            "policy p\nrole r\nactions a: x\npermit r to all\nenum e: a, b\nfield f.x: e default a\n\
             let big = {value} in [{}]\nstate s when big\nstate ok otherwise\n",
            vec![item; items].join(",")
        );
        let mut codes = Vec::new();
        let peak = peak_bytes_during(|| {
            let analysis = tollgate::check_text("big.policy", &text);
            codes = analysis
                .diagnostics
                .items
                .iter()
                .map(|d| d.code.name())
                .collect();
        });
        codes.dedup();
        assert_eq!(codes, ["too_expensive"], "{shape}");
        within(shape, &text, peak, most);
    }

    // Dense expressions: 40 lists of 9,900 comparisons `[a<b,…]`, three
    // nodes for every four bytes, the most nodes a byte of text can make
    // (each list is refused as `too_expensive` once checked, and the whole
    // file's syntax tree is built first). 32 bytes a byte: it held 44
    // while a name was a one-segment path of its own and each operand a
    // box of its own.
    let comparisons = {
        let items = vec!["a<b"; 9_900].join(",");
        let mut p = String::from(
            "policy p\nrole r\nactions a: x\npermit r to all\n\
             field f.a: decimal default 1\nfield f.b: decimal default 2\n\
             let a = f.a\nlet b = f.b\n",
        );
        for k in 0..40 {
            let _ = writeln!(p, "let big{k} = true in [{items}]");
        }
        p.push_str("state ok otherwise\n");
        p
    };
    let mut codes = Vec::new();
    let peak = peak_bytes_during(|| {
        let analysis = tollgate::check_text("big.policy", &comparisons);
        codes = analysis
            .diagnostics
            .items
            .iter()
            .map(|d| d.code.name())
            .collect();
    });
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes, ["too_expensive", "unused_definition"]);
    within("comparisons", &comparisons, peak, 35);

    // Messages of nothing but `{x}`: a message is one token whatever it
    // holds, so nothing bounded them, and each cost about 250 bytes for
    // three of text (78 bytes a byte of the file, 615 MB at 8 MB). The
    // first `MAX_INTERPOLATIONS` are kept and the rest refused unread: 6
    // MB of them hold 5.5 bytes a byte.
    let interpolations = {
        let mut p = String::from(
            "policy p\nrole r\nactions a: x\npermit r to all\n\
             field f.x: decimal default 1\nlet x = f.x\nstate ok otherwise\n",
        );
        for k in 0..80 {
            let _ = writeln!(
                p,
                "step s{k} \"{}\"",
                "{x}".repeat(tollgate::limits::MAX_INTERPOLATIONS / 4)
            );
        }
        p
    };
    let mut codes = Vec::new();
    let peak = peak_bytes_during(|| {
        let analysis = tollgate::check_text("big.policy", &interpolations);
        codes = analysis
            .diagnostics
            .items
            .iter()
            .map(|d| d.code.name())
            .collect();
    });
    // Told once (the steps are unused besides).
    assert_eq!(
        codes.iter().filter(|c| **c == "invalid_template").count(),
        1
    );
    within("interpolations", &interpolations, peak, 8);

    // Formatting holds the tree of the text and the tree of its output,
    // compared in place: 16 bytes a byte, 25 while copies of both were
    // compared.
    let rules = generated(3_000);
    let peak = peak_bytes_during(|| {
        assert!(tollgate::format_text("big.policy", &rules).is_ok());
    });
    within("formatting", &rules, peak, 20);

    // One slip repeated without end: an unknown name in every item of
    // long lists, or a `let` nothing uses, as many times as allowed. The
    // check keeps the first `MAX_CHECK_DIAGNOSTICS` and counts the rest;
    // keeping them all held 130 and 46 bytes per byte (and the parser's
    // list of parsed items beside the tree, 16 more).
    let unknown = {
        let items = vec!["zz"; 9_900].join(",");
        let mut p = String::from(
            "policy p\nrole r\nactions a: x\npermit r to all\nenum e: a, b\nfield f.x: e default a\n",
        );
        for k in 0..40 {
            let _ = writeln!(p, "let big{k} = f.x in [{items}]");
        }
        p.push_str("state ok otherwise\n");
        p
    };
    let unused = {
        let mut p = String::from("policy p\nrole r\nactions a: x\npermit r to all\n");
        for k in 0..tollgate::limits::MAX_DECLARATIONS {
            let _ = writeln!(p, "let l{k} = 1");
        }
        p.push_str("state ok otherwise\n");
        p
    };
    for (shape, text, errors, warnings, most) in [
        ("unknown names", unknown, 396_000, 40, 15),
        // 29 bytes a byte: a 14-byte declaration costs its records (name,
        // index, checked form, compiled form).
        (
            "unused lets",
            unused,
            0,
            tollgate::limits::MAX_DECLARATIONS,
            32,
        ),
    ] {
        let mut counts = (0, 0, 0);
        let peak = peak_bytes_during(|| {
            let analysis = tollgate::check_text("big.policy", &text);
            let d = &analysis.diagnostics;
            counts = (d.items.len(), d.error_count(), d.warning_count());
        });
        let kept = tollgate::limits::MAX_CHECK_DIAGNOSTICS;
        assert_eq!(counts, (kept, errors, warnings), "{shape}");
        within(shape, &text, peak, most);
    }
}

/// Reports `peak` bytes held for `text`, and fails past `most` a byte.
fn within(shape: &str, text: &str, peak: usize, most: usize) {
    let per_byte = peak as f64 / text.len() as f64;
    eprintln!(
        "{shape}: {} bytes of text held {peak} bytes at most, {per_byte:.1} per byte",
        text.len()
    );
    assert!(
        peak <= most * text.len(),
        "{shape}: {} bytes of policy held {peak} bytes at once, more than {most} per byte",
        text.len()
    );
}
