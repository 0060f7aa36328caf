//! The generated policies the benchmarks and the memory test measure
//! (`benches/compile.rs`, `benches/lsp.rs`, `tests/alloc.rs`): one copy,
//! so their figures are of the same text.

// Each includer uses only part of it (the language server benchmark only
// the declarations).
#![allow(dead_code)]

use std::fmt::Write;

/// Rules in one generated `on` block at most. Real policies hold a few
/// dozen a block; one declaration may hold at most `MAX_ITEM_TOKENS`
/// tokens, about 1,000 of these rules, and blocks of a tenth of 30,000
/// rules were past it.
const RULES_PER_BLOCK: usize = 50;

/// The declarations every generated policy starts with: roles, kinds,
/// orders, a field, a `let`, steps, states, and 10 action categories that
/// both roles may take.
pub fn declarations() -> String {
    let mut p = String::from(
        "policy generated\nrole owner with billing access\nrole member\n\
         credits included, purchased\ndebts overrun\n\
         spend included, purchased by expires_at, granted_at, id\n\
         settle overrun by created_at, id {\n  overrun from usable\n}\n\
         enum tier: free, pro, enterprise\nfield plan.tier: tier default free\n\
         field settings.limit: optional decimal\n\
         let limit = settings.limit ?? 100\n\
         step upgrade \"Upgrade the plan.\"\nstep ask \"Ask an owner.\"\n\
         state debt when debt > 0\nstate low when usable <= limit\nstate ok otherwise\n",
    );
    for c in 0..10 {
        let _ = writeln!(p, "actions cat{c}: act{c}a, act{c}b");
    }
    p.push_str("permit owner to all\npermit member to all\n");
    p
}

/// A policy with `rules` deny and warn rules over 10 action categories, each
/// rule with a condition, a message with an interpolation, and steps, in
/// `on` blocks of at most [`RULES_PER_BLOCK`] rules.
pub fn generated(rules: usize) -> String {
    let mut p = declarations();
    // At least one block per category, and at most `RULES_PER_BLOCK` rules
    // a block: several blocks name the same category past 500 rules.
    let blocks = rules.div_ceil(RULES_PER_BLOCK).max(10);
    let per_block = rules.div_ceil(blocks);
    let mut n = 0;
    for b in 0..blocks {
        let _ = writeln!(p, "on cat{} {{", b % 10);
        for _ in 0..per_block {
            if n == rules {
                break;
            }
            let kind = if n % 4 == 3 { "warn" } else { "deny" };
            let _ = writeln!(
                p,
                "  {kind} rule{n} when usable < {n} and plan.tier in [pro, enterprise] or debt > limit * {n} {{\n    \
                 message \"Rule {n}: only {{usable}} credits.\""
            );
            if kind == "deny" {
                p.push_str("    steps for billing access {\n      upgrade when debt > 1\n    }\n    steps for others {\n      ask\n    }\n");
            }
            p.push_str("  }\n");
            n += 1;
        }
        p.push_str("}\n");
    }
    p
}
