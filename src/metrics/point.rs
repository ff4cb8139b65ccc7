//! Per-point summary: everything about one point, pooled over its runs.
//!
//! Records: measured (non-warmup) records of the point, and of a retried
//! request only its final attempt (highest `attempt` per run, `request_index`
//! and `turn`). Warmups are excluded everywhere.
//!
//! **Per-request metrics** are pooled over all runs, over successful requests:
//!
//! | field | values pooled |
//! |---|---|
//! | `input_tokens`, `output_tokens` | every successful request, zeros included (as the original) |
//! | `ttft_ms`, `ttfo_ms`, `tpot_ms`, `decode_ms`, `input_tps_per_request`, `output_tps_per_request` | defined values **> 0** only (the original keeps only positive values of these) |
//! | `e2e_ms` | every successful request (always defined) |
//! | `itl_ms` | every gap of every successful request, zeros kept (two events in one network read are 0 apart) |
//!
//! Latency stats (`*_ms`) also carry the experiment's extra `percentiles`.
//!
//! **Per-run metrics** (`e2e_output_tps`, `e2e_total_tps`, `requests_per_s`,
//! `wall_time_s`, `items_per_s`, `goodput_*`) are one value per run.
//! `steady_state_tps` is the mean of the runs' steady-state medians leaving
//! out runs without one (None when no run has one), `steady_state_tps_std` their
//! population std, `peak_active` the max over runs.
//!
//! **Reliability**: counts per outcome of measured requests; `failure_rate_pct`
//! = failed / total · 100.
//!
//! **Token accounting** (successful requests): the source of each headline
//! count; `input_mismatches` = requests with both a server input count and a
//! built-prompt count that differ; `output_mismatches` = both a server and a
//! client output count that differ; `output_target_misses` = requests with a
//! target output whose `output_tokens` ≠ target × n.
//!
//! **Usage extras** (successful requests): Σ and stats of reasoning and cached
//! tokens over requests that reported them, `cache_hit_rate` = Σ cached / Σ
//! input tokens of all successful requests (0 when Σ input is 0), finish
//! reasons counted.
//!
//! **Server timings** (successful requests that carried them; None when none
//! did): stats of `server_prefill_ms`, `server_decode_ms` and
//! `server_cached_tokens`, and per request `ttft_minus_prefill_ms` = TTFT −
//! server prefill and `decode_minus_server_ms` = decode − server decode (signed;
//! only requests with both values).
//!
//! **SLOs**: `slo_attainment` = requests meeting every per-request SLO / all
//! measured requests (failed ones count in the denominator only), None without
//! per-request SLOs or without measured requests. Each percentile SLO gives a
//! [`SloResult`] comparing the pooled percentile (same values as the metric's
//! Stat; ok requests) with its bound; without data it is not met.

use std::collections::BTreeMap;

use super::request::{request_metrics, RequestMetrics};
use super::run::final_attempts;
use super::slo::{has_per_request, request_is_good, slo_label};
use super::stats::{mean, percentile, population_std};
use super::summary::{
    PointSummary, Reliability, RunSummary, ServerTimingStats, SloResult, Stat, TokenAccounting,
    UsageExtras,
};
use crate::plan::{ExperimentSpec, PointSpec, Slo};
use crate::record::{Outcome, RequestRecord};

/// Values of `f` that are defined and > 0.
fn positive(ms: &[RequestMetrics], f: impl Fn(&RequestMetrics) -> Option<f64>) -> Vec<f64> {
    ms.iter().filter_map(f).filter(|&v| v > 0.0).collect()
}

/// The pooled values of an SLO metric over successful requests, filtered as its Stat is.
/// None for an unknown metric.
#[must_use]
pub fn pooled_values(metric: &str, ms: &[RequestMetrics]) -> Option<Vec<f64>> {
    Some(match metric {
        "ttft_ms" => positive(ms, |m| m.ttft_ms),
        "ttfo_ms" => positive(ms, |m| m.ttfo_ms),
        "tpot_ms" => positive(ms, |m| m.tpot_ms),
        "decode_ms" => positive(ms, |m| Some(m.decode_ms)),
        "e2e_ms" => ms.iter().map(|m| m.e2e_ms).collect(),
        "queue_ms" => ms.iter().map(|m| m.queue_ms).collect(),
        "itl_ms" => ms.iter().flat_map(|m| m.itl_ms.iter().copied()).collect(),
        _ => return None,
    })
}

