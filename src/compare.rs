//! `tokenomics compare`: results side by side, with deltas, confidence
//! intervals and regression gates.
//!
//! Inputs (the first is the baseline) can be tokenomics results directories,
//! experiment directories (the newest run is used), reference files of
//! published numbers (`results/reference/*.toml`) and the original tool's
//! result files of every era. All are normalised into one per-point metric
//! view ([`view`]) with tokenomics metric names and units, matched point by
//! point ([`engine`]), and printed as a table, JSON or an HTML page
//! ([`render`]). `--fail-if-regression METRIC[.STAT]:PERCENT` turns the
//! comparison into a gate: [`CompareOutcome::regression`] is true when a rule
//! fired, and the binary exits with code 7.
//!
//! Metric names: see [`view::METRICS`]. Matching, deltas, intervals and rules:
//! see [`engine`]. The bootstrap: see [`bootstrap`].

pub mod bootstrap;
pub mod engine;
pub mod load;
pub mod original;
pub mod reference;
pub mod render;
pub mod view;

use std::io::Write;

pub use engine::{compare, parse_rule, CompareReport, RegressionRule};
pub use view::{MetricValue, PointMetrics, SourceView};

use crate::cli::CompareArgs;
use crate::Error;

/// What a `compare` run found.
#[derive(Clone, Debug)]
pub struct CompareOutcome {
    /// True when a `--fail-if-regression` rule flagged a regression (exit code 7).
    pub regression: bool,
    /// The full comparison (inputs, rows, regressions, warnings).
    pub report: CompareReport,
}

fn write_stdout(text: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        // `tokenomics compare … | head` is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(source) => Err(Error::Process {
            what: "failed to write to stdout".into(),
            source,
        }),
    }
}

