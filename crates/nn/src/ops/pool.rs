//! Pooling ops: `tf.nn.max_pool2d` / `avg_pool2d` (NHWC, VALID / SAME / explicit padding) and
//! Keras `GlobalAveragePooling2D` / `GlobalMaxPooling2D`, all differentiable, plus the pooling
//! input gradients (`max_pool2d_grad`, `avg_pool2d_grad`) their backward rules use. The window
//! poolings can fuse an activation (`PoolOptions::activation`), which the models' peephole uses
//! for MaxPool2D / AveragePooling2D followed by ReLU.

use tessera_kernels::elementwise::BinaryOp;
use tessera_kernels::pool::{self as k, FusedGrad, PoolMode};
use tessera_kernels::Window2d;

use crate::autodiff::record;
use crate::ops::{activation_saved, add, affine, argmax, binary_forward, mul, PoolOptions};
use crate::tensor::common_device;
use crate::{cpu, shape_err, Device, Result, Tensor};

/// `tf.nn.max_pool2d(x, ksize, strides, padding)` on NHWC `x`; padded cells act as −inf, so
/// they never win. Explicit padding must be smaller than the window on every side. The gradient
/// goes to each window's first maximum in row-major order (TensorFlow's tie rule). With
/// `opts.activation` the activation is applied to each pooled value in the same kernel (Keras's
/// MaxPool2D → ReLU in one dispatch each way; the backward masks by the saved output).
pub fn max_pool2d(x: &Tensor, opts: &PoolOptions) -> Result<Tensor> {
    let out = pool2d(x, opts, PoolMode::Max)?;
    Ok(record_max_pool2d(out, x, opts))
}

/// Attaches max_pool2d's backward to its output `out` (of `x` under `opts`).
pub(crate) fn record_max_pool2d(out: Tensor, x: &Tensor, opts: &PoolOptions) -> Tensor {
    let (xc, y, o) = (x.detach(), activation_saved(opts.activation, &out), *opts);
    record(out, "max_pool2d", &[x], move |g| Ok(vec![Some(max_pool_grad(&xc, g, y.as_ref(), &o)?)]))
}

/// `tf.nn.avg_pool2d(x, ksize, strides, padding)` on NHWC `x`: each window's mean over its
/// real (unpadded) cells only. VALID windows divide by kh·kw; SAME and explicit padding divide
/// by the number of real cells (TensorFlow's SAME rule, applied to explicit padding too).
/// Explicit padding must be smaller than the window on every side. `opts.activation` is fused
/// as in [`max_pool2d`].
pub fn avg_pool2d(x: &Tensor, opts: &PoolOptions) -> Result<Tensor> {
    let out = pool2d(x, opts, PoolMode::Avg)?;
    let (shape, y, o) = (x.shape().to_vec(), activation_saved(opts.activation, &out), *opts);
    Ok(record(out, "avg_pool2d", &[x], move |g| {
        let dx = match &y {
            Some(y) => avg_pool_fused_grad(g, y, &shape, &o)?,
            None => avg_pool2d_grad(g, &shape, &o)?,
        };
        Ok(vec![Some(dx)])
    }))
}

fn pool2d(x: &Tensor, opts: &PoolOptions, mode: PoolMode) -> Result<Tensor> {
    let win = k::pool_geometry(mode.op(), x.shape(), opts.ksize, opts.strides, &opts.padding)?;
    let shape = win.out_shape(win.c);
    let act = opts.activation;
    match x.device() {
        Device::Cpu => {
            let out = match mode {
                PoolMode::Max => cpu::max_pool2d(x.cpu_data(), &win, act),
                PoolMode::Avg => cpu::avg_pool2d(x.cpu_data(), &win, act),
            };
            Ok(Tensor::from_cpu(out, shape))
        }
        Device::Gpu(g) => Ok(Tensor::from_gpu(k::pool2d(g, x.gpu_buf(), &win, mode, act)?, shape, x.device())),
    }
}

