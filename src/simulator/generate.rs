//! `POST /v1/chat/completions` and `POST /v1/completions`.
//!
//! Request fields read: `messages` (chat) or `prompt` (completions), required;
//! `max_completion_tokens` else `max_tokens` (default 16, between 1 and
//! [`MAX_MODEL_LEN`]); `n` (default 1, at most [`MAX_N`]); `stream` (default
//! false); `stream_options.include_usage` (default false). Everything else
//! (`model`, `temperature`, `ignore_eos`, …) is accepted and ignored; the
//! simulator always generates exactly `max_tokens` tokens per choice and ends
//! with `finish_reason: "length"`. `usage.completion_tokens = n × max_tokens`.
//! Streams and whole bodies carry the simulator's own `timings` in
//! llama-server's shape (see [`super::sse::Timings`]).

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::Response;
use axum::Extension;
use serde_json::{json, Map, Value};
use tokio::sync::mpsc::unbounded_channel;

use super::content::{message_pieces, pieces_tokens, text_inputs, token_text, TextInput};
use super::engine::EngineJob;
use super::http::{bad_request, error_response, json_body, Arrival, Begun, Shared, MAX_MODEL_LEN};
use super::log::Recorder;
use super::sse::{GenKind, SseFormat, Timings};
use super::stream::{GenPlan, GenStream, TokenSource};
use super::timing::{fixed_token_offset, nanos};
use crate::clock::now_ns;
use crate::vocab::FaultKind;

/// Default `max_tokens` when the request has none.
pub const DEFAULT_MAX_TOKENS: u32 = 16;

/// Largest `n` accepted.
pub const MAX_N: u32 = 128;

/// `POST /v1/chat/completions`
pub async fn chat(
    State(shared): State<Arc<Shared>>,
    Extension(arrival): Extension<Arrival>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    generate(&shared, arrival, uri.path(), &headers, &body, GenKind::Chat).await
}

/// `POST /v1/completions`
pub async fn completions(
    State(shared): State<Arc<Shared>>,
    Extension(arrival): Extension<Arrival>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    generate(
        &shared,
        arrival,
        uri.path(),
        &headers,
        &body,
        GenKind::Completion,
    )
    .await
}

/// The fields of a generation request the simulator uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenRequest {
    pub stream: bool,
    pub include_usage: bool,
    pub max_tokens: u32,
    pub n: u32,
    pub prompt_tokens: u32,
}

fn optional_u32(obj: &Map<String, Value>, key: &str) -> Result<Option<u32>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| format!("`{key}` must be a non-negative integer")),
    }
}

fn optional_bool(obj: &Map<String, Value>, key: &str) -> Result<bool, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(format!("`{key}` must be a boolean")),
    }
}

impl GenRequest {
    /// Parses a request body (see the module docs for the fields).
    ///
    /// # Errors
    /// A message for the 400 response.
    pub fn parse(body: &[u8], kind: GenKind) -> Result<GenRequest, String> {
        let value: Value =
            serde_json::from_slice(body).map_err(|e| format!("the body is not valid JSON: {e}"))?;
        let obj = value.as_object().ok_or("the body must be a JSON object")?;
        let prompt_tokens = match kind {
            GenKind::Chat => {
                let messages = obj.get("messages").ok_or("`messages` is required")?;
                pieces_tokens(&message_pieces(messages)?)
            }
            GenKind::Completion => {
                let prompt = obj.get("prompt").ok_or("`prompt` is required")?;
                text_inputs(prompt, "prompt")?
                    .iter()
                    .map(TextInput::tokens)
                    .fold(0_u32, u32::saturating_add)
            }
        };
        let max_tokens = match optional_u32(obj, "max_completion_tokens")? {
            Some(n) => n,
            None => optional_u32(obj, "max_tokens")?.unwrap_or(DEFAULT_MAX_TOKENS),
        };
        if !(1..=MAX_MODEL_LEN).contains(&max_tokens) {
            return Err(format!(
                "`max_tokens` must be between 1 and {MAX_MODEL_LEN}, got {max_tokens}"
            ));
        }
        let n = optional_u32(obj, "n")?.unwrap_or(1);
        if !(1..=MAX_N).contains(&n) {
            return Err(format!("`n` must be between 1 and {MAX_N}, got {n}"));
        }
        let stream = optional_bool(obj, "stream")?;
        let include_usage = match obj.get("stream_options") {
            None | Some(Value::Null) => false,
            Some(Value::Object(options)) => optional_bool(options, "include_usage")?,
            Some(_) => return Err("`stream_options` must be an object".to_owned()),
        };
        Ok(GenRequest {
            stream,
            include_usage,
            max_tokens,
            n,
            prompt_tokens,
        })
    }
}

