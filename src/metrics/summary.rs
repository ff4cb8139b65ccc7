//! Summary types: what the sinks write and the report draws.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Descriptive statistics of a list of values.
///
/// `std` is the population standard deviation (ddof = 0), as the original's
/// current outputs; percentiles use linear interpolation between closest ranks.
/// For an empty list (`n = 0`) every statistic is 0 in memory and `null` in
/// JSON: there is no value, and a 0 would read as a measurement.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(into = "StatJson", from = "StatJson")]
pub struct Stat {
    pub n: u64,
    pub mean: f64,
    pub std: f64,
    pub min: f64,
    pub max: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    /// Extra percentiles requested by the experiment (`percentiles` in the
    /// manifest), keyed `p<value>` (`p99.9`, `p75`); empty unless requested.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub percentiles: BTreeMap<String, f64>,
}

/// The JSON form of [`Stat`]: statistics are `null` when `n = 0`.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct StatJson {
    n: u64,
    mean: Option<f64>,
    std: Option<f64>,
    min: Option<f64>,
    max: Option<f64>,
    p50: Option<f64>,
    p90: Option<f64>,
    p95: Option<f64>,
    p99: Option<f64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    percentiles: BTreeMap<String, Option<f64>>,
}

impl From<Stat> for StatJson {
    fn from(s: Stat) -> StatJson {
        let some = |v: f64| (s.n > 0).then_some(v);
        StatJson {
            n: s.n,
            mean: some(s.mean),
            std: some(s.std),
            min: some(s.min),
            max: some(s.max),
            p50: some(s.p50),
            p90: some(s.p90),
            p95: some(s.p95),
            p99: some(s.p99),
            percentiles: s
                .percentiles
                .iter()
                .map(|(k, v)| (k.clone(), some(*v)))
                .collect(),
        }
    }
}

impl From<StatJson> for Stat {
    fn from(j: StatJson) -> Stat {
        let v = |x: Option<f64>| x.unwrap_or(0.0);
        Stat {
            n: j.n,
            mean: v(j.mean),
            std: v(j.std),
            min: v(j.min),
            max: v(j.max),
            p50: v(j.p50),
            p90: v(j.p90),
            p95: v(j.p95),
            p99: v(j.p99),
            percentiles: j.percentiles.into_iter().map(|(k, x)| (k, v(x))).collect(),
        }
    }
}

/// One run of one point.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub run_index: u32,
    /// Wall-clock anchor of the run's t0 (ns since the Unix epoch).
    pub t0_wall_ns: u64,
    /// From just before the first request to after the last one ended, all outcomes included (s).
    pub wall_time_s: f64,
    pub requests: u64,
    pub ok: u64,
    /// Σ output tokens of successful requests / wall time.
    pub e2e_output_tps: f64,
    /// Σ (input + output) tokens of successful requests / wall time.
    pub e2e_total_tps: f64,
    /// Successful requests / wall time.
    pub requests_per_s: f64,
    /// Median of steady-state bucket rates (tokens/s), None when no bucket qualifies.
    pub steady_state_tps: Option<f64>,
    /// Number of steady buckets behind `steady_state_tps` (0 when none
    /// qualifies). `compare` gives no verdict on medians of too few.
    #[serde(default)]
    pub steady_state_buckets: u32,
    /// Most requests in flight at the same moment (start to end, any outcome).
    pub peak_active: u32,
    /// Most requests active in one steady-state bucket (the original tool's
    /// `peak_active_requests`: a request counts in every bucket it touches, so
    /// this can exceed the concurrency).
    #[serde(default)]
    pub peak_active_buckets: u32,
    /// Output tokens (content events) per bucket.
    pub tokens_per_bucket: Vec<u32>,
    /// Active requests per bucket.
    pub active_per_bucket: Vec<u32>,
    /// Embeddings or documents per second (pooling APIs).
    pub items_per_s: f64,
    /// Goodput: requests/s meeting every per-request SLO.
    pub goodput_rps: Option<f64>,
    /// Goodput in output tokens/s.
    pub goodput_tps: Option<f64>,
    /// Client self-check of this run.
    pub client: ClientCheck,
}

/// What the client measured about itself during a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientCheck {
    /// Actual minus scheduled send time (ms), open-loop modes.
    pub send_lag_ms: Stat,
    /// Time requests waited for a free client slot (ms).
    pub queue_ms: Stat,
    /// CPU time used by the client process during the run / wall time (1.0 = one core).
    pub cpu_utilisation: f64,
    /// p99 of the client's runtime lag (ms): how late the client could react to
    /// ready I/O, and so how late chunk timestamps could be.
    #[serde(default)]
    pub loop_lag_ms: Option<f64>,
    /// Warnings when the client, not the server, may be limiting the numbers.
    pub warnings: Vec<String>,
}

/// Counts of requests per outcome.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Reliability {
    pub total: u64,
    pub ok: u64,
    pub failed: u64,
    /// Percentage of failed requests (0–100).
    pub failure_rate_pct: f64,
    /// Count per outcome name (`ok`, `http_error`, …).
    pub outcomes: BTreeMap<String, u64>,
    /// Extra attempts recorded by the retry policy (records with `attempt > 1`);
    /// the counts above use each request's final attempt only.
    #[serde(default)]
    pub retries: u64,
}

