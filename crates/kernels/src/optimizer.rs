//! Launcher for `shaders/optimizer.wgsl`: Keras's SGD, Adam (AMSGrad) and RMSprop updates,
//! with decoupled weight decay, one fused dispatch per variable. [`Update::apply`] is the CPU
//! rule the kernels are checked against.

use tessera_device::{Gpu, GpuBuffer};

use crate::launch::{check_u32, grid_1d, out_f32, pipeline, pipeline_and_views, untimed_texels, FastReads, Params};
use crate::split::{binding_ranges, fits_binding};
use crate::Result;

const SRC: &str = include_str!("../../../shaders/optimizer.wgsl");

/// The per-algorithm part of an update, with this step's hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// Keras SGD: `m = m·momentum − g·lr; p += m` (Nesterov: `p += m·momentum − g·lr`);
    /// without momentum `p −= g·lr` and no slot.
    Sgd {
        /// Momentum (0 for plain SGD).
        momentum: f32,
        /// Nesterov momentum.
        nesterov: bool,
    },
    /// Keras Adam: `m += (g − m)(1−β1); v += (g² − v)(1−β2); p −= m·α / (√v + ε)`.
    Adam {
        /// The bias-corrected step size `α = lr·√(1−β2^t) / (1−β1^t)`.
        alpha: f32,
        /// β1.
        beta_1: f32,
        /// β2.
        beta_2: f32,
        /// ε (added to √v).
        epsilon: f32,
        /// AMSGrad: divide by the running maximum `v̂` of `v` (a third slot).
        amsgrad: bool,
    },
    /// Keras RMSprop: `v = ρv + (1−ρ)g²; p −= lr·g / √(v + ε)` (centered: `√(v − ḡ² + ε)`
    /// with `ḡ = ρḡ + (1−ρ)g`; momentum: `m = momentum·m + increment; p −= m`).
    RmsProp {
        /// ρ, the discount of the running averages.
        rho: f32,
        /// Momentum (0: no momentum slot).
        momentum: f32,
        /// ε (inside the square root).
        epsilon: f32,
        /// Centered: normalise by the estimated variance of the gradient.
        centered: bool,
    },
}

/// One optimizer step for one variable: the rule plus the base optimizer's learning rate and
/// decoupled weight decay (`p −= p·wd·lr`, applied before the rule, as Keras does).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Update {
    /// The learning rate of this step.
    pub lr: f32,
    /// Keras's `weight_decay` (0: none).
    pub weight_decay: f32,
    /// The algorithm.
    pub rule: Rule,
}

impl Rule {
    /// Keras's names of the slot variables, in their packed order.
    pub fn slot_names(&self) -> Vec<&'static str> {
        match *self {
            Rule::Sgd { momentum, .. } => {
                if momentum > 0.0 {
                    vec!["momentum"]
                } else {
                    vec![]
                }
            }
            Rule::Adam { amsgrad, .. } => [&["m", "v"][..], if amsgrad { &["vhat"] } else { &[] }].concat(),
            Rule::RmsProp { momentum, centered, .. } => {
                let mut names = vec!["velocity"];
                if momentum > 0.0 {
                    names.push("momentum");
                }
                if centered {
                    names.push("average_gradient");
                }
                names
            }
        }
    }
}

impl Update {
    /// Applies the update to one element: `s` holds its slot values (in [`Rule::slot_names`]
    /// order) and is updated in place; returns the new variable value.
    pub fn apply(&self, p: f32, g: f32, s: &mut [f32]) -> f32 {
        let p = p - p * self.weight_decay * self.lr;
        let lr = self.lr;
        match self.rule {
            Rule::Sgd { momentum, .. } if momentum <= 0.0 => p - g * lr,
            Rule::Sgd { momentum, nesterov } => {
                s[0] = s[0] * momentum - g * lr;
                p + if nesterov { s[0] * momentum - g * lr } else { s[0] }
            }
            Rule::Adam { alpha, beta_1, beta_2, epsilon, amsgrad } => {
                s[0] += (g - s[0]) * (1.0 - beta_1);
                s[1] += (g * g - s[1]) * (1.0 - beta_2);
                if amsgrad {
                    s[2] = s[2].max(s[1]);
                }
                p - s[0] * alpha / (s[if amsgrad { 2 } else { 1 }].sqrt() + epsilon)
            }
            Rule::RmsProp { rho, momentum, epsilon, centered } => {
                s[0] = rho * s[0] + (1.0 - rho) * (g * g);
                let mut denominator = s[0] + epsilon;
                if centered {
                    let a = s.len() - 1;
                    s[a] = rho * s[a] + (1.0 - rho) * g;
                    denominator = s[0] - s[a] * s[a] + epsilon;
                }
                let increment = lr * g / denominator.sqrt();
                if momentum > 0.0 {
                    s[1] = momentum * s[1] + increment;
                    return p - s[1];
                }
                p - increment
            }
        }
    }
}

