//! Gradients of depthwise, separable and transposed convolutions: finite differences on the CPU
//! twin and GPU-vs-CPU gradient parity across every option, GPU-vs-CPU parity of the depthwise
//! gradient kernels on larger random inputs, hand-checked values and typed errors.

mod common;
use common::*;
use tessera::kernels::Conv2dGeometry;
use tessera::prelude::*;

fn paddings() -> [Padding; 3] {
    [Padding::Valid, Padding::Same, Padding::Explicit([[1, 0], [2, 1]])]
}

/// (strides, dilations) pairs every gradient is checked with.
const STRIDES_DILATIONS: [([usize; 2], [usize; 2]); 5] =
    [([1, 1], [1, 1]), ([2, 2], [1, 1]), ([2, 1], [1, 1]), ([1, 1], [2, 2]), ([1, 2], [2, 1])];

fn opts(padding: Padding, strides: [usize; 2], dilations: [usize; 2]) -> Conv2dOptions {
    Conv2dOptions::default().padding(padding).strides(strides).dilations(dilations)
}

/// A tensor from literal values on `dev`.
fn t(v: &[f32], shape: &[usize], dev: &Device) -> Tensor {
    Tensor::from_slice(v, shape, dev).unwrap()
}

fn devices() -> [Device; 2] {
    [Device::Cpu, gpu()]
}

// ---------------------------------------------------------------- depthwise_conv2d

#[test]
fn depthwise_gradients_for_every_padding_stride_dilation_and_multiplier() {
    for (i, padding) in paddings().into_iter().enumerate() {
        for (strides, dilations) in STRIDES_DILATIONS {
            for (c, m) in [(3, 1), (3, 2), (4, 1), (4, 2)] {
                let o = opts(padding, strides, dilations);
                let name = format!("depthwise c={c} m={m} {o:?}");
                grad_check(&name, &[&[2, 7, 6, c], &[3, 2, c, m], &[c * m]], 200 + i as u64, |x| {
                    depthwise_conv2d_with_bias(&x[0], &x[1], Some(&x[2]), &o)
                });
            }
        }
    }
}

#[test]
fn depthwise_gradients_without_bias_and_with_fused_activations() {
    for act in [Activation::None, Activation::Relu, Activation::Sigmoid, Activation::Tanh] {
        for (c, m) in [(8, 1), (5, 3)] {
            let o = opts(Padding::Same, [2, 1], [1, 1]).activation(act);
            grad_check(&format!("depthwise {act:?} c={c} m={m}"), &[&[2, 6, 9, c], &[3, 3, c, m]], 230, |x| {
                depthwise_conv2d(&x[0], &x[1], &o)
            });
            grad_check(
                &format!("depthwise+bias {act:?} c={c} m={m}"),
                &[&[2, 5, 4, c], &[2, 3, c, m], &[c * m]],
                231,
                |x| depthwise_conv2d_with_bias(&x[0], &x[1], Some(&x[2]), &o),
            );
        }
    }
}

#[test]
fn depthwise_backprop_ops_are_differentiable() {
    for (c, m) in [(3, 2), (4, 1)] {
        let o = opts(Padding::Explicit([[0, 1], [1, 1]]), [2, 1], [1, 2]);
        let xs = [2, 6, 7, c];
        let fs = [2, 3, c, m];
        let ys = depthwise_conv2d(
            &Tensor::zeros(&xs, &Device::Cpu).unwrap(),
            &Tensor::zeros(&fs, &Device::Cpu).unwrap(),
            &o,
        )
        .unwrap()
        .shape()
        .to_vec();
        grad_check(&format!("depthwise_conv2d_backprop_input c={c} m={m}"), &[&ys, &fs], 240, |x| {
            depthwise_conv2d_backprop_input(&x[0], &x[1], &xs, &o)
        });
        grad_check(&format!("depthwise_conv2d_backprop_filter c={c} m={m}"), &[&xs, &ys], 241, |x| {
            depthwise_conv2d_backprop_filter(&x[0], &x[1], &fs, &o)
        });
    }
}

