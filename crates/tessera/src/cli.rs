//! The `tessera` CLI: `info` (adapter report), `train` (any zoo model on any dataset),
//! `predict` (top classes of image files), `bench` (speed tables), `summary` (layers, receptive
//! fields, multiply-adds) and `viz` (pictures of filters, feature maps, saliency).

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
    /// Draw a trained model's filters, feature maps or saliency as PNG files.
    Viz {
        #[command(subcommand)]
        what: VizCmd,
    },
    /// Print a zoo model's Keras-style summary (layers, output shapes, parameter totals) and
    /// each layer's receptive field and multiply-adds.
    Summary {
        /// The zoo model (see `tessera::zoo::catalog`).
        model: String,
        /// The input shape H,W,C (default: the model's usual input).
        #[arg(long)]
        input_shape: Option<String>,
        /// The number of classes (default: the model's usual number).
        #[arg(long)]
        classes: Option<usize>,
    },
    /// Run a benchmark and print a table.
    Bench {
        /// What to benchmark: `ops`, `loads` (what each kind of memory access costs a kernel),
        /// `train <zoo model>` or `distributed <zoo model>` (under mpirun).
        what: String,
        /// The model, for `train` and `distributed`.
        model: Option<String>,
        /// Timed repetitions per case.
        #[arg(long, default_value_t = 5)]
        reps: usize,
        /// Only cases whose name contains this text.
        #[arg(long, default_value = "")]
        filter: String,
        /// Examples per step for `train` (default: the model's usual batch).
        #[arg(long)]
        batch: Option<usize>,
    },
}

/// Options every `tessera viz` command takes.
#[derive(clap::Args)]
struct VizCommon {
    /// The checkpoint (`tessera train`'s safetensors file).
    checkpoint: std::path::PathBuf,
    /// The zoo model the checkpoint belongs to.
    #[arg(long, default_value = "lenet5")]
    model: String,
    /// Folder for the PNGs (default: the checkpoint's).
    #[arg(long)]
    out: Option<std::path::PathBuf>,
}

#[derive(Subcommand)]
enum VizCmd {
    /// A grid of a conv layer's filters (default: the first conv layer).
    Filters {
        #[command(flatten)]
        common: VizCommon,
        /// The conv layer.
        #[arg(long)]
        layer: Option<String>,
    },
    /// The feature maps of every conv layer (or one layer) for an image, a tile per channel.
    Features {
        #[command(flatten)]
        common: VizCommon,
        /// The input picture (PNG or JPEG), resized to the model's input.
        #[arg(long)]
        image: std::path::PathBuf,
        /// Only this layer (any layer with image-shaped output).
        #[arg(long)]
        layer: Option<String>,
        /// Flip dark and light (for black digits on white paper).
        #[arg(long)]
        invert: bool,
    },
    /// Grad-CAM over the image and the gradient saliency map, for the predicted or a given class.
    Saliency {
        #[command(flatten)]
        common: VizCommon,
        /// The input picture (PNG or JPEG).
        #[arg(long)]
        image: std::path::PathBuf,
        /// The class to explain (default: the predicted one).
        #[arg(long)]
        class: Option<usize>,
        /// The layer Grad-CAM weighs (default: the last image-shaped layer).
        #[arg(long)]
        layer: Option<String>,
        /// Flip dark and light (for black digits on white paper).
        #[arg(long)]
        invert: bool,
    },
}

/// Runs `tessera viz`.
fn viz(cmd: VizCmd) -> anyhow::Result<()> {
    use crate::inspect::VizJob;
    let (common, job) = match cmd {
        VizCmd::Filters { common, layer } => (common, VizJob::Filters { layer }),
        VizCmd::Features { common, image, layer, invert } => (common, VizJob::Features { image, layer, invert }),
        VizCmd::Saliency { common, image, class, layer, invert } => {
            (common, VizJob::Saliency { image, class, layer, invert })
        }
    };
    crate::inspect::viz(&common.checkpoint, &common.model, &job, common.out.as_deref()).map(|_| ())
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

/// Runs one parsed command.
fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli.cmd {
        Cmd::Info => info(),
        Cmd::Bench { what, model, reps, filter, batch } => {
            crate::bench::run(&what, model.as_deref(), reps, &filter, batch).map_err(|e| batch_hint(e, "--batch"))
        }
        Cmd::Train(args) => args
            .config()
            .and_then(|cfg| crate::train::train(&cfg).map(|_| ()))
            .map_err(|e| batch_hint(e, "--batch-size")),
        Cmd::Predict { model, weights, top, cpu, images } => crate::predict::run(&model, &weights, &images, top, cpu),
        Cmd::Summary { model, input_shape, classes } => summary(&model, input_shape.as_deref(), classes),
        Cmd::Viz { what } => viz(what),
    }
}

