//! Elementwise ops: broadcasting arithmetic (`tf.math.add`, ...) and activations, with their
//! gradients (summed over broadcast axes).

use tessera_kernels::bias_grad;
use tessera_kernels::elementwise::{self as k, broadcast_shape, BinaryOp, ReluSpec, UnaryOp};

use crate::autodiff::{record, sum_to_shape};
use crate::tensor::common_device;
use crate::{cpu, Device, Result, Tensor};

/// `op(a, b)` with NumPy/TensorFlow broadcasting.
/// The gradient keeps only the operand shapes for add, sub and lerp, and both operands for
/// the others.
pub fn binary(op: BinaryOp, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let out = binary_forward(op, a, b)?;
    let (sa, sb) = (a.shape().to_vec(), b.shape().to_vec());
    let saved = (!is_linear(op)).then(|| (a.detach(), b.detach()));
    Ok(record(out, "binary", &[a, b], move |g| {
        let (ga, gb) = match &saved {
            Some((a, b)) => binary_grads(op, a, b, g)?,
            None => linear_grads(op, g)?,
        };
        let ga = ga.map(|t| sum_to_shape(&t, &sa)).transpose()?;
        let gb = gb.map(|t| sum_to_shape(&t, &sb)).transpose()?;
        Ok(vec![ga, gb])
    }))
}

/// True for the ops whose gradient does not read the operands (add, sub, lerp).
fn is_linear(op: BinaryOp) -> bool {
    matches!(op, BinaryOp::Add | BinaryOp::Sub | BinaryOp::Lerp(_))
}

/// Gradients of the [`is_linear`] ops from the upstream gradient alone (no gradient for
/// any other op).
fn linear_grads(op: BinaryOp, g: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
    Ok(match op {
        BinaryOp::Add => (Some(g.clone()), Some(g.clone())),
        BinaryOp::Sub => (Some(g.clone()), Some(neg(g)?)),
        BinaryOp::Lerp(t) => (Some(affine(g, 1.0 - t, 0.0)?), Some(affine(g, t, 0.0)?)),
        _ => (None, None),
    })
}

/// Gradients of `op(a, b)` (at the broadcast shape) given the upstream gradient `g`.
fn binary_grads(op: BinaryOp, a: &Tensor, b: &Tensor, g: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
    Ok(match op {
        BinaryOp::Add | BinaryOp::Sub | BinaryOp::Lerp(_) => linear_grads(op, g)?,
        BinaryOp::Mul => (Some(mul(g, b)?), Some(mul(g, a)?)),
        BinaryOp::Div => {
            let ga = div(g, b)?;
            (Some(ga.clone()), Some(neg(&mul(&ga, &div(a, b)?)?)?))
        }
        BinaryOp::Maximum | BinaryOp::Minimum => {
            // TensorFlow: ties send the gradient to `a`.
            let (hi, lo) = if op == BinaryOp::Maximum { (b, a) } else { (a, b) };
            let to_b = binary_forward(BinaryOp::Greater, hi, lo)?;
            let gb = mul(g, &to_b)?;
            (Some(sub(g, &gb)?), Some(gb))
        }
        BinaryOp::Pow => {
            let y = binary_forward(BinaryOp::Pow, a, b)?;
            let ga = mul(&mul(g, b)?, &div(&y, a)?)?;
            (Some(ga), Some(mul(&mul(g, &y)?, &log(a)?)?))
        }
        BinaryOp::Greater
        | BinaryOp::ReluGrad
        | BinaryOp::SigmoidGrad
        | BinaryOp::TanhGrad
        | BinaryOp::ReluExtGrad(_)
        | BinaryOp::EluGrad(_) => (None, None),
    })
}

/// `op(x)` for every element.
/// The gradient keeps only the one tensor it reads ([`reads_output`]): the output for ReLU,
/// sigmoid, tanh, exp and sqrt, the input for the others that need one.
pub fn unary(op: UnaryOp, x: &Tensor) -> Result<Tensor> {
    let y = unary_forward(op, x)?;
    let saved = match reads_output(op) {
        Some(true) => Some(y.detach()),
        Some(false) => Some(x.detach()),
        None => None,
    };
    Ok(record(y, "unary", &[x], move |g| {
        let s = saved.as_ref().unwrap_or(g);
        Ok(vec![Some(unary_grad(op, s, s, g)?)])
    }))
}

