//! Tessera's neural-network crate: the [`Tensor`] on a [`Device`], the CPU reference backend
//! ([`cpu`]) that every GPU kernel is checked against, `tf.nn`-style functional [`ops`],
//! Keras-style [`layers`], [`models`] and [`optimizers`], and Keras's [`training`] API.

// Shared handles are Send + Sync on native; in the browser wgpu's handles are not Send and
// everything runs on the page's one thread, so `Arc` there is sound (clippy flags it).
#![cfg_attr(target_arch = "wasm32", allow(clippy::arc_with_non_send_sync))]

pub mod autodiff;
pub mod checkpoint;
pub mod cpu;
mod device;
mod error;
pub mod functional;
pub mod initializers;
pub mod layers;
pub mod models;
pub mod ops;
pub mod optimizers;
pub mod random;
mod tensor;
pub mod training;

pub use autodiff::{no_grad, Gradients};
pub use device::Device;
pub use error::{shape_err, Error, Result};
pub use tensor::Tensor;
pub use tessera_device::{Gpu, GpuOptions};
pub use tessera_kernels::{Activation, Padding};
