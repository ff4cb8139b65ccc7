//! One exchange: send, read, time-stamp, classify → [`RequestRecord`].
//!
//! # Timestamps
//! All on [`crate::clock::now_ns`], stored as ns since the run's `t0`:
//! `start_ns` just before the request is handed to the HTTP stack (connection
//! set-up included: when the request had to open its connection, the time it
//! took is `connect_ms`); `first_byte_ns` when the response headers are parsed;
//! `first_chunk_ns` at the first SSE event of any kind (`[DONE]` excluded);
//! `first_token_ns` (TTFT) at the first event with non-empty generated text in any
//! choice, reasoning included; `first_output_ns` (TTFO) at the first with
//! non-empty output text; `chunk_ns` gets every such content event;
//! `last_token_ns` is the last one. Event times are the arrival of the network
//! read that completed the event (see [`super::sse`]); parse errors never move
//! them. `end_ns` is the arrival of `[DONE]`, the end of the stream, the end of
//! parsing a non-streamed body, or the moment a failure was noticed. A
//! non-streamed response has no TTFT.
//!
//! Whether a response is streamed is decided by its `Content-Type`
//! (`text/event-stream`), not by the request: a server that answers a streaming
//! request with plain JSON (or an error) is still read correctly.
//!
//! # Outcomes
//! * `ok`: 2xx and complete. A stream is complete at `[DONE]`, or at its end
//!   (EOF, or a reset after all data) once every choice (`n`) sent a
//!   `finish_reason` or a non-empty `usage` chunk arrived.
//! * `http_error` / `rate_limited`: non-2xx; `error` is the status line and an
//!   excerpt of the body (≤ 512 characters); 429's `Retry-After` (seconds or an
//!   HTTP date) goes into `retry_after_s`.
//! * `timeout`: `total` (the whole exchange), `connect` (reqwest's connect
//!   timeout), `first_byte` (sending → response headers), `idle` (longest gap
//!   between two reads of the body).
//! * `connect_error`: no response at all: refused, DNS, TLS, or the connection
//!   closed before any response headers; `error` is the transport's error chain.
//!   A pooled connection that closed before any response byte is first replaced
//!   once by a fresh one (`reconnects`; see [`super::transport`]).
//! * `stream_cut`: the body ended or failed before the stream was complete, or
//!   inside its last event.
//! * `malformed_event`: an event's data was not a JSON object and the policy is
//!   `fail` (with `skip` it is counted in `malformed_events` and ignored).
//! * `invalid_response`: an SSE `error` event, a JSON error object in the
//!   stream or in a 2xx body, an event or body over `max_event_bytes`, a body
//!   that is not the API's JSON, or a pooling response with the wrong number of
//!   items or dimension.
//! * `cancelled`: the run's cancel token fired (checked before sending and raced
//!   against every step).
//!
//! # Tokens
//! Usage first: the latest non-empty `usage` gives `input_tokens`
//! (`prompt_tokens`) and `output_tokens` (`completion_tokens`), source `usage`.
//! Without it: input is the scenario's target (`target_input_tokens`, else
//! `built_input_tokens`; source `target`); output is the number of content
//! events for a stream (source `chunk_count`, also stored in
//! `client_output_tokens`), or `int(words × 1.3)` of the generated text for a
//! non-streamed body (source `estimate`). Pooling requests take input from
//! `usage.prompt_tokens` (else `total_tokens`), else `built_input_tokens`
//! (else the target), source `target`; they have no output tokens. A request
//! that received nothing has no counts (source `none`).
//!
//! # Server timings
//! The last `timings` object the server sent (llama.cpp puts one on the last
//! event of a stream and in a whole body) fills `server_prefill_ms`
//! (`prompt_ms`), `server_decode_ms` (`predicted_ms`) and
//! `server_cached_tokens` (`cache_n`); servers that send none leave them null.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures::{FutureExt, Stream, StreamExt};
use http::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use tokio::time::{Instant, Sleep};

use super::openai::{parse_body, parse_chunk, ChunkInfo, ServerTimings, TextAcc, UsageCounts};
use super::pooling::{self, PoolingOutcome};
use super::sse::{SseError, TimedEvent, TimedEventStream};
use super::transport::{chain_of, join_chain, ConnUse, Outgoing, SendError};
use super::{HttpClient, RequestContext, Response};
use crate::clock::now_ns;
use crate::dataset::PreparedRequest;
use crate::record::{Outcome, RequestRecord, TimeoutKind, TokenSource};
use crate::vocab::{ApiKind, MalformedPolicy};

/// Longest time spent, after `[DONE]`, reading the rest of a body so that its
/// connection can go back to the pool (in a background task, off the record).
const DRAIN_LIMIT: Duration = Duration::from_secs(2);

/// How long the request itself waits, after `[DONE]`, for the end of the body
/// (usually buffered already or microseconds away) before leaving the rest to
/// a background task: long enough that a closed loop's next request finds the
/// connection back in the pool, short enough never to matter to a load.
/// `end_ns` is taken at `[DONE]`, before this wait.
const DRAIN_WAIT: Duration = Duration::from_millis(10);

/// Bytes of a non-2xx body read for the error excerpt (enough for 512 characters).
const ERROR_BODY_BYTES: usize = 4 * super::ERROR_EXCERPT_CHARS;

/// How a request failed.
#[derive(Debug)]
struct Failure {
    outcome: Outcome,
    timeout_kind: Option<TimeoutKind>,
    cause: String,
    retry_after_s: Option<f64>,
}

impl Failure {
    fn new(outcome: Outcome, cause: String) -> Self {
        Failure {
            outcome,
            timeout_kind: None,
            cause,
            retry_after_s: None,
        }
    }

