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
    /// Register-blocked 8x16 per invocation (CPU adapters); row-major or transposed operands,
    /// k and n % 4 == 0 (and m for a transposed A).
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
        let reg_ok = self.reg_entry().is_some();
        match v {
            MatmulVariant::Register if !reg_ok => MatmulVariant::Naive,
            MatmulVariant::Auto if gpu.is_software() && reg_ok => MatmulVariant::Register,
            MatmulVariant::Auto if gpu.is_software() => MatmulVariant::Naive,
            MatmulVariant::Auto => MatmulVariant::Tiled,
            v => v,
        }
    }

    /// The register-blocked entry point for these layouts (`matmul_reg`, `_tn`, `_nt`, `_tt`:
    /// A and/or B transposed, read directly), or `None` when the layouts or sizes do not fit
    /// its vec4 loads (k, n and every batch stride % 4 == 0; m % 4 == 0 too for a transposed A).
    fn reg_entry(&self) -> Option<&'static str> {
        // A layout that is both (a single row or column) is read as row-major.
        let ta = !self.a.is_row_major(self.k) && self.a.is_transposed(self.m);
        let tb = !self.b.is_row_major(self.n) && self.b.is_transposed(self.k);
        let layouts = (ta || self.a.is_row_major(self.k)) && (tb || self.b.is_row_major(self.n));
        let aligned = [self.k, self.n, self.a.batch, self.b.batch].iter().all(|v| v.is_multiple_of(4))
            && (!ta || self.m.is_multiple_of(4));
        (layouts && aligned).then_some(match (ta, tb) {
            (false, false) => "matmul_reg",
            (true, false) => "matmul_reg_tn",
            (false, true) => "matmul_reg_nt",
            (true, true) => "matmul_reg_tt",
        })
    }
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
            (mm.reg_entry().unwrap_or("matmul_reg"), g)
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
