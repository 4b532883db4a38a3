//! Depthwise, separable and transposed convolutions: GPU (every kernel variant) vs the CPU twin
//! on random inputs across every option, hand-checked values, conv2d_transpose as the adjoint of
//! conv2d, TensorFlow's output shapes, and typed errors.

mod common;
use common::*;
use tessera::prelude::*;

const DW_VARIANTS: [DepthwiseVariant; 3] = [DepthwiseVariant::Auto, DepthwiseVariant::Scalar, DepthwiseVariant::Vec4];
const TC_VARIANTS: [Conv2dTransposeVariant; 3] =
    [Conv2dTransposeVariant::Auto, Conv2dTransposeVariant::Scalar, Conv2dTransposeVariant::Vec4];
const ACTS: [Activation; 4] = [Activation::None, Activation::Relu, Activation::Sigmoid, Activation::Tanh];

fn paddings() -> [Padding; 3] {
    [Padding::Valid, Padding::Same, Padding::Explicit([[1, 2], [0, 1]])]
}

fn opts(padding: Padding, strides: [usize; 2], dilations: [usize; 2]) -> Conv2dOptions {
    Conv2dOptions::default().padding(padding).strides(strides).dilations(dilations)
}

fn bias_pair(n: usize, with: bool, seed: u64) -> (Option<Tensor>, Option<Tensor>) {
    let (c, g) = pair(&[n], seed);
    if with {
        (Some(c), Some(g))
    } else {
        (None, None)
    }
}

fn check_dw(xs: [usize; 4], fs: [usize; 4], o: Conv2dOptions, with_bias: bool, seed: u64) {
    let (xc, xg) = pair(&xs, seed);
    let (fc, fg) = pair(&fs, seed + 1);
    let (bc, bg) = bias_pair(fs[2] * fs[3], with_bias, seed + 2);
    let want = depthwise_conv2d_with_bias(&xc, &fc, bc.as_ref(), &o).unwrap();
    for v in DW_VARIANTS {
        let got = depthwise_conv2d_variant(&xg, &fg, bg.as_ref(), &o, v).unwrap();
        assert_close(&got, &want, RTOL, &format!("depthwise {xs:?} {fs:?} {o:?} bias={with_bias} {v:?}"));
    }
}

fn check_tc(xs: [usize; 4], fs: [usize; 4], out: [usize; 4], o: Conv2dOptions, with_bias: bool, seed: u64) {
    let (xc, xg) = pair(&xs, seed);
    let (fc, fg) = pair(&fs, seed + 1);
    let (bc, bg) = bias_pair(fs[2], with_bias, seed + 2);
    let want = conv2d_transpose_with_bias(&xc, &fc, bc.as_ref(), &out, &o).unwrap();
    assert_eq!(want.shape(), &out);
    for v in TC_VARIANTS {
        let got = conv2d_transpose_variant(&xg, &fg, bg.as_ref(), &out, &o, v).unwrap();
        assert_close(
            &got,
            &want,
            RTOL,
            &format!("conv2d_transpose {xs:?} {fs:?} {out:?} {o:?} bias={with_bias} {v:?}"),
        );
    }
}

// ---------------------------------------------------------------- depthwise parity

#[test]
fn depthwise_every_padding_stride_and_dilation_matches_cpu() {
    let mut seed: u64 = 0;
    for padding in paddings() {
        for strides in [[1, 1], [2, 2], [2, 1]] {
            for dilations in [[1, 1], [2, 2], [1, 2]] {
                seed += 10;
                let o = opts(padding, strides, dilations);
                check_dw([2, 9, 11, 8], [3, 2, 8, 1], o, seed.is_multiple_of(20), seed);
                check_dw([2, 9, 11, 3], [2, 3, 3, 2], o, seed % 20 == 10, seed + 5);
            }
        }
    }
}

#[test]
fn depthwise_channels_and_multipliers_match_cpu() {
    let mut seed: u64 = 1000;
    for c in [1, 3, 5, 8] {
        for m in [1, 2, 3] {
            seed += 10;
            let same = Conv2dOptions::default().padding(Padding::Same);
            check_dw([3, 7, 5, c], [3, 3, c, m], same, true, seed);
            check_dw([1, 6, 13, c], [1, 4, c, m], same.strides((2, 1)), false, seed + 5);
        }
    }
}

