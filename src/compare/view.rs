//! The common per-point metric view every compare input is normalised into,
//! and the catalogue of metric names, units and "worse" directions.
//!
//! Units are part of the names: `_ms` milliseconds, `_s` seconds, `_tps`
//! tokens per second, `_pct` percent. The original tool's seconds are converted
//! to milliseconds when read.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

/// Which way a metric gets worse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Latencies, times and failure rates: an increase is a regression.
    HigherIsWorse,
    /// Throughputs: a decrease is a regression.
    LowerIsWorse,
    /// Token counts: a change either way means the workload differs.
    Either,
}

/// One metric of the catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct MetricInfo {
    /// Name with its unit suffix, e.g. `ttft_ms`.
    pub name: &'static str,
    /// Unit shown in tables.
    pub unit: &'static str,
    /// Which way is worse.
    pub direction: Direction,
    /// One-line definition.
    pub description: &'static str,
}

const fn m(
    name: &'static str,
    unit: &'static str,
    direction: Direction,
    description: &'static str,
) -> MetricInfo {
    MetricInfo {
        name,
        unit,
        direction,
        description,
    }
}

use Direction::{Either, HigherIsWorse, LowerIsWorse};

/// Every metric `compare` knows, in display order.
pub const METRICS: &[MetricInfo] = &[
    m("input_tokens", "tokens", Either, "input tokens per request"),
    m(
        "output_tokens",
        "tokens",
        Either,
        "output tokens per request",
    ),
    m("ttft_ms", "ms", HigherIsWorse, "time to first token"),
    m(
        "ttfo_ms",
        "ms",
        HigherIsWorse,
        "time to first output token (reasoning excluded)",
    ),
    m(
        "tpot_ms",
        "ms",
        HigherIsWorse,
        "time per output token after the first",
    ),
    m(
        "itl_ms",
        "ms",
        HigherIsWorse,
        "gap between consecutive stream events",
    ),
    m("e2e_ms", "ms", HigherIsWorse, "end-to-end request latency"),
    m("decode_ms", "ms", HigherIsWorse, "E2E − TTFT"),
    m(
        "input_tps_per_request",
        "tok/s",
        LowerIsWorse,
        "input tokens / TTFT per request",
    ),
    m(
        "output_tps_per_request",
        "tok/s",
        LowerIsWorse,
        "(output − 1) / decode time per request",
    ),
    m(
        "e2e_output_tps",
        "tok/s",
        LowerIsWorse,
        "Σ output tokens / run wall time",
    ),
    m(
        "e2e_total_tps",
        "tok/s",
        LowerIsWorse,
        "Σ (input + output) tokens / run wall time",
    ),
    m(
        "steady_state_tps",
        "tok/s",
        LowerIsWorse,
        "median token rate of fully loaded buckets",
    ),
    m(
        "requests_per_s",
        "req/s",
        LowerIsWorse,
        "successful requests / run wall time",
    ),
    m(
        "items_per_s",
        "items/s",
        LowerIsWorse,
        "embeddings or documents / run wall time",
    ),
    m(
        "goodput_rps",
        "req/s",
        LowerIsWorse,
        "requests meeting every SLO / run wall time",
    ),
    m(
        "goodput_tps",
        "tok/s",
        LowerIsWorse,
        "output tokens of requests meeting every SLO / wall time",
    ),
    m("wall_time_s", "s", HigherIsWorse, "run (batch) wall time"),
    m(
        "failure_rate_pct",
        "%",
        HigherIsWorse,
        "failed / all measured requests × 100",
    ),
    m(
        "peak_active",
        "requests",
        Either,
        "most requests active at once",
    ),
    m(
        "fastest_s",
        "s",
        HigherIsWorse,
        "original E1–E3: first request end − batch start",
    ),
    m(
        "slowest_s",
        "s",
        HigherIsWorse,
        "original E1–E3: last request end − batch start",
    ),
    m(
        "spread_s",
        "s",
        HigherIsWorse,
        "original E1–E3: slowest − fastest",
    ),
    m(
        "combined_tps",
        "tok/s",
        LowerIsWorse,
        "original E3-advanced: Σ per-request decode throughputs",
    ),
    m(
        "items_per_s_per_request",
        "items/s",
        LowerIsWorse,
        "original embedding: embeddings / request time",
    ),
    m(
        "tokens_per_s_per_request",
        "tok/s",
        LowerIsWorse,
        "original embedding: estimated tokens / request time",
    ),
];

