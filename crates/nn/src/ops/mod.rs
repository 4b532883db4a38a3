//! Functional ops with `tf.nn` names and semantics. Each checks shapes (typed errors naming
//! them), then runs on the operands' device: the CPU reference in [`crate::cpu`] or a GPU
//! kernel launcher from `tessera-kernels`.

mod elementwise;
mod matmul;

pub use elementwise::*;
pub use matmul::*;
