//! GPU-vs-CPU parity, hand-checked values, shapes and errors for grouped convolution (forward
//! and both gradient kernels), channel shuffle and bilinear resizing, and their layers.

mod common;
use common::*;
use tessera::nn::layers::{self, Interpolation};
use tessera::nn::models::Sequential;
use tessera::prelude::*;

/// (input shape, filter shape): groups 2, 3 and 6 (= cin, depthwise-like, with and without
/// several outputs per group), 4 groups of 2 channels, one output per group of 2 inputs, odd
/// sizes, batch > 1, non-square.
const GROUPED: [(&[usize], &[usize]); 6] = [
    (&[2, 7, 9, 6], &[3, 3, 3, 4]),
    (&[2, 6, 5, 6], &[3, 2, 2, 9]),
    (&[3, 5, 7, 6], &[2, 3, 1, 6]),
    (&[1, 8, 6, 6], &[3, 3, 1, 12]),
    (&[2, 5, 5, 8], &[1, 3, 2, 8]),
    (&[2, 6, 7, 6], &[3, 3, 2, 3]),
];

fn conv_options() -> [Conv2dOptions; 5] {
    let o = Conv2dOptions::default();
    [
        o,
        o.padding(Padding::Same).activation(Activation::Relu),
        o.strides((2, 1)).padding(Padding::Same),
        o.strides(2).padding(Padding::Explicit([[1, 0], [2, 1]])).activation(Activation::Tanh),
        o.dilations((2, 1)).padding(Padding::Same),
    ]
}

#[test]
fn grouped_conv2d_forward_matches_cpu_for_every_option() {
    for (i, (xs, fs)) in GROUPED.into_iter().enumerate() {
        let (xc, xg) = pair(xs, 100 + i as u64);
        let (fc, fg) = pair(fs, 110 + i as u64);
        let (bc, bg) = pair(&[fs[3]], 120 + i as u64);
        for o in conv_options() {
            let what = format!("grouped conv2d {xs:?} {fs:?} {o:?}");
            let want = conv2d_with_bias(&xc, &fc, Some(&bc), &o).unwrap();
            assert_close(&conv2d_with_bias(&xg, &fg, Some(&bg), &o).unwrap(), &want, RTOL, &what);
            let want = conv2d(&xc, &fc, &o).unwrap();
            for v in Conv2dVariant::ALL {
                let got = conv2d_variant(&xg, &fg, None, &o, v).unwrap();
                assert_close(&got, &want, RTOL, &format!("{what} {v:?}"));
            }
        }
    }
}

#[test]
fn grouped_conv2d_gradient_kernels_match_cpu() {
    for (i, (xs, fs)) in GROUPED.into_iter().enumerate() {
        let (xc, xg) = pair(xs, 130 + i as u64);
        let (fc, fg) = pair(fs, 140 + i as u64);
        for (j, o) in conv_options().into_iter().enumerate() {
            let o = o.activation(Activation::None);
            let what = format!("{xs:?} {fs:?} {o:?}");
            let out = conv2d(&xc, &fc, &o).unwrap();
            let (dc, dg) = pair(out.shape(), 150 + 10 * i as u64 + j as u64);
            let want = conv2d_backprop_input(&dc, &fc, xs, &o).unwrap();
            assert_close(&conv2d_backprop_input(&dg, &fg, xs, &o).unwrap(), &want, RTOL, &format!("dx {what}"));
            let want = conv2d_backprop_filter(&xc, &dc, fs, &o).unwrap();
            assert_close(&conv2d_backprop_filter(&xg, &dg, fs, &o).unwrap(), &want, RTOL, &format!("dw {what}"));
        }
    }
}

#[test]
fn grouped_filter_gradient_splits_long_sums_into_chunks() {
    // n·oh = 64 rows of output pixels: enough for the row-chunked partial sums.
    let (xs, fs) = ([4, 17, 9, 4], [3, 3, 2, 6]);
    let (xc, xg) = pair(&xs, 160);
    let o = Conv2dOptions::default().padding(Padding::Same);
    let (dc, dg) = pair(&[4, 17, 9, 6], 161);
    let want = conv2d_backprop_filter(&xc, &dc, &fs, &o).unwrap();
    assert_close(&conv2d_backprop_filter(&xg, &dg, &fs, &o).unwrap(), &want, RTOL, "chunked dw");
}

#[test]
fn grouped_conv2d_with_one_channel_per_group_is_depthwise_conv2d() {
    // A [kh, kw, 1, c·m] grouped filter is the [kh, kw, c, m] depthwise filter in memory, and
    // both put output channel c·m + q in group c.
    let o = Conv2dOptions::default().strides((1, 2)).padding(Padding::Same);
    for dev in [Device::Cpu, gpu()] {
        let x = Tensor::randn(&[2, 6, 7, 3], 0.0, 1.0, 170, &dev).unwrap();
        let f = Tensor::randn(&[3, 2, 3, 2], 0.0, 1.0, 171, &dev).unwrap();
        let want = depthwise_conv2d(&x, &f, &o).unwrap();
        let got = conv2d(&x, &f.reshape(&[3, 2, 1, 6]).unwrap(), &o).unwrap();
        assert_close(&got, &want, RTOL, &format!("grouped vs depthwise on {dev}"));
    }
}

