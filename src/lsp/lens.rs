//! The code lens above each `on` block: how many of the policy's test
//! cases that touch the block pass, run against the text being edited.
//!
//! A policy's cases are the `*.tests.toml` files in its own folder whose
//! `policy` is this file (what `tollgate test <folder>` runs for it), read
//! and run with the same library code as `tollgate test`. A case touches a
//! block when its request's action is one the block is `on` (by category,
//! by name, or `all`; `forbidden` when the case's role may not take the
//! action), or when its ledger operation is the one the block is `on`.
//!
//! The work is bounded: at most [`MAX_CASE_FILES`] files of at most
//! `MAX_CASE_FILE_BYTES` (1 MB) each and [`MAX_CASE_BYTES`] in all, at
//! most [`MAX_CASES`] cases run; a case file is parsed again only when its
//! size or modification time changes ([`CaseCache`]), and the server
//! computes the lenses once per document version.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use crate::Policy;
use crate::ast::{ItemKind, OnTarget};
use crate::cases::{self, Case, CaseFile, CaseRequest, Verdict};
use crate::span::{Source, Span};

/// Most case files read for one policy.
pub const MAX_CASE_FILES: usize = 32;

/// Most cases run for one policy version.
pub const MAX_CASES: usize = 2_000;

/// Most bytes of case files read for one policy.
pub const MAX_CASE_BYTES: u64 = 4 << 20;

/// Most case files the cache remembers; past it, it starts again.
const MAX_CACHED_FILES: usize = 256;

/// Case files read before: by path, with the size and modification time
/// they had, and what they parsed to (`None`: they did not).
#[derive(Default)]
pub struct CaseCache {
    files: HashMap<PathBuf, Cached>,
}

/// A case file's size and modification time when read, and what it
/// parsed to.
type Cached = (u64, Option<SystemTime>, Option<Arc<CaseFile>>);

/// One lens: where it stands (the `on` keyword) and what it says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lens {
    pub span: Span,
    pub title: String,
    /// Cases that touch the block, and of them those that pass.
    pub touching: usize,
    pub passing: usize,
}

/// What a block is `on`.
#[derive(Default)]
struct Targets {
    actions: HashSet<String>,
    operations: HashSet<String>,
    all: bool,
    forbidden: bool,
}

/// A case's request, as the lens needs it, and whether it passed.
struct Ran {
    role: Option<String>,
    action: Option<String>,
    operation: Option<&'static str>,
    passed: bool,
}

/// The lenses of a policy's text; `path` is its file, when it is one.
pub fn lenses(name: &str, text: &str, path: Option<&Path>, cache: &mut CaseCache) -> Vec<Lens> {
    let source = Source::new(name, text);
    let parsed = crate::parse::parse(&source);
    let mut categories: HashMap<&str, Vec<&str>> = HashMap::new();
    for item in &parsed.policy.items {
        if let ItemKind::Actions { category, actions } = &item.kind {
            categories
                .entry(&category.name)
                .or_default()
                .extend(actions.iter().map(|a| &*a.name));
        }
    }
    let mut blocks = Vec::new();
    for item in &parsed.policy.items {
        let ItemKind::On(block) = &item.kind else {
            continue;
        };
        let mut t = Targets::default();
        for target in &block.targets {
            match target {
                OnTarget::Forbidden(_) => t.forbidden = true,
                OnTarget::All(_) => t.all = true,
                OnTarget::Name(n) => {
                    let n = &*n.name;
                    if let Some(actions) = categories.get(n) {
                        t.actions.extend(actions.iter().map(|a| (*a).to_owned()));
                    } else if crate::lang::Operation::from_name(n).is_some() {
                        t.operations.insert(n.to_owned());
                    } else {
                        t.actions.insert(n.to_owned());
                    }
                }
            }
        }
        let at = item.span.start as usize;
        let keyword = text
            .get(at..)
            .map_or(0, |rest| if rest.starts_with("on") { 2 } else { 0 });
        blocks.push((Span::new(at, at + keyword), t));
    }
    if blocks.is_empty() {
        return Vec::new();
    }
    let (found, broken) = path.map(|p| case_files(p, cache)).unwrap_or_default();
    let policy = if found.is_empty() {
        None
    } else {
        Policy::from_source(name, text).ok()
    };
    let ran = policy.as_ref().map(|p| (p, run_all(p, &found)));
    blocks
        .into_iter()
        .map(|(span, t)| {
            let (touching, passing, title) = match &ran {
                None if found.is_empty() => (0, 0, "no cases".to_owned()),
                None => {
                    let n = found
                        .iter()
                        .flat_map(|f| &f.cases)
                        .take(MAX_CASES)
                        .filter(|c| touches_unchecked(&t, c))
                        .count();
                    (0, 0, format!("{n} cases not run: the policy has errors"))
                }
                Some((policy, ran)) => {
                    let mine: Vec<&Ran> = ran.iter().filter(|r| touches(&t, r, policy)).collect();
                    let passing = mine.iter().filter(|r| r.passed).count();
                    let title = match mine.len() {
                        0 => "no cases".to_owned(),
                        1 if passing == 1 => "1 case passes".to_owned(),
                        1 => "0 of 1 case passes".to_owned(),
                        n => format!("{passing} of {n} cases pass"),
                    };
                    (mine.len(), passing, title)
                }
            };
            let title = match broken {
                0 => title,
                1 => format!("{title} · 1 case file does not parse"),
                n => format!("{title} · {n} case files do not parse"),
            };
            Lens {
                span,
                title,
                touching,
                passing,
            }
        })
        .collect()
}

