//! Parse + check + compile: the reference policy, and generated policies of
//! 100, 1,000 and 10,000 rules, to show that the cost grows linearly.

// Benchmarks stop on broken setup by panicking, like tests.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tollgate::Policy;

mod common {
    pub mod generated;
}
use common::generated::generated;

fn compile(c: &mut Criterion) {
    let root = env!("CARGO_MANIFEST_DIR");
    let ampere = std::fs::read_to_string(format!("{root}/policies/ampere.policy")).expect("policy");
    let mut group = c.benchmark_group("compile");
    group.bench_function("ampere", |b| {
        b.iter(|| {
            black_box(Policy::from_source("ampere.policy", black_box(&ampere)).expect("compiles"))
        })
    });
    for rules in [100, 1_000, 10_000] {
        let text = generated(rules);
        assert!(
            Policy::from_source("generated.policy", &text).is_ok(),
            "the generated policy compiles"
        );
        group.throughput(Throughput::Elements(rules as u64));
        if rules == 10_000 {
            group.sample_size(10);
        }
        group.bench_with_input(BenchmarkId::new("rules", rules), &text, |b, text| {
            b.iter(|| {
                black_box(
                    Policy::from_source("generated.policy", black_box(text)).expect("compiles"),
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, compile);
criterion_main!(benches);
