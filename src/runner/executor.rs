//! Executes the load of one run: burst, closed loop, open loop or ramp.
//!
//! Request tasks never share state through locks: each builds a complete
//! [`RequestRecord`] and sends it over a channel to the run's collector task
//! (the single owner of the records). Closed loops hand out work with one
//! atomic counter; open loops are driven by a pacer thread that hands each
//! request over at its absolute offset from `t0` (see [`crate::schedule`] and
//! [`super::pace`]).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::client::{HttpClient, RequestContext};
use crate::clock::now_ns;
use crate::dataset::PreparedRequest;
use crate::plan::{EndpointSpec, LoadSpec, RetryPolicy};
use crate::record::{Outcome, RequestRecord};
use crate::vocab::{Arrival, StageKind};

/// What a run needs to execute its load.
#[derive(Clone)]
pub struct RunInput {
    pub client: HttpClient,
    pub endpoint: Arc<EndpointSpec>,
    pub point_index: u32,
    pub point_id: Arc<str>,
    pub run_index: u32,
    pub warmup: bool,
    /// Requests in schedule order. Multi-turn conversations send their follow-ups in the same task.
    pub requests: Arc<Vec<PreparedRequest>>,
    pub cancel: CancellationToken,
    /// After cancellation, in-flight requests get this long before they are cut.
    pub grace: Duration,
    /// Seed of the open-loop schedule.
    pub schedule_seed: u64,
}

/// Timing of a finished run.
#[derive(Clone, Copy, Debug)]
pub struct RunTiming {
    pub t0_ns: u64,
    pub t0_wall_ns: u64,
    pub wall_time_s: f64,
    /// Process CPU time during the run / wall time (1.0 = one core busy).
    pub cpu_utilisation: f64,
    /// p99 of the runtime lag during the run (ms; see [`lag_probe`]), when sampled.
    pub loop_lag_ms: Option<f64>,
    /// CPU time of the open-loop pacer thread (s; see [`super::pace`]), in open-loop runs.
    pub pacer_cpu_s: Option<f64>,
}

/// Interval of the runtime-lag probe.
pub const LAG_PROBE_INTERVAL: std::time::Duration = std::time::Duration::from_millis(5);

/// The client's own delay in reacting to ready I/O: a task on the same runtime
/// as the requests sleeps until `due = last wake + 5 ms` and records
/// `woke − due` (ms). A socket read that became ready waits about as long for
/// the runtime to poll it, so this lag bounds how late chunk timestamps can be
/// (timer resolution adds up to 1 ms). Runs until `stop` fires.
pub async fn lag_probe(stop: CancellationToken) -> Vec<f64> {
    let mut lags = Vec::new();
    let interval = dur_ns(LAG_PROBE_INTERVAL);
    loop {
        let due = now_ns() + interval;
        tokio::select! {
            () = stop.cancelled() => break,
            () = tokio::time::sleep(LAG_PROBE_INTERVAL) => {
                #[allow(clippy::cast_precision_loss)]
                lags.push(now_ns().saturating_sub(due) as f64 / 1e6);
            }
        }
    }
    lags
}

