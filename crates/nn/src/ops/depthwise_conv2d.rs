//! `depthwise_conv2d` (`tf.nn.depthwise_conv2d`) and `separable_conv2d`
//! (`tf.nn.separable_conv2d` / Keras `SeparableConv2D`): NHWC input, `[kh, kw, c, multiplier]`
//! depthwise filter, VALID / SAME / explicit padding, strides, dilations, fused bias and activation.

use tessera_kernels::depthwise_conv2d as k;
pub use tessera_kernels::depthwise_conv2d::DepthwiseVariant;
use tessera_kernels::{Activation, DepthwiseGeometry};

use crate::autodiff::{record, save_if};
use crate::ops::{activation_bias_grad, activation_saved, dense, Conv2dOptions};
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
    let out = match &dev {
        Device::Cpu => {
            let b = bias.map(|b| b.cpu_data());
            let out = cpu::depthwise_conv2d(x.cpu_data(), filter.cpu_data(), b, &g, opts.activation);
            Tensor::from_cpu(out, shape)
        }
        Device::Gpu(gpu) => {
            let b = bias.map(|b| b.gpu_buf());
            let buf = k::depthwise_conv2d(gpu, x.gpu_buf(), filter.gpu_buf(), b, &g, opts.activation, variant)?;
            Tensor::from_gpu(buf, shape, &dev)
        }
    };
    let (xs, fs) = (x.shape().to_vec(), filter.shape().to_vec());
    let (xc, fc, y, act, o, has_bias) = (
        save_if(filter.requires_grad(), x),
        save_if(x.requires_grad(), filter),
        activation_saved(opts.activation, &out),
        opts.activation,
        lin(opts),
        bias.is_some(),
    );
    Ok(record(out, "depthwise_conv2d", &operands, move |g| {
        let (gz, db) = activation_bias_grad(act, y.as_ref(), g, has_bias)?;
        let dx = fc.as_ref().map(|f| depthwise_conv2d_backprop_input(&gz, f, &xs, &o)).transpose()?;
        let dw = xc.as_ref().map(|x| depthwise_conv2d_backprop_filter(x, &gz, &fs, &o)).transpose()?;
        let mut grads = vec![dx, dw];
        if has_bias {
            grads.push(db);
        }
        Ok(grads)
    }))
}

/// The gradient of `depthwise_conv2d` with respect to its input
/// (`tf.nn.depthwise_conv2d_backprop_input`): upstream gradient `dy` (`[n, oh, ow, c * m]`),
/// the filter, and the input's shape. `opts.activation` is ignored.
pub fn depthwise_conv2d_backprop_input(
    dy: &Tensor,
    filter: &Tensor,
    input_shape: &[usize],
    opts: &Conv2dOptions,
) -> Result<Tensor> {
    let op = "depthwise_conv2d_backprop_input";
    let g = DepthwiseGeometry::new(input_shape, filter.shape(), opts.strides, opts.dilations, &opts.padding)
        .map_err(|e| rename(e.into(), op))?;
    check_out_backprop(op, dy, &g, input_shape, filter.shape())?;
    let dev = common_device(op, &[dy, filter])?;
    let out = match &dev {
        Device::Cpu => Tensor::from_cpu(
            cpu::depthwise_conv2d_input_grad(dy.cpu_data(), filter.cpu_data(), &g),
            input_shape.to_vec(),
        ),
        Device::Gpu(gpu) => {
            let buf = k::depthwise_conv2d_input_grad(gpu, dy.gpu_buf(), filter.gpu_buf(), &g, DepthwiseVariant::Auto)?;
            Tensor::from_gpu(buf, input_shape.to_vec(), &dev)
        }
    };
    let (dyc, fc, o) = (dy.clone(), filter.clone(), lin(opts));
    Ok(record(out, op, &[dy, filter], move |g| {
        let ddy = dyc.requires_grad().then(|| depthwise_conv2d(g, &fc, &o)).transpose()?;
        let df = fc.requires_grad().then(|| depthwise_conv2d_backprop_filter(g, &dyc, fc.shape(), &o)).transpose()?;
        Ok(vec![ddy, df])
    }))
}

/// The gradient of `depthwise_conv2d` with respect to its filter
/// (`tf.nn.depthwise_conv2d_backprop_filter`): input `x`, upstream gradient `dy`
/// (`[n, oh, ow, c * m]`), and the filter's shape `[kh, kw, c, m]`. `opts.activation` is ignored.
pub fn depthwise_conv2d_backprop_filter(
    x: &Tensor,
    dy: &Tensor,
    filter_shape: &[usize],
    opts: &Conv2dOptions,
) -> Result<Tensor> {
    let op = "depthwise_conv2d_backprop_filter";
    let g = DepthwiseGeometry::new(x.shape(), filter_shape, opts.strides, opts.dilations, &opts.padding)
        .map_err(|e| rename(e.into(), op))?;
    check_out_backprop(op, dy, &g, x.shape(), filter_shape)?;
    let dev = common_device(op, &[x, dy])?;
    let out = match &dev {
        Device::Cpu => {
            Tensor::from_cpu(cpu::depthwise_conv2d_filter_grad(x.cpu_data(), dy.cpu_data(), &g), filter_shape.to_vec())
        }
        Device::Gpu(gpu) => {
            let buf = k::depthwise_conv2d_filter_grad(gpu, x.gpu_buf(), dy.gpu_buf(), &g, DepthwiseVariant::Auto)?;
            Tensor::from_gpu(buf, filter_shape.to_vec(), &dev)
        }
    };
    let (xc, dyc, o) = (x.clone(), dy.clone(), lin(opts));
    Ok(record(out, op, &[x, dy], move |g| {
        let dx = xc.requires_grad().then(|| depthwise_conv2d_backprop_input(&dyc, g, xc.shape(), &o)).transpose()?;
        let ddy = dyc.requires_grad().then(|| depthwise_conv2d(&xc, g, &o)).transpose()?;
        Ok(vec![dx, ddy])
    }))
}

/// `opts` without its activation (the gradient ops are linear).
fn lin(opts: &Conv2dOptions) -> Conv2dOptions {
    Conv2dOptions { activation: Activation::None, ..*opts }
}

/// Checks the upstream gradient has the forward output's shape.
fn check_out_backprop(op: &'static str, dy: &Tensor, g: &DepthwiseGeometry, x: &[usize], f: &[usize]) -> Result<()> {
    if dy.shape() != g.out_shape().as_slice() {
        return Err(shape_err(
            op,
            format!("out_backprop shape {:?} must be {:?} for input {x:?} and filter {f:?}", dy.shape(), g.out_shape()),
        ));
    }
    Ok(())
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
