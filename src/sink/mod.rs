//! STAGE 7: outputs. One [`Sink`] per format, all fed the same [`ExperimentResults`].
//!
//! Layout of a results directory (`results/<experiment>/<run-id>/`):
//! `requests.parquet`, `server_metrics.parquet` (when endpoints were scraped),
//! `summary.json`, `manifest.resolved.toml`, `environment.json`, `report.html`,
//! `original/` (the original tool's per-point JSON files) and
//! `records.spool.jsonl` (the crash-safe spool).

pub mod html;
pub mod json;
pub mod merge;
pub mod original;
pub mod parquet;
pub mod plots;
pub mod read;
pub mod server_metrics;
pub mod spool;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::metrics::{PointSummary, RunSummary};
use crate::plan::{Plan, PointSpec};
use crate::record::RequestRecord;

/// Everything a run produced.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExperimentResults {
    pub plan: Plan,
    pub environment: Environment,
    pub points: Vec<PointResult>,
    /// Every record, measured and warmup, in completion order per run.
    pub records: Vec<RequestRecord>,
    /// True when the run was interrupted (Ctrl-C) before the plan finished.
    pub interrupted: bool,
    /// Samples scraped from the servers' Prometheus pages (endpoints with `metrics`).
    #[serde(default)]
    pub server_metrics: Vec<crate::runner::scrape::ServerMetricSample>,
    /// Adaptive searches (sweep, SLO search) with their probes and answers.
    pub searches: Vec<crate::search::SearchResult>,
}

/// One point with its summaries.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PointResult {
    pub spec: PointSpec,
    pub summary: PointSummary,
    pub runs: Vec<RunSummary>,
}

/// Where and on what the experiment ran.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Environment {
    pub tool_version: String,
    /// Git commit of the repository holding the manifest, when it is in one.
    pub git_commit: Option<String>,
    pub git_dirty: Option<bool>,
    pub os: String,
    pub arch: String,
    pub cpu_count: usize,
    pub hostname: Option<String>,
    /// RFC 3339 start time.
    pub started_at: String,
    pub finished_at: Option<String>,
    /// The command line (API keys are never on it).
    pub command: Vec<String>,
    /// Each endpoint's `/v1/models` answer (or the error getting it).
    pub server_models: std::collections::BTreeMap<String, serde_json::Value>,
}

/// A results directory.
#[derive(Clone, Debug)]
pub struct ResultsDir {
    pub path: PathBuf,
}

impl ResultsDir {
    #[must_use]
    pub fn new(path: impl Into<PathBuf>) -> Self {
        ResultsDir { path: path.into() }
    }

    #[must_use]
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

/// Errors writing outputs. Always names the path.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("failed to write `{path}`: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("failed to encode `{path}`: {message}")]
    Encode { path: PathBuf, message: String },
    /// A results file exists but could not be read back (corrupt, wrong format, missing field).
    #[error("failed to read `{path}`: {message}")]
    Decode { path: PathBuf, message: String },
}

/// One output format.
pub trait Sink {
    /// Short name (`parquet`, `json`, `html`, …).
    fn name(&self) -> &'static str;
    /// Writes this format into `dir`.
    ///
    /// # Errors
    /// When the file cannot be written.
    fn write(&self, dir: &ResultsDir, results: &ExperimentResults) -> Result<(), SinkError>;
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory,
/// fsync, then rename. The directory never holds a half-written file.
///
/// # Errors
/// When any step fails; the error names `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SinkError> {
    use std::io::Write;
    let io = |source| SinkError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}

/// Every output of a run, in the order written: the per-request Parquet, the
/// server-metrics Parquet (when there are samples), then the files built from
/// the summaries (see [`write_reports`]).
///
/// # Errors
/// The first sink that fails; files already written stay.
pub fn write_all(dir: &ResultsDir, results: &ExperimentResults) -> Result<(), SinkError> {
    parquet::ParquetSink.write(dir, results)?;
    server_metrics::ServerMetricsSink.write(dir, results)?;
    write_reports(dir, results)
}

/// The outputs built from summaries: `summary.json` (+ `manifest.resolved.toml`,
/// `environment.json`), the original tool's per-point JSON files and `report.html`.
/// `tokenomics report` calls this to re-render from stored data.
///
/// # Errors
/// The first sink that fails.
pub fn write_reports(dir: &ResultsDir, results: &ExperimentResults) -> Result<(), SinkError> {
    let sinks: [&dyn Sink; 3] = [
        &json::JsonSink,
        &original::OriginalJsonSink,
        &html::HtmlSink,
    ];
    for sink in sinks {
        sink.write(dir, results)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn atomic_write_error_names_path() {
        let err = write_atomic(Path::new("/nonexistent-dir-xyz/a.json"), b"x").unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent-dir-xyz/a.json"),
            "{err}"
        );
    }
}
