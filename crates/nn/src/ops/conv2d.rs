//! `conv2d` (`tf.nn.conv2d`): NHWC input, `[kh, kw, cin / groups, cout]` filter (grouped when
//! the filter's input depth divides the input's channels), VALID / SAME / explicit padding,
//! strides and dilations, optional fused bias and activation; its two gradients; and a conv
//! with the max pooling after it as one op (`conv2d_max_pool2d`, the models' peephole).

use tessera_kernels::conv2d as k;
pub use tessera_kernels::conv2d::{Conv2dVariant, FilterGradBlock, FilterGradKernel, PoolFusion, RegBlock};
use tessera_kernels::Conv2dGeometry;

use crate::autodiff::{record, save_if};
use crate::ops::pool::record_max_pool2d;
use crate::ops::{
    activation_bias_grad, activation_saved, bias_sum, conv2d_transpose, max_pool2d, Conv2dOptions, PoolOptions,
};
use crate::tensor::common_device;
use crate::{cpu, shape_err, Activation, Device, Padding, Result, Tensor};

/// `tf.nn.conv2d(x, filter, strides, padding, dilations)` followed by `opts.activation`. A
/// filter `[kh, kw, cin / g, cout]` makes a grouped convolution of `g` groups.
pub fn conv2d(x: &Tensor, filter: &Tensor, opts: &Conv2dOptions) -> Result<Tensor> {
    conv2d_with_bias(x, filter, None, opts)
}

/// `act(conv2d(x, filter) + bias)` in one kernel; `bias` has shape `[cout]`.
pub fn conv2d_with_bias(x: &Tensor, filter: &Tensor, bias: Option<&Tensor>, opts: &Conv2dOptions) -> Result<Tensor> {
    conv2d_variant(x, filter, bias, opts, Conv2dVariant::Auto)
}

/// [`conv2d_with_bias`] with an explicit GPU kernel variant (for tests and benchmarks).
pub fn conv2d_variant(
    x: &Tensor,
    filter: &Tensor,
    bias: Option<&Tensor>,
    opts: &Conv2dOptions,
    variant: Conv2dVariant,
) -> Result<Tensor> {
    let g = checked_geometry(x, filter, bias, opts)?;
    let mut operands = vec![x, filter];
    operands.extend(bias);
    let dev = common_device("conv2d", &operands)?;
    let shape = g.out_shape();
    let out = match &dev {
        Device::Cpu => {
            let out = cpu::conv2d(x.cpu_data(), filter.cpu_data(), bias.map(|b| b.cpu_data()), &g, opts.activation);
            Tensor::from_cpu(out, shape)
        }
        Device::Gpu(gpu) => {
            let bias = bias.map(|b| b.gpu_buf());
            let buf = k::conv2d(gpu, x.gpu_buf(), filter.gpu_buf(), bias, &g, opts.activation, variant)?;
            Tensor::from_gpu(buf, shape, &dev)
        }
    };
    Ok(record_conv2d(out, x, filter, bias, opts))
}

/// `max_pool2d(conv2d_with_bias(x, filter, bias, conv), pool)`: Keras's Conv2D →
/// MaxPool2D (→ ReLU, `pool.activation`), which the models' peephole runs as one op. The conv
/// and the pooling are recorded as the two ops they are (same values, same gradients); on the
/// GPU a 2x2 pooling with strides 2 (VALID) comes from one dispatch where the fused kernel
/// covers the conv and measures faster (`tessera_kernels::conv2d::conv2d_max_pool2x2`),
/// anything else from the two ops.
pub fn conv2d_max_pool2d(
    x: &Tensor,
    filter: &Tensor,
    bias: Option<&Tensor>,
    conv: &Conv2dOptions,
    pool: &PoolOptions,
) -> Result<Tensor> {
    conv2d_max_pool2d_variant(x, filter, bias, conv, pool, PoolFusion::Auto)
}

