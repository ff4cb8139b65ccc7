//! Tests of the HTML report: charts, sections, escaping, determinism.

use scraper::{Html, Selector};

use super::*;
use crate::report::{server_chart_id, CHART_IDS, SERVER_CHART_PREFIX};
use crate::results::layout::REPORT_FILE;
use crate::results::test_fixture::{sample_results, SCRIPT};
use crate::results::{ExperimentResults, ResultsDir, ServerMetricSample};
use crate::sink::Sink;

fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap()
}

#[test]
fn report_has_every_chart_with_an_svg() {
    let html = render_report(&sample_results()).unwrap();
    let doc = Html::parse_document(&html);
    // Every chart but goodput (the fixture has no SLOs).
    for id in CHART_IDS.into_iter().filter(|id| *id != "chart-goodput") {
        let svgs = doc.select(&sel(&format!("figure#{id} svg"))).count();
        assert_eq!(svgs, 1, "chart {id} has exactly one svg");
        let legend = doc
            .select(&sel(&format!("figure#{id} ul.legend li")))
            .count();
        assert!(legend >= 1, "chart {id} has a legend");
    }
    // The fixture has no SLOs, so no goodput chart.
    assert_eq!(doc.select(&sel("figure#chart-goodput")).count(), 0);
    // Two generation series in the throughput chart, each with a polyline.
    let lines = doc
        .select(&sel("figure#chart-e2e-throughput svg polyline"))
        .count();
    assert!(lines >= 2, "one line per series, got {lines}");
}

#[test]
fn report_has_sections_nav_and_tables() {
    let results = sample_results();
    let html = render_report(&results).unwrap();
    let doc = Html::parse_document(&html);
    for id in [
        "experiment",
        "overview",
        "throughput",
        "latency",
        "tradeoff",
        "timeseries",
        "tokens",
        "pooling",
        "points",
        "reliability",
        "client",
        "definitions",
    ] {
        assert_eq!(
            doc.select(&sel(&format!("section#{id}"))).count(),
            1,
            "section {id}"
        );
        assert_eq!(
            doc.select(&sel(&format!("nav.contents a[href=\"#{id}\"]")))
                .count(),
            1,
            "nav entry {id}"
        );
    }
    let overview_rows = doc.select(&sel("#table-overview tbody tr")).count();
    assert_eq!(overview_rows, results.points.len());
    assert_eq!(
        doc.select(&sel("div.card.point")).count(),
        results.points.len()
    );
    // Each generation point's stats table has the latency rows.
    let first = doc
        .select(&sel("div.card.point table.stats"))
        .next()
        .unwrap();
    let text: String = first.text().collect();
    for metric in [
        "TTFT",
        "TPOT",
        "ITL",
        "E2E latency",
        "E2E output throughput",
    ] {
        assert!(text.contains(metric), "{metric} row");
    }
    // Failure table has the outcomes that occurred, with their counts.
    let head: String = doc
        .select(&sel("#table-failures thead"))
        .next()
        .unwrap()
        .text()
        .collect();
    assert!(
        head.contains("http_error") && head.contains("timeout"),
        "{head}"
    );
    assert_eq!(doc.select(&sel("#errors-http_error tbody tr")).count(), 1);
    assert_eq!(doc.select(&sel("#errors-timeout tbody tr")).count(), 1);
    // Client warnings, token accounting, pooling rows, definitions.
    assert_eq!(doc.select(&sel("#client-warnings li")).count(), 3);
    assert_eq!(
        doc.select(&sel("#table-token-accounting tbody tr")).count(),
        results.points.len()
    );
    assert_eq!(doc.select(&sel("#table-pooling tbody tr")).count(), 2);
    assert!(doc.select(&sel("dl.defs dt")).count() >= 12);
    // The /v1/models answer and the manifest are shown.
    assert_eq!(doc.select(&sel("#server-models pre")).count(), 1);
    assert_eq!(doc.select(&sel("#manifest pre")).count(), 1);
}

#[test]
fn hostile_text_is_escaped_everywhere() {
    let html = render_report(&sample_results()).unwrap();
    assert!(!html.contains(SCRIPT), "raw <script> must never appear");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;")
            || html.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
    );
    let doc = Html::parse_document(&html);
    assert_eq!(
        doc.select(&sel("script")).count(),
        0,
        "no script element at all"
    );
    // The escaped text reads back as the original string.
    let models: String = doc
        .select(&sel("#table-endpoints"))
        .next()
        .unwrap()
        .text()
        .collect();
    assert!(models.contains(SCRIPT));
    let errors: String = doc
        .select(&sel("#errors-http_error"))
        .next()
        .unwrap()
        .text()
        .collect();
    assert!(errors.contains(SCRIPT));
}

