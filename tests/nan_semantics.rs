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

/// [`assert_same`] with a float32 tolerance for the finite values (normalizations, losses).
fn assert_near(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let ok = (g.is_nan() && w.is_nan()) || g == w || (g - w).abs() <= 1e-4 * (1.0 + w.abs());
        assert!(ok, "{what}: element {i}: got {g}, want {w} (all: {got:?})");
    }
}

fn v(t: Result<Tensor>) -> Vec<f32> {
    t.unwrap().to_vec().unwrap()
}

/// `[nan, 1, -inf, inf, -1, 0]`, the probe of the other unary ops.
const PROBE6: [f32; 6] = [NAN, 1.0, -INF, INF, -1.0, 0.0];

#[test]
fn unary_math_follows_tf() {
    // tf.math.tanh / exp / log / sqrt / square / negative, tf.nn.elu, Keras elu(alpha=2) and
    // relu(negative_slope=0.1, max_value=6, threshold=0.5) on PROBE6.
    for dev in devices() {
        let x = t(&PROBE6, &[6], &dev);
        let tanh_want = [NAN, 0.761_594_2, -1.0, 1.0, -0.761_594_2, 0.0];
        assert_same(&v(tanh(&x)), &tanh_want, &format!("tanh {dev}"));
        let exp_want = [NAN, std::f32::consts::E, 0.0, INF, 0.367_879_45, 1.0];
        assert_same(&v(exp(&x)), &exp_want, &format!("exp {dev}"));
        assert_same(&v(log(&x)), &[NAN, 0.0, NAN, INF, NAN, -INF], &format!("log {dev}"));
        assert_same(&v(sqrt(&x)), &[NAN, 1.0, NAN, INF, NAN, 0.0], &format!("sqrt {dev}"));
        assert_same(&v(square(&x)), &[NAN, 1.0, INF, INF, 1.0, 0.0], &format!("square {dev}"));
        assert_same(&v(neg(&x)), &[NAN, -1.0, INF, -INF, 1.0, 0.0], &format!("neg {dev}"));
        let elu_want = [NAN, 1.0, -1.0, INF, -0.632_120_5, 0.0];
        assert_same(&v(elu(&x)), &elu_want, &format!("elu {dev}"));
        let elu2_want = [NAN, 1.0, -2.0, INF, -1.264_241_1, 0.0];
        assert_same(&v(elu_alpha(&x, 2.0)), &elu2_want, &format!("elu alpha 2 {dev}"));
        let relu_want = [NAN, 1.0, -INF, 6.0, -0.15, -0.05];
        assert_same(&v(relu_ext(&x, Some(6.0), 0.1, 0.5)), &relu_want, &format!("relu_ext {dev}"));
        // Keras relu with a threshold and no slope selects 0 for NaN; with a slope it is NaN.
        let x5 = t(&[NAN, INF, -INF, 1.0, 0.2], &[5], &dev);
        let thr = v(relu_ext(&x5, None, 0.0, 0.5));
        assert_same(&thr, &[0.0, INF, 0.0, 1.0, 0.0], &format!("relu threshold 0.5 {dev}"));
        let thr6 = v(relu_ext(&x5, Some(6.0), 0.0, 0.5));
        assert_same(&thr6, &[0.0, 6.0, 0.0, 1.0, 0.0], &format!("relu threshold 0.5 max 6 {dev}"));
        let max6 = v(relu_ext(&x5, Some(6.0), 0.0, 0.0));
        assert_same(&max6, &[NAN, 6.0, 0.0, 1.0, 0.2], &format!("relu max 6 {dev}"));
        let slope = v(relu_ext(&x5, None, 0.1, 0.5));
        assert_same(&slope, &[NAN, INF, -INF, 1.0, -0.03], &format!("relu slope 0.1 threshold 0.5 {dev}"));
        let sig_want = [NAN, 0.731_058_6, 0.0, 1.0, 0.268_941_43, 0.5];
        assert_same(&v(sigmoid(&x)), &sig_want, &format!("sigmoid {dev}"));
    }
}

