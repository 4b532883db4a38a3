//! CPU twin of `shaders/matmul.wgsl`.

use tessera_kernels::matmul::Matmul;

/// `act(alpha * A @ B + bias)` for every batch item, using the layouts in `mm`.
pub fn matmul(a: &[f32], b: &[f32], bias: Option<&[f32]>, mm: &Matmul) -> Vec<f32> {
    let mut out = vec![0.0; mm.batch * mm.m * mm.n];
    for bi in 0..mm.batch {
        for i in 0..mm.m {
            for j in 0..mm.n {
                let mut acc = 0.0f32;
                for k in 0..mm.k {
                    let x = a[bi * mm.a.batch + i * mm.a.row + k * mm.a.col];
                    let y = b[bi * mm.b.batch + k * mm.b.row + j * mm.b.col];
                    acc += x * y;
                }
                let v = acc * mm.alpha + bias.map_or(0.0, |bs| bs[j]);
                out[(bi * mm.m + i) * mm.n + j] = mm.act.apply(v);
            }
        }
    }
    out
}
