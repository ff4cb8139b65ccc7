//! The resolved plan: every point fully specified, nothing left to look up.
//!
//! A [`Plan`] is what `tokenomics plan` prints and `tokenomics run` executes. It
//! is built from a validated manifest by [`crate::plan::build`]; every default is
//! filled in here, so downstream stages never consult the manifest again.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::vocab::workload::Workload;
use crate::vocab::SimConfig;
use crate::vocab::{
    ApiKind, Arrival, EncodingFormat, FileFormat, ImageSpec, LoraStrategy, MalformedPolicy,
    StageKind, TokenizerSource, WarmupShape,
};

/// The whole run matrix of one experiment.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Plan {
    pub experiment: ExperimentSpec,
    /// Endpoints by name (only those used by some point).
    pub endpoints: BTreeMap<String, EndpointSpec>,
    /// Scenarios by name (only those used by some point).
    pub scenarios: BTreeMap<String, ScenarioSpec>,
    /// Points in execution order (see `plan::matrix` for the order). The probes
    /// of searches are appended here as they are chosen.
    pub points: Vec<PointSpec>,
    /// Adaptive searches (`sweep`, `slo_search` grids), run after the listed points.
    #[serde(default)]
    pub searches: Vec<super::SearchSpec>,
    /// The manifest file the plan came from.
    pub manifest_path: PathBuf,
    /// The resolved manifest (file + env + `--set`) as TOML: what runs and what is saved.
    pub resolved_manifest: String,
}

/// Experiment-wide settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExperimentSpec {
    /// Names the results directory: `<output_root>/<name>/<run-id>/`.
    pub name: String,
    pub description: String,
    /// Base seed; every point derives its own seed from it and its identity.
    pub seed: u64,
    /// Root of the results tree (default `results/`), resolved against the manifest's directory.
    pub output_root: PathBuf,
    /// Fraction of failed measured requests above which `run` exits with code 5.
    pub max_failure_rate: Option<f64>,
    /// Steady-state: a bucket counts when active ≥ threshold × reference (0.8).
    pub steady_state_threshold: f64,
    /// Width of steady-state buckets (50 ms).
    pub bucket: Duration,
    /// Service-level objectives used for goodput.
    pub slos: Vec<Slo>,
    /// Percentiles reported for every latency metric.
    pub percentiles: Vec<f64>,
    /// What warmup requests look like.
    #[serde(default)]
    pub warmup_shape: WarmupShape,
}

/// One service-level objective, e.g. `ttft_ms.p99 <= 500` or `e2e_ms <= 10000`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Slo {
    /// Metric name with unit, e.g. `ttft_ms`, `tpot_ms`, `itl_ms`, `e2e_ms`.
    pub metric: String,
    /// `None`: every request must meet the bound; `Some(p)`: the p-th percentile must.
    pub percentile: Option<f64>,
    /// Upper bound, in the metric's unit.
    pub max: f64,
}

/// Where requests go.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointTarget {
    /// A server at this base URL (e.g. `http://localhost:8000/v1`).
    Url(String),
    /// The embedded simulator, started on 127.0.0.1:0 for the run.
    Simulator(SimConfig),
}

/// Per-endpoint timeouts.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Timeouts {
    /// The whole request (default 600 s).
    pub total: Duration,
    /// TCP/TLS connect (default 10 s).
    pub connect: Duration,
    /// From sending to response headers (default: only `total` applies).
    pub first_byte: Option<Duration>,
    /// Longest silence between two reads of a stream (default: only `total` applies).
    pub idle: Option<Duration>,
}

/// Retries of failed requests (none by default). Each attempt is its own record.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Extra attempts after the first (0 = no retries).
    pub max_retries: u32,
    /// First backoff; doubles every attempt. A 429's Retry-After wins when longer.
    pub backoff: Duration,
    /// Retry on 429.
    pub on_rate_limit: bool,
    /// Retry on 5xx.
    pub on_server_error: bool,
}

/// Prometheus scraping of the server during a run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ScrapeSpec {
    /// Full URL of the metrics page (default `{root}/metrics`), or [`AUTO_METRICS_URL`].
    pub url: String,
    pub interval: Duration,
}

