//! Gradients of pooling, upsampling, moments and batch normalization: finite-difference and
//! GPU-vs-CPU gradient checks across options, hand-checked gradients, GPU-vs-CPU parity of the
//! backward kernels on larger inputs, shape errors, and training-mode batch norm.

mod common;
use common::*;
use tessera::prelude::*;

type PoolFn = fn(&Tensor, &PoolOptions) -> Result<Tensor>;

const POOLS: [(&str, PoolFn); 2] = [("max_pool2d", max_pool2d), ("avg_pool2d", avg_pool2d)];

fn paddings() -> [Padding; 3] {
    [Padding::Valid, Padding::Same, Padding::Explicit([[1, 0], [0, 1]])]
}

/// (ksize, strides): non-overlapping, overlapping 3x3/2, dense 3x3/1, non-square.
const WINDOWS: [([usize; 2], [usize; 2]); 4] = [([2, 2], [2, 2]), ([3, 3], [2, 2]), ([3, 3], [1, 1]), ([2, 3], [1, 2])];

#[test]
fn pooling_gradients_for_every_padding_stride_and_window() {
    // c = 3 takes the scalar kernels, c = 8 the vec4 kernels, c = 6 the vec2 ones (forward,
    // tiled max backward).
    let shapes: [&[usize]; 3] = [&[2, 7, 9, 3], &[2, 6, 5, 8], &[2, 5, 7, 6]];
    for (si, shape) in shapes.into_iter().enumerate() {
        // 2x2/3x2 leaves gaps; 2x2/1 overlaps (the gather backward) with every window full
        // where unpadded (pool.wgsl's straight-line FULL2 path, like 2x2/2).
        for (k, s) in WINDOWS.into_iter().chain([([2, 2], [3, 2]), ([2, 2], [1, 1])]) {
            for pad in paddings() {
                let o = PoolOptions::new(k).strides(s).padding(pad);
                for (name, f) in POOLS {
                    // asymmetric explicit padding with 2 rows below for the 3-high windows
                    let o = if k[0] == 3 && pad != Padding::Valid && pad != Padding::Same {
                        o.padding(Padding::Explicit([[0, 2], [1, 0]]))
                    } else {
                        o
                    };
                    grad_check(&format!("{name} {shape:?} {o:?}"), &[shape], 200 + si as u64, |x| f(&x[0], &o));
                }
            }
        }
    }
}

#[test]
fn fused_activation_pooling_gradients() {
    // Finite differences and GPU-vs-CPU gradients of the fused ops, scalar, vec2 and vec4
    // kernels, tiled (non-overlapping) and gather (overlapping) backward kernels.
    // [2, 6, 4, 6]: every 2x2/2 tile exactly its window (TILE2), vec2 kernel.
    let shapes: [&[usize]; 4] = [&[2, 7, 9, 3], &[2, 6, 5, 8], &[2, 5, 7, 6], &[2, 6, 4, 6]];
    for (si, shape) in shapes.into_iter().enumerate() {
        for (k, s) in [([2, 2], [2, 2]), ([3, 3], [2, 2]), ([2, 3], [1, 2])] {
            for pad in [Padding::Valid, Padding::Same] {
                for act in [Activation::Relu, Activation::Sigmoid, Activation::Tanh] {
                    let o = PoolOptions::new(k).strides(s).padding(pad).activation(act);
                    for (name, f) in POOLS {
                        grad_check(&format!("{name} {shape:?} {o:?}"), &[shape], 270 + si as u64, |x| f(&x[0], &o));
                    }
                }
            }
        }
    }
}

