//! STAGE 5: one complete, self-describing record per request.
//!
//! A [`RequestRecord`] is what the client returns for every request it sends,
//! successful or not: failures are data (an [`Outcome`] with its cause), never
//! an `Err`. Timestamps are nanoseconds on the monotonic clock ([`crate::clock`])
//! measured from the run's `t0`, so records from different runs line up on one
//! axis per run and a run's wall-clock anchor ties them to calendar time.
//!
//! Token counts keep their provenance: the server's `usage`, the client's own
//! count, and the scenario's target are all kept, and `*_token_source` says
//! which one the headline `input_tokens` / `output_tokens` came from.

use serde::{Deserialize, Serialize};

/// How a request ended. Exactly one per request.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// 2xx and a complete response (a stream that ended with `[DONE]` or a final chunk).
    #[default]
    Ok,
    /// A non-2xx status other than 429; `http_status` and an excerpt of the body in `error`.
    HttpError,
    /// HTTP 429; `retry_after_s` holds the server's Retry-After when it sent one.
    RateLimited,
    /// One of the configured timeouts fired; `timeout_kind` says which.
    Timeout,
    /// The connection could not be made (refused, DNS, TLS), or it closed before
    /// any response byte (after the client's one reconnect, where that applies).
    ConnectError,
    /// The stream ended (EOF or reset) before its final chunk / `[DONE]`.
    StreamCut,
    /// An SSE event was not valid JSON and the endpoint's policy is to fail the request.
    MalformedEvent,
    /// The response was well-formed HTTP but not what the API promises
    /// (wrong number of embeddings or scores, wrong dimension, an SSE `error` event,
    /// an event larger than the size limit).
    InvalidResponse,
    /// The run was interrupted (Ctrl-C) while the request was in flight or queued.
    Cancelled,
}

impl Outcome {
    /// Every outcome, in the order reports list them.
    pub const ALL: [Outcome; 9] = [
        Outcome::Ok,
        Outcome::HttpError,
        Outcome::RateLimited,
        Outcome::Timeout,
        Outcome::ConnectError,
        Outcome::StreamCut,
        Outcome::MalformedEvent,
        Outcome::InvalidResponse,
        Outcome::Cancelled,
    ];

    /// The snake_case name used in Parquet, JSON and the report.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::HttpError => "http_error",
            Outcome::RateLimited => "rate_limited",
            Outcome::Timeout => "timeout",
            Outcome::ConnectError => "connect_error",
            Outcome::StreamCut => "stream_cut",
            Outcome::MalformedEvent => "malformed_event",
            Outcome::InvalidResponse => "invalid_response",
            Outcome::Cancelled => "cancelled",
        }
    }

    /// Parses the name written by [`Outcome::as_str`].
    #[must_use]
    pub fn from_name(s: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == s)
    }

    #[must_use]
    pub fn is_ok(self) -> bool {
        self == Outcome::Ok
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which timeout fired (each is configurable per endpoint).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeoutKind {
    /// TCP/TLS connection not established in time.
    Connect,
    /// No response headers within the first-byte timeout.
    FirstByte,
    /// No bytes for longer than the idle timeout in the middle of a stream.
    Idle,
    /// The whole request took longer than the total timeout.
    Total,
}

impl TimeoutKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            TimeoutKind::Connect => "connect",
            TimeoutKind::FirstByte => "first_byte",
            TimeoutKind::Idle => "idle",
            TimeoutKind::Total => "total",
        }
    }
}

/// Where a token count came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TokenSource {
    /// The server's `usage` object.
    Usage,
    /// The client's tokenizer (the model's tokenizer.json).
    Tokenizer,
    /// The number of content events in the stream (one token per event).
    ChunkCount,
    /// A documented estimate (words × 1.3) when nothing better is available.
    Estimate,
    /// The scenario's target count (input only, when the server sent no usage).
    Target,
    /// No count is available (failed requests).
    #[default]
    None,
}

impl TokenSource {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            TokenSource::Usage => "usage",
            TokenSource::Tokenizer => "tokenizer",
            TokenSource::ChunkCount => "chunk_count",
            TokenSource::Estimate => "estimate",
            TokenSource::Target => "target",
            TokenSource::None => "none",
        }
    }
}

