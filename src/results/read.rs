//! Reading a results directory back into [`ExperimentResults`], so
//! `tokenomics report` can re-render outputs without re-running anything.
//!
//! Sources: `summary.json` (plan, environment, point and run summaries,
//! `interrupted`) and `requests.parquet` (every record). When
//! `requests.parquet` is missing but the spool `records.spool.jsonl` is there
//! (a run killed before its outputs were written), the records come from the
//! spool instead. `summary.json` must have `schema_version` 1.
//!
//! Server-metric samples come from `summary.json`; when it has none but
//! `server_metrics.parquet` is there (a summary written without them), they
//! are read from that file, so a re-rendered report keeps its server charts.

use std::path::Path;

use serde::Deserialize;

use super::error::ResultsError;
use super::layout::{
    ResultsDir, REQUESTS_FILE, SCHEMA_VERSION, SERVER_METRICS_FILE, SPOOL_FILE, SUMMARY_FILE,
};
use super::model::{Environment, ExperimentResults, PointResult, ServerMetricSample};
use super::{parquet, spool};
use crate::plan::{ExperimentSpec, Plan};
use crate::search::SearchResult;

/// `summary.json` as read back (the JSON sink, `crate::sink::json`, writes it).
#[derive(Clone, Debug, Deserialize)]
pub struct SummaryFile {
    pub schema_version: u32,
    pub tool: String,
    pub tool_version: String,
    pub experiment: ExperimentSpec,
    pub interrupted: bool,
    pub environment: Environment,
    pub plan: Plan,
    pub points: Vec<PointResult>,
    /// Prometheus samples scraped during the run (absent in files without scraping).
    #[serde(default)]
    pub server_metrics: Vec<ServerMetricSample>,
    /// Adaptive searches and their answers (absent in files without searches).
    #[serde(default)]
    pub searches: Vec<SearchResult>,
}

/// Reads `dir` (a `results/<experiment>/<run-id>` directory).
///
/// # Errors
/// When `summary.json` is missing, unreadable, of another schema version, or
/// when neither `requests.parquet` nor the spool can be read; errors name the file.
pub fn read_results(dir: &Path) -> Result<ExperimentResults, ResultsError> {
    let summary_path = dir.join(SUMMARY_FILE);
    let bytes = ResultsDir::new(dir).read(SUMMARY_FILE)?;
    let decode = |message: String| ResultsError::read(&summary_path, message);
    // Check the version first, so a newer layout gets a clear message rather than a field error.
    let version = serde_json::from_slice::<serde_json::Value>(&bytes)
        .map_err(|e| decode(format!("not valid JSON: {e}")))?
        .get("schema_version")
        .and_then(serde_json::Value::as_u64);
    if version != Some(u64::from(SCHEMA_VERSION)) {
        return Err(decode(format!(
            "schema_version is {}, this tokenomics reads {SCHEMA_VERSION}",
            version.map_or_else(|| "missing".to_string(), |v| v.to_string())
        ))
        .with_hint("use the tokenomics version that wrote it (see `tool_version` in the file)"));
    }
    let summary: SummaryFile = serde_json::from_slice(&bytes).map_err(|e| decode(e.to_string()))?;

    let parquet_path = dir.join(REQUESTS_FILE);
    let spool_path = dir.join(SPOOL_FILE);
    let records = if !parquet_path.exists() && spool_path.exists() {
        spool::read_spool(&spool_path)?.current_records()
    } else {
        parquet::read_records(&parquet_path)?
    };
    let metrics_path = dir.join(SERVER_METRICS_FILE);
    let server_metrics = if summary.server_metrics.is_empty() && metrics_path.exists() {
        parquet::read_samples(&metrics_path)?
    } else {
        summary.server_metrics
    };
    Ok(ExperimentResults {
        plan: summary.plan,
        environment: summary.environment,
        points: summary.points,
        records,
        interrupted: summary.interrupted,
        server_metrics,
        searches: summary.searches,
    })
}
