//! Keras callbacks: the [`Callback`] hooks `fit` calls, and `EarlyStopping`,
//! `ModelCheckpoint`, `LearningRateScheduler`, `ReduceLROnPlateau` and `CSVLogger` with
//! Keras 3's names, defaults and rules.

use crate::layers::Param;
use crate::optimizers::Optimizer;
use crate::{shape_err, Result, Tensor};

use super::Logs;

/// What a callback may look at and change while `fit` runs.
pub struct TrainContext<'a> {
    /// Every model variable (trainable or not), in Keras's order.
    pub variables: Vec<Param>,
    /// The optimizer (its learning rate can be read and set).
    pub optimizer: &'a mut dyn Optimizer,
    /// The `epochs` argument of `fit` (the epoch index runs to `epochs - 1`).
    pub epochs: usize,
    /// Batches per epoch, when the data source knows.
    pub steps: Option<usize>,
    /// Training steps completed in the current epoch.
    pub steps_done: usize,
    pub(crate) stop: bool,
}

impl TrainContext<'_> {
    /// Asks `fit` to stop after the current batch (Keras's `model.stop_training = True`).
    pub fn stop_training(&mut self) {
        self.stop = true;
    }

    /// True once a callback asked to stop.
    pub fn stop_requested(&self) -> bool {
        self.stop
    }

    /// The current value of every variable (tensors are immutable: this is a snapshot).
    pub fn weights(&self) -> Vec<Tensor> {
        self.variables.iter().map(Param::value).collect()
    }

    /// Restores values taken with [`TrainContext::weights`].
    pub fn set_weights(&self, weights: &[Tensor]) -> Result<()> {
        self.variables.iter().zip(weights).try_for_each(|(v, w)| v.assign(w.clone()))
    }
}

/// Hooks `fit` calls (Keras's `keras.callbacks.Callback`); every hook defaults to nothing.
/// Epochs and steps are 0-based, as in Keras.
pub trait Callback {
    /// Before the first epoch.
    fn on_train_begin(&mut self, _ctx: &mut TrainContext) -> Result<()> {
        Ok(())
    }
    /// After the last epoch (also after an early stop).
    fn on_train_end(&mut self, _ctx: &mut TrainContext) -> Result<()> {
        Ok(())
    }
    /// Before epoch `epoch`.
    fn on_epoch_begin(&mut self, _epoch: usize, _ctx: &mut TrainContext) -> Result<()> {
        Ok(())
    }
    /// After epoch `epoch` with its logs (`loss`, metrics, `val_*`, `learning_rate`), which a
    /// callback may extend; the History records them after every callback has run.
    fn on_epoch_end(&mut self, _epoch: usize, _logs: &mut Logs, _ctx: &mut TrainContext) -> Result<()> {
        Ok(())
    }
    /// After training step `step` with the epoch's running means so far. Called only when
    /// some callback's [`Callback::wants_batch_logs`] is true (it costs a readback per step).
    fn on_batch_end(&mut self, _step: usize, _logs: &Logs, _ctx: &mut TrainContext) -> Result<()> {
        Ok(())
    }
    /// True when this callback needs [`Callback::on_batch_end`].
    fn wants_batch_logs(&self) -> bool {
        false
    }
}

/// Whether a monitored quantity should go down or up (`mode` in Keras).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// From the name: `loss` / `val_loss` go down, accuracies go up.
    #[default]
    Auto,
    /// Lower is better.
    Min,
    /// Higher is better.
    Max,
}

/// The improvement test shared by EarlyStopping and ModelCheckpoint (Keras's MonitorCallback).
#[derive(Debug, Clone)]
struct Monitor {
    key: String,
    mode: Mode,
    min_delta: f32,
    best: Option<f32>,
}

impl Monitor {
    fn new(key: &str) -> Self {
        Self { key: key.to_string(), mode: Mode::Auto, min_delta: 0.0, best: None }
    }

    /// True when higher is better for this monitor.
    fn maximize(&self) -> Result<bool> {
        let name = self.key.strip_prefix("val_").unwrap_or(&self.key);
        match self.mode {
            Mode::Min => Ok(false),
            Mode::Max => Ok(true),
            Mode::Auto if name.ends_with("loss") => Ok(false),
            Mode::Auto if name.contains("accuracy") => Ok(true),
            Mode::Auto => Err(shape_err(
                "callback",
                format!("cannot tell whether '{}' should be minimized or maximized: set mode Min or Max", self.key),
            )),
        }
    }

