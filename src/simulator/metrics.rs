//! Prometheus metrics of the simulator, with vLLM's names.
//!
//! | metric | type | meaning in the simulator |
//! |---|---|---|
//! | `vllm:num_requests_running` | gauge | generation requests holding a slot (Batching: prefilling or decoding; Fixed: between arrival and the end of their response) |
//! | `vllm:num_requests_waiting` | gauge | generation requests queued for a slot (always 0 with Fixed timing) |
//! | `vllm:gpu_cache_usage_perc` | gauge | `running / capacity`, capped at 1, where capacity is `max_batch` (Batching) or [`FIXED_NOMINAL_CAPACITY`] (Fixed) |
//! | `vllm:prompt_tokens_total` | counter | prompt-token estimates of every accepted inference request |
//! | `vllm:generation_tokens_total` | counter | tokens generated (every choice counts) |
//!
//! Every series carries the label `model_name`. The counters are relaxed atomics
//! updated on the hot path; `/metrics` reads them without locking.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Nominal slot count used for `vllm:gpu_cache_usage_perc` with Fixed timing.
pub const FIXED_NOMINAL_CAPACITY: u32 = 256;

/// Live counters and gauges.
#[derive(Debug)]
pub struct SimMetrics {
    running: AtomicU64,
    waiting: AtomicU64,
    prompt_tokens: AtomicU64,
    generation_tokens: AtomicU64,
    capacity: u32,
}

impl SimMetrics {
    /// Metrics for an engine with `capacity` slots (at least 1).
    #[must_use]
    pub fn new(capacity: u32) -> SimMetrics {
        SimMetrics {
            running: AtomicU64::new(0),
            waiting: AtomicU64::new(0),
            prompt_tokens: AtomicU64::new(0),
            generation_tokens: AtomicU64::new(0),
            capacity: capacity.max(1),
        }
    }

    /// Adds accepted prompt tokens.
    pub fn add_prompt_tokens(&self, n: u64) {
        self.prompt_tokens.fetch_add(n, Ordering::Relaxed);
    }

    /// Adds generated tokens.
    pub fn add_generation_tokens(&self, n: u64) {
        self.generation_tokens.fetch_add(n, Ordering::Relaxed);
    }

    /// Sets both gauges (the batching engine owns them).
    pub fn set_gauges(&self, running: u64, waiting: u64) {
        self.running.store(running, Ordering::Relaxed);
        self.waiting.store(waiting, Ordering::Relaxed);
    }

    /// Counts one running request until the guard is dropped (Fixed timing).
    #[must_use]
    pub fn running_guard(self: &Arc<Self>) -> RunningGuard {
        self.running.fetch_add(1, Ordering::Relaxed);
        RunningGuard {
            metrics: Arc::clone(self),
        }
    }

    /// The current values: (running, waiting, prompt tokens, generation tokens).
    #[must_use]
    pub fn values(&self) -> (u64, u64, u64, u64) {
        (
            self.running.load(Ordering::Relaxed),
            self.waiting.load(Ordering::Relaxed),
            self.prompt_tokens.load(Ordering::Relaxed),
            self.generation_tokens.load(Ordering::Relaxed),
        )
    }

    /// The Prometheus text exposition (format 0.0.4).
    #[must_use]
    pub fn render(&self, model: &str) -> String {
        let (running, waiting, prompt, generation) = self.values();
        // gpu_cache_usage_perc = min(1, running / capacity)
        let usage = (running as f64 / f64::from(self.capacity)).min(1.0);
        let label = escape_label(model);
        let mut out = String::with_capacity(1_024);
        let series: [(&str, &str, &str, String); 5] = [
            (
                "vllm:num_requests_running",
                "gauge",
                "Number of requests in model execution batches.",
                running.to_string(),
            ),
            (
                "vllm:num_requests_waiting",
                "gauge",
                "Number of requests waiting to be processed.",
                waiting.to_string(),
            ),
            (
                "vllm:gpu_cache_usage_perc",
                "gauge",
                "KV-cache usage (simulated: running / capacity).",
                usage.to_string(),
            ),
            (
                "vllm:prompt_tokens_total",
                "counter",
                "Number of prefill tokens processed.",
                prompt.to_string(),
            ),
            (
                "vllm:generation_tokens_total",
                "counter",
                "Number of generation tokens processed.",
                generation.to_string(),
            ),
        ];
        for (name, kind, help, value) in series {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            let _ = writeln!(out, "{name}{{model_name=\"{label}\"}} {value}");
        }
        out
    }
}

/// Decrements `vllm:num_requests_running` when dropped.
#[derive(Debug)]
pub struct RunningGuard {
    metrics: Arc<SimMetrics>,
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        self.metrics.running.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Escapes a Prometheus label value (`\`, `"` and newlines).
fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_has_every_series_and_usage_ratio() {
        let m = Arc::new(SimMetrics::new(4));
        let _a = m.running_guard();
        let b = m.running_guard();
        m.add_prompt_tokens(30);
        m.add_generation_tokens(7);
        let text = m.render("my\"model");
        assert!(text.contains("vllm:num_requests_running{model_name=\"my\\\"model\"} 2\n"));
        assert!(text.contains("vllm:gpu_cache_usage_perc{model_name=\"my\\\"model\"} 0.5\n"));
        assert!(text.contains("vllm:prompt_tokens_total{model_name=\"my\\\"model\"} 30\n"));
        assert!(text.contains("vllm:generation_tokens_total{model_name=\"my\\\"model\"} 7\n"));
        drop(b);
        assert_eq!(m.values().0, 1);
        m.set_gauges(9, 3);
        let text = m.render("m");
        assert!(
            text.contains("vllm:gpu_cache_usage_perc{model_name=\"m\"} 1\n"),
            "capped"
        );
        assert!(text.contains("vllm:num_requests_waiting{model_name=\"m\"} 3\n"));
    }
}
