//! `tf.concat`: joins tensors along one axis.

use tessera_kernels::concat::{self as k, concat_shape};

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
    match &dev {
        Device::Cpu => {
            let parts: Vec<(&[f32], &[usize])> = xs.iter().map(|t| (t.cpu_data(), t.shape())).collect();
            Ok(Tensor::from_cpu(cpu::concat(&parts, axis), shape))
        }
        Device::Gpu(g) => {
            let bufs: Vec<_> = xs.iter().map(|t| t.gpu_buf()).collect();
            Ok(Tensor::from_gpu(k::concat(g, &bufs, &shapes, axis)?, shape, &dev))
        }
    }
}
