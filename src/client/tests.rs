//! Client tests against tiny axum servers on `127.0.0.1:0`, started per test.
//!
//! Streaming servers are scripted: they send chunks, wait for the test's signal,
//! stall or abort, and record (on the same monotonic clock as the client) when
//! each chunk was handed to the connection. No test sleeps to create timing:
//! ordering comes from signals, and timing assertions are causal bounds.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Uri};
use axum::Router;
use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::*;
use crate::clock::now_ns;
use crate::dataset::PreparedRequest;
use crate::plan::{EndpointSpec, EndpointTarget, RetryPolicy, Timeouts};
use crate::record::{Outcome, RequestRecord, TimeoutKind, TokenSource};
use crate::vocab::{ApiKind, EncodingFormat, MalformedPolicy};

type AxumResponse = axum::response::Response;

/// What the server received.
#[derive(Debug)]
struct Seen {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

struct Server {
    base_url: String,
    seen: mpsc::UnboundedReceiver<Seen>,
}

/// Serves every request with `reply`.
async fn serve<F, Fut>(reply: F) -> Server
where
    F: Fn(Arc<Seen>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = AxumResponse> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    let (tx, rx) = mpsc::unbounded_channel();
    let app = Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
        let reply = reply.clone();
        let tx = tx.clone();
        async move {
            let seen = Arc::new(Seen {
                path: uri.path().to_string(),
                headers: headers.clone(),
                body: body.clone(),
            });
            let _ = tx.send(Seen {
                path: uri.path().to_string(),
                headers,
                body,
            });
            reply(seen).await
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Server {
        base_url: format!("http://{addr}/v1"),
        seen: rx,
    }
}

/// One step of a scripted body.
enum Step {
    /// Send these bytes (and record the time).
    Send(String),
    /// Tell the test this point was reached, then wait for its signal.
    Wait(oneshot::Sender<()>, oneshot::Receiver<()>),
    /// Never send anything again.
    Stall,
    /// Abort the connection.
    Fail,
}

/// A streamed body from `steps`; send times go into `sent` (absolute ns).
fn scripted_body(steps: Vec<Step>, sent: Arc<Mutex<Vec<u64>>>) -> Body {
    let stream = futures::stream::unfold(steps.into_iter(), move |mut it| {
        let sent = Arc::clone(&sent);
        async move {
            loop {
                match it.next()? {
                    Step::Send(s) => {
                        sent.lock().expect("lock").push(now_ns());
                        return Some((Ok::<Bytes, std::io::Error>(Bytes::from(s)), it));
                    }
                    Step::Wait(reached, go) => {
                        let _ = reached.send(());
                        let _ = go.await;
                    }
                    Step::Stall => futures::future::pending::<()>().await,
                    Step::Fail => {
                        return Some((Err(std::io::Error::other("scripted abort")), it));
                    }
                }
            }
        }
    });
    Body::from_stream(stream)
}

fn sse_response(body: Body) -> AxumResponse {
    axum::http::Response::builder()
        .status(200)
        .header("content-type", "text/event-stream")
        .body(body)
        .expect("response")
}

fn json_response(status: u16, json: &str) -> AxumResponse {
    axum::http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(json.to_string()))
        .expect("response")
}

/// Serves one scripted SSE stream (later requests get a 500).
async fn serve_script(steps: Vec<Step>) -> (Server, Arc<Mutex<Vec<u64>>>) {
    let script = Arc::new(Mutex::new(Some(steps)));
    let sent = Arc::new(Mutex::new(Vec::new()));
    let sent2 = Arc::clone(&sent);
    let server = serve(move |_seen| {
        let steps = script.lock().expect("lock").take();
        let sent = Arc::clone(&sent2);
        async move {
            match steps {
                Some(steps) => sse_response(scripted_body(steps, sent)),
                None => json_response(500, "{\"error\":\"script already used\"}"),
            }
        }
    })
    .await;
    (server, sent)
}

fn data(json: &str) -> Step {
    Step::Send(format!("data: {json}\n\n"))
}

fn wait_point() -> (Step, oneshot::Receiver<()>, oneshot::Sender<()>) {
    let (reached_tx, reached_rx) = oneshot::channel();
    let (go_tx, go_rx) = oneshot::channel();
    (Step::Wait(reached_tx, go_rx), reached_rx, go_tx)
}

fn endpoint(api: ApiKind) -> EndpointSpec {
    EndpointSpec {
        name: "test".into(),
        target: EndpointTarget::Url(String::new()),
        model: "m".into(),
        api,
        stream: true,
        api_key_env: None,
        timeouts: Timeouts {
            total: Duration::from_secs(20),
            connect: Duration::from_secs(5),
            first_byte: None,
            idle: None,
        },
        extra_body: serde_json::Map::new(),
        headers: BTreeMap::new(),
        headers_env: BTreeMap::new(),
        temperature: None,
        ignore_eos: false,
        min_tokens: false,
        n: 1,
        tokenizer: None,
        health_path: "/health".into(),
        retry: RetryPolicy::default(),
        malformed: MalformedPolicy::Skip,
        max_event_bytes: 1 << 20,
        scrape: None,
        encoding_format: EncodingFormat::Float,
        embed_batch_in_one_request: false,
        path_override: None,
        embedding_dim: None,
        preconnect: true,
    }
}

fn request(path: &str, body: &serde_json::Value) -> PreparedRequest {
    PreparedRequest {
        index: 3,
        path: path.into(),
        body: Bytes::from(serde_json::to_vec(body).expect("json")),
        model: "m".into(),
        lora: None,
        target_input_tokens: Some(40),
        built_input_tokens: Some(41),
        target_output_tokens: Some(8),
        max_tokens: Some(8),
        items: 1,
        prefix_group: None,
        followups: Vec::new(),
        conversation: None,
    }
}

fn chat_request() -> PreparedRequest {
    request(
        "/chat/completions",
        &serde_json::json!({"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":8,"stream":true}),
    )
}

fn context() -> RequestContext {
    RequestContext {
        t0_ns: now_ns(),
        point_index: 2,
        point_id: Arc::from("ep.sc.burst-1"),
        run_index: 1,
        warmup: false,
        attempt: 1,
        turn: 0,
        scheduled_ns: Some(5),
        dispatch_ns: 6,
        request_id: "req-abc".into(),
        cancel: CancellationToken::new(),
    }
}

fn client_for(ep: &EndpointSpec, server: &Server) -> HttpClient {
    HttpClient::new(ep, &server.base_url, 4).expect("client")
}

const ROLE: &str = r#"{"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}],"object":"chat.completion.chunk"}"#;
const FINISH: &str = r#"{"choices":[{"finish_reason":"stop","index":0,"delta":{}}],"object":"chat.completion.chunk"}"#;
const USAGE: &str = r#"{"choices":[],"object":"chat.completion.chunk","usage":{"completion_tokens":2,"prompt_tokens":37,"total_tokens":39,"prompt_tokens_details":{"cached_tokens":4}}}"#;

fn content(text: &str) -> String {
    format!(
        r#"{{"choices":[{{"finish_reason":null,"index":0,"delta":{{"content":"{text}"}}}}],"object":"chat.completion.chunk"}}"#
    )
}

/// Lets every ready task run, the I/O driver included, several times over
/// (tokio's `yield_now` resumes the caller only after the driver was polled).
async fn settle() {
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
}

#[test]
fn send_future_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let ep = endpoint(ApiKind::Chat);
    let client = HttpClient::new(&ep, "http://127.0.0.1:9/v1", 1).expect("client");
    let req = chat_request();
    let ctx = context();
    let fut = client.send(&req, &ctx, false);
    assert_send(&fut);
}

