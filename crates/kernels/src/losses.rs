//! Launcher for `shaders/losses.wgsl`: fused softmax cross-entropy (dense or sparse labels)
//! and its logits gradient, one-hot encoding, and per-row argmax correctness for accuracy.
//! One invocation per row of `k` logits, or one workgroup for the means (the loss, the
//! accuracy, or both in one pass). On the GPU a sparse label that is not an integer in
//! `[0, k)` yields NaN for that row (the loss and every gradient entry); `tessera-nn` checks the
//! labels on the host first (native), so this is the browser's fallback.

use tessera_device::{Gpu, GpuBuffer};

use crate::launch::{check_u32, grid_1d, out_f32, pipeline, Params};
use crate::Result;

const SRC: &str = include_str!("../../../shaders/losses.wgsl");

fn params(rows: usize, k: usize, sparse: bool) -> Params {
    params_g(rows, k, sparse, 1, 1.0)
}

/// With the gradient's stride per row and scale (`xent_grad_rows` reads `g[r·stride]·scale`).
fn params_g(rows: usize, k: usize, sparse: bool, g_stride: usize, g_scale: f32) -> Params {
    let p = Params::new("softmax_cross_entropy_with_logits").u(rows).u(k).u(sparse as usize).u(0);
    p.f(f32::NAN).u(g_stride).f(g_scale).u(0)
}

fn run(
    gpu: &Gpu,
    entry: &str,
    p: Params,
    bufs: &[&GpuBuffer],
    out_len: usize,
    threads: usize,
    wg: u32,
) -> Result<GpuBuffer> {
    let out = out_f32(gpu, out_len)?;
    if threads == 0 || out_len == 0 {
        return Ok(out);
    }
    let mut all: Vec<&GpuBuffer> = vec![bufs[0], &out];
    all.extend(&bufs[1..]);
    let pipe = pipeline(gpu, "losses.wgsl", SRC, entry, &[])?;
    gpu.dispatch(&pipe, p.bytes()?, &all, grid_1d(gpu, threads, wg))?;
    Ok(out)
}

/// Records the per-row softmax cross-entropy of `logits` (`rows` × `k`) against `labels`
/// (`rows` × `k` dense, or `rows` class ids when `sparse`); returns `rows` losses.
pub fn softmax_xent(
    gpu: &Gpu,
    labels: &GpuBuffer,
    logits: &GpuBuffer,
    rows: usize,
    k: usize,
    sparse: bool,
) -> Result<GpuBuffer> {
    check_u32("softmax_cross_entropy_with_logits", &[rows * k])?;
    run(gpu, "xent_rows", params(rows, k, sparse), &[labels, logits], rows, rows, 64)
}

/// Records the logits gradient `g[r] · (softmax(logits[r]) − labels[r])` (`rows` × `k`).
pub fn softmax_xent_grad(
    gpu: &Gpu,
    labels: &GpuBuffer,
    logits: &GpuBuffer,
    g: &GpuBuffer,
    rows: usize,
    k: usize,
    sparse: bool,
) -> Result<GpuBuffer> {
    check_u32("softmax_cross_entropy_with_logits", &[rows * k])?;
    run(gpu, "xent_grad_rows", params(rows, k, sparse), &[labels, logits, g], rows * k, rows, 64)
}

/// Records the mean over the `rows` of [`softmax_xent`] in one dispatch (one workgroup):
/// a 1-element buffer. `rows` must be positive.
pub fn softmax_xent_mean(
    gpu: &Gpu,
    labels: &GpuBuffer,
    logits: &GpuBuffer,
    rows: usize,
    k: usize,
    sparse: bool,
) -> Result<GpuBuffer> {
    check_u32("softmax_cross_entropy_with_logits", &[rows * k])?;
    if rows == 0 {
        return Err(crate::shape_err("softmax_cross_entropy_with_logits", "the mean of no rows"));
    }
    run(gpu, "xent_mean", params(rows, k, sparse), &[labels, logits], 1, 64, 64)
}

/// Records the mean over the `rows` of the sparse [`softmax_xent`] and the fraction of rows
/// whose first argmax of `logits` equals the label ([`correct_mean`]) in one dispatch (one
/// workgroup): two 1-element buffers (loss, accuracy). `rows` must be positive.
pub fn softmax_xent_mean_accuracy(
    gpu: &Gpu,
    labels: &GpuBuffer,
    logits: &GpuBuffer,
    rows: usize,
    k: usize,
) -> Result<(GpuBuffer, GpuBuffer)> {
    check_mean(rows, k)?;
    let acc = out_f32(gpu, 1)?;
    let loss = run(gpu, "xent_mean_accuracy", params(rows, k, true), &[labels, logits, &acc], 1, 64, 64)?;
    Ok((loss, acc))
}

