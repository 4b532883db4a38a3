//! Elementwise ops: broadcasting arithmetic (`tf.math.add`, ...) and activations.

use tessera_kernels::elementwise::{self as k, broadcast_shape, BinaryOp, UnaryOp};

use crate::tensor::common_device;
use crate::{cpu, Device, Result, Tensor};

/// `op(a, b)` with NumPy/TensorFlow broadcasting.
pub fn binary(op: BinaryOp, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let dev = common_device("elementwise", &[a, b])?;
    let shape = broadcast_shape("elementwise", a.shape(), b.shape())?;
    match &dev {
        Device::Cpu => {
            Ok(Tensor::from_cpu(cpu::binary(op, a.cpu_data(), a.shape(), b.cpu_data(), b.shape(), &shape), shape))
        }
        Device::Gpu(g) => {
            let (buf, shape) = k::binary(g, op, a.gpu_buf(), a.shape(), b.gpu_buf(), b.shape())?;
            Ok(Tensor::from_gpu(buf, shape, &dev))
        }
    }
}

/// `op(x)` for every element.
pub fn unary(op: UnaryOp, x: &Tensor) -> Result<Tensor> {
    match x.device() {
        Device::Cpu => Ok(Tensor::from_cpu(cpu::unary(op, x.cpu_data()), x.shape().to_vec())),
        Device::Gpu(g) => {
            Ok(Tensor::from_gpu(k::unary(g, op, x.gpu_buf(), x.numel())?, x.shape().to_vec(), x.device()))
        }
    }
}

/// `a + b` (broadcasting).
pub fn add(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary(BinaryOp::Add, a, b)
}

/// `a - b` (broadcasting).
pub fn sub(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary(BinaryOp::Sub, a, b)
}

/// `a * b` (broadcasting).
pub fn mul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary(BinaryOp::Mul, a, b)
}

/// `a / b` (broadcasting).
pub fn div(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary(BinaryOp::Div, a, b)
}

/// Elementwise maximum (broadcasting).
pub fn maximum(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary(BinaryOp::Maximum, a, b)
}

/// Elementwise minimum (broadcasting).
pub fn minimum(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary(BinaryOp::Minimum, a, b)
}

/// `max(x, 0)`.
pub fn relu(x: &Tensor) -> Result<Tensor> {
    unary(UnaryOp::Relu, x)
}

/// `1 / (1 + e^-x)`.
pub fn sigmoid(x: &Tensor) -> Result<Tensor> {
    unary(UnaryOp::Sigmoid, x)
}

/// `tanh(x)`.
pub fn tanh(x: &Tensor) -> Result<Tensor> {
    unary(UnaryOp::Tanh, x)
}

/// `e^x`.
pub fn exp(x: &Tensor) -> Result<Tensor> {
    unary(UnaryOp::Exp, x)
}

/// Natural logarithm.
pub fn log(x: &Tensor) -> Result<Tensor> {
    unary(UnaryOp::Log, x)
}

/// `alpha * x + beta`.
pub fn affine(x: &Tensor, alpha: f32, beta: f32) -> Result<Tensor> {
    unary(UnaryOp::Affine(alpha, beta), x)
}
