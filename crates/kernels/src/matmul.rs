//! Launcher for `shaders/matmul.wgsl`: batched matrix multiply with fused bias and activation.

use tessera_device::{Gpu, GpuBuffer, View};

use crate::autotune;
use crate::launch::{
    act_constant, check_u32, grid_1d, or_placeholder, out_f32, pipeline, shuffle_width, texel_pipeline, Params,
};
use crate::split::window_align;
use crate::{Activation, Result};

/// The subgroup module: the family's shader with its subgroup entry point after it.
const SUBGROUP_SRC: &str =
    concat!(include_str!("../../../shaders/matmul.wgsl"), include_str!("../../../shaders/matmul_subgroup.wgsl"));
/// Fewest multiply-adds for which `Auto` times the variants: below it one launch costs more than
/// any variant saves, so tuning would only slow the first step (LeNet's products are under it).
const TUNE_MIN_MACS: u64 = 1 << 22;

const SRC: &str = include_str!("../../../shaders/matmul.wgsl");

/// Which matmul kernel to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatmulVariant {
    /// Pick per adapter and shape.
    Auto,
    /// One output per invocation; any layout.
    Naive,
    /// Register-blocked 8x16 per invocation, no shared memory; row-major or transposed
    /// operands, k and n % 4 == 0 (and m for a transposed A).
    Register,
    /// [`MatmulVariant::Register`] reading A and B from texel views (see
    /// `Conv2dVariant::DirectUnrolledTexels`; operands past the adapter's texture size are read
    /// from storage). `Auto` takes it untimed where [`crate::autotune::texels_pay`].
    RegisterTexels,
    /// 64x64 shared-memory tiles; any layout.
    Tiled,
    /// [`MatmulVariant::Register`] with each step's B block loaded once per subgroup and
    /// shared by `subgroupShuffle` (`matmul_reg_sg`, shaders/matmul_subgroup.wgsl): row-major
    /// operands on a device with one fixed subgroup size of 8 to 64; elsewhere `Register`.
    Subgroup,
    /// Any layout: one row per invocation x 16 columns, B's values loaded once per subgroup and
    /// broadcast (`matmul_bcast`, shaders/matmul_subgroup.wgsl); what `Auto` runs where the
    /// register kernels cannot and the device has one fixed subgroup size of 8 to 64;
    /// elsewhere `Naive`.
    Broadcast,
}

impl MatmulVariant {
    /// Every variant, `Auto` first (what the parity tests loop over).
    pub const ALL: [MatmulVariant; 7] = [
        MatmulVariant::Auto,
        MatmulVariant::Naive,
        MatmulVariant::Register,
        MatmulVariant::RegisterTexels,
        MatmulVariant::Tiled,
        MatmulVariant::Subgroup,
        MatmulVariant::Broadcast,
    ];
}

/// Layout of one operand: element strides for row, column and batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Stride between rows.
    pub row: usize,
    /// Stride between columns.
    pub col: usize,
    /// Stride between batch items (0 broadcasts one matrix over the batch).
    pub batch: usize,
}

impl Layout {
    /// Row-major `[rows, cols]` matrices packed one after another.
    pub fn row_major(rows: usize, cols: usize) -> Self {
        Self { row: cols, col: 1, batch: rows * cols }
    }

    /// The transpose of a row-major `[cols, rows]` matrix, read as `[rows, cols]`.
    pub fn transposed(rows: usize, cols: usize) -> Self {
        Self { row: 1, col: rows, batch: rows * cols }
    }
}

/// The problem: `out[batch, m, n] = act(alpha * A[batch, m, k] @ B[batch, k, n] + bias[n])`.
#[derive(Debug, Clone, Copy)]
pub struct Matmul {
    /// Batch count.
    pub batch: usize,
    /// Rows of A and of the output.
    pub m: usize,
    /// Shared dimension.
    pub k: usize,
    /// Columns of B and of the output.
    pub n: usize,
    /// Layout of A.
    pub a: Layout,
    /// Layout of B.
    pub b: Layout,
    /// Scale applied before the bias.
    pub alpha: f32,
    /// Fused activation.
    pub act: Activation,
}

