//! Keras's training API (`compile` / `fit` / `evaluate` / `predict`): learning on a small
//! synthetic problem on the CPU and the GPU, the History's keys, validation, every callback
//! (EarlyStopping, ModelCheckpoint, CsvLogger, LearningRateScheduler, ReduceLROnPlateau),
//! predict = calling the model, the new losses' gradients, the metrics' GPU parity and rules,
//! and the GPU's typed error for out-of-range sparse labels.

mod common;
use common::*;
use tessera::checkpoint;
use tessera::prelude::*;
use tessera::training::{Batches, FnBatches, TrainContext};

const CLASSES: usize = 3;

/// A learnable 3-class problem: class c's points sit around centre c in 4-D (seeded).
fn blobs(n: usize, seed: u64, dev: &Device) -> (Tensor, Tensor) {
    let noise = rand_vec(n * 4, seed);
    let centres = [[2.0, 0.0, -1.0, 1.0], [-2.0, 1.0, 1.0, 0.0], [0.0, -2.0, 0.5, -1.5]];
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for i in 0..n {
        let c = (i * 7 + seed as usize) % CLASSES;
        x.extend((0..4).map(|j| centres[c][j] + 0.5 * noise[i * 4 + j]));
        y.push(c as f32);
    }
    (Tensor::from_vec(x, &[n, 4], dev).unwrap(), Tensor::from_vec(y, &[n], dev).unwrap())
}

/// Dense(8, relu) → Dense(3) logits, built on `dev`.
fn mlp(dev: &Device) -> Sequential {
    let mut m =
        Sequential::new().with(layers::Dense::new(8).activation(Activation::Relu)).with(layers::Dense::new(CLASSES));
    m.build(&[4], dev, 7).unwrap();
    m
}

fn compiled(dev: &Device, lr: f32, metrics: &[Metric]) -> Compiled<Sequential, Adam> {
    mlp(dev).compile(Adam::new(lr), Loss::SparseCategoricalCrossentropy { from_logits: true }, metrics)
}

fn quiet<'a>() -> FitOptions<'a> {
    FitOptions::default().verbose(0)
}

fn values(vars: &[tessera::layers::Param]) -> Vec<Vec<f32>> {
    vars.iter().map(|p| p.value().to_vec().unwrap()).collect()
}

fn tmp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("tessera-fit-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn learns_on(dev: &Device) {
    let (x, y) = blobs(96, 1, dev);
    let (vx, vy) = blobs(30, 2, dev);
    let mut model = compiled(dev, 0.05, &[Metric::Accuracy]);
    let h = model.fit(&x, &y, quiet().epochs(6).batch_size(16).validation_data(&vx, &vy)).unwrap();
    assert_eq!(h.epoch, (0..6).collect::<Vec<_>>());
    let keys: Vec<&str> = h.history.keys().map(String::as_str).collect();
    assert_eq!(keys, ["accuracy", "learning_rate", "loss", "val_accuracy", "val_loss"], "on {dev}");
    assert!(h.history.values().all(|v| v.len() == 6), "one entry per epoch on {dev}");
    let loss = h.get("loss").unwrap();
    assert!(loss[5] < 0.5 * loss[0], "loss should fall on {dev}: {loss:?}");
    assert!(h.get("val_accuracy").unwrap()[5] > 0.9, "val accuracy on {dev}: {:?}", h.get("val_accuracy"));
    assert!(h.get("accuracy").unwrap().iter().all(|a| (0.0..=1.0).contains(a)));
    assert_eq!(h.get("learning_rate").unwrap(), &[0.05; 6]);
    // evaluate equals the loss and accuracy of the whole validation set computed directly.
    let logs = model.evaluate(&vx, &vy, 7).unwrap();
    let logits = no_grad(|| model.model().call(&vx, false)).unwrap();
    let want_loss = sparse_categorical_crossentropy(&vy, &logits, true).unwrap().item().unwrap();
    let want_acc = accuracy(&vy, &logits).unwrap().item().unwrap();
    assert!((logs["loss"] - want_loss).abs() <= 1e-5 * (1.0 + want_loss), "{} vs {want_loss}", logs["loss"]);
    assert!((logs["accuracy"] - want_acc).abs() <= 1e-6, "{} vs {want_acc}", logs["accuracy"]);
    // The last val_* entry is evaluate() on the same data after the last epoch.
    assert!((h.get("val_loss").unwrap()[5] - logs["loss"]).abs() <= 1e-5 * (1.0 + want_loss));
}

