//! Capacity: the most token events per second the client takes in, and what
//! each costs it in CPU time and memory, at several stream counts.
//!
//! The simulator runs in its own process with `SimTiming::Fixed` (TTFT 0, ITL
//! `itl_ms`; 0 = every token as fast as it can write). `streams` tasks each send
//! one streamed request of `events_per_request` tokens after another (closed
//! loop). A level first warms up until every stream finished one request (every
//! connection open, requests cycling; at most `max_warmup`), then measures over
//! a window `[w0, w1)` of `window`, then cancels the requests in flight.
//!
//! # Formulas (per level)
//!
//! ```text
//! E                = Σ over records of |{ t ∈ chunk_ns : w0 ≤ t < w1 }|      token events read in the window
//! W                = w1 − w0                                                 (measured, s)
//! events/s         = E / W
//! µs CPU/event     = (cpu(w1) − cpu(w0)) / E × 10⁶
//!                    cpu = getrusage(RUSAGE_SELF) user + system of this process
//!                    (the simulator is another process and is not counted)
//! client CPU       = (cpu(w1) − cpu(w0)) / W                                 cores busy
//! simulator CPU    = (sim(w1) − sim(w0)) / W, sim = utime + stime of /proc/<pid>/stat
//! CPU wait         = (wait(w1) − wait(w0)) / W, wait = Σ run-queue wait of the process's
//!                    threads (/proc/<pid>/task/*/schedstat): cores' worth of time it was
//!                    runnable but not running
//! saturated        ⇔ CPU + CPU wait ≥ 0.9 × CPUs it may use   (runnable ≥ 90 % of the time)
//! KiB RSS/stream   = (max VmRSS during the window − VmRSS before the first level) / streams / 1024
//! offered events/s = streams / itl                                           (itl > 0 only)
//! ```
//!
//! `chunk_ns` are the client's own receive times of content events (see
//! `client::request`), so `E` counts exactly the events the client read and
//! parsed inside the window, including those of requests cancelled at `w1`.
//! RSS is sampled every 100 ms; the baseline is taken once, before the first
//! level, and levels run in ascending order, so memory the allocator kept from
//! an earlier level is charged to the later one: the figure is an upper bound.
//! When the simulator is saturated, events/s measures the simulator and is only
//! a lower bound of the client's capacity (CPU/event stays valid). CPU wait
//! shows contention: on a machine busy with other work a side waits for its CPU
//! and events/s comes out low, while CPU/event is barely affected.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::floor::{self, Floor};
use super::load::{self, Finished, OnRecord, Streams};
use super::simproc::{SimProcess, SimSetup, SimTimingArgs};
use super::system::{vm_rss_bytes, CpuSnapshot};
use super::{group, TargetCheck, SATURATED};
use crate::clock::now_ns;
use crate::error::Error;
use crate::record::Outcome;

/// How to run the capacity benchmark.
#[derive(Clone, Debug)]
pub struct CapacityOptions {
    /// Stream counts to measure (run in ascending order).
    pub streams: Vec<u32>,
    /// Measurement window per level.
    pub window: Duration,
    /// Token events per request (`max_tokens`).
    pub events_per_request: u32,
    /// Words of the prompt (0: a one-line prompt).
    pub prompt_words: u32,
    /// The simulator's inter-token latency in ms (0 = as fast as it can).
    pub itl_ms: f64,
    /// Longest warmup per level.
    pub max_warmup: Duration,
    /// CPUs the client may use (for the saturation flag).
    pub client_cpus: usize,
    /// CPUs the simulator may use (for the saturation flag).
    pub sim_cpus: usize,
    /// Also measure the floor reader at each level ([`super::floor`]).
    pub floor: bool,
}