/// GPU vs CPU for both depthwise gradient kernels on one geometry.
fn check_dw_grads(xs: [usize; 4], fs: [usize; 4], o: Conv2dOptions, seed: u64) {
    let (xc, xg) = pair(&xs, seed);
    let (fc, fg) = pair(&fs, seed + 1);
    let ys = depthwise_conv2d(&xc, &fc, &o).unwrap().shape().to_vec();
    let (dyc, dyg) = pair(&ys, seed + 2);
    let what = format!("{xs:?} {fs:?} {o:?}");
    let want = depthwise_conv2d_backprop_input(&dyc, &fc, &xs, &o).unwrap();
    let got = depthwise_conv2d_backprop_input(&dyg, &fg, &xs, &o).unwrap();
    assert_close(&got, &want, RTOL, &format!("depthwise input grad {what}"));
    let want = depthwise_conv2d_backprop_filter(&xc, &dyc, &fs, &o).unwrap();
    let got = depthwise_conv2d_backprop_filter(&xg, &dyg, &fs, &o).unwrap();
    assert_close(&got, &want, RTOL, &format!("depthwise filter grad {what}"));
}

#[test]
fn depthwise_gradient_kernels_match_cpu_across_options() {
    for (i, padding) in paddings().into_iter().enumerate() {
        for (strides, dilations) in STRIDES_DILATIONS {
            for (c, m) in [(3, 1), (5, 2), (8, 1), (12, 1), (4, 3)] {
                let o = opts(padding, strides, dilations);
                check_dw_grads([3, 17, 13, c], [3, 2, c, m], o, 300 + i as u64);
            }
        }
    }
}

#[test]
fn depthwise_gradient_kernels_match_cpu_on_larger_inputs() {
    // Many output rows (split filter-gradient sums), a single output row (no split), wide
    // channels, a kernel as large as the input, and large asymmetric kernels.
    check_dw_grads([5, 31, 29, 16], [3, 3, 16, 1], opts(Padding::Same, [1, 1], [1, 1]), 310);
    check_dw_grads([4, 23, 19, 7], [5, 3, 7, 2], opts(Padding::Same, [2, 2], [1, 1]), 311);
    check_dw_grads([1, 3, 5, 8], [3, 3, 8, 1], opts(Padding::Valid, [1, 1], [1, 1]), 312);
    check_dw_grads([2, 4, 9, 64], [4, 9, 64, 1], opts(Padding::Valid, [1, 1], [1, 1]), 313);
    check_dw_grads([3, 15, 21, 24], [7, 1, 24, 1], opts(Padding::Explicit([[3, 2], [0, 4]]), [2, 3], [2, 1]), 314);
    check_dw_grads([2, 9, 11, 6], [2, 4, 6, 4], opts(Padding::Same, [3, 2], [2, 3]), 315);
    check_dw_grads([2, 13, 10, 8], [3, 5, 8, 1], opts(Padding::Explicit([[2, 0], [1, 3]]), [2, 1], [2, 1]), 316);
    check_dw_grads([3, 6, 37, 4], [1, 4, 4, 1], opts(Padding::Same, [1, 1], [1, 1]), 317);
}

#[test]
fn depthwise_gradients_by_hand() {
    for dev in devices() {
        // One output: dx = dy * filter, dfilter = dy * x.
        let o = Conv2dOptions::default();
        let x = t(&[1.0, 2.0, 3.0, 4.0], &[1, 2, 2, 1], &dev);
        let f = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2, 1, 1], &dev);
        let dy = t(&[2.0], &[1, 1, 1, 1], &dev);
        let dx = depthwise_conv2d_backprop_input(&dy, &f, &[1, 2, 2, 1], &o).unwrap();
        assert_eq!(dx.to_vec().unwrap(), vec![2.0, 4.0, 6.0, 8.0], "{dev:?}");
        let df = depthwise_conv2d_backprop_filter(&x, &dy, &[2, 2, 1, 1], &o).unwrap();
        assert_eq!(df.to_vec().unwrap(), vec![2.0, 4.0, 6.0, 8.0], "{dev:?}");
        // Multiplier 2: output channels (c0 m0, c0 m1) per pixel.
        let x = t(&[1.0, 2.0], &[1, 1, 2, 1], &dev);
        let f = t(&[2.0, 3.0], &[1, 1, 1, 2], &dev);
        let dy = t(&[1.0, 10.0, 100.0, 1000.0], &[1, 1, 2, 2], &dev);
        let dx = depthwise_conv2d_backprop_input(&dy, &f, &[1, 1, 2, 1], &o).unwrap();
        assert_eq!(dx.to_vec().unwrap(), vec![32.0, 3200.0], "{dev:?}");
        let df = depthwise_conv2d_backprop_filter(&x, &dy, &[1, 1, 1, 2], &o).unwrap();
        assert_eq!(df.to_vec().unwrap(), vec![201.0, 2010.0], "{dev:?}");
        // Stride 2 skips the middle column.
        let o = Conv2dOptions::default().strides([1, 2]);
        let x = t(&[1.0, 2.0, 3.0], &[1, 1, 3, 1], &dev);
        let f = t(&[5.0], &[1, 1, 1, 1], &dev);
        let dy = t(&[1.0, 2.0], &[1, 1, 2, 1], &dev);
        let dx = depthwise_conv2d_backprop_input(&dy, &f, &[1, 1, 3, 1], &o).unwrap();
        assert_eq!(dx.to_vec().unwrap(), vec![5.0, 0.0, 10.0], "{dev:?}");
        let df = depthwise_conv2d_backprop_filter(&x, &dy, &[1, 1, 1, 1], &o).unwrap();
        assert_eq!(df.to_vec().unwrap(), vec![7.0], "{dev:?}");
    }
}

