//! Per-request metrics, derived from one [`RequestRecord`]'s timestamps and counts.
//!
//! All timestamps are ns since the run's `t0`; durations come out in
//! milliseconds, rates in tokens per second. "Content event" = an SSE event
//! that carried generated text (reasoning included); `chunk_ns` holds their
//! arrival times.
//!
//! | metric | formula | defined when |
//! |---|---|---|
//! | `ttft_ms` | first_token − start | a content event arrived |
//! | `ttfo_ms` | first_output − start | an output (non-reasoning) event arrived |
//! | `e2e_ms` | (last_token if any content event else end) − start | always |
//! | `decode_ms` | e2e − ttft, or e2e when there is no TTFT (non-streaming) | always |
//! | `tpot_ms` | decode / (out/n − 1) | out/n > 1 and decode > 0 |
//! | `output_tps` | (out/n − 1) / decode_s | out/n > 1 and decode > 0 |
//! | `input_tps` | input / ttft_s | ttft > 0 |
//! | `itl_ms` | `chunk[i+1] − chunk[i]` for consecutive content events | ≥ 2 content events |
//! | `queue_ms` | start − dispatch (waiting for a client slot) | always |
//! | `send_lag_ms` | dispatch − scheduled (signed; late sends are positive) | open-loop schedules |
//!
//! `out` is the headline `output_tokens` (all `n` completions), so `out/n` is
//! the tokens of one sequence. A timestamp earlier than the one it is measured
//! from (which a correct client never produces) gives 0, never a negative
//! duration, except `send_lag_ms`, which is signed by design.

use crate::record::RequestRecord;

/// Per-request metrics (see the module docs for the formulas).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RequestMetrics {
    /// Time to first token (any generated text, reasoning included), ms.
    pub ttft_ms: Option<f64>,
    /// Time to first output token (reasoning excluded), ms.
    pub ttfo_ms: Option<f64>,
    /// Start to the last content event (or to the end when there was none), ms.
    pub e2e_ms: f64,
    /// E2E minus TTFT (E2E when there is no TTFT), ms.
    pub decode_ms: f64,
    /// Time per output token after the first, ms.
    pub tpot_ms: Option<f64>,
    /// Input tokens per second of TTFT.
    pub input_tps: Option<f64>,
    /// Output tokens per second of decode time (first token excluded), per sequence.
    pub output_tps: Option<f64>,
    /// Gaps between consecutive content events, ms.
    pub itl_ms: Vec<f64>,
    /// Time waiting for a client slot (start − dispatch), ms.
    pub queue_ms: f64,
    /// Dispatch − scheduled send time, ms (None for closed-loop requests).
    pub send_lag_ms: Option<f64>,
    /// Arrival of every content event relative to the request start, ms.
    pub chunk_ms: Vec<f64>,
    /// Output tokens per sequence (`output_tokens / n`, n < 1 read as 1).
    pub tokens_per_seq: f64,
}

/// Nanoseconds to milliseconds.
#[allow(clippy::cast_precision_loss)]
fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

/// `later − earlier` in ms, 0 when `later` precedes `earlier`.
fn span_ms(later: u64, earlier: u64) -> f64 {
    ms(later.saturating_sub(earlier))
}

/// Computes the metrics of one request (any outcome; summaries use successful ones).
#[must_use]
pub fn request_metrics(r: &RequestRecord) -> RequestMetrics {
    let start = r.start_ns;
    // TTFT / TTFO: first (output) content event − start.
    let ttft_ms = r.first_token_ns.map(|t| span_ms(t, start));
    let ttfo_ms = r.first_output_ns.map(|t| span_ms(t, start));
    // E2E: to the last content event when there was one, else to the end.
    let e2e_ms = span_ms(window_end_ns(r), start);
    // Decode: E2E − TTFT, or E2E when there is no TTFT (clamped at 0).
    let decode_ms = match ttft_ms {
        Some(t) if t > 0.0 => (e2e_ms - t).max(0.0),
        _ => e2e_ms,
    };
    // Per-sequence rates: only when more than one token per sequence and a positive decode time.
    let n = f64::from(r.n.max(1));
    let tokens_per_seq = f64::from(r.output_tokens) / n;
    let (tpot_ms, output_tps) = if tokens_per_seq > 1.0 && decode_ms > 0.0 {
        let after_first = tokens_per_seq - 1.0;
        (
            Some(decode_ms / after_first),
            Some(after_first / (decode_ms / 1e3)),
        )
    } else {
        (None, None)
    };
    // Input rate: input tokens / TTFT (s).
    let input_tps = ttft_ms
        .filter(|&t| t > 0.0)
        .map(|t| f64::from(r.input_tokens) / (t / 1e3));
    // ITL: consecutive content-event gaps.
    let itl_ms = r.chunk_ns.windows(2).map(|w| span_ms(w[1], w[0])).collect();
    let chunk_ms = r.chunk_ns.iter().map(|&c| span_ms(c, start)).collect();
    // Queue: dispatch → start; send lag: scheduled → dispatch (signed).
    let queue_ms = span_ms(start, r.dispatch_ns);
    #[allow(clippy::cast_precision_loss)]
    let send_lag_ms = r
        .scheduled_ns
        .map(|s| (i128::from(r.dispatch_ns) - i128::from(s)) as f64 / 1e6);
    RequestMetrics {
        ttft_ms,
        ttfo_ms,
        e2e_ms,
        decode_ms,
        tpot_ms,
        input_tps,
        output_tps,
        itl_ms,
        queue_ms,
        send_lag_ms,
        chunk_ms,
        tokens_per_seq,
    }
}

