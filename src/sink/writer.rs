//! The [`Sink`] trait every output format implements, and [`SinkError`].

use std::path::PathBuf;

use crate::results::{ExperimentResults, ResultsDir, ResultsError};

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
    /// Writing a whole file (see [`crate::results::write_atomic`]) or reading
    /// the results to write from (`tokenomics report`, `merge`) failed.
    #[error(transparent)]
    Results(#[from] ResultsError),
}

impl SinkError {
    /// The same error naming `path` when it is an encoding error (pages are
    /// rendered before the file they go to is known).
    #[must_use]
    pub fn at(self, path: &std::path::Path) -> Self {
        match self {
            SinkError::Encode { message, .. } => SinkError::Encode {
                path: path.to_path_buf(),
                message,
            },
            other => other,
        }
    }
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
