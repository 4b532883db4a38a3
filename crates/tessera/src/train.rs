//! Training and evaluation loops for image classifiers, and the job behind
//! `tessera train <model> --dataset <name>`: any zoo model on any dataset of
//! `tessera_data::catalog`, inputs adapted to the model, CIFAR augmentation, a Keras-style
//! epoch log, a checkpoint and the history (CSV + PNG) after every epoch, `--resume`, and
//! data parallelism across `mpirun` ranks (`--distributed`). Loss and accuracy accumulate on the
//! device; the host reads them back only when the progress bar shows a number.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use tessera_data::{adapt, augment, catalog, Dataset, Split};
use tessera_nn::checkpoint;
use tessera_nn::layers::{self, Layer};
use tessera_nn::ops::{add, affine, sparse_categorical_crossentropy_with_accuracy};
use tessera_nn::optimizers::{Adam, Optimizer};
use tessera_nn::training::{BatchIter, Batches};
use tessera_nn::{no_grad, Device, Gpu, GpuOptions, Tensor};

use crate::distributed::{shard, Communicator, DataParallel, SingleProcess};
use crate::viz::{read_history, write_history, EpochRecord};
use crate::zoo::{self, ZooModel, ZooSpec};

/// Settings of a training run (defaults: the TensorFlow LeNet-5 tutorial's).
#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// The zoo model (`tessera::zoo::by_name`).
    pub model: String,
    /// Passes over the training set.
    pub epochs: usize,
    /// Examples per step.
    pub batch_size: usize,
    /// Adam's learning rate in the first epoch.
    pub learning_rate: f32,
    /// Factor applied to the learning rate after every epoch (1.0 keeps it constant).
    pub lr_decay: f32,
    /// Seed for initialisation, shuffling and augmentation.
    pub seed: u64,
    /// Use only N training images (drawn by a fixed seed).
    pub train_limit: Option<usize>,
    /// Evaluate on only N test (validation) images (drawn by a fixed seed).
    pub test_limit: Option<usize>,
    /// Where the checkpoint is written after each epoch.
    pub checkpoint: PathBuf,
    /// Continue from the checkpoint if it exists.
    pub resume: bool,
    /// Dataset directory (default: `TESSERA_DATA` or `~/.cache/tessera`).
    pub data_dir: Option<PathBuf>,
    /// A name of `tessera_data::catalog::NAMES`.
    pub dataset: String,
    /// Apply the CIFAR augmentation (pad 4, random crop, horizontal flip) to training batches.
    pub augment: bool,
    /// Train on the CPU reference backend even when a GPU is present.
    pub cpu: bool,
    /// Show progress bars.
    pub progress: bool,
    /// Train data-parallel across the ranks of `mpirun` (needs the `mpi` feature): each
    /// global batch of `batch_size` is split across ranks and gradients are all-reduced.
    pub distributed: bool,
    /// Rank `r` opens adapter `r % adapters` instead of the best adapter.
    pub gpu_per_rank: bool,
    /// Gradient bucket size for the all-reduces, in KiB.
    pub bucket_kb: usize,
    /// Seconds any collective may take before the job ends with an error.
    pub collective_timeout: f64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            model: "lenet5".into(),
            epochs: 6,
            batch_size: 32,
            learning_rate: 1e-3,
            lr_decay: 0.75,
            seed: 0,
            train_limit: None,
            test_limit: None,
            checkpoint: PathBuf::from("checkpoints/lenet5.safetensors"),
            resume: false,
            data_dir: None,
            dataset: "mnist".into(),
            augment: false,
            cpu: false,
            progress: true,
            distributed: false,
            gpu_per_rank: false,
            bucket_kb: 1024,
            collective_timeout: 300.0,
        }
    }
}

