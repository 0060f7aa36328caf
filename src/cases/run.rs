//! Running cases: observing what a policy does and comparing it with
//! what a case expects.

use rust_decimal::Decimal;

use super::{AccountSource, Case, CaseFile, CaseRequest, EffectExpect};
use crate::Policy;
use crate::decide::Decision;
use crate::ledger::LedgerResult;
use crate::snapshot::{Account, Format};

/// One difference between what a case expects and what the policy did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    pub field: String,
    pub expected: String,
    pub got: String,
}

/// A case's outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail(Vec<Mismatch>),
    /// The case could not run: a bad account, unknown role, a failed operation.
    Error(String),
}

/// Loads a case's account for a policy.
pub fn load_account(policy: &Policy, file: &CaseFile, case: &Case) -> Result<Account, String> {
    match &case.account {
        AccountSource::File(path) => {
            let name = path.display().to_string();
            let format = Format::from_name(&name);
            let what = match format {
                Format::Json => "snapshot",
                Format::Toml => "TOML snapshot",
            };
            let text = super::read::read_capped(path, format.max_bytes(), what)
                .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
            policy
                .snapshot(&name, &text, format, None)
                .map_err(|e| e.summary())
        }
        AccountSource::Inline(node) => {
            crate::snapshot::validate::account(policy.program(), node, None).map_err(
                |(errors, omitted)| {
                    let mut parts: Vec<String> = errors
                        .iter()
                        .map(|d| format!("{}: {}", file.source.location(d.span), d.message))
                        .collect();
                    if omitted > 0 {
                        parts.push(format!("and {omitted} more errors, not listed"));
                    }
                    parts.join("; ")
                },
            )
        }
    }
}

