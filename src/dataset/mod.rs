//! STAGE 3: prompts and request bodies, made before a run's clock starts.
//!
//! A [`Preparer`] is built once per plan: it loads every dataset and tokenizer
//! the plan needs (from local files and the Hugging Face cache only; no network),
//! checks every point's endpoint × scenario combination, and then turns a point
//! and a run index into the exact request bodies that run will send, in
//! schedule order ([`Preparer::prepare_run`], [`Preparer::prepare_warmup`]).
//! [`fetch`] downloads what a plan needs from the Hub into the cache
//! (`tokenomics fetch`).
//!
//! Everything is derived from the point's seed, the run index and the request
//! index (see `rng` for the exact derivation), so the same manifest gives
//! byte-identical bodies every time, and request `i` of a run does not depend on
//! how many requests the run has.
//!
//! Pieces: `config` (dataset configs), `source` (files, Parquet, column rules),
//! `hub` (cache and downloads), `tokens` (exact-token texts), `text` (built-in
//! text), `images`, `lora`, `body` (request bodies, [`next_turn`]), and
//! [`scenario`] (the length grammar).

mod body;
pub mod compat;
mod hub;
mod images;
mod lora;
mod prepare;
mod rng;
mod source;
#[cfg(test)]
mod tests;
mod text;
mod tokens;

use std::path::PathBuf;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

pub use body::next_turn;
pub use hub::{HubConfig, PARQUET_REVISION};
pub use prepare::{
    fetch, fetch_with, Preparer, AIME_PREAMBLE, AIME_REPO, IMAGE_OUTPUT_TOKENS,
    IMAGE_PROMPT_TOKENS, WARMUP_INPUT_TOKENS, WARMUP_OUTPUT_TOKENS,
};

/// One request, ready to send.
#[derive(Clone, Debug, PartialEq)]
pub struct PreparedRequest {
    /// Index within the run (schedule order).
    pub index: u32,
    /// Path appended to the endpoint's base URL, e.g. `/chat/completions`.
    pub path: String,
    /// The serialized JSON body.
    pub body: Bytes,
    /// The `model` field in the body.
    pub model: String,
    /// The LoRA adapter used (None: the base model).
    pub lora: Option<String>,
    /// Input tokens asked for by the scenario (None for replayed rows and follow-up turns).
    pub target_input_tokens: Option<u32>,
    /// Input tokens of the built text, counted as [`PreparedRun::counting`] says
    /// (the user text only: no system prompt, chat template or special tokens).
    pub built_input_tokens: Option<u32>,
    /// Output tokens asked for by the scenario (before the `max_tokens` cap).
    pub target_output_tokens: Option<u32>,
    /// The `max_tokens` sent (None for embeddings, rerank and score).
    pub max_tokens: Option<u32>,
    /// Texts / documents in the request (1 for generation).
    pub items: u32,
    /// Shared-prefix group of the prompt (None without a prefix workload).
    pub prefix_group: Option<u32>,
    /// Multi-turn: the user messages of turns 2..K, sent after the previous answer.
    pub followups: Vec<String>,
    /// Multi-turn: the conversation id (the index of its first request).
    pub conversation: Option<u32>,
}

/// Where the token counts of built prompts came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptTokenCounting {
    /// Counted with the model's tokenizer: built prompts match their targets exactly.
    Tokenizer,
    /// No tokenizer: lengths are estimated (see README, "Token counts").
    Estimate,
}

/// All requests of one run plus how their lengths were counted.
#[derive(Clone, Debug)]
pub struct PreparedRun {
    /// The requests in schedule order.
    pub requests: Vec<PreparedRequest>,
    /// How `built_input_tokens` were counted.
    pub counting: PromptTokenCounting,
}

/// Errors loading datasets and tokenizers and building requests.
///
/// Every message names the file, dataset or field involved and, where there is
/// one, the fix.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// A dataset config (file or inline table) is malformed.
    #[error("{origin}: {}{message}{}", field_prefix(.field.as_deref()), hint_suffix(.hint.as_deref()))]
    Config {
        /// The config file, or "dataset `name`" for inline tables.
        origin: String,
        /// The key path, e.g. `source.split`.
        field: Option<String>,
        message: String,
        hint: Option<String>,
    },
    /// A dataset file cannot be read or parsed.
    #[error("{}: {message}", .path.display())]
    Read { path: PathBuf, message: String },
    /// A configured column is not in the data.
    #[error(
        "{origin}: column `{column}` (from {field}) not found; columns present: {}",
        list(.available)
    )]
    MissingColumn {
        origin: String,
        /// The config key naming the column (`prompt_column`, `image_column`, `messages_column`).
        field: String,
        column: String,
        available: Vec<String>,
    },
    /// A dataset has no usable rows.
    #[error("{origin}: no usable rows ({detail})")]
    Empty { origin: String, detail: String },
    /// A Hub file is not in the local cache.
    #[error("{what} is not in the Hugging Face cache; {hint}")]
    NotCached { what: String, hint: String },
    /// Downloading from the Hub failed.
    #[error("downloading {what} failed: {message} (hint: {hint})")]
    Download {
        what: String,
        message: String,
        hint: String,
    },
    /// A tokenizer cannot be loaded or used.
    #[error("tokenizer {source_name}: {message}")]
    Tokenizer {
        /// The tokenizer.json path or model repo.
        source_name: String,
        message: String,
    },
    /// A dataset image cannot be used.
    #[error("{origin}: {message}")]
    Image { origin: String, message: String },
    /// A scenario, endpoint or point setting that cannot work.
    #[error("{origin}: `{field}`: {message}")]
    Invalid {
        /// The point, scenario or endpoint, e.g. "point `local.short.burst-8`".
        origin: String,
        field: String,
        message: String,
    },
    /// A malformed scenario spec.
    #[error(transparent)]
    Scenario(#[from] crate::vocab::workload::ScenarioError),
    /// Building a request failed.
    #[error("{message}")]
    Build { message: String },
}

fn field_prefix(field: Option<&str>) -> String {
    field.map(|f| format!("`{f}`: ")).unwrap_or_default()
}

fn hint_suffix(hint: Option<&str>) -> String {
    hint.map(|h| format!(" ({h})")).unwrap_or_default()
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}
