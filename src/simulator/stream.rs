//! The body of a streamed generation: a hand-written `Stream` of SSE bytes.
//!
//! The stream is polled by the connection's own task, so a streamed request
//! costs no extra task: with Fixed timing it sleeps until each token's absolute
//! deadline `arrival + ttft + k·itl`; with Batching timing it waits for the
//! engine's token messages. Each yielded chunk is stamped with
//! [`crate::clock::now_ns`] as it is handed to the connection.
//!
//! Faults act at the half-way step `h = ⌊max_tokens / 2⌋`:
//! * `stream_cut`: when token `h` is due, the body ends with an error instead
//!   (tokens `0..h` were sent; no `[DONE]`), and the connection is closed.
//!   The stream first yields once so that hyper flushes the tokens already sent;
//! * `malformed_event`: `data: {not json` is sent just before token `h`;
//! * `stall`: token `h` and every later token are delayed by `stall_for`
//!   (Fixed: the deadlines of steps `≥ h` move by `stall_for`; Batching: the
//!   stream stops reading the engine for `stall_for` before token `h`, then
//!   delivers what queued up).

use std::future::Future as _;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::{Instant, Sleep};

use super::log::Recorder;
use super::metrics::{RunningGuard, SimMetrics};
use super::sse::{SseFormat, Tail, Timings};
use super::timing::fixed_token_offset;
use crate::clock::now_ns;
use crate::vocab::FaultKind;

/// The error that ends a body early (the connection is then closed).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BodyError(pub &'static str);

/// Where a stream's tokens come from.
pub enum TokenSource {
    /// Per-request schedule: token `k` at `arrival + ttft + k·itl`.
    Fixed {
        arrival: Instant,
        ttft: Duration,
        itl: Duration,
    },
    /// The batching engine's token messages.
    Engine(UnboundedReceiver<u64>),
}

/// Everything a generation needs besides its token source.
pub struct GenPlan {
    pub format: SseFormat,
    pub max_tokens: u32,
    pub n: u32,
    pub prompt_tokens: u32,
    /// When the request arrived ([`crate::clock::now_ns`]); the start of the
    /// simulator's own `timings`.
    pub arrival_ns: u64,
    /// Send the usage-only chunk.
    pub include_usage: bool,
    pub fault: Option<FaultKind>,
    pub stall_for: Duration,
}

impl GenPlan {
    /// The half-way step where faults act.
    #[must_use]
    pub fn half(&self) -> u32 {
        self.max_tokens / 2
    }

    /// True when `fault` is set and acts at step `k`.
    #[must_use]
    pub fn fault_at(&self, fault: FaultKind, k: u32) -> bool {
        self.fault == Some(fault) && k == self.half()
    }

    /// Extra delay of step `k` from the stall fault.
    #[must_use]
    pub fn stall_before(&self, k: u32) -> Duration {
        if self.fault == Some(FaultKind::Stall) && k >= self.half() {
            self.stall_for
        } else {
            Duration::ZERO
        }
    }
}

enum Phase {
    Start,
    Tokens,
    /// Yielded once so the connection flushes what was sent; fails next.
    Cut,
    Finished,
}

/// Yields `Pending` once after waking itself: hyper flushes its write buffer
/// before polling the body again. Without it, an error in the same poll as
/// earlier data would close the connection with that data still unsent.
fn flush_point(cx: &mut Context<'_>) -> Poll<()> {
    cx.waker().wake_by_ref();
    Poll::Pending
}

/// A JSON body cut by the `stream_cut` fault: `data` is sent, the connection
/// flushes it, then the body fails and the connection is closed.
pub struct CutBody {
    data: Option<Bytes>,
    flushed: bool,
}

impl CutBody {
    /// A body that sends `data` and then fails.
    #[must_use]
    pub fn new(data: Bytes) -> CutBody {
        CutBody {
            data: Some(data),
            flushed: false,
        }
    }
}

impl Stream for CutBody {
    type Item = Result<Bytes, BodyError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(data) = self.data.take() {
            return Poll::Ready(Some(Ok(data)));
        }
        if !self.flushed {
            self.flushed = true;
            return flush_point(cx).map(|()| None);
        }
        Poll::Ready(Some(Err(BodyError("body cut (injected fault)"))))
    }
}

