//! Launchers for `shaders/depthwise_conv2d.wgsl`: `tf.nn.depthwise_conv2d` with fused bias and
//! activation, in a vec4 variant (multiplier 1, channels % 4 == 0) and a scalar fallback; and
//! for `shaders/depthwise_conv2d_grad.wgsl`: its input and filter gradients (gathers, no atomics).

use tessera_device::{Gpu, GpuBuffer};

use crate::launch::{check_u32, grid_1d, or_placeholder, out_f32, pipeline, window_params, Params};
use crate::split;
use crate::{Activation, DepthwiseGeometry, Result};

const SRC: &str = include_str!("../../../shaders/depthwise_conv2d.wgsl");

/// Which depthwise kernel to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepthwiseVariant {
    /// Pick per geometry.
    Auto,
    /// Four output channels of one pixel per invocation; any shape.
    Scalar,
    /// Four channels of four output columns per invocation (eight, sliding, at width stride and
    /// dilation 1); needs multiplier 1 and channels % 4 == 0.
    Vec4,
}

impl DepthwiseVariant {
    /// The variant `Auto` (or an unusable `Vec4`) resolves to for this geometry.
    pub fn pick(self, g: &DepthwiseGeometry) -> DepthwiseVariant {
        let vec4_ok = g.multiplier == 1 && g.win.c.is_multiple_of(4);
        match self {
            DepthwiseVariant::Auto | DepthwiseVariant::Vec4 if vec4_ok => DepthwiseVariant::Vec4,
            _ => DepthwiseVariant::Scalar,
        }
    }
}

fn params(g: &DepthwiseGeometry, has_bias: bool, act: Activation) -> Params {
    let w = &g.win;
    window_params("depthwise_conv2d", w, [w.h, w.w, w.c], [w.oh, w.ow, g.multiplier], has_bias, act).align4()
}

/// Records `act(depthwise_conv2d(x, filter) + bias)`; returns the `[n, oh, ow, c * m]` buffer.
pub fn depthwise_conv2d(
    gpu: &Gpu,
    x: &GpuBuffer,
    filter: &GpuBuffer,
    bias: Option<&GpuBuffer>,
    g: &DepthwiseGeometry,
    act: Activation,
    variant: DepthwiseVariant,
) -> Result<GpuBuffer> {
    let w = &g.win;
    let cm = w.c * g.multiplier;
    let outs = w.n * w.oh * w.ow * cm;
    check_u32("depthwise_conv2d", &[w.n * w.h * w.w * w.c, w.kh * w.kw * cm, outs + 7 * w.n * w.oh * cm])?;
    let mut ops = vec![(x, w.h * w.w * w.c), (filter, 0)];
    ops.extend(bias.map(|b| (b, 0)));
    let per_batch = |images: usize, b: &[&GpuBuffer]| {
        depthwise_conv2d(gpu, b[0], b[1], b.get(2).copied(), &g.with_batch(images), act, variant)
    };
    if let Some(out) = split::per_image(gpu, "depthwise_conv2d", w.n, &ops, w.oh * w.ow * cm, per_batch)? {
        return Ok(out);
    }
    let out = out_f32(gpu, outs)?;
    if outs == 0 {
        return Ok(out);
    }
    let (entry, threads) = match variant.pick(g) {
        DepthwiseVariant::Vec4 if w.sw == 1 && w.dw == 1 => ("dw_vec4_s1", w.n * w.oh * w.ow.div_ceil(8) * (w.c / 4)),
        DepthwiseVariant::Vec4 => ("dw_vec4", w.n * w.oh * w.ow.div_ceil(4) * (w.c / 4)),
        _ => ("dw_scalar", w.n * w.oh * w.ow * cm.div_ceil(4)),
    };
    let bias_buf = or_placeholder(gpu, bias)?;
    let pipe = pipeline(gpu, "depthwise_conv2d.wgsl", SRC, entry, &[])?;
    let p = params(g, bias.is_some(), act);
    gpu.dispatch(&pipe, p.bytes()?, &[x, filter, &bias_buf, &out], grid_1d(gpu, threads, 64))?;
    Ok(out)
}

const GRAD_SRC: &str = include_str!("../../../shaders/depthwise_conv2d_grad.wgsl");

/// Filter-gradient invocations to aim for when splitting the output rows into partial sums.
const FILTER_GRAD_THREADS: usize = 4096;

fn grad_params(g: &DepthwiseGeometry, splits: usize, rows_per_split: usize) -> Params {
    let w = &g.win;
    Params::new("depthwise_conv2d_grad")
        .u(w.n)
        .u(w.h)
        .u(w.w)
        .u(w.c)
        .u(w.oh)
        .u(w.ow)
        .u(g.multiplier)
        .u(w.kh)
        .u(w.kw)
        .u(w.sh)
        .u(w.sw)
        .u(w.dh)
        .u(w.dw)
        .u(w.pad_top)
        .u(w.pad_left)
        .u(splits)
        .u(rows_per_split)
        .align4()
}

/// True when the vec4 gradient kernels apply (multiplier 1, channels % 4 == 0).
fn grad_vec4(g: &DepthwiseGeometry, variant: DepthwiseVariant) -> bool {
    variant.pick(g) == DepthwiseVariant::Vec4
}

