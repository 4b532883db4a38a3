//! Functional ops with `tf.nn` names and semantics. Each checks shapes (typed errors naming
//! them), then runs on the operands' device: the CPU reference in [`crate::cpu`] or a GPU
//! kernel launcher from `tessera-kernels`.

mod batch_norm;
mod concat;
mod conv2d;
mod conv2d_transpose;
mod depthwise_conv2d;
mod elementwise;
mod group_norm;
mod losses;
mod matmul;
mod options;
mod pad;
mod pool;
mod reduce;
mod resize;
mod softmax;
mod transpose;

pub use batch_norm::*;
pub use concat::*;
pub use conv2d::*;
pub use conv2d_transpose::*;
pub use depthwise_conv2d::*;
pub use elementwise::*;
pub use group_norm::*;
pub use losses::*;
pub use matmul::*;
pub use options::*;
pub use pad::*;
pub use pool::*;
pub use reduce::*;
pub use resize::*;
pub use softmax::*;
pub use transpose::*;
