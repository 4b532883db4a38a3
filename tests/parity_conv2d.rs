//! conv2d: GPU (every kernel variant) vs the CPU twin on random inputs across every option,
//! hand-checked values, TensorFlow's output shapes, and typed errors.

mod common;
use common::*;
use tessera::prelude::*;

fn check(x_shape: [usize; 4], f_shape: [usize; 4], opts: Conv2dOptions, with_bias: bool, seed: u64) {
    check_variants(x_shape, f_shape, opts, with_bias, seed, &UNTEXELED);
}

/// Every variant but the texel twin of the unrolled kernel, whose pipelines (one per window,
/// channel count and activation) are as slow to compile as the unrolled kernel's: the cases
/// that run it ([`check_all`]) cover both of its entry points, every activation, bias or none,
/// and inputs of several texture rows (FLIP: parity_conv_variants).
const UNTEXELED: [Conv2dVariant; 6] = [
    Conv2dVariant::Auto,
    Conv2dVariant::Direct,
    Conv2dVariant::DirectSubgroup,
    Conv2dVariant::DirectUnrolled,
    Conv2dVariant::Register,
    Conv2dVariant::Im2col,
];

/// [`check`] with every variant, the texel twin included.
fn check_all(x_shape: [usize; 4], f_shape: [usize; 4], opts: Conv2dOptions, with_bias: bool, seed: u64) {
    check_variants(x_shape, f_shape, opts, with_bias, seed, &Conv2dVariant::ALL);
}

fn check_variants(
    x_shape: [usize; 4],
    f_shape: [usize; 4],
    opts: Conv2dOptions,
    with_bias: bool,
    seed: u64,
    variants: &[Conv2dVariant],
) {
    let (xc, xg) = pair(&x_shape, seed);
    let (fc, fg) = pair(&f_shape, seed + 1);
    let (bc, bg) = pair(&[f_shape[3]], seed + 2);
    let (bc, bg) = if with_bias { (Some(&bc), Some(&bg)) } else { (None, None) };
    let want = conv2d_with_bias(&xc, &fc, bc, &opts).unwrap();
    for &v in variants {
        let got = conv2d_variant(&xg, &fg, bg, &opts, v).unwrap();
        assert_close(&got, &want, RTOL, &format!("conv2d {x_shape:?} {f_shape:?} {opts:?} bias={with_bias} {v:?}"));
    }
}

#[test]
fn every_padding_stride_and_dilation_matches_cpu() {
    let paddings = [Padding::Valid, Padding::Same, Padding::Explicit([[1, 2], [0, 1]])];
    let mut seed = 0;
    for padding in paddings {
        for strides in [[1, 1], [2, 2], [2, 1]] {
            for dilations in [[1, 1], [2, 2], [1, 2]] {
                let opts = Conv2dOptions::default().padding(padding).strides(strides).dilations(dilations);
                seed += 10;
                check([2, 9, 11, 4], [3, 2, 4, 8], opts, seed % 20 == 0, seed);
            }
        }
    }
}

#[test]
fn odd_channel_counts_and_shapes_match_cpu() {
    let cases: [([usize; 4], [usize; 4]); 5] = [
        ([3, 7, 5, 1], [3, 3, 1, 6]),
        ([2, 8, 8, 3], [5, 5, 3, 5]),
        ([1, 1, 1, 4], [1, 1, 4, 4]),
        ([2, 13, 6, 12], [1, 3, 12, 20]),
        ([1, 5, 7, 8], [4, 4, 8, 12]),
    ];
    for (i, (xs, fs)) in cases.into_iter().enumerate() {
        check(xs, fs, Conv2dOptions::default().padding(Padding::Same), true, 100 + i as u64);
        check(xs, fs, Conv2dOptions::default().padding(Padding::Same).strides(2), false, 200 + i as u64);
    }
}

