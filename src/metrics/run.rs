//! Per-run summary: throughput over the run's wall time, the steady-state rate,
//! goodput and the client's self-check.
//!
//! Which records count: measured (non-warmup) records, and of a request that
//! was retried only its final attempt (the highest `attempt` for the same
//! `request_index` and `turn`). Throughputs use successful ones; the client
//! check uses every outcome except `cancelled` (a cancelled request may never
//! have been sent).
//!
//! | field | formula |
//! |---|---|
//! | `e2e_output_tps` | Σ output tokens of successful requests / wall time |
//! | `e2e_total_tps` | Σ (input + output) tokens of successful requests / wall time |
//! | `requests_per_s` | successful requests / wall time |
//! | `items_per_s` | Σ `items` (texts embedded, documents ranked; 1 per generation) of successful requests / wall time |
//! | `goodput_rps` / `goodput_tps` | successful requests meeting every per-request SLO (their output tokens) / wall time; None without per-request SLOs |
//!
//! The wall time is the runner's (just before the first request to after the
//! last one ended, failures included). A wall time ≤ 0 gives rates of 0.
//!
//! **Steady state** (the original's phased metrics, exactly, on integer ns):
//!
//! 1. Over successful requests: `t0` = min start, `t_end` = max end of the
//!    latency window (last content event, or the end without one);
//!    `n_buckets = floor((t_end − t0) / bucket) + 1`; the bucket of `t` is
//!    `floor((t − t0) / bucket)`.
//! 2. A request is active from the bucket of `start + ttft` (of `start` when it
//!    has no TTFT, as non-streamed requests) to the bucket of its window end,
//!    both inclusive. Each content event adds 1 token to its bucket (one per
//!    event, however many tokens it carried).
//! 3. `peak_active_buckets` = max active over buckets; `reference` = the target
//!    concurrency when the runner gives one (concurrency mode), else
//!    `peak_active_buckets`.
//! 4. A bucket is steady when `active ≥ θ·reference` and `tokens > 0`; it
//!    gives the sample `tokens / bucket_s`. The run's value is the median of the
//!    samples, None when no bucket qualifies.
//!
//! Bucket arithmetic is on integer nanoseconds (the bucket width rounded to
//! the nearest ns), so a timestamp on a bucket edge always falls in the later
//! bucket (float division can misplace it).
//!
//! **Client check.** Warnings are raised when the send-lag p99 exceeds
//! [`SEND_LAG_WARN_MS`] (the client could not keep to its schedule), the
//! client used at least [`CPU_WARN_CORES`] cores (it may be the bottleneck), or
//! the p99 of its runtime lag exceeds [`LOOP_LAG_WARN_MS`] (chunks may have been
//! timestamped late by up to that much).

use std::collections::HashMap;

use super::request::{request_metrics, window_end_ns, RequestMetrics};
use super::slo::{has_per_request, request_is_good};
use super::stats::median;
use super::summary::{ClientCheck, RunSummary, Stat};
use crate::plan::Slo;
use crate::record::{Outcome, RequestRecord};

/// Send-lag p99 (ms) above which a run is flagged as client-limited.
pub const SEND_LAG_WARN_MS: f64 = 10.0;
/// Client CPU use (cores) at or above which a run is flagged as client-limited.
pub const CPU_WARN_CORES: f64 = 0.9;
/// Runtime-lag p99 (ms) above which chunk timestamps may be late.
pub const LOOP_LAG_WARN_MS: f64 = 5.0;
/// Bucket width used when the context gives a non-positive or non-finite one (s).
pub const DEFAULT_BUCKET_S: f64 = 0.05;

