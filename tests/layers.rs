//! Layers, Sequential models and summary(), optimizers and checkpoints.

mod common;
use common::*;
use tessera::nn::checkpoint;
use tessera::nn::layers::{self, Layer};
use tessera::nn::models::Sequential;
use tessera::nn::optimizers::{Adam, Optimizer, Rule, Sgd, Update};
use tessera::prelude::*;

fn lenet5() -> Sequential {
    tessera::zoo::lenet5().named("sequential")
}

#[test]
fn lenet5_summary_matches_keras() {
    let mut m = lenet5();
    m.build(&[28, 28, 1], &Device::Cpu, 0).unwrap();
    assert_eq!(m.count_params(), 60_074);
    let s = m.summary();
    for needle in [
        "conv2d (Conv2D)",
        "(None, 26, 26, 6)",
        "max_pooling2d (MaxPooling2D)",
        "(None, 13, 13, 6)",
        "conv2d_1 (Conv2D)",
        "(None, 11, 11, 16)",
        "max_pooling2d_1 (MaxPooling2D)",
        "(None, 5, 5, 16)",
        "re_lu_1 (ReLU)",
        "flatten (Flatten)",
        "(None, 400)",
        "dense (Dense)",
        "48,120",
        "dense_2 (Dense)",
        "Total params: 60,074 (234.66 KB)",
        "Trainable params: 60,074 (234.66 KB)",
        "Non-trainable params: 0 (0.00 B)",
    ] {
        assert!(s.contains(needle), "summary lacks {needle:?}:\n{s}");
    }
    let names: Vec<String> = m.variables().iter().map(|v| v.name().to_string()).collect();
    assert_eq!(names[0], "conv2d/kernel");
    assert_eq!(names[1], "conv2d/bias");
    assert_eq!(names.last().unwrap(), "dense_2/bias");
}

#[test]
fn dense_mlp_has_keras_parameter_count() {
    let mut m = Sequential::new()
        .with(layers::Flatten::new())
        .with(layers::Dense::new(256).activation(Activation::Relu))
        .with(layers::Dense::new(256).activation(Activation::Relu))
        .with(layers::Dense::new(256).activation(Activation::Relu))
        .with(layers::Dense::new(10));
    m.build(&[28, 28, 1], &Device::Cpu, 0).unwrap();
    assert_eq!(m.count_params(), 335_114);
    assert!(m.summary().contains("Total params: 335,114"));
}

#[test]
fn batch_norm_counts_and_non_trainable_variables() {
    let mut m = Sequential::new()
        .with(layers::Conv2D::new(8, 3).padding(Padding::Same).use_bias(false))
        .with(layers::BatchNormalization::new())
        .with(layers::ReLU::new())
        .with(layers::GlobalAveragePooling2D::new())
        .with(layers::Dense::new(10));
    m.build(&[8, 8, 3], &Device::Cpu, 1).unwrap();
    // conv 3*3*3*8 = 216, BN 4*8 = 32 (16 non-trainable), dense 8*10+10 = 90
    assert_eq!(m.count_params(), 338);
    assert_eq!(m.trainable_variables().len(), 5); // conv kernel, gamma, beta, dense kernel and bias
    let s = m.summary();
    assert!(s.contains("Non-trainable params: 16 (64.00 B)"), "{s}");
    assert!(s.contains("batch_normalization (BatchNormalization)"), "{s}");
}

#[test]
fn other_layers_report_keras_shapes() {
    let mut m = Sequential::new()
        .with(layers::Conv2DTranspose::new(4, 3).strides(2).padding(Padding::Same))
        .with(layers::DepthwiseConv2D::new(3).depth_multiplier(2))
        .with(layers::SeparableConv2D::new(5, 3).padding(Padding::Same))
        .with(layers::AveragePooling2D::new(2).strides(1))
        .with(layers::UpSampling2D::new((2, 3)))
        .with(layers::Dropout::new(0.5));
    m.build(&[7, 9, 3], &Device::Cpu, 2).unwrap();
    let s = m.summary();
    for (needle, params) in [
        ("(None, 14, 18, 4)", "112"), // 3*3*3*4 + 4
        ("(None, 12, 16, 8)", "80"),  // 3*3*4*2 + 8
        ("(None, 12, 16, 5)", "117"), // 3*3*8 + 8*5 + 5
        ("(None, 11, 15, 5)", "0"),
        ("(None, 22, 45, 5)", "0"),
    ] {
        assert!(s.contains(needle) && s.contains(params), "{needle} / {params}:\n{s}");
    }
    let x = Tensor::randn(&[2, 7, 9, 3], 0.0, 1.0, 3, &Device::Cpu).unwrap();
    assert_eq!(m.call(&x, true).unwrap().shape(), &[2, 22, 45, 5]);
}

