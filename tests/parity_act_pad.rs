//! GPU-vs-CPU parity, TensorFlow-checked kink values, NaN propagation and errors for the
//! activations (relu6, leaky_relu, elu, Keras's general relu) and spatial pad/crop, and the
//! layers built on them (ReLU options, LeakyReLU, ELU, ZeroPadding2D, Cropping2D, Reshape).

mod common;
use common::*;
use tessera::nn::layers::{self, BuildCtx, Layer};
use tessera::nn::models::Sequential;
use tessera::nn::random::Rng;
use tessera::prelude::*;

type Act = Box<dyn Fn(&Tensor) -> Result<Tensor>>;

/// Every activation and option under test, by name.
fn activations() -> Vec<(String, Act)> {
    let mut v: Vec<(String, Act)> = vec![
        ("relu6".into(), Box::new(relu6)),
        ("leaky_relu 0.2".into(), Box::new(|x| leaky_relu(x, 0.2))),
        ("leaky_relu 1.5".into(), Box::new(|x| leaky_relu(x, 1.5))),
        ("elu".into(), Box::new(elu)),
        ("elu 0.5".into(), Box::new(|x| elu_alpha(x, 0.5))),
        ("elu 2".into(), Box::new(|x| elu_alpha(x, 2.0))),
    ];
    for max in [None, Some(6.0), Some(3.5), Some(0.0)] {
        for slope in [0.0, 0.1, 1.5] {
            for t in [0.0, 1.0, -1.0] {
                let f = move |x: &Tensor| relu_ext(x, max, slope, t);
                v.push((format!("relu_ext max={max:?} slope={slope} threshold={t}"), Box::new(f)));
            }
        }
    }
    v
}

/// Normal values scaled by 4, with exact kinks (0, ±1, 3.5, 6) and tiny values mixed in.
fn act_input(shape: &[usize], seed: u64) -> Vec<f32> {
    let kinks = [0.0, 1.0, -1.0, 3.5, 6.0, -0.0, 1e-3, -1e-3, -1e-6];
    let mut v: Vec<f32> = rand_vec(shape.iter().product(), seed).iter().map(|x| x * 4.0).collect();
    for (i, k) in kinks.iter().enumerate() {
        if let Some(e) = v.get_mut(i * 7) {
            *e = *k;
        }
    }
    v
}

#[test]
fn activations_match_cpu_for_every_option() {
    let shapes: [&[usize]; 4] = [&[2, 7, 9, 3], &[3, 5, 11, 1], &[1, 8, 8, 8], &[1031]];
    for (si, shape) in shapes.iter().enumerate() {
        let v = act_input(shape, 30 + si as u64);
        let xc = Tensor::from_slice(&v, shape, &Device::Cpu).unwrap();
        let xg = Tensor::from_slice(&v, shape, &gpu()).unwrap();
        for (name, f) in activations() {
            assert_close(&f(&xg).unwrap(), &f(&xc).unwrap(), RTOL, &format!("{name} {shape:?}"));
        }
    }
}

#[test]
fn activation_gradients_match_cpu_at_kinks_too() {
    // The backward kernels on the same kink-laden input: GPU gradients equal the CPU's.
    let shape = [2, 5, 7, 3];
    let v = act_input(&shape, 40);
    let r = Tensor::from_vec(rand_vec(v.len(), 41), &shape, &Device::Cpu).unwrap();
    for (name, f) in activations() {
        let grads: Vec<Vec<f32>> = [Device::Cpu, gpu()]
            .iter()
            .map(|dev| {
                let x = Tensor::from_slice(&v, &shape, dev).unwrap().variable();
                let loss = reduce_sum(&mul(&f(&x).unwrap(), &r.to_device(dev).unwrap()).unwrap(), None, false).unwrap();
                loss.backward().unwrap().get(&x).unwrap().to_vec().unwrap()
            })
            .collect();
        assert_close_vec(&grads[1], &grads[0], RTOL, &name);
    }
}

/// Values and gradients at `x` on `dev` (gradient of the sum).
fn value_and_grad(f: impl Fn(&Tensor) -> Result<Tensor>, x: &[f32], dev: &Device) -> (Vec<f32>, Vec<f32>) {
    let t = Tensor::from_slice(x, &[x.len()], dev).unwrap().variable();
    let y = f(&t).unwrap();
    let g = reduce_sum(&y, None, false).unwrap().backward().unwrap().get(&t).unwrap().to_vec().unwrap();
    (y.to_vec().unwrap(), g)
}

