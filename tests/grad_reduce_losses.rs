//! Gradients of reductions, softmax/log-softmax, concat/slice and the losses (finite
//! differences on the CPU twin + GPU-vs-CPU gradient parity), GPU-vs-CPU parity of the new
//! kernels (reduction gradients, softmax gradient, slice, fused cross-entropy, one-hot,
//! accuracy), hand-checked loss values, stability for large logits, and shape errors.

mod common;
use common::*;
use tessera::prelude::*;

type ReduceFn = fn(&Tensor, Option<&[usize]>, bool) -> Result<Tensor>;
const REDUCERS: [(&str, ReduceFn); 3] = [("sum", reduce_sum), ("mean", reduce_mean), ("max", reduce_max)];

/// Every non-empty subset of `0..rank`.
fn subsets(rank: usize) -> Vec<Vec<usize>> {
    (1..1usize << rank).map(|m| (0..rank).filter(|a| m >> a & 1 == 1).collect()).collect()
}

/// Deterministic class ids in `[0, k)` for `n` rows.
fn ids(n: usize, k: usize, seed: u64) -> Vec<f32> {
    rand_vec(n, seed).iter().map(|v| ((v.abs() * 7919.0) as usize % k) as f32).collect()
}

fn assert_shape_err(r: Result<Tensor>, needle: &str) {
    let Err(e) = r else { panic!("expected an error naming {needle}") };
    assert!(matches!(e, Error::Shape { .. }) && e.to_string().contains(needle), "{e} should name {needle}");
}

#[test]
fn reduction_gradients_on_every_axis_subset_and_keepdims() {
    let shapes: [&[usize]; 4] = [&[7], &[5, 3], &[2, 7, 5], &[2, 3, 4, 3]];
    for (si, shape) in shapes.iter().enumerate() {
        let mut all: Vec<Option<Vec<usize>>> = subsets(shape.len()).into_iter().map(Some).collect();
        all.push(None);
        for axes in &all {
            for keep in [false, true] {
                for (name, f) in REDUCERS {
                    let what = format!("{name} {shape:?} axes {axes:?} keepdims {keep}");
                    grad_check(&what, &[shape], 200 + si as u64, |x| f(&x[0], axes.as_deref(), keep));
                }
            }
        }
    }
}

#[test]
fn reduction_gradient_kernels_match_cpu() {
    let cases: [(&[usize], &[usize]); 6] = [
        (&[7], &[0]),
        (&[5, 3], &[1]),
        (&[2, 7, 5], &[0, 2]),
        (&[3, 1, 4, 2, 5], &[1, 2, 4]),
        (&[3, 4097], &[1]),
        (&[9, 8, 7], &[0, 1, 2]),
    ];
    for (i, (shape, axes)) in cases.iter().enumerate() {
        let (xc, xg) = pair(shape, 300 + i as u64);
        let mut flags = vec![false; shape.len()];
        axes.iter().for_each(|&a| flags[a] = true);
        let out: Vec<usize> = shape.iter().zip(&flags).filter(|(_, &r)| !r).map(|(&d, _)| d).collect();
        let (gc, gg) = pair(&out, 400 + i as u64);
        let want = broadcast_reduced(&gc, shape, &flags, 0.5).unwrap();
        assert_close(&broadcast_reduced(&gg, shape, &flags, 0.5).unwrap(), &want, RTOL, &format!("bcast {shape:?}"));
        let want = reduce_max_grad(&xc, &gc, &flags).unwrap();
        assert_close(&reduce_max_grad(&xg, &gg, &flags).unwrap(), &want, 0.0, &format!("max grad {shape:?}"));
    }
}

#[test]
fn reduce_max_gradient_goes_to_the_first_tie() {
    for dev in [Device::Cpu, gpu()] {
        let x = Tensor::from_slice(&[1., 5., 5., 2., 2., 0.], &[2, 3], &dev).unwrap().variable();
        let g = reduce_sum(&reduce_max(&x, Some(&[1]), false).unwrap(), None, false).unwrap().backward().unwrap();
        assert_eq!(g.get(&x).unwrap().to_vec().unwrap(), vec![0., 1., 0., 1., 0., 0.]);
        let y = Tensor::from_slice(&[3., 1., 0., 3.], &[2, 2], &dev).unwrap().variable();
        let g = reduce_max(&y, None, false).unwrap().backward().unwrap();
        assert_eq!(g.get(&y).unwrap().to_vec().unwrap(), vec![1., 0., 0., 0.]);
        let z = Tensor::from_slice(&[1., 2., 3., 4., 5., 6.], &[2, 3], &dev).unwrap().variable();
        let g = reduce_mean(&z, Some(&[0]), true).unwrap();
        let g = reduce_sum(&g, None, false).unwrap().backward().unwrap();
        assert_eq!(g.get(&z).unwrap().to_vec().unwrap(), vec![0.5; 6]);
    }
}