/// Whether `op`'s gradient reads its output (`Some(true)`), its input (`Some(false)`) or
/// neither (`None`).
fn reads_output(op: UnaryOp) -> Option<bool> {
    match op {
        UnaryOp::Relu | UnaryOp::Sigmoid | UnaryOp::Tanh | UnaryOp::Exp | UnaryOp::Sqrt => Some(true),
        UnaryOp::Log | UnaryOp::Abs | UnaryOp::Square | UnaryOp::ReluExt(_) | UnaryOp::Elu(_) => Some(false),
        UnaryOp::Neg | UnaryOp::Affine(..) => None,
    }
}

/// Gradient of `y = op(x)` given the upstream gradient `g` (`x` and `y` are only read when
/// [`reads_output`] says so).
fn unary_grad(op: UnaryOp, x: &Tensor, y: &Tensor, g: &Tensor) -> Result<Tensor> {
    match op {
        // relu(x) > 0 exactly where x > 0, so the output is the mask.
        UnaryOp::Relu => binary_forward(BinaryOp::ReluGrad, y, g),
        UnaryOp::Sigmoid => binary_forward(BinaryOp::SigmoidGrad, y, g),
        UnaryOp::Tanh => binary_forward(BinaryOp::TanhGrad, y, g),
        UnaryOp::Exp => mul(g, y),
        UnaryOp::Log => div(g, x),
        UnaryOp::Neg => neg(g),
        UnaryOp::Sqrt => div(g, &affine(y, 2.0, 0.0)?),
        UnaryOp::Abs => {
            let zero = Tensor::zeros(&[1], x.device())?;
            let sign =
                sub(&binary_forward(BinaryOp::Greater, x, &zero)?, &binary_forward(BinaryOp::Greater, &zero, x)?)?;
            mul(g, &sign)
        }
        UnaryOp::Square => mul(g, &affine(x, 2.0, 0.0)?),
        UnaryOp::Affine(alpha, _) => affine(g, alpha, 0.0),
        UnaryOp::ReluExt(r) => binary_forward(BinaryOp::ReluExtGrad(r), x, g),
        UnaryOp::Elu(a) => binary_forward(BinaryOp::EluGrad(a), x, g),
    }
}

/// The gradient of a layer's activation and of its bias, from the layer's output `y` and the
/// upstream gradient `g` (`[..., c]`, channels last): `(gz, db)` with `gz = act'(y)·g` and
/// `db = Σ gz` over every axis but the last. Not differentiable (a backward helper). One
/// dispatch on the GPU (`shaders/bias_grad.wgsl`; without an activation `gz` is `g` itself
/// and only `db` is computed); the CPU path is its twin.
pub fn bias_activation_grad(act: crate::Activation, y: &Tensor, g: &Tensor) -> Result<(Tensor, Tensor)> {
    if y.shape() != g.shape() || g.rank() == 0 {
        return Err(crate::shape_err(
            "bias_activation_grad",
            format!("output {:?} and gradient {:?} must have one shape of rank >= 1", y.shape(), g.shape()),
        ));
    }
    let dev = common_device("bias_activation_grad", &[y, g])?;
    let (rows, cols) = rows_cols(g);
    let (gz, db) = match &dev {
        Device::Cpu => {
            let (gz, db) = bias_grad::bias_act_grad_cpu(act, y.cpu_data(), g.cpu_data(), rows, cols);
            (Tensor::from_cpu(gz, g.shape().to_vec()), Tensor::from_cpu(db, vec![cols]))
        }
        Device::Gpu(gpu) if bias_grad::fused(act) => {
            let (gz, db) = bias_grad::bias_act_grad(gpu, act, y.gpu_buf(), g.gpu_buf(), rows, cols)?;
            (Tensor::from_gpu(gz, g.shape().to_vec(), &dev), Tensor::from_gpu(db, vec![cols], &dev))
        }
        Device::Gpu(_) => (g.detach(), bias_sum(g)?),
    };
    Ok((gz, db))
}

/// `[rows, cols]` of a channels-last tensor of rank >= 1 (`cols` the last axis).
fn rows_cols(g: &Tensor) -> (usize, usize) {
    let cols = g.shape()[g.rank() - 1];
    (g.numel().checked_div(cols).unwrap_or(0), cols)
}

/// `Σ g` over every axis but the last (rank >= 1), without recording a gradient: one
/// dispatch on the GPU (`bias_grad`), the CPU twin otherwise.
pub(crate) fn bias_sum(g: &Tensor) -> Result<Tensor> {
    let (rows, cols) = rows_cols(g);
    match g.device() {
        Device::Cpu => Ok(Tensor::from_cpu(bias_grad::bias_grad_cpu(g.cpu_data(), rows, cols), vec![cols])),
        Device::Gpu(gpu) => {
            Ok(Tensor::from_gpu(bias_grad::bias_grad(gpu, g.gpu_buf(), rows, cols)?, vec![cols], g.device()))
        }
    }
}

