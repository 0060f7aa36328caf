//! `tollgate serve [PATH...] [--addr HOST:PORT]`: load and check every
//! policy, then hand them to the server.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::serve::catalog::{self, LoadError};
use crate::serve::log::{DecisionLog, Target};
use crate::serve::{Limits, Served, Server};

use super::Exit;

use super::files::{describe_io, shown, shown_name};
use super::load::{error, print_diagnostics};

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Policy files, or directories of `*.policy` files [default: policies]
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Where to listen [default: 127.0.0.1:8181]. The default is loopback
    /// only: the server listens on other interfaces only when told to.
    #[arg(long, value_name = "HOST:PORT")]
    addr: Option<String>,
    /// A TOML file with the settings the flags hold, plus `[limits]`; a
    /// flag beats the file.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Write one JSON line per decision to FILE (appended), or `-` for
    /// standard output.
    #[arg(long, value_name = "FILE|-")]
    decision_log: Option<PathBuf>,
    /// Put each decision's snapshot in its decision log line.
    #[arg(long)]
    decision_log_snapshots: bool,
    /// Do not serve the playground (`POST /v1/playground/evaluate`), which
    /// compiles policy text sent by anyone who can reach the server
    #[arg(long)]
    no_playground: bool,
    /// How the operational log on standard error is written [default: human]
    #[arg(long, value_enum, value_name = "FORMAT")]
    log_format: Option<LogFormat>,
    /// The least severe operational log lines written [default: info]
    #[arg(long, value_enum, value_name = "LEVEL")]
    log_level: Option<LogLevel>,
}

/// `--log-format`.
#[derive(clap::ValueEnum, serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum LogFormat {
    /// One line per event, for a person.
    Human,
    /// One JSON object per line, for a log pipeline.
    Json,
}

/// `--log-level`.
#[derive(clap::ValueEnum, serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum LogLevel {
    /// Failures only.
    Error,
    /// Refused reloads, overload, time-outs.
    Warn,
    /// Start, reloads, one line per class of refused request, shutdown.
    Info,
    /// Everything above and more detail.
    Debug,
}

/// The `--config` file. Every key is optional; an unknown one is an error.
#[derive(serde::Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    /// Policy files or directories, relative to the config file's directory.
    paths: Option<Vec<PathBuf>>,
    addr: Option<String>,
    /// Relative to the config file's directory; `-` is standard output.
    decision_log: Option<PathBuf>,
    decision_log_snapshots: Option<bool>,
    log_format: Option<LogFormat>,
    log_level: Option<LogLevel>,
    /// Whether the playground is served (default true).
    playground: Option<bool>,
    /// Whether file system change events start a reload (default true);
    /// the poll runs regardless.
    watch: Option<bool>,
    #[serde(default)]
    limits: LimitsFile,
}

#[derive(serde::Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct LimitsFile {
    body_bytes: Option<usize>,
    batch_items: Option<usize>,
    in_flight: Option<usize>,
    /// A duration: `5s`, `2m`.
    request_time: Option<String>,
    header_read_time: Option<String>,
    /// How often the sources are read again for changes.
    poll_interval: Option<String>,
}

/// The settings a run serves with: the flags, then the file, then the
/// defaults.
struct Settings {
    paths: Vec<PathBuf>,
    addr: String,
    limits: Limits,
    decision_log: Option<Target>,
    decision_log_snapshots: bool,
    log_format: LogFormat,
    log_level: LogLevel,
}

fn settings(args: &ServeArgs) -> Result<Settings, String> {
    let (file, base) = match &args.config {
        None => (ConfigFile::default(), PathBuf::new()),
        Some(path) => {
            let text = super::files::read_text_capped(path, 1 << 20)?;
            let file: ConfigFile = toml::from_str(&text)
                .map_err(|e| format!("`{}`: {}", shown(path), e.to_string().trim_end()))?;
            let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
            (file, base)
        }
    };
    let paths = if !args.paths.is_empty() {
        args.paths.clone()
    } else if let Some(paths) = file.paths {
        paths.iter().map(|p| base.join(p)).collect()
    } else {
        vec![PathBuf::from("policies")]
    };
    let addr = args
        .addr
        .clone()
        .or(file.addr)
        .unwrap_or_else(|| "127.0.0.1:8181".to_owned());
    let defaults = Limits::default();
    let l = file.limits;
    let count = |value: Option<usize>, key: &str, default: usize| match value {
        Some(0) => Err(format!("`limits.{key}` must be at least 1")),
        Some(n) => Ok(n),
        None => Ok(default),
    };
    let time = |value: Option<String>, key: &str, default: Duration| match value {
        None => Ok(default),
        Some(text) => match crate::time::parse_duration(&text) {
            Some(seconds @ 1..) => Ok(Duration::from_secs(seconds.unsigned_abs())),
            _ => Err(format!(
                "`limits.{key}`: `{}` is not a duration of at least one second, such as `5s` or `2m`",
                shown_name(&text)
            )),
        },
    };
    let limits = Limits {
        body_bytes: count(l.body_bytes, "body_bytes", defaults.body_bytes)?,
        batch_items: count(l.batch_items, "batch_items", defaults.batch_items)?,
        in_flight: count(l.in_flight, "in_flight", defaults.in_flight)?,
        request_time: time(l.request_time, "request_time", defaults.request_time)?,
        header_read_time: time(
            l.header_read_time,
            "header_read_time",
            defaults.header_read_time,
        )?,
        poll_interval: time(l.poll_interval, "poll_interval", defaults.poll_interval)?,
        watch: file.watch.unwrap_or(defaults.watch),
        playground: !args.no_playground && file.playground.unwrap_or(defaults.playground),
    };
    // A value past its bound would reach tokio (a semaphore of more than
    // 2^61 permits panics) or the timers: refused here, with its key.
    limits.check()?;
    let target = |path: PathBuf| {
        if path == Path::new("-") {
            Target::Stdout
        } else {
            Target::File(path)
        }
    };
    let decision_log = match (&args.decision_log, file.decision_log) {
        (Some(flag), _) => Some(target(flag.clone())),
        (None, Some(path)) if path == Path::new("-") => Some(Target::Stdout),
        (None, Some(path)) => Some(Target::File(base.join(path))),
        (None, None) => None,
    };
    Ok(Settings {
        paths,
        addr,
        limits,
        decision_log,
        decision_log_snapshots: args.decision_log_snapshots
            || file.decision_log_snapshots.unwrap_or(false),
        log_format: args
            .log_format
            .or(file.log_format)
            .unwrap_or(LogFormat::Human),
        log_level: args.log_level.or(file.log_level).unwrap_or(LogLevel::Info),
    })
}