    /// The monitored value, if the logs have it.
    fn value(&self, logs: &Logs) -> Option<f32> {
        logs.get(&self.key).copied()
    }

    /// Keras's `_is_improvement`: better than `reference` by more than `min_delta`.
    fn beats(&self, current: f32, reference: Option<f32>) -> Result<bool> {
        let maximize = self.maximize()?;
        let Some(r) = reference else { return Ok(true) };
        let d = self.min_delta.abs();
        Ok(if maximize { current - d > r } else { current + d < r })
    }
}

/// `keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=0, patience=0, mode="auto",
/// baseline=None, restore_best_weights=False, start_from_epoch=0)`: stops when the monitored
/// value has not improved for `patience` epochs; with `restore_best_weights` the best epoch's
/// weights are put back when training ends.
pub struct EarlyStopping {
    monitor: Monitor,
    /// Epochs without improvement before stopping.
    pub patience: usize,
    /// A value the monitor must beat for the wait to reset.
    pub baseline: Option<f32>,
    /// Restore the best epoch's weights at the end of training.
    pub restore_best_weights: bool,
    /// Epochs to ignore at the start.
    pub start_from_epoch: usize,
    wait: usize,
    stopped_epoch: Option<usize>,
    best_epoch: usize,
    best_weights: Option<Vec<Tensor>>,
}

impl Default for EarlyStopping {
    fn default() -> Self {
        Self::new("val_loss")
    }
}

impl EarlyStopping {
    /// Watches `monitor` (a log key such as `val_loss`) with Keras's defaults.
    pub fn new(monitor: &str) -> Self {
        Self {
            monitor: Monitor::new(monitor),
            patience: 0,
            baseline: None,
            restore_best_weights: false,
            start_from_epoch: 0,
            wait: 0,
            stopped_epoch: None,
            best_epoch: 0,
            best_weights: None,
        }
    }

    /// Sets `patience`.
    pub fn patience(mut self, p: usize) -> Self {
        self.patience = p;
        self
    }

    /// Sets `min_delta` (the smallest change that counts as an improvement).
    pub fn min_delta(mut self, d: f32) -> Self {
        self.monitor.min_delta = d;
        self
    }

    /// Sets `mode`.
    pub fn mode(mut self, m: Mode) -> Self {
        self.monitor.mode = m;
        self
    }

    /// Sets `baseline`.
    pub fn baseline(mut self, b: f32) -> Self {
        self.baseline = Some(b);
        self
    }

    /// Sets `restore_best_weights`.
    pub fn restore_best_weights(mut self, r: bool) -> Self {
        self.restore_best_weights = r;
        self
    }

    /// Sets `start_from_epoch`.
    pub fn start_from_epoch(mut self, e: usize) -> Self {
        self.start_from_epoch = e;
        self
    }

    /// The epoch at which training was stopped (0-based), if it was.
    pub fn stopped_epoch(&self) -> Option<usize> {
        self.stopped_epoch
    }

    /// The epoch with the best monitored value (0-based).
    pub fn best_epoch(&self) -> usize {
        self.best_epoch
    }

    /// The best monitored value seen.
    pub fn best(&self) -> Option<f32> {
        self.monitor.best
    }
}

impl Callback for EarlyStopping {
    fn on_train_begin(&mut self, _ctx: &mut TrainContext) -> Result<()> {
        (self.wait, self.stopped_epoch, self.best_epoch, self.best_weights) = (0, None, 0, None);
        self.monitor.best = None;
        Ok(())
    }

    fn on_epoch_end(&mut self, epoch: usize, logs: &mut Logs, ctx: &mut TrainContext) -> Result<()> {
        let Some(current) = self.monitor.value(logs) else { return Ok(()) };
        if epoch < self.start_from_epoch {
            return Ok(());
        }
        if self.restore_best_weights && self.best_weights.is_none() {
            (self.best_weights, self.best_epoch) = (Some(ctx.weights()), epoch);
        }
        self.wait += 1;
        if self.monitor.beats(current, self.monitor.best)? {
            (self.monitor.best, self.best_epoch) = (Some(current), epoch);
            if self.restore_best_weights {
                self.best_weights = Some(ctx.weights());
            }
            if self.baseline.is_none() || self.monitor.beats(current, self.baseline)? {
                self.wait = 0;
            }
            return Ok(());
        }
        if self.wait >= self.patience && epoch > 0 {
            self.stopped_epoch = Some(epoch);
            ctx.stop_training();
        }
        Ok(())
    }

