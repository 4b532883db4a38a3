//! Losses and metrics with TensorFlow / Keras semantics: `tf.nn.softmax_cross_entropy_with_logits`
//! and its sparse form (fused kernels per row for the loss and the logits gradient), Keras
//! `categorical_crossentropy` / `sparse_categorical_crossentropy` / `mean_squared_error`
//! (scalar means over the batch, shape `[]`), `tf.one_hot` and sparse categorical accuracy.
//!
//! Sparse labels are f32 class ids. An id that is not an integer in `[0, k)` is an
//! [`crate::Error::Shape`]: GPU labels uploaded from the host (or sliced from such) are checked
//! against what the upload saw, other GPU labels are read back (natively; that waits for the
//! work recorded so far). In the browser, which cannot block on a readback, a GPU row with
//! such an id gets a NaN loss and logits gradient.

use tessera_kernels::dense_grad::DenseDims;
use tessera_kernels::dense_xent::dense_xent;
pub use tessera_kernels::dense_xent::HeadFusion;
use tessera_kernels::elementwise::{BinaryOp, UnaryOp};
use tessera_kernels::losses as k;

use crate::autodiff::no_grad;
use crate::autodiff::record;
use crate::ops::{
    add, affine, argmax, binary, div, exp, log, log_softmax, maximum, minimum, mul, neg, reduce_mean, reduce_sum, relu,
    sigmoid, square, sub, unary,
};
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
    let k = check_dense(op, labels, logits)?;
    xent(op, labels, logits, k, false)
}

/// The checks of [`softmax_cross_entropy_with_logits`]; returns the number of classes.
fn check_dense(op: &'static str, labels: &Tensor, logits: &Tensor) -> Result<usize> {
    let k = classes(op, logits)?;
    if labels.shape() != logits.shape() {
        return Err(shape_err(
            op,
            format!("labels {:?} and logits {:?} must have the same shape", labels.shape(), logits.shape()),
        ));
    }
    Ok(k)
}

/// `tf.nn.sparse_softmax_cross_entropy_with_logits`: class ids `[...]` (f32 integers) and
/// logits `[..., k]` → per-example losses `[...]`; the gradient flows to the logits only.
pub fn sparse_softmax_cross_entropy_with_logits(labels: &Tensor, logits: &Tensor) -> Result<Tensor> {
    let op = "sparse_softmax_cross_entropy_with_logits";
    let k = check_sparse(op, labels, logits)?;
    xent(op, labels, logits, k, true)
}

/// The checks of [`sparse_softmax_cross_entropy_with_logits`]; returns the number of classes.
fn check_sparse(op: &'static str, labels: &Tensor, logits: &Tensor) -> Result<usize> {
    let k = classes(op, logits)?;
    if labels.shape() != &logits.shape()[..logits.rank() - 1] {
        return Err(shape_err(
            op,
            format!("labels {:?} must be logits {:?} without the last axis", labels.shape(), logits.shape()),
        ));
    }
    check_ids(op, labels, k)?;
    Ok(k)
}

/// The mean over the rows of the per-row cross-entropy, i.e. `reduce_mean(xent(...))`. On the
/// GPU the loss and its gradient are fused with the mean: one dispatch forward
/// (`xent_mean`) and one backward (`xent_grad_rows` reading the scalar gradient); otherwise
/// (the CPU, no rows, or dense labels that need a gradient) the per-row op and `reduce_mean`.
fn xent_mean(op: &'static str, labels: &Tensor, logits: &Tensor, k: usize, sparse: bool) -> Result<Tensor> {
    let dev = common_device(op, &[labels, logits])?;
    let rows = logits.numel() / k;
    let composed = rows == 0 || (!sparse && labels.requires_grad());
    let Device::Gpu(d) = &dev else { return reduce_mean(&xent(op, labels, logits, k, sparse)?, None, false) };
    if composed {
        return reduce_mean(&xent(op, labels, logits, k, sparse)?, None, false);
    }
    let out =
        Tensor::from_gpu(k::softmax_xent_mean(d, labels.gpu_buf(), logits.gpu_buf(), rows, k, sparse)?, vec![], &dev);
    Ok(record_mean_grad(out, op, labels, logits, (k, sparse), None))
}