#[test]
fn depthwise_fused_bias_and_every_activation_match_cpu() {
    for (i, act) in ACTS.into_iter().enumerate() {
        let o = Conv2dOptions::default().padding(Padding::Same).activation(act);
        check_dw([2, 6, 9, 8], [3, 3, 8, 1], o, true, 2000 + i as u64);
        check_dw([2, 6, 9, 5], [3, 3, 5, 2], o, i.is_multiple_of(2), 2100 + i as u64);
    }
}

#[test]
fn depthwise_vec4_column_tails_match_cpu() {
    // ow = 1..=17: every remainder of the 4- and 8-column blocks, at stride 1 (8 columns,
    // sliding) and stride 2 (4 columns); kernel wider than the block's slide too.
    for w in 1..=17 {
        let same = Conv2dOptions::default().padding(Padding::Same);
        check_dw([2, 4, w, 12], [3, 3, 12, 1], same, true, 2200 + w as u64);
        check_dw([1, 3, w, 4], [2, 5, 4, 1], same.strides((1, 2)), false, 2300 + w as u64);
        check_dw(
            [1, 3, w, 4],
            [2, 9, 4, 1],
            Conv2dOptions::default().padding(Padding::Explicit([[0, 1], [4, 5]])),
            true,
            2400 + w as u64,
        );
    }
}

#[test]
fn depthwise_by_hand_orders_channels_c_times_m_plus_m() {
    // x = [[0,1,2],[3,4,5],[6,7,8]], m0 filter [[1,0],[0,1]], m1 filter [[0,2],[-1,0]]
    // m0: x[y][x] + x[y+1][x+1] = 4, 6, 10, 12; m1: 2 x[y][x+1] - x[y+1][x] = -1, 0, 2, 3
    for dev in [Device::Cpu, gpu()] {
        let x = Tensor::from_slice(&[0., 1., 2., 3., 4., 5., 6., 7., 8.], &[1, 3, 3, 1], &dev).unwrap();
        let f = Tensor::from_slice(&[1., 0., 0., 2., 0., -1., 1., 0.], &[2, 2, 1, 2], &dev).unwrap();
        let y = depthwise_conv2d(&x, &f, &Conv2dOptions::default()).unwrap();
        assert_eq!(y.shape(), &[1, 2, 2, 2]);
        assert_eq!(y.to_vec().unwrap(), vec![4., -1., 6., 0., 10., 2., 12., 3.], "{dev}");
    }
}

#[test]
fn depthwise_by_hand_vec4_path_with_bias_and_relu() {
    // x [1,1,2,4] = [1,2,3,4 | 5,6,7,8], filter [1,2,4,1] = [1,1,1,1 | 10,10,10,10]
    // out = x0 + 10 x1 + bias = 51, 62, 73, 84 plus bias [0, -100, 1, 0], then ReLU
    for dev in [Device::Cpu, gpu()] {
        let x = Tensor::from_slice(&[1., 2., 3., 4., 5., 6., 7., 8.], &[1, 1, 2, 4], &dev).unwrap();
        let f = Tensor::from_slice(&[1., 1., 1., 1., 10., 10., 10., 10.], &[1, 2, 4, 1], &dev).unwrap();
        let b = Tensor::from_slice(&[0., -100., 1., 0.], &[4], &dev).unwrap();
        let o = Conv2dOptions::default().activation(Activation::Relu);
        let y = depthwise_conv2d_with_bias(&x, &f, Some(&b), &o).unwrap();
        assert_eq!(y.shape(), &[1, 1, 1, 4]);
        assert_eq!(y.to_vec().unwrap(), vec![51., 0., 74., 84.], "{dev}");
    }
}

// ---------------------------------------------------------------- separable parity

fn check_sep(xs: [usize; 4], dfs: [usize; 4], cout: usize, o: Conv2dOptions, with_bias: bool, seed: u64) {
    let (xc, xg) = pair(&xs, seed);
    let (dc, dg) = pair(&dfs, seed + 1);
    let (pc, pg) = pair(&[1, 1, dfs[2] * dfs[3], cout], seed + 2);
    let (bc, bg) = bias_pair(cout, with_bias, seed + 3);
    let want = separable_conv2d(&xc, &dc, &pc, bc.as_ref(), &o).unwrap();
    let got = separable_conv2d(&xg, &dg, &pg, bg.as_ref(), &o).unwrap();
    assert_close(&got, &want, RTOL, &format!("separable {xs:?} {dfs:?} cout={cout} {o:?} bias={with_bias}"));
}