#[test]
fn fit_learns_a_small_problem_on_the_cpu() {
    learns_on(&Device::Cpu);
}

#[test]
fn fit_learns_a_small_problem_on_the_gpu() {
    learns_on(&gpu());
}

#[test]
fn fit_is_the_same_on_cpu_and_gpu() {
    let run = |dev: &Device| {
        let (x, y) = blobs(40, 3, dev);
        let mut m = compiled(dev, 0.01, &[Metric::Accuracy, Metric::sparse_top_k()]);
        let h = m.fit(&x, &y, quiet().epochs(2).batch_size(9).validation_split(0.25)).unwrap();
        (h, values(&m.model().variables()))
    };
    let ((hc, wc), (hg, wg)) = (run(&Device::Cpu), run(&gpu()));
    assert_eq!(hc.history.keys().collect::<Vec<_>>(), hg.history.keys().collect::<Vec<_>>());
    for (k, v) in &hc.history {
        assert_close_vec(&hg.history[k], v, 1e-3, &format!("history {k}"));
    }
    for (i, (g, c)) in wg.iter().zip(&wc).enumerate() {
        assert_close_vec(g, c, 1e-3, &format!("variable {i} after fit"));
    }
    assert!(hc.history.contains_key("val_sparse_top_k_categorical_accuracy"));
}

#[test]
fn validation_split_holds_out_the_last_rows() {
    let dev = Device::Cpu;
    let (x, y) = blobs(40, 4, &dev);
    let mut m = compiled(&dev, 0.01, &[Metric::SparseCategoricalAccuracy]);
    let h = m.fit(&x, &y, quiet().epochs(1).validation_split(0.25).shuffle(false)).unwrap();
    let tail = (slice(&x, 0, 30, 10).unwrap(), slice(&y, 0, 30, 10).unwrap());
    let logs = m.evaluate(&tail.0, &tail.1, 32).unwrap();
    assert!((h.get("val_loss").unwrap()[0] - logs["loss"]).abs() < 1e-6);
    assert!((h.get("val_sparse_categorical_accuracy").unwrap()[0] - logs["sparse_categorical_accuracy"]).abs() < 1e-6);
    assert!(m.fit(&x, &y, quiet().validation_split(1.0)).is_err());
    // validation_data overrides validation_split: every row trains (4 steps of 10).
    let mut steps = StepCount(None);
    let opts = quiet().batch_size(10).validation_split(0.5).validation_data(&tail.0, &tail.1).callback(&mut steps);
    m.fit(&x, &y, opts).unwrap();
    assert_eq!(steps.0, Some(4));
    let mut steps = StepCount(None);
    m.fit(&x, &y, quiet().batch_size(10).validation_split(0.5).callback(&mut steps)).unwrap();
    assert_eq!(steps.0, Some(2));
}

/// Records the steps per epoch that fit announces.
struct StepCount(Option<usize>);

impl Callback for StepCount {
    fn on_train_begin(&mut self, ctx: &mut TrainContext) -> Result<()> {
        self.0 = ctx.steps;
        Ok(())
    }
}

#[test]
fn predict_equals_calling_the_model_in_batches() {
    for dev in [Device::Cpu, gpu()] {
        let (x, _) = blobs(23, 5, &dev);
        let m = compiled(&dev, 0.01, &[]);
        let got = m.predict(&x, 5).unwrap();
        assert_eq!(got.shape(), &[23, CLASSES]);
        assert!(!got.requires_grad(), "predict records no gradient");
        let want = m.model().call(&x, false).unwrap();
        assert_close(&got, &want, RTOL, &format!("predict on {dev}"));
        assert!(m.predict(&x, 0).is_err());
    }
}

/// Replaces `logs[key]` with a scripted value per epoch, and snapshots the weights.
struct Script {
    key: &'static str,
    values: Vec<f32>,
    weights: Vec<Vec<Vec<f32>>>,
}

impl Callback for Script {
    fn on_epoch_end(&mut self, epoch: usize, logs: &mut Logs, ctx: &mut TrainContext) -> Result<()> {
        logs.insert(self.key.into(), self.values[epoch]);
        self.weights.push(ctx.variables.iter().map(|p| p.value().to_vec().unwrap()).collect());
        Ok(())
    }
}