/// The figures of one stream count.
#[derive(Clone, Debug, Serialize)]
pub struct CapacityLevel {
    /// Concurrent streams.
    pub streams: u32,
    /// Token events read in the window (`E`).
    pub events: u64,
    /// The window actually measured, s (`W`).
    pub window_s: f64,
    /// `E / W`.
    pub events_per_s: f64,
    /// `streams / itl` (None when itl = 0).
    pub offered_events_per_s: Option<f64>,
    /// Client CPU µs per token event (None when `E` = 0).
    pub cpu_us_per_event: Option<f64>,
    /// Client CPU cores busy during the window.
    pub client_cpu: f64,
    /// Cores' worth of time the client was runnable but waiting for a CPU.
    pub client_cpu_wait: Option<f64>,
    /// Simulator CPU cores busy during the window (None when /proc is unreadable).
    pub sim_cpu: Option<f64>,
    /// Cores' worth of time the simulator was runnable but waiting for a CPU.
    pub sim_cpu_wait: Option<f64>,
    /// Process VmRSS before the first level, bytes.
    pub rss_baseline_bytes: Option<u64>,
    /// Highest VmRSS sampled in the window, bytes.
    pub rss_peak_bytes: Option<u64>,
    /// `(peak − baseline) / streams / 1024`.
    pub rss_kib_per_stream: Option<f64>,
    /// Requests that completed (`ok`) inside the window.
    pub requests_ok: u64,
    /// Requests that failed (any outcome but `ok`, and `cancelled` at the window's end).
    pub failed: u64,
    /// Warmup time, s.
    pub warmup_s: f64,
    /// Every stream finished a request before the window opened.
    pub warmup_complete: bool,
    /// The client was runnable (busy or waiting) ≥ 90 % of its CPUs' time.
    pub client_saturated: bool,
    /// The simulator was runnable ≥ 90 % of its CPUs' time: events/s is then the simulator's limit.
    pub sim_saturated: bool,
    /// Targets that apply to this level.
    pub targets: Vec<TargetCheck>,
    /// The floor reader on the runtime, same load (None unless asked for).
    pub floor: Option<Floor>,
    /// The floor reader on its own `epoll` loop, same load (None unless asked for).
    pub floor_epoll: Option<Floor>,
}

/// The capacity benchmark's result.
#[derive(Clone, Debug, Serialize)]
pub struct CapacityReport {
    /// Simulator timing (Fixed).
    pub timing: SimTimingArgs,
    /// Token events per request.
    pub events_per_request: u32,
    /// Nominal window per level, s.
    pub window_s: f64,
    /// One entry per stream count, ascending.
    pub levels: Vec<CapacityLevel>,
}

/// The issue's targets: ≥ 200k events/s at 256 streams, ≥ 90k at 2048,
/// ≤ 2.5 µs CPU per event at every level, ≤ 32 KiB RSS per stream at 4096.
#[must_use]
pub fn targets(level: &CapacityLevel) -> Vec<TargetCheck> {
    let mut out = Vec::new();
    match level.streams {
        256 => out.push(TargetCheck::at_least(
            "events_per_s",
            200_000.0,
            Some(level.events_per_s),
        )),
        2048 => out.push(TargetCheck::at_least(
            "events_per_s",
            90_000.0,
            Some(level.events_per_s),
        )),
        _ => {}
    }
    out.push(TargetCheck::at_most(
        "cpu_us_per_event",
        2.5,
        level.cpu_us_per_event,
    ));
    if level.streams == 4096 {
        out.push(TargetCheck::at_most(
            "rss_kib_per_stream",
            32.0,
            level.rss_kib_per_stream,
        ));
    }
    out
}

/// Counters shared by the streams of one level.
struct Window {
    /// `w0`, ns since t0 (`u64::MAX` until the window opens).
    start: AtomicU64,
    /// `w1`, ns since t0 (`u64::MAX` until the window closes).
    end: AtomicU64,
    events: AtomicU64,
    requests_ok: AtomicU64,
    failed: AtomicU64,
}

