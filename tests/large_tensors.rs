//! Tensors larger than one storage binding: kernels bind windows of them (matmul blocks,
//! optimizer and fill ranges). A device whose binding limit is lowered to 64 KiB
//! (`GpuOptions::max_binding_bytes`) exercises the splits on small shapes, against the CPU.

mod common;
use common::*;
use tessera::device::{DeviceError, Gpu, GpuOptions};
use tessera::layers::Param;
use tessera::prelude::*;

const LIMIT: u64 = 64 << 10;

/// A GPU device whose kernels may bind at most 64 KiB (16,384 floats) at a time.
fn small_binding_gpu() -> Device {
    let opts = GpuOptions { max_binding_bytes: Some(LIMIT), ..GpuOptions::from_env().unwrap() };
    match Gpu::with_options(&opts) {
        Ok(g) => Device::Gpu(g),
        Err(e) => panic!("GPU tests need a GPU adapter: {e}"),
    }
}

fn dispatches(dev: &Device) -> u64 {
    dev.as_gpu().unwrap().stats().dispatches
}

#[test]
fn the_lowered_limit_is_what_kernels_see() {
    let dev = small_binding_gpu();
    let g = dev.as_gpu().unwrap();
    assert_eq!(g.max_binding_bytes(), LIMIT);
    assert!(g.max_buffer_bytes() > LIMIT);
}

#[test]
fn matmul_past_one_binding_matches_the_cpu_in_every_layout_and_variant() {
    let dev = small_binding_gpu();
    // (m, k, n): a few rows (a batch) against a large matrix, and every operand over the limit
    // at once (odd sizes, and multiples of 4 for the register-blocked kernels).
    for (case, &(m, k, n)) in [(3, 180, 150), (3, 181, 151), (130, 188, 152), (131, 189, 151)].iter().enumerate() {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a_shape = if ta { [k, m] } else { [m, k] };
            let b_shape = if tb { [n, k] } else { [k, n] };
            let seed = 100 * case as u64 + 10 * ta as u64 + tb as u64;
            let (av, bv) = (rand_vec(m * k, seed), rand_vec(k * n, seed + 5));
            let want = {
                let a = Tensor::from_slice(&av, &a_shape, &Device::Cpu).unwrap();
                let b = Tensor::from_slice(&bv, &b_shape, &Device::Cpu).unwrap();
                let opts = MatmulOptions { transpose_a: ta, transpose_b: tb, ..Default::default() };
                matmul_with(&a, &b, opts).unwrap()
            };
            for variant in MatmulVariant::ALL {
                let a = Tensor::from_slice(&av, &a_shape, &dev).unwrap();
                let b = Tensor::from_slice(&bv, &b_shape, &dev).unwrap();
                let before = dispatches(&dev);
                let opts = MatmulOptions { transpose_a: ta, transpose_b: tb, variant };
                let got = matmul_with(&a, &b, opts).unwrap();
                let what = format!("[{m}, {k}] @ [{k}, {n}] ta={ta} tb={tb} {variant:?}");
                assert_close(&got, &want, RTOL, &what);
                assert!(dispatches(&dev) - before >= 2, "{what}: split into blocks");
            }
        }
    }
}

#[test]
fn dense_forward_and_gradients_past_one_binding_match_the_cpu() {
    let dev = small_binding_gpu();
    for (batch, features, units) in [(4, 3000, 92), (5, 2049, 9)] {
        let vals = [rand_vec(batch * features, 1), rand_vec(features * units, 2), rand_vec(units, 3)];
        let shapes: [&[usize]; 3] = [&[batch, features], &[features, units], &[units]];
        let run = |d: &Device| {
            let ts: Vec<Tensor> =
                vals.iter().zip(shapes).map(|(v, s)| Tensor::from_slice(v, s, d).unwrap().variable()).collect();
            let y = dense(&ts[0], &ts[1], Some(&ts[2]), Activation::Relu).unwrap();
            let g = weighted_sum(&y).unwrap().backward().unwrap();
            let grads: Vec<Tensor> = ts.iter().map(|t| g.get(t).unwrap().clone()).collect();
            (y, grads)
        };
        let ((y, grads), (want_y, want_grads)) = (run(&dev), run(&Device::Cpu));
        assert_close(&y, &want_y, RTOL, &format!("dense [{batch}, {features}] -> {units}"));
        for (i, (g, w)) in grads.iter().zip(&want_grads).enumerate() {
            assert_close(g, w, RTOL, &format!("dense [{batch}, {features}] -> {units}: gradient of input {i}"));
        }
    }
}

