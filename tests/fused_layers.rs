//! The models' peephole fusion of MaxPool2D / AveragePooling2D, Add (and, in training,
//! BatchNormalization) followed by a plain ReLU layer (Conv2D → MaxPool2D, which fuses too, is
//! tests/conv_pool_fusion.rs's): Sequential and functional models give
//! the values and gradients of the layers called one by one, on the CPU and the GPU, with one
//! dispatch fewer each way per fused pair, and leave summaries, layer names and requested
//! intermediate outputs (sub-model outputs) alone.

mod common;

use common::{assert_all_close, assert_close, dispatches, gpu, pair, values_and_grads, RTOL};
use tessera::nn::layers::clear_session;
use tessera::prelude::*;

/// Conv → pool → ReLU twice (max, then average with overlapping SAME windows) → Dense.
fn seq() -> Sequential {
    Sequential::new()
        .with(layers::Conv2D::new(4, 3))
        .with(layers::MaxPool2D::new(2))
        .with(layers::ReLU::new())
        .with(layers::Conv2D::new(8, 3).padding(Padding::Same))
        .with(layers::AveragePooling2D::new(3).strides(2).padding(Padding::Same))
        .with(layers::ReLU::new())
        .with(layers::Flatten::new())
        .with(layers::Dense::new(5))
}

/// The same network as a functional graph; with `expose`, the first pooling's output is a
/// second model output (so that pair must not fuse).
fn graph(expose: bool) -> Result<Model> {
    clear_session();
    let x = input(&[13, 11, 3]);
    let c = layers::Conv2D::new(4, 3).apply(&x)?;
    let p = layers::MaxPool2D::new(2).apply(&c)?;
    let r = layers::ReLU::new().apply(&p)?;
    let c2 = layers::Conv2D::new(8, 3).padding(Padding::Same).apply(&r)?;
    let p2 = layers::AveragePooling2D::new(3).strides(2).padding(Padding::Same).apply(&c2)?;
    let r2 = layers::ReLU::new().apply(&p2)?;
    let out = layers::Dense::new(5).apply(&layers::Flatten::new().apply(&r2)?)?;
    if expose {
        Model::new(&[&x], &[&out, &p])
    } else {
        Model::new(&[&x], &[&out])
    }
}

#[test]
fn sequential_fused_pairs_match_the_layers_one_by_one_on_cpu_and_gpu() {
    for dev in [Device::Cpu, gpu()] {
        let mut m = seq();
        m.build(&[13, 11, 3], &dev, 7).unwrap();
        let (xc, _) = pair(&[3, 13, 11, 3], 1);
        let x = xc.to_device(&dev).unwrap().variable();
        let vars = m.trainable_variables();
        let fused = values_and_grads(&m.call(&x, true).unwrap(), &x, &vars);
        let one_by_one = m.layers().iter().try_fold(x.clone(), |h, l| l.call(&h, true)).unwrap();
        let want = values_and_grads(&one_by_one, &x, &vars);
        assert_all_close(&fused, &want, &format!("sequential on {dev}"));
    }
}

#[test]
fn functional_fused_pairs_match_the_layers_one_by_one_on_cpu_and_gpu() {
    for dev in [Device::Cpu, gpu()] {
        let mut m = graph(false).unwrap();
        m.build(&dev, 7).unwrap();
        let (xc, _) = pair(&[3, 13, 11, 3], 2);
        let x = xc.to_device(&dev).unwrap().variable();
        let vars = m.trainable_variables();
        let fused = values_and_grads(&m.call(&x, true).unwrap(), &x, &vars);
        let layers = m.layers();
        let one_by_one = layers.iter().try_fold(x.clone(), |h, l| l.call(&[h], true)).unwrap();
        let want = values_and_grads(&one_by_one, &x, &vars);
        assert_all_close(&fused, &want, &format!("functional on {dev}"));
    }
}