/// Summarises one point from its run summaries and its records (warmups ignored).
#[must_use]
pub fn summarize_point(
    spec: &PointSpec,
    experiment: &ExperimentSpec,
    runs: &[RunSummary],
    records: &[&RequestRecord],
) -> PointSummary {
    let measured = final_attempts(records, |r| (r.run_index, r.request_index, r.turn));
    let ok: Vec<&RequestRecord> = measured
        .iter()
        .copied()
        .filter(|r| r.outcome.is_ok())
        .collect();
    let metrics: Vec<RequestMetrics> = ok.iter().map(|r| request_metrics(r)).collect();
    let pcts = &experiment.percentiles;
    let lat = |v: Vec<f64>| Stat::with_percentiles(&v, pcts);

    let tokens_in: Vec<f64> = ok.iter().map(|r| f64::from(r.input_tokens)).collect();
    let tokens_out: Vec<f64> = ok.iter().map(|r| f64::from(r.output_tokens)).collect();
    let per_run = |f: &dyn Fn(&RunSummary) -> f64| -> Stat {
        Stat::from_values(&runs.iter().map(f).collect::<Vec<_>>())
    };
    let medians: Vec<f64> = runs.iter().filter_map(|r| r.steady_state_tps).collect();
    let steady_state_tps = (!medians.is_empty())
        .then(|| mean(&medians))
        .filter(|m| *m != 0.0);

    let goodput = |f: &dyn Fn(&RunSummary) -> Option<f64>| -> Option<Stat> {
        let v: Vec<f64> = runs.iter().filter_map(f).collect();
        (!v.is_empty()).then(|| Stat::from_values(&v))
    };
    let slo_attainment = (has_per_request(&experiment.slos) && !measured.is_empty()).then(|| {
        let good = metrics
            .iter()
            .filter(|m| request_is_good(&experiment.slos, m))
            .count();
        #[allow(clippy::cast_precision_loss)]
        let frac = good as f64 / measured.len() as f64;
        frac
    });

    let mut warnings = Vec::new();
    for r in runs {
        for w in &r.client.warnings {
            warnings.push(format!("run {}: {w}", r.run_index));
        }
    }

    PointSummary {
        point_index: u32::try_from(spec.index).unwrap_or(u32::MAX),
        point_id: spec.id.clone(),
        endpoint: spec.endpoint.clone(),
        scenario: spec.scenario.clone(),
        mode: spec.load.mode_name().to_string(),
        load_value: spec.load.value(),
        runs: u32::try_from(runs.len()).unwrap_or(u32::MAX),
        input_tokens: Stat::from_values(&tokens_in),
        output_tokens: Stat::from_values(&tokens_out),
        ttft_ms: lat(positive(&metrics, |m| m.ttft_ms)),
        ttfo_ms: lat(positive(&metrics, |m| m.ttfo_ms)),
        tpot_ms: lat(positive(&metrics, |m| m.tpot_ms)),
        itl_ms: lat(metrics
            .iter()
            .flat_map(|m| m.itl_ms.iter().copied())
            .collect()),
        e2e_ms: lat(metrics.iter().map(|m| m.e2e_ms).collect()),
        decode_ms: lat(positive(&metrics, |m| Some(m.decode_ms))),
        input_tps_per_request: Stat::from_values(&positive(&metrics, |m| m.input_tps)),
        output_tps_per_request: Stat::from_values(&positive(&metrics, |m| m.output_tps)),
        e2e_output_tps: per_run(&|r| r.e2e_output_tps),
        e2e_total_tps: per_run(&|r| r.e2e_total_tps),
        requests_per_s: per_run(&|r| r.requests_per_s),
        wall_time_s: per_run(&|r| r.wall_time_s),
        items_per_s: per_run(&|r| r.items_per_s),
        steady_state_tps,
        steady_state_tps_std: if steady_state_tps.is_some() {
            population_std(&medians)
        } else {
            0.0
        },
        peak_active: runs.iter().map(|r| r.peak_active).max().unwrap_or(0),
        peak_active_buckets: runs
            .iter()
            .map(|r| r.peak_active_buckets)
            .max()
            .unwrap_or(0),
        reliability: reliability(&measured, records),
        tokens: token_accounting(&ok),
        goodput_rps: goodput(&|r| r.goodput_rps),
        goodput_tps: goodput(&|r| r.goodput_tps),
        slo_attainment,
        slo_results: percentile_slos(&experiment.slos, &metrics),
        usage: usage_extras(&ok),
        client_warnings: warnings,
        server_timings: server_timings(&ok, &metrics, pcts),
    }
}