fn script(key: &'static str, values: &[f32]) -> Script {
    Script { key, values: values.to_vec(), weights: Vec::new() }
}

#[test]
fn early_stopping_stops_on_a_plateau() {
    let dev = Device::Cpu;
    let (x, y) = blobs(32, 6, &dev);
    let mut m = compiled(&dev, 0.01, &[]);
    let mut plateau = script("val_loss", &[1.0, 0.5, 0.5, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0]);
    let mut es = EarlyStopping::new("val_loss").patience(2);
    let h = m.fit(&x, &y, quiet().epochs(10).callback(&mut plateau).callback(&mut es)).unwrap();
    // Epoch 1 is the best; 2 and 3 do not improve (0.5 is not < 0.5); patience 2 stops at 3.
    assert_eq!(h.len(), 4);
    assert_eq!(es.stopped_epoch(), Some(3));
    assert_eq!(es.best(), Some(0.5));
    // min_delta: 0.5 → 0.45 is not an improvement of more than 0.1.
    let mut s = script("val_loss", &[1.0, 0.5, 0.45, 0.41, 0.3, 0.0]);
    let mut es = EarlyStopping::new("val_loss").patience(2).min_delta(0.1);
    assert_eq!(m.fit(&x, &y, quiet().epochs(6).callback(&mut s).callback(&mut es)).unwrap().len(), 4);
    // mode Max on an accuracy key, and a baseline that is never beaten.
    // Without a baseline the wait resets at epoch 1 and stops at 3; with one it does not reset.
    for (baseline, epochs_run) in [(None, 4), (Some(0.95), 3)] {
        let mut s = script("val_accuracy", &[0.5, 0.6, 0.6, 0.6, 0.6]);
        let mut es = EarlyStopping::new("val_accuracy").patience(2);
        if let Some(b) = baseline {
            es = es.baseline(b);
        }
        assert_eq!(m.fit(&x, &y, quiet().epochs(5).callback(&mut s).callback(&mut es)).unwrap().len(), epochs_run);
    }
    // An unknown key in auto mode is an error, as in Keras.
    let mut s = script("val_thing", &[1.0]);
    let mut es = EarlyStopping::new("val_thing");
    assert!(m.fit(&x, &y, quiet().epochs(1).callback(&mut s).callback(&mut es)).is_err());
}

#[test]
fn early_stopping_restores_the_best_weights() {
    let dev = Device::Cpu;
    let (x, y) = blobs(32, 7, &dev);
    let mut m = compiled(&dev, 0.05, &[]);
    let mut s = script("val_loss", &[1.0, 0.2, 0.3, 0.4, 0.5, 0.6]);
    let mut es = EarlyStopping::new("val_loss").patience(3).restore_best_weights(true);
    let h = m.fit(&x, &y, quiet().epochs(6).callback(&mut s).callback(&mut es)).unwrap();
    assert_eq!(h.len(), 5);
    assert_eq!(es.best_epoch(), 1);
    assert_ne!(s.weights[1], s.weights[4], "training moved the weights");
    assert_eq!(values(&m.model().variables()), s.weights[1], "weights of the best epoch restored");
    // Training still works after the restore (the variables are still trainable).
    m.fit(&x, &y, quiet().epochs(1)).unwrap();
    assert_ne!(values(&m.model().variables()), s.weights[1]);
}

