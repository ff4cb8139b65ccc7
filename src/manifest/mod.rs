//! STAGE 1: the experiment manifest (TOML) → [`Manifest`], validated.
//!
//! Loading layers, in order (later wins), merged with figment:
//!
//! 1. the manifest file (at most [`MAX_MANIFEST_BYTES`]);
//! 2. `TOKENOMICS_*` environment variables: the rest of the name, lowercased,
//!    with `__` separating key-path segments, e.g. `TOKENOMICS_EXPERIMENT__RUNS=1`
//!    sets `experiment.runs` and `TOKENOMICS_GRID__0__RUNS=1` sets `grid[0].runs`
//!    (a numeric segment indexes an array). Variables without a `__` are ignored,
//!    so unrelated variables such as `TOKENOMICS_API_KEY` never leak in;
//! 3. `--set key.path=value` flags, in the order given, e.g. `--set experiment.runs=1`,
//!    `--set grid[0].batch_sizes=[1,2]` or `--set endpoints.vllm.base_url=http://gpu:8000/v1`.
//!
//! An override's key path has at most 64 segments; TOML nesting in the file and
//! in values is bounded by the TOML parser's recursion limit (an error, never a
//! stack overflow).
//!
//! Values from variables and flags are parsed as TOML values (numbers, booleans,
//! strings in quotes, arrays, inline tables), falling back to the raw text as a string.
//!
//! The merged document is deserialized into the [`raw`] structs (unknown keys are
//! errors with "did you mean"), dataset config files named by `{ path = ... }` are
//! read, and everything is validated (cross-references, ranges, mode- and
//! API-specific keys, path-safe names). Every error names the file, the key path
//! and a fix; see [`ManifestError`].

mod dataset_config;
mod diagnostic;
mod hint;
mod layers;
pub mod limits;
pub mod raw;
pub mod spec;
mod validate;
pub mod values;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub use dataset_config::{
    format_from_extension, load_dataset_config, resolve_path, DatasetConfig, BUILTIN_DATASETS,
};
pub use spec::parse_workload;

use raw::RawManifest;

/// Largest manifest or dataset config file accepted (1 MiB).
pub const MAX_MANIFEST_BYTES: u64 = 1024 * 1024;

/// Prefix of the environment variables that override manifest keys.
pub const ENV_PREFIX: &str = "TOKENOMICS_";

/// A loaded, validated manifest.
#[derive(Clone, Debug)]
pub struct Manifest {
    /// The file it came from.
    pub path: PathBuf,
    /// The resolved manifest (file + env + `--set`) re-serialised as TOML.
    pub resolved_toml: String,
    /// The directory relative paths in the manifest are resolved against.
    pub dir: PathBuf,
    /// The validated manifest as written (after env and `--set`).
    pub raw: RawManifest,
    /// The datasets defined under `[datasets]`, with config files read.
    pub datasets: BTreeMap<String, DatasetConfig>,
}

impl Manifest {
    /// The dataset called `name`: one defined under `[datasets]`, else the
    /// built-in `aime` or `synthetic` source.
    #[must_use]
    pub fn dataset(&self, name: &str) -> Option<DatasetConfig> {
        self.datasets
            .get(name)
            .cloned()
            .or_else(|| DatasetConfig::builtin(name, &self.dir))
    }
}

/// How to load a manifest.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// `--set key.path=value` overrides, applied last.
    pub overrides: Vec<String>,
}

/// A manifest error: what, where (file and key path) and how to fix it.
///
/// Displayed as `file: key: message`, then `  hint: ...` on the next line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestError {
    /// The manifest (or dataset config) file at fault.
    pub file: PathBuf,
    /// Dotted key path, e.g. `endpoints.vllm.base_url` or `grid[0].mode`.
    pub key: Option<String>,
    /// What is wrong, a lowercase sentence fragment.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

impl ManifestError {
    pub(crate) fn new(
        file: &Path,
        key: Option<String>,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> Self {
        ManifestError {
            file: file.to_path_buf(),
            key,
            message: message.into(),
            hint,
        }
    }
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.file.display())?;
        if let Some(key) = &self.key {
            write!(f, "{key}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ManifestError {}

/// Loads and validates the manifest at `path`, with `TOKENOMICS_*` variables
/// from the process environment.
///
/// # Errors
/// A [`ManifestError`] naming the file, key and fix.
pub fn load(path: &Path, opts: &LoadOptions) -> Result<Manifest, ManifestError> {
    // Non-UTF-8 variables cannot name manifest keys; they are skipped.
    let env = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
    load_with_env(path, opts, env)
}

/// [`load`] with an explicit environment (name, value) list instead of the process's.
///
/// # Errors
/// As [`load`].
pub fn load_with_env(
    path: &Path,
    opts: &LoadOptions,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Manifest, ManifestError> {
    let text = layers::read_limited(path, "manifest")?;
    load_from_str(path, &text, opts, env)
}

/// [`load_with_env`] on manifest text already in memory; `path` names the file
/// in errors, and its directory is the one relative paths (dataset configs,
/// `output_dir`) resolve against. Text over [`MAX_MANIFEST_BYTES`] is rejected
/// with the same error as a file over the limit. Dataset config files named by
/// `{ path = ... }` are still read from disk.
///
/// # Errors
/// As [`load`].
pub fn load_from_str(
    path: &Path,
    text: &str,
    opts: &LoadOptions,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Manifest, ManifestError> {
    layers::check_size(path, "manifest", text.len())?;
    let layered = layers::Layered::build(path, text, env, &opts.overrides)?;
    let raw: RawManifest = layered.extract(path)?;
    let dir = path
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let dir = if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir
    };
    let datasets = dataset_config::load_all(path, &dir, &raw, &layered)?;
    validate::validate(path, &raw, &datasets).map_err(|e| layered.annotate(e))?;
    Ok(Manifest {
        path: path.to_path_buf(),
        resolved_toml: layered.resolved_toml(),
        dir,
        raw,
        datasets,
    })
}
