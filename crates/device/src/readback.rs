//! Reading buffers back to the host: async underneath, blocking on native.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use crate::gpu::lock;
use crate::{DeviceError, Gpu, GpuBuffer, Result};

type Slot = Arc<Mutex<(Option<std::result::Result<(), wgpu::BufferAsyncError>>, Option<Waker>)>>;

/// Resolves when a staging buffer is mapped; yields its bytes.
pub struct ReadFuture {
    gpu: Gpu,
    staging: Option<wgpu::Buffer>,
    bytes: u64,
    slot: Slot,
}

impl Gpu {
    /// Copies the first `bytes` of `buf` to the host without blocking the thread.
    pub fn read_async(&self, buf: &GpuBuffer, bytes: u64) -> ReadFuture {
        let size = bytes.max(4).div_ceil(4) * 4;
        let staging = self.inner.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("tessera readback"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let slot: Slot = Arc::default();
        let copied = self.copy_raw(buf.raw(), &staging, size).and_then(|_| self.flush());
        match copied {
            Ok(()) => {
                let s = slot.clone();
                staging.slice(..).map_async(wgpu::MapMode::Read, move |r| {
                    let mut g = lock(&s);
                    g.0 = Some(r);
                    if let Some(w) = g.1.take() {
                        w.wake();
                    }
                });
            }
            Err(_) => lock(&slot).0 = Some(Err(wgpu::BufferAsyncError)),
        }
        ReadFuture { gpu: self.clone(), staging: Some(staging), bytes, slot }
    }

    /// Copies the first `bytes` of `buf` to the host, blocking until done (native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn read(&self, buf: &GpuBuffer, bytes: u64) -> Result<Vec<u8>> {
        let fut = self.read_async(buf, bytes);
        self.inner.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| DeviceError::Lost(e.to_string()))?;
        pollster::block_on(fut)
    }

    fn copy_raw(&self, src: &wgpu::Buffer, dst: &wgpu::Buffer, size: u64) -> Result<()> {
        let mut rec = lock(&self.inner.rec);
        rec.copy_into(&self.inner.device, src, dst, size);
        drop(rec);
        self.check()
    }
}

impl Future for ReadFuture {
    type Output = Result<Vec<u8>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let state = lock(&self.slot).0.take();
        match state {
            None => {
                lock(&self.slot).1 = Some(cx.waker().clone());
                #[cfg(not(target_arch = "wasm32"))]
                {
                    // Native: drive wgpu's callbacks ourselves.
                    let _ = self.gpu.inner.device.poll(wgpu::PollType::Poll);
                    cx.waker().wake_by_ref();
                }
                Poll::Pending
            }
            Some(Err(e)) => {
                let err = self.gpu.check().err().unwrap_or(DeviceError::Map(e.to_string()));
                Poll::Ready(Err(err))
            }
            Some(Ok(())) => {
                let staging = self.staging.take().expect("polled after completion");
                let out = match staging.slice(..).get_mapped_range() {
                    Ok(view) => Ok(view[..self.bytes as usize].to_vec()),
                    Err(e) => Err(DeviceError::Map(e.to_string())),
                };
                staging.unmap();
                Poll::Ready(out)
            }
        }
    }
}
