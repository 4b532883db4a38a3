//! GPU-vs-CPU parity, hand-checked values, Keras parameter counts and variable names, and
//! errors for the group-normalization family (layer, group and instance normalization), the
//! batched transpose, and BatchNormalization's axis / center / scale options.

mod common;
use common::*;
use tessera::nn::layers::{BatchNormalization, GroupNormalization, InstanceNormalization, LayerNormalization};
use tessera::prelude::*;

/// A normalization op under test: x, gamma, beta → y.
type NormFn<'a> = &'a dyn Fn(&Tensor, Option<&Tensor>, Option<&Tensor>) -> Result<Tensor>;

/// Parameter shapes, random gamma (around 1) and beta on both devices.
fn params(shape: &[usize], seed: u64) -> [(Tensor, Tensor); 2] {
    let (gc, gg) = pair(shape, seed);
    let shift = |t: Tensor| affine(&t, 0.5, 1.0).unwrap();
    let (bc, bg) = pair(shape, seed + 1);
    [(shift(gc), shift(gg)), (bc, bg)]
}

/// Forward outputs and the gradients of x, gamma and beta (weighted sum upstream) on the GPU
/// equal the CPU's, for every combination of gamma and beta present or absent.
fn check_norm(what: &str, shape: &[usize], pshape: &[usize], seed: u64, f: NormFn) {
    let (xc, xg) = pair(shape, seed);
    let [(gc, gg), (bc, bg)] = params(pshape, seed + 10);
    for (use_g, use_b) in [(true, true), (false, false), (true, false), (false, true)] {
        let what = format!("{what} gamma={use_g} beta={use_b}");
        let run = |x: &Tensor, g: &Tensor, b: &Tensor| {
            let (x, g, b) = (x.clone().variable(), g.clone().variable(), b.clone().variable());
            let y = f(&x, use_g.then_some(&g), use_b.then_some(&b)).unwrap();
            let grads = weighted_sum(&y).unwrap().backward().unwrap();
            let grad = |t: &Tensor| grads.get(t).map(|t| t.to_vec().unwrap());
            (y, [grad(&x), grad(&g), grad(&b)])
        };
        let (want, want_grads) = run(&xc, &gc, &bc);
        let (got, got_grads) = run(&xg, &gg, &bg);
        assert_close(&got, &want, RTOL, &what);
        for (i, (g, w)) in got_grads.iter().zip(&want_grads).enumerate() {
            assert_eq!(g.is_some(), w.is_some(), "{what}: gradient {i} presence");
            if let (Some(g), Some(w)) = (g, w) {
                assert_close_vec(g, w, RTOL, &format!("{what}: gradient of input {i}"));
            }
        }
    }
}

#[test]
fn group_normalization_matches_cpu_for_every_group_count() {
    // (shape, groups): odd sizes, batch > 1, non-square, groups 1 / g / channels, groups with
    // more than 64 elements (strided workgroup loops), many rows (chunked parameter sums).
    let cases: [(&[usize], usize); 8] = [
        (&[2, 5, 7, 6], 1),
        (&[2, 5, 7, 6], 2),
        (&[2, 5, 7, 6], 3),
        (&[2, 5, 7, 6], 6),
        (&[3, 3, 5, 9], 3),
        (&[1, 1, 1, 4], 2),
        (&[4, 9, 11, 32], 8),
        (&[2, 13, 12], 4),
    ];
    for (i, (shape, groups)) in cases.into_iter().enumerate() {
        let c = [*shape.last().unwrap()];
        check_norm(
            &format!("group_normalization {shape:?} groups={groups}"),
            shape,
            &c,
            400 + 20 * i as u64,
            &|x, g, b| group_normalization(x, groups, g, b, 1e-3),
        );
    }
}