#[test]
fn separable_every_option_matches_cpu() {
    let mut seed: u64 = 3000;
    for padding in paddings() {
        for (strides, dilations) in [([1, 1], [1, 1]), ([2, 2], [1, 1]), ([2, 1], [1, 1]), ([1, 1], [2, 2])] {
            for (c, m, cout) in [(1, 1, 4), (3, 2, 5), (8, 1, 16), (5, 3, 7)] {
                seed += 10;
                check_sep(
                    [2, 9, 7, c],
                    [3, 2, c, m],
                    cout,
                    opts(padding, strides, dilations),
                    seed.is_multiple_of(20),
                    seed,
                );
            }
        }
    }
}

#[test]
fn separable_bias_comes_after_the_pointwise_step_then_the_activation() {
    for (i, act) in ACTS.into_iter().enumerate() {
        let o = Conv2dOptions::default().padding(Padding::Same).activation(act);
        check_sep([2, 5, 6, 4], [3, 3, 4, 2], 8, o, true, 3500 + i as u64);
    }
    // Compared with an unfused reference: depthwise, then dense on the reshaped view, on the CPU.
    let cpu = Device::Cpu;
    let x = Tensor::randn(&[2, 5, 6, 3], 0.0, 1.0, 1, &cpu).unwrap();
    let d = Tensor::randn(&[3, 3, 3, 2], 0.0, 1.0, 2, &cpu).unwrap();
    let p = Tensor::randn(&[1, 1, 6, 4], 0.0, 1.0, 3, &cpu).unwrap();
    let b = Tensor::randn(&[4], 0.0, 1.0, 4, &cpu).unwrap();
    let o = Conv2dOptions::default().padding(Padding::Same).activation(Activation::Tanh);
    let got = separable_conv2d(&x, &d, &p, Some(&b), &o).unwrap();
    let y = depthwise_conv2d(&x, &d, &Conv2dOptions::default().padding(Padding::Same)).unwrap();
    let z = conv2d_with_bias(&y, &p, Some(&b), &o).unwrap();
    assert_close(&got, &z, 1e-5, "separable == depthwise then 1x1 conv2d with bias and tanh");
}

// ---------------------------------------------------------------- conv2d_transpose parity

/// The legal output sizes along one axis (TF: the forward conv of size o gives back i).
fn legal(i: usize, k: usize, s: usize, d: usize, p: Padding, axis: usize) -> Vec<usize> {
    let eff = (k - 1) * d + 1;
    (1..=(i + 2) * s + eff)
        .filter(|&o| match p {
            Padding::Same => o.div_ceil(s) == i,
            Padding::Valid => o >= eff && (o - eff) / s + 1 == i,
            Padding::Explicit(e) => {
                let padded = o + e[axis][0] + e[axis][1];
                padded >= eff && (padded - eff) / s + 1 == i
            }
        })
        .collect()
}

#[test]
fn transpose_every_padding_stride_and_dilation_matches_cpu() {
    let mut seed: u64 = 4000;
    for padding in paddings() {
        for strides in [[1, 1], [2, 2], [2, 1]] {
            for dilations in [[1, 1], [2, 2], [1, 2]] {
                seed += 10;
                let o = opts(padding, strides, dilations);
                let (ih, iw) = (4, 5);
                let oh = *legal(ih, 3, strides[0], dilations[0], padding, 0).last().unwrap();
                let ow = legal(iw, 2, strides[1], dilations[1], padding, 1)[0];
                check_tc([2, ih, iw, 8], [3, 2, 5, 8], [2, oh, ow, 5], o, seed.is_multiple_of(20), seed);
                check_tc([2, ih, iw, 3], [3, 2, 4, 3], [2, oh, ow, 4], o, seed % 20 == 10, seed + 5);
            }
        }
    }
}