/// A fully resolved endpoint.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EndpointSpec {
    pub name: String,
    pub target: EndpointTarget,
    /// The `model` field sent.
    pub model: String,
    pub api: ApiKind,
    /// SSE streaming (chat/completions only).
    pub stream: bool,
    /// Name of the environment variable holding the API key; the key itself is never stored.
    pub api_key_env: Option<String>,
    pub timeouts: Timeouts,
    /// Merged into every request body (after the fields tokenomics sets).
    pub extra_body: serde_json::Map<String, serde_json::Value>,
    /// Extra HTTP headers (not for secrets: use `api_key_env`).
    pub headers: BTreeMap<String, String>,
    /// Extra HTTP headers whose values are read from these environment
    /// variables at run time (header → variable name); values are never stored.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers_env: BTreeMap<String, String>,
    /// `temperature` sent (None = not sent).
    pub temperature: Option<f64>,
    /// Sends `"ignore_eos": true` (vLLM, SGLang, llama.cpp accept it).
    pub ignore_eos: bool,
    /// Sends `"min_tokens": max_tokens` (vLLM accepts it; others may reject or ignore it).
    pub min_tokens: bool,
    /// Completions per request (`n`, sent only when > 1).
    pub n: u32,
    pub tokenizer: Option<TokenizerSource>,
    /// Path (relative to the root of `base_url`'s host) for the preflight check.
    pub health_path: String,
    pub retry: RetryPolicy,
    pub malformed: MalformedPolicy,
    /// Largest single SSE event or non-streamed body accepted, in bytes.
    pub max_event_bytes: usize,
    pub scrape: Option<ScrapeSpec>,
    /// Embeddings: `encoding_format` sent.
    pub encoding_format: EncodingFormat,
    /// Embeddings: send the whole batch as one request with a list input.
    pub embed_batch_in_one_request: bool,
    /// Rerank/score: path under `base_url` (default `/rerank`, `/score`).
    pub path_override: Option<String>,
    /// Expected embedding dimension (checked when set).
    pub embedding_dim: Option<u32>,
    /// Open the connections a run needs before its clock starts (see
    /// [`crate::client::transport`]); false leaves connection set-up inside
    /// the measured requests (their `connect_ms`).
    #[serde(default = "default_preconnect")]
    pub preconnect: bool,
}

/// The default of `preconnect`, also for a `plan.json` written before the key existed.
fn default_preconnect() -> bool {
    true
}

/// Input/output shape of the requests of a scenario.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ScenarioSpec {
    pub name: String,
    /// Token-length distribution (or embedding / rerank shape).
    pub workload: Workload,
    /// Where prompt text comes from (default: the built-in synthetic source).
    pub dataset: DatasetSpec,
    /// Images attached to each request.
    pub images: Option<ImageSpec>,
    /// Shared-prefix workload.
    pub prefix: Option<PrefixSpec>,
    /// Turns per conversation (1 = single-turn).
    pub turns: u32,
    /// LoRA adapter mix.
    pub lora: Option<LoraSpec>,
    /// Reproduce the original tool's prompt synthesis bit for bit.
    pub compat_original: bool,
    /// Cap on `max_tokens` (default 4096).
    pub max_tokens_cap: u32,
    /// Replay dataset rows verbatim, in order, instead of synthesising prompts.
    pub replay: bool,
}

/// A dataset, resolved.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct DatasetSpec {
    /// Name used in the manifest (or the config file's stem).
    pub name: String,
    pub source: DatasetSource,
    /// Column with the prompt text (default `text`).
    pub prompt_column: String,
    /// Column with images (optional).
    pub image_column: Option<String>,
    /// Optional system prompt put before every request.
    pub system_prompt: Option<String>,
    /// Column holding a chat-message list (`[{role, content}]`), used instead of `prompt_column`.
    pub messages_column: Option<String>,
    /// Most rows to read (None = all).
    pub max_rows: Option<usize>,
    /// CSV field delimiter (None: `,`, or tab for `.tsv` files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<char>,
    /// The config as written (copied into outputs, like the original's `dataset_config`).
    pub raw_config: serde_json::Value,
}