#[test]
fn layer_normalization_matches_cpu_for_adjacent_axes() {
    let cases: [(&[usize], &[usize]); 10] = [
        (&[2, 5, 7, 6], &[3]),
        (&[2, 5, 7, 6], &[1, 2]),
        (&[2, 5, 7, 6], &[1]),
        (&[3, 4, 5, 3], &[2]),
        (&[2, 5, 7, 6], &[1, 2, 3]),
        (&[3, 4, 5, 3], &[2, 3]),
        (&[3, 4, 5, 3], &[3, 2]),
        (&[5, 9], &[1]),
        (&[3, 130], &[1]),
        (&[2, 3, 7], &[0, 1, 2]),
    ];
    for (i, (shape, axes)) in cases.into_iter().enumerate() {
        let first = *axes.iter().min().unwrap();
        check_norm(
            &format!("layer_normalization {shape:?} axes={axes:?}"),
            shape,
            &shape[first..first + axes.len()],
            600 + 20 * i as u64,
            &|x, g, b| layer_normalization(x, g, b, axes, 1e-3),
        );
    }
}

#[test]
fn layer_normalization_by_hand() {
    // mean 2.5, biased variance 1.25 per row; y = (x − 2.5)/√(1.25 + ε) · gamma + beta.
    let x = [1.0, 2.0, 3.0, 4.0, 4.0, 3.0, 2.0, 1.0];
    let (gamma, beta) = ([1.0, 2.0, 0.5, -1.0], [0.0, 1.0, 0.0, 2.0]);
    let sd = (1.25f32 + 1e-3).sqrt();
    let want: Vec<f32> = x.iter().enumerate().map(|(i, v)| (v - 2.5) / sd * gamma[i % 4] + beta[i % 4]).collect();
    for dev in [Device::Cpu, gpu()] {
        let t = |v: &[f32], s: &[usize]| Tensor::from_slice(v, s, &dev).unwrap();
        let y =
            layer_normalization(&t(&x, &[2, 4]), Some(&t(&gamma, &[4])), Some(&t(&beta, &[4])), &[1], 1e-3).unwrap();
        assert_close_vec(&y.to_vec().unwrap(), &want, 1e-6, &format!("{dev}"));
    }
}

#[test]
fn group_norm_special_cases_equal_layer_norm_and_per_channel_moments() {
    let (shape, eps) = ([3, 4, 5, 6], 1e-3);
    for dev in [Device::Cpu, gpu()] {
        let x = Tensor::randn(&shape, 1.0, 2.0, 41, &dev).unwrap();
        // groups = 1 is layer normalization over [1, 2, 3].
        let g1 = group_normalization(&x, 1, None, None, eps).unwrap();
        assert_close(&g1, &layer_normalization(&x, None, None, &[1, 2, 3], eps).unwrap(), 1e-5, "groups=1");
        // groups = channels normalizes each (example, channel) with its own moments.
        let inst = group_normalization(&x, 6, None, None, eps).unwrap();
        let (m, v) = moments(&x, &[1, 2], true).unwrap();
        let want = div(&sub(&x, &m).unwrap(), &sqrt(&affine(&v, 1.0, eps).unwrap()).unwrap()).unwrap();
        assert_close(&inst, &want, 1e-5, &format!("instance on {dev}"));
    }
}

#[test]
fn normalization_ops_reject_bad_input_naming_the_shapes() {
    let dev = gpu();
    let x = Tensor::zeros(&[2, 4, 5, 6], &dev).unwrap();
    let p6 = Tensor::ones(&[6], &dev).unwrap();
    let p5 = Tensor::ones(&[5], &dev).unwrap();
    let errors = [
        (group_normalization(&x, 4, None, None, 1e-3).unwrap_err(), "4 groups"),
        (group_normalization(&x, 0, None, None, 1e-3).unwrap_err(), "0 groups"),
        (group_normalization(&x, 3, Some(&p5), None, 1e-3).unwrap_err(), "[5]"),
        (group_normalization(&x, 3, None, Some(&p5), 1e-3).unwrap_err(), "beta"),
        (group_normalization(&p6, 3, None, None, 1e-3).unwrap_err(), "[6]"),
        (layer_normalization(&x, None, None, &[1, 3], 1e-3).unwrap_err(), "adjacent"),
        (layer_normalization(&x, None, None, &[2, 3, 3], 1e-3).unwrap_err(), "[2, 4, 5, 6]"),
        (layer_normalization(&x, None, None, &[], 1e-3).unwrap_err(), "[]"),
        (layer_normalization(&x, Some(&p5), None, &[3], 1e-3).unwrap_err(), "gamma shape [5]"),
        (layer_normalization(&x, Some(&p6), None, &[2, 3], 1e-3).unwrap_err(), "[5, 6]"),
        (transpose2d(&x).unwrap_err(), "[2, 4, 5, 6]"),
    ];
    for (e, needle) in errors {
        assert!(matches!(e, Error::Shape { .. }), "{e}");
        assert!(e.to_string().contains(needle), "{needle}: {e}");
    }
    let cpu_p = Tensor::ones(&[6], &Device::Cpu).unwrap();
    assert!(matches!(group_normalization(&x, 3, Some(&cpu_p), None, 1e-3), Err(Error::DeviceMismatch { .. })));
}