#[test]
fn model_checkpoint_saves_only_improvements_atomically() {
    let dev = Device::Cpu;
    let dir = tmp_dir("ckpt");
    let (x, y) = blobs(32, 8, &dev);
    let mut m = compiled(&dev, 0.05, &[]);
    let mut s = script("val_loss", &[3.0, 2.0, 2.5, 1.0, 1.5]);
    let template = dir.join("weights-{epoch:02d}-{val_loss:.2f}.safetensors");
    let mut ck = ModelCheckpoint::new(template.to_str().unwrap()).save_best_only(true);
    m.fit(&x, &y, quiet().epochs(5).callback(&mut s).callback(&mut ck)).unwrap();
    let mut files: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    files.sort();
    assert_eq!(
        files,
        ["weights-01-3.00.safetensors", "weights-02-2.00.safetensors", "weights-04-1.00.safetensors"],
        "only improving epochs are saved and no temporary file is left"
    );
    assert_eq!(ck.best(), Some(1.0));
    // The file loads, and holds the weights of its epoch.
    let fresh = mlp(&dev);
    let mut opt = Adam::new(0.05);
    let info = checkpoint::load(&dir.join("weights-04-1.00.safetensors"), &fresh.variables(), Some(&mut opt)).unwrap();
    assert_eq!(info.metadata["epoch"], "4");
    assert_eq!(values(&fresh.variables()), s.weights[3]);
    assert_eq!(opt.iterations(), 4, "the optimizer's step count (one batch per epoch)");
    // Every epoch without save_best_only, to one overwritten path.
    let path = dir.join("last.safetensors");
    let mut every = ModelCheckpoint::new(path.to_str().unwrap()).save_weights_only(true);
    m.fit(&x, &y, quiet().epochs(2).callback(&mut every)).unwrap();
    assert_eq!(every.saved().len(), 2);
    checkpoint::load(&path, &fresh.variables(), None).unwrap();
    assert_eq!(values(&fresh.variables()), values(&m.model().variables()));
    let _ = std::fs::remove_dir_all(&dir);
}

fn read_csv(path: &std::path::Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().map(|l| l.split(';').map(String::from).collect()).collect()
}

