//! Launcher for `shaders/depthwise_conv2d.wgsl`: `tf.nn.depthwise_conv2d` with fused bias and
//! activation, in a vec4 variant (multiplier 1, channels % 4 == 0) and a scalar fallback.

use tessera_device::{Gpu, GpuBuffer};

use crate::launch::{check_u32, grid_1d, out_f32, pipeline, Params};
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
    Params::new()
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
        .u(has_bias as usize)
        .u(act.code())
        .align4()
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
    let out = out_f32(gpu, outs)?;
    if outs == 0 {
        return Ok(out);
    }
    let (entry, threads) = match variant.pick(g) {
        DepthwiseVariant::Vec4 if w.sw == 1 && w.dw == 1 => ("dw_vec4_s1", w.n * w.oh * w.ow.div_ceil(8) * (w.c / 4)),
        DepthwiseVariant::Vec4 => ("dw_vec4", w.n * w.oh * w.ow.div_ceil(4) * (w.c / 4)),
        _ => ("dw_scalar", w.n * w.oh * w.ow * cm.div_ceil(4)),
    };
    let dummy;
    let bias_buf = match bias {
        Some(b) => b,
        None => {
            dummy = out_f32(gpu, 1)?;
            &dummy
        }
    };
    let pipe = pipeline(gpu, "depthwise_conv2d.wgsl", SRC, entry, &[])?;
    let p = params(g, bias.is_some(), act);
    gpu.dispatch(&pipe, p.bytes(), &[x, filter, bias_buf, &out], grid_1d(gpu, threads, 64))?;
    Ok(out)
}
