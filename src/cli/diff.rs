//! `tollgate diff OLD NEW [--cases PATH...]`: which decisions a policy
//! change alters.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use crate::Policy;
use crate::cases::{self, AccountSource, CaseRequest, Observed};
use serde::Serialize;

use super::files;
use super::load::{self, Loaded};
use super::out::{self, Stop};
use super::{Exit, OutputFormat};

mod exhaustive;

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
    /// Compare on every account the snapshot format admits, not on cases:
    /// each kind of account decided differently, described in policy terms,
    /// with a witness snapshot (docs/verification.md). Needs `z3`.
    #[arg(long, conflicts_with = "cases")]
    exhaustive: bool,
    /// Seconds the solver may take, with `--exhaustive`, before the run gives up (exit 2).
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 60,
        requires = "exhaustive"
    )]
    timeout: u64,
    /// A reading for people (the default), or JSON.
    #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
    format: OutputFormat,
}

/// Most `role action` requests decided per account and policy in one run:
/// every role with every action is a product, which a policy of a few
/// hundred KB makes billions. A million takes a few seconds; past it the
/// rest are counted, not compared, and the run exits 2.
pub const MAX_SWEPT_REQUESTS: usize = 1_000_000;

/// Most permission changes, and most decision changes, listed; the rest
/// are counted. A change to a category can flip thousands of pairs, and a
/// reader needs the first few to see which.
pub const MAX_LISTED_CHANGES: usize = 1_000;

