//! Launcher for `shaders/dense_xent.wgsl`: a classifier's head — a Dense layer without
//! activation, then the mean sparse softmax cross-entropy of its logits, the accuracy, and
//! the gradients of the loss for its input, kernel and bias — in one dispatch
//! ([`HeadFusion::Fused`] on one workgroup, [`HeadFusion::Split`] on a few that each compute
//! the logits and share the gradients, so that a CPU adapter's threads split the work) or in
//! the three launches it replaces (the dense product, `losses::softmax_xent_mean_accuracy_grad`
//! and `dense_grad::dense_backward`); [`HeadFusion::SplitTexels`] is the fused kernel reading
//! its inputs through uniform or texel views. The autotuner times them per shape class.
//! [`dense_xent_cpu`] is the CPU twin.

use tessera_device::{Gpu, GpuBuffer};

use crate::dense_grad::{dense_backward, DenseDims};
use crate::launch::{check_u32, out_f32, pipeline_and_views, FastReads, Params};
use crate::matmul::{matmul, Matmul, MatmulVariant};
use crate::{autotune, Activation, Result};

const SRC: &str = include_str!("../../../shaders/dense_xent.wgsl");

/// The most logits (`rows · classes`) the fused kernel holds in workgroup memory (its `HEAD`).
pub const HEAD_MAX_LOGITS: usize = 1024;

/// How [`dense_xent`] runs: `Auto` times the fused kernel (on 1, 2 and 4 workgroups, and
/// its texel twin where [`autotune::texels_pay`]) against the three launches, `Fused`,
/// `Split` and `SplitTexels` take the fused kernel wherever it covers the sizes
/// ([`head_fusable`]), `Separate` always launches the three (for tests and benchmarks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadFusion {
    /// Timed per shape class (the fused kernel when nothing is timed).
    Auto,
    /// The fused kernel on one workgroup where it covers the sizes.
    Fused,
    /// The fused kernel on this many workgroups (at least 1) where it covers the sizes.
    Split(u32),
    /// `Split` reading the labels, input, kernel and bias through uniform views where they fit
    /// and those pay (`autotune::uniform_pays`), else texel views (storage where one of them
    /// is past the adapter's texture size).
    SplitTexels(u32),
    /// The dense product, the loss, the dense backward.
    Separate,
}

/// What the head gives: the mean loss and the accuracy (one element each) and the gradients
/// of the loss for the input `[rows, inputs]`, the kernel `[inputs, classes]` and the bias.
pub struct HeadGrads {
    /// The mean sparse softmax cross-entropy.
    pub loss: GpuBuffer,
    /// The fraction of rows whose first argmax is their label.
    pub accuracy: GpuBuffer,
    /// d loss / d x.
    pub dx: GpuBuffer,
    /// d loss / d kernel.
    pub dw: GpuBuffer,
    /// d loss / d bias.
    pub db: GpuBuffer,
}

/// Whether the fused kernel covers the sizes: inputs a multiple of 4, at most
/// [`HEAD_MAX_LOGITS`] logits, none of the sizes zero, and every operand in one binding.
pub fn head_fusable(gpu: &Gpu, d: DenseDims) -> bool {
    let floats = [d.batch * d.inputs, d.inputs * d.units];
    let fits = floats.iter().all(|&f| (f as u64) * 4 <= gpu.max_binding_bytes());
    let logits = d.batch.saturating_mul(d.units);
    d.inputs.is_multiple_of(4) && d.macs() > 0 && logits <= HEAD_MAX_LOGITS && fits
}

/// Records the head for class ids `labels [rows]`, input `x [rows, inputs]`, kernel
/// `w [inputs, classes]` and bias `b [classes]` (`d.units` classes); `rows` positive.
pub fn dense_xent(
    gpu: &Gpu,
    labels: &GpuBuffer,
    [x, w, b]: [&GpuBuffer; 3],
    d: DenseDims,
    fusion: HeadFusion,
) -> Result<HeadGrads> {
    check_u32("dense_xent", &[d.macs(), d.batch * d.inputs, d.inputs * d.units])?;
    if d.batch == 0 || d.units == 0 {
        return Err(crate::shape_err("dense_xent", format!("the mean loss of no rows or classes: {d:?}")));
    }
    if fusion == HeadFusion::Separate || !head_fusable(gpu, d) {
        return separate(gpu, labels, [x, w, b], d);
    }
    let launch = |f: HeadFusion| match f {
        HeadFusion::Split(g) => fused_head(gpu, labels, [x, w, b], d, (g, false)),
        HeadFusion::SplitTexels(g) => fused_head(gpu, labels, [x, w, b], d, (g, true)),
        HeadFusion::Fused => fused_head(gpu, labels, [x, w, b], d, (1, false)),
        HeadFusion::Separate | HeadFusion::Auto => separate(gpu, labels, [x, w, b], d),
    };
    if fusion != HeadFusion::Auto {
        return launch(fusion);
    }
    let key = format!("dense_xent {}x{}x{}", d.batch, d.inputs, d.units);
    let candidates = autotune::with_texel_twins(gpu, candidates(), |f| matches!(f, HeadFusion::SplitTexels(_)));
    let chosen = autotune::choose(gpu, &key, &candidates, HeadFusion::Fused, |f| launch(f).map(|h| h.dx))?;
    launch(chosen)
}

