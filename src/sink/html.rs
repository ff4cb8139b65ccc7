//! The HTML report: one self-contained `report.html` per results directory.
//!
//! The page is rendered with minijinja from templates embedded at compile time
//! (`src/sink/templates/`), with inline CSS and inline SVG charts
//! ([`crate::sink::plots`]): no network, no JavaScript, it opens from disk in any
//! browser. Every string that comes from a manifest, a dataset, a server or an
//! error goes through minijinja's HTML auto-escaping (the environment escapes
//! every template, whatever its name); only the SVG drawn by plotters (which
//! escapes its own text) and the embedded stylesheet are inserted verbatim.
//!
//! The output is a pure function of [`ExperimentResults`]: no rendering time, no
//! hash-map order, so `tokenomics report` re-renders a stored run byte for byte.
//!
//! Sections (anchor ids): `experiment`, `overview`, `searches` (only with adaptive
//! searches), `throughput`, `latency`, `tradeoff`, `timeseries`, `server` (only
//! with scraped server metrics), `tokens`, `points`, `reliability`, `client`,
//! `pooling`, `definitions`. Chart ids are listed in [`CHART_IDS`]; the server
//! section has one chart per point, `chart-server-<point>` ([`server_chart_id`]).

use std::collections::BTreeMap;

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;

use crate::metrics::{PointSummary, RunSummary, Stat};
use crate::plan::{EndpointTarget, LoadSpec};
use crate::record::Outcome;
use crate::sink::plots::{
    self, Chart, HistogramSeries, LegendEntry, LineChartSpec, Series, SeriesPoint, StepPanel,
    StepSeries, TimeSeries, XScale,
};
use crate::sink::{write_atomic, ExperimentResults, PointResult, ResultsDir, Sink, SinkError};

/// File name of the report inside a results directory.
pub const REPORT_FILE: &str = "report.html";

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

/// Prefix of the per-point server-metrics chart ids.
pub const SERVER_CHART_PREFIX: &str = "chart-server-";

const STYLE: &str = include_str!("templates/report.css");
const MACROS: &str = include_str!("templates/macros.html.j2");
const REPORT: &str = include_str!("templates/report.html.j2");
const COMPARE: &str = include_str!("templates/compare.html.j2");

/// Most distinct error messages shown per outcome.
const MAX_ERROR_SAMPLES: usize = 5;
/// Longest error message shown (characters); longer ones are cut with "…".
const MAX_ERROR_CHARS: usize = 400;

/// Writes `report.html`.
#[derive(Clone, Copy, Debug, Default)]
pub struct HtmlSink;

impl Sink for HtmlSink {
    fn name(&self) -> &'static str {
        "html"
    }

    fn write(&self, dir: &ResultsDir, results: &ExperimentResults) -> Result<(), SinkError> {
        let path = dir.file(REPORT_FILE);
        let html = render_report(results).map_err(|e| match e {
            SinkError::Encode { message, .. } => SinkError::Encode {
                path: path.clone(),
                message,
            },
            other => other,
        })?;
        write_atomic(&path, html.as_bytes())
    }
}

/// Renders the report of `results` as one HTML document.
///
/// # Errors
/// [`SinkError::Encode`] when a chart or the template fails to render.
pub fn render_report(results: &ExperimentResults) -> Result<String, SinkError> {
    let view = build_view(results)?;
    render_page("report.html", &view)
}

/// Renders one of the embedded page templates (`report.html`, `compare.html`)
/// with `context`. Every template is HTML-escaped; `css` is provided to it.
///
/// # Errors
/// [`SinkError::Encode`] when the template fails to render.
pub fn render_page<S: Serialize>(template: &str, context: &S) -> Result<String, SinkError> {
    let env = environment()?;
    let tmpl = env.get_template(template).map_err(encode_err)?;
    let page = tmpl
        .render(minijinja::context! { page => context, css => STYLE })
        .map_err(encode_err)?;
    Ok(page)
}

fn environment() -> Result<Environment<'static>, SinkError> {
    let mut env = Environment::new();
    // Escape every template, whatever its file name.
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.add_template("macros.html", MACROS)
        .map_err(encode_err)?;
    env.add_template("report.html", REPORT)
        .map_err(encode_err)?;
    env.add_template("compare.html", COMPARE)
        .map_err(encode_err)?;
    Ok(env)
}

fn encode_err(e: impl std::fmt::Display) -> SinkError {
    SinkError::Encode {
        path: REPORT_FILE.into(),
        message: e.to_string(),
    }
}

fn plot_err(e: plots::PlotError) -> SinkError {
    encode_err(e)
}

// ---------------------------------------------------------------------------
// Number formatting (shared with `compare`)
// ---------------------------------------------------------------------------

/// Formats a number for tables: thousands separators above 1,000, three
/// significant decimals below; `–` for non-finite values.
#[must_use]
pub fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let a = v.abs();
    if a == 0.0 {
        return "0".into();
    }
    if a >= 1000.0 {
        return group_thousands(&format!("{v:.0}"));
    }
    let decimals: usize = if a >= 100.0 {
        1
    } else if a >= 10.0 {
        2
    } else if a >= 1.0 {
        3
    } else {
        // Three significant digits: 0.0123 → 0.0123, 0.5 → 0.5.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let d = (2.0 - a.log10().floor()).clamp(0.0, 12.0) as usize;
        d
    };
    let s = format!("{v:.decimals$}");
    if a < 1.0 && s.contains('.') {
        let t = s.trim_end_matches('0');
        t.trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Formats an integer count with thousands separators.
#[must_use]
pub fn fmt_count(n: u64) -> String {
    group_thousands(&n.to_string())
}

fn group_thousands(s: &str) -> String {
    let (sign, digits) = s.strip_prefix('-').map_or(("", s), |d| ("-", d));
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

/// `mean ± std` (std left out when 0).
#[must_use]
pub fn fmt_mean_std(mean: f64, std: f64) -> String {
    if std > 0.0 && std.is_finite() {
        format!("{} ± {}", fmt_num(mean), fmt_num(std))
    } else {
        fmt_num(mean)
    }
}

fn fmt_pct(v: f64) -> String {
    if v == 0.0 {
        "0 %".into()
    } else {
        format!("{} %", fmt_num(v))
    }
}

fn fmt_stat_cell(stat: &Stat, f: impl Fn(&Stat) -> f64) -> String {
    if stat.n == 0 {
        "–".into()
    } else {
        fmt_num(f(stat))
    }
}

// ---------------------------------------------------------------------------
// The view model
// ---------------------------------------------------------------------------

#[derive(Serialize)]
struct ReportView {
    name: String,
    description: String,
    interrupted: bool,
    tool_version: String,
    headline: Vec<KeyValue>,
    nav: Vec<NavItem>,
    experiment: ExperimentView,
    overview: Vec<OverviewRow>,
    searches: Vec<SearchView>,
    throughput_charts: Vec<Chart>,
    latency_charts: Vec<Chart>,
    tradeoff_charts: Vec<Chart>,
    timeseries_chart: Option<Chart>,
    timeseries_note: String,
    show_timeseries: bool,
    server: Option<ServerView>,
    token_charts: Vec<Chart>,
    token_rows: Vec<TokenRow>,
    points: Vec<PointView>,
    failures: FailuresView,
    client: ClientView,
    pooling: Option<PoolingView>,
    definitions: Vec<Definition>,
}

/// One adaptive search (sweep or SLO search): its question, answer and probes.
#[derive(Serialize)]
struct SearchView {
    id: String,
    mode: &'static str,
    question: String,
    answer: String,
    note: String,
    probes: Vec<ProbeRow>,
}

#[derive(Serialize)]
struct ProbeRow {
    load: String,
    anchor: String,
    point_id: String,
    throughput: String,
    meets: &'static str,
    chosen: bool,
}

fn search_views(results: &ExperimentResults) -> Vec<SearchView> {
    results
        .searches
        .iter()
        .map(|s| {
            let chosen = s.answer.as_ref().and_then(|a| a.value);
            let slo = matches!(s.spec.kind, crate::vocab::SearchKind::Slo { .. });
            SearchView {
                id: s.spec.id.clone(),
                mode: s.spec.kind.mode_name(),
                question: s.spec.describe(),
                answer: match &s.answer {
                    None => "not finished (the run was interrupted)".into(),
                    Some(a) => a.value.map_or_else(|| "none".into(), fmt_num),
                },
                note: s
                    .answer
                    .as_ref()
                    .map(|a| a.note.clone())
                    .unwrap_or_default(),
                probes: s
                    .probes
                    .iter()
                    .map(|p| ProbeRow {
                        load: fmt_num(p.value),
                        anchor: anchor_for(&p.point_id),
                        point_id: p.point_id.clone(),
                        throughput: fmt_num(p.throughput),
                        meets: match (slo, p.meets_slos) {
                            (false, _) => "",
                            (true, true) => "yes",
                            (true, false) => "no",
                        },
                        chosen: chosen == Some(p.value),
                    })
                    .collect(),
            }
        })
        .collect()
}

#[derive(Serialize)]
struct KeyValue {
    key: String,
    value: String,
}

fn kv(key: &str, value: impl Into<String>) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: value.into(),
    }
}

