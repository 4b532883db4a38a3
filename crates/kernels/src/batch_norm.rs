//! Launcher for `shaders/batch_norm.wgsl`: two-pass parallel axis reductions (mean, max, and
//! the mean of squared deviations) behind `tf.nn.moments` and global pooling, and the fused
//! `tf.nn.batch_normalization` kernel, optionally followed by a fused activation (whose gradient
//! the training-mode backward applies to the upstream gradient in the same passes).

use tessera_device::{Gpu, GpuBuffer};

use crate::launch::{check_u32, grid_1d, out_f32, pipeline, FusedGrad, Params};
use crate::split::{self, Part};
use crate::{shape_err, Activation, Result};

const SRC: &str = include_str!("../../../shaders/batch_norm.wgsl");
/// Most axis groups of each kind (kept / reduced) a reduction can have after merging.
const MAX_GROUPS: usize = 4;
/// Invocations the partial pass aims for (enough to keep every core busy).
const TARGET_THREADS: usize = 8192;
/// Most partials per output (bounds the final pass's loop).
const MAX_CHUNKS: usize = 256;

/// What a reduction computes per output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReduceOp {
    /// Arithmetic mean.
    Mean,
    /// Maximum.
    Max,
    /// Mean of `(x − mean)²` given the mean (the biased variance).
    SqDevMean,
}

/// A reduction of a row-major tensor over some axes, as merged (size, stride) axis groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReducePlan {
    /// Kept axis groups (size, element stride), outermost first; they index the outputs.
    pub kept: Vec<(usize, usize)>,
    /// Reduced axis groups (size, element stride), outermost first; never empty.
    pub reduced: Vec<(usize, usize)>,
    /// Number of outputs.
    pub outs: usize,
    /// Elements reduced into each output.
    pub count: usize,
}

/// Checks `axes` against a tensor of `shape`: each in range and none repeated.
pub fn check_axes(op: &'static str, shape: &[usize], axes: &[usize]) -> Result<Vec<bool>> {
    let mut reduced = vec![false; shape.len()];
    for &a in axes {
        if a >= shape.len() {
            return Err(shape_err(op, format!("axis {a} is out of range for shape {shape:?} (rank {})", shape.len())));
        }
        if reduced[a] {
            return Err(shape_err(op, format!("axis {a} is repeated in axes {axes:?} (shape {shape:?})")));
        }
        reduced[a] = true;
    }
    Ok(reduced)
}

/// The shape of a reduction's result: reduced axes become 1 (`keepdims`) or disappear.
pub fn reduced_shape(shape: &[usize], reduced: &[bool], keepdims: bool) -> Vec<usize> {
    let kept = shape.iter().zip(reduced).filter(|(_, &r)| keepdims || !r);
    kept.map(|(&d, &r)| if r { 1 } else { d }).collect()
}

impl ReducePlan {
    /// Plans reducing `shape` over `axes`; errors on bad axes or an empty reduction.
    pub fn new(op: &'static str, shape: &[usize], axes: &[usize]) -> Result<Self> {
        let reduced = check_axes(op, shape, axes)?;
        let count: usize = shape.iter().zip(&reduced).filter(|(_, &r)| r).map(|(d, _)| d).product();
        let outs: usize = shape.iter().zip(&reduced).filter(|(_, &r)| !r).map(|(d, _)| d).product();
        if count == 0 && outs > 0 {
            return Err(shape_err(op, format!("axes {axes:?} of shape {shape:?} hold no elements to reduce")));
        }
        let (mut kept, mut red) = (Vec::new(), Vec::new());
        let mut stride = 1;
        for i in (0..shape.len()).rev() {
            let list: &mut Vec<(usize, usize)> = if reduced[i] { &mut red } else { &mut kept };
            if shape[i] != 1 {
                match list.last_mut() {
                    Some(g) if g.0 * g.1 == stride => g.0 *= shape[i],
                    _ => list.push((shape[i], stride)),
                }
            }
            stride *= shape[i];
        }
        if red.is_empty() {
            red.push((1, 0));
        }
        kept.reverse();
        red.reverse();
        if kept.len() > MAX_GROUPS || red.len() > MAX_GROUPS {
            return Err(shape_err(op, format!("axes {axes:?} of shape {shape:?} interleave too often for the GPU")));
        }
        Ok(Self { kept, reduced: red, outs, count })
    }
}

