//! Configuration of the embedded simulator: its timing model and the faults it
//! injects. The simulator (`crate::simulator`) runs it; the plan carries it for
//! simulator endpoints.

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
        /// Extra decode-step time per active sequence beyond the first.
        itl_per_seq: Duration,
        /// Extra prefill time per prompt token.
        prefill_per_token: Duration,
        /// Most sequences holding a slot (prefilling or decoding) at once.
        max_batch: u32,
    },
}

/// Faults injected per request, from a seed (rates are probabilities in 0..=1).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultSpec {
    /// Seed of the per-request draw (the simulator draws each request's fault from it).
    pub seed: u64,
    /// HTTP 500 with a JSON error body.
    pub http_500: f64,
    /// HTTP 429 with `Retry-After: retry_after_s`.
    pub http_429: f64,
    /// The `Retry-After` value (seconds) of injected 429s.
    pub retry_after_s: u32,
    /// The stream stops half-way (connection closed without `[DONE]`).
    pub stream_cut: f64,
    /// One event half-way is not valid JSON.
    pub malformed_event: f64,
    /// The stream stalls for `stall` half-way.
    pub stall: f64,
    /// How long a stall lasts (make it longer than the client's idle timeout).
    pub stall_for: Duration,
    /// The connection is closed without any response.
    pub refuse: f64,
}

/// Configuration of one simulator instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimConfig {
    /// Model name served (and listed by `/v1/models`).
    pub model: String,
    /// Time to first token (Fixed), or base prefill time (Batching).
    pub ttft: Duration,
    /// Time between tokens (Fixed), or one decode step with one sequence (Batching).
    pub itl: Duration,
    /// Which timing model generations follow.
    pub timing: SimTiming,
    /// Dimension of the embeddings returned.
    pub embedding_dim: u32,
    /// Latency of an embeddings / rerank / score request, plus per input token.
    pub pooling_latency: Duration,
    /// Extra pooling latency per input token.
    pub pooling_per_token: Duration,
    /// Injected faults (none by default).
    pub faults: FaultSpec,
    /// Keep the per-request timing log (the simulator's `SimHandle::log`); default true.
    #[serde(default = "default_log_requests")]
    pub log_requests: bool,
}

fn default_log_requests() -> bool {
    true
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
            log_requests: true,
        }
    }
}

impl SimConfig {
    /// Checks the values a server cannot run with.
    ///
    /// # Errors
    /// A message naming the field and the accepted range.
    pub fn validate(&self) -> Result<(), String> {
        self.faults.validate()?;
        if self.embedding_dim == 0 {
            return Err("embedding_dim must be at least 1".to_owned());
        }
        if let SimTiming::Batching { max_batch: 0, .. } = self.timing {
            return Err("max_batch must be at least 1".to_owned());
        }
        Ok(())
    }
}

/// A fault injected into one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// The connection is closed without any response.
    Refuse,
    /// HTTP 500 with a JSON error body.
    Http500,
    /// HTTP 429 with `Retry-After`.
    Http429,
    /// The body stops half-way; the connection is closed without `[DONE]`.
    StreamCut,
    /// One event half-way is not valid JSON.
    MalformedEvent,
    /// The body stalls half-way for `stall_for`, then continues.
    Stall,
}

impl FaultKind {
    /// Every kind, in the order their rates are accumulated.
    pub const ORDER: [FaultKind; 6] = [
        FaultKind::Refuse,
        FaultKind::Http500,
        FaultKind::Http429,
        FaultKind::StreamCut,
        FaultKind::MalformedEvent,
        FaultKind::Stall,
    ];

    /// The rate of this kind in `spec`.
    #[must_use]
    pub fn rate(self, spec: &FaultSpec) -> f64 {
        match self {
            FaultKind::Refuse => spec.refuse,
            FaultKind::Http500 => spec.http_500,
            FaultKind::Http429 => spec.http_429,
            FaultKind::StreamCut => spec.stream_cut,
            FaultKind::MalformedEvent => spec.malformed_event,
            FaultKind::Stall => spec.stall,
        }
    }
}

impl FaultSpec {
    /// Checks that every rate is in `0..=1` and that they sum to at most 1.
    ///
    /// # Errors
    /// A message naming the offending rate.
    pub fn validate(&self) -> Result<(), String> {
        let mut sum = 0.0;
        for kind in FaultKind::ORDER {
            let rate = kind.rate(self);
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!(
                    "fault rate {kind:?} = {rate} is outside 0..=1 (rates are probabilities)"
                ));
            }
            sum += rate;
        }
        if sum > 1.0 + 1e-9 {
            return Err(format!(
                "fault rates sum to {sum}, more than 1 (each request gets at most one fault)"
            ));
        }
        Ok(())
    }
}
