//! Launcher for `shaders/dense_grad.wgsl`: a Dense layer's whole backward (its activation's
//! gradient, dx, dw and db) in one dispatch, for layers small enough that the three dispatches
//! of the general path (`bias_grad` and two matmuls) cost more in launches than in work.
//! [`dense_grad_cpu`] is the CPU twin; [`heuristic`] is the choice the autotuner falls back
//! on.

use tessera_device::{Gpu, GpuBuffer};

use crate::bias_grad::act_grad;
use crate::launch::{act_constant, check_u32, grid_1d, out_f32, pipeline_and_views, FastReads, Params};
use crate::matmul::{matmul, reg_workgroup, Layout, Matmul, MatmulVariant};
use crate::{Activation, Result};

const SRC: &str = include_str!("../../../shaders/dense_grad.wgsl");

/// Invocations per workgroup (lanes along the layer's inputs; the shader's `WG`).
const WG: usize = 64;
/// Rows of gz a workgroup shares (the shader's block of 16).
const RB: usize = 16;

/// Kernels of at most this many elements take a fused kernel when no measurement decides
/// (tuning off, the browser), so a layer takes one path at every batch size. LeNet's 84 x 10
/// layer (840) does; the next, 120 x 84 (10 Ki), fused was no faster on SwiftShader (which
/// the browser runs) at batch 32. A batch that makes the products pass [`FUSED_MAX_MACS`]
/// takes the general path.
pub const FUSED_MAX_WEIGHTS: usize = 4096;

/// The largest product (`batch · inputs · units`) the heuristic sends to the fused kernel.
pub const FUSED_MAX_MACS: usize = 1 << 20;

/// The sizes of a Dense layer's backward: input `[batch, inputs]`, kernel `[inputs, units]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DenseDims {
    /// Rows of the input and output.
    pub batch: usize,
    /// Input features (kernel rows).
    pub inputs: usize,
    /// Output features (kernel columns).
    pub units: usize,
}

impl DenseDims {
    /// Multiply-adds of one of the two products (`batch · inputs · units`).
    pub fn macs(&self) -> usize {
        self.batch.saturating_mul(self.inputs).saturating_mul(self.units)
    }
}

/// The kernel without a measurement: a fused one for kernels of at most
/// [`FUSED_MAX_WEIGHTS`] elements and products of at most [`FUSED_MAX_MACS`] (the register
/// tiles where they fit), else the general path.
pub fn heuristic(d: DenseDims) -> DenseGradKernel {
    let small = d.inputs.saturating_mul(d.units) <= FUSED_MAX_WEIGHTS && d.macs() <= FUSED_MAX_MACS;
    match (small, DenseGradKernel::Register.fits(d)) {
        (false, _) => DenseGradKernel::Split,
        (true, true) => DenseGradKernel::Register,
        (true, false) => DenseGradKernel::Lanes,
    }
}

/// CPU twin: `(dx, dw, db)` of `y = act(x·w + bias)` for the upstream gradient `g`, with
/// `gz = act'(y)·g` (`y` unused without an activation).
pub fn dense_grad_cpu(act: Activation, [x, w, y, g]: [&[f32]; 4], d: DenseDims) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let DenseDims { batch, inputs, units } = d;
    let gz: Vec<f32> = (0..batch * units).map(|e| act_grad(act, y[e], g[e])).collect();
    let mut dx = vec![0.0f32; batch * inputs];
    let mut dw = vec![0.0f32; inputs * units];
    let mut db = vec![0.0f32; units];
    for b in 0..batch {
        for i in 0..inputs {
            for u in 0..units {
                dx[b * inputs + i] += gz[b * units + u] * w[i * units + u];
                dw[i * units + u] += x[b * inputs + i] * gz[b * units + u];
            }
        }
        for u in 0..units {
            db[u] += gz[b * units + u];
        }
    }
    (dx, dw, db)
}