fn pack4(p: Params, groups: &[(usize, usize)]) -> Params {
    let mut p = p;
    for i in 0..MAX_GROUPS {
        p = p.u(groups.get(i).map_or(1, |g| g.0));
    }
    for i in 0..MAX_GROUPS {
        p = p.u(groups.get(i).map_or(0, |g| g.1));
    }
    p
}

/// Records a reduction of `x` by `plan`; `mean` (one value per output) is needed by
/// [`ReduceOp::SqDevMean`]. Returns the buffer of `plan.outs` results.
pub fn reduce(
    gpu: &Gpu,
    x: &GpuBuffer,
    plan: &ReducePlan,
    op: ReduceOp,
    mean: Option<&GpuBuffer>,
) -> Result<GpuBuffer> {
    let (len, _) = *plan.reduced.last().expect("a plan always has a reduced group");
    let lead: usize = plan.reduced[..plan.reduced.len() - 1].iter().map(|g| g.0).product();
    let base = plan.outs * lead;
    let want = TARGET_THREADS.div_ceil(base.max(1)).clamp(1, MAX_CHUNKS);
    let chunk = len.div_ceil(want.min(len.div_ceil(16)).max(1)).max(1); // len may be 0
    let nchunks = len.div_ceil(chunk);
    let parts = lead * nchunks;
    check_u32("reduce", &[plan.outs * plan.count, base * nchunks])?;
    let out = out_f32(gpu, plan.outs)?;
    if plan.outs == 0 {
        return Ok(out);
    }
    let code = match op {
        ReduceOp::Mean => 0.0,
        ReduceOp::Max => 1.0,
        ReduceOp::SqDevMean => 2.0,
    };
    let p = Params::new("reduce").u(plan.outs).u(plan.kept.len()).u(plan.reduced.len()).u(chunk);
    let p = p.u(nchunks).u(parts).f(plan.count as f32).u(0);
    let p = pack4(pack4(p, &plan.kept), &plan.reduced);
    let dummy = out_f32(gpu, 4)?;
    let aux = mean.unwrap_or(&dummy);
    let partials = out_f32(gpu, plan.outs * parts)?;
    let pass1 = pipeline(gpu, "batch_norm.wgsl", SRC, "reduce_partial", &[("OP", code)])?;
    gpu.dispatch(&pass1, p.bytes()?, &[x, aux, &partials], grid_1d(gpu, plan.outs * parts, 64))?;
    let pass2 = pipeline(gpu, "batch_norm.wgsl", SRC, "reduce_final", &[("OP", code)])?;
    gpu.dispatch(&pass2, p.bytes()?, &[&partials, &dummy, &out], grid_1d(gpu, plan.outs, 64))?;
    Ok(out)
}

/// Records `tf.nn.moments`: the mean, then the mean of squared deviations from it (two
/// passes over `x`, each a parallel two-level reduction). Returns (mean, variance) buffers.
pub fn moments(gpu: &Gpu, x: &GpuBuffer, plan: &ReducePlan) -> Result<(GpuBuffer, GpuBuffer)> {
    if let Some(rows) = split_rows(gpu, plan) {
        return moments_by_rows(gpu, x, plan, rows);
    }
    let mean = reduce(gpu, x, plan, ReduceOp::Mean, None)?;
    let var = reduce(gpu, x, plan, ReduceOp::SqDevMean, Some(&mean))?;
    Ok((mean, var))
}

/// Rows per batch when `x` passes one binding and the plan reduces all but its last axis (batch
/// norm's statistics over `[rows, c]`); `None` otherwise (the plain launch then fits, or fails
/// with a typed error naming the kernel).
fn split_rows(gpu: &Gpu, plan: &ReducePlan) -> Option<usize> {
    let c = plan.outs;
    let over_rows = plan.kept == [(c, 1)] && plan.reduced.len() == 1 && plan.reduced[0].1 == c;
    (over_rows && !split::fits_binding(gpu, plan.outs * plan.count))
        .then(|| split::binding_ranges(gpu, plan.count, c)[0].1)
}

