//! GPU-vs-CPU parity for matmul/dense and the elementwise family, on fresh random inputs.

mod common;
use common::*;
use tessera::kernels::bias_grad;
use tessera::kernels::dense_grad::{self, DenseDims, DenseGradKernel};
use tessera::kernels::elementwise::{BinaryOp, UnaryOp};
use tessera::prelude::*;

/// Every matmul kernel variant (`Auto` included).
const EVERY: [MatmulVariant; 7] = MatmulVariant::ALL;

/// True when `g` runs the subgroup-shuffle kernels: one fixed subgroup size of 8 to 64.
fn shuffles(g: &tessera::device::Gpu) -> bool {
    g.subgroup_sizes().is_some_and(|(lo, hi)| lo == hi && (8..=64).contains(&lo))
}

#[test]
fn matmul_every_variant_matches_cpu_on_odd_and_aligned_sizes() {
    for (m, k, n) in [(1, 1, 1), (7, 13, 5), (33, 20, 36), (64, 64, 64), (70, 132, 100), (9, 4, 4)] {
        let (ac, ag) = pair(&[m, k], 1);
        let (bc, bg) = pair(&[k, n], 2);
        let want = matmul(&ac, &bc).unwrap();
        for v in EVERY {
            let got = matmul_with(&ag, &bg, MatmulOptions { variant: v, ..Default::default() }).unwrap();
            assert_close(&got, &want, RTOL, &format!("matmul {m}x{k}x{n} {v:?}"));
        }
    }
}

/// Every layout (NN, TN, NT, TT) of a batched product `[batch, m, k] @ [batch, k, n]`, as the
/// CPU twin and the GPU on the same random operands, for each kernel variant in `variants`.
fn check_layouts(batch: usize, m: usize, k: usize, n: usize, variants: &[MatmulVariant], seed: u64) {
    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
        let a_shape = if ta { [batch, k, m] } else { [batch, m, k] };
        let b_shape = if tb { [batch, n, k] } else { [batch, k, n] };
        let (ac, ag) = pair(&a_shape, seed);
        let (bc, bg) = pair(&b_shape, seed + 1);
        for &v in variants {
            let o = MatmulOptions { transpose_a: ta, transpose_b: tb, variant: v };
            let want = matmul_with(&ac, &bc, o).unwrap();
            assert_eq!(want.shape(), &[batch, m, n]);
            let what = format!("[{batch}, {m}, {k}, {n}] ta={ta} tb={tb} {v:?}");
            assert_close(&matmul_with(&ag, &bg, o).unwrap(), &want, RTOL, &what);
        }
    }
}

#[test]
fn matmul_transposes_and_batches_match_cpu() {
    // Odd sizes: the register-blocked request falls back to the strided naive kernel.
    check_layouts(3, 9, 17, 11, &EVERY, 3);
    // Several 64x64 tiles with partial ones and k past the 16-deep slice: the tiled kernel's
    // coalesced loads (k-fast for row-major A and transposed B, outer-fast otherwise).
    check_layouts(2, 70, 37, 131, &[MatmulVariant::Tiled], 5);
}

#[test]
fn auto_matmul_past_the_tuning_threshold_times_its_variants() {
    // A device of this test's own, so its tuned entries are this test's alone.
    gpu();
    let dev = Device::gpu().unwrap();
    let g = dev.as_gpu().unwrap();
    check_layouts(1, 256, 64, 256, &EVERY, 9); // 2^22 multiply-adds: tuned
    let (a, b) =
        (Tensor::randn(&[256, 64], 0.0, 1.0, 1, &dev).unwrap(), Tensor::randn(&[64, 256], 0.0, 1.0, 2, &dev).unwrap());
    let (c, d) =
        (Tensor::randn(&[64, 256], 0.0, 1.0, 3, &dev).unwrap(), Tensor::randn(&[256, 64], 0.0, 1.0, 4, &dev).unwrap());
    matmul(&a, &b).unwrap();
    matmul(&c, &d).unwrap(); // 2^20 multiply-adds: the heuristic decides
    let tuned: Vec<_> = g.tuned_entries().into_iter().filter(|(k, _)| k.starts_with("matmul ")).collect();
    if g.tune_mode() == tessera_device::TuneMode::Off {
        assert!(tuned.is_empty(), "TESSERA_AUTOTUNE=off times nothing: {tuned:?}");
        return;
    }
    assert_eq!(tuned.len(), 1, "one tuned class, the small product untuned: {tuned:?}");
    // The key names the class and the candidates it was timed among: the subgroup kernel
    // where the device runs it (one fixed subgroup size of 8 to 64, lavapipe among them).
    assert!(tuned[0].0.starts_with("matmul [1, 256, 64, 256, 64, 1,"), "{tuned:?}");
    assert_eq!(tuned[0].0.contains("|subgroup|"), shuffles(g), "{tuned:?}");
    assert!(["naive", "register", "subgroup", "tiled", "broadcast"].contains(&tuned[0].1.as_str()), "{tuned:?}");
}

