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

/// `Σ y · r` for a fixed random `r` (seeded by `y`'s size), as a `[1, 1]` scalar built only
/// from matmul, so gradient checks get a non-uniform upstream gradient.
pub fn weighted_sum(y: &Tensor) -> Result<Tensor> {
    let n = y.numel();
    let r = Tensor::from_vec(rand_vec(n, 9_999 + n as u64), &[n, 1], y.device())?;
    matmul(&y.reshape(&[1, n])?, &r)
}

/// Checks `f`'s gradients: on the CPU against central finite differences (a sample of
/// elements of every input), and on the GPU against the CPU gradients (`RTOL`).
/// `inputs` are the input shapes; each input is fresh normal data from `seed`.
pub fn grad_check(name: &str, shapes: &[&[usize]], seed: u64, f: impl Fn(&[Tensor]) -> Result<Tensor>) {
    let data: Vec<Vec<f32>> =
        shapes.iter().enumerate().map(|(i, s)| rand_vec(s.iter().product(), seed + i as u64)).collect();
    let make = |dev: &Device, vals: &[Vec<f32>]| -> Vec<Tensor> {
        shapes.iter().zip(vals).map(|(s, v)| Tensor::from_slice(v, s, dev).unwrap().variable()).collect()
    };
    let loss = |dev: &Device, vals: &[Vec<f32>]| -> (Vec<Tensor>, Tensor) {
        let xs = make(dev, vals);
        let l = weighted_sum(&f(&xs).unwrap()).unwrap();
        (xs, l)
    };
    let (xs, l) = loss(&Device::Cpu, &data);
    let grads = l.backward().unwrap();
    let cpu_grads: Vec<Vec<f32>> =
        xs.iter().map(|x| grads.get(x).expect("gradient reached every input").to_vec().unwrap()).collect();
    // Finite differences on the CPU twin (f32: eps 1e-2, central differences). Elements whose
    // one-sided differences disagree sit within eps of a kink (ReLU at 0, max ties) and are
    // skipped; most sampled elements must be smooth and checked.
    let eps = 1e-2f32;
    let f0 = l.item().unwrap();
    for (i, g) in cpu_grads.iter().enumerate() {
        let n = g.len();
        let scale = g.iter().map(|v| v.abs()).fold(0.0f32, f32::max).max(1e-3);
        let (mut checked, mut sampled) = (0, 0);
        for j in (0..n).step_by((n / 12).max(1)) {
            let at = |delta: f32| {
                let mut v = data.clone();
                v[i][j] += delta;
                loss(&Device::Cpu, &v).1.item().unwrap()
            };
            let (fp, fm) = (at(eps), at(-eps));
            let tol = 2e-2 * (g[j].abs() + scale);
            sampled += 1;
            if ((fp - f0) / eps - (f0 - fm) / eps).abs() > tol {
                continue;
            }
            checked += 1;
            let num = (fp - fm) / (2.0 * eps);
            assert!(
                (num - g[j]).abs() <= tol,
                "{name}: input {i} element {j}: finite difference {num} vs analytic {}",
                g[j]
            );
        }
        assert!(checked * 2 >= sampled, "{name}: input {i}: only {checked} of {sampled} sampled elements were smooth");
    }
    // GPU gradients equal the CPU gradients.
    let (gxs, gl) = loss(&gpu(), &data);
    let ggrads = gl.backward().unwrap();
    for (i, (x, want)) in gxs.iter().zip(&cpu_grads).enumerate() {
        let got = ggrads.get(x).expect("GPU gradient reached every input").to_vec().unwrap();
        assert_close_vec(&got, want, RTOL, &format!("{name}: GPU vs CPU gradient of input {i}"));
    }
}

/// `v` uploaded to a fresh buffer of `gp` (for calling a kernel launcher directly).
pub fn upload_f32(gp: &tessera::device::Gpu, v: &[f32]) -> tessera::device::GpuBuffer {
    gp.upload(&v.iter().flat_map(|f| f.to_le_bytes()).collect::<Vec<u8>>()).unwrap()
}

/// The first `n` f32s of `b`, read back (waits for the work recorded so far).
pub fn read_f32(gp: &tessera::device::Gpu, b: &tessera::device::GpuBuffer, n: usize) -> Vec<f32> {
    let bytes = gp.read(b, (n * 4) as u64).unwrap();
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

/// The output and the gradients of `Σ out·r` ([`weighted_sum`]) w.r.t. the input `x` and every
/// variable in `vars`, in that order.
pub fn values_and_grads(out: &Tensor, x: &Tensor, vars: &[tessera::nn::layers::Param]) -> Vec<Vec<f32>> {
    let g = weighted_sum(out).unwrap().backward().unwrap();
    let mut all = vec![out.to_vec().unwrap(), g.get(x).unwrap().to_vec().unwrap()];
    all.extend(vars.iter().map(|v| g.get(&v.value()).unwrap().to_vec().unwrap()));
    all
}

/// Asserts each list of [`values_and_grads`] close to the other's (`RTOL`).
pub fn assert_all_close(got: &[Vec<f32>], want: &[Vec<f32>], what: &str) {
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_close_vec(g, w, RTOL, &format!("{what}: item {i} (0 output, 1 input gradient, then variables)"));
    }
}

/// Dispatches recorded by `f` on `dev`'s GPU.
pub fn dispatches(dev: &Device, f: impl FnOnce()) -> u64 {
    let g = dev.as_gpu().unwrap();
    dev.synchronize().unwrap();
    let before = g.stats().dispatches;
    f();
    dev.synchronize().unwrap();
    g.stats().dispatches - before
}
