//! Resizing ops: Keras `UpSampling2D` with nearest-neighbour interpolation and
//! `tf.image.resize` with bilinear interpolation (both differentiable), and their input gradients.

use tessera_kernels::resize as k;

use crate::autodiff::record;
use crate::ops::Hw;
use crate::{cpu, shape_err, Device, Result, Tensor};

/// Keras `UpSampling2D(size, interpolation='nearest')`: `[n, h, w, c]` → `[n, h·sh, w·sw, c]`
/// with `out[n, y, x, c] = x[n, y / sh, x / sw, c]`; `size` is one number or (sh, sw). The
/// gradient sums each `sh × sw` block.
pub fn upsample_nearest2d(x: &Tensor, size: impl Into<Hw>) -> Result<Tensor> {
    let size = size.into().0;
    let s = k::upsample_shape(x.shape(), size)?;
    let out = match x.device() {
        Device::Cpu => {
            let xs = [x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]];
            Tensor::from_cpu(cpu::upsample_nearest2d(x.cpu_data(), xs, size), s.to_vec())
        }
        Device::Gpu(g) => {
            let buf = k::upsample_nearest2d(g, x.gpu_buf(), x.shape(), size)?;
            Tensor::from_gpu(buf, s.to_vec(), x.device())
        }
    };
    let shape = x.shape().to_vec();
    Ok(record(out, "upsample_nearest2d", &[x], move |g| Ok(vec![Some(upsample_nearest2d_grad(g, &shape, size)?)])))
}

/// The input gradient of [`upsample_nearest2d`] for an input of `input_shape`: `dy`
/// (`[n, h·sh, w·sw, c]`) summed over each `sh × sw` block. Differentiable (its adjoint is
/// the upsampling).
pub fn upsample_nearest2d_grad(dy: &Tensor, input_shape: &[usize], size: impl Into<Hw>) -> Result<Tensor> {
    let size = size.into().0;
    let s = k::upsample_shape(input_shape, size)?;
    if dy.shape() != s.as_slice() {
        return Err(shape_err(
            "upsample_nearest2d_grad",
            format!("gradient shape {:?} must be {s:?} for input {input_shape:?}", dy.shape()),
        ));
    }
    let shape = input_shape.to_vec();
    let out = match dy.device() {
        Device::Cpu => {
            let xs = [shape[0], shape[1], shape[2], shape[3]];
            Tensor::from_cpu(cpu::upsample_nearest2d_grad(dy.cpu_data(), xs, size), shape)
        }
        Device::Gpu(g) => {
            let buf = k::upsample_nearest2d_grad(g, dy.gpu_buf(), &shape, size)?;
            Tensor::from_gpu(buf, shape, dy.device())
        }
    };
    Ok(record(out, "upsample_nearest2d_grad", &[dy], move |g| Ok(vec![Some(upsample_nearest2d(g, size)?)])))
}

/// `tf.image.resize(x, size, method='bilinear')` (antialias off; Keras
/// `UpSampling2D(interpolation='bilinear')`): `[n, h, w, c]` → `[n, oh, ow, c]` for `size` =
/// (oh, ow), larger or smaller. Output row `o` samples `src = (o + 0.5)·h/oh − 0.5` between
/// rows `max(⌊src⌋, 0)` and `min(⌈src⌉, h − 1)` (half-pixel centres, clamped at the borders),
/// as `top + (bottom − top)·lerp` like TensorFlow, so NaN and inf reach every output that
/// touches them; the same size is a copy.
pub fn resize_bilinear(x: &Tensor, size: impl Into<Hw>) -> Result<Tensor> {
    let size = size.into().0;
    let s = k::resize_bilinear_shape(x.shape(), size)?;
    if s.as_slice() == x.shape() {
        // TensorFlow copies at the same size (the formula would turn inf into inf − inf = NaN).
        return x.reshape(x.shape());
    }
    let out = match x.device() {
        Device::Cpu => {
            let xs = [x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]];
            Tensor::from_cpu(cpu::resize_bilinear(x.cpu_data(), xs, size), s.to_vec())
        }
        Device::Gpu(g) => {
            let buf = k::resize_bilinear(g, x.gpu_buf(), x.shape(), size)?;
            Tensor::from_gpu(buf, s.to_vec(), x.device())
        }
    };
    let shape = x.shape().to_vec();
    Ok(record(out, "resize_bilinear", &[x], move |g| Ok(vec![Some(resize_bilinear_grad(g, &shape)?)])))
}

/// The input gradient of [`resize_bilinear`] for an input of `input_shape`: every element of
/// `dy` (`[n, oh, ow, c]`) spread over the four input pixels it sampled, by their weights.
/// Differentiable (its adjoint is the resize).
pub fn resize_bilinear_grad(dy: &Tensor, input_shape: &[usize]) -> Result<Tensor> {
    let op = "resize_bilinear_grad";
    let size = match dy.shape() {
        [_, oh, ow, _] => [*oh, *ow],
        s => return Err(shape_err(op, format!("gradient shape {s:?} must have rank 4 (NHWC)"))),
    };
    let s = k::resize_bilinear_shape(input_shape, size)?;
    tessera_kernels::checked_numel(op, input_shape)?; // the output: any size the caller names
    if dy.shape() != s.as_slice() {
        return Err(shape_err(op, format!("gradient shape {:?} must be {s:?} for input {input_shape:?}", dy.shape())));
    }
    let shape = input_shape.to_vec();
    let out = match dy.device() {
        Device::Cpu => {
            let xs = [shape[0], shape[1], shape[2], shape[3]];
            Tensor::from_cpu(cpu::resize_bilinear_grad(dy.cpu_data(), xs, size), shape)
        }
        Device::Gpu(g) => {
            let buf = k::resize_bilinear_grad(g, dy.gpu_buf(), &shape, size)?;
            Tensor::from_gpu(buf, shape, dy.device())
        }
    };
    Ok(record(out, op, &[dy], move |g| Ok(vec![Some(resize_bilinear(g, size)?)])))
}
