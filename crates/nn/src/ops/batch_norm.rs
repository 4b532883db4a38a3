//! Normalization ops: `tf.nn.moments` (mean and biased variance over axes) and the fused
//! `tf.nn.batch_normalization`, both differentiable in every input, so training-mode batch
//! norm composed as `batch_normalization(x, moments(x).0, moments(x).1, ...)` back-propagates
//! through the batch statistics. Training-mode batch norm can fuse an activation
//! ([`batch_norm_training_with`]), which the models' peephole uses for BatchNormalization → ReLU.

use tessera_kernels::batch_norm::{self as k, check_axes, reduced_shape, BnParams, ReducePlan};
use tessera_kernels::launch::FusedGrad;

use crate::autodiff::record;
use crate::ops::{activation_saved, affine, div, mul, neg, reduce_sum, sqrt, sub};
use crate::tensor::common_device;
use crate::{cpu, shape_err, Activation, Device, Result, Tensor};

/// `tf.nn.moments(x, axes, keepdims)`: the mean and the biased (divide-by-N) variance over
/// `axes`, the variance computed as the mean of squared deviations from the mean. Axes must be
/// in range and distinct; reduced axes become 1 with `keepdims`, else they are removed.
/// Gradients: d mean/dx = 1/N and d variance/dx = 2(x − mean)/N (N reduced elements), each
/// output recorded separately.
pub fn moments(x: &Tensor, axes: &[usize], keepdims: bool) -> Result<(Tensor, Tensor)> {
    let (mean, var) = moments_forward(x, axes, keepdims)?;
    let reduced = check_axes("moments", x.shape(), axes)?;
    record_moments(x, mean, var, &reduced)
}

/// Attaches the backward rules of [`moments`] to its (mean, variance) outputs.
fn record_moments(x: &Tensor, mean: Tensor, var: Tensor, reduced: &[bool]) -> Result<(Tensor, Tensor)> {
    let keep = reduced_shape(x.shape(), reduced, true);
    let count: usize = x.shape().iter().zip(reduced).filter(|(_, &r)| r).map(|(d, _)| d).product();
    let inv_n = 1.0 / count.max(1) as f32;
    let (xs, dev, k1) = (x.shape().to_vec(), x.device().clone(), keep.clone());
    let mean_grad = move |g: &Tensor| {
        let spread = Tensor::full(inv_n, &xs, &dev)?;
        Ok(vec![Some(mul(&g.reshape(&k1)?, &spread)?)])
    };
    let (xc, m) = (x.detach(), mean.detach().reshape(&keep)?);
    let per_channel = reduced.last() == Some(&false) && reduced[..reduced.len() - 1].iter().all(|&r| r);
    let var_grad = move |g: &Tensor| {
        let g2 = affine(&g.reshape(&keep)?, 2.0 * inv_n, 0.0)?;
        if per_channel {
            // (x − mean) · g2 per channel in one batch-norm kernel (variance 0, ε = 1).
            let c = [*keep.last().unwrap_or(&0)];
            let (m, g2, zeros) = (m.reshape(&c)?, g2.reshape(&c)?, Tensor::zeros(&c, xc.device())?);
            return Ok(vec![Some(batch_normalization_forward(
                &xc,
                &m,
                &zeros,
                None,
                Some(&g2),
                1.0,
                Activation::None,
            )?)]);
        }
        Ok(vec![Some(mul(&g2, &sub(&xc, &m)?)?)])
    };
    let mean = record(mean, "moments/mean", &[x], mean_grad);
    Ok((mean, record(var, "moments/variance", &[x], var_grad)))
}

/// The forward of [`moments`], without recording gradients.
fn moments_forward(x: &Tensor, axes: &[usize], keepdims: bool) -> Result<(Tensor, Tensor)> {
    let op = "moments";
    let reduced = check_axes(op, x.shape(), axes)?;
    let shape = reduced_shape(x.shape(), &reduced, keepdims);
    match x.device() {
        Device::Cpu => {
            ReducePlan::new(op, x.shape(), axes)?;
            let (m, v) = cpu::moments(x.cpu_data(), x.shape(), &reduced);
            Ok((Tensor::from_cpu(m, shape.clone()), Tensor::from_cpu(v, shape)))
        }
        Device::Gpu(g) => {
            let (m, v) = k::moments(g, x.gpu_buf(), &ReducePlan::new(op, x.shape(), axes)?)?;
            Ok((Tensor::from_gpu(m, shape.clone(), x.device()), Tensor::from_gpu(v, shape, x.device())))
        }
    }
}

