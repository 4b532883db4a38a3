//! The batched 2-D transpose (`tf.transpose(x, [0, 2, 1])` of a rank-3 tensor), differentiable
//! (normalization layers use it to bring a channel axis last), and ShuffleNet's channel shuffle
//! built on it.

use tessera_kernels::transpose as k;

use crate::autodiff::record;
use crate::{cpu, shape_err, Device, Result, Tensor};

/// `tf.transpose(x, [0, 2, 1])`: `[batch, rows, cols]` → `[batch, cols, rows]`. Its gradient is
/// the transpose of the output gradient.
pub fn transpose2d(x: &Tensor) -> Result<Tensor> {
    let &[b, r, c] = x.shape() else {
        return Err(shape_err(
            "transpose2d",
            format!("needs a rank-3 [batch, rows, cols] tensor, got {:?}", x.shape()),
        ));
    };
    let out = match x.device() {
        Device::Cpu => Tensor::from_cpu(cpu::transpose2d(x.cpu_data(), b, r, c), vec![b, c, r]),
        Device::Gpu(g) => Tensor::from_gpu(k::transpose2d(g, x.gpu_buf(), b, r, c)?, vec![b, c, r], x.device()),
    };
    Ok(record(out, "transpose2d", &[x], |g| Ok(vec![Some(transpose2d(g)?)])))
}

/// ShuffleNet's channel shuffle on the last axis (NHWC channels): reshape `[..., c]` to
/// `[..., groups, c / groups]`, swap the last two axes, reshape back — output channel
/// `i · groups + j` is input channel `j · (c / groups) + i`. The gradient is the inverse
/// shuffle (through the transpose's).
pub fn channel_shuffle(x: &Tensor, groups: usize) -> Result<Tensor> {
    let shape = x.shape().to_vec();
    let c = *shape
        .last()
        .ok_or_else(|| shape_err("channel_shuffle", format!("input must have a channel axis, got shape {shape:?}")))?;
    if groups == 0 || !c.is_multiple_of(groups) {
        return Err(shape_err(
            "channel_shuffle",
            format!("channels {c} of input {shape:?} are not divisible by groups {groups}"),
        ));
    }
    let batch = x.numel().checked_div(c).unwrap_or(0);
    transpose2d(&x.reshape(&[batch, groups, c / groups])?)?.reshape(&shape)
}
