//! Human console output only: a progress bar per point, and what `run` and
//! `resume` print at the end (the summary table, search answers, where the
//! results are, why the exit code is not 0).

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::metrics::PointSummary;
use crate::plan::PointSpec;
use crate::results::resume::Recovered;
use crate::results::{ExperimentResults, PointResult, ResultsDir};

/// Progress bars (hidden with `--quiet`, `--json`, or when stderr is not a terminal).
pub struct Progress {
    multi: Option<MultiProgress>,
}

impl Progress {
    #[must_use]
    pub fn new(enabled: bool) -> Self {
        let multi = enabled.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Progress { multi }
    }

    /// A bar for one point, `len` measured requests long.
    #[must_use]
    pub fn point(&self, point: &PointSpec, len: u64) -> Option<ProgressBar> {
        let multi = self.multi.as_ref()?;
        let bar = multi.add(ProgressBar::new(len));
        let style =
            ProgressStyle::with_template("{prefix:<40} [{bar:30}] {pos}/{len} {elapsed} {msg}")
                .map(|s| s.progress_chars("=> "))
                .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_prefix(point.id.clone());
        Some(bar)
    }

    /// Ends a point's bar with its headline numbers.
    pub fn finish_point(&self, bar: &Option<ProgressBar>, s: &PointSummary) {
        if let Some(b) = bar {
            b.finish_with_message(format!(
                "{:.0} tok/s, TTFT p50 {:.1} ms, {} failed",
                s.e2e_output_tps.mean, s.ttft_ms.p50, s.reliability.failed
            ));
        }
    }
}

/// The final console table: one row per point.
///
/// A latency whose statistic has no values (TTFT of a non-streamed or pooling
/// request, say) shows `–`, not 0. Points without output tokens (embeddings,
/// rerank, score) show `–` for output tokens/s and their items (embeddings or
/// documents) per second instead; generation points show `–` there.
#[must_use]
pub fn summary_table(points: &[PointResult]) -> String {
    let header = [
        "point",
        "load",
        "ok/total",
        "out tok/s",
        "req/s",
        "items/s",
        "TTFT p50 ms",
        "TTFT p99 ms",
        "TPOT p50 ms",
        "ITL p50 ms",
        "E2E p50 ms",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| (*s).to_string()).collect()];
    for p in points {
        let s = &p.summary;
        let pooling = s.output_tokens.max == 0.0;
        let stat = |st: &crate::metrics::Stat, v: f64, decimals: usize| {
            if st.n == 0 {
                "–".to_string()
            } else {
                format!("{v:.decimals$}")
            }
        };
        let (out_tps, items) = if pooling {
            ("–".to_string(), format!("{:.1}", s.items_per_s.mean))
        } else {
            (format!("{:.1}", s.e2e_output_tps.mean), "–".to_string())
        };
        rows.push(vec![
            s.point_id.clone(),
            format!("{} {}", s.mode, trim_float(s.load_value)),
            format!("{}/{}", s.reliability.ok, s.reliability.total),
            out_tps,
            format!("{:.2}", s.requests_per_s.mean),
            items,
            stat(&s.ttft_ms, s.ttft_ms.p50, 1),
            stat(&s.ttft_ms, s.ttft_ms.p99, 1),
            stat(&s.tpot_ms, s.tpot_ms.p50, 2),
            stat(&s.itl_ms, s.itl_ms.p50, 2),
            stat(&s.e2e_ms, s.e2e_ms.p50, 1),
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (i, r) in rows.iter().enumerate() {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(c, v)| {
                if c == 0 {
                    format!("{v:<w$}", w = widths[c])
                } else {
                    format!("{v:>w$}", w = widths[c])
                }
            })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
        if i == 0 {
            out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1)));
            out.push('\n');
        }
    }
    out
}

fn trim_float(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// Prints what a finished (or interrupted) run produced: with `json` the
/// point summaries as JSON on stdout; else, unless `quiet`, the summary table
/// and each search's answer; then (not with `json`) where the results and the
/// report are.
///
/// # Errors
/// When the summaries cannot be encoded as JSON.
pub fn print_results(
    results: &ExperimentResults,
    dir: &ResultsDir,
    quiet: bool,
    json: bool,
) -> Result<(), serde_json::Error> {
    if json {
        let summaries: Vec<_> = results.points.iter().map(|p| &p.summary).collect();
        println!("{}", serde_json::to_string_pretty(&summaries)?);
    } else if !quiet {
        print!("{}", summary_table(&results.points));
        for s in &results.searches {
            match &s.answer {
                Some(a) => println!(
                    "search {} ({}): {} — {}",
                    s.spec.id,
                    s.spec.kind.mode_name(),
                    a.value
                        .map_or_else(|| "no answer".to_owned(), crate::plan::format_value),
                    a.note
                ),
                None => println!("search {}: not finished", s.spec.id),
            }
        }
    }
    if !json {
        println!("results: {}", dir.path.display());
        println!(
            "report:  {}",
            dir.file(crate::results::layout::REPORT_FILE).display()
        );
    }
    Ok(())
}

/// Says that the run was interrupted (exit code 130).
pub fn print_interrupted() {
    eprintln!("run interrupted: partial results written");
}

/// Says that the failure rate `rate` exceeded `max` (exit code 5).
pub fn print_failure_rate(rate: f64, max: f64) {
    eprintln!(
        "error: {:.1}% of measured requests failed, above max_failure_rate {:.1}%",
        rate * 100.0,
        max * 100.0
    );
}

/// Says what `tokenomics resume` recovered from the spool.
pub fn print_recovered(recovered: &Recovered) {
    if recovered.skipped_lines > 0 {
        eprintln!(
            "resume: skipped {} damaged spool line(s) (a write cut by the crash)",
            recovered.skipped_lines
        );
    }
    if recovered.duplicates > 0 {
        eprintln!(
            "resume: {} spool line(s) repeated a record already read; each request counts once",
            recovered.duplicates
        );
    }
    eprintln!(
        "resume: recovered {} record(s) over {} generation(s), {} complete run(s)",
        recovered.records_read,
        recovered.generations,
        recovered.done.len()
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Stat;

    #[test]
    fn pooling_rows_show_items_and_no_generation_latencies() {
        let mut results = crate::results::test_fixture::sample_results();
        results.points.retain(|p| {
            p.spec.id == "vllm.short.burst-1" || p.spec.id == "embed.embed-200.burst-1"
        });
        // The fixture's embeddings point: no output tokens, no TTFT.
        let embed = &mut results.points[1].summary;
        embed.output_tokens = Stat::from_values(&[0.0, 0.0]);
        embed.ttft_ms = Stat::default();
        embed.items_per_s = Stat::from_values(&[40.0, 44.0]);
        let table = summary_table(&results.points);
        let lines: Vec<&str> = table.lines().collect();
        let cells = |line: &str| -> Vec<String> {
            line.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect()
        };
        let header = cells(lines[0]);
        let col = |name: &str| header.iter().position(|h| h == name).unwrap();
        let gen = cells(lines[2]);
        let pool = cells(lines[3]);
        assert_eq!(pool[0], "embed.embed-200.burst-1");
        assert_eq!(pool[col("items/s")], "42.0");
        assert_eq!(pool[col("out tok/s")], "–");
        assert_eq!(pool[col("TTFT p50 ms")], "–");
        assert_eq!(gen[col("items/s")], "–");
        assert_ne!(gen[col("TTFT p50 ms")], "–");
    }
}
