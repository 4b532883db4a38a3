//! Reductions with `tf.reduce_*` semantics (`reduce_sum`, `reduce_mean`, `reduce_max`) and
//! `tf.math.argmax`, with their gradients: the gradient is broadcast back over the reduced axes
//! (divided by the count for the mean); `reduce_max` sends it to the first maximum (row-major,
//! like argmax); argmax has none.

pub use tessera_kernels::reduce::ReduceOp;
use tessera_kernels::reduce::{self as k, reduced_axes, reduced_shape};

use crate::autodiff::record;
use crate::{cpu, shape_err, Device, Result, Tensor};

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
    let out = match x.device() {
        Device::Cpu => Tensor::from_cpu(cpu::reduce(op, x.cpu_data(), x.shape(), &reduced), shape),
        Device::Gpu(g) => Tensor::from_gpu(k::reduce(g, op, x.gpu_buf(), x.shape(), &reduced)?, shape, x.device()),
    };
    // Sum and mean need only the input's shape; max keeps the input to find the maxima.
    let (xshape, xc) = (x.shape().to_vec(), (op == ReduceOp::Max).then(|| x.detach()));
    Ok(record(out, op.name(), &[x], move |g| Ok(vec![Some(reduce_grad(op, &xshape, xc.as_ref(), &reduced, g)?)])))
}

/// The input gradient of reduction `op` of an input of `shape` over the flagged axes, given the
/// output's `g`; `x` (the input itself) is read by max only.
fn reduce_grad(op: ReduceOp, shape: &[usize], x: Option<&Tensor>, reduced: &[bool], g: &Tensor) -> Result<Tensor> {
    let count: usize = shape.iter().zip(reduced).filter(|(_, &r)| r).map(|(&d, _)| d).product();
    match (op, x) {
        (ReduceOp::Max, Some(x)) => reduce_max_grad(x, g, reduced),
        (ReduceOp::Mean, _) => broadcast_reduced(g, shape, reduced, 1.0 / count.max(1) as f32),
        _ => broadcast_reduced(g, shape, reduced, 1.0),
    }
}

/// Checks that `g` has as many elements as `shape` reduced over the flagged axes.
fn check_reduced(op: &'static str, g: &Tensor, shape: &[usize], reduced: &[bool]) -> Result<()> {
    if reduced.len() != shape.len() || g.numel() != reduced_shape(shape, reduced, true).iter().product::<usize>() {
        return Err(shape_err(
            op,
            format!("gradient of shape {:?} does not match shape {shape:?} reduced over {reduced:?}", g.shape()),
        ));
    }
    Ok(())
}

/// `scale · g` broadcast back over the flagged axes of `shape` (`g` is the reduced tensor, with
/// or without keepdims): the gradient of `reduce_sum` (scale 1) and `reduce_mean`.
pub fn broadcast_reduced(g: &Tensor, shape: &[usize], reduced: &[bool], scale: f32) -> Result<Tensor> {
    check_reduced("broadcast_reduced", g, shape, reduced)?;
    let out = match g.device() {
        Device::Cpu => Tensor::from_cpu(cpu::broadcast_back(g.cpu_data(), shape, reduced, scale), shape.to_vec()),
        Device::Gpu(d) => {
            Tensor::from_gpu(k::broadcast_back(d, g.gpu_buf(), shape, reduced, scale)?, shape.to_vec(), g.device())
        }
    };
    let (gshape, flags) = (g.shape().to_vec(), reduced.to_vec());
    Ok(record(out, "broadcast_reduced", &[g], move |gg| {
        let axes: Vec<usize> = (0..flags.len()).filter(|&a| flags[a]).collect();
        let s = reduce_sum(gg, Some(&axes), false)?;
        Ok(vec![Some(crate::ops::affine(&s, scale, 0.0)?.reshape(&gshape)?)])
    }))
}

/// `reduce_max`'s input gradient (not itself differentiable): `g` (one value per output) at the
/// first maximum of each reduced group of `x`, zeros elsewhere.
pub fn reduce_max_grad(x: &Tensor, g: &Tensor, reduced: &[bool]) -> Result<Tensor> {
    check_reduced("reduce_max_grad", g, x.shape(), reduced)?;
    let dev = crate::tensor::common_device("reduce_max_grad", &[x, g])?;
    let shape = x.shape().to_vec();
    match &dev {
        Device::Cpu => Ok(Tensor::from_cpu(cpu::reduce_max_grad(x.cpu_data(), g.cpu_data(), &shape, reduced), shape)),
        Device::Gpu(d) => Ok(Tensor::from_gpu(k::max_grad(d, x.gpu_buf(), g.gpu_buf(), &shape, reduced)?, shape, &dev)),
    }
}

/// `tf.math.argmax`: the first index of the maximum along `axis`, as f32 (exact below 2^24);
/// as in TensorFlow, NaN never wins and a lane with no number above the lowest f32 gives 0.
pub fn argmax(x: &Tensor, axis: usize) -> Result<Tensor> {
    k::check_argmax(x.shape(), axis)?;
    let mut shape = x.shape().to_vec();
    shape.remove(axis);
    match x.device() {
        Device::Cpu => Ok(Tensor::from_cpu(cpu::argmax(x.cpu_data(), x.shape(), axis), shape)),
        Device::Gpu(g) => Ok(Tensor::from_gpu(k::argmax(g, x.gpu_buf(), x.shape(), axis)?, shape, x.device())),
    }
}
