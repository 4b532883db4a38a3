//! Tessera's kernels: one typed launcher per WGSL kernel family (`shaders/<family>.wgsl` ↔
//! `src/<family>.rs`). A launcher checks shapes, packs the uniform parameters, picks the
//! kernel variant for the adapter and records the dispatch. It knows nothing of autodiff.

pub mod autotune;
pub mod batch_norm;
pub mod bias_grad;
pub mod concat;
pub mod conv2d;
pub mod conv2d_transpose;
pub mod dense_grad;
pub mod dense_xent;
pub mod depthwise_conv2d;
pub mod elementwise;
mod error;
pub mod geometry;
pub mod group_norm;
pub mod launch;
pub mod losses;
pub mod matmul;
pub mod optimizer;
pub mod pad;
pub mod pool;
pub mod reduce;
pub mod resize;
pub mod softmax;
pub mod split;
pub mod transpose;

pub use error::{shape_err, KernelError, Result};
pub use geometry::{
    checked_numel, Conv2dGeometry, Conv2dTransposeGeometry, DepthwiseGeometry, Padding, Window2d, MAX_ELEMENTS,
};
pub use tessera_device as device;

/// An activation fused into a kernel's epilogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Activation {
    /// Identity.
    #[default]
    None,
    /// max(x, 0)
    Relu,
    /// 1 / (1 + e^-x)
    Sigmoid,
    /// tanh(x)
    Tanh,
}

impl Activation {
    /// The code the shaders switch on.
    pub fn code(self) -> usize {
        self as usize
    }

    /// The elementwise op giving this activation's gradient from its output and the upstream
    /// gradient (`None` for the identity).
    pub fn grad_op(self) -> Option<elementwise::BinaryOp> {
        match self {
            Activation::None => None,
            Activation::Relu => Some(elementwise::BinaryOp::ReluGrad),
            Activation::Sigmoid => Some(elementwise::BinaryOp::SigmoidGrad),
            Activation::Tanh => Some(elementwise::BinaryOp::TanhGrad),
        }
    }

    /// Applies the activation to a scalar (the CPU reference uses this too).
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Activation::None => x,
            Activation::Relu => elementwise::relu_nan(x),
            Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Activation::Tanh => x.tanh(),
        }
    }
}
