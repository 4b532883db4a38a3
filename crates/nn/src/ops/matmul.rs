//! Matrix products: `matmul` (`tf.linalg.matmul`) and `dense` (a Keras Dense layer's forward).

use tessera_kernels::dense_grad::{dense_backward, DenseDims};
pub use tessera_kernels::matmul::MatmulVariant;
use tessera_kernels::matmul::{self as k, Layout, Matmul};
use tessera_kernels::Activation;

use crate::autodiff::{record, save_if};
use crate::ops::{activation_bias_grad, activation_saved};
use crate::tensor::common_device;
use crate::{cpu, shape_err, Device, Result, Tensor};

/// Options of [`matmul_with`].
#[derive(Debug, Clone, Copy)]
pub struct MatmulOptions {
    /// Use Aᵀ.
    pub transpose_a: bool,
    /// Use Bᵀ.
    pub transpose_b: bool,
    /// Kernel variant (normally `Auto`).
    pub variant: MatmulVariant,
}

impl Default for MatmulOptions {
    fn default() -> Self {
        Self { transpose_a: false, transpose_b: false, variant: MatmulVariant::Auto }
    }
}

/// `a @ b` for `[m, k] @ [k, n]` or batched `[b, m, k] @ [b, k, n]`.
pub fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    matmul_with(a, b, MatmulOptions::default())
}

/// `a @ b` with optional transposes and a chosen kernel variant.
pub fn matmul_with(a: &Tensor, b: &Tensor, opts: MatmulOptions) -> Result<Tensor> {
    let mm = plan("matmul", a.shape(), b.shape(), opts)?;
    let mut shape = vec![mm.m, mm.n];
    if a.rank() == 3 {
        shape.insert(0, mm.batch);
    }
    let out = run(a, b, None, &mm, opts.variant, shape)?;
    // dA reads B and dB reads A: each operand is kept only when the other gets a gradient.
    let (ac, bc) = (save_if(b.requires_grad(), a), save_if(a.requires_grad(), b));
    Ok(record(out, "matmul", &[a, b], move |g| {
        let ga = bc.as_ref().map(|b| matmul_grad_a(b, g, opts)).transpose()?;
        let gb = ac.as_ref().map(|a| matmul_grad_b(a, g, opts)).transpose()?;
        Ok(vec![ga, gb])
    }))
}

/// `matmul_with` with the transposes `ta`, `tb` and the other options of `o`.
fn mm_t(x: &Tensor, y: &Tensor, ta: bool, tb: bool, o: MatmulOptions) -> Result<Tensor> {
    matmul_with(x, y, MatmulOptions { transpose_a: ta, transpose_b: tb, ..o })
}

/// Gradient of `C = op(A) @ op(B)` with respect to A, for each combination of transposes.
fn matmul_grad_a(b: &Tensor, g: &Tensor, o: MatmulOptions) -> Result<Tensor> {
    match (o.transpose_a, o.transpose_b) {
        (false, false) => mm_t(g, b, false, true, o),
        (false, true) => mm_t(g, b, false, false, o),
        (true, false) => mm_t(b, g, false, true, o),
        (true, true) => mm_t(b, g, true, true, o),
    }
}

/// Gradient of `C = op(A) @ op(B)` with respect to B, for each combination of transposes.
fn matmul_grad_b(a: &Tensor, g: &Tensor, o: MatmulOptions) -> Result<Tensor> {
    match (o.transpose_a, o.transpose_b) {
        (false, false) => mm_t(a, g, true, false, o),
        (false, true) => mm_t(g, a, true, false, o),
        (true, false) => mm_t(a, g, false, false, o),
        (true, true) => mm_t(g, a, true, true, o),
    }
}

