//! STAGE 4: one request over HTTP/SSE → one [`RequestRecord`].
//!
//! Failures are data: [`HttpClient::send`] always returns a record whose
//! `outcome` says how the request ended and why.

pub mod sse;

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::dataset::PreparedRequest;
use crate::plan::EndpointSpec;
use crate::record::RequestRecord;

/// Per-request context from the runner.
#[derive(Clone, Debug)]
pub struct RequestContext {
    /// The run's `t0` on [`crate::clock::now_ns`].
    pub t0_ns: u64,
    pub point_index: u32,
    pub point_id: Arc<str>,
    pub run_index: u32,
    pub warmup: bool,
    pub attempt: u32,
    pub turn: u32,
    pub scheduled_ns: Option<u64>,
    pub dispatch_ns: u64,
    /// The `x-request-id` header value.
    pub request_id: String,
    pub cancel: CancellationToken,
}

/// The result of one request: the record, and the generated text when the
/// caller asked for it (multi-turn conversations).
#[derive(Debug)]
pub struct Response {
    pub record: RequestRecord,
    pub text: Option<String>,
}

/// Errors building a client (bad URL, TLS setup): before any request is sent.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    Build(String),
}

/// A connection pool bound to one endpoint.
#[derive(Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    base_url: Arc<str>,
    endpoint: Arc<EndpointSpec>,
    auth_header: Option<Arc<str>>,
}

impl HttpClient {
    /// Builds a client for `endpoint` at `base_url`, with a keep-alive pool for `pool_size` connections.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(
        endpoint: &EndpointSpec,
        base_url: &str,
        pool_size: usize,
    ) -> Result<Self, ClientError> {
        let _ = (endpoint, base_url, pool_size);
        todo!("client::HttpClient::new")
    }

    /// Sends one request and measures it. Never fails: failures are outcomes.
    pub async fn send(
        &self,
        req: &PreparedRequest,
        ctx: &RequestContext,
        want_text: bool,
    ) -> Response {
        let _ = (
            req,
            ctx,
            want_text,
            &self.inner,
            &self.base_url,
            &self.endpoint,
            &self.auth_header,
        );
        todo!("client::HttpClient::send")
    }
}