/// Checks a per-channel parameter: shape `[c]`, or any shape of ones ending in `c` (such as
/// `[1, 1, 1, c]`) whose rank does not exceed x's.
fn check_param(op: &'static str, what: &str, p: &Tensor, x: &[usize]) -> Result<()> {
    let c = *x.last().unwrap_or(&0);
    let s = p.shape();
    let ok = s.last() == Some(&c) && s.len() <= x.len() && s[..s.len() - 1].iter().all(|&d| d == 1);
    if !ok {
        return Err(shape_err(
            op,
            format!("{what} shape {s:?} must be [{c}] (or [1, ..., 1, {c}]) for x of shape {x:?}"),
        ));
    }
    Ok(())
}

/// `tf.nn.batch_normalization(x, mean, variance, offset, scale, variance_epsilon)`:
/// `(x − mean) · scale / √(variance + ε) + offset` per channel of x's last axis, in one GPU
/// kernel. Parameters have shape `[c]` or `[1, ..., 1, c]`; `offset` defaults to 0 and
/// `scale` to 1. Differentiable in x, mean, variance, offset and scale (per-channel gradients
/// summed over every other axis).
pub fn batch_normalization(
    x: &Tensor,
    mean: &Tensor,
    variance: &Tensor,
    offset: Option<&Tensor>,
    scale: Option<&Tensor>,
    variance_epsilon: f32,
) -> Result<Tensor> {
    let out = batch_normalization_forward(x, mean, variance, offset, scale, variance_epsilon, Activation::None)?;
    let mut operands = vec![x, mean, variance];
    operands.extend(offset.into_iter().chain(scale));
    let saved = BnSaved {
        x: x.clone(),
        mean: mean.clone(),
        variance: variance.clone(),
        offset: offset.cloned(),
        scale: scale.cloned(),
        eps: variance_epsilon,
    };
    Ok(record(out, "batch_normalization", &operands, move |g| saved.grads(g)))
}

/// The inputs of a recorded [`batch_normalization`], for its backward rule.
struct BnSaved {
    x: Tensor,
    mean: Tensor,
    variance: Tensor,
    offset: Option<Tensor>,
    scale: Option<Tensor>,
    eps: f32,
}

impl BnSaved {
    /// Gradients for (x, mean, variance, offset?, scale?) given the output gradient `g`:
    /// with k = scale/√(var+ε) and x̂ = (x−mean)/√(var+ε): dx = g·k, d offset = Σg,
    /// d scale = Σ g·x̂, d mean = −k·Σg, d var = −½·scale·Σ(g·x̂)/(var+ε).
    fn grads(&self, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let c = *self.x.shape().last().unwrap_or(&0);
        let axes: Vec<usize> = (0..self.x.rank() - 1).collect();
        let sum_c = |t: &Tensor| reduce_sum(t, Some(&axes), false);
        let var_c = self.variance.reshape(&[c])?;
        let scale_c = self.scale.as_ref().map(|s| s.reshape(&[c])).transpose()?;
        let (eps, mean_c) = (self.eps, self.mean.reshape(&[c])?);
        let zeros = Tensor::zeros(&[c], self.x.device())?;
        let dx = self
            .x
            .requires_grad()
            .then(|| batch_normalization_forward(g, &zeros, &var_c, None, scale_c.as_ref(), eps, Activation::None))
            .transpose()?;
        let want_sum = self.mean.requires_grad() || self.offset.as_ref().is_some_and(|o| o.requires_grad());
        let sum_g = want_sum.then(|| sum_c(g)).transpose()?;
        let want_dot = self.variance.requires_grad() || self.scale.as_ref().is_some_and(|s| s.requires_grad());
        let dot = want_dot
            .then(|| {
                sum_c(&mul(
                    g,
                    &batch_normalization_forward(&self.x, &mean_c, &var_c, None, None, eps, Activation::None)?,
                )?)
            })
            .transpose()?;
        let (dmean, dvar) = self.stat_grads(sum_g.as_ref(), dot.as_ref(), &var_c, scale_c)?;
        let shaped = |t: Option<Tensor>, like: &Tensor| t.map(|t| t.reshape(like.shape())).transpose();
        let mut grads = vec![dx, shaped(dmean, &self.mean)?, shaped(dvar, &self.variance)?];
        if let Some(o) = &self.offset {
            grads.push(shaped(sum_g.filter(|_| o.requires_grad()), o)?);
        }
        if let Some(sc) = &self.scale {
            grads.push(shaped(dot.filter(|_| sc.requires_grad()), sc)?);
        }
        Ok(grads)
    }