#[test]
fn division_follows_ieee_like_tf() {
    // tf.math.divide(1, x) and tf.math.divide(x, 0) on PROBE6.
    for dev in devices() {
        let x = t(&PROBE6, &[6], &dev);
        let one = t(&[1.0; 6], &[6], &dev);
        let zero = t(&[0.0; 6], &[6], &dev);
        assert_same(&v(div(&one, &x)), &[NAN, 1.0, -0.0, 0.0, -1.0, INF], &format!("1 / x {dev}"));
        assert_same(&v(div(&x, &zero)), &[NAN, INF, -INF, INF, -INF, NAN], &format!("x / 0 {dev}"));
        assert_same(&v(mul(&x, &zero)), &[NAN, 0.0, NAN, NAN, 0.0, 0.0], &format!("x * 0 {dev}"));
        assert_same(&v(add(&x, &neg(&x).unwrap())), &[NAN, 0.0, NAN, NAN, 0.0, 0.0], &format!("x - x {dev}"));
    }
}

#[test]
fn softmax_follows_tfs_reference_kernel() {
    // TF's Eigen softmax (and its float64 and GPU kernels, and log_softmax everywhere): a NaN,
    // or an inf that makes inf − inf, turns the whole row NaN; a −inf entry alone is a 0
    // (−inf in log space). TF's oneDNN float32 CPU fast path differs (it keeps 0 for the
    // finite entries of a NaN row); Tessera follows the reference kernel.
    let rows: [([f32; 2], [f32; 2], [f32; 2]); 6] = [
        ([1.0, NAN], [NAN, NAN], [NAN, NAN]),
        ([1.0, INF], [NAN, NAN], [NAN, NAN]),
        ([-INF, 0.0], [0.0, 1.0], [-INF, 0.0]),
        ([INF, INF], [NAN, NAN], [NAN, NAN]),
        ([-INF, -INF], [NAN, NAN], [NAN, NAN]),
        ([INF, -INF], [NAN, NAN], [NAN, NAN]),
    ];
    for dev in devices() {
        for (x, sm, lsm) in rows {
            for variant in [SoftmaxVariant::Rows, SoftmaxVariant::Workgroup, SoftmaxVariant::Subgroup] {
                let xt = t(&x, &[1, 2], &dev);
                let what = format!("softmax {x:?} {variant:?} {dev}");
                assert_same(&v(softmax_with(&xt, false, variant)), &sm, &what);
                assert_same(&v(softmax_with(&xt, true, variant)), &lsm, &format!("log_{what}"));
            }
        }
        // A long row (the workgroup path by shape) with one NaN, and a finite row beside it.
        let mut long = vec![0.0f32; 2 * 600];
        long[7] = NAN;
        let y = v(softmax(&t(&long, &[2, 600], &dev)));
        assert!(y[..600].iter().all(|v| v.is_nan()), "softmax long NaN row {dev}");
        assert_near(&y[600..], &[1.0 / 600.0; 600], &format!("softmax long finite row {dev}"));
        let ls = v(log_softmax(&t(&[0.0, -INF, 3e38, -3e38], &[1, 4], &dev)));
        assert_near(&ls, &[-3e38, -INF, 0.0, -INF], &format!("log_softmax huge {dev}"));
    }
}