/// Metrics with one value per run (the others are pooled per request): the
/// tables show only their mean unless a rule asks for another statistic.
pub const PER_RUN_METRICS: &[&str] = &[
    "e2e_output_tps",
    "e2e_total_tps",
    "steady_state_tps",
    "requests_per_s",
    "items_per_s",
    "goodput_rps",
    "goodput_tps",
    "wall_time_s",
    "failure_rate_pct",
    "peak_active",
];

/// Looks a metric up by name.
#[must_use]
pub fn metric_info(name: &str) -> Option<&'static MetricInfo> {
    METRICS.iter().find(|m| m.name == name)
}

/// The closest known metric name (edit distance at most 3), for "did you mean" hints.
#[must_use]
pub fn closest_metric(name: &str) -> Option<&'static str> {
    METRICS
        .iter()
        .map(|m| (strsim::levenshtein(name, m.name), m.name))
        .filter(|(d, _)| *d <= 3)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

/// A statistic of a metric that `compare` reads and rules can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatKind {
    /// Arithmetic mean.
    Mean,
    /// Median.
    P50,
    /// 90th percentile.
    P90,
    /// 95th percentile.
    P95,
    /// 99th percentile.
    P99,
}

impl StatKind {
    /// All statistics, in display order.
    pub const ALL: [StatKind; 5] = [
        StatKind::Mean,
        StatKind::P50,
        StatKind::P90,
        StatKind::P95,
        StatKind::P99,
    ];

    /// `mean`, `p50`, …
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            StatKind::Mean => "mean",
            StatKind::P50 => "p50",
            StatKind::P90 => "p90",
            StatKind::P95 => "p95",
            StatKind::P99 => "p99",
        }
    }

    /// Parses `mean`, `p50`, `p90`, `p95`, `p99`.
    #[must_use]
    pub fn parse(s: &str) -> Option<StatKind> {
        StatKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The values known for one metric at one point. Every field is optional:
/// the original's files have only mean and std, references often only a mean.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct MetricValue {
    /// Mean.
    pub mean: Option<f64>,
    /// Standard deviation (the convention of the input; see its notes).
    pub std: Option<f64>,
    /// Median.
    pub p50: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// Number of values behind the statistics, when known.
    pub n: Option<u64>,
    /// One value per run (our results only), used by the bootstrap.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub per_run: Vec<f64>,
    /// One value per successful measured request, grouped by run (our results
    /// with `requests.parquet` only), used by the bootstrap of per-request metrics.
    #[serde(skip)]
    pub per_request: Vec<Vec<f64>>,
    /// The value was read off a chart and is approximate.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub approx: bool,
}

impl MetricValue {
    /// A value with only a mean and a std.
    #[must_use]
    pub fn mean_std(mean: f64, std: Option<f64>) -> Self {
        MetricValue {
            mean: Some(mean),
            std,
            ..MetricValue::default()
        }
    }

    /// The requested statistic, when known and finite.
    #[must_use]
    pub fn get(&self, stat: StatKind) -> Option<f64> {
        let v = match stat {
            StatKind::Mean => self.mean,
            StatKind::P50 => self.p50,
            StatKind::P90 => self.p90,
            StatKind::P95 => self.p95,
            StatKind::P99 => self.p99,
        };
        v.filter(|x| x.is_finite())
    }

