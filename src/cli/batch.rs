//! `decide --batch`: the line format (`{"snapshot": {...}, "role": "...",
//! "action": "..."}`) and the pool of workers that decides the lines in
//! order.
//!
//! The library knows nothing of the format: a line's outer object is
//! scanned here, its snapshot handed to [`Policy::snapshot`] as it is.

use std::io::{BufRead, Write};
use std::path::Path;

use crate::diagnostic::Code;
use crate::snapshot::{Format, MAX_SNAPSHOT_BYTES};
use crate::time::Timestamp;
use crate::usual::{bom_len, skip_space};
use crate::{Account, Policy};

use super::files::{describe_io, shown, shown_name};
use super::out::Stop;
use super::{Exit, load};

/// Longest batch line, in bytes: a line holds one snapshot, and a snapshot
/// is at most [`MAX_SNAPSHOT_BYTES`]. A longer line is an error in its
/// place; the reader skips to its end without holding it.
pub const MAX_LINE_BYTES: usize = MAX_SNAPSHOT_BYTES;

/// Most lines decided per unit of work handed to a worker.
const CHUNK_LINES: usize = 1024;

/// Bytes after which a chunk is closed however few lines it has, so that a
/// chunk holds at most this plus one line: with a few chunks in flight,
/// memory stays bounded when lines are long.
const CHUNK_BYTES: usize = 1 << 20;

/// One line of a batch file.
#[derive(Debug)]
pub struct BatchLine {
    pub account: Account,
    pub role: String,
    pub action: String,
}

/// What [`read_chunks`] sends to the workers: a chunk of lines in one
/// buffer, so a chunk costs one allocation (freed by the worker) however
/// many lines it holds. Lines are bytes until a worker checks that they are
/// UTF-8, so a line that is not is one bad line, not the end of the run.
struct Chunk {
    bytes: Vec<u8>,
    /// Each line's number in the input and its range in `bytes`, or the
    /// error that stands in its place.
    lines: Vec<(usize, Result<std::ops::Range<usize>, String>)>,
}

/// Decides each line in order; a bad line prints `{"line": N, "error": ...}`
/// in its place and makes the run exit 2 at the end.
///
/// One thread reads chunks of lines, one worker per core decides them, and
/// this thread writes the results back in input order. A fixed number of
/// chunks is in flight at once, so memory stays bounded however large the
/// input is. When standard output closes, everything stops.
///
/// The pool is std's channels, not `crossbeam-channel`: the one place that
/// wants a multi-consumer queue is the work queue, and a `Mutex` around its
/// receiver costs nothing measurable next to deciding a chunk of 1,024
/// lines.
pub fn run(policy: &Policy, path: &Path, explain: bool, now: Option<Timestamp>) -> Exit {
    let reader: Box<dyn BufRead + Send> = if path == Path::new("-") {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        match std::fs::File::open(path) {
            Ok(f) => Box::new(std::io::BufReader::with_capacity(1 << 16, f)),
            Err(e) => {
                load::error(&describe_io(path, &e));
                return Exit::BadInput;
            }
        }
    };
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .max(1);
    let in_flight = workers * 4;
    let (work_tx, work_rx) = std::sync::mpsc::sync_channel::<(usize, Chunk)>(in_flight);
    let work_rx = std::sync::Arc::new(std::sync::Mutex::new(work_rx));
    let (done_tx, done_rx) = std::sync::mpsc::channel::<(usize, Vec<u8>, bool)>();
    // Tokens bound the chunks anywhere between reading and writing.
    let (token_tx, token_rx) = std::sync::mpsc::sync_channel::<()>(in_flight);
    for _ in 0..in_flight {
        let _ = token_tx.send(());
    }
    // The threads own what they use and are never waited for once output
    // has ended: the reader may be blocked reading a terminal or a pipe
    // that nobody closes, and the process ends without it.
    let name = shown(path);
    let reader = std::thread::spawn(move || read_chunks(reader, &work_tx, &token_rx, &name));
    for _ in 0..workers {
        let (work_rx, done_tx, policy) = (work_rx.clone(), done_tx.clone(), policy.clone());
        std::thread::spawn(move || {
            loop {
                let next = match work_rx.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => return,
                };
                let Ok((index, chunk)) = next else {
                    return;
                };
                let (out, failed) = decide_chunk(&policy, &chunk, explain, now);
                if done_tx.send((index, out, failed)).is_err() {
                    return;
                }
            }
        });
    }
    drop(done_tx);
    let mut exit = Exit::Ok;
    let mut stdout = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let mut pending = std::collections::BTreeMap::new();
    let mut next = 0;
    for (index, text, failed) in done_rx.iter() {
        pending.insert(index, (text, failed));
        while let Some((text, failed)) = pending.remove(&next) {
            if failed {
                exit = Exit::BadInput;
            }
            if let Err(e) = stdout.write_all(&text) {
                return Stop::from(e).exit(exit);
            }
            next += 1;
            let _ = token_tx.send(());
        }
    }
    if let Err(e) = stdout.flush() {
        return Stop::from(e).exit(exit);
    }
    match reader.join() {
        Ok(Some(message)) => {
            load::error(&message);
            Exit::BadInput
        }
        Ok(None) => exit,
        Err(_) => Exit::BadInput,
    }
}

