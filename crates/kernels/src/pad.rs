//! Launcher for `shaders/pad.wgsl`: zero padding (`tf.pad` of the spatial axes, Keras
//! `ZeroPadding2D`) and cropping (Keras `Cropping2D`) of NHWC tensors, one copy kernel for
//! both.

use tessera_device::{Gpu, GpuBuffer};

use crate::geometry::rank4;
use crate::launch::{check_u32, grid_1d, out_f32, pipeline, Params};
use crate::split;
use crate::{shape_err, Result};

const SRC: &str = include_str!("../../../shaders/pad.wgsl");

/// Amounts per spatial side: `[[top, bottom], [left, right]]`.
pub type Sides = [[usize; 2]; 2];

/// Checks a padding of input `x` by `pads`; returns the output shape.
pub fn pad2d_shape(x: &[usize], pads: Sides) -> Result<[usize; 4]> {
    let [n, h, w, c] = rank4("pad2d", "input", x)?;
    let grow = |d: usize, [a, b]: [usize; 2]| d.checked_add(a).and_then(|v| v.checked_add(b));
    match (grow(h, pads[0]), grow(w, pads[1])) {
        (Some(oh), Some(ow)) if crate::checked_numel("pad2d", &[n, oh, ow, c]).is_ok() => Ok([n, oh, ow, c]),
        _ => Err(shape_err("pad2d", format!("paddings {pads:?} make the output of input {x:?} too large"))),
    }
}

/// Checks a cropping of input `x` by `crops` (at most the whole height and width); returns
/// the output shape.
pub fn crop2d_shape(x: &[usize], crops: Sides) -> Result<[usize; 4]> {
    let [n, h, w, c] = rank4("crop2d", "input", x)?;
    let shrink = |d: usize, [a, b]: [usize; 2]| a.checked_add(b).and_then(|s| d.checked_sub(s));
    match (shrink(h, crops[0]), shrink(w, crops[1])) {
        (Some(oh), Some(ow)) => Ok([n, oh, ow, c]),
        _ => Err(shape_err("crop2d", format!("croppings {crops:?} exceed the height or width of input {x:?}"))),
    }
}

/// Records the zero padding of `x` (`[n, h, w, c]`) by `pads`; returns the output buffer.
pub fn pad2d(gpu: &Gpu, x: &GpuBuffer, shape: &[usize], pads: Sides) -> Result<GpuBuffer> {
    let out = pad2d_shape(shape, pads)?;
    copy(gpu, "pad2d", x, shape, out, [pads[0][0], pads[1][0]], [0, 0])
}

/// Records the cropping of `x` (`[n, h, w, c]`) by `crops`; returns the output buffer.
pub fn crop2d(gpu: &Gpu, x: &GpuBuffer, shape: &[usize], crops: Sides) -> Result<GpuBuffer> {
    let out = crop2d_shape(shape, crops)?;
    copy(gpu, "crop2d", x, shape, out, [0, 0], [crops[0][0], crops[1][0]])
}

/// Dispatches `op`'s copy from `x` (`shape`) into a new buffer of shape `out`, shifted by the
/// top/left `pad` and `crop`.
fn copy(
    gpu: &Gpu,
    op: &'static str,
    x: &GpuBuffer,
    shape: &[usize],
    out: [usize; 4],
    pad: [usize; 2],
    crop: [usize; 2],
) -> Result<GpuBuffer> {
    let total: usize = out.iter().product();
    let [oh, ow] = [out[1], out[2]];
    check_u32(op, &[total, shape.iter().product(), oh + crop[0], ow + crop[1]])?;
    let run = |images: usize, b: &[&GpuBuffer]| {
        copy(gpu, op, b[0], &[&[images][..], &shape[1..]].concat(), [images, out[1], out[2], out[3]], pad, crop)
    };
    let per_in = shape[1..].iter().product::<usize>();
    if let Some(buf) = split::per_image(gpu, op, shape[0], &[(x, per_in)], oh * ow * out[3], run)? {
        return Ok(buf);
    }
    let buf = out_f32(gpu, total)?;
    if total == 0 {
        return Ok(buf);
    }
    let p = [shape[1], shape[2], shape[3], oh, ow, pad[0], pad[1], crop[0], crop[1], total];
    let p = p.iter().fold(Params::new(op), |p, &v| p.u(v)).align4();
    let pipe = pipeline(gpu, "pad.wgsl", SRC, "pad_crop2d", &[])?;
    gpu.dispatch(&pipe, p.bytes()?, &[x, &buf], grid_1d(gpu, total, 64))?;
    Ok(buf)
}
