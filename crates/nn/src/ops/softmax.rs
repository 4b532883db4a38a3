//! `tf.nn.softmax` and `tf.nn.log_softmax` over the last axis (numerically stable), with
//! their gradients computed by one fused kernel per row from the saved output.

use tessera_kernels::softmax as k;
pub use tessera_kernels::softmax::SoftmaxVariant;

use crate::autodiff::record;
use crate::{cpu, shape_err, Device, Result, Tensor};

/// `tf.nn.softmax` over the last axis.
pub fn softmax(x: &Tensor) -> Result<Tensor> {
    softmax_with(x, false, SoftmaxVariant::Auto)
}

/// `tf.nn.log_softmax` over the last axis.
pub fn log_softmax(x: &Tensor) -> Result<Tensor> {
    softmax_with(x, true, SoftmaxVariant::Auto)
}

/// Softmax (or log-softmax when `log`) over the last axis with a chosen GPU kernel variant.
pub fn softmax_with(x: &Tensor, log: bool, variant: SoftmaxVariant) -> Result<Tensor> {
    let op = if log { "log_softmax" } else { "softmax" };
    let Some(&len) = x.shape().last() else {
        return Err(shape_err(op, format!("needs rank >= 1, got shape {:?}", x.shape())));
    };
    let shape = x.shape().to_vec();
    let out = match x.device() {
        Device::Cpu if log => Tensor::from_cpu(cpu::log_softmax(x.cpu_data(), len), shape),
        Device::Cpu => Tensor::from_cpu(cpu::softmax(x.cpu_data(), len), shape),
        Device::Gpu(g) => {
            let rows = x.numel().checked_div(len).unwrap_or(0);
            Tensor::from_gpu(k::softmax(g, x.gpu_buf(), rows, len, log, variant)?, shape, x.device())
        }
    };
    let y = out.detach();
    Ok(record(out, op, &[x], move |g| Ok(vec![Some(softmax_grad_with(&y, g, log, variant)?)])))
}

/// The input gradient of softmax (or log-softmax when `log`) from its output `y` and the
/// upstream gradient `g` (not itself differentiable).
pub fn softmax_grad(y: &Tensor, g: &Tensor, log: bool) -> Result<Tensor> {
    softmax_grad_with(y, g, log, SoftmaxVariant::Auto)
}

/// [`softmax_grad`] with a chosen GPU kernel variant.
pub fn softmax_grad_with(y: &Tensor, g: &Tensor, log: bool, variant: SoftmaxVariant) -> Result<Tensor> {
    if y.shape() != g.shape() || y.rank() == 0 {
        return Err(shape_err(
            "softmax_grad",
            format!("output {:?} and gradient {:?} must have the same shape of rank >= 1", y.shape(), g.shape()),
        ));
    }
    let dev = crate::tensor::common_device("softmax_grad", &[y, g])?;
    let (len, shape) = (y.shape()[y.rank() - 1], y.shape().to_vec());
    match &dev {
        Device::Cpu if log => Ok(Tensor::from_cpu(cpu::log_softmax_grad(y.cpu_data(), g.cpu_data(), len), shape)),
        Device::Cpu => Ok(Tensor::from_cpu(cpu::softmax_grad(y.cpu_data(), g.cpu_data(), len), shape)),
        Device::Gpu(d) => {
            let rows = y.numel().checked_div(len).unwrap_or(0);
            let buf = k::softmax_grad(d, y.gpu_buf(), g.gpu_buf(), rows, len, log, variant)?;
            Ok(Tensor::from_gpu(buf, shape, &dev))
        }
    }
}
