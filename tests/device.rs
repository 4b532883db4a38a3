//! Device-layer behaviour: adapter, batching of submits, pooling, readback, errors.

mod common;
use common::*;
use tessera::prelude::*;

#[test]
fn dispatches_are_batched_into_few_submits() {
    // A device of its own, so that other tests' readbacks don't submit its work.
    let _ = gpu();
    let dev = Device::gpu().unwrap();
    let g = dev.as_gpu().unwrap().clone();
    let x = Tensor::randn(&[64, 64], 0.0, 1.0, 1, &dev).unwrap();
    dev.synchronize().unwrap();
    let before = g.stats();
    let mut y = x.clone();
    for _ in 0..20 {
        y = relu(&add(&y, &x).unwrap()).unwrap();
    }
    let _ = y.to_vec().unwrap();
    let after = g.stats();
    assert!(after.dispatches - before.dispatches >= 40);
    assert!(after.submits - before.submits <= 2, "{before:?} -> {after:?}");
}

#[test]
fn freed_buffers_are_reused() {
    let dev = gpu();
    let g = dev.as_gpu().unwrap().clone();
    let before = g.stats();
    for i in 0..10 {
        let t = Tensor::randn(&[1000 + i], 0.0, 1.0, i as u64, &dev).unwrap();
        drop(t);
    }
    let after = g.stats();
    assert!(after.buffers_reused > before.buffers_reused);
}

#[test]
fn async_readback_matches_blocking() {
    let (_, x) = pair(&[5, 7], 3);
    let a = x.to_vec().unwrap();
    let c = pollster_block(x.to_vec_async());
    assert_eq!(a, c.unwrap());
}

fn pollster_block<F: std::future::Future>(f: F) -> F::Output {
    // A minimal executor: the native ReadFuture drives wgpu itself.
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

#[test]
fn too_large_buffers_are_refused_with_a_typed_error() {
    let dev = gpu();
    let limit = dev.as_gpu().unwrap().max_binding_bytes() as usize;
    let n = limit / 4 + 1;
    let e = Tensor::full(1.0, &[n], &dev).unwrap_err();
    assert!(matches!(e, Error::Device(tessera::device::DeviceError::BufferTooLarge { .. })), "{e}");
    assert!(e.to_string().contains("bytes"), "{e}");
}

#[test]
fn mixing_devices_is_an_error() {
    let a = Tensor::zeros(&[2], &Device::Cpu).unwrap();
    let b = Tensor::zeros(&[2], &gpu()).unwrap();
    assert!(matches!(add(&a, &b).unwrap_err(), Error::DeviceMismatch { .. }));
}

#[test]
fn reshape_flatten_and_moves_between_devices() {
    let (c, g) = pair(&[2, 3, 4, 5], 9);
    assert_eq!(g.flatten().unwrap().shape(), &[2, 60]);
    assert_eq!(g.reshape(&[usize::MAX, 5]).unwrap().shape(), &[24, 5]);
    assert!(g.reshape(&[7, 7]).unwrap_err().to_string().contains("[2, 3, 4, 5]"));
    assert_eq!(g.to_device(&Device::Cpu).unwrap().to_vec().unwrap(), c.to_vec().unwrap());
    assert!(Tensor::from_vec(vec![1.0; 5], &[2, 3], &gpu()).is_err());
}

#[test]
fn backend_names_parse_and_unknown_ones_are_rejected() {
    use tessera::device::{parse_backends, wgpu::Backends};
    assert_eq!(parse_backends("vulkan").unwrap(), Backends::VULKAN);
    assert_eq!(parse_backends("vulkan,gl").unwrap(), Backends::VULKAN | Backends::GL);
    assert!(parse_backends("cuda").unwrap_err().to_string().contains("cuda"));
}

#[test]
fn adapter_name_filter_that_matches_nothing_is_a_clear_error() {
    let opts = tessera::device::GpuOptions {
        backends: None,
        adapter_name: Some("no-such-gpu-xyz".into()),
        adapter_index: None,
    };
    let e = tessera::device::Gpu::with_options(&opts).err().expect("no adapter matches");
    assert!(e.to_string().contains("no-such-gpu-xyz"), "{e}");
}

#[test]
fn uploads_are_ordered_after_recorded_work_that_reads_a_reused_buffer() {
    let dev = gpu();
    for round in 0..5u64 {
        let v = rand_vec(4096, 500 + round);
        let t1 = Tensor::from_slice(&v, &[4096], &dev).unwrap();
        let y = relu(&t1).unwrap(); // recorded, not yet submitted
        drop(t1); // its buffer goes back to the pool
        let t2 = Tensor::full(-7.0, &[4096], &dev).unwrap(); // may reuse that buffer
        let t3 = Tensor::from_vec(vec![123.0; 4096], &[4096], &dev).unwrap();
        let want: Vec<f32> = v.iter().map(|x| x.max(0.0)).collect();
        assert_eq!(y.to_vec().unwrap(), want, "round {round}");
        assert!(t2.to_vec().unwrap().iter().all(|&x| x == -7.0));
        assert!(t3.to_vec().unwrap().iter().all(|&x| x == 123.0));
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_backend_filter_that_matches_nothing_says_which_backends() {
    let opts = tessera::device::GpuOptions {
        backends: Some(tessera::device::wgpu::Backends::METAL),
        adapter_name: None,
        adapter_index: None,
    };
    let e = tessera::device::Gpu::with_options(&opts).err().expect("no Metal on Linux");
    assert!(e.to_string().contains("requested backends") && e.to_string().contains("METAL"), "{e}");
}
