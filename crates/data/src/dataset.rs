//! [`Dataset`]: labelled images held in memory as NHWC `f32`, with subsets, seeded shuffling,
//! normalisation and a [`Batch`] iterator.

use std::ops::Range;
use std::path::Path;

use crate::error::{DataError, Result};
use crate::idx;
use crate::rng;

/// Which part of a dataset to load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    /// The training split (60,000 images for MNIST and Fashion-MNIST).
    Train,
    /// The test split (10,000 images for MNIST and Fashion-MNIST).
    Test,
}

/// Labelled images: `images` is `[n, height, width, channels]` row-major `f32`, `labels` are class
/// ids in `0..num_classes`.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    images: Vec<f32>,
    labels: Vec<u8>,
    image_shape: [usize; 3],
    num_classes: usize,
}

impl Dataset {
    /// Builds a dataset, checking that `images` holds `labels.len()` images of `image_shape`
    /// (`[height, width, channels]`, a product that overflows is refused) and that every label
    /// is below `num_classes` (1..=256).
    pub fn new(images: Vec<f32>, labels: Vec<u8>, image_shape: [usize; 3], num_classes: usize) -> Result<Self> {
        let image_len = image_shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).unwrap_or(0);
        if image_len == 0 || !(1..=256).contains(&num_classes) {
            let msg = format!("image shape {image_shape:?} and num_classes {num_classes} must be non-zero (<= 256)");
            return Err(DataError::InvalidArgument(msg));
        }
        if Some(images.len()) != labels.len().checked_mul(image_len) {
            let msg =
                format!("{} image values do not hold {} images of shape {image_shape:?}", images.len(), labels.len());
            return Err(DataError::InvalidArgument(msg));
        }
        if let Some((i, &l)) = labels.iter().enumerate().find(|(_, &l)| usize::from(l) >= num_classes) {
            let msg = format!("label {l} at index {i} is not below num_classes {num_classes}");
            return Err(DataError::InvalidArgument(msg));
        }
        Ok(Self { images, labels, image_shape, num_classes })
    }

    /// Builds a dataset from u8 pixels (NHWC), scaling them to `[0, 1]` by dividing by 255.
    pub fn from_u8(pixels: &[u8], labels: Vec<u8>, image_shape: [usize; 3], num_classes: usize) -> Result<Self> {
        let images = pixels.iter().map(|&p| f32::from(p) / 255.0).collect();
        Self::new(images, labels, image_shape, num_classes)
    }

    /// Loads a pair of IDX files (images `[n, rows, cols]`, labels `[n]`) as `[n, rows, cols, 1]`.
    pub fn from_idx(images: &Path, labels: &Path, num_classes: usize) -> Result<Self> {
        let img = idx::read_images(images)?;
        let lab = idx::read_labels(labels)?;
        let invalid = |path: &Path, reason: String| DataError::Invalid { path: path.to_path_buf(), reason };
        if img.dims[0] != lab.dims[0] {
            let reason = format!("{} labels for {} images in {}", lab.dims[0], img.dims[0], images.display());
            return Err(invalid(labels, reason));
        }
        if let Some((i, &l)) = lab.data.iter().enumerate().find(|(_, &l)| usize::from(l) >= num_classes) {
            return Err(invalid(labels, format!("label {l} at index {i} is not below {num_classes}")));
        }
        if img.dims[1] == 0 || img.dims[2] == 0 {
            return Err(invalid(images, format!("empty image size {:?}", &img.dims[1..])));
        }
        Self::from_u8(&img.data, lab.data, [img.dims[1], img.dims[2], 1], num_classes)
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no examples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The images' full shape `[n, height, width, channels]`.
    pub fn shape(&self) -> [usize; 4] {
        let [h, w, c] = self.image_shape;
        [self.len(), h, w, c]
    }

    /// One image's shape `[height, width, channels]`.
    pub fn image_shape(&self) -> [usize; 3] {
        self.image_shape
    }

    /// Number of `f32` values per image.
    pub fn image_len(&self) -> usize {
        self.image_shape.iter().product()
    }

    /// Number of classes (labels are below this).
    pub fn num_classes(&self) -> usize {
        self.num_classes
    }

    /// All images, `[n, height, width, channels]` row-major.
    pub fn images(&self) -> &[f32] {
        &self.images
    }

    /// All labels.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// Image `i` (`[height, width, channels]`), or `None` past the end.
    pub fn image(&self, i: usize) -> Option<&[f32]> {
        let len = self.image_len();
        let start = i.checked_mul(len)?;
        self.images.get(start..start.checked_add(len)?)
    }

    /// Consumes the dataset into its images and labels.
    pub fn into_parts(self) -> (Vec<f32>, Vec<u8>) {
        (self.images, self.labels)
    }

    /// How many examples each class has (`num_classes` counts).
    pub fn label_histogram(&self) -> Vec<usize> {
        let mut counts = vec![0; self.num_classes];
        for &l in &self.labels {
            counts[usize::from(l)] += 1;
        }
        counts
    }

    /// Mean and (population) standard deviation of all pixel values.
    pub fn mean_std(&self) -> (f32, f32) {
        let n = self.images.len().max(1) as f64;
        let mean = self.images.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
        let var = self.images.iter().map(|&x| (f64::from(x) - mean).powi(2)).sum::<f64>() / n;
        (mean as f32, var.sqrt() as f32)
    }

    /// Normalises in place: `x = (x - mean[c]) / std[c]`; `mean`/`std` hold 1 or `channels` values,
    /// and every `std` must be positive and finite.
    pub fn normalize(&mut self, mean: &[f32], std: &[f32]) -> Result<()> {
        let c = self.image_shape[2];
        let ok_len = |v: &[f32]| v.len() == 1 || v.len() == c;
        if !ok_len(mean) || !ok_len(std) || std.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
            let msg = format!("normalize mean {mean:?} / std {std:?} for {c} channels");
            return Err(DataError::InvalidArgument(msg));
        }
        for (i, x) in self.images.iter_mut().enumerate() {
            let ch = i % c;
            *x = (*x - mean[ch % mean.len()]) / std[ch % std.len()];
        }
        Ok(())
    }

    /// A copy of examples `range` (in order).
    pub fn subset(&self, range: Range<usize>) -> Result<Dataset> {
        if range.start > range.end || range.end > self.len() {
            let msg = format!("subset range {range:?} out of bounds for a dataset of {} examples", self.len());
            return Err(DataError::InvalidArgument(msg));
        }
        let len = self.image_len();
        let images = self.images[range.start * len..range.end * len].to_vec();
        Ok(Dataset { images, labels: self.labels[range].to_vec(), ..self.empty_like() })
    }

    /// A copy of the examples at `indices` (in that order; repeats allowed).
    pub fn select(&self, indices: &[usize]) -> Result<Dataset> {
        if let Some(&bad) = indices.iter().find(|&&i| i >= self.len()) {
            let msg = format!("index {bad} out of bounds for a dataset of {} examples", self.len());
            return Err(DataError::InvalidArgument(msg));
        }
        let (images, labels) = gather(self, indices);
        Ok(Dataset { images, labels, ..self.empty_like() })
    }

    /// Shuffles the examples in place with a permutation determined by `seed`.
    pub fn shuffle(&mut self, seed: u64) {
        let order = rng::permutation(self.len(), seed);
        let (images, labels) = gather(self, &order);
        self.images = images;
        self.labels = labels;
    }

    /// Batches in order; with `drop_last` a final short batch is skipped.
    pub fn batches(&self, batch_size: usize, drop_last: bool) -> Result<Batches<'_>> {
        Batches::new(self, batch_size, drop_last, None)
    }

    /// Batches in an order shuffled by `seed` (use a different seed each epoch), without
    /// copying the dataset; every example appears exactly once per pass (unless dropped).
    pub fn shuffled_batches(&self, batch_size: usize, drop_last: bool, seed: u64) -> Result<Batches<'_>> {
        Batches::new(self, batch_size, drop_last, Some(rng::permutation(self.len(), seed)))
    }

    /// An empty dataset with this one's shape and classes.
    fn empty_like(&self) -> Dataset {
        Dataset { images: Vec::new(), labels: Vec::new(), image_shape: self.image_shape, num_classes: self.num_classes }
    }
}