#[test]
fn transpose_accepts_every_legal_output_size_and_only_those() {
    let combos: [(usize, usize, usize, Padding); 6] = [
        (3, 3, 2, Padding::Valid),
        (4, 2, 3, Padding::Valid),
        (3, 3, 2, Padding::Same),
        (5, 4, 3, Padding::Same),
        (4, 3, 1, Padding::Same),
        (3, 3, 2, Padding::Explicit([[1, 0], [2, 1]])),
    ];
    let mut seed: u64 = 5000;
    for (i, k, s, p) in combos {
        let ok_h = legal(i, k, s, 1, p, 0);
        let ok_w = legal(i, k, s, 1, p, 1);
        assert!(ok_h.len() == s && ok_w.len() == s, "{i} {k} {s} {p:?}: {ok_h:?} {ok_w:?}");
        let o = Conv2dOptions::default().padding(p).strides(s);
        for &oh in &ok_h {
            for &ow in &ok_w {
                seed += 10;
                check_tc([2, i, i, 3], [k, k, 5, 3], [2, oh, ow, 5], o, seed.is_multiple_of(20), seed);
                check_tc([1, i, i + 2, 4], [k, k, 6, 4], [1, oh, ow + 2 * s, 6], o, seed % 20 == 10, seed + 5);
            }
        }
        let x = Tensor::randn(&[1, i, i, 2], 0.0, 1.0, 1, &Device::Cpu).unwrap();
        let f = Tensor::randn(&[k, k, 3, 2], 0.0, 1.0, 2, &Device::Cpu).unwrap();
        for oh in 1..ok_h[0] + 2 * s {
            let want_ok = ok_h.contains(&oh);
            let r = conv2d_transpose(&x, &f, &[1, oh, ok_w[0], 3], &o);
            assert_eq!(r.is_ok(), want_ok, "i={i} k={k} s={s} {p:?} oh={oh}: {r:?}");
        }
    }
}

#[test]
fn transpose_channels_activations_and_bias_match_cpu() {
    let mut seed: u64 = 6000;
    for (cin, cout) in [(1, 1), (3, 5), (5, 3), (8, 8), (4, 1), (12, 6)] {
        for (i, act) in ACTS.into_iter().enumerate() {
            seed += 10;
            let o = Conv2dOptions::default().padding(Padding::Same).strides(2).activation(act);
            check_tc([3, 3, 5, cin], [3, 3, cout, cin], [3, 6, 9, cout], o, i.is_multiple_of(2), seed);
        }
    }
}

#[test]
fn transpose_by_hand_stride_2_tiles_the_filter() {
    // Each input pixel writes x * filter into its own 2x2 block.
    let want = [1., 10., 2., 20., 100., 1000., 200., 2000., 3., 30., 4., 40., 300., 3000., 400., 4000.];
    for dev in [Device::Cpu, gpu()] {
        let x = Tensor::from_slice(&[1., 2., 3., 4.], &[1, 2, 2, 1], &dev).unwrap();
        let f = Tensor::from_slice(&[1., 10., 100., 1000.], &[2, 2, 1, 1], &dev).unwrap();
        let y = conv2d_transpose(&x, &f, &[1, 4, 4, 1], &Conv2dOptions::default().strides(2)).unwrap();
        assert_eq!(y.to_vec().unwrap(), want.to_vec(), "{dev}");
    }
}

#[test]
fn transpose_by_hand_stride_1_is_a_full_convolution() {
    // x = [[1,2],[3,4]], f = [[1,2],[3,4]]: out[y][x] = sum x[i][j] f[y-i][x-j]
    let want = [1., 4., 4., 6., 20., 16., 9., 24., 16.];
    for dev in [Device::Cpu, gpu()] {
        let x = Tensor::from_slice(&[1., 2., 3., 4.], &[1, 2, 2, 1], &dev).unwrap();
        let f = Tensor::from_slice(&[1., 2., 3., 4.], &[2, 2, 1, 1], &dev).unwrap();
        let y = conv2d_transpose(&x, &f, &[1, 3, 3, 1], &Conv2dOptions::default()).unwrap();
        assert_eq!(y.to_vec().unwrap(), want.to_vec(), "{dev}");
        // SAME with the same filter crops the full result to its top-left 2x2 (pad_top = 0).
        let y = conv2d_transpose(&x, &f, &[1, 2, 2, 1], &Conv2dOptions::default().padding(Padding::Same)).unwrap();
        assert_eq!(y.to_vec().unwrap(), vec![1., 4., 6., 20.], "{dev}");
    }
}

fn dot(a: &Tensor, b: &Tensor) -> f64 {
    a.to_vec().unwrap().iter().zip(b.to_vec().unwrap()).map(|(&x, y)| x as f64 * y as f64).sum()
}

