//! The crate's typed error, [`DataError`]: every failure names the file (or command) involved
//! and what is wrong with it. Nothing in this crate panics on bad input.

use std::path::PathBuf;

/// Everything that can go wrong while reading, fetching or batching a dataset.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// Reading, writing, renaming or listing a file failed.
    #[error("{}: I/O error: {source}", .path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A gzip-compressed file is corrupt or truncated.
    #[error("{}: gzip error: {source}", .path.display())]
    Gzip {
        /// The compressed file.
        path: PathBuf,
        /// The decoder's error.
        source: std::io::Error,
    },
    /// The first bytes are not a valid IDX magic number (`00 00 <type> <ndim>`).
    #[error("{}: bad IDX magic {found:02x?} (expected 00 00 <type> <ndim>)", .path.display())]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The four bytes found.
        found: [u8; 4],
    },
    /// The IDX element type or number of dimensions is not the one expected.
    #[error("{}: wrong IDX type: expected magic 0x{expected:08x}, found 0x{found:08x}", .path.display())]
    WrongType {
        /// The file.
        path: PathBuf,
        /// The magic number wanted (e.g. 0x00000803 for u8 images).
        expected: u32,
        /// The magic number found.
        found: u32,
    },
    /// The file is shorter than its header (or record size) says.
    #[error("{}: truncated: expected {expected} bytes, found {actual}", .path.display())]
    Truncated {
        /// The file.
        path: PathBuf,
        /// The number of bytes the header implies (or the next record boundary).
        expected: u64,
        /// The number of bytes present (decompressed).
        actual: u64,
    },
    /// The file is longer than its header says.
    #[error("{}: {extra} bytes of trailing garbage after the expected {expected} bytes", .path.display())]
    TrailingBytes {
        /// The file.
        path: PathBuf,
        /// The number of bytes the header implies.
        expected: u64,
        /// How many bytes follow them.
        extra: u64,
    },
    /// The file parses but its content is inconsistent (label out of range, count mismatch...).
    #[error("{}: invalid data: {reason}", .path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A file's SHA-256 digest differs from the recorded one.
    #[error("{}: checksum mismatch: expected sha256 {expected}, got {actual}", .path.display())]
    Checksum {
        /// The file.
        path: PathBuf,
        /// The recorded digest (lowercase hex).
        expected: String,
        /// The digest of the file found (lowercase hex).
        actual: String,
    },
    /// An external program needed to fetch a dataset is not installed.
    #[error("`{tool}` not found on PATH: {hint}")]
    MissingTool {
        /// The program name.
        tool: String,
        /// How to install it.
        hint: String,
    },
    /// An external program ran but failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status.
        status: String,
        /// The tail of what it printed on stderr.
        stderr: String,
    },
    /// A dataset's source files are not installed.
    #[error("{}: not found: {hint}", .path.display())]
    MissingSource {
        /// Where the files were looked for.
        path: PathBuf,
        /// How to install them.
        hint: String,
    },
    /// A caller passed an impossible argument (zero batch size, range out of bounds...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// No data directory could be determined from the environment.
    #[error("no data directory: {0}")]
    NoDataDir(String),
}

/// `Result` with a [`DataError`].
pub type Result<T> = std::result::Result<T, DataError>;

/// Wraps an I/O error with the path it happened on.
pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> DataError {
    let path = path.into();
    move |source| DataError::Io { path, source }
}
