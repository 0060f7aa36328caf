//! The policies served, by source file, and reloading them: a changed
//! policy is checked and compiled before it replaces the old one; one that
//! fails keeps the old version serving and says why.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Served, now_rfc3339, revision};
use crate::{Diagnostics, Policy, PolicyError};

/// Why a source could not be (re)loaded.
#[derive(Debug)]
pub enum LoadError {
    /// The file could not be read.
    Io(std::io::Error),
    /// The policy has errors.
    Invalid(Diagnostics),
}

/// Reads, checks and compiles one policy file, reading it once so that the
/// revision is the hash of exactly what was compiled. At most one byte past
/// the size limit is read; `check_bytes` refuses a larger file.
pub fn load(path: &Path) -> Result<Served, LoadError> {
    let bytes = read(path).map_err(LoadError::Io)?;
    compile(path, &bytes)
}

fn read(path: &Path) -> std::io::Result<Vec<u8>> {
    // A named pipe is refused, not waited on by the reload.
    crate::input::read_capped(path, crate::limits::MAX_POLICY_BYTES)
}

fn compile(path: &Path, bytes: &[u8]) -> Result<Served, LoadError> {
    let name = path.display().to_string();
    match Policy::from_bytes(&name, bytes) {
        Ok(policy) => Ok(Served::new(policy, bytes, name)),
        Err(PolicyError::Invalid(d)) => Err(LoadError::Invalid(d)),
        Err(PolicyError::Io { source, .. }) => Err(LoadError::Io(source)),
    }
}

/// The policy files under `roots`: a file as given, a directory's
/// `*.policy` files (sorted, not recursive). A root that cannot be listed
/// is returned with why.
pub fn expand(roots: &[PathBuf]) -> (Vec<PathBuf>, Vec<(PathBuf, std::io::Error)>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for root in roots {
        match std::fs::metadata(root) {
            Ok(meta) if meta.is_dir() => match std::fs::read_dir(root) {
                Ok(entries) => {
                    let mut found: Vec<PathBuf> = entries
                        .filter_map(Result::ok)
                        .map(|e| e.path())
                        .filter(|p| p.extension().is_some_and(|x| x == "policy") && p.is_file())
                        .collect();
                    found.sort();
                    files.extend(found);
                }
                Err(e) => errors.push((root.clone(), e)),
            },
            Ok(_) => files.push(root.clone()),
            Err(e) => errors.push((root.clone(), e)),
        }
    }
    (files, errors)
}

/// The last failed load of a source: when, and the diagnostics.
#[derive(Clone, Debug)]
pub struct LastError {
    /// The revision that failed (`None` when the file could not be read).
    pub revision: Option<String>,
    /// The report, as JSON for `GET /v1/policies`.
    pub json: serde_json::Value,
}

impl LastError {
    fn new(
        revision: Option<String>,
        message: String,
        diagnostics: Vec<serde_json::Value>,
    ) -> LastError {
        LastError {
            revision,
            json: serde_json::json!({
                "at": now_rfc3339(),
                "message": message,
                "diagnostics": diagnostics,
            }),
        }
    }

    fn of(revision: Option<String>, e: &LoadError) -> LastError {
        match e {
            LoadError::Io(e) => {
                LastError::new(revision, format!("cannot read the policy: {e}"), vec![])
            }
            LoadError::Invalid(d) => {
                let items: Vec<serde_json::Value> = d
                    .items
                    .iter()
                    .map(|item| {
                        let at = d.source.line_col(item.span.start);
                        serde_json::json!({
                            "code": item.code.qualified(),
                            "severity": item.severity.as_str(),
                            "message": item.message,
                            "line": at.line,
                            "column": at.col,
                        })
                    })
                    .collect();
                let message = format!(
                    "the policy has {} error(s); the previous version, if any, is still served",
                    d.error_count()
                );
                LastError::new(revision, message, items)
            }
        }
    }
}

