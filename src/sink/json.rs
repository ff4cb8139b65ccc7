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

use serde::{Deserialize, Serialize};

use super::{
    write_atomic, Environment, ExperimentResults, PointResult, ResultsDir, Sink, SinkError,
};
use crate::plan::{ExperimentSpec, Plan};

/// Version of the `summary.json` layout; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;
/// The summary file's name.
pub const SUMMARY_FILE: &str = "summary.json";
/// The resolved manifest's file name.
pub const MANIFEST_FILE: &str = "manifest.resolved.toml";
/// The environment file's name.
pub const ENVIRONMENT_FILE: &str = "environment.json";

/// `summary.json` as written (borrows the results).
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
    server_metrics: &'a [crate::runner::scrape::ServerMetricSample],
    searches: &'a [crate::search::SearchResult],
}

/// `summary.json` as read back.
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
    pub server_metrics: Vec<crate::runner::scrape::ServerMetricSample>,
    /// Adaptive searches and their answers (absent in files without searches).
    #[serde(default)]
    pub searches: Vec<crate::search::SearchResult>,
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
        write_atomic(&env, &to_pretty_json(&results.environment, &env)?)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::metrics::{PointSummary, RunSummary, Stat};
    use crate::plan::{LoadSpec, PointSpec};
    use std::collections::BTreeMap;
    use std::path::PathBuf;
    use std::time::Duration;

    /// A small but complete results value (one burst point, two runs), shared by the sink tests.
    pub(crate) fn sample_results() -> ExperimentResults {
        let experiment = ExperimentSpec {
            name: "demo".into(),
            description: "a test".into(),
            seed: 42,
            output_root: PathBuf::from("results"),
            max_failure_rate: Some(0.1),
            steady_state_threshold: 0.8,
            bucket: Duration::from_millis(50),
            slos: Vec::new(),
            percentiles: vec![50.0, 99.0],
            warmup_shape: crate::vocab::WarmupShape::default(),
        };
        let spec = PointSpec {
            index: 0,
            id: "sim.short.burst-8".into(),
            grid: "grid[0]".into(),
            endpoint: "sim".into(),
            scenario: "short".into(),
            load: LoadSpec::Burst { batch: 8 },
            runs: 2,
            warmup: 1,
            seed: 9,
        };
        let run = |i: u32, tps: f64| RunSummary {
            run_index: i,
            wall_time_s: 1.25,
            requests: 8,
            ok: 8,
            e2e_output_tps: tps,
            steady_state_tps: Some(tps * 1.1),
            peak_active: 8,
            peak_active_buckets: 8,
            tokens_per_bucket: vec![0, 3, 8, 8, 2],
            active_per_bucket: vec![8, 8, 8, 6, 1],
            ..RunSummary::default()
        };
        let summary = PointSummary {
            point_id: spec.id.clone(),
            endpoint: "sim".into(),
            scenario: "short".into(),
            mode: "burst".into(),
            load_value: 8.0,
            runs: 2,
            ttft_ms: Stat::from_values(&[50.0, 52.0, 61.0]),
            e2e_output_tps: Stat::from_values(&[100.0, 120.0]),
            steady_state_tps: Some(121.0),
            peak_active: 8,
            peak_active_buckets: 8,
            ..PointSummary::default()
        };
        ExperimentResults {
            plan: Plan {
                experiment,
                endpoints: BTreeMap::new(),
                scenarios: BTreeMap::new(),
                points: vec![spec.clone()],
                searches: Vec::new(),
                manifest_path: PathBuf::from("experiments/demo.toml"),
                resolved_manifest: "[experiment]\nname = \"demo\"\n".into(),
            },
            environment: Environment {
                tool_version: "0.1.0".into(),
                os: "linux".into(),
                arch: "x86_64".into(),
                cpu_count: 2,
                started_at: "2026-01-02T03:04:05+00:00".into(),
                command: vec!["tokenomics".into(), "run".into()],
                ..Environment::default()
            },
            points: vec![PointResult {
                spec,
                summary,
                runs: vec![run(0, 100.0), run(1, 120.0)],
            }],
            records: Vec::new(),
            interrupted: false,
            server_metrics: Vec::new(),
            searches: Vec::new(),
        }
    }

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