/// Reads at most `limit` bytes of UTF-8 text.
fn read_capped(path: &Path, limit: usize) -> Option<String> {
    let bytes = crate::input::read_capped(path, limit).ok()?;
    if bytes.len() > limit {
        return None;
    }
    String::from_utf8(bytes).ok()
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// The case files in the policy's folder written for it, and how many
/// files there do not parse (or are too large): those are left out, and
/// `tollgate test` says why.
fn case_files(policy: &Path, cache: &mut CaseCache) -> (Vec<Arc<CaseFile>>, usize) {
    let Some(dir) = policy.parent() else {
        return (Vec::new(), 0);
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return (Vec::new(), 0);
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().ends_with(".tests.toml"))
                && p.is_file()
        })
        .collect();
    paths.sort();
    paths.truncate(MAX_CASE_FILES);
    if cache.files.len() > MAX_CACHED_FILES {
        cache.files.clear();
    }
    let mut files = Vec::new();
    let mut broken = 0;
    let mut bytes = 0;
    for path in paths {
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        let (len, modified) = (meta.len(), meta.modified().ok());
        bytes += len.min(cases::MAX_CASE_FILE_BYTES as u64 + 1);
        if bytes > MAX_CASE_BYTES {
            break;
        }
        let file = match cache.files.get(&path) {
            Some((l, m, file)) if *l == len && *m == modified => file.clone(),
            _ => {
                let file = read_capped(&path, cases::MAX_CASE_FILE_BYTES)
                    .and_then(|text| cases::parse(&path, &text).ok())
                    .map(Arc::new);
                cache
                    .files
                    .insert(path.clone(), (len, modified, file.clone()));
                file
            }
        };
        match file {
            Some(file) if same_file(&file.policy, policy) => files.push(file),
            Some(_) => {}
            None => broken += 1,
        }
    }
    (files, broken)
}

fn operation(request: &CaseRequest) -> Option<&'static str> {
    match request {
        CaseRequest::Decide { .. } => None,
        CaseRequest::Charge(_) => Some("charge"),
        CaseRequest::Settle => Some("settle"),
        CaseRequest::Grant(_) => Some("grant"),
        CaseRequest::Refund(..) => Some("refund"),
    }
}

fn run_all(policy: &Policy, files: &[Arc<CaseFile>]) -> Vec<Ran> {
    let mut ran = Vec::new();
    for file in files {
        for case in &file.cases {
            if ran.len() >= MAX_CASES {
                return ran;
            }
            let (role, action) = match &case.request {
                CaseRequest::Decide { role, action } => (Some(role.clone()), Some(action.clone())),
                _ => (None, None),
            };
            ran.push(Ran {
                role,
                action,
                operation: operation(&case.request),
                passed: cases::run(policy, file, case) == Verdict::Pass,
            });
        }
    }
    ran
}

fn touches(t: &Targets, r: &Ran, policy: &Policy) -> bool {
    if let Some(op) = r.operation {
        return t.operations.contains(op);
    }
    let (Some(role), Some(action)) = (&r.role, &r.action) else {
        return false;
    };
    if t.all || t.actions.contains(action) {
        return true;
    }
    if t.forbidden {
        let p = policy.program();
        if let (Some(role), Some(action)) = (p.role_by_name(role), p.action_by_name(action)) {
            return p.permission(role, action) == Some(false);
        }
    }
    false
}

/// [`touches`] without a compiled policy: `forbidden` cannot be told.
fn touches_unchecked(t: &Targets, c: &Case) -> bool {
    match &c.request {
        CaseRequest::Decide { action, .. } => t.all || t.actions.contains(action),
        other => operation(other).is_some_and(|op| t.operations.contains(op)),
    }
}
