//! A deterministic, learnable toy dataset for tests and examples, needing no files.
//!
//! Each image shows its class as a diagonal stripe pattern: pixels where
//! `(x + 2·y + c) % num_classes == label` are bright (≈0.8–0.9), the rest dark noise (0–0.1).

use crate::dataset::Dataset;
use crate::error::Result;
use crate::rng::SplitMix64;

/// The most pixel values a synthetic dataset may hold (2²⁸, 1 GiB of f32).
pub const MAX_SYNTHETIC: usize = 1 << 28;

/// `n` examples of `image_shape` (`[height, width, channels]`) over `num_classes` classes, fully
/// determined by `seed`; pixel values lie in `[0, 0.9)`. More than [`MAX_SYNTHETIC`] values (or
/// sizes whose product overflows) is a [`crate::DataError::InvalidArgument`].
pub fn synthetic(n: usize, image_shape: [usize; 3], num_classes: usize, seed: u64) -> Result<Dataset> {
    let [h, w, c] = image_shape;
    // Checked before allocating: the sizes are the caller's.
    let total = [n, h, w, c].iter().try_fold(1usize, |a, &d| a.checked_mul(d)).filter(|&t| t <= MAX_SYNTHETIC);
    let Some(total) = total else {
        let msg = format!("synthetic: {n} images of {image_shape:?} pass {MAX_SYNTHETIC} values");
        return Err(crate::DataError::InvalidArgument(msg));
    };
    let mut rng = SplitMix64::new(seed);
    let classes = num_classes.max(1) as u64;
    let mut images = Vec::with_capacity(total);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let label = rng.below(classes) as usize;
        for y in 0..h {
            for x in 0..w {
                for ch in 0..c {
                    let on = (x + 2 * y + ch) % num_classes.max(1) == label;
                    images.push(if on { 0.8 } else { 0.0 } + 0.1 * rng.next_f32());
                }
            }
        }
        labels.push(label as u8);
    }
    Dataset::new(images, labels, image_shape, num_classes)
}