/// Runs `load` over `input.requests`, sending every record to `tx`.
/// Returns when every request has ended (or been cancelled).
pub async fn execute(
    input: RunInput,
    load: &LoadSpec,
    tx: mpsc::UnboundedSender<RequestRecord>,
) -> RunTiming {
    let cpu0 = process_cpu_ns();
    let t0_wall_ns = crate::clock::wall_ns();
    let t0_ns = now_ns();
    let input = Arc::new(input);
    let stop_probe = CancellationToken::new();
    let probe = tokio::spawn(lag_probe(stop_probe.clone()));
    let mut pacer_cpu_s = None;
    match load {
        LoadSpec::Burst { .. } => burst(&input, t0_ns, &tx).await,
        LoadSpec::Concurrency {
            concurrency,
            duration,
            ..
        } => {
            let deadline = duration.map(|d| t0_ns + dur_ns(d));
            closed_loop(
                &input,
                t0_ns,
                *concurrency,
                0,
                input.requests.len(),
                deadline,
                &tx,
            )
            .await;
        }
        LoadSpec::Rate {
            rate,
            arrival,
            requests,
            duration,
            max_concurrency,
        } => {
            let n = (*requests as usize).min(input.requests.len());
            let offsets = crate::schedule::open_loop(
                *rate,
                *arrival,
                n as u64,
                duration.map(dur_ns),
                input.schedule_seed,
            )
            .unwrap_or_default();
            pacer_cpu_s = Some(open_loop(&input, t0_ns, &offsets, 0, *max_concurrency, &tx).await);
        }
        LoadSpec::Ramp { stages } => {
            let mut next = 0usize;
            let mut stage_start = t0_ns;
            for (i, stage) in stages.iter().enumerate() {
                if input.cancel.is_cancelled() || next >= input.requests.len() {
                    break;
                }
                let d = dur_ns(stage.duration);
                match stage.kind {
                    StageKind::Rate => {
                        let seed = crate::schedule::sub_seed(input.schedule_seed, i as u64);
                        let left = (input.requests.len() - next) as u64;
                        let offsets = crate::schedule::open_loop(
                            stage.value,
                            Arrival::Poisson,
                            left,
                            Some(d),
                            seed,
                        )
                        .unwrap_or_default();
                        let offsets: Vec<u64> = offsets
                            .into_iter()
                            .filter(|&o| o < d)
                            .map(|o| o + (stage_start - t0_ns))
                            .collect();
                        let sent = offsets.len();
                        let cpu = open_loop(&input, t0_ns, &offsets, next, None, &tx).await;
                        pacer_cpu_s = Some(pacer_cpu_s.unwrap_or(0.0) + cpu);
                        next += sent;
                    }
                    StageKind::Concurrency => {
                        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                        let c = stage.value.max(1.0) as u32;
                        next = closed_loop(
                            &input,
                            t0_ns,
                            c,
                            next,
                            input.requests.len(),
                            Some(stage_start + d),
                            &tx,
                        )
                        .await;
                    }
                }
                stage_start += d;
            }
        }
    }
    let end = now_ns();
    stop_probe.cancel();
    let lags = probe.await.unwrap_or_default();
    let loop_lag_ms = (!lags.is_empty()).then(|| crate::metrics::Stat::from_values(&lags).p99);
    let wall_time_s = (end - t0_ns) as f64 / 1e9;
    let cpu = process_cpu_ns().saturating_sub(cpu0) as f64 / 1e9;
    RunTiming {
        t0_ns,
        t0_wall_ns,
        wall_time_s,
        loop_lag_ms,
        pacer_cpu_s,
        cpu_utilisation: if wall_time_s > 0.0 {
            cpu / wall_time_s
        } else {
            0.0
        },
    }
}

/// All requests released together: every task waits on one gate, then sends.
async fn burst(input: &Arc<RunInput>, t0_ns: u64, tx: &mpsc::UnboundedSender<RequestRecord>) {
    let gate = CancellationToken::new();
    let mut handles = Vec::with_capacity(input.requests.len());
    for i in 0..input.requests.len() {
        let input = Arc::clone(input);
        let tx = tx.clone();
        let gate = gate.clone();
        handles.push(tokio::spawn(async move {
            gate.cancelled().await;
            let dispatch = now_ns().saturating_sub(t0_ns);
            send_one(&input, t0_ns, i, Some(0), dispatch, &tx).await;
        }));
    }
    // Let every task reach the gate before opening it.
    tokio::task::yield_now().await;
    gate.cancel();
    for h in handles {
        let _ = h.await;
    }
}

