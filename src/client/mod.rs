//! STAGE 4: one request over HTTP/SSE → one [`RequestRecord`].
//!
//! Failures are data: [`HttpClient::send`] always returns a record whose
//! `outcome` says how the request ended and why.
//!
//! Submodules: [`sse`] (bytes → timestamped events, pure), [`openai`] (chunk and
//! body parsing, the hot path), [`pooling`] (embeddings / rerank / score checks),
//! `request` (the exchange itself: timeouts, outcomes, the record),
//! [`transport`] (the connections: keep-alive pool, preconnect, the reconnect
//! rule) and [`preflight`] (health check and model list before a run).
//!
//! # The API key
//! [`api_key`] reads the key from the environment variable the endpoint names.
//! The key is sent only as `Authorization: Bearer …`, only to the endpoint's own
//! origin (scheme, host and port of its base URL), marked sensitive in the
//! header map, and never written into a record, an error string or a log:
//! errors are built from status lines, response bodies and the transport's error
//! chain (never from request headers), and any error text is scrubbed of the
//! key before it is stored.
//!
//! # HTTP settings
//! Measured requests go through [`transport`]: HTTP/1.1 only (like the
//! original's aiohttp; a connection carries one request at a time), a
//! keep-alive pool of up to `pool_size` idle connections (raised by
//! [`HttpClient::preconnect`]), `TCP_NODELAY`, the endpoint's connect timeout,
//! no redirects, no proxy, no compression, no `User-Agent`. Preflight GETs use
//! a `reqwest` client with the same settings.

pub mod openai;
pub mod pooling;
pub mod preflight;
mod request;
pub mod sse;
#[cfg(test)]
mod tests;
pub mod transport;

use std::sync::Arc;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use tokio_util::sync::CancellationToken;

use crate::dataset::PreparedRequest;
use crate::plan::EndpointSpec;
use crate::record::RequestRecord;

pub use transport::Preconnected;

pub use preflight::{
    check_endpoint, check_health, fetch_models, model_ids, preflight_get, resolve_url, FetchError,
    PreflightError,
};

/// Per-request context from the runner.
#[derive(Clone, Debug)]
pub struct RequestContext {
    /// The run's `t0` on [`crate::clock::now_ns`].
    pub t0_ns: u64,
    /// Index of the point in the plan.
    pub point_index: u32,
    /// Stable id of the point.
    pub point_id: Arc<str>,
    /// Repetition of the point.
    pub run_index: u32,
    /// Warmup requests are recorded but not measured.
    pub warmup: bool,
    /// 1 for the first attempt, counting up on retries.
    pub attempt: u32,
    /// Turn within a multi-turn conversation (0 for single-turn).
    pub turn: u32,
    /// When the schedule said to send (ns since `t0`), for open-loop modes.
    pub scheduled_ns: Option<u64>,
    /// When the request became due (ns since `t0`).
    pub dispatch_ns: u64,
    /// The `x-request-id` header value.
    pub request_id: String,
    /// Fired on Ctrl-C: an in-flight request ends at once as `cancelled`.
    pub cancel: CancellationToken,
}

/// The result of one request: the record, and the generated text when the
/// caller asked for it (multi-turn conversations).
#[derive(Debug)]
pub struct Response {
    /// The measurement.
    pub record: RequestRecord,
    /// The output text of the first choice (reasoning excluded), when asked for
    /// and the request succeeded.
    pub text: Option<String>,
}

/// Errors building a client (bad URL, TLS setup): before any request is sent.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The client could not be built; the message says what to fix.
    #[error("{0}")]
    Build(String),
}

/// The secret values a client sends: the API key and the values of
/// `headers_env`. They are sent only to the endpoint's own origin and never
/// written anywhere: [`Secrets::scrub`] replaces them in any text first, and
/// [`Secrets::excerpt`] scrubs a whole response before cutting it to an excerpt,
/// so a secret straddling the cut cannot leave in part. `Debug` shows none.
#[derive(Clone, Default)]
pub struct Secrets {
    /// Header name and value (marked sensitive), sent to the endpoint's origin.
    headers: Arc<[(HeaderName, HeaderValue)]>,
    /// The raw values, longest first, to scrub from text.
    values: Arc<[Arc<str>]>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets({} redacted)", self.values.len())
    }
}

impl Secrets {
    /// `text` with every secret value replaced by `<redacted>`.
    #[must_use]
    pub fn scrub(&self, mut text: String) -> String {
        for v in self.values.iter().filter(|v| !v.is_empty()) {
            if text.contains(&**v) {
                text = text.replace(&**v, "<redacted>");
            }
        }
        text
    }

    /// An [`excerpt`] of response data, scrubbed before it is cut.
    #[must_use]
    pub fn excerpt(&self, bytes: &[u8]) -> String {
        if self.values.is_empty() {
            return excerpt(bytes);
        }
        excerpt(
            self.scrub(String::from_utf8_lossy(bytes).into_owned())
                .as_bytes(),
        )
    }
}

