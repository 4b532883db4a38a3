//! Gradient checks for elementwise ops, matmul/dense and conv2d: finite differences on the
//! CPU twin and GPU-vs-CPU gradient parity.

mod common;
use common::*;
use tessera::kernels::elementwise::{BinaryOp, UnaryOp};
use tessera::prelude::*;

#[test]
fn broadcasting_binary_ops_sum_gradients_over_broadcast_axes() {
    let cases: [(&[usize], &[usize]); 3] = [(&[2, 3, 4], &[2, 3, 4]), (&[2, 3, 4], &[4]), (&[2, 1, 4], &[3, 1])];
    for (i, (sa, sb)) in cases.into_iter().enumerate() {
        for op in
            [BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Maximum, BinaryOp::Minimum, BinaryOp::Lerp(0.3)]
        {
            grad_check(&format!("{op:?} {sa:?} {sb:?}"), &[sa, sb], 10 * i as u64, |x| binary(op, &x[0], &x[1]));
        }
        // division away from zero
        grad_check(&format!("Div {sa:?} {sb:?}"), &[sa, sb], 50 + i as u64, |x| {
            div(&x[0], &affine(&square(&x[1])?, 1.0, 0.5)?)
        });
    }
}

#[test]
fn unary_ops_have_correct_gradients() {
    for op in [
        UnaryOp::Relu,
        UnaryOp::Sigmoid,
        UnaryOp::Tanh,
        UnaryOp::Exp,
        UnaryOp::Neg,
        UnaryOp::Square,
        UnaryOp::Affine(0.5, 3.0),
    ] {
        grad_check(&format!("{op:?}"), &[&[3, 5, 2]], 70, |x| unary(op, &x[0]));
    }
    grad_check("Log/Sqrt", &[&[4, 3]], 71, |x| {
        let pos = affine(&square(&x[0])?, 1.0, 0.5)?;
        add(&log(&pos)?, &sqrt(&pos)?)
    });
}

#[test]
fn matmul_gradients_for_every_transpose_and_batch() {
    for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
        let sa: &[usize] = if ta { &[2, 5, 3] } else { &[2, 3, 5] };
        let sb: &[usize] = if tb { &[2, 4, 5] } else { &[2, 5, 4] };
        let o = MatmulOptions { transpose_a: ta, transpose_b: tb, ..Default::default() };
        grad_check(&format!("matmul ta={ta} tb={tb}"), &[sa, sb], 80, |x| matmul_with(&x[0], &x[1], o));
    }
}

#[test]
fn dense_gradients_with_bias_and_activation() {
    for act in [Activation::None, Activation::Relu, Activation::Sigmoid, Activation::Tanh] {
        grad_check(&format!("dense {act:?}"), &[&[4, 6], &[6, 5], &[5]], 90, |x| dense(&x[0], &x[1], Some(&x[2]), act));
    }
}

#[test]
fn conv2d_gradients_for_every_padding_stride_and_dilation() {
    let paddings = [Padding::Valid, Padding::Same, Padding::Explicit([[1, 0], [2, 1]])];
    for (i, padding) in paddings.into_iter().enumerate() {
        for (strides, dilations) in [([1, 1], [1, 1]), ([2, 2], [1, 1]), ([2, 1], [1, 1]), ([1, 1], [2, 1])] {
            let o = Conv2dOptions::default().padding(padding).strides(strides).dilations(dilations);
            let name = format!("conv2d {o:?}");
            grad_check(&name, &[&[2, 7, 6, 3], &[3, 2, 3, 4], &[4]], 100 + i as u64, |x| {
                conv2d_with_bias(&x[0], &x[1], Some(&x[2]), &o)
            });
        }
    }
}

#[test]
fn conv2d_gradients_with_fused_activation_and_aligned_channels() {
    // cin, cout % 4 == 0 exercises the register-blocked filter-gradient kernel on the GPU.
    for act in [Activation::Relu, Activation::Tanh] {
        let o = Conv2dOptions::default().padding(Padding::Same).strides(2).activation(act);
        grad_check(&format!("conv2d {act:?}"), &[&[2, 9, 7, 8], &[3, 3, 8, 20], &[20]], 120, |x| {
            conv2d_with_bias(&x[0], &x[1], Some(&x[2]), &o)
        });
    }
}

