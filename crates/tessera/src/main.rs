//! The `tessera` command-line tool (native targets; the browser uses the library directly).

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    quiet_broken_pipe();
    software_gpu_workers();
    tessera::cli::main()
}

/// Runs lavapipe (Mesa's software Vulkan GPU) with two compute workers per core unless
/// `LP_NUM_THREADS` says otherwise. Its thread pool hands each worker a fixed share of a
/// dispatch's workgroups; on a 2-vCPU virtual machine a woken worker often waits behind the
/// other on one vCPU, so with one worker per core half of many dispatches ran on one core
/// (LeNet-5's step: 6.3 ms with 2 workers, 5.3 ms with 4; ResNet-18's and a large conv's the
/// same). Read when the driver loads, so it is set before the first device is created.
#[cfg(not(target_arch = "wasm32"))]
fn software_gpu_workers() {
    if std::env::var_os("LP_NUM_THREADS").is_none() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        // Called in `main` before any other thread exists (setting the environment races
        // with readers on other threads).
        std::env::set_var("LP_NUM_THREADS", (2 * cores).to_string());
    }
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