#[test]
fn rendering_is_deterministic() {
    let a = render_report(&sample_results()).unwrap();
    let b = render_report(&sample_results()).unwrap();
    assert_eq!(a, b);
    // Round-tripping through JSON (what `tokenomics report` reads back) changes nothing.
    let json = serde_json::to_string(&sample_results()).unwrap();
    let back: ExperimentResults = serde_json::from_str(&json).unwrap();
    let c = render_report(&back).unwrap();
    if c != a {
        let i = a
            .bytes()
            .zip(c.bytes())
            .position(|(x, y)| x != y)
            .unwrap_or(0);
        let lo = i.saturating_sub(200);
        panic!(
            "differs at {i}: {:?} vs {:?}",
            &a[lo..(i + 100).min(a.len())],
            &c[lo..(i + 100).min(c.len())]
        );
    }
}

#[test]
fn sink_writes_report_html() {
    let dir = tempfile::tempdir().unwrap();
    let rd = ResultsDir::new(dir.path());
    HtmlSink.write(&rd, &sample_results()).unwrap();
    let text = std::fs::read_to_string(dir.path().join(REPORT_FILE)).unwrap();
    assert!(text.starts_with("<!DOCTYPE html>"));
    assert_eq!(HtmlSink.name(), "html");
}

#[test]
fn pooling_only_experiment_has_no_generation_sections() {
    let mut r = sample_results();
    r.points.retain(|p| p.spec.endpoint == "embed");
    let html = render_report(&r).unwrap();
    let doc = Html::parse_document(&html);
    assert_eq!(doc.select(&sel("section#latency")).count(), 0);
    assert_eq!(doc.select(&sel("section#timeseries")).count(), 0);
    assert_eq!(
        doc.select(&sel("figure#chart-pooling-items svg")).count(),
        1
    );
    assert_eq!(
        doc.select(&sel("nav.contents a[href=\"#latency\"]"))
            .count(),
        0
    );
}

#[test]
fn empty_interrupted_experiment_renders() {
    let mut r = sample_results();
    r.points.clear();
    r.records.clear();
    r.interrupted = true;
    let html = render_report(&r).unwrap();
    let doc = Html::parse_document(&html);
    assert_eq!(doc.select(&sel("span.badge.bad")).count(), 1);
    assert_eq!(doc.select(&sel("figure.chart")).count(), 0);
    assert_eq!(doc.select(&sel("#table-overview tbody tr")).count(), 0);
    assert!(html.contains("No measured request failed."));
}

#[test]
fn non_finite_values_do_not_break_charts() {
    let mut r = sample_results();
    r.points[0].summary.e2e_output_tps.mean = f64::NAN;
    r.points[1].summary.e2e_output_tps.std = f64::INFINITY;
    let html = render_report(&r).unwrap();
    let doc = Html::parse_document(&html);
    assert_eq!(
        doc.select(&sel("figure#chart-e2e-throughput svg")).count(),
        1
    );
    assert!(!html.contains("NaN"));
}

/// The fixture with gauge samples for point 0 (runs 0 and 1) and a counter for point 1.
fn with_server_metrics() -> ExperimentResults {
    let mut r = sample_results();
    let sample =
        |point: u32, run: u32, t_ms: f64, name: &str, raw: &str, value: f64| ServerMetricSample {
            endpoint: "vllm".into(),
            point_index: point,
            run_index: run,
            t_ms,
            name: name.into(),
            raw_name: raw.into(),
            value,
        };
    for run in 0..2 {
        for (k, t) in [0.0, 10.0, 20.0, 30.0].into_iter().enumerate() {
            let busy = if k == 1 || k == 2 { 1.0 } else { 0.0 };
            r.server_metrics.extend([
                sample(0, run, t, "running", "vllm:num_requests_running", busy),
                sample(0, run, t, "waiting", "vllm:num_requests_waiting", 0.0),
                sample(
                    0,
                    run,
                    t,
                    "kv_cache_usage",
                    "vllm:gpu_cache_usage_perc",
                    0.25 * busy * f64::from(run + 1),
                ),
            ]);
        }
    }
    r.server_metrics.push(sample(
        1,
        0,
        5.0,
        "generation_tokens_total",
        "vllm:generation_tokens_total",
        40.0,
    ));
    r
}

