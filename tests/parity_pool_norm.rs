//! GPU-vs-CPU parity, hand-checked values, shapes and errors for pooling, upsampling,
//! moments and batch normalization.

mod common;
use common::*;
use tessera::prelude::*;

type PoolFn = fn(&Tensor, &PoolOptions) -> Result<Tensor>;
/// (mean, variance, offset, scale, text the error must contain).
type BnCase<'a> = (&'a Tensor, &'a Tensor, Option<&'a Tensor>, Option<&'a Tensor>, &'a str);

const POOLS: [(&str, PoolFn); 2] = [("max_pool2d", max_pool2d), ("avg_pool2d", avg_pool2d)];

fn paddings() -> [Padding; 4] {
    [Padding::Valid, Padding::Same, Padding::Explicit([[1, 0], [0, 1]]), Padding::Explicit([[0, 2], [1, 1]])]
}

#[test]
fn pooling_matches_cpu_for_every_option() {
    let shapes: [&[usize]; 5] = [&[2, 7, 9, 3], &[1, 8, 8, 8], &[3, 5, 11, 1], &[2, 6, 5, 4], &[2, 5, 7, 6]];
    // 2x2/2 and 2x2/1 unpadded: every window full (pool.wgsl's straight-line FULL2 path).
    let windows: [([usize; 2], [usize; 2]); 7] = [
        ([2, 2], [2, 2]),
        ([2, 2], [1, 1]),
        ([3, 3], [2, 2]),
        ([3, 3], [1, 1]),
        ([2, 3], [1, 2]),
        ([3, 2], [2, 1]),
        ([1, 1], [1, 1]),
    ];
    for (si, shape) in shapes.iter().enumerate() {
        let (xc, xg) = pair(shape, 10 + si as u64);
        for (k, s) in windows {
            for pad in paddings() {
                let opts = PoolOptions::new(k).strides(s).padding(pad);
                for (name, f) in POOLS {
                    let what = format!("{name} {shape:?} k={k:?} s={s:?} {pad:?}");
                    match f(&xc, &opts) {
                        Ok(want) => assert_close(&f(&xg, &opts).unwrap(), &want, RTOL, &what),
                        Err(e) => assert_eq!(f(&xg, &opts).unwrap_err(), e, "{what}"),
                    }
                }
            }
        }
    }
}

/// An activation op applied on its own.
type ActFn = fn(&Tensor) -> Result<Tensor>;

/// The activations a pooling can fuse, with the op that applies each one alone.
fn fusable() -> [(Activation, ActFn); 3] {
    [(Activation::Relu, relu), (Activation::Sigmoid, sigmoid), (Activation::Tanh, tanh)]
}

#[test]
fn pooling_with_a_fused_activation_matches_cpu_and_the_unfused_ops() {
    // Odd channels (scalar kernel), c % 4 == 0 (vec4), c = 6 (vec2), batch > 1, non-square.
    let shapes: [&[usize]; 4] = [&[2, 7, 9, 3], &[3, 6, 5, 8], &[2, 9, 6, 1], &[2, 7, 6, 6]];
    let windows: [([usize; 2], [usize; 2]); 4] =
        [([2, 2], [2, 2]), ([3, 3], [2, 2]), ([3, 2], [1, 2]), ([2, 3], [3, 2])];
    for (si, shape) in shapes.iter().enumerate() {
        let (xc, xg) = pair(shape, 60 + si as u64);
        for (k, s) in windows {
            for pad in [Padding::Valid, Padding::Same, Padding::Explicit([[1, 0], [0, 1]])] {
                let plain = PoolOptions::new(k).strides(s).padding(pad);
                for (name, f) in POOLS {
                    for (act, alone) in fusable() {
                        let o = plain.activation(act);
                        let what = format!("{name} {shape:?} {o:?}");
                        let want = f(&xc, &o).unwrap();
                        assert_close(&want, &alone(&f(&xc, &plain).unwrap()).unwrap(), RTOL, &format!("cpu {what}"));
                        assert_close(&f(&xg, &o).unwrap(), &want, RTOL, &format!("gpu {what}"));
                    }
                }
            }
        }
    }
}