impl TrainConfig {
    /// Checks every setting and the checkpoint path before any work: a known model and
    /// dataset, positive sizes and limits, a finite positive learning rate and decay, an
    /// existing checkpoint when resuming, and a checkpoint directory that can be written.
    pub fn validate(&self) -> anyhow::Result<()> {
        zoo::by_name(&self.model)?;
        let positive = [("--epochs", Some(self.epochs)), ("--batch-size", Some(self.batch_size))];
        let limits = [("--train-limit", self.train_limit), ("--test-limit", self.test_limit)];
        if let Some((flag, _)) = positive.iter().chain(&limits).find(|(_, v)| *v == Some(0)) {
            anyhow::bail!("{flag} must be at least 1, got 0");
        }
        for (flag, v) in [("--learning-rate", self.learning_rate), ("--lr-decay", self.lr_decay)] {
            if !(v.is_finite() && v > 0.0) {
                anyhow::bail!("{flag} must be a finite number above 0, got {v}");
            }
        }
        if !catalog::NAMES.contains(&self.dataset.as_str()) {
            anyhow::bail!("unknown dataset '{}' (try: {})", self.dataset, catalog::NAMES.join(", "));
        }
        if self.resume && !self.checkpoint.is_file() {
            anyhow::bail!(
                "--resume: no checkpoint at {} (train without --resume to start from scratch)",
                self.checkpoint.display()
            );
        }
        check_writable(&self.checkpoint)
    }
}

/// Checks that a checkpoint can be written at `path` (its directory is created, a probe file
/// written and removed) so that a bad path fails before training, not after an epoch.
pub fn check_writable(path: &std::path::Path) -> anyhow::Result<()> {
    let shown = path.display();
    if path.is_dir() {
        anyhow::bail!("checkpoint {shown} is a directory; give a file path");
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let probe = dir.join(format!(".tessera-write-probe-{}", std::process::id()));
    let res = std::fs::create_dir_all(dir).and_then(|_| std::fs::write(&probe, b"probe"));
    let _ = std::fs::remove_file(&probe);
    res.map_err(|e| anyhow::anyhow!("checkpoint {shown} cannot be written: {e}"))
}

/// A model's usual training settings (the tutorials'): Adam's learning rate, its decay per
/// epoch and the batch size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recipe {
    /// Adam's learning rate.
    pub learning_rate: f32,
    /// Learning-rate factor per epoch.
    pub lr_decay: f32,
    /// Examples per step.
    pub batch_size: usize,
}

/// The usual settings for `spec`: LeNet-5 as the TensorFlow tutorial (1e-3 decayed by 0.75
/// per epoch), VGG13 for CIFAR with Adam 1e-4, every other model Adam 1e-3; the zoo's batch.
pub fn recipe(spec: &ZooSpec) -> Recipe {
    let (learning_rate, lr_decay) = match spec.name {
        "lenet5" => (1e-3, 0.75),
        "vgg13_cifar" => (1e-4, 1.0),
        _ => (1e-3, 1.0),
    };
    Recipe { learning_rate, lr_decay, batch_size: spec.batch }
}

/// What a run achieved.
#[derive(Debug, Clone, Default)]
pub struct TrainReport {
    /// Test (validation) accuracy after each epoch.
    pub test_accuracy: Vec<f32>,
    /// Test (validation) loss after each epoch.
    pub test_loss: Vec<f32>,
    /// Mean training loss of each epoch.
    pub train_loss: Vec<f32>,
    /// Mean training accuracy of each epoch.
    pub train_accuracy: Vec<f32>,
    /// Training images per second of each epoch.
    pub images_per_sec: Vec<f64>,
}

/// The GPU if one opens, else the CPU with a one-line notice.
pub fn pick_device(cpu: bool) -> Device {
    if cpu {
        return Device::Cpu;
    }
    match Device::gpu() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{e}; training on the CPU reference backend");
            Device::Cpu
        }
    }
}

/// A batch's images and labels as tensors on `dev`.
fn batch_tensors(b: &tessera_data::Batch, dev: &Device) -> tessera_nn::Result<(Tensor, Tensor)> {
    shard_tensors(b, 0..b.batch_size, dev)
}