/// End of a request's latency window in ns since t0: the last content event
/// (`last_token_ns`, else the last entry of `chunk_ns`), or `end_ns` when the
/// request had no content event; never before `start_ns`.
#[must_use]
pub fn window_end_ns(r: &RequestRecord) -> u64 {
    r.last_token_ns
        .or_else(|| r.chunk_ns.last().copied())
        .unwrap_or(r.end_ns)
        .max(r.start_ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    /// A streamed request: scheduled 0, dispatched 2 ms, started 5 ms, first token at
    /// 105 ms (reasoning), first output token at 125 ms, content events at
    /// 105, 125, 145, 205 ms, end (DONE) at 215 ms; 500 input, 4 output tokens.
    fn streamed() -> RequestRecord {
        RequestRecord {
            scheduled_ns: Some(0),
            dispatch_ns: 2 * MS,
            start_ns: 5 * MS,
            first_token_ns: Some(105 * MS),
            first_output_ns: Some(125 * MS),
            last_token_ns: Some(205 * MS),
            end_ns: 215 * MS,
            chunk_ns: vec![105 * MS, 125 * MS, 145 * MS, 205 * MS],
            input_tokens: 500,
            output_tokens: 4,
            n: 1,
            ..RequestRecord::default()
        }
    }

    #[test]
    fn streamed_request_formulas() {
        let m = request_metrics(&streamed());
        // ttft = 105 − 5 = 100 ms; ttfo = 125 − 5 = 120 ms
        assert!(close(m.ttft_ms.unwrap(), 100.0));
        assert!(close(m.ttfo_ms.unwrap(), 120.0));
        // e2e = last token 205 − 5 = 200 ms (not the 215 ms end)
        assert!(close(m.e2e_ms, 200.0));
        // decode = 200 − 100 = 100 ms
        assert!(close(m.decode_ms, 100.0));
        // tpot = 100 ms / (4 − 1) = 33.333 ms; output_tps = 3 / 0.1 s = 30 tok/s
        assert!(close(m.tpot_ms.unwrap(), 100.0 / 3.0));
        assert!(close(m.output_tps.unwrap(), 30.0));
        // input_tps = 500 / 0.1 s = 5000 tok/s
        assert!(close(m.input_tps.unwrap(), 5000.0));
        // itl = 20, 20, 60 ms
        assert_eq!(m.itl_ms.len(), 3);
        for (a, b) in m.itl_ms.iter().zip([20.0, 20.0, 60.0]) {
            assert!(close(*a, b), "{a} vs {b}");
        }
        // chunk offsets from start: 100, 120, 140, 200 ms
        for (a, b) in m.chunk_ms.iter().zip([100.0, 120.0, 140.0, 200.0]) {
            assert!(close(*a, b));
        }
        // queue = 5 − 2 = 3 ms; send lag = 2 − 0 = 2 ms
        assert!(close(m.queue_ms, 3.0));
        assert!(close(m.send_lag_ms.unwrap(), 2.0));
        assert_eq!(window_end_ns(&streamed()), 205 * MS);
    }

    #[test]
    fn n_completions_divide_the_per_sequence_rates() {
        // n = 2, 8 output tokens → 4 per sequence → tpot = 100/3 ms, output_tps = 30 (as n = 1, 4 tokens)
        let r = RequestRecord {
            output_tokens: 8,
            n: 2,
            ..streamed()
        };
        let m = request_metrics(&r);
        assert!(close(m.tokens_per_seq, 4.0));
        assert!(close(m.tpot_ms.unwrap(), 100.0 / 3.0));
        assert!(close(m.output_tps.unwrap(), 30.0));
    }

    #[test]
    fn non_streamed_request_has_no_ttft_and_decode_is_e2e() {
        // start 10 ms, end 410 ms, no content events, 5 output tokens:
        // e2e = 400 ms = decode; tpot = 400/4 = 100 ms; output_tps = 4/0.4 = 10; no input_tps.
        let r = RequestRecord {
            dispatch_ns: 10 * MS,
            start_ns: 10 * MS,
            end_ns: 410 * MS,
            input_tokens: 50,
            output_tokens: 5,
            n: 1,
            ..RequestRecord::default()
        };
        let m = request_metrics(&r);
        assert_eq!(m.ttft_ms, None);
        assert_eq!(m.input_tps, None);
        assert!(close(m.e2e_ms, 400.0));
        assert!(close(m.decode_ms, 400.0));
        assert!(close(m.tpot_ms.unwrap(), 100.0));
        assert!(close(m.output_tps.unwrap(), 10.0));
        assert!(m.itl_ms.is_empty());
        assert_eq!(m.send_lag_ms, None);
        assert_eq!(m.queue_ms, 0.0);
    }

    #[test]
    fn single_token_has_no_tpot() {
        // 1 token per sequence: (out/n − 1) = 0 → tpot and output_tps undefined.
        let r = RequestRecord {
            output_tokens: 1,
            ..streamed()
        };
        let m = request_metrics(&r);
        assert_eq!(m.tpot_ms, None);
        assert_eq!(m.output_tps, None);
        // n = 0 is read as 1 (no division by zero)
        let r0 = RequestRecord { n: 0, ..streamed() };
        assert!(close(request_metrics(&r0).tokens_per_seq, 4.0));
    }

    #[test]
    fn early_dispatch_gives_negative_lag() {
        // dispatched 1 ms before its scheduled time → lag −1 ms
        let r = RequestRecord {
            scheduled_ns: Some(3 * MS),
            ..streamed()
        };
        assert!(close(request_metrics(&r).send_lag_ms.unwrap(), -1.0));
    }
}
