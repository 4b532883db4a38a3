//! Launcher for `shaders/pool.wgsl`: `tf.nn.max_pool2d` / `avg_pool2d` on NHWC input (scalar
//! and vec4 variants) and their input gradients (gathers over the windows covering each input
//! cell), plus global average/max pooling through the reduction kernels of
//! `shaders/batch_norm.wgsl`. The window poolings can fuse an activation applied to the pooled
//! value (forward) and its gradient from the saved output (backward), one dispatch each way.

use tessera_device::{Gpu, GpuBuffer};

use crate::batch_norm::{reduce, ReduceOp, ReducePlan};
use crate::geometry::rank4;
pub use crate::launch::FusedGrad;
use crate::launch::{act_constant, check_u32, grid_1d, out_f32, pipeline, Params};
use crate::split;
use crate::{shape_err, Activation, Padding, Result, Window2d};

const SRC: &str = include_str!("../../../shaders/pool.wgsl");

/// Which pooling a window computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolMode {
    /// Maximum of the real cells (padding acts as −inf).
    Max,
    /// Mean of the real cells (padding is not counted).
    Avg,
}

impl PoolMode {
    /// The op name used in error messages.
    pub fn op(self) -> &'static str {
        match self {
            PoolMode::Max => "max_pool2d",
            PoolMode::Avg => "avg_pool2d",
        }
    }
}

/// Checks a pooling window on input `x` (dilation 1) like TensorFlow: positive sizes and
/// strides, a window that fits the padded input, and explicit padding smaller than the window.
pub fn pool_geometry(
    op: &'static str,
    x: &[usize],
    ksize: [usize; 2],
    strides: [usize; 2],
    padding: &Padding,
) -> Result<Window2d> {
    let win = Window2d::new(op, x, ksize, strides, [1, 1], padding)?;
    let pads = [win.pad_top, win.pad_bottom, win.pad_left, win.pad_right];
    let ks = [win.kh, win.kh, win.kw, win.kw];
    if pads.iter().zip(&ks).any(|(p, k)| p >= k) {
        return Err(shape_err(
            op,
            format!("padding {padding:?} must be smaller than the window {ksize:?} (input {x:?})"),
        ));
    }
    Ok(win)
}

/// Records max or average pooling followed by the fused activation `act`; returns the
/// `[n, oh, ow, c]` output buffer.
pub fn pool2d(gpu: &Gpu, x: &GpuBuffer, win: &Window2d, mode: PoolMode, act: Activation) -> Result<GpuBuffer> {
    let total = win.n * win.oh * win.ow * win.c;
    check_u32(mode.op(), &[win.n * win.h * win.w * win.c, total])?;
    let (x_per, y_per) = (win.h * win.w * win.c, win.oh * win.ow * win.c);
    let per_batch = |images: usize, b: &[&GpuBuffer]| pool2d(gpu, b[0], &win.with_batch(images), mode, act);
    if let Some(out) = split::per_image(gpu, mode.op(), win.n, &[(x, x_per)], y_per, per_batch)? {
        return Ok(out);
    }
    let out = out_f32(gpu, total)?;
    if total == 0 {
        return Ok(out);
    }
    let (entry, threads) = match channel_width(win.c, true) {
        4 => ("pool4", total / 4),
        2 => ("pool2", total / 2),
        _ => ("pool", total),
    };
    let p = pool_params(win, threads, act);
    let code = match mode {
        PoolMode::Max => 0.0,
        PoolMode::Avg => 1.0,
    };
    let pipe = pipeline(gpu, "pool.wgsl", SRC, entry, &[("MODE", code), act_constant(act), full_2x2(win)])?;
    gpu.dispatch(&pipe, p.bytes()?, &[x, &out], grid_1d(gpu, threads, 64))?;
    Ok(out)
}

/// The `FULL2` constant of pool.wgsl: [`every_window_full_2x2`], which runs the window loops
/// as straight-line code.
fn full_2x2(win: &Window2d) -> (&'static str, f64) {
    ("FULL2", every_window_full_2x2(win) as u8 as f64)
}

/// True when every window is a full 2x2 (no padding, the last window inside the input).
fn every_window_full_2x2(win: &Window2d) -> bool {
    let inside = |o: usize, s: usize, n: usize| o == 0 || (o - 1) * s + 2 <= n;
    win.kh == 2
        && win.kw == 2
        && win.pad_top == 0
        && win.pad_left == 0
        && inside(win.oh, win.sh, win.h)
        && inside(win.ow, win.sw, win.w)
}

/// The `TILE2` constant of pool.wgsl: true when every tile of the tiled max backward is its
/// full 2x2 window (strides 2, the input exactly 2 oh x 2 ow, no padding).
fn tile_2x2(win: &Window2d) -> (&'static str, f64) {
    let exact = every_window_full_2x2(win) && win.sh == 2 && win.sw == 2 && win.h == 2 * win.oh && win.w == 2 * win.ow;
    ("TILE2", exact as u8 as f64)
}

/// Channels per invocation of a pooling kernel for `c` channels: 4 (vec4 loads) where c % 4
/// == 0, else 2 where c is even and the kernel has a vec2 twin (`pair`: the forward and the
/// tiled max backward), else 1. CPU adapters pay per load, whatever its width.
fn channel_width(c: usize, pair: bool) -> usize {
    match c {
        c if c.is_multiple_of(4) => 4,
        c if c.is_multiple_of(2) && pair => 2,
        _ => 1,
    }
}

