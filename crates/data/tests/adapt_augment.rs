//! Input adaptation (channels, padding, TensorFlow's bilinear resize) and the CIFAR
//! augmentation (pad, random crop, flip). Expected resize values are `tf.image.resize`'s
//! (TensorFlow 2.21), the luma weights `tf.image.rgb_to_grayscale`'s.

use tessera_data::adapt::{adapt_batch, adapt_images, convert_channels, pad_center, resize_bilinear, MAX_PAD};
use tessera_data::augment::{augment_batch, CropFlip, PAD};
use tessera_data::{synthetic, DataError};

fn close(got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() < 1e-5, "index {i}: {g} vs {w}\n{got:?}\n{want:?}");
    }
}

#[test]
fn channels_repeat_grey_and_take_tf_luma() {
    close(&convert_channels(&[0.5, 1.0], [1, 2, 1], 3).unwrap(), &[0.5, 0.5, 0.5, 1.0, 1.0, 1.0]);
    // tf.image.rgb_to_grayscale([[[[1, 0.5, 0.25]]]]) = 0.62090003
    close(&convert_channels(&[1.0, 0.5, 0.25], [1, 1, 3], 1).unwrap(), &[0.6209]);
    let e = convert_channels(&[0.0; 4], [1, 1, 4], 3).unwrap_err();
    assert!(matches!(e, DataError::InvalidArgument(_)) && e.to_string().contains("4-channel"), "{e}");
}

#[test]
fn resize_matches_tensorflow_bilinear() {
    // tf.image.resize([[0, 1], [2, 3]], [4, 4])
    let up = resize_bilinear(&[0.0, 1.0, 2.0, 3.0], [2, 2, 1], [4, 4]);
    let want = [0.0, 0.25, 0.75, 1.0, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2.0, 2.25, 2.75, 3.0];
    close(&up, &want);
    // tf.image.resize(arange(16).reshape(4, 4), [2, 2])
    let x: Vec<f32> = (0..16).map(|v| v as f32).collect();
    close(&resize_bilinear(&x, [4, 4, 1], [2, 2]), &[2.5, 4.5, 10.5, 12.5]);
    // tf.image.resize(arange(5).reshape(1, 5), [1, 3])
    close(&resize_bilinear(&[0.0, 1.0, 2.0, 3.0, 4.0], [1, 5, 1], [1, 3]), &[1.0 / 3.0, 2.0, 11.0 / 3.0]);
    // Channels interpolate independently; two images stay apart.
    let two: Vec<f32> = [0.0, 10.0, 1.0, 11.0, 2.0, 12.0, 3.0, 13.0].repeat(2);
    let out = resize_bilinear(&two, [2, 2, 2], [4, 4]);
    let grey: Vec<f32> = out.iter().step_by(2).copied().collect();
    let red: Vec<f32> = out.iter().skip(1).step_by(2).map(|v| v - 10.0).collect();
    close(&grey, &[want, want].concat());
    close(&red, &[want, want].concat());
}

#[test]
fn small_margins_pad_centred_larger_ones_resize() {
    let img: Vec<f32> = (1..=6).map(|v| v as f32).collect(); // [2, 3, 1]
    let padded = pad_center(&img, [2, 3, 1], [4, 6]);
    #[rustfmt::skip]
    let want = [0., 0., 0., 0., 0., 0.,
                0., 1., 2., 3., 0., 0.,
                0., 4., 5., 6., 0., 0.,
                0., 0., 0., 0., 0., 0.];
    close(&padded, &want);
    // MNIST 28×28×1 → a 32×32×3 model: padded by 2, grey repeated.
    let mnist = synthetic(3, [28, 28, 1], 10, 1).unwrap();
    let out = adapt_images(mnist.images(), [28, 28, 1], [32, 32, 3]).unwrap();
    assert_eq!(out.len(), 3 * 32 * 32 * 3);
    let src = mnist.image(1).unwrap();
    let dst = &out[32 * 32 * 3..2 * 32 * 32 * 3];
    assert_eq!(&dst[((5 + 2) * 32 + 9 + 2) * 3..][..3], &[src[5 * 28 + 9]; 3]);
    assert!(dst[..32 * 2 * 3].iter().all(|&v| v == 0.0), "top margin is zero");
    // 32 → 32 + MAX_PAD + 1 is too far to pad: it resizes (no zero border).
    let cifar = vec![0.5f32; 32 * 32 * 3];
    let big = 32 + MAX_PAD + 1;
    let out = adapt_images(&cifar, [32, 32, 3], [big, big, 3]).unwrap();
    close(&out, &vec![0.5; big * big * 3]);
    // Smaller inputs always resize: 32 → 28 of a constant image is the constant.
    close(&adapt_images(&cifar, [32, 32, 3], [28, 28, 1]).unwrap(), &vec![0.5 * 0.9999; 28 * 28]);
}

