//! Launcher for `shaders/reduce.wgsl`: `tf.reduce_sum` / `reduce_mean` / `reduce_max` over any
//! set of axes, and `tf.math.argmax` over one axis. Each run of consecutive reduced axes is one
//! `[outer, len, inner]` reduction; long reductions over few rows are split into interleaved
//! partial results reduced again, so a full reduction never runs on a single invocation.
//! `shaders/reduce_grad.wgsl` supplies the gradients: `broadcast_back` (sum / mean) and
//! `max_grad` (to the first maximum), over the shape with kept/reduced runs merged.

use tessera_device::{Gpu, GpuBuffer};

use crate::launch::{check_u32, grid_1d, out_f32, pipeline, Params};
use crate::{shape_err, Result};

const SRC: &str = include_str!("../../../shaders/reduce.wgsl");
/// Axis elements each invocation should at least loop over before a reduction is split.
const CHUNK: usize = 256;
/// Invocations a split reduction aims for.
const TARGET_THREADS: usize = 1 << 16;

/// The reduction to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReduceOp {
    /// Sum of the elements.
    Sum,
    /// Arithmetic mean of the elements.
    Mean,
    /// Maximum of the elements.
    Max,
}

impl ReduceOp {
    /// The TensorFlow name (`reduce_sum`, ...), used in error messages.
    pub fn name(self) -> &'static str {
        match self {
            ReduceOp::Sum => "reduce_sum",
            ReduceOp::Mean => "reduce_mean",
            ReduceOp::Max => "reduce_max",
        }
    }
}

/// Per-axis flags for `axes` (`None` = every axis); errors on out-of-range or repeated axes.
pub fn reduced_axes(op: &'static str, shape: &[usize], axes: Option<&[usize]>) -> Result<Vec<bool>> {
    let Some(axes) = axes else { return Ok(vec![true; shape.len()]) };
    let mut flags = vec![false; shape.len()];
    for &a in axes {
        if a >= shape.len() {
            return Err(shape_err(op, format!("axis {a} is out of range for shape {shape:?} (rank {})", shape.len())));
        }
        if flags[a] {
            return Err(shape_err(op, format!("axis {a} is repeated in axes {axes:?} for shape {shape:?}")));
        }
        flags[a] = true;
    }
    Ok(flags)
}

/// The output shape: reduced axes become 1 (`keepdims`) or disappear.
pub fn reduced_shape(shape: &[usize], reduced: &[bool], keepdims: bool) -> Vec<usize> {
    let kept = shape.iter().zip(reduced);
    match keepdims {
        true => kept.map(|(&d, &r)| if r { 1 } else { d }).collect(),
        false => kept.filter(|(_, &r)| !r).map(|(&d, _)| d).collect(),
    }
}

/// `[outer, len, inner]` of each run of consecutive reduced axes (runs of length 1 skipped,
/// but at least one run is returned).
pub fn reduce_runs(shape: &[usize], reduced: &[bool]) -> Vec<[usize; 3]> {
    let mut runs = Vec::new();
    let mut d = 0;
    while d < shape.len() {
        if !reduced[d] {
            d += 1;
            continue;
        }
        let start = d;
        while d < shape.len() && reduced[d] {
            d += 1;
        }
        let len: usize = shape[start..d].iter().product();
        if len != 1 {
            runs.push([shape[..start].iter().product(), len, shape[d..].iter().product()]);
        }
    }
    if runs.is_empty() {
        runs.push([shape.iter().product(), 1, 1]);
    }
    runs
}

/// How many interleaved partial results one pass over `[outer, len, inner]` should produce.
fn parts_for(outer: usize, len: usize, inner: usize) -> usize {
    let rows = (outer * inner).max(1);
    if len <= 2 * CHUNK || rows >= TARGET_THREADS / 4 {
        return 1;
    }
    (len / CHUNK).min(TARGET_THREADS / rows).max(1)
}

/// Records the reduction of `x` (shape `shape`) over the flagged axes; the output buffer holds
/// the keepdims-shaped result.
pub fn reduce(gpu: &Gpu, op: ReduceOp, x: &GpuBuffer, shape: &[usize], reduced: &[bool]) -> Result<GpuBuffer> {
    let n: usize = shape.iter().product();
    check_u32(op.name(), &[n])?;
    let mut cur: Option<GpuBuffer> = None;
    for run in reduce_runs(shape, reduced) {
        let out = reduce_run(gpu, op, cur.as_ref().unwrap_or(x), run)?;
        cur = Some(out);
    }
    Ok(cur.expect("reduce_runs returns at least one run"))
}