    fn on_train_end(&mut self, ctx: &mut TrainContext) -> Result<()> {
        match (&self.best_weights, self.restore_best_weights) {
            (Some(w), true) => ctx.set_weights(w),
            _ => Ok(()),
        }
    }
}

/// `keras.callbacks.LearningRateScheduler(schedule)`: before every epoch sets the learning
/// rate to `schedule(epoch, current_lr)`.
pub struct LearningRateScheduler<F> {
    schedule: F,
}

impl<F: FnMut(usize, f32) -> f32> LearningRateScheduler<F> {
    /// Wraps `schedule(epoch, lr) -> new lr` (epoch 0-based).
    pub fn new(schedule: F) -> Self {
        Self { schedule }
    }
}

impl<F: FnMut(usize, f32) -> f32> Callback for LearningRateScheduler<F> {
    fn on_epoch_begin(&mut self, epoch: usize, ctx: &mut TrainContext) -> Result<()> {
        let lr = (self.schedule)(epoch, ctx.optimizer.learning_rate());
        if !lr.is_finite() {
            return Err(shape_err("LearningRateScheduler", format!("schedule returned {lr} for epoch {epoch}")));
        }
        ctx.optimizer.set_learning_rate(lr);
        Ok(())
    }

    fn on_epoch_end(&mut self, _epoch: usize, logs: &mut Logs, ctx: &mut TrainContext) -> Result<()> {
        logs.insert("learning_rate".into(), ctx.optimizer.learning_rate());
        Ok(())
    }
}

/// `keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.1, patience=10,
/// mode="auto", min_delta=1e-4, cooldown=0, min_lr=0.0)`: multiplies the learning rate by
/// `factor` (not below `min_lr`) after `patience` epochs without improvement, then waits
/// `cooldown` epochs.
pub struct ReduceLROnPlateau {
    /// The log key watched.
    pub monitor: String,
    /// Factor applied to the learning rate (< 1).
    pub factor: f32,
    /// Epochs without improvement before reducing.
    pub patience: usize,
    /// `auto`: higher is better when the key contains "acc", else lower.
    pub mode: Mode,
    /// Smallest change that counts as an improvement.
    pub min_delta: f32,
    /// Epochs to wait after a reduction before counting again.
    pub cooldown: usize,
    /// Lower bound on the learning rate.
    pub min_lr: f32,
    best: f32,
    wait: usize,
    cooldown_counter: usize,
}

impl Default for ReduceLROnPlateau {
    fn default() -> Self {
        Self::new("val_loss")
    }
}

impl ReduceLROnPlateau {
    /// Watches `monitor` with Keras's defaults.
    pub fn new(monitor: &str) -> Self {
        Self {
            monitor: monitor.into(),
            factor: 0.1,
            patience: 10,
            mode: Mode::Auto,
            min_delta: 1e-4,
            cooldown: 0,
            min_lr: 0.0,
            best: f32::INFINITY,
            wait: 0,
            cooldown_counter: 0,
        }
    }

    /// Sets `factor`.
    pub fn factor(mut self, f: f32) -> Self {
        self.factor = f;
        self
    }

    /// Sets `patience`.
    pub fn patience(mut self, p: usize) -> Self {
        self.patience = p;
        self
    }

    /// Sets `mode`.
    pub fn mode(mut self, m: Mode) -> Self {
        self.mode = m;
        self
    }

    /// Sets `min_delta`.
    pub fn min_delta(mut self, d: f32) -> Self {
        self.min_delta = d;
        self
    }

    /// Sets `cooldown`.
    pub fn cooldown(mut self, c: usize) -> Self {
        self.cooldown = c;
        self
    }

    /// Sets `min_lr`.
    pub fn min_lr(mut self, lr: f32) -> Self {
        self.min_lr = lr;
        self
    }

    fn maximize(&self) -> bool {
        self.mode == Mode::Max || (self.mode == Mode::Auto && self.monitor.contains("acc"))
    }

    fn improved(&self, current: f32) -> bool {
        match self.maximize() {
            true => current > self.best + self.min_delta,
            false => current < self.best - self.min_delta,
        }
    }
}

impl Callback for ReduceLROnPlateau {
    fn on_train_begin(&mut self, _ctx: &mut TrainContext) -> Result<()> {
        if self.factor >= 1.0 {
            return Err(shape_err("ReduceLROnPlateau", format!("factor {} must be < 1", self.factor)));
        }
        self.best = if self.maximize() { f32::NEG_INFINITY } else { f32::INFINITY };
        (self.wait, self.cooldown_counter) = (0, 0);
        Ok(())
    }