/// `concurrency` workers (at most one a request) each take the next request
/// index from one atomic counter until `end` or `deadline`. Returns the index after the last one taken.
async fn closed_loop(
    input: &Arc<RunInput>,
    t0_ns: u64,
    concurrency: u32,
    start: usize,
    end: usize,
    deadline_ns: Option<u64>,
    tx: &mpsc::UnboundedSender<RequestRecord>,
) -> usize {
    let next = Arc::new(AtomicUsize::new(start));
    let mut workers = Vec::new();
    // More workers than requests would only idle (and hold memory): at most one a request.
    let n_workers = usize::try_from(concurrency.max(1))
        .unwrap_or(usize::MAX)
        .min(end.saturating_sub(start).max(1));
    for _ in 0..n_workers {
        let input = Arc::clone(input);
        let next = Arc::clone(&next);
        let tx = tx.clone();
        workers.push(tokio::spawn(async move {
            loop {
                if input.cancel.is_cancelled() || deadline_ns.is_some_and(|d| now_ns() >= d) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= end {
                    break;
                }
                let dispatch = now_ns().saturating_sub(t0_ns);
                send_one(&input, t0_ns, i, None, dispatch, &tx).await;
            }
        }));
    }
    for w in workers {
        let _ = w.await;
    }
    next.load(Ordering::Relaxed).min(end)
}

/// Sends request `first + k` at `t0 + offsets[k]` (absolute times, no drift),
/// handed over by the pacer thread (see [`super::pace`]) at the microsecond.
/// With a concurrency cap, due requests wait for a slot; the wait is recorded
/// as the gap between `dispatch_ns` and `start_ns`. Returns the pacer's CPU time (s).
async fn open_loop(
    input: &Arc<RunInput>,
    t0_ns: u64,
    offsets: &[u64],
    first: usize,
    max_concurrency: Option<u32>,
    tx: &mpsc::UnboundedSender<RequestRecord>,
) -> f64 {
    let slots = max_concurrency.map(|c| Arc::new(Semaphore::new(c.max(1) as usize)));
    let n = offsets
        .len()
        .min(input.requests.len().saturating_sub(first));
    let due: Vec<u64> = offsets[..n].to_vec();
    let (handles_tx, mut handles_rx) = mpsc::unbounded_channel();
    let runtime = tokio::runtime::Handle::current();
    let on_due = {
        let input = Arc::clone(input);
        let tx = tx.clone();
        let due = due.clone();
        move |k: usize, at_ns: u64| {
            let i = first + k;
            let offset = due[k];
            let dispatch = at_ns.saturating_sub(t0_ns);
            let input = Arc::clone(&input);
            let tx = tx.clone();
            let slots = slots.clone();
            let handle = runtime.spawn(async move {
                let _permit = match &slots {
                    Some(s) => tokio::select! {
                        p = Arc::clone(s).acquire_owned() => p.ok(),
                        () = input.cancel.cancelled() => {
                            let _ = tx.send(cancelled_record(&input, t0_ns, i, Some(offset), dispatch));
                            return;
                        }
                    },
                    None => None,
                };
                send_one(&input, t0_ns, i, Some(offset), dispatch, &tx).await;
            });
            let _ = handles_tx.send(handle);
        }
    };
    let paced = super::pace::pace(t0_ns, due, input.cancel.clone(), on_due).await;
    // Requests never dispatched because of cancellation still get a record.
    for (k, &offset) in offsets[..n].iter().enumerate().skip(paced.handed) {
        let _ = tx.send(cancelled_record(
            input,
            t0_ns,
            first + k,
            Some(offset),
            now_ns().saturating_sub(t0_ns),
        ));
    }
    while let Some(h) = handles_rx.recv().await {
        let _ = h.await;
    }
    paced.cpu_s
}

