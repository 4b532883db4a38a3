//! The `Gpu` handle: device, queue, buffer pool, pipeline cache and the open command encoder.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::adapter::{self, GpuOptions};
use crate::autotune::{TuneMode, Tuning};
use crate::pool::{size_class, Pool};
use crate::{DeviceError, Result};

/// Bytes of uniform data one dispatch may use (one slot of the uniform arena).
pub const PARAMS_SLOT: u64 = 256;
/// Dispatches recorded before the encoder is submitted on its own.
const MAX_RECORDED: usize = 256;

/// A cheap-to-clone handle to one GPU device.
#[derive(Clone)]
pub struct Gpu {
    pub(crate) inner: Arc<GpuInner>,
}

pub(crate) struct GpuInner {
    // The instance and adapter live as long as the device: in the browser, a garbage-collected
    // instance loses the device ("A valid external Instance reference no longer exists").
    _instance: wgpu::Instance,
    _adapter: wgpu::Adapter,
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    limits: wgpu::Limits,
    features: wgpu::Features,
    pub(crate) pool: Mutex<Pool>,
    pipelines: Mutex<HashMap<u64, Pipeline>>,
    /// Parsed and validated shader modules by file: the pipelines of one file's entry points
    /// and constants share one.
    modules: Mutex<HashMap<String, wgpu::ShaderModule>>,
    /// Where the first use of kernels went (`GpuStats::module_us` and the like).
    first_use: Mutex<FirstUse>,
    /// `TESSERA_PROFILE`: per kernel, dispatches, seconds in all and seconds of the first.
    profile: Option<Mutex<Profile>>,
    pub(crate) rec: Mutex<Recorder>,
    tuning: Mutex<Tuning>,
    /// The driver's pipeline cache, persisted per adapter (native Vulkan adapters offering it).
    disk_cache: Option<DiskPipelineCache>,
    errors: Arc<Mutex<Vec<DeviceError>>>,
    lost: Arc<Mutex<Option<String>>>,
}

/// `TESSERA_PROFILE` rows: per kernel, dispatches, seconds in all and seconds of the first.
type Profile = HashMap<String, (u64, f64, f64)>;

/// Seconds spent on first-use costs since the device was opened.
#[derive(Debug, Default, Clone, Copy)]
struct FirstUse {
    /// Parsing and validating WGSL (`create_shader_module`).
    module_s: f64,
    /// Creating compute pipelines (naga's backend and the driver).
    pipeline_s: f64,
    /// Autotuning, as wall time of the outermost tunings (their compiles included).
    tuning_s: f64,
}

/// A driver pipeline cache (`wgpu::PipelineCache`) loaded from and saved to
/// `pipelines-<adapter_key>.bin` in the autotune cache directory, so a later process's
/// pipelines skip the driver's compiler where the driver keeps compiled code in it.
struct DiskPipelineCache {
    cache: wgpu::PipelineCache,
    path: std::path::PathBuf,
    /// The bytes read at start (no rewrite when nothing changed).
    loaded: Option<Vec<u8>>,
}

impl DiskPipelineCache {
    /// Opens the cache for `info` when `device` has `PIPELINE_CACHE`, there is a cache
    /// directory and `TESSERA_PIPELINE_CACHE` is not `off`; unreadable or foreign data gives
    /// an empty cache.
    #[cfg(not(target_arch = "wasm32"))]
    fn open(device: &wgpu::Device, info: &wgpu::AdapterInfo) -> Option<Self> {
        let off = std::env::var("TESSERA_PIPELINE_CACHE").is_ok_and(|v| v.eq_ignore_ascii_case("off"));
        if off || !device.features().contains(wgpu::Features::PIPELINE_CACHE) {
            return None;
        }
        let key = crate::autotune::adapter_key(info, &crate::autotune::cpu_tag());
        let path = crate::autotune::cache_dir()?.join(format!("pipelines-{key}.bin"));
        let loaded = std::fs::read(&path).ok();
        // SAFETY: the bytes are what `save` wrote from `get_data` for this adapter key; wgpu
        // checks their header (format, adapter, driver, length) and, with `fallback`, starts
        // an empty cache instead of failing on data it cannot use.
        let cache = unsafe {
            device.create_pipeline_cache(&wgpu::PipelineCacheDescriptor {
                label: Some("tessera pipelines"),
                data: loaded.as_deref(),
                fallback: true,
            })
        };
        Some(Self { cache, path, loaded })
    }

    #[cfg(target_arch = "wasm32")]
    fn open(_: &wgpu::Device, _: &wgpu::AdapterInfo) -> Option<Self> {
        None
    }

