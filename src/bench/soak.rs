//! Soak: thousands of streams for a long time; does the client's memory stay flat?
//!
//! One simulator process (its own CPUs, `SimTiming::Fixed`, no request log so
//! its memory stays flat too) serves `streams` closed-loop streams for
//! `duration`, after a warmup in which every stream finished one request. Every
//! second the client's VmRSS is sampled; every `interval` a line is reported.
//!
//! The command's default pace (ITL 20 ms: 2048 streams ask for about 100k
//! events/s) keeps the client below its capacity, so memory shows what the
//! client keeps, not a backlog: a client that falls behind lets data queue in
//! its sockets (kernel memory, not the process's) and in the records of the
//! requests in flight. Run `--soak-itl-ms 1` to see that.
//!
//! # Formulas
//!
//! ```text
//! events/s (interval)  = content events of the requests that completed in the interval / interval length
//!                        (requests last events_per_request × itl, far less than an interval)
//! heap MiB             = glibc mallinfo2 uordblks + hblkhd: bytes allocated and not freed
//!                        (RSS above it is memory the allocator keeps, not live data)
//! first, last          = mean of the 1-s RSS samples in the first third / last third of the soak
//! growth %             = (last − first) / first × 100
//! slope (a third)      = least-squares slope of the 1-s RSS samples in that third, MiB/min:
//!                        Σ (t − t̄)(r − r̄) / Σ (t − t̄)² × 60 / 2²⁰
//! verdict              = flat            ⇔ growth % ≤ 5
//!                        levelling off   ⇔ growth % > 5 and slope(last third) ≤ slope(first third) / 4
//!                        GREW            otherwise
//! ```
//!
//! "Levelling off" is growth that slows down towards a plateau, as buffers
//! sized by the load reach their size; steady growth to the end is "GREW".

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::group;
use super::load::{self, Finished, OnRecord, Streams};
use super::simproc::{SimProcess, SimSetup, SimTimingArgs};
use super::system::{heap_in_use_bytes, vm_rss_bytes};
use crate::clock::now_ns;
use crate::error::Error;

/// Largest RSS growth (last third vs first third, %) still called flat.
pub const FLAT_GROWTH_PERCENT: f64 = 5.0;

/// How to run the soak.
#[derive(Clone, Debug)]
pub struct SoakOptions {
    /// Concurrent streams.
    pub streams: u32,
    /// How long to measure after the warmup.
    pub duration: Duration,
    /// Reporting interval.
    pub interval: Duration,
    /// Token events per request.
    pub events_per_request: u32,
    /// The simulator's inter-token latency in ms (0 = as fast as it can).
    pub itl_ms: f64,
    /// Longest warmup.
    pub max_warmup: Duration,
}

/// One reported interval.
#[derive(Clone, Debug, Serialize)]
pub struct SoakSample {
    /// Seconds since the soak started (end of the interval).
    pub elapsed_s: f64,
    /// VmRSS at the end of the interval, bytes.
    pub rss_bytes: Option<u64>,
    /// Heap bytes in use at the end of the interval ([`super::system::heap_in_use_bytes`]).
    pub heap_bytes: Option<u64>,
    /// Events of the requests that completed in the interval, per second.
    pub events_per_s: f64,
    /// Requests completed in the interval.
    pub requests: u64,
    /// Failed requests so far.
    pub failed_total: u64,
}