    /// Multiplies every value by `factor` (unit conversion).
    #[must_use]
    pub fn scaled(mut self, factor: f64) -> Self {
        for v in [
            &mut self.mean,
            &mut self.std,
            &mut self.p50,
            &mut self.p90,
            &mut self.p95,
            &mut self.p99,
        ]
        .into_iter()
        .flatten()
        {
            *v *= factor;
        }
        for v in &mut self.per_run {
            *v *= factor;
        }
        self
    }
}

/// One point of one input, normalised.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PointMetrics {
    /// What the point measured: generation, embeddings or rerank/score.
    pub kind: WorkKind,
    /// `endpoint/scenario` when the input names its series (our results,
    /// references with labels); None for the original's files.
    pub label: Option<String>,
    /// Batch size, concurrency or rate.
    pub load: f64,
    /// `burst`, `concurrency`, `rate`, … when known.
    pub mode: Option<String>,
    /// Metric values by metric name.
    pub metrics: BTreeMap<String, MetricValue>,
}

impl PointMetrics {
    /// `label mode @ load` (label and mode when known) for tables, e.g.
    /// `sim/short burst @ 4`.
    #[must_use]
    pub fn display(&self) -> String {
        let load = crate::report::format::format_load(self.load);
        let mode = self.mode.as_deref().unwrap_or("");
        let head = match (&self.label, mode.is_empty()) {
            (Some(l), false) => format!("{l} {mode}"),
            (Some(l), true) => l.clone(),
            (None, false) => mode.to_owned(),
            (None, true) => String::new(),
        };
        if head.is_empty() {
            format!("@ {load}")
        } else {
            format!("{head} @ {load}")
        }
    }

    /// The series a chart draws this point in: one line per label and mode.
    #[must_use]
    pub fn series(&self) -> String {
        match (&self.label, &self.mode) {
            (Some(l), Some(m)) => format!("{l} {m}"),
            (Some(l), None) => l.clone(),
            (None, Some(m)) => m.clone(),
            (None, None) => String::new(),
        }
    }
}

/// What a point measured. Points of different kinds are never compared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkKind {
    /// Chat or completions: tokens generated.
    #[default]
    Generation,
    /// Embeddings.
    Embedding,
    /// Rerank or score.
    Rerank,
}

impl WorkKind {
    /// `generation`, `embedding` or `rerank`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            WorkKind::Generation => "generation",
            WorkKind::Embedding => "embedding",
            WorkKind::Rerank => "rerank",
        }
    }

    /// The kind of points served by an API named as in manifests (`chat`, `embeddings`, …).
    #[must_use]
    pub fn of_api(api: &str) -> WorkKind {
        match api {
            "embeddings" => WorkKind::Embedding,
            "rerank" | "score" => WorkKind::Rerank,
            _ => WorkKind::Generation,
        }
    }
}

/// What kind of input a source came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum SourceKind {
    /// A tokenomics results directory (`summary.json`).
    Results,
    /// A transcription of published numbers (`results/reference/*.toml`).
    Reference,
    /// A result file or directory of the original tool, with its era.
    Original {
        /// Era name, e.g. `E5 (v0.7.0+)`.
        era: String,
    },
}

impl SourceKind {
    /// Short text for tables.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            SourceKind::Results => "tokenomics results".into(),
            SourceKind::Reference => "published reference".into(),
            SourceKind::Original { era } => format!("original tool, {era}"),
        }
    }
}

/// One compare input, normalised.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SourceView {
    /// Display name (experiment/run id, reference name or file name).
    pub name: String,
    #[serde(flatten)]
    /// What kind of input it is.
    pub kind: SourceKind,
    /// The file or directory actually read.
    pub path: PathBuf,
    /// Model(s), when the input says.
    pub model: Option<String>,
    /// Workload, when the input says.
    pub scenario: Option<String>,
    /// Hardware or host, when the input says.
    pub hardware: Option<String>,
    /// What to keep in mind when comparing (definitions, units, provenance).
    pub notes: Vec<String>,
    /// Points, normalised.
    pub points: Vec<PointMetrics>,
}
