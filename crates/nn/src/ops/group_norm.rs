//! Group normalization and the ops built on it: `layer_normalization` (Keras
//! LayerNormalization over adjacent axes) and `group_normalization` (Keras GroupNormalization;
//! groups = channels is instance normalization). x is viewed as `[n, s, groups, cg]`;
//! statistics (mean, biased variance) per (example, group); one fused backward kernel family
//! gives dx, d gamma and d beta.

use tessera_kernels::group_norm::{self as k, GroupNormDims};

use crate::autodiff::record;
use crate::tensor::common_device;
use crate::{cpu, shape_err, Device, Result, Tensor};

/// Keras `LayerNormalization` as an op: normalizes over `axes` (adjacent axes of x, in any
/// order, e.g. `[3]` or `[1, 2, 3]` for NHWC, or `[1, 2]`: per example and channel over H, W)
/// with the biased variance, then `· gamma + beta`; gamma and beta (optional) have the shape of
/// those axes. Axes followed by others are brought last by a transpose (and back).
pub fn layer_normalization(
    x: &Tensor,
    gamma: Option<&Tensor>,
    beta: Option<&Tensor>,
    axes: &[usize],
    epsilon: f32,
) -> Result<Tensor> {
    let op = "layer_normalization";
    let (s, [first, end]) = (x.shape(), adjacent_axes(op, x.shape(), axes)?);
    check_params(op, &s[first..end], gamma, beta)?;
    let (outer, mid, rest) = (s[..first].iter().product(), s[first..end].iter().product(), s[end..].iter().product());
    let dims = |n: usize| GroupNormDims { n, s: 1, groups: 1, cg: mid };
    if rest == 1 {
        return group_norm(op, x, dims(outer), gamma, beta, epsilon);
    }
    // [outer, mid, rest] → [outer, rest, mid]: the normalized axes last.
    let flat = |p: Option<&Tensor>| p.map(|p| p.reshape(&[mid])).transpose();
    let xt = super::transpose2d(&x.reshape(&[outer, mid, rest])?)?;
    let yt = group_norm(op, &xt, dims(outer * rest), flat(gamma)?.as_ref(), flat(beta)?.as_ref(), epsilon)?;
    super::transpose2d(&yt)?.reshape(s)
}

/// Keras `GroupNormalization` as an op on `[n, ..., c]` (e.g. NHWC): statistics per example over
/// every non-batch position and the `c / groups` channels of each group; `groups = c` is
/// instance normalization, `groups = 1` normalizes over everything but the batch. gamma and
/// beta (optional) have shape `[c]`.
pub fn group_normalization(
    x: &Tensor,
    groups: usize,
    gamma: Option<&Tensor>,
    beta: Option<&Tensor>,
    epsilon: f32,
) -> Result<Tensor> {
    let op = "group_normalization";
    let s = x.shape();
    if s.len() < 2 {
        return Err(shape_err(op, format!("needs x of shape [n, ..., c] (rank >= 2), got {s:?}")));
    }
    let c = s[s.len() - 1];
    // Keras: at least one channel per group (also keeps n · groups within the tensor's size).
    if groups == 0 || groups > c || !c.is_multiple_of(groups) {
        return Err(shape_err(op, format!("{c} channels (x of shape {s:?}) do not split into {groups} groups")));
    }
    check_params(op, &[c], gamma, beta)?;
    let dims = GroupNormDims { n: s[0], s: s[1..s.len() - 1].iter().product(), groups, cg: c / groups };
    group_norm(op, x, dims, gamma, beta, epsilon)
}

/// The range `[first, end)` of normalized axes when `axes` are distinct, in range and adjacent.
fn adjacent_axes(op: &'static str, shape: &[usize], axes: &[usize]) -> Result<[usize; 2]> {
    let mut sorted = axes.to_vec();
    sorted.sort_unstable();
    let first = sorted.first().copied().unwrap_or(0);
    // Checked: an axis near usize::MAX must be an error, not an overflow.
    let adjacent = sorted.iter().enumerate().all(|(i, &a)| first.checked_add(i) == Some(a));
    if axes.is_empty() || !adjacent || first.checked_add(axes.len()).is_none_or(|end| end > shape.len()) {
        let msg = format!(
            "axes {axes:?} must be distinct, adjacent axes of x (shape {shape:?}), e.g. [{}]",
            shape.len().max(1) - 1
        );
        return Err(shape_err(op, msg));
    }
    Ok([first, first + axes.len()])
}

