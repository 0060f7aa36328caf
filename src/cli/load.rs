//! Loading a policy and a snapshot for a command, reporting failures as
//! the contract's exit codes.

use std::io::Read;
use std::path::Path;

use tollgate::time::Timestamp;
use tollgate::{Account, Policy, PolicyError};

use super::Exit;
use super::render::{self, describe_io};

pub enum Loaded {
    Ok(Policy),
    Failed(Exit),
}

/// Loads a policy; errors print as diagnostics (exit 1) or as an
/// unreadable file (exit 2).
pub fn policy(path: &Path) -> Loaded {
    match Policy::from_file(path) {
        Ok(p) => Loaded::Ok(p),
        Err(PolicyError::Io { .. }) => {
            let e = std::fs::File::open(path).err();
            let message = match e {
                Some(e) => describe_io(path, &e),
                None => format!("cannot read `{}`", path.display()),
            };
            error(&message);
            Loaded::Failed(Exit::BadInput)
        }
        Err(PolicyError::Invalid(diagnostics)) => {
            let mut out = render::Output::new(super::DiagnosticFormat::Human);
            out.file(&diagnostics);
            out.finish();
            Loaded::Failed(Exit::Failed)
        }
    }
}

/// Reads and validates a snapshot; errors print as diagnostics (exit 2).
pub fn account(policy: &Policy, path: &Path, now: Option<Timestamp>) -> Result<Account, Exit> {
    let (name, text) = if path == Path::new("-") {
        let mut text = String::new();
        if let Err(e) = std::io::stdin().lock().read_to_string(&mut text) {
            error(&format!("cannot read standard input: {e}"));
            return Err(Exit::BadInput);
        }
        ("<stdin>".to_owned(), text)
    } else {
        match std::fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => (path.display().to_string(), text),
                Err(_) => {
                    error(&format!("`{}` is not UTF-8 text", path.display()));
                    return Err(Exit::BadInput);
                }
            },
            Err(e) => {
                error(&describe_io(path, &e));
                return Err(Exit::BadInput);
            }
        }
    };
    let format = super::decide::format_of(path);
    policy.snapshot(&name, &text, format, now).map_err(|e| {
        let mut out = render::Output::new(super::DiagnosticFormat::Human);
        out.file(&e.diagnostics);
        out.finish();
        Exit::BadInput
    })
}

/// An error without a place: `error: ...` on standard error.
pub fn error(message: &str) {
    eprintln!("error: {message}");
}

/// A misuse of the command line.
pub fn usage(message: &str) {
    eprintln!("error: {message}\n\nFor more information, try '--help'.");
}