async fn generate(
    shared: &Shared,
    arrival: Arrival,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
    kind: GenKind,
) -> Response {
    let mut begun = Begun::new(shared, arrival, headers, path);
    if let Some(response) = begun.apply(shared) {
        return response;
    }
    let Begun {
        seq,
        fault,
        mut recorder,
        created,
    } = begun;
    let req = match GenRequest::parse(body, kind) {
        Ok(req) => req,
        Err(message) => {
            recorder.fault(None);
            return bad_request(&mut recorder, &message);
        }
    };
    recorder.request(req.stream, req.prompt_tokens, req.max_tokens);
    shared
        .metrics
        .add_prompt_tokens(u64::from(req.prompt_tokens));

    let source = match &shared.engine {
        None => TokenSource::Fixed {
            arrival: arrival.instant,
            ttft: shared.config.ttft,
            itl: shared.config.itl,
        },
        Some(engine) => {
            let (tx, rx) = unbounded_channel();
            let job = EngineJob {
                arrival_ns: arrival.ns,
                prompt_tokens: req.prompt_tokens,
                max_tokens: req.max_tokens,
                tokens: tx,
            };
            if engine.send(job).is_err() {
                recorder.status(503);
                return error_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the simulator is shutting down",
                    "server_error",
                );
            }
            TokenSource::Engine(rx)
        }
    };
    // With Fixed timing the request counts as running until its response ends;
    // the batching engine keeps its own gauges.
    let running = shared
        .engine
        .is_none()
        .then(|| shared.metrics.running_guard());
    let id = format!("{}{seq}", kind.id_prefix());
    let plan = GenPlan {
        format: SseFormat::new(kind, &id, created, &shared.model_json, req.n),
        max_tokens: req.max_tokens,
        n: req.n,
        prompt_tokens: req.prompt_tokens,
        arrival_ns: arrival.ns,
        include_usage: req.include_usage,
        fault,
        stall_for: shared.config.faults.stall_for,
    };
    if req.stream {
        recorder.status(200);
        let stream = GenStream::new(plan, source, recorder, Arc::clone(&shared.metrics), running);
        let mut response = Response::new(Body::from_stream(stream));
        let h = response.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        return response;
    }
    let response = respond_whole(
        shared,
        arrival,
        kind,
        &id,
        created,
        &plan,
        source,
        &mut recorder,
    )
    .await;
    drop(running);
    response
}