/// `e`, with what to do about it when one step's tensors exceed what the adapter can hold (a
/// buffer past its buffer limit, or a binding no split avoids, such as one image past the
/// storage-binding limit): a smaller batch, given by `flag`.
fn batch_hint(e: anyhow::Error, flag: &str) -> anyhow::Error {
    use tessera_device::DeviceError;
    let too_large = |d: Option<&DeviceError>| matches!(d, Some(DeviceError::BufferTooLarge { .. }));
    let hit = e.chain().any(|c| {
        too_large(c.downcast_ref::<DeviceError>())
            || matches!(c.downcast_ref::<tessera_nn::Error>(), Some(tessera_nn::Error::Device(d)) if too_large(Some(d)))
    });
    match hit {
        true => {
            e.context(format!("one training step at this batch size does not fit this adapter; try a smaller {flag}"))
        }
        false => e,
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
    /// Data-parallel across the ranks of `mpirun -np N` (build with `--features mpi`):
    /// each global batch is split across ranks and gradients are all-reduced.
    #[arg(long)]
    distributed: bool,
    /// Rank r uses GPU adapter r % (number of adapters).
    #[arg(long)]
    gpu_per_rank: bool,
    /// Gradient bucket size for the all-reduces, in KiB.
    #[arg(long, default_value_t = 1024)]
    bucket_kb: usize,
    /// Seconds a collective may take before the job ends with an error (a rank died or hangs).
    #[arg(long, default_value_t = 300.0)]
    collective_timeout: f64,
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
            distributed: self.distributed,
            gpu_per_rank: self.gpu_per_rank,
            bucket_kb: self.bucket_kb,
            collective_timeout: self.collective_timeout,
        })
    }
}

/// Runs the command line `args` (the program name first) in this process, returning its error
/// instead of exiting (usage errors included).
pub fn run_args<I: IntoIterator<Item = T>, T: Into<std::ffi::OsString> + Clone>(args: I) -> anyhow::Result<()> {
    dispatch(Cli::try_parse_from(args)?)
}

/// `tessera summary <model> [--input-shape H,W,C] [--classes N]`.
fn summary(model: &str, input_shape: Option<&str>, classes: Option<usize>) -> anyhow::Result<()> {
    let shape = input_shape.map(crate::zoo::parse_shape).transpose()?;
    let m = crate::zoo::by_name(model)?.instantiate(shape.as_deref(), classes)?;
    println!("{}", m.summary().trim_end());
    println!("{}", m.analysis().trim_end());
    Ok(())
}

fn info() -> anyhow::Result<()> {
    use std::fmt::Write as _;
    let gpu = Gpu::new()?;
    let i = gpu.info();
    let l = gpu.limits();
    let mut s = String::new();
    writeln!(s, "adapter:  {}", i.name)?;
    writeln!(s, "backend:  {:?}", i.backend)?;
    writeln!(s, "type:     {:?}", i.device_type)?;
    writeln!(s, "driver:   {} {}", i.driver, i.driver_info)?;
    writeln!(s, "vendor:   0x{:04x}  device: 0x{:04x}", i.vendor, i.device)?;
    writeln!(s, "limits:")?;
    writeln!(s, "  max_buffer_size                     {}", l.max_buffer_size)?;
    writeln!(s, "  max_storage_buffer_binding_size     {}", l.max_storage_buffer_binding_size)?;
    writeln!(s, "  max_uniform_buffer_binding_size     {}", l.max_uniform_buffer_binding_size)?;
    writeln!(s, "  max_storage_buffers_per_shader_stage {}", l.max_storage_buffers_per_shader_stage)?;
    writeln!(s, "  max_compute_workgroups_per_dimension {}", l.max_compute_workgroups_per_dimension)?;
    writeln!(s, "  max_compute_invocations_per_workgroup {}", l.max_compute_invocations_per_workgroup)?;
    writeln!(s, "  max_compute_workgroup_storage_size  {}", l.max_compute_workgroup_storage_size)?;
    writeln!(s, "features: {:?} (those Tessera uses)", gpu.features())?;
    let sg = gpu.subgroup_sizes().map_or("none".into(), |(lo, hi)| format!("sizes {lo}..={hi}"));
    writeln!(s, "subgroups: {sg}")?;
    let cache = gpu.tune_cache_path().map_or("none (no cache directory)".into(), |p| p.display().to_string());
    writeln!(s, "autotune: {:?} (tuning allowance {}), cache {cache}", gpu.tune_mode(), gpu.tune_budget())?;
    if let Some(n) = std::env::var_os("LP_NUM_THREADS") {
        writeln!(s, "lavapipe compute workers: {} (LP_NUM_THREADS)", n.to_string_lossy())?;
    }
    print!("{s}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::batch_hint;
    use tessera_device::DeviceError;

    fn too_large() -> DeviceError {
        DeviceError::BufferTooLarge {
            bytes: 154_140_672,
            limit: 134_217_728,
            what: "storage binding of conv2d.wgsl:conv2d_direct".into(),
        }
    }

    #[test]
    fn a_step_too_large_for_the_adapter_suggests_a_smaller_batch() {
        let direct = format!("{:#}", batch_hint(too_large().into(), "--batch"));
        assert!(direct.starts_with("one training step at this batch size does not fit"), "{direct}");
        assert!(direct.contains("try a smaller --batch:") && direct.contains("154140672 bytes"), "{direct}");
        let wrapped = anyhow::Error::from(tessera_nn::Error::Device(too_large())).context("epoch 1");
        let msg = format!("{:#}", batch_hint(wrapped, "--batch-size"));
        assert!(msg.contains("try a smaller --batch-size") && msg.contains("epoch 1"), "{msg}");
    }

    #[test]
    fn other_errors_pass_unchanged() {
        let e = anyhow::anyhow!("mnist: file is truncated");
        assert_eq!(format!("{:#}", batch_hint(e, "--batch")), "mnist: file is truncated");
    }
}
