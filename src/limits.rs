//! Every limit tollgate enforces on its input, in one place.
//!
//! Each bounds the work or memory one input can cost; past it the input is
//! refused with a diagnostic that names the limit, never a crash or a
//! quadratic scan. `docs/robustness.md` lists them with what happens past
//! each.

/// Largest policy file, in bytes (`file_too_large`).
pub const MAX_POLICY_BYTES: usize = crate::parse::MAX_POLICY_BYTES;
/// Deepest nesting of brackets and `where` filters in a policy
/// (`too_deeply_nested`).
pub const MAX_NESTING: usize = crate::parse::MAX_NESTING;
/// Deepest one expression may nest (`too_deeply_nested`).
pub const MAX_EXPR_DEPTH: usize = crate::parse::MAX_EXPR_DEPTH;
/// Deepest an expression may nest counting through the `let`s it reads
/// (`too_deeply_nested`).
pub const MAX_EVAL_DEPTH: usize = crate::check::MAX_EVAL_DEPTH;
/// Most nodes one expression may evaluate, counting each `let` it reads in
/// full at every read (`too_expensive`).
pub const MAX_EVAL_NODES: usize = crate::check::MAX_EVAL_NODES;
/// Most nodes one decision may evaluate: every condition, effect parameter
/// and message value counted that way, together (`too_expensive`).
pub const MAX_DECISION_NODES: usize = crate::check::MAX_DECISION_NODES;
/// Most nodes one decision may evaluate for each grant or debt: 1 per
/// aggregate walked plus its `where` filter (`too_expensive`).
pub const MAX_AGGREGATE_WORK: usize = crate::check::MAX_AGGREGATE_WORK;
/// Most tokens in one declaration of a policy (`declaration_too_large`).
pub const MAX_ITEM_TOKENS: usize = crate::parse::MAX_ITEM_TOKENS;
/// The most `{…}` interpolations in one policy's messages.
pub const MAX_INTERPOLATIONS: usize = crate::parse::MAX_INTERPOLATIONS;
/// Longest name in a policy, in bytes (`value_out_of_range`).
pub const MAX_NAME_LEN: usize = crate::parse::MAX_NAME_LEN;
/// Most roles, actions, categories, enums, values of one enum, fields,
/// `let`s, steps, states, `on` blocks and rules a policy may declare, each
/// (`too_many_items`).
pub const MAX_DECLARATIONS: usize = crate::check::MAX_DECLARATIONS;
/// Most diagnostics one policy's check keeps; the rest are counted
/// ([`crate::Diagnostics::omitted`]).
pub const MAX_CHECK_DIAGNOSTICS: usize = crate::check::MAX_CHECK_DIAGNOSTICS;
/// Most credit kinds, and most debt kinds, a policy may declare
/// (`too_many_items`).
pub const MAX_KINDS: usize = crate::check::MAX_KINDS;
/// Most attributes a grant may carry (`field grants.priority`).
pub const MAX_GRANT_ATTRS: usize = crate::check::MAX_GRANT_ATTRS;
/// Most cells of the roles × actions table, and of the `on` blocks ×
/// actions table (`too_many_items`).
pub const MAX_TABLE_CELLS: usize = crate::check::MAX_TABLE_CELLS;
/// Most `lock` rules a policy may declare (`value_out_of_range`).
pub const MAX_LOCKS: usize = crate::compile::MAX_LOCKS;
/// Largest snapshot, in bytes, JSON or TOML (`snapshot_too_large`).
pub const MAX_SNAPSHOT_BYTES: usize = crate::snapshot::MAX_SNAPSHOT_BYTES;
/// Largest TOML snapshot, in bytes (`snapshot_too_large`). TOML is for
/// accounts people write; it costs what the same account costs in JSON.
pub const MAX_TOML_SNAPSHOT_BYTES: usize = crate::snapshot::MAX_TOML_SNAPSHOT_BYTES;
/// Deepest JSON nesting in a snapshot (`invalid_document`).
pub const MAX_JSON_DEPTH: usize = crate::snapshot::json::MAX_DEPTH;
/// Most values one JSON snapshot may hold, counted while it is read
/// (`snapshot_too_large`): enough for 100,000 grants and 100,000 debts with
/// all their fields, and every field a policy may declare.
pub const MAX_JSON_VALUES: usize = crate::snapshot::json::MAX_VALUES;
/// Most parts a dotted key or table header in a TOML snapshot or case file
/// may have, as the `toml` crate allows (`invalid_document`, at the key).
pub const MAX_TOML_KEY_PARTS: usize = crate::snapshot::toml_doc::MAX_KEY_PARTS;
/// Most grants, and most debts, in a snapshot (`snapshot_too_large`).
pub const MAX_ITEMS: usize = crate::snapshot::MAX_ITEMS;
/// Longest id or text value in a snapshot, in bytes (`invalid_value`).
pub const MAX_TEXT_LEN: usize = crate::snapshot::MAX_TEXT_LEN;
/// Most errors one snapshot reports; the rest are counted in
/// [`crate::Diagnostics::omitted`].
pub const MAX_SNAPSHOT_ERRORS: usize = crate::snapshot::MAX_SNAPSHOT_ERRORS;
/// Largest case file (`*.tests.toml`), in bytes.
#[cfg(feature = "cli")]
pub const MAX_CASE_FILE_BYTES: usize = crate::cases::MAX_CASE_FILE_BYTES;
/// Deepest folder `tollgate test` and `diff --cases` search for case files.
#[cfg(feature = "cli")]
pub const MAX_DISCOVERY_DEPTH: usize = crate::cases::MAX_DISCOVERY_DEPTH;
/// Longest name that gets a "did you mean" suggestion, in characters.
pub const MAX_SUGGEST_NAME_CHARS: usize = crate::diagnostic::MAX_SUGGEST_NAME_CHARS;
/// Most digits after the point in an amount.
pub const MAX_AMOUNT_SCALE: u32 = crate::amount::MAX_SCALE;
/// Largest amount's whole part (10^15).
pub const MAX_AMOUNT: i64 = crate::amount::MAX_WHOLE;
/// Longest duration, in seconds (100,000 days).
pub const MAX_DURATION_SECONDS: i64 = crate::time::MAX_DURATION_SECONDS;
/// Longest calendar duration a policy may write (`mo`, `y`): 3,000 months.
pub const MAX_DURATION_MONTHS: i64 = crate::time::MAX_DURATION_MONTHS;
