//! The report's charts as specs built from data: each chart of a load sweep is
//! a [`SweepChart`] (id, title, caption, axis text and how to read its values
//! off a point's summary), listed per section ([`THROUGHPUT_CHARTS`],
//! [`LATENCY_CHARTS`], [`TRADEOFF_CHARTS`], [`POOLING_CHARTS`]) and drawn by
//! [`sweep_charts`]. The time series ([`time_series_chart`]) and the token
//! histograms ([`token_histograms`]) are drawn from the runs and the records.

use std::collections::BTreeMap;

use super::facts::{is_pooling, point_load};
use super::format::{fmt_num, format_load};
use super::series::{x_label, SeriesGroup};
use super::svg::{
    self, Chart, HistogramSeries, LegendEntry, LineChartSpec, PlotError, Series, SeriesPoint,
    TimeSeries, XScale,
};
use crate::metrics::{PointSummary, Stat};
use crate::results::{ExperimentResults, PointResult};

/// Every chart id the report can contain (a chart is left out when it has no data).
pub const CHART_IDS: [&str; 16] = [
    "chart-e2e-throughput",
    "chart-request-throughput",
    "chart-steady-state",
    "chart-ttft",
    "chart-tpot",
    "chart-itl",
    "chart-e2e-latency",
    "chart-tradeoff-e2e",
    "chart-tradeoff-tpot",
    "chart-timeseries",
    "chart-input-tokens",
    "chart-output-tokens",
    "chart-pooling-items",
    "chart-pooling-tokens",
    "chart-pooling-batch-time",
    "chart-goodput",
];

/// The colour of legend entries that stand for a line style, not a series.
const NEUTRAL: &str = "#555555";

/// How a chart of a load sweep reads its values off a point's summary.
#[derive(Clone, Copy)]
pub enum Measure {
    /// Mean ± std against the load: one line per series with error bars.
    MeanStd(fn(&PointSummary) -> Option<(f64, f64)>),
    /// p50 (solid) and p99 (dashed) of a statistic against the load.
    Percentiles(fn(&PointSummary) -> &Stat),
    /// p50 (solid) and p99 (dashed) of a statistic against the mean aggregate
    /// output throughput (x linear).
    Tradeoff(fn(&PointSummary) -> &Stat),
}

/// One chart of a load sweep.
#[derive(Clone, Copy)]
pub struct SweepChart {
    pub id: &'static str,
    pub title: &'static str,
    pub caption: &'static str,
    pub y_label: &'static str,
    pub measure: Measure,
}

/// Mean and std of `st`, when it has values.
fn mean_std(st: &Stat) -> Option<(f64, f64)> {
    (st.n > 0).then_some((st.mean, st.std))
}

/// The throughput section.
pub const THROUGHPUT_CHARTS: [SweepChart; 4] = [
    SweepChart {
        id: "chart-e2e-throughput",
        title: "Aggregate output throughput",
        caption: "Σ output tokens of successful requests / run wall time; mean ± std over runs.",
        y_label: "Output tokens/s",
        measure: Measure::MeanStd(|s| mean_std(&s.e2e_output_tps)),
    },
    SweepChart {
        id: "chart-request-throughput",
        title: "Per-request output throughput",
        caption: "(output tokens − 1) / decode time of each request; mean ± std over requests.",
        y_label: "Output tokens/s per request",
        measure: Measure::MeanStd(|s| mean_std(&s.output_tps_per_request)),
    },
    SweepChart {
        id: "chart-steady-state",
        title: "Steady-state output throughput",
        caption: "Median token rate over the buckets where the server was fully loaded; mean ± std over runs.",
        y_label: "Output tokens/s",
        measure: Measure::MeanStd(|s| s.steady_state_tps.map(|v| (v, s.steady_state_tps_std))),
    },
    SweepChart {
        id: "chart-goodput",
        title: "Goodput",
        caption: "Successful requests per second that met every per-request SLO; mean ± std over runs.",
        y_label: "Requests/s within SLO",
        measure: Measure::MeanStd(|s| s.goodput_rps.as_ref().map(|g| (g.mean, g.std))),
    },
];

