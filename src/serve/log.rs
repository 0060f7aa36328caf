//! The decision log: one JSON line per decision, written by its own thread
//! from a bounded queue. A full queue drops events and counts them; it
//! never slows a decision down or grows without bound. A write that fails
//! (a full disk, a closed pipe) loses its events: they are counted with
//! the dropped ones and told in the operational log, at most once every
//! [`WARN_EVERY`]. Closing writes every queued event.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// Events the queue holds before new ones are dropped.
pub const QUEUE_EVENTS: usize = 65_536;

/// How often, at most, the operational log tells that writes to the
/// decision log fail: the first failure at once, then what was lost since,
/// once a window. A full disk fails every write; one line per event would
/// flood the operational log as well.
pub const WARN_EVERY: Duration = Duration::from_secs(10);

/// The most bytes of queued events given to one write.
const WRITE_BYTES: usize = 1 << 16;

/// Where the log goes.
#[derive(Clone, Debug)]
pub enum Target {
    /// Standard output (`--decision-log -`).
    Stdout,
    /// A file, appended to (created if missing).
    File(std::path::PathBuf),
}

/// The decision log's writing end.
#[derive(Debug)]
pub struct DecisionLog {
    /// Read-locked by every decision (sending is `&self`), write-locked
    /// once, to close: decisions on different threads never wait on each
    /// other here.
    queue: RwLock<Option<SyncSender<String>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    dropped: Arc<AtomicU64>,
    /// Whether events carry the snapshot (`--decision-log-snapshots`).
    pub snapshots: bool,
}

impl DecisionLog {
    /// Opens the target and starts the writer.
    pub fn open(target: &Target, snapshots: bool) -> std::io::Result<DecisionLog> {
        let (out, name): (Box<dyn Write + Send>, String) = match target {
            Target::Stdout => (Box::new(std::io::stdout()), "standard output".to_owned()),
            Target::File(path) => (
                Box::new(
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)?,
                ),
                format!("`{}`", super::logsafe::escaped_path(path)),
            ),
        };
        DecisionLog::start(out, name, snapshots)
    }

    /// Starts the writer on `out`, which the operational log calls `name`.
    fn start(
        out: Box<dyn Write + Send>,
        name: String,
        snapshots: bool,
    ) -> std::io::Result<DecisionLog> {
        let (tx, rx) = std::sync::mpsc::sync_channel(QUEUE_EVENTS);
        let dropped = Arc::new(AtomicU64::new(0));
        let failures = Failures {
            name,
            dropped: Arc::clone(&dropped),
            untold: 0,
            error: String::new(),
            told_at: None,
        };
        let writer = std::thread::Builder::new()
            .name("decision-log".into())
            .spawn(move || write_all(&rx, out, failures))?;
        Ok(DecisionLog {
            queue: RwLock::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
            dropped,
            snapshots,
        })
    }

    /// Queues one event (a JSON object on one line); drops it, counted,
    /// when the queue is full or the log is closed.
    pub fn record(&self, event: String) {
        let sent = match self.queue.read() {
            Ok(queue) => match queue.as_ref() {
                Some(tx) => tx.try_send(event),
                None => Err(TrySendError::Disconnected(event)),
            },
            Err(_) => Err(TrySendError::Disconnected(event)),
        };
        if sent.is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The count of dropped events, for the metrics.
    pub fn dropped_counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.dropped)
    }

    /// Events dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Stops taking events and waits until every queued one is written.
    pub fn close(&self) {
        if let Ok(mut queue) = self.queue.write() {
            queue.take();
        }
        let writer = self.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(writer) = writer {
            let _ = writer.join();
        }
    }
}

