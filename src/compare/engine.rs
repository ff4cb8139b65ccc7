//! Matching points, computing deltas and intervals, and applying regression rules.
//!
//! **Matching.** Only like is paired with like: two points pair only when they
//! measured the same kind of work (generation, embeddings, rerank/score), in
//! the same load mode (`burst`, `concurrency`, `rate`, …; a side that does not
//! say its mode pairs by kind and load, with a warning), at the same load. When
//! every point on both sides has a label (`endpoint/scenario`) and the sides
//! share at least one, the label must match too; otherwise (the original's
//! files and most references have no labels) points pair by kind, mode and
//! load, and the comparison says so. When one side has several points at the
//! same key, the k-th is paired with the k-th in file order. Loads are equal
//! when they agree to six decimals. Points without a partner are listed, never
//! forced.
//!
//! **Deltas.** For each metric known on both sides and each statistic present
//! on both (mean, p50, p99 always; p90 and p95 when a rule names them):
//! `Δ% = (candidate − baseline) / |baseline| × 100` (none when the baseline is 0).
//!
//! **Intervals.** A seeded percentile bootstrap 95 % interval of
//! `stat(candidate) − stat(baseline)` ([`super::bootstrap`], 2,000 resamples):
//! for per-run metrics (throughputs, wall time) the mean over the per-run values
//! (at least two runs a side); for per-request metrics (TTFT, TTFO, TPOT, E2E,
//! decode time, per-request throughputs) the mean or percentile over the
//! per-request values read from each side's `requests.parquet` (successful,
//! measured requests, last attempts), resampled at two levels — runs, then
//! requests within each drawn run — so that a run on a busier machine widens
//! the interval instead of passing for a difference (at least two runs a
//! side). Pooled ITL resamples runs, then the gaps of each drawn run. The
//! original's files and references hold neither, so their rows have no
//! interval. The interval is expanded for the number of runs (the smaller
//! side's), since a plain percentile interval from a few runs is too narrow:
//! with two or three runs a side it spans every resampled difference, with
//! five it takes the 0.1st and 99.9th percentiles ([`super::bootstrap`]).
//! Per-run metrics (throughputs, wall time, failure rate) are shown by their
//! mean only, unless a rule names another statistic.
//!
//! **Verdicts.** A row reads `worse` or `better` only when the change is at
//! least [`MIN_EFFECT_PCT`] of the baseline and its interval excludes zero —
//! or, without an interval, when the change is at least [`NO_INTERVAL_FLOOR_PCT`]
//! (run-to-run noise on one machine is a few percent). Otherwise it reads
//! `within noise` (or `equal` when the values are identical). A percentile
//! computed from per-request values gets no verdict (`within noise`) when a
//! side has fewer than [`MIN_TAIL_VALUES`] values beyond it: a p99 of 300 ITL
//! gaps is three gaps, whatever its interval says. Likewise the steady-state
//! throughput gets no verdict when a side's runs have fewer than
//! [`MIN_STEADY_BUCKETS`] steady buckets each on average: a median of four
//! buckets jumps by a bucket's worth of tokens with where the bucket edges fall.
//!
//! **Rules.** `--fail-if-regression metric[.stat]:percent` flags a row when the
//! metric got worse (latencies and times up, throughputs down, token counts
//! either way) by more than `percent` **and** the interval excludes zero on the
//! worse side. When no interval can be computed the threshold alone decides.

use std::collections::BTreeMap;

use serde::Serialize;

use super::bootstrap::{diff_ci_by_run, diff_of_means_ci, seed_for, Statistic, RESAMPLES};
use super::view::{
    closest_metric, metric_info, Direction, MetricValue, PointMetrics, SourceView, StatKind,
    METRICS, PER_RUN_METRICS,
};

/// The bootstrap statistic of a table statistic.
fn stat_statistic(stat: StatKind) -> Option<Statistic> {
    Some(match stat {
        StatKind::Mean => Statistic::Mean,
        StatKind::P50 => Statistic::Percentile(50.0),
        StatKind::P90 => Statistic::Percentile(90.0),
        StatKind::P95 => Statistic::Percentile(95.0),
        StatKind::P99 => Statistic::Percentile(99.0),
    })
}

