//! The top-level error and the documented exit codes.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | internal error |
//! | 2 | command-line usage error |
//! | 3 | invalid manifest, dataset config or plan |
//! | 4 | preflight failed (endpoint unreachable, model missing, API key unset, dataset or tokenizer unavailable) |
//! | 5 | run finished but the failure rate exceeded `max_failure_rate` |
//! | 6 | writing or reading results failed |
//! | 7 | `compare --fail-if-regression` found a regression |
//! | 130 | interrupted by Ctrl-C (SIGINT); partial results were written |
//! | 143 | stopped by SIGTERM, handled like a first Ctrl-C; partial results were written |
//! | 129 | stopped by SIGHUP, handled like a first Ctrl-C; partial results were written |

/// Exit codes (see the module docs and the README).
pub mod exit {
    pub const OK: i32 = 0;
    pub const INTERNAL: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const INVALID_INPUT: i32 = 3;
    pub const PREFLIGHT: i32 = 4;
    pub const FAILURE_THRESHOLD: i32 = 5;
    pub const OUTPUT: i32 = 6;
    pub const REGRESSION: i32 = 7;
    pub const INTERRUPTED: i32 = 130;
    /// Stopped by SIGTERM (128 + 15), like a first Ctrl-C otherwise.
    pub const TERMINATED: i32 = 143;
    /// Stopped by SIGHUP (128 + 1), like a first Ctrl-C otherwise.
    pub const HANGUP: i32 = 129;
}

/// Any error that ends a command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Manifest(#[from] crate::manifest::ManifestError),
    #[error(transparent)]
    Dataset(#[from] crate::dataset::DatasetError),
    /// Printed once: the message is in this line, so it is not also a cause.
    #[error("preflight failed: {0}")]
    Preflight(crate::client::PreflightError),
    #[error(transparent)]
    Sink(#[from] crate::sink::SinkError),
    /// A file of a results directory could not be read, written or merged.
    #[error(transparent)]
    ResultsFile(#[from] crate::results::ResultsError),
    /// An input that is not a results file of this build (`compare`'s inputs).
    #[error("{message}")]
    Results { message: String },
    /// A command-line value clap does not check itself (bad `--shard`,
    /// a malformed `--fail-if-regression` rule, a results directory already used).
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },
    /// A part of tokenomics itself could not start or stopped early (a thread,
    /// a runtime, a child process, standard output).
    #[error("{what}: {source}")]
    Process {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// Encoding tokenomics' own data failed.
    #[error("failed to encode {what}: {source}")]
    Encode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// A task of the run ended without handing over its result.
    #[error("the {task} task failed: {source}")]
    Task {
        task: &'static str,
        #[source]
        source: tokio::task::JoinError,
    },
    /// `bench-client` could not set up its measurement or read it back.
    #[error("{message}")]
    Bench {
        message: String,
        hint: Option<String>,
    },
}

impl From<crate::results::RunDirError> for Error {
    fn from(e: crate::results::RunDirError) -> Self {
        Error::Usage {
            message: e.to_string(),
            hint: Some(e.error.hint.to_owned()),
        }
    }
}

impl From<crate::cli::FlagError> for Error {
    fn from(e: crate::cli::FlagError) -> Self {
        Error::Usage {
            message: e.to_string(),
            hint: e.hint.map(str::to_owned),
        }
    }
}

impl From<crate::client::PreflightError> for Error {
    fn from(e: crate::client::PreflightError) -> Self {
        Error::Preflight(e)
    }
}

impl Error {
    /// The process exit code for this error.
    #[must_use]
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Manifest(_) => exit::INVALID_INPUT,
            Error::Dataset(_) | Error::Preflight(_) => exit::PREFLIGHT,
            Error::Sink(_) | Error::ResultsFile(_) | Error::Results { .. } => exit::OUTPUT,
            Error::Usage { .. } => exit::USAGE,
            Error::Process { .. }
            | Error::Encode { .. }
            | Error::Task { .. }
            | Error::Bench { .. } => exit::INTERNAL,
        }
    }

    /// How to fix it, when there is something to say.
    #[must_use]
    pub fn hint(&self) -> Option<&str> {
        match self {
            // Manifest errors print their hint as part of their message.
            Error::Preflight(e) => e.hint.as_deref(),
            Error::ResultsFile(e) | Error::Sink(crate::sink::SinkError::Results(e)) => {
                e.hint.as_deref()
            }
            Error::Usage { hint, .. } | Error::Bench { hint, .. } => hint.as_deref(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_id_that_is_not_a_name_is_a_usage_error_with_its_hint() {
        let err: Error =
            crate::results::run_dir(std::path::Path::new("out"), "demo", Some("../x".into()))
                .unwrap_err()
                .into();
        assert_eq!(err.exit_code(), exit::USAGE);
        assert!(err.to_string().starts_with("--run-id: "), "{err}");
        assert!(err.hint().is_some_and(|h| h.contains("letters, digits")));
    }

    #[test]
    fn results_file_errors_exit_6_with_their_hint() {
        let e = crate::results::ResultsError::read(std::path::Path::new("r/plan.json"), "gone")
            .with_hint("look elsewhere");
        let err = Error::from(e);
        assert_eq!(err.exit_code(), exit::OUTPUT);
        assert_eq!(err.to_string(), "failed to read `r/plan.json`: gone");
        assert_eq!(err.hint(), Some("look elsewhere"));
        let err = Error::from(crate::sink::SinkError::from(
            crate::results::ResultsError::write(std::path::Path::new("r/a"), "full")
                .with_hint("free space"),
        ));
        assert_eq!(err.exit_code(), exit::OUTPUT);
        assert_eq!(err.hint(), Some("free space"));
    }
}
