//! The CIFAR-10 / CIFAR-100 binary formats, converted to NHWC `f32` in `[0, 1]`.
//!
//! CIFAR-10 files are 3073-byte records: 1 label byte, then 3072 pixel bytes stored CHW
//! (1024 red, 1024 green, 1024 blue, each row-major 32×32). CIFAR-100 records are 3074 bytes:
//! a coarse label (20 classes), a fine label (100 classes), then the same 3072 pixels. Files may
//! be gzip-compressed. A file that is empty or does not end on a record boundary is
//! [`DataError::Truncated`]; a label out of range is [`DataError::Invalid`].
//!
//! [`load_cifar10`] / [`load_cifar100`] read the official binary distributions
//! (<https://www.cs.toronto.edu/~kriz/cifar.html>) from a data directory: the extracted folder
//! (`cifar-10-batches-bin/`, `cifar-100-binary/`) or, if only the archive
//! (`cifar-10-binary.tar.gz`, `cifar-100-binary.tar.gz`) is there, after extracting it with `tar`.
//! Every file must have exactly the official number of records.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cache;
use crate::dataset::{Dataset, Split};
use crate::error::{io_err, DataError, Result};
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

/// One official CIFAR binary distribution: its archive, the folder inside, and its files with
/// their record counts.
#[derive(Debug, Clone, Copy)]
pub struct Distribution {
    /// The archive's file name.
    pub archive: &'static str,
    /// The folder the archive extracts to.
    pub folder: &'static str,
    /// Bytes per record.
    pub record: usize,
    /// Training files and the records each holds.
    pub train: &'static [(&'static str, usize)],
    /// Test files and the records each holds.
    pub test: &'static [(&'static str, usize)],
}

/// CIFAR-10's binary version: five 10,000-image training batches and a 10,000-image test batch.
pub const CIFAR10: Distribution = Distribution {
    archive: "cifar-10-binary.tar.gz",
    folder: "cifar-10-batches-bin",
    record: CIFAR10_RECORD,
    train: &[
        ("data_batch_1.bin", 10_000),
        ("data_batch_2.bin", 10_000),
        ("data_batch_3.bin", 10_000),
        ("data_batch_4.bin", 10_000),
        ("data_batch_5.bin", 10_000),
    ],
    test: &[("test_batch.bin", 10_000)],
};

/// CIFAR-100's binary version: 50,000 training and 10,000 test images.
pub const CIFAR100: Distribution = Distribution {
    archive: "cifar-100-binary.tar.gz",
    folder: "cifar-100-binary",
    record: CIFAR100_RECORD,
    train: &[("train.bin", 50_000)],
    test: &[("test.bin", 10_000)],
};

/// The CIFAR-10 class names, indexed by label.
pub const CIFAR10_CLASSES: [&str; 10] =
    ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

/// Loads a CIFAR-10 split (50,000 / 10,000 images `[n, 32, 32, 3]`) from `dir`.
pub fn load_cifar10(split: Split, dir: &Path) -> Result<Dataset> {
    let parts = official_files(&CIFAR10, split, dir)?
        .iter()
        .map(|(p, bytes)| parse_cifar10(bytes, p))
        .collect::<Result<Vec<_>>>()?;
    concat(parts, 10)
}

/// Loads a CIFAR-100 split (50,000 / 10,000 images `[n, 32, 32, 3]`) from `dir` with the chosen
/// label.
pub fn load_cifar100(split: Split, dir: &Path, label: Cifar100Label) -> Result<Dataset> {
    let classes = if label == Cifar100Label::Fine { 100 } else { 20 };
    let parts = official_files(&CIFAR100, split, dir)?
        .iter()
        .map(|(p, bytes)| parse_cifar100(bytes, p, label))
        .collect::<Result<Vec<_>>>()?;
    concat(parts, classes)
}

/// The folder of `dist` under `dir`, extracted from the archive first if only that is there.
pub fn locate(dist: &Distribution, dir: &Path) -> Result<PathBuf> {
    let folder = dir.join(dist.folder);
    if folder.is_dir() {
        return Ok(folder);
    }
    let archive = dir.join(dist.archive);
    if !archive.is_file() {
        let hint = format!(
            "put {} (or its extracted folder {}/) from https://www.cs.toronto.edu/~kriz/cifar.html in {}",
            dist.archive,
            dist.folder,
            dir.display()
        );
        return Err(DataError::MissingSource { path: folder, hint });
    }
    extract(&archive, dist.folder, dir)?;
    Ok(folder)
}

/// Extracts `folder` from `archive` into a staging directory in `dir`, then renames it into place.
fn extract(archive: &Path, folder: &str, dir: &Path) -> Result<()> {
    let staging = cache::temp_path(dir, "cifar");
    std::fs::create_dir_all(&staging).map_err(io_err(&staging))?;
    let mut tar = Command::new("tar");
    tar.arg("--no-same-owner").arg("-xzf").arg(archive).arg("-C").arg(&staging).arg(folder);
    let done = crate::npm::run(&mut tar, "tar", "install GNU tar (e.g. `apt-get install tar`)")
        .and_then(|_| std::fs::rename(staging.join(folder), dir.join(folder)).map_err(io_err(dir.join(folder))));
    let _ = std::fs::remove_dir_all(&staging);
    done
}

/// Reads the split's files, each checked to hold exactly its official number of records.
fn official_files(dist: &Distribution, split: Split, dir: &Path) -> Result<Vec<(PathBuf, Vec<u8>)>> {
    let folder = locate(dist, dir)?;
    let files = if split == Split::Train { dist.train } else { dist.test };
    files
        .iter()
        .map(|&(name, records)| {
            let path = folder.join(name);
            let bytes = read_maybe_gzip(&path)?;
            check_records(&bytes, &path, dist.record, records)?;
            Ok((path, bytes))
        })
        .collect()
}

/// Rejects a file that does not hold exactly `records` records of `record` bytes.
pub fn check_records(bytes: &[u8], path: &Path, record: usize, records: usize) -> Result<()> {
    if bytes.len() == record * records {
        return Ok(());
    }
    let reason = format!(
        "{} bytes, but the official file holds {records} records of {record} bytes ({} bytes)",
        bytes.len(),
        record * records
    );
    Err(DataError::Invalid { path: path.to_path_buf(), reason })
}
