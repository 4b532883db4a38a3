//! Pooling ops: `tf.nn.max_pool2d` / `avg_pool2d` (NHWC, VALID / SAME / explicit padding) and
//! Keras `GlobalAveragePooling2D` / `GlobalMaxPooling2D`.

use tessera_kernels::pool::{self as k, PoolMode};

use crate::ops::PoolOptions;
use crate::{cpu, Device, Result, Tensor};

/// `tf.nn.max_pool2d(x, ksize, strides, padding)` on NHWC `x`; padded cells act as −inf, so
/// they never win. Explicit padding must be smaller than the window on every side.
pub fn max_pool2d(x: &Tensor, opts: &PoolOptions) -> Result<Tensor> {
    pool2d(x, opts, PoolMode::Max)
}

/// `tf.nn.avg_pool2d(x, ksize, strides, padding)` on NHWC `x`: each window's mean over its
/// real (unpadded) cells only. VALID windows divide by kh·kw; SAME and explicit padding divide
/// by the number of real cells (TensorFlow's SAME rule, applied to explicit padding too).
/// Explicit padding must be smaller than the window on every side.
pub fn avg_pool2d(x: &Tensor, opts: &PoolOptions) -> Result<Tensor> {
    pool2d(x, opts, PoolMode::Avg)
}

fn pool2d(x: &Tensor, opts: &PoolOptions, mode: PoolMode) -> Result<Tensor> {
    let win = k::pool_geometry(mode.op(), x.shape(), opts.ksize, opts.strides, &opts.padding)?;
    let shape = win.out_shape(win.c);
    match x.device() {
        Device::Cpu => {
            let out = match mode {
                PoolMode::Max => cpu::max_pool2d(x.cpu_data(), &win),
                PoolMode::Avg => cpu::avg_pool2d(x.cpu_data(), &win),
            };
            Ok(Tensor::from_cpu(out, shape))
        }
        Device::Gpu(g) => Ok(Tensor::from_gpu(k::pool2d(g, x.gpu_buf(), &win, mode)?, shape, x.device())),
    }
}

/// Keras `GlobalAveragePooling2D`: `[n, h, w, c]` → `[n, c]`, the mean over h and w.
pub fn global_avg_pool2d(x: &Tensor) -> Result<Tensor> {
    global_pool2d(x, PoolMode::Avg, "global_avg_pool2d")
}

/// Keras `GlobalMaxPooling2D`: `[n, h, w, c]` → `[n, c]`, the maximum over h and w.
pub fn global_max_pool2d(x: &Tensor) -> Result<Tensor> {
    global_pool2d(x, PoolMode::Max, "global_max_pool2d")
}

fn global_pool2d(x: &Tensor, mode: PoolMode, op: &'static str) -> Result<Tensor> {
    let s = k::global_pool_shape(op, x.shape())?;
    let shape = vec![s[0], s[3]];
    match x.device() {
        Device::Cpu => {
            let out = match mode {
                PoolMode::Max => cpu::global_max_pool2d(x.cpu_data(), s),
                PoolMode::Avg => cpu::global_avg_pool2d(x.cpu_data(), s),
            };
            Ok(Tensor::from_cpu(out, shape))
        }
        Device::Gpu(g) => Ok(Tensor::from_gpu(k::global_pool2d(g, x.gpu_buf(), &s, mode)?, shape, x.device())),
    }
}
