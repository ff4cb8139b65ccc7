//! The shared batching engine task: drives [`BatchScheduler`] with the real clock.
//!
//! Handlers send an [`EngineJob`] (arrival time, prompt tokens, max tokens and a
//! token channel) over an unbounded channel. The task sleeps until the
//! scheduler's next event on an absolute timeline (a late wake-up never shifts
//! later events), processes every event due, and sends each token's virtual
//! time to its request's channel. A request whose channel is closed (client
//! gone) is dropped from the batch at its next token, freeing its slot.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::time::Instant;

use super::batch::{BatchScheduler, SeqSink};
use super::metrics::SimMetrics;
use super::timing::BatchParams;
use crate::clock::now_ns;

/// One generation request handed to the engine.
#[derive(Debug)]
pub struct EngineJob {
    /// Arrival on [`crate::clock::now_ns`].
    pub arrival_ns: u64,
    pub prompt_tokens: u32,
    pub max_tokens: u32,
    /// Receives the virtual time of each token, in order.
    pub tokens: UnboundedSender<u64>,
}

impl SeqSink for UnboundedSender<u64> {
    fn emit(&mut self, _k: u32, t_ns: u64) -> bool {
        self.send(t_ns).is_ok()
    }

    fn is_closed(&self) -> bool {
        UnboundedSender::is_closed(self)
    }
}

/// The tokio instant at which [`now_ns`] will read `t_ns` (never earlier).
fn instant_at(t_ns: u64) -> Instant {
    let now = now_ns();
    Instant::now() + Duration::from_nanos(t_ns.saturating_sub(now))
}

/// Starts the engine task; it ends when every sender is dropped.
pub fn spawn_engine(params: BatchParams, metrics: Arc<SimMetrics>) -> UnboundedSender<EngineJob> {
    let (tx, rx) = unbounded_channel();
    tokio::spawn(run(params, rx, metrics));
    tx
}

async fn run(
    params: BatchParams,
    mut jobs: UnboundedReceiver<EngineJob>,
    metrics: Arc<SimMetrics>,
) {
    let mut scheduler = BatchScheduler::new(params, now_ns());
    let sleep = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(sleep);
    let mut armed: Option<u64> = None;
    loop {
        let next = scheduler.next_event_ns();
        if next != armed {
            if let Some(t) = next {
                sleep.as_mut().reset(instant_at(t));
            }
            armed = next;
        }
        tokio::select! {
            job = jobs.recv() => {
                let Some(job) = job else { break };
                scheduler.arrive(job.arrival_ns, job.prompt_tokens, job.max_tokens, job.tokens);
                // Take whatever else is already queued in the same wake-up.
                while let Ok(job) = jobs.try_recv() {
                    scheduler.arrive(job.arrival_ns, job.prompt_tokens, job.max_tokens, job.tokens);
                }
            }
            () = &mut sleep, if next.is_some() => {
                let due = next.unwrap_or(0);
                scheduler.advance(now_ns().max(due));
            }
        }
        metrics.set_gauges(scheduler.running() as u64, scheduler.waiting() as u64);
    }
}