#[test]
fn register_blocked_matmul_reads_every_layout_directly() {
    // Multiples of 4 but not of the 8x16 block (partial blocks in m and n), batch > 1, and a
    // single block; the dense-layer shapes of LeNet-5's backward (x^T dy, dy W^T).
    let variants = MatmulVariant::ALL;
    for (batch, m, k, n, seed) in [(3, 36, 20, 44, 40), (2, 4, 4, 4, 42), (1, 12, 132, 8, 44), (1, 256, 32, 120, 46)] {
        check_layouts(batch, m, k, n, &variants, seed);
    }
    check_layouts(1, 32, 120, 256, &variants, 48);
}

#[test]
fn transposed_operands_need_no_transpose_dispatch() {
    // A device of this test's own, so no other test's dispatches are counted.
    gpu();
    let dev = Device::gpu().unwrap();
    let g = dev.as_gpu().unwrap();
    for (ta, tb) in [(true, false), (false, true), (true, true)] {
        let a = Tensor::randn(if ta { &[64, 128] } else { &[128, 64] }, 0.0, 1.0, 1, &dev).unwrap();
        let b = Tensor::randn(if tb { &[96, 64] } else { &[64, 96] }, 0.0, 1.0, 2, &dev).unwrap();
        let o = MatmulOptions { transpose_a: ta, transpose_b: tb, variant: MatmulVariant::Auto };
        matmul_with(&a, &b, o).unwrap(); // the first call may time the variants
        dev.synchronize().unwrap();
        let before = g.stats().dispatches;
        assert_eq!(matmul_with(&a, &b, o).unwrap().shape(), &[128, 96]);
        dev.synchronize().unwrap();
        assert_eq!(g.stats().dispatches - before, 1, "ta={ta} tb={tb}: one matmul dispatch");
    }
}

#[test]
fn matmul_small_case_by_hand() {
    let a = Tensor::from_slice(&[1., 2., 3., 4., 5., 6.], &[2, 3], &gpu()).unwrap();
    let b = Tensor::from_slice(&[7., 8., 9., 10., 11., 12.], &[3, 2], &gpu()).unwrap();
    assert_eq!(matmul(&a, &b).unwrap().to_vec().unwrap(), vec![58., 64., 139., 154.]);
}

#[test]
fn dense_with_bias_and_activation_matches_cpu() {
    let (xc, xg) = pair(&[5, 12], 5);
    let (wc, wg) = pair(&[12, 8], 6);
    let (bc, bg) = pair(&[8], 7);
    for act in [Activation::None, Activation::Relu, Activation::Sigmoid, Activation::Tanh] {
        let want = dense(&xc, &wc, Some(&bc), act).unwrap();
        assert_close(&dense(&xg, &wg, Some(&bg), act).unwrap(), &want, RTOL, &format!("dense {act:?}"));
    }
}

