//! Regression tests for issue 12 (bad input never panics, aborts or lies): sizes that overflow
//! or pass the host limit, GPU parameters past 32 bits, effective windows that would wrap, layer
//! settings Keras refuses, all-or-nothing checkpoint loading, and the CLI's argument checks.

mod common;

use common::gpu;
use tessera::prelude::*;

/// The error of `r`, which must be a typed shape error naming `op`.
fn shape_error<T: std::fmt::Debug>(r: Result<T>, op: &str) -> String {
    match r {
        Err(Error::Shape { op: got, msg }) => {
            assert_eq!(got, op, "{msg}");
            msg
        }
        other => panic!("expected a {op} shape error, got {other:?}"),
    }
}

#[test]
fn huge_or_wrapping_shapes_are_typed_errors() {
    for dev in [Device::Cpu, gpu()] {
        shape_error(Tensor::zeros(&[1 << 36], &dev), "full");
        // [2^32, 2^32] wraps to 0 elements with unchecked arithmetic.
        shape_error(Tensor::zeros(&[1 << 32, 1 << 32], &dev), "full");
        shape_error(Tensor::randn(&[usize::MAX, 2], 0.0, 1.0, 1, &dev), "randn");
        let x = Tensor::ones(&[1, 2, 2, 1], &dev).unwrap();
        shape_error(upsample_nearest2d(&x, [1 << 31, 1 << 31]), "upsample_nearest2d");
        shape_error(pad2d(&x, [[usize::MAX, 1], [0, 0]]), "pad2d");
        shape_error(one_hot(&Tensor::zeros(&[4], &dev).unwrap(), 1 << 40), "one_hot");
        let a = Tensor::ones(&[1 << 20, 1], &dev).unwrap_or_else(|_| Tensor::ones(&[1, 1], &dev).unwrap());
        shape_error(matmul(&a, &a.reshape(&[1, usize::MAX]).unwrap()), "matmul");
    }
}

#[test]
fn gpu_parameters_past_u32_are_typed_errors_naming_the_op() {
    // A stride that does not fit the shader's u32: the CPU answers, the GPU refuses cleanly.
    let (cpu, dev) = (Device::Cpu, gpu());
    let opts = Conv2dOptions::default().strides([1usize << 32, 1]).padding(Padding::Same);
    for d in [&cpu, &dev] {
        let x = Tensor::ones(&[1, 3, 3, 2], d).unwrap();
        let f = Tensor::ones(&[1, 1, 2, 2], d).unwrap();
        match conv2d(&x, &f, &opts) {
            Ok(y) => assert_eq!(y.shape(), [1, 1, 3, 2], "ceil(3 / 2^32) = 1 row"),
            Err(e) => assert!(e.to_string().contains("conv2d"), "{e}"),
        }
    }
}

#[test]
fn axes_near_usize_max_and_batches_past_the_dispatch_limit_are_typed_errors() {
    for dev in [Device::Cpu, gpu()] {
        // `first + len` of the normalized axes overflowed before it was checked.
        let x = Tensor::ones(&[2, 3], &dev).unwrap();
        let msg = shape_error(layer_normalization(&x, None, None, &[usize::MAX], 1e-3), "layer_normalization");
        assert!(msg.contains("adjacent axes"), "{msg}");
        let msg = shape_error(layer_normalization(&x, None, None, &[1, usize::MAX], 1e-3), "layer_normalization");
        assert!(msg.contains("adjacent axes"), "{msg}");
    }
    // 70000 batched 1x1 products: fine on the CPU; on the GPU, more z workgroups than the
    // adapter allows (lavapipe: 65535) is a typed error naming matmul and the shapes.
    let a = |d: &Device| Tensor::ones(&[70_000, 1, 1], d).unwrap();
    let y = matmul(&a(&Device::Cpu), &a(&Device::Cpu)).unwrap();
    assert_eq!(y.shape(), [70_000, 1, 1]);
    let dev = gpu();
    let limit = dev.as_gpu().unwrap().limits().max_compute_workgroups_per_dimension as usize;
    match matmul(&a(&dev), &a(&dev)) {
        Ok(y) if limit >= 70_000 => assert_eq!(y.to_vec().unwrap(), vec![1.0; 70_000]),
        Ok(_) => panic!("matmul: a batch past the workgroup limit {limit} cannot run in one dispatch"),
        Err(e) => assert!(e.to_string().contains("matmul") && e.to_string().contains("batch 70000"), "{e}"),
    }
}

