//! Launcher for `shaders/transpose.wgsl`: batched 2-D transpose (used to feed transposed
//! operands to the register-blocked matmul).

use tessera_device::{Gpu, GpuBuffer};

use crate::launch::{check_u32, grid_1d, out_f32, pipeline, Params};
use crate::Result;

const SRC: &str = include_str!("../../../shaders/transpose.wgsl");

/// Records `out[b] = x[b]ᵀ` for `x` of shape `[batch, rows, cols]`; returns `[batch, cols, rows]`.
pub fn transpose2d(gpu: &Gpu, x: &GpuBuffer, batch: usize, rows: usize, cols: usize) -> Result<GpuBuffer> {
    let n = batch * rows * cols;
    check_u32("transpose2d", &[n])?;
    let out = out_f32(gpu, n)?;
    if n == 0 {
        return Ok(out);
    }
    let pipe = pipeline(gpu, "transpose.wgsl", SRC, "transpose2d", &[])?;
    let p = Params::new("transpose").u(batch).u(rows).u(cols).u(0);
    gpu.dispatch(&pipe, p.bytes()?, &[x, &out], grid_1d(gpu, n, 64))?;
    Ok(out)
}