/// [`moments`] of `[plan.count, c]` rows in batches of `rows`: each batch's sums are divided by
/// the whole count, so the batches' results add up to the mean (then the variance about it).
fn moments_by_rows(gpu: &Gpu, x: &GpuBuffer, plan: &ReducePlan, rows: usize) -> Result<(GpuBuffer, GpuBuffer)> {
    let c = plan.outs;
    let sum = |op: ReduceOp, mean: Option<&GpuBuffer>| {
        let run = |len: usize, b: &[&GpuBuffer]| {
            let part = ReducePlan { kept: vec![(c, 1)], reduced: vec![(len, c)], outs: c, count: plan.count };
            Ok(vec![reduce(gpu, b[0], &part, op, mean)?])
        };
        let sums = split::split_in_batches(gpu, "moments", plan.count, rows, &[(x, c)], &[Part::Sum(c)], run)?;
        sums.into_iter().next().ok_or_else(|| shape_err("moments", "no rows".to_string()))
    };
    let mean = sum(ReduceOp::Mean, None)?;
    let var = sum(ReduceOp::SqDevMean, Some(&mean))?;
    Ok((mean, var))
}

/// Per-channel parameters of [`batch_normalization`] (each of `c` values).
pub struct BnParams<'a> {
    /// Mean to subtract.
    pub mean: &'a GpuBuffer,
    /// Variance to divide by (after adding epsilon and taking the square root).
    pub variance: &'a GpuBuffer,
    /// Added last (β), or nothing.
    pub offset: Option<&'a GpuBuffer>,
    /// Multiplied in (γ), or nothing.
    pub scale: Option<&'a GpuBuffer>,
    /// Added to the variance.
    pub epsilon: f32,
    /// Activation applied to the result (fused; `Activation::None` for none).
    pub activation: Activation,
}

/// Records `(x − mean) · scale / √(variance + ε) + offset` over `total` elements whose last
/// axis has `c` channels; returns the output buffer.
pub fn batch_normalization(gpu: &Gpu, x: &GpuBuffer, total: usize, c: usize, bn: &BnParams) -> Result<GpuBuffer> {
    check_u32("batch_normalization", &[total])?;
    let rows = total.checked_div(c).unwrap_or(0);
    let run = |rows: usize, b: &[&GpuBuffer]| batch_normalization(gpu, b[0], rows * c, c, bn);
    if let Some(out) = split::per_image(gpu, "batch_normalization", rows, &[(x, c)], c, run)? {
        return Ok(out);
    }
    let out = out_f32(gpu, total)?;
    if total == 0 {
        return Ok(out);
    }
    let vec4 = c.is_multiple_of(4);
    let (entry, threads) = if vec4 { ("batch_norm4", total / 4) } else { ("batch_norm", total) };
    let flags = bn.offset.is_some() as usize | (bn.scale.is_some() as usize) << 1 | bn.activation.code() << 2;
    let p = Params::new("batch_normalization").u(threads).u(c).u(flags).f(bn.epsilon);
    let (d1, d2) = (out_f32(gpu, 4)?, out_f32(gpu, 4)?);
    let (offset, scale) = (bn.offset.unwrap_or(&d1), bn.scale.unwrap_or(&d2));
    let pipe = pipeline(gpu, "batch_norm.wgsl", SRC, entry, &[])?;
    let bufs = [x, bn.mean, bn.variance, offset, scale, &out];
    gpu.dispatch(&pipe, p.bytes()?, &bufs, grid_1d(gpu, threads, 256))?;
    Ok(out)
}

/// How per-channel sums over `rows` rows of `c` channels split into chunks of rows (one
/// invocation per (channel, chunk), at least 16 rows each): returns (rows per chunk, chunks).
pub fn row_chunks(rows: usize, c: usize) -> (usize, usize) {
    let want = TARGET_THREADS.div_ceil(c.max(1)).clamp(1, MAX_CHUNKS);
    let chunk = rows.div_ceil(want.min(rows.div_ceil(16)).max(1)).max(1);
    (chunk, rows.div_ceil(chunk))
}

