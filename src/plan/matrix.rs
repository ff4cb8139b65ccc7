//! Expansion of `[[grid]]` tables into the ordered list of points.
//!
//! **Order.** For each grid in file order, for each endpoint in the grid's
//! `endpoints` order, for each scenario in its `scenarios` order, for each load
//! value in list order (`batch_sizes`, `concurrency` or `rates`; a ramp grid gives
//! one point per endpoint × scenario). Points run in this order and `index` is the
//! position in it.
//!
//! **Ids.** `{endpoint}.{scenario}.{mode}-{value}`, e.g. `vllm.short.burst-8`,
//! `vllm.short.rate-0.5`, `vllm.short.ramp-8` (a ramp's value is its last stage's).
//! When two grids produce the same id, every point with that id is prefixed with
//! its grid's name (`grid{i}` for the i-th unnamed grid, counting from 0), e.g.
//! `fast.vllm.short.burst-8`. Ids use only ASCII letters, digits, `_`, `-` and `.`,
//! so they are safe as file names.
//!
//! **Seeds.** The seed of a point is the first 8 bytes, read big-endian, of
//! SHA-256 over the UTF-8 string `"{experiment seed}|{point id}"`. It depends only
//! on the experiment seed and the point's id, never on the point's position, so
//! adding a grid does not change the prompts of the points already there.
//!
//! **Request counts.** Concurrency mode sends `requests` per run (default
//! `max(64, 8·c)`); rate mode sends `requests` (default `ceil(rate × duration_s)`
//! when `duration_s` is set, else `max(64, ceil(8·rate))`); `duration_s` can end a
//! run earlier in both modes.
//!
//! **Searches.** A `sweep` or `slo_search` grid gives no points up front: it
//! gives one search per endpoint × scenario (same order), with the id
//! `{grid}.{endpoint}.{scenario}.{mode}` (`{grid}` is the grid's name, or
//! `grid{i}`). The runner adds its probes as points while it runs, after the
//! listed points (see [`crate::search`]).
//!
//! **Shards.** `--shard i/n` keeps the points whose index satisfies
//! `index % n == i − 1` (and the searches whose index does); indices, ids and
//! seeds stay those of the full plan, so shard results merge back in order.
//!
//! **Size guard.** The points kept may total at most `experiment.max_points`
//! (default 500) points and `experiment.max_requests` (default 1,000,000) requests,
//! counted as Σ (warmup + runs × requests per run), unless `--allow-large` is given.

use std::collections::BTreeMap;
use std::path::Path;

use super::SearchSpec;
use crate::manifest::raw::{defaults, Mode, RawGrid, SearchOverValue};
use crate::manifest::Manifest;
use crate::vocab::{SearchKind, SearchOver};

use super::derive::{
    default_concurrency_requests, default_rate_requests, format_value, point_seed,
};
use super::resolve::secs;
use super::{LoadSpec, ManifestError, PointSpec, Stage};
use crate::vocab::{Arrival, StageKind};

/// The load values of one grid, in list order.
fn loads(g: &RawGrid) -> Vec<LoadSpec> {
    match g.mode {
        Mode::Burst => g
            .batch_sizes
            .iter()
            .flatten()
            .map(|&batch| LoadSpec::Burst { batch })
            .collect(),
        Mode::Concurrency => g
            .concurrency
            .iter()
            .flatten()
            .map(|&c| LoadSpec::Concurrency {
                concurrency: c,
                requests: g
                    .requests
                    .unwrap_or_else(|| default_concurrency_requests(c)),
                duration: g.duration_s.map(secs),
            })
            .collect(),
        Mode::Rate => g
            .rates
            .iter()
            .flatten()
            .map(|&rate| LoadSpec::Rate {
                rate,
                arrival: g.arrival.map_or(Arrival::Poisson, |a| a.0),
                requests: g
                    .requests
                    .unwrap_or_else(|| default_rate_requests(rate, g.duration_s)),
                duration: g.duration_s.map(secs),
                max_concurrency: g.max_concurrency,
            })
            .collect(),
        Mode::Ramp => vec![LoadSpec::Ramp {
            stages: g
                .stages
                .iter()
                .flatten()
                .map(|s| match (s.rate, s.concurrency) {
                    (Some(rate), _) => Stage {
                        kind: StageKind::Rate,
                        value: rate,
                        duration: secs(s.duration_s),
                    },
                    (None, c) => Stage {
                        kind: StageKind::Concurrency,
                        value: f64::from(c.unwrap_or(1)),
                        duration: secs(s.duration_s),
                    },
                })
                .collect(),
        }],
        Mode::Sweep | Mode::SloSearch => Vec::new(),
    }
}

