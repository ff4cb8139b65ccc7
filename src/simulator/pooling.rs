//! Pooling endpoints: embeddings, rerank and score.
//!
//! Each answers once, `pooling_latency + pooling_per_token × input_tokens` after
//! its arrival (absolute deadline; `stall_for` later under the stall fault),
//! independently of other requests. Input tokens use the estimate of
//! [`super::content`]:
//!
//! * embeddings: the sum over inputs;
//! * rerank: `Σ_documents (query + document)` (one cross-encoder pair per document);
//! * score: `Σ_pairs (text_1 + text_2)`; SGLang shape: `Σ_items (query + item)`.
//!
//! Vectors and scores are deterministic functions of the texts
//! ([`super::content::embedding`], [`super::content::relevance`]).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::Extension;
use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::content::{
    embedding, fnv1a, relevance, splitmix_unit, text_inputs, word_count, TextInput,
};
use super::http::{bad_request, json_body, Arrival, Begun, Shared};
use super::log::Recorder;
use super::timing::pooling_latency;
use crate::vocab::FaultKind;

fn parse_object(body: &[u8]) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(obj)) => Ok(obj),
        Ok(_) => Err("the body must be a JSON object".to_owned()),
        Err(e) => Err(format!("the body is not valid JSON: {e}")),
    }
}

/// What a pooling endpoint computed: the response body and its input tokens.
type Pooled = Result<(Value, u32), String>;

/// The shared flow of every pooling endpoint.
async fn pool(
    shared: &Shared,
    arrival: Arrival,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
    compute: impl FnOnce(&Shared, Map<String, Value>, u64) -> Pooled,
) -> Response {
    let mut begun = Begun::new(shared, arrival, headers, path);
    if let Some(response) = begun.apply(shared) {
        return response;
    }
    let Begun {
        seq,
        fault,
        mut recorder,
        ..
    } = begun;
    let computed = parse_object(body).and_then(|obj| compute(shared, obj, seq));
    let (value, tokens) = match computed {
        Ok(done) => done,
        Err(message) => {
            recorder.fault(None);
            return bad_request(&mut recorder, &message);
        }
    };
    finish(shared, arrival, value, tokens, fault, &mut recorder).await
}

async fn finish(
    shared: &Shared,
    arrival: Arrival,
    value: Value,
    tokens: u32,
    fault: Option<FaultKind>,
    recorder: &mut Recorder,
) -> Response {
    recorder.request(false, tokens, 0);
    shared.metrics.add_prompt_tokens(u64::from(tokens));
    let bytes = serde_json::to_vec(&value).unwrap_or_default();
    let mut delay = pooling_latency(&shared.config, u64::from(tokens));
    if fault == Some(FaultKind::Stall) {
        delay = delay.saturating_add(shared.config.faults.stall_for);
    }
    tokio::time::sleep_until(arrival.instant + delay).await;
    json_body(bytes, fault, recorder)
}

/// `POST /v1/embeddings`: `input` (string, list of strings, token ids or lists
/// of them), `encoding_format` `float` (default) or `base64` (little-endian f32).
pub async fn embeddings(
    State(shared): State<Arc<Shared>>,
    Extension(arrival): Extension<Arrival>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    pool(
        &shared,
        arrival,
        uri.path(),
        &headers,
        &body,
        |shared, obj, _seq| {
            let inputs = text_inputs(obj.get("input").ok_or("`input` is required")?, "input")?;
            let base64 = match obj.get("encoding_format") {
                None | Some(Value::Null) => false,
                Some(Value::String(s)) if s == "float" => false,
                Some(Value::String(s)) if s == "base64" => true,
                Some(other) => {
                    return Err(format!(
                        "`encoding_format` must be \"float\" or \"base64\", got {other}"
                    ))
                }
            };
            let dim = shared.config.embedding_dim;
            let data: Vec<Value> = inputs
                .iter()
                .enumerate()
                .map(|(index, input)| {
                    let vector = embedding(input.fingerprint(), dim);
                    let encoded = if base64 {
                        let bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
                        Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
                    } else {
                        json!(vector)
                    };
                    json!({"object": "embedding", "index": index, "embedding": encoded})
                })
                .collect();
            let tokens = inputs
                .iter()
                .map(TextInput::tokens)
                .fold(0_u32, u32::saturating_add);
            let value = json!({
                "object": "list",
                "data": data,
                "model": shared.config.model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            });
            Ok((value, tokens))
        },
    )
    .await
}

/// A rerank document: a string or an object with `text`.
fn document_text(doc: &Value) -> Option<&str> {
    doc.as_str()
        .or_else(|| doc.get("text").and_then(Value::as_str))
}

