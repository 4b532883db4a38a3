//! CPU twin of `shaders/transpose.wgsl`: the batched 2-D transpose.

/// Batched 2-D transpose: `out[b, j, i] = x[b, i, j]` for x of shape `[batch, rows, cols]`.
pub fn transpose2d(x: &[f32], batch: usize, rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; x.len()];
    for b in 0..batch {
        for i in 0..rows {
            for j in 0..cols {
                out[(b * cols + j) * rows + i] = x[(b * rows + i) * cols + j];
            }
        }
    }
    out
}