/// [`conv2d_max_pool2d`] with the fused kernel forced or refused on the GPU (for tests and
/// benchmarks).
pub fn conv2d_max_pool2d_variant(
    x: &Tensor,
    filter: &Tensor,
    bias: Option<&Tensor>,
    conv: &Conv2dOptions,
    pool: &PoolOptions,
    fusion: PoolFusion,
) -> Result<Tensor> {
    let two = pool.ksize == [2, 2] && pool.strides == [2, 2] && pool.padding == Padding::Valid;
    let (Device::Gpu(gpu), true) = (x.device(), two) else {
        return max_pool2d(&conv2d_with_bias(x, filter, bias, conv)?, pool);
    };
    let g = checked_geometry(x, filter, bias, conv)?;
    let mut operands = vec![x, filter];
    operands.extend(bias);
    let dev = common_device("conv2d", &operands)?;
    let b = bias.map(|b| b.gpu_buf());
    let (z, y) =
        k::conv2d_max_pool2x2(gpu, [x.gpu_buf(), filter.gpu_buf()], b, &g, [conv.activation, pool.activation], fusion)?;
    let z = record_conv2d(Tensor::from_gpu(z, g.out_shape(), &dev), x, filter, bias, conv);
    let [n, oh, ow, c] = [g.win.n, g.win.oh, g.win.ow, g.cout];
    Ok(record_max_pool2d(Tensor::from_gpu(y, vec![n, oh / 2, ow / 2, c], &dev), &z, pool))
}

/// The conv's geometry, checking the bias's shape against the filter's.
fn checked_geometry(
    x: &Tensor,
    filter: &Tensor,
    bias: Option<&Tensor>,
    opts: &Conv2dOptions,
) -> Result<Conv2dGeometry> {
    let g = Conv2dGeometry::new(x.shape(), filter.shape(), opts.strides, opts.dilations, &opts.padding)?;
    match bias {
        Some(b) if b.shape() != [g.cout] => Err(shape_err(
            "conv2d",
            format!("bias shape {:?} must be [{}] for filter {:?}", b.shape(), g.cout, filter.shape()),
        )),
        _ => Ok(g),
    }
}

/// Attaches conv2d's backward to its output `out` (of `x`, `filter` and `bias` under `opts`).
fn record_conv2d(out: Tensor, x: &Tensor, filter: &Tensor, bias: Option<&Tensor>, opts: &Conv2dOptions) -> Tensor {
    let mut operands = vec![x, filter];
    operands.extend(bias);
    // dx reads the filter and dw the input: each is kept only when the other gets a gradient.
    let (xc, fc) = (save_if(filter.requires_grad(), x), save_if(x.requires_grad(), filter));
    let (xs, fs) = (x.shape().to_vec(), filter.shape().to_vec());
    let (y, o, has_bias) = (activation_saved(opts.activation, &out), *opts, bias.is_some());
    record(out, "conv2d", &operands, move |g| {
        // Without an activation the filter gradient's kernel may give the bias gradient too.
        let joint = has_bias && o.activation == Activation::None && xc.is_some();
        let (gz, db) = activation_bias_grad(o.activation, y.as_ref(), g, has_bias && !joint)?;
        let lin = Conv2dOptions { activation: Activation::None, ..o };
        let dx = fc.as_ref().map(|f| conv2d_backprop_input(&gz, f, &xs, &lin)).transpose()?;
        let (dw, db) = match &xc {
            Some(x) if joint => conv2d_backprop_filter_and_bias(x, &gz, &fs, &lin).map(|(w, b)| (Some(w), Some(b)))?,
            _ => (xc.as_ref().map(|x| conv2d_backprop_filter(x, &gz, &fs, &lin)).transpose()?, db),
        };
        let mut grads = vec![dx, dw];
        if has_bias {
            grads.push(db);
        }
        Ok(grads)
    })
}