#[test]
fn transpose2d_matches_cpu_and_its_definition() {
    for (i, shape) in [[2, 3, 5], [1, 7, 1], [3, 17, 33]].iter().enumerate() {
        let (xc, xg) = pair(shape, 700 + i as u64);
        let want = transpose2d(&xc).unwrap();
        assert_eq!(want.shape(), &[shape[0], shape[2], shape[1]]);
        assert_close(&transpose2d(&xg).unwrap(), &want, 0.0, &format!("transpose2d {shape:?}"));
        let (x, y) = (xc.to_vec().unwrap(), want.to_vec().unwrap());
        let [b, r, c] = *shape;
        for (bi, ri, ci) in [(0, 0, 0), (b - 1, r - 1, c - 1), (b / 2, r / 2, c - 1)] {
            assert_eq!(y[(bi * c + ci) * r + ri], x[(bi * r + ri) * c + ci], "{shape:?} at {bi},{ri},{ci}");
        }
    }
}

/// Builds `layer` for `input` on `dev` (seed 0) as a one-layer Sequential.
fn built(layer: impl Layer + 'static, input: &[usize], dev: &Device) -> Sequential {
    let mut m = Sequential::new().with(layer);
    m.build(input, dev, 0).unwrap();
    m
}

/// Variable (name, shape, trainable) triples of a built model.
fn vars(m: &Sequential) -> Vec<(String, Vec<usize>, bool)> {
    m.variables().iter().map(|v| (v.name().to_string(), v.shape(), v.trainable())).collect()
}

/// Asserts a layer built on (None, 8, 8, 6) has Keras's parameter count and variables
/// (name, shape, trainable), in Keras's order.
fn assert_keras_vars(layer: impl Layer + 'static, count: usize, want: &[(&str, &[usize], bool)]) {
    let kind = layer.kind();
    let m = built(layer, &[8, 8, 6], &Device::Cpu);
    assert_eq!(m.count_params(), count, "{kind}");
    let want: Vec<(String, Vec<usize>, bool)> = want.iter().map(|(n, s, t)| (n.to_string(), s.to_vec(), *t)).collect();
    assert_eq!(vars(&m), want, "{kind}");
}

#[test]
fn normalization_layers_have_keras_variables_and_parameter_counts() {
    // Keras 3 (TF 2.21) on inputs (None, 8, 8, 6) gives these counts and variable paths.
    assert_keras_vars(
        LayerNormalization::new(),
        12,
        &[("layer_normalization/gamma", &[6], true), ("layer_normalization/beta", &[6], true)],
    );
    assert_keras_vars(
        LayerNormalization::new().axis([1, 2, 3]),
        768,
        &[("layer_normalization/gamma", &[8, 8, 6], true), ("layer_normalization/beta", &[8, 8, 6], true)],
    );
    assert_keras_vars(
        LayerNormalization::new().axis([-3, -2, -1]),
        768,
        &[("layer_normalization/gamma", &[8, 8, 6], true), ("layer_normalization/beta", &[8, 8, 6], true)],
    );
    assert_keras_vars(
        LayerNormalization::new().axis([1, 2]),
        128,
        &[("layer_normalization/gamma", &[8, 8], true), ("layer_normalization/beta", &[8, 8], true)],
    );
    assert_keras_vars(LayerNormalization::new().scale(false), 6, &[("layer_normalization/beta", &[6], true)]);
    assert_keras_vars(
        GroupNormalization::new(3),
        12,
        &[("group_normalization/gamma", &[6], true), ("group_normalization/beta", &[6], true)],
    );
    assert_keras_vars(GroupNormalization::new(6).center(false), 6, &[("group_normalization/gamma", &[6], true)]);
    assert_keras_vars(
        InstanceNormalization::new(),
        12,
        &[("instance_normalization/gamma", &[6], true), ("instance_normalization/beta", &[6], true)],
    );
    assert_keras_vars(
        BatchNormalization::new().axis(1),
        32,
        &[
            ("batch_normalization/gamma", &[8], true),
            ("batch_normalization/beta", &[8], true),
            ("batch_normalization/moving_mean", &[8], false),
            ("batch_normalization/moving_variance", &[8], false),
        ],
    );
    assert_keras_vars(
        BatchNormalization::new().center(false),
        18,
        &[
            ("batch_normalization/gamma", &[6], true),
            ("batch_normalization/moving_mean", &[6], false),
            ("batch_normalization/moving_variance", &[6], false),
        ],
    );
    assert_keras_vars(
        BatchNormalization::new().center(false).scale(false),
        12,
        &[("batch_normalization/moving_mean", &[6], false), ("batch_normalization/moving_variance", &[6], false)],
    );
}