#[derive(Serialize)]
struct NavItem {
    id: &'static str,
    title: &'static str,
}

#[derive(Serialize)]
struct ExperimentView {
    settings: Vec<KeyValue>,
    endpoints: Vec<EndpointRow>,
    scenarios: Vec<ScenarioRow>,
    environment: Vec<KeyValue>,
    server_models: Vec<ServerModels>,
    manifest: String,
    manifest_path: String,
}

#[derive(Serialize)]
struct EndpointRow {
    name: String,
    target: String,
    model: String,
    api: String,
    stream: String,
    temperature: String,
    options: String,
}

#[derive(Serialize)]
struct ScenarioRow {
    name: String,
    workload: String,
    dataset: String,
    max_tokens_cap: String,
    options: String,
}

#[derive(Serialize)]
struct ServerModels {
    endpoint: String,
    json: String,
}

#[derive(Serialize)]
struct OverviewRow {
    point_id: String,
    anchor: String,
    endpoint: String,
    scenario: String,
    mode: String,
    load: String,
    runs: String,
    ok: String,
    failure_rate: String,
    throughput: String,
    ttft_p50: String,
    tpot_p50: String,
    e2e_p50: String,
    steady_state: String,
}

#[derive(Serialize)]
struct PointView {
    point_id: String,
    anchor: String,
    title: String,
    facts: Vec<KeyValue>,
    stat_rows: Vec<StatRow>,
    run_rows: Vec<RunRow>,
    slo_rows: Vec<KeyValue>,
}

#[derive(Serialize)]
struct StatRow {
    metric: String,
    unit: String,
    pooled: String,
    cells: Vec<String>,
}

#[derive(Serialize)]
struct RunRow {
    run: String,
    wall_s: String,
    requests: String,
    ok: String,
    e2e_output_tps: String,
    requests_per_s: String,
    steady_state: String,
    peak_active: String,
    goodput: String,
}

#[derive(Serialize)]
struct TokenRow {
    point_id: String,
    input_sources: String,
    output_sources: String,
    input_mismatches: String,
    output_mismatches: String,
    target_misses: String,
    reasoning: String,
    cached: String,
    finish_reasons: String,
}

#[derive(Serialize)]
struct FailuresView {
    outcomes: Vec<String>,
    rows: Vec<FailureRow>,
    samples: Vec<ErrorSamples>,
    total_failed: String,
}

#[derive(Serialize)]
struct FailureRow {
    point_id: String,
    total: String,
    failed: String,
    rate: String,
    counts: Vec<String>,
}

#[derive(Serialize)]
struct ErrorSamples {
    outcome: String,
    count: String,
    messages: Vec<ErrorMessage>,
}

#[derive(Serialize)]
struct ErrorMessage {
    point_id: String,
    status: String,
    occurrences: String,
    text: String,
}

#[derive(Serialize)]
struct ClientView {
    warnings: Vec<ClientWarning>,
    runs: Vec<ClientRunRow>,
}

#[derive(Serialize)]
struct ClientWarning {
    point_id: String,
    run: String,
    text: String,
}

#[derive(Serialize)]
struct ClientRunRow {
    point_id: String,
    run: String,
    cpu: String,
    loop_lag_p99: String,
    send_lag_p50: String,
    send_lag_p99: String,
    queue_p50: String,
    queue_p99: String,
}

#[derive(Serialize)]
struct ServerView {
    charts: Vec<Chart>,
}

#[derive(Serialize)]
struct PoolingView {
    charts: Vec<Chart>,
    rows: Vec<PoolingRow>,
}

#[derive(Serialize)]
struct PoolingRow {
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

#[derive(Serialize)]
struct Definition {
    term: &'static str,
    unit: &'static str,
    text: &'static str,
}

// ---------------------------------------------------------------------------
// Building the view
// ---------------------------------------------------------------------------

/// A line of the load sweep charts: the points of one endpoint × scenario × mode.
struct SeriesGroup<'a> {
    label: String,
    color: usize,
    mode: String,
    points: Vec<&'a PointResult>,
}

fn is_pooling(results: &ExperimentResults, p: &PointResult) -> bool {
    match results.plan.endpoints.get(&p.spec.endpoint) {
        Some(ep) => !ep.api.generates(),
        None => p.summary.output_tokens.n == 0 && p.summary.items_per_s.mean > 0.0,
    }
}

fn point_mode(p: &PointResult) -> String {
    if p.summary.mode.is_empty() {
        p.spec.load.mode_name().to_string()
    } else {
        p.summary.mode.clone()
    }
}

fn point_load(p: &PointResult) -> f64 {
    if p.summary.load_value > 0.0 {
        p.summary.load_value
    } else {
        p.spec.load.value()
    }
}