#[test]
fn fused_relu_pooling_gradient_equals_pooling_then_relu_on_both_devices() {
    let shape = [3, 9, 7, 8];
    for dev in [Device::Cpu, gpu()] {
        let data = rand_vec(shape.iter().product(), 280);
        for (k, s) in [([2, 2], [2, 2]), ([3, 3], [2, 2]), ([3, 2], [1, 1])] {
            let o = PoolOptions::new(k).strides(s).padding(Padding::Same);
            for (name, f) in POOLS {
                let grad = |fused: bool| {
                    let x = Tensor::from_slice(&data, &shape, &dev).unwrap().variable();
                    let y = if fused { f(&x, &o.activation(Activation::Relu)) } else { relu(&f(&x, &o).unwrap()) };
                    let g = weighted_sum(&y.unwrap()).unwrap().backward().unwrap();
                    g.get(&x).unwrap().to_vec().unwrap()
                };
                assert_eq!(grad(true), grad(false), "{name} {o:?} on {dev}");
            }
        }
    }
}

#[test]
fn public_pooling_gradients_refuse_a_fused_activation() {
    let x = Tensor::zeros(&[1, 4, 4, 2], &gpu()).unwrap();
    let dy = Tensor::zeros(&[1, 2, 2, 2], &gpu()).unwrap();
    let o = PoolOptions::new(2).activation(Activation::Relu);
    let e = max_pool2d_grad(&x, &dy, &o).unwrap_err().to_string();
    assert!(e.contains("max_pool2d_grad") && e.contains("Relu"), "{e}");
    let e = avg_pool2d_grad(&dy, &[1, 4, 4, 2], &o).unwrap_err().to_string();
    assert!(e.contains("avg_pool2d_grad") && e.contains("Relu"), "{e}");
}

#[test]
fn global_pooling_gradients() {
    for (i, shape) in [[2, 5, 3, 3], [2, 4, 4, 8], [1, 1, 1, 2]].iter().enumerate() {
        grad_check(&format!("global_avg_pool2d {shape:?}"), &[shape], 210 + i as u64, |x| global_avg_pool2d(&x[0]));
        grad_check(&format!("global_max_pool2d {shape:?}"), &[shape], 215 + i as u64, |x| global_max_pool2d(&x[0]));
    }
}

#[test]
fn upsample_nearest_gradients() {
    let cases: [(&[usize], [usize; 2]); 4] =
        [(&[2, 3, 5, 3], [2, 2]), (&[2, 3, 5, 3], [2, 3]), (&[1, 4, 3, 8], [3, 1]), (&[2, 2, 2, 4], [1, 1])];
    for (i, (shape, size)) in cases.into_iter().enumerate() {
        grad_check(&format!("upsample {shape:?} {size:?}"), &[shape], 220 + i as u64, |x| {
            upsample_nearest2d(&x[0], size)
        });
    }
}

#[test]
fn pooling_and_upsampling_gradients_are_differentiable_twice_where_linear() {
    // avg_pool2d_grad and upsample_nearest2d_grad record their own (adjoint) backward rules.
    let o = PoolOptions::new(3).strides(2).padding(Padding::Same);
    grad_check("avg_pool2d_grad", &[&[2, 3, 4, 3]], 230, |x| avg_pool2d_grad(&x[0], &[2, 5, 7, 3], &o));
    grad_check("upsample_nearest2d_grad", &[&[2, 4, 9, 4]], 231, |x| {
        upsample_nearest2d_grad(&x[0], &[2, 2, 3, 4], (2, 3))
    });
}