/// [`activation_grad`] and, when `has_bias`, the bias gradient: one dispatch on the GPU for
/// both ([`bias_activation_grad`]; without an activation only the bias gradient is computed).
pub(crate) fn activation_bias_grad(
    act: crate::Activation,
    y: Option<&Tensor>,
    g: &Tensor,
    has_bias: bool,
) -> Result<(Tensor, Option<Tensor>)> {
    if !has_bias || g.rank() == 0 {
        return Ok((activation_grad(act, y, g)?, None));
    }
    match (y, g.device()) {
        (Some(y), Device::Gpu(_)) if bias_grad::fused(act) => {
            let (gz, db) = bias_activation_grad(act, y, g)?;
            Ok((gz, Some(db)))
        }
        _ => {
            let gz = activation_grad(act, y, g)?;
            let db = bias_sum(&gz)?;
            Ok((gz, Some(db)))
        }
    }
}

/// What a fused activation's gradient keeps of the op's output: the output itself, or
/// nothing when there is no activation.
pub(crate) fn activation_saved(act: crate::Activation, out: &Tensor) -> Option<Tensor> {
    act.grad_op().map(|_| out.detach())
}

/// The activation's gradient from its output `y` (from [`activation_saved`]) and the
/// upstream gradient `g`.
pub(crate) fn activation_grad(act: crate::Activation, y: Option<&Tensor>, g: &Tensor) -> Result<Tensor> {
    match (act.grad_op(), y) {
        (Some(op), Some(y)) => binary_forward(op, y, g),
        _ => Ok(g.clone()),
    }
}

/// `op(a, b)` without recording a gradient.
pub(crate) fn binary_forward(op: BinaryOp, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary_forward_act(op, a, b, crate::Activation::None)
}

/// `act(op(a, b))` without recording a gradient (one kernel on the GPU).
fn binary_forward_act(op: BinaryOp, a: &Tensor, b: &Tensor, act: crate::Activation) -> Result<Tensor> {
    let dev = common_device("elementwise", &[a, b])?;
    let shape = broadcast_shape("elementwise", a.shape(), b.shape())?;
    match &dev {
        Device::Cpu => {
            let out = cpu::binary_act(op, a.cpu_data(), a.shape(), b.cpu_data(), b.shape(), &shape, act);
            Ok(Tensor::from_cpu(out, shape))
        }
        Device::Gpu(g) => {
            let (buf, shape) = k::binary_act(g, op, a.gpu_buf(), a.shape(), b.gpu_buf(), b.shape(), act)?;
            Ok(Tensor::from_gpu(buf, shape, &dev))
        }
    }
}

/// `act(a + b)` (broadcasting) in one kernel: a residual shortcut's Add followed by ReLU. The
/// backward masks the upstream gradient by the activation's gradient from the saved output
/// (one dispatch, as the unfused activation's backward) and hands it to both operands.
pub fn add_activation(a: &Tensor, b: &Tensor, act: crate::Activation) -> Result<Tensor> {
    let out = binary_forward_act(BinaryOp::Add, a, b, act)?;
    let (sa, sb, y) = (a.shape().to_vec(), b.shape().to_vec(), activation_saved(act, &out));
    Ok(record(out, "add_activation", &[a, b], move |g| {
        let gz = activation_grad(act, y.as_ref(), g)?;
        Ok(vec![Some(sum_to_shape(&gz, &sa)?), Some(sum_to_shape(&gz, &sb)?)])
    }))
}

/// `op(x)` without recording a gradient.
fn unary_forward(op: UnaryOp, x: &Tensor) -> Result<Tensor> {
    match x.device() {
        Device::Cpu => Ok(Tensor::from_cpu(cpu::unary(op, x.cpu_data()), x.shape().to_vec())),
        Device::Gpu(g) => {
            Ok(Tensor::from_gpu(k::unary(g, op, x.gpu_buf(), x.numel())?, x.shape().to_vec(), x.device()))
        }
    }
}

/// `a + b` (broadcasting).
pub fn add(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary(BinaryOp::Add, a, b)
}

/// `a - b` (broadcasting).
pub fn sub(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary(BinaryOp::Sub, a, b)
}

/// `a * b` (broadcasting).
pub fn mul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary(BinaryOp::Mul, a, b)
}

/// `a / b` (broadcasting).
pub fn div(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary(BinaryOp::Div, a, b)
}

