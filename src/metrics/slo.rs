//! Service-level objectives: per-request checks (goodput) and percentile checks.
//!
//! An [`Slo`] names a latency metric with its unit and an upper bound:
//!
//! * **per-request** (`percentile = None`, e.g. `e2e_ms <= 10000`): a successful
//!   request is *good* when it meets every per-request SLO. Goodput is good
//!   requests (or their output tokens) per second of run wall time; attainment
//!   is good requests / all measured requests, so failed requests count in the
//!   denominator and never in the numerator.
//! * **percentile** (`percentile = Some(p)`, e.g. `ttft_ms.p99 <= 500`): the
//!   point's p-th percentile of the metric, over the same pooled values as its
//!   [`Stat`](super::Stat), must be ≤ the bound.
//!
//! Metrics ([`SLO_METRICS`]) and what a request without a value does:
//!
//! | metric | per-request value | no value (e.g. non-streamed, one token) |
//! |---|---|---|
//! | `ttft_ms`, `ttfo_ms` | the request's TTFT / TTFO | not met (nothing proves the bound) |
//! | `tpot_ms` | the request's TPOT | met (no token after the first, as vLLM counts TPOT 0) |
//! | `itl_ms` | the request's **largest** gap (every gap must meet it) | met (fewer than 2 content events) |
//! | `e2e_ms`, `decode_ms`, `queue_ms` | the request's value | always defined |
//!
//! An unknown metric name is never met (the manifest validator rejects it first).

use super::request::RequestMetrics;
use crate::plan::Slo;

/// Metric names an [`Slo`] may use.
pub const SLO_METRICS: [&str; 7] = [
    "ttft_ms",
    "ttfo_ms",
    "tpot_ms",
    "itl_ms",
    "e2e_ms",
    "decode_ms",
    "queue_ms",
];

/// True when `metric` is one of [`SLO_METRICS`].
#[must_use]
pub fn is_slo_metric(metric: &str) -> bool {
    SLO_METRICS.contains(&metric)
}

/// The SLO as text: `ttft_ms.p99 <= 500` or `e2e_ms <= 10000`.
#[must_use]
pub fn slo_label(slo: &Slo) -> String {
    match slo.percentile {
        Some(p) => format!("{}.p{p} <= {}", slo.metric, slo.max),
        None => format!("{} <= {}", slo.metric, slo.max),
    }
}

/// True when one successful request with metrics `m` meets the per-request SLO `slo`
/// (the table in the module docs says what a missing value does).
#[must_use]
pub fn request_meets(slo: &Slo, m: &RequestMetrics) -> bool {
    let within = |v: f64| v <= slo.max;
    match slo.metric.as_str() {
        "ttft_ms" => m.ttft_ms.is_some_and(within),
        "ttfo_ms" => m.ttfo_ms.is_some_and(within),
        "tpot_ms" => m.tpot_ms.is_none_or(within),
        "itl_ms" => m.itl_ms.iter().all(|&g| within(g)),
        "e2e_ms" => within(m.e2e_ms),
        "decode_ms" => within(m.decode_ms),
        "queue_ms" => within(m.queue_ms),
        _ => false,
    }
}

/// True when `m` meets every per-request SLO in `slos` (percentile SLOs are ignored here).
#[must_use]
pub fn request_is_good(slos: &[Slo], m: &RequestMetrics) -> bool {
    slos.iter()
        .filter(|s| s.percentile.is_none())
        .all(|s| request_meets(s, m))
}

/// True when `slos` holds at least one per-request SLO (so goodput is defined).
#[must_use]
pub fn has_per_request(slos: &[Slo]) -> bool {
    slos.iter().any(|s| s.percentile.is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slo(metric: &str, max: f64) -> Slo {
        Slo {
            metric: metric.into(),
            percentile: None,
            max,
        }
    }

    #[test]
    fn per_request_checks_and_missing_values() {
        let m = RequestMetrics {
            ttft_ms: Some(120.0),
            e2e_ms: 900.0,
            itl_ms: vec![10.0, 40.0, 15.0],
            ..RequestMetrics::default()
        };
        assert!(request_meets(&slo("ttft_ms", 120.0), &m)); // 120 ≤ 120
        assert!(!request_meets(&slo("ttft_ms", 119.9), &m));
        // itl: the largest gap (40) decides
        assert!(request_meets(&slo("itl_ms", 40.0), &m));
        assert!(!request_meets(&slo("itl_ms", 39.0), &m));
        // no TTFO → not met; no TPOT → met
        assert!(!request_meets(&slo("ttfo_ms", 1e9), &m));
        assert!(request_meets(&slo("tpot_ms", 0.0), &m));
        assert!(!request_meets(&slo("bogus_ms", 1e9), &m));
        // all per-request SLOs must hold; a percentile SLO is not checked per request
        let p99 = Slo {
            metric: "e2e_ms".into(),
            percentile: Some(99.0),
            max: 1.0,
        };
        assert!(request_is_good(
            &[slo("ttft_ms", 200.0), slo("e2e_ms", 1000.0), p99.clone()],
            &m
        ));
        assert!(!request_is_good(
            &[slo("ttft_ms", 200.0), slo("e2e_ms", 800.0)],
            &m
        ));
        assert!(!has_per_request(std::slice::from_ref(&p99)));
        assert_eq!(slo_label(&p99), "e2e_ms.p99 <= 1");
        assert_eq!(slo_label(&slo("ttft_ms", 500.0)), "ttft_ms <= 500");
    }
}
