//! A classifier's head as one op (`dense_sparse_categorical_crossentropy_with_accuracy`): a
//! Dense layer without activation, the sparse softmax cross-entropy of its logits, the
//! accuracy and the loss's gradients. The fused kernel (`shaders/dense_xent.wgsl`, on one
//! workgroup and split over several) and the three launches against the CPU twin (`dense_xent_cpu`) across odd sizes, batches, class
//! counts, the workgroup's logit limit and invalid labels; the op on the GPU against the two
//! ops on the CPU, for the unit seed and another; its finite-difference gradient check; one
//! launch against three; and Sequential models' `sparse_xent_with_accuracy`.

mod common;
use common::*;
use tessera::kernels::dense_grad::DenseDims;
use tessera::kernels::dense_xent::{dense_xent, dense_xent_cpu, HeadFusion, HEAD_MAX_LOGITS};
use tessera::nn::layers::{clear_session, sparse_xent_with_accuracy};
use tessera::prelude::*;

/// Class ids for `rows` rows of `k` classes, mixed (seeded).
fn ids(rows: usize, k: usize, seed: u64) -> Vec<f32> {
    rand_vec(rows, seed).iter().map(|v| ((v.abs() * 7.3) as usize % k) as f32).collect()
}

/// (rows, inputs, classes): LeNet-5's head, odd and small sizes, one class, the most logits
/// the workgroup holds, and sizes the fused kernel does not cover (inputs not a multiple of
/// 4, more logits than it holds), which run as three launches.
const SIZES: [(usize, usize, usize); 9] =
    [(32, 84, 10), (3, 4, 7), (1, 8, 1), (5, 12, 3), (7, 40, 17), (64, 16, 16), (2, 36, 2), (3, 6, 5), (40, 8, 30)];

/// Every way the head runs: one workgroup, split over 2, 3 (an uneven deal of the gradients'
/// elements) and 4 workgroups, the texel twin on 1 and 3, the three launches, and the tuned
/// choice.
const FUSIONS: [HeadFusion; 8] = [
    HeadFusion::Fused,
    HeadFusion::Split(2),
    HeadFusion::Split(3),
    HeadFusion::Split(4),
    HeadFusion::SplitTexels(1),
    HeadFusion::SplitTexels(3),
    HeadFusion::Separate,
    HeadFusion::Auto,
];

#[test]
fn the_head_kernel_and_the_three_launches_match_the_cpu_twin() {
    let dev = gpu();
    let gp = dev.as_gpu().unwrap();
    assert_eq!(SIZES[5].0 * SIZES[5].2, HEAD_MAX_LOGITS, "a case at the workgroup's limit");
    for (i, &(batch, inputs, units)) in SIZES.iter().enumerate() {
        let d = DenseDims { batch, inputs, units };
        let seed = 700 + 10 * i as u64;
        let (x, w, b) = (rand_vec(batch * inputs, seed), rand_vec(inputs * units, seed + 1), rand_vec(units, seed + 2));
        let mut labels = ids(batch, units, seed + 3);
        if i == 3 {
            labels[1] = 1.5; // not a class id: that row's loss and gradient are NaN
        }
        let (stats, dx, dw, db) = dense_xent_cpu(&labels, [&x, &w, &b], d);
        let bufs = [upload_f32(gp, &x), upload_f32(gp, &w), upload_f32(gp, &b)];
        let lab = upload_f32(gp, &labels);
        for fusion in FUSIONS {
            let h = dense_xent(gp, &lab, [&bufs[0], &bufs[1], &bufs[2]], d, fusion).unwrap();
            let what = |item: &str| format!("case {i} {d:?} {fusion:?}: {item}");
            let got = [read_f32(gp, &h.loss, 1)[0], read_f32(gp, &h.accuracy, 1)[0]];
            if i == 3 {
                assert!(got[0].is_nan() && stats[0].is_nan(), "{}", what("NaN loss"));
                assert_close_vec(&got[1..], &stats[1..], RTOL, &what("accuracy"));
                let row1 = read_f32(gp, &h.dx, batch * inputs)[inputs..2 * inputs].to_vec();
                assert!(row1.iter().all(|v| v.is_nan()), "{}", what("the invalid row's dx"));
                continue;
            }
            assert_close_vec(&got, &stats, RTOL, &what("loss, accuracy"));
            assert_close_vec(&read_f32(gp, &h.dx, batch * inputs), &dx, RTOL, &what("dx"));
            assert_close_vec(&read_f32(gp, &h.dw, inputs * units), &dw, RTOL, &what("dw"));
            assert_close_vec(&read_f32(gp, &h.db, units), &db, RTOL, &what("db"));
        }
    }
}

