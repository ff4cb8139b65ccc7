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

use crate::plan::{ApiKind, EncodingFormat, LoraStrategy, MalformedPolicy};

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
    pub experiment: RawExperiment,
    pub endpoints: BTreeMap<String, RawEndpoint>,
    #[serde(default)]
    pub datasets: BTreeMap<String, RawDataset>,
    pub scenarios: BTreeMap<String, RawScenario>,
    pub grid: Vec<RawGrid>,
}

/// `[experiment]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExperiment {
    pub name: String,
    pub description: Option<String>,
    pub seed: Option<u64>,
    pub runs: Option<u32>,
    pub warmup: Option<u32>,
    pub output_dir: Option<PathBuf>,
    pub max_failure_rate: Option<f64>,
    pub max_points: Option<u64>,
    pub max_requests: Option<u64>,
    pub percentiles: Option<Vec<f64>>,
    pub steady_state_threshold: Option<f64>,
    pub bucket_ms: Option<f64>,
    /// `[experiment.slo]`: metric name → bound(s).
    pub slo: Option<BTreeMap<String, SloValue>>,
}

/// `[endpoints.<name>]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEndpoint {
    pub base_url: Option<String>,
    pub simulator: Option<RawSimulator>,
    pub model: Option<String>,
    pub api: Option<ApiKind>,
    pub stream: Option<bool>,
    pub api_key_env: Option<String>,
    pub timeout_s: Option<f64>,
    pub connect_timeout_s: Option<f64>,
    pub first_byte_timeout_s: Option<f64>,
    pub idle_timeout_s: Option<f64>,
    pub temperature: Option<f64>,
    pub ignore_eos: Option<bool>,
    pub min_tokens: Option<bool>,
    pub n: Option<u32>,
    pub extra_body: Option<serde_json::Map<String, serde_json::Value>>,
    pub headers: Option<BTreeMap<String, String>>,
    pub tokenizer: Option<TokenizerValue>,
    pub health_path: Option<String>,
    pub retries: Option<RawRetries>,
    pub malformed_events: Option<MalformedPolicy>,
    pub max_event_bytes: Option<u64>,
    pub metrics: Option<RawScrape>,
    pub encoding_format: Option<EncodingFormat>,
    pub embedding_dim: Option<u32>,
    pub batch_in_one_request: Option<bool>,
    pub path: Option<String>,
}

/// `endpoints.<name>.simulator`: the embedded simulator instead of a URL.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSimulator {
    pub model: Option<String>,
    pub ttft_ms: Option<f64>,
    pub itl_ms: Option<f64>,
    pub batching: Option<RawBatching>,
    pub embedding_dim: Option<u32>,
    pub pooling_ms: Option<f64>,
    pub pooling_per_token_ms: Option<f64>,
    pub faults: Option<RawFaults>,
}

/// `simulator.batching`: the continuous-batching timing model.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBatching {
    pub itl_per_seq_ms: Option<f64>,
    pub prefill_per_token_ms: Option<f64>,
    pub max_batch: Option<u32>,
}

/// `simulator.faults`: injected failures.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFaults {
    pub seed: Option<u64>,
    pub http_500: Option<f64>,
    pub http_429: Option<f64>,
    pub retry_after_s: Option<u32>,
    pub stream_cut: Option<f64>,
    pub malformed_event: Option<f64>,
    pub stall: Option<f64>,
    pub stall_ms: Option<f64>,
    pub refuse: Option<f64>,
}

/// `endpoints.<name>.retries`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetries {
    pub max: Option<u32>,
    pub backoff_ms: Option<u64>,
    pub on_429: Option<bool>,
    pub on_5xx: Option<bool>,
}

/// `endpoints.<name>.metrics`: Prometheus scraping.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScrape {
    pub url: Option<String>,
    pub interval_ms: Option<u64>,
}

/// `[datasets.<name>]`: an inline dataset config, or `{ path = "..." }` naming a config file.
///
/// Dataset config files (`.toml`) use the same keys minus `path`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDataset {
    pub path: Option<PathBuf>,
    pub source: Option<SourceValue>,
    pub prompt_column: Option<String>,
    pub image_column: Option<String>,
    pub system_prompt: Option<String>,
    pub messages_column: Option<String>,
    pub max_rows: Option<u64>,
    pub description: Option<String>,
}

/// `[scenarios.<name>]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub spec: SpecValue,
    pub dataset: Option<String>,
    pub max_tokens_cap: Option<u32>,
    pub images: Option<ImagesValue>,
    pub prefix: Option<RawPrefix>,
    pub turns: Option<u32>,
    pub lora: Option<RawLora>,
    pub compat: Option<Compat>,
    pub replay: Option<bool>,
}

/// `scenarios.<name>.prefix`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPrefix {
    pub tokens: u32,
    pub groups: Option<u32>,
}

/// `scenarios.<name>.lora`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLora {
    pub strategy: LoraStrategy,
    pub adapters: Vec<String>,
    pub weights: Option<Vec<f64>>,
    pub base_model_ratio: Option<f64>,
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
    Burst,
    Concurrency,
    Rate,
    Ramp,
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
        }
    }
}

/// `[[grid]]`: endpoints × scenarios × load values.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGrid {
    pub name: Option<String>,
    pub endpoints: Vec<String>,
    pub scenarios: Vec<String>,
    pub mode: Mode,
    pub batch_sizes: Option<Vec<u32>>,
    pub concurrency: Option<Vec<u32>>,
    pub rates: Option<Vec<f64>>,
    pub arrival: Option<ArrivalValue>,
    pub requests: Option<u32>,
    pub duration_s: Option<f64>,
    pub max_concurrency: Option<u32>,
    pub stages: Option<Vec<RawStage>>,
    pub runs: Option<u32>,
    pub warmup: Option<u32>,
}

/// One ramp stage: `{ rate = 5, duration_s = 10 }` or `{ concurrency = 8, duration_s = 10 }`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStage {
    pub rate: Option<f64>,
    pub concurrency: Option<u32>,
    pub duration_s: f64,
}
