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

    /// A view of the whole buffer (the requested bytes), for binding to a kernel.
    pub fn whole(&self) -> View<'_> {
        View { buf: self, offset: 0, len: self.len, via: Via::Storage }
    }

    /// A view of `len` bytes from byte `offset` (clamped to the requested bytes), for binding
    /// part of a buffer larger than a storage binding may be. The offset must be a multiple of
    /// [`Gpu::binding_alignment`]; the dispatch checks it.
    pub fn window(&self, offset: u64, len: u64) -> View<'_> {
        let offset = offset.min(self.len);
        View { buf: self, offset, len: len.min(self.len - offset), via: Via::Storage }
    }
}

/// A window of a [`GpuBuffer`] that a dispatch binds (`Gpu::dispatch_views`).
#[derive(Clone, Copy, Debug)]
pub struct View<'a> {
    buf: &'a GpuBuffer,
    offset: u64,
    len: u64,
    via: Via,
}

/// How a dispatch binds a [`View`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Via {
    /// As a storage buffer (the window itself).
    Storage,
    /// Copied into a pooled texture ([`View::texels`]).
    Texels,
    /// Copied into a pooled uniform buffer ([`View::uniform`]).
    Uniform,
}

impl<'a> View<'a> {
    /// The window bound as an rgba32float texture instead of a storage buffer: the dispatch
    /// copies its bytes into a pooled texture, [`crate::TEXEL_ROW`] texels a row, which the
    /// kernel reads with `textureLoad` (see the `texels` module). At most
    /// [`crate::Gpu::max_texel_bytes`].
    pub fn texels(self) -> Self {
        Self { via: Via::Texels, ..self }
    }

    /// The window bound as a uniform buffer instead of a storage buffer: the dispatch copies its
    /// bytes into a pooled uniform buffer of [`crate::UNIFORM_VIEW_BYTES`], which the kernel
    /// reads as `array<vec4<f32>, 4096>` (see the `uniforms` module). At most
    /// [`crate::Gpu::max_uniform_view_bytes`].
    pub fn uniform(self) -> Self {
        Self { via: Via::Uniform, ..self }
    }

    /// Whether the dispatch binds this window as a texture ([`View::texels`]).
    pub fn is_texels(&self) -> bool {
        self.via == Via::Texels
    }

    /// Whether the dispatch binds this window as a uniform buffer ([`View::uniform`]).
    pub fn is_uniform(&self) -> bool {
        self.via == Via::Uniform
    }

    /// Whether the dispatch binds the window itself as a storage buffer.
    pub fn is_storage(&self) -> bool {
        self.via == Via::Storage
    }

    /// The buffer, byte offset and bytes of the window.
    pub(crate) fn parts(&self) -> (&'a wgpu::Buffer, u64, u64) {
        (self.buf.raw(), self.offset, self.len)
    }

    /// Bytes the window covers.
    pub fn bytes(&self) -> u64 {
        self.len
    }

    /// Byte offset of the window in its buffer.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The binding: the window's bytes rounded up to 4, at least 16 (one `vec4<f32>`, the
    /// largest element a shader's array may have, so an empty or one-float tensor can be bound
    /// to a vec4 view; buffers are at least 256 bytes, so the bytes exist).
    pub(crate) fn resource(&self) -> wgpu::BindingResource<'_> {
        let size = self.len.max(16).div_ceil(4) * 4;
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: self.buf.raw(),
            offset: self.offset,
            size: wgpu::BufferSize::new(size.min(self.buf.class - self.offset)),
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
