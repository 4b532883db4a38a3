//! Launcher for `shaders/concat.wgsl`: `tf.concat` as one strided copy dispatch per input, and
//! `slice` along one axis (concat's gradient) as one strided copy.

use tessera_device::{Gpu, GpuBuffer};

use crate::launch::{check_u32, grid_1d, out_f32, pipeline, Params};
use crate::split;
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
    if !split::fits_binding(gpu, total) {
        return concat_split(gpu, xs, shapes, axis, &out_shape);
    }
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

/// [`concat`] past one storage binding: along the batch axis a copy per input, along another
/// axis on batches of images.
fn concat_split(
    gpu: &Gpu,
    xs: &[&GpuBuffer],
    shapes: &[&[usize]],
    axis: usize,
    out_shape: &[usize],
) -> Result<GpuBuffer> {
    let n = out_shape[0];
    if axis == 0 {
        let out = out_f32(gpu, out_shape.iter().product())?;
        let mut at = 0u64;
        for (x, s) in xs.iter().zip(shapes) {
            let bytes = s.iter().product::<usize>() as u64 * 4;
            gpu.copy(x, 0, &out, at, bytes)?;
            at += bytes;
        }
        return Ok(out);
    }
    let ops: Vec<_> = xs.iter().zip(shapes).map(|(x, s)| (*x, s.iter().product::<usize>() / n.max(1))).collect();
    let run = |images: usize, b: &[&GpuBuffer]| {
        let parts: Vec<Vec<usize>> = shapes.iter().map(|s| [&[images][..], &s[1..]].concat()).collect();
        let refs: Vec<&[usize]> = parts.iter().map(Vec::as_slice).collect();
        concat(gpu, b, &refs, axis)
    };
    let per_out = out_shape.iter().product::<usize>() / n.max(1);
    let out = split::per_image(gpu, "concat", n, &ops, per_out, run)?;
    out.ok_or_else(|| shape_err("concat", format!("output {out_shape:?} fits one binding")))
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
    let inner: usize = shape[axis + 1..].iter().product();
    if axis == 0 && !split::fits_binding(gpu, shape.iter().product()) {
        let out = out_f32(gpu, n)?;
        gpu.copy(x, (start * inner) as u64 * 4, &out, 0, n as u64 * 4)?;
        return Ok(out);
    }
    let per = |s: &[usize]| s[1..].iter().product::<usize>();
    let run =
        |images: usize, b: &[&GpuBuffer]| slice(gpu, b[0], &[&[images][..], &shape[1..]].concat(), axis, start, len);
    if let Some(out) = split::per_image(gpu, "slice", shape[0], &[(x, per(shape))], per(&out_shape), run)? {
        return Ok(out);
    }
    let out = out_f32(gpu, n)?;
    if n == 0 {
        return Ok(out);
    }
    let p = Params::new("slice").u(n).u(len * inner).u(shape[axis] * inner).u(start * inner);
    let pipe = pipeline(gpu, "concat.wgsl", SRC, "slice_copy", &[])?;
    gpu.dispatch(&pipe, p.bytes()?, &[x, &out], grid_1d(gpu, n, 256))?;
    Ok(out)
}