#[test]
fn kinks_follow_tensorflow() {
    // Values and gradients read from TensorFlow 2.21 / Keras 3 (tf.GradientTape).
    let x = [-1.0, 0.0, 3.0, 6.0, 7.0];
    type Case = (&'static str, fn(&Tensor) -> Result<Tensor>, [f32; 5], [f32; 5]);
    let cases: [Case; 5] = [
        ("relu6", relu6, [0., 0., 3., 6., 6.], [0., 0., 1., 0., 0.]),
        ("leaky_relu", |x| leaky_relu(x, 0.2), [-0.2, 0., 3., 6., 7.], [0.2, 0.2, 1., 1., 1.]),
        (
            "elu 0.5",
            |x| elu_alpha(x, 0.5),
            [-0.5 * 0.632_120_56, 0., 3., 6., 7.],
            [0.5 * 0.367_879_44, 0.5, 1., 1., 1.],
        ),
        // Keras relu(max_value=6, threshold=3): 0 at the threshold, gradient 1 at the maximum
        ("relu max 6 t 3", |x| relu_ext(x, Some(6.0), 0.0, 3.0), [0., 0., 0., 6., 6.], [0., 0., 0., 1., 0.]),
        // Keras relu(negative_slope=0.1, max_value=6): relu6 then the slope; gradient 0 at 0
        ("relu max 6 slope", |x| relu_ext(x, Some(6.0), 0.1, 0.0), [-0.1, 0., 3., 6., 6.], [0.1, 0., 1., 0., 0.]),
    ];
    for dev in [Device::Cpu, gpu()] {
        for (name, f, want_y, want_g) in cases {
            let (y, g) = value_and_grad(f, &x, &dev);
            assert_close_vec(&y, &want_y, 1e-6, &format!("{name} value on {dev}"));
            assert_close_vec(&g, &want_g, 1e-6, &format!("{name} gradient on {dev}"));
        }
    }
}

#[test]
fn nan_propagates_through_every_new_activation() {
    let x = [f32::NAN, -2.0, f32::NAN, 2.0];
    for dev in [Device::Cpu, gpu()] {
        for (name, f) in activations() {
            let y = f(&Tensor::from_slice(&x, &[4], &dev).unwrap()).unwrap().to_vec().unwrap();
            // As Keras: a nonzero threshold without a slope selects 0 for NaN
            // (`where(x > threshold, x, 0)`); everything else propagates it.
            if name.contains("slope=0 ") && !name.ends_with("threshold=0") {
                assert!(y[0] == 0.0 && y[2] == 0.0, "{name} on {dev}: {y:?}");
            } else {
                assert!(y[0].is_nan() && y[2].is_nan(), "{name} on {dev}: {y:?}");
            }
            assert!(!y[1].is_nan() && !y[3].is_nan(), "{name} on {dev}: {y:?}");
        }
    }
}

#[test]
fn elu_is_accurate_near_zero() {
    // expm1, not exp(x) - 1: tiny negative inputs keep their relative precision.
    let x = [-1e-4f32, -3e-6, -0.3, -0.49, -0.51];
    let want: Vec<f32> = x.iter().map(|v| (*v as f64).exp_m1() as f32).collect();
    for dev in [Device::Cpu, gpu()] {
        let y = elu(&Tensor::from_slice(&x, &[5], &dev).unwrap()).unwrap().to_vec().unwrap();
        for (g, w) in y.iter().zip(&want) {
            assert!((g - w).abs() <= 2e-6 * w.abs(), "{dev}: elu {g} vs expm1 {w}");
        }
    }
}

/// (input shape, pads, crops): odd sizes, batch > 1, non-square, zero and asymmetric sides,
/// crops down to one row or column.
type PadCase = ([usize; 4], [[usize; 2]; 2], [[usize; 2]; 2]);
const PAD_CASES: [PadCase; 6] = [
    ([2, 5, 6, 3], [[1, 2], [3, 0]], [[1, 2], [3, 0]]),
    ([3, 7, 4, 1], [[0, 0], [2, 2]], [[0, 6], [1, 2]]),
    ([1, 1, 1, 5], [[2, 1], [1, 3]], [[0, 0], [0, 0]]),
    ([2, 6, 9, 8], [[1, 1], [1, 1]], [[2, 3], [4, 0]]),
    ([2, 5, 6, 3], [[0, 0], [0, 0]], [[1, 1], [1, 1]]),
    ([4, 3, 8, 2], [[2, 0], [0, 5]], [[0, 1], [0, 5]]),
];

#[test]
fn pad_and_crop_match_cpu() {
    for (i, (shape, p, crop)) in PAD_CASES.iter().enumerate() {
        let (xc, xg) = pair(shape, 50 + i as u64);
        assert_close(&pad2d(&xg, *p).unwrap(), &pad2d(&xc, *p).unwrap(), RTOL, &format!("pad2d {shape:?} {p:?}"));
        let what = format!("crop2d {shape:?} {crop:?}");
        assert_close(&crop2d(&xg, *crop).unwrap(), &crop2d(&xc, *crop).unwrap(), RTOL, &what);
        // crop undoes pad exactly
        let back = crop2d(&pad2d(&xg, *p).unwrap(), *p).unwrap();
        assert_eq!(back.to_vec().unwrap(), xc.to_vec().unwrap(), "crop(pad) {shape:?} {p:?}");
    }
}

#[test]
fn pad_and_crop_place_values_like_tf_pad_and_slicing() {
    // x = 1..6 as [1, 2, 3, 1]; pad [[1, 0], [0, 2]] → 3 × 5; crop [[0, 1], [1, 0]] → 1 × 2.
    let v: Vec<f32> = (1..=6).map(|i| i as f32).collect();
    for dev in [Device::Cpu, gpu()] {
        let x = Tensor::from_slice(&v, &[1, 2, 3, 1], &dev).unwrap();
        let y = pad2d(&x, [[1, 0], [0, 2]]).unwrap();
        assert_eq!(y.shape(), &[1, 3, 5, 1]);
        let want = [0., 0., 0., 0., 0., 1., 2., 3., 0., 0., 4., 5., 6., 0., 0.];
        assert_eq!(y.to_vec().unwrap(), want, "{dev}");
        assert_eq!(crop2d(&x, ((0, 1), (1, 0))).unwrap().to_vec().unwrap(), [2., 3.], "{dev}");
        assert_eq!(crop2d(&x, (0, 1)).unwrap().to_vec().unwrap(), [2., 5.], "{dev}");
        assert_eq!(pad2d(&x, 1).unwrap().shape(), &[1, 4, 5, 1], "{dev}");
    }
}

#[test]
fn pad_and_crop_reject_bad_input_naming_the_shapes() {
    let x = Tensor::zeros(&[2, 4, 5, 3], &gpu()).unwrap();
    let x3 = Tensor::zeros(&[4, 5, 3], &gpu()).unwrap();
    let errs = [
        pad2d(&x3, 1).unwrap_err(),
        crop2d(&x3, 1).unwrap_err(),
        crop2d(&x, [[3, 2], [0, 0]]).unwrap_err(),
        crop2d(&x, [[0, 0], [6, 0]]).unwrap_err(),
        pad2d(&x, [[usize::MAX, 1], [0, 0]]).unwrap_err(),
    ];
    for (i, e) in errs.iter().enumerate() {
        assert!(matches!(e, Error::Shape { .. }), "case {i}: {e}");
        let shape = if i < 2 { "[4, 5, 3]" } else { "[2, 4, 5, 3]" };
        assert!(e.to_string().contains(shape), "case {i}: {e}");
    }
    // cropping everything is allowed for the op (an empty result), like slicing
    assert_eq!(crop2d(&x, [[2, 2], [0, 0]]).unwrap().shape(), &[2, 0, 5, 3]);
}

#[test]
fn reshaping_layers_report_keras_shapes() {
    let mut m = Sequential::new()
        .with(layers::ZeroPadding2D::new((1, 2)))
        .with(layers::ZeroPadding2D::new(((0, 1), (2, 3))))
        .with(layers::Cropping2D::new(1))
        .with(layers::Cropping2D::new(((1, 0), (0, 2))))
        .with(layers::Reshape::new(&[usize::MAX, 3]))
        .with(layers::Reshape::new(&[3, 5, 11]));
    m.build(&[5, 6, 3], &Device::Cpu, 0).unwrap();
    let s = m.summary();
    for needle in [
        "zero_padding2d (ZeroPadding2D)",
        "(None, 7, 10, 3)",
        "zero_padding2d_1 (ZeroPadding2D)",
        "(None, 8, 15, 3)",
        "cropping2d (Cropping2D)",
        "(None, 6, 13, 3)",
        "cropping2d_1 (Cropping2D)",
        "(None, 5, 11, 3)",
        "reshape (Reshape)",
        "(None, 55, 3)",
        "(None, 3, 5, 11)",
    ] {
        assert!(s.contains(needle), "summary lacks {needle:?}:\n{s}");
    }
    for dev in [Device::Cpu, gpu()] {
        let x = Tensor::randn(&[2, 5, 6, 3], 0.0, 1.0, 1, &dev).unwrap();
        assert_eq!(m.call(&x, false).unwrap().shape(), &[2, 3, 5, 11], "{dev}");
    }
}

/// Builds `layer` for `shape` (no batch axis) on the CPU.
fn build(mut layer: Box<dyn Layer>, shape: &[usize]) -> Result<Box<dyn Layer>> {
    layer.build(shape, &mut BuildCtx { device: &Device::Cpu, rng: &mut Rng::new(0) })?;
    Ok(layer)
}

#[test]
fn reshaping_layers_reject_bad_shapes_like_keras() {
    let build = |l: Box<dyn Layer>, shape: &[usize]| build(l, shape).err().expect("an error").to_string();
    let e = build(Box::new(layers::Reshape::new(&[4, 4])), &[3, 5]);
    let want = "The total size of the tensor must be unchanged. Received: input_shape=(3, 5), target_shape=(4, 4)";
    assert!(e.ends_with(want), "{e}");
    let e = build(Box::new(layers::Reshape::new(&[usize::MAX, 4])), &[3, 5]);
    assert!(e.contains("input_shape=(3, 5), target_shape=(-1, 4)"), "{e}");
    let e = build(Box::new(layers::Reshape::new(&[7])), &[15]);
    assert!(e.contains("input_shape=(15,), target_shape=(7,)"), "{e}");
    let e = build(Box::new(layers::Reshape::new(&[usize::MAX, usize::MAX])), &[3, 5]);
    assert!(e.contains("at most one unknown"), "{e}");
    let e = build(Box::new(layers::Cropping2D::new((2, 0))), &[4, 5, 3]);
    assert!(e.contains("input_shape=(None, 4, 5, 3), cropping=((2, 2), (0, 0))"), "{e}");
    let e = build(Box::new(layers::ZeroPadding2D::new(1)), &[4, 5]);
    assert!(e.contains("(None, [4, 5])"), "{e}");
}

#[test]
fn activation_layers_apply_keras_options() {
    let x = [-2.0f32, -0.5, 0.5, 2.0, 7.0];
    type Case = (Box<dyn Layer>, [f32; 5]);
    let cases: [Case; 5] = [
        (Box::new(layers::ReLU::new()), [0., 0., 0.5, 2., 7.]),
        (Box::new(layers::ReLU::new().max_value(6.0)), [0., 0., 0.5, 2., 6.]),
        (Box::new(layers::ReLU::new().negative_slope(0.5).threshold(1.0)), [-1.5, -0.75, -0.25, 2., 7.]),
        (Box::new(layers::LeakyReLU::new()), [-0.6, -0.15, 0.5, 2., 7.]),
        (Box::new(layers::ELU::new().alpha(2.0)), [2.0 * -0.864_664_7, 2.0 * -0.393_469_34, 0.5, 2., 7.]),
    ];
    for (layer, want) in cases {
        let l = build(layer, &[5]).unwrap();
        for dev in [Device::Cpu, gpu()] {
            let y = l.call(&Tensor::from_slice(&x, &[1, 5], &dev).unwrap(), false).unwrap();
            assert_close_vec(&y.to_vec().unwrap(), &want, 1e-6, &format!("{} on {dev}", l.kind()));
        }
    }
    let mut names = Sequential::new().with(layers::LeakyReLU::new()).with(layers::ELU::new()).with(layers::ReLU::new());
    names.build(&[3], &Device::Cpu, 0).unwrap();
    let s = names.summary();
    assert!(s.contains("leaky_re_lu (LeakyReLU)") && s.contains("elu (ELU)") && s.contains("re_lu (ReLU)"), "{s}");
}

#[test]
fn activation_layers_reject_negative_options_like_keras() {
    let bad: [(Box<dyn Layer>, &str); 4] = [
        (Box::new(layers::ReLU::new().max_value(-1.0)), "max_value"),
        (Box::new(layers::ReLU::new().negative_slope(-0.1)), "negative_slope"),
        (Box::new(layers::ReLU::new().threshold(-1.0)), "threshold"),
        (Box::new(layers::LeakyReLU::new().negative_slope(-0.3)), "negative_slope"),
    ];
    for (layer, needle) in bad {
        let e = build(layer, &[3]).err().expect("an error");
        assert!(matches!(e, Error::Shape { .. }) && e.to_string().contains(needle), "{e}");
    }
}
