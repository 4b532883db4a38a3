//! Keras's training API for any [`Layer`]: [`Compile::compile`] with an optimizer, a [`Loss`]
//! and [`Metric`]s gives a [`Compiled`] model with `fit` / `fit_batches` / `evaluate` /
//! `predict`, [`callbacks`](Callback) and the per-epoch [`History`].
//!
//! A training step is the forward pass with `training = true`, the loss, `backward` and
//! `apply_gradients`; the loss and metrics accumulate on the device (weighted by batch size,
//! averaged over samples as Keras does) and are read back at most once per step — only when a
//! callback shows per-step progress — and otherwise once per epoch.

mod callbacks;
mod data;
mod progbar;
mod spec;

use std::collections::BTreeMap;

pub use callbacks::{Callback, EarlyStopping, LearningRateScheduler, Mode, ReduceLROnPlateau, TrainContext};
#[cfg(not(target_arch = "wasm32"))]
pub use callbacks::{CsvLogger, ModelCheckpoint};
pub use data::{BatchIter, Batches, FnBatches, TensorBatches};
pub use progbar::ProgbarLogger;
pub use spec::{Loss, Metric};

use crate::checkpoint::host_values;
use crate::layers::{trainable, Layer};
use crate::ops::{add, affine, concat, slice};
use crate::optimizers::Optimizer;
use crate::{no_grad, shape_err, Result, Tensor};

/// One epoch's (or one evaluation's) numbers by name: `loss`, metric names, `val_*`,
/// `learning_rate`; sorted by key.
pub type Logs = BTreeMap<String, f32>;

/// What `fit` returns (Keras's `History`): the epochs run and every log key's value per epoch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// The epochs run (0-based).
    pub epoch: Vec<usize>,
    /// Each key's value at the end of each epoch.
    pub history: BTreeMap<String, Vec<f32>>,
}

impl History {
    /// The values of `key`, one per epoch.
    pub fn get(&self, key: &str) -> Option<&[f32]> {
        self.history.get(key).map(Vec::as_slice)
    }

    /// Number of epochs recorded.
    pub fn len(&self) -> usize {
        self.epoch.len()
    }

    /// True when no epoch ran.
    pub fn is_empty(&self) -> bool {
        self.epoch.is_empty()
    }

    fn push(&mut self, epoch: usize, logs: &Logs) {
        self.epoch.push(epoch);
        for (k, v) in logs {
            self.history.entry(k.clone()).or_default().push(*v);
        }
    }
}

/// `fit`'s keyword arguments with Keras's defaults (epochs 1, batch_size 32, shuffle, verbose 1).
pub struct FitOptions<'a> {
    /// Index of the epoch to stop before.
    pub epochs: usize,
    /// Examples per step (`fit(x, y)` only).
    pub batch_size: usize,
    /// `(x, y)` evaluated after every epoch (`val_*` keys).
    pub validation_data: Option<(&'a Tensor, &'a Tensor)>,
    /// Fraction of `x, y` (the last rows, before shuffling) held out for validation; ignored
    /// when `validation_data` is given (as in Keras).
    pub validation_split: f32,
    /// Shuffle the training rows every epoch (`fit(x, y)` only).
    pub shuffle: bool,
    /// Seed of the shuffling.
    pub seed: u64,
    /// Epoch to start from (for resuming).
    pub initial_epoch: usize,
    /// 0 silent, 1 progress bar, 2 one line per epoch.
    pub verbose: u8,
    /// Callbacks, called in order after the progress display.
    pub callbacks: Vec<&'a mut dyn Callback>,
}

impl Default for FitOptions<'_> {
    fn default() -> Self {
        Self {
            epochs: 1,
            batch_size: 32,
            validation_data: None,
            validation_split: 0.0,
            shuffle: true,
            seed: 0,
            initial_epoch: 0,
            verbose: 1,
            callbacks: Vec::new(),
        }
    }
}

impl<'a> FitOptions<'a> {
    /// Sets `epochs`.
    pub fn epochs(mut self, n: usize) -> Self {
        self.epochs = n;
        self
    }

    /// Sets `batch_size`.
    pub fn batch_size(mut self, n: usize) -> Self {
        self.batch_size = n;
        self
    }

    /// Sets `validation_data`.
    pub fn validation_data(mut self, x: &'a Tensor, y: &'a Tensor) -> Self {
        self.validation_data = Some((x, y));
        self
    }

    /// Sets `validation_split`.
    pub fn validation_split(mut self, f: f32) -> Self {
        self.validation_split = f;
        self
    }

