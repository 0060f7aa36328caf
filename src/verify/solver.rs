//! The SMT solver, as a separate process spoken to in SMT-LIB 2 over pipes.
//!
//! tollgate does not link a solver: `verify` and `diff --exhaustive` start
//! `z3 -in` (Debian's `z3`), and nothing else in tollgate needs it. One
//! process answers every query of a run, each between `(push)` and `(pop)`,
//! so its start-up is paid once.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// The solver's program, unless `TOLLGATE_Z3` names another.
pub const DEFAULT_SOLVER: &str = "z3";

/// Longest answer the solver may give to one command, in bytes: a model of
/// a policy at its limits is far smaller.
const MAX_ANSWER_BYTES: usize = 16 << 20;

/// Why the solver could not answer.
#[derive(Debug, thiserror::Error)]
pub enum SolverError {
    /// The program is not installed, or could not be started.
    #[error(
        "cannot start the SMT solver `{program}`: {source}; install it (Debian: `apt-get install z3`) or set TOLLGATE_Z3 to its path"
    )]
    Missing {
        /// The program tried.
        program: String,
        /// Why it did not start.
        source: std::io::Error,
    },
    /// The time limit passed before the solver answered.
    #[error("the SMT solver did not answer within {0} s (raise it with --timeout)")]
    Timeout(u64),
    /// The solver stopped, or said something tollgate cannot read.
    #[error("the SMT solver failed: {0}")]
    Failed(String),
}

/// A check's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sat {
    /// There is an assignment: a counterexample or a witness.
    Sat,
    /// There is none: the claim is proven.
    Unsat,
}

/// A running solver.
pub struct Solver {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<std::io::Result<String>>,
    deadline: Instant,
    limit_secs: u64,
    /// Checks answered, for reports and benchmarks.
    pub checks: usize,
}

impl Solver {
    /// Starts the solver; every answer must come before `limit` from now.
    pub fn start(limit: Duration) -> Result<Solver, SolverError> {
        let program = std::env::var("TOLLGATE_Z3").unwrap_or_else(|_| DEFAULT_SOLVER.to_owned());
        let mut child = Command::new(&program)
            .args(["-in", "-smt2"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| SolverError::Missing {
                program: program.clone(),
                source,
            })?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            return Err(SolverError::Failed("no pipes to the solver".into()));
        };
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut line = String::new();
                match reader.read_line(&mut line) {
                    Ok(0) => break,
                    Ok(_) => {
                        if tx.send(Ok(line)).is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        break;
                    }
                }
            }
        });
        let mut solver = Solver {
            child,
            stdin,
            lines,
            deadline: Instant::now() + limit,
            limit_secs: limit.as_secs(),
            checks: 0,
        };
        solver.send("(set-option :print-success false)\n(set-option :produce-models true)\n")?;
        Ok(solver)
    }

    /// `Err(Timeout)` once the run's time is up: the loops that build
    /// queries call it, so a policy with millions of requests stops at the
    /// limit instead of encoding them all.
    pub fn in_time(&self) -> Result<(), SolverError> {
        if Instant::now() >= self.deadline {
            Err(SolverError::Timeout(self.limit_secs))
        } else {
            Ok(())
        }
    }

    /// Sends commands that answer nothing.
    pub fn send(&mut self, commands: &str) -> Result<(), SolverError> {
        self.stdin
            .write_all(commands.as_bytes())
            .and_then(|()| self.stdin.flush())
            .map_err(|e| SolverError::Failed(format!("cannot write to the solver: {e}")))
    }

    /// `(check-sat)`.
    pub fn check(&mut self) -> Result<Sat, SolverError> {
        self.send("(check-sat)\n")?;
        self.checks += 1;
        let answer = self.answer()?;
        match answer.trim() {
            "sat" => Ok(Sat::Sat),
            "unsat" => Ok(Sat::Unsat),
            "unknown" => Err(SolverError::Failed(
                "the solver answered `unknown` (the query is beyond its decision procedures)"
                    .into(),
            )),
            other => Err(SolverError::Failed(other.chars().take(500).collect())),
        }
    }

    /// `(get-value (terms...))`: each term's value, as the solver prints it.
    pub fn values(&mut self, terms: &[String]) -> Result<Vec<Sexp>, SolverError> {
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let mut command = String::from("(get-value (");
        for t in terms {
            command.push_str(t);
            command.push(' ');
        }
        command.push_str("))\n");
        self.send(&command)?;
        let answer = self.answer()?;
        let parsed = Sexp::parse(&answer)
            .ok_or_else(|| SolverError::Failed(format!("unreadable model: {answer}")))?;
        let Sexp::List(pairs) = parsed else {
            return Err(SolverError::Failed(format!("unreadable model: {answer}")));
        };
        let values: Vec<Sexp> = pairs
            .into_iter()
            .filter_map(|p| match p {
                Sexp::List(mut kv) if kv.len() == 2 => kv.pop(),
                _ => None,
            })
            .collect();
        if values.len() != terms.len() {
            return Err(SolverError::Failed(format!(
                "the model has {} values for {} terms",
                values.len(),
                terms.len()
            )));
        }
        Ok(values)
    }

    /// One answer: a line, or the lines of one balanced s-expression.
    fn answer(&mut self) -> Result<String, SolverError> {
        let mut text = String::new();
        let mut depth = 0i64;
        loop {
            let now = Instant::now();
            let wait = self.deadline.saturating_duration_since(now);
            let line = match self.lines.recv_timeout(wait) {
                Ok(Ok(line)) => line,
                Ok(Err(e)) => return Err(SolverError::Failed(format!("cannot read: {e}"))),
                Err(RecvTimeoutError::Timeout) => {
                    return Err(SolverError::Timeout(self.limit_secs));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(SolverError::Failed("the solver stopped".into()));
                }
            };
            let mut in_string = false;
            for c in line.chars() {
                match c {
                    '"' => in_string = !in_string,
                    '(' if !in_string => depth += 1,
                    ')' if !in_string => depth -= 1,
                    _ => {}
                }
            }
            text.push_str(&line);
            if text.len() > MAX_ANSWER_BYTES {
                return Err(SolverError::Failed(
                    "the solver's answer is too long".into(),
                ));
            }
            if depth <= 0 {
                if text.trim_start().starts_with("(error") {
                    return Err(SolverError::Failed(
                        text.trim().chars().take(1000).collect(),
                    ));
                }
                return Ok(text);
            }
        }
    }
}

