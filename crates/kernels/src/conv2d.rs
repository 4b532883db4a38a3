//! Launcher for `shaders/conv2d.wgsl`: `tf.nn.conv2d` with fused bias and activation, in
//! three variants (direct, register-blocked implicit GEMM, im2col + tiled matmul; the first two
//! also with subgroup operations, `shaders/conv2d_subgroup.wgsl`), a conv with the 2x2 max
//! pooling after it from one dispatch (`conv2d_max_pool2x2`), and for
//! `shaders/conv2d_grouped.wgsl`: grouped convolution (groups > 1) and its gradients.

use tessera_device::{Gpu, GpuBuffer};

use crate::autotune;
use crate::depthwise_conv2d::{self as dw, DepthwiseVariant};
use crate::launch::{
    act_constant, check_u32, grid_1d, or_placeholder, out_f32, pipeline, pipeline_and_views, shuffle_width,
    window_params, FastReads, Params,
};
use crate::matmul::{self, Matmul, MatmulVariant};
use crate::split::{self, Part};
use crate::{Activation, Conv2dGeometry, DepthwiseGeometry, Padding, Result};

const SUBGROUP_SRC: &str =
    concat!(include_str!("../../../shaders/conv2d.wgsl"), include_str!("../../../shaders/conv2d_subgroup.wgsl"));
const SRC: &str = include_str!("../../../shaders/conv2d.wgsl");
const GROUPED_SRC: &str = include_str!("../../../shaders/conv2d_grouped.wgsl");

/// Which conv2d kernel to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conv2dVariant {
    /// Pick per adapter and shape.
    Auto,
    /// 4 pixels of an output row x 8 channels per invocation; any sizes.
    Direct,
    /// `Direct` with each filter value loaded once per subgroup and broadcast
    /// (`conv2d_direct_sg`); where the device has no fixed subgroup size of 8 to 64
    /// (`launch::shuffle_width`) it runs as `Direct`.
    DirectSubgroup,
    /// `DirectSubgroup` with its loops over taps and input channels unrolled
    /// (`conv2d_direct_sg_k`, `conv2d_direct4_sg_k` for cin % 4 == 0; the geometry's kh, kw
    /// and cin as pipeline constants): for kernels
    /// of at most 3 x 3 taps and 16 input channels, stride and dilation 1 along the width;
    /// elsewhere it runs as `DirectSubgroup`.
    DirectUnrolled,
    /// `DirectUnrolled` reading its input from a texel view (an rgba32float texture,
    /// `launch::texel_pipeline`): on lavapipe a texel fetch costs the same with AVX2 and
    /// AVX-512 code, a storage load 3-5 times more with AVX2 (`tessera bench loads`). Where
    /// the input passes the adapter's texture size it runs as `DirectUnrolled`.
    DirectUnrolledTexels,
    /// Register-blocked implicit GEMM; needs cin and cout % 4 == 0.
    Register,
    /// Patch matrix + shared-memory tiled matmul.
    Im2col,
}

use Conv2dVariant::{Auto, Direct, DirectSubgroup, DirectUnrolled, DirectUnrolledTexels, Im2col, Register};

impl Conv2dVariant {
    /// Every variant, `Auto` first (what the parity tests loop over).
    pub const ALL: [Conv2dVariant; 7] =
        [Auto, Direct, DirectSubgroup, DirectUnrolled, DirectUnrolledTexels, Register, Im2col];

    /// The variant `self` resolves to for this adapter and geometry when nothing is timed:
    /// `Auto` is register-blocked where the channels allow it, else direct — the fastest on
    /// lavapipe and on an NVIDIA H200 (Vulkan), where [32,32,32,64] 3x3 64->64 took 0.22 ms
    /// register-blocked, 1.1 ms direct and 7.2 ms through im2col.
    pub fn pick(self, gpu: &Gpu, g: &Conv2dGeometry) -> Conv2dVariant {
        let aligned = g.win.c.is_multiple_of(4) && g.cout.is_multiple_of(4);
        let patch_bytes = (g.win.n * g.win.oh * g.win.ow * g.win.kh * g.win.kw * g.win.c * 4) as u64;
        let im2col_fits = patch_bytes <= gpu.max_binding_bytes();
        let operand_bytes =
            (g.win.n * g.win.h * g.win.w * g.win.c * 4).max(g.win.kh * g.win.kw * g.win.c * g.cout * 4) as u64;
        match self {
            DirectSubgroup | DirectUnrolled | DirectUnrolledTexels if shuffle_width(gpu).is_none() => Direct,
            DirectUnrolled | DirectUnrolledTexels if !unrollable(g) => DirectSubgroup,
            DirectUnrolledTexels if operand_bytes > gpu.max_texel_bytes() => DirectUnrolled,
            Conv2dVariant::Register if !aligned => Conv2dVariant::Direct,
            Conv2dVariant::Im2col if !im2col_fits => Conv2dVariant::Direct,
            Conv2dVariant::Auto if aligned => Conv2dVariant::Register,
            Conv2dVariant::Auto => Conv2dVariant::Direct,
            v => v,
        }
    }
}

/// The widest window row whose taps `conv2d_direct` unrolls (its `KX`): SwiftShader pays for
/// every loop iteration, and unrolling more (all nine 3x3 taps) made its shader compiler take
/// over 100 s and 16 GiB.
const MAX_UNROLLED_KX: usize = 3;

/// The largest kernel side and input-channel count `conv2d_direct_sg_k` unrolls (UK_TAPS and
/// UK_CIN of tools/gen_subgroup_reg.py).
const UNROLL_TAPS: usize = 3;
const UNROLL_CIN: usize = 16;

/// Whether `conv2d_direct_sg_k` covers the geometry (the window slides along output rows).
fn unrollable(g: &Conv2dGeometry) -> bool {
    let w = &g.win;
    w.kh <= UNROLL_TAPS && w.kw <= UNROLL_TAPS && w.c <= UNROLL_CIN && w.sw == 1 && w.dw == 1
}

/// The autotune key of a conv2d geometry: `family [n, h, w, cin, kh, kw, strides, dilations,
/// top/left padding, oh, ow, cout]`.
fn shape_class(family: &str, g: &Conv2dGeometry) -> String {
    let w = &g.win;
    let dims = [w.n, w.h, w.w, w.c, w.kh, w.kw, w.sh, w.sw, w.dh, w.dw, w.pad_top, w.pad_left, w.oh, w.ow, g.cout];
    format!("{family} {dims:?}")
}

/// The forward variants valid for this geometry (each resolves to itself under `pick`).
fn forward_candidates(gpu: &Gpu, g: &Conv2dGeometry) -> Vec<(&'static str, Conv2dVariant)> {
    let candidates = [
        ("direct", Direct),
        ("direct subgroup", DirectSubgroup),
        ("direct unrolled", DirectUnrolled),
        ("direct unrolled texels", DirectUnrolledTexels),
        ("register", Register),
        ("im2col", Im2col),
    ]
    .into_iter()
    .filter(|&(_, v)| v.pick(gpu, g) == v)
    .collect();
    autotune::with_texel_twins(gpu, candidates, |v| v == DirectUnrolledTexels)
}

fn params(g: &Conv2dGeometry, has_bias: bool, act: Activation) -> Params {
    params_ext(g, has_bias, act, [0, 0, 0])
}

/// The uniform block with the three spare words set (chunking of the filter gradient).
fn params_ext(g: &Conv2dGeometry, has_bias: bool, act: Activation, spare: [usize; 3]) -> Params {
    let w = &g.win;
    let p = window_params("conv2d", w, [w.h, w.w, w.c], [w.oh, w.ow, g.cout], has_bias, act);
    p.u(spare[0]).u(spare[1]).u(spare[2])
}

/// A grouped conv with one input channel per group (groups = cin) is a depthwise conv with
/// multiplier cout / cin: same filter memory, same output channel order. Its geometry then.
fn as_depthwise(g: &Conv2dGeometry) -> Option<DepthwiseGeometry> {
    (g.groups > 1 && g.groups == g.win.c).then_some(DepthwiseGeometry { win: g.win, multiplier: g.cout / g.groups })
}