#[test]
fn direct_row_blocks_cover_every_width_and_window() {
    // The direct kernels own 4 pixels of one output row: widths 1 to 9 leave every tail, windows
    // 1 to 5 wide slide along the row (stride 1 across) or not (stride 2, dilation 2), and
    // 3 x 4 rows x 2 channel blocks end a subgroup's tile part-way; with 4 or 8 input channels
    // the window also slides 4 channels a step.
    let mut seed = 500;
    for w in 1..=9 {
        for (kw, strides, dilations) in
            [(1, [1, 1], [1, 1]), (3, [1, 1], [1, 1]), (5, [2, 1], [1, 1]), (3, [1, 2], [1, 1]), (2, [1, 1], [2, 2])]
        {
            let opts = Conv2dOptions::default().padding(Padding::Same).strides(strides).dilations(dilations);
            seed += 3;
            check([3, 4, w, 2], [2, kw, 2, 9], opts, w % 2 == 0, seed);
        }
        // 4 and 8 input channels: the window slides 4 channels a step (conv2d_direct4).
        let opts = Conv2dOptions::default().padding(Padding::Same);
        check([2, 3, w, 4 * (1 + w % 2)], [3, 3, 4 * (1 + w % 2), 6], opts, w % 3 == 0, seed + 1);
    }
}

#[test]
fn unrolled_direct_kernel_covers_every_small_window() {
    // conv2d_direct_sg_k unrolls up to 3 x 3 taps and 16 input channels (constants of the
    // pipeline): every kernel size it holds, 1, 7 and 16 channels, and 17 (past the unrolled
    // steps: DirectUnrolled then runs as DirectSubgroup); strides and dilations down the
    // columns only (along rows the window must slide), odd widths and every activation.
    let acts = [Activation::None, Activation::Relu, Activation::Sigmoid, Activation::Tanh];
    let mut seed = 900;
    for kh in 1..=3 {
        for kw in 1..=3 {
            for (i, cin) in [1, 7, 16, 17].into_iter().enumerate() {
                seed += 3;
                let down = [1, 2][(kh + i) % 2];
                let opts = Conv2dOptions::default()
                    .padding([Padding::Valid, Padding::Same][(kw + i) % 2])
                    .strides([down, 1])
                    .dilations([3 - down, 1])
                    .activation(acts[(kh + kw + i) % 4]);
                let variants = if kh == 3 && kw == 3 { &Conv2dVariant::ALL[..] } else { &UNTEXELED[..] };
                check_variants([2, 7, 5 + kw, cin], [kh, kw, cin, 3 + 5 * (i % 2)], opts, i % 2 == 0, seed, variants);
            }
        }
    }
    // Inputs of several texture rows and a part row (DirectUnrolledTexels: 1024 texels a row).
    check_all([4, 30, 21, 8], [3, 3, 8, 6], Conv2dOptions::default(), true, 990);
    check_all([3, 28, 29, 1], [3, 3, 1, 6], Conv2dOptions::default().padding(Padding::Same), false, 991);
    // One input channel whose rows and blocks start vec4s (conv2d_direct1_sg_k with ROW_ALIGNED;
    // the SAME and odd-width cases above run it without): the last block past the row's end, a
    // 3x3 and a 2x2 window (SAME pads 2x2 on the right only).
    check_all([2, 9, 12, 1], [3, 3, 1, 6], Conv2dOptions::default(), true, 992);
    check_all([2, 6, 8, 1], [2, 2, 1, 3], Conv2dOptions::default().padding(Padding::Same), false, 993);
}

#[test]
fn fused_bias_and_every_activation_match_cpu() {
    for act in [Activation::None, Activation::Relu, Activation::Sigmoid, Activation::Tanh] {
        let opts = Conv2dOptions::default().padding(Padding::Same).activation(act);
        check_all([2, 6, 9, 8], [3, 3, 8, 16], opts, true, 300);
    }
}