/// A fresh optimizer of one configuration.
type MakeOptimizer = fn() -> Box<dyn Optimizer>;

#[test]
fn optimizer_updates_past_one_binding_match_the_cpu() {
    let dev = small_binding_gpu();
    let makers: [(&str, MakeOptimizer); 3] = [
        ("adam", || Box::new(Adam::new(0.01))),
        ("rmsprop centered momentum", || Box::new(RmsProp::new(0.01).momentum(0.5).centered(true))),
        ("sgd momentum", || Box::new(Sgd::new(0.1).momentum(0.9))),
    ];
    // One variable over the limit (the per-variable update), then two (the multi-tensor one).
    for shapes in [vec![vec![100, 201]], vec![vec![7000], vec![60, 211]]] {
        for (name, make) in &makers {
            let values: Vec<Vec<f32>> =
                shapes.iter().enumerate().map(|(i, s)| rand_vec(s.iter().product(), i as u64)).collect();
            let run = |d: &Device| {
                let vars: Vec<Param> = shapes
                    .iter()
                    .zip(&values)
                    .enumerate()
                    .map(|(i, (s, v))| Param::new(format!("v{i}"), Tensor::from_slice(v, s, d).unwrap(), true))
                    .collect();
                let mut opt = make();
                for step in 0..3u64 {
                    let grads: Vec<Tensor> = shapes
                        .iter()
                        .enumerate()
                        .map(|(i, s)| {
                            Tensor::from_vec(rand_vec(s.iter().product(), 50 + 7 * step + i as u64), s, d).unwrap()
                        })
                        .collect();
                    let pairs: Vec<(&Tensor, &Param)> = grads.iter().zip(&vars).collect();
                    opt.apply(&pairs).unwrap();
                }
                vars.iter().map(|v| v.value().to_vec().unwrap()).collect::<Vec<_>>()
            };
            let (got, want) = (run(&dev), run(&Device::Cpu));
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert_close_vec(g, w, RTOL, &format!("{name}, variables {shapes:?}: variable {i} after 3 steps"));
            }
        }
    }
}

#[test]
fn fill_past_one_binding_writes_every_element() {
    let dev = small_binding_gpu();
    let n = 3 * (LIMIT as usize / 4) + 17;
    let before = dispatches(&dev);
    let v = Tensor::full(2.5, &[n], &dev).unwrap().to_vec().unwrap();
    assert!(dispatches(&dev) - before >= 4, "filled in aligned windows");
    assert_eq!(v.len(), n);
    assert!(v.iter().all(|&x| x == 2.5), "every element written");
}

#[test]
fn a_buffer_past_the_adapter_limit_is_a_typed_error() {
    let dev = small_binding_gpu();
    let g = dev.as_gpu().unwrap();
    let e = g.alloc(g.max_buffer_bytes() + 1).unwrap_err();
    assert!(matches!(&e, DeviceError::BufferTooLarge { what, .. } if what == "buffer"), "{e}");
}

#[test]
fn an_operand_that_cannot_be_split_is_a_typed_error_naming_the_shapes() {
    // Three rows of 9,001: a window of 64 aligned rows (or of all 3) passes 16,384 floats.
    let dev = small_binding_gpu();
    let a = Tensor::from_vec(rand_vec(3 * 9001, 1), &[3, 9001], &dev).unwrap();
    let b = Tensor::from_vec(rand_vec(9001 * 5, 2), &[9001, 5], &dev).unwrap();
    let e = matmul(&a, &b).unwrap_err().to_string();
    assert!(e.contains("[3, 9001] @ [9001, 5]") && e.contains("65536 bytes"), "{e}");
}

