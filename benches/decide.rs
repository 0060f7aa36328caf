//! Deciding requests: the compiled reference policy beside the native floor
//! (a hand-written function of the same rules), on a typical account of 8
//! grants of mixed kinds and 2 debts.

// Benchmarks stop on broken setup by panicking, like tests.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tollgate::Policy;

#[path = "../tests/native/floor.rs"]
#[allow(dead_code)] // the benchmark reads only the outcome
mod floor;

fn setup() -> (Policy, String) {
    let root = env!("CARGO_MANIFEST_DIR");
    let policy = Policy::from_file(format!("{root}/policies/ampere.policy")).expect("policy");
    let text =
        std::fs::read_to_string(format!("{root}/benches/data/typical.json")).expect("account");
    (policy, text)
}

fn decide(c: &mut Criterion) {
    let (policy, text) = setup();
    let account = policy.snapshot_from_json(&text).expect("valid account");
    let requests = [
        (
            "billable",
            "owner",
            "run_tool",
            floor::Role::Owner,
            floor::Category::Billable,
        ),
        (
            "billing",
            "billing_admin",
            "buy_credits",
            floor::Role::BillingAdmin,
            floor::Category::Billing,
        ),
        (
            "free",
            "member",
            "view_history",
            floor::Role::Member,
            floor::Category::Free,
        ),
    ];
    let mut group = c.benchmark_group("decide");
    for (label, role, action, native_role, category) in requests {
        let request = policy.request(role, action).expect("request");
        group.bench_function(format!("{label}/tollgate"), |b| {
            b.iter(|| {
                let d = policy
                    .decide(black_box(&account), black_box(&request))
                    .expect("decision");
                black_box(d.outcome());
            })
        });
        group.bench_function(format!("{label}/native"), |b| {
            b.iter(|| {
                black_box(floor::decide(
                    black_box(&account),
                    black_box(native_role),
                    black_box(category),
                ))
            })
        });
    }
    let request = policy.request("owner", "run_tool").expect("request");
    group.bench_function("billable/tollgate+json-snapshot", |b| {
        b.iter(|| {
            let account = policy
                .snapshot_from_json(black_box(&text))
                .expect("valid account");
            let d = policy.decide(&account, &request).expect("decision");
            black_box(d.outcome());
        })
    });
    group.bench_function("billable/tollgate+json-output", |b| {
        b.iter(|| {
            let d = policy
                .decide(black_box(&account), &request)
                .expect("decision");
            black_box(d.to_json().expect("json"));
        })
    });
    group.finish();
}

criterion_group!(benches, decide);
criterion_main!(benches);