    /// Sets `shuffle`.
    pub fn shuffle(mut self, s: bool) -> Self {
        self.shuffle = s;
        self
    }

    /// Sets the shuffling seed.
    pub fn seed(mut self, s: u64) -> Self {
        self.seed = s;
        self
    }

    /// Sets `initial_epoch`.
    pub fn initial_epoch(mut self, e: usize) -> Self {
        self.initial_epoch = e;
        self
    }

    /// Sets `verbose`.
    pub fn verbose(mut self, v: u8) -> Self {
        self.verbose = v;
        self
    }

    /// Appends a callback.
    pub fn callback(mut self, cb: &'a mut dyn Callback) -> Self {
        self.callbacks.push(cb);
        self
    }
}

/// `model.compile(optimizer, loss, metrics)` for every [`Layer`] (build the model first).
pub trait Compile: Layer + Sized {
    /// The model ready to `fit`, `evaluate` and `predict`.
    fn compile<O: Optimizer>(self, optimizer: O, loss: Loss, metrics: &[Metric]) -> Compiled<Self, O> {
        Compiled { model: self, optimizer, loss, metrics: metrics.to_vec() }
    }
}

impl<L: Layer> Compile for L {}

/// A compiled model: the model, its optimizer, loss and metrics.
pub struct Compiled<L, O> {
    model: L,
    optimizer: O,
    loss: Loss,
    metrics: Vec<Metric>,
}

/// The loss and metric values of a batch, still on the device, and the log names in order.
struct Step<'m, L> {
    model: &'m L,
    loss: Loss,
    metrics: &'m [Metric],
}

impl<L: Layer> Step<'_, L> {
    /// `loss` then every metric name.
    fn names(&self) -> Vec<String> {
        std::iter::once("loss").chain(self.metrics.iter().map(Metric::name)).map(String::from).collect()
    }

    /// `[loss, metric...]` of `y_pred` against `y` as one `[1 + m]` tensor (no gradient).
    fn stats(&self, loss: &Tensor, y: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        no_grad(|| {
            let mut parts = vec![loss.detach().reshape(&[1])?];
            for m in self.metrics {
                parts.push(m.call(y, &y_pred.detach())?.reshape(&[1])?);
            }
            concat(&parts.iter().collect::<Vec<_>>(), 0)
        })
    }

    /// One optimisation step; returns the batch's stats.
    fn train(&self, opt: &mut dyn Optimizer, x: &Tensor, y: &Tensor) -> Result<Tensor> {
        if self.head_fusable(y) {
            return self.train_head(opt, x, y);
        }
        let y_pred = self.model.call(x, true)?;
        let loss = self.loss.call(y, &y_pred)?;
        let grads = loss.backward()?;
        opt.apply_gradients(&grads, &trainable(self.model))?;
        self.stats(&loss, y, &y_pred)
    }

    /// Whether a step may take the loss and the accuracy from
    /// [`crate::layers::sparse_xent_with_accuracy`] (the model's last layer fused with the loss
    /// where it can): sparse categorical cross-entropy from logits against class ids `[n]`, and
    /// no metric but the accuracy (which for such labels is the sparse categorical accuracy).
    fn head_fusable(&self, y: &Tensor) -> bool {
        let accuracy = |m: &Metric| matches!(m, Metric::Accuracy | Metric::SparseCategoricalAccuracy);
        self.loss == (Loss::SparseCategoricalCrossentropy { from_logits: true })
            && y.rank() == 1
            && self.metrics.iter().all(accuracy)
    }

    /// [`Step::train`] through the fused head ([`Step::head_fusable`]).
    fn train_head(&self, opt: &mut dyn Optimizer, x: &Tensor, y: &Tensor) -> Result<Tensor> {
        let (loss, accuracy) = crate::layers::sparse_xent_with_accuracy(self.model, x, y, true)?;
        let grads = loss.backward()?;
        opt.apply_gradients(&grads, &trainable(self.model))?;
        no_grad(|| {
            let (loss, accuracy) = (loss.detach().reshape(&[1])?, accuracy.reshape(&[1])?);
            let parts: Vec<&Tensor> = std::iter::once(&loss).chain(self.metrics.iter().map(|_| &accuracy)).collect();
            concat(&parts, 0)
        })
    }

    /// The stats of a batch in inference mode.
    fn test(&self, x: &Tensor, y: &Tensor) -> Result<Tensor> {
        no_grad(|| {
            let y_pred = self.model.call(x, false)?;
            self.stats(&self.loss.call(y, &y_pred)?, y, &y_pred)
        })
    }

    /// Loss and metrics over every batch of `data` (epoch 0), in inference mode.
    fn evaluate(&self, data: &mut dyn Batches) -> Result<Logs> {
        let mut tally = Tally::new(self.names());
        for batch in data.epoch(0)? {
            let (x, y) = batch?;
            tally.add(&self.test(&x, &y)?, &x)?;
        }
        tally.read()
    }
}