#[test]
fn argmax_has_no_gradient() {
    let x = Tensor::from_slice(&[1., 3., 2.], &[3], &gpu()).unwrap().variable();
    assert!(!argmax(&x, 0).unwrap().requires_grad());
}

#[test]
fn softmax_and_log_softmax_gradients() {
    let shapes: [&[usize]; 5] = [&[7], &[3, 10], &[2, 3, 5], &[2, 600], &[1, 1]];
    for (i, shape) in shapes.iter().enumerate() {
        grad_check(&format!("softmax {shape:?}"), &[shape], 500 + i as u64, |x| softmax(&x[0]));
        grad_check(&format!("log_softmax {shape:?}"), &[shape], 510 + i as u64, |x| log_softmax(&x[0]));
    }
}

#[test]
fn softmax_gradient_kernels_match_cpu_with_every_variant() {
    let shapes: [&[usize]; 7] = [&[1], &[10], &[7, 10], &[3, 1000], &[2049, 5], &[13, 71], &[520, 509]];
    for (i, shape) in shapes.iter().enumerate() {
        let (xc, xg) = pair(shape, 520 + i as u64);
        let (gc, gg) = pair(shape, 530 + i as u64);
        for log in [false, true] {
            let yc = softmax_with(&xc, log, SoftmaxVariant::Auto).unwrap();
            let yg = softmax_with(&xg, log, SoftmaxVariant::Auto).unwrap();
            let want = softmax_grad(&yc, &gc, log).unwrap();
            for v in [SoftmaxVariant::Auto, SoftmaxVariant::Rows, SoftmaxVariant::Workgroup, SoftmaxVariant::Subgroup] {
                let got = softmax_grad_with(&yg, &gg, log, v).unwrap();
                assert_close(&got, &want, RTOL, &format!("softmax_grad log={log} {shape:?} {v:?}"));
            }
        }
    }
    let y = Tensor::zeros(&[2, 3], &gpu()).unwrap();
    assert_shape_err(softmax_grad(&y, &Tensor::zeros(&[3, 2], &gpu()).unwrap(), false), "[3, 2]");
}

#[test]
fn concat_and_slice_gradients_on_every_axis() {
    let base = [2usize, 3, 5, 4];
    for axis in 0..4 {
        let shapes: Vec<Vec<usize>> = [1usize, 3, 2]
            .iter()
            .map(|&s| {
                let mut v = base.to_vec();
                v[axis] = s;
                v
            })
            .collect();
        let refs: Vec<&[usize]> = shapes.iter().map(|s| &s[..]).collect();
        grad_check(&format!("concat axis {axis}"), &refs, 600 + axis as u64, |x| {
            concat(&x.iter().collect::<Vec<_>>(), axis)
        });
        let (start, len) = (1, base[axis] - 2);
        grad_check(&format!("slice axis {axis}"), &[&base], 610 + axis as u64, |x| slice(&x[0], axis, start, len));
        grad_check(&format!("slice head axis {axis}"), &[&base], 620, |x| slice(&x[0], axis, 0, 1));
    }
}

