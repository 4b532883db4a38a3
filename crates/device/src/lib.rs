//! Tessera's device layer: opens a WebGPU adapter (Vulkan, Metal, DX12, GL or the browser's),
//! owns the buffer pool and pipeline cache, records dispatches into one open command encoder
//! and submits them in batches, and reads buffers back (async underneath, blocking on native).
//! Every wgpu failure surfaces as a [`DeviceError`]. It knows nothing of neural networks.

// Shared handles are Send + Sync on native; in the browser wgpu's handles are not Send and
// everything runs on the page's one thread, so `Arc` there is sound (clippy flags it).
#![cfg_attr(target_arch = "wasm32", allow(clippy::arc_with_non_send_sync))]

mod adapter;
pub mod autotune;
mod buffer;
mod error;
mod gpu;
mod pool;
#[cfg(not(target_arch = "wasm32"))]
pub mod probe;
mod readback;
mod texels;
mod uniforms;

pub use adapter::{parse_backends, GpuOptions};
pub use autotune::{TuneBudget, TuneCache, TuneMode};
pub use buffer::{GpuBuffer, View};
pub use error::{DeviceError, Result};
pub use gpu::{Gpu, GpuStats, Pipeline, PipelineKey, PARAMS_SLOT};
pub use readback::ReadFuture;
pub use texels::TEXEL_ROW;
pub use uniforms::UNIFORM_VIEW_BYTES;
pub use wgpu;
