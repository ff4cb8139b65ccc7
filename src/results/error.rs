//! [`ResultsError`]: a results file that could not be read, written or merged,
//! with the path, what went wrong and, when there is one, how to fix it.

use std::path::{Path, PathBuf};

/// What was being done with the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Read,
    Write,
    Merge,
}

impl Action {
    /// The words the error message starts with.
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Action::Read => "failed to read",
            Action::Write => "failed to write",
            Action::Merge => "cannot merge",
        }
    }
}

/// A results file that could not be read, written or merged. Always names the path.
#[derive(Debug, thiserror::Error)]
#[error("{} `{}`: {message}", .action.describe(), .path.display())]
pub struct ResultsError {
    pub action: Action,
    /// The file or directory concerned.
    pub path: PathBuf,
    /// What went wrong.
    pub message: String,
    /// How to fix it, when there is something to say.
    pub hint: Option<String>,
}

impl ResultsError {
    /// `path` could not be read (or is not what tokenomics writes there).
    pub fn read(path: &Path, message: impl std::fmt::Display) -> Self {
        Self::new(Action::Read, path, message)
    }

    /// `path` could not be written.
    pub fn write(path: &Path, message: impl std::fmt::Display) -> Self {
        Self::new(Action::Write, path, message)
    }

    /// The shard at `path` cannot join the merge.
    pub fn merge(path: &Path, message: impl std::fmt::Display) -> Self {
        Self::new(Action::Merge, path, message)
    }

    fn new(action: Action, path: &Path, message: impl std::fmt::Display) -> Self {
        ResultsError {
            action,
            path: path.to_path_buf(),
            message: message.to_string(),
            hint: None,
        }
    }

    /// The same error with a hint.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}