#[test]
fn fused_relu_pooling_by_hand() {
    // [1, 2, 4, 1]: windows 2x2 → max(-1, -2, -3, -4) = -1 → 0; max(5, -6, 7, -8) = 7.
    let x = [-1.0, -2.0, 5.0, -6.0, -3.0, -4.0, 7.0, -8.0];
    for dev in [Device::Cpu, gpu()] {
        let t = Tensor::from_slice(&x, &[1, 2, 4, 1], &dev).unwrap();
        let o = PoolOptions::new(2).activation(Activation::Relu);
        assert_eq!(max_pool2d(&t, &o).unwrap().to_vec().unwrap(), vec![0.0, 7.0], "{dev}");
        assert_eq!(avg_pool2d(&t, &o).unwrap().to_vec().unwrap(), vec![0.0, 0.0], "{dev}");
    }
}

#[test]
fn pooling_output_shapes_follow_tensorflow() {
    let x = Tensor::zeros(&[2, 7, 10, 3], &gpu()).unwrap();
    let cases: [(PoolOptions, [usize; 4]); 4] = [
        (PoolOptions::new(2), [2, 3, 5, 3]),
        (PoolOptions::new(2).padding(Padding::Same), [2, 4, 5, 3]),
        (PoolOptions::new(3).strides((1, 2)).padding(Padding::Same), [2, 7, 5, 3]),
        (PoolOptions::new((3, 2)).strides(1).padding(Padding::Explicit([[2, 0], [1, 1]])), [2, 7, 11, 3]),
    ];
    for (opts, want) in cases {
        for (name, f) in POOLS {
            assert_eq!(f(&x, &opts).unwrap().shape(), &want, "{name} {opts:?}");
        }
    }
}

#[test]
fn same_avg_pool_divides_border_windows_by_the_real_count() {
    // 3x3 input 1..9, 2x2 window, stride 2, SAME: out 2x2, padding only at bottom/right.
    let v: Vec<f32> = (1..=9).map(|i| i as f32).collect();
    for dev in [Device::Cpu, gpu()] {
        let x = Tensor::from_slice(&v, &[1, 3, 3, 1], &dev).unwrap();
        let y = avg_pool2d(&x, &PoolOptions::new(2).padding(Padding::Same)).unwrap();
        let want = [(1. + 2. + 4. + 5.) / 4., (3. + 6.) / 2., (7. + 8.) / 2., 9.];
        assert_eq!(y.to_vec().unwrap(), want, "{dev}");
        let y = avg_pool2d(&x, &PoolOptions::new(2).strides(1)).unwrap();
        assert_eq!(y.to_vec().unwrap(), [3., 4., 6., 7.], "{dev}");
    }
}

#[test]
fn explicit_avg_pool_counts_only_real_cells() {
    // 2x2 input, 2x2 window, stride 1, explicit padding [[1, 0], [0, 1]]: out 2x2.
    for dev in [Device::Cpu, gpu()] {
        let x = Tensor::from_slice(&[1., 2., 3., 4.], &[1, 2, 2, 1], &dev).unwrap();
        let opts = PoolOptions::new(2).strides(1).padding(Padding::Explicit([[1, 0], [0, 1]]));
        let want = [(1. + 2.) / 2., 2., (1. + 2. + 3. + 4.) / 4., (2. + 4.) / 2.];
        assert_eq!(avg_pool2d(&x, &opts).unwrap().to_vec().unwrap(), want, "{dev}");
    }
}

#[test]
fn same_max_pool_of_negative_inputs_never_returns_padding() {
    let v: Vec<f32> = (1..=9).map(|i| -(i as f32)).collect();
    for dev in [Device::Cpu, gpu()] {
        let x = Tensor::from_slice(&v, &[1, 3, 3, 1], &dev).unwrap();
        let y = max_pool2d(&x, &PoolOptions::new(2).padding(Padding::Same)).unwrap();
        assert_eq!(y.to_vec().unwrap(), [-1., -3., -7., -9.], "{dev}");
        let y = max_pool2d(&x, &PoolOptions::new(3).strides(1).padding(Padding::Same)).unwrap();
        assert_eq!(y.to_vec().unwrap(), [-1., -1., -2., -1., -1., -2., -4., -4., -5.], "{dev}");
    }
}