    /// Writes the cache's data when it changed (to a temporary file, then renamed over the
    /// old one, so a concurrent reader never sees half a file). Failures are ignored: a
    /// missing cache only costs compiles.
    fn save(&self) {
        let Some(data) = self.cache.get_data() else { return };
        if self.loaded.as_deref() == Some(&data[..]) {
            return;
        }
        let tmp = self.path.with_extension(format!("tmp{}", std::process::id()));
        if let Some(dir) = self.path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        if std::fs::write(&tmp, &data).and_then(|()| std::fs::rename(&tmp, &self.path)).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

impl Drop for GpuInner {
    fn drop(&mut self) {
        if let Some(c) = &self.disk_cache {
            c.save();
        }
    }
}

/// The open command encoder, its open compute pass and the uniform bytes of the dispatches
/// recorded in it.
pub(crate) struct Recorder {
    encoder: Option<wgpu::CommandEncoder>,
    /// Consecutive dispatches share one compute pass; a copy or a submit ends it.
    pass: Option<wgpu::ComputePass<'static>>,
    params: Vec<u8>,
    arena: wgpu::Buffer,
    /// Number of submits so far (a statistic for tests and benches).
    submits: u64,
    /// Number of dispatches so far (a statistic for tests and benches).
    dispatches: u64,
    /// Idle textures for texel views.
    texels: crate::texels::TexelPool,
    /// Number of texel views bound so far (a statistic for tests and benches).
    texel_views: u64,
    /// Idle buffers for uniform views.
    uniforms: crate::uniforms::UniformPool,
    /// Number of uniform views bound so far (a statistic for tests and benches).
    uniform_views: u64,
}

/// Where a texel or uniform view's bytes were copied for one dispatch.
enum Staged {
    Texels(crate::texels::Texels),
    Uniform(wgpu::Buffer),
}

/// A pipeline's identity: shader file, entry point and pipeline-overridable constants. Looked
/// up by hash, so a launch formats no strings.
#[derive(Debug, Clone, Copy)]
pub struct PipelineKey<'a> {
    /// The shader file (`matmul.wgsl`).
    pub file: &'a str,
    /// The entry point.
    pub entry: &'a str,
    /// Values of the shader's `override` constants.
    pub constants: &'a [(&'a str, f64)],
}

impl PipelineKey<'_> {
    /// A 64-bit hash of the key (constants by bit pattern).
    fn hash64(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (self.file, self.entry).hash(&mut h);
        for (name, v) in self.constants {
            (name, v.to_bits()).hash(&mut h);
        }
        h.finish()
    }

    /// `file:entry:constants`, the label of the compiled pipeline.
    fn label(&self) -> String {
        format!("{}:{}:{:?}", self.file, self.entry, self.constants)
    }
}

/// A compiled compute pipeline with its bind-group layout and label, from [`Gpu::pipeline`].
#[derive(Clone)]
pub struct Pipeline(Arc<PipelineInner>);

struct PipelineInner {
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
    label: String,
    /// The key's parts, to tell a (vanishingly unlikely) hash collision from a hit.
    parts: (String, String, Vec<(String, u64)>),
}

impl PipelineInner {
    fn matches(&self, key: &PipelineKey<'_>) -> bool {
        let (file, entry, constants) = &self.parts;
        file == key.file
            && entry == key.entry
            && constants.len() == key.constants.len()
            && constants.iter().zip(key.constants).all(|((n, b), (kn, kv))| n == kn && *b == kv.to_bits())
    }
}

impl Pipeline {
    /// The label (`file:entry:constants`).
    pub fn key(&self) -> &str {
        &self.0.label
    }
}

/// Counters describing how the device has been used (for tests and benchmarks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GpuStats {
    /// Queue submissions.
    pub submits: u64,
    /// Compute dispatches recorded.
    pub dispatches: u64,
    /// Operands bound as texel views (each a buffer-to-texture copy before its dispatch).
    pub texel_views: u64,
    /// Operands bound as uniform views (each a buffer-to-buffer copy before its dispatch).
    pub uniform_views: u64,
    /// Storage buffers created.
    pub buffers_created: u64,
    /// Storage buffers served from the pool.
    pub buffers_reused: u64,
    /// Pipelines compiled.
    pub pipelines: u64,
    /// Storage bytes (by size class) held by live buffers now.
    pub live_bytes: u64,
    /// Most storage bytes held by live buffers at once since [`Gpu::reset_peak`] (the pool's
    /// high-water mark; idle pooled buffers are not counted).
    pub peak_bytes: u64,
    /// Microseconds spent parsing and validating WGSL modules (one per shader file).
    pub module_us: u64,
    /// Microseconds spent creating compute pipelines (naga's backend and the driver; lavapipe
    /// compiles a shader at its first dispatch instead, which `TESSERA_PROFILE` shows).
    pub pipeline_us: u64,
    /// Microseconds of autotuning (wall time, the compiles during it included).
    pub tuning_us: u64,
}