/// The uniform block of `conv2d_grouped.wgsl`: the window words, groups and rows per chunk.
fn grouped_params(g: &Conv2dGeometry, has_bias: bool, act: Activation, chunk_rows: usize) -> Params {
    let w = &g.win;
    window_params("conv2d", w, [w.h, w.w, w.c], [w.oh, w.ow, g.cout], has_bias, act).u(g.groups).u(chunk_rows).u(0)
}

/// Records `act(conv2d(x, filter) + bias)`; returns the `[n, oh, ow, cout]` output buffer.
/// Grouped geometries (groups > 1) run the grouped kernel (or, with one channel per group,
/// the depthwise kernels) whatever the `variant`.
pub fn conv2d(
    gpu: &Gpu,
    x: &GpuBuffer,
    filter: &GpuBuffer,
    bias: Option<&GpuBuffer>,
    g: &Conv2dGeometry,
    act: Activation,
    variant: Conv2dVariant,
) -> Result<GpuBuffer> {
    if let Some(out) = prologue(gpu, [x, filter], bias, g, (act, variant), conv2d)? {
        return Ok(out);
    }
    let rows = g.win.n * g.win.oh * g.win.ow;
    if let Some(d) = as_depthwise(g) {
        return dw::depthwise_conv2d(gpu, x, filter, bias, &d, act, DepthwiseVariant::Auto);
    }
    if g.groups > 1 {
        let out = out_f32(gpu, rows * g.cout)?;
        let bias_buf = or_placeholder(gpu, bias)?;
        let pipe = pipeline(gpu, "conv2d_grouped.wgsl", GROUPED_SRC, "grouped_conv2d", &[])?;
        let p = grouped_params(g, bias.is_some(), act, 0);
        let threads = rows.div_ceil(4) * (g.cout / g.groups).div_ceil(8) * g.groups;
        gpu.dispatch(&pipe, p.bytes()?, &[x, filter, &bias_buf, &out], grid_1d(gpu, threads, 64))?;
        return Ok(out);
    }
    let variant = match variant {
        Conv2dVariant::Auto => {
            let run = |v| conv2d(gpu, x, filter, bias, g, act, v);
            let key = shape_class("conv2d", g);
            autotune::choose(gpu, &key, &forward_candidates(gpu, g), Auto.pick(gpu, g), run)?
        }
        v => v,
    };
    match variant.pick(gpu, g) {
        Conv2dVariant::Im2col => im2col_matmul(gpu, x, filter, bias, g, act),
        Conv2dVariant::Register => {
            let run = |b| conv2d_reg(gpu, x, filter, bias, g, act, b);
            let key = shape_class("conv2d_reg_block", g);
            let block = autotune::choose(gpu, &key, &RegBlock::candidates(gpu), RegBlock::DEFAULT, run)?;
            conv2d_reg(gpu, x, filter, bias, g, act, block)
        }
        v => direct(gpu, x, filter, bias, g, act, (false, v)),
    }
}

/// A forward launcher: [`conv2d`] or [`conv2d_flipped`].
type Forward = fn(
    &Gpu,
    &GpuBuffer,
    &GpuBuffer,
    Option<&GpuBuffer>,
    &Conv2dGeometry,
    Activation,
    Conv2dVariant,
) -> Result<GpuBuffer>;

/// What both forward launchers do first: check the sizes, return an empty output, and run
/// `entry` on batches of images when the input or the output passes one storage binding
/// (see [`split::per_image`]). `None`: the caller launches the whole batch.
fn prologue(
    gpu: &Gpu,
    [x, filter]: [&GpuBuffer; 2],
    bias: Option<&GpuBuffer>,
    g: &Conv2dGeometry,
    (act, variant): (Activation, Conv2dVariant),
    entry: Forward,
) -> Result<Option<GpuBuffer>> {
    let w = &g.win;
    let rows = w.n * w.oh * w.ow;
    check_u32("conv2d", &[w.n * w.h * w.w * w.c, rows * g.cout, rows * w.kh * w.kw * w.c])?;
    if rows * g.cout == 0 {
        return out_f32(gpu, 0).map(Some);
    }
    let mut ops = vec![(x, w.h * w.w * w.c), (filter, 0)];
    ops.extend(bias.map(|b| (b, 0)));
    split::per_image(gpu, "conv2d", w.n, &ops, w.oh * w.ow * g.cout, |images, b| {
        entry(gpu, b[0], b[1], b.get(2).copied(), &g.with_batch(images), act, variant)
    })
}

/// The unrolled direct kernels' texel twins' fast reads: the input through a texel view, the
/// filter (which every lane reads once a tap and shares by shuffles) through a uniform view
/// where it fits and those pay (on lavapipe with AVX2 code, LeNet-5's convolutions 8-15%
/// faster than from texels; the storage kernels with AVX-512 code were not measurably faster
/// with it, so they read storage).
const FILTER_UNIFORM: FastReads<'static> = FastReads { texels: &[1], small: &[2] };

/// The unrolled direct kernel for `kind` and its constants: `conv2d_direct{kind}_sg_k`, with
/// `kind` "4" where cin % 4 == 0 (4 channels a step); "1" for a one-channel input read from
/// a texel view, whose window rows it reads as vec4s (a texel fetch costs as much as one
/// value's; a storage binding's vec4 view would miss a tail of 1-3 values), with
/// `ROW_ALIGNED` where every 4-pixel block starts a vec4; "" otherwise.
fn unrolled(w: &crate::Window2d, texels: bool, pool: bool) -> (&'static str, Vec<(&'static str, f64)>) {
    const ENTRIES: [[&str; 2]; 3] = [
        ["conv2d_direct_sg_k", "conv2d_direct_sg_k_pool"],
        ["conv2d_direct4_sg_k", "conv2d_direct4_sg_k_pool"],
        ["conv2d_direct1_sg_k", "conv2d_direct1_sg_k_pool"],
    ];
    let mut constants = vec![("UK_KH", w.kh as f64), ("UK_KW", w.kw as f64), ("UK_CIN", w.c as f64)];
    let kind = if w.c.is_multiple_of(4) {
        1
    } else if w.c == 1 && texels {
        let aligned = w.w.is_multiple_of(4) && w.pad_left.is_multiple_of(4);
        constants.push(("ROW_ALIGNED", aligned as u8 as f64));
        2
    } else {
        0
    };
    (ENTRIES[kind][pool as usize], constants)
}

