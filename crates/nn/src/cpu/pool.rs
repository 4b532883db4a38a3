//! CPU twins of `shaders/pool.wgsl` (forward and input gradients) and of global pooling: plain
//! loops over NHWC slices. The gradients scatter from each output window, while the GPU gathers.
//! A fused activation is applied to each pooled value; its gradient masks `dy` by the saved
//! output before the pooling's gradient routes it.

use tessera_kernels::elementwise::{max_nan, pool_max};
use tessera_kernels::{Activation, Window2d};

/// The real (unpadded) input cells of output `(oy, ox)`'s window, as row and column ranges.
fn window_cells(w: &Window2d, oy: usize, ox: usize) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
    let y0 = (oy * w.sh) as isize - w.pad_top as isize;
    let x0 = (ox * w.sw) as isize - w.pad_left as isize;
    let rows = y0.max(0) as usize..(y0 + w.kh as isize).min(w.h as isize) as usize;
    let cols = x0.max(0) as usize..(x0 + w.kw as isize).min(w.w as isize) as usize;
    (rows, cols)
}

/// Pools every window with `f(real values)`.
fn pool(x: &[f32], w: &Window2d, f: impl Fn(&[f32]) -> f32) -> Vec<f32> {
    let mut out = Vec::with_capacity(w.n * w.oh * w.ow * w.c);
    for b in 0..w.n {
        for oy in 0..w.oh {
            for ox in 0..w.ow {
                let (rows, cols) = window_cells(w, oy, ox);
                for ch in 0..w.c {
                    let mut vals = Vec::new();
                    for y in rows.clone() {
                        for xx in cols.clone() {
                            vals.push(x[((b * w.h + y) * w.w + xx) * w.c + ch]);
                        }
                    }
                    out.push(f(&vals));
                }
            }
        }
    }
    out
}

/// `act(tf.nn.max_pool2d)`: the maximum of each window's real cells (padding never wins); NaN
/// is skipped and an all-NaN or all −inf window gives `f32::MIN`, as TensorFlow.
pub fn max_pool2d(x: &[f32], w: &Window2d, act: Activation) -> Vec<f32> {
    pool(x, w, |v| act.apply(v.iter().copied().fold(f32::MIN, pool_max)))
}

/// `act(tf.nn.avg_pool2d)`: the mean of each window's real cells (padding is not counted).
pub fn avg_pool2d(x: &[f32], w: &Window2d, act: Activation) -> Vec<f32> {
    pool(x, w, |v| act.apply(v.iter().sum::<f32>() / v.len() as f32))
}

/// Gradient of `max_pool2d` w.r.t. its input `x`: each window's `dy` goes to the window's first
/// maximum in row-major order (TensorFlow's tie rule), summed over overlapping windows.
pub fn max_pool2d_grad(x: &[f32], dy: &[f32], w: &Window2d) -> Vec<f32> {
    let mut dx = vec![0.0f32; x.len()];
    for b in 0..w.n {
        for oy in 0..w.oh {
            for ox in 0..w.ow {
                let (rows, cols) = window_cells(w, oy, ox);
                for ch in 0..w.c {
                    let mut best: Option<(f32, usize)> = None;
                    for y in rows.clone() {
                        for xx in cols.clone() {
                            let i = ((b * w.h + y) * w.w + xx) * w.c + ch;
                            if best.is_none_or(|(v, _)| x[i] > v) {
                                best = Some((x[i], i));
                            }
                        }
                    }
                    // A window with no real cell exists only over an empty input (h or w is 0,
                    // the window all padding): there is no cell to route its gradient to.
                    if let Some((_, at)) = best {
                        dx[at] += dy[((b * w.oh + oy) * w.ow + ox) * w.c + ch];
                    }
                }
            }
        }
    }
    dx
}

/// Gradient of `avg_pool2d` w.r.t. its input: each window's `dy` divided by the window's count
/// of real cells, added to each of those cells.
pub fn avg_pool2d_grad(dy: &[f32], w: &Window2d) -> Vec<f32> {
    let mut dx = vec![0.0f32; w.n * w.h * w.w * w.c];
    for b in 0..w.n {
        for oy in 0..w.oh {
            for ox in 0..w.ow {
                let (rows, cols) = window_cells(w, oy, ox);
                let count = (rows.len() * cols.len()) as f32;
                for ch in 0..w.c {
                    let g = dy[((b * w.oh + oy) * w.ow + ox) * w.c + ch] / count;
                    for y in rows.clone() {
                        for xx in cols.clone() {
                            dx[((b * w.h + y) * w.w + xx) * w.c + ch] += g;
                        }
                    }
                }
            }
        }
    }
    dx
}

/// Reduces each `[h·w]` column of `[n, h, w, c]` with `f` into `[n, c]`.
fn global_pool(x: &[f32], shape: [usize; 4], f: impl Fn(&[f32]) -> f32) -> Vec<f32> {
    let [n, h, w, c] = shape;
    let mut out = Vec::with_capacity(n * c);
    for b in 0..n {
        for ch in 0..c {
            let vals: Vec<f32> = (0..h * w).map(|p| x[(b * h * w + p) * c + ch]).collect();
            out.push(f(&vals));
        }
    }
    out
}

/// Keras `GlobalAveragePooling2D`: `[n, h, w, c]` → `[n, c]` means.
pub fn global_avg_pool2d(x: &[f32], shape: [usize; 4]) -> Vec<f32> {
    global_pool(x, shape, |v| v.iter().sum::<f32>() / v.len() as f32)
}

/// Keras `GlobalMaxPooling2D`: `[n, h, w, c]` → `[n, c]` maxima.
pub fn global_max_pool2d(x: &[f32], shape: [usize; 4]) -> Vec<f32> {
    global_pool(x, shape, |v| v.iter().copied().fold(f32::NEG_INFINITY, max_nan))
}