impl Recorder {
    /// The open encoder, created on first use.
    fn encoder(&mut self, dev: &wgpu::Device) -> &mut wgpu::CommandEncoder {
        self.encoder.get_or_insert_with(|| dev.create_command_encoder(&Default::default()))
    }

    /// The open encoder with no compute pass open (for copies and submits).
    fn encoder_outside_pass(&mut self, dev: &wgpu::Device) -> &mut wgpu::CommandEncoder {
        self.pass = None;
        self.encoder(dev)
    }

    /// The open compute pass, begun on first use.
    fn pass(&mut self, dev: &wgpu::Device) -> &mut wgpu::ComputePass<'static> {
        if self.pass.is_none() {
            let pass = self.encoder(dev).begin_compute_pass(&wgpu::ComputePassDescriptor::default());
            self.pass = Some(pass.forget_lifetime());
        }
        self.pass.as_mut().expect("pass just opened")
    }

    /// Records a whole-range copy from `src` to `dst`.
    pub(crate) fn copy_into(&mut self, dev: &wgpu::Device, src: &wgpu::Buffer, dst: &wgpu::Buffer, size: u64) {
        self.encoder_outside_pass(dev).copy_buffer_to_buffer(src, 0, dst, 0, size);
    }
}

impl Gpu {
    /// Opens the best adapter (blocking; native only). See [`GpuOptions::from_env`].
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new() -> Result<Self> {
        Self::with_options(&GpuOptions::from_env()?)
    }