#[test]
fn max_pool_gradient_by_hand_goes_to_the_first_maximum() {
    // 3x3 input, 2x2 windows, stride 1: every window is full of ties at 5.
    // Window (0,0) picks (0,0); (0,1) picks (0,1); (1,0) picks (1,0); (1,1) picks (1,1).
    let x = [5.0, 5.0, 1.0, 5.0, 5.0, 1.0, 0.0, 0.0, 0.0];
    let dy = [1.0, 2.0, 3.0, 4.0];
    let o = PoolOptions::new(2).strides(1);
    for dev in [Device::Cpu, gpu()] {
        let xt = Tensor::from_slice(&x, &[1, 3, 3, 1], &dev).unwrap();
        let dyt = Tensor::from_slice(&dy, &[1, 2, 2, 1], &dev).unwrap();
        let dx = max_pool2d_grad(&xt, &dyt, &o).unwrap().to_vec().unwrap();
        assert_eq!(dx, [1.0, 2.0, 0.0, 3.0, 4.0, 0.0, 0.0, 0.0, 0.0], "{dev}");
        // A single maximum shared by all four windows collects all of dy.
        let peak = Tensor::from_slice(&[1.0, 2.0, 3.0, 4.0, 9.0, 5.0, 6.0, 7.0, 8.0], &[1, 3, 3, 1], &dev).unwrap();
        let dx = max_pool2d_grad(&peak, &dyt, &o).unwrap().to_vec().unwrap();
        assert_eq!(dx, [0.0, 0.0, 0.0, 0.0, 10.0, 0.0, 0.0, 0.0, 0.0], "{dev}");
        // Through backward(): a 2x2 window with a tie at 3 sends the gradient to the first 3.
        let v = Tensor::from_slice(&[1.0, 3.0, 3.0, 2.0], &[1, 2, 2, 1], &dev).unwrap().variable();
        let g = max_pool2d(&v, &PoolOptions::new(2)).unwrap().backward().unwrap();
        assert_eq!(g.get(&v).unwrap().to_vec().unwrap(), [0.0, 1.0, 0.0, 0.0], "{dev}");
    }
}

#[test]
fn cell_pair_max_pool_gradients_match_cpu_and_finite_differences() {
    // Exact 2x2/2 tiles with c % 4 == 2 run max_pool_grad_pairs{c / 2} (c = 18 is past them),
    // fused activations through the saved output; the odd height takes the tiled vec2 kernel.
    for c in [2, 6, 10, 14, 18] {
        for (i, shape) in [[2, 4, 6, c], [1, 5, 4, c]].iter().enumerate() {
            let (xc, xg) = pair(shape, 720 + (10 * c + i) as u64);
            let o = PoolOptions::new(2);
            let out = max_pool2d(&xc, &o).unwrap().shape().to_vec();
            let (dc, dg) = pair(&out, 730 + (10 * c + i) as u64);
            let want = max_pool2d_grad(&xc, &dc, &o).unwrap();
            assert_close(&max_pool2d_grad(&xg, &dg, &o).unwrap(), &want, RTOL, &format!("{shape:?}"));
            for act in [Activation::Relu, Activation::Sigmoid] {
                let o = o.activation(act);
                grad_check(&format!("max_pool2d {shape:?} {act:?}"), &[shape], 740 + c as u64, |x| {
                    max_pool2d(&x[0], &o)
                });
            }
        }
    }
}

#[test]
fn cell_pair_max_pool_gradient_goes_to_each_channels_first_maximum() {
    // [1, 2, 2, 6]: channel k's window holds (k, k, k, k) for even k (a four-way tie: the first
    // cell) and (0, 1, 2, 3) · k for odd k (the last cell); dy = k + 1.
    let x: Vec<f32> =
        (0..4).flat_map(|cell| (0..6).map(move |k| if k % 2 == 0 { k as f32 } else { (cell * k) as f32 })).collect();
    let dy: Vec<f32> = (0..6).map(|k| (k + 1) as f32).collect();
    let want: Vec<f32> = (0..4)
        .flat_map(|cell| {
            (0..6)
                .map(move |k| if (k % 2 == 0 && cell == 0) || (k % 2 == 1 && cell == 3) { (k + 1) as f32 } else { 0.0 })
        })
        .collect();
    for dev in [Device::Cpu, gpu()] {
        let xt = Tensor::from_slice(&x, &[1, 2, 2, 6], &dev).unwrap();
        let dyt = Tensor::from_slice(&dy, &[1, 1, 1, 6], &dev).unwrap();
        let dx = max_pool2d_grad(&xt, &dyt, &PoolOptions::new(2)).unwrap().to_vec().unwrap();
        assert_eq!(dx, want, "{dev}");
    }
}