#[test]
fn transpose_is_the_adjoint_of_conv2d() {
    let cpu = Device::Cpu;
    let cases: [([usize; 4], [usize; 4], Conv2dOptions); 5] = [
        ([2, 7, 8, 3], [3, 3, 3, 4], opts(Padding::Valid, [1, 1], [1, 1])),
        ([2, 9, 8, 3], [3, 2, 3, 5], opts(Padding::Same, [2, 2], [1, 1])),
        ([1, 10, 9, 2], [3, 3, 2, 4], opts(Padding::Valid, [2, 3], [1, 1])),
        ([2, 9, 11, 4], [2, 3, 4, 3], opts(Padding::Explicit([[1, 2], [0, 1]]), [2, 1], [2, 2])),
        ([1, 8, 8, 1], [4, 4, 1, 2], opts(Padding::Same, [3, 3], [1, 2])),
    ];
    for (i, (xs, fs, o)) in cases.into_iter().enumerate() {
        let seed = 7000 + 10 * i as u64;
        let x = Tensor::randn(&xs, 0.0, 1.0, seed, &cpu).unwrap();
        let f = Tensor::randn(&fs, 0.0, 1.0, seed + 1, &cpu).unwrap();
        let cx = conv2d(&x, &f, &o).unwrap();
        let y = Tensor::randn(cx.shape(), 0.0, 1.0, seed + 2, &cpu).unwrap();
        let ty = conv2d_transpose(&y, &f, &xs, &o).unwrap();
        let (lhs, rhs) = (dot(&cx, &y), dot(&x, &ty));
        assert!(
            (lhs - rhs).abs() <= 1e-4 * lhs.abs().max(1.0),
            "case {i}: <conv(x), y> = {lhs}, <x, convT(y)> = {rhs}"
        );
    }
}

// ---------------------------------------------------------------- shapes

#[test]
fn output_shapes_follow_tensorflow() {
    let cpu = Device::Cpu;
    let z = |s: &[usize]| Tensor::zeros(s, &cpu).unwrap();
    let same = Conv2dOptions::default().padding(Padding::Same);
    assert_eq!(depthwise_conv2d(&z(&[2, 7, 9, 3]), &z(&[3, 3, 3, 4]), &same).unwrap().shape(), &[2, 7, 9, 12]);
    let s2 = same.strides(2);
    assert_eq!(depthwise_conv2d(&z(&[1, 7, 9, 3]), &z(&[3, 3, 3, 1]), &s2).unwrap().shape(), &[1, 4, 5, 3]);
    let valid = Conv2dOptions::default().dilations(2);
    assert_eq!(depthwise_conv2d(&z(&[1, 7, 9, 2]), &z(&[3, 2, 2, 1]), &valid).unwrap().shape(), &[1, 3, 7, 2]);
    let sep = separable_conv2d(&z(&[2, 8, 8, 3]), &z(&[3, 3, 3, 2]), &z(&[1, 1, 6, 10]), None, &s2).unwrap();
    assert_eq!(sep.shape(), &[2, 4, 4, 10]);
    let tc = conv2d_transpose(&z(&[2, 4, 5, 3]), &z(&[3, 3, 6, 3]), &[2, 8, 9, 6], &s2).unwrap();
    assert_eq!(tc.shape(), &[2, 8, 9, 6]);
}

// ---------------------------------------------------------------- errors

fn shape_msg(r: Result<Tensor>) -> String {
    match r {
        Err(e @ Error::Shape { .. }) => e.to_string(),
        other => panic!("expected a shape error, got {other:?}"),
    }
}