#[test]
fn a_dilation_that_would_wrap_the_effective_window_is_refused() {
    // (k - 1) * d + 1 with d = 2^63 wraps to 1 in unchecked arithmetic: a silent 1x1 window.
    let x = Tensor::ones(&[1, 4, 4, 1], &Device::Cpu).unwrap();
    let f = Tensor::ones(&[3, 3, 1, 1], &Device::Cpu).unwrap();
    let opts = Conv2dOptions::default().dilations([1usize << 63, 1]);
    let msg = shape_error(conv2d(&x, &f, &opts), "conv2d");
    assert!(msg.contains("dilation 9223372036854775808"), "{msg}");
    // A dilation that fits but whose effective window (2·(2³¹−1)+1) passes the span limit.
    let opts = Conv2dOptions::default().dilations([(1usize << 31) - 1, 1]).padding(Padding::Same);
    let msg = shape_error(conv2d(&x, &f, &opts), "conv2d");
    assert!(msg.contains("effective window"), "{msg}");
}

#[test]
fn dense_with_zero_units_does_not_build() {
    let mut m = Sequential::new().with(layers::Dense::new(0));
    let e = m.build(&[4], &Device::Cpu, 0).unwrap_err().to_string();
    assert!(e.contains("units must be positive"), "{e}");
}

/// A two-layer model and an Adam that has taken one step (so it has slots).
fn trained() -> (Sequential, Adam) {
    let mut m = Sequential::new().with(layers::Dense::new(3)).with(layers::Dense::new(2));
    m.build(&[4], &Device::Cpu, 0).unwrap();
    let mut opt = Adam::default();
    let loss = reduce_sum(&m.call(&Tensor::ones(&[2, 4], &Device::Cpu).unwrap(), true).unwrap(), None, false).unwrap();
    opt.apply_gradients(&loss.backward().unwrap(), &m.trainable_variables()).unwrap();
    (m, opt)
}

/// Rewrites checkpoint `bytes` with tensor `name` replaced by zeros of `shape`.
fn with_tensor(bytes: &[u8], name: &str, shape: &[usize]) -> Vec<u8> {
    use safetensors::tensor::{Dtype, SafeTensors, TensorView};
    let st = SafeTensors::deserialize(bytes).unwrap();
    let (_, header) = SafeTensors::read_metadata(bytes).unwrap();
    let zeros = vec![0u8; 4 * shape.iter().product::<usize>()];
    let mut views: Vec<(String, TensorView)> = st.tensors().into_iter().filter(|(n, _)| n != name).collect();
    views.push((name.to_string(), TensorView::new(Dtype::F32, shape.to_vec(), &zeros).unwrap()));
    safetensors::serialize(views, header.metadata().clone()).unwrap()
}

