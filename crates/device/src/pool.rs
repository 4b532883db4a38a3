//! Size-classed buffer pool: freed storage and staging buffers are kept and reused.

use std::collections::HashMap;

/// Smallest buffer handed out, in bytes.
const MIN_CLASS: u64 = 256;
/// Bytes the pool may hold idle before it lets freed buffers go.
const MAX_IDLE_BYTES: u64 = 1 << 30;

/// Requests up to this size get power-of-two classes; larger ones eight classes per octave.
const POW2_MAX: u64 = 1 << 20;

/// Rounds a request up to its size class: a power of two up to 1 MiB, above that a multiple
/// of an eighth of the next power of two (at most 12.5% slack instead of up to 100%, which
/// matters for large weights and their optimizer slots); past `max`, 256-aligned.
pub(crate) fn size_class(bytes: u64, max: u64) -> u64 {
    let b = bytes.max(MIN_CLASS);
    let p = b.next_power_of_two();
    let class = if b <= POW2_MAX { p } else { b.div_ceil(p / 8) * (p / 8) };
    if class <= max {
        class
    } else {
        b.div_ceil(MIN_CLASS) * MIN_CLASS
    }
}

/// Idle buffers by (size class, usage) key.
#[derive(Default)]
pub(crate) struct Pool {
    free: HashMap<(u64, u32), Vec<wgpu::Buffer>>,
    idle_bytes: u64,
    /// Buffers created since start (a statistic for tests and benches).
    pub(crate) created: u64,
    /// Buffers served from the pool (a statistic for tests and benches).
    pub(crate) reused: u64,
    /// Bytes (by size class) of the buffers handed out and not yet returned.
    pub(crate) live_bytes: u64,
    /// High-water mark of `live_bytes` since the last [`Pool::reset_peak`].
    pub(crate) peak_bytes: u64,
    /// Bytes of buffers let go (past the idle cap) since the last release (`Gpu::alloc`).
    pub(crate) dropped_bytes: u64,
}

impl Pool {
    /// Takes an idle buffer of this class and usage, if one is kept.
    pub(crate) fn take(&mut self, class: u64, usage: wgpu::BufferUsages) -> Option<wgpu::Buffer> {
        let b = self.free.get_mut(&(class, usage.bits()))?.pop()?;
        self.idle_bytes -= class;
        self.reused += 1;
        Some(b)
    }

    /// Counts `class` bytes as handed out (taken from the pool or newly created).
    pub(crate) fn lend(&mut self, class: u64) {
        self.live_bytes += class;
        self.peak_bytes = self.peak_bytes.max(self.live_bytes);
    }

    /// Restarts the high-water mark at the bytes live now.
    pub(crate) fn reset_peak(&mut self) {
        self.peak_bytes = self.live_bytes;
    }

    /// Returns a buffer to the pool (or drops it when the pool is full).
    pub(crate) fn give(&mut self, class: u64, usage: wgpu::BufferUsages, buf: wgpu::Buffer) {
        self.live_bytes = self.live_bytes.saturating_sub(class);
        if self.idle_bytes + class > MAX_IDLE_BYTES {
            self.dropped_bytes += class;
            return;
        }
        self.idle_bytes += class;
        self.free.entry((class, usage.bits())).or_default().push(buf);
    }

    /// Drops every idle buffer.
    pub(crate) fn clear(&mut self) {
        self.free.clear();
        self.idle_bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::{size_class, Pool};

    #[test]
    fn the_peak_is_the_most_bytes_lent_at_once() {
        let mut p = Pool::default();
        p.lend(256);
        p.lend(1024);
        p.live_bytes -= 1024; // as `give` does for a returned buffer
        p.lend(512);
        assert_eq!((p.live_bytes, p.peak_bytes), (768, 1280));
        p.reset_peak();
        assert_eq!(p.peak_bytes, 768);
    }

    #[test]
    fn classes_are_powers_of_two_above_the_minimum() {
        assert_eq!(size_class(1, 1 << 30), 256);
        assert_eq!(size_class(257, 1 << 30), 512);
        assert_eq!(size_class(4096, 1 << 30), 4096);
        assert_eq!(size_class(5000, 1 << 30), 8192);
    }

    #[test]
    fn large_classes_are_eighths_of_an_octave() {
        let mib = 1u64 << 20;
        assert_eq!(size_class(mib, 1 << 30), mib);
        assert_eq!(size_class(mib + 1, 1 << 30), mib + mib / 4, "next octave is 2 MiB, step 256 KiB");
        assert_eq!(size_class(9 * mib + 4, 1 << 30), 10 * mib);
        assert_eq!(size_class(16 * mib, 1 << 30), 16 * mib);
        assert_eq!(size_class(16 * mib + 1, 1 << 30), 20 * mib, "next octave is 32 MiB, step 4 MiB");
    }

    #[test]
    fn classes_past_the_cap_are_256_aligned() {
        assert_eq!(size_class(3000, 2048), 3072);
    }
}
