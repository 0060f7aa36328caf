//! Opening the files tollgate reads: only what ends.
//!
//! Every path a user names or a search finds (a policy, a snapshot, a case
//! file, a case's account, the language server's snapshot) is opened with
//! [`open`]. It looks at what the path leads to (following links) before
//! opening it, and refuses what could hold the reader up forever: a named
//! pipe (opening one waits for a writer, and `/dev/stdin` or
//! `/proc/self/fd/0` is the reader's own input, which for the language
//! server is its protocol stream), a socket, a terminal, a block device.
//! A regular file is read; so is a character device other than a terminal,
//! because reading `/dev/zero` is documented (docs/robustness.md) and every
//! read is capped at its limit. Standard input, `-` on the command line, is
//! read by the commands that take it, not through here.

use std::fs::File;
use std::io::{Error, ErrorKind, IsTerminal, Read};
use std::path::Path;

/// Opens `path` for reading if it leads to a regular file or a character
/// device that is not a terminal. Anything else is an error whose message
/// says what the path is and what to do instead; a folder is
/// [`ErrorKind::IsADirectory`].
pub fn open(path: &Path) -> std::io::Result<File> {
    let kind = std::fs::metadata(path)?.file_type();
    if kind.is_dir() {
        return Err(Error::new(ErrorKind::IsADirectory, "is a directory"));
    }
    if !kind.is_file() && !is_char_device(&kind) {
        return Err(refused(not_regular(&kind)));
    }
    let file = File::open(path)?;
    if file.is_terminal() {
        return Err(refused("a terminal"));
    }
    Ok(file)
}

/// Reads `path` through [`open`], at most `limit + 1` bytes: one byte past
/// the limit is the most ever held, enough for the caller to refuse it.
pub fn read_capped(path: &Path, limit: usize) -> std::io::Result<Vec<u8>> {
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let mut bytes = Vec::new();
    open(path)?.take(cap).read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn refused(what: &str) -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        format!(
            "it is {what}, not a regular file, and reading it could wait forever; \
             save what it holds to a file and name that"
        ),
    )
}

#[cfg(unix)]
fn is_char_device(kind: &std::fs::FileType) -> bool {
    use std::os::unix::fs::FileTypeExt;
    kind.is_char_device()
}

#[cfg(not(unix))]
fn is_char_device(_: &std::fs::FileType) -> bool {
    false
}

#[cfg(unix)]
fn not_regular(kind: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_fifo() {
        "a named pipe"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_block_device() {
        "a block device"
    } else {
        "neither a file nor a folder"
    }
}

#[cfg(not(unix))]
fn not_regular(_: &std::fs::FileType) -> &'static str {
    "neither a file nor a folder"
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn what_ends_is_opened_and_what_may_not_is_refused() {
        assert!(open(Path::new("/dev/zero")).is_ok());
        assert!(open(Path::new("/dev/null")).is_ok());
        assert!(
            open(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("Cargo.toml")
                    .as_path()
            )
            .is_ok()
        );
        let folder = open(Path::new(env!("CARGO_MANIFEST_DIR")));
        assert_eq!(
            folder.map(|_| ()).map_err(|e| e.kind()),
            Err(ErrorKind::IsADirectory)
        );
        let missing = open(Path::new("/no/such/file"));
        assert_eq!(
            missing.map(|_| ()).map_err(|e| e.kind()),
            Err(ErrorKind::NotFound)
        );
        let zero = read_capped(Path::new("/dev/zero"), 10).map(|b| b.len());
        assert_eq!(zero.map_err(|e| e.kind()), Ok(11));
    }
}