/// What running a case produced, for comparing policies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observed {
    Decision(Box<DecisionSummary>),
    Ledger(Box<LedgerSummary>),
    Error(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecisionSummary {
    pub outcome: String,
    pub state: String,
    pub reasons: Vec<String>,
    pub next_steps: Vec<String>,
    pub warnings: Vec<String>,
    pub effects: Vec<EffectExpect>,
    pub balance: [(String, Decimal); 4],
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerSummary {
    /// `applied` or `refused`.
    pub outcome: String,
    pub reasons: Vec<String>,
    pub next_steps: Vec<String>,
    pub warnings: Vec<String>,
    pub effects: Vec<EffectExpect>,
    pub invoiced: Decimal,
    pub waived: Decimal,
    /// The new grant of a `grant` operation: its id and expiry.
    pub granted: Option<(String, Option<crate::time::Timestamp>)>,
    pub draws: Vec<(String, Decimal)>,
    pub voided: Vec<(String, Decimal)>,
    pub new_debts: Vec<(String, Decimal)>,
    pub settlements: Vec<(String, String, Decimal)>,
}

/// Summarises a decision as plain data.
pub fn summarize(d: &Decision<'_>) -> Result<DecisionSummary, String> {
    let b = d.balance();
    Ok(DecisionSummary {
        outcome: d.outcome().as_str().to_owned(),
        state: d.state().to_owned(),
        reasons: d.reason_codes().map(str::to_owned).collect(),
        next_steps: d.next_step_codes().map(str::to_owned).collect(),
        warnings: d.warning_codes().map(str::to_owned).collect(),
        effects: d
            .effects()
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|e| (e.code, e.params))
            .collect(),
        balance: [
            ("usable".to_owned(), b.usable),
            ("locked".to_owned(), b.locked),
            ("expired".to_owned(), b.expired),
            ("debt".to_owned(), b.debt),
        ],
    })
}

fn ledger_summary(before: &Account, r: &LedgerResult) -> LedgerSummary {
    let codes = |list: &[crate::decide::Finding]| list.iter().map(|f| f.code.clone()).collect();
    // The grant the operation added: the one whose id the account did not
    // hold before (new grants are appended, ids are unique).
    let granted = (r.operation == "grant")
        .then(|| {
            r.account
                .grants
                .iter()
                .rev()
                .find(|g| !before.grants.iter().any(|b| b.id == g.id))
        })
        .flatten()
        .map(|g| (g.id.clone(), g.expires_at));
    LedgerSummary {
        outcome: r.outcome.as_str().to_owned(),
        reasons: codes(&r.reasons),
        next_steps: r.next_steps.iter().map(|s| s.code.clone()).collect(),
        warnings: codes(&r.warnings),
        effects: r
            .effects
            .iter()
            .map(|e| (e.code.clone(), e.params.clone()))
            .collect(),
        invoiced: r.invoiced,
        waived: r.waived,
        granted,
        draws: r
            .draws
            .iter()
            .map(|d| (d.grant.clone(), d.amount))
            .collect(),
        voided: r
            .voided
            .iter()
            .map(|v| (v.grant.clone(), v.amount))
            .collect(),
        new_debts: r
            .new_debts
            .iter()
            .map(|d| (d.kind.clone(), d.amount))
            .collect(),
        settlements: r
            .settlements
            .iter()
            .map(|s| (s.debt.clone(), s.grant.clone(), s.amount))
            .collect(),
    }
}

/// Runs a request or operation on an account.
pub fn observe(policy: &Policy, account: &Account, request: &CaseRequest) -> Observed {
    let result = match request {
        CaseRequest::Decide { role, action } => {
            let r = match policy.request(role, action) {
                Ok(r) => r,
                Err(e) => return Observed::Error(e.to_string()),
            };
            return match policy
                .decide(account, &r)
                .map_err(|e| e.to_string())
                .and_then(|d| summarize(&d))
            {
                Ok(s) => Observed::Decision(Box::new(s)),
                Err(e) => Observed::Error(e),
            };
        }
        CaseRequest::Charge(amount) => policy.charge(account, *amount),
        CaseRequest::Settle => policy.settle(account),
        CaseRequest::Grant(spec) => policy.grant(account, spec),
        CaseRequest::Refund(grant, false) => policy.refund(account, grant),
        CaseRequest::Refund(grant, true) => policy.dispute(account, grant),
    };
    match result {
        Ok(r) => Observed::Ledger(Box::new(ledger_summary(account, &r))),
        Err(e) => Observed::Error(e.to_string()),
    }
}

/// Runs one case against a policy.
pub fn run(policy: &Policy, file: &CaseFile, case: &Case) -> Verdict {
    let account = match load_account(policy, file, case) {
        Ok(a) => a,
        Err(e) => return Verdict::Error(e),
    };
    let mut m = Vec::new();
    match observe(policy, &account, &case.request) {
        Observed::Error(e) => return Verdict::Error(e),
        Observed::Decision(s) => {
            let e = &case.expect;
            compare(&mut m, "outcome", &e.outcome, &s.outcome);
            compare(&mut m, "state", &e.state, &s.state);
            compare_list(&mut m, "reasons", &e.reasons, &s.reasons);
            compare_list(&mut m, "next_steps", &e.next_steps, &s.next_steps);
            compare_list(&mut m, "warnings", &e.warnings, &s.warnings);
            compare_effects(&mut m, &e.effects, &s.effects);
            if let Some(want) = &e.balance {
                for (k, v) in want {
                    let got = s
                        .balance
                        .iter()
                        .find(|(n, _)| n == k)
                        .map(|(_, d)| *d)
                        .unwrap_or_default();
                    if got != *v {
                        m.push(Mismatch {
                            field: format!("balance.{k}"),
                            expected: crate::amount::format(*v),
                            got: crate::amount::format(got),
                        });
                    }
                }
            }
        }
        Observed::Ledger(l) => {
            let e = &case.expect;
            compare(&mut m, "outcome", &e.outcome, &l.outcome);
            compare_list(&mut m, "reasons", &e.reasons, &l.reasons);
            compare_list(&mut m, "next_steps", &e.next_steps, &l.next_steps);
            compare_list(&mut m, "warnings", &e.warnings, &l.warnings);
            compare_effects(&mut m, &e.effects, &l.effects);
            for (field, want, got) in [
                ("invoiced", e.invoiced, l.invoiced),
                ("waived", e.waived, l.waived),
            ] {
                if let Some(want) = want.filter(|w| *w != got) {
                    m.push(Mismatch {
                        field: field.to_owned(),
                        expected: crate::amount::format(want),
                        got: crate::amount::format(got),
                    });
                }
            }
            let granted_id = l.granted.as_ref().map(|(id, _)| id.as_str());
            if let Some(want) = &e.granted_id {
                if granted_id != Some(want.as_str()) {
                    m.push(Mismatch {
                        field: "granted.id".to_owned(),
                        expected: want.clone(),
                        got: granted_id.unwrap_or("no new grant").to_owned(),
                    });
                }
            }
            if let Some(want) = e.granted_expires_at {
                let got = l.granted.as_ref().map(|(_, at)| *at);
                if got != Some(Some(want)) {
                    m.push(Mismatch {
                        field: "granted.expires_at".to_owned(),
                        expected: want.to_string(),
                        got: match got {
                            Some(Some(at)) => at.to_string(),
                            Some(None) => "never".to_owned(),
                            None => "no new grant".to_owned(),
                        },
                    });
                }
            }
            compare_rows(&mut m, "draws", &e.draws, &l.draws, |(g, a)| {
                format!("{g} {}", crate::amount::format(*a))
            });
            compare_rows(&mut m, "voided", &e.voided, &l.voided, |(g, a)| {
                format!("{g} {}", crate::amount::format(*a))
            });
            compare_rows(&mut m, "new_debts", &e.new_debts, &l.new_debts, |(k, a)| {
                format!("{k} {}", crate::amount::format(*a))
            });
            compare_rows(
                &mut m,
                "settlements",
                &e.settlements,
                &l.settlements,
                |(d, g, a)| format!("{d} from {g} {}", crate::amount::format(*a)),
            );
        }
    }
    if m.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Fail(m)
    }
}