#[test]
fn vector_pooling_keeps_channels_apart() {
    // 6, 10 and 14 channels (cell pairs), 8 (vec4): channel k holds k * 10 + cell index.
    for c in [6, 8, 10, 14] {
        let (h, w) = (2, 4);
        let v: Vec<f32> = (0..h * w * c).map(|i| ((i % c) * 10 + i / c) as f32).collect();
        let x = Tensor::from_slice(&v, &[1, h, w, c], &gpu()).unwrap();
        let y = max_pool2d(&x, &PoolOptions::new(2)).unwrap().to_vec().unwrap();
        let want: Vec<f32> = (0..2).flat_map(|ox| (0..c).map(move |k| (k * 10 + 4 + ox * 2 + 1) as f32)).collect();
        assert_eq!(y, want, "{c} channels");
    }
}

#[test]
fn cell_pair_pooling_matches_cpu_for_channel_counts_2_mod_4() {
    // 2x2/2 windows over even widths with c % 4 == 2 take pool.wgsl's cell-pair kernels (all c
    // channels of a window per invocation) up to c = 14; c = 18 and the odd width 5 take the
    // vec2 kernels; the odd height 7 leaves its last row out of every window.
    for c in [2, 6, 10, 14, 18] {
        for (i, [n, h, w]) in [[2, 6, 8], [3, 7, 4], [1, 2, 2], [2, 4, 5]].into_iter().enumerate() {
            let shape = [n, h, w, c];
            let (xc, xg) = pair(&shape, 700 + (10 * c + i) as u64);
            for act in [Activation::None, Activation::Relu, Activation::Tanh] {
                let o = PoolOptions::new(2).activation(act);
                for (name, f) in POOLS {
                    let what = format!("{name} {shape:?} {act:?}");
                    assert_close(&f(&xg, &o).unwrap(), &f(&xc, &o).unwrap(), RTOL, &what);
                }
            }
        }
    }
}

#[test]
fn pooling_rejects_bad_input_naming_the_shapes() {
    let x = Tensor::zeros(&[1, 4, 5, 2], &gpu()).unwrap();
    let x3 = Tensor::zeros(&[4, 5, 2], &gpu()).unwrap();
    let bad: [(&Tensor, PoolOptions, &str); 6] = [
        (&x3, PoolOptions::new(2), "[4, 5, 2]"),
        (&x, PoolOptions::new(0), "[0, 0]"),
        (&x, PoolOptions::new(2).strides((0, 1)), "[0, 1]"),
        (&x, PoolOptions::new((5, 2)), "[1, 4, 5, 2]"),
        (&x, PoolOptions::new((6, 2)).padding(Padding::Explicit([[0, 1], [0, 0]])), "[1, 4, 5, 2]"),
        (&x, PoolOptions::new(2).padding(Padding::Explicit([[2, 0], [0, 0]])), "[1, 4, 5, 2]"),
    ];
    for (t, opts, needle) in bad {
        for (name, f) in POOLS {
            let e = f(t, &opts).unwrap_err();
            assert!(matches!(e, Error::Shape { .. }), "{name} {opts:?}: {e}");
            assert!(e.to_string().contains(needle), "{name} {opts:?}: {e}");
        }
    }
}

#[test]
fn global_pooling_matches_cpu() {
    for (i, shape) in [[2, 7, 5, 3], [3, 4, 4, 8], [1, 1, 1, 1], [4, 33, 31, 5], [2, 1, 9, 12]].iter().enumerate() {
        let (xc, xg) = pair(shape, 30 + i as u64);
        let want = global_avg_pool2d(&xc).unwrap();
        assert_eq!(want.shape(), &[shape[0], shape[3]]);
        assert_close(&global_avg_pool2d(&xg).unwrap(), &want, RTOL, &format!("global avg {shape:?}"));
        let want = global_max_pool2d(&xc).unwrap();
        assert_close(&global_max_pool2d(&xg).unwrap(), &want, RTOL, &format!("global max {shape:?}"));
    }
}

