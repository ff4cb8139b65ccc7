//! The file of a completion point: `metadata`, `sweep_value` and `result`
//! with the original's keys, in its order and units.

use serde_json::{json, Map, Value};

use super::layout::sweep_value;
use super::number::round_floats;
use crate::metrics::Stat;
use crate::plan::{EndpointTarget, LoadSpec, PointSpec};
use crate::results::{ExperimentResults, PointResult};
use crate::vocab::LoraStrategy;

/// `{mean, std}` of a Stat, scaled (1e-3 turns ms into s).
pub(super) fn mean_std(s: &Stat, scale: f64) -> Value {
    json!({ "mean": s.mean * scale, "std": s.std * scale })
}

/// The run's start as the original's `datetime.now().isoformat()` (local, no offset).
pub(super) fn local_timestamp(started_at: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(started_at).map_or_else(
        |_| started_at.to_string(),
        |t| {
            t.with_timezone(&chrono::Local)
                .format("%Y-%m-%dT%H:%M:%S%.6f")
                .to_string()
        },
    )
}

pub(super) fn lora_strategy_name(s: LoraStrategy) -> &'static str {
    match s {
        LoraStrategy::Single => "single",
        LoraStrategy::Uniform => "uniform",
        LoraStrategy::RoundRobin => "round_robin",
        LoraStrategy::Weighted => "weighted",
        LoraStrategy::Zipf => "zipf",
    }
}

/// The `metadata` object of one point.
pub(super) fn metadata(results: &ExperimentResults, spec: &PointSpec, series: &[f64]) -> Value {
    let plan = &results.plan;
    let exp = &plan.experiment;
    let endpoint = plan.endpoints.get(&spec.endpoint);
    let scenario = plan.scenarios.get(&spec.scenario);
    let replay = scenario.is_some_and(|s| s.replay);
    let images = scenario.and_then(|s| s.images.as_ref());
    let dataset_config = scenario.map_or(Value::Null, |s| s.dataset.raw_config.clone());
    let lora = scenario
        .and_then(|s| s.lora.as_ref())
        .map_or(Value::Null, |l| {
            json!({
                "strategy": lora_strategy_name(l.strategy),
                "lora_names": l.adapters,
                "base_model_ratio": l.base_model_ratio,
            })
        });
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    put(
        "timestamp",
        json!(local_timestamp(&results.environment.started_at)),
    );
    put("model", json!(endpoint.map(|e| e.model.clone())));
    put(
        "scenario",
        json!(scenario
            .filter(|_| !replay)
            .map(|s| s.workload.to_spec_string())),
    );
    put(
        "prompt_source",
        json!(if replay { "dataset_replay" } else { "scenario" }),
    );
    put("max_tokens", json!(scenario.map(|s| s.max_tokens_cap)));
    put("num_images", json!(images.map_or(0, |i| i.count)));
    put(
        "image_size",
        json!(images.map(|i| format!("{}x{}", i.width, i.height))),
    );
    put("input_tokens", Value::Null);
    put("dataset_config", dataset_config);
    put(
        "api_base",
        json!(endpoint.map(|e| match &e.target {
            EndpointTarget::Url(u) => u.clone(),
            EndpointTarget::Simulator(_) => "simulator".to_string(),
        })),
    );
    let mode = match spec.load {
        LoadSpec::Burst { .. } => "burst",
        LoadSpec::Concurrency { .. } => "sustained",
        LoadSpec::Rate { .. } => "rate",
        LoadSpec::Ramp { .. } => "ramp",
    };
    put("execution_mode", json!(mode));
    put("num_runs", json!(spec.runs));
    put("warmup_runs", json!(spec.warmup));
    put("temperature", json!(endpoint.and_then(|e| e.temperature)));
    put("num_completions", json!(endpoint.map_or(1, |e| e.n)));
    put("stream", json!(endpoint.is_some_and(|e| e.stream)));
    put("description", json!(exp.description));
    put("seed", json!(exp.seed));
    put("lora_config", lora);
    put("steady_state_threshold", json!(exp.steady_state_threshold));
    put("bucket_size_seconds", json!(exp.bucket.as_secs_f64()));
    let values: Vec<Value> = series.iter().map(|&v| sweep_value(v)).collect();
    match &spec.load {
        LoadSpec::Burst { .. } => put("batch_sizes", json!(values)),
        LoadSpec::Concurrency { requests, .. } => {
            put("concurrency_levels", json!(values));
            put("num_prompts", json!(requests));
        }
        LoadSpec::Rate { requests, .. } => {
            put("rates", json!(values));
            put("num_prompts", json!(requests));
        }
        LoadSpec::Ramp { .. } => {}
    }
    Value::Object(m)
}

