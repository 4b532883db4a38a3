//! Launcher for `shaders/group_norm.wgsl`: group normalization of x viewed as
//! `[n, s, groups, cg]` (statistics per example and group; LayerNormalization is one group
//! over the trailing axes, InstanceNormalization one group per channel), and its fused
//! backward (dx, d gamma, d beta).

use tessera_device::{Gpu, GpuBuffer};

use crate::batch_norm::row_chunks;
use crate::launch::{check_u32, grid_1d, or_placeholder, out_f32, pipeline, Params};
use crate::Result;

const SRC: &str = include_str!("../../../shaders/group_norm.wgsl");
/// Invocations per workgroup of the per-group kernels.
const WG: u32 = 64;

/// The view of x a group normalization works on: `[n, s, groups, cg]`, row-major.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupNormDims {
    /// Examples (each normalized separately).
    pub n: usize,
    /// Rows per example (spatial positions; 1 for layer normalization).
    pub s: usize,
    /// Groups of channels per row.
    pub groups: usize,
    /// Channels per group.
    pub cg: usize,
}

impl GroupNormDims {
    /// Channels per row (`groups · cg`): the length of gamma and beta.
    pub fn channels(&self) -> usize {
        self.groups * self.cg
    }

    /// Elements of x.
    pub fn total(&self) -> usize {
        self.n * self.s * self.channels()
    }

    /// (example, group) pairs: the number of means and variances.
    pub fn stats(&self) -> usize {
        self.n * self.groups
    }

    /// The uniform block every entry point shares (the row chunking only matters to the
    /// parameter-gradient passes).
    fn params(&self, flags: usize, eps: f32, [chunk, nchunks]: [usize; 2]) -> Params {
        let p = Params::new().u(self.stats()).u(self.s).u(self.channels()).u(self.cg);
        let p = p.u(self.groups).u(flags).f(eps).f((self.s * self.cg) as f32);
        p.u(self.n * self.s).u(chunk).u(nchunks).u(0)
    }

    /// Errors unless every size fits the shaders' 32-bit indices.
    fn check(&self, op: &'static str) -> Result<()> {
        check_u32(op, &[self.total(), self.stats()])
    }
}

/// Forward results: y and the per-(example, group) statistics, each `n · groups` values.
pub struct GroupNormOut {
    /// The normalized output (same size as x).
    pub y: GpuBuffer,
    /// Mean per (example, group).
    pub mean: GpuBuffer,
    /// Biased variance per (example, group).
    pub var: GpuBuffer,
}

/// Records `y = (x − mean)/√(var + ε) · gamma + beta` with statistics per (example, group),
/// one workgroup per (example, group); `gamma` and `beta` (`channels` values) are optional.
pub fn group_norm(
    gpu: &Gpu,
    x: &GpuBuffer,
    dims: GroupNormDims,
    gamma: Option<&GpuBuffer>,
    beta: Option<&GpuBuffer>,
    epsilon: f32,
) -> Result<GroupNormOut> {
    dims.check("group_normalization")?;
    let (y, mean, var) = (out_f32(gpu, dims.total())?, out_f32(gpu, dims.stats())?, out_f32(gpu, dims.stats())?);
    if dims.total() == 0 {
        return Ok(GroupNormOut { y, mean, var });
    }
    let flags = beta.is_some() as usize | (gamma.is_some() as usize) << 1;
    let p = dims.params(flags, epsilon, [0, 0]);
    let (g, b) = (or_placeholder(gpu, gamma)?, or_placeholder(gpu, beta)?);
    let pipe = pipeline(gpu, "group_norm.wgsl", SRC, "group_norm", &[])?;
    gpu.dispatch(&pipe, p.bytes(), &[x, &g, &b, &y, &mean, &var], grid_1d(gpu, dims.stats(), 1))?;
    Ok(GroupNormOut { y, mean, var })
}

/// Gradients of [`group_norm`]: (dx, d gamma, d beta) buffers.
pub struct GroupNormGrads {
    /// Gradient of x (including the paths through the statistics).
    pub dx: GpuBuffer,
    /// Gradient of gamma (`channels` values): Σ dy · x̂ over examples and rows.
    pub dgamma: GpuBuffer,
    /// Gradient of beta (`channels` values): Σ dy over examples and rows.
    pub dbeta: GpuBuffer,
}

/// Records the backward of [`group_norm`] given x, the output gradient `dy` and the forward's
/// statistics: dx one workgroup per (example, group); d gamma and d beta as per-channel
/// partial sums over chunks of rows, then a per-channel finish.
#[allow(clippy::too_many_arguments)]
pub fn group_norm_grad(
    gpu: &Gpu,
    x: &GpuBuffer,
    dy: &GpuBuffer,
    mean: &GpuBuffer,
    var: &GpuBuffer,
    gamma: Option<&GpuBuffer>,
    dims: GroupNormDims,
    epsilon: f32,
) -> Result<GroupNormGrads> {
    dims.check("group_normalization_grad")?;
    let c = dims.channels();
    let (dx, dgamma, dbeta) = (out_f32(gpu, dims.total())?, out_f32(gpu, c)?, out_f32(gpu, c)?);
    if dims.total() == 0 {
        return Ok(GroupNormGrads { dx, dgamma, dbeta });
    }
    let rows = dims.n * dims.s;
    let (chunk, nchunks) = row_chunks(rows, c);
    check_u32("group_normalization_grad", &[2 * c * nchunks])?;
    let p = dims.params((gamma.is_some() as usize) << 1, epsilon, [chunk, nchunks]);
    let g = or_placeholder(gpu, gamma)?;
    let pipe = pipeline(gpu, "group_norm.wgsl", SRC, "gn_grad_dx", &[])?;
    gpu.dispatch(&pipe, p.bytes(), &[x, &g, dy, mean, var, &dx], grid_1d(gpu, dims.stats(), 1))?;
    let parts = out_f32(gpu, 2 * c * nchunks)?;
    let pass1 = pipeline(gpu, "group_norm.wgsl", SRC, "gn_grad_param_partial", &[])?;
    gpu.dispatch(&pass1, p.bytes(), &[x, dy, mean, var, &parts], grid_1d(gpu, c * nchunks, WG))?;
    let pass2 = pipeline(gpu, "group_norm.wgsl", SRC, "gn_grad_param_final", &[])?;
    gpu.dispatch(&pass2, p.bytes(), &[&parts, &dgamma, &dbeta], grid_1d(gpu, c, WG))?;
    Ok(GroupNormGrads { dx, dgamma, dbeta })
}
