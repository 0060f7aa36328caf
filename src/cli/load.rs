//! Loading a policy and a snapshot for a command, reporting failures as
//! the contract's exit codes.

use std::path::Path;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::snapshot::Format;
use crate::span::{Source, Span};
use crate::time::Timestamp;
use crate::{Account, Policy, PolicyError};

use super::Exit;
use super::files::{self, ReadError, describe_io, shown};
use super::render;

pub use super::out::{error, usage};

pub enum Loaded {
    Ok(Policy),
    Failed(Exit),
}

/// Loads a policy; errors print as diagnostics (exit 1) or as an
/// unreadable file (exit 2).
pub fn policy(path: &Path) -> Loaded {
    match Policy::from_file(path) {
        Ok(p) => Loaded::Ok(p),
        Err(PolicyError::Io { source, .. }) => {
            error(&describe_io(path, &source));
            Loaded::Failed(Exit::BadInput)
        }
        Err(PolicyError::Invalid(diagnostics)) => {
            print_diagnostics(&diagnostics);
            Loaded::Failed(Exit::Failed)
        }
    }
}

/// Prints one source's diagnostics for people, on standard error.
pub fn print_diagnostics(diagnostics: &Diagnostics) {
    let mut out = render::Output::new(super::DiagnosticFormat::Human);
    out.file(diagnostics);
    // Human diagnostics go to standard error, which cannot stop the run.
    let _ = out.finish();
}

/// Reads and validates a snapshot; errors print as diagnostics (exit 2).
/// At most one byte past its format's limit is read, from a file or from
/// standard input: [`MAX_SNAPSHOT_BYTES`], or [`MAX_TOML_SNAPSHOT_BYTES`]
/// for a `.toml` path.
///
/// [`MAX_SNAPSHOT_BYTES`]: crate::limits::MAX_SNAPSHOT_BYTES
/// [`MAX_TOML_SNAPSHOT_BYTES`]: crate::limits::MAX_TOML_SNAPSHOT_BYTES
pub fn account(policy: &Policy, path: &Path, now: Option<Timestamp>) -> Result<Account, Exit> {
    let stdin = path == Path::new("-");
    let format = format_of(path);
    let (name, read) = if stdin {
        (
            "<stdin>".to_owned(),
            files::read_capped(std::io::stdin().lock(), format.max_bytes()),
        )
    } else {
        (
            path.display().to_string(),
            files::read_file_capped(path, format.max_bytes()),
        )
    };
    let bytes = match read {
        Ok(bytes) => bytes,
        Err(ReadError::TooLarge { .. }) => {
            // Said with the library's code, without holding the text.
            let (message, help) = format.too_large();
            let d = Diagnostic::new(Code::SnapshotTooLarge, Span::point(0), message).help(help);
            print_diagnostics(&Diagnostics::new(Source::new(name, ""), vec![d]));
            return Err(Exit::BadInput);
        }
        Err(ReadError::Io(e)) if stdin => {
            error(&format!("cannot read standard input: {e}"));
            return Err(Exit::BadInput);
        }
        Err(ReadError::Io(e)) => {
            error(&describe_io(path, &e));
            return Err(Exit::BadInput);
        }
    };
    let Ok(text) = String::from_utf8(bytes) else {
        error(&format!("`{}` is not UTF-8 text", shown(Path::new(&name))));
        return Err(Exit::BadInput);
    };
    policy.snapshot(&name, &text, format, now).map_err(|e| {
        print_diagnostics(&e.diagnostics);
        Exit::BadInput
    })
}

/// The snapshot format of a path (`-` is JSON).
pub fn format_of(path: &Path) -> Format {
    Format::from_name(&path.to_string_lossy())
}