/// Loads every input, compares them with the first, prints the table (or JSON
/// with `--json`), writes the HTML page when `--html` is given, and reports
/// whether a regression rule fired.
///
/// # Errors
/// [`Error::Usage`] for a malformed `--fail-if-regression`, [`Error::Results`]
/// when an input cannot be read, [`Error::Sink`] when the page cannot be written.
pub fn run_compare(args: &CompareArgs) -> Result<CompareOutcome, Error> {
    let rules = args
        .fail_if_regression
        .iter()
        .map(|s| parse_rule(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|message| Error::Usage {
            message: format!("--fail-if-regression {message}"),
            hint: Some(
                "rules look like ttft_ms.p50:10 or e2e_output_tps:5 (metric[.stat]:percent)".into(),
            ),
        })?;
    if args.inputs.len() < 2 {
        return Err(Error::Usage {
            message: "compare needs at least two inputs (the first is the baseline)".into(),
            hint: None,
        });
    }
    let sources = args
        .inputs
        .iter()
        .map(|p| load::load_input(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|message| Error::Results { message })?;
    let report = compare(&sources, &rules);
    if args.json {
        let json = render::render_json(&report).map_err(|source| Error::Encode {
            what: "the comparison",
            source,
        })?;
        write_stdout(&(json + "\n"))?;
        for w in &report.warnings {
            eprintln!("warning: {w}");
        }
    } else {
        write_stdout(&render::render_text(&report))?;
    }
    if let Some(path) = &args.html {
        let html = render::render_html(&report).map_err(|e| e.at(path))?;
        crate::results::write_atomic(path, html.as_bytes())?;
    }
    Ok(CompareOutcome {
        regression: !report.regressions.is_empty(),
        report,
    })
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use scraper::{Html, Selector};

    use super::*;
    use crate::results::test_fixture::{sample_results, sample_results_with};
    use crate::results::ExperimentResults;

    /// Writes `results` as a `summary.json` in the layout the JSON sink uses.
    fn write_summary(dir: &Path, results: &ExperimentResults) {
        std::fs::create_dir_all(dir).unwrap();
        let v = serde_json::json!({
            "schema_version": 1,
            "experiment": { "name": results.plan.experiment.name },
            "environment": results.environment,
            "points": results.points,
        });
        std::fs::write(
            dir.join("summary.json"),
            serde_json::to_string_pretty(&v).unwrap(),
        )
        .unwrap();
    }

    fn args(inputs: Vec<PathBuf>, rules: &[&str], html: Option<PathBuf>) -> CompareArgs {
        CompareArgs {
            inputs,
            fail_if_regression: rules.iter().map(|s| (*s).to_string()).collect(),
            html,
            json: false,
        }
    }

    #[test]
    fn slower_results_are_flagged_and_equal_ones_are_not() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().join("base");
        let slow = tmp.path().join("slow");
        let same = tmp.path().join("same");
        write_summary(&base, &sample_results());
        write_summary(&slow, &sample_results_with(1.3));
        write_summary(&same, &sample_results());
        let rules = ["e2e_output_tps:5", "ttft_ms.p50:10"];
        let out = run_compare(&args(vec![base.clone(), slow], &rules, None)).unwrap();
        assert!(out.regression);
        let c = &out.report.comparisons[0];
        assert_eq!(c.match_rule, engine::MatchRule::LabelAndLoad);
        assert_eq!(c.matched_points, 10);
        // Throughput has per-run values: flagged with an interval below zero.
        let tps = out
            .report
            .regressions
            .iter()
            .find(|r| r.rule == "e2e_output_tps.mean:5" && r.point == "vllm/short burst @ 4")
            .expect("vllm/short burst @ 4 throughput regression");
        assert!(tps.ci.is_some_and(|(_, hi)| hi < 0.0));
        assert!(
            (tps.delta_pct - (1.0 / 1.3 - 1.0) * 100.0).abs() < 1e-6,
            "{}",
            tps.delta_pct
        );
        // TTFT p50 has no per-run values: threshold only.
        assert!(out
            .report
            .regressions
            .iter()
            .any(|r| r.rule == "ttft_ms.p50:10" && r.ci.is_none()));
        let out = run_compare(&args(vec![base, same], &rules, None)).unwrap();
        assert!(!out.regression);
        assert!(out.report.regressions.is_empty());
    }

    #[test]
    fn experiment_dir_uses_the_newest_run() {
        let tmp = tempfile::tempdir().unwrap();
        let exp = tmp.path().join("demo");
        write_summary(&exp.join("2026-01-01T00-00-00Z"), &sample_results_with(2.0));
        // Same modification time granularity may tie: the greater name wins then.
        write_summary(&exp.join("2026-01-02T00-00-00Z"), &sample_results());
        let old = std::fs::File::options()
            .write(true)
            .open(exp.join("2026-01-01T00-00-00Z/summary.json"))
            .unwrap();
        old.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000))
            .unwrap();
        let s = load::load_input(&exp).unwrap();
        assert!(
            s.path.ends_with("2026-01-02T00-00-00Z"),
            "{}",
            s.path.display()
        );
        assert!(s.notes.iter().any(|n| n.contains("Newest run")));
    }

    #[test]
    fn steady_buckets_are_read_back_from_the_summary() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        write_summary(&dir, &sample_results());
        let s = load::load_input(&dir).unwrap();
        let mut seen = 0;
        for p in &s.points {
            if let Some(v) = p.metrics.get("steady_state_tps") {
                // Every fixture run has 10 steady buckets.
                assert_eq!(v.n, Some(10 * v.per_run.len() as u64), "{}", p.display());
                seen += 1;
            }
        }
        assert!(seen > 0);
        // A summary written before the count was recorded leaves it unknown.
        let path = dir.join("summary.json");
        let text = std::fs::read_to_string(&path).unwrap();
        let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
        for p in json["points"].as_array_mut().unwrap() {
            for r in p["runs"].as_array_mut().unwrap() {
                r.as_object_mut().unwrap().remove("steady_state_buckets");
            }
        }
        std::fs::write(&path, serde_json::to_string(&json).unwrap()).unwrap();
        let s = load::load_input(&dir).unwrap();
        assert!(s
            .points
            .iter()
            .filter_map(|p| p.metrics.get("steady_state_tps"))
            .all(|v| v.n.is_none()));
    }

    #[test]
    fn results_against_reference_and_original() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().join("base");
        write_summary(&base, &sample_results());
        let reference = tmp.path().join("ref.toml");
        std::fs::write(
            &reference,
            r#"
schema = 1
name = "ref"
source = "test"
hardware = "none"
model = "m"

[[points]]
label = "vllm/short"
load = 4
metrics.e2e_output_tps = { mean = 100.0 }
"#,
        )
        .unwrap();
        let original = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/original/e5_dir");
        let html = tmp.path().join("cmp.html");
        let out = run_compare(&args(
            vec![base, reference, original],
            &["e2e_output_tps:5"],
            Some(html.clone()),
        ))
        .unwrap();
        // The reference is about half the baseline's throughput at vllm/short @ 4.
        assert!(out.regression);
        assert_eq!(out.report.comparisons.len(), 2);
        assert_eq!(out.report.comparisons[0].matched_points, 1);
        // The original's directory has no labels, and its points are sustained
        // (concurrency) runs: none pairs with the baseline's burst points, and
        // both sides' points are listed as unmatched instead.
        let orig = &out.report.comparisons[1];
        assert_eq!(orig.match_rule, engine::MatchRule::Load);
        assert_eq!(orig.matched_points, 0);
        assert_eq!(
            orig.unmatched_candidate,
            ["concurrency @ 1", "concurrency @ 128"]
        );
        assert!(out
            .report
            .warnings
            .iter()
            .any(|w| w.contains("No point of `e5_dir` matches")));
        let page = std::fs::read_to_string(&html).unwrap();
        let doc = Html::parse_document(&page);
        let sel = |s: &str| Selector::parse(s).unwrap();
        assert_eq!(
            doc.select(&sel("figure#chart-compare-e2e-output-tps svg"))
                .count(),
            1
        );
        assert_eq!(doc.select(&sel("table.compare")).count(), 2);
        assert!(doc.select(&sel("#regression-list li")).count() >= 1);
        assert_eq!(doc.select(&sel("script")).count(), 0);
        // Text and JSON renderings carry the same verdicts.
        let text = render::render_text(&out.report);
        assert!(text.contains("REGRESSION"));
        let json: serde_json::Value =
            serde_json::from_str(&render::render_json(&out.report).unwrap()).unwrap();
        assert!(!json["regressions"].as_array().unwrap().is_empty());
        assert_eq!(json["sources"][2]["kind"], "original");
    }

    #[test]
    fn bad_inputs_and_rules_are_clear_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().join("base");
        write_summary(&base, &sample_results());
        let e =
            run_compare(&args(vec![base.clone(), base.clone()], &["ttft:5"], None)).unwrap_err();
        assert_eq!(e.exit_code(), crate::error::exit::USAGE);
        assert!(e.to_string().contains("unknown metric"), "{e}");
        let missing = tmp.path().join("nope");
        let e = run_compare(&args(vec![base, missing], &[], None)).unwrap_err();
        assert_eq!(e.exit_code(), crate::error::exit::OUTPUT);
        assert!(e.to_string().contains("does not exist"), "{e}");
    }
}
