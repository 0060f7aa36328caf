//! Ledger operations on a typical account (8 grants, 2 debts).

// Benchmarks stop on broken setup by panicking, like tests.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rust_decimal::Decimal;
use tollgate::Policy;

fn ledger(c: &mut Criterion) {
    let root = env!("CARGO_MANIFEST_DIR");
    let policy = Policy::from_file(format!("{root}/policies/ampere.policy")).expect("policy");
    let text =
        std::fs::read_to_string(format!("{root}/benches/data/typical.json")).expect("account");
    let account = policy.snapshot_from_json(&text).expect("valid account");
    let mut group = c.benchmark_group("ledger");
    let amount = Decimal::new(2505, 1);
    group.bench_function("charge", |b| {
        b.iter(|| black_box(policy.charge(black_box(&account), amount).expect("charge")))
    });
    group.bench_function("settle", |b| {
        b.iter(|| black_box(policy.settle(black_box(&account)).expect("settle")))
    });
    group.finish();
}

criterion_group!(benches, ledger);
criterion_main!(benches);