#[test]
fn global_pooling_by_hand_and_errors() {
    // [1, 2, 2, 2]: channel 0 = 1, 2, 3, 4; channel 1 = -1, -2, -3, -4.
    let v = [1., -1., 2., -2., 3., -3., 4., -4.];
    for dev in [Device::Cpu, gpu()] {
        let x = Tensor::from_slice(&v, &[1, 2, 2, 2], &dev).unwrap();
        assert_eq!(global_avg_pool2d(&x).unwrap().to_vec().unwrap(), [2.5, -2.5], "{dev}");
        assert_eq!(global_max_pool2d(&x).unwrap().to_vec().unwrap(), [4., -1.], "{dev}");
        let e = global_avg_pool2d(&Tensor::zeros(&[2, 3], &dev).unwrap()).unwrap_err();
        assert!(matches!(e, Error::Shape { .. }) && e.to_string().contains("[2, 3]"), "{e}");
        let e = global_max_pool2d(&Tensor::zeros(&[2, 0, 3, 1], &dev).unwrap()).unwrap_err();
        assert!(e.to_string().contains("[2, 0, 3, 1]"), "{e}");
    }
}

#[test]
fn upsample_nearest_matches_cpu() {
    for (i, shape) in [[2, 3, 5, 3], [1, 4, 4, 8], [3, 1, 2, 1]].iter().enumerate() {
        let (xc, xg) = pair(shape, 40 + i as u64);
        for size in [Hw::from(1), Hw::from(2), Hw::from((1, 2)), Hw::from((3, 2))] {
            let want = upsample_nearest2d(&xc, size).unwrap();
            assert_eq!(want.shape(), &[shape[0], shape[1] * size.0[0], shape[2] * size.0[1], shape[3]]);
            assert_close(&upsample_nearest2d(&xg, size).unwrap(), &want, RTOL, &format!("{shape:?} {size:?}"));
        }
    }
}

#[test]
fn upsample_nearest_by_hand_and_errors() {
    for dev in [Device::Cpu, gpu()] {
        let x = Tensor::from_slice(&[1., 2., 3., 4.], &[1, 2, 2, 1], &dev).unwrap();
        let y = upsample_nearest2d(&x, (1, 2)).unwrap();
        assert_eq!(y.shape(), &[1, 2, 4, 1]);
        assert_eq!(y.to_vec().unwrap(), [1., 1., 2., 2., 3., 3., 4., 4.], "{dev}");
        let y = upsample_nearest2d(&x, 2).unwrap();
        assert_eq!(y.to_vec().unwrap(), [1., 1., 2., 2., 1., 1., 2., 2., 3., 3., 4., 4., 3., 3., 4., 4.]);
        let e = upsample_nearest2d(&x, (0, 2)).unwrap_err();
        assert!(matches!(e, Error::Shape { .. }) && e.to_string().contains("[1, 2, 2, 1]"), "{e}");
        let e = upsample_nearest2d(&Tensor::zeros(&[2, 2], &dev).unwrap(), 2).unwrap_err();
        assert!(e.to_string().contains("[2, 2]"), "{e}");
    }
}

#[test]
fn moments_match_cpu_for_every_axis_set() {
    let shape = [3, 5, 4, 6];
    let (xc, xg) = pair(&shape, 50);
    let axes_sets: [&[usize]; 9] = [&[0, 1, 2], &[1, 2], &[3], &[0], &[0, 2], &[1, 3], &[0, 1, 2, 3], &[2, 0], &[]];
    for axes in axes_sets {
        for keepdims in [false, true] {
            let (mc, vc) = moments(&xc, axes, keepdims).unwrap();
            let (mg, vg) = moments(&xg, axes, keepdims).unwrap();
            let what = format!("moments {axes:?} keepdims={keepdims}");
            assert_close(&mg, &mc, RTOL, &what);
            assert_close(&vg, &vc, RTOL, &what);
        }
    }
}

#[test]
fn moments_shapes_follow_keepdims() {
    let x = Tensor::ones(&[2, 3, 4, 5], &gpu()).unwrap();
    let (m, v) = moments(&x, &[0, 1, 2], false).unwrap();
    assert_eq!((m.shape(), v.shape()), (&[5][..], &[5][..]));
    let (m, _) = moments(&x, &[0, 1, 2], true).unwrap();
    assert_eq!(m.shape(), &[1, 1, 1, 5]);
    let (m, _) = moments(&x, &[1], false).unwrap();
    assert_eq!(m.shape(), &[2, 4, 5]);
    let (m, _) = moments(&x, &[0, 1, 2, 3], false).unwrap();
    assert_eq!(m.shape(), &[] as &[usize]);
}

