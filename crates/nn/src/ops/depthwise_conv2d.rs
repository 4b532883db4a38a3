//! `depthwise_conv2d` (`tf.nn.depthwise_conv2d`) and `separable_conv2d`
//! (`tf.nn.separable_conv2d` / Keras `SeparableConv2D`): NHWC input, `[kh, kw, c, multiplier]`
//! depthwise filter, VALID / SAME / explicit padding, strides, dilations, fused bias and activation.

use tessera_kernels::depthwise_conv2d as k;
pub use tessera_kernels::depthwise_conv2d::DepthwiseVariant;
use tessera_kernels::{Activation, DepthwiseGeometry};

use crate::ops::{dense, Conv2dOptions};
use crate::tensor::common_device;
use crate::{cpu, shape_err, Device, Error, Result, Tensor};

/// `tf.nn.depthwise_conv2d(x, filter, strides, padding, dilations)` followed by `opts.activation`.
pub fn depthwise_conv2d(x: &Tensor, filter: &Tensor, opts: &Conv2dOptions) -> Result<Tensor> {
    depthwise_conv2d_with_bias(x, filter, None, opts)
}

/// `act(depthwise_conv2d(x, filter) + bias)` in one kernel; `bias` has shape `[c * multiplier]`.
pub fn depthwise_conv2d_with_bias(
    x: &Tensor,
    filter: &Tensor,
    bias: Option<&Tensor>,
    opts: &Conv2dOptions,
) -> Result<Tensor> {
    depthwise_conv2d_variant(x, filter, bias, opts, DepthwiseVariant::Auto)
}

/// [`depthwise_conv2d_with_bias`] with an explicit GPU kernel variant (for tests and benchmarks).
pub fn depthwise_conv2d_variant(
    x: &Tensor,
    filter: &Tensor,
    bias: Option<&Tensor>,
    opts: &Conv2dOptions,
    variant: DepthwiseVariant,
) -> Result<Tensor> {
    let g = DepthwiseGeometry::new(x.shape(), filter.shape(), opts.strides, opts.dilations, &opts.padding)?;
    let cm = g.win.c * g.multiplier;
    check_bias("depthwise_conv2d", bias, cm, filter)?;
    let mut operands = vec![x, filter];
    operands.extend(bias);
    let dev = common_device("depthwise_conv2d", &operands)?;
    let shape = g.out_shape();
    match &dev {
        Device::Cpu => {
            let b = bias.map(|b| b.cpu_data());
            let out = cpu::depthwise_conv2d(x.cpu_data(), filter.cpu_data(), b, &g, opts.activation);
            Ok(Tensor::from_cpu(out, shape))
        }
        Device::Gpu(gpu) => {
            let b = bias.map(|b| b.gpu_buf());
            let buf = k::depthwise_conv2d(gpu, x.gpu_buf(), filter.gpu_buf(), b, &g, opts.activation, variant)?;
            Ok(Tensor::from_gpu(buf, shape, &dev))
        }
    }
}

/// `tf.nn.separable_conv2d`: a depthwise conv, then a 1x1 conv with `pointwise_filter`
/// `[1, 1, c * multiplier, cout]`, then `bias` `[cout]` (Keras SeparableConv2D) and the activation.
pub fn separable_conv2d(
    x: &Tensor,
    depthwise_filter: &Tensor,
    pointwise_filter: &Tensor,
    bias: Option<&Tensor>,
    opts: &Conv2dOptions,
) -> Result<Tensor> {
    let op = "separable_conv2d";
    let g = DepthwiseGeometry::new(x.shape(), depthwise_filter.shape(), opts.strides, opts.dilations, &opts.padding)
        .map_err(|e| rename(e.into(), op))?;
    let cm = g.win.c * g.multiplier;
    let cout = pointwise_cout(pointwise_filter.shape(), cm, depthwise_filter.shape())?;
    check_bias(op, bias, cout, pointwise_filter)?;
    let mut operands = vec![x, depthwise_filter, pointwise_filter];
    operands.extend(bias);
    common_device(op, &operands)?;
    let dw_opts = Conv2dOptions { activation: Activation::None, ..*opts };
    let y = depthwise_conv2d(x, depthwise_filter, &dw_opts)?;
    let rows = g.win.n * g.win.oh * g.win.ow;
    let z = dense(&y.reshape(&[rows, cm])?, &pointwise_filter.reshape(&[cm, cout])?, bias, opts.activation)?;
    z.reshape(&[g.win.n, g.win.oh, g.win.ow, cout])
}

/// Checks the pointwise filter is `[1, 1, cm, cout]` and returns `cout`.
fn pointwise_cout(pw: &[usize], cm: usize, dw: &[usize]) -> Result<usize> {
    match pw {
        [1, 1, c, cout] if *c == cm => Ok(*cout),
        _ => Err(shape_err(
            "separable_conv2d",
            format!(
                "pointwise_filter {pw:?} must be [1, 1, {cm}, out_channels] (in_channels * multiplier = {cm} for depthwise_filter {dw:?})"
            ),
        )),
    }
}

/// Checks an optional bias has shape `[channels]`.
fn check_bias(op: &'static str, bias: Option<&Tensor>, channels: usize, filter: &Tensor) -> Result<()> {
    match bias {
        Some(b) if b.shape() != [channels] => Err(shape_err(
            op,
            format!("bias shape {:?} must be [{channels}] for filter {:?}", b.shape(), filter.shape()),
        )),
        _ => Ok(()),
    }
}

/// Reports a shape error under `op`'s name.
fn rename(e: Error, op: &'static str) -> Error {
    match e {
        Error::Shape { msg, .. } => Error::Shape { op, msg },
        other => other,
    }
}
