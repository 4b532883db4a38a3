//! Launcher for `shaders/elementwise.wgsl`: broadcasting binary ops (optionally followed by a
//! fused activation), unary ops and fill.

use tessera_device::{Gpu, GpuBuffer};

use crate::launch::{act_constant, check_u32, grid_1d, out_f32, pipeline, Params};
use crate::split::{binding_ranges, fits_binding};
use crate::{shape_err, Activation, Result};

const SRC: &str = include_str!("../../../shaders/elementwise.wgsl");
const MAX_RANK: usize = 8;

/// Binary elementwise operations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BinaryOp {
    /// a + b
    Add,
    /// a - b
    Sub,
    /// a * b
    Mul,
    /// a / b
    Div,
    /// max(a, b)
    Maximum,
    /// min(a, b)
    Minimum,
    /// a ^ b
    Pow,
    /// 1 where a > b, else 0
    Greater,
    /// b where a > 0, else 0 (ReLU's gradient: a = input or output, b = upstream gradient)
    ReluGrad,
    /// b · a · (1 − a) (sigmoid's gradient from its output a)
    SigmoidGrad,
    /// b · (1 − a²) (tanh's gradient from its output a)
    TanhGrad,
    /// a + t · (b − a): moving averages in one pass
    Lerp(f32),
    /// b · relu'(a) for Keras's general ReLU (a = input, b = upstream gradient)
    ReluExtGrad(ReluSpec),
    /// b · elu'(a) with this alpha (a = input, b = upstream gradient)
    EluGrad(f32),
}

/// Unary elementwise operations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum UnaryOp {
    /// max(x, 0)
    Relu,
    /// 1 / (1 + e^-x)
    Sigmoid,
    /// tanh(x)
    Tanh,
    /// e^x
    Exp,
    /// ln(x)
    Log,
    /// -x
    Neg,
    /// sqrt(x)
    Sqrt,
    /// |x|
    Abs,
    /// x^2
    Square,
    /// alpha * x + beta
    Affine(f32, f32),
    /// Keras's general ReLU (`keras.activations.relu`); NaN stays NaN
    ReluExt(ReluSpec),
    /// x if x > 0, else alpha · (e^x − 1) (`tf.nn.elu`, Keras `ELU(alpha)`); NaN stays NaN
    Elu(f32),
}

/// The options of `keras.activations.relu`: `x > threshold` gives `x` (clipped to
/// `[0, max_value]` when there is a maximum), `x < threshold` gives
/// `negative_slope · (x − threshold)` and `x == threshold` gives 0. NaN stays NaN (Keras maps
/// it to 0 when `threshold != 0` and `negative_slope == 0`). Gradients follow TensorFlow's for
/// Keras's composition of ops, kinks included: `relu6` (`max_value` 6, `threshold` 0) has
/// gradient 0 at 0 and 6; `leaky_relu` (a slope, no maximum, `threshold` 0) has the slope at 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReluSpec {
    /// The clip value (`None`: no maximum).
    pub max_value: Option<f32>,
    /// The slope below the threshold.
    pub negative_slope: f32,
    /// Where the linear part starts.
    pub threshold: f32,
}

impl ReluSpec {
    /// Keras takes `tf.nn.leaky_relu` for a slope without maximum or threshold.
    fn leaky(self) -> bool {
        self.negative_slope != 0.0 && self.max_value.is_none() && self.threshold == 0.0
    }

    /// The value at `x`.
    pub fn apply(self, x: f32) -> f32 {
        let (t, s) = (self.threshold, self.negative_slope);
        if self.leaky() {
            return if x > 0.0 { x } else { s * x };
        }
        if x > t {
            self.max_value.map_or(x, |m| x.min(m).max(0.0))
        } else if x < t {
            // No slope means 0 below the threshold, even at −inf (0 · −inf would be NaN).
            if s == 0.0 {
                0.0
            } else {
                s * (x - t)
            }
        } else if x == t || (t != 0.0 && s == 0.0) {
            // NaN lands here: Keras selects 0 above a nonzero threshold (`where(x > t, x, 0)`)
            // and, without a slope, adds nothing; otherwise the NaN propagates.
            0.0
        } else {
            x
        }
    }

