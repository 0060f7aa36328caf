//! tollgate: a policy engine for prepaid usage credits.

pub mod amount;
pub mod ast;
pub mod diagnostic;
pub mod parse;
pub mod span;
pub mod time;