#[test]
fn csv_logger_writes_keras_rows() {
    let dev = Device::Cpu;
    let dir = tmp_dir("csv");
    let path = dir.join("log.csv");
    let (x, y) = blobs(40, 9, &dev);
    let (vx, vy) = blobs(12, 10, &dev);
    let mut m = compiled(&dev, 0.02, &[Metric::Accuracy]);
    let mut csv = CsvLogger::new(&path).separator(';');
    let h = m.fit(&x, &y, quiet().epochs(3).validation_data(&vx, &vy).callback(&mut csv)).unwrap();
    let rows = read_csv(&path);
    assert_eq!(rows[0], ["epoch", "accuracy", "learning_rate", "loss", "val_accuracy", "val_loss"]);
    assert_eq!(rows.len(), 4);
    for (e, row) in rows[1..].iter().enumerate() {
        assert_eq!(row[0], e.to_string());
        for (key, cell) in rows[0][1..].iter().zip(&row[1..]) {
            assert_eq!(cell.parse::<f32>().unwrap(), h.get(key).unwrap()[e], "{key} epoch {e}");
        }
    }
    // append: no second header, rows continue.
    let mut csv = CsvLogger::new(&path).separator(';').append(true);
    m.fit(&x, &y, quiet().epochs(2).validation_data(&vx, &vy).callback(&mut csv)).unwrap();
    let rows = read_csv(&path);
    assert_eq!(rows.len(), 6);
    assert_eq!(rows.iter().filter(|r| r[0] == "epoch").count(), 1);
    // Without append the file starts over.
    let mut csv = CsvLogger::new(&path).separator(';');
    m.fit(&x, &y, quiet().epochs(1).callback(&mut csv)).unwrap();
    let rows = read_csv(&path);
    assert_eq!((rows.len(), &rows[0][..]), (2, &["epoch", "accuracy", "learning_rate", "loss"].map(String::from)[..]));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn learning_rate_scheduler_sets_the_rate_each_epoch() {
    let dev = Device::Cpu;
    let (x, y) = blobs(16, 11, &dev);
    let mut m = compiled(&dev, 0.04, &[]);
    let mut sched = LearningRateScheduler::new(|epoch, lr| if epoch == 0 { lr } else { lr * 0.5 });
    let h = m.fit(&x, &y, quiet().epochs(3).callback(&mut sched)).unwrap();
    assert_eq!(h.get("learning_rate").unwrap(), &[0.04, 0.02, 0.01]);
    assert_eq!(m.optimizer().learning_rate(), 0.01);
    // initial_epoch: the schedule sees the real epoch numbers.
    let mut seen = Vec::new();
    let mut sched = LearningRateScheduler::new(|epoch, _| {
        seen.push(epoch);
        0.001
    });
    let h = m.fit(&x, &y, quiet().epochs(4).initial_epoch(2).callback(&mut sched)).unwrap();
    assert_eq!(seen, [2, 3]);
    assert_eq!(h.epoch, [2, 3]);
}

#[test]
fn reduce_lr_on_plateau_cuts_the_rate() {
    let dev = Device::Cpu;
    let (x, y) = blobs(16, 12, &dev);
    let mut m = compiled(&dev, 0.1, &[]);
    let mut s = script("val_loss", &[1.0; 6]);
    let mut r = ReduceLROnPlateau::new("val_loss").patience(2).factor(0.5).min_lr(0.03);
    let h = m.fit(&x, &y, quiet().epochs(6).callback(&mut s).callback(&mut r)).unwrap();
    // Best at epoch 0; waits 1, 2 → cut at epoch 2; then at epoch 4; then clamped at min_lr.
    let lr = h.get("learning_rate").unwrap();
    assert_eq!(lr, &[0.1, 0.1, 0.1, 0.05, 0.05, 0.03]);
    assert_eq!(m.optimizer().learning_rate(), 0.03);
    // cooldown: after a cut, `cooldown` epochs do not count.
    m.optimizer_mut().set_learning_rate(1.0);
    let mut s = script("val_loss", &[1.0; 6]);
    let mut r = ReduceLROnPlateau::new("val_loss").patience(1).factor(0.5).cooldown(2);
    let h = m.fit(&x, &y, quiet().epochs(6).callback(&mut s).callback(&mut r)).unwrap();
    assert_eq!(h.get("learning_rate").unwrap(), &[1.0, 1.0, 0.5, 0.5, 0.25, 0.25]);
    let mut bad = ReduceLROnPlateau::new("val_loss").factor(1.0);
    assert!(m.fit(&x, &y, quiet().callback(&mut bad)).is_err(), "factor must be < 1");
}

#[test]
fn fit_batches_takes_any_batch_source() {
    let dev = Device::Cpu;
    let (x, y) = blobs(48, 13, &dev);
    let (xc, yc) = (x.clone(), y.clone());
    let mut seen_epochs = Vec::new();
    let mut source = FnBatches::new(Some(3), |epoch| {
        seen_epochs.push(epoch);
        let (x, y) = (xc.clone(), yc.clone());
        Ok((0..3).map(move |i| Ok((slice(&x, 0, 16 * i, 16)?, slice(&y, 0, 16 * i, 16)?))))
    });
    assert_eq!(source.steps(), Some(3));
    let mut val = TensorBatches::new(&x, &y, 10, None).unwrap();
    let mut m = compiled(&dev, 0.05, &[Metric::Accuracy]);
    let h = m.fit_batches(&mut source, Some(&mut val), quiet().epochs(3)).unwrap();
    assert_eq!(seen_epochs, [0, 1, 2]);
    assert_eq!(h.get("val_loss").unwrap().len(), 3);
    let mut empty = FnBatches::new(None, |_| Ok(std::iter::empty()));
    assert!(m.fit_batches(&mut empty, None, quiet()).is_err(), "a source without batches is an error");
    let mut again = TensorBatches::new(&x, &y, 16, Some(1)).unwrap();
    assert!(m.fit_batches(&mut again, None, quiet().validation_split(0.5)).is_err());
}

#[test]
fn train_on_batch_and_verbose_progress_run() {
    let dev = Device::Cpu;
    let (x, y) = blobs(20, 14, &dev);
    let mut m = compiled(&dev, 0.05, &[Metric::Accuracy]);
    let first = m.train_on_batch(&x, &y).unwrap()["loss"];
    for _ in 0..20 {
        m.train_on_batch(&x, &y).unwrap();
    }
    assert!(m.train_on_batch(&x, &y).unwrap()["loss"] < first);
    // The progress display (stdout) with both verbose levels.
    for v in [1, 2] {
        assert_eq!(m.fit(&x, &y, FitOptions::default().epochs(2).batch_size(8).verbose(v)).unwrap().len(), 2);
    }
}

#[test]
fn shuffling_is_seeded() {
    let run = |seed: u64| {
        let dev = Device::Cpu;
        let (x, y) = blobs(30, 15, &dev);
        let mut m = compiled(&dev, 0.05, &[]);
        m.fit(&x, &y, quiet().epochs(2).batch_size(4).seed(seed)).unwrap();
        values(&m.model().variables())
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1), run(2));
}