fn anchor_for(point_id: &str) -> String {
    let mut s = String::from("point-");
    for c in point_id.chars() {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            s.push(c);
        } else {
            s.push('_');
        }
    }
    s
}

/// Groups points into chart series, in plan order of first appearance.
fn series_groups<'a>(points: &[&'a PointResult]) -> Vec<SeriesGroup<'a>> {
    let mut keys: Vec<(String, String, String)> = Vec::new();
    let mut groups: Vec<Vec<&'a PointResult>> = Vec::new();
    for p in points {
        let key = (
            p.spec.endpoint.clone(),
            p.spec.scenario.clone(),
            point_mode(p),
        );
        match keys.iter().position(|k| *k == key) {
            Some(i) => groups[i].push(p),
            None => {
                keys.push(key);
                groups.push(vec![p]);
            }
        }
    }
    let modes: std::collections::BTreeSet<String> = keys.iter().map(|k| k.2.clone()).collect();
    keys.into_iter()
        .zip(groups)
        .enumerate()
        .map(|(i, ((ep, sc, mode), mut pts))| {
            pts.sort_by(|a, b| point_load(a).total_cmp(&point_load(b)));
            let label = if modes.len() > 1 {
                format!("{ep} · {sc} ({mode})")
            } else {
                format!("{ep} · {sc}")
            };
            SeriesGroup {
                label,
                color: i,
                mode,
                points: pts,
            }
        })
        .collect()
}

