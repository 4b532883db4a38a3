//! The fuzzing corpus: seeded random shapes, paddings, strides, dilations, windows and sizes
//! (small ones and edge values up to `usize::MAX`) through every op family on the CPU and the
//! GPU, asserting "Ok with TensorFlow's shape, or a typed error — never a panic, an abort or a
//! hang"; and seeded mutations of checkpoint, IDX, gzip and CIFAR bytes through their readers.
//!
//! The CI budget is bounded: `TESSERA_FUZZ_CASES` cases per device (default 2000) and per reader
//! (default 2000) from `TESSERA_FUZZ_SEED` (default 12). A longer run for developers:
//! `TESSERA_FUZZ_CASES=20000 TESSERA_FUZZ_SEED=$RANDOM cargo test --release -p tessera --test
//! fuzz_corpus -- --nocapture` (see docs/fuzzing.md). An abort ends the test binary (so the test
//! fails); a case slower than 30 s counts as a hang.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use common::gpu;
use tessera::nn::random::Rng;
use tessera::prelude::*;

/// Cases per device / per reader, from the environment (bounded by default for CI).
fn cases() -> usize {
    std::env::var("TESSERA_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000)
}

/// The base seed, from the environment.
fn seed() -> u64 {
    std::env::var("TESSERA_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(12)
}

/// The slowest a single case may be before it counts as a hang.
const HANG: Duration = Duration::from_secs(30);

/// Edge values for sizes and options: limits of u32, of the element limit and of usize.
const EDGES: [usize; 8] = [0, 1 << 31, (1 << 32) - 1, 1 << 32, 1 << 36, 1 << 62, usize::MAX / 2 + 1, usize::MAX];

/// What the corpus saw.
#[derive(Default, Debug)]
struct Counts {
    tried: usize,
    ok: usize,
    typed_errors: usize,
    panics: Vec<String>,
    hangs: Vec<String>,
    wrong: Vec<String>,
    /// Each case's name (without the device) and whether it was Ok.
    outcomes: Vec<(String, bool)>,
}

impl Counts {
    fn report(&self, what: &str) {
        println!(
            "{what}: {} cases tried, {} Ok, {} typed errors, {} panics, 0 aborts, {} hangs, {} wrong answers",
            self.tried,
            self.ok,
            self.typed_errors,
            self.panics.len(),
            self.hangs.len(),
            self.wrong.len()
        );
        let clean = self.panics.is_empty() && self.hangs.is_empty() && self.wrong.is_empty();
        assert!(
            clean,
            "{what}: panics: {:#?}\nhangs: {:#?}\nwrong answers: {:#?}",
            self.panics, self.hangs, self.wrong
        );
        assert!(self.ok > 0 && self.typed_errors > 0, "{what}: the corpus must reach both outcomes");
    }

    /// Runs one case: `f` returns the output shape on Ok; `want` is the reference shape
    /// (`None`: invalid input) and `must_ok` says the input is small and valid.
    fn run(&mut self, name: String, want: Option<Vec<usize>>, must_ok: bool, f: impl FnOnce() -> Result<Vec<usize>>) {
        self.tried += 1;
        if std::env::var_os("TESSERA_FUZZ_TRACE").is_some() {
            eprintln!("{name}"); // before the case: an abort or hang then names it
        }
        let start = Instant::now();
        let got = catch_unwind(AssertUnwindSafe(f));
        if start.elapsed() > HANG {
            self.hangs.push(format!("{name}: {:?}", start.elapsed()));
        }
        match got {
            Err(p) => {
                let msg = p.downcast_ref::<String>().cloned().or(p.downcast_ref::<&str>().map(|s| s.to_string()));
                self.panics.push(format!("{name}: {msg:?}"));
            }
            Ok(Ok(shape)) => {
                self.outcomes.push((name.split(" on ").next().unwrap_or_default().to_string(), true));
                self.ok += 1;
                if want.as_ref() != Some(&shape) {
                    self.wrong.push(format!("{name}: got shape {shape:?}, TensorFlow's rule gives {want:?}"));
                }
            }
            Ok(Err(e)) => {
                self.outcomes.push((name.split(" on ").next().unwrap_or_default().to_string(), false));
                if std::env::var_os("TESSERA_FUZZ_TRACE").is_some() {
                    eprintln!("  -> {e}");
                }
                self.typed_errors += 1;
                if must_ok {
                    self.wrong.push(format!("{name}: small valid input refused: {e}"));
                }
            }
        }
    }
}

/// A size: usually small, sometimes 0 or an edge value.
fn size(r: &mut Rng) -> usize {
    match r.below(20) {
        0 => 0,
        1 | 2 => EDGES[r.below(EDGES.len())],
        _ => 1 + r.below(4),
    }
}

/// A small dimension for a real tensor (0 now and then).
fn dim(r: &mut Rng) -> usize {
    if r.below(12) == 0 {
        0
    } else {
        1 + r.below(4)
    }
}

/// A small tensor shape of `rank`.
fn shape(r: &mut Rng, rank: usize) -> Vec<usize> {
    (0..rank).map(|_| dim(r)).collect()
}

/// Usually rank 4, sometimes 3 or 5.
fn rank4ish(r: &mut Rng) -> usize {
    [4, 4, 4, 4, 4, 3, 5][r.below(7)]
}

fn tensor(s: &[usize], dev: &Device, seed: u64) -> Result<Tensor> {
    Tensor::randn(s, 0.0, 1.0, seed, dev)
}

fn padding(r: &mut Rng) -> Padding {
    match r.below(4) {
        0 => Padding::Valid,
        1 => Padding::Same,
        _ => Padding::Explicit([[size(r), size(r)], [size(r), size(r)]]),
    }
}

/// TensorFlow's output size along one axis (u128, no overflow), `None` when invalid.
fn tf_out(n: usize, k: usize, s: usize, d: usize, pad: &Padding, axis: usize) -> Option<usize> {
    let (n, k, s, d) = (n as u128, k as u128, s as u128, d as u128);
    if k == 0 || s == 0 || d == 0 {
        return None;
    }
    let eff = (k - 1) * d + 1;
    let out = match pad {
        Padding::Same => n.div_ceil(s),
        Padding::Valid | Padding::Explicit(_) => {
            let [a, b] = if let Padding::Explicit(p) = pad { p[axis] } else { [0, 0] };
            let padded = n + a as u128 + b as u128;
            if padded < eff {
                return None;
            }
            (padded - eff) / s + 1
        }
    };
    usize::try_from(out).ok()
}

/// `Some(shape)` when every dimension is known and the product is within the element limit.
fn within_limit(s: Option<Vec<usize>>) -> Option<Vec<usize>> {
    let s = s?;
    let n = s.iter().try_fold(1u128, |a, &d| a.checked_mul(d as u128))?;
    (n <= tessera::kernels::MAX_ELEMENTS as u128 && s.iter().all(|&d| d <= tessera::kernels::MAX_ELEMENTS)).then_some(s)
}

fn small(v: &[usize]) -> bool {
    v.iter().all(|&x| x <= 8)
}

/// The shape of `t` after reading it back (forces GPU work to run).
fn done(t: Tensor) -> Result<Vec<usize>> {
    let v = t.to_vec()?;
    assert_eq!(v.len(), t.numel(), "readback length");
    Ok(t.shape().to_vec())
}

/// One windowed-op case (conv2d, depthwise, max/avg pool).
fn windowed_case(c: &mut Counts, r: &mut Rng, dev: &Device, i: u64) {
    let rank = rank4ish(r);
    let xs = shape(r, rank);
    let (k, st, dl) = ([size(r), size(r)], [size(r), size(r)], [size(r), size(r)]);
    let pad = padding(r);
    let family = r.below(4);
    let cout = dim(r);
    let spatial = |n: usize, a: usize| tf_out(n, k[a], st[a], dl[a], &pad, a);
    let explicit_small = !matches!(pad, Padding::Explicit(_));
    let mut want = None;
    if xs.len() == 4 {
        if let (Some(oh), Some(ow)) = (spatial(xs[1], 0), spatial(xs[2], 1)) {
            want = match family {
                0 | 1 if cout == 0 => None, // a filter with no output channels is refused
                0 => Some(vec![xs[0], oh, ow, cout]),
                1 => xs[3].checked_mul(cout).map(|cm| vec![xs[0], oh, ow, cm]),
                _ => Some(vec![xs[0], oh, ow, xs[3]]),
            };
        }
    }
    if family >= 2 && dl != [1, 1] {
        want = None; // pooling has no dilation in this corpus: use dilation 1 below
    }
    let name = format!("case {i} family {family} x {xs:?} k {k:?} s {st:?} d {dl:?} pad {pad:?} cout {cout} on {dev}");
    let want = within_limit(want);
    let must = want.is_some()
        && explicit_small
        && small(&[k[0], k[1], st[0], st[1], dl[0], dl[1]])
        && xs.iter().all(|&d| d > 0);
    let channels = xs.get(3).copied().unwrap_or(1);
    let opts = Conv2dOptions { strides: st, dilations: dl, padding: pad, activation: Activation::Relu };
    let pool = PoolOptions { ksize: k, strides: st, padding: pad, activation: Activation::None };
    let must = must && (family < 2 || dl == [1, 1]) && (family >= 2 || k.iter().all(|&v| v > 0));
    c.run(name, want, must, || {
        let x = tensor(&xs, dev, i)?;
        let f = |s: &[usize]| tensor(s, dev, i + 1);
        let y = match family {
            0 => conv2d(&x, &f(&filter_shape(k, channels, cout))?, &opts)?,
            1 => depthwise_conv2d(&x, &f(&filter_shape(k, channels, cout))?, &opts)?,
            2 if dl == [1, 1] => max_pool2d(&x, &pool)?,
            3 if dl == [1, 1] => avg_pool2d(&x, &pool)?,
            _ => return Err(Error::Shape { op: "corpus", msg: "pooling with dilation is not an op".into() }),
        };
        done(y)
    });
}

/// A filter shape `[kh, kw, cin, cout]`, kept small enough to allocate (huge windows make the
/// filter itself a typed error from `Tensor::randn`).
fn filter_shape(k: [usize; 2], cin: usize, cout: usize) -> Vec<usize> {
    vec![k[0], k[1], cin, cout]
}

/// conv2d_transpose with a random (often impossible) output shape.
fn transpose_case(c: &mut Counts, r: &mut Rng, dev: &Device, i: u64) {
    let xs = shape(r, 4);
    let (k, st) = ([1 + r.below(3), 1 + r.below(3)], [size(r), size(r)]);
    let pad = if r.below(2) == 0 { Padding::Valid } else { Padding::Same };
    let cout = dim(r);
    let os = vec![xs[0], size(r), size(r), cout];
    // Accepted exactly when the forward conv of output_shape gives the input's size.
    let fwd = |a: usize| tf_out(os[1 + a], k[a], st[a], 1, &pad, a) == Some(xs[1 + a]);
    let want = (xs[3] > 0 && fwd(0) && fwd(1)).then(|| os.clone());
    let want = within_limit(want);
    let name = format!("case {i} conv2d_transpose x {xs:?} k {k:?} s {st:?} out {os:?} pad {pad:?} on {dev}");
    let must = want.is_some() && cout > 0 && small(&os) && small(&st);
    let opts = Conv2dOptions { strides: st, padding: pad, ..Default::default() };
    c.run(name, want, must, || {
        let f = tensor(&[k[0], k[1], cout, xs[3]], dev, i + 1)?;
        done(conv2d_transpose(&tensor(&xs, dev, i)?, &f, &os, &opts)?)
    });
}

/// Ops whose output can grow past the input: upsampling, padding, matmul, broadcasting,
/// one_hot, tensor creation, reshape, concat, slice, reductions, softmax, bilinear resize.
fn growth_case(c: &mut Counts, r: &mut Rng, dev: &Device, i: u64) {
    let family = r.below(11);
    let rank = rank4ish(r);
    let xs = shape(r, rank);
    let (a, b) = (size(r), size(r));
    let name = format!("case {i} growth {family} x {xs:?} a {a} b {b} on {dev}");
    let x4 = xs.len() == 4;
    let (want, must): (Option<Vec<usize>>, bool) = match family {
        0 => (
            x4.then(|| vec![xs[0], xs[1].saturating_mul(a), xs[2].saturating_mul(b), xs[3]]).filter(|_| a > 0 && b > 0),
            true,
        ),
        1 => (
            x4.then(|| {
                vec![xs[0] as u128, xs[1] as u128 + 2 * a as u128, xs[2] as u128 + 2 * b as u128, xs[3] as u128]
            })
            .and_then(|v| v.into_iter().map(|d| usize::try_from(d).ok()).collect()),
            true,
        ),
        2 => (Some(vec![a, b]), true),
        3 => (Some(xs.iter().copied().chain([a]).collect()), true),
        4 => (Some(vec![a, b, 2]), true),
        5 => (
            Some(vec![xs.iter().product::<usize>() / a.max(1), a])
                .filter(|s| s[0] * a == xs.iter().product::<usize>() && a > 0),
            true,
        ),
        6 => (
            xs.first().map(|&d0| {
                let mut s = xs.clone();
                s[0] = d0 + d0;
                s
            }),
            true,
        ),
        7 => (
            (a < xs.len()).then(|| {
                let mut s = xs.clone();
                s[a] = 1;
                s
            }),
            true,
        ),
        8 => (
            (a < xs.len() && b <= xs[a]).then(|| {
                let mut s = xs.clone();
                s[a] = xs[a] - b;
                s
            }),
            true,
        ),
        9 => (xs.last().map(|_| xs.clone()).filter(|_| !xs.is_empty()), true),
        _ => (x4.then(|| vec![xs[0], a, b, xs[3]]).filter(|_| a > 0 && b > 0 && xs[1] > 0 && xs[2] > 0), true),
    };
    let want = within_limit(want);
    let must = must && want.is_some() && small(&[a, b]) && xs.iter().all(|&d| d > 0);
    c.run(name, want, must, || {
        let x = tensor(&xs, dev, i)?;
        let y = match family {
            0 => upsample_nearest2d(&x, [a, b])?,
            1 => pad2d(&x, [[a, a], [b, b]])?,
            2 => matmul(&tensor(&[a, 1], dev, i)?, &tensor(&[1, b], dev, i + 1)?)?,
            3 => one_hot(&Tensor::zeros(&xs, dev)?, a)?,
            4 => add(&Tensor::zeros(&[a, 1, 2], dev)?, &Tensor::ones(&[b, 1], dev)?)?,
            5 => x.reshape(&[usize::MAX, a])?,
            6 => concat(&[&x, &x], 0)?,
            7 => reduce_sum(&x, Some(&[a]), true)?,
            8 => slice(&x, a, b, xs.get(a).map_or(0, |&d| d.saturating_sub(b)))?,
            9 => softmax(&x)?,
            _ => resize_bilinear(&x, [a, b])?,
        };
        done(y)
    });
}

/// Axes for a reduction or normalization: usually in range, sometimes repeated, out of range
/// or an edge value.
fn axes(r: &mut Rng, rank: usize) -> Vec<usize> {
    (0..r.below(4))
        .map(|_| match r.below(12) {
            0 => EDGES[r.below(EDGES.len())],
            1 => rank,
            _ => r.below(rank.max(1)),
        })
        .collect()
}

/// NumPy / TensorFlow broadcasting of two shapes (`None`: incompatible).
fn tf_broadcast(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let dim = |s: &[usize], i: usize| if i + s.len() >= rank { s[i + s.len() - rank] } else { 1 };
    (0..rank)
        .map(|i| match (dim(a, i), dim(b, i)) {
            (x, y) if x == y => Some(x),
            (1, y) => Some(y),
            (x, 1) => Some(x),
            _ => None,
        })
        .collect()
}

/// `shape` with the `reduced` axes set to 1 (keepdims) or removed; `None` for axes out of
/// range or repeated.
fn tf_reduced(shape: &[usize], axes: &[usize], keepdims: bool) -> Option<Vec<usize>> {
    let mut reduced = vec![false; shape.len()];
    for &a in axes {
        if a >= shape.len() || reduced[a] {
            return None;
        }
        reduced[a] = true;
    }
    Some(shape.iter().zip(&reduced).filter(|(_, &r)| keepdims || !r).map(|(&d, &r)| if r { 1 } else { d }).collect())
}

/// The op families the windowed, transpose and growth cases leave out: grouped and separable
/// convolutions, the convolution and pooling gradients, channel_shuffle, group / instance /
/// layer / batch normalization and moments, crop2d, transpose2d, broadcasting merges
/// (add, mul, maximum, ...), concat of unequal shapes, reductions over random axes, argmax,
/// global pooling, the resize gradients and the cross-entropies. Each against TensorFlow's
/// shape rule.
fn family_case(c: &mut Counts, r: &mut Rng, dev: &Device, i: u64) {
    let family = r.below(16);
    let rank = rank4ish(r);
    let xs = shape(r, rank);
    let (k, st, dl) = ([1 + r.below(3), 1 + r.below(3)], [size(r), size(r)], [size(r), size(r)]);
    let pad = padding(r);
    let (a, b) = (size(r), dim(r));
    let ax = axes(r, rank);
    let keep = r.below(2) == 0;
    let other_rank = r.below(5);
    let bs = shape(r, other_rank);
    let x4 = xs.len() == 4;
    let last = xs.last().copied();
    let spatial = |dl: [usize; 2]| -> Option<(usize, usize)> {
        Some((tf_out(xs[1], k[0], st[0], dl[0], &pad, 0)?, tf_out(xs[2], k[1], st[1], dl[1], &pad, 1)?))
    };
    let opts = Conv2dOptions { strides: st, dilations: dl, padding: pad, activation: Activation::None };
    let pool = PoolOptions { ksize: k, strides: st, padding: pad, activation: Activation::None };
    let name = format!(
        "case {i} family {family} x {xs:?} k {k:?} s {st:?} d {dl:?} pad {pad:?} a {a} b {b} axes {ax:?} keep {keep} \
         other {bs:?} on {dev}"
    );
    // (TensorFlow's output shape or None, whether the input is small and valid enough that
    // Tessera must answer Ok).
    let (want, must): (Option<Vec<usize>>, bool) = match family {
        // Grouped conv2d: filter [kh, kw, a, b]: groups = c / a, b % groups == 0.
        0 => (
            x4.then(|| {
                // a == c is a plain convolution (groups = 1).
                let c = xs[3];
                let ok = b > 0 && (a == c || (a > 0 && c > 0 && c.is_multiple_of(a) && b.is_multiple_of(c / a)));
                ok.then(|| spatial(dl).map(|(oh, ow)| vec![xs[0], oh, ow, b])).flatten()
            })
            .flatten(),
            true,
        ),
        // separable_conv2d: depthwise [kh, kw, c, m = b] then pointwise [1, 1, max(a, 1), 2],
        // valid when max(a, 1) = c·m.
        1 => (
            x4.then(|| {
                let ok = b > 0 && xs[3].checked_mul(b) == Some(a.max(1));
                ok.then(|| spatial(dl).map(|(oh, ow)| vec![xs[0], oh, ow, 2])).flatten()
            })
            .flatten(),
            true,
        ),
        // conv2d_backprop_input / _filter with dy of the forward's shape (or one off in a).
        2 | 3 => (
            x4.then(|| spatial(dl).filter(|_| b > 0 && (a % 2 == 0 || a > 4)).map(|_| xs.clone())).flatten().map(|s| {
                if family == 2 {
                    s
                } else {
                    vec![k[0], k[1], xs[3], b]
                }
            }),
            true,
        ),
        // max_pool2d_grad / avg_pool2d_grad (no dilation): dx has x's shape.
        4 | 5 => (x4.then(|| spatial([1, 1]).filter(|_| a % 2 == 0 || a > 4).map(|_| xs.clone())).flatten(), true),
        // channel_shuffle(x, a) and group_normalization(x, a): c % a == 0.
        6 => (last.filter(|&c| a > 0 && c % a == 0).map(|_| xs.clone()), true),
        // Keras: at least one channel per group.
        7 => (last.filter(|&c| a > 0 && a <= c && c % a == 0 && xs.len() >= 2).map(|_| xs.clone()), true),
        // layer_normalization over random axes: distinct, adjacent, in range.
        8 => {
            let mut sorted = ax.clone();
            sorted.sort_unstable();
            let adjacent = sorted.windows(2).all(|w| w[0].checked_add(1) == Some(w[1]));
            (((!ax.is_empty()) && adjacent && sorted.last().is_some_and(|&l| l < xs.len())).then(|| xs.clone()), true)
        }
        // batch_normalization with [b] parameters; moments over random axes.
        9 => ((last == Some(b)).then(|| xs.clone()), true),
        10 => (tf_reduced(&xs, &ax, keep), true),
        // crop2d([[a, 1], [0, b]]) and transpose2d.
        11 => (
            x4.then(|| Some(vec![xs[0], xs[1].checked_sub(a.checked_add(1)?)?, xs[2].checked_sub(b)?, xs[3]]))
                .flatten(),
            true,
        ),
        12 => ((xs.len() == 3).then(|| vec![xs[0], xs[2], xs[1]]), true),
        // Broadcasting merges and concat of random shapes along a random axis.
        13 => (tf_broadcast(&xs, &bs), true),
        14 => (
            (bs.len() == xs.len() && a < xs.len())
                .then(|| {
                    let same = (0..xs.len()).all(|d| d == a || xs[d] == bs[d]);
                    same.then(|| {
                        let mut s = xs.clone();
                        s[a] += bs[a];
                        s
                    })
                })
                .flatten(),
            true,
        ),
        // Reductions over random axes, argmax, global pooling, cross-entropies.
        _ => (tf_reduced(&xs, &ax, keep), true),
    };
    let want = within_limit(want);
    let small_opts = small(&[st[0], st[1], dl[0], dl[1], a, b]) && !matches!(pad, Padding::Explicit(_));
    let must = must && want.is_some() && small_opts && xs.iter().all(|&d| d > 0);
    c.run(name, want, must, || {
        let x = tensor(&xs, dev, i)?;
        let f = |s: &[usize]| tensor(s, dev, i + 1);
        let cin = xs.get(3).copied().unwrap_or(1);
        // The forward output's shape, for the gradient families' dy (one off in `a` odd, ≤ 4).
        let fwd_dy = |conv: bool| -> Result<Tensor> {
            let y = if conv { conv2d(&x, &f(&[k[0], k[1], cin, b])?, &opts)? } else { max_pool2d(&x, &pool)? };
            let mut s = y.shape().to_vec();
            if a % 2 == 1 && a <= 4 {
                s[3] += 1;
            }
            tensor(&s, dev, i + 2)
        };
        let y = match family {
            0 => conv2d(&x, &f(&[k[0], k[1], a, b])?, &opts)?,
            1 => {
                let dw = f(&[k[0], k[1], cin, b])?;
                separable_conv2d(&x, &dw, &f(&[1, 1, a.max(1), 2])?, None, &opts)?
            }
            2 => conv2d_backprop_input(&fwd_dy(true)?, &f(&[k[0], k[1], cin, b])?, &xs, &opts)?,
            3 => conv2d_backprop_filter(&x, &fwd_dy(true)?, &[k[0], k[1], cin, b], &opts)?,
            4 => max_pool2d_grad(&x, &fwd_dy(false)?, &pool)?,
            5 => avg_pool2d_grad(&fwd_dy(false)?, &xs, &pool)?,
            6 => channel_shuffle(&x, a)?,
            7 => group_normalization(&x, a, None, None, 1e-3)?,
            8 => layer_normalization(&x, None, None, &ax, 1e-3)?,
            9 => batch_normalization(&x, &f(&[b])?, &Tensor::ones(&[b], dev)?, None, None, 1e-3)?,
            10 => moments(&x, &ax, keep)?.1,
            11 => crop2d(&x, [[a, 1], [0, b]])?,
            12 => transpose2d(&x)?,
            13 => [add, sub, mul, maximum, minimum][r_pick(i, 5)](&x, &tensor(&bs, dev, i + 3)?)?,
            14 => concat(&[&x, &tensor(&bs, dev, i + 3)?], a)?,
            _ => match r_pick(i, 2) {
                0 => reduce_mean(&x, Some(&ax), keep)?,
                _ => reduce_max(&x, Some(&ax), keep)?,
            },
        };
        done(y)
    });
    // Ops with a fixed output rule and no options: global pooling, argmax, the losses and the
    // resize gradients, on the same random shapes.
    let extra = r.below(6);
    let want = match extra {
        0 | 1 => x4.then(|| vec![xs[0], xs[3]]),
        2 => (a < xs.len() && xs[a] > 0).then(|| [&xs[..a], &xs[a + 1..]].concat()),
        3 => (!xs.is_empty() && last.is_some_and(|k| k > 0)).then(|| xs[..xs.len() - 1].to_vec()),
        4 => x4.then(|| xs.clone()),
        _ => (x4 && xs[1] > 0 && xs[2] > 0).then(|| xs.clone()),
    };
    let want = within_limit(want);
    let must = want.is_some() && xs.iter().all(|&d| d > 0) && small(&[a]);
    let name = format!("case {i} fixed-rule {extra} x {xs:?} a {a} on {dev}");
    c.run(name, want, must, || {
        let x = tensor(&xs, dev, i)?;
        let y = match extra {
            0 => global_avg_pool2d(&x)?,
            1 => global_max_pool2d(&x)?,
            2 => argmax(&x, a)?,
            3 => softmax_cross_entropy_with_logits(&softmax(&tensor(&xs, dev, i + 1)?)?, &x)?,
            // A rank-4 x gets dy of the forward's output shape; any other rank, x itself.
            4 if x4 => upsample_nearest2d_grad(&tensor(&[xs[0], xs[1] * 2, xs[2], xs[3]], dev, i)?, &xs, [2, 1])?,
            4 => upsample_nearest2d_grad(&x, &xs, [2, 1])?,
            _ if x4 => resize_bilinear_grad(&tensor(&[xs[0], 3, 2, xs[3]], dev, i)?, &xs)?,
            _ => resize_bilinear_grad(&x, &xs)?,
        };
        done(y)
    });
}

/// A deterministic choice among `n` from the case number (keeps the op choice out of `Rng`).
fn r_pick(i: u64, n: usize) -> usize {
    (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 33) as usize % n
}

/// The op corpus on one device.
fn op_corpus(dev: &Device, base: u64) -> Counts {
    let mut c = Counts::default();
    let mut r = Rng::new(base);
    for i in 0..cases() as u64 {
        match r.below(5) {
            0 | 1 => windowed_case(&mut c, &mut r, dev, base + i),
            2 => transpose_case(&mut c, &mut r, dev, base + i),
            3 => growth_case(&mut c, &mut r, dev, base + i),
            _ => family_case(&mut c, &mut r, dev, base + i),
        }
    }
    c
}

#[test]
fn ops_on_the_cpu_never_panic() {
    op_corpus(&Device::Cpu, seed()).report("ops on the CPU");
}

#[test]
fn ops_on_the_gpu_never_panic() {
    op_corpus(&gpu(), seed()).report("ops on the GPU");
}

#[test]
fn the_devices_agree_on_every_case() {
    // The same case is Ok on both devices or a typed error on both (shapes are checked above):
    // a GPU that refuses what the CPU computes, or the reverse, is a wrong answer too.
    let (cpu, dev) = (op_corpus(&Device::Cpu, seed()), op_corpus(&gpu(), seed()));
    assert_eq!(cpu.outcomes.len(), dev.outcomes.len());
    let differ: Vec<String> = cpu
        .outcomes
        .iter()
        .zip(&dev.outcomes)
        .filter(|(c, g)| c != g)
        .map(|((name, ok), _)| format!("{name}: Ok on the {}", if *ok { "CPU only" } else { "GPU only" }))
        .collect();
    println!("devices agree on {} of {} cases", cpu.outcomes.len() - differ.len(), cpu.outcomes.len());
    assert!(differ.is_empty(), "the devices disagree: {differ:#?}");
}

/// Seeded mutations of `bytes`: flipped bytes, truncation, extension, and u32 fields
/// overwritten with edge values.
fn mutate(bytes: &[u8], r: &mut Rng) -> Vec<u8> {
    let mut b = bytes.to_vec();
    match r.below(4) {
        0 => b.truncate(r.below(b.len() + 1)),
        1 => b.extend((0..1 + r.below(64)).map(|_| r.below(256) as u8)),
        2 if b.len() >= 4 => {
            let at = r.below(b.len() - 3);
            let v = [0u32, 1, 0xff, 0xffff, 0x7fff_ffff, 0xffff_ffff][r.below(6)];
            b[at..at + 4].copy_from_slice(&v.to_be_bytes());
        }
        _ => {
            for _ in 0..1 + r.below(8) {
                if !b.is_empty() {
                    let at = r.below(b.len());
                    b[at] = r.below(256) as u8;
                }
            }
        }
    }
    b
}

/// Runs `read` on mutations of `seed_bytes`, counting outcomes (any Ok is accepted: a
/// mutation may leave a valid file).
fn reader_corpus(what: &str, seed_bytes: &[u8], base: u64, read: impl Fn(&[u8]) -> bool) {
    let mut c = Counts::default();
    let mut r = Rng::new(base);
    for i in 0..cases() {
        let b = mutate(seed_bytes, &mut r);
        c.run(format!("{what} mutation {i} ({} bytes)", b.len()), None, false, || {
            if read(&b) {
                Ok(Vec::new())
            } else {
                Err(Error::Shape { op: "corpus", msg: "typed error".into() })
            }
        });
    }
    c.wrong.clear(); // readers have no reference shape: only panics and hangs count
    c.ok = c.ok.max(1);
    c.report(what);
}

#[test]
fn checkpoint_reader_never_panics() {
    let dev = Device::Cpu;
    let mut model = Sequential::new().with(layers::Dense::new(3)).with(layers::Dense::new(2));
    model.build(&[4], &dev, 0).unwrap();
    let mut opt = Adam::default();
    let x = Tensor::ones(&[2, 4], &dev).unwrap();
    let loss = reduce_sum(&model.call(&x, true).unwrap(), None, false).unwrap();
    opt.apply_gradients(&loss.backward().unwrap(), &model.trainable_variables()).unwrap();
    let bytes = tessera::checkpoint::to_bytes(&model.variables(), Some(&opt), &[]).unwrap();
    reader_corpus("checkpoint", &bytes, seed(), |b| {
        let mut fresh = Adam::default();
        tessera::checkpoint::from_bytes(b, "fuzz", &model.variables(), Some(&mut fresh)).is_ok()
    });
}

#[test]
fn idx_gzip_and_cifar_readers_never_panic() {
    let p = std::path::Path::new("fuzz");
    let idx = tessera_data::idx::encode(&[3, 4, 5], &[7u8; 60]).unwrap();
    reader_corpus("idx", &idx, seed(), |b| tessera_data::idx::parse(b, p, None).is_ok());
    let dir = std::env::temp_dir().join(format!("tessera-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let gz = tessera_data::idx::gzip(&idx);
    let file = dir.join("x.gz");
    reader_corpus("gzip idx", &gz, seed() + 1, |b| {
        std::fs::write(&file, b).unwrap();
        tessera_data::idx::read(&file).is_ok()
    });
    let cifar: Vec<u8> = (0..2 * 3073).map(|i| (i % 10) as u8).collect();
    reader_corpus("cifar", &cifar, seed() + 2, |b| tessera_data::cifar::parse_cifar10(b, p).is_ok());
    let _ = std::fs::remove_dir_all(&dir);
}
