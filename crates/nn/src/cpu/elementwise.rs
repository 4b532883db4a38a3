//! CPU twins of `shaders/elementwise.wgsl`, and the gradient mask of a fused activation.

use tessera_kernels::elementwise::{broadcast_strides, dropout_keeps, BinaryOp, UnaryOp};
use tessera_kernels::Activation;

/// `op(a, b)` with broadcasting to `out_shape`.
pub fn binary(
    op: BinaryOp,
    a: &[f32],
    a_shape: &[usize],
    b: &[f32],
    b_shape: &[usize],
    out_shape: &[usize],
) -> Vec<f32> {
    let sa = broadcast_strides(a_shape, out_shape);
    let sb = broadcast_strides(b_shape, out_shape);
    let n: usize = out_shape.iter().product();
    let mut out = Vec::with_capacity(n);
    let mut idx = vec![0usize; out_shape.len()];
    for _ in 0..n {
        let ia: usize = idx.iter().zip(&sa).map(|(i, s)| i * s).sum();
        let ib: usize = idx.iter().zip(&sb).map(|(i, s)| i * s).sum();
        out.push(op.apply(a[ia], b[ib]));
        for d in (0..idx.len()).rev() {
            idx[d] += 1;
            if idx[d] < out_shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}

/// `op(x)` for every element.
pub fn unary(op: UnaryOp, x: &[f32]) -> Vec<f32> {
    x.iter().map(|&v| op.apply(v)).collect()
}

/// Inverted dropout with the GPU kernel's hash: element `i` is kept when its hash says so.
pub fn dropout(x: &[f32], rate: f32, seed: u32) -> Vec<f32> {
    let scale = 1.0 / (1.0 - rate);
    // `i as u32` like the GPU's u32 index (tensors hold at most MAX_ELEMENTS = 2^28 elements).
    x.iter().enumerate().map(|(i, &v)| if dropout_keeps(i as u32, seed, rate) { v * scale } else { 0.0 }).collect()
}

/// The upstream gradient through a fused activation: `act'(y)·dy` from the saved output `y`
/// (`dy` itself without an activation).
pub fn activation_masked(dy: &[f32], y: Option<&[f32]>, act: Activation) -> Vec<f32> {
    match (act.grad_op(), y) {
        (Some(op), Some(y)) => y.iter().zip(dy).map(|(&y, &g)| op.apply(y, g)).collect(),
        _ => dy.to_vec(),
    }
}

/// [`binary`] followed by the fused activation `act`: `act(op(a, b))` with broadcasting.
pub fn binary_act(
    op: BinaryOp,
    a: &[f32],
    a_shape: &[usize],
    b: &[f32],
    b_shape: &[usize],
    out_shape: &[usize],
    act: Activation,
) -> Vec<f32> {
    binary(op, a, a_shape, b, b_shape, out_shape).into_iter().map(|v| act.apply(v)).collect()
}
