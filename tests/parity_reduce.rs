//! GPU-vs-CPU parity, hand-checked values, shapes and errors for reductions (`reduce_sum`,
//! `reduce_mean`, `reduce_max`), `argmax`, `softmax`/`log_softmax` and `concat`.

mod common;
use common::*;
use tessera::prelude::*;

type ReduceFn = fn(&Tensor, Option<&[usize]>, bool) -> Result<Tensor>;
const REDUCERS: [(&str, ReduceFn); 3] = [("sum", reduce_sum), ("mean", reduce_mean), ("max", reduce_max)];

/// Every non-empty subset of `0..rank`.
fn subsets(rank: usize) -> Vec<Vec<usize>> {
    (1..1usize << rank).map(|m| (0..rank).filter(|a| m >> a & 1 == 1).collect()).collect()
}

#[test]
fn reductions_match_cpu_on_every_axis_subset_and_keepdims() {
    let shapes: [&[usize]; 5] = [&[7], &[5, 3], &[2, 7, 5], &[2, 5, 7, 3], &[3, 1, 4, 2, 5]];
    for (si, shape) in shapes.iter().enumerate() {
        let (xc, xg) = pair(shape, 10 + si as u64);
        for axes in subsets(shape.len()) {
            for keep in [false, true] {
                for (name, f) in REDUCERS {
                    let want = f(&xc, Some(&axes), keep).unwrap();
                    let got = f(&xg, Some(&axes), keep).unwrap();
                    assert_close(&got, &want, RTOL, &format!("{name} {shape:?} axes {axes:?} keepdims {keep}"));
                }
            }
        }
    }
}

#[test]
fn reductions_of_all_axes_match_cpu_and_give_scalars() {
    for shape in [&[1usize][..], &[13], &[3, 5, 7], &[2, 33, 17, 3], &[1000, 3]] {
        let (xc, xg) = pair(shape, 20);
        for (name, f) in REDUCERS {
            let got = f(&xg, None, false).unwrap();
            assert_eq!(got.shape(), &[] as &[usize], "{name} {shape:?}");
            assert_close(&got, &f(&xc, None, false).unwrap(), RTOL, &format!("{name} all {shape:?}"));
            let kept = f(&xg, None, true).unwrap();
            assert_eq!(kept.shape(), vec![1; shape.len()], "{name} {shape:?} keepdims");
        }
    }
}

#[test]
fn long_reductions_over_few_rows_split_and_match_cpu() {
    // Long axes with few (outer, inner) pairs take the multi-pass partial-sum path.
    let cases: [(&[usize], &[usize]); 5] =
        [(&[3, 5001], &[1]), (&[2, 4099, 3], &[1]), (&[9000, 2], &[0]), (&[2, 300, 41, 2], &[1, 2]), (&[70001], &[0])];
    for (i, (shape, axes)) in cases.iter().enumerate() {
        let (xc, xg) = pair(shape, 30 + i as u64);
        for (name, f) in REDUCERS {
            let want = f(&xc, Some(axes), false).unwrap();
            assert_close(&f(&xg, Some(axes), false).unwrap(), &want, RTOL, &format!("{name} {shape:?} {axes:?}"));
        }
    }
}

#[test]
fn million_element_sum_matches_f64_reference() {
    let n = 1 << 20;
    for (seed, offset) in [(40u64, 0.0f32), (41, 0.5)] {
        let v: Vec<f32> = rand_vec(n, seed).iter().map(|x| x + offset).collect();
        let exact: f64 = v.iter().map(|&x| x as f64).sum();
        let xg = Tensor::from_slice(&v, &[n], &gpu()).unwrap();
        let got = reduce_sum(&xg, None, false).unwrap().item().unwrap() as f64;
        let rel = (got - exact).abs() / exact.abs().max(1.0);
        assert!(rel <= 1e-4, "1M sum: got {got}, f64 {exact}, relative error {rel}");
        let mean = reduce_mean(&xg.reshape(&[64, 128, 128]).unwrap(), None, false).unwrap().item().unwrap() as f64;
        let mrel = (mean - exact / n as f64).abs() / (exact / n as f64).abs().max(1e-3);
        assert!(mrel <= 1e-4, "1M mean: got {mean}, f64 {}, relative error {mrel}", exact / n as f64);
        let max = v.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x));
        assert_eq!(reduce_max(&xg, None, false).unwrap().item().unwrap(), max);
    }
}