/// The latency section.
pub const LATENCY_CHARTS: [SweepChart; 4] = [
    SweepChart {
        id: "chart-ttft",
        title: "Time to first token",
        caption: "p50 (solid) and p99 (dashed) of TTFT over all measured requests.",
        y_label: "TTFT (ms)",
        measure: Measure::Percentiles(|s| &s.ttft_ms),
    },
    SweepChart {
        id: "chart-tpot",
        title: "Time per output token",
        caption: "p50 (solid) and p99 (dashed) of TPOT = decode time / (output tokens − 1).",
        y_label: "TPOT (ms)",
        measure: Measure::Percentiles(|s| &s.tpot_ms),
    },
    SweepChart {
        id: "chart-itl",
        title: "Inter-token latency",
        caption: "p50 (solid) and p99 (dashed) of the gaps between consecutive stream events.",
        y_label: "ITL (ms)",
        measure: Measure::Percentiles(|s| &s.itl_ms),
    },
    SweepChart {
        id: "chart-e2e-latency",
        title: "End-to-end request latency",
        caption: "p50 (solid) and p99 (dashed) of E2E latency.",
        y_label: "E2E latency (ms)",
        measure: Measure::Percentiles(|s| &s.e2e_ms),
    },
];

/// The latency–throughput section.
pub const TRADEOFF_CHARTS: [SweepChart; 2] = [
    SweepChart {
        id: "chart-tradeoff-e2e",
        title: "Latency vs throughput (E2E)",
        caption: "Each marker is one load value; x = mean aggregate output tokens/s, y = E2E latency p50 (solid) / p99 (dashed).",
        y_label: "E2E latency (ms)",
        measure: Measure::Tradeoff(|s| &s.e2e_ms),
    },
    SweepChart {
        id: "chart-tradeoff-tpot",
        title: "Latency vs throughput (TPOT)",
        caption: "x = mean aggregate output tokens/s, y = TPOT p50 (solid) / p99 (dashed).",
        y_label: "TPOT (ms)",
        measure: Measure::Tradeoff(|s| &s.tpot_ms),
    },
];

/// The pooling section (embeddings, rerank, score).
pub const POOLING_CHARTS: [SweepChart; 3] = [
    SweepChart {
        id: "chart-pooling-items",
        title: "Items per second",
        caption: "Embeddings returned or documents scored per second of run wall time; mean ± std over runs.",
        y_label: "Items/s",
        measure: Measure::MeanStd(|s| mean_std(&s.items_per_s)),
    },
    SweepChart {
        id: "chart-pooling-tokens",
        title: "Input tokens per second",
        caption: "Σ input tokens of successful requests / run wall time; mean ± std over runs.",
        y_label: "Tokens/s",
        measure: Measure::MeanStd(|s| mean_std(&s.e2e_total_tps)),
    },
    SweepChart {
        id: "chart-pooling-batch-time",
        title: "Batch time",
        caption: "Wall time of one run (the whole batch), in ms; mean ± std over runs.",
        y_label: "Batch time (ms)",
        measure: Measure::MeanStd(|s| mean_std(&s.wall_time_s).map(|(m, sd)| (m * 1000.0, sd * 1000.0))),
    },
];