    /// `[c]` gradients of the mean (−k·Σg) and variance (−½·scale·Σ(g·x̂)/(var+ε)) from the
    /// channel sums Σg and Σ(g·x̂), when those inputs need them.
    fn stat_grads(
        &self,
        sum_g: Option<&Tensor>,
        dot: Option<&Tensor>,
        var_c: &Tensor,
        scale_c: Option<Tensor>,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let s = match scale_c {
            Some(s) => s,
            None => Tensor::ones(var_c.shape(), var_c.device())?,
        };
        let var_eps = affine(var_c, 1.0, self.eps)?;
        let dmean = match (sum_g, self.mean.requires_grad()) {
            (Some(sg), true) => Some(neg(&mul(sg, &div(&s, &sqrt(&var_eps)?)?)?)?),
            _ => None,
        };
        let dvar = match (dot, self.variance.requires_grad()) {
            (Some(d), true) => Some(affine(&div(&mul(d, &s)?, &var_eps)?, -0.5, 0.0)?),
            _ => None,
        };
        Ok((dmean, dvar))
    }
}

/// The forward of [`batch_normalization`] followed by the fused activation `act`, without
/// recording gradients.
fn batch_normalization_forward(
    x: &Tensor,
    mean: &Tensor,
    variance: &Tensor,
    offset: Option<&Tensor>,
    scale: Option<&Tensor>,
    variance_epsilon: f32,
    act: Activation,
) -> Result<Tensor> {
    if x.rank() == 0 {
        return Err(shape_err("batch_normalization", "x must have at least one axis (channels last), got shape []"));
    }
    let named = [("mean", Some(mean)), ("variance", Some(variance)), ("offset", offset), ("scale", scale)];
    for (what, p) in named {
        p.map_or(Ok(()), |p| check_param("batch_normalization", what, p, x.shape()))?;
    }
    let mut operands = vec![x, mean, variance];
    operands.extend(offset.into_iter().chain(scale));
    let dev = common_device("batch_normalization", &operands)?;
    let c = x.shape()[x.rank() - 1];
    match &dev {
        Device::Cpu => {
            let (o, s) = (offset.map(|t| t.cpu_data()), scale.map(|t| t.cpu_data()));
            let (m, v) = (mean.cpu_data(), variance.cpu_data());
            let out = cpu::batch_normalization(x.cpu_data(), c, m, v, o, s, variance_epsilon, act);
            Ok(Tensor::from_cpu(out, x.shape().to_vec()))
        }
        Device::Gpu(g) => {
            let bn = BnParams {
                mean: mean.gpu_buf(),
                variance: variance.gpu_buf(),
                offset: offset.map(|t| t.gpu_buf()),
                scale: scale.map(|t| t.gpu_buf()),
                epsilon: variance_epsilon,
                activation: act,
            };
            let buf = k::batch_normalization(g, x.gpu_buf(), x.numel(), c, &bn)?;
            Ok(Tensor::from_gpu(buf, x.shape().to_vec(), &dev))
        }
    }
}

/// Training-mode batch norm over every axis but the last (channels):
/// `y = gamma · (x − mean)/√(var + ε) + beta` with the batch mean and biased variance, returned
/// as (y, mean, variance) (the statistics have shape `[c]`). Equals
/// `batch_normalization(x, moments(x, all but last).0, .1, beta, gamma, ε)`, but y's backward
/// (for x, gamma, beta, including the paths through the statistics) is one fused reduction
/// plus one elementwise kernel. The returned statistics are differentiable like `moments`.
pub fn batch_norm_training(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    epsilon: f32,
) -> Result<(Tensor, Tensor, Tensor)> {
    batch_norm_training_with(x, gamma, beta, epsilon, Activation::None)
}

