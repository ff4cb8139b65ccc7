//! A resolved adaptive search (`mode = "sweep"` or `"slo_search"`): which
//! endpoint and scenario it measures, what it varies, and how each probe it
//! chooses becomes an ordinary [`PointSpec`]. Which load to probe next is
//! decided by `crate::search` from what earlier probes measured.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::derive::{
    default_concurrency_requests, default_rate_requests, format_value, point_seed,
};
use super::{LoadSpec, PointSpec};
use crate::vocab::{SearchKind, SearchOver};

/// Probes a search runs at most (a bound on runaway bisections and sweeps).
pub const MAX_PROBES: usize = 40;

/// One search of the plan: an endpoint × scenario of an adaptive grid.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SearchSpec {
    /// Position among the plan's searches.
    pub index: usize,
    /// Stable id, `<grid>.<endpoint>.<scenario>.<mode>`; probes append `-<value>`.
    pub id: String,
    /// Name of the grid (`grid[i]` when unnamed).
    pub grid: String,
    pub endpoint: String,
    pub scenario: String,
    pub kind: SearchKind,
    pub over: SearchOver,
    /// Requests per run of every probe (default: as concurrency or rate mode).
    pub requests: Option<u32>,
    /// Longest run of a probe.
    pub duration: Option<Duration>,
    pub runs: u32,
    pub warmup: u32,
    /// The experiment's seed (probe seeds derive from it and the probe id).
    pub experiment_seed: u64,
    /// Points of the full (unsharded) plan: probe `k` of this search gets the
    /// point index `probe_base + index × MAX_PROBES + k`, unique across shards.
    pub probe_base: usize,
}

impl SearchSpec {
    /// The id of the probe at load `value`.
    #[must_use]
    pub fn probe_id(&self, value: f64) -> String {
        format!("{}-{}", self.id, format_value(value))
    }

    /// The point index of this search's `k`-th probe (see `probe_base`).
    #[must_use]
    pub fn probe_index(&self, k: usize) -> usize {
        self.probe_base + self.index * MAX_PROBES + k
    }

    /// The point that measures load `value`, with point index `index`.
    #[must_use]
    pub fn probe_point(&self, value: f64, index: usize) -> PointSpec {
        let load = match self.over {
            SearchOver::Concurrency => {
                let c = concurrency_of(value);
                LoadSpec::Concurrency {
                    concurrency: c,
                    requests: self
                        .requests
                        .unwrap_or_else(|| default_concurrency_requests(c)),
                    duration: self.duration,
                }
            }
            SearchOver::Rate {
                arrival,
                max_concurrency,
            } => LoadSpec::Rate {
                rate: value,
                arrival,
                requests: self.requests.unwrap_or_else(|| {
                    default_rate_requests(value, self.duration.map(|d| d.as_secs_f64()))
                }),
                duration: self.duration,
                max_concurrency,
            },
        };
        let id = self.probe_id(value);
        PointSpec {
            index,
            seed: point_seed(self.experiment_seed, &id),
            id,
            grid: self.grid.clone(),
            endpoint: self.endpoint.clone(),
            scenario: self.scenario.clone(),
            load,
            runs: self.runs,
            warmup: self.warmup,
        }
    }

    /// A one-line description of the search for the plan table.
    #[must_use]
    pub fn describe(&self) -> String {
        let unit = match self.over {
            SearchOver::Concurrency => "concurrency",
            SearchOver::Rate { .. } => "rate",
        };
        match self.kind {
            SearchKind::Saturation {
                start,
                factor,
                max,
                min_gain,
            } => format!(
                "{unit} {} → {} ×{}, saturated below {}% gain",
                format_value(start),
                format_value(max),
                format_value(factor),
                format_value(min_gain * 100.0)
            ),
            SearchKind::Slo {
                min,
                max,
                tolerance,
                ..
            } => format!(
                "highest {unit} in [{}, {}] meeting the SLOs (±{})",
                format_value(min),
                format_value(max),
                format_value(tolerance)
            ),
        }
    }
}

/// A concurrency load value as an integer ≥ 1.
fn concurrency_of(value: f64) -> u32 {
    if value.is_finite() && value >= 1.0 {
        // Load values of concurrency searches are whole numbers by construction.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let c = value.round().min(f64::from(u32::MAX)) as u32;
        c
    } else {
        1
    }
}