/// The op's loss and accuracy and the gradients of `seed · loss` for x, kernel and bias.
fn op_run(
    dev: &Device,
    (batch, inputs, units): (usize, usize, usize),
    seed: u64,
    scale: f32,
    fusion: HeadFusion,
) -> Vec<Vec<f32>> {
    let t = |shape: &[usize], s| Tensor::from_vec(rand_vec(shape.iter().product(), s), shape, dev).unwrap().variable();
    let (x, w, b) = (t(&[batch, inputs], seed), t(&[inputs, units], seed + 1), t(&[units], seed + 2));
    let labels = Tensor::from_vec(ids(batch, units, seed + 3), &[batch], dev).unwrap();
    let (loss, acc) = dense_sparse_categorical_crossentropy_with_accuracy_variant(&labels, &x, &w, &b, fusion).unwrap();
    let g = affine(&loss, scale, 0.0).unwrap().backward().unwrap();
    let mut all = vec![loss.to_vec().unwrap(), acc.to_vec().unwrap()];
    all.extend([&x, &w, &b].map(|v| g.get(v).unwrap().to_vec().unwrap()));
    all
}

#[test]
fn the_op_on_the_gpu_matches_the_two_ops_on_the_cpu_for_any_seed() {
    for (i, &size) in SIZES.iter().enumerate() {
        for scale in [1.0, -2.5] {
            let seed = 800 + 10 * i as u64;
            let want = op_run(&Device::Cpu, size, seed, scale, HeadFusion::Auto);
            for fusion in FUSIONS {
                let got = op_run(&gpu(), size, seed, scale, fusion);
                let what = format!("case {i} {size:?} seed {scale} {fusion:?} (loss, accuracy, dx, dw, db)");
                assert_all_close(&got, &want, &what);
            }
        }
    }
}

#[test]
fn the_head_gradients_match_finite_differences() {
    grad_check("dense_sparse_xent", &[&[5, 8], &[8, 4], &[4]], 910, |t| {
        let labels = Tensor::from_vec(vec![0.0, 3.0, 1.0, 1.0, 2.0], &[5], t[0].device())?;
        let op = dense_sparse_categorical_crossentropy_with_accuracy_variant;
        Ok(op(&labels, &t[0], &t[1], &t[2], HeadFusion::Fused)?.0)
    });
}

#[test]
fn an_invalid_label_is_an_error_naming_it() {
    let dev = gpu();
    let x = Tensor::randn(&[3, 8], 0.0, 1.0, 1, &dev).unwrap().variable();
    let w = Tensor::randn(&[8, 4], 0.0, 1.0, 2, &dev).unwrap().variable();
    let b = Tensor::zeros(&[4], &dev).unwrap().variable();
    let labels = Tensor::from_vec(vec![0.0, 4.0, 1.0], &[3], &dev).unwrap();
    let err = dense_sparse_categorical_crossentropy_with_accuracy(&labels, &x, &w, &b).unwrap_err().to_string();
    assert!(err.contains("label 4") && err.contains("[0, 4)"), "{err}");
    let short = Tensor::from_vec(vec![0.0, 1.0], &[2], &dev).unwrap();
    let err = dense_sparse_categorical_crossentropy_with_accuracy(&short, &x, &w, &b).unwrap_err().to_string();
    assert!(err.contains("[2]") && err.contains("[3, 4]"), "{err}");
}

#[test]
fn the_fused_head_is_one_dispatch_and_the_separate_one_at_least_three() {
    gpu(); // a device of this test's own, so no other test's dispatches are counted
    let dev = Device::gpu().unwrap();
    dev.as_gpu().unwrap().set_tune_budget(tessera::device::TuneBudget::UNLIMITED);
    let x = Tensor::randn(&[32, 84], 0.0, 1.0, 1, &dev).unwrap().variable();
    let w = Tensor::randn(&[84, 10], 0.0, 0.1, 2, &dev).unwrap().variable();
    let b = Tensor::zeros(&[10], &dev).unwrap().variable();
    let labels = Tensor::from_vec(ids(32, 10, 3), &[32], &dev).unwrap();
    let count = |fusion| {
        let run =
            || drop(dense_sparse_categorical_crossentropy_with_accuracy_variant(&labels, &x, &w, &b, fusion).unwrap());
        run(); // compiles and tunes
        dispatches(&dev, run)
    };
    let (fused, separate) = (count(HeadFusion::Fused), count(HeadFusion::Separate));
    assert_eq!(fused, 1);
    assert_eq!(count(HeadFusion::Split(2)), 1, "one dispatch of two workgroups");
    let views = || dev.as_gpu().unwrap().stats();
    let before = views();
    assert_eq!(count(HeadFusion::SplitTexels(2)), 1, "the texel twin: one dispatch");
    // Two runs (one compiling): labels, x, kernel and bias through texel views in each, or
    // uniform views where those pay (autotune::uniform_pays).
    let staged = |s: tessera::device::GpuStats| s.texel_views + s.uniform_views;
    assert_eq!(staged(views()) - staged(before), 8, "texel and uniform views of the twin's two runs");
    assert!(separate >= 3, "the product, the loss and the dense backward: {separate}");
}