/// [`batch_norm_training`] with `act` applied to y in the same kernel (Keras's
/// BatchNormalization → ReLU as one forward and one backward pass: the backward masks the
/// output gradient by the activation's gradient from the saved y inside its own passes).
pub fn batch_norm_training_with(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    epsilon: f32,
    act: Activation,
) -> Result<(Tensor, Tensor, Tensor)> {
    if x.rank() == 0 {
        return Err(shape_err("batch_norm_training", "x must have at least one axis (channels last), got shape []"));
    }
    check_param("batch_norm_training", "gamma", gamma, x.shape())?;
    check_param("batch_norm_training", "beta", beta, x.shape())?;
    common_device("batch_norm_training", &[x, gamma, beta])?;
    let axes: Vec<usize> = (0..x.rank() - 1).collect();
    let (mean, var) = moments_forward(x, &axes, false)?;
    let y = batch_normalization_forward(x, &mean, &var, Some(beta), Some(gamma), epsilon, act)?;
    let (xc, gc, bs, m, v) = (x.detach(), gamma.detach(), beta.shape().to_vec(), mean.clone(), var.clone());
    let saved = activation_saved(act, &y);
    let y = record(y, "batch_norm_training", &[x, gamma, beta], move |g| {
        let fused = (act, saved.as_ref());
        let (dx, dgamma, dbeta) = batch_norm_training_grad(&xc, g, &m, &v, &gc, epsilon, fused)?;
        Ok(vec![Some(dx), Some(dgamma.reshape(gc.shape())?), Some(dbeta.reshape(&bs)?)])
    });
    let reduced: Vec<bool> = (0..x.rank()).map(|i| i + 1 < x.rank()).collect();
    let (mean, var) = record_moments(x, mean, var, &reduced)?;
    Ok((y, mean, var))
}

/// (dx, d gamma, d beta) of [`batch_norm_training_with`]'s output for the output gradient
/// `dy`, given the batch statistics (each `[c]`) and the fused activation with its saved
/// output (`(Activation::None, None)` for none); the gradients of gamma and beta are `[c]`.
fn batch_norm_training_grad(
    x: &Tensor,
    dy: &Tensor,
    mean: &Tensor,
    var: &Tensor,
    gamma: &Tensor,
    eps: f32,
    (act, y): (Activation, Option<&Tensor>),
) -> Result<(Tensor, Tensor, Tensor)> {
    let c = *x.shape().last().unwrap_or(&0);
    let dev = common_device("batch_norm_training", &[x, dy])?;
    match &dev {
        Device::Cpu => {
            let (m, v, gm) = (mean.cpu_data(), var.cpu_data(), gamma.cpu_data());
            let up = cpu::activation_masked(dy.cpu_data(), y.map(|y| y.cpu_data()), act);
            let (dx, dg, db) = cpu::batch_norm_training_grad(x.cpu_data(), &up, c, m, v, gm, eps);
            Ok((Tensor::from_cpu(dx, x.shape().to_vec()), Tensor::from_cpu(dg, vec![c]), Tensor::from_cpu(db, vec![c])))
        }
        Device::Gpu(g) => {
            let rows = x.numel().checked_div(c).unwrap_or(0);
            let (xb, dyb, mb, vb, gb) = (x.gpu_buf(), dy.gpu_buf(), mean.gpu_buf(), var.gpu_buf(), gamma.gpu_buf());
            let fused = FusedGrad { act, y: y.map(|y| y.gpu_buf()) };
            let r = k::batch_norm_training_grad(g, xb, dyb, mb, vb, gb, [rows, c], eps, fused)?;
            let t = |b, s: Vec<usize>| Tensor::from_gpu(b, s, &dev);
            Ok((t(r.dx, x.shape().to_vec()), t(r.dgamma, vec![c]), t(r.dbeta, vec![c])))
        }
    }
}

/// The backward of [`batch_norm_training`] as a standalone op (for parity tests): returns
/// (dx, d gamma, d beta) for input `x`, output gradient `dy` and scale `gamma` (`[c]`),
/// recomputing the batch statistics of `x`. Not itself differentiable.
pub fn batch_norm_training_backprop(
    x: &Tensor,
    dy: &Tensor,
    gamma: &Tensor,
    epsilon: f32,
) -> Result<(Tensor, Tensor, Tensor)> {
    if x.rank() == 0 || dy.shape() != x.shape() {
        return Err(shape_err(
            "batch_norm_training_backprop",
            format!("gradient shape {:?} must equal x's shape {:?} (rank >= 1)", dy.shape(), x.shape()),
        ));
    }
    check_param("batch_norm_training_backprop", "gamma", gamma, x.shape())?;
    let axes: Vec<usize> = (0..x.rank() - 1).collect();
    let (mean, var) = moments_forward(x, &axes, false)?;
    batch_norm_training_grad(x, dy, &mean, &var, gamma, epsilon, (Activation::None, None))
}
