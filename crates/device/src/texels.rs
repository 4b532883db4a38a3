//! Buffer windows bound as textures ("texel views", [`crate::View::texels`]): before the
//! dispatch the window's bytes are copied into a pooled rgba32float texture, [`TEXEL_ROW`]
//! texels a row, and the kernel reads texel `t` at `(t % TEXEL_ROW, t / TEXEL_ROW)` with
//! `textureLoad`. On lavapipe a texel fetch costs the same whatever the host's vector ISA,
//! while a storage load costs 3-5 times more with AVX2 code than with AVX-512 code
//! (`tessera bench loads`), so kernels offer texel twins and the autotuner times them.

use std::collections::HashMap;

/// Texels per row of a texel view's texture (shaders index `t & 1023u`, `t >> 10u`).
pub const TEXEL_ROW: u32 = 1024;

/// Bytes in one texture row: TEXEL_ROW rgba32float texels (a multiple of 256, as copies need).
const ROW_BYTES: u64 = TEXEL_ROW as u64 * 16;

/// A texture of some power-of-two row count and its view.
pub(crate) struct Texels {
    pub(crate) texture: wgpu::Texture,
    pub(crate) view: wgpu::TextureView,
    rows: u32,
}

/// Idle texel-view textures by row count. A dispatch takes one per texel view and gives it
/// back once its bind group is made: the queue orders a later copy into the texture after the
/// dispatches recorded before it, so the next dispatch may refill it.
#[derive(Default)]
pub(crate) struct TexelPool {
    free: HashMap<u32, Vec<Texels>>,
}

impl TexelPool {
    /// Records the copy of `bytes` bytes from `offset` of `buf` into an idle texture (created
    /// when none fits) and returns it; `bytes` must fit [`max_texel_bytes`].
    pub(crate) fn fill(
        &mut self,
        dev: &wgpu::Device,
        enc: &mut wgpu::CommandEncoder,
        (buf, offset, bytes): (&wgpu::Buffer, u64, u64),
    ) -> Texels {
        let texels = bytes.div_ceil(16).max(1);
        let rows = (texels.div_ceil(TEXEL_ROW as u64) as u32).next_power_of_two();
        let t = self.free.get_mut(&rows).and_then(Vec::pop).unwrap_or_else(|| create(dev, rows));
        let full = texels / TEXEL_ROW as u64;
        let copy = |enc: &mut wgpu::CommandEncoder, row: u64, width: u64, height: u64| {
            let layout = wgpu::TexelCopyBufferLayout {
                offset: offset + row * ROW_BYTES,
                bytes_per_row: Some(ROW_BYTES as u32),
                rows_per_image: None,
            };
            let origin = wgpu::Origin3d { x: 0, y: row as u32, z: 0 };
            enc.copy_buffer_to_texture(
                wgpu::TexelCopyBufferInfo { buffer: buf, layout },
                wgpu::TexelCopyTextureInfo {
                    texture: &t.texture,
                    mip_level: 0,
                    origin,
                    aspect: wgpu::TextureAspect::All,
                },
                wgpu::Extent3d { width: width as u32, height: height as u32, depth_or_array_layers: 1 },
            );
        };
        if full > 0 {
            copy(enc, 0, TEXEL_ROW as u64, full);
        }
        if texels % TEXEL_ROW as u64 > 0 {
            copy(enc, full, texels % TEXEL_ROW as u64, 1);
        }
        t
    }

    /// Takes `t` back for later dispatches.
    pub(crate) fn give(&mut self, t: Texels) {
        self.free.entry(t.rows).or_default().push(t);
    }

    /// Drops every idle texture.
    pub(crate) fn clear(&mut self) {
        self.free.clear();
    }
}

/// The largest window a texel view can hold on a device with these limits.
pub(crate) fn max_texel_bytes(limits: &wgpu::Limits) -> u64 {
    // Row counts are rounded up to a power of two.
    let rows = 1u64 << (63 - (limits.max_texture_dimension_2d.max(1) as u64).leading_zeros());
    rows * ROW_BYTES
}

/// A texture of `rows` rows of [`TEXEL_ROW`] rgba32float texels, and its view.
pub(crate) fn create(dev: &wgpu::Device, rows: u32) -> Texels {
    let texture = dev.create_texture(&wgpu::TextureDescriptor {
        label: Some("tessera texels"),
        size: wgpu::Extent3d { width: TEXEL_ROW, height: rows, depth_or_array_layers: 1 },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: wgpu::TextureFormat::Rgba32Float,
        usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
        view_formats: &[],
    });
    let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
    Texels { texture, view, rows }
}
