//! CPU twin of `shaders/conv2d_transpose.wgsl`, written as the definition: every input element
//! scatters `in * filter` to output position `y = iy * sh - pad_top + ky * dh` (same for x).

use tessera_kernels::{Activation, Conv2dTransposeGeometry};

/// `act(conv2d_transpose(x, filter) + bias)`: x `[n, ih, iw, cin]`, filter
/// `[kh, kw, cout, cin]`, output `[n, oh, ow, cout]`.
pub fn conv2d_transpose(
    x: &[f32],
    filter: &[f32],
    bias: Option<&[f32]>,
    g: &Conv2dTransposeGeometry,
    act: Activation,
) -> Vec<f32> {
    // The forward conv's input is our output; its output is our input.
    let w = &g.fwd.win;
    let (ih, iw, cin) = (w.oh, w.ow, g.cin);
    let (oh, ow, cout) = (w.h, w.w, w.c);
    let mut out = vec![0.0f32; w.n * oh * ow * cout];
    for b in 0..w.n {
        for iy in 0..ih {
            for ix in 0..iw {
                for ky in 0..w.kh {
                    for kx in 0..w.kw {
                        let y = (iy * w.sh + ky * w.dh) as isize - w.pad_top as isize;
                        let xo = (ix * w.sw + kx * w.dw) as isize - w.pad_left as isize;
                        if y < 0 || xo < 0 || y >= oh as isize || xo >= ow as isize {
                            continue;
                        }
                        for co in 0..cout {
                            for ci in 0..cin {
                                let xv = x[((b * ih + iy) * iw + ix) * cin + ci];
                                let fv = filter[((ky * w.kw + kx) * cout + co) * cin + ci];
                                out[((b * oh + y as usize) * ow + xo as usize) * cout + co] += xv * fv;
                            }
                        }
                    }
                }
            }
        }
    }
    for (i, v) in out.iter_mut().enumerate() {
        *v = act.apply(*v + bias.map_or(0.0, |bs| bs[i % cout]));
    }
    out
}
