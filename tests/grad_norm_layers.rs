//! Gradients of the group-normalization family (layer, group and instance normalization),
//! the batched transpose and BatchNormalization on a non-last axis: finite differences on the
//! CPU and GPU-vs-CPU gradient parity (`common::grad_check`) for x, gamma and beta.

mod common;
use common::*;
use tessera::nn::layers::BatchNormalization;
use tessera::prelude::*;

#[test]
fn group_normalization_gradients_for_x_gamma_and_beta() {
    // groups 1 (all of H, W, C), 2, channels (instance norm); a rank-3 input.
    let cases: [(&[usize], usize); 4] = [(&[2, 3, 4, 6], 1), (&[2, 3, 4, 6], 2), (&[2, 3, 4, 6], 6), (&[3, 5, 4], 2)];
    for (i, (shape, groups)) in cases.into_iter().enumerate() {
        let c: &[usize] = &shape[shape.len() - 1..];
        let seed = 900 + 10 * i as u64;
        grad_check(&format!("group_normalization {shape:?} groups={groups}"), &[shape, c, c], seed, |x| {
            group_normalization(&x[0], groups, Some(&x[1]), Some(&x[2]), 1e-3)
        });
        grad_check(&format!("group_normalization {shape:?} groups={groups} no gamma/beta"), &[shape], seed + 5, |x| {
            group_normalization(&x[0], groups, None, None, 1e-3)
        });
    }
}

#[test]
fn layer_normalization_gradients_for_x_gamma_and_beta() {
    let cases: [(&[usize], &[usize]); 6] = [
        (&[2, 3, 4, 5], &[1, 2]),
        (&[3, 4, 5], &[1]),
        (&[2, 3, 4, 5], &[3]),
        (&[2, 3, 4, 5], &[1, 2, 3]),
        (&[3, 2, 5], &[2, 1]),
        (&[4, 7], &[1]),
    ];
    for (i, (shape, axes)) in cases.into_iter().enumerate() {
        let first = *axes.iter().min().unwrap();
        let p = &shape[first..first + axes.len()];
        let seed = 950 + 10 * i as u64;
        grad_check(&format!("layer_normalization {shape:?} axes={axes:?}"), &[shape, p, p], seed, |x| {
            layer_normalization(&x[0], Some(&x[1]), Some(&x[2]), axes, 1e-3)
        });
        grad_check(&format!("layer_normalization {shape:?} axes={axes:?} gamma only"), &[shape, p], seed + 5, |x| {
            layer_normalization(&x[0], Some(&x[1]), None, axes, 1e-3)
        });
    }
}

#[test]
fn transpose2d_gradients() {
    grad_check("transpose2d", &[&[2, 3, 5]], 990, |x| transpose2d(&x[0]));
}

#[test]
fn batch_normalization_on_a_non_last_axis_gradients() {
    // BatchNormalization(axis=1) in training mode: transpose, fused batch norm, transpose back.
    for (i, axis) in [1isize, 2, -1].into_iter().enumerate() {
        grad_check(&format!("BatchNormalization axis={axis}"), &[&[3, 4, 5, 2]], 995 + i as u64, |x| {
            let mut m = Sequential::new().with(BatchNormalization::new().axis(axis).center(false));
            m.build(&[4, 5, 2], x[0].device(), 0)?;
            m.call(&x[0], true)
        });
    }
}
