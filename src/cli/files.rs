//! Reading and writing files: reads capped at a limit before the bytes are
//! held, writes atomic and only ever to a regular file, names shown printable.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Longest file name shown in a message, in characters. Longer names are
/// cut in the middle: a name is there to be recognised, and a message
/// should stay one line however a path was built.
pub const MAX_SHOWN_NAME_CHARS: usize = 200;

/// Most symbolic links followed to find the file `--output` or `fmt`
/// writes: the kernel's own limit (`MAXSYMLINKS` on Linux is 40), so a
/// loop of links ends with a message.
const MAX_LINK_HOPS: usize = 40;

/// A name as it may appear in a message: control characters escaped,
/// at most [`MAX_SHOWN_NAME_CHARS`] characters.
pub fn shown_name(name: &str) -> String {
    let mut escaped = String::with_capacity(name.len().min(MAX_SHOWN_NAME_CHARS * 4));
    let count = name.chars().count();
    let half = MAX_SHOWN_NAME_CHARS / 2;
    for (i, c) in name.chars().enumerate() {
        if count > MAX_SHOWN_NAME_CHARS && i >= half && i < count - half {
            if i == half {
                escaped.push('…');
            }
            continue;
        }
        if c.is_control() {
            escaped.extend(c.escape_default());
        } else {
            escaped.push(c);
        }
    }
    escaped
}

/// A path as it may appear in a message (see [`shown_name`]).
pub fn shown(path: &Path) -> String {
    shown_name(&path.to_string_lossy())
}

/// `cannot read `path`: why`, in words.
pub fn describe_io(path: &Path, e: &std::io::Error) -> String {
    format!("cannot read `{}`: {}", shown(path), why(path, e))
}

/// Why an I/O operation on `path` failed, in words.
pub fn why(path: &Path, e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::NotFound => "no such file".to_owned(),
        ErrorKind::PermissionDenied => "permission denied".to_owned(),
        ErrorKind::IsADirectory => "is a directory".to_owned(),
        ErrorKind::NotADirectory => "a part of the path is not a folder".to_owned(),
        ErrorKind::InvalidData => "is not UTF-8 text".to_owned(),
        _ if path.is_dir() => "is a directory".to_owned(),
        _ => e.to_string(),
    }
}

/// Why a capped read failed.
#[derive(Debug)]
pub enum ReadError {
    Io(std::io::Error),
    /// The input holds more than the limit; nothing past it was read.
    TooLarge {
        limit: usize,
    },
}

impl ReadError {
    /// The message for `name` (the file's path, or `standard input`).
    pub fn describe(&self, path: &Path) -> String {
        match self {
            ReadError::Io(e) => describe_io(path, e),
            ReadError::TooLarge { limit } => format!(
                "`{}` is larger than the limit of {limit} bytes",
                shown(path)
            ),
        }
    }
}

/// Reads all of `reader`, refusing it once it passes `limit` bytes: one byte
/// past the limit is the most ever held.
pub fn read_capped(reader: impl Read, limit: usize) -> Result<Vec<u8>, ReadError> {
    let mut bytes = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    reader
        .take(cap)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(bytes)
}

/// Reads the file at `path`, capped at `limit` bytes. A named pipe, a
/// socket or a terminal is refused, not waited on ([`crate::input::open`]).
pub fn read_file_capped(path: &Path, limit: usize) -> Result<Vec<u8>, ReadError> {
    let file = crate::input::open(path).map_err(ReadError::Io)?;
    read_capped(file, limit)
}

/// Reads a text file capped at `limit` bytes; the error is a message.
pub fn read_text_capped(path: &Path, limit: usize) -> Result<String, String> {
    let bytes = read_file_capped(path, limit).map_err(|e| e.describe(path))?;
    String::from_utf8(bytes).map_err(|_| format!("`{}` is not UTF-8 text", shown(path)))
}

/// The file a write to `path` replaces: `path` itself, or the file its
/// chain of symbolic links ends at. Anything that exists and is not a
/// regular file is refused: replacing a device, a folder or a pipe with a
/// file is never what was meant.
fn destination(path: &Path) -> Result<PathBuf, String> {
    let mut at = path.to_path_buf();
    for _ in 0..MAX_LINK_HOPS {
        let meta = match std::fs::symlink_metadata(&at) {
            Ok(m) => m,
            // A new file (or a link to one not yet written).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(at),
            Err(e) => {
                return Err(format!("cannot write `{}`: {}", shown(path), why(&at, &e)));
            }
        };
        let kind = meta.file_type();
        if kind.is_symlink() {
            let target = std::fs::read_link(&at)
                .map_err(|e| format!("cannot write `{}`: {}", shown(path), why(&at, &e)))?;
            at = match at.parent() {
                Some(dir) if target.is_relative() => dir.join(target),
                _ => target,
            };
            continue;
        }
        if kind.is_file() {
            return Ok(at);
        }
        let what = if kind.is_dir() {
            "a folder"
        } else {
            "not a regular file (a device, pipe or socket)"
        };
        let through = if at == path {
            String::new()
        } else {
            format!(" (through its link to `{}`)", shown(&at))
        };
        return Err(format!(
            "cannot write `{}`: it is {what}{through}; only regular files are replaced",
            shown(path)
        ));
    }
    Err(format!(
        "cannot write `{}`: more than {MAX_LINK_HOPS} symbolic links, or a loop of them",
        shown(path)
    ))
}

/// Writes `bytes` to `path` through a temporary file in the destination's
/// folder and a rename, so readers see the old file or the new one, never a
/// part. A symbolic link is written through (its target is replaced, the
/// link stays); anything else that is not a regular file is refused. The
/// temporary file is removed when any step fails.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let target = destination(path)?;
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{name}.tollgate-{}.tmp", std::process::id()));
    let fail = |what: &str, e: std::io::Error| {
        format!("cannot write `{}`: {what}: {}", shown(path), why(&temp, &e))
    };
    let mut created = false;
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(|e| fail("creating a temporary file", e))?;
        created = true;
        // Keep the replaced file's permissions.
        if let Ok(meta) = std::fs::metadata(&target) {
            file.set_permissions(meta.permissions())
                .map_err(|e| fail("copying permissions", e))?;
        }
        file.write_all(bytes).map_err(|e| fail("writing", e))?;
        file.sync_all().map_err(|e| fail("syncing", e))?;
        drop(file);
        std::fs::rename(&temp, &target).map_err(|e| fail("replacing the file", e))
    })();
    if result.is_err() && created {
        // Best effort: the temporary file is ours and of no use now.
        let _ = std::fs::remove_file(&temp);
    }
    result
}
