//! `tollgate lsp`: the language server, on standard input and output.

use super::{Exit, out};

#[derive(clap::Args, Debug)]
pub struct LspArgs {
    /// Accepted for editors that pass it (VS Code's client does); standard
    /// input and output are the only transport.
    #[arg(long)]
    stdio: bool,
}

pub fn run(_args: &LspArgs) -> Exit {
    match crate::lsp::run() {
        Ok(()) => Exit::Ok,
        Err(e) => {
            out::error(&format!("the language server could not start: {e}"));
            Exit::BadInput
        }
    }
}
