//! Channel shuffle (ShuffleNet): a batched 2-D transpose of the last axis viewed as
//! `[groups, c / groups]`, on the `transpose` kernel family.

use tessera_kernels::transpose as k;

use crate::autodiff::record;
use crate::{cpu, shape_err, Device, Result, Tensor};

/// ShuffleNet's channel shuffle on the last axis (NHWC channels): reshape `[..., c]` to
/// `[..., groups, c / groups]`, swap the last two axes, reshape back — output channel
/// `i · groups + j` is input channel `j · (c / groups) + i`. The gradient is the inverse
/// shuffle (`c / groups` groups).
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
    let out = match x.device() {
        Device::Cpu => Tensor::from_cpu(cpu::transpose2d(x.cpu_data(), batch, groups, c / groups), shape.clone()),
        Device::Gpu(g) => {
            let buf = k::transpose2d(g, x.gpu_buf(), batch, groups, c / groups)?;
            Tensor::from_gpu(buf, shape.clone(), x.device())
        }
    };
    Ok(record(out, "channel_shuffle", &[x], move |g| Ok(vec![Some(channel_shuffle(g, (c / groups).max(1))?)])))
}
