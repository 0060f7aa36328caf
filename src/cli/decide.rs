//! `tollgate decide POLICY --snapshot S --role R --action A` and `--batch`.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use tollgate::snapshot::Format;
use tollgate::time::Timestamp;
use tollgate::{Account, Decision, Policy};

use super::load::{self, Loaded};
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
    Timestamp::parse(text).map_err(|why| format!("`{text}` is not a timestamp: {why}"))
}

pub fn run(args: &DecideArgs) -> Exit {
    let policy = match load::policy(&args.policy) {
        Loaded::Ok(p) => p,
        Loaded::Failed(exit) => return exit,
    };
    if let Some(batch) = &args.batch {
        return batch_run(&policy, batch, args);
    }
    let (Some(snapshot), Some(role), Some(action)) = (&args.snapshot, &args.role, &args.action)
    else {
        load::usage("`--snapshot`, `--role` and `--action` go together");
        return Exit::BadInput;
    };
    let request = match policy.request(role, action) {
        Ok(r) => r,
        Err(e) => {
            load::error(&e.to_string());
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
            load::error(&format!("{e} for `{}`", snapshot.display()));
            return Exit::BadInput;
        }
    };
    match print(&decision, args.format, true) {
        Ok(()) => Exit::Ok,
        Err(message) => {
            load::error(&message);
            Exit::BadInput
        }
    }
}

fn print(decision: &Decision<'_>, format: OutputFormat, pretty: bool) -> Result<(), String> {
    let text = match format {
        OutputFormat::Json if pretty => decision.to_json_pretty(),
        OutputFormat::Json => decision.to_json(),
        OutputFormat::Human => decision.explain(),
    }
    .map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    let ends_in_newline = text.ends_with('\n');
    let result = if ends_in_newline {
        write!(out, "{text}")
    } else {
        writeln!(out, "{text}")
    };
    result.map_err(|e| format!("cannot write the decision: {e}"))
}

/// Decides each line in order; a bad line prints `{"line": N, "error": ...}`
/// in its place and makes the run exit 2 at the end.
fn batch_run(policy: &Policy, path: &Path, args: &DecideArgs) -> Exit {
    let reader: Box<dyn BufRead> = if path == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        match std::fs::File::open(path) {
            Ok(f) => Box::new(std::io::BufReader::new(f)),
            Err(e) => {
                load::error(&super::render::describe_io(path, &e));
                return Exit::BadInput;
            }
        }
    };
    let mut exit = Exit::Ok;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for (index, line) in reader.lines().enumerate() {
        let number = index + 1;
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                load::error(&format!(
                    "cannot read line {number} of `{}`: {e}",
                    path.display()
                ));
                return Exit::BadInput;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let result = decide_line(policy, &line, args);
        let text = match result {
            Ok(json) => json,
            Err(error) => {
                exit = Exit::BadInput;
                serde_json::json!({ "line": number, "error": error }).to_string()
            }
        };
        if writeln!(out, "{text}").is_err() {
            return Exit::BadInput;
        }
    }
    if out.flush().is_err() {
        return Exit::BadInput;
    }
    exit
}

fn decide_line(policy: &Policy, line: &str, args: &DecideArgs) -> Result<String, String> {
    let parsed = tollgate::snapshot::parse_batch_line(policy.program(), line, args.now)?;
    let request = policy
        .request(&parsed.role, &parsed.action)
        .map_err(|e| e.to_string())?;
    let account: Account = parsed.account;
    let decision = if args.explain {
        policy.decide_explained(&account, &request)
    } else {
        policy.decide(&account, &request)
    }
    .map_err(|e| e.to_string())?;
    decision.to_json().map_err(|e| e.to_string())
}

/// The snapshot format of a path (`-` is JSON).
pub fn format_of(path: &Path) -> Format {
    Format::from_name(&path.to_string_lossy())
}
