//! Preflight: before any load is sent, is the endpoint up, is its API key set,
//! and does it serve the model? One message per problem, with the fix.
//!
//! [`check_endpoint`] is the whole check the runner makes for each endpoint:
//! 1. the API-key variable named by `api_key_env` is set (never its value in a message);
//! 2. `GET health_path` answers 2xx (default: the base URL's `/models`);
//! 3. the model list (`GET {base_url}/models`) names the configured model, with a
//!    "did you mean" from the served names. A server that lists no models passes;
//!    when `health_path` is another path, a `/models` that does not answer is no
//!    failure (the server may not list models), and the answer or the error is
//!    kept for `environment.json`.
//!
//! The GETs have a short timeout ([`PREFLIGHT_TIMEOUT`], or the endpoint's total
//! timeout when shorter); a [`FetchError`] names the URL and the cause.
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

use super::{api_key, HttpClient};
use crate::plan::EndpointSpec;

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

/// Why a preflight GET got no usable answer. Every message names the URL
/// (without user info); an API key in any text is replaced by `<redacted>`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("`{path}` does not make a valid URL ({url}): {reason}")]
    BadUrl {
        path: String,
        url: String,
        reason: String,
    },
    #[error("GET {url} failed: {cause}")]
    Failed { url: String, cause: String },
    #[error("GET {url}: reading the body failed: {cause}")]
    Body { url: String, cause: String },
    #[error("GET {url}: the body is larger than max_event_bytes ({max})")]
    TooLarge { url: String, max: usize },
    #[error("GET {url} did not answer within {limit:?}")]
    Timeout { url: String, limit: Duration },
    #[error("GET {url} answered HTTP {status}: {excerpt}")]
    Status {
        url: String,
        status: u16,
        excerpt: String,
    },
    #[error("GET {url} did not return JSON ({reason}): {excerpt}")]
    NotJson {
        url: String,
        reason: String,
        excerpt: String,
    },
}

/// A failed preflight: what failed for which endpoint, and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PreflightError {
    pub message: String,
    pub hint: Option<String>,
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
pub async fn preflight_get(
    client: &HttpClient,
    path: &str,
) -> Result<PreflightResponse, FetchError> {
    let raw = resolve_url(&client.base_url, path);
    let url = reqwest::Url::parse(&raw).map_err(|e| FetchError::BadUrl {
        path: path.to_owned(),
        url: raw.clone(),
        reason: e.to_string(),
    })?;
    let shown = shown_url(&url);
    let limit = PREFLIGHT_TIMEOUT.min(client.endpoint.timeouts.total);
    let max = client.endpoint.max_event_bytes;
    let mut rb = client.inner.get(url.clone());
    for (name, value) in client.secret_headers_for(&url) {
        rb = rb.header(name.clone(), value.clone());
    }
    let fetch = async {
        let resp = rb.send().await.map_err(|e| FetchError::Failed {
            url: shown.clone(),
            cause: client.scrub(super::request::error_chain(&e)),
        })?;
        let status = resp.status().as_u16();
        let mut body = Vec::new();
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| FetchError::Body {
                url: shown.clone(),
                cause: client.scrub(super::request::error_chain(&e)),
            })?;
            if body.len() + chunk.len() > max {
                return Err(FetchError::TooLarge {
                    url: shown.clone(),
                    max,
                });
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
        Ok(r) => r,
        Err(_) => Err(FetchError::Timeout { url: shown, limit }),
    }
}

/// A non-2xx answer as an error.
fn require_2xx(
    client: &HttpClient,
    resp: PreflightResponse,
) -> Result<PreflightResponse, FetchError> {
    if (200..300).contains(&resp.status) {
        Ok(resp)
    } else {
        Err(FetchError::Status {
            excerpt: client.secrets.excerpt(&resp.body),
            url: resp.url,
            status: resp.status,
        })
    }
}

/// GETs the endpoint's `health_path`; succeeds on a 2xx answer.
///
/// # Errors
/// When [`preflight_get`] fails or the status is not 2xx (with a body excerpt).
pub async fn check_health(client: &HttpClient) -> Result<PreflightResponse, FetchError> {
    let path = client.endpoint.health_path.clone();
    let resp = preflight_get(client, &path).await?;
    require_2xx(client, resp)
}

/// GETs `{base_url}/models` (with the API key) and returns the parsed JSON.
///
/// # Errors
/// When [`preflight_get`] fails, the status is not 2xx, or the body is not JSON.
pub async fn fetch_models(client: &HttpClient) -> Result<Value, FetchError> {
    let resp = require_2xx(client, preflight_get(client, "models").await?)?;
    parse_models(client, &resp)
}

fn parse_models(client: &HttpClient, resp: &PreflightResponse) -> Result<Value, FetchError> {
    serde_json::from_slice(&resp.body).map_err(|e| FetchError::NotJson {
        url: resp.url.clone(),
        reason: e.to_string(),
        excerpt: client.secrets.excerpt(&resp.body),
    })
}

/// The whole preflight of one endpoint (see the module docs). Returns the
/// `/models` answer (or `{"error": …}` when a server with its own `health_path`
/// lists none) for `environment.json`.
///
/// # Errors
/// A [`PreflightError`] naming the endpoint, what failed and how to fix it.
pub async fn check_endpoint(ep: &EndpointSpec, base_url: &str) -> Result<Value, PreflightError> {
    let name = &ep.name;
    api_key(ep).map_err(|e| PreflightError {
        message: format!("endpoint `{name}`: {e}"),
        hint: ep
            .api_key_env
            .as_ref()
            .map(|v| format!("export {v}=<your key> before running")),
    })?;
    let client = HttpClient::new(ep, base_url, 1).map_err(|e| PreflightError {
        message: format!("endpoint `{name}`: {e}"),
        hint: None,
    })?;
    let unreachable = |e: FetchError| {
        PreflightError {
        message: format!("endpoint `{name}` at {base_url} did not answer: {e}"),
        hint: Some(
            "start the server (see server/README.md), fix `base_url` or `health_path`, or skip this check with --no-preflight".into(),
        ),
    }
    };
    let health = check_health(&client).await.map_err(unreachable)?;
    let health_is_models =
        resolve_url(&client.base_url, &ep.health_path) == resolve_url(&client.base_url, "models");
    let models = if health_is_models {
        parse_models(&client, &health).map_err(unreachable)?
    } else {
        match fetch_models(&client).await {
            Ok(models) => models,
            Err(e) => serde_json::json!({ "error": e.to_string() }),
        }
    };
    check_model(ep, &models)?;
    Ok(models)
}

/// The model must be listed by the server when the server lists any models.
fn check_model(ep: &EndpointSpec, models: &Value) -> Result<(), PreflightError> {
    let ids = model_ids(models);
    if ids.is_empty() || ids.contains(&ep.model.as_str()) {
        return Ok(());
    }
    let suggestion = crate::suggest::closest(&ep.model, ids.iter().copied());
    Err(PreflightError {
        message: format!(
            "endpoint `{}`: the server does not serve model `{}` (it serves: {})",
            ep.name,
            ep.model,
            ids.join(", ")
        ),
        hint: Some(match suggestion {
            Some(s) => format!("did you mean `{s}`? set endpoints.{}.model", ep.name),
            None => format!(
                "set endpoints.{}.model to one of the served models",
                ep.name
            ),
        }),
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