impl Matmul {
    /// Plain row-major `[m, k] @ [k, n]`.
    pub fn new(m: usize, k: usize, n: usize) -> Self {
        Self {
            batch: 1,
            m,
            k,
            n,
            a: Layout::row_major(m, k),
            b: Layout::row_major(k, n),
            alpha: 1.0,
            act: Activation::None,
        }
    }

    /// The variant `v` resolves to for this problem when nothing is timed: `Auto` is the
    /// register-blocked kernel where the layouts allow it, else the naive one. Measured on
    /// lavapipe and on an NVIDIA H200 (Vulkan), where 1024³ took 0.30 ms register-blocked,
    /// 0.93 ms naive and 6.4 ms tiled. `Subgroup` stays where the layouts allow it (the
    /// launcher also needs the device to run it, see `launch::shuffle_width`).
    pub fn pick(&self, v: MatmulVariant) -> MatmulVariant {
        let reg_ok = self.reg_entry(self.n).is_some();
        match v {
            MatmulVariant::Subgroup if !self.shares_b() => self.pick(MatmulVariant::Register),
            MatmulVariant::Register | MatmulVariant::RegisterTexels if !reg_ok => MatmulVariant::Naive,
            MatmulVariant::Auto if reg_ok => MatmulVariant::Register,
            MatmulVariant::Auto => MatmulVariant::Naive,
            v => v,
        }
    }

    /// The autotune key: the sizes and every stride (they decide which variants apply).
    fn shape_class(&self) -> String {
        let (a, b) = (self.a, self.b);
        let dims = [self.batch, self.m, self.k, self.n, a.row, a.col, a.batch, b.row, b.col, b.batch];
        format!("matmul {dims:?}")
    }

    /// The variants valid for this problem on `gpu`, each resolving to itself, most promising
    /// first (the tuner stops starting candidates when its budget is spent).
    fn candidates(&self, gpu: &Gpu) -> Vec<(&'static str, MatmulVariant)> {
        let all = [
            ("register", MatmulVariant::Register),
            ("register texels", MatmulVariant::RegisterTexels),
            ("subgroup", MatmulVariant::Subgroup),
            ("tiled", MatmulVariant::Tiled),
            ("broadcast", MatmulVariant::Broadcast),
            ("naive", MatmulVariant::Naive),
        ];
        let valid = all.into_iter().filter(|&(_, v)| self.resolve(gpu, v) == v).collect();
        autotune::with_texel_twins(gpu, valid, |v| v == MatmulVariant::RegisterTexels)
    }

    /// `pick`, with the subgroup kernels only where `gpu` runs them; there `Auto`'s naive
    /// fallback is `Broadcast` (on lavapipe LeNet-5's 10-class layer ran ~10x faster in it).
    fn resolve(&self, gpu: &Gpu, v: MatmulVariant) -> MatmulVariant {
        let shuffles = shuffle_width(gpu).is_some();
        match self.pick(v) {
            MatmulVariant::Subgroup if !self.subgroup_ok(gpu) => self.pick(MatmulVariant::Register),
            MatmulVariant::Broadcast if !shuffles => MatmulVariant::Naive,
            MatmulVariant::Naive if v == MatmulVariant::Auto && shuffles => MatmulVariant::Broadcast,
            v => v,
        }
    }

    /// True when the subgroup kernel runs this problem on `gpu`.
    fn subgroup_ok(&self, gpu: &Gpu) -> bool {
        self.shares_b() && shuffle_width(gpu).is_some()
    }

    /// True when the layouts are those of the subgroup kernel (`matmul_reg`'s: row-major).
    fn shares_b(&self) -> bool {
        self.reg_entry(self.n) == Some("matmul_reg")
    }

