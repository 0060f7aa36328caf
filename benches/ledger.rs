//! Ledger operations on a typical account (8 grants, 2 debts), and on a
//! large one (10,000 grants, 10,000 debts), where a quadratic step shows.

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

    let n = 10_000;
    let large = policy
        .snapshot_from_json(&large_account(n))
        .expect("valid large account");
    let mut group = c.benchmark_group("ledger-large");
    group.sample_size(10);
    group.bench_function("settle/10000-debts-10000-grants", |b| {
        b.iter(|| black_box(policy.settle(black_box(&large)).expect("settle")))
    });
    let spec = tollgate::GrantSpec {
        kind: "included".to_owned(),
        amount: Decimal::ONE,
        id: None,
        expires_at: None,
        attributes: Vec::new(),
    };
    group.bench_function("grant/fresh-id-among-10000", |b| {
        b.iter(|| black_box(policy.grant(black_box(&large), &spec).expect("grant")))
    });
    group.bench_function("refund/unknown-id", |b| {
        b.iter(|| {
            black_box(
                policy
                    .refund(black_box(&large), "included-2026112")
                    .is_err(),
            )
        })
    });
    group.finish();
}

/// An active account with `n` grants of one credit, ids taken the way
/// `grant` names new ones, and `n` debts of one credit.
fn large_account(n: usize) -> String {
    let grants: Vec<String> = (0..n)
        .map(|i| {
            let id = match i {
                0 => "included-20261122T100000Z".to_owned(),
                i => format!("included-20261122T100000Z-{}", i + 1),
            };
            format!(
                r#"{{"id": "{id}", "kind": "included", "amount": "1", "remaining": "1", "granted_at": "2026-11-01T00:00:00Z"}}"#
            )
        })
        .collect();
    let debts: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"id": "d{i}", "kind": "outstanding_usage", "amount": "1", "created_at": "2026-11-20T08:00:00Z"}}"#
            )
        })
        .collect();
    format!(
        r#"{{"now": "2026-11-22T10:00:00Z", "account": "org_large",
  "subscription": {{"status": "active", "plan": "team",
    "period_start": "2026-11-01T00:00:00Z", "period_end": "2026-12-01T00:00:00Z"}},
  "billing": {{"payment_method": "valid"}},
  "grants": [{}], "debts": [{}]}}"#,
        grants.join(","),
        debts.join(",")
    )
}

criterion_group!(benches, ledger);
criterion_main!(benches);