/// A small classifier ending in Dense (no activation), as LeNet-5 does.
fn classifier(last_activation: Activation) -> Sequential {
    clear_session();
    Sequential::new()
        .with(layers::Conv2D::new(4, 3).activation(Activation::Relu))
        .with(layers::Flatten::new())
        .with(layers::Dense::new(12).activation(Activation::Relu))
        .with(layers::Dense::new(5).activation(last_activation))
}

/// `classifier` as a functional graph.
fn graph(last_activation: Activation) -> Model {
    clear_session();
    let x = input(&[7, 6, 2]);
    let c = layers::Conv2D::new(4, 3).activation(Activation::Relu).apply(&x).unwrap();
    let h =
        layers::Dense::new(12).activation(Activation::Relu).apply(&layers::Flatten::new().apply(&c).unwrap()).unwrap();
    let out = layers::Dense::new(5).activation(last_activation).apply(&h).unwrap();
    Model::new(&[&x], &[&out]).unwrap()
}

/// The loss, the accuracy and the gradients of every variable, from
/// `sparse_xent_with_accuracy` (`fused`) or from the model's output and the loss.
fn model_run(model: &dyn Layer, x: &Tensor, labels: &Tensor, fused: bool) -> Vec<Vec<f32>> {
    let (loss, acc) = match fused {
        true => sparse_xent_with_accuracy(model, x, labels, true).unwrap(),
        false => sparse_categorical_crossentropy_with_accuracy(labels, &model.call(x, true).unwrap(), true).unwrap(),
    };
    let g = loss.backward().unwrap();
    let mut all = vec![loss.to_vec().unwrap(), acc.to_vec().unwrap()];
    all.extend(tessera::nn::layers::trainable(model).iter().map(|v| g.get(&v.value()).unwrap().to_vec().unwrap()));
    all
}

#[test]
fn models_fuse_the_head_with_the_values_and_gradients_of_call_then_loss() {
    for dev in [Device::Cpu, gpu()] {
        for last in [Activation::None, Activation::Tanh] {
            let x = Tensor::from_vec(rand_vec(3 * 7 * 6 * 2, 41), &[3, 7, 6, 2], &dev).unwrap();
            let labels = Tensor::from_vec(vec![4.0, 0.0, 2.0], &[3], &dev).unwrap();
            let mut s = classifier(last);
            s.build(&[7, 6, 2], &dev, 9).unwrap();
            let what = format!("sequential on {dev}, last activation {last:?}");
            assert_all_close(&model_run(&s, &x, &labels, true), &model_run(&s, &x, &labels, false), &what);
            let mut m = graph(last);
            m.build(&dev, 9).unwrap();
            let what = format!("functional on {dev}, last activation {last:?}");
            assert_all_close(&model_run(&m, &x, &labels, true), &model_run(&m, &x, &labels, false), &what);
        }
    }
}