/// Decides the lines of a chunk: their output, and whether any was bad.
fn decide_chunk(
    policy: &Policy,
    chunk: &Chunk,
    explain: bool,
    now: Option<Timestamp>,
) -> (Vec<u8>, bool) {
    let mut out = Vec::with_capacity(chunk.bytes.len());
    let mut failed = false;
    for (number, line) in &chunk.lines {
        let start = out.len();
        let decided = line.clone().and_then(|range| {
            let line = chunk.bytes.get(range).unwrap_or(&[]);
            std::str::from_utf8(line)
                .map_err(|_| "the line is not UTF-8 text".to_owned())
                .and_then(|line| decide_line(policy, line, explain, now, &mut out))
        });
        if let Err(error) = decided {
            failed = true;
            out.truncate(start);
            let error = serde_json::json!({ "line": number, "error": error });
            out.extend_from_slice(error.to_string().as_bytes());
        }
        out.push(b'\n');
    }
    (out, failed)
}

/// How reading one line ended.
enum LineEnd {
    /// The input is over and nothing was read.
    Eof,
    /// A line (its `\n` included, when it had one) was appended.
    Line,
    /// The line was longer than [`MAX_LINE_BYTES`]: it was read to its end
    /// and dropped.
    TooLong,
    /// The line was longer than [`MAX_SKIPPED_LINE_BYTES`]: reading stopped.
    Endless,
}

/// Most bytes of a too long line skipped while looking for its end. Past
/// this the input is not lines at all (`/dev/zero`, a disk image) and the
/// run ends, instead of reading forever for a line break.
pub const MAX_SKIPPED_LINE_BYTES: usize = 16 * MAX_LINE_BYTES;

/// Most bytes of one line held: the limit, and a `\r\n` after it.
const MAX_HELD_LINE_BYTES: usize = MAX_LINE_BYTES + 2;

/// Appends one line to `bytes`, holding at most [`MAX_HELD_LINE_BYTES`] of
/// it: a longer line is consumed to its `\n` and left out.
fn read_line(reader: &mut dyn BufRead, bytes: &mut Vec<u8>) -> std::io::Result<LineEnd> {
    let start = bytes.len();
    let mut too_long = false;
    let mut any = false;
    let mut skipped = 0;
    loop {
        let buffer = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buffer.is_empty() {
            break;
        }
        any = true;
        let (taken, done) = match memchr::memchr(b'\n', buffer) {
            Some(i) => (i + 1, true),
            None => (buffer.len(), false),
        };
        if too_long {
            skipped += taken;
            if skipped > MAX_SKIPPED_LINE_BYTES {
                return Ok(LineEnd::Endless);
            }
        } else {
            if bytes.len() - start + taken > MAX_HELD_LINE_BYTES {
                skipped = bytes.len() - start + taken;
                too_long = true;
                bytes.truncate(start);
            } else {
                bytes.extend_from_slice(buffer.get(..taken).unwrap_or(&[]));
            }
        }
        reader.consume(taken);
        if done {
            break;
        }
    }
    Ok(match (too_long, any) {
        (true, _) => LineEnd::TooLong,
        (false, true) => LineEnd::Line,
        (false, false) => LineEnd::Eof,
    })
}

/// The error in place of a line over [`MAX_LINE_BYTES`].
fn too_long() -> String {
    format!("the line is larger than the limit of {MAX_LINE_BYTES} bytes")
}