/// One `--fail-if-regression` rule, e.g. `ttft_ms.p50:10`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RegressionRule {
    /// Metric name (see `view::METRICS`).
    pub metric: String,
    /// Statistic the rule checks (`mean` when not given).
    pub stat: StatKind,
    /// Largest tolerated worsening, in percent of the baseline.
    pub threshold_pct: f64,
}

impl RegressionRule {
    /// `metric.stat:percent` as the user writes it.
    #[must_use]
    pub fn spec(&self) -> String {
        format!(
            "{}.{}:{}",
            self.metric,
            self.stat.as_str(),
            crate::report::format::format_load(self.threshold_pct)
        )
    }
}

/// Parses `metric[.stat]:percent` (stat defaults to `mean`).
///
/// # Errors
/// A message saying what is wrong and what is accepted.
pub fn parse_rule(s: &str) -> Result<RegressionRule, String> {
    let (lhs, pct) = s.rsplit_once(':').ok_or_else(|| {
        format!(
            "`{s}`: expected METRIC[.STAT]:PERCENT, e.g. `ttft_ms.p50:10` or `e2e_output_tps:5`"
        )
    })?;
    let threshold_pct: f64 = pct
        .trim()
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("`{s}`: `{pct}` is not a percentage"))?;
    if !threshold_pct.is_finite() || threshold_pct < 0.0 {
        return Err(format!("`{s}`: the percentage must be a number ≥ 0"));
    }
    let (metric, stat) = match lhs.rsplit_once('.') {
        Some((m, st)) => {
            let stat = StatKind::parse(st).ok_or_else(|| {
                format!("`{s}`: `{st}` is not a statistic (use mean, p50, p90, p95 or p99)")
            })?;
            (m, stat)
        }
        None => (lhs, StatKind::Mean),
    };
    if metric_info(metric).is_none() {
        let hint = closest_metric(metric)
            .map(|c| format!(" (did you mean `{c}`?)"))
            .unwrap_or_default();
        let all: Vec<&str> = METRICS.iter().map(|m| m.name).collect();
        return Err(format!(
            "`{s}`: unknown metric `{metric}`{hint}; known metrics: {}",
            all.join(", ")
        ));
    }
    Ok(RegressionRule {
        metric: metric.to_string(),
        stat,
        threshold_pct,
    })
}

/// A change smaller than this share of the baseline (%) is never `worse` or `better`.
pub const MIN_EFFECT_PCT: f64 = 5.0;
/// Without an interval, a change must be at least this share of the baseline (%)
/// to read `worse` or `better`.
pub const NO_INTERVAL_FLOOR_PCT: f64 = 10.0;

/// How points were paired.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchRule {
    /// By kind of work, load mode, `endpoint/scenario` label and load value.
    LabelAndLoad,
    /// By kind of work, load mode and load value (no shared labels).
    Load,
}

impl MatchRule {
    /// One sentence for the reports.
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            MatchRule::LabelAndLoad => {
                "Points matched by kind of work, load mode, endpoint/scenario label and load value."
            }
            MatchRule::Load => {
                "Points matched by kind of work, load mode and load value only (the inputs do not share endpoint/scenario labels)."
            }
        }
    }
}

/// The verdict of one row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// A rule flagged it.
    Regression,
    /// Worse, and the interval excludes zero (or no interval and not equal).
    Worse,
    /// Better, and the interval excludes zero (or no interval and not equal).
    Better,
    /// Different, but the interval includes zero.
    WithinNoise,
    /// A token count or other two-sided metric changed.
    Changed,
    /// Identical values.
    Equal,
}

impl Verdict {
    /// Text for tables.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Regression => "REGRESSION",
            Verdict::Worse => "worse",
            Verdict::Better => "better",
            Verdict::WithinNoise => "within noise",
            Verdict::Changed => "changed",
            Verdict::Equal => "equal",
        }
    }
}

/// One metric statistic at one matched point.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    /// `label @ load` of the baseline point.
    pub point: String,
    /// Load value of the point.
    pub load: f64,
    /// Metric name.
    pub metric: String,
    /// Statistic compared.
    pub stat: StatKind,
    /// Unit of the metric.
    pub unit: String,
    /// Baseline value.
    pub baseline: f64,
    /// Candidate value.
    pub candidate: f64,
    /// Candidate − baseline.
    pub delta: f64,
    /// Δ in percent of the baseline (None when the baseline is 0).
    pub delta_pct: Option<f64>,
    /// Bootstrap 95 % interval of the difference of means, when computable.
    pub ci: Option<(f64, f64)>,
    /// Either value was read off a chart.
    pub approx: bool,
    /// What the row says (see [`Verdict`]).
    pub verdict: Verdict,
    /// The rules that flagged this row.
    pub flagged_by: Vec<String>,
}

