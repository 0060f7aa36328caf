//! `tollgate charge | settle | grant | refund`: ledger operations.

use std::collections::HashSet;
use std::path::PathBuf;

use crate::ledger::{GrantSpec, LedgerError, LedgerOutcome, LedgerResult};
use crate::snapshot::Format;
use crate::time::Timestamp;
use crate::{Account, Policy};
use rust_decimal::Decimal;

use super::files::{self, shown, shown_name};
use super::load::{self, Loaded};
use super::out;
use super::snippet::clean_message;
use super::{Exit, OutputFormat};

/// What every ledger command takes.
#[derive(clap::Args, Debug)]
pub struct Common {
    /// The policy file.
    policy: PathBuf,
    /// The account snapshot: a .json or .toml file, or `-` for JSON on
    /// standard input.
    #[arg(long, value_name = "FILE")]
    snapshot: PathBuf,
    /// Also write the resulting account to FILE, replacing it atomically:
    /// JSON for a .json file, TOML for a .toml file (any other name is
    /// refused).
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Operate as of this instant instead of the snapshot's `now` (RFC 3339).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    now: Option<Timestamp>,
    /// JSON for programs (the default), or a summary for people.
    #[arg(long, value_enum, default_value_t = OutputFormat::Json)]
    format: OutputFormat,
    /// Also show what the policy evaluated to govern the operation: the
    /// `shortfall` lines tried and the operation's rules, with what each read.
    #[arg(long)]
    explain: bool,
}

#[derive(clap::Args, Debug)]
pub struct ChargeArgs {
    #[command(flatten)]
    common: Common,
    /// Credits the admitted work consumed.
    #[arg(long, value_parser = parse_amount, allow_hyphen_values = true)]
    amount: Decimal,
}

#[derive(clap::Args, Debug)]
pub struct SettleArgs {
    #[command(flatten)]
    common: Common,
}

#[derive(clap::Args, Debug)]
pub struct GrantArgs {
    #[command(flatten)]
    common: Common,
    /// The credit kind, as the policy names it.
    #[arg(long)]
    kind: String,
    /// Credits granted.
    #[arg(long, value_parser = parse_amount, allow_hyphen_values = true)]
    amount: Decimal,
    /// The new grant's id (default: derived from the kind and `now`).
    #[arg(long)]
    id: Option<String>,
    /// When the credits expire (RFC 3339); if left out, the kind's
    /// lifetime in the policy (`expire purchased after 1y`), or never.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    expires_at: Option<Timestamp>,
    /// A grant attribute the policy declares (`field grants.priority`), as
    /// NAME=VALUE; repeat for several.
    #[arg(long = "attr", value_name = "NAME=VALUE", value_parser = parse_attr)]
    attrs: Vec<(String, String)>,
}

fn parse_attr(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!(
            "`{}` is not NAME=VALUE, such as `priority=5`",
            shown_name(text)
        )),
    }
}

#[derive(clap::Args, Debug)]
pub struct RefundArgs {
    #[command(flatten)]
    common: Common,
    /// The id of the grant refunded or disputed.
    #[arg(long, value_name = "ID")]
    grant: String,
    /// The refund records a dispute (a chargeback), not a refund the
    /// account asked for: the policy's rules read `refund.dispute` as true.
    #[arg(long)]
    dispute: bool,
}

fn parse_time(text: &str) -> Result<Timestamp, String> {
    Timestamp::parse(text)
        .map_err(|why| format!("`{}` is not a timestamp: {why}", shown_name(text)))
}

fn parse_amount(text: &str) -> Result<Decimal, String> {
    crate::amount::parse(text).map_err(|e| {
        format!(
            "`{}` is not a valid amount: {}",
            shown_name(text),
            e.reason()
        )
    })
}

pub fn charge(args: &ChargeArgs) -> Exit {
    run(&args.common, |policy, account| {
        policy.charge(account, args.amount)
    })
}

pub fn settle(args: &SettleArgs) -> Exit {
    run(&args.common, |policy, account| policy.settle(account))
}

pub fn grant(args: &GrantArgs) -> Exit {
    let spec = GrantSpec {
        kind: args.kind.clone(),
        amount: args.amount,
        id: args.id.clone(),
        expires_at: args.expires_at,
        attributes: args.attrs.clone(),
    };
    run(&args.common, |policy, account| policy.grant(account, &spec))
}

pub fn refund(args: &RefundArgs) -> Exit {
    run(&args.common, |policy, account| {
        if args.dispute {
            policy.dispute(account, &args.grant)
        } else {
            policy.refund(account, &args.grant)
        }
    })
}