#[test]
fn every_loss_trains_through_compile() {
    let dev = gpu();
    let (x, y) = blobs(24, 16, &dev);
    let hot = one_hot(&y, CLASSES).unwrap();
    let cases = [
        (Loss::CategoricalCrossentropy { from_logits: true }, hot.clone(), Metric::Accuracy, "categorical_accuracy"),
        (Loss::MeanSquaredError, hot.clone(), Metric::CategoricalAccuracy, "categorical_accuracy"),
        (Loss::BinaryCrossentropy { from_logits: true }, hot.clone(), Metric::binary_accuracy(), "binary_accuracy"),
        (
            Loss::SparseCategoricalCrossentropy { from_logits: true },
            y.reshape(&[24, 1]).unwrap(),
            Metric::Accuracy,
            "x",
        ),
    ];
    for (loss, labels, metric, resolved) in cases {
        if resolved != "x" {
            assert_eq!(metric.resolve(&labels, &hot).name(), resolved, "{loss:?}");
        }
        let mut m = mlp(&dev).compile(Adam::new(0.05), loss, &[metric]);
        let h = m.fit(&x, &labels, quiet().epochs(4).batch_size(8)).unwrap();
        let l = h.get("loss").unwrap();
        assert!(l[3] < l[0], "{loss:?}: {l:?}");
        assert!(h.get(metric.name()).is_some(), "{loss:?}: {:?}", h.history.keys());
    }
    // Keras's rule for "accuracy": binary when the prediction's last axis is 1, sparse when the
    // labels have a lower rank (or a last axis of 1), else categorical.
    let p1 = Tensor::zeros(&[4, 1], &dev).unwrap();
    assert_eq!(Metric::Accuracy.resolve(&p1, &p1).name(), "binary_accuracy");
    assert_eq!(Metric::Accuracy.resolve(&y, &hot).name(), "sparse_categorical_accuracy");
    assert_eq!(Metric::Accuracy.resolve(&hot, &hot).name(), "categorical_accuracy");
}

#[test]
fn binary_crossentropy_gradients() {
    grad_check("sigmoid_cross_entropy_with_logits", &[&[3, 5], &[3, 5]], 300, |v| {
        sigmoid_cross_entropy_with_logits(&sigmoid(&v[0])?, &affine(&v[1], 3.0, 0.0)?)
    });
    grad_check("binary_crossentropy from logits", &[&[4, 3], &[4, 3]], 310, |v| {
        binary_crossentropy(&sigmoid(&v[0])?, &v[1], true)
    });
    grad_check("binary_crossentropy from probabilities", &[&[2, 7], &[2, 7]], 320, |v| {
        binary_crossentropy(&sigmoid(&v[0])?, &sigmoid(&v[1])?, false)
    });
}

#[test]
fn binary_crossentropy_forms_agree_and_are_stable() {
    for dev in [Device::Cpu, gpu()] {
        let (z, x) = (sigmoid(&pair(&[5, 4], 330).0.to_device(&dev).unwrap()).unwrap(), pair(&[5, 4], 331).0);
        let x = affine(&x.to_device(&dev).unwrap(), 4.0, 0.0).unwrap();
        let from_logits = binary_crossentropy(&z, &x, true).unwrap().item().unwrap();
        let from_probs = binary_crossentropy(&z, &sigmoid(&x).unwrap(), false).unwrap().item().unwrap();
        assert!((from_logits - from_probs).abs() < 1e-4, "{from_logits} vs {from_probs} on {dev}");
        // Large logits stay finite.
        let big = Tensor::from_vec(vec![-200.0, 200.0, 0.0], &[3], &dev).unwrap();
        let lab = Tensor::from_vec(vec![1.0, 0.0, 1.0], &[3], &dev).unwrap();
        let per = sigmoid_cross_entropy_with_logits(&lab, &big).unwrap().to_vec().unwrap();
        assert_close_vec(&per, &[200.0, 200.0, std::f32::consts::LN_2], 1e-6, "large logits");
        let e = binary_crossentropy(&lab, &big.reshape(&[1, 3]).unwrap(), true).unwrap_err();
        assert!(matches!(e, Error::Shape { .. }) && e.to_string().contains("[1, 3]"), "{e}");
    }
}