#[test]
fn every_matmul_kernel_fuses_alpha_bias_and_activation() {
    // The kernels' epilogues, through the launcher: alpha, the bias and each activation, on
    // layouts and sizes every kernel takes (k, n % 4 == 0) and odd ones, with a batch.
    use tessera::kernels::matmul::{matmul as launch, Layout, Matmul};
    let dev = gpu();
    let gp = dev.as_gpu().unwrap();
    let up = |v: &[f32]| upload_f32(gp, v);
    for (batch, m, k, n, seed) in [(2, 12, 8, 20, 70u64), (1, 9, 7, 10, 72)] {
        let (av, bv, biasv) = (rand_vec(batch * m * k, seed), rand_vec(batch * k * n, seed + 1), rand_vec(n, seed + 2));
        for act in [Activation::None, Activation::Relu, Activation::Sigmoid, Activation::Tanh] {
            let alpha = 0.75;
            let want: Vec<f32> = (0..batch * m * n)
                .map(|i| {
                    let (bi, r, c) = (i / (m * n), i / n % m, i % n);
                    let dot: f32 = (0..k).map(|j| av[(bi * m + r) * k + j] * bv[(bi * k + j) * n + c]).sum();
                    let v = alpha * dot + biasv[c];
                    match act {
                        Activation::Relu => v.max(0.0),
                        Activation::Sigmoid => 1.0 / (1.0 + (-v).exp()),
                        Activation::Tanh => v.tanh(),
                        _ => v,
                    }
                })
                .collect();
            let mm = Matmul {
                batch,
                a: Layout::row_major(m, k),
                b: Layout::row_major(k, n),
                alpha,
                act,
                ..Matmul::new(m, k, n)
            };
            for v in MatmulVariant::ALL {
                let out = launch(gp, &up(&av), &up(&bv), Some(&up(&biasv)), &mm, v).unwrap();
                let got = read_f32(gp, &out, want.len());
                assert_close_vec(&got, &want, RTOL, &format!("[{batch}, {m}, {k}, {n}] {act:?} {v:?}"));
            }
        }
    }
}

#[test]
fn matmul_rejects_mismatched_shapes_naming_them() {
    let a = Tensor::zeros(&[2, 3], &gpu()).unwrap();
    let b = Tensor::zeros(&[4, 5], &gpu()).unwrap();
    let e = matmul(&a, &b).unwrap_err().to_string();
    assert!(e.contains("[2, 3]") && e.contains("[4, 5]"), "{e}");
}

#[test]
fn binary_ops_broadcast_like_tensorflow() {
    let shapes: [(&[usize], &[usize]); 5] = [
        (&[2, 3, 5, 4], &[2, 3, 5, 4]),
        (&[2, 3, 5, 4], &[4]),
        (&[2, 1, 5, 1], &[3, 1, 7]),
        (&[1], &[3, 2]),
        (&[6, 1], &[1, 5]),
    ];
    let ops = [
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::Maximum,
        BinaryOp::Minimum,
        BinaryOp::Greater,
        BinaryOp::Lerp(0.3),
    ];
    for (i, (sa, sb)) in shapes.iter().enumerate() {
        let (ac, ag) = pair(sa, 10 + i as u64);
        let (bc, bg) = pair(sb, 20 + i as u64);
        for op in ops {
            let want = binary(op, &ac, &bc).unwrap();
            assert_close(&binary(op, &ag, &bg).unwrap(), &want, RTOL, &format!("{op:?} {sa:?} {sb:?}"));
        }
    }
    let e = add(&Tensor::zeros(&[2, 3], &gpu()).unwrap(), &Tensor::zeros(&[4], &gpu()).unwrap()).unwrap_err();
    assert!(e.to_string().contains("[2, 3]") && e.to_string().contains("[4]"), "{e}");
}

#[test]
fn broadcast_add_small_case_by_hand() {
    let a = Tensor::from_slice(&[1., 2., 3., 4., 5., 6.], &[2, 3], &gpu()).unwrap();
    let b = Tensor::from_slice(&[10., 20., 30.], &[3], &gpu()).unwrap();
    assert_eq!(add(&a, &b).unwrap().to_vec().unwrap(), vec![11., 22., 33., 14., 25., 36.]);
}

#[test]
fn unary_ops_match_cpu() {
    let (xc, xg) = pair(&[3, 7, 5], 30);
    let (pc, pg) = (exp(&xc).unwrap(), exp(&xg).unwrap()); // positive inputs for log/sqrt
    for op in [
        UnaryOp::Relu,
        UnaryOp::Sigmoid,
        UnaryOp::Tanh,
        UnaryOp::Exp,
        UnaryOp::Neg,
        UnaryOp::Abs,
        UnaryOp::Square,
        UnaryOp::Affine(0.5, -2.0),
    ] {
        assert_close(&unary(op, &xg).unwrap(), &unary(op, &xc).unwrap(), RTOL, &format!("{op:?}"));
    }
    for op in [UnaryOp::Log, UnaryOp::Sqrt] {
        assert_close(&unary(op, &pg).unwrap(), &unary(op, &pc).unwrap(), RTOL, &format!("{op:?}"));
    }
}