#[test]
fn reductions_by_hand() {
    let x = Tensor::from_slice(&[1., 2., 3., 4., 5., 6.], &[2, 3], &gpu()).unwrap();
    let v = |t: Result<Tensor>| t.unwrap().to_vec().unwrap();
    assert_eq!(v(reduce_sum(&x, None, false)), vec![21.]);
    assert_eq!(v(reduce_sum(&x, Some(&[0]), false)), vec![5., 7., 9.]);
    assert_eq!(v(reduce_sum(&x, Some(&[1]), true)), vec![6., 15.]);
    assert_eq!(v(reduce_mean(&x, Some(&[1]), false)), vec![2., 5.]);
    assert_eq!(v(reduce_mean(&x, None, false)), vec![3.5]);
    assert_eq!(v(reduce_max(&x, Some(&[0]), false)), vec![4., 5., 6.]);
    let neg = Tensor::from_slice(&[-3., -1., -2.], &[3], &gpu()).unwrap();
    assert_eq!(v(reduce_max(&neg, None, false)), vec![-1.]);
    let y = Tensor::from_slice(&[1., 2., 3., 4., 5., 6., 7., 8.], &[2, 2, 2], &gpu()).unwrap();
    assert_eq!(v(reduce_sum(&y, Some(&[0, 2]), false)), vec![14., 22.]);
    assert_eq!(v(reduce_mean(&y, Some(&[2, 0]), true)), vec![3.5, 5.5]);
}

#[test]
fn reduction_shapes_follow_tensorflow() {
    let x = Tensor::zeros(&[2, 3, 4, 5], &gpu()).unwrap();
    let s = |axes: Option<&[usize]>, keep| reduce_sum(&x, axes, keep).unwrap().shape().to_vec();
    assert_eq!(s(Some(&[1, 2]), false), vec![2, 5]);
    assert_eq!(s(Some(&[1, 2]), true), vec![2, 1, 1, 5]);
    assert_eq!(s(Some(&[3, 0]), false), vec![3, 4]);
    assert_eq!(s(None, false), Vec::<usize>::new());
    assert_eq!(s(None, true), vec![1, 1, 1, 1]);
    assert_eq!(s(Some(&[]), false), vec![2, 3, 4, 5]);
    let (xc, xg) = pair(&[3, 4], 50);
    assert_close(&reduce_mean(&xg, Some(&[]), true).unwrap(), &xc, 0.0, "empty axes is identity");
}

#[test]
fn reductions_reject_bad_axes_naming_the_shape() {
    let x = Tensor::zeros(&[2, 3], &gpu()).unwrap();
    for (name, f) in REDUCERS {
        let e = f(&x, Some(&[2]), false).unwrap_err();
        assert!(matches!(e, Error::Shape { .. }) && e.to_string().contains("[2, 3]"), "{name}: {e}");
        let e = f(&x, Some(&[1, 1]), false).unwrap_err();
        assert!(matches!(e, Error::Shape { .. }) && e.to_string().contains("[2, 3]"), "{name}: {e}");
    }
}

#[test]
fn argmax_matches_cpu_on_every_axis() {
    for (si, shape) in [&[7usize][..], &[5, 3], &[2, 7, 5], &[2, 5, 7, 3], &[3, 4097]].iter().enumerate() {
        let (xc, xg) = pair(shape, 60 + si as u64);
        for axis in 0..shape.len() {
            let want = argmax(&xc, axis).unwrap();
            let mut expect = shape.to_vec();
            expect.remove(axis);
            assert_eq!(want.shape(), &expect[..]);
            assert_close(&argmax(&xg, axis).unwrap(), &want, 0.0, &format!("argmax {shape:?} axis {axis}"));
        }
    }
}

#[test]
fn argmax_by_hand_takes_the_first_of_ties() {
    let x = Tensor::from_slice(&[1., 5., 5., 0., 2., 2., 7., 7., 3., 5., 3., 3.], &[3, 4], &gpu()).unwrap();
    assert_eq!(argmax(&x, 1).unwrap().to_vec().unwrap(), vec![1., 2., 1.]);
    assert_eq!(argmax(&x, 0).unwrap().to_vec().unwrap(), vec![2., 0., 1., 1.]);
    let e = argmax(&x, 2).unwrap_err();
    assert!(matches!(e, Error::Shape { .. }) && e.to_string().contains("[3, 4]"), "{e}");
    let empty = Tensor::zeros(&[3, 0], &gpu()).unwrap();
    assert!(argmax(&empty, 1).unwrap_err().to_string().contains("[3, 0]"));
}

