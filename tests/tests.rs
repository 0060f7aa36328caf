//! Integration tests: the real `tollgate` binary, driven as users drive it.

mod check;
mod util;
