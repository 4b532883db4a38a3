//! The functional API: graphs with shared layers, several inputs and outputs, residual and
//! Inception-style blocks — Keras's layer order, names, output shapes and parameter counts
//! (the reference numbers come from Keras 3 in TensorFlow 2.21 for the same networks), and the
//! graph's values equal the same computation written with ops, on the CPU and the GPU.

mod common;

use common::{assert_close, gpu, pair, RTOL};
use tessera::nn::layers::clear_session;
use tessera::prelude::*;

/// Keras: two inputs, one Conv2D shared by both, Add and Concatenate, two outputs.
fn two_input_model() -> Result<Model> {
    clear_session();
    let a = input(&[8, 8, 3]);
    let b = input_named(&[8, 8, 3], "b_in");
    let shared = LayerRef::new(layers::Conv2D::new(4, 3).padding(Padding::Same));
    let (x, y) = (shared.apply(&a)?, shared.apply(&b)?);
    let z = layers::Add::new().apply_many(&[&x, &y])?;
    let z2 = layers::Concatenate::new().apply_many(&[&x, &z])?;
    let o1 = layers::GlobalAveragePooling2D::new().apply(&z2)?;
    let o2 = layers::Dense::new(2).apply(&o1)?;
    Model::new(&[&a, &b], &[&o1, &o2])
}

#[test]
fn shared_layer_two_inputs_two_outputs_match_keras_summary() -> Result<()> {
    let mut m = two_input_model()?;
    m.build(&Device::Cpu, 0)?;
    // Keras: Total params: 130; the shared conv2d counted once.
    assert_eq!(m.count_params(), 130);
    let names: Vec<String> = m.layers().iter().map(LayerRef::name).collect();
    assert_eq!(names, ["conv2d", "add", "concatenate", "global_average_pooling2d", "dense"]);
    assert_eq!(m.get_layer("concatenate").unwrap().output_shape(), Some(vec![8, 8, 8]));
    assert_eq!(m.get_layer("conv2d").unwrap().output_shapes(), vec![vec![8, 8, 4], vec![8, 8, 4]]);
    assert_eq!(m.outputs()[1].shape(), &[2]);
    let s = m.summary();
    for want in [
        "Model: \"functional\"",
        "Connected to",
        "input_layer (InputLayer)",
        "b_in (InputLayer)",
        "conv2d[0][0],",
        "conv2d[1][0]",
        "input_layer[0][0],",
        "b_in[0][0]",
        "(None, 8, 8, 8)",
        "Total params: 130 (520.00 B)",
        "Non-trainable params: 0 (0.00 B)",
    ] {
        assert!(s.contains(want), "summary lacks {want:?}:\n{s}");
    }
    let rows: Vec<&str> = s.lines().filter(|l| l.starts_with("│ ") && !l.starts_with("│  ")).collect();
    let first_words: Vec<&str> = rows.iter().map(|l| l[4..].split_whitespace().next().unwrap()).collect();
    assert_eq!(
        first_words,
        ["input_layer", "b_in", "conv2d", "add", "concatenate", "global_average_pooling2d", "dense"]
    );
    Ok(())
}

#[test]
fn shared_layer_graph_computes_what_the_ops_compute_on_cpu_and_gpu() -> Result<()> {
    for dev in [Device::Cpu, gpu()] {
        let mut m = two_input_model()?;
        m.build(&dev, 3)?;
        let (xa, _) = pair(&[2, 8, 8, 3], 1);
        let (xb, _) = pair(&[2, 8, 8, 3], 2);
        let (xa, xb) = (xa.to_device(&dev)?, xb.to_device(&dev)?);
        let out = m.call_many(&[xa.clone(), xb.clone()], false)?;
        let v = m.variables();
        let (k, b, dk, db) = (v[0].value(), v[1].value(), v[2].value(), v[3].value());
        let opts = Conv2dOptions::default().padding(Padding::Same);
        let x = conv2d_with_bias(&xa, &k, Some(&b), &opts)?;
        let y = conv2d_with_bias(&xb, &k, Some(&b), &opts)?;
        let z2 = concat(&[&x, &add(&x, &y)?], 3)?;
        let o1 = reduce_mean(&z2, Some(&[1, 2]), false)?;
        let o2 = dense(&o1, &dk, Some(&db), Activation::None)?;
        assert_close(&out[0], &o1, RTOL, "output 1");
        assert_close(&out[1], &o2, RTOL, "output 2");
    }
    Ok(())
}

