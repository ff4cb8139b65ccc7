//! What every simulator handler shares: the state, the arrival stamp, the
//! request prologue (sequence number, fault decision, log entry) and the
//! response helpers (OpenAI-style errors, JSON bodies with body-level faults).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use tokio::sync::mpsc::UnboundedSender;
use tokio::time::Instant;

use super::engine::EngineJob;
use super::faults::fault_for;
use super::log::{LogStore, Recorder};
use super::metrics::SimMetrics;
use super::stream::{BodyError, CutBody};
use crate::clock::now_ns;
use crate::vocab::{FaultKind, SimConfig};

/// Largest request body accepted (base64 images make chat bodies large).
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// The simulated context window: `max_tokens` above it is rejected, and
/// `/v1/models` and `/tokenize` report it as `max_model_len`.
pub const MAX_MODEL_LEN: u32 = 1 << 20;

/// State shared by every handler.
pub struct Shared {
    /// The configuration the simulator was started with.
    pub config: SimConfig,
    /// The model name, JSON-encoded (with quotes), for pre-serialised chunks.
    pub model_json: String,
    /// Next inference-request sequence number.
    pub seq: AtomicU64,
    /// The request log (None when logging is off).
    pub log: Option<Arc<LogStore>>,
    /// Live Prometheus counters and gauges.
    pub metrics: Arc<SimMetrics>,
    /// The batching engine (None with Fixed timing).
    pub engine: Option<UnboundedSender<EngineJob>>,
    /// Unix time the simulator started (for `/v1/models`).
    pub started_unix_s: u64,
    /// `x-request-id`s refused so far, with their `seq` (a request sent again is
    /// refused again; see [`Begun::new`]).
    pub refused: std::sync::Mutex<std::collections::HashMap<String, u64>>,
}

/// When a request's headers were parsed, on both clocks.
#[derive(Clone, Copy, Debug)]
pub struct Arrival {
    /// [`crate::clock::now_ns`], read first.
    pub ns: u64,
    /// The tokio instant, read right after (so deadlines computed from it are
    /// never earlier than the same offsets from `ns`).
    pub instant: Instant,
}

/// An OpenAI-style error response: `{"error":{"message","type","param","code"}}`.
pub fn error_response(status: StatusCode, message: &str, kind: &str) -> Response {
    let body = json!({
        "error": {"message": message, "type": kind, "param": null, "code": status.as_u16()}
    });
    (status, Json(body)).into_response()
}

/// A 400 for a request body the simulator cannot use.
pub fn bad_request(recorder: &mut Recorder, message: &str) -> Response {
    recorder.status(400);
    recorder.first_byte(now_ns());
    error_response(StatusCode::BAD_REQUEST, message, "invalid_request_error")
}

/// The start of every inference request.
pub struct Begun {
    /// Arrival order among inference requests.
    pub seq: u64,
    /// The fault decided for `seq` (not yet recorded: see [`Begun::apply`]).
    pub fault: Option<FaultKind>,
    /// The request's log entry.
    pub recorder: Recorder,
    /// Unix seconds, for `created`.
    pub created: u64,
}

impl Begun {
    /// Takes the next sequence number, decides its fault and opens its log entry.
    ///
    /// A request whose `x-request-id` was refused before (the client sending
    /// the same request again on a fresh connection) is refused again under its
    /// first `seq`, and takes no new one: the fault sequence does not depend on
    /// how the client handles a refused connection.
    pub fn new(shared: &Shared, arrival: Arrival, headers: &HeaderMap, path: &str) -> Begun {
        let request_id = headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut refused = shared
            .refused
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (seq, fault) = match request_id.as_ref().and_then(|id| refused.get(id)) {
            Some(&seq) => (seq, Some(FaultKind::Refuse)),
            None => {
                let seq = shared.seq.fetch_add(1, Ordering::Relaxed);
                let fault = fault_for(&shared.config.faults, seq);
                if let (Some(FaultKind::Refuse), Some(id)) = (fault, &request_id) {
                    refused.insert(id.clone(), seq);
                }
                (seq, fault)
            }
        };
        drop(refused);
        Begun {
            seq,
            fault,
            recorder: Recorder::new(shared.log.as_ref(), seq, request_id, path, arrival.ns),
            created: crate::clock::wall_ns() / 1_000_000_000,
        }
    }

    /// Applies the faults that need no request body (refuse, 500, 429); returns
    /// the response to send when one applies. Otherwise records the body-level
    /// fault (if any), which the endpoint then applies.
    pub fn apply(&mut self, shared: &Shared) -> Option<Response> {
        self.recorder.fault(self.fault);
        match self.fault? {
            FaultKind::Refuse => Some(refused()),
            FaultKind::Http500 => {
                self.recorder.status(500);
                self.recorder.first_byte(now_ns());
                Some(error_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "injected server error (tokenomics simulator fault)",
                    "server_error",
                ))
            }
            FaultKind::Http429 => {
                self.recorder.status(429);
                self.recorder.first_byte(now_ns());
                let mut response = error_response(
                    StatusCode::TOO_MANY_REQUESTS,
                    "injected rate limit (tokenomics simulator fault)",
                    "rate_limit_error",
                );
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(shared.config.faults.retry_after_s),
                );
                Some(response)
            }
            FaultKind::StreamCut | FaultKind::MalformedEvent | FaultKind::Stall => None,
        }
    }
}

/// A response whose body fails on its first poll. hyper buffers the head and
/// polls the body in the same step, so the error closes the connection before
/// the head is flushed: the client sees the connection closed without any
/// response bytes.
fn refused() -> Response {
    let body = futures::stream::once(async {
        Err::<Bytes, BodyError>(BodyError("connection refused (injected fault)"))
    });
    Response::new(Body::from_stream(body))
}

/// A complete JSON response, with the body-level faults applied:
/// `malformed_event` → the body is `{not json`; `stream_cut` → the first half of
/// the body is sent, then the connection is closed.
pub fn json_body(bytes: Vec<u8>, fault: Option<FaultKind>, recorder: &mut Recorder) -> Response {
    recorder.status(200);
    recorder.first_byte(now_ns());
    let body = match fault {
        Some(FaultKind::MalformedEvent) => {
            recorder.completed();
            Body::from("{not json")
        }
        Some(FaultKind::StreamCut) => {
            let all = Bytes::from(bytes);
            Body::from_stream(CutBody::new(all.slice(..all.len() / 2)))
        }
        _ => {
            recorder.completed();
            Body::from(bytes)
        }
    };
    let mut response = Response::new(body);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