#[test]
fn fill_zeros_ones_and_large_1d_grids() {
    let n = 70_000 * 256 + 3; // more workgroups than one grid dimension allows
    let t = Tensor::full(2.5, &[n], &gpu()).unwrap();
    let v = t.to_vec().unwrap();
    assert!(v.len() == n && v.iter().all(|&x| x == 2.5));
    let s = affine(&t, 2.0, 1.0).unwrap().to_vec().unwrap();
    assert!(s[0] == 6.0 && s[n - 1] == 6.0);
}

#[test]
fn fused_bias_activation_gradient_matches_cpu_and_the_unfused_ops() {
    // gz = act'(y)·g and db = Σ gz over every axis but the last, in one GPU dispatch (without
    // an activation only db, gz being g itself): against the CPU twin and against the unfused
    // ops (activation gradient, then reduce_sum). Shapes: odd, batch > 1, more columns than a
    // workgroup's block of 16 (17, 33 with a partial block, 300), one column, and tall inputs
    // (LeNet's first conv, [32·26·26, 6]; a ResNet-like [8·32·32, 64]). Up to COLS_MAX_ROWS
    // rows run the column kernels (300 columns: five workgroups), past it the block kernels:
    // both sides of the boundary are here.
    let edge = bias_grad::COLS_MAX_ROWS;
    let shapes: [&[usize]; 11] = [
        &[3, 5, 7, 6],
        &[33, 10],
        &[2, 300],
        &[1, 1, 1, 5],
        &[5, 3, 17],
        &[7, 33],
        &[edge, 19],
        &[edge + 1, 19],
        &[1000, 1],
        &[32, 26, 26, 6],
        &[8, 32, 32, 64],
    ];
    for (i, shape) in shapes.iter().enumerate() {
        for act in [Activation::None, Activation::Relu, Activation::Sigmoid, Activation::Tanh] {
            let seed = 700 + 10 * i as u64;
            let (xc, _) = pair(shape, seed);
            let (gc, gg) = pair(shape, seed + 1);
            // y is the activation's output, as the layers save it.
            let yc = match act {
                Activation::None => xc.clone(),
                Activation::Relu => relu(&xc).unwrap(),
                Activation::Sigmoid => sigmoid(&xc).unwrap(),
                Activation::Tanh => tanh(&xc).unwrap(),
            };
            let yg = yc.to_device(&gg.device().clone()).unwrap();
            let what = format!("bias_activation_grad {act:?} {shape:?}");
            let (gz_c, db_c) = bias_activation_grad(act, &yc, &gc).unwrap();
            let (gz_g, db_g) = bias_activation_grad(act, &yg, &gg).unwrap();
            assert_close(&gz_g, &gz_c, RTOL, &format!("{what}: gz"));
            assert_close(&db_g, &db_c, RTOL, &format!("{what}: db"));
            let gz_ref = match act {
                Activation::None => gc.clone(),
                Activation::Relu => binary(BinaryOp::ReluGrad, &yc, &gc).unwrap(),
                Activation::Sigmoid => binary(BinaryOp::SigmoidGrad, &yc, &gc).unwrap(),
                Activation::Tanh => binary(BinaryOp::TanhGrad, &yc, &gc).unwrap(),
            };
            let axes: Vec<usize> = (0..shape.len() - 1).collect();
            assert_close(&gz_c, &gz_ref, RTOL, &format!("{what}: CPU twin gz"));
            assert_close(
                &db_c,
                &reduce_sum(&gz_ref, Some(&axes), false).unwrap(),
                RTOL,
                &format!("{what}: CPU twin db"),
            );
        }
    }
    // One dispatch either way; without an activation gz is the upstream gradient itself (on a
    // device of its own: tests run in parallel on the shared one).
    let _ = gpu();
    let dev = Device::gpu().unwrap();
    let (y, g) =
        (Tensor::randn(&[4, 9, 6], 0.0, 1.0, 5, &dev).unwrap(), Tensor::randn(&[4, 9, 6], 0.0, 1.0, 6, &dev).unwrap());
    for act in [Activation::None, Activation::Relu] {
        let before = dev.as_gpu().unwrap().stats().dispatches;
        let (gz, _) = bias_activation_grad(act, &y, &g).unwrap();
        assert_eq!(dev.as_gpu().unwrap().stats().dispatches - before, 1, "{act:?}: dispatches");
        if act == Activation::None {
            assert_eq!(gz.to_vec().unwrap(), g.to_vec().unwrap());
        }
    }
    let bad = bias_activation_grad(
        Activation::None,
        &Tensor::zeros(&[2, 3], &Device::Cpu).unwrap(),
        &Tensor::zeros(&[3, 2], &Device::Cpu).unwrap(),
    );
    assert!(matches!(bad, Err(Error::Shape { .. })));
}