/// `act(conv2d(x, filter) + bias)` by the register-blocked GPU kernel with an explicit
/// register block (the CPU twin on the CPU), for tests and benchmarks; no gradient. Needs
/// cin, cout % 4 == 0 and groups == 1 on the GPU.
pub fn conv2d_reg_block(
    x: &Tensor,
    filter: &Tensor,
    bias: Option<&Tensor>,
    opts: &Conv2dOptions,
    block: RegBlock,
) -> Result<Tensor> {
    let g = Conv2dGeometry::new(x.shape(), filter.shape(), opts.strides, opts.dilations, &opts.padding)?;
    let mut operands = vec![x, filter];
    operands.extend(bias);
    let dev = common_device("conv2d", &operands)?;
    match &dev {
        Device::Cpu => crate::no_grad(|| conv2d_with_bias(x, filter, bias, opts)),
        Device::Gpu(gpu) => {
            let b = bias.map(|b| b.gpu_buf());
            let buf = k::conv2d_reg(gpu, x.gpu_buf(), filter.gpu_buf(), b, &g, opts.activation, block)?;
            Ok(Tensor::from_gpu(buf, g.out_shape(), &dev))
        }
    }
}

/// [`conv2d_backprop_filter`] by the register-blocked GPU kernel with an explicit block (the
/// CPU twin on the CPU), for tests and benchmarks; no gradient.
pub fn conv2d_backprop_filter_block(
    x: &Tensor,
    dy: &Tensor,
    filter_shape: &[usize],
    opts: &Conv2dOptions,
    block: FilterGradBlock,
) -> Result<Tensor> {
    let g = Conv2dGeometry::new(x.shape(), filter_shape, opts.strides, opts.dilations, &opts.padding)?;
    let dev = common_device("conv2d_backprop_filter", &[x, dy])?;
    match &dev {
        Device::Cpu => crate::no_grad(|| conv2d_backprop_filter(x, dy, filter_shape, opts)),
        Device::Gpu(gpu) => {
            if dy.shape() != g.out_shape().as_slice() {
                return Err(shape_err("conv2d_backprop_filter", format!("out_backprop shape {:?}", dy.shape())));
            }
            let buf = k::conv2d_filter_grad_reg(gpu, x.gpu_buf(), dy.gpu_buf(), &g, block)?;
            Ok(Tensor::from_gpu(buf, filter_shape.to_vec(), &dev))
        }
    }
}

/// The gradient of `conv2d` with respect to its filter (`tf.nn.conv2d_backprop_filter`):
/// input `x`, upstream gradient `dy` (`[n, oh, ow, cout]`), and the filter's shape.
pub fn conv2d_backprop_filter(x: &Tensor, dy: &Tensor, filter_shape: &[usize], opts: &Conv2dOptions) -> Result<Tensor> {
    conv2d_backprop_filter_kernel(x, dy, filter_shape, opts, None)
}

/// The geometry of a filter gradient, or an error naming the shapes when `dy` does not fit.
fn filter_grad_geometry(
    x: &Tensor,
    dy: &Tensor,
    filter_shape: &[usize],
    opts: &Conv2dOptions,
) -> Result<Conv2dGeometry> {
    let g = Conv2dGeometry::new(x.shape(), filter_shape, opts.strides, opts.dilations, &opts.padding)?;
    if dy.shape() != g.out_shape().as_slice() {
        return Err(shape_err(
            "conv2d_backprop_filter",
            format!(
                "out_backprop shape {:?} must be {:?} for input {:?} and filter {filter_shape:?}",
                dy.shape(),
                g.out_shape(),
                x.shape()
            ),
        ));
    }
    Ok(g)
}

/// [`conv2d_backprop_filter`] and the bias gradient `Σ dy` over every axis but the last, for a
/// layer without an activation: `(dw, db)`. Not differentiable (a backward helper). On the GPU
/// one dispatch gives both where the filter-gradient kernel sums `dy` on the way (the one-pass
/// all-taps kernel, `tessera_kernels::conv2d::TAPS_ONE_PASS_PIXELS`); otherwise `db` is its own
/// dispatch (`bias_grad`).
pub fn conv2d_backprop_filter_and_bias(
    x: &Tensor,
    dy: &Tensor,
    filter_shape: &[usize],
    opts: &Conv2dOptions,
) -> Result<(Tensor, Tensor)> {
    let g = filter_grad_geometry(x, dy, filter_shape, opts)?;
    let dev = common_device("conv2d_backprop_filter", &[x, dy])?;
    let Device::Gpu(gpu) = &dev else {
        let dw = cpu::conv2d_filter_grad(x.cpu_data(), dy.cpu_data(), &g);
        return Ok((Tensor::from_cpu(dw, filter_shape.to_vec()), bias_sum(dy)?));
    };
    let (dw, db) = k::conv2d_filter_bias_grad(gpu, x.gpu_buf(), dy.gpu_buf(), &g, Conv2dVariant::Auto)?;
    let db = match db {
        Some(db) => Tensor::from_gpu(db, vec![g.cout], &dev),
        None => bias_sum(dy)?,
    };
    Ok((Tensor::from_gpu(dw, filter_shape.to_vec(), &dev), db))
}