impl Drop for Solver {
    fn drop(&mut self) {
        let _ = self.stdin.write_all(b"(exit)\n");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An s-expression of the solver's answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Sexp {
    Atom(String),
    List(Vec<Sexp>),
}

impl Sexp {
    /// Parses one s-expression; `None` when the text is not one.
    pub fn parse(text: &str) -> Option<Sexp> {
        let mut stack: Vec<Vec<Sexp>> = vec![Vec::new()];
        let mut atom = String::new();
        let mut in_string = false;
        let flush = |atom: &mut String, stack: &mut Vec<Vec<Sexp>>| {
            if !atom.is_empty() {
                if let Some(top) = stack.last_mut() {
                    top.push(Sexp::Atom(std::mem::take(atom)));
                }
            }
        };
        for c in text.chars() {
            if in_string {
                atom.push(c);
                if c == '"' {
                    in_string = false;
                }
                continue;
            }
            match c {
                '"' => {
                    atom.push(c);
                    in_string = true;
                }
                '(' => {
                    flush(&mut atom, &mut stack);
                    stack.push(Vec::new());
                }
                ')' => {
                    flush(&mut atom, &mut stack);
                    let done = stack.pop()?;
                    stack.last_mut()?.push(Sexp::List(done));
                }
                c if c.is_whitespace() => flush(&mut atom, &mut stack),
                c => atom.push(c),
            }
        }
        flush(&mut atom, &mut stack);
        let mut top = stack.pop()?;
        if !stack.is_empty() || top.len() != 1 {
            return None;
        }
        top.pop()
    }

    /// An integer value: `5` or `(- 5)`.
    pub fn int(&self) -> Option<i128> {
        match self {
            Sexp::Atom(a) => a.parse().ok(),
            Sexp::List(items) => match items.as_slice() {
                [Sexp::Atom(minus), x] if minus == "-" => x.int()?.checked_neg(),
                _ => None,
            },
        }
    }

    /// A boolean value.
    pub fn bool(&self) -> Option<bool> {
        match self {
            Sexp::Atom(a) if a == "true" => Some(true),
            Sexp::Atom(a) if a == "false" => Some(false),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_models() {
        let s = Sexp::parse("((x 5)\n (y (- 12))\n (b false))").unwrap();
        let Sexp::List(pairs) = s else { panic!() };
        assert_eq!(pairs.len(), 3);
        let Sexp::List(y) = &pairs[1] else { panic!() };
        assert_eq!(y[1].int(), Some(-12));
        assert!(Sexp::parse("(a (b)").is_none());
    }
}
