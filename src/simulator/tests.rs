//! HTTP tests of the simulator: real requests over 127.0.0.1 with reqwest.
//!
//! Timing assertions use only lower bounds that the model guarantees (a
//! deadline is never early) or generous ratios; exact schedules are tested on
//! the pure functions in `timing.rs` and `batch.rs`.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use futures::StreamExt as _;
use serde_json::{json, Value};

use super::faults::fault_for;
use super::timing::BatchParams;
use super::*;
use crate::vocab::{FaultKind, FaultSpec, SimConfig, SimTiming};

const MS: u64 = 1_000_000;

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().expect("client")
}

fn fast() -> SimConfig {
    SimConfig {
        ttft: Duration::from_millis(5),
        itl: Duration::from_millis(2),
        pooling_latency: Duration::from_millis(2),
        pooling_per_token: Duration::from_micros(10),
        embedding_dim: 16,
        ..SimConfig::default()
    }
}

async fn start(config: SimConfig) -> SimHandle {
    spawn(config, 0).await.expect("simulator starts")
}

async fn post(client: &reqwest::Client, url: &str, id: &str, body: &Value) -> reqwest::Response {
    client
        .post(url)
        .header("x-request-id", id)
        .json(body)
        .send()
        .await
        .expect("response")
}

/// The `data:` payloads of an SSE body.
fn events(text: &str) -> Vec<String> {
    text.split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|e| e.strip_prefix("data: ").expect("a data event").to_owned())
        .collect()
}

fn parse(event: &str) -> Value {
    serde_json::from_str(event).expect("valid JSON event")
}

fn by_seq(mut log: Vec<SimRequestLog>) -> Vec<SimRequestLog> {
    log.sort_by_key(|e| e.seq);
    log
}

fn chat_body(max_tokens: u32, stream: bool) -> Value {
    json!({
        "model": "sim-model",
        "messages": [{"role": "user", "content": "how many words are here"}],
        "max_tokens": max_tokens,
        "stream": stream,
        "stream_options": {"include_usage": true},
    })
}