#[test]
fn calling_with_the_wrong_shape_or_unbuilt_is_an_error() {
    let mut m = lenet5();
    let x = Tensor::zeros(&[2, 28, 28, 1], &Device::Cpu).unwrap();
    assert!(m.call(&x, false).unwrap_err().to_string().contains("before build"));
    m.build(&[28, 28, 1], &Device::Cpu, 0).unwrap();
    let bad = Tensor::zeros(&[2, 32, 32, 3], &Device::Cpu).unwrap();
    let e = m.call(&bad, false).unwrap_err().to_string();
    assert!(e.contains("[2, 32, 32, 3]") && e.contains("(None, 28, 28, 1)"), "{e}");
    let mut d = Sequential::new().with(layers::Dense::new(3));
    assert!(d.build(&[4, 4], &Device::Cpu, 0).unwrap_err().to_string().contains("Flatten"));
}

#[test]
fn model_forward_matches_between_cpu_and_gpu() {
    let mut mc = lenet5();
    mc.build(&[28, 28, 1], &Device::Cpu, 7).unwrap();
    let mut mg = lenet5();
    mg.build(&[28, 28, 1], &gpu(), 7).unwrap();
    let (xc, xg) = pair(&[3, 28, 28, 1], 8);
    assert_close(&mg.call(&xg, false).unwrap(), &mc.call(&xc, false).unwrap(), RTOL, "lenet5 forward");
}

#[test]
fn dropout_masks_agree_across_devices_and_scale_kept_values() {
    let (xc, xg) = pair(&[64, 50], 9);
    let (yc, yg) = (dropout(&xc, 0.3, 42).unwrap(), dropout(&xg, 0.3, 42).unwrap());
    assert_close(&yg, &yc, RTOL, "dropout");
    let (x, y) = (xc.to_vec().unwrap(), yc.to_vec().unwrap());
    let kept = y.iter().filter(|v| **v != 0.0).count() as f32 / y.len() as f32;
    assert!((kept - 0.7).abs() < 0.03, "kept fraction {kept}");
    for (a, b) in x.iter().zip(&y) {
        assert!(*b == 0.0 || (b - a / 0.7).abs() < 1e-5);
    }
    let layer = layers::Dropout::new(0.3);
    assert_eq!(layer.call(&xc, false).unwrap().to_vec().unwrap(), x);
    grad_check("dropout", &[&[6, 7]], 10, |t| dropout(&t[0], 0.4, 5));
}

#[test]
fn optimizer_kernels_match_the_cpu_and_keras_formulas() {
    // One SGD step by hand: p = 1, g = 0.5, v = 0.2, momentum 0.9, lr 0.1 → v' = 0.13, p' = 1.13.
    let sgd = Update { lr: 0.1, weight_decay: 0.0, rule: Rule::Sgd { momentum: 0.9, nesterov: false } };
    let mut v = [0.2];
    let p = sgd.apply(1.0, 0.5, &mut v);
    assert!((p - 1.13).abs() < 1e-6 && (v[0] - 0.13).abs() < 1e-6, "{p} {v:?}");
    let makers: [fn() -> Box<dyn Optimizer>; 3] = [
        || Box::new(Sgd::new(0.1).momentum(0.9)),
        || Box::new(Sgd::new(0.1).momentum(0.9).nesterov(true)),
        || Box::new(Adam::default()),
    ];
    for (i, make) in makers.into_iter().enumerate() {
        let mut results = Vec::new();
        for dev in [Device::Cpu, gpu()] {
            let mut m = Sequential::new().with(layers::Dense::new(5).activation(Activation::Tanh));
            m.build(&[7], &dev, 11).unwrap();
            let mut opt = make();
            let x = Tensor::randn(&[4, 7], 0.0, 1.0, 12, &dev).unwrap();
            for _ in 0..3 {
                let loss = weighted_sum(&m.call(&x, true).unwrap()).unwrap();
                opt.apply_gradients(&loss.backward().unwrap(), &m.trainable_variables()).unwrap();
            }
            assert_eq!(opt.iterations(), 3);
            results.push(m.variables().iter().map(|v| v.value().to_vec().unwrap()).collect::<Vec<_>>());
        }
        for (c, g) in results[0].iter().zip(&results[1]) {
            assert_close_vec(g, c, RTOL, &format!("optimizer {i} after 3 steps"));
        }
    }
}

