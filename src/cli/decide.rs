//! `tollgate decide POLICY --snapshot S --role R --action A` and `--batch`.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use tollgate::snapshot::Format;
use tollgate::time::Timestamp;
use tollgate::{Account, Decision, Policy};

use super::load::{self, Loaded};
use super::{Exit, OutputFormat};

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["snapshot", "batch"])))]
pub struct DecideArgs {
    /// The policy file.
    policy: PathBuf,
    /// The account snapshot: a .json or .toml file, or `-` for JSON on
    /// standard input.
    #[arg(long, value_name = "FILE", requires_all = ["role", "action"])]
    snapshot: Option<PathBuf>,
    /// The role making the request.
    #[arg(long)]
    role: Option<String>,
    /// The action requested.
    #[arg(long)]
    action: Option<String>,
    /// Decide every line of a JSONL file: `{"snapshot": {...}, "role": "...", "action": "..."}`.
    #[arg(long, value_name = "FILE.jsonl", conflicts_with_all = ["snapshot", "role", "action"])]
    batch: Option<PathBuf>,
    /// Add the trace: every rule evaluated, whether it fired, what it read.
    #[arg(long)]
    explain: bool,
    /// Decide as of this instant instead of the snapshot's `now` (RFC 3339).
    #[arg(long, value_name = "TIME", value_parser = parse_now)]
    now: Option<Timestamp>,
    /// JSON for programs (the default), or a reading for people.
    #[arg(long, value_enum, default_value_t = OutputFormat::Json)]
    format: OutputFormat,
}

fn parse_now(text: &str) -> Result<Timestamp, String> {
    Timestamp::parse(text).map_err(|why| format!("`{text}` is not a timestamp: {why}"))
}

pub fn run(args: &DecideArgs) -> Exit {
    let policy = match load::policy(&args.policy) {
        Loaded::Ok(p) => p,
        Loaded::Failed(exit) => return exit,
    };
    if let Some(batch) = &args.batch {
        return batch_run(&policy, batch, args);
    }
    let (Some(snapshot), Some(role), Some(action)) = (&args.snapshot, &args.role, &args.action)
    else {
        load::usage("`--snapshot`, `--role` and `--action` go together");
        return Exit::BadInput;
    };
    let request = match policy.request(role, action) {
        Ok(r) => r,
        Err(e) => {
            load::error(&e.to_string());
            return Exit::BadInput;
        }
    };
    let account = match load::account(&policy, snapshot, args.now) {
        Ok(a) => a,
        Err(exit) => return exit,
    };
    let decision = if args.explain {
        policy.decide_explained(&account, &request)
    } else {
        policy.decide(&account, &request)
    };
    let decision = match decision {
        Ok(d) => d,
        Err(e) => {
            load::error(&format!("{e} for `{}`", snapshot.display()));
            return Exit::BadInput;
        }
    };
    match print(&decision, args.format, true) {
        Ok(()) => Exit::Ok,
        Err(message) => {
            load::error(&message);
            Exit::BadInput
        }
    }
}

fn print(decision: &Decision<'_>, format: OutputFormat, pretty: bool) -> Result<(), String> {
    let text = match format {
        OutputFormat::Json if pretty => decision.to_json_pretty(),
        OutputFormat::Json => decision.to_json(),
        OutputFormat::Human => decision.explain(),
    }
    .map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    let ends_in_newline = text.ends_with('\n');
    let result = if ends_in_newline {
        write!(out, "{text}")
    } else {
        writeln!(out, "{text}")
    };
    result.map_err(|e| format!("cannot write the decision: {e}"))
}

/// Lines decided per unit of work handed to a thread.
const CHUNK_LINES: usize = 1024;