    /// The derivative at `x` (TensorFlow's choice at the kinks; 0 or the leaky slope at NaN).
    pub fn grad(self, x: f32) -> f32 {
        let (t, s) = (self.threshold, self.negative_slope);
        if self.leaky() {
            return if x > 0.0 { 1.0 } else { s };
        }
        let linear = match self.max_value {
            Some(m) if m == 6.0 && t == 0.0 => x > 0.0 && x < 6.0,
            Some(m) => x > t && x >= 0.0 && x <= m,
            None => x > t,
        };
        (linear as u8 as f32) + if x < t { s } else { 0.0 }
    }

    /// The shader's parameters: op-code offset (1 when there is a maximum), slope, threshold,
    /// maximum.
    fn code(self) -> (usize, f32, f32, f32) {
        let m = self.max_value;
        (m.is_some() as usize, self.negative_slope, self.threshold, m.unwrap_or(0.0))
    }
}

/// `tf.nn.elu` with Keras's alpha: x if x > 0, alpha · expm1(x) if x < 0, alpha · x otherwise.
pub fn elu(x: f32, alpha: f32) -> f32 {
    if x > 0.0 {
        x
    } else if x < 0.0 {
        alpha * x.exp_m1()
    } else {
        alpha * x
    }
}

/// The derivative of [`elu`] as TensorFlow computes it: 1 if x > 0, alpha · e^x if x < 0,
/// alpha otherwise (at 0 and NaN).
pub fn elu_grad(x: f32, alpha: f32) -> f32 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        alpha * x.exp()
    } else {
        alpha
    }
}

impl BinaryOp {
    /// Applies the op to two scalars (the CPU reference uses this too).
    pub fn apply(self, x: f32, y: f32) -> f32 {
        match self {
            BinaryOp::Add => x + y,
            BinaryOp::Sub => x - y,
            BinaryOp::Mul => x * y,
            BinaryOp::Div => x / y,
            BinaryOp::Maximum => max_nan(x, y),
            BinaryOp::Minimum => min_nan(x, y),
            BinaryOp::Pow => x.powf(y),
            BinaryOp::Greater => (x > y) as u8 as f32,
            BinaryOp::ReluGrad => {
                if x > 0.0 {
                    y
                } else {
                    0.0
                }
            }
            BinaryOp::SigmoidGrad => y * x * (1.0 - x),
            BinaryOp::TanhGrad => y * (1.0 - x * x),
            BinaryOp::Lerp(t) => x + t * (y - x),
            BinaryOp::ReluExtGrad(r) => y * r.grad(x),
            BinaryOp::EluGrad(a) => y * elu_grad(x, a),
        }
    }

    /// The shader's op code and the op's parameters (passed as `alpha`, `beta`, `gamma`).
    fn code(self) -> (usize, f32, f32, f32) {
        match self {
            BinaryOp::Add => (0, 0.0, 0.0, 0.0),
            BinaryOp::Sub => (1, 0.0, 0.0, 0.0),
            BinaryOp::Mul => (2, 0.0, 0.0, 0.0),
            BinaryOp::Div => (3, 0.0, 0.0, 0.0),
            BinaryOp::Maximum => (4, 0.0, 0.0, 0.0),
            BinaryOp::Minimum => (5, 0.0, 0.0, 0.0),
            BinaryOp::Pow => (6, 0.0, 0.0, 0.0),
            BinaryOp::Greater => (7, 0.0, 0.0, 0.0),
            BinaryOp::ReluGrad => (8, 0.0, 0.0, 0.0),
            BinaryOp::SigmoidGrad => (9, 0.0, 0.0, 0.0),
            BinaryOp::TanhGrad => (10, 0.0, 0.0, 0.0),
            BinaryOp::Lerp(t) => (11, t, 0.0, 0.0),
            BinaryOp::ReluExtGrad(r) => {
                let (max, s, t, m) = r.code();
                (12 + max, s, t, m)
            }
            BinaryOp::EluGrad(a) => (14, a, 0.0, 0.0),
        }
    }
}

