//! The `tessera` command-line tool (native targets; the browser uses the library directly).

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    quiet_broken_pipe();
    tessera::cli::main()
}

/// Gives SIGPIPE back its default action, once for every subcommand: a closed stdout
/// (`tessera info | head -1`, `tessera summary resnet18 | true`) ends the process quietly like
/// any Unix filter (killed by SIGPIPE; the shell reports 141) instead of `println!` panicking
/// on EPIPE. Checkpoints are written to a temporary file and renamed, so this never leaves
/// half a file.
#[cfg(not(target_arch = "wasm32"))]
fn quiet_broken_pipe() {
    // SAFETY: called first in `main`, before any other thread exists; SIG_DFL is a valid
    // disposition for SIGPIPE and no Rust code relies on SIGPIPE being ignored.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {}
