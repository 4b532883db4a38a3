//! Normalization ops: `tf.nn.moments` (mean and biased variance over axes) and the fused
//! `tf.nn.batch_normalization`.

use tessera_kernels::batch_norm::{self as k, check_axes, reduced_shape, BnParams, ReducePlan};

use crate::tensor::common_device;
use crate::{cpu, shape_err, Device, Result, Tensor};

/// `tf.nn.moments(x, axes, keepdims)`: the mean and the biased (divide-by-N) variance over
/// `axes`, the variance computed as the mean of squared deviations from the mean. Axes must be
/// in range and distinct; reduced axes become 1 with `keepdims`, else they are removed.
pub fn moments(x: &Tensor, axes: &[usize], keepdims: bool) -> Result<(Tensor, Tensor)> {
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
fn check_param(what: &str, p: &Tensor, x: &[usize]) -> Result<()> {
    let c = *x.last().unwrap_or(&0);
    let s = p.shape();
    let ok = s.last() == Some(&c) && s.len() <= x.len() && s[..s.len() - 1].iter().all(|&d| d == 1);
    if !ok {
        return Err(shape_err(
            "batch_normalization",
            format!("{what} shape {s:?} must be [{c}] (or [1, ..., 1, {c}]) for x of shape {x:?}"),
        ));
    }
    Ok(())
}

/// `tf.nn.batch_normalization(x, mean, variance, offset, scale, variance_epsilon)`:
/// `(x − mean) · scale / √(variance + ε) + offset` per channel of x's last axis, in one GPU
/// kernel. Parameters have shape `[c]` or `[1, ..., 1, c]`; `offset` defaults to 0 and
/// `scale` to 1.
pub fn batch_normalization(
    x: &Tensor,
    mean: &Tensor,
    variance: &Tensor,
    offset: Option<&Tensor>,
    scale: Option<&Tensor>,
    variance_epsilon: f32,
) -> Result<Tensor> {
    if x.rank() == 0 {
        return Err(shape_err("batch_normalization", "x must have at least one axis (channels last), got shape []"));
    }
    let named = [("mean", Some(mean)), ("variance", Some(variance)), ("offset", offset), ("scale", scale)];
    for (what, p) in named {
        p.map_or(Ok(()), |p| check_param(what, p, x.shape()))?;
    }
    let mut operands = vec![x, mean, variance];
    operands.extend(offset.into_iter().chain(scale));
    let dev = common_device("batch_normalization", &operands)?;
    let c = x.shape()[x.rank() - 1];
    match &dev {
        Device::Cpu => {
            let (o, s) = (offset.map(|t| t.cpu_data()), scale.map(|t| t.cpu_data()));
            let out =
                cpu::batch_normalization(x.cpu_data(), c, mean.cpu_data(), variance.cpu_data(), o, s, variance_epsilon);
            Ok(Tensor::from_cpu(out, x.shape().to_vec()))
        }
        Device::Gpu(g) => {
            let bn = BnParams {
                mean: mean.gpu_buf(),
                variance: variance.gpu_buf(),
                offset: offset.map(|t| t.gpu_buf()),
                scale: scale.map(|t| t.gpu_buf()),
                epsilon: variance_epsilon,
            };
            let buf = k::batch_normalization(g, x.gpu_buf(), x.numel(), c, &bn)?;
            Ok(Tensor::from_gpu(buf, x.shape().to_vec(), &dev))
        }
    }
}
