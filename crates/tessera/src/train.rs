//! Training and evaluation loops for image classifiers, and the LeNet-5 MNIST job behind
//! `tessera train lenet5`. Loss and accuracy accumulate on the device; the host reads them
//! back only when the progress bar shows a number.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use tessera_data::{Dataset, Split};
use tessera_nn::checkpoint;
use tessera_nn::models::Sequential;
use tessera_nn::ops::{accuracy, add, sparse_categorical_crossentropy};
use tessera_nn::optimizers::{Adam, Optimizer};
use tessera_nn::training::{BatchIter, Batches};
use tessera_nn::{no_grad, Device, Gpu, GpuOptions, Tensor};

use crate::distributed::{shard, Communicator, DataParallel, SingleProcess};

use crate::viz::{read_history, write_history, EpochRecord};

/// Settings of a training run (defaults: the TensorFlow tutorial's).
#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// Passes over the training set.
    pub epochs: usize,
    /// Examples per step.
    pub batch_size: usize,
    /// Adam's learning rate in the first epoch.
    pub learning_rate: f32,
    /// Factor applied to the learning rate after every epoch (1.0 keeps it constant).
    pub lr_decay: f32,
    /// Seed for initialisation and shuffling.
    pub seed: u64,
    /// Use only the first N training images.
    pub train_limit: Option<usize>,
    /// Evaluate on only the first N test images.
    pub test_limit: Option<usize>,
    /// Where the checkpoint is written after each epoch.
    pub checkpoint: PathBuf,
    /// Continue from the checkpoint if it exists.
    pub resume: bool,
    /// Dataset cache directory (default: `TESSERA_DATA` or `~/.cache/tessera`).
    pub data_dir: Option<PathBuf>,
    /// `mnist` (default) or `fashion-mnist`.
    pub dataset: String,
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
    /// Checks every setting and the checkpoint path before any work: positive sizes and
    /// limits, a finite positive learning rate and decay, a known dataset, an existing
    /// checkpoint when resuming, and a checkpoint directory that can be written.
    pub fn validate(&self) -> anyhow::Result<()> {
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
        if !["mnist", "fashion-mnist"].contains(&self.dataset.as_str()) {
            anyhow::bail!("unknown dataset '{}' (try: mnist, fashion-mnist)", self.dataset);
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

/// What a run achieved.
#[derive(Debug, Clone, Default)]
pub struct TrainReport {
    /// Test accuracy after each epoch.
    pub test_accuracy: Vec<f32>,
    /// Mean training loss of each epoch.
    pub train_loss: Vec<f32>,
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
    model: &Sequential,
    opt: &mut dyn Optimizer,
    dp: &mut DataParallel,
    x: &Tensor,
    y: &Tensor,
    global: usize,
) -> anyhow::Result<(Tensor, Tensor)> {
    let logits = model.call(x, true)?;
    let loss = sparse_categorical_crossentropy(y, &logits, true)?;
    let grads = dp.backward(&loss, x.shape()[0] as f32 / global as f32)?;
    opt.apply_gradients(&grads, &model.trainable_variables())?;
    let acc = accuracy(y, &logits.detach())?;
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

/// One optimisation step; returns the (loss, accuracy) scalars, still on the device.
pub fn train_step(
    model: &Sequential,
    opt: &mut dyn Optimizer,
    x: &Tensor,
    y: &Tensor,
) -> tessera_nn::Result<(Tensor, Tensor)> {
    let logits = model.call(x, true)?;
    let loss = sparse_categorical_crossentropy(y, &logits, true)?;
    let grads = loss.backward()?;
    opt.apply_gradients(&grads, &model.trainable_variables())?;
    let acc = accuracy(y, &logits.detach())?;
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

/// One epoch over `data` (shuffled with `seed`); returns (mean loss, images per second).
pub fn train_epoch(
    model: &Sequential,
    opt: &mut dyn Optimizer,
    data: &Dataset,
    dev: &Device,
    cfg: &TrainConfig,
    epoch: usize,
) -> anyhow::Result<(f32, f64)> {
    run_epoch(model, opt, data, dev, cfg, epoch, None).map(|(loss, _, ips)| (loss, ips))
}

/// [`train_epoch`] that also returns the mean training accuracy: (loss, accuracy, images/s).
pub fn train_epoch_metrics(
    model: &Sequential,
    opt: &mut dyn Optimizer,
    data: &Dataset,
    dev: &Device,
    cfg: &TrainConfig,
    epoch: usize,
) -> anyhow::Result<(f32, f32, f64)> {
    run_epoch(model, opt, data, dev, cfg, epoch, None)
}

/// One data-parallel epoch: every rank walks the same shuffled global batches and trains on
/// its shard of each; returns (mean loss and accuracy over ranks, global images per second).
/// Only rank 0 shows the progress bar.
pub fn train_epoch_distributed(
    model: &Sequential,
    opt: &mut dyn Optimizer,
    dp: &mut DataParallel,
    data: &Dataset,
    dev: &Device,
    cfg: &TrainConfig,
    epoch: usize,
) -> anyhow::Result<(f32, f32, f64)> {
    let (loss, acc, ips) = run_epoch(model, opt, data, dev, cfg, epoch, Some(&mut *dp))?;
    let sums = dp.all_reduce(vec![loss, acc], "all-reduce of the epoch's loss and accuracy")?;
    let ranks = dp.size() as f32;
    Ok((sums[0] / ranks, sums[1] / ranks, ips))
}

/// One step on this process's share of global batch `b` (all of it without `dp`).
fn step_on(
    model: &Sequential,
    opt: &mut dyn Optimizer,
    dp: Option<&mut DataParallel>,
    b: &tessera_data::Batch,
    dev: &Device,
) -> anyhow::Result<(Tensor, Tensor)> {
    let Some(dp) = dp else {
        let (x, y) = batch_tensors(b, dev)?;
        return Ok(train_step(model, opt, &x, &y)?);
    };
    let (x, y) = shard_tensors(b, shard(b.batch_size, dp.rank(), dp.size()), dev)?;
    train_step_distributed(model, opt, dp, &x, &y, b.batch_size)
}

fn run_epoch(
    model: &Sequential,
    opt: &mut dyn Optimizer,
    data: &Dataset,
    dev: &Device,
    cfg: &TrainConfig,
    epoch: usize,
    mut dp: Option<&mut DataParallel>,
) -> anyhow::Result<(f32, f32, f64)> {
    let ranks = dp.as_ref().map_or(1, |d| d.size());
    let lead = dp.as_ref().is_none_or(|d| d.rank() == 0);
    let steps = data.len().div_ceil(cfg.batch_size);
    let pb = bar(steps, cfg.progress && lead, &format!("epoch {}/{}", epoch + 1, cfg.epochs));
    let start = Instant::now();
    let (mut loss_sum, mut acc_sum) = (Tensor::zeros(&[], dev)?, Tensor::zeros(&[], dev)?);
    let (mut seen, mut steps_done) = (0usize, 0usize);
    for b in data.shuffled_batches(cfg.batch_size, false, cfg.seed ^ (epoch as u64) << 32)? {
        if b.batch_size < ranks {
            continue; // a last batch too small to give every rank an example
        }
        let (loss, acc) = step_on(model, opt, dp.as_deref_mut(), &b, dev)?;
        (loss_sum, acc_sum) = no_grad(|| Ok::<_, tessera_nn::Error>((add(&loss_sum, &loss)?, add(&acc_sum, &acc)?)))?;
        seen += b.batch_size;
        steps_done += 1;
        pb.inc(1);
        if lead && (steps_done % 50 == 0 || steps_done == steps) {
            let n = steps_done as f32;
            let ips = seen as f64 / start.elapsed().as_secs_f64();
            pb.set_message(format!("loss {:.4} acc {:.4} {ips:.0} img/s", loss_sum.item()? / n, acc_sum.item()? / n));
        }
    }
    pb.finish();
    let ips = seen as f64 / start.elapsed().as_secs_f64();
    let n = steps_done.max(1) as f32;
    Ok((loss_sum.item()? / n, acc_sum.item()? / n, ips))
}

/// Accuracy of `model` on `data` in inference mode.
pub fn evaluate(model: &Sequential, data: &Dataset, dev: &Device, batch_size: usize) -> anyhow::Result<f32> {
    evaluate_metrics(model, data, dev, batch_size).map(|(_, acc)| acc)
}

/// Mean loss and accuracy of `model` on `data` in inference mode.
pub fn evaluate_metrics(
    model: &Sequential,
    data: &Dataset,
    dev: &Device,
    batch_size: usize,
) -> anyhow::Result<(f32, f32)> {
    let (loss, correct) = eval_sums(model, data, dev, batch_size)?;
    let n = data.len().max(1) as f32;
    Ok((loss / n, correct / n))
}

/// Sharded evaluation: each rank scores its share of `data`, the sums are added over ranks
/// and every rank returns the mean loss and accuracy on the whole of `data`.
pub fn evaluate_distributed(
    model: &Sequential,
    dp: &DataParallel,
    data: &Dataset,
    dev: &Device,
    batch_size: usize,
) -> anyhow::Result<(f32, f32)> {
    let part = data.subset(shard(data.len(), dp.rank(), dp.size()))?;
    let (loss, correct) = eval_sums(model, &part, dev, batch_size)?;
    let sums = dp.all_reduce(vec![loss, correct], "all-reduce of the evaluation sums")?;
    let n = data.len().max(1) as f32;
    Ok((sums[0] / n, sums[1] / n))
}

/// Summed loss and correct predictions of `model` on `data` in inference mode.
fn eval_sums(model: &Sequential, data: &Dataset, dev: &Device, batch_size: usize) -> anyhow::Result<(f32, f32)> {
    let (mut loss, mut correct) = (Tensor::zeros(&[], dev)?, Tensor::zeros(&[], dev)?);
    for b in data.batches(batch_size, false)? {
        let (x, y) = batch_tensors(&b, dev)?;
        let n = b.batch_size as f32;
        (loss, correct) = no_grad(|| {
            let logits = model.call(&x, false)?;
            let l = tessera_nn::ops::affine(&sparse_categorical_crossentropy(&y, &logits, true)?, n, 0.0)?;
            let a = tessera_nn::ops::affine(&accuracy(&y, &logits)?, n, 0.0)?;
            Ok::<_, tessera_nn::Error>((add(&loss, &l)?, add(&correct, &a)?))
        })?;
    }
    Ok((loss.item()?, correct.item()?))
}

/// Loads an MNIST split, optionally truncated.
pub fn mnist(split: Split, limit: Option<usize>, dir: Option<&std::path::Path>) -> anyhow::Result<Dataset> {
    load("mnist", split, limit, dir)
}

/// Loads a split of `mnist` or `fashion-mnist` (28×28×1, 10 classes), optionally truncated.
pub fn load(name: &str, split: Split, limit: Option<usize>, dir: Option<&std::path::Path>) -> anyhow::Result<Dataset> {
    let ds = match name {
        "mnist" => tessera_data::mnist::load(split, dir)?,
        "fashion-mnist" => tessera_data::fashion_mnist::load(split, dir)?,
        other => anyhow::bail!("unknown dataset '{other}' (try: mnist, fashion-mnist)"),
    };
    Ok(match limit {
        Some(n) if n < ds.len() => ds.subset(0..n)?,
        _ => ds,
    })
}

/// `tessera train lenet5`: trains LeNet-5 on MNIST (or Fashion-MNIST) with Adam, evaluating on the test set and
/// saving a checkpoint after every epoch. With `distributed` (under `mpirun`) every rank trains
/// a replica on its share of each batch; rank 0 alone prints, shows progress and writes the
/// checkpoint, and evaluation is sharded.
pub fn train_lenet5(cfg: &TrainConfig) -> anyhow::Result<TrainReport> {
    cfg.validate()?;
    let comm = communicator(cfg)?;
    let lead = comm.rank() == 0;
    let say = |s: String| {
        if lead {
            println!("{s}");
        }
    };
    let dev = rank_device(cfg, comm.rank())?;
    if cfg.distributed {
        println!("rank {} of {}: device {dev}", comm.rank(), comm.size());
    } else {
        println!("device: {dev}");
    }
    let train = load(&cfg.dataset, Split::Train, cfg.train_limit, cfg.data_dir.as_deref())?;
    let test = load(&cfg.dataset, Split::Test, cfg.test_limit, cfg.data_dir.as_deref())?;
    say(format!("{}: {} training and {} test images", cfg.dataset, train.len(), test.len()));
    let mut model = crate::zoo::lenet5();
    model.build(&[28, 28, 1], &dev, cfg.seed)?;
    say(model.summary());
    let mut opt = Adam::new(cfg.learning_rate);
    let mut first_epoch = 0;
    if cfg.resume {
        let info = checkpoint::load(&cfg.checkpoint, &model.variables(), Some(&mut opt))?;
        first_epoch = info.metadata.get("epoch").and_then(|e| e.parse().ok()).unwrap_or(0);
        say(format!("resumed from {} after epoch {first_epoch}", cfg.checkpoint.display()));
    }
    let mut dp = match cfg.distributed {
        true => Some(DataParallel::new(comm.clone(), model.variables())?),
        false => None,
    };
    if let Some(dp) = dp.as_mut() {
        dp.set_bucket_bytes(cfg.bucket_kb * 1024);
    }
    let mut report = TrainReport::default();
    let mut history: Vec<EpochRecord> =
        read_history(&cfg.checkpoint).into_iter().filter(|r| r.epoch <= first_epoch).collect();
    for epoch in first_epoch..cfg.epochs {
        opt.set_learning_rate(cfg.learning_rate * cfg.lr_decay.powi(epoch as i32));
        let start = Instant::now();
        let ((loss, train_acc, ips), (val_loss, acc)) = match dp.as_mut() {
            None => (
                train_epoch_metrics(&model, &mut opt, &train, &dev, cfg, epoch)?,
                evaluate_metrics(&model, &test, &dev, 1000)?,
            ),
            Some(dp) => {
                let trained = train_epoch_distributed(&model, &mut opt, dp, &train, &dev, cfg, epoch)?;
                dp.average_non_trainable()?;
                (trained, evaluate_distributed(&model, dp, &test, &dev, 1000)?)
            }
        };
        let (learning_rate, seconds) = (opt.learning_rate(), start.elapsed().as_secs_f64());
        let record = EpochRecord {
            epoch: epoch + 1,
            loss,
            accuracy: train_acc,
            val_loss,
            val_accuracy: acc,
            learning_rate,
            seconds,
        };
        history.push(record);
        say(format!("epoch {}: loss {loss:.4}, test accuracy {:.2}%, {ips:.0} images/s", epoch + 1, acc * 100.0));
        if !loss.is_finite() {
            anyhow::bail!(
                "the training loss became {loss} in epoch {}; {} was not overwritten (lower --learning-rate)",
                epoch + 1,
                cfg.checkpoint.display()
            );
        }
        if lead {
            write_history(&cfg.checkpoint, &history)?;
            let meta = [("epoch", (epoch + 1).to_string()), ("test_accuracy", acc.to_string())];
            checkpoint::save(&cfg.checkpoint, &model.variables(), Some(&opt), &meta)?;
        }
        report.test_accuracy.push(acc);
        report.train_loss.push(loss);
        report.images_per_sec.push(ips);
    }
    if let Some(dp) = &dp {
        say(distributed_summary(dp));
    }
    say(format!("checkpoint: {}", cfg.checkpoint.display()));
    let (csv, png) = crate::viz::history_paths(&cfg.checkpoint);
    say(format!("history: {} and {}", csv.display(), png.display()));
    Ok(report)
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