#[test]
fn adam_first_step_moves_each_weight_by_about_the_learning_rate() {
    // With zero-initialised moments, Keras's Adam's first step is lr · g/(|g| + ε/√(1−β2)).
    let dev = gpu();
    let mut m = Sequential::new().with(layers::Dense::new(3).use_bias(false));
    m.build(&[4], &dev, 1).unwrap();
    let before = m.variables()[0].value().to_vec().unwrap();
    let x = Tensor::randn(&[2, 4], 0.0, 1.0, 2, &dev).unwrap();
    let mut opt = Adam::new(0.01);
    let loss = weighted_sum(&m.call(&x, true).unwrap()).unwrap();
    opt.apply_gradients(&loss.backward().unwrap(), &m.trainable_variables()).unwrap();
    let after = m.variables()[0].value().to_vec().unwrap();
    for (a, b) in before.iter().zip(&after) {
        assert!(((a - b).abs() - 0.01).abs() < 1e-4, "{a} -> {b}");
    }
}

#[test]
fn checkpoints_round_trip_model_and_optimizer_state() {
    let dir = std::env::temp_dir().join(format!("tessera-ckpt-{}", std::process::id()));
    let path = dir.join("model.safetensors");
    let dev = gpu();
    let build = || {
        let mut m = Sequential::new()
            .with(layers::Conv2D::new(4, 3))
            .with(layers::BatchNormalization::new())
            .with(layers::Flatten::new())
            .with(layers::Dense::new(3));
        m.build(&[6, 6, 2], &dev, 5).unwrap();
        m
    };
    let m = build();
    let mut opt = Adam::default();
    let x = Tensor::randn(&[2, 6, 6, 2], 0.0, 1.0, 6, &dev).unwrap();
    let loss = weighted_sum(&m.call(&x, true).unwrap()).unwrap();
    opt.apply_gradients(&loss.backward().unwrap(), &m.trainable_variables()).unwrap();
    checkpoint::save(&path, &m.variables(), Some(&opt), &[("epoch", "1".into())]).unwrap();
    assert!(std::fs::read_dir(&dir).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().contains(".tmp")));

    let m2 = build_different(&dev);
    let mut opt2 = Adam::default();
    let info = checkpoint::load(&path, &m2.variables(), Some(&mut opt2)).unwrap();
    assert_eq!(info.metadata["epoch"], "1");
    assert_eq!(opt2.iterations(), 1);
    for (a, b) in m.variables().iter().zip(m2.variables()) {
        assert_eq!(a.value().to_vec().unwrap(), b.value().to_vec().unwrap(), "{}", a.name());
    }
    assert_eq!(opt.state().unwrap().len(), opt2.state().unwrap().len());
    // Corrupt and truncated files are typed errors naming the file.
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let e = checkpoint::load(&path, &m2.variables(), None).unwrap_err().to_string();
    assert!(e.contains("model.safetensors"), "{e}");
    std::fs::write(&path, b"garbage").unwrap();
    assert!(checkpoint::load(&path, &m2.variables(), None).unwrap_err().to_string().contains("model.safetensors"));
    let _ = std::fs::remove_dir_all(&dir);

    fn build_different(dev: &Device) -> Sequential {
        let mut m = Sequential::new()
            .with(layers::Conv2D::new(4, 3))
            .with(layers::BatchNormalization::new())
            .with(layers::Flatten::new())
            .with(layers::Dense::new(3));
        m.build(&[6, 6, 2], dev, 99).unwrap();
        m
    }
}

#[test]
fn checkpoint_shape_mismatch_names_the_variable() {
    let mut a = Sequential::new().with(layers::Dense::new(3));
    a.build(&[4], &Device::Cpu, 0).unwrap();
    let mut b = Sequential::new().with(layers::Dense::new(5));
    b.build(&[4], &Device::Cpu, 0).unwrap();
    let bytes = checkpoint::to_bytes(&a.variables(), None, &[]).unwrap();
    let e = checkpoint::from_bytes(&bytes, "mem", &b.variables(), None).unwrap_err().to_string();
    assert!(e.contains("dense/kernel") && e.contains("[4, 3]") && e.contains("[4, 5]"), "{e}");
}