/// The `result` object of one point.
pub(super) fn result(point: &PointResult) -> Value {
    let s = &point.summary;
    let mut usage = Map::new();
    if s.usage.reasoning_tokens.n > 0 {
        usage.insert(
            "reasoning_tokens".into(),
            json!({
                "mean": s.usage.reasoning_tokens.mean,
                "std": s.usage.reasoning_tokens.std,
                "total": s.usage.reasoning_tokens_total,
            }),
        );
    }
    if s.usage.cached_tokens.n > 0 {
        usage.insert(
            "cached_tokens".into(),
            json!({
                "mean": s.usage.cached_tokens.mean,
                "total": s.usage.cached_tokens_total,
                "cache_hit_rate": s.usage.cache_hit_rate,
            }),
        );
    }
    if !s.usage.finish_reasons.is_empty() {
        usage.insert("finish_reasons".into(), json!(s.usage.finish_reasons));
    }
    let phased = if point.runs.iter().any(|r| r.ok > 0) {
        let last = point.runs.iter().max_by_key(|r| r.run_index);
        json!({
            "steady_state_tps": {
                "median": s.steady_state_tps,
                "median_std": s.steady_state_tps_std,
            },
            "peak_active_requests": s.peak_active_buckets,
            "time_series": {
                "output_tokens_per_bucket": last.map(|r| r.tokens_per_bucket.clone()).unwrap_or_default(),
                "active_requests_per_bucket": last.map(|r| r.active_per_bucket.clone()).unwrap_or_default(),
            },
        })
    } else {
        json!({})
    };
    json!({
        "tokens": {
            "input_per_request": mean_std(&s.input_tokens, 1.0),
            "output_per_request": mean_std(&s.output_tokens, 1.0),
        },
        "prefill_metrics": {
            "ttft": mean_std(&s.ttft_ms, 1e-3),
            "ttfo": mean_std(&s.ttfo_ms, 1e-3),
            "input_throughput": mean_std(&s.input_tps_per_request, 1.0),
        },
        "decode_metrics": {
            "output_throughput": mean_std(&s.output_tps_per_request, 1.0),
            "tpot": mean_std(&s.tpot_ms, 1e-3),
            "decode_time": mean_std(&s.decode_ms, 1e-3),
        },
        "batch_metrics": {
            "e2e_tps": mean_std(&s.e2e_output_tps, 1.0),
            "wall_time": mean_std(&s.wall_time_s, 1.0),
        },
        "reliability": {
            "total_requests": s.reliability.total,
            "successful": s.reliability.ok,
            "failed": s.reliability.failed,
        },
        "usage_extras": usage,
        "phased_metrics": phased,
    })
}

/// The whole document of one point, floats rounded.
pub(super) fn point_document(
    results: &ExperimentResults,
    point: &PointResult,
    series: &[f64],
) -> Value {
    let mut doc = json!({
        "metadata": metadata(results, &point.spec, series),
        "sweep_value": sweep_value(point.spec.load.value()),
        "result": result(point),
    });
    round_floats(&mut doc);
    doc
}