#[test]
fn each_fused_pair_saves_one_dispatch_each_way() {
    gpu(); // a device of this test's own, so no other test's dispatches are counted
    let dev = Device::gpu().unwrap();
    // Every shape class tunes on its first use, so later calls launch the same kernels.
    dev.as_gpu().unwrap().set_tune_budget(tessera::device::TuneBudget::UNLIMITED);
    let mut m = seq();
    m.build(&[13, 11, 3], &dev, 3).unwrap();
    let x = Tensor::randn(&[2, 13, 11, 3], 0.0, 1.0, 4, &dev).unwrap();
    let step = |fused: bool| {
        dispatches(&dev, || {
            let y = if fused {
                m.call(&x, true).unwrap()
            } else {
                m.layers().iter().try_fold(x.clone(), |h, l| l.call(&h, true)).unwrap()
            };
            drop(reduce_sum(&y, None, false).unwrap().backward().unwrap());
        })
    };
    step(false); // the first calls tune the conv kernels (timed runs)
    step(true);
    // The first conv with its pooling (and ReLU), as the model runs it: one launch where the
    // fused conv + pooling kernel runs (tests/conv_pool_fusion.rs), else two.
    let v = m.layers()[0].variables();
    let relu_pool = PoolOptions::new(2).activation(Activation::Relu);
    let conv_pool =
        || drop(conv2d_max_pool2d(&x, &v[0].value(), Some(&v[1].value()), &Conv2dOptions::default(), &relu_pool));
    conv_pool();
    let fused_conv = 2 - dispatches(&dev, conv_pool);
    // Two pool → ReLU pairs: two unary dispatches forward and two ReLU gradients backward.
    assert_eq!(step(false) - step(true), 4 + fused_conv);
}

#[test]
fn functional_model_fuses_only_when_the_pool_output_is_read_by_the_relu_alone() {
    gpu();
    let dev = Device::gpu().unwrap();
    let x = Tensor::randn(&[2, 13, 11, 3], 0.0, 1.0, 5, &dev).unwrap();
    let mut fused = graph(false).unwrap();
    fused.build(&dev, 3).unwrap();
    let mut exposed = graph(true).unwrap();
    exposed.build(&dev, 3).unwrap();
    for m in [&fused, &exposed] {
        m.call_many(std::slice::from_ref(&x), false).unwrap(); // tunes the conv kernels
    }
    let n_fused = dispatches(&dev, || drop(fused.call_many(std::slice::from_ref(&x), false).unwrap()));
    let mut outs = vec![];
    let n_exposed = dispatches(&dev, || outs = exposed.call_many(std::slice::from_ref(&x), false).unwrap());
    // Exposing the first pooling's output keeps that pair unfused: one more forward dispatch.
    assert_eq!(n_exposed, n_fused + 1);
    // The exposed output is the pooling's, before the ReLU (negative values survive).
    let pooled = outs[1].to_vec().unwrap();
    assert!(pooled.iter().any(|v| *v < 0.0), "the pooling output must be unfused");
    let layers = exposed.layers();
    let want = layers[..2].iter().try_fold(x.clone(), |h, l| l.call(&[h], false)).unwrap();
    assert_close(&outs[1], &want, RTOL, "exposed pooling output");
}

#[test]
fn relu_with_options_or_a_second_reader_is_not_fused() -> Result<()> {
    gpu();
    let dev = Device::gpu()?;
    let x = Tensor::randn(&[2, 8, 8, 4], 0.0, 1.0, 6, &dev)?;
    let run = |m: &mut Sequential| -> Result<u64> {
        m.build(&[8, 8, 4], &dev, 1)?;
        let mut y = None;
        let n = dispatches(&dev, || y = Some(m.call(&x, false)));
        let y = y.unwrap()?;
        let want = m.layers().iter().try_fold(x.clone(), |h, l| l.call(&h, false))?;
        assert_close(&y, &want, RTOL, "same values");
        Ok(n)
    };
    let plain = run(&mut Sequential::new().with(layers::MaxPool2D::new(2)).with(layers::ReLU::new()))?;
    let capped = run(&mut Sequential::new().with(layers::MaxPool2D::new(2)).with(layers::ReLU::new().max_value(6.0)))?;
    assert_eq!((plain, capped), (1, 2), "ReLU(max_value=6) is not a plain ReLU");
    // Functional: the pooling's output also feeds an Add, so the ReLU cannot absorb it.
    clear_session();
    let i = input(&[8, 8, 4]);
    let p = layers::MaxPool2D::new(2).apply(&i)?;
    let r = layers::ReLU::new().apply(&p)?;
    let s = layers::Add::new().apply_many(&[&p, &r])?;
    let mut m = Model::new(&[&i], &[&s])?;
    m.build(&dev, 1)?;
    let n = dispatches(&dev, || drop(m.call(&x, false).unwrap()));
    assert_eq!(n, 3, "pool, relu and add each run");
    Ok(())
}

