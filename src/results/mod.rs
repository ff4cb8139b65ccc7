//! STAGE 7: the results of a run, in memory and on disk.
//!
//! This stage owns the results model ([`ExperimentResults`] and its parts) and
//! the records a run leaves on disk: the crash-safe spool ([`spool`]), the
//! layout of a results directory ([`layout`]), reading a finished directory
//! back ([`read`], [`parquet`]), merging the directories of sharded runs
//! ([`merge`]) and, for `tokenomics resume`, turning a spool and `plan.json`
//! into the runs that need not be measured again ([`resume`]). Turning results
//! into pages is the report layer's job (`crate::report`); writing the output
//! files, the sinks' (`crate::sink`).
//!
//! Layout of a results directory (`results/<experiment>/<run-id>/`):
//! `plan.json` and `manifest.resolved.toml` (written first),
//! `records.spool.jsonl` (the spool, appended while the run goes),
//! `requests.parquet`, `server_metrics.parquet` (when endpoints were scraped),
//! `summary.json`, `environment.json`, `report.html` and `original/` (the
//! original tool's per-point JSON files). The names are in [`layout`].

pub mod error;
pub mod layout;
pub mod merge;
pub mod model;
pub mod parquet;
pub mod read;
pub mod resume;
pub mod spool;

pub use error::{Action, ResultsError};
pub use layout::{run_dir, write_atomic, ResultsDir, RunDirError};
pub use model::{Environment, ExperimentResults, PointResult, ServerMetricSample};

#[cfg(test)]
pub(crate) mod test_fixture;
