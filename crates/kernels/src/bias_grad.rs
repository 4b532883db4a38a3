//! Launcher for `shaders/bias_grad.wgsl`: a layer's activation gradient and its bias gradient
//! in one dispatch. [`bias_act_grad_cpu`] is the CPU twin.

use tessera_device::{Gpu, GpuBuffer};

use crate::launch::{check_u32, grid_1d, out_f32, pipeline, Params};
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
/// gradient is a plain reduction).
pub fn fused(act: Activation) -> bool {
    op_code(act).is_some()
}

/// The activation's derivative times `up`, from the activation's output `y` (the same
/// formulas as the binary ops `ReluGrad`, `SigmoidGrad`, `TanhGrad`).
fn act_grad(act: Activation, y: f32, up: f32) -> f32 {
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
    let mut db = vec![0.0f32; cols];
    for row in gz.chunks_exact(cols.max(1)).take(rows) {
        for (d, v) in db.iter_mut().zip(row) {
            *d += v;
        }
    }
    (gz, db)
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
    let n = rows.checked_mul(cols).ok_or_else(|| crate::shape_err("bias_act_grad", "size overflows"))?;
    check_u32("bias_act_grad", &[n])?;
    let outs = (out_f32(gpu, n)?, out_f32(gpu, cols)?);
    if cols == 0 {
        return Ok(outs);
    }
    let p = Params::new("bias_act_grad").u(rows).u(cols).u(op).u(0);
    let pipe = pipeline(gpu, "bias_grad.wgsl", SRC, "bias_act_grad", &[])?;
    gpu.dispatch(&pipe, p.bytes()?, &[y, g, &outs.0, &outs.1], grid_1d(gpu, cols, 1))?;
    Ok(outs)
}