/// Sends request `i` (all turns of a conversation, and retries per policy),
/// forwarding every attempt's record to the collector.
async fn send_one(
    input: &RunInput,
    t0_ns: u64,
    i: usize,
    scheduled_ns: Option<u64>,
    dispatch_ns: u64,
    tx: &mpsc::UnboundedSender<RequestRecord>,
) {
    let Some(first) = input.requests.get(i) else {
        return;
    };
    let mut req = first.clone();
    let turns = 1 + first.followups.len() as u32;
    let mut dispatch_ns = dispatch_ns;
    for turn in 0..turns {
        let want_text = turn + 1 < turns;
        let mut attempt = 1u32;
        let response = loop {
            let ctx = RequestContext {
                t0_ns,
                point_index: input.point_index,
                point_id: Arc::clone(&input.point_id),
                run_index: input.run_index,
                warmup: input.warmup,
                attempt,
                turn,
                scheduled_ns,
                dispatch_ns,
                request_id: request_id(input, i, turn, attempt),
                cancel: input.cancel.clone(),
            };
            let response = send_with_grace(input, &req, &ctx, want_text).await;
            match retry_delay(&input.endpoint.retry, &response.record, attempt) {
                Some(delay) if !input.cancel.is_cancelled() => {
                    let _ = tx.send(response.record);
                    tokio::select! {
                        () = tokio::time::sleep(delay) => {}
                        () = input.cancel.cancelled() => return,
                    }
                    attempt += 1;
                    dispatch_ns = now_ns().saturating_sub(t0_ns);
                }
                _ => break response,
            }
        };
        let ok = response.record.outcome.is_ok();
        let text = response.text;
        let _ = tx.send(response.record);
        if !ok || turn + 1 >= turns {
            break;
        }
        match crate::dataset::next_turn(&req, text.as_deref().unwrap_or(""), turn + 1) {
            Ok(next) => req = next,
            Err(e) => {
                tracing::warn!("conversation {i}: cannot build turn {}: {e}", turn + 1);
                break;
            }
        }
        dispatch_ns = now_ns().saturating_sub(t0_ns);
    }
}

/// Sends with the run's cancellation token, but lets an in-flight request run
/// for `grace` after cancellation before it is cut. (No task is spawned per
/// request: the grace timer runs only once the run is cancelled.)
async fn send_with_grace(
    input: &RunInput,
    req: &PreparedRequest,
    ctx: &RequestContext,
    want_text: bool,
) -> crate::client::Response {
    let inner = CancellationToken::new();
    let ctx = RequestContext {
        cancel: inner.clone(),
        ..ctx.clone()
    };
    let send = input.client.send(req, &ctx, want_text);
    tokio::pin!(send);
    tokio::select! {
        response = &mut send => return response,
        () = input.cancel.cancelled() => {}
    }
    tokio::select! {
        response = &mut send => response,
        () = tokio::time::sleep(input.grace) => {
            inner.cancel();
            send.await
        }
    }
}

/// `x-request-id`: unique per point, run, request, turn and attempt; derived, not random.
fn request_id(input: &RunInput, i: usize, turn: u32, attempt: u32) -> String {
    let kind = if input.warmup { "w" } else { "r" };
    format!(
        "{}-{kind}{}-{i}-t{turn}-a{attempt}",
        input.point_id, input.run_index
    )
}

/// The delay before the next attempt, when the policy says to retry.
fn retry_delay(policy: &RetryPolicy, record: &RequestRecord, attempt: u32) -> Option<Duration> {
    if attempt > policy.max_retries {
        return None;
    }
    let retry = match record.outcome {
        Outcome::RateLimited => policy.on_rate_limit,
        Outcome::HttpError => {
            policy.on_server_error && record.http_status.is_some_and(|s| s >= 500)
        }
        _ => false,
    };
    if !retry {
        return None;
    }
    let backoff = policy.backoff.saturating_mul(1 << (attempt - 1).min(16));
    let server = record
        .retry_after_s
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64);
    Some(server.map_or(backoff, |s| s.max(backoff)))
}

