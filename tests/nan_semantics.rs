//! NaN and ±Inf semantics per op family, on the CPU and the GPU, against values TensorFlow 2.21
//! returns for the same inputs (each expected vector below was printed by TF on this machine:
//! `tf.nn.relu`, `tf.maximum`, `tf.reduce_max`, `tf.nn.max_pool2d`, Keras
//! `GlobalMaxPooling2D`, ...). TF propagates NaN through relu, maximum / minimum, reductions and
//! global max pooling, but its MaxPool skips NaN and starts from the lowest f32.

mod common;

use common::gpu;
use tessera::prelude::*;

const NAN: f32 = f32::NAN;
const INF: f32 = f32::INFINITY;
/// TensorFlow's MaxPool result for a window with no number larger than the lowest f32.
const LOWEST: f32 = f32::MIN;

/// Both devices the semantics must hold on.
fn devices() -> [Device; 2] {
    [Device::Cpu, gpu()]
}

/// Asserts `got` equals `want` elementwise, NaN matching NaN and infinities matching exactly.
fn assert_same(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let ok = (g.is_nan() && w.is_nan()) || g == w || (g - w).abs() <= 1e-6 * w.abs();
        assert!(ok, "{what}: element {i}: got {g}, want {w} (all: {got:?})");
    }
}

fn t(v: &[f32], shape: &[usize], dev: &Device) -> Tensor {
    Tensor::from_slice(v, shape, dev).unwrap()
}

/// `[nan, 1, -inf, inf, -1]`, the activation probe.
const PROBE: [f32; 5] = [NAN, 1.0, -INF, INF, -1.0];

#[test]
fn activations_follow_tf() {
    for dev in devices() {
        let x = t(&PROBE, &[1, 5], &dev);
        let d = format!("{dev}");
        assert_same(&relu(&x).unwrap().to_vec().unwrap(), &[NAN, 1.0, 0.0, INF, 0.0], &format!("relu {d}"));
        assert_same(&relu6(&x).unwrap().to_vec().unwrap(), &[NAN, 1.0, 0.0, 6.0, 0.0], &format!("relu6 {d}"));
        let lr = leaky_relu(&x, 0.2).unwrap().to_vec().unwrap();
        assert_same(&lr, &[NAN, 1.0, -INF, INF, -0.2], &format!("leaky_relu {d}"));
        let s = sigmoid(&t(&[NAN, INF, -INF], &[3], &dev)).unwrap().to_vec().unwrap();
        assert_same(&s, &[NAN, 1.0, 0.0], &format!("sigmoid {d}"));
    }
}

#[test]
fn fused_relu_keeps_nan() {
    for dev in devices() {
        // A 1x1 convolution by 1 with zero bias is the identity, so the fused ReLU sees PROBE.
        let x = t(&PROBE, &[1, 1, 5, 1], &dev);
        let w = t(&[1.0], &[1, 1, 1, 1], &dev);
        let b = t(&[0.0], &[1], &dev);
        let opts = Conv2dOptions::default().activation(Activation::Relu);
        let y = conv2d_with_bias(&x, &w, Some(&b), &opts).unwrap().to_vec().unwrap();
        assert_same(&y, &[NAN, 1.0, 0.0, INF, 0.0], &format!("conv2d fused relu {dev}"));
    }
}

#[test]
fn maximum_minimum_propagate_nan() {
    for dev in devices() {
        let x = t(&PROBE, &[5], &dev);
        let y = t(&[0.0, NAN, 0.0, 0.0, NAN], &[5], &dev);
        assert_same(&maximum(&x, &y).unwrap().to_vec().unwrap(), &[NAN, NAN, 0.0, INF, NAN], &format!("maximum {dev}"));
        assert_same(
            &minimum(&x, &y).unwrap().to_vec().unwrap(),
            &[NAN, NAN, -INF, 0.0, NAN],
            &format!("minimum {dev}"),
        );
    }
}

#[test]
fn reductions_propagate_nan() {
    for dev in devices() {
        let x = t(&[1.0, NAN, 2.0, -INF, -INF, -INF, NAN, 1.0, 2.0], &[3, 3], &dev);
        let m = reduce_max(&x, Some(&[1]), false).unwrap().to_vec().unwrap();
        assert_same(&m, &[NAN, -INF, NAN], &format!("reduce_max {dev}"));
        let all = reduce_max(&x, None, false).unwrap().to_vec().unwrap();
        assert_same(&all, &[NAN], &format!("reduce_max all {dev}"));
        let mean = reduce_mean(&t(&[1.0, NAN], &[2], &dev), None, false).unwrap().to_vec().unwrap();
        assert_same(&mean, &[NAN], &format!("reduce_mean {dev}"));
        let sum = reduce_sum(&t(&[INF, -INF], &[2], &dev), None, false).unwrap().to_vec().unwrap();
        assert_same(&sum, &[NAN], &format!("reduce_sum {dev}"));
    }
}

#[test]
fn max_pool_skips_nan_like_tf() {
    let cases: [([f32; 4], f32); 5] = [
        ([1.0, NAN, 2.0, 3.0], 3.0),
        ([NAN, 1.0, 2.0, 3.0], 3.0),
        ([1.0, 2.0, 3.0, NAN], 3.0),
        ([NAN; 4], LOWEST),
        ([-INF; 4], LOWEST),
    ];
    for dev in devices() {
        for (x, want) in cases {
            let y = max_pool2d(&t(&x, &[1, 2, 2, 1], &dev), &PoolOptions::new(2)).unwrap();
            assert_same(&y.to_vec().unwrap(), &[want], &format!("max_pool2d {x:?} {dev}"));
            // The vec4 path: four channels, each channel the same window.
            let x4: Vec<f32> = x.iter().flat_map(|&v| [v; 4]).collect();
            let y4 = max_pool2d(&t(&x4, &[1, 2, 2, 4], &dev), &PoolOptions::new(2)).unwrap();
            assert_same(&y4.to_vec().unwrap(), &[want; 4], &format!("max_pool2d c=4 {x:?} {dev}"));
        }
        let same = PoolOptions::new(3).strides(1).padding(Padding::Same);
        let y = max_pool2d(&t(&[NAN; 4], &[1, 2, 2, 1], &dev), &same).unwrap();
        assert_same(&y.to_vec().unwrap(), &[LOWEST; 4], &format!("max_pool2d SAME all-NaN {dev}"));
        let avg = avg_pool2d(&t(&[1.0, NAN, 2.0, 3.0], &[1, 2, 2, 1], &dev), &PoolOptions::new(2)).unwrap();
        assert_same(&avg.to_vec().unwrap(), &[NAN], &format!("avg_pool2d {dev}"));
    }
}

#[test]
fn global_max_pool_propagates_nan() {
    for dev in devices() {
        let x = t(&[1.0, NAN, 2.0, 3.0, -INF, -INF, -INF, -INF], &[2, 2, 2, 1], &dev);
        let y = global_max_pool2d(&x).unwrap().to_vec().unwrap();
        assert_same(&y, &[NAN, -INF], &format!("global_max_pool2d {dev}"));
    }
}