/// The direct kernel (`conv2d_direct`); with `flipped` it reads `filter` as a transposed
/// conv's `[kh, kw, cout, cin]` filter, flipped and transposed in place (see
/// [`conv2d_flipped`]); `variant` (one `pick` resolved) is `Direct`, `DirectSubgroup` (the
/// filter shared by subgroup broadcasts, `conv2d_direct_sg`) or `DirectUnrolled`.
fn direct(
    gpu: &Gpu,
    x: &GpuBuffer,
    filter: &GpuBuffer,
    bias: Option<&GpuBuffer>,
    g: &Conv2dGeometry,
    act: Activation,
    (flipped, variant): (bool, Conv2dVariant),
) -> Result<GpuBuffer> {
    let rows = g.win.n * g.win.oh * g.win.ow;
    let out = out_f32(gpu, rows * g.cout)?;
    // 4-pixel blocks along output rows (conv2d_direct's), times 8-channel blocks.
    let blocks = g.win.n * g.win.oh * g.win.ow.div_ceil(4);
    let bias_buf = or_placeholder(gpu, bias)?;
    let w = &g.win;
    let nco = ("NCO", g.cout.min(8) as f64);
    let mut constants = vec![act_constant(act), ("FLIP", flipped as u8 as f64), nco];
    let slide = ("SLIDE", (w.sw == 1 && w.dw == 1) as u8 as f64);
    let unrolled_kx = ("KX", if w.kw <= MAX_UNROLLED_KX { w.kw as f64 } else { 0.0 });
    let (file, entry, groups) = match shuffle_width(gpu).filter(|_| variant != Direct) {
        Some(size) => {
            let tiles = g.cout.div_ceil(8) * blocks.div_ceil(size);
            // 4 input channels a step where the window slides along rows and cin % 4 == 0.
            let by4 = w.c.is_multiple_of(4) && w.sw == 1 && w.dw == 1;
            let entry = match variant {
                DirectUnrolled | DirectUnrolledTexels => {
                    let (entry, unrolled) = unrolled(w, variant == DirectUnrolledTexels, false);
                    constants.extend(unrolled);
                    entry
                }
                _ if by4 => "conv2d_direct4_sg",
                _ => {
                    constants.push(slide);
                    "conv2d_direct_sg"
                }
            };
            (("conv2d_subgroup.wgsl", SUBGROUP_SRC), entry, grid_1d(gpu, tiles, (64 / size) as u32))
        }
        None => {
            constants.extend([slide, unrolled_kx, ("CIN1", (w.c == 1) as u8 as f64)]);
            (("conv2d.wgsl", SRC), "conv2d_direct", grid_1d(gpu, blocks * g.cout.div_ceil(8), 64))
        }
    };
    let texels = (variant == DirectUnrolledTexels && entry.ends_with("_k")).then_some(FILTER_UNIFORM);
    let (pipe, views) = pipeline_and_views(gpu, file, (entry, &constants), &[x, filter, &bias_buf, &out], texels)?;
    let p = params_ext(g, bias.is_some(), act, [0, flipped as usize, 0]);
    gpu.dispatch_views(&pipe, p.bytes()?, &views, groups)?;
    Ok(out)
}

/// Records `z = conv_act(conv2d(x, filter) + bias)` and `pool_act(max_pool2d(z))` over 2x2
/// windows with strides 2 (VALID, `tf.nn.max_pool2d`): returns (`z`, `[n, oh, ow, cout]`, and
/// the pooled `[n, oh / 2, ow / 2, cout]` output). Where the unrolled direct kernel covers
/// the geometry (subgroups, at most 3x3 taps and 16 input channels, stride and dilation 1
/// along rows, groups 1, one binding each) its `_pool` twin writes both from one dispatch;
/// `Auto` times it against the two launches ([`conv2d`] `Auto`, then the pooling) per shape
/// class (`fusion`: [`PoolFusion`]). Same values either way (the pooled max is pool.wgsl's).
pub fn conv2d_max_pool2x2(
    gpu: &Gpu,
    [x, filter]: [&GpuBuffer; 2],
    bias: Option<&GpuBuffer>,
    g: &Conv2dGeometry,
    [conv_act, pool_act]: [Activation; 2],
    fusion: PoolFusion,
) -> Result<(GpuBuffer, GpuBuffer)> {
    let w = &g.win;
    let pool = crate::pool::pool_geometry("max_pool2d", &[w.n, w.oh, w.ow, g.cout], [2, 2], [2, 2], &Padding::Valid)?;
    let acts = [conv_act, pool_act];
    let separate = || -> Result<(GpuBuffer, GpuBuffer)> {
        let z = conv2d(gpu, x, filter, bias, g, conv_act, Auto)?;
        let y = crate::pool::pool2d(gpu, &z, &pool, crate::pool::PoolMode::Max, pool_act)?;
        Ok((z, y))
    };
    if fusion == PoolFusion::Separate || !pool_fusable(gpu, g) {
        return separate();
    }
    let texels_fit = (w.n * w.h * w.w * w.c * 4) as u64 <= gpu.max_texel_bytes();
    let launch = |fusion| match fusion {
        PoolFusion::Fused => conv2d_pool_fused(gpu, [x, filter], bias, g, acts, false),
        PoolFusion::FusedTexels if texels_fit => conv2d_pool_fused(gpu, [x, filter], bias, g, acts, true),
        PoolFusion::FusedTexels => conv2d_pool_fused(gpu, [x, filter], bias, g, acts, false),
        _ => separate(),
    };
    if fusion != PoolFusion::Auto {
        return launch(fusion);
    }
    let key = shape_class("conv2d_max_pool2x2", g);
    let mut candidates = vec![("fused", PoolFusion::Fused), ("separate", PoolFusion::Separate)];
    if texels_fit {
        candidates.insert(1, ("fused texels", PoolFusion::FusedTexels));
    }
    let candidates = autotune::with_texel_twins(gpu, candidates, |f| f == PoolFusion::FusedTexels);
    let run = |fusion| launch(fusion).map(|(_, y)| y);
    launch(autotune::choose(gpu, &key, &candidates, PoolFusion::Fused, run)?)
}

/// How [`conv2d_max_pool2x2`] runs: `Auto` times the fused kernel (reading its input and filter
/// from storage buffers or from texel views) against the two launches, `Fused` and
/// `FusedTexels` take that fused kernel wherever it covers the geometry (else the two
/// launches), `Separate` always launches the two (for tests and benchmarks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolFusion {
    /// Timed per shape class (the fused kernel when nothing is timed).
    Auto,
    /// The fused kernel where it covers the geometry.
    Fused,
    /// The fused kernel reading its input and filter from texel views (see
    /// [`Conv2dVariant::DirectUnrolledTexels`]) where the input fits the adapter's textures.
    FusedTexels,
    /// The conv, then the pooling.
    Separate,
}

/// Whether `conv2d_direct_sg_k_pool` covers the geometry: [`unrollable`], groups 1, subgroups
/// of an even size (lanes pair up), a non-empty output, and every operand in one binding.
fn pool_fusable(gpu: &Gpu, g: &Conv2dGeometry) -> bool {
    let w = &g.win;
    let floats = [w.n * w.h * w.w * w.c, w.n * w.oh * w.ow * g.cout, w.kh * w.kw * w.c * g.cout];
    let fits = floats.iter().all(|&f| (f as u64) * 4 <= gpu.max_binding_bytes());
    let even = shuffle_width(gpu).is_some_and(|s| s % 2 == 0);
    even && g.groups == 1 && unrollable(g) && floats[1] > 0 && fits && check_u32("conv2d", &floats).is_ok()
}

/// The fused launch of [`conv2d_max_pool2x2`] (the geometry [`pool_fusable`]).
fn conv2d_pool_fused(
    gpu: &Gpu,
    [x, filter]: [&GpuBuffer; 2],
    bias: Option<&GpuBuffer>,
    g: &Conv2dGeometry,
    [conv_act, pool_act]: [Activation; 2],
    texels: bool,
) -> Result<(GpuBuffer, GpuBuffer)> {
    let w = &g.win;
    let size = shuffle_width(gpu).ok_or_else(|| crate::shape_err("conv2d", "the fused pooling needs subgroups"))?;
    let z = out_f32(gpu, w.n * w.oh * w.ow * g.cout)?;
    let y = out_f32(gpu, w.n * (w.oh / 2) * (w.ow / 2) * g.cout)?;
    let bias_buf = or_placeholder(gpu, bias)?;
    let (entry, unrolled) = unrolled(w, texels, true);
    let mut constants = vec![act_constant(conv_act), ("FLIP", 0.0), ("NCO", g.cout.min(8) as f64)];
    constants.extend(unrolled);
    constants.push(("POOL_ACT", pool_act.code() as f64));
    let buffers = [x, filter, &bias_buf, &z, &y];
    let texels = texels.then_some(FILTER_UNIFORM);
    let file = ("conv2d_subgroup.wgsl", SUBGROUP_SRC);
    let (pipe, views) = pipeline_and_views(gpu, file, (entry, &constants), &buffers, texels)?;
    let blocks = w.n * w.oh.div_ceil(2) * w.ow.div_ceil(4) * 2;
    let tiles = g.cout.div_ceil(8) * blocks.div_ceil(size);
    let p = params(g, bias.is_some(), conv_act);
    gpu.dispatch_views(&pipe, p.bytes()?, &views, grid_1d(gpu, tiles, (64 / size) as u32))?;
    Ok((z, y))
}

