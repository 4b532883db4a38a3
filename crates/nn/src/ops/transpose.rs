//! The batched 2-D transpose (`tf.transpose(x, [0, 2, 1])` of a rank-3 tensor), differentiable;
//! normalization layers use it to bring a channel axis last.

use tessera_kernels::transpose as k;

use crate::autodiff::record;
use crate::{cpu, shape_err, Device, Result, Tensor};

/// `tf.transpose(x, [0, 2, 1])`: `[batch, rows, cols]` → `[batch, cols, rows]`. Its gradient is
/// the transpose of the output gradient.
pub fn transpose2d(x: &Tensor) -> Result<Tensor> {
    let &[b, r, c] = x.shape() else {
        return Err(shape_err(
            "transpose2d",
            format!("needs a rank-3 [batch, rows, cols] tensor, got {:?}", x.shape()),
        ));
    };
    let out = match x.device() {
        Device::Cpu => Tensor::from_cpu(cpu::transpose2d(x.cpu_data(), b, r, c), vec![b, c, r]),
        Device::Gpu(g) => Tensor::from_gpu(k::transpose2d(g, x.gpu_buf(), b, r, c)?, vec![b, c, r], x.device()),
    };
    Ok(record(out, "transpose2d", &[x], |g| Ok(vec![Some(transpose2d(g)?)])))
}
