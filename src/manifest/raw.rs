//! The serde mirror of a manifest file: exactly what the user wrote, no logic.
//!
//! Every struct denies unknown keys. Optional keys are `Option`s here; their
//! defaults live in [`defaults`] and are filled in by the plan stage, so this
//! module stays a faithful picture of the file. Values with a shorthand form
//! (`source`, `spec`, `tokenizer`, `arrival`, `images`, SLOs) have their own
//! deserializers in [`super::values`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::vocab::WarmupShape;
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
    /// `experiment.output_dir` when unset: relative to the directory tokenomics runs in.
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

/// A tokenomics experiment manifest: endpoints × scenarios × load, run by `tokenomics run`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawManifest {
    /// Manifest format version; 1, the only one so far (default 1).
    #[schemars(range(min = 1, max = 1))]
    pub schema: Option<u32>,
    /// Names the experiment and sets what every point shares (seed, repetitions, guards, SLOs).
    pub experiment: RawExperiment,
    /// Where requests go: one table per endpoint, `[endpoints.<name>]`, each with exactly one
    /// of `base_url` and `simulator`. Names: letters, digits, `_` and `-`.
    pub endpoints: BTreeMap<String, RawEndpoint>,
    /// Where prompt text comes from: `[datasets.<name>]`, inline or `{ path = "..." }`
    /// naming a dataset config file. `aime` and `synthetic` are built in without a table.
    #[serde(default)]
    pub datasets: BTreeMap<String, RawDataset>,
    /// The shape of the requests: `[scenarios.<name>]` with a `spec`.
    pub scenarios: BTreeMap<String, RawScenario>,
    /// `[[grid]]` tables, run in file order: endpoints × scenarios × load values.
    pub grid: Vec<RawGrid>,
}

/// `[experiment]`: the name and what every point shares.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawExperiment {
    /// Names the results directory: letters, digits, `_`, `-` and `.`, at most 64 characters.
    pub name: String,
    /// Free text shown in the report (default empty).
    pub description: Option<String>,
    /// Base seed; every point derives its own seed from it (default 42).
    pub seed: Option<u64>,
    /// Repetitions of every point (default 3).
    pub runs: Option<u32>,
    /// Unmeasured requests sent one at a time before each point's first run (once per
    /// point, not per run; default 3).
    pub warmup: Option<u32>,
    /// What warmup requests look like: `point` (default: the point's own lengths, images,
    /// API and LoRA adapters; one turn, no shared prefix) or `short` (`D(32,16)`, base model).
    pub warmup_shape: Option<WarmupShape>,
    /// Results root; results go to `<output_dir>/<name>/<run-id>/`. A relative path is
    /// relative to the manifest's directory; unset, the root is `results/` in the directory
    /// tokenomics runs in.
    pub output_dir: Option<PathBuf>,
    /// When more than this fraction (0 to 1) of measured requests fail, `run` exits with code 5
    /// (default: no limit).
    pub max_failure_rate: Option<f64>,
    /// Size guard on the number of points (default 500; `--allow-large` overrides).
    pub max_points: Option<u64>,
    /// Size guard on warmup + runs × requests, summed over points (default 1,000,000).
    pub max_requests: Option<u64>,
    /// Size guard on the estimated peak memory, in MiB (default 4096).
    pub max_memory_mb: Option<u64>,
    /// Percentiles reported for every latency metric, each in (0, 100] (default 50, 90, 95, 99).
    pub percentiles: Option<Vec<f64>>,
    /// A bucket is steady when its active requests reach this fraction of the reference level
    /// (default 0.8).
    pub steady_state_threshold: Option<f64>,
    /// Width of the steady-state buckets, in ms (default 50).
    pub bucket_ms: Option<f64>,
    /// Service-level objectives for goodput: metric (`ttft_ms`, `ttfo_ms`, `tpot_ms`, `itl_ms`,
    /// `e2e_ms`) → a number bounding every request, or a table of percentile bounds.
    pub slo: Option<BTreeMap<String, SloValue>>,
}