/// What a reload did to one source.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum ReloadResult {
    /// A new revision is served.
    Success,
    /// The new text was refused (errors, unreadable, a name clash); the
    /// old revision, if any, is still served.
    Failure,
    /// The source is gone and its policy no longer served.
    Removed,
}

impl ReloadResult {
    /// The result as the metrics label it.
    pub fn as_str(self) -> &'static str {
        match self {
            ReloadResult::Success => "success",
            ReloadResult::Failure => "failure",
            ReloadResult::Removed => "removed",
        }
    }
}

/// One change a reload found, for the log and the metrics.
#[derive(Clone, Debug)]
pub struct Change {
    /// The source file.
    pub source: PathBuf,
    /// The policy's name: the new one, else the one served before, else
    /// `None` (a file that never compiled).
    pub policy: Option<String>,
    pub result: ReloadResult,
    /// What happened, for a person.
    pub message: String,
}

/// One source file and what it serves.
#[derive(Clone, Debug)]
pub struct Source {
    /// The version served, if one ever loaded.
    pub served: Option<Arc<Served>>,
    /// Why the last attempt to change it failed.
    pub last_error: Option<LastError>,
    /// A revision that compiled but declares a name another source serves:
    /// served as soon as the name is free, without compiling it again.
    pub waiting: Option<Arc<Served>>,
    /// The file's metadata when it was last read.
    stamp: Option<Stamp>,
}

/// What a file's metadata says of its content. A poll does not read a file
/// whose stamp is unchanged: a write changes its size or times, a replace
/// by rename or a symlink swap its inode. The rare edit that keeps all of
/// them (same size, within one timestamp tick) is caught by a full reload:
/// SIGHUP, `POST /v1/reload`, or every [`FULL_RELOAD_EVERY`]th poll.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
    #[cfg(unix)]
    inode: (u64, u64),
    #[cfg(unix)]
    changed: (i64, i64),
}

/// Every this many polls, a poll reads every file whatever its stamp says.
pub const FULL_RELOAD_EVERY: u64 = 60;

fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    use std::os::unix::fs::MetadataExt;
    Some(Stamp {
        len: meta.len(),
        modified: meta.modified().ok(),
        #[cfg(unix)]
        inode: (meta.dev(), meta.ino()),
        #[cfg(unix)]
        changed: (meta.ctime(), meta.ctime_nsec()),
    })
}

/// How much a reload reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Look {
    /// Only files whose metadata changed (a poll, a change event).
    Changed,
    /// Every file (SIGHUP, `POST /v1/reload`, every sixtieth poll).
    Everything,
}

/// The name a source serves, if any.
fn name_of(source: &Source) -> Option<String> {
    source.served.as_ref().map(|s| s.policy.name().to_owned())
}

/// Every source, and the policies they serve by name. Immutable: a reload
/// builds a new one and swaps it in whole.
#[derive(Debug, Default)]
pub struct Catalog {
    pub sources: BTreeMap<PathBuf, Source>,
    by_name: BTreeMap<String, Arc<Served>>,
}

impl Catalog {
    /// A catalog of policies loaded at start.
    pub fn new(loaded: Vec<(PathBuf, Served)>) -> Catalog {
        let sources = loaded
            .into_iter()
            .map(|(path, served)| {
                let source = Source {
                    // Unknown: the first poll reads every file once, so a
                    // change made while starting is not missed.
                    stamp: None,
                    served: Some(Arc::new(served)),
                    last_error: None,
                    waiting: None,
                };
                (path, source)
            })
            .collect();
        Catalog::from_sources(sources)
    }

    fn from_sources(sources: BTreeMap<PathBuf, Source>) -> Catalog {
        let by_name = sources
            .values()
            .filter_map(|s| s.served.clone())
            .map(|s| (s.policy.name().to_owned(), s))
            .collect();
        Catalog { sources, by_name }
    }

    /// The policy served under `name`.
    pub fn policy(&self, name: &str) -> Option<Arc<Served>> {
        self.by_name.get(name).cloned()
    }

