//! Open-loop arrival processes and ramp stage kinds.

use serde::{Deserialize, Serialize};

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