/// `[endpoints.<name>]`: a server at `base_url`, or the embedded `simulator`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend(
    "oneOf" = [{ "required": ["base_url"] }, { "required": ["simulator"] }],
    "dependencies" = { "base_url": ["model"] }
))]
pub struct RawEndpoint {
    /// API root of a running server, e.g. `http://localhost:8000/v1`; requests go to
    /// `{base_url}/chat/completions` etc. Exactly one of `base_url` and `simulator`.
    pub base_url: Option<String>,
    /// The embedded simulator, started on 127.0.0.1 for the run, instead of `base_url`.
    pub simulator: Option<RawSimulator>,
    /// The `model` field sent (required with `base_url`).
    pub model: Option<String>,
    /// The API spoken (default `chat`).
    pub api: Option<ApiKind>,
    /// SSE streaming; chat and completions only (default true for them).
    pub stream: Option<bool>,
    /// Name of the environment variable holding the API key, sent as
    /// `Authorization: Bearer <key>` (the key itself is never stored).
    pub api_key_env: Option<String>,
    /// Whole-request timeout, in seconds (default 600).
    pub timeout_s: Option<f64>,
    /// TCP/TLS connect timeout, in seconds (default 10, capped at `timeout_s`).
    pub connect_timeout_s: Option<f64>,
    /// Timeout from sending to the response headers, in seconds (default: none).
    pub first_byte_timeout_s: Option<f64>,
    /// Longest silence between two stream reads, in seconds (default: none).
    pub idle_timeout_s: Option<f64>,
    /// `temperature` sent (default: not sent, the server's default applies).
    pub temperature: Option<f64>,
    /// Send `"ignore_eos": true` so every generation is `max_tokens` long (vLLM, SGLang and
    /// llama.cpp accept it; default false).
    pub ignore_eos: Option<bool>,
    /// Send `"min_tokens"` = `max_tokens` (vLLM; default false).
    pub min_tokens: Option<bool>,
    /// Completions per request, sent when above 1 (default 1).
    pub n: Option<u32>,
    /// Merged into every request body (may not set `model`, `messages`, `prompt`, `input` or
    /// `stream`).
    pub extra_body: Option<serde_json::Map<String, serde_json::Value>>,
    /// Extra HTTP headers with their values, written to the results: only headers whose values
    /// are not secret (`Accept`, `Accept-Encoding`, `Accept-Language`, `Cache-Control`,
    /// `Content-Type`, `User-Agent`, `X-Request-Source`, or those in `safe_headers`).
    pub headers: Option<BTreeMap<String, String>>,
    /// Extra HTTP headers whose values are read from environment variables, by name
    /// (`{ "X-Api-Key" = "MY_KEY_VAR" }`): read at run time, never stored.
    pub headers_env: Option<BTreeMap<String, String>>,
    /// Headers of `headers` whose values are not secret, beyond the built-in list.
    pub safe_headers: Option<Vec<String>>,
    /// Tokenizer for exact prompt lengths (default: none).
    pub tokenizer: Option<TokenizerValue>,
    /// Preflight path (default: `base_url`'s path + `/models`).
    pub health_path: Option<String>,
    /// Retries of failed requests (default: none).
    pub retries: Option<RawRetries>,
    /// What to do with an SSE event that is not JSON (default `skip`).
    pub malformed_events: Option<MalformedPolicy>,
    /// Largest SSE event or response body, in bytes (default 16 MiB).
    pub max_event_bytes: Option<u64>,
    /// Prometheus scraping of the server during the run (default: none).
    pub metrics: Option<RawScrape>,
    /// Embeddings only: the `encoding_format` asked for (default `float`).
    pub encoding_format: Option<EncodingFormat>,
    /// Embeddings only: the expected dimension, checked on every answer (default: not checked).
    pub embedding_dim: Option<u32>,
    /// Embeddings only: send a whole burst as one request with a list input (default false).
    pub batch_in_one_request: Option<bool>,
    /// Rerank/score only: path under `base_url` (default `/rerank` or `/score`).
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

/// `endpoints.<name>.simulator`: the embedded OpenAI-compatible simulator (all keys optional).
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSimulator {
    /// Model served (default: the endpoint's `model`, else `sim-model`).
    pub model: Option<String>,
    /// Time to first token, in ms (default 50).
    pub ttft_ms: Option<f64>,
    /// Time between tokens, in ms (default 10).
    pub itl_ms: Option<f64>,
    /// Continuous-batching timing (default: fixed timing whatever the load).
    pub batching: Option<RawBatching>,
    /// Length of the embeddings returned (default 384).
    pub embedding_dim: Option<u32>,
    /// Latency of an embeddings, rerank or score request, in ms (default 5).
    pub pooling_ms: Option<f64>,
    /// Extra pooling latency per input token, in ms (default 0.01).
    pub pooling_per_token_ms: Option<f64>,
    /// Injected failures (default: none).
    pub faults: Option<RawFaults>,
}

/// `simulator.batching`: every decode step takes `itl_ms + itl_per_seq_ms × (active − 1)`.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBatching {
    /// Extra ms per decode step per additional active sequence (default 0).
    pub itl_per_seq_ms: Option<f64>,
    /// Prefill ms per prompt token (default 0).
    pub prefill_per_token_ms: Option<f64>,
    /// Most sequences decoded at once; the rest queue (default 256).
    pub max_batch: Option<u32>,
}

