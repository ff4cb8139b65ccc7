//! Arrival precision: does the open loop send when the schedule says, and does
//! the server see the declared arrival process?
//!
//! For each rate and arrival process, a fresh simulator process (its own CPU,
//! Fixed timing of 1 ms to the first token and between tokens, request log on)
//! receives one open-loop run of `rate × window` short streamed requests (two
//! tokens each), sent by the runner's own executor (`runner::executor::execute`,
//! the code `tokenomics run` uses for `mode = "rate"`). Then:
//!
//! ```text
//! send lag          = start_ns − scheduled_ns               per request (client side, ms)
//! server gaps       = sorted arrival_ns[k+1] − arrival_ns[k] (server side, its log)
//! KS distance       = sup_x |F_gaps(x) − F(x)|              F: the declared gap distribution
//! near-zero share   = share of server gaps < 50 µs, beside F(50 µs)
//! pacer CPU         = the pacer thread's CPU time / wall time (one core = 100%)
//! ```
//!
//! `F` is `schedule::gap_cdf`: exponential for Poisson, gamma with shape
//! `burstiness` for gamma arrivals. A clumping dispatcher shows up as a
//! near-zero share far above `F(50 µs)` and a large KS distance.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::load;
use super::simproc::{SimProcess, SimSetup, SimTimingArgs};
use super::system::CpuSnapshot;
use super::TargetCheck;
use crate::error::Error;
use crate::metrics::stats::percentile;
use crate::plan::LoadSpec;
use crate::runner::executor::{execute, RunInput};
use crate::vocab::Arrival;

/// Server gaps below this count as "near zero" (clumped).
pub const NEAR_ZERO_S: f64 = 50e-6;

/// How to run the arrival benchmark.
#[derive(Clone, Debug)]
pub struct ArrivalOptions {
    /// Request rates, requests/s.
    pub rates: Vec<f64>,
    /// Seconds of schedule per level (requests = rate × window).
    pub window: Duration,
    /// Shape of the gamma arrivals (1 would be Poisson).
    pub burstiness: f64,
}

/// Percentiles of the send lag, ms.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LagStats {
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

/// The figures of one rate × arrival process.
#[derive(Clone, Debug, Serialize)]
pub struct ArrivalLevel {
    /// Requests/s declared.
    pub rate: f64,
    /// `poisson` or `gamma(k)`.
    pub arrival: String,
    /// Requests sent.
    pub requests: usize,
    /// Requests that ended ok.
    pub ok: usize,
    /// Send lag (start − scheduled).
    pub send_lag: LagStats,
    /// Server-side gaps compared.
    pub server_gaps: usize,
    /// Kolmogorov–Smirnov distance of the server gaps to the declared distribution.
    pub ks_distance: Option<f64>,
    /// Share of server gaps below 50 µs.
    pub near_zero_share: Option<f64>,
    /// What the declared distribution expects below 50 µs.
    pub expected_near_zero_share: f64,
    /// The pacer thread's CPU, % of one core over the run.
    pub pacer_cpu_pct: Option<f64>,
    /// The client process's CPU, % of one core over the run.
    pub client_cpu_pct: f64,
    /// Targets that apply to this level.
    pub targets: Vec<TargetCheck>,
}

/// The arrival benchmark's result.
#[derive(Clone, Debug, Serialize)]
pub struct ArrivalReport {
    /// Seconds of schedule per level.
    pub window_s: f64,
    /// One entry per rate and arrival process.
    pub levels: Vec<ArrivalLevel>,
}

/// The issue's targets: send lag p99 ≤ 0.2 ms at 1,000 requests/s and ≤ 0.5 ms
/// at 10,000 requests/s.
#[must_use]
pub fn targets(rate: f64, lag: &LagStats) -> Vec<TargetCheck> {
    #[allow(clippy::float_cmp)]
    if rate == 1000.0 {
        vec![TargetCheck::at_most("send_lag_p99_ms", 0.2, lag.p99_ms)]
    } else if rate == 10_000.0 {
        vec![TargetCheck::at_most("send_lag_p99_ms", 0.5, lag.p99_ms)]
    } else {
        Vec::new()
    }
}

/// Server-side gaps (s) of sorted arrival times (ns).
#[must_use]
pub fn gaps_s(arrivals_ns: &mut [u64]) -> Vec<f64> {
    arrivals_ns.sort_unstable();
    #[allow(clippy::cast_precision_loss)]
    arrivals_ns
        .windows(2)
        .map(|w| (w[1] - w[0]) as f64 / 1e9)
        .collect()
}

/// Share of `gaps` below [`NEAR_ZERO_S`].
#[must_use]
pub fn near_zero_share(gaps: &[f64]) -> Option<f64> {
    #[allow(clippy::cast_precision_loss)]
    (!gaps.is_empty())
        .then(|| gaps.iter().filter(|g| **g < NEAR_ZERO_S).count() as f64 / gaps.len() as f64)
}

/// Runs every level; `on_level` is called after each.
///
/// # Errors
/// When a simulator cannot be started or stopped, or its log cannot be read.
pub async fn run(
    setup: &SimSetup,
    opts: &ArrivalOptions,
    on_level: &mut dyn FnMut(&ArrivalLevel),
) -> Result<ArrivalReport, Error> {
    let mut levels = Vec::new();
    for &rate in &opts.rates {
        for arrival in [
            Arrival::Poisson,
            Arrival::Gamma {
                burstiness: opts.burstiness,
            },
        ] {
            let level = level(setup, opts, rate, arrival).await?;
            on_level(&level);
            levels.push(level);
        }
    }
    Ok(ArrivalReport {
        window_s: opts.window.as_secs_f64(),
        levels,
    })
}