/// Rows `rows` of a batch's images and labels as tensors on `dev`.
fn shard_tensors(
    b: &tessera_data::Batch,
    rows: std::ops::Range<usize>,
    dev: &Device,
) -> tessera_nn::Result<(Tensor, Tensor)> {
    let mut shape = b.shape();
    let per = shape[1..].iter().product::<usize>();
    shape[0] = rows.len();
    let x = Tensor::from_slice(&b.images[rows.start * per..rows.end * per], &shape, dev)?;
    let y: Vec<f32> = b.labels[rows.clone()].iter().map(|&l| l as f32).collect();
    Ok((x, Tensor::from_vec(y, &[rows.len()], dev)?))
}

/// The communicator for `cfg`: MPI's world when distributed, else a single process.
pub fn communicator(cfg: &TrainConfig) -> anyhow::Result<Arc<dyn Communicator>> {
    if !cfg.distributed {
        return Ok(Arc::new(SingleProcess));
    }
    #[cfg(feature = "mpi")]
    {
        let timeout = crate::distributed::timeout_secs(cfg.collective_timeout)?;
        Ok(Arc::new(crate::distributed::MpiCommunicator::init(timeout)?))
    }
    #[cfg(not(feature = "mpi"))]
    anyhow::bail!("--distributed needs tessera built with the `mpi` feature (cargo build --release --features mpi)")
}

/// This rank's device: the CPU when asked, adapter `rank % adapters` with `gpu_per_rank`,
/// else the best GPU (or the CPU with a notice).
pub fn rank_device(cfg: &TrainConfig, rank: usize) -> anyhow::Result<Device> {
    if cfg.cpu || !cfg.gpu_per_rank {
        return Ok(pick_device(cfg.cpu));
    }
    let opts = GpuOptions { adapter_index: Some(rank), ..GpuOptions::from_env()? };
    Ok(Device::Gpu(Gpu::with_options(&opts)?))
}

/// One data-parallel step on this rank's `rows` of a global batch of `global` examples;
/// returns this rank's (loss, accuracy) scalars, still on the device.
pub fn train_step_distributed(
    model: &dyn Layer,
    opt: &mut dyn Optimizer,
    dp: &mut DataParallel,
    x: &Tensor,
    y: &Tensor,
    global: usize,
) -> anyhow::Result<(Tensor, Tensor)> {
    let (loss, acc) = layers::sparse_xent_with_accuracy(model, x, y, true)?;
    let grads = dp.backward(&loss, x.shape()[0] as f32 / global as f32)?;
    opt.apply_gradients(&grads, &layers::trainable(model))?;
    Ok((loss.detach(), acc))
}

/// A [`Batches`] source for `Compiled::fit_batches` over a `tessera_data` [`Dataset`]: every
/// epoch shuffled from `seed` and the epoch number (or in order), images `[b, h, w, c]` and
/// labels (f32 class ids `[b]`) uploaded to `device`.
pub struct DatasetBatches<'a> {
    data: &'a Dataset,
    batch_size: usize,
    shuffle: Option<u64>,
    device: Device,
}

impl<'a> DatasetBatches<'a> {
    /// Batches of `batch_size` (the last may be smaller); `shuffle: Some(seed)` reshuffles
    /// every epoch.
    pub fn new(data: &'a Dataset, batch_size: usize, shuffle: Option<u64>, device: &Device) -> Self {
        Self { data, batch_size, shuffle, device: device.clone() }
    }
}

impl Batches for DatasetBatches<'_> {
    fn epoch(&mut self, epoch: usize) -> tessera_nn::Result<BatchIter<'_>> {
        let batches = match self.shuffle {
            Some(seed) => self.data.shuffled_batches(self.batch_size, false, seed ^ (epoch as u64) << 32),
            None => self.data.batches(self.batch_size, false),
        };
        let batches = batches.map_err(|e| tessera_nn::shape_err("fit", e.to_string()))?;
        let dev = self.device.clone();
        Ok(Box::new(batches.map(move |b| batch_tensors(&b, &dev))))
    }
    fn steps(&self) -> Option<usize> {
        Some(self.data.len().div_ceil(self.batch_size.max(1)))
    }
}

