//! Open-loop arrival processes and ramp stage kinds.

use serde::{Deserialize, Serialize};

/// What warmup requests look like.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum WarmupShape {
    /// The point's own requests (lengths, images, API, LoRA adapters), one turn and
    /// no shared prefix, so one-time costs (compiled graphs for the shape, adapter
    /// loads) are paid before the clock starts while the prefix cache the
    /// experiment measures stays cold.
    #[default]
    Point,
    /// Short requests: `D(32,16)`, 32-token embeddings, rerank with 32-token
    /// documents; base model, one turn.
    Short,
}

/// Open-loop arrival process.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Arrival {
    /// Evenly spaced sends, 1/rate apart.
    Constant,
    /// Exponential inter-arrival times (a Poisson process).
    Poisson,
    /// Gamma inter-arrival times with shape = burstiness (1 = Poisson, < 1 burstier).
    Gamma { burstiness: f64 },
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StageKind {
    Rate,
    Concurrency,
}
