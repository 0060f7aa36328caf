//! The decision server (`tollgate serve`, the `serve` feature): server.md's contract over HTTP.
//!
//! The command line loads and checks the policies and prints their
//! diagnostics; this module serves policies that already compiled. Each
//! request is decided by the library exactly as the command line decides it,
//! so a decision's bytes are the command line's, plus `decision_id` and
//! `policy_revision`.

mod body;
pub mod catalog;
mod describe;
pub mod log;
mod logsafe;
mod metrics;
mod page;
pub mod playground;
mod problem;
mod refusals;
mod routes;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::Policy;

/// The limits of server.md, with its defaults.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest request body, in bytes.
    pub body_bytes: usize,
    /// Most items in one batch.
    pub batch_items: usize,
    /// Longest time one request may take.
    pub request_time: Duration,
    /// Most requests in flight; more are refused with 503 and `Retry-After`.
    pub in_flight: usize,
    /// Longest time to read a request's headers.
    pub header_read_time: Duration,
    /// How often the sources are read again for changes.
    pub poll_interval: Duration,
    /// Whether file system change events start a reload too (the poll
    /// runs regardless).
    pub watch: bool,
    /// Whether the playground is served: the page at `/`,
    /// `POST /v1/playground/evaluate` and `GET /v1/playground/examples`
    /// (`--no-playground` turns them off).
    pub playground: bool,
}

/// Most requests in flight `limits.in_flight` may allow. The limit is a
/// semaphore's permits (tokio refuses, with a panic, more than 2^61), and
/// each request in flight may hold a body: a million is far past what one
/// process answers at once.
pub const MAX_IN_FLIGHT: usize = 1_000_000;

/// Largest request body `limits.body_bytes` may allow: 1 GiB. A body is
/// held whole while it is parsed, by every request in flight.
pub const MAX_BODY_BYTES: usize = 1 << 30;

/// Most items `limits.batch_items` may allow in one batch. A batch's
/// answer is about 1.5 KB a decision, held whole: 150 MB at this bound.
pub const MAX_BATCH_ITEMS: usize = 100_000;

/// Shortest time `request_time`, `header_read_time` and `poll_interval`
/// may be (a zero poll interval would spin; tokio panics on it).
pub const MIN_LIMIT_TIME: Duration = Duration::from_secs(1);

/// Longest time `request_time`, `header_read_time` and `poll_interval` may
/// be: a day. Shutdown waits up to `request_time` for the requests in
/// flight, and the timers add these to the clock.
pub const MAX_LIMIT_TIME: Duration = Duration::from_secs(86_400);

impl Limits {
    /// Whether every limit is within its bounds ([`MAX_IN_FLIGHT`] and the
    /// rest); the error names the first that is not, as its key in the
    /// `[limits]` table of `--config`.
    pub fn check(&self) -> Result<(), String> {
        let counts = [
            ("in_flight", self.in_flight, MAX_IN_FLIGHT),
            ("body_bytes", self.body_bytes, MAX_BODY_BYTES),
            ("batch_items", self.batch_items, MAX_BATCH_ITEMS),
        ];
        for (key, value, max) in counts {
            if !(1..=max).contains(&value) {
                return Err(format!(
                    "`limits.{key}` is {value}; it must be at least 1 and at most {max}"
                ));
            }
        }
        let times = [
            ("request_time", self.request_time),
            ("header_read_time", self.header_read_time),
            ("poll_interval", self.poll_interval),
        ];
        for (key, value) in times {
            if !(MIN_LIMIT_TIME..=MAX_LIMIT_TIME).contains(&value) {
                return Err(format!(
                    "`limits.{key}` is {} s; it must be at least {} s and at most {} s (`{}h`)",
                    value.as_secs_f64(),
                    MIN_LIMIT_TIME.as_secs(),
                    MAX_LIMIT_TIME.as_secs(),
                    MAX_LIMIT_TIME.as_secs() / 3_600
                ));
            }
        }
        Ok(())
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            body_bytes: 1 << 20,
            batch_items: 1_000,
            request_time: Duration::from_secs(5),
            in_flight: 1_024,
            header_read_time: Duration::from_secs(10),
            poll_interval: Duration::from_secs(1),
            watch: true,
            playground: true,
        }
    }
}

