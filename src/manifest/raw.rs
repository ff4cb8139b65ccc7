//! The serde mirror of a manifest file: exactly what the user wrote, no logic.
//!
//! Every struct denies unknown keys. Optional keys are `Option`s here; their
//! defaults live in [`defaults`] and are filled in by the plan stage, so this
//! module stays a faithful picture of the file. Values with a shorthand form
//! (`source`, `spec`, `tokenizer`, `arrival`, `images`, SLOs) have their own
//! deserializers in [`super::values`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::vocab::{ApiKind, EncodingFormat, LoraStrategy, MalformedPolicy};

use super::values::{ArrivalValue, ImagesValue, SloValue, SourceValue, SpecValue, TokenizerValue};

/// Documented defaults of every optional key.
pub mod defaults {
    /// The only manifest schema version so far.
    pub const SCHEMA: u32 = 1;
    /// `experiment.seed`.
    pub const SEED: u64 = 42;
    /// `experiment.runs`.
    pub const RUNS: u32 = 3;
    /// `experiment.warmup`.
    pub const WARMUP: u32 = 3;
    /// `experiment.output_dir` (relative to the manifest's directory).
    pub const OUTPUT_DIR: &str = "results";
    /// `experiment.max_points`.
    pub const MAX_POINTS: u64 = 500;
    /// `experiment.max_requests`.
    pub const MAX_REQUESTS: u64 = 1_000_000;
    /// `experiment.max_memory_mb`.
    pub const MAX_MEMORY_MB: u64 = 4096;
    /// `experiment.percentiles`.
    pub const PERCENTILES: [f64; 4] = [50.0, 90.0, 95.0, 99.0];
    /// `experiment.steady_state_threshold`.
    pub const STEADY_STATE_THRESHOLD: f64 = 0.8;
    /// `experiment.bucket_ms`.
    pub const BUCKET_MS: f64 = 50.0;
    /// `endpoints.*.timeout_s`.
    pub const TIMEOUT_S: f64 = 600.0;
    /// `endpoints.*.connect_timeout_s`.
    pub const CONNECT_TIMEOUT_S: f64 = 10.0;
    /// `endpoints.*.max_event_bytes` (16 MiB).
    pub const MAX_EVENT_BYTES: u64 = 16 * 1024 * 1024;
    /// `endpoints.*.retries.backoff_ms`.
    pub const RETRY_BACKOFF_MS: u64 = 500;
    /// `endpoints.*.metrics.interval_ms`.
    pub const SCRAPE_INTERVAL_MS: u64 = 1000;
    /// `endpoints.*.n`.
    pub const N: u32 = 1;
    /// Model served by a simulator when neither `model` nor `simulator.model` is set.
    pub const SIM_MODEL: &str = "sim-model";
    /// `simulator.ttft_ms`.
    pub const SIM_TTFT_MS: f64 = 50.0;
    /// `simulator.itl_ms`.
    pub const SIM_ITL_MS: f64 = 10.0;
    /// `simulator.embedding_dim`.
    pub const SIM_EMBEDDING_DIM: u32 = 384;
    /// `simulator.pooling_ms`.
    pub const SIM_POOLING_MS: f64 = 5.0;
    /// `simulator.pooling_per_token_ms`.
    pub const SIM_POOLING_PER_TOKEN_MS: f64 = 0.01;
    /// `simulator.batching.max_batch`.
    pub const SIM_MAX_BATCH: u32 = 256;
    /// `simulator.faults.retry_after_s`.
    pub const SIM_RETRY_AFTER_S: u32 = 1;
    /// `simulator.faults.stall_ms`.
    pub const SIM_STALL_MS: f64 = 1000.0;
    /// `search.factor` of a saturation sweep.
    pub const SWEEP_FACTOR: f64 = 2.0;
    /// `search.min_gain` of a saturation sweep (10%).
    pub const SWEEP_MIN_GAIN: f64 = 0.1;
    /// `search.min_attainment` of an SLO search.
    pub const SLO_MIN_ATTAINMENT: f64 = 0.99;
    /// `search.tolerance` of an SLO search over concurrency.
    pub const SLO_TOLERANCE_CONCURRENCY: f64 = 1.0;
    /// `search.tolerance` of an SLO search over rate, as a fraction of `max − min`.
    pub const SLO_TOLERANCE_RATE_FRACTION: f64 = 1.0 / 32.0;
    /// `datasets.*.prompt_column`.
    pub const PROMPT_COLUMN: &str = "text";
    /// `source.huggingface` split.
    pub const HF_SPLIT: &str = "train";
    /// `scenarios.*.max_tokens_cap`.
    pub const MAX_TOKENS_CAP: u32 = 4096;
    /// `scenarios.*.turns`.
    pub const TURNS: u32 = 1;
    /// `scenarios.*.dataset`.
    pub const DATASET: &str = "synthetic";
    /// `scenarios.*.prefix.groups`.
    pub const PREFIX_GROUPS: u32 = 1;
    /// `scenarios.*.lora.zipf_alpha`.
    pub const ZIPF_ALPHA: f64 = 1.0;
    /// Floor of the default request count in concurrency and rate modes.
    pub const MIN_REQUESTS: u32 = 64;
    /// Default requests per concurrency slot (or per request/s of rate): `max(64, 8·c)`.
    pub const REQUESTS_PER_SLOT: u32 = 8;
}

