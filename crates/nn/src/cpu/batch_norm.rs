//! CPU twins of `shaders/batch_norm.wgsl`: `tf.nn.moments`, `tf.nn.batch_normalization` (with
//! an optional fused activation) and the backward of training-mode batch norm, with plain loops.

use tessera_kernels::Activation;

/// The output index (row-major over the kept axes) of every element of `shape`.
fn output_index(shape: &[usize], reduced: &[bool]) -> Vec<usize> {
    let n: usize = shape.iter().product();
    let mut idx = vec![0usize; shape.len()];
    let mut result = Vec::with_capacity(n);
    for _ in 0..n {
        let mut o = 0;
        for d in 0..shape.len() {
            if !reduced[d] {
                o = o * shape[d] + idx[d];
            }
        }
        result.push(o);
        for d in (0..shape.len()).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    result
}

/// `tf.nn.moments`: the mean over the `reduced` axes, then the mean of squared deviations
/// from it (the biased variance). Outputs are row-major over the kept axes.
pub fn moments(x: &[f32], shape: &[usize], reduced: &[bool]) -> (Vec<f32>, Vec<f32>) {
    let outs: usize = shape.iter().zip(reduced).filter(|(_, &r)| !r).map(|(d, _)| d).product();
    let count: usize = shape.iter().zip(reduced).filter(|(_, &r)| r).map(|(d, _)| d).product();
    let index = output_index(shape, reduced);
    let mut mean = vec![0.0f32; outs];
    for (v, &o) in x.iter().zip(&index) {
        mean[o] += v;
    }
    mean.iter_mut().for_each(|m| *m /= count as f32);
    let mut var = vec![0.0f32; outs];
    for (v, &o) in x.iter().zip(&index) {
        var[o] += (v - mean[o]) * (v - mean[o]);
    }
    var.iter_mut().for_each(|s| *s /= count as f32);
    (mean, var)
}

/// `tf.nn.batch_normalization` over the last axis of `c` channels, then `act`:
/// `act((x − mean) · scale / √(variance + ε) + offset)`.
#[allow(clippy::too_many_arguments)]
pub fn batch_normalization(
    x: &[f32],
    c: usize,
    mean: &[f32],
    variance: &[f32],
    offset: Option<&[f32]>,
    scale: Option<&[f32]>,
    epsilon: f32,
    act: Activation,
) -> Vec<f32> {
    let mut out = Vec::with_capacity(x.len());
    for (i, &v) in x.iter().enumerate() {
        let ch = i % c;
        let k = scale.map_or(1.0, |s| s[ch]) / (variance[ch] + epsilon).sqrt();
        out.push(act.apply((v - mean[ch]) * k + offset.map_or(0.0, |o| o[ch])));
    }
    out
}

/// Backward of training-mode batch norm on `x` viewed as `[rows, c]` with batch statistics
/// `mean`, `var` over rows: returns (dx, d gamma, d beta) for `dy`, using
/// x̂ = (x − mean)/σ and dx = γ/σ · (dy − mean(dy) − x̂ · mean(dy · x̂)) per channel.
pub fn batch_norm_training_grad(
    x: &[f32],
    dy: &[f32],
    c: usize,
    mean: &[f32],
    var: &[f32],
    gamma: &[f32],
    epsilon: f32,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let rows = x.len().checked_div(c).unwrap_or(0);
    let sd: Vec<f32> = var.iter().map(|v| (v + epsilon).sqrt()).collect();
    let (mut dbeta, mut dgamma) = (vec![0.0f32; c], vec![0.0f32; c]);
    for (i, (&xv, &g)) in x.iter().zip(dy).enumerate() {
        let ch = i % c;
        dbeta[ch] += g;
        dgamma[ch] += g * (xv - mean[ch]) / sd[ch];
    }
    let mut dx = Vec::with_capacity(x.len());
    for (i, (&xv, &g)) in x.iter().zip(dy).enumerate() {
        let ch = i % c;
        let xhat = (xv - mean[ch]) / sd[ch];
        let mean_g = dbeta[ch] / rows as f32;
        let mean_gx = dgamma[ch] / rows as f32;
        dx.push(gamma[ch] / sd[ch] * (g - mean_g - xhat * mean_gx));
    }
    (dx, dgamma, dbeta)
}
