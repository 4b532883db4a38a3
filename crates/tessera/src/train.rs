//! Training and evaluation loops for image classifiers, and the LeNet-5 MNIST job behind
//! `tessera train lenet5`. Loss and accuracy accumulate on the device; the host reads them
//! back only when the progress bar shows a number.

use std::path::PathBuf;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use tessera_data::{Dataset, Split};
use tessera_nn::checkpoint;
use tessera_nn::models::Sequential;
use tessera_nn::ops::{accuracy, add, sparse_categorical_crossentropy};
use tessera_nn::optimizers::{Adam, Optimizer};
use tessera_nn::training::{BatchIter, Batches};
use tessera_nn::{no_grad, Device, Tensor};

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
    let x = Tensor::from_slice(&b.images, &b.shape(), dev)?;
    let y: Vec<f32> = b.labels.iter().map(|&l| l as f32).collect();
    Ok((x, Tensor::from_vec(y, &[b.batch_size], dev)?))
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
    train_epoch_metrics(model, opt, data, dev, cfg, epoch).map(|(loss, _, ips)| (loss, ips))
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
    let steps = data.len().div_ceil(cfg.batch_size);
    let pb = bar(steps, cfg.progress, &format!("epoch {}/{}", epoch + 1, cfg.epochs));
    let start = Instant::now();
    let (mut loss_sum, mut acc_sum) = (Tensor::zeros(&[], dev)?, Tensor::zeros(&[], dev)?);
    let (mut seen, mut steps_done) = (0usize, 0usize);
    for b in data.shuffled_batches(cfg.batch_size, false, cfg.seed ^ (epoch as u64) << 32)? {
        let (x, y) = batch_tensors(&b, dev)?;
        let (loss, acc) = train_step(model, opt, &x, &y)?;
        (loss_sum, acc_sum) = no_grad(|| Ok::<_, tessera_nn::Error>((add(&loss_sum, &loss)?, add(&acc_sum, &acc)?)))?;
        seen += b.batch_size;
        steps_done += 1;
        pb.inc(1);
        if steps_done % 50 == 0 || steps_done == steps {
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
    let n = data.len().max(1) as f32;
    Ok((loss.item()? / n, correct.item()? / n))
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
/// saving a checkpoint after every epoch.
pub fn train_lenet5(cfg: &TrainConfig) -> anyhow::Result<TrainReport> {
    cfg.validate()?;
    let dev = pick_device(cfg.cpu);
    println!("device: {dev}");
    let train = load(&cfg.dataset, Split::Train, cfg.train_limit, cfg.data_dir.as_deref())?;
    let test = load(&cfg.dataset, Split::Test, cfg.test_limit, cfg.data_dir.as_deref())?;
    println!("{}: {} training and {} test images", cfg.dataset, train.len(), test.len());
    let mut model = crate::zoo::lenet5();
    model.build(&[28, 28, 1], &dev, cfg.seed)?;
    println!("{}", model.summary());
    let mut opt = Adam::new(cfg.learning_rate);
    let mut first_epoch = 0;
    if cfg.resume {
        let info = checkpoint::load(&cfg.checkpoint, &model.variables(), Some(&mut opt))?;
        first_epoch = info.metadata.get("epoch").and_then(|e| e.parse().ok()).unwrap_or(0);
        println!("resumed from {} after epoch {first_epoch}", cfg.checkpoint.display());
    }
    let mut report = TrainReport::default();
    let mut history: Vec<EpochRecord> =
        read_history(&cfg.checkpoint).into_iter().filter(|r| r.epoch <= first_epoch).collect();
    for epoch in first_epoch..cfg.epochs {
        opt.set_learning_rate(cfg.learning_rate * cfg.lr_decay.powi(epoch as i32));
        let start = Instant::now();
        let (loss, train_acc, ips) = train_epoch_metrics(&model, &mut opt, &train, &dev, cfg, epoch)?;
        let (val_loss, acc) = evaluate_metrics(&model, &test, &dev, 1000)?;
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
        write_history(&cfg.checkpoint, &history)?;
        println!("epoch {}: loss {loss:.4}, test accuracy {:.2}%, {ips:.0} images/s", epoch + 1, acc * 100.0);
        if !loss.is_finite() {
            anyhow::bail!(
                "the training loss became {loss} in epoch {}; {} was not overwritten (lower --learning-rate)",
                epoch + 1,
                cfg.checkpoint.display()
            );
        }
        let meta = [("epoch", (epoch + 1).to_string()), ("test_accuracy", acc.to_string())];
        checkpoint::save(&cfg.checkpoint, &model.variables(), Some(&opt), &meta)?;
        report.test_accuracy.push(acc);
        report.train_loss.push(loss);
        report.images_per_sec.push(ips);
    }
    println!("checkpoint: {}", cfg.checkpoint.display());
    let (csv, png) = crate::viz::history_paths(&cfg.checkpoint);
    println!("history: {} and {}", csv.display(), png.display());
    Ok(report)
}