#[test]
fn vec4_max_pool_gradient_picks_per_channel_maxima() {
    // Two pixels, four channels: channel ch's maximum is at pixel ch % 2, ties (ch 3) go first.
    let x = [1.0, 0.0, 2.0, 7.0, 0.0, 1.0, 0.0, 7.0];
    for dev in [Device::Cpu, gpu()] {
        let xt = Tensor::from_slice(&x, &[1, 1, 2, 4], &dev).unwrap();
        let dy = Tensor::from_slice(&[1.0, 2.0, 3.0, 4.0], &[1, 1, 1, 4], &dev).unwrap();
        let dx = max_pool2d_grad(&xt, &dy, &PoolOptions::new((1, 2))).unwrap().to_vec().unwrap();
        assert_eq!(dx, [1.0, 0.0, 3.0, 4.0, 0.0, 2.0, 0.0, 0.0], "{dev}");
    }
}

#[test]
fn same_avg_pool_gradient_by_hand_at_the_border() {
    // 3x3 input, 2x2 window, stride 2, SAME: padding only at the bottom/right, so the windows
    // hold 4, 2, 2 and 1 real cells; dy = [4, 6, 2, 5] spreads as dy / count.
    let o = PoolOptions::new(2).padding(Padding::Same);
    for dev in [Device::Cpu, gpu()] {
        let dy = Tensor::from_slice(&[4.0, 6.0, 2.0, 5.0], &[1, 2, 2, 1], &dev).unwrap();
        let dx = avg_pool2d_grad(&dy, &[1, 3, 3, 1], &o).unwrap().to_vec().unwrap();
        assert_eq!(dx, [1.0, 1.0, 3.0, 1.0, 1.0, 3.0, 1.0, 1.0, 5.0], "{dev}");
        // 3x3 stride 1 SAME: the corner cell sits in 4 windows of 4, 6, 6 and 9 real cells.
        let ones = Tensor::ones(&[1, 3, 3, 1], &dev).unwrap();
        let dx = avg_pool2d_grad(&ones, &[1, 3, 3, 1], &PoolOptions::new(3).strides(1).padding(Padding::Same));
        let want = 1.0 / 4.0 + 1.0 / 6.0 + 1.0 / 6.0 + 1.0 / 9.0;
        assert!((dx.unwrap().to_vec().unwrap()[0] - want).abs() < 1e-6, "{dev}");
    }
}

#[test]
fn upsample_gradient_by_hand_sums_blocks() {
    for dev in [Device::Cpu, gpu()] {
        let dy: Vec<f32> = (1..=12).map(|i| i as f32).collect();
        let dy = Tensor::from_slice(&dy, &[1, 2, 6, 1], &dev).unwrap();
        let dx = upsample_nearest2d_grad(&dy, &[1, 1, 2, 1], (2, 3)).unwrap().to_vec().unwrap();
        assert_eq!(dx, [1.0 + 2.0 + 3.0 + 7.0 + 8.0 + 9.0, 4.0 + 5.0 + 6.0 + 10.0 + 11.0 + 12.0], "{dev}");
    }
}

