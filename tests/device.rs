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
    let g = dev.as_gpu().unwrap();
    let e = g.alloc(g.max_buffer_bytes() + 1).unwrap_err();
    assert!(matches!(e, tessera::device::DeviceError::BufferTooLarge { .. }), "{e}");
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
        max_binding_bytes: None,
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
        max_binding_bytes: None,
    };
    let e = tessera::device::Gpu::with_options(&opts).err().expect("no Metal on Linux");
    assert!(e.to_string().contains("requested backends") && e.to_string().contains("METAL"), "{e}");
}

#[test]
fn one_shader_file_is_parsed_once_for_all_its_pipelines() {
    let _ = gpu();
    let dev = Device::gpu().unwrap(); // fresh: no module parsed yet
    let g = dev.as_gpu().unwrap().clone();
    let x = Tensor::from_vec(vec![-1.0, 2.0, -3.0, 4.0, 5.0], &[5], &dev).unwrap();
    let s0 = g.stats();
    let sum = add(&x, &x).unwrap(); // elementwise.wgsl, entry binary_same
    let s1 = g.stats();
    assert_eq!(relu(&sum).unwrap().to_vec().unwrap(), vec![0.0, 4.0, 0.0, 8.0, 10.0]);
    let s2 = g.stats(); // elementwise.wgsl again, entry unary: a new pipeline, the same module
    assert_eq!((s1.pipelines - s0.pipelines, s2.pipelines - s1.pipelines), (1, 1), "{s0:?} {s1:?} {s2:?}");
    assert!(s1.module_us > s0.module_us && s1.pipeline_us > s0.pipeline_us, "{s0:?} {s1:?}");
    assert_eq!(s2.module_us, s1.module_us, "the module is reused: {s1:?} {s2:?}");
}

/// Runs this binary's test `name` alone in a child process with `env`, and returns its output.
fn child(name: &str, env: &[(&str, &std::path::Path)]) -> String {
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", name, "--nocapture", "--test-threads", "1"]).env("TESSERA_CHILD", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{name} failed: {text}");
    text
}

/// In a child process only (`TESSERA_CHILD`): one GPU computation, checked, in a fresh process.
#[test]
fn child_runs_one_kernel() {
    if std::env::var_os("TESSERA_CHILD").is_none() {
        return;
    }
    let dev = Device::gpu().unwrap();
    let x = Tensor::from_vec(vec![1.0, -2.0, 3.0], &[3], &dev).unwrap();
    assert_eq!(relu(&add(&x, &x).unwrap()).unwrap().to_vec().unwrap(), vec![2.0, 0.0, 6.0]);
    println!("CHILD_OK");
}

#[test]
fn subgroup_sizes_come_with_the_subgroup_feature() {
    use tessera::device::wgpu;
    let g = gpu().as_gpu().unwrap().clone();
    let has = g.features().contains(wgpu::Features::SUBGROUP);
    match g.subgroup_sizes() {
        Some((lo, hi)) => {
            assert!(has, "sizes {lo}..={hi} without the feature");
            let pow2 = lo.is_power_of_two() && hi.is_power_of_two();
            assert!(pow2 && (4..=hi).contains(&lo) && hi <= 128, "subgroup sizes {lo}..={hi}");
        }
        None => assert!(!has, "the feature without sizes"),
    }
}

#[test]
fn past_its_tuning_allowance_a_device_runs_the_heuristic_and_tunes_once_allowed() {
    use tessera::device::{TuneBudget, TuneMode};
    let _ = gpu();
    let dev = Device::gpu().unwrap(); // its own tuning state
    let g = dev.as_gpu().unwrap().clone();
    g.use_tune_cache(None); // nothing remembered from earlier runs, nothing written
    g.set_tune_budget(TuneBudget { initial_s: 0.0, share: 0.0 });
    let (x, f) = (rand_vec(2 * 9 * 7 * 3, 1), rand_vec(3 * 3 * 3 * 5, 2));
    let want = conv2d(
        &Tensor::from_vec(x.clone(), &[2, 9, 7, 3], &Device::Cpu).unwrap(),
        &Tensor::from_vec(f.clone(), &[3, 3, 3, 5], &Device::Cpu).unwrap(),
        &Conv2dOptions::default(),
    )
    .unwrap();
    let run = || {
        let (x, f) = (
            Tensor::from_vec(x.clone(), &[2, 9, 7, 3], &dev).unwrap(),
            Tensor::from_vec(f.clone(), &[3, 3, 3, 5], &dev).unwrap(),
        );
        let y = conv2d(&x, &f, &Conv2dOptions::default()).unwrap();
        assert_close_vec(&y.to_vec().unwrap(), &want.to_vec().unwrap(), 1e-4, "conv2d [2,9,7,3] 3x3 3->5");
    };
    let tuning_us = || g.stats().tuning_us;
    let t0 = tuning_us();
    run();
    assert!(!g.may_tune());
    assert_eq!(tuning_us(), t0, "no allowance: nothing timed");
    assert!(g.tuned_entries().is_empty(), "nor remembered: {:?}", g.tuned_entries());
    run(); // still not allowed: still the heuristic
    assert_eq!((tuning_us(), g.tuned_entries().len()), (t0, 0));
    g.set_tune_budget(TuneBudget::UNLIMITED);
    run();
    // Besides the shape class, whether texel views pay here (measured once allowed).
    let texels_key = tessera::kernels::autotune::TEXELS_KEY;
    let (texels, tuned): (Vec<_>, Vec<_>) = g.tuned_entries().into_iter().partition(|e| e.0 == texels_key);
    match g.tune_mode() {
        TuneMode::Off => assert!(tuned.is_empty() && tuning_us() == t0, "TESSERA_AUTOTUNE=off never times"),
        _ => {
            assert!(tuning_us() > t0, "allowed now: timed");
            assert!(tuned.len() == 1 && tuned[0].0.starts_with("conv2d [2, 9, 7, 3, 3, 3"), "{tuned:?}");
            assert!(texels.len() == 1 && ["texels", "storage"].contains(&texels[0].1.as_str()), "{texels:?}");
        }
    }
}

