//! Integration tests: the real `tollgate` binary, driven as users drive it.

// Test code states what it expects by panicking; the no-panic lints guard
// the library and the binary, not the tests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod authoring;
mod bad_input;
mod batch;
mod check;
mod decide;
mod differential;
mod eval_bounds;
mod fail_closed;
mod fmt;
mod io;
mod ledger;
mod lsp;
mod lsp_neovim;
mod second_edition_edges;
mod serve;
mod native {
    #[path = "ampere.rs"]
    pub mod ampere;
    #[path = "floor.rs"]
    pub mod floor;
}
mod robustness;
mod second_edition;
mod snapshot_errors;
mod util;
mod verify;
mod verify_props;