/// Records one update of a variable of `n` elements whose `k` slots are packed slot-major in
/// one buffer (`slots[j·n + i]`); returns the new (variable, packed slots) buffers.
pub fn update(
    gpu: &Gpu,
    upd: &Update,
    [param, grad, slots]: [&GpuBuffer; 3],
    n: usize,
) -> Result<(GpuBuffer, GpuBuffer)> {
    let k = upd.rule.slot_names().len();
    check_u32("optimizer", &[n * k])?;
    let outs = (out_f32(gpu, n)?, out_f32(gpu, n * k)?);
    if n == 0 {
        return Ok(outs);
    }
    let (rule, params) = kernel_params(upd, k);
    let constants = [("RULE", rule as f64), ("SLOTS", k as f64)];
    if fits_binding(gpu, n * k.max(1)) {
        // 4 elements per invocation where every slot row starts aligned.
        let (entry, threads) = if n.is_multiple_of(4) { ("update4", n / 4) } else { ("update", n) };
        let texels = untimed_texels(gpu, &[param, grad, slots]).then_some(FastReads::texels(&[1, 2, 3]));
        let bufs = [param, grad, slots, &outs.0, &outs.1];
        let (pipe, views) = pipeline_and_views(gpu, ("optimizer.wgsl", SRC), (entry, &constants), &bufs, texels)?;
        gpu.dispatch_views(&pipe, params(n).bytes()?, &views, grid_1d(gpu, threads, 256))?;
        return Ok(outs);
    }
    let pipe = pipeline(gpu, "optimizer.wgsl", SRC, "update", &constants)?;
    // Past one binding: update aligned ranges, each range's slot rows gathered into a compact
    // [k, len] buffer and scattered back (the packed slots of a range are not contiguous).
    for (start, len) in binding_ranges(gpu, n, k.max(1)) {
        let (tmp, tmp_out) = (out_f32(gpu, len * k)?, out_f32(gpu, len * k)?);
        let (at, bytes) = (|i: usize| i as u64 * 4, len as u64 * 4);
        for j in 0..k {
            gpu.copy(slots, at(j * n + start), &tmp, at(j * len), bytes)?;
        }
        let views = [
            param.window(at(start), bytes),
            grad.window(at(start), bytes),
            tmp.whole(),
            outs.0.window(at(start), bytes),
            tmp_out.whole(),
        ];
        gpu.dispatch_views(&pipe, params(len).bytes()?, &views, grid_1d(gpu, len, 256))?;
        for j in 0..k {
            gpu.copy(&tmp_out, at(j * len), &outs.1, at(j * n + start), bytes)?;
        }
    }
    Ok(outs)
}

/// The update's `RULE` constant (the shader's code of its rule), and its uniform for `n`
/// elements (`k` slots per element).
fn kernel_params(upd: &Update, k: usize) -> (u32, impl Fn(usize) -> Params) {
    let rule = upd.rule;
    let (lr, wd) = (upd.lr, upd.weight_decay);
    let code = match rule {
        Rule::Sgd { .. } => 0,
        Rule::Adam { .. } => 1,
        Rule::RmsProp { .. } => 2,
    };
    let params = move |n: usize| {
        let head =
            |flag: bool, i_mom: usize, i_avg: usize| Params::new("optimizer").u(n).u(flag as usize).u(i_mom).u(i_avg);
        let p = match rule {
            Rule::Sgd { momentum, nesterov } => head(nesterov, 0, 0).f(0.0).f(momentum).f(0.0).f(0.0).f(0.0).f(0.0),
            Rule::Adam { alpha, beta_1, beta_2, epsilon, amsgrad } => {
                head(amsgrad, 0, 0).f(alpha).f(0.0).f(beta_1).f(beta_2).f(0.0).f(epsilon)
            }
            Rule::RmsProp { rho, momentum, epsilon, centered } => {
                head(centered, 1, k - 1).f(0.0).f(momentum).f(0.0).f(0.0).f(rho).f(epsilon)
            }
        };
        p.f(lr).f(wd)
    };
    (code, params)
}