/// The searches of every `sweep` and `slo_search` grid, in matrix order.
pub(crate) fn searches(m: &Manifest) -> Vec<SearchSpec> {
    let seed = m.raw.experiment.seed.unwrap_or(defaults::SEED);
    let runs_default = m.raw.experiment.runs.unwrap_or(defaults::RUNS);
    let warmup_default = m.raw.experiment.warmup.unwrap_or(defaults::WARMUP);
    let mut out = Vec::new();
    for (gi, g) in m.raw.grid.iter().enumerate() {
        let Some(s) = &g.search else { continue };
        let by_rate = s.over == Some(SearchOverValue::Rate);
        let over = if by_rate {
            SearchOver::Rate {
                arrival: g.arrival.map_or(Arrival::Poisson, |a| a.0),
                max_concurrency: g.max_concurrency,
            }
        } else {
            SearchOver::Concurrency
        };
        let max = s.max.unwrap_or(1.0);
        let kind = match g.mode {
            Mode::Sweep => SearchKind::Saturation {
                start: s.start.unwrap_or(1.0),
                factor: s.factor.unwrap_or(defaults::SWEEP_FACTOR),
                max,
                min_gain: s.min_gain.unwrap_or(defaults::SWEEP_MIN_GAIN),
            },
            _ => {
                let min = s.min.unwrap_or(1.0);
                SearchKind::Slo {
                    min,
                    max,
                    tolerance: s.tolerance.unwrap_or(if by_rate {
                        (max - min) * defaults::SLO_TOLERANCE_RATE_FRACTION
                    } else {
                        defaults::SLO_TOLERANCE_CONCURRENCY
                    }),
                    min_attainment: s.min_attainment.unwrap_or(defaults::SLO_MIN_ATTAINMENT),
                }
            }
        };
        let label = g.name.clone().unwrap_or_else(|| format!("grid[{gi}]"));
        let prefix = g.name.clone().unwrap_or_else(|| format!("grid{gi}"));
        for endpoint in &g.endpoints {
            for scenario in &g.scenarios {
                out.push(SearchSpec {
                    index: out.len(),
                    id: format!("{prefix}.{endpoint}.{scenario}.{}", g.mode.as_str()),
                    grid: label.clone(),
                    endpoint: endpoint.clone(),
                    scenario: scenario.clone(),
                    kind,
                    over,
                    requests: g.requests,
                    duration: g.duration_s.map(secs),
                    runs: g.runs.unwrap_or(runs_default),
                    warmup: g.warmup.unwrap_or(warmup_default),
                    experiment_seed: seed,
                    probe_base: 0,
                });
            }
        }
    }
    out
}