#[test]
fn checkpoints_load_all_or_nothing() {
    let (m, opt) = trained();
    let bytes = tessera::checkpoint::to_bytes(&m.variables(), Some(&opt), &[]).unwrap();
    let slot = opt.state().unwrap().into_iter().map(|(n, _)| n).find(|n| n.contains("kernel")).unwrap();
    let bad = with_tensor(&bytes, &format!("optimizer/{slot}"), &[7, 7]);
    let (m2, _) = trained();
    let before: Vec<Vec<f32>> = m2.variables().iter().map(|v| v.value().to_vec().unwrap()).collect();
    let mut opt2 = Adam::default();
    let e = tessera::checkpoint::from_bytes(&bad, "bad", &m2.variables(), Some(&mut opt2)).unwrap_err().to_string();
    assert!(e.contains("[7, 7]"), "{e}");
    let after: Vec<Vec<f32>> = m2.variables().iter().map(|v| v.value().to_vec().unwrap()).collect();
    assert_eq!(before, after, "a refused checkpoint must not assign any variable");
    assert_eq!(opt2.iterations(), 0, "nor touch the optimizer");
    // The right file loads, into the right optimizer only.
    tessera::checkpoint::from_bytes(&bytes, "good", &m2.variables(), Some(&mut Adam::default())).unwrap();
    let e = tessera::checkpoint::from_bytes(&bytes, "good", &m2.variables(), Some(&mut Sgd::new(0.1))).unwrap_err();
    assert!(e.to_string().contains("optimizer is Adam"), "{e}");
    // A variable the model lacks is refused.
    let extra = with_tensor(&bytes, "model/stray/kernel", &[2]);
    let e = tessera::checkpoint::from_bytes(&extra, "extra", &m2.variables(), None).unwrap_err();
    assert!(e.to_string().contains("stray"), "{e}");
}

