//! The embedded simulator: an OpenAI-compatible server with a known timing model.
//!
//! Started in-process on `127.0.0.1:0` for the demo and the tests, or as
//! `tokenomics simulate --port N`. See the README ("The simulator") for the
//! timing model.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Timing model of the simulator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum SimTiming {
    /// First token `ttft` after the request arrives, then one token every `itl`,
    /// whatever the load.
    Fixed,
    /// Continuous batching: every decode step emits one token for each active
    /// sequence and takes `itl + itl_per_seq × (active − 1)`; prefill costs
    /// `prefill_per_token × prompt tokens` on top of `ttft`; at most `max_batch`
    /// sequences are active, the rest wait in a queue.
    Batching {
        itl_per_seq: Duration,
        prefill_per_token: Duration,
        max_batch: u32,
    },
}

/// Faults injected per request, from a seed (rates are probabilities in 0..=1).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultSpec {
    pub seed: u64,
    /// HTTP 500 with a JSON error body.
    pub http_500: f64,
    /// HTTP 429 with `Retry-After: retry_after_s`.
    pub http_429: f64,
    pub retry_after_s: u32,
    /// The stream stops half-way (connection closed without `[DONE]`).
    pub stream_cut: f64,
    /// One event half-way is not valid JSON.
    pub malformed_event: f64,
    /// The stream stalls for `stall` half-way.
    pub stall: f64,
    pub stall_for: Duration,
    /// The connection is closed without any response.
    pub refuse: f64,
}

/// Configuration of one simulator instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimConfig {
    /// Model name served (and listed by `/v1/models`).
    pub model: String,
    pub ttft: Duration,
    pub itl: Duration,
    pub timing: SimTiming,
    /// Dimension of the embeddings returned.
    pub embedding_dim: u32,
    /// Latency of an embeddings / rerank / score request, plus per input token.
    pub pooling_latency: Duration,
    pub pooling_per_token: Duration,
    pub faults: FaultSpec,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            model: "sim-model".into(),
            ttft: Duration::from_millis(50),
            itl: Duration::from_millis(10),
            timing: SimTiming::Fixed,
            embedding_dim: 384,
            pooling_latency: Duration::from_millis(5),
            pooling_per_token: Duration::from_micros(10),
            faults: FaultSpec::default(),
        }
    }
}

/// A running simulator.
pub struct SimHandle {
    pub addr: std::net::SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl SimHandle {
    /// `http://127.0.0.1:PORT/v1`
    #[must_use]
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
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
/// When the port cannot be bound.
pub async fn spawn(config: SimConfig, port: u16) -> std::io::Result<SimHandle> {
    let _ = (config, port);
    todo!("simulator::spawn")
}
