//! End to end against a real server: llama.cpp's `llama-server` (SmolLM2-135M-Instruct
//! Q4_1 on the CPU), built and cached by `server/llamacpp_run_server.sh`.
//!
//! Ignored by plain `cargo test` because the first build takes minutes; `.ci/run` runs it:
//!
//! ```text
//! server/llamacpp_run_server.sh --build-only
//! cargo test --release --locked --test llamacpp -- --ignored
//! ```
//!
//! If the server cannot be built or started, the test fails and says why; it never
//! passes without having talked to llama-server.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokenomics::record::{Outcome, RequestRecord, TokenSource};
use tokenomics::vocab::ApiKind;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A llama-server child, stopped by its pid when dropped.
struct Server {
    child: Child,
    port: u16,
    name: &'static str,
}

impl Drop for Server {
    fn drop(&mut self) {
        // SAFETY: SIGTERM to our own child; llama-server exits cleanly on it.
        unsafe {
            libc::kill(i32::try_from(self.child.id()).unwrap_or(0), libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// Builds (or finds in the cache) llama-server and the model, via the launch script.
fn ensure_built() {
    let out = Command::new("bash")
        .arg(repo().join("server/llamacpp_run_server.sh"))
        .arg("--print-paths")
        .output()
        .expect("run server/llamacpp_run_server.sh");
    assert!(
        out.status.success(),
        "server/llamacpp_run_server.sh --print-paths failed (cannot build llama-server or fetch the model):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for key in ["BIN=", "MODEL="] {
        let path = text
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap_or_else(|| panic!("no {key} in {text}"));
        assert!(Path::new(path).is_file(), "{key}{path} does not exist");
    }
}

fn start(name: &'static str, extra: &[&str]) -> Server {
    let port = free_port();
    let child = Command::new("bash")
        .arg(repo().join("server/llamacpp_run_server.sh"))
        .args([
            "--port",
            &port.to_string(),
            "--threads",
            "1",
            "--parallel",
            "2",
        ])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start llama-server");
    let server = Server { child, port, name };
    wait_healthy(&server);
    server
}

fn wait_healthy(s: &Server) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", s.port)) {
            use std::io::{Read, Write};
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = stream
                .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
            let mut buf = String::new();
            let _ = stream.read_to_string(&mut buf);
            if buf.starts_with("HTTP/1.1 200") {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "llama-server `{}` on port {} did not become healthy within 120 s",
        s.name, s.port
    );
}

#[test]
#[ignore = "needs llama-server: run server/llamacpp_run_server.sh --build-only, then cargo test --release --test llamacpp -- --ignored"]
fn llamacpp_smoke_manifest_runs_against_real_llama_server() {
    ensure_built();
    let chat = start("chat", &[]);
    let embed = start("embed", &["--embeddings"]);
    let rerank = start("rerank", &["--reranking"]);
    let url = |s: &Server| format!("http://127.0.0.1:{}/v1", s.port);

    let out = tempfile::tempdir().expect("tempdir");
    let status = Command::new(assert_cmd::cargo::cargo_bin("tokenomics"))
        .current_dir(repo())
        .args([
            "run",
            "experiments/llamacpp-smoke.toml",
            "--quiet",
            "--run-id",
            "t",
            "--output",
        ])
        .arg(out.path())
        .args([
            "--set",
            &format!("endpoints.chat.base_url=\"{}\"", url(&chat)),
        ])
        .args([
            "--set",
            &format!("endpoints.chat-nostream.base_url=\"{}\"", url(&chat)),
        ])
        .args([
            "--set",
            &format!("endpoints.completions.base_url=\"{}\"", url(&chat)),
        ])
        .args([
            "--set",
            &format!("endpoints.embed.base_url=\"{}\"", url(&embed)),
        ])
        .args([
            "--set",
            &format!("endpoints.rerank.base_url=\"{}\"", url(&rerank)),
        ])
        .status()
        .expect("run tokenomics");
    assert_eq!(
        status.code(),
        Some(0),
        "tokenomics run against llama-server failed"
    );

    let dir = out.path().join("llamacpp-smoke/t");
    let records = tokenomics::results::parquet::read_records(&dir.join("requests.parquet"))
        .expect("requests.parquet");
    let plan: tokenomics::plan::Plan =
        serde_json::from_slice(&std::fs::read(dir.join("plan.json")).expect("plan.json"))
            .expect("plan");
    let expected: u64 = plan
        .points
        .iter()
        .map(tokenomics::plan::matrix::total_requests)
        .sum();
    assert_eq!(records.len() as u64, expected, "every request recorded");

    for r in &records {
        assert_eq!(
            r.outcome,
            Outcome::Ok,
            "request {} failed: {:?}",
            r.request_id,
            r.error
        );
        let point = &plan.points[r.point_index as usize];
        let ep = &plan.endpoints[&point.endpoint];
        match ep.api {
            ApiKind::Chat | ApiKind::Completions => {
                assert_eq!(
                    r.output_token_source,
                    TokenSource::Usage,
                    "{}",
                    r.request_id
                );
                assert_eq!(Some(r.output_tokens), r.server_output_tokens);
                assert_eq!(Some(r.input_tokens), r.server_input_tokens);
                assert_eq!(
                    r.output_tokens, 16,
                    "ignore_eos makes every output max_tokens long"
                );
                // llama-server reports its own prompt and generation times
                // (`timings`), streamed or not, and the prompt tokens it reused.
                let prefill = r.server_prefill_ms.expect("llama-server timings");
                let decode = r.server_decode_ms.expect("llama-server timings");
                assert!(prefill > 0.0 && decode > 0.0, "{prefill} / {decode} ms");
                assert!(r.server_cached_tokens.is_some(), "cache_n");
                if ep.stream {
                    let ttft_ms = (r.first_token_ns.expect("streamed") - r.start_ns) as f64 / 1e6;
                    assert!(
                        prefill <= ttft_ms,
                        "server prefill {prefill} ms inside client TTFT {ttft_ms} ms"
                    );
                }
                if ep.stream {
                    let ttft = r.first_token_ns.expect("streamed TTFT") - r.start_ns;
                    let e2e = r.last_token_ns.expect("last token") - r.start_ns;
                    assert!(ttft > 0 && ttft < e2e, "TTFT {ttft} ns vs E2E {e2e} ns");
                    assert_eq!(
                        r.chunk_ns.len().saturating_sub(1),
                        r.output_tokens as usize - 1,
                        "ITL count = output tokens − 1 for {}",
                        r.request_id
                    );
                } else {
                    assert!(r.first_token_ns.is_none());
                }
            }
            ApiKind::Embeddings => {
                assert_eq!(r.items_returned, r.items);
                assert_eq!(
                    r.embedding_dim,
                    Some(576),
                    "SmolLM2-135M embeddings have 576 dimensions"
                );
                assert_eq!(Some(r.input_tokens), r.server_input_tokens);
            }
            ApiKind::Rerank | ApiKind::Score => {
                assert_eq!(r.items_returned, r.items, "one score per document");
            }
        }
    }
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report.html");
    assert!(
        html.contains("llamacpp-smoke") && html.contains("<svg"),
        "report rendered"
    );
    drop((chat, embed, rerank));
}

/// The points of the connection test: streamed closed loops at concurrency 1, 2 and 8,
/// then non-streamed ones (llama-server keeps their connections alive).
const CONN_MANIFEST: &str = r#"
schema = 1
[experiment]
name = "llamacpp-conn-test"
seed = 3
runs = 1
warmup = 0

[endpoints.chat]
base_url = "http://127.0.0.1:9/v1"
model = "smollm2-135m"
stream = true
ignore_eos = true
temperature = 0.0
timeout_s = 120

[endpoints.chat-nostream]
base_url = "http://127.0.0.1:9/v1"
model = "smollm2-135m"
stream = false
ignore_eos = true
temperature = 0.0
timeout_s = 120

[scenarios.tiny]
spec = "D(16,4)"

[[grid]]
name = "stream"
endpoints = ["chat"]
scenarios = ["tiny"]
mode = "concurrency"
concurrency = [1, 2, 8]
requests = 100

[[grid]]
name = "nostream"
endpoints = ["chat-nostream"]
scenarios = ["tiny"]
mode = "concurrency"
concurrency = [2]
requests = 30
"#;

/// Longer than llama-server's keep-alive timeout (5 s): idle connections are gone after it.
const PAUSE: Duration = Duration::from_secs(6);

/// One client per endpoint for the whole test (as a long run would keep), closed
/// loops through the runner's executor, 6 s pauses between the points, and a last
/// non-streamed point sent after the pause without preconnecting, on whatever the
/// pool kept. Every one of the 480 requests must end `ok`; reconnects are counted
/// in the records and stay rare.
#[test]
#[ignore = "needs llama-server: run server/llamacpp_run_server.sh --build-only, then cargo test --test llamacpp -- --ignored"]
fn llamacpp_connections_survive_hundreds_of_requests_and_idle_pauses() {
    use std::sync::Arc;
    use tokenomics::client::HttpClient;
    use tokenomics::plan::LoadSpec;
    use tokenomics::runner::executor::{execute, RunInput};

    ensure_built();
    let server = start("conn", &[]);
    let url = format!("http://127.0.0.1:{}/v1", server.port);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("conn.toml");
    std::fs::write(&path, CONN_MANIFEST).expect("write manifest");
    let overrides = ["chat", "chat-nostream"]
        .iter()
        .map(|e| format!("endpoints.{e}.base_url=\"{url}\""))
        .collect();
    let manifest =
        tokenomics::manifest::load(&path, &tokenomics::manifest::LoadOptions { overrides })
            .expect("manifest");
    let plan = tokenomics::plan::build(&manifest, &tokenomics::plan::PlanOptions::default())
        .expect("plan");
    let preparer = tokenomics::dataset::Preparer::new(&plan).expect("preparer");
    let clients: std::collections::BTreeMap<String, HttpClient> = plan
        .endpoints
        .iter()
        .map(|(name, ep)| (name.clone(), HttpClient::new(ep, &url, 8).expect("client")))
        .collect();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let started = Instant::now();
    let mut all: Vec<RequestRecord> = Vec::new();
    // The plan's points, then the non-streamed point once more without preconnecting.
    let mut runs: Vec<(usize, u32, bool)> = (0..plan.points.len()).map(|i| (i, 0, true)).collect();
    runs.push((plan.points.len() - 1, 1, false));
    for (k, &(i, run_index, preconnect)) in runs.iter().enumerate() {
        if k > 0 {
            std::thread::sleep(PAUSE);
        }
        let point_started = Instant::now();
        let point = &plan.points[i];
        let ep = &plan.endpoints[&point.endpoint];
        let client = &clients[&point.endpoint];
        let count = u32::try_from(point.requests_per_run()).expect("small");
        let prepared = preparer
            .prepare_run(point, run_index, count)
            .expect("requests");
        let records = rt.block_on(async {
            if preconnect {
                let LoadSpec::Concurrency { concurrency, .. } = point.load else {
                    panic!("closed loops only");
                };
                let done = client.preconnect(concurrency as usize).await;
                assert_eq!(done.failed, 0, "preconnect to llama-server: {done:?}");
            }
            let input = RunInput {
                client: client.clone(),
                endpoint: Arc::new(ep.clone()),
                point_index: u32::try_from(i).expect("small"),
                point_id: Arc::from(point.id.as_str()),
                run_index,
                warmup: false,
                requests: Arc::new(prepared.requests),
                cancel: tokio_util::sync::CancellationToken::new(),
                grace: Duration::from_secs(10),
                schedule_seed: point.seed,
            };
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            execute(input, &point.load, tx).await;
            let mut out = Vec::new();
            while let Some(r) = rx.recv().await {
                out.push(r);
            }
            out
        });
        assert_eq!(
            records.len(),
            count as usize,
            "{}: every request recorded",
            point.id
        );
        let reconnects: u32 = records.iter().map(|r| r.reconnects).sum();
        let opened = records.iter().filter(|r| r.connect_ms.is_some()).count();
        eprintln!(
            "{} run {run_index} (preconnect {preconnect}): {} requests in {:.1} s, {} failed, \
             {reconnects} reconnects, {opened} opened a connection",
            point.id,
            records.len(),
            point_started.elapsed().as_secs_f64(),
            records.iter().filter(|r| !r.outcome.is_ok()).count(),
        );
        all.extend(records);
    }
    let elapsed = started.elapsed();

    assert!(all.len() >= 300, "{} requests", all.len());
    let failed: Vec<String> = all
        .iter()
        .filter(|r| r.outcome != Outcome::Ok)
        .map(|r| format!("{} {}: {:?}", r.request_id, r.outcome, r.error))
        .collect();
    assert!(
        failed.is_empty(),
        "client-caused failures against llama-server: {failed:#?}"
    );
    for r in &all {
        assert_eq!(
            r.output_tokens, 4,
            "{}: ignore_eos gives max_tokens",
            r.request_id
        );
        assert!(r.reconnects <= 1, "{}", r.request_id);
        if r.reconnects == 1 {
            assert!(
                r.connect_ms.is_some(),
                "{}: a reconnect opens a connection",
                r.request_id
            );
        }
    }
    // Reconnects are the client's own re-sends after llama-server closed a pooled
    // connection as the request arrived; once the client has seen it close after
    // streams it stops pooling those connections, so they stay rare.
    let reconnects: u32 = all.iter().map(|r| r.reconnects).sum();
    assert!(
        reconnects <= 4,
        "{reconnects} reconnects over {} requests",
        all.len()
    );
    eprintln!(
        "{} requests in {:.1} s (with {} pauses of {} s): 0 failed, {reconnects} reconnects",
        all.len(),
        elapsed.as_secs_f64(),
        runs.len() - 1,
        PAUSE.as_secs()
    );
    drop(server);
}