#[test]
fn softmax_and_log_softmax_match_cpu_with_every_variant() {
    // [520, 509]: past the autotuning threshold (2^18 elements), so `Auto` is timed.
    let shapes: [&[usize]; 8] = [&[1], &[10], &[4, 10], &[2, 3, 7], &[3, 1000], &[2049, 5], &[13, 71], &[520, 509]];
    for (si, shape) in shapes.iter().enumerate() {
        let (xc, xg) = pair(shape, 70 + si as u64);
        let xc = affine(&xc, 5.0, 1.0).unwrap();
        let xg = affine(&xg, 5.0, 1.0).unwrap();
        for log in [false, true] {
            let want = softmax_with(&xc, log, SoftmaxVariant::Auto).unwrap();
            for v in [SoftmaxVariant::Auto, SoftmaxVariant::Rows, SoftmaxVariant::Workgroup, SoftmaxVariant::Subgroup] {
                let got = softmax_with(&xg, log, v).unwrap();
                assert_close(&got, &want, RTOL, &format!("softmax log={log} {shape:?} {v:?}"));
            }
        }
    }
}

#[test]
fn softmax_by_hand_is_stable_for_large_logits() {
    let x = Tensor::from_slice(&[1000., 1000., 1001., 0.], &[1, 4], &gpu()).unwrap();
    let e = 1f32.exp();
    let got = softmax(&x).unwrap().to_vec().unwrap();
    assert_close_vec(&got, &[1. / (2. + e), 1. / (2. + e), e / (2. + e), 0.0], 1e-6, "softmax by hand");
    let lg = log_softmax(&x).unwrap().to_vec().unwrap();
    let l = (2. + e).ln();
    assert_close_vec(&lg, &[-l, -l, 1. - l, -1000. - l], 1e-6, "log_softmax by hand");
    let s = reduce_sum(&softmax(&Tensor::randn(&[5, 9], 0.0, 3.0, 1, &gpu()).unwrap()).unwrap(), Some(&[1]), false);
    assert_close_vec(&s.unwrap().to_vec().unwrap(), &[1.0; 5], 1e-6, "rows sum to 1");
    let e = softmax(&Tensor::from_slice(&[1.], &[], &gpu()).unwrap()).unwrap_err();
    assert!(matches!(e, Error::Shape { .. }) && e.to_string().contains("[]"), "{e}");
}

#[test]
fn concat_matches_cpu_on_every_axis() {
    let base = [2usize, 3, 5, 4];
    for axis in 0..4 {
        let sizes = [1usize, 3, 2];
        let mut cpus = Vec::new();
        let mut gpus = Vec::new();
        for (i, &s) in sizes.iter().enumerate() {
            let mut shape = base.to_vec();
            shape[axis] = s;
            let (c, g) = pair(&shape, 80 + i as u64);
            cpus.push(c);
            gpus.push(g);
        }
        let want = concat(&cpus.iter().collect::<Vec<_>>(), axis).unwrap();
        let mut expect = base.to_vec();
        expect[axis] = 6;
        assert_eq!(want.shape(), &expect[..]);
        assert_close(&concat(&gpus.iter().collect::<Vec<_>>(), axis).unwrap(), &want, 0.0, &format!("axis {axis}"));
    }
}

#[test]
fn concat_by_hand_and_with_empty_parts() {
    let d = gpu();
    let a = Tensor::from_slice(&[1., 2., 3., 4.], &[2, 2], &d).unwrap();
    let b = Tensor::from_slice(&[5., 6.], &[2, 1], &d).unwrap();
    let e = Tensor::zeros(&[2, 0], &d).unwrap();
    assert_eq!(concat(&[&a, &b, &e], 1).unwrap().to_vec().unwrap(), vec![1., 2., 5., 3., 4., 6.]);
    assert_eq!(concat(&[&a, &a], 0).unwrap().to_vec().unwrap(), vec![1., 2., 3., 4., 1., 2., 3., 4.]);
    assert_eq!(concat(&[&b], 1).unwrap().to_vec().unwrap(), vec![5., 6.]);
}

#[test]
fn concat_rejects_bad_shapes_naming_them() {
    let d = gpu();
    let a = Tensor::zeros(&[2, 3], &d).unwrap();
    let b = Tensor::zeros(&[4, 5], &d).unwrap();
    let c = Tensor::zeros(&[2, 3, 1], &d).unwrap();
    for (xs, axis) in [(vec![&a, &b], 1), (vec![&a, &c], 1), (vec![&a, &a], 2)] {
        let e = concat(&xs, axis).unwrap_err();
        assert!(matches!(e, Error::Shape { .. }) && e.to_string().contains("[2, 3]"), "{e}");
    }
    assert!(matches!(concat(&[], 0).unwrap_err(), Error::Shape { .. }));
    let cpu = Tensor::zeros(&[2, 3], &Device::Cpu).unwrap();
    assert!(matches!(concat(&[&a, &cpu], 0).unwrap_err(), Error::DeviceMismatch { .. }));
}
