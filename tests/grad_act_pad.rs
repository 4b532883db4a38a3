//! Gradients of the activations (relu6, leaky_relu, elu, Keras's general relu) and of spatial
//! pad/crop: finite differences on the CPU and GPU-vs-CPU gradients (`common::grad_check`),
//! on inputs scaled so that every linear piece and the clipped region are exercised.

mod common;
use common::*;
use tessera::prelude::*;

#[test]
fn activation_gradients() {
    let shapes: [&[usize]; 2] = [&[2, 5, 7, 3], &[3, 4, 1, 8]];
    type Act = (&'static str, fn(&Tensor) -> Result<Tensor>);
    let acts: [Act; 8] = [
        ("relu6", relu6),
        ("leaky_relu 0.2", |x| leaky_relu(x, 0.2)),
        ("leaky_relu 1.5", |x| leaky_relu(x, 1.5)),
        ("elu", elu),
        ("elu 0.5", |x| elu_alpha(x, 0.5)),
        ("relu max 3.5 slope 0.1 threshold 1", |x| relu_ext(x, Some(3.5), 0.1, 1.0)),
        ("relu slope 0.3 threshold 2", |x| relu_ext(x, None, 0.3, 2.0)),
        ("relu max 2 threshold -1", |x| relu_ext(x, Some(2.0), 0.0, -1.0)),
    ];
    for (si, shape) in shapes.into_iter().enumerate() {
        for (ai, (name, f)) in acts.into_iter().enumerate() {
            // x · 4 reaches past 6 and below the thresholds; affine's gradient is exact.
            grad_check(&format!("{name} {shape:?}"), &[shape], 300 + (si * 10 + ai) as u64, |x| {
                f(&affine(&x[0], 4.0, 0.0)?)
            });
        }
    }
}

#[test]
fn pad_and_crop_gradients() {
    let cases: [(&[usize], [[usize; 2]; 2]); 4] = [
        (&[2, 5, 6, 3], [[1, 2], [3, 0]]),
        (&[3, 4, 3, 1], [[0, 0], [2, 2]]),
        (&[1, 6, 7, 8], [[2, 1], [1, 3]]),
        (&[2, 3, 5, 2], [[0, 1], [0, 0]]),
    ];
    for (i, (shape, p)) in cases.into_iter().enumerate() {
        grad_check(&format!("pad2d {shape:?} {p:?}"), &[shape], 350 + i as u64, |x| pad2d(&x[0], p));
        let crop = [[p[0][0] / 2, p[0][1] / 2], [p[1][0] / 2, p[1][1] / 2]];
        grad_check(&format!("crop2d {shape:?} {crop:?}"), &[shape], 360 + i as u64, |x| crop2d(&x[0], crop));
        // second order: the gradients are themselves differentiable ops
        grad_check(&format!("crop2d(pad2d) {shape:?} {p:?}"), &[shape], 370 + i as u64, |x| {
            crop2d(&pad2d(&x[0], p)?, [[p[0][1], p[0][0]], [p[1][1], p[1][0]]])
        });
    }
}