/// Records `act(conv2d(x, flip(filter)) + bias)` for a plain conv geometry `g` (groups 1),
/// where `filter` is `[kh, kw, g.cout, cin]` and `flip` is [`flip_filter`]: a stride-1
/// transposed convolution (an input gradient) as a plain one. The direct kernel reads
/// `filter` flipped in place (one dispatch); the register-blocked and im2col kernels run on a
/// flipped copy (one more dispatch, kept where their speed pays for it). `Auto` tunes among
/// the valid variants, the copy included.
pub fn conv2d_flipped(
    gpu: &Gpu,
    x: &GpuBuffer,
    filter: &GpuBuffer,
    bias: Option<&GpuBuffer>,
    g: &Conv2dGeometry,
    act: Activation,
    variant: Conv2dVariant,
) -> Result<GpuBuffer> {
    if g.groups != 1 {
        return Err(crate::shape_err("conv2d", format!("a flipped filter needs groups 1, not {}", g.groups)));
    }
    if let Some(out) = prologue(gpu, [x, filter], bias, g, (act, variant), conv2d_flipped)? {
        return Ok(out);
    }
    let w = &g.win;
    let variant = match variant {
        Auto => {
            let run = |v| conv2d_flipped(gpu, x, filter, bias, g, act, v);
            let key = shape_class("conv2d_flipped", g);
            autotune::choose(gpu, &key, &forward_candidates(gpu, g), Auto.pick(gpu, g), run)?
        }
        v => v,
    };
    match variant.pick(gpu, g) {
        v @ (Direct | DirectSubgroup | DirectUnrolled | DirectUnrolledTexels) => {
            direct(gpu, x, filter, bias, g, act, (true, v))
        }
        v => {
            let flipped = flip_filter(gpu, filter, [w.kh, w.kw, g.cout, w.c])?;
            conv2d(gpu, x, &flipped, bias, g, act, v)
        }
    }
}

/// The register block of `conv2d_reg`: output pixels × vec4s of output channels per
/// invocation, the pipeline-overridable constants `REG_TM` and `REG_TV` of conv2d.wgsl (at most
/// [`RegBlock::MAX`], the generated maximum), and whether the filter is shared by subgroup
/// shuffles (`conv2d_reg_sg`, shaders/conv2d_subgroup.wgsl). Autotuned per shape class among
/// [`RegBlock::candidates`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegBlock {
    /// Output pixels per invocation (`REG_TM`).
    pub pixels: usize,
    /// Output channels per invocation, in vec4s (`REG_TV`).
    pub vec4s: usize,
    /// Each step's filter vec4s loaded once per subgroup and shared by `subgroupShuffle`
    /// (devices with one fixed subgroup size of 8 to 64 only, see `launch::shuffle_width`).
    pub subgroup: bool,
}

/// A plain register block (each invocation loads its own filter vec4s).
const fn plain(pixels: usize, vec4s: usize) -> RegBlock {
    RegBlock { pixels, vec4s, subgroup: false }
}

/// A register block whose filter vec4s the subgroup shares.
const fn shared(pixels: usize, vec4s: usize) -> RegBlock {
    RegBlock { pixels, vec4s, subgroup: true }
}

impl RegBlock {
    /// The block without tuning (the shader's default constants; no subgroup operations).
    pub const DEFAULT: RegBlock = plain(8, 4);

    /// The largest block the generated shaders hold (`tools/gen_conv2d_reg.py 24 8`).
    pub const MAX: RegBlock = plain(24, 8);