/// Expands every grid of `m` into points, in matrix order, with unique ids and seeds.
pub(crate) fn expand(m: &Manifest) -> Result<Vec<PointSpec>, ManifestError> {
    let seed = m.raw.experiment.seed.unwrap_or(defaults::SEED);
    let runs_default = m.raw.experiment.runs.unwrap_or(defaults::RUNS);
    let warmup_default = m.raw.experiment.warmup.unwrap_or(defaults::WARMUP);
    // (grid label, id prefix, point with its base id)
    let mut points: Vec<(String, PointSpec)> = Vec::new();
    for (gi, g) in m.raw.grid.iter().enumerate() {
        let label = g.name.clone().unwrap_or_else(|| format!("grid[{gi}]"));
        let prefix = g.name.clone().unwrap_or_else(|| format!("grid{gi}"));
        let grid_loads = loads(g);
        for endpoint in &g.endpoints {
            for scenario in &g.scenarios {
                for load in &grid_loads {
                    let id = format!(
                        "{endpoint}.{scenario}.{}-{}",
                        load.mode_name(),
                        format_value(load.value())
                    );
                    points.push((
                        prefix.clone(),
                        PointSpec {
                            index: points.len(),
                            id,
                            grid: label.clone(),
                            endpoint: endpoint.clone(),
                            scenario: scenario.clone(),
                            load: load.clone(),
                            runs: g.runs.unwrap_or(runs_default),
                            warmup: g.warmup.unwrap_or(warmup_default),
                            seed: 0,
                        },
                    ));
                }
            }
        }
    }
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for (_, p) in &points {
        *counts.entry(p.id.clone()).or_default() += 1;
    }
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = Vec::with_capacity(points.len());
    for (prefix, mut p) in points {
        if counts.get(&p.id).copied().unwrap_or(0) > 1 {
            p.id = format!("{prefix}.{}", p.id);
        }
        if let Some(first) = seen.insert(p.id.clone(), p.index) {
            return Err(ManifestError {
                file: m.path.clone(),
                key: Some("grid".into()),
                message: format!(
                    "points #{} and #{} both get the id `{}`",
                    first + 1,
                    p.index + 1,
                    p.id
                ),
                hint: Some("give the grids distinct names (`name = \"...\"`) that do not look like grid0, grid1, ...".into()),
            });
        }
        p.seed = point_seed(seed, &p.id);
        out.push(p);
    }
    Ok(out)
}

/// Keeps the points (and searches) of shard `i` of `n` (1-based): `index % n == i − 1`.
pub(crate) fn shard(
    file: &Path,
    points: Vec<PointSpec>,
    searches: &mut Vec<SearchSpec>,
    (i, n): (u32, u32),
) -> Result<Vec<PointSpec>, ManifestError> {
    if n == 0 || i == 0 || i > n {
        return Err(ManifestError {
            file: file.to_path_buf(),
            key: None,
            message: format!("invalid shard {i}/{n}"),
            hint: Some("--shard i/n takes 1 ≤ i ≤ n, e.g. --shard 1/4".into()),
        });
    }
    let total = points.len();
    let n_us = usize::try_from(n).unwrap_or(usize::MAX);
    let want = usize::try_from(i - 1).unwrap_or(usize::MAX);
    let kept: Vec<PointSpec> = points
        .into_iter()
        .filter(|p| p.index % n_us == want)
        .collect();
    let total = total + searches.len();
    searches.retain(|s| s.index % n_us == want);
    if kept.is_empty() && searches.is_empty() {
        return Err(ManifestError {
            file: file.to_path_buf(),
            key: None,
            message: format!(
                "shard {i}/{n} selects no points (the plan has {total} points and searches)"
            ),
            hint: Some(format!("use at most {total} shards")),
        });
    }
    Ok(kept)
}

/// Requests a point sends, warmup included: warmup + runs × requests per run
/// (warmup requests go once, before the point's first run).
#[must_use]
pub fn total_requests(p: &PointSpec) -> u64 {
    u64::from(p.warmup) + u64::from(p.runs) * p.requests_per_run()
}

/// Rejects plans above the size limits.
pub(crate) fn size_guard(m: &Manifest, points: &[PointSpec]) -> Result<(), ManifestError> {
    let max_points = m.raw.experiment.max_points.unwrap_or(defaults::MAX_POINTS);
    let max_requests = m
        .raw
        .experiment
        .max_requests
        .unwrap_or(defaults::MAX_REQUESTS);
    let n_points = points.len() as u64;
    let n_requests: u64 = points.iter().map(total_requests).sum();
    if n_points > max_points {
        return Err(ManifestError {
            file: m.path.clone(),
            key: Some("experiment.max_points".into()),
            message: format!(
                "the plan has {n_points} points ({n_requests} requests), above the limit of {max_points} points"
            ),
            hint: Some("shrink the grids, raise experiment.max_points, or pass --allow-large".into()),
        });
    }
    if n_requests > max_requests {
        return Err(ManifestError {
            file: m.path.clone(),
            key: Some("experiment.max_requests".into()),
            message: format!(
                "the plan sends {n_requests} requests over {n_points} points, above the limit of {max_requests} requests"
            ),
            hint: Some("lower runs, warmup or requests, raise experiment.max_requests, or pass --allow-large".into()),
        });
    }
    Ok(())
}
