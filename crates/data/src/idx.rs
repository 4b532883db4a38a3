//! The IDX file format used by MNIST and Fashion-MNIST, plain or gzip-compressed.
//!
//! An IDX file is a 4-byte magic `00 00 <type> <ndim>`, then `ndim` big-endian `u32`
//! dimensions, then the elements in row-major order. Only the unsigned-byte type (`0x08`) is
//! supported: `0x00000803` holds images `[n, rows, cols]`, `0x00000801` holds labels `[n]`.
//! Files starting with the gzip magic `1f 8b` are decompressed first. Truncated files, trailing
//! garbage, bad magic numbers and gzip errors are typed [`DataError`]s naming the file.

use std::io::{Read, Write};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;

use crate::error::{io_err, DataError, Result};

/// Magic number of a u8 IDX file with 3 dimensions (images `[n, rows, cols]`).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of a u8 IDX file with 1 dimension (labels `[n]`).
pub const LABELS_MAGIC: u32 = 0x0000_0801;
/// The IDX type code for unsigned bytes, the only element type supported.
pub const TYPE_U8: u8 = 0x08;

/// A parsed u8 IDX array: its dimensions and row-major elements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// The dimensions from the header, outermost first.
    pub dims: Vec<usize>,
    /// The elements, `dims.iter().product()` of them.
    pub data: Vec<u8>,
}

/// The most bytes a compressed dataset file may inflate to (256 MiB; CIFAR-100's training
/// file, the largest supported, is 150 MB): a gzip bomb stops here instead of filling memory.
pub const MAX_INFLATED: u64 = 256 << 20;

/// Reads a whole file, transparently decompressing it if it starts with the gzip magic; the
/// decompressed size is bounded by [`MAX_INFLATED`].
pub fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(io_err(path))?;
    if raw.len() < 2 || raw[..2] != [0x1f, 0x8b] {
        return Ok(raw);
    }
    let mut out = Vec::with_capacity(raw.len().saturating_mul(4).min(MAX_INFLATED as usize));
    MultiGzDecoder::new(raw.as_slice())
        .take(MAX_INFLATED + 1)
        .read_to_end(&mut out)
        .map_err(|source| DataError::Gzip { path: path.to_path_buf(), source })?;
    if out.len() as u64 > MAX_INFLATED {
        let reason = format!("gzip data inflates past {MAX_INFLATED} bytes, more than any supported dataset file");
        return Err(DataError::Invalid { path: path.to_path_buf(), reason });
    }
    Ok(out)
}

/// Reads a u8 IDX file of any rank (plain or gzip).
pub fn read(path: &Path) -> Result<IdxArray> {
    parse_file_bytes(&std::fs::read(path).map_err(io_err(path))?, path, None)
}

/// Reads a u8 images file (magic `0x00000803`, dims `[n, rows, cols]`), plain or gzip.
pub fn read_images(path: &Path) -> Result<IdxArray> {
    parse(&read_bounded(path)?, path, Some(IMAGES_MAGIC))
}

/// Reads a u8 labels file (magic `0x00000801`, dims `[n]`), plain or gzip.
pub fn read_labels(path: &Path) -> Result<IdxArray> {
    parse(&read_bounded(path)?, path, Some(LABELS_MAGIC))
}

/// How far past the size its header declares a gzip'd IDX file is inflated (64 KiB).
const TRAILING_SLACK: u64 = 64 << 10;

/// The file's IDX bytes, inflating a gzip only as far as its header says the data goes (plus
/// [`TRAILING_SLACK`], so trailing garbage is still detected and counted): a small gzip that would inflate to 1 GiB
/// is rejected after its header, not after inflating it.
fn read_bounded(path: &Path) -> Result<Vec<u8>> {
    inflate_bounded(&std::fs::read(path).map_err(io_err(path))?, path)
}

/// Parses the bytes of an IDX file as [`read`] does (plain, or gzip inflated no further than
/// its header says), without touching the file system; `path` is only used in error messages.
pub fn parse_file_bytes(raw: &[u8], path: &Path, expect: Option<u32>) -> Result<IdxArray> {
    let bytes = inflate_bounded(raw, path)?;
    parse(&bytes, path, expect)
}