#[test]
fn depthwise_and_separable_errors_name_the_shapes() {
    for dev in [Device::Cpu, gpu()] {
        let t = |s: &[usize]| Tensor::zeros(s, &dev).unwrap();
        let o = Conv2dOptions::default();
        let m = shape_msg(depthwise_conv2d(&t(&[1, 5, 5, 3]), &t(&[3, 3, 4, 1]), &o));
        assert!(m.contains("[1, 5, 5, 3]") && m.contains("[3, 3, 4, 1]"), "{m}");
        let m = shape_msg(depthwise_conv2d(&t(&[5, 5, 3]), &t(&[3, 3, 3, 1]), &o));
        assert!(m.contains("rank 4") && m.contains("[5, 5, 3]"), "{m}");
        let m = shape_msg(depthwise_conv2d(&t(&[1, 5, 5, 3]), &t(&[3, 3, 3]), &o));
        assert!(m.contains("[3, 3, 3]"), "{m}");
        let m = shape_msg(depthwise_conv2d(&t(&[1, 5, 5, 3]), &t(&[3, 3, 3, 1]), &o.strides((0, 1))));
        assert!(m.contains("strides"), "{m}");
        let m = shape_msg(depthwise_conv2d(&t(&[1, 2, 5, 3]), &t(&[3, 3, 3, 1]), &o));
        assert!(m.contains("[1, 2, 5, 3]"), "{m}");
        let m = shape_msg(depthwise_conv2d_with_bias(&t(&[1, 5, 5, 3]), &t(&[3, 3, 3, 2]), Some(&t(&[3])), &o));
        assert!(m.contains("[3]") && m.contains("[6]"), "{m}");
        let x = t(&[1, 5, 5, 3]);
        let d = t(&[3, 3, 3, 2]);
        for pw in [&[1, 1, 5, 4][..], &[3, 3, 6, 4], &[1, 6, 4]] {
            let m = shape_msg(separable_conv2d(&x, &d, &t(pw), None, &o));
            assert!(m.starts_with("separable_conv2d") && m.contains(&format!("{pw:?}")) && m.contains("6"), "{m}");
        }
        let m = shape_msg(separable_conv2d(&x, &d, &t(&[1, 1, 6, 4]), Some(&t(&[6])), &o));
        assert!(m.contains("[6]") && m.contains("[4]"), "{m}");
        let m = shape_msg(separable_conv2d(&x, &t(&[3, 3, 2, 2]), &t(&[1, 1, 4, 4]), None, &o));
        assert!(m.starts_with("separable_conv2d") && m.contains("[3, 3, 2, 2]"), "{m}");
    }
}

#[test]
fn transpose_errors_name_the_shapes() {
    for dev in [Device::Cpu, gpu()] {
        let t = |s: &[usize]| Tensor::zeros(s, &dev).unwrap();
        let o = Conv2dOptions::default().strides(2);
        let (x, f) = (t(&[1, 3, 3, 2]), t(&[3, 3, 4, 2]));
        let m = shape_msg(conv2d_transpose(&x, &f, &[1, 9, 7, 4], &o));
        assert!(m.contains("[1, 9, 7, 4]") && m.contains("[1, 3, 3, 2]") && m.contains("[3, 3, 4, 2]"), "{m}");
        let m = shape_msg(conv2d_transpose(&x, &t(&[3, 3, 4, 3]), &[1, 7, 7, 4], &o));
        assert!(m.contains("[3, 3, 4, 3]") && m.contains("[1, 3, 3, 2]"), "{m}");
        let m = shape_msg(conv2d_transpose(&x, &f, &[1, 7, 7, 5], &o));
        assert!(m.contains("[1, 7, 7, 5]"), "{m}");
        let m = shape_msg(conv2d_transpose(&x, &f, &[2, 7, 7, 4], &o));
        assert!(m.contains("[2, 7, 7, 4]"), "{m}");
        let m = shape_msg(conv2d_transpose(&x, &f, &[7, 7, 4], &o));
        assert!(m.contains("rank 4") && m.contains("[7, 7, 4]"), "{m}");
        let m = shape_msg(conv2d_transpose(&t(&[3, 3, 2]), &f, &[1, 7, 7, 4], &o));
        assert!(m.contains("rank 4") && m.contains("[3, 3, 2]"), "{m}");
        let m = shape_msg(conv2d_transpose(&x, &f, &[1, 7, 7, 4], &o.strides((2, 0))));
        assert!(m.contains("strides") && m.contains("[2, 0]"), "{m}");
        let m = shape_msg(conv2d_transpose(&x, &f, &[1, 7, 7, 4], &o.dilations(0)));
        assert!(m.contains("dilations"), "{m}");
        let m = shape_msg(conv2d_transpose_with_bias(&x, &f, Some(&t(&[2])), &[1, 7, 7, 4], &o));
        assert!(m.contains("[2]") && m.contains("[4]"), "{m}");
    }
}

#[test]
fn mixed_devices_are_a_typed_error() {
    let x = Tensor::zeros(&[1, 5, 5, 3], &Device::Cpu).unwrap();
    let f = Tensor::zeros(&[3, 3, 3, 1], &gpu()).unwrap();
    let r = depthwise_conv2d(&x, &f, &Conv2dOptions::default());
    assert!(matches!(r, Err(Error::DeviceMismatch { .. })), "{r:?}");
}

