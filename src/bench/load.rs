//! The closed loop every benchmark drives: `streams` tasks, each sending one
//! streamed chat request after another through [`HttpClient::send`] — the very
//! function `tokenomics run` uses to send a request and build its
//! [`RequestRecord`] — until told to stop.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::client::{HttpClient, RequestContext};
use crate::clock::now_ns;
use crate::dataset::PreparedRequest;
use crate::error::Error;
use crate::plan::{EndpointSpec, EndpointTarget, RetryPolicy, Timeouts};
use crate::record::RequestRecord;
use crate::vocab::{ApiKind, EncodingFormat, MalformedPolicy};

/// The model name the simulator serves by default.
const MODEL: &str = "sim-model";

/// The endpoint of the benchmark: the simulator's chat API, streamed, with the
/// defaults of a manifest endpoint (600 s total timeout, no retries, malformed
/// events skipped, 16 MiB event limit) except a 30 s connect timeout, since
/// thousands of connections are opened at once.
#[must_use]
pub fn endpoint(base_url: &str) -> EndpointSpec {
    EndpointSpec {
        name: "bench-sim".into(),
        target: EndpointTarget::Url(base_url.to_owned()),
        model: MODEL.into(),
        api: ApiKind::Chat,
        stream: true,
        api_key_env: None,
        timeouts: Timeouts {
            total: Duration::from_secs(600),
            connect: Duration::from_secs(30),
            first_byte: None,
            idle: None,
        },
        extra_body: serde_json::Map::new(),
        headers: BTreeMap::new(),
        headers_env: BTreeMap::new(),
        temperature: None,
        ignore_eos: true,
        min_tokens: false,
        n: 1,
        tokenizer: None,
        health_path: "/v1/models".into(),
        retry: RetryPolicy::default(),
        malformed: MalformedPolicy::Skip,
        max_event_bytes: 16 * 1024 * 1024,
        scrape: None,
        encoding_format: EncodingFormat::Float,
        embed_batch_in_one_request: false,
        path_override: None,
        embedding_dim: None,
        preconnect: true,
    }
}

/// A streamed chat request for exactly `tokens` token events, shaped like the
/// bodies the dataset stage builds (`stream_options.include_usage`, `ignore_eos`).
#[must_use]
pub fn chat_request(tokens: u32) -> PreparedRequest {
    chat_request_with_prompt(tokens, 0)
}

/// [`chat_request`] with a prompt of `words` words (0: the one-line prompt).
#[must_use]
pub fn chat_request_with_prompt(tokens: u32, words: u32) -> PreparedRequest {
    let content = if words == 0 {
        "Benchmark the client: stream tokens as they come.".to_string()
    } else {
        "word ".repeat(words as usize)
    };
    let body = serde_json::json!({
        "model": MODEL,
        "messages": [{"role": "user", "content": content}],
        "max_tokens": tokens,
        "ignore_eos": true,
        "stream": true,
        "stream_options": {"include_usage": true},
    });
    PreparedRequest {
        index: 0,
        path: "/chat/completions".into(),
        body: Bytes::from(body.to_string()),
        model: MODEL.into(),
        lora: None,
        target_input_tokens: Some(words.max(9)),
        built_input_tokens: Some(words.max(9)),
        target_output_tokens: Some(tokens),
        max_tokens: Some(tokens),
        items: 1,
        prefix_group: None,
        followups: Vec::new(),
        conversation: None,
    }
}

/// Builds the client for `streams` concurrent streams (a keep-alive pool of
/// one connection per stream, as the runner sizes it to the concurrency).
///
/// # Errors
/// When the HTTP client cannot be built.
pub fn client(base_url: &str, streams: u32) -> Result<HttpClient, Error> {
    HttpClient::new(&endpoint(base_url), base_url, streams.max(1) as usize).map_err(|e| {
        Error::Bench {
            message: format!("benchmark client: {e}"),
            hint: None,
        }
    })
}