#[test]
fn cross_entropies_follow_tf() {
    // Logit rows [1, nan, 0], [inf, 0, 0], [-inf, 0, 0], [1, 2, 3] with labels 0, 0, 0, 2.
    let logits = [1.0, NAN, 0.0, INF, 0.0, 0.0, -INF, 0.0, 0.0, 1.0, 2.0, 3.0];
    let hot = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0];
    let want = [NAN, NAN, INF, 0.407_605_95];
    for dev in devices() {
        let lg = t(&logits, &[4, 3], &dev);
        let d = format!("{dev}");
        assert_same(&v(softmax_cross_entropy_with_logits(&t(&hot, &[4, 3], &dev), &lg)), &want, &d);
        let ids = t(&[0.0, 0.0, 0.0, 2.0], &[4], &dev);
        assert_same(&v(sparse_softmax_cross_entropy_with_logits(&ids, &lg)), &want, &format!("sparse {d}"));
        // tf.nn.sigmoid_cross_entropy_with_logits.
        let z = t(&[1.0, 1.0, 1.0, 0.0, 0.0, 1.0], &[6], &dev);
        let x = t(&[NAN, INF, -INF, INF, -INF, 0.0], &[6], &dev);
        let sce = [NAN, NAN, INF, NAN, NAN, std::f32::consts::LN_2];
        assert_same(&v(sigmoid_cross_entropy_with_logits(&z, &x)), &sce, &format!("sigmoid xent {d}"));
        // Keras probability losses: the clip keeps ±inf finite where TF's does, NaN stays NaN.
        let bce = |a: f32, b: f32| v(binary_crossentropy(&t(&[a], &[1, 1], &dev), &t(&[b], &[1, 1], &dev), false))[0];
        let got = [bce(1.0, NAN), bce(1.0, INF), bce(1.0, -INF), bce(0.0, 1.0), bce(1.0, 0.0)];
        assert_near(&got, &[NAN, 1.192_092_9e-7, 16.118_095, 15.942_385, 16.118_095], &format!("bce {d}"));
        let probs = [0.5, NAN, 0.5, INF, 0.0, 0.0, 0.0, 0.0, 1.0, 0.2, 0.3, 0.5];
        let per_row = |i: usize, sparse: bool| {
            let p = t(&probs[3 * i..3 * i + 3], &[1, 3], &dev);
            match sparse {
                false => v(categorical_crossentropy(&t(&hot[3 * i..3 * i + 3], &[1, 3], &dev), &p, false))[0],
                true => v(sparse_categorical_crossentropy(&t(&[[0.0, 0.0, 0.0, 2.0][i]], &[1], &dev), &p, false))[0],
            }
        };
        let cce: Vec<f32> = (0..4).map(|i| per_row(i, false)).collect();
        assert_near(&cce, &[NAN, NAN, 16.118_095, std::f32::consts::LN_2], &format!("categorical_crossentropy {d}"));
        let scce: Vec<f32> = (0..4).map(|i| per_row(i, true)).collect();
        let scce_want = [NAN, 2.384_185_5e-7, 16.118_095, std::f32::consts::LN_2];
        assert_near(&scce, &scce_want, &format!("sparse_categorical_crossentropy {d}"));
        let mse = |a: f32, b: f32| v(mean_squared_error(&t(&[a], &[1, 1], &dev), &t(&[b], &[1, 1], &dev)))[0];
        assert_same(&[mse(1.0, NAN), mse(1.0, INF), mse(INF, INF)], &[NAN, INF, NAN], &format!("mse {d}"));
    }
}

#[test]
fn argmax_and_metrics_follow_tf() {
    // tf.math.argmax skips NaN (the first maximum of the numbers; 0 when there are none);
    // tf.math.in_top_k is false for a row with any non-finite score; Keras' accuracies follow.
    for dev in devices() {
        let x = t(&[1.0, NAN, 2.0, NAN, 1.0, 0.0, -INF, -INF, -INF, 1.0, INF, INF, NAN, NAN, NAN], &[5, 3], &dev);
        assert_same(&v(argmax(&x, 1)), &[2.0, 1.0, 0.0, 1.0, 0.0], &format!("argmax {dev}"));
        let p = t(&[NAN, 1.0, 2.0, 1.0, INF, 0.0, 2.0, NAN, 0.0, 1.0, NAN, 0.0, 3.0, 1.0, 2.0], &[5, 3], &dev);
        let ids = t(&[0.0, 1.0, 0.0, 1.0, 0.0], &[5], &dev);
        assert_same(&v(in_top_k(&ids, &p, 1)), &[0.0, 0.0, 0.0, 0.0, 1.0], &format!("in_top_k k=1 {dev}"));
        assert_same(&v(in_top_k(&ids, &p, 2)), &[0.0, 0.0, 0.0, 0.0, 1.0], &format!("in_top_k k=2 {dev}"));
        let q = t(&[NAN, 1.0, 2.0, 1.0, NAN, 0.0, 2.0, NAN, 0.0], &[3, 3], &dev);
        let hot = t(&[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0], &[3, 3], &dev);
        let acc = v(categorical_accuracy(&hot, &q))[0];
        assert_near(&[acc], &[1.0 / 3.0], &format!("categorical_accuracy {dev}"));
        let acc = v(accuracy(&t(&[0.0, 1.0, 0.0], &[3], &dev), &q))[0];
        assert_near(&[acc], &[1.0 / 3.0], &format!("accuracy {dev}"));
        assert_same(&v(top_k_categorical_accuracy(&hot, &q, 2)), &[0.0], &format!("top_k accuracy {dev}"));
        let b = v(binary_accuracy(&t(&[1.0, 0.0, 1.0], &[1, 3], &dev), &t(&[NAN, NAN, INF], &[1, 3], &dev), 0.5));
        assert_near(&b, &[2.0 / 3.0], &format!("binary_accuracy {dev}"));
    }
}