/// The whole manifest file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawManifest {
    /// Manifest format version (1).
    pub schema: Option<u32>,
    /// `[experiment]`.
    pub experiment: RawExperiment,
    /// `[endpoints.<name>]` tables.
    pub endpoints: BTreeMap<String, RawEndpoint>,
    /// `[datasets.<name>]` tables.
    #[serde(default)]
    pub datasets: BTreeMap<String, RawDataset>,
    /// `[scenarios.<name>]` tables.
    pub scenarios: BTreeMap<String, RawScenario>,
    /// `[[grid]]` tables, in file order.
    pub grid: Vec<RawGrid>,
}

/// `[experiment]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExperiment {
    /// Names the results directory (path-safe).
    pub name: String,
    /// Free text (default empty).
    pub description: Option<String>,
    /// Base seed (default 42).
    pub seed: Option<u64>,
    /// Repetitions of every point (default 3).
    pub runs: Option<u32>,
    /// Unmeasured requests before every run (default 3).
    pub warmup: Option<u32>,
    /// Results root, relative to the manifest (default `results`).
    pub output_dir: Option<PathBuf>,
    /// Failed fraction above which `run` exits with code 5.
    pub max_failure_rate: Option<f64>,
    /// Size guard on points (default 500).
    pub max_points: Option<u64>,
    /// Size guard on requests (default 1,000,000).
    pub max_requests: Option<u64>,
    /// Size guard on the estimated peak memory, in MiB (default 4096).
    pub max_memory_mb: Option<u64>,
    /// Reported percentiles (default 50, 90, 95, 99).
    pub percentiles: Option<Vec<f64>>,
    /// Steady-state threshold (default 0.8).
    pub steady_state_threshold: Option<f64>,
    /// Steady-state bucket width in ms (default 50).
    pub bucket_ms: Option<f64>,
    /// `[experiment.slo]`: metric name → bound(s).
    pub slo: Option<BTreeMap<String, SloValue>>,
}

/// `[endpoints.<name>]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEndpoint {
    /// API root of a running server.
    pub base_url: Option<String>,
    /// The embedded simulator instead of `base_url`.
    pub simulator: Option<RawSimulator>,
    /// The `model` sent (required with `base_url`).
    pub model: Option<String>,
    /// chat | completions | embeddings | rerank | score (default chat).
    pub api: Option<ApiKind>,
    /// SSE streaming (default true for chat/completions).
    pub stream: Option<bool>,
    /// Name of the variable holding the API key.
    pub api_key_env: Option<String>,
    /// Whole-request timeout (default 600).
    pub timeout_s: Option<f64>,
    /// Connect timeout (default 10).
    pub connect_timeout_s: Option<f64>,
    /// Timeout to response headers.
    pub first_byte_timeout_s: Option<f64>,
    /// Longest silence between stream reads.
    pub idle_timeout_s: Option<f64>,
    /// `temperature` sent (default: not sent).
    pub temperature: Option<f64>,
    /// Send `"ignore_eos": true`.
    pub ignore_eos: Option<bool>,
    /// Send `"min_tokens"` = `max_tokens`.
    pub min_tokens: Option<bool>,
    /// Completions per request (default 1).
    pub n: Option<u32>,
    /// Merged into every request body.
    pub extra_body: Option<serde_json::Map<String, serde_json::Value>>,
    /// Extra HTTP headers.
    pub headers: Option<BTreeMap<String, String>>,
    /// Tokenizer for exact prompt lengths.
    pub tokenizer: Option<TokenizerValue>,
    /// Preflight path (default `{base_url path}/models`).
    pub health_path: Option<String>,
    /// Retry policy (default none).
    pub retries: Option<RawRetries>,
    /// skip | fail (default skip).
    pub malformed_events: Option<MalformedPolicy>,
    /// Largest SSE event or body (default 16 MiB).
    pub max_event_bytes: Option<u64>,
    /// Prometheus scraping.
    pub metrics: Option<RawScrape>,
    /// Embeddings: float | base64 (default float).
    pub encoding_format: Option<EncodingFormat>,
    /// Embeddings: expected dimension.
    pub embedding_dim: Option<u32>,
    /// Embeddings: one request per burst with a list input.
    pub batch_in_one_request: Option<bool>,
    /// Rerank/score: path under `base_url`.
    pub path: Option<String>,
    /// Open the connections a run needs before its clock starts (default true).
    pub preconnect: Option<bool>,
}