    /// The register-blocked entry point for these layouts (`matmul_reg`, `_tn`, `_nt`, `_tt`:
    /// A and/or B transposed, read directly), or `None` when the layouts or sizes do not fit
    /// its vec4 loads (k, n, every outer stride and every batch stride % 4 == 0; m % 4 == 0 too
    /// for a transposed A). `o_rs` is the output's row stride.
    fn reg_entry(&self, o_rs: usize) -> Option<&'static str> {
        let (a, b) = (self.a, self.b);
        // A layout that is both (a single row or column) is read as row-major.
        let a_rm = a.col == 1 && a.row >= self.k && (a.row.is_multiple_of(4) || self.m == 1);
        let ta = !a_rm && a.row == 1 && a.col >= self.m && a.col.is_multiple_of(4) && self.m.is_multiple_of(4);
        let b_rm = b.col == 1 && b.row >= self.n && (b.row.is_multiple_of(4) || self.k == 1);
        let tb = !b_rm && b.row == 1 && b.col >= self.k && b.col.is_multiple_of(4);
        let aligned = [self.k, self.n, a.batch, b.batch, o_rs].iter().all(|v| v.is_multiple_of(4));
        ((a_rm || ta) && (b_rm || tb) && aligned).then_some(match (ta, tb) {
            (false, false) => "matmul_reg",
            (true, false) => "matmul_reg_tn",
            (false, true) => "matmul_reg_nt",
            (true, true) => "matmul_reg_tt",
        })
    }
}

/// One launch's part of a matmul: rows, columns and shared-dimension range, in elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Block {
    rows: (usize, usize),
    cols: (usize, usize),
    shared: (usize, usize),
}

/// Elements a window of `rows` x `cols` with strides `rs`, `cs` covers.
fn span(rows: usize, cols: usize, rs: usize, cs: usize) -> usize {
    match rows * cols {
        0 => 0,
        _ => (rows - 1) * rs + (cols - 1) * cs + 1,
    }
}

/// Block sizes (rows, columns, shared) such that every operand's window of a block fits
/// `limit` elements: a dimension of the largest operand over the limit is halved (its outer
/// one while that is over `align` elements, else its inner one; to a multiple of `align`, so
/// windows start aligned) until all fit. `None` when neither can shrink further (an operand of
/// at most `align` rows longer than `limit / align`: no realistic layer at real limits).
fn block_sizes(mm: &Matmul, limit: usize, align: usize) -> Option<(usize, usize, usize)> {
    let mut dims = [mm.m, mm.n, mm.k];
    const M: usize = 0;
    const N: usize = 1;
    const K: usize = 2;
    loop {
        let [bm, bn, bk] = dims;
        // (elements, outer dimension, inner dimension) of each operand's window.
        let outer_inner =
            |rs: usize, cs: usize, rows: usize, cols: usize| if rs >= cs { (rows, cols) } else { (cols, rows) };
        let windows = [
            (span(bm, bk, mm.a.row, mm.a.col), outer_inner(mm.a.row, mm.a.col, M, K)),
            (span(bk, bn, mm.b.row, mm.b.col), outer_inner(mm.b.row, mm.b.col, K, N)),
            (span(bm, bn, mm.n, 1), (M, N)),
        ];
        let Some(&(_, (outer, inner))) = windows.iter().filter(|w| w.0 > limit).max_by_key(|w| w.0) else {
            return Some((bm, bn, bk));
        };
        let d = [outer, inner].into_iter().find(|&d| dims[d] > align)?;
        dims[d] = dims[d].div_ceil(2).div_ceil(align) * align;
    }
}

/// The blocks covering the problem, shared-dimension blocks innermost (in launch order, so
/// each adds to the one before it).
fn blocks(mm: &Matmul, (bm, bn, bk): (usize, usize, usize)) -> Vec<Block> {
    let ranges = |n: usize, b: usize| (0..n.div_ceil(b).max(1)).map(move |i| (i * b, ((i + 1) * b).min(n)));
    let mut out = Vec::new();
    for rows in ranges(mm.m, bm) {
        for cols in ranges(mm.n, bn) {
            out.extend(ranges(mm.k, bk).map(|shared| Block { rows, cols, shared }));
        }
    }
    out
}