/// Problems up to this many logits take [`softmax_xent_mean_accuracy_grad`] in training: its
/// one workgroup also writes every gradient entry, which a large problem would rather spread.
pub const FUSED_GRAD_MAX: usize = 1 << 16;

/// [`softmax_xent_mean_accuracy`] that also writes the logits gradient for an upstream
/// gradient of 1, `(softmax(logits[r]) − onehot(labels[r])) / rows` (what
/// [`softmax_xent_mean_grad`] gives for g = 1, the same arithmetic), in the same one dispatch:
/// returns (loss, accuracy, gradient `[rows, k]`). Sparse labels.
pub fn softmax_xent_mean_accuracy_grad(
    gpu: &Gpu,
    labels: &GpuBuffer,
    logits: &GpuBuffer,
    rows: usize,
    k: usize,
) -> Result<(GpuBuffer, GpuBuffer, GpuBuffer)> {
    check_mean(rows, k)?;
    let (acc, grad) = (out_f32(gpu, 1)?, out_f32(gpu, rows * k)?);
    let p = params_g(rows, k, true, 0, 1.0 / rows as f32);
    let loss = run(gpu, "xent_mean_accuracy_grad", p, &[labels, logits, &acc, &grad], 1, 64, 64)?;
    Ok((loss, acc, grad))
}

/// Checks the sizes of a mean over `rows` rows of `k` logits (at least one of each).
fn check_mean(rows: usize, k: usize) -> Result<()> {
    check_u32("softmax_cross_entropy_with_logits", &[rows * k])?;
    if rows == 0 || k == 0 {
        return Err(crate::shape_err("softmax_cross_entropy_with_logits", format!("the mean of {rows} rows of {k}")));
    }
    Ok(())
}

/// Records the logits gradient of [`softmax_xent_mean`] from its scalar gradient `g` (one
/// element): `g / rows · (softmax(logits[r]) − labels[r])`, one dispatch.
pub fn softmax_xent_mean_grad(
    gpu: &Gpu,
    labels: &GpuBuffer,
    logits: &GpuBuffer,
    g: &GpuBuffer,
    rows: usize,
    k: usize,
    sparse: bool,
) -> Result<GpuBuffer> {
    check_u32("softmax_cross_entropy_with_logits", &[rows * k])?;
    let p = params_g(rows, k, sparse, 0, 1.0 / rows.max(1) as f32);
    run(gpu, "xent_grad_rows", p, &[labels, logits, g], rows * k, rows, 64)
}

/// Records `tf.one_hot(labels, depth)` for `n` f32 ids: `n` × `depth` (rows of zeros for ids
/// that are not in `[0, depth)`).
pub fn one_hot(gpu: &Gpu, labels: &GpuBuffer, n: usize, depth: usize) -> Result<GpuBuffer> {
    check_u32("one_hot", &[n * depth])?;
    run(gpu, "one_hot", params(n, depth, true), &[labels], n * depth, n * depth, 256)
}

/// Records the fraction of the `rows` whose first argmax of `logits` (`rows` × `k`) equals its
/// label id (the mean of [`correct`]) in one dispatch (one workgroup): a 1-element buffer.
/// `rows` must be positive.
pub fn correct_mean(gpu: &Gpu, labels: &GpuBuffer, logits: &GpuBuffer, rows: usize, k: usize) -> Result<GpuBuffer> {
    check_u32("accuracy", &[rows * k])?;
    if rows == 0 || k == 0 {
        return Err(crate::shape_err("accuracy", format!("the mean of {rows} rows of {k}")));
    }
    run(gpu, "correct_mean", params(rows, k, true), &[labels, logits], 1, 64, 64)
}

/// Records 1.0 for each row whose first argmax of `logits` (`rows` × `k`) equals its label id,
/// else 0.0.
pub fn correct(gpu: &Gpu, labels: &GpuBuffer, logits: &GpuBuffer, rows: usize, k: usize) -> Result<GpuBuffer> {
    check_u32("accuracy", &[rows * k])?;
    run(gpu, "correct_rows", params(rows, k, true), &[labels, logits], rows, rows, 64)
}