/// Copies the images and labels at `indices` (which must be in bounds).
fn gather(ds: &Dataset, indices: &[usize]) -> (Vec<f32>, Vec<u8>) {
    let len = ds.image_len();
    let mut images = Vec::with_capacity(indices.len() * len);
    for &i in indices {
        images.extend_from_slice(&ds.images[i * len..(i + 1) * len]);
    }
    (images, indices.iter().map(|&i| ds.labels[i]).collect())
}

/// One-hot encodes labels: `[labels.len(), num_classes]` with 1.0 at each label (a label
/// `>= num_classes` gives an all-zero row). `num_classes` must be in 1..=256 (u8 labels), as
/// for a [`Dataset`]; otherwise a [`DataError::InvalidArgument`].
pub fn one_hot(labels: &[u8], num_classes: usize) -> Result<Vec<f32>> {
    if !(1..=256).contains(&num_classes) {
        return Err(DataError::InvalidArgument(format!("one_hot: num_classes {num_classes} must be in 1..=256")));
    }
    Ok(one_hot_rows(labels, num_classes))
}

/// [`one_hot`] for a `num_classes` already known to be in 1..=256.
fn one_hot_rows(labels: &[u8], num_classes: usize) -> Vec<f32> {
    let mut out = vec![0.0; labels.len() * num_classes];
    for (row, &l) in labels.iter().enumerate() {
        if usize::from(l) < num_classes {
            out[row * num_classes + usize::from(l)] = 1.0;
        }
    }
    out
}