/// One optimisation step of a model that outputs logits (sparse categorical cross-entropy);
/// returns the (loss, accuracy) scalars, still on the device.
pub fn train_step(
    model: &dyn Layer,
    opt: &mut dyn Optimizer,
    x: &Tensor,
    y: &Tensor,
) -> tessera_nn::Result<(Tensor, Tensor)> {
    let (loss, acc) = layers::sparse_xent_with_accuracy(model, x, y, true)?;
    let grads = loss.backward()?;
    opt.apply_gradients(&grads, &layers::trainable(model))?;
    Ok((loss.detach(), acc))
}

fn bar(len: usize, show: bool, what: &str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len as u64);
    let style = ProgressStyle::with_template(&format!(
        "{what} {{bar:30}} {{pos}}/{{len}} [{{elapsed_precise}}<{{eta_precise}}] {{msg}}"
    ))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    pb.set_style(style);
    pb
}

/// How a dataset's batches reach the model: adapted to its input shape and, for training,
/// augmented.
#[derive(Debug, Clone, Copy)]
pub struct Feed {
    /// The model's input shape `[h, w, c]`.
    pub input: [usize; 3],
    /// Apply the CIFAR augmentation.
    pub augment: bool,
}

impl Feed {
    /// The tensors of batch `b` (augmented with `seed` when enabled, then adapted).
    fn tensors(&self, b: tessera_data::Batch, seed: u64, dev: &Device) -> anyhow::Result<(Tensor, Tensor)> {
        let rows = 0..b.batch_size;
        self.shard(b, rows, seed, dev)
    }

    /// Rows `rows` of batch `b`, augmented (the whole batch, from `seed`, so that every rank
    /// sees the same augmentation) and adapted.
    fn shard(
        &self,
        mut b: tessera_data::Batch,
        rows: std::ops::Range<usize>,
        seed: u64,
        dev: &Device,
    ) -> anyhow::Result<(Tensor, Tensor)> {
        if self.augment {
            augment::augment_batch(&mut b, seed);
        }
        Ok(shard_tensors(&adapt::adapt_batch(&b, self.input)?, rows, dev)?)
    }
}

/// Mean loss and accuracy of an epoch, and its speed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochStats {
    /// Mean training loss.
    pub loss: f32,
    /// Mean training accuracy.
    pub accuracy: f32,
    /// Training images per second.
    pub images_per_sec: f64,
    /// Steps run.
    pub steps: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// One epoch over `data` (shuffled with the seed and epoch) through `feed`.
pub fn train_epoch(
    model: &dyn Layer,
    opt: &mut dyn Optimizer,
    data: &Dataset,
    feed: Feed,
    dev: &Device,
    cfg: &TrainConfig,
    epoch: usize,
) -> anyhow::Result<EpochStats> {
    run_epoch(model, opt, data, feed, dev, cfg, epoch, None)
}

/// One data-parallel epoch: every rank walks the same shuffled global batches and trains on
/// its shard of each; returns the loss and accuracy averaged over ranks and the global speed.
/// Only rank 0 shows the progress bar.
#[allow(clippy::too_many_arguments)]
pub fn train_epoch_distributed(
    model: &dyn Layer,
    opt: &mut dyn Optimizer,
    dp: &mut DataParallel,
    data: &Dataset,
    feed: Feed,
    dev: &Device,
    cfg: &TrainConfig,
    epoch: usize,
) -> anyhow::Result<EpochStats> {
    let stats = run_epoch(model, opt, data, feed, dev, cfg, epoch, Some(&mut *dp))?;
    let sums = dp.all_reduce(vec![stats.loss, stats.accuracy], "all-reduce of the epoch's loss and accuracy")?;
    let ranks = dp.size() as f32;
    Ok(EpochStats { loss: sums[0] / ranks, accuracy: sums[1] / ranks, ..stats })
}