/// The soak's result.
#[derive(Clone, Debug, Serialize)]
pub struct SoakReport {
    /// Concurrent streams.
    pub streams: u32,
    /// Measured duration, s.
    pub duration_s: f64,
    /// Simulator timing (Fixed).
    pub timing: SimTimingArgs,
    /// Token events per request.
    pub events_per_request: u32,
    /// The reported intervals.
    pub samples: Vec<SoakSample>,
    /// Every 1-s RSS sample: (seconds since start, bytes).
    pub rss_series: Vec<(f64, u64)>,
    /// Mean RSS of the first third, bytes.
    pub first_third_rss: Option<f64>,
    /// Mean RSS of the last third, bytes.
    pub last_third_rss: Option<f64>,
    /// `(last − first) / first × 100`.
    pub growth_percent: Option<f64>,
    /// `growth_percent ≤ FLAT_GROWTH_PERCENT`.
    pub flat: Option<bool>,
    /// RSS slope over the first third, MiB/min.
    pub first_third_slope_mib_per_min: Option<f64>,
    /// RSS slope over the last third, MiB/min.
    pub last_third_slope_mib_per_min: Option<f64>,
    /// `flat`, `levelling off` or `GREW` (see the module docs).
    pub verdict: Option<String>,
    /// Token events over the whole soak, per second.
    pub events_per_s: f64,
    /// Failed requests over the whole soak.
    pub failed: u64,
}

/// The RSS samples `(t, bytes)` of `series` in the first third (`first`) or the
/// last third of `duration_s`.
fn third(series: &[(f64, u64)], duration_s: f64, first: bool) -> Vec<(f64, f64)> {
    series
        .iter()
        .filter(|(t, _)| {
            if first {
                *t <= duration_s / 3.0
            } else {
                *t > duration_s * 2.0 / 3.0
            }
        })
        .map(|&(t, b)| (t, b as f64))
        .collect()
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}

/// Least-squares slope of `points` (s, bytes) in MiB/min (None with fewer than 2 times).
#[must_use]
pub fn slope_mib_per_min(points: &[(f64, f64)]) -> Option<f64> {
    let t_mean = mean(points.iter().map(|p| p.0))?;
    let r_mean = mean(points.iter().map(|p| p.1))?;
    let sxx: f64 = points.iter().map(|p| (p.0 - t_mean).powi(2)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let sxy: f64 = points.iter().map(|p| (p.0 - t_mean) * (p.1 - r_mean)).sum();
    Some(sxy / sxx * 60.0 / 1_048_576.0)
}

/// The soak's memory verdict (see the module docs).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Verdict {
    /// Mean RSS of the first third, bytes.
    pub first: Option<f64>,
    /// Mean RSS of the last third, bytes.
    pub last: Option<f64>,
    /// `(last − first) / first × 100`.
    pub growth_percent: Option<f64>,
    /// Slope over the first third, MiB/min.
    pub first_slope: Option<f64>,
    /// Slope over the last third, MiB/min.
    pub last_slope: Option<f64>,
    /// `flat`, `levelling off` or `GREW`.
    pub word: Option<&'static str>,
}

/// The verdict on `series` (s since start, bytes) over `duration_s`.
#[must_use]
pub fn verdict(series: &[(f64, u64)], duration_s: f64) -> Verdict {
    let a = third(series, duration_s, true);
    let b = third(series, duration_s, false);
    let first = mean(a.iter().map(|p| p.1));
    let last = mean(b.iter().map(|p| p.1));
    let growth_percent = match (first, last) {
        (Some(f), Some(l)) if f > 0.0 => Some((l - f) / f * 100.0),
        _ => None,
    };
    let first_slope = slope_mib_per_min(&a);
    let last_slope = slope_mib_per_min(&b);
    let word = growth_percent.map(|g| {
        if g <= FLAT_GROWTH_PERCENT {
            "flat"
        } else {
            match (first_slope, last_slope) {
                (Some(f), Some(l)) if f > 0.0 && l <= f / 4.0 => "levelling off",
                _ => "GREW",
            }
        }
    });
    Verdict {
        first,
        last,
        growth_percent,
        first_slope,
        last_slope,
        word,
    }
}

/// Runs the soak; `on_sample` is called after each interval.
///
/// # Errors
/// When the simulator cannot be started or the client cannot be built.
pub async fn run(
    setup: &SimSetup,
    opts: &SoakOptions,
    on_sample: &mut dyn FnMut(&SoakSample),
) -> Result<SoakReport, Error> {
    let timing = SimTimingArgs {
        ttft_ms: 0.0,
        itl_ms: opts.itl_ms,
    };
    let sim = SimProcess::start(setup, timing, false).await?;
    let result = soak(&sim, opts, timing, on_sample).await;
    sim.kill().await;
    result
}