/// Checks that gamma and beta (when given) have shape `want`.
fn check_params(op: &'static str, want: &[usize], gamma: Option<&Tensor>, beta: Option<&Tensor>) -> Result<()> {
    for (what, p) in [("gamma", gamma), ("beta", beta)] {
        if let Some(p) = p.filter(|p| p.shape() != want) {
            return Err(shape_err(op, format!("{what} shape {:?} must be {want:?}", p.shape())));
        }
    }
    Ok(())
}

/// Runs group normalization of `x` viewed as `dims` and records its fused backward.
fn group_norm(
    op: &'static str,
    x: &Tensor,
    dims: GroupNormDims,
    gamma: Option<&Tensor>,
    beta: Option<&Tensor>,
    eps: f32,
) -> Result<Tensor> {
    let mut operands = vec![x];
    operands.extend(gamma.into_iter().chain(beta));
    let dev = common_device(op, &operands)?;
    let (y, mean, var) = match &dev {
        Device::Cpu => {
            let (g, b) = (gamma.map(|t| t.cpu_data()), beta.map(|t| t.cpu_data()));
            let (y, m, v) = cpu::group_norm(x.cpu_data(), dims, g, b, eps);
            let stats = vec![dims.stats()];
            (Tensor::from_cpu(y, x.shape().to_vec()), Tensor::from_cpu(m, stats.clone()), Tensor::from_cpu(v, stats))
        }
        Device::Gpu(gpu) => {
            let r = k::group_norm(gpu, x.gpu_buf(), dims, gamma.map(|t| t.gpu_buf()), beta.map(|t| t.gpu_buf()), eps)?;
            let t = |b, s: Vec<usize>| Tensor::from_gpu(b, s, &dev);
            (t(r.y, x.shape().to_vec()), t(r.mean, vec![dims.stats()]), t(r.var, vec![dims.stats()]))
        }
    };
    let saved = GnSaved { x: x.detach(), mean, var, gamma: gamma.map(Tensor::detach), dims, eps };
    let (has_gamma, has_beta) = (gamma.map(|g| g.shape().to_vec()), beta.map(|b| b.shape().to_vec()));
    Ok(record(y, op, &operands, move |g| {
        let (dx, dgamma, dbeta) = saved.grads(g)?;
        let mut grads = vec![Some(dx)];
        if let Some(s) = &has_gamma {
            grads.push(Some(dgamma.reshape(s)?));
        }
        if let Some(s) = &has_beta {
            grads.push(Some(dbeta.reshape(s)?));
        }
        Ok(grads)
    }))
}

/// What the backward of a group normalization needs: x, its statistics and gamma.
struct GnSaved {
    x: Tensor,
    mean: Tensor,
    var: Tensor,
    gamma: Option<Tensor>,
    dims: GroupNormDims,
    eps: f32,
}

impl GnSaved {
    /// (dx, d gamma, d beta) for the output gradient `dy`; the parameter gradients are
    /// `[channels]`.
    fn grads(&self, dy: &Tensor) -> Result<(Tensor, Tensor, Tensor)> {
        let (d, c) = (self.dims, self.dims.channels());
        let dev = common_device("group_normalization_grad", &[&self.x, dy])?;
        match &dev {
            Device::Cpu => {
                let g = self.gamma.as_ref().map(|t| t.cpu_data());
                let (m, v) = (self.mean.cpu_data(), self.var.cpu_data());
                let (dx, dg, db) = cpu::group_norm_grad(self.x.cpu_data(), dy.cpu_data(), d, m, v, g, self.eps);
                Ok((
                    Tensor::from_cpu(dx, self.x.shape().to_vec()),
                    Tensor::from_cpu(dg, vec![c]),
                    Tensor::from_cpu(db, vec![c]),
                ))
            }
            Device::Gpu(gpu) => {
                let (xb, dyb, mb, vb) = (self.x.gpu_buf(), dy.gpu_buf(), self.mean.gpu_buf(), self.var.gpu_buf());
                let gb = self.gamma.as_ref().map(|t| t.gpu_buf());
                let r = k::group_norm_grad(gpu, xb, dyb, mb, vb, gb, d, self.eps)?;
                let t = |b, s: Vec<usize>| Tensor::from_gpu(b, s, &dev);
                Ok((t(r.dx, self.x.shape().to_vec()), t(r.dgamma, vec![c]), t(r.dbeta, vec![c])))
            }
        }
    }
}
