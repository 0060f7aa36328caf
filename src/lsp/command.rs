//! `tollgate.decide`, the server's one command (`workspace/executeCommand`):
//! decides an example snapshot against the policy being edited, as it
//! stands in the editor, and answers the decision JSON `tollgate decide`
//! prints (OPA Regal's "evaluate" idea).
//!
//! Its one argument is an object:
//! `{ "uri": the policy document, "snapshot": a .json or .toml file,
//! "role": ..., "action": ..., "explain": false }`. A relative snapshot
//! path is read from the policy's folder. Every failure (a policy with
//! errors, an unreadable snapshot, an unknown role) is an error answer
//! that says why; the session goes on.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::Policy;
use crate::snapshot::Format;

/// The command's name.
pub const DECIDE: &str = "tollgate.decide";

/// The arguments of `tollgate.decide`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecideArgs {
    pub uri: String,
    pub snapshot: String,
    pub role: String,
    pub action: String,
    #[serde(default)]
    pub explain: bool,
}

impl DecideArgs {
    /// The arguments from a command's argument list: one object.
    pub fn from_arguments(arguments: &[Value]) -> Result<DecideArgs, String> {
        let [arg] = arguments else {
            return Err(format!(
                "`{DECIDE}` takes one argument, an object with `uri`, `snapshot`, `role` and `action`; got {}",
                arguments.len()
            ));
        };
        serde_json::from_value(arg.clone()).map_err(|e| format!("`{DECIDE}`: {e}"))
    }
}

/// Reads at most `limit` bytes of UTF-8 text.
fn read_capped(path: &Path, limit: usize) -> Result<String, String> {
    let shown = path.display();
    // A named pipe, or a link to the server's own standard input, would
    // hold up the whole session: refused, not waited on.
    let bytes = crate::input::read_capped(path, limit)
        .map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    if bytes.len() > limit {
        return Err(format!(
            "`{shown}` is larger than the snapshot limit of {limit} bytes"
        ));
    }
    String::from_utf8(bytes).map_err(|_| format!("`{shown}` is not UTF-8 text"))
}

/// Decides `args` against the policy `text` (named `name`, in the file
/// `policy_path` when it is one): the decision as JSON, or why not.
pub fn decide(
    name: &str,
    text: &str,
    policy_path: Option<&Path>,
    args: &DecideArgs,
) -> Result<Value, String> {
    let policy = Policy::from_source(name, text).map_err(|e| match e {
        crate::PolicyError::Invalid(d) => format!(
            "the policy has {} error(s); fix them first (the problems list shows them)",
            d.error_count()
        ),
        other => other.to_string(),
    })?;
    let request = policy
        .request(&args.role, &args.action)
        .map_err(|e| e.to_string())?;
    let mut snapshot = PathBuf::from(&args.snapshot);
    if snapshot.is_relative()
        && let Some(dir) = policy_path.and_then(Path::parent)
    {
        snapshot = dir.join(snapshot);
    }
    let format = Format::from_name(&args.snapshot);
    let snapshot_text = read_capped(&snapshot, format.max_bytes())?;
    let account = policy
        .snapshot(&args.snapshot, &snapshot_text, format, None)
        .map_err(|e| e.to_string())?;
    let decision = if args.explain {
        policy.decide_explained(&account, &request)
    } else {
        policy.decide(&account, &request)
    }
    .map_err(|e| format!("{e} for `{}`", args.snapshot))?;
    let json = decision.to_json().map_err(|e| e.to_string())?;
    serde_json::from_str(&json).map_err(|e| e.to_string())
}