    fn timeout(kind: TimeoutKind, cause: String) -> Self {
        Failure {
            timeout_kind: Some(kind),
            ..Failure::new(Outcome::Timeout, cause)
        }
    }
}

/// What the response delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Received {
    /// No response body was read.
    Nothing,
    /// An SSE stream (possibly cut).
    Stream,
    /// A complete non-streamed generation body.
    Body,
    /// A complete pooling body.
    Pooling,
}

/// Everything measured during one exchange. Times are ns since `t0`.
struct Exchange {
    t0: u64,
    start: u64,
    first_byte: Option<u64>,
    first_chunk: Option<u64>,
    first_token: Option<u64>,
    first_output: Option<u64>,
    last_token: Option<u64>,
    end: Option<u64>,
    chunk_ns: Vec<u64>,
    events: u32,
    content_events: u32,
    malformed: u32,
    output_chars: u32,
    finished_choices: u32,
    usage: Option<UsageCounts>,
    /// The last `timings` the server sent (llama.cpp).
    timings: Option<ServerTimings>,
    acc: TextAcc,
    http_status: Option<u16>,
    received: Received,
    pooling: Option<PoolingOutcome>,
    /// Which connection the request went on (filled as the transport goes).
    conn: ConnUse,
    /// Scrubbed from every excerpt before it is cut (see [`super::Secrets`]).
    secrets: super::Secrets,
    /// Most content events the request may receive ([`max_content_events`]).
    max_events: u32,
}

/// Content events beyond which a stream is longer than its request allows:
/// `max_tokens × n × 1.1 + 16` (a server may split a token across events, or
/// send a few more than asked), with `max_tokens` = the scenario limit when the
/// body sets none. A longer stream ends as `invalid_response`, so a server that
/// ignores `max_tokens` cannot grow a record without bound.
#[must_use]
pub fn max_content_events(max_tokens: Option<u32>, n: u32) -> u32 {
    let asked =
        u64::from(max_tokens.unwrap_or(crate::vocab::workload::MAX_TOKENS)) * u64::from(n.max(1));
    u32::try_from(asked + asked / 10 + 16).unwrap_or(u32::MAX)
}

/// What to do after an event.
enum Flow {
    Continue,
    /// `[DONE]` arrived at this time (absolute ns).
    Done(u64),
}

impl Exchange {
    fn rel(&self, abs: u64) -> u64 {
        abs.saturating_sub(self.t0)
    }

    /// Folds one SSE event into the measurement (the per-token hot path).
    fn on_event(&mut self, ev: &TimedEvent, policy: MalformedPolicy) -> Result<Flow, Failure> {
        let data = ev.event.data.as_bytes();
        let trimmed = data.trim_ascii();
        if trimmed == b"[DONE]" {
            if self.events == 0 {
                return Err(Failure::new(
                    Outcome::InvalidResponse,
                    "the stream ended with [DONE] before any chunk".to_string(),
                ));
            }
            return Ok(Flow::Done(ev.at_ns));
        }
        let at = self.rel(ev.at_ns);
        self.events += 1;
        if self.first_chunk.is_none() {
            self.first_chunk = Some(at);
        }
        if ev.event.event == "error" {
            return Err(Failure::new(
                Outcome::InvalidResponse,
                format!(
                    "the server sent an SSE `error` event: {}",
                    self.secrets.excerpt(data)
                ),
            ));
        }
        if trimmed.is_empty() {
            return Ok(Flow::Continue);
        }
        match parse_chunk(&ev.event.data, &mut self.acc) {
            Ok(info) => self.on_chunk(&info, at),
            Err(e) => {
                if ev.completed_at_eof {
                    return Err(Failure::new(
                        Outcome::StreamCut,
                        format!(
                            "the stream ended inside an event after {} events ({e}): {}",
                            self.events - 1,
                            self.secrets.excerpt(data)
                        ),
                    ));
                }
                self.malformed += 1;
                if policy == MalformedPolicy::Fail {
                    return Err(Failure::new(
                        Outcome::MalformedEvent,
                        format!(
                            "event {} is not a valid JSON chunk ({e}): {}",
                            self.events,
                            self.secrets.excerpt(data)
                        ),
                    ));
                }
                Ok(Flow::Continue)
            }
        }
    }

    fn on_chunk(&mut self, info: &ChunkInfo, at: u64) -> Result<Flow, Failure> {
        if let Some(err) = &info.error {
            return Err(Failure::new(
                Outcome::InvalidResponse,
                format!(
                    "the stream carried an error object: {}",
                    self.secrets.excerpt(err.as_bytes())
                ),
            ));
        }
        if info.has_text {
            if self.content_events >= self.max_events {
                return Err(Failure::new(
                    Outcome::InvalidResponse,
                    format!(
                        "the stream sent more than {} content events, more than its request allows (max_tokens × n × 1.1 + 16); the server may ignore max_tokens",
                        self.max_events
                    ),
                ));
            }
            self.content_events += 1;
            if self.first_token.is_none() {
                self.first_token = Some(at);
            }
            self.last_token = Some(at);
            self.chunk_ns.push(at);
            self.output_chars = self.output_chars.saturating_add(info.chars);
        }
        if info.has_output && self.first_output.is_none() {
            self.first_output = Some(at);
        }
        self.finished_choices += info.finished;
        if info.usage.is_some() {
            self.usage.clone_from(&info.usage);
        }
        if info.timings.is_some() {
            self.timings = info.timings;
        }
        Ok(Flow::Continue)
    }

    /// A stream may end without `[DONE]` once every choice finished or usage arrived.
    fn stream_complete(&self, n: u32) -> bool {
        self.usage.is_some() || self.finished_choices >= n.max(1)
    }
}

