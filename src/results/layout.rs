//! The layout of a results directory: where a run's directory goes, the names
//! of its files, and the atomic write every whole file goes through.

use std::path::{Path, PathBuf};

use super::error::ResultsError;
use crate::vocab::name::{check_name, NameError, NameKind};

/// The plan as run (probe points of adaptive searches are appended as they run).
pub const PLAN_FILE: &str = "plan.json";
/// The manifest as run: file + environment + `--set`.
pub const MANIFEST_FILE: &str = "manifest.resolved.toml";
/// The crash-safe spool of records (see [`super::spool`]).
pub const SPOOL_FILE: &str = "records.spool.jsonl";
/// One row per request record.
pub const REQUESTS_FILE: &str = "requests.parquet";
/// The servers' Prometheus samples (only when endpoints were scraped).
pub const SERVER_METRICS_FILE: &str = "server_metrics.parquet";
/// Plan, environment and every summary.
pub const SUMMARY_FILE: &str = "summary.json";
/// The environment alone.
pub const ENVIRONMENT_FILE: &str = "environment.json";
/// The HTML report.
pub const REPORT_FILE: &str = "report.html";
/// The directory of the original tool's per-point files.
pub const ORIGINAL_DIR: &str = "original";
/// Keeps a run directory out of git (`*`: everything in it, itself included).
pub const GITIGNORE_FILE: &str = ".gitignore";
/// What [`GITIGNORE_FILE`] holds.
const GITIGNORE_TEXT: &str =
    "# Written by tokenomics: a run's outputs stay out of git (`git add -f` keeps one).\n*\n";
/// Version of the `summary.json` layout; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

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

    /// Creates the directory (and its parents) when missing.
    ///
    /// # Errors
    /// When it cannot be created; the error names it.
    pub fn create(path: impl Into<PathBuf>) -> Result<Self, ResultsError> {
        let dir = Self::new(path);
        std::fs::create_dir_all(&dir.path).map_err(|e| ResultsError::write(&dir.path, e))?;
        Ok(dir)
    }

    #[must_use]
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// The bytes of the file `name` in this directory.
    ///
    /// # Errors
    /// When it cannot be read; the error names it and says which directory to give.
    pub fn read(&self, name: &str) -> Result<Vec<u8>, ResultsError> {
        let path = self.file(name);
        std::fs::read(&path).map_err(|e| {
            ResultsError::read(&path, e)
                .with_hint("give the directory of one run, `<results root>/<experiment>/<run-id>`")
        })
    }

    /// Creates a run's directory like [`Self::create`] and writes its
    /// `.gitignore`, so that neither `git status` nor a later run's `git_dirty`
    /// sees the outputs. An existing `.gitignore` is left as it is.
    ///
    /// # Errors
    /// When the directory or the file cannot be written; the error names it.
    pub fn create_run(path: impl Into<PathBuf>) -> Result<Self, ResultsError> {
        let dir = Self::create(path)?;
        let ignore = dir.file(GITIGNORE_FILE);
        if !ignore.exists() {
            write_atomic(&ignore, GITIGNORE_TEXT.as_bytes())?;
        }
        Ok(dir)
    }

    /// True when a run finished here (its `summary.json` exists).
    #[must_use]
    pub fn holds_finished_run(&self) -> bool {
        self.file(SUMMARY_FILE).exists()
    }

    /// True when a run started here and did not finish: its spool holds
    /// something and there is no `summary.json`.
    #[must_use]
    pub fn holds_unfinished_run(&self) -> bool {
        !self.holds_finished_run()
            && std::fs::metadata(self.file(SPOOL_FILE)).is_ok_and(|m| m.len() > 0)
    }
}

/// A run directory name that is not one plain path component.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {}", .error.message)]
pub struct RunDirError {
    /// Where the name came from: `experiment.name` or `--run-id`.
    pub key: &'static str,
    pub error: NameError,
}