/// Gradients of training-mode batch norm: (dx, d gamma, d beta) buffers.
pub struct BnTrainingGrads {
    /// Gradient of the input (`rows · c` values).
    pub dx: GpuBuffer,
    /// Gradient of the scale γ (`c` values).
    pub dgamma: GpuBuffer,
    /// Gradient of the offset β (`c` values).
    pub dbeta: GpuBuffer,
}

/// Records the backward of `y = γ · (x − mean)/√(var + ε) + β` with the batch statistics
/// `mean`, `var` of `x` (`[rows, c]`, statistics over rows) given `dy`: per-channel partial
/// sums, a per-channel finish, and one elementwise dx pass that includes the paths through the
/// statistics. With a fused activation (`fused`: `y = act(bn(x))` saved by the forward) `dy`
/// is first masked by the activation's gradient, inside the passes that read it.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_training_grad(
    gpu: &Gpu,
    x: &GpuBuffer,
    dy: &GpuBuffer,
    mean: &GpuBuffer,
    var: &GpuBuffer,
    gamma: &GpuBuffer,
    [rows, c]: [usize; 2],
    epsilon: f32,
    fused: FusedGrad,
) -> Result<BnTrainingGrads> {
    let total = rows * c;
    check_u32("batch_norm_training", &[total])?;
    let (dgamma, dbeta) = (out_f32(gpu, c)?, out_f32(gpu, c)?);
    if total == 0 {
        return Ok(BnTrainingGrads { dx: out_f32(gpu, 0)?, dgamma, dbeta });
    }
    let bn = BnGrad { mean, epsilon, act: fused.act, count: rows };
    let mut ops = vec![(x, c), (dy, c)];
    ops.extend(fused.y.map(|y| (y, c)));
    // Pass 1: per-channel partial sums over chunks of rows (of every batch of rows, in turn).
    let batch_rows = if split::fits_binding(gpu, total) { rows } else { split::binding_ranges(gpu, rows, c)[0].1 };
    let mut partials = Vec::new();
    split::for_batches(gpu, rows, batch_rows, &ops, |_, len, b| {
        partials.push(bn.partial_sums(gpu, [b[0], b[1]], b.get(2).copied(), [len, c])?);
        Ok(())
    })?;
    let (parts, nchunks) = concat_partials(gpu, partials, c)?;
    // Pass 2: the sums, the parameter gradients and the coefficients of dx.
    let coef = out_f32(gpu, 3 * c)?;
    let p = bn.params([rows, c], nchunks, 1);
    let pass2 = pipeline(gpu, "batch_norm.wgsl", SRC, "bn_grad_final", &[])?;
    gpu.dispatch(&pass2, p.bytes()?, &[&parts, var, gamma, &dbeta, &dgamma, &coef], grid_1d(gpu, c, 64))?;
    // Pass 3: dx, per batch of rows.
    let run = |len: usize, b: &[&GpuBuffer]| bn.dx(gpu, [b[0], b[1]], b.get(2).copied(), &coef, [len, c]);
    let dx = match split::per_image(gpu, "batch_norm_training", rows, &ops, c, run)? {
        Some(dx) => dx,
        None => bn.dx(gpu, [x, dy], fused.y, &coef, [rows, c])?,
    };
    Ok(BnTrainingGrads { dx, dgamma, dbeta })
}

/// What every pass of the batch-norm training gradient shares.
struct BnGrad<'a> {
    mean: &'a GpuBuffer,
    epsilon: f32,
    act: Activation,
    /// Rows of the whole batch (the statistics' count).
    count: usize,
}

