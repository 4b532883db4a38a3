//! The `tessera` CLI: `info` (adapter report) and `bench` (speed tables).

use clap::{Parser, Subcommand};

use crate::device::Gpu;

/// Tessera: convolutional networks on any GPU through WebGPU.
#[derive(Parser)]
#[command(name = "tessera", version, about)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Print the GPU adapter, backend, driver, limits and features.
    Info,
    /// Run a benchmark and print a table.
    Bench {
        /// What to benchmark: `ops`.
        what: String,
        /// Timed repetitions per case.
        #[arg(long, default_value_t = 5)]
        reps: usize,
        /// Only cases whose name contains this text.
        #[arg(long, default_value = "")]
        filter: String,
    },
}

/// Runs the CLI; returns the process exit code.
pub fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let res = match cli.cmd {
        Cmd::Info => info(),
        Cmd::Bench { what, reps, filter } => crate::bench::run(&what, reps, &filter),
    };
    match res {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn info() -> anyhow::Result<()> {
    let gpu = Gpu::new()?;
    let i = gpu.info();
    println!("adapter:  {}", i.name);
    println!("backend:  {:?}", i.backend);
    println!("type:     {:?}", i.device_type);
    println!("driver:   {} {}", i.driver, i.driver_info);
    println!("vendor:   0x{:04x}  device: 0x{:04x}", i.vendor, i.device);
    let l = gpu.limits();
    println!("limits:");
    println!("  max_buffer_size                     {}", l.max_buffer_size);
    println!("  max_storage_buffer_binding_size     {}", l.max_storage_buffer_binding_size);
    println!("  max_storage_buffers_per_shader_stage {}", l.max_storage_buffers_per_shader_stage);
    println!("  max_compute_workgroups_per_dimension {}", l.max_compute_workgroups_per_dimension);
    println!("  max_compute_invocations_per_workgroup {}", l.max_compute_invocations_per_workgroup);
    println!("  max_compute_workgroup_storage_size  {}", l.max_compute_workgroup_storage_size);
    println!("features: {:?}", gpu.features());
    Ok(())
}
