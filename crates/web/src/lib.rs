//! Tessera in the browser: the digit-drawing demo's engine (LeNet-5 classifying a drawing,
//! a small trainer, a CPU-versus-GPU parity report) and MNIST-style preprocessing, plus the
//! `wasm-bindgen` exports the page's JavaScript calls (wasm32 only). The engine and the
//! preprocessing are target-agnostic, so native tests exercise the same code the page runs.

pub mod engine;
pub mod preprocess;

#[cfg(target_arch = "wasm32")]
mod bindings;