/// Records the matmul and returns the `[batch, m, n]` output buffer.
pub fn matmul(
    gpu: &Gpu,
    a: &GpuBuffer,
    b: &GpuBuffer,
    bias: Option<&GpuBuffer>,
    mm: &Matmul,
    variant: MatmulVariant,
) -> Result<GpuBuffer> {
    // Checked: on 32-bit targets (wasm32) these products can pass usize before check_u32.
    let size = |a: usize, b: usize| mm.batch.checked_mul(a).and_then(|v| v.checked_mul(b)).unwrap_or(usize::MAX);
    check_u32("matmul", &[size(mm.m, mm.k), size(mm.k, mm.n), size(mm.m, mm.n)])?;
    let limit = gpu.limits().max_compute_workgroups_per_dimension as usize;
    if mm.batch > limit && size(mm.m, mm.n) > 0 {
        let msg = format!(
            "batch {} of [{}, {}] @ [{}, {}] passes this adapter's {limit} workgroups per dimension",
            mm.batch, mm.m, mm.k, mm.k, mm.n
        );
        return Err(crate::shape_err("matmul", msg));
    }
    if mm.m * mm.n * mm.batch == 0 {
        return out_f32(gpu, 0);
    }
    let out_bytes = (mm.batch * mm.m * mm.n) as u64 * 4;
    let fits = [a.len(), b.len(), out_bytes].iter().all(|&n| n <= gpu.max_binding_bytes());
    // A split problem keeps the heuristic: its blocks are not the shape that would be timed.
    // In u64: on wasm32 the product of four u32-checked sizes passes usize.
    let macs = [mm.batch, mm.m, mm.n, mm.k].iter().fold(1u64, |p, &d| p.saturating_mul(d as u64));
    let v = match variant {
        MatmulVariant::Auto if fits && macs >= TUNE_MIN_MACS => {
            let run = |v| matmul(gpu, a, b, bias, mm, v);
            autotune::choose(gpu, &mm.shape_class(), &mm.candidates(gpu), mm.resolve(gpu, variant), run)?
        }
        MatmulVariant::Auto if mm.resolve(gpu, variant) == MatmulVariant::Register && autotune::texels_pay(gpu) => {
            MatmulVariant::RegisterTexels
        }
        v => mm.resolve(gpu, v),
    };
    let out = out_f32(gpu, mm.batch * mm.m * mm.n)?;
    let whole = Block { rows: (0, mm.m), cols: (0, mm.n), shared: (0, mm.k) };
    let bytes = |elems: usize| elems as u64 * 4;
    if fits || mm.batch > 1 {
        launch(gpu, [a, b, &out], bias, mm, v, whole)?;
        return Ok(out);
    }
    let align = window_align(gpu);
    let limit = (gpu.max_binding_bytes() / 4) as usize;
    let sizes = block_sizes(mm, limit, align).ok_or_else(|| {
        let msg = format!(
            "[{}, {}] @ [{}, {}] cannot be split into aligned blocks of at most {} bytes per operand",
            mm.m,
            mm.k,
            mm.k,
            mm.n,
            bytes(limit)
        );
        crate::shape_err("matmul", msg)
    })?;
    for blk in blocks(mm, sizes) {
        launch(gpu, [a, b, &out], bias, mm, v, blk)?;
    }
    Ok(out)
}