#[test]
fn register_variant_handles_pixel_and_channel_tails() {
    // rows = 2*5*3 = 30 (not a multiple of 8), cout = 20 (not a multiple of 16)
    check([2, 5, 3, 4], [3, 3, 4, 20], Conv2dOptions::default().padding(Padding::Same), true, 400);
}

/// The filter gradient with every kernel that handles the shapes (and the autotuned choice)
/// equals the CPU twin; the others are typed errors.
fn check_filter_grad(x_shape: [usize; 4], f_shape: [usize; 4], opts: Conv2dOptions, seed: u64) {
    let (xc, xg) = pair(&x_shape, seed);
    let out = conv2d(&xc, &Tensor::zeros(&f_shape, &Device::Cpu).unwrap(), &opts).unwrap();
    let (dyc, dyg) = pair(out.shape(), seed + 1);
    let want = conv2d_backprop_filter(&xc, &dyc, &f_shape, &opts).unwrap();
    let what = |k: &str| format!("conv2d filter grad {x_shape:?} {f_shape:?} {opts:?} {k}");
    let auto = conv2d_backprop_filter_kernel(&xg, &dyg, &f_shape, &opts, None).unwrap();
    assert_close(&auto, &want, RTOL, &what("autotuned"));
    let aligned = f_shape[2].is_multiple_of(4) && f_shape[3].is_multiple_of(4);
    for k in FilterGradKernel::ALL {
        let valid = match k {
            FilterGradKernel::Register => aligned,
            FilterGradKernel::Taps => f_shape[0] * f_shape[1] <= 9,
            FilterGradKernel::TapsVec4 => f_shape[0] * f_shape[1] <= 9 && f_shape[3].is_multiple_of(4),
            // Every case here is a one-pass problem (few output pixels).
            FilterGradKernel::TapsTexels => f_shape[0] * f_shape[1] <= 9,
            FilterGradKernel::Generic => true,
            FilterGradKernel::Grouped => false,
        };
        match conv2d_backprop_filter_kernel(&xg, &dyg, &f_shape, &opts, Some(k)) {
            Ok(got) if valid => assert_close(&got, &want, RTOL, &what(&format!("{k:?}"))),
            Err(Error::Shape { .. }) if !valid => {}
            other => {
                panic!("{}: valid={valid} but got {:?}", what(&format!("{k:?}")), other.map(|t| t.shape().to_vec()))
            }
        }
    }
}

#[test]
fn every_filter_gradient_kernel_matches_cpu() {
    let same = Conv2dOptions::default().padding(Padding::Same);
    check_filter_grad([2, 9, 11, 4], [3, 3, 4, 8], same, 500);
    check_filter_grad([3, 7, 5, 1], [3, 3, 1, 6], same.strides(2), 510);
    check_filter_grad([2, 8, 6, 8], [2, 4, 8, 20], Conv2dOptions::default().dilations([2, 1]), 520);
    check_filter_grad([1, 9, 9, 12], [5, 5, 12, 4], same, 530);
    check_filter_grad(
        [2, 6, 7, 3],
        [4, 3, 3, 5],
        Conv2dOptions::default().padding(Padding::Explicit([[1, 2], [0, 1]])),
        540,
    );
}