#[test]
fn a_kernel_without_a_split_refuses_a_large_tensor_naming_itself() {
    let dev = small_binding_gpu();
    let x = Tensor::from_vec(rand_vec(20_000, 3), &[20_000], &dev).unwrap();
    let e = softmax(&x.reshape(&[1, 20_000]).unwrap()).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(&e, Error::Device(DeviceError::BufferTooLarge { .. })), "{msg}");
    assert!(msg.contains("softmax.wgsl") && msg.contains("80000 bytes"), "{msg}");
}

/// Every kind of layer over activations past the lowered limit (each image fits): convs with
/// and without an activation, strided, depthwise, batch norm → ReLU, padding, pooling,
/// concatenation, add, ReLU6, dropout, global pooling, dense.
fn wide_model() -> Result<Model> {
    tessera::nn::layers::clear_session();
    let x = input(&[16, 16, 8]);
    let a = layers::Conv2D::new(16, 3).padding(Padding::Same).activation(Activation::Relu).apply(&x)?;
    // No bias before batch norm: its gradient is zero, and float noise on both devices.
    let b = layers::DepthwiseConv2D::new(3).padding(Padding::Same).use_bias(false).apply(&a)?;
    let b = layers::ReLU::new().apply(&layers::BatchNormalization::new().apply(&b)?)?;
    let c = layers::MaxPool2D::new(3).strides(1).apply(&layers::ZeroPadding2D::new(1).apply(&a)?)?;
    let d = layers::Concatenate::new().apply_many(&[&b, &c])?;
    let e = layers::Conv2D::new(32, 1).apply(&d)?;
    let f = layers::ReLU::new().max_value(6.0).apply(&layers::Add::new().apply_many(&[&d, &e])?)?;
    let f = layers::Dropout::new(0.25).apply(&f)?;
    let g = layers::Flatten::new().apply(&layers::AveragePooling2D::new(2).apply(&f)?)?;
    let h = layers::GlobalAveragePooling2D::new().apply(&f)?;
    // A strided conv, whose input gradient (a transposed conv) is as large as `a`.
    let s = layers::Conv2D::new(4, 3).strides(2).padding(Padding::Same).apply(&a)?;
    let s = layers::Flatten::new().apply(&s)?;
    let out = layers::Dense::new(5).apply(&layers::Concatenate::new().apply_many(&[&h, &g, &s])?)?;
    Model::new(&[&x], &[&out])
}

/// The training-mode output and the gradients (input, then every variable) of `wide_model`,
/// and the dispatches of that step. A first step tunes every shape class (an unlimited
/// allowance), so the counted one launches only its own kernels, whatever the cache holds.
fn wide_model_step(dev: &Device) -> (Vec<Vec<f32>>, u64) {
    dev.as_gpu().unwrap().set_tune_budget(tessera::device::TuneBudget::UNLIMITED);
    let mut m = wide_model().unwrap();
    m.build(dev, 11).unwrap();
    let x = Tensor::from_vec(rand_vec(6 * 16 * 16 * 8, 21), &[6, 16, 16, 8], dev).unwrap().variable();
    let step = || {
        let out = m.call(&x, true).unwrap();
        let g = weighted_sum(&out).unwrap().backward().unwrap();
        (out, g)
    };
    drop(step());
    dev.synchronize().unwrap();
    let before = dispatches(dev);
    let (out, g) = step();
    let mut all = vec![out.to_vec().unwrap(), g.get(&x).unwrap().to_vec().unwrap()];
    all.extend(m.trainable_variables().iter().map(|v| g.get(&v.value()).unwrap().to_vec().unwrap()));
    (all, dispatches(dev) - before)
}

#[test]
fn a_training_step_with_activations_past_one_binding_matches_the_unsplit_step() {
    gpu(); // fails (never skips) without an adapter; the steps run on devices of their own
    let (got, split_dispatches) = wide_model_step(&small_binding_gpu());
    let (want, whole_dispatches) = wide_model_step(&Device::gpu().unwrap());
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_close_vec(g, w, RTOL, &format!("item {i} (0 output, 1 input gradient, then variables)"));
    }
    assert!(split_dispatches > whole_dispatches, "{split_dispatches} vs {whole_dispatches} dispatches: split");
}