/// Records the launch computing `blk` of the problem: windows of the operands, the block's
/// sizes with the whole problem's strides; a block after the first of the shared dimension
/// adds to the output, and only the last applies the bias and the activation.
fn launch(
    gpu: &Gpu,
    [a, b, out]: [&GpuBuffer; 3],
    bias: Option<&GpuBuffer>,
    mm: &Matmul,
    v: MatmulVariant,
    blk: Block,
) -> Result<()> {
    let (m, n, k) = (blk.rows.1 - blk.rows.0, blk.cols.1 - blk.cols.0, blk.shared.1 - blk.shared.0);
    let last = blk.shared.1 == mm.k;
    let part = Matmul { m, n, k, act: if last { mm.act } else { Activation::None }, ..*mm };
    let has_bias = bias.is_some() && last;
    let adds = blk.shared.0 > 0;
    let params = Params::new("matmul")
        .u(m)
        .u(n)
        .u(k)
        .u(mm.batch)
        .u(mm.a.row)
        .u(mm.a.col)
        .u(mm.a.batch)
        .u(has_bias as usize)
        .u(mm.b.row)
        .u(mm.b.col)
        .u(mm.b.batch)
        .u(part.act.code())
        .f(mm.alpha)
        .u(mm.n)
        .u(adds as usize)
        .align4();
    // A block of a split problem (its rows strided by the whole output's) may not fit it.
    let shared = part.reg_entry(mm.n) == Some("matmul_reg") && shuffle_width(gpu).is_some();
    let v = if v == MatmulVariant::Subgroup && !shared { MatmulVariant::Register } else { v };
    let mut wg = 64;
    let (entry, groups) = match v {
        MatmulVariant::Register | MatmulVariant::RegisterTexels => match part.reg_entry(mm.n) {
            Some(entry) => {
                let blocks = m.div_ceil(8) * n.div_ceil(16);
                wg = reg_workgroup(blocks);
                let mut g = grid_1d(gpu, blocks, wg);
                g[2] = mm.batch as u32;
                (entry, g)
            }
            None => naive_grid(gpu, m, n, mm.batch),
        },
        MatmulVariant::Tiled => ("matmul_tiled", [n.div_ceil(64) as u32, m.div_ceil(64) as u32, mm.batch as u32]),
        MatmulVariant::Subgroup => {
            let size = shuffle_width(gpu).unwrap_or(64);
            let mut g = grid_1d(gpu, n.div_ceil(16) * m.div_ceil(8).div_ceil(size), (64 / size) as u32);
            g[2] = mm.batch as u32;
            ("matmul_reg_sg", g)
        }
        MatmulVariant::Broadcast => {
            let size = shuffle_width(gpu).unwrap_or(64);
            let mut g = grid_1d(gpu, n.div_ceil(16) * m.div_ceil(size), (64 / size) as u32);
            g[2] = mm.batch as u32;
            ("matmul_bcast", g)
        }
        _ => naive_grid(gpu, m, n, mm.batch),
    };
    // The epilogue's constants, then the register-blocked entry points' workgroup size.
    let constants = [
        act_constant(part.act),
        ("ADD_BIAS", has_bias as u8 as f64),
        ("ADD_OUT", adds as u8 as f64),
        ("WG", wg as f64),
    ];
    let (epilogue, with_wg) = (&constants[..3], &constants[..]);
    let bias = or_placeholder(gpu, bias)?;
    let whole = blk.rows == (0, mm.m) && blk.cols == (0, mm.n) && blk.shared == (0, mm.k);
    let (sa, sb) = (mm.a, mm.b);
    let mut views = match whole {
        true => [a.whole(), b.whole(), bias.whole(), out.whole()],
        false => [
            window(a, blk.rows.0 * sa.row + blk.shared.0 * sa.col, span(m, k, sa.row, sa.col)),
            window(b, blk.shared.0 * sb.row + blk.cols.0 * sb.col, span(k, n, sb.row, sb.col)),
            window(&bias, if has_bias { blk.cols.0 } else { 0 }, n),
            window(out, blk.rows.0 * mm.n + blk.cols.0, span(m, n, mm.n, 1)),
        ],
    };
    let texels = v == MatmulVariant::RegisterTexels
        && entry.starts_with("matmul_reg")
        && views[..2].iter().all(|w| w.bytes() <= gpu.max_texel_bytes());
    let pipe = match entry {
        "matmul_reg_sg" | "matmul_bcast" => pipeline(gpu, "matmul_subgroup.wgsl", SUBGROUP_SRC, entry, epilogue)?,
        e if texels => texel_pipeline(gpu, ("matmul.wgsl", SRC), &[1, 2], e, with_wg)?,
        e if e.starts_with("matmul_reg") => pipeline(gpu, "matmul.wgsl", SRC, entry, with_wg)?,
        _ => pipeline(gpu, "matmul.wgsl", SRC, entry, epilogue)?,
    };
    if texels {
        views[0] = views[0].texels();
        views[1] = views[1].texels();
    }
    Ok(gpu.dispatch_views(&pipe, params.bytes()?, &views, groups)?)
}