#[derive(Serialize)]
struct Report {
    version: u32,
    changed: bool,
    permissions: Vec<PermissionChange>,
    /// Permission changes past [`MAX_LISTED_CHANGES`], counted.
    #[serde(skip_serializing_if = "is_zero")]
    permissions_not_listed: usize,
    decisions: Vec<DecisionChange>,
    /// Decision changes past [`MAX_LISTED_CHANGES`], counted.
    #[serde(skip_serializing_if = "is_zero")]
    decisions_not_listed: usize,
    /// `role action` requests past [`MAX_SWEPT_REQUESTS`], not compared.
    #[serde(skip_serializing_if = "is_zero")]
    not_compared: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Report {
    fn add_decision(&mut self, change: DecisionChange) {
        if self.decisions.len() < MAX_LISTED_CHANGES {
            self.decisions.push(change);
        } else {
            self.decisions_not_listed += 1;
        }
    }
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
    if args.exhaustive {
        return exhaustive::run(args, &old, &new);
    }
    let roles = union(names(&old, Side::Roles), names(&new, Side::Roles));
    let actions = union(names(&old, Side::Actions), names(&new, Side::Actions));
    let mut report = Report {
        version: 1,
        changed: false,
        permissions: Vec::new(),
        permissions_not_listed: 0,
        decisions: Vec::new(),
        decisions_not_listed: 0,
        not_compared: 0,
    };
    permission_changes(&mut report, &old, &new, &roles, &actions);

    let mut files = Vec::new();
    // A case file reached through several of the paths given is read once.
    let mut seen = cases::Seen::default();
    for path in &args.cases {
        match cases::discover(path) {
            Ok(found) => files.extend(found.into_iter().filter(|p| seen.first_case_file(p))),
            Err(e) => {
                load::error(&e.to_string());
                return Exit::BadInput;
            }
        }
    }
    // Each account is swept once, for the first case that names it; each
    // case operation is compared once per account.
    let mut swept: HashSet<String> = HashSet::new();
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut budget = MAX_SWEPT_REQUESTS;
    let sides = [Resolver::new(&old), Resolver::new(&new)];
    for path in files {
        let text = match files::read_text_capped(&path, cases::MAX_CASE_FILE_BYTES) {
            Ok(t) => t,
            Err(message) => {
                load::error(&message);
                return Exit::BadInput;
            }
        };
        let file = match cases::parse(&path, &text) {
            Ok(f) => f,
            Err(e) => {
                load::print_diagnostics(&e.diagnostics);
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
            let observe = |policy: &Policy,
                           account: &Result<crate::Account, String>,
                           request: &CaseRequest| match account {
                Ok(a) => cases::observe(policy, a, request),
                Err(e) => Observed::Error(format!("the account does not load: {e}")),
            };
            let change = |request: String, changes: Vec<FieldChange>| DecisionChange {
                case: case.name.clone(),
                file: file.path.display().to_string(),
                line: case.line,
                account: account_name.clone(),
                request,
                changes,
            };
            if !matches!(case.request, CaseRequest::Decide { .. }) {
                let label = operation_name(&case.request);
                if seen.insert((account_name.clone(), label.clone())) {
                    let o = observe(&old, &old_account, &case.request);
                    let n = observe(&new, &new_account, &case.request);
                    if o != n {
                        report.add_decision(change(label, compare(&o, &n)));
                    }
                }
            }
            if !swept.insert(account_name.clone()) {
                continue;
            }
            // Every role with every action, decided one at a time and
            // compared as it comes: nothing of the sweep is kept but what
            // changed.
            for role in &roles {
                for action in &actions {
                    if budget == 0 {
                        report.not_compared += 1;
                        continue;
                    }
                    budget -= 1;
                    let [o, n] = [(&sides[0], &old_account), (&sides[1], &new_account)].map(
                        |(side, account)| match account {
                            Ok(a) => side.decide(a, role, action),
                            Err(e) => Observed::Error(format!("the account does not load: {e}")),
                        },
                    );
                    if o != n {
                        report.add_decision(change(format!("{role} {action}"), compare(&o, &n)));
                    }
                }
            }
        }
    }
    report.changed = !report.permissions.is_empty() || !report.decisions.is_empty();
    let mut exit = if report.changed {
        Exit::Failed
    } else {
        Exit::Ok
    };
    let printed = match args.format {
        OutputFormat::Json => match serde_json::to_string_pretty(&report) {
            Ok(text) => out::line(&text),
            Err(_) => Ok(()),
        },
        OutputFormat::Human => print_human(&report),
    };
    if report.not_compared > 0 {
        load::error(&format!(
            "{} role × action requests were not compared: a run compares at most {MAX_SWEPT_REQUESTS}",
            report.not_compared
        ));
        exit = Exit::BadInput;
    }
    out::ended(printed, exit)
}

/// One policy's roles and actions, resolved once, so that a request of a
/// name the policy lacks costs no search for a similar one.
struct Resolver<'a> {
    policy: &'a Policy,
    roles: HashSet<&'a str>,
    actions: HashSet<&'a str>,
}

impl<'a> Resolver<'a> {
    fn new(policy: &'a Policy) -> Resolver<'a> {
        let program = policy.program();
        Resolver {
            policy,
            roles: program.roles.iter().map(|r| r.name.as_str()).collect(),
            actions: program.actions.iter().map(|a| a.name.as_str()).collect(),
        }
    }

    fn decide(&self, account: &crate::Account, role: &str, action: &str) -> Observed {
        if !self.roles.contains(role) {
            return Observed::Error(format!("unknown role `{role}`"));
        }
        if !self.actions.contains(action) {
            return Observed::Error(format!("unknown action `{action}`"));
        }
        let request = match self.policy.request(role, action) {
            Ok(r) => r,
            Err(e) => return Observed::Error(e.to_string()),
        };
        match self
            .policy
            .decide(account, &request)
            .map_err(|e| e.to_string())
            .and_then(|d| cases::summarize(&d))
        {
            Ok(s) => Observed::Decision(Box::new(s)),
            Err(e) => Observed::Error(e),
        }
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
    let mut known: HashSet<String> = a.iter().cloned().collect();
    let mut out = a;
    for n in b {
        if known.insert(n.clone()) {
            out.push(n);
        }
    }
    out
}

/// Every role with every action, as each policy permits it: names resolved
/// once per role and per action, the pairs only looked up.
fn permission_changes(
    report: &mut Report,
    old: &Policy,
    new: &Policy,
    roles: &[String],
    actions: &[String],
) {
    let (op, np) = (old.program(), new.program());
    let old_actions: Vec<_> = actions.iter().map(|a| op.action_by_name(a)).collect();
    let new_actions: Vec<_> = actions.iter().map(|a| np.action_by_name(a)).collect();
    for role in roles {
        let (old_role, new_role) = (op.role_by_name(role), np.role_by_name(role));
        for ((action, &oa), &na) in actions.iter().zip(&old_actions).zip(&new_actions) {
            let o = match (old_role, oa) {
                (None, _) => "no such role",
                (_, None) => "no such action",
                (Some(r), Some(a)) if op.permitted(r, a) => "permitted",
                _ => "denied",
            };
            let n = match (new_role, na) {
                (None, _) => "no such role",
                (_, None) => "no such action",
                (Some(r), Some(a)) if np.permitted(r, a) => "permitted",
                _ => "denied",
            };
            if o == n {
                continue;
            }
            if report.permissions.len() < MAX_LISTED_CHANGES {
                report.permissions.push(PermissionChange {
                    role: role.clone(),
                    action: action.clone(),
                    old: o,
                    new: n,
                });
            } else {
                report.permissions_not_listed += 1;
            }
        }
    }
}

fn operation_name(r: &CaseRequest) -> String {
    match r {
        CaseRequest::Decide { role, action } => format!("{role} {action}"),
        CaseRequest::Charge(a) => format!("charge {}", crate::amount::format(*a)),
        CaseRequest::Settle => "settle".to_owned(),
        CaseRequest::Grant(g) => format!("grant {} {}", g.kind, crate::amount::format(g.amount)),
        CaseRequest::Refund(g, false) => format!("refund {g}"),
        CaseRequest::Refund(g, true) => format!("refund {g} (dispute)"),
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
    match (old, new) {
        (Observed::Decision(o), Observed::Decision(n)) => {
            field("outcome", o.outcome.clone(), n.outcome.clone());
            field("state", o.state.clone(), n.state.clone());
            field("reasons", list(&o.reasons), list(&n.reasons));
            field("next_steps", list(&o.next_steps), list(&n.next_steps));
            field("warnings", list(&o.warnings), list(&n.warnings));
            field("effects", effects(&o.effects), effects(&n.effects));
            for ((name, a), (_, b)) in o.balance.iter().zip(&n.balance) {
                field(
                    &format!("balance.{name}"),
                    crate::amount::format(*a),
                    crate::amount::format(*b),
                );
            }
        }
        (Observed::Ledger(o), Observed::Ledger(n)) => {
            let fmt = |d: &rust_decimal::Decimal| crate::amount::format(*d);
            field("outcome", o.outcome.clone(), n.outcome.clone());
            field("reasons", list(&o.reasons), list(&n.reasons));
            field("next_steps", list(&o.next_steps), list(&n.next_steps));
            field("warnings", list(&o.warnings), list(&n.warnings));
            field("effects", effects(&o.effects), effects(&n.effects));
            field("invoiced", fmt(&o.invoiced), fmt(&n.invoiced));
            field("waived", fmt(&o.waived), fmt(&n.waived));
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

fn print_human(r: &Report) -> Result<(), Stop> {
    let mut text = String::new();
    if !r.permissions.is_empty() {
        text.push_str("permissions:\n");
        for p in &r.permissions {
            text.push_str(&format!(
                "  {} → {}: {} → {}\n",
                p.role, p.action, p.old, p.new
            ));
        }
        if r.permissions_not_listed > 0 {
            text.push_str(&format!(
                "  … and {} more permission changes\n",
                r.permissions_not_listed
            ));
        }
    }
    if !r.decisions.is_empty() {
        text.push_str("decisions:\n");
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
        text.push_str(&format!(
            "  {}:{}: {} ({account})\n",
            first.file, first.line, first.case
        ));
        // Each distinct change, in order of first appearance, with its
        // requests.
        let mut order: Vec<String> = Vec::new();
        let mut requests: HashMap<String, Vec<&str>> = HashMap::new();
        for d in group {
            let changes: Vec<String> = d
                .changes
                .iter()
                .map(|c| format!("{} {} → {}", c.field, c.old, c.new))
                .collect();
            let changes = changes.join("; ");
            let entry = requests.entry(changes.clone()).or_default();
            if entry.is_empty() {
                order.push(changes);
            }
            entry.push(d.request.as_str());
        }
        for changes in &order {
            let listed = requests.get(changes).map_or(&[][..], Vec::as_slice);
            text.push_str(&format!("    {changes}\n"));
            text.push_str(&format!("      for {}\n", requests_text(listed)));
        }
    }
    if r.decisions_not_listed > 0 {
        text.push_str(&format!(
            "  … and {} more decision changes\n",
            r.decisions_not_listed
        ));
    }
    if r.changed {
        text.push_str(&format!(
            "{} permission(s) and {} decision(s) changed\n",
            r.permissions.len() + r.permissions_not_listed,
            r.decisions.len() + r.decisions_not_listed
        ));
    } else {
        text.push_str("no decision changed\n");
    }
    out::write(text.as_bytes())
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
