//! Deciding allocates nothing on the embedding path, and reading a snapshot
//! costs a small multiple of its text: counted with an instrumented
//! allocator (stats_alloc), in its own test binary so no other test's
//! allocations are counted.

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

/// Bytes allocated while `f` runs, each allocation and each growth counted
/// once, whether or not it was freed since: at least the peak.
fn bytes_during(f: impl FnOnce()) -> usize {
    let region = Region::new(GLOBAL);
    f();
    let stats = region.change();
    stats.bytes_allocated + stats.bytes_reallocated.max(0).unsigned_abs()
}

/// The one test of this binary: no other test allocates while it counts.
#[test]
fn allocations() {
    let root = env!("CARGO_MANIFEST_DIR");
    let policy = tollgate::Policy::from_file(format!("{root}/policies/ampere.policy")).unwrap();
    deciding_allocates_nothing(&policy);
    a_toml_snapshot_costs_what_its_json_costs(&policy);
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