#[test]
fn stride1_transpose_reads_the_flipped_filter_with_every_conv_variant() {
    // A stride-1 conv2d_transpose (a stride-1 conv's input gradient) runs as a plain conv of
    // the flipped, transposed filter: the direct kernel reads the filter flipped in place, the
    // register-blocked and im2col kernels run on a flipped copy. Every variant (and the
    // autotuned choice) against the CPU twin: odd and aligned channels, batch > 1, non-square
    // windows, dilation, explicit padding, bias and every activation.
    use tessera::kernels::conv2d::{conv2d_flipped, Conv2dVariant};
    use tessera::kernels::Conv2dGeometry;
    let dev = gpu();
    let gp = dev.as_gpu().unwrap();
    let up = |v: &[f32]| upload_f32(gp, v);
    // (transposed conv input [n, h, w, cin], filter [kh, kw, cout, cin], dilations, the
    // forward conv's padding [[top, bottom], [left, right]])
    type Case = ([usize; 4], [usize; 4], [usize; 2], [[usize; 2]; 2]);
    let cases: [Case; 5] = [
        ([2, 5, 7, 3], [3, 2, 6, 3], [1, 1], [[0, 0], [0, 0]]),
        // One input channel, its rows and blocks starting vec4s (the texel twin's ROW_ALIGNED).
        ([2, 5, 8, 1], [3, 3, 3, 1], [1, 1], [[1, 1], [2, 0]]),
        ([3, 4, 4, 8], [3, 3, 8, 8], [1, 1], [[1, 1], [1, 1]]),
        ([2, 6, 5, 16], [3, 3, 6, 16], [2, 1], [[1, 0], [0, 1]]),
        ([1, 3, 9, 5], [2, 4, 4, 5], [1, 2], [[0, 1], [2, 1]]),
    ];
    for (i, (xs, fs, dil, pad)) in cases.into_iter().enumerate() {
        let [kh, kw, cout, cin] = fs;
        let (eh, ew) = ((kh - 1) * dil[0] + 1, (kw - 1) * dil[1] + 1);
        let out = [xs[0], xs[1] + eh - 1 - pad[0][0] - pad[0][1], xs[2] + ew - 1 - pad[1][0] - pad[1][1], cout];
        let conv_pad =
            Padding::Explicit([[eh - 1 - pad[0][0], eh - 1 - pad[0][1]], [ew - 1 - pad[1][0], ew - 1 - pad[1][1]]]);
        let geom = Conv2dGeometry::new(&xs, &[kh, kw, cin, cout], [1, 1], dil, &conv_pad).unwrap();
        let seed = 7000 + 10 * i as u64;
        let (x, f, b) =
            (rand_vec(xs.iter().product(), seed), rand_vec(fs.iter().product(), seed + 1), rand_vec(cout, seed + 2));
        for (j, act) in ACTS.into_iter().enumerate() {
            let bias = (j % 2 == 0).then(|| Tensor::from_slice(&b, &[cout], &Device::Cpu).unwrap());
            let o = Conv2dOptions::default().padding(Padding::Explicit(pad)).dilations(dil).activation(act);
            let xc = Tensor::from_slice(&x, &xs, &Device::Cpu).unwrap();
            let fc = Tensor::from_slice(&f, &fs, &Device::Cpu).unwrap();
            let want = conv2d_transpose_with_bias(&xc, &fc, bias.as_ref(), &out, &o).unwrap();
            let bias_buf = up(&b);
            // The texel twin (a slow compile per window and activation) with the first activation.
            let texels = |v: &Conv2dVariant| j == 0 || *v != Conv2dVariant::DirectUnrolledTexels;
            for v in Conv2dVariant::ALL.into_iter().filter(texels) {
                let what = format!("flipped conv {xs:?} {fs:?} {dil:?} {pad:?} {act:?} bias={} {v:?}", bias.is_some());
                let buf =
                    conv2d_flipped(gp, &up(&x), &up(&f), bias.as_ref().map(|_| &bias_buf), &geom, act, v).unwrap();
                let got = read_f32(gp, &buf, want.numel());
                assert_close_vec(&got, &want.to_vec().unwrap(), RTOL, &what);
            }
        }
    }
}
