//! Launcher for `shaders/resize.wgsl`: nearest-neighbour upsampling by integer factors
//! (Keras `UpSampling2D`) and its input gradient (block sums), scalar and vec4 variants; and
//! bilinear resizing to any size (`tf.image.resize`, half-pixel centres) with its gradient.

use tessera_device::{Gpu, GpuBuffer};

use crate::geometry::rank4;
use crate::launch::{check_u32, grid_1d, out_f32, pipeline, Params};
use crate::{shape_err, Result};

const SRC: &str = include_str!("../../../shaders/resize.wgsl");

/// Checks an upsampling of input `x` by `size` = (sh, sw); returns the output shape.
pub fn upsample_shape(x: &[usize], size: [usize; 2]) -> Result<[usize; 4]> {
    let op = "upsample_nearest2d";
    let [n, h, w, c] = rank4(op, "input", x)?;
    if size.contains(&0) {
        return Err(shape_err(op, format!("size {size:?} must be positive (input {x:?})")));
    }
    let oh = h.checked_mul(size[0]);
    let ow = w.checked_mul(size[1]);
    match (oh, ow) {
        (Some(oh), Some(ow)) if crate::checked_numel(op, &[n, oh, ow, c]).is_ok() => Ok([n, oh, ow, c]),
        _ => Err(shape_err(op, format!("size {size:?} makes the output of input {x:?} too large"))),
    }
}

/// Records nearest-neighbour upsampling of `[n, h, w, c]` by `size`; returns the output buffer.
pub fn upsample_nearest2d(gpu: &Gpu, x: &GpuBuffer, shape: &[usize], size: [usize; 2]) -> Result<GpuBuffer> {
    let [n, oh, ow, c] = upsample_shape(shape, size)?;
    let total = n * oh * ow * c;
    check_u32("upsample_nearest2d", &[total, oh, ow])?;
    let out = out_f32(gpu, total)?;
    if total == 0 {
        return Ok(out);
    }
    let vec4 = c.is_multiple_of(4);
    let (entry, threads) = if vec4 { ("upsample_nearest4", total / 4) } else { ("upsample_nearest", total) };
    launch(gpu, entry, [x, &out], [n, shape[1], shape[2], c, oh, ow, size[0], size[1]], threads)?;
    Ok(out)
}

/// Dispatches `entry` over `threads` invocations with the shared uniform block `dims`
/// (n, h, w, c, oh, ow, sh, sw), then the count and the bilinear scales (unused by nearest).
fn launch(gpu: &Gpu, entry: &'static str, bufs: [&GpuBuffer; 2], dims: [usize; 8], threads: usize) -> Result<()> {
    let scale = |i: usize, o: usize| if o == 0 { 0.0 } else { dims[i] as f32 / dims[o] as f32 };
    let p = dims.iter().fold(Params::new(entry), |p, &d| p.u(d)).u(threads);
    let p = p.f(scale(1, 4)).f(scale(2, 5)).align4();
    let pipe = pipeline(gpu, "resize.wgsl", SRC, entry, &[])?;
    gpu.dispatch(&pipe, p.bytes()?, &bufs, grid_1d(gpu, threads, 64))?;
    Ok(())
}

/// Records the input gradient of nearest upsampling: `dy` of the upsampled shape summed over
/// each `sh × sw` block into `[n, h, w, c]` (`shape` is the forward input's shape).
pub fn upsample_nearest2d_grad(gpu: &Gpu, dy: &GpuBuffer, shape: &[usize], size: [usize; 2]) -> Result<GpuBuffer> {
    let [n, oh, ow, c] = upsample_shape(shape, size)?;
    let total = n * shape[1] * shape[2] * c;
    check_u32("upsample_nearest2d_grad", &[n * oh * ow * c, oh, ow])?;
    let out = out_f32(gpu, total)?;
    if total == 0 {
        return Ok(out);
    }
    let vec4 = c.is_multiple_of(4);
    let (entry, threads) = if vec4 { ("upsample_nearest_grad4", total / 4) } else { ("upsample_nearest_grad", total) };
    launch(gpu, entry, [dy, &out], [n, shape[1], shape[2], c, oh, ow, size[0], size[1]], threads)?;
    Ok(out)
}

/// Checks a bilinear resize of input `x` (`[n, h, w, c]`, h and w positive) to `size` =
/// (oh, ow); returns the output shape `[n, oh, ow, c]`.
pub fn resize_bilinear_shape(x: &[usize], size: [usize; 2]) -> Result<[usize; 4]> {
    let op = "resize_bilinear";
    let [n, h, w, c] = rank4(op, "input", x)?;
    if size.contains(&0) {
        return Err(shape_err(op, format!("size {size:?} must be positive (input {x:?})")));
    }
    if h == 0 || w == 0 {
        return Err(shape_err(op, format!("input {x:?} has no rows or columns to sample")));
    }
    crate::checked_numel(op, &[n, size[0], size[1], c])?;
    Ok([n, size[0], size[1], c])
}

/// Records the bilinear resize of `[n, h, w, c]` to `size` = (oh, ow) (vec4 loads when
/// c % 4 == 0); returns the output.
pub fn resize_bilinear(gpu: &Gpu, x: &GpuBuffer, shape: &[usize], size: [usize; 2]) -> Result<GpuBuffer> {
    let [n, oh, ow, c] = resize_bilinear_shape(shape, size)?;
    let total = n * oh * ow * c;
    check_u32("resize_bilinear", &[total, n * shape[1] * shape[2] * c])?;
    let out = out_f32(gpu, total)?;
    if total > 0 {
        let (entry, threads) =
            if c.is_multiple_of(4) { ("resize_bilinear4", total / 4) } else { ("resize_bilinear", total) };
        launch(gpu, entry, [x, &out], [n, shape[1], shape[2], c, oh, ow, 0, 0], threads)?;
    }
    Ok(out)
}

/// Records the input gradient of [`resize_bilinear`] (`shape` is the forward input's): each
/// input element gathers the `dy` elements (`[n, oh, ow, c]`) that sampled it, by their weights.
pub fn resize_bilinear_grad(gpu: &Gpu, dy: &GpuBuffer, shape: &[usize], size: [usize; 2]) -> Result<GpuBuffer> {
    let [n, oh, ow, c] = resize_bilinear_shape(shape, size)?;
    let total = crate::checked_numel("resize_bilinear_grad", shape)?;
    check_u32("resize_bilinear_grad", &[total, n * oh * ow * c])?;
    let out = out_f32(gpu, total)?;
    if total > 0 {
        let vec4 = c.is_multiple_of(4);
        let (entry, threads) =
            if vec4 { ("resize_bilinear_grad4", total / 4) } else { ("resize_bilinear_grad", total) };
        launch(gpu, entry, [dy, &out], [n, shape[1], shape[2], c, oh, ow, 0, 0], threads)?;
    }
    Ok(out)
}
