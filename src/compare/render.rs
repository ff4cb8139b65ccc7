//! Output of a comparison: a plain-text table, JSON, and an HTML page with
//! overlaid charts (the report's chart code and stylesheet).

use serde::Serialize;

use super::engine::{CompareReport, Row, Verdict};
use super::view::SourceView;
use crate::report::format::fmt_num;
use crate::report::svg::{self as plots, Chart, LineChartSpec, Series, SeriesPoint, XScale};
use crate::sink::html::render_page;
use crate::sink::SinkError;

fn fmt_delta_pct(row: &Row) -> String {
    row.delta_pct
        .map_or_else(|| "–".into(), |p| format!("{p:+.1} %"))
}

fn fmt_ci(row: &Row) -> String {
    row.ci.map_or_else(
        || "–".into(),
        |(lo, hi)| format!("[{}, {}]", fmt_num(lo), fmt_num(hi)),
    )
}

fn fmt_value(v: f64, approx: bool) -> String {
    if approx {
        format!("~{}", fmt_num(v))
    } else {
        fmt_num(v)
    }
}

/// Renders a plain-text table per comparison, then regressions, warnings and
/// the method.
#[must_use]
pub fn render_text(report: &CompareReport) -> String {
    let mut out = String::new();
    out.push_str("Inputs:\n");
    for (i, s) in report.sources.iter().enumerate() {
        let role = if i == 0 { "baseline" } else { "candidate" };
        out.push_str(&format!(
            "  {}. {} ({}; {role}) — {}\n",
            i + 1,
            s.name,
            s.kind.describe(),
            s.path.display()
        ));
        for n in &s.notes {
            out.push_str(&format!("       · {n}\n"));
        }
    }
    for c in &report.comparisons {
        out.push_str(&format!(
            "\n{} → {}  ({} matched points; {})\n",
            c.baseline,
            c.candidate,
            c.matched_points,
            c.match_rule.describe()
        ));
        let header = [
            "point",
            "metric",
            "baseline",
            "candidate",
            "Δ %",
            "95% CI of Δ",
            "verdict",
        ];
        let rows: Vec<[String; 7]> = c
            .rows
            .iter()
            .map(|r| {
                [
                    r.point.clone(),
                    format!("{}.{} ({})", r.metric, r.stat.as_str(), r.unit),
                    fmt_value(r.baseline, r.approx),
                    fmt_value(r.candidate, r.approx),
                    fmt_delta_pct(r),
                    fmt_ci(r),
                    r.verdict.as_str().to_string(),
                ]
            })
            .collect();
        let mut widths = header.map(|h| h.chars().count());
        for r in &rows {
            for (w, cell) in widths.iter_mut().zip(r) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let mut s = String::from("  ");
            for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
                let pad = w.saturating_sub(cell.chars().count());
                // Text columns left-aligned, numbers right-aligned.
                if i < 2 || i == 6 {
                    s.push_str(cell);
                    s.push_str(&" ".repeat(pad));
                } else {
                    s.push_str(&" ".repeat(pad));
                    s.push_str(cell);
                }
                s.push_str("  ");
            }
            s.trim_end().to_string() + "\n"
        };
        out.push_str(&line(&header.map(str::to_string)));
        out.push_str(&line(&widths.map(|w| "-".repeat(w))));
        if rows.is_empty() {
            out.push_str("  (no point or metric in common)\n");
        }
        for r in &rows {
            out.push_str(&line(r));
        }
        if !c.unmatched_baseline.is_empty() {
            out.push_str(&format!(
                "  only in the baseline: {}\n",
                c.unmatched_baseline.join("; ")
            ));
        }
        if !c.unmatched_candidate.is_empty() {
            out.push_str(&format!(
                "  only in the candidate: {}\n",
                c.unmatched_candidate.join("; ")
            ));
        }
    }
    if !report.rules.is_empty() {
        out.push_str("\nRegression rules: ");
        out.push_str(
            &report
                .rules
                .iter()
                .map(super::engine::RegressionRule::spec)
                .collect::<Vec<_>>()
                .join(", "),
        );
        out.push('\n');
        if report.regressions.is_empty() {
            out.push_str("  no regression beyond the thresholds\n");
        }
        for r in &report.regressions {
            out.push_str(&format!("  REGRESSION {}\n", r.describe()));
        }
    }
    if !report.warnings.is_empty() {
        out.push_str("\nWarnings:\n");
        for w in &report.warnings {
            out.push_str(&format!("  ! {w}\n"));
        }
    }
    out.push_str("\nMethod:\n");
    for m in &report.method {
        out.push_str(&format!("  - {m}\n"));
    }
    out
}