/// Elements per slot row of the packed multi-tensor layout ([`pack_slots`], [`update_many`]):
/// the variables' total rounded up to a multiple of 4, so every slot row starts aligned and
/// the update reads 4 elements per load. The padding elements are updated like the others
/// (from whatever the pooled buffers hold there) and never read back.
pub fn packed_len(total: usize) -> usize {
    total.next_multiple_of(4)
}

/// One variable of a multi-tensor update: its value, its gradient and its element count.
pub type Var<'a> = (&'a GpuBuffer, &'a GpuBuffer, usize);

/// Records one update of many variables with a single dispatch: the values and gradients are
/// copied (buffer copies, no dispatch) into two flat buffers, [`update`] runs once over the
/// concatenation, and the new values are copied back out per variable. `slots` holds every
/// variable's slots packed slot-major over the concatenation (`slots[j·total + offset + i]`,
/// see [`pack_slots`]; `total` is [`packed_len`] of the sum of the lengths). Returns the new
/// values (one buffer per variable) and the new packed slots. The rule is elementwise, so
/// this equals one [`update`] per variable.
pub fn update_many(
    gpu: &Gpu,
    upd: &Update,
    vars: &[Var<'_>],
    slots: &GpuBuffer,
) -> Result<(Vec<GpuBuffer>, GpuBuffer)> {
    let total = total_len(vars.iter().map(|v| v.2))?;
    let (flat_p, flat_g) = (out_f32(gpu, total)?, out_f32(gpu, total)?);
    let mut off = 0u64;
    for &(p, g, n) in vars {
        let bytes = n as u64 * 4;
        if bytes > 0 {
            gpu.copy(p, 0, &flat_p, off, bytes)?;
            gpu.copy(g, 0, &flat_g, off, bytes)?;
        }
        off += bytes;
    }
    let (new_p, new_slots) = update(gpu, upd, [&flat_p, &flat_g, slots], total)?;
    let mut outs = Vec::with_capacity(vars.len());
    let mut off = 0u64;
    for &(_, _, n) in vars {
        let bytes = n as u64 * 4;
        let out = out_f32(gpu, n)?;
        if bytes > 0 {
            gpu.copy(&new_p, off, &out, 0, bytes)?;
        }
        outs.push(out);
        off += bytes;
    }
    Ok((outs, new_slots))
}

/// [`packed_len`] of the sum of the lengths, checked against the shaders' 32-bit indices.
fn total_len(lens: impl Iterator<Item = usize>) -> Result<usize> {
    let mut total = 0usize;
    for n in lens {
        total = total.checked_add(n).ok_or_else(|| crate::shape_err("optimizer", "variable sizes overflow"))?;
    }
    let total = total.checked_add(3).map(|_| packed_len(total));
    let total = total.ok_or_else(|| crate::shape_err("optimizer", "variable sizes overflow"))?;
    check_u32("optimizer", &[total])?;
    Ok(total)
}

/// Packs `k` slots of each variable (`[k, n]` buffers, `None`: all zeros) slot-major over the
/// concatenation of the variables, rows of [`packed_len`] elements: the layout [`update_many`]
/// reads. Buffer copies only (and
/// one fill when a variable has no slots yet).
pub fn pack_slots(gpu: &Gpu, k: usize, parts: &[(Option<&GpuBuffer>, usize)]) -> Result<GpuBuffer> {
    let total = total_len(parts.iter().map(|p| p.1))?;
    check_u32("optimizer", &[total * k])?;
    let flat = match parts.iter().any(|p| p.0.is_none()) {
        true => crate::elementwise::fill(gpu, 0.0, total * k)?,
        false => out_f32(gpu, total * k)?,
    };
    let mut off = 0u64;
    for &(buf, n) in parts {
        if let Some(buf) = buf {
            for j in 0..k as u64 {
                let bytes = n as u64 * 4;
                if bytes > 0 {
                    gpu.copy(buf, j * bytes, &flat, j * total as u64 * 4 + off, bytes)?;
                }
            }
        }
        off += n as u64 * 4;
    }
    Ok(flat)
}

/// The `[k, n]` slots of the variable at element `offset` of a packed buffer over `total`
/// elements (the inverse of [`pack_slots`] for one variable).
pub fn unpack_slots(gpu: &Gpu, k: usize, flat: &GpuBuffer, total: usize, offset: usize, n: usize) -> Result<GpuBuffer> {
    let out = out_f32(gpu, k * n)?;
    let bytes = n as u64 * 4;
    if bytes > 0 {
        for j in 0..k as u64 {
            gpu.copy(flat, (j * total as u64 + offset as u64) * 4, &out, j * bytes, bytes)?;
        }
    }
    Ok(out)
}