#[test]
fn fused_dense_backward_matches_its_cpu_twin_and_the_unfused_ops() {
    // dx, dw and db of `y = act(x·w + b)` by every kernel that fits (the fused ones in one
    // dispatch), against the CPU twin (plain loops), and the twin against the unfused ops
    // (activation gradient, two matmuls, reduce_sum). Sizes: one of everything; odd; more
    // inputs than a lane block of 64 (65: the db lane opens a second block; 130); more units
    // than a unit block of 16 (17, 33) and batch rows than a row block of 16 (33); LeNet's
    // layers (32 x 84 x 10; 32 x 120 x 84 and 32 x 400 x 120 for the register tiles); multiples
    // of 4 with partial register tiles (5 x 20 x 12: 16 x 8 dw tiles and 8 x 16 dx tiles cut
    // short on every side) and whole ones (16 x 64 x 16); 40 x 256 x 96 deals ten workgroups
    // of 32 lanes, its three dx workgroups (the last half full) interleaved among the others.
    let sizes = [
        (1, 1, 1),
        (3, 5, 7),
        (33, 65, 17),
        (32, 84, 10),
        (7, 130, 33),
        (16, 64, 16),
        (5, 20, 12),
        (32, 120, 84),
        (32, 400, 120),
        (40, 256, 96),
    ];
    let _ = gpu();
    let dev = Device::gpu().unwrap(); // a device of its own for the dispatch count
    let gp = dev.as_gpu().unwrap();
    let up = |v: &[f32]| upload_f32(gp, v);
    let read = |b: &tessera::device::GpuBuffer, n: usize| read_f32(gp, b, n);
    let cpu = |shape: &[usize], seed: u64| {
        Tensor::from_vec(rand_vec(shape.iter().product(), seed), shape, &Device::Cpu).unwrap()
    };
    for (i, &(batch, inputs, units)) in sizes.iter().enumerate() {
        let d = DenseDims { batch, inputs, units };
        for act in [Activation::None, Activation::Relu, Activation::Sigmoid, Activation::Tanh] {
            let seed = 900 + 10 * i as u64;
            let (x, w, g, z) = (
                cpu(&[batch, inputs], seed),
                cpu(&[inputs, units], seed + 1),
                cpu(&[batch, units], seed + 2),
                cpu(&[batch, units], seed + 3),
            );
            // y is the activation's output, as the layer saves it.
            let y = match act {
                Activation::None => z.clone(),
                Activation::Relu => relu(&z).unwrap(),
                Activation::Sigmoid => sigmoid(&z).unwrap(),
                Activation::Tanh => tanh(&z).unwrap(),
            };
            let what = format!("dense_grad {act:?} {batch}x{inputs}x{units}");
            let v = |t: &Tensor| t.to_vec().unwrap();
            let (dx, dw, db) = dense_grad::dense_grad_cpu(act, [&v(&x), &v(&w), &v(&y), &v(&g)], d);
            let (xb, wb, yb, gb) = (up(&v(&x)), up(&v(&w)), up(&v(&y)), up(&v(&g)));
            let y_arg = (act != Activation::None).then_some(&yb);
            let kernels = DenseGradKernel::candidates(d);
            let register = inputs.is_multiple_of(4) && units.is_multiple_of(4);
            assert_eq!(kernels.iter().any(|k| k.1 == DenseGradKernel::Register), register, "{what}");
            for (_, kernel) in kernels {
                let what = format!("{what} {kernel:?}");
                dev.synchronize().unwrap();
                let before = gp.stats().dispatches;
                let (gx, gw, gbias) = dense_grad::dense_grad(gp, kernel, act, [&xb, &wb, &gb], y_arg, d).unwrap();
                let launches = if kernel == DenseGradKernel::Split { 3 } else { 1 };
                assert_eq!(gp.stats().dispatches - before, launches, "{what}: dispatches");
                assert_close_vec(&read(&gx, batch * inputs), &dx, RTOL, &format!("{what}: dx"));
                assert_close_vec(&read(&gw, inputs * units), &dw, RTOL, &format!("{what}: dw"));
                assert_close_vec(&read(&gbias, units), &db, RTOL, &format!("{what}: db"));
            }
            if !register {
                let e = dense_grad::dense_grad(gp, DenseGradKernel::Register, act, [&xb, &wb, &gb], y_arg, d);
                assert!(matches!(e, Err(tessera::kernels::KernelError::Shape { .. })), "{what}: Register refused");
            }
            let (gz, db_ref) = bias_activation_grad(act, &y, &g).unwrap();
            let dx_ref = matmul_with(&gz, &w, MatmulOptions { transpose_b: true, ..Default::default() }).unwrap();
            let dw_ref = matmul_with(&x, &gz, MatmulOptions { transpose_a: true, ..Default::default() }).unwrap();
            assert_close_vec(&dx, &v(&dx_ref), RTOL, &format!("{what}: CPU twin dx"));
            assert_close_vec(&dw, &v(&dw_ref), RTOL, &format!("{what}: CPU twin dw"));
            assert_close_vec(&db, &v(&db_ref), RTOL, &format!("{what}: CPU twin db"));
        }
    }
    let b = up(&[0.5; 24]);
    let d = DenseDims { batch: 2, inputs: 3, units: 4 };
    let no_y = dense_grad::dense_grad(gp, DenseGradKernel::Lanes, Activation::Relu, [&b, &b, &b], None, d);
    assert!(matches!(no_y, Err(tessera::kernels::KernelError::Shape { .. })), "an activation needs its output y");
    let huge = DenseDims { batch: 1 << 20, inputs: 1 << 20, units: 1 << 20 };
    let e = dense_grad::dense_grad(gp, DenseGradKernel::Lanes, Activation::None, [&b, &b, &b], None, huge);
    assert!(matches!(e, Err(tessera::kernels::KernelError::Shape { .. })), "sizes past 32-bit indexing are refused");
}