#[test]
fn slice_matches_cpu_and_by_hand() {
    let shape = [3usize, 7, 5, 2];
    let (xc, xg) = pair(&shape, 630);
    for axis in 0..4 {
        for (start, len) in [(0, 1), (1, shape[axis] - 1), (0, shape[axis]), (shape[axis] / 2, 0)] {
            let want = slice(&xc, axis, start, len).unwrap();
            let mut expect = shape.to_vec();
            expect[axis] = len;
            assert_eq!(want.shape(), &expect[..]);
            assert_close(&slice(&xg, axis, start, len).unwrap(), &want, 0.0, &format!("slice {axis} {start} {len}"));
        }
    }
    let x = Tensor::from_slice(&[1., 2., 3., 4., 5., 6.], &[2, 3], &gpu()).unwrap();
    assert_eq!(slice(&x, 1, 1, 2).unwrap().to_vec().unwrap(), vec![2., 3., 5., 6.]);
    assert_eq!(slice(&x, 0, 1, 1).unwrap().to_vec().unwrap(), vec![4., 5., 6.]);
    assert_shape_err(slice(&x, 1, 2, 2), "[2, 3]");
    assert_shape_err(slice(&x, 2, 0, 1), "[2, 3]");
    assert_shape_err(slice(&x, 0, usize::MAX, 2), "[2, 3]");
}

#[test]
fn softmax_cross_entropy_gradients_for_one_hot_and_probability_labels() {
    for (n, k) in [(1usize, 3usize), (5, 10), (3, 7)] {
        grad_check(&format!("xent one-hot {n}x{k}"), &[&[n, k]], 700 + k as u64, |x| {
            let lab = one_hot(&Tensor::from_vec(ids(n, k, 701), &[n], x[0].device())?, k)?;
            softmax_cross_entropy_with_logits(&lab, &x[0])
        });
        grad_check(&format!("xent probabilities {n}x{k}"), &[&[n, k]], 710 + k as u64, |x| {
            let lab = softmax(&Tensor::randn(&[n, k], 0.0, 2.0, 711, x[0].device())?)?;
            softmax_cross_entropy_with_logits(&lab, &x[0])
        });
        grad_check(&format!("xent labels and logits {n}x{k}"), &[&[n, k], &[n, k]], 720 + k as u64, |x| {
            // Labels as probability rows (TF's logits gradient softmax − labels assumes rows
            // summing to 1), differentiated through softmax.
            softmax_cross_entropy_with_logits(&softmax(&x[0])?, &x[1])
        });
        grad_check(&format!("sparse xent {n}x{k}"), &[&[n, k]], 730 + k as u64, |x| {
            sparse_softmax_cross_entropy_with_logits(&Tensor::from_vec(ids(n, k, 731), &[n], x[0].device())?, &x[0])
        });
    }
    grad_check("xent rank 3", &[&[2, 3, 4]], 740, |x| {
        let lab = softmax(&Tensor::randn(&[2, 3, 4], 0.0, 1.0, 741, x[0].device())?)?;
        softmax_cross_entropy_with_logits(&lab, &x[0])
    });
}

#[test]
fn keras_loss_gradients() {
    let (n, k) = (6usize, 5usize);
    let lab = |d: &Device| Tensor::from_vec(ids(n, k, 801), &[n], d).unwrap();
    for from_logits in [true, false] {
        let prep = move |x: &Tensor| if from_logits { Ok(x.clone()) } else { sigmoid(x) };
        grad_check(&format!("categorical from_logits={from_logits}"), &[&[n, k]], 800, |x| {
            categorical_crossentropy(&one_hot(&lab(x[0].device()), k)?, &prep(&x[0])?, from_logits)
        });
        grad_check(&format!("categorical soft labels from_logits={from_logits}"), &[&[n, k]], 802, |x| {
            let soft = softmax(&Tensor::randn(&[n, k], 0.0, 1.0, 803, x[0].device())?)?;
            categorical_crossentropy(&soft, &prep(&x[0])?, from_logits)
        });
        grad_check(&format!("sparse categorical from_logits={from_logits}"), &[&[n, k]], 804, |x| {
            sparse_categorical_crossentropy(&lab(x[0].device()), &prep(&x[0])?, from_logits)
        });
        grad_check(&format!("sparse categorical with accuracy from_logits={from_logits}"), &[&[n, k]], 806, |x| {
            Ok(sparse_categorical_crossentropy_with_accuracy(&lab(x[0].device()), &prep(&x[0])?, from_logits)?.0)
        });
    }
    grad_check("mean_squared_error", &[&[4, 3], &[4, 3]], 810, |x| mean_squared_error(&x[0], &x[1]));
}