/// Token provenance and agreement between counts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TokenAccounting {
    /// Requests whose output count came from each source.
    pub output_sources: BTreeMap<String, u64>,
    pub input_sources: BTreeMap<String, u64>,
    /// Requests whose server input count differs from the built prompt's count.
    pub input_mismatches: u64,
    /// Requests whose server output count differs from the client's count.
    pub output_mismatches: u64,
    /// Requests whose output differs from the target (the server stopped early or ran over).
    pub output_target_misses: u64,
}

/// Everything about one point (pooled over its runs).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PointSummary {
    pub point_index: u32,
    pub point_id: String,
    pub endpoint: String,
    pub scenario: String,
    pub mode: String,
    /// Batch size, concurrency or rate.
    pub load_value: f64,
    pub runs: u32,
    // ---- per request, pooled over runs (successful measured requests) ------
    pub input_tokens: Stat,
    pub output_tokens: Stat,
    pub ttft_ms: Stat,
    pub ttfo_ms: Stat,
    pub tpot_ms: Stat,
    /// Gaps between consecutive content events, pooled over requests.
    pub itl_ms: Stat,
    pub e2e_ms: Stat,
    pub decode_ms: Stat,
    /// Per-request input tokens / TTFT.
    pub input_tps_per_request: Stat,
    /// Per-request (output − 1) / decode time.
    pub output_tps_per_request: Stat,
    // ---- per run (one value per run) ----------------------------------------
    pub e2e_output_tps: Stat,
    pub e2e_total_tps: Stat,
    pub requests_per_s: Stat,
    pub wall_time_s: Stat,
    pub items_per_s: Stat,
    /// Mean and population std of the per-run steady-state medians.
    pub steady_state_tps: Option<f64>,
    pub steady_state_tps_std: f64,
    /// Max over runs of [`RunSummary::peak_active`].
    pub peak_active: u32,
    /// Max over runs of [`RunSummary::peak_active_buckets`].
    #[serde(default)]
    pub peak_active_buckets: u32,
    // ---- reliability, tokens, goodput ----------------------------------------
    pub reliability: Reliability,
    pub tokens: TokenAccounting,
    pub goodput_rps: Option<Stat>,
    pub goodput_tps: Option<Stat>,
    /// Fraction of measured requests meeting every per-request SLO (0–1).
    pub slo_attainment: Option<f64>,
    /// Percentile SLOs and whether this point met them.
    pub slo_results: Vec<SloResult>,
    pub usage: UsageExtras,
    pub client_warnings: Vec<String>,
    /// What the server reported about its own handling, beside the client's
    /// view; None when no successful request carried server timings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_timings: Option<ServerTimingStats>,
}

/// Server-reported timings (llama.cpp `timings`) over the successful requests
/// that carried them, and the client-minus-server differences per request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerTimingStats {
    /// Successful requests with server timings.
    pub requests: u64,
    /// The server's prompt processing (`server_prefill_ms`).
    pub prefill_ms: Stat,
    /// The server's generation after the first token (`server_decode_ms`).
    pub decode_ms: Stat,
    /// Client TTFT − server prefill, per request: connection, HTTP, network and
    /// the wait before the server started the prompt (its queue).
    pub ttft_minus_prefill_ms: Stat,
    /// Client decode − server decode, per request: what delivery added to the
    /// generation (network, HTTP, SSE framing); near 0 on a local server.
    pub decode_minus_server_ms: Stat,
    /// Prompt tokens reused from the server's cache (`server_cached_tokens`).
    pub cached_tokens: Stat,
}

/// Server-reported extras, summed over successful requests.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageExtras {
    pub reasoning_tokens_total: u64,
    pub cached_tokens_total: u64,
    /// Σ cached / Σ input tokens.
    pub cache_hit_rate: f64,
    pub finish_reasons: BTreeMap<String, u64>,
    /// Reasoning tokens per successful request that reported them.
    #[serde(default)]
    pub reasoning_tokens: Stat,
    /// Cached prompt tokens per successful request that reported them.
    #[serde(default)]
    pub cached_tokens: Stat,
}

/// One SLO evaluated at one point.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SloResult {
    pub slo: String,
    pub value: f64,
    pub met: bool,
    /// Values the percentile was computed from (0: no data, `value` is 0 and `met` false).
    #[serde(default)]
    pub samples: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_statistics_are_null_in_json_and_read_back() {
        let empty = Stat::default();
        let json = serde_json::to_value(&empty).unwrap();
        assert_eq!(json["n"], 0);
        for k in ["mean", "std", "min", "max", "p50", "p90", "p95", "p99"] {
            assert!(json[k].is_null(), "{k}: {json}");
        }
        assert_eq!(serde_json::from_value::<Stat>(json).unwrap(), empty);
        let one = Stat {
            n: 1,
            mean: 0.0,
            max: 2.5,
            ..Stat::default()
        };
        let json = serde_json::to_value(&one).unwrap();
        assert_eq!(json["mean"], 0.0, "a measured 0 stays a number");
        assert_eq!(json["max"], 2.5);
        assert_eq!(serde_json::from_value::<Stat>(json).unwrap(), one);
    }
}
