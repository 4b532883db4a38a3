//! CPU twins of `shaders/conv2d.wgsl` and `shaders/conv2d_grouped.wgsl`: direct (grouped)
//! convolution and its gradients with plain loops.

use tessera_kernels::{Activation, Conv2dGeometry};

/// The input position (row or column) of window tap `k` for output position `o`, if inside.
fn tap(o: usize, k: usize, s: usize, d: usize, pad: usize, n: usize) -> Option<usize> {
    (o * s + k * d).checked_sub(pad).filter(|&i| i < n)
}

/// Calls `f(b, oy, ox, iy, ix, ky, kx)` for every output pixel and every window tap inside the input.
fn for_each_tap(g: &Conv2dGeometry, mut f: impl FnMut([usize; 7])) {
    let w = &g.win;
    for b in 0..w.n {
        for oy in 0..w.oh {
            for ox in 0..w.ow {
                for ky in 0..w.kh {
                    let Some(iy) = tap(oy, ky, w.sh, w.dh, w.pad_top, w.h) else { continue };
                    for kx in 0..w.kw {
                        let Some(ix) = tap(ox, kx, w.sw, w.dw, w.pad_left, w.w) else { continue };
                        f([b, oy, ox, iy, ix, ky, kx]);
                    }
                }
            }
        }
    }
}

/// `act(conv2d(x, filter) + bias)`: x `[n, h, w, cin]`, filter `[kh, kw, cin / groups, cout]`;
/// output channel `co` of group `co / (cout / groups)` reads that group's input channels.
pub fn conv2d(x: &[f32], filter: &[f32], bias: Option<&[f32]>, g: &Conv2dGeometry, act: Activation) -> Vec<f32> {
    let w = &g.win;
    let (cpg, opg) = (w.c / g.groups, g.cout / g.groups);
    let mut acc = vec![0.0f32; w.n * w.oh * w.ow * g.cout];
    for_each_tap(g, |[b, oy, ox, iy, ix, ky, kx]| {
        for co in 0..g.cout {
            let c0 = co / opg * cpg;
            for cl in 0..cpg {
                let xv = x[((b * w.h + iy) * w.w + ix) * w.c + c0 + cl];
                let fv = filter[((ky * w.kw + kx) * cpg + cl) * g.cout + co];
                acc[((b * w.oh + oy) * w.ow + ox) * g.cout + co] += xv * fv;
            }
        }
    });
    for (i, v) in acc.iter_mut().enumerate() {
        *v = act.apply(*v + bias.map_or(0.0, |bs| bs[i % g.cout]));
    }
    acc
}

/// Filter gradient of conv2d: `dW[ky, kx, cl, co] = Σ_{n, oy, ox} x[n, iy, ix, group(co)·cpg + cl] · dy[n, oy, ox, co]`.
pub fn conv2d_filter_grad(x: &[f32], dy: &[f32], g: &Conv2dGeometry) -> Vec<f32> {
    let w = &g.win;
    let (cpg, opg) = (w.c / g.groups, g.cout / g.groups);
    let mut dw = vec![0.0f32; w.kh * w.kw * cpg * g.cout];
    for_each_tap(g, |[b, oy, ox, iy, ix, ky, kx]| {
        for co in 0..g.cout {
            let gv = dy[((b * w.oh + oy) * w.ow + ox) * g.cout + co];
            for cl in 0..cpg {
                let xv = x[((b * w.h + iy) * w.w + ix) * w.c + co / opg * cpg + cl];
                dw[((ky * w.kw + kx) * cpg + cl) * g.cout + co] += xv * gv;
            }
        }
    });
    dw
}

/// Input gradient of conv2d: every `dy[n, oy, ox, co]` times the filter taps, added to the
/// input elements of `co`'s group that the window read (`[n, h, w, cin]`).
pub fn conv2d_input_grad(dy: &[f32], filter: &[f32], g: &Conv2dGeometry) -> Vec<f32> {
    let w = &g.win;
    let (cpg, opg) = (w.c / g.groups, g.cout / g.groups);
    let mut dx = vec![0.0f32; w.n * w.h * w.w * w.c];
    for_each_tap(g, |[b, oy, ox, iy, ix, ky, kx]| {
        for co in 0..g.cout {
            let gv = dy[((b * w.oh + oy) * w.ow + ox) * g.cout + co];
            for cl in 0..cpg {
                let fv = filter[((ky * w.kw + kx) * cpg + cl) * g.cout + co];
                dx[((b * w.h + iy) * w.w + ix) * w.c + co / opg * cpg + cl] += fv * gv;
            }
        }
    });
    dx
}
