//! The embedding API: a compiled policy, shared across threads.

use std::path::Path;
use std::sync::Arc;

use crate::compile::Program;
use crate::decide::{self, Decision, EvalError, Request};
use crate::diagnostic::{Diagnostics, suggest};
use crate::ledger::{self, GrantSpec, LedgerError, LedgerResult};
use crate::snapshot::{self, Account, Format, SnapshotError};
use crate::time::Timestamp;

/// A checked and compiled policy: immutable, `Send + Sync`, and cheap to
/// clone (clones share the program). A service keeps one and swaps it
/// when a new policy file passes `check`.
#[derive(Clone, Debug)]
pub struct Policy {
    program: Arc<Program>,
    warnings: Arc<Diagnostics>,
}

/// Why a policy could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file could not be read.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The path as given.
        path: String,
        /// Why reading failed.
        #[source]
        source: std::io::Error,
    },
    /// The policy has errors; every diagnostic is kept.
    #[error("{} has {} error(s)", .0.source.name(), .0.error_count())]
    Invalid(Diagnostics),
}

impl PolicyError {
    /// The diagnostics, when the policy text was read.
    pub fn diagnostics(&self) -> Option<&Diagnostics> {
        match self {
            PolicyError::Invalid(d) => Some(d),
            PolicyError::Io { .. } => None,
        }
    }
}

impl miette::Diagnostic for PolicyError {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        match self {
            PolicyError::Io { .. } => Some(Box::new("tollgate::io")),
            PolicyError::Invalid(_) => Some(Box::new("tollgate::policy")),
        }
    }
}

/// A role or action the policy does not declare.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The role is not one the policy declares.
    #[error("unknown role `{name}`{}", hint(.suggestion))]
    UnknownRole {
        /// The role as given.
        name: String,
        /// The closest declared role, if one is near.
        suggestion: Option<String>,
    },
    /// The action is not one the policy declares.
    #[error("unknown action `{name}`{}", hint(.suggestion))]
    UnknownAction {
        /// The action as given.
        name: String,
        /// The closest declared action, if one is near.
        suggestion: Option<String>,
    },
}

fn hint(suggestion: &Option<String>) -> String {
    suggestion
        .as_ref()
        .map_or_else(String::new, |s| format!("; did you mean `{s}`?"))
}