/// `simulator.faults`: per-request probabilities (0 to 1) of injected failures.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFaults {
    /// Seed of the fault draws (default 0).
    pub seed: Option<u64>,
    /// Probability of an HTTP 500.
    pub http_500: Option<f64>,
    /// Probability of an HTTP 429.
    pub http_429: Option<f64>,
    /// `Retry-After` of a 429, in seconds (default 1).
    pub retry_after_s: Option<u32>,
    /// Probability the stream stops half-way.
    pub stream_cut: Option<f64>,
    /// Probability of one invalid JSON event.
    pub malformed_event: Option<f64>,
    /// Probability the stream stalls half-way.
    pub stall: Option<f64>,
    /// Length of a stall, in ms (default 1000).
    pub stall_ms: Option<f64>,
    /// Probability the connection closes without a response.
    pub refuse: Option<f64>,
}

/// `endpoints.<name>.retries`: every attempt is its own record.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRetries {
    /// Extra attempts after the first (default 0).
    pub max: Option<u32>,
    /// First backoff in ms; doubles every attempt, a longer `Retry-After` wins (default 500).
    pub backoff_ms: Option<u64>,
    /// Retry on HTTP 429 (default true).
    pub on_429: Option<bool>,
    /// Retry on HTTP 5xx (default true).
    pub on_5xx: Option<bool>,
}

/// `endpoints.<name>.metrics`: Prometheus scraping during the run.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawScrape {
    /// Metrics page (default `{scheme://host:port}/metrics`; `auto` = that default, also for
    /// simulator endpoints).
    pub url: Option<String>,
    /// Scrape interval, in ms (default 1000).
    pub interval_ms: Option<u64>,
}

/// `[datasets.<name>]`: an inline dataset, or `{ path = "..." }` naming a dataset config file
/// (which uses the same keys minus `path`).
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("anyOf" = [{ "required": ["path"] }, { "required": ["source"] }]))]
pub struct RawDataset {
    /// A dataset config file (.toml, or the original tool's .json), relative to the manifest's
    /// directory; no other key may be set beside it.
    pub path: Option<PathBuf>,
    /// Where rows come from (required unless `path` is set).
    pub source: Option<SourceValue>,
    /// Column with the prompt (default `text`).
    pub prompt_column: Option<String>,
    /// Column with images (Hugging Face or file sources).
    pub image_column: Option<String>,
    /// System message put before every request.
    pub system_prompt: Option<String>,
    /// Column with a `[{role, content}]` chat-message list, used instead of `prompt_column`.
    pub messages_column: Option<String>,
    /// Most rows read (default: all).
    pub max_rows: Option<u64>,
    /// CSV files only: the field delimiter, one character (default `,`, tab for `.tsv`).
    pub delimiter: Option<String>,
    /// Free text.
    pub description: Option<String>,
}

/// `[scenarios.<name>]`: the shape of the requests.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    /// Token-length distribution (or embedding / rerank shape).
    pub spec: SpecValue,
    /// A `[datasets]` name, `aime` or `synthetic` (default `synthetic`).
    pub dataset: Option<String>,
    /// Cap on `max_tokens` (default 4096).
    pub max_tokens_cap: Option<u32>,
    /// Images attached to every request (default: none).
    pub images: Option<ImagesValue>,
    /// A shared-prefix workload (default: none).
    pub prefix: Option<RawPrefix>,
    /// Turns per conversation; chat only when above 1 (default 1).
    pub turns: Option<u32>,
    /// LoRA adapter mix (default: none).
    pub lora: Option<RawLora>,
    /// `original` reproduces the original tool's prompt synthesis bit for bit (default: none).
    pub compat: Option<Compat>,
    /// Send dataset rows verbatim, in order (default false).
    pub replay: Option<bool>,
}

