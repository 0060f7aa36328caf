//! `tollgate fmt [--check] POLICY...`

use std::path::PathBuf;

use tollgate::span::Source;

use super::render;
use super::{DiagnosticFormat, Exit};

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
                eprintln!("error: {message}");
                exit = exit.max(Exit::BadInput);
                continue;
            }
        };
        let name = path.display().to_string();
        let Ok(text) = String::from_utf8(bytes.clone()) else {
            // Let the checker say what is wrong with it.
            let mut out = render::Output::new(DiagnosticFormat::Human);
            out.file(&tollgate::check_bytes(&name, &bytes).diagnostics);
            out.finish();
            exit = exit.max(Exit::Failed);
            continue;
        };
        let formatted = match tollgate::format::format(&Source::new(name.as_str(), text.as_str())) {
            Ok(f) => f,
            Err(diagnostics) => {
                let mut out = render::Output::new(DiagnosticFormat::Human);
                out.file(&diagnostics);
                out.finish();
                exit = exit.max(Exit::Failed);
                continue;
            }
        };
        if formatted == text {
            continue;
        }
        if args.check {
            println!("{name}");
            exit = exit.max(Exit::Failed);
        } else if let Err(message) = super::ledger::write_atomically(path, formatted.as_bytes()) {
            eprintln!("error: {message}");
            exit = exit.max(Exit::BadInput);
        }
    }
    exit
}
