//! The decision log: one JSON line per decision, written by its own thread
//! from a bounded queue. A full queue drops events and counts them; it
//! never slows a decision down or grows without bound. Closing writes
//! every queued event.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, RwLock};

/// Events the queue holds before new ones are dropped.
pub const QUEUE_EVENTS: usize = 65_536;

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
        let out: Box<dyn Write + Send> = match target {
            Target::Stdout => Box::new(std::io::stdout()),
            Target::File(path) => Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?,
            ),
        };
        let (tx, rx) = std::sync::mpsc::sync_channel(QUEUE_EVENTS);
        let writer = std::thread::Builder::new()
            .name("decision-log".into())
            .spawn(move || write_all(rx, out))?;
        Ok(DecisionLog {
            queue: RwLock::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
            dropped: Arc::new(AtomicU64::new(0)),
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

/// Writes events as they come, flushing whenever the queue is empty, until
/// every sender is gone and the queue drained. A failed write drops the
/// event: the log must not stop the server.
fn write_all(rx: Receiver<String>, out: Box<dyn Write + Send>) {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
    while let Ok(event) = rx.recv() {
        let _ = out.write_all(event.as_bytes());
        let _ = out.write_all(b"\n");
        while let Ok(event) = rx.try_recv() {
            let _ = out.write_all(event.as_bytes());
            let _ = out.write_all(b"\n");
        }
        let _ = out.flush();
    }
    let _ = out.flush();
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
}
