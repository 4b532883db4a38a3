//! `GpuBuffer`: a pooled storage buffer that returns to the pool when dropped.

use crate::gpu::lock;
use crate::Gpu;

/// Usage of every storage buffer Tessera allocates.
pub(crate) const STORAGE_USAGE: wgpu::BufferUsages =
    wgpu::BufferUsages::STORAGE.union(wgpu::BufferUsages::COPY_SRC).union(wgpu::BufferUsages::COPY_DST);

/// A storage buffer holding at least `len` bytes; goes back to its pool on drop.
pub struct GpuBuffer {
    gpu: Gpu,
    buf: Option<wgpu::Buffer>,
    class: u64,
    len: u64,
    usage: wgpu::BufferUsages,
}

impl GpuBuffer {
    pub(crate) fn new(gpu: Gpu, buf: wgpu::Buffer, class: u64, len: u64, usage: wgpu::BufferUsages) -> Self {
        Self { gpu, buf: Some(buf), class, len, usage }
    }

    /// Bytes requested for this buffer (the real buffer may be larger).
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when no bytes were requested.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The device this buffer lives on.
    pub fn gpu(&self) -> &Gpu {
        &self.gpu
    }

    /// The raw wgpu buffer.
    pub fn raw(&self) -> &wgpu::Buffer {
        self.buf.as_ref().expect("buffer present until drop")
    }

    /// A binding covering the requested bytes (rounded up to 4, at least 16: one `vec4<f32>`,
    /// the largest element a shader's array may have, so an empty or one-float tensor can be
    /// bound to a vec4 view; buffers are at least 256 bytes, so the bytes exist).
    pub(crate) fn binding(&self) -> wgpu::BindingResource<'_> {
        let size = self.len.max(16).div_ceil(4) * 4;
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: self.raw(),
            offset: 0,
            size: wgpu::BufferSize::new(size.min(self.class)),
        })
    }
}

impl Drop for GpuBuffer {
    fn drop(&mut self) {
        if let Some(b) = self.buf.take() {
            lock(&self.gpu.inner.pool).give(self.class, self.usage, b);
        }
    }
}

impl std::fmt::Debug for GpuBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GpuBuffer({} bytes)", self.len)
    }
}