fn run(
    common: &Common,
    operation: impl FnOnce(&Policy, &Account) -> Result<LedgerResult, LedgerError>,
) -> Exit {
    let output_format = match common.output.as_deref().map(|o| output_format(o, common)) {
        Some(Err(message)) => {
            load::error(&message);
            return Exit::BadInput;
        }
        Some(Ok(format)) => Some(format),
        None => None,
    };
    let policy = match load::policy(&common.policy) {
        Loaded::Ok(p) => p,
        Loaded::Failed(exit) => return exit,
    };
    let account = match load::account(&policy, &common.snapshot, common.now) {
        Ok(a) => a,
        Err(exit) => return exit,
    };
    let result = match operation(&policy, &account) {
        Ok(r) => r,
        Err(e) if e.is_policy_error() => {
            load::error(&clean_message(&format!("{}: {e}", shown(&common.policy))));
            return Exit::Failed;
        }
        Err(e) => {
            let blamed = match e.request_part() {
                Some(flag) => flag.to_owned(),
                None => shown(&common.snapshot),
            };
            load::error(&clean_message(&format!("{blamed}: {e}")));
            return Exit::BadInput;
        }
    };
    let refused = result.outcome == LedgerOutcome::Refused;
    let destination = common.output.as_ref().zip(output_format);
    if let Some((output, format)) = destination.filter(|_| !refused) {
        let written = policy
            .write_snapshot(&result.account, format)
            .and_then(|text| files::write_atomically(output, text.as_bytes()));
        if let Err(message) = written {
            load::error(&message);
            return Exit::BadInput;
        }
    }
    let text = match (common.format, common.explain) {
        (OutputFormat::Json, false) => policy.ledger_json(&result),
        (OutputFormat::Json, true) => policy.ledger_json_explained(&result),
        (OutputFormat::Human, explain) => {
            let mut text = summary(&policy, &account, &result);
            if explain {
                text.push('\n');
                if result.trace.is_empty() {
                    text.push_str(
                        "\nthe policy has no rules or shortfall lines for this operation",
                    );
                } else {
                    crate::decide::explain::steps(&mut text, policy.source(), &result.trace);
                }
            }
            super::snippet::visible_text(text.trim_end())
        }
    };
    let exit = if refused { Exit::Refused } else { Exit::Ok };
    out::ended(out::line(&text), exit)
}

/// The format `--output` writes, from the file's extension: `.json` or
/// `.toml`, in any case. Any other name is refused before anything is read:
/// JSON written to `after.txt` was a silent guess. So is the policy file,
/// whatever its name (a slip of the shell's completion would replace the
/// rules with the account).
fn output_format(path: &std::path::Path, common: &Common) -> Result<Format, String> {
    if is_same_file(path, &common.policy) {
        return Err(format!(
            "`--output {}` is the policy file; write the account to a .json or .toml file",
            shown(path)
        ));
    }
    let name = path.to_string_lossy().to_ascii_lowercase();
    if name.ends_with(".json") {
        Ok(Format::Json)
    } else if name.ends_with(".toml") {
        Ok(Format::Toml)
    } else {
        Err(format!(
            "`--output {}` names neither a .json nor a .toml file; \
             the extension says whether the account is written as JSON or TOML",
            shown(path)
        ))
    }
}

/// Whether two paths name one file (through links too). A path that does
/// not exist yet names no existing file.
fn is_same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// What an operation did, a line a move: the grant added, draws, voids,
/// new debts, then settlements.
fn summary(policy: &Policy, before: &Account, r: &LedgerResult) -> String {
    let mut lines = vec![format!("{}:", r.operation)];
    let fmt = |d: Decimal| crate::amount::format(d);
    // `grant` adds the one grant whose id the account did not hold.
    let held: HashSet<&str> = before.grants.iter().map(|g| g.id.as_str()).collect();
    let kinds = &policy.program().credit_kinds;
    lines.extend(
        r.account
            .grants
            .iter()
            .filter(|g| !held.contains(g.id.as_str()))
            .map(|g| {
                let kind = kinds.get(g.kind as usize).map_or("?", String::as_str);
                let expires = g
                    .expires_at
                    .map_or_else(String::new, |t| format!(", expires {t}"));
                format!(
                    "  added grant {} ({kind}) of {}{expires}",
                    g.id,
                    fmt(g.amount)
                )
            }),
    );
    lines.extend(
        r.draws
            .iter()
            .map(|d| format!("  drew {} from {}", fmt(d.amount), d.grant)),
    );
    lines.extend(
        r.voided
            .iter()
            .map(|v| format!("  voided {} of {}", fmt(v.amount), v.grant)),
    );
    lines.extend(
        r.new_debts
            .iter()
            .map(|d| format!("  new debt {} ({}) of {}", d.id, d.kind, fmt(d.amount))),
    );
    lines.extend(
        r.settlements
            .iter()
            .map(|s| format!("  settled {} of {} from {}", fmt(s.amount), s.debt, s.grant)),
    );
    if !r.invoiced.is_zero() {
        lines.push(format!("  invoiced {}", fmt(r.invoiced)));
    }
    if !r.waived.is_zero() {
        lines.push(format!("  waived {}", fmt(r.waived)));
    }
    if r.outcome == LedgerOutcome::Refused {
        if let Some(head) = lines.first_mut() {
            *head = format!("{}: refused by the policy", r.operation);
        }
        lines.extend(
            r.reasons
                .iter()
                .map(|f| format!("  {}: {}", f.code, f.message)),
        );
        lines.extend(
            r.next_steps
                .iter()
                .map(|s| format!("  next: {}", s.message)),
        );
        return lines.join("\n");
    }
    if lines.len() == 1 {
        lines.push("  nothing moved".to_owned());
    }
    lines.extend(
        r.warnings
            .iter()
            .map(|f| format!("  warning {}: {}", f.code, f.message)),
    );
    lines.extend(r.effects.iter().map(|e| {
        let params: Vec<String> = e.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("  effect {} {}", e.code, params.join(" "))
            .trim_end()
            .to_owned()
    }));
    lines.join("\n")
}