/// The run's directory: `<results root>/<experiment name>/<run id>`.
///
/// Both names are single path components (letters, digits, `_`, `-` and `.`,
/// starting with a letter or digit, at most 64 bytes), so a run never writes
/// outside its results root: the experiment name is checked when the manifest
/// is validated, a `--run-id` here (the default is a UTC timestamp).
///
/// # Errors
/// A [`RunDirError`] naming the key whose value is not a plain name.
pub fn run_dir(
    root: &Path,
    experiment: &str,
    run_id: Option<String>,
) -> Result<PathBuf, RunDirError> {
    let id = run_id.unwrap_or_else(|| chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string());
    for (kind, key, name) in [
        (NameKind::Experiment, "experiment.name", experiment),
        (NameKind::Run, "--run-id", id.as_str()),
    ] {
        check_name(kind, name).map_err(|error| RunDirError { key, error })?;
    }
    Ok(root.join(experiment).join(id))
}

/// Claims a fresh directory for a run with the default (timestamp) id: `dir`
/// itself when nobody has it, else `dir-2`, `dir-3`, … — created atomically,
/// so two runs started in the same second never share a directory.
///
/// # Errors
/// When no directory can be created; the error names it.
pub fn claim_run_dir(dir: &Path) -> Result<PathBuf, ResultsError> {
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent).map_err(|e| ResultsError::write(parent, e))?;
    }
    let name = dir
        .file_name()
        .map_or_else(|| "run".into(), |n| n.to_string_lossy().into_owned());
    let mut last_error = None;
    for n in 1..=1000u32 {
        let candidate = if n == 1 {
            dir.to_path_buf()
        } else {
            dir.with_file_name(format!("{name}-{n}"))
        };
        match std::fs::create_dir(&candidate) {
            Ok(()) => return Ok(candidate),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                last_error = Some(ResultsError::write(&candidate, e));
                break;
            }
        }
    }
    Err(last_error
        .unwrap_or_else(|| ResultsError::write(dir, "1,000 runs already use this second's id")))
}

/// The temporary name `path` is written under before its rename: a hidden
/// file in the same directory, tagged with the process id.
#[must_use]
pub fn temp_path(path: &Path) -> PathBuf {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    dir.join(format!(".{name}.tmp-{}", std::process::id()))
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory,
/// fsync, then rename. The directory never holds a half-written file.
///
/// # Errors
/// When any step fails; the error names `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ResultsError> {
    use std::io::Write;
    let tmp = temp_path(path);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(|e| ResultsError::write(path, e))
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

    #[test]
    fn run_dir_is_root_experiment_run_id() {
        let dir = run_dir(Path::new("out"), "demo", Some("r1.2".into())).expect("valid");
        assert_eq!(dir, Path::new("out/demo/r1.2"));
        // The default id is a timestamp, one component under the experiment.
        let dir = run_dir(Path::new("out"), "demo", None).expect("valid");
        assert_eq!(dir.parent(), Some(Path::new("out/demo")));
    }

    #[test]
    fn runs_started_in_the_same_second_get_their_own_directories() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("demo/20261204T101500Z");
        let first = claim_run_dir(&dir).unwrap();
        let second = claim_run_dir(&dir).unwrap();
        let third = claim_run_dir(&dir).unwrap();
        assert_eq!(first, dir);
        assert_eq!(second, root.path().join("demo/20261204T101500Z-2"));
        assert_eq!(third, root.path().join("demo/20261204T101500Z-3"));
        assert!(first.is_dir() && second.is_dir() && third.is_dir());
    }

    #[test]
    fn run_ids_that_would_leave_the_results_root_are_rejected() {
        for bad in [
            "..", ".", "../x", "a/b", "/abs", "a\\b", "", ".hidden", "x\0y", "a b",
        ] {
            let err = run_dir(Path::new("out"), "demo", Some(bad.into()))
                .expect_err(&format!("{bad:?} accepted"));
            assert_eq!(err.key, "--run-id");
            assert!(err.to_string().starts_with("--run-id: "), "{err}");
            assert!(
                err.error.hint.contains("letters, digits"),
                "{}",
                err.error.hint
            );
        }
        let long = "a".repeat(65);
        assert!(run_dir(Path::new("out"), "demo", Some(long)).is_err());
    }

    #[test]
    fn experiment_names_are_checked_again() {
        let err = run_dir(Path::new("out"), "../up", Some("r".into())).expect_err("rejected");
        assert_eq!(err.key, "experiment.name");
        assert!(err.to_string().starts_with("experiment.name: "), "{err}");
    }
}