#[test]
fn shared_layer_gradient_sums_both_uses() -> Result<()> {
    let dev = gpu();
    let mut m = two_input_model()?;
    m.build(&dev, 5)?;
    let (xa, _) = pair(&[2, 8, 8, 3], 11);
    let (xb, _) = pair(&[2, 8, 8, 3], 12);
    let (xa, xb) = (xa.to_device(&dev)?, xb.to_device(&dev)?);
    let out = m.call_many(&[xa.clone(), xb.clone()], true)?;
    let loss = reduce_sum(&out[1], None, false)?;
    let grads = loss.backward()?;
    let k = m.variables()[0].clone();
    let got = grads.get(&k.value()).expect("the shared kernel gets a gradient").clone();
    // Same loss through the ops, with the kernel as an explicit variable.
    let v = m.variables();
    let kv = k.value().detach().variable();
    let opts = Conv2dOptions::default().padding(Padding::Same);
    let x = conv2d_with_bias(&xa, &kv, Some(&v[1].value()), &opts)?;
    let y = conv2d_with_bias(&xb, &kv, Some(&v[1].value()), &opts)?;
    let z2 = concat(&[&x, &add(&x, &y)?], 3)?;
    let o1 = reduce_mean(&z2, Some(&[1, 2]), false)?;
    let o2 = dense(&o1, &v[2].value(), Some(&v[3].value()), Activation::None)?;
    let want = reduce_sum(&o2, None, false)?.backward()?;
    assert_close(&got, want.get(&kv).unwrap(), RTOL, "shared kernel gradient");
    Ok(())
}

#[test]
fn residual_block_matches_keras_counts_names_and_shapes() -> Result<()> {
    clear_session();
    let inp = input(&[16, 16, 8]);
    let conv = |f: usize, k: usize, s: usize| {
        let c = layers::Conv2D::new(f, k).strides(s).use_bias(false);
        if k == 3 {
            c.padding(Padding::Same)
        } else {
            c
        }
    };
    let x = conv(16, 3, 2).apply(&inp)?;
    let x = layers::BatchNormalization::new().apply(&x)?;
    let x = layers::ReLU::new().apply(&x)?;
    let x = conv(16, 3, 1).apply(&x)?;
    let x = layers::BatchNormalization::new().apply(&x)?;
    let s = conv(16, 1, 2).apply(&inp)?;
    let s = layers::BatchNormalization::new().apply(&s)?;
    let x = layers::Add::new().apply_many(&[&x, &s])?;
    let x = layers::ReLU::new().apply(&x)?;
    let x = layers::GlobalAveragePooling2D::new().apply(&x)?;
    let out = layers::Dense::new(10).apply(&x)?;
    let mut m = Model::new(&[&inp], &[&out])?;
    m.build(&gpu(), 1)?;
    // Keras: count_params 3946, trainable 3850, and this layer order.
    assert_eq!(m.count_params(), 3946);
    assert_eq!(m.trainable_variables().iter().map(|p| p.numel()).sum::<usize>(), 3850);
    let names: Vec<String> = m.layers().iter().map(LayerRef::name).collect();
    let keras = [
        "conv2d",
        "batch_normalization",
        "re_lu",
        "conv2d_1",
        "conv2d_2",
        "batch_normalization_1",
        "batch_normalization_2",
        "add",
        "re_lu_1",
        "global_average_pooling2d",
        "dense",
    ];
    assert_eq!(names, keras);
    let shapes: Vec<Vec<usize>> = m.layers().iter().map(|l| l.output_shape().unwrap()).collect();
    assert_eq!(shapes[..9], vec![vec![8, 8, 16]; 9][..]);
    assert_eq!(shapes[9..], [vec![16], vec![10]]);
    // Runs, and its BatchNorm layers train (moving statistics move).
    let (x, _) = pair(&[3, 16, 16, 8], 4);
    let y = m.call(&x.to_device(&gpu())?, true)?;
    assert_eq!(y.shape(), &[3, 10]);
    let mm = m.variables().into_iter().find(|p| p.name() == "batch_normalization/moving_mean").unwrap();
    assert!(mm.value().to_vec()?.iter().any(|v| *v != 0.0));
    Ok(())
}

