//! The `tessera` command-line tool.

fn main() -> std::process::ExitCode {
    tessera::cli::main()
}
