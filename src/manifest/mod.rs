//! STAGE 1: the experiment manifest (TOML) → [`Manifest`], validated.
//!
//! Loading layers, in order: the file, then `TOKENOMICS_*` environment
//! variables, then `--set key.path=value` flags (figment). Unknown keys are
//! errors with "did you mean"; every error names the file, the key path and a fix.

use std::path::{Path, PathBuf};

/// A loaded, validated manifest.
#[derive(Clone, Debug)]
pub struct Manifest {
    /// The file it came from.
    pub path: PathBuf,
    /// The resolved manifest (file + env + `--set`) re-serialised as TOML.
    pub resolved_toml: String,
}

/// How to load a manifest.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// `--set key.path=value` overrides, applied last.
    pub overrides: Vec<String>,
}

/// A manifest error: what, where (file and key path) and how to fix it.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ManifestError {
    pub file: PathBuf,
    pub key: Option<String>,
    pub message: String,
    pub hint: Option<String>,
}

/// Loads and validates the manifest at `path`.
///
/// # Errors
/// A [`ManifestError`] naming the file, key and fix.
pub fn load(path: &Path, opts: &LoadOptions) -> Result<Manifest, ManifestError> {
    let _ = (path, opts);
    todo!("manifest::load")
}
