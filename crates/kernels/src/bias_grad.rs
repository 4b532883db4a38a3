//! Launcher for `shaders/bias_grad.wgsl`: a layer's bias gradient in one dispatch, with its
//! activation gradient when it has an activation ([`bias_act_grad`]) or alone when it has none
//! ([`bias_grad`]). [`bias_act_grad_cpu`] and [`bias_grad_cpu`] are the CPU twins.

use tessera_device::{Gpu, GpuBuffer};

use crate::launch::{check_u32, grid_1d, out_f32, pipeline, Params};
use crate::split::{split_images, Part};
use crate::{Activation, Result};

const SRC: &str = include_str!("../../../shaders/bias_grad.wgsl");

/// The shader's op code for `act` (`None`: no fused kernel for it).
fn op_code(act: Activation) -> Option<usize> {
    match act {
        Activation::None => None,
        Activation::Relu => Some(1),
        Activation::Sigmoid => Some(2),
        Activation::Tanh => Some(3),
    }
}

/// True when [`bias_act_grad`] handles `act` (every activation but `None`, whose bias
/// gradient is [`bias_grad`]).
pub fn fused(act: Activation) -> bool {
    op_code(act).is_some()
}

/// The activation's derivative times `up`, from the activation's output `y` (the same
/// formulas as the binary ops `ReluGrad`, `SigmoidGrad`, `TanhGrad`).
pub(crate) fn act_grad(act: Activation, y: f32, up: f32) -> f32 {
    match act {
        Activation::None => up,
        Activation::Relu => {
            if y > 0.0 {
                up
            } else {
                0.0
            }
        }
        Activation::Sigmoid => up * y * (1.0 - y),
        Activation::Tanh => up * (1.0 - y * y),
    }
}

/// CPU twin: `gz = act'(y)·g` (`[rows, cols]`) and `db[j] = Σ_r gz[r, j]`.
pub fn bias_act_grad_cpu(act: Activation, y: &[f32], g: &[f32], rows: usize, cols: usize) -> (Vec<f32>, Vec<f32>) {
    let gz: Vec<f32> = y.iter().zip(g).map(|(&y, &g)| act_grad(act, y, g)).collect();
    let db = bias_grad_cpu(&gz, rows, cols);
    (gz, db)
}

/// CPU twin of [`bias_grad`]: `db[j] = Σ_r g[r, j]` over `[rows, cols]`.
pub fn bias_grad_cpu(g: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut db = vec![0.0f32; cols];
    for row in g.chunks_exact(cols.max(1)).take(rows) {
        for (d, v) in db.iter_mut().zip(row) {
            *d += v;
        }
    }
    db
}

/// Columns per workgroup (the shader's `BLOCK`).
const BLOCK: usize = 16;

/// Inputs of at most this many rows run the `_cols` kernels (a lane per column, no barrier).
pub const COLS_MAX_ROWS: usize = 256;

/// The entry point of `kernels` (the block form, the `_cols` form) for `rows` and its grid: the
/// `_cols` form (64 columns per workgroup) for few rows, else one workgroup of 256 lanes per
/// block of [`BLOCK`] columns.
fn entry_and_grid(gpu: &Gpu, kernels: [&'static str; 2], rows: usize, cols: usize) -> (&'static str, [u32; 3]) {
    if rows <= COLS_MAX_ROWS {
        (kernels[1], grid_1d(gpu, cols, 64))
    } else {
        (kernels[0], grid_1d(gpu, cols.div_ceil(BLOCK), 1))
    }
}

/// Checks the sizes and returns `rows · cols`.
fn checked_len(op: &'static str, rows: usize, cols: usize) -> Result<usize> {
    let n = rows.checked_mul(cols).ok_or_else(|| crate::shape_err(op, format!("[{rows}, {cols}] overflows")))?;
    check_u32(op, &[n])?;
    Ok(n)
}

/// Records the bias gradient of a layer without an activation, `db[j] = Σ_r g[r, j]` for the
/// upstream gradient `g` (`[rows, cols]`), in one dispatch; `g` passes through unchanged.
pub fn bias_grad(gpu: &Gpu, g: &GpuBuffer, rows: usize, cols: usize) -> Result<GpuBuffer> {
    checked_len("bias_grad", rows, cols)?;
    let per_batch = |rows: usize, b: &[&GpuBuffer]| Ok(vec![bias_grad(gpu, b[0], rows, cols)?]);
    if let Some(mut db) = split_images(gpu, "bias_grad", rows, &[(g, cols)], &[Part::Sum(cols)], per_batch)? {
        return Ok(db.remove(0));
    }
    let db = out_f32(gpu, cols)?;
    if cols == 0 {
        return Ok(db);
    }
    let p = Params::new("bias_grad").u(rows).u(cols).u(0).u(0);
    let (entry, grid) = entry_and_grid(gpu, ["bias_grad", "bias_grad_cols"], rows, cols);
    let pipe = pipeline(gpu, "bias_grad.wgsl", SRC, entry, &[])?;
    gpu.dispatch(&pipe, p.bytes()?, &[g, &db], grid)?;
    Ok(db)
}

/// Records the fused gradient for an activation [`fused`] handles: returns (gz, db).
pub fn bias_act_grad(
    gpu: &Gpu,
    act: Activation,
    y: &GpuBuffer,
    g: &GpuBuffer,
    rows: usize,
    cols: usize,
) -> Result<(GpuBuffer, GpuBuffer)> {
    let op = op_code(act)
        .ok_or_else(|| crate::shape_err("bias_act_grad", "no fused kernel without an activation".to_string()))?;
    let n = checked_len("bias_act_grad", rows, cols)?;
    let per_batch = |rows: usize, b: &[&GpuBuffer]| {
        let (gz, db) = bias_act_grad(gpu, act, b[0], b[1], rows, cols)?;
        Ok(vec![gz, db])
    };
    let parts = [Part::Images(cols), Part::Sum(cols)];
    if let Some(mut o) = split_images(gpu, "bias_act_grad", rows, &[(y, cols), (g, cols)], &parts, per_batch)? {
        let db = o.pop().ok_or_else(|| crate::shape_err("bias_act_grad", "no bias gradient".to_string()))?;
        return Ok((o.remove(0), db));
    }
    let outs = (out_f32(gpu, n)?, out_f32(gpu, cols)?);
    if cols == 0 {
        return Ok(outs);
    }
    let p = Params::new("bias_act_grad").u(rows).u(cols).u(op).u(0);
    let (entry, grid) = entry_and_grid(gpu, ["bias_act_grad", "bias_act_grad_cols"], rows, cols);
    let pipe = pipeline(gpu, "bias_grad.wgsl", SRC, entry, &[("OP", op as f64)])?;
    gpu.dispatch(&pipe, p.bytes()?, &[g, &outs.1, y, &outs.0], grid)?;
    Ok(outs)
}
