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
    Ok((loss_sum.item()? / steps_done.max(1) as f32, ips))
}

/// Accuracy of `model` on `data` in inference mode.
pub fn evaluate(model: &Sequential, data: &Dataset, dev: &Device, batch_size: usize) -> anyhow::Result<f32> {
    let mut correct = Tensor::zeros(&[], dev)?;
    for b in data.batches(batch_size, false)? {
        let (x, y) = batch_tensors(&b, dev)?;
        let acc = no_grad(|| model.call(&x, false).and_then(|l| accuracy(&y, &l)))?;
        correct = add(&correct, &tessera_nn::ops::affine(&acc, b.batch_size as f32, 0.0)?)?;
    }
    Ok(correct.item()? / data.len().max(1) as f32)
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
    if cfg.resume && cfg.checkpoint.exists() {
        let info = checkpoint::load(&cfg.checkpoint, &model.variables(), Some(&mut opt))?;
        first_epoch = info.metadata.get("epoch").and_then(|e| e.parse().ok()).unwrap_or(0);
        println!("resumed from {} after epoch {first_epoch}", cfg.checkpoint.display());
    }
    let mut report = TrainReport::default();
    for epoch in first_epoch..cfg.epochs {
        opt.set_learning_rate(cfg.learning_rate * cfg.lr_decay.powi(epoch as i32));
        let (loss, ips) = train_epoch(&model, &mut opt, &train, &dev, cfg, epoch)?;
        let acc = evaluate(&model, &test, &dev, 1000)?;
        println!("epoch {}: loss {loss:.4}, test accuracy {:.2}%, {ips:.0} images/s", epoch + 1, acc * 100.0);
        let meta = [("epoch", (epoch + 1).to_string()), ("test_accuracy", acc.to_string())];
        checkpoint::save(&cfg.checkpoint, &model.variables(), Some(&opt), &meta)?;
        report.test_accuracy.push(acc);
        report.train_loss.push(loss);
        report.images_per_sec.push(ips);
    }
    println!("checkpoint: {}", cfg.checkpoint.display());
    Ok(report)
}