    /// Opens an adapter chosen by `opts` (blocking; native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn with_options(opts: &GpuOptions) -> Result<Self> {
        pollster::block_on(Self::new_async(opts))
    }

    /// Opens an adapter chosen by `opts`; the only constructor in the browser.
    pub async fn new_async(opts: &GpuOptions) -> Result<Self> {
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
        desc.backends = opts.backends.unwrap_or(wgpu::Backends::all());
        let instance = wgpu::Instance::new(desc);
        let adapter = adapter::choose(adapter::candidates(&instance, opts).await, opts)?;
        Self::from_adapter(instance, adapter, opts.max_binding_bytes).await
    }

    async fn from_adapter(instance: wgpu::Instance, adapter: wgpu::Adapter, max_binding: Option<u64>) -> Result<Self> {
        let info = adapter.get_info();
        let limits = adapter.limits();
        let desc = wgpu::DeviceDescriptor {
            label: Some("tessera"),
            required_features: adapter.features() & requested_features(),
            required_limits: limits.clone(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        };
        let (device, queue) = adapter
            .request_device(&desc)
            .await
            .map_err(|e| DeviceError::RequestDevice { adapter: info.name.clone(), reason: e.to_string() })?;
        let errors: Arc<Mutex<Vec<DeviceError>>> = Arc::default();
        let sink = errors.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            sink.lock().unwrap_or_else(|p| p.into_inner()).push(e.into());
        }));
        let lost: Arc<Mutex<Option<String>>> = Arc::default();
        let lost_sink = lost.clone();
        device.set_device_lost_callback(move |reason, msg| {
            *lost_sink.lock().unwrap_or_else(|p| p.into_inner()) = Some(format!("{reason:?}: {msg}"));
        });
        let arena = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("tessera params"),
            size: PARAMS_SLOT * MAX_RECORDED as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let rec = Recorder {
            encoder: None,
            pass: None,
            params: Vec::new(),
            arena,
            submits: 0,
            dispatches: 0,
            texels: Default::default(),
            texel_views: 0,
            uniforms: Default::default(),
            uniform_views: 0,
        };
        let features = device.features();
        let tuning = Mutex::new(Tuning::for_adapter(&info)?);
        let disk_cache = DiskPipelineCache::open(&device, &info);
        let inner = GpuInner {
            _instance: instance,
            _adapter: adapter,
            device,
            queue,
            info,
            limits: lowered(limits, max_binding),
            features,
            pool: Mutex::default(),
            pipelines: Mutex::default(),
            modules: Mutex::default(),
            first_use: Mutex::default(),
            rec: Mutex::new(rec),
            tuning,
            disk_cache,
            profile: std::env::var_os("TESSERA_PROFILE").map(|_| Mutex::default()),
            errors,
            lost,
        };
        Ok(Self { inner: Arc::new(inner) })
    }

    /// True when both handles refer to the same opened device.
    pub fn same_device(&self, other: &Gpu) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// The adapter's description (name, backend, driver, device type).
    pub fn info(&self) -> &wgpu::AdapterInfo {
        &self.inner.info
    }

    /// The limits the device was opened with (the adapter's own).
    pub fn limits(&self) -> &wgpu::Limits {
        &self.inner.limits
    }

    /// The features the device was opened with: those of [`requested_features`] the adapter
    /// offers.
    pub fn features(&self) -> wgpu::Features {
        self.inner.features
    }

    /// The smallest and largest subgroup size of the adapter when the device has subgroup
    /// operations (wgpu's `SUBGROUP`: natively on Vulkan, Metal and DX12 adapters that offer
    /// it), else `None`. Kernels with subgroup variants offer them to autotuning only then.
    pub fn subgroup_sizes(&self) -> Option<(u32, u32)> {
        let info = &self.inner.info;
        self.inner
            .features
            .contains(wgpu::Features::SUBGROUP)
            .then_some((info.subgroup_min_size, info.subgroup_max_size))
    }

    /// True when the adapter is a CPU implementation (lavapipe, SwiftShader, WARP).
    pub fn is_software(&self) -> bool {
        self.inner.info.device_type == wgpu::DeviceType::Cpu
    }

    /// True when the adapter says it is a GPU (discrete, integrated or virtual); false for CPU
    /// implementations and for adapters of unknown type (WebGPU in the browser tells none).
    pub fn is_gpu_hardware(&self) -> bool {
        use wgpu::DeviceType::{DiscreteGpu, IntegratedGpu, VirtualGpu};
        matches!(self.inner.info.device_type, DiscreteGpu | IntegratedGpu | VirtualGpu)
    }

    /// Usage counters since the device was opened.
    pub fn stats(&self) -> GpuStats {
        let rec = lock(&self.inner.rec);
        let pool = lock(&self.inner.pool);
        let first = *lock(&self.inner.first_use);
        let us = |s: f64| (s * 1e6) as u64;
        GpuStats {
            submits: rec.submits,
            dispatches: rec.dispatches,
            texel_views: rec.texel_views,
            uniform_views: rec.uniform_views,
            buffers_created: pool.created,
            buffers_reused: pool.reused,
            pipelines: lock(&self.inner.pipelines).len() as u64,
            live_bytes: pool.live_bytes,
            peak_bytes: pool.peak_bytes,
            module_us: us(first.module_s),
            pipeline_us: us(first.pipeline_s),
            tuning_us: us(first.tuning_s),
        }
    }

    /// Restarts the memory high-water mark ([`GpuStats::peak_bytes`]) at the bytes live now.
    pub fn reset_peak(&self) {
        lock(&self.inner.pool).reset_peak();
    }

    /// The autotuning mode this device was opened with (`TESSERA_AUTOTUNE`).
    pub fn tune_mode(&self) -> TuneMode {
        lock(&self.inner.tuning).mode
    }

    /// Whether the tuning allowance ([`crate::autotune::TuneBudget`]) lets a shape class be
    /// timed now, after this device's tuning so far ([`GpuStats::tuning_us`]).
    pub fn may_tune(&self) -> bool {
        let spent = lock(&self.inner.first_use).tuning_s;
        lock(&self.inner.tuning).allows(spent)
    }

    /// This device's tuning allowance (`TuneBudget::DEFAULT`; unlimited with
    /// `TESSERA_AUTOTUNE=force`).
    pub fn tune_budget(&self) -> crate::autotune::TuneBudget {
        lock(&self.inner.tuning).budget
    }

    /// Sets the tuning allowance (`tessera bench` lifts it: it times tuned kernels).
    pub fn set_tune_budget(&self, budget: crate::autotune::TuneBudget) {
        lock(&self.inner.tuning).budget = budget;
    }

    /// Keeps measured winners in the cache file `path` from now on (its winners replace those
    /// in memory), or only in memory with `None` (a program, or a test, that must start from
    /// an empty cache).
    pub fn use_tune_cache(&self, path: Option<std::path::PathBuf>) {
        lock(&self.inner.tuning).use_cache(path);
    }

    /// The variant remembered for a kernel family and shape class (`key`), if any; `None` too
    /// for a GPU's provisional winner from an earlier process (see `Tuning::lookup`).
    pub fn tuned(&self, key: &str) -> Option<String> {
        lock(&self.inner.tuning).lookup(key)
    }

    /// Remembers `variant` as the winner for `key` and adds it to this adapter's cache file as
    /// it is on disk now, so winners another device or process saved since this one opened are
    /// kept (a cache that cannot be written only costs a retune in the next process).
    pub fn remember_tuned(&self, key: &str, variant: &str) {
        let mut t = lock(&self.inner.tuning);
        let provisional = t.remember(key, variant);
        if let Some(path) = &t.path {
            let mut on_disk = crate::autotune::TuneCache::load(path);
            on_disk.set(key, variant, provisional);
            let _ = on_disk.save(path);
        }
    }

    /// This adapter's autotune cache file (see [`crate::autotune::cache_file`]), if there is a
    /// cache directory.
    pub fn tune_cache_path(&self) -> Option<std::path::PathBuf> {
        lock(&self.inner.tuning).path.clone()
    }

    /// Adds `seconds` of autotuning to [`GpuStats::tuning_us`] (the kernels' tuner reports it).
    pub fn add_tuning_time(&self, seconds: f64) {
        lock(&self.inner.first_use).tuning_s += seconds;
    }

    /// True when `key`'s remembered winner is provisional (a GPU's first measurement, which
    /// the next process measures again).
    pub fn tuned_provisional(&self, key: &str) -> bool {
        lock(&self.inner.tuning).cache.is_provisional(key)
    }

    /// The (shape class, variant) pairs used by this process's kernels so far, sorted.
    pub fn tuned_entries(&self) -> Vec<(String, String)> {
        let t = lock(&self.inner.tuning);
        t.used.iter().filter_map(|k| Some((k.clone(), t.cache.get(k)?.to_string()))).collect()
    }

    /// Largest buffer a single storage binding may cover, in bytes.
    pub fn max_binding_bytes(&self) -> u64 {
        self.inner.limits.max_storage_buffer_binding_size.min(self.inner.limits.max_buffer_size)
    }

    /// Largest buffer this adapter may create, in bytes (kernels bind windows of a buffer
    /// larger than [`Gpu::max_binding_bytes`]).
    pub fn max_buffer_bytes(&self) -> u64 {
        self.inner.limits.max_buffer_size
    }

    /// Alignment, in bytes, of a window's offset into a storage buffer.
    pub fn binding_alignment(&self) -> u64 {
        u64::from(self.inner.limits.min_storage_buffer_offset_alignment)
    }

    /// Returns the first error wgpu reported since the last check, or device loss. The
    /// errors after it (one failed command often reports several) are dropped with it, so
    /// they are not reported again against later, unrelated work.
    pub fn check(&self) -> Result<()> {
        if let Some(why) = lock(&self.inner.lost).clone() {
            return Err(DeviceError::Lost(why));
        }
        let mut errs = lock(&self.inner.errors);
        match errs.is_empty() {
            true => Ok(()),
            false => {
                let first = errs.remove(0);
                errs.clear();
                Err(first)
            }
        }
    }

    /// Returns the compiled pipeline for `key`, compiling `source()`'s WGSL on first use.
    pub fn pipeline(&self, key: PipelineKey<'_>, source: impl FnOnce() -> String) -> Result<Pipeline> {
        let hash = key.hash64();
        if let Some(p) = lock(&self.inner.pipelines).get(&hash).filter(|p| p.0.matches(&key)) {
            return Ok(p.clone());
        }
        let label = key.label();
        let module = self.module(key.file, source)?;
        let t = Timer::start();
        let pipeline = self.inner.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(&label),
            layout: None,
            module: &module,
            entry_point: Some(key.entry),
            compilation_options: wgpu::PipelineCompilationOptions { constants: key.constants, ..Default::default() },
            cache: self.inner.disk_cache.as_ref().map(|c| &c.cache),
        });
        lock(&self.inner.first_use).pipeline_s += t.seconds();
        self.check().map_err(|e| DeviceError::Validation(format!("compiling kernel '{label}': {e}")))?;
        let layout = pipeline.get_bind_group_layout(0);
        let constants = key.constants.iter().map(|(n, v)| (n.to_string(), v.to_bits())).collect();
        let parts = (key.file.to_string(), key.entry.to_string(), constants);
        let pipe = Pipeline(Arc::new(PipelineInner { pipeline, layout, label, parts }));
        lock(&self.inner.pipelines).insert(hash, pipe.clone());
        Ok(pipe)
    }

    /// The shader module of `file`, parsed and validated from `source()` on first use.
    fn module(&self, file: &str, source: impl FnOnce() -> String) -> Result<wgpu::ShaderModule> {
        if let Some(m) = lock(&self.inner.modules).get(file) {
            return Ok(m.clone());
        }
        let t = Timer::start();
        let module = self.inner.device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(file),
            source: wgpu::ShaderSource::Wgsl(source().into()),
        });
        lock(&self.inner.first_use).module_s += t.seconds();
        self.check().map_err(|e| DeviceError::Validation(format!("compiling shader '{file}': {e}")))?;
        lock(&self.inner.modules).insert(file.to_string(), module.clone());
        Ok(module)
    }

    /// Records one dispatch: binding 0 is `params` (a uniform), bindings 1.. are `buffers`.
    /// Nothing is submitted until [`Gpu::flush`], a readback, or the recording limit.
    pub fn dispatch(
        &self,
        pipeline: &Pipeline,
        params: &[u8],
        buffers: &[&crate::GpuBuffer],
        groups: [u32; 3],
    ) -> Result<()> {
        let views: Vec<_> = buffers.iter().map(|b| b.whole()).collect();
        self.dispatch_views(pipeline, params, &views, groups)
    }

    /// Records one dispatch binding windows of buffers (see [`crate::GpuBuffer::window`]) in
    /// binding order after the uniform. A window past the adapter's storage-binding limit is
    /// refused with [`DeviceError::BufferTooLarge`], a misaligned one with a validation error;
    /// both name the kernel.
    pub fn dispatch_views(
        &self,
        pipeline: &Pipeline,
        params: &[u8],
        buffers: &[crate::View<'_>],
        groups: [u32; 3],
    ) -> Result<()> {
        self.check_views(pipeline, buffers)?;
        let limit = self.inner.limits.max_compute_workgroups_per_dimension;
        if groups.iter().any(|&g| g > limit) {
            return Err(DeviceError::TooManyWorkgroups { kernel: pipeline.key().to_string(), groups, limit });
        }
        if groups.contains(&0) {
            return Ok(());
        }
        assert!(params.len() as u64 <= PARAMS_SLOT, "kernel params exceed one uniform slot");
        let mut rec = lock(&self.inner.rec);
        if rec.params.len() as u64 >= PARAMS_SLOT * MAX_RECORDED as u64 {
            self.submit_locked(&mut rec);
        }
        let offset = rec.params.len() as u64;
        rec.params.extend_from_slice(params);
        rec.params.resize((offset + PARAMS_SLOT) as usize, 0);
        let staged = self.stage_views(&mut rec, buffers);
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: &rec.arena,
                offset,
                size: wgpu::BufferSize::new(PARAMS_SLOT),
            }),
        }];
        for (i, (b, t)) in buffers.iter().zip(&staged).enumerate() {
            let resource = match t {
                None => b.resource(),
                Some(Staged::Texels(t)) => wgpu::BindingResource::TextureView(&t.view),
                Some(Staged::Uniform(u)) => u.as_entire_binding(),
            };
            entries.push(wgpu::BindGroupEntry { binding: i as u32 + 1, resource });
        }
        let bind = self.inner.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.0.layout,
            entries: &entries,
        });
        drop(entries);
        for t in staged.into_iter().flatten() {
            match t {
                Staged::Texels(t) => rec.texels.give(t),
                Staged::Uniform(u) => rec.uniforms.give(u),
            }
        }
        let pass = rec.pass(&self.inner.device);
        pass.set_pipeline(&pipeline.0.pipeline);
        pass.set_bind_group(0, &bind, &[]);
        pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
        rec.dispatches += 1;
        drop(rec);
        if let Some(profile) = &self.inner.profile {
            self.profile_dispatch(profile, pipeline.key())?;
        }
        self.check()
    }

    /// Records the copies of the texel and uniform views among `views` into pooled textures and
    /// uniform buffers (outside the compute pass), in binding order; `None` for storage bindings.
    fn stage_views(&self, rec: &mut Recorder, views: &[crate::View<'_>]) -> Vec<Option<Staged>> {
        if views.iter().all(|v| v.is_storage()) {
            return views.iter().map(|_| None).collect();
        }
        let dev = &self.inner.device;
        let Recorder { encoder, pass, texels, texel_views, uniforms, uniform_views, .. } = rec;
        *pass = None;
        *texel_views += views.iter().filter(|v| v.is_texels()).count() as u64;
        *uniform_views += views.iter().filter(|v| v.is_uniform()).count() as u64;
        let enc = encoder.get_or_insert_with(|| dev.create_command_encoder(&Default::default()));
        let stage = |v: &crate::View<'_>| {
            if v.is_texels() {
                Some(Staged::Texels(texels.fill(dev, enc, v.parts())))
            } else if v.is_uniform() {
                Some(Staged::Uniform(uniforms.fill(dev, enc, v.parts())))
            } else {
                None
            }
        };
        views.iter().map(stage).collect()
    }

    /// With `TESSERA_PROFILE` set: runs the dispatch now and adds its time to its kernel's row.
    #[cfg(not(target_arch = "wasm32"))]
    fn profile_dispatch(&self, profile: &Mutex<Profile>, key: &str) -> Result<()> {
        let t = std::time::Instant::now();
        self.synchronize()?;
        let mut p = lock(profile);
        let e = p.entry(key.to_string()).or_insert((0, 0.0, 0.0));
        let dt = t.elapsed().as_secs_f64();
        if e.0 == 0 {
            e.2 = dt; // the first dispatch: on lavapipe it includes the shader's compile
        }
        e.0 += 1;
        e.1 += dt;
        Ok(())
    }

    #[cfg(target_arch = "wasm32")]
    fn profile_dispatch(&self, _: &Mutex<Profile>, _: &str) -> Result<()> {
        Ok(())
    }

    /// Per-kernel (dispatches, seconds in all, seconds of the first dispatch) collected when
    /// `TESSERA_PROFILE` is set, slowest first.
    pub fn profile(&self) -> Vec<(String, u64, f64, f64)> {
        let Some(p) = &self.inner.profile else { return Vec::new() };
        let mut rows: Vec<_> = lock(p).iter().map(|(k, &(n, t, f))| (k.clone(), n, t, f)).collect();
        rows.sort_by(|a, b| b.2.total_cmp(&a.2));
        rows
    }

    /// Records a buffer-to-buffer copy into the open encoder.
    pub fn copy(
        &self,
        src: &crate::GpuBuffer,
        src_off: u64,
        dst: &crate::GpuBuffer,
        dst_off: u64,
        bytes: u64,
    ) -> Result<()> {
        let mut rec = lock(&self.inner.rec);
        let enc = rec.encoder_outside_pass(&self.inner.device);
        enc.copy_buffer_to_buffer(src.raw(), src_off, dst.raw(), dst_off, bytes);
        drop(rec);
        self.check()
    }

    /// Submits everything recorded so far (one queue submission).
    pub fn flush(&self) -> Result<()> {
        let mut rec = lock(&self.inner.rec);
        self.submit_locked(&mut rec);
        drop(rec);
        self.check()
    }

    /// Submits and blocks until the GPU has finished all work (native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn synchronize(&self) -> Result<()> {
        self.flush()?;
        self.inner.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| DeviceError::Lost(e.to_string()))?;
        self.check()
    }

    /// Drops every idle pooled buffer.
    pub fn trim(&self) {
        lock(&self.inner.pool).clear();
        let mut rec = lock(&self.inner.rec);
        rec.texels.clear();
        rec.uniforms.clear();
    }

    fn submit_locked(&self, rec: &mut Recorder) {
        rec.pass = None;
        let Some(enc) = rec.encoder.take() else { return };
        if !rec.params.is_empty() {
            self.inner.queue.write_buffer(&rec.arena, 0, &rec.params);
            rec.params.clear();
        }
        self.inner.queue.submit(Some(enc.finish()));
        rec.submits += 1;
    }

    /// Refuses windows a kernel cannot bind: past the binding limit, or misaligned.
    fn check_views(&self, pipeline: &Pipeline, views: &[crate::View<'_>]) -> Result<()> {
        let (limit, align) = (self.max_binding_bytes(), self.binding_alignment().max(1));
        for v in views {
            if v.is_texels() && v.bytes() > self.max_texel_bytes() {
                let what = format!("texel binding of {}", pipeline.key());
                return Err(DeviceError::BufferTooLarge { bytes: v.bytes(), limit: self.max_texel_bytes(), what });
            }
            if v.is_uniform() && v.bytes() > self.max_uniform_view_bytes() {
                let what = format!("uniform binding of {}", pipeline.key());
                return Err(DeviceError::BufferTooLarge {
                    bytes: v.bytes(),
                    limit: self.max_uniform_view_bytes(),
                    what,
                });
            }
            if v.is_storage() && v.bytes() > limit {
                let what = format!("storage binding of {}", pipeline.key());
                return Err(DeviceError::BufferTooLarge { bytes: v.bytes(), limit, what });
            }
            if !v.offset().is_multiple_of(align) {
                let why =
                    format!("{}: window offset {} is not a multiple of {align} bytes", pipeline.key(), v.offset());
                return Err(DeviceError::Validation(why));
            }
        }
        Ok(())
    }

    /// The most bytes a texel view ([`crate::View::texels`]) can bind on this adapter.
    pub fn max_texel_bytes(&self) -> u64 {
        crate::texels::max_texel_bytes(&self.inner.limits)
    }

    /// The most bytes a uniform view ([`crate::View::uniform`]) can bind on this adapter:
    /// [`crate::UNIFORM_VIEW_BYTES`], or 0 where its uniform bindings are smaller.
    pub fn max_uniform_view_bytes(&self) -> u64 {
        crate::uniforms::max_uniform_bytes(&self.inner.limits)
    }

    /// Allocates a storage buffer able to hold `bytes` (pooled by size class). A buffer may
    /// pass the storage-binding limit (up to the adapter's buffer limit): kernels then bind
    /// windows of it.
    pub fn alloc(&self, bytes: u64) -> Result<crate::GpuBuffer> {
        let limit = self.max_buffer_bytes();
        if bytes > limit {
            return Err(DeviceError::BufferTooLarge { bytes, limit, what: "buffer".into() });
        }
        let usage = crate::buffer::STORAGE_USAGE;
        let class = size_class(bytes, self.max_binding_bytes());
        let taken = {
            let mut pool = lock(&self.inner.pool);
            pool.lend(class);
            pool.take(class, usage)
        };
        let buf = match taken {
            Some(b) => b,
            None => {
                self.release_dropped()?;
                lock(&self.inner.pool).created += 1;
                self.inner.device.create_buffer(&wgpu::BufferDescriptor {
                    label: None,
                    size: class,
                    usage,
                    mapped_at_creation: false,
                })
            }
        };
        self.check()?;
        Ok(crate::GpuBuffer::new(self.clone(), buf, class, bytes, usage))
    }

    /// Lets wgpu free the buffers the pool let go (past its idle cap) once their bytes pass
    /// [`DROPPED_FLUSH_BYTES`]: they stay allocated until the work recorded with them has run,
    /// so without this a large model's step holds every buffer it ever freed until its one
    /// submit. Submits the recorded work and (natively) waits for it, then wgpu frees them.
    fn release_dropped(&self) -> Result<()> {
        let mut pool = lock(&self.inner.pool);
        if pool.dropped_bytes < DROPPED_FLUSH_BYTES {
            return Ok(());
        }
        pool.dropped_bytes = 0;
        drop(pool);
        #[cfg(not(target_arch = "wasm32"))]
        return self.synchronize();
        #[cfg(target_arch = "wasm32")]
        self.flush()
    }

    /// Allocates a buffer and fills it with `data` (the write lands before the next submit).
    pub fn upload(&self, data: &[u8]) -> Result<crate::GpuBuffer> {
        let buf = self.alloc(data.len() as u64)?;
        self.write(&buf, data)?;
        Ok(buf)
    }

    /// Writes `data` at the start of `buf`, ordered after all work recorded so far: the bytes
    /// go into a new mapped staging buffer whose copy is recorded into the open encoder, so
    /// uploads need no extra submit.
    pub fn write(&self, buf: &crate::GpuBuffer, data: &[u8]) -> Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        let size = (data.len() as u64).div_ceil(4) * 4;
        let staging = self.inner.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("tessera upload"),
            size,
            usage: wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: true,
        });
        {
            let mut view = staging.slice(..).get_mapped_range_mut().map_err(|e| DeviceError::Map(e.to_string()))?;
            view.slice(..data.len()).copy_from_slice(data);
        }
        staging.unmap();
        let mut rec = lock(&self.inner.rec);
        rec.copy_into(&self.inner.device, &staging, buf.raw(), size);
        drop(rec);
        self.check()
    }
}