/// A compiled policy as the server holds it.
#[derive(Clone, Debug)]
pub struct Served {
    /// The compiled policy.
    pub policy: Policy,
    /// SHA-256 of the policy text, hex.
    pub revision: String,
    /// Where the policy was read from.
    pub source: String,
    /// When it was loaded (RFC 3339, the server's clock).
    pub loaded_at: String,
    /// Its decision counters, resolved on its first decision.
    outcomes: OnceLock<metrics::Outcomes>,
}

impl Served {
    /// A policy compiled from `text`, read from `source` now.
    pub fn new(policy: Policy, text: &[u8], source: String) -> Served {
        Served {
            policy,
            revision: revision(text),
            source,
            loaded_at: now_rfc3339(),
            outcomes: OnceLock::new(),
        }
    }

    /// The counters of this policy's decisions.
    fn outcomes(&self, metrics: &metrics::Metrics) -> &metrics::Outcomes {
        self.outcomes
            .get_or_init(|| metrics.outcomes(self.policy.name()))
    }
}

/// The revision of a policy text: SHA-256, hex.
pub fn revision(text: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(text);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn now_rfc3339() -> String {
    clock(false)
}

/// The server's clock as RFC 3339, to the second or to the microsecond.
fn clock(micros: bool) -> String {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let seconds = i64::try_from(since.as_secs()).unwrap_or(0);
    let nanos = if micros {
        since.subsec_micros() * 1_000
    } else {
        0
    };
    crate::Timestamp::from_unix(seconds, nanos).map_or_else(String::new, |t| t.to_string())
}

/// What the handlers share: the policies, swapped whole on a reload, and
/// the limits.
pub(crate) struct State {
    pub catalog: Arc<arc_swap::ArcSwap<catalog::Catalog>>,
    pub roots: Vec<PathBuf>,
    pub limits: Limits,
    /// The decision log, when one is kept.
    pub log: Option<log::DecisionLog>,
    pub metrics: metrics::Metrics,
    /// Refused requests, told in the log once per class and window.
    pub refusals: refusals::Refusals,
    /// Set on SIGTERM or SIGINT: readiness fails and new requests are
    /// answered 503 while those in flight finish.
    pub shutting_down: AtomicBool,
    /// Playground evaluations running; more are refused, not queued.
    pub playground_slots: Arc<tokio::sync::Semaphore>,
    /// Batches being read or decided ([`batch_slots`]); more wait, holding
    /// nothing but their connection.
    pub batch_slots: Arc<tokio::sync::Semaphore>,
    /// One reload at a time: the poll, SIGHUP and `POST /v1/reload` queue.
    reloading: tokio::sync::Mutex<()>,
}

impl State {
    /// Reads every source again now and swaps in the result; returns the
    /// catalog now served.
    pub async fn reload(self: &Arc<State>, look: catalog::Look) -> Arc<catalog::Catalog> {
        let _one = self.reloading.lock().await;
        let state = Arc::clone(self);
        let reloaded = tokio::task::spawn_blocking(move || {
            let current = state.catalog.load_full();
            let (next, changes) = current.reload(&state.roots, look);
            // One line per change, never one per poll.
            for change in changes {
                let source = change.source.display().to_string();
                let policy = change.policy.as_deref().unwrap_or(&source);
                state.metrics.reloaded(policy, change.result);
                // A file's name is anyone's who can write the directory.
                let shown = logsafe::escaped(&source);
                let named = change.policy.as_deref().map(logsafe::escaped);
                let message = logsafe::escaped(&change.message);
                match change.result {
                    catalog::ReloadResult::Failure => tracing::warn!(
                        source = %shown,
                        policy = named.as_deref(),
                        result = change.result.as_str(),
                        "reload: {message}"
                    ),
                    _ => tracing::info!(
                        source = %shown,
                        policy = named.as_deref(),
                        result = change.result.as_str(),
                        "reload: {message}"
                    ),
                }
            }
            let next = Arc::new(next);
            state.catalog.store(Arc::clone(&next));
            next
        })
        .await;
        reloaded.unwrap_or_else(|_| self.catalog.load_full())
    }
}

/// How many batches are read and decided at once: two per core, so that
/// one batch's body arrives while another is decided. A batch holds up to
/// a 1 MiB body and its answer (about 1.5 KB per decision), so this bounds
/// what batches hold, whatever the number of clients: 2,000 connections
/// sending batches once took a gigabyte and 500 threads.
pub fn batch_slots() -> usize {
    2 * std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
}

/// The most threads the blocking pool runs at once: a thread for each
/// batch slot and each playground evaluation, one for a reload, and one
/// for single decisions whose body is too large to decide inline (more of
/// those wait their turn). The slots bound how much work runs; this bounds
/// the threads it runs on. tokio's default is 512, and a thread finishing
/// one batch as the next arrives is not always reused: 48 clients sending
/// batches to a 2-core server ran 7 blocking threads for 4 slots.
pub fn blocking_threads() -> usize {
    batch_slots() + playground::MAX_AT_ONCE + 2
}

/// A server bound to its address, not yet serving.
pub struct Server {
    runtime: tokio::runtime::Runtime,
    listener: tokio::net::TcpListener,
    state: Arc<State>,
    signals: Signals,
    events: Events,
}

/// The signals the server answers, caught from the moment it is bound: a
/// signal sent as soon as the address is printed must not kill it.
struct Signals {
    #[cfg(unix)]
    stop: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
    #[cfg(unix)]
    hangup: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    /// Must run inside the runtime.
    fn catch() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let stop = signal(SignalKind::terminate())
                .and_then(|term| Ok((term, signal(SignalKind::interrupt())?)))
                .ok();
            Signals {
                stop,
                hangup: signal(SignalKind::hangup()).ok(),
            }
        }
        #[cfg(not(unix))]
        Signals {}
    }
}