/// Records on `out` (a fused mean cross-entropy on the GPU) its backward rule: the logits
/// gradient in one `xent_grad_rows` dispatch reading the scalar upstream gradient, or, when
/// that gradient is the seed of ones (uploaded, so known without a readback) and the forward
/// already wrote the gradient for it (`unit`), that gradient without a dispatch.
fn record_mean_grad(
    out: Tensor,
    op: &'static str,
    labels: &Tensor,
    logits: &Tensor,
    (k, sparse): (usize, bool),
    unit: Option<Tensor>,
) -> Tensor {
    let rows = logits.numel() / k;
    let (lab, lg) = (labels.detach(), logits.detach());
    record(out, op, &[labels, logits], move |g| {
        if let Some(unit) = unit.as_ref().filter(|_| g.uniform_value() == Some(1.0)) {
            return Ok(vec![None, Some(unit.clone())]);
        }
        let Device::Gpu(d) = lg.device() else { unreachable!("xent_mean records only on the GPU") };
        let buf = k::softmax_xent_mean_grad(d, lab.gpu_buf(), lg.gpu_buf(), g.gpu_buf(), rows, k, sparse)?;
        Ok(vec![None, Some(Tensor::from_gpu(buf, lg.shape().to_vec(), lg.device()))])
    })
}

/// The number of classes: the last axis of `logits` (rank >= 1, at least one class).
fn classes(op: &'static str, logits: &Tensor) -> Result<usize> {
    match logits.shape().last() {
        Some(&k) if k > 0 => Ok(k),
        _ => Err(shape_err(op, format!("logits {:?} need rank >= 1 and at least one class", logits.shape()))),
    }
}

/// The labels' values on the host: CPU data as is, GPU labels read back (native); `None` in
/// the browser, where a GPU readback cannot block.
fn host_labels(labels: &Tensor) -> Result<Option<Vec<f32>>> {
    match labels.device() {
        Device::Cpu => Ok(Some(labels.cpu_data().to_vec())),
        #[cfg(not(target_arch = "wasm32"))]
        Device::Gpu(_) => labels.to_vec().map(Some),
        #[cfg(target_arch = "wasm32")]
        Device::Gpu(_) => Ok(None),
    }
}

/// Errors unless every label is an integer class id in `[0, k)`. GPU labels uploaded from the
/// host (or sliced from such) are checked against what the upload saw; other GPU labels are
/// read back, which waits for the work recorded so far; CPU labels are scanned.
fn check_ids(op: &'static str, labels: &Tensor, k: usize) -> Result<()> {
    if labels.class_bound().is_some_and(|b| b <= k) {
        return Ok(());
    }
    let Some(values) = host_labels(labels)? else { return Ok(()) };
    match values.iter().find(|&&l| !(l >= 0.0 && l < k as f32 && l.fract() == 0.0)) {
        Some(l) => {
            Err(shape_err(op, format!("label {l} is not a class id in [0, {k}) for labels {:?}", labels.shape())))
        }
        None => Ok(()),
    }
}