#[tokio::test]
async fn chat_stream_has_role_tokens_finish_usage_done() {
    let sim = start(fast()).await;
    let c = client();
    let url = format!("{}/chat/completions", sim.base_url());
    let resp = post(&c, &url, "chat-1", &chat_body(5, true)).await;
    assert_eq!(resp.status(), 200);
    let ctype = resp.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(ctype.starts_with("text/event-stream"), "{ctype}");
    let ev = events(&resp.text().await.expect("body"));
    assert_eq!(ev.len(), 1 + 5 + 1 + 1 + 1, "{ev:?}");
    let role = parse(&ev[0]);
    assert_eq!(role["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(role["choices"][0]["delta"]["content"], "");
    for (k, e) in ev[1..6].iter().enumerate() {
        let chunk = parse(e);
        assert_eq!(chunk["choices"][0]["delta"]["content"], format!(" tok{k}"));
        assert!(chunk["choices"][0]["finish_reason"].is_null());
    }
    assert_eq!(parse(&ev[6])["choices"][0]["finish_reason"], "length");
    let usage = parse(&ev[7]);
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"]["prompt_tokens"], 5);
    assert_eq!(usage["usage"]["completion_tokens"], 5);
    assert_eq!(usage["usage"]["total_tokens"], 10);
    assert_eq!(ev[8], "[DONE]");

    let log = sim.log();
    assert_eq!(log.len(), 1);
    let e = &log[0];
    assert_eq!(e.request_id.as_deref(), Some("chat-1"));
    assert_eq!(e.path, "/v1/chat/completions");
    assert_eq!(
        (e.status, e.fault, e.completed, e.stream),
        (Some(200), None, true, true)
    );
    assert_eq!(e.prompt_tokens, 5);
    assert_eq!(e.token_ns.len(), 5);
    let first_byte = e.first_byte_ns.expect("first byte");
    assert!(e.arrival_ns <= first_byte && first_byte <= e.token_ns[0]);
    assert!(e.token_ns.windows(2).all(|w| w[0] < w[1]));
}

#[tokio::test]
async fn completions_stream_with_n_choices_and_no_usage() {
    let sim = start(fast()).await;
    let c = client();
    let body = json!({"model": "m", "prompt": "a b c d", "max_tokens": 3, "n": 2, "stream": true});
    let resp = post(
        &c,
        &format!("{}/completions", sim.base_url()),
        "cmpl",
        &body,
    )
    .await;
    let ev = events(&resp.text().await.expect("body"));
    // 3 steps × 2 choices, 2 finish chunks, [DONE]; no role and no usage chunk.
    assert_eq!(ev.len(), 6 + 2 + 1, "{ev:?}");
    for (i, e) in ev[..6].iter().enumerate() {
        let chunk = parse(e);
        assert_eq!(chunk["object"], "text_completion");
        assert_eq!(chunk["choices"][0]["index"], i % 2);
        assert_eq!(chunk["choices"][0]["text"], format!(" tok{}", i / 2));
    }
    for e in &ev[6..8] {
        assert_eq!(parse(e)["choices"][0]["finish_reason"], "length");
    }
    assert_eq!(ev[8], "[DONE]");
    let log = sim.log();
    assert_eq!(log[0].token_ns.len(), 3, "one time per step");
    assert_eq!(log[0].first_byte_ns, Some(log[0].token_ns[0]));
}

#[tokio::test]
async fn non_streamed_generations_carry_usage() {
    let sim = start(fast()).await;
    let c = client();
    let resp = post(
        &c,
        &format!("{}/chat/completions", sim.base_url()),
        "ns",
        &chat_body(3, false),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.expect("json");
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["choices"][0]["message"]["content"], " tok0 tok1 tok2");
    assert_eq!(v["choices"][0]["finish_reason"], "length");
    assert_eq!(
        v["usage"],
        json!({"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8})
    );

    let body = json!({"prompt": ["one two", "three"], "max_tokens": 4, "n": 3});
    let v: Value = post(&c, &format!("{}/completions", sim.base_url()), "ns2", &body)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(v["choices"].as_array().map(Vec::len), Some(3));
    assert_eq!(v["choices"][2]["index"], 2);
    assert_eq!(
        v["usage"],
        json!({"prompt_tokens": 3, "completion_tokens": 12, "total_tokens": 15})
    );

    let log = by_seq(sim.log());
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|e| !e.stream && e.completed));
    assert_eq!(log[1].token_ns.len(), 4);
    // The body goes out after the last token is generated.
    assert!(log
        .iter()
        .all(|e| e.first_byte_ns >= e.token_ns.last().copied()));
}

#[tokio::test]
async fn image_parts_count_a_fixed_amount() {
    let sim = start(fast()).await;
    let c = client();
    let body = json!({
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": "describe this"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        ]}],
        "max_tokens": 1,
    });
    let v: Value = post(
        &c,
        &format!("{}/chat/completions", sim.base_url()),
        "img",
        &body,
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(v["usage"]["prompt_tokens"], 2 + IMAGE_PART_TOKENS);
}

#[tokio::test]
async fn embeddings_float_and_base64_agree() {
    let sim = start(fast()).await;
    let c = client();
    let url = format!("{}/embeddings", sim.base_url());
    let input = json!(["first text", "second text here", "third"]);
    let float: Value = post(&c, &url, "e1", &json!({"model": "m", "input": input}))
        .await
        .json()
        .await
        .expect("json");
    let b64: Value = post(
        &c,
        &url,
        "e2",
        &json!({"input": input, "encoding_format": "base64"}),
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(
        float["usage"],
        json!({"prompt_tokens": 6, "total_tokens": 6})
    );
    let data = float["data"].as_array().expect("data");
    assert_eq!(data.len(), 3);
    for (i, item) in data.iter().enumerate() {
        assert_eq!(item["index"], i);
        let vector: Vec<f32> = serde_json::from_value(item["embedding"].clone()).expect("floats");
        assert_eq!(vector.len(), 16);
        let encoded = b64["data"][i]["embedding"].as_str().expect("base64 string");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .expect("standard base64");
        assert_eq!(bytes.len(), 16 * 4);
        let decoded: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        assert_eq!(decoded, vector);
    }
    assert_ne!(data[0]["embedding"], data[1]["embedding"]);

    let bad = post(
        &c,
        &url,
        "e3",
        &json!({"input": "x", "encoding_format": "int8"}),
    )
    .await;
    assert_eq!(bad.status(), 400);
    let log = by_seq(sim.log());
    assert_eq!(log.len(), 3);
    assert!(log[0].token_ns.is_empty());
    // Pooling latency: 2 ms + 10 µs × 6 tokens after arrival, at the earliest.
    let sent = log[0].first_byte_ns.expect("sent");
    assert!(sent >= log[0].arrival_ns + 2 * MS + 60_000);
    assert_eq!(log[2].status, Some(400));
}

#[tokio::test]
async fn rerank_and_score_shapes() {
    let sim = start(fast()).await;
    let c = client();
    let docs = json!(["alpha beta", {"text": "gamma"}, "delta epsilon zeta", "eta"]);
    let mut first: Option<Value> = None;
    for path in ["/v1/rerank", "/rerank", "/v2/rerank"] {
        let body = json!({"model": "m", "query": "find me", "documents": docs, "top_n": 2});
        let v: Value = post(&c, &format!("{}{path}", sim.root_url()), "r", &body)
            .await
            .json()
            .await
            .expect("json");
        let results = v["results"].as_array().expect("results");
        assert_eq!(results.len(), 2, "{path}");
        let s0 = results[0]["relevance_score"].as_f64().expect("score");
        let s1 = results[1]["relevance_score"].as_f64().expect("score");
        assert!(s0 >= s1 && (0.0..1.0).contains(&s1));
        // query (2 words) with each document: 4 + 3 + 5 + 3.
        assert_eq!(v["usage"]["prompt_tokens"], 15);
        match &first {
            None => first = Some(v["results"].clone()),
            Some(f) => assert_eq!(f, &v["results"], "deterministic"),
        }
    }

    let body = json!({"model": "m", "text_1": "the query", "text_2": ["a", "b c", "d"]});
    for path in ["/score", "/v1/score"] {
        let v: Value = post(&c, &format!("{}{path}", sim.root_url()), "s", &body)
            .await
            .json()
            .await
            .expect("json");
        let data = v["data"].as_array().expect("data");
        assert_eq!(data.len(), 3);
        assert_eq!(data[2]["index"], 2);
        assert_eq!(data[2]["object"], "score");
        assert_eq!(v["usage"]["prompt_tokens"], 2 * 3 + 4);
    }
    let mismatched = json!({"text_1": ["a", "b"], "text_2": ["a", "b", "c"]});
    let resp = post(&c, &format!("{}/score", sim.root_url()), "s", &mismatched).await;
    assert_eq!(resp.status(), 400);

    let sglang = json!({"query": "state", "items": ["yes or no", "maybe"],
        "label_token_ids": [9175, 2665], "apply_softmax": true});
    let v: Value = post(&c, &format!("{}/v1/score", sim.root_url()), "g", &sglang)
        .await
        .json()
        .await
        .expect("json");
    let rows = v["scores"].as_array().expect("scores");
    assert_eq!(rows.len(), 2);
    for row in rows {
        let p: Vec<f64> = serde_json::from_value(row.clone()).expect("floats");
        assert_eq!(p.len(), 2);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }
    assert_eq!(v["usage"]["prompt_tokens"], (1 + 3) + (1 + 1));
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(&format!("{name}{{")))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name} missing in\n{text}"))
}

#[tokio::test]
async fn models_health_tokenize_and_metrics() {
    let sim = start(fast()).await;
    let c = client();
    let models: Value = c
        .get(format!("{}/models", sim.base_url()))
        .send()
        .await
        .expect("models")
        .json()
        .await
        .expect("json");
    assert_eq!(models["object"], "list");
    assert_eq!(models["data"][0]["id"], "sim-model");
    let health: Value = c
        .get(format!("{}/health", sim.root_url()))
        .send()
        .await
        .expect("health")
        .json()
        .await
        .expect("json");
    assert_eq!(health, json!({"status": "ok"}));
    for body in [
        json!({"content": "one two  three"}),
        json!({"prompt": "one two three"}),
    ] {
        let v: Value = post(&c, &format!("{}/tokenize", sim.root_url()), "t", &body)
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(v["count"], 3);
        assert_eq!(v["tokens"].as_array().map(Vec::len), Some(3));
    }

    // 5 + 5 prompt tokens, 4 + 2 generated tokens.
    let url = format!("{}/chat/completions", sim.base_url());
    let _ = post(&c, &url, "m1", &chat_body(4, true)).await.text().await;
    let _ = post(&c, &url, "m2", &chat_body(2, false))
        .await
        .text()
        .await;
    let text = c
        .get(format!("{}/metrics", sim.root_url()))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (series, value) = line.rsplit_once(' ').expect("`series value`");
        assert!(
            series.starts_with("vllm:") && series.ends_with("\"}"),
            "{line}"
        );
        assert!(value.parse::<f64>().is_ok(), "{line}");
    }
    assert_eq!(metric(&text, "vllm:prompt_tokens_total"), 10.0);
    assert_eq!(metric(&text, "vllm:generation_tokens_total"), 6.0);
    assert_eq!(metric(&text, "vllm:num_requests_running"), 0.0);
    assert_eq!(metric(&text, "vllm:num_requests_waiting"), 0.0);
    assert_eq!(metric(&text, "vllm:gpu_cache_usage_perc"), 0.0);
    // Utility endpoints are not in the log.
    assert_eq!(sim.log().len(), 2);
}

#[tokio::test]
async fn fixed_timing_never_sends_before_schedule() {
    let config = SimConfig {
        ttft: Duration::from_millis(30),
        itl: Duration::from_millis(10),
        ..fast()
    };
    let sim = start(config).await;
    let c = client();
    let url = format!("{}/chat/completions", sim.base_url());
    let requests = (0..4).map(|i| {
        let c = c.clone();
        let url = url.clone();
        async move {
            post(&c, &url, &format!("fx-{i}"), &chat_body(8, true))
                .await
                .text()
                .await
        }
    });
    for body in futures::future::join_all(requests).await {
        assert!(body.expect("body").ends_with("data: [DONE]\n\n"));
    }
    let log = sim.log();
    assert_eq!(log.len(), 4);
    for e in &log {
        assert_eq!(e.token_ns.len(), 8);
        for (k, &t) in e.token_ns.iter().enumerate() {
            let due = e.arrival_ns + 30 * MS + k as u64 * 10 * MS;
            assert!(
                t >= due,
                "token {k} of {:?} sent {} ns early",
                e.request_id,
                due - t
            );
        }
        // The role chunk goes out at arrival, long before the first token is due.
        assert!(e.first_byte_ns.expect("role chunk") < e.arrival_ns + 30 * MS);
    }
}

#[tokio::test]
async fn batching_steps_slow_down_with_concurrency() {
    let config = SimConfig {
        ttft: Duration::from_millis(20),
        itl: Duration::from_millis(10),
        timing: SimTiming::Batching {
            itl_per_seq: Duration::from_millis(10),
            prefill_per_token: Duration::ZERO,
            max_batch: 8,
        },
        ..fast()
    };
    let params = BatchParams::from_config(&config).expect("batching");
    let sim = start(config).await;
    let c = client();
    let url = format!("{}/chat/completions", sim.base_url());
    let requests = (0..4).map(|i| {
        let c = c.clone();
        let url = url.clone();
        async move {
            post(&c, &url, &format!("b-{i}"), &chat_body(16, i % 2 == 0))
                .await
                .text()
                .await
        }
    });
    for body in futures::future::join_all(requests).await {
        assert!(body.is_ok());
    }
    let log = sim.log();
    assert_eq!(log.len(), 4);
    let step4 = params.step_duration_ns(4);
    for e in &log {
        assert_eq!(e.token_ns.len(), 16);
        assert!(e.token_ns[0] >= e.arrival_ns + 20 * MS);
        // Steps 4..15 run with all four sequences: the mean gap is step(4) = 40 ms,
        // give or take wake-up jitter at both ends.
        let mean = (e.token_ns[15] - e.token_ns[4]) / 11;
        assert!(
            mean * 10 >= step4 * 8 && mean * 10 <= step4 * 15,
            "mean gap {mean} ns vs step(4) = {step4} ns"
        );
    }
}

#[tokio::test]
async fn batching_queues_beyond_max_batch() {
    let config = SimConfig {
        ttft: Duration::from_millis(50),
        itl: Duration::from_millis(10),
        timing: SimTiming::Batching {
            itl_per_seq: Duration::from_millis(10),
            prefill_per_token: Duration::ZERO,
            max_batch: 2,
        },
        ..fast()
    };
    let sim = start(config).await;
    let c = client();
    let url = format!("{}/completions", sim.base_url());
    let body = json!({"prompt": "x", "max_tokens": 3, "stream": true});
    let requests = (0..4).map(|i| {
        let c = c.clone();
        let (url, body) = (url.clone(), body.clone());
        async move { post(&c, &url, &format!("q-{i}"), &body).await.text().await }
    });
    for body in futures::future::join_all(requests).await {
        assert!(body.expect("body").ends_with("data: [DONE]\n\n"));
    }
    let mut log = sim.log();
    log.sort_by_key(|e| e.token_ns[0]);
    // The first two are admitted at once (token 0 at arrival + 50 ms); each of
    // the other two is admitted when one of them finishes (virtual time V, the
    // time of its last token, which is sent at V or a little later), so its
    // token 0 comes at V + 50 ms or later.
    for e in &log[..2] {
        assert!(e.token_ns[0] - e.arrival_ns < 80 * MS, "not queued: {e:?}");
    }
    let first_done = log[..2]
        .iter()
        .filter_map(|e| e.token_ns.last().copied())
        .min()
        .expect("two finished");
    for e in &log[2..] {
        assert!(e.token_ns[0] >= first_done + 30 * MS, "queued: {e:?}");
    }
}

#[tokio::test]
async fn batching_frees_the_slot_of_a_client_that_left() {
    let config = SimConfig {
        ttft: Duration::from_millis(2),
        itl: Duration::from_millis(5),
        timing: SimTiming::Batching {
            itl_per_seq: Duration::ZERO,
            prefill_per_token: Duration::ZERO,
            max_batch: 1,
        },
        ..fast()
    };
    let sim = start(config).await;
    let c = client();
    let url = format!("{}/completions", sim.base_url());
    let long = json!({"prompt": "x", "max_tokens": 100_000, "stream": true});
    let resp = post(&c, &url, "leaver", &long).await;
    let mut body = resp.bytes_stream();
    let _ = body.next().await.expect("a first chunk").expect("bytes");
    drop(body);
    // Without cancellation this would wait 100 000 steps of 5 ms.
    let short = json!({"prompt": "x", "max_tokens": 2, "stream": true});
    let text = tokio::time::timeout(Duration::from_secs(10), async {
        post(&c, &url, "next", &short).await.text().await
    })
    .await
    .expect("the slot was freed")
    .expect("body");
    assert!(text.ends_with("data: [DONE]\n\n"));
    let log = by_seq(sim.log());
    assert_eq!(log.len(), 2);
    assert!(!log[0].completed && log[0].token_ns.len() < 100_000);
    assert!(log[1].completed);
}

#[tokio::test]
async fn batching_gauges_show_running_and_waiting() {
    let config = SimConfig {
        ttft: Duration::from_millis(1),
        itl: Duration::from_millis(5),
        timing: SimTiming::Batching {
            itl_per_seq: Duration::ZERO,
            prefill_per_token: Duration::ZERO,
            max_batch: 1,
        },
        ..fast()
    };
    let sim = start(config).await;
    let c = client();
    let url = format!("{}/completions", sim.base_url());
    let long = json!({"prompt": "x", "max_tokens": 100_000, "stream": true});
    let mut first = post(&c, &url, "a", &long).await.bytes_stream();
    let _ = first.next().await.expect("a first chunk").expect("bytes");
    // Two more wait behind it (their headers come back at once).
    let b = post(&c, &url, "b", &long).await;
    let d = post(&c, &url, "c", &long).await;
    let mut text = String::new();
    for _ in 0..200 {
        text = c
            .get(format!("{}/metrics", sim.root_url()))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        if metric(&text, "vllm:num_requests_waiting") == 2.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(metric(&text, "vllm:num_requests_waiting"), 2.0, "{text}");
    assert_eq!(metric(&text, "vllm:num_requests_running"), 1.0);
    assert_eq!(metric(&text, "vllm:gpu_cache_usage_perc"), 1.0);
    drop((first, b, d));
}

/// What the client saw of one request.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    NoResponse,
    Status(u16),
    Cut { content_events: usize },
    Malformed,
    Complete { content_events: usize },
}

async fn observe_stream(
    c: &reqwest::Client,
    url: &str,
    id: &str,
    max_tokens: u32,
) -> (Seen, Option<String>) {
    let resp = match c
        .post(url)
        .header("x-request-id", id)
        .json(&json!({"prompt": "p", "max_tokens": max_tokens, "stream": true}))
        .send()
        .await
    {
        Ok(resp) => resp,
        Err(_) => return (Seen::NoResponse, None),
    };
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if status != 200 {
        let body: Value = resp.json().await.expect("JSON error body");
        assert!(body["error"]["message"].is_string());
        return (Seen::Status(status), retry_after);
    }
    let mut text = String::new();
    let mut stream = resp.bytes_stream();
    let mut failed = false;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(bytes) => text.push_str(std::str::from_utf8(&bytes).expect("utf-8")),
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    let content_events = text.matches("\"text\":\" tok").count();
    if failed {
        assert!(!text.contains("[DONE]"));
        return (Seen::Cut { content_events }, None);
    }
    assert!(text.ends_with("data: [DONE]\n\n"));
    if text.contains("data: {not json\n\n") {
        assert_eq!(text.matches("{not json").count(), 1);
        assert_eq!(content_events, max_tokens as usize);
        return (Seen::Malformed, None);
    }
    (Seen::Complete { content_events }, None)
}

#[tokio::test]
async fn faults_follow_the_deterministic_rule() {
    let faults = FaultSpec {
        seed: 11,
        refuse: 0.12,
        http_500: 0.12,
        http_429: 0.12,
        retry_after_s: 3,
        stream_cut: 0.12,
        malformed_event: 0.12,
        stall: 0.12,
        stall_for: Duration::from_millis(150),
    };
    let config = SimConfig {
        ttft: Duration::from_millis(1),
        itl: Duration::from_millis(1),
        faults: faults.clone(),
        ..fast()
    };
    let sim = start(config).await;
    let c = client();
    let url = format!("{}/completions", sim.base_url());
    let n = 40_u64;
    // Sequential, so request i gets seq i.
    for i in 0..n {
        let (seen, retry_after) = observe_stream(&c, &url, &format!("f-{i}"), 4).await;
        let expected = match fault_for(&faults, i) {
            Some(FaultKind::Refuse) => Seen::NoResponse,
            Some(FaultKind::Http500) => Seen::Status(500),
            Some(FaultKind::Http429) => {
                assert_eq!(retry_after.as_deref(), Some("3"));
                Seen::Status(429)
            }
            Some(FaultKind::StreamCut) => Seen::Cut { content_events: 2 },
            Some(FaultKind::MalformedEvent) => Seen::Malformed,
            Some(FaultKind::Stall) | None => Seen::Complete { content_events: 4 },
        };
        assert_eq!(seen, expected, "request {i}");
    }
    let log = by_seq(sim.log());
    assert_eq!(log.len(), n as usize);
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut expected_counts: BTreeMap<String, usize> = BTreeMap::new();
    for (i, e) in log.iter().enumerate() {
        let i = i as u64;
        assert_eq!(e.seq, i);
        assert_eq!(e.request_id.as_deref(), Some(format!("f-{i}").as_str()));
        assert_eq!(e.fault, fault_for(&faults, i));
        *counts.entry(format!("{:?}", e.fault)).or_default() += 1;
        *expected_counts
            .entry(format!("{:?}", fault_for(&faults, i)))
            .or_default() += 1;
        match e.fault {
            Some(FaultKind::Refuse) => assert_eq!((e.status, e.first_byte_ns), (None, None)),
            Some(FaultKind::Http500) => assert_eq!(e.status, Some(500)),
            Some(FaultKind::Http429) => assert_eq!(e.status, Some(429)),
            Some(FaultKind::StreamCut) => {
                assert_eq!(e.token_ns.len(), 2);
                assert!(!e.completed);
            }
            Some(FaultKind::Stall) => {
                assert_eq!(e.token_ns.len(), 4);
                // Token 2 (half of 4) and later are due `stall_for` late.
                let due = e.arrival_ns + MS + 2 * MS + 150 * MS;
                assert!(e.token_ns[2] >= due, "stalled before token 2: {e:?}");
                assert!(
                    e.token_ns[1] < e.arrival_ns + 100 * MS,
                    "not before token 1: {e:?}"
                );
            }
            Some(FaultKind::MalformedEvent) | None => {
                assert_eq!(e.token_ns.len(), 4);
                assert!(e.completed);
            }
        }
    }
    assert_eq!(counts, expected_counts);
    // With 40 draws at 12 % each, every kind shows up for this seed.
    assert_eq!(counts.len(), 7, "{counts:?}");
}

#[tokio::test]
async fn stall_trips_a_client_idle_timeout() {
    let config = SimConfig {
        faults: FaultSpec {
            stall: 1.0,
            stall_for: Duration::from_millis(800),
            ..FaultSpec::default()
        },
        ..fast()
    };
    let sim = start(config).await;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let c = reqwest::Client::builder()
        .read_timeout(Duration::from_millis(200))
        .build()
        .expect("client");
    let resp = post(
        &c,
        &format!("{}/chat/completions", sim.base_url()),
        "st",
        &chat_body(6, true),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let err = resp
        .text()
        .await
        .expect_err("the stall outlasts the read timeout");
    assert!(
        err.is_timeout() || err.is_body() || err.is_decode(),
        "{err:?}"
    );
}

#[tokio::test]
async fn faults_on_json_responses() {
    let c = client();
    let kinds = [
        FaultKind::Refuse,
        FaultKind::Http500,
        FaultKind::Http429,
        FaultKind::StreamCut,
        FaultKind::MalformedEvent,
        FaultKind::Stall,
    ];
    for kind in kinds {
        let mut faults = FaultSpec {
            stall_for: Duration::from_millis(50),
            retry_after_s: 1,
            ..FaultSpec::default()
        };
        match kind {
            FaultKind::Refuse => faults.refuse = 1.0,
            FaultKind::Http500 => faults.http_500 = 1.0,
            FaultKind::Http429 => faults.http_429 = 1.0,
            FaultKind::StreamCut => faults.stream_cut = 1.0,
            FaultKind::MalformedEvent => faults.malformed_event = 1.0,
            FaultKind::Stall => faults.stall = 1.0,
        }
        let sim = start(SimConfig { faults, ..fast() }).await;
        let targets = [
            (
                format!("{}/chat/completions", sim.base_url()),
                chat_body(4, false),
            ),
            (
                format!("{}/embeddings", sim.base_url()),
                json!({"input": "a b"}),
            ),
        ];
        for (url, body) in &targets {
            let sent = c.post(url).json(body).send().await;
            match kind {
                FaultKind::Refuse => assert!(sent.is_err(), "{kind:?} {url}"),
                FaultKind::Http500 | FaultKind::Http429 => {
                    let resp = sent.expect("response");
                    let want = if kind == FaultKind::Http500 { 500 } else { 429 };
                    assert_eq!(resp.status(), want);
                }
                FaultKind::StreamCut => {
                    let resp = sent.expect("response");
                    assert_eq!(resp.status(), 200);
                    assert!(resp.bytes().await.is_err(), "{url}: body cut");
                }
                FaultKind::MalformedEvent => {
                    let text = sent.expect("response").text().await.expect("body");
                    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
                }
                FaultKind::Stall => {
                    let resp = sent.expect("response");
                    let v: Value = resp.json().await.expect("complete body");
                    assert!(v["usage"].is_object());
                }
            }
        }
        let log = sim.log();
        assert_eq!(log.len(), 2);
        assert!(log.iter().all(|e| e.fault == Some(kind)));
        if kind == FaultKind::Stall {
            for e in &log {
                let sent = e.first_byte_ns.expect("sent");
                assert!(sent - e.arrival_ns >= 50 * MS, "{e:?}");
            }
        }
    }
}

#[tokio::test]
async fn bad_bodies_get_400_and_no_fault() {
    let config = SimConfig {
        faults: FaultSpec {
            stream_cut: 1.0,
            ..FaultSpec::default()
        },
        ..fast()
    };
    let sim = start(config).await;
    let c = client();
    let resp = c
        .post(format!("{}/chat/completions", sim.base_url()))
        .body("{not json")
        .send()
        .await
        .expect("response");
    assert_eq!(resp.status(), 400);
    let v: Value = resp.json().await.expect("error body");
    assert!(v["error"]["message"]
        .as_str()
        .expect("message")
        .contains("JSON"));
    let log = sim.log();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].status, log[0].fault, log[0].request_id.as_ref()),
        (Some(400), None, None)
    );
}