#[test]
fn average_pooling_propagates_nan_and_inf() {
    for dev in devices() {
        let p = |x: [f32; 4], o: &PoolOptions| v(avg_pool2d(&t(&x, &[1, 2, 2, 1], &dev), o));
        let two = PoolOptions::new(2);
        assert_same(&p([INF, -INF, 1.0, 1.0], &two), &[NAN], &format!("avg_pool2d inf - inf {dev}"));
        assert_same(&p([INF, 1.0, 1.0, 1.0], &two), &[INF], &format!("avg_pool2d inf {dev}"));
        let same = PoolOptions::new(2).strides(1).padding(Padding::Same);
        assert_same(&p([NAN, 1.0, 1.0, 1.0], &same), &[NAN, 1.0, 1.0, 1.0], &format!("avg_pool2d SAME {dev}"));
        let g = v(global_avg_pool2d(&t(&[1.0, NAN, 2.0, 3.0, INF, 1.0, 1.0, 1.0], &[2, 2, 2, 1], &dev)));
        assert_same(&g, &[NAN, INF], &format!("global_avg_pool2d {dev}"));
        let m = v(max_pool2d(&t(&[INF, NAN, 1.0, 1.0], &[1, 2, 2, 1], &dev), &two));
        assert_same(&m, &[INF], &format!("max_pool2d inf {dev}"));
    }
}

#[test]
fn normalizations_follow_keras() {
    for dev in devices() {
        // Keras LayerNormalization(epsilon=1e-3): a NaN or an inf turns its row NaN.
        let x = t(&[1.0, NAN, 2.0, 3.0, INF, 1.0, 1.0, 1.0, 1.0, 2.0, 3.0, 4.0], &[3, 4], &dev);
        let ln = v(layer_normalization(&x, None, None, &[1], 1e-3));
        let finite = [-1.341_104_3, -0.447_034_7, 0.447_034_8, 1.341_104_5];
        let want: Vec<f32> = [NAN; 8].into_iter().chain(finite).collect();
        assert_near(&ln, &want, &format!("layer_normalization {dev}"));
        // Keras GroupNormalization(groups=2) on [1, 1, 2, 4]: the NaN (or inf) group is NaN.
        for bad in [NAN, INF] {
            let gx = t(&[1.0, bad, 2.0, 3.0, 1.0, 2.0, 3.0, 4.0], &[1, 1, 2, 4], &dev);
            let gn = v(group_normalization(&gx, 2, None, None, 1e-3));
            let want = [NAN, NAN, -1.412_801_3, 0.0, NAN, NAN, 0.0, 1.412_801_7];
            assert_near(&gn, &want, &format!("group_normalization {bad} {dev}"));
        }
        // groups = channels (instance normalization): only the NaN channel is NaN.
        let ix = t(&[1.0, NAN, 2.0, 1.0, 3.0, 2.0, 4.0, 3.0], &[1, 2, 2, 2], &dev);
        let inst = v(group_normalization(&ix, 2, None, None, 1e-3));
        let want = [-1.341_104_3, NAN, -0.447_034_7, NAN, 0.447_034_8, NAN, 1.341_104_5, NAN];
        assert_near(&inst, &want, &format!("instance normalization {dev}"));
        // tf.nn.batch_normalization: elementwise, inf stays inf, an infinite variance gives 0.
        let bn = batch_normalization(
            &t(&[NAN, INF, 1.0, -INF], &[2, 2], &dev),
            &t(&[0.0, 1.0], &[2], &dev),
            &t(&[1.0, 1.0], &[2], &dev),
            None,
            None,
            1e-3,
        );
        assert_near(&v(bn), &[NAN, INF, 0.999_500_4, -INF], &format!("batch_normalization {dev}"));
        let bn = batch_normalization(
            &t(&[1.0, 2.0], &[1, 2], &dev),
            &t(&[0.0, INF], &[2], &dev),
            &t(&[INF, 1.0], &[2], &dev),
            None,
            None,
            1e-3,
        );
        assert_same(&v(bn), &[0.0, -INF], &format!("batch_normalization inf variance {dev}"));
        // tf.nn.moments and Keras BatchNormalization(training=True): the NaN channel is NaN.
        let bx = t(&[1.0, 5.0, NAN, 6.0, 2.0, INF, 3.0, 1.0], &[4, 2], &dev);
        let (m, var) = moments(&bx, &[0], false).unwrap();
        assert_same(&m.to_vec().unwrap(), &[NAN, INF], &format!("moments mean {dev}"));
        assert_same(&var.to_vec().unwrap(), &[NAN, NAN], &format!("moments variance {dev}"));
        let bx = t(&[1.0, 5.0, NAN, 6.0, 2.0, 7.0, 3.0, 1.0], &[4, 2], &dev);
        let (y, m, _) =
            batch_norm_training(&bx, &t(&[1.0, 1.0], &[2], &dev), &t(&[0.0, 0.0], &[2], &dev), 1e-3).unwrap();
        let want = [NAN, 0.109_753_85, NAN, 0.548_768_5, NAN, 0.987_783_2, NAN, -1.646_305];
        assert_near(&y.to_vec().unwrap(), &want, &format!("batch_norm_training {dev}"));
        assert_near(&m.to_vec().unwrap(), &[NAN, 4.75], &format!("batch_norm_training mean {dev}"));
    }
}

