//! Launcher for `shaders/softmax.wgsl` (and, on adapters with subgroup operations,
//! `shaders/softmax_subgroup.wgsl`): `tf.nn.softmax` and `tf.nn.log_softmax` over the last axis
//! (numerically stable), and `softmax_grad`, the fused backward. Three kernels: one invocation
//! per row (many rows), one 64-wide workgroup per row with a tree reduction (few long rows), and
//! one subgroup per row reducing in registers. Problems of [`TUNE_MIN_ELEMS`] or more are
//! autotuned among those the device runs; smaller ones, the browser and `TESSERA_AUTOTUNE=off`
//! take [`SoftmaxVariant::pick`]'s choice.

use tessera_device::{Gpu, GpuBuffer};

use crate::autotune;
use crate::launch::{check_u32, grid_1d, out_f32, pipeline, Params};
use crate::Result;

const SRC: &str = include_str!("../../../shaders/softmax.wgsl");
/// The subgroup module: the family's shader with its subgroup entry points after it.
const SUBGROUP_SRC: &str =
    concat!(include_str!("../../../shaders/softmax.wgsl"), include_str!("../../../shaders/softmax_subgroup.wgsl"));

/// Rows × length from which a softmax (or its gradient) is autotuned; below, a launch costs
/// more than any variant's difference.
const TUNE_MIN_ELEMS: usize = 1 << 18;

/// Which softmax kernel to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SoftmaxVariant {
    /// Autotuned for large problems, else [`SoftmaxVariant::pick`]'s choice by shape.
    Auto,
    /// One invocation per row.
    Rows,
    /// One 64-wide workgroup per row.
    Workgroup,
    /// One subgroup per row (`subgroupMax`, `subgroupAdd`); where the device has no subgroup
    /// operations it runs as [`SoftmaxVariant::Workgroup`].
    Subgroup,
}

impl SoftmaxVariant {
    /// The kernel this variant runs on `gpu` for `rows` rows of `len` when nothing is timed:
    /// `Auto` is one workgroup per row for fewer than 1024 rows of at least 512, else one
    /// invocation per row; `Subgroup` without subgroup operations is `Workgroup`.
    pub fn pick(self, gpu: &Gpu, rows: usize, len: usize) -> SoftmaxVariant {
        match self {
            SoftmaxVariant::Auto if rows < 1024 && len >= 512 => SoftmaxVariant::Workgroup,
            SoftmaxVariant::Auto => SoftmaxVariant::Rows,
            SoftmaxVariant::Subgroup if gpu.subgroup_sizes().is_none() => SoftmaxVariant::Workgroup,
            v => v,
        }
    }
}

/// The kernels of one direction (forward or gradient) by variant, and its autotune name.
struct Family {
    name: &'static str,
    rows: &'static str,
    workgroup: &'static str,
    subgroup: &'static str,
}

const FORWARD: Family =
    Family { name: "softmax", rows: "softmax_rows", workgroup: "softmax_wg", subgroup: "softmax_sg" };
const GRADIENT: Family = Family {
    name: "softmax_grad",
    rows: "softmax_grad_rows",
    workgroup: "softmax_grad_wg",
    subgroup: "softmax_grad_sg",
};

/// Records softmax (or log-softmax when `log`) of `rows` rows of `len` values each.
pub fn softmax(
    gpu: &Gpu,
    x: &GpuBuffer,
    rows: usize,
    len: usize,
    log: bool,
    variant: SoftmaxVariant,
) -> Result<GpuBuffer> {
    run(gpu, &FORWARD, &[x], rows, len, log, variant)
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
    run(gpu, &GRADIENT, &[y, g], rows, len, log, variant)
}

/// Records `fam`'s kernel over `inputs` (x, or y and g) into a new buffer: the variant
/// resolved (tuned for a large `Auto`), then one dispatch.
fn run(
    gpu: &Gpu,
    fam: &Family,
    inputs: &[&GpuBuffer],
    rows: usize,
    len: usize,
    log: bool,
    variant: SoftmaxVariant,
) -> Result<GpuBuffer> {
    check_u32(fam.name, &[rows * len])?;
    if rows * len == 0 {
        return out_f32(gpu, 0);
    }
    let v = match variant {
        SoftmaxVariant::Auto if rows * len >= TUNE_MIN_ELEMS => {
            let key = format!("{} [{rows}, {len}]", fam.name);
            let heuristic = variant.pick(gpu, rows, len);
            let timed = |v| run(gpu, fam, inputs, rows, len, log, v);
            autotune::choose(gpu, &key, &candidates(gpu, rows, len), heuristic, timed)?
        }
        v => v.pick(gpu, rows, len),
    };
    let out = out_f32(gpu, rows * len)?;
    let p = Params::new("softmax").u(rows).u(len).u(log as usize).u(0);
    let (pipe, groups) = match v {
        SoftmaxVariant::Workgroup => (pipeline(gpu, "softmax.wgsl", SRC, fam.workgroup, &[])?, grid_1d(gpu, rows, 1)),
        SoftmaxVariant::Subgroup => {
            let per_group = rows_per_workgroup(gpu);
            (pipeline(gpu, "softmax_subgroup.wgsl", SUBGROUP_SRC, fam.subgroup, &[])?, grid_1d(gpu, rows, per_group))
        }
        _ => (pipeline(gpu, "softmax.wgsl", SRC, fam.rows, &[])?, grid_1d(gpu, rows, 64)),
    };
    // Binding order of the shader: x (or y), out, g.
    let buffers: Vec<&GpuBuffer> = match inputs {
        [y, g] => vec![y, &out, g],
        _ => vec![inputs[0], &out],
    };
    gpu.dispatch(&pipe, p.bytes()?, &buffers, groups)?;
    Ok(out)
}

/// The variants `gpu` runs for this shape, each resolving to itself (subgroup ones only on a
/// device with subgroup operations), the heuristic's choice among them.
fn candidates(gpu: &Gpu, rows: usize, len: usize) -> Vec<(&'static str, SoftmaxVariant)> {
    let all = [
        ("rows", SoftmaxVariant::Rows),
        ("workgroup", SoftmaxVariant::Workgroup),
        ("subgroup", SoftmaxVariant::Subgroup),
    ];
    all.into_iter().filter(|&(_, v)| v.pick(gpu, rows, len) == v).collect()
}

/// Rows one 64-wide workgroup of the subgroup kernel covers at least: one per subgroup of the
/// adapter's largest size (a device with smaller subgroups leaves the surplus idle).
fn rows_per_workgroup(gpu: &Gpu) -> u32 {
    let largest = gpu.subgroup_sizes().map_or(64, |(_, hi)| hi.max(1));
    (64 / largest).max(1)
}