/// Why a `headers_env` variable cannot be read. Names the variable, never a value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeaderEnvError {
    #[error("environment variable {var} (headers_env of endpoint `{endpoint}`, header `{header}`) is not set, empty or not UTF-8; export it with the header's value")]
    Unset {
        var: String,
        endpoint: String,
        header: String,
    },
}

/// A connection pool bound to one endpoint.
#[derive(Clone)]
pub struct HttpClient {
    /// Preflight GETs.
    inner: reqwest::Client,
    /// Measured requests.
    transport: transport::Transport,
    /// The endpoint's extra headers, sent with every measured request.
    headers: HeaderMap,
    /// The base URL without a trailing `/`, e.g. `http://localhost:8000/v1`.
    base_url: Arc<str>,
    /// `scheme://host:port` of the base URL (no user info): for messages and
    /// for the same-origin rule of the API key.
    origin: Arc<str>,
    endpoint: Arc<EndpointSpec>,
    /// The API key and `headers_env` values.
    secrets: Secrets,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("endpoint", &self.endpoint.name)
            .field("base_url", &self.base_url)
            .field("secrets", &self.secrets)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// Builds a client for `endpoint` at `base_url`, with a keep-alive pool for `pool_size` connections.
    ///
    /// Reads the API key (see [`api_key`]) now, so a missing key fails before any request.
    ///
    /// # Errors
    /// When the base URL is not an http(s) URL, the API key variable is unset, an
    /// extra header is not a valid HTTP header, or the HTTP client cannot be built.
    pub fn new(
        endpoint: &EndpointSpec,
        base_url: &str,
        pool_size: usize,
    ) -> Result<Self, ClientError> {
        // reqwest is built with `rustls-no-provider`: install ring once per process
        // (a second install fails harmlessly).
        let _ = rustls::crypto::ring::default_provider().install_default();

        let base = base_url.trim_end_matches('/');
        let origin = origin_of(base).ok_or_else(|| {
            ClientError::Build(format!(
                "base URL `{base}` of endpoint `{}` is not an http:// or https:// URL with a host",
                endpoint.name
            ))
        })?;

        let secrets = secrets_of(endpoint)?;

        let mut headers = HeaderMap::new();
        for (name, value) in &endpoint.headers {
            let n = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                ClientError::Build(format!(
                    "header name `{name}` of endpoint `{}` is not a valid HTTP header name",
                    endpoint.name
                ))
            })?;
            let v = HeaderValue::from_str(value).map_err(|_| {
                ClientError::Build(format!(
                    "the value of header `{name}` of endpoint `{}` is not a valid HTTP header value",
                    endpoint.name
                ))
            })?;
            headers.insert(n, v);
        }

        let url = reqwest::Url::parse(base).map_err(|e| {
            ClientError::Build(format!(
                "base URL `{base}` of endpoint `{}` is not a valid URL: {e}",
                endpoint.name
            ))
        })?;
        let transport = transport::Transport::new(&url, endpoint.timeouts.connect, pool_size)
            .map_err(|e| {
                ClientError::Build(format!(
                    "cannot set up connections for endpoint `{}`: {e}",
                    endpoint.name
                ))
            })?;

        let inner = reqwest::Client::builder()
            .default_headers(headers.clone())
            .http1_only()
            .pool_max_idle_per_host(pool_size.max(1))
            .tcp_nodelay(true)
            .connect_timeout(endpoint.timeouts.connect)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(|e| {
                ClientError::Build(format!(
                    "cannot build the HTTP client for endpoint `{}`: {}",
                    endpoint.name,
                    request::error_chain(&e)
                ))
            })?;

        Ok(HttpClient {
            inner,
            transport,
            headers,
            base_url: Arc::from(base),
            origin: Arc::from(origin),
            endpoint: Arc::new(endpoint.clone()),
            secrets,
        })
    }

    /// Sends one request and measures it. Never fails: failures are outcomes.
    ///
    /// With `want_text`, [`Response::text`] holds the first choice's output text
    /// when the request succeeded.
    pub async fn send(
        &self,
        req: &PreparedRequest,
        ctx: &RequestContext,
        want_text: bool,
    ) -> Response {
        request::send(self, req, ctx, want_text).await
    }

    /// Opens connections until `n` are idle in the pool, before a load's clock
    /// starts (see [`transport`]). Never fails: what could not be opened is
    /// counted in the result, and requests open what they need later.
    pub async fn preconnect(&self, n: usize) -> Preconnected {
        self.transport.preconnect(n).await
    }

    /// Connections opened so far for measured requests (preconnected,
    /// opened by requests and by reconnects).
    #[must_use]
    pub fn connections_opened(&self) -> u64 {
        self.transport.connections_opened()
    }

    /// Idle connections in the pool now.
    #[must_use]
    pub fn idle_connections(&self) -> usize {
        self.transport.idle_connections()
    }

    /// The endpoint this client talks to.
    #[must_use]
    pub fn endpoint(&self) -> &EndpointSpec {
        &self.endpoint
    }

    /// The base URL, without a trailing `/`.
    #[must_use]
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The secret headers for `url`: only for the endpoint's own origin.
    fn secret_headers_for(&self, url: &reqwest::Url) -> &[(HeaderName, HeaderValue)] {
        if origin_of_url(url).as_deref() == Some(&*self.origin) {
            &self.secrets.headers
        } else {
            &[]
        }
    }

    /// Removes every secret value from text that may have echoed it.
    fn scrub(&self, text: String) -> String {
        self.secrets.scrub(text)
    }
}