/// Sends one request; see the module docs.
pub(super) async fn send(
    client: &HttpClient,
    req: &PreparedRequest,
    ctx: &RequestContext,
    want_text: bool,
) -> Response {
    let endpoint = &client.endpoint;
    let n = body_n(&req.body);
    let generates = endpoint.api.generates();
    let capacity = req
        .max_tokens
        .map_or(256, |m| (m as usize).saturating_mul(n as usize))
        .clamp(16, 1 << 16);
    let mut st = Exchange {
        t0: ctx.t0_ns,
        start: 0,
        first_byte: None,
        first_chunk: None,
        first_token: None,
        first_output: None,
        last_token: None,
        end: None,
        chunk_ns: if generates {
            Vec::with_capacity(capacity)
        } else {
            Vec::new()
        },
        events: 0,
        content_events: 0,
        malformed: 0,
        output_chars: 0,
        finished_choices: 0,
        usage: None,
        timings: None,
        acc: TextAcc::new(want_text, false),
        http_status: None,
        received: Received::Nothing,
        pooling: None,
        conn: ConnUse::default(),
        secrets: client.secrets.clone(),
        max_events: max_content_events(req.max_tokens, n),
    };

    // The request's start, and the origin of the total timeout: both taken at
    // the same instant, so the timeout never fires before `start + total` even
    // when the thread is descheduled in between (building the request inside
    // `exchange` takes microseconds and is part of handing it to the HTTP stack).
    st.start = st.rel(now_ns());
    let total = endpoint.timeouts.total;
    let deadline = tokio::time::Instant::now() + total;
    let result = if ctx.cancel.is_cancelled() {
        Err(cancelled())
    } else {
        let outcome = tokio::select! {
            biased;
            () = ctx.cancel.cancelled() => Err(cancelled()),
            r = tokio::time::timeout_at(deadline, exchange(client, req, ctx, n, &mut st)) => match r {
                Ok(r) => r,
                Err(_) => Err(Failure::timeout(
                    TimeoutKind::Total,
                    format!("the request did not finish within {total:?} (total timeout)"),
                )),
            },
        };
        outcome
    };
    let noticed = st.rel(now_ns());
    finish(client, req, ctx, st, result, noticed, n, want_text)
}

fn cancelled() -> Failure {
    Failure::new(
        Outcome::Cancelled,
        "the run was cancelled while the request was in flight".to_string(),
    )
}

/// The HTTP exchange proper; fills `st` as it goes, so a timeout or
/// cancellation that drops this future keeps what was measured so far.
async fn exchange(
    client: &HttpClient,
    req: &PreparedRequest,
    ctx: &RequestContext,
    n: u32,
    st: &mut Exchange,
) -> Result<(), Failure> {
    let endpoint = &*client.endpoint;
    let url = join_url(&client.base_url, &req.path);
    let uri = reqwest::Url::parse(&url)
        .ok()
        .and_then(|u| u[url::Position::BeforePath..].parse::<http::Uri>().ok())
        .ok_or_else(|| {
            Failure::new(
                Outcome::ConnectError,
                format!("the request could not be built: `{url}` is not a valid URL"),
            )
        })?;
    let mut headers = client.headers.clone();
    headers
        .entry(ACCEPT)
        .or_insert(http::HeaderValue::from_static("*/*"));
    headers.insert(
        CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    if let Ok(id) = http::HeaderValue::from_str(&ctx.request_id) {
        headers.insert("x-request-id", id);
    }
    // The path is appended to the base URL, so the request stays on the
    // endpoint's origin and may carry the key.
    for (name, value) in client.secrets.headers.iter() {
        headers.insert(name.clone(), value.clone());
    }
    let out = Outgoing {
        method: http::Method::POST,
        uri,
        headers,
        body: req.body.clone(),
    };

    let sending = client.transport.send(&out, &mut st.conn);
    let sent = match endpoint.timeouts.first_byte {
        Some(limit) => match tokio::time::timeout(limit, sending).await {
            Ok(r) => r,
            Err(_) => {
                return Err(Failure::timeout(
                    TimeoutKind::FirstByte,
                    format!("no response headers within {limit:?} (first_byte timeout)"),
                ))
            }
        },
        None => sending.await,
    };
    let resp = sent.map_err(|e| classify_send_error(&e, client, st.conn))?;
    st.first_byte = Some(st.rel(now_ns()));

    let status = resp.status();
    st.http_status = Some(status.as_u16());
    let idle = endpoint.timeouts.idle;
    if !status.is_success() {
        let retry_after_s = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let mut body = IdleGuard::new(body_stream(resp), idle);
        let prefix = read_prefix(&mut body, ERROR_BODY_BYTES).await;
        let cause = format!("HTTP {status}: {}", client.secrets.excerpt(&prefix));
        return Err(if status.as_u16() == 429 {
            Failure {
                retry_after_s,
                ..Failure::new(Outcome::RateLimited, cause)
            }
        } else {
            Failure::new(Outcome::HttpError, cause)
        });
    }

    let is_sse = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("text/event-stream")
        });
    let content_length = resp
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let body = IdleGuard::new(body_stream(resp), idle);
    let limit = endpoint.max_event_bytes;

    if endpoint.api.generates() && is_sse {
        return read_stream(body, limit, endpoint.malformed, n, st, ctx).await;
    }

    let bytes = read_all(body, limit, content_length).await?;
    match endpoint.api {
        ApiKind::Chat | ApiKind::Completions => {
            st.acc.words = Some(super::openai::WordCounter::default());
            let parsed = parse_body(&bytes, &mut st.acc);
            st.end = Some(st.rel(now_ns()));
            let info = parsed.map_err(|e| {
                Failure::new(
                    Outcome::InvalidResponse,
                    format!(
                        "the response body is not a valid completion ({e}): {}",
                        client.secrets.excerpt(&bytes)
                    ),
                )
            })?;
            if let Some(err) = info.error {
                return Err(Failure::new(
                    Outcome::InvalidResponse,
                    format!(
                        "the server answered with an error object: {}",
                        client.secrets.excerpt(err.as_bytes())
                    ),
                ));
            }
            if !info.has_choices {
                return Err(Failure::new(
                    Outcome::InvalidResponse,
                    format!(
                        "the response has no `choices`: {}",
                        client.secrets.excerpt(&bytes)
                    ),
                ));
            }
            st.received = Received::Body;
            st.output_chars = info.chars;
            st.finished_choices = info.finished;
            st.usage = info.usage;
            st.timings = info.timings;
            Ok(())
        }
        ApiKind::Embeddings | ApiKind::Rerank | ApiKind::Score => {
            let out = match endpoint.api {
                ApiKind::Embeddings => {
                    pooling::parse_embeddings(&bytes, req.items, endpoint.embedding_dim)
                }
                ApiKind::Rerank => pooling::parse_rerank(&bytes, req.items),
                _ => pooling::parse_score(&bytes, req.items),
            };
            st.end = Some(st.rel(now_ns()));
            st.received = Received::Pooling;
            let problem = out.problem.clone();
            st.usage = out.usage.clone();
            st.pooling = Some(out);
            match problem {
                Some(p) => Err(Failure::new(Outcome::InvalidResponse, p)),
                None => Ok(()),
            }
        }
    }
}