/// Starts the operational log: standard error, human-readable or JSON
/// lines. A write that fails (a closed standard error) is dropped
/// silently: the log must not stop the server.
fn start_logging(format: LogFormat, level: LogLevel) {
    use std::io::IsTerminal;
    use tracing_subscriber::filter::LevelFilter;
    let level = match level {
        LogLevel::Error => LevelFilter::ERROR,
        LogLevel::Warn => LevelFilter::WARN,
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Debug => LevelFilter::DEBUG,
    };
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_target(false)
        .log_internal_errors(false);
    // Set once per process; a second start (none today) keeps the first.
    let _ = match format {
        LogFormat::Human => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    };
}

pub fn run(args: &ServeArgs) -> Exit {
    let settings = match settings(args) {
        Ok(s) => s,
        Err(message) => {
            error(&message);
            return Exit::BadInput;
        }
    };
    let mut exit = Exit::Ok;
    let mut sources = Vec::new();
    for path in &settings.paths {
        let (found, unlisted) = catalog::expand(std::slice::from_ref(path));
        for (root, e) in &unlisted {
            error(&describe_io(root, e));
            exit = exit.max(Exit::BadInput);
        }
        if found.is_empty() && unlisted.is_empty() {
            error(&format!("`{}` holds no `*.policy` files", shown(path)));
            exit = exit.max(Exit::BadInput);
        }
        sources.extend(found);
    }
    // Every policy is checked before any is served; all their problems are
    // told at once.
    let mut loaded: Vec<(PathBuf, Served)> = Vec::new();
    let mut names: BTreeMap<String, PathBuf> = BTreeMap::new();
    for path in sources {
        match catalog::load(&path) {
            Ok(s) => {
                let name = s.policy.name().to_owned();
                if let Some(first) = names.get(&name) {
                    error(&format!(
                        "`{}` and `{}` both declare `policy {name}`; a policy is served by its name, so each name must be declared once",
                        shown(first),
                        shown(&path)
                    ));
                    exit = exit.max(Exit::BadInput);
                } else {
                    names.insert(name, path.clone());
                    loaded.push((path, s));
                }
            }
            Err(LoadError::Invalid(d)) => {
                print_diagnostics(&d);
                exit = exit.max(Exit::Failed);
            }
            Err(LoadError::Io(e)) => {
                error(&describe_io(&path, &e));
                exit = exit.max(Exit::BadInput);
            }
        }
    }
    if exit != Exit::Ok {
        return exit;
    }
    let log = match &settings.decision_log {
        None => None,
        Some(target) => match DecisionLog::open(target, settings.decision_log_snapshots) {
            Ok(log) => Some(log),
            Err(e) => {
                let name = match target {
                    Target::Stdout => "standard output".to_owned(),
                    Target::File(path) => format!("`{}`", shown(path)),
                };
                error(&format!("cannot open the decision log {name}: {e}"));
                return Exit::BadInput;
            }
        },
    };
    start_logging(settings.log_format, settings.log_level);
    let addr = &settings.addr;
    let server = match Server::bind(addr, settings.paths.clone(), loaded, settings.limits, log) {
        Ok(s) => s,
        Err(e) => {
            error(&format!("cannot listen on `{}`: {e}", shown_name(addr)));
            return Exit::BadInput;
        }
    };
    match server.local_addr() {
        Ok(addr) => tracing::info!(
            policies = server.policy_count(),
            "listening on http://{addr}"
        ),
        Err(e) => {
            error(&format!("cannot listen on `{}`: {e}", shown_name(addr)));
            return Exit::BadInput;
        }
    }
    match server.run() {
        Ok(()) => {
            tracing::info!("stopped");
            Exit::Ok
        }
        Err(e) => {
            error(&format!("the server stopped: {e}"));
            Exit::BadInput
        }
    }
}
