//! `tollgate serve [PATH...] [--addr HOST:PORT]`: load and check every
//! policy, then hand them to the server.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::serve::{Limits, Served, Server};
use crate::{Policy, PolicyError};

use super::Exit;
use super::files::{describe_io, shown};
use super::load::{error, print_diagnostics};

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Policy files, or directories of `*.policy` files.
    #[arg(value_name = "PATH", default_value = "policies")]
    paths: Vec<PathBuf>,
    /// Where to listen. The default is loopback only: the server listens on
    /// other interfaces only when told to.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8181")]
    addr: String,
}

pub fn run(args: &ServeArgs) -> Exit {
    let mut exit = Exit::Ok;
    let mut sources = Vec::new();
    for path in &args.paths {
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
    let server = match Server::bind(&args.addr, served, Limits::default()) {
        Ok(s) => s,
        Err(e) => {
            error(&format!("cannot listen on `{}`: {e}", args.addr));
            return Exit::BadInput;
        }
    };
    match server.local_addr() {
        Ok(addr) => super::out::err(&format!("tollgate serve: listening on http://{addr}\n")),
        Err(e) => {
            error(&format!("cannot listen on `{}`: {e}", args.addr));
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
