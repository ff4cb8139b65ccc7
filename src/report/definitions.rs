//! The metric definitions shown at the end of the report.

use serde::Serialize;

/// One term of the glossary.
#[derive(Serialize)]
pub struct Definition {
    term: &'static str,
    unit: &'static str,
    text: &'static str,
}

/// The metric glossary shown at the end of the report.
#[must_use]
pub fn definitions() -> Vec<Definition> {
    vec![
        Definition {
            term: "TTFT (time to first token)",
            unit: "ms, per request",
            text: "From the moment the request is handed to the HTTP stack (connection set-up included) to the arrival of the first stream event carrying generated text, reasoning included. Only streamed requests have one.",
        },
        Definition {
            term: "TTFO (time to first output)",
            unit: "ms, per request",
            text: "Like TTFT, but counted to the first event carrying answer text (reasoning excluded). Equal to TTFT for models that do not reason.",
        },
        Definition {
            term: "TPOT (time per output token)",
            unit: "ms, per request",
            text: "(E2E − TTFT) / (output tokens − 1), one value per request with at least two output tokens (tokens per sequence when n > 1). AIPerf, GenAI-Perf and guidellm call this quantity ITL.",
        },
        Definition {
            term: "ITL (inter-token latency)",
            unit: "ms, per event gap",
            text: "The gap between two consecutive content events of a stream, pooled over every request. An event may carry several tokens, so this is an inter-chunk latency (vLLM's and SGLang's ITL; AIPerf's ICL).",
        },
        Definition {
            term: "E2E latency",
            unit: "ms, per request",
            text: "From the request start to the last content event (streaming) or to the end of the parsed response body (non-streaming).",
        },
        Definition {
            term: "Decode time",
            unit: "ms, per request",
            text: "E2E − TTFT; the whole E2E latency when there is no TTFT (non-streaming).",
        },
        Definition {
            term: "Server prefill, server decode",
            unit: "ms, per request",
            text: "The server's own times, when its responses carry `timings` (llama.cpp does): prompt processing up to the first token, and generation after it. TTFT − server prefill is what the connection, HTTP, the network and the server's queue added before the first token; decode − server decode is what delivery added to the generation. Shown only when the server reported them.",
        },
        Definition {
            term: "Input throughput per request",
            unit: "tokens/s",
            text: "Input tokens / TTFT of each request: how fast its prompt was taken in, queueing included.",
        },
        Definition {
            term: "Output throughput per request",
            unit: "tokens/s",
            text: "(output tokens − 1) / decode time of each request: the decode speed one user sees.",
        },
        Definition {
            term: "E2E output throughput",
            unit: "tokens/s, per run",
            text: "Σ output tokens of the successful requests of a run / the run's wall time (from just before the first request to after the last one ended, failed ones included). Reported as mean ± std over runs. E2E total throughput counts input + output tokens the same way.",
        },
        Definition {
            term: "Steady-state throughput",
            unit: "tokens/s, per run",
            text: "The run is cut into fixed buckets. A bucket is steady when the requests active in it reach the threshold × the reference (the target concurrency in a closed loop, otherwise the peak observed) and it holds content events; its rate is events / bucket width. The run value is the median over steady buckets; the report shows mean ± std over runs, and nothing when no bucket qualifies.",
        },
        Definition {
            term: "Goodput",
            unit: "requests/s and tokens/s, per run",
            text: "Successful requests meeting every per-request SLO, divided by the run wall time (and the output tokens of those requests per second). SLO attainment is their fraction of the measured requests.",
        },
        Definition {
            term: "Requests/s",
            unit: "per run",
            text: "Successful requests / run wall time.",
        },
        Definition {
            term: "Items/s (pooling APIs)",
            unit: "per run",
            text: "Embeddings returned or documents scored / run wall time. Batch time is the run's wall time.",
        },
        Definition {
            term: "Server metrics",
            unit: "requests and %, over time",
            text: "Gauges scraped from the server's Prometheus page during a run (endpoints with a metrics setting): requests running and waiting, and the KV-cache usage, summed over their labels. Beside them, the client's requests in flight: sent (handed to the HTTP stack) and not yet answered. Times count from the run's start, as the records' timestamps.",
        },
        Definition {
            term: "Failure rate",
            unit: "%",
            text: "Failed measured requests / all measured requests × 100. Warmup requests are never counted.",
        },
        Definition {
            term: "Statistics",
            unit: "",
            text: "Per-request metrics are pooled over all runs of a point; per-run metrics take one value per run. std is the population standard deviation; percentiles interpolate linearly between the closest ranks.",
        },
    ]
}