#[test]
fn fusion_leaves_summary_names_and_weights_alone() -> Result<()> {
    clear_session();
    let mut m = seq();
    m.build(&[13, 11, 3], &Device::Cpu, 7)?;
    let names: Vec<&str> = m.layers().iter().map(|l| l.name()).collect();
    assert_eq!(
        names,
        ["conv2d", "max_pooling2d", "re_lu", "conv2d_1", "average_pooling2d", "re_lu_1", "flatten", "dense"]
    );
    let summary = m.summary();
    for row in ["re_lu (ReLU)", "(None, 5, 4, 4)", "re_lu_1 (ReLU)", "(None, 3, 2, 8)"] {
        assert!(summary.contains(row), "{row} missing from\n{summary}");
    }
    let g = graph(false)?;
    assert!(g.get_layer("re_lu").is_some() && g.summary().contains("re_lu_1 (ReLU)"));
    Ok(())
}

/// Conv → BN → ReLU → Conv → BN → Activation(relu) → Flatten → Dense.
fn bn_seq() -> Sequential {
    Sequential::new()
        .with(layers::Conv2D::new(4, 3).use_bias(false))
        .with(layers::BatchNormalization::new())
        .with(layers::ReLU::new())
        .with(layers::Conv2D::new(8, 3).padding(Padding::Same))
        .with(layers::BatchNormalization::new())
        .with(layers::Activation::new(Activation::Relu))
        .with(layers::Flatten::new())
        .with(layers::Dense::new(5))
}

#[test]
fn batch_norm_relu_pairs_fuse_in_training_with_the_same_values_gradients_and_statistics() {
    for dev in [Device::Cpu, gpu()] {
        let (xc, _) = pair(&[3, 9, 7, 3], 8);
        let x = xc.to_device(&dev).unwrap().variable();
        let run = |fused: bool| {
            let mut m = bn_seq();
            m.build(&[9, 7, 3], &dev, 11).unwrap();
            let vars = m.trainable_variables();
            let y = if fused {
                m.call(&x, true).unwrap()
            } else {
                m.layers().iter().try_fold(x.clone(), |h, l| l.call(&h, true)).unwrap()
            };
            let mut all = values_and_grads(&y, &x, &vars);
            all.extend(m.variables().iter().filter(|v| !v.trainable()).map(|v| v.value().to_vec().unwrap()));
            all
        };
        assert_all_close(&run(true), &run(false), &format!("batch norm on {dev}"));
    }
}

#[test]
fn batch_norm_relu_pairs_save_one_dispatch_each_way_in_training_only() {
    gpu();
    let dev = Device::gpu().unwrap();
    let mut m = bn_seq();
    m.build(&[9, 7, 3], &dev, 3).unwrap();
    let x = Tensor::randn(&[2, 9, 7, 3], 0.0, 1.0, 4, &dev).unwrap();
    let step = |fused: bool, training: bool| {
        dispatches(&dev, || {
            let y = if fused {
                m.call(&x, training).unwrap()
            } else {
                m.layers().iter().try_fold(x.clone(), |h, l| l.call(&h, training)).unwrap()
            };
            if training {
                drop(reduce_sum(&y, None, false).unwrap().backward().unwrap());
            }
        })
    };
    for training in [true, false] {
        step(false, training); // the first calls tune the conv kernels (timed runs)
        step(true, training);
    }
    // Two BN → ReLU pairs: two activations forward and two activation gradients backward.
    assert_eq!(step(false, true) - step(true, true), 4);
    // Inference runs them unfused (the pair is not fused there).
    assert_eq!(step(false, false), step(true, false));
}