async fn soak(
    sim: &SimProcess,
    opts: &SoakOptions,
    timing: SimTimingArgs,
    on_sample: &mut dyn FnMut(&SoakSample),
) -> Result<SoakReport, Error> {
    let streams = opts.streams.max(1);
    let client = load::client(sim.base_url(), streams)?;
    let request = Arc::new(load::chat_request(opts.events_per_request.max(1)));
    let events = Arc::new(AtomicU64::new(0));
    let requests = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let measuring = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let on_record: OnRecord = {
        let (events, requests, failed, measuring) = (
            Arc::clone(&events),
            Arc::clone(&requests),
            Arc::clone(&failed),
            Arc::clone(&measuring),
        );
        Arc::new(move |done: Finished| {
            if !measuring.load(Ordering::Acquire) {
                return;
            }
            let r = &done.record;
            events.fetch_add(r.chunk_ns.len() as u64, Ordering::Relaxed);
            if r.outcome.is_ok() {
                requests.fetch_add(1, Ordering::Relaxed);
            } else if r.outcome != crate::record::Outcome::Cancelled {
                failed.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let t0 = now_ns();
    let running = Streams::spawn(&client, &request, streams, t0, "soak", &on_record);
    running.warm_up(opts.max_warmup).await;
    measuring.store(true, Ordering::Release);

    let start = tokio::time::Instant::now();
    let end = start + opts.duration;
    let interval = opts.interval.max(Duration::from_millis(100));
    let mut next_report = start + interval;
    let mut samples = Vec::new();
    let mut series = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    let (mut last_events, mut last_requests, mut last_t) = (0u64, 0u64, start);
    loop {
        let now = tokio::time::Instant::now();
        let deadline = end.min(next_report);
        if now >= deadline {
            let elapsed = now.duration_since(start).as_secs_f64();
            let e = events.load(Ordering::Acquire);
            let q = requests.load(Ordering::Acquire);
            let span = now.duration_since(last_t).as_secs_f64().max(1e-9);
            let sample = SoakSample {
                elapsed_s: elapsed,
                rss_bytes: vm_rss_bytes(),
                heap_bytes: heap_in_use_bytes(),
                events_per_s: (e - last_events) as f64 / span,
                requests: q - last_requests,
                failed_total: failed.load(Ordering::Acquire),
            };
            on_sample(&sample);
            samples.push(sample);
            (last_events, last_requests, last_t) = (e, q, now);
            next_report += interval;
            if now >= end {
                break;
            }
            continue;
        }
        tokio::select! {
            _ = tick.tick() => {
                if let Some(rss) = vm_rss_bytes() {
                    series.push((start.elapsed().as_secs_f64(), rss));
                }
            }
            () = tokio::time::sleep_until(deadline) => {}
        }
    }
    let duration_s = start.elapsed().as_secs_f64();
    let total_events = events.load(Ordering::Acquire);
    running.finish(true, Duration::from_secs(10)).await;
    drop(client);
    let v = verdict(&series, duration_s);
    Ok(SoakReport {
        streams,
        duration_s,
        timing,
        events_per_request: opts.events_per_request,
        samples,
        rss_series: series,
        first_third_rss: v.first,
        last_third_rss: v.last,
        growth_percent: v.growth_percent,
        flat: v.growth_percent.map(|g| g <= FLAT_GROWTH_PERCENT),
        first_third_slope_mib_per_min: v.first_slope,
        last_third_slope_mib_per_min: v.last_slope,
        verdict: v.word.map(str::to_owned),
        events_per_s: total_events as f64 / duration_s.max(1e-9),
        failed: failed.load(Ordering::Acquire),
    })
}

/// The header printed before the first sample.
#[must_use]
pub fn header(opts: &SoakOptions) -> String {
    format!(
        "soak: {} streams, simulator Fixed TTFT 0 ITL {} ms, {} token events per request, {:.0} s\n\
         {:>9}  {:>9}  {:>9}  {:>10}  {:>9}  {:>7}\n",
        opts.streams,
        opts.itl_ms,
        opts.events_per_request,
        opts.duration.as_secs_f64(),
        "elapsed s",
        "RSS MiB",
        "heap MiB",
        "events/s",
        "requests",
        "failed",
    )
}

fn mib(bytes: Option<u64>) -> String {
    bytes.map_or_else(
        || "n/a".to_owned(),
        |b| format!("{:.1}", b as f64 / 1_048_576.0),
    )
}

/// One sample line.
#[must_use]
pub fn row(s: &SoakSample) -> String {
    format!(
        "{:>9.1}  {:>9}  {:>9}  {:>10}  {:>9}  {:>7}",
        s.elapsed_s,
        mib(s.rss_bytes),
        mib(s.heap_bytes),
        group(s.events_per_s.round() as u64),
        group(s.requests),
        s.failed_total,
    )
}

/// The verdict line.
#[must_use]
pub fn verdict_line(r: &SoakReport) -> String {
    let mib = |b: f64| b / 1_048_576.0;
    let slope = |s: Option<f64>| s.map_or_else(|| "n/a".to_owned(), |s| format!("{s:+.1}"));
    match (
        r.first_third_rss,
        r.last_third_rss,
        r.growth_percent,
        r.verdict.as_deref(),
    ) {
        (Some(f), Some(l), Some(g), Some(word)) => format!(
            "verdict: RSS {word} — last third mean {:.1} MiB vs first third {:.1} MiB ({g:+.1} %, flat means ≤ {FLAT_GROWTH_PERCENT} %); \
             slope {} MiB/min in the first third, {} in the last; {} events/s overall, {} failed",
            mib(l),
            mib(f),
            slope(r.first_third_slope_mib_per_min),
            slope(r.last_third_slope_mib_per_min),
            group(r.events_per_s.round() as u64),
            r.failed
        ),
        _ => "verdict: n/a (too few RSS samples; run the soak for at least 3 s)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_compares_first_and_last_thirds() {
        let series: Vec<(f64, u64)> = (1..=9u64).map(|t| (t as f64, 100 + t)).collect();
        let v = verdict(&series, 9.0);
        assert_eq!(v.first, Some(102.0)); // t = 1, 2, 3
        assert_eq!(v.last, Some(108.0)); // t = 7, 8, 9
        assert!((v.growth_percent.unwrap() - 6.0 / 102.0 * 100.0).abs() < 1e-9);
        // Steady growth of 1 byte/s in both thirds: it did not level off.
        assert_eq!(v.word, Some("GREW"));
        assert!((v.last_slope.unwrap() - 60.0 / 1_048_576.0).abs() < 1e-12);
        assert_eq!(verdict(&[], 9.0), Verdict::default());
    }

    #[test]
    fn verdict_tells_flat_and_levelling_off_apart() {
        let flat: Vec<(f64, u64)> = (1..=9u64).map(|t| (t as f64, 1000 + t % 2)).collect();
        assert_eq!(verdict(&flat, 9.0).word, Some("flat"));
        // +100 per second, then +1: growth slows to a plateau.
        let levelling: Vec<(f64, u64)> = (1..=9u64)
            .map(|t| (t as f64, if t <= 3 { 1000 + 100 * t } else { 1300 + t }))
            .collect();
        let v = verdict(&levelling, 9.0);
        assert!(v.growth_percent.unwrap() > FLAT_GROWTH_PERCENT);
        assert_eq!(v.word, Some("levelling off"));
    }

    #[test]
    fn slope_needs_two_times() {
        assert_eq!(slope_mib_per_min(&[]), None);
        assert_eq!(slope_mib_per_min(&[(1.0, 5.0)]), None);
        let s = slope_mib_per_min(&[(0.0, 0.0), (60.0, 1_048_576.0)]).unwrap();
        assert!((s - 1.0).abs() < 1e-12);
    }
}
