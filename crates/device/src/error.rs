//! Typed errors for everything that can go wrong talking to a GPU.

/// An error raised by the device layer; every wgpu failure maps to one of these.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DeviceError {
    /// No adapter matched the request (none installed, or the filter excluded all).
    #[error("no GPU adapter found ({0})")]
    NoAdapter(String),
    /// The adapter refused to create a device.
    #[error("could not open a device on adapter '{adapter}': {reason}")]
    RequestDevice {
        /// Adapter name.
        adapter: String,
        /// What wgpu said.
        reason: String,
    },
    /// A buffer would exceed what one binding or one buffer may hold on this adapter.
    #[error("buffer of {bytes} bytes exceeds this adapter's limit of {limit} bytes per {what}")]
    BufferTooLarge {
        /// Requested size in bytes.
        bytes: u64,
        /// The adapter's limit in bytes.
        limit: u64,
        /// Which limit: "buffer", or "storage binding of <kernel>".
        what: String,
    },
    /// A dispatch needs more workgroups than the adapter allows.
    #[error("{kernel}: dispatch of {groups:?} workgroups exceeds this adapter's limit of {limit} per dimension")]
    TooManyWorkgroups {
        /// The kernel (`file.wgsl:entry:constants`), which names the op.
        kernel: String,
        /// Requested workgroup counts.
        groups: [u32; 3],
        /// The adapter's per-dimension limit.
        limit: u32,
    },
    /// wgpu reported a validation error (a bug in Tessera if it ever happens).
    #[error("GPU validation error: {0}")]
    Validation(String),
    /// The GPU ran out of memory.
    #[error("GPU out of memory: {0}")]
    OutOfMemory(String),
    /// An internal driver error.
    #[error("GPU internal error: {0}")]
    Internal(String),
    /// The device was lost (driver reset, removal, or destroyed).
    #[error("GPU device lost: {0}")]
    Lost(String),
    /// Mapping a buffer for readback failed.
    #[error("reading back from the GPU failed: {0}")]
    Map(String),
}

/// Result alias for the device layer.
pub type Result<T, E = DeviceError> = std::result::Result<T, E>;

impl From<wgpu::Error> for DeviceError {
    fn from(e: wgpu::Error) -> Self {
        match e {
            wgpu::Error::OutOfMemory { source } => DeviceError::OutOfMemory(source.to_string()),
            wgpu::Error::Validation { description, .. } => DeviceError::Validation(description),
            wgpu::Error::Internal { description, .. } => DeviceError::Internal(description),
        }
    }
}
