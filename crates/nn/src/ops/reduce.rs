//! Reductions with `tf.reduce_*` semantics (`reduce_sum`, `reduce_mean`, `reduce_max`) and
//! `tf.math.argmax`.

pub use tessera_kernels::reduce::ReduceOp;
use tessera_kernels::reduce::{self as k, reduced_axes, reduced_shape};

use crate::{cpu, Device, Result, Tensor};

/// `tf.reduce_sum`: sums over `axes` (`None` = all axes), keeping them as 1s when `keepdims`.
pub fn reduce_sum(x: &Tensor, axes: Option<&[usize]>, keepdims: bool) -> Result<Tensor> {
    reduce(ReduceOp::Sum, x, axes, keepdims)
}

/// `tf.reduce_mean`: averages over `axes` (`None` = all axes), keeping them when `keepdims`.
pub fn reduce_mean(x: &Tensor, axes: Option<&[usize]>, keepdims: bool) -> Result<Tensor> {
    reduce(ReduceOp::Mean, x, axes, keepdims)
}

/// `tf.reduce_max`: maximum over `axes` (`None` = all axes), keeping them when `keepdims`.
pub fn reduce_max(x: &Tensor, axes: Option<&[usize]>, keepdims: bool) -> Result<Tensor> {
    reduce(ReduceOp::Max, x, axes, keepdims)
}

/// Applies `op` over `axes` on the tensor's device.
pub fn reduce(op: ReduceOp, x: &Tensor, axes: Option<&[usize]>, keepdims: bool) -> Result<Tensor> {
    let reduced = reduced_axes(op.name(), x.shape(), axes)?;
    let shape = reduced_shape(x.shape(), &reduced, keepdims);
    if !reduced.contains(&true) {
        return x.reshape(&shape);
    }
    match x.device() {
        Device::Cpu => Ok(Tensor::from_cpu(cpu::reduce(op, x.cpu_data(), x.shape(), &reduced), shape)),
        Device::Gpu(g) => Ok(Tensor::from_gpu(k::reduce(g, op, x.gpu_buf(), x.shape(), &reduced)?, shape, x.device())),
    }
}

/// `tf.math.argmax`: the first index of the maximum along `axis`, as f32 (exact below 2^24).
pub fn argmax(x: &Tensor, axis: usize) -> Result<Tensor> {
    k::check_argmax(x.shape(), axis)?;
    let mut shape = x.shape().to_vec();
    shape.remove(axis);
    match x.device() {
        Device::Cpu => Ok(Tensor::from_cpu(cpu::argmax(x.cpu_data(), x.shape(), axis), shape)),
        Device::Gpu(g) => Ok(Tensor::from_gpu(k::argmax(g, x.gpu_buf(), x.shape(), axis)?, shape, x.device())),
    }
}
