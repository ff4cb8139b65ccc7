//! Scraping a server's Prometheus `/metrics` page during a run.
//!
//! Every `interval`, the scraper GETs the page, keeps the series tokenomics
//! knows (below) and stores them as [`ServerMetricSample`]s stamped with the
//! time since the run's `t0`, so the report can draw the server's view beside
//! the client's. Scrape failures are counted, never fatal.
//!
//! | normalised name | vLLM | SGLang | llama.cpp |
//! |---|---|---|---|
//! | `running` | `vllm:num_requests_running` | `sglang:num_running_reqs` | `llamacpp:requests_processing` |
//! | `waiting` | `vllm:num_requests_waiting` | `sglang:num_queue_reqs` | `llamacpp:requests_deferred` |
//! | `kv_cache_usage` (0–1) | `vllm:gpu_cache_usage_perc`, `vllm:kv_cache_usage_perc` | `sglang:token_usage` | `llamacpp:kv_cache_usage_ratio` |
//! | `prompt_tokens_total` | `vllm:prompt_tokens_total` | `sglang:prompt_tokens_total` | `llamacpp:prompt_tokens_total` |
//! | `generation_tokens_total` | `vllm:generation_tokens_total` | `sglang:generation_tokens_total` | `llamacpp:tokens_predicted_total` |
//!
//! Series with labels (e.g. `model_name="…"`) are summed per name. A page larger
//! than [`MAX_METRICS_BYTES`] (8 MiB) counts as a failed scrape and is not kept.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::results::ServerMetricSample;

/// Maps a server's series name to the normalised one.
#[must_use]
pub fn normalise(raw: &str) -> Option<&'static str> {
    Some(match raw {
        "vllm:num_requests_running"
        | "sglang:num_running_reqs"
        | "llamacpp:requests_processing" => "running",
        "vllm:num_requests_waiting" | "sglang:num_queue_reqs" | "llamacpp:requests_deferred" => {
            "waiting"
        }
        "vllm:gpu_cache_usage_perc"
        | "vllm:kv_cache_usage_perc"
        | "sglang:token_usage"
        | "llamacpp:kv_cache_usage_ratio" => "kv_cache_usage",
        "vllm:prompt_tokens_total"
        | "sglang:prompt_tokens_total"
        | "llamacpp:prompt_tokens_total" => "prompt_tokens_total",
        "vllm:generation_tokens_total"
        | "sglang:generation_tokens_total"
        | "llamacpp:tokens_predicted_total" => "generation_tokens_total",
        _ => return None,
    })
}

/// Parses the Prometheus text exposition format, keeping known series.
/// Returns `(raw_name, normalised_name, value)` with labelled series summed per name.
#[must_use]
pub fn parse_exposition(text: &str) -> Vec<(String, &'static str, f64)> {
    let mut out: Vec<(String, &'static str, f64)> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // name{labels} value [timestamp]  |  name value [timestamp]
        let (name, rest) = match line.find(['{', ' ']) {
            Some(i) if line.as_bytes()[i] == b'{' => match line[i..].find('}') {
                Some(j) => (&line[..i], line[i + j + 1..].trim()),
                None => continue,
            },
            Some(i) => (&line[..i], line[i..].trim()),
            None => continue,
        };
        let Some(norm) = normalise(name) else {
            continue;
        };
        let Some(value) = rest
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<f64>().ok())
        else {
            continue;
        };
        if !value.is_finite() {
            continue;
        }
        match out.iter_mut().find(|(n, _, _)| n == name) {
            Some(e) => e.2 += value,
            None => out.push((name.to_string(), norm, value)),
        }
    }
    out
}

/// Largest metrics page read, in bytes (8 MiB); a larger one is a failed scrape.
pub const MAX_METRICS_BYTES: usize = 8 << 20;

