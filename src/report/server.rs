//! The server-metrics section: per point, the server's gauges scraped during
//! its last run (requests running and waiting, KV-cache usage) beside the
//! client's requests in flight, on one time axis.

use std::collections::BTreeMap;

use serde::Serialize;

use super::facts::anchor_for;
use super::format::fmt_num;
use super::series::in_flight;
use super::svg::{self, Chart, LegendEntry, PlotError, StepPanel, StepSeries};
use crate::record::RequestRecord;
use crate::results::{ExperimentResults, ServerMetricSample};

/// Prefix of the per-point server-metrics chart ids.
pub const SERVER_CHART_PREFIX: &str = "chart-server-";

/// The section: one chart per point with gauge samples.
#[derive(Serialize)]
pub struct ServerView {
    charts: Vec<Chart>,
}

/// Id of the server-metrics chart of `point_id`: [`SERVER_CHART_PREFIX`] + the
/// id with characters other than `[A-Za-z0-9_-]` replaced by `_`.
#[must_use]
pub fn server_chart_id(point_id: &str) -> String {
    let anchor = anchor_for(point_id);
    format!(
        "{SERVER_CHART_PREFIX}{}",
        anchor.strip_prefix("point-").unwrap_or(&anchor)
    )
}

/// One chart per point with scraped gauges: the client's requests in flight
/// beside the server's running and waiting requests (top panel) and its
/// KV-cache usage in % (bottom panel, when scraped), for the point's last
/// run with samples. None when no point has gauge samples.
///
/// # Errors
/// When plotters fails to draw.
pub fn server_view(results: &ExperimentResults) -> Result<Option<ServerView>, PlotError> {
    const GAUGES: [&str; 3] = ["running", "waiting", "kv_cache_usage"];
    let mut charts = Vec::new();
    for p in &results.points {
        let index = u32::try_from(p.spec.index).unwrap_or(u32::MAX);
        let samples: Vec<&ServerMetricSample> = results
            .server_metrics
            .iter()
            .filter(|s| s.point_index == index && GAUGES.contains(&s.name.as_str()))
            .collect();
        let Some(run) = samples.iter().map(|s| s.run_index).max() else {
            continue;
        };
        let mut by_name: BTreeMap<&str, Vec<&ServerMetricSample>> = BTreeMap::new();
        for s in samples.iter().filter(|s| s.run_index == run) {
            by_name.entry(s.name.as_str()).or_default().push(s);
        }
        for v in by_name.values_mut() {
            v.sort_by(|a, b| a.t_ms.total_cmp(&b.t_ms));
        }
        let line = |name: &str, scale: f64| -> Vec<(f64, f64)> {
            by_name.get(name).map_or_else(Vec::new, |v| {
                v.iter().map(|s| (s.t_ms / 1e3, s.value * scale)).collect()
            })
        };
        let raw = |name: &str| {
            by_name
                .get(name)
                .and_then(|v| v.first())
                .map_or_else(String::new, |s| s.raw_name.clone())
        };
        let peak = |name: &str, scale: f64| {
            line(name, scale)
                .iter()
                .map(|p| p.1)
                .fold(f64::NEG_INFINITY, f64::max)
        };
        let records: Vec<&RequestRecord> = results
            .records
            .iter()
            .filter(|r| r.point_index == index && r.run_index == run && !r.warmup)
            .collect();
        let client = in_flight(&records);

        let mut top = vec![StepSeries {
            label: "client: requests in flight".into(),
            color: 0,
            dashed: false,
            points: client.clone(),
        }];
        let mut facts = Vec::new();
        for (name, label, color, dashed) in [
            ("running", "server: running", 1, false),
            ("waiting", "server: waiting", 3, true),
        ] {
            if by_name.contains_key(name) {
                top.push(StepSeries {
                    label: label.into(),
                    color,
                    dashed,
                    points: line(name, 1.0),
                });
                facts.push(format!(
                    "peak {name} {} ({})",
                    fmt_num(peak(name, 1.0)),
                    raw(name)
                ));
            }
        }
        let mut panels = vec![StepPanel {
            y_label: "Requests".into(),
            y_max: None,
            series: top,
        }];
        if by_name.contains_key("kv_cache_usage") {
            panels.push(StepPanel {
                y_label: "KV cache used (%)".into(),
                y_max: Some(100.0),
                series: vec![StepSeries {
                    label: "server: KV-cache usage".into(),
                    color: 2,
                    dashed: false,
                    points: line("kv_cache_usage", 100.0),
                }],
            });
            facts.push(format!(
                "peak KV-cache usage {} % ({})",
                fmt_num(peak("kv_cache_usage", 100.0)),
                raw("kv_cache_usage")
            ));
        }
        let times = panels
            .iter()
            .flat_map(|pn| pn.series.iter())
            .flat_map(|s| s.points.iter().map(|pt| pt.0));
        let (t_lo, t_hi) = times.fold((0.0f64, 0.0f64), |(lo, hi), t| (lo.min(t), hi.max(t)));
        let t_hi = if t_hi > t_lo { t_hi } else { t_lo + 1.0 };
        let id = server_chart_id(&p.spec.id);
        let svg = svg::step_panels_chart(&id, &panels, (t_lo, t_hi), (760, 420))?;
        let interval = results
            .plan
            .endpoints
            .get(&p.spec.endpoint)
            .and_then(|e| e.scrape.as_ref())
            .map_or_else(String::new, |s| {
                format!(
                    ", scraped every {} ms",
                    fmt_num(s.interval.as_secs_f64() * 1e3)
                )
            });
        let mut chart = Chart::new(
            &id,
            &p.spec.id,
            &format!(
                "Run {run} on endpoint {}{interval}. Client: requests sent and not yet \
                 answered. Server: {}.",
                p.spec.endpoint,
                facts.join("; ")
            ),
            svg,
            &[],
        );
        chart.legend = panels
            .iter()
            .flat_map(|pn| pn.series.iter())
            .map(|s| LegendEntry {
                label: s.label.clone(),
                color: svg::color_hex(s.color).to_string(),
                dashed: s.dashed,
            })
            .collect();
        charts.push(chart);
    }
    Ok((!charts.is_empty()).then_some(ServerView { charts }))
}