impl Server {
    /// Binds `addr` to serve the policies loaded from `roots` (files or
    /// directories), which are watched for changes.
    pub fn bind(
        addr: &str,
        roots: Vec<PathBuf>,
        loaded: Vec<(PathBuf, Served)>,
        limits: Limits,
        log: Option<log::DecisionLog>,
    ) -> std::io::Result<Server> {
        // Past their bounds, limits reach tokio (which panics on some) and
        // timers; the command line checks them first, with the key named.
        limits.check().map_err(std::io::Error::other)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .max_blocking_threads(blocking_threads())
            .enable_all()
            .build()?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind(addr))?;
        let catalog = Arc::new(arc_swap::ArcSwap::from_pointee(catalog::Catalog::new(
            loaded,
        )));
        let metrics = metrics::Metrics::new(
            Arc::clone(&catalog),
            log.as_ref().map(log::DecisionLog::dropped_counter),
        );
        let signals = {
            let _inside = runtime.enter();
            Signals::catch()
        };
        let events = Events::watch(&roots, limits.watch);
        Ok(Server {
            signals,
            events,
            runtime,
            listener,
            state: Arc::new(State {
                catalog,
                roots,
                limits,
                log,
                metrics,
                refusals: refusals::Refusals::default(),
                shutting_down: AtomicBool::new(false),
                playground_slots: Arc::new(tokio::sync::Semaphore::new(playground::MAX_AT_ONCE)),
                batch_slots: Arc::new(tokio::sync::Semaphore::new(batch_slots())),
                reloading: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// How many policies it serves.
    pub fn policy_count(&self) -> usize {
        self.state.catalog.load().sources.len()
    }

    /// The address the server listens on (the port chosen, when it was 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until SIGTERM or SIGINT, then stops accepting, answers every
    /// request in flight (up to the request time limit) and returns.
    pub fn run(self) -> std::io::Result<()> {
        let Server {
            runtime,
            listener,
            state,
            signals,
            events,
        } = self;
        #[cfg(unix)]
        let (stop, hangup) = (signals.stop, signals.hangup);
        #[cfg(not(unix))]
        let (stop, hangup) = {
            let _ = signals;
            (None::<()>, None::<()>)
        };
        runtime.spawn(watch(Arc::clone(&state), hangup, events));
        runtime.spawn(refusals::report(Arc::clone(&state)));
        let served = runtime.block_on(serve(listener, Arc::clone(&state), stop));
        state.refusals.close_window();
        // Every request has been answered (or has run out of time): write
        // what the log still holds before exiting.
        if let Some(log) = &state.log {
            log.close();
        }
        served
    }
}

/// Reloads every `poll_interval`, at once on a change event, and at once
/// on SIGHUP. A poll or an event reads the sources whose metadata changed
/// (a replace by rename and a ConfigMap's symlink swap change the inode),
/// and compares the hash of their text with the revision served, so an
/// unchanged text is not compiled again; SIGHUP and every sixtieth poll
/// read every source whatever its metadata says.
async fn watch(state: Arc<State>, mut hangup: Option<HangupSignal>, events: Events) {
    // Change events start a reload at once; the poll below still runs.
    let Events {
        watcher: _watcher,
        mut changed,
    } = events;
    let mut changed_open = true;
    let mut tick = tokio::time::interval(state.limits.poll_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    let mut polls: u64 = 0;
    loop {
        let mut look = catalog::Look::Changed;
        let mut poll = || {
            polls += 1;
            if polls % catalog::FULL_RELOAD_EVERY == 0 {
                catalog::Look::Everything
            } else {
                catalog::Look::Changed
            }
        };
        #[cfg(unix)]
        {
            let hup = async {
                match hangup.as_mut() {
                    Some(h) => {
                        h.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let event = async {
                if !changed_open || changed.recv().await.is_none() {
                    changed_open = false;
                    std::future::pending::<()>().await;
                }
                // Let a burst of events (an editor's save) settle.
                tokio::time::sleep(Duration::from_millis(50)).await;
                while changed.try_recv().is_ok() {}
            };
            tokio::select! {
                _ = tick.tick() => look = poll(),
                () = hup => look = catalog::Look::Everything,
                () = event => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = (&mut hangup, &mut changed, &mut changed_open);
            tick.tick().await;
            look = poll();
        }
        state.reload(look).await;
    }
}

/// Change events, watched from the moment the server is bound: an edit
/// made as soon as the address is printed must not be missed.
struct Events {
    watcher: Option<notify::RecommendedWatcher>,
    changed: tokio::sync::mpsc::Receiver<()>,
}

impl Events {
    fn watch(roots: &[PathBuf], on: bool) -> Events {
        let (tx, changed) = tokio::sync::mpsc::channel::<()>(1);
        Events {
            watcher: if on { watcher(roots, tx) } else { None },
            changed,
        }
    }
}

/// Watches every root (a file's directory, so that a replace by rename
/// is seen) and sends on `changed` for any event. `None` when watching is
/// not possible here: the poll alone then finds changes.
fn watcher(
    roots: &[PathBuf],
    changed: tokio::sync::mpsc::Sender<()>,
) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    let mut watcher = notify::recommended_watcher(move |_: notify::Result<notify::Event>| {
        // Full means a reload is already due.
        let _ = changed.try_send(());
    })
    .ok()?;
    for root in roots {
        let dir = if root.is_dir() {
            root.clone()
        } else {
            match root.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            }
        };
        if let Err(e) = watcher.watch(&dir, notify::RecursiveMode::NonRecursive) {
            let shown = logsafe::escaped_path(&dir);
            tracing::warn!(
                dir = %shown,
                "cannot watch `{shown}` ({e}); changes are found by polling"
            );
        }
    }
    Some(watcher)
}

#[cfg(unix)]
type HangupSignal = tokio::signal::unix::Signal;
#[cfg(not(unix))]
type HangupSignal = ();
#[cfg(unix)]
type StopSignals = (tokio::signal::unix::Signal, tokio::signal::unix::Signal);
#[cfg(not(unix))]
type StopSignals = ();

async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<State>,
    stop: Option<StopSignals>,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::service::TowerToHyperService;

    let limits = state.limits;
    let state_of_shutdown = Arc::clone(&state);
    let app = routes::router(state);
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_time);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let stop = shutdown_signal(stop);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(_) => {
                        // Out of file descriptors or a connection reset
                        // before it was accepted: wait, do not spin.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let service = TowerToHyperService::new(app.clone());
                let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                let conn = graceful.watch(conn.into_owned());
                tokio::spawn(async move {
                    // A client that goes away mid-request is its own business.
                    let _ = conn.await;
                });
            }
            () = &mut stop => break,
        }
    }
    drop(listener);
    state_of_shutdown
        .shutting_down
        .store(true, Ordering::SeqCst);
    tracing::info!("shutting down: no new connections; answering the requests in flight");
    // Requests in flight finish, each within the request time limit; idle
    // keep-alive connections are closed at once.
    let deadline = limits.request_time + Duration::from_secs(1);
    let _ = tokio::time::timeout(deadline, graceful.shutdown()).await;
    Ok(())
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
async fn shutdown_signal(stop: Option<StopSignals>) {
    #[cfg(unix)]
    match stop {
        Some((mut term, mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        // No signal handling: serve until killed.
        None => std::future::pending::<()>().await,
    }
    #[cfg(not(unix))]
    {
        let _ = stop;
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
