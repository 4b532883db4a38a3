//! Microbenchmarks of the adapter's memory paths (`tessera bench loads`): what one load or
//! store of each kind costs an invocation, when each invocation makes many at lane-varying
//! addresses. On CPU adapters these costs differ by kind and by the host's vector ISA
//! (docs/benchmarks.md, nineteenth round), which is what decides the kernel variants that can
//! pay there; every probe's sums are checked against the host's, so none is optimised away.

use crate::{DeviceError, Gpu, GpuBuffer, Result};

/// Invocations per probe dispatch (128 workgroups of 64; probe.wgsl's `INVOCATIONS`).
const INVOCATIONS: usize = 8192;
/// Accesses per invocation (probe.wgsl's `STEPS`).
const STEPS: usize = 256;
/// Elements of the probed storage buffer and texture (f32s).
const ELEMS: usize = 65536;
/// Elements of the probed uniform buffer (a uniform view's, `UNIFORM_VIEW_BYTES`).
const UNIFORM_ELEMS: usize = crate::UNIFORM_VIEW_BYTES as usize / 4;

/// One kind of memory access and what it cost.
#[derive(Clone, Debug)]
pub struct AccessCost {
    /// The probe's entry point in probe.wgsl (`storage_f32`, `texel_vec4`, ...).
    pub kind: &'static str,
    /// What one access is, in words.
    pub what: &'static str,
    /// Nanoseconds per invocation and access (best of the timed runs).
    pub ns: f64,
}

/// The probes: entry point, what one access is, and the binding-1 resource it reads.
const PROBES: [(&str, &str, Source); 10] = [
    ("storage_f32", "storage-buffer load, f32", Source::Storage),
    ("storage_vec4", "storage-buffer load, vec4<f32>", Source::Storage),
    ("texel_vec4", "textureLoad of an rgba32float texel", Source::Texture),
    ("storage_f32_same", "storage-buffer load, f32, one address for the workgroup", Source::Storage),
    ("texel_vec4_same", "textureLoad, one texel for the workgroup", Source::Texture),
    ("uniform_f32", "uniform-buffer load, f32 (of 64 KiB)", Source::Uniform),
    ("uniform_vec4", "uniform-buffer load, vec4 (of 64 KiB)", Source::Uniform),
    ("workgroup_f32", "workgroup-memory load, f32", Source::None),
    ("store_f32", "storage-buffer store, f32", Source::None),
    ("alu_f32", "no access: one multiply-add (the loop's own cost)", Source::None),
];

/// What a probe reads at binding 1.
#[derive(Clone, Copy)]
enum Source {
    Storage,
    Texture,
    Uniform,
    None,
}

/// The value of element `i` of every probed resource (small integers: exact sums).
fn value(i: usize) -> f32 {
    (i % 7) as f32
}

/// Times every probe: each runs `reps` (at least 2) times as 5 dispatches in one submit, after
/// one untimed run whose sums are checked. Errors name the probe whose sums came out wrong.
pub fn access_costs(gpu: &Gpu, reps: usize) -> Result<Vec<AccessCost>> {
    costs_of(gpu, &PROBES.map(|p| p.0), reps)
}

/// [`access_costs`] of the probes named `kinds` only (unknown names are skipped).
pub fn costs_of(gpu: &Gpu, kinds: &[&str], reps: usize) -> Result<Vec<AccessCost>> {
    gpu.synchronize()?;
    let res = Resources::new(gpu)?;
    let module = probe_module(gpu)?;
    PROBES
        .iter()
        .filter(|p| kinds.contains(&p.0))
        .map(|&(kind, what, source)| {
            let run = ProbeRun::new(gpu, &res, &module, kind, source)?;
            run.check(gpu, &res.out)?;
            let best = (0..reps.max(2)).map(|_| run.time(gpu, 5)).try_fold(f64::MAX, |b, t| t.map(|t| b.min(t)))?;
            Ok(AccessCost { kind, what, ns: best * 1e9 / (INVOCATIONS * STEPS) as f64 })
        })
        .collect()
}

/// The probed resources, filled with [`value`]s, and the output buffer.
struct Resources {
    data: GpuBuffer,
    table: wgpu::Buffer,
    texture: wgpu::TextureView,
    out: GpuBuffer,
}

impl Resources {
    fn new(gpu: &Gpu) -> Result<Self> {
        let bytes: Vec<u8> = (0..ELEMS).flat_map(|i| value(i).to_le_bytes()).collect();
        let data = gpu.upload(&bytes)?;
        let out = gpu.alloc(((INVOCATIONS + ELEMS) * 4) as u64)?;
        let device = &gpu.inner.device;
        let table = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("probe table"),
            size: crate::UNIFORM_VIEW_BYTES,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let words: Vec<u8> = (0..crate::UNIFORM_VIEW_BYTES / 4).flat_map(|i| (i as u32 % 7).to_le_bytes()).collect();
        gpu.inner.queue.write_buffer(&table, 0, &words);
        let texels = crate::texels::create(device, (ELEMS / 4) as u32 / crate::TEXEL_ROW);
        let size = texels.texture.size();
        let layout =
            wgpu::TexelCopyBufferLayout { offset: 0, bytes_per_row: Some(crate::TEXEL_ROW * 16), rows_per_image: None };
        gpu.inner.queue.write_texture(texels.texture.as_image_copy(), &bytes, layout, size);
        gpu.flush()?; // the upload's copy is recorded in the device's encoder; the probes submit their own
        Ok(Self { data, table, texture: texels.view, out })
    }
}