/// An activation op applied on its own.
type ActFn = fn(&Tensor) -> Result<Tensor>;

#[test]
fn add_with_a_fused_activation_matches_cpu_and_the_unfused_ops() {
    // Same shapes (binary_same), broadcasting over ≤ 2 coalesced axes (binary2) and more.
    let shapes: [(&[usize], &[usize]); 4] =
        [(&[3, 5, 7, 3], &[3, 5, 7, 3]), (&[3, 5, 7, 3], &[3]), (&[2, 1, 7, 3], &[2, 5, 1, 3]), (&[9, 1], &[1, 4])];
    for (i, (sa, sb)) in shapes.into_iter().enumerate() {
        let (ac, ag) = pair(sa, 500 + i as u64);
        let (bc, bg) = pair(sb, 510 + i as u64);
        let acts: [(Activation, ActFn); 3] =
            [(Activation::Relu, relu), (Activation::Sigmoid, sigmoid), (Activation::Tanh, tanh)];
        for (act, alone) in acts {
            let what = format!("{sa:?} + {sb:?} {act:?}");
            let want = add_activation(&ac, &bc, act).unwrap();
            assert_close(&add_activation(&ag, &bg, act).unwrap(), &want, RTOL, &what);
            let unfused = alone(&add(&ac, &bc).unwrap()).unwrap();
            assert_close(&want, &unfused, RTOL, &format!("fused vs unfused {what}"));
        }
    }
}