/// The API key (`Authorization: Bearer`) and the `headers_env` headers of
/// `endpoint`, read from the environment now.
fn secrets_of(endpoint: &EndpointSpec) -> Result<Secrets, ClientError> {
    let mut headers = Vec::new();
    let mut values: Vec<Arc<str>> = Vec::new();
    if let Some(key) = api_key(endpoint).map_err(|e| ClientError::Build(e.to_string()))? {
        let mut v = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| {
            ClientError::Build(format!(
                "the API key in {} contains characters not allowed in an HTTP header",
                endpoint
                    .api_key_env
                    .as_deref()
                    .unwrap_or("the API key variable")
            ))
        })?;
        v.set_sensitive(true);
        headers.push((reqwest::header::AUTHORIZATION, v));
        values.push(Arc::from(key));
    }
    for (name, var) in &endpoint.headers_env {
        let value = std::env::var(var)
            .ok()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                ClientError::Build(
                    HeaderEnvError::Unset {
                        var: var.clone(),
                        endpoint: endpoint.name.clone(),
                        header: name.clone(),
                    }
                    .to_string(),
                )
            })?;
        let n = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            ClientError::Build(format!(
                "header name `{name}` of endpoint `{}` is not a valid HTTP header name",
                endpoint.name
            ))
        })?;
        let mut v = HeaderValue::from_str(&value).map_err(|_| {
            ClientError::Build(format!(
                "the value in {var} (header `{name}` of endpoint `{}`) has characters not allowed in an HTTP header",
                endpoint.name
            ))
        })?;
        v.set_sensitive(true);
        headers.push((n, v));
        values.push(Arc::from(value));
    }
    // Longest first, so a secret that contains another is scrubbed whole.
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    Ok(Secrets {
        headers: headers.into(),
        values: values.into(),
    })
}

/// Why an endpoint's API key cannot be read. Names the variable, never a value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApiKeyError {
    #[error("environment variable {var} (api_key_env of endpoint `{endpoint}`) is not set; export it with the API key, or remove api_key_env if the server needs no key")]
    Unset { var: String, endpoint: String },
    #[error("environment variable {var} (api_key_env of endpoint `{endpoint}`) is empty; set it to the API key")]
    Empty { var: String, endpoint: String },
    #[error(
        "environment variable {var} (api_key_env of endpoint `{endpoint}`) is not valid UTF-8"
    )]
    NotUnicode { var: String, endpoint: String },
}

/// Reads the endpoint's API key from the environment variable named by
/// `api_key_env` (`Ok(None)` when the endpoint names none).
///
/// # Errors
/// When the variable is unset, empty or not UTF-8.
pub fn api_key(endpoint: &EndpointSpec) -> Result<Option<String>, ApiKeyError> {
    let Some(var) = endpoint.api_key_env.as_deref() else {
        return Ok(None);
    };
    let (var, name) = (var.to_owned(), endpoint.name.clone());
    match std::env::var(&var) {
        Ok(key) if key.trim().is_empty() => Err(ApiKeyError::Empty {
            var,
            endpoint: name,
        }),
        Ok(key) => Ok(Some(key.trim().to_string())),
        Err(std::env::VarError::NotPresent) => Err(ApiKeyError::Unset {
            var,
            endpoint: name,
        }),
        Err(std::env::VarError::NotUnicode(_)) => Err(ApiKeyError::NotUnicode {
            var,
            endpoint: name,
        }),
    }
}

/// `scheme://host:port` of an http(s) URL (user info dropped), or None.
fn origin_of(url: &str) -> Option<String> {
    origin_of_url(&reqwest::Url::parse(url).ok()?)
}

fn origin_of_url(url: &reqwest::Url) -> Option<String> {
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let host = url.host_str()?;
    let port = url.port_or_known_default()?;
    Some(format!("{}://{host}:{port}", url.scheme()))
}

/// The longest response-body excerpt kept in an error message, in characters.
pub const ERROR_EXCERPT_CHARS: usize = 512;

/// A one-line excerpt of response data for an error message: lossy UTF-8,
/// control characters as spaces, trimmed, at most [`ERROR_EXCERPT_CHARS`]
/// characters (then `…`).
#[must_use]
pub fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    let mut out = String::with_capacity(text.len().min(ERROR_EXCERPT_CHARS * 2));
    for (i, c) in text.chars().enumerate() {
        if i == ERROR_EXCERPT_CHARS {
            out.push('…');
            break;
        }
        out.push(if c.is_control() { ' ' } else { c });
    }
    out
}