/// probe.wgsl, compiled (not through the pipeline cache: its probes bind textures and uniform
/// buffers, which `Gpu::dispatch` does not).
fn probe_module(gpu: &Gpu) -> Result<wgpu::ShaderModule> {
    let module = gpu.inner.device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("probe.wgsl"),
        source: wgpu::ShaderSource::Wgsl(include_str!("probe.wgsl").into()),
    });
    gpu.check().map_err(|e| DeviceError::Validation(format!("compiling probe.wgsl: {e}")))?;
    Ok(module)
}

/// One probe's pipeline and bindings.
struct ProbeRun {
    kind: &'static str,
    pipeline: wgpu::ComputePipeline,
    bind: wgpu::BindGroup,
}

impl ProbeRun {
    fn new(
        gpu: &Gpu,
        res: &Resources,
        module: &wgpu::ShaderModule,
        kind: &'static str,
        source: Source,
    ) -> Result<Self> {
        let device = &gpu.inner.device;
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(kind),
            layout: None,
            module,
            entry_point: Some(kind),
            compilation_options: Default::default(),
            cache: None,
        });
        let mut entries = vec![wgpu::BindGroupEntry { binding: 0, resource: res.out.raw().as_entire_binding() }];
        let input = match source {
            Source::Storage => Some(res.data.raw().as_entire_binding()),
            Source::Texture => Some(wgpu::BindingResource::TextureView(&res.texture)),
            Source::Uniform => Some(res.table.as_entire_binding()),
            Source::None => None,
        };
        entries.extend(input.map(|resource| wgpu::BindGroupEntry { binding: 1, resource }));
        let bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(kind),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        gpu.check().map_err(|e| DeviceError::Validation(format!("probe '{kind}': {e}")))?;
        Ok(Self { kind, pipeline, bind })
    }

    /// Seconds per dispatch of `n` dispatches in one submit, waited for.
    fn time(&self, gpu: &Gpu, n: usize) -> Result<f64> {
        let t = std::time::Instant::now();
        let mut enc = gpu.inner.device.create_command_encoder(&Default::default());
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, &self.bind, &[]);
            for _ in 0..n {
                pass.dispatch_workgroups((INVOCATIONS / 64) as u32, 1, 1);
            }
        }
        gpu.inner.queue.submit([enc.finish()]);
        gpu.inner.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| DeviceError::Lost(e.to_string()))?;
        gpu.check()?;
        Ok(t.elapsed().as_secs_f64() / n as f64)
    }

    /// Runs the probe once and compares each invocation's sum with [`expected_sum`].
    fn check(&self, gpu: &Gpu, out: &GpuBuffer) -> Result<()> {
        self.time(gpu, 1)?;
        let bytes = gpu.read(out, (INVOCATIONS * 4) as u64)?;
        let got = bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        match got.enumerate().find(|&(g, v)| v != expected_sum(self.kind, g)) {
            None => Ok(()),
            Some((g, v)) => Err(DeviceError::Validation(format!(
                "probe '{}': invocation {g} summed {v}, the host {}",
                self.kind,
                expected_sum(self.kind, g)
            ))),
        }
    }
}

/// The element access `i` of invocation `g` reads among `n` (probe.wgsl's `at`).
fn at(g: usize, i: usize, n: usize) -> usize {
    (g * 5 + i * 67) & (n - 1)
}

/// What invocation `g` of probe `kind` writes, computed on the host.
fn expected_sum(kind: &str, g: usize) -> f32 {
    let vec4 = |t: usize| (0..4).map(|c| value(4 * t + c)).sum::<f32>();
    let step = |i: usize| match kind {
        "storage_f32" => value(at(g, i, ELEMS)),
        "storage_vec4" | "texel_vec4" => vec4(at(g, i, ELEMS / 4)),
        "storage_f32_same" => value(at(g / 64, i, ELEMS)),
        "texel_vec4_same" => vec4(at(g / 64, i, ELEMS / 4)),
        "uniform_f32" => value(at(g, i, UNIFORM_ELEMS)),
        "uniform_vec4" => vec4(at(g, i, UNIFORM_ELEMS / 4)),
        "workgroup_f32" => value(at(g, i, 1024)),
        _ => value(i),
    };
    match kind {
        "alu_f32" => (0..STEPS).fold(value(g), |acc, i| acc * 0.5 + (i & 3) as f32),
        _ => (0..STEPS).map(step).sum(),
    }
}
