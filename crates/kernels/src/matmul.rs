//! Launcher for `shaders/matmul.wgsl`: batched matrix multiply with fused bias and activation.

use tessera_device::{Gpu, GpuBuffer};

use crate::launch::{check_u32, grid_1d, or_placeholder, out_f32, pipeline, Params};
use crate::{Activation, Result};

const SRC: &str = include_str!("../../../shaders/matmul.wgsl");

/// Which matmul kernel to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatmulVariant {
    /// Pick per adapter and shape.
    Auto,
    /// One output per invocation; any layout.
    Naive,
    /// Register-blocked 8x16 per invocation (CPU adapters); needs row-major, k and n % 4 == 0.
    Register,
    /// 64x64 shared-memory tiles (discrete and integrated GPUs).
    Tiled,
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

    fn is_row_major(&self, cols: usize) -> bool {
        self.col == 1 && self.row == cols
    }

    fn is_transposed(&self, rows: usize) -> bool {
        self.row == 1 && self.col == rows
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

    /// The variant `Auto` resolves to on this adapter.
    pub fn pick(&self, gpu: &Gpu, v: MatmulVariant) -> MatmulVariant {
        let reg_ok = self.a.is_row_major(self.k)
            && self.b.is_row_major(self.n)
            && self.k.is_multiple_of(4)
            && self.n.is_multiple_of(4);
        match v {
            MatmulVariant::Register if !reg_ok => MatmulVariant::Naive,
            MatmulVariant::Auto if gpu.is_software() && reg_ok => MatmulVariant::Register,
            MatmulVariant::Auto if gpu.is_software() => MatmulVariant::Naive,
            MatmulVariant::Auto => MatmulVariant::Tiled,
            v => v,
        }
    }
}

impl Matmul {
    /// The same problem with both operands row-major, when transposing the transposed ones
    /// would let the register-blocked kernel run (k, n % 4 == 0, no broadcast batch).
    fn row_major_plan(&self) -> Option<Matmul> {
        let ra = self.a.is_row_major(self.k);
        let rb = self.b.is_row_major(self.n);
        let ok_a = ra || self.a.is_transposed(self.m);
        let ok_b = rb || self.b.is_transposed(self.k);
        let aligned = self.k.is_multiple_of(4) && self.n.is_multiple_of(4);
        let dense_batch = self.a.batch == self.m * self.k && self.b.batch == self.k * self.n;
        (aligned && ok_a && ok_b && !(ra && rb) && dense_batch).then(|| Matmul {
            a: Layout::row_major(self.m, self.k),
            b: Layout::row_major(self.k, self.n),
            ..*self
        })
    }
}

/// Up to this many multiply-adds a transposed operand is read with strides by the naive kernel
/// on CPU adapters, rather than transposed by an extra dispatch for the register-blocked one
/// (a small dense layer's backward: launch-bound, not compute-bound).
pub const SMALL_STRIDED_MACS: usize = 1 << 19;

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
    let macs = mm.batch.saturating_mul(mm.m).saturating_mul(mm.n).saturating_mul(mm.k);
    if variant == MatmulVariant::Auto && gpu.is_software() && macs > SMALL_STRIDED_MACS {
        if let Some(plan) = mm.row_major_plan() {
            // CPU adapters: a transpose pass is far cheaper than the strided naive kernel
            // (except for small problems, where the extra launch costs more than the strides).
            let t = crate::transpose::transpose2d;
            let ta = (!mm.a.is_row_major(mm.k)).then(|| t(gpu, a, mm.batch, mm.k, mm.m)).transpose()?;
            let tb = (!mm.b.is_row_major(mm.n)).then(|| t(gpu, b, mm.batch, mm.n, mm.k)).transpose()?;
            return matmul(
                gpu,
                ta.as_ref().unwrap_or(a),
                tb.as_ref().unwrap_or(b),
                bias,
                &plan,
                MatmulVariant::Register,
            );
        }
    }
    let out = out_f32(gpu, mm.batch * mm.m * mm.n)?;
    if mm.m * mm.n * mm.batch == 0 {
        return Ok(out);
    }
    let v = mm.pick(gpu, variant);
    let params = Params::new("matmul")
        .u(mm.m)
        .u(mm.n)
        .u(mm.k)
        .u(mm.batch)
        .u(mm.a.row)
        .u(mm.a.col)
        .u(mm.a.batch)
        .u(bias.is_some() as usize)
        .u(mm.b.row)
        .u(mm.b.col)
        .u(mm.b.batch)
        .u(mm.act.code())
        .f(mm.alpha)
        .align4();
    let (entry, groups) = match v {
        MatmulVariant::Register => {
            let blocks = mm.m.div_ceil(8) * mm.n.div_ceil(16);
            let mut g = grid_1d(gpu, blocks, 64);
            g[2] = mm.batch as u32;
            ("matmul_reg", g)
        }
        MatmulVariant::Tiled => ("matmul_tiled", [mm.n.div_ceil(64) as u32, mm.m.div_ceil(64) as u32, mm.batch as u32]),
        _ => {
            let mut g = grid_1d(gpu, mm.m * mm.n, 64);
            g[2] = mm.batch as u32;
            ("matmul_naive", g)
        }
    };
    let pipe = pipeline(gpu, "matmul.wgsl", SRC, entry, &[])?;
    let bias = or_placeholder(gpu, bias)?;
    gpu.dispatch(&pipe, params.bytes()?, &[a, b, &bias, &out], groups)?;
    Ok(out)
}