/// Records the input gradient of `depthwise_conv2d`: dy `[n, oh, ow, c * m]`, filter
/// `[kh, kw, c, m]`; returns the `[n, h, w, c]` buffer.
pub fn depthwise_conv2d_input_grad(
    gpu: &Gpu,
    dy: &GpuBuffer,
    filter: &GpuBuffer,
    g: &DepthwiseGeometry,
    variant: DepthwiseVariant,
) -> Result<GpuBuffer> {
    let w = &g.win;
    let cm = w.c * g.multiplier;
    let elems = w.n * w.h * w.w * w.c;
    check_u32("depthwise_conv2d_input_grad", &[w.n * w.oh * w.ow * cm, w.kh * w.kw * cm, elems + 8 * w.n * w.h * w.c])?;
    let ops = [(dy, w.oh * w.ow * cm), (filter, 0)];
    let per_batch =
        |images: usize, b: &[&GpuBuffer]| depthwise_conv2d_input_grad(gpu, b[0], b[1], &g.with_batch(images), variant);
    if let Some(out) = split::per_image(gpu, "depthwise_conv2d_input_grad", w.n, &ops, w.h * w.w * w.c, per_batch)? {
        return Ok(out);
    }
    let out = out_f32(gpu, elems)?;
    if elems == 0 {
        return Ok(out);
    }
    let (entry, threads) = if grad_vec4(g, variant) && w.sw == 1 && w.dw == 1 {
        ("dwgx_vec4_s1", w.n * w.h * w.w.div_ceil(8) * (w.c / 4))
    } else if grad_vec4(g, variant) {
        ("dwgx_vec4", w.n * w.h * w.w.div_ceil(4) * (w.c / 4))
    } else {
        ("dwgx_scalar", w.n * w.h * w.w * w.c.div_ceil(4))
    };
    let pipe = pipeline(gpu, "depthwise_conv2d_grad.wgsl", GRAD_SRC, entry, &[])?;
    let p = grad_params(g, 1, 0);
    gpu.dispatch(&pipe, p.bytes()?, &[dy, filter, &out], grid_1d(gpu, threads, 64))?;
    Ok(out)
}

/// Records the filter gradient of `depthwise_conv2d`: x `[n, h, w, c]`, dy `[n, oh, ow, c * m]`;
/// returns the `[kh, kw, c, m]` buffer. Output rows are split into chunks summed afterwards.
pub fn depthwise_conv2d_filter_grad(
    gpu: &Gpu,
    x: &GpuBuffer,
    dy: &GpuBuffer,
    g: &DepthwiseGeometry,
    variant: DepthwiseVariant,
) -> Result<GpuBuffer> {
    let w = &g.win;
    let cm = w.c * g.multiplier;
    let elems = w.kh * w.kw * cm;
    let rows = w.n * w.oh;
    check_u32("depthwise_conv2d_filter_grad", &[w.n * w.h * w.w * w.c, rows * w.ow * cm + 4, elems * rows.max(1)])?;
    let ops = [(x, w.h * w.w * w.c), (dy, w.oh * w.ow * cm)];
    let per_batch = |images: usize, b: &[&GpuBuffer]| {
        Ok(vec![depthwise_conv2d_filter_grad(gpu, b[0], b[1], &g.with_batch(images), variant)?])
    };
    let name = "depthwise_conv2d_filter_grad";
    if let Some(mut out) = split::split_images(gpu, name, w.n, &ops, &[split::Part::Sum(elems)], per_batch)? {
        return Ok(out.remove(0));
    }
    let out = out_f32(gpu, elems)?;
    if elems == 0 {
        return Ok(out);
    }
    let (entry, per_split) = match grad_vec4(g, variant) {
        true if w.sw == 1 && w.dw == 1 => ("dwgw_vec4_s1", w.kh * w.kw.div_ceil(3) * (w.c / 4)),
        true => ("dwgw_vec4", w.kh * w.kw * (w.c / 4)),
        false => ("dwgw_scalar", w.kh * w.kw * cm.div_ceil(4)),
    };
    let rows_per_split = rows.div_ceil(FILTER_GRAD_THREADS.div_ceil(per_split).clamp(1, rows.max(1))).max(1);
    let splits = rows.div_ceil(rows_per_split).max(1);
    let p = grad_params(g, splits, rows_per_split);
    let pipe = pipeline(gpu, "depthwise_conv2d_grad.wgsl", GRAD_SRC, entry, &[])?;
    if splits == 1 {
        gpu.dispatch(&pipe, p.bytes()?, &[x, dy, &out], grid_1d(gpu, per_split, 64))?;
        return Ok(out);
    }
    let part = out_f32(gpu, splits * elems)?;
    gpu.dispatch(&pipe, p.bytes()?, &[x, dy, &part], grid_1d(gpu, per_split * splits, 64))?;
    let sum = pipeline(gpu, "depthwise_conv2d_grad.wgsl", GRAD_SRC, "dwgw_sum", &[])?;
    gpu.dispatch(&sum, p.bytes()?, &[&part, &out], grid_1d(gpu, elems, 64))?;
    Ok(out)
}