    /// The plain candidates autotuning times, named pixels x channels (the default first,
    /// then the most promising on lavapipe).
    pub const FORWARD: [(&'static str, RegBlock); 7] = [
        ("8x16", plain(8, 4)),
        ("16x16", plain(16, 4)),
        ("24x16", plain(24, 4)),
        ("16x32", plain(16, 8)),
        ("12x16", plain(12, 4)),
        ("8x32", plain(8, 8)),
        ("4x16", plain(4, 4)),
    ];

    /// The subgroup candidates, most promising on lavapipe first (there 1.4–2.1× the plain
    /// block of the same size on [32,32,32,64] 3×3 64→64; see docs/benchmarks.md).
    pub const SUBGROUP: [(&'static str, RegBlock); 5] = [
        ("16x32 subgroup", shared(16, 8)),
        ("8x32 subgroup", shared(8, 8)),
        ("8x16 subgroup", shared(8, 4)),
        ("24x16 subgroup", shared(24, 4)),
        ("4x16 subgroup", shared(4, 4)),
    ];

    /// The blocks autotuning times on `gpu`: the default, then the subgroup blocks where the
    /// device runs them, then the other plain ones.
    pub fn candidates(gpu: &Gpu) -> Vec<(&'static str, RegBlock)> {
        let shared = shuffle_width(gpu).map_or(&[][..], |_| &RegBlock::SUBGROUP[..]);
        let (first, rest) = RegBlock::FORWARD.split_at(1);
        [first, shared, rest].concat()
    }
}

/// The register-blocked forward with one block (cin, cout % 4 == 0).
pub fn conv2d_reg(
    gpu: &Gpu,
    x: &GpuBuffer,
    filter: &GpuBuffer,
    bias: Option<&GpuBuffer>,
    g: &Conv2dGeometry,
    act: Activation,
    block: RegBlock,
) -> Result<GpuBuffer> {
    let aligned = g.win.c.is_multiple_of(4) && g.cout.is_multiple_of(4) && g.groups == 1;
    let fits = (1..=RegBlock::MAX.pixels).contains(&block.pixels) && (1..=RegBlock::MAX.vec4s).contains(&block.vec4s);
    let width = if block.subgroup { shuffle_width(gpu) } else { None };
    if !aligned || !fits || (block.subgroup && width.is_none()) {
        let sg = if block.subgroup { ", on a device with one fixed subgroup size of 8 to 64" } else { "" };
        return Err(crate::shape_err(
            "conv2d",
            format!("register block {block:?} for cin {}, cout {}, groups {}{sg}", g.win.c, g.cout, g.groups),
        ));
    }
    let rows = g.win.n * g.win.oh * g.win.ow;
    let out = out_f32(gpu, rows * g.cout)?;
    let threads = rows.div_ceil(block.pixels) * g.cout.div_ceil(4 * block.vec4s);
    let bias_buf = or_placeholder(gpu, bias)?;
    let constants = [("REG_TM", block.pixels as f64), ("REG_TV", block.vec4s as f64), act_constant(act)];
    let p = params(g, bias.is_some(), act);
    let (pipe, groups) = match width {
        Some(size) => {
            let tiles = g.cout.div_ceil(4 * block.vec4s) * rows.div_ceil(block.pixels).div_ceil(size);
            let pipe = pipeline(gpu, "conv2d_subgroup.wgsl", SUBGROUP_SRC, "conv2d_reg_sg", &constants)?;
            (pipe, grid_1d(gpu, tiles, (64 / size) as u32))
        }
        None => (pipeline(gpu, "conv2d.wgsl", SRC, "conv2d_reg", &constants)?, grid_1d(gpu, threads, 64)),
    };
    gpu.dispatch(&pipe, p.bytes()?, &[x, filter, &bias_buf, &out], groups)?;
    Ok(out)
}

fn im2col_matmul(
    gpu: &Gpu,
    x: &GpuBuffer,
    filter: &GpuBuffer,
    bias: Option<&GpuBuffer>,
    g: &Conv2dGeometry,
    act: Activation,
) -> Result<GpuBuffer> {
    let w = &g.win;
    let (rows, kdim) = (w.n * w.oh * w.ow, w.kh * w.kw * w.c);
    let patches = out_f32(gpu, rows * kdim)?;
    let dummy = out_f32(gpu, 1)?;
    let pipe = pipeline(gpu, "conv2d.wgsl", SRC, "im2col", &[])?;
    let p = params(g, false, Activation::None);
    gpu.dispatch(&pipe, p.bytes()?, &[x, filter, &dummy, &patches], grid_1d(gpu, rows * kdim, 64))?;
    let mut mm = Matmul::new(rows, kdim, g.cout);
    mm.act = act;
    matmul::matmul(gpu, &patches, filter, bias, &mm, MatmulVariant::Tiled)
}

/// Records the filter gradient of conv2d, `dW[ky, kx, ci, co] = Σ x[tap] · dY[pixel, co]`,
/// for input `x` and upstream gradient `dy` (`[n, oh, ow, cout]`); returns `[kh, kw, cin /
/// groups, cout]`. The sum over pixels is split into chunks of output rows (enough invocations
/// to fill the device), whose partial sums a second pass adds; the all-taps kernel sums small
/// problems in one pass ([`TAPS_ONE_PASS_PIXELS`]). Grouped geometries run the
/// grouped kernel (one channel per group: the depthwise one) whatever the `variant`.
pub fn conv2d_filter_grad(
    gpu: &Gpu,
    x: &GpuBuffer,
    dy: &GpuBuffer,
    g: &Conv2dGeometry,
    variant: Conv2dVariant,
) -> Result<GpuBuffer> {
    Ok(filter_grad_auto(gpu, x, dy, g, variant, false)?.0)
}

/// [`conv2d_filter_grad`] and, where its kernel sums `dy` on the way (the one-pass all-taps
/// kernel, [`TAPS_ONE_PASS_PIXELS`]), the bias gradient `db[co] = Σ dy[.., co]` from the same
/// dispatch: `(dw, Some(db))`; otherwise `(dw, None)` and the caller reduces `dy` itself.
pub fn conv2d_filter_bias_grad(
    gpu: &Gpu,
    x: &GpuBuffer,
    dy: &GpuBuffer,
    g: &Conv2dGeometry,
    variant: Conv2dVariant,
) -> Result<(GpuBuffer, Option<GpuBuffer>)> {
    filter_grad_auto(gpu, x, dy, g, variant, true)
}

/// The filter gradient with the kernel `variant` gives (tuned for `Auto`), with the bias
/// gradient where that kernel computes it and `with_bias` asks for it.
fn filter_grad_auto(
    gpu: &Gpu,
    x: &GpuBuffer,
    dy: &GpuBuffer,
    g: &Conv2dGeometry,
    variant: Conv2dVariant,
    with_bias: bool,
) -> Result<(GpuBuffer, Option<GpuBuffer>)> {
    let w = &g.win;
    let elems = g.filter_shape().iter().product::<usize>();
    // Split over images, the bias gradient is left to the caller (as some kernels do).
    let ops = [(x, w.h * w.w * w.c), (dy, w.oh * w.ow * g.cout)];
    let per_batch = |images: usize, b: &[&GpuBuffer]| {
        Ok(vec![filter_grad_auto(gpu, b[0], b[1], &g.with_batch(images), variant, false)?.0])
    };
    if let Some(mut dw) = split::split_images(gpu, "conv2d_filter_grad", w.n, &ops, &[Part::Sum(elems)], per_batch)? {
        return Ok((dw.remove(0), None));
    }
    if let Some(d) = as_depthwise(g) {
        return Ok((dw::depthwise_conv2d_filter_grad(gpu, x, dy, &d, DepthwiseVariant::Auto)?, None));
    }
    check_u32("conv2d_filter_grad", &[w.n * w.h * w.w * w.c, w.n * w.oh * w.ow * g.cout, elems * w.n * w.oh])?;
    let kernel = match variant {
        _ if g.groups > 1 => FilterGradKernel::Grouped,
        Auto => {
            let cands: Vec<_> =
                FilterGradKernel::ALL.into_iter().filter(|k| k.valid(g)).map(|k| (k.tune_name(), k)).collect();
            let cands = autotune::with_texel_twins(gpu, cands, |k| k == FilterGradKernel::TapsTexels);
            let run = |k: FilterGradKernel| Ok(filter_grad_with(gpu, x, dy, g, k, false)?.0);
            autotune::choose(gpu, &shape_class("conv2d_filter_grad", g), &cands, FilterGradKernel::heuristic(g), run)?
        }
        Register if FilterGradKernel::Register.valid(g) => FilterGradKernel::Register,
        _ => FilterGradKernel::Generic,
    };
    filter_grad_with(gpu, x, dy, g, kernel, with_bias)
}

/// The filter-gradient kernels (`Conv2dVariant::Auto` tunes among the valid ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterGradKernel {
    /// One tap x 4 cin x 16 cout per invocation (cin, cout % 4 == 0).
    Register,
    /// All taps (kh·kw <= 9) x 1 cin x 4 or 8 cout per invocation ([`taps_channels`]).
    Taps,
    /// `Taps` in one pass with the upstream gradient read as vec4s (cout % 4 == 0, at most
    /// [`TAPS_ONE_PASS_PIXELS`] output pixels): a quarter of its loads, which lavapipe pays
    /// for one by one (SwiftShader does not gain), so it is tuned, never the untimed choice.
    TapsVec4,
    /// The one pass of `Taps` (or of `TapsVec4` where cout % 4 == 0, or with the upstream
    /// gradient read as vec2s where cout % 2 == 0) reading the input and the upstream gradient
    /// from texel views (see [`Conv2dVariant::DirectUnrolledTexels`]); where
    /// either passes the adapter's texture size it reads storage buffers.
    TapsTexels,
    /// One tap x 1 cin x 4 cout per invocation; any sizes.
    Generic,
    /// Grouped convolutions (groups > 1; the others need groups == 1).
    Grouped,
}

impl FilterGradKernel {
    /// Every kernel, in the heuristic's order of preference.
    pub const ALL: [FilterGradKernel; 6] = [
        FilterGradKernel::Register,
        FilterGradKernel::Taps,
        FilterGradKernel::TapsVec4,
        FilterGradKernel::TapsTexels,
        FilterGradKernel::Generic,
        FilterGradKernel::Grouped,
    ];

    /// True when this kernel handles the geometry.
    pub fn valid(self, g: &Conv2dGeometry) -> bool {
        let plain = g.groups == 1;
        match self {
            FilterGradKernel::Register => plain && g.win.c.is_multiple_of(4) && g.cout.is_multiple_of(4),
            FilterGradKernel::Taps => plain && g.win.kh * g.win.kw <= 9,
            FilterGradKernel::TapsVec4 => {
                FilterGradKernel::Taps.valid(g)
                    && g.cout.is_multiple_of(4)
                    && g.win.n * g.win.oh * g.win.ow <= TAPS_ONE_PASS_PIXELS
            }
            FilterGradKernel::TapsTexels => FilterGradKernel::Taps.valid(g) && taps_fit_one_pass(g),
            FilterGradKernel::Generic => plain,
            FilterGradKernel::Grouped => !plain,
        }
    }

    /// The choice without timing: register-blocked when aligned, else all-taps when small
    /// (`Taps`, valid wherever `TapsVec4` is, comes first).
    fn heuristic(g: &Conv2dGeometry) -> FilterGradKernel {
        Self::ALL.into_iter().find(|k| k.valid(g)).unwrap_or(FilterGradKernel::Generic)
    }

    fn entry(self) -> &'static str {
        match self {
            FilterGradKernel::Register => "conv2d_filter_grad_reg",
            FilterGradKernel::Taps => "conv2d_filter_grad_taps",
            FilterGradKernel::TapsVec4 => "conv2d_filter_grad_taps_wg4",
            FilterGradKernel::TapsTexels => "conv2d_filter_grad_taps_wg",
            FilterGradKernel::Generic => "conv2d_filter_grad",
            FilterGradKernel::Grouped => "grouped_filter_grad",
        }
    }

