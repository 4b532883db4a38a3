//! Launcher for `shaders/concat.wgsl`: `tf.concat` as one strided copy dispatch per input, and
//! `slice` along one axis (concat's gradient) as one strided copy.

use tessera_device::{Gpu, GpuBuffer};

use crate::launch::{check_u32, grid_1d, out_f32, pipeline, Params};
use crate::{shape_err, Result};

const SRC: &str = include_str!("../../../shaders/concat.wgsl");

/// The output shape of concatenating `shapes` along `axis`; errors name the shapes.
pub fn concat_shape(shapes: &[&[usize]], axis: usize) -> Result<Vec<usize>> {
    let Some(first) = shapes.first() else { return Err(shape_err("concat", "needs at least one tensor")) };
    if axis >= first.len() {
        return Err(shape_err("concat", format!("axis {axis} is out of range for shape {first:?}")));
    }
    let mut out = first.to_vec();
    out[axis] = 0;
    for s in shapes {
        let same = s.len() == first.len() && (0..s.len()).all(|d| d == axis || s[d] == first[d]);
        if !same {
            return Err(shape_err(
                "concat",
                format!("shapes {first:?} and {s:?} differ outside axis {axis} (all shapes: {shapes:?})"),
            ));
        }
        out[axis] = out[axis].saturating_add(s[axis]);
    }
    crate::checked_numel("concat", &out)?;
    Ok(out)
}

/// Records the concatenation of `xs` (with `shapes`) along `axis`; returns the output buffer.
pub fn concat(gpu: &Gpu, xs: &[&GpuBuffer], shapes: &[&[usize]], axis: usize) -> Result<GpuBuffer> {
    let out_shape = concat_shape(shapes, axis)?;
    let total: usize = out_shape.iter().product();
    check_u32("concat", &[total])?;
    let out = out_f32(gpu, total)?;
    let inner: usize = out_shape[axis + 1..].iter().product();
    let out_chunk = out_shape[axis] * inner;
    let pipe = pipeline(gpu, "concat.wgsl", SRC, "concat_copy", &[])?;
    let mut offset = 0;
    for (x, s) in xs.iter().zip(shapes) {
        let n: usize = s.iter().product();
        let chunk = s[axis] * inner;
        if n > 0 {
            let p = Params::new("concat").u(n).u(chunk).u(out_chunk).u(offset);
            gpu.dispatch(&pipe, p.bytes()?, &[x, &out], grid_1d(gpu, n, 256))?;
        }
        offset += chunk;
    }
    Ok(out)
}

/// Checks `tf.slice` along one axis: `start + len` within `shape[axis]`; returns the output
/// shape.
pub fn slice_shape(shape: &[usize], axis: usize, start: usize, len: usize) -> Result<Vec<usize>> {
    if axis >= shape.len() {
        return Err(shape_err("slice", format!("axis {axis} is out of range for shape {shape:?}")));
    }
    if start.checked_add(len).is_none_or(|end| end > shape[axis]) {
        return Err(shape_err(
            "slice",
            format!("start {start} + length {len} exceeds dimension {axis} of shape {shape:?}"),
        ));
    }
    let mut out = shape.to_vec();
    out[axis] = len;
    Ok(out)
}

/// Records `len` entries of `x` (shape `shape`) from `start` along `axis`.
pub fn slice(gpu: &Gpu, x: &GpuBuffer, shape: &[usize], axis: usize, start: usize, len: usize) -> Result<GpuBuffer> {
    let out_shape = slice_shape(shape, axis, start, len)?;
    let n: usize = out_shape.iter().product();
    check_u32("slice", &[n, shape.iter().product()])?;
    let out = out_f32(gpu, n)?;
    if n == 0 {
        return Ok(out);
    }
    let inner: usize = shape[axis + 1..].iter().product();
    let p = Params::new("slice").u(n).u(len * inner).u(shape[axis] * inner).u(start * inner);
    let pipe = pipeline(gpu, "concat.wgsl", SRC, "slice_copy", &[])?;
    gpu.dispatch(&pipe, p.bytes()?, &[x, &out], grid_1d(gpu, n, 256))?;
    Ok(out)
}
