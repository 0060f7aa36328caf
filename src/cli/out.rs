//! Standard output and standard error: every byte the command line prints
//! goes through here, so that a closed pipe or a full disk is an ending, not
//! a panic.

use std::io::Write;

use super::Exit;

/// Why printing stopped.
#[derive(Debug)]
pub enum Stop {
    /// The reader went away (`| head`): the normal end of output.
    Closed,
    /// Writing failed for another reason (a full disk).
    Failed(std::io::Error),
}

impl From<std::io::Error> for Stop {
    fn from(e: std::io::Error) -> Stop {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Stop::Closed
        } else {
            Stop::Failed(e)
        }
    }
}

impl Stop {
    /// The exit code of a run whose output stopped: a closed pipe ends the
    /// run quietly with the code it had; a failed write is bad output, 2.
    pub fn exit(self, run: Exit) -> Exit {
        match self {
            Stop::Closed => run,
            Stop::Failed(e) => {
                error(&format!("cannot write to standard output: {e}"));
                run.max(Exit::BadInput)
            }
        }
    }
}

/// The exit code of a run that printed `printed`.
pub fn ended(printed: Result<(), Stop>, run: Exit) -> Exit {
    match printed {
        Ok(()) => run,
        Err(stop) => stop.exit(run),
    }
}

/// Writes `bytes` to standard output and flushes them.
pub fn write(bytes: &[u8]) -> Result<(), Stop> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()?;
    Ok(())
}

/// Writes `text` and a line break to standard output.
pub fn line(text: &str) -> Result<(), Stop> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

/// Writes `text` to standard error. Standard error is where failures are
/// told; when it is gone too, there is nobody left to tell.
pub fn err(text: &str) {
    let mut e = std::io::stderr().lock();
    let _ = e.write_all(text.as_bytes());
    let _ = e.flush();
}

/// An error without a place: `error: ...` on standard error.
pub fn error(message: &str) {
    err(&format!("error: {message}\n"));
}

/// A misuse of the command line.
pub fn usage(message: &str) {
    err(&format!(
        "error: {message}\n\nFor more information, try '--help'.\n"
    ));
}