/// One request, as measured. Times are ns since the run's `t0` (monotonic).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    // ---- identity --------------------------------------------------------
    /// Index of the point in the plan (0-based, plan order).
    pub point_index: u32,
    /// Stable, path-safe id of the point (see `plan::PointSpec::id`).
    pub point_id: String,
    /// Repetition of the point (0-based); warmup requests use the run they precede.
    pub run_index: u32,
    /// Index of the request within the run (0-based, schedule order).
    pub request_index: u32,
    /// 1 for the first attempt; retries of the same request count up.
    pub attempt: u32,
    /// The `x-request-id` header sent with the request.
    pub request_id: String,
    /// Warmup requests are recorded but excluded from every metric.
    pub warmup: bool,
    /// Turn number within a multi-turn conversation (0 for single-turn).
    pub turn: u32,
    /// Conversation id for multi-turn workloads.
    pub conversation: Option<u32>,
    /// Shared-prefix group, when the workload has one.
    pub prefix_group: Option<u32>,
    /// The `model` field sent (includes the LoRA adapter when one is used).
    pub model: String,
    /// The LoRA adapter this request used (None = base model).
    pub lora: Option<String>,

    // ---- timing (ns since run t0) ------------------------------------------
    /// When the schedule said the request should be sent (open-loop modes).
    pub scheduled_ns: Option<u64>,
    /// When the request became due (schedule time reached, or its turn came in a
    /// closed loop) and started waiting for a client slot.
    pub dispatch_ns: u64,
    /// Just before the request was handed to the HTTP stack (TTFT is measured from here).
    pub start_ns: u64,
    /// Time to open the connection this request opened and waited for (DNS, TCP,
    /// TLS), ms; `None` when it went on an already open connection (pooled or
    /// preconnected) or never got a connection. Part of TTFT and E2E.
    #[serde(default)]
    pub connect_ms: Option<f64>,
    /// The request's last byte handed to the kernel (its write completed):
    /// `sent_ns − start_ns` is the client's own sending time (connection set-up
    /// and waiting for the socket included).
    #[serde(default)]
    pub sent_ns: Option<u64>,
    /// Response headers received.
    pub first_byte_ns: Option<u64>,
    /// First SSE event of any kind (including role-only chunks).
    pub first_chunk_ns: Option<u64>,
    /// First event that carries generated text (content, reasoning or text): TTFT.
    pub first_token_ns: Option<u64>,
    /// First event that carries output text (not reasoning): TTFO.
    pub first_output_ns: Option<u64>,
    /// Last event that carried generated text.
    pub last_token_ns: Option<u64>,
    /// When the request finished (stream closed / body parsed / failure noticed).
    pub end_ns: u64,
    /// Arrival time of every content event, in ns since run t0, in order.
    pub chunk_ns: Vec<u64>,
    /// Number of SSE events received (all kinds, excluding `[DONE]`).
    pub events: u32,

    // ---- outcome -----------------------------------------------------------
    pub outcome: Outcome,
    pub timeout_kind: Option<TimeoutKind>,
    pub http_status: Option<u16>,
    /// Cause of a failure (status and body excerpt, error chain), never a secret.
    pub error: Option<String>,
    pub retry_after_s: Option<f64>,
    /// Events that were not valid JSON (skipped or fatal, per the endpoint policy).
    pub malformed_events: u32,
    /// Times the client re-sent this request on a fresh connection because the
    /// pooled one was closed before any response byte (0 or 1; README: Real
    /// servers). Not an attempt: the same request, the same record.
    #[serde(default)]
    pub reconnects: u32,

    // ---- tokens --------------------------------------------------------------
    /// The scenario's target input length.
    pub target_input_tokens: Option<u32>,
    /// The built prompt's length by the client tokenizer (or estimate).
    pub built_input_tokens: Option<u32>,
    /// The scenario's target output length.
    pub target_output_tokens: Option<u32>,
    /// `max_tokens` sent.
    pub max_tokens: Option<u32>,
    /// `usage.prompt_tokens`.
    pub server_input_tokens: Option<u32>,
    /// `usage.completion_tokens`.
    pub server_output_tokens: Option<u32>,
    /// Set when the server's usage cannot be right (a negative, fractional or
    /// enormous count, or more completion tokens than the request allowed): the
    /// count as written. The headline counts then come from the client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_note: Option<String>,
    /// The client's count of the generated text (tokenizer), when available.
    pub client_output_tokens: Option<u32>,
    /// Headline input count used by metrics (see `input_token_source`).
    pub input_tokens: u32,
    /// Headline output count used by metrics (see `output_token_source`).
    pub output_tokens: u32,
    pub input_token_source: TokenSource,
    pub output_token_source: TokenSource,
    pub reasoning_tokens: Option<u32>,
    pub cached_tokens: Option<u32>,
    /// The server's own prompt-processing time, ms (llama.cpp `timings.prompt_ms`:
    /// from the slot starting the prompt to the first token's logits; queueing
    /// before that is not in it). None when the server reports no timings.
    #[serde(default)]
    pub server_prefill_ms: Option<f64>,
    /// The server's own generation time after the first token, ms (llama.cpp
    /// `timings.predicted_ms`).
    #[serde(default)]
    pub server_decode_ms: Option<f64>,
    /// Prompt tokens the server says it reused from its cache (llama.cpp
    /// `timings.cache_n`).
    #[serde(default)]
    pub server_cached_tokens: Option<u32>,
    pub finish_reason: Option<String>,
    /// Completions per request (`n`); per-sequence rates divide by it.
    pub n: u32,
    /// Characters of generated text received.
    pub output_chars: u32,

    // ---- embeddings / rerank / score ---------------------------------------
    /// Inputs sent (texts to embed, documents to rank); 1 for generation.
    pub items: u32,
    /// Embeddings or scores received.
    pub items_returned: u32,
    /// Dimension of the embeddings received.
    pub embedding_dim: Option<u32>,
}