/// A record for a request that never left the client because the run was cancelled.
fn cancelled_record(
    input: &RunInput,
    t0_ns: u64,
    i: usize,
    scheduled_ns: Option<u64>,
    dispatch_ns: u64,
) -> RequestRecord {
    let req = input.requests.get(i);
    let now = now_ns().saturating_sub(t0_ns);
    RequestRecord {
        point_index: input.point_index,
        point_id: input.point_id.to_string(),
        run_index: input.run_index,
        request_index: u32::try_from(i).unwrap_or(u32::MAX),
        attempt: 1,
        request_id: request_id(input, i, 0, 1),
        warmup: input.warmup,
        model: req.map(|r| r.model.clone()).unwrap_or_default(),
        lora: req.and_then(|r| r.lora.clone()),
        scheduled_ns,
        dispatch_ns,
        start_ns: now,
        end_ns: now,
        outcome: Outcome::Cancelled,
        error: Some("run interrupted before the request was sent".into()),
        target_input_tokens: req.and_then(|r| r.target_input_tokens),
        built_input_tokens: req.and_then(|r| r.built_input_tokens),
        target_output_tokens: req.and_then(|r| r.target_output_tokens),
        max_tokens: req.and_then(|r| r.max_tokens),
        n: 1,
        items: req.map_or(1, |r| r.items),
        conversation: req.and_then(|r| r.conversation),
        prefix_group: req.and_then(|r| r.prefix_group),
        ..RequestRecord::default()
    }
}

fn dur_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// CPU time (user + system) of this process so far, in ns.
#[must_use]
pub fn process_cpu_ns() -> u64 {
    // SAFETY: getrusage writes into the zeroed struct we pass; RUSAGE_SELF is always valid.
    let usage = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u
    };
    let tv = |t: libc::timeval| {
        u64::try_from(t.tv_sec).unwrap_or(0) * 1_000_000_000
            + u64::try_from(t.tv_usec).unwrap_or(0) * 1_000
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(outcome: Outcome, status: Option<u16>, retry_after: Option<f64>) -> RequestRecord {
        RequestRecord {
            outcome,
            http_status: status,
            retry_after_s: retry_after,
            ..RequestRecord::default()
        }
    }

    #[test]
    fn no_retries_by_default() {
        let p = RetryPolicy::default();
        assert_eq!(
            retry_delay(&p, &record(Outcome::RateLimited, Some(429), None), 1),
            None
        );
    }

    #[test]
    fn retries_back_off_and_honour_retry_after() {
        let p = RetryPolicy {
            max_retries: 2,
            backoff: Duration::from_millis(100),
            on_rate_limit: true,
            on_server_error: true,
        };
        assert_eq!(
            retry_delay(&p, &record(Outcome::HttpError, Some(503), None), 1),
            Some(Duration::from_millis(100))
        );
        assert_eq!(
            retry_delay(&p, &record(Outcome::HttpError, Some(503), None), 2),
            Some(Duration::from_millis(200))
        );
        assert_eq!(
            retry_delay(&p, &record(Outcome::HttpError, Some(503), None), 3),
            None
        );
        assert_eq!(
            retry_delay(&p, &record(Outcome::HttpError, Some(404), None), 1),
            None
        );
        assert_eq!(
            retry_delay(&p, &record(Outcome::RateLimited, Some(429), Some(2.0)), 1),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            retry_delay(&p, &record(Outcome::Timeout, None, None), 1),
            None
        );
    }

    #[test]
    fn cpu_time_grows_with_work() {
        let a = process_cpu_ns();
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(process_cpu_ns() > a);
    }
}

#[cfg(test)]
mod lag_probe_tests {
    use super::*;

    #[tokio::test]
    async fn lag_probe_samples_until_stopped() {
        let stop = CancellationToken::new();
        let probe = tokio::spawn(lag_probe(stop.clone()));
        // Let it wake a few times, then stop it; it must return what it measured.
        for _ in 0..4 {
            tokio::time::sleep(LAG_PROBE_INTERVAL).await;
        }
        stop.cancel();
        let lags = probe.await.unwrap();
        assert!(!lags.is_empty());
        assert!(lags.iter().all(|l| l.is_finite() && *l >= 0.0), "{lags:?}");
    }
}