/// Decides each line in order; a bad line prints `{"line": N, "error": ...}`
/// in its place and makes the run exit 2 at the end.
///
/// One thread reads chunks of lines, one worker per core decides them, and
/// this thread writes the results back in input order. A fixed number of
/// chunks is in flight at once, so memory stays bounded however large the
/// input is.
fn batch_run(policy: &Policy, path: &Path, args: &DecideArgs) -> Exit {
    let reader: Box<dyn BufRead + Send> = if path == Path::new("-") {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        match std::fs::File::open(path) {
            Ok(f) => Box::new(std::io::BufReader::with_capacity(1 << 16, f)),
            Err(e) => {
                load::error(&super::render::describe_io(path, &e));
                return Exit::BadInput;
            }
        }
    };
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .max(1);
    let in_flight = workers * 4;
    let (work_tx, work_rx) = std::sync::mpsc::sync_channel::<(usize, Chunk)>(in_flight);
    let work_rx = std::sync::Mutex::new(work_rx);
    let (done_tx, done_rx) = std::sync::mpsc::channel::<(usize, Vec<u8>, bool)>();
    // Tokens bound the chunks anywhere between reading and writing.
    let (token_tx, token_rx) = std::sync::mpsc::sync_channel::<()>(in_flight);
    for _ in 0..in_flight {
        let _ = token_tx.send(());
    }
    let mut exit = Exit::Ok;
    std::thread::scope(|scope| {
        let path_name = path.display().to_string();
        let read_error = scope.spawn(move || read_chunks(reader, &work_tx, &token_rx, &path_name));
        for _ in 0..workers {
            let (work_rx, done_tx) = (&work_rx, done_tx.clone());
            scope.spawn(move || {
                loop {
                    let next = match work_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    let Ok((index, chunk)) = next else {
                        return;
                    };
                    let mut out = Vec::with_capacity(chunk.bytes.len());
                    let mut failed = false;
                    for (number, range) in chunk.lines {
                        let line = chunk.bytes.get(range).unwrap_or(&[]);
                        let start = out.len();
                        let decided = std::str::from_utf8(line)
                            .map_err(|_| "the line is not UTF-8 text".to_owned())
                            .and_then(|line| decide_line(policy, line, args, &mut out));
                        if let Err(error) = decided {
                            failed = true;
                            out.truncate(start);
                            let error = serde_json::json!({ "line": number, "error": error });
                            out.extend_from_slice(error.to_string().as_bytes());
                        }
                        out.push(b'\n');
                    }
                    if done_tx.send((index, out, failed)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        let mut stdout = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
        let mut pending = std::collections::BTreeMap::new();
        let mut next = 0;
        for (index, text, failed) in done_rx.iter() {
            pending.insert(index, (text, failed));
            while let Some((text, failed)) = pending.remove(&next) {
                if failed {
                    exit = Exit::BadInput;
                }
                if stdout.write_all(&text).is_err() {
                    exit = Exit::BadInput;
                }
                next += 1;
                let _ = token_tx.send(());
            }
        }
        if stdout.flush().is_err() {
            exit = Exit::BadInput;
        }
        match read_error.join() {
            Ok(Some(message)) => {
                load::error(&message);
                exit = Exit::BadInput;
            }
            Ok(None) => {}
            Err(_) => exit = Exit::BadInput,
        }
    });
    exit
}

/// A chunk of input: its lines in one buffer, so a chunk costs one
/// allocation (freed by the worker) however many lines it holds. Lines are
/// bytes until a worker checks that they are UTF-8, so a line that is not
/// is one bad line, not the end of the run.
struct Chunk {
    bytes: Vec<u8>,
    /// Each line's number in the input and its range in `bytes`.
    lines: Vec<(usize, std::ops::Range<usize>)>,
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
        while chunk.lines.len() < CHUNK_LINES {
            let start = chunk.bytes.len();
            match reader.read_until(b'\n', &mut chunk.bytes) {
                Ok(0) => break,
                Ok(_) => {
                    number += 1;
                    let line = chunk.bytes.get(start..).unwrap_or(&[]);
                    let content = line.strip_suffix(b"\n").unwrap_or(line);
                    let content = content.strip_suffix(b"\r").unwrap_or(content).len();
                    if line.trim_ascii().is_empty() {
                        chunk.bytes.truncate(start);
                    } else {
                        chunk.lines.push((number, start..start + content));
                    }
                }
                Err(e) => return Some(format!("cannot read line {} of `{name}`: {e}", number + 1)),
            }
        }
        if chunk.lines.is_empty() {
            return None;
        }
        capacity = chunk.bytes.len().next_power_of_two();
        if work.send((index, chunk)).is_err() {
            return None;
        }
        index += 1;
    }
}

/// Decides one line and appends its decision JSON to `out`.
fn decide_line(
    policy: &Policy,
    line: &str,
    args: &DecideArgs,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let parsed = tollgate::snapshot::parse_batch_line(policy.program(), line, args.now)?;
    let request = policy
        .request(&parsed.role, &parsed.action)
        .map_err(|e| e.to_string())?;
    let account: Account = parsed.account;
    let decision = if args.explain {
        policy.decide_explained(&account, &request)
    } else {
        policy.decide(&account, &request)
    }
    .map_err(|e| e.to_string())?;
    decision.write_json(out).map_err(|e| e.to_string())
}

/// The snapshot format of a path (`-` is JSON).
pub fn format_of(path: &Path) -> Format {
    Format::from_name(&path.to_string_lossy())
}
