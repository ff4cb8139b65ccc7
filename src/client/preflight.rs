//! Before a run: is the endpoint up, and does it serve the model?
//!
//! These are plain GETs with a short timeout ([`PREFLIGHT_TIMEOUT`], or the
//! endpoint's total timeout when shorter); their errors are `String`s that name
//! the URL and the cause, ready for the runner's preflight error.
//!
//! # Where a path goes ([`resolve_url`])
//! * an absolute `http://` / `https://` URL is used as is;
//! * a path starting with `/` is relative to the server's root: the base URL
//!   without a trailing `/` and then without a trailing `/v1`
//!   (`http://h:8000/v1` + `/health` → `http://h:8000/health`;
//!   `http://h/proxy/v1` + `/health` → `http://h/proxy/health`; a base URL not
//!   ending in `/v1` is its own root);
//! * any other path is relative to the base URL (`models` →
//!   `http://h:8000/v1/models`).
//!
//! The API key is sent only when the URL has the base URL's origin.

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use serde_json::Value;

use super::{excerpt, HttpClient};

/// Longest wait for a preflight answer.
pub const PREFLIGHT_TIMEOUT: Duration = Duration::from_secs(30);

/// An answer to a preflight GET (any status).
#[derive(Clone, Debug)]
pub struct PreflightResponse {
    /// The URL asked (without user info).
    pub url: String,
    /// The HTTP status.
    pub status: u16,
    /// The body (at most `max_event_bytes`).
    pub body: Bytes,
}

/// The URL a preflight `path` refers to; see the module docs.
#[must_use]
pub fn resolve_url(base_url: &str, path: &str) -> String {
    let base = base_url.trim_end_matches('/');
    if path.starts_with("http://") || path.starts_with("https://") {
        return path.to_string();
    }
    if path.starts_with('/') {
        let root = base.strip_suffix("/v1").unwrap_or(base);
        return format!("{root}{path}");
    }
    format!("{base}/{path}")
}

/// GETs `path` (see [`resolve_url`]) and returns the answer, whatever its status.
///
/// # Errors
/// When no answer arrives: bad URL, connection failure, timeout, or a body
/// larger than `max_event_bytes`.
pub async fn preflight_get(client: &HttpClient, path: &str) -> Result<PreflightResponse, String> {
    let raw = resolve_url(&client.base_url, path);
    let url = reqwest::Url::parse(&raw)
        .map_err(|e| format!("`{path}` does not make a valid URL ({raw}): {e}"))?;
    let shown = shown_url(&url);
    let limit = PREFLIGHT_TIMEOUT.min(client.endpoint.timeouts.total);
    let max = client.endpoint.max_event_bytes;
    let mut rb = client.inner.get(url.clone());
    if let Some(auth) = client.auth_for(&url) {
        rb = rb.header(reqwest::header::AUTHORIZATION, auth.clone());
    }
    let fetch = async {
        let resp = rb
            .send()
            .await
            .map_err(|e| format!("GET {shown} failed: {}", super::request::error_chain(&e)))?;
        let status = resp.status().as_u16();
        let mut body = Vec::new();
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                format!(
                    "GET {shown}: reading the body failed: {}",
                    super::request::error_chain(&e)
                )
            })?;
            if body.len() + chunk.len() > max {
                return Err(format!(
                    "GET {shown}: the body is larger than max_event_bytes ({max})"
                ));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(PreflightResponse {
            url: shown.clone(),
            status,
            body: Bytes::from(body),
        })
    };
    match tokio::time::timeout(limit, fetch).await {
        Ok(r) => r.map_err(|e| client.scrub(e)),
        Err(_) => Err(format!("GET {shown} did not answer within {limit:?}")),
    }
}

/// GETs the endpoint's `health_path`; succeeds on a 2xx answer.
///
/// # Errors
/// When [`preflight_get`] fails or the status is not 2xx (with a body excerpt).
pub async fn check_health(client: &HttpClient) -> Result<PreflightResponse, String> {
    let path = client.endpoint.health_path.clone();
    let resp = preflight_get(client, &path).await?;
    if (200..300).contains(&resp.status) {
        Ok(resp)
    } else {
        Err(client.scrub(format!(
            "GET {} answered HTTP {}: {}",
            resp.url,
            resp.status,
            excerpt(&resp.body)
        )))
    }
}

/// GETs `{base_url}/models` (with the API key) and returns the parsed JSON.
///
/// # Errors
/// When [`preflight_get`] fails, the status is not 2xx, or the body is not JSON.
pub async fn fetch_models(client: &HttpClient) -> Result<Value, String> {
    let resp = preflight_get(client, "models").await?;
    if !(200..300).contains(&resp.status) {
        return Err(client.scrub(format!(
            "GET {} answered HTTP {}: {}",
            resp.url,
            resp.status,
            excerpt(&resp.body)
        )));
    }
    serde_json::from_slice(&resp.body).map_err(|e| {
        client.scrub(format!(
            "GET {} did not return JSON ({e}): {}",
            resp.url,
            excerpt(&resp.body)
        ))
    })
}

/// Model names in a `/models` answer: OpenAI's `data[].id`, else an
/// ollama-style `models[]` (`id`, `model` or `name`).
#[must_use]
pub fn model_ids(models: &Value) -> Vec<&str> {
    let ids = names_in(models.get("data"), &["id"]);
    if ids.is_empty() {
        names_in(models.get("models"), &["id", "model", "name"])
    } else {
        ids
    }
}

/// For each object of `list`, the first of `keys` that holds a string.
fn names_in<'v>(list: Option<&'v Value>, keys: &[&str]) -> Vec<&'v str> {
    list.and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|m| keys.iter().find_map(|k| m.get(*k).and_then(Value::as_str)))
                .collect()
        })
        .unwrap_or_default()
}

/// The URL without user info, for messages.
fn shown_url(url: &reqwest::Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_url_rule() {
        assert_eq!(
            resolve_url("http://h:8000/v1", "/health"),
            "http://h:8000/health"
        );
        assert_eq!(
            resolve_url("http://h:8000/v1/", "/health"),
            "http://h:8000/health"
        );
        assert_eq!(
            resolve_url("http://h/proxy/v1", "/health"),
            "http://h/proxy/health"
        );
        assert_eq!(
            resolve_url("http://h/api", "/health"),
            "http://h/api/health"
        );
        assert_eq!(
            resolve_url("http://h:8000/v1", "models"),
            "http://h:8000/v1/models"
        );
        assert_eq!(
            resolve_url("http://h:8000/v1", "https://other/health"),
            "https://other/health"
        );
    }

    #[test]
    fn model_ids_from_both_shapes() {
        let openai: Value = serde_json::json!({"object":"list","data":[{"id":"a"},{"id":"b"}]});
        assert_eq!(model_ids(&openai), vec!["a", "b"]);
        let ollama: Value = serde_json::json!({"models":[{"name":"x","model":"x:latest"}]});
        assert_eq!(model_ids(&ollama), vec!["x:latest"]);
        assert!(model_ids(&serde_json::json!({})).is_empty());
    }
}