/// Runs the `tessera` binary; returns (exit code, stderr).
fn cli(args: &[&str]) -> (i32, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera")).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn cli_refuses_nonsense_before_any_work() {
    let dir = std::env::temp_dir().join(format!("tessera-cli-{}", std::process::id()));
    let ck = dir.join("ck.safetensors");
    let ck = ck.to_str().unwrap();
    let cases: [(&[&str], &str); 8] = [
        (&["--batch-size", "0"], "--batch-size"),
        (&["--epochs", "0"], "--epochs"),
        (&["--learning-rate", "NaN"], "--learning-rate"),
        (&["--learning-rate", "inf"], "--learning-rate"),
        (&["--train-limit", "0"], "--train-limit"),
        (&["--test-limit", "0"], "--test-limit"),
        (&["--resume"], "no checkpoint"),
        (&["--dataset", "nope"], "unknown dataset"),
    ];
    for (extra, want) in cases {
        let mut args = vec!["train", "lenet5", "--quiet", "--cpu", "--checkpoint", ck, "--data-dir", "/nonexistent/d"];
        args.extend_from_slice(extra);
        let (code, err) = cli(&args);
        assert_eq!(code, 1, "{extra:?}: {err}");
        assert!(
            err.starts_with("error: ") && err.contains(want) && err.trim().lines().count() == 1,
            "{extra:?}: {err}"
        );
    }
    let (code, err) = cli(&["train", "lenet5", "--cpu", "--checkpoint", "/proc/no/such/ck.safetensors"]);
    assert!(code == 1 && err.contains("cannot be written"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs the `tessera` binary with stdout a pipe whose reader is already closed; returns its
/// exit status and stderr.
#[cfg(unix)]
fn cli_into_closed_pipe(args: &[&str]) -> (std::process::ExitStatus, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::var("XDG_RUNTIME_DIR").unwrap_or_else(|_| "/tmp".into()))
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    (out.status, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[cfg(unix)]
#[test]
fn every_subcommand_ends_quietly_on_a_closed_stdout() {
    use std::os::unix::process::ExitStatusExt;
    // A checkpoint for `viz` (written with stdout open, on the CPU, from synthetic weights).
    let dir = std::env::temp_dir().join(format!("tessera-pipe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ck = dir.join("lenet5.safetensors");
    let mut m = tessera::zoo::lenet5();
    m.build(&[28, 28, 1], &Device::Cpu, 0).unwrap();
    tessera::checkpoint::save(&ck, &m.variables(), None, &[]).unwrap();
    let img = dir.join("x.png");
    image::GrayImage::from_fn(28, 28, |x, y| image::Luma([((x * y) % 256) as u8])).save(&img).unwrap();
    let (ck, img, out) = (ck.to_str().unwrap(), img.to_str().unwrap(), dir.to_str().unwrap());
    let cases: [&[&str]; 10] = [
        &["info"],
        &["summary", "lenet5"],
        &["bench", "ops", "--reps", "1", "--filter", "no such case"],
        &["bench", "train", "lenet5", "--reps", "1"],
        &[
            "train",
            "lenet5",
            "--cpu",
            "--epochs",
            "1",
            "--train-limit",
            "32",
            "--test-limit",
            "32",
            "--checkpoint",
            &format!("{out}/t.safetensors"),
        ],
        &["viz", "filters", ck, "--out", out],
        &["viz", "features", ck, "--image", img, "--out", out],
        &["viz", "saliency", ck, "--image", img, "--out", out],
        &["--help"],
        &["--version"],
    ];
    for args in cases {
        let (status, err) = cli_into_closed_pipe(args);
        // SIGPIPE (13) ends it, like `cat` or `head`: the shell reports 128 + 13 = 141.
        assert_eq!(status.signal(), Some(13), "{args:?}: {status:?}, stderr: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    assert!(!dir.join("t.safetensors").exists(), "the killed training run wrote no checkpoint");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Builds a one-layer model.
type MakeModel = Box<dyn Fn() -> Sequential>;

#[test]
fn layers_with_edge_settings_and_huge_input_shapes_build_or_refuse() {
    use tessera::layers::*;
    const E: usize = usize::MAX;
    let big = 1usize << 32;
    // Every layer kind with settings at 0, 2^32 and usize::MAX.
    let makers: Vec<(&str, MakeModel)> = vec![
        ("Dense(MAX)", Box::new(|| Sequential::new().with(Dense::new(E)))),
        ("Dense(2^32)", Box::new(move || Sequential::new().with(Dense::new(big)))),
        ("Conv2D(MAX)", Box::new(|| Sequential::new().with(Conv2D::new(E, 3)))),
        ("Conv2D k MAX", Box::new(|| Sequential::new().with(Conv2D::new(2, E)))),
        ("Conv2D groups MAX", Box::new(|| Sequential::new().with(Conv2D::new(2, 1).groups(E)))),
        ("Conv2D strides 0", Box::new(|| Sequential::new().with(Conv2D::new(2, 1).strides(0)))),
        ("Conv2D dilation MAX", Box::new(|| Sequential::new().with(Conv2D::new(2, 2).dilation_rate(E)))),
        (
            "Conv2DTranspose(2^32) strides MAX",
            Box::new(move || Sequential::new().with(Conv2DTranspose::new(big, 2).strides(E))),
        ),
        ("DepthwiseConv2D m MAX", Box::new(|| Sequential::new().with(DepthwiseConv2D::new(3).depth_multiplier(E)))),
        (
            "SeparableConv2D m 2^32",
            Box::new(move || Sequential::new().with(SeparableConv2D::new(2, 3).depth_multiplier(big))),
        ),
        ("MaxPool2D(MAX)", Box::new(|| Sequential::new().with(MaxPool2D::new(E)))),
        ("AveragePooling2D strides 0", Box::new(|| Sequential::new().with(AveragePooling2D::new(2).strides(0)))),
        ("UpSampling2D(2^32)", Box::new(move || Sequential::new().with(UpSampling2D::new(big)))),
        ("ZeroPadding2D(MAX)", Box::new(|| Sequential::new().with(ZeroPadding2D::new(E)))),
        ("Cropping2D(MAX)", Box::new(|| Sequential::new().with(Cropping2D::new(E)))),
        ("Reshape([2^32, 2^32])", Box::new(move || Sequential::new().with(Reshape::new(&[big, big])))),
        ("Reshape([-1, -1])", Box::new(|| Sequential::new().with(Reshape::new(&[E, E])))),
        ("ChannelShuffle(0)", Box::new(|| Sequential::new().with(ChannelShuffle::new(0)))),
        ("GroupNormalization(MAX)", Box::new(|| Sequential::new().with(GroupNormalization::new(E)))),
        ("Flatten", Box::new(|| Sequential::new().with(Flatten::new()))),
        ("GlobalAveragePooling2D", Box::new(|| Sequential::new().with(GlobalAveragePooling2D::new()))),
        ("BatchNormalization", Box::new(|| Sequential::new().with(BatchNormalization::new()))),
        ("LayerNormalization", Box::new(|| Sequential::new().with(LayerNormalization::new()))),
    ];
    let inputs: [&[usize]; 6] = [&[4, 4, 3], &[0, 0, 3], &[E, 2, 3], &[big, big, 1], &[2, 2, E], &[4]];
    for (what, make) in &makers {
        for input in inputs {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let mut m = make();
                match m.build(input, &Device::Cpu, 0) {
                    Ok(()) => {
                        // Built: a forward pass on one example is Ok or a typed error too.
                        let x = Tensor::zeros(&[[1].as_slice(), input].concat(), &Device::Cpu);
                        x.and_then(|x| m.call(&x, false)).map(|_| ())
                    }
                    Err(e) => Err(e),
                }
            }));
            assert!(r.is_ok(), "{what} on input {input:?} panicked");
        }
    }
    // The small valid ones do build.
    let mut m = Sequential::new().with(Conv2D::new(2, 3)).with(Flatten::new()).with(Dense::new(3));
    m.build(&[4, 4, 3], &Device::Cpu, 0).unwrap();
}

/// One op call with its arguments bound.
type Call<'a> = Box<dyn Fn() -> Result<Tensor> + 'a>;

#[test]
fn shape_arguments_at_the_edges_are_typed_errors_on_both_devices() {
    const E: usize = usize::MAX;
    let big = 1usize << 32;
    for dev in [Device::Cpu, gpu()] {
        let x = Tensor::ones(&[1, 4, 4, 2], &dev).unwrap();
        let dy = Tensor::ones(&[1, 2, 2, 2], &dev).unwrap();
        let f = Tensor::ones(&[3, 3, 2, 2], &dev).unwrap();
        let pool = PoolOptions::new(2);
        let conv = Conv2dOptions::default().strides(2).padding(Padding::Same);
        // (what, the call): each must be a typed error, never a panic.
        let cases: Vec<(&str, Call)> = vec![
            ("avg_pool2d_grad huge input", Box::new(|| avg_pool2d_grad(&dy, &[E, 4, 4, 2], &pool))),
            ("avg_pool2d_grad 2^32 input", Box::new(|| avg_pool2d_grad(&dy, &[1, big, big, 2], &pool))),
            ("upsample_nearest2d_grad huge", Box::new(|| upsample_nearest2d_grad(&dy, &[big, big, 1, 2], [2, 2]))),
            ("upsample_nearest2d_grad size MAX", Box::new(|| upsample_nearest2d_grad(&dy, &[1, 1, 1, 2], [E, E]))),
            ("resize_bilinear_grad huge", Box::new(|| resize_bilinear_grad(&dy, &[1, E, 1, 2]))),
            ("conv2d_backprop_input huge", Box::new(|| conv2d_backprop_input(&dy, &f, &[1 << 40, 4, 4, 2], &conv))),
            ("conv2d_backprop_input rank 2", Box::new(|| conv2d_backprop_input(&dy, &f, &[4, 4], &conv))),
            ("conv2d_backprop_filter huge", Box::new(|| conv2d_backprop_filter(&x, &dy, &[E, E, 2, 2], &conv))),
            (
                "depthwise_conv2d_backprop_input huge",
                Box::new(|| depthwise_conv2d_backprop_input(&dy, &f, &[1, E, 4, 2], &conv)),
            ),
            (
                "depthwise_conv2d_backprop_filter huge",
                Box::new(|| depthwise_conv2d_backprop_filter(&x, &dy, &[3, 3, 2, E], &conv)),
            ),
            ("conv2d_transpose huge output", Box::new(|| conv2d_transpose(&dy, &f, &[1, E, 4, 2], &conv))),
            ("slice start MAX", Box::new(|| slice(&x, 1, E, 2))),
            ("slice axis MAX", Box::new(|| slice(&x, E, 0, 0))),
            ("concat axis MAX", Box::new(|| concat(&[&x, &x], E))),
            ("broadcast_reduced huge", Box::new(|| broadcast_reduced(&dy, &[E, 2], &[true, false], 1.0))),
            ("reshape [MAX, MAX]", Box::new(|| x.reshape(&[E, E]))),
            ("reshape [2^32, 2^32, 0]", Box::new(|| x.reshape(&[big, big, 0]))),
            ("from_vec huge", Box::new(|| Tensor::from_vec(vec![1.0; 4], &[E, 4], &dev))),
            ("full 2^32 · 2^32", Box::new(|| Tensor::full(1.0, &[big, big], &dev))),
            ("argmax axis MAX", Box::new(|| argmax(&x, E))),
            ("channel_shuffle groups MAX", Box::new(|| channel_shuffle(&x, E))),
            ("group_normalization groups 0", Box::new(|| group_normalization(&x, 0, None, None, 1e-3))),
            ("dropout rate NaN", Box::new(|| dropout(&x, f32::NAN, 0))),
            ("moments axis MAX", Box::new(|| moments(&x, &[E], false).map(|m| m.0))),
            ("reduce_sum axis MAX", Box::new(|| reduce_sum(&x, Some(&[E]), false))),
            ("one_hot depth MAX", Box::new(|| one_hot(&Tensor::zeros(&[2], &dev).unwrap(), E))),
            ("in_top_k k MAX on [1, 4, 4, 2]", Box::new(|| in_top_k(&Tensor::zeros(&[1], &dev).unwrap(), &x, E))),
        ];
        for (what, call) in cases {
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(call)) {
                Ok(Err(_)) => {}
                Ok(Ok(t)) => panic!("{what} on {dev}: accepted, shape {:?}", t.shape()),
                Err(_) => panic!("{what} on {dev}: panicked"),
            }
        }
    }
}

#[test]
fn convolutions_with_no_input_channels_are_zeros_on_both_devices() {
    // Found by the corpus: a 0-channel input (an empty buffer) bound to the register-blocked
    // kernel's vec4 view was a GPU validation error that also poisoned the next op.
    for dev in [Device::Cpu, gpu()] {
        let x = Tensor::zeros(&[1, 1, 1, 0], &dev).unwrap();
        let f = Tensor::ones(&[2, 2, 0, 4], &dev).unwrap();
        let opts = Conv2dOptions::default().strides([1, 4]).dilations([4, 1]).padding(Padding::Same);
        let y = conv2d(&x, &f, &opts).unwrap();
        assert_eq!((y.shape(), y.to_vec().unwrap()), ([1, 1, 1, 4].as_slice(), vec![0.0; 4]), "{dev}");
        let dy = Tensor::ones(&[1, 1, 1, 4], &dev).unwrap();
        assert_eq!(conv2d_backprop_input(&dy, &f, &[1, 1, 1, 0], &opts).unwrap().shape(), [1, 1, 1, 0]);
        let df = conv2d_backprop_filter(&x, &dy, &[2, 2, 0, 4], &opts).unwrap();
        assert_eq!(df.shape(), [2, 2, 0, 4]);
        // A transposed convolution to no output channels is an empty output (stride 1 runs
        // as a plain conv on the GPU, which must not refuse it).
        let t = conv2d_transpose(
            &dy,
            &Tensor::ones(&[1, 1, 0, 4], &dev).unwrap(),
            &[1, 1, 1, 0],
            &Conv2dOptions::default(),
        );
        assert_eq!(t.unwrap().shape(), [1, 1, 1, 0], "{dev}");
        // The device is healthy afterwards.
        assert_eq!(add(&dy, &dy).unwrap().to_vec().unwrap(), vec![2.0; 4], "{dev}");
    }
}