/// Writes events as they come, as many as are queued (up to
/// [`WRITE_BYTES`]) in one write, until every sender is gone and the queue
/// drained. A failed write loses its events, counted and told
/// ([`Failures`]): the log must not stop the server.
fn write_all(rx: &Receiver<String>, mut out: Box<dyn Write + Send>, mut failures: Failures) {
    let mut lines = Lines::default();
    loop {
        // Waking once a window tells what the last failures lost, even
        // when no event follows them.
        let event = match rx.recv_timeout(WARN_EVERY) {
            Ok(event) => event,
            Err(RecvTimeoutError::Timeout) => {
                failures.tell_when_due();
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        lines.push(&event);
        while lines.bytes.len() < WRITE_BYTES {
            match rx.try_recv() {
                Ok(event) => lines.push(&event),
                Err(_) => break,
            }
        }
        if let Err((lost, e)) = lines.write(&mut out) {
            failures.lost(lost, &e);
        }
    }
    failures.tell();
}

/// Events gathered for one write, one line each.
#[derive(Default)]
struct Lines {
    bytes: Vec<u8>,
    /// Where each event's line ends in `bytes`.
    ends: Vec<usize>,
    /// Whether the last failed write stopped inside a line: the next
    /// write starts a new line, so that the event after it is whole.
    torn: bool,
}

impl Lines {
    fn push(&mut self, event: &str) {
        if self.bytes.is_empty() && self.torn {
            self.bytes.push(b'\n');
        }
        self.bytes.extend_from_slice(event.as_bytes());
        self.bytes.push(b'\n');
        self.ends.push(self.bytes.len());
    }

    /// Writes and flushes every line, and empties the batch; on a failure,
    /// how many events were not written whole, and why.
    fn write(&mut self, out: &mut dyn Write) -> Result<(), (u64, std::io::Error)> {
        let mut written = 0;
        let failed = loop {
            let Some(rest) = self.bytes.get(written..).filter(|r| !r.is_empty()) else {
                break out.flush().err();
            };
            match out.write(rest) {
                Ok(0) => break Some(std::io::ErrorKind::WriteZero.into()),
                Ok(n) => written += n.min(rest.len()),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => break Some(e),
            }
        };
        if written > 0 {
            self.torn = self.bytes.get(written - 1) != Some(&b'\n');
        }
        let lost = self.ends.iter().filter(|end| **end > written).count();
        self.bytes.clear();
        self.ends.clear();
        match failed {
            None => Ok(()),
            Some(e) => Err((u64::try_from(lost).unwrap_or(u64::MAX), e)),
        }
    }
}

/// The decision log's failed writes: what they lost is counted with the
/// dropped events at once, and told in the operational log at most once
/// every [`WARN_EVERY`].
struct Failures {
    /// The log's target, as the operational log names it.
    name: String,
    dropped: Arc<AtomicU64>,
    /// Events lost since the last line told.
    untold: u64,
    /// The last failure's error.
    error: String,
    told_at: Option<Instant>,
}

impl Failures {
    fn lost(&mut self, events: u64, e: &std::io::Error) {
        self.dropped.fetch_add(events, Ordering::Relaxed);
        self.untold += events;
        self.error = e.to_string();
        self.tell_when_due();
    }

    /// Tells what was lost, unless a line was told within the window.
    fn tell_when_due(&mut self) {
        if self.told_at.is_none_or(|at| at.elapsed() >= WARN_EVERY) {
            self.tell();
        }
    }

    /// Tells what was lost since the last line, if anything.
    fn tell(&mut self) {
        if self.untold == 0 {
            return;
        }
        tracing::warn!(
            lost = self.untold,
            "decision log: writing to {} failed ({}); {} event(s) lost, counted in \
             tollgate_decision_log_dropped_total (told at most once every {} s)",
            self.name,
            super::logsafe::escaped(&self.error),
            self.untold,
            WARN_EVERY.as_secs()
        );
        self.untold = 0;
        self.told_at = Some(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_writes_every_queued_event() {
        let dir = std::env::temp_dir().join(format!("tollgate-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("decisions.jsonl");
        let _ = std::fs::remove_file(&path);
        let log = DecisionLog::open(&Target::File(path.clone()), false).unwrap();
        for i in 0..1000 {
            log.record(format!("{{\"n\":{i}}}"));
        }
        log.close();
        log.record("{\"after\":true}".to_owned());
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 1000);
        assert_eq!(log.dropped(), 1);
    }

    /// Takes `room` bytes, then fails every write as a full disk does.
    struct Full {
        taken: Arc<Mutex<Vec<u8>>>,
        room: usize,
    }

    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let mut taken = self.taken.lock().unwrap();
            let n = buf.len().min(self.room - taken.len());
            if n == 0 {
                return Err(std::io::Error::from_raw_os_error(28));
            }
            taken.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_event_a_failed_write_loses_is_counted() {
        let taken = Arc::new(Mutex::new(Vec::new()));
        // Three lines of 8 bytes and one byte of the fourth.
        let out = Full {
            taken: Arc::clone(&taken),
            room: 25,
        };
        let log = DecisionLog::start(Box::new(out), "full".to_owned(), false).unwrap();
        for i in 0..10 {
            log.record(format!("{{\"n\":{i}}}"));
        }
        log.close();
        assert_eq!(log.dropped(), 7);
        let taken = taken.lock().unwrap();
        assert_eq!(&taken[..24], b"{\"n\":0}\n{\"n\":1}\n{\"n\":2}\n");
    }

    /// Takes `room` bytes, fails one write, then takes everything: a disk
    /// that filled up and was cleaned.
    struct Hiccup {
        taken: Arc<Mutex<Vec<u8>>>,
        room: usize,
        failed: bool,
    }

    impl Write for Hiccup {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let mut taken = self.taken.lock().unwrap();
            if taken.len() == self.room && !self.failed {
                self.failed = true;
                return Err(std::io::Error::from_raw_os_error(28));
            }
            let n = if self.failed {
                buf.len()
            } else {
                buf.len().min(self.room - taken.len())
            };
            taken.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_line_a_failed_write_cut_short_is_ended_before_the_next() {
        let taken = Arc::new(Mutex::new(Vec::new()));
        let out = Hiccup {
            taken: Arc::clone(&taken),
            room: 25,
            failed: false,
        };
        let log = DecisionLog::start(Box::new(out), "hiccup".to_owned(), false).unwrap();
        for i in 0..4 {
            log.record(format!("{{\"n\":{i}}}"));
        }
        for _ in 0..200 {
            if log.dropped() > 0 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        for i in 4..6 {
            log.record(format!("{{\"n\":{i}}}"));
        }
        log.close();
        assert_eq!(log.dropped(), 1);
        let taken = taken.lock().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&taken),
            "{\"n\":0}\n{\"n\":1}\n{\"n\":2}\n{\n{\"n\":4}\n{\"n\":5}\n"
        );
    }
}
