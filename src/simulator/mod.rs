//! The embedded simulator: an OpenAI-compatible server with a known timing model.
//!
//! Started in-process on `127.0.0.1:0` ([`spawn`]) for the demo and the tests,
//! or as `tokenomics simulate --port N` ([`run_cli`]). Everything it does is
//! deterministic except the moment the operating system wakes it up, and it
//! logs what it actually did ([`SimHandle::log`]) so the client's measurements
//! can be checked against the server's own timestamps.
//!
//! # Endpoints
//!
//! | method and path | answer |
//! |---|---|
//! | `GET /health`, `/v1/health` | `{"status":"ok"}` |
//! | `GET /v1/models`, `/models` | OpenAI model list with [`SimConfig::model`] |
//! | `GET /metrics` | Prometheus text, vLLM names (see `metrics.rs`) |
//! | `POST /tokenize`, `/v1/tokenize` | `{"tokens":[…],"count":n,"max_model_len":…}` |
//! | `POST /v1/chat/completions`, `/v1/completions` | generation, streamed (SSE) or not |
//! | `POST /v1/embeddings` | deterministic unit vectors of `embedding_dim`, float or base64 |
//! | `POST /v1/rerank`, `/rerank`, `/v2/rerank` | Jina/Cohere `results[{index, relevance_score}]` |
//! | `POST /score`, `/v1/score` | vLLM `data[{index, score}]` (or SGLang `scores` when `items` is sent) |
//!
//! Any `model` is accepted. Every generation emits exactly `max_tokens` tokens
//! per choice (default 16), token `k` being `" tok{k}"`, then `finish_reason:
//! "length"`. Prompt tokens are estimated from whitespace-separated words, 64
//! per image part (see `content.rs`); `usage` and prefill use that estimate.
//!
//! # Timing model
//!
//! All times are measured from the request's **arrival**: the instant its
//! headers were parsed, before the body is read (`arrival_ns` in the log).
//! Deadlines are absolute, so a late wake-up never shifts later tokens; the
//! tokio timer has 1 ms resolution and never fires early, so every event is
//! sent at or shortly after its scheduled time.
//!
//! **Streams** send the response headers at once and, for chat, one role chunk
//! per choice (`delta: {role: "assistant", content: ""}`) at arrival, so time to
//! first *byte* is near zero and time to first *token* is what the model says.
//! Each generation step then sends one event per choice; the last step also
//! sends the final chunks, the usage chunk and `[DONE]` in the same write.
//! **Non-streamed** generations answer once, at the time of the last token.
//!
//! ## `SimTiming::Fixed` (per request, independent of load)
//!
//! ```text
//! token k (0-based) sent at   arrival + ttft + k · itl
//! e2e                       = ttft + (max_tokens − 1) · itl
//! ```
//!
//! Aggregate throughput at concurrency `c` is `c / itl` tokens/s in decode, for
//! any `c` (the server never saturates).
//!
//! ## `SimTiming::Batching { itl_per_seq, prefill_per_token, max_batch }`
//!
//! One shared engine task runs the continuous-batching model of `batch.rs`:
//!
//! ```text
//! step(n)        = itl + itl_per_seq · (n − 1)        one decode step emitting a token to n sequences
//! prefill(p)     = ttft + prefill_per_token · p        from admission to token 0, p = prompt tokens
//! ```
//!
//! * A request waits in a FIFO queue until fewer than `max_batch` sequences hold
//!   a slot (prefilling or decoding); it is then admitted and token 0 comes
//!   `prefill(p)` later. Prefill runs alongside decode steps.
//! * Decode steps run back to back while anything decodes; a sequence whose
//!   prefill ended joins at the next step boundary. Each step ends
//!   `step(n)` after it started, `n` being the sequences in it, and emits one
//!   token to each. A sequence frees its slot after its last token (or when
//!   its client goes away).
//! * With one request alone, Batching equals Fixed plus `prefill_per_token · p`:
//!   token k at `arrival + prefill(p) + k · itl`.
//! * A request with `n` choices is one sequence (its `n` tokens per step cost
//!   the same as one).
//!
//! Steady state with `c` concurrent requests, all decoding (`a = min(c, max_batch)`):
//!
//! ```text
//! per-request ITL(c)        = step(a) = itl + itl_per_seq · (a − 1)
//! per-request rate          = 1 / ITL(c)                               tokens/s
//! aggregate throughput(c)   = a / ITL(c) = a / (itl + itl_per_seq · (a − 1))   tokens/s
//! ```
//!
//! Aggregate throughput rises with load towards `1 / itl_per_seq` and stops
//! growing at `c = max_batch`; beyond it requests queue and TTFT grows. These
//! formulas are [`timing::BatchParams::steady_itl_ns`] and friends, and
//! [`batch::simulate`] computes the exact schedule of any workload.
//!
//! ## Pooling (embeddings, rerank, score)
//!
//! ```text
//! response sent at   arrival + pooling_latency + pooling_per_token · input_tokens
//! ```
//!
//! independently for each request (see `pooling.rs` for input tokens).
//!
//! # Faults
//!
//! Each inference request (generation or pooling) gets `seq` = its arrival
//! order (0-based). Its fault is [`faults::fault_for`]`(&config.faults, seq)`: a
//! uniform draw `u = splitmix64(seed ^ splitmix64(seq)) / 2^64` compared with the
//! cumulative rates in the order refuse, http_500, http_429, stream_cut,
//! malformed_event, stall. Effects:
//!
//! * `refuse`: the connection is closed before any response byte; the same
//!   request sent again (same `x-request-id`: the client's reconnect on a fresh
//!   connection) is refused again and takes no new `seq`;
//! * `http_500` / `http_429`: an immediate JSON error (`Retry-After:
//!   retry_after_s` on 429), before the body is even parsed;
//! * `stream_cut`: a stream ends when token `⌊max_tokens/2⌋` is due, without it
//!   and without `[DONE]`, and the connection is closed; a JSON body is cut
//!   after half its bytes;
//! * `malformed_event`: a stream gets `data: {not json` just before token
//!   `⌊max_tokens/2⌋` (all tokens and `[DONE]` still follow); a JSON body is
//!   replaced by `{not json`;
//! * `stall`: a stream pauses `stall_for` before token `⌊max_tokens/2⌋` (later
//!   tokens shift by `stall_for`); a JSON response is sent `stall_for` late.
//!
//! A request whose body is invalid gets a 400 whatever its draw (its log entry
//! then has no fault). The log records the fault of every request.
//!
//! # Request log
//!
//! With [`SimConfig::log_requests`], every inference request leaves one
//! [`SimRequestLog`] (arrival, first byte, each token's send time, status,
//! fault), pushed once when the request ends; see `log.rs`.

