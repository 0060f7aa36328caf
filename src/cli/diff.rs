//! `tollgate diff OLD NEW [--cases PATH...]`: which decisions a policy
//! change alters.

use std::collections::HashSet;
use std::path::PathBuf;

use serde::Serialize;
use tollgate::Policy;
use tollgate::cases::{self, AccountSource, CaseRequest, Observed};

use super::load::{self, Loaded};
use super::render::describe_io;
use super::{DiagnosticFormat, Exit, OutputFormat};

#[derive(clap::Args, Debug)]
pub struct DiffArgs {
    /// The policy as it is.
    old: PathBuf,
    /// The policy as it would be.
    new: PathBuf,
    /// Case files or folders: every case, and every role and action on
    /// each case's account, is decided under both policies.
    #[arg(long, value_name = "PATH", num_args = 1..)]
    cases: Vec<PathBuf>,
    /// A reading for people (the default), or JSON.
    #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
    format: OutputFormat,
}

#[derive(Serialize)]
struct Report {
    version: u32,
    changed: bool,
    permissions: Vec<PermissionChange>,
    decisions: Vec<DecisionChange>,
}

#[derive(Serialize)]
struct PermissionChange {
    role: String,
    action: String,
    old: &'static str,
    new: &'static str,
}

#[derive(Serialize)]
struct DecisionChange {
    case: String,
    file: String,
    line: u32,
    account: String,
    request: String,
    changes: Vec<FieldChange>,
}

#[derive(Serialize)]
struct FieldChange {
    field: String,
    old: String,
    new: String,
}

pub fn run(args: &DiffArgs) -> Exit {
    let old = match load::policy(&args.old) {
        Loaded::Ok(p) => p,
        Loaded::Failed(_) => return Exit::BadInput,
    };
    let new = match load::policy(&args.new) {
        Loaded::Ok(p) => p,
        Loaded::Failed(_) => return Exit::BadInput,
    };
    let roles = union(names(&old, Side::Roles), names(&new, Side::Roles));
    let actions = union(names(&old, Side::Actions), names(&new, Side::Actions));
    let mut report = Report {
        version: 1,
        changed: false,
        permissions: permission_changes(&old, &new, &roles, &actions),
        decisions: Vec::new(),
    };

    let mut files = Vec::new();
    for path in &args.cases {
        match cases::discover(path) {
            Ok(found) => files.extend(found),
            Err(e) => {
                load::error(&e.to_string());
                return Exit::BadInput;
            }
        }
    }
    // The same account and request are reported once, for the first case.
    let mut seen: HashSet<(String, String)> = HashSet::new();
    for path in files {
        let text = match cases::read_file(&path) {
            Ok(t) => t,
            Err(e) => {
                load::error(&describe_io(&path, &e));
                return Exit::BadInput;
            }
        };
        let file = match cases::parse(&path, &text) {
            Ok(f) => f,
            Err(e) => {
                let mut out = super::render::Output::new(DiagnosticFormat::Human);
                out.file(&e.diagnostics);
                out.finish();
                return Exit::BadInput;
            }
        };
        for case in &file.cases {
            let account_name = match &case.account {
                AccountSource::File(p) => p.display().to_string(),
                AccountSource::Inline(_) => {
                    format!("{}:{} (inline)", file.path.display(), case.line)
                }
            };
            let old_account = cases::load_account(&old, &file, case);
            let new_account = cases::load_account(&new, &file, case);
            let mut requests: Vec<(String, CaseRequest)> = Vec::new();
            if !matches!(case.request, CaseRequest::Decide { .. }) {
                requests.push((operation_name(&case.request), case.request.clone()));
            }
            for role in &roles {
                for action in &actions {
                    let request = CaseRequest::Decide {
                        role: role.clone(),
                        action: action.clone(),
                    };
                    requests.push((format!("{role} {action}"), request));
                }
            }
            for (label, request) in requests {
                if !seen.insert((account_name.clone(), label.clone())) {
                    continue;
                }
                let observe =
                    |policy: &Policy, account: &Result<tollgate::Account, String>| match account {
                        Ok(a) => cases::observe(policy, a, &request),
                        Err(e) => Observed::Error(format!("the account does not load: {e}")),
                    };
                let changes = compare(&observe(&old, &old_account), &observe(&new, &new_account));
                if !changes.is_empty() {
                    report.decisions.push(DecisionChange {
                        case: case.name.clone(),
                        file: file.path.display().to_string(),
                        line: case.line,
                        account: account_name.clone(),
                        request: label,
                        changes,
                    });
                }
            }
        }
    }
    report.changed = !report.permissions.is_empty() || !report.decisions.is_empty();
    match args.format {
        OutputFormat::Json => {
            if let Ok(text) = serde_json::to_string_pretty(&report) {
                println!("{text}");
            }
        }
        OutputFormat::Human => print_human(&report),
    }
    if report.changed {
        Exit::Failed
    } else {
        Exit::Ok
    }
}