/// Effect codes in order, and the parameters the case names.
fn compare_effects(m: &mut Vec<Mismatch>, want: &Option<Vec<EffectExpect>>, got: &[EffectExpect]) {
    let Some(want) = want else {
        return;
    };
    let got_codes: Vec<String> = got.iter().map(|(c, _)| c.clone()).collect();
    let want_codes: Vec<String> = want.iter().map(|(c, _)| c.clone()).collect();
    compare_list(m, "effects", &Some(want_codes), &got_codes);
    for (code, params) in want {
        let found = got.iter().find(|(c, _)| c == code);
        for (k, v) in params {
            let got_v = found
                .and_then(|(_, ps)| ps.iter().find(|(pk, _)| pk == k))
                .map(|(_, pv)| pv.clone());
            let same = match (
                crate::amount::parse(v),
                got_v.as_deref().map(crate::amount::parse),
            ) {
                (Ok(a), Some(Ok(b))) => a == b,
                _ => got_v.as_deref() == Some(v.as_str()),
            };
            if !same {
                m.push(Mismatch {
                    field: format!("effects.{code}.{k}"),
                    expected: v.clone(),
                    got: got_v.unwrap_or_else(|| "nothing".to_owned()),
                });
            }
        }
    }
}

fn compare(m: &mut Vec<Mismatch>, field: &str, want: &Option<String>, got: &str) {
    if let Some(w) = want {
        if w != got {
            m.push(Mismatch {
                field: field.to_owned(),
                expected: w.clone(),
                got: got.to_owned(),
            });
        }
    }
}

fn compare_list(m: &mut Vec<Mismatch>, field: &str, want: &Option<Vec<String>>, got: &[String]) {
    if let Some(w) = want {
        if w.as_slice() != got {
            m.push(Mismatch {
                field: field.to_owned(),
                expected: format!("[{}]", w.join(", ")),
                got: format!("[{}]", got.join(", ")),
            });
        }
    }
}

fn compare_rows<T: PartialEq>(
    m: &mut Vec<Mismatch>,
    field: &str,
    want: &Option<Vec<T>>,
    got: &[T],
    show: impl Fn(&T) -> String,
) {
    if let Some(w) = want {
        if w.as_slice() != got {
            let list = |items: &[T]| {
                format!(
                    "[{}]",
                    items.iter().map(&show).collect::<Vec<_>>().join(", ")
                )
            };
            m.push(Mismatch {
                field: field.to_owned(),
                expected: list(w),
                got: list(got),
            });
        }
    }
}