    /// Every policy served, by name.
    pub fn served(&self) -> impl Iterator<Item = &Served> + '_ {
        self.by_name.values().map(|s| &**s)
    }

    /// Every source has loaded successfully at least once.
    pub fn ready(&self) -> bool {
        self.sources.values().all(|s| s.served.is_some())
    }

    /// Re-reads every source under `roots`: unchanged files are kept as
    /// they are, changed ones compiled; a failure keeps the old version and
    /// records why; a deleted file stops being served. With
    /// [`Look::Changed`], a file whose metadata is as it was is not read.
    /// Returns the new catalog and each change, for the log and the
    /// metrics.
    pub fn reload(&self, roots: &[PathBuf], look: Look) -> (Catalog, Vec<Change>) {
        let (files, unlisted) = expand(roots);
        let mut log: Vec<Change> = Vec::new();
        let mut sources: BTreeMap<PathBuf, Source> = BTreeMap::new();
        // Sources under a root that cannot be listed right now are kept: a
        // directory being replaced is not a deletion of its policies.
        for (root, e) in &unlisted {
            if e.kind() != std::io::ErrorKind::NotFound {
                for (path, source) in self.sources.range(root.clone()..) {
                    if !path.starts_with(root) {
                        break;
                    }
                    sources.insert(path.clone(), source.clone());
                }
            }
        }
        for path in files {
            let previous = self.sources.get(&path).cloned().unwrap_or(Source {
                served: None,
                last_error: None,
                waiting: None,
                stamp: None,
            });
            let now = stamp(&path);
            // A revision waiting for its name is looked at on every reload.
            if look == Look::Changed
                && now.is_some()
                && now == previous.stamp
                && previous.waiting.is_none()
            {
                sources.insert(path, previous);
                continue;
            }
            let previous = Source {
                stamp: now,
                ..previous
            };
            let bytes = match read(&path) {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    log.push(Change {
                        source: path.clone(),
                        policy: name_of(&previous),
                        result: ReloadResult::Failure,
                        message: format!("cannot read it ({e}); the served version stays"),
                    });
                    let error = LastError::of(None, &LoadError::Io(e));
                    sources.insert(
                        path,
                        Source {
                            last_error: Some(error),
                            // Read again next time, whatever the stamp.
                            stamp: None,
                            ..previous
                        },
                    );
                    continue;
                }
            };
            let rev = revision(&bytes);
            let served_rev = previous.served.as_ref().map(|s| s.revision.as_str());
            let failed_rev = previous
                .last_error
                .as_ref()
                .and_then(|e| e.revision.as_deref());
            if served_rev == Some(rev.as_str()) {
                // Back to (or still at) the version served.
                sources.insert(
                    path,
                    Source {
                        last_error: None,
                        waiting: None,
                        ..previous
                    },
                );
                continue;
            }
            if failed_rev == Some(rev.as_str()) {
                let source = match previous.waiting.clone() {
                    // It compiled but its name was taken: it asks for the
                    // name again below (settle_names), in case it is free.
                    Some(waiting) if waiting.revision == rev => Source {
                        served: Some(waiting),
                        ..previous
                    },
                    // The same broken text as last time: said once already.
                    _ => previous,
                };
                sources.insert(path, source);
                continue;
            }
            match compile(&path, &bytes) {
                Ok(served) => {
                    log.push(Change {
                        source: path.clone(),
                        policy: Some(served.policy.name().to_owned()),
                        result: ReloadResult::Success,
                        message: format!(
                            "serving `{}` at revision {}",
                            served.policy.name(),
                            served.revision
                        ),
                    });
                    sources.insert(
                        path,
                        Source {
                            served: Some(Arc::new(served)),
                            last_error: None,
                            waiting: None,
                            stamp: now,
                        },
                    );
                }
                Err(e) => {
                    log.push(Change {
                        source: path.clone(),
                        policy: name_of(&previous),
                        result: ReloadResult::Failure,
                        message: format!(
                            "revision {rev} refused ({}); the served version stays",
                            match &e {
                                LoadError::Io(e) => e.to_string(),
                                LoadError::Invalid(d) => format!("{} error(s)", d.error_count()),
                            }
                        ),
                    });
                    let error = LastError::of(Some(rev), &e);
                    sources.insert(
                        path,
                        Source {
                            last_error: Some(error),
                            ..previous
                        },
                    );
                }
            }
        }
        for (path, gone) in self
            .sources
            .iter()
            .filter(|(p, _)| !sources.contains_key(*p))
        {
            log.push(Change {
                source: path.clone(),
                policy: name_of(gone),
                result: ReloadResult::Removed,
                message: "gone; no longer served".to_owned(),
            });
        }
        self.settle_names(&mut sources, &mut log);
        (Catalog::from_sources(sources), log)
    }

    /// Two sources declaring one name: the one that served it before keeps
    /// it (else the first by path); the other keeps what it served before,
    /// if that name is free, and reports the clash.
    fn settle_names(&self, sources: &mut BTreeMap<PathBuf, Source>, log: &mut Vec<Change>) {
        let mut owner: BTreeMap<String, PathBuf> = BTreeMap::new();
        // Names held before the reload, by a source still declaring them.
        for (path, source) in sources.iter() {
            let name = source.served.as_ref().map(|s| s.policy.name());
            let before = self
                .sources
                .get(path)
                .and_then(|s| s.served.as_ref())
                .map(|s| s.policy.name());
            if let (Some(name), Some(before)) = (name, before) {
                if name == before
                    && self
                        .by_name
                        .get(name)
                        .is_some_and(|s| s.source == path.display().to_string())
                {
                    owner.insert(name.to_owned(), path.clone());
                }
            }
        }
        let paths: Vec<PathBuf> = sources.keys().cloned().collect();
        for path in paths {
            let Some(source) = sources.get_mut(&path) else {
                continue;
            };
            let Some(name) = source.served.as_ref().map(|s| s.policy.name().to_owned()) else {
                continue;
            };
            // A revision that waited for its name asks for it again.
            let waited = match (&source.waiting, &source.served) {
                (Some(w), Some(s)) => Arc::ptr_eq(w, s),
                _ => false,
            };
            match owner.get(&name) {
                None => {
                    owner.insert(name.clone(), path.clone());
                    if waited {
                        source.waiting = None;
                        source.last_error = None;
                        let revision = source.served.as_ref().map(|s| s.revision.clone());
                        log.push(Change {
                            source: path.clone(),
                            policy: Some(name.clone()),
                            result: ReloadResult::Success,
                            message: format!(
                                "serving `{name}` at revision {} (the name is free now)",
                                revision.unwrap_or_default()
                            ),
                        });
                    }
                }
                Some(first) if *first == path => {}
                Some(first) => {
                    let message = format!(
                        "`{}` also declares `policy {name}`; a name is served from one source",
                        first.display()
                    );
                    let revision = source.served.as_ref().map(|s| s.revision.clone());
                    // Told once per revision, not on every poll.
                    if !waited {
                        // It was not served after all.
                        log.retain(|c| !(c.source == path && c.result == ReloadResult::Success));
                        log.push(Change {
                            source: path.clone(),
                            policy: Some(name.clone()),
                            result: ReloadResult::Failure,
                            message: message.clone(),
                        });
                        source.last_error = Some(LastError::new(revision, message, vec![]));
                    }
                    source.waiting = source.served.clone();
                    let kept = self
                        .sources
                        .get(&path)
                        .and_then(|s| s.served.clone())
                        .filter(|s| !owner.contains_key(s.policy.name()));
                    if let Some(kept) = &kept {
                        owner.insert(kept.policy.name().to_owned(), path.clone());
                    }
                    source.served = kept;
                }
            }
        }
    }
}