#[tokio::test]
async fn streaming_chat_ttft_is_the_first_content_event() {
    let (w1, reached1, go1) = wait_point();
    let (w2, reached2, go2) = wait_point();
    let (mut server, sent) = serve_script(vec![
        data(ROLE),
        w1,
        data(&content("Hel")),
        w2,
        data(&content("lo")),
        data(FINISH),
        data(USAGE),
        Step::Send("data: [DONE]\n\n".into()),
    ])
    .await;
    let client = client_for(&endpoint(ApiKind::Chat), &server);
    let req = chat_request();
    let ctx = context();
    let t0 = ctx.t0_ns;
    let task = tokio::spawn({
        let (client, req, ctx) = (client.clone(), req.clone(), ctx.clone());
        async move { client.send(&req, &ctx, true).await }
    });
    reached1.await.expect("role chunk sent");
    settle().await;
    let _ = go1.send(());
    reached2.await.expect("first content sent");
    settle().await;
    let _ = go2.send(());
    let resp = task.await.expect("task");
    let r = &resp.record;
    let sent: Vec<u64> = sent.lock().expect("lock").iter().map(|t| t - t0).collect();

    assert_eq!(r.outcome, Outcome::Ok, "{:?}", r.error);
    let first_chunk = r.first_chunk_ns.expect("first chunk");
    let ttft = r.first_token_ns.expect("ttft");
    // The role-only chunk was read before the first content chunk was even sent,
    // and TTFT is the arrival of that content chunk, not of the role chunk.
    assert!(first_chunk >= sent[0]);
    assert!(
        first_chunk < sent[1],
        "{first_chunk} vs content sent at {}",
        sent[1]
    );
    assert!(first_chunk < ttft);
    assert!(ttft >= sent[1]);
    assert_eq!(r.first_output_ns, Some(ttft));
    assert_eq!(r.chunk_ns.len(), 2);
    assert_eq!(r.chunk_ns[0], ttft);
    assert!(r.chunk_ns[1] >= sent[2]);
    assert_eq!(r.last_token_ns, Some(r.chunk_ns[1]));
    // The request was written in full before the server answered it.
    let written = r.sent_ns.expect("written");
    assert!(
        r.start_ns <= written && written <= sent[0],
        "{written} vs {sent:?}"
    );
    assert!(written <= r.first_byte_ns.expect("headers"));
    assert!(r.first_byte_ns <= Some(first_chunk));
    assert!(r.end_ns >= r.chunk_ns[1]);
    assert_eq!(r.events, 5);
    // Tokens from usage; the client's own count is the content events.
    assert_eq!(
        (r.input_tokens, r.input_token_source),
        (37, TokenSource::Usage)
    );
    assert_eq!(
        (r.output_tokens, r.output_token_source),
        (2, TokenSource::Usage)
    );
    assert_eq!(
        (r.server_input_tokens, r.server_output_tokens),
        (Some(37), Some(2))
    );
    assert_eq!(r.client_output_tokens, Some(2));
    assert_eq!(r.cached_tokens, Some(4));
    assert_eq!(r.finish_reason.as_deref(), Some("stop"));
    assert_eq!(r.output_chars, 5);
    assert_eq!(r.n, 1);
    assert_eq!(resp.text.as_deref(), Some("Hello"));
    // Identity comes from the context and the request.
    assert_eq!(
        (
            r.point_index,
            r.point_id.as_str(),
            r.run_index,
            r.request_index
        ),
        (2, "ep.sc.burst-1", 1, 3)
    );
    assert_eq!((r.scheduled_ns, r.dispatch_ns), (Some(5), 6));
    // What the server received.
    let seen = server.seen.recv().await.expect("request seen");
    assert_eq!(seen.path, "/v1/chat/completions");
    assert_eq!(seen.headers["x-request-id"], "req-abc");
    assert_eq!(seen.headers["content-type"], "application/json");
    assert!(seen.headers.get("authorization").is_none());
    assert_eq!(seen.body, req.body);
}

#[tokio::test]
async fn non_streaming_chat_reads_the_body() {
    let server = serve(|_| async {
        json_response(
            200,
            r#"{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"four words right here"},"finish_reason":"length"}],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17,"completion_tokens_details":{"reasoning_tokens":0}}}"#,
        )
    })
    .await;
    let mut ep = endpoint(ApiKind::Chat);
    ep.stream = false;
    let client = client_for(&ep, &server);
    let resp = client.send(&chat_request(), &context(), true).await;
    let r = &resp.record;
    assert_eq!(r.outcome, Outcome::Ok, "{:?}", r.error);
    assert_eq!(r.first_token_ns, None);
    assert_eq!(r.first_chunk_ns, None);
    assert!(r.chunk_ns.is_empty());
    assert_eq!(r.events, 0);
    assert!(r.end_ns >= r.first_byte_ns.expect("headers"));
    assert_eq!((r.input_tokens, r.output_tokens), (12, 5));
    assert_eq!(r.output_token_source, TokenSource::Usage);
    assert_eq!(r.client_output_tokens, None);
    assert_eq!(r.reasoning_tokens, Some(0));
    assert_eq!(r.finish_reason.as_deref(), Some("length"));
    assert_eq!(resp.text.as_deref(), Some("four words right here"));
}

#[tokio::test]
async fn non_streaming_without_usage_estimates_from_words() {
    let server = serve(|_| async {
        json_response(
            200,
            r#"{"choices":[{"index":0,"message":{"content":"one two three four five six seven eight nine ten"},"finish_reason":"stop"}]}"#,
        )
    })
    .await;
    let client = client_for(&endpoint(ApiKind::Chat), &server);
    let r = client.send(&chat_request(), &context(), false).await.record;
    assert_eq!(r.outcome, Outcome::Ok, "{:?}", r.error);
    assert_eq!(
        (r.output_tokens, r.output_token_source),
        (13, TokenSource::Estimate)
    );
    assert_eq!(
        (r.input_tokens, r.input_token_source),
        (40, TokenSource::Target)
    );
}