/// What the runner knows about a run besides its records.
#[derive(Clone, Debug, PartialEq)]
pub struct RunContext {
    /// Repetition index of the run.
    pub run_index: u32,
    /// Wall-clock anchor of the run's t0 (ns since the Unix epoch).
    pub t0_wall_ns: u64,
    /// The run's wall time (s).
    pub wall_time_s: f64,
    /// Target concurrency (concurrency mode); None uses the observed peak.
    pub reference_concurrency: Option<u32>,
    /// Steady-state bucket width (s), 0.05 by default.
    pub bucket_s: f64,
    /// Steady-state threshold θ (0.8 by default).
    pub steady_state_threshold: f64,
    /// SLOs; the per-request ones define goodput.
    pub slos: Vec<Slo>,
    /// Client CPU time / wall time during the run (1.0 = one core).
    pub cpu_utilisation: f64,
    /// p99 of the client's runtime lag during the run (ms), when sampled.
    pub loop_lag_ms: Option<f64>,
}

/// Result of the steady-state computation of one run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SteadyState {
    /// Content events per bucket.
    pub tokens_per_bucket: Vec<u32>,
    /// Active requests per bucket.
    pub active_per_bucket: Vec<u32>,
    /// Max of `active_per_bucket` (0 without requests).
    pub peak_active_buckets: u32,
    /// Median of the steady buckets' rates (tokens/s), None when none qualifies.
    pub median_tps: Option<f64>,
    /// Number of steady buckets behind the median.
    pub steady_buckets: u32,
}

/// Measured records (warmups dropped), keeping only the final attempt of each
/// retried request: retried attempts stay in the raw records but never count
/// twice. `key` identifies a request within `records` (e.g. `(request, turn)`
/// for one run; add the run and point indices for wider sets).
pub fn final_attempts<'a, K, F>(records: &[&'a RequestRecord], key: F) -> Vec<&'a RequestRecord>
where
    K: std::hash::Hash + Eq,
    F: Fn(&RequestRecord) -> K,
{
    let mut last: HashMap<K, u32> = HashMap::new();
    for r in records.iter().filter(|r| !r.warmup) {
        let e = last.entry(key(r)).or_insert(r.attempt);
        *e = (*e).max(r.attempt);
    }
    records
        .iter()
        .copied()
        .filter(|r| !r.warmup && last.get(&key(r)).is_some_and(|&a| a == r.attempt))
        .collect()
}

/// `x / wall`, 0 when the wall time is not positive.
pub(crate) fn per_second(x: f64, wall_s: f64) -> f64 {
    if wall_s > 0.0 && wall_s.is_finite() && x.is_finite() {
        x / wall_s
    } else {
        0.0
    }
}

/// The bucket width in ns (falls back to [`DEFAULT_BUCKET_S`]).
fn bucket_ns(bucket_s: f64) -> u64 {
    let s = if bucket_s.is_finite() && bucket_s > 0.0 {
        bucket_s
    } else {
        DEFAULT_BUCKET_S
    };
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let ns = (s * 1e9).round() as u64;
    ns.max(1)
}

