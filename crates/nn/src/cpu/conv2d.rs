//! CPU twin of `shaders/conv2d.wgsl`: direct convolution with plain loops.

use tessera_kernels::{Activation, Conv2dGeometry};

/// `act(conv2d(x, filter) + bias)`: x `[n, h, w, cin]`, filter `[kh, kw, cin, cout]`.
pub fn conv2d(x: &[f32], filter: &[f32], bias: Option<&[f32]>, g: &Conv2dGeometry, act: Activation) -> Vec<f32> {
    let w = &g.win;
    let mut out = vec![0.0; w.n * w.oh * w.ow * g.cout];
    for b in 0..w.n {
        for oy in 0..w.oh {
            for ox in 0..w.ow {
                for co in 0..g.cout {
                    let mut acc = 0.0f32;
                    for ky in 0..w.kh {
                        for kx in 0..w.kw {
                            let iy = (oy * w.sh + ky * w.dh) as isize - w.pad_top as isize;
                            let ix = (ox * w.sw + kx * w.dw) as isize - w.pad_left as isize;
                            if iy < 0 || ix < 0 || iy >= w.h as isize || ix >= w.w as isize {
                                continue;
                            }
                            for ci in 0..w.c {
                                let xv = x[((b * w.h + iy as usize) * w.w + ix as usize) * w.c + ci];
                                let fv = filter[((ky * w.kw + kx) * w.c + ci) * g.cout + co];
                                acc += xv * fv;
                            }
                        }
                    }
                    let v = acc + bias.map_or(0.0, |bs| bs[co]);
                    out[((b * w.oh + oy) * w.ow + ox) * g.cout + co] = act.apply(v);
                }
            }
        }
    }
    out
}

/// Filter gradient of conv2d: `dW[ky, kx, ci, co] = Σ_{n, oy, ox} x[n, iy, ix, ci] · dy[n, oy, ox, co]`.
pub fn conv2d_filter_grad(x: &[f32], dy: &[f32], g: &Conv2dGeometry) -> Vec<f32> {
    let w = &g.win;
    let mut dw = vec![0.0f32; w.kh * w.kw * w.c * g.cout];
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
                        for ci in 0..w.c {
                            let xv = x[((b * w.h + iy as usize) * w.w + ix as usize) * w.c + ci];
                            for co in 0..g.cout {
                                let gv = dy[((b * w.oh + oy) * w.ow + ox) * g.cout + co];
                                dw[((ky * w.kw + kx) * w.c + ci) * g.cout + co] += xv * gv;
                            }
                        }
                    }
                }
            }
        }
    }
    dw
}