#[tokio::test]
async fn streaming_completions_without_usage_or_done() {
    let text = |t: &str| {
        data(&format!(
            r#"{{"choices":[{{"text":"{t}","index":0,"finish_reason":null}}],"object":"text_completion"}}"#
        ))
    };
    let (server, _) = serve_script(vec![
        text("a"),
        text(" b"),
        text(" c"),
        data(r#"{"choices":[{"text":"","index":0,"finish_reason":"length"}],"object":"text_completion"}"#),
    ])
    .await;
    let client = client_for(&endpoint(ApiKind::Completions), &server);
    let req = request(
        "/completions",
        &serde_json::json!({"model":"m","prompt":"x","max_tokens":3,"stream":true}),
    );
    let r = client.send(&req, &context(), false).await.record;
    // EOF after every choice finished counts as complete.
    assert_eq!(r.outcome, Outcome::Ok, "{:?}", r.error);
    assert_eq!(r.chunk_ns.len(), 3);
    assert_eq!(
        (r.output_tokens, r.output_token_source),
        (3, TokenSource::ChunkCount)
    );
    assert_eq!(r.client_output_tokens, Some(3));
    assert_eq!(
        (r.input_tokens, r.input_token_source),
        (40, TokenSource::Target)
    );
    assert_eq!(r.server_input_tokens, None);
    assert_eq!(r.finish_reason.as_deref(), Some("length"));
}

#[tokio::test]
async fn http_500_is_an_http_error_with_an_excerpt() {
    let long = format!(
        r#"{{"error":{{"message":"engine dead {}"}}}}"#,
        "x".repeat(3000)
    );
    let server = serve(move |_| {
        let long = long.clone();
        async move { json_response(500, &long) }
    })
    .await;
    let client = client_for(&endpoint(ApiKind::Chat), &server);
    let r = client.send(&chat_request(), &context(), true).await;
    assert!(r.text.is_none());
    let r = r.record;
    assert_eq!(r.outcome, Outcome::HttpError);
    assert_eq!(r.http_status, Some(500));
    let err = r.error.expect("error");
    assert!(err.starts_with("HTTP 500 Internal Server Error: "), "{err}");
    assert!(err.contains("engine dead"));
    assert!(err.chars().count() <= 512 + "HTTP 500 Internal Server Error: …".len());
    assert_eq!(r.input_token_source, TokenSource::None);
    assert_eq!(r.output_token_source, TokenSource::None);
}

#[tokio::test]
async fn http_429_is_rate_limited_with_retry_after() {
    let server = serve(|_| async {
        axum::http::Response::builder()
            .status(429)
            .header("retry-after", "7")
            .body(Body::from("slow down"))
            .expect("response")
    })
    .await;
    let client = client_for(&endpoint(ApiKind::Chat), &server);
    let r = client.send(&chat_request(), &context(), false).await.record;
    assert_eq!(r.outcome, Outcome::RateLimited);
    assert_eq!(r.http_status, Some(429));
    assert_eq!(r.retry_after_s, Some(7.0));
    assert!(r.error.expect("error").contains("slow down"));
}

/// A port that was just free: bind, read the port, drop the listener.
fn dead_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

#[tokio::test]
async fn connection_refused_is_a_connect_error_with_its_cause() {
    let port = dead_port();
    let client = HttpClient::new(
        &endpoint(ApiKind::Chat),
        &format!("http://127.0.0.1:{port}/v1"),
        1,
    )
    .expect("client");
    let r = client.send(&chat_request(), &context(), false).await.record;
    assert_eq!(r.outcome, Outcome::ConnectError);
    let err = r.error.expect("error");
    assert!(err.to_lowercase().contains("refused"), "{err}");
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert_eq!(r.http_status, None);
    assert_eq!((r.sent_ns, r.first_byte_ns), (None, None));
}

#[tokio::test]
async fn aborted_stream_is_cut() {
    let (w, reached, go) = wait_point();
    let (server, _) = serve_script(vec![
        data(ROLE),
        data(&content("a")),
        data(&content("b")),
        w,
        Step::Fail,
    ])
    .await;
    let client = client_for(&endpoint(ApiKind::Chat), &server);
    let task = tokio::spawn(async move { client.send(&chat_request(), &context(), true).await });
    // Abort only once the chunks were written (and, after settling, read).
    reached.await.expect("chunks sent");
    settle().await;
    let _ = go.send(());
    let r = task.await.expect("task");
    assert!(r.text.is_none());
    let r = r.record;
    assert_eq!(r.outcome, Outcome::StreamCut, "{:?}", r.error);
    assert_eq!(r.chunk_ns.len(), 2);
    assert_eq!(r.http_status, Some(200));
}

#[tokio::test]
async fn stream_ending_before_its_final_chunk_is_cut() {
    let (server, _) = serve_script(vec![data(ROLE), data(&content("a"))]).await;
    let client = client_for(&endpoint(ApiKind::Chat), &server);
    let r = client.send(&chat_request(), &context(), false).await.record;
    assert_eq!(r.outcome, Outcome::StreamCut);
    assert!(r.error.expect("error").contains("without [DONE]"));
    assert_eq!(
        (r.output_tokens, r.output_token_source),
        (1, TokenSource::ChunkCount)
    );
}

fn malformed_script() -> Vec<Step> {
    vec![
        data(&content("a")),
        Step::Send("data: {oops\n\n".into()),
        data(&content("b")),
        data(FINISH),
        Step::Send("data: [DONE]\n\n".into()),
    ]
}

#[tokio::test]
async fn malformed_event_skip_policy_counts_and_continues() {
    let (server, _) = serve_script(malformed_script()).await;
    let client = client_for(&endpoint(ApiKind::Chat), &server);
    let r = client.send(&chat_request(), &context(), false).await.record;
    assert_eq!(r.outcome, Outcome::Ok, "{:?}", r.error);
    assert_eq!(r.malformed_events, 1);
    assert_eq!(r.chunk_ns.len(), 2);
    assert_eq!(r.events, 4);
}

#[tokio::test]
async fn malformed_event_fail_policy_ends_the_request() {
    let (server, _) = serve_script(malformed_script()).await;
    let mut ep = endpoint(ApiKind::Chat);
    ep.malformed = MalformedPolicy::Fail;
    let client = client_for(&ep, &server);
    let r = client.send(&chat_request(), &context(), false).await.record;
    assert_eq!(r.outcome, Outcome::MalformedEvent);
    assert_eq!(r.malformed_events, 1);
    assert!(r.error.expect("error").contains("{oops"));
}

#[tokio::test]
async fn sse_error_event_is_an_invalid_response() {
    let (server, _) = serve_script(vec![
        data(&content("a")),
        Step::Send("event: error\ndata: {\"message\":\"worker died\"}\n\n".into()),
    ])
    .await;
    let client = client_for(&endpoint(ApiKind::Chat), &server);
    let r = client.send(&chat_request(), &context(), false).await.record;
    assert_eq!(r.outcome, Outcome::InvalidResponse);
    assert!(r.error.expect("error").contains("worker died"));
}

#[tokio::test]
async fn stalled_stream_hits_the_idle_timeout() {
    let (server, _) = serve_script(vec![data(ROLE), Step::Stall]).await;
    let mut ep = endpoint(ApiKind::Chat);
    ep.timeouts.idle = Some(Duration::from_millis(200));
    let client = client_for(&ep, &server);
    let r = client.send(&chat_request(), &context(), false).await.record;
    assert_eq!(r.outcome, Outcome::Timeout);
    assert_eq!(r.timeout_kind, Some(TimeoutKind::Idle));
    assert!(r.first_chunk_ns.is_some());
    assert!(r.end_ns >= r.first_chunk_ns.unwrap_or(0) + 200_000_000);
}

#[tokio::test]
async fn server_that_never_answers_hits_total_and_first_byte_timeouts() {
    let server = serve(|_| async {
        futures::future::pending::<()>().await;
        json_response(200, "{}")
    })
    .await;
    let mut ep = endpoint(ApiKind::Chat);
    ep.timeouts.total = Duration::from_millis(300);
    let r = client_for(&ep, &server)
        .send(&chat_request(), &context(), false)
        .await
        .record;
    assert_eq!(r.outcome, Outcome::Timeout);
    assert_eq!(r.timeout_kind, Some(TimeoutKind::Total));
    assert!(r.end_ns >= r.start_ns + 300_000_000);

    let mut ep = endpoint(ApiKind::Chat);
    ep.timeouts.first_byte = Some(Duration::from_millis(200));
    let r = client_for(&ep, &server)
        .send(&chat_request(), &context(), false)
        .await
        .record;
    assert_eq!(r.outcome, Outcome::Timeout);
    assert_eq!(r.timeout_kind, Some(TimeoutKind::FirstByte));
    assert_eq!(r.first_byte_ns, None);
    // Written, then no answer.
    assert!(r.sent_ns.is_some_and(|t| t >= r.start_ns && t < r.end_ns));
}

#[tokio::test]
async fn cancellation_ends_an_in_flight_request() {
    let (mut server, _) = serve_script(vec![data(ROLE), Step::Stall]).await;
    let client = client_for(&endpoint(ApiKind::Chat), &server);
    let ctx = context();
    let cancel = ctx.cancel.clone();
    let task = tokio::spawn({
        let client = client.clone();
        async move { client.send(&chat_request(), &ctx, false).await }
    });
    server.seen.recv().await.expect("request arrived");
    cancel.cancel();
    let r = task.await.expect("task").record;
    assert_eq!(r.outcome, Outcome::Cancelled);
    assert!(r.error.expect("error").contains("cancelled"));

    // Already cancelled: nothing is sent.
    let ctx = context();
    ctx.cancel.cancel();
    let r = client.send(&chat_request(), &ctx, false).await.record;
    assert_eq!(r.outcome, Outcome::Cancelled);
    assert_eq!(r.http_status, None);
    assert!(server.seen.try_recv().is_err());
}

#[tokio::test]
async fn oversize_event_and_body_are_invalid_responses() {
    let big = format!("data: {}\n\n", "x".repeat(4096));
    let (server, _) = serve_script(vec![data(ROLE), Step::Send(big)]).await;
    let mut ep = endpoint(ApiKind::Chat);
    ep.max_event_bytes = 1024;
    let r = client_for(&ep, &server)
        .send(&chat_request(), &context(), false)
        .await
        .record;
    assert_eq!(r.outcome, Outcome::InvalidResponse);
    assert!(r.error.expect("error").contains("max_event_bytes"));

    let body = format!(
        r#"{{"choices":[{{"message":{{"content":"{}"}}}}]}}"#,
        "y".repeat(4096)
    );
    let server = serve(move |_| {
        let body = body.clone();
        async move { json_response(200, &body) }
    })
    .await;
    let r = client_for(&ep, &server)
        .send(&chat_request(), &context(), false)
        .await
        .record;
    assert_eq!(r.outcome, Outcome::InvalidResponse);
    assert!(r.error.expect("error").contains("max_event_bytes"));
}

fn b64(values: &[f32]) -> String {
    use base64::Engine as _;
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn embed_request(items: u32) -> PreparedRequest {
    let mut req = request(
        "/embeddings",
        &serde_json::json!({"model":"m","input":["a b","c d"]}),
    );
    req.items = items;
    req.target_input_tokens = None;
    req.max_tokens = None;
    req
}

#[tokio::test]
async fn embeddings_float_base64_and_wrong_dimension() {
    let float = r#"{"object":"list","data":[{"index":0,"embedding":[0.1,0.2,0.3]},{"index":1,"embedding":[1,2,3]}],"usage":{"prompt_tokens":6,"total_tokens":6}}"#.to_string();
    let base64 = format!(
        r#"{{"data":[{{"embedding":"{}"}},{{"embedding":"{}"}}]}}"#,
        b64(&[1.0, 2.0, 3.0]),
        b64(&[4.0, 5.0, 6.0])
    );
    let wrong = r#"{"data":[{"embedding":[1,2,3]},{"embedding":[1,2,3,4]}]}"#.to_string();
    for (body, outcome) in [
        (float, Outcome::Ok),
        (base64, Outcome::Ok),
        (wrong, Outcome::InvalidResponse),
    ] {
        let server = serve(move |_| {
            let body = body.clone();
            async move { json_response(200, &body) }
        })
        .await;
        let mut ep = endpoint(ApiKind::Embeddings);
        ep.embedding_dim = Some(3);
        let r = client_for(&ep, &server)
            .send(&embed_request(2), &context(), false)
            .await
            .record;
        assert_eq!(r.outcome, outcome, "{:?}", r.error);
        assert_eq!(r.items_returned, 2);
        assert_eq!(r.items, 2);
        if outcome.is_ok() {
            assert_eq!(r.embedding_dim, Some(3));
            assert_eq!(r.output_token_source, TokenSource::None);
            assert!(r.first_byte_ns.is_some() && r.end_ns >= r.first_byte_ns.unwrap_or(0));
        } else {
            assert!(r.error.expect("error").contains("dimension"));
        }
    }
}

#[tokio::test]
async fn embeddings_tokens_come_from_usage_or_the_built_count() {
    let server = serve(|seen: Arc<Seen>| async move {
        let with_usage = seen.body.windows(5).any(|w| w == b"usage");
        json_response(
            200,
            if with_usage {
                r#"{"data":[{"embedding":[1]}],"usage":{"prompt_tokens":9}}"#
            } else {
                r#"{"data":[{"embedding":[1]}]}"#
            },
        )
    })
    .await;
    let client = client_for(&endpoint(ApiKind::Embeddings), &server);
    let mut req = embed_request(1);
    let r = client.send(&req, &context(), false).await.record;
    assert_eq!(
        (r.input_tokens, r.input_token_source),
        (41, TokenSource::Target)
    );
    req.body = Bytes::from_static(br#"{"model":"m","input":["usage"]}"#);
    let r = client.send(&req, &context(), false).await.record;
    assert_eq!(
        (r.input_tokens, r.input_token_source),
        (9, TokenSource::Usage)
    );
}

#[tokio::test]
async fn rerank_with_a_missing_score_is_invalid() {
    let server = serve(|_| async {
        json_response(
            200,
            r#"{"results":[{"index":0,"relevance_score":0.9},{"index":2,"relevance_score":0.1}]}"#,
        )
    })
    .await;
    let client = client_for(&endpoint(ApiKind::Rerank), &server);
    let mut req = request(
        "/rerank",
        &serde_json::json!({"model":"m","query":"q","documents":["a","b","c"]}),
    );
    req.items = 3;
    let r = client.send(&req, &context(), false).await.record;
    assert_eq!(r.outcome, Outcome::InvalidResponse);
    assert_eq!(r.items_returned, 2);
    assert!(r.error.expect("error").contains("expected 3"));
    req.items = 2;
    let r = client.send(&req, &context(), false).await.record;
    assert_eq!(
        r.outcome,
        Outcome::InvalidResponse,
        "index 2 is out of range"
    );
}

#[tokio::test]
async fn preflight_health_models_and_same_origin_key() {
    let var = "TOKENOMICS_TEST_PREFLIGHT_KEY";
    std::env::set_var(var, "preflight-secret-1");
    let mut main = serve(|seen: Arc<Seen>| async move {
        match seen.path.as_str() {
            "/health" => json_response(200, r#"{"status":"ok"}"#),
            "/v1/models" => json_response(200, r#"{"object":"list","data":[{"id":"m"}]}"#),
            _ => json_response(404, "{}"),
        }
    })
    .await;
    let mut other = serve(|_| async { json_response(503, r#"{"status":"loading"}"#) }).await;
    let mut ep = endpoint(ApiKind::Chat);
    ep.api_key_env = Some(var.into());
    let client = client_for(&ep, &main);

    let health = check_health(&client).await.expect("healthy");
    assert_eq!(health.status, 200);
    let seen = main.seen.recv().await.expect("seen");
    assert_eq!(seen.path, "/health");
    assert_eq!(seen.headers["authorization"], "Bearer preflight-secret-1");

    let models = fetch_models(&client).await.expect("models");
    assert_eq!(model_ids(&models), vec!["m"]);
    assert_eq!(main.seen.recv().await.expect("seen").path, "/v1/models");

    // Another origin: answered, but without the key.
    let other_url = other.base_url.replace("/v1", "/health");
    ep.health_path = other_url;
    let client = client_for(&ep, &main);
    let err = check_health(&client).await.expect_err("503 is unhealthy");
    assert!(
        matches!(&err, FetchError::Status { status: 503, excerpt, .. } if excerpt.contains("loading")),
        "{err}"
    );
    let seen = other.seen.recv().await.expect("seen");
    assert!(seen.headers.get("authorization").is_none());
}

#[test]
fn missing_api_key_variable_is_named() {
    let mut ep = endpoint(ApiKind::Chat);
    ep.api_key_env = Some("TOKENOMICS_TEST_SURELY_UNSET_VAR".into());
    let err = api_key(&ep).expect_err("unset");
    assert!(
        matches!(&err, ApiKeyError::Unset { var, .. } if var == "TOKENOMICS_TEST_SURELY_UNSET_VAR")
    );
    assert!(err.to_string().contains("TOKENOMICS_TEST_SURELY_UNSET_VAR"));
    assert!(matches!(
        HttpClient::new(&ep, "http://127.0.0.1:1/v1", 1),
        Err(ClientError::Build(m)) if m.contains("TOKENOMICS_TEST_SURELY_UNSET_VAR")
    ));
    ep.api_key_env = None;
    assert_eq!(api_key(&ep), Ok(None));
    assert!(HttpClient::new(&ep, "ftp://x/v1", 1).is_err());
}

/// The key goes to the server as a bearer token and nowhere else: not into any
/// record field, error string, or Debug output, even when the server echoes it.
#[tokio::test]
async fn api_key_canary_never_leaks() {
    let canary = format!("canary-{:x}-{:x}", now_ns(), std::process::id());
    let var = "TOKENOMICS_TEST_CANARY_KEY";
    std::env::set_var(var, &canary);

    // Echoes every request header back in an error body or stream.
    let mut server = serve(|seen: Arc<Seen>| async move {
        let echo: String = seen
            .headers
            .iter()
            .map(|(k, v)| format!("{k}={} ", v.to_str().unwrap_or("?")))
            .collect();
        let echo = echo.replace('"', "'");
        match seen.path.as_str() {
            "/v1/ok" => sse_response(Body::from(format!(
                "data: {}\n\ndata: {FINISH}\n\ndata: [DONE]\n\n",
                content("hi")
            ))),
            "/v1/e500" => json_response(500, &format!(r#"{{"error":"{echo}"}}"#)),
            "/v1/e429" => json_response(429, &echo),
            "/v1/event" => sse_response(Body::from(format!(
                "event: error\ndata: {echo}\n\n"
            ))),
            "/v1/object" => sse_response(Body::from(format!(
                "data: {{\"error\":{{\"message\":\"{echo}\"}}}}\n\n"
            ))),
            "/v1/malformed" => sse_response(Body::from(format!("data: {echo}\n\n"))),
            "/v1/finish" => sse_response(Body::from(format!(
                r#"data: {{"choices":[{{"delta":{{"content":"x"}},"finish_reason":"{echo}"}}]}}"#
            ) + "\n\ndata: [DONE]\n\n")),
            "/v1/models" => json_response(401, &echo),
            "/health" => json_response(503, &echo),
            _ => json_response(404, &echo),
        }
    })
    .await;
    let mut ep = endpoint(ApiKind::Chat);
    ep.api_key_env = Some(var.into());
    ep.malformed = MalformedPolicy::Fail;
    let client = client_for(&ep, &server);
    assert!(!format!("{client:?}").contains(&canary));

    let mut records = Vec::new();
    for path in [
        "/ok",
        "/e500",
        "/e429",
        "/event",
        "/object",
        "/malformed",
        "/finish",
        "/missing",
    ] {
        let mut req = chat_request();
        req.path = path.into();
        let resp = client.send(&req, &context(), true).await;
        assert!(!resp.text.unwrap_or_default().contains(&canary));
        records.push(resp.record);
        let seen = server.seen.recv().await.expect("seen");
        assert_eq!(
            seen.headers["authorization"],
            format!("Bearer {canary}").as_str()
        );
    }
    let outcomes: Vec<Outcome> = records.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        vec![
            Outcome::Ok,
            Outcome::HttpError,
            Outcome::RateLimited,
            Outcome::InvalidResponse,
            Outcome::InvalidResponse,
            Outcome::MalformedEvent,
            Outcome::Ok,
            Outcome::HttpError,
        ]
    );
    // The echo really reached the error text (redacted), so the check is not vacuous.
    assert!(records[1]
        .error
        .as_deref()
        .is_some_and(|e| e.contains("Bearer <redacted>")));

    // Transport failures too.
    let dead =
        HttpClient::new(&ep, &format!("http://127.0.0.1:{}/v1", dead_port()), 1).expect("client");
    records.push(dead.send(&chat_request(), &context(), false).await.record);

    for r in &records {
        let json = serde_json::to_string(r).expect("serialize");
        assert!(!json.contains(&canary), "{json}");
        assert!(!format!("{r:?}").contains(&canary));
    }
    let errors = [
        fetch_models(&client).await.expect_err("401").to_string(),
        check_health(&client).await.expect_err("503").to_string(),
        check_health(&dead).await.expect_err("refused").to_string(),
    ];
    for e in &errors {
        assert!(!e.contains(&canary), "{e}");
    }
    assert!(errors[0].contains("<redacted>"));
}

#[tokio::test]
async fn check_endpoint_uses_health_path_and_checks_the_model() {
    let server = serve(|seen: Arc<Seen>| async move {
        match seen.path.as_str() {
            "/health" => json_response(200, r#"{"status":"ok"}"#),
            "/v1/models" => {
                json_response(200, r#"{"object":"list","data":[{"id":"Qwen/Qwen3-8B"}]}"#)
            }
            _ => json_response(404, "{}"),
        }
    })
    .await;
    let mut ep = endpoint(ApiKind::Chat);
    ep.model = "Qwen/Qwen3-8b".into();
    ep.health_path = "/v1/models".into();
    let err = check_endpoint(&ep, &server.base_url)
        .await
        .expect_err("model not served");
    assert!(
        err.message.contains("does not serve model `Qwen/Qwen3-8b`"),
        "{err}"
    );
    assert_eq!(
        err.hint.as_deref(),
        Some("did you mean `Qwen/Qwen3-8B`? set endpoints.test.model")
    );
    ep.model = "Qwen/Qwen3-8B".into();
    let models = check_endpoint(&ep, &server.base_url).await.expect("served");
    assert_eq!(model_ids(&models), vec!["Qwen/Qwen3-8B"]);

    // Another health path is asked first; it must answer 2xx.
    ep.health_path = "/missing".into();
    let err = check_endpoint(&ep, &server.base_url)
        .await
        .expect_err("404 health");
    assert!(
        err.message.contains("/missing") && err.message.contains("404"),
        "{err}"
    );
    assert!(err.hint.is_some_and(|h| h.contains("health_path")));
}

#[tokio::test]
async fn a_server_that_lists_no_models_passes_on_its_health_path() {
    let server = serve(|seen: Arc<Seen>| async move {
        match seen.path.as_str() {
            "/health" => json_response(200, r#"{"status":"ok"}"#),
            _ => json_response(404, "{}"),
        }
    })
    .await;
    let mut ep = endpoint(ApiKind::Chat);
    ep.health_path = "/health".into();
    let models = check_endpoint(&ep, &server.base_url)
        .await
        .expect("healthy");
    assert!(
        models["error"].as_str().is_some_and(|e| e.contains("404")),
        "{models}"
    );
    // With the default health path (the model list), the same server fails.
    ep.health_path = "/v1/models".into();
    assert!(check_endpoint(&ep, &server.base_url).await.is_err());
}

#[test]
fn an_unset_key_fails_preflight_before_any_request() {
    let mut ep = endpoint(ApiKind::Chat);
    ep.api_key_env = Some("TOKENOMICS_TEST_SURELY_UNSET_VAR_2".into());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let err = rt
        .block_on(check_endpoint(&ep, "http://127.0.0.1:1/v1"))
        .expect_err("unset key");
    assert!(
        err.message.contains("TOKENOMICS_TEST_SURELY_UNSET_VAR_2 "),
        "{err}"
    );
    assert_eq!(
        err.hint.as_deref(),
        Some("export TOKENOMICS_TEST_SURELY_UNSET_VAR_2=<your key> before running")
    );
}

// ---- connections: reuse, the reconnect rule, keep-alive, preconnect --------------

/// What a raw test server does with one request read from a connection.
#[derive(Clone, Debug)]
enum Reply {
    /// Writes these bytes (a complete response) and keeps the connection.
    Respond(String),
    /// Writes these bytes, then closes (a server that does not keep streamed
    /// connections alive although it says it does).
    RespondThenClose(String),
    /// Closes without writing a byte (the server closed as the request arrived).
    CloseUnanswered,
    /// Writes the start of a response head, then closes.
    PartialThenClose,
    /// Writes these bytes, then reads and ignores anything else (a client that
    /// reuses this connection waits for ever).
    RespondThenIgnore(String),
}

/// A raw HTTP/1.1 server: the n-th accepted connection follows `scripts[n]`
/// (one [`Reply`] per request read), later ones the last script. Counts
/// connections and requests.
struct RawServer {
    base_url: String,
    connections: Arc<std::sync::atomic::AtomicUsize>,
    requests: Arc<std::sync::atomic::AtomicUsize>,
}

async fn raw_server(scripts: Vec<Vec<Reply>>) -> RawServer {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let connections = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(AtomicUsize::new(0));
    let (conns, reqs) = (Arc::clone(&connections), Arc::clone(&requests));
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let n = conns.fetch_add(1, Ordering::SeqCst);
            let script = scripts[n.min(scripts.len() - 1)].clone();
            let reqs = Arc::clone(&reqs);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                for reply in script {
                    // Read one request: the head, then Content-Length bytes of body.
                    let mut chunk = [0u8; 4096];
                    let head_end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(k) => buf.extend_from_slice(&chunk[..k]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    while buf.len() < head_end + len {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(k) => buf.extend_from_slice(&chunk[..k]),
                        }
                    }
                    buf.drain(..head_end + len);
                    reqs.fetch_add(1, Ordering::SeqCst);
                    match reply {
                        Reply::Respond(r) => {
                            if sock.write_all(r.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                        Reply::RespondThenClose(r) => {
                            let _ = sock.write_all(r.as_bytes()).await;
                            return;
                        }
                        Reply::CloseUnanswered => return,
                        Reply::PartialThenClose => {
                            let _ = sock.write_all(b"HTTP/1.1 200 OK\r\nContent-Ty").await;
                            return;
                        }
                        Reply::RespondThenIgnore(r) => {
                            let _ = sock.write_all(r.as_bytes()).await;
                            while matches!(sock.read(&mut chunk).await, Ok(k) if k > 0) {}
                            return;
                        }
                    }
                }
            });
        }
    });
    RawServer {
        base_url: format!("http://{addr}/v1"),
        connections,
        requests,
    }
}

/// A streamed (chunked) chat response with `extra` header lines.
fn chunked_sse(extra: &str) -> String {
    let mut out = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n{extra}\r\n"
    );
    for ev in [
        ROLE.to_string(),
        content("a"),
        content("b"),
        FINISH.to_string(),
        USAGE.to_string(),
    ] {
        let e = format!("data: {ev}\n\n");
        out.push_str(&format!("{:x}\r\n{e}\r\n", e.len()));
    }
    let done = "data: [DONE]\n\n";
    out.push_str(&format!("{:x}\r\n{done}\r\n0\r\n\r\n", done.len()));
    out
}

/// A non-streamed chat response with a `Content-Length` and `extra` header lines.
fn sized_json(extra: &str) -> String {
    let body = r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"hi there"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#;
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}\r\n{body}",
        body.len()
    )
}

/// Waits (bounded) until the client's pool holds `n` idle connections: the
/// previous response's connection has been released.
async fn until_idle(client: &HttpClient, n: usize) {
    for _ in 0..2000 {
        if client.idle_connections() == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("the pool never held {n} idle connection(s)");
}

fn seq_context(i: u32) -> RequestContext {
    RequestContext {
        request_id: format!("req-{i}"),
        ..context()
    }
}

#[tokio::test]
async fn a_pooled_connection_closed_unanswered_is_reopened_once_and_counted() {
    use std::sync::atomic::Ordering;
    // Connection 1 answers once, then closes as the next request arrives;
    // connection 2 answers.
    let server = raw_server(vec![
        vec![Reply::Respond(chunked_sse("")), Reply::CloseUnanswered],
        vec![Reply::Respond(chunked_sse(""))],
    ])
    .await;
    let ep = endpoint(ApiKind::Chat);
    let client = HttpClient::new(&ep, &server.base_url, 4).expect("client");
    let first = client
        .send(&chat_request(), &seq_context(1), false)
        .await
        .record;
    assert_eq!(first.outcome, Outcome::Ok, "{:?}", first.error);
    assert_eq!(first.reconnects, 0);
    assert!(
        first.connect_ms.is_some(),
        "the first request opened its connection"
    );
    until_idle(&client, 1).await;

    let second = client
        .send(&chat_request(), &seq_context(2), false)
        .await
        .record;
    assert_eq!(second.outcome, Outcome::Ok, "{:?}", second.error);
    assert_eq!(second.reconnects, 1, "re-sent once on a fresh connection");
    assert!(
        second.connect_ms.is_some(),
        "the fresh connection's time is recorded"
    );
    assert_eq!(second.output_tokens, 2);
    assert_eq!(server.connections.load(Ordering::SeqCst), 2);
    assert_eq!(client.connections_opened(), 2);
}

#[tokio::test]
async fn a_pooled_connection_that_sent_response_bytes_is_not_retried() {
    use std::sync::atomic::Ordering;
    let server = raw_server(vec![
        vec![Reply::Respond(chunked_sse("")), Reply::PartialThenClose],
        vec![Reply::Respond(chunked_sse(""))],
    ])
    .await;
    let client = HttpClient::new(&endpoint(ApiKind::Chat), &server.base_url, 4).expect("client");
    let first = client
        .send(&chat_request(), &seq_context(1), false)
        .await
        .record;
    assert_eq!(first.outcome, Outcome::Ok, "{:?}", first.error);
    until_idle(&client, 1).await;
    let second = client
        .send(&chat_request(), &seq_context(2), false)
        .await
        .record;
    assert_eq!(second.outcome, Outcome::ConnectError);
    assert_eq!(
        second.reconnects, 0,
        "bytes arrived: the server may have seen it"
    );
    assert_eq!(second.connect_ms, None, "it went on the pooled connection");
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_connection_the_request_opened_itself_is_not_retried() {
    use std::sync::atomic::Ordering;
    let server = raw_server(vec![vec![Reply::CloseUnanswered]]).await;
    let client = HttpClient::new(&endpoint(ApiKind::Chat), &server.base_url, 4).expect("client");
    let r = client.send(&chat_request(), &context(), false).await.record;
    assert_eq!(r.outcome, Outcome::ConnectError);
    assert_eq!(r.reconnects, 0);
    assert!(r.connect_ms.is_some());
    assert!(
        r.error
            .as_deref()
            .is_some_and(|e| e.contains("before any response")),
        "{:?}",
        r.error
    );
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
    assert_eq!(
        server.requests.load(Ordering::SeqCst),
        1,
        "sent exactly once"
    );
}

#[tokio::test]
async fn connection_close_is_honoured() {
    use std::sync::atomic::Ordering;
    // The first connection would never answer a second request.
    let server = raw_server(vec![vec![Reply::RespondThenIgnore(sized_json(
        "Connection: close\r\n",
    ))]])
    .await;
    let mut ep = endpoint(ApiKind::Chat);
    ep.timeouts.total = Duration::from_secs(5);
    let client = HttpClient::new(&ep, &server.base_url, 4).expect("client");
    for i in 0..3 {
        let r = client
            .send(&chat_request(), &seq_context(i), false)
            .await
            .record;
        assert_eq!(r.outcome, Outcome::Ok, "request {i}: {:?}", r.error);
        assert!(r.connect_ms.is_some(), "request {i} opened a connection");
        assert_eq!(r.reconnects, 0);
    }
    assert_eq!(server.connections.load(Ordering::SeqCst), 3);
}

/// The framings and heads real servers send besides `Content-Length` and
/// chunked bodies: an interim `100 Continue` before the response (skipped, the
/// connection kept), an HTTP/1.0 response (closed unless it says keep-alive)
/// and a body without a length, read until the server closes.
#[tokio::test]
async fn interim_heads_http_1_0_and_bodies_until_close_read_to_their_end() {
    use std::sync::atomic::Ordering;
    let body = r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"hi there"},"finish_reason":"stop"}]}"#;
    let server = raw_server(vec![
        vec![
            Reply::Respond(format!("HTTP/1.1 100 Continue\r\n\r\n{}", sized_json(""))),
            Reply::RespondThenClose(format!(
                "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{body}"
            )),
        ],
        vec![Reply::RespondThenClose(format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{body}"
        ))],
    ])
    .await;
    let mut ep = endpoint(ApiKind::Chat);
    ep.stream = false;
    ep.timeouts.total = Duration::from_secs(5);
    let client = HttpClient::new(&ep, &server.base_url, 4).expect("client");
    for i in 0..3 {
        let resp = client.send(&chat_request(), &seq_context(i), true).await;
        let r = &resp.record;
        assert_eq!(r.outcome, Outcome::Ok, "request {i}: {:?}", r.error);
        assert_eq!(resp.text.as_deref(), Some("hi there"), "request {i}");
        assert_eq!(r.reconnects, 0, "request {i}");
        if i == 0 {
            until_idle(&client, 1).await;
        }
    }
    // The first connection carried the 100-Continue response and, kept, the
    // HTTP/1.0 one; a body until close ends its connection, so the third
    // request opened a second.
    assert_eq!(server.connections.load(Ordering::SeqCst), 2);
    assert_eq!(server.requests.load(Ordering::SeqCst), 3);
    assert_eq!(
        client.idle_connections(),
        0,
        "neither closing connection was pooled"
    );
}

/// A stream whose chunked framing breaks ends the request with a cause that
/// names the framing, after the events before it were measured.
#[tokio::test]
async fn broken_chunked_framing_cuts_the_stream_and_says_why() {
    let first = format!("data: {}\n\n", content("a"));
    let server = raw_server(vec![vec![Reply::RespondThenIgnore(format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n\
         {:x}\r\n{first}\r\nzz\r\n",
        first.len()
    ))]])
    .await;
    let mut ep = endpoint(ApiKind::Chat);
    ep.timeouts.total = Duration::from_secs(5);
    let client = HttpClient::new(&ep, &server.base_url, 1).expect("client");
    let r = client.send(&chat_request(), &context(), false).await.record;
    assert_eq!(r.outcome, Outcome::StreamCut, "{:?}", r.error);
    let cause = r.error.as_deref().unwrap_or_default();
    assert!(cause.contains("`zz` is not a chunk size"), "{cause}");
    assert_eq!(
        r.chunk_ns.len(),
        1,
        "the event before the break was measured"
    );
    assert_eq!(
        client.idle_connections(),
        0,
        "the broken connection is not pooled"
    );
}

#[tokio::test]
async fn keep_alive_max_bounds_the_requests_of_a_connection() {
    use std::sync::atomic::Ordering;
    // `max=1`: one more request after the first, then a new connection.
    let ka = "Keep-Alive: timeout=60, max=1\r\n";
    let server = raw_server(vec![vec![
        Reply::Respond(sized_json(ka)),
        Reply::Respond(sized_json(ka)),
        Reply::RespondThenIgnore(sized_json(ka)),
    ]])
    .await;
    let mut ep = endpoint(ApiKind::Chat);
    ep.timeouts.total = Duration::from_secs(5);
    let client = HttpClient::new(&ep, &server.base_url, 4).expect("client");
    let mut opened = Vec::new();
    for i in 0..4 {
        let r = client
            .send(&chat_request(), &seq_context(i), false)
            .await
            .record;
        assert_eq!(r.outcome, Outcome::Ok, "request {i}: {:?}", r.error);
        opened.push(r.connect_ms.is_some());
        if i % 2 == 0 {
            until_idle(&client, 1).await;
        }
    }
    assert_eq!(opened, [true, false, true, false]);
    assert_eq!(server.connections.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn idle_connections_are_retired_before_the_servers_keep_alive_timeout() {
    use std::sync::atomic::Ordering;
    // The server says it keeps idle connections 2 s: the client reuses one for 1 s.
    let ka = "Keep-Alive: timeout=2, max=100\r\n";
    let server = raw_server(vec![vec![
        Reply::Respond(sized_json(ka)),
        Reply::Respond(sized_json(ka)),
        Reply::Respond(sized_json(ka)),
    ]])
    .await;
    let client = HttpClient::new(&endpoint(ApiKind::Chat), &server.base_url, 4).expect("client");
    let idle_for = |d: Duration| async move {
        // Moves tokio's clock (the pool's) without waiting.
        tokio::time::pause();
        tokio::time::advance(d).await;
        tokio::time::resume();
    };
    let r = client
        .send(&chat_request(), &seq_context(0), false)
        .await
        .record;
    assert!(r.connect_ms.is_some());
    until_idle(&client, 1).await;
    idle_for(Duration::from_millis(900)).await;
    let r = client
        .send(&chat_request(), &seq_context(1), false)
        .await
        .record;
    assert_eq!(r.outcome, Outcome::Ok, "{:?}", r.error);
    assert_eq!(r.connect_ms, None, "0.9 s idle: reused");
    until_idle(&client, 1).await;
    idle_for(Duration::from_millis(1100)).await;
    let r = client
        .send(&chat_request(), &seq_context(2), false)
        .await
        .record;
    assert_eq!(r.outcome, Outcome::Ok, "{:?}", r.error);
    assert!(
        r.connect_ms.is_some(),
        "1.1 s idle: past the limit, a new connection"
    );
    assert_eq!(server.connections.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_server_closing_after_every_stream_is_learned_without_failures() {
    use std::sync::atomic::Ordering;
    let server = raw_server(vec![vec![Reply::RespondThenClose(chunked_sse(
        "Keep-Alive: timeout=5, max=100\r\n",
    ))]])
    .await;
    let client = HttpClient::new(&endpoint(ApiKind::Chat), &server.base_url, 4).expect("client");
    let mut reconnects = 0;
    for i in 0..12 {
        let r = client
            .send(&chat_request(), &seq_context(i), false)
            .await
            .record;
        assert_eq!(r.outcome, Outcome::Ok, "request {i}: {:?}", r.error);
        assert!(
            r.connect_ms.is_some(),
            "request {i}: every stream needs a new connection"
        );
        reconnects += r.reconnects;
    }
    assert!(
        reconnects <= super::transport::QUICK_CLOSES_TO_LEARN,
        "{reconnects} reconnects"
    );
    assert_eq!(
        server.requests.load(Ordering::SeqCst),
        12 + reconnects as usize,
        "a re-sent request reached a server only once"
    );
}

#[tokio::test]
async fn closed_loop_reuses_one_connection_on_a_keep_alive_server() {
    let sim = crate::simulator::spawn(
        crate::vocab::SimConfig {
            ttft: Duration::from_millis(1),
            itl: Duration::from_micros(500),
            ..crate::vocab::SimConfig::default()
        },
        0,
    )
    .await
    .expect("simulator");
    let client = HttpClient::new(&endpoint(ApiKind::Chat), &sim.base_url(), 1).expect("client");
    let mut opened = 0;
    for i in 0..20 {
        let r = client
            .send(&chat_request(), &seq_context(i), false)
            .await
            .record;
        assert_eq!(r.outcome, Outcome::Ok, "{:?}", r.error);
        assert_eq!(r.reconnects, 0);
        opened += u64::from(r.connect_ms.is_some());
    }
    // One connection carries the loop. A request that finds the pool empty
    // while the previous connection is still being released may open one more
    // (its connect_ms says so); without reuse there would be 20.
    assert!(opened <= 3, "{opened} connections opened for 20 requests");
    assert_eq!(sim.connections_accepted(), opened);
    assert_eq!(client.connections_opened(), opened);
}

/// Runs a burst of `n` streamed chat requests through the runner's executor.
async fn burst_records(client: &HttpClient, ep: &EndpointSpec, n: usize) -> Vec<RequestRecord> {
    use crate::runner::executor::{execute, RunInput};
    let requests: Vec<PreparedRequest> = (0..n)
        .map(|i| PreparedRequest {
            index: u32::try_from(i).expect("small"),
            ..chat_request()
        })
        .collect();
    let input = RunInput {
        client: client.clone(),
        endpoint: Arc::new(ep.clone()),
        point_index: 0,
        point_id: Arc::from("sim.chat.burst"),
        run_index: 0,
        warmup: false,
        requests: Arc::new(requests),
        cancel: CancellationToken::new(),
        grace: Duration::from_secs(5),
        schedule_seed: 1,
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let batch = u32::try_from(n).expect("small");
    execute(input, &crate::plan::LoadSpec::Burst { batch }, tx).await;
    let mut out = Vec::new();
    while let Some(r) = rx.recv().await {
        out.push(r);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preconnected_burst_opens_no_connection_during_the_run() {
    const N: usize = 32;
    let sim = crate::simulator::spawn(
        crate::vocab::SimConfig {
            ttft: Duration::from_millis(20),
            itl: Duration::from_millis(1),
            ..crate::vocab::SimConfig::default()
        },
        0,
    )
    .await
    .expect("simulator");
    let ep = endpoint(ApiKind::Chat);

    // Preconnected: N connections before the clock, none during the burst.
    let client = HttpClient::new(&ep, &sim.base_url(), N).expect("client");
    let done = client.preconnect(N).await;
    assert_eq!(
        (done.opened, done.failed, done.reused),
        (N, 0, 0),
        "{done:?}"
    );
    assert_eq!(client.idle_connections(), N);
    for _ in 0..2000 {
        if sim.connections_accepted() == N as u64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(sim.connections_accepted(), N as u64);
    let records = burst_records(&client, &ep, N).await;
    assert_eq!(records.len(), N);
    for r in &records {
        assert_eq!(r.outcome, Outcome::Ok, "{:?}", r.error);
        assert_eq!(r.connect_ms, None, "{} opened a connection", r.request_id);
    }
    assert_eq!(
        sim.connections_accepted(),
        N as u64,
        "no connection opened by the burst"
    );
    // Preconnecting again finds them all alive.
    assert_eq!(client.preconnect(N).await.reused, N);

    // Cold: every request of the burst opens its own connection, and says so.
    let before = sim.connections_accepted();
    let cold = HttpClient::new(&ep, &sim.base_url(), N).expect("client");
    let records = burst_records(&cold, &ep, N).await;
    for r in &records {
        assert_eq!(r.outcome, Outcome::Ok, "{:?}", r.error);
        assert!(r.connect_ms.is_some_and(|ms| ms > 0.0), "{}", r.request_id);
    }
    assert_eq!(sim.connections_accepted() - before, N as u64);
}

/// A secret echoed by the server is scrubbed before the error text is cut to its
/// excerpt: wherever the cut falls, not even part of the key is kept. The same
/// holds for headers sent from `headers_env`, which go out on every request.
#[tokio::test]
async fn secrets_straddling_the_excerpt_cut_never_leak_in_part() {
    let key = format!("K{:016x}{:016x}", now_ns(), u64::from(std::process::id()));
    let header_secret = format!("H{:016x}", now_ns() ^ 0x5a5a);
    std::env::set_var("TOKENOMICS_TEST_STRADDLE_KEY", &key);
    std::env::set_var("TOKENOMICS_TEST_STRADDLE_HEADER", &header_secret);
    // Answers 500 with `pad` characters, then the request's headers echoed back.
    let server = serve(|seen: Arc<Seen>| async move {
        let pad: usize = seen.path.trim_start_matches("/v1/pad").parse().unwrap_or(0);
        let echo: String = seen
            .headers
            .iter()
            .filter(|(k, _)| *k == "authorization" || *k == "x-api-key")
            .map(|(_, v)| v.to_str().unwrap_or("?").to_owned())
            .collect::<Vec<_>>()
            .join(" ");
        json_response(500, &format!("{}{echo}", "x".repeat(pad)))
    })
    .await;
    let mut ep = endpoint(ApiKind::Chat);
    ep.api_key_env = Some("TOKENOMICS_TEST_STRADDLE_KEY".into());
    ep.headers_env = [(
        "X-Api-Key".to_string(),
        "TOKENOMICS_TEST_STRADDLE_HEADER".to_string(),
    )]
    .into_iter()
    .collect();
    let client = client_for(&ep, &server);
    let cut = crate::client::ERROR_EXCERPT_CHARS;
    // "HTTP 500 Internal Server Error: " precedes the body; a pad of cut − 20 …
    // cut puts the "Bearer <key>" across the excerpt's end.
    for pad in (cut - 60)..=cut {
        let mut req = chat_request();
        req.path = format!("/pad{pad}");
        let r = client.send(&req, &context(), false).await.record;
        assert_eq!(r.outcome, Outcome::HttpError);
        let text = format!("{} {:?}", r.error.clone().unwrap_or_default(), r);
        for secret in [&key, &header_secret] {
            for w in secret.as_bytes().windows(8) {
                let piece = std::str::from_utf8(w).unwrap();
                assert!(
                    !text.contains(piece),
                    "pad {pad}: `{piece}` of a secret in {text}"
                );
            }
        }
    }
    // The headers did go out.
    let mut req = chat_request();
    req.path = "/pad0".into();
    let r = client.send(&req, &context(), false).await.record;
    let e = r.error.unwrap_or_default();
    assert!(
        e.contains("Bearer <redacted>") && e.contains("<redacted>"),
        "{e}"
    );
}

#[test]
fn an_unset_headers_env_variable_is_named_and_its_value_never_shown() {
    let mut ep = endpoint(ApiKind::Chat);
    ep.headers_env = [(
        "X-Api-Key".to_string(),
        "TOKENOMICS_TEST_SURELY_UNSET_HEADER".to_string(),
    )]
    .into_iter()
    .collect();
    let err = HttpClient::new(&ep, "http://127.0.0.1:1/v1", 1).expect_err("unset");
    let text = err.to_string();
    assert!(
        text.contains("TOKENOMICS_TEST_SURELY_UNSET_HEADER") && text.contains("X-Api-Key"),
        "{text}"
    );
}

/// A server that ignores `max_tokens` cannot grow a record without bound: past
/// `max_tokens × n × 1.1 + 16` content events the request ends as
/// `invalid_response`, having kept only that many chunk times.
#[tokio::test]
async fn a_stream_longer_than_its_request_allows_is_cut_off() {
    let server = serve(|_| async {
        let mut body = String::new();
        for _ in 0..5000 {
            body.push_str(&format!("data: {}\n\n", content("t")));
        }
        body.push_str("data: [DONE]\n\n");
        sse_response(Body::from(body))
    })
    .await;
    let client = client_for(&endpoint(ApiKind::Chat), &server);
    // max_tokens = 8, n = 1: at most 8 + 0 + 16 = 24 events.
    assert_eq!(crate::client::request::max_content_events(Some(8), 1), 24);
    let r = client.send(&chat_request(), &context(), false).await.record;
    assert_eq!(r.outcome, Outcome::InvalidResponse, "{:?}", r.error);
    assert!(r.error.as_deref().is_some_and(|e| e.contains("max_tokens")));
    assert_eq!(r.chunk_ns.len(), 24);
    // Without max_tokens the scenario limit (2^21 tokens) applies: 2 × 2^21 × 1.1 + 16.
    assert_eq!(
        crate::client::request::max_content_events(None, 2),
        4_613_750
    );
}

/// `[DONE]` before any chunk is not a successful generation.
#[tokio::test]
async fn done_before_any_chunk_is_an_invalid_response() {
    let server = serve(|_| async { sse_response(Body::from("data: [DONE]\n\n")) }).await;
    let client = client_for(&endpoint(ApiKind::Chat), &server);
    let r = client.send(&chat_request(), &context(), false).await.record;
    assert_eq!(r.outcome, Outcome::InvalidResponse);
    assert_eq!(r.output_tokens, 0);
}

/// Usage that cannot be right is kept as written but never feeds the headline
/// counts: the client's own count is used instead.
#[tokio::test]
async fn implausible_usage_is_noted_and_not_used() {
    for (usage, note) in [
        (
            r#"{"completion_tokens":1e30,"prompt_tokens":37}"#,
            "completion_tokens = 1000000000000000000000000000000",
        ),
        (
            r#"{"completion_tokens":-2,"prompt_tokens":37}"#,
            "completion_tokens = -2",
        ),
        (
            r#"{"completion_tokens":4000000,"prompt_tokens":37}"#,
            "completion_tokens = 4000000, more than max_tokens × n allows",
        ),
    ] {
        let usage = usage.to_owned();
        let server = serve(move |_| {
            let usage = usage.clone();
            async move {
                sse_response(Body::from(format!(
                    "data: {}\n\ndata: {}\n\ndata: {FINISH}\n\ndata: {{\"choices\":[],\"usage\":{usage}}}\n\ndata: [DONE]\n\n",
                    content("a"),
                    content("b")
                )))
            }
        })
        .await;
        let client = client_for(&endpoint(ApiKind::Chat), &server);
        let r = client.send(&chat_request(), &context(), false).await.record;
        assert_eq!(r.outcome, Outcome::Ok);
        assert_eq!(r.usage_note.as_deref(), Some(note));
        assert_eq!(
            (r.output_tokens, r.output_token_source),
            (2, TokenSource::ChunkCount),
            "{note}"
        );
        assert_ne!(r.input_token_source, TokenSource::Usage, "{note}");
    }
}

/// Reads ask for 8 KiB (`transport::connect::READ_BUFFER`), yet a response
/// head of several KiB (a proxy's cookies, long ids) still reads, and so does a
/// body many times that size.
#[tokio::test]
async fn large_heads_and_bodies_read_through_the_capped_buffer() {
    let server = serve(|_| async {
        let content = "word ".repeat(20_000);
        axum::http::Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .header("x-padding", "p".repeat(6 * 1024))
            .body(Body::from(format!(
                r#"{{"id":"x","object":"chat.completion","choices":[{{"index":0,"message":{{"role":"assistant","content":"{content}"}},"finish_reason":"length"}}],"usage":{{"prompt_tokens":12,"completion_tokens":20000,"total_tokens":20012}}}}"#
            )))
            .expect("response")
    })
    .await;
    let mut ep = endpoint(ApiKind::Chat);
    ep.stream = false;
    let client = client_for(&ep, &server);
    let resp = client.send(&chat_request(), &context(), true).await;
    let r = &resp.record;
    assert_eq!(r.outcome, Outcome::Ok, "{:?}", r.error);
    assert_eq!(resp.text.as_deref().map(str::len), Some(100_000));
}
