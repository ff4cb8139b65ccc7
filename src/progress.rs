//! Human console output only: a progress bar per point and the final table.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::metrics::PointSummary;
use crate::plan::PointSpec;

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
#[must_use]
pub fn summary_table(points: &[crate::sink::PointResult]) -> String {
    let header = [
        "point",
        "load",
        "ok/total",
        "out tok/s",
        "req/s",
        "TTFT p50 ms",
        "TTFT p99 ms",
        "TPOT p50 ms",
        "ITL p50 ms",
        "E2E p50 ms",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| (*s).to_string()).collect()];
    for p in points {
        let s = &p.summary;
        rows.push(vec![
            s.point_id.clone(),
            format!("{} {}", s.mode, trim_float(s.load_value)),
            format!("{}/{}", s.reliability.ok, s.reliability.total),
            format!("{:.1}", s.e2e_output_tps.mean),
            format!("{:.2}", s.requests_per_s.mean),
            format!("{:.1}", s.ttft_ms.p50),
            format!("{:.1}", s.ttft_ms.p99),
            format!("{:.2}", s.tpot_ms.p50),
            format!("{:.2}", s.itl_ms.p50),
            format!("{:.1}", s.e2e_ms.p50),
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