#[test]
fn small_all_taps_filter_gradients_take_one_pass_and_large_ones_chunk() {
    // Up to TAPS_ONE_PASS_PIXELS output pixels the all-taps kernel sums its rows within a
    // workgroup (one dispatch, no chunk pass) and can give the bias gradient Σ dy from the same
    // dispatch; above it, the chunked partial sums and their sum (two dispatches, no bias
    // gradient). LeNet-5's two convolutions, odd shapes with strides, dilations and padding,
    // more rows than the 64 lanes or fewer, cout a multiple of 4 (dy read as vec4s) or not, one
    // or more blocks of 8 output channels; every case against the CPU twin, with the kernel
    // forced and through conv2d_backprop_filter_and_bias (tuned). The one pass runs with both
    // lane counts (TAPS_LANES: 8 on CPU adapters, 64 on GPUs) and 5, each with 4 and 8 output
    // channels an invocation (TAPS_CHANNELS).
    use tessera::kernels::conv2d::{
        conv2d_filter_bias_grad_kernel, conv2d_filter_bias_grad_taps, TAPS_CHANNELS, TAPS_LANES, TAPS_ONE_PASS_PIXELS,
    };
    use tessera::kernels::Conv2dGeometry;
    let same = Conv2dOptions::default().padding(Padding::Same);
    let valid = Conv2dOptions::default();
    let cases: [([usize; 4], [usize; 4], Conv2dOptions); 10] = [
        ([32, 28, 28, 1], [3, 3, 1, 6], valid),
        ([32, 13, 13, 6], [3, 3, 6, 16], valid),
        ([3, 7, 5, 5], [3, 1, 5, 7], same.strides([2, 1])),
        ([3, 7, 5, 5], [3, 3, 5, 8], same.strides([2, 1])),
        ([2, 5, 9, 3], [2, 3, 3, 4], same),
        ([2, 9, 8, 3], [2, 3, 3, 2], valid.dilations([2, 1]).padding(Padding::Explicit([[1, 0], [2, 1]]))),
        ([1, 2, 3, 2], [2, 2, 2, 5], valid),
        ([2, 130, 260, 1], [3, 3, 1, 2], same),
        // Chunked, past one block of 8 output channels: sliding rows, then the general loop.
        ([1, 257, 257, 2], [3, 3, 2, 11], same),
        ([1, 300, 240, 1], [3, 2, 1, 9], same),
    ];
    let _ = gpu();
    let dev = Device::gpu().unwrap(); // a device of its own for the dispatch count
    let gp = dev.as_gpu().unwrap();
    let up = |v: &[f32]| upload_f32(gp, v);
    let read = |b: &tessera::device::GpuBuffer, n: usize| read_f32(gp, b, n);
    for (i, (xs, fs, o)) in cases.into_iter().enumerate() {
        let seed = 560 + 10 * i as u64;
        let what = format!("taps filter grad {xs:?} {fs:?} {o:?}");
        let xc = Tensor::from_vec(rand_vec(xs.iter().product(), seed), &xs, &Device::Cpu).unwrap();
        let out = conv2d(&xc, &Tensor::zeros(&fs, &Device::Cpu).unwrap(), &o).unwrap();
        let dyc = Tensor::from_vec(rand_vec(out.numel(), seed + 1), out.shape(), &Device::Cpu).unwrap();
        let want = conv2d_backprop_filter(&xc, &dyc, &fs, &o).unwrap();
        let want_db = reduce_sum(&dyc, Some(&[0, 1, 2]), false).unwrap();
        let one_pass = out.numel() / fs[3] <= TAPS_ONE_PASS_PIXELS;
        let g = Conv2dGeometry::new(&xs, &fs, o.strides, o.dilations, &o.padding).unwrap();
        let (xb, dyb) = (up(&xc.to_vec().unwrap()), up(&dyc.to_vec().unwrap()));
        // TapsVec4 (dy as vec4s) exists for the one-pass problems with cout % 4 == 0, TapsTexels
        // (x and dy from texel views) for all one-pass problems.
        let vec4 = one_pass && fs[3].is_multiple_of(4);
        let kernels = match (one_pass, vec4) {
            (false, _) => &[FilterGradKernel::Taps][..],
            (true, false) => &[FilterGradKernel::Taps, FilterGradKernel::TapsTexels][..],
            (true, true) => &[FilterGradKernel::Taps, FilterGradKernel::TapsVec4, FilterGradKernel::TapsTexels][..],
        };
        for (&kernel, with_bias) in kernels.iter().flat_map(|k| [(k, false), (k, true)]) {
            let what = format!("{what} {kernel:?}");
            dev.synchronize().unwrap();
            let before = gp.stats().dispatches;
            let (dw, db) = conv2d_filter_bias_grad_kernel(gp, &xb, &dyb, &g, kernel, with_bias).unwrap();
            assert_eq!(gp.stats().dispatches - before, if one_pass { 1 } else { 2 }, "{what}: dispatches");
            assert_close_vec(&read(&dw, want.numel()), &want.to_vec().unwrap(), RTOL, &format!("{what}: dw"));
            match db {
                Some(db) if with_bias && one_pass => {
                    assert_close_vec(&read(&db, fs[3]), &want_db.to_vec().unwrap(), RTOL, &format!("{what}: db"))
                }
                None if !(with_bias && one_pass) => {}
                _ => panic!("{what}: with_bias={with_bias} one_pass={one_pass}: unexpected bias gradient"),
            }
            // Every lane and channel count for the storage kernels; the texel twin shares their
            // launch code (a slow compile per count), so it runs the adapter's choice, and where
            // it reads dy as vec2s (cout % 4 == 2) both channel counts on CPU adapters' lanes.
            let launches = TAPS_LANES.into_iter().chain([5]).flat_map(|l| TAPS_CHANNELS.map(|c| (l, c)));
            let vec2 = fs[3] % 4 == 2;
            let launches =
                launches.filter(|&(l, _)| kernel != FilterGradKernel::TapsTexels || (vec2 && l == TAPS_LANES[0]));
            for (lanes, channels) in launches {
                let what = format!("{what} with {lanes} lanes, {channels} channels");
                let r = conv2d_filter_bias_grad_taps(gp, &xb, &dyb, &g, (kernel, true, lanes, channels));
                let Some((dw, Some(db))) = r.as_ref().ok().filter(|_| one_pass) else {
                    assert!(!one_pass && r.is_err(), "{what}: one_pass={one_pass}");
                    continue;
                };
                assert_close_vec(&read(dw, want.numel()), &want.to_vec().unwrap(), RTOL, &format!("{what}: dw"));
                assert_close_vec(&read(db, fs[3]), &want_db.to_vec().unwrap(), RTOL, &format!("{what}: db"));
            }
            for (lanes, channels) in [(0, 4), (65, 8), (8, 6)] {
                let e = conv2d_filter_bias_grad_taps(gp, &xb, &dyb, &g, (kernel, false, lanes, channels));
                let refused = matches!(e, Err(tessera::kernels::KernelError::Shape { .. }));
                assert!(refused, "{what}: {lanes} lanes, {channels} channels");
            }
        }
        if !vec4 {
            let e = conv2d_filter_bias_grad_kernel(gp, &xb, &dyb, &g, FilterGradKernel::TapsVec4, false);
            assert!(matches!(e, Err(tessera::kernels::KernelError::Shape { .. })), "{what}: TapsVec4 refused");
        }
        if !one_pass {
            let e = conv2d_filter_bias_grad_kernel(gp, &xb, &dyb, &g, FilterGradKernel::TapsTexels, false);
            assert!(matches!(e, Err(tessera::kernels::KernelError::Shape { .. })), "{what}: TapsTexels refused");
        }
        let (xg, dyg) = (xc.to_device(&dev).unwrap(), dyc.to_device(&dev).unwrap());
        let got = conv2d_backprop_filter_kernel(&xg, &dyg, &fs, &o, Some(FilterGradKernel::Taps)).unwrap();
        assert_close(&got, &want, RTOL, &what);
        for d in [&Device::Cpu, &dev] {
            let (dw, db) =
                conv2d_backprop_filter_and_bias(&xc.to_device(d).unwrap(), &dyc.to_device(d).unwrap(), &fs, &o)
                    .unwrap();
            assert_close(&dw, &want, RTOL, &format!("{what}: joint dw on {d}"));
            assert_close(&db, &want_db, RTOL, &format!("{what}: joint db on {d}"));
        }
    }
    let z = |s: &[usize]| Tensor::zeros(s, &Device::Cpu).unwrap();
    let bad = conv2d_backprop_filter_and_bias(&z(&[1, 5, 5, 2]), &z(&[1, 4, 4, 3]), &[3, 3, 2, 3], &valid);
    assert!(matches!(bad, Err(Error::Shape { .. })), "{bad:?}");
}