/// Renders the report as pretty JSON.
///
/// # Errors
/// When serialisation fails (it does not for finite data).
pub fn render_json(report: &CompareReport) -> Result<String, serde_json::Error> {
    serde_json::to_string_pretty(report)
}

#[derive(Serialize)]
struct KeyValue {
    key: String,
    value: String,
}

#[derive(Serialize)]
struct SourceHtml {
    index: usize,
    name: String,
    kind: String,
    facts: Vec<KeyValue>,
    notes: Vec<String>,
}

#[derive(Serialize)]
struct RowHtml {
    point: String,
    metric: String,
    base: String,
    cand: String,
    delta: String,
    ci: String,
    verdict: String,
    class: &'static str,
}

#[derive(Serialize)]
struct ComparisonHtml {
    anchor: String,
    baseline: String,
    candidate: String,
    match_rule: String,
    rows: Vec<RowHtml>,
    unmatched: Vec<String>,
}

#[derive(Serialize)]
struct CompareHtml {
    title: String,
    baseline: String,
    matched: usize,
    sources: Vec<SourceHtml>,
    rules: Vec<String>,
    regressions: Vec<String>,
    warnings: Vec<String>,
    charts: Vec<Chart>,
    comparisons: Vec<ComparisonHtml>,
    method: Vec<String>,
}

/// Metrics drawn on the comparison page (mean ± std against the load).
pub const COMPARE_CHARTS: [(&str, &str, &str); 8] = [
    (
        "e2e_output_tps",
        "Aggregate output throughput",
        "Output tokens/s",
    ),
    (
        "output_tps_per_request",
        "Per-request output throughput",
        "Output tokens/s per request",
    ),
    ("ttft_ms", "Time to first token (mean)", "TTFT (ms)"),
    ("tpot_ms", "Time per output token (mean)", "TPOT (ms)"),
    ("e2e_ms", "End-to-end latency (mean)", "E2E latency (ms)"),
    (
        "steady_state_tps",
        "Steady-state output throughput",
        "Output tokens/s",
    ),
    ("items_per_s", "Items per second (pooling APIs)", "Items/s"),
    ("wall_time_s", "Run (batch) wall time", "Seconds"),
];

/// One chart per metric of [`COMPARE_CHARTS`] held by at least two inputs:
/// one series per input × label × load mode, mean ± std against the load.
///
/// # Errors
/// When a chart fails to draw.
pub fn compare_charts(sources: &[SourceView]) -> Result<Vec<Chart>, SinkError> {
    let mut charts = Vec::new();
    for (metric, title, y_label) in COMPARE_CHARTS {
        let holders = sources
            .iter()
            .filter(|s| {
                s.points
                    .iter()
                    .any(|p| p.metrics.get(metric).and_then(|v| v.mean).is_some())
            })
            .count();
        if holders < 2 {
            continue;
        }
        let mut series: Vec<Series> = Vec::new();
        for s in sources {
            // One line per endpoint/scenario label and load mode (burst 4 and
            // concurrency 4 are different points, never one zig-zag line).
            let mut keys: Vec<String> = Vec::new();
            for p in &s.points {
                if !keys.contains(&p.series()) {
                    keys.push(p.series());
                }
            }
            for key in keys {
                let mut points: Vec<SeriesPoint> = s
                    .points
                    .iter()
                    .filter(|p| p.series() == key)
                    .filter_map(|p| {
                        let v = p.metrics.get(metric)?;
                        Some(SeriesPoint::with_err(p.load, v.mean?, v.std.unwrap_or(0.0)))
                    })
                    .collect();
                if points.is_empty() {
                    continue;
                }
                points.sort_by(|a, b| a.x.total_cmp(&b.x));
                let name = if key.is_empty() {
                    s.name.clone()
                } else {
                    format!("{} · {key}", s.name)
                };
                series.push(Series {
                    label: name,
                    color: series.len(),
                    dashed: false,
                    error_bars: true,
                    points,
                });
            }
        }
        let id = format!("chart-compare-{}", metric.replace('_', "-"));
        let svg = plots::line_chart(&LineChartSpec {
            id: &id,
            x_label: "Load (batch size / concurrency / rate)",
            y_label,
            series: &series,
            x_scale: XScale::Auto,
            y_from_zero: true,
            size: plots::DEFAULT_SIZE,
        })
        .map_err(|e| SinkError::Encode {
            path: "compare.html".into(),
            message: e.to_string(),
        })?;
        charts.push(Chart::new(
            &id,
            title,
            &format!("`{metric}`, mean ± std where the input has a std."),
            svg,
            &series,
        ));
    }
    Ok(charts)
}

