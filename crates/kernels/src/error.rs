//! The kernels crate's error: a bad shape or option, or a device failure.

use tessera_device::DeviceError;

/// An error from a launcher: invalid shapes/options (message names the shapes) or the device.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KernelError {
    /// Shapes or options the op cannot accept.
    #[error("{op}: {msg}")]
    Shape {
        /// The op's name (`conv2d`, `max_pool2d`, ...).
        op: &'static str,
        /// What is wrong, naming the shapes.
        msg: String,
    },
    /// The device failed.
    #[error(transparent)]
    Device(#[from] DeviceError),
}

/// Result alias for launchers and geometry.
pub type Result<T, E = KernelError> = std::result::Result<T, E>;

/// Builds a [`KernelError::Shape`].
pub fn shape_err(op: &'static str, msg: impl Into<String>) -> KernelError {
    KernelError::Shape { op, msg: msg.into() }
}