enum Side {
    Roles,
    Actions,
}

fn names(p: &Policy, side: Side) -> Vec<String> {
    let program = p.program();
    match side {
        Side::Roles => program.roles.iter().map(|r| r.name.clone()).collect(),
        Side::Actions => program.actions.iter().map(|a| a.name.clone()).collect(),
    }
}

/// Names of both, the old ones first, each once.
fn union(a: Vec<String>, b: Vec<String>) -> Vec<String> {
    let mut out = a;
    for n in b {
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

fn permission(p: &Policy, role: &str, action: &str) -> &'static str {
    let program = p.program();
    match (program.role_by_name(role), program.action_by_name(action)) {
        (None, _) => "no such role",
        (_, None) => "no such action",
        (Some(r), Some(a)) if program.permitted(r, a) => "permitted",
        _ => "denied",
    }
}

fn permission_changes(
    old: &Policy,
    new: &Policy,
    roles: &[String],
    actions: &[String],
) -> Vec<PermissionChange> {
    let mut out = Vec::new();
    for role in roles {
        for action in actions {
            let (o, n) = (permission(old, role, action), permission(new, role, action));
            if o != n {
                out.push(PermissionChange {
                    role: role.clone(),
                    action: action.clone(),
                    old: o,
                    new: n,
                });
            }
        }
    }
    out
}

fn operation_name(r: &CaseRequest) -> String {
    match r {
        CaseRequest::Decide { role, action } => format!("{role} {action}"),
        CaseRequest::Charge(a) => format!("charge {}", tollgate::amount::format(*a)),
        CaseRequest::Settle => "settle".to_owned(),
        CaseRequest::Grant(g) => format!("grant {} {}", g.kind, tollgate::amount::format(g.amount)),
        CaseRequest::Refund(g) => format!("refund {g}"),
    }
}

fn list(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

fn compare(old: &Observed, new: &Observed) -> Vec<FieldChange> {
    let mut out = Vec::new();
    let mut field = |name: &str, o: String, n: String| {
        if o != n {
            out.push(FieldChange {
                field: name.to_owned(),
                old: o,
                new: n,
            });
        }
    };
    match (old, new) {
        (Observed::Decision(o), Observed::Decision(n)) => {
            field("outcome", o.outcome.clone(), n.outcome.clone());
            field("state", o.state.clone(), n.state.clone());
            field("reasons", list(&o.reasons), list(&n.reasons));
            field("next_steps", list(&o.next_steps), list(&n.next_steps));
            field("warnings", list(&o.warnings), list(&n.warnings));
            let effects = |e: &[(String, Vec<(String, String)>)]| {
                let v: Vec<String> = e
                    .iter()
                    .map(|(c, ps)| {
                        let ps: Vec<String> = ps.iter().map(|(k, v)| format!("{k}={v}")).collect();
                        if ps.is_empty() {
                            c.clone()
                        } else {
                            format!("{c}({})", ps.join(", "))
                        }
                    })
                    .collect();
                list(&v)
            };
            field("effects", effects(&o.effects), effects(&n.effects));
            for ((name, a), (_, b)) in o.balance.iter().zip(&n.balance) {
                field(
                    &format!("balance.{name}"),
                    tollgate::amount::format(*a),
                    tollgate::amount::format(*b),
                );
            }
        }
        (Observed::Ledger(o), Observed::Ledger(n)) => {
            let fmt = |d: &rust_decimal::Decimal| tollgate::amount::format(*d);
            let pairs = |v: &[(String, rust_decimal::Decimal)]| {
                list(
                    &v.iter()
                        .map(|(a, b)| format!("{a} {}", fmt(b)))
                        .collect::<Vec<_>>(),
                )
            };
            field("draws", pairs(&o.draws), pairs(&n.draws));
            field("voided", pairs(&o.voided), pairs(&n.voided));
            field("new_debts", pairs(&o.new_debts), pairs(&n.new_debts));
            let settlements = |v: &[(String, String, rust_decimal::Decimal)]| {
                list(
                    &v.iter()
                        .map(|(d, g, a)| format!("{d} from {g} {}", fmt(a)))
                        .collect::<Vec<_>>(),
                )
            };
            field(
                "settlements",
                settlements(&o.settlements),
                settlements(&n.settlements),
            );
        }
        (o, n) => {
            let show = |x: &Observed| match x {
                Observed::Decision(d) => format!("{} ({})", d.outcome, d.state),
                Observed::Ledger(_) => "a ledger result".to_owned(),
                Observed::Error(e) => format!("error: {e}"),
            };
            field("result", show(o), show(n));
        }
    }
    out
}

fn print_human(r: &Report) {
    if !r.permissions.is_empty() {
        println!("permissions:");
        for p in &r.permissions {
            println!("  {} → {}: {} → {}", p.role, p.action, p.old, p.new);
        }
    }
    if !r.decisions.is_empty() {
        println!("decisions:");
    }
    // Per case, requests with the same changes are listed together.
    for group in r
        .decisions
        .chunk_by(|a, b| a.file == b.file && a.line == b.line)
    {
        let Some(first) = group.first() else {
            continue;
        };
        let account = if first.account.ends_with("(inline)") {
            "inline account".to_owned()
        } else {
            first.account.clone()
        };
        println!(
            "  {}:{}: {} ({account})",
            first.file, first.line, first.case
        );
        let text = |d: &DecisionChange| {
            let c: Vec<String> = d
                .changes
                .iter()
                .map(|c| format!("{} {} → {}", c.field, c.old, c.new))
                .collect();
            c.join("; ")
        };
        let mut shown: Vec<String> = Vec::new();
        for d in group {
            let changes = text(d);
            if shown.contains(&changes) {
                continue;
            }
            let requests: Vec<&str> = group
                .iter()
                .filter(|e| text(e) == changes)
                .map(|e| e.request.as_str())
                .collect();
            println!("    {changes}");
            println!("      for {}", requests_text(&requests));
            shown.push(changes);
        }
    }
    if r.changed {
        println!(
            "{} permission(s) and {} decision(s) changed",
            r.permissions.len(),
            r.decisions.len()
        );
    } else {
        println!("no decision changed");
    }
}

/// `role action` requests, as `roles × actions` when they form a full grid.
fn requests_text(requests: &[&str]) -> String {
    let mut roles: Vec<&str> = Vec::new();
    let mut actions: Vec<&str> = Vec::new();
    for r in requests {
        match r.split_once(' ') {
            Some((role, action)) if !role.is_empty() && !action.contains(' ') => {
                if !roles.contains(&role) {
                    roles.push(role);
                }
                if !actions.contains(&action) {
                    actions.push(action);
                }
            }
            _ => return requests.join(", "),
        }
    }
    if roles.len() * actions.len() == requests.len() && requests.len() > 1 {
        format!("{} × {}", roles.join(", "), actions.join(", "))
    } else {
        requests.join(", ")
    }
}