#[test]
fn filter_gradient_kernels_match_cpu_on_larger_inputs() {
    let o = Conv2dOptions::default().padding(Padding::Same);
    let (xc, xg) = pair(&[3, 11, 10, 8], 130);
    let (gc, gg) = pair(&[3, 11, 10, 16], 131);
    let want = conv2d_backprop_filter(&xc, &gc, &[3, 3, 8, 16], &o).unwrap();
    assert_close(&conv2d_backprop_filter(&xg, &gg, &[3, 3, 8, 16], &o).unwrap(), &want, RTOL, "filter grad");
    // Unaligned channel counts (the chunked direct kernel, with channel tails) and strides.
    for (i, (xs, fs, o)) in [
        ([32, 28, 28, 1], [3, 3, 1, 6], Conv2dOptions::default()),
        ([6, 13, 11, 6], [3, 3, 6, 16], Conv2dOptions::default()),
        ([3, 9, 10, 5], [2, 3, 5, 7], Conv2dOptions::default().padding(Padding::Same).strides(2)),
        // More than 9 taps: the per-tap chunked kernel.
        ([2, 9, 8, 3], [5, 4, 3, 5], Conv2dOptions::default().dilations((1, 2)).padding(Padding::Same)),
    ]
    .into_iter()
    .enumerate()
    {
        let g = tessera::kernels::Conv2dGeometry::new(&xs, &fs, o.strides, o.dilations, &o.padding).unwrap();
        let (xc, xg2) = pair(&xs, 140 + i as u64);
        let (dc, dg) = pair(&g.out_shape(), 150 + i as u64);
        let want = conv2d_backprop_filter(&xc, &dc, &fs, &o).unwrap();
        assert_close(
            &conv2d_backprop_filter(&xg2, &dg, &fs, &o).unwrap(),
            &want,
            RTOL,
            &format!("filter grad {xs:?} {fs:?}"),
        );
    }
    // (An input depth of 4 would be a grouped filter of 2 groups: 3 does not divide 8.)
    let e = conv2d_backprop_filter(&xg, &gg, &[3, 3, 3, 16], &o).unwrap_err().to_string();
    assert!(e.contains("[3, 3, 3, 16]"), "{e}");
}

#[test]
fn reshape_and_no_grad() {
    let x = Tensor::from_slice(&[1., 2., 3., 4.], &[2, 2], &gpu()).unwrap().variable();
    let y = no_grad(|| relu(&x).unwrap());
    assert!(!y.requires_grad());
    let l = weighted_sum(&x.reshape(&[4]).unwrap()).unwrap();
    let g = l.backward().unwrap();
    assert_eq!(g.get(&x).unwrap().shape(), &[2, 2]);
    assert!(Tensor::zeros(&[2], &gpu()).unwrap().backward().is_err());
}

#[test]
fn add_with_a_fused_activation_gradients_and_the_unfused_ones() {
    let shapes: [(&[usize], &[usize]); 3] = [(&[2, 5, 4, 3], &[2, 5, 4, 3]), (&[2, 5, 4, 3], &[3]), (&[6, 1], &[1, 5])];
    for (i, (sa, sb)) in shapes.into_iter().enumerate() {
        for act in [Activation::Relu, Activation::Sigmoid, Activation::Tanh] {
            grad_check(&format!("add_activation {sa:?} {sb:?} {act:?}"), &[sa, sb], 520 + i as u64, |x| {
                add_activation(&x[0], &x[1], act)
            });
        }
        // ReLU fused or not: the same gradients, exactly, on both devices.
        for dev in [Device::Cpu, gpu()] {
            let grads = |fused: bool| {
                let a = Tensor::from_vec(rand_vec(sa.iter().product(), 530), sa, &dev).unwrap().variable();
                let b = Tensor::from_vec(rand_vec(sb.iter().product(), 531), sb, &dev).unwrap().variable();
                let y = if fused { add_activation(&a, &b, Activation::Relu) } else { relu(&add(&a, &b).unwrap()) };
                let g = weighted_sum(&y.unwrap()).unwrap().backward().unwrap();
                [&a, &b].map(|t| g.get(t).unwrap().to_vec().unwrap())
            };
            assert_eq!(grads(true), grads(false), "{sa:?} + {sb:?} on {dev}");
        }
    }
}
