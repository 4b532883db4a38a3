//! `Device`: where a tensor lives — the CPU reference or a GPU.

use tessera_device::{Gpu, GpuOptions};

use crate::Result;

/// Where tensors live and ops run.
#[derive(Clone)]
pub enum Device {
    /// The CPU reference backend: plain loops, the ground truth for every GPU kernel.
    Cpu,
    /// A WebGPU device.
    Gpu(Gpu),
}

impl Device {
    /// Opens the best GPU adapter (honours `TESSERA_BACKEND` / `TESSERA_ADAPTER`; native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn gpu() -> Result<Self> {
        Ok(Device::Gpu(Gpu::new()?))
    }

    /// Opens a GPU adapter chosen by `opts` (async; works in the browser).
    pub async fn gpu_async(opts: &GpuOptions) -> Result<Self> {
        Ok(Device::Gpu(Gpu::new_async(opts).await?))
    }

    /// The GPU if one opens, else the CPU backend (and the reason the GPU did not open).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn best() -> (Self, Option<crate::Error>) {
        match Self::gpu() {
            Ok(d) => (d, None),
            Err(e) => (Device::Cpu, Some(e)),
        }
    }

    /// True for the same CPU, or the same opened GPU.
    pub fn same(&self, other: &Device) -> bool {
        match (self, other) {
            (Device::Cpu, Device::Cpu) => true,
            (Device::Gpu(a), Device::Gpu(b)) => a.same_device(b),
            _ => false,
        }
    }

    /// The GPU handle, if this is a GPU device.
    pub fn as_gpu(&self) -> Option<&Gpu> {
        match self {
            Device::Gpu(g) => Some(g),
            Device::Cpu => None,
        }
    }

    /// Submits the GPU work recorded so far without waiting for it (no-op on the CPU).
    pub fn flush(&self) -> Result<()> {
        match self {
            Device::Gpu(g) => Ok(g.flush()?),
            Device::Cpu => Ok(()),
        }
    }

    /// Waits for all recorded GPU work to finish (no-op on the CPU; native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn synchronize(&self) -> Result<()> {
        match self {
            Device::Gpu(g) => Ok(g.synchronize()?),
            Device::Cpu => Ok(()),
        }
    }
}

impl std::fmt::Display for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Device::Cpu => write!(f, "cpu"),
            Device::Gpu(g) => write!(f, "gpu:{} ({:?})", g.info().name, g.info().backend),
        }
    }
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}