#[test]
fn grouped_conv2d_shape_errors_name_the_shapes() {
    let x = Tensor::zeros(&[1, 5, 5, 6], &gpu()).unwrap();
    let o = Conv2dOptions::default();
    let cases: [(&[usize], &[&str]); 3] = [
        (&[3, 3, 4, 8], &["not a multiple", "[1, 5, 5, 6]", "[3, 3, 4, 8]"]),
        (&[3, 3, 2, 4], &["3 groups", "[3, 3, 2, 4]"]),
        (&[3, 3, 0, 4], &["zero input depth", "[3, 3, 0, 4]"]),
    ];
    for (fs, needles) in cases {
        let f = Tensor::zeros(fs, &gpu()).unwrap();
        let e = conv2d(&x, &f, &o).unwrap_err().to_string();
        for n in needles {
            assert!(e.contains(n), "{fs:?}: {e}");
        }
    }
    let f = Tensor::zeros(&[3, 3, 2, 6], &gpu()).unwrap();
    let e = conv2d_backprop_input(&Tensor::zeros(&[1, 3, 3, 5], &gpu()).unwrap(), &f, &[1, 5, 5, 6], &o).unwrap_err();
    assert!(e.to_string().contains("[1, 3, 3, 5]") && e.to_string().contains("[1, 3, 3, 6]"), "{e}");
}

#[test]
fn channel_shuffle_matches_cpu_and_interleaves_the_groups() {
    for (i, (shape, groups)) in
        [(&[2, 3, 5, 12][..], [1, 2, 3, 4, 6, 12]), (&[3, 1, 7, 6][..], [1, 2, 3, 6, 6, 6])].into_iter().enumerate()
    {
        let (xc, xg) = pair(shape, 180 + i as u64);
        for g in groups {
            let want = channel_shuffle(&xc, g).unwrap();
            assert_close(&channel_shuffle(&xg, g).unwrap(), &want, RTOL, &format!("shuffle {shape:?} g={g}"));
            let back = channel_shuffle(&channel_shuffle(&xg, g).unwrap(), shape[3] / g).unwrap();
            assert_eq!(back.to_vec().unwrap(), xc.to_vec().unwrap(), "inverse shuffle {shape:?} g={g}");
        }
    }
    // Channels [0..6) in 2 groups [0 1 2 | 3 4 5] interleave to 0 3 1 4 2 5.
    for dev in [Device::Cpu, gpu()] {
        let x =
            Tensor::from_slice(&[0., 1., 2., 3., 4., 5., 10., 11., 12., 13., 14., 15.], &[1, 1, 2, 6], &dev).unwrap();
        let want = [0., 3., 1., 4., 2., 5., 10., 13., 11., 14., 12., 15.];
        assert_eq!(channel_shuffle(&x, 2).unwrap().to_vec().unwrap(), want, "{dev}");
        let e = channel_shuffle(&x, 4).unwrap_err().to_string();
        assert!(e.contains("[1, 1, 2, 6]") && e.contains("groups 4"), "{e}");
        assert!(channel_shuffle(&x, 0).is_err());
    }
}

/// (input shape, output size): upsampling by 2, 3 and (2, 3), downsizing, mixed, identity;
/// c % 4 == 0 takes the vec4 kernels.
const RESIZES: [(&[usize], [usize; 2]); 11] = [
    (&[2, 5, 7, 3], [10, 14]),
    (&[2, 5, 7, 3], [15, 21]),
    (&[2, 5, 7, 3], [10, 21]),
    (&[1, 4, 3, 8], [8, 6]),
    (&[2, 9, 8, 3], [4, 3]),
    (&[2, 9, 8, 3], [3, 2]),
    (&[3, 6, 5, 2], [4, 11]),
    (&[2, 5, 7, 3], [5, 7]),
    (&[1, 1, 3, 2], [5, 1]),
    (&[2, 7, 5, 4], [3, 11]),
    (&[2, 3, 4, 8], [9, 8]),
];

#[test]
fn resize_bilinear_and_its_gradient_match_cpu() {
    for (i, (shape, size)) in RESIZES.into_iter().enumerate() {
        let what = format!("resize_bilinear {shape:?} -> {size:?}");
        let (xc, xg) = pair(shape, 190 + i as u64);
        let want = resize_bilinear(&xc, size).unwrap();
        assert_eq!(want.shape(), &[shape[0], size[0], size[1], shape[3]], "{what}");
        assert_close(&resize_bilinear(&xg, size).unwrap(), &want, RTOL, &what);
        let (dc, dg) = pair(want.shape(), 200 + i as u64);
        let want = resize_bilinear_grad(&dc, shape).unwrap();
        assert_close(&resize_bilinear_grad(&dg, shape).unwrap(), &want, RTOL, &format!("{what} gradient"));
    }
}

