//! The language server on a 10,000-line policy: the time from a change to
//! its diagnostics (docs/performance.md, "The language server").
//!
//! `change_to_diagnostics` drives the real `tollgate lsp` binary over
//! pipes, as an editor does: each iteration sends one incremental
//! `didChange` (a letter typed into, or deleted from, one rule's message
//! in the middle of the file, so every item after it moves)
//! and waits for the `publishDiagnostics` of that version. `analyze` is
//! the in-process part of it: parse, check and index the new text.

// Benchmarks stop on broken setup by panicking, like tests.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fmt::Write as _;
use std::hint::black_box;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use tollgate::lsp::analysis::Analysis;
use tollgate::lsp::text::Text;

mod common {
    pub mod generated;
}

/// A policy of about `lines` lines: the declarations of a real policy,
/// then `on` blocks of rules with conditions, messages and steps.
pub fn policy(lines: usize) -> String {
    let mut p = String::from("/// Generated for the language server benchmark.\n");
    p.push_str(&common::generated::declarations());
    let mut n = 0;
    while p.lines().count() < lines {
        let _ = writeln!(p, "\n/// Block {n}.\non cat{} {{", n % 10);
        for _ in 0..20 {
            let _ = writeln!(
                p,
                "  /// Rule {n}.\n  deny rule{n} when usable < {n} and plan.tier in [pro, enterprise] {{\n    \
                 message \"Rule {n}: only {{usable}} credits.\"\n    \
                 steps for billing access {{\n      upgrade when debt > 1\n    }}\n    \
                 steps for others {{\n      ask\n    }}\n  }}"
            );
            n += 1;
        }
        p.push_str("}\n");
    }
    p
}

/// A running `tollgate lsp` with one document open.
struct Server {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    version: i64,
    /// The line edited, and its text.
    line: u32,
}

fn send(stdin: &mut ChildStdin, v: &Value) {
    let body = v.to_string();
    write!(stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    stdin.flush().unwrap();
}

fn read(r: &mut BufReader<ChildStdout>) -> Value {
    let mut len = 0;
    loop {
        let mut line = String::new();
        assert!(r.read_line(&mut line).unwrap() > 0, "the server closed");
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.strip_prefix("Content-Length: ") {
            len = v.parse().unwrap();
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).unwrap();
    serde_json::from_slice(&body).unwrap()
}

const URI: &str = "file:///bench/generated.policy";

impl Server {
    fn start(text: &str) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tollgate"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tollgate lsp");
        let mut stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        send(
            &mut stdin,
            &json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize",
                     "params": { "processId": null, "rootUri": null, "capabilities": {} } }),
        );
        read(&mut stdout);
        send(
            &mut stdin,
            &json!({ "jsonrpc": "2.0", "method": "initialized", "params": {} }),
        );
        send(
            &mut stdin,
            &json!({ "jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
                "textDocument": { "uri": URI, "languageId": "tollgate", "version": 1, "text": text } } }),
        );
        let mut s = Server {
            child,
            stdin,
            stdout,
            version: 1,
            line: 0,
        };
        let d = s.wait_for(1);
        assert!(d.is_empty(), "the generated policy has diagnostics: {d:?}");
        // A message line in the middle of the file.
        let mid = text.lines().count() / 2;
        s.line = (mid..)
            .find(|&l| {
                text.lines()
                    .nth(l)
                    .is_some_and(|t| t.contains("message \"Rule"))
            })
            .unwrap() as u32;
        s
    }

    fn wait_for(&mut self, version: i64) -> Vec<Value> {
        loop {
            let m = read(&mut self.stdout);
            if m["method"] == "textDocument/publishDiagnostics" && m["params"]["version"] == version
            {
                return m["params"]["diagnostics"].as_array().cloned().unwrap();
            }
        }
    }

    /// One change: a letter typed into the message, or taken out again,
    /// so every item after it moves.
    fn change(&mut self) -> usize {
        self.version += 1;
        let (end, word) = if self.version % 2 == 0 {
            (13, "x")
        } else {
            (14, "")
        };
        send(
            &mut self.stdin,
            &json!({ "jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
                "textDocument": { "uri": URI, "version": self.version },
                "contentChanges": [{
                    "range": { "start": { "line": self.line, "character": 13 },
                               "end": { "line": self.line, "character": end } },
                    "text": word }] } }),
        );
        self.wait_for(self.version).len()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lsp(c: &mut Criterion) {
    let text = policy(10_000);
    eprintln!(
        "generated policy: {} lines, {} bytes",
        text.lines().count(),
        text.len()
    );
    let mut group = c.benchmark_group("lsp");
    group.sample_size(30);
    group.bench_function("analyze/10k_lines", |b| {
        let text = Arc::new(Text::new(text.clone()));
        b.iter(|| black_box(Analysis::new("generated.policy", Arc::clone(&text))));
    });
    let mut server = Server::start(&text);
    group.bench_function("change_to_diagnostics/10k_lines", |b| {
        b.iter(|| assert_eq!(server.change(), 0));
    });
    group.finish();
}

criterion_group!(benches, lsp);
criterion_main!(benches);