#[test]
fn cross_correlation_by_hand() {
    // tf.nn.conv2d is a cross-correlation: [[0,1,2],[3,4,5],[6,7,8]] ⋆ [[0,1],[2,3]] = [[19,25],[37,43]]
    for dev in [Device::Cpu, gpu()] {
        let x = Tensor::from_slice(&[0., 1., 2., 3., 4., 5., 6., 7., 8.], &[1, 3, 3, 1], &dev).unwrap();
        let f = Tensor::from_slice(&[0., 1., 2., 3.], &[2, 2, 1, 1], &dev).unwrap();
        let y = conv2d(&x, &f, &Conv2dOptions::default()).unwrap();
        assert_eq!(y.shape(), &[1, 2, 2, 1]);
        assert_eq!(y.to_vec().unwrap(), vec![19., 25., 37., 43.], "{dev}");
    }
}

#[test]
fn same_padding_by_hand_puts_the_odd_row_bottom_right() {
    // 2x2 ones kernel, SAME, stride 1 on a 2x2 input: total pad 1 → all at bottom/right.
    for dev in [Device::Cpu, gpu()] {
        let x = Tensor::from_slice(&[1., 2., 3., 4.], &[1, 2, 2, 1], &dev).unwrap();
        let f = Tensor::ones(&[2, 2, 1, 1], &dev).unwrap();
        let y = conv2d(&x, &f, &Conv2dOptions::default().padding(Padding::Same)).unwrap();
        assert_eq!(y.to_vec().unwrap(), vec![10., 6., 7., 4.], "{dev}");
    }
}