use crate::vocab::{SimConfig, SimTiming};

pub mod batch;
mod content;
mod engine;
pub mod faults;
mod generate;
mod http;
mod log;
mod metrics;
mod pooling;
mod routes;
mod sse;
mod stream;
pub mod timing;

#[cfg(test)]
mod tests;

use std::io::{self, Write as _};
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use axum::serve::ListenerExt as _;

pub use content::{IMAGE_PART_TOKENS, VOCAB};
pub use http::MAX_MODEL_LEN;
pub use log::SimRequestLog;
pub use metrics::FIXED_NOMINAL_CAPACITY;

/// A running simulator. Dropping it (or [`SimHandle::shutdown`]) stops
/// accepting connections; requests in flight finish.
#[derive(Debug)]
pub struct SimHandle {
    /// The bound address (127.0.0.1 and the actual port).
    pub addr: std::net::SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    log: Option<Arc<log::LogStore>>,
    /// TCP connections accepted so far.
    connections: Arc<AtomicU64>,
}

impl SimHandle {
    /// `http://127.0.0.1:PORT/v1`
    #[must_use]
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// `http://127.0.0.1:PORT` (for `/health`, `/metrics`, `/score`, `/tokenize`).
    #[must_use]
    pub fn root_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every finished request so far, in completion order (empty when
    /// [`SimConfig::log_requests`] is off). Requests still in flight are not in it.
    #[must_use]
    pub fn log(&self) -> Vec<SimRequestLog> {
        self.log.as_ref().map(|l| l.snapshot()).unwrap_or_default()
    }

    /// Like [`SimHandle::log`], and empties the log (e.g. after a warmup).
    #[must_use]
    pub fn take_log(&self) -> Vec<SimRequestLog> {
        self.log.as_ref().map(|l| l.take()).unwrap_or_default()
    }

    /// TCP connections accepted so far (a client's keep-alive reuse shows as
    /// fewer connections than requests).
    #[must_use]
    pub fn connections_accepted(&self) -> u64 {
        self.connections.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Stops accepting connections.
    pub fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts a simulator on `127.0.0.1:port` (0 = ephemeral).
///
/// # Errors
/// When the configuration is invalid (`InvalidInput`) or the port cannot be bound.
pub async fn spawn(config: SimConfig, port: u16) -> io::Result<SimHandle> {
    config.validate().map_err(|message| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid simulator configuration: {message}"),
        )
    })?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "cannot listen on 127.0.0.1:{port}: {e} (hint: choose another port, or 0 for any free port)"
                ),
            )
        })?;
    let addr = listener.local_addr()?;

    let capacity = match config.timing {
        SimTiming::Fixed => FIXED_NOMINAL_CAPACITY,
        SimTiming::Batching { max_batch, .. } => max_batch,
    };
    let metrics = Arc::new(metrics::SimMetrics::new(capacity));
    let engine = timing::BatchParams::from_config(&config)
        .map(|params| engine::spawn_engine(params, Arc::clone(&metrics)));
    let log = config
        .log_requests
        .then(|| Arc::new(log::LogStore::default()));
    let model_json = serde_json::Value::String(config.model.clone()).to_string();
    let shared = Arc::new(http::Shared {
        config,
        model_json,
        seq: AtomicU64::new(0),
        log: log.clone(),
        metrics,
        engine,
        started_unix_s: crate::clock::wall_ns() / 1_000_000_000,
        refused: std::sync::Mutex::new(std::collections::HashMap::new()),
    });
    let app = routes::router(shared);

    // Token events are small writes: without TCP_NODELAY, Nagle's algorithm
    // would hold them back behind unacknowledged data.
    let connections = Arc::new(AtomicU64::new(0));
    let accepted = Arc::clone(&connections);
    let listener = listener.tap_io(move |tcp| {
        accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("simulator: TCP_NODELAY not set: {e}");
        }
    });
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let stop = async {
            // A send or a dropped handle both stop the server.
            let _ = rx.await;
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(stop)
            .await
        {
            tracing::warn!("simulator on {addr} stopped: {e}");
        }
    });
    Ok(SimHandle {
        addr,
        shutdown: Some(tx),
        log,
        connections,
    })
}