#[test]
fn fused_cross_entropy_kernels_match_cpu() {
    for (i, (n, k)) in [(1usize, 10usize), (7, 10), (33, 10), (3, 1000), (65, 1000), (5, 1)].into_iter().enumerate() {
        let seed = 900 + 10 * i as u64;
        let (xc, xg) = pair(&[n, k], seed);
        let (xc, xg) = (affine(&xc, 4.0, 0.0).unwrap(), affine(&xg, 4.0, 0.0).unwrap());
        let (pc, pg) = pair(&[n, k], seed + 1);
        let (lc, lg) = (softmax(&pc).unwrap(), softmax(&pg).unwrap());
        let id = ids(n, k, seed + 2);
        let (ic, ig) =
            (Tensor::from_slice(&id, &[n], &Device::Cpu).unwrap(), Tensor::from_slice(&id, &[n], &gpu()).unwrap());
        let what = format!("{n}x{k}");
        let want = softmax_cross_entropy_with_logits(&lc, &xc).unwrap();
        assert_close(&softmax_cross_entropy_with_logits(&lg, &xg).unwrap(), &want, RTOL, &format!("xent {what}"));
        let want = sparse_softmax_cross_entropy_with_logits(&ic, &xc).unwrap();
        assert_close(
            &sparse_softmax_cross_entropy_with_logits(&ig, &xg).unwrap(),
            &want,
            RTOL,
            &format!("sparse {what}"),
        );
        // Backward kernels through backward() with a random upstream gradient.
        for sparse in [false, true] {
            let grad = |x: &Tensor, l: &Tensor, li: &Tensor| {
                let x = x.detach().variable();
                let loss = if sparse {
                    sparse_softmax_cross_entropy_with_logits(li, &x).unwrap()
                } else {
                    softmax_cross_entropy_with_logits(l, &x).unwrap()
                };
                let g = weighted_sum(&loss).unwrap().backward().unwrap();
                g.get(&x).unwrap().clone()
            };
            assert_close(
                &grad(&xg, &lg, &ig),
                &grad(&xc, &lc, &ic),
                RTOL,
                &format!("xent grad sparse={sparse} {what}"),
            );
        }
        let want = one_hot(&ic, k).unwrap();
        assert_close(&one_hot(&ig, k).unwrap(), &want, 0.0, &format!("one_hot {what}"));
        let want = accuracy(&ic, &xc).unwrap();
        assert_close(&accuracy(&ig, &xg).unwrap(), &want, 0.0, &format!("accuracy {what}"));
    }
}