/// A batch of examples copied out of a [`Dataset`].
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Images `[batch_size, height, width, channels]` row-major.
    pub images: Vec<f32>,
    /// Class ids, `batch_size` of them.
    pub labels: Vec<u8>,
    /// Number of examples in this batch (the last one may be short unless `drop_last`).
    pub batch_size: usize,
    /// One image's shape `[height, width, channels]`.
    pub image_shape: [usize; 3],
    /// Number of classes, for [`Batch::one_hot`].
    pub num_classes: usize,
    /// The dataset index of each example.
    pub indices: Vec<usize>,
}

impl Batch {
    /// The images' shape `[batch_size, height, width, channels]`.
    pub fn shape(&self) -> [usize; 4] {
        let [h, w, c] = self.image_shape;
        [self.batch_size, h, w, c]
    }

    /// The labels one-hot encoded, `[batch_size, num_classes]`.
    pub fn one_hot(&self) -> Vec<f32> {
        // A batch's num_classes comes from its Dataset, which keeps it in 1..=256.
        one_hot_rows(&self.labels, self.num_classes)
    }
}

/// Iterator over a dataset's [`Batch`]es (see [`Dataset::batches`]).
#[derive(Debug, Clone)]
pub struct Batches<'a> {
    dataset: &'a Dataset,
    order: Option<Vec<usize>>,
    batch_size: usize,
    end: usize,
    pos: usize,
}

impl<'a> Batches<'a> {
    /// Checks the batch size and computes where iteration stops.
    fn new(dataset: &'a Dataset, batch_size: usize, drop_last: bool, order: Option<Vec<usize>>) -> Result<Self> {
        if batch_size == 0 {
            return Err(DataError::InvalidArgument("batch_size must be at least 1".into()));
        }
        let n = dataset.len();
        let end = if drop_last { n - n % batch_size } else { n };
        Ok(Self { dataset, order, batch_size, end, pos: 0 })
    }
}

impl Iterator for Batches<'_> {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        if self.pos >= self.end {
            return None;
        }
        let stop = (self.pos + self.batch_size).min(self.end);
        let indices: Vec<usize> = match &self.order {
            Some(order) => order[self.pos..stop].to_vec(),
            None => (self.pos..stop).collect(),
        };
        self.pos = stop;
        let (images, labels) = gather(self.dataset, &indices);
        let ds = self.dataset;
        Some(Batch {
            images,
            labels,
            batch_size: indices.len(),
            image_shape: ds.image_shape,
            num_classes: ds.num_classes,
            indices,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.end - self.pos).div_ceil(self.batch_size);
        (left, Some(left))
    }
}

impl ExactSizeIterator for Batches<'_> {}