#[test]
fn normalization_layer_defaults_and_kinds_follow_keras() {
    let m = built(GroupNormalization::default(), &[4, 4, 64], &Device::Cpu);
    assert!(m.summary().contains("group_normalization (GroupNormalization)"), "{}", m.summary());
    let m = built(InstanceNormalization::new(), &[4, 4, 5], &Device::Cpu);
    assert!(m.summary().contains("instance_normalization (InstanceNormalization)"), "{}", m.summary());
    // Keras's default GroupNormalization has 32 groups: 64 channels split, 6 do not.
    let mut m = Sequential::new().with(GroupNormalization::default());
    let e = m.build(&[4, 4, 6], &Device::Cpu, 0).unwrap_err().to_string();
    assert!(e.contains("6 channels") && e.contains("32 groups") && e.contains("(None, 4, 4, 6)"), "{e}");
    // Epsilon defaults to 1e-3: rows [0, 2] have mean 1 and variance 1, so y = ±1/√(1 + ε).
    let dev = Device::Cpu;
    let x = Tensor::from_slice(&[0.0, 2.0, 0.0, 2.0], &[1, 2, 2], &dev).unwrap();
    let m = built(LayerNormalization::new(), &[2, 2], &dev);
    let want = 1.0 / (1.0f32 + 1e-3).sqrt();
    assert_close_vec(&m.call(&x, false).unwrap().to_vec().unwrap(), &[-want, want, -want, want], 1e-6, "LN eps");
    let m = built(BatchNormalization::new().axis(1), &[2, 2], &dev);
    // Axis 1 (rows): each row [0, 2] has mean 1, variance 1 over (batch, columns).
    assert_close_vec(&m.call(&x, true).unwrap().to_vec().unwrap(), &[-want, want, -want, want], 1e-6, "BN axis 1");
}

#[test]
fn normalization_layers_reject_bad_configurations() {
    let cases: Vec<(Sequential, &str)> = vec![
        (Sequential::new().with(GroupNormalization::new(4)), "4 groups"),
        (Sequential::new().with(GroupNormalization::new(12)), "12 groups"),
        (Sequential::new().with(LayerNormalization::new().axis([1, 3])), "adjacent"),
        (Sequential::new().with(LayerNormalization::new().axis([0])), "batch axis"),
        (Sequential::new().with(LayerNormalization::new().axis([4])), "axis 4"),
        (Sequential::new().with(LayerNormalization::new().axis([3, -1])), "adjacent"),
        (Sequential::new().with(BatchNormalization::new().axis(0)), "batch axis"),
        (Sequential::new().with(BatchNormalization::new().axis(-5)), "axis -5"),
    ];
    for (mut m, needle) in cases {
        let e = m.build(&[8, 8, 6], &Device::Cpu, 0).unwrap_err();
        assert!(matches!(e, Error::Shape { .. }), "{e}");
        assert!(e.to_string().contains(needle) && e.to_string().contains("(None, 8, 8, 6)"), "{needle}: {e}");
    }
    let m = built(BatchNormalization::new().axis(1), &[8, 8, 6], &Device::Cpu);
    let e = m.call(&Tensor::zeros(&[2, 8, 6], &Device::Cpu).unwrap(), true).unwrap_err();
    assert!(e.to_string().contains("[2, 8, 6]"), "{e}");
}