/// Writes `entries` to `path` as JSON lines (one [`SimRequestLog`] per line).
///
/// # Errors
/// When the file cannot be created or written; the message names the path.
pub fn write_log(path: &Path, entries: &[SimRequestLog]) -> io::Result<()> {
    let context = |e: io::Error| {
        io::Error::new(
            e.kind(),
            format!("cannot write the simulator log to {}: {e}", path.display()),
        )
    };
    let file = std::fs::File::create(path).map_err(context)?;
    let mut out = io::BufWriter::new(file);
    for entry in entries {
        serde_json::to_writer(&mut out, entry).map_err(|e| context(e.into()))?;
        out.write_all(b"\n").map_err(context)?;
    }
    out.flush().map_err(context)
}

/// `tokenomics simulate`: serves on `127.0.0.1:port` until Ctrl-C, printing
/// `listening on http://127.0.0.1:PORT/v1` to stdout, then writes the request
/// log to `--request-log` (JSON lines) when given. Requests still in flight at Ctrl-C
/// are not in the log.
///
/// # Errors
/// Invalid flags, a port that cannot be bound, or a log that cannot be written.
pub async fn serve_until_ctrl_c(
    config: SimConfig,
    port: u16,
    request_log: Option<&Path>,
) -> io::Result<()> {
    let handle = spawn(config, port).await?;
    {
        let mut stdout = io::stdout().lock();
        writeln!(stdout, "listening on {}", handle.base_url())?;
        stdout.flush()?;
    }
    tokio::signal::ctrl_c().await?;
    let entries = handle.take_log();
    handle.shutdown();
    if let Some(path) = request_log {
        write_log(path, &entries)?;
    }
    Ok(())
}
