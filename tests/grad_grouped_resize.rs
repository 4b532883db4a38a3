//! Gradients of grouped convolution, channel shuffle and bilinear resizing: finite-difference
//! checks on the CPU and GPU-vs-CPU gradient parity (`common::grad_check`), second-order
//! gradients through the grouped backward ops.

mod common;
use common::*;
use tessera::prelude::*;

#[test]
fn grouped_conv2d_gradients_for_every_option() {
    let o = Conv2dOptions::default();
    // (input, filter, options): 2 groups of 3, g = cin, 4 groups of 2 channels (2 outputs
    // each); strides, dilations, SAME / explicit padding, a fused activation.
    let cases: [(&[usize], &[usize], Conv2dOptions); 5] = [
        (&[2, 5, 6, 6], &[3, 3, 3, 4], o),
        (&[2, 5, 4, 6], &[2, 3, 1, 6], o.padding(Padding::Same).strides((2, 1))),
        (&[2, 6, 5, 8], &[3, 2, 2, 8], o.padding(Padding::Explicit([[1, 2], [0, 1]])).strides(2)),
        (&[1, 7, 5, 4], &[3, 2, 2, 6], o.dilations((2, 1)).padding(Padding::Same)),
        (&[2, 4, 5, 6], &[3, 3, 2, 3], o.padding(Padding::Same).activation(Activation::Tanh)),
    ];
    for (i, (xs, fs, o)) in cases.into_iter().enumerate() {
        let bs = [fs[3]];
        grad_check(&format!("grouped conv2d {xs:?} {fs:?} {o:?}"), &[xs, fs, &bs], 300 + 10 * i as u64, |t| {
            conv2d_with_bias(&t[0], &t[1], Some(&t[2]), &o)
        });
    }
}

#[test]
fn grouped_backprop_ops_have_gradients_too() {
    // Second order: the input- and filter-gradient ops are differentiable in both operands.
    let o = Conv2dOptions::default().padding(Padding::Same).strides((2, 1));
    let (xs, fs, ys): (&[usize], &[usize], &[usize]) = (&[2, 5, 4, 6], &[3, 2, 2, 6], &[2, 3, 4, 6]);
    grad_check("conv2d_backprop_input grouped", &[ys, fs], 360, |t| conv2d_backprop_input(&t[0], &t[1], xs, &o));
    grad_check("conv2d_backprop_filter grouped", &[xs, ys], 370, |t| conv2d_backprop_filter(&t[0], &t[1], fs, &o));
}

#[test]
fn channel_shuffle_gradients() {
    for (i, g) in [2, 3, 6].into_iter().enumerate() {
        grad_check(&format!("channel_shuffle g={g}"), &[&[2, 3, 2, 6]], 380 + i as u64, |t| channel_shuffle(&t[0], g));
    }
}

#[test]
fn resize_bilinear_gradients() {
    let cases: [(&[usize], [usize; 2]); 6] = [
        (&[2, 3, 4, 3], [6, 8]),
        (&[2, 3, 4, 3], [9, 12]),
        (&[1, 3, 4, 2], [6, 12]),
        (&[2, 7, 6, 3], [3, 4]),
        (&[1, 5, 4, 4], [3, 9]),
        (&[2, 3, 3, 2], [3, 3]),
    ];
    for (i, (shape, size)) in cases.into_iter().enumerate() {
        grad_check(&format!("resize_bilinear {shape:?} -> {size:?}"), &[shape], 390 + i as u64, |t| {
            resize_bilinear(&t[0], size)
        });
    }
    grad_check("resize_bilinear_grad", &[&[2, 6, 8, 3]], 399, |t| resize_bilinear_grad(&t[0], &[2, 3, 4, 3]));
}