/// The window of `elems` f32s of `buf` from element `start`.
fn window(buf: &GpuBuffer, start: usize, elems: usize) -> View<'_> {
    buf.window(start as u64 * 4, elems as u64 * 4)
}

/// Invocations per workgroup of the register-blocked kernel for `blocks` 8x16 output blocks
/// (its `WG` constant): 64, halved down to 8 while that leaves fewer than 8 workgroups, so a
/// small product (LeNet's dense layers: 32 to 400 blocks) spreads over a CPU adapter's threads,
/// which run one workgroup each, instead of filling one workgroup.
pub(crate) fn reg_workgroup(blocks: usize) -> u32 {
    let mut wg = 64;
    while wg > 8 && blocks < 8 * wg {
        wg /= 2;
    }
    wg as u32
}

/// The naive kernel's grid: one invocation per output.
fn naive_grid(gpu: &Gpu, m: usize, n: usize, batch: usize) -> (&'static str, [u32; 3]) {
    let mut g = grid_1d(gpu, m * n, 64);
    g[2] = batch as u32;
    ("matmul_naive", g)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: usize = 128 << 18; // 128 MiB of f32s

    fn dense(m: usize, k: usize, n: usize, ta: bool, tb: bool) -> Matmul {
        let a = if ta { Layout::transposed(m, k) } else { Layout::row_major(m, k) };
        let b = if tb { Layout::transposed(k, n) } else { Layout::row_major(k, n) };
        Matmul { a, b, ..Matmul::new(m, k, n) }
    }

    #[test]
    fn vgg_first_dense_layer_splits_along_its_kernel_rows() {
        // forward [32, 25088] @ [25088, 4096]: the kernel (392 MiB) in row blocks.
        assert_eq!(block_sizes(&dense(32, 25088, 4096, false, false), LIMIT, 64), Some((32, 4096, 6272)));
        // input gradient [32, 4096] @ kernel^T: blocks of the output's columns.
        assert_eq!(block_sizes(&dense(32, 4096, 25088, false, true), LIMIT, 64), Some((32, 6272, 4096)));
        // kernel gradient x^T [25088, 32] @ [32, 4096]: blocks of the output's rows.
        assert_eq!(block_sizes(&dense(25088, 32, 4096, true, false), LIMIT, 64), Some((6272, 4096, 32)));
    }

    #[test]
    fn blocks_cover_every_output_and_shared_index_once_in_order() {
        let mm = dense(130, 189, 151, false, false);
        let bl = blocks(&mm, (64, 64, 64));
        assert_eq!(bl.len(), 3 * 3 * 3);
        for r in 0..mm.m {
            for c in 0..mm.n {
                let mut shared: Vec<(usize, usize)> = bl
                    .iter()
                    .filter(|b| (b.rows.0..b.rows.1).contains(&r) && (b.cols.0..b.cols.1).contains(&c))
                    .map(|b| b.shared)
                    .collect();
                let sorted = {
                    let mut s = shared.clone();
                    s.sort();
                    s
                };
                assert_eq!(shared, sorted, "shared blocks of ({r}, {c}) run in order");
                shared.dedup();
                assert_eq!(shared, vec![(0, 64), (64, 128), (128, 189)]);
            }
        }
    }

    #[test]
    fn small_products_spread_over_at_least_eight_workgroups_of_eight_or_more() {
        // LeNet's dense products have 32 to 400 blocks of 8x16; large ones keep 64 invocations.
        for (blocks, wg) in [(1, 8), (32, 8), (100, 8), (128, 16), (400, 32), (511, 32), (512, 64), (1 << 20, 64)] {
            assert_eq!(reg_workgroup(blocks), wg, "{blocks} blocks");
        }
    }

    #[test]
    fn a_few_very_long_rows_cannot_be_split() {
        assert_eq!(block_sizes(&dense(3, 9001, 5, false, false), 16384, 64), None);
    }
}