/// Reads numbered lines in chunks; blank lines are skipped but counted.
/// Returns an error message if the input could not be read.
fn read_chunks(
    mut reader: Box<dyn BufRead + Send>,
    work: &std::sync::mpsc::SyncSender<(usize, Chunk)>,
    tokens: &std::sync::mpsc::Receiver<()>,
    name: &str,
) -> Option<String> {
    let mut number = 0;
    let mut index = 0;
    // The last chunk's size, to allocate the next one at once.
    let mut capacity = 1 << 16;
    loop {
        if tokens.recv().is_err() {
            return None;
        }
        let mut chunk = Chunk {
            bytes: Vec::with_capacity(capacity),
            lines: Vec::with_capacity(CHUNK_LINES),
        };
        let mut ended = false;
        while chunk.lines.len() < CHUNK_LINES && chunk.bytes.len() < CHUNK_BYTES {
            let start = chunk.bytes.len();
            match read_line(&mut reader, &mut chunk.bytes) {
                Ok(LineEnd::Eof) => {
                    ended = true;
                    break;
                }
                Ok(LineEnd::Endless) => {
                    number += 1;
                    chunk.lines.push((number, Err(too_long())));
                    let _ = work.send((index, chunk));
                    return Some(format!(
                        "line {number} of `{name}` has no end within {MAX_SKIPPED_LINE_BYTES} \
                         bytes; the rest is not read"
                    ));
                }
                Ok(LineEnd::TooLong) => {
                    number += 1;
                    chunk.lines.push((number, Err(too_long())));
                }
                Ok(LineEnd::Line) => {
                    number += 1;
                    let line = chunk.bytes.get(start..).unwrap_or(&[]);
                    let content = line.strip_suffix(b"\n").unwrap_or(line);
                    let content = content.strip_suffix(b"\r").unwrap_or(content).len();
                    if line.trim_ascii().is_empty() {
                        chunk.bytes.truncate(start);
                    } else if content > MAX_LINE_BYTES {
                        chunk.bytes.truncate(start);
                        chunk.lines.push((number, Err(too_long())));
                    } else {
                        chunk.lines.push((number, Ok(start..start + content)));
                    }
                }
                Err(e) => return Some(format!("cannot read line {} of `{name}`: {e}", number + 1)),
            }
        }
        if chunk.lines.is_empty() {
            return None;
        }
        // A full chunk is a little over `CHUNK_BYTES` (it closes after the
        // line that passes it), so the bound is twice that: clamped to
        // `CHUNK_BYTES`, every chunk was allocated 1 MiB and then copied
        // into 2 MiB by its last line, a megabyte copied per chunk.
        capacity = chunk
            .bytes
            .len()
            .clamp(1 << 16, 2 * CHUNK_BYTES)
            .next_power_of_two();
        if work.send((index, chunk)).is_err() {
            return None;
        }
        index += 1;
        if ended {
            return None;
        }
    }
}

/// Decides one line and appends its decision JSON to `out`.
fn decide_line(
    policy: &Policy,
    line: &str,
    explain: bool,
    now: Option<Timestamp>,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let parsed = parse_line(policy, line, now)?;
    let request = policy
        .request(&parsed.role, &parsed.action)
        .map_err(|e| super::decide::request_error(policy, &e))?;
    let decision = if explain {
        policy.decide_explained(&parsed.account, &request)
    } else {
        policy.decide(&parsed.account, &request)
    }
    .map_err(|e| e.to_string())?;
    decision.write_json(out).map_err(|e| e.to_string())
}

/// A message that quotes the user's words, bounded.
fn clean(message: &str) -> String {
    super::snippet::clean_message(message)
}

