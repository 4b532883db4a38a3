//! Adapter selection: which backend and which physical (or software) GPU to use.

use crate::{DeviceError, Result};

/// How to choose the adapter. `Default` reads `TESSERA_BACKEND` and `TESSERA_ADAPTER`.
#[derive(Debug, Clone, Default)]
pub struct GpuOptions {
    /// Backends to consider; `None` means Vulkan first, then any other native backend.
    pub backends: Option<wgpu::Backends>,
    /// Case-insensitive substring the adapter's name must contain.
    pub adapter_name: Option<String>,
    /// Position among the matching adapters in ranked order, wrapping around their count
    /// (a data-parallel rank `r` asks for `r` to get adapter `r % adapters`); `None`: the best.
    pub adapter_index: Option<usize>,
    /// A storage-binding limit below the adapter's, in bytes (`TESSERA_MAX_BINDING_BYTES`):
    /// shows on a large adapter how kernels split tensors that pass a smaller one's limit.
    pub max_binding_bytes: Option<u64>,
}

impl GpuOptions {
    /// Options from the environment: `TESSERA_BACKEND` (vulkan, metal, dx12, gl, webgpu, all)
    /// `TESSERA_ADAPTER` (a substring of the adapter name) and `TESSERA_MAX_BINDING_BYTES`.
    pub fn from_env() -> Result<Self> {
        let backends = match std::env::var("TESSERA_BACKEND") {
            Ok(s) if !s.is_empty() => Some(parse_backends(&s)?),
            _ => None,
        };
        let adapter_name = std::env::var("TESSERA_ADAPTER").ok().filter(|s| !s.is_empty());
        let max_binding_bytes = match std::env::var("TESSERA_MAX_BINDING_BYTES") {
            Ok(s) if !s.is_empty() => Some(s.trim().parse::<u64>().map_err(|_| {
                DeviceError::NoAdapter(format!("TESSERA_MAX_BINDING_BYTES must be a byte count, got '{s}'"))
            })?),
            _ => None,
        };
        Ok(Self { backends, adapter_name, adapter_index: None, max_binding_bytes })
    }
}

/// Parses a backend list such as `vulkan` or `vulkan,gl`.
pub fn parse_backends(s: &str) -> Result<wgpu::Backends> {
    let mut out = wgpu::Backends::empty();
    for part in s.split(',').map(|p| p.trim().to_ascii_lowercase()) {
        out |= match part.as_str() {
            "vulkan" | "vk" => wgpu::Backends::VULKAN,
            "metal" => wgpu::Backends::METAL,
            "dx12" | "d3d12" => wgpu::Backends::DX12,
            "gl" | "gles" | "opengl" => wgpu::Backends::GL,
            "webgpu" | "browser" => wgpu::Backends::BROWSER_WEBGPU,
            "all" | "any" => wgpu::Backends::all(),
            other => {
                return Err(DeviceError::NoAdapter(format!(
                    "unknown backend '{other}' in TESSERA_BACKEND (use vulkan, metal, dx12, gl, webgpu or all)"
                )))
            }
        };
    }
    Ok(out)
}

/// Ranks an adapter: preferred backend first, then discrete over integrated over software.
fn rank(info: &wgpu::AdapterInfo) -> (u8, u8) {
    let backend = match info.backend {
        wgpu::Backend::Vulkan | wgpu::Backend::Metal | wgpu::Backend::Dx12 => 0,
        wgpu::Backend::BrowserWebGpu => 0,
        _ => 1,
    };
    let kind = match info.device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    };
    (backend, kind)
}

/// Picks the best adapter among `candidates` that satisfies `opts`.
pub(crate) fn choose(candidates: Vec<wgpu::Adapter>, opts: &GpuOptions) -> Result<wgpu::Adapter> {
    let seen: Vec<String> = candidates.iter().map(|a| a.get_info().name).collect();
    let wanted = opts.adapter_name.as_ref().map(|s| s.to_ascii_lowercase());
    let mut matching: Vec<wgpu::Adapter> = candidates
        .into_iter()
        .filter(|a| match &wanted {
            Some(w) => a.get_info().name.to_ascii_lowercase().contains(w),
            None => true,
        })
        .collect();
    matching.sort_by_key(|a| rank(&a.get_info()));
    let n = matching.len().max(1);
    matching.into_iter().nth(opts.adapter_index.unwrap_or(0) % n).ok_or_else(|| {
        let why = match (&opts.adapter_name, opts.backends) {
            (Some(n), _) => format!("no adapter name contains '{n}'; found {seen:?}"),
            (None, Some(b)) => format!("no adapter for the requested backends {b:?} (TESSERA_BACKEND)"),
            (None, None) => {
                "no Vulkan, Metal, DX12 or GL adapter is installed (on Debian: apt-get install mesa-vulkan-drivers)"
                    .to_string()
            }
        };
        DeviceError::NoAdapter(why)
    })
}

/// All adapters for the requested backends (native).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) async fn candidates(instance: &wgpu::Instance, opts: &GpuOptions) -> Vec<wgpu::Adapter> {
    let backends = opts.backends.unwrap_or(wgpu::Backends::all());
    instance.enumerate_adapters(backends).await
}

/// The browser's adapter (wasm: the browser offers one).
#[cfg(target_arch = "wasm32")]
pub(crate) async fn candidates(instance: &wgpu::Instance, _opts: &GpuOptions) -> Vec<wgpu::Adapter> {
    let req = wgpu::RequestAdapterOptions {
        power_preference: wgpu::PowerPreference::HighPerformance,
        force_fallback_adapter: false,
        compatible_surface: None,
        apply_limit_buckets: false,
    };
    instance.request_adapter(&req).await.into_iter().collect()
}