/// TensorFlow's in_top_k rule, written out: fewer than k classes score strictly higher.
fn in_top_k_reference(pred: &[f32], ids: &[f32], c: usize, k: usize) -> Vec<f32> {
    let rows = ids.len();
    (0..rows)
        .map(|r| {
            let row = &pred[r * c..(r + 1) * c];
            let t = row[ids[r] as usize];
            (row.iter().filter(|&&v| v > t).count() < k) as u8 as f32
        })
        .collect()
}

#[test]
fn metrics_match_their_rules_on_cpu_and_gpu() {
    let (n, c) = (37, 6);
    // Integer-valued predictions: many ties, including at the top-k boundary.
    let pred: Vec<f32> = rand_vec(n * c, 340).iter().map(|v| (v * 1.5).round()).collect();
    let ids: Vec<f32> = rand_vec(n, 341).iter().map(|v| ((v.abs() * 977.0) as usize % c) as f32).collect();
    for dev in [Device::Cpu, gpu()] {
        let p = Tensor::from_slice(&pred, &[n, c], &dev).unwrap();
        let y = Tensor::from_slice(&ids, &[n], &dev).unwrap();
        for k in [1, 2, 3, 5] {
            let got = in_top_k(&y, &p, k).unwrap().to_vec().unwrap();
            assert_eq!(got, in_top_k_reference(&pred, &ids, c, k), "in_top_k k={k} on {dev}");
            let mean = got.iter().sum::<f32>() / n as f32;
            let sparse = sparse_top_k_categorical_accuracy(&y, &p, k).unwrap().item().unwrap();
            let dense = top_k_categorical_accuracy(&one_hot(&y, c).unwrap(), &p, k).unwrap().item().unwrap();
            assert!((sparse - mean).abs() < 1e-6 && (dense - mean).abs() < 1e-6, "top-{k} on {dev}");
        }
        // An id outside [0, c) is never in the top k.
        let bad = Tensor::from_vec(vec![7.0, -1.0], &[2], &dev).unwrap();
        assert_eq!(in_top_k(&bad, &slice(&p, 0, 0, 2).unwrap(), 6).unwrap().to_vec().unwrap(), [0.0, 0.0]);
        // categorical_accuracy: first argmax of both (ties go to the first index).
        let cat = categorical_accuracy(&one_hot(&y, c).unwrap(), &p).unwrap().item().unwrap();
        let want = accuracy(&y, &p).unwrap().item().unwrap();
        assert_eq!(cat, want, "categorical_accuracy on {dev}");
        // binary_accuracy: label == (prediction > threshold), averaged over every entry.
        let labels: Vec<f32> = pred.iter().map(|v| (v.abs() < 1.0) as u8 as f32).collect();
        let l = Tensor::from_slice(&labels, &[n, c], &dev).unwrap();
        for t in [0.5, 0.0, -1.0] {
            let hits = labels.iter().zip(&pred).filter(|(l, p)| **l == ((**p > t) as u8 as f32)).count();
            let got = binary_accuracy(&l, &p, t).unwrap().item().unwrap();
            assert!((got - hits as f32 / (n * c) as f32).abs() < 1e-6, "binary_accuracy t={t} on {dev}");
        }
    }
}

#[test]
fn out_of_range_sparse_labels_are_errors_on_the_gpu() {
    let dev = gpu();
    let logits = Tensor::randn(&[3, 4], 0.0, 1.0, 350, &dev).unwrap();
    for bad in [4.0, -1.0, 1.5, f32::NAN] {
        let labels = Tensor::from_vec(vec![0.0, bad, 3.0], &[3], &dev).unwrap();
        for from_logits in [true, false] {
            let out = if from_logits { logits.clone() } else { softmax(&logits).unwrap() };
            let e = sparse_categorical_crossentropy(&labels, &out, from_logits).unwrap_err();
            assert!(matches!(e, Error::Shape { .. }) && e.to_string().contains("[0, 4)"), "label {bad}: {e}");
        }
        let e = sparse_softmax_cross_entropy_with_logits(&labels, &logits).unwrap_err();
        assert!(e.to_string().contains("not a class id"), "{e}");
    }
    // fit reports the same error instead of training on NaN.
    let (x, _) = blobs(8, 17, &dev);
    let y = Tensor::from_vec(vec![0.0, 1.0, 2.0, 3.0, 0.0, 1.0, 2.0, 0.0], &[8], &dev).unwrap();
    let mut m = compiled(&dev, 0.01, &[]);
    let e = m.fit(&x, &y, quiet()).unwrap_err();
    assert!(matches!(e, Error::Shape { .. }) && e.to_string().contains("[0, 3)"), "{e}");
    // Valid labels still give the CPU's numbers.
    let y = Tensor::from_vec(vec![0.0, 3.0, 1.0], &[3], &dev).unwrap();
    let got = sparse_categorical_crossentropy(&y, &logits, true).unwrap().item().unwrap();
    let cpu = sparse_categorical_crossentropy(
        &y.to_device(&Device::Cpu).unwrap(),
        &logits.to_device(&Device::Cpu).unwrap(),
        true,
    )
    .unwrap()
    .item()
    .unwrap();
    assert!((got - cpu).abs() <= RTOL * cpu.abs());
}