    fn on_epoch_end(&mut self, _epoch: usize, logs: &mut Logs, ctx: &mut TrainContext) -> Result<()> {
        logs.insert("learning_rate".into(), ctx.optimizer.learning_rate());
        let Some(&current) = logs.get(&self.monitor) else { return Ok(()) };
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.wait = 0;
        }
        if self.improved(current) {
            (self.best, self.wait) = (current, 0);
        } else if self.cooldown_counter == 0 {
            self.wait += 1;
            let old = ctx.optimizer.learning_rate();
            if self.wait >= self.patience && old > self.min_lr {
                ctx.optimizer.set_learning_rate((old * self.factor).max(self.min_lr));
                (self.cooldown_counter, self.wait) = (self.cooldown, 0);
            }
        }
        Ok(())
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub use native::{CsvLogger, ModelCheckpoint};

/// The callbacks that write files (native only).
#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::io::Write;
    use std::path::PathBuf;

    use super::{Callback, Mode, Monitor, TrainContext};
    use crate::training::Logs;
    use crate::{checkpoint, Error, Result};

    fn file_err(path: &std::path::Path, e: impl std::fmt::Display) -> Error {
        Error::File { path: path.display().to_string(), msg: e.to_string() }
    }

    /// `keras.callbacks.ModelCheckpoint(filepath, monitor="val_loss", save_best_only=False,
    /// save_weights_only=False, mode="auto", initial_value_threshold=None)`: after every epoch
    /// (or only when the monitored value improves) writes a checkpoint atomically with
    /// [`checkpoint::save`]. `filepath` may contain `{epoch}` / `{epoch:02d}` (1-based) and
    /// log keys such as `{val_loss:.2f}`, as in Keras.
    pub struct ModelCheckpoint {
        /// The path template.
        pub filepath: String,
        monitor: Monitor,
        /// Save only when the monitored value improves.
        pub save_best_only: bool,
        /// Save the variables without the optimizer's state.
        pub save_weights_only: bool,
        saved: Vec<PathBuf>,
    }

    impl ModelCheckpoint {
        /// Saves to `filepath` with Keras's defaults (monitor `val_loss`, every epoch).
        pub fn new(filepath: impl Into<String>) -> Self {
            Self {
                filepath: filepath.into(),
                monitor: Monitor::new("val_loss"),
                save_best_only: false,
                save_weights_only: false,
                saved: Vec::new(),
            }
        }

        /// Sets `monitor`.
        pub fn monitor(mut self, key: &str) -> Self {
            self.monitor.key = key.into();
            self
        }

        /// Sets `save_best_only`.
        pub fn save_best_only(mut self, b: bool) -> Self {
            self.save_best_only = b;
            self
        }

        /// Sets `save_weights_only`.
        pub fn save_weights_only(mut self, b: bool) -> Self {
            self.save_weights_only = b;
            self
        }

        /// Sets `mode`.
        pub fn mode(mut self, m: Mode) -> Self {
            self.monitor.mode = m;
            self
        }

        /// Sets `initial_value_threshold` (the value to beat before the first save).
        pub fn initial_value_threshold(mut self, v: f32) -> Self {
            self.monitor.best = Some(v);
            self
        }

        /// The files written so far, in order.
        pub fn saved(&self) -> &[PathBuf] {
            &self.saved
        }

        /// The best monitored value seen.
        pub fn best(&self) -> Option<f32> {
            self.monitor.best
        }
    }

    impl Callback for ModelCheckpoint {
        fn on_epoch_end(&mut self, epoch: usize, logs: &mut Logs, ctx: &mut TrainContext) -> Result<()> {
            if self.save_best_only {
                let Some(current) = self.monitor.value(logs) else { return Ok(()) };
                if !self.monitor.beats(current, self.monitor.best)? {
                    return Ok(());
                }
                self.monitor.best = Some(current);
            }
            let path = PathBuf::from(format_path(&self.filepath, epoch + 1, logs)?);
            let opt = (!self.save_weights_only).then_some(&*ctx.optimizer);
            checkpoint::save(&path, &ctx.variables, opt, &[("epoch", (epoch + 1).to_string())])?;
            self.saved.push(path);
            Ok(())
        }
    }

