//! Fitting images to a model's input shape `[height, width, channels]`.
//!
//! Channels: 1 → 3 repeats the grey value; 3 → 1 takes the luma of `tf.image.rgb_to_grayscale`
//! (0.2989 R + 0.5870 G + 0.1140 B). Size: when the model's input is larger by at most
//! [`MAX_PAD`] pixels in each dimension the image is zero-padded, centred (as LeNet-5 pads
//! 28×28 digits to 32×32); otherwise it is resized bilinearly exactly as `tf.image.resize`
//! (half-pixel centres, no antialiasing).

use crate::dataset::Batch;
use crate::error::{DataError, Result};

/// The largest size difference (per dimension) bridged by padding rather than resizing.
pub const MAX_PAD: usize = 8;
/// `tf.image.rgb_to_grayscale`'s weights.
pub const LUMA: [f32; 3] = [0.2989, 0.5870, 0.1140];

/// Images `[n, from]` (row-major, `n` inferred) adapted to `[n, to]`.
pub fn adapt_images(images: &[f32], from: [usize; 3], to: [usize; 3]) -> Result<Vec<f32>> {
    let len: usize = from.iter().product();
    if len == 0 || !images.len().is_multiple_of(len) || to.contains(&0) {
        let msg = format!("cannot adapt {} values of images {from:?} to {to:?}", images.len());
        return Err(DataError::InvalidArgument(msg));
    }
    let coloured = convert_channels(images, from, to[2])?;
    let [h, w, _] = from;
    let shape = [h, w, to[2]];
    if [h, w] == [to[0], to[1]] {
        return Ok(coloured);
    }
    let pads = to[0] >= h && to[1] >= w && to[0] - h <= MAX_PAD && to[1] - w <= MAX_PAD;
    Ok(if pads {
        pad_center(&coloured, shape, [to[0], to[1]])
    } else {
        resize_bilinear(&coloured, shape, [to[0], to[1]])
    })
}

/// A batch with its images adapted to `to` (labels and indices unchanged).
pub fn adapt_batch(batch: &Batch, to: [usize; 3]) -> Result<Batch> {
    if batch.image_shape == to {
        return Ok(batch.clone());
    }
    let images = adapt_images(&batch.images, batch.image_shape, to)?;
    Ok(Batch { images, image_shape: to, ..batch.clone() })
}

/// Converts `[.., h, w, c]` images to `to_c` channels (1 ↔ 3, or unchanged).
pub fn convert_channels(images: &[f32], [_, _, c]: [usize; 3], to_c: usize) -> Result<Vec<f32>> {
    match (c, to_c) {
        (a, b) if a == b => Ok(images.to_vec()),
        (1, 3) => Ok(images.iter().flat_map(|&v| [v, v, v]).collect()),
        (3, 1) => Ok(images.chunks_exact(3).map(|p| p[0] * LUMA[0] + p[1] * LUMA[1] + p[2] * LUMA[2]).collect()),
        _ => Err(DataError::InvalidArgument(format!("cannot convert {c}-channel images to {to_c} channels"))),
    }
}

/// Zero-pads `[.., h, w, c]` images to `size` (each at least as large), centred (an odd margin
/// puts the extra pixel after the image, like `tf.image.resize_with_crop_or_pad`).
pub fn pad_center(images: &[f32], [h, w, c]: [usize; 3], [oh, ow]: [usize; 2]) -> Vec<f32> {
    let (top, left) = ((oh - h) / 2, (ow - w) / 2);
    let mut out = vec![0.0; images.len() / (h * w * c) * oh * ow * c];
    for (src, dst) in images.chunks_exact(h * w * c).zip(out.chunks_exact_mut(oh * ow * c)) {
        for y in 0..h {
            let d = ((y + top) * ow + left) * c;
            dst[d..d + w * c].copy_from_slice(&src[y * w * c..(y + 1) * w * c]);
        }
    }
    out
}

/// Bilinear resize of `[.., h, w, c]` images to `size`, as `tf.image.resize(.., "bilinear")`.
pub fn resize_bilinear(images: &[f32], [h, w, c]: [usize; 3], [oh, ow]: [usize; 2]) -> Vec<f32> {
    let (ys, xs) = (weights(h, oh), weights(w, ow));
    let mut out = Vec::with_capacity(images.len() / (h * w * c) * oh * ow * c);
    for img in images.chunks_exact(h * w * c) {
        let at = |y: usize, x: usize, ch: usize| img[(y * w + x) * c + ch];
        for &(y0, y1, fy) in &ys {
            for &(x0, x1, fx) in &xs {
                for ch in 0..c {
                    let top = at(y0, x0, ch) + (at(y0, x1, ch) - at(y0, x0, ch)) * fx;
                    let bottom = at(y1, x0, ch) + (at(y1, x1, ch) - at(y1, x0, ch)) * fx;
                    out.push(top + (bottom - top) * fy);
                }
            }
        }
    }
    out
}

/// TensorFlow's half-pixel interpolation weights: for each output index the lower and upper
/// source indices and the fraction of the upper one.
fn weights(input: usize, output: usize) -> Vec<(usize, usize, f32)> {
    let scale = input as f32 / output as f32;
    (0..output)
        .map(|o| {
            let pos = (o as f32 + 0.5) * scale - 0.5;
            let floor = pos.floor();
            let lower = floor.max(0.0) as usize;
            let upper = (pos.ceil().max(0.0) as usize).min(input - 1);
            (lower.min(input - 1), upper, pos - floor)
        })
        .collect()
}
