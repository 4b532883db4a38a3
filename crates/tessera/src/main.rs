//! The `tessera` command-line tool (native targets; the browser uses the library directly).

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    tessera::cli::main()
}

#[cfg(target_arch = "wasm32")]
fn main() {}
