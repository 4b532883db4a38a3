//! `tf.concat`: joins tensors along one axis, and `slice` along one axis (its gradient; each
//! is the other's backward).

use tessera_kernels::concat::{self as k, concat_shape, slice_shape};

use crate::autodiff::record;
use crate::tensor::common_device;
use crate::{cpu, shape_err, Device, Result, Tensor};

/// `tf.concat(xs, axis)`: all shapes equal except along `axis`.
pub fn concat(xs: &[&Tensor], axis: usize) -> Result<Tensor> {
    if xs.is_empty() {
        return Err(shape_err("concat", "needs at least one tensor, got an empty list"));
    }
    let dev = common_device("concat", xs)?;
    let shapes: Vec<&[usize]> = xs.iter().map(|t| t.shape()).collect();
    let shape = concat_shape(&shapes, axis)?;
    let out = match &dev {
        Device::Cpu => {
            let parts: Vec<(&[f32], &[usize])> = xs.iter().map(|t| (t.cpu_data(), t.shape())).collect();
            Tensor::from_cpu(cpu::concat(&parts, axis), shape)
        }
        Device::Gpu(g) => {
            let bufs: Vec<_> = xs.iter().map(|t| t.gpu_buf()).collect();
            Tensor::from_gpu(k::concat(g, &bufs, &shapes, axis)?, shape, &dev)
        }
    };
    let parts: Vec<(usize, bool)> = xs.iter().map(|t| (t.shape()[axis], t.requires_grad())).collect();
    Ok(record(out, "concat", xs, move |g| {
        let mut start = 0;
        let mut grads = Vec::with_capacity(parts.len());
        for &(len, wanted) in &parts {
            grads.push(wanted.then(|| slice(g, axis, start, len)).transpose()?);
            start += len;
        }
        Ok(grads)
    }))
}

/// `len` entries of `x` from `start` along `axis` (`tf.slice` along one axis).
pub fn slice(x: &Tensor, axis: usize, start: usize, len: usize) -> Result<Tensor> {
    let shape = slice_shape(x.shape(), axis, start, len)?;
    let out = match x.device() {
        Device::Cpu => Tensor::from_cpu(cpu::slice(x.cpu_data(), x.shape(), axis, start, len), shape),
        Device::Gpu(g) => Tensor::from_gpu_part(k::slice(g, x.gpu_buf(), x.shape(), axis, start, len)?, shape, x),
    };
    let full = x.shape().to_vec();
    Ok(record(out, "slice", &[x], move |g| Ok(vec![Some(pad_axis(g, &full, axis, start)?)])))
}

/// `g` placed at `start` along `axis` inside zeros of shape `full` (slice's gradient).
fn pad_axis(g: &Tensor, full: &[usize], axis: usize, start: usize) -> Result<Tensor> {
    let zeros = |n: usize| {
        let mut s = full.to_vec();
        s[axis] = n;
        Tensor::zeros(&s, g.device())
    };
    let after = full[axis] - start - g.shape()[axis];
    let (before, after) = (zeros(start)?, zeros(after)?);
    let parts: Vec<&Tensor> = [&before, g, &after].into_iter().filter(|t| t.shape()[axis] > 0).collect();
    match parts.len() {
        0 => zeros(full[axis]),
        1 => Ok(g.clone()),
        _ => concat(&parts, axis),
    }
}