/// `scenarios.<name>.prefix`: every prompt starts with one of `groups` shared prefixes.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPrefix {
    /// Length of the shared prefix, in tokens.
    pub tokens: u32,
    /// Distinct prefixes (default 1).
    pub groups: Option<u32>,
}

/// `scenarios.<name>.lora`: which LoRA adapter each request names as its `model`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLora {
    /// How adapters are assigned.
    pub strategy: LoraStrategy,
    /// Adapter names.
    pub adapters: Vec<String>,
    /// Weights for `weighted`, one per adapter.
    pub weights: Option<Vec<f64>>,
    /// Share of requests sent to the base model, 0 to 1 (default 0).
    pub base_model_ratio: Option<f64>,
    /// Zipf exponent for `zipf` (default 1.0).
    pub zipf_alpha: Option<f64>,
}

/// `scenarios.<name>.compat`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Compat {
    /// Reproduce the original tool's prompt synthesis bit for bit.
    Original,
}

/// `[[grid]] mode`: how load is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// All requests of a batch released together (`batch_sizes`).
    Burst,
    /// Closed loop with a fixed number of requests in flight (`concurrency`).
    Concurrency,
    /// Open loop at a fixed rate (`rates`).
    Rate,
    /// Stages of rate or concurrency, back to back (`stages`).
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

/// `[[grid]]`: endpoints × scenarios × load values, one point each. The mode decides which
/// load key applies.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGrid {
    /// Labels the points (default `grid<i>`).
    pub name: Option<String>,
    /// Endpoint names from `[endpoints]`, in run order.
    pub endpoints: Vec<String>,
    /// Scenario names from `[scenarios]`, in run order.
    pub scenarios: Vec<String>,
    /// How load is applied.
    pub mode: Mode,
    /// Burst mode: batch sizes; every request of a batch is released together.
    pub batch_sizes: Option<Vec<u32>>,
    /// Concurrency mode: requests in flight, one point per level.
    pub concurrency: Option<Vec<u32>>,
    /// Rate mode: requests per second, on an absolute schedule.
    pub rates: Option<Vec<f64>>,
    /// Rate mode: the arrival process (default `poisson`).
    pub arrival: Option<ArrivalValue>,
    /// Concurrency and rate modes: requests per run (default max(64, 8 × load)).
    pub requests: Option<u32>,
    /// Concurrency and rate modes: longest run, in seconds (default: none).
    pub duration_s: Option<f64>,
    /// Rate mode: cap on requests in flight; due requests wait for a slot (default: none).
    pub max_concurrency: Option<u32>,
    /// Ramp mode: stages, back to back.
    pub stages: Option<Vec<RawStage>>,
    /// Sweep and SLO search: what to vary and where to look.
    pub search: Option<RawSearch>,
    /// Overrides `experiment.runs` for this grid.
    pub runs: Option<u32>,
    /// Overrides `experiment.warmup` for this grid.
    pub warmup: Option<u32>,
}

/// `search = { over = "concurrency", ... }` of a `sweep` or `slo_search` grid.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("required" = ["max"]))]
pub struct RawSearch {
    /// What the search varies (default `concurrency`).
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SearchOverValue {
    /// Requests in flight (closed loop).
    Concurrency,
    /// Requests per second (open loop).
    Rate,
}

/// One ramp stage: `{ rate = 5, duration_s = 10 }` or `{ concurrency = 8, duration_s = 10 }`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [{ "required": ["rate"] }, { "required": ["concurrency"] }]))]
pub struct RawStage {
    /// Open-loop rate of the stage, in requests/s (exactly one of `rate` and `concurrency`).
    pub rate: Option<f64>,
    /// Closed-loop concurrency of the stage (exactly one of `rate` and `concurrency`).
    pub concurrency: Option<u32>,
    /// Stage length, in seconds.
    pub duration_s: f64,
}