/// One normalization layer's forward (training and inference) and gradients, GPU vs CPU.
fn check_layer_parity(what: &str, make: impl Fn() -> Sequential, input: &[usize], seed: u64) {
    let mut shape = vec![3];
    shape.extend_from_slice(input);
    let (xc, xg) = pair(&shape, seed);
    let run = |x: &Tensor, dev: &Device| {
        let mut m = make();
        m.build(input, dev, seed).unwrap();
        // Random non-trivial gamma / beta, the same on both devices.
        for (i, v) in m.trainable_variables().iter().enumerate() {
            let vals = rand_vec(v.numel(), seed + 50 + i as u64);
            v.assign(Tensor::from_vec(vals, &v.shape(), dev).unwrap()).unwrap();
        }
        let x = x.clone().variable();
        let y = m.call(&x, true).unwrap();
        let grads = weighted_sum(&y).unwrap().backward().unwrap();
        let mut outs = vec![y.to_vec().unwrap(), grads.get(&x).unwrap().to_vec().unwrap()];
        for v in m.trainable_variables() {
            outs.push(grads.get(&v.value()).unwrap().to_vec().unwrap());
        }
        outs.push(m.call(&x, false).unwrap().to_vec().unwrap());
        outs.extend(m.variables().iter().filter(|v| !v.trainable()).map(|v| v.value().to_vec().unwrap()));
        outs
    };
    let (want, got) = (run(&xc, &Device::Cpu), run(&xg, &gpu()));
    assert_eq!(want.len(), got.len(), "{what}");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_close_vec(g, w, RTOL, &format!("{what}: output {i}"));
    }
}

#[test]
fn normalization_layers_match_cpu_for_every_option() {
    let input = [5, 7, 6];
    for (i, (center, scale)) in [(true, true), (false, true), (true, false), (false, false)].into_iter().enumerate() {
        let s = 800 + 10 * i as u64;
        for axis in [-1, 1, 2] {
            check_layer_parity(
                &format!("BatchNormalization axis={axis} center={center} scale={scale}"),
                || Sequential::new().with(BatchNormalization::new().axis(axis).center(center).scale(scale)),
                &input,
                s,
            );
        }
        check_layer_parity(
            &format!("LayerNormalization [1,2,3] {center} {scale}"),
            || Sequential::new().with(LayerNormalization::new().axis([1, 2, 3]).center(center).scale(scale)),
            &input,
            s + 1,
        );
        check_layer_parity(
            &format!("LayerNormalization [1,2] {center} {scale}"),
            || Sequential::new().with(LayerNormalization::new().axis([1, 2]).center(center).scale(scale)),
            &input,
            s + 4,
        );
        check_layer_parity(
            &format!("GroupNormalization(3) {center} {scale}"),
            || Sequential::new().with(GroupNormalization::new(3).center(center).scale(scale)),
            &input,
            s + 2,
        );
        check_layer_parity(
            &format!("InstanceNormalization {center} {scale}"),
            || Sequential::new().with(InstanceNormalization::new().center(center).scale(scale)),
            &input,
            s + 3,
        );
    }
}

#[test]
fn many_groups_spill_the_workgroup_grid_into_y() {
    // 66000 (example, group) pairs: more workgroups than one grid dimension holds (65535).
    check_norm("layer_normalization [66000, 3]", &[66000, 3], &[3], 1000, &|x, g, b| {
        layer_normalization(x, g, b, &[1], 1e-3)
    });
}

#[test]
fn empty_inputs_give_empty_outputs() {
    for dev in [Device::Cpu, gpu()] {
        let x = Tensor::zeros(&[0, 4, 6], &dev).unwrap();
        assert_eq!(group_normalization(&x, 3, None, None, 1e-3).unwrap().shape(), &[0, 4, 6], "{dev}");
        assert_eq!(layer_normalization(&x, None, None, &[1, 2], 1e-3).unwrap().shape(), &[0, 4, 6], "{dev}");
        assert_eq!(transpose2d(&x).unwrap().shape(), &[0, 6, 4], "{dev}");
    }
}