/// The steady-state algorithm (module docs) over the successful requests `ok`.
#[must_use]
pub fn steady_state(
    ok: &[&RequestRecord],
    bucket_s: f64,
    threshold: f64,
    reference_concurrency: Option<u32>,
) -> SteadyState {
    let width = bucket_ns(bucket_s);
    let (Some(t0), Some(t_end)) = (
        ok.iter().map(|r| r.start_ns).min(),
        ok.iter().map(|r| window_end_ns(r)).max(),
    ) else {
        return SteadyState::default();
    };
    // n_buckets = floor((t_end − t0)/bucket) + 1; bucket(t) = floor((t − t0)/bucket).
    let n = usize::try_from(t_end.saturating_sub(t0) / width)
        .unwrap_or(usize::MAX - 1)
        .saturating_add(1);
    let bucket =
        |t: u64| usize::try_from(t.saturating_sub(t0) / width).map_or(n - 1, |b| b.min(n - 1));
    // Active intervals as a difference array: +1 at the first bucket, −1 after the last.
    let mut diff = vec![0i64; n + 1];
    let mut tokens = vec![0u32; n];
    for r in ok {
        let end_b = bucket(window_end_ns(r));
        let from = r.first_token_ns.unwrap_or(r.start_ns).max(r.start_ns);
        let start_b = bucket(from).min(end_b);
        diff[start_b] += 1;
        diff[end_b + 1] -= 1;
        for &c in &r.chunk_ns {
            let b = bucket(c);
            tokens[b] = tokens[b].saturating_add(1);
        }
    }
    let mut active = Vec::with_capacity(n);
    let mut level = 0i64;
    for d in &diff[..n] {
        level += d;
        active.push(u32::try_from(level.max(0)).unwrap_or(u32::MAX));
    }
    let peak = active.iter().copied().max().unwrap_or(0);
    // reference = target concurrency, else the observed peak; steady: active ≥ θ·reference and tokens > 0.
    let reference = f64::from(reference_concurrency.unwrap_or(peak));
    #[allow(clippy::cast_precision_loss)]
    let width_s = width as f64 / 1e9;
    let samples: Vec<f64> = active
        .iter()
        .zip(&tokens)
        .filter(|&(&a, &t)| f64::from(a) >= threshold * reference && t > 0)
        .map(|(_, &t)| f64::from(t) / width_s)
        .collect();
    SteadyState {
        tokens_per_bucket: tokens,
        active_per_bucket: active,
        peak_active_buckets: peak,
        median_tps: median(&samples),
        steady_buckets: u32::try_from(samples.len()).unwrap_or(u32::MAX),
    }
}

/// Summarises one run from all its records (warmups are ignored).
#[must_use]
pub fn summarize_run(records: &[RequestRecord], ctx: &RunContext) -> RunSummary {
    let all: Vec<&RequestRecord> = records.iter().collect();
    let measured = final_attempts(&all, |r| (r.request_index, r.turn));
    let ok: Vec<&RequestRecord> = measured
        .iter()
        .copied()
        .filter(|r| r.outcome.is_ok())
        .collect();
    let wall = ctx.wall_time_s;

    let sum = |f: &dyn Fn(&RequestRecord) -> u64| ok.iter().map(|r| f(r)).sum::<u64>();
    #[allow(clippy::cast_precision_loss)]
    let (out_sum, total_sum, items_sum) = (
        sum(&|r| u64::from(r.output_tokens)) as f64,
        sum(&|r| u64::from(r.input_tokens) + u64::from(r.output_tokens)) as f64,
        sum(&|r| u64::from(r.items)) as f64,
    );

    let steady = steady_state(
        &ok,
        ctx.bucket_s,
        ctx.steady_state_threshold,
        ctx.reference_concurrency,
    );

    // Goodput: successful requests meeting every per-request SLO, per second of wall time.
    let (goodput_rps, goodput_tps) = if has_per_request(&ctx.slos) {
        let good: Vec<&&RequestRecord> = ok
            .iter()
            .filter(|r| request_is_good(&ctx.slos, &request_metrics(r)))
            .collect();
        #[allow(clippy::cast_precision_loss)]
        let good_n = good.len() as f64;
        let good_tokens: f64 = good.iter().map(|r| f64::from(r.output_tokens)).sum();
        (
            Some(per_second(good_n, wall)),
            Some(per_second(good_tokens, wall)),
        )
    } else {
        (None, None)
    };

    #[allow(clippy::cast_precision_loss)]
    let ok_n = ok.len() as f64;
    RunSummary {
        run_index: ctx.run_index,
        t0_wall_ns: ctx.t0_wall_ns,
        wall_time_s: if wall.is_finite() { wall } else { 0.0 },
        requests: measured.len() as u64,
        ok: ok.len() as u64,
        e2e_output_tps: per_second(out_sum, wall),
        e2e_total_tps: per_second(total_sum, wall),
        requests_per_s: per_second(ok_n, wall),
        steady_state_tps: steady.median_tps,
        steady_state_buckets: steady.steady_buckets,
        peak_active: peak_in_flight(&measured_all(&all)),
        peak_active_buckets: steady.peak_active_buckets,
        tokens_per_bucket: steady.tokens_per_bucket,
        active_per_bucket: steady.active_per_bucket,
        items_per_s: per_second(items_sum, wall),
        goodput_rps,
        goodput_tps,
        client: client_check(&measured, ctx.cpu_utilisation, ctx.loop_lag_ms),
    }
}