impl Policy {
    /// Reads, parses, checks and compiles a policy file. At most one byte
    /// past [`MAX_POLICY_BYTES`](crate::limits::MAX_POLICY_BYTES) is read: a
    /// larger file is refused (`file_too_large`) without being held. A
    /// named pipe, a socket or a terminal is refused ([`PolicyError::Io`],
    /// saying what it is), not waited on.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Policy, PolicyError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let io = |source| PolicyError::Io {
            path: name.clone(),
            source,
        };
        // A named pipe or a terminal is refused, not waited on.
        let bytes = crate::input::read_capped(path, crate::limits::MAX_POLICY_BYTES).map_err(io)?;
        Policy::from_analysis(crate::check_owned(&name, bytes))
    }

    /// Like [`Policy::from_source`], for bytes read from a file (what
    /// [`crate::check_bytes`] reports is what refuses it): `tollgate serve`.
    #[cfg(feature = "serve")]
    pub(crate) fn from_bytes(name: &str, bytes: &[u8]) -> Result<Policy, PolicyError> {
        Policy::from_analysis(crate::check_bytes(name, bytes))
    }

    /// Parses, checks and compiles policy text; `name` is how decisions
    /// cite it (`name:line:col`).
    pub fn from_source(name: &str, text: &str) -> Result<Policy, PolicyError> {
        Policy::from_analysis(crate::check_text(name, text))
    }

    fn from_analysis(analysis: crate::Analysis) -> Result<Policy, PolicyError> {
        let diagnostics = analysis.diagnostics;
        let Some(program) = analysis.program else {
            return Err(PolicyError::Invalid(diagnostics));
        };
        Ok(Policy {
            program,
            warnings: Arc::new(diagnostics),
        })
    }

    /// The policy's name, as printed in every decision.
    pub fn name(&self) -> &str {
        &self.program.name
    }

    /// The roles the policy declares, in declaration order.
    pub fn roles(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.program.roles.iter().map(|r| r.name.as_str())
    }

    /// The actions the policy declares, in declaration order.
    pub fn actions(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.program.actions.iter().map(|a| a.name.as_str())
    }

    /// The warnings `check` found; a policy with warnings still compiles.
    pub fn warnings(&self) -> &Diagnostics {
        &self.warnings
    }

    /// The compiled program to change, while this is its only holder (tests).
    #[cfg(all(test, feature = "verify"))]
    pub(crate) fn program_mut(&mut self) -> Option<&mut Program> {
        Arc::get_mut(&mut self.program)
    }

    /// The compiled program, for the command line's `diff` and `test`, the
    /// server's description of a policy, and the prover.
    #[cfg(any(feature = "cli", feature = "serve", feature = "verify"))]
    pub(crate) fn program(&self) -> &Program {
        &self.program
    }

    /// Parses and validates a JSON snapshot against this policy.
    pub fn snapshot_from_json(&self, text: &str) -> Result<Account, SnapshotError> {
        self.snapshot("snapshot.json", text, Format::Json, None)
    }

    /// Parses and validates a TOML snapshot against this policy.
    pub fn snapshot_from_toml(&self, text: &str) -> Result<Account, SnapshotError> {
        self.snapshot("snapshot.toml", text, Format::Toml, None)
    }

    /// Parses and validates a snapshot; `name` is how errors cite it, and
    /// `now`, when given, replaces the snapshot's own `now`.
    pub fn snapshot(
        &self,
        name: &str,
        text: &str,
        format: Format,
        now: Option<Timestamp>,
    ) -> Result<Account, SnapshotError> {
        snapshot::parse(&self.program, name, text, format, now)
    }

    /// Resolves a role and an action once; the request can be reused for
    /// any number of decisions.
    pub fn request(&self, role: &str, action: &str) -> Result<Request, RequestError> {
        let p = &self.program;
        let role = p
            .role_by_name(role)
            .ok_or_else(|| RequestError::UnknownRole {
                name: role.to_owned(),
                suggestion: suggest(role, p.roles.iter().map(|r| r.name.as_str()))
                    .map(str::to_owned),
            })?;
        let action = p
            .action_by_name(action)
            .ok_or_else(|| RequestError::UnknownAction {
                name: action.to_owned(),
                suggestion: suggest(action, p.actions.iter().map(|a| a.name.as_str()))
                    .map(str::to_owned),
            })?;
        Ok(Request { role, action })
    }

    /// Decides a request. No I/O, no clock, no panic; the only error is
    /// arithmetic overflow in the policy's own expressions.
    pub fn decide<'a>(
        &'a self,
        account: &'a Account,
        request: &Request,
    ) -> Result<Decision<'a>, EvalError> {
        decide::decide(&self.program, account, *request, false)
    }

    /// Like [`Policy::decide`], recording the trace `--explain` shows.
    pub fn decide_explained<'a>(
        &'a self,
        account: &'a Account,
        request: &Request,
    ) -> Result<Decision<'a>, EvalError> {
        decide::decide(&self.program, account, *request, true)
    }

    /// Draws `amount` for admitted work in the spend order; a shortfall
    /// becomes a debt of the policy's `shortfall of charge` kind.
    pub fn charge(
        &self,
        account: &Account,
        amount: rust_decimal::Decimal,
    ) -> Result<LedgerResult, LedgerError> {
        ledger::charge(&self.program, account, amount)
    }

    /// Settles debts in the policy's precedence from its sources.
    pub fn settle(&self, account: &Account) -> Result<LedgerResult, LedgerError> {
        ledger::settle(&self.program, account)
    }

    /// Adds a grant, then settles.
    pub fn grant(&self, account: &Account, spec: &GrantSpec) -> Result<LedgerResult, LedgerError> {
        ledger::grant(&self.program, account, spec)
    }

    /// Refunds a grant, then settles.
    pub fn refund(&self, account: &Account, grant_id: &str) -> Result<LedgerResult, LedgerError> {
        ledger::refund(&self.program, account, grant_id, false)
    }

    /// Records a dispute of a grant (a chargeback): a refund the account
    /// did not ask for, so the policy's `on refund` rules read
    /// `refund.dispute` as true; then settles.
    pub fn dispute(&self, account: &Account, grant_id: &str) -> Result<LedgerResult, LedgerError> {
        ledger::refund(&self.program, account, grant_id, true)
    }

    /// The ledger JSON of the contract for an operation's result.
    pub fn ledger_json(&self, result: &LedgerResult) -> String {
        self.ledger_json_with(result, false)
    }

    /// [`Policy::ledger_json`] with a `"trace"`: the `shortfall` lines and
    /// operation rules the policy evaluated, what each read, and whether it
    /// held.
    pub fn ledger_json_explained(&self, result: &LedgerResult) -> String {
        self.ledger_json_with(result, true)
    }

    /// The policy's text, as its diagnostics and traces cite it.
    #[cfg(feature = "cli")]
    pub(crate) fn source(&self) -> &crate::span::Source {
        &self.program.source
    }

    fn ledger_json_with(&self, result: &LedgerResult, explain: bool) -> String {
        let findings = |list: &[decide::Finding]| -> Vec<decide::FindingJson> {
            list.iter()
                .cloned()
                .map(decide::FindingJson::from)
                .collect()
        };
        let steps: Vec<decide::StepJson> = result
            .next_steps
            .iter()
            .cloned()
            .map(decide::StepJson::from)
            .collect();
        let json = serde_json::json!({
            "version": decide::LEDGER_JSON_VERSION,
            "policy": self.program.name,
            "operation": result.operation,
            "outcome": result.outcome.as_str(),
            "draws": result.draws,
            "voided": result.voided,
            "new_debts": result.new_debts,
            "settlements": result.settlements,
            "invoiced": crate::amount::format(result.invoiced),
            "waived": crate::amount::format(result.waived),
            "reasons": findings(&result.reasons),
            "next_steps": steps,
            "warnings": findings(&result.warnings),
            "effects": result.effects,
            "snapshot": snapshot::write::document(&self.program, &result.account),
        });
        let mut json = json;
        if explain {
            let trace: Vec<serde_json::Value> = result
                .trace
                .iter()
                .filter_map(|t| serde_json::to_value(decide::TraceJson(t)).ok())
                .collect();
            if let Some(map) = json.as_object_mut() {
                map.insert("trace".to_owned(), serde_json::Value::Array(trace));
            }
        }
        serde_json::to_string_pretty(&json).unwrap_or_default()
    }

    /// An account as snapshot text in `format`, reading back to the same
    /// account.
    pub fn write_snapshot(&self, account: &Account, format: Format) -> Result<String, String> {
        match format {
            Format::Json => Ok(snapshot::write::json(&self.program, account)),
            Format::Toml => snapshot::write::toml(&self.program, account),
        }
    }
}