#[test]
fn resize_bilinear_uses_half_pixel_centres() {
    // Row [0, 1] to width 4: src = (o + 0.5)/2 − 0.5 = −0.25, 0.25, 0.75, 1.25 → clamped at the
    // borders. To width 1: src = 0.5 → the mean. The gradient of width 4 sums the weights.
    for dev in [Device::Cpu, gpu()] {
        let x = Tensor::from_slice(&[0., 1.], &[1, 1, 2, 1], &dev).unwrap();
        assert_eq!(resize_bilinear(&x, (1, 4)).unwrap().to_vec().unwrap(), [0., 0.25, 0.75, 1.], "{dev}");
        assert_eq!(resize_bilinear(&x, (1, 1)).unwrap().to_vec().unwrap(), [0.5], "{dev}");
        let dy = Tensor::from_slice(&[1., 1., 1., 1.], &[1, 1, 4, 1], &dev).unwrap();
        assert_eq!(resize_bilinear_grad(&dy, &[1, 1, 2, 1]).unwrap().to_vec().unwrap(), [2., 2.], "{dev}");
        let e = resize_bilinear(&x, (0, 3)).unwrap_err().to_string();
        assert!(e.contains("[0, 3]") && e.contains("[1, 1, 2, 1]"), "{e}");
        assert!(resize_bilinear(&x.reshape(&[2, 1]).unwrap(), (2, 2)).is_err());
    }
}

#[test]
fn conv2d_groups_layer_has_keras_kernel_shape_params_and_errors() {
    let mut m = Sequential::new().with(layers::Conv2D::new(6, (3, 2)).groups(3).padding(Padding::Same));
    m.build(&[8, 7, 9], &Device::Cpu, 0).unwrap();
    // kh·kw·(cin/g)·f + f = 3·2·3·6 + 6 (Keras: 114)
    assert_eq!(m.count_params(), 3 * 2 * 3 * 6 + 6);
    assert_eq!(m.variables()[0].shape(), [3, 2, 3, 6]);
    let x = Tensor::randn(&[2, 8, 7, 9], 0.0, 1.0, 210, &Device::Cpu).unwrap();
    assert_eq!(m.call(&x, false).unwrap().shape(), &[2, 8, 7, 6]);
    let err = |layer: layers::Conv2D, input: &[usize]| {
        Sequential::new().with(layer).build(input, &Device::Cpu, 0).unwrap_err().to_string()
    };
    let e = err(layers::Conv2D::new(5, 3).groups(2), &[8, 8, 4]);
    assert!(
        e.contains(
            "The number of filters must be evenly divisible by the number of groups. Received: groups=2, filters=5."
        ),
        "{e}"
    );
    let e = err(layers::Conv2D::new(4, 3).groups(2), &[8, 8, 3]);
    assert!(e.contains("The number of input channels must be evenly divisible by the number of groups. Received groups=2, but the input has 3 channels (full input shape is (None, 8, 8, 3))."), "{e}");
    let e = err(layers::Conv2D::new(4, 3).groups(0), &[8, 8, 4]);
    assert!(e.contains("The number of groups must be a positive integer. Received: groups=0."), "{e}");
}

#[test]
fn channel_shuffle_and_bilinear_upsampling_layers() {
    let mut m = Sequential::new()
        .with(layers::UpSampling2D::new((2, 3)).interpolation(Interpolation::Bilinear))
        .with(layers::ChannelShuffle::new(2));
    m.build(&[3, 4, 6], &gpu(), 0).unwrap();
    assert!(m.summary().contains("channel_shuffle (ChannelShuffle)"), "{}", m.summary());
    assert_eq!(m.count_params(), 0);
    let x = Tensor::randn(&[2, 3, 4, 6], 0.0, 1.0, 220, &gpu()).unwrap();
    let want = channel_shuffle(&resize_bilinear(&x, (6, 12)).unwrap(), 2).unwrap();
    assert_eq!(m.call(&x, false).unwrap().to_vec().unwrap(), want.to_vec().unwrap());
    let mut nearest = Sequential::new().with(layers::UpSampling2D::new(2));
    nearest.build(&[3, 4, 6], &gpu(), 0).unwrap();
    let want = upsample_nearest2d(&x, 2).unwrap().to_vec().unwrap();
    assert_eq!(nearest.call(&x, false).unwrap().to_vec().unwrap(), want, "nearest stays the default");
    let e = Sequential::new().with(layers::ChannelShuffle::new(4)).build(&[3, 4, 6], &gpu(), 0).unwrap_err();
    assert!(e.to_string().contains("not divisible by groups 4"), "{e}");
}