#[test]
fn functional_batch_norm_relu_pairs_fuse_with_the_same_values_gradients_and_statistics() {
    for dev in [Device::Cpu, gpu()] {
        let (xc, _) = pair(&[2, 8, 6, 3], 9);
        let x = xc.to_device(&dev).unwrap().variable();
        let run = |fused: bool| {
            clear_session();
            let i = input(&[8, 6, 3]);
            let c = layers::Conv2D::new(4, 3).use_bias(false).apply(&i).unwrap();
            let b = layers::BatchNormalization::new().apply(&c).unwrap();
            let r = layers::Activation::new(Activation::Relu).apply(&b).unwrap();
            let o = layers::Dense::new(3).apply(&layers::Flatten::new().apply(&r).unwrap()).unwrap();
            let mut m = Model::new(&[&i], &[&o]).unwrap();
            m.build(&dev, 13).unwrap();
            let vars = m.trainable_variables();
            let y = if fused {
                m.call(&x, true).unwrap()
            } else {
                m.layers().iter().try_fold(x.clone(), |h, l| l.call(&[h], true)).unwrap()
            };
            let mut all = values_and_grads(&y, &x, &vars);
            all.extend(m.variables().iter().filter(|v| !v.trainable()).map(|v| v.value().to_vec().unwrap()));
            all
        };
        assert_all_close(&run(true), &run(false), &format!("functional batch norm on {dev}"));
    }
}

/// A residual block: x → Conv → BN → ReLU → Conv, Add(x, ·) → ReLU → Flatten → Dense.
fn residual() -> Result<Model> {
    clear_session();
    let i = input(&[6, 5, 4]);
    let h = layers::Conv2D::new(4, 3).padding(Padding::Same).apply(&i)?;
    let h = layers::ReLU::new().apply(&layers::BatchNormalization::new().apply(&h)?)?;
    let h = layers::Conv2D::new(4, 3).padding(Padding::Same).apply(&h)?;
    let s = layers::ReLU::new().apply(&layers::Add::new().apply_many(&[&i, &h])?)?;
    let o = layers::Dense::new(3).apply(&layers::Flatten::new().apply(&s)?)?;
    Model::new(&[&i], &[&o])
}

#[test]
fn residual_add_relu_fuses_with_the_same_values_and_gradients() {
    for dev in [Device::Cpu, gpu()] {
        let (xc, _) = pair(&[2, 6, 5, 4], 10);
        let x = xc.to_device(&dev).unwrap().variable();
        let run = |fused: bool| {
            let mut m = residual().unwrap();
            m.build(&dev, 17).unwrap();
            let vars = m.trainable_variables();
            let y = if fused {
                m.call(&x, true).unwrap()
            } else {
                // Keras order is a valid order here; the Add takes the input and the second conv.
                let l = m.layers();
                let c1 = l[0].call(std::slice::from_ref(&x), true).unwrap();
                let h = l[3].call(&[l[2].call(&[l[1].call(&[c1], true).unwrap()], true).unwrap()], true).unwrap();
                let s = l[5].call(&[l[4].call(&[x.clone(), h], true).unwrap()], true).unwrap();
                l[7].call(&[l[6].call(&[s], true).unwrap()], true).unwrap()
            };
            values_and_grads(&y, &x, &vars)
        };
        assert_all_close(&run(true), &run(false), &format!("residual on {dev}"));
    }
}

#[test]
fn residual_add_relu_saves_its_forward_dispatch() {
    gpu();
    let dev = Device::gpu().unwrap();
    let mut m = residual().unwrap();
    m.build(&dev, 3).unwrap();
    let x = Tensor::randn(&[2, 6, 5, 4], 0.0, 1.0, 4, &dev).unwrap();
    m.call(&x, false).unwrap(); // tunes the conv kernels
    let n_fused = dispatches(&dev, || drop(m.call(&x, false).unwrap()));
    // Inference: the BN → ReLU pair runs unfused; Add → ReLU is one dispatch instead of two.
    let l = m.layers();
    let n_alone = dispatches(&dev, || {
        let c1 = l[0].call(std::slice::from_ref(&x), false).unwrap();
        let h = l[3].call(&[l[2].call(&[l[1].call(&[c1], false).unwrap()], false).unwrap()], false).unwrap();
        drop(l[7].call(
            &[l[6].call(&[l[5].call(&[l[4].call(&[x.clone(), h], false).unwrap()], false).unwrap()], false).unwrap()],
            false,
        ));
    });
    assert_eq!(n_alone - n_fused, 1);
}