#[test]
fn the_driver_pipeline_cache_persists_per_adapter_and_cpu() {
    use tessera::device::{autotune, wgpu};
    let g = gpu().as_gpu().unwrap().clone();
    if !g.features().contains(wgpu::Features::PIPELINE_CACHE) {
        return; // only Vulkan adapters offer one (lavapipe does)
    }
    let dir = std::env::temp_dir().join(format!("tessera-pipeline-cache-{}", std::process::id()));
    let file = dir.join(format!("pipelines-{}.bin", autotune::adapter_key(g.info(), &autotune::cpu_tag())));
    assert!(child("child_runs_one_kernel", &[("TESSERA_CACHE", &dir)]).contains("CHILD_OK"));
    let saved = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    assert!(saved.starts_with(b"WGPUPLCH"), "wgpu's cache header");
    // A second process loads it (and computes correctly); damaged data is an empty cache.
    assert!(child("child_runs_one_kernel", &[("TESSERA_CACHE", &dir)]).contains("CHILD_OK"));
    std::fs::write(&file, b"WGPUPLCH damaged").unwrap();
    assert!(child("child_runs_one_kernel", &[("TESSERA_CACHE", &dir)]).contains("CHILD_OK"));
    assert!(std::fs::read(&file).unwrap().starts_with(b"WGPUPLCH"), "rewritten whole");
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x.to_string_lossy().starts_with("tmp")))
        .collect();
    assert!(leftovers.is_empty(), "no temporary files left: {leftovers:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn memory_access_probes_read_what_the_host_sums() {
    // access_costs checks every probe's sums against the host's before timing it.
    let dev = gpu();
    let costs = tessera_device::probe::access_costs(dev.as_gpu().unwrap(), 2).unwrap();
    let kinds: Vec<_> = costs.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [
            "storage_f32",
            "storage_vec4",
            "texel_vec4",
            "storage_f32_same",
            "texel_vec4_same",
            "uniform_f32",
            "uniform_vec4",
            "workgroup_f32",
            "store_f32",
            "alu_f32"
        ]
    );
    assert!(costs.iter().all(|c| c.ns.is_finite() && c.ns > 0.0), "{costs:?}");
}

/// A copy kernel written for a storage array at binding 1, as `texel_source` or
/// `uniform_source` rewrites it to read (`uniform`), compiled on `g` under `file`.
fn copy_kernel(g: &tessera::device::Gpu, file: &'static str, uniform: bool) -> tessera::device::Pipeline {
    use tessera::kernels::launch::{texel_source, uniform_source};
    let src = "@group(0) @binding(0) var<uniform> n: vec4<u32>;\n\
               @group(0) @binding(1) var<storage, read> src: array<f32>;\n\
               @group(0) @binding(2) var<storage, read_write> dst: array<f32>;\n\
               @compute @workgroup_size(64)\n\
               fn copy(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {\n\
                   let i = id.x + id.y * nwg.x * 64u;\n\
                   if i < n.x { dst[i] = src[i]; }\n\
               }\n";
    let key = tessera::device::PipelineKey { file, entry: "copy", constants: &[] };
    g.pipeline(key, || if uniform { uniform_source(src, 1) } else { texel_source(src, 1) }).unwrap()
}

/// Copies `len` floats of `buf` from float `offset` through `bind(window)` with `pipe`.
fn copied<'a>(
    g: &tessera::device::Gpu,
    pipe: &tessera::device::Pipeline,
    buf: &'a tessera::device::GpuBuffer,
    (offset, len): (usize, usize),
    bind: impl Fn(tessera::device::View<'a>) -> tessera::device::View<'a>,
) -> Vec<f32> {
    let out = g.alloc(len as u64 * 4).unwrap();
    let params: Vec<u8> = [len as u32, 0, 0, 0].iter().flat_map(|w| w.to_le_bytes()).collect();
    let window = bind(buf.window(offset as u64 * 4, len as u64 * 4));
    let groups = tessera::kernels::launch::grid_1d(g, len, 64);
    g.dispatch_views(pipe, &params, &[window, out.whole()], groups).unwrap();
    g.read(&out, len as u64 * 4).unwrap().chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect()
}

