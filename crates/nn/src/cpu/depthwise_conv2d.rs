//! CPU twins of `shaders/depthwise_conv2d.wgsl` and `shaders/depthwise_conv2d_grad.wgsl`:
//! depthwise convolution and its input and filter gradients with plain loops.

use tessera_kernels::{Activation, DepthwiseGeometry};

/// `act(depthwise_conv2d(x, filter) + bias)`: x `[n, h, w, c]`, filter `[kh, kw, c, m]`,
/// output channel `c * m + mi`.
pub fn depthwise_conv2d(
    x: &[f32],
    filter: &[f32],
    bias: Option<&[f32]>,
    g: &DepthwiseGeometry,
    act: Activation,
) -> Vec<f32> {
    let w = &g.win;
    let m = g.multiplier;
    let cm = w.c * m;
    let mut out = vec![0.0; w.n * w.oh * w.ow * cm];
    for b in 0..w.n {
        for oy in 0..w.oh {
            for ox in 0..w.ow {
                for c in 0..w.c {
                    for mi in 0..m {
                        let oc = c * m + mi;
                        let mut acc = 0.0f32;
                        for ky in 0..w.kh {
                            for kx in 0..w.kw {
                                let iy = (oy * w.sh + ky * w.dh) as isize - w.pad_top as isize;
                                let ix = (ox * w.sw + kx * w.dw) as isize - w.pad_left as isize;
                                if iy < 0 || ix < 0 || iy >= w.h as isize || ix >= w.w as isize {
                                    continue;
                                }
                                let xv = x[((b * w.h + iy as usize) * w.w + ix as usize) * w.c + c];
                                let fv = filter[((ky * w.kw + kx) * w.c + c) * m + mi];
                                acc += xv * fv;
                            }
                        }
                        let v = acc + bias.map_or(0.0, |bs| bs[oc]);
                        out[((b * w.oh + oy) * w.ow + ox) * cm + oc] = act.apply(v);
                    }
                }
            }
        }
    }
    out
}

/// Input gradient of `depthwise_conv2d`: dy `[n, oh, ow, c * m]`, filter `[kh, kw, c, m]`,
/// returns dx `[n, h, w, c]` (every output scatters `dy * filter` back to the input it read).
pub fn depthwise_conv2d_input_grad(dy: &[f32], filter: &[f32], g: &DepthwiseGeometry) -> Vec<f32> {
    let w = &g.win;
    let m = g.multiplier;
    let cm = w.c * m;
    let mut dx = vec![0.0f32; w.n * w.h * w.w * w.c];
    for b in 0..w.n {
        for oy in 0..w.oh {
            for ox in 0..w.ow {
                for ky in 0..w.kh {
                    for kx in 0..w.kw {
                        let iy = (oy * w.sh + ky * w.dh) as isize - w.pad_top as isize;
                        let ix = (ox * w.sw + kx * w.dw) as isize - w.pad_left as isize;
                        if iy < 0 || ix < 0 || iy >= w.h as isize || ix >= w.w as isize {
                            continue;
                        }
                        for c in 0..w.c {
                            for mi in 0..m {
                                let gv = dy[((b * w.oh + oy) * w.ow + ox) * cm + c * m + mi];
                                let fv = filter[((ky * w.kw + kx) * w.c + c) * m + mi];
                                dx[((b * w.h + iy as usize) * w.w + ix as usize) * w.c + c] += gv * fv;
                            }
                        }
                    }
                }
            }
        }
    }
    dx
}

/// Filter gradient of `depthwise_conv2d`: x `[n, h, w, c]`, dy `[n, oh, ow, c * m]`, returns
/// dfilter `[kh, kw, c, m]` with `dfilter[ky, kx, c, mi] = Σ x[tap] * dy[.., c * m + mi]`.
pub fn depthwise_conv2d_filter_grad(x: &[f32], dy: &[f32], g: &DepthwiseGeometry) -> Vec<f32> {
    let w = &g.win;
    let m = g.multiplier;
    let cm = w.c * m;
    let mut df = vec![0.0f32; w.kh * w.kw * cm];
    for b in 0..w.n {
        for oy in 0..w.oh {
            for ox in 0..w.ow {
                for ky in 0..w.kh {
                    for kx in 0..w.kw {
                        let iy = (oy * w.sh + ky * w.dh) as isize - w.pad_top as isize;
                        let ix = (ox * w.sw + kx * w.dw) as isize - w.pad_left as isize;
                        if iy < 0 || ix < 0 || iy >= w.h as isize || ix >= w.w as isize {
                            continue;
                        }
                        for c in 0..w.c {
                            for mi in 0..m {
                                let xv = x[((b * w.h + iy as usize) * w.w + ix as usize) * w.c + c];
                                let gv = dy[((b * w.oh + oy) * w.ow + ox) * cm + c * m + mi];
                                df[((ky * w.kw + kx) * w.c + c) * m + mi] += xv * gv;
                            }
                        }
                    }
                }
            }
        }
    }
    df
}