/// Reads an SSE stream to its end.
async fn read_stream<S>(
    body: IdleGuard<S>,
    limit: usize,
    policy: MalformedPolicy,
    n: u32,
    st: &mut Exchange,
    ctx: &RequestContext,
) -> Result<(), Failure>
where
    S: Stream<Item = Result<Bytes, hyper::Error>> + Unpin + Send + 'static,
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
                st.end = Some(st.rel(now_ns()));
                if st.stream_complete(n) {
                    return Ok(());
                }
                return Err(Failure::new(
                    Outcome::StreamCut,
                    format!(
                        "the connection failed after {} events, before the stream was complete: {}",
                        st.events,
                        chain_of(&e)
                    ),
                ));
            }
            Some(Err(e @ (SseError::Oversize { .. } | SseError::Parse(_)))) => {
                return Err(Failure::new(Outcome::InvalidResponse, e.to_string()));
            }
            None => {
                st.end = Some(st.rel(now_ns()));
                if st.stream_complete(n) {
                    return Ok(());
                }
                return Err(Failure::new(
                    Outcome::StreamCut,
                    format!(
                        "the stream ended after {} events without [DONE], a finish_reason for \
                         every choice, or usage",
                        st.events
                    ),
                ));
            }
        }
    }
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

/// Reads a whole non-streamed body, at most `limit` bytes.
async fn read_all<S>(
    mut body: IdleGuard<S>,
    limit: usize,
    content_length: Option<u64>,
) -> Result<Vec<u8>, Failure>
where
    S: Stream<Item = Result<Bytes, hyper::Error>> + Unpin,
{
    let too_big = |size: u64| {
        Failure::new(
            Outcome::InvalidResponse,
            format!(
                "the response body ({size} bytes or more) is larger than max_event_bytes ({limit})"
            ),
        )
    };
    if let Some(len) = content_length {
        if len > limit as u64 {
            return Err(too_big(len));
        }
    }
    let cap = content_length.map_or(8 * 1024, |l| usize::try_from(l).unwrap_or(limit));
    let mut buf = Vec::with_capacity(cap.min(limit));
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(c) => {
                if buf.len() + c.len() > limit {
                    return Err(too_big((buf.len() + c.len()) as u64));
                }
                buf.extend_from_slice(&c);
            }
            Err(ReadError::Idle(d)) => {
                return Err(Failure::timeout(
                    TimeoutKind::Idle,
                    format!("no data for {d:?} while reading the response body (idle timeout)"),
                ))
            }
            Err(ReadError::Body(e)) => {
                return Err(Failure::new(
                    Outcome::StreamCut,
                    format!(
                        "the connection failed while reading the response body after {} bytes: {}",
                        buf.len(),
                        chain_of(&e)
                    ),
                ))
            }
        }
    }
    Ok(buf)
}

/// Reads up to `max` bytes of a body, best effort (for error excerpts).
async fn read_prefix<S>(body: &mut IdleGuard<S>, max: usize) -> Vec<u8>
where
    S: Stream<Item = Result<Bytes, hyper::Error>> + Unpin,
{
    let mut buf = Vec::new();
    while buf.len() < max {
        match body.next().await {
            Some(Ok(c)) => buf.extend_from_slice(&c[..c.len().min(max - buf.len())]),
            _ => break,
        }
    }
    buf
}

