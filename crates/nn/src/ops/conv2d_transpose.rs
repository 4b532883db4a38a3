//! `conv2d_transpose` (`tf.nn.conv2d_transpose`): NHWC input, `[kh, kw, cout, cin]` filter, an
//! explicit `output_shape`, VALID / SAME / explicit padding, strides, dilations, fused bias and
//! activation. Its value is the input gradient of `conv2d` for an input of `output_shape`.

use tessera_kernels::conv2d_transpose as k;
pub use tessera_kernels::conv2d_transpose::Conv2dTransposeVariant;
use tessera_kernels::Conv2dTransposeGeometry;

use crate::autodiff::{record, save_if};
use crate::ops::{activation_bias_grad, activation_saved, conv2d, conv2d_backprop_filter, Conv2dOptions};
use crate::tensor::common_device;
use crate::{cpu, shape_err, Activation, Device, Result, Tensor};

/// `tf.nn.conv2d_transpose(x, filter, output_shape, strides, padding, dilations)`, then `opts.activation`.
pub fn conv2d_transpose(x: &Tensor, filter: &Tensor, output_shape: &[usize], opts: &Conv2dOptions) -> Result<Tensor> {
    conv2d_transpose_with_bias(x, filter, None, output_shape, opts)
}

/// `act(conv2d_transpose(x, filter) + bias)` in one kernel; `bias` has shape `[cout]`.
pub fn conv2d_transpose_with_bias(
    x: &Tensor,
    filter: &Tensor,
    bias: Option<&Tensor>,
    output_shape: &[usize],
    opts: &Conv2dOptions,
) -> Result<Tensor> {
    conv2d_transpose_variant(x, filter, bias, output_shape, opts, Conv2dTransposeVariant::Auto)
}

/// [`conv2d_transpose_with_bias`] with an explicit GPU kernel variant (for tests and benchmarks).
pub fn conv2d_transpose_variant(
    x: &Tensor,
    filter: &Tensor,
    bias: Option<&Tensor>,
    output_shape: &[usize],
    opts: &Conv2dOptions,
    variant: Conv2dTransposeVariant,
) -> Result<Tensor> {
    let g = geometry(x, filter, output_shape, opts)?;
    let cout = g.fwd.win.c;
    if let Some(b) = bias {
        if b.shape() != [cout] {
            return Err(shape_err(
                "conv2d_transpose",
                format!("bias shape {:?} must be [{cout}] for filter {:?}", b.shape(), filter.shape()),
            ));
        }
    }
    let mut operands = vec![x, filter];
    operands.extend(bias);
    let dev = common_device("conv2d_transpose", &operands)?;
    let shape = g.out_shape();
    let out = match &dev {
        Device::Cpu => {
            let b = bias.map(|b| b.cpu_data());
            let out = cpu::conv2d_transpose(x.cpu_data(), filter.cpu_data(), b, &g, opts.activation);
            Tensor::from_cpu(out, shape)
        }
        Device::Gpu(gpu) => {
            let b = bias.map(|b| b.gpu_buf());
            let buf = k::conv2d_transpose(gpu, x.gpu_buf(), filter.gpu_buf(), b, &g, opts.activation, variant)?;
            Tensor::from_gpu(buf, shape, &dev)
        }
    };
    let fs = filter.shape().to_vec();
    let (xc, fc, y, act, has_bias) = (
        save_if(filter.requires_grad(), x),
        save_if(x.requires_grad(), filter),
        activation_saved(opts.activation, &out),
        opts.activation,
        bias.is_some(),
    );
    let o = Conv2dOptions { activation: Activation::None, ..*opts };
    Ok(record(out, "conv2d_transpose", &operands, move |g| {
        let (gz, db) = activation_bias_grad(act, y.as_ref(), g, has_bias)?;
        // Our output is the forward conv's input and our input its output, so dx is that conv
        // of gz, and dfilter is its filter gradient with gz as the input and x as out_backprop.
        let dx = fc.as_ref().map(|f| conv2d(&gz, f, &o)).transpose()?;
        let dw = xc.as_ref().map(|x| conv2d_backprop_filter(&gz, x, &fs, &o)).transpose()?;
        let mut grads = vec![dx, dw];
        if has_bias {
            grads.push(db);
        }
        Ok(grads)
    }))
}

/// Checks strides and dilations first (so their errors are not reported as an impossible
/// `output_shape`), then the shapes.
fn geometry(x: &Tensor, filter: &Tensor, output_shape: &[usize], o: &Conv2dOptions) -> Result<Conv2dTransposeGeometry> {
    let op = "conv2d_transpose";
    if o.strides.contains(&0) {
        return Err(shape_err(op, format!("strides {:?} must be positive", o.strides)));
    }
    if o.dilations.contains(&0) {
        return Err(shape_err(op, format!("dilations {:?} must be positive", o.dilations)));
    }
    Ok(Conv2dTransposeGeometry::new(x.shape(), filter.shape(), output_shape, o.strides, o.dilations, &o.padding)?)
}
