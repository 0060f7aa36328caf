//! `tollgate serve [PATH...] [--addr HOST:PORT]`: load and check every
//! policy, then hand them to the server.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::serve::{Limits, Served, Server};
use crate::{Policy, PolicyError};

use super::Exit;
use std::time::Duration;

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
}

/// The `--config` file. Every key is optional; an unknown one is an error.
#[derive(serde::Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    /// Policy files or directories, relative to the config file's directory.
    paths: Option<Vec<PathBuf>>,
    addr: Option<String>,
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
}

/// The settings a run serves with: the flags, then the file, then the
/// defaults.
struct Settings {
    paths: Vec<PathBuf>,
    addr: String,
    limits: Limits,
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
    };
    Ok(Settings {
        paths,
        addr,
        limits,
    })
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
        match policy_files(path) {
            Ok(found) if found.is_empty() => {
                error(&format!("`{}` holds no `*.policy` files", shown(path)));
                exit = exit.max(Exit::BadInput);
            }
            Ok(found) => sources.extend(found),
            Err(message) => {
                error(&message);
                exit = exit.max(Exit::BadInput);
            }
        }
    }
    // Every policy is checked before any is served; all their problems are
    // told at once.
    let mut served: BTreeMap<String, Served> = BTreeMap::new();
    for path in &sources {
        match load(path) {
            Ok(s) => {
                let name = s.policy.name().to_owned();
                if let Some(first) = served.get(&name) {
                    error(&format!(
                        "`{}` and `{}` both declare `policy {name}`; a policy is served by its name, so each name must be declared once",
                        first.source,
                        shown(path)
                    ));
                    exit = exit.max(Exit::BadInput);
                } else {
                    served.insert(name, s);
                }
            }
            Err(e) => exit = exit.max(e),
        }
    }
    if exit != Exit::Ok {
        return exit;
    }
    let addr = &settings.addr;
    let server = match Server::bind(addr, served, settings.limits) {
        Ok(s) => s,
        Err(e) => {
            error(&format!("cannot listen on `{}`: {e}", shown_name(addr)));
            return Exit::BadInput;
        }
    };
    match server.local_addr() {
        Ok(addr) => super::out::err(&format!("tollgate serve: listening on http://{addr}\n")),
        Err(e) => {
            error(&format!("cannot listen on `{}`: {e}", shown_name(addr)));
            return Exit::BadInput;
        }
    }
    match server.run() {
        Ok(()) => {
            super::out::err("tollgate serve: stopped\n");
            Exit::Ok
        }
        Err(e) => {
            error(&format!("the server stopped: {e}"));
            Exit::BadInput
        }
    }
}

/// A policy file, or the `*.policy` files of a directory (sorted, not
/// recursive).
fn policy_files(path: &Path) -> Result<Vec<PathBuf>, String> {
    let meta = std::fs::metadata(path).map_err(|e| describe_io(path, &e))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let entries = std::fs::read_dir(path).map_err(|e| describe_io(path, &e))?;
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "policy") && p.is_file())
        .collect();
    found.sort();
    Ok(found)
}

/// Reads, checks and compiles one policy, as `check` reads it: errors
/// print as `check` prints them (exit 1), an unreadable file as exit 2.
/// The text is read once, so the revision is the hash of exactly what was
/// compiled.
fn load(path: &Path) -> Result<Served, Exit> {
    let bytes = super::render::read_input(path).map_err(|message| {
        error(&message);
        Exit::BadInput
    })?;
    let name = path.display().to_string();
    match Policy::from_bytes(&name, &bytes) {
        Ok(policy) => Ok(Served::new(policy, &bytes, name)),
        Err(PolicyError::Invalid(d)) => {
            print_diagnostics(&d);
            Err(Exit::Failed)
        }
        Err(PolicyError::Io { source, .. }) => {
            error(&describe_io(path, &source));
            Err(Exit::BadInput)
        }
    }
}