/// Builds the record from what was measured.
#[allow(clippy::too_many_arguments)]
fn finish(
    client: &HttpClient,
    req: &PreparedRequest,
    ctx: &RequestContext,
    st: Exchange,
    result: Result<(), Failure>,
    noticed: u64,
    n: u32,
    want_text: bool,
) -> Response {
    let (outcome, timeout_kind, error, retry_after_s) = match result {
        Ok(()) => (Outcome::Ok, None, None, None),
        Err(f) => (
            f.outcome,
            f.timeout_kind,
            Some(client.scrub(f.cause)),
            f.retry_after_s,
        ),
    };
    let end_ns = if outcome.is_ok() {
        st.end.unwrap_or(noticed)
    } else {
        noticed
    };

    let target_input = req.target_input_tokens.or(req.built_input_tokens);
    let mut usage = st.usage.unwrap_or_default();
    // Usage that cannot be right is kept as the server wrote it (the note and
    // the raw server counts), but never feeds the headline counts, which fall
    // back to what the client counted.
    let limit = max_content_events(req.max_tokens, n);
    let mut usage_note = usage.implausible.clone();
    if usage.completion.is_some_and(|c| c > limit) {
        usage_note.get_or_insert_with(|| {
            format!(
                "completion_tokens = {}, more than max_tokens × n allows",
                usage.completion.unwrap_or_default()
            )
        });
    }
    if usage
        .prompt
        .is_some_and(|p| u64::from(p) > 4 * u64::from(crate::vocab::workload::MAX_TOKENS))
    {
        usage_note
            .get_or_insert_with(|| format!("prompt_tokens = {}", usage.prompt.unwrap_or_default()));
    }
    let server_counts = (usage.prompt, usage.completion);
    if let Some(note) = &usage_note {
        tracing::warn!(
            "request {}: implausible usage ({note}); using the client's counts",
            ctx.request_id
        );
        usage.prompt = None;
        usage.completion = None;
        usage.total = None;
    }
    let (input_tokens, input_token_source) = match (st.received, usage.prompt) {
        (Received::Nothing, _) => (0, TokenSource::None),
        (_, Some(p)) => (p, TokenSource::Usage),
        (Received::Pooling, None) => {
            match usage.total.map(|t| (t, TokenSource::Usage)).or_else(|| {
                req.built_input_tokens
                    .or(req.target_input_tokens)
                    .map(|t| (t, TokenSource::Target))
            }) {
                Some(x) => x,
                None => (0, TokenSource::None),
            }
        }
        (_, None) => target_input.map_or((0, TokenSource::None), |t| (t, TokenSource::Target)),
    };
    let (output_tokens, output_token_source) = match (st.received, usage.completion) {
        (Received::Nothing | Received::Pooling, _) => (0, TokenSource::None),
        (_, Some(c)) => (c, TokenSource::Usage),
        (Received::Stream, None) => (st.content_events, TokenSource::ChunkCount),
        (Received::Body, None) => (
            st.acc.words.map_or(0, |w| w.estimate_tokens()),
            TokenSource::Estimate,
        ),
    };

    let pooling = st.pooling.as_ref();
    // Pre-sized for `max_tokens × n` on the hot path; records outlive the request.
    let mut chunk_ns = st.chunk_ns;
    chunk_ns.shrink_to_fit();
    let record = RequestRecord {
        point_index: ctx.point_index,
        point_id: ctx.point_id.to_string(),
        run_index: ctx.run_index,
        request_index: req.index,
        attempt: ctx.attempt,
        request_id: ctx.request_id.clone(),
        warmup: ctx.warmup,
        turn: ctx.turn,
        conversation: req.conversation,
        prefix_group: req.prefix_group,
        model: req.model.clone(),
        lora: req.lora.clone(),
        scheduled_ns: ctx.scheduled_ns,
        dispatch_ns: ctx.dispatch_ns,
        start_ns: st.start,
        #[allow(clippy::cast_precision_loss)]
        connect_ms: st.conn.connect_ns.map(|ns| ns as f64 / 1e6),
        first_byte_ns: st.first_byte,
        first_chunk_ns: st.first_chunk,
        first_token_ns: st.first_token,
        first_output_ns: st.first_output,
        last_token_ns: st.last_token,
        end_ns,
        chunk_ns,
        events: st.events,
        outcome,
        timeout_kind,
        http_status: st.http_status,
        error,
        retry_after_s,
        malformed_events: st.malformed,
        reconnects: st.conn.reconnects,
        target_input_tokens: req.target_input_tokens,
        built_input_tokens: req.built_input_tokens,
        target_output_tokens: req.target_output_tokens,
        max_tokens: req.max_tokens,
        server_input_tokens: server_counts.0,
        server_output_tokens: server_counts.1,
        usage_note,
        client_output_tokens: (st.received == Received::Stream).then_some(st.content_events),
        input_tokens,
        output_tokens,
        input_token_source,
        output_token_source,
        reasoning_tokens: usage.reasoning,
        cached_tokens: usage.cached,
        server_prefill_ms: st.timings.and_then(|t| t.prefill_ms),
        server_decode_ms: st.timings.and_then(|t| t.decode_ms),
        server_cached_tokens: st.timings.and_then(|t| t.cached_tokens),
        finish_reason: st.acc.finish_reason.map(|f| client.scrub(f)),
        n,
        output_chars: st.output_chars,
        items: req.items,
        items_returned: pooling.map_or(0, |p| p.items_returned),
        embedding_dim: pooling.and_then(|p| p.embedding_dim),
    };
    let text = if want_text && outcome.is_ok() {
        st.acc.output_text
    } else {
        None
    };
    Response { record, text }
}

/// `base` + `path`, with exactly one `/` between them.
fn join_url(base: &str, path: &str) -> String {
    if path.starts_with('/') {
        format!("{base}{path}")
    } else {
        format!("{base}/{path}")
    }
}

/// `n` of the request body (completions per request), 1 when absent.
///
/// The body is only parsed when it contains the key `"n"` at all (a quoted `n`
/// cannot occur inside a JSON string, where quotes are escaped), so large
/// prompts are not parsed twice.
pub(super) fn body_n(body: &[u8]) -> u32 {
    if memchr::memmem::find(body, b"\"n\"").is_none() {
        return 1;
    }
    #[derive(serde::Deserialize)]
    struct WithN {
        #[serde(default)]
        n: Option<u32>,
    }
    serde_json::from_slice::<WithN>(body)
        .ok()
        .and_then(|b| b.n)
        .unwrap_or(1)
        .max(1)
}

/// Seconds to wait from a `Retry-After` value: delay-seconds (integer or
/// decimal) or an HTTP date (relative to `now`, never negative).
pub(super) fn parse_retry_after(value: &str, now: SystemTime) -> Option<f64> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then_some(secs);
    }
    let date = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let now: chrono::DateTime<chrono::Utc> = now.into();
    let ms = (date.with_timezone(&chrono::Utc) - now).num_milliseconds();
    #[allow(clippy::cast_precision_loss)]
    Some((ms.max(0) as f64) / 1000.0)
}

