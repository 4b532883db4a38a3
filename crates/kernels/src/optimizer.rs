//! Launcher for `shaders/optimizer.wgsl`: fused SGD-with-momentum and Adam updates.

use tessera_device::{Gpu, GpuBuffer};

use crate::launch::{check_u32, grid_1d, out_f32, pipeline, Params};
use crate::Result;

const SRC: &str = include_str!("../../../shaders/optimizer.wgsl");

/// One update rule with its hyper-parameters for this step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Update {
    /// Keras SGD: `v = momentum·v − lr·g; p += v` (or the Nesterov form).
    Sgd {
        /// Learning rate.
        lr: f32,
        /// Momentum (0 for plain SGD).
        momentum: f32,
        /// Nesterov momentum.
        nesterov: bool,
    },
    /// Keras Adam with the bias-corrected step size `lr_t` already computed.
    Adam {
        /// `lr · √(1−β2^t) / (1−β1^t)`.
        lr_t: f32,
        /// β1.
        beta1: f32,
        /// β2.
        beta2: f32,
        /// ε (added to √v).
        epsilon: f32,
    },
}

impl Update {
    /// Applies the rule to one element: returns (p', slot1', slot2').
    pub fn apply(&self, p: f32, g: f32, s1: f32, s2: f32) -> (f32, f32, f32) {
        match *self {
            Update::Sgd { lr, momentum, nesterov } => {
                let v = momentum * s1 - lr * g;
                let step = if nesterov { momentum * v - lr * g } else { v };
                (p + step, v, s2)
            }
            Update::Adam { lr_t, beta1, beta2, epsilon } => {
                let m = beta1 * s1 + (1.0 - beta1) * g;
                let v = beta2 * s2 + (1.0 - beta2) * g * g;
                (p - lr_t * m / (v.sqrt() + epsilon), m, v)
            }
        }
    }
}

/// Records one update of `n` elements; returns the new (param, slot1, slot2) buffers. SGD has
/// no second slot: pass `None` and get a 1-element placeholder back.
pub fn update(
    gpu: &Gpu,
    rule: &Update,
    [param, grad, s1]: [&GpuBuffer; 3],
    s2: Option<&GpuBuffer>,
    n: usize,
) -> Result<(GpuBuffer, GpuBuffer, GpuBuffer)> {
    check_u32("optimizer", &[n])?;
    let placeholder = out_f32(gpu, 1)?;
    let s2 = s2.unwrap_or(&placeholder);
    let n2 = if matches!(rule, Update::Sgd { .. }) { 1 } else { n };
    let outs = (out_f32(gpu, n)?, out_f32(gpu, n)?, out_f32(gpu, n2)?);
    if n == 0 {
        return Ok(outs);
    }
    let (entry, p) = match *rule {
        Update::Sgd { lr, momentum, nesterov } => {
            ("sgd", Params::new().u(n).u(nesterov as usize).u(0).u(0).f(lr).f(momentum).f(0.0).f(0.0).f(0.0).align4())
        }
        Update::Adam { lr_t, beta1, beta2, epsilon } => {
            ("adam", Params::new().u(n).u(0).u(0).u(0).f(lr_t).f(0.0).f(beta1).f(beta2).f(epsilon).align4())
        }
    };
    let pipe = pipeline(gpu, "optimizer.wgsl", SRC, entry, &[])?;
    gpu.dispatch(&pipe, p.bytes(), &[param, grad, s1, s2, &outs.0, &outs.1, &outs.2], grid_1d(gpu, n, 256))?;
    Ok(outs)
}
