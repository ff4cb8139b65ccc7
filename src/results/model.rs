//! The results model: what a run produced, as the sinks write it and
//! `tokenomics report`, `merge` and `compare` read it back.

use serde::{Deserialize, Serialize};

use crate::metrics::{PointSummary, RunSummary};
use crate::plan::{Plan, PointSpec};
use crate::record::RequestRecord;
use crate::search::SearchResult;

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
    pub server_metrics: Vec<ServerMetricSample>,
    /// Adaptive searches (sweep, SLO search) with their probes and answers.
    pub searches: Vec<SearchResult>,
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

/// One value scraped from a server's Prometheus page during a run (the runner's
/// scraper, `crate::runner::scrape`, lists the series it keeps per server).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServerMetricSample {
    pub endpoint: String,
    pub point_index: u32,
    pub run_index: u32,
    /// Milliseconds since the run's t0, the origin of the records' `*_ns` timestamps
    /// (the runner re-bases the scraper's own stamps; a scrape taken just before the
    /// first request is slightly negative).
    pub t_ms: f64,
    /// Normalised name (`running`, `waiting`, `kv_cache_usage`, …).
    pub name: String,
    /// The series name on the server.
    pub raw_name: String,
    pub value: f64,
}