#[test]
fn losses_by_hand() {
    let want = 0.407_605_96f32; // −ln(e³ / (e + e² + e³))
    let close = |t: Tensor, v: &[f32], what: &str| assert_close_vec(&t.to_vec().unwrap(), v, 1e-6, what);
    for dev in [Device::Cpu, gpu()] {
        let logits = Tensor::from_slice(&[1., 2., 3.], &[1, 3], &dev).unwrap();
        let id = Tensor::from_slice(&[2.], &[1], &dev).unwrap();
        let oh = Tensor::from_slice(&[0., 0., 1.], &[1, 3], &dev).unwrap();
        close(softmax_cross_entropy_with_logits(&oh, &logits).unwrap(), &[want], "dense");
        close(sparse_softmax_cross_entropy_with_logits(&id, &logits).unwrap(), &[want], "sparse");
        let l = categorical_crossentropy(&oh, &logits, true).unwrap();
        assert_eq!(l.shape(), &[] as &[usize]);
        close(l, &[want], "categorical");
        close(sparse_categorical_crossentropy(&id, &logits, true).unwrap(), &[want], "sparse categorical");
        // Probabilities: normalised rows (Keras), and clipping at 1e-7.
        let p = Tensor::from_slice(&[1., 1., 2., 0., 1., 0.], &[2, 3], &dev).unwrap();
        let oh2 = Tensor::from_slice(&[0., 0., 1., 1., 0., 0.], &[2, 3], &dev).unwrap();
        let clip = -(1e-7f32).ln();
        close(categorical_crossentropy(&oh2, &p, false).unwrap(), &[(0.5f32.ln().abs() + clip) / 2.0], "probs");
        let q = Tensor::from_slice(&[0.2, 0.3, 0.5, 0., 1., 0.], &[2, 3], &dev).unwrap();
        let ids2 = Tensor::from_slice(&[2., 0.], &[2], &dev).unwrap();
        let sparse_want = (-(0.5f32.ln()) + -((1e-7f32) / (2.0 * 1e-7 + (1.0 - 1e-7))).ln()) / 2.0;
        close(sparse_categorical_crossentropy(&ids2, &q, false).unwrap(), &[sparse_want], "sparse probs");
        // Gradient: softmax − one-hot.
        let x = logits.detach().variable();
        let g = sparse_categorical_crossentropy(&id, &x, true).unwrap().backward().unwrap();
        let e = [1f32.exp(), 2f32.exp(), 3f32.exp()];
        let s = e[0] + e[1] + e[2];
        close(g.get(&x).unwrap().clone(), &[e[0] / s, e[1] / s, e[2] / s - 1.0], "xent gradient");
        // MSE, one-hot, accuracy.
        let a = Tensor::from_slice(&[1., 2., 3., 4.], &[2, 2], &dev).unwrap();
        close(mean_squared_error(&Tensor::ones(&[2, 2], &dev).unwrap(), &a).unwrap(), &[3.5], "mse");
        let labels = Tensor::from_slice(&[2., 0., 5., 1.5, -1.], &[5], &dev).unwrap();
        let oh = one_hot(&labels, 3).unwrap();
        assert_eq!(oh.shape(), &[5, 3]);
        close(oh, &[0., 0., 1., 1., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0.], "one_hot");
        let lg = Tensor::from_slice(&[1., 3., 2., 5., 5., 0., 0., 1., 2.], &[3, 3], &dev).unwrap();
        let acc = accuracy(&Tensor::from_slice(&[1., 1., 2.], &[3], &dev).unwrap(), &lg).unwrap();
        assert_eq!(acc.shape(), &[] as &[usize]);
        close(acc, &[2.0 / 3.0], "accuracy");
        // The loss and the accuracy together (one dispatch on the GPU): row 0 [1, 2, 3] id 2
        // (right), row 1 [3, 2, 1] id 2 (wrong, loss 3 − 1 + the same log-sum).
        let lg2 = Tensor::from_slice(&[1., 2., 3., 3., 2., 1.], &[2, 3], &dev).unwrap().variable();
        let ids2 = Tensor::from_slice(&[2., 2.], &[2], &dev).unwrap();
        let (l, a) = sparse_categorical_crossentropy_with_accuracy(&ids2, &lg2, true).unwrap();
        assert_eq!((l.shape(), a.shape()), (&[] as &[usize], &[] as &[usize]));
        close(a, &[0.5], "fused accuracy");
        close(l.detach(), &[(want + want + 2.0) / 2.0], "fused loss");
        let g = l.backward().unwrap().remove(&lg2).unwrap();
        let d = [e[0] / s, e[1] / s, e[2] / s - 1.0];
        close(
            g,
            &[d[0] / 2.0, d[1] / 2.0, d[2] / 2.0, d[2] / 2.0 + 0.5, d[1] / 2.0, d[0] / 2.0 - 0.5],
            "fused gradient",
        );
    }
}

/// Close values, NaN exactly where `want` is NaN.
fn close_or_nan(got: &[f32], want: &[f32], what: &str) {
    let nan = |v: &[f32]| v.iter().map(|x| x.is_nan()).collect::<Vec<_>>();
    assert_eq!(nan(got), nan(want), "{what}: NaN positions");
    let finite = |v: &[f32]| v.iter().map(|&x| if x.is_nan() { 0.0 } else { x }).collect::<Vec<_>>();
    assert_close_vec(&finite(got), &finite(want), RTOL, what);
}

