//! Deciding allocates nothing on the embedding path: counted with an
//! instrumented allocator (stats_alloc), in its own test binary so no other
//! test's allocations are counted.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::alloc::System;

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

#[test]
fn deciding_allocates_nothing() {
    let root = env!("CARGO_MANIFEST_DIR");
    let policy = tollgate::Policy::from_file(format!("{root}/policies/ampere.policy")).unwrap();
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
