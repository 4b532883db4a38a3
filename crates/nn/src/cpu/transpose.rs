//! CPU twin of `shaders/transpose.wgsl`: batched 2-D transpose with plain loops.

/// `out[b, c, r] = x[b, r, c]` for `x` of shape `[batch, rows, cols]`.
pub fn transpose2d(x: &[f32], batch: usize, rows: usize, cols: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(batch * rows * cols);
    for b in 0..batch {
        for c in 0..cols {
            for r in 0..rows {
                out.push(x[(b * rows + r) * cols + c]);
            }
        }
    }
    out
}
