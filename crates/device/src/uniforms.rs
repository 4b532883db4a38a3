//! Buffer windows bound as uniform buffers ("uniform views", [`crate::View::uniform`]): before
//! the dispatch the window's bytes are copied into a pooled uniform buffer of
//! [`UNIFORM_VIEW_BYTES`], which the kernel reads as `array<vec4<f32>, 4096>`. On lavapipe a
//! uniform load gathers across the lanes at about a third of a texel fetch's cost and a fifth
//! of an AVX2 storage load's (`tessera bench loads`), so the fast-read twins read their small
//! operands (a layer's weights) this way where the probe measured it cheaper.

/// Bytes of every uniform view's buffer (the shaders declare `array<vec4<f32>, 4096>`;
/// WebGPU's default `maxUniformBufferBindingSize`).
pub const UNIFORM_VIEW_BYTES: u64 = 65536;

/// Idle uniform-view buffers. A dispatch takes one per uniform view and gives it back once its
/// bind group is made: the queue orders a later copy into the buffer after the dispatches
/// recorded before it, so the next dispatch may refill it.
#[derive(Default)]
pub(crate) struct UniformPool {
    free: Vec<wgpu::Buffer>,
}

impl UniformPool {
    /// Records the copy of `bytes` bytes (at most [`UNIFORM_VIEW_BYTES`]) from `offset` of
    /// `buf` into an idle uniform buffer (created when none is idle) and returns it.
    pub(crate) fn fill(
        &mut self,
        dev: &wgpu::Device,
        enc: &mut wgpu::CommandEncoder,
        (buf, offset, bytes): (&wgpu::Buffer, u64, u64),
    ) -> wgpu::Buffer {
        let u = self.free.pop().unwrap_or_else(|| {
            dev.create_buffer(&wgpu::BufferDescriptor {
                label: Some("tessera uniform view"),
                size: UNIFORM_VIEW_BYTES,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        });
        let len = bytes.div_ceil(4) * 4;
        if len > 0 {
            enc.copy_buffer_to_buffer(buf, offset, &u, 0, len);
        }
        u
    }

    /// Takes `u` back for later dispatches.
    pub(crate) fn give(&mut self, u: wgpu::Buffer) {
        self.free.push(u);
    }

    /// Drops every idle buffer.
    pub(crate) fn clear(&mut self) {
        self.free.clear();
    }
}

/// The largest window a uniform view can hold on a device with these limits: all of
/// [`UNIFORM_VIEW_BYTES`], or 0 where the adapter binds less.
pub(crate) fn max_uniform_bytes(limits: &wgpu::Limits) -> u64 {
    if limits.max_uniform_buffer_binding_size >= UNIFORM_VIEW_BYTES {
        UNIFORM_VIEW_BYTES
    } else {
        0
    }
}