fn x_label(groups: &[SeriesGroup<'_>]) -> &'static str {
    let modes: std::collections::BTreeSet<&str> = groups.iter().map(|g| g.mode.as_str()).collect();
    match modes.iter().next() {
        Some(&"burst") if modes.len() == 1 => "Batch size (requests per burst)",
        Some(&"concurrency") if modes.len() == 1 => "Concurrency (requests in flight)",
        Some(&"rate") if modes.len() == 1 => "Request rate (requests/s)",
        Some(&"ramp") if modes.len() == 1 => "Final ramp stage value",
        _ => "Load (batch size / concurrency / rate)",
    }
}

fn stat_series(
    groups: &[SeriesGroup<'_>],
    dashed: bool,
    error_bars: bool,
    get: impl Fn(&PointSummary) -> Option<(f64, f64)>,
) -> Vec<Series> {
    groups
        .iter()
        .filter_map(|g| {
            let points: Vec<SeriesPoint> = g
                .points
                .iter()
                .filter_map(|p| {
                    get(&p.summary).map(|(y, e)| SeriesPoint::with_err(point_load(p), y, e))
                })
                .collect();
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

fn line(
    id: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    x_scale: XScale,
) -> Result<String, SinkError> {
    plots::line_chart(&LineChartSpec {
        id,
        x_label,
        y_label,
        series,
        x_scale,
        y_from_zero: true,
        size: plots::DEFAULT_SIZE,
    })
    .map_err(plot_err)
}

fn mean_std_chart(
    id: &str,
    title: &str,
    caption: &str,
    y_label: &str,
    groups: &[SeriesGroup<'_>],
    get: impl Fn(&PointSummary) -> Option<(f64, f64)>,
) -> Result<Option<Chart>, SinkError> {
    let series = stat_series(groups, false, true, get);
    if series.is_empty() {
        return Ok(None);
    }
    let svg = line(id, x_label(groups), y_label, &series, XScale::Auto)?;
    Ok(Some(Chart::new(id, title, caption, svg, &series)))
}

fn percentile_legend(series: &[Series]) -> Vec<LegendEntry> {
    let mut legend: Vec<LegendEntry> = Vec::new();
    for s in series.iter().filter(|s| !s.dashed) {
        if !legend.iter().any(|e| e.label == s.label) {
            legend.push(LegendEntry {
                label: s.label.clone(),
                color: plots::color_hex(s.color).to_string(),
                dashed: false,
            });
        }
    }
    legend.push(LegendEntry {
        label: "p50".into(),
        color: "#555555".into(),
        dashed: false,
    });
    legend.push(LegendEntry {
        label: "p99".into(),
        color: "#555555".into(),
        dashed: true,
    });
    legend
}

fn percentile_chart(
    id: &str,
    title: &str,
    caption: &str,
    y_label: &str,
    groups: &[SeriesGroup<'_>],
    get: impl Fn(&PointSummary) -> &Stat,
) -> Result<Option<Chart>, SinkError> {
    let mut series = stat_series(groups, false, false, |s| {
        let st = get(s);
        (st.n > 0).then_some((st.p50, 0.0))
    });
    if series.is_empty() {
        return Ok(None);
    }
    series.extend(stat_series(groups, true, false, |s| {
        let st = get(s);
        (st.n > 0).then_some((st.p99, 0.0))
    }));
    let svg = line(id, x_label(groups), y_label, &series, XScale::Auto)?;
    let mut chart = Chart::new(id, title, caption, svg, &[]);
    chart.legend = percentile_legend(&series);
    Ok(Some(chart))
}

fn tradeoff_chart(
    id: &str,
    title: &str,
    caption: &str,
    y_label: &str,
    groups: &[SeriesGroup<'_>],
    get: impl Fn(&PointSummary) -> &Stat,
) -> Result<Option<Chart>, SinkError> {
    let collect = |dashed: bool| -> Vec<Series> {
        groups
            .iter()
            .filter_map(|g| {
                let points: Vec<SeriesPoint> = g
                    .points
                    .iter()
                    .filter(|p| get(&p.summary).n > 0 && p.summary.e2e_output_tps.n > 0)
                    .map(|p| {
                        let st = get(&p.summary);
                        let y = if dashed { st.p99 } else { st.p50 };
                        SeriesPoint::new(p.summary.e2e_output_tps.mean, y)
                    })
                    .collect();
                (!points.is_empty()).then(|| Series {
                    label: g.label.clone(),
                    color: g.color,
                    dashed,
                    error_bars: false,
                    points,
                })
            })
            .collect()
    };
    let mut series = collect(false);
    if series.is_empty() {
        return Ok(None);
    }
    series.extend(collect(true));
    let svg = line(
        id,
        "E2E output throughput (tokens/s)",
        y_label,
        &series,
        XScale::Linear,
    )?;
    let mut chart = Chart::new(id, title, caption, svg, &[]);
    chart.legend = percentile_legend(&series);
    Ok(Some(chart))
}

fn build_view(results: &ExperimentResults) -> Result<ReportView, SinkError> {
    let plan = &results.plan;
    let exp = &plan.experiment;
    let gen_points: Vec<&PointResult> = results
        .points
        .iter()
        .filter(|p| !is_pooling(results, p))
        .collect();
    let pool_points: Vec<&PointResult> = results
        .points
        .iter()
        .filter(|p| is_pooling(results, p))
        .collect();
    let groups = series_groups(&gen_points);

    // ---- throughput ----------------------------------------------------------
    let mut throughput_charts = Vec::new();
    throughput_charts.extend(mean_std_chart(
        "chart-e2e-throughput",
        "Aggregate output throughput",
        "Σ output tokens of successful requests / run wall time; mean ± std over runs.",
        "Output tokens/s",
        &groups,
        |s| (s.e2e_output_tps.n > 0).then_some((s.e2e_output_tps.mean, s.e2e_output_tps.std)),
    )?);
    throughput_charts.extend(mean_std_chart(
        "chart-request-throughput",
        "Per-request output throughput",
        "(output tokens − 1) / decode time of each request; mean ± std over requests.",
        "Output tokens/s per request",
        &groups,
        |s| {
            (s.output_tps_per_request.n > 0)
                .then_some((s.output_tps_per_request.mean, s.output_tps_per_request.std))
        },
    )?);
    throughput_charts.extend(mean_std_chart(
        "chart-steady-state",
        "Steady-state output throughput",
        "Median token rate over the buckets where the server was fully loaded; mean ± std over runs.",
        "Output tokens/s",
        &groups,
        |s| s.steady_state_tps.map(|v| (v, s.steady_state_tps_std)),
    )?);
    throughput_charts.extend(mean_std_chart(
        "chart-goodput",
        "Goodput",
        "Successful requests per second that met every per-request SLO; mean ± std over runs.",
        "Requests/s within SLO",
        &groups,
        |s| s.goodput_rps.as_ref().map(|g| (g.mean, g.std)),
    )?);

    // ---- latency ---------------------------------------------------------------
    let mut latency_charts = Vec::new();
    latency_charts.extend(percentile_chart(
        "chart-ttft",
        "Time to first token",
        "p50 (solid) and p99 (dashed) of TTFT over all measured requests.",
        "TTFT (ms)",
        &groups,
        |s| &s.ttft_ms,
    )?);
    latency_charts.extend(percentile_chart(
        "chart-tpot",
        "Time per output token",
        "p50 (solid) and p99 (dashed) of TPOT = decode time / (output tokens − 1).",
        "TPOT (ms)",
        &groups,
        |s| &s.tpot_ms,
    )?);
    latency_charts.extend(percentile_chart(
        "chart-itl",
        "Inter-token latency",
        "p50 (solid) and p99 (dashed) of the gaps between consecutive stream events.",
        "ITL (ms)",
        &groups,
        |s| &s.itl_ms,
    )?);
    latency_charts.extend(percentile_chart(
        "chart-e2e-latency",
        "End-to-end request latency",
        "p50 (solid) and p99 (dashed) of E2E latency.",
        "E2E latency (ms)",
        &groups,
        |s| &s.e2e_ms,
    )?);

    // ---- trade-off -------------------------------------------------------------
    let mut tradeoff_charts = Vec::new();
    tradeoff_charts.extend(tradeoff_chart(
        "chart-tradeoff-e2e",
        "Latency vs throughput (E2E)",
        "Each marker is one load value; x = mean aggregate output tokens/s, y = E2E latency p50 (solid) / p99 (dashed).",
        "E2E latency (ms)",
        &groups,
        |s| &s.e2e_ms,
    )?);
    tradeoff_charts.extend(tradeoff_chart(
        "chart-tradeoff-tpot",
        "Latency vs throughput (TPOT)",
        "x = mean aggregate output tokens/s, y = TPOT p50 (solid) / p99 (dashed).",
        "TPOT (ms)",
        &groups,
        |s| &s.tpot_ms,
    )?);

    // ---- time series -----------------------------------------------------------
    let bucket_s = {
        let b = exp.bucket.as_secs_f64();
        if b > 0.0 {
            b
        } else {
            0.05
        }
    };
    let (timeseries_chart, timeseries_note) = time_series(&groups, bucket_s)?;
    let server = server_view(results)?;

    // ---- tokens ------------------------------------------------------------------
    let token_charts = token_histograms(results)?;
    let token_rows = results.points.iter().map(token_row).collect();

    // ---- pooling -------------------------------------------------------------------
    let pooling = if pool_points.is_empty() {
        None
    } else {
        Some(pooling_view(results, &pool_points)?)
    };

    let failures = failures_view(results);
    let client = client_view(results);
    let overview = results
        .points
        .iter()
        .map(|p| overview_row(p, is_pooling(results, p)))
        .collect();
    let points = results.points.iter().map(point_view).collect();

    let total_requests: u64 = results
        .points
        .iter()
        .map(|p| p.summary.reliability.total)
        .sum();
    let total_ok: u64 = results
        .points
        .iter()
        .map(|p| p.summary.reliability.ok)
        .sum();
    let total_runs: u64 = results.points.iter().map(|p| p.runs.len() as u64).sum();
    let headline = vec![
        kv("Points", fmt_count(results.points.len() as u64)),
        kv("Runs", fmt_count(total_runs)),
        kv("Requests", fmt_count(total_requests)),
        kv("Succeeded", fmt_count(total_ok)),
        kv("Failed", fmt_count(total_requests.saturating_sub(total_ok))),
    ];

    let has_generation = !gen_points.is_empty();
    let mut nav = vec![
        NavItem {
            id: "experiment",
            title: "Experiment",
        },
        NavItem {
            id: "overview",
            title: "Overview",
        },
    ];
    if !results.searches.is_empty() {
        nav.push(NavItem {
            id: "searches",
            title: "Searches",
        });
    }
    if !throughput_charts.is_empty() {
        nav.push(NavItem {
            id: "throughput",
            title: "Throughput",
        });
    }
    if !latency_charts.is_empty() {
        nav.push(NavItem {
            id: "latency",
            title: "Latency",
        });
    }
    if !tradeoff_charts.is_empty() {
        nav.push(NavItem {
            id: "tradeoff",
            title: "Latency–throughput",
        });
    }
    if has_generation {
        nav.push(NavItem {
            id: "timeseries",
            title: "Time series",
        });
    }
    if server.is_some() {
        nav.push(NavItem {
            id: "server",
            title: "Server metrics",
        });
    }
    nav.push(NavItem {
        id: "tokens",
        title: "Tokens",
    });
    if pooling.is_some() {
        nav.push(NavItem {
            id: "pooling",
            title: "Pooling APIs",
        });
    }
    nav.extend([
        NavItem {
            id: "points",
            title: "Points in detail",
        },
        NavItem {
            id: "reliability",
            title: "Failures",
        },
        NavItem {
            id: "client",
            title: "Client self-check",
        },
        NavItem {
            id: "definitions",
            title: "Metric definitions",
        },
    ]);

    Ok(ReportView {
        name: exp.name.clone(),
        description: exp.description.clone(),
        interrupted: results.interrupted,
        tool_version: results.environment.tool_version.clone(),
        headline,
        nav,
        experiment: experiment_view(results),
        overview,
        searches: search_views(results),
        throughput_charts,
        latency_charts,
        tradeoff_charts,
        timeseries_chart: if has_generation {
            timeseries_chart
        } else {
            None
        },
        timeseries_note,
        show_timeseries: has_generation,
        server,
        token_charts,
        token_rows,
        points,
        failures,
        client,
        pooling,
        definitions: definitions(),
    })
}

fn experiment_view(results: &ExperimentResults) -> ExperimentView {
    let plan = &results.plan;
    let exp = &plan.experiment;
    let env = &results.environment;
    let mut settings = vec![
        kv("Seed", exp.seed.to_string()),
        kv("Points", fmt_count(plan.points.len() as u64)),
        kv(
            "Steady-state bucket",
            format!("{} ms", fmt_num(exp.bucket.as_secs_f64() * 1000.0)),
        ),
        kv(
            "Steady-state threshold",
            format!("{} × reference", fmt_num(exp.steady_state_threshold)),
        ),
        kv(
            "Percentiles",
            exp.percentiles
                .iter()
                .map(|p| format!("p{}", plots::format_load(*p)))
                .collect::<Vec<_>>()
                .join(", "),
        ),
    ];
    if let Some(m) = exp.max_failure_rate {
        settings.push(kv("Max failure rate", fmt_pct(m * 100.0)));
    }
    if !exp.slos.is_empty() {
        let slos: Vec<String> = exp
            .slos
            .iter()
            .map(|s| match s.percentile {
                Some(p) => format!(
                    "{}.p{} ≤ {}",
                    s.metric,
                    plots::format_load(p),
                    fmt_num(s.max)
                ),
                None => format!("{} ≤ {} (every request)", s.metric, fmt_num(s.max)),
            })
            .collect();
        settings.push(kv("SLOs", slos.join("; ")));
    }
    if results.interrupted {
        settings.push(kv("Status", "interrupted before the plan finished"));
    }

    let endpoints = plan
        .endpoints
        .values()
        .map(|e| {
            let target = match &e.target {
                EndpointTarget::Url(u) => u.clone(),
                EndpointTarget::Simulator(s) => format!("embedded simulator ({})", s.model),
            };
            let mut options = Vec::new();
            if e.ignore_eos {
                options.push("ignore_eos".to_string());
            }
            if e.min_tokens {
                options.push("min_tokens".to_string());
            }
            if e.n > 1 {
                options.push(format!("n = {}", e.n));
            }
            options.push(format!(
                "timeout {} s",
                fmt_num(e.timeouts.total.as_secs_f64())
            ));
            if e.retry.max_retries > 0 {
                options.push(format!("{} retries", e.retry.max_retries));
            }
            EndpointRow {
                name: e.name.clone(),
                target,
                model: e.model.clone(),
                api: e.api.as_str().to_string(),
                stream: if e.stream { "yes" } else { "no" }.to_string(),
                temperature: e.temperature.map_or_else(|| "not sent".into(), fmt_num),
                options: options.join(", "),
            }
        })
        .collect();

    let scenarios = plan
        .scenarios
        .values()
        .map(|s| {
            let mut options = Vec::new();
            if s.replay {
                options.push("replay".to_string());
            }
            if s.compat_original {
                options.push("original-compatible prompts".to_string());
            }
            if s.turns > 1 {
                options.push(format!("{} turns", s.turns));
            }
            if let Some(i) = &s.images {
                options.push(format!("{} image(s) {}×{}", i.count, i.width, i.height));
            }
            if let Some(p) = &s.prefix {
                options.push(format!(
                    "shared prefix {} tokens × {} groups",
                    p.tokens, p.groups
                ));
            }
            if let Some(l) = &s.lora {
                options.push(format!(
                    "LoRA {:?} over {} adapters",
                    l.strategy,
                    l.adapters.len()
                ));
            }
            ScenarioRow {
                name: s.name.clone(),
                workload: s.workload.to_spec_string(),
                dataset: s.dataset.name.clone(),
                max_tokens_cap: s.max_tokens_cap.to_string(),
                options: options.join(", "),
            }
        })
        .collect();

    let mut environment = vec![
        kv("tokenomics", env.tool_version.clone()),
        kv(
            "Git commit",
            match (&env.git_commit, env.git_dirty) {
                (Some(c), Some(true)) => format!("{c} (uncommitted changes)"),
                (Some(c), _) => c.clone(),
                (None, _) => "not in a repository".into(),
            },
        ),
        kv("OS / arch", format!("{} / {}", env.os, env.arch)),
        kv("CPUs", env.cpu_count.to_string()),
    ];
    if let Some(h) = &env.hostname {
        environment.push(kv("Host", h.clone()));
    }
    environment.push(kv("Started", env.started_at.clone()));
    if let Some(f) = &env.finished_at {
        environment.push(kv("Finished", f.clone()));
    }
    if !env.command.is_empty() {
        environment.push(kv("Command", env.command.join(" ")));
    }

    let server_models = env
        .server_models
        .iter()
        .map(|(k, v)| ServerModels {
            endpoint: k.clone(),
            json: serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string()),
        })
        .collect();

    ExperimentView {
        settings,
        endpoints,
        scenarios,
        environment,
        server_models,
        manifest: plan.resolved_manifest.clone(),
        manifest_path: plan.manifest_path.display().to_string(),
    }
}

fn overview_row(p: &PointResult, pooling: bool) -> OverviewRow {
    let s = &p.summary;
    let dash = || "–".to_string();
    let p50 = |st: &Stat| if st.n > 0 { fmt_num(st.p50) } else { dash() };
    OverviewRow {
        point_id: p.spec.id.clone(),
        anchor: anchor_for(&p.spec.id),
        endpoint: p.spec.endpoint.clone(),
        scenario: p.spec.scenario.clone(),
        mode: point_mode(p),
        load: plots::format_load(point_load(p)),
        runs: p.runs.len().to_string(),
        ok: format!(
            "{} / {}",
            fmt_count(s.reliability.ok),
            fmt_count(s.reliability.total)
        ),
        failure_rate: fmt_pct(s.reliability.failure_rate_pct),
        throughput: if pooling {
            format!(
                "{} items/s",
                fmt_mean_std(s.items_per_s.mean, s.items_per_s.std)
            )
        } else if s.e2e_output_tps.n > 0 {
            format!(
                "{} tok/s",
                fmt_mean_std(s.e2e_output_tps.mean, s.e2e_output_tps.std)
            )
        } else {
            dash()
        },
        ttft_p50: p50(&s.ttft_ms),
        tpot_p50: p50(&s.tpot_ms),
        e2e_p50: p50(&s.e2e_ms),
        steady_state: s
            .steady_state_tps
            .map_or_else(dash, |v| fmt_mean_std(v, s.steady_state_tps_std)),
    }
}

/// The rows of a point's statistics table: (name, unit, pooling, stat).
fn stat_rows(s: &PointSummary) -> Vec<(&'static str, &'static str, &'static str, &Stat)> {
    let mut rows = vec![
        ("Input tokens", "tokens", "per request", &s.input_tokens),
        ("Output tokens", "tokens", "per request", &s.output_tokens),
        ("TTFT", "ms", "per request", &s.ttft_ms),
        ("TTFO", "ms", "per request", &s.ttfo_ms),
        ("TPOT", "ms", "per request", &s.tpot_ms),
        ("ITL", "ms", "per event gap", &s.itl_ms),
        ("E2E latency", "ms", "per request", &s.e2e_ms),
        ("Decode time", "ms", "per request", &s.decode_ms),
        (
            "Input throughput",
            "tok/s",
            "per request",
            &s.input_tps_per_request,
        ),
        (
            "Output throughput",
            "tok/s",
            "per request",
            &s.output_tps_per_request,
        ),
        (
            "E2E output throughput",
            "tok/s",
            "per run",
            &s.e2e_output_tps,
        ),
        ("E2E total throughput", "tok/s", "per run", &s.e2e_total_tps),
        ("Requests/s", "req/s", "per run", &s.requests_per_s),
        ("Wall time", "s", "per run", &s.wall_time_s),
        ("Items/s", "items/s", "per run", &s.items_per_s),
    ];
    if let Some(g) = &s.goodput_rps {
        rows.push(("Goodput", "req/s", "per run", g));
    }
    if let Some(g) = &s.goodput_tps {
        rows.push(("Goodput", "tok/s", "per run", g));
    }
    rows.retain(|r| r.3.n > 0);
    rows
}

fn point_view(p: &PointResult) -> PointView {
    let s = &p.summary;
    let mut facts = vec![
        kv("Endpoint", p.spec.endpoint.clone()),
        kv("Scenario", p.spec.scenario.clone()),
        kv("Grid", p.spec.grid.clone()),
        kv("Load", load_text(&p.spec.load)),
        kv(
            "Runs",
            format!(
                "{} (+{} warmup requests before the first)",
                p.runs.len(),
                p.spec.warmup
            ),
        ),
        kv(
            "Requests",
            format!(
                "{} ok of {} ({} failed)",
                fmt_count(s.reliability.ok),
                fmt_count(s.reliability.total),
                fmt_pct(s.reliability.failure_rate_pct)
            ),
        ),
        kv("Peak active requests", s.peak_active.to_string()),
        kv(
            "Steady-state throughput",
            s.steady_state_tps.map_or_else(
                || "no bucket qualified".to_string(),
                |v| format!("{} tok/s", fmt_mean_std(v, s.steady_state_tps_std)),
            ),
        ),
        kv("Seed", p.spec.seed.to_string()),
    ];
    if let Some(a) = s.slo_attainment {
        facts.push(kv("SLO attainment", fmt_pct(a * 100.0)));
    }
    let stat_rows = stat_rows(s)
        .into_iter()
        .map(|(metric, unit, pooled, st)| StatRow {
            metric: metric.to_string(),
            unit: unit.to_string(),
            pooled: pooled.to_string(),
            cells: vec![
                fmt_count(st.n),
                fmt_stat_cell(st, |s| s.mean),
                fmt_stat_cell(st, |s| s.std),
                fmt_stat_cell(st, |s| s.min),
                fmt_stat_cell(st, |s| s.p50),
                fmt_stat_cell(st, |s| s.p90),
                fmt_stat_cell(st, |s| s.p95),
                fmt_stat_cell(st, |s| s.p99),
                fmt_stat_cell(st, |s| s.max),
            ],
        })
        .collect();
    let run_rows = p.runs.iter().map(run_row).collect();
    let slo_rows = s
        .slo_results
        .iter()
        .map(|r| {
            kv(
                &r.slo,
                format!(
                    "{} → {}",
                    fmt_num(r.value),
                    if r.met { "met" } else { "missed" }
                ),
            )
        })
        .collect();
    PointView {
        point_id: p.spec.id.clone(),
        anchor: anchor_for(&p.spec.id),
        title: format!(
            "{} · {} · {} {}",
            p.spec.endpoint,
            p.spec.scenario,
            point_mode(p),
            plots::format_load(point_load(p))
        ),
        facts,
        stat_rows,
        run_rows,
        slo_rows,
    }
}

fn load_text(load: &LoadSpec) -> String {
    match load {
        LoadSpec::Burst { batch } => format!("burst of {batch} requests"),
        LoadSpec::Concurrency {
            concurrency,
            requests,
            duration,
        } => {
            let mut s = format!("{concurrency} in flight, {requests} requests");
            if let Some(d) = duration {
                s.push_str(&format!(" or {} s", fmt_num(d.as_secs_f64())));
            }
            s
        }
        LoadSpec::Rate {
            rate,
            arrival,
            requests,
            duration,
            max_concurrency,
        } => {
            let kind = match arrival {
                crate::vocab::Arrival::Constant => "constant".to_string(),
                crate::vocab::Arrival::Poisson => "Poisson".to_string(),
                crate::vocab::Arrival::Gamma { burstiness } => {
                    format!("gamma (burstiness {})", fmt_num(*burstiness))
                }
            };
            let mut s = format!("{} req/s {kind}, {requests} requests", fmt_num(*rate));
            if let Some(d) = duration {
                s.push_str(&format!(" or {} s", fmt_num(d.as_secs_f64())));
            }
            if let Some(c) = max_concurrency {
                s.push_str(&format!(", at most {c} in flight"));
            }
            s
        }
        LoadSpec::Ramp { stages } => format!("ramp of {} stages", stages.len()),
    }
}

fn run_row(r: &RunSummary) -> RunRow {
    RunRow {
        run: r.run_index.to_string(),
        wall_s: fmt_num(r.wall_time_s),
        requests: fmt_count(r.requests),
        ok: fmt_count(r.ok),
        e2e_output_tps: fmt_num(r.e2e_output_tps),
        requests_per_s: fmt_num(r.requests_per_s),
        steady_state: r.steady_state_tps.map_or_else(|| "–".into(), fmt_num),
        peak_active: r.peak_active.to_string(),
        goodput: r.goodput_rps.map_or_else(|| "–".into(), fmt_num),
    }
}

fn counts_text(m: &BTreeMap<String, u64>) -> String {
    if m.is_empty() {
        return "–".into();
    }
    m.iter()
        .map(|(k, v)| format!("{k}: {}", fmt_count(*v)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn token_row(p: &PointResult) -> TokenRow {
    let t = &p.summary.tokens;
    let u = &p.summary.usage;
    TokenRow {
        point_id: p.spec.id.clone(),
        input_sources: counts_text(&t.input_sources),
        output_sources: counts_text(&t.output_sources),
        input_mismatches: fmt_count(t.input_mismatches),
        output_mismatches: fmt_count(t.output_mismatches),
        target_misses: fmt_count(t.output_target_misses),
        reasoning: fmt_count(u.reasoning_tokens_total),
        cached: if u.cached_tokens_total > 0 {
            format!(
                "{} ({} hit rate)",
                fmt_count(u.cached_tokens_total),
                fmt_pct(u.cache_hit_rate * 100.0)
            )
        } else {
            "0".into()
        },
        finish_reasons: counts_text(&u.finish_reasons),
    }
}

fn time_series(
    groups: &[SeriesGroup<'_>],
    bucket_s: f64,
) -> Result<(Option<Chart>, String), SinkError> {
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
            plots::format_load(point_load(p))
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
    let svg = plots::time_series_chart(id, &series, bucket_s, (760, 460)).map_err(plot_err)?;
    let legend_series: Vec<Series> = series
        .iter()
        .map(|s| Series {
            label: s.label.clone(),
            color: s.color,
            dashed: false,
            error_bars: false,
            points: Vec::new(),
        })
        .collect();
    let mut chart = Chart::new(
        id,
        "Output rate and active requests over time",
        &format!(
            "Last run at the largest load of each series; {} ms buckets. Dashed: that run's steady-state median.",
            fmt_num(bucket_s * 1000.0)
        ),
        svg,
        &legend_series,
    );
    chart.legend.push(LegendEntry {
        label: "steady-state median".into(),
        color: "#555555".into(),
        dashed: true,
    });
    Ok((Some(chart), notes.join("; ")))
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

/// Requests in flight at the client over time: `(t_s, count)` after every change.
///
/// A request is in flight from `start_ns` (handed to the HTTP stack) to `end_ns`;
/// at equal times, endings count before starts. Starts with `(0, 0)` unless a
/// request starts at 0.
fn in_flight(records: &[&crate::record::RequestRecord]) -> Vec<(f64, f64)> {
    let mut events: Vec<(u64, i64)> = records
        .iter()
        .flat_map(|r| [(r.start_ns, 1), (r.end_ns.max(r.start_ns), -1)])
        .collect();
    events.sort_unstable();
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(events.len() + 1);
    if events.first().is_none_or(|e| e.0 > 0) {
        out.push((0.0, 0.0));
    }
    let mut level = 0i64;
    for (k, (t, delta)) in events.iter().enumerate() {
        level += delta;
        if events.get(k + 1).is_none_or(|next| next.0 != *t) {
            #[allow(clippy::cast_precision_loss)]
            out.push((*t as f64 / 1e9, level as f64));
        }
    }
    out
}

/// One chart per point with scraped gauges: the client's requests in flight
/// beside the server's running and waiting requests (top panel) and its
/// KV-cache usage in % (bottom panel, when scraped), for the point's last
/// run with samples. None when no point has gauge samples.
fn server_view(results: &ExperimentResults) -> Result<Option<ServerView>, SinkError> {
    const GAUGES: [&str; 3] = ["running", "waiting", "kv_cache_usage"];
    let mut charts = Vec::new();
    for p in &results.points {
        let index = u32::try_from(p.spec.index).unwrap_or(u32::MAX);
        let samples: Vec<&crate::runner::scrape::ServerMetricSample> = results
            .server_metrics
            .iter()
            .filter(|s| s.point_index == index && GAUGES.contains(&s.name.as_str()))
            .collect();
        let Some(run) = samples.iter().map(|s| s.run_index).max() else {
            continue;
        };
        let mut by_name: BTreeMap<&str, Vec<&crate::runner::scrape::ServerMetricSample>> =
            BTreeMap::new();
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
        let records: Vec<&crate::record::RequestRecord> = results
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
        let svg =
            plots::step_panels_chart(&id, &panels, (t_lo, t_hi), (760, 420)).map_err(plot_err)?;
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
                color: plots::color_hex(s.color).to_string(),
                dashed: s.dashed,
            })
            .collect();
        charts.push(chart);
    }
    Ok((!charts.is_empty()).then_some(ServerView { charts }))
}

fn token_histograms(results: &ExperimentResults) -> Result<Vec<Chart>, SinkError> {
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
        if !inp.is_empty() {
            input.push(HistogramSeries {
                label: (*sc).to_string(),
                color: i,
                values: inp,
            });
        }
        if !out.is_empty() {
            output.push(HistogramSeries {
                label: (*sc).to_string(),
                color: i,
                values: out,
            });
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
        let svg =
            plots::histogram_chart(id, axis, series, plots::DEFAULT_SIZE).map_err(plot_err)?;
        let legend_series: Vec<Series> = series
            .iter()
            .map(|s| Series {
                label: s.label.clone(),
                color: s.color,
                dashed: false,
                error_bars: false,
                points: Vec::new(),
            })
            .collect();
        charts.push(Chart::new(
            id,
            title,
            "Successful measured requests of every point, one colour per scenario.",
            svg,
            &legend_series,
        ));
    }
    Ok(charts)
}

fn pooling_view(
    results: &ExperimentResults,
    points: &[&PointResult],
) -> Result<PoolingView, SinkError> {
    let groups = series_groups(points);
    let mut charts = Vec::new();
    charts.extend(mean_std_chart(
        "chart-pooling-items",
        "Items per second",
        "Embeddings returned or documents scored per second of run wall time; mean ± std over runs.",
        "Items/s",
        &groups,
        |s| (s.items_per_s.n > 0).then_some((s.items_per_s.mean, s.items_per_s.std)),
    )?);
    charts.extend(mean_std_chart(
        "chart-pooling-tokens",
        "Input tokens per second",
        "Σ input tokens of successful requests / run wall time; mean ± std over runs.",
        "Tokens/s",
        &groups,
        |s| (s.e2e_total_tps.n > 0).then_some((s.e2e_total_tps.mean, s.e2e_total_tps.std)),
    )?);
    charts.extend(mean_std_chart(
        "chart-pooling-batch-time",
        "Batch time",
        "Wall time of one run (the whole batch), in ms; mean ± std over runs.",
        "Batch time (ms)",
        &groups,
        |s| {
            (s.wall_time_s.n > 0)
                .then_some((s.wall_time_s.mean * 1000.0, s.wall_time_s.std * 1000.0))
        },
    )?);
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
                load: plots::format_load(point_load(p)),
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

fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

fn failures_view(results: &ExperimentResults) -> FailuresView {
    let failing: Vec<Outcome> = Outcome::ALL
        .into_iter()
        .filter(|o| !o.is_ok())
        .filter(|o| {
            results.points.iter().any(|p| {
                p.summary
                    .reliability
                    .outcomes
                    .get(o.as_str())
                    .is_some_and(|n| *n > 0)
            })
        })
        .collect();
    // Outcome names the summaries hold that this build does not know, kept visible.
    let mut outcomes: Vec<String> = failing.iter().map(|o| o.as_str().to_string()).collect();
    for p in &results.points {
        for (name, n) in &p.summary.reliability.outcomes {
            if *n > 0 && Outcome::from_name(name).is_none() && !outcomes.contains(name) {
                outcomes.push(name.clone());
            }
        }
    }
    let rows = results
        .points
        .iter()
        .map(|p| {
            let r = &p.summary.reliability;
            FailureRow {
                point_id: p.spec.id.clone(),
                total: fmt_count(r.total),
                failed: fmt_count(r.failed),
                rate: fmt_pct(r.failure_rate_pct),
                counts: outcomes
                    .iter()
                    .map(|o| fmt_count(r.outcomes.get(o).copied().unwrap_or(0)))
                    .collect(),
            }
        })
        .collect();
    let mut samples = Vec::new();
    let mut total_failed = 0u64;
    for o in Outcome::ALL.into_iter().filter(|o| !o.is_ok()) {
        let recs: Vec<_> = results
            .records
            .iter()
            .filter(|r| !r.warmup && r.outcome == o)
            .collect();
        if recs.is_empty() {
            continue;
        }
        total_failed += recs.len() as u64;
        // Distinct messages in first-seen order, with their number of occurrences.
        let mut messages: Vec<(String, String, String, u64)> = Vec::new();
        for r in &recs {
            let text = r.error.clone().unwrap_or_else(|| {
                r.timeout_kind.map_or_else(
                    || "(no message)".into(),
                    |k| format!("{} timeout", k.as_str()),
                )
            });
            let status = r.http_status.map_or_else(|| "–".into(), |s| s.to_string());
            if let Some(m) = messages.iter_mut().find(|m| m.0 == text && m.2 == status) {
                m.3 += 1;
            } else {
                messages.push((text, r.point_id.clone(), status, 1));
            }
        }
        samples.push(ErrorSamples {
            outcome: o.as_str().to_string(),
            count: fmt_count(recs.len() as u64),
            messages: messages
                .into_iter()
                .take(MAX_ERROR_SAMPLES)
                .map(|(text, point_id, status, n)| ErrorMessage {
                    point_id,
                    status,
                    occurrences: fmt_count(n),
                    text: truncate_chars(&text, MAX_ERROR_CHARS),
                })
                .collect(),
        });
    }
    FailuresView {
        outcomes,
        rows,
        samples,
        total_failed: fmt_count(total_failed),
    }
}

fn client_view(results: &ExperimentResults) -> ClientView {
    let mut warnings = Vec::new();
    let mut runs = Vec::new();
    for p in &results.points {
        for w in &p.summary.client_warnings {
            warnings.push(ClientWarning {
                point_id: p.spec.id.clone(),
                run: "all".into(),
                text: w.clone(),
            });
        }
        for r in &p.runs {
            for w in &r.client.warnings {
                if !p.summary.client_warnings.contains(w) {
                    warnings.push(ClientWarning {
                        point_id: p.spec.id.clone(),
                        run: r.run_index.to_string(),
                        text: w.clone(),
                    });
                }
            }
            let c = &r.client;
            let stat = |s: &Stat, f: fn(&Stat) -> f64| fmt_stat_cell(s, f);
            runs.push(ClientRunRow {
                point_id: p.spec.id.clone(),
                run: r.run_index.to_string(),
                cpu: fmt_pct(c.cpu_utilisation * 100.0),
                loop_lag_p99: c.loop_lag_ms.map_or_else(|| "–".to_owned(), fmt_num),
                send_lag_p50: stat(&c.send_lag_ms, |s| s.p50),
                send_lag_p99: stat(&c.send_lag_ms, |s| s.p99),
                queue_p50: stat(&c.queue_ms, |s| s.p50),
                queue_p99: stat(&c.queue_ms, |s| s.p99),
            });
        }
    }
    ClientView { warnings, runs }
}

/// The metric glossary shown at the end of the report.
fn definitions() -> Vec<Definition> {
    vec![
        Definition {
            term: "TTFT (time to first token)",
            unit: "ms, per request",
            text: "From the moment the request is handed to the HTTP stack (connection set-up included) to the arrival of the first stream event carrying generated text, reasoning included. Only streamed requests have one.",
        },
        Definition {
            term: "TTFO (time to first output)",
            unit: "ms, per request",
            text: "Like TTFT, but counted to the first event carrying answer text (reasoning excluded). Equal to TTFT for models that do not reason.",
        },
        Definition {
            term: "TPOT (time per output token)",
            unit: "ms, per request",
            text: "(E2E − TTFT) / (output tokens − 1), one value per request with at least two output tokens (tokens per sequence when n > 1). AIPerf, GenAI-Perf and guidellm call this quantity ITL.",
        },
        Definition {
            term: "ITL (inter-token latency)",
            unit: "ms, per event gap",
            text: "The gap between two consecutive content events of a stream, pooled over every request. An event may carry several tokens, so this is an inter-chunk latency (vLLM's and SGLang's ITL; AIPerf's ICL).",
        },
        Definition {
            term: "E2E latency",
            unit: "ms, per request",
            text: "From the request start to the last content event (streaming) or to the end of the parsed response body (non-streaming).",
        },
        Definition {
            term: "Decode time",
            unit: "ms, per request",
            text: "E2E − TTFT; the whole E2E latency when there is no TTFT (non-streaming).",
        },
        Definition {
            term: "Input throughput per request",
            unit: "tokens/s",
            text: "Input tokens / TTFT of each request: how fast its prompt was taken in, queueing included.",
        },
        Definition {
            term: "Output throughput per request",
            unit: "tokens/s",
            text: "(output tokens − 1) / decode time of each request: the decode speed one user sees.",
        },
        Definition {
            term: "E2E output throughput",
            unit: "tokens/s, per run",
            text: "Σ output tokens of the successful requests of a run / the run's wall time (from just before the first request to after the last one ended, failed ones included). Reported as mean ± std over runs. E2E total throughput counts input + output tokens the same way.",
        },
        Definition {
            term: "Steady-state throughput",
            unit: "tokens/s, per run",
            text: "The run is cut into fixed buckets. A bucket is steady when the requests active in it reach the threshold × the reference (the target concurrency in a closed loop, otherwise the peak observed) and it holds content events; its rate is events / bucket width. The run value is the median over steady buckets; the report shows mean ± std over runs, and nothing when no bucket qualifies.",
        },
        Definition {
            term: "Goodput",
            unit: "requests/s and tokens/s, per run",
            text: "Successful requests meeting every per-request SLO, divided by the run wall time (and the output tokens of those requests per second). SLO attainment is their fraction of the measured requests.",
        },
        Definition {
            term: "Requests/s",
            unit: "per run",
            text: "Successful requests / run wall time.",
        },
        Definition {
            term: "Items/s (pooling APIs)",
            unit: "per run",
            text: "Embeddings returned or documents scored / run wall time. Batch time is the run's wall time.",
        },
        Definition {
            term: "Server metrics",
            unit: "requests and %, over time",
            text: "Gauges scraped from the server's Prometheus page during a run (endpoints with a metrics setting): requests running and waiting, and the KV-cache usage, summed over their labels. Beside them, the client's requests in flight: sent (handed to the HTTP stack) and not yet answered. Times count from the run's start, as the records' timestamps.",
        },
        Definition {
            term: "Failure rate",
            unit: "%",
            text: "Failed measured requests / all measured requests × 100. Warmup requests are never counted.",
        },
        Definition {
            term: "Statistics",
            unit: "",
            text: "Per-request metrics are pooled over all runs of a point; per-run metrics take one value per run. std is the population standard deviation; percentiles interpolate linearly between the closest ranks.",
        },
    ]
}

#[cfg(test)]
pub(crate) mod test_fixture;

#[cfg(test)]
mod tests;