#[test]
fn depthwise_backprop_shape_errors_are_typed() {
    let cpu = Device::Cpu;
    let o = Conv2dOptions::default();
    let z = |s: &[usize]| Tensor::zeros(s, &cpu).unwrap();
    let expect = |r: Result<Tensor>, op: &str, needle: &str| match r {
        Err(Error::Shape { op: got, msg }) => {
            assert_eq!(got, op);
            assert!(msg.contains(needle), "{op}: message {msg:?} should mention {needle:?}");
        }
        other => panic!("{op}: expected a shape error mentioning {needle:?}, got {other:?}"),
    };
    let bi = "depthwise_conv2d_backprop_input";
    let bf = "depthwise_conv2d_backprop_filter";
    // Wrong out_backprop shape.
    expect(
        depthwise_conv2d_backprop_input(&z(&[1, 3, 3, 2]), &z(&[3, 3, 2, 1]), &[1, 6, 5, 2], &o),
        bi,
        "[1, 3, 3, 2]",
    );
    expect(
        depthwise_conv2d_backprop_filter(&z(&[1, 5, 5, 2]), &z(&[1, 3, 3, 4]), &[3, 3, 2, 1], &o),
        bf,
        "[1, 3, 3, 4]",
    );
    // Wrong ranks.
    expect(depthwise_conv2d_backprop_input(&z(&[1, 3, 3, 2]), &z(&[3, 3, 2, 1]), &[5, 5, 2], &o), bi, "[5, 5, 2]");
    expect(depthwise_conv2d_backprop_filter(&z(&[1, 5, 5, 2]), &z(&[1, 3, 3, 2]), &[3, 2, 1], &o), bf, "[3, 2, 1]");
    // Channels that do not match the filter.
    expect(
        depthwise_conv2d_backprop_input(&z(&[1, 3, 3, 2]), &z(&[3, 3, 2, 1]), &[1, 5, 5, 3], &o),
        bi,
        "[3, 3, 2, 1]",
    );
    expect(
        depthwise_conv2d_backprop_filter(&z(&[1, 5, 5, 3]), &z(&[1, 3, 3, 2]), &[3, 3, 2, 1], &o),
        bf,
        "[1, 5, 5, 3]",
    );
    // Kernel larger than the input, zero strides, zero multiplier.
    expect(depthwise_conv2d_backprop_input(&z(&[1, 1, 1, 2]), &z(&[7, 3, 2, 1]), &[1, 5, 5, 2], &o), bi, "");
    let s0 = Conv2dOptions::default().strides([0, 1]);
    expect(depthwise_conv2d_backprop_filter(&z(&[1, 5, 5, 2]), &z(&[1, 3, 3, 2]), &[3, 3, 2, 1], &s0), bf, "");
    expect(
        depthwise_conv2d_backprop_filter(&z(&[1, 5, 5, 2]), &z(&[1, 3, 3, 0]), &[3, 3, 2, 0], &o),
        bf,
        "[3, 3, 2, 0]",
    );
    // Tensors on different devices.
    let dy = Tensor::zeros(&[1, 3, 3, 2], &gpu()).unwrap();
    assert!(depthwise_conv2d_backprop_input(&dy, &z(&[3, 3, 2, 1]), &[1, 5, 5, 2], &o).is_err());
}

// ---------------------------------------------------------------- separable_conv2d