async fn level(
    setup: &SimSetup,
    opts: &ArrivalOptions,
    rate: f64,
    arrival: Arrival,
) -> Result<ArrivalLevel, Error> {
    let timing = SimTimingArgs {
        ttft_ms: 1.0,
        itl_ms: 1.0,
    };
    let sim = SimProcess::start(setup, timing, true).await?;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let n = ((rate * opts.window.as_secs_f64()).ceil() as u32).max(2);
    // Enough keep-alive connections for the requests in flight (each takes ~3 ms).
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let pool = ((rate * 0.01).ceil() as u32).clamp(16, 1024);
    let client = match load::client(sim.base_url(), pool) {
        Ok(c) => c,
        Err(e) => {
            sim.kill().await;
            return Err(e);
        }
    };
    let template = load::chat_request(2);
    let requests: Vec<_> = (0..n)
        .map(|i| {
            let mut r = template.clone();
            r.index = i;
            r
        })
        .collect();
    let endpoint = Arc::new(client.endpoint().clone());
    let label = match arrival {
        Arrival::Gamma { burstiness } => format!("gamma({burstiness})"),
        Arrival::Poisson => "poisson".to_owned(),
        Arrival::Constant => "constant".to_owned(),
    };
    let input = RunInput {
        client,
        endpoint,
        point_index: 0,
        point_id: Arc::from(format!("arr{rate}").as_str()),
        run_index: 0,
        warmup: false,
        requests: Arc::new(requests),
        cancel: CancellationToken::new(),
        grace: Duration::from_secs(10),
        schedule_seed: 0x0a17_1fa1,
    };
    let load = LoadSpec::Rate {
        rate,
        arrival,
        requests: n,
        duration: None,
        max_concurrency: None,
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let cpu0 = CpuSnapshot::this_process();
    let timing = execute(input, &load, tx).await;
    let cpu1 = CpuSnapshot::this_process();
    let (client_cpu, _) = cpu0.rates(&cpu1, timing.wall_time_s);
    let mut records = Vec::new();
    while let Some(r) = rx.recv().await {
        records.push(r);
    }
    let log = sim.stop_and_take_log().await?;

    #[allow(clippy::cast_precision_loss)]
    let lags: Vec<f64> = records
        .iter()
        .filter_map(|r| {
            r.scheduled_ns
                .map(|s| r.start_ns.saturating_sub(s) as f64 / 1e6)
        })
        .collect();
    let send_lag = LagStats {
        p50_ms: percentile(&lags, 50.0),
        p99_ms: percentile(&lags, 99.0),
        max_ms: lags.iter().copied().reduce(f64::max),
    };
    let mut arrivals: Vec<u64> = log
        .iter()
        .filter(|e| e.path.contains("chat/completions"))
        .map(|e| e.arrival_ns)
        .collect();
    let gaps = gaps_s(&mut arrivals);
    let wall = timing.wall_time_s.max(1e-9);
    Ok(ArrivalLevel {
        rate,
        arrival: label,
        requests: records.len(),
        ok: records.iter().filter(|r| r.outcome.is_ok()).count(),
        targets: targets(rate, &send_lag),
        send_lag,
        server_gaps: gaps.len(),
        ks_distance: crate::schedule::ks_distance(&gaps, arrival, rate),
        near_zero_share: near_zero_share(&gaps),
        expected_near_zero_share: crate::schedule::gap_cdf(arrival, rate, NEAR_ZERO_S),
        pacer_cpu_pct: timing.pacer_cpu_s.map(|c| 100.0 * c / wall),
        client_cpu_pct: 100.0 * client_cpu.unwrap_or(0.0),
    })
}

/// The level as one table row.
#[must_use]
pub fn row(l: &ArrivalLevel) -> String {
    let ms = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"));
    let pct = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{:.1}%", 100.0 * v));
    format!(
        "{:>7} {:<11} {:>6} {:>8} {:>8} {:>8} {:>7} {:>7} {:>7} {:>6} {:>7} {}",
        l.rate,
        l.arrival,
        l.requests,
        ms(l.send_lag.p50_ms),
        ms(l.send_lag.p99_ms),
        ms(l.send_lag.max_ms),
        l.ks_distance
            .map_or_else(|| "-".to_owned(), |d| format!("{d:.3}")),
        pct(l.near_zero_share),
        pct(Some(l.expected_near_zero_share)),
        l.pacer_cpu_pct
            .map_or_else(|| "-".to_owned(), |p| format!("{p:.0}%")),
        format!("{:.0}%", l.client_cpu_pct),
        l.targets
            .iter()
            .map(TargetCheck::short)
            .collect::<Vec<_>>()
            .join(" ")
    )
}

/// The header of [`row`].
pub const HEADER: &str = "   rate arrival       sent  lag p50  lag p99  lag max      KS  <50µs  expect  pacer  client targets";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_and_near_zero_share() {
        let mut arrivals = vec![3_000_000, 1_000_000, 1_010_000, 2_000_000];
        let gaps = gaps_s(&mut arrivals);
        assert_eq!(gaps.len(), 3);
        assert!((gaps[0] - 10e-6).abs() < 1e-12);
        assert_eq!(near_zero_share(&gaps), Some(1.0 / 3.0));
        assert_eq!(near_zero_share(&[]), None);
    }

    #[test]
    fn targets_apply_at_1k_and_10k() {
        let lag = LagStats {
            p50_ms: Some(0.05),
            p99_ms: Some(0.3),
            max_ms: Some(1.0),
        };
        assert_eq!(targets(1000.0, &lag)[0].met, Some(false));
        assert_eq!(targets(10_000.0, &lag)[0].met, Some(true));
        assert!(targets(5000.0, &lag).is_empty());
    }
}
