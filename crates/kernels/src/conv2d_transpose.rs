//! Launcher for `shaders/conv2d_transpose.wgsl`: `tf.nn.conv2d_transpose` as a gather kernel
//! (no atomics) with fused bias and activation, in a vec4 (cin % 4 == 0) and a scalar variant.

use tessera_device::{Gpu, GpuBuffer};

use crate::launch::{check_u32, grid_1d, or_placeholder, out_f32, pipeline, window_params, Params};
use crate::split;
use crate::{Activation, Conv2dTransposeGeometry, Result};

const SRC: &str = include_str!("../../../shaders/conv2d_transpose.wgsl");

/// Which conv2d_transpose kernel to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conv2dTransposeVariant {
    /// Pick per geometry.
    Auto,
    /// Scalar loads along the input channels; any shape.
    Scalar,
    /// Vec4 loads along the input channels, 4 channels x 4 columns per invocation; needs cin % 4 == 0.
    Vec4,
}

impl Conv2dTransposeVariant {
    /// The variant `Auto` (or an unusable `Vec4`) resolves to for this geometry.
    pub fn pick(self, g: &Conv2dTransposeGeometry) -> Conv2dTransposeVariant {
        match self {
            Conv2dTransposeVariant::Auto | Conv2dTransposeVariant::Vec4 if g.cin.is_multiple_of(4) => {
                Conv2dTransposeVariant::Vec4
            }
            _ => Conv2dTransposeVariant::Scalar,
        }
    }
}

fn params(g: &Conv2dTransposeGeometry, has_bias: bool, act: Activation) -> Params {
    // The forward conv maps our output (its input) to our input (its output).
    let w = &g.fwd.win;
    window_params("conv2d_transpose", w, [w.oh, w.ow, g.cin], [w.h, w.w, w.c], has_bias, act).align4()
}

/// For stride 1 (with padding no wider than the dilated window less one), the padding of the
/// plain conv over the forward conv's output (with the flipped filter) that gives its input
/// gradient: `(eff − 1 − pad)` on each side.
pub(crate) fn stride1_padding(w: &crate::Window2d) -> Option<crate::Padding> {
    let (eh, ew) = ((w.kh - 1) * w.dh + 1, (w.kw - 1) * w.dw + 1);
    let pads = [w.pad_top, w.pad_bottom, w.pad_left, w.pad_right];
    if w.sh != 1 || w.sw != 1 || pads[..2].iter().any(|&p| p >= eh) || pads[2..].iter().any(|&p| p >= ew) {
        return None;
    }
    Some(crate::Padding::Explicit([
        [eh - 1 - w.pad_top, eh - 1 - w.pad_bottom],
        [ew - 1 - w.pad_left, ew - 1 - w.pad_right],
    ]))
}

/// For stride 1 (see [`stride1_padding`]), the geometry of the equivalent plain conv: input
/// `[n, ih, iw, cin]`, flipped filter `[kh, kw, cin, cout]`.
fn as_stride1_conv(g: &Conv2dTransposeGeometry) -> Result<Option<crate::Conv2dGeometry>> {
    let w = &g.fwd.win;
    let Some(padding) = stride1_padding(w) else { return Ok(None) };
    let x = [w.n, w.oh, w.ow, g.cin];
    crate::Conv2dGeometry::new(&x, &[w.kh, w.kw, g.cin, w.c], [1, 1], [w.dh, w.dw], &padding).map(Some)
}

/// Records `act(conv2d_transpose(x, filter) + bias)`; returns the `[n, oh, ow, cout]` buffer.
pub fn conv2d_transpose(
    gpu: &Gpu,
    x: &GpuBuffer,
    filter: &GpuBuffer,
    bias: Option<&GpuBuffer>,
    g: &Conv2dTransposeGeometry,
    act: Activation,
    variant: Conv2dTransposeVariant,
) -> Result<GpuBuffer> {
    let w = &g.fwd.win;
    let outs = w.n * w.h * w.w * w.c;
    let threads = w.n * w.h * w.w * w.c.div_ceil(4);
    check_u32(
        "conv2d_transpose",
        &[w.n * w.oh * w.ow * g.cin, w.kh * w.kw * w.c * g.cin, outs + 3 * threads + 4 * w.sw * w.c],
    )?;
    if outs == 0 {
        // Nothing to compute (e.g. no output channels, which conv2d itself would refuse).
        return out_f32(gpu, 0);
    }
    let mut ops = vec![(x, w.oh * w.ow * g.cin), (filter, 0)];
    ops.extend(bias.map(|b| (b, 0)));
    let per_batch = |images: usize, b: &[&GpuBuffer]| {
        conv2d_transpose(gpu, b[0], b[1], b.get(2).copied(), &g.with_batch(images), act, variant)
    };
    if let Some(out) = split::per_image(gpu, "conv2d_transpose", w.n, &ops, w.h * w.w * w.c, per_batch)? {
        return Ok(out);
    }
    if variant == Conv2dTransposeVariant::Auto {
        if let Some(conv) = as_stride1_conv(g)? {
            // Stride 1: a plain conv with the flipped filter runs on the fast conv2d kernels
            // (the direct one reads the filter flipped in place).
            let auto = crate::conv2d::Conv2dVariant::Auto;
            return crate::conv2d::conv2d_flipped(gpu, x, filter, bias, &conv, act, auto);
        }
    }
    let out = out_f32(gpu, outs)?;
    let (entry, threads) = match variant.pick(g) {
        Conv2dTransposeVariant::Vec4 => {
            let cols = w.sw * w.w.div_ceil(w.sw).div_ceil(4);
            ("tconv_vec4", w.n * w.h * cols * w.c.div_ceil(4))
        }
        _ => ("tconv_scalar", threads),
    };
    let bias_buf = or_placeholder(gpu, bias)?;
    let pipe = pipeline(gpu, "conv2d_transpose.wgsl", SRC, entry, &[])?;
    let p = params(g, bias.is_some(), act);
    gpu.dispatch(&pipe, p.bytes()?, &[x, filter, &bias_buf, &out], grid_1d(gpu, threads, 64))?;
    Ok(out)
}
