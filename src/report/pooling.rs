//! The pooling section (embeddings, rerank, score): items and input tokens
//! per second and batch time per point.

use serde::Serialize;

use super::charts::{sweep_charts, POOLING_CHARTS};
use super::facts::point_load;
use super::format::{fmt_count, fmt_mean_std, format_load};
use super::series::series_groups;
use super::svg::{Chart, PlotError};
use crate::results::{ExperimentResults, PointResult};

#[derive(Serialize)]
/// The pooling section: its charts and one row per point.
pub struct PoolingView {
    charts: Vec<Chart>,
    rows: Vec<PoolingRow>,
}

#[derive(Serialize)]
pub struct PoolingRow {
    point_id: String,
    endpoint: String,
    api: String,
    scenario: String,
    load: String,
    items_per_s: String,
    tokens_per_s: String,
    batch_time_ms: String,
    ok: String,
}

/// The pooling section of `points` (embeddings, rerank, score).
///
/// # Errors
/// When plotters fails to draw.
pub fn pooling_view(
    results: &ExperimentResults,
    points: &[&PointResult],
) -> Result<PoolingView, PlotError> {
    let groups = series_groups(points);
    let charts = sweep_charts(&POOLING_CHARTS, &groups)?;
    let rows = points
        .iter()
        .map(|p| {
            let s = &p.summary;
            PoolingRow {
                point_id: p.spec.id.clone(),
                endpoint: p.spec.endpoint.clone(),
                api: results
                    .plan
                    .endpoints
                    .get(&p.spec.endpoint)
                    .map_or_else(|| "–".to_string(), |e| e.api.as_str().to_string()),
                scenario: p.spec.scenario.clone(),
                load: format_load(point_load(p)),
                items_per_s: fmt_mean_std(s.items_per_s.mean, s.items_per_s.std),
                tokens_per_s: fmt_mean_std(s.e2e_total_tps.mean, s.e2e_total_tps.std),
                batch_time_ms: fmt_mean_std(
                    s.wall_time_s.mean * 1000.0,
                    s.wall_time_s.std * 1000.0,
                ),
                ok: format!(
                    "{} / {}",
                    fmt_count(s.reliability.ok),
                    fmt_count(s.reliability.total)
                ),
            }
        })
        .collect();
    Ok(PoolingView { charts, rows })
}