/// `act(x @ w + bias)` for `x [batch, in]`, `w [in, units]`, `bias [units]`.
pub fn dense(x: &Tensor, w: &Tensor, bias: Option<&Tensor>, act: Activation) -> Result<Tensor> {
    let mut mm = plan("dense", x.shape(), w.shape(), MatmulOptions::default())?;
    if x.rank() != 2 {
        return Err(shape_err("dense", format!("input must be [batch, features], got {:?}", x.shape())));
    }
    if let Some(b) = bias {
        if b.shape() != [mm.n] {
            return Err(shape_err(
                "dense",
                format!("bias shape {:?} must be [{}] for kernel {:?}", b.shape(), mm.n, w.shape()),
            ));
        }
    }
    mm.act = act;
    let out = run(x, w, bias, &mm, MatmulVariant::Auto, vec![mm.m, mm.n])?;
    let mut inputs = vec![x, w];
    inputs.extend(bias);
    let (xc, wc) = (save_if(w.requires_grad(), x), save_if(x.requires_grad(), w));
    let (y, has_bias) = (activation_saved(act, &out), bias.is_some());
    Ok(record(out, "dense", &inputs, move |g| {
        if let (Some(x), Some(w), Device::Gpu(gpu)) = (&xc, &wc, g.device()) {
            return dense_backward_gpu(gpu, act, [x, w, g], y.as_ref(), has_bias);
        }
        let (gz, db) = activation_bias_grad(act, y.as_ref(), g, has_bias)?;
        let o = MatmulOptions::default();
        let dx = wc.as_ref().map(|w| matmul_with(&gz, w, MatmulOptions { transpose_b: true, ..o })).transpose()?;
        let dw = xc.as_ref().map(|x| matmul_with(x, &gz, MatmulOptions { transpose_a: true, ..o })).transpose()?;
        let mut grads = vec![dx, dw];
        if has_bias {
            grads.push(db);
        }
        Ok(grads)
    }))
}

/// A Dense layer's gradients `[dx, dw, db?]` on the GPU when both x and w need one: the fused
/// backward kernel or the general path, as the autotuner finds faster
/// (`tessera_kernels::dense_grad::dense_backward`).
fn dense_backward_gpu(
    gpu: &tessera_kernels::device::Gpu,
    act: Activation,
    [x, w, g]: [&Tensor; 3],
    y: Option<&Tensor>,
    has_bias: bool,
) -> Result<Vec<Option<Tensor>>> {
    let d = DenseDims { batch: x.shape()[0], inputs: x.shape()[1], units: w.shape()[1] };
    let bufs = [x.gpu_buf(), w.gpu_buf(), g.gpu_buf()];
    let (dx, dw, db) = dense_backward(gpu, act, bufs, y.map(|y| y.gpu_buf()), d)?;
    let dev = g.device();
    let mut grads =
        vec![Some(Tensor::from_gpu(dx, x.shape().to_vec(), dev)), Some(Tensor::from_gpu(dw, w.shape().to_vec(), dev))];
    if has_bias {
        grads.push(Some(Tensor::from_gpu(db, vec![d.units], dev)));
    }
    Ok(grads)
}

fn run(
    a: &Tensor,
    b: &Tensor,
    bias: Option<&Tensor>,
    mm: &Matmul,
    v: MatmulVariant,
    shape: Vec<usize>,
) -> Result<Tensor> {
    let mut ts = vec![a, b];
    ts.extend(bias);
    let dev = common_device("matmul", &ts)?;
    match &dev {
        Device::Cpu => {
            Ok(Tensor::from_cpu(cpu::matmul(a.cpu_data(), b.cpu_data(), bias.map(|t| t.cpu_data()), mm), shape))
        }
        Device::Gpu(g) => {
            let buf = k::matmul(g, a.gpu_buf(), b.gpu_buf(), bias.map(|t| t.gpu_buf()), mm, v)?;
            Ok(Tensor::from_gpu(buf, shape, &dev))
        }
    }
}

fn plan(op: &'static str, a: &[usize], b: &[usize], o: MatmulOptions) -> Result<Matmul> {
    let bad = || {
        shape_err(
            op,
            format!("cannot multiply {a:?} by {b:?} (transpose_a={}, transpose_b={})", o.transpose_a, o.transpose_b),
        )
    };
    let (batch, ar, ac, br, bc) = match (a, b) {
        ([ar, ac], [br, bc]) => (1, *ar, *ac, *br, *bc),
        ([ba, ar, ac], [bb, br, bc]) if ba == bb => (*ba, *ar, *ac, *br, *bc),
        _ => return Err(bad()),
    };
    let (m, ka) = if o.transpose_a { (ac, ar) } else { (ar, ac) };
    let (kb, n) = if o.transpose_b { (bc, br) } else { (br, bc) };
    if ka != kb {
        return Err(bad());
    }
    tessera_kernels::checked_numel(op, &[batch, m, n])?;
    let la = if o.transpose_a { Layout::transposed(m, ka) } else { Layout::row_major(m, ka) };
    let lb = if o.transpose_b { Layout::transposed(kb, n) } else { Layout::row_major(kb, n) };
    Ok(Matmul { batch, m, k: ka, n, a: la, b: lb, alpha: 1.0, act: Activation::None })
}
