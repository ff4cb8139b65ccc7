//! STAGE 3: prompts and request bodies, made before a run's clock starts.
//!
//! [`prepare_run`] turns a point (endpoint × scenario × load) and a run index into
//! the exact request bodies that run will send, in schedule order. Everything is
//! derived from the experiment seed and the point's identity, so the same
//! manifest gives byte-identical bodies every time.

pub mod compat;
pub mod scenario;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::plan::{EndpointSpec, PointSpec, ScenarioSpec};

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
    pub lora: Option<String>,
    pub target_input_tokens: Option<u32>,
    pub built_input_tokens: Option<u32>,
    pub target_output_tokens: Option<u32>,
    pub max_tokens: Option<u32>,
    /// Texts / documents in the request (1 for generation).
    pub items: u32,
    pub prefix_group: Option<u32>,
    /// Multi-turn: the user messages of turns 2..K, sent after the previous answer.
    pub followups: Vec<String>,
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
    pub requests: Vec<PreparedRequest>,
    pub counting: PromptTokenCounting,
}

/// Errors building prompts.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("{0}")]
    Other(String),
}

/// Builds the request bodies for `run` of `point`, `count` requests, in schedule order.
///
/// # Errors
/// When the dataset or tokenizer cannot be loaded.
pub fn prepare_run(
    endpoint: &EndpointSpec,
    scenario: &ScenarioSpec,
    point: &PointSpec,
    run: u32,
    count: u32,
) -> Result<PreparedRun, DatasetError> {
    let _ = (endpoint, scenario, point, run, count);
    todo!("dataset::prepare_run")
}

/// Builds `count` warmup requests for `point` (seeded apart from measured runs).
///
/// # Errors
/// As [`prepare_run`].
pub fn prepare_warmup(
    endpoint: &EndpointSpec,
    scenario: &ScenarioSpec,
    point: &PointSpec,
    count: u32,
) -> Result<PreparedRun, DatasetError> {
    let _ = (endpoint, scenario, point, count);
    todo!("dataset::prepare_warmup")
}