/// The uniform block shared by the forward and backward pooling kernels.
fn pool_params(win: &Window2d, threads: usize, act: Activation) -> Params {
    #[rustfmt::skip]
    let p = Params::new("pool2d")
        .u(win.n).u(win.h).u(win.w).u(win.c)
        .u(win.oh).u(win.ow).u(win.kh).u(win.kw)
        .u(win.sh).u(win.sw).u(win.pad_top).u(win.pad_left)
        .u(threads).u(act.code()).align4();
    p
}

/// Records the input gradient of pooling: `dy` is `[n, oh, ow, c]`, `x` the forward input
/// (read only by max pooling). Each invocation gathers over the output windows containing its
/// input cell; max pooling recomputes each window's first maximum (row-major, TensorFlow's tie
/// rule) instead of storing argmax indices, so the forward stays a single plain kernel.
/// Non-overlapping windows (strides ≥ window) instead run one invocation per window that
/// writes its whole input tile. With a fused activation `dy` is first masked by its gradient
/// from the saved output (`fused.y`), in the same dispatch. Returns the `[n, h, w, c]` gradient.
pub fn pool2d_grad(
    gpu: &Gpu,
    x: &GpuBuffer,
    dy: &GpuBuffer,
    win: &Window2d,
    mode: PoolMode,
    fused: FusedGrad,
) -> Result<GpuBuffer> {
    let total = win.n * win.h * win.w * win.c;
    let outs = win.n * win.oh * win.ow * win.c;
    check_u32(mode.op(), &[total, outs])?;
    let (x_per, y_per) = (win.h * win.w * win.c, win.oh * win.ow * win.c);
    // Average pooling does not read `x` (callers may pass a placeholder): shared, not split.
    let x_part = if mode == PoolMode::Max { x_per } else { 0 };
    let mut ops = vec![(x, x_part), (dy, y_per)];
    ops.extend(fused.y.map(|y| (y, y_per)));
    let per_batch = |images: usize, b: &[&GpuBuffer]| {
        let fused = FusedGrad { act: fused.act, y: b.get(2).copied() };
        pool2d_grad(gpu, b[0], b[1], &win.with_batch(images), mode, fused)
    };
    if let Some(out) = split::per_image(gpu, mode.op(), win.n, &ops, x_per, per_batch)? {
        return Ok(out);
    }
    let out = out_f32(gpu, total)?;
    if total == 0 {
        return Ok(out);
    }
    let tiled = win.sh >= win.kh && win.sw >= win.kw;
    let name = match mode {
        PoolMode::Max => "max_pool_grad",
        PoolMode::Avg => "avg_pool_grad",
    };
    let width = channel_width(win.c, tiled && mode == PoolMode::Max);
    let suffix = if width > 1 { width.to_string() } else { String::new() };
    let entry = format!("{name}{}{suffix}", if tiled { "_tiled" } else { "" });
    let threads = if tiled { outs } else { total } / width;
    let mut constants = vec![act_constant(fused.act), full_2x2(win)];
    // Only the tiled max kernels read TILE2.
    constants.extend((tiled && mode == PoolMode::Max).then(|| tile_2x2(win)));
    let pipe = pipeline(gpu, "pool.wgsl", SRC, &entry, &constants)?;
    let y = fused.operand(gpu, mode.op())?;
    let p = pool_params(win, threads, fused.act);
    let grid = grid_1d(gpu, threads, 64);
    match mode {
        PoolMode::Max => gpu.dispatch(&pipe, p.bytes()?, &[x, dy, &out, &y], grid)?,
        PoolMode::Avg => gpu.dispatch(&pipe, p.bytes()?, &[dy, &out, &y], grid)?,
    }
    Ok(out)
}

/// Checks a global pooling input `[n, h, w, c]` (rank 4, at least one cell per window).
pub fn global_pool_shape(op: &'static str, x: &[usize]) -> Result<[usize; 4]> {
    let s = rank4(op, "input", x)?;
    if s[1] * s[2] == 0 {
        return Err(shape_err(op, format!("input {x:?} has no spatial cells to pool")));
    }
    Ok(s)
}

/// Records global average or max pooling of `[n, h, w, c]`; returns the `[n, c]` buffer.
pub fn global_pool2d(gpu: &Gpu, x: &GpuBuffer, shape: &[usize], mode: PoolMode) -> Result<GpuBuffer> {
    let op = match mode {
        PoolMode::Max => "global_max_pool2d",
        PoolMode::Avg => "global_avg_pool2d",
    };
    let [n, h, w, c] = global_pool_shape(op, shape)?;
    let run = |images: usize, b: &[&GpuBuffer]| global_pool2d(gpu, b[0], &[images, h, w, c], mode);
    if let Some(out) = split::per_image(gpu, op, n, &[(x, h * w * c)], c, run)? {
        return Ok(out);
    }
    let plan = ReducePlan::new(op, shape, &[1, 2])?;
    let rop = match mode {
        PoolMode::Max => ReduceOp::Max,
        PoolMode::Avg => ReduceOp::Mean,
    };
    reduce(gpu, x, &plan, rop, None)
}