/// A baseline × candidate comparison.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comparison {
    /// Name of the baseline input.
    pub baseline: String,
    /// Name of the candidate input.
    pub candidate: String,
    /// How points were paired.
    pub match_rule: MatchRule,
    /// Number of paired points.
    pub matched_points: usize,
    /// One row per metric statistic per paired point.
    pub rows: Vec<Row>,
    /// Baseline points without a partner.
    pub unmatched_baseline: Vec<String>,
    /// Candidate points without a partner.
    pub unmatched_candidate: Vec<String>,
}

/// A flagged regression.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Regression {
    /// The rule that fired (`metric.stat:percent`).
    pub rule: String,
    /// Name of the candidate input.
    pub candidate: String,
    /// The point (`label @ load`).
    pub point: String,
    /// Baseline value.
    pub baseline: f64,
    /// Candidate value.
    pub candidate_value: f64,
    /// Change in percent of the baseline.
    pub delta_pct: f64,
    /// Bootstrap interval of the difference, when computed.
    pub ci: Option<(f64, f64)>,
}

impl Regression {
    /// One line for the console and the page.
    #[must_use]
    pub fn describe(&self) -> String {
        let ci = self.ci.map_or_else(
            || "no interval: threshold only".to_string(),
            |(lo, hi)| {
                format!(
                    "95 % CI of Δ [{}, {}]",
                    crate::report::format::fmt_num(lo),
                    crate::report::format::fmt_num(hi)
                )
            },
        );
        format!(
            "{} at {} in {}: {} → {} ({:+.1} %, {ci})",
            self.rule,
            self.point,
            self.candidate,
            crate::report::format::fmt_num(self.baseline),
            crate::report::format::fmt_num(self.candidate_value),
            self.delta_pct
        )
    }
}

/// Everything `compare` found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CompareReport {
    /// Every input, normalised (the first is the baseline).
    pub sources: Vec<SourceView>,
    /// One comparison per candidate.
    pub comparisons: Vec<Comparison>,
    /// The rules applied.
    pub rules: Vec<RegressionRule>,
    /// Rows flagged by a rule.
    pub regressions: Vec<Regression>,
    /// Things to know: unmatched inputs, rules that matched nothing, mode mismatches.
    pub warnings: Vec<String>,
    /// How the numbers were computed (printed with the results).
    pub method: Vec<String>,
}

fn load_key(load: f64) -> String {
    format!("{load:.6}")
}

/// How the points of two inputs were paired.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PointMatching {
    /// Whether labels or loads alone were used.
    pub rule: MatchRule,
    /// False when a side does not say its load modes (then kind and load decide).
    pub by_mode: bool,
    /// `(index in a, index in b)` pairs, in the order of `a`.
    pub pairs: Vec<(usize, usize)>,
    /// Indices of points of `a` without a partner.
    pub unmatched_a: Vec<usize>,
    /// Indices of points of `b` without a partner.
    pub unmatched_b: Vec<usize>,
}