/// A GPU device of its own (so the verdicts stay in its memory), without the on-disk tune
/// cache, told the probes' `verdicts` (tune-cache key, value).
fn device_told(verdicts: &[(&str, &str)]) -> Device {
    let _ = gpu(); // fails the test with the adapter message where there is none
    let dev = Device::gpu().unwrap();
    let gp = dev.as_gpu().unwrap();
    gp.use_tune_cache(None);
    verdicts.iter().for_each(|(key, v)| gp.remember_tuned(key, v));
    dev
}

#[test]
fn untimed_kernels_read_texel_views_where_the_adapter_measured_them_cheaper() {
    // Kernels that are not timed (a matmul under the tuning threshold, max pooling both ways,
    // the optimizer) read their inputs from texel views where autotune::texels_pay: here a
    // device told so (lavapipe's AVX2 code measures so; its AVX-512 code does not). Operands of
    // several texture rows and a part row, against the CPU twin.
    use tessera::kernels::autotune::TEXELS_KEY;
    use tessera::kernels::optimizer::{update, Rule, Update};
    let dev = device_told(&[(TEXELS_KEY, "texels")]);
    let gp = dev.as_gpu().unwrap();
    let views = || gp.stats().texel_views;
    let before = views();
    let (ac, ag) = (rand_vec(70 * 132, 31), rand_vec(132 * 44, 32));
    let on = |v: &[f32], s: &[usize], d: &Device| Tensor::from_slice(v, s, d).unwrap();
    let want = matmul(&on(&ac, &[70, 132], &Device::Cpu), &on(&ag, &[132, 44], &Device::Cpu)).unwrap();
    let got = matmul(&on(&ac, &[70, 132], &dev), &on(&ag, &[132, 44], &dev)).unwrap();
    assert_close(&got, &want, RTOL, "matmul [70,132] x [132,44] from texel views");
    assert_eq!(views() - before, 2, "matmul: A and B as texel views");
    let pool = PoolOptions::new(2).activation(Activation::Relu);
    let x = rand_vec(3 * 30 * 34 * 6, 33);
    let run = |d: &Device| {
        let x = on(&x, &[3, 30, 34, 6], d).variable();
        let y = max_pool2d(&x, &pool).unwrap();
        let g = weighted_sum(&y).unwrap().backward().unwrap();
        (y.to_vec().unwrap(), g.get(&x).unwrap().to_vec().unwrap())
    };
    let before = views();
    let ((yg, dxg), (yc, dxc)) = (run(&dev), run(&Device::Cpu));
    assert_close_vec(&yg, &yc, RTOL, "max_pool2d + relu from a texel view");
    assert_close_vec(&dxg, &dxc, RTOL, "its gradient from texel views");
    assert!(views() - before >= 4, "pooling: x; its gradient: x, dy and y ({} views)", views() - before);
    let upd = Update {
        lr: 0.01,
        weight_decay: 0.004,
        rule: Rule::Adam { alpha: 0.01, beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7, amsgrad: false },
    };
    let n = 5 * 1024 + 8; // a multiple of 4: update4
    let (p, g, s) = (rand_vec(n, 34), rand_vec(n, 35), rand_vec(2 * n, 36).iter().map(|v| v.abs()).collect::<Vec<_>>());
    let before = views();
    let bufs = [upload_f32(gp, &p), upload_f32(gp, &g), upload_f32(gp, &s)];
    let (np, ns) = update(gp, &upd, [&bufs[0], &bufs[1], &bufs[2]], n).unwrap();
    assert_eq!(views() - before, 3, "the optimizer: values, gradients and slots as texel views");
    let mut want_s = s.clone();
    let want_p: Vec<f32> = (0..n)
        .map(|i| {
            let mut slots = [want_s[i], want_s[n + i]];
            let v = upd.apply(p[i], g[i], &mut slots);
            (want_s[i], want_s[n + i]) = (slots[0], slots[1]);
            v
        })
        .collect();
    assert_close_vec(&read_f32(gp, &np, n), &want_p, RTOL, "Adam from texel views: values");
    assert_close_vec(&read_f32(gp, &ns, 2 * n), &want_s, RTOL, "Adam from texel views: slots");
}

