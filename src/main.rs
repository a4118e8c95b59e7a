//! The `grokscope` binary: everything lives in the library.

fn main() -> std::process::ExitCode {
    grokscope::cli::main()
}
