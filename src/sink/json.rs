//! `summary.json`, `manifest.resolved.toml` and `environment.json`.
//!
//! `summary.json` (pretty-printed, snake_case keys, schema version 1):
//!
//! ```text
//! {
//!   "schema_version": 1,
//!   "tool": "tokenomics",
//!   "tool_version": "0.1.0",
//!   "experiment": { ExperimentSpec: name, description, seed, slos, percentiles, … },
//!   "interrupted": false,            // true when Ctrl-C stopped the plan early
//!   "environment": { Environment: tool_version, git_commit, os, cpu_count, started_at, … },
//!   "plan": { Plan: experiment, endpoints, scenarios, points, manifest_path, resolved_manifest },
//!   "points": [
//!     { "spec": PointSpec, "summary": PointSummary, "runs": [RunSummary, …] },
//!     …
//!   ]
//! }
//! ```
//!
//! Units are in the key names (`ttft_ms`, `wall_time_s`, `*_tps` tokens/s);
//! every latency is a [`Stat`](crate::metrics::Stat) `{n, mean, std, min, max,
//! p50, p90, p95, p99[, percentiles]}` with the population std (every
//! statistic `null` when `n` is 0: nothing was measured). Durations of
//! the plan are serde's `{secs, nanos}`.
//!
//! **Non-finite numbers.** The metrics never produce NaN or infinity (every
//! division is guarded and statistics drop non-finite inputs). Should one
//! reach the writer anyway (say an infinite rate typed into a manifest), it is
//! written as `null`: the file is always valid JSON and never holds `NaN`.
//!
//! `manifest.resolved.toml` is `plan.resolved_manifest` verbatim (the manifest
//! as run: file + environment + `--set`). `environment.json` is the
//! [`Environment`] alone, pretty-printed. All three are written atomically.

use serde::Serialize;

use super::writer::{Sink, SinkError};
use crate::plan::{ExperimentSpec, Plan};
use crate::results::layout::{ENVIRONMENT_FILE, MANIFEST_FILE, SCHEMA_VERSION, SUMMARY_FILE};
use crate::results::{
    write_atomic, Environment, ExperimentResults, PointResult, ResultsDir, ServerMetricSample,
};
use crate::search::SearchResult;

/// `summary.json` as written (borrows the results; `crate::results::read` reads it back).
#[derive(Serialize)]
struct SummaryOut<'a> {
    schema_version: u32,
    tool: &'static str,
    tool_version: &'a str,
    experiment: &'a ExperimentSpec,
    interrupted: bool,
    environment: &'a Environment,
    plan: &'a Plan,
    points: &'a [PointResult],
    server_metrics: &'a [ServerMetricSample],
    searches: &'a [SearchResult],
}

/// Writes `summary.json`, `manifest.resolved.toml` and `environment.json`.
#[derive(Clone, Copy, Debug, Default)]
pub struct JsonSink;

/// Pretty-prints `value` as JSON (non-finite floats become `null`), naming `path` on failure.
pub(crate) fn to_pretty_json<T: Serialize + ?Sized>(
    value: &T,
    path: &std::path::Path,
) -> Result<Vec<u8>, SinkError> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| SinkError::Encode {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// The `summary.json` bytes for `results`.
///
/// # Errors
/// When serialization fails (the error names `path`).
pub fn summary_bytes(
    results: &ExperimentResults,
    path: &std::path::Path,
) -> Result<Vec<u8>, SinkError> {
    let tool_version = if results.environment.tool_version.is_empty() {
        env!("CARGO_PKG_VERSION")
    } else {
        results.environment.tool_version.as_str()
    };
    let out = SummaryOut {
        schema_version: SCHEMA_VERSION,
        tool: "tokenomics",
        tool_version,
        experiment: &results.plan.experiment,
        interrupted: results.interrupted,
        environment: &results.environment,
        plan: &results.plan,
        points: &results.points,
        server_metrics: &results.server_metrics,
        searches: &results.searches,
    };
    to_pretty_json(&out, path)
}

impl Sink for JsonSink {
    fn name(&self) -> &'static str {
        "json"
    }

    fn write(&self, dir: &ResultsDir, results: &ExperimentResults) -> Result<(), SinkError> {
        let summary = dir.file(SUMMARY_FILE);
        write_atomic(&summary, &summary_bytes(results, &summary)?)?;
        let manifest = dir.file(MANIFEST_FILE);
        write_atomic(&manifest, results.plan.resolved_manifest.as_bytes())?;
        let env = dir.file(ENVIRONMENT_FILE);
        Ok(write_atomic(
            &env,
            &to_pretty_json(&results.environment, &env)?,
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::test_fixture::small_results as sample_results;

    #[test]
    fn writes_the_three_files_with_the_documented_layout() {
        let dir = tempfile::tempdir().unwrap();
        let rd = ResultsDir::new(dir.path());
        let results = sample_results();
        JsonSink.write(&rd, &results).unwrap();
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(rd.file(SUMMARY_FILE)).unwrap()).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "schema_version",
                "tool",
                "tool_version",
                "experiment",
                "interrupted",
                "environment",
                "plan",
                "points",
                "server_metrics",
                "searches"
            ]
        );
        assert_eq!(v["schema_version"], 1);
        assert_eq!(v["tool"], "tokenomics");
        assert_eq!(v["experiment"]["name"], "demo");
        assert_eq!(v["points"][0]["spec"]["id"], "sim.short.burst-8");
        assert_eq!(v["points"][0]["runs"][1]["e2e_output_tps"], 120.0);
        assert_eq!(v["points"][0]["summary"]["ttft_ms"]["n"], 3);
        assert_eq!(
            std::fs::read_to_string(rd.file(MANIFEST_FILE)).unwrap(),
            results.plan.resolved_manifest
        );
        let env: Environment =
            serde_json::from_slice(&std::fs::read(rd.file(ENVIRONMENT_FILE)).unwrap()).unwrap();
        assert_eq!(env.cpu_count, 2);
        // pretty-printed
        let text = std::fs::read_to_string(rd.file(SUMMARY_FILE)).unwrap();
        assert!(
            text.starts_with("{\n  \"schema_version\": 1,"),
            "{}",
            &text[..40]
        );
    }

    #[test]
    fn non_finite_numbers_are_written_as_null() {
        let mut results = sample_results();
        results.points[0].summary.load_value = f64::NAN;
        results.points[0].runs[0].e2e_output_tps = f64::INFINITY;
        let bytes = summary_bytes(&results, std::path::Path::new("summary.json")).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(!text.contains("NaN") && !text.contains("inf"), "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(v["points"][0]["summary"]["load_value"].is_null());
        assert!(v["points"][0]["runs"][0]["e2e_output_tps"].is_null());
    }
}
