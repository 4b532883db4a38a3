//! CPU twin of `shaders/resize.wgsl`: nearest-neighbour upsampling with plain loops.

/// Keras `UpSampling2D` (nearest): `[n, h, w, c]` → `[n, h·sh, w·sw, c]`,
/// `out[b, y, x, ch] = x[b, y / sh, x / sw, ch]`.
pub fn upsample_nearest2d(x: &[f32], shape: [usize; 4], size: [usize; 2]) -> Vec<f32> {
    let [n, h, w, c] = shape;
    let (oh, ow) = (h * size[0], w * size[1]);
    let mut out = Vec::with_capacity(n * oh * ow * c);
    for b in 0..n {
        for y in 0..oh {
            for xx in 0..ow {
                for ch in 0..c {
                    out.push(x[((b * h + y / size[0]) * w + xx / size[1]) * c + ch]);
                }
            }
        }
    }
    out
}