/// `POST /v1/rerank`, `/rerank`, `/v2/rerank` (Jina/Cohere): `query`,
/// `documents` (strings or `{text}`), optional `top_n` and `return_documents`
/// → `results` sorted by `relevance_score` (descending, ties by index).
pub async fn rerank(
    State(shared): State<Arc<Shared>>,
    Extension(arrival): Extension<Arrival>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    pool(
        &shared,
        arrival,
        uri.path(),
        &headers,
        &body,
        |shared, obj, seq| {
            let query = obj
                .get("query")
                .and_then(Value::as_str)
                .ok_or("`query` (a string) is required")?;
            let docs = obj
                .get("documents")
                .and_then(Value::as_array)
                .ok_or("`documents` (a list) is required")?;
            let texts: Vec<&str> = docs
                .iter()
                .map(document_text)
                .collect::<Option<_>>()
                .ok_or("every document must be a string or an object with `text`")?;
            let top_n = match obj.get("top_n") {
                None | Some(Value::Null) => texts.len(),
                Some(v) => v
                    .as_u64()
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or("`top_n` must be a non-negative integer")?,
            };
            let return_documents = obj
                .get("return_documents")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let query_fp = fnv1a(query.as_bytes());
            let mut scored: Vec<(usize, f64)> = texts
                .iter()
                .enumerate()
                .map(|(i, t)| (i, relevance(query_fp, fnv1a(t.as_bytes()))))
                .collect();
            scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            scored.truncate(top_n);
            let results: Vec<Value> = scored
                .iter()
                .map(|&(index, score)| {
                    let mut r = json!({"index": index, "relevance_score": score});
                    if return_documents {
                        r["document"] = json!({"text": texts[index]});
                    }
                    r
                })
                .collect();
            let query_tokens = word_count(query);
            let tokens = texts.iter().fold(0_u32, |acc, t| {
                acc.saturating_add(query_tokens.saturating_add(word_count(t)))
            });
            let value = json!({
                "id": format!("rerank-sim-{seq}"),
                "model": shared.config.model,
                "results": results,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            });
            Ok((value, tokens))
        },
    )
    .await
}

/// `POST /score`, `/v1/score`. vLLM shape: `text_1` (one text or a list) and
/// `text_2` (a list, or one text): one pair per `text_2` when `text_1` has one
/// entry, else pairwise (equal lengths) → `data[{index, object:"score", score}]`.
/// SGLang shape (when `items` is present): `query`, `items`, `label_token_ids`,
/// `apply_softmax` → `scores[item][label]` (each row sums to 1 with `apply_softmax`).
pub async fn score(
    State(shared): State<Arc<Shared>>,
    Extension(arrival): Extension<Arrival>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    pool(
        &shared,
        arrival,
        uri.path(),
        &headers,
        &body,
        |shared, obj, seq| {
            if obj.contains_key("items") {
                sglang_score(shared, &obj)
            } else {
                vllm_score(shared, &obj, seq)
            }
        },
    )
    .await
}

fn vllm_score(shared: &Shared, obj: &Map<String, Value>, seq: u64) -> Pooled {
    let left = text_inputs(obj.get("text_1").ok_or("`text_1` is required")?, "text_1")?;
    let right = text_inputs(obj.get("text_2").ok_or("`text_2` is required")?, "text_2")?;
    let pairs: Vec<(&TextInput, &TextInput)> = if left.len() == 1 {
        right.iter().map(|r| (&left[0], r)).collect()
    } else if left.len() == right.len() {
        left.iter().zip(right.iter()).collect()
    } else {
        return Err(format!(
            "`text_1` has {} entries and `text_2` {}: give one `text_1`, or as many as `text_2`",
            left.len(),
            right.len()
        ));
    };
    let data: Vec<Value> = pairs
        .iter()
        .enumerate()
        .map(|(index, (a, b))| {
            json!({
                "index": index,
                "object": "score",
                "score": relevance(a.fingerprint(), b.fingerprint()),
            })
        })
        .collect();
    let tokens = pairs.iter().fold(0_u32, |acc, (a, b)| {
        acc.saturating_add(a.tokens().saturating_add(b.tokens()))
    });
    let value = json!({
        "id": format!("score-sim-{seq}"),
        "object": "list",
        "created": crate::clock::wall_ns() / 1_000_000_000,
        "model": shared.config.model,
        "data": data,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens, "completion_tokens": 0},
    });
    Ok((value, tokens))
}

fn sglang_score(shared: &Shared, obj: &Map<String, Value>) -> Pooled {
    let query = text_inputs(obj.get("query").ok_or("`query` is required")?, "query")?;
    let [query] = query.as_slice() else {
        return Err("`query` must be one text or one list of token ids".to_owned());
    };
    let items = text_inputs(obj.get("items").ok_or("`items` is required")?, "items")?;
    let labels: Vec<u64> = obj
        .get("label_token_ids")
        .and_then(Value::as_array)
        .and_then(|ids| ids.iter().map(Value::as_u64).collect::<Option<Vec<_>>>())
        .filter(|ids| !ids.is_empty())
        .ok_or("`label_token_ids` must be a non-empty list of token ids")?;
    let softmax = obj
        .get("apply_softmax")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let query_fp = query.fingerprint();
    let scores: Vec<Vec<f64>> = items
        .iter()
        .map(|item| {
            let pair = relevance(query_fp, item.fingerprint()).to_bits();
            // One value in (0, 1) per label: (u + 0.001) / 1.001.
            let raw: Vec<f64> = labels
                .iter()
                .map(|&label| {
                    (splitmix_unit(pair ^ label.wrapping_mul(0x9E37_79B9)) + 0.001) / 1.001
                })
                .collect();
            if softmax {
                let sum: f64 = raw.iter().sum();
                raw.iter().map(|x| x / sum).collect()
            } else {
                raw
            }
        })
        .collect();
    let tokens = items.iter().fold(0_u32, |acc, item| {
        acc.saturating_add(query.tokens().saturating_add(item.tokens()))
    });
    let value = json!({
        "object": "scoring",
        "model": shared.config.model,
        "scores": scores,
        "usage": {"prompt_tokens": tokens, "completion_tokens": 0, "total_tokens": tokens},
    });
    Ok((value, tokens))
}