/// One step on this process's share of global batch `b` (all of it without `dp`).
fn step_on(
    model: &dyn Layer,
    opt: &mut dyn Optimizer,
    dp: Option<&mut DataParallel>,
    (b, feed, seed): (tessera_data::Batch, Feed, u64),
    dev: &Device,
) -> anyhow::Result<(Tensor, Tensor)> {
    let Some(dp) = dp else {
        let (x, y) = feed.tensors(b, seed, dev)?;
        return Ok(train_step(model, opt, &x, &y)?);
    };
    let global = b.batch_size;
    let (x, y) = feed.shard(b, shard(global, dp.rank(), dp.size()), seed, dev)?;
    train_step_distributed(model, opt, dp, &x, &y, global)
}

#[allow(clippy::too_many_arguments)]
fn run_epoch(
    model: &dyn Layer,
    opt: &mut dyn Optimizer,
    data: &Dataset,
    feed: Feed,
    dev: &Device,
    cfg: &TrainConfig,
    epoch: usize,
    mut dp: Option<&mut DataParallel>,
) -> anyhow::Result<EpochStats> {
    let ranks = dp.as_ref().map_or(1, |d| d.size());
    let lead = dp.as_ref().is_none_or(|d| d.rank() == 0);
    let steps = data.len().div_ceil(cfg.batch_size);
    let pb = bar(steps, cfg.progress && lead, &format!("epoch {}/{}", epoch + 1, cfg.epochs));
    let start = Instant::now();
    let (mut loss_sum, mut acc_sum) = (Tensor::zeros(&[], dev)?, Tensor::zeros(&[], dev)?);
    let (mut seen, mut steps_done) = (0usize, 0usize);
    let seed = cfg.seed ^ (epoch as u64) << 32;
    for b in data.shuffled_batches(cfg.batch_size, false, seed)? {
        if b.batch_size < ranks {
            continue; // a last batch too small to give every rank an example
        }
        seen += b.batch_size;
        let step_seed = seed ^ (steps_done as u64 + 1) << 16;
        let (loss, acc) = step_on(model, opt, dp.as_deref_mut(), (b, feed, step_seed), dev)?;
        (loss_sum, acc_sum) = no_grad(|| Ok::<_, tessera_nn::Error>((add(&loss_sum, &loss)?, add(&acc_sum, &acc)?)))?;
        steps_done += 1;
        pb.inc(1);
        if cfg.progress && lead && (steps_done % 50 == 0 || steps_done == steps) {
            let n = steps_done as f32;
            let ips = seen as f64 / start.elapsed().as_secs_f64();
            pb.set_message(format!("loss {:.4} acc {:.4} {ips:.0} img/s", loss_sum.item()? / n, acc_sum.item()? / n));
        }
    }
    pb.finish_and_clear();
    let n = steps_done.max(1) as f32;
    let seconds = start.elapsed().as_secs_f64();
    let (loss, accuracy) = (loss_sum.item()? / n, acc_sum.item()? / n);
    Ok(EpochStats { loss, accuracy, images_per_sec: seen as f64 / seconds, steps: steps_done, seconds })
}

/// Loss and accuracy of `model` on `data` in inference mode, through `feed` (never augmented).
pub fn evaluate(
    model: &dyn Layer,
    data: &Dataset,
    feed: Feed,
    dev: &Device,
    batch_size: usize,
) -> anyhow::Result<(f32, f32)> {
    let (loss, correct) = eval_sums(model, data, feed, dev, batch_size)?;
    let total = data.len().max(1) as f32;
    Ok((loss / total, correct / total))
}

