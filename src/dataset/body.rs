//! Request bodies, field by field, and multi-turn continuation.
//!
//! Generation bodies (keys in this order):
//!
//! | key | when |
//! |---|---|
//! | `model` | always: the endpoint's model, or `"{model}:{adapter}"` for LoRA |
//! | `messages` (chat) / `prompt` (completions) | always |
//! | `max_tokens` | always: `clamp(target_out, 1, max_tokens_cap)` |
//! | `ignore_eos: true` | `endpoint.ignore_eos` |
//! | `min_tokens: max_tokens` | `endpoint.min_tokens` |
//! | `temperature` | when set |
//! | `n` | when > 1 |
//! | `stream: true`, `stream_options: {include_usage: true}` | only when streaming |
//!
//! Chat messages: the dataset's system prompt (if any) as a `system` message,
//! then the user message: a string, or with images a list of parts
//! `[{type: text, text}, {type: image_url, image_url: {url: data-uri}}, ...]`.
//! Completions: the system prompt (if any), a blank line, then the text.
//!
//! Embeddings: `{model, input: [texts], encoding_format}`. Rerank:
//! `{model, query, documents}`. Score: `{model, text_1: query, text_2: documents}`.
//!
//! `endpoint.extra_body` is merged last into every body: its keys win over the
//! fields above (a key already present keeps its position, new keys go at the end).

use bytes::Bytes;
use serde_json::{json, Map, Value};

use super::source::Message;
use super::{DatasetError, PreparedRequest};
use crate::plan::EndpointSpec;
use crate::vocab::{ApiKind, EncodingFormat};

/// The path, under the endpoint's base URL, for its API.
pub(crate) fn path_for(ep: &EndpointSpec) -> String {
    match ep.api {
        ApiKind::Chat => "/chat/completions".to_string(),
        ApiKind::Completions => "/completions".to_string(),
        ApiKind::Embeddings => "/embeddings".to_string(),
        ApiKind::Rerank => ep
            .path_override
            .clone()
            .unwrap_or_else(|| "/rerank".to_string()),
        ApiKind::Score => ep
            .path_override
            .clone()
            .unwrap_or_else(|| "/score".to_string()),
    }
}

/// What goes into a generation request.
pub(crate) struct Generation<'a> {
    pub model: &'a str,
    pub system: Option<&'a str>,
    /// The user text (ignored when `messages` is set).
    pub text: &'a str,
    /// Image data URIs attached to the user message.
    pub images: &'a [String],
    /// Verbatim chat messages (replay of a messages column).
    pub messages: Option<&'a [Message]>,
    pub max_tokens: u32,
}

/// A chat or completions body.
pub(crate) fn generation(ep: &EndpointSpec, g: &Generation<'_>) -> Result<Bytes, DatasetError> {
    let mut m = Map::new();
    m.insert("model".into(), json!(g.model));
    match ep.api {
        ApiKind::Chat => {
            let mut msgs = Vec::new();
            let has_system = g
                .messages
                .is_some_and(|ms| ms.iter().any(|m| m.role == "system"));
            if let (Some(sys), false) = (g.system, has_system) {
                msgs.push(json!({"role": "system", "content": sys}));
            }
            if let Some(ms) = g.messages {
                msgs.extend(
                    ms.iter()
                        .map(|m| json!({"role": m.role, "content": m.content})),
                );
                attach_images(&mut msgs, g.images);
            } else {
                msgs.push(user_message(g.text, g.images));
            }
            m.insert("messages".into(), Value::Array(msgs));
        }
        ApiKind::Completions => {
            let text = match g.messages {
                Some(ms) => ms
                    .iter()
                    .map(|m| m.content.as_str())
                    .collect::<Vec<_>>()
                    .join("\n\n"),
                None => g.text.to_string(),
            };
            let prompt = match g.system {
                Some(sys) => format!("{sys}\n\n{text}"),
                None => text,
            };
            m.insert("prompt".into(), json!(prompt));
        }
        other => {
            return Err(DatasetError::Build {
                message: format!("a generation body was asked for api = {}", other.as_str()),
            })
        }
    }
    m.insert("max_tokens".into(), json!(g.max_tokens));
    if ep.ignore_eos {
        m.insert("ignore_eos".into(), json!(true));
    }
    if ep.min_tokens {
        m.insert("min_tokens".into(), json!(g.max_tokens));
    }
    if let Some(t) = ep.temperature {
        m.insert("temperature".into(), json!(t));
    }
    if ep.n > 1 {
        m.insert("n".into(), json!(ep.n));
    }
    if ep.stream {
        m.insert("stream".into(), json!(true));
        m.insert("stream_options".into(), json!({"include_usage": true}));
    }
    finish(m, ep)
}

fn user_message(text: &str, images: &[String]) -> Value {
    if images.is_empty() {
        return json!({"role": "user", "content": text});
    }
    let mut parts = vec![json!({"type": "text", "text": text})];
    parts.extend(
        images
            .iter()
            .map(|u| json!({"type": "image_url", "image_url": {"url": u}})),
    );
    json!({"role": "user", "content": parts})
}