#[test]
fn fused_loss_with_accuracy_and_one_dispatch_accuracy_match_the_cpu() {
    // sparse_categorical_crossentropy_with_accuracy (GPU: one dispatch for the loss and the
    // accuracy, which for logits that need a gradient also writes the gradient for the seed of
    // ones; a gradient dispatch only for another upstream gradient) and accuracy (GPU: one
    // correct_mean dispatch) against the CPU's separate ops, for 1 row, 63 and 131 rows (more
    // than the workgroup's 64 lanes), odd class counts, ties (the first argmax wins), -inf and
    // NaN logits (NaN never wins), the seed of ones and a non-unit upstream gradient, and the
    // probabilities path (from_logits = false).
    for (i, (rows, k)) in [(1usize, 10usize), (63, 7), (131, 3), (40, 1)].into_iter().enumerate() {
        let seed = 1300 + 10 * i as u64;
        let labels = ids(rows, k, seed + 1);
        let mut x = rand_vec(rows * k, seed);
        if rows > 2 && k > 2 {
            (x[0], x[1]) = (x[2], x[2]); // a tie at the row's max or not: the first wins
            x[k + (labels[1] as usize + 1) % k] = f32::NEG_INFINITY; // not the label's logit
            x[2 * k + 1] = f32::NAN;
        }
        let mut results = Vec::new();
        for dev in [Device::Cpu, gpu()] {
            let logits = Tensor::from_vec(x.clone(), &[rows, k], &dev).unwrap().variable();
            let y = Tensor::from_vec(labels.clone(), &[rows], &dev).unwrap();
            let (l, a) = sparse_categorical_crossentropy_with_accuracy(&y, &logits, true).unwrap();
            let acc = accuracy(&y, &logits.detach()).unwrap();
            assert_eq!(a.to_vec().unwrap(), acc.to_vec().unwrap(), "{rows}x{k}: fused vs separate accuracy");
            let scale = Tensor::full(-1.5, &[], &dev).unwrap();
            let g = mul(&l, &scale).unwrap().backward().unwrap().remove(&logits).unwrap();
            let (l1, _) = sparse_categorical_crossentropy_with_accuracy(&y, &logits, true).unwrap();
            let g1 = l1.backward().unwrap().remove(&logits).unwrap();
            let probs = softmax(&logits.detach()).unwrap();
            let (lp, ap) = sparse_categorical_crossentropy_with_accuracy(&y, &probs, false).unwrap();
            let want_p = sparse_categorical_crossentropy(&y, &probs, false).unwrap();
            close_or_nan(&lp.to_vec().unwrap(), &want_p.to_vec().unwrap(), &format!("{rows}x{k}: probabilities"));
            let v = |t: &Tensor| t.to_vec().unwrap();
            results.push((
                v(&l),
                v(&a),
                v(&g),
                v(&ap),
                v(&sparse_categorical_crossentropy(&y, &logits, true).unwrap()),
                v(&g1),
            ));
        }
        let (c, g) = (&results[0], &results[1]);
        let what = format!("{rows}x{k}");
        assert_eq!(g.1, c.1, "{what}: accuracy GPU vs CPU");
        assert_eq!(g.3, c.3, "{what}: accuracy of probabilities GPU vs CPU");
        let pairs = [
            (&g.0, &c.0, "loss"),
            (&g.0, &g.4, "loss vs the loss op"),
            (&g.2, &c.2, "gradient"),
            (&g.5, &c.5, "gradient of the seed of ones"),
        ];
        for (got, want, name) in pairs {
            close_or_nan(got, want, &format!("{what}: {name}"));
        }
    }
    // Dispatches on the GPU: the fused loss and accuracy 1 (with or without the gradient), the
    // gradient for the seed of ones 0, for another upstream gradient 1, accuracy alone 1 (on a
    // device of its own: tests run in parallel on the shared one).
    let _ = gpu();
    let dev = Device::gpu().unwrap();
    let count = || dev.as_gpu().unwrap().stats().dispatches;
    let logits = Tensor::randn(&[32, 10], 0.0, 1.0, 5, &dev).unwrap().variable();
    let y = Tensor::from_vec(ids(32, 10, 6), &[32], &dev).unwrap();
    let before = count();
    sparse_categorical_crossentropy_with_accuracy(&y, &logits.detach(), true).unwrap();
    assert_eq!(count() - before, 1, "fused loss and accuracy without a gradient");
    let before = count();
    let (l, _) = sparse_categorical_crossentropy_with_accuracy(&y, &logits, true).unwrap();
    assert_eq!(count() - before, 1, "fused loss and accuracy");
    let before = count();
    l.backward().unwrap();
    assert_eq!(count() - before, 0, "its gradient for the seed of ones");
    let (l, _) = sparse_categorical_crossentropy_with_accuracy(&y, &logits, true).unwrap();
    let seed = Tensor::full(0.5, &[], &dev).unwrap();
    let before = count();
    l.backward_with(&seed).unwrap();
    assert_eq!(count() - before, 1, "its gradient for 0.5");
    let before = count();
    accuracy(&y, &logits.detach()).unwrap();
    assert_eq!(count() - before, 1, "accuracy");
    // Bad shapes are errors naming them, on both devices.
    for dev in [Device::Cpu, gpu()] {
        let z = |s: &[usize]| Tensor::zeros(s, &dev).unwrap();
        let both = |l: &[usize], x: &[usize]| sparse_categorical_crossentropy_with_accuracy(&z(l), &z(x), true);
        assert_shape_err(both(&[3], &[2, 3]).map(|r| r.0), "[2, 3]");
        assert_shape_err(both(&[2], &[2, 0]).map(|r| r.0), "[2, 0]");
        assert_shape_err(both(&[2, 3], &[2, 3, 4]).map(|r| r.0), "[2, 3, 4]");
    }
}