/// Per-sample sums of the stats on the device, and the number of samples.
struct Tally {
    names: Vec<String>,
    sums: Option<Tensor>,
    samples: usize,
}

impl Tally {
    fn new(names: Vec<String>) -> Self {
        Self { names, sums: None, samples: 0 }
    }

    /// Adds a batch's mean stats, weighted by its size (the first dimension of `x`).
    fn add(&mut self, stats: &Tensor, x: &Tensor) -> Result<()> {
        let n = x.shape().first().copied().unwrap_or(1);
        let weighted = no_grad(|| affine(stats, n as f32, 0.0))?;
        self.sums = Some(match &self.sums {
            Some(s) => no_grad(|| add(s, &weighted))?,
            None => weighted,
        });
        self.samples += n;
        Ok(())
    }

    /// The means so far (one readback).
    fn read(&self) -> Result<Logs> {
        let Some(sums) = &self.sums else {
            return Err(shape_err("fit", "the data source yielded no batches"));
        };
        let values = host_values(sums)?;
        Ok(self.names.iter().cloned().zip(values.iter().map(|v| v / self.samples.max(1) as f32)).collect())
    }
}

impl<L: Layer, O: Optimizer> Compiled<L, O> {
    /// The model.
    pub fn model(&self) -> &L {
        &self.model
    }

    /// The model, mutably.
    pub fn model_mut(&mut self) -> &mut L {
        &mut self.model
    }

    /// The optimizer.
    pub fn optimizer(&self) -> &O {
        &self.optimizer
    }

    /// The optimizer, mutably.
    pub fn optimizer_mut(&mut self) -> &mut O {
        &mut self.optimizer
    }

    /// The loss.
    pub fn loss(&self) -> Loss {
        self.loss
    }

    /// The metrics.
    pub fn metrics(&self) -> &[Metric] {
        &self.metrics
    }

    /// The model and the optimizer back.
    pub fn into_parts(self) -> (L, O) {
        (self.model, self.optimizer)
    }

