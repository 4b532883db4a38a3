//! Tessera: train convolutional networks on any GPU through WebGPU (wgpu + WGSL), with
//! TensorFlow's conventions (NHWC, `[kh, kw, cin, cout]` filters, the same shapes and numbers)
//! and a CPU reference path that checks every GPU kernel.
//!
//! ```no_run
//! use tessera::prelude::*;
//! let dev = Device::gpu().unwrap_or(Device::Cpu);
//! let x = Tensor::randn(&[1, 28, 28, 1], 0.0, 1.0, 0, &dev)?;
//! let w = Tensor::randn(&[3, 3, 1, 6], 0.0, 0.1, 1, &dev)?;
//! let y = conv2d(&x, &w, &Conv2dOptions::default().padding(Padding::Same))?;
//! assert_eq!(y.shape(), &[1, 28, 28, 6]);
//! # Ok::<(), tessera::Error>(())
//! ```

pub use tessera_device as device;
pub use tessera_kernels as kernels;
pub use tessera_nn as nn;
pub use tessera_nn::{checkpoint, functional, initializers, layers, models, optimizers, training};
pub use tessera_nn::{Device, Error, Result, Tensor};

#[cfg(not(target_arch = "wasm32"))]
pub mod bench;
#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
#[cfg(not(target_arch = "wasm32"))]
pub mod distributed;
#[cfg(not(target_arch = "wasm32"))]
pub mod inspect;
#[cfg(not(target_arch = "wasm32"))]
pub mod predict;
#[cfg(not(target_arch = "wasm32"))]
pub mod train;
pub mod viz;
pub mod zoo;

/// Everything a model script needs: `use tessera::prelude::*;`.
pub mod prelude {
    pub use tessera_nn::functional::{input, input_named, Apply, LayerRef, Model, SymbolicTensor};
    pub use tessera_nn::layers::{self, Layer, LayerExt};
    pub use tessera_nn::models::Sequential;
    pub use tessera_nn::ops::*;
    pub use tessera_nn::optimizers::schedules::{CosineDecay, ExponentialDecay, PiecewiseConstantDecay};
    pub use tessera_nn::optimizers::{Adam, AdamW, Optimizer, RmsProp, Sgd};
    pub use tessera_nn::training::{
        Batches, Callback, Compile, Compiled, EarlyStopping, FitOptions, History, LearningRateScheduler, Logs, Loss,
        Metric, Mode, ReduceLROnPlateau, TensorBatches,
    };
    #[cfg(not(target_arch = "wasm32"))]
    pub use tessera_nn::training::{CsvLogger, ModelCheckpoint};
    pub use tessera_nn::{no_grad, Activation, Device, Error, Gradients, Padding, Result, Tensor};
}

/// The examples in `docs/training.md` compile and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/training.md")]
pub struct TrainingDocs;

/// The examples in `docs/ops.md` compile and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/ops.md")]
pub struct OpsDocs;

/// The examples in `docs/visualisation.md` compile and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/visualisation.md")]
pub struct VisualisationDocs;

/// The examples in `README.md` compile and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDocs;