impl BnGrad<'_> {
    /// The passes' uniform for `rows` rows in `nchunks` chunks of `chunk`.
    fn params(&self, [rows, c]: [usize; 2], nchunks: usize, chunk: usize) -> Params {
        let threads = if c.is_multiple_of(4) { rows * c / 4 } else { rows * c };
        #[rustfmt::skip]
        let p = Params::new("batch_norm_training")
            .u(rows).u(c).u(chunk).u(nchunks)
            .f(self.count as f32).f(self.epsilon).u(threads).u(self.act.code());
        p
    }

    /// Pass 1 over `[rows, c]`: `[Σ dy | Σ dy·(x − mean)]` per chunk of rows and channel;
    /// returns the partial sums and their number of chunks.
    fn partial_sums(
        &self,
        gpu: &Gpu,
        [x, dy]: [&GpuBuffer; 2],
        y: Option<&GpuBuffer>,
        [rows, c]: [usize; 2],
    ) -> Result<(GpuBuffer, usize)> {
        let (chunk, nchunks) = row_chunks(rows, c);
        let p = self.params([rows, c], nchunks, chunk);
        let fused = FusedGrad { act: self.act, y };
        let y = fused.operand(gpu, "batch_norm_training")?;
        let parts = out_f32(gpu, 2 * c * nchunks)?;
        let pass1 = pipeline(gpu, "batch_norm.wgsl", SRC, "bn_grad_partial", &[])?;
        gpu.dispatch(&pass1, p.bytes()?, &[x, self.mean, dy, &parts, &y], grid_1d(gpu, c * nchunks, 64))?;
        Ok((parts, nchunks))
    }

    /// Pass 3 over `[rows, c]`: `dx = a · (g − b − (x − mean) · e)` from the coefficients.
    fn dx(
        &self,
        gpu: &Gpu,
        [x, dy]: [&GpuBuffer; 2],
        y: Option<&GpuBuffer>,
        coef: &GpuBuffer,
        [rows, c]: [usize; 2],
    ) -> Result<GpuBuffer> {
        let p = self.params([rows, c], 1, 1);
        let fused = FusedGrad { act: self.act, y };
        let y = fused.operand(gpu, "batch_norm_training")?;
        let dx = out_f32(gpu, rows * c)?;
        let entry = if c.is_multiple_of(4) { "bn_grad_dx4" } else { "bn_grad_dx" };
        let threads = if c.is_multiple_of(4) { rows * c / 4 } else { rows * c };
        let pass3 = pipeline(gpu, "batch_norm.wgsl", SRC, entry, &[])?;
        gpu.dispatch(&pass3, p.bytes()?, &[x, self.mean, dy, coef, &dx, &y], grid_1d(gpu, threads, 256))?;
        Ok(dx)
    }
}

/// One partial-sum buffer from several batches' (`[Σ dy chunks | Σ dy·(x − mean) chunks]`, each
/// `nchunks × c`): the first halves, then the second halves; returns it and its chunks.
fn concat_partials(gpu: &Gpu, mut partials: Vec<(GpuBuffer, usize)>, c: usize) -> Result<(GpuBuffer, usize)> {
    if partials.len() == 1 {
        return partials.pop().ok_or_else(|| shape_err("batch_norm_training", "no rows".to_string()));
    }
    let total: usize = partials.iter().map(|p| p.1).sum();
    let all = out_f32(gpu, 2 * c * total)?;
    let mut at = 0;
    for (part, n) in &partials {
        let bytes = (n * c) as u64 * 4;
        gpu.copy(part, 0, &all, (at * c) as u64 * 4, bytes)?;
        gpu.copy(part, bytes, &all, ((total + at) * c) as u64 * 4, bytes)?;
        at += n;
    }
    Ok((all, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_merge_adjacent_axes_and_drop_unit_axes() {
        let p = ReducePlan::new("t", &[8, 33, 17, 5], &[0, 1, 2]).unwrap();
        assert_eq!((p.kept, p.reduced, p.outs, p.count), (vec![(5, 1)], vec![(8 * 33 * 17, 5)], 5, 8 * 33 * 17));
        let p = ReducePlan::new("t", &[2, 3, 1, 4], &[0, 2]).unwrap();
        assert_eq!((p.kept, p.reduced), (vec![(12, 1)], vec![(2, 12)]));
        let p = ReducePlan::new("t", &[2, 3, 4], &[]).unwrap();
        assert_eq!((p.kept, p.reduced, p.count), (vec![(24, 1)], vec![(1, 0)], 1));
    }

    #[test]
    fn bad_axes_are_errors_naming_the_shape() {
        let e = ReducePlan::new("t", &[2, 3], &[2]).unwrap_err().to_string();
        assert!(e.contains("[2, 3]") && e.contains("axis 2"), "{e}");
        let e = ReducePlan::new("t", &[2, 3], &[1, 1]).unwrap_err().to_string();
        assert!(e.contains("repeated"), "{e}");
    }
}