/// `raw` as is, or inflated as [`read_bounded`] describes when it starts with the gzip magic.
fn inflate_bounded(raw: &[u8], path: &Path) -> Result<Vec<u8>> {
    if raw.len() < 2 || raw[..2] != [0x1f, 0x8b] {
        return Ok(raw.to_vec());
    }
    let gz_err = |source| DataError::Gzip { path: path.to_path_buf(), source };
    let mut dec = MultiGzDecoder::new(raw);
    let mut out = Vec::new();
    (&mut dec).take(4).read_to_end(&mut out).map_err(gz_err)?;
    let ndim = out.get(3).copied().unwrap_or(0) as u64;
    (&mut dec).take(4 * ndim).read_to_end(&mut out).map_err(gz_err)?;
    let body = out
        .get(4..)
        .unwrap_or(&[])
        .chunks_exact(4)
        .try_fold(1u64, |acc, c| acc.checked_mul(u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]]))));
    let limit = body.filter(|&b| b <= MAX_INFLATED).unwrap_or(MAX_INFLATED);
    dec.take(limit + TRAILING_SLACK).read_to_end(&mut out).map_err(gz_err)?;
    Ok(out)
}

/// Parses IDX bytes; `path` is only used in error messages; `expect` pins the magic number.
pub fn parse(bytes: &[u8], path: &Path, expect: Option<u32>) -> Result<IdxArray> {
    let (magic, ndim) = parse_magic(bytes, path, expect)?;
    let header = 4 + 4 * ndim as u64;
    if (bytes.len() as u64) < header {
        return Err(truncated(path, header, bytes.len()));
    }
    let dims: Vec<usize> = bytes[4..header as usize]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let count = dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d as u64));
    let expected = count.and_then(|c| c.checked_add(header)).ok_or_else(|| DataError::Invalid {
        path: path.to_path_buf(),
        reason: format!("IDX dims {dims:?} (magic 0x{magic:08x}) overflow"),
    })?;
    let actual = bytes.len() as u64;
    if actual < expected {
        return Err(truncated(path, expected, bytes.len()));
    }
    if actual > expected {
        return Err(DataError::TrailingBytes { path: path.to_path_buf(), expected, extra: actual - expected });
    }
    Ok(IdxArray { dims, data: bytes[header as usize..].to_vec() })
}

/// Checks the 4-byte magic and returns it with the rank it declares.
fn parse_magic(bytes: &[u8], path: &Path, expect: Option<u32>) -> Result<(u32, u8)> {
    let Some(head) = bytes.get(..4) else {
        return Err(truncated(path, 4, bytes.len()));
    };
    let found = [head[0], head[1], head[2], head[3]];
    if found[0] != 0 || found[1] != 0 {
        return Err(DataError::BadMagic { path: path.to_path_buf(), found });
    }
    let magic = u32::from_be_bytes(found);
    let wanted = expect.unwrap_or(u32::from(TYPE_U8) << 8 | u32::from(found[3]));
    if magic != wanted {
        return Err(DataError::WrongType { path: path.to_path_buf(), expected: wanted, found: magic });
    }
    Ok((magic, found[3]))
}

/// Builds a [`DataError::Truncated`].
fn truncated(path: &Path, expected: u64, actual: usize) -> DataError {
    DataError::Truncated { path: path.to_path_buf(), expected, actual: actual as u64 }
}

/// Encodes a u8 array as IDX bytes (magic `0x000008<ndim>`, big-endian dims).
pub fn encode(dims: &[usize], data: &[u8]) -> Result<Vec<u8>> {
    let count = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    if dims.len() > 255 || count != Some(data.len()) || dims.iter().any(|&d| d > u32::MAX as usize) {
        let msg = format!("IDX dims {dims:?} do not fit {} bytes of data", data.len());
        return Err(DataError::InvalidArgument(msg));
    }
    let mut out = Vec::with_capacity(4 + 4 * dims.len() + data.len());
    out.extend_from_slice(&[0, 0, TYPE_U8, dims.len() as u8]);
    for &d in dims {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(data);
    Ok(out)
}

/// Gzip-compresses bytes (as written by `gzip`).
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    // Writing into a Vec cannot fail.
    enc.write_all(bytes).and_then(|_| enc.finish()).unwrap_or_default()
}

/// Writes a u8 array as an IDX file, gzip-compressed if `compress`, atomically.
pub fn write(path: &Path, dims: &[usize], data: &[u8], compress: bool) -> Result<()> {
    let bytes = encode(dims, data)?;
    let bytes = if compress { gzip(&bytes) } else { bytes };
    crate::cache::write_atomic(path, &bytes)
}