#[test]
fn cross_entropy_is_stable_for_huge_logits() {
    let e1 = (-1f32).exp();
    for dev in [Device::Cpu, gpu()] {
        let x = Tensor::from_slice(&[1000., -1000., 0., -1000., 1000., 999.], &[2, 3], &dev).unwrap().variable();
        let ids = Tensor::from_slice(&[0., 2.], &[2], &dev).unwrap();
        let l = sparse_softmax_cross_entropy_with_logits(&ids, &x).unwrap();
        assert_close_vec(&l.to_vec().unwrap(), &[0.0, 1.0 + (1.0 + e1).ln()], 1e-6, "sparse ±1000");
        let dense = softmax_cross_entropy_with_logits(&one_hot(&ids, 3).unwrap(), &x).unwrap();
        assert_close_vec(&dense.to_vec().unwrap(), &[0.0, 1.0 + (1.0 + e1).ln()], 1e-6, "dense ±1000");
        let g = reduce_sum(&l, None, false).unwrap().backward().unwrap();
        let p = 1.0 / (1.0 + e1);
        assert_close_vec(
            &g.get(&x).unwrap().to_vec().unwrap(),
            &[0., 0., 0., 0., p, 1.0 - p - 1.0],
            1e-6,
            "grad ±1000",
        );
        let cce = categorical_crossentropy(&one_hot(&ids, 3).unwrap(), &x, true).unwrap().item().unwrap();
        assert!(cce.is_finite(), "{cce}");
    }
}

#[test]
fn invalid_sparse_ids_are_errors_on_cpu_and_gpu() {
    let logits = [0.5f32, 1., 2., 0., 1., 0., 3., 2., 1., 1., 1., 1.];
    for bad in [3.0f32, -1.0, 1.5, f32::NAN] {
        for dev in [Device::Cpu, gpu()] {
            let x = Tensor::from_slice(&logits, &[4, 3], &dev).unwrap().variable();
            let ids = Tensor::from_slice(&[0., bad, 1., 2.], &[4], &dev).unwrap();
            assert_shape_err(sparse_softmax_cross_entropy_with_logits(&ids, &x), "[4]");
            assert_shape_err(sparse_categorical_crossentropy(&ids, &x, true), "[4]");
            assert_shape_err(sparse_categorical_crossentropy(&ids, &softmax(&x).unwrap(), false), "[4]");
        }
        // The kernel itself (the browser's path, where labels are not read back) gives NaN for
        // that row's loss and logits gradient, finite values elsewhere.
        let g = gpu();
        let gp = g.as_gpu().unwrap();
        let up = |v: &[f32]| upload_f32(gp, v);
        let read = |b: &tessera::device::GpuBuffer, n: usize| read_f32(gp, b, n);
        let (ib, xb, gb) = (up(&[0., bad, 1., 2.]), up(&logits), up(&[1.0; 4]));
        let v = read(&tessera::kernels::losses::softmax_xent(gp, &ib, &xb, 4, 3, true).unwrap(), 4);
        assert!(v[1].is_nan() && v[0].is_finite() && v[2].is_finite() && v[3].is_finite(), "id {bad}: {v:?}");
        let d = read(&tessera::kernels::losses::softmax_xent_grad(gp, &ib, &xb, &gb, 4, 3, true).unwrap(), 12);
        assert!(d[3..6].iter().all(|v| v.is_nan()) && d[..3].iter().chain(&d[6..]).all(|v| v.is_finite()), "{d:?}");
    }
}