impl RawEndpoint {
    /// `timeout_s` with its default: the one place the default total timeout is applied.
    #[must_use]
    pub fn total_timeout_s(&self) -> f64 {
        self.timeout_s.unwrap_or(defaults::TIMEOUT_S)
    }
}

/// `endpoints.<name>.simulator`: the embedded simulator instead of a URL.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSimulator {
    /// Model served (default: the endpoint's, else `sim-model`).
    pub model: Option<String>,
    /// Time to first token (default 50).
    pub ttft_ms: Option<f64>,
    /// Time between tokens (default 10).
    pub itl_ms: Option<f64>,
    /// Continuous-batching timing (default: fixed timing).
    pub batching: Option<RawBatching>,
    /// Dimension of embeddings returned (default 384).
    pub embedding_dim: Option<u32>,
    /// Latency of a pooling request (default 5).
    pub pooling_ms: Option<f64>,
    /// Extra pooling latency per input token (default 0.01).
    pub pooling_per_token_ms: Option<f64>,
    /// Injected failures (default none).
    pub faults: Option<RawFaults>,
}

/// `simulator.batching`: the continuous-batching timing model.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBatching {
    /// Extra ms per decode step per additional active sequence (default 0).
    pub itl_per_seq_ms: Option<f64>,
    /// Prefill ms per prompt token (default 0).
    pub prefill_per_token_ms: Option<f64>,
    /// Most sequences decoded at once (default 256).
    pub max_batch: Option<u32>,
}

/// `simulator.faults`: injected failures.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFaults {
    /// Seed of the fault draws (default 0).
    pub seed: Option<u64>,
    /// Probability of an HTTP 500.
    pub http_500: Option<f64>,
    /// Probability of an HTTP 429.
    pub http_429: Option<f64>,
    /// `Retry-After` of a 429 (default 1).
    pub retry_after_s: Option<u32>,
    /// Probability the stream stops half-way.
    pub stream_cut: Option<f64>,
    /// Probability of one invalid JSON event.
    pub malformed_event: Option<f64>,
    /// Probability the stream stalls half-way.
    pub stall: Option<f64>,
    /// Length of a stall (default 1000).
    pub stall_ms: Option<f64>,
    /// Probability the connection closes without a response.
    pub refuse: Option<f64>,
}

/// `endpoints.<name>.retries`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetries {
    /// Extra attempts after the first (default 0).
    pub max: Option<u32>,
    /// First backoff; doubles every attempt (default 500).
    pub backoff_ms: Option<u64>,
    /// Retry on 429 (default true).
    pub on_429: Option<bool>,
    /// Retry on 5xx (default true).
    pub on_5xx: Option<bool>,
}

/// `endpoints.<name>.metrics`: Prometheus scraping.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScrape {
    /// Metrics page (default `{scheme://host:port}/metrics`).
    pub url: Option<String>,
    /// Scrape interval (default 1000).
    pub interval_ms: Option<u64>,
}

/// `[datasets.<name>]`: an inline dataset config, or `{ path = "..." }` naming a config file.
///
/// Dataset config files (`.toml`) use the same keys minus `path`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDataset {
    /// A dataset config file (.toml or original .json), relative to the manifest.
    pub path: Option<PathBuf>,
    /// Where rows come from.
    pub source: Option<SourceValue>,
    /// Column with the prompt (default `text`).
    pub prompt_column: Option<String>,
    /// Column with images.
    pub image_column: Option<String>,
    /// System message before every request.
    pub system_prompt: Option<String>,
    /// Column with a chat-message list.
    pub messages_column: Option<String>,
    /// Most rows read.
    pub max_rows: Option<u64>,
    /// Free text.
    pub description: Option<String>,
}

/// `[scenarios.<name>]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    /// Token-length distribution (or embedding / rerank shape).
    pub spec: SpecValue,
    /// Dataset name (default `synthetic`).
    pub dataset: Option<String>,
    /// Cap on `max_tokens` (default 4096).
    pub max_tokens_cap: Option<u32>,
    /// Images attached to every request.
    pub images: Option<ImagesValue>,
    /// Shared-prefix workload.
    pub prefix: Option<RawPrefix>,
    /// Turns per conversation (default 1).
    pub turns: Option<u32>,
    /// LoRA adapter mix.
    pub lora: Option<RawLora>,
    /// Reproduce the original tool's prompt synthesis.
    pub compat: Option<Compat>,
    /// Send dataset rows verbatim, in order.
    pub replay: Option<bool>,
}