/// Where dataset rows come from.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum DatasetSource {
    /// The built-in AIME source (`gneubig/aime-1983-2024`, split `train`, column `Question`).
    Aime,
    /// Synthetic filler text (no download; the default for the demo and tests).
    Synthetic,
    /// A Hugging Face dataset by repo, config, split (Parquet via hf-hub).
    HuggingFace {
        repo: String,
        config: Option<String>,
        split: String,
        revision: Option<String>,
    },
    /// A local file (csv, json, jsonl, txt, parquet), resolved against the config's directory.
    File { path: PathBuf, format: FileFormat },
}

/// A prefix of `tokens` tokens shared by groups of requests.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PrefixSpec {
    pub tokens: u32,
    /// Number of distinct prefixes.
    pub groups: u32,
}

/// LoRA adapter assignment.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct LoraSpec {
    pub strategy: LoraStrategy,
    pub adapters: Vec<String>,
    /// Weights for `weighted` (same length as `adapters`).
    pub weights: Vec<f64>,
    /// Probability that a request uses the base model instead.
    pub base_model_ratio: f64,
    /// Zipf exponent for `zipf`.
    pub zipf_alpha: f64,
}

/// How load is applied at one point.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case", tag = "mode")]
pub enum LoadSpec {
    /// All `batch` requests released together (open loop).
    Burst { batch: u32 },
    /// Closed loop: `concurrency` in flight until `requests` have been sent (or `duration` passed).
    Concurrency {
        concurrency: u32,
        requests: u32,
        duration: Option<Duration>,
    },
    /// Open loop at `rate` requests/s with the given arrival process, on an absolute schedule.
    Rate {
        rate: f64,
        arrival: Arrival,
        requests: u32,
        duration: Option<Duration>,
        /// Cap on requests in flight; due requests wait for a slot (and the wait is recorded).
        max_concurrency: Option<u32>,
    },
    /// Stages of rate or concurrency, run back to back.
    Ramp { stages: Vec<Stage> },
}

impl LoadSpec {
    /// The load value shown in tables and used as the sweep value (batch, concurrency or rate).
    #[must_use]
    pub fn value(&self) -> f64 {
        match self {
            LoadSpec::Burst { batch } => f64::from(*batch),
            LoadSpec::Concurrency { concurrency, .. } => f64::from(*concurrency),
            LoadSpec::Rate { rate, .. } => *rate,
            LoadSpec::Ramp { stages } => stages.last().map_or(0.0, |s| s.value),
        }
    }

    /// `burst`, `concurrency`, `rate` or `ramp`.
    #[must_use]
    pub fn mode_name(&self) -> &'static str {
        match self {
            LoadSpec::Burst { .. } => "burst",
            LoadSpec::Concurrency { .. } => "concurrency",
            LoadSpec::Rate { .. } => "rate",
            LoadSpec::Ramp { .. } => "ramp",
        }
    }
}

/// One stage of a ramp.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Stage {
    /// `rate` or `concurrency`.
    pub kind: StageKind,
    pub value: f64,
    pub duration: Duration,
}

/// One point of the matrix: an endpoint × scenario × load value, run `runs` times.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PointSpec {
    /// Position in the plan (execution order).
    pub index: usize,
    /// Stable, path-safe id, e.g. `local.short.burst-8`.
    pub id: String,
    /// Name of the grid this point came from (`grid[0]` when unnamed).
    pub grid: String,
    pub endpoint: String,
    pub scenario: String,
    pub load: LoadSpec,
    /// Repetitions.
    pub runs: u32,
    /// Unmeasured requests sent one at a time before the point's first run.
    pub warmup: u32,
    /// Seed of this point, derived from the experiment seed and the point's identity.
    pub seed: u64,
}

impl PointSpec {
    /// Requests per run when known up front (duration-bound runs return the cap).
    #[must_use]
    pub fn requests_per_run(&self) -> u64 {
        match &self.load {
            LoadSpec::Burst { batch } => u64::from(*batch),
            LoadSpec::Concurrency { requests, .. } | LoadSpec::Rate { requests, .. } => {
                u64::from(*requests)
            }
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            LoadSpec::Ramp { stages } => stages
                .iter()
                .map(|s| match s.kind {
                    StageKind::Rate => (s.value * s.duration.as_secs_f64()).ceil() as u64,
                    StageKind::Concurrency => 0,
                })
                .sum(),
        }
    }
}