impl RequestRecord {
    /// Moves every timestamp `by` ns later: re-bases the record onto an origin
    /// `by` ns earlier than its run's `t0`.
    pub fn shift_times(&mut self, by: u64) {
        let later = |t: &mut u64| *t = t.saturating_add(by);
        for t in [
            &mut self.scheduled_ns,
            &mut self.sent_ns,
            &mut self.first_byte_ns,
            &mut self.first_chunk_ns,
            &mut self.first_token_ns,
            &mut self.first_output_ns,
            &mut self.last_token_ns,
        ]
        .into_iter()
        .flatten()
        {
            later(t);
        }
        later(&mut self.dispatch_ns);
        later(&mut self.start_ns);
        later(&mut self.end_ns);
        self.chunk_ns.iter_mut().for_each(later);
    }

    /// True for a measured (non-warmup) request that succeeded.
    #[must_use]
    pub fn is_measured_ok(&self) -> bool {
        !self.warmup && self.outcome.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_times_moves_every_timestamp_and_nothing_else() {
        let r = RequestRecord {
            scheduled_ns: Some(1),
            dispatch_ns: 2,
            start_ns: 3,
            sent_ns: Some(4),
            first_byte_ns: Some(5),
            first_chunk_ns: Some(6),
            first_token_ns: Some(7),
            first_output_ns: Some(8),
            last_token_ns: Some(9),
            end_ns: 10,
            chunk_ns: vec![7, 9],
            connect_ms: Some(0.5),
            output_tokens: 2,
            ..RequestRecord::default()
        };
        let mut shifted = r.clone();
        shifted.shift_times(1000);
        // Every `*_ns` field (found by name, so a timestamp added later is
        // covered too) moved by 1000; every other field is unchanged.
        let (before, after) = (
            serde_json::to_value(&r).unwrap(),
            serde_json::to_value(&shifted).unwrap(),
        );
        let (before, after) = (before.as_object().unwrap(), after.as_object().unwrap());
        for (key, old) in before {
            let new = &after[key];
            if !key.ends_with("_ns") {
                assert_eq!(old, new, "{key}");
            } else if let Some(list) = old.as_array() {
                let moved: Vec<u64> = list.iter().map(|v| v.as_u64().unwrap() + 1000).collect();
                assert_eq!(new, &serde_json::json!(moved), "{key}");
            } else {
                let t = old
                    .as_u64()
                    .unwrap_or_else(|| panic!("{key} is set in the test"));
                assert_eq!(new.as_u64(), Some(t + 1000), "{key}");
            }
        }
        // Unset times stay unset.
        let mut bare = RequestRecord::default();
        bare.shift_times(5);
        assert_eq!((bare.sent_ns, bare.start_ns), (None, 5));
    }
}
