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

use tokenomics::record::{Outcome, TokenSource};
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
