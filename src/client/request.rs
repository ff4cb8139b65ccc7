//! One exchange: send, read, time-stamp, classify → [`RequestRecord`].
//!
//! # Timestamps
//! All on [`crate::clock::now_ns`], stored as ns since the run's `t0`:
//! `start_ns` just before the request is handed to the HTTP stack (connection
//! set-up included: when the request had to open its connection, the time it
//! took is `connect_ms`); `sent_ns` when the request's last byte was handed to
//! the kernel; `first_byte_ns` when the response headers are parsed;
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

use std::time::{Duration, SystemTime};

use http::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};

use super::openai::{parse_body, parse_chunk, ChunkInfo, ServerTimings, TextAcc, UsageCounts};
use super::pooling::{self, PoolingOutcome};
use super::sse::TimedEvent;
use super::transport::{ConnUse, Outgoing};
use super::{HttpClient, RequestContext, Response};
use crate::clock::now_ns;
use crate::dataset::PreparedRequest;
use crate::record::{Outcome, TimeoutKind};
use crate::vocab::{ApiKind, MalformedPolicy};

mod body;
mod errors;
mod finish;
mod stream;
use body::{read_all, read_prefix};
use errors::classify_send_error;
pub(super) use errors::{error_chain, parse_retry_after};
use finish::finish;
use stream::read_stream;
pub(super) use stream::IdleGuard;

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

impl Exchange {
    /// An exchange before anything was sent or received, its times relative to `t0`.
    fn new(
        t0: u64,
        chunk_ns: Vec<u64>,
        acc: TextAcc,
        secrets: super::Secrets,
        max_events: u32,
    ) -> Self {
        Exchange {
            t0,
            start: 0,
            first_byte: None,
            first_chunk: None,
            first_token: None,
            first_output: None,
            last_token: None,
            end: None,
            chunk_ns,
            events: 0,
            content_events: 0,
            malformed: 0,
            output_chars: 0,
            finished_choices: 0,
            usage: None,
            timings: None,
            acc,
            http_status: None,
            received: Received::Nothing,
            pooling: None,
            conn: ConnUse::default(),
            secrets,
            max_events,
        }
    }
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
        match parse_chunk(ev.event.data.as_str(), &mut self.acc) {
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
    let mut st = Exchange::new(
        ctx.t0_ns,
        if generates {
            Vec::with_capacity(capacity)
        } else {
            Vec::new()
        },
        TextAcc::new(want_text, false),
        client.secrets.clone(),
        max_content_events(req.max_tokens, n),
    );

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
        let mut body = IdleGuard::new(resp.into_body(), idle);
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
    let body = IdleGuard::new(resp.into_body(), idle);
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

#[cfg(test)]
mod tests;
