//! Leaner autodiff: a recorded op keeps only what its backward reads, and `backward` releases
//! each node's saved tensors once it has used them. Measured with the GPU pool's live-byte
//! count on a device of the test's own (so no other test's buffers are counted).

mod common;

use tessera::prelude::*;

/// 64 Ki floats: 256 KiB per tensor, far above the small buffers a scalar loss needs.
const N: usize = 1 << 16;
const BYTES: u64 = (N * 4) as u64;

/// A GPU device of this test's own (fails, never skips, without an adapter).
fn own_gpu() -> Device {
    common::gpu();
    Device::gpu().expect("a second GPU device on the same adapter")
}

/// Storage bytes held by live tensors on `dev`.
fn live(dev: &Device) -> u64 {
    dev.synchronize().unwrap();
    dev.as_gpu().unwrap().stats().live_bytes
}

#[test]
fn ops_whose_gradient_reads_no_operand_keep_none() {
    let dev = own_gpu();
    let x = Tensor::randn(&[N], 0.0, 1.0, 1, &dev).unwrap().variable();
    let y = Tensor::randn(&[N], 0.0, 1.0, 2, &dev).unwrap().variable();
    let base = live(&dev);
    // affine, add and reduce_sum differentiate from shapes alone: once the intermediates are
    // dropped, only the scalar loss stays.
    let loss = reduce_sum(&add(&affine(&x, 2.0, 1.0).unwrap(), &y).unwrap(), None, false).unwrap();
    let kept = live(&dev) - base;
    assert!(kept < BYTES, "the recorded graph keeps {kept} bytes of intermediates");
    let grads = loss.backward().unwrap();
    assert_eq!(grads.get(&x).unwrap().to_vec().unwrap(), vec![2.0; N]);
    assert_eq!(grads.get(&y).unwrap().to_vec().unwrap(), vec![1.0; N]);
}

#[test]
fn backward_releases_saved_tensors_and_runs_once() {
    let dev = own_gpu();
    let x = Tensor::randn(&[N], 0.0, 1.0, 3, &dev).unwrap().variable();
    let base = live(&dev);
    let loss = reduce_sum(&exp(&x).unwrap(), None, false).unwrap();
    let saved = live(&dev) - base;
    assert!(saved >= BYTES, "exp's gradient needs its output, which must be kept ({saved} bytes live)");
    let dx = loss.backward().unwrap().remove(&x).unwrap();
    let want: Vec<f32> = x.to_vec().unwrap().iter().map(|v| v.exp()).collect();
    common::assert_close_vec(&dx.to_vec().unwrap(), &want, common::RTOL, "d/dx sum(exp(x))");
    drop(dx);
    let after = live(&dev) - base;
    assert!(after < BYTES, "the loss is still alive, yet its graph still holds {after} bytes after backward");
    let e = loss.backward().unwrap_err();
    assert!(e.to_string().contains("second time"), "{e}");
}
