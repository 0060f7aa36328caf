//! Proofs (docs/performance.md, "Proofs (issue 16)"), with the real solver
//! (`z3`, or `TOLLGATE_Z3`):
//!
//! - `verify/ampere`: the 14 assertions of `policies/ampere.policy`
//!   (`tollgate::verify::verify`), target under 2 s;
//! - `diff_exhaustive/low_balance_threshold`: ampere against itself with
//!   the low-balance threshold's default changed from 100 to 200
//!   (`tollgate::verify::diff::diff`), target under 5 s;
//! - `check_prove/ampere`: `tollgate check --prove`, through the binary,
//!   since the lints read the compiled program, which is crate-internal.
//!
//! Each sample starts its own solver process, as a command does, so the
//! figures include its start-up. Run with `cargo bench --bench verify`.

// Benchmarks stop on broken setup by panicking, like tests.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::process::Command;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use tollgate::Policy;
use tollgate::verify::Verdict;

const LIMIT: Duration = Duration::from_secs(120);

fn verify(c: &mut Criterion) {
    let root = env!("CARGO_MANIFEST_DIR");
    let path = format!("{root}/policies/ampere.policy");
    let text = std::fs::read_to_string(&path).expect("policy");
    let old = Policy::from_source("ampere.policy", &text).expect("compiles");
    let changed = text.replace(
        "let low_balance_threshold = settings.low_balance_threshold ?? 100",
        "let low_balance_threshold = settings.low_balance_threshold ?? 200",
    );
    assert_ne!(changed, text, "the threshold line is in ampere.policy");
    let new = Policy::from_source("new.policy", &changed).expect("compiles");

    // What one run does, once, so the figures can be read against it.
    let results = tollgate::verify::verify(&old, LIMIT).expect("verifies");
    assert_eq!(results.len(), 14, "ampere's assertions");
    assert!(
        results.iter().all(|r| matches!(r.verdict, Verdict::Proven)),
        "every assertion of ampere is proven"
    );
    let found = tollgate::verify::diff::diff(&old, &new, LIMIT).expect("diffs");
    assert!(!found.regions.is_empty(), "the threshold change is found");
    eprintln!(
        "diff --exhaustive: {} requests compared, {} regions, {} solver checks",
        found.requests,
        found.regions.len(),
        found.checks
    );

    let mut group = c.benchmark_group("proofs");
    group.sample_size(10);
    group.bench_function("verify/ampere", |b| {
        b.iter(|| black_box(tollgate::verify::verify(black_box(&old), LIMIT).expect("verifies")))
    });
    group.bench_function("diff_exhaustive/low_balance_threshold", |b| {
        b.iter(|| {
            black_box(
                tollgate::verify::diff::diff(black_box(&old), black_box(&new), LIMIT)
                    .expect("diffs"),
            )
        })
    });
    group.bench_function("check_prove/ampere", |b| {
        b.iter(|| {
            let out = Command::new(env!("CARGO_BIN_EXE_tollgate"))
                .args(["check", "--prove", &path])
                .output()
                .expect("runs tollgate");
            assert!(out.status.success(), "check --prove passes on ampere");
            black_box(out)
        })
    });
    group.finish();
}

criterion_group!(benches, verify);
criterion_main!(benches);