/// Pairs points of `a` and `b` (see the module docs).
#[must_use]
pub fn match_points(a: &[PointMetrics], b: &[PointMetrics]) -> PointMatching {
    let all_labelled = |v: &[PointMetrics]| !v.is_empty() && v.iter().all(|p| p.label.is_some());
    let shares_label = a
        .iter()
        .filter_map(|p| p.label.as_ref())
        .any(|l| b.iter().any(|q| q.label.as_ref() == Some(l)));
    let rule = if all_labelled(a) && all_labelled(b) && shares_label {
        MatchRule::LabelAndLoad
    } else {
        MatchRule::Load
    };
    // A side that never says its modes pairs by kind and load only.
    let modes_known = |v: &[PointMetrics]| v.iter().all(|p| p.mode.is_some());
    let use_mode = modes_known(a) && modes_known(b);
    let keys = |v: &[PointMetrics]| -> Vec<(String, usize)> {
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        v.iter()
            .map(|p| {
                let label = match rule {
                    MatchRule::LabelAndLoad => p.label.clone().unwrap_or_default(),
                    MatchRule::Load => String::new(),
                };
                let mode = if use_mode {
                    p.mode.clone().unwrap_or_default()
                } else {
                    String::new()
                };
                let k = format!("{}|{mode}|{label}|{}", p.kind.as_str(), load_key(p.load));
                let n = seen.entry(k.clone()).or_insert(0);
                let occurrence = *n;
                *n += 1;
                (k, occurrence)
            })
            .collect()
    };
    let ka = keys(a);
    let kb = keys(b);
    let mut pairs = Vec::new();
    let mut used_b = vec![false; b.len()];
    let mut unmatched_a = Vec::new();
    for (i, k) in ka.iter().enumerate() {
        match kb.iter().position(|x| x == k) {
            Some(j) => {
                pairs.push((i, j));
                used_b[j] = true;
            }
            None => unmatched_a.push(i),
        }
    }
    let unmatched_b = (0..b.len()).filter(|j| !used_b[*j]).collect();
    PointMatching {
        rule,
        by_mode: use_mode,
        pairs,
        unmatched_a,
        unmatched_b,
    }
}

fn worse_pct(direction: Direction, delta_pct: f64) -> f64 {
    match direction {
        Direction::HigherIsWorse => delta_pct,
        Direction::LowerIsWorse => -delta_pct,
        Direction::Either => delta_pct.abs(),
    }
}

/// True when the interval excludes zero on the worse side.
fn ci_says_worse(direction: Direction, ci: (f64, f64)) -> bool {
    match direction {
        Direction::HigherIsWorse => ci.0 > 0.0,
        Direction::LowerIsWorse => ci.1 < 0.0,
        Direction::Either => ci.0 > 0.0 || ci.1 < 0.0,
    }
}

/// Values a side needs beyond a percentile before the percentile gets a
/// verdict: a tail of fewer is a handful of outliers, and its bootstrap
/// interval is too narrow (a p99 of 300 ITL gaps rests on 3 of them).
pub const MIN_TAIL_VALUES: f64 = 10.0;

/// Steady buckets a side's runs need on average before its steady-state
/// throughput gets a verdict: a run's median of a few buckets moves by a
/// whole bucket's worth of tokens when the bucket edges fall differently, and
/// every run of a side can move the same way.
pub const MIN_STEADY_BUCKETS: u64 = 10;

/// True when a side's runs took their steady-state medians over fewer than
/// [`MIN_STEADY_BUCKETS`] buckets on average (`n` is the buckets of all its
/// runs; files that do not say count as enough).
fn steady_too_short(metric: &str, a: &MetricValue, b: &MetricValue) -> bool {
    metric == "steady_state_tps"
        && [a, b].iter().any(|v| {
            let runs = u64::try_from(v.per_run.len().max(1)).unwrap_or(u64::MAX);
            v.n.is_some_and(|n| n < MIN_STEADY_BUCKETS * runs)
        })
}

/// True when `stat` is a percentile and a side's per-request values put fewer
/// than [`MIN_TAIL_VALUES`] beyond it (`n × (1 − q/100)`).
fn tail_too_thin(stat: StatKind, a: &[Vec<f64>], b: &[Vec<f64>]) -> bool {
    let q = match stat {
        StatKind::Mean => return false,
        StatKind::P50 => 50.0,
        StatKind::P90 => 90.0,
        StatKind::P95 => 95.0,
        StatKind::P99 => 99.0,
    };
    [a, b].iter().any(|side| {
        let n = side.iter().map(Vec::len).sum::<usize>();
        #[allow(clippy::cast_precision_loss)]
        let tail = n as f64 * (1.0 - q / 100.0);
        n > 0 && tail < MIN_TAIL_VALUES
    })
}

fn verdict(
    direction: Direction,
    delta: f64,
    delta_pct: Option<f64>,
    ci: Option<(f64, f64)>,
) -> Verdict {
    if delta == 0.0 {
        return Verdict::Equal;
    }
    let size = delta_pct.map_or(f64::INFINITY, f64::abs);
    let floor = if ci.is_some() {
        MIN_EFFECT_PCT
    } else {
        NO_INTERVAL_FLOOR_PCT
    };
    if size < floor {
        return Verdict::WithinNoise;
    }
    if let Some((lo, hi)) = ci {
        if lo <= 0.0 && hi >= 0.0 {
            return Verdict::WithinNoise;
        }
    }
    match direction {
        Direction::Either => Verdict::Changed,
        Direction::HigherIsWorse if delta > 0.0 => Verdict::Worse,
        Direction::LowerIsWorse if delta < 0.0 => Verdict::Worse,
        _ => Verdict::Better,
    }
}