impl UnaryOp {
    /// Applies the op to a scalar (the CPU reference uses this too).
    pub fn apply(self, x: f32) -> f32 {
        match self {
            UnaryOp::Relu => relu_nan(x),
            UnaryOp::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            UnaryOp::Tanh => x.tanh(),
            UnaryOp::Exp => x.exp(),
            UnaryOp::Log => x.ln(),
            UnaryOp::Neg => -x,
            UnaryOp::Sqrt => x.sqrt(),
            UnaryOp::Abs => x.abs(),
            UnaryOp::Square => x * x,
            UnaryOp::Affine(a, b) => a * x + b,
            UnaryOp::ReluExt(r) => r.apply(x),
            UnaryOp::Elu(a) => elu(x, a),
        }
    }

    /// The shader's op code and the op's parameters (passed as `alpha`, `beta`, `gamma`).
    fn code(self) -> (usize, f32, f32, f32) {
        match self {
            UnaryOp::Relu => (0, 0.0, 0.0, 0.0),
            UnaryOp::Sigmoid => (1, 0.0, 0.0, 0.0),
            UnaryOp::Tanh => (2, 0.0, 0.0, 0.0),
            UnaryOp::Exp => (3, 0.0, 0.0, 0.0),
            UnaryOp::Log => (4, 0.0, 0.0, 0.0),
            UnaryOp::Neg => (5, 0.0, 0.0, 0.0),
            UnaryOp::Sqrt => (6, 0.0, 0.0, 0.0),
            UnaryOp::Abs => (7, 0.0, 0.0, 0.0),
            UnaryOp::Square => (8, 0.0, 0.0, 0.0),
            UnaryOp::Affine(a, b) => (9, a, b, 0.0),
            UnaryOp::ReluExt(r) => {
                let (max, s, t, m) = r.code();
                (10 + max, s, t, m)
            }
            UnaryOp::Elu(a) => (12, a, 0.0, 0.0),
        }
    }
}

/// `max(x, 0)` keeping NaN, as `tf.nn.relu` (the twin of `relu_nan` in `shaders/common.wgsl`).
pub fn relu_nan(x: f32) -> f32 {
    if x.is_nan() {
        x
    } else {
        x.max(0.0)
    }
}

/// `max(a, b)`, NaN when either is NaN, as `tf.maximum` and `tf.reduce_max`.
pub fn max_nan(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() {
        a + b
    } else {
        a.max(b)
    }
}

/// `min(a, b)`, NaN when either is NaN, as `tf.minimum` and `tf.reduce_min`.
pub fn min_nan(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() {
        a + b
    } else {
        a.min(b)
    }
}

/// `tf.nn.max_pool2d`'s maximum step: a value wins only when strictly larger, so NaN never
/// wins; start from `f32::MIN` (an all-NaN or all −inf window gives `f32::MIN`, as TF).
pub fn pool_max(acc: f32, v: f32) -> f32 {
    if v > acc {
        v
    } else {
        acc
    }
}

/// NumPy/TensorFlow broadcasting of two shapes; errors name both shapes.
pub fn broadcast_shape(op: &'static str, a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let rank = a.len().max(b.len());
    let dim = |s: &[usize], i: usize| if i + s.len() >= rank { s[i + s.len() - rank] } else { 1 };
    (0..rank)
        .map(|i| match (dim(a, i), dim(b, i)) {
            (x, y) if x == y => Ok(x),
            (1, y) => Ok(y),
            (x, 1) => Ok(x),
            _ => Err(shape_err(op, format!("shapes {a:?} and {b:?} cannot be broadcast together"))),
        })
        .collect::<Result<Vec<usize>>>()
        .and_then(|out| crate::checked_numel(op, &out).map(|_| out))
}