#[test]
fn resizing_follows_tf() {
    // tf.image.resize(bilinear) interpolates as top + (bottom − top)·lerp, so a NaN or an
    // inf poisons every output that touches it (even with weight 0, inf − inf = NaN); the
    // same size is a copy. Nearest-neighbour upsampling copies.
    for dev in devices() {
        let r = |x: &[f32], w: usize, ow: usize| v(resize_bilinear(&t(x, &[1, 1, w, 1], &dev), [1, ow]));
        let up = [NAN, NAN, NAN, 1.25, 1.75, 2.25, 2.75, 3.0];
        assert_same(&r(&[NAN, 1.0, 2.0, 3.0], 4, 8), &up, &format!("resize up NaN {dev}"));
        assert_same(&r(&[INF, 1.0, 2.0, 3.0], 4, 8), &up, &format!("resize up inf {dev}"));
        assert_same(&r(&[NAN, 1.0, 2.0, 3.0], 4, 2), &[NAN, 2.5], &format!("resize down {dev}"));
        assert_same(&r(&[1.0, INF], 2, 4), &[1.0, NAN, NAN, NAN], &format!("resize [1, inf] {dev}"));
        assert_same(&r(&[INF, INF], 2, 4), &[NAN; 4], &format!("resize [inf, inf] {dev}"));
        assert_same(&r(&[1.0, NAN, INF], 3, 3), &[1.0, NAN, INF], &format!("resize same size {dev}"));
        let x2 = t(&[INF, 1.0, 1.0, 1.0], &[1, 2, 2, 1], &dev);
        let want = [NAN, NAN, NAN, 1.0, NAN, NAN, NAN, 1.0, NAN, NAN, NAN, 1.0, 1.0, 1.0, 1.0, 1.0];
        assert_same(&v(resize_bilinear(&x2, [4, 4])), &want, &format!("resize 2d {dev}"));
        let n = v(upsample_nearest2d(&t(&[NAN, INF], &[1, 1, 2, 1], &dev), [1, 2]));
        assert_same(&n, &[NAN, NAN, INF, INF], &format!("upsample_nearest2d {dev}"));
    }
}

