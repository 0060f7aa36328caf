//! `tollgate diff OLD NEW --exhaustive`: every kind of account the two
//! policies decide differently, found by the solver, each with a witness.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use crate::Policy;
use crate::verify::diff::{ExhaustiveDiff, Region};

use super::super::files::shown;
use super::super::out;
use super::super::{Exit, OutputFormat};
use super::DiffArgs;

#[derive(Serialize)]
struct Report<'a> {
    version: u32,
    exhaustive: bool,
    changed: bool,
    requests_compared: usize,
    only_old: &'a [String],
    only_new: &'a [String],
    regions: Vec<RegionReport>,
}

#[derive(Serialize)]
struct RegionReport {
    requests: Vec<Request>,
    accounts: String,
    conditions: Vec<String>,
    exact: bool,
    more: bool,
    changes: Vec<ChangeReport>,
    /// `null` for a possible difference no account confirmed.
    witness: Option<WitnessReport>,
}

#[derive(Serialize)]
struct Request {
    role: String,
    action: String,
}

#[derive(Serialize)]
struct ChangeReport {
    part: &'static str,
    old: String,
    new: String,
}

#[derive(Serialize)]
struct WitnessReport {
    role: String,
    action: String,
    snapshot: serde_json::Value,
    old: serde_json::Value,
    new: serde_json::Value,
}

pub(super) fn run(args: &DiffArgs, old: &Policy, new: &Policy) -> Exit {
    let found = match crate::verify::diff::diff(old, new, Duration::from_secs(args.timeout)) {
        Ok(d) => d,
        Err(e) => {
            out::error(&e.to_string());
            return Exit::BadInput;
        }
    };
    let changed =
        !found.regions.is_empty() || !found.only_old.is_empty() || !found.only_new.is_empty();
    let printed = match args.format {
        OutputFormat::Json => {
            let mut text = serde_json::to_string_pretty(&json(&found, changed)).unwrap_or_default();
            text.push('\n');
            out::write(text.as_bytes())
        }
        OutputFormat::Human => out::write(human(args, &found).as_bytes()),
    };
    out::ended(printed, if changed { Exit::Failed } else { Exit::Ok })
}

fn json(d: &ExhaustiveDiff, changed: bool) -> Report<'_> {
    Report {
        version: 1,
        exhaustive: true,
        changed,
        requests_compared: d.requests,
        only_old: &d.only_old,
        only_new: &d.only_new,
        regions: d
            .regions
            .iter()
            .map(|r| RegionReport {
                requests: r
                    .requests
                    .iter()
                    .map(|(role, action)| Request {
                        role: role.clone(),
                        action: action.clone(),
                    })
                    .collect(),
                accounts: if r.conditions.is_empty() {
                    "every account".to_owned()
                } else {
                    r.conditions.join(" and ")
                },
                conditions: r.conditions.clone(),
                exact: r.exact,
                more: r.more,
                changes: r
                    .changes
                    .iter()
                    .map(|c| ChangeReport {
                        part: c.part,
                        old: c.old.clone(),
                        new: c.new.clone(),
                    })
                    .collect(),
                witness: r.witness.as_ref().map(|w| WitnessReport {
                    role: w.role.clone(),
                    action: w.action.clone(),
                    snapshot: serde_json::from_str(&w.snapshot).unwrap_or_default(),
                    old: serde_json::from_str(&w.old).unwrap_or_default(),
                    new: serde_json::from_str(&w.new).unwrap_or_default(),
                }),
            })
            .collect(),
    }
}

fn human(args: &DiffArgs, d: &ExhaustiveDiff) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{} → {}: {} requests compared on every account",
        shown(&args.old),
        shown(&args.new),
        d.requests
    );
    for x in &d.only_old {
        let _ = writeln!(t, "only in the old policy: {x}");
    }
    for x in &d.only_new {
        let _ = writeln!(t, "only in the new policy: {x}");
    }
    if d.regions.is_empty() {
        let _ = writeln!(t, "no decision changes on any account");
        return t;
    }
    let _ = writeln!(
        t,
        "{} kind{} of account decided differently:",
        d.regions.len(),
        if d.regions.len() == 1 { "" } else { "s" }
    );
    for (i, r) in d.regions.iter().enumerate() {
        region(&mut t, i + 1, r, d.requests);
    }
    t
}

fn region(t: &mut String, n: usize, r: &Region, compared: usize) {
    let _ = writeln!(t);
    let some = if r.exact { "" } else { "some of the " };
    if r.conditions.is_empty() {
        let _ = writeln!(
            t,
            "{n}. on {}every account",
            if r.exact { "" } else { "some of " }
        );
    } else {
        let _ = writeln!(
            t,
            "{n}. on {some}accounts where {}",
            r.conditions.join(" and ")
        );
    }
    if r.requests.len() == compared {
        let _ = writeln!(t, "   requests: all {compared}");
    } else {
        let _ = writeln!(t, "   requests: {}", requests(&r.requests));
    }
    if r.more {
        let _ = writeln!(
            t,
            "   (these requests change on more kinds of account than are listed)"
        );
    }
    for c in &r.changes {
        let _ = writeln!(t, "   {}: {} → {}", c.part, c.old, c.new);
    }
    let Some(w) = &r.witness else {
        let _ = writeln!(
            t,
            "   possibly: the solver found these accounts through an approximation (a count or \
             sum over grants, calendar months, a restricted settlement or a product of two \
             quantities), and the account built from its model is decided alike; check them by hand"
        );
        return;
    };
    let _ = writeln!(
        t,
        "   witness: `tollgate decide` as role `{}`, action `{}`, on",
        w.role, w.action
    );
    for line in w.snapshot.lines() {
        let _ = writeln!(t, "     {line}");
    }
}

/// `owner, billing_admin → send_message, run_tool; member → view_history`:
/// requests grouped by the roles that share their actions.
fn requests(list: &[(String, String)]) -> String {
    let mut by_role: Vec<(String, Vec<String>)> = Vec::new();
    for (role, action) in list {
        match by_role.iter_mut().find(|(r, _)| r == role) {
            Some((_, actions)) => actions.push(action.clone()),
            None => by_role.push((role.clone(), vec![action.clone()])),
        }
    }
    let mut groups: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    for (role, actions) in by_role {
        match groups.iter_mut().find(|(_, a)| *a == actions) {
            Some((roles, _)) => roles.push(role),
            None => groups.push((vec![role], actions)),
        }
    }
    groups
        .iter()
        .map(|(roles, actions)| format!("{} → {}", roles.join(", "), actions.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}