/// Server-reported timings beside the client's (module docs); `ok` and
/// `metrics` are parallel.
fn server_timings(
    ok: &[&RequestRecord],
    metrics: &[RequestMetrics],
    pcts: &[f64],
) -> Option<ServerTimingStats> {
    let reported: Vec<(&RequestRecord, &RequestMetrics)> = ok
        .iter()
        .copied()
        .zip(metrics)
        .filter(|(r, _)| {
            r.server_prefill_ms.is_some()
                || r.server_decode_ms.is_some()
                || r.server_cached_tokens.is_some()
        })
        .collect();
    if reported.is_empty() {
        return None;
    }
    let lat = |v: Vec<f64>| Stat::with_percentiles(&v, pcts);
    Some(ServerTimingStats {
        requests: reported.len() as u64,
        prefill_ms: lat(reported
            .iter()
            .filter_map(|(r, _)| r.server_prefill_ms)
            .collect()),
        decode_ms: lat(reported
            .iter()
            .filter_map(|(r, _)| r.server_decode_ms)
            .collect()),
        ttft_minus_prefill_ms: lat(reported
            .iter()
            .filter_map(|(r, m)| Some(m.ttft_ms? - r.server_prefill_ms?))
            .collect()),
        decode_minus_server_ms: lat(reported
            .iter()
            .filter_map(|(r, m)| Some(m.ttft_ms.map(|_| m.decode_ms)? - r.server_decode_ms?))
            .collect()),
        cached_tokens: Stat::from_values(
            &reported
                .iter()
                .filter_map(|(r, _)| r.server_cached_tokens.map(f64::from))
                .collect::<Vec<_>>(),
        ),
    })
}

/// Outcome counts of the measured (final-attempt) requests; `retries` from all records.
fn reliability(measured: &[&RequestRecord], all: &[&RequestRecord]) -> Reliability {
    let mut outcomes = BTreeMap::new();
    for r in measured {
        *outcomes
            .entry(r.outcome.as_str().to_string())
            .or_insert(0u64) += 1;
    }
    let total = measured.len() as u64;
    let ok = outcomes.get(Outcome::Ok.as_str()).copied().unwrap_or(0);
    let failed = total - ok;
    #[allow(clippy::cast_precision_loss)]
    let failure_rate_pct = if total > 0 {
        failed as f64 / total as f64 * 100.0
    } else {
        0.0
    };
    Reliability {
        total,
        ok,
        failed,
        failure_rate_pct,
        outcomes,
        retries: all.iter().filter(|r| !r.warmup && r.attempt > 1).count() as u64,
    }
}

/// Token provenance and disagreements (module docs).
fn token_accounting(ok: &[&RequestRecord]) -> TokenAccounting {
    let mut t = TokenAccounting::default();
    for r in ok {
        *t.output_sources
            .entry(r.output_token_source.as_str().to_string())
            .or_insert(0) += 1;
        *t.input_sources
            .entry(r.input_token_source.as_str().to_string())
            .or_insert(0) += 1;
        if let (Some(s), Some(b)) = (r.server_input_tokens, r.built_input_tokens) {
            t.input_mismatches += u64::from(s != b);
        }
        if let (Some(s), Some(c)) = (r.server_output_tokens, r.client_output_tokens) {
            t.output_mismatches += u64::from(s != c);
        }
        if let Some(target) = r.target_output_tokens {
            let expected = u64::from(target) * u64::from(r.n.max(1));
            t.output_target_misses += u64::from(u64::from(r.output_tokens) != expected);
        }
    }
    t
}

