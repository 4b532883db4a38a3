//! `conv2d` (`tf.nn.conv2d`): NHWC input, `[kh, kw, cin, cout]` filter, VALID / SAME /
//! explicit padding, strides and dilations, optional fused bias and activation.

use tessera_kernels::conv2d as k;
pub use tessera_kernels::conv2d::Conv2dVariant;
use tessera_kernels::Conv2dGeometry;

use crate::ops::Conv2dOptions;
use crate::tensor::common_device;
use crate::{cpu, shape_err, Device, Result, Tensor};

/// `tf.nn.conv2d(x, filter, strides, padding, dilations)` followed by `opts.activation`.
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
    let g = Conv2dGeometry::new(x.shape(), filter.shape(), opts.strides, opts.dilations, &opts.padding)?;
    if let Some(b) = bias {
        if b.shape() != [g.cout] {
            return Err(shape_err(
                "conv2d",
                format!("bias shape {:?} must be [{}] for filter {:?}", b.shape(), g.cout, filter.shape()),
            ));
        }
    }
    let mut operands = vec![x, filter];
    operands.extend(bias);
    let dev = common_device("conv2d", &operands)?;
    let shape = g.out_shape();
    match &dev {
        Device::Cpu => {
            let out = cpu::conv2d(x.cpu_data(), filter.cpu_data(), bias.map(|b| b.cpu_data()), &g, opts.activation);
            Ok(Tensor::from_cpu(out, shape))
        }
        Device::Gpu(gpu) => {
            let bias = bias.map(|b| b.gpu_buf());
            let buf = k::conv2d(gpu, x.gpu_buf(), filter.gpu_buf(), bias, &g, opts.activation, variant)?;
            Ok(Tensor::from_gpu(buf, shape, &dev))
        }
    }
}