/// How a Dense layer's backward runs (the candidates [`dense_backward`] times).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenseGradKernel {
    /// `dense_grad_reg`, one dispatch: register-blocked tiles (inputs and units multiples of 4).
    Register,
    /// `Register` reading x, w, y and the upstream gradient from texel views (see
    /// `Conv2dVariant::DirectUnrolledTexels`); operands past the adapter's texture size are
    /// read from storage.
    RegisterTexels,
    /// `dense_grad`, one dispatch: lanes along the inputs, any sizes.
    Lanes,
    /// Three dispatches: the activation's and bias's gradient, then dx and dw as matmuls.
    Split,
}

impl DenseGradKernel {
    /// The kernels that can run `d`, most promising first.
    pub fn candidates(d: DenseDims) -> Vec<(&'static str, DenseGradKernel)> {
        let mut c = Vec::new();
        if Self::Register.fits(d) {
            c.extend([("register", Self::Register), ("register texels", Self::RegisterTexels)]);
        }
        c.extend([("lanes", Self::Lanes), ("split", Self::Split)]);
        c
    }

    /// True when this kernel can run `d` (the register tiles load vec4s along both axes).
    pub fn fits(self, d: DenseDims) -> bool {
        !matches!(self, Self::Register | Self::RegisterTexels)
            || (d.inputs.is_multiple_of(4) && d.units.is_multiple_of(4))
    }
}

/// Records a Dense layer's backward with `kernel`: returns `(dx, dw, db)` for input `x`,
/// kernel `w`, the layer's output `y` (read only with an activation; `None` without one) and
/// upstream gradient `g`.
pub fn dense_grad(
    gpu: &Gpu,
    kernel: DenseGradKernel,
    act: Activation,
    [x, w, g]: [&GpuBuffer; 3],
    y: Option<&GpuBuffer>,
    d: DenseDims,
) -> Result<(GpuBuffer, GpuBuffer, GpuBuffer)> {
    let DenseDims { batch, inputs, units } = d;
    // Saturating: on 32-bit targets (wasm32) these products can pass usize before the check.
    let len = |a: usize, b: usize| a.saturating_mul(b);
    check_u32("dense_grad", &[d.macs(), len(batch, inputs), len(inputs, units), len(batch, units)])?;
    if !kernel.fits(d) {
        return Err(crate::shape_err(
            "dense_grad",
            format!("{kernel:?} needs inputs and units that are multiples of 4, got {d:?}"),
        ));
    }
    let y = match (act, y) {
        (Activation::None, _) => g,
        (_, Some(y)) => y,
        (_, None) => return Err(crate::shape_err("dense_grad", format!("activation {act:?} needs the output y"))),
    };
    if kernel == DenseGradKernel::Split {
        return split(gpu, act, [x, w, g], y, d);
    }
    let outs = (out_f32(gpu, batch * inputs)?, out_f32(gpu, inputs * units)?, out_f32(gpu, units)?);
    if batch == 0 || inputs == 0 || units == 0 {
        return Ok(outs);
    }
    let register = matches!(kernel, DenseGradKernel::Register | DenseGradKernel::RegisterTexels);
    let (entry, grid, words, wg) = if register {
        let (nib, nub) = (inputs.div_ceil(16), units.div_ceil(8));
        let kinds = [nib * nub, nub, batch.div_ceil(8) * nib]; // dw, db and dx tiles
        let wg = reg_workgroup(kinds.iter().sum());
        // Each kind fills whole workgroups (the shader interleaves them).
        let groups: usize = kinds.iter().map(|t| t.div_ceil(wg as usize)).sum();
        ("dense_grad_reg", grid_1d(gpu, groups * wg as usize, wg), [0, 0, kinds[0], kinds[1]], wg)
    } else {
        let lane_blocks = (inputs + 1).div_ceil(WG);
        let dw_groups = lane_blocks * units.div_ceil(RB);
        let groups = dw_groups + lane_blocks * batch.div_ceil(RB);
        ("dense_grad", grid_1d(gpu, groups, 1), [lane_blocks, dw_groups, 0, 0], 64)
    };
    let p = words.iter().fold(Params::new("dense_grad").u(batch).u(inputs).u(units).u(act.code()), |p, &v| p.u(v));
    let constants = [act_constant(act), ("WG_REG", wg as f64)];
    let constants = if register { &constants[..] } else { &constants[..1] };
    let fit = [x, w, y, g].iter().all(|b| b.len() <= gpu.max_texel_bytes());
    let texels = (kernel == DenseGradKernel::RegisterTexels && fit).then_some(FastReads::texels(&[1, 2, 3, 4]));
    let buffers = [x, w, y, g, &outs.0, &outs.1, &outs.2];
    let (pipe, views) = pipeline_and_views(gpu, ("dense_grad.wgsl", SRC), (entry, constants), &buffers, texels)?;
    gpu.dispatch_views(&pipe, p.bytes()?, &views, grid)?;
    Ok(outs)
}

