//! Open-loop send times kept to tens of microseconds.
//!
//! The runtime's timer wakes tasks on a 1 ms wheel, so an open loop that sleeps
//! on it sends every request up to a millisecond late and, at high rates, sends
//! the requests due within one tick together: the server sees a burstier
//! process than the manifest declares. The pacer instead runs on its own OS
//! thread and, for every request due at `t0 + offset`:
//!
//! 1. sleeps (`nanosleep`, with this thread's timer slack set to 1 ns) until
//!    [`SPIN_WINDOW`] before the due time, when that is still ahead;
//! 2. then spins on the monotonic clock, yielding the CPU between reads, until
//!    the due time;
//! 3. hands the request to the runtime (`Handle::spawn`) at once.
//!
//! The window covers the sleep's overshoot on a shared virtual machine (about
//! 35 µs at the median, 100 µs at p99 measured here), so a request leaves
//! within tens of microseconds of its time unless the machine is saturated.
//! The cost is CPU: the spin holds up to the window per request — about a
//! tenth of a core at 1,000 requests/s, a third at 5,000, and the whole
//! window whenever requests are due less than a window apart; yielding between
//! clock reads lets the runtime's workers run on that core whenever they have
//! work.
//! `bench-client --arrival` measures both the precision and the cost.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::clock::now_ns;

/// How long before a due time the pacer stops sleeping and starts spinning
/// (above the p99 of the sleep's overshoot measured here).
pub const SPIN_WINDOW: Duration = Duration::from_micros(150);

/// What the pacer did.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Paced {
    /// Requests handed over (all of them unless cancelled).
    pub handed: usize,
    /// CPU time the pacer thread used, in seconds (its sleeping costs none).
    pub cpu_s: f64,
}

/// Calls `on_due(k, dispatch_ns)` at `t0_ns + offsets[k]` for every `k`, in
/// order, on a dedicated thread; `dispatch_ns` is the clock read that found the
/// request due (≥ its due time). Stops early when `cancel` fires. Returns when
/// the thread is done.
pub async fn pace<F>(t0_ns: u64, offsets: Vec<u64>, cancel: CancellationToken, on_due: F) -> Paced
where
    F: FnMut(usize, u64) + Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("tokenomics-pacer".into())
        .spawn(move || {
            let handed = run(t0_ns, &offsets, &cancel, on_due);
            let _ = tx.send(Paced {
                handed,
                cpu_s: thread_cpu_s(),
            });
        });
    match spawned {
        Ok(_) => rx.await.unwrap_or_default(),
        Err(e) => {
            tracing::error!("cannot start the open-loop pacer thread: {e}");
            Paced::default()
        }
    }
}

/// CPU time of the calling thread, in seconds.
fn thread_cpu_s() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0.0;
    }
    #[allow(clippy::cast_precision_loss)]
    let s = ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9;
    s
}

fn run<F: FnMut(usize, u64)>(
    t0_ns: u64,
    offsets: &[u64],
    cancel: &CancellationToken,
    mut on_due: F,
) -> usize {
    fine_timer_slack();
    let spin = u64::try_from(SPIN_WINDOW.as_nanos()).unwrap_or(u64::MAX);
    for (k, &offset) in offsets.iter().enumerate() {
        let due = t0_ns.saturating_add(offset);
        loop {
            if cancel.is_cancelled() {
                return k;
            }
            let now = now_ns();
            if now >= due {
                on_due(k, now);
                break;
            }
            let left = due - now;
            if left > spin {
                // Sleep in slices of at most 50 ms, so cancellation is seen promptly.
                let nap = (left - spin).min(50_000_000);
                std::thread::sleep(Duration::from_nanos(nap));
            } else {
                std::thread::yield_now();
            }
        }
    }
    offsets.len()
}

/// Asks the kernel to wake this thread's sleeps on time rather than batching
/// them (the default slack on Linux is 50 µs).
fn fine_timer_slack() {
    // SAFETY: PR_SET_TIMERSLACK takes a plain integer and affects only this thread.
    let rc = unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1, 0, 0, 0) };
    if rc != 0 {
        tracing::debug!(
            "pacer: timer slack unchanged: {}",
            std::io::Error::last_os_error()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_request_is_handed_over_in_order_and_never_early() {
        let t0 = now_ns() + 1_000_000;
        let offsets: Vec<u64> = (0..50).map(|k| k * 200_000).collect();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let paced = pace(
            t0,
            offsets.clone(),
            CancellationToken::new(),
            move |k, at| {
                let _ = tx.send((k, at));
            },
        )
        .await;
        assert_eq!(paced.handed, 50);
        assert!(paced.cpu_s > 0.0 && paced.cpu_s < 10.0, "{paced:?}");
        let mut seen = Vec::new();
        while let Some(x) = rx.recv().await {
            seen.push(x);
        }
        assert_eq!(
            seen.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            (0..50).collect::<Vec<_>>()
        );
        for (k, at) in seen {
            assert!(
                at >= t0 + offsets[k],
                "request {k} handed over before its time"
            );
        }
    }

    #[tokio::test]
    async fn cancellation_stops_the_pacer() {
        let cancel = CancellationToken::new();
        cancel.cancel();
        let paced = pace(now_ns(), vec![0, 10_000_000_000], cancel, |_, _| {}).await;
        assert_eq!(paced.handed, 0);
    }
}