#[test]
fn labels_uploaded_from_the_host_are_checked_without_a_readback() {
    // A readback in the loss would wait for the step recorded so far: GPU labels uploaded from
    // host data, or sliced from them, are checked against what the upload saw; labels computed
    // on the GPU are still read back (one submit); out-of-range ones are still refused.
    let _ = gpu();
    let dev = Device::gpu().unwrap(); // a device of its own for the submit count
    let g = dev.as_gpu().unwrap();
    let cpu = |t: &Tensor| t.to_device(&Device::Cpu).unwrap();
    let logits = Tensor::randn(&[4, 5], 0.0, 1.0, 360, &dev).unwrap();
    let y = Tensor::from_vec(vec![0.0, 4.0, 2.0, 1.0], &[4], &dev).unwrap();
    let cases = [
        ("uploaded", y.clone(), logits.clone(), 0),
        ("sliced", slice(&y, 0, 1, 2).unwrap(), slice(&logits, 0, 1, 2).unwrap(), 0),
        ("computed", add(&y, &Tensor::zeros(&[4], &dev).unwrap()).unwrap(), logits.clone(), 1),
    ];
    for (what, labels, logits, readbacks) in cases {
        let want = sparse_categorical_crossentropy(&cpu(&labels), &cpu(&logits), true).unwrap().item().unwrap();
        dev.synchronize().unwrap();
        let before = g.stats().submits;
        let loss = sparse_categorical_crossentropy(&labels, &logits, true).unwrap();
        assert_eq!(g.stats().submits - before, readbacks, "{what} labels: submits");
        assert!((loss.item().unwrap() - want).abs() <= RTOL * want.abs(), "{what} labels: loss");
    }
    let e = sparse_categorical_crossentropy(&y, &slice(&logits, 1, 0, 4).unwrap(), true).unwrap_err();
    assert!(e.to_string().contains("[0, 4)"), "label 4 of 4 classes: {e}");
}

#[test]
fn fit_batches_over_a_tessera_data_dataset_on_the_gpu() {
    use tessera::train::DatasetBatches;
    let dev = gpu();
    let train = tessera_data::synthetic(96, [6, 6, 1], 3, 18).unwrap();
    let test = tessera_data::synthetic(30, [6, 6, 1], 3, 19).unwrap();
    let mut model = Sequential::new()
        .with(layers::Conv2D::new(4, 3).activation(Activation::Relu))
        .with(layers::Flatten::new())
        .with(layers::Dense::new(3));
    model.build(&[6, 6, 1], &dev, 3).unwrap();
    let mut m =
        model.compile(Adam::new(0.02), Loss::SparseCategoricalCrossentropy { from_logits: true }, &[Metric::Accuracy]);
    let mut batches = DatasetBatches::new(&train, 16, Some(5), &dev);
    assert_eq!(batches.steps(), Some(6));
    let mut val = DatasetBatches::new(&test, 16, None, &dev);
    let h = m.fit_batches(&mut batches, Some(&mut val), quiet().epochs(5)).unwrap();
    let (loss, acc) = (h.get("loss").unwrap(), h.get("val_accuracy").unwrap());
    assert!(loss[4] < loss[0], "{loss:?}");
    assert!(acc[4] > 0.6, "validation accuracy {acc:?} (chance 0.33)");
    assert_eq!(m.evaluate_batches(&mut val).unwrap()["accuracy"], acc[4]);
}