#[test]
fn separable_gradients_across_options() {
    for (i, padding) in paddings().into_iter().enumerate() {
        for (strides, dilations) in [([1, 1], [1, 1]), ([2, 1], [1, 1]), ([1, 1], [2, 2])] {
            for (c, m, act) in [(3, 2, Activation::None), (4, 1, Activation::Tanh)] {
                let o = opts(padding, strides, dilations).activation(act);
                let name = format!("separable c={c} m={m} {o:?}");
                grad_check(&name, &[&[2, 7, 6, c], &[3, 2, c, m], &[1, 1, c * m, 5], &[5]], 400 + i as u64, |x| {
                    separable_conv2d(&x[0], &x[1], &x[2], Some(&x[3]), &o)
                });
            }
        }
    }
    let o = opts(Padding::Same, [2, 2], [1, 1]);
    grad_check("separable without bias", &[&[2, 5, 8, 8], &[3, 3, 8, 1], &[1, 1, 8, 4]], 410, |x| {
        separable_conv2d(&x[0], &x[1], &x[2], None, &o)
    });
}

// ---------------------------------------------------------------- conv2d_transpose

/// The input shape of a conv2d_transpose producing `out` with filter `fs` (`[kh, kw, cout, cin]`).
fn tconv_input(out: [usize; 4], fs: [usize; 4], o: &Conv2dOptions) -> Vec<usize> {
    Conv2dGeometry::new(&out, &fs, o.strides, o.dilations, &o.padding).unwrap().out_shape()
}

#[test]
fn conv2d_transpose_gradients_for_every_padding_stride_and_dilation() {
    for (i, padding) in paddings().into_iter().enumerate() {
        for (strides, dilations) in STRIDES_DILATIONS {
            for (cout, cin) in [(3, 2), (4, 8)] {
                let o = opts(padding, strides, dilations);
                let out = [2, 7, 6, cout];
                let fs = [3, 2, cout, cin];
                let xs = tconv_input(out, fs, &o);
                let name = format!("conv2d_transpose cout={cout} cin={cin} {o:?}");
                grad_check(&name, &[&xs, &fs, &[cout]], 500 + i as u64, |x| {
                    conv2d_transpose_with_bias(&x[0], &x[1], Some(&x[2]), &out, &o)
                });
            }
        }
    }
}

#[test]
fn conv2d_transpose_gradients_with_fused_activations_and_larger_output_sizes() {
    for act in [Activation::None, Activation::Relu, Activation::Sigmoid, Activation::Tanh] {
        // Output 8 from input 3 at stride 2 VALID with a 2-tap kernel: the largest allowed size.
        let o = opts(Padding::Valid, [2, 2], [1, 1]).activation(act);
        grad_check(&format!("conv2d_transpose {act:?}"), &[&[2, 3, 4, 4], &[2, 3, 5, 4], &[5]], 520, |x| {
            conv2d_transpose_with_bias(&x[0], &x[1], Some(&x[2]), &[2, 7, 10, 5], &o)
        });
        grad_check(&format!("conv2d_transpose no bias {act:?}"), &[&[2, 3, 4, 3], &[3, 3, 4, 3]], 521, |x| {
            conv2d_transpose(&x[0], &x[1], &[2, 6, 8, 4], &o.padding(Padding::Same))
        });
    }
}

#[test]
fn conv2d_transpose_gradients_by_hand() {
    for dev in devices() {
        // One input pixel [2] spreads over a 2x2 output: y = 2 * filter.
        let x = t(&[2.0], &[1, 1, 1, 1], &dev).variable();
        let f = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2, 1, 1], &dev).variable();
        let b = t(&[0.5], &[1], &dev).variable();
        let y = conv2d_transpose_with_bias(&x, &f, Some(&b), &[1, 2, 2, 1], &Conv2dOptions::default()).unwrap();
        assert_eq!(y.to_vec().unwrap(), vec![2.5, 4.5, 6.5, 8.5]);
        // loss = Σ y · [1, 10, 100, 1000]
        let r = t(&[1.0, 10.0, 100.0, 1000.0], &[4, 1], &dev);
        let loss = matmul(&y.reshape(&[1, 4]).unwrap(), &r).unwrap();
        let g = loss.backward().unwrap();
        assert_eq!(g.get(&x).unwrap().to_vec().unwrap(), vec![4321.0], "{dev:?}");
        assert_eq!(g.get(&f).unwrap().to_vec().unwrap(), vec![2.0, 20.0, 200.0, 2000.0], "{dev:?}");
        assert_eq!(g.get(&b).unwrap().to_vec().unwrap(), vec![1111.0], "{dev:?}");
    }
}