#[test]
fn moments_of_a_small_tensor_by_hand() {
    // [2, 1, 1, 2]: channel 0 = 1, 3 -> mean 2, var 1; channel 1 = 2, 6 -> mean 4, var 4.
    for dev in [Device::Cpu, gpu()] {
        let x = Tensor::from_slice(&[1., 2., 3., 6.], &[2, 1, 1, 2], &dev).unwrap();
        let (m, v) = moments(&x, &[0, 1, 2], false).unwrap();
        assert_eq!((m.to_vec().unwrap(), v.to_vec().unwrap()), (vec![2., 4.], vec![1., 4.]), "{dev}");
        let (m, v) = moments(&x, &[3], true).unwrap();
        assert_eq!(m.shape(), &[2, 1, 1, 1]);
        assert_eq!((m.to_vec().unwrap(), v.to_vec().unwrap()), (vec![1.5, 4.5], vec![0.25, 2.25]), "{dev}");
    }
}

#[test]
fn moments_stay_accurate_with_a_large_mean() {
    // Mean 3 (and 100), std 0.5: E[x²] − E[x]² loses digits; squared deviations do not.
    let shape = [8, 33, 17, 5];
    let n = shape.iter().product();
    for (mu, seed) in [(3.0, 60), (100.0, 61)] {
        let v: Vec<f32> = rand_vec(n, seed).iter().map(|z| mu + 0.5 * z).collect();
        let xc = Tensor::from_slice(&v, &shape, &Device::Cpu).unwrap();
        let xg = Tensor::from_vec(v, &shape, &gpu()).unwrap();
        let (mc, vc) = moments(&xc, &[0, 1, 2], false).unwrap();
        let (mg, vg) = moments(&xg, &[0, 1, 2], false).unwrap();
        assert_close(&mg, &mc, 1e-4, &format!("mean, mu={mu}"));
        assert_close(&vg, &vc, 1e-4, &format!("variance, mu={mu}"));
        for s in vc.to_vec().unwrap() {
            assert!((s - 0.25).abs() < 0.02, "variance {s} should be near 0.25 (mu={mu})");
        }
    }
}

#[test]
fn moments_reject_bad_axes_naming_the_shape() {
    let x = Tensor::zeros(&[2, 3, 4, 5], &gpu()).unwrap();
    for axes in [&[4][..], &[0, 0], &[1, 2, 1]] {
        let e = moments(&x, axes, false).unwrap_err();
        assert!(matches!(e, Error::Shape { .. }) && e.to_string().contains("[2, 3, 4, 5]"), "{axes:?}: {e}");
    }
}

#[test]
fn batch_normalization_matches_cpu() {
    for (i, shape) in [[2, 5, 7, 3], [3, 4, 4, 8], [1, 3, 2, 1], [4, 6, 5, 12]].iter().enumerate() {
        let seed = 70 + 10 * i as u64;
        let c = shape[3];
        let (xc, xg) = pair(shape, seed);
        let (mc, mg) = pair(&[c], seed + 1);
        let v: Vec<f32> = rand_vec(c, seed + 2).iter().map(|z| 0.5 + z.abs()).collect();
        let vc = Tensor::from_slice(&v, &[c], &Device::Cpu).unwrap();
        let vg = Tensor::from_slice(&v, &[1, 1, 1, c], &gpu()).unwrap();
        let (oc, og) = pair(&[c], seed + 3);
        let (sc, sg) = pair(&[1, 1, 1, c], seed + 4);
        for (use_o, use_s) in [(true, true), (false, false), (true, false), (false, true)] {
            let want = batch_normalization(&xc, &mc, &vc, use_o.then_some(&oc), use_s.then_some(&sc), 1e-3).unwrap();
            let got = batch_normalization(&xg, &mg, &vg, use_o.then_some(&og), use_s.then_some(&sg), 1e-3).unwrap();
            assert_close(&got, &want, RTOL, &format!("batch_norm {shape:?} offset={use_o} scale={use_s}"));
        }
    }
}