/// Parses one batch line. The error says what is wrong, with the field
/// path and the column, in one line of text.
pub fn parse_line(
    policy: &Policy,
    text: &str,
    now: Option<Timestamp>,
) -> Result<BatchLine, String> {
    if text.len() > MAX_LINE_BYTES {
        return Err(too_long());
    }
    // The usual layout, found without scanning the snapshot; anything it
    // does not prove valid is read again the careful way.
    if let Some((snapshot, role, action)) = crate::usual::layout(text) {
        if let Ok(account) = policy.snapshot("line", snapshot, Format::Json, now) {
            return Ok(BatchLine {
                account,
                role: role.to_owned(),
                action: action.to_owned(),
            });
        }
    }
    let members = members(text).map_err(|why| not_json(text, why))?;
    let mut snapshot = None;
    let mut role = None;
    let mut action = None;
    for (key, at, value) in members {
        let slot = match key.as_ref() {
            "snapshot" => {
                if snapshot.replace((at, value)).is_some() {
                    return Err("the line has two `snapshot` keys".to_owned());
                }
                continue;
            }
            "role" => &mut role,
            "action" => &mut action,
            _ => {
                return Err(format!(
                    "unknown key `{}`; a line has `snapshot`, `role` and `action`",
                    shown_name(&key)
                ));
            }
        };
        if !value.starts_with('"') {
            return Err(format!("`{key}` must be a string, found {}", kind(value)));
        }
        let value: String =
            serde_json::from_str(value).map_err(|e| not_json(text, e.to_string()))?;
        if slot.replace(value).is_some() {
            return Err(format!("the line has two `{key}` keys"));
        }
    }
    let (at, snapshot) = snapshot.ok_or("the line has no `snapshot`")?;
    let role = role.ok_or("the line has no `role`")?;
    let action = action.ok_or("the line has no `action`")?;
    let account = policy
        .snapshot("line", snapshot, Format::Json, now)
        .map_err(|e| {
            let parts: Vec<String> = e
                .diagnostics
                .items
                .iter()
                .map(|d| {
                    let column = at + d.span.start as usize + 1;
                    if d.code == Code::InvalidDocument {
                        let message = d
                            .message
                            .strip_prefix("the snapshot is not valid JSON: ")
                            .unwrap_or(&d.message);
                        format!("not valid JSON at column {column}: {}", clean(message))
                    } else {
                        format!("snapshot {} (column {column})", clean(&d.message))
                    }
                })
                .collect();
            let mut message = parts.join("; ");
            // As `SnapshotError::summary` says it: the errors past the
            // library's cap are counted, not listed.
            let omitted = e.diagnostics.omitted;
            if omitted > 0 {
                let s = if omitted == 1 { "" } else { "s" };
                message.push_str(&format!("; and {omitted} more error{s}, not listed"));
            }
            message
        })?;
    Ok(BatchLine {
        account,
        role,
        action,
    })
}

/// What kind of JSON value `value` starts as.
fn kind(value: &str) -> &'static str {
    match value.as_bytes().first() {
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

/// The message for a line that is not valid JSON, or not an object.
/// serde_json says where (it only reads lines that have failed already).
fn not_json(text: &str, why: String) -> String {
    let bom = bom_len(text);
    match serde_json::from_str::<serde::de::IgnoredAny>(text.get(bom..).unwrap_or(text)) {
        Err(e) => format!(
            "not valid JSON at column {}: {}",
            e.column() + bom,
            clean(&e.to_string())
        ),
        Ok(_) => format!("expected an object with `snapshot`, `role` and `action` ({why})"),
    }
}

/// Bytes that end a scan: quotes, escapes and brackets.
fn structural(c: u8) -> bool {
    matches!(c, b'"' | b'\\' | b'{' | b'}' | b'[' | b']')
}

/// A member of a line's object: its key, where its value starts, and the
/// value's text.
type Member<'a> = (std::borrow::Cow<'a, str>, usize, &'a str);

/// The members of the object a line holds: each key, where its value
/// starts, and the value's text. Values are only delimited here, not
/// checked: the snapshot's own parser checks it, with its spans. The scan
/// is a loop with a depth counter, not a recursion, so it is bounded by the
/// line's length however deep the value nests.
fn members(text: &str) -> Result<Vec<Member<'_>>, String> {
    let b = text.as_bytes();
    let mut i = skip_space(b, bom_len(text));
    if b.get(i) != Some(&b'{') {
        return Err("the line is not an object".to_owned());
    }
    i = skip_space(b, i + 1);
    let mut out = Vec::with_capacity(3);
    if b.get(i) == Some(&b'}') {
        return end(b, i + 1).map(|()| out);
    }
    loop {
        if b.get(i) != Some(&b'"') {
            return Err("expected a key".to_owned());
        }
        let key_end = string_end(b, i)?;
        let raw = text.get(i..key_end).unwrap_or("");
        let key = match raw.get(1..raw.len().saturating_sub(1)) {
            Some(k) if !k.contains('\\') => std::borrow::Cow::Borrowed(k),
            _ => std::borrow::Cow::Owned(
                serde_json::from_str::<String>(raw).map_err(|e| e.to_string())?,
            ),
        };
        i = skip_space(b, key_end);
        if b.get(i) != Some(&b':') {
            return Err("expected `:`".to_owned());
        }
        i = skip_space(b, i + 1);
        let value_end = value_end(b, i)?;
        out.push((key, i, text.get(i..value_end).unwrap_or("")));
        i = skip_space(b, value_end);
        match b.get(i) {
            Some(b',') => i = skip_space(b, i + 1),
            Some(b'}') => return end(b, i + 1).map(|()| out),
            _ => return Err("expected `,` or `}`".to_owned()),
        }
    }
}