#[test]
fn adapt_rejects_bad_sizes_and_batches_keep_labels() {
    let e = adapt_images(&[0.0; 10], [2, 2, 1], [4, 4, 1]).unwrap_err();
    assert!(e.to_string().contains("10 values"), "{e}");
    let ds = synthetic(5, [28, 28, 1], 10, 3).unwrap();
    let b = ds.batches(5, false).unwrap().next().unwrap();
    let a = adapt_batch(&b, [32, 32, 3]).unwrap();
    assert_eq!((a.shape(), &a.labels, &a.indices), ([5, 32, 32, 3], &b.labels, &b.indices));
}

#[test]
fn crop_offsets_shift_and_flip_mirror() {
    let [h, w, c] = [3, 4, 2];
    let img: Vec<f32> = (0..h * w * c).map(|v| v as f32 + 1.0).collect();
    let at = |v: &[f32], y: usize, x: usize, ch: usize| v[(y * w + x) * c + ch];
    // Offsets equal to the padding crop the original back.
    assert_eq!(CropFlip { dy: 2, dx: 2, flip: false }.apply(&img, [h, w, c], 2), img);
    // Offsets 0 shift the image down-right by the padding, filling with zeros.
    let moved = CropFlip { dy: 0, dx: 0, flip: false }.apply(&img, [h, w, c], 1);
    for y in 0..h {
        for x in 0..w {
            let want = if y == 0 || x == 0 { 0.0 } else { at(&img, y - 1, x - 1, 1) };
            assert_eq!(at(&moved, y, x, 1), want, "({y}, {x})");
        }
    }
    let flipped = CropFlip { dy: 1, dx: 1, flip: true }.apply(&img, [h, w, c], 1);
    for (y, x, ch) in [(0, 0, 0), (2, 3, 1), (1, 2, 0)] {
        assert_eq!(at(&flipped, y, x, ch), at(&img, y, w - 1 - x, ch));
    }
}

#[test]
fn augmentation_is_seeded_and_varies_per_image() {
    let ds = synthetic(64, [32, 32, 3], 10, 7).unwrap();
    let batch = ds.batches(64, false).unwrap().next().unwrap();
    let (mut a, mut b, mut other) = (batch.clone(), batch.clone(), batch.clone());
    augment_batch(&mut a, 5);
    augment_batch(&mut b, 5);
    augment_batch(&mut other, 6);
    assert_eq!(a, b, "same seed, same augmentation");
    assert_ne!(a.images, other.images, "another seed, another augmentation");
    assert_eq!(a.labels, batch.labels);
    let len = 32 * 32 * 3;
    let changed = (0..64).filter(|&i| a.images[i * len..(i + 1) * len] != batch.images[i * len..(i + 1) * len]);
    // Only 1 in 2·81 draws (no shift, no flip) keeps an image unchanged.
    assert!(changed.count() >= 60);
    // Every augmented image is one of the (2·PAD+1)²·2 crops of its source.
    let shape = [32, 32, 3];
    for i in 0..8 {
        let src = &batch.images[i * len..(i + 1) * len];
        let got = &a.images[i * len..(i + 1) * len];
        let found = (0..=2 * PAD).any(|dy| {
            (0..=2 * PAD)
                .any(|dx| [false, true].iter().any(|&flip| CropFlip { dy, dx, flip }.apply(src, shape, PAD) == got))
        });
        assert!(found, "image {i} is not a pad-crop-flip of its source");
    }
}