#[test]
fn training_batch_norm_with_a_fused_activation_matches_cpu() {
    // Odd channels (scalar kernels), c % 4 == 0 (vec4), batch > 1, rank 2 and 4.
    let shapes: [&[usize]; 3] = [&[2, 7, 5, 3], &[3, 4, 6, 8], &[5, 6]];
    for (i, shape) in shapes.into_iter().enumerate() {
        let c = shape[shape.len() - 1];
        let (xc, xg) = pair(shape, 400 + i as u64);
        let (gc, gg) = pair(&[c], 410 + i as u64);
        let (bc, bg) = pair(&[c], 420 + i as u64);
        for (act, alone) in fusable() {
            let want = batch_norm_training_with(&xc, &gc, &bc, 1e-3, act).unwrap();
            let got = batch_norm_training_with(&xg, &gg, &bg, 1e-3, act).unwrap();
            let what = format!("{act:?} {shape:?}");
            assert_close(&got.0, &want.0, RTOL, &format!("y {what}"));
            assert_close(&got.1, &want.1, RTOL, &format!("mean {what}"));
            assert_close(&got.2, &want.2, RTOL, &format!("variance {what}"));
            let unfused = alone(&batch_norm_training(&xc, &gc, &bc, 1e-3).unwrap().0).unwrap();
            assert_close(&want.0, &unfused, RTOL, &format!("fused vs unfused {what}"));
        }
    }
}

#[test]
fn batch_normalization_by_hand() {
    // Channel 0: (x - 1) * 2 / sqrt(3 + 1) + 10; channel 1: (x - 0) * 1 / sqrt(0 + 1) - 1.
    for dev in [Device::Cpu, gpu()] {
        let t = |v: &[f32], s: &[usize]| Tensor::from_slice(v, s, &dev).unwrap();
        let x = t(&[3., 5., -1., 7.], &[1, 1, 2, 2]);
        let y = batch_normalization(
            &x,
            &t(&[1., 0.], &[2]),
            &t(&[3., 0.], &[2]),
            Some(&t(&[10., -1.], &[2])),
            Some(&t(&[2., 1.], &[2])),
            1.0,
        )
        .unwrap();
        assert_eq!(y.to_vec().unwrap(), [12., 4., 8., 6.], "{dev}");
    }
}

#[test]
fn batch_normalization_uses_moments_to_standardize() {
    let (_, xg) = pair(&[4, 9, 7, 8], 90);
    let (m, v) = moments(&xg, &[0, 1, 2], true).unwrap();
    let y = batch_normalization(&xg, &m, &v, None, None, 0.0).unwrap();
    let (m2, v2) = moments(&y, &[0, 1, 2], false).unwrap();
    assert!(m2.to_vec().unwrap().iter().all(|m| m.abs() < 1e-5), "{m2:?}");
    assert!(v2.to_vec().unwrap().iter().all(|v| (v - 1.0).abs() < 1e-4), "{v2:?}");
}

#[test]
fn batch_normalization_rejects_mismatched_parameters_naming_the_shapes() {
    let dev = gpu();
    let z = |s: &[usize]| Tensor::zeros(s, &dev).unwrap();
    let x = z(&[2, 3, 3, 4]);
    let (good, bad, wide, rank5) = (z(&[4]), z(&[3]), z(&[2, 1, 1, 4]), z(&[1, 1, 1, 1, 4]));
    let cases: [BnCase; 4] = [
        (&bad, &good, None, None, "[3]"),
        (&good, &wide, None, None, "[2, 1, 1, 4]"),
        (&good, &good, Some(&bad), None, "[3]"),
        (&good, &good, None, Some(&rank5), "[1, 1, 1, 1, 4]"),
    ];
    for (m, v, o, s, needle) in cases {
        let e = batch_normalization(&x, m, v, o, s, 1e-3).unwrap_err();
        assert!(matches!(e, Error::Shape { .. }), "{e}");
        assert!(e.to_string().contains(needle) && e.to_string().contains("[2, 3, 3, 4]"), "{e}");
    }
}
