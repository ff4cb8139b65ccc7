//! The HTTP surface: the router, the arrival-stamp middleware and the small
//! endpoints (`/health`, `/v1/models`, `/metrics`, `/tokenize`). What the
//! handlers share is in `http.rs`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::time::Instant;

use super::content::{message_pieces, pieces_ids, text_inputs, word_id, TextInput};
use super::http::{error_response, Arrival, Shared, MAX_BODY_BYTES, MAX_MODEL_LEN};
use super::{generate, pooling};
use crate::clock::now_ns;

/// Stamps every request with its [`Arrival`] before the body is read.
async fn stamp_arrival(mut request: Request, next: Next) -> Response {
    let ns = now_ns();
    let arrival = Arrival {
        ns,
        instant: Instant::now(),
    };
    request.extensions_mut().insert(arrival);
    next.run(request).await
}

/// The router of every endpoint.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/v1/health", get(health))
        .route("/v1/models", get(models))
        .route("/models", get(models))
        .route("/metrics", get(metrics))
        .route("/tokenize", post(tokenize))
        .route("/v1/tokenize", post(tokenize))
        .route("/v1/chat/completions", post(generate::chat))
        .route("/v1/completions", post(generate::completions))
        .route("/v1/embeddings", post(pooling::embeddings))
        .route("/v1/rerank", post(pooling::rerank))
        .route("/rerank", post(pooling::rerank))
        .route("/v2/rerank", post(pooling::rerank))
        .route("/score", post(pooling::score))
        .route("/v1/score", post(pooling::score))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(stamp_arrival))
        .with_state(shared)
}

async fn not_found() -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        "no such endpoint on the tokenomics simulator",
        "not_found_error",
    )
}

async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn models(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let model = &shared.config.model;
    Json(json!({
        "object": "list",
        "data": [{
            "id": model,
            "object": "model",
            "created": shared.started_unix_s,
            "owned_by": "tokenomics-simulator",
            "root": model,
            "parent": null,
            "max_model_len": MAX_MODEL_LEN,
        }],
    }))
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    let text = shared.metrics.render(&shared.config.model);
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}

/// `POST /tokenize`: `{"content": …}` (llama.cpp), `{"prompt": …}` (vLLM) or
/// `{"messages": […]}` → `{"tokens": [ids], "count": n, "max_model_len": …}`,
/// with the same estimate as `usage.prompt_tokens`.
async fn tokenize(body: Bytes) -> Response {
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                &format!("the body is not valid JSON: {e}"),
                "invalid_request_error",
            )
        }
    };
    let ids = if let Some(messages) = value.get("messages") {
        message_pieces(messages).map(|pieces| pieces_ids(&pieces))
    } else if let Some(text) = value.get("content").or_else(|| value.get("prompt")) {
        text_inputs(text, "prompt").map(|inputs| {
            inputs
                .iter()
                .flat_map(|input| match input {
                    TextInput::Text(t) => t.split_whitespace().map(word_id).collect::<Vec<_>>(),
                    TextInput::Ids(ids) => ids
                        .iter()
                        .map(|&id| u32::try_from(id).unwrap_or(u32::MAX))
                        .collect(),
                })
                .collect()
        })
    } else {
        Err("expected `content`, `prompt` or `messages`".to_owned())
    };
    match ids {
        Ok(ids) => Json(json!({
            "count": ids.len(),
            "max_model_len": MAX_MODEL_LEN,
            "tokens": ids,
        }))
        .into_response(),
        Err(message) => error_response(StatusCode::BAD_REQUEST, &message, "invalid_request_error"),
    }
}