/// Element strides of `shape` read as `out` (0 on broadcast axes).
pub fn broadcast_strides(shape: &[usize], out: &[usize]) -> Vec<usize> {
    let mut strides = vec![0; out.len()];
    let mut s = 1;
    for i in (0..shape.len()).rev() {
        let o = i + out.len() - shape.len();
        strides[o] = if shape[i] == 1 { 0 } else { s };
        s *= shape[i];
    }
    strides
}

/// Merges adjacent axes that both operands walk contiguously (or both broadcast), and drops
/// size-1 axes: `[32, 32, 32, 64] + [64]` becomes `[32768, 64]`, so the kernel decodes fewer
/// indices per element.
pub fn coalesce(dims: &[usize], sa: &[usize], sb: &[usize]) -> (Vec<usize>, Vec<usize>, Vec<usize>) {
    let (mut d, mut a, mut b): (Vec<usize>, Vec<usize>, Vec<usize>) = (Vec::new(), Vec::new(), Vec::new());
    for i in (0..dims.len()).filter(|&i| dims[i] != 1) {
        match (d.last_mut(), a.last(), b.last()) {
            (Some(ld), Some(&la), Some(&lb)) if la == sa[i] * dims[i] && lb == sb[i] * dims[i] => {
                *ld *= dims[i];
                *a.last_mut().expect("same length") = sa[i];
                *b.last_mut().expect("same length") = sb[i];
            }
            _ => {
                d.push(dims[i]);
                a.push(sa[i]);
                b.push(sb[i]);
            }
        }
    }
    if d.is_empty() {
        return (vec![1], vec![0], vec![0]);
    }
    (d, a, b)
}

fn pack(p: Params, v: &[usize]) -> Params {
    let mut p = p;
    for i in 0..MAX_RANK {
        p = p.u(v.get(i).copied().unwrap_or(1));
    }
    p
}

/// Records `out = a (op) b` with broadcasting; returns the output buffer.
pub fn binary(
    gpu: &Gpu,
    op: BinaryOp,
    a: &GpuBuffer,
    a_shape: &[usize],
    b: &GpuBuffer,
    b_shape: &[usize],
) -> Result<(GpuBuffer, Vec<usize>)> {
    binary_act(gpu, op, a, a_shape, b, b_shape, Activation::None)
}

/// [`binary`] followed by the fused activation `act`: `out = act(op(a, b))`.
pub fn binary_act(
    gpu: &Gpu,
    op: BinaryOp,
    a: &GpuBuffer,
    a_shape: &[usize],
    b: &GpuBuffer,
    b_shape: &[usize],
    act: Activation,
) -> Result<(GpuBuffer, Vec<usize>)> {
    let name = "elementwise";
    let out_shape = broadcast_shape(name, a_shape, b_shape)?;
    let (dims, sa, sb) =
        coalesce(&out_shape, &broadcast_strides(a_shape, &out_shape), &broadcast_strides(b_shape, &out_shape));
    if dims.len() > MAX_RANK {
        return Err(shape_err(name, format!("rank {} exceeds the GPU limit of {MAX_RANK}", dims.len())));
    }
    let n: usize = out_shape.iter().product();
    check_u32(name, &[n])?;
    if n > 0 && !fits_binding(gpu, n) {
        let out = binary_split(gpu, op, [(a, a_shape), (b, b_shape)], act, &out_shape)?;
        return Ok((out, out_shape));
    }
    let out = out_f32(gpu, n)?;
    if n == 0 {
        return Ok((out, out_shape));
    }
    let same = a_shape == b_shape;
    let entry = match (same, dims.len()) {
        (true, _) => "binary_same",
        (false, 1 | 2) => "binary2",
        _ => "binary",
    };
    let p = binary_params(op, n, [&dims, &sa, &sb], act);
    let pipe = pipeline(gpu, "elementwise.wgsl", SRC, entry, &binary_constants(op, act))?;
    gpu.dispatch(&pipe, p.bytes()?, &[a, b, &out], grid_1d(gpu, n, 256))?;
    Ok((out, out_shape))
}