#[test]
fn losses_reject_bad_shapes_naming_them() {
    for dev in [Device::Cpu, gpu()] {
        let z = |s: &[usize]| Tensor::zeros(s, &dev).unwrap();
        assert_shape_err(softmax_cross_entropy_with_logits(&z(&[2, 4]), &z(&[2, 3])), "[2, 4]");
        assert_shape_err(softmax_cross_entropy_with_logits(&z(&[]), &z(&[])), "[]");
        assert_shape_err(softmax_cross_entropy_with_logits(&z(&[2, 0]), &z(&[2, 0])), "[2, 0]");
        assert_shape_err(sparse_softmax_cross_entropy_with_logits(&z(&[3]), &z(&[2, 3])), "[2, 3]");
        assert_shape_err(sparse_softmax_cross_entropy_with_logits(&z(&[2, 1]), &z(&[2, 3])), "[2, 1]");
        assert_shape_err(categorical_crossentropy(&z(&[2, 3]), &z(&[3, 3]), false), "[3, 3]");
        assert_shape_err(categorical_crossentropy(&z(&[2, 3]), &z(&[3, 3]), true), "[3, 3]");
        assert_shape_err(sparse_categorical_crossentropy(&z(&[3]), &z(&[2, 3]), false), "[2, 3]");
        assert_shape_err(mean_squared_error(&z(&[2, 3]), &z(&[3, 2])), "[3, 2]");
        assert_shape_err(accuracy(&z(&[3]), &z(&[2, 3])), "[2, 3]");
        assert_shape_err(accuracy(&z(&[2]), &z(&[2, 3, 1])), "[2, 3, 1]");
        assert_shape_err(accuracy(&z(&[2]), &z(&[2, 0])), "[2, 0]");
        assert_shape_err(broadcast_reduced(&z(&[4]), &[2, 3], &[false, true], 1.0), "[2, 3]");
        assert_shape_err(reduce_max_grad(&z(&[2, 3]), &z(&[3]), &[false, true]), "[2, 3]");
    }
    let cpu = Tensor::zeros(&[2, 3], &Device::Cpu).unwrap();
    let g = Tensor::zeros(&[2], &gpu()).unwrap();
    let e = sparse_softmax_cross_entropy_with_logits(&g, &cpu).unwrap_err();
    assert!(matches!(e, Error::DeviceMismatch { .. }), "{e}");
}

#[test]
fn fused_mean_cross_entropy_and_its_gradient_match_the_cpu() {
    // On the GPU the Keras cross-entropies from logits are one loss dispatch (xent_mean: the
    // per-row loss and the mean in one workgroup) and one gradient dispatch reading the scalar
    // upstream gradient; against the CPU's per-row loss + reduce_mean, for 1, 63, 131 rows
    // (more rows than the workgroup), an odd class count, and a non-unit upstream gradient.
    for (i, rows) in [1usize, 63, 131].into_iter().enumerate() {
        let k = 7;
        let seed = 300 + 10 * i as u64;
        let ids: Vec<f32> = (0..rows).map(|r| ((r * 5 + i) % k) as f32).collect();
        let probs: Vec<f32> = rand_vec(rows * k, seed + 2).iter().map(|v| v.abs() + 0.1).collect();
        let mut results = Vec::new();
        for dev in [Device::Cpu, gpu()] {
            let logits = Tensor::from_vec(rand_vec(rows * k, seed), &[rows, k], &dev).unwrap().variable();
            let labels = Tensor::from_vec(ids.clone(), &[rows], &dev).unwrap();
            let dense = Tensor::from_vec(probs.clone(), &[rows, k], &dev).unwrap();
            let sparse = sparse_categorical_crossentropy(&labels, &logits, true).unwrap();
            let cat = categorical_crossentropy(&dense, &logits, true).unwrap();
            assert_eq!(sparse.shape(), &[] as &[usize]);
            let scale = Tensor::full(-2.5, &[], &dev).unwrap();
            let total = add(&mul(&sparse, &scale).unwrap(), &cat).unwrap();
            let g = total.backward().unwrap().remove(&logits).unwrap();
            results.push((sparse.item().unwrap(), cat.item().unwrap(), g.to_vec().unwrap()));
        }
        let (c, g) = (&results[0], &results[1]);
        assert_close_vec(&[g.0, g.1], &[c.0, c.1], RTOL, &format!("{rows} rows: losses GPU vs CPU"));
        assert_close_vec(&g.2, &c.2, RTOL, &format!("{rows} rows: logits gradient GPU vs CPU"));
    }
}