/// What the autotuner times for a head the fused kernel covers (the texel twins are dropped
/// where texel views do not pay).
fn candidates() -> Vec<(&'static str, HeadFusion)> {
    vec![
        ("fused", HeadFusion::Fused),
        ("split2", HeadFusion::Split(2)),
        ("split4", HeadFusion::Split(4)),
        ("fused texels", HeadFusion::SplitTexels(1)),
        ("split2 texels", HeadFusion::SplitTexels(2)),
        ("split4 texels", HeadFusion::SplitTexels(4)),
        ("separate", HeadFusion::Separate),
    ]
}

/// The fused kernel on `groups` workgroups (sizes [`head_fusable`]), with `texels` reading
/// its inputs through uniform or texel views ([`FastReads`]) where they fit a texture; the
/// loss and accuracy are copied out of its two-element result.
fn fused_head(
    gpu: &Gpu,
    labels: &GpuBuffer,
    [x, w, b]: [&GpuBuffer; 3],
    d: DenseDims,
    (groups, texels): (u32, bool),
) -> Result<HeadGrads> {
    let DenseDims { batch, inputs, units } = d;
    let stats = out_f32(gpu, 2)?;
    let (dx, dw, db) = (out_f32(gpu, batch * inputs)?, out_f32(gpu, inputs * units)?, out_f32(gpu, units)?);
    let p = Params::new("dense_xent").u(batch).u(inputs).u(units).u(0);
    let p = p.f(f32::NAN).f(1.0 / batch as f32).u(0).u(0);
    let fit = [labels, x, w, b].iter().all(|v| v.len() <= gpu.max_texel_bytes());
    // Uniform views where they fit and those pay (LeNet-5's x and kernel: 10.5 and 3.3 KiB).
    let views = (texels && fit).then_some(FastReads { texels: &[], small: &[1, 2, 3, 4] });
    let buffers = [labels, x, w, b, &stats, &dx, &dw, &db];
    let (pipe, views) = pipeline_and_views(gpu, ("dense_xent.wgsl", SRC), ("dense_xent_grad", &[]), &buffers, views)?;
    gpu.dispatch_views(&pipe, p.bytes()?, &views, [groups.max(1), 1, 1])?;
    let (loss, accuracy) = (out_f32(gpu, 1)?, out_f32(gpu, 1)?);
    gpu.copy(&stats, 0, &loss, 0, 4)?;
    gpu.copy(&stats, 4, &accuracy, 0, 4)?;
    Ok(HeadGrads { loss, accuracy, dx, dw, db })
}

/// The three launches: logits = x·w + b, the loss with its logits gradient, the dense backward.
fn separate(gpu: &Gpu, labels: &GpuBuffer, [x, w, b]: [&GpuBuffer; 3], d: DenseDims) -> Result<HeadGrads> {
    let mm = Matmul::new(d.batch, d.inputs, d.units);
    let logits = matmul(gpu, x, w, Some(b), &mm, MatmulVariant::Auto)?;
    let (loss, accuracy, dl) = crate::losses::softmax_xent_mean_accuracy_grad(gpu, labels, &logits, d.batch, d.units)?;
    let (dx, dw, db) = dense_backward(gpu, Activation::None, [x, w, &dl], None, d)?;
    Ok(HeadGrads { loss, accuracy, dx, dw, db })
}

/// The CPU twin, plain loops: `([loss, accuracy], dx, dw, db)` as the kernel computes them
/// (an id that is not an integer in `[0, classes)` makes its row's loss and gradient NaN).
pub fn dense_xent_cpu(
    labels: &[f32],
    [x, w, b]: [&[f32]; 3],
    d: DenseDims,
) -> ([f32; 2], Vec<f32>, Vec<f32>, Vec<f32>) {
    let DenseDims { batch, inputs, units: k } = d;
    let mut dl = vec![0.0f32; batch * k];
    let (mut loss, mut correct) = (0.0f32, 0.0f32);
    for r in 0..batch {
        let z: Vec<f32> =
            (0..k).map(|u| b[u] + (0..inputs).map(|i| x[r * inputs + i] * w[i * k + u]).sum::<f32>()).collect();
        let m = z.iter().copied().fold(z[0], |a, v| if a.is_nan() || v.is_nan() { f32::NAN } else { a.max(v) });
        let sum: f32 = z.iter().map(|v| (v - m).exp()).sum();
        let arg = (0..k).fold((0, f32::MIN), |(a, best), j| if z[j] > best { (j, z[j]) } else { (a, best) }).0;
        let l = labels[r];
        let ok = l >= 0.0 && l < k as f32 && l.fract() == 0.0;
        loss += if ok { (m - z[l as usize]) + sum.ln() } else { f32::NAN };
        correct += f32::from(u8::from(l == arg as f32));
        for j in 0..k {
            let one_hot = f32::from(u8::from(ok && j == l as usize));
            dl[r * k + j] = if ok { ((z[j] - m).exp() / sum - one_hot) / batch as f32 } else { f32::NAN };
        }
    }
    let (dx, dw, db) = crate::dense_grad::dense_grad_cpu(Activation::None, [x, w, &dl, &dl], d);
    ([loss / batch as f32, correct / batch as f32], dx, dw, db)
}
