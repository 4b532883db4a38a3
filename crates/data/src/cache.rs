//! The data directory, SHA-256 checksums and crash-safe (atomic) file writes.
//!
//! The data directory is `$TESSERA_DATA`, else `$XDG_CACHE_HOME/tessera`, else
//! `~/.cache/tessera`. Everything written there goes to a temporary name in the same directory
//! (prefix [`TEMP_PREFIX`]) and is renamed into place only once complete and verified, so a
//! crash never leaves a half-written file under a final name. Stale temporaries are ignored
//! and cleaned up by later fetches.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use crate::error::{io_err, DataError, Result};

/// Environment variable naming the data directory (highest priority).
pub const ENV_VAR: &str = "TESSERA_DATA";
/// File-name prefix of temporary files and staging directories; never read as data.
pub const TEMP_PREFIX: &str = ".tessera-tmp-";
/// Temporaries older than this are considered abandoned by a crashed process and removed.
pub const STALE_AFTER: Duration = Duration::from_secs(3600);

/// The default data directory: `$TESSERA_DATA`, `$XDG_CACHE_HOME/tessera` or `~/.cache/tessera`.
pub fn data_dir() -> Result<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = var(ENV_VAR) {
        return Ok(dir);
    }
    if let Some(dir) = var("XDG_CACHE_HOME").filter(|d| d.is_absolute()) {
        return Ok(dir.join("tessera"));
    }
    match var("HOME") {
        Some(home) => Ok(home.join(".cache").join("tessera")),
        None => Err(DataError::NoDataDir(format!("set {ENV_VAR}, XDG_CACHE_HOME or HOME"))),
    }
}

/// `dir` if given, else [`data_dir`].
pub fn resolve_dir(dir: Option<&Path>) -> Result<PathBuf> {
    dir.map_or_else(data_dir, |d| Ok(d.to_path_buf()))
}

/// Lowercase hex SHA-256 of a byte slice.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lowercase hex SHA-256 of a file's bytes, read in chunks.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).map_err(io_err(path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(io_err(path))?;
        if n == 0 {
            return Ok(hex(&hasher.finalize()));
        }
        hasher.update(&buf[..n]);
    }
}

/// Checks a file's SHA-256 against `expected` (hex); a mismatch is [`DataError::Checksum`].
pub fn verify_sha256(path: &Path, expected: &str) -> Result<()> {
    let actual = sha256_file(path)?;
    if actual.eq_ignore_ascii_case(expected) {
        return Ok(());
    }
    Err(DataError::Checksum { path: path.to_path_buf(), expected: expected.to_lowercase(), actual })
}

/// Formats bytes as lowercase hex.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh temporary path in `dir` (unique per process and call), tagged with `name`.
pub fn temp_path(dir: &Path, name: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    dir.join(format!("{TEMP_PREFIX}{}-{n}-{nanos}-{name}", std::process::id()))
}

/// Writes `bytes` to `path` atomically: temp file in the same directory, fsync, rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = temp_path(dir, &name);
    let written = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|_| f.sync_all()))
        .map_err(io_err(&tmp))
        .and_then(|_| std::fs::rename(&tmp, path).map_err(io_err(path)));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Removes temporaries (files or staging directories named [`TEMP_PREFIX`]`*`) in `dir` last
/// modified more than `older_than` ago; returns how many were removed.
pub fn clean_stale_temps(dir: &Path, older_than: Duration) -> Result<usize> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(io_err(dir)(e)),
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            continue;
        }
        let meta = match entry.metadata() {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_err(entry.path())(e)),
        };
        let age = meta.modified().ok().and_then(|m| m.elapsed().ok()).unwrap_or(Duration::MAX);
        if age < older_than {
            continue;
        }
        let path = entry.path();
        let gone = if meta.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        match gone {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {} // another process removed it
            Err(e) => return Err(io_err(&path)(e)),
        }
    }
    Ok(removed)
}

/// A file expected in a cache directory, with its recorded SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachedFile<'a> {
    /// File name inside the cache directory.
    pub name: &'a str,
    /// Lowercase hex SHA-256 of its content.
    pub sha256: &'a str,
}

/// Returns the paths of `files` in `dir`, fetching them first unless all are present and verified.
///
/// `fetch` is given a fresh, empty staging directory (inside `dir`) and must leave every file of
/// `files` there; each is checksum-verified and only then renamed into `dir`. Whatever `fetch`
/// leaves behind on failure is removed. Cached files with a wrong checksum are fetched again.
pub fn ensure_cached(
    dir: &Path,
    files: &[CachedFile<'_>],
    fetch: impl FnOnce(&Path) -> Result<()>,
) -> Result<Vec<PathBuf>> {
    let paths: Vec<PathBuf> = files.iter().map(|f| dir.join(f.name)).collect();
    if all_valid(files, &paths) {
        return Ok(paths);
    }
    // Why the cache is being refetched, told to the user if the fetch fails: a cached file
    // that fails its checksum, not only the fetch tool's error.
    let corrupt = files.iter().zip(&paths).find_map(|(f, p)| match verify_sha256(p, f.sha256) {
        Err(e @ DataError::Checksum { .. }) => Some(e),
        _ => None,
    });
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    clean_stale_temps(dir, STALE_AFTER)?;
    let staging = temp_path(dir, "staging");
    std::fs::create_dir(&staging).map_err(io_err(&staging))?;
    let result = fetch(&staging).and_then(|_| install(&staging, files, &paths));
    let _ = std::fs::remove_dir_all(&staging);
    match (result, corrupt) {
        (Err(e), Some(why)) => Err(DataError::Invalid {
            path: dir.to_path_buf(),
            reason: format!("the cache was refetched because {why}; the fetch failed: {e}"),
        }),
        (result, _) => result.map(|_| paths),
    }
}

/// Whether every file exists with the recorded checksum.
fn all_valid(files: &[CachedFile<'_>], paths: &[PathBuf]) -> bool {
    files.iter().zip(paths).all(|(f, p)| p.is_file() && verify_sha256(p, f.sha256).is_ok())
}

/// Verifies each staged file and renames it to its final path.
fn install(staging: &Path, files: &[CachedFile<'_>], paths: &[PathBuf]) -> Result<()> {
    for (file, dest) in files.iter().zip(paths) {
        let staged = staging.join(file.name);
        if !staged.is_file() {
            let hint = "the fetch step did not produce this file".to_string();
            return Err(DataError::MissingSource { path: staged, hint });
        }
        verify_sha256(&staged, file.sha256).map_err(|e| match e {
            DataError::Checksum { expected, actual, .. } => {
                DataError::Checksum { path: dest.clone(), expected, actual }
            }
            other => other,
        })?;
        std::fs::rename(&staged, dest).map_err(io_err(dest))?;
    }
    Ok(())
}