#[test]
fn inception_block_matches_keras_counts_and_order() -> Result<()> {
    clear_session();
    let inp = input(&[12, 12, 16]);
    let conv = |f: usize, k: usize| layers::Conv2D::new(f, k).padding(Padding::Same).activation(Activation::Relu);
    let b1 = conv(8, 1).apply(&inp)?;
    let b2 = conv(12, 3).apply(&conv(6, 1).apply(&inp)?)?;
    let b3 = conv(4, 5).apply(&conv(2, 1).apply(&inp)?)?;
    let pool = layers::MaxPool2D::new(3).strides(1).padding(Padding::Same).apply(&inp)?;
    let b4 = conv(4, 1).apply(&pool)?;
    let x = layers::Concatenate::new().apply_many(&[&b1, &b2, &b3, &b4])?;
    let mut m = Model::new(&[&inp], &[&x])?;
    m.build(&Device::Cpu, 2)?;
    assert_eq!(m.count_params(), 1204);
    assert_eq!(x.shape(), &[12, 12, 28]);
    let names: Vec<String> = m.layers().iter().map(LayerRef::name).collect();
    // Keras orders by depth, then by first use.
    let keras = ["conv2d_1", "conv2d_3", "max_pooling2d", "conv2d", "conv2d_2", "conv2d_4", "conv2d_5", "concatenate"];
    assert_eq!(names, keras);
    let s = m.summary();
    assert!(s.contains("conv2d[0][0],\n") || s.contains("conv2d[0][0],"), "{s}");
    assert!(s.contains("Total params: 1,204 (4.70 KB)"), "{s}");
    // Same values on both devices.
    let (xc, xg) = pair(&[2, 12, 12, 16], 9);
    let cpu_out = m.call(&xc, false)?;
    let mut mg = m;
    let vars_cpu: Vec<Vec<f32>> = mg.variables().iter().map(|p| p.value().to_vec().unwrap()).collect();
    for (p, v) in mg.variables().iter().zip(&vars_cpu) {
        p.assign(Tensor::from_slice(v, &p.shape(), &gpu())?)?;
    }
    let gpu_out = mg.call(&xg, false)?;
    assert_close(&gpu_out, &cpu_out, RTOL, "inception block GPU vs CPU");
    let _ = &mut mg;
    Ok(())
}