#[test]
fn texel_views_bind_a_windows_bytes_as_a_texture() {
    // A kernel written for a storage array, its array read through texel_source's texture:
    // windows of one buffer at offsets, one texel row and several, whole rows and a part row.
    let dev = gpu();
    let g = dev.as_gpu().unwrap().clone();
    let pipe = copy_kernel(&g, "texel_view_test.wgsl", false);
    let row = tessera::device::TEXEL_ROW as usize * 4; // floats per texture row
    let data: Vec<f32> = (0..3 * row + 4096).map(|i| i as f32 * 0.5 - 7.0).collect();
    let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    let buf = g.upload(&bytes).unwrap();
    let align = g.binding_alignment() as usize / 4;
    for (offset, len) in [(0, 5), (align, 4 * 4 + 3), (0, row), (2 * align, 2 * row + 7), (0, 3 * row + 4096)] {
        let got = copied(&g, &pipe, &buf, (offset, len), |w| w.texels());
        assert_eq!(got, data[offset..offset + len], "window of {len} floats at {offset}");
    }
}

#[test]
fn uniform_views_bind_a_windows_bytes_as_a_uniform_buffer() {
    // The same kernel reading its array through uniform_source's uniform buffer: windows at
    // offsets, of one float, a part vec4, and up to the whole 64 KiB, one pooled buffer
    // reused by every dispatch.
    let dev = gpu();
    let g = dev.as_gpu().unwrap().clone();
    let limit = g.max_uniform_view_bytes();
    assert_eq!(limit, tessera::device::UNIFORM_VIEW_BYTES, "lavapipe binds 64 KiB uniform buffers");
    let pipe = copy_kernel(&g, "uniform_view_test.wgsl", true);
    let most = limit as usize / 4;
    let data: Vec<f32> = (0..most + 4096).map(|i| i as f32 * 0.25 + 3.0).collect();
    let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    let buf = g.upload(&bytes).unwrap();
    let align = g.binding_alignment() as usize / 4;
    let before = g.stats().uniform_views;
    let windows = [(0, 1), (align, 4 * 4 + 3), (3 * align, 1000), (0, most), (2 * align, most - 7)];
    for (offset, len) in windows {
        let got = copied(&g, &pipe, &buf, (offset, len), |w| w.uniform());
        assert_eq!(got, data[offset..offset + len], "window of {len} floats at {offset}");
    }
    assert_eq!(g.stats().uniform_views - before, windows.len() as u64);
}

#[test]
fn a_uniform_view_past_64_kib_is_a_typed_error() {
    let dev = gpu();
    let g = dev.as_gpu().unwrap().clone();
    let limit = g.max_uniform_view_bytes();
    let pipe = copy_kernel(&g, "uniform_limit_test.wgsl", true);
    let big = g.alloc(limit + 16).unwrap();
    let out = g.alloc(4).unwrap();
    match g.dispatch_views(&pipe, &[0; 16], &[big.window(0, limit + 16).uniform(), out.whole()], [1, 1, 1]) {
        Err(tessera::device::DeviceError::BufferTooLarge { bytes, limit: l, what }) => {
            assert_eq!((bytes, l), (limit + 16, limit));
            assert!(what.contains("uniform binding of uniform_limit_test.wgsl"), "{what}");
        }
        other => panic!("expected BufferTooLarge, got {other:?}"),
    }
}

#[test]
fn a_texel_view_past_the_texture_limit_is_a_typed_error() {
    let dev = gpu();
    let g = dev.as_gpu().unwrap().clone();
    let limit = g.max_texel_bytes();
    assert!(limit >= tessera::device::TEXEL_ROW as u64 * 16 * 4096, "limit {limit}");
    let src = "@group(0) @binding(1) var<storage, read> src: array<f32>;\n\
               @group(0) @binding(2) var<storage, read_write> dst: array<f32>;\n\
               @compute @workgroup_size(64) fn copy() { dst[0] = src[0]; }\n";
    let key = tessera::device::PipelineKey { file: "texel_limit_test.wgsl", entry: "copy", constants: &[] };
    let pipe = g.pipeline(key, || tessera::kernels::launch::texel_source(src, 1)).unwrap();
    let big = g.alloc(limit + 16).unwrap();
    let out = g.alloc(4).unwrap();
    match g.dispatch_views(&pipe, &[], &[big.window(0, limit + 16).texels(), out.whole()], [1, 1, 1]) {
        Err(tessera::device::DeviceError::BufferTooLarge { bytes, limit: l, what }) => {
            assert_eq!((bytes, l), (limit + 16, limit));
            assert!(what.contains("texel binding of texel_limit_test.wgsl"), "{what}");
        }
        other => panic!("expected BufferTooLarge, got {other:?}"),
    }
}