/// Sharded evaluation: each rank scores its share of `data`, the sums are added over ranks
/// and every rank returns the mean loss and accuracy on the whole of `data`.
pub fn evaluate_distributed(
    model: &dyn Layer,
    dp: &DataParallel,
    data: &Dataset,
    feed: Feed,
    dev: &Device,
    batch_size: usize,
) -> anyhow::Result<(f32, f32)> {
    let part = data.subset(shard(data.len(), dp.rank(), dp.size()))?;
    let (loss, correct) = eval_sums(model, &part, feed, dev, batch_size)?;
    let sums = dp.all_reduce(vec![loss, correct], "all-reduce of the evaluation sums")?;
    let n = data.len().max(1) as f32;
    Ok((sums[0] / n, sums[1] / n))
}

/// Summed loss and correct predictions of `model` on `data` in inference mode.
fn eval_sums(
    model: &dyn Layer,
    data: &Dataset,
    feed: Feed,
    dev: &Device,
    batch_size: usize,
) -> anyhow::Result<(f32, f32)> {
    let feed = Feed { augment: false, ..feed };
    let (mut loss, mut correct) = (Tensor::zeros(&[], dev)?, Tensor::zeros(&[], dev)?);
    for b in data.batches(batch_size, false)? {
        let n = b.batch_size as f32;
        let (x, y) = feed.tensors(b, 0, dev)?;
        (loss, correct) = no_grad(|| {
            let logits = model.call(&x, false)?;
            let (l, a) = sparse_categorical_crossentropy_with_accuracy(&y, &logits, true)?;
            let (l, a) = (affine(&l, n, 0.0)?, affine(&a, n, 0.0)?);
            Ok::<_, tessera_nn::Error>((add(&loss, &l)?, add(&correct, &a)?))
        })?;
    }
    Ok((loss.item()?, correct.item()?))
}

/// Loads an MNIST split, optionally truncated.
pub fn mnist(split: Split, limit: Option<usize>, dir: Option<&std::path::Path>) -> anyhow::Result<Dataset> {
    load("mnist", split, limit, dir)
}

/// Loads a split of a dataset of `tessera_data::catalog`; with a `limit`, keeps that many
/// examples drawn by a fixed seed (in their original order), so a class-sorted split such as
/// dogs-vs-cats keeps every class.
pub fn load(name: &str, split: Split, limit: Option<usize>, dir: Option<&std::path::Path>) -> anyhow::Result<Dataset> {
    let ds = catalog::load(name, split, dir)?;
    Ok(match limit {
        Some(n) if n < ds.len() => {
            let mut keep = tessera_data::rng::permutation(ds.len(), 0);
            keep.truncate(n);
            keep.sort_unstable();
            ds.select(&keep)?
        }
        _ => ds,
    })
}

/// The Keras epoch line: `13/13 - 5s 380ms/step - accuracy: 0.5120 - loss: 0.6931 - val_...`.
pub fn keras_epoch_line(stats: &EpochStats, val_loss: f32, val_accuracy: f32) -> String {
    let per_step = stats.seconds * 1e3 / stats.steps.max(1) as f64;
    format!(
        "{0}/{0} ━━━━━━━━━━━━━━━━━━━━ {1:.0}s {per_step:.0}ms/step - accuracy: {2:.4} - loss: {3:.4} - \
         val_accuracy: {val_accuracy:.4} - val_loss: {val_loss:.4}",
        stats.steps, stats.seconds, stats.accuracy, stats.loss
    )
}

/// A zoo model built on `dev` for `input` and `classes`.
pub fn build_model(
    spec: &ZooSpec,
    input: [usize; 3],
    classes: usize,
    dev: &Device,
    seed: u64,
) -> anyhow::Result<ZooModel> {
    let mut model = (spec.make)(&input, classes)?;
    model.build(dev, seed)?;
    Ok(model)
}