#[test]
fn pooling_backward_kernels_match_cpu_on_larger_inputs() {
    // The last three are 2 oh x 2 ow exactly: under 2x2/2 every tile of the tiled max kernels
    // is its window (pool.wgsl's straight-line TILE2 path), for 6, 8 and 3 channels.
    let shapes: [&[usize]; 6] =
        [&[2, 17, 13, 8], &[3, 15, 16, 5], &[1, 32, 31, 12], &[2, 16, 14, 6], &[3, 10, 12, 8], &[2, 8, 6, 3]];
    for (si, shape) in shapes.into_iter().enumerate() {
        let (xc, xg) = pair(shape, 240 + si as u64);
        // Strides >= window take the tiled max-pool kernel (some cells in no window at all).
        let more = [([1, 1], [1, 1]), ([3, 2], [2, 3]), ([2, 2], [3, 3]), ([2, 1], [3, 2])];
        for (k, s) in WINDOWS.into_iter().chain(more) {
            for pad in paddings().into_iter().chain([Padding::Explicit([[0, 2], [2, 1]])]) {
                let o = PoolOptions::new(k).strides(s).padding(pad);
                // Explicit padding of 2 needs a window of 3 on that axis.
                let Ok(y) = max_pool2d(&xc, &o) else { continue };
                let out = y.shape().to_vec();
                let (dc, dg) = pair(&out, 250 + si as u64);
                let what = format!("{shape:?} {o:?}");
                let want = max_pool2d_grad(&xc, &dc, &o).unwrap();
                assert_close(&max_pool2d_grad(&xg, &dg, &o).unwrap(), &want, RTOL, &format!("max {what}"));
                let want = avg_pool2d_grad(&dc, shape, &o).unwrap();
                assert_close(&avg_pool2d_grad(&dg, shape, &o).unwrap(), &want, RTOL, &format!("avg {what}"));
            }
        }
    }
}

#[test]
fn upsample_backward_kernels_match_cpu_on_larger_inputs() {
    let cases: [(&[usize], [usize; 2]); 4] =
        [(&[2, 13, 11, 8], [2, 2]), (&[3, 9, 10, 5], [3, 2]), (&[2, 16, 16, 12], [1, 4]), (&[1, 7, 5, 3], [5, 3])];
    for (i, (shape, size)) in cases.into_iter().enumerate() {
        let out = [shape[0], shape[1] * size[0], shape[2] * size[1], shape[3]];
        let (dc, dg) = pair(&out, 260 + i as u64);
        let want = upsample_nearest2d_grad(&dc, shape, size).unwrap();
        assert_close(&upsample_nearest2d_grad(&dg, shape, size).unwrap(), &want, RTOL, &format!("{shape:?} {size:?}"));
    }
}

#[test]
fn backward_ops_reject_mismatched_gradients_naming_the_shapes() {
    let dev = gpu();
    let x = Tensor::ones(&[2, 6, 6, 3], &dev).unwrap();
    let bad = Tensor::ones(&[2, 3, 4, 3], &dev).unwrap();
    let o = PoolOptions::new(2);
    let errs = [
        max_pool2d_grad(&x, &bad, &o).unwrap_err(),
        avg_pool2d_grad(&bad, &[2, 6, 6, 3], &o).unwrap_err(),
        avg_pool2d_grad(&bad, &[2, 6, 6], &o).unwrap_err(),
        upsample_nearest2d_grad(&bad, &[2, 6, 6, 3], 2).unwrap_err(),
    ];
    for e in errs {
        let msg = e.to_string();
        assert!(matches!(e, Error::Shape { .. }), "{msg}");
        assert!(msg.contains("[2, 6, 6") && msg.contains("[2, 3, 4, 3]") || msg.contains("rank"), "{msg}");
    }
    let e = max_pool2d_grad(&x, &bad, &PoolOptions::new(0)).unwrap_err();
    assert!(matches!(e, Error::Shape { .. }), "{e}");
}