/// The pooling window of `input_shape`, checking that `dy` has the pooled shape.
fn grad_geometry(op: &'static str, input_shape: &[usize], dy: &Tensor, opts: &PoolOptions) -> Result<Window2d> {
    let win = k::pool_geometry(op, input_shape, opts.ksize, opts.strides, &opts.padding)?;
    let want = win.out_shape(win.c);
    if dy.shape() != want.as_slice() {
        return Err(shape_err(
            op,
            format!("gradient shape {:?} must be {want:?} for input {input_shape:?}", dy.shape()),
        ));
    }
    Ok(win)
}

/// The public pooling gradients are those of the pooling alone: a fused activation's gradient
/// needs the forward's output, which only the op's own backward keeps.
fn no_activation(op: &'static str, opts: &PoolOptions) -> Result<()> {
    match opts.activation {
        crate::Activation::None => Ok(()),
        a => Err(shape_err(op, format!("takes the gradient of the pooling alone; options fuse {a:?}"))),
    }
}

/// The input gradient of [`max_pool2d`] (`tf.raw_ops.MaxPoolGrad`): `dy` (`[n, oh, ow, c]`)
/// flows to each window's first maximum of `x`, summed where windows overlap. On the GPU one
/// gather kernel recomputes the argmax of every window covering each input cell (nothing is
/// stored by the forward). Not itself differentiable; `opts` must fuse no activation.
pub fn max_pool2d_grad(x: &Tensor, dy: &Tensor, opts: &PoolOptions) -> Result<Tensor> {
    no_activation("max_pool2d_grad", opts)?;
    max_pool_grad(x, dy, None, opts)
}

/// [`max_pool2d_grad`], with `dy` first masked by the fused activation's gradient from the
/// saved output `y` (`None` when `opts` fuses no activation); one dispatch on the GPU.
fn max_pool_grad(x: &Tensor, dy: &Tensor, y: Option<&Tensor>, opts: &PoolOptions) -> Result<Tensor> {
    let win = grad_geometry("max_pool2d_grad", x.shape(), dy, opts)?;
    let dev = common_device("max_pool2d_grad", &[x, dy])?;
    let (shape, act) = (x.shape().to_vec(), opts.activation);
    match &dev {
        Device::Cpu => {
            let up = cpu::activation_masked(dy.cpu_data(), y.map(|y| y.cpu_data()), act);
            Ok(Tensor::from_cpu(cpu::max_pool2d_grad(x.cpu_data(), &up, &win), shape))
        }
        Device::Gpu(g) => {
            let fused = FusedGrad { act, y: y.map(|y| y.gpu_buf()) };
            let buf = k::pool2d_grad(g, x.gpu_buf(), dy.gpu_buf(), &win, PoolMode::Max, fused)?;
            Ok(Tensor::from_gpu(buf, shape, &dev))
        }
    }
}

/// The input gradient of [`avg_pool2d`] (`tf.raw_ops.AvgPoolGrad`) for an input of
/// `input_shape`: each window's `dy` divided by its count of real cells, spread over them. On
/// the GPU one gather kernel sums over the windows covering each input cell. Differentiable
/// (its adjoint is `avg_pool2d`); `opts` must fuse no activation.
pub fn avg_pool2d_grad(dy: &Tensor, input_shape: &[usize], opts: &PoolOptions) -> Result<Tensor> {
    no_activation("avg_pool2d_grad", opts)?;
    let out = avg_pool_grad(dy, None, input_shape, opts)?;
    let o = *opts;
    Ok(record(out, "avg_pool2d_grad", &[dy], move |g| Ok(vec![Some(avg_pool2d(g, &o)?)])))
}

/// The backward of an average pooling with a fused activation: `dy` masked by the
/// activation's gradient from the saved output `y`, then spread; one dispatch on the GPU.
/// Not differentiable.
fn avg_pool_fused_grad(dy: &Tensor, y: &Tensor, input_shape: &[usize], opts: &PoolOptions) -> Result<Tensor> {
    common_device("avg_pool2d_grad", &[dy, y])?;
    avg_pool_grad(dy, Some(y), input_shape, opts)
}