    /// The kernel's name among the autotuner's candidates (its entry point, or the entry point
    /// and "texels" for the texel twin).
    fn tune_name(self) -> &'static str {
        match self {
            FilterGradKernel::TapsTexels => "conv2d_filter_grad_taps texels",
            k => k.entry(),
        }
    }

    /// Whether this is one of the all-taps kernels (`Taps`, `TapsVec4`, `TapsTexels`).
    fn all_taps(self) -> bool {
        matches!(self, FilterGradKernel::Taps | FilterGradKernel::TapsVec4 | FilterGradKernel::TapsTexels)
    }

    /// The shader file and its text.
    fn source(self) -> (&'static str, &'static str) {
        match self {
            FilterGradKernel::Grouped => ("conv2d_grouped.wgsl", GROUPED_SRC),
            _ => ("conv2d.wgsl", SRC),
        }
    }

    /// Invocations per chunk of rows.
    fn threads(self, g: &Conv2dGeometry) -> usize {
        let w = &g.win;
        match self {
            FilterGradKernel::Register => w.kh * w.kw * (w.c / 4) * g.cout.div_ceil(16),
            FilterGradKernel::Taps | FilterGradKernel::TapsVec4 | FilterGradKernel::TapsTexels => {
                w.c * g.cout.div_ceil(taps_channels(g))
            }
            FilterGradKernel::Generic => w.kh * w.kw * w.c * g.cout.div_ceil(4),
            FilterGradKernel::Grouped => {
                w.kh * w.kw * (w.c / g.groups).div_ceil(4) * (g.cout / g.groups).div_ceil(4) * g.groups
            }
        }
    }
}

/// The filter gradient with one kernel (an error when it cannot handle the geometry); see
/// [`conv2d_filter_grad`].
pub fn conv2d_filter_grad_kernel(
    gpu: &Gpu,
    x: &GpuBuffer,
    dy: &GpuBuffer,
    g: &Conv2dGeometry,
    kernel: FilterGradKernel,
) -> Result<GpuBuffer> {
    Ok(conv2d_filter_bias_grad_kernel(gpu, x, dy, g, kernel, false)?.0)
}

/// [`conv2d_filter_bias_grad`] with one kernel (an error when it cannot handle the geometry);
/// the bias gradient only when `with_bias` and the kernel computes it.
pub fn conv2d_filter_bias_grad_kernel(
    gpu: &Gpu,
    x: &GpuBuffer,
    dy: &GpuBuffer,
    g: &Conv2dGeometry,
    kernel: FilterGradKernel,
    with_bias: bool,
) -> Result<(GpuBuffer, Option<GpuBuffer>)> {
    let w = &g.win;
    let elems = g.filter_shape().iter().product::<usize>();
    check_u32("conv2d_filter_grad", &[w.n * w.h * w.w * w.c, w.n * w.oh * w.ow * g.cout, elems * w.n * w.oh])?;
    if !kernel.valid(g) {
        return Err(crate::shape_err(
            "conv2d_filter_grad",
            format!(
                "kernel {kernel:?} cannot handle cin {}, cout {}, window {}x{}, groups {}",
                w.c, g.cout, w.kh, w.kw, g.groups
            ),
        ));
    }
    filter_grad_with(gpu, x, dy, g, kernel, with_bias)
}

/// The register block and chunking of the register-blocked filter gradient: output channels
/// per invocation in vec4s (the pipeline-overridable constant `FG_TV` of conv2d.wgsl, at most
/// 16), the number of invocations the chunking of the rows aims for, and whether the upstream
/// gradient is shared by subgroup shuffles (`conv2d_filter_grad_reg_sg`,
/// shaders/conv2d_subgroup.wgsl). Autotuned per shape class among
/// [`FilterGradBlock::candidates`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilterGradBlock {
    /// Output channels per invocation, in vec4s (`FG_TV`).
    pub vec4s: usize,
    /// Invocations to aim for (partial sums over chunks of rows fill the rest).
    pub threads: usize,
    /// Each pixel's upstream-gradient vec4s loaded once per subgroup and shared by
    /// `subgroupShuffle` (devices with one fixed subgroup size of 8 to 64 only).
    pub subgroup: bool,
}

/// A plain filter-gradient block.
const fn fg(vec4s: usize, threads: usize) -> FilterGradBlock {
    FilterGradBlock { vec4s, threads, subgroup: false }
}

/// A filter-gradient block whose upstream gradient the subgroup shares.
const fn fg_shared(vec4s: usize, threads: usize) -> FilterGradBlock {
    FilterGradBlock { vec4s, threads, subgroup: true }
}

impl FilterGradBlock {
    /// The block without tuning (the shader's default constant; no subgroup operations).
    pub const DEFAULT: FilterGradBlock = fg(4, FILTER_GRAD_THREADS);

    /// The most output channels per invocation the generated shader holds, in vec4s.
    pub const MAX_VEC4S: usize = 16;