/// Classifies a failure of the transport (before any response headers).
fn classify_send_error(e: &SendError, client: &HttpClient, used: ConnUse) -> Failure {
    let origin = &client.origin;
    let chain = chain_of(e);
    let again = if used.reconnects > 0 {
        " (on a fresh connection, after the pooled one closed)"
    } else {
        ""
    };
    match e {
        SendError::ConnectTimeout(_) => Failure::timeout(
            TimeoutKind::Connect,
            format!(
                "could not connect to {origin}{again} within {:?} (connect timeout)",
                client.endpoint.timeouts.connect
            ),
        ),
        SendError::Connect(_) | SendError::Handshake(_) => Failure::new(
            Outcome::ConnectError,
            format!("cannot connect to {origin}{again}: {chain}"),
        ),
        SendError::Request(_) => Failure::new(
            Outcome::ConnectError,
            format!("the connection to {origin} failed before any response{again}: {chain}"),
        ),
    }
}

/// The response body as a stream of data chunks (trailers are skipped).
fn body_stream(
    resp: http::Response<super::transport::PooledBody>,
) -> http_body_util::BodyDataStream<super::transport::PooledBody> {
    http_body_util::BodyDataStream::new(resp.into_body())
}

/// A reqwest error and its sources joined with `: ` (without URLs; repeated messages once).
pub(super) fn error_chain(e: &reqwest::Error) -> String {
    let mut top = e.to_string();
    // reqwest appends " for url (…)"; the origin is named by the caller instead.
    if let Some(i) = top.find(" for url (") {
        top.truncate(i);
    }
    join_chain(top, std::error::Error::source(e))
}