#[test]
fn batch_norm_layer_updates_moving_statistics_with_keras_momentum() {
    for dev in [Device::Cpu, gpu()] {
        let mut bn = layers::BatchNormalization::new();
        let mut rng = tessera::nn::random::Rng::new(0);
        bn.set_name("bn".into());
        bn.build(&[2], &mut layers::BuildCtx { device: &dev, rng: &mut rng }).unwrap();
        let x = Tensor::from_slice(&[1., 10., 3., 20., 5., 30.], &[3, 2], &dev).unwrap();
        let y = bn.call(&x, true).unwrap().to_vec().unwrap();
        // batch mean [3, 20], biased variance [8/3, 200/3]
        let vars = bn.variables();
        let mm = vars[2].value().to_vec().unwrap();
        let mv = vars[3].value().to_vec().unwrap();
        assert!((mm[0] - 0.03).abs() < 1e-6 && (mm[1] - 0.2).abs() < 1e-6, "{mm:?}");
        assert!((mv[0] - (0.99 + 0.01 * 8.0 / 3.0)).abs() < 1e-5, "{mv:?}");
        let want0 = (1.0 - 3.0) / (8.0f32 / 3.0 + 1e-3).sqrt();
        assert!((y[0] - want0).abs() < 1e-5, "{y:?}");
        // inference uses the moving statistics
        let yi = bn.call(&x, false).unwrap().to_vec().unwrap();
        assert!((yi[0] - (1.0 - mm[0]) / (mv[0] + 1e-3).sqrt()).abs() < 1e-5);
    }
}

#[test]
fn resnet_basic_block_is_a_custom_layer_with_keras_counts_and_gradients() {
    use tessera::zoo::BasicBlock;
    let mut m = Sequential::new().with(BasicBlock::new(32, 2)).with(BasicBlock::new(32, 1));
    m.build(&[8, 8, 16], &Device::Cpu, 3).unwrap();
    // 3x3 16->32 (4608) + BN (128) + 3x3 32->32 (9216) + BN (128) + 1x1 shortcut (512) + BN (128)
    // then an identity-shortcut block: 9216 + 128 + 9216 + 128.
    assert_eq!(m.count_params(), 14_720 + 18_688);
    let s = m.summary();
    assert!(s.contains("basic_block (BasicBlock)") && s.contains("(None, 4, 4, 32)"), "{s}");
    assert!(s.contains("Non-trainable params: 320"), "{s}");
    let names: Vec<String> = m.variables().iter().map(|v| v.name().to_string()).collect();
    assert!(names.contains(&"basic_block/shortcut_conv/kernel".to_string()), "{names:?}");

    // Same weights on both devices: training-mode forward and every gradient agree.
    let mut results = Vec::new();
    for dev in [Device::Cpu, gpu()] {
        let mut m = Sequential::new().with(BasicBlock::new(8, 2));
        m.build(&[6, 7, 4], &dev, 4).unwrap();
        let x = Tensor::randn(&[2, 6, 7, 4], 0.0, 1.0, 5, &dev).unwrap();
        let loss = weighted_sum(&m.call(&x, true).unwrap()).unwrap();
        let grads = loss.backward().unwrap();
        let vars = m.trainable_variables();
        assert_eq!(vars.len(), 9);
        let gs: Vec<Vec<f32>> =
            vars.iter().map(|v| grads.get(&v.value()).expect("gradient").to_vec().unwrap()).collect();
        results.push((loss.item().unwrap(), gs));
    }
    assert!((results[0].0 - results[1].0).abs() <= 1e-4 * results[0].0.abs().max(1.0));
    for (c, g) in results[0].1.iter().zip(&results[1].1) {
        assert_close_vec(g, c, 1e-3, "basic block gradient");
    }
}

#[test]
fn resnet18_cifar_has_the_reference_parameter_count() {
    let mut m = tessera::zoo::resnet18_cifar(10);
    m.build(&[32, 32, 3], &Device::Cpu, 0).unwrap();
    let trainable: usize = m.trainable_variables().iter().map(|v| v.numel()).sum();
    assert_eq!(trainable, 11_173_962); // the well-known CIFAR ResNet-18 figure
    assert_eq!(m.count_params(), 11_173_962 + 9_600); // + BN moving statistics
}
