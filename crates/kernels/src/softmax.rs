//! Launcher for `shaders/softmax.wgsl`: `tf.nn.softmax` and `tf.nn.log_softmax` over the last
//! axis (numerically stable). Many rows: one invocation per row; few long rows: one workgroup
//! per row with a tree reduction. `softmax_grad` is the fused backward with the same split.

use tessera_device::{Gpu, GpuBuffer};

use crate::launch::{check_u32, grid_1d, out_f32, pipeline, Params};
use crate::Result;

const SRC: &str = include_str!("../../../shaders/softmax.wgsl");

/// Which softmax kernel to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SoftmaxVariant {
    /// Pick by shape.
    Auto,
    /// One invocation per row.
    Rows,
    /// One 64-wide workgroup per row.
    Workgroup,
}

/// Records softmax (or log-softmax when `log`) of `rows` rows of `len` values each.
pub fn softmax(
    gpu: &Gpu,
    x: &GpuBuffer,
    rows: usize,
    len: usize,
    log: bool,
    variant: SoftmaxVariant,
) -> Result<GpuBuffer> {
    check_u32("softmax", &[rows * len])?;
    let out = out_f32(gpu, rows * len)?;
    if rows * len == 0 {
        return Ok(out);
    }
    let p = Params::new("softmax").u(rows).u(len).u(log as usize).u(0);
    let (entry, groups) = match use_workgroup(variant, rows, len) {
        true => ("softmax_wg", grid_1d(gpu, rows, 1)),
        false => ("softmax_rows", grid_1d(gpu, rows, 64)),
    };
    let pipe = pipeline(gpu, "softmax.wgsl", SRC, entry, &[])?;
    gpu.dispatch(&pipe, p.bytes()?, &[x, &out], groups)?;
    Ok(out)
}

/// Records the gradient of softmax (or log-softmax when `log`) from its output `y` and the
/// upstream gradient `g`, both `rows` × `len`.
pub fn softmax_grad(
    gpu: &Gpu,
    y: &GpuBuffer,
    g: &GpuBuffer,
    rows: usize,
    len: usize,
    log: bool,
    variant: SoftmaxVariant,
) -> Result<GpuBuffer> {
    check_u32("softmax_grad", &[rows * len])?;
    let out = out_f32(gpu, rows * len)?;
    if rows * len == 0 {
        return Ok(out);
    }
    let p = Params::new("softmax").u(rows).u(len).u(log as usize).u(0);
    let (entry, groups) = match use_workgroup(variant, rows, len) {
        true => ("softmax_grad_wg", grid_1d(gpu, rows, 1)),
        false => ("softmax_grad_rows", grid_1d(gpu, rows, 64)),
    };
    let pipe = pipeline(gpu, "softmax.wgsl", SRC, entry, &[])?;
    gpu.dispatch(&pipe, p.bytes()?, &[y, &out, g], groups)?;
    Ok(out)
}

/// True when `variant` (or the shape, for `Auto`) picks one workgroup per row.
fn use_workgroup(variant: SoftmaxVariant, rows: usize, len: usize) -> bool {
    match variant {
        SoftmaxVariant::Auto => rows < 1024 && len >= 512,
        v => v == SoftmaxVariant::Workgroup,
    }
}
