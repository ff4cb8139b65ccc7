//! The simulator's timing model as pure functions (no clock, no tokio).
//!
//! Every delay the simulator applies is computed here, so tests and users can
//! predict it exactly. All arithmetic is in whole nanoseconds and saturates
//! instead of overflowing. See the module docs of [`crate::simulator`] for the
//! model in prose.

use std::time::Duration;

use crate::vocab::{SimConfig, SimTiming};

/// A duration in whole nanoseconds, saturating at `u64::MAX`.
#[must_use]
pub fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// `SimTiming::Fixed`: offset of token `k` (0-based) from the request's arrival.
///
/// `offset(k) = ttft + k × itl`
#[must_use]
pub fn fixed_token_offset(ttft: Duration, itl: Duration, k: u32) -> Duration {
    ttft.saturating_add(itl.saturating_mul(k))
}

/// Latency of a pooling request (embeddings, rerank, score) from its arrival.
///
/// `latency = pooling_latency + pooling_per_token × input_tokens`
#[must_use]
pub fn pooling_latency(config: &SimConfig, input_tokens: u64) -> Duration {
    let per_token = u32::try_from(input_tokens).unwrap_or(u32::MAX);
    config
        .pooling_latency
        .saturating_add(config.pooling_per_token.saturating_mul(per_token))
}

/// Parameters of the continuous-batching model (`SimTiming::Batching`), in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchParams {
    /// Base prefill time (`SimConfig::ttft`).
    pub ttft_ns: u64,
    /// Duration of a decode step with one active sequence (`SimConfig::itl`).
    pub itl_ns: u64,
    /// Extra step time per additional active sequence.
    pub itl_per_seq_ns: u64,
    /// Extra prefill time per prompt token.
    pub prefill_per_token_ns: u64,
    /// Most sequences holding a slot (prefilling or decoding) at once; at least 1.
    pub max_batch: u32,
}

impl BatchParams {
    /// The batching parameters of `config`, or `None` when it uses `SimTiming::Fixed`.
    #[must_use]
    pub fn from_config(config: &SimConfig) -> Option<BatchParams> {
        match &config.timing {
            SimTiming::Fixed => None,
            SimTiming::Batching {
                itl_per_seq,
                prefill_per_token,
                max_batch,
            } => Some(BatchParams {
                ttft_ns: nanos(config.ttft),
                itl_ns: nanos(config.itl),
                itl_per_seq_ns: nanos(*itl_per_seq),
                prefill_per_token_ns: nanos(*prefill_per_token),
                max_batch: (*max_batch).max(1),
            }),
        }
    }

    /// Duration of one decode step that emits a token to `active` sequences.
    ///
    /// `step(active) = itl + itl_per_seq × (active − 1)`, with `active ≥ 1`
    /// (0 is treated as 1).
    #[must_use]
    pub fn step_duration_ns(&self, active: u32) -> u64 {
        let extra = u64::from(active.max(1) - 1);
        self.itl_ns
            .saturating_add(self.itl_per_seq_ns.saturating_mul(extra))
    }

    /// Prefill time of a sequence, from admission to its first token.
    ///
    /// `prefill(p) = ttft + prefill_per_token × p`
    #[must_use]
    pub fn prefill_duration_ns(&self, prompt_tokens: u32) -> u64 {
        self.ttft_ns.saturating_add(
            self.prefill_per_token_ns
                .saturating_mul(u64::from(prompt_tokens)),
        )
    }

    /// Steady-state inter-token latency of each decoding request when `concurrency`
    /// requests are in flight and all of them are decoding.
    ///
    /// `ITL(c) = step(min(c, max_batch)) = itl + itl_per_seq × (min(c, max_batch) − 1)`
    #[must_use]
    pub fn steady_itl_ns(&self, concurrency: u32) -> u64 {
        self.step_duration_ns(concurrency.min(self.max_batch))
    }

    /// Steady-state aggregate decode throughput, tokens per second over all requests.
    ///
    /// `agg(c) = min(c, max_batch) / ITL(c)`; it rises with `c` and tends to
    /// `1 / itl_per_seq` (or stops at `max_batch / ITL(max_batch)`).
    #[must_use]
    pub fn steady_aggregate_tok_s(&self, concurrency: u32) -> f64 {
        let active = concurrency.min(self.max_batch);
        if active == 0 {
            return 0.0;
        }
        f64::from(active) * 1e9 / self.steady_itl_ns(concurrency).max(1) as f64
    }