#[test]
fn moments_gradients_for_mean_variance_and_both() {
    let cases: [(&[usize], &[usize], bool); 4] = [
        (&[2, 3, 4, 5], &[0, 1, 2], false),
        (&[2, 3, 4, 8], &[0, 1, 2], true),
        (&[3, 4, 5], &[1], false),
        (&[4, 6], &[0, 1], true),
    ];
    for (i, (shape, axes, keep)) in cases.into_iter().enumerate() {
        let what = format!("moments {shape:?} {axes:?} keepdims={keep}");
        grad_check(&format!("{what} mean"), &[shape], 270 + i as u64, |x| Ok(moments(&x[0], axes, keep)?.0));
        grad_check(&format!("{what} variance"), &[shape], 275 + i as u64, |x| Ok(moments(&x[0], axes, keep)?.1));
        grad_check(&format!("{what} mean·variance"), &[shape], 280 + i as u64, |x| {
            let (m, v) = moments(&x[0], axes, keep)?;
            mul(&m, &v)
        });
    }
}

#[test]
fn batch_normalization_gradients_for_every_input() {
    let cases: [(&[usize], &[usize]); 3] = [(&[2, 3, 4, 5], &[5]), (&[2, 3, 3, 8], &[1, 1, 1, 8]), (&[6, 4], &[4])];
    for (i, (xs, ps)) in cases.into_iter().enumerate() {
        let all = [xs, ps, ps, ps, ps];
        grad_check(&format!("batch_normalization {xs:?} {ps:?}"), &all, 290 + 10 * i as u64, |x| {
            let var = affine(&square(&x[2])?, 1.0, 0.5)?;
            batch_normalization(&x[0], &x[1], &var, Some(&x[3]), Some(&x[4]), 1e-3)
        });
        grad_check(&format!("batch_normalization no offset/scale {xs:?}"), &all[..3], 295 + 10 * i as u64, |x| {
            let var = affine(&square(&x[2])?, 1.0, 0.5)?;
            batch_normalization(&x[0], &x[1], &var, None, None, 1e-3)
        });
    }
}

#[test]
fn training_mode_batch_norm_gradients_flow_through_the_batch_statistics() {
    for (i, shape) in [[2, 5, 3, 3], [2, 4, 3, 8]].iter().enumerate() {
        let c = shape[3];
        grad_check(&format!("training batch norm {shape:?}"), &[shape, &[c], &[c]], 320 + i as u64, |x| {
            let (m, v) = moments(&x[0], &[0, 1, 2], false)?;
            batch_normalization(&x[0], &m, &v, Some(&x[1]), Some(&x[2]), 1e-3)
        });
    }
}

#[test]
fn training_mode_batch_norm_input_gradient_matches_the_closed_form() {
    // dx = γ/σ · (g − mean(g) − x̂ · mean(g · x̂)) per channel, with σ = √(var + ε).
    let (n, c, eps) = (6usize, 2usize, 1e-3f32);
    let xv = rand_vec(n * c, 330);
    let gv = rand_vec(n * c, 331);
    let gamma = [1.5f32, -0.5];
    for dev in [Device::Cpu, gpu()] {
        let x = Tensor::from_slice(&xv, &[n, c], &dev).unwrap().variable();
        let gm = Tensor::from_slice(&gamma, &[c], &dev).unwrap();
        let (m, v) = moments(&x, &[0], false).unwrap();
        let y = batch_normalization(&x, &m, &v, None, Some(&gm), eps).unwrap();
        let w = Tensor::from_slice(&gv, &[n * c, 1], &dev).unwrap();
        let loss = matmul(&y.reshape(&[1, n * c]).unwrap(), &w).unwrap();
        let got = loss.backward().unwrap().get(&x).unwrap().to_vec().unwrap();
        let mut want = vec![0.0f32; n * c];
        for ch in 0..c {
            let col = |v: &[f32]| (0..n).map(|r| v[r * c + ch]).collect::<Vec<f32>>();
            let (xs, gs) = (col(&xv), col(&gv));
            let mu = xs.iter().sum::<f32>() / n as f32;
            let var = xs.iter().map(|a| (a - mu) * (a - mu)).sum::<f32>() / n as f32;
            let sd = (var + eps).sqrt();
            let xh: Vec<f32> = xs.iter().map(|a| (a - mu) / sd).collect();
            let mg = gs.iter().sum::<f32>() / n as f32;
            let mgx = gs.iter().zip(&xh).map(|(g, h)| g * h).sum::<f32>() / n as f32;
            for r in 0..n {
                want[r * c + ch] = gamma[ch] / sd * (gs[r] - mg - xh[r] * mgx);
            }
        }
        assert_close_vec(&got, &want, 1e-3, &format!("closed form on {dev}"));
    }
}

