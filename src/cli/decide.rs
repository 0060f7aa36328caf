//! `tollgate decide POLICY --snapshot S --role R --action A` and `--batch`.

use std::path::PathBuf;

use crate::time::Timestamp;
use crate::{Policy, RequestError};

use super::files::shown_name;
use super::load::{self, Loaded};
use super::out;
use super::snippet::{clean_message, visible_text};
use super::{Exit, OutputFormat};

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["snapshot", "batch"])))]
pub struct DecideArgs {
    /// The policy file.
    policy: PathBuf,
    /// The account snapshot: a .json or .toml file, or `-` for JSON on
    /// standard input.
    #[arg(long, value_name = "FILE", requires_all = ["role", "action"])]
    snapshot: Option<PathBuf>,
    /// The role making the request.
    #[arg(long)]
    role: Option<String>,
    /// The action requested.
    #[arg(long)]
    action: Option<String>,
    /// Decide every line of a JSONL file: `{"snapshot": {...}, "role": "...", "action": "..."}`.
    #[arg(long, value_name = "FILE.jsonl", conflicts_with_all = ["snapshot", "role", "action"])]
    batch: Option<PathBuf>,
    /// Add the trace: every rule evaluated, whether it fired, what it read.
    #[arg(long)]
    explain: bool,
    /// Decide as of this instant instead of the snapshot's `now` (RFC 3339).
    #[arg(long, value_name = "TIME", value_parser = parse_now)]
    now: Option<Timestamp>,
    /// JSON for programs (the default), or a reading for people.
    #[arg(long, value_enum, default_value_t = OutputFormat::Json)]
    format: OutputFormat,
}

fn parse_now(text: &str) -> Result<Timestamp, String> {
    Timestamp::parse(text)
        .map_err(|why| format!("`{}` is not a timestamp: {why}", shown_name(text)))
}

pub fn run(args: &DecideArgs) -> Exit {
    let policy = match load::policy(&args.policy) {
        Loaded::Ok(p) => p,
        Loaded::Failed(exit) => return exit,
    };
    if let Some(batch) = &args.batch {
        return super::batch::run(&policy, batch, args.explain, args.now);
    }
    let (Some(snapshot), Some(role), Some(action)) = (&args.snapshot, &args.role, &args.action)
    else {
        load::usage("`--snapshot`, `--role` and `--action` go together");
        return Exit::BadInput;
    };
    let request = match policy.request(role, action) {
        Ok(r) => r,
        Err(e) => {
            load::error(&request_error(&policy, &e));
            return Exit::BadInput;
        }
    };
    let account = match load::account(&policy, snapshot, args.now) {
        Ok(a) => a,
        Err(exit) => return exit,
    };
    let decision = if args.explain {
        policy.decide_explained(&account, &request)
    } else {
        policy.decide(&account, &request)
    };
    let decision = match decision {
        Ok(d) => d,
        Err(e) => {
            load::error(&format!(
                "cannot decide on `{}`: {e}",
                super::files::shown(snapshot)
            ));
            return Exit::BadInput;
        }
    };
    let text = match args.format {
        OutputFormat::Json => decision.to_json_pretty(),
        // Messages come from the policy's text: shown, not obeyed, on a
        // terminal.
        OutputFormat::Human => decision.explain().map(|t| visible_text(&t)),
    };
    match text {
        Ok(text) if text.ends_with('\n') => out::ended(out::write(text.as_bytes()), Exit::Ok),
        Ok(text) => out::ended(out::line(&text), Exit::Ok),
        Err(e) => {
            load::error(&e.to_string());
            Exit::BadInput
        }
    }
}

/// Most names a request error lists; the rest are counted, so a policy of
/// thousands of roles still gets a one-line error.
const MAX_LISTED_NAMES: usize = 10;

/// Most bytes of names a request error lists: ten names of the longest
/// allowed would push the count past the message's bound.
const MAX_LISTED_BYTES: usize = 500;

/// An unknown role or action, for people: with a near name, the
/// suggestion; without one, the names the policy declares.
pub fn request_error(policy: &Policy, e: &RequestError) -> String {
    let ((one, what), first, total): (_, Vec<&str>, _) = match e {
        RequestError::UnknownRole {
            suggestion: None, ..
        } => (
            ("role", "roles"),
            policy.roles().take(MAX_LISTED_NAMES).collect(),
            policy.roles().len(),
        ),
        RequestError::UnknownAction {
            suggestion: None, ..
        } => (
            ("action", "actions"),
            policy.actions().take(MAX_LISTED_NAMES).collect(),
            policy.actions().len(),
        ),
        _ => return clean_message(&e.to_string()),
    };
    let mut bytes = 0;
    let listed: Vec<String> = first
        .into_iter()
        .take_while(|name| {
            bytes += name.len();
            bytes <= MAX_LISTED_BYTES
        })
        .map(|name| format!("`{name}`"))
        .collect();
    let names = match listed.split_last() {
        None => format!("the policy declares {total} {what}"),
        Some((last, init)) if listed.len() == total && !init.is_empty() => {
            format!("the policy's {what} are {} and {last}", init.join(", "))
        }
        Some((only, _)) if total == 1 => format!("the policy's only {one} is {only}"),
        Some(_) => format!(
            "the policy's {what} are {} and {} more",
            listed.join(", "),
            total - listed.len()
        ),
    };
    clean_message(&format!("{e}; {names}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lone_role_is_named_as_the_only_one() {
        let policy = Policy::from_source(
            "p.policy",
            "policy p\nrole member\nactions billable: run\npermit member to billable\n\
             credits included\nspend included by expires_at, id\nstate ok otherwise\n",
        )
        .unwrap();
        let e = policy.request("administrator", "run").unwrap_err();
        assert_eq!(
            request_error(&policy, &e),
            "unknown role `administrator`; the policy's only role is `member`"
        );
        let e = policy.request("membr", "run").unwrap_err();
        assert_eq!(
            request_error(&policy, &e),
            "unknown role `membr`; did you mean `member`?"
        );
    }
}