/// Products past this size are never offered the fused kernels (their tiles are sized for
/// launch-bound layers; a large layer's matmuls are register-blocked and tuned).
const FUSED_CANDIDATE_MAX_MACS: usize = 1 << 26;

/// A Dense layer's backward, `(dx, dw, db)`: the fused kernels or the general path, whichever
/// the autotuner measures fastest for these sizes ([`heuristic`] when it does not time).
pub fn dense_backward(
    gpu: &Gpu,
    act: Activation,
    [x, w, g]: [&GpuBuffer; 3],
    y: Option<&GpuBuffer>,
    d: DenseDims,
) -> Result<(GpuBuffer, GpuBuffer, GpuBuffer)> {
    let fits = [x.len(), w.len(), g.len()].iter().all(|&n| n <= gpu.max_binding_bytes());
    let kernel = if fits && d.macs() <= FUSED_CANDIDATE_MAX_MACS {
        let key = format!("dense_grad act{} {}x{}x{}", act.code(), d.batch, d.inputs, d.units);
        let run = |k| Ok(dense_grad(gpu, k, act, [x, w, g], y, d)?.0);
        let candidates = crate::autotune::with_texel_twins(gpu, DenseGradKernel::candidates(d), |k| {
            k == DenseGradKernel::RegisterTexels
        });
        crate::autotune::choose(gpu, &key, &candidates, heuristic(d), run)?
    } else {
        DenseGradKernel::Split
    };
    dense_grad(gpu, kernel, act, [x, w, g], y, d)
}

/// The general path: the activation's and bias's gradient in one dispatch (only the bias's
/// without an activation, gz being g), then dx = gz·wᵀ and dw = xᵀ·gz as matmuls.
fn split(
    gpu: &Gpu,
    act: Activation,
    [x, w, g]: [&GpuBuffer; 3],
    y: &GpuBuffer,
    d: DenseDims,
) -> Result<(GpuBuffer, GpuBuffer, GpuBuffer)> {
    let DenseDims { batch, inputs, units } = d;
    let (gz, db) = if crate::bias_grad::fused(act) {
        let (gz, db) = crate::bias_grad::bias_act_grad(gpu, act, y, g, batch, units)?;
        (Some(gz), db)
    } else {
        (None, crate::bias_grad::bias_grad(gpu, g, batch, units)?)
    };
    let gz = gz.as_ref().unwrap_or(g);
    let mut nt = Matmul::new(batch, units, inputs);
    nt.b = Layout::transposed(units, inputs);
    let mut tn = Matmul::new(inputs, batch, units);
    tn.a = Layout::transposed(inputs, batch);
    let dx = matmul(gpu, gz, w, None, &nt, MatmulVariant::Auto)?;
    let dw = matmul(gpu, x, gz, None, &tn, MatmulVariant::Auto)?;
    Ok((dx, dw, db))
}
