//! The CIFAR-10 / CIFAR-100 binary formats, converted to NHWC `f32` in `[0, 1]`.
//!
//! CIFAR-10 files are 3073-byte records: 1 label byte, then 3072 pixel bytes stored CHW
//! (1024 red, 1024 green, 1024 blue, each row-major 32×32). CIFAR-100 records are 3074 bytes:
//! a coarse label (20 classes), a fine label (100 classes), then the same 3072 pixels. Files may
//! be gzip-compressed. A file that is empty or does not end on a record boundary is
//! [`DataError::Truncated`]; a label out of range is [`DataError::Invalid`].

use std::path::Path;

use crate::dataset::Dataset;
use crate::error::{DataError, Result};
use crate::idx::read_maybe_gzip;

/// Image side length.
pub const SIDE: usize = 32;
/// One image's shape `[height, width, channels]`.
pub const IMAGE_SHAPE: [usize; 3] = [SIDE, SIDE, 3];
/// Pixel bytes per record.
pub const PIXELS: usize = SIDE * SIDE * 3;
/// Bytes per CIFAR-10 record.
pub const CIFAR10_RECORD: usize = 1 + PIXELS;
/// Bytes per CIFAR-100 record.
pub const CIFAR100_RECORD: usize = 2 + PIXELS;

/// Which CIFAR-100 label to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cifar100Label {
    /// The 20 superclasses (first label byte).
    Coarse,
    /// The 100 classes (second label byte).
    Fine,
}

/// Parses CIFAR-10 records; `path` is used in error messages.
pub fn parse_cifar10(bytes: &[u8], path: &Path) -> Result<Dataset> {
    parse_records(bytes, path, CIFAR10_RECORD, 0, 10)
}

/// Parses CIFAR-100 records with the chosen label; `path` is used in error messages.
pub fn parse_cifar100(bytes: &[u8], path: &Path, label: Cifar100Label) -> Result<Dataset> {
    match label {
        Cifar100Label::Coarse => parse_records(bytes, path, CIFAR100_RECORD, 0, 20),
        Cifar100Label::Fine => parse_records(bytes, path, CIFAR100_RECORD, 1, 100),
    }
}

/// Reads and concatenates CIFAR-10 batch files (e.g. `data_batch_1.bin` … `data_batch_5.bin`).
pub fn read_cifar10<P: AsRef<Path>>(paths: &[P]) -> Result<Dataset> {
    let parts =
        paths.iter().map(|p| parse_cifar10(&read_maybe_gzip(p.as_ref())?, p.as_ref())).collect::<Result<Vec<_>>>()?;
    concat(parts, 10)
}

/// Reads a CIFAR-100 file (`train.bin` or `test.bin`) with the chosen label.
pub fn read_cifar100(path: &Path, label: Cifar100Label) -> Result<Dataset> {
    parse_cifar100(&read_maybe_gzip(path)?, path, label)
}

/// Splits `bytes` into records and converts each image CHW → HWC.
fn parse_records(bytes: &[u8], path: &Path, record: usize, label_at: usize, classes: usize) -> Result<Dataset> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(record) {
        let expected = (bytes.len() / record + 1) * record;
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            expected: expected as u64,
            actual: bytes.len() as u64,
        });
    }
    let label_bytes = record - PIXELS;
    let n = bytes.len() / record;
    let mut images = Vec::with_capacity(n * PIXELS);
    let mut labels = Vec::with_capacity(n);
    for (i, rec) in bytes.chunks_exact(record).enumerate() {
        let label = rec[label_at];
        if usize::from(label) >= classes {
            let reason = format!("record {i} has label {label}, not below {classes}");
            return Err(DataError::Invalid { path: path.to_path_buf(), reason });
        }
        labels.push(label);
        chw_to_hwc(&rec[label_bytes..], &mut images);
    }
    Dataset::new(images, labels, IMAGE_SHAPE, classes)
}

/// Appends one 3×32×32 CHW u8 image as 32×32×3 HWC `f32` in `[0, 1]`.
fn chw_to_hwc(chw: &[u8], out: &mut Vec<f32>) {
    let plane = SIDE * SIDE;
    for p in 0..plane {
        for c in 0..3 {
            out.push(f32::from(chw[c * plane + p]) / 255.0);
        }
    }
}

/// Concatenates datasets of the same image shape.
fn concat(parts: Vec<Dataset>, classes: usize) -> Result<Dataset> {
    let mut images = Vec::new();
    let mut labels = Vec::new();
    for part in parts {
        let (i, l) = part.into_parts();
        images.extend(i);
        labels.extend(l);
    }
    Dataset::new(images, labels, IMAGE_SHAPE, classes)
}
