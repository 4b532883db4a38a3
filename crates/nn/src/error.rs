//! The error every fallible Tessera op returns.

use tessera_device::DeviceError;
use tessera_kernels::KernelError;

/// An error from a tensor op: bad shapes or options (the message names them), mismatched
/// devices, or a device failure.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// Shapes or options the op cannot accept.
    #[error("{op}: {msg}")]
    Shape {
        /// The op's name.
        op: &'static str,
        /// What is wrong, naming the shapes.
        msg: String,
    },
    /// Operands live on different devices.
    #[error("{op}: operands are on different devices ({a} and {b}); move them with to_device")]
    DeviceMismatch {
        /// The op's name.
        op: &'static str,
        /// First device.
        a: String,
        /// Second device.
        b: String,
    },
    /// A file could not be read or written, or its contents are invalid.
    #[error("{path}: {msg}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        msg: String,
    },
    /// The GPU failed.
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// A collective across data-parallel replicas failed (a rank died, timed out or erred).
    #[error("{0}")]
    Collective(String),
}

/// Result alias for tensor ops.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<KernelError> for Error {
    fn from(e: KernelError) -> Self {
        match e {
            KernelError::Shape { op, msg } => Error::Shape { op, msg },
            KernelError::Device(d) => Error::Device(d),
        }
    }
}

/// Builds an [`Error::Shape`].
pub fn shape_err(op: &'static str, msg: impl Into<String>) -> Error {
    Error::Shape { op, msg: msg.into() }
}
