//! The `tessera` CLI: `info` (adapter report), `train` (any zoo model on any dataset),
//! `predict` (top classes of image files) and `bench` (speed tables).

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
    /// Train a zoo model on a dataset (`tessera train resnet18_cifar --dataset dogs-vs-cats`).
    Train(TrainArgs),
    /// Print the top classes a trained model gives PNG/JPEG images.
    Predict {
        /// The zoo model the weights belong to.
        model: String,
        /// A checkpoint written by `tessera train`.
        #[arg(long)]
        weights: std::path::PathBuf,
        /// How many classes to print per image.
        #[arg(long, default_value_t = 3)]
        top: usize,
        /// Use the CPU reference backend.
        #[arg(long)]
        cpu: bool,
        /// The image files.
        #[arg(required = true)]
        images: Vec<std::path::PathBuf>,
    },
    /// Run a benchmark and print a table.
    Bench {
        /// What to benchmark: `ops`, or `train <zoo model>`.
        what: String,
        /// The model, for `train`.
        model: Option<String>,
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
    let res = dispatch(Cli::parse());
    match res {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `tessera train` options; the model's usual learning rate and batch apply unless given.
#[derive(clap::Args)]
struct TrainArgs {
    /// The zoo model (`tessera bench train` and `tessera summary` take the same names).
    model: String,
    /// The dataset: mnist, fashion-mnist, cifar10, cifar100 or dogs-vs-cats.
    #[arg(long, default_value = "mnist")]
    dataset: String,
    /// Passes over the training set.
    #[arg(long, default_value_t = 6)]
    epochs: usize,
    /// Examples per step (default: the model's usual batch).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Adam's learning rate in the first epoch (default: the model's tutorial's).
    #[arg(long)]
    learning_rate: Option<f32>,
    /// Learning-rate factor applied after every epoch (default: 0.75 for lenet5, else 1).
    #[arg(long)]
    lr_decay: Option<f32>,
    /// Seed for initialisation, shuffling and augmentation.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Train on only N images (drawn by a fixed seed).
    #[arg(long)]
    train_limit: Option<usize>,
    /// Evaluate on only N test (validation) images (drawn by a fixed seed).
    #[arg(long)]
    test_limit: Option<usize>,
    /// Checkpoint file written after every epoch (default: checkpoints/<model>.safetensors for
    /// MNIST, else checkpoints/<model>-<dataset>.safetensors).
    #[arg(long)]
    checkpoint: Option<std::path::PathBuf>,
    /// Continue from the checkpoint.
    #[arg(long)]
    resume: bool,
    /// Dataset directory (default: $TESSERA_DATA or ~/.cache/tessera); CIFAR's official
    /// binary archives (or their extracted folders) go here.
    #[arg(long)]
    data_dir: Option<std::path::PathBuf>,
    /// No CIFAR augmentation (on by default for cifar10, cifar100 and dogs-vs-cats).
    #[arg(long)]
    no_augment: bool,
    /// Use the CPU reference backend.
    #[arg(long)]
    cpu: bool,
    /// No progress bars.
    #[arg(long)]
    quiet: bool,
}

impl TrainArgs {
    /// The run's settings, with the model's recipe filling what was not given.
    fn config(self) -> anyhow::Result<crate::train::TrainConfig> {
        let spec = crate::zoo::by_name(&self.model)?;
        let recipe = crate::train::recipe(spec);
        let default_ckpt = match self.dataset.as_str() {
            "mnist" => format!("checkpoints/{}.safetensors", self.model),
            other => format!("checkpoints/{}-{other}.safetensors", self.model),
        };
        Ok(crate::train::TrainConfig {
            epochs: self.epochs,
            batch_size: self.batch_size.unwrap_or(recipe.batch_size),
            learning_rate: self.learning_rate.unwrap_or(recipe.learning_rate),
            lr_decay: self.lr_decay.unwrap_or(recipe.lr_decay),
            seed: self.seed,
            train_limit: self.train_limit,
            test_limit: self.test_limit,
            checkpoint: self.checkpoint.unwrap_or_else(|| default_ckpt.into()),
            resume: self.resume,
            data_dir: self.data_dir,
            augment: tessera_data::catalog::augments_by_default(&self.dataset) && !self.no_augment,
            dataset: self.dataset,
            model: self.model,
            cpu: self.cpu,
            progress: !self.quiet,
        })
    }
}

/// Runs the command line `args` (the program name first) in this process, returning its error
/// instead of exiting (usage errors included).
pub fn run_args<I: IntoIterator<Item = T>, T: Into<std::ffi::OsString> + Clone>(args: I) -> anyhow::Result<()> {
    dispatch(Cli::try_parse_from(args)?)
}

/// Runs one parsed command.
fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli.cmd {
        Cmd::Info => info(),
        Cmd::Bench { what, model, reps, filter } => crate::bench::run(&what, model.as_deref(), reps, &filter),
        Cmd::Train(args) => args.config().and_then(|cfg| crate::train::train(&cfg).map(|_| ())),
        Cmd::Predict { model, weights, top, cpu, images } => crate::predict::run(&model, &weights, &images, top, cpu),
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