/// The SSE body of one streamed generation.
pub struct GenStream {
    plan: GenPlan,
    source: TokenSource,
    phase: Phase,
    /// The next step to send.
    k: u32,
    /// The step the sleep is set for (Fixed), or the stall sleep (Engine).
    sleep: Option<(u32, Pin<Box<Sleep>>)>,
    stalled: bool,
    /// When the first token was sent (for the `timings`).
    first_token_ns: Option<u64>,
    recorder: Recorder,
    metrics: Arc<SimMetrics>,
    _running: Option<RunningGuard>,
}

impl GenStream {
    /// A stream that starts with the role chunk (chat) and ends with `[DONE]`.
    #[must_use]
    pub fn new(
        plan: GenPlan,
        source: TokenSource,
        recorder: Recorder,
        metrics: Arc<SimMetrics>,
        running: Option<RunningGuard>,
    ) -> GenStream {
        GenStream {
            plan,
            source,
            phase: Phase::Start,
            k: 0,
            sleep: None,
            stalled: false,
            first_token_ns: None,
            recorder,
            metrics,
            _running: running,
        }
    }

    /// Waits until step `self.k` may be sent.
    fn poll_token(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BodyError>> {
        let k = self.k;
        match &mut self.source {
            TokenSource::Fixed { arrival, ttft, itl } => {
                let deadline =
                    *arrival + fixed_token_offset(*ttft, *itl, k) + self.plan.stall_before(k);
                match &mut self.sleep {
                    Some((armed, _)) if *armed == k => {}
                    Some((armed, sleep)) => {
                        sleep.as_mut().reset(deadline);
                        *armed = k;
                    }
                    None => self.sleep = Some((k, Box::pin(tokio::time::sleep_until(deadline)))),
                }
                if let Some((_, sleep)) = &mut self.sleep {
                    ready!(sleep.as_mut().poll(cx));
                }
                Poll::Ready(Ok(()))
            }
            TokenSource::Engine(rx) => {
                if !self.stalled && self.plan.fault_at(FaultKind::Stall, k) {
                    let sleep = self.sleep.get_or_insert_with(|| {
                        (k, Box::pin(tokio::time::sleep(self.plan.stall_for)))
                    });
                    ready!(sleep.1.as_mut().poll(cx));
                    self.stalled = true;
                    self.sleep = None;
                }
                match ready!(rx.poll_recv(cx)) {
                    Some(_virtual_ns) => Poll::Ready(Ok(())),
                    None => Poll::Ready(Err(BodyError("the batching engine stopped"))),
                }
            }
        }
    }
}

impl Stream for GenStream {
    type Item = Result<Bytes, BodyError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            match this.phase {
                Phase::Start => {
                    this.phase = Phase::Tokens;
                    let role = this.plan.format.role();
                    if !role.is_empty() {
                        this.recorder.first_byte(now_ns());
                        return Poll::Ready(Some(Ok(role)));
                    }
                }
                Phase::Tokens => {
                    if let Err(e) = ready!(this.poll_token(cx)) {
                        this.phase = Phase::Finished;
                        return Poll::Ready(Some(Err(e)));
                    }
                    let k = this.k;
                    if this.plan.fault_at(FaultKind::StreamCut, k) {
                        this.phase = Phase::Cut;
                        return flush_point(cx).map(|()| None);
                    }
                    let last = k + 1 >= this.plan.max_tokens;
                    let t = now_ns();
                    let first = *this.first_token_ns.get_or_insert(t);
                    let tail = if last {
                        let plan = &this.plan;
                        let completion = u64::from(plan.max_tokens) * u64::from(plan.n);
                        let prompt = u64::from(plan.prompt_tokens);
                        Tail::Last {
                            usage: plan.include_usage.then_some((prompt, completion)),
                            timings: Timings::from_instants(
                                prompt,
                                u64::from(plan.max_tokens),
                                plan.arrival_ns,
                                first,
                                t,
                            ),
                        }
                    } else {
                        Tail::More
                    };
                    let malformed = this.plan.fault_at(FaultKind::MalformedEvent, k);
                    let bytes = this.plan.format.step(k, malformed, tail);
                    this.recorder.first_byte(t);
                    this.recorder.token(t);
                    this.metrics.add_generation_tokens(u64::from(this.plan.n));
                    this.k += 1;
                    if last {
                        this.phase = Phase::Finished;
                        this.recorder.completed();
                    }
                    return Poll::Ready(Some(Ok(bytes)));
                }
                Phase::Cut => {
                    this.phase = Phase::Finished;
                    return Poll::Ready(Some(Err(BodyError("stream cut (injected fault)"))));
                }
                Phase::Finished => return Poll::Ready(None),
            }
        }
    }
}