/// The fused per-row loss with its backward rule.
fn xent(op: &'static str, labels: &Tensor, logits: &Tensor, k: usize, sparse: bool) -> Result<Tensor> {
    let out = xent_forward(op, labels, logits, k, sparse)?;
    let (want_logits, want_labels) = (logits.requires_grad(), !sparse && labels.requires_grad());
    let (lab, lg, lab_shape) = (labels.detach(), logits.detach(), labels.shape().to_vec());
    Ok(record(out, op, &[labels, logits], move |g| {
        let dlogits = want_logits.then(|| xent_grad(op, &lab, &lg, g, k, sparse)).transpose()?;
        let dlabels = match want_labels {
            true => Some(mul(&neg(&log_softmax(&lg)?)?, &g.reshape(&[g.numel(), 1])?)?.reshape(&lab_shape)?),
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
        let op = "softmax_cross_entropy_with_logits";
        let k = check_dense(op, labels, output)?;
        return xent_mean(op, labels, output, k, false);
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
    let op = "sparse_softmax_cross_entropy_with_logits";
    let k = check_sparse(op, labels, &logits)?;
    xent_mean(op, labels, &logits, k, true)
}

/// [`sparse_categorical_crossentropy`] and [`accuracy`] of one batch (`labels [n]`, `output
/// [n, k]`): `(loss, accuracy)`, both shape `[]`, the gradient flowing to `output` through
/// the loss only. With `from_logits` on the GPU both come from one dispatch (the loss's mean
/// and the accuracy's mean in one pass over the rows); otherwise the two ops.
pub fn sparse_categorical_crossentropy_with_accuracy(
    labels: &Tensor,
    output: &Tensor,
    from_logits: bool,
) -> Result<(Tensor, Tensor)> {
    let op = "sparse_softmax_cross_entropy_with_logits";
    let n = output.shape().first().copied().unwrap_or(0);
    let Device::Gpu(d) = output.device() else { return loss_and_accuracy(labels, output, from_logits) };
    if !from_logits || output.rank() != 2 || n == 0 || labels.shape() != [n] {
        return loss_and_accuracy(labels, output, from_logits);
    }
    common_device(op, &[labels, output])?;
    let k = check_sparse(op, labels, output)?;
    let dev = output.device();
    // Training (the logits need a gradient): the same dispatch also writes the gradient for
    // the seed of ones, so the backward of `loss.backward()` records nothing for the loss.
    let (loss, acc, unit) = if output.requires_grad() && n * k <= k::FUSED_GRAD_MAX {
        let (loss, acc, grad) = k::softmax_xent_mean_accuracy_grad(d, labels.gpu_buf(), output.gpu_buf(), n, k)?;
        (loss, acc, Some(Tensor::from_gpu(grad, output.shape().to_vec(), dev)))
    } else {
        let (loss, acc) = k::softmax_xent_mean_accuracy(d, labels.gpu_buf(), output.gpu_buf(), n, k)?;
        (loss, acc, None)
    };
    let loss = Tensor::from_gpu(loss, vec![], dev);
    let loss = record_mean_grad(loss, op, labels, output, (k, true), unit);
    Ok((loss, Tensor::from_gpu(acc, vec![], dev)))
}

/// A classifier's head as one op: [`sparse_categorical_crossentropy_with_accuracy`] of
/// `dense(x, kernel, bias)` from logits, for a Dense layer without activation whose logits
/// only the loss reads (`x [n, inputs]`, `kernel [inputs, k]`, `bias [k]`, `labels [n]`).
/// On the GPU, when a gradient is wanted, the product, the loss, the accuracy and the loss's
/// gradients for x, kernel and bias come from one dispatch where the autotuner measures that
/// faster than the three launches (`tessera_kernels::dense_xent`); the gradients are kept for
/// the unit seed `loss.backward()` gives and scaled for any other. Elsewhere: the two ops.
pub fn dense_sparse_categorical_crossentropy_with_accuracy(
    labels: &Tensor,
    x: &Tensor,
    kernel: &Tensor,
    bias: &Tensor,
) -> Result<(Tensor, Tensor)> {
    dense_sparse_categorical_crossentropy_with_accuracy_variant(labels, x, kernel, bias, HeadFusion::Auto)
}

/// [`dense_sparse_categorical_crossentropy_with_accuracy`] with the GPU path chosen
/// (`HeadFusion::Fused` / `Split` / `Separate`, for tests and benchmarks).
pub fn dense_sparse_categorical_crossentropy_with_accuracy_variant(
    labels: &Tensor,
    x: &Tensor,
    kernel: &Tensor,
    bias: &Tensor,
    fusion: HeadFusion,
) -> Result<(Tensor, Tensor)> {
    let op = "sparse_softmax_cross_entropy_with_logits";
    let two_ops = || {
        let logits = crate::ops::dense(x, kernel, Some(bias), crate::Activation::None)?;
        sparse_categorical_crossentropy_with_accuracy(labels, &logits, true)
    };
    let training = x.requires_grad() || kernel.requires_grad() || bias.requires_grad();
    let (Device::Gpu(d), true, Some(dims)) = (x.device(), training, head_dims(labels, x, kernel, bias)) else {
        return two_ops(); // also the shape errors
    };
    let dev = common_device(op, &[labels, x, kernel, bias])?;
    check_ids(op, labels, dims.units)?;
    let h = dense_xent(d, labels.gpu_buf(), [x.gpu_buf(), kernel.gpu_buf(), bias.gpu_buf()], dims, fusion)?;
    let grads = [
        Tensor::from_gpu(h.dx, x.shape().to_vec(), &dev),
        Tensor::from_gpu(h.dw, kernel.shape().to_vec(), &dev),
        Tensor::from_gpu(h.db, bias.shape().to_vec(), &dev),
    ];
    let loss =
        record(Tensor::from_gpu(h.loss, vec![], &dev), "dense_sparse_xent", &[x, kernel, bias], move |g| {
            match g.uniform_value() == Some(1.0) {
                true => Ok(grads.iter().cloned().map(Some).collect()),
                false => grads.iter().map(|t| mul(t, g).map(Some)).collect(),
            }
        });
    Ok((loss, Tensor::from_gpu(h.accuracy, vec![], &dev)))
}

/// The head's sizes when the operands fit together (`x [n, inputs]` with n > 0, `kernel
/// [inputs, k]`, `bias [k]`, `labels [n]`), else `None`.
fn head_dims(labels: &Tensor, x: &Tensor, kernel: &Tensor, bias: &Tensor) -> Option<DenseDims> {
    let (&[batch, inputs], &[rows, units]) = (x.shape(), kernel.shape()) else { return None };
    let fit = rows == inputs && bias.shape() == [units] && labels.shape() == [batch] && batch > 0 && units > 0;
    fit.then_some(DenseDims { batch, inputs, units })
}

/// The loss and the accuracy by their own ops.
fn loss_and_accuracy(labels: &Tensor, output: &Tensor, from_logits: bool) -> Result<(Tensor, Tensor)> {
    let loss = sparse_categorical_crossentropy(labels, output, from_logits)?;
    Ok((loss, accuracy(labels, &output.detach())?))
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
/// argmax equals the id in `labels [n]`, computed on the device (shape `[]`, no gradient; one
/// dispatch on the GPU).
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
    if let (Device::Gpu(d), true) = (&dev, n > 0) {
        return Ok(Tensor::from_gpu(k::correct_mean(d, labels.gpu_buf(), logits.gpu_buf(), n, kk)?, vec![], &dev));
    }
    let hits = match &dev {
        Device::Cpu => Tensor::from_cpu(cpu::correct(labels.cpu_data(), logits.cpu_data(), kk), vec![n]),
        Device::Gpu(d) => Tensor::from_gpu(k::correct(d, labels.gpu_buf(), logits.gpu_buf(), n, kk)?, vec![n], &dev),
    };
    reduce_mean(&hits, None, false)
}

/// Errors unless `a` and `b` have the same shape.
fn same_shape(op: &'static str, a: &Tensor, b: &Tensor) -> Result<()> {
    match a.shape() == b.shape() {
        true => Ok(()),
        false => {
            Err(shape_err(op, format!("y_true {:?} and y_pred {:?} must have the same shape", a.shape(), b.shape())))
        }
    }
}

/// `tf.nn.sigmoid_cross_entropy_with_logits`: elementwise
/// `max(x, 0) − x·z + ln(1 + e^(−|x|))` for labels `z` and logits `x` of one shape.
/// Gradients (TensorFlow's): `g · (sigmoid(x) − z)` to the logits, `−g · x` to the labels.
pub fn sigmoid_cross_entropy_with_logits(labels: &Tensor, logits: &Tensor) -> Result<Tensor> {
    let op = "sigmoid_cross_entropy_with_logits";
    same_shape(op, labels, logits)?;
    let out = no_grad(|| {
        let soft = log(&affine(&exp(&neg(&unary(UnaryOp::Abs, logits)?)?)?, 1.0, 1.0)?)?;
        add(&sub(&relu(logits)?, &mul(logits, labels)?)?, &soft)
    })?;
    let (want_z, want_x) = (labels.requires_grad(), logits.requires_grad());
    let (z, x) = (labels.detach(), logits.detach());
    Ok(record(out, op, &[labels, logits], move |g| {
        let dz = want_z.then(|| neg(&mul(g, &x)?)).transpose()?;
        let dx = want_x.then(|| mul(g, &sub(&sigmoid(&x)?, &z)?)).transpose()?;
        Ok(vec![dz, dx])
    }))
}

/// Keras `binary_crossentropy` averaged over everything (shape `[]`; Keras's mean over the
/// last axis, then over the batch). With `from_logits` it is the mean of
/// [`sigmoid_cross_entropy_with_logits`]; otherwise probabilities clipped to
/// `[1e-7, 1 − 1e-7]` and `−(z·ln p + (1 − z)·ln(1 − p))`.
pub fn binary_crossentropy(y_true: &Tensor, y_pred: &Tensor, from_logits: bool) -> Result<Tensor> {
    same_shape("binary_crossentropy", y_true, y_pred)?;
    if from_logits {
        return reduce_mean(&sigmoid_cross_entropy_with_logits(y_true, y_pred)?, None, false);
    }
    let p = clip_probs(y_pred)?;
    let pos = mul(y_true, &log(&p)?)?;
    let negative = mul(&affine(y_true, -1.0, 1.0)?, &log(&affine(&p, -1.0, 1.0)?)?)?;
    reduce_mean(&neg(&add(&pos, &negative)?)?, None, false)
}

/// 1.0 where `a == b` exactly, else 0.0 (no gradient).
fn equal(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let zero = Tensor::zeros(&[1], a.device())?;
    affine(&binary(BinaryOp::Greater, &unary(UnaryOp::Abs, &sub(a, b)?)?, &zero)?, -1.0, 1.0)
}

/// Keras `binary_accuracy`: the fraction of entries where `y_true` equals
/// `y_pred > threshold` (Keras's default threshold is 0.5), shape `[]`, no gradient.
pub fn binary_accuracy(y_true: &Tensor, y_pred: &Tensor, threshold: f32) -> Result<Tensor> {
    same_shape("binary_accuracy", y_true, y_pred)?;
    no_grad(|| {
        let t = Tensor::full(threshold, &[1], y_pred.device())?;
        reduce_mean(&equal(y_true, &binary(BinaryOp::Greater, y_pred, &t)?)?, None, false)
    })
}

/// Keras `categorical_accuracy`: the fraction of rows of `[n, k]` whose first argmax of
/// `y_pred` equals the first argmax of the one-hot `y_true`, shape `[]`, no gradient.
pub fn categorical_accuracy(y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
    same_shape("categorical_accuracy", y_true, y_pred)?;
    if y_pred.rank() != 2 {
        return Err(shape_err("categorical_accuracy", format!("needs [n, k] inputs, got {:?}", y_pred.shape())));
    }
    no_grad(|| accuracy(&argmax(y_true, 1)?, y_pred))
}

/// `tf.math.in_top_k(targets, predictions, k)`: 1.0 for each row of `predictions [n, c]` where
/// fewer than `k` classes score strictly higher than the target class `targets [n]` (ties at
/// the boundary count as in the top k, TensorFlow's rule), else 0.0 (also for a target that is
/// not a class id, and for a row with any NaN or inf score, as in TensorFlow); no gradient.
pub fn in_top_k(targets: &Tensor, predictions: &Tensor, k: usize) -> Result<Tensor> {
    let op = "in_top_k";
    if predictions.rank() != 2 || targets.shape() != [predictions.shape()[0]] {
        return Err(shape_err(
            op,
            format!(
                "needs targets [n] and predictions [n, c], got {:?} and {:?}",
                targets.shape(),
                predictions.shape()
            ),
        ));
    }
    let c = classes(op, predictions)?;
    no_grad(|| {
        let hot = one_hot(targets, c)?;
        let target = reduce_sum(&mul(&hot, predictions)?, Some(&[1]), true)?;
        let higher = reduce_sum(&binary(BinaryOp::Greater, predictions, &target)?, Some(&[1]), false)?;
        let limit = Tensor::full(k as f32, &[1], predictions.device())?;
        // TensorFlow answers false for a row with any NaN or inf: x − x is 0 only when finite.
        let one = Tensor::ones(&[1], predictions.device())?;
        let spread = unary(UnaryOp::Abs, &reduce_sum(&sub(predictions, predictions)?, Some(&[1]), false)?)?;
        let finite = binary(BinaryOp::Greater, &one, &spread)?;
        let hit = mul(&binary(BinaryOp::Greater, &limit, &higher)?, &reduce_sum(&hot, Some(&[1]), false)?)?;
        mul(&hit, &finite)
    })
}

/// Keras `sparse_top_k_categorical_accuracy` (k = 5 by default there): the fraction of rows
/// whose label id is [`in_top_k`] of `y_pred [n, c]`, shape `[]`.
pub fn sparse_top_k_categorical_accuracy(labels: &Tensor, y_pred: &Tensor, k: usize) -> Result<Tensor> {
    reduce_mean(&in_top_k(labels, y_pred, k)?, None, false)
}

/// Keras `top_k_categorical_accuracy`: [`sparse_top_k_categorical_accuracy`] with the first
/// argmax of the one-hot `y_true [n, c]` as the label, shape `[]`.
pub fn top_k_categorical_accuracy(y_true: &Tensor, y_pred: &Tensor, k: usize) -> Result<Tensor> {
    same_shape("top_k_categorical_accuracy", y_true, y_pred)?;
    if y_pred.rank() != 2 {
        return Err(shape_err("top_k_categorical_accuracy", format!("needs [n, k] inputs, got {:?}", y_pred.shape())));
    }
    sparse_top_k_categorical_accuracy(&no_grad(|| argmax(y_true, 1))?, y_pred, k)
}