/// One run: passes over `[outer, len, inner]` until one value per (outer, inner) is left.
fn reduce_run(gpu: &Gpu, op: ReduceOp, x: &GpuBuffer, [outer, len, inner]: [usize; 3]) -> Result<GpuBuffer> {
    let mut cur_len = len;
    let mut partial: Option<GpuBuffer> = None;
    loop {
        let parts = parts_for(outer, cur_len, inner);
        let scale = if parts == 1 && op == ReduceOp::Mean { 1.0 / len as f32 } else { 1.0 };
        let out = pass(gpu, op, partial.as_ref().unwrap_or(x), [outer, cur_len, inner], parts, scale)?;
        if parts == 1 {
            return Ok(out);
        }
        partial = Some(out);
        cur_len = parts;
    }
}

/// One dispatch of `reduce_axis`: `[outer, len, inner]` → `[outer, parts, inner]`.
fn pass(gpu: &Gpu, op: ReduceOp, x: &GpuBuffer, dims: [usize; 3], parts: usize, scale: f32) -> Result<GpuBuffer> {
    let [outer, len, inner] = dims;
    let threads = outer * parts * inner;
    let out = out_f32(gpu, threads)?;
    if threads == 0 {
        return Ok(out);
    }
    let code = if op == ReduceOp::Max { 1 } else { 0 };
    let p = Params::new("reduce").u(outer).u(len).u(inner).u(parts).u(code).u(0).f(f32::NEG_INFINITY).f(scale);
    let pipe = pipeline(gpu, "reduce.wgsl", SRC, "reduce_axis", &[])?;
    gpu.dispatch(&pipe, p.bytes()?, &[x, &out], grid_1d(gpu, threads, 256))?;
    Ok(out)
}

/// Records `tf.math.argmax(x, axis)`: f32 indices (first maximum), shape with `axis` removed.
pub fn argmax(gpu: &Gpu, x: &GpuBuffer, shape: &[usize], axis: usize) -> Result<GpuBuffer> {
    check_argmax(shape, axis)?;
    let n: usize = shape.iter().product();
    check_u32("argmax", &[n])?;
    let (outer, len, inner) = split_axis(shape, axis);
    let out = out_f32(gpu, outer * inner)?;
    if outer * inner == 0 {
        return Ok(out);
    }
    let p = Params::new("reduce").u(outer).u(len).u(inner).u(1).u(0).u(0).f(0.0).f(1.0);
    let pipe = pipeline(gpu, "reduce.wgsl", SRC, "argmax_axis", &[])?;
    gpu.dispatch(&pipe, p.bytes()?, &[x, &out], grid_1d(gpu, outer * inner, 256))?;
    Ok(out)
}

/// Checks `axis` is in range and not empty for `tf.math.argmax`.
pub fn check_argmax(shape: &[usize], axis: usize) -> Result<()> {
    if axis >= shape.len() {
        return Err(shape_err("argmax", format!("axis {axis} is out of range for shape {shape:?}")));
    }
    if shape[axis] == 0 {
        return Err(shape_err("argmax", format!("axis {axis} of shape {shape:?} is empty")));
    }
    Ok(())
}

/// `(outer, len, inner)`: the products of the dimensions before, at and after `axis`.
pub fn split_axis(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    (shape[..axis].iter().product(), shape[axis], shape[axis + 1..].iter().product())
}

const GRAD_SRC: &str = include_str!("../../../shaders/reduce_grad.wgsl");
/// Most merged dimensions the gradient kernels accept.
const GRAD_MAX_RANK: usize = 8;

/// `(dims, input strides, output strides)` of `shape` with size-1 dimensions dropped and
/// neighbours of the same kind merged; output strides are 0 on reduced dimensions.
pub fn merged_dims(op: &'static str, shape: &[usize], reduced: &[bool]) -> Result<[Vec<usize>; 3]> {
    let mut dims: Vec<(usize, bool)> = Vec::new();
    for (&d, &r) in shape.iter().zip(reduced).filter(|(&d, _)| d != 1) {
        match dims.last_mut() {
            Some((n, lr)) if *lr == r => *n *= d,
            _ => dims.push((d, r)),
        }
    }
    if dims.len() > GRAD_MAX_RANK {
        return Err(shape_err(
            op,
            format!("shape {shape:?} with reduced axes {reduced:?} needs more than {GRAD_MAX_RANK} merged dimensions"),
        ));
    }
    let (mut xs, mut gs) = (vec![0; dims.len()], vec![0; dims.len()]);
    let (mut xstride, mut gstride) = (1, 1);
    for (i, &(d, r)) in dims.iter().enumerate().rev() {
        xs[i] = xstride;
        xstride *= d;
        if !r {
            gs[i] = gstride;
            gstride *= d;
        }
    }
    Ok([dims.iter().map(|d| d.0).collect(), xs, gs])
}

