//! `tf.nn.softmax` and `tf.nn.log_softmax` over the last axis (numerically stable).

use tessera_kernels::softmax as k;
pub use tessera_kernels::softmax::SoftmaxVariant;

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
    match x.device() {
        Device::Cpu if log => Ok(Tensor::from_cpu(cpu::log_softmax(x.cpu_data(), len), shape)),
        Device::Cpu => Ok(Tensor::from_cpu(cpu::softmax(x.cpu_data(), len), shape)),
        Device::Gpu(g) => {
            let rows = x.numel().checked_div(len).unwrap_or(0);
            Ok(Tensor::from_gpu(k::softmax(g, x.gpu_buf(), rows, len, log, variant)?, shape, x.device()))
        }
    }
}
