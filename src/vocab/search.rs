//! What an adaptive search varies and which question it answers. The resolved
//! search is `crate::plan::SearchSpec`; the algorithm is `crate::search`.

use serde::{Deserialize, Serialize};

use super::Arrival;

/// What the search varies.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "over")]
pub enum SearchOver {
    /// Closed-loop concurrency (integers).
    Concurrency,
    /// Open-loop request rate (requests/s).
    Rate {
        arrival: Arrival,
        /// Cap on requests in flight.
        max_concurrency: Option<u32>,
    },
}

/// Which question the search answers.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum SearchKind {
    /// Where does throughput stop growing with load?
    Saturation {
        start: f64,
        factor: f64,
        max: f64,
        /// Relative throughput gain below which the server counts as saturated.
        min_gain: f64,
    },
    /// What is the highest load that still meets the SLOs?
    Slo {
        min: f64,
        max: f64,
        /// Stop when the bracket `hi − lo` is at most this (load units).
        tolerance: f64,
        /// Fraction of requests that must be good (and not failed).
        min_attainment: f64,
    },
}

impl SearchKind {
    /// `sweep` or `slo_search` (the manifest's mode name).
    #[must_use]
    pub fn mode_name(&self) -> &'static str {
        match self {
            SearchKind::Saturation { .. } => "sweep",
            SearchKind::Slo { .. } => "slo_search",
        }
    }
}