/// Restores weights and optimizer state from `cfg.checkpoint` (which must hold this model
/// trained on this dataset); returns the epochs already done.
fn resume(cfg: &TrainConfig, model: &ZooModel, opt: &mut Adam) -> anyhow::Result<usize> {
    let meta = checkpoint::read_metadata(&cfg.checkpoint)?;
    let get = |k: &str| meta.get(k).cloned().unwrap_or_default();
    // Checkpoints of `tessera train lenet5` from before the zoo carry no model or dataset.
    let legacy = cfg.model == "lenet5" && !meta.contains_key("model");
    if !legacy && (get("model") != cfg.model || get("dataset") != cfg.dataset) {
        anyhow::bail!(
            "{} holds {} trained on {}, not {} on {}",
            cfg.checkpoint.display(),
            get("model"),
            get("dataset"),
            cfg.model,
            cfg.dataset
        );
    }
    checkpoint::load(&cfg.checkpoint, &model.variables(), Some(opt))?;
    Ok(get("epoch").parse().unwrap_or(0))
}

/// Prints only on rank 0 (every process when not distributed).
struct Say(bool);

impl Say {
    fn line(&self, s: impl std::fmt::Display) {
        if self.0 {
            println!("{s}");
        }
    }
}

/// The data-parallel wrapper for a distributed run (`None` otherwise).
fn data_parallel(
    cfg: &TrainConfig,
    comm: &Arc<dyn Communicator>,
    model: &ZooModel,
) -> anyhow::Result<Option<DataParallel>> {
    if !cfg.distributed {
        return Ok(None);
    }
    let mut dp = DataParallel::new(comm.clone(), model.variables())?;
    dp.set_bucket_bytes(cfg.bucket_kb * 1024);
    Ok(Some(dp))
}

/// `tessera train <model> --dataset <name>`: trains the zoo model `cfg.model` with Adam
/// (sparse categorical cross-entropy on its logits), evaluating on the test (validation) split
/// and saving a checkpoint and the history after every epoch. The checkpoint's metadata names
/// the model, the dataset, its number of classes and the input shape, for `--resume` and
/// `tessera predict`. With `distributed` (under `mpirun`) every rank trains a replica on its
/// share of each batch; rank 0 alone prints, shows progress and writes files, and evaluation
/// is sharded.
pub fn train(cfg: &TrainConfig) -> anyhow::Result<TrainReport> {
    cfg.validate()?;
    let spec = zoo::by_name(&cfg.model)?;
    let comm = communicator(cfg)?;
    let (lead, say) = (comm.rank() == 0, Say(comm.rank() == 0));
    let dev = rank_device(cfg, comm.rank())?;
    match cfg.distributed {
        true => println!("rank {} of {}: device {dev}", comm.rank(), comm.size()),
        false => println!("device: {dev}"),
    }
    let train = load(&cfg.dataset, Split::Train, cfg.train_limit, cfg.data_dir.as_deref())?;
    let test = load(&cfg.dataset, Split::Test, cfg.test_limit, cfg.data_dir.as_deref())?;
    let classes = train.num_classes();
    let feed = Feed { input: spec.input, augment: cfg.augment };
    say.line(format!(
        "{}: {} training and {} test images {:?} → {} input {:?}, {classes} classes{}",
        cfg.dataset,
        train.len(),
        test.len(),
        train.image_shape(),
        spec.name,
        spec.input,
        if cfg.augment { ", augmented (pad 4, random crop, flip)" } else { "" }
    ));
    let model = build_model(spec, spec.input, classes, &dev, cfg.seed)?;
    say.line(format!("{} parameters", model.count_params()));
    let mut opt = Adam::new(cfg.learning_rate);
    let first_epoch = if cfg.resume { resume(cfg, &model, &mut opt)? } else { 0 };
    if first_epoch > 0 {
        say.line(format!("resumed from {} after epoch {first_epoch}", cfg.checkpoint.display()));
    }
    let mut dp = data_parallel(cfg, &comm, &model)?;
    let mut report = TrainReport::default();
    let mut history: Vec<EpochRecord> =
        read_history(&cfg.checkpoint).into_iter().filter(|r| r.epoch <= first_epoch).collect();
    for epoch in first_epoch..cfg.epochs {
        say.line(format!("Epoch {}/{}", epoch + 1, cfg.epochs));
        opt.set_learning_rate(cfg.learning_rate * cfg.lr_decay.powi(epoch as i32));
        let (stats, (val_loss, val_acc)) = match dp.as_mut() {
            None => (
                train_epoch(model.layer(), &mut opt, &train, feed, &dev, cfg, epoch)?,
                evaluate(model.layer(), &test, feed, &dev, cfg.batch_size)?,
            ),
            Some(dp) => {
                let stats = train_epoch_distributed(model.layer(), &mut opt, dp, &train, feed, &dev, cfg, epoch)?;
                dp.average_non_trainable()?;
                (stats, evaluate_distributed(model.layer(), dp, &test, feed, &dev, cfg.batch_size)?)
            }
        };
        say.line(keras_epoch_line(&stats, val_loss, val_acc));
        if !stats.loss.is_finite() {
            anyhow::bail!(
                "the training loss became {} in epoch {}; {} was not overwritten (lower --learning-rate)",
                stats.loss,
                epoch + 1,
                cfg.checkpoint.display()
            );
        }
        history.push(EpochRecord {
            epoch: epoch + 1,
            loss: stats.loss,
            accuracy: stats.accuracy,
            val_loss,
            val_accuracy: val_acc,
            learning_rate: opt.learning_rate(),
            seconds: stats.seconds,
        });
        if lead {
            write_history(&cfg.checkpoint, &history)?;
            save_checkpoint(cfg, &model, &opt, epoch + 1, classes, val_acc)?;
        }
        report.test_accuracy.push(val_acc);
        report.test_loss.push(val_loss);
        report.train_loss.push(stats.loss);
        report.train_accuracy.push(stats.accuracy);
        report.images_per_sec.push(stats.images_per_sec);
    }
    if let Some(dp) = &dp {
        say.line(distributed_summary(dp));
    }
    say.line(format!("checkpoint: {}", cfg.checkpoint.display()));
    let (csv, png) = crate::viz::history_paths(&cfg.checkpoint);
    say.line(format!("history: {} and {}", csv.display(), png.display()));
    Ok(report)
}

