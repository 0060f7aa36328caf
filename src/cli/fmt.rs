//! `tollgate fmt [--check] POLICY...`

use std::path::PathBuf;

use crate::span::Source;

use super::files::{self, shown};
use super::load::print_diagnostics;
use super::{Exit, out, render};

#[derive(clap::Args, Debug)]
pub struct FmtArgs {
    /// Policy files to format in place.
    #[arg(required = true, value_name = "POLICY")]
    policies: Vec<PathBuf>,
    /// Change nothing: list the files that are not formatted, and exit 1 if any.
    #[arg(long)]
    check: bool,
}

pub fn run(args: &FmtArgs) -> Exit {
    let mut exit = Exit::Ok;
    for path in &args.policies {
        let bytes = match render::read_input(path) {
            Ok(b) => b,
            Err(message) => {
                out::error(&message);
                exit = exit.max(Exit::BadInput);
                continue;
            }
        };
        let name = path.display().to_string();
        let text = match std::str::from_utf8(&bytes) {
            Ok(text) if bytes.len() <= crate::parse::MAX_POLICY_BYTES => text,
            // Too large, or not UTF-8: the checker says which, and where.
            _ => {
                print_diagnostics(&crate::check_bytes(&name, &bytes).diagnostics);
                exit = exit.max(Exit::Failed);
                continue;
            }
        };
        if let Some(at) = text.find('\0') {
            let line = text.get(..at).map_or(0, |t| t.matches('\n').count()) + 1;
            out::error(&format!(
                "`{}` is not a policy: it holds a NUL byte on line {line}; is it a binary file?",
                shown(path)
            ));
            exit = exit.max(Exit::Failed);
            continue;
        }
        let formatted = match crate::format::format(&Source::new(name.as_str(), text)) {
            Ok(f) => f,
            Err(diagnostics) => {
                print_diagnostics(&diagnostics);
                exit = exit.max(Exit::Failed);
                continue;
            }
        };
        if formatted == text {
            continue;
        }
        if args.check {
            exit = exit.max(Exit::Failed);
            if let Err(stop) = out::line(&shown(path)) {
                return stop.exit(exit);
            }
        } else if let Err(message) = files::write_atomically(path, formatted.as_bytes()) {
            out::error(&message);
            exit = exit.max(Exit::BadInput);
        }
    }
    exit
}
