//! Resizing ops: Keras `UpSampling2D` with nearest-neighbour interpolation.

use tessera_kernels::resize as k;

use crate::ops::Hw;
use crate::{cpu, Device, Result, Tensor};

/// Keras `UpSampling2D(size, interpolation='nearest')`: `[n, h, w, c]` → `[n, h·sh, w·sw, c]`
/// with `out[n, y, x, c] = x[n, y / sh, x / sw, c]`; `size` is one number or (sh, sw).
pub fn upsample_nearest2d(x: &Tensor, size: impl Into<Hw>) -> Result<Tensor> {
    let size = size.into().0;
    let s = k::upsample_shape(x.shape(), size)?;
    match x.device() {
        Device::Cpu => {
            let xs = [x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]];
            Ok(Tensor::from_cpu(cpu::upsample_nearest2d(x.cpu_data(), xs, size), s.to_vec()))
        }
        Device::Gpu(g) => {
            let buf = k::upsample_nearest2d(g, x.gpu_buf(), x.shape(), size)?;
            Ok(Tensor::from_gpu(buf, s.to_vec(), x.device()))
        }
    }
}
