//! conv2d followed by a 2x2 max pooling (and an activation) as one op (`conv2d_max_pool2d`):
//! the fused GPU kernel (`conv2d_direct_sg_k_pool`, `conv2d_direct4_sg_k_pool`, reading storage
//! buffers or texel views), the two
//! launches and the autotuned choice against the CPU twin (conv2d then max_pool2d) in values
//! and gradients, across odd sizes, batches, channel counts, strides, padding and
//! activations; its finite-difference gradient check; one dispatch where the kernel covers
//! the conv, and the models' peephole (Conv2D → MaxPool2D → ReLU) in Sequential and functional
//! models.

mod common;
use common::*;
use tessera::nn::layers::clear_session;
use tessera::prelude::*;

/// One case: input and filter shapes, conv options, a bias, the pooled activation.
struct Case {
    x: [usize; 4],
    f: [usize; 4],
    conv: Conv2dOptions,
    bias: bool,
    act: Activation,
}

fn cases() -> Vec<Case> {
    let same = Conv2dOptions::default().padding(Padding::Same);
    let c = |x, f, conv, bias, act| Case { x, f, conv, bias, act };
    vec![
        // LeNet-5's two convs (1 and 6 input channels; 26 and 11 output rows: odd leaves a row).
        c([2, 28, 28, 1], [3, 3, 1, 6], Conv2dOptions::default(), true, Activation::Relu),
        c([3, 13, 13, 6], [3, 3, 6, 16], Conv2dOptions::default(), true, Activation::Relu),
        // Non-square, odd sizes, 5 channels (a partial 8-channel block), no bias, no activation.
        c([3, 13, 11, 3], [3, 3, 3, 5], Conv2dOptions::default(), false, Activation::None),
        // cin % 4 == 0 (the vec4 kernel), two channel blocks, SAME padding, a 2x3 window.
        c([2, 10, 7, 16], [2, 3, 16, 12], same, true, Activation::Relu),
        c([1, 9, 14, 4], [3, 2, 4, 9], same, true, Activation::Sigmoid),
        // Strides 2 down the rows (rows still slide), explicit padding, tanh.
        c([2, 15, 9, 2], [3, 1, 2, 9], same.strides([2, 1]), true, Activation::Tanh),
        // The conv's own activation (Keras's Conv2D(activation=...) → MaxPool2D), then none or
        // another one after the pooling.
        c([2, 12, 10, 3], [3, 3, 3, 8], Conv2dOptions::default().activation(Activation::Relu), true, Activation::None),
        c([3, 9, 11, 5], [3, 3, 5, 6], same.activation(Activation::Tanh), true, Activation::Relu),
        c(
            [2, 8, 9, 3],
            [3, 3, 3, 4],
            Conv2dOptions::default().padding(Padding::Explicit([[1, 0], [2, 1]])),
            false,
            Activation::Relu,
        ),
        // Not covered by the fused kernel (a 5x5 window, strides 2 along rows, 20 input
        // channels): the same op runs as two launches.
        c([2, 11, 12, 2], [5, 5, 2, 3], Conv2dOptions::default(), true, Activation::Relu),
        c([2, 12, 12, 3], [3, 3, 3, 4], Conv2dOptions::default().strides(2), true, Activation::None),
        c([1, 6, 8, 20], [3, 3, 20, 4], same, true, Activation::Relu),
    ]
}

/// The op's output and the gradients of `Σ out·r` w.r.t. x, the filter and the bias.
fn run(c: &Case, dev: &Device, seed: u64, fusion: PoolFusion) -> Vec<Vec<f32>> {
    let x = Tensor::from_vec(rand_vec(c.x.iter().product(), seed), &c.x, dev).unwrap().variable();
    let f = Tensor::from_vec(rand_vec(c.f.iter().product(), seed + 1), &c.f, dev).unwrap().variable();
    let b = Tensor::from_vec(rand_vec(c.f[3], seed + 2), &[c.f[3]], dev).unwrap().variable();
    let bias = c.bias.then_some(&b);
    let pool = PoolOptions::new(2).activation(c.act);
    let y = conv2d_max_pool2d_variant(&x, &f, bias, &c.conv, &pool, fusion).unwrap();
    let g = weighted_sum(&y).unwrap().backward().unwrap();
    let mut all = vec![y.to_vec().unwrap(), g.get(&x).unwrap().to_vec().unwrap(), g.get(&f).unwrap().to_vec().unwrap()];
    if c.bias {
        all.push(g.get(&b).unwrap().to_vec().unwrap());
    }
    all
}