/// `a + t · (b − a)` (broadcasting): one pass for moving averages.
pub fn lerp(a: &Tensor, b: &Tensor, t: f32) -> Result<Tensor> {
    binary(BinaryOp::Lerp(t), a, b)
}

/// Elementwise maximum (broadcasting).
pub fn maximum(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary(BinaryOp::Maximum, a, b)
}

/// Elementwise minimum (broadcasting).
pub fn minimum(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary(BinaryOp::Minimum, a, b)
}

/// `max(x, 0)`.
pub fn relu(x: &Tensor) -> Result<Tensor> {
    unary(UnaryOp::Relu, x)
}

/// `tf.nn.relu6`: `min(max(x, 0), 6)`; the gradient is 0 at 0 and at 6; NaN stays NaN.
pub fn relu6(x: &Tensor) -> Result<Tensor> {
    relu_ext(x, Some(6.0), 0.0, 0.0)
}

/// `tf.nn.leaky_relu(x, alpha)` (TensorFlow's default alpha is 0.2): `x` if `x > 0`, else
/// `alpha · x`; the gradient at 0 is `alpha`.
pub fn leaky_relu(x: &Tensor, alpha: f32) -> Result<Tensor> {
    relu_ext(x, None, alpha, 0.0)
}

/// `keras.activations.relu(x, negative_slope, max_value, threshold)`: `x > threshold` gives
/// `x` (clipped to `[0, max_value]`), `x < threshold` gives `negative_slope · (x − threshold)`,
/// `x == threshold` gives 0; gradients as TensorFlow's for Keras's composition (see
/// [`ReluSpec`]). NaN stays NaN.
pub fn relu_ext(x: &Tensor, max_value: Option<f32>, negative_slope: f32, threshold: f32) -> Result<Tensor> {
    unary(UnaryOp::ReluExt(ReluSpec { max_value, negative_slope, threshold }), x)
}

/// `tf.nn.elu`: `x` if `x > 0`, else `e^x − 1`.
pub fn elu(x: &Tensor) -> Result<Tensor> {
    elu_alpha(x, 1.0)
}

/// `keras.activations.elu(x, alpha)`: `x` if `x > 0`, else `alpha · (e^x − 1)`; the gradient
/// at 0 is `alpha`.
pub fn elu_alpha(x: &Tensor, alpha: f32) -> Result<Tensor> {
    unary(UnaryOp::Elu(alpha), x)
}

/// `1 / (1 + e^-x)`.
pub fn sigmoid(x: &Tensor) -> Result<Tensor> {
    unary(UnaryOp::Sigmoid, x)
}

/// `tanh(x)`.
pub fn tanh(x: &Tensor) -> Result<Tensor> {
    unary(UnaryOp::Tanh, x)
}

/// `e^x`.
pub fn exp(x: &Tensor) -> Result<Tensor> {
    unary(UnaryOp::Exp, x)
}

/// Natural logarithm.
pub fn log(x: &Tensor) -> Result<Tensor> {
    unary(UnaryOp::Log, x)
}

/// `-x`.
pub fn neg(x: &Tensor) -> Result<Tensor> {
    unary(UnaryOp::Neg, x)
}

/// `x²`.
pub fn square(x: &Tensor) -> Result<Tensor> {
    unary(UnaryOp::Square, x)
}

/// `√x`.
pub fn sqrt(x: &Tensor) -> Result<Tensor> {
    unary(UnaryOp::Sqrt, x)
}

/// `alpha * x + beta`.
pub fn affine(x: &Tensor, alpha: f32, beta: f32) -> Result<Tensor> {
    unary(UnaryOp::Affine(alpha, beta), x)
}

/// Inverted dropout (`tf.nn.dropout`): zeroes each element with probability `rate` and scales
/// the rest by `1 / (1 - rate)`; the mask is a hash of `(seed, index)`, the same on CPU and GPU.
pub fn dropout(x: &Tensor, rate: f32, seed: u32) -> Result<Tensor> {
    if !(0.0..1.0).contains(&rate) {
        return Err(crate::shape_err("dropout", format!("rate {rate} must be in [0, 1)")));
    }
    let out = match x.device() {
        Device::Cpu => Tensor::from_cpu(cpu::dropout(x.cpu_data(), rate, seed), x.shape().to_vec()),
        Device::Gpu(g) => {
            Tensor::from_gpu(k::dropout(g, x.gpu_buf(), x.numel(), rate, seed)?, x.shape().to_vec(), x.device())
        }
    };
    Ok(record(out, "dropout", &[x], move |g| Ok(vec![Some(dropout(g, rate, seed)?)])))
}