/// Adds images to the first user message of verbatim messages.
fn attach_images(msgs: &mut [Value], images: &[String]) {
    if images.is_empty() {
        return;
    }
    if let Some(first_user) = msgs.iter_mut().find(|m| m["role"] == "user") {
        let text = first_user["content"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        *first_user = user_message(&text, images);
    }
}

/// The body the original tool sends (`compat = "original"`), keys in its order:
/// `model`, `messages` (one user message, no system message), `max_tokens`,
/// `temperature` (the endpoint's, else the original's default 0.7), `stream`
/// (always present, `false` too), then `ignore_eos: true` when set,
/// `stream_options: {include_usage: true}` when streaming and `n` when > 1.
/// With images the user content is a list of parts: the text part only when the
/// text is not empty, then one `image_url` part per image. Warmup bodies are as
/// the original's warmups: streamed, without `ignore_eos` or `n`.
/// `extra_body` is merged last, as for every body.
pub(crate) fn original_chat(
    ep: &EndpointSpec,
    model: &str,
    text: &str,
    images: &[String],
    max_tokens: u32,
    warmup: bool,
) -> Result<Bytes, DatasetError> {
    let content = if images.is_empty() {
        json!(text)
    } else {
        let mut parts = Vec::with_capacity(images.len() + 1);
        if !text.is_empty() {
            parts.push(json!({"type": "text", "text": text}));
        }
        parts.extend(
            images
                .iter()
                .map(|u| json!({"type": "image_url", "image_url": {"url": u}})),
        );
        Value::Array(parts)
    };
    let stream = warmup || ep.stream;
    let mut m = Map::new();
    m.insert("model".into(), json!(model));
    m.insert(
        "messages".into(),
        json!([{"role": "user", "content": content}]),
    );
    m.insert("max_tokens".into(), json!(max_tokens));
    m.insert(
        "temperature".into(),
        json!(ep
            .temperature
            .unwrap_or(super::compat::ORIGINAL_TEMPERATURE)),
    );
    m.insert("stream".into(), json!(stream));
    if ep.ignore_eos && !warmup {
        m.insert("ignore_eos".into(), json!(true));
    }
    if stream {
        m.insert("stream_options".into(), json!({"include_usage": true}));
    }
    if ep.n > 1 && !warmup {
        m.insert("n".into(), json!(ep.n));
    }
    finish(m, ep)
}

/// An embeddings body.
pub(crate) fn embeddings(
    ep: &EndpointSpec,
    model: &str,
    inputs: &[String],
) -> Result<Bytes, DatasetError> {
    let mut m = Map::new();
    m.insert("model".into(), json!(model));
    m.insert("input".into(), json!(inputs));
    let fmt = match ep.encoding_format {
        EncodingFormat::Float => "float",
        EncodingFormat::Base64 => "base64",
    };
    m.insert("encoding_format".into(), json!(fmt));
    finish(m, ep)
}

/// A rerank or score body.
pub(crate) fn ranking(
    ep: &EndpointSpec,
    model: &str,
    query: &str,
    documents: &[String],
) -> Result<Bytes, DatasetError> {
    let mut m = Map::new();
    m.insert("model".into(), json!(model));
    if ep.api == ApiKind::Score {
        m.insert("text_1".into(), json!(query));
        m.insert("text_2".into(), json!(documents));
    } else {
        m.insert("query".into(), json!(query));
        m.insert("documents".into(), json!(documents));
    }
    finish(m, ep)
}

/// Merges `extra_body` (it wins) and serialises.
fn finish(mut m: Map<String, Value>, ep: &EndpointSpec) -> Result<Bytes, DatasetError> {
    for (k, v) in &ep.extra_body {
        m.insert(k.clone(), v.clone());
    }
    serde_json::to_vec(&Value::Object(m))
        .map(Bytes::from)
        .map_err(|e| DatasetError::Build {
            message: format!("cannot serialise a request body: {e}"),
        })
}

/// The request for turn `turn` of a conversation, after `prev` was answered.
///
/// Turns are numbered from 0 (the first request), so `turn ≥ 1` and the new
/// user message is `prev.followups[turn − 1]`. The previous chat body is parsed,
/// the assistant answer and the next user message are appended to its
/// `messages`, and the body is re-serialised with every other field unchanged.
/// Token targets are cleared (the context now holds the server's answer; the
/// server's `usage` gives the real count).
///
/// # Errors
/// When `prev` is not a chat request, its body is not a chat body, or there is
/// no follow-up for `turn`.
pub fn next_turn(
    prev: &PreparedRequest,
    assistant_answer: &str,
    turn: u32,
) -> Result<PreparedRequest, DatasetError> {
    let fail = |message: String| DatasetError::Build { message };
    if turn == 0 {
        return Err(fail(
            "turn 0 is the first request; follow-ups start at turn 1".into(),
        ));
    }
    let followup = prev.followups.get(turn as usize - 1).ok_or_else(|| {
        fail(format!(
            "request {} has {} follow-up turn(s); turn {turn} does not exist",
            prev.index,
            prev.followups.len()
        ))
    })?;
    let mut body: Value = serde_json::from_slice(&prev.body)
        .map_err(|e| fail(format!("request {}: the body is not JSON: {e}", prev.index)))?;
    let msgs = body
        .get_mut("messages")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| {
            fail(format!(
                "request {} is not a chat request (path {}); multi-turn needs api = \"chat\"",
                prev.index, prev.path
            ))
        })?;
    msgs.push(json!({"role": "assistant", "content": assistant_answer}));
    msgs.push(json!({"role": "user", "content": followup}));
    let bytes = serde_json::to_vec(&body)
        .map_err(|e| fail(format!("cannot serialise a request body: {e}")))?;
    Ok(PreparedRequest {
        body: Bytes::from(bytes),
        target_input_tokens: None,
        built_input_tokens: None,
        ..prev.clone()
    })
}