/// The average pooling's input gradient, `dy` first masked as in [`max_pool_grad`].
fn avg_pool_grad(dy: &Tensor, y: Option<&Tensor>, input_shape: &[usize], opts: &PoolOptions) -> Result<Tensor> {
    let win = grad_geometry("avg_pool2d_grad", input_shape, dy, opts)?;
    let (shape, act) = (input_shape.to_vec(), opts.activation);
    Ok(match dy.device() {
        Device::Cpu => {
            let up = cpu::activation_masked(dy.cpu_data(), y.map(|y| y.cpu_data()), act);
            Tensor::from_cpu(cpu::avg_pool2d_grad(&up, &win), shape)
        }
        Device::Gpu(g) => {
            let fused = FusedGrad { act, y: y.map(|y| y.gpu_buf()) };
            let buf = k::pool2d_grad(g, dy.gpu_buf(), dy.gpu_buf(), &win, PoolMode::Avg, fused)?;
            Tensor::from_gpu(buf, shape, dy.device())
        }
    })
}

/// Keras `GlobalAveragePooling2D`: `[n, h, w, c]` → `[n, c]`, the mean over h and w.
pub fn global_avg_pool2d(x: &Tensor) -> Result<Tensor> {
    let out = global_pool2d(x, PoolMode::Avg, "global_avg_pool2d")?;
    let [n, h, w, c] = k::global_pool_shape("global_avg_pool2d", x.shape())?;
    let dev = x.device().clone();
    Ok(record(out, "global_avg_pool2d", &[x], move |g| {
        let spread = Tensor::full(1.0 / (h * w) as f32, &[1, h, w, 1], &dev)?;
        Ok(vec![Some(mul(&g.reshape(&[n, 1, 1, c])?, &spread)?)])
    }))
}

/// Keras `GlobalMaxPooling2D`: `[n, h, w, c]` → `[n, c]`, the maximum over h and w. The
/// gradient goes to the first maximum in row-major order.
pub fn global_max_pool2d(x: &Tensor) -> Result<Tensor> {
    let out = global_pool2d(x, PoolMode::Max, "global_max_pool2d")?;
    let xc = x.detach();
    Ok(record(out, "global_max_pool2d", &[x], move |g| Ok(vec![Some(global_max_pool2d_grad(&xc, g)?)])))
}

/// `dy` (`[n, c]`) sent to the first maximum of each `[h·w]` column of `x`: the argmax over
/// the flattened spatial axis, then a one-hot mask `(i == argmax)` built from two compares.
fn global_max_pool2d_grad(x: &Tensor, dy: &Tensor) -> Result<Tensor> {
    let [n, h, w, c] = k::global_pool_shape("global_max_pool2d", x.shape())?;
    let at = argmax(&x.reshape(&[n, h * w, c])?, 1)?.reshape(&[n, 1, c])?;
    let iota: Vec<f32> = (0..h * w).map(|i| i as f32).collect();
    let iota = Tensor::from_vec(iota, &[1, h * w, 1], x.device())?;
    let off = add(&binary_forward(BinaryOp::Greater, &iota, &at)?, &binary_forward(BinaryOp::Greater, &at, &iota)?)?;
    let hit = affine(&off, -1.0, 1.0)?;
    mul(&hit, &dy.reshape(&[n, 1, c])?)?.reshape(x.shape())
}

fn global_pool2d(x: &Tensor, mode: PoolMode, op: &'static str) -> Result<Tensor> {
    let s = k::global_pool_shape(op, x.shape())?;
    let shape = vec![s[0], s[3]];
    match x.device() {
        Device::Cpu => {
            let out = match mode {
                PoolMode::Max => cpu::global_max_pool2d(x.cpu_data(), s),
                PoolMode::Avg => cpu::global_avg_pool2d(x.cpu_data(), s),
            };
            Ok(Tensor::from_cpu(out, shape))
        }
        Device::Gpu(g) => Ok(Tensor::from_gpu(k::global_pool2d(g, x.gpu_buf(), &s, mode)?, shape, x.device())),
    }
}