/// Only white space may follow the object.
fn end(b: &[u8], i: usize) -> Result<(), String> {
    if skip_space(b, i) == b.len() {
        Ok(())
    } else {
        Err("text after the object".to_owned())
    }
}

/// Where the string starting at `i` (its opening quote) ends, past its
/// closing quote.
fn string_end(b: &[u8], i: usize) -> Result<usize, String> {
    let mut i = i + 1;
    loop {
        let rest = b.get(i..).unwrap_or(&[]);
        let Some(p) = rest.iter().position(|&c| c == b'"' || c == b'\\') else {
            return Err("a string is not closed".to_owned());
        };
        i += p;
        if b.get(i) == Some(&b'"') {
            return Ok(i + 1);
        }
        i += 2;
    }
}

/// Where the value starting at `i` ends.
fn value_end(b: &[u8], i: usize) -> Result<usize, String> {
    match b.get(i) {
        Some(b'"') => string_end(b, i),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut i = i;
            loop {
                while b.get(i).is_some_and(|&c| !structural(c)) {
                    i += 1;
                }
                match b.get(i) {
                    Some(b'"') => {
                        i = string_end(b, i)?;
                        continue;
                    }
                    Some(b'{' | b'[') => depth += 1,
                    Some(b'}' | b']') => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            return Ok(i + 1);
                        }
                    }
                    // A `\` outside a string: the parser will say so.
                    Some(_) => {}
                    None => return Err("a bracket is not closed".to_owned()),
                }
                i += 1;
            }
        }
        Some(_) => {
            let mut i = i;
            while b
                .get(i)
                .is_some_and(|c| !matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
            {
                i += 1;
            }
            Ok(i)
        }
        None => Err("expected a value".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn policy() -> Policy {
        Policy::from_file(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/policies/ampere.policy"
        ))
        .unwrap()
    }

    const SNAP: &str = r#"{"now":"2026-11-22T10:00:00Z"}"#;

    #[test]
    fn every_layout_decides_the_same_and_bad_lines_say_why() {
        let p = policy();
        for line in [
            format!(r#"{{"snapshot":{SNAP},"role":"owner","action":"run_tool"}}"#),
            format!(r#"{{"role":"owner","snapshot":{SNAP},"action":"run_tool"}}"#),
            format!(r#"{{"action":"run_tool","role":"own\u0065r","snapshot":{SNAP}}}"#),
        ] {
            let parsed = parse_line(&p, &line, None).unwrap();
            assert_eq!(
                (parsed.role.as_str(), parsed.action.as_str()),
                ("owner", "run_tool")
            );
        }
        let error = |line: &str| parse_line(&p, line, None).unwrap_err();
        assert!(error("{not json").starts_with("not valid JSON at column 2"));
        assert!(error("[1]").starts_with("expected an object"));
        assert!(
            error(&format!(r#"{{"snapshot":{SNAP},"role":1,"action":"a"}}"#))
                .contains("`role` must be a string, found a number")
        );
        assert!(error(&format!(r#"{{"snapshot":{SNAP},"x":1}}"#)).contains("unknown key `x`"));
        assert!(error(&format!(r#"{{"snapshot":{SNAP},"snapshot":{SNAP}}}"#)).contains("two"));
        assert_eq!(
            error(&format!(r#"{{"snapshot":{SNAP},"role":"r"}}"#)),
            "the line has no `action`"
        );
        let bad =
            error(r#"{"snapshot":{"now":"2026-11-22T10:00:00Z","x":1},"role":"r","action":"a"}"#);
        assert!(bad.starts_with("snapshot `x`"), "{bad}");
        assert!(bad.ends_with("(column 43)"), "{bad}");
        let bad = error(r#"{"snapshot":{"now":},"role":"r","action":"a"}"#);
        assert!(bad.starts_with("not valid JSON at column 20"), "{bad}");
    }
}