/// A non-streamed generation: waits for every token (recording when each was
/// generated), then sends one JSON body, `stall_for` later under the stall fault.
#[allow(clippy::too_many_arguments)]
async fn respond_whole(
    shared: &Shared,
    arrival: Arrival,
    kind: GenKind,
    id: &str,
    created: u64,
    plan: &GenPlan,
    source: TokenSource,
    recorder: &mut Recorder,
) -> Response {
    let max = plan.max_tokens;
    // First and last token times, for the `timings` object.
    let mut first = None;
    let mut last = arrival.ns;
    match source {
        TokenSource::Fixed {
            arrival: start,
            ttft,
            itl,
        } => {
            for k in 0..max {
                let at = arrival
                    .ns
                    .saturating_add(nanos(fixed_token_offset(ttft, itl, k)));
                recorder.token(at);
                first.get_or_insert(at);
                last = at;
            }
            tokio::time::sleep_until(start + fixed_token_offset(ttft, itl, max - 1)).await;
        }
        TokenSource::Engine(mut rx) => {
            for _ in 0..max {
                if rx.recv().await.is_none() {
                    recorder.status(503);
                    return error_response(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "the simulator is shutting down",
                        "server_error",
                    );
                }
                let at = now_ns();
                recorder.token(at);
                first.get_or_insert(at);
                last = at;
            }
        }
    }
    let timings = Timings::from_instants(
        u64::from(plan.prompt_tokens),
        u64::from(max),
        arrival.ns,
        first.unwrap_or(last),
        last,
    );
    if plan.fault == Some(FaultKind::Stall) {
        tokio::time::sleep(plan.stall_for).await;
    }
    shared
        .metrics
        .add_generation_tokens(u64::from(max) * u64::from(plan.n));
    let text: String = (0..max).map(token_text).collect();
    let choices: Vec<Value> = (0..plan.n)
        .map(|index| match kind {
            GenKind::Chat => json!({
                "index": index,
                "message": {"role": "assistant", "content": text},
                "logprobs": null,
                "finish_reason": "length",
            }),
            GenKind::Completion => json!({
                "index": index,
                "text": text,
                "logprobs": null,
                "finish_reason": "length",
            }),
        })
        .collect();
    let completion = u64::from(max) * u64::from(plan.n);
    let prompt = u64::from(plan.prompt_tokens);
    let body = json!({
        "id": id,
        "object": kind.object(),
        "created": created,
        "model": shared.config.model,
        "choices": choices,
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
        "timings": serde_json::from_str::<Value>(&timings.to_json()).unwrap_or(Value::Null),
    });
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    json_body(bytes, plan.fault, recorder)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_reads_the_documented_fields() {
        let body = br#"{"model":"x","messages":[{"role":"user","content":"a b c"}],
            "max_tokens":7,"n":2,"stream":true,"stream_options":{"include_usage":true}}"#;
        let req = GenRequest::parse(body, GenKind::Chat).expect("valid");
        assert_eq!(
            req,
            GenRequest {
                stream: true,
                include_usage: true,
                max_tokens: 7,
                n: 2,
                prompt_tokens: 3
            }
        );
        let body = br#"{"prompt":"one two","max_completion_tokens":3,"max_tokens":9}"#;
        let req = GenRequest::parse(body, GenKind::Completion).expect("valid");
        assert_eq!((req.max_tokens, req.n, req.stream), (3, 1, false));
        let body = br#"{"prompt":"x"}"#;
        assert_eq!(
            GenRequest::parse(body, GenKind::Completion).map(|r| r.max_tokens),
            Ok(DEFAULT_MAX_TOKENS)
        );
    }

    #[test]
    fn parse_rejects_bad_bodies() {
        let cases: [(&[u8], GenKind, &str); 7] = [
            (b"{", GenKind::Chat, "not valid JSON"),
            (b"[]", GenKind::Chat, "object"),
            (br#"{"prompt":"x"}"#, GenKind::Chat, "`messages`"),
            (br#"{"messages":[]}"#, GenKind::Completion, "`prompt`"),
            (
                br#"{"prompt":"x","max_tokens":0}"#,
                GenKind::Completion,
                "between 1",
            ),
            (br#"{"prompt":"x","n":"2"}"#, GenKind::Completion, "`n`"),
            (
                br#"{"prompt":"x","stream":"yes"}"#,
                GenKind::Completion,
                "`stream`",
            ),
        ];
        for (body, kind, needle) in cases {
            let err = GenRequest::parse(body, kind).expect_err("invalid");
            assert!(err.contains(needle), "{err:?} should mention {needle}");
        }
    }
}
