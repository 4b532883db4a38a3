//! CPU twins of `shaders/reduce.wgsl` (reductions over flagged axes, argmax) and
//! `shaders/reduce_grad.wgsl` (the sum/mean and max gradients).

use tessera_kernels::elementwise::max_nan;
use tessera_kernels::reduce::ReduceOp;

/// Reduces `x` (shape `shape`) over the axes flagged in `reduced`; keepdims-shaped result.
pub fn reduce(op: ReduceOp, x: &[f32], shape: &[usize], reduced: &[bool]) -> Vec<f32> {
    let out_shape: Vec<usize> = shape.iter().zip(reduced).map(|(&d, &r)| if r { 1 } else { d }).collect();
    let n_out: usize = out_shape.iter().product();
    let init = if op == ReduceOp::Max { f32::NEG_INFINITY } else { 0.0 };
    let mut acc = vec![init; n_out];
    let mut count = vec![0usize; n_out];
    let mut idx = vec![0usize; shape.len()];
    for &v in x {
        let mut o = 0;
        for d in 0..shape.len() {
            o = o * out_shape[d] + if reduced[d] { 0 } else { idx[d] };
        }
        acc[o] = if op == ReduceOp::Max { max_nan(acc[o], v) } else { acc[o] + v };
        count[o] += 1;
        for d in (0..shape.len()).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    if op == ReduceOp::Mean {
        for (a, &c) in acc.iter_mut().zip(&count) {
            *a /= c as f32;
        }
    }
    acc
}

/// The first index of the maximum along `axis`, as f32; `axis` removed from the shape.
pub fn argmax(x: &[f32], shape: &[usize], axis: usize) -> Vec<f32> {
    let outer: usize = shape[..axis].iter().product();
    let len = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    let mut out = Vec::with_capacity(outer * inner);
    for o in 0..outer {
        for i in 0..inner {
            // TensorFlow's (Eigen's) rule: start from the lowest f32, so NaN never wins.
            let mut best = f32::MIN;
            let mut arg = 0;
            for a in 0..len {
                let v = x[(o * len + a) * inner + i];
                if v > best {
                    best = v;
                    arg = a;
                }
            }
            out.push(arg as f32);
        }
    }
    out
}

/// The keepdims-layout output index of every input element (row-major over `shape`).
fn output_index(shape: &[usize], reduced: &[bool]) -> Vec<usize> {
    let n: usize = shape.iter().product();
    let mut out = Vec::with_capacity(n);
    let mut idx = vec![0usize; shape.len()];
    for _ in 0..n {
        let mut o = 0;
        for d in 0..shape.len() {
            o = o * if reduced[d] { 1 } else { shape[d] } + if reduced[d] { 0 } else { idx[d] };
        }
        out.push(o);
        for d in (0..shape.len()).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}

/// Gradient of a sum over the flagged axes, times `scale`: each input element gets
/// `scale · g[its output]`.
pub fn broadcast_back(g: &[f32], shape: &[usize], reduced: &[bool], scale: f32) -> Vec<f32> {
    output_index(shape, reduced).into_iter().map(|o| g[o] * scale).collect()
}

/// `reduce_max`'s gradient: each output's `g` goes to the first (row-major) input element that
/// attains its maximum; all other elements get 0.
pub fn reduce_max_grad(x: &[f32], g: &[f32], shape: &[usize], reduced: &[bool]) -> Vec<f32> {
    let outs = output_index(shape, reduced);
    let mut first: Vec<Option<usize>> = vec![None; g.len()];
    for (i, &o) in outs.iter().enumerate() {
        match first[o] {
            Some(b) if x[i] <= x[b] => {}
            _ => first[o] = Some(i),
        }
    }
    let mut dx = vec![0.0; x.len()];
    for (o, f) in first.iter().enumerate() {
        if let Some(i) = f {
            dx[*i] = g[o];
        }
    }
    dx
}
