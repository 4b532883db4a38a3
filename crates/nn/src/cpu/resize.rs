//! CPU twins of `shaders/resize.wgsl`: nearest-neighbour upsampling, bilinear resizing and
//! their input gradients, with plain loops.

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

/// TensorFlow's half-pixel bilinear taps along one axis for output index `o`: the lower and
/// upper input indices and the upper one's weight (`src = (o + 0.5) · in / out − 0.5`).
fn bilinear_taps(o: usize, n_in: usize, n_out: usize) -> (usize, usize, f32) {
    let src = (o as f32 + 0.5) * (n_in as f32 / n_out as f32) - 0.5;
    let fl = src.floor();
    (fl.max(0.0) as usize, (src.ceil().max(0.0) as usize).min(n_in - 1), src - fl)
}

/// Calls `f(output pixel, [top-left, top-right, bottom-left, bottom-right] input pixels,
/// (x lerp, y lerp))` for every output pixel of a bilinear resize of `shape` to `size`
/// (pixels are row-major indices over `[n, h, w]` and `[n, oh, ow]`).
fn for_each_bilinear(shape: [usize; 4], size: [usize; 2], mut f: impl FnMut(usize, [usize; 4], (f32, f32))) {
    let [n, h, w, _] = shape;
    for b in 0..n {
        for oy in 0..size[0] {
            let (y0, y1, ly) = bilinear_taps(oy, h, size[0]);
            for ox in 0..size[1] {
                let (x0, x1, lx) = bilinear_taps(ox, w, size[1]);
                let at = |y: usize, x: usize| (b * h + y) * w + x;
                f((b * size[0] + oy) * size[1] + ox, [at(y0, x0), at(y0, x1), at(y1, x0), at(y1, x1)], (lx, ly));
            }
        }
    }
}

/// `tf.image.resize(x, size, 'bilinear')` (half-pixel centres, no antialiasing):
/// `[n, h, w, c]` → `[n, oh, ow, c]`, interpolating as TensorFlow does (along x, then y).
pub fn resize_bilinear(x: &[f32], shape: [usize; 4], size: [usize; 2]) -> Vec<f32> {
    let c = shape[3];
    let mut out = vec![0.0f32; shape[0] * size[0] * size[1] * c];
    for_each_bilinear(shape, size, |o, [tl, tr, bl, br], (lx, ly)| {
        for ch in 0..c {
            let v = |pix: usize| x[pix * c + ch];
            let top = v(tl) + (v(tr) - v(tl)) * lx;
            let bottom = v(bl) + (v(br) - v(bl)) * lx;
            out[o * c + ch] = top + (bottom - top) * ly;
        }
    });
    out
}

/// Gradient of [`resize_bilinear`] for input shape `shape`: every `dy` element (of shape
/// `[n, oh, ow, c]`) added to its four taps by their weights (TensorFlow's ResizeBilinearGrad).
pub fn resize_bilinear_grad(dy: &[f32], shape: [usize; 4], size: [usize; 2]) -> Vec<f32> {
    let c = shape[3];
    let mut dx = vec![0.0f32; shape.iter().product()];
    for_each_bilinear(shape, size, |o, [tl, tr, bl, br], (lx, ly)| {
        for ch in 0..c {
            let d = dy[o * c + ch];
            let (dtop, dbottom) = ((1.0 - ly) * d, ly * d);
            dx[tl * c + ch] += dtop * (1.0 - lx);
            dx[tr * c + ch] += dtop * lx;
            dx[bl * c + ch] += dbottom * (1.0 - lx);
            dx[br * c + ch] += dbottom * lx;
        }
    });
    dx
}