    /// Python's `str.format(epoch=..., **logs)` for `{name}`, `{name:0Nd}` and `{name:.Nf}`.
    fn format_path(template: &str, epoch: usize, logs: &Logs) -> Result<String> {
        let bad = |m: String| Error::File { path: template.to_string(), msg: m };
        let mut out = String::new();
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out += &rest[..open];
            let close = rest[open..].find('}').ok_or_else(|| bad("unclosed '{'".into()))? + open;
            let field = &rest[open + 1..close];
            let (name, spec) = field.split_once(':').unwrap_or((field, ""));
            let value = match name {
                "epoch" => epoch as f64,
                key => *logs.get(key).ok_or_else(|| bad(format!("no log value '{key}' to fill the path")))? as f64,
            };
            out += &format_number(value, spec).ok_or_else(|| bad(format!("unsupported format '{field}'")))?;
            rest = &rest[close + 1..];
        }
        Ok(out + rest)
    }

    /// `value` under a Python format spec: empty, `0Nd`/`Nd` or `.Nf`.
    fn format_number(value: f64, spec: &str) -> Option<String> {
        if spec.is_empty() {
            return Some(if value.fract() == 0.0 { format!("{value:.0}") } else { format!("{value}") });
        }
        if let Some(p) = spec.strip_prefix('.').and_then(|s| s.strip_suffix('f')) {
            return Some(format!("{value:.prec$}", prec = p.parse::<usize>().ok()?));
        }
        let w = spec.strip_suffix('d')?;
        let width = w.parse::<usize>().ok()?;
        Some(match w.starts_with('0') {
            true => format!("{:0width$}", value as i64),
            false => format!("{:width$}", value as i64),
        })
    }

    /// `keras.callbacks.CSVLogger(filename, separator=",", append=False)`: one row per epoch,
    /// columns `epoch` (0-based) then the log keys sorted, as Keras writes them.
    pub struct CsvLogger {
        /// The CSV file.
        pub filename: PathBuf,
        /// Column separator.
        pub separator: char,
        /// Append to an existing file (no second header) instead of overwriting it.
        pub append: bool,
        keys: Option<Vec<String>>,
        header: bool,
        file: Option<std::fs::File>,
    }

    impl CsvLogger {
        /// Logs to `filename` with Keras's defaults.
        pub fn new(filename: impl Into<PathBuf>) -> Self {
            Self { filename: filename.into(), separator: ',', append: false, keys: None, header: true, file: None }
        }

        /// Sets `separator`.
        pub fn separator(mut self, s: char) -> Self {
            self.separator = s;
            self
        }

        /// Sets `append`.
        pub fn append(mut self, a: bool) -> Self {
            self.append = a;
            self
        }

        fn write(&mut self, line: String) -> Result<()> {
            let path = self.filename.clone();
            let f = self.file.as_mut().ok_or_else(|| file_err(&path, "the CSV log is not open"))?;
            writeln!(f, "{line}").and_then(|_| f.flush()).map_err(|e| file_err(&path, e))
        }
    }

    impl Callback for CsvLogger {
        fn on_train_begin(&mut self, _ctx: &mut TrainContext) -> Result<()> {
            let had_rows = self.append && std::fs::metadata(&self.filename).is_ok_and(|m| m.len() > 0);
            let mut opts = std::fs::OpenOptions::new();
            match self.append {
                true => opts.append(true).create(true),
                false => opts.write(true).create(true).truncate(true),
            };
            self.file = Some(opts.open(&self.filename).map_err(|e| file_err(&self.filename, e))?);
            (self.keys, self.header) = (None, !had_rows);
            Ok(())
        }

        fn on_epoch_end(&mut self, epoch: usize, logs: &mut Logs, _ctx: &mut TrainContext) -> Result<()> {
            let sep = self.separator.to_string();
            let keys = match self.keys.clone() {
                Some(k) => k,
                None => logs.keys().cloned().collect(),
            };
            if std::mem::take(&mut self.header) {
                self.write(
                    std::iter::once("epoch").chain(keys.iter().map(String::as_str)).collect::<Vec<_>>().join(&sep),
                )?;
            }
            self.keys = Some(keys.clone());
            let values = keys.iter().map(|k| logs.get(k).map_or("NA".to_string(), |v| v.to_string()));
            self.write(std::iter::once(epoch.to_string()).chain(values).collect::<Vec<_>>().join(&sep))
        }

        fn on_train_end(&mut self, _ctx: &mut TrainContext) -> Result<()> {
            self.file = None;
            self.keys = None;
            Ok(())
        }
    }
}
