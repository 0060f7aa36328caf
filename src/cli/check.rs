//! `tollgate check POLICY...`

use std::path::PathBuf;

use super::files::shown;
use super::render::{self, Output};
use super::{DiagnosticFormat, Exit};

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Policy files to check.
    #[arg(required = true, value_name = "POLICY")]
    policies: Vec<PathBuf>,
    /// How to print diagnostics.
    #[arg(long, value_enum, default_value_t = DiagnosticFormat::Human)]
    format: DiagnosticFormat,
    /// Fail (exit 1) on warnings too, as CI should.
    #[arg(long)]
    deny_warnings: bool,
    /// Also prove which rules never fire, which states are never reached
    /// and which step conditions are constant, on every account (needs
    /// `z3`; docs/verification.md).
    #[arg(long)]
    prove: bool,
    /// Seconds the solver may take per policy, with `--prove` (exit 2 past it).
    #[arg(long, value_name = "SECONDS", default_value_t = 60, requires = "prove")]
    timeout: u64,
}

pub fn run(args: &CheckArgs) -> Exit {
    let mut exit = Exit::Ok;
    let mut out = Output::new(args.format);
    for path in &args.policies {
        let name = path.display().to_string();
        let bytes = match render::read_input(path) {
            Ok(bytes) => bytes,
            Err(message) => {
                out.io_error(&name, &message);
                exit = exit.max(Exit::BadInput);
                continue;
            }
        };
        let analysis = crate::check_owned(&name, bytes);
        let proved;
        let d = match (&analysis.program, args.prove) {
            (Some(program), true) => {
                let limit = std::time::Duration::from_secs(args.timeout);
                match crate::verify::lints::lints(program, limit) {
                    Ok(found) => {
                        let d = &analysis.diagnostics;
                        // The checker's own finding at a place comes first.
                        let fresh = found.into_iter().filter(|f| {
                            !d.items.iter().any(|x| x.code == f.code && x.span == f.span)
                        });
                        let items = d.items.iter().cloned().chain(fresh).collect();
                        let mut all = crate::Diagnostics::new(d.source.clone(), items);
                        // What the checker counted but did not keep stays counted.
                        all.omitted = d.omitted;
                        all.omitted_warnings = d.omitted_warnings;
                        proved = all;
                        &proved
                    }
                    Err(e) => {
                        out.io_error(&name, &e.to_string());
                        exit = exit.max(Exit::BadInput);
                        continue;
                    }
                }
            }
            _ => &analysis.diagnostics,
        };
        if d.has_errors() || args.deny_warnings && d.warning_count() > 0 {
            exit = exit.max(Exit::Failed);
        }
        out.file(d);
    }
    // Silence would read the same as a check that never ran.
    if args.format == DiagnosticFormat::Human && out.problems() == 0 {
        super::out::err(&format!("{}\n", clean(&args.policies)));
    }
    super::out::ended(out.finish(), exit)
}

/// `policies/ampere.policy: no problems found`, or for several files
/// `2 policies checked: no problems found`.
fn clean(policies: &[PathBuf]) -> String {
    match policies {
        [one] => format!("{}: no problems found", shown(one)),
        all => format!("{} policies checked: no problems found", all.len()),
    }
}