#[test]
fn output_shapes_follow_tensorflow() {
    let dev = gpu();
    let shape = |x: [usize; 4], f: [usize; 4], o: Conv2dOptions| {
        let x = Tensor::zeros(&x, &dev).unwrap();
        let f = Tensor::zeros(&f, &dev).unwrap();
        conv2d(&x, &f, &o).unwrap().shape().to_vec()
    };
    let d = Conv2dOptions::default();
    assert_eq!(shape([1, 28, 28, 1], [3, 3, 1, 6], d), vec![1, 26, 26, 6]);
    assert_eq!(shape([1, 28, 28, 1], [3, 3, 1, 6], d.padding(Padding::Same)), vec![1, 28, 28, 6]);
    assert_eq!(shape([2, 7, 9, 3], [3, 3, 3, 4], d.padding(Padding::Same).strides(2)), vec![2, 4, 5, 4]);
    assert_eq!(shape([2, 7, 9, 3], [3, 3, 3, 4], d.strides((2, 3))), vec![2, 3, 3, 4]);
    assert_eq!(shape([1, 10, 10, 1], [3, 3, 1, 1], d.dilations(2)), vec![1, 6, 6, 1]);
    let explicit = d.padding(Padding::Explicit([[1, 2], [0, 3]]));
    assert_eq!(shape([1, 5, 5, 1], [3, 3, 1, 1], explicit), vec![1, 6, 6, 1]);
}