#[test]
fn server_metrics_get_one_chart_per_point_with_gauges() {
    let results = with_server_metrics();
    let html = render_report(&results).unwrap();
    let doc = Html::parse_document(&html);
    assert_eq!(doc.select(&sel("section#server")).count(), 1);
    assert_eq!(
        doc.select(&sel("nav.contents a[href=\"#server\"]")).count(),
        1
    );
    // Point 0 has gauges; point 1 only a counter, so no chart for it.
    let id = server_chart_id(&results.points[0].spec.id);
    assert_eq!(id, "chart-server-vllm_short_burst-1");
    assert_eq!(doc.select(&sel("section#server figure")).count(), 1);
    assert_eq!(doc.select(&sel(&format!("figure#{id} svg"))).count(), 1);
    let legend: Vec<String> = doc
        .select(&sel(&format!("figure#{id} ul.legend li")))
        .map(|li| li.text().collect::<String>())
        .collect();
    assert_eq!(
        legend,
        [
            "client: requests in flight",
            "server: running",
            "server: waiting",
            "server: KV-cache usage"
        ]
    );
    // The caption is about the last run: its KV peak is 0.25 · 1 · 2 = 50 % (run 0: 25 %).
    let caption: String = doc
        .select(&sel(&format!("figure#{id} figcaption")))
        .next()
        .unwrap()
        .text()
        .collect();
    assert!(caption.contains("Run 1"), "{caption}");
    assert!(caption.contains("peak KV-cache usage 50.00 %"), "{caption}");
    assert!(caption.contains("peak running 1.000"), "{caption}");
    // Two panels: the requests panel and the KV-cache panel, each with an axis label.
    let svg: String = doc
        .select(&sel(&format!("figure#{id} svg")))
        .next()
        .unwrap()
        .html();
    assert!(svg.contains("KV cache used (%)") && svg.contains("Requests"));
    // Deterministic like the rest of the page.
    assert_eq!(html, render_report(&with_server_metrics()).unwrap());
}

#[test]
fn no_gauge_samples_no_server_section() {
    for results in [sample_results(), {
        let mut r = with_server_metrics();
        r.server_metrics
            .retain(|s| s.name == "generation_tokens_total");
        r
    }] {
        let html = render_report(&results).unwrap();
        let doc = Html::parse_document(&html);
        assert_eq!(doc.select(&sel("section#server")).count(), 0);
        assert_eq!(
            doc.select(&sel("nav.contents a[href=\"#server\"]")).count(),
            0
        );
        assert!(!html.contains(SERVER_CHART_PREFIX));
    }
}

/// The overview fits a 1,280-px window: the layout's 220-px contents column and
/// padding leave about 960 px, so the table keeps to nine columns (endpoint,
/// scenario and load go under the point's id), its long ids wrap, and no
/// style fixes a width wider than the window.
#[test]
fn the_overview_fits_a_1280_px_window() {
    let results = sample_results();
    let html = render_report(&results).unwrap();
    let doc = Html::parse_document(&html);
    let columns = doc.select(&sel("#table-overview thead th")).count();
    assert!(columns <= 9, "{columns} overview columns");
    for row in doc.select(&sel("#table-overview tbody tr")) {
        assert_eq!(row.select(&sel("td")).count(), columns);
    }
    // Every number-with-px in the stylesheet that sets a width stays below 1,280.
    let css: String = doc.select(&sel("style")).flat_map(|s| s.text()).collect();
    assert!(
        css.contains("#table-overview td.point"),
        "the report's own stylesheet"
    );
    for decl in css.split(';') {
        let decl = decl.trim();
        let Some((prop, value)) = decl.rsplit_once(':') else {
            continue;
        };
        if !prop.trim_end().ends_with("width") || prop.contains("max-width") {
            continue;
        }
        for px in value
            .split_whitespace()
            .filter_map(|v| v.strip_suffix("px"))
        {
            let n: f64 = px
                .trim_start_matches(|c: char| !c.is_ascii_digit())
                .parse()
                .unwrap_or(0.0);
            assert!(n < 1280.0, "fixed width {decl}");
        }
    }
    // Column headers explain themselves on hover.
    assert!(
        doc.select(&sel("#table-overview thead th span[title]"))
            .count()
            >= 7
    );
}