#[test]
fn fast_reads_bind_small_weights_as_uniform_views_where_those_pay() {
    // Where autotune::uniform_pays as well (a device told so; lavapipe measures so with either
    // ISA's code), the unrolled direct convolution's texel twin reads its filter from a uniform
    // view when it fits 64 KiB (from a texel view when not: [3,3,16,120] is 69,120 bytes), and
    // the classifier head's texel twin its four operands; the register matmul keeps texel views
    // (uniform views ran slower there). Against the CPU, counting the views of each kind.
    use tessera::kernels::autotune::{TEXELS_KEY, UNIFORM_KEY};
    use tessera::kernels::dense_xent::{dense_xent, dense_xent_cpu, HeadFusion};
    let dev = device_told(&[(TEXELS_KEY, "texels"), (UNIFORM_KEY, "uniform")]);
    let gp = dev.as_gpu().unwrap();
    let views = || (gp.stats().texel_views, gp.stats().uniform_views);
    let counted = |f: &mut dyn FnMut()| {
        let before = views();
        f();
        (views().0 - before.0, views().1 - before.1)
    };
    let on = |v: &[f32], s: &[usize], d: &Device| Tensor::from_slice(v, s, d).unwrap();
    let opts = Conv2dOptions::default().padding(Padding::Same).activation(Activation::Relu);
    for (i, (xs, fs, want)) in
        [([2, 9, 11, 6], [3, 3, 6, 8], (1, 1)), ([1, 5, 6, 16], [3, 3, 16, 120], (2, 0))].into_iter().enumerate()
    {
        let (xv, fv) = (rand_vec(xs.iter().product(), 50 + i as u64), rand_vec(fs.iter().product(), 60 + i as u64));
        let cpu = conv2d(&on(&xv, &xs, &Device::Cpu), &on(&fv, &fs, &Device::Cpu), &opts).unwrap();
        let mut got = None;
        let n = counted(&mut || {
            let (x, f) = (on(&xv, &xs, &dev), on(&fv, &fs, &dev));
            got = Some(conv2d_variant(&x, &f, None, &opts, Conv2dVariant::DirectUnrolledTexels).unwrap());
        });
        assert_close(&got.unwrap(), &cpu, RTOL, &format!("conv2d {xs:?} {fs:?} from fast reads"));
        assert_eq!(n, want, "conv2d {xs:?} {fs:?}: (texel, uniform) views");
    }
    let d = DenseDims { batch: 32, inputs: 84, units: 10 };
    let (x, w, b) = (rand_vec(32 * 84, 70), rand_vec(84 * 10, 71), rand_vec(10, 72));
    let labels: Vec<f32> = (0..32).map(|r| (r % 10) as f32).collect();
    let (stats, dx, dw, db) = dense_xent_cpu(&labels, [&x, &w, &b], d);
    let bufs = [upload_f32(gp, &x), upload_f32(gp, &w), upload_f32(gp, &b), upload_f32(gp, &labels)];
    let mut h = None;
    let n = counted(&mut || {
        h = Some(dense_xent(gp, &bufs[3], [&bufs[0], &bufs[1], &bufs[2]], d, HeadFusion::SplitTexels(2)).unwrap())
    });
    assert_eq!(n, (0, 4), "the head: labels, x, kernel and bias as uniform views");
    let h = h.unwrap();
    let got = [read_f32(gp, &h.loss, 1)[0], read_f32(gp, &h.accuracy, 1)[0]];
    assert_close_vec(&got, &stats, RTOL, "the head's loss and accuracy from uniform views");
    assert_close_vec(&read_f32(gp, &h.dx, 32 * 84), &dx, RTOL, "the head's dx from uniform views");
    assert_close_vec(&read_f32(gp, &h.dw, 84 * 10), &dw, RTOL, "the head's dw from uniform views");
    assert_close_vec(&read_f32(gp, &h.db, 10), &db, RTOL, "the head's db from uniform views");
    let (ac, ag) = (rand_vec(70 * 132, 73), rand_vec(132 * 44, 74));
    let want = matmul(&on(&ac, &[70, 132], &Device::Cpu), &on(&ag, &[132, 44], &Device::Cpu)).unwrap();
    let mut got = None;
    let n = counted(&mut || got = Some(matmul(&on(&ac, &[70, 132], &dev), &on(&ag, &[132, 44], &dev)).unwrap()));
    assert_close(&got.unwrap(), &want, RTOL, "matmul [70,132] x [132,44] from texel views");
    assert_eq!(n, (2, 0), "the register matmul: texel views only");
}
