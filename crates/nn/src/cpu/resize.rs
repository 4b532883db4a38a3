//! CPU twins of `shaders/resize.wgsl`: nearest-neighbour upsampling and its input gradient,
//! with plain loops.

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

/// Gradient of [`upsample_nearest2d`] for input shape `shape`: every `dy` element (of shape
/// `[n, h·sh, w·sw, c]`) added to the input cell it was copied from.
pub fn upsample_nearest2d_grad(dy: &[f32], shape: [usize; 4], size: [usize; 2]) -> Vec<f32> {
    let [n, h, w, c] = shape;
    let (oh, ow) = (h * size[0], w * size[1]);
    let mut dx = vec![0.0f32; n * h * w * c];
    for b in 0..n {
        for y in 0..oh {
            for xx in 0..ow {
                for ch in 0..c {
                    dx[((b * h + y / size[0]) * w + xx / size[1]) * c + ch] += dy[((b * oh + y) * ow + xx) * c + ch];
                }
            }
        }
    }
    dx
}