/// The lines of `groups` (those with at least one point), each point given by `point`.
fn group_series(
    groups: &[SeriesGroup<'_>],
    dashed: bool,
    error_bars: bool,
    point: impl Fn(&PointResult) -> Option<SeriesPoint>,
) -> Vec<Series> {
    groups
        .iter()
        .filter_map(|g| {
            let points: Vec<SeriesPoint> = g.points.iter().filter_map(|p| point(p)).collect();
            (!points.is_empty()).then(|| Series {
                label: g.label.clone(),
                color: g.color,
                dashed,
                error_bars,
                points,
            })
        })
        .collect()
}

/// p50, or p99 for the dashed line.
fn p50_or_p99(st: &Stat, dashed: bool) -> f64 {
    if dashed {
        st.p99
    } else {
        st.p50
    }
}

/// The legend of a p50/p99 chart: one entry per series, then the two line styles.
fn percentile_legend(series: &[Series]) -> Vec<LegendEntry> {
    let mut legend: Vec<LegendEntry> = Vec::new();
    for s in series.iter().filter(|s| !s.dashed) {
        if !legend.iter().any(|e| e.label == s.label) {
            legend.push(LegendEntry {
                label: s.label.clone(),
                color: svg::color_hex(s.color).to_string(),
                dashed: false,
            });
        }
    }
    for (label, dashed) in [("p50", false), ("p99", true)] {
        legend.push(LegendEntry {
            label: label.into(),
            color: NEUTRAL.into(),
            dashed,
        });
    }
    legend
}

/// A solid legend entry for a line drawn without [`Series`] points.
fn swatch(label: &str, color: usize) -> Series {
    Series {
        label: label.to_string(),
        color,
        dashed: false,
        error_bars: false,
        points: Vec::new(),
    }
}

/// Draws `spec` over `groups`; None when no point has a value for it.
///
/// # Errors
/// When plotters fails to draw.
pub fn sweep_chart(
    spec: &SweepChart,
    groups: &[SeriesGroup<'_>],
) -> Result<Option<Chart>, PlotError> {
    let (series, x_text, x_scale) = match spec.measure {
        Measure::MeanStd(get) => (
            group_series(groups, false, true, |p| {
                get(&p.summary).map(|(y, e)| SeriesPoint::with_err(point_load(p), y, e))
            }),
            x_label(groups),
            XScale::Auto,
        ),
        Measure::Percentiles(get) => {
            let line = |dashed: bool| {
                group_series(groups, dashed, false, |p| {
                    let st = get(&p.summary);
                    (st.n > 0).then(|| SeriesPoint::new(point_load(p), p50_or_p99(st, dashed)))
                })
            };
            let mut series = line(false);
            if !series.is_empty() {
                series.extend(line(true));
            }
            (series, x_label(groups), XScale::Auto)
        }
        Measure::Tradeoff(get) => {
            let line = |dashed: bool| {
                group_series(groups, dashed, false, |p| {
                    let (st, tps) = (get(&p.summary), &p.summary.e2e_output_tps);
                    (st.n > 0 && tps.n > 0)
                        .then(|| SeriesPoint::new(tps.mean, p50_or_p99(st, dashed)))
                })
            };
            let mut series = line(false);
            if !series.is_empty() {
                series.extend(line(true));
            }
            (series, "E2E output throughput (tokens/s)", XScale::Linear)
        }
    };
    if series.is_empty() {
        return Ok(None);
    }
    let svg = svg::line_chart(&LineChartSpec {
        id: spec.id,
        x_label: x_text,
        y_label: spec.y_label,
        series: &series,
        x_scale,
        y_from_zero: true,
        size: svg::DEFAULT_SIZE,
    })?;
    Ok(Some(match spec.measure {
        Measure::MeanStd(_) => Chart::new(spec.id, spec.title, spec.caption, svg, &series),
        Measure::Percentiles(_) | Measure::Tradeoff(_) => {
            let mut chart = Chart::new(spec.id, spec.title, spec.caption, svg, &[]);
            chart.legend = percentile_legend(&series);
            chart
        }
    }))
}

/// The charts of `specs` that have data, in order.
///
/// # Errors
/// When plotters fails to draw.
pub fn sweep_charts(
    specs: &[SweepChart],
    groups: &[SeriesGroup<'_>],
) -> Result<Vec<Chart>, PlotError> {
    let mut charts = Vec::new();
    for spec in specs {
        charts.extend(sweep_chart(spec, groups)?);
    }
    Ok(charts)
}

/// The time-series chart: the last run at the largest load of each group,
/// output tokens/s and active requests per `bucket_s` bucket. Returns the
/// chart (None when no run has buckets) and a note naming the runs shown.
///
/// # Errors
/// When plotters fails to draw.
pub fn time_series_chart(
    groups: &[SeriesGroup<'_>],
    bucket_s: f64,
) -> Result<(Option<Chart>, String), PlotError> {
    let mut series = Vec::new();
    let mut notes = Vec::new();
    for g in groups {
        let Some(p) = g.points.last() else {
            continue;
        };
        let Some(run) = p.runs.iter().max_by_key(|r| r.run_index) else {
            continue;
        };
        if run.tokens_per_bucket.is_empty() && run.active_per_bucket.is_empty() {
            continue;
        }
        notes.push(format!(
            "{}: run {} at load {}",
            g.label,
            run.run_index,
            format_load(point_load(p))
        ));
        series.push(TimeSeries {
            label: g.label.clone(),
            color: g.color,
            tokens_per_bucket: run.tokens_per_bucket.clone(),
            active_per_bucket: run.active_per_bucket.clone(),
            steady_state_tps: run.steady_state_tps,
        });
    }
    if series.is_empty() {
        return Ok((None, String::new()));
    }
    let id = "chart-timeseries";
    let svg = svg::time_series_chart(id, &series, bucket_s, (760, 460))?;
    let legend: Vec<Series> = series.iter().map(|s| swatch(&s.label, s.color)).collect();
    let mut chart = Chart::new(
        id,
        "Output rate and active requests over time",
        &format!(
            "Last run at the largest load of each series; {} ms buckets. Dashed: that run's steady-state median.",
            fmt_num(bucket_s * 1000.0)
        ),
        svg,
        &legend,
    );
    chart.legend.push(LegendEntry {
        label: "steady-state median".into(),
        color: NEUTRAL.into(),
        dashed: true,
    });
    Ok((Some(chart), notes.join("; ")))
}

/// Histograms of input and output tokens per successful measured request, one
/// colour per scenario (output tokens only for generation points).
///
/// # Errors
/// When plotters fails to draw.
pub fn token_histograms(results: &ExperimentResults) -> Result<Vec<Chart>, PlotError> {
    // point_id → (scenario, generates)
    let info: BTreeMap<&str, (&str, bool)> = results
        .points
        .iter()
        .map(|p| {
            (
                p.spec.id.as_str(),
                (p.spec.scenario.as_str(), !is_pooling(results, p)),
            )
        })
        .collect();
    let mut scenarios: Vec<&str> = Vec::new();
    for p in &results.points {
        if !scenarios.contains(&p.spec.scenario.as_str()) {
            scenarios.push(&p.spec.scenario);
        }
    }
    let mut input: Vec<HistogramSeries> = Vec::new();
    let mut output: Vec<HistogramSeries> = Vec::new();
    for (i, sc) in scenarios.iter().enumerate() {
        let recs = results.records.iter().filter(|r| {
            r.is_measured_ok() && info.get(r.point_id.as_str()).is_some_and(|(s, _)| s == sc)
        });
        let mut inp = Vec::new();
        let mut out = Vec::new();
        for r in recs {
            inp.push(f64::from(r.input_tokens));
            if info.get(r.point_id.as_str()).is_some_and(|(_, g)| *g) {
                out.push(f64::from(r.output_tokens));
            }
        }
        for (values, into) in [(inp, &mut input), (out, &mut output)] {
            if !values.is_empty() {
                into.push(HistogramSeries {
                    label: (*sc).to_string(),
                    color: i,
                    values,
                });
            }
        }
    }
    let mut charts = Vec::new();
    for (id, title, axis, series) in [
        (
            "chart-input-tokens",
            "Input tokens per request",
            "Input tokens",
            &input,
        ),
        (
            "chart-output-tokens",
            "Output tokens per request",
            "Output tokens",
            &output,
        ),
    ] {
        if series.is_empty() {
            continue;
        }
        let svg = svg::histogram_chart(id, axis, series, svg::DEFAULT_SIZE)?;
        let legend: Vec<Series> = series.iter().map(|s| swatch(&s.label, s.color)).collect();
        charts.push(Chart::new(
            id,
            title,
            "Successful measured requests of every point, one colour per scenario.",
            svg,
            &legend,
        ));
    }
    Ok(charts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spec_is_a_documented_chart_and_ids_are_unique() {
        let specs: Vec<&SweepChart> = THROUGHPUT_CHARTS
            .iter()
            .chain(&LATENCY_CHARTS)
            .chain(&TRADEOFF_CHARTS)
            .chain(&POOLING_CHARTS)
            .collect();
        let mut ids: Vec<&str> = specs.iter().map(|s| s.id).collect();
        for id in &ids {
            assert!(CHART_IDS.contains(id), "{id} is not in CHART_IDS");
        }
        // The rest of CHART_IDS are the charts drawn without a spec.
        ids.extend([
            "chart-timeseries",
            "chart-input-tokens",
            "chart-output-tokens",
        ]);
        ids.sort_unstable();
        let before = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), before, "duplicate chart id");
        let mut documented = CHART_IDS.to_vec();
        documented.sort_unstable();
        assert_eq!(ids, documented);
    }
}