/// The binary kernels' pipeline constants: the op's code (`OP`) and the fused activation
/// (`ACT`).
fn binary_constants(op: BinaryOp, act: Activation) -> [(&'static str, f64); 2] {
    [("OP", op.code().0 as f64), act_constant(act)]
}

/// The uniform of a binary kernel over `n` outputs: coalesced dims and both operands' strides.
fn binary_params(op: BinaryOp, n: usize, [dims, sa, sb]: [&[usize]; 3], act: Activation) -> Params {
    let (code, alpha, beta, gamma) = op.code();
    let p = Params::new("elementwise").u(n).u(code).u(dims.len()).u(act.code()).f(alpha).f(beta).f(gamma).u(0);
    pack(pack(pack(p, dims), sa), sb)
}

/// [`binary_act`] past one storage binding: same shapes run on aligned windows; broadcasting
/// ones on batches of the leading axis (an operand without it is shared by every batch).
fn binary_split(
    gpu: &Gpu,
    op: BinaryOp,
    [(a, a_shape), (b, b_shape)]: [(&GpuBuffer, &[usize]); 2],
    act: Activation,
    out_shape: &[usize],
) -> Result<GpuBuffer> {
    let n: usize = out_shape.iter().product();
    if a_shape == b_shape {
        let out = out_f32(gpu, n)?;
        let pipe = pipeline(gpu, "elementwise.wgsl", SRC, "binary_same", &binary_constants(op, act))?;
        for (start, len) in binding_ranges(gpu, n, 1) {
            let p = binary_params(op, len, [&[len], &[1], &[1]], act);
            let (at, bytes) = (start as u64 * 4, len as u64 * 4);
            let views = [a.window(at, bytes), b.window(at, bytes), out.window(at, bytes)];
            gpu.dispatch_views(&pipe, p.bytes()?, &views, grid_1d(gpu, len, 256))?;
        }
        return Ok(out);
    }
    let lead = out_shape[0];
    let batched = |s: &[usize]| s.len() == out_shape.len() && s[0] == lead;
    let per = |s: &[usize]| if batched(s) { s.iter().product::<usize>() / lead.max(1) } else { 0 };
    let part = |s: &[usize], images: usize| {
        let mut s = s.to_vec();
        if batched(&s) {
            s[0] = images;
        }
        s
    };
    let ops = [(a, per(a_shape)), (b, per(b_shape))];
    let run = |images: usize, bufs: &[&GpuBuffer]| {
        Ok(binary_act(gpu, op, bufs[0], &part(a_shape, images), bufs[1], &part(b_shape, images), act)?.0)
    };
    let out = crate::split::per_image(gpu, "elementwise", lead, &ops, n / lead.max(1), run)?;
    out.ok_or_else(|| shape_err("elementwise", format!("{a_shape:?} and {b_shape:?} fit one binding")))
}

/// Records `out = op(a)` over `n` elements.
pub fn unary(gpu: &Gpu, op: UnaryOp, a: &GpuBuffer, n: usize) -> Result<GpuBuffer> {
    let (code, alpha, beta, gamma) = op.code();
    run_simple(gpu, "unary", code, [alpha, beta, gamma], a, n)
}

/// Returns a new buffer of `n` elements all equal to `value`.
pub fn fill(gpu: &Gpu, value: f32, n: usize) -> Result<GpuBuffer> {
    let dummy = out_f32(gpu, 1)?;
    run_simple(gpu, "fill", 0, [value, 0.0, 0.0], &dummy, n)
}

/// The uniform of a one-input elementwise kernel over `n` contiguous elements.
fn simple_params(n: usize, code: usize, [alpha, beta, gamma]: [f32; 3]) -> Params {
    let p = Params::new("elementwise").u(n).u(code).u(1).u(0).f(alpha).f(beta).f(gamma).u(0);
    pack(pack(pack(p, &[n]), &[1]), &[0])
}

/// Records a one-input kernel over `n` elements of `a` (an `a` shorter than that is a
/// placeholder the kernel ignores). Past one binding it runs on aligned windows; dropout's
/// `gamma` bits then carry each window's first index (its kernel hashes global indices).
fn run_simple(
    gpu: &Gpu,
    entry: &str,
    code: usize,
    [alpha, beta, gamma]: [f32; 3],
    a: &GpuBuffer,
    n: usize,
) -> Result<GpuBuffer> {
    check_u32("elementwise", &[n])?;
    let out = out_f32(gpu, n)?;
    if n == 0 {
        return Ok(out);
    }
    let dummy = out_f32(gpu, 1)?;
    let pipe = pipeline(gpu, "elementwise.wgsl", SRC, entry, &[("OP", code as f64)])?;
    if fits_binding(gpu, n) {
        let p = simple_params(n, code, [alpha, beta, gamma]);
        gpu.dispatch(&pipe, p.bytes()?, &[a, &dummy, &out], grid_1d(gpu, n, 256))?;
        return Ok(out);
    }
    let placeholder = a.len() < n as u64 * 4;
    for (start, len) in binding_ranges(gpu, n, 1) {
        let gamma = if entry == "dropout" { f32::from_bits(start as u32) } else { gamma };
        let p = simple_params(len, code, [alpha, beta, gamma]);
        let (at, bytes) = (start as u64 * 4, len as u64 * 4);
        let input = if placeholder { a.whole() } else { a.window(at, bytes) };
        let views = [input, dummy.whole(), out.window(at, bytes)];
        gpu.dispatch_views(&pipe, p.bytes()?, &views, grid_1d(gpu, len, 256))?;
    }
    Ok(out)
}

/// The hash the dropout kernel uses (PCG output permutation), shared with the CPU twin.
pub fn hash32(x: u32) -> u32 {
    let s = x.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
    let w = ((s >> ((s >> 28) + 4)) ^ s).wrapping_mul(277_803_737);
    (w >> 22) ^ w
}

/// True when dropout keeps element `i` for `seed` at drop probability `rate`.
pub fn dropout_keeps(i: u32, seed: u32, rate: f32) -> bool {
    let u = (hash32(i ^ hash32(seed)) >> 8) as f32 / 16_777_216.0;
    u >= rate
}

/// Records inverted dropout of `n` elements: kept ones are scaled by `1 / (1 - rate)`.
pub fn dropout(gpu: &Gpu, a: &GpuBuffer, n: usize, rate: f32, seed: u32) -> Result<GpuBuffer> {
    run_simple(gpu, "dropout", 0, [rate, f32::from_bits(seed), 0.0], a, n)
}

#[cfg(test)]
mod tests {
    use super::coalesce;

    #[test]
    fn coalescing_merges_contiguous_and_broadcast_runs() {
        // [32, 32, 32, 64] + [64]
        let (d, a, b) = coalesce(&[32, 32, 32, 64], &[65536, 2048, 64, 1], &[0, 0, 0, 1]);
        assert_eq!((d, a, b), (vec![32768, 64], vec![64, 1], vec![0, 1]));
        // same shapes collapse to one axis
        assert_eq!(coalesce(&[2, 3, 4], &[12, 4, 1], &[12, 4, 1]), (vec![24], vec![1], vec![1]));
        // [2, 1, 5] * [3, 1]: out [2, 3, 5]
        assert_eq!(coalesce(&[2, 3, 5], &[5, 0, 1], &[0, 1, 0]), (vec![2, 3, 5], vec![5, 0, 1], vec![0, 1, 0]));
        // all ones
        assert_eq!(coalesce(&[1, 1], &[0, 0], &[0, 0]), (vec![1], vec![0], vec![0]));
    }
}
