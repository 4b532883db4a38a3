//! Losses and metrics with TensorFlow / Keras semantics: `tf.nn.softmax_cross_entropy_with_logits`
//! and its sparse form (fused kernels per row for the loss and the logits gradient), Keras
//! `categorical_crossentropy` / `sparse_categorical_crossentropy` / `mean_squared_error`
//! (scalar means over the batch, shape `[]`), `tf.one_hot` and sparse categorical accuracy.
//!
//! Sparse labels are f32 class ids. On the CPU an id that is not an integer in `[0, k)` is an
//! [`crate::Error::Shape`]; the GPU cannot report errors, so there such a row's loss and
//! logits gradient are NaN.

use tessera_kernels::losses as k;

use crate::autodiff::record;
use crate::ops::{div, log, log_softmax, maximum, minimum, mul, neg, reduce_mean, reduce_sum, square, sub};
use crate::tensor::common_device;
use crate::{cpu, shape_err, Device, Result, Tensor};

/// Keras' `backend.epsilon()`, the probability clip of the non-logits cross-entropies.
pub const CROSSENTROPY_EPSILON: f32 = 1e-7;

/// `tf.nn.softmax_cross_entropy_with_logits`: labels and logits `[..., k]` (labels one-hot or
/// probability rows) → per-example losses `[...]`. Gradients flow to the logits
/// (`g · (softmax − labels)`, TensorFlow's formula, exact when label rows sum to 1) and to the
/// labels (`−g · log_softmax`).
pub fn softmax_cross_entropy_with_logits(labels: &Tensor, logits: &Tensor) -> Result<Tensor> {
    let op = "softmax_cross_entropy_with_logits";
    let k = classes(op, logits)?;
    if labels.shape() != logits.shape() {
        return Err(shape_err(
            op,
            format!("labels {:?} and logits {:?} must have the same shape", labels.shape(), logits.shape()),
        ));
    }
    xent(op, labels, logits, k, false)
}

/// `tf.nn.sparse_softmax_cross_entropy_with_logits`: class ids `[...]` (f32 integers) and
/// logits `[..., k]` → per-example losses `[...]`; the gradient flows to the logits only.
pub fn sparse_softmax_cross_entropy_with_logits(labels: &Tensor, logits: &Tensor) -> Result<Tensor> {
    let op = "sparse_softmax_cross_entropy_with_logits";
    let k = classes(op, logits)?;
    if labels.shape() != &logits.shape()[..logits.rank() - 1] {
        return Err(shape_err(
            op,
            format!("labels {:?} must be logits {:?} without the last axis", labels.shape(), logits.shape()),
        ));
    }
    if let Device::Cpu = labels.device() {
        check_ids(op, labels, k)?;
    }
    xent(op, labels, logits, k, true)
}

/// The number of classes: the last axis of `logits` (rank >= 1, at least one class).
fn classes(op: &'static str, logits: &Tensor) -> Result<usize> {
    match logits.shape().last() {
        Some(&k) if k > 0 => Ok(k),
        _ => Err(shape_err(op, format!("logits {:?} need rank >= 1 and at least one class", logits.shape()))),
    }
}

/// Errors unless every CPU label is an integer class id in `[0, k)`.
fn check_ids(op: &'static str, labels: &Tensor, k: usize) -> Result<()> {
    match labels.cpu_data().iter().find(|&&l| !(l >= 0.0 && l < k as f32 && l.fract() == 0.0)) {
        Some(l) => {
            Err(shape_err(op, format!("label {l} is not a class id in [0, {k}) for labels {:?}", labels.shape())))
        }
        None => Ok(()),
    }
}

/// The fused per-row loss with its backward rule.
fn xent(op: &'static str, labels: &Tensor, logits: &Tensor, k: usize, sparse: bool) -> Result<Tensor> {
    let out = xent_forward(op, labels, logits, k, sparse)?;
    let (lab, lg) = (labels.clone(), logits.clone());
    Ok(record(out, op, &[labels, logits], move |g| {
        let dlogits = lg.requires_grad().then(|| xent_grad(op, &lab, &lg, g, k, sparse)).transpose()?;
        let dlabels = match !sparse && lab.requires_grad() {
            true => Some(mul(&neg(&log_softmax(&lg)?)?, &g.reshape(&[g.numel(), 1])?)?.reshape(lab.shape())?),
            false => None,
        };
        Ok(vec![dlabels, dlogits])
    }))
}

/// Per-row losses without recording a gradient.
fn xent_forward(op: &'static str, labels: &Tensor, logits: &Tensor, k: usize, sparse: bool) -> Result<Tensor> {
    let dev = common_device(op, &[labels, logits])?;
    let shape = logits.shape()[..logits.rank() - 1].to_vec();
    match &dev {
        Device::Cpu => Ok(Tensor::from_cpu(cpu::softmax_xent(labels.cpu_data(), logits.cpu_data(), k, sparse), shape)),
        Device::Gpu(d) => {
            let rows = logits.numel() / k;
            let buf = k::softmax_xent(d, labels.gpu_buf(), logits.gpu_buf(), rows, k, sparse)?;
            Ok(Tensor::from_gpu(buf, shape, &dev))
        }
    }
}

