//! Policy test cases: TOML files that state what a policy must decide.
//!
//! ```toml
//! policy = "ampere.policy"          # relative to this file; default: the
//!                                   # file's name without `.tests.toml`
//! [[case]]
//! name = "a member is paused at zero credits"
//! account = "../examples/paused-zero-credits.json"   # a path, or an inline table
//! role = "member"
//! action = "send_message"
//! outcome = "deny"
//! state = "paused"
//! reasons = ["no_usable_credits"]
//! next_steps = ["ask_billing_admin"]
//!
//! [[case]]
//! name = "settling pays overruns from locked credits"
//! account = "../examples/ended-subscription-locked.toml"
//! operation = "settle"              # charge (amount), settle, grant (kind,
//!                                   # amount, id, expires_at), refund (grant)
//! settlements = [{ debt = "overrun-1", grant = "top-2026-03", amount = "120" }]
//! ```
//!
//! Every expectation is optional: a case checks what it states, and a key
//! its kind does not check (`outcome` on a ledger case) is an error. Reading a
//! file (its format, discovery, limits) is in `cases/read.rs`; running a
//! case and comparing what came out is in `cases/run.rs`.

mod read;
mod run;

use std::path::PathBuf;

use rust_decimal::Decimal;

use crate::diagnostic::Diagnostics;
use crate::ledger::GrantSpec;
use crate::snapshot::doc::Node;
use crate::span::Source;

pub use read::{MAX_CASE_FILE_BYTES, MAX_DISCOVERY_DEPTH, Seen, discover, parse};
pub use run::{Observed, Verdict, load_account, observe, run, summarize};

/// A parsed case file.
#[derive(Clone, Debug)]
pub struct CaseFile {
    pub path: PathBuf,
    pub source: Source,
    /// The policy the cases are written for.
    pub policy: PathBuf,
    pub cases: Vec<Case>,
}

/// One case: an account, a request or operation, and expectations.
#[derive(Clone, Debug)]
pub struct Case {
    pub name: String,
    /// The line of the case's `name`.
    pub line: u32,
    pub account: AccountSource,
    pub request: CaseRequest,
    pub expect: Expect,
}

/// Where a case's account comes from.
#[derive(Clone, Debug)]
pub enum AccountSource {
    /// A snapshot file, resolved against the case file's folder.
    File(PathBuf),
    /// A snapshot written in the case file, validated when the case runs.
    Inline(Node<'static>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum CaseRequest {
    Decide {
        role: String,
        action: String,
    },
    Charge(Decimal),
    Settle,
    Grant(GrantSpec),
    /// The grant's id, and whether the refund records a dispute.
    Refund(String, bool),
}

/// An effect's code and the parameters a case names.
pub type EffectExpect = (String, Vec<(String, String)>);

/// What a case expects; `None` is not checked.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Expect {
    pub outcome: Option<String>,
    pub state: Option<String>,
    pub reasons: Option<Vec<String>>,
    pub next_steps: Option<Vec<String>>,
    pub warnings: Option<Vec<String>>,
    /// Effect codes with the parameters the case names.
    pub effects: Option<Vec<EffectExpect>>,
    /// Totals the case names: `usable`, `locked`, `expired`, `debt`.
    pub balance: Option<Vec<(String, Decimal)>>,
    pub draws: Option<Vec<(String, Decimal)>>,
    pub voided: Option<Vec<(String, Decimal)>>,
    /// Kind and amount of each new debt.
    pub new_debts: Option<Vec<(String, Decimal)>>,
    /// Debt, grant and amount of each settlement.
    pub settlements: Option<Vec<(String, String, Decimal)>>,
    /// The amount a ledger operation invoices.
    pub invoiced: Option<Decimal>,
    /// The amount a ledger operation forgives.
    pub waived: Option<Decimal>,
    /// The id of a `grant` case's new grant.
    pub granted_id: Option<String>,
    /// When a `grant` case's new grant expires.
    pub granted_expires_at: Option<crate::time::Timestamp>,
}

/// A case file that cannot be read as one.
#[derive(Clone, Debug)]
pub struct CaseFileError {
    pub diagnostics: Diagnostics,
}