fn row_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Regression | Verdict::Worse => "delta-bad",
        Verdict::Better => "delta-good",
        _ => "",
    }
}

/// Renders the comparison page.
///
/// # Errors
/// When a chart or the template fails to render.
pub fn render_html(report: &CompareReport) -> Result<String, SinkError> {
    let sources = report
        .sources
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut facts = vec![KeyValue {
                key: "Path".into(),
                value: s.path.display().to_string(),
            }];
            for (k, v) in [
                ("Model", &s.model),
                ("Scenario", &s.scenario),
                ("Hardware", &s.hardware),
            ] {
                if let Some(v) = v {
                    facts.push(KeyValue {
                        key: k.into(),
                        value: v.clone(),
                    });
                }
            }
            facts.push(KeyValue {
                key: "Points".into(),
                value: s.points.len().to_string(),
            });
            SourceHtml {
                index: i + 1,
                name: s.name.clone(),
                kind: s.kind.describe(),
                facts,
                notes: s.notes.clone(),
            }
        })
        .collect();
    let comparisons = report
        .comparisons
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut unmatched: Vec<String> = c
                .unmatched_baseline
                .iter()
                .map(|p| format!("baseline {p}"))
                .collect();
            unmatched.extend(
                c.unmatched_candidate
                    .iter()
                    .map(|p| format!("candidate {p}")),
            );
            ComparisonHtml {
                anchor: format!("comparison-{}", i + 1),
                baseline: c.baseline.clone(),
                candidate: c.candidate.clone(),
                match_rule: c.match_rule.describe().to_string(),
                rows: c
                    .rows
                    .iter()
                    .map(|r| RowHtml {
                        point: r.point.clone(),
                        metric: format!("{}.{} ({})", r.metric, r.stat.as_str(), r.unit),
                        base: fmt_value(r.baseline, r.approx),
                        cand: fmt_value(r.candidate, r.approx),
                        delta: fmt_delta_pct(r),
                        ci: fmt_ci(r),
                        verdict: if r.flagged_by.is_empty() {
                            r.verdict.as_str().to_string()
                        } else {
                            format!("REGRESSION ({})", r.flagged_by.join(", "))
                        },
                        class: row_class(r.verdict),
                    })
                    .collect(),
                unmatched,
            }
        })
        .collect();
    let title = match report.sources.len() {
        0 => "Comparison".to_string(),
        1 => report.sources[0].name.clone(),
        2 => format!("{} vs {}", report.sources[0].name, report.sources[1].name),
        n => format!("{} vs {} others", report.sources[0].name, n - 1),
    };
    let view = CompareHtml {
        title,
        baseline: report
            .sources
            .first()
            .map(|s| s.name.clone())
            .unwrap_or_default(),
        matched: report.comparisons.iter().map(|c| c.matched_points).sum(),
        sources,
        rules: report
            .rules
            .iter()
            .map(super::engine::RegressionRule::spec)
            .collect(),
        regressions: report
            .regressions
            .iter()
            .map(super::engine::Regression::describe)
            .collect(),
        warnings: report.warnings.clone(),
        charts: compare_charts(&report.sources)?,
        comparisons,
        method: report.method.clone(),
    };
    render_page("compare.html", &view)
}