/// Server-reported extras over successful requests (module docs).
fn usage_extras(ok: &[&RequestRecord]) -> UsageExtras {
    let reasoning: Vec<f64> = ok
        .iter()
        .filter_map(|r| r.reasoning_tokens)
        .map(f64::from)
        .collect();
    let cached: Vec<f64> = ok
        .iter()
        .filter_map(|r| r.cached_tokens)
        .map(f64::from)
        .collect();
    let input_total: u64 = ok.iter().map(|r| u64::from(r.input_tokens)).sum();
    let cached_total: u64 = ok
        .iter()
        .filter_map(|r| r.cached_tokens)
        .map(u64::from)
        .sum();
    let mut finish_reasons = BTreeMap::new();
    for reason in ok.iter().filter_map(|r| r.finish_reason.as_deref()) {
        *finish_reasons.entry(reason.to_string()).or_insert(0) += 1;
    }
    #[allow(clippy::cast_precision_loss)]
    let cache_hit_rate = if input_total > 0 {
        cached_total as f64 / input_total as f64
    } else {
        0.0
    };
    UsageExtras {
        reasoning_tokens_total: ok
            .iter()
            .filter_map(|r| r.reasoning_tokens)
            .map(u64::from)
            .sum(),
        cached_tokens_total: cached_total,
        cache_hit_rate,
        finish_reasons,
        reasoning_tokens: Stat::from_values(&reasoning),
        cached_tokens: Stat::from_values(&cached),
    }
}