impl Window {
    fn on_record(&self, done: &Finished) {
        let w0 = self.start.load(Ordering::Acquire);
        let w1 = self.end.load(Ordering::Acquire);
        let r = &done.record;
        if w0 != u64::MAX {
            let n = r.chunk_ns.iter().filter(|&&t| t >= w0 && t < w1).count();
            self.events.fetch_add(n as u64, Ordering::Relaxed);
            if r.outcome.is_ok() && r.end_ns >= w0 && r.end_ns < w1 {
                self.requests_ok.fetch_add(1, Ordering::Relaxed);
            }
        }
        let cut_at_end = r.outcome == Outcome::Cancelled && w1 != u64::MAX;
        if !r.outcome.is_ok() && !cut_at_end {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Runs the capacity benchmark against one simulator process; `on_level` is
/// called after each level (for progressive output).
///
/// # Errors
/// When the simulator cannot be started or the client cannot be built.
pub async fn run(
    setup: &SimSetup,
    opts: &CapacityOptions,
    on_level: &mut dyn FnMut(&CapacityLevel),
) -> Result<CapacityReport, Error> {
    let timing = SimTimingArgs {
        ttft_ms: 0.0,
        itl_ms: opts.itl_ms,
    };
    let mut streams = opts.streams.clone();
    streams.sort_unstable();
    streams.dedup();
    let sim = SimProcess::start(setup, timing, false).await?;
    let baseline = vm_rss_bytes();
    let mut levels = Vec::new();
    for &n in &streams {
        let level = match level(&sim, opts, n.max(1), baseline).await {
            Ok(level) => level,
            Err(e) => {
                sim.kill().await;
                return Err(e);
            }
        };
        on_level(&level);
        levels.push(level);
        // Let the simulator close the cancelled streams before the next level.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    sim.kill().await;
    Ok(CapacityReport {
        timing,
        events_per_request: opts.events_per_request,
        window_s: opts.window.as_secs_f64(),
        levels,
    })
}

async fn level(
    sim: &SimProcess,
    opts: &CapacityOptions,
    streams: u32,
    baseline: Option<u64>,
) -> Result<CapacityLevel, Error> {
    let client = load::client(sim.base_url(), streams)?;
    let request = Arc::new(load::chat_request_with_prompt(
        opts.events_per_request.max(1),
        opts.prompt_words,
    ));
    let window = Arc::new(Window {
        start: AtomicU64::new(u64::MAX),
        end: AtomicU64::new(u64::MAX),
        events: AtomicU64::new(0),
        requests_ok: AtomicU64::new(0),
        failed: AtomicU64::new(0),
    });
    let on_record: OnRecord = {
        let window = Arc::clone(&window);
        Arc::new(move |done: Finished| window.on_record(&done))
    };
    let t0 = now_ns();
    let running = Streams::spawn(
        &client,
        &request,
        streams,
        t0,
        &format!("cap{streams}"),
        &on_record,
    );
    let warmup_complete = running.warm_up(opts.max_warmup).await;

    let w0 = now_ns().saturating_sub(t0);
    window.start.store(w0, Ordering::Release);
    let client0 = CpuSnapshot::this_process();
    let sim0 = CpuSnapshot::of(sim.pid());
    let mut rss_peak = vm_rss_bytes();
    let until = tokio::time::Instant::now() + opts.window;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tick.tick().await;
        if tokio::time::Instant::now() >= until {
            break;
        }
        rss_peak = rss_peak.max(vm_rss_bytes());
    }
    let w1 = now_ns().saturating_sub(t0);
    window.end.store(w1, Ordering::Release);
    let client1 = CpuSnapshot::this_process();
    let sim1 = CpuSnapshot::of(sim.pid());
    running.finish(true, Duration::from_secs(10)).await;
    drop(client);

    let window_s = (w1 - w0) as f64 / 1e9;
    let events = window.events.load(Ordering::Acquire);
    let cpu_s = client1
        .cpu_ns
        .unwrap_or(0)
        .saturating_sub(client0.cpu_ns.unwrap_or(0)) as f64
        / 1e9;
    let (client_cpu, client_cpu_wait) = client0.rates(&client1, window_s);
    let client_cpu = client_cpu.unwrap_or(0.0);
    let (sim_cpu, sim_cpu_wait) = sim0.rates(&sim1, window_s);
    let runnable = |busy: Option<f64>, wait: Option<f64>, cpus: usize| {
        busy.is_some_and(|b| b + wait.unwrap_or(0.0) >= SATURATED * cpus.max(1) as f64)
    };
    let rss_kib_per_stream = match (baseline, rss_peak) {
        (Some(b), Some(p)) => Some(p.saturating_sub(b) as f64 / f64::from(streams) / 1024.0),
        _ => None,
    };
    let mut level = CapacityLevel {
        streams,
        events,
        window_s,
        events_per_s: if window_s > 0.0 {
            events as f64 / window_s
        } else {
            0.0
        },
        offered_events_per_s: (opts.itl_ms > 0.0).then(|| f64::from(streams) * 1e3 / opts.itl_ms),
        cpu_us_per_event: (events > 0).then(|| cpu_s * 1e6 / events as f64),
        client_cpu,
        client_cpu_wait,
        sim_cpu,
        sim_cpu_wait,
        rss_baseline_bytes: baseline,
        rss_peak_bytes: rss_peak,
        rss_kib_per_stream,
        requests_ok: window.requests_ok.load(Ordering::Acquire),
        failed: window.failed.load(Ordering::Acquire),
        warmup_s: w0 as f64 / 1e9,
        warmup_complete,
        client_saturated: runnable(Some(client_cpu), client_cpu_wait, opts.client_cpus),
        sim_saturated: runnable(sim_cpu, sim_cpu_wait, opts.sim_cpus),
        targets: Vec::new(),
        floor: None,
        floor_epoll: None,
    };
    level.targets = targets(&level);
    if opts.floor {
        let (url, body) = (sim.base_url(), &request.body);
        // Each time, let the simulator close the previous streams first.
        tokio::time::sleep(Duration::from_millis(500)).await;
        level.floor = Some(floor::measure(url, body, streams, opts.window, opts.max_warmup).await?);
        tokio::time::sleep(Duration::from_millis(500)).await;
        level.floor_epoll =
            Some(floor::measure_epoll(url, body, streams, opts.window, opts.max_warmup).await?);
    }
    Ok(level)
}

/// The table header (two lines) printed before the first level.
#[must_use]
pub fn header(report_timing: SimTimingArgs, opts: &CapacityOptions) -> String {
    let pacing = if report_timing.itl_ms > 0.0 {
        format!("ITL {} ms", report_timing.itl_ms)
    } else {
        "ITL 0 (as fast as it can)".to_owned()
    };
    format!(
        "capacity: closed loop, simulator Fixed TTFT 0 {pacing}, {} token events per request, {:.1} s window per level\n\
         {:>7}  {:>10} {:<12}  {:>7} {:<10} {:>6} {:>6}  {:>8} {:<10}  {:>6}  {:>6}  {:>6}\n",
        opts.events_per_request,
        opts.window.as_secs_f64(),
        "streams",
        "events/s",
        "(target)",
        "µs CPU",
        "/event",
        "floor",
        "epoll",
        "KiB RSS",
        "/stream",
        "client",
        "sim",
        "failed",
    )
}

/// One table row.
#[must_use]
pub fn row(level: &CapacityLevel) -> String {
    let find = |metric: &str| level.targets.iter().find(|t| t.metric == metric);
    let rate_t = find("events_per_s").map_or_else(|| "—".to_owned(), |t| t.short());
    let cpu_t = find("cpu_us_per_event").map_or_else(|| "—".to_owned(), |t| t.short());
    let rss_t = find("rss_kib_per_stream").map_or_else(|| "—".to_owned(), |t| t.short());
    let pct = |c: f64| format!("{:.0}%", c * 100.0);
    format!(
        "{:>7}  {:>10} {:<12}  {:>7} {:<10} {:>6} {:>6}  {:>8} {:<10}  {:>6}  {:>6}  {:>6}",
        level.streams,
        group(level.events_per_s.round() as u64),
        rate_t,
        level
            .cpu_us_per_event
            .map_or_else(|| "n/a".to_owned(), |v| format!("{v:.2}")),
        cpu_t,
        floor_cell(level.floor.as_ref()),
        floor_cell(level.floor_epoll.as_ref()),
        level
            .rss_kib_per_stream
            .map_or_else(|| "n/a".to_owned(), |v| format!("{v:.1}")),
        rss_t,
        pct(level.client_cpu),
        level.sim_cpu.map_or_else(|| "n/a".to_owned(), pct),
        level.failed,
    )
}

/// A floor's CPU per event, `—` when it was not measured.
fn floor_cell(floor: Option<&Floor>) -> String {
    floor.map_or_else(
        || "—".to_owned(),
        |f| {
            f.cpu_us_per_event
                .map_or_else(|| "n/a".to_owned(), |v| format!("{v:.2}"))
        },
    )
}

/// Notes after the table: saturation, incomplete warmups, failures.
#[must_use]
pub fn notes(report: &CapacityReport) -> String {
    let mut out = String::new();
    for l in &report.levels {
        if l.sim_saturated && l.client_saturated {
            out.push_str(&format!(
                "note: {} streams: client and simulator were both saturated (busy or waiting for a CPU ≥ 90% of the time); \
                 events/s is bounded by both (CPU/event is still the client's own cost)\n",
                l.streams
            ));
        } else if l.sim_saturated {
            out.push_str(&format!(
                "note: {} streams: the simulator was saturated (busy or waiting for a CPU ≥ 90% of the time); \
                 events/s is the simulator's limit, a lower bound of the client's (CPU/event is still the client's own cost)\n",
                l.streams
            ));
        } else if !l.client_saturated {
            let offered = l
                .offered_events_per_s
                .map(|o| format!(" (offered {})", group(o.round() as u64)))
                .unwrap_or_default();
            out.push_str(&format!(
                "note: {} streams: neither side saturated{offered}: events/s is the load offered, not a ceiling\n",
                l.streams
            ));
        }
        for (side, wait) in [("client", l.client_cpu_wait), ("simulator", l.sim_cpu_wait)] {
            if let Some(w) = wait.filter(|&w| w >= 0.1) {
                out.push_str(&format!(
                    "note: {} streams: the {side} waited for a CPU {:.0}% of the window (other work on the machine); \
                     events/s is pessimistic\n",
                    l.streams,
                    w * 100.0
                ));
            }
        }
        if !l.warmup_complete {
            out.push_str(&format!(
                "note: {} streams: not every stream finished a request during the {:.1} s warmup\n",
                l.streams, l.warmup_s
            ));
        }
        if l.failed > 0 {
            out.push_str(&format!(
                "note: {} streams: {} request(s) failed\n",
                l.streams, l.failed
            ));
        }
    }
    out
}
