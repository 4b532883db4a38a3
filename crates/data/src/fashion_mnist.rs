//! Fashion-MNIST (Xiao, Rasul & Vollgraf 2017) from the Debian package `dataset-fashion-mnist`,
//! which installs the four gzip IDX files under [`SYSTEM_DIR`].
//!
//! [`load`] first looks in `<data dir>/fashion-mnist/` (so the same `.gz` files can be placed
//! there by hand on other systems), then in [`SYSTEM_DIR`]. Every file is SHA-256 verified
//! against [`FILES`] before parsing; nothing is copied.

use std::path::{Path, PathBuf};

use crate::cache::{self, CachedFile};
use crate::dataset::{Dataset, Split};
use crate::error::{DataError, Result};

/// Where `apt-get install dataset-fashion-mnist` puts the files.
pub const SYSTEM_DIR: &str = "/usr/share/datasets/fashion-mnist";
/// Subdirectory of the data directory searched before [`SYSTEM_DIR`].
pub const SUBDIR: &str = "fashion-mnist";
/// Number of classes.
pub const NUM_CLASSES: usize = 10;
/// The class names, indexed by label.
pub const CLASS_NAMES: [&str; 10] =
    ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];
/// The four gzip IDX files and their SHA-256: train images, train labels, test images, test
/// labels.
pub const FILES: [CachedFile<'static>; 4] = [
    CachedFile {
        name: "train-images-idx3-ubyte.gz",
        sha256: "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
    },
    CachedFile {
        name: "train-labels-idx1-ubyte.gz",
        sha256: "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
    },
    CachedFile {
        name: "t10k-images-idx3-ubyte.gz",
        sha256: "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
    },
    CachedFile {
        name: "t10k-labels-idx1-ubyte.gz",
        sha256: "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
    },
];

/// Loads a split as `[n, 28, 28, 1]` images in `[0, 1]` (60,000 train / 10,000 test) from
/// `<dir>/fashion-mnist/` (default dir: [`cache::data_dir`]) or else [`SYSTEM_DIR`].
pub fn load(split: Split, dir: Option<&Path>) -> Result<Dataset> {
    let local = cache::resolve_dir(dir).ok().map(|d| d.join(SUBDIR));
    let (images, labels) = split_files(split);
    let source = match local {
        Some(d) if d.join(images.name).is_file() && d.join(labels.name).is_file() => d,
        _ => PathBuf::from(SYSTEM_DIR),
    };
    load_from(split, &source)
}

/// Loads a split from the `.gz` files in `source` (verifying their checksums).
pub fn load_from(split: Split, source: &Path) -> Result<Dataset> {
    let (images, labels) = split_files(split);
    for file in [images, labels] {
        let path = source.join(file.name);
        if !path.is_file() {
            let hint = "install the Debian package with `apt-get install dataset-fashion-mnist`";
            return Err(DataError::MissingSource { path, hint: hint.into() });
        }
        cache::verify_sha256(&path, file.sha256)?;
    }
    Dataset::from_idx(&source.join(images.name), &source.join(labels.name), NUM_CLASSES)
}

/// The (images, labels) files of a split.
fn split_files(split: Split) -> (CachedFile<'static>, CachedFile<'static>) {
    match split {
        Split::Train => (FILES[0], FILES[1]),
        Split::Test => (FILES[2], FILES[3]),
    }
}
