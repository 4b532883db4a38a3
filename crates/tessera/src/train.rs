//! Training and evaluation loops for image classifiers, and the job behind
//! `tessera train <model> --dataset <name>`: any zoo model on any dataset of
//! `tessera_data::catalog`, inputs adapted to the model, CIFAR augmentation, a Keras-style
//! epoch log, a checkpoint after every epoch and `--resume`. Loss and accuracy accumulate on the
//! device; the host reads them back only when the progress bar shows a number.

use std::path::PathBuf;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use tessera_data::{adapt, augment, catalog, Dataset, Split};
use tessera_nn::checkpoint;
use tessera_nn::layers::{self, Layer};
use tessera_nn::ops::{accuracy, add, affine, sparse_categorical_crossentropy};
use tessera_nn::optimizers::{Adam, Optimizer};
use tessera_nn::training::{BatchIter, Batches};
use tessera_nn::{no_grad, Device, Tensor};

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
        }
    }
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

/// One optimisation step of a model that outputs logits (sparse categorical cross-entropy);
/// returns the (loss, accuracy) scalars, still on the device.
pub fn train_step(
    model: &dyn Layer,
    opt: &mut dyn Optimizer,
    x: &Tensor,
    y: &Tensor,
) -> tessera_nn::Result<(Tensor, Tensor)> {
    let logits = model.call(x, true)?;
    let loss = sparse_categorical_crossentropy(y, &logits, true)?;
    let grads = loss.backward()?;
    opt.apply_gradients(&grads, &layers::trainable(model))?;
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
    fn tensors(&self, mut b: tessera_data::Batch, seed: u64, dev: &Device) -> anyhow::Result<(Tensor, Tensor)> {
        if self.augment {
            augment::augment_batch(&mut b, seed);
        }
        Ok(batch_tensors(&adapt::adapt_batch(&b, self.input)?, dev)?)
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
    let steps = data.len().div_ceil(cfg.batch_size);
    let pb = bar(steps, cfg.progress, &format!("epoch {}/{}", epoch + 1, cfg.epochs));
    let start = Instant::now();
    let (mut loss_sum, mut acc_sum) = (Tensor::zeros(&[], dev)?, Tensor::zeros(&[], dev)?);
    let (mut seen, mut steps_done) = (0usize, 0usize);
    let seed = cfg.seed ^ (epoch as u64) << 32;
    for b in data.shuffled_batches(cfg.batch_size, false, seed)? {
        seen += b.batch_size;
        let (x, y) = feed.tensors(b, seed ^ (steps_done as u64 + 1) << 16, dev)?;
        let (loss, acc) = train_step(model, opt, &x, &y)?;
        (loss_sum, acc_sum) = no_grad(|| Ok::<_, tessera_nn::Error>((add(&loss_sum, &loss)?, add(&acc_sum, &acc)?)))?;
        steps_done += 1;
        pb.inc(1);
        if cfg.progress && (steps_done % 50 == 0 || steps_done == steps) {
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
    let feed = Feed { augment: false, ..feed };
    let (mut loss, mut correct) = (Tensor::zeros(&[], dev)?, Tensor::zeros(&[], dev)?);
    for b in data.batches(batch_size, false)? {
        let n = b.batch_size as f32;
        let (x, y) = feed.tensors(b, 0, dev)?;
        (loss, correct) = no_grad(|| {
            let logits = model.call(&x, false)?;
            let l = affine(&sparse_categorical_crossentropy(&y, &logits, true)?, n, 0.0)?;
            let a = affine(&accuracy(&y, &logits)?, n, 0.0)?;
            Ok::<_, tessera_nn::Error>((add(&loss, &l)?, add(&correct, &a)?))
        })?;
    }
    let total = data.len().max(1) as f32;
    Ok((loss.item()? / total, correct.item()? / total))
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
    if get("model") != cfg.model || get("dataset") != cfg.dataset {
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
    let done = get("epoch").parse().unwrap_or(0);
    println!("resumed from {} after epoch {done}", cfg.checkpoint.display());
    Ok(done)
}

/// `tessera train <model> --dataset <name>`: trains the zoo model `cfg.model` with Adam
/// (sparse categorical cross-entropy on its logits), evaluating on the test (validation) split
/// and saving a checkpoint after every epoch. The checkpoint's metadata names the model, the
/// dataset, its number of classes and the input shape, for `--resume` and `tessera predict`.
pub fn train(cfg: &TrainConfig) -> anyhow::Result<TrainReport> {
    let spec = zoo::by_name(&cfg.model)?;
    let dev = pick_device(cfg.cpu);
    println!("device: {dev}");
    let train = load(&cfg.dataset, Split::Train, cfg.train_limit, cfg.data_dir.as_deref())?;
    let test = load(&cfg.dataset, Split::Test, cfg.test_limit, cfg.data_dir.as_deref())?;
    let classes = train.num_classes();
    let feed = Feed { input: spec.input, augment: cfg.augment };
    println!(
        "{}: {} training and {} test images {:?} → {} input {:?}, {classes} classes{}",
        cfg.dataset,
        train.len(),
        test.len(),
        train.image_shape(),
        spec.name,
        spec.input,
        if cfg.augment { ", augmented (pad 4, random crop, flip)" } else { "" }
    );
    let model = build_model(spec, spec.input, classes, &dev, cfg.seed)?;
    println!("{} parameters", model.count_params());
    let mut opt = Adam::new(cfg.learning_rate);
    let first_epoch = if cfg.resume && cfg.checkpoint.exists() { resume(cfg, &model, &mut opt)? } else { 0 };
    let mut report = TrainReport::default();
    for epoch in first_epoch..cfg.epochs {
        println!("Epoch {}/{}", epoch + 1, cfg.epochs);
        opt.set_learning_rate(cfg.learning_rate * cfg.lr_decay.powi(epoch as i32));
        let stats = train_epoch(model.layer(), &mut opt, &train, feed, &dev, cfg, epoch)?;
        let (val_loss, val_acc) = evaluate(model.layer(), &test, feed, &dev, cfg.batch_size)?;
        println!("{}", keras_epoch_line(&stats, val_loss, val_acc));
        save_checkpoint(cfg, &model, &opt, epoch + 1, classes, val_acc)?;
        report.test_accuracy.push(val_acc);
        report.test_loss.push(val_loss);
        report.train_loss.push(stats.loss);
        report.train_accuracy.push(stats.accuracy);
        report.images_per_sec.push(stats.images_per_sec);
    }
    println!("checkpoint: {}", cfg.checkpoint.display());
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