#[test]
fn fused_training_batch_norm_gradients_including_the_statistics() {
    let cases: [&[usize]; 3] = [&[2, 5, 3, 3], &[2, 4, 3, 8], &[6, 4]];
    for (i, shape) in cases.into_iter().enumerate() {
        let c = [shape[shape.len() - 1]];
        grad_check(&format!("batch_norm_training {shape:?}"), &[shape, &c, &c], 340 + i as u64, |x| {
            Ok(batch_norm_training(&x[0], &x[1], &x[2], 1e-3)?.0)
        });
        grad_check(&format!("batch_norm_training y + mean·var {shape:?}"), &[shape, &c, &c], 345 + i as u64, |x| {
            let (y, m, v) = batch_norm_training(&x[0], &x[1], &x[2], 1e-3)?;
            add(&y, &mul(&m, &v)?)
        });
    }
}

#[test]
fn fused_training_batch_norm_equals_the_composed_form() {
    let shape = [3, 6, 5, 8];
    for dev in [Device::Cpu, gpu()] {
        let x = Tensor::from_vec(rand_vec(720, 350), &shape, &dev).unwrap().variable();
        let gamma = Tensor::from_vec(rand_vec(8, 351), &[8], &dev).unwrap().variable();
        let beta = Tensor::from_vec(rand_vec(8, 352), &[8], &dev).unwrap().variable();
        let (y1, m1, v1) = batch_norm_training(&x, &gamma, &beta, 1e-3).unwrap();
        let (m2, v2) = moments(&x, &[0, 1, 2], false).unwrap();
        let y2 = batch_normalization(&x, &m2, &v2, Some(&beta), Some(&gamma), 1e-3).unwrap();
        assert_close(&y1, &y2, RTOL, "y");
        assert_close(&m1, &m2, RTOL, "mean");
        assert_close(&v1, &v2, RTOL, "variance");
        let g1 = weighted_sum(&y1).unwrap().backward().unwrap();
        let g2 = weighted_sum(&y2).unwrap().backward().unwrap();
        for (t, name) in [(&x, "x"), (&gamma, "gamma"), (&beta, "beta")] {
            assert_close(g1.get(t).unwrap(), g2.get(t).unwrap(), 1e-3, &format!("d{name} on {dev}"));
        }
    }
}

#[test]
fn fused_batch_norm_backward_kernels_match_cpu_on_larger_inputs() {
    let shapes: [&[usize]; 4] = [&[4, 13, 11, 8], &[3, 9, 7, 5], &[2, 16, 16, 64], &[37, 3]];
    for (i, shape) in shapes.into_iter().enumerate() {
        let c = shape[shape.len() - 1];
        let (xc, xg) = pair(shape, 360 + i as u64);
        let (dc, dg) = pair(shape, 365 + i as u64);
        let (gc, gg) = pair(&[c], 370 + i as u64);
        let want = batch_norm_training_backprop(&xc, &dc, &gc, 1e-3).unwrap();
        let got = batch_norm_training_backprop(&xg, &dg, &gg, 1e-3).unwrap();
        assert_close(&got.0, &want.0, RTOL, &format!("dx {shape:?}"));
        assert_close(&got.1, &want.1, RTOL, &format!("dgamma {shape:?}"));
        assert_close(&got.2, &want.2, RTOL, &format!("dbeta {shape:?}"));
    }
}