/// Reading a body failed.
#[derive(Debug)]
pub(super) enum ReadError {
    /// The transport failed (reset, malformed chunked encoding…).
    Body(hyper::Error),
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
pub(super) struct IdleGuard<S> {
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
    S: Stream<Item = Result<Bytes, hyper::Error>> + Unpin,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_n_reads_n_only_when_present() {
        assert_eq!(
            body_n(br#"{"model":"m","messages":[{"role":"user","content":"say \"n\""}]}"#),
            1
        );
        assert_eq!(body_n(br#"{"model":"m","n":3,"max_tokens":5}"#), 3);
        assert_eq!(body_n(br#"{"model":"m","n":0}"#), 1);
        assert_eq!(body_n(br#"{"n":"x"}"#), 1);
        assert_eq!(body_n(br#"{"extra":{"n":4}}"#), 1);
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(parse_retry_after("7", now), Some(7.0));
        assert_eq!(parse_retry_after(" 1.5 ", now), Some(1.5));
        assert_eq!(parse_retry_after("-3", now), None);
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now),
            Some(30.0)
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:40:00 GMT", now),
            Some(0.0)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn join_url_puts_one_slash() {
        assert_eq!(
            join_url("http://h/v1", "/chat/completions"),
            "http://h/v1/chat/completions"
        );
        assert_eq!(
            join_url("http://h/v1", "completions"),
            "http://h/v1/completions"
        );
    }

    fn exchange_for_test() -> Exchange {
        Exchange {
            t0: 1000,
            start: 0,
            first_byte: None,
            first_chunk: None,
            first_token: None,
            first_output: None,
            last_token: None,
            end: None,
            chunk_ns: Vec::new(),
            events: 0,
            content_events: 0,
            malformed: 0,
            output_chars: 0,
            finished_choices: 0,
            usage: None,
            timings: None,
            acc: TextAcc::default(),
            http_status: None,
            received: Received::Stream,
            pooling: None,
            conn: ConnUse::default(),
            secrets: super::super::Secrets::default(),
            max_events: u32::MAX,
        }
    }

    fn ev(data: &str, at: u64) -> TimedEvent {
        TimedEvent {
            event: super::super::sse::Event {
                event: "message".into(),
                data: data.into(),
                ..Default::default()
            },
            at_ns: at,
            completed_at_eof: false,
        }
    }

    #[test]
    fn event_classification_sets_ttft_ttfo_and_chunks() {
        let mut st = exchange_for_test();
        let p = MalformedPolicy::Skip;
        let role = r#"{"choices":[{"delta":{"role":"assistant","content":null},"index":0}]}"#;
        let think = r#"{"choices":[{"delta":{"reasoning_content":"hm"},"index":0}]}"#;
        let out = r#"{"choices":[{"delta":{"content":"A"},"index":0}]}"#;
        let fin = r#"{"choices":[{"delta":{},"finish_reason":"stop","index":0}]}"#;
        for (data, at) in [
            (role, 1100),
            (think, 1200),
            (out, 1300),
            ("garbage", 1350),
            (fin, 1400),
        ] {
            assert!(matches!(st.on_event(&ev(data, at), p), Ok(Flow::Continue)));
        }
        assert_eq!(st.first_chunk, Some(100));
        assert_eq!(st.first_token, Some(200));
        assert_eq!(st.first_output, Some(300));
        assert_eq!(st.last_token, Some(300));
        assert_eq!(st.chunk_ns, vec![200, 300]);
        assert_eq!(st.events, 5);
        assert_eq!(st.malformed, 1);
        assert!(st.stream_complete(1));
        assert!(!st.stream_complete(2));
        assert!(matches!(
            st.on_event(&ev(" [DONE]", 1500), p),
            Ok(Flow::Done(1500))
        ));
        assert_eq!(st.events, 5);
    }

    #[test]
    fn malformed_policy_fail_and_truncated_last_event() {
        let mut st = exchange_for_test();
        let f = st
            .on_event(&ev("{not json", 1100), MalformedPolicy::Fail)
            .err()
            .expect("fails");
        assert_eq!(f.outcome, Outcome::MalformedEvent);
        let mut cut = ev("{\"choices\":[{\"delta\":{\"con", 1200);
        cut.completed_at_eof = true;
        let f = st
            .on_event(&cut, MalformedPolicy::Skip)
            .err()
            .expect("fails");
        assert_eq!(f.outcome, Outcome::StreamCut);
    }

    #[test]
    fn error_events_and_error_objects_are_invalid_responses() {
        let mut st = exchange_for_test();
        let mut e = ev("{\"message\":\"overloaded\"}", 1100);
        e.event.event = "error".into();
        let f = st.on_event(&e, MalformedPolicy::Skip).err().expect("fails");
        assert_eq!(f.outcome, Outcome::InvalidResponse);
        assert!(f.cause.contains("overloaded"));
        let f = st
            .on_event(
                &ev(r#"{"error":{"message":"kv cache full"}}"#, 1200),
                MalformedPolicy::Skip,
            )
            .err()
            .expect("fails");
        assert_eq!(f.outcome, Outcome::InvalidResponse);
        assert!(f.cause.contains("kv cache full"));
        assert_eq!(st.first_chunk, Some(100));
    }

    #[test]
    fn usage_is_latched_last_wins_and_completes_the_stream() {
        let mut st = exchange_for_test();
        let p = MalformedPolicy::Skip;
        let u1 = r#"{"choices":[{"delta":{"content":"a"}}],"usage":{"prompt_tokens":5,"completion_tokens":1}}"#;
        let u2 = r#"{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":9}}"#;
        let none = r#"{"choices":[],"usage":null}"#;
        for d in [u1, u2, none] {
            assert!(st.on_event(&ev(d, 1100), p).is_ok());
        }
        assert_eq!(st.usage.as_ref().and_then(|u| u.completion), Some(9));
        assert!(st.stream_complete(4));
    }

    #[test]
    fn the_last_timings_are_kept() {
        let mut st = exchange_for_test();
        let p = MalformedPolicy::Skip;
        let early = r#"{"choices":[{"delta":{"content":"a"}}],"timings":{"prompt_ms":1.5,"predicted_ms":0}}"#;
        let last = r#"{"choices":[],"timings":{"prompt_ms":2.5,"predicted_ms":40.25,"cache_n":3}}"#;
        let none = r#"{"choices":[],"timings":null}"#;
        for d in [early, last, none] {
            assert!(st.on_event(&ev(d, 1100), p).is_ok());
        }
        assert_eq!(
            st.timings,
            Some(ServerTimings {
                prefill_ms: Some(2.5),
                decode_ms: Some(40.25),
                cached_tokens: Some(3),
            })
        );
    }

    mod stream_props {
        //! Property tests of the whole streamed-response path: SSE bytes cut at
        //! arbitrary points → [`TimedEventStream`] → chunk JSON decoding →
        //! [`Exchange::on_event`]. Nothing panics, the measurements stay
        //! consistent, and they do not depend on where the reads were cut.

        use super::*;
        use proptest::prelude::*;
        use std::sync::atomic::{AtomicU64, Ordering};
        use std::sync::Arc;

        /// Keys of chat / completions chunks, and strangers.
        const CHUNK_KEYS: &[&str] = &[
            "choices",
            "delta",
            "message",
            "content",
            "reasoning_content",
            "reasoning",
            "text",
            "output_text",
            "finish_reason",
            "index",
            "role",
            "usage",
            "prompt_tokens",
            "completion_tokens",
            "total_tokens",
            "completion_tokens_details",
            "reasoning_tokens",
            "error",
            "object",
            "bogus",
        ];

        fn json() -> impl Strategy<Value = serde_json::Value> {
            use serde_json::Value as J;
            let leaf = prop_oneof![
                Just(J::Null),
                any::<bool>().prop_map(J::Bool),
                any::<i64>().prop_map(J::from),
                any::<u64>().prop_map(J::from),
                any::<f64>().prop_map(J::from),
                prop::sample::select(
                    &[
                        "",
                        " ",
                        "a",
                        "stop",
                        "assistant",
                        "error",
                        "\u{FFFD}",
                        "[DONE]"
                    ][..]
                )
                .prop_map(J::from),
                "\\PC{0,6}".prop_map(J::from),
            ];
            leaf.prop_recursive(4, 32, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..3).prop_map(J::Array),
                    prop::collection::btree_map(
                        prop::sample::select(CHUNK_KEYS).prop_map(str::to_owned),
                        inner,
                        0..4
                    )
                    .prop_map(|m| J::Object(m.into_iter().collect())),
                ]
            })
        }

        /// One event's data: a chunk, `[DONE]`, or text that is not JSON.
        fn data() -> impl Strategy<Value = String> {
            prop_oneof![
                6 => json().prop_map(|v| v.to_string()),
                2 => Just(r#"{"choices":[{"index":0,"delta":{"content":"x"}}]}"#.to_owned()),
                1 => Just("[DONE]".to_owned()),
                1 => "\\PC{0,10}",
                1 => Just("{\"choices\":[{\"delta\":\n{\"content\":\"y\"}}]}".to_owned()),
            ]
        }

        /// An SSE stream: events (some named `error`), comments, odd line ends.
        fn stream() -> impl Strategy<Value = Vec<u8>> {
            let event = (
                prop::sample::select(&["", "event: message\n", "event: error\n", ": ping\n"][..]),
                data(),
                prop::sample::select(&["\n\n", "\r\n\r\n", "\r\r"][..]),
            )
                .prop_map(|(head, data, end)| {
                    let mut out = head.to_owned();
                    for line in data.split('\n') {
                        out.push_str("data: ");
                        out.push_str(line);
                        out.push('\n');
                    }
                    out.pop();
                    out.push_str(end);
                    out
                });
            (prop::collection::vec(event, 0..12), any::<bool>()).prop_map(|(events, cut_last)| {
                let mut bytes = events.concat().into_bytes();
                if cut_last && !bytes.is_empty() {
                    bytes.truncate(bytes.len() - 1);
                }
                bytes
            })
        }

        fn split(bytes: &[u8], cuts: &[usize]) -> Vec<Result<Bytes, String>> {
            let mut points: Vec<usize> = cuts
                .iter()
                .map(|c| if bytes.is_empty() { 0 } else { c % bytes.len() })
                .collect();
            points.sort_unstable();
            points.dedup();
            let mut out = Vec::new();
            let mut prev = 0;
            for p in points {
                out.push(Ok(Bytes::copy_from_slice(&bytes[prev..p])));
                prev = p;
            }
            out.push(Ok(Bytes::copy_from_slice(&bytes[prev..])));
            out
        }

        /// What the exchange measured, minus the times (they depend on the cuts).
        #[derive(Debug, PartialEq)]
        struct Shape {
            events: u32,
            content_events: u32,
            malformed: u32,
            output_chars: u32,
            finished_choices: u32,
            usage: Option<UsageCounts>,
            done: bool,
            failure: Option<(Outcome, String)>,
        }

        /// Runs the stream through the parser and the exchange, checking invariants.
        fn run(
            parts: Vec<Result<Bytes, String>>,
            limit: usize,
            policy: MalformedPolicy,
        ) -> Result<Shape, TestCaseError> {
            let n = Arc::new(AtomicU64::new(1000));
            let clock = move || n.fetch_add(1, Ordering::Relaxed) + 1;
            let mut st = exchange_for_test();
            st.acc = TextAcc::new(true, true);
            let (done, failure) = futures::executor::block_on(async {
                let mut events = TimedEventStream::new(futures::stream::iter(parts), limit, clock);
                while let Some(item) = events.next().await {
                    match item {
                        Ok(ev) => match st.on_event(&ev, policy) {
                            Ok(Flow::Done(_)) => return (true, None),
                            Ok(Flow::Continue) => {}
                            Err(f) => return (false, Some(f)),
                        },
                        Err(e) => {
                            return (
                                false,
                                Some(Failure::new(Outcome::InvalidResponse, e.to_string())),
                            )
                        }
                    }
                }
                (false, None)
            });
            prop_assert_eq!(st.chunk_ns.len(), st.content_events as usize);
            prop_assert!(st.chunk_ns.windows(2).all(|w| w[0] <= w[1]));
            prop_assert_eq!(st.first_token, st.chunk_ns.first().copied());
            prop_assert_eq!(st.last_token, st.chunk_ns.last().copied());
            if let Some(out) = st.first_output {
                prop_assert!(st.first_token.is_some_and(|t| t <= out));
            }
            prop_assert!(st.first_chunk.is_some() == (st.events > 0));
            prop_assert!(st.content_events + st.malformed <= st.events);
            prop_assert!((st.output_chars > 0) == (st.content_events > 0));
            if policy == MalformedPolicy::Fail {
                prop_assert!(st.malformed <= 1);
            }
            if let Some(f) = &failure {
                prop_assert!(!f.cause.is_empty());
                prop_assert!(matches!(
                    f.outcome,
                    Outcome::InvalidResponse | Outcome::MalformedEvent | Outcome::StreamCut
                ));
            }
            Ok(Shape {
                events: st.events,
                content_events: st.content_events,
                malformed: st.malformed,
                output_chars: st.output_chars,
                finished_choices: st.finished_choices,
                usage: st.usage,
                done,
                failure: failure.map(|f| (f.outcome, f.cause)),
            })
        }

        proptest! {
            #[test]
            fn any_stream_any_cuts_same_measurements(
                bytes in stream(),
                cuts_a in prop::collection::vec(any::<usize>(), 0..10),
                cuts_b in prop::collection::vec(any::<usize>(), 0..10),
                fail in any::<bool>(),
            ) {
                let policy = if fail { MalformedPolicy::Fail } else { MalformedPolicy::Skip };
                let a = run(split(&bytes, &cuts_a), 1 << 20, policy)?;
                let b = run(split(&bytes, &cuts_b), 1 << 20, policy)?;
                prop_assert_eq!(a, b);
            }

            #[test]
            fn arbitrary_bytes_and_small_limits_never_panic(
                bytes in prop_oneof![stream(), prop::collection::vec(any::<u8>(), 0..600)],
                cuts in prop::collection::vec(any::<usize>(), 0..10),
                limit in 1usize..200,
            ) {
                run(split(&bytes, &cuts), limit, MalformedPolicy::Skip)?;
            }

            /// A huge event ends the request as an invalid response naming the
            /// limit; the events before it are still measured.
            #[test]
            fn an_event_over_the_limit_is_an_invalid_response(
                before in 0u32..4,
                limit in 64usize..512,
                over in 1usize..4000,
                cuts in prop::collection::vec(any::<usize>(), 0..10),
            ) {
                let ok = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\n";
                let mut text = ok.repeat(before as usize);
                text.push_str("data: ");
                text.push_str(&"y".repeat(limit + over));
                text.push_str("\n\n");
                text.push_str(ok);
                let shape = run(split(text.as_bytes(), &cuts), limit, MalformedPolicy::Skip)?;
                prop_assert_eq!(shape.content_events, before);
                let (outcome, cause) = shape.failure.expect("a failure");
                prop_assert_eq!(outcome, Outcome::InvalidResponse);
                prop_assert!(cause.contains("max_event_bytes"), "{}", cause);
            }
        }
    }
}
