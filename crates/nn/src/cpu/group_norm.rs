//! CPU twins of `shaders/group_norm.wgsl`: group normalization of x viewed as
//! `[n, s, groups, cg]` (statistics per example and group) and its backward, with plain loops.

pub use tessera_kernels::group_norm::GroupNormDims;

/// The flat indices of the elements of group `grp` of example `n`, and their channels.
fn members(d: GroupNormDims, n: usize, grp: usize) -> impl Iterator<Item = (usize, usize)> {
    let c = d.channels();
    (0..d.s).flat_map(move |s| (0..d.cg).map(move |k| ((n * d.s + s) * c + grp * d.cg + k, grp * d.cg + k)))
}

/// Group normalization: returns (y, mean, variance), the statistics per (example, group)
/// (mean, then the mean of squared deviations from it) and
/// `y = (x − mean)/√(var + ε) · gamma[ch] + beta[ch]` (gamma 1 and beta 0 when absent).
pub fn group_norm(
    x: &[f32],
    d: GroupNormDims,
    gamma: Option<&[f32]>,
    beta: Option<&[f32]>,
    epsilon: f32,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let count = (d.s * d.cg) as f32;
    let (mut y, mut mean, mut var) = (vec![0.0f32; x.len()], vec![0.0f32; d.stats()], vec![0.0f32; d.stats()]);
    for n in 0..d.n {
        for grp in 0..d.groups {
            let ng = n * d.groups + grp;
            mean[ng] = members(d, n, grp).map(|(i, _)| x[i]).sum::<f32>() / count;
            var[ng] = members(d, n, grp).map(|(i, _)| (x[i] - mean[ng]) * (x[i] - mean[ng])).sum::<f32>() / count;
            let sd = (var[ng] + epsilon).sqrt();
            for (i, ch) in members(d, n, grp) {
                let (g, b) = (gamma.map_or(1.0, |g| g[ch]), beta.map_or(0.0, |b| b[ch]));
                y[i] = (x[i] - mean[ng]) / sd * g + b;
            }
        }
    }
    (y, mean, var)
}

/// Backward of [`group_norm`] given the output gradient `dy` and the forward's statistics:
/// returns (dx, d gamma, d beta) with x̂ = (x − mean)/σ, d = dy · gamma,
/// dx = (d − mean(d) − x̂ · mean(d · x̂))/σ over each group, d gamma = Σ dy · x̂, d beta = Σ dy.
pub fn group_norm_grad(
    x: &[f32],
    dy: &[f32],
    d: GroupNormDims,
    mean: &[f32],
    var: &[f32],
    gamma: Option<&[f32]>,
    epsilon: f32,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let count = (d.s * d.cg) as f32;
    let (mut dx, mut dgamma, mut dbeta) =
        (vec![0.0f32; x.len()], vec![0.0f32; d.channels()], vec![0.0f32; d.channels()]);
    for n in 0..d.n {
        for grp in 0..d.groups {
            let ng = n * d.groups + grp;
            let sd = (var[ng] + epsilon).sqrt();
            let xhat = |i: usize| (x[i] - mean[ng]) / sd;
            let scaled = |i: usize, ch: usize| dy[i] * gamma.map_or(1.0, |g| g[ch]);
            let (mut sum_d, mut sum_dx) = (0.0f32, 0.0f32);
            for (i, ch) in members(d, n, grp) {
                sum_d += scaled(i, ch);
                sum_dx += scaled(i, ch) * xhat(i);
                dbeta[ch] += dy[i];
                dgamma[ch] += dy[i] * xhat(i);
            }
            for (i, ch) in members(d, n, grp) {
                dx[i] = (scaled(i, ch) - sum_d / count - xhat(i) * sum_dx / count) / sd;
            }
        }
    }
    (dx, dgamma, dbeta)
}
