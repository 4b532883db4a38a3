//! Launcher for `shaders/resize.wgsl`: nearest-neighbour upsampling by integer factors
//! (Keras `UpSampling2D`) and its input gradient (block sums), scalar and vec4 variants.

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
/// (n, h, w, c, oh, ow, sh, sw).
fn launch(gpu: &Gpu, entry: &str, bufs: [&GpuBuffer; 2], dims: [usize; 8], threads: usize) -> Result<()> {
    let p = dims.iter().fold(Params::new("upsample_nearest2d"), |p, &d| p.u(d)).u(threads).align4();
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