/// Evaluates every percentile SLO over the pooled values of its metric.
fn percentile_slos(slos: &[Slo], metrics: &[RequestMetrics]) -> Vec<SloResult> {
    slos.iter()
        .filter_map(|slo| {
            let p = slo.percentile?;
            let values = pooled_values(&slo.metric, metrics).unwrap_or_default();
            let value = percentile(&values, p);
            Some(SloResult {
                slo: slo_label(slo),
                value: value.unwrap_or(0.0),
                met: value.is_some_and(|v| v <= slo.max),
                samples: values.iter().filter(|v| v.is_finite()).count() as u64,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::run::{summarize_run, RunContext};
    use crate::plan::LoadSpec;
    use crate::record::TokenSource;
    use std::path::PathBuf;
    use std::time::Duration;

    const MS: u64 = 1_000_000;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    fn spec() -> PointSpec {
        PointSpec {
            index: 3,
            id: "local.short.concurrency-2".into(),
            grid: "grid[0]".into(),
            endpoint: "local".into(),
            scenario: "short".into(),
            load: LoadSpec::Concurrency {
                concurrency: 2,
                requests: 4,
                duration: None,
            },
            runs: 2,
            warmup: 1,
            seed: 7,
        }
    }

    fn experiment(slos: Vec<Slo>) -> ExperimentSpec {
        ExperimentSpec {
            name: "t".into(),
            description: String::new(),
            seed: 42,
            output_root: PathBuf::from("results"),
            max_failure_rate: None,
            steady_state_threshold: 0.8,
            bucket: Duration::from_millis(50),
            slos,
            percentiles: vec![99.9],
            warmup_shape: crate::vocab::WarmupShape::default(),
        }
    }

    /// A successful request: start `s` ms, TTFT `ttft` ms, then one event every 10 ms,
    /// `out` content events (= output tokens), `input` tokens.
    fn ok_req(run: u32, index: u32, s: u64, ttft: u64, out: u32, input: u32) -> RequestRecord {
        let first = (s + ttft) * MS;
        let chunk_ns: Vec<u64> = (0..u64::from(out)).map(|i| first + i * 10 * MS).collect();
        RequestRecord {
            run_index: run,
            request_index: index,
            attempt: 1,
            dispatch_ns: s * MS,
            start_ns: s * MS,
            first_token_ns: Some(first),
            first_output_ns: Some(first),
            last_token_ns: chunk_ns.last().copied(),
            end_ns: chunk_ns.last().copied().unwrap_or(first) + MS,
            chunk_ns,
            input_tokens: input,
            output_tokens: out,
            input_token_source: TokenSource::Usage,
            output_token_source: TokenSource::Usage,
            n: 1,
            items: 1,
            ..RequestRecord::default()
        }
    }

    fn ctx(run: u32, slos: &[Slo]) -> RunContext {
        RunContext {
            run_index: run,
            t0_wall_ns: 0,
            wall_time_s: 1.0,
            reference_concurrency: Some(2),
            bucket_s: 0.05,
            steady_state_threshold: 0.8,
            slos: slos.to_vec(),
            cpu_utilisation: 0.1,
            loop_lag_ms: None,
        }
    }

    /// Run 0: A (ttft 100, 3 tokens), B (ttft 200, 5 tokens), a failed request, a warmup.
    /// Run 1: C (ttft 50, 1 token), D (ttft 300, 2 tokens).
    fn records() -> Vec<RequestRecord> {
        vec![
            RequestRecord {
                warmup: true,
                ..ok_req(0, 99, 0, 5, 50, 9)
            },
            ok_req(0, 0, 0, 100, 3, 100),
            ok_req(0, 1, 0, 200, 5, 200),
            RequestRecord {
                run_index: 0,
                request_index: 2,
                attempt: 1,
                outcome: Outcome::Timeout,
                ..RequestRecord::default()
            },
            ok_req(1, 0, 0, 50, 1, 300),
            ok_req(1, 1, 0, 300, 2, 400),
        ]
    }

    fn summarize(slos: Vec<Slo>) -> PointSummary {
        let recs = records();
        let runs: Vec<RunSummary> = (0..2)
            .map(|run| {
                let of_run: Vec<RequestRecord> = recs
                    .iter()
                    .filter(|r| r.run_index == run)
                    .cloned()
                    .collect();
                summarize_run(&of_run, &ctx(run, &slos))
            })
            .collect();
        let refs: Vec<&RequestRecord> = recs.iter().collect();
        summarize_point(&spec(), &experiment(slos), &runs, &refs)
    }

    #[test]
    fn pooled_request_metrics_filter_non_positive_values() {
        let p = summarize(Vec::new());
        assert_eq!(
            (p.point_index, p.mode.as_str(), p.load_value, p.runs),
            (3, "concurrency", 2.0, 2)
        );
        // tokens: all 4 ok requests, zeros would be kept: in 100,200,300,400 → mean 250;
        // out 3,5,1,2 → mean 2.75
        assert_eq!(p.input_tokens.n, 4);
        assert!(close(p.input_tokens.mean, 250.0));
        assert!(close(p.output_tokens.mean, 2.75));
        // ttft 100,200,50,300 → mean 162.5; population std:
        // deviations −62.5, 37.5, −112.5, 137.5 → squares 3906.25 + 1406.25 + 12656.25 + 18906.25 = 36875
        // /4 = 9218.75 → std = 96.0143...
        assert_eq!(p.ttft_ms.n, 4);
        assert!(close(p.ttft_ms.mean, 162.5));
        assert!(close(p.ttft_ms.std, 9218.75f64.sqrt()));
        // p99.9 of sorted 50,100,200,300: r = 0.999·3 = 2.997 → 200 + 0.997·100 = 299.7
        assert!(close(p.ttft_ms.percentiles["p99.9"], 299.7));
        // decode: A 20 ms (3 events 10 ms apart), B 40, C 0 (one token: filtered), D 10 → n = 3
        assert_eq!(p.decode_ms.n, 3);
        assert!(close(p.decode_ms.mean, 70.0 / 3.0));
        // tpot: A 20/2 = 10, B 40/4 = 10, D 10/1 = 10; C undefined → n = 3, mean 10
        assert_eq!(p.tpot_ms.n, 3);
        assert!(close(p.tpot_ms.mean, 10.0));
        // output_tps: 2/0.02 = 100, 4/0.04 = 100, 1/0.01 = 100
        assert!(close(p.output_tps_per_request.mean, 100.0));
        // input_tps: 100/0.1 = 1000, 200/0.2 = 1000, 300/0.05 = 6000, 400/0.3 = 1333.3
        assert_eq!(p.input_tps_per_request.n, 4);
        assert!(close(p.input_tps_per_request.max, 6000.0));
        // itl: A 2 gaps, B 4, C 0, D 1 → 7 gaps of 10 ms
        assert_eq!(p.itl_ms.n, 7);
        assert!(close(p.itl_ms.mean, 10.0));
        // e2e: A 120, B 240, C 50, D 310 → mean 180
        assert!(close(p.e2e_ms.mean, 180.0));
    }

    #[test]
    fn per_run_metrics_reliability_and_steady_state() {
        let p = summarize(Vec::new());
        // e2e_output_tps per run: run 0 (3 + 5)/1 s = 8, run 1 (1 + 2)/1 = 3 → mean 5.5, std 2.5
        assert_eq!(p.e2e_output_tps.n, 2);
        assert!(close(p.e2e_output_tps.mean, 5.5));
        assert!(close(p.e2e_output_tps.std, 2.5));
        assert!(close(p.wall_time_s.mean, 1.0));
        // reliability over measured requests only (warmup excluded): 5 total, 4 ok, 1 timeout → 20 %
        assert_eq!(p.reliability.total, 5);
        assert_eq!(p.reliability.ok, 4);
        assert_eq!(p.reliability.failed, 1);
        assert!(close(p.reliability.failure_rate_pct, 20.0));
        assert_eq!(p.reliability.outcomes["timeout"], 1);
        // Steady state with reference 2 (threshold 1.6):
        // run 0: A active 100..=120 ms (buckets 2), B 200..=240 (bucket 4): never 2 active → None.
        // run 1: C bucket 1 only, D bucket 6 → None. So the point has None.
        assert_eq!(p.steady_state_tps, None);
        assert_eq!(p.steady_state_tps_std, 0.0);
        // peak active by bucket (the original's): run 0: A in b2, B in b4 → 1;
        // in flight: A and B both started at 0 → 2.
        assert_eq!(p.peak_active_buckets, 1);
        assert_eq!(p.peak_active, 2);
        assert_eq!(p.tokens.output_sources["usage"], 4);
    }

    #[test]
    fn steady_state_across_runs_is_mean_and_population_std_of_run_medians() {
        let mk = |m: Option<f64>| RunSummary {
            steady_state_tps: m,
            peak_active: 2,
            ..RunSummary::default()
        };
        // medians 100, None, 140 → mean of 100 and 140 = 120; population std = 20
        let runs = [mk(Some(100.0)), mk(None), mk(Some(140.0))];
        let p = summarize_point(&spec(), &experiment(Vec::new()), &runs, &[]);
        assert!(close(p.steady_state_tps.unwrap(), 120.0));
        assert!(close(p.steady_state_tps_std, 20.0));
        assert_eq!(p.peak_active, 2);
        // one run with a median → std 0
        let p = summarize_point(&spec(), &experiment(Vec::new()), &runs[..2], &[]);
        assert_eq!(
            (p.steady_state_tps, p.steady_state_tps_std),
            (Some(100.0), 0.0)
        );
    }

    #[test]
    fn goodput_and_attainment_count_failed_requests_in_the_denominator() {
        // Per-request SLO ttft ≤ 150 ms: good = A (100), C (50); B (200), D (300) miss; the
        // timeout is not good. Attainment = 2 good / 5 measured = 0.4.
        // Run goodput: run 0: 1 good / 1 s = 1; run 1: 1 good / 1 s = 1 → mean 1.
        // goodput_tps: run 0 A's 3 tokens = 3, run 1 C's 1 token = 1 → mean 2.
        // Percentile SLO ttft p50 ≤ 150: pooled 50,100,200,300 → p50 = 150 → met.
        // Percentile SLO e2e p90 ≤ 200: e2e 50,120,240,310 → r = 2.7 → 240 + 0.7·70 = 289 → not met.
        let slos = vec![
            Slo {
                metric: "ttft_ms".into(),
                percentile: None,
                max: 150.0,
            },
            Slo {
                metric: "ttft_ms".into(),
                percentile: Some(50.0),
                max: 150.0,
            },
            Slo {
                metric: "e2e_ms".into(),
                percentile: Some(90.0),
                max: 200.0,
            },
        ];
        let p = summarize(slos);
        assert!(close(p.slo_attainment.unwrap(), 0.4));
        let g = p.goodput_rps.unwrap();
        assert_eq!(g.n, 2);
        assert!(close(g.mean, 1.0));
        assert!(close(p.goodput_tps.unwrap().mean, 2.0));
        assert_eq!(p.slo_results.len(), 2);
        assert_eq!(p.slo_results[0].slo, "ttft_ms.p50 <= 150");
        assert!(close(p.slo_results[0].value, 150.0));
        assert!(p.slo_results[0].met);
        assert_eq!(p.slo_results[0].samples, 4);
        assert!(close(p.slo_results[1].value, 289.0));
        assert!(!p.slo_results[1].met);
    }

    #[test]
    fn no_per_request_slo_means_no_goodput() {
        let p = summarize(Vec::new());
        assert_eq!(p.goodput_rps, None);
        assert_eq!(p.slo_attainment, None);
        assert!(p.slo_results.is_empty());
    }

    #[test]
    fn percentile_slo_without_data_is_not_met() {
        let slo = Slo {
            metric: "ttft_ms".into(),
            percentile: Some(99.0),
            max: 1e9,
        };
        let r = percentile_slos(&[slo], &[]);
        assert_eq!(r.len(), 1);
        assert!(!r[0].met);
        assert_eq!((r[0].value, r[0].samples), (0.0, 0));
    }

    #[test]
    fn server_timings_sit_beside_the_client_view() {
        // TTFT 30 ms, 4 events 10 ms apart: client decode = 30 ms.
        let base = ok_req(0, 0, 0, 30, 4, 100);
        let a = RequestRecord {
            server_prefill_ms: Some(25.0),
            server_decode_ms: Some(29.5),
            server_cached_tokens: Some(64),
            ..base.clone()
        };
        // Only a prefill time: no decode difference for this request.
        let b = RequestRecord {
            request_index: 1,
            server_prefill_ms: Some(32.0),
            ..base.clone()
        };
        // No timings: left out of every server figure.
        let c = RequestRecord {
            request_index: 2,
            ..base
        };
        let recs = [&a, &b, &c];
        let ms: Vec<RequestMetrics> = recs.iter().map(|r| request_metrics(r)).collect();
        let t = server_timings(&recs, &ms, &[]).expect("two requests reported");
        assert_eq!(t.requests, 2);
        assert_eq!(
            (t.prefill_ms.n, t.decode_ms.n, t.cached_tokens.n),
            (2, 1, 1)
        );
        assert!(close(t.prefill_ms.mean, 28.5));
        // 30 − 25 and 30 − 32: signed, a server may count what the client does not.
        assert_eq!(t.ttft_minus_prefill_ms.n, 2);
        assert!(close(t.ttft_minus_prefill_ms.min, -2.0));
        assert!(close(t.ttft_minus_prefill_ms.max, 5.0));
        assert_eq!(t.decode_minus_server_ms.n, 1);
        assert!(close(t.decode_minus_server_ms.mean, 0.5));
        assert!(close(t.cached_tokens.mean, 64.0));
        assert_eq!(server_timings(&[&c], &ms[2..], &[]), None);
    }

    #[test]
    fn token_accounting_and_usage_extras() {
        let base = ok_req(0, 0, 0, 10, 4, 100);
        let a = RequestRecord {
            server_input_tokens: Some(100),
            built_input_tokens: Some(98), // mismatch
            server_output_tokens: Some(4),
            client_output_tokens: Some(4), // agree
            target_output_tokens: Some(4), // met
            reasoning_tokens: Some(2),
            cached_tokens: Some(50),
            finish_reason: Some("length".into()),
            ..base.clone()
        };
        let b = RequestRecord {
            request_index: 1,
            server_output_tokens: Some(4),
            client_output_tokens: Some(5), // mismatch
            target_output_tokens: Some(6), // miss (4 ≠ 6)
            output_token_source: TokenSource::Tokenizer,
            cached_tokens: Some(10),
            finish_reason: Some("stop".into()),
            ..base
        };
        let recs = [&a, &b];
        let t = token_accounting(&recs);
        assert_eq!(
            (
                t.input_mismatches,
                t.output_mismatches,
                t.output_target_misses
            ),
            (1, 1, 1)
        );
        assert_eq!(t.output_sources["usage"], 1);
        assert_eq!(t.output_sources["tokenizer"], 1);
        let u = usage_extras(&recs);
        // cached 50 + 10 = 60 over input 100 + 100 = 200 → 0.3
        assert_eq!((u.reasoning_tokens_total, u.cached_tokens_total), (2, 60));
        assert!(close(u.cache_hit_rate, 0.3));
        assert_eq!(u.reasoning_tokens.n, 1);
        assert!(close(u.cached_tokens.mean, 30.0));
        assert_eq!(u.finish_reasons["length"], 1);
        assert_eq!(u.finish_reasons["stop"], 1);
    }
}