    /// The plain candidates autotuning times, named channels/invocations (the default first,
    /// then the most promising on lavapipe).
    pub const CANDIDATES: [(&'static str, FilterGradBlock); 7] = [
        ("16/4096", fg(4, 4096)),
        ("64/256", fg(16, 256)),
        ("32/1024", fg(8, 1024)),
        ("64/1024", fg(16, 1024)),
        ("32/256", fg(8, 256)),
        ("32/4096", fg(8, 4096)),
        ("16/1024", fg(4, 1024)),
    ];

    /// The subgroup candidates.
    pub const SUBGROUP: [(&'static str, FilterGradBlock); 4] = [
        ("64/1024 subgroup", fg_shared(16, 1024)),
        ("64/4096 subgroup", fg_shared(16, 4096)),
        ("32/1024 subgroup", fg_shared(8, 1024)),
        ("16/4096 subgroup", fg_shared(4, 4096)),
    ];

    /// The blocks autotuning times on `gpu`: the default, then the subgroup blocks where the
    /// device runs them, then the other plain ones.
    pub fn candidates(gpu: &Gpu) -> Vec<(&'static str, FilterGradBlock)> {
        let shared = shuffle_width(gpu).map_or(&[][..], |_| &FilterGradBlock::SUBGROUP[..]);
        let (first, rest) = FilterGradBlock::CANDIDATES.split_at(1);
        [first, shared, rest].concat()
    }
}

/// The filter gradient with one kernel (the register-blocked one with its autotuned block),
/// and the bias gradient where the kernel computes it and `with_bias` asks for it.
fn filter_grad_with(
    gpu: &Gpu,
    x: &GpuBuffer,
    dy: &GpuBuffer,
    g: &Conv2dGeometry,
    kernel: FilterGradKernel,
    with_bias: bool,
) -> Result<(GpuBuffer, Option<GpuBuffer>)> {
    if kernel != FilterGradKernel::Register {
        return filter_grad_block(gpu, x, dy, g, kernel, FilterGradBlock::DEFAULT, with_bias);
    }
    let run = |b| Ok(filter_grad_block(gpu, x, dy, g, kernel, b, false)?.0);
    let key = shape_class("conv2d_filter_grad_reg_block", g);
    let block = autotune::choose(gpu, &key, &FilterGradBlock::candidates(gpu), FilterGradBlock::DEFAULT, run)?;
    filter_grad_block(gpu, x, dy, g, kernel, block, with_bias)
}

/// The register-blocked filter gradient with an explicit block (cin, cout % 4 == 0).
pub fn conv2d_filter_grad_reg(
    gpu: &Gpu,
    x: &GpuBuffer,
    dy: &GpuBuffer,
    g: &Conv2dGeometry,
    block: FilterGradBlock,
) -> Result<GpuBuffer> {
    if !FilterGradKernel::Register.valid(g)
        || !(1..=FilterGradBlock::MAX_VEC4S).contains(&block.vec4s)
        || block.threads == 0
        || (block.subgroup && shuffle_width(gpu).is_none())
    {
        return Err(crate::shape_err(
            "conv2d_filter_grad",
            format!("register block {block:?} for cin {}, cout {}, groups {}", g.win.c, g.cout, g.groups),
        ));
    }
    Ok(filter_grad_block(gpu, x, dy, g, FilterGradKernel::Register, block, false)?.0)
}

/// The filter gradient with one kernel and block: chunked partial sums, then (for several
/// chunks) their sum; or, for the all-taps kernel on a small problem, one pass, which also
/// gives the bias gradient when `with_bias`.
fn filter_grad_block(
    gpu: &Gpu,
    x: &GpuBuffer,
    dy: &GpuBuffer,
    g: &Conv2dGeometry,
    kernel: FilterGradKernel,
    block: FilterGradBlock,
    with_bias: bool,
) -> Result<(GpuBuffer, Option<GpuBuffer>)> {
    let w = &g.win;
    let elems = g.filter_shape().iter().product::<usize>();
    let ((file, src), entry) = (kernel.source(), kernel.entry());
    let threads = match kernel {
        FilterGradKernel::Register => w.kh * w.kw * (w.c / 4) * g.cout.div_ceil(4 * block.vec4s),
        _ => kernel.threads(g),
    };
    // TapsVec4 and TapsTexels are valid only up to TAPS_ONE_PASS_PIXELS: they always take the one pass.
    if kernel.all_taps() && taps_fit_one_pass(g) {
        let launch = (kernel, with_bias, taps_lanes(gpu), taps_channels(g));
        return taps_one_pass(gpu, x, dy, g, elems, launch);
    }
    let rows = (w.n * w.oh).max(1);
    // `threads` is 0 for a filter with no input channels (an all-zero gradient).
    // As many chunks as the block asks for, while their partial sums fit one binding.
    let fit = usize::try_from(gpu.max_binding_bytes() / 4).unwrap_or(usize::MAX) / elems.max(1);
    let chunk_rows = rows.div_ceil(block.threads.div_ceil(threads.max(1)).clamp(1, rows).min(fit.max(1)));
    let chunks = rows.div_ceil(chunk_rows);
    let partial = out_f32(gpu, chunks * elems)?;
    let dummy = out_f32(gpu, 1)?;
    let fg_tv = [("FG_TV", block.vec4s as f64)];
    let taps = [taps_slide(g), ("TAPS_CO", taps_channels(g) as f64)];
    let constants: &[(&str, f64)] = match kernel {
        FilterGradKernel::Register => &fg_tv,
        FilterGradKernel::Taps => &taps,
        _ => &[],
    };
    let p = match g.groups {
        1 => params_ext(g, false, Activation::None, [chunk_rows, 0, 0]),
        _ => grouped_params(g, false, Activation::None, chunk_rows),
    };
    let (pipe, groups) = match shuffle_width(gpu).filter(|_| block.subgroup && kernel == FilterGradKernel::Register) {
        Some(size) => {
            // One subgroup per chunk, channel block and `size` (tap, input-channel quad) pairs.
            let pairs = w.kh * w.kw * (w.c / 4);
            let tiles = chunks * g.cout.div_ceil(4 * block.vec4s) * pairs.div_ceil(size);
            let entry = "conv2d_filter_grad_reg_sg";
            (
                pipeline(gpu, "conv2d_subgroup.wgsl", SUBGROUP_SRC, entry, constants)?,
                grid_1d(gpu, tiles, (64 / size) as u32),
            )
        }
        None => (pipeline(gpu, file, src, entry, constants)?, grid_1d(gpu, threads * chunks, 64)),
    };
    gpu.dispatch(&pipe, p.bytes()?, &[x, dy, &dummy, &partial], groups)?;
    if chunks == 1 {
        return Ok((partial, None));
    }
    let out = out_f32(gpu, elems)?;
    let pipe = pipeline(gpu, "conv2d.wgsl", SRC, "sum_chunks", &[])?;
    let p = params_ext(g, false, Activation::None, [chunk_rows, elems, chunks]);
    gpu.dispatch(&pipe, p.bytes()?, &[&partial, &dummy, &dummy, &out], grid_1d(gpu, elems, 64))?;
    Ok((out, None))
}

/// Output pixels up to which the all-taps filter gradient runs in one pass
/// (`conv2d_filter_grad_taps_wg`, or `_wg4` for [`FilterGradKernel::TapsVec4`]: a workgroup
/// per block of one input and eight output channels,
/// its 64 lanes splitting the rows and adding their sums in workgroup memory) instead of
/// chunked partial sums and a `sum_chunks` pass: small problems (LeNet's convolutions) are
/// dominated by launches, larger ones gain from the chunks' extra invocations.
pub const TAPS_ONE_PASS_PIXELS: usize = 1 << 16;

/// The lane counts [`taps_lanes`] chooses between.
pub const TAPS_LANES: [u32; 2] = [8, 64];

/// The output channels per invocation [`taps_channels`] chooses between (`TAPS_CO`).
pub const TAPS_CHANNELS: [usize; 2] = [4, 8];

/// Fewest workgroups (blocks of one input and 8 output channels) for which the one-pass
/// all-taps filter gradient gives each invocation 8 output channels: a CPU adapter runs a
/// workgroup on one thread (LeNet's first conv, 1 input channel and 6 output ones, keeps 2).
pub const TAPS_WIDE_MIN_WORKGROUPS: usize = 8;

/// Whether the all-taps filter gradient takes one pass (at most [`TAPS_ONE_PASS_PIXELS`]).
fn taps_fit_one_pass(g: &Conv2dGeometry) -> bool {
    g.win.n * g.win.oh * g.win.ow <= TAPS_ONE_PASS_PIXELS
}

/// The all-taps kernels' output channels per invocation (`TAPS_CO`): 8, so that each loop
/// iteration's input loads feed twice the channels (SwiftShader pays per iteration: LeNet's
/// conv 2, 2.3 → 1.6 ms), unless a one pass would then keep fewer than
/// [`TAPS_WIDE_MIN_WORKGROUPS`] workgroups (a chunked pass gets its parallelism from chunks).
fn taps_channels(g: &Conv2dGeometry) -> usize {
    let wide_blocks = g.win.c * g.cout.div_ceil(8);
    TAPS_CHANNELS[(wide_blocks >= TAPS_WIDE_MIN_WORKGROUPS || !taps_fit_one_pass(g)) as usize]
}

/// The one-pass all-taps filter gradient ([`FilterGradKernel::Taps`] or `TapsVec4`, at most
/// [`TAPS_ONE_PASS_PIXELS`] output pixels) with `lanes` (1 to 64) per workgroup and `channels`
/// (one of [`TAPS_CHANNELS`]) per invocation instead of the adapter's and geometry's choice,
/// and the bias gradient when `with_bias`: how tests reach the launches this case does not get.
pub fn conv2d_filter_bias_grad_taps(
    gpu: &Gpu,
    x: &GpuBuffer,
    dy: &GpuBuffer,
    g: &Conv2dGeometry,
    (kernel, with_bias, lanes, channels): (FilterGradKernel, bool, u32, usize),
) -> Result<(GpuBuffer, Option<GpuBuffer>)> {
    let w = &g.win;
    if !kernel.all_taps()
        || !kernel.valid(g)
        || !taps_fit_one_pass(g)
        || !(1..=64).contains(&lanes)
        || !TAPS_CHANNELS.contains(&channels)
    {
        return Err(crate::shape_err(
            "conv2d_filter_grad",
            format!(
                "one-pass {kernel:?} with {lanes} lanes and {channels} channels an invocation for {} output pixels, cout {}",
                w.n * w.oh * w.ow,
                g.cout
            ),
        ));
    }
    let elems = g.filter_shape().iter().product::<usize>();
    taps_one_pass(gpu, x, dy, g, elems, (kernel, with_bias, lanes, channels))
}

/// Lanes of the one-pass all-taps workgroups (`TAPS_WG`): 64 on GPUs; 8 elsewhere (CPU
/// adapters, and the browser's, whose type WebGPU does not tell), where each lane's partial
/// sums in workgroup memory cost more than the lanes gain.
fn taps_lanes(gpu: &Gpu) -> u32 {
    TAPS_LANES[gpu.is_gpu_hardware() as usize]
}

/// The all-taps kernels' `TAPS_SLIDE`: whether each window row slides along the width (3 taps
/// wide, stride and dilation 1 across), so a pixel needs one new input load per row.
fn taps_slide(g: &Conv2dGeometry) -> (&'static str, f64) {
    let w = &g.win;
    ("TAPS_SLIDE", (w.kw == 3 && w.sw == 1 && w.dw == 1) as u8 as f64)
}

/// The all-taps filter gradient (`elems` values) in one dispatch of a workgroup per input
/// channel and `channels` output channels (see [`TAPS_ONE_PASS_PIXELS`]), with the bias
/// gradient (`cout` sums of `dy`) when `with_bias`.
fn taps_one_pass(
    gpu: &Gpu,
    x: &GpuBuffer,
    dy: &GpuBuffer,
    g: &Conv2dGeometry,
    elems: usize,
    (kernel, with_bias, lanes, channels): (FilterGradKernel, bool, u32, usize),
) -> Result<(GpuBuffer, Option<GpuBuffer>)> {
    let blocks = g.win.c * g.cout.div_ceil(channels);
    let out = out_f32(gpu, elems)?;
    let db = out_f32(gpu, if with_bias { g.cout } else { 1 })?;
    let entry = taps_one_pass_entry(kernel, g.cout);
    let constants = [("TAPS_WG", lanes as f64), taps_slide(g), ("TAPS_CO", channels as f64)];
    let fit = [x, dy].iter().all(|b| b.len() <= gpu.max_texel_bytes());
    let texels = (kernel == FilterGradKernel::TapsTexels && fit).then_some(FastReads::texels(&[1, 2]));
    let (pipe, views) =
        pipeline_and_views(gpu, ("conv2d.wgsl", SRC), (entry, &constants), &[x, dy, &db, &out], texels)?;
    let p = params_ext(g, false, Activation::None, [0, with_bias as usize, 0]);
    gpu.dispatch_views(&pipe, p.bytes()?, &views, grid_1d(gpu, blocks, 1))?;
    Ok((out, with_bias.then_some(db)))
}

/// The one-pass entry point of an all-taps `kernel` for `cout` output channels: the texel twin
/// reads the upstream gradient 4 channels a texel fetch where cout % 4 == 0, else 2 where
/// cout % 2 == 0 (a fetch each, where the scalar kernel fetches a texel per channel).
fn taps_one_pass_entry(kernel: FilterGradKernel, cout: usize) -> &'static str {
    let texels = kernel == FilterGradKernel::TapsTexels;
    if kernel == FilterGradKernel::TapsVec4 || (texels && cout.is_multiple_of(4)) {
        "conv2d_filter_grad_taps_wg4"
    } else if texels && cout.is_multiple_of(2) {
        "conv2d_filter_grad_taps_wg2"
    } else {
        "conv2d_filter_grad_taps_wg"
    }
}

/// Records the input gradient of a (grouped) conv2d, `dX[pixel, ci] = Σ dY[out pixel, co] ·
/// W[tap, ci mod cpg, co]` over the taps and the output channels of `ci`'s group, as a gather
/// (one input element per invocation; stride 1 runs as a grouped conv with the flipped filter,
/// one channel per group as the depthwise kernel); returns `[n, h, w, cin]`. Plain
/// convolutions (groups == 1) have faster kernels in `conv2d_transpose`.
pub fn conv2d_input_grad(gpu: &Gpu, dy: &GpuBuffer, filter: &GpuBuffer, g: &Conv2dGeometry) -> Result<GpuBuffer> {
    let w = &g.win;
    let ops = [(dy, w.oh * w.ow * g.cout), (filter, 0)];
    let per_batch = |images: usize, b: &[&GpuBuffer]| conv2d_input_grad(gpu, b[0], b[1], &g.with_batch(images));
    if let Some(out) = split::per_image(gpu, "conv2d_input_grad", w.n, &ops, w.h * w.w * w.c, per_batch)? {
        return Ok(out);
    }
    if let Some(d) = as_depthwise(g) {
        return dw::depthwise_conv2d_input_grad(gpu, dy, filter, &d, DepthwiseVariant::Auto);
    }
    if let Some(padding) = crate::conv2d_transpose::stride1_padding(&g.win) {
        return stride1_input_grad(gpu, dy, filter, g, &padding);
    }
    let w = &g.win;
    let elems = w.n * w.h * w.w * w.c;
    check_u32("conv2d_input_grad", &[elems, w.n * w.oh * w.ow * g.cout])?;
    let out = out_f32(gpu, elems)?;
    if elems == 0 {
        return Ok(out);
    }
    let dummy = out_f32(gpu, 1)?;
    let pipe = pipeline(gpu, "conv2d_grouped.wgsl", GROUPED_SRC, "grouped_input_grad", &[])?;
    let p = grouped_params(g, false, Activation::None, 0);
    gpu.dispatch(&pipe, p.bytes()?, &[dy, filter, &dummy, &out], grid_1d(gpu, elems, 64))?;
    Ok(out)
}

/// A stride-1 grouped input gradient as the grouped conv of `dy` (on the blocked forward
/// kernel) with the flipped, per-group transposed filter `[kh, kw, cout / groups, cin]` and
/// `padding` (from `conv2d_transpose::stride1_padding`).
fn stride1_input_grad(
    gpu: &Gpu,
    dy: &GpuBuffer,
    filter: &GpuBuffer,
    g: &Conv2dGeometry,
    padding: &crate::Padding,
) -> Result<GpuBuffer> {
    let w = &g.win;
    let fs = [w.kh, w.kw, g.cout / g.groups, w.c];
    let elems = fs.iter().product();
    let flipped = out_f32(gpu, elems)?;
    let dummy = out_f32(gpu, 1)?;
    let pipe = pipeline(gpu, "conv2d_grouped.wgsl", GROUPED_SRC, "grouped_flip_filter", &[])?;
    let p = grouped_params(g, false, Activation::None, 0);
    gpu.dispatch(&pipe, p.bytes()?, &[filter, &dummy, &dummy, &flipped], grid_1d(gpu, elems, 64))?;
    let conv = Conv2dGeometry::new(&[w.n, w.oh, w.ow, g.cout], &fs, [1, 1], [w.dh, w.dw], padding)?;
    conv2d(gpu, dy, &flipped, None, &conv, Activation::None, Conv2dVariant::Auto)
}

/// Invocations the filter gradient aims for (partial sums over pixel chunks fill the rest).
const FILTER_GRAD_THREADS: usize = 4096;

/// Records the flipped, transposed copy of a `[kh, kw, cin, cout]` filter, `[kh, kw, cout, cin]`
/// reversed in both spatial axes: a stride-1 transposed convolution with the original filter
/// is a plain convolution with this one.
pub fn flip_filter(gpu: &Gpu, filter: &GpuBuffer, [kh, kw, cin, cout]: [usize; 4]) -> Result<GpuBuffer> {
    let n = kh * kw * cin * cout;
    check_u32("flip_filter", &[n])?;
    let out = out_f32(gpu, n)?;
    let win = crate::Window2d {
        n: 1,
        h: 1,
        w: 1,
        c: cin,
        kh,
        kw,
        sh: 1,
        sw: 1,
        dh: 1,
        dw: 1,
        pad_top: 0,
        pad_bottom: 0,
        pad_left: 0,
        pad_right: 0,
        oh: 1,
        ow: 1,
    };
    let p = params(&Conv2dGeometry { win, cout, groups: 1 }, false, Activation::None);
    let dummy = out_f32(gpu, 1)?;
    let pipe = pipeline(gpu, "conv2d.wgsl", SRC, "flip_filter", &[])?;
    gpu.dispatch(&pipe, p.bytes()?, &[filter, &dummy, &dummy, &out], grid_1d(gpu, n, 64))?;
    Ok(out)
}
