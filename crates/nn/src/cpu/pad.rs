//! CPU twins of `shaders/pad.wgsl`: zero padding and cropping of NHWC tensors, plain loops.

/// Zero padding of `x` (`[n, h, w, c]`) by `[[top, bottom], [left, right]]`.
pub fn pad2d(x: &[f32], shape: [usize; 4], pads: [[usize; 2]; 2]) -> Vec<f32> {
    let [n, h, w, c] = shape;
    let (oh, ow) = (h + pads[0][0] + pads[0][1], w + pads[1][0] + pads[1][1]);
    let mut out = vec![0.0f32; n * oh * ow * c];
    for b in 0..n {
        for y in 0..h {
            for xx in 0..w {
                for ch in 0..c {
                    let o = ((b * oh + y + pads[0][0]) * ow + xx + pads[1][0]) * c + ch;
                    out[o] = x[((b * h + y) * w + xx) * c + ch];
                }
            }
        }
    }
    out
}

/// Cropping of `x` (`[n, h, w, c]`): rows `[top, h − bottom)`, columns `[left, w − right)`.
pub fn crop2d(x: &[f32], shape: [usize; 4], crops: [[usize; 2]; 2]) -> Vec<f32> {
    let [n, h, w, c] = shape;
    let (oh, ow) = (h - crops[0][0] - crops[0][1], w - crops[1][0] - crops[1][1]);
    let mut out = Vec::with_capacity(n * oh * ow * c);
    for b in 0..n {
        for y in 0..oh {
            for xx in 0..ow {
                for ch in 0..c {
                    out.push(x[((b * h + y + crops[0][0]) * w + xx + crops[1][0]) * c + ch]);
                }
            }
        }
    }
    out
}
