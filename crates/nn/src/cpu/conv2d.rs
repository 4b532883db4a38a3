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

/// Calls `f(q, cl, co)` for every group `q`, its local input channel `cl` and every output
/// channel `co` of the group (input channel `q·cpg + cl`), outputs innermost.
fn for_each_pair(g: &Conv2dGeometry, mut f: impl FnMut(usize, usize, usize)) {
    let (cpg, opg) = (g.win.c / g.groups, g.cout / g.groups);
    for q in 0..g.groups {
        for cl in 0..cpg {
            for co in q * opg..(q + 1) * opg {
                f(q * cpg + cl, cl, co);
            }
        }
    }
}

/// `act(conv2d(x, filter) + bias)`: x `[n, h, w, cin]`, filter `[kh, kw, cin / groups, cout]`;
/// output channel `co` of group `co / (cout / groups)` reads that group's input channels.
pub fn conv2d(x: &[f32], filter: &[f32], bias: Option<&[f32]>, g: &Conv2dGeometry, act: Activation) -> Vec<f32> {
    let w = &g.win;
    let cpg = w.c / g.groups;
    let mut acc = vec![0.0f32; w.n * w.oh * w.ow * g.cout];
    for_each_tap(g, |[b, oy, ox, iy, ix, ky, kx]| {
        let (xo, fo) = (((b * w.h + iy) * w.w + ix) * w.c, (ky * w.kw + kx) * cpg);
        let out = ((b * w.oh + oy) * w.ow + ox) * g.cout;
        for_each_pair(g, |ci, cl, co| acc[out + co] += x[xo + ci] * filter[(fo + cl) * g.cout + co]);
    });
    for (i, v) in acc.iter_mut().enumerate() {
        *v = act.apply(*v + bias.map_or(0.0, |bs| bs[i % g.cout]));
    }
    acc
}

/// Filter gradient of conv2d: `dW[ky, kx, cl, co] = Σ_{n, oy, ox} x[n, iy, ix, group(co)·cpg + cl] · dy[n, oy, ox, co]`.
pub fn conv2d_filter_grad(x: &[f32], dy: &[f32], g: &Conv2dGeometry) -> Vec<f32> {
    let w = &g.win;
    let cpg = w.c / g.groups;
    let mut dw = vec![0.0f32; w.kh * w.kw * cpg * g.cout];
    for_each_tap(g, |[b, oy, ox, iy, ix, ky, kx]| {
        let (xo, fo) = (((b * w.h + iy) * w.w + ix) * w.c, (ky * w.kw + kx) * cpg);
        let out = ((b * w.oh + oy) * w.ow + ox) * g.cout;
        for_each_pair(g, |ci, cl, co| dw[(fo + cl) * g.cout + co] += x[xo + ci] * dy[out + co]);
    });
    dw
}

/// Input gradient of conv2d: every `dy[n, oy, ox, co]` times the filter taps, added to the
/// input elements of `co`'s group that the window read (`[n, h, w, cin]`).
pub fn conv2d_input_grad(dy: &[f32], filter: &[f32], g: &Conv2dGeometry) -> Vec<f32> {
    let w = &g.win;
    let cpg = w.c / g.groups;
    let mut dx = vec![0.0f32; w.n * w.h * w.w * w.c];
    for_each_tap(g, |[b, oy, ox, iy, ix, ky, kx]| {
        let (xo, fo) = (((b * w.h + iy) * w.w + ix) * w.c, (ky * w.kw + kx) * cpg);
        let out = ((b * w.oh + oy) * w.ow + ox) * g.cout;
        for_each_pair(g, |ci, cl, co| dx[xo + ci] += filter[(fo + cl) * g.cout + co] * dy[out + co]);
    });
    dx
}