#[tokio::test]
async fn logging_can_be_turned_off() {
    let sim = start(SimConfig {
        log_requests: false,
        ..fast()
    })
    .await;
    let c = client();
    let text = post(
        &c,
        &format!("{}/chat/completions", sim.base_url()),
        "x",
        &chat_body(2, true),
    )
    .await
    .text()
    .await
    .expect("body");
    assert!(text.ends_with("data: [DONE]\n\n"));
    assert!(sim.log().is_empty());
}

#[tokio::test]
async fn invalid_configurations_are_refused() {
    let bad_rates = SimConfig {
        faults: FaultSpec {
            refuse: 1.5,
            ..FaultSpec::default()
        },
        ..fast()
    };
    let err = spawn(bad_rates, 0).await.expect_err("invalid");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("Refuse"), "{err}");
    let zero_batch = SimConfig {
        timing: SimTiming::Batching {
            itl_per_seq: Duration::ZERO,
            prefill_per_token: Duration::ZERO,
            max_batch: 0,
        },
        ..fast()
    };
    assert!(spawn(zero_batch, 0).await.is_err());
}

#[tokio::test]
async fn shutdown_stops_accepting_connections() {
    let sim = start(fast()).await;
    let health = format!("{}/health", sim.root_url());
    assert_eq!(
        client().get(&health).send().await.expect("up").status(),
        200
    );
    sim.shutdown();
    // The server task stops accepting as soon as it sees the signal.
    let mut refused = false;
    for _ in 0..200 {
        if client().get(&health).send().await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused, "still accepting 2 s after shutdown");
}

#[test]
fn log_is_written_as_json_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sim.jsonl");
    let entry = SimRequestLog {
        seq: 0,
        request_id: Some("a".into()),
        path: "/v1/completions".into(),
        stream: true,
        arrival_ns: 1,
        first_byte_ns: Some(2),
        token_ns: vec![3, 4],
        prompt_tokens: 5,
        status: Some(200),
        fault: Some(FaultKind::Stall),
        completed: true,
    };
    write_log(&path, &[entry.clone(), entry.clone()]).expect("written");
    let text = std::fs::read_to_string(&path).expect("read");
    let lines: Vec<SimRequestLog> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one entry per line"))
        .collect();
    assert_eq!(lines, vec![entry.clone(), entry]);
    assert!(text.contains("\"fault\":\"stall\""));
    let err = write_log(&dir.path().join("missing/x.jsonl"), &[]).expect_err("no dir");
    assert!(err.to_string().contains("missing/x.jsonl"), "{err}");
}