/// `scenarios.<name>.prefix`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPrefix {
    /// Length of the shared prefix, in tokens.
    pub tokens: u32,
    /// Distinct prefixes (default 1).
    pub groups: Option<u32>,
}

/// `scenarios.<name>.lora`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLora {
    /// How adapters are assigned.
    pub strategy: LoraStrategy,
    /// Adapter names.
    pub adapters: Vec<String>,
    /// Weights for `weighted`, one per adapter.
    pub weights: Option<Vec<f64>>,
    /// Share of requests sent to the base model (default 0).
    pub base_model_ratio: Option<f64>,
    /// Zipf exponent for `zipf` (default 1.0).
    pub zipf_alpha: Option<f64>,
}

/// `scenarios.<name>.compat`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compat {
    /// Reproduce the original tool's prompt synthesis bit for bit.
    Original,
}

/// `[[grid]] mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// All requests of a batch released together.
    Burst,
    /// Closed loop with a fixed number of requests in flight.
    Concurrency,
    /// Open loop at a fixed rate.
    Rate,
    /// Stages of rate or concurrency, back to back.
    Ramp,
    /// Adaptive: raise the load until throughput stops growing (`search`).
    Sweep,
    /// Adaptive: the highest load that meets `[experiment.slo]` (`search`).
    SloSearch,
}

impl Mode {
    /// The name used in the manifest and in point ids.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Burst => "burst",
            Mode::Concurrency => "concurrency",
            Mode::Rate => "rate",
            Mode::Ramp => "ramp",
            Mode::Sweep => "sweep",
            Mode::SloSearch => "slo_search",
        }
    }
}

/// `[[grid]]`: endpoints × scenarios × load values.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGrid {
    /// Labels the points (default `grid[i]`).
    pub name: Option<String>,
    /// Endpoint names, in run order.
    pub endpoints: Vec<String>,
    /// Scenario names, in run order.
    pub scenarios: Vec<String>,
    /// burst | concurrency | rate | ramp.
    pub mode: Mode,
    /// Burst: batch sizes.
    pub batch_sizes: Option<Vec<u32>>,
    /// Concurrency mode: levels.
    pub concurrency: Option<Vec<u32>>,
    /// Rate mode: requests per second.
    pub rates: Option<Vec<f64>>,
    /// Rate mode: arrival process (default poisson).
    pub arrival: Option<ArrivalValue>,
    /// Concurrency/rate: requests per run.
    pub requests: Option<u32>,
    /// Concurrency/rate: longest run, in seconds.
    pub duration_s: Option<f64>,
    /// Rate mode: cap on requests in flight.
    pub max_concurrency: Option<u32>,
    /// Ramp: stages, back to back.
    pub stages: Option<Vec<RawStage>>,
    /// Sweep and SLO search: what to vary and where to look.
    pub search: Option<RawSearch>,
    /// Overrides `experiment.runs`.
    pub runs: Option<u32>,
    /// Overrides `experiment.warmup`.
    pub warmup: Option<u32>,
}

/// `search = { over = "concurrency", ... }` of a `sweep` or `slo_search` grid.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSearch {
    /// `concurrency` (default) or `rate`.
    pub over: Option<SearchOverValue>,
    /// Sweep: the first load (default 1).
    pub start: Option<f64>,
    /// Sweep: load multiplier between probes (default 2).
    pub factor: Option<f64>,
    /// Sweep: relative throughput gain below which the server is saturated (default 0.1).
    pub min_gain: Option<f64>,
    /// SLO search: the lowest load (default 1).
    pub min: Option<f64>,
    /// Both: the highest load probed (required).
    pub max: Option<f64>,
    /// SLO search: stop when the bracket is this narrow (default 1 for concurrency,
    /// (max − min)/32 for rate).
    pub tolerance: Option<f64>,
    /// SLO search: fraction of requests that must be good and not failed (default 0.99).
    pub min_attainment: Option<f64>,
}

/// What a search varies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchOverValue {
    Concurrency,
    Rate,
}

/// One ramp stage: `{ rate = 5, duration_s = 10 }` or `{ concurrency = 8, duration_s = 10 }`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStage {
    /// Open-loop rate of the stage (requests/s).
    pub rate: Option<f64>,
    /// Closed-loop concurrency of the stage.
    pub concurrency: Option<u32>,
    /// Stage length, in seconds.
    pub duration_s: f64,
}