#[test]
fn merge_layers_multiply_average_and_their_errors() -> Result<()> {
    clear_session();
    let (a, b) = (input(&[5, 3]), input(&[5, 3]));
    let p = layers::Multiply::new().apply_many(&[&a, &b])?;
    let q = layers::Average::new().apply_many(&[&a, &b, &p])?;
    let d = layers::Subtract::new().apply_many(&[&q, &a])?;
    let mut m = Model::new(&[&a, &b], &[&d])?;
    m.build(&Device::Cpu, 0)?;
    let (xa, xb) = (pair(&[2, 5, 3], 1).0, pair(&[2, 5, 3], 2).0);
    let out = m.call_many(&[xa.clone(), xb.clone()], false)?;
    let (va, vb) = (xa.to_vec()?, xb.to_vec()?);
    let want: Vec<f32> = va.iter().zip(&vb).map(|(x, y)| (x + y + x * y) / 3.0 - x).collect();
    common::assert_close_vec(&out[0].to_vec()?, &want, RTOL, "Average(a, b, a*b) - a");
    // Keras's input-count and shape rules.
    let err = layers::Subtract::new().apply_many(&[&a, &b, &p]).unwrap_err().to_string();
    assert!(err.contains("exactly 2 inputs, got 3"), "{err}");
    let c = input(&[4, 3]);
    let err = layers::Add::new().apply_many(&[&a, &c]).unwrap_err().to_string();
    assert!(err.contains("[5, 3]") && err.contains("[4, 3]"), "{err}");
    let err = layers::Dense::new(2).apply_many(&[&a, &b]).unwrap_err().to_string();
    assert!(err.contains("takes one input, got 2"), "{err}");
    Ok(())
}

#[test]
fn graph_errors_name_the_problem() -> Result<()> {
    clear_session();
    let (a, b) = (input(&[4]), input(&[4]));
    let s = layers::Add::new().apply_many(&[&a, &b])?;
    let err = Model::new(&[&a], &[&s]).err().unwrap().to_string();
    assert!(err.contains("graph disconnected") && err.contains("input_layer_1"), "{err}");
    let x = layers::Dense::new(3).name("head").apply(&a)?;
    let y = layers::Dense::new(3).name("head").apply(&b)?;
    let err = Model::new(&[&a, &b], &[&x, &y]).err().unwrap().to_string();
    assert!(err.contains("'head' is used by two layers"), "{err}");
    let mut m = Model::new(&[&a], &[&x])?;
    let err = m.call(&Tensor::zeros(&[2, 4], &Device::Cpu)?, false).unwrap_err().to_string();
    assert!(err.contains("before build()"), "{err}");
    m.build(&Device::Cpu, 0)?;
    let err = m.call(&Tensor::zeros(&[2, 5], &Device::Cpu)?, false).unwrap_err().to_string();
    assert!(err.contains("expects (None, 4)") && err.contains("[2, 5]"), "{err}");
    let err = layers::Dense::new(3).apply(&input(&[4, 4])).unwrap_err().to_string();
    assert!(err.contains("Dense"), "{err}");
    Ok(())
}

#[test]
fn layers_build_lazily_on_first_call_with_unique_names() -> Result<()> {
    clear_session();
    let x = Tensor::randn(&[2, 6, 6, 3], 0.0, 1.0, 1, &gpu())?;
    let mut c1 = layers::Conv2D::new(4, 3);
    let mut c2 = layers::Conv2D::new(2, 1);
    assert!(!c1.is_built());
    let y = c1.forward(&x, false)?;
    let z = c2.forward(&y, false)?;
    assert_eq!(z.shape(), &[2, 4, 4, 2]);
    assert_eq!((Layer::name(&c1), Layer::name(&c2)), ("conv2d", "conv2d_1"));
    assert_eq!(c1.variables()[0].name(), "conv2d/kernel");
    assert_eq!(c1.variables()[0].shape(), [3, 3, 3, 4]);
    // A second call reuses the variables (no rebuild).
    let k = c1.variables()[0].value().to_vec()?;
    c1.forward(&x, false)?;
    assert_eq!(c1.variables()[0].value().to_vec()?, k);
    // A shared handle builds lazily too, on the input's device.
    let d = LayerRef::new(layers::Dense::new(5));
    let out = d.call(&[Tensor::ones(&[3, 7], &Device::Cpu)?], false)?;
    assert_eq!(out.shape(), &[3, 5]);
    assert_eq!(d.name(), "dense");
    assert_eq!(d.count_params(), 40);
    Ok(())
}