/// GETs a metrics page of at most `max` bytes: None when the request fails, the
/// status is not 2xx, or the body is larger (reading stops at the limit).
async fn fetch_page(client: &reqwest::Client, url: &str, max: usize) -> Option<String> {
    let mut resp = client.get(url).send().await.ok()?;
    if !resp.status().is_success() || resp.content_length().is_some_and(|l| l > max as u64) {
        return None;
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.ok()? {
        if body.len() + chunk.len() > max {
            return None;
        }
        body.extend_from_slice(&chunk);
    }
    Some(String::from_utf8_lossy(&body).into_owned())
}

/// Where and how often to scrape, and which run the samples belong to.
#[derive(Clone, Debug)]
pub struct ScrapeTarget {
    pub endpoint: String,
    pub url: String,
    pub interval: Duration,
    pub point_index: u32,
    pub run_index: u32,
    /// The run's t0 on [`crate::clock::now_ns`].
    pub t0_ns: u64,
}

/// Scrapes until `stop` fires; returns the samples and the number of failed scrapes.
pub async fn scrape_until(
    target: ScrapeTarget,
    stop: CancellationToken,
) -> (Vec<ServerMetricSample>, u32) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let Ok(client) = reqwest::Client::builder()
        .timeout(target.interval.max(Duration::from_millis(200)))
        .build()
    else {
        return (Vec::new(), 1);
    };
    let mut samples = Vec::new();
    let mut failures = 0u32;
    let mut tick = tokio::time::interval(target.interval.max(Duration::from_millis(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stop.cancelled() => break,
        }
        let t_ms = crate::clock::now_ns().saturating_sub(target.t0_ns) as f64 / 1e6;
        let text = fetch_page(&client, &target.url, MAX_METRICS_BYTES).await;
        let Some(text) = text else {
            failures += 1;
            continue;
        };
        for (raw, name, value) in parse_exposition(&text) {
            samples.push(ServerMetricSample {
                endpoint: target.endpoint.clone(),
                point_index: target.point_index,
                run_index: target.run_index,
                t_ms,
                name: name.to_string(),
                raw_name: raw,
                value,
            });
        }
    }
    (samples, failures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vllm_sglang_and_llamacpp_names() {
        let text = "\
# HELP vllm:num_requests_running Number of requests running.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{model_name=\"m\"} 3.0
vllm:num_requests_running{model_name=\"n\"} 2
vllm:num_requests_waiting{model_name=\"m\"} 7
sglang:token_usage 0.25
llamacpp:tokens_predicted_total 1234 1700000000000
process_cpu_seconds_total 99
broken_line{no_close 1
vllm:prompt_tokens_total NaN
";
        let got = parse_exposition(text);
        assert_eq!(
            got,
            vec![
                ("vllm:num_requests_running".to_string(), "running", 5.0),
                ("vllm:num_requests_waiting".to_string(), "waiting", 7.0),
                ("sglang:token_usage".to_string(), "kv_cache_usage", 0.25),
                (
                    "llamacpp:tokens_predicted_total".to_string(),
                    "generation_tokens_total",
                    1234.0
                ),
            ]
        );
    }

    #[test]
    fn unknown_names_are_not_normalised() {
        assert_eq!(normalise("process_cpu_seconds_total"), None);
        assert_eq!(normalise("llamacpp:requests_deferred"), Some("waiting"));
    }

    /// Serves `response` once per connection on 127.0.0.1; returns the URL.
    async fn serve(response: Vec<u8>) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let response = response.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = sock.read(&mut buf).await;
                    let _ = sock.write_all(&response).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        format!("http://{addr}/metrics")
    }

    #[tokio::test]
    async fn metrics_pages_over_the_limit_are_failed_scrapes() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::new();
        let page = "vllm:num_requests_running 3\n".repeat(10);
        let with_length = |body: &str| {
            format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        };
        let url = serve(with_length(&page)).await;
        let text = fetch_page(&client, &url, page.len())
            .await
            .expect("at the limit");
        assert_eq!(parse_exposition(&text)[0].2, 30.0);
        // Over the limit by its declared length...
        assert_eq!(fetch_page(&client, &url, page.len() - 1).await, None);
        // ...or, without a length, while it is read.
        let url =
            serve(format!("HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n{page}").into_bytes()).await;
        assert_eq!(fetch_page(&client, &url, page.len() - 1).await, None);
        assert!(fetch_page(&client, &url, page.len()).await.is_some());
    }
}
