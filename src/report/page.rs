//! The report page as one view model, [`ReportView`], built from the results
//! by [`build_report`]: the headline, the table of contents and every section
//! in page order.

use serde::Serialize;

use super::charts::{
    sweep_charts, time_series_chart, token_histograms, LATENCY_CHARTS, THROUGHPUT_CHARTS,
    TRADEOFF_CHARTS,
};
use super::definitions::{definitions, Definition};
use super::experiment::{experiment_view, ExperimentView};
use super::facts::{is_pooling, kv, KeyValue};
use super::failures::{client_view, failures_view, ClientView, FailuresView};
use super::format::fmt_count;
use super::points::{overview_row, point_view, token_row, OverviewRow, PointView, TokenRow};
use super::pooling::{pooling_view, PoolingView};
use super::searches::{search_views, SearchView};
use super::series::series_groups;
use super::server::{server_view, ServerView};
use super::svg::{Chart, PlotError};
use crate::results::{ExperimentResults, PointResult};

/// Everything the report page shows, ready for its template. Serialised as
/// the template's `page` context.
#[derive(Serialize)]
pub struct ReportView {
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

/// One entry of the table of contents: a section's anchor id and title.
#[derive(Serialize)]
pub struct NavItem {
    id: &'static str,
    title: &'static str,
}

/// Bucket width of the time series when the experiment's is not positive (s).
const FALLBACK_BUCKET_S: f64 = 0.05;

/// The view of `results`: a pure function of them (no clock, no hash-map
/// order), so the page renders the same bytes every time.
///
/// # Errors
/// When a chart fails to draw.
pub fn build_report(results: &ExperimentResults) -> Result<ReportView, PlotError> {
    let exp = &results.plan.experiment;
    let (pool_points, gen_points): (Vec<&PointResult>, Vec<&PointResult>) =
        results.points.iter().partition(|p| is_pooling(results, p));
    let groups = series_groups(&gen_points);
    let has_generation = !gen_points.is_empty();

    let throughput_charts = sweep_charts(&THROUGHPUT_CHARTS, &groups)?;
    let latency_charts = sweep_charts(&LATENCY_CHARTS, &groups)?;
    let tradeoff_charts = sweep_charts(&TRADEOFF_CHARTS, &groups)?;
    let bucket_s = match exp.bucket.as_secs_f64() {
        b if b > 0.0 => b,
        _ => FALLBACK_BUCKET_S,
    };
    let (timeseries_chart, timeseries_note) = time_series_chart(&groups, bucket_s)?;
    let server = server_view(results)?;
    let token_charts = token_histograms(results)?;
    let pooling = if pool_points.is_empty() {
        None
    } else {
        Some(pooling_view(results, &pool_points)?)
    };

    // The table of contents: (anchor, title, shown).
    let sections = [
        ("experiment", "Experiment", true),
        ("overview", "Overview", true),
        ("searches", "Searches", !results.searches.is_empty()),
        ("throughput", "Throughput", !throughput_charts.is_empty()),
        ("latency", "Latency", !latency_charts.is_empty()),
        (
            "tradeoff",
            "Latency–throughput",
            !tradeoff_charts.is_empty(),
        ),
        ("timeseries", "Time series", has_generation),
        ("server", "Server metrics", server.is_some()),
        ("tokens", "Tokens", true),
        ("pooling", "Pooling APIs", pooling.is_some()),
        ("points", "Points in detail", true),
        ("reliability", "Failures", true),
        ("client", "Client self-check", true),
        ("definitions", "Metric definitions", true),
    ];
    let nav = sections
        .into_iter()
        .filter(|s| s.2)
        .map(|(id, title, _)| NavItem { id, title })
        .collect();

    Ok(ReportView {
        name: exp.name.clone(),
        description: exp.description.clone(),
        interrupted: results.interrupted,
        tool_version: results.environment.tool_version.clone(),
        headline: headline(results),
        nav,
        experiment: experiment_view(results),
        overview: results
            .points
            .iter()
            .map(|p| overview_row(p, is_pooling(results, p)))
            .collect(),
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
        token_rows: results.points.iter().map(token_row).collect(),
        points: results.points.iter().map(point_view).collect(),
        failures: failures_view(results),
        client: client_view(results),
        pooling,
        definitions: definitions(),
    })
}

/// The counts under the title: points, runs, requests, succeeded, failed.
fn headline(results: &ExperimentResults) -> Vec<KeyValue> {
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
    vec![
        kv("Points", fmt_count(results.points.len() as u64)),
        kv("Runs", fmt_count(total_runs)),
        kv("Requests", fmt_count(total_requests)),
        kv("Succeeded", fmt_count(total_ok)),
        kv("Failed", fmt_count(total_requests.saturating_sub(total_ok))),
    ]
}