#[test]
fn convolutions_and_matmul_multiply_through() {
    // tf.nn.conv2d / depthwise_conv2d SAME on [inf, 1, 1, 1] with the filter [0, 1, 0]: the
    // zero padding adds nothing, but inf · 0 inside the image is NaN. tf.matmul: inf · 0 = NaN.
    for dev in devices() {
        let x = t(&[INF, 1.0, 1.0, 1.0], &[1, 1, 4, 1], &dev);
        let f = t(&[0.0, 1.0, 0.0], &[1, 3, 1, 1], &dev);
        let same = Conv2dOptions::default().padding(Padding::Same);
        assert_same(&v(conv2d(&x, &f, &same)), &[INF, NAN, 1.0, 1.0], &format!("conv2d {dev}"));
        assert_same(&v(depthwise_conv2d(&x, &f, &same)), &[INF, NAN, 1.0, 1.0], &format!("depthwise {dev}"));
        let f = t(&[1.0, 0.0, 0.0], &[1, 3, 1, 1], &dev);
        assert_same(&v(conv2d(&x, &f, &same)), &[NAN, INF, 1.0, 1.0], &format!("conv2d shifted {dev}"));
        // Four channels, each the same row: every GPU variant (the vec4 register-blocked one
        // included) and the grouped kernel (2 groups) must select 0 for the padding.
        // Only channel 0 of the first pixel is inf: any filter zero it meets makes NaN, so the
        // last two pixels (whose right tap is padding) stay 1 only when the padding is skipped.
        let mut xv = vec![1.0f32; 16];
        xv[0] = INF;
        let x4 = t(&xv, &[1, 1, 4, 4], &dev);
        let ones = [1.0; 8];
        let want4: Vec<f32> = [INF, NAN, NAN, NAN, NAN, NAN, NAN, NAN].into_iter().chain(ones).collect();
        let want_g: Vec<f32> = [INF, NAN, 1.0, 1.0, NAN, NAN, 1.0, 1.0].into_iter().chain(ones).collect();
        let eye = |cin: usize, hit: &dyn Fn(usize, usize) -> bool| -> Vec<f32> {
            let mut f = vec![0.0f32; 3 * cin * 4];
            for ci in 0..cin {
                for co in 0..4 {
                    f[(cin + ci) * 4 + co] = if hit(ci, co) { 1.0 } else { 0.0 };
                }
            }
            f
        };
        let f4 = t(&eye(4, &|ci, co| ci == co), &[1, 3, 4, 4], &dev);
        for variant in Conv2dVariant::ALL {
            let y = v(conv2d_variant(&x4, &f4, None, &same, variant));
            assert_same(&y, &want4, &format!("conv2d {variant:?} {dev}"));
        }
        let fg = t(&eye(2, &|ci, co| ci == co % 2), &[1, 3, 2, 4], &dev);
        assert_same(&v(conv2d(&x4, &fg, &same)), &want_g, &format!("grouped conv2d {dev}"));
        let m = v(matmul(&t(&[INF, 1.0], &[1, 2], &dev), &t(&[0.0, 1.0], &[2, 1], &dev)));
        assert_same(&m, &[NAN], &format!("matmul {dev}"));
    }
}

#[test]
fn data_movement_keeps_nan_and_inf_bits() {
    // Pad (zeros), crop, concat, slice, transpose and channel_shuffle move values untouched.
    for dev in devices() {
        let x = t(&[NAN, INF, -INF, 1.0], &[1, 2, 2, 1], &dev);
        let p = v(pad2d(&x, [[1, 0], [0, 0]]));
        assert_same(&p, &[0.0, 0.0, NAN, INF, -INF, 1.0], &format!("pad2d {dev}"));
        assert_same(&v(crop2d(&x, [[1, 0], [0, 1]])), &[-INF], &format!("crop2d {dev}"));
        assert_same(&v(concat(&[&x, &x], 3)), &[NAN, NAN, INF, INF, -INF, -INF, 1.0, 1.0], &format!("concat {dev}"));
        assert_same(&v(slice(&x, 2, 1, 1)), &[INF, 1.0], &format!("slice {dev}"));
        let tt = v(transpose2d(&t(&[NAN, INF, -INF, 1.0], &[1, 2, 2], &dev)));
        assert_same(&tt, &[NAN, -INF, INF, 1.0], &format!("transpose2d {dev}"));
        let cs = v(channel_shuffle(&t(&[NAN, INF, -INF, 1.0], &[1, 1, 1, 4], &dev), 2));
        assert_same(&cs, &[NAN, -INF, INF, 1.0], &format!("channel_shuffle {dev}"));
    }
}

#[test]
fn dropout_zeroes_dropped_nan_like_tf() {
    // tf.nn.dropout selects 0 for a dropped element (NaN · 0 would be NaN) and scales the rest.
    for dev in devices() {
        let y = v(dropout(&t(&[NAN; 64], &[64], &dev), 0.5, 7));
        let zeros = y.iter().filter(|v| **v == 0.0).count();
        assert!(y.iter().all(|v| v.is_nan() || *v == 0.0), "dropout NaN {dev}: {y:?}");
        assert!(zeros > 8 && zeros < 56, "dropout NaN {dev}: {zeros} of 64 dropped");
        let y = v(dropout(&t(&[INF; 64], &[64], &dev), 0.5, 7));
        assert!(y.iter().all(|v| *v == INF || *v == 0.0), "dropout inf {dev}: {y:?}");
    }
}
