//! The command line (the `cli` feature): arguments, dispatch, exit codes.

mod batch;
mod check;
mod decide;
mod diff;
mod files;
mod fmt;
mod ledger;
mod load;
mod lsp;
mod out;
mod render;
mod serve;
mod snippet;
mod test;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// How a run ended, as the contract's exit codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// Success: a decision was made, the policy is clean, every test passed.
    Ok = 0,
    /// The policy has errors, or a test or `fmt --check` failed.
    Failed = 1,
    /// Bad invocation or bad input.
    BadInput = 2,
    /// A ledger operation was refused by the policy's rules; the ledger
    /// output says why.
    Refused = 3,
}

#[derive(Parser, Debug)]
#[command(
    name = "tollgate",
    version,
    about = "A policy engine for prepaid usage credits",
    long_about = "tollgate reads billing policies written in its policy language, checks them, \
                  and applies them to account snapshots.\n\nExit codes: 0 success, 1 policy errors \
                  or failed tests, 2 bad invocation or bad input, 3 a ledger operation refused \
                  by the policy."
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Parse, type-check and lint policies; print diagnostics.
    Check(check::CheckArgs),
    /// Decide whether a role may take an action on an account, and why.
    Decide(decide::DecideArgs),
    /// Draw credits for admitted work in the policy's spend order.
    Charge(ledger::ChargeArgs),
    /// Settle debts in the policy's precedence from its sources.
    Settle(ledger::SettleArgs),
    /// Add credits, then settle debts with them first.
    Grant(ledger::GrantArgs),
    /// Refund or dispute a grant: void what is left, owe what was used.
    Refund(ledger::RefundArgs),
    /// Run policy test cases (`*.tests.toml`).
    Test(test::TestArgs),
    /// Rewrite policies in the canonical layout, or check that they are.
    Fmt(fmt::FmtArgs),
    /// Show which decisions a policy change alters.
    Diff(diff::DiffArgs),
    /// Prove a policy's assertions for every account, or find a counterexample.
    Verify(verify::VerifyArgs),
    /// Serve decisions over HTTP (docs/server.md).
    Serve(serve::ServeArgs),
    /// Run the language server on standard input and output (docs/editors.md).
    Lsp(lsp::LspArgs),
}

/// Output formats for decisions and ledger results.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// The contract's JSON.
    Json,
    /// A reading for people.
    Human,
}

/// Output formats for diagnostics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DiagnosticFormat {
    /// Source snippets with the problem underlined, for people.
    Human,
    /// One JSON document, for programs.
    Json,
    /// GitHub Actions annotations, one line per diagnostic.
    Github,
}

pub fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) => {
            let code = if e.use_stderr() {
                Exit::BadInput
            } else {
                Exit::Ok
            };
            if e.use_stderr() {
                // clap quotes the value it refused as given: escape control
                // characters and cut long lines, as every other message does.
                let text: String = e
                    .render()
                    .to_string()
                    .lines()
                    .map(|line| files::shown_name(line) + "\n")
                    .collect();
                out::err(&text);
            } else {
                // Help or the version; nothing to do if stdout is gone.
                let _ = e.print();
            }
            return ExitCode::from(code as u8);
        }
    };
    let exit = match args.command {
        Command::Check(a) => check::run(&a),
        Command::Decide(a) => decide::run(&a),
        Command::Charge(a) => ledger::charge(&a),
        Command::Settle(a) => ledger::settle(&a),
        Command::Grant(a) => ledger::grant(&a),
        Command::Refund(a) => ledger::refund(&a),
        Command::Test(a) => test::run(&a),
        Command::Fmt(a) => fmt::run(&a),
        Command::Diff(a) => diff::run(&a),
        Command::Verify(a) => verify::run(&a),
        Command::Serve(a) => serve::run(&a),
        Command::Lsp(a) => lsp::run(&a),
    };
    ExitCode::from(exit as u8)
}