/// Bytes of buffers the pool let go, still held by recorded work, that make the next new
/// allocation submit and wait first ([`Gpu::release_dropped`]).
const DROPPED_FLUSH_BYTES: u64 = 1 << 30;

/// The optional features a device asks for when its adapter offers them: the pipeline cache,
/// and natively subgroup operations (a browser would also need `enable subgroups;` in every
/// shader that uses them, which Tessera's shaders do not write).
fn requested_features() -> wgpu::Features {
    let subgroup = if cfg!(target_arch = "wasm32") { wgpu::Features::empty() } else { wgpu::Features::SUBGROUP };
    wgpu::Features::PIPELINE_CACHE | subgroup
}

/// The adapter's limits with the storage-binding limit lowered to `max_binding` (if given).
fn lowered(mut limits: wgpu::Limits, max_binding: Option<u64>) -> wgpu::Limits {
    if let Some(b) = max_binding {
        let b = b.max(4096);
        limits.max_storage_buffer_binding_size = limits.max_storage_buffer_binding_size.min(b);
    }
    limits
}

/// Wall time since `start` (always zero in the browser, which has no monotonic clock in std).
struct Timer(#[cfg(not(target_arch = "wasm32"))] std::time::Instant);

impl Timer {
    fn start() -> Self {
        Self(
            #[cfg(not(target_arch = "wasm32"))]
            std::time::Instant::now(),
        )
    }

    fn seconds(&self) -> f64 {
        #[cfg(not(target_arch = "wasm32"))]
        return self.0.elapsed().as_secs_f64();
        #[cfg(target_arch = "wasm32")]
        0.0
    }
}

/// Locks a mutex, recovering from poisoning (a panicked holder leaves plain data behind).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