/// One finished request of a stream.
#[derive(Debug)]
pub struct Finished {
    /// The stream (task) that sent it, `0..streams`.
    pub stream: u32,
    /// Its position among the stream's requests (0 = the first, which also opened the connection).
    pub seq: u32,
    /// What the client measured.
    pub record: RequestRecord,
}

/// What each stream calls with every finished request (on the stream's task).
pub type OnRecord = Arc<dyn Fn(Finished) + Send + Sync>;

/// Running streams.
pub struct Streams {
    handles: Vec<JoinHandle<()>>,
    /// Fired: streams send no new request (the one in flight goes on).
    stop: CancellationToken,
    /// Fired: requests in flight end at once (outcome `cancelled`, with what was measured so far).
    cancel: CancellationToken,
    /// Streams that finished at least one request.
    warmed: Arc<AtomicUsize>,
    count: usize,
}

impl Streams {
    /// Starts `streams` tasks on the current runtime. Request `k` of stream `s`
    /// carries `x-request-id: {id_prefix}-{s}-{k}`; record times are ns since `t0_ns`.
    #[must_use]
    pub fn spawn(
        client: &HttpClient,
        request: &Arc<PreparedRequest>,
        streams: u32,
        t0_ns: u64,
        id_prefix: &str,
        on_record: &OnRecord,
    ) -> Streams {
        let stop = CancellationToken::new();
        let cancel = CancellationToken::new();
        let warmed = Arc::new(AtomicUsize::new(0));
        let point_id: Arc<str> = Arc::from(id_prefix);
        let handles = (0..streams)
            .map(|stream| {
                let client = client.clone();
                let request = Arc::clone(request);
                let stop = stop.clone();
                let cancel = cancel.clone();
                let warmed = Arc::clone(&warmed);
                let point_id = Arc::clone(&point_id);
                let on_record = Arc::clone(on_record);
                tokio::spawn(async move {
                    let mut seq = 0u32;
                    while !stop.is_cancelled() {
                        let ctx = RequestContext {
                            t0_ns,
                            point_index: 0,
                            point_id: Arc::clone(&point_id),
                            run_index: 0,
                            warmup: seq == 0,
                            attempt: 1,
                            turn: 0,
                            scheduled_ns: None,
                            dispatch_ns: now_ns().saturating_sub(t0_ns),
                            request_id: format!("{point_id}-{stream}-{seq}"),
                            cancel: cancel.clone(),
                        };
                        let response = client.send(&request, &ctx, false).await;
                        if seq == 0 {
                            warmed.fetch_add(1, Ordering::AcqRel);
                        }
                        on_record(Finished {
                            stream,
                            seq,
                            record: response.record,
                        });
                        seq = seq.saturating_add(1);
                    }
                })
            })
            .collect();
        Streams {
            handles,
            stop,
            cancel,
            warmed,
            count: streams as usize,
        }
    }

    /// Waits until every stream finished its first request (so every
    /// connection is open and requests are cycling), or `limit` passed.
    /// Returns whether every stream got there.
    pub async fn warm_up(&self, limit: Duration) -> bool {
        let until = tokio::time::Instant::now() + limit;
        loop {
            if self.warmed.load(Ordering::Acquire) >= self.count {
                return true;
            }
            if tokio::time::Instant::now() >= until {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Streams that finished at least one request so far.
    #[must_use]
    pub fn warmed(&self) -> usize {
        self.warmed.load(Ordering::Acquire)
    }

    /// Stops the streams and waits for them. With `cancel_in_flight`, requests
    /// in flight end at once; otherwise they may run for `drain` before they are
    /// cancelled.
    pub async fn finish(self, cancel_in_flight: bool, drain: Duration) {
        self.stop.cancel();
        if cancel_in_flight {
            self.cancel.cancel();
        }
        let all = futures::future::join_all(self.handles);
        tokio::pin!(all);
        if tokio::time::timeout(drain, &mut all).await.is_err() {
            self.cancel.cancel();
            all.await;
        }
    }
}