    fn step(&self) -> Step<'_, L> {
        Step { model: &self.model, loss: self.loss, metrics: &self.metrics }
    }

    /// Keras's `fit(x, y, ...)`: `epochs` passes over `x [n, ...]` / `y [n, ...]` in batches of
    /// `batch_size` (shuffled per epoch from `seed` unless `shuffle` is false), validating on
    /// `validation_data` or on the last `validation_split` of the rows.
    pub fn fit(&mut self, x: &Tensor, y: &Tensor, mut opts: FitOptions) -> Result<History> {
        let n = x.shape().first().copied().unwrap_or(0);
        let split = opts.validation_split;
        if !(0.0..1.0).contains(&split) {
            return Err(shape_err("fit", format!("validation_split {split} must be in [0, 1)")));
        }
        let keep = match split > 0.0 && opts.validation_data.is_none() {
            true => (n as f64 * (1.0 - split as f64)) as usize,
            false => n,
        };
        let mut val = match (opts.validation_data.take(), keep < n) {
            (Some((vx, vy)), _) => Some(TensorBatches::new(vx, vy, opts.batch_size, None)?),
            (None, true) => {
                let (vx, vy) = (slice(x, 0, keep, n - keep)?, slice(y, 0, keep, n - keep)?);
                Some(TensorBatches::new(&vx, &vy, opts.batch_size, None)?)
            }
            (None, false) => None,
        };
        let (tx, ty) = match keep < n {
            true => (slice(x, 0, 0, keep)?, slice(y, 0, 0, keep)?),
            false => (x.clone(), y.clone()),
        };
        let mut train = TensorBatches::new(&tx, &ty, opts.batch_size, opts.shuffle.then_some(opts.seed))?;
        opts.validation_split = 0.0;
        self.fit_batches(&mut train, val.as_mut().map(|v| v as &mut dyn Batches), opts)
    }

    /// `fit` over any [`Batches`] source, validating on `validation` after every epoch.
    /// `batch_size`, `shuffle`, `seed`, `validation_data` and `validation_split` belong to the
    /// source here; setting the last two is an error.
    pub fn fit_batches(
        &mut self,
        train: &mut dyn Batches,
        mut validation: Option<&mut dyn Batches>,
        opts: FitOptions,
    ) -> Result<History> {
        if opts.validation_data.is_some() || opts.validation_split != 0.0 {
            return Err(shape_err("fit_batches", "pass the validation source as an argument, not in FitOptions"));
        }
        let step = Step { model: &self.model, loss: self.loss, metrics: &self.metrics };
        let mut progbar = ProgbarLogger::new(opts.verbose);
        let mut cbs: Vec<&mut dyn Callback> = Vec::new();
        if opts.verbose > 0 {
            cbs.push(&mut progbar);
        }
        cbs.extend(opts.callbacks);
        let mut ctx = TrainContext {
            variables: self.model.variables(),
            optimizer: &mut self.optimizer,
            epochs: opts.epochs,
            steps: train.steps(),
            steps_done: 0,
            stop: false,
        };
        let per_batch = cbs.iter().any(|c| c.wants_batch_logs());
        for cb in cbs.iter_mut() {
            cb.on_train_begin(&mut ctx)?;
        }
        let mut history = History::default();
        for epoch in opts.initial_epoch..opts.epochs {
            for cb in cbs.iter_mut() {
                cb.on_epoch_begin(epoch, &mut ctx)?;
            }
            let mut tally = Tally::new(step.names());
            ctx.steps_done = 0;
            for batch in train.epoch(epoch)? {
                let (x, y) = batch?;
                tally.add(&step.train(ctx.optimizer, &x, &y)?, &x)?;
                ctx.steps_done += 1;
                if per_batch {
                    let logs = tally.read()?;
                    for cb in cbs.iter_mut() {
                        cb.on_batch_end(ctx.steps_done - 1, &logs, &mut ctx)?;
                    }
                }
                if ctx.stop {
                    break;
                }
            }
            let mut logs = tally.read()?;
            if let Some(v) = validation.as_deref_mut() {
                logs.extend(step.evaluate(v)?.into_iter().map(|(k, v)| (format!("val_{k}"), v)));
            }
            logs.insert("learning_rate".into(), ctx.optimizer.learning_rate());
            for cb in cbs.iter_mut() {
                cb.on_epoch_end(epoch, &mut logs, &mut ctx)?;
            }
            history.push(epoch, &logs);
            if ctx.stop {
                break;
            }
        }
        for cb in cbs.iter_mut() {
            cb.on_train_end(&mut ctx)?;
        }
        Ok(history)
    }

    /// Keras's `evaluate(x, y, batch_size)`: `loss` and every metric over all rows, in
    /// inference mode (`training = false`), averaged over samples.
    pub fn evaluate(&self, x: &Tensor, y: &Tensor, batch_size: usize) -> Result<Logs> {
        self.step().evaluate(&mut TensorBatches::new(x, y, batch_size, None)?)
    }

    /// `evaluate` over any [`Batches`] source (its epoch 0).
    pub fn evaluate_batches(&self, data: &mut dyn Batches) -> Result<Logs> {
        self.step().evaluate(data)
    }

    /// Keras's `predict(x, batch_size)`: the model's outputs for every row of `x`, batch by
    /// batch in inference mode without recording gradients, concatenated.
    pub fn predict(&self, x: &Tensor, batch_size: usize) -> Result<Tensor> {
        let n = x.shape().first().copied().unwrap_or(0);
        if batch_size == 0 || n == 0 {
            return Err(shape_err("predict", format!("x {:?} needs rows and batch_size {batch_size} > 0", x.shape())));
        }
        no_grad(|| {
            let outs = (0..n)
                .step_by(batch_size)
                .map(|s| self.model.call(&slice(x, 0, s, batch_size.min(n - s))?, false))
                .collect::<Result<Vec<_>>>()?;
            match outs.len() {
                1 => Ok(outs[0].clone()),
                _ => concat(&outs.iter().collect::<Vec<_>>(), 0),
            }
        })
    }

    /// Keras's `train_on_batch(x, y)`: one optimisation step; returns `loss` and the metrics
    /// of the batch (one readback).
    pub fn train_on_batch(&mut self, x: &Tensor, y: &Tensor) -> Result<Logs> {
        let step = Step { model: &self.model, loss: self.loss, metrics: &self.metrics };
        let mut tally = Tally::new(step.names());
        tally.add(&step.train(&mut self.optimizer, x, y)?, x)?;
        tally.read()
    }
}