#[test]
fn dropout_in_a_functional_graph_drops_only_while_training() -> Result<()> {
    clear_session();
    let a = input(&[64]);
    let y = layers::Dropout::new(0.5).seed(3).apply(&a)?;
    let mut m = Model::new(&[&a], &[&y])?;
    m.build(&gpu(), 0)?;
    let x = Tensor::ones(&[4, 64], &gpu())?;
    assert_eq!(m.call(&x, false)?.to_vec()?, vec![1.0; 256]);
    let t = m.call(&x, true)?.to_vec()?;
    let zeros = t.iter().filter(|v| **v == 0.0).count();
    assert!((64..192).contains(&zeros), "{zeros} of 256 dropped at rate 0.5");
    assert!(t.iter().all(|v| *v == 0.0 || (*v - 2.0).abs() < 1e-6));
    Ok(())
}

#[test]
fn a_functional_model_is_a_layer_and_trains() -> Result<()> {
    clear_session();
    let dev = gpu();
    let inp = input(&[6]);
    let h = layers::Dense::new(16).activation(Activation::Tanh).apply(&inp)?;
    let out = layers::Dense::new(1).apply(&h)?;
    let model = Model::new(&[&inp], &[&out])?;
    // Nested in a Sequential, built through the Layer trait.
    let mut seq = Sequential::new().with(model).with(layers::Dense::new(1));
    seq.build(&[6], &dev, 7)?;
    assert_eq!(seq.count_params(), 6 * 16 + 16 + 17 + 2);
    let x = Tensor::randn(&[32, 6], 0.0, 1.0, 8, &dev)?;
    let target = reduce_sum(&x, Some(&[1]), true)?;
    let mut opt = Adam::new(0.02);
    let mut losses = Vec::new();
    for _ in 0..40 {
        let loss = mean_squared_error(&target, &seq.call(&x, true)?)?;
        losses.push(loss.item()?);
        opt.apply_gradients(&loss.backward()?, &seq.trainable_variables())?;
    }
    assert!(losses[39] < 0.2 * losses[0], "loss {} -> {}", losses[0], losses[39]);
    Ok(())
}

#[test]
fn a_functional_residual_model_fits_with_compile() -> Result<()> {
    clear_session();
    let dev = gpu();
    let inp = input(&[6, 6, 2]);
    let x = layers::Conv2D::new(4, 3).padding(Padding::Same).activation(Activation::Relu).apply(&inp)?;
    let y = layers::Conv2D::new(4, 3).padding(Padding::Same).apply(&x)?;
    let x = layers::ReLU::new().apply(&layers::Add::new().apply_many(&[&x, &y])?)?;
    let x = layers::GlobalAveragePooling2D::new().apply(&x)?;
    let out = layers::Dense::new(2).apply(&x)?;
    let mut model = Model::new(&[&inp], &[&out])?;
    model.build(&dev, 3)?;
    // Class = whether the first channel's mean is above the second's.
    let xs = Tensor::randn(&[64, 6, 6, 2], 0.0, 1.0, 21, &dev)?;
    let means = reduce_mean(&xs, Some(&[1, 2]), false)?.to_vec()?;
    let labels: Vec<f32> = means.chunks(2).map(|m| (m[0] > m[1]) as u8 as f32).collect();
    let ys = Tensor::from_vec(labels, &[64], &dev)?;
    let loss = Loss::SparseCategoricalCrossentropy { from_logits: true };
    let mut m = model.compile(Adam::new(0.02), loss, &[Metric::Accuracy]);
    let h = m.fit(&xs, &ys, FitOptions::default().epochs(12).batch_size(16).verbose(0))?;
    let losses = h.get("loss").unwrap();
    assert_eq!(losses.len(), 12);
    assert!(losses[11] < 0.6 * losses[0], "loss {losses:?}");
    assert_eq!(m.predict(&xs, 32)?.shape(), &[64, 2]);
    Ok(())
}