/// Uniform of `reduce_grad.wgsl`.
fn grad_params(n: usize, red: usize, scale: f32, m: &[Vec<usize>; 3]) -> Params {
    let mut p = Params::new("reduce").u(m[0].len()).u(n).u(red).u(0).f(scale).u(0).u(0).u(0);
    for v in m {
        for i in 0..GRAD_MAX_RANK {
            p = p.u(v.get(i).copied().unwrap_or(0));
        }
    }
    p
}

/// Records the gradient of a sum over the flagged axes, times `scale`: `g` (the reduced
/// values, keepdims layout or not) broadcast back to `shape`.
pub fn broadcast_back(gpu: &Gpu, g: &GpuBuffer, shape: &[usize], reduced: &[bool], scale: f32) -> Result<GpuBuffer> {
    let n: usize = shape.iter().product();
    check_u32("reduce_grad", &[n])?;
    let run = |images: usize, b: &[&GpuBuffer]| broadcast_back(gpu, b[0], &batch_of(shape, images), reduced, scale);
    if let Some(out) = by_images("reduce_grad", gpu, shape, reduced, &[g], run)? {
        return Ok(out);
    }
    let m = merged_dims("reduce_grad", shape, reduced)?;
    let out = out_f32(gpu, n)?;
    if n == 0 {
        return Ok(out);
    }
    let pipe = pipeline(gpu, "reduce_grad.wgsl", GRAD_SRC, "broadcast_back", &[])?;
    gpu.dispatch(&pipe, grad_params(n, 0, scale, &m).bytes()?, &[g, &out], grid_1d(gpu, n, 256))?;
    Ok(out)
}

/// Records `reduce_max`'s gradient: `g` (one value per output) goes to the first maximum of
/// each reduced group of `x` (row-major order), zeros elsewhere.
pub fn max_grad(gpu: &Gpu, x: &GpuBuffer, g: &GpuBuffer, shape: &[usize], reduced: &[bool]) -> Result<GpuBuffer> {
    let n: usize = shape.iter().product();
    check_u32("reduce_max_grad", &[n])?;
    let run = |images: usize, b: &[&GpuBuffer]| max_grad(gpu, b[0], b[1], &batch_of(shape, images), reduced);
    if let Some(out) = by_images("reduce_max_grad", gpu, shape, reduced, &[x, g], run)? {
        return Ok(out);
    }
    let m = merged_dims("reduce_max_grad", shape, reduced)?;
    let out = out_f32(gpu, n)?;
    if n == 0 {
        return Ok(out);
    }
    let red: usize = shape.iter().zip(reduced).filter(|(_, &r)| r).map(|(&d, _)| d).product();
    let n_out = n / red;
    let pipe = pipeline(gpu, "reduce_grad.wgsl", GRAD_SRC, "max_grad", &[])?;
    gpu.dispatch(&pipe, grad_params(n_out, red, 1.0, &m).bytes()?, &[x, &out, g], grid_1d(gpu, n_out, 256))?;
    Ok(out)
}

/// `shape` with its leading axis `images` long.
fn batch_of(shape: &[usize], images: usize) -> Vec<usize> {
    [&[images][..], &shape[1..]].concat()
}

/// A reduction gradient past one binding, on batches of the leading axis when it is kept:
/// `ops` are the full-shape input (`x`, if any) then the reduced gradient, per image.
fn by_images(
    op: &'static str,
    gpu: &Gpu,
    shape: &[usize],
    reduced: &[bool],
    ops: &[&GpuBuffer],
    run: impl Fn(usize, &[&GpuBuffer]) -> Result<GpuBuffer>,
) -> Result<Option<GpuBuffer>> {
    let (Some(&n), Some(false)) = (shape.first(), reduced.first().copied()) else { return Ok(None) };
    let per = shape[1..].iter().product::<usize>();
    let kept = shape[1..].iter().zip(&reduced[1..]).filter(|(_, &r)| !r).map(|(&d, _)| d).product::<usize>();
    let (g, full) = ops.split_last().ok_or_else(|| crate::shape_err(op, "no gradient".to_string()))?;
    let operands: Vec<_> = full.iter().map(|x| (*x, per)).chain([(*g, kept)]).collect();
    crate::split::per_image(gpu, op, n, &operands, per, run)
}