#[test]
fn a_models_fused_head_saves_two_launches() {
    gpu();
    let dev = Device::gpu().unwrap();
    let gp = dev.as_gpu().unwrap();
    gp.set_tune_budget(tessera::device::TuneBudget::UNLIMITED);
    // The head fused (what the tuner may or may not find faster at these tiny sizes), in
    // this device's memory only.
    gp.use_tune_cache(None);
    gp.remember_tuned("dense_xent 4x12x5 among fused|split2|split4|separate", "fused");
    let x = Tensor::randn(&[4, 7, 6, 2], 0.0, 1.0, 3, &dev).unwrap();
    let labels = Tensor::from_vec(vec![4.0, 0.0, 2.0, 1.0], &[4], &dev).unwrap();
    let mut s = classifier(Activation::None);
    s.build(&[7, 6, 2], &dev, 9).unwrap();
    let mut m = graph(Activation::None);
    m.build(&dev, 9).unwrap();
    for model in [&s as &dyn Layer, &m] {
        let step = |fused| {
            let run = || drop(model_run(model, &x, &labels, fused));
            run(); // compiles and tunes
            dispatches(&dev, run)
        };
        let (fused, separate) = (step(true), step(false));
        let head = |f| {
            let h = Tensor::randn(&[4, 12], 0.0, 1.0, 5, &dev).unwrap().variable();
            let v = tessera::nn::layers::trainable(model);
            let (w, b) = (v[v.len() - 2].value(), v[v.len() - 1].value());
            let run = || {
                drop(
                    dense_sparse_categorical_crossentropy_with_accuracy_variant(&labels, &h, &w, &b, f)
                        .unwrap()
                        .0
                        .backward()
                        .unwrap(),
                )
            };
            run();
            dispatches(&dev, run)
        };
        // The model's step saves what the head op saves (1 launch against the separate
        // head's 3 or more).
        assert_eq!(separate - fused, head(HeadFusion::Separate) - head(HeadFusion::Auto), "{}", model.name());
        assert!(separate >= fused + 2, "{}: {separate} launches, fused {fused}", model.name());
    }
}

#[test]
fn tied_logits_count_their_first_argmax_as_keras_does() {
    let dev = gpu();
    let gp = dev.as_gpu().unwrap();
    let d = DenseDims { batch: 4, inputs: 4, units: 3 };
    let (x, w, b) = (rand_vec(16, 5), vec![0.0; 12], vec![0.5; 3]);
    let labels = [0.0, 1.0, 0.0, 2.0];
    let (stats, ..) = dense_xent_cpu(&labels, [&x, &w, &b], d);
    assert_eq!(stats[1], 0.5, "the twin: label 0 is the first argmax of every row");
    let bufs = [upload_f32(gp, &x), upload_f32(gp, &w), upload_f32(gp, &b)];
    for fusion in [HeadFusion::Fused, HeadFusion::Separate] {
        let h = dense_xent(gp, &upload_f32(gp, &labels), [&bufs[0], &bufs[1], &bufs[2]], d, fusion).unwrap();
        assert_eq!(read_f32(gp, &h.accuracy, 1)[0], 0.5, "{fusion:?}");
    }
}

#[test]
fn fit_steps_through_the_fused_head_with_the_logs_and_updates_of_the_unfused_step() {
    gpu();
    let dev = Device::gpu().unwrap();
    let gp = dev.as_gpu().unwrap();
    gp.use_tune_cache(None); // the head fused, in this device's memory only
    gp.remember_tuned("dense_xent 6x12x5 among fused|split2|split4|separate", "fused");
    let x = Tensor::from_vec(rand_vec(6 * 7 * 6 * 2, 61), &[6, 7, 6, 2], &dev).unwrap();
    let y = Tensor::from_vec(vec![4.0, 0.0, 2.0, 1.0, 3.0, 2.0], &[6], &dev).unwrap();
    let loss = Loss::SparseCategoricalCrossentropy { from_logits: true };
    let compiled = |metrics: &[Metric]| {
        let mut s = classifier(Activation::None);
        s.build(&[7, 6, 2], &dev, 13).unwrap();
        s.compile(Sgd::new(0.1), loss, metrics)
    };
    // Accuracy alone fuses; a top-k metric needs the logits, so that step runs unfused.
    let mut fused = compiled(&[Metric::Accuracy, Metric::SparseCategoricalAccuracy]);
    let mut unfused = compiled(&[
        Metric::Accuracy,
        Metric::SparseCategoricalAccuracy,
        Metric::SparseTopKCategoricalAccuracy { k: 2 },
    ]);
    for step in 0..3 {
        let (a, b) = (fused.train_on_batch(&x, &y).unwrap(), unfused.train_on_batch(&x, &y).unwrap());
        for key in ["loss", "accuracy", "sparse_categorical_accuracy"] {
            assert_close_vec(&[a[key]], &[b[key]], RTOL, &format!("step {step}: {key}"));
        }
    }
    let weights =
        |m: &dyn Layer| -> Vec<Vec<f32>> { m.variables().iter().map(|v| v.value().to_vec().unwrap()).collect() };
    assert_all_close(&weights(fused.model()), &weights(unfused.model()), "weights after three steps");
}