/// Compares every source after the first with the first, applying `rules`.
#[must_use]
pub fn compare(sources: &[SourceView], rules: &[RegressionRule]) -> CompareReport {
    let mut comparisons = Vec::new();
    let mut regressions = Vec::new();
    let mut warnings = Vec::new();
    let mut rule_hits = vec![0usize; rules.len()];
    let mut stats: Vec<StatKind> = vec![StatKind::Mean, StatKind::P50, StatKind::P99];
    for r in rules {
        if !stats.contains(&r.stat) {
            stats.push(r.stat);
        }
    }
    stats.sort();
    if let Some((base, rest)) = sources.split_first() {
        if base.points.is_empty() {
            warnings.push(format!("The baseline `{}` has no points.", base.name));
        }
        for (ci_index, cand) in rest.iter().enumerate() {
            let PointMatching {
                rule,
                by_mode,
                pairs,
                unmatched_a: ua,
                unmatched_b: ub,
            } = match_points(&base.points, &cand.points);
            if !by_mode {
                warnings.push(format!(
                    "{} vs {}: an input does not say the load mode of every point, so points were paired by kind of work and load only.",
                    base.name, cand.name
                ));
            }
            let mut rows = Vec::new();
            for &(i, j) in &pairs {
                let (pa, pb) = (&base.points[i], &cand.points[j]);
                if let (Some(ma), Some(mb)) = (&pa.mode, &pb.mode) {
                    if ma != mb {
                        warnings.push(format!(
                            "{} vs {}: point {} is `{ma}` in the baseline and `{mb}` in the candidate.",
                            base.name,
                            cand.name,
                            pa.display()
                        ));
                    }
                }
                for info in METRICS {
                    let (Some(va), Some(vb)) =
                        (pa.metrics.get(info.name), pb.metrics.get(info.name))
                    else {
                        continue;
                    };
                    for &stat in &stats {
                        let asked = rules
                            .iter()
                            .any(|r| r.metric == info.name && r.stat == stat);
                        if stat != StatKind::Mean && PER_RUN_METRICS.contains(&info.name) && !asked
                        {
                            continue;
                        }
                        let (Some(x), Some(y)) = (va.get(stat), vb.get(stat)) else {
                            continue;
                        };
                        let delta = y - x;
                        let delta_pct = (x != 0.0).then(|| delta / x.abs() * 100.0);
                        let key = format!(
                            "{}|{}|{}|{}",
                            ci_index + 1,
                            pa.display(),
                            info.name,
                            stat.as_str()
                        );
                        // Per-run values when both sides have them (throughputs), else
                        // per-request values (latencies), for the mean and percentiles.
                        let ci = if stat == StatKind::Mean && !va.per_run.is_empty() {
                            diff_of_means_ci(&va.per_run, &vb.per_run, RESAMPLES, seed_for(&key))
                        } else {
                            stat_statistic(stat).and_then(|st| {
                                diff_ci_by_run(
                                    &va.per_request,
                                    &vb.per_request,
                                    st,
                                    RESAMPLES,
                                    seed_for(&key),
                                )
                            })
                        };
                        let mut flagged_by = Vec::new();
                        for (k, r) in rules.iter().enumerate() {
                            if r.metric != info.name || r.stat != stat {
                                continue;
                            }
                            rule_hits[k] += 1;
                            let Some(dp) = delta_pct else {
                                warnings.push(format!(
                                    "Rule `{}` cannot be applied at {}: the baseline value is 0.",
                                    r.spec(),
                                    pa.display()
                                ));
                                continue;
                            };
                            let beyond = worse_pct(info.direction, dp) > r.threshold_pct;
                            let significant = ci.is_none_or(|c| ci_says_worse(info.direction, c));
                            if beyond && significant {
                                flagged_by.push(r.spec());
                                regressions.push(Regression {
                                    rule: r.spec(),
                                    candidate: cand.name.clone(),
                                    point: pa.display(),
                                    baseline: x,
                                    candidate_value: y,
                                    delta_pct: dp,
                                    ci,
                                });
                            }
                        }
                        let v = if flagged_by.is_empty() {
                            if tail_too_thin(stat, &va.per_request, &vb.per_request)
                                || steady_too_short(info.name, va, vb)
                            {
                                Verdict::WithinNoise
                            } else {
                                verdict(info.direction, delta, delta_pct, ci)
                            }
                        } else {
                            Verdict::Regression
                        };
                        rows.push(Row {
                            point: pa.display(),
                            load: pa.load,
                            metric: info.name.to_string(),
                            stat,
                            unit: info.unit.to_string(),
                            baseline: x,
                            candidate: y,
                            delta,
                            delta_pct,
                            ci,
                            approx: va.approx || vb.approx,
                            verdict: v,
                            flagged_by,
                        });
                    }
                }
            }
            if pairs.is_empty() {
                warnings.push(format!(
                    "No point of `{}` matches a point of the baseline `{}`.",
                    cand.name, base.name
                ));
            }
            comparisons.push(Comparison {
                baseline: base.name.clone(),
                candidate: cand.name.clone(),
                match_rule: rule,
                matched_points: pairs.len(),
                rows,
                unmatched_baseline: ua.iter().map(|&i| base.points[i].display()).collect(),
                unmatched_candidate: ub.iter().map(|&j| cand.points[j].display()).collect(),
            });
        }
    }
    for (r, hits) in rules.iter().zip(&rule_hits) {
        if *hits == 0 {
            warnings.push(format!(
                "Rule `{}` matched nothing: no compared point has `{}` ({}) on both sides, so it cannot flag anything.",
                r.spec(),
                r.metric,
                r.stat.as_str()
            ));
        }
    }
    CompareReport {
        sources: sources.to_vec(),
        comparisons,
        rules: rules.to_vec(),
        regressions,
        warnings,
        method: method_notes(),
    }
}