/// [`conv2d_backprop_filter`] with an explicit GPU kernel (`None`: autotuned), for tests and
/// benchmarks; a kernel that cannot handle the shapes is an error.
pub fn conv2d_backprop_filter_kernel(
    x: &Tensor,
    dy: &Tensor,
    filter_shape: &[usize],
    opts: &Conv2dOptions,
    kernel: Option<FilterGradKernel>,
) -> Result<Tensor> {
    let g = filter_grad_geometry(x, dy, filter_shape, opts)?;
    let dev = common_device("conv2d_backprop_filter", &[x, dy])?;
    let out = match &dev {
        Device::Cpu => {
            Tensor::from_cpu(cpu::conv2d_filter_grad(x.cpu_data(), dy.cpu_data(), &g), filter_shape.to_vec())
        }
        Device::Gpu(gpu) => {
            let buf = match kernel {
                Some(kernel) => k::conv2d_filter_grad_kernel(gpu, x.gpu_buf(), dy.gpu_buf(), &g, kernel)?,
                None => k::conv2d_filter_grad(gpu, x.gpu_buf(), dy.gpu_buf(), &g, Conv2dVariant::Auto)?,
            };
            Tensor::from_gpu(buf, filter_shape.to_vec(), &dev)
        }
    };
    let (xc, dyc, o) = (x.clone(), dy.clone(), *opts);
    Ok(record(out, "conv2d_backprop_filter", &[x, dy], move |g| {
        let dx = conv2d_backprop_input(&dyc, g, xc.shape(), &o)?;
        let ddy = conv2d(&xc, g, &o)?;
        Ok(vec![Some(dx), Some(ddy)])
    }))
}

/// The gradient of `conv2d` with respect to its input (`tf.nn.conv2d_backprop_input`):
/// upstream gradient `dy` (`[n, oh, ow, cout]`), the filter and the input's shape. Plain
/// convolutions run as `conv2d_transpose`; grouped ones on their own gather kernel.
pub fn conv2d_backprop_input(
    dy: &Tensor,
    filter: &Tensor,
    input_shape: &[usize],
    opts: &Conv2dOptions,
) -> Result<Tensor> {
    let g = Conv2dGeometry::new(input_shape, filter.shape(), opts.strides, opts.dilations, &opts.padding)?;
    if dy.shape() != g.out_shape().as_slice() {
        return Err(shape_err(
            "conv2d_backprop_input",
            format!(
                "out_backprop shape {:?} must be {:?} for input {input_shape:?} and filter {:?}",
                dy.shape(),
                g.out_shape(),
                filter.shape()
            ),
        ));
    }
    let lin = Conv2dOptions { activation: Activation::None, ..*opts };
    if g.groups == 1 {
        return conv2d_transpose(dy, filter, input_shape, &lin);
    }
    let dev = common_device("conv2d_backprop_input", &[dy, filter])?;
    let out = match &dev {
        Device::Cpu => {
            Tensor::from_cpu(cpu::conv2d_input_grad(dy.cpu_data(), filter.cpu_data(), &g), input_shape.to_vec())
        }
        Device::Gpu(gpu) => {
            let buf = k::conv2d_input_grad(gpu, dy.gpu_buf(), filter.gpu_buf(), &g)?;
            Tensor::from_gpu(buf, input_shape.to_vec(), &dev)
        }
    };
    let (dyc, fc) = (dy.clone(), filter.clone());
    Ok(record(out, "conv2d_backprop_input", &[dy, filter], move |g| {
        let ddy = conv2d(g, &fc, &lin)?;
        let dw = conv2d_backprop_filter(g, &dyc, fc.shape(), &lin)?;
        Ok(vec![Some(ddy), Some(dw)])
    }))
}
