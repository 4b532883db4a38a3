//! Shared helpers for the cross-crate tests: the GPU device (tests fail, never skip, without
//! one), random tensors and float comparison.
#![allow(dead_code)]

use std::sync::OnceLock;

use tessera::prelude::*;

/// The GPU device shared by a test binary. Panics (fails the test) when no adapter exists.
pub fn gpu() -> Device {
    static GPU: OnceLock<Device> = OnceLock::new();
    GPU.get_or_init(|| match Device::gpu() {
        Ok(d) => d,
        Err(e) => panic!("GPU tests need a GPU adapter (on Debian: apt-get install mesa-vulkan-drivers): {e}"),
    })
    .clone()
}

/// Fresh random values: normal(0, 1) from `seed` (never zeros).
pub fn rand_vec(n: usize, seed: u64) -> Vec<f32> {
    let mut r = tessera::nn::random::Rng::new(seed);
    (0..n).map(|_| r.normal() as f32).collect()
}

/// The same random tensor on the CPU and on the GPU.
pub fn pair(shape: &[usize], seed: u64) -> (Tensor, Tensor) {
    let v = rand_vec(shape.iter().product(), seed);
    (Tensor::from_slice(&v, shape, &Device::Cpu).unwrap(), Tensor::from_vec(v, shape, &gpu()).unwrap())
}

/// Asserts `got ≈ want` elementwise: |g − w| ≤ rtol · (|w| + rms(want)), same shapes.
pub fn assert_close_vec(got: &[f32], want: &[f32], rtol: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    let rms = (want.iter().map(|v| v * v).sum::<f32>() / want.len().max(1) as f32).sqrt().max(1e-12);
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let tol = rtol * (w.abs() + rms);
        assert!((g - w).abs() <= tol, "{what}: element {i}: got {g}, want {w} (tol {tol})");
    }
}

/// Asserts two tensors have equal shapes and close values.
pub fn assert_close(got: &Tensor, want: &Tensor, rtol: f32, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shapes differ");
    assert_close_vec(&got.to_vec().unwrap(), &want.to_vec().unwrap(), rtol, what);
}

/// Float32 parity tolerance between the GPU and the CPU reference.
pub const RTOL: f32 = 1e-4;