/// The method, as printed with every comparison.
#[must_use]
pub fn method_notes() -> Vec<String> {
    vec![
        "The first input is the baseline; Δ = candidate − baseline, Δ % = Δ / |baseline| × 100.".into(),
        "Points pair only with points of the same kind of work (generation, embeddings, rerank/score), load mode and load value, and also the same endpoint/scenario label when both inputs label every point and share a label; several points at one key pair up in file order; points without a partner are listed.".into(),
        format!("A row reads worse or better only when the change is at least {MIN_EFFECT_PCT} % of the baseline and its interval excludes zero, or, without an interval, at least {NO_INTERVAL_FLOOR_PCT} %; otherwise within noise. A percentile read from requests.parquet gets no verdict when a side has fewer than {MIN_TAIL_VALUES} values beyond it (n × (1 − q/100); a p99 needs 1,000 values): such a tail is a handful of outliers. The steady-state throughput gets no verdict when a side's runs have fewer than {MIN_STEADY_BUCKETS} steady buckets each on average: such a median moves by a bucket's worth of tokens with where the bucket edges fall."),
        format!("95 % confidence intervals of Δ come from a seeded percentile bootstrap with {RESAMPLES} resamples: of the per-run values of each side for per-run metrics (at least 2 runs per side), and, for per-request latencies and throughputs (mean and percentiles), of the per-request values in each side's requests.parquet resampled at two levels — runs first, then requests within each drawn run (for ITL, the gaps of each drawn run) — so run-to-run variation counts (at least 2 runs per side); the original's files and references hold neither and get no interval."),
        "A plain percentile interval from a few runs is too narrow, so the interval is expanded for the smaller side's number of runs (Hesterberg 2015): each tail is Φ(−√(n/(n−1)) · t(0.975, n−1)) instead of 2.5 %. Two or three runs a side span every resampled difference (a change is called only when the runs do not overlap); five take the 0.1st and 99.9th percentiles. Use at least 5 runs per point when gating on it.".into(),
        "A rule METRIC[.STAT]:PERCENT flags a regression when the statistic got worse (latencies, times and failure rates up; throughputs down; token counts either way) by more than PERCENT and the interval excludes zero on the worse side; without an interval the threshold alone decides.".into(),
        "Units: latencies in ms (the original's seconds are converted), wall times in s, throughputs in tokens or items per second.".into(),
    ]
}

#[cfg(test)]
mod tests;