#[test]
fn training_batch_norm_with_a_fused_activation_gradients() {
    // Finite differences and GPU-vs-CPU gradients (x, gamma, beta), odd c (scalar kernels),
    // c % 4 == 0 (vec4 kernels), rank 2 and 4.
    let cases: [&[usize]; 3] = [&[2, 5, 3, 3], &[2, 4, 3, 8], &[6, 4]];
    for (i, shape) in cases.into_iter().enumerate() {
        let c = [shape[shape.len() - 1]];
        for act in [Activation::Relu, Activation::Sigmoid, Activation::Tanh] {
            grad_check(&format!("batch_norm_training {act:?} {shape:?}"), &[shape, &c, &c], 380 + i as u64, |x| {
                Ok(batch_norm_training_with(&x[0], &x[1], &x[2], 1e-3, act)?.0)
            });
        }
    }
}

#[test]
fn training_batch_norm_with_a_fused_activation_equals_batch_norm_then_the_activation() {
    type ActFn = fn(&Tensor) -> Result<Tensor>;
    let acts: [(Activation, ActFn); 3] =
        [(Activation::Relu, relu), (Activation::Sigmoid, sigmoid), (Activation::Tanh, tanh)];
    for (shape, seed) in [([3, 6, 5, 8], 390), ([2, 7, 3, 5], 395)] {
        let c = shape[3];
        let n: usize = shape.iter().product();
        for dev in [Device::Cpu, gpu()] {
            for (act, alone) in acts {
                let run = |fused: bool| {
                    let x = Tensor::from_vec(rand_vec(n, seed), &shape, &dev).unwrap().variable();
                    let gamma = Tensor::from_vec(rand_vec(c, seed + 1), &[c], &dev).unwrap().variable();
                    let beta = Tensor::from_vec(rand_vec(c, seed + 2), &[c], &dev).unwrap().variable();
                    let y = if fused {
                        batch_norm_training_with(&x, &gamma, &beta, 1e-3, act).unwrap().0
                    } else {
                        alone(&batch_norm_training(&x, &gamma, &beta, 1e-3).unwrap().0).unwrap()
                    };
                    let g = weighted_sum(&y).unwrap().backward().unwrap();
                    let grads = [&x, &gamma, &beta].map(|t| g.get(t).unwrap().to_vec().unwrap());
                    (y.to_vec().unwrap(), grads)
                };
                let ((y1, g1), (y2, g2)) = (run(true), run(false));
                let what = format!("{act:?} {shape:?} on {dev}");
                assert_close_vec(&y1, &y2, RTOL, &format!("y {what}"));
                for (name, (a, b)) in ["dx", "dgamma", "dbeta"].iter().zip(g1.iter().zip(&g2)) {
                    assert_close_vec(a, b, 1e-3, &format!("{name} {what}"));
                }
            }
        }
    }
}

#[test]
fn fused_training_batch_norm_rejects_bad_parameters_naming_the_shapes() {
    let dev = gpu();
    let x = Tensor::ones(&[2, 3, 3, 4], &dev).unwrap();
    let (good, bad) = (Tensor::ones(&[4], &dev).unwrap(), Tensor::ones(&[3], &dev).unwrap());
    let errs = [
        batch_norm_training(&x, &bad, &good, 1e-3).unwrap_err(),
        batch_norm_training(&x, &good, &bad, 1e-3).unwrap_err(),
        batch_norm_training_backprop(&x, &Tensor::ones(&[2, 3, 3, 3], &dev).unwrap(), &good, 1e-3).unwrap_err(),
    ];
    for e in errs {
        let msg = e.to_string();
        assert!(matches!(e, Error::Shape { .. }) && msg.contains("[2, 3, 3, ") && msg.contains('3'), "{msg}");
    }
    let scalar = Tensor::ones(&[], &dev).unwrap();
    assert!(matches!(batch_norm_training(&scalar, &good, &good, 1e-3), Err(Error::Shape { .. })));
}