#[test]
fn fused_conv_max_pool_matches_the_cpu_twin_in_values_and_gradients() {
    for (i, c) in cases().iter().enumerate() {
        let seed = 500 + 10 * i as u64;
        let want = run(c, &Device::Cpu, seed, PoolFusion::Auto);
        // The CPU path is conv2d then max_pool2d: the fused op's shape is the pooling's.
        let x = Tensor::zeros(&c.x, &Device::Cpu).unwrap();
        let f = Tensor::zeros(&c.f, &Device::Cpu).unwrap();
        let two = max_pool2d(&conv2d(&x, &f, &c.conv).unwrap(), &PoolOptions::new(2)).unwrap();
        assert_eq!(want[0].len(), two.numel(), "case {i}: pooled size");
        // The texel twin (a pipeline per geometry, slow to compile) on LeNet-5's two convs and
        // the vec4 kernel's case.
        let texels = [0, 1, 3].contains(&i);
        let fusions = [PoolFusion::Fused, PoolFusion::Separate, PoolFusion::Auto];
        for fusion in fusions.into_iter().chain(texels.then_some(PoolFusion::FusedTexels)) {
            let got = run(c, &gpu(), seed, fusion);
            for (k, (g, w)) in got.iter().zip(&want).enumerate() {
                let what = format!("case {i} {:?} {:?} {:?} {fusion:?}: item {k} (y, dx, dw, db)", c.x, c.f, c.act);
                assert_close_vec(g, w, RTOL, &what);
            }
        }
    }
}

#[test]
fn fused_conv_max_pool_gradients_match_finite_differences() {
    let pool = PoolOptions::new(2).activation(Activation::Relu);
    let conv = Conv2dOptions::default();
    grad_check("conv2d_max_pool2d", &[&[2, 7, 9, 3], &[3, 3, 3, 4], &[4]], 620, |t| {
        conv2d_max_pool2d(&t[0], &t[1], Some(&t[2]), &conv, &pool)
    });
}

/// Whether the adapter runs the fused kernel: subgroups of one even size of 8 to 64.
fn fusing_adapter(dev: &Device) -> bool {
    dev.as_gpu().unwrap().subgroup_sizes().is_some_and(|(lo, hi)| lo == hi && (8..=64).contains(&lo) && lo % 2 == 0)
}

#[test]
fn the_fused_kernel_is_one_dispatch_and_the_two_launches_two() {
    gpu(); // a device of this test's own, so no other test's dispatches are counted
    let dev = Device::gpu().unwrap();
    // Every shape class tunes on its first use, so later calls launch the same kernels.
    dev.as_gpu().unwrap().set_tune_budget(tessera::device::TuneBudget::UNLIMITED);
    let x = Tensor::randn(&[2, 13, 13, 6], 0.0, 1.0, 1, &dev).unwrap();
    let f = Tensor::randn(&[3, 3, 6, 16], 0.0, 1.0, 2, &dev).unwrap();
    let pool = PoolOptions::new(2).activation(Activation::Relu);
    let conv = Conv2dOptions::default();
    let count = |fusion| {
        let run = || drop(conv2d_max_pool2d_variant(&x, &f, None, &conv, &pool, fusion).unwrap());
        run(); // compiles (and tunes the separate path's conv)
        dispatches(&dev, run)
    };
    let want_fused = if fusing_adapter(&dev) { 1 } else { 2 };
    let counts = [PoolFusion::Fused, PoolFusion::FusedTexels, PoolFusion::Separate].map(count);
    assert_eq!(counts, [want_fused, want_fused, 2]);
}

/// Conv2D → MaxPool2D → ReLU → Conv2D (relu) → MaxPool2D → Flatten → Dense: both runs fuse
/// (the first with its ReLU, the second after the conv's own).
fn seq() -> Sequential {
    Sequential::new()
        .with(layers::Conv2D::new(6, 3))
        .with(layers::MaxPool2D::new(2))
        .with(layers::ReLU::new())
        .with(layers::Conv2D::new(8, 3).activation(Activation::Relu))
        .with(layers::MaxPool2D::new(2))
        .with(layers::Flatten::new())
        .with(layers::Dense::new(3))
}

/// `seq` as a functional graph; with `expose`, the first pooling's output is a second model
/// output (the conv and the pooling still fuse, the ReLU runs on its own).
fn graph(expose: bool) -> Result<Model> {
    clear_session();
    let x = input(&[14, 13, 2]);
    let c = layers::Conv2D::new(6, 3).apply(&x)?;
    let p = layers::MaxPool2D::new(2).apply(&c)?;
    let r = layers::ReLU::new().apply(&p)?;
    let c2 = layers::Conv2D::new(8, 3).activation(Activation::Relu).apply(&r)?;
    let p2 = layers::MaxPool2D::new(2).apply(&c2)?;
    let out = layers::Dense::new(3).apply(&layers::Flatten::new().apply(&p2)?)?;
    match expose {
        true => Model::new(&[&x], &[&out, &p]),
        false => Model::new(&[&x], &[&out]),
    }
}