    /// Steady-state decode rate of one decoding request, tokens per second.
    ///
    /// `per_request(c) = 1 / ITL(c)` (requests beyond `max_batch` wait in the
    /// queue and decode at this rate once admitted).
    #[must_use]
    pub fn steady_per_request_tok_s(&self, concurrency: u32) -> f64 {
        1e9 / self.steady_itl_ns(concurrency).max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> BatchParams {
        BatchParams {
            ttft_ns: 50_000_000,
            itl_ns: 10_000_000,
            itl_per_seq_ns: 2_000_000,
            prefill_per_token_ns: 100_000,
            max_batch: 8,
        }
    }

    #[test]
    fn fixed_offsets_follow_ttft_plus_k_itl() {
        let ttft = Duration::from_millis(50);
        let itl = Duration::from_millis(10);
        assert_eq!(fixed_token_offset(ttft, itl, 0), ttft);
        assert_eq!(fixed_token_offset(ttft, itl, 7), Duration::from_millis(120));
        assert_eq!(
            fixed_token_offset(Duration::MAX, itl, 3),
            Duration::MAX,
            "saturates"
        );
    }

    #[test]
    fn step_duration_grows_by_itl_per_seq() {
        let p = params();
        assert_eq!(p.step_duration_ns(0), 10_000_000);
        assert_eq!(p.step_duration_ns(1), 10_000_000);
        assert_eq!(p.step_duration_ns(2), 12_000_000);
        assert_eq!(p.step_duration_ns(5), 18_000_000);
    }

    #[test]
    fn prefill_duration_grows_by_prefill_per_token() {
        let p = params();
        assert_eq!(p.prefill_duration_ns(0), 50_000_000);
        assert_eq!(p.prefill_duration_ns(1_000), 150_000_000);
    }

    #[test]
    fn steady_state_saturates_at_max_batch() {
        let p = params();
        assert_eq!(p.steady_itl_ns(4), 16_000_000);
        assert_eq!(p.steady_itl_ns(8), 24_000_000);
        assert_eq!(p.steady_itl_ns(100), 24_000_000);
        // 4 / 16 ms = 250 tok/s; 8 / 24 ms = 333.3 tok/s.
        assert!((p.steady_aggregate_tok_s(4) - 250.0).abs() < 1e-9);
        assert!((p.steady_aggregate_tok_s(8) - 8.0 / 0.024).abs() < 1e-9);
        assert!((p.steady_aggregate_tok_s(64) - 8.0 / 0.024).abs() < 1e-9);
        assert!((p.steady_per_request_tok_s(4) - 62.5).abs() < 1e-9);
        assert_eq!(p.steady_aggregate_tok_s(0), 0.0);
        // Aggregate rises with load, per-request falls.
        for c in 1..8 {
            assert!(p.steady_aggregate_tok_s(c + 1) > p.steady_aggregate_tok_s(c));
            assert!(p.steady_per_request_tok_s(c + 1) < p.steady_per_request_tok_s(c));
        }
    }

    #[test]
    fn pooling_latency_adds_per_token_cost() {
        let config = SimConfig {
            pooling_latency: Duration::from_millis(5),
            pooling_per_token: Duration::from_micros(10),
            ..SimConfig::default()
        };
        assert_eq!(pooling_latency(&config, 0), Duration::from_millis(5));
        assert_eq!(pooling_latency(&config, 300), Duration::from_millis(8));
    }

    #[test]
    fn batch_params_only_for_batching() {
        assert_eq!(BatchParams::from_config(&SimConfig::default()), None);
        let config = SimConfig {
            timing: SimTiming::Batching {
                itl_per_seq: Duration::from_millis(2),
                prefill_per_token: Duration::from_micros(100),
                max_batch: 0,
            },
            ..SimConfig::default()
        };
        let p = BatchParams::from_config(&config).expect("batching");
        assert_eq!(p.max_batch, 1, "max_batch is at least 1");
        assert_eq!(p.itl_per_seq_ns, 2_000_000);
        assert_eq!(p.ttft_ns, 50_000_000);
    }
}