/// Writes the checkpoint with the metadata `--resume` and `tessera predict` read.
fn save_checkpoint(
    cfg: &TrainConfig,
    model: &ZooModel,
    opt: &Adam,
    epoch: usize,
    classes: usize,
    val_acc: f32,
) -> anyhow::Result<()> {
    let spec = zoo::by_name(&cfg.model)?;
    let input = spec.input.map(|d| d.to_string()).join(",");
    let meta = [
        ("epoch", epoch.to_string()),
        ("model", cfg.model.clone()),
        ("dataset", cfg.dataset.clone()),
        ("classes", classes.to_string()),
        ("input_shape", input),
        ("test_accuracy", val_acc.to_string()),
    ];
    checkpoint::save(&cfg.checkpoint, &model.variables(), Some(opt), &meta)?;
    Ok(())
}

/// `tessera train lenet5`: [`train`] with the model forced to LeNet-5.
pub fn train_lenet5(cfg: &TrainConfig) -> anyhow::Result<TrainReport> {
    train(&TrainConfig { model: "lenet5".into(), ..cfg.clone() })
}

/// One line on where a data-parallel run's time went, per step.
pub fn distributed_summary(dp: &DataParallel) -> String {
    let s = dp.stats();
    let n = s.steps.max(1) as f64;
    format!(
        "all-reduce: {} bytes per step in {} bucket(s) over {} ranks; per step: backward {:.2} ms, \
         then waiting for readbacks and all-reduces {:.2} ms; inside MPI all-reduce {:.2} ms",
        s.bytes_per_step,
        s.buckets,
        dp.size(),
        s.backward_seconds * 1e3 / n,
        s.wait_seconds * 1e3 / n,
        dp.comm().reduce_seconds() * 1e3 / n
    )
}
