//! Reading a response body as it arrives: the SSE read loop, the idle timeout
//! on body reads, and releasing the connection afterwards.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::{FutureExt, Stream, StreamExt};
use tokio::time::{Instant, Sleep};

use super::{Exchange, Failure, Flow, Received, DRAIN_LIMIT, DRAIN_WAIT};
use crate::client::sse::{SseError, TimedEventStream};
use crate::client::transport::{chain_of, ProtoError};
use crate::client::RequestContext;
use crate::clock::now_ns;
use crate::record::{Outcome, TimeoutKind};
use crate::vocab::MalformedPolicy;

/// Reads an SSE stream to its end.
pub(super) async fn read_stream<S>(
    body: IdleGuard<S>,
    limit: usize,
    policy: MalformedPolicy,
    n: u32,
    st: &mut Exchange,
    ctx: &RequestContext,
) -> Result<(), Failure>
where
    S: Stream<Item = Result<Bytes, ProtoError>> + Unpin + Send + 'static,
{
    st.received = Received::Stream;
    let mut events = TimedEventStream::new(body, limit, now_ns as fn() -> u64);
    loop {
        match events.next().await {
            Some(Ok(ev)) => {
                if let Flow::Done(at) = st.on_event(&ev, policy)? {
                    st.end = Some(st.rel(at));
                    release_connection(events, ctx).await;
                    return Ok(());
                }
            }
            Some(Err(SseError::Transport(ReadError::Idle(d)))) => {
                return Err(Failure::timeout(
                    TimeoutKind::Idle,
                    format!(
                        "no data for {d:?} after {} events (idle timeout)",
                        st.events
                    ),
                ));
            }
            Some(Err(SseError::Transport(ReadError::Body(e)))) => {
                return ended(st, n, |events| {
                    format!(
                        "the connection failed after {events} events, before the stream was complete: {}",
                        chain_of(&e)
                    )
                });
            }
            Some(Err(e @ (SseError::Oversize { .. } | SseError::Parse(_)))) => {
                return Err(Failure::new(Outcome::InvalidResponse, e.to_string()));
            }
            None => {
                return ended(st, n, |events| {
                    format!(
                        "the stream ended after {events} events without [DONE], a finish_reason \
                         for every choice, or usage"
                    )
                });
            }
        }
    }
}

/// The body ended before `[DONE]` (by its end or a failed read): the stream is
/// complete if every choice finished or usage arrived, else it was cut
/// (`why` gets the number of events read).
fn ended(st: &mut Exchange, n: u32, why: impl FnOnce(u32) -> String) -> Result<(), Failure> {
    st.end = Some(st.rel(now_ns()));
    if st.stream_complete(n) {
        return Ok(());
    }
    Err(Failure::new(Outcome::StreamCut, why(st.events)))
}

/// After `[DONE]`: reads the rest of the body so its connection can be reused.
/// Usually the body's end is already buffered or arrives within [`DRAIN_WAIT`];
/// otherwise a background task waits for it (at most [`DRAIN_LIMIT`], or until
/// the run is cancelled).
async fn release_connection<S>(mut events: S, ctx: &RequestContext)
where
    S: Stream + Unpin + Send + 'static,
{
    if let Some(None) = events.next().now_or_never() {
        return;
    }
    let ended = {
        let rest = async { while events.next().await.is_some() {} };
        tokio::time::timeout(DRAIN_WAIT, rest).await.is_ok()
    };
    if ended {
        return;
    }
    let cancel = ctx.cancel.clone();
    tokio::spawn(async move {
        let drain = async { while events.next().await.is_some() {} };
        tokio::select! {
            () = cancel.cancelled() => {}
            _ = tokio::time::timeout(DRAIN_LIMIT, drain) => {}
        }
    });
}

/// Reading a body failed.
#[derive(Debug)]
pub(in crate::client) enum ReadError {
    /// The transport failed (reset, malformed chunked encoding…).
    Body(ProtoError),
    /// No bytes for this long (the idle timeout).
    Idle(Duration),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Body(e) => f.write_str(&chain_of(e)),
            ReadError::Idle(d) => write!(f, "no data for {d:?} (idle timeout)"),
        }
    }
}

/// A body stream with an idle timeout between reads.
///
/// The timer is armed once and only re-armed when it fires early (data arrived
/// in the meantime), so a chunk costs one clock read, not a timer reset.
pub(in crate::client) struct IdleGuard<S> {
    inner: S,
    idle: Option<Duration>,
    deadline: Instant,
    sleep: Option<Pin<Box<Sleep>>>,
    done: bool,
}

impl<S> IdleGuard<S> {
    pub(super) fn new(inner: S, idle: Option<Duration>) -> Self {
        let now = Instant::now();
        IdleGuard {
            inner,
            idle,
            deadline: idle.map_or(now, |d| now + d),
            sleep: None,
            done: false,
        }
    }
}

impl<S> Stream for IdleGuard<S>
where
    S: Stream<Item = Result<Bytes, ProtoError>> + Unpin,
{
    type Item = Result<Bytes, ReadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = Pin::new(&mut this.inner).poll_next(cx) {
            if let Some(idle) = this.idle {
                this.deadline = Instant::now() + idle;
            }
            return Poll::Ready(item.map(|r| r.map_err(ReadError::Body)));
        }
        let Some(idle) = this.idle else {
            return Poll::Pending;
        };
        let deadline = this.deadline;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        loop {
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            if Instant::now() >= this.deadline {
                this.done = true;
                return Poll::Ready(Some(Err(ReadError::Idle(idle))));
            }
            sleep.as_mut().reset(this.deadline);
        }
    }
}