#[test]
fn bad_input_returns_typed_errors_naming_the_shapes() {
    let dev = gpu();
    let t = |s: &[usize]| Tensor::zeros(s, &dev).unwrap();
    let d = Conv2dOptions::default();
    let msg = |r: Result<Tensor>| match r.unwrap_err() {
        Error::Shape { msg, .. } => msg,
        other => panic!("expected a shape error, got {other}"),
    };
    let m = msg(conv2d(&t(&[1, 5, 5, 3]), &t(&[3, 3, 2, 4]), &d));
    assert!(m.contains("[1, 5, 5, 3]") && m.contains("[3, 3, 2, 4]"), "{m}");
    let m = msg(conv2d(&t(&[1, 2, 2, 1]), &t(&[3, 3, 1, 1]), &d));
    assert!(m.contains("larger than the padded input") && m.contains("[1, 2, 2, 1]"), "{m}");
    let m = msg(conv2d(&t(&[1, 5, 5, 1]), &t(&[3, 3, 1, 1]), &d.strides(0)));
    assert!(m.contains("strides"), "{m}");
    let m = msg(conv2d(&t(&[5, 5, 1]), &t(&[3, 3, 1, 1]), &d));
    assert!(m.contains("rank 4") && m.contains("[5, 5, 1]"), "{m}");
    let m = msg(conv2d_with_bias(&t(&[1, 5, 5, 1]), &t(&[3, 3, 1, 2]), Some(&t(&[3])), &d));
    assert!(m.contains("[3]"), "{m}");
}

/// Every autotuning candidate of the register-blocked forward (the pipeline-overridable
/// REG_TM x REG_TV block) and of the register-blocked filter gradient (FG_TV and chunking)
/// equals the CPU twin: odd and non-square sizes, batch > 1, channel counts that leave partial
/// blocks, strides, dilations and padding.
#[test]
fn every_register_block_matches_cpu() {
    let same = Conv2dOptions::default().padding(Padding::Same);
    let cases = [
        ([2, 7, 5, 4], [3, 3, 4, 20], same.activation(Activation::Relu)),
        ([3, 6, 9, 8], [3, 2, 8, 12], Conv2dOptions::default().strides([2, 1])),
        ([2, 9, 7, 12], [3, 3, 12, 4], same.dilations([2, 1])),
        ([1, 5, 11, 4], [1, 3, 4, 36], Conv2dOptions::default().padding(Padding::Explicit([[1, 0], [2, 1]]))),
        // Several subgroup tiles in pixels and channels, the last of each partial.
        ([2, 13, 11, 8], [3, 3, 8, 40], same),
    ];
    for (i, (xs, fs, opts)) in cases.into_iter().enumerate() {
        let seed = 900 + 10 * i as u64;
        let (xc, xg) = pair(&xs, seed);
        let (fc, fg) = pair(&fs, seed + 1);
        let (bc, bg) = pair(&[fs[3]], seed + 2);
        let want = conv2d_with_bias(&xc, &fc, Some(&bc), &opts).unwrap();
        for (name, block) in RegBlock::candidates(gpu().as_gpu().unwrap()) {
            let got = conv2d_reg_block(&xg, &fg, Some(&bg), &opts, block).unwrap();
            assert_close(&got, &want, RTOL, &format!("conv2d {xs:?} {fs:?} {opts:?} block {name}"));
        }
        let lin = Conv2dOptions { activation: Activation::None, ..opts };
        let (dyc, dyg) = pair(want.shape(), seed + 3);
        let want = conv2d_backprop_filter(&xc, &dyc, &fs, &lin).unwrap();
        for (name, block) in FilterGradBlock::candidates(gpu().as_gpu().unwrap()) {
            let got = conv2d_backprop_filter_block(&xg, &dyg, &fs, &lin, block).unwrap();
            assert_close(&got, &want, RTOL, &format!("conv2d filter grad {xs:?} {fs:?} {lin:?} block {name}"));
        }
    }
    // Blocks the shader cannot hold, and unaligned channels, are typed errors.
    let (_, xg) = pair(&[1, 4, 4, 4], 1);
    let (_, fg) = pair(&[3, 3, 4, 8], 2);
    let big = RegBlock { pixels: RegBlock::MAX.pixels + 1, vec4s: 1, subgroup: false };
    assert!(matches!(conv2d_reg_block(&xg, &fg, None, &same, big), Err(Error::Shape { .. })));
    let (_, f3) = pair(&[3, 3, 4, 6], 3);
    assert!(matches!(conv2d_reg_block(&xg, &f3, None, &same, RegBlock::DEFAULT), Err(Error::Shape { .. })));
}
