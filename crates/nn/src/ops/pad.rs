//! Spatial zero padding (`tf.pad` of the H and W axes of NHWC, Keras `ZeroPadding2D`) and
//! cropping (Keras `Cropping2D`); each is the other's gradient.

use tessera_kernels::pad as k;

use crate::autodiff::record;
use crate::{cpu, Device, Result, Tensor};

/// Amounts per spatial side, `[[top, bottom], [left, right]]`, given as Keras's constructors
/// take them: one number (all sides), `(h, w)` (symmetric) or `((top, bottom), (left, right))`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pads2d(pub [[usize; 2]; 2]);

impl From<usize> for Pads2d {
    fn from(v: usize) -> Self {
        Pads2d([[v, v], [v, v]])
    }
}

impl From<(usize, usize)> for Pads2d {
    fn from((h, w): (usize, usize)) -> Self {
        Pads2d([[h, h], [w, w]])
    }
}

impl From<((usize, usize), (usize, usize))> for Pads2d {
    fn from(((t, b), (l, r)): ((usize, usize), (usize, usize))) -> Self {
        Pads2d([[t, b], [l, r]])
    }
}

impl From<[[usize; 2]; 2]> for Pads2d {
    fn from(v: [[usize; 2]; 2]) -> Self {
        Pads2d(v)
    }
}

/// Zero padding of the spatial axes of `x` (`[n, h, w, c]`):
/// `tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]])` → `[n, h+t+b, w+l+r, c]`.
/// The gradient crops.
pub fn pad2d(x: &Tensor, pads: impl Into<Pads2d>) -> Result<Tensor> {
    let pads = pads.into().0;
    let s = k::pad2d_shape(x.shape(), pads)?;
    let out = match x.device() {
        Device::Cpu => Tensor::from_cpu(cpu::pad2d(x.cpu_data(), nhwc(x), pads), s.to_vec()),
        Device::Gpu(g) => Tensor::from_gpu(k::pad2d(g, x.gpu_buf(), x.shape(), pads)?, s.to_vec(), x.device()),
    };
    Ok(record(out, "pad2d", &[x], move |g| Ok(vec![Some(crop2d(g, pads)?)])))
}

/// Cropping of the spatial axes of `x` (`[n, h, w, c]`):
/// `x[:, top : h − bottom, left : w − right, :]`. The gradient pads with zeros.
pub fn crop2d(x: &Tensor, crops: impl Into<Pads2d>) -> Result<Tensor> {
    let crops = crops.into().0;
    let s = k::crop2d_shape(x.shape(), crops)?;
    let out = match x.device() {
        Device::Cpu => Tensor::from_cpu(cpu::crop2d(x.cpu_data(), nhwc(x), crops), s.to_vec()),
        Device::Gpu(g) => Tensor::from_gpu(k::crop2d(g, x.gpu_buf(), x.shape(), crops)?, s.to_vec(), x.device()),
    };
    Ok(record(out, "crop2d", &[x], move |g| Ok(vec![Some(pad2d(g, crops)?)])))
}

/// The shape of a tensor already checked to be rank 4.
fn nhwc(x: &Tensor) -> [usize; 4] {
    let s = x.shape();
    [s[0], s[1], s[2], s[3]]
}
