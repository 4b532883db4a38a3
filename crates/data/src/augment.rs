//! The usual CIFAR augmentation (He et al. 2016, Keras's CIFAR examples): zero-pad every image
//! by [`PAD`] pixels on each side, crop a random window of the original size, and flip it
//! horizontally with probability 1/2. Seeded, so a run is reproducible.

use crate::dataset::Batch;
use crate::rng::SplitMix64;

/// Padding on each side before the random crop.
pub const PAD: usize = 4;

/// Where to crop (offsets into the padded image, each in `0..=2 * pad`) and whether to flip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CropFlip {
    /// Row offset into the padded image.
    pub dy: usize,
    /// Column offset into the padded image.
    pub dx: usize,
    /// Mirror left ↔ right after cropping.
    pub flip: bool,
}

impl CropFlip {
    /// A random crop offset and flip for `pad`.
    pub fn random(pad: usize, rng: &mut SplitMix64) -> Self {
        let span = 2 * pad as u64 + 1;
        let dy = rng.below(span) as usize;
        let dx = rng.below(span) as usize;
        Self { dy, dx, flip: rng.below(2) == 1 }
    }

    /// Applies the crop (of the image zero-padded by `pad`) and flip to one `[h, w, c]` image.
    pub fn apply(&self, img: &[f32], [h, w, c]: [usize; 3], pad: usize) -> Vec<f32> {
        let mut out = vec![0.0; h * w * c];
        for y in 0..h {
            let Some(sy) = (y + self.dy).checked_sub(pad).filter(|&s| s < h) else { continue };
            for x in 0..w {
                let tx = if self.flip { w - 1 - x } else { x };
                let Some(sx) = (tx + self.dx).checked_sub(pad).filter(|&s| s < w) else { continue };
                let (d, s) = ((y * w + x) * c, (sy * w + sx) * c);
                out[d..d + c].copy_from_slice(&img[s..s + c]);
            }
        }
        out
    }
}

/// Augments every image of `batch` in place (pad [`PAD`], random crop, random flip), drawing
/// from a generator seeded with `seed`.
pub fn augment_batch(batch: &mut Batch, seed: u64) {
    let shape = batch.image_shape;
    let len: usize = shape.iter().product();
    let mut rng = SplitMix64::new(seed);
    for img in batch.images.chunks_exact_mut(len) {
        let out = CropFlip::random(PAD, &mut rng).apply(img, shape, PAD);
        img.copy_from_slice(&out);
    }
}