/// The logits gradient `g[r] · (softmax(logits[r]) − labels[r])`.
fn xent_grad(op: &'static str, labels: &Tensor, logits: &Tensor, g: &Tensor, k: usize, sparse: bool) -> Result<Tensor> {
    let dev = common_device(op, &[labels, logits, g])?;
    let shape = logits.shape().to_vec();
    match &dev {
        Device::Cpu => Ok(Tensor::from_cpu(
            cpu::softmax_xent_grad(labels.cpu_data(), logits.cpu_data(), g.cpu_data(), k, sparse),
            shape,
        )),
        Device::Gpu(d) => {
            let rows = logits.numel() / k;
            let buf = k::softmax_xent_grad(d, labels.gpu_buf(), logits.gpu_buf(), g.gpu_buf(), rows, k, sparse)?;
            Ok(Tensor::from_gpu(buf, shape, &dev))
        }
    }
}

/// `x` clipped to `[CROSSENTROPY_EPSILON, 1 − CROSSENTROPY_EPSILON]` (Keras `clip_by_value` with `backend.epsilon()`).
fn clip_probs(x: &Tensor) -> Result<Tensor> {
    let lo = Tensor::full(CROSSENTROPY_EPSILON, &[1], x.device())?;
    let hi = Tensor::full(1.0 - CROSSENTROPY_EPSILON, &[1], x.device())?;
    minimum(&maximum(x, &lo)?, &hi)
}

/// Keras `categorical_crossentropy` averaged over the batch (shape `[]`). With `from_logits`
/// it is the mean of [`softmax_cross_entropy_with_logits`]; otherwise Keras' probability
/// path: rows divided by their sum, clipped to `[1e-7, 1 − 1e-7]`, `−Σ labels · ln p`.
pub fn categorical_crossentropy(labels: &Tensor, output: &Tensor, from_logits: bool) -> Result<Tensor> {
    if from_logits {
        return reduce_mean(&softmax_cross_entropy_with_logits(labels, output)?, None, false);
    }
    let op = "categorical_crossentropy";
    classes(op, output)?;
    if labels.shape() != output.shape() {
        return Err(shape_err(
            op,
            format!("labels {:?} and probabilities {:?} must have the same shape", labels.shape(), output.shape()),
        ));
    }
    let last = [output.rank() - 1];
    let p = clip_probs(&div(output, &reduce_sum(output, Some(&last), true)?)?)?;
    let per = neg(&reduce_sum(&mul(labels, &log(&p)?)?, Some(&last), false)?)?;
    reduce_mean(&per, None, false)
}

/// Keras `sparse_categorical_crossentropy` averaged over the batch (shape `[]`). With
/// `from_logits` it is the mean of [`sparse_softmax_cross_entropy_with_logits`]; otherwise
/// Keras' probability path: probabilities clipped to `[1e-7, 1 − 1e-7]`, then the sparse
/// softmax cross-entropy of their logarithm (which renormalises the rows).
pub fn sparse_categorical_crossentropy(labels: &Tensor, output: &Tensor, from_logits: bool) -> Result<Tensor> {
    let logits = match from_logits {
        true => output.clone(),
        false => log(&clip_probs(output)?)?,
    };
    reduce_mean(&sparse_softmax_cross_entropy_with_logits(labels, &logits)?, None, false)
}

/// Keras `mean_squared_error` averaged over everything (shape `[]`); shapes must match.
pub fn mean_squared_error(y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
    if y_true.shape() != y_pred.shape() {
        return Err(shape_err(
            "mean_squared_error",
            format!("y_true {:?} and y_pred {:?} must have the same shape", y_true.shape(), y_pred.shape()),
        ));
    }
    reduce_mean(&square(&sub(y_pred, y_true)?)?, None, false)
}

/// `tf.one_hot(labels, depth)`: f32 ids of any shape → shape + `[depth]`, a row of zeros for an
/// id that is not an integer in `[0, depth)` (no gradient).
pub fn one_hot(labels: &Tensor, depth: usize) -> Result<Tensor> {
    let mut shape = labels.shape().to_vec();
    shape.push(depth);
    tessera_kernels::checked_numel("one_hot", &shape)?;
    match labels.device() {
        Device::Cpu => Ok(Tensor::from_cpu(cpu::one_hot(labels.cpu_data(), depth), shape)),
        Device::Gpu(d) => {
            Ok(Tensor::from_gpu(k::one_hot(d, labels.gpu_buf(), labels.numel(), depth)?, shape, labels.device()))
        }
    }
}

/// Keras sparse categorical accuracy: the fraction of rows of `logits [n, k]` whose first
/// argmax equals the id in `labels [n]`, computed on the device (shape `[]`, no gradient).
pub fn accuracy(labels: &Tensor, logits: &Tensor) -> Result<Tensor> {
    let op = "accuracy";
    if logits.rank() != 2 || logits.shape()[1] == 0 || labels.shape() != [logits.shape()[0]] {
        return Err(shape_err(
            op,
            format!(
                "needs labels [n] and logits [n, k] with k >= 1, got {:?} and {:?}",
                labels.shape(),
                logits.shape()
            ),
        ));
    }
    let dev = common_device(op, &[labels, logits])?;
    let (n, kk) = (logits.shape()[0], logits.shape()[1]);
    let hits = match &dev {
        Device::Cpu => Tensor::from_cpu(cpu::correct(labels.cpu_data(), logits.cpu_data(), kk), vec![n]),
        Device::Gpu(d) => Tensor::from_gpu(k::correct(d, labels.gpu_buf(), logits.gpu_buf(), n, kk)?, vec![n], &dev),
    };
    reduce_mean(&hits, None, false)
}