/// Every non-warmup attempt (retries included: each held a connection while it ran).
fn measured_all<'a>(all: &[&'a RequestRecord]) -> Vec<&'a RequestRecord> {
    all.iter().copied().filter(|r| !r.warmup).collect()
}

/// The most requests in flight at one moment: a sweep over `[start, end)` of
/// every record, an end counted before a start at the same instant (a closed
/// loop's next request starts when the last one ended, so concurrency `c`
/// never reads above `c`).
#[must_use]
pub fn peak_in_flight(records: &[&RequestRecord]) -> u32 {
    let mut events: Vec<(u64, i8)> = Vec::with_capacity(records.len() * 2);
    for r in records {
        let end = r.end_ns.max(r.start_ns);
        events.push((r.start_ns, 1));
        events.push((end, -1));
    }
    // At equal times −1 sorts before +1.
    events.sort_unstable();
    let (mut level, mut peak) = (0i64, 0i64);
    for (_, d) in events {
        level += i64::from(d);
        peak = peak.max(level);
    }
    u32::try_from(peak).unwrap_or(u32::MAX)
}

/// Send lag and queue statistics plus warnings (module docs).
fn client_check(
    measured: &[&RequestRecord],
    cpu_utilisation: f64,
    loop_lag_ms: Option<f64>,
) -> ClientCheck {
    let sent: Vec<RequestMetrics> = measured
        .iter()
        .filter(|r| r.outcome != Outcome::Cancelled)
        .map(|r| request_metrics(r))
        .collect();
    let lags: Vec<f64> = sent.iter().filter_map(|m| m.send_lag_ms).collect();
    let queues: Vec<f64> = sent.iter().map(|m| m.queue_ms).collect();
    let send_lag_ms = Stat::from_values(&lags);
    let queue_ms = Stat::from_values(&queues);
    let cpu = if cpu_utilisation.is_finite() {
        cpu_utilisation.max(0.0)
    } else {
        0.0
    };
    let mut warnings = Vec::new();
    if send_lag_ms.n > 0 && send_lag_ms.p99 > SEND_LAG_WARN_MS {
        warnings.push(format!(
            "send lag p99 is {:.1} ms (above {SEND_LAG_WARN_MS} ms): the client fell behind its \
             schedule, so the offered load was lower than configured",
            send_lag_ms.p99
        ));
    }
    if cpu >= CPU_WARN_CORES {
        warnings.push(format!(
            "client CPU use was {cpu:.2} cores (at least {CPU_WARN_CORES}): the client may be \
             limiting the measured throughput; run it on a less loaded machine or lower the load"
        ));
    }
    let loop_lag_ms = loop_lag_ms.filter(|l| l.is_finite());
    if let Some(lag) = loop_lag_ms.filter(|l| *l > LOOP_LAG_WARN_MS) {
        warnings.push(format!(
            "the client's runtime lag p99 was {lag:.1} ms (above {LOOP_LAG_WARN_MS} ms): chunk \
             timestamps may be late by up to that much; the client machine is overloaded"
        ));
    }
    ClientCheck {
        send_lag_ms,
        queue_ms,
        cpu_utilisation: cpu,
        loop_lag_ms,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    fn ctx() -> RunContext {
        RunContext {
            run_index: 0,
            t0_wall_ns: 1_700_000_000_000_000_000,
            wall_time_s: 2.0,
            reference_concurrency: None,
            bucket_s: 0.05,
            steady_state_threshold: 0.8,
            slos: Vec::new(),
            cpu_utilisation: 0.2,
            loop_lag_ms: Some(0.4),
        }
    }

    /// A successful streamed request: start, then content events at the given ms.
    fn req(index: u32, start_ms: u64, chunks_ms: &[u64], input: u32) -> RequestRecord {
        let chunk_ns: Vec<u64> = chunks_ms.iter().map(|c| c * MS).collect();
        RequestRecord {
            request_index: index,
            attempt: 1,
            dispatch_ns: start_ms * MS,
            start_ns: start_ms * MS,
            first_token_ns: chunk_ns.first().copied(),
            first_output_ns: chunk_ns.first().copied(),
            last_token_ns: chunk_ns.last().copied(),
            end_ns: chunk_ns.last().copied().unwrap_or(start_ms * MS) + MS,
            output_tokens: u32::try_from(chunks_ms.len()).unwrap(),
            input_tokens: input,
            chunk_ns,
            n: 1,
            items: 1,
            ..RequestRecord::default()
        }
    }

    /// Three requests on 50 ms buckets, t0 = 0:
    ///
    /// * A: start 0, events at 10, 60, 110, 160 ms → active buckets 0..=3
    /// * B: start 0, events at 70, 120 ms         → TTFT in bucket 1, active 1..=2
    /// * C: start 100, events at 130, 140, 240 ms  → active 2..=4
    ///
    /// t_end = 240 → n = floor(240/50) + 1 = 5 buckets.
    /// tokens/bucket: b0 {10}=1, b1 {60,70}=2, b2 {110,120,130,140}=4, b3 {160}=1, b4 {240}=1
    /// active/bucket: b0 A=1, b1 A,B=2, b2 A,B,C=3, b3 A,C=2, b4 C=1 → peak 3
    fn three() -> Vec<RequestRecord> {
        vec![
            req(0, 0, &[10, 60, 110, 160], 100),
            req(1, 0, &[70, 120], 200),
            req(2, 100, &[130, 140, 240], 300),
        ]
    }

    #[test]
    fn steady_state_burst_uses_peak_reference() {
        let recs = three();
        let refs: Vec<&RequestRecord> = recs.iter().collect();
        let s = steady_state(&refs, 0.05, 0.8, None);
        assert_eq!(s.tokens_per_bucket, vec![1, 2, 4, 1, 1]);
        assert_eq!(s.active_per_bucket, vec![1, 2, 3, 2, 1]);
        assert_eq!(s.peak_active_buckets, 3);
        // reference = peak 3, threshold 0.8·3 = 2.4 → only b2 (active 3) qualifies:
        // 4 tokens / 0.05 s = 80 tok/s → median 80
        assert!(close(s.median_tps.unwrap(), 80.0));
        assert_eq!(s.steady_buckets, 1);
    }

    #[test]
    fn steady_state_concurrency_reference_and_even_median() {
        let recs = three();
        let refs: Vec<&RequestRecord> = recs.iter().collect();
        // reference = target concurrency 2, threshold 0.8·2 = 1.6 → b1, b2, b3 (active 2,3,2):
        // samples 2/0.05 = 40, 4/0.05 = 80, 1/0.05 = 20 → sorted 20,40,80 → median 40
        let s = steady_state(&refs, 0.05, 0.8, Some(2));
        assert!(close(s.median_tps.unwrap(), 40.0));
        assert_eq!(s.steady_buckets, 3);
        // θ = 0.5, reference 2 → threshold 1: all 5 buckets: 20, 40, 80, 20, 20 → median 20
        let s = steady_state(&refs, 0.05, 0.5, Some(2));
        assert!(close(s.median_tps.unwrap(), 20.0));
        assert_eq!(s.steady_buckets, 5);
        // reference 4 → threshold 3.2 → no bucket qualifies → None
        let s = steady_state(&refs, 0.05, 0.8, Some(4));
        assert_eq!((s.median_tps, s.steady_buckets), (None, 0));
        // With only A and B: t_end = 160 → 4 buckets; active 1,2,2,1; tokens 1,2,2,1.
        // reference = peak 2 → threshold 1.6 → b1, b2: 40, 40 → median 40 (even count: mean of 40 and 40)
        let s = steady_state(&refs[..2], 0.05, 0.8, None);
        assert_eq!(s.tokens_per_bucket, vec![1, 2, 2, 1]);
        assert!(close(s.median_tps.unwrap(), 40.0));
        // Same two with reference 1, θ = 1 → all 4 buckets: 20, 40, 40, 20 → sorted 20,20,40,40
        // → even count: median = (20 + 40)/2 = 30
        let s = steady_state(&refs[..2], 0.05, 1.0, Some(1));
        assert!(close(s.median_tps.unwrap(), 30.0));
    }

    #[test]
    fn steady_state_non_streamed_is_active_from_start_with_no_tokens() {
        // No content events: active from the start bucket to the end bucket, 0 tokens → None.
        let r = RequestRecord {
            start_ns: 0,
            end_ns: 120 * MS,
            output_tokens: 10,
            ..RequestRecord::default()
        };
        let s = steady_state(&[&r], 0.05, 0.8, None);
        // n = floor(120/50) + 1 = 3; active 1,1,1
        assert_eq!(s.active_per_bucket, vec![1, 1, 1]);
        assert_eq!(s.tokens_per_bucket, vec![0, 0, 0]);
        assert_eq!(s.median_tps, None);
        assert_eq!(steady_state(&[], 0.05, 0.8, None), SteadyState::default());
    }

    #[test]
    fn peak_in_flight_never_counts_a_closed_loop_above_its_concurrency() {
        let span = |start: u64, end: u64| RequestRecord {
            start_ns: start,
            end_ns: end,
            ..RequestRecord::default()
        };
        // Concurrency 1: each request starts when the previous one ended.
        let seq = [span(0, 10), span(10, 25), span(25, 40)];
        assert_eq!(peak_in_flight(&seq.iter().collect::<Vec<_>>()), 1);
        // Two slots, each back to back, staggered: 2 at most.
        let two = [span(0, 10), span(5, 15), span(10, 20), span(15, 25)];
        assert_eq!(peak_in_flight(&two.iter().collect::<Vec<_>>()), 2);
        // A burst of 3 overlapping requests.
        let burst = [span(0, 30), span(0, 20), span(0, 10)];
        assert_eq!(peak_in_flight(&burst.iter().collect::<Vec<_>>()), 3);
        // The bucketed count of the same closed loop reads 2 (two requests touch bucket 0).
        let recs: Vec<RequestRecord> = seq
            .iter()
            .map(|r| RequestRecord {
                first_token_ns: Some(r.start_ns + 1),
                last_token_ns: Some(r.end_ns),
                chunk_ns: vec![r.start_ns + 1, r.end_ns],
                ..r.clone()
            })
            .collect();
        let refs: Vec<&RequestRecord> = recs.iter().collect();
        assert_eq!(
            steady_state(&refs, 20e-9, 0.8, Some(1)).peak_active_buckets,
            2
        );
        assert_eq!(peak_in_flight(&[]), 0);
    }

    #[test]
    fn bucket_edge_goes_to_the_later_bucket() {
        // An event at exactly 150 ms belongs to bucket 3 (150/50 = 3), not 2.
        let r = req(0, 0, &[10, 150], 1);
        let s = steady_state(&[&r], 0.05, 0.8, None);
        assert_eq!(s.tokens_per_bucket, vec![1, 0, 0, 1]);
    }

    #[test]
    fn run_throughputs_ignore_warmups_failures_and_superseded_attempts() {
        let mut recs = three();
        // a warmup (ignored everywhere)
        recs.push(RequestRecord {
            warmup: true,
            ..req(9, 0, &[5, 6, 7], 1000)
        });
        // request 3: attempt 1 failed, attempt 2 failed too (final), counted once as failed
        let failed = RequestRecord {
            request_index: 3,
            outcome: Outcome::HttpError,
            output_tokens: 0,
            input_tokens: 0,
            ..RequestRecord::default()
        };
        recs.push(RequestRecord {
            attempt: 1,
            ..failed.clone()
        });
        recs.push(RequestRecord {
            attempt: 2,
            ..failed
        });
        let s = summarize_run(&recs, &ctx());
        assert_eq!(s.requests, 4);
        assert_eq!(s.ok, 3);
        // Σ output = 4 + 2 + 3 = 9 tokens / 2 s = 4.5; Σ (in + out) = 600 + 9 = 609 / 2 = 304.5
        assert!(close(s.e2e_output_tps, 4.5));
        assert!(close(s.e2e_total_tps, 304.5));
        // 3 ok / 2 s = 1.5 req/s; items 3 / 2 = 1.5
        assert!(close(s.requests_per_s, 1.5));
        assert!(close(s.items_per_s, 1.5));
        assert_eq!(s.peak_active_buckets, 3);
        assert_eq!(s.goodput_rps, None);
        assert_eq!(s.run_index, 0);
        assert!(s.client.warnings.is_empty());
    }

    #[test]
    fn runtime_lag_above_the_threshold_warns() {
        let quiet = summarize_run(&three(), &ctx());
        assert_eq!(quiet.client.loop_lag_ms, Some(0.4));
        assert!(quiet.client.warnings.is_empty());
        let c = RunContext {
            loop_lag_ms: Some(LOOP_LAG_WARN_MS + 1.0),
            ..ctx()
        };
        let s = summarize_run(&three(), &c);
        assert_eq!(s.client.warnings.len(), 1, "{:?}", s.client.warnings);
        assert!(s.client.warnings[0].contains("runtime lag"));
    }

    #[test]
    fn zero_wall_time_gives_zero_rates() {
        let c = RunContext {
            wall_time_s: 0.0,
            ..ctx()
        };
        let s = summarize_run(&three(), &c);
        assert_eq!((s.e2e_output_tps, s.requests_per_s), (0.0, 0.0));
    }

    #[test]
    fn goodput_counts_requests_meeting_every_slo() {
        // TTFT: A = 10 ms, B = 70 ms, C = 30 ms; SLO ttft_ms ≤ 50 → A and C good.
        // goodput_rps = 2 / 2 s = 1; goodput_tps = (4 + 3) / 2 = 3.5
        let c = RunContext {
            slos: vec![Slo {
                metric: "ttft_ms".into(),
                percentile: None,
                max: 50.0,
            }],
            ..ctx()
        };
        let s = summarize_run(&three(), &c);
        assert!(close(s.goodput_rps.unwrap(), 1.0));
        assert!(close(s.goodput_tps.unwrap(), 3.5));
    }

    #[test]
    fn client_check_lag_and_cpu_warnings() {
        // Lags 0, 0, 30 ms: p99 rank = 0.99·2 = 1.98 → 0 + 0.98·30 = 29.4 ms > 10 → warning.
        // A and B: scheduled = dispatch = start = 0 → lag 0, queue 0.
        // C: scheduled 65 ms, dispatched 95 ms (lag 30), started 100 ms (queue 5).
        let mut recs = three();
        recs[0].scheduled_ns = Some(0);
        recs[1].scheduled_ns = Some(0);
        recs[2].scheduled_ns = Some(65 * MS);
        recs[2].dispatch_ns = 95 * MS;
        let c = RunContext {
            cpu_utilisation: 0.95,
            ..ctx()
        };
        let s = summarize_run(&recs, &c);
        assert_eq!(s.client.send_lag_ms.n, 3);
        assert!(close(s.client.send_lag_ms.p99, 29.4));
        assert!(close(s.client.send_lag_ms.max, 30.0));
        // queue 0, 0, 5 → mean 5/3
        assert!(close(s.client.queue_ms.mean, 5.0 / 3.0));
        assert_eq!(s.client.warnings.len(), 2, "{:?}", s.client.warnings);
        assert!(s.client.warnings[0].contains("send lag"));
        assert!(s.client.warnings[1].contains("CPU"));
        assert!(close(s.client.cpu_utilisation, 0.95));
    }
}