#[test]
fn models_fuse_conv_max_pool_relu_with_the_values_and_gradients_of_the_layers_one_by_one() {
    for dev in [Device::Cpu, gpu()] {
        let (xc, _) = pair(&[3, 14, 13, 2], 31);
        let x = xc.to_device(&dev).unwrap().variable();
        let mut s = seq();
        s.build(&[14, 13, 2], &dev, 5).unwrap();
        let vars = s.trainable_variables();
        let fused = values_and_grads(&s.call(&x, true).unwrap(), &x, &vars);
        let one_by_one = s.layers().iter().try_fold(x.clone(), |h, l| l.call(&h, true)).unwrap();
        let want = values_and_grads(&one_by_one, &x, &vars);
        assert_all_close(&fused, &want, &format!("sequential on {dev}"));
        let mut m = graph(false).unwrap();
        m.build(&dev, 5).unwrap();
        let vars = m.trainable_variables();
        let fused = values_and_grads(&m.call(&x, true).unwrap(), &x, &vars);
        let layers = m.layers();
        let one_by_one = layers.iter().try_fold(x.clone(), |h, l| l.call(&[h], true)).unwrap();
        let want = values_and_grads(&one_by_one, &x, &vars);
        assert_all_close(&fused, &want, &format!("functional on {dev}"));
    }
}

#[test]
fn models_launch_the_conv_pool_and_relu_once_and_keep_an_exposed_pooling_output() {
    gpu();
    let dev = Device::gpu().unwrap();
    // Every shape class tunes on its first use, so later calls launch the same kernels.
    dev.as_gpu().unwrap().set_tune_budget(tessera::device::TuneBudget::UNLIMITED);
    let x = Tensor::randn(&[2, 14, 13, 2], 0.0, 1.0, 7, &dev).unwrap();
    let mut s = seq();
    s.build(&[14, 13, 2], &dev, 3).unwrap();
    let mut m = graph(false).unwrap();
    m.build(&dev, 3).unwrap();
    let mut exposed = graph(true).unwrap();
    exposed.build(&dev, 3).unwrap();
    let one_by_one = || drop(s.layers().iter().try_fold(x.clone(), |h, l| l.call(&h, false)).unwrap());
    one_by_one(); // tunes the conv kernels
    drop(s.call(&x, false).unwrap());
    // Each conv + pooling alone, as the model runs it (1 launch fused, else 2).
    let layers = s.layers();
    let h = layers[..3].iter().try_fold(x.clone(), |h, l| l.call(&h, false)).unwrap();
    let conv_pool = |i: usize, input: &Tensor, conv: Conv2dOptions, act| {
        let v = layers[i].variables();
        let opts = PoolOptions::new(2).activation(act);
        let op = || drop(conv2d_max_pool2d(input, &v[0].value(), Some(&v[1].value()), &conv, &opts));
        op();
        dispatches(&dev, op)
    };
    let first = conv_pool(0, &x, Conv2dOptions::default(), Activation::Relu);
    let second = conv_pool(3, &h, Conv2dOptions::default().activation(Activation::Relu), Activation::None);
    let n_layers = dispatches(&dev, one_by_one);
    let n_seq = dispatches(&dev, || drop(s.call(&x, false).unwrap()));
    // conv, pool, relu one by one (3) and conv, pool (2) against the fused runs.
    assert_eq!(n_layers - n_seq, (3 - first) + (2 - second), "sequential");
    let graph_calls = |m: &Model| {
        let run = || drop(m.call_many(std::slice::from_ref(&x), false).unwrap());
        run();
        dispatches(&dev, run)
    };
    assert_eq!(graph_calls(&m), n_seq, "the functional model fuses as Sequential does");
    // Exposing the pooling keeps the ReLU apart (one more launch); the exposed output is the
    // pooling's, before the ReLU.
    assert_eq!(graph_calls(&exposed), n_seq + 1);
    let outs = exposed.call_many(std::slice::from_ref(&x), false).unwrap();
    assert!(outs[1].to_vec().unwrap().iter().any(|v| *v < 0.0), "the pooling output is before the ReLU");
    let want = exposed.layers()[..2].iter().try_fold(x.clone(), |h, l| l.call(&[h], false)).unwrap();
    assert_close(&outs[1], &want, RTOL, "exposed pooling output");
}
