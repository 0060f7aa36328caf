//! The `tollgate` command line: a thin layer over the library.

fn main() -> std::process::ExitCode {
    tollgate::cli::main()
}
