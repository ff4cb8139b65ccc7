//! STAGE 9: outputs. One [`Sink`] per format, all fed the same
//! [`ExperimentResults`]: `requests.parquet` ([`parquet`]),
//! `server_metrics.parquet` ([`server_metrics`]), `summary.json` with
//! `manifest.resolved.toml` and `environment.json` ([`json`]), the original
//! tool's per-point files in `original/` ([`original`]) and `report.html`
//! ([`html`]). The results model and the layout of a results directory are the
//! results stage's (`crate::results`); what the report shows, the report
//! layer's (`crate::report`).

pub mod html;
pub mod json;
pub mod original;
pub mod parquet;
pub mod server_metrics;
pub mod writer;

use std::path::{Path, PathBuf};

use crate::results::{merge, read, ExperimentResults, ResultsDir};
pub use writer::{Sink, SinkError};

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

/// `tokenomics report`: reads the results directory `dir` and writes the files
/// built from summaries again (see [`write_reports`]). Returns the report's path.
///
/// # Errors
/// When the results cannot be read or a file cannot be written.
pub fn rewrite_reports(dir: &Path) -> Result<PathBuf, SinkError> {
    let results = read::read_results(dir)?;
    let dir = ResultsDir::new(dir);
    write_reports(&dir, &results)?;
    Ok(dir.file(crate::results::layout::REPORT_FILE))
}

/// `tokenomics merge`: merges the shard results in `inputs` (see
/// [`merge::merge_shards`]) into the new results directory `output`, with
/// every output file. Returns `output`.
///
/// # Errors
/// When a shard cannot be read or merged, or an output cannot be written.
pub fn write_merged(inputs: &[PathBuf], output: &Path) -> Result<PathBuf, SinkError> {
    let merged = merge::merge_shards(inputs, output)?;
    let dir = ResultsDir::create(output)?;
    write_all(&dir, &merged)?;
    Ok(output.to_path_buf())
}

#[cfg(test)]
mod tests;
